//! A fleet on loopback: three replicas of the admin-listener example (each its own recorder
//! with a `region` global label, one in eu and two in us; `/metrics` on its admin port), an
//! HA pair of Prometheus servers scraping them with the generated recording and alerting rules
//! (`fleet_label("region")`) and writing to VictoriaMetrics with `remote_write`, and `vmalert`
//! evaluating the generated alerts against VictoriaMetrics.
//!
//! It checks what a fleet needs: totals per route (and region) are exact in the long-term
//! store and the fleet-wide recording rules arrive there once per route and region, without
//! `instance`; a dead replica is named by the service-down alert while its region's rates
//! carry on; `increase()` over a
//! window that spans a restart counts every request once; the forecasts and the history
//! recipes of docs/production.md §6 run against the store. And the public port of a replica
//! never serves `/metrics`.
//!
//! Needs Debian's `prometheus` and `victoria-metrics` packages: fails under `CI=true` without
//! them, skips with a message elsewhere.

use crate::common;

use routemeter_demo::admin as admin_listener;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use common::{Client, Process, TempDir, encode, free_port, prom, require_program};
use routemeter::monitoring::{Monitoring, Profile, Slo};
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};
use serde_json::Value;
use tokio::net::TcpListener;

const JOB: &str = "quickstart";
/// The region of each replica; the third one dies and restarts.
const REGIONS: [&str; 3] = ["eu", "us", "us"];
const COUNT: &str = "http_server_request_duration_seconds_count";
const USERS: &str = "/users/{id}";
const ERROR: &str = "/error";
/// Requests no route matched: the replicas' public ports answer 404 for `/metrics`.
const UNMATCHED: &str = routemeter::UNMATCHED_ROUTE;

/// One replica: the example's public app and admin listener, with a recorder of its own.
struct Replica {
    metrics: PrometheusMetrics,
    public: SocketAddr,
    admin: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Replica {
    /// Starts a replica in `region` (a label on every series it exports) with a fresh
    /// recorder; its admin listener on `admin_port` (0: any free port; a restarted replica
    /// takes its old port, so Prometheus sees the same `instance`).
    async fn start(admin_port: u16, region: &str) -> Self {
        let metrics = PrometheusBuilder::new()
            .constant_label("region", region)
            .unwrap()
            .build()
            .unwrap();
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let admin = loop {
            match TcpListener::bind(("127.0.0.1", admin_port)).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("admin port {admin_port} not free yet: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("admin port {admin_port}: {e}"),
            }
        };
        let (public_addr, admin_addr) = (public.local_addr().unwrap(), admin.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let m = metrics.clone();
        let task = tokio::spawn(async move {
            admin_listener::serve(public, admin, &m, async {
                let _ = stopped.await;
            })
            .await
        });
        Self {
            metrics,
            public: public_addr,
            admin: admin_addr,
            stop,
            task,
        }
    }

    /// Stops both listeners (bounded) and checks the server ended without error.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the replica stops within 10 s")
            .unwrap()
            .unwrap();
    }

    /// Sends `users` requests to `/users/{id}` and `errors` to `/error`; checks every status.
    async fn traffic(&self, client: &Client, users: u64, errors: u64) {
        for i in 0..users {
            let (status, _) = client
                .get(&format!("http://{}/users/{i}", self.public))
                .await;
            assert_eq!(status, 200);
        }
        for _ in 0..errors {
            let (status, _) = client.get(&format!("http://{}/error", self.public)).await;
            assert_eq!(status, 500);
        }
    }

    /// The replica's own count for `route`, from its recorder (0 when it has none yet).
    fn own_count(&self, route: &str) -> u64 {
        let needle = format!("http_route=\"{route}\"");
        self.metrics
            .render()
            .lines()
            .filter(|l| l.starts_with(COUNT) && l.contains(&needle))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    }
}

/// VictoriaMetrics, single binary, on loopback with its own storage; killed on drop.
struct Store {
    addr: String,
    dir: TempDir,
    _process: Process,
}

impl Store {
    fn start() -> Option<Self> {
        let binary = require_program("victoria-metrics")?;
        let dir = TempDir::new("victoria-metrics");
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.0.join("vm.log")).unwrap();
        let process = Process(
            Command::new(binary)
                .arg(format!("-storageDataPath={}", dir.0.join("data").display()))
                .arg(format!("-httpListenAddr={addr}"))
                // Answer with the newest samples (the default hides the last 30 s), never
                // from a cache, and keep one sample a second of the HA pair's duplicates.
                .arg("-search.latencyOffset=0s")
                .arg("-search.disableCache")
                .arg("-dedup.minScrapeInterval=1s")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("victoria-metrics starts"),
        );
        Some(Self {
            addr,
            dir,
            _process: process,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("vm.log")).unwrap_or_default()
    }

