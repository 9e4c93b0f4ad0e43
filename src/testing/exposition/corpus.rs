//! The parser against `prometheus_client`'s text-format parser (Python): generated
//! expositions, read by both, must give the same samples.
//!
//! Each case is one exposition of a few families (counters, gauges, untyped samples and
//! histograms, some of them not well-formed histograms) with odd label values, escapes,
//! timestamps, comments, blank lines and blanks before `{`. Both parsers' samples are compared
//! as `(name, labels, value)`, a histogram of this parser written back as its `_bucket`,
//! `_sum` and `_count` samples. One Python process answers every case.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use proptest::prelude::*;

use super::{Series, SeriesValue, parse, parse_value};

/// Reads expositions (`<bytes>\n<text>`) and answers each with one JSON line: its samples as
/// `[name, [[key, value], …], repr(value)]`, or `{"error": …}`.
const PYTHON: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = sys.stdout
inp = sys.stdin.buffer
while True:
    n = inp.readline()
    if not n:
        break
    text = inp.read(int(n)).decode("utf-8")
    try:
        samples = [[s.name, sorted(s.labels.items()), repr(float(s.value))]
                   for f in text_string_to_metric_families(text) for s in f.samples]
        out.write(json.dumps({"samples": samples}) + "\n")
    except Exception as e:
        out.write(json.dumps({"error": repr(e)}) + "\n")
    out.flush()
"#;

struct Python {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The Python process, started on first use; `None` (the test skips) when python3 or
/// `prometheus_client` is missing, which under `CI=true` is a failure.
static PYTHON_PARSER: Mutex<Option<Option<Python>>> = Mutex::new(None);

fn start() -> Option<Python> {
    let ok = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "python3 with prometheus_client is needed (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED: python3 with prometheus_client is not installed");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let stdin = child.stdin.take()?;
    let stdout = BufReader::new(child.stdout.take()?);
    Some(Python {
        _child: child,
        stdin,
        stdout,
    })
}

/// A sample as both sides give it: name, labels sorted (an `le` as the number it reads as),
/// value.
type Flat = (String, Vec<(String, String)>, f64);

/// `prometheus_client`'s samples of `text`; `None` when Python is not there.
fn python(text: &str) -> Option<Result<Vec<Flat>, String>> {
    let mut guard = PYTHON_PARSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let python = guard.get_or_insert_with(start).as_mut()?;
    write!(python.stdin, "{}\n{text}", text.len()).unwrap();
    python.stdin.flush().unwrap();
    let mut line = String::new();
    python.stdout.read_line(&mut line).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    if let Some(e) = answer.get("error") {
        return Some(Err(e.to_string()));
    }
    let samples = answer["samples"].as_array().unwrap();
    let flat = samples
        .iter()
        .map(|s| {
            let labels = s[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| label(kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
                .collect();
            let value = s[2].as_str().unwrap().parse::<f64>().unwrap();
            (s[0].as_str().unwrap().to_owned(), labels, value)
        })
        .collect();
    Some(Ok(flat))
}

/// A label, an `le` value written as the number it is.
fn label(key: &str, value: &str) -> (String, String) {
    let value = match (key, parse_value(value)) {
        ("le", Some(v)) => format!("{v:?}"),
        _ => value.to_owned(),
    };
    (key.to_owned(), value)
}

/// This parser's series as samples.
fn flatten(series: &[Series]) -> Vec<Flat> {
    let mut out = Vec::new();
    for s in series {
        let labels = |extra: Option<f64>| {
            let mut labels: Vec<(String, String)> =
                s.labels().iter().map(|(k, v)| label(k, v)).collect();
            labels.extend(extra.map(|le| ("le".to_owned(), format!("{le:?}"))));
            labels.sort();
            labels
        };
        match s.value() {
            SeriesValue::Histogram(d) => {
                let (bounds, cumulative) = d.bucket_counts().expect("a parsed histogram");
                let les = bounds.iter().copied().chain([f64::INFINITY]);
                for (le, &c) in les.zip(cumulative) {
                    out.push((format!("{}_bucket", s.name()), labels(Some(le)), c as f64));
                }
                out.push((format!("{}_sum", s.name()), labels(None), d.sum()));
                out.push((
                    format!("{}_count", s.name()),
                    labels(None),
                    d.count() as f64,
                ));
            }
            _ => out.push((s.name().to_owned(), labels(None), s.scalar().unwrap())),
        }
    }
    out
}

/// A label value written escaped, with what it reads as. Any character, and now and then an
/// escape other than `\\`, `\"` and `\n`, which both parsers keep as written.
fn label_value() -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(
        prop_oneof![
            6 => "[a-zA-Z0-9 /_.:-]".prop_map(|c| (c.clone(), c)),
            2 => prop::sample::select(vec!["\"", "\\", "\n", "{", "}", ",", "=", "#", "é", "🦀", "\u{2028}", "\t"])
                .prop_map(|c| {
                    let written = match c {
                        "\"" => "\\\"".to_owned(),
                        "\\" => "\\\\".to_owned(),
                        "\n" => "\\n".to_owned(),
                        c => c.to_owned(),
                    };
                    (written, c.to_owned())
                }),
            1 => Just(("\\q".to_owned(), "\\q".to_owned())),
        ],
        0..8,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .fold((String::new(), String::new()), |(mut w, mut r), (a, b)| {
                w.push_str(&a);
                r.push_str(&b);
                (w, r)
            })
    })
}

