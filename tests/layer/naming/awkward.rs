//! Awkward metrics recorded beside routemeter's own, rendered in both formats and checked by
//! parsers routemeter did not write: `promtool check metrics` (the Go text parser and its
//! linter) and `prometheus_client`'s parsers (its strict OpenMetrics one among them).

use std::io::Write as _;
use std::process::{Command, Stdio};

use metrics::Unit;
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};

use crate::common::require_program;

/// Names whose families clash through the formats' suffixes, each pair registered in this
/// order: the first keeps its names, the second is left out.
const CLASHES: [(&str, &str); 6] = [
    ("clash", "clash_total"),
    ("lat_seconds", "lat_seconds_count"),
    ("lat_seconds", "lat_seconds_bucket"),
    ("x_total", "x_created_total"),
    ("h", "h_created"),
    ("y_total", "y"),
];

const ODD_VALUES: [&str; 9] = [
    "",
    "quote \" here",
    "back\\slash \\\\ twice",
    "new\nline",
    "tab\tand\r",
    "unicode é 日本 \u{2028} 🦀",
    "} brace, comma = equals",
    "# hash {trace_id=\"x\"} 1",
    "\\n not a newline",
];

/// Records every awkward case into `metrics`' recorder.
fn record_awkward(metrics: &PrometheusMetrics) {
    metrics::with_local_recorder(metrics.recorder(), || {
        // Clashing families: a gauge then the counter whose OpenMetrics family is the gauge's
        // name; a histogram then a counter writing its `_count`; and so on.
        metrics::gauge!("clash").set(1.0);
        metrics::counter!("clash_total").increment(2);
        metrics::histogram!("lat_seconds").record(0.2);
        metrics::counter!("lat_seconds_count", "v" => "a").increment(5);
        metrics::counter!("lat_seconds_count", "v" => "b").increment(5);
        metrics::gauge!("lat_seconds_bucket").set(3.0);
        metrics::counter!("x_total").increment(1);
        metrics::counter!("x_created_total").increment(1);
        metrics::histogram!("h").record(1.0);
        metrics::gauge!("h_created").set(1.7e9);
        metrics::counter!("y_total").increment(1);
        metrics::histogram!("y").record(1.0);
        // The same name as two kinds: the first kind is kept.
        metrics::counter!("twice_total").increment(1);
        metrics::gauge!("twice_total").set(5.0);
        // Routemeter's own self-metric name, taken by the application.
        metrics::gauge!("routemeter_exposition_dropped_series_total").set(1.0);
        // Negative and infinite observations, and negative bucket bounds.
        metrics::histogram!("neg").record(-2.0);
        metrics::histogram!("infs").record(f64::INFINITY);
        metrics::histogram!("infs").record(f64::NEG_INFINITY);
        metrics::histogram!("big").record(f64::INFINITY);
        metrics::histogram!("nan_only").record(f64::NAN);
        metrics::histogram!("negative_bounds").record(0.5);
        metrics::histogram!("negative_bounds_neg").record(-0.5);
        // Gauges of every float, counters at the limits.
        for (name, v) in [
            ("g_nan", f64::NAN),
            ("g_inf", f64::INFINITY),
            ("g_neg_inf", f64::NEG_INFINITY),
            ("g_tiny", 5e-324),
            ("g_huge", f64::MAX),
            ("g_negative_zero", -0.0),
        ] {
            metrics::gauge!(name).set(v);
        }
        metrics::counter!("max_total").absolute(u64::MAX);
        metrics::counter!("no_suffix").increment(3);
        metrics::gauge!("no_suffix_total").set(1.0);
        // Odd names and label keys, odd label values.
        for name in ["http.server.x", "9lives", "é", ":colon:", "a-b"] {
            metrics::counter!(name).increment(1);
        }
        for (i, value) in ODD_VALUES.iter().enumerate() {
            let value = (*value).to_owned();
            metrics::counter!("odd_total", "v" => value.clone(), "i" => i.to_string()).increment(1);
            metrics::histogram!("odd_seconds", "v" => value).record(0.1);
        }
        metrics::gauge!(
            "odd_keys",
            "le" => "1", "quantile" => "0.5", "__name__" => "n", "my-key" => "k", "ключ" => "v"
        )
        .set(1.0);
        metrics::describe_gauge!(
            "described",
            Unit::Seconds,
            "Help with \"quotes\", a back\\slash and a\nnewline."
        );
        metrics::gauge!("described").set(1.0);
        metrics::describe_histogram!("odd_seconds", Unit::Seconds, "Odd.");
    });
}

fn setup() -> PrometheusMetrics {
    PrometheusBuilder::new()
        .constant_label("region", "eu \"west\"\n")
        .unwrap()
        .histogram_buckets("negative_bounds", &[-1.0, 0.0, 1.0])
        .unwrap()
        .histogram_buckets("negative_bounds_neg", &[-1.0, 0.0, 1.0])
        .unwrap()
        .build()
        .unwrap()
}

/// `promtool check metrics` on `text`: exit status 0 (valid) or 3 (valid, with lint remarks
/// such as a missing help text) pass; 1 is a parse error.
fn promtool(text: &str) -> Option<Result<(), String>> {
    let promtool = require_program("promtool")?;
    Some(run(
        Command::new(promtool).args(["check", "metrics"]),
        text,
        &[0, 3],
    ))
}

