//! The live stats page: its JSON agrees with `/metrics`, and in a real browser (Debian's
//! Chromium driven through ChromeDriver's W3C WebDriver protocol) the page loads without a
//! console error, lists the quickstart's routes and follows traffic without a reload.

use crate::common;
use crate::quickstart_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{Client, Process, TempDir, free_port, metrics, require_program};
use quickstart_server::RunningApp;
use routemeter::prometheus::PrometheusMetrics;
use routemeter::testing::Snapshot;
use serde_json::{Value, json};

/// Every route of the quickstart, as (method, path to request, route template).
const QUICKSTART: &[(&str, &str, &str)] = &[
    ("GET", "/", "/"),
    ("GET", "/users/42", "/users/{id}"),
    ("POST", "/users", "/users"),
    ("GET", "/slow", "/slow"),
    ("GET", "/error", "/error"),
    ("GET", "/panic", "/panic"),
    ("GET", "/stream", "/stream"),
    ("GET", "/metrics", "/metrics"),
];

async fn hit_every_route(client: &Client, base: &str) {
    for (method, path, _) in QUICKSTART {
        client.request(method, &format!("{base}{path}"), "x").await;
    }
}

/// `(method, route) → total` from the page's JSON.
fn json_totals(v: &Value) -> BTreeMap<(String, String), u64> {
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["route"].as_str().unwrap().to_owned(),
                ),
                r["total"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `(method, route) → (count, errors)` for every duration series pair in an exposition.
fn metrics_totals(text: &str, metrics: &PrometheusMetrics) -> BTreeMap<(String, String), u64> {
    let snap = Snapshot::from_prometheus_text(text, metrics.naming()).unwrap();
    let naming = metrics.naming();
    let mut pairs = BTreeMap::new();
    for s in snap.series() {
        if s.name() != naming.duration() {
            continue;
        }
        let (Some(m), Some(r)) = (s.label(naming.method_key()), s.label(naming.route_key())) else {
            continue;
        };
        pairs.insert((m.to_owned(), r.to_owned()), 0);
    }
    for ((m, r), count) in &mut pairs {
        *count = snap.endpoint(m, r).count();
    }
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_totals_equal_metrics_counts_at_the_same_moment() {
    let metrics = metrics();
    let app = RunningApp::start(&metrics).await;
    let client = Client::new();
    let base = app.base();
    for _ in 0..3 {
        hit_every_route(&client, &base).await;
    }
    // Nothing in flight now: the JSON's totals and the exposition are two reads of one state.
    let json: Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    let text = metrics.render();
    let from_json = json_totals(&json);
    assert_eq!(from_json, metrics_totals(&text, &metrics));
    assert_eq!(from_json.len(), QUICKSTART.len(), "{from_json:?}");
    assert!(from_json.values().all(|&n| n == 3), "{from_json:?}");
    let snap = Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
    for r in json["routes"].as_array().unwrap() {
        let stats = snap.endpoint(r["method"].as_str().unwrap(), r["route"].as_str().unwrap());
        assert_eq!(r["errors_total"].as_u64(), Some(stats.errors()), "{r}");
        for pair in r["error_totals"].as_array().unwrap() {
            assert_eq!(
                pair[1].as_u64(),
                Some(stats.error_type(pair[0].as_str().unwrap())),
                "{r}"
            );
        }
    }
    let error = &json["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "/panic")
        .unwrap()["error_totals"];
    assert_eq!(error, &json!([["panic", 3]]));

    // Over HTTP: the page's own requests are not measured, and every response carries the
    // security headers.
    for (path, content_type) in [
        ("/stats", "text/html; charset=utf-8"),
        ("/stats.json", "application/json"),
        ("/stats.js", "text/javascript; charset=utf-8"),
        ("/stats.css", "text/css; charset=utf-8"),
    ] {
        let req = http::Request::get(format!("{base}{path}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let headers = raw_headers(req).await;
        assert_eq!(headers.get("content-type").unwrap(), content_type, "{path}");
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
    }
    let (status, body) = client.get(&format!("{base}/stats.json?since=1")).await;
    assert_eq!(status, 200);
    let after: Value = serde_json::from_str(&body).unwrap();
    // The page is merged before the layer, so its own requests are measured like any route
    // (the one being answered is still in flight).
    let mut expected = from_json.clone();
    for path in ["/stats", "/stats.json", "/stats.js", "/stats.css"] {
        expected.insert(("GET".to_owned(), path.to_owned()), 1);
    }
    assert_eq!(json_totals(&after), expected);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_prometheus_names_give_the_same_table() {
    use routemeter::{Naming, NamingScheme};
    let naming = Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop");
    let metrics = common::metrics_named(naming.clone());
    let app = RunningApp::start(&metrics).await;
    let client = Client::new();
    for _ in 0..2 {
        hit_every_route(&client, &app.base()).await;
    }
    let json: Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    let text = metrics.render();
    assert_eq!(json_totals(&json), metrics_totals(&text, &metrics));
    assert_eq!(json_totals(&json).len(), QUICKSTART.len());
    // The same totals from the scheme's own request counter.
    let snap = Snapshot::from_prometheus_text(&text, &naming).unwrap();
    for r in json["routes"].as_array().unwrap() {
        let labels = |status: &str| {
            snap.counter(
                naming.requests_total().unwrap(),
                &[
                    ("method", r["method"].as_str().unwrap()),
                    ("endpoint", r["route"].as_str().unwrap()),
                    ("status", status),
                    // The quickstart's tenant label: these requests name none.
                    ("tenant", "_OTHER"),
                ],
            )
            .unwrap_or(0)
        };
        let total: u64 = ["200", "201", "500"].iter().map(|s| labels(s)).sum();
        assert_eq!(r["total"].as_u64(), Some(total), "{r}");
        // Without an error_type label, failures are the 5xx statuses.
        assert_eq!(r["errors_total"].as_u64(), Some(labels("500")), "{r}");
    }
    app.stop().await;
}

async fn raw_headers(req: http::Request<http_body_util::Full<bytes::Bytes>>) -> http::HeaderMap {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let resp = client.request(req).await.unwrap();
    let headers = resp.headers().clone();
    resp.into_body().collect().await.unwrap();
    headers
}

/// A Chromium session driven through ChromeDriver on a loopback port.
struct Browser {
    client: Client,
    url: String,
    /// ChromeDriver's port and the session id, to end the session when a test fails.
    port: u16,
    session: String,
    open: bool,
    _driver: Process,
    _profile: TempDir,
}

impl Drop for Browser {
    /// Ends the session (and with it Chromium) if the test did not, so that a failed test
    /// leaves no browser behind when ChromeDriver is killed.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if !self.open {
            return;
        }
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium, or `None` (after saying why) when they
    /// are not installed.
    async fn start(tag: &str) -> Option<Self> {
        let chromium = require_program("chromium")?;
        let chromedriver = require_program("chromedriver")?;
        let port = free_port();
        let driver = Process(
            std::process::Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let client = Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while client.try_get(&format!("{base}/status")).await != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = TempDir::new(tag);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.0.display()),
                    "--window-size=1200,560", "--force-device-scale-factor=1",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let (status, body) = client
            .request("POST", &format!("{base}/session"), &caps.to_string())
            .await;
        assert_eq!(status, 200, "new session: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let id = v["value"]["sessionId"].as_str().unwrap();
        Some(Self {
            client,
            url: format!("{base}/session/{id}"),
            port,
            session: id.to_owned(),
            open: true,
            _driver: driver,
            _profile: profile,
        })
    }

    async fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, text) = self
            .client
            .request(method, &format!("{}{path}", self.url), &body.to_string())
            .await;
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["value"].take()
    }

    async fn goto(&self, url: &str) {
        self.command("POST", "/url", &json!({ "url": url })).await;
    }

    /// Runs `script` in the page and returns its result.
    async fn eval(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            &json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Browser console entries since the last call.
    async fn console(&self) -> Vec<Value> {
        let v = self
            .command("POST", "/se/log", &json!({ "type": "browser" }))
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    async fn screenshot(&self) -> Vec<u8> {
        let v = self.command("GET", "/screenshot", &json!({})).await;
        base64_decode(v.as_str().unwrap()).unwrap()
    }

    /// Evaluates `script` until `done` accepts its result, or fails after 20 s.
    async fn wait_for(&self, what: &str, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(script).await;
            if done(&v) {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; last: {v}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn quit(mut self) {
        let (status, body) = self.client.request("DELETE", &self.url, "").await;
        assert_eq!(status, 200, "{body}");
        self.open = false;
    }
}

/// The rows of the page's table: `(method, route) → total` as displayed.
const ROWS: &str = "return Array.from(document.querySelectorAll('#routes tbody tr')).map(tr => \
    [tr.dataset.method, tr.querySelector('th').textContent, tr.querySelector('td.total').textContent])";

/// `totals` without the live page's own routes (`/stats`, `/stats.json`, …).
fn without_page(mut totals: BTreeMap<(String, String), u64>) -> BTreeMap<(String, String), u64> {
    totals.retain(|(_, route), _| !route.starts_with("/stats"));
    totals
}

fn page_totals(v: &Value) -> BTreeMap<(String, String), u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r[0].as_str().unwrap().to_owned(),
                    r[1].as_str().unwrap().to_owned(),
                ),
                r[2].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn assert_no_console_errors(entries: &[Value]) {
    let errors: Vec<&Value> = entries
        .iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_traffic_and_agrees_with_the_json_and_metrics() {
    let Some(browser) = Browser::start("live-page").await else {
        return;
    };
    let metrics = metrics();
    let app = RunningApp::start(&metrics).await;
    let client = Client::new();
    let base = app.base();
    hit_every_route(&client, &base).await;

    browser.goto(&format!("{base}/stats")).await;
    // The quickstart's routes, and the page's own four (it is merged before the layer, so the
    // browser's requests for it are measured too).
    let rows = browser
        .wait_for("the quickstart's routes", ROWS, |v| {
            v.as_array()
                .is_some_and(|a| a.len() == QUICKSTART.len() + 4)
        })
        .await;
    let listed = page_totals(&rows);
    for path in ["/stats", "/stats.json", "/stats.js", "/stats.css"] {
        assert!(
            listed.contains_key(&("GET".to_owned(), path.to_owned())),
            "{path}: {listed:?}"
        );
    }
    for (method, _, route) in QUICKSTART {
        assert_eq!(
            listed.get(&((*method).to_owned(), (*route).to_owned())),
            Some(&1),
            "{method} {route}: {listed:?}"
        );
    }
    // Table semantics: a caption, column headers and a row header per route.
    let semantics = browser
        .eval(
            "const t = document.querySelector('#routes'); return [!!t.caption, \
             t.querySelectorAll('thead th[scope=col]').length, \
             t.querySelectorAll('tbody th[scope=row]').length, \
             document.querySelectorAll('#routes canvas[role=img][aria-label]').length]",
        )
        .await;
    let shown = QUICKSTART.len() + 4;
    assert_eq!(semantics, json!([true, 9, shown, shown * 6]));
    browser.eval("window.notReloaded = true; return null").await;
    let updates_before: u64 = browser
        .eval("return document.body.dataset.updates")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // More traffic while the page is open.
    for i in 0..20 {
        client.get(&format!("{base}/users/{i}")).await;
    }
    for _ in 0..4 {
        client.get(&format!("{base}/error")).await;
    }
    browser
        .wait_for("the new counts", ROWS, |v| {
            let t = page_totals(v);
            t.get(&("GET".into(), "/users/{id}".into())) == Some(&21)
                && t.get(&("GET".into(), "/error".into())) == Some(&5)
        })
        .await;
    assert_eq!(
        browser
            .eval("return [window.notReloaded === true, Number(document.body.dataset.updates)]")
            .await[0],
        json!(true),
        "the page reloaded"
    );
    let updates_after = browser
        .eval("return Number(document.body.dataset.updates)")
        .await;
    assert!(updates_after.as_u64().unwrap() > updates_before);

    // The page, the JSON and /metrics agree. /metrics counts its own request only after
    // answering it, so the JSON read after it has one more there.
    let (_, exposition) = client.get(&format!("{base}/metrics")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = client.get(&format!("{base}/stats.json")).await;
    // The page's own routes move with every poll of the open page: compare the others.
    let json_view = without_page(json_totals(&serde_json::from_str(&body).unwrap()));
    let mut from_metrics = without_page(metrics_totals(&exposition, &metrics));
    *from_metrics
        .get_mut(&("GET".to_owned(), "/metrics".to_owned()))
        .unwrap() += 1;
    assert_eq!(json_view, from_metrics);
    browser
        .wait_for("the page to show the JSON's totals", ROWS, |v| {
            without_page(page_totals(v)) == json_view
        })
        .await;

    // The history the page pieced together from its polls is the server's, sample for sample.
    browser
        .wait_for(
            "a few samples",
            "return Number(document.body.dataset.seq)",
            |v| v.as_u64().is_some_and(|s| s >= 3),
        )
        .await;
    let page = browser
        .eval(
            "return [Number(document.body.dataset.seq), Array.from(document.querySelectorAll('#routes tbody tr')) \
             .map(tr => [tr.dataset.method, tr.dataset.route, Number(tr.dataset.samples)])]",
        )
        .await;
    let (_, body) = client.get(&format!("{base}/stats.json")).await;
    let server: Value = serde_json::from_str(&body).unwrap();
    let behind = server["seq"].as_u64().unwrap() - page[0].as_u64().unwrap();
    for row in page[1].as_array().unwrap() {
        let r = server["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["method"] == row[0] && r["route"] == row[1])
            .unwrap();
        let kept = r["history"]["rate"].as_array().unwrap().len() as u64;
        assert_eq!(row[2].as_u64(), Some(kept - behind), "{row} vs {r}");
    }

    // The summary adds up all routes: with failing requests among the recent ones, it shows
    // an error percentage.
    for _ in 0..2 {
        client.get(&format!("{base}/error")).await;
        client.get(&format!("{base}/")).await;
    }
    let summary = browser
        .wait_for(
            "the summary",
            "return document.getElementById('summary').textContent",
            |v| {
                v.as_str().is_some_and(|t| {
                    t.contains("% errors") && !t.contains(" 0% errors") && !t.starts_with('–')
                })
            },
        )
        .await;
    let summary = summary.as_str().unwrap();
    let parts: Vec<&str> = summary.split(" · ").collect();
    assert_eq!(parts.len(), 3, "{summary}");
    assert!(
        parts[0].ends_with(" req/s") && parts[2].ends_with(" in flight"),
        "{summary}"
    );
    assert!(
        parts[1].ends_with("% errors") && parts[1] != "0% errors",
        "{summary}"
    );

    // The errors column names the error types.
    let breakdown = browser
        .eval(
            "return Array.from(document.querySelectorAll('#routes tbody tr')).filter(tr => \
             tr.dataset.route === '/error').map(tr => tr.querySelector('.breakdown').textContent)",
        )
        .await;
    assert!(
        breakdown[0].as_str().unwrap().starts_with("500 "),
        "{breakdown}"
    );
    assert_no_console_errors(&browser.console().await);
    if let Some(path) = std::env::var_os("ROUTEMETER_LIVE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await).unwrap();
    }
    browser.quit().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_route_names_are_shown_as_text() {
    let Some(browser) = Browser::start("live-hostile").await else {
        return;
    };
    const NAMES: &[&str] = &[
        "/\"quoted\" & 'single'",
        "/<script>alert(1)</script>",
        "/<img src=x onerror=alert(2)>",
        "/line\u{2028}separator\nand newline\\",
    ];
    let metrics = metrics();
    let layer = metrics
        .layer_builder()
        .route_fn(|req| {
            if req.path() == "/hold" {
                return Some("/hold");
            }
            let i: usize = req.path().strip_prefix("/r/")?.parse().ok()?;
            NAMES.get(i).copied()
        })
        .build();
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let app = Router::new()
        .route("/r/{i}", get(|| async { "ok" }))
        .route(
            "/hold",
            get({
                let release = std::sync::Arc::clone(&release);
                move || async move { release.notified().await }
            }),
        )
        .layer(layer)
        .merge(metrics.live_page_at("/admin/live").unwrap());
    let (addr, server) = common::serve_on_loopback(app);
    let client = Client::new();
    for i in 0..NAMES.len() {
        client.get(&format!("http://{addr}/r/{i}")).await;
    }

    // A request held open until the page has shown it in flight.
    let held = tokio::spawn({
        let url = format!("http://{addr}/hold");
        async move { Client::new().get(&url).await }
    });

    browser.goto(&format!("http://{addr}/admin/live")).await;
    const HOLD: &str = "return Array.from(document.querySelectorAll('#routes tbody tr')).filter(tr => \
        tr.dataset.route === '/hold').map(tr => [tr.querySelector('td.in_flight .v').textContent, \
        tr.querySelector('td.total').textContent])";
    browser
        .wait_for("the held request in flight", HOLD, |v| {
            v == &json!([["1", "0"]])
        })
        .await;
    release.notify_one();
    held.await.unwrap();
    browser
        .wait_for("the held request done", HOLD, |v| v == &json!([["0", "1"]]))
        .await;
    let rows = browser
        .wait_for("the hostile routes", ROWS, |v| {
            v.as_array().is_some_and(|a| a.len() == NAMES.len() + 1)
        })
        .await;
    let shown: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .filter(|r| *r != "/hold")
        .collect();
    let mut expected = NAMES.to_vec();
    expected.sort_unstable();
    let mut sorted = shown.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    // Nothing was parsed as markup: the page's one script, no image, no dialog.
    let dom = browser
        .eval("return [document.querySelectorAll('script').length, document.querySelectorAll('img').length]")
        .await;
    assert_eq!(dom, json!([1, 0]));
    assert_no_console_errors(&browser.console().await);
    browser.quit().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_routes_show_a_page_at_a_time_and_filter() {
    let Some(browser) = Browser::start("live-thousand").await else {
        return;
    };
    let metrics = metrics();
    let layer = metrics
        .layer_builder()
        .route_fn(|req| {
            let i: u32 = req.path().strip_prefix("/r/")?.parse().ok()?;
            Some(format!("/route-{i:04}"))
        })
        .build();
    let app = Router::new()
        .route("/r/{i}", get(|| async { "ok" }))
        .layer(layer)
        .merge(metrics.live_page());
    let (addr, server) = common::serve_on_loopback(app);
    let client = Client::new();
    for i in 0..1000 {
        client.get(&format!("http://{addr}/r/{i}")).await;
    }
    // Route 7 keeps getting traffic, so it sorts first by request rate.
    let busy = tokio::spawn(async move {
        let client = Client::new();
        loop {
            client.get(&format!("http://{addr}/r/7")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    browser.goto(&format!("http://{addr}/stats")).await;
    const VIEW: &str = "const rows = Array.from(document.querySelectorAll('#routes tbody tr')); \
        const shown = rows.filter(tr => !tr.hidden); \
        return [rows.length, shown.length, shown.length ? shown[0].dataset.route : null, \
        document.getElementById('shown').textContent]";
    let view = browser
        .wait_for("a thousand rows, the busiest first", VIEW, |v| {
            v[0] == 1000 && v[2] == "/route-0007" && v[1] == 100
        })
        .await;
    assert_eq!(view[3], "showing 100 of 1000");
    busy.abort();
    let view = browser
        .eval(&format!(
            "const f = document.getElementById('filter'); f.value = 'route-09'; \
             f.dispatchEvent(new Event('input')); {VIEW}"
        ))
        .await;
    assert_eq!(view[1], 100);
    assert_eq!(view[3], "showing 100 of 100 matching (1000 in all)");
    let view = browser
        .eval(&format!(
            "const f = document.getElementById('filter'); f.value = 'ROUTE-099'; \
             f.dispatchEvent(new Event('input')); {VIEW}"
        ))
        .await;
    assert_eq!(view[1], 10);
    assert_no_console_errors(&browser.console().await);
    browser.quit().await;
    server.abort();
}

/// Under the dotted OpenTelemetry naming (`http.route`, which the exposition writes
/// `http_route`) the page has every route of a real server, each with its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dotted_naming_gives_the_same_table() {
    use routemeter::{Naming, NamingScheme};
    let metrics = common::metrics_named(Naming::new(NamingScheme::OpenTelemetryDotted));
    let app = RunningApp::start(&metrics).await;
    let client = Client::new();
    for _ in 0..2 {
        hit_every_route(&client, &app.base()).await;
    }
    let json: Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    let totals = json_totals(&json);
    let expected: BTreeMap<(String, String), u64> = QUICKSTART
        .iter()
        .map(|(method, _, route)| (((*method).to_owned(), (*route).to_owned()), 2))
        .collect();
    assert_eq!(totals, expected);
    app.stop().await;
}

/// With a live label, the page keeps each tenant's rows apart, shows the tenant beside the
/// route (as text, whatever it holds), and its filter finds a tenant by value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_keeps_tenants_apart_and_filters_by_tenant() {
    let Some(browser) = Browser::start("live-tenants").await else {
        return;
    };
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .live_label("tenant")
        .unwrap()
        .build()
        .unwrap();
    let layer = metrics
        .layer_builder()
        .request_label("tenant", 10, common::tenant)
        .unwrap()
        .build();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .layer(layer)
        .merge(metrics.live_page());
    let (addr, server) = common::serve_on_loopback(app);
    let client = Client::new();
    let hostile = "<b>x</b>\"q";
    for (path, tenant, n) in [
        ("/a", "acme", 3),
        ("/b", "acme", 1),
        ("/a", "bolt", 2),
        ("/a", hostile, 1),
    ] {
        for _ in 0..n {
            let req = http::Request::get(format!("http://{addr}{path}"))
                .header("x-tenant", tenant)
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap();
            assert_eq!(client.send(req).await.0, 200);
        }
    }
    // The JSON: a row per route, method and tenant, with its own count.
    let json: Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    let rows: Vec<(String, String, u64)> = json["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["route"].as_str().unwrap().to_owned(),
                r["labels"].as_array().map_or_else(String::new, |pairs| {
                    let pair = |p: &Value| {
                        format!("{}={}", p[0].as_str().unwrap(), p[1].as_str().unwrap())
                    };
                    pairs.iter().map(pair).collect::<Vec<_>>().join(", ")
                }),
                r["total"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |route: &str, labels: &str, n: u64| (route.to_owned(), labels.to_owned(), n);
    assert_eq!(
        rows,
        [
            row("/a", &format!("tenant={hostile}"), 1),
            row("/a", "tenant=acme", 3),
            row("/a", "tenant=bolt", 2),
            row("/b", "tenant=acme", 1),
        ]
    );

    browser.goto(&format!("http://{addr}/stats")).await;
    const VIEW: &str = "const rows = Array.from(document.querySelectorAll('#routes tbody tr')); \
        const shown = rows.filter(tr => !tr.hidden); \
        return [rows.length, shown.map(tr => tr.dataset.route + ' ' + tr.dataset.labels), \
        document.querySelectorAll('#routes b').length, \
        rows.map(tr => tr.querySelector('th').textContent)]";
    let view = browser.wait_for("four rows", VIEW, |v| v[0] == 4).await;
    // The hostile value is text, not markup.
    assert_eq!(view[2], 0, "{view}");
    let headers: Vec<String> = serde_json::from_value(view[3].clone()).unwrap();
    assert!(
        headers.contains(&format!("/atenant={hostile}")),
        "{headers:?}"
    );
    let view = browser
        .eval(&format!(
            "const f = document.getElementById('filter'); f.value = 'acme'; \
             f.dispatchEvent(new Event('input')); {VIEW}"
        ))
        .await;
    let mut shown: Vec<String> = serde_json::from_value(view[1].clone()).unwrap();
    shown.sort();
    assert_eq!(shown, ["/a tenant=acme", "/b tenant=acme"]);
    let view = browser
        .eval(&format!(
            "const f = document.getElementById('filter'); f.value = 'BOLT'; \
             f.dispatchEvent(new Event('input')); {VIEW}"
        ))
        .await;
    assert_eq!(view[1], serde_json::json!(["/a tenant=bolt"]));
    assert_no_console_errors(&browser.console().await);
    browser.quit().await;
    server.abort();
}

/// Serves a one-route app (`/{route}`) with its live page on `listener` until `stop` fires.
fn serve_small_app(
    listener: tokio::net::TcpListener,
    metrics: &PrometheusMetrics,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .layer(metrics.layer())
        .merge(metrics.live_page());
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop.await;
            })
            .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_rides_out_a_server_restart_without_a_reload() {
    let Some(browser) = Browser::start("live-restart").await else {
        return;
    };
    let client = Client::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = serve_small_app(listener, &first, stopped);
    for _ in 0..3 {
        client.get(&format!("http://{addr}/a")).await;
    }
    browser.goto(&format!("http://{addr}/stats")).await;
    browser
        .wait_for("the first server's counts", ROWS, |v| {
            page_totals(v) == BTreeMap::from([(("GET".into(), "/a".into()), 3)])
        })
        .await;
    browser.eval("window.notReloaded = true; return null").await;

    // The server goes away: the page says so.
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(first);
    browser
        .wait_for(
            "the page to notice",
            "return [document.getElementById('status').className, document.getElementById('conn').textContent]",
            |v| v[0] == "down" && v[1].as_str().is_some_and(|t| t.contains("disconnected")),
        )
        .await;

    // A new server (new recorder, samples numbered from 1 again) on the same address: the page
    // drops the old rows and follows the new one.
    let second = metrics();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = serve_small_app(listener, &second, stopped);
    for _ in 0..2 {
        client.get(&format!("http://{addr}/b")).await;
    }
    browser
        .wait_for("the second server's counts", ROWS, |v| {
            page_totals(v) == BTreeMap::from([(("GET".into(), "/b".into()), 2)])
        })
        .await;
    let after = browser
        .eval("return [window.notReloaded === true, document.getElementById('status').className]")
        .await;
    assert_eq!(after, json!([true, ""]));
    assert_eq!(
        browser
            .eval("return document.getElementById('conn').textContent")
            .await,
        "Live stats reconnected."
    );
    // The only console entries are the failed polls while the server was away.
    let entries = browser.console().await;
    assert!(
        entries.iter().all(|e| e["level"] != "SEVERE"
            || e["message"]
                .as_str()
                .is_some_and(|m| m.contains("stats.json"))),
        "{entries:#?}"
    );
    browser.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Decodes standard base64 (with padding), as WebDriver sends screenshots.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

#[test]
fn base64_decodes_known_values_and_refuses_garbage() {
    assert_eq!(base64_decode("").unwrap(), b"");
    assert_eq!(base64_decode("Zg==").unwrap(), b"f");
    assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
    assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
    for bad in ["Zg=", "Z===", "Zg==Zm9v", "Zm9!", "Zm9v\n"] {
        assert_eq!(base64_decode(bad), None, "{bad}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn base64_never_panics_and_round_trips(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        noise in "[A-Za-z0-9+/=!\n]{0,24}",
    ) {
        let _ = base64_decode(&noise);
        proptest::prop_assert_eq!(base64_decode(&encode(&data)), Some(data));
    }
}

/// Standard base64, to check the decoder against.
fn encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The quickstart merges the live page into its router: requests that match no route are still
/// recorded, as `__unmatched__` (axum's `merge` keeps the merged router's fallback, so the page
/// must be merged before the layer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merged_page_leaves_404s_measured() {
    let metrics = metrics();
    let app = RunningApp::start(&metrics).await;
    let client = Client::new();
    let base = format!("http://{}", app.addr);
    for path in ["/nope", "/users/1/extra", "/stats.nope"] {
        assert_eq!(client.get(&format!("{base}{path}")).await.0, 404, "{path}");
    }
    assert_eq!(client.get(&format!("{base}/stats.json")).await.0, 200);
    let text = metrics.render();
    let line = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                http_route=\"__unmatched__\",http_response_status_code=\"404\"";
    let count = text
        .lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u64>().ok());
    assert_eq!(count, Some(3), "{text}");
    app.stop().await;
}
