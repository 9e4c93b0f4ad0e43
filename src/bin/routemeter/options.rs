//! The options of `routemeter monitoring`, and the help text made from them.

/// One option of `routemeter monitoring`: the help lists them in this order.
pub(crate) struct Flag {
    /// The flag, e.g. `--job`.
    pub(crate) name: &'static str,
    /// What its value looks like (`NAME`), or `""` for a switch that takes none.
    pub(crate) value: &'static str,
    /// Whether giving it again adds to what it said before (otherwise a second one is refused).
    pub(crate) repeats: bool,
    /// Its help, each line ending with its default (or `required`).
    pub(crate) help: &'static [&'static str],
}

const fn flag(
    name: &'static str,
    value: &'static str,
    repeats: bool,
    help: &'static [&'static str],
) -> Flag {
    Flag {
        name,
        value,
        repeats,
        help,
    }
}

pub(crate) const FLAGS: &[Flag] = &[
    flag("--out", "DIR", false, &["folder to write into (required)"]),
    flag(
        "--job",
        "NAME",
        false,
        &[
            "the service's Prometheus job: the `job` label on its series, the",
            "`job_name` of its scrape config (required; e.g. --job checkout)",
        ],
    ),
    flag(
        "--force",
        "",
        false,
        &["replace files that already exist in DIR (default: off)"],
    ),
    flag(
        "--check",
        "",
        false,
        &["write nothing; exit 1 if the files in DIR differ (default: off)"],
    ),
    flag(
        "--availability",
        "TARGET",
        false,
        &["share of requests that must succeed (default: 0.999)"],
    ),
    flag(
        "--latency",
        "SECONDS:TARGET",
        false,
        &["share of requests within a bucket bound (default: 0.25:0.99)"],
    ),
    flag(
        "--route-availability",
        "ROUTE=TARGET",
        true,
        &[
            "a route's own availability; repeatable, once per route",
            "(default: none)",
        ],
    ),
    flag(
        "--route-latency",
        "ROUTE=SECONDS:TARGET",
        true,
        &[
            "a route's own latency objective; repeatable, once per route",
            "(default: none)",
        ],
    ),
    flag(
        "--exclude",
        "ROUTE",
        true,
        &[
            "no SLO alerts for ROUTE; repeatable (default: /metrics and the",
            "live page's /stats, /stats.json, /stats.js and /stats.css)",
        ],
    ),
    flag(
        "--include",
        "ROUTE",
        true,
        &["undo a default exclusion; repeatable (default: none)"],
    ),
    flag(
        "--cancelled-as-failures",
        "",
        false,
        &[
            "count client hang-ups (error_type=\"cancelled\") against",
            "availability (default: off: only the server's own failures",
            "count: 5xx, _OTHER, panic, body_error, timeout)",
        ],
    ),
    flag(
        "--cancelled-alert",
        "RATIO",
        false,
        &[
            "a ticket when more than RATIO of a route's requests are",
            "cancelled by the client (default: no such alert)",
        ],
    ),
    flag(
        "--grpc-availability",
        "TARGET",
        false,
        &[
            "also watch gRPC calls: share of calls to each method that",
            "must not end with a server-error status (default: off)",
        ],
    ),
    flag(
        "--p99-alert",
        "SECONDS",
        false,
        &["p99 above which the high-latency alert fires (default: 1)"],
    ),
    flag(
        "--naming",
        "otel|axum-prometheus",
        false,
        &["the layer's naming scheme (default: otel)"],
    ),
    flag(
        "--prefix",
        "PREFIX",
        false,
        &[
            "the layer's metric-name prefix ([a-zA-Z_][a-zA-Z0-9_]*; no",
            "names starting with `__`, Prometheus's own) (default: none)",
        ],
    ),
    flag(
        "--buckets",
        "B1,B2,...",
        false,
        &[
            "the duration buckets, when not the defaults (default: 0.005,",
            "0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10)",
        ],
    ),
    flag(
        "--memory-limit-bytes",
        "N",
        false,
        &["memory the forecast alert protects (default: 1073741824, 1 GiB)"],
    ),
    flag(
        "--rps-capacity",
        "N",
        false,
        &["request rate the traffic forecast protects (default: none)"],
    ),
    flag(
        "--horizon-hours",
        "N",
        false,
        &["how far forecasts look, up to 8784 (default: 4)"],
    ),
    flag(
        "--fleet-label",
        "LABEL",
        true,
        &[
            "a label the recording rules keep when they sum the replicas,",
            "next to job and route: region, cluster...; repeatable (adds a",
            "dashboard variable and an Alertmanager grouping) (default: none)",
        ],
    ),
    flag(
        "--profile",
        "production|test",
        false,
        &["alert windows (test: seconds, for end-to-end tests) (default: production)"],
    ),
];

const HEAD: &str = "\
routemeter monitoring — write Prometheus recording and alerting rules, a Grafana dashboard
and an Alertmanager config for a service measured by routemeter.

USAGE:
    routemeter monitoring --job NAME --out DIR [OPTIONS]
    routemeter --version

OPTIONS:
";

const TAIL: &str = "    -h, --help                    this text
    -V, --version                 the version: routemeter X.Y.Z

Options that cannot repeat are refused when given twice. Routes may hold any text; it is
escaped wherever it is written. ROUTE=... splits at the last `=`, so routes may contain `=`
too.

EXIT STATUS:
    0  files written (or up to date with --check)
    1  files out of date (--check), files exist (without --force), or an I/O error
    2  invalid arguments
";

/// The help text, from [`FLAGS`].
pub(crate) fn help() -> String {
    let mut text = String::from(HEAD);
    for f in FLAGS {
        let head = if f.value.is_empty() {
            f.name.to_owned()
        } else {
            format!("{} {}", f.name, f.value)
        };
        for (i, line) in f.help.iter().enumerate() {
            let left = if i == 0 { head.as_str() } else { "" };
            if left.len() >= 30 {
                text.push_str(&format!("    {left}\n    {:30}{line}\n", ""));
            } else {
                text.push_str(&format!("    {left:30}{line}\n"));
            }
        }
    }
    text.push_str(TAIL);
    text
}