/// A sample value as written: integers, decimals, exponents, `NaN` and the infinities.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u64..1_000_000).prop_map(|v| v.to_string()),
        2 => any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:e}")),
        1 => prop::sample::select(vec!["NaN", "+Inf", "-Inf", "Inf", "-0", "1e3", "0.25", "18446744073709551616"])
            .prop_map(str::to_owned),
    ]
}

/// How a family is written.
#[derive(Clone, Debug)]
enum Shape {
    Counter,
    Gauge,
    Untyped,
    /// Bounds (indices into [`BOUNDS`]), and a flaw: 0 none, 1 a fractional count, 2 a
    /// bucket without `le`, 3 `le="NaN"`.
    Histogram(Vec<usize>, u8),
}

/// Histogram bounds and the ways each is written.
const BOUNDS: [(f64, &[&str]); 6] = [
    (-1.0, &["-1", "-1.0"]),
    (0.0, &["0", "0.0"]),
    (0.005, &["0.005", "5e-3"]),
    (0.5, &["0.5", ".5"]),
    (1.0, &["1", "1.0", "1e0"]),
    (1000.0, &["1000", "1e3", "1e+03"]),
];

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Counter),
        Just(Shape::Gauge),
        Just(Shape::Untyped),
        (
            prop::sample::subsequence((0..BOUNDS.len()).collect::<Vec<_>>(), 0..=BOUNDS.len()),
            prop_oneof![4 => Just(0u8), 1 => 1u8..4],
        )
            .prop_map(|(b, flaw)| Shape::Histogram(b, flaw)),
    ]
}