/// Parses `text` with `prometheus_client` (`openmetrics` picks the strict OpenMetrics parser,
/// else the text format's) and prints each sample as `name labels value`.
const PYTHON: &str = r#"
import sys
mode = sys.argv[1]
if mode == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.read()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        print(family.type, s.name, sorted(s.labels.items()), repr(float(s.value)))
"#;

fn python(text: &str, mode: &str) -> Option<Result<String, String>> {
    let python = require_program("python3")?;
    let has_client = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_client {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python3's prometheus_client is not installed; see scripts/test.sh");
        }
        eprintln!("SKIPPED: python3's prometheus_client is not installed");
        return None;
    }
    let mut out = String::new();
    let result = run_capturing(
        Command::new(python).args(["-c", PYTHON, mode]),
        text,
        &mut out,
    );
    Some(result.map(|()| out))
}

fn run(command: &mut Command, input: &str, ok: &[i32]) -> Result<(), String> {
    let mut out = String::new();
    let result = run_capturing(command, input, &mut out);
    match result {
        Err(e) if e.starts_with("exit ") => {
            let code: i32 = e[5..].split(':').next().unwrap().parse().unwrap_or(-1);
            if ok.contains(&code) { Ok(()) } else { Err(e) }
        }
        other => other,
    }
}

fn run_capturing(command: &mut Command, input: &str, out: &mut String) -> Result<(), String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    *out = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exit {}: {}{}",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[tokio::test]
async fn awkward_metrics_render_valid_expositions() {
    let metrics = setup();
    // Routemeter's own series beside them.
    let app = super::app().layer(metrics.layer());
    super::get_status(&app, "/users/1").await;
    record_awkward(&metrics);
    let text = metrics.render();
    let open = metrics.render_openmetrics();

    // The left-out families are counted, and their names written by one family only.
    for (kept, dropped) in CLASHES {
        let line = format!(
            "routemeter_exposition_dropped_series_total{{metric=\"{dropped}\",region=\"eu \\\"west\\\"\\n\"}} "
        );
        assert!(text.contains(&line), "{dropped} is not counted:\n{text}");
        assert!(text.contains(&format!("# TYPE {kept} ")), "{kept}:\n{text}");
    }
    assert!(text.contains("{metric=\"lat_seconds_count\",region=\"eu \\\"west\\\"\\n\"} 2\n"));
    assert!(
        text.contains("{metric=\"routemeter_exposition_dropped_series_total\",region="),
        "{text}"
    );
    assert_eq!(text.matches("\nclash_total").count(), 0, "{text}");
    assert_eq!(text.matches("\nlat_seconds_count").count(), 1, "{text}");
    assert_eq!(open.matches("# TYPE clash ").count(), 1, "{open}");
    // A histogram with a negative observation or bound has no sum in OpenMetrics (its
    // `+Inf` bucket still counts), and has one in the text format.
    for name in ["neg", "infs", "negative_bounds", "negative_bounds_neg"] {
        assert!(!open.contains(&format!("\n{name}_sum")), "{name}:\n{open}");
        assert!(
            !open.contains(&format!("\n{name}_count")),
            "{name}:\n{open}"
        );
        assert!(
            open.contains(&format!("\n{name}_bucket{{")),
            "{name}:\n{open}"
        );
        assert!(text.contains(&format!("\n{name}_sum{{")), "{name}:\n{text}");
    }
    assert!(
        text.contains("\nneg_sum{region=\"eu \\\"west\\\"\\n\"} -2\n"),
        "{text}"
    );
    assert!(
        open.contains("\nbig_sum{region=\"eu \\\"west\\\"\\n\"} +Inf\n"),
        "{open}"
    );

    let mut checked = 0;
    if let Some(result) = promtool(&text) {
        result.unwrap_or_else(|e| panic!("promtool refused the text format: {e}\n{text}"));
        checked += 1;
    }
    if let Some(result) = python(&text, "text") {
        let samples =
            result.unwrap_or_else(|e| panic!("prometheus_client refused the text format: {e}"));
        assert!(
            samples.contains("gauge clash [('region', 'eu \"west\"\\n')] 1.0\n"),
            "{samples}"
        );
        checked += 1;
    }
    if let Some(result) = python(&open, "openmetrics") {
        let samples =
            result.unwrap_or_else(|e| panic!("the strict OpenMetrics parser refused: {e}\n{open}"));
        // Every odd label value reads back as it was recorded.
        for value in ODD_VALUES {
            let value = format!("('v', {})", python_repr(value));
            assert!(samples.contains(&value), "{value} is missing:\n{samples}");
        }
        assert!(
            samples.contains("gauge g_nan [('region', 'eu \"west\"\\n')] nan\n"),
            "{samples}"
        );
        checked += 1;
    }
    // (promtool 2.42 reads only the text format: `check metrics` refuses OpenMetrics' own
    // `unknown` type, so the OpenMetrics render is checked by the strict parser alone.)
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert_eq!(checked, 3);
    }
}

/// `value` as Python's `repr` of a string writes it (for the characters the cases use).
fn python_repr(value: &str) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
