//! The gRPC example's server (`examples/grpc.rs` serves it; the gRPC tests start the same one):
//! the standard health service (`grpc.health.v1.Health`) and a small greeter with one unary and
//! one server-streaming method, with a Prometheus `/metrics` endpoint on a second listener.
//!
//! The greeter's messages and service are written out by hand (what `tonic-build` would
//! generate from a `.proto`), so nothing needs `protoc`:
//!
//! ```proto
//! package routemeter.example;
//! service Greeter {
//!   rpc SayHello (HelloRequest) returns (HelloReply);
//!   rpc Count (CountRequest) returns (stream CountReply);
//! }
//! message HelloRequest { string name = 1; uint32 delay_ms = 2; }
//! message HelloReply { string message = 1; }
//! message CountRequest { uint32 n = 1; uint32 interval_ms = 2; uint32 fail_after = 3; }
//! message CountReply { uint32 i = 1; }
//! ```
//!
//! `SayHello` answers `INTERNAL` for the name `fail`, `NOT_FOUND` for `nobody` and
//! `DEADLINE_EXCEEDED` for `late`, and waits `delay_ms` first. `Count` streams `n` replies,
//! `interval_ms` apart, and ends with `DATA_LOSS` after `fail_after` replies when that is not 0.

use axum::Router;
use routemeter::prometheus::PrometheusMetrics;
use routemeter::{RouteMeterBuilder, RouteMeterLayer};
use tokio::net::TcpListener;
use tonic::server::NamedService;

/// The greeter service: messages, handlers and the tonic service that routes to them.
pub mod greeter {
    use std::convert::Infallible;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use futures_util::future::BoxFuture;
    use tonic::{Request, Response, Status};

    /// The service name, as clients call it.
    pub const NAME: &str = "routemeter.example.Greeter";
    /// Its methods.
    pub const METHODS: [&str; 2] = ["SayHello", "Count"];

    /// `SayHello`'s request.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HelloRequest {
        /// Who to greet (`fail`: answer `INTERNAL`; `nobody`: `NOT_FOUND`; `late`:
        /// `DEADLINE_EXCEEDED`).
        #[prost(string, tag = "1")]
        pub name: String,
        /// How long to wait before answering, in milliseconds.
        #[prost(uint32, tag = "2")]
        pub delay_ms: u32,
    }

    /// `SayHello`'s reply.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HelloReply {
        /// The greeting.
        #[prost(string, tag = "1")]
        pub message: String,
    }

    /// `Count`'s request.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CountRequest {
        /// How many replies to stream (at most 1,000).
        #[prost(uint32, tag = "1")]
        pub n: u32,
        /// The pause before each reply, in milliseconds.
        #[prost(uint32, tag = "2")]
        pub interval_ms: u32,
        /// End with `DATA_LOSS` after this many replies (0: never).
        #[prost(uint32, tag = "3")]
        pub fail_after: u32,
    }

    /// One of `Count`'s replies.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CountReply {
        /// Its number, from 1.
        #[prost(uint32, tag = "1")]
        pub i: u32,
    }

    async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let HelloRequest { name, delay_ms } = request.into_inner();
        tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
        match name.as_str() {
            "fail" => Err(Status::internal("the greeter failed, as asked")),
            "nobody" => Err(Status::not_found("nobody to greet")),
            "late" => Err(Status::deadline_exceeded("the greeting came too late")),
            _ => Ok(Response::new(HelloReply {
                message: format!("hello {name}"),
            })),
        }
    }

    type CountStream = futures_util::stream::BoxStream<'static, Result<CountReply, Status>>;

    async fn count(request: Request<CountRequest>) -> Result<Response<CountStream>, Status> {
        let CountRequest {
            n,
            interval_ms,
            fail_after,
        } = request.into_inner();
        if n > 1000 {
            return Err(Status::invalid_argument("at most 1000 replies"));
        }
        let pause = Duration::from_millis(u64::from(interval_ms));
        let stream = futures_util::stream::unfold(1u32, move |i| async move {
            if i > n || (fail_after != 0 && i > fail_after + 1) {
                return None;
            }
            if fail_after != 0 && i == fail_after + 1 {
                return Some((Err(Status::data_loss("the count broke off")), i + 1));
            }
            tokio::time::sleep(pause).await;
            Some((Ok(CountReply { i }), i + 1))
        });
        Ok(Response::new(Box::pin(stream) as CountStream))
    }

    /// The greeter as a tonic service (what `tonic-build` generates, by hand).
    #[derive(Clone, Debug, Default)]
    pub struct GreeterServer;

    impl tonic::server::NamedService for GreeterServer {
        const NAME: &'static str = NAME;
    }

    impl<B> tower::Service<http::Request<B>> for GreeterServer
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError> + Send + 'static,
    {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<B>) -> Self::Future {
            match req
                .uri()
                .path()
                .strip_prefix("/routemeter.example.Greeter/")
            {
                Some("SayHello") => Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                    Ok(grpc.unary(tower::service_fn(say_hello), req).await)
                }),
                Some("Count") => Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                    Ok(grpc.server_streaming(tower::service_fn(count), req).await)
                }),
                _ => Box::pin(async move {
                    let (parts, ()) = Status::unimplemented("").into_http::<()>().into_parts();
                    Ok(http::Response::from_parts(
                        parts,
                        tonic::body::Body::empty(),
                    ))
                }),
            }
        }
    }
}

/// The routemeter layer's settings for the gRPC server: every method of both services is
/// recognised; calls to any other method are recorded as `rpc_method="_OTHER"`.
pub fn layer_builder(
    metrics: &PrometheusMetrics,
) -> Result<RouteMeterBuilder, routemeter::LayerError> {
    let health = <tonic_health::pb::health_server::HealthServer<()> as NamedService>::NAME;
    metrics
        .layer_builder()
        .grpc_service(health, ["Check", "Watch"])?
        .grpc_service(greeter::NAME, greeter::METHODS)
}

/// Serves the gRPC services, measured by `layer`, on `grpc` and the metrics endpoint on
/// `metrics_listener` until `shutdown` completes, then lets in-flight calls finish.
pub async fn serve(
    grpc: TcpListener,
    metrics_listener: TcpListener,
    metrics: &PrometheusMetrics,
    layer: RouteMeterLayer,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<greeter::GreeterServer>().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_app = Router::new().route("/metrics", metrics.endpoint());
    let mut metrics_stopped = stopped.clone();
    let metrics_server = tokio::spawn(async move {
        axum::serve(metrics_listener, metrics_app)
            .with_graceful_shutdown(async move {
                let _ = metrics_stopped.wait_for(|s| *s).await;
            })
            .await
    });
    drop(stopped);
    let incoming = tonic::transport::server::TcpIncoming::from(grpc);
    let served = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(health)
        .add_service(greeter::GreeterServer)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    // The metrics endpoint stops with the gRPC server, however that ended.
    let _ = stop.send(true);
    metrics_server.await??;
    served?;
    Ok(())
}