/// One series' labels: written (with a blank before `{` now and then) and its own index
/// label, so no two series of a family have the same labels.
fn labels() -> impl Strategy<Value = (Vec<(String, String)>, bool)> {
    (
        prop::collection::btree_map("[a-kA-K_][a-z0-9_]{0,4}", label_value(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(map, blank)| {
            let labels = map
                .into_iter()
                .filter(|(k, _)| !k.starts_with("__"))
                .map(|(k, (written, _))| (k, written))
                .collect();
            (labels, blank)
        })
}

/// A generated exposition: families of a few series each, with comments and timestamps.
fn exposition() -> impl Strategy<Value = String> {
    let series = (
        labels(),
        value(),
        prop::option::of(-2_000_000_000_000i64..2_000_000_000_000),
        prop::collection::vec(0u64..5, 7),
    );
    let family = (
        shape(),
        "[a-z][a-z0-9_:]{0,6}",
        prop::collection::vec(series, 1..3),
        prop::option::of("[ -~]{0,20}"),
        any::<bool>(),
    );
    prop::collection::vec(family, 0..6).prop_map(|families| {
        let mut out = String::new();
        for (i, (shape, base, series, help, comment)) in families.into_iter().enumerate() {
            // `m{i}` keeps names apart, `base` varies them.
            let name = match shape {
                Shape::Counter => format!("m{i}_{base}_total"),
                _ => format!("m{i}_{base}"),
            };
            if comment {
                out.push_str("# a comment, not metadata\n\n#\n");
            }
            if let Some(help) = help {
                let help = help.replace('\\', "\\\\");
                out.push_str(&format!("# HELP {name} {help}\n"));
            }
            let kind = match shape {
                Shape::Counter => Some("counter"),
                Shape::Gauge => Some("gauge"),
                Shape::Untyped => None,
                Shape::Histogram(..) => Some("histogram"),
            };
            if let Some(kind) = kind {
                out.push_str(&format!("# TYPE {name} {kind}\n"));
            }
            for (j, ((labels, blank), value, ts, steps)) in series.into_iter().enumerate() {
                let mut set: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                set.push(format!("s=\"{j}\""));
                let sep = if blank { " " } else { "" };
                let ts = ts.map(|t| format!(" {t}")).unwrap_or_default();
                let line = |out: &mut String, suffix: &str, extra: Option<&str>, value: &str| {
                    let mut set = set.clone();
                    set.extend(extra.map(str::to_owned));
                    out.push_str(&format!(
                        "{name}{suffix}{sep}{{{}}}  {value}{ts}\n",
                        set.join(",")
                    ));
                };
                let Shape::Histogram(bounds, flaw) = &shape else {
                    line(&mut out, "", None, &value);
                    continue;
                };
                let mut total = 0u64;
                for (k, &b) in bounds.iter().enumerate() {
                    total += steps[k];
                    let (_, forms) = BOUNDS[b];
                    let le = forms[(steps[k] as usize) % forms.len()];
                    let le = match (flaw, k) {
                        (2, 0) => None,
                        (3, 0) => Some("le=\"NaN\"".to_owned()),
                        _ => Some(format!("le=\"{le}\"")),
                    };
                    let count = if *flaw == 1 && k == 0 {
                        format!("{total}.5")
                    } else {
                        total.to_string()
                    };
                    line(&mut out, "_bucket", le.as_deref(), &count);
                }
                total += steps[6];
                line(&mut out, "_bucket", Some("le=\"+Inf\""), &total.to_string());
                line(&mut out, "_sum", None, &value);
                line(&mut out, "_count", None, &total.to_string());
            }
        }
        out
    })
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// How many cases run: `PROPTEST_CASES`, else 300 (about a second).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reads_generated_expositions_as_prometheus_client_does(text in exposition()) {
        let Some(theirs) = python(&text) else {
            return Ok(());
        };
        let theirs = theirs.map_err(|e| TestCaseError::fail(format!("Python refused: {e}\n{text}")))?;
        let ours = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut ours = flatten(&ours);
        let mut theirs = theirs;
        let key = |f: &Flat| (f.0.clone(), f.1.clone());
        ours.sort_by_key(key);
        theirs.sort_by_key(key);
        let names = |v: &[Flat]| v.iter().map(|f| (f.0.clone(), f.1.clone())).collect::<Vec<_>>();
        prop_assert_eq!(names(&ours), names(&theirs), "{}", text);
        for (a, b) in ours.iter().zip(&theirs) {
            prop_assert!(same(a.2, b.2), "{}: {} vs {}\n{}", a.0, a.2, b.2, text);
        }
    }
}

/// The comparison sees what each parser read: a known exposition, samples and values.
#[test]
fn both_parsers_read_a_known_exposition() {
    let text = "# TYPE h histogram\nh_bucket{a=\"\\q\",le=\"1.0\"} 1\nh_bucket{a=\"\\q\",le=\"+Inf\"} 2\n\
                h_sum{a=\"\\q\"} NaN\nh_count{a=\"\\q\"} 2\n# TYPE c_total counter\nc_total {b=\"x\"} -Inf 17\n";
    let Some(theirs) = python(text) else {
        return;
    };
    let mut theirs = theirs.unwrap();
    let mut ours = flatten(&parse(text).unwrap());
    ours.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    theirs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(ours.len(), 5, "{ours:?}");
    assert_eq!(ours.len(), theirs.len(), "{ours:?} {theirs:?}");
    let q = ("a".to_owned(), "\\q".to_owned());
    assert_eq!(
        theirs[1],
        (
            "h_bucket".to_owned(),
            vec![q.clone(), label("le", "1")],
            1.0
        )
    );
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!((&a.0, &a.1), (&b.0, &b.1));
        assert!(same(a.2, b.2), "{a:?} {b:?}");
    }
}
