//! `routemeter monitoring`: writes Prometheus rules, a Grafana dashboard and an Alertmanager
//! config for a service measured by routemeter.
//!
//! ```sh
//! cargo run --bin routemeter -- monitoring --job checkout --out monitoring/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use routemeter::monitoring::{Monitoring, Profile, RouteSlo, Slo};
use routemeter::{Naming, NamingScheme};

const HELP: &str = "\
routemeter monitoring — write Prometheus recording and alerting rules, a Grafana dashboard
and an Alertmanager config for a service measured by routemeter.

USAGE:
    routemeter monitoring [OPTIONS]

OPTIONS:
    --out DIR                     folder to write into (default: monitoring)
    --job NAME                    the service's Prometheus job (default: quickstart)
    --availability TARGET         share of requests that must succeed (default: 0.999)
    --latency SECONDS:TARGET      share of requests within a bucket bound (default: 0.25:0.99)
    --route-availability ROUTE=TARGET          per-route availability (repeatable)
    --route-latency ROUTE=SECONDS:TARGET       per-route latency objective (repeatable)
    --exclude ROUTE               no SLO alerts for ROUTE (repeatable; /metrics by default)
    --include ROUTE               undo a default exclusion
    --p99-alert SECONDS           p99 above which the high-latency alert fires (default: 1)
    --naming otel|axum-prometheus the layer's naming scheme (default: otel)
    --prefix PREFIX               the layer's metric-name prefix
    --buckets B1,B2,...           the duration buckets, when not the defaults
    --memory-limit-bytes N        memory the forecast alert protects (default: 1 GiB)
    --rps-capacity N              request rate the traffic forecast protects (default: none)
    --horizon-hours N             how far forecasts look (default: 4)
    --profile production|test     alert windows (test: seconds, for end-to-end tests)
    --check                       write nothing; exit 1 if the files in --out differ
    -h, --help                    this text
";

fn parse_target(s: &str) -> Result<f64, String> {
    s.parse().map_err(|_| format!("`{s}` is not a number"))
}

fn parse_latency(s: &str) -> Result<(f64, f64), String> {
    let (seconds, target) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not SECONDS:TARGET"))?;
    Ok((parse_target(seconds)?, parse_target(target)?))
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("monitoring") => {}
        Some("-h" | "--help") | None => {
            print!("{HELP}");
            return Ok(());
        }
        Some(other) => return Err(format!("unknown command `{other}`; try --help")),
    }
    let mut out = PathBuf::from("monitoring");
    let mut slo = Slo::new("quickstart");
    let mut job = None;
    let mut scheme = NamingScheme::OpenTelemetry;
    let mut prefix = None;
    let mut check = false;
    // Per-route objectives, in the order their routes were first named.
    let mut routes: Vec<(String, RouteSlo)> = Vec::new();
    let mut route = |name: &str, set: &dyn Fn(RouteSlo) -> RouteSlo| match routes
        .iter_mut()
        .find(|(n, _)| n == name)
    {
        Some((_, r)) => *r = set(r.clone()),
        None => routes.push((name.to_owned(), set(RouteSlo::new(name)))),
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            print!("{HELP}");
            return Ok(());
        }
        if flag == "--check" {
            check = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => out = PathBuf::from(value),
            "--job" => job = Some(value),
            "--availability" => slo = slo.availability(parse_target(&value)?),
            "--latency" => {
                let (s, t) = parse_latency(&value)?;
                slo = slo.latency(s, t);
            }
            "--route-availability" => {
                let (r, t) = value
                    .split_once('=')
                    .ok_or_else(|| format!("`{value}` is not ROUTE=TARGET"))?;
                let target = parse_target(t)?;
                route(r, &|slo| slo.availability(target));
            }
            "--route-latency" => {
                let (r, l) = value
                    .split_once('=')
                    .ok_or_else(|| format!("`{value}` is not ROUTE=SECONDS:TARGET"))?;
                let (seconds, target) = parse_latency(l)?;
                route(r, &|slo| slo.latency(seconds, target));
            }
            "--exclude" => slo = slo.exclude(value),
            "--include" => slo = slo.include(&value),
            "--p99-alert" => slo = slo.p99_alert(parse_target(&value)?),
            "--naming" => {
                scheme = match value.as_str() {
                    "otel" | "opentelemetry" => NamingScheme::OpenTelemetry,
                    "axum-prometheus" => NamingScheme::AxumPrometheus,
                    other => return Err(format!("unknown naming `{other}`")),
                }
            }
            "--prefix" => prefix = Some(value),
            "--buckets" => {
                let bounds: Result<Vec<f64>, String> =
                    value.split(',').map(|b| parse_target(b.trim())).collect();
                slo = slo.buckets(&bounds?);
            }
            "--memory-limit-bytes" => slo = slo.memory_limit_bytes(parse_target(&value)?),
            "--rps-capacity" => slo = slo.rps_capacity(parse_target(&value)?),
            "--horizon-hours" => {
                let hours = parse_target(&value)?;
                slo = slo.forecast_horizon(Duration::from_secs_f64(hours * 3600.0));
            }
            "--profile" => {
                slo = slo.profile(match value.as_str() {
                    "production" => Profile::Production,
                    "test" => Profile::Test,
                    other => return Err(format!("unknown profile `{other}`")),
                });
            }
            other => return Err(format!("unknown option `{other}`; try --help")),
        }
    }
    let mut naming = Naming::new(scheme);
    if let Some(p) = prefix {
        naming = naming.with_prefix(p);
    }
    let mut slo = slo.naming(naming);
    if let Some(job) = job {
        slo = slo.job(job);
    }
    for (_, r) in routes {
        slo = slo.route(r);
    }
    let monitoring = Monitoring::new(slo).map_err(|e| e.to_string())?;
    if check {
        let mut stale = Vec::new();
        for (name, text) in monitoring.files() {
            let path = out.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        if !stale.is_empty() {
            return Err(format!("out of date: {}", stale.join(", ")));
        }
        println!("{} is up to date", out.display());
        return Ok(());
    }
    monitoring
        .write(&out)
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    for (name, _) in monitoring.files() {
        println!("wrote {}", out.join(name).display());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("routemeter: {e}");
            ExitCode::FAILURE
        }
    }
}
