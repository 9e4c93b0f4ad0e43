//! Real Prometheus (and node exporter) processes on loopback, for the tests that scrape.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Client, Process, TempDir, encode, free_port, require_program};

/// A Prometheus server with its own config and storage, killed on drop.
pub struct Prometheus {
    pub addr: String,
    pub dir: TempDir,
    _process: Process,
}

/// Starts Prometheus scraping `targets` (job name, `host:port`) every second, with `extra`
/// appended to its config (e.g. `rule_files:` or `alerting:`). `None` when the binary is
/// missing outside CI (the caller skips).
pub fn start(targets: &[(&str, String)], extra: &str) -> Option<Prometheus> {
    start_with_flags(targets, extra, &[])
}

/// [`start`] with extra command-line flags (e.g. `--enable-feature=exemplar-storage`).
pub fn start_with_flags(
    targets: &[(&str, String)],
    extra: &str,
    flags: &[&str],
) -> Option<Prometheus> {
    let binary = require_program("prometheus")?;
    let dir = TempDir::new("prometheus");
    let mut config = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (job, target) in targets {
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    config.push_str(extra);
    let path = dir.0.join("prometheus.yml");
    std::fs::write(&path, config).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
    let process = Process(
        Command::new(binary)
            .arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts"),
    );
    Some(Prometheus {
        addr,
        dir,
        _process: process,
    })
}

impl Prometheus {
    /// Prometheus's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query; panics unless Prometheus answers `success`.
    pub async fn query(&self, client: &Client, promql: &str) -> serde_json::Value {
        let url = format!("http://{}/api/v1/query?query={}", self.addr, encode(promql));
        let (status, body) = client.get(&url).await;
        assert_eq!(status, 200, "query {promql} failed: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "success", "{body}");
        json["data"]["result"].clone()
    }

    /// Polls `promql` (bounded by `timeout`) until its single value satisfies `done`; returns
    /// the last value seen.
    pub async fn wait_for(
        &self,
        client: &Client,
        promql: &str,
        timeout: Duration,
        done: impl Fn(f64) -> bool,
    ) -> Option<f64> {
        let deadline = Instant::now() + timeout;
        let mut seen = None;
        while Instant::now() < deadline {
            let ready = client
                .try_get(&format!("http://{}/-/ready", self.addr))
                .await;
            if ready == Some(200) {
                seen = scalar(&self.query(client, promql).await);
                if seen.is_some_and(&done) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        seen
    }
}

/// The value of an instant-vector result with one series, if there is one.
pub fn scalar(result: &serde_json::Value) -> Option<f64> {
    result.as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

/// Starts Debian's node exporter on a free loopback port; returns it and its address.
pub fn start_node_exporter() -> Option<(Process, String)> {
    let binary: PathBuf = require_program("prometheus-node-exporter")?;
    let addr = format!("127.0.0.1:{}", free_port());
    let process = Process(
        Command::new(binary)
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node exporter starts"),
    );
    Some((process, addr))
}

/// The lines of a Markdown document's ```promql blocks.
pub fn promql_blocks(markdown: &str) -> Vec<String> {
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

/// Starts Debian's Alertmanager with `config`, clustering off, on a free loopback port, with its
/// storage and log (`alertmanager.log`) in `dir`; returns it and its address.
pub fn start_alertmanager(
    config: &std::path::Path,
    dir: &std::path::Path,
) -> Option<(Process, String)> {
    let binary = require_program("prometheus-alertmanager")?;
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
    let process = Process(
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("alertmanager starts"),
    );
    Some((process, addr))
}