    /// An instant query through the store's PromQL API, at `time` (Unix seconds) or now;
    /// panics unless it answers `success`.
    async fn query_at(&self, client: &Client, promql: &str, time: Option<u64>) -> Value {
        let mut url = format!("http://{}/api/v1/query?query={}", self.addr, encode(promql));
        if let Some(t) = time {
            url.push_str(&format!("&time={t}"));
        }
        let (status, body) = client.get(&url).await;
        assert_eq!(status, 200, "{promql}: {body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "success", "{promql}: {body}");
        json["data"]["result"].clone()
    }

    async fn query(&self, client: &Client, promql: &str) -> Value {
        self.query_at(client, promql, None).await
    }

    /// Polls `promql` (bounded by `timeout`) until `done` holds for its result; returns the
    /// last result.
    async fn wait_for(
        &self,
        client: &Client,
        promql: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = client
                .try_get(&format!("http://{}/health", self.addr))
                .await;
            if ready == Some(200) {
                let result = self.query(client, promql).await;
                if done(&result) || Instant::now() >= deadline {
                    return result;
                }
            } else if Instant::now() >= deadline {
                return Value::Null;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// An instant-vector result as a map from the value of `label` to the sample value.
fn by(result: &Value, label: &str) -> BTreeMap<String, f64> {
    result
        .as_array()
        .map(|series| {
            series
                .iter()
                .map(|s| {
                    let key = s["metric"][label].as_str().unwrap_or_default().to_owned();
                    let value = s["value"][1].as_str().unwrap().parse().unwrap();
                    (key, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn expect(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Every `expr:` of a generated rules file (each is one JSON-quoted string), with its rule.
fn rule_exprs(yaml: &str) -> Vec<(String, String)> {
    let mut name = String::new();
    let mut out = Vec::new();
    for line in yaml.lines().map(str::trim) {
        if let Some(n) = line
            .strip_prefix("- alert: ")
            .or(line.strip_prefix("- record: "))
        {
            name = n.to_owned();
        }
        if let Some(q) = line.strip_prefix("expr: ") {
            out.push((name.clone(), serde_json::from_str::<String>(q).unwrap()));
        }
    }
    out
}

/// The lines of the ```promql blocks of one `## N.` section of docs/production.md.
fn section_promql(number: u32) -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/production.md"))
            .unwrap();
    let start = doc
        .find(&format!("\n## {number}. "))
        .unwrap_or_else(|| panic!("docs/production.md has a section {number}"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    prom::promql_blocks(&rest[..end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_behind_prometheus_and_victoria_metrics() {
    let (Some(_), Some(vmalert)) = (require_program("prometheus"), require_program("vmalert"))
    else {
        return;
    };
    let Some(store) = Store::start() else {
        return;
    };
    let client = Client::new();
    let dir = TempDir::new("fleet");

    // The generated files: windows of seconds so that alerts fire within the test, a
    // capacity so that the traffic forecast is generated too, and the replicas' region kept.
    let monitoring = Monitoring::new(
        Slo::new(JOB)
            .profile(Profile::Test)
            .rps_capacity(1_000_000.0)
            .fleet_label("region"),
    )
    .unwrap();
    let recording = dir.0.join("recording.rules.yml");
    let alerts = dir.0.join("alerts.rules.yml");
    std::fs::write(&recording, monitoring.recording_rules()).unwrap();
    std::fs::write(&alerts, monitoring.alerting_rules()).unwrap();

    // vmalert evaluates the generated alerts against the store and notifies a sink that
    // speaks Alertmanager's API.
    let notified: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Router::new().route(
        "/api/v2/alerts",
        post({
            let notified = notified.clone();
            move |body: String| async move {
                notified.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let sink_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_url = format!("http://{}", sink_listener.local_addr().unwrap());
    let sink_task = tokio::spawn(async move { axum::serve(sink_listener, sink).await });
    let vmalert_addr = format!("127.0.0.1:{}", free_port());
    let vmalert_log = std::fs::File::create(dir.0.join("vmalert.log")).unwrap();
    let _vmalert = Process(
        Command::new(&vmalert)
            .arg(format!("-rule={}", alerts.display()))
            .arg(format!("-datasource.url=http://{}", store.addr))
            .arg(format!("-notifier.url={sink_url}"))
            .arg(format!("-httpListenAddr={vmalert_addr}"))
            .arg("-evaluationInterval=1s")
            .stdout(Stdio::null())
            .stderr(vmalert_log)
            .spawn()
            .expect("vmalert starts"),
    );
    let vmalert_log = || std::fs::read_to_string(dir.0.join("vmalert.log")).unwrap_or_default();

    // Three replicas, and an HA pair of Prometheus servers scraping their admin ports with
    // the generated rules, both writing to the store.
    let mut replicas = Vec::new();
    // One replica in eu, two in us.
    for region in REGIONS {
        replicas.push(Replica::start(0, region).await);
    }
    let targets: Vec<String> = replicas.iter().map(|r| format!("'{}'", r.admin)).collect();
    let config = format!(
        "  - job_name: {JOB}\n    static_configs:\n      - targets: [{}]\nrule_files: ['{}', '{}']\nremote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 500ms\n      min_backoff: 50ms\n      max_backoff: 500ms\n",
        targets.join(", "),
        recording.display(),
        alerts.display(),
        store.addr
    );
    let Some(prometheus) = prom::start(&[], &config) else {
        return;
    };
    let Some(_prometheus_b) = prom::start(&[], &config) else {
        return;
    };

    // The public port never serves `/metrics`; the admin port does, and is not measured.
    for r in &replicas {
        let (status, _) = client.get(&format!("http://{}/metrics", r.public)).await;
        assert_eq!(status, 404, "the public port must not serve /metrics");
        let (status, body) = client.get(&format!("http://{}/metrics", r.admin)).await;
        assert_eq!(status, 200);
        assert!(body.contains("process_resident_memory_bytes"), "{body}");
    }

    // 1. Known traffic to each replica; the store's totals per route are exact.
    let sent = [(30, 3), (50, 5), (70, 7)];
    for (r, (users, errors)) in replicas.iter().zip(sent) {
        r.traffic(&client, users, errors).await;
    }
    let totals = format!("sum by (http_route) ({COUNT}{{job=\"{JOB}\"}})");
    let want = expect(&[(USERS, 150.0), (ERROR, 15.0), (UNMATCHED, 3.0)]);
    let got = store
        .wait_for(&client, &totals, Duration::from_secs(30), |r| {
            by(r, "http_route") == want
        })
        .await;
    assert_eq!(
        by(&got, "http_route"),
        want,
        "fleet totals in the store\n{}\n{}",
        prometheus.log(),
        store.log()
    );
    let per_instance = store
        .query(
            &client,
            &format!("sum by (instance) ({COUNT}{{job=\"{JOB}\"}})"),
        )
        .await;
    let want_instances: BTreeMap<String, f64> = replicas
        .iter()
        .zip(sent)
        .map(|(r, (u, e))| (r.admin.to_string(), (u + e + 1) as f64))
        .collect();
    assert_eq!(by(&per_instance, "instance"), want_instances);

    // Per region too: the replicas' global label is on every series.
    let per_region = store
        .query(
            &client,
            &format!("sum by (region) ({COUNT}{{job=\"{JOB}\"}})"),
        )
        .await;
    assert_eq!(
        by(&per_region, "region"),
        expect(&[("eu", 34.0), ("us", 134.0)])
    );

    // The fleet-wide recording rules arrive in the store once per route and region (the HA
    // pair writes the same series), without `instance`.
    let rates = format!("routemeter:http_requests:rate5m{{job=\"{JOB}\"}}");
    let got = store
        .wait_for(&client, &rates, Duration::from_secs(20), |r| {
            r.as_array().is_some_and(|a| a.len() == 6)
        })
        .await;
    let series = got.as_array().unwrap();
    assert_eq!(series.len(), 6, "one series per route and region: {got}");
    for s in series {
        let labels = s["metric"].as_object().unwrap();
        let mut keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["__name__", "http_route", "job", "region"], "{s}");
    }
    let with_instance = store
        .query(
            &client,
            "count({__name__=~\"routemeter:.+\",instance!=\"\"})",
        )
        .await;
    assert_eq!(
        with_instance,
        serde_json::json!([]),
        "no rule keeps instance"
    );

    // 2. A replica dies: the service-down alert names exactly it, in Prometheus, in the store
    // (Prometheus writes its ALERTS series there) and in vmalert, while the fleet's rates
    // carry on from the others, which keep receiving requests.
    let dead = replicas.pop().unwrap();
    let dead_instance = dead.admin.to_string();
    let dead_port = dead.admin.port();
    let dead_before = [dead.own_count(USERS), dead.own_count(ERROR)];
    assert_eq!(dead_before, [70, 7]);
    dead.stop().await;
    let died_at = unix_now();
    let trickled = Arc::new(AtomicU64::new(0));
    // Stopped by a flag, not aborted: an aborted request may reach the server uncounted here.
    let stop_trickle = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let stop = stop_trickle.clone();
        let (urls, trickled) = (
            replicas
                .iter()
                .map(|r| format!("http://{}/users/7", r.public))
                .collect::<Vec<_>>(),
            trickled.clone(),
        );
        tokio::spawn(async move {
            let client = Client::new();
            while !stop.load(Ordering::SeqCst) {
                for url in &urls {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    assert_eq!(client.get(url).await.0, 200);
                    trickled.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let firing = "ALERTS{alertname=\"HTTPServiceDown\",alertstate=\"firing\"}";
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut named = BTreeMap::new();
    while Instant::now() < deadline {
        named = by(&prometheus.query(&client, firing).await, "instance");
        if !named.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        named,
        expect(&[(&dead_instance, 1.0)]),
        "{}",
        prometheus.log()
    );
    let in_store = store
        .wait_for(&client, firing, Duration::from_secs(10), |r| {
            !by(r, "instance").is_empty()
        })
        .await;
    assert_eq!(by(&in_store, "instance"), expect(&[(&dead_instance, 1.0)]));
    // vmalert, from the store alone, names the same instance and notifies. (Its rule waits
    // for the store's copy of the scrapes; on a loaded 2-core machine, with the rest of the
    // suite running beside it, that took longer than 20 s once.)
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut vm_alerts = Vec::new();
    while Instant::now() < deadline {
        let url = format!("http://{vmalert_addr}/api/v1/alerts");
        if client.try_get(&url).await == Some(200) {
            let (_, text) = client.get(&url).await;
            let json: Value = serde_json::from_str(&text).unwrap();
            vm_alerts = json["data"]["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a["name"] == "HTTPServiceDown" && a["state"] == "firing")
                .map(|a| {
                    a["labels"]["instance"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            if !vm_alerts.is_empty()
                && notified
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|n| n.contains(&dead_instance))
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        vm_alerts,
        std::slice::from_ref(&dead_instance),
        "{}",
        vmalert_log()
    );
    assert!(
        notified
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.contains("HTTPServiceDown") && n.contains(&dead_instance)),
        "vmalert notified the sink: {:?}",
        notified.lock().unwrap()
    );
    // Once the dead replica's own series have gone stale (the 4 s window of the test
    // profile), its region's rate is still there, from the region's live replica.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let live_rate = format!(
        "routemeter:http_requests:rate5m{{job=\"{JOB}\",region=\"us\",http_route=\"{USERS}\"}}"
    );
    let rate = by(&store.query(&client, &live_rate).await, "http_route");
    assert!(
        rate.get(USERS).is_some_and(|v| *v > 0.0),
        "the fleet rate carries on: {rate:?}"
    );
    let gone_for = (unix_now() - died_at).floor() as u64;
    let samples = store
        .query(
            &client,
            &format!("count_over_time({live_rate}[{gone_for}s])"),
        )
        .await;
    let samples = by(&samples, "http_route")[USERS];
    assert!(
        samples >= (gone_for / 2) as f64,
        "the fleet rate kept being recorded while a replica was down: {samples} samples in {gone_for} s"
    );
    stop_trickle.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), trickle)
        .await
        .expect("the trickle stops after its request in flight")
        .unwrap();
    let trickled = trickled.load(Ordering::SeqCst);

    // 3. The replica restarts on its old port (the same `instance`), its counters from zero.
    // First the store settles on the totals so far (the dead replica's series are stale:
    // its last values count through `last_over_time`); from then on, `increase()` must count
    // the new requests exactly once, across the reset.
    let users_so_far = 150.0 + trickled as f64;
    let want = expect(&[(USERS, users_so_far), (ERROR, 15.0), (UNMATCHED, 3.0)]);
    let last_totals = format!("sum by (http_route) (last_over_time({COUNT}{{job=\"{JOB}\"}}[1m]))");
    let got = store
        .wait_for(&client, &last_totals, Duration::from_secs(20), |r| {
            by(r, "http_route") == want
        })
        .await;
    assert_eq!(by(&got, "http_route"), want, "totals before the restart");
    let baseline = unix_now() + 1.0;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let restarted = Replica::start(dead_port, REGIONS[2]).await;
    assert_eq!(restarted.admin.to_string(), dead_instance);
    assert_eq!(
        [restarted.own_count(USERS), restarted.own_count(ERROR)],
        [0, 0],
        "a restarted replica starts from zero"
    );
    restarted.traffic(&client, 20, 2).await;
    for r in &replicas {
        r.traffic(&client, 10, 1).await;
    }
    assert_eq!(
        [restarted.own_count(USERS), restarted.own_count(ERROR)],
        [20, 2]
    );
    // The store sees the reset: the restarted instance's counter is back at 20 + 2.
    let want_sum = expect(&[
        (USERS, users_so_far + 40.0 - 70.0),
        (ERROR, 15.0 + 4.0 - 7.0),
        (UNMATCHED, 2.0),
    ]);
    let got = store
        .wait_for(&client, &totals, Duration::from_secs(20), |r| {
            by(r, "http_route") == want_sum
        })
        .await;
    assert_eq!(
        by(&got, "http_route"),
        want_sum,
        "the sum of the counters drops by what the restarted replica had counted"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let now = unix_now().floor();
    let window = (now - baseline).floor() as u64;
    let increase = store
        .query_at(
            &client,
            &format!("sum by (http_route) (increase({COUNT}{{job=\"{JOB}\"}}[{window}s]))"),
            Some(now as u64),
        )
        .await;
    assert_eq!(
        by(&increase, "http_route"),
        expect(&[(USERS, 40.0), (ERROR, 4.0), (UNMATCHED, 0.0)]),
        "increase() over {window}s across the restart counts each request once"
    );
    // For comparison only (not asserted: it varies with where the scrapes fall), PromQL's
    // increase() over the same window in Prometheus, which reads only the samples inside the
    // window (none of the restarted replica's from before it) and extrapolates.
    let (_, extrapolated) = client
        .get(&format!(
            "http://{}/api/v1/query?time={now}&query={}",
            prometheus.addr,
            encode(&format!(
                "sum by (http_route) (increase({COUNT}{{job=\"{JOB}\"}}[{window}s]))"
            ))
        ))
        .await;
    eprintln!("Prometheus's increase() over {window}s: {extrapolated}");
    let up = store
        .query(&client, &format!("up{{job=\"{JOB}\"}} == 1"))
        .await;
    assert_eq!(
        by(&up, "instance").len(),
        3,
        "all three replicas are up again: {up}"
    );

    // 4. History from the store: the generated forecasts (without their thresholds) and
    // the recipes of docs/production.md §6 run there.
    for (name, expr) in rule_exprs(&monitoring.alerting_rules()) {
        if !name.ends_with("Forecast") {
            continue;
        }
        let forecast = expr.rsplit_once(" > ").unwrap().0;
        let result = store.query(&client, forecast).await;
        let series = result.as_array().unwrap();
        assert!(!series.is_empty(), "{name}: {forecast} has no result");
        for s in series {
            let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
            assert!(v.is_finite(), "{name}: {s}");
            if name == "HTTPServiceTrafficForecast" {
                assert!(s["metric"].get("instance").is_none(), "{s}");
            }
        }
    }
    let recipes = section_promql(6);
    assert!(recipes.len() >= 3, "{recipes:?}");
    for recipe in &recipes {
        store.query(&client, recipe).await;
    }
    let memory = recipes
        .iter()
        .find(|r| r.starts_with("predict_linear(process_resident_memory_bytes"))
        .unwrap();
    assert_eq!(
        store.query(&client, memory).await.as_array().unwrap().len(),
        3,
        "a memory forecast per replica"
    );

    // vmalert loaded every generated alert and evaluates each without error.
    let (status, text) = client
        .get(&format!("http://{vmalert_addr}/api/v1/rules"))
        .await;
    assert_eq!(status, 200, "{text}");
    let groups: Value = serde_json::from_str(&text).unwrap();
    let rules: Vec<&Value> = groups["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    let generated = rule_exprs(&monitoring.alerting_rules()).len();
    assert_eq!(rules.len(), generated, "{text}");
    for rule in rules {
        assert_eq!(rule["health"], "ok", "{rule}");
        assert_eq!(rule["lastError"], "", "{rule}");
        assert!(
            rule["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001")),
            "{rule}"
        );
    }

    for r in replicas {
        r.stop().await;
    }
    restarted.stop().await;
    sink_task.abort();
}

/// The admin-listener example on its own (no external programs): `/metrics` is on the admin
/// port only, and scraping it is not traffic of the application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_port_never_serves_metrics() {
    let client = Client::new();
    let replica = Replica::start(0, "eu").await;
    assert_ne!(replica.public.port(), replica.admin.port());
    let (status, _) = client
        .get(&format!("http://{}/metrics", replica.public))
        .await;
    assert_eq!(status, 404, "the public port must not serve /metrics");
    replica.traffic(&client, 2, 1).await;
    let mut scrape = String::new();
    for _ in 0..3 {
        let (status, body) = client
            .get(&format!("http://{}/metrics", replica.admin))
            .await;
        assert_eq!(status, 200);
        scrape = body;
    }
    let count = |route: &str| {
        scrape
            .lines()
            .filter(|l| l.starts_with(COUNT) && l.contains(&format!("http_route=\"{route}\"")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        [
            count(USERS),
            count(ERROR),
            count(UNMATCHED),
            count("/metrics")
        ],
        [2, 1, 1, 0],
        "the public 404 is an unmatched request; the scrapes are not counted\n{scrape}"
    );
    assert!(
        scrape
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.contains("region=\"eu\"")),
        "{scrape}"
    );
    replica.stop().await;
}
