//! `routemeter monitoring`: writes Prometheus rules, a Grafana dashboard and an Alertmanager
//! config for a service measured by routemeter.
//!
//! From any project: `cargo install routemeter` (or `cargo install --path path/to/routemeter`),
//! then
//!
//! ```sh
//! routemeter monitoring --job checkout --out monitoring/
//! ```

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use routemeter::monitoring::{Monitoring, Profile, RouteSlo, Slo};
use routemeter::{Naming, NamingScheme};

const HELP: &str = "\
routemeter monitoring — write Prometheus recording and alerting rules, a Grafana dashboard
and an Alertmanager config for a service measured by routemeter.

USAGE:
    routemeter monitoring --out DIR [OPTIONS]

OPTIONS:
    --out DIR                     folder to write into (required)
    --force                       replace files that already exist in DIR
    --check                       write nothing; exit 1 if the files in DIR differ
    --job NAME                    the service's Prometheus job (default: quickstart)
    --availability TARGET         share of requests that must succeed (default: 0.999)
    --latency SECONDS:TARGET      share of requests within a bucket bound (default: 0.25:0.99)
    --route-availability ROUTE=TARGET          per-route availability (repeatable)
    --route-latency ROUTE=SECONDS:TARGET       per-route latency objective (repeatable)
    --exclude ROUTE               no SLO alerts for ROUTE (repeatable; /metrics by default)
    --include ROUTE               undo a default exclusion
    --cancelled-as-failures       count client hang-ups (error_type=\"cancelled\") against
                                  availability; by default only the server's own failures
                                  count: 5xx, _OTHER, panic, body_error, timeout
    --cancelled-alert RATIO       a ticket when more than RATIO of a route's requests are
                                  cancelled by the client (default: no such alert)
    --grpc-availability TARGET    also watch gRPC calls: share of calls to each method that
                                  must not end with a server-error status (default: off)
    --p99-alert SECONDS           p99 above which the high-latency alert fires (default: 1)
    --naming otel|axum-prometheus the layer's naming scheme (default: otel)
    --prefix PREFIX               the layer's metric-name prefix ([a-zA-Z_][a-zA-Z0-9_]*;
                                  no names starting with `__`, Prometheus's own)
    --buckets B1,B2,...           the duration buckets, when not the defaults
    --memory-limit-bytes N        memory the forecast alert protects (default: 1 GiB)
    --rps-capacity N              request rate the traffic forecast protects (default: none)
    --horizon-hours N             how far forecasts look, up to 8784 (default: 4)
    --fleet-label LABEL           a label the recording rules keep when they sum the
                                  replicas, next to job and route: region, cluster...
                                  (repeatable; adds a dashboard variable and an
                                  Alertmanager grouping)
    --profile production|test     alert windows (test: seconds, for end-to-end tests)
    -h, --help                    this text

Routes may hold any text; it is escaped wherever it is written. ROUTE=... splits at the last
`=`, so routes may contain `=` too.

EXIT STATUS:
    0  files written (or up to date with --check)
    1  files out of date (--check), files exist (without --force), or an I/O error
    2  invalid arguments
";

/// Why the command stopped.
enum Failure {
    /// The arguments are wrong: exit status 2.
    Usage(String),
    /// The arguments are fine, the outcome is not: exit status 1.
    Outcome(String),
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

/// A finite number, or an error naming the option.
fn number(flag: &str, s: &str) -> Result<f64, Failure> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(usage(format!("{flag}: {s:?} is not a finite number"))),
    }
}

fn latency(flag: &str, s: &str) -> Result<(f64, f64), Failure> {
    let (seconds, target) = s
        .split_once(':')
        .ok_or_else(|| usage(format!("{flag}: {s:?} is not SECONDS:TARGET")))?;
    Ok((number(flag, seconds)?, number(flag, target)?))
}

/// `ROUTE=VALUE`, split at the last `=` (values never contain one; routes may).
fn route_and<'a>(flag: &str, s: &'a str, what: &str) -> Result<(&'a str, &'a str), Failure> {
    s.rsplit_once('=')
        .ok_or_else(|| usage(format!("{flag}: {s:?} is not ROUTE={what}")))
}

