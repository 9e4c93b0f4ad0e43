//! A real Prometheus server scrapes the running quickstart app; its query API must count exactly
//! the requests sent, and `promtool check metrics` must accept the `/metrics` output.
//!
//! Needs Debian's `prometheus` package (`prometheus` and `promtool`). Without them the test fails
//! under `CI=true` and is skipped with a message elsewhere.

mod common;

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, Process, TempDir, encode, free_port, require_program};

const USERS_REQUESTS: usize = 37;

async fn query(client: &Client, prometheus: &str, promql: &str) -> serde_json::Value {
    let url = format!("http://{prometheus}/api/v1/query?query={}", encode(promql));
    let (status, body) = client.get(&url).await;
    assert_eq!(status, 200, "query {promql} failed: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "success", "{body}");
    json["data"]["result"].clone()
}

/// The lines of the README's ```promql blocks.
fn promql_blocks(markdown: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        match line.trim() {
            "```promql" => inside = true,
            "```" => inside = false,
            l if inside && !l.is_empty() => out.push(l.to_owned()),
            _ => {}
        }
    }
    out
}

/// The single value of an instant-vector result with one series, if there is one.
fn scalar(result: &serde_json::Value) -> Option<f64> {
    result.as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_scrapes_the_quickstart() {
    let (Some(prometheus_bin), Some(promtool)) =
        (require_program("prometheus"), require_program("promtool"))
    else {
        return;
    };

    // The quickstart app, exactly as `cargo run --example quickstart` builds it.
    let metrics = routemeter::prometheus::install().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(quickstart::serve(
        listener,
        quickstart::app(&metrics),
        async move {
            let _ = stopped.await;
        },
    ));

    // A real Prometheus, on loopback, with its own config and storage.
    let dir = TempDir::new("prometheus");
    let config = dir.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: quickstart\n    static_configs:\n      - targets: ['{app_addr}']\n"
        ),
    )
    .unwrap();
    let prometheus = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let _prometheus_process = Process(
        Command::new(&prometheus_bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts"),
    );

    let client = Client::new();
    let base = format!("http://{app_addr}");
    for i in 0..USERS_REQUESTS {
        let (status, _) = client.get(&format!("{base}/users/{i}")).await;
        assert_eq!(status, 200);
    }
    assert_eq!(client.get(&format!("{base}/error")).await.0, 500);
    assert_eq!(
        client
            .request("POST", &format!("{base}/users"), "{\"name\":\"a\"}")
            .await
            .0,
        201
    );

    // Wait (bounded) until Prometheus has scraped the app after the requests.
    let count_query = "sum(http_server_request_duration_seconds_count{http_route=\"/users/{id}\",job=\"quickstart\"})";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = None;
    while Instant::now() < deadline {
        let ready = client
            .try_get(&format!("http://{prometheus}/-/ready"))
            .await;
        if ready == Some(200) {
            seen = scalar(&query(&client, &prometheus, count_query).await);
            if seen == Some(USERS_REQUESTS as f64) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let log = std::fs::read_to_string(dir.0.join("prometheus.log")).unwrap_or_default();
    assert_eq!(
        seen,
        Some(USERS_REQUESTS as f64),
        "Prometheus never reported {USERS_REQUESTS} requests; its log:\n{log}"
    );

    // The target is healthy and the histogram arrived with its buckets and labels.
    let up = query(&client, &prometheus, "up{job=\"quickstart\"}").await;
    assert_eq!(scalar(&up), Some(1.0), "{up}");
    let buckets = query(
        &client,
        &prometheus,
        "http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",le=\"+Inf\"}",
    )
    .await;
    assert_eq!(scalar(&buckets), Some(USERS_REQUESTS as f64), "{buckets}");
    let errors = query(
        &client,
        &prometheus,
        "sum(http_server_request_duration_seconds_count{error_type!=\"\"})",
    )
    .await;
    assert_eq!(scalar(&errors), Some(1.0), "{errors}");
    let p99 = query(
        &client,
        &prometheus,
        "histogram_quantile(0.99, sum by (le) (http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\"}))",
    )
    .await;
    assert!(scalar(&p99).is_some_and(|v| v > 0.0), "{p99}");

    // Every PromQL recipe in the README evaluates without error on the scraped data.
    let recipes = promql_blocks(include_str!("../README.md"));
    assert!(recipes.len() >= 8, "{recipes:?}");
    for recipe in &recipes {
        query(&client, &prometheus, recipe).await;
    }

    // promtool accepts the exposition.
    let (status, exposition) = client.get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
