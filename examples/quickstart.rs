//! A small axum server measured by routemeter, with a Prometheus `/metrics` endpoint and a live
//! stats page at `/stats`.
//!
//! Run it with:
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! It listens on `127.0.0.1:3000`; set `ROUTEMETER_ADDR` to listen elsewhere (`127.0.0.1:0` picks
//! a free port). The first line of standard output is `listening on http://ADDR`. Then try:
//!
//! ```sh
//! curl localhost:3000/users/42; curl localhost:3000/slow; curl localhost:3000/error
//! curl localhost:3000/metrics
//! ```
//!
//! and open <http://localhost:3000/stats> in a browser: a table of the routes with their request
//! rates, errors, percentiles and requests in flight, updated live (its JSON is `/stats.json`).
//!
//! Failed requests and requests slower than 250 ms are logged to standard error, with their
//! route and request id (`x-request-id`, generated when the client sends none);
//! `ROUTEMETER_LOG=json` makes those logs JSON lines.
//!
//! Ctrl-C or SIGTERM stops it after in-flight requests finish.
//!
//! The application itself, routes and layers, is `demo/src/quickstart.rs`: the tests that need a
//! running app serve the same router.

use std::net::SocketAddr;

use routemeter_demo::quickstart::{app, log_subscriber, prometheus, serve, shutdown_signal};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("ROUTEMETER_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| format!("ROUTEMETER_ADDR is not a socket address: {e}"))?;
    let json = std::env::var("ROUTEMETER_LOG").is_ok_and(|v| v == "json");
    tracing::subscriber::set_global_default(log_subscriber(json, std::io::stderr))?;
    // The defaults, with finer duration buckets for `/slow` (100 to 300 ms).
    let metrics = prometheus().install()?;
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, app(&metrics), shutdown_signal()).await?;
    println!("shut down");
    Ok(())
}
