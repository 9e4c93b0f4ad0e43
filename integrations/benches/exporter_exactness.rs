//! Do the bridges to hosted platforms export every request while they flush? Sends N requests
//! (1,000,000 unless given) on 2 threads through a routemeter layer into each bridge while it
//! exports without pause, then compares what left the process with the observations that
//! reached the bridge (counted by a thin recorder in between, so a loss is the bridge's own):
//!
//! - `metrics-exporter-otel` into the OpenTelemetry SDK, whose periodic reader is made to
//!   collect and export in a loop (`force_flush`), with delta temporality (each export resets
//!   the SDK's state) and cumulative;
//! - `metrics-exporter-dogstatsd`, flushing every millisecond to a Unix datagram socket (which,
//!   unlike UDP, never drops a datagram: a full socket makes the sender wait).
//!
//! Usage: `cargo bench -p routemeter-integrations --bench exporter_exactness [-- REQUESTS [ROUNDS]]`.

use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics::{Key, KeyName, Metadata, Recorder, SharedString, Unit};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use routemeter_integrations::drive;
use routemeter_integrations::otel_counting;

use otel_counting::CountingExporter;

const THREADS: u64 = 2;

/// A recorder that counts the observations handed to the duration histogram, then passes
/// everything on to the bridge.
struct Counting<R> {
    inner: R,
    calls: Arc<AtomicU64>,
}

struct CountingHistogram {
    inner: metrics::Histogram,
    calls: Arc<AtomicU64>,
}

impl metrics::HistogramFn for CountingHistogram {
    fn record(&self, value: f64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.record(value);
    }
}

impl<R: Recorder> Recorder for Counting<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Counter {
        self.inner.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Gauge {
        self.inner.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Histogram {
        let inner = self.inner.register_histogram(key, metadata);
        if key.name().contains("duration") {
            metrics::Histogram::from_arc(Arc::new(CountingHistogram {
                inner,
                calls: Arc::clone(&self.calls),
            }))
        } else {
            inner
        }
    }
}

/// One measurement: requests sent, observations that reached the bridge, values exported,
/// exports (or datagrams) meanwhile.
struct Outcome {
    sent: u64,
    reached: u64,
    exported: u64,
    exports: u64,
}

fn otel(requests: u64, temporality: Temporality) -> Outcome {
    let (exporter, seen) = CountingExporter::new(temporality);
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let recorder = metrics_exporter_otel::OpenTelemetryRecorder::new(provider.meter("routemeter"));
    let naming = routemeter::Naming::new(routemeter::NamingScheme::OpenTelemetryDotted);
    recorder.set_histogram_bounds(
        &KeyName::from(naming.duration().to_owned()),
        routemeter::DEFAULT_DURATION_BUCKETS.to_vec(),
    );
    let calls = Arc::new(AtomicU64::new(0));
    let layer = routemeter::RouteMeterLayer::builder()
        .naming(naming)
        .recorder(Counting {
            inner: recorder,
            calls: Arc::clone(&calls),
        })
        .route_fn(|_| Some("/hot"))
        .build();
    let stop = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (stop, provider) = (Arc::clone(&stop), provider.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                provider.force_flush().unwrap();
            }
        })
    };
    drive::send(&layer, requests, THREADS);
    stop.store(true, Ordering::Relaxed);
    flusher.join().unwrap();
    provider.force_flush().unwrap();
    let (exports, sum, last) = *seen.lock().unwrap();
    provider.shutdown().unwrap();
    Outcome {
        sent: requests / THREADS * THREADS,
        reached: calls.load(Ordering::Relaxed),
        exported: if temporality == Temporality::Delta {
            sum
        } else {
            last
        },
        exports,
    }
}

fn dogstatsd(requests: u64) -> Outcome {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "routemeter-exporter-exactness-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dogstatsd.socket");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let recorder = metrics_exporter_dogstatsd::DogStatsDBuilder::default()
        .with_remote_address(format!("unixgram://{}", path.display()))
        .unwrap()
        .with_flush_interval(Duration::from_millis(1))
        .with_write_timeout(Duration::from_secs(10))
        .with_telemetry(false)
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let layer = routemeter::RouteMeterLayer::builder()
        .recorder(Counting {
            inner: recorder,
            calls: Arc::clone(&calls),
        })
        .route_fn(|_| Some("/hot"))
        .build();
    let sent = requests / THREADS * THREADS;
    let writers_done = Arc::new(AtomicBool::new(false));
    let reader = {
        let writers_done = Arc::clone(&writers_done);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            let (mut values, mut datagrams) = (0u64, 0u64);
            // Gauges arrive at every flush, so silence never comes: read until the writers are
            // done and no duration value has come for a second (every value sent by then has
            // arrived: flushes are a millisecond apart), or for a minute at most.
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut last_value = Instant::now();
            while Instant::now() < deadline
                && !(writers_done.load(Ordering::Relaxed)
                    && last_value.elapsed() > Duration::from_secs(1))
            {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue;
                };
                datagrams += 1;
                for line in String::from_utf8_lossy(&buf[..n]).lines() {
                    if let Some(rest) = line.strip_prefix("http_server_request_duration_seconds:") {
                        let value_field = rest.split('|').next().unwrap_or_default();
                        values += value_field.split(':').count() as u64;
                        last_value = Instant::now();
                    }
                }
            }
            (values, datagrams)
        })
    };
    drive::send(&layer, requests, THREADS);
    writers_done.store(true, Ordering::Relaxed);
    let (exported, exports) = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        sent,
        reached: calls.load(Ordering::Relaxed),
        exported,
        exports,
    }
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<u64>());
    let requests = match args.next() {
        Some(Ok(n)) if n >= THREADS => n,
        None => 1_000_000,
        _ => {
            eprintln!("usage: exporter_exactness [REQUESTS (at least {THREADS})] [ROUNDS]");
            std::process::exit(2);
        }
    };
    let rounds = match args.next() {
        Some(Ok(n)) if n >= 1 => n,
        None => 3,
        _ => {
            eprintln!("ROUNDS must be a positive integer");
            std::process::exit(2);
        }
    };
    println!(
        "| bridge | requests | reached the bridge | exported | lost | exports or datagrams meanwhile |"
    );
    println!("|---|---|---|---|---|---|");
    for _ in 0..rounds {
        for (name, outcome) in [
            (
                "metrics-exporter-otel, delta",
                otel(requests, Temporality::Delta),
            ),
            (
                "metrics-exporter-otel, cumulative",
                otel(requests, Temporality::Cumulative),
            ),
            ("metrics-exporter-dogstatsd", dogstatsd(requests)),
        ] {
            println!(
                "| {name} | {} | {} | {} | {} | {} |",
                outcome.sent,
                outcome.reached,
                outcome.exported,
                outcome.reached as i64 - outcome.exported as i64,
                outcome.exports
            );
        }
    }
}
