//! The quickstart's routes as the outside world sees them, through real processes on loopback:
//!
//! - `examples/otlp.rs` exports OTLP/HTTP protobuf to a receiver that decodes it with the
//!   official protobuf definitions (`tests/otlp/receiver.py`, PyPI `opentelemetry-proto`):
//!   names, units, attributes, counts and bucket bounds arrive as sent, and the standard
//!   `OTEL_*` variables are honoured; and the bridge it uses (`metrics-exporter-otel` into the
//!   OpenTelemetry SDK) exports every one of 200,000 requests sent while the SDK collects without
//!   pause, with cumulative and delta temporality;
//! - `examples/dogstatsd.rs` sends DogStatsD datagrams to a UDP socket standing where the
//!   Datadog agent would, read with a strict parser of the datagram format;
//! - `examples/locustfile.py` (in the crate's own examples) loads the quickstart with Locust; its per-route counts and the
//!   p95 of `/slow` agree with the server's histograms.
//!
//! Needs `python3` with the `opentelemetry-proto` and `locust` packages (`scripts/test.sh`
//! installs both from PyPI). Without them the tests fail under `CI=true` and are skipped with a
//! message elsewhere. The examples run as child processes, built by `cargo build --example`.

#[path = "../../tests/common/mod.rs"]
mod common;
use routemeter_integrations::drive;
use routemeter_integrations::otel_counting;

#[path = "../../tests/quickstart_server/mod.rs"]
mod quickstart_server;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read as _};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Client, Process, TempDir, require_program};
use quickstart_server::RunningApp;
use routemeter::testing::Snapshot;
use routemeter::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Child processes

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary of example `name`, built (or found fresh) by `cargo build --example`: the tests
/// run what `cargo run --example` would, never a stale build.
fn example_binary(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--all-features", "--example", name])
        .current_dir(manifest_dir())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --example {name} failed");
    // Examples land beside the test binaries' `deps` folder: `target/<profile>/examples/`.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.is_file(), "no example binary at {}", path.display());
    path
}

/// A running example: its address, and the rest of its standard output line by line.
struct Example {
    process: Process,
    base: String,
    stdout: mpsc::Receiver<String>,
    stderr_file: PathBuf,
}

impl Example {
    /// Starts example `name` on a free loopback port with `envs`, and waits (bounded) for its
    /// `listening on http://ADDR` line.
    fn start(name: &str, envs: &[(&str, String)], dir: &TempDir) -> Self {
        let stderr_file = dir.0.join(format!("{name}.stderr"));
        let mut cmd = Command::new(example_binary(name));
        // Only the variables given here: none inherited from the machine's own set-up.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("OTEL_") || k.starts_with("DD_") {
                cmd.env_remove(&*k);
            }
        }
        cmd.env("ROUTEMETER_ADDR", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_file).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let process = Process(child);
        let first = stdout
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "example {name} did not start; its standard error:\n{}",
                    std::fs::read_to_string(&stderr_file).unwrap_or_default()
                )
            });
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Self {
            process,
            base,
            stdout,
            stderr_file,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit after its `shut down` line.
    fn terminate(mut self) {
        let pid = self.process.0.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let exit = loop {
            if let Some(exit) = self.process.0.try_wait().unwrap() {
                break exit;
            }
            assert!(
                Instant::now() < deadline,
                "the example did not stop on SIGTERM; its standard error:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(exit.success(), "{exit}; standard error:\n{}", self.stderr());
        let rest: Vec<String> = self.stdout.try_iter().collect();
        assert_eq!(rest, ["shut down"], "{}", self.stderr());
    }
}

/// The lines of `reader`, read on a thread of their own.
fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Whether `python3` can import `module`. Under `CI=true` a missing module is a failure;
/// elsewhere the caller skips with a visible message.
fn require_python_module(python: &Path, module: &str) -> bool {
    let ok = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "python module `{module}` is not installed; CI must install it (see scripts/test.sh)"
            );
        }
        eprintln!("SKIPPED: python module `{module}` is not installed; run scripts/test.sh");
    }
    ok
}

// ---------------------------------------------------------------------------------------------
// OTLP

const OTLP_USERS: usize = 23;
const OTLP_ERRORS: usize = 3;
const OTLP_POSTS: usize = 2;
const OTLP_CLIENTS: usize = 16;
const OTLP_PER_CLIENT: usize = 100;

/// The OTLP receiver: a child process printing one JSON line per export.
struct Receiver {
    _process: Process,
    port: u16,
    lines: mpsc::Receiver<String>,
    exports: Vec<Value>,
}

