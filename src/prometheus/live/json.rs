//! The JSON the live page polls: per pair, the totals read now, the newest sample, the error
//! breakdown over the window and the samples the page does not have yet, written by hand with
//! every string escaped for JSON and HTML alike.

use std::sync::PoisonError;

use super::read::{PairKey, Read};
use super::sampler::Live;
use super::track::{Sample, Track, pct};

impl Live {
    /// The page's JSON: per pair, current totals (read now, as `/metrics` would show them),
    /// the newest sample and the samples after sequence number `since` (all kept ones when
    /// `None` or too old).
    pub(crate) fn json(&self, since: Option<u64>) -> String {
        let reads = self.read();
        let h = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::with_capacity(256 + h.tracks.len() * 320);
        out.push_str("{\"interval_ms\":");
        let interval_ms = self.limits.interval.as_millis() as u64;
        push_u64(&mut out, interval_ms);
        out.push_str(",\"window_ms\":");
        push_u64(&mut out, interval_ms * self.limits.window as u64);
        out.push_str(",\"capacity\":");
        push_u64(&mut out, self.limits.capacity as u64);
        out.push_str(",\"instance\":\"");
        push_u64(&mut out, self.instance);
        out.push_str("\",\"seq\":");
        push_u64(&mut out, h.seq);
        out.push_str(",\"time_ms\":");
        push_u64(&mut out, h.last_unix_ms);
        out.push_str(",\"untracked\":");
        push_u64(&mut out, h.untracked as u64);
        out.push_str(",\"routes\":[");
        // Each pair's share of the response's history values (six per sample).
        let per_pair = self.limits.history_values / 6 / h.tracks.len().max(1);
        let mut pairs: Vec<(&PairKey, &Read)> = reads.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (key, read)) in pairs.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"route\":");
            push_json_str(&mut out, &key.0);
            out.push_str(",\"method\":");
            push_json_str(&mut out, &key.1);
            if !key.2.is_empty() {
                out.push_str(",\"labels\":[");
                for (j, (name, value)) in key.2.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push('[');
                    push_json_str(&mut out, name);
                    out.push(',');
                    push_json_str(&mut out, value);
                    out.push(']');
                }
                out.push(']');
            }
            out.push_str(",\"total\":");
            push_u64(&mut out, read.count);
            out.push_str(",\"errors_total\":");
            push_u64(&mut out, read.errors);
            out.push_str(",\"error_totals\":[");
            for (j, (t, n)) in read.error_types.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('[');
                push_json_str(&mut out, t);
                out.push(',');
                push_u64(&mut out, *n);
                out.push(']');
            }
            out.push_str("],\"in_flight\":");
            push_num(&mut out, read.in_flight.unwrap_or(f64::NAN));
            let track = h.index.get(key).map(|&i| &h.tracks[i]);
            push_track(&mut out, track, h.seq, since, per_pair.max(1));
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

/// The newest sample's values, the error breakdown over the window and the history of
/// `track` after `since` (its newest `most` samples at most), as the rest of a route's JSON
/// object.
fn push_track(out: &mut String, track: Option<&Track>, seq: u64, since: Option<u64>, most: usize) {
    let newest = track
        .and_then(|t| t.samples.nth_newest(0).copied())
        .unwrap_or_default();
    for (name, v) in [
        ("rate", newest.rate),
        ("error_pct", newest.error_pct),
        ("p50", newest.p50),
        ("p95", newest.p95),
        ("p99", newest.p99),
    ] {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        push_num(out, f64::from(v));
    }
    out.push_str(",\"errors\":[");
    if let Some(track) = track {
        let count = track.window_count();
        for (j, (t, n)) in track.window_errors().iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            push_json_str(out, t);
            out.push(',');
            push_num(out, pct(*n, count));
            out.push(']');
        }
    }
    out.push(']');
    let Some(track) = track else {
        out.push_str(",\"from\":null,\"history\":null");
        return;
    };
    // The samples kept are numbered `seq - len + 1 ..= seq`.
    let kept = track.samples.len() as u64;
    let oldest = seq + 1 - kept.min(seq);
    let from = match since {
        Some(s) if s >= oldest && s <= seq => s + 1,
        _ => oldest,
    };
    let from = from.max((seq + 1).saturating_sub(most as u64));
    let skip = (from - oldest) as usize;
    out.push_str(",\"from\":");
    push_u64(out, from);
    out.push_str(",\"history\":{");
    let fields: [(&str, Field); 6] = [
        ("rate", |s| s.rate),
        ("error_pct", |s| s.error_pct),
        ("p50", |s| s.p50),
        ("p95", |s| s.p95),
        ("p99", |s| s.p99),
        ("in_flight", |s| s.in_flight),
    ];
    for (i, (name, get)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":[");
        for (j, s) in track.samples.iter().skip(skip).enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_num(out, f64::from(get(s)));
        }
        out.push(']');
    }
    out.push('}');
}

/// Reads one value of a sample.
type Field = fn(&Sample) -> f32;

fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// A JSON number, or `null` for a value that is not finite.
fn push_num(out: &mut String, v: f64) {
    if v.is_finite() {
        // Four significant digits are more than the page shows, and keep the JSON small.
        let rounded: f64 = format!("{v:.3e}").parse().unwrap_or(v);
        out.push_str(ryu::Buffer::new().format_finite(rounded));
    } else {
        out.push_str("null");
    }
}

/// A JSON string literal of `s`. Besides what JSON requires (quote, backslash, control
/// characters), it escapes `<`, `>`, `&`, U+2028 and U+2029, so the text is also safe inside
/// HTML and older JavaScript parsers.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{7f}') =>
            {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn json_strings_parse_back(s in any::<String>()) {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            prop_assert!(!out.contains('<') && !out.contains('\u{2028}'), "{}", out);
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
