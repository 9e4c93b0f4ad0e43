//! Sends requests through a layer from several threads at once, without a runtime: each request
//! is polled once (the service answers at once) and its body read to the end, so the layer
//! records it. Shared by the exactness benches and the tests that check counts under load.

use std::convert::Infallible;

use futures_util::FutureExt;
use http_body_util::BodyExt;
use tower::{Layer, Service};

/// Sends `requests` (rounded down to a multiple of `threads`) through `layer` wrapped around a
/// service answering `ok`, on `threads` threads; returns when all are recorded.
pub fn send(layer: &routemeter::RouteMeterLayer, requests: u64, threads: u64) {
    let writers: Vec<_> = (0..threads)
        .map(|_| {
            let mut svc = layer.layer(tower::service_fn(|_req: http::Request<String>| async {
                Ok::<_, Infallible>(http::Response::new(String::from("ok")))
            }));
            std::thread::spawn(move || {
                for _ in 0..requests / threads {
                    let response = svc
                        .call(http::Request::new(String::new()))
                        .now_or_never()
                        .expect("the service answers at once")
                        .expect("the service never fails");
                    response
                        .into_body()
                        .collect()
                        .now_or_never()
                        .expect("the body is ready")
                        .expect("the body never fails");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a sending thread panicked");
    }
}