impl Receiver {
    fn start(python: &Path) -> Self {
        let mut child = Command::new(python)
            .arg(manifest_dir().join("tests/otlp/receiver.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = lines(child.stdout.take().unwrap());
        let process = Process(child);
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the OTLP receiver did not start");
        let port = first
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Self {
            _process: process,
            port,
            lines,
            exports: Vec::new(),
        }
    }

    /// Takes every line printed so far; a refused request fails the test.
    fn drain(&mut self) {
        for line in self.lines.try_iter() {
            let v: Value = serde_json::from_str(&line).unwrap();
            assert!(
                v.get("error").is_none(),
                "the receiver refused a request: {v}"
            );
            self.exports.push(v);
        }
    }

    /// Waits (bounded) for an export that satisfies `pred`.
    fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if let Some(v) = self.exports.iter().find(|v| pred(v)) {
                return Some(v.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The metrics of an export's only resource, by name, and that resource's attributes.
fn metrics_by_name(export: &Value) -> (Value, BTreeMap<String, Value>) {
    let resources = export["resource_metrics"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{export}");
    let mut by_name = BTreeMap::new();
    for m in resources[0]["metrics"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap().to_owned();
        assert!(
            by_name.insert(name.clone(), m.clone()).is_none(),
            "{name} appears twice in one export"
        );
    }
    (resources[0]["resource"].clone(), by_name)
}

/// The data point of `metric` whose attributes are exactly `attrs`.
fn point<'a>(metric: &'a Value, attrs: &Value) -> Option<&'a Value> {
    metric["points"]
        .as_array()?
        .iter()
        .find(|p| p["attributes"] == *attrs)
}

fn users_count(export: &Value) -> Option<u64> {
    let (_, metrics) = metrics_by_name(export);
    let p = point(
        metrics.get("http.server.request.duration")?,
        &duration_attrs("GET", "/users/{id}", Some("200"), None),
    )?;
    p["count"].as_u64()
}

/// The attributes of a duration data point, as the dotted naming scheme writes them.
fn duration_attrs(method: &str, route: &str, status: Option<&str>, error: Option<&str>) -> Value {
    let mut a = json!({
        "http.request.method": method,
        "http.route": route,
        "url.scheme": "http",
        "network.protocol.version": "1.1",
    });
    if let Some(s) = status {
        // The `metrics` facade carries label values as strings, so the status code is a
        // string attribute.
        a["http.response.status_code"] = json!(s);
    }
    if let Some(e) = error {
        a["error.type"] = json!(e);
    }
    a
}

/// Checks one histogram data point: its bounds, its bucket counts adding up to its count, and
/// that count.
fn assert_histogram_point(metric: &Value, attrs: &Value, bounds: &[f64], count: u64) -> Value {
    let p = point(metric, attrs)
        .unwrap_or_else(|| panic!("no point with {attrs} in {metric:#}"))
        .clone();
    let got_bounds: Vec<f64> = serde_json::from_value(p["bounds"].clone()).unwrap();
    assert_eq!(got_bounds, bounds, "bucket bounds of {attrs}");
    let buckets: Vec<u64> = serde_json::from_value(p["bucket_counts"].clone()).unwrap();
    assert_eq!(buckets.len(), bounds.len() + 1, "{p}");
    assert_eq!(
        buckets.iter().sum::<u64>(),
        count,
        "bucket counts of {attrs}: {p}"
    );
    assert_eq!(p["count"], json!(count), "count of {attrs}");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_export_reaches_a_receiver_with_the_conventions_names() {
    let Some(python) = require_program("python3") else {
        return;
    };
    if !require_python_module(&python, "opentelemetry.proto") {
        return;
    }
    let dir = TempDir::new("otlp");
    let mut receiver = Receiver::start(&python);
    let example = Example::start(
        "otlp",
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", receiver.port),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300".to_owned()),
            ("OTEL_SERVICE_NAME", "routemeter-otlp-test".to_owned()),
            // How a vendor's API key travels, and extra resource attributes.
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=test-key".to_owned(),
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=test".to_owned(),
            ),
        ],
        &dir,
    );

    let client = Client::new();
    let base = &example.base;
    for i in 0..OTLP_USERS {
        assert_eq!(client.get(&format!("{base}/users/{i}")).await.0, 200);
    }
    for _ in 0..OTLP_ERRORS {
        assert_eq!(client.get(&format!("{base}/error")).await.0, 500);
    }
    for _ in 0..OTLP_POSTS {
        let (status, _) = client
            .request("POST", &format!("{base}/users"), "abcd")
            .await;
        assert_eq!(status, 201);
    }
    assert_eq!(client.get(&format!("{base}/panic")).await.0, 500);
    // Concurrent clients while the SDK collects and exports every 300 ms: every request must
    // still be counted once.
    let clients: Vec<_> = (0..OTLP_CLIENTS)
        .map(|_| {
            let url = format!("{base}/");
            tokio::spawn(async move {
                let client = Client::new();
                for _ in 0..OTLP_PER_CLIENT {
                    assert_eq!(client.get(&url).await.0, 200);
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }

    // A periodic export (every 300 ms, not the default minute) carries the requests while the
    // server still runs.
    let periodic = receiver.wait_for(Duration::from_secs(20), |v| {
        users_count(v) == Some(OTLP_USERS as u64)
    });
    assert!(
        periodic.is_some(),
        "no periodic export counted {OTLP_USERS} requests; exports: {:#?}; stderr:\n{}",
        receiver.exports,
        example.stderr()
    );

    // SIGTERM: in-flight requests finish, then a last export.
    receiver.drain();
    let exports_before = receiver.exports.len();
    example.terminate();
    // The example printed `shut down` after its last export was answered; the receiver's line
    // may still be on its way through the pipe.
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.exports.len() == exports_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        receiver.drain();
    }
    assert!(
        receiver.exports.len() > exports_before,
        "no export at shutdown"
    );
    let last = receiver.exports.last().unwrap().clone();

    let (resource, metrics) = metrics_by_name(&last);
    assert_eq!(resource["service.name"], json!("routemeter-otlp-test"));
    assert_eq!(resource["deployment.environment"], json!("test"));
    assert_eq!(last["headers"], json!({"x-api-key": "test-key"}));
    assert_eq!(
        metrics.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "http.server.active_requests",
            "http.server.request.body.size",
            "http.server.request.duration",
            "http.server.response.body.size",
            "routemeter.route.overflow",
        ]
    );

    // The duration: seconds, cumulative, the conventions' bucket bounds, one point per
    // (method, route, status, error) with exactly the requests sent.
    let duration = &metrics["http.server.request.duration"];
    assert_eq!(duration["type"], json!("histogram"));
    assert_eq!(duration["unit"], json!("s"));
    assert_eq!(
        duration["temporality"],
        json!("AGGREGATION_TEMPORALITY_CUMULATIVE")
    );
    assert_eq!(duration["scope"], json!("routemeter"));
    let users = assert_histogram_point(
        duration,
        &duration_attrs("GET", "/users/{id}", Some("200"), None),
        DEFAULT_DURATION_BUCKETS,
        OTLP_USERS as u64,
    );
    let sum = users["sum"].as_f64().unwrap();
    assert!(sum > 0.0 && sum < OTLP_USERS as f64 * 10.0, "{users}");
    assert_histogram_point(
        duration,
        &duration_attrs("GET", "/error", Some("500"), Some("500")),
        DEFAULT_DURATION_BUCKETS,
        OTLP_ERRORS as u64,
    );
    assert_histogram_point(
        duration,
        &duration_attrs("POST", "/users", Some("201"), None),
        DEFAULT_DURATION_BUCKETS,
        OTLP_POSTS as u64,
    );
    assert_histogram_point(
        duration,
        &duration_attrs("GET", "/panic", None, Some("panic")),
        DEFAULT_DURATION_BUCKETS,
        1,
    );
    assert_histogram_point(
        duration,
        &duration_attrs("GET", "/", Some("200"), None),
        DEFAULT_DURATION_BUCKETS,
        (OTLP_CLIENTS * OTLP_PER_CLIENT) as u64,
    );
    assert_eq!(
        duration["points"].as_array().unwrap().len(),
        5,
        "{duration:#}"
    );

    // Body sizes: bytes (`By`), the size buckets; 4 bytes per POST.
    for name in [
        "http.server.request.body.size",
        "http.server.response.body.size",
    ] {
        let m = &metrics[name];
        assert_eq!(m["type"], json!("histogram"), "{name}");
        assert_eq!(m["unit"], json!("By"), "{name}");
        assert_eq!(m["points"].as_array().unwrap().len(), 5, "{m:#}");
    }
    let posted = assert_histogram_point(
        &metrics["http.server.request.body.size"],
        &duration_attrs("POST", "/users", Some("201"), None),
        DEFAULT_SIZE_BUCKETS,
        OTLP_POSTS as u64,
    );
    assert_eq!(posted["sum"], json!(4.0 * OTLP_POSTS as f64));

    // In-flight requests: a gauge per (method, route, scheme), back to zero.
    let active = &metrics["http.server.active_requests"];
    assert_eq!(active["type"], json!("gauge"));
    let points = active["points"].as_array().unwrap();
    assert_eq!(points.len(), 5, "{active:#}");
    for p in points {
        assert_eq!(p["value"], json!(0.0), "{p}");
        assert_eq!(p["attributes"]["url.scheme"], json!("http"));
    }
    assert!(point(
        active,
        &json!({"http.request.method": "GET", "http.route": "/users/{id}", "url.scheme": "http"})
    )
    .is_some());

    // Nothing overflowed.
    let overflow = &metrics["routemeter.route.overflow"];
    assert_eq!(overflow["type"], json!("sum"));
    assert_eq!(overflow["monotonic"], json!(true));
    assert_eq!(overflow["points"][0]["value"], json!(0));
}

/// The bridge the OTLP example uses, under load: two threads send requests through the layer
/// into `metrics-exporter-otel` while a third makes the SDK's periodic reader collect and export
/// without pause (`force_flush`), with both temporalities (a delta collection resets the SDK's
/// state under the writers' feet). Every request must be exported: in the last cumulative
/// export, or in the sum of the deltas.
#[test]
fn otel_bridge_exports_every_request_while_the_sdk_collects() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const THREADS: u64 = 2;
    const PER_THREAD: u64 = 100_000;
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        let (exporter, seen) = otel_counting::CountingExporter::new(temporality);
        let provider = SdkMeterProvider::builder()
            // Collections come from the loop below; the timer stays out of the way.
            .with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(Duration::from_secs(3600))
                    .build(),
            )
            .build();
        let recorder =
            metrics_exporter_otel::OpenTelemetryRecorder::new(provider.meter("routemeter"));
        let naming = routemeter::Naming::new(routemeter::NamingScheme::OpenTelemetryDotted);
        recorder.set_histogram_bounds(
            &metrics::KeyName::from(naming.duration().to_owned()),
            DEFAULT_DURATION_BUCKETS.to_vec(),
        );
        let layer = routemeter::RouteMeterLayer::builder()
            .naming(naming)
            .recorder(recorder)
            .route_fn(|_| Some("/hot"))
            .build();

        let stop = Arc::new(AtomicBool::new(false));
        let collector = {
            let (stop, provider) = (Arc::clone(&stop), provider.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    provider.force_flush().unwrap();
                }
            })
        };
        drive::send(&layer, THREADS * PER_THREAD, THREADS);
        stop.store(true, Ordering::Relaxed);
        collector.join().unwrap();
        let during = seen.lock().unwrap().0;
        provider.force_flush().unwrap();
        let (exports, sum, last) = *seen.lock().unwrap();
        let total = THREADS * PER_THREAD;
        let exported = match temporality {
            Temporality::Delta => sum,
            _ => last,
        };
        assert_eq!(exported, total, "{temporality:?}, after {exports} exports");
        assert!(during >= 10, "only {during} exports overlapped the writers");
        eprintln!("{temporality:?}: {total} requests, {during} exports while they were sent");
        provider.shutdown().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// DogStatsD

/// A DogStatsD metric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Distribution,
    Timer,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Counter => "c",
            Kind::Gauge => "g",
            Kind::Histogram => "h",
            Kind::Distribution => "d",
            Kind::Timer => "ms",
        }
    }
}

