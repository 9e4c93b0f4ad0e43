//! Counts are exact while scrapes run concurrently: in process with millions of requests on
//! several threads, and over real sockets with many keep-alive clients and several scrapers.
//! Every render along the way must be consistent (buckets never above `_count`, `+Inf` equal
//! to it). The series budget bounds the label sets of each metric however methods and routes
//! are sprayed, and the requests beyond it are still counted, under the overflow series.

use crate::common;
use crate::common::metrics;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt;
use http_body_util::BodyExt;
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};
use tower::{Layer, Service};

const THREADS: usize = 4;
const REQUESTS_PER_THREAD: u64 = 500_000;

/// The `_count` and the cumulative bucket values of the duration histogram of `route`, from
/// one render; asserts they are consistent.
fn check_render(text: &str, route: &str) -> u64 {
    let needle = format!("http_route=\"{route}\"");
    let mut buckets = Vec::new();
    let mut count = None;
    for line in text.lines() {
        if !line.contains(&needle) {
            continue;
        }
        let value = || line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        if line.starts_with("http_server_request_duration_seconds_bucket{") {
            buckets.push(value());
        } else if line.starts_with("http_server_request_duration_seconds_count{") {
            count = Some(value());
        }
    }
    let Some(count) = count else { return 0 };
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "buckets decrease: {buckets:?}"
    );
    assert_eq!(buckets.last(), Some(&count), "+Inf differs from _count");
    count
}

/// Renders continuously until `stop`, checking every render; returns how many ran.
fn scrape_loop(metrics: &PrometheusMetrics, stop: &AtomicBool, route: &str) -> u64 {
    let mut renders = 0;
    let mut last = 0;
    while !stop.load(Ordering::Relaxed) {
        let count = check_render(&metrics.render(), route);
        assert!(count >= last, "count went back from {last} to {count}");
        last = count;
        renders += 1;
    }
    renders
}

