//! Requests per second over loopback sockets for each stack: each stack is served by
//! `axum::serve` on 127.0.0.1, and an in-process HTTP/1 client keeps a fixed number of requests
//! in flight for a fixed time. The stacks take turns in several rounds, so drift of the machine
//! spreads evenly over them; each stack's figure is its mean over the rounds.
//!
//! Run: `cargo bench -p routemeter-integrations --bench throughput` (about 45 s). `THROUGHPUT_SECONDS` changes the time
//! per stack and round (default 1.5), `THROUGHPUT_ROUNDS` the rounds (default 5), and
//! `THROUGHPUT_STACKS` (e.g. `0,3`) measures only the stacks with those indices (bare is always
//! the first).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const CONCURRENCY: usize = 32;

async fn measure(stack: &str, seconds: f64) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = support::app(stack);
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONCURRENCY)
        .build_http();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let uri: http::Uri = format!("http://{addr}/users/42").parse().unwrap();
    // Warm up connections and series.
    for _ in 0..CONCURRENCY {
        let resp = client.get(uri.clone()).await.unwrap();
        resp.into_body().collect().await.unwrap();
    }
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, done, stop, uri) =
                (client.clone(), done.clone(), stop.clone(), uri.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let resp = client.get(uri.clone()).await.unwrap();
                    assert_eq!(resp.status(), 200);
                    resp.into_body().collect().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    for w in workers {
        w.await.unwrap();
    }
    server.abort();
    done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

fn main() {
    let env = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let seconds = env("THROUGHPUT_SECONDS", 1.5);
    let rounds = env("THROUGHPUT_ROUNDS", 5.0) as usize;
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let chosen: Vec<&str> = match std::env::var("THROUGHPUT_STACKS") {
            Ok(list) => std::iter::once(support::STACKS[0])
                .chain(
                    list.split(',')
                        .filter_map(|i| i.trim().parse::<usize>().ok())
                        .filter(|&i| i > 0 && i < support::STACKS.len())
                        .map(|i| support::STACKS[i]),
                )
                .collect(),
            Err(_) => support::STACKS.to_vec(),
        };
        let mut totals = vec![0.0; chosen.len()];
        for _ in 0..rounds {
            for (i, stack) in chosen.iter().enumerate() {
                totals[i] += measure(stack, seconds).await / rounds as f64;
            }
        }
        let bare = totals[0];
        println!(
            "\nthroughput over loopback: {CONCURRENCY} requests in flight, {rounds} rounds of {seconds} s per stack, 2 worker threads"
        );
        for (stack, rps) in chosen.iter().zip(totals) {
            println!("  {stack:<44} {rps:>10.0} req/s  {:>6.1}% of bare", rps / bare * 100.0);
        }
    });
}
