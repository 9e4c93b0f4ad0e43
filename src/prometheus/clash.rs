//! Which names a family takes in the expositions, and which family keeps a name two want.
//!
//! A family writes more names than its own: a histogram `h` writes `h_bucket`, `h_sum` and
//! `h_count`; in OpenMetrics a counter `c_total` is the family `c`, and scrapers reserve
//! `c_created` and `h_created` too. Two families that share any of these names, in either
//! format, would give a scraper two `# TYPE` lines for one name or one series twice: Prometheus
//! keeps one value silently, strict parsers refuse the whole scrape. So the family that gets
//! its first series first keeps its names, and a later one that wants any of them is not
//! written at all, in both formats alike (a series does not come and go with the format
//! asked for). Which family that is never changes afterwards: the series of a written family
//! are never dropped later.

use std::collections::HashMap;

use super::exposition::text::Kind;

/// The self-metric that counts the series left out of the exposition, by family.
pub(crate) const DROPPED: &str = "routemeter_exposition_dropped_series_total";

/// The names every written family takes, to the family that took them.
#[derive(Debug)]
pub(crate) struct Names {
    taken: HashMap<String, String>,
}

impl Default for Names {
    fn default() -> Self {
        let mut names = Self {
            taken: HashMap::new(),
        };
        // The recorder's own count of dropped series is always written when there are any,
        // so its names are taken from the start.
        let taken = names.claim(DROPPED, Kind::Counter);
        debug_assert!(taken.is_ok());
        names
    }
}

impl Names {
    /// Takes every name the family `name` of `kind` writes, or says which family has one.
    pub(crate) fn claim(&mut self, name: &str, kind: Kind) -> Result<(), String> {
        let wanted = written_names(name, kind);
        if let Some(owner) = wanted.iter().find_map(|n| self.taken.get(n)) {
            return Err(owner.clone());
        }
        for n in wanted {
            self.taken.insert(n, name.to_owned());
        }
        Ok(())
    }
}

/// Every name the family `name` of `kind` writes or reserves, in the Prometheus text format
/// and in OpenMetrics: its `# TYPE` names and its sample names.
pub(crate) fn written_names(name: &str, kind: Kind) -> Vec<String> {
    let with = |suffix: &str| format!("{name}{suffix}");
    match kind {
        Kind::Gauge => vec![name.to_owned()],
        Kind::Counter => match name.strip_suffix("_total") {
            // OpenMetrics: the family `base`, its samples `base_total` and `base_created`.
            Some(base) if !base.is_empty() => {
                vec![name.to_owned(), base.to_owned(), format!("{base}_created")]
            }
            // Typed `unknown` in OpenMetrics, under its own name.
            _ => vec![name.to_owned()],
        },
        Kind::Histogram => vec![
            name.to_owned(),
            with("_bucket"),
            with("_sum"),
            with("_count"),
            with("_created"),
        ],
    }
}

/// Says, once per family (when it gets its first series), that it is left out and why.
pub(crate) fn warn(name: &str, owner: &str) {
    tracing::warn!(
        metric = name,
        kept = owner,
        "metric family left out of the exposition: a family registered earlier writes a name it would write too (through suffixes such as _total, _bucket, _sum, _count or _created); its series count in routemeter_exposition_dropped_series_total"
    );
}

