//! routemeter on a plain hyper 1 server, no axum router: a route function gives each request its
//! route template, and `/metrics` is served from the same service. Request bodies are turned
//! into axum's `Body` in front of the layer, the one body type whose bytes routemeter counts
//! without changing it.
//!
//! Run it with:
//!
//! ```sh
//! cargo run --example hyper
//! ```
//!
//! It listens on `127.0.0.1:3001` (`ROUTEMETER_ADDR` overrides it) and prints
//! `listening on http://ADDR` first. Try `curl localhost:3001/orders/17` then
//! `curl localhost:3001/metrics`. Ctrl-C stops it.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use routemeter::prometheus::PrometheusMetrics;
use tokio::net::TcpListener;

/// The route template of a request: the paths this server knows, by shape.
fn route(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => Some("/"),
        ["orders"] => Some("/orders"),
        ["orders", id] if id.parse::<u64>().is_ok() => Some("/orders/{id}"),
        ["metrics"] => Some("/metrics"),
        _ => None,
    }
}

async fn handle(
    metrics: PrometheusMetrics,
    req: Request<axum::body::Body>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let response = match (req.method().as_str(), route(&path)) {
        ("GET", Some("/metrics")) => metrics.response().map(|body| Full::new(Bytes::from(body))),
        ("GET", Some("/")) => Response::new(Full::new(Bytes::from_static(b"hello from hyper\n"))),
        ("GET", Some("/orders/{id}")) => Response::new(Full::new(Bytes::from(format!(
            "order {}\n",
            path.rsplit('/').next().unwrap_or_default()
        )))),
        ("POST", Some("/orders")) => {
            // routemeter records the bytes that streamed through this body.
            let received = req
                .into_body()
                .collect()
                .await
                .map_or(0, |b| b.to_bytes().len());
            let mut response = Response::new(Full::new(Bytes::from(format!(
                "order of {received} bytes accepted\n"
            ))));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("ROUTEMETER_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3001".to_owned())
        .parse()?;
    let metrics = routemeter::prometheus::install()?;
    let layer = metrics
        .layer_builder()
        .route_fn(|req| route(req.path()))
        .body_sizes(true)
        .build();
    let service = tower::ServiceBuilder::new()
        // hyper's `Incoming` only claims its size (the client's `Content-Length`); as axum's
        // `Body` its bytes are counted as they are read.
        .map_request(|req: Request<hyper::body::Incoming>| req.map(axum::body::Body::new))
        .layer(layer)
        .service_fn({
            let metrics = metrics.clone();
            move |req| handle(metrics.clone(), req)
        });

    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => break,
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    Ok(())
}
