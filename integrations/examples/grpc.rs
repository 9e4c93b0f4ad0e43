//! A tonic gRPC server measured by routemeter: the standard health service
//! (`grpc.health.v1.Health`) and a small greeter with one unary and one server-streaming method,
//! with a Prometheus `/metrics` endpoint on a second listener.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p routemeter-integrations --example grpc
//! ```
//!
//! It serves gRPC on `127.0.0.1:50051`; set `ROUTEMETER_ADDR` to listen elsewhere (`127.0.0.1:0`
//! picks a free port). The metrics endpoint listens on `ROUTEMETER_METRICS_ADDR`, by default on
//! the gRPC address's host with a free port. The first line of standard output is
//! `listening on http://ADDR` (gRPC), the second `metrics on http://ADDR/metrics`. Then try,
//! with `grpcurl` or any gRPC client:
//!
//! ```sh
//! grpcurl -plaintext -d '{"service": ""}' 127.0.0.1:50051 grpc.health.v1.Health/Check
//! curl http://127.0.0.1:PORT/metrics   # rpc_server_call_duration_seconds{rpc_method=…}
//! ```
//!
//! The services (the greeter's messages written out by hand, so no `protoc` is needed, and what
//! each method answers) are `integrations/src/grpc.rs`, which the gRPC tests serve too.
//!
//! Ctrl-C or SIGTERM stops it after in-flight calls finish.

use std::net::SocketAddr;

use routemeter_demo::quickstart::shutdown_signal;
use routemeter_integrations::grpc::{layer_builder, serve};
use tokio::net::TcpListener;

/// A socket address from the environment variable `name`, else `default`.
fn address(name: &str, default: SocketAddr) -> Result<SocketAddr, String> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|e| format!("{name} is not a socket address: {e}")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let addr = address("ROUTEMETER_ADDR", SocketAddr::from(([127, 0, 0, 1], 50051)))?;
    let metrics_addr = address("ROUTEMETER_METRICS_ADDR", SocketAddr::new(addr.ip(), 0))?;
    let metrics = routemeter::prometheus::install()?;
    let layer = layer_builder(&metrics)?.build();
    let grpc = TcpListener::bind(addr).await?;
    let metrics_listener = TcpListener::bind(metrics_addr).await?;
    println!("listening on http://{}", grpc.local_addr()?);
    println!(
        "metrics on http://{}/metrics",
        metrics_listener.local_addr()?
    );
    serve(grpc, metrics_listener, &metrics, layer, shutdown_signal()).await?;
    println!("shut down");
    Ok(())
}
