//! The quickstart's routes, measured by routemeter and sent to a Datadog agent over DogStatsD
//! (UDP), with `metrics-exporter-dogstatsd`.
//!
//! Run it next to a Datadog agent (its DogStatsD server listens on UDP port 8125):
//!
//! ```sh
//! DD_SERVICE=shop DD_ENV=prod cargo run -p routemeter-integrations --example dogstatsd
//! curl localhost:3000/users/42; curl localhost:3000/slow; curl localhost:3000/error
//! ```
//!
//! The Datadog clients' standard variables are honoured: `DD_AGENT_HOST` (default `127.0.0.1`)
//! and `DD_DOGSTATSD_PORT` (default `8125`) say where to send; `DD_SERVICE`, `DD_ENV` and
//! `DD_VERSION` become the `service`, `env` and `version` tags of every metric (Datadog's
//! unified service tagging).
//!
//! It listens on `127.0.0.1:3000`; set `ROUTEMETER_ADDR` to listen elsewhere (`127.0.0.1:0` picks
//! a free port). The first line of standard output is `listening on http://ADDR`. Ctrl-C or
//! SIGTERM stops it after in-flight requests finish.
//!
//! What the agent receives, every 3 seconds (the exporter's flush interval), with the labels as
//! tags (`http_route:/users/{id}`, `http_request_method:GET`, `http_response_status_code:200`,
//! `url_scheme:http`, `network_protocol_version:1.1`, `error_type:500` on failures):
//!
//! - `http_server_request_duration_seconds`: a distribution (`|d`), every duration in seconds;
//! - `http_server_request_body_size_bytes`, `http_server_response_body_size_bytes`:
//!   distributions, in bytes;
//! - `http_server_active_requests`: a gauge (`|g`).
//!
//! Distributions are aggregated by Datadog's backend, so percentiles (`p95:…`) are computed over
//! every host; the Prometheus buckets have no part here.

use std::net::SocketAddr;

use metrics::Label;
use metrics_exporter_dogstatsd::DogStatsDBuilder;
use routemeter::RouteMeterLayer;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use routemeter_demo::quickstart;

/// `host:port` of the agent's DogStatsD server, from `DD_AGENT_HOST` and `DD_DOGSTATSD_PORT`.
fn agent_address() -> Result<String, String> {
    let host = std::env::var("DD_AGENT_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("DD_DOGSTATSD_PORT") {
        Ok(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("DD_DOGSTATSD_PORT is not a port number: {p:?}"))?,
        Err(_) => 8125,
    };
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) {
        return Err(format!(
            "DD_AGENT_HOST is not a host name or address: {host:?}"
        ));
    }
    // An IPv6 address goes in brackets.
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The `service`, `env` and `version` tags from `DD_SERVICE`, `DD_ENV` and `DD_VERSION`.
///
/// DogStatsD has no escaping: a value holding `,`, `|`, `#` or a line break would corrupt the
/// datagram, so such values are refused.
fn unified_service_tags() -> Result<Vec<Label>, String> {
    let mut tags = Vec::new();
    for (var, tag) in [
        ("DD_SERVICE", "service"),
        ("DD_ENV", "env"),
        ("DD_VERSION", "version"),
    ] {
        let Ok(value) = std::env::var(var) else {
            continue;
        };
        if value.is_empty() || value.contains([',', '|', '#', '\n', '\r']) {
            return Err(format!(
                "{var} must be non-empty, without , | # or line breaks: {value:?}"
            ));
        }
        tags.push(Label::new(tag, value));
    }
    Ok(tags)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("ROUTEMETER_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| format!("ROUTEMETER_ADDR is not a socket address: {e}"))?;
    tracing::subscriber::set_global_default(quickstart::log_subscriber(false, std::io::stderr))?;

    let recorder = DogStatsDBuilder::default()
        .with_remote_address(agent_address()?)?
        .with_global_labels(unified_service_tags()?)
        .build()?;
    metrics::set_global_recorder(recorder)?;
    let app = quickstart::routes()
        // The default OpenTelemetry names: underscores, as Datadog's metric names want them.
        .layer(RouteMeterLayer::builder().body_sizes(true).build())
        // Outside the layer, so a panicking handler is recorded as `error_type:panic`.
        .layer(CatchPanicLayer::new());

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        quickstart::serve(listener, app, quickstart::shutdown_signal()).await
    })?;
    println!("shut down");
    Ok(())
}
