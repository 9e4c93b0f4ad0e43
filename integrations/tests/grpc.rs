//! gRPC calls through a real tonic server on loopback (the `grpc` example's server), called with tonic's
//! client and with Python's `grpcio`: exact counts per method and status, errors as the
//! OpenTelemetry gRPC conventions count them, streams timed to their last frame, cancelled and
//! deadline-exceeded calls told apart. Then the layer in process, against hand-made responses:
//! trailers-only heads, trailers frames, statuses HTTP maps, bounded methods, HTTP unchanged.

#[path = "../../tests/common/mod.rs"]
mod common;

use routemeter_integrations::grpc as example;

use std::net::SocketAddr;
use std::time::Duration;

use example::greeter::{CountReply, CountRequest, HelloReply, HelloRequest};
use http::uri::PathAndQuery;
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};
use routemeter::testing::{Snapshot, TestMeter};
use routemeter::{GrpcCode, Naming, NamingScheme};
use tonic::transport::Channel;
use tonic::{Code, Status};

const CHECK: &str = "grpc.health.v1.Health/Check";
const HELLO: &str = "routemeter.example.Greeter/SayHello";
const COUNT: &str = "routemeter.example.Greeter/Count";

/// The example server, on free loopback ports, recording into a recorder of its own.
struct Server {
    grpc: SocketAddr,
    metrics_url: String,
    metrics: PrometheusMetrics,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(|b| b).await
    }

    /// The example server with its layer's settings changed by `settings`.
    async fn start_with(
        settings: impl FnOnce(routemeter::RouteMeterBuilder) -> routemeter::RouteMeterBuilder,
    ) -> Self {
        let metrics = PrometheusBuilder::new().build().unwrap();
        let layer = settings(example::layer_builder(&metrics).unwrap()).build();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = grpc.local_addr().unwrap();
        let metrics_url = format!("http://{}/metrics", metrics_listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = metrics.clone();
        let task = tokio::spawn(async move {
            example::serve(grpc, metrics_listener, &served, layer, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            grpc: addr,
            metrics_url,
            metrics,
            stop,
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// The metrics endpoint's exposition, read back into a snapshot.
    async fn scrape(&self) -> Snapshot {
        let (status, body) = common::Client::new().get(&self.metrics_url).await;
        assert_eq!(status, 200);
        Snapshot::from_prometheus_text(&body, self.metrics.naming()).unwrap()
    }

    /// Scrapes until `method` has recorded `n` calls (a call the client left ends on the
    /// server a moment later), for at most five seconds.
    async fn scrape_until(&self, method: &str, n: u64) -> Snapshot {
        for _ in 0..500 {
            let snapshot = self.scrape().await;
            if snapshot.grpc_method(method).count() >= n {
                return snapshot;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.scrape().await
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// A unary call with tonic's generic client.
async fn unary<Req, Res>(
    channel: &Channel,
    method: &'static str,
    request: tonic::Request<Req>,
) -> Result<Res, Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Res: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    let path = PathAndQuery::from_static(method);
    let codec = tonic_prost::ProstCodec::<Req, Res>::default();
    grpc.unary(request, path, codec)
        .await
        .map(tonic::Response::into_inner)
}

/// A server-streaming call to `Count`: the stream, once the head arrived.
async fn count(
    channel: &Channel,
    request: CountRequest,
) -> Result<tonic::Streaming<CountReply>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    let path = PathAndQuery::from_static("/routemeter.example.Greeter/Count");
    let codec = tonic_prost::ProstCodec::<CountRequest, CountReply>::default();
    grpc.server_streaming(tonic::Request::new(request), path, codec)
        .await
        .map(tonic::Response::into_inner)
}

/// Reads a `Count` stream to its end: the replies, then the status it ended with.
async fn count_all(channel: &Channel, request: CountRequest) -> (Vec<u32>, Code) {
    let mut stream = match count(channel, request).await {
        Ok(stream) => stream,
        Err(status) => return (Vec::new(), status.code()),
    };
    let mut got = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(reply)) => got.push(reply.i),
            Ok(None) => return (got, Code::Ok),
            Err(status) => return (got, status.code()),
        }
    }
}

fn hello(name: &str, delay_ms: u32) -> tonic::Request<HelloRequest> {
    tonic::Request::new(HelloRequest {
        name: name.to_owned(),
        delay_ms,
    })
}

async fn say_hello(channel: &Channel, name: &str) -> Code {
    match unary::<_, HelloReply>(
        channel,
        "/routemeter.example.Greeter/SayHello",
        hello(name, 0),
    )
    .await
    {
        Ok(reply) => {
            assert_eq!(reply.message, format!("hello {name}"));
            Code::Ok
        }
        Err(status) => status.code(),
    }
}

async fn check(channel: &Channel, service: &str) -> Code {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let request = tonic_health::pb::HealthCheckRequest {
        service: service.to_owned(),
    };
    match client.check(request).await {
        Ok(response) => {
            assert_eq!(
                response.into_inner().status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            );
            Code::Ok
        }
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn tonic_calls_are_counted_per_method_and_status() {
    let server = Server::start().await;
    let channel = server.channel().await;

    for _ in 0..3 {
        assert_eq!(check(&channel, "").await, Code::Ok);
    }
    assert_eq!(
        check(&channel, "routemeter.example.Greeter").await,
        Code::Ok
    );
    // An unknown service name, asked of the health service: tonic-health answers NOT_FOUND.
    for _ in 0..2 {
        assert_eq!(check(&channel, "no.such.Service").await, Code::NotFound);
    }
    for _ in 0..4 {
        assert_eq!(say_hello(&channel, "ann").await, Code::Ok);
    }
    for _ in 0..2 {
        assert_eq!(say_hello(&channel, "fail").await, Code::Internal);
    }
    assert_eq!(say_hello(&channel, "nobody").await, Code::NotFound);
    assert_eq!(say_hello(&channel, "late").await, Code::DeadlineExceeded);
    // Calls to a service the server does not have, and to a method the greeter does not have:
    // tonic answers both UNIMPLEMENTED, in a trailers-only response.
    let unknown_service =
        unary::<_, HelloReply>(&channel, "/no.such.Service/Method", hello("x", 0)).await;
    assert_eq!(unknown_service.unwrap_err().code(), Code::Unimplemented);
    let unknown_method =
        unary::<_, HelloReply>(&channel, "/routemeter.example.Greeter/Nope", hello("x", 0)).await;
    assert_eq!(unknown_method.unwrap_err().code(), Code::Unimplemented);

    let snapshot = server.scrape().await;
    assert_eq!(
        snapshot.grpc_methods(),
        ["_OTHER", CHECK, HELLO],
        "only recognised methods get a value of their own"
    );
    snapshot
        .grpc_method(CHECK)
        .assert_count(6)
        .assert_grpc_status(GrpcCode::Ok, 4)
        .assert_grpc_status(GrpcCode::NotFound, 2)
        .assert_no_errors();
    let hello = snapshot.grpc_method(HELLO);
    hello
        .assert_count(8)
        .assert_grpc_status(GrpcCode::Ok, 4)
        .assert_grpc_status(GrpcCode::Internal, 2)
        .assert_grpc_status(GrpcCode::NotFound, 1)
        .assert_grpc_status(GrpcCode::DeadlineExceeded, 1);
    // INTERNAL and DEADLINE_EXCEEDED are server errors; NOT_FOUND is not.
    assert_eq!(hello.errors(), 3, "{hello}");
    assert_eq!(hello.error_type("INTERNAL"), 2);
    assert_eq!(hello.error_type("DEADLINE_EXCEEDED"), 1);
    let other = snapshot.grpc_method("_OTHER");
    other
        .assert_count(2)
        .assert_grpc_status(GrpcCode::Unimplemented, 2);
    assert_eq!(other.error_type("UNIMPLEMENTED"), 2);
    assert_eq!(snapshot.grpc_total().count(), 16);
    // gRPC calls are not HTTP requests: the HTTP families stay empty.
    assert_eq!(snapshot.total().count(), 0);
    assert!(snapshot.routes().is_empty());
    // Nothing is left in flight.
    assert_eq!(snapshot.grpc_total().active(), 0.0);

    server.stop().await;
}

/// A request label reads gRPC metadata like any header: each call carries its tenant, within
/// the budget, on the call-duration and in-flight series.
#[tokio::test]
async fn grpc_calls_carry_their_request_label() {
    let server = Server::start_with(|b| {
        b.request_label("tenant", 2, |req| {
            req.headers().get("x-tenant")?.to_str().ok()
        })
        .unwrap()
    })
    .await;
    let channel = server.channel().await;
    for tenant in ["a", "b", "c", "a", "d"] {
        let mut request = hello("ann", 0);
        request
            .metadata_mut()
            .insert("x-tenant", tenant.parse().unwrap());
        let reply =
            unary::<_, HelloReply>(&channel, "/routemeter.example.Greeter/SayHello", request);
        assert_eq!(reply.await.unwrap().message, "hello ann");
    }
    assert_eq!(say_hello(&channel, "ann").await, Code::Ok);

    let snapshot = server.scrape_until(HELLO, 6).await;
    let naming = server.metrics.naming();
    let by_tenant = |tenant: &str| -> u64 {
        snapshot
            .series()
            .iter()
            .filter(|s| {
                s.name().starts_with(naming.rpc_duration())
                    && s.label(naming.rpc_method_key()) == Some(HELLO)
                    && s.label("tenant") == Some(tenant)
            })
            .map(|s| match s.value() {
                routemeter::testing::SeriesValue::Histogram(d) => d.count(),
                _ => 0,
            })
            .sum()
    };
    assert_eq!(
        ["a", "b", "__overflow__", "_OTHER"].map(by_tenant),
        [2, 1, 2, 1],
        "the first two tenants, then overflow; no metadata is _OTHER"
    );
    assert_eq!(
        snapshot.counter("routemeter_label_overflow_total", &[("label", "tenant")]),
        Some(2)
    );
    assert_eq!(snapshot.grpc_method(HELLO).count(), 6);
    assert_eq!(snapshot.grpc_total().active(), 0.0);
    server.stop().await;
}

#[tokio::test]
async fn streams_are_timed_to_their_last_frame_and_end_with_its_status() {
    let server = Server::start().await;
    let channel = server.channel().await;

    let request = |n, interval_ms, fail_after| CountRequest {
        n,
        interval_ms,
        fail_after,
    };
    assert_eq!(
        count_all(&channel, request(5, 40, 0)).await,
        (vec![1, 2, 3, 4, 5], Code::Ok)
    );
    // The status arrives in the trailers after two replies.
    assert_eq!(
        count_all(&channel, request(5, 10, 2)).await,
        (vec![1, 2], Code::DataLoss)
    );
    // Refused before any reply: a trailers-only response.
    assert_eq!(
        count_all(&channel, request(5000, 0, 0)).await,
        (vec![], Code::InvalidArgument)
    );

    let snapshot = server.scrape_until(COUNT, 3).await;
    let ok = snapshot.grpc_select(COUNT, Some(GrpcCode::Ok));
    ok.assert_count(1);
    // Five pauses of 40 ms: the whole stream, not the time to its head. (The mean is the
    // exact sum over the count; quantiles read from buckets are estimates.)
    assert!(ok.mean() >= Duration::from_millis(200), "{ok}");
    let stream = snapshot.grpc_method(COUNT);
    stream
        .assert_count(3)
        .assert_grpc_status(GrpcCode::DataLoss, 1)
        .assert_grpc_status(GrpcCode::InvalidArgument, 1);
    assert_eq!(stream.errors(), 1, "{stream}");
    assert_eq!(stream.error_type("DATA_LOSS"), 1);

    server.stop().await;
}

#[tokio::test]
async fn cancelled_and_deadline_exceeded_calls_are_told_apart() {
    let server = Server::start().await;
    let channel = server.channel().await;

    // A deadline of 1 s on a call that takes 3 s: tonic's client and tonic's server both give
    // up at the deadline, and both call that CANCELLED ("Timeout expired"); whichever is
    // first, the layer records the deadline.
    let mut late = hello("slow", 3000);
    late.set_timeout(Duration::from_secs(1));
    let got = unary::<_, HelloReply>(&channel, "/routemeter.example.Greeter/SayHello", late).await;
    assert_eq!(got.unwrap_err().code(), Code::Cancelled);

    // The client leaves a call without a deadline after 100 ms.
    let left = tokio::time::timeout(
        Duration::from_millis(100),
        unary::<_, HelloReply>(
            &channel,
            "/routemeter.example.Greeter/SayHello",
            hello("slow", 2000),
        ),
    )
    .await;
    assert!(left.is_err(), "the call should still be running");

    // The client reads two replies of a long stream, then drops it.
    let mut stream = count(
        &channel,
        CountRequest {
            n: 100,
            interval_ms: 20,
            fail_after: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(stream.message().await.unwrap().unwrap().i, 1);
    assert_eq!(stream.message().await.unwrap().unwrap().i, 2);
    drop(stream);

    let snapshot = server.scrape_until(HELLO, 2).await;
    let hello = snapshot.grpc_method(HELLO);
    hello
        .assert_count(2)
        .assert_grpc_status(GrpcCode::DeadlineExceeded, 1)
        .assert_grpc_status(GrpcCode::Cancelled, 1);
    // The deadline is the server's failure; the client leaving is not.
    assert_eq!(hello.errors(), 1, "{hello}");
    assert_eq!(hello.error_type("DEADLINE_EXCEEDED"), 1);
    let deadline = snapshot.grpc_select(HELLO, Some(GrpcCode::DeadlineExceeded));
    assert!(deadline.mean() >= Duration::from_millis(950), "{deadline}");
    assert!(deadline.mean() < Duration::from_millis(2500), "{deadline}");

    let snapshot = server.scrape_until(COUNT, 1).await;
    snapshot
        .grpc_method(COUNT)
        .assert_count(1)
        .assert_grpc_status(GrpcCode::Cancelled, 1)
        .assert_no_errors();
    assert_eq!(snapshot.grpc_total().active(), 0.0);

    server.stop().await;
}

/// The Python client: `grpcio`'s generic calls with hand-encoded protobuf messages.
const PYTHON_CLIENT: &str = r#"
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
def string_field(tag, s):
    b = s.encode()
    return bytes([tag << 3 | 2, len(b)]) + b if b else b""
def call(method, request, timeout=None):
    try:
        response = channel.unary_unary(method)(request, timeout=timeout)
        print("OK", response.hex())
    except grpc.RpcError as e:
        print(e.code().name)
check = "/grpc.health.v1.Health/Check"
call(check, string_field(1, ""))
call(check, string_field(1, ""))
call(check, string_field(1, "no.such.Service"))
call("/no.such.Service/Method", b"")
call("/routemeter.example.Greeter/SayHello", string_field(1, "fail"))
call("/routemeter.example.Greeter/SayHello", string_field(1, "bo"))
# delay_ms = 3000 (field 2, varint), with a deadline of 1 s.
call("/routemeter.example.Greeter/SayHello", string_field(1, "slow") + bytes([0x10, 0xb8, 0x17]), timeout=1.0)
"#;

/// Whether `python3` can import `grpc`. Under `CI=true` a missing module is a failure;
/// elsewhere the test is skipped with a visible message.
fn python_grpcio() -> Option<std::path::PathBuf> {
    let python = common::require_program("python3")?;
    let found = std::process::Command::new(&python)
        .args(["-c", "import grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python3 cannot import grpc; CI must install grpcio (see scripts/test.sh)");
        }
        eprintln!("SKIPPED: python3 cannot import grpc; run scripts/test.sh to install grpcio");
        return None;
    }
    Some(python)
}

#[tokio::test]
async fn python_grpcio_calls_are_counted() {
    let Some(python) = python_grpcio() else {
        return;
    };
    let server = Server::start().await;
    let target = server.grpc.to_string();
    let output = tokio::process::Command::new(python)
        .args(["-c", PYTHON_CLIENT, &target])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines: Vec<&str> = stdout.lines().collect();
    // At the deadline, grpcio gives up on its side (DEADLINE_EXCEEDED) while tonic's server,
    // honouring the same `grpc-timeout`, answers CANCELLED: whichever comes first is what
    // the client reports. The server's record is DEADLINE_EXCEEDED either way.
    if lines.last() == Some(&"CANCELLED") {
        lines.pop();
        lines.push("DEADLINE_EXCEEDED");
    }
    assert_eq!(
        lines,
        [
            "OK 0801", // SERVING
            "OK 0801",
            "NOT_FOUND",
            "UNIMPLEMENTED",
            "INTERNAL",
            "OK 0a0868656c6c6f20626f", // "hello bo"
            "DEADLINE_EXCEEDED",
        ]
    );

    let snapshot = server.scrape_until(HELLO, 3).await;
    snapshot
        .grpc_method(CHECK)
        .assert_count(3)
        .assert_grpc_status(GrpcCode::Ok, 2)
        .assert_grpc_status(GrpcCode::NotFound, 1)
        .assert_no_errors();
    let other = snapshot.grpc_method("_OTHER");
    other
        .assert_count(1)
        .assert_grpc_status(GrpcCode::Unimplemented, 1);
    assert_eq!(other.errors(), 1);
    let hello = snapshot.grpc_method(HELLO);
    hello
        .assert_count(3)
        .assert_grpc_status(GrpcCode::Ok, 1)
        .assert_grpc_status(GrpcCode::Internal, 1)
        .assert_grpc_status(GrpcCode::DeadlineExceeded, 1);
    assert_eq!(hello.errors(), 2, "{hello}");
    assert_eq!(snapshot.grpc_total().count(), 7);

    server.stop().await;
}

// In process: the layer against hand-made responses.

mod in_process {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::{HeaderMap, Request, Response, StatusCode};
    use http_body::Frame;
    use http_body_util::{BodyExt, Empty, StreamBody};
    use routemeter::RouteMeterLayer;
    use tower::{Layer, ServiceExt};

    use super::*;

    type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

    /// What a hand-made server answers.
    #[derive(Clone)]
    enum Answer {
        /// A trailers-only response: the status in the head.
        Head(&'static str),
        /// A message, then a trailers frame with this status.
        Trailers(&'static str),
        /// A message and the end of the stream, no status anywhere.
        NoStatus,
        /// An HTTP status and no gRPC status.
        Http(StatusCode),
    }

    fn response(answer: &Answer) -> Response<Body> {
        let mut builder = Response::builder().header("content-type", "application/grpc");
        let body = match answer {
            Answer::Head(code) => {
                builder = builder.header("grpc-status", *code);
                Empty::new().boxed_unsync()
            }
            Answer::Trailers(code) => {
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", code.parse().unwrap());
                let frames = vec![
                    Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\0"))),
                    Ok(Frame::trailers(trailers)),
                ];
                StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
            }
            Answer::NoStatus => {
                let frames = vec![Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\0")))];
                StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
            }
            Answer::Http(status) => {
                builder = builder.status(*status);
                Empty::new().boxed_unsync()
            }
        };
        builder.body(body).unwrap()
    }

    async fn call(layer: &RouteMeterLayer, path: &str, content_type: &str, answer: Answer) {
        let svc = layer.layer(tower::service_fn(move |_req: Request<Body>| {
            let answer = answer.clone();
            async move { Ok::<_, Infallible>(response(&answer)) }
        }));
        let req = Request::post(path)
            .header("content-type", content_type)
            .body(Empty::new().boxed_unsync())
            .unwrap();
        let resp = svc.oneshot(req).await.unwrap();
        resp.into_body().collect().await.unwrap();
    }

    #[tokio::test]
    async fn statuses_come_from_the_head_the_trailers_or_the_http_status() {
        let meter = TestMeter::new();
        let layer = meter
            .layer_builder()
            .grpc_service("a.B", ["C"])
            .unwrap()
            .build();
        let grpc = "application/grpc";
        call(&layer, "/a.B/C", grpc, Answer::Head("0")).await;
        call(&layer, "/a.B/C", grpc, Answer::Head("5")).await;
        call(
            &layer,
            "/a.B/C",
            "application/grpc+proto",
            Answer::Trailers("0"),
        )
        .await;
        call(&layer, "/a.B/C", grpc, Answer::Trailers("14")).await;
        // A status that is not one of the codes is UNKNOWN, as clients read it.
        call(&layer, "/a.B/C", grpc, Answer::Trailers("99")).await;
        // No status at all: UNKNOWN, a server error.
        call(&layer, "/a.B/C", grpc, Answer::NoStatus).await;
        // No gRPC status, HTTP 503 (a proxy, a load shedder): UNAVAILABLE.
        call(
            &layer,
            "/a.B/C",
            grpc,
            Answer::Http(StatusCode::SERVICE_UNAVAILABLE),
        )
        .await;
        // gRPC-Web carries its status in the body: an HTTP request like any other.
        call(&layer, "/a.B/C", "application/grpc-web", Answer::Head("0")).await;
        // Undeclared methods, malformed paths.
        call(&layer, "/a.B/D", grpc, Answer::Head("12")).await;
        call(&layer, "/x/y/z", grpc, Answer::Head("12")).await;

        let snapshot = meter.snapshot();
        let c = snapshot.grpc_method("a.B/C");
        c.assert_count(7)
            .assert_grpc_status(GrpcCode::Ok, 2)
            .assert_grpc_status(GrpcCode::NotFound, 1)
            .assert_grpc_status(GrpcCode::Unavailable, 2)
            .assert_grpc_status(GrpcCode::Unknown, 2);
        assert_eq!(c.errors(), 4, "{c}");
        snapshot
            .grpc_method("_OTHER")
            .assert_count(2)
            .assert_grpc_status(GrpcCode::Unimplemented, 2);
        snapshot
            .route("__unmatched__")
            .assert_count(1)
            .assert_status(200, 1);
        assert_eq!(snapshot.grpc_methods(), ["_OTHER", "a.B/C"]);
    }

    #[tokio::test]
    async fn undeclared_methods_are_bounded_by_the_route_limit() {
        let meter = TestMeter::new();
        let layer = meter.layer_builder().grpc(true).max_routes(2).build();
        for method in ["/a.B/One", "/a.B/Two", "/a.B/Three", "/a.B/One"] {
            call(&layer, method, "application/grpc", Answer::Head("0")).await;
        }
        let snapshot = meter.snapshot();
        assert_eq!(
            snapshot.grpc_methods(),
            ["__overflow__", "a.B/One", "a.B/Two"]
        );
        snapshot.grpc_method("a.B/One").assert_count(2);
        snapshot.grpc_method("__overflow__").assert_count(1);
        assert_eq!(
            snapshot.counter("routemeter_route_overflow_total", &[]),
            Some(1)
        );
    }

    #[tokio::test]
    async fn without_grpc_support_calls_are_http_requests() {
        let meter = TestMeter::new();
        let layer = meter.layer();
        call(&layer, "/a.B/C", "application/grpc", Answer::Head("13")).await;
        let snapshot = meter.snapshot();
        assert!(snapshot.grpc_methods().is_empty());
        snapshot
            .endpoint("POST", "__unmatched__")
            .assert_count(1)
            .assert_status(200, 1)
            .assert_no_errors();
    }

    #[tokio::test]
    async fn dotted_names_for_otlp() {
        let meter = TestMeter::with_naming(Naming::new(NamingScheme::OpenTelemetryDotted));
        let layer = meter.layer_builder().grpc(true).build();
        call(&layer, "/a.B/C", "application/grpc", Answer::Trailers("13")).await;
        let snapshot = meter.snapshot();
        let series: Vec<_> = snapshot
            .series()
            .iter()
            .filter(|s| s.name() == "rpc.server.call.duration")
            .collect();
        assert_eq!(series.len(), 1);
        let labels: Vec<(&str, &str)> = series[0]
            .labels()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("error.type", "INTERNAL"),
                ("rpc.method", "a.B/C"),
                ("rpc.status_code", "INTERNAL"),
                ("rpc.system.name", "grpc"),
            ]
        );
        assert_eq!(GrpcCode::Internal.as_str(), "INTERNAL");
    }
}

// One port for gRPC and HTTP: tonic's routes as an axum router, served by `axum::serve`, with a
// bidirectional method.

mod one_port {
    use std::convert::Infallible;
    use std::task::{Context, Poll};

    use axum::routing::get;
    use futures_util::StreamExt;
    use futures_util::future::BoxFuture;
    use futures_util::stream::BoxStream;
    use tonic::server::NamedService;
    use tonic::{Request, Response, Streaming};

    use super::*;

    /// A bidirectional echo: each message back with its number doubled, until the client ends.
    #[derive(Clone, Debug)]
    struct EchoServer;

    impl NamedService for EchoServer {
        const NAME: &'static str = "routemeter.test.Echo";
    }

    type Echoes = BoxStream<'static, Result<CountReply, Status>>;

    async fn chat(request: Request<Streaming<CountReply>>) -> Result<Response<Echoes>, Status> {
        let inbound = request.into_inner();
        let echoes = inbound.map(|m| m.map(|r| CountReply { i: r.i * 2 }));
        Ok(Response::new(echoes.boxed()))
    }

    impl tower::Service<http::Request<tonic::body::Body>> for EchoServer {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                    CountReply,
                    CountReply,
                >::default());
                Ok(grpc.streaming(tower::service_fn(chat), req).await)
            })
        }
    }

    #[tokio::test]
    async fn bidirectional_calls_and_http_routes_on_one_axum_port() {
        let meter = TestMeter::new();
        let layer = meter
            .layer_builder()
            .grpc_service(EchoServer::NAME, ["Chat"])
            .unwrap()
            .build();
        let app = tonic::service::Routes::new(EchoServer)
            .into_axum_router()
            .route("/health", get(|| async { "ok" }))
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        // Three messages, 40 ms apart, then the client ends its side.
        let outbound = futures_util::stream::unfold(1u32, |i| async move {
            if i > 3 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
            Some((CountReply { i }, i + 1))
        });
        let mut echoes = grpc
            .streaming(
                tonic::Request::new(outbound),
                PathAndQuery::from_static("/routemeter.test.Echo/Chat"),
                tonic_prost::ProstCodec::<CountReply, CountReply>::default(),
            )
            .await
            .unwrap()
            .into_inner();
        let mut got = Vec::new();
        while let Some(reply) = echoes.message().await.unwrap() {
            got.push(reply.i);
        }
        assert_eq!(got, [2, 4, 6]);
        let (status, body) = common::Client::new()
            .get(&format!("http://{addr}/health"))
            .await;
        assert_eq!((status, body.as_str()), (200, "ok"));

        let snapshot = meter.snapshot();
        let chat = snapshot.grpc_method("routemeter.test.Echo/Chat");
        chat.assert_count(1)
            .assert_grpc_status(GrpcCode::Ok, 1)
            .assert_no_errors();
        // Timed to the end of both streams: the third message leaves the client 80 ms after
        // the first, which leaves after the call's head (the first pause may start before the
        // head arrives).
        assert!(chat.min() >= Duration::from_millis(80), "{chat}");
        // The HTTP route beside it is an HTTP request, as without gRPC support.
        snapshot
            .endpoint("GET", "/health")
            .assert_count(1)
            .assert_status(200, 1);
        assert_eq!(snapshot.routes(), ["/health"]);
        server.abort();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn request_logs_carry_the_grpc_status() {
    let captured = common::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = Server::start_with(|b| b.request_log(routemeter::RequestLog::all())).await;
    let channel = server.channel().await;
    assert_eq!(say_hello(&channel, "fail").await, Code::Internal);
    assert_eq!(say_hello(&channel, "nobody").await, Code::NotFound);
    server.stop().await;

    let text = captured.text();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["message"] == "request finished")
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!(events[0]["grpc_status"], "INTERNAL", "{text}");
    assert_eq!(events[0]["error_type"], "INTERNAL", "{text}");
    assert_eq!(events[0]["level"], "ERROR", "{text}");
    assert_eq!(events[1]["grpc_status"], "NOT_FOUND", "{text}");
    assert_eq!(events[1]["level"], "INFO", "{text}");
    assert!(events[1].get("error_type").is_none(), "{text}");
}
