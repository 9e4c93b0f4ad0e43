//! The Prometheus protobuf exposition: `MetricFamily` messages of `io.prometheus.client`
//! (`metrics.proto`), each preceded by its length as a varint.
//!
//! This is the format Prometheus asks for first when its native histograms are on, and the only
//! one that carries them. Histograms hold their fixed buckets and, when recorded, their native
//! buckets in the same message, so a scraper may use either. The protobuf wire format is
//! written here directly: varints, zigzag integers, little-endian doubles and length-prefixed
//! fields. Repeated numbers are written unpacked, which every proto2 reader accepts.

use super::super::histogram::HistogramSnapshot;
use super::super::native::NativeSnapshot;
use super::super::store::{Exposition, FamilyHead, LabelPairs, SeriesItem, SeriesRead, Store};
use super::text::{self, Kind};

/// The `Content-Type` of the protobuf exposition.
pub(crate) const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;

/// One message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u64, wire: u64) {
        self.varint(field << 3 | wire);
    }

    fn uint(&mut self, field: u64, v: u64) {
        self.key(field, VARINT);
        self.varint(v);
    }

    fn sint(&mut self, field: u64, v: i64) {
        self.key(field, VARINT);
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn double(&mut self, field: u64, v: f64) {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, field: u64, v: &[u8]) {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
    }

    fn message(&mut self, field: u64, m: &Self) {
        self.bytes(field, &m.0);
    }
}

/// A `LabelPair`: name 1, value 2.
fn label(name: &str, value: &str) -> Message {
    let mut m = Message::default();
    m.bytes(1, name.as_bytes());
    m.bytes(2, value.as_bytes());
    m
}

/// Writes the store's walk as delimited `MetricFamily` messages.
#[derive(Default)]
struct ProtobufWriter {
    out: Message,
    /// The family being written.
    family: Option<Message>,
}

impl ProtobufWriter {
    /// Ends the family being written, if any.
    fn end_family(&mut self) {
        if let Some(done) = self.family.take() {
            self.out.varint(done.0.len() as u64);
            self.out.0.extend_from_slice(&done.0);
        }
    }
}

impl Exposition for ProtobufWriter {
    fn family(&mut self, head: &FamilyHead<'_>) {
        self.end_family();
        let mut m = Message::default();
        m.bytes(1, head.name.as_bytes());
        if let Some(help) = head.help {
            m.bytes(2, help.as_bytes());
        }
        // MetricType: COUNTER 0, GAUGE 1, HISTOGRAM 4.
        m.uint(
            3,
            match head.kind {
                Kind::Counter => 0,
                Kind::Gauge => 1,
                Kind::Histogram => 4,
            },
        );
        self.family = Some(m);
    }

    fn series(&mut self, family: &FamilyHead<'_>, series: &SeriesItem<'_>) {
        // The label text is this store's own writing, so it always reads back.
        let mut pairs = Vec::new();
        if !text::split_label_text(series.labels, &mut pairs) {
            return;
        }
        let metric = metric(family.kind, &pairs, &series.read);
        if let Some(m) = self.family.as_mut() {
            m.message(4, &metric);
        }
    }
}

/// Writes every series of `store` as delimited `MetricFamily` messages.
pub(crate) fn render(store: &Store) -> Vec<u8> {
    let mut writer = ProtobufWriter::default();
    store.walk(&mut writer);
    writer.end_family();
    writer.out.0
}

/// A `Metric`: labels 1, gauge 2, counter 3, histogram 7.
fn metric(kind: Kind, labels: &LabelPairs<'_>, read: &SeriesRead<'_>) -> Message {
    let mut m = Message::default();
    for (name, value) in labels {
        m.message(1, &label(name, value));
    }
    let value = |v: f64| {
        let mut value = Message::default();
        value.double(1, v);
        value
    };
    match (kind, read) {
        (Kind::Counter, SeriesRead::Int(v)) => m.message(3, &value(*v as f64)),
        (Kind::Counter, SeriesRead::Float(v)) => m.message(3, &value(*v)),
        (_, SeriesRead::Int(v)) => m.message(2, &value(*v as f64)),
        (_, SeriesRead::Float(v)) => m.message(2, &value(*v)),
        (_, SeriesRead::Histogram { bounds, snapshot }) => {
            m.message(7, &histogram(bounds, snapshot));
        }
    }
    m
}

/// A `Histogram`: count 1, sum 2, fixed buckets 3 (cumulative, finite bounds only: `+Inf` is
/// the count), then the native fields 5 to 13 when there are native buckets.
fn histogram(bounds: &[f64], snapshot: &HistogramSnapshot) -> Message {
    let mut h = Message::default();
    h.uint(1, snapshot.count);
    h.double(2, snapshot.sum);
    for (i, (&bound, &count)) in bounds.iter().zip(&snapshot.cumulative).enumerate() {
        let mut b = Message::default();
        b.uint(1, count);
        b.double(2, bound);
        if let Some(Some(e)) = snapshot.exemplars.get(i) {
            // Exemplar: labels 1, value 2, timestamp 3 (seconds 1, nanos 2).
            let mut x = Message::default();
            let hex = e.trace_id.hex();
            x.message(
                1,
                &label("trace_id", std::str::from_utf8(&hex).unwrap_or("")),
            );
            x.double(2, e.value);
            let mut t = Message::default();
            let seconds = e.timestamp.floor();
            t.uint(1, seconds as i64 as u64);
            t.uint(2, ((e.timestamp - seconds) * 1e9) as u64);
            x.message(3, &t);
            b.message(3, &x);
        }
        h.message(3, &b);
    }
    if let Some(native) = &snapshot.native {
        push_native(&mut h, native);
    }
    h
}

fn push_native(h: &mut Message, native: &NativeSnapshot) {
    h.sint(5, i64::from(native.schema));
    h.double(6, native.zero_threshold);
    h.uint(7, native.zero_count);
    push_buckets(h, 9, 10, &native.negative);
    push_buckets(h, 12, 13, &native.positive);
    if native.positive.is_empty() && native.negative.is_empty() {
        // An empty span marks a histogram without buckets yet as native, as the Go client does.
        let mut span = Message::default();
        span.sint(1, 0);
        span.uint(2, 0);
        h.message(12, &span);
    }
}

/// Spans and deltas of non-empty buckets in ascending order: a span per run of consecutive
/// indexes (offset from the end of the previous span), the first count then differences.
fn push_buckets(h: &mut Message, span_field: u64, delta_field: u64, buckets: &[(i32, u64)]) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut previous: Option<i32> = None;
    for &(key, _) in buckets {
        match (previous, spans.last_mut()) {
            (Some(p), Some(span)) if key == p + 1 => span.1 += 1,
            (Some(p), _) => spans.push((key - p - 1, 1)),
            (None, _) => spans.push((key, 1)),
        }
        previous = Some(key);
    }
    for (offset, length) in spans {
        let mut span = Message::default();
        span.sint(1, i64::from(offset));
        span.uint(2, u64::from(length));
        h.message(span_field, &span);
    }
    let mut last = 0u64;
    for &(_, count) in buckets {
        h.sint(delta_field, count.wrapping_sub(last) as i64);
        last = count;
    }
}

#[cfg(test)]
mod tests;
