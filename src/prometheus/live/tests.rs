//! The sampler and its JSON together: what the page shows after requests, over time, with
//! hostile labels and with many routes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{Key, Label, Recorder};

use super::Limits;
use super::sampler::{CAPACITY, INTERVAL, Live};
use super::track::{MAX_ERROR_TYPES, OTHER_ERRORS};
use crate::names::Naming;
use crate::prometheus::store::{Buckets, PrometheusRecorder, Store};

static META: metrics::Metadata<'static> = metrics::Metadata::new("t", metrics::Level::INFO, None);

fn recorder() -> PrometheusRecorder {
    PrometheusRecorder {
        store: Arc::new(Store::new(
            &[],
            Buckets {
                by_route: Vec::new(),
                by_name: Vec::new(),
                native_by_route: Vec::new(),
                default: Arc::from(&[0.1, 0.5, 1.0][..]),
            },
        )),
    }
}

fn key(naming: &Naming, route: &str, method: &str, status: &str, error: Option<&str>) -> Key {
    let mut labels = vec![
        Label::new(naming.method_key(), method.to_owned()),
        Label::new(naming.route_key(), route.to_owned()),
        Label::new(naming.status_key(), status.to_owned()),
    ];
    if let (Some(k), Some(e)) = (naming.error_key(), error) {
        labels.push(Label::new(k, e.to_owned()));
    }
    Key::from_parts(naming.duration().to_owned(), labels)
}

/// The in-flight gauge of `GET route`.
fn active_key(naming: &Naming, route: &str) -> Key {
    let labels = vec![
        Label::new(naming.method_key(), "GET"),
        Label::new(naming.route_key(), route.to_owned()),
    ];
    Key::from_parts(naming.active().to_owned(), labels)
}

/// Limits small enough to fill in a few samples.
const SMALL: Limits = Limits {
    interval: INTERVAL,
    capacity: 4,
    window: 2,
    max_pairs: 10,
    history_values: usize::MAX,
};

fn json(live: &Live, since: Option<u64>) -> serde_json::Value {
    serde_json::from_str(&live.json(since)).unwrap()
}

#[test]
fn samples_rates_errors_and_quantiles_over_the_window() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), SMALL);
    let ok = r.register_histogram(&key(&naming, "/a", "GET", "200", None), &META);
    let failed = r.register_histogram(&key(&naming, "/a", "GET", "503", Some("503")), &META);
    let timeout = r.register_histogram(&key(&naming, "/a", "GET", "500", Some("timeout")), &META);
    let active = r.register_gauge(&active_key(&naming, "/a"), &META);
    ok.record(0.05);
    let t0 = Instant::now();
    live.sample(t0);
    let v = json(&live, None);
    // The first sample has no earlier cut: totals, but no rate yet.
    assert_eq!(v["seq"], 1);
    assert_eq!(v["routes"][0]["total"], 1);
    assert!(v["routes"][0]["rate"].is_null());

    for _ in 0..8 {
        ok.record(0.05);
    }
    failed.record(0.3);
    timeout.record(2.0);
    active.set(3.0);
    live.sample(t0 + Duration::from_secs(2));
    let v = json(&live, None);
    let a = &v["routes"][0];
    assert_eq!(
        (a["route"].as_str(), a["method"].as_str()),
        (Some("/a"), Some("GET"))
    );
    assert_eq!(a["total"], 11);
    assert_eq!(a["errors_total"], 2);
    assert_eq!(a["in_flight"], 3.0);
    // 10 requests in 2 s; 2 of them failed, one per type.
    assert_eq!(a["rate"], 5.0);
    assert_eq!(a["error_pct"], 20.0);
    let errors: Vec<(String, f64)> = serde_json::from_value(a["errors"].clone()).unwrap();
    assert_eq!(errors, [("503".into(), 10.0), ("timeout".into(), 10.0)]);
    // 8 of 10 in (0, 0.1]: p50 is 0.1 × 5/8.
    assert!((a["p50"].as_f64().unwrap() - 0.0625).abs() < 1e-6, "{a}");
    assert_eq!(a["p99"], 1.0);
    assert_eq!(a["history"]["rate"], serde_json::json!([null, 5.0]));
    assert_eq!(a["history"]["in_flight"], serde_json::json!([0.0, 3.0]));
    assert_eq!(a["from"], 1);

    // Past the window, old requests no longer count; past the capacity, old samples go.
    for i in 3..=6 {
        live.sample(t0 + Duration::from_secs(2 * i));
    }
    let v = json(&live, None);
    let a = &v["routes"][0];
    assert_eq!(a["rate"], 0.0);
    assert!(a["error_pct"].is_null());
    assert_eq!(a["history"]["rate"].as_array().unwrap().len(), 4);
    assert_eq!(a["from"], 3);
    // A page that has sample 5 gets only the newest.
    let v = json(&live, Some(5));
    assert_eq!(v["routes"][0]["from"], 6);
    assert_eq!(
        v["routes"][0]["history"]["p50"].as_array().unwrap().len(),
        1
    );
    // A page that is too far behind (or from another instance) gets everything kept.
    let v = json(&live, Some(1));
    assert_eq!(v["routes"][0]["from"], 3);
    let v = json(&live, Some(99));
    assert_eq!(v["routes"][0]["from"], 3);
}