/// Says, once per family, that keys of it were left out because their labels, once written,
/// are another series' labels.
pub(crate) fn warn_labels(name: &str) {
    tracing::warn!(
        metric = name,
        "metric series left out of the exposition: its label names, once made valid (or a name given twice), are another series' labels; such series count in routemeter_exposition_dropped_series_total"
    );
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_first_family_keeps_its_names() {
        let mut names = Names::default();
        assert_eq!(names.claim("clash", Kind::Gauge), Ok(()));
        assert_eq!(
            names.claim("clash_total", Kind::Counter),
            Err("clash".to_owned())
        );
        assert_eq!(names.claim("lat_seconds", Kind::Histogram), Ok(()));
        for (name, kind) in [
            ("lat_seconds_count", Kind::Counter),
            ("lat_seconds_sum", Kind::Gauge),
            ("lat_seconds_bucket", Kind::Gauge),
            ("lat_seconds_created", Kind::Gauge),
        ] {
            assert_eq!(names.claim(name, kind), Err("lat_seconds".to_owned()));
        }
        // A counter family reserves `_created` in OpenMetrics.
        assert_eq!(names.claim("x_total", Kind::Counter), Ok(()));
        assert_eq!(
            names.claim("x_created_total", Kind::Counter),
            Err("x_total".to_owned())
        );
        // A histogram wanting a name a counter's OpenMetrics family took.
        assert_eq!(names.claim("y_total", Kind::Counter), Ok(()));
        assert_eq!(names.claim("y", Kind::Histogram), Err("y_total".to_owned()));
        // Names that only look alike do not clash.
        assert_eq!(names.claim("z", Kind::Counter), Ok(()));
        assert_eq!(names.claim("z_total_x", Kind::Gauge), Ok(()));
        assert_eq!(names.claim("lat", Kind::Histogram), Ok(()));
        assert_eq!(names.claim(DROPPED, Kind::Gauge), Err(DROPPED.to_owned()));
    }

    fn recorder() -> super::super::PrometheusRecorder {
        use std::sync::Arc;
        super::super::PrometheusRecorder {
            store: Arc::new(super::super::store::Store::new(
                &[],
                super::super::store::Buckets {
                    by_route: Vec::new(),
                    by_name: Vec::new(),
                    native_by_route: Vec::new(),
                    default: Arc::from(&[0.5, 1.0][..]),
                },
            )),
        }
    }

    /// Records, in this order, a gauge `clash` and a counter `clash_total` (one series), a
    /// histogram `lat_seconds` (one observation, 0.2) and a counter `lat_seconds_count` (two
    /// series): the later family of each pair is the one left out. Shared with the other
    /// formats' tests.
    pub(crate) fn record_clashes(r: &super::super::PrometheusRecorder) {
        use metrics::{Key, Label, Metadata, Recorder};
        static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);
        r.register_gauge(&Key::from_name("clash"), &META).set(1.0);
        r.register_counter(&Key::from_name("clash_total"), &META)
            .increment(2);
        r.register_histogram(&Key::from_name("lat_seconds"), &META)
            .record(0.2);
        for v in ["a", "b"] {
            let key = Key::from_parts("lat_seconds_count", vec![Label::new("v", v)]);
            r.register_counter(&key, &META).increment(5);
        }
    }

    #[test]
    fn a_later_family_is_left_out_and_counted() {
        use super::super::exposition::text::Format;
        use metrics::{Key, Metadata, Recorder};
        static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);
        let r = recorder();
        record_clashes(&r);
        let text = r.store.render(Format::Prometheus);
        assert_eq!(
            text,
            "# TYPE clash gauge\nclash 1\n\
             # TYPE lat_seconds histogram\n\
             lat_seconds_bucket{le=\"0.5\"} 1\nlat_seconds_bucket{le=\"1\"} 1\n\
             lat_seconds_bucket{le=\"+Inf\"} 1\nlat_seconds_sum 0.2\nlat_seconds_count 1\n\
             # HELP routemeter_exposition_dropped_series_total Series left out of the exposition because an earlier family writes one of their names, by family.\n\
             # TYPE routemeter_exposition_dropped_series_total counter\n\
             routemeter_exposition_dropped_series_total{metric=\"clash_total\"} 1\n\
             routemeter_exposition_dropped_series_total{metric=\"lat_seconds_count\"} 2\n"
        );
        let open = r.store.render(Format::OpenMetrics);
        assert_eq!(open.matches("# TYPE clash ").count(), 1, "{open}");
        assert!(
            open.contains("# TYPE routemeter_exposition_dropped_series counter\n"),
            "{open}"
        );
        // The left-out handles still record, and the decision stays.
        r.register_gauge(&Key::from_name("clash"), &META).set(3.0);
        assert!(r.store.render(Format::Prometheus).contains("\nclash 3\n"));
        assert!(!r.store.render(Format::Prometheus).contains("clash_total 2"));
    }

    #[test]
    fn openmetrics_sums_are_running_totals() {
        use super::super::exposition::text::Format;
        use metrics::{Key, Metadata, Recorder};
        static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);
        let r = recorder();
        let neg = r.register_histogram(&Key::from_name("neg"), &META);
        neg.record(-2.0);
        r.register_histogram(&Key::from_name("pos"), &META)
            .record(0.25);
        let open = r.store.render(Format::OpenMetrics);
        assert!(open.contains("neg_bucket{le=\"+Inf\"} 1\n"), "{open}");
        assert!(!open.contains("neg_sum"), "{open}");
        assert!(!open.contains("neg_count"), "{open}");
        assert!(open.contains("pos_sum 0.25\npos_count 1\n"), "{open}");
        // The text format has no such rule: the sum is written as it is.
        let text = r.store.render(Format::Prometheus);
        assert!(text.contains("neg_sum -2\nneg_count 1\n"), "{text}");
        // Once negative, never a total again, however the sum turns.
        neg.record(10.0);
        assert!(!r.store.render(Format::OpenMetrics).contains("neg_sum"));
    }

    /// A log writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_left_out_family_is_logged_once() {
        use metrics::{Key, Label, Metadata, Recorder};
        static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let r = recorder();
            r.register_gauge(&Key::from_name("clash"), &META).set(1.0);
            for i in 0..3 {
                let key = Key::from_parts("clash_total", vec![Label::new("i", i.to_string())]);
                r.register_counter(&key, &META).increment(1);
                r.register_counter(&key, &META).increment(1);
            }
            r.register_histogram(&Key::from_name("h"), &META)
                .record(1.0);
            r.register_gauge(&Key::from_name("h_sum"), &META).set(1.0);
        });
        let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        assert_eq!(
            log.matches("left out of the exposition").count(),
            2,
            "{log}"
        );
        assert!(log.contains("WARN"), "{log}");
        assert!(
            log.contains("metric=\"clash_total\" kept=\"clash\""),
            "{log}"
        );
        assert!(log.contains("metric=\"h_sum\" kept=\"h\""), "{log}");
    }
}