#[test]
fn two_million_requests_under_continuous_renders_are_all_counted() {
    let metrics = metrics();
    let layer = metrics.layer_builder().route_fn(|_| Some("/hot")).build();
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (metrics, stop) = (metrics.clone(), Arc::clone(&stop));
        std::thread::spawn(move || scrape_loop(&metrics, &stop, "/hot"))
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|_| {
            let mut svc = ok_service(&layer);
            std::thread::spawn(move || {
                for _ in 0..REQUESTS_PER_THREAD {
                    call(&mut svc, "GET", "/");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let renders = scraper.join().unwrap();
    let text = metrics.render();
    assert_eq!(
        check_render(&text, "/hot"),
        THREADS as u64 * REQUESTS_PER_THREAD
    );
    assert!(
        renders > 10,
        "only {renders} renders ran beside the requests"
    );
    assert!(
        text.contains(
            "http_server_active_requests{http_request_method=\"GET\",http_route=\"/hot\",url_scheme=\"http\"} 0\n"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_and_concurrent_scrapers_over_loopback() {
    const CLIENTS: usize = 64;
    const PER_CLIENT: usize = 300;
    const SCRAPERS: usize = 4;
    let metrics = metrics();
    let app = axum::Router::new()
        .route("/hot", axum::routing::get(|| async { "ok" }))
        .layer(metrics.layer())
        .route("/metrics", metrics.endpoint());
    let (addr, server) = serve(app).await;

    let stop = Arc::new(AtomicBool::new(false));
    let scrapers: Vec<_> = (0..SCRAPERS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let client = common::Client::new();
                let mut last = 0;
                let mut scrapes = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let (status, text) = client.get(&format!("http://{addr}/metrics")).await;
                    assert_eq!(status, 200);
                    let count = check_render(&text, "/hot");
                    assert!(count >= last);
                    last = count;
                    scrapes += 1;
                }
                scrapes
            })
        })
        .collect();
    // One client per task: hyper's pool keeps each one's connection alive.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(async move {
                let client = common::Client::new();
                for _ in 0..PER_CLIENT {
                    assert_eq!(client.get(&format!("http://{addr}/hot")).await.0, 200);
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for s in scrapers {
        assert!(s.await.unwrap() > 0);
    }
    assert_eq!(
        check_render(&metrics.render(), "/hot"),
        (CLIENTS * PER_CLIENT) as u64
    );
    server.abort();
}

/// Sends one request with `method` to `path` through `svc` and reads the body.
fn call<S>(svc: &mut S, method: &str, path: &str)
where
    S: Service<http::Request<String>, Response = http::Response<routemeter::ResponseBody<String>>>,
    S::Error: std::fmt::Debug,
{
    let req = http::Request::builder()
        .method(http::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .body(String::new())
        .unwrap();
    let response = svc.call(req).now_or_never().unwrap().unwrap();
    response
        .into_body()
        .collect()
        .now_or_never()
        .unwrap()
        .unwrap();
}

/// Label sets per metric family in `text`, and the sum of the duration `_count`s.
fn label_sets(text: &str) -> (std::collections::HashMap<String, usize>, u64) {
    let mut sets = std::collections::HashMap::new();
    let mut total = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        if name.ends_with("_bucket") || name.ends_with("_sum") {
            continue;
        }
        let family = name.strip_suffix("_count").unwrap_or(name);
        *sets.entry(family.to_owned()).or_default() += 1;
        if name == "http_server_request_duration_seconds_count" {
            total += line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        }
    }
    (sets, total)
}

const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PURGE",
];

/// Serves `app` on a free loopback port; abort the task to stop it.
async fn serve(app: axum::Router) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, server)
}

/// A service answering `ok` to everything, wrapped in `layer`.
fn ok_service(
    layer: &routemeter::RouteMeterLayer,
) -> impl Service<
    http::Request<String>,
    Response = http::Response<routemeter::ResponseBody<String>>,
    Error = Infallible,
> + Send
+ use<> {
    layer.layer(tower::service_fn(|_req: http::Request<String>| async {
        Ok::<_, Infallible>(http::Response::new(String::from("ok")))
    }))
}

#[test]
fn the_series_budget_folds_new_label_sets_and_loses_no_request() {
    let metrics = metrics();
    // Raw paths as routes, 10 of them, every method: 100 (route, method) pairs.
    let layer = metrics
        .layer_builder()
        .route_fn(|req| Some(req.path().to_owned()))
        .max_series(50)
        .build();
    let mut svc = ok_service(&layer);
    for route in 0..10 {
        for method in METHODS {
            call(&mut svc, method, &format!("/r/{route}"));
        }
    }
    // Pairs seen before keep their own series after the budget is spent.
    call(&mut svc, "GET", "/r/0");
    let text = metrics.render();
    let (sets, total) = label_sets(&text);
    assert_eq!(total, 101, "a request was lost");
    // 50 label sets of their own, plus the overflow series.
    assert_eq!(sets["http_server_request_duration_seconds"], 51, "{text}");
    assert_eq!(sets["http_server_active_requests"], 51, "{text}");
    assert!(text.contains(
        "http_server_request_duration_seconds_count{http_request_method=\"_OTHER\",http_route=\"__overflow__\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 50\n"
    ), "{text}");
    assert!(text.contains(
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/r/0\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 2\n"
    ), "{text}");
    assert!(
        text.contains("routemeter_route_overflow_total 50\n"),
        "{text}"
    );
}

#[test]
fn a_method_spray_over_a_thousand_routes_stays_within_the_default_budget() {
    let metrics = metrics();
    let layer = metrics
        .layer_builder()
        .route_fn(|req| Some(req.path().to_owned()))
        .build();
    let mut svc = ok_service(&layer);
    for route in 0..1000 {
        for method in METHODS {
            call(&mut svc, method, &format!("/r/{route}"));
        }
    }
    let text = metrics.render();
    let (sets, total) = label_sets(&text);
    assert_eq!(total, 10_000, "a request was lost");
    let budget = routemeter::DEFAULT_MAX_SERIES;
    for family in [
        "http_server_request_duration_seconds",
        "http_server_active_requests",
    ] {
        assert_eq!(sets[family], budget + 1, "{family}");
    }
    assert!(
        text.contains(&format!(
            "routemeter_route_overflow_total {}\n",
            10_000 - budget
        )),
        "overflow counter"
    );
    // Bounded output: the lines of a full budget, not of every combination.
    let lines = text.lines().count();
    eprintln!("a method spray over 1,000 routes: {lines} exposition lines");
    assert!(lines < 100_000, "{lines} lines");
}

/// Concurrent scrapes share renders: 50 scrapes of 1,000 routes released at once take a few
/// renders, not 50, and every one of them gets the whole exposition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_share_one_render() {
    const SCRAPES: usize = 50;
    let metrics = metrics();
    let layer = metrics
        .layer_builder()
        .route_fn(|req| Some(req.path().to_owned()))
        .build();
    let mut svc = ok_service(&layer);
    for route in 0..1000 {
        call(&mut svc, "GET", &format!("/r/{route}"));
    }
    let app = axum::Router::new().route("/metrics", metrics.endpoint());
    let (addr, server) = serve(app).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(SCRAPES));
    let scrapes: Vec<_> = (0..SCRAPES)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let client = common::Client::new();
                // Connect first, so the scrapes themselves arrive together.
                client.get(&format!("http://{addr}/nothing")).await;
                barrier.wait().await;
                client.get(&format!("http://{addr}/metrics")).await
            })
        })
        .collect();
    for s in scrapes {
        let (status, text) = s.await.unwrap();
        assert_eq!(status, 200);
        // Each scrape is counted before the render it is served, which never runs ahead.
        let count = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (scraped, rendered) = (
            count("routemeter_scrapes_total").expect("the scrape itself is counted"),
            count("routemeter_scrape_renders_total").expect("the render itself is counted"),
        );
        assert!(
            (1..=scraped).contains(&rendered),
            "{scraped} scrapes, {rendered} renders"
        );
        let (sets, total) = label_sets(&text);
        assert_eq!(total, 1000);
        assert_eq!(sets["http_server_request_duration_seconds"], 1000);
    }
    let text = metrics.render();
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(counter("routemeter_scrapes_total"), SCRAPES as u64);
    let renders = counter("routemeter_scrape_renders_total");
    eprintln!("{SCRAPES} concurrent scrapes took {renders} renders");
    assert!(
        (1..=10).contains(&renders),
        "{SCRAPES} concurrent scrapes took {renders} renders"
    );
    server.abort();
}