#[test]
fn a_pair_that_appears_later_counts_from_zero() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    let t0 = Instant::now();
    live.sample(t0);
    r.register_histogram(&key(&naming, "/new", "POST", "201", None), &META)
        .record_many(0.2, 4);
    live.sample(t0 + Duration::from_secs(2));
    let v = json(&live, None);
    assert_eq!(v["routes"][0]["rate"], 2.0);
    assert_eq!(v["routes"][0]["from"], 2);
}

#[test]
fn a_pair_first_seen_in_flight_gets_percentiles_once_requests_finish() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    let active = r.register_gauge(&active_key(&naming, "/stream"), &META);
    active.increment(1.0);
    let t0 = Instant::now();
    live.sample(t0);
    live.sample(t0 + INTERVAL);
    active.decrement(1.0);
    r.register_histogram(&key(&naming, "/stream", "GET", "200", None), &META)
        .record(0.3);
    live.sample(t0 + INTERVAL * 2);
    let v = json(&live, None);
    let a = &v["routes"][0];
    assert_eq!(
        a["history"]["in_flight"],
        serde_json::json!([1.0, 1.0, 0.0])
    );
    assert_eq!(a["total"], 1);
    assert!((a["p50"].as_f64().unwrap() - 0.3).abs() < 1e-9, "{a}");
}

#[test]
fn axum_prometheus_names_count_5xx_and_499_as_errors() {
    let naming = Naming::new(crate::NamingScheme::AxumPrometheus);
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    for (status, n) in [("200", 5), ("404", 1), ("499", 1), ("502", 3)] {
        r.register_histogram(&key(&naming, "/x", "GET", status, None), &META)
            .record_many(0.01, n);
    }
    let v = json(&live, None);
    let a = &v["routes"][0];
    assert_eq!(
        (a["total"].as_u64(), a["errors_total"].as_u64()),
        (Some(10), Some(4))
    );
    assert_eq!(
        a["error_totals"],
        serde_json::json!([["499", 1], ["502", 3]])
    );
}

#[test]
fn many_error_types_fold_into_other() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    let t0 = Instant::now();
    live.sample(t0);
    for i in 0..12u64 {
        let e = format!("e{i:02}");
        r.register_histogram(&key(&naming, "/x", "GET", "500", Some(&e)), &META)
            .record_many(0.01, (i + 1) as usize);
    }
    live.sample(t0 + Duration::from_secs(2));
    let v = json(&live, None);
    let errors = v["routes"][0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), MAX_ERROR_TYPES);
    let other = errors.iter().find(|e| e[0] == OTHER_ERRORS).unwrap();
    // e00..e04 (1 + 2 + 3 + 4 + 5 = 15 of 78) are the least frequent.
    assert!((other[1].as_f64().unwrap() - 15.0 * 100.0 / 78.0).abs() < 1e-3);
}

#[test]
fn hostile_labels_come_out_as_valid_json() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    let route = "/\"q\"</script><script>alert(1)</script>\u{2028}\n\\x\u{0}";
    r.register_histogram(&key(&naming, route, "GET", "500", Some("a\"b<i>")), &META)
        .record(0.1);
    live.sample(Instant::now());
    let text = live.json(None);
    assert!(
        !text.contains("</script>") && !text.contains('\u{2028}'),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["routes"][0]["route"], route);
    assert_eq!(v["routes"][0]["error_totals"][0][0], "a\"b<i>");
}

#[test]
fn memory_is_bounded_and_flat_with_a_thousand_routes() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
    let handles: Vec<_> = (0..1000)
        .map(|i| {
            let route = format!("/route/{i}/{{id}}");
            let ok = r.register_histogram(&key(&naming, &route, "GET", "200", None), &META);
            let err = r.register_histogram(&key(&naming, &route, "GET", "503", Some("503")), &META);
            (ok, err)
        })
        .collect();
    let t0 = Instant::now();
    let mut after_fill = 0;
    for tick in 0..(CAPACITY as u64 * 2 + 7) {
        for (ok, err) in &handles {
            ok.record(0.02);
            if tick % 3 == 0 {
                err.record(0.4);
            }
        }
        let started = Instant::now();
        live.sample(t0 + INTERVAL * tick as u32);
        if tick == CAPACITY as u64 {
            eprintln!("one sample of 1,000 pairs took {:?}", started.elapsed());
            after_fill = live.heap_bytes();
        }
    }
    let end = live.heap_bytes();
    assert_eq!(after_fill, end, "memory grew after the rings filled");
    // Rings are allocated in full up front, so the bound holds from the first sample.
    let per_pair = end / 1000;
    eprintln!("1,000 pairs hold {end} bytes of history, {per_pair} per pair");
    assert!(per_pair < 6 * 1024, "{per_pair} bytes per pair");
    let text = live.json(None);
    let newest = live.json(Some(CAPACITY as u64 * 2 + 6));
    eprintln!(
        "JSON of 1,000 pairs: {} bytes with the whole history, {} with one sample",
        text.len(),
        newest.len()
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["routes"].as_array().unwrap().len(), 1000);
    assert_eq!(v["untracked"], 0);
    // A call's history is bounded: each of the 1,000 pairs gets its newest 20 samples.
    let rate = v["routes"][0]["history"]["rate"].as_array().unwrap();
    assert_eq!(rate.len(), super::sampler::HISTORY_VALUES / 6 / 1000);
    assert!(text.len() < 2 << 20, "{} bytes", text.len());
    assert!(newest.len() * 2 < text.len());
}

