//! `routemeter monitoring`: writes Prometheus rules, a Grafana dashboard and an Alertmanager
//! config for a service measured by routemeter.
//!
//! From any project: `cargo install routemeter --features monitoring` (or
//! `cargo install --path path/to/routemeter --features monitoring`), then
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

#[path = "routemeter/options.rs"]
mod options;

use options::{FLAGS, help};

const EXAMPLE: &str = "e.g. `routemeter monitoring --job checkout --out monitoring/`";

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

fn version() -> String {
    format!("routemeter {}\n", env!("CARGO_PKG_VERSION"))
}

/// What the command line asks for, besides the objectives.
struct Settings {
    out: Option<PathBuf>,
    job: Option<String>,
    scheme: NamingScheme,
    prefix: Option<String>,
    check: bool,
    force: bool,
    /// The routes named by `--route-availability` and by `--route-latency`: each once.
    route_availability: Vec<String>,
    route_latency: Vec<String>,
}

fn run(args: Vec<OsString>) -> Result<(), Failure> {
    let mut args = args.into_iter();
    let text = |arg: OsString| {
        arg.into_string()
            .map_err(|a| usage(format!("argument {a:?} is not valid UTF-8")))
    };
    match args.next().map(text).transpose()?.as_deref() {
        Some("monitoring") => {}
        Some("-h" | "--help") => {
            print!("{}", help());
            return Ok(());
        }
        // No command is a usage error: the help goes to standard error, and the exit code is 2.
        None => return Err(usage(format!("a command is required\n\n{}", help()))),
        Some("-V" | "--version") => {
            print!("{}", version());
            return Ok(());
        }
        Some(other) => return Err(usage(format!("unknown command {other:?}; try --help"))),
    }
    let mut settings = Settings {
        out: None,
        job: None,
        scheme: NamingScheme::OpenTelemetry,
        prefix: None,
        check: false,
        force: false,
        route_availability: Vec::new(),
        route_latency: Vec::new(),
    };
    // The job is set once the command line is read: `Slo::new` needs one to start from.
    let mut slo = Slo::new("");
    let mut given: Vec<&'static str> = Vec::new();
    while let Some(arg) = args.next() {
        let arg = text(arg)?;
        let spec = match arg.as_str() {
            "-h" | "--help" => {
                print!("{}", help());
                return Ok(());
            }
            "-V" | "--version" => {
                print!("{}", version());
                return Ok(());
            }
            name => FLAGS
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| usage(format!("unknown option {name:?}; try --help")))?,
        };
        if given.contains(&spec.name) && !spec.repeats {
            return Err(usage(format!(
                "{} given twice; it can be given once (try --help)",
                spec.name
            )));
        }
        given.push(spec.name);
        if spec.value.is_empty() {
            match spec.name {
                "--check" => settings.check = true,
                "--force" => settings.force = true,
                _ => slo = slo.cancelled_as_failures(true),
            }
            continue;
        }
        let value = args.next().ok_or_else(|| {
            usage(format!(
                "{} needs a value ({}); try --help",
                spec.name, spec.value
            ))
        })?;
        if spec.name == "--out" {
            settings.out = Some(PathBuf::from(value));
            continue;
        }
        let value = text(value)?;
        slo = option(spec.name, &value, slo, &mut settings)?;
    }
    let job = settings.job.ok_or_else(|| {
        usage(format!(
            "--job NAME is required: the `job` label Prometheus gives the service's series; {EXAMPLE}"
        ))
    })?;
    let out = settings
        .out
        .ok_or_else(|| usage(format!("--out DIR is required; {EXAMPLE}")))?;
    let mut naming = Naming::new(settings.scheme);
    if let Some(p) = settings.prefix {
        naming = naming.with_prefix(p);
    }
    let monitoring =
        Monitoring::new(slo.naming(naming).job(job)).map_err(|e| usage(e.to_string()))?;
    if settings.check {
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
    let written = if settings.force {
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

/// A route named a second time by `flag`: refused, since the two targets would contradict.
fn once_per_route(flag: &str, seen: &mut Vec<String>, route: &str) -> Result<(), Failure> {
    if seen.iter().any(|r| r == route) {
        return Err(usage(format!(
            "{flag}: route {route:?} given twice; name each route once"
        )));
    }
    seen.push(route.to_owned());
    Ok(())
}

/// Applies one option that takes a value.
fn option(flag: &str, value: &str, slo: Slo, settings: &mut Settings) -> Result<Slo, Failure> {
    Ok(match flag {
        "--job" => {
            settings.job = Some(value.to_owned());
            slo
        }
        "--availability" => slo.availability(number(flag, value)?),
        "--latency" => {
            let (s, t) = latency(flag, value)?;
            slo.latency(s, t)
        }
        "--route-availability" => {
            let (r, t) = route_and(flag, value, "TARGET")?;
            once_per_route(flag, &mut settings.route_availability, r)?;
            slo.route(RouteSlo::new(r).availability(number(flag, t)?))
        }
        "--route-latency" => {
            let (r, l) = route_and(flag, value, "SECONDS:TARGET")?;
            once_per_route(flag, &mut settings.route_latency, r)?;
            let (seconds, target) = latency(flag, l)?;
            slo.route(RouteSlo::new(r).latency(seconds, target))
        }
        "--exclude" => slo.exclude(value),
        "--include" => slo.include(value),
        "--cancelled-alert" => slo.cancelled_alert(number(flag, value)?),
        "--grpc-availability" => slo.grpc_availability(number(flag, value)?),
        "--p99-alert" => slo.p99_alert(number(flag, value)?),
        "--naming" => {
            settings.scheme = match value {
                "otel" | "opentelemetry" => NamingScheme::OpenTelemetry,
                "axum-prometheus" => NamingScheme::AxumPrometheus,
                other => return Err(usage(format!("{flag}: unknown naming {other:?}"))),
            };
            slo
        }
        "--prefix" => {
            settings.prefix = Some(value.to_owned());
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