/// One metric of a DogStatsD datagram:
/// `name:value[:value…]|type[|@rate][|#tag,tag…][|T timestamp][|c:container]`.
#[derive(Clone, Debug, PartialEq)]
struct Metric {
    name: String,
    values: Vec<f64>,
    kind: Kind,
    rate: Option<f64>,
    tags: Vec<String>,
    timestamp: Option<u64>,
    container: Option<String>,
}

/// Parses a datagram: metrics separated by `\n`, with an optional final `\n`.
fn parse_datagram(datagram: &str) -> Result<Vec<Metric>, String> {
    let body = datagram.strip_suffix('\n').unwrap_or(datagram);
    if body.is_empty() {
        return Err("empty datagram".to_owned());
    }
    body.split('\n').map(parse_metric).collect()
}

fn parse_metric(line: &str) -> Result<Metric, String> {
    let err = |what: &str| format!("{what} in {line:?}");
    let mut fields = line.split('|');
    let head = fields.next().unwrap_or_default();
    let (name, values) = head
        .split_once(':')
        .ok_or_else(|| err("no `:` after the name"))?;
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !name_ok || name.len() > 200 {
        return Err(err("invalid metric name"));
    }
    let values = values
        .split(':')
        .map(|v| {
            let ok = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
            v.parse::<f64>()
                .ok()
                .filter(|f| ok && f.is_finite())
                .ok_or_else(|| err("invalid value"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    let kind = match fields.next() {
        Some("c") => Kind::Counter,
        Some("g") => Kind::Gauge,
        Some("h") => Kind::Histogram,
        Some("d") => Kind::Distribution,
        Some("ms") => Kind::Timer,
        _ => return Err(err("missing or unknown type")),
    };
    let mut metric = Metric {
        name: name.to_owned(),
        values,
        kind,
        rate: None,
        tags: Vec::new(),
        timestamp: None,
        container: None,
    };
    let mut seen_tags = false;
    for field in fields {
        if let Some(rate) = field.strip_prefix('@') {
            let r: f64 = rate.parse().map_err(|_| err("invalid sample rate"))?;
            if metric.rate.is_some() || !(r > 0.0 && r <= 1.0) {
                return Err(err("invalid or repeated sample rate"));
            }
            metric.rate = Some(r);
        } else if let Some(tags) = field.strip_prefix('#') {
            if seen_tags {
                return Err(err("repeated tags"));
            }
            seen_tags = true;
            for tag in tags.split(',') {
                if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(err("empty tag or tag with whitespace"));
                }
                metric.tags.push(tag.to_owned());
            }
        } else if let Some(ts) = field.strip_prefix('T') {
            let ok = !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit());
            let t = ts.parse().ok().filter(|_| ok && metric.timestamp.is_none());
            metric.timestamp = Some(t.ok_or_else(|| err("invalid or repeated timestamp"))?);
        } else if let Some(id) = field.strip_prefix("c:") {
            if id.is_empty() || metric.container.is_some() {
                return Err(err("empty or repeated container id"));
            }
            metric.container = Some(id.to_owned());
        } else {
            return Err(err("unknown field"));
        }
    }
    Ok(metric)
}

/// Writes `m` as one datagram line, the way clients do (the inverse of [`parse_metric`]).
fn write_metric(m: &Metric) -> String {
    let values: Vec<String> = m.values.iter().map(f64::to_string).collect();
    let mut s = format!("{}:{}|{}", m.name, values.join(":"), m.kind.code());
    if let Some(r) = m.rate {
        s.push_str(&format!("|@{r}"));
    }
    if !m.tags.is_empty() {
        s.push_str(&format!("|#{}", m.tags.join(",")));
    }
    if let Some(t) = m.timestamp {
        s.push_str(&format!("|T{t}"));
    }
    if let Some(c) = &m.container {
        s.push_str(&format!("|c:{c}"));
    }
    s
}

#[test]
fn dogstatsd_parser_reads_what_the_exporter_writes() {
    let got = parse_datagram(
        "http_server_request_duration_seconds:0.0012:0.25|d|#http_request_method:GET,http_route:/users/{id},service:shop\nhttp_server_active_requests:0|g|#http_route:/users/{id}\nhits:3|c|@0.5|T1700000000|c:abc\n",
    )
    .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].values, [0.0012, 0.25]);
    assert_eq!(got[0].kind, Kind::Distribution);
    assert_eq!(got[0].tags[1], "http_route:/users/{id}");
    assert_eq!(got[1].kind, Kind::Gauge);
    assert_eq!(got[2].rate, Some(0.5));
    assert_eq!(got[2].timestamp, Some(1_700_000_000));
    assert_eq!(got[2].container.as_deref(), Some("abc"));
    for bad in [
        "",
        "\n",
        "a:1",
        "a|c",
        ":1|c",
        "1a:1|c",
        "a b:1|c",
        "a:|c",
        "a:1:|c",
        "a:x|c",
        "a:NaN|g",
        "a:inf|g",
        "a:1|s",
        "a:1|c|",
        "a:1|c|@0",
        "a:1|c|@2",
        "a:1|c|@0.5|@0.5",
        "a:1|c|#",
        "a:1|c|#a,,b",
        "a:1|c|#a b",
        "a:1|c|#a|#b",
        "a:1|c|T",
        "a:1|c|T-1",
        "a:1|c|c:",
        "a:1|c|x",
        "a:1|c\n\nb:1|c",
    ] {
        assert!(parse_datagram(bad).is_err(), "accepted {bad:?}");
    }
}