#[test]
fn pairs_beyond_the_cap_have_totals_but_no_history() {
    let naming = Naming::default();
    let r = recorder();
    let limits = Limits {
        max_pairs: 3,
        ..Limits::PAGE
    };
    let live = Live::new(Arc::clone(&r.store), naming.clone(), limits);
    for i in 0..5 {
        r.register_histogram(&key(&naming, &format!("/{i}"), "GET", "200", None), &META)
            .record(0.1);
    }
    live.sample(Instant::now());
    let v = json(&live, None);
    let routes = v["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 5);
    assert_eq!(routes.iter().filter(|r| r["history"].is_null()).count(), 2);
    assert!(routes.iter().all(|r| r["total"] == 1));
    assert_eq!(v["untracked"], 2);
    assert_eq!(live.history.lock().unwrap().tracks.len(), 3);
}

#[test]
fn the_sampler_stops_when_the_state_is_dropped() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let r = recorder();
        let limits = Limits {
            interval: Duration::from_millis(10),
            ..Limits::PAGE
        };
        let live = Arc::new(Live::new(Arc::clone(&r.store), Naming::default(), limits));
        live.start();
        live.start();
        let weak = Arc::downgrade(&live);
        let tasks = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        assert_eq!(tasks(), 1, "one sampler, however often it is started");
        let mut waited = 0;
        while live.history.lock().unwrap().seq < 3 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert!(live.history.lock().unwrap().seq >= 3);
        drop(live);
        let mut waited = 0;
        while tasks() > 0 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(tasks(), 0, "the sampler did not stop");
        assert!(weak.upgrade().is_none());
    });
}

/// Saturated histograms (each count at 2^62) summed into one pair saturate the page's totals
/// instead of overflowing.
#[test]
fn saturated_counts_sum_without_overflow() {
    let naming = Naming::default();
    let r = recorder();
    let live = Live::new(Arc::clone(&r.store), naming.clone(), SMALL);
    for (status, error) in [
        ("200", None),
        ("201", None),
        ("500", Some("500")),
        ("503", Some("503")),
        ("504", Some("504")),
    ] {
        r.register_histogram(&key(&naming, "/a", "GET", status, error), &META)
            .record_many(0.05, usize::MAX);
    }
    let t0 = Instant::now();
    live.sample(t0);
    live.sample(t0 + Duration::from_secs(2));
    let v = json(&live, None);
    let a = &v["routes"][0];
    assert_eq!(a["total"].as_u64(), Some(u64::MAX), "{a}");
    assert_eq!(a["errors_total"].as_u64(), Some(3 << 62), "{a}");
}

/// A call's history is bounded however many pairs have one: each pair gets its share of
/// `history_values`, its newest samples, whatever `since` asks.
#[test]
fn a_response_carries_a_bounded_history() {
    let naming = Naming::default();
    let r = recorder();
    let pairs = 200;
    let limits = Limits {
        interval: INTERVAL,
        capacity: 30,
        window: 2,
        max_pairs: pairs,
        history_values: 1_200,
    };
    let live = Live::new(Arc::clone(&r.store), naming.clone(), limits);
    let handles: Vec<_> = (0..pairs)
        .map(|i| r.register_histogram(&key(&naming, &format!("/r/{i}"), "GET", "200", None), &META))
        .collect();
    let t0 = Instant::now();
    for s in 0..30u32 {
        for h in &handles {
            h.record(0.2);
        }
        live.sample(t0 + INTERVAL * s);
    }
    let history_values = |v: &serde_json::Value| -> usize {
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["history"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|f| f.as_array().unwrap().len())
                    .sum::<usize>()
            })
            .sum()
    };
    for since in [None, Some(3), Some(29)] {
        let v = json(&live, since);
        assert_eq!(v["routes"].as_array().unwrap().len(), pairs);
        assert!(
            history_values(&v) <= 1_200,
            "{since:?}: {}",
            history_values(&v)
        );
        // The newest sample is always there.
        assert!(
            v["routes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["from"] == 30)
        );
    }
    // The page's own limits: 10 samples each for 2,000 pairs.
    assert_eq!(Limits::PAGE.history_values / 6 / Limits::PAGE.max_pairs, 10);
}

/// With labels to keep apart, a route and method has a row per value of them, given as
/// `labels` (escaped in the JSON like any text); series without them share a row.
mod labels;