fn run(args: Vec<OsString>) -> Result<(), Failure> {
    let mut args = args.into_iter();
    let text = |arg: OsString| {
        arg.into_string()
            .map_err(|a| usage(format!("argument {a:?} is not valid UTF-8")))
    };
    match args.next().map(text).transpose()?.as_deref() {
        Some("monitoring") => {}
        Some("-h" | "--help") | None => {
            print!("{HELP}");
            return Ok(());
        }
        Some(other) => return Err(usage(format!("unknown command {other:?}; try --help"))),
    }
    let mut out: Option<PathBuf> = None;
    let mut slo = Slo::new("quickstart");
    let mut job = None;
    let mut scheme = NamingScheme::OpenTelemetry;
    let mut prefix = None;
    let mut check = false;
    let mut force = false;
    while let Some(flag) = args.next() {
        let flag = text(flag)?;
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "--check" => check = true,
            "--force" => force = true,
            "--cancelled-as-failures" => slo = slo.cancelled_as_failures(true),
            _ => {
                let value = args
                    .next()
                    .ok_or_else(|| usage(format!("{flag} needs a value; try --help")))?;
                if flag == "--out" {
                    out = Some(PathBuf::from(value));
                    continue;
                }
                let value = text(value)?;
                slo = option(&flag, &value, slo, &mut job, &mut scheme, &mut prefix)?;
            }
        }
    }
    let out = out.ok_or_else(|| usage("--out DIR is required; try --help"))?;
    let mut naming = Naming::new(scheme);
    if let Some(p) = prefix {
        naming = naming.with_prefix(p);
    }
    let mut slo = slo.naming(naming);
    if let Some(job) = job {
        slo = slo.job(job);
    }
    let monitoring = Monitoring::new(slo).map_err(|e| usage(e.to_string()))?;
    if check {
        let stale = monitoring
            .outdated(&out)
            .map_err(|e| Failure::Outcome(format!("reading {}: {e}", out.display())))?;
        if !stale.is_empty() {
            let names: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
            return Err(Failure::Outcome(format!(
                "out of date: {}",
                names.join(", ")
            )));
        }
        println!("{} is up to date", out.display());
        return Ok(());
    }
    let written = if force {
        monitoring.write(&out)
    } else {
        monitoring.write_new(&out)
    };
    written.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (--force replaces them, --check compares them)"
        } else {
            ""
        };
        Failure::Outcome(format!("writing {}: {e}{hint}", out.display()))
    })?;
    for (name, _) in monitoring.files() {
        println!("wrote {}", out.join(name).display());
    }
    Ok(())
}

/// Applies one option that takes a value.
fn option(
    flag: &str,
    value: &str,
    slo: Slo,
    job: &mut Option<String>,
    scheme: &mut NamingScheme,
    prefix: &mut Option<String>,
) -> Result<Slo, Failure> {
    Ok(match flag {
        "--job" => {
            *job = Some(value.to_owned());
            slo
        }
        "--availability" => slo.availability(number(flag, value)?),
        "--latency" => {
            let (s, t) = latency(flag, value)?;
            slo.latency(s, t)
        }
        "--route-availability" => {
            let (r, t) = route_and(flag, value, "TARGET")?;
            slo.route(RouteSlo::new(r).availability(number(flag, t)?))
        }
        "--route-latency" => {
            let (r, l) = route_and(flag, value, "SECONDS:TARGET")?;
            let (seconds, target) = latency(flag, l)?;
            slo.route(RouteSlo::new(r).latency(seconds, target))
        }
        "--exclude" => slo.exclude(value),
        "--include" => slo.include(value),
        "--cancelled-alert" => slo.cancelled_alert(number(flag, value)?),
        "--grpc-availability" => slo.grpc_availability(number(flag, value)?),
        "--p99-alert" => slo.p99_alert(number(flag, value)?),
        "--naming" => {
            *scheme = match value {
                "otel" | "opentelemetry" => NamingScheme::OpenTelemetry,
                "axum-prometheus" => NamingScheme::AxumPrometheus,
                other => return Err(usage(format!("{flag}: unknown naming {other:?}"))),
            };
            slo
        }
        "--prefix" => {
            *prefix = Some(value.to_owned());
            slo
        }
        "--buckets" => {
            let bounds: Result<Vec<f64>, Failure> =
                value.split(',').map(|b| number(flag, b)).collect();
            slo.buckets(&bounds?)
        }
        "--memory-limit-bytes" => slo.memory_limit_bytes(number(flag, value)?),
        "--rps-capacity" => slo.rps_capacity(number(flag, value)?),
        "--horizon-hours" => {
            let hours = number(flag, value)?;
            let horizon = Duration::try_from_secs_f64(hours * 3600.0)
                .ok()
                .filter(|_| hours > 0.0 && hours <= 8784.0)
                .ok_or_else(|| {
                    usage(format!(
                        "{flag}: {value:?} must be a number of hours above 0 and at most 8784 (366 days)"
                    ))
                })?;
            slo.forecast_horizon(horizon)
        }
        "--fleet-label" => slo.fleet_label(value),
        "--profile" => slo.profile(match value {
            "production" => Profile::Production,
            "test" => Profile::Test,
            other => return Err(usage(format!("{flag}: unknown profile {other:?}"))),
        }),
        other => return Err(usage(format!("unknown option {other:?}; try --help"))),
    })
}

fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("routemeter: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Outcome(e)) => {
            eprintln!("routemeter: {e}");
            ExitCode::FAILURE
        }
    }
}