mod dogstatsd_properties {
    use proptest::prelude::*;

    use super::{Kind, Metric, parse_datagram, write_metric};

    fn metric() -> impl Strategy<Value = Metric> {
        (
            "[a-zA-Z][a-zA-Z0-9_.]{0,40}",
            prop::collection::vec(
                prop_oneof![
                    (-1e12f64..1e12).boxed(),
                    any::<u32>().prop_map(f64::from).boxed(),
                ],
                1..5,
            ),
            prop_oneof![
                Just(Kind::Counter),
                Just(Kind::Gauge),
                Just(Kind::Histogram),
                Just(Kind::Distribution),
                Just(Kind::Timer),
            ],
            prop::option::of(0.001f64..=1.0),
            prop::collection::vec("[a-z_][a-z0-9_:./{}*-]{0,24}", 0..6),
            prop::option::of(any::<u32>().prop_map(u64::from)),
            prop::option::of("[a-f0-9]{1,16}"),
        )
            .prop_map(
                |(name, values, kind, rate, tags, timestamp, container)| Metric {
                    name,
                    values,
                    kind,
                    rate,
                    tags,
                    timestamp,
                    container,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any datagram written from well-formed metrics parses back to exactly them.
        #[test]
        fn round_trip(metrics in prop::collection::vec(metric(), 1..6), trailing in any::<bool>()) {
            let mut datagram = metrics.iter().map(write_metric).collect::<Vec<_>>().join("\n");
            if trailing {
                datagram.push('\n');
            }
            prop_assert_eq!(parse_datagram(&datagram).unwrap(), metrics);
        }

        /// Any input is parsed or refused, never a panic; what parses writes back to the same
        /// metrics.
        #[test]
        fn any_input(input in "[a-z0-9_.:|@#,T\\-\n ]{0,60}") {
            if let Ok(metrics) = parse_datagram(&input) {
                let again = metrics.iter().map(write_metric).collect::<Vec<_>>().join("\n");
                prop_assert_eq!(parse_datagram(&again).unwrap(), metrics);
            }
        }

        /// A character outside the name alphabet, put into a valid name, is refused.
        #[test]
        fn invalid_name_is_refused(m in metric(), bad in "[ /{}*,@#:|-]", at in any::<prop::sample::Index>()) {
            let mut m = m;
            let i = at.index(m.name.len() + 1);
            m.name.insert_str(i, &bad);
            let line = write_metric(&m);
            // A `:` or `|` moves the field boundary; whatever it becomes, it is not this metric.
            prop_assert!(parse_datagram(&line).map_or(true, |ms| ms != vec![m]));
        }
    }
}

const STATSD_USERS: usize = 17;
const STATSD_ERRORS: usize = 2;

/// Distribution samples per (name, sorted tags), and the other metrics' last lines.
#[derive(Default)]
struct Agent {
    samples: BTreeMap<(String, Vec<String>), Vec<f64>>,
    others: BTreeMap<(String, Vec<String>), Metric>,
    datagrams: usize,
}

impl Agent {
    fn take(&mut self, datagram: &str) {
        self.datagrams += 1;
        let metrics = parse_datagram(datagram)
            .unwrap_or_else(|e| panic!("not a DogStatsD datagram: {e}\n{datagram}"));
        for m in metrics {
            assert!(m.rate.is_none() && m.timestamp.is_none(), "{m:?}");
            let mut tags = m.tags.clone();
            tags.sort();
            let key = (m.name.clone(), tags);
            if m.kind == Kind::Distribution {
                self.samples.entry(key).or_default().extend(&m.values);
            } else {
                self.others.insert(key, m);
            }
        }
    }

    fn count(&self, name: &str, tags: &[String]) -> usize {
        let mut tags = tags.to_vec();
        tags.sort();
        self.samples
            .get(&(name.to_owned(), tags))
            .map_or(0, Vec::len)
    }
}

fn duration_tags(method: &str, route: &str, status: &str) -> Vec<String> {
    vec![
        format!("http_request_method:{method}"),
        format!("http_route:{route}"),
        format!("http_response_status_code:{status}"),
        "url_scheme:http".to_owned(),
        "network_protocol_version:1.1".to_owned(),
        "service:routemeter-test".to_owned(),
        "env:ci".to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dogstatsd_datagrams_carry_names_types_and_tags() {
    let dir = TempDir::new("dogstatsd");
    // Where the Datadog agent's DogStatsD server would listen.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let example = Example::start(
        "dogstatsd",
        &[
            ("DD_AGENT_HOST", "127.0.0.1".to_owned()),
            ("DD_DOGSTATSD_PORT", port.to_string()),
            ("DD_SERVICE", "routemeter-test".to_owned()),
            ("DD_ENV", "ci".to_owned()),
        ],
        &dir,
    );
    let client = Client::new();
    let base = &example.base;
    for i in 0..STATSD_USERS {
        assert_eq!(client.get(&format!("{base}/users/{i}")).await.0, 200);
    }
    for _ in 0..STATSD_ERRORS {
        assert_eq!(client.get(&format!("{base}/error")).await.0, 500);
    }
    let (status, _) = client
        .request("POST", &format!("{base}/users"), "abcd")
        .await;
    assert_eq!(status, 201);

    let duration = "http_server_request_duration_seconds";
    let users = duration_tags("GET", "/users/{id}", "200");
    let mut errors = duration_tags("GET", "/error", "500");
    errors.push("error_type:500".to_owned());
    let posts = duration_tags("POST", "/users", "201");

    let received = tokio::task::spawn_blocking(move || {
        let mut agent = Agent::default();
        let mut buf = vec![0u8; 65_536];
        let done = |a: &Agent| {
            a.count(duration, &users) >= STATSD_USERS
                && a.count(duration, &errors) >= STATSD_ERRORS
                && a.count(duration, &posts) >= 1
        };
        // Flushes come every 3 s: wait for the samples, then one more flush, which must add
        // nothing (every request was sent once, and only once).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut settled: Option<Instant> = None;
        while Instant::now() < deadline {
            if let Ok(n) = socket.recv(&mut buf) {
                agent.take(std::str::from_utf8(&buf[..n]).unwrap());
            }
            match settled {
                None if done(&agent) => settled = Some(Instant::now()),
                Some(t) if t.elapsed() > Duration::from_millis(3_500) => break,
                _ => {}
            }
        }
        (agent, users, errors, posts)
    })
    .await
    .unwrap();
    let (agent, users, errors, posts) = received;
    example.terminate();

    assert_eq!(
        agent.count(duration, &users),
        STATSD_USERS,
        "datagrams: {}, distributions: {:#?}",
        agent.datagrams,
        agent.samples.keys()
    );
    assert_eq!(agent.count(duration, &errors), STATSD_ERRORS);
    assert_eq!(agent.count(duration, &posts), 1);
    // No other label set of the duration (the tags are exact), every value a duration in
    // seconds.
    let duration_series: Vec<_> = agent
        .samples
        .iter()
        .filter(|((name, _), _)| name == duration)
        .collect();
    assert_eq!(duration_series.len(), 3, "{duration_series:#?}");
    for (_, values) in &duration_series {
        assert!(values.iter().all(|v| *v > 0.0 && *v < 10.0), "{values:?}");
    }
    // The request body size: a distribution in bytes, 4 for the POST.
    let mut post_tags = posts.clone();
    post_tags.sort();
    assert_eq!(
        agent.samples.get(&(
            "http_server_request_body_size_bytes".to_owned(),
            post_tags.clone()
        )),
        Some(&vec![4.0])
    );
    assert!(
        agent
            .samples
            .contains_key(&("http_server_response_body_size_bytes".to_owned(), post_tags))
    );
    // In-flight requests: a gauge, tagged with method, route and scheme, back to 0.
    let mut gauge_tags = vec![
        "http_request_method:GET".to_owned(),
        "http_route:/users/{id}".to_owned(),
        "url_scheme:http".to_owned(),
        "service:routemeter-test".to_owned(),
        "env:ci".to_owned(),
    ];
    gauge_tags.sort();
    let gauge = agent
        .others
        .get(&("http_server_active_requests".to_owned(), gauge_tags))
        .unwrap_or_else(|| panic!("no gauge: {:#?}", agent.others.keys()));
    assert_eq!(gauge.kind, Kind::Gauge);
    assert_eq!(gauge.values, [0.0]);
    // Every metric of the app carries the unified service tags.
    for (name, tags) in agent.samples.keys().chain(agent.others.keys()) {
        if name.starts_with("http_") {
            assert!(
                tags.contains(&"service:routemeter-test".to_owned())
                    && tags.contains(&"env:ci".to_owned()),
                "{name} {tags:?}"
            );
        }
    }
}

/// Settings an example cannot use stop it at once, with a message naming the variable, before
/// it listens or sends anything.
#[test]
fn examples_refuse_invalid_settings() {
    // (example, (variable, value), the variable the message must name)
    type Case = (&'static str, (&'static str, &'static str), &'static str);
    let cases: &[Case] = &[
        ("otlp", ("ROUTEMETER_ADDR", "localhost"), "ROUTEMETER_ADDR"),
        ("dogstatsd", ("ROUTEMETER_ADDR", "1.2.3"), "ROUTEMETER_ADDR"),
        (
            "dogstatsd",
            ("DD_DOGSTATSD_PORT", "eighty"),
            "DD_DOGSTATSD_PORT",
        ),
        ("dogstatsd", ("DD_DOGSTATSD_PORT", "0"), "DD_DOGSTATSD_PORT"),
        (
            "dogstatsd",
            ("DD_DOGSTATSD_PORT", "70000"),
            "DD_DOGSTATSD_PORT",
        ),
        ("dogstatsd", ("DD_AGENT_HOST", ""), "DD_AGENT_HOST"),
        ("dogstatsd", ("DD_AGENT_HOST", "a b"), "DD_AGENT_HOST"),
        ("dogstatsd", ("DD_SERVICE", "shop,env:prod"), "DD_SERVICE"),
        ("dogstatsd", ("DD_ENV", "prod|c"), "DD_ENV"),
        ("dogstatsd", ("DD_VERSION", "1\n2"), "DD_VERSION"),
    ];
    for (example, (key, value), variable) in cases {
        let mut cmd = Command::new(example_binary(example));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("OTEL_") || k.starts_with("DD_") {
                cmd.env_remove(&*k);
            }
        }
        // A port nobody listens on, should the example get as far as sending.
        cmd.env("ROUTEMETER_ADDR", "127.0.0.1:0")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
            .stdin(Stdio::null());
        cmd.env(key, value);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{example} {key}={value:?} was accepted"
        );
        assert!(
            out.stdout.is_empty(),
            "{example} {key}={value:?} started: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains(variable),
            "{example} {key}={value:?}: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Locust

const LOCUST_USERS: u64 = 10;

/// Locust's percentile of its response-time table, as its own statistics compute it
/// (`calculate_response_time_percentile`): response times in milliseconds, rounded as Locust
/// stores them.
fn locust_percentile(response_times: &BTreeMap<u64, u64>, num_requests: u64, q: f64) -> u64 {
    let wanted = (num_requests as f64 * q) as u64;
    let mut processed = 0;
    for (&ms, &n) in response_times.iter().rev() {
        processed += n;
        if num_requests.saturating_sub(processed) <= wanted {
            return ms;
        }
    }
    0
}

#[test]
fn locust_percentile_matches_locusts_definition() {
    // Values computed by Locust 2.47's `calculate_response_time_percentile` on the same table:
    // 100 requests, 1 ms ×90, 10 ms ×5, 100 ms ×5.
    let table = BTreeMap::from([(1, 90), (10, 5), (100, 5)]);
    for (q, ms) in [
        (0.95, 100),
        (0.94, 10),
        (0.96, 100),
        (0.5, 1),
        (0.9, 10),
        (0.89, 1),
    ] {
        assert_eq!(locust_percentile(&table, 100, q), ms, "q = {q}");
    }
    assert_eq!(locust_percentile(&BTreeMap::new(), 0, 0.95), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locust_and_the_server_agree_per_route() {
    // `python3 -m locust`: the module is there wherever pip put the `locust` script.
    let Some(python) = require_program("python3") else {
        return;
    };
    if !require_python_module(&python, "locust") {
        return;
    }
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = RunningApp::start(&metrics).await;
    let base = app.base();
    let users = LOCUST_USERS.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(python);
        cmd.args(["-m", "locust", "-f"])
            .arg(manifest_dir().join("../examples/locustfile.py"))
            .args(["--headless", "-u", &users, "-r", &users, "-t", "5s"])
            .args(["--host", &base, "--json", "--only-summary", "--skip-log"])
            .args(["--exit-code-on-error", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Process(cmd.spawn().unwrap());
        // Both pipes are read while Locust runs, so neither can fill up and block it.
        let read_all = |mut r: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                r.read_to_string(&mut s).map(|_| s)
            })
        };
        let out = read_all(Box::new(child.0.stdout.take().unwrap()));
        let err = read_all(Box::new(child.0.stderr.take().unwrap()));
        // `-t 5s` stops it; the deadline guards against a hang (dropping `child` kills it).
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "locust did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        (
            status,
            out.join().unwrap().unwrap(),
            err.join().unwrap().unwrap(),
        )
    })
    .await
    .unwrap();
    let (status, stdout, stderr) = output;
    assert!(status.success(), "locust failed: {status}\n{stderr}");
    let stats: Vec<Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("locust's --json output: {e}\n{stdout}\n{stderr}"));
    let snapshot = Snapshot::from_prometheus_text(&metrics.render(), metrics.naming()).unwrap();
    app.stop().await;

    // Locust's rows line up with the server's route labels, one for one.
    let rows: BTreeSet<(String, String)> = stats
        .iter()
        .map(|s| {
            (
                s["method"].as_str().unwrap().to_owned(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/users/{id}"),
        ("GET", "/slow"),
        ("GET", "/"),
        ("POST", "/users"),
        ("GET", "/error"),
        ("GET", "/stream"),
    ]
    .iter()
    .map(|(m, r)| ((*m).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(rows, expected, "{stdout}");
    let mut server_routes = snapshot.routes();
    server_routes.sort();
    let mut locust_routes: Vec<String> = expected.iter().map(|(_, r)| r.clone()).collect();
    locust_routes.sort();
    assert_eq!(server_routes, locust_routes);

    // Per route, the server counted what Locust counted, plus at most the requests that were
    // in flight when Locust stopped (one per user).
    for s in &stats {
        let (method, route) = (s["method"].as_str().unwrap(), s["name"].as_str().unwrap());
        let locust_count = s["num_requests"].as_u64().unwrap();
        let server = snapshot.endpoint(method, route);
        assert!(
            locust_count <= server.count() && server.count() <= locust_count + LOCUST_USERS,
            "{method} {route}: Locust counted {locust_count}, the server {}",
            server.count()
        );
        if route == "/error" {
            assert_eq!(s["num_failures"].as_u64(), Some(locust_count));
            assert_eq!(server.error_type("500"), server.status(500));
        } else {
            assert_eq!(s["num_failures"].as_u64(), Some(0), "{s}");
        }
    }
    let users_row = stats.iter().find(|s| s["name"] == "/users/{id}").unwrap();
    assert!(
        users_row["num_requests"].as_u64().unwrap() >= 50,
        "too little load to compare: {users_row}"
    );

    // Locust's p95 for /slow (measured by the client) lies in the bucket holding the server's
    // p95.
    let slow = stats.iter().find(|s| s["name"] == "/slow").unwrap();
    let n = slow["num_requests"].as_u64().unwrap();
    assert!(n >= 20, "too few /slow requests for a p95: {slow}");
    let table: BTreeMap<u64, u64> = slow["response_times"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(ms, c)| (ms.parse().unwrap(), c.as_u64().unwrap()))
        .collect();
    let locust_p95 = locust_percentile(&table, n, 0.95) as f64 / 1000.0;
    let server_p95 = snapshot.endpoint("GET", "/slow").p95().as_secs_f64();
    let upper_index = DEFAULT_DURATION_BUCKETS
        .iter()
        .position(|&b| server_p95 <= b)
        .unwrap();
    let upper = DEFAULT_DURATION_BUCKETS[upper_index];
    let lower = upper_index
        .checked_sub(1)
        .map_or(0.0, |i| DEFAULT_DURATION_BUCKETS[i]);
    assert!(
        lower < locust_p95 && locust_p95 <= upper,
        "Locust's p95 of /slow is {locust_p95} s, outside the bucket ({lower}, {upper}] that \
         holds the server's p95 ({server_p95} s)"
    );
}

/// The layer works with any `metrics` recorder, including metrics-exporter-prometheus's (which
/// buffers histogram samples and can lose some under concurrent drains: see
/// `benches/exactness.rs`). Sequential requests with one drain at the end are all there.
#[test]
fn the_layer_records_into_metrics_exporter_prometheus() {
    use tower::ServiceExt as _;
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let layer = routemeter::RouteMeterLayer::builder()
        .recorder(recorder)
        .route_fn(|_| Some("/r"))
        .build();
    let svc =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: http::Request<String>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
            });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..100 {
        let req = http::Request::get("/").body(String::new()).unwrap();
        rt.block_on(async {
            let response = svc.clone().oneshot(req).await.unwrap();
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        });
    }
    handle.run_upkeep();
    let text = handle.render();
    assert!(
        text.contains("http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/r\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 100"),
        "{text}"
    );
}