/// A scrape sees every request answered before it was sent, even while other scrapers keep a
/// render under way all the time: sharing a render never hands out one that started earlier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_sees_every_request_answered_before_it() {
    const ROUNDS: u64 = 150;
    // Process metrics on, and a thousand other series: renders take a while, as real ones do.
    let metrics = PrometheusBuilder::new().build().unwrap();
    let layer = metrics
        .layer_builder()
        .route_fn(|req| Some(req.path().to_owned()))
        .build();
    let mut svc = ok_service(&layer);
    for route in 0..1000 {
        call(&mut svc, "GET", &format!("/r/{route}"));
    }
    let app = axum::Router::new()
        .route("/hot", axum::routing::get(|| async { "ok" }))
        .layer(metrics.layer())
        .route("/metrics", metrics.endpoint());
    let (addr, server) = serve(app).await;
    let stop = Arc::new(AtomicBool::new(false));
    let background: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let client = common::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    client.get(&format!("http://{addr}/metrics")).await;
                }
            })
        })
        .collect();
    let client = common::Client::new();
    for sent in 1..=ROUNDS {
        assert_eq!(client.get(&format!("http://{addr}/hot")).await.0, 200);
        let (status, text) = client.get(&format!("http://{addr}/metrics")).await;
        assert_eq!(status, 200);
        assert_eq!(check_render(&text, "/hot"), sent, "a stale scrape");
    }
    stop.store(true, Ordering::Relaxed);
    for b in background {
        b.await.unwrap();
    }
    server.abort();
}

/// A scrape outside a Tokio runtime renders in place; a scrape whose render task never runs (its
/// runtime shut down) fails alone, and later scrapes are answered as usual.
#[test]
fn scrapes_without_a_runtime_or_after_one_ends_do_not_wedge_the_endpoint() {
    let metrics = metrics();
    let headers = http::HeaderMap::new();
    let outside = metrics
        .scrape(&headers)
        .now_or_never()
        .expect("rendered in place");
    assert_eq!(outside.status(), 200);

    let dead = tokio::runtime::Runtime::new().unwrap();
    let handle = dead.handle().clone();
    drop(dead);
    {
        let _entered = handle.enter();
        let failed = metrics.scrape(&headers).now_or_never();
        assert!(
            failed.is_none_or(|r| r.status() == 500),
            "a render that never ran is an error, not a hang"
        );
    }

    let live = tokio::runtime::Runtime::new().unwrap();
    for accept in ["text/plain", "application/openmetrics-text"] {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, accept.parse().unwrap());
        let answered = live.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), metrics.scrape(&headers)).await
        });
        assert_eq!(answered.expect("answered").status(), 200, "{accept}");
    }
}

/// `record_many` with counts at and past 2^63 (a hostile or buggy caller) renders within a
/// second in every format, with cumulative buckets and `+Inf` equal to a count that is exact
/// below 2^62 and saturated there, and later scrapes of the same histogram are answered too.
#[test]
fn huge_record_many_counts_saturate_and_every_render_completes() {
    use metrics::{Key, Level, Metadata, Recorder};
    const SATURATED: u64 = 1 << 62;
    let metadata = Metadata::new("test", Level::INFO, None);
    for (times, expected) in [
        ((1u64 << 62) - 5, (1u64 << 62) - 2),
        ((1 << 63) - 1, SATURATED),
        (1 << 63, SATURATED),
        (u64::MAX, SATURATED),
    ] {
        let metrics = metrics();
        let key = Key::from_parts(
            "http_server_request_duration_seconds",
            vec![metrics::Label::new("http_route", "/huge")],
        );
        let histogram = metrics.recorder().register_histogram(&key, &metadata);
        histogram.record(0.001);
        histogram.record_many(0.3, usize::try_from(times).unwrap());
        histogram.record(0.001);
        histogram.record(20.0);
        let (done, renders) = std::sync::mpsc::channel();
        let renderer = metrics.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                let text = renderer.render();
                let openmetrics = renderer.render_openmetrics();
                let protobuf = renderer.render_protobuf();
                if done.send((text, openmetrics, protobuf.len())).is_err() {
                    return;
                }
            }
        });
        for _ in 0..3 {
            let (text, openmetrics, protobuf) = renders
                .recv_timeout(std::time::Duration::from_secs(1))
                .unwrap_or_else(|_| panic!("a render of {times} observations took over 1 s"));
            assert_eq!(check_render(&text, "/huge"), expected, "{times}\n{text}");
            assert_eq!(check_render(&openmetrics, "/huge"), expected, "{times}");
            assert!(protobuf > 0);
        }
    }
}
