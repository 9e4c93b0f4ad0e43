//! The alerting rules file: the burn-rate alerts first, then the alerts that watch the service
//! itself: a route's p99 latency, a route that stops receiving requests, clients hanging up,
//! the service not scraped, and memory and traffic forecast to outgrow their limits.

use super::burn_rate::{grpc_alerts, http_alerts};
use super::file::{Rule, group, header};
use super::names::{cancelled_ratio, quantile, requests_rate};
use super::text::{job_text, kept, num};
use crate::monitoring::{Names, Profile, Slo, route_matcher};

/// The alerting rules file of `slo`.
pub(crate) fn alerting(slo: &Slo) -> String {
    let n = Names {
        naming: &slo.naming,
    };
    let job = &slo.job;
    let route = n.route();
    let p: Profile = slo.profile;
    let keys = kept(slo, route);
    let on_job = job_text(slo);
    let mut rules = Vec::new();

    http_alerts(slo, &mut rules);

    if let Some(target) = slo.grpc_availability {
        grpc_alerts(slo, target, &mut rules);
    }

    let excluded: Vec<&str> = slo.excluded.iter().map(String::as_str).collect();
    let excluded = route_matcher(route, &excluded, true);
    rules.push(Rule::alert(
        "HTTPRouteHighP99Latency",
        format!(
            "{}{{job=\"{job}\"{excluded}}} > {}",
            quantile("99"),
            slo.p99_alert
        ),
        p.hold("10m"),
        "ticket",
        format!("p99 latency of {{{{ $labels.{route} }}}} on {on_job} is above {}s", slo.p99_alert),
        format!("p99 over the last 5m is {{{{ $value | humanizeDuration }}}} for {{{{ $labels.{route} }}}}."),
    ));

    let count = n.count();
    let (short, long) = (p.range("5m"), p.range("1h"));
    rules.push(Rule::alert(
        "HTTPRouteNoTraffic",
        format!(
            "sum by ({keys}) (increase({count}{{job=\"{job}\"{excluded}}}[{short}])) == 0 and on ({keys}) sum by ({keys}) (increase({count}{{job=\"{job}\"{excluded}}}[{long}] offset {short})) > 0"
        ),
        p.hold("10m"),
        "ticket",
        format!("{{{{ $labels.{route} }}}} on {on_job} stopped receiving requests"),
        format!("{{{{ $labels.{route} }}}} had requests in the hour before the last 5 minutes and none since."),
    ));

    if let Some(ratio) = slo.cancelled_alert {
        let sel = format!("{{job=\"{job}\"{excluded}}}");
        rules.push(Rule::alert(
            "HTTPRouteCancelledRatioHigh",
            format!(
                "{}{sel} > {ratio} and {}{sel} > {ratio}",
                cancelled_ratio("1h"),
                cancelled_ratio("5m")
            ),
            p.hold("15m"),
            "ticket",
            format!("Clients cancel {{{{ $value | humanizePercentage }}}} of requests to {{{{ $labels.{route} }}}} on {on_job}"),
            format!("Over the last hour (and 5 minutes) more than {}% of requests to {{{{ $labels.{route} }}}} ended because the client went away before the response was complete. Hang-ups do not count against availability; many of them often mean responses are slower than the clients' timeouts.", num(ratio * 100.0)),
        ));
    }

    rules.push(Rule::alert(
        "HTTPServiceDown",
        format!("up{{job=\"{job}\"}} == 0"),
        p.hold("2m"),
        "page",
        "{{ $labels.instance }} of {{ $labels.job }} cannot be scraped".to_owned(),
        "Prometheus has failed to scrape {{ $labels.instance }} for the alert's whole `for` duration.".to_owned(),
    ));

    let horizon = slo.forecast_horizon.as_secs();
    let hours = num(horizon as f64 / 3600.0);
    rules.push(Rule::alert(
        "HTTPServiceMemoryForecast",
        format!(
            "predict_linear(process_resident_memory_bytes{{job=\"{job}\"}}[{long}], {horizon}) > {}",
            slo.memory_limit_bytes
        ),
        p.hold("15m"),
        "ticket",
        format!("{{{{ $labels.instance }}}} of {{{{ $labels.job }}}} is projected to exceed its memory limit within {hours}h"),
        format!("At the trend of the last hour, resident memory reaches {{{{ $value | humanize1024 }}}}B in {hours}h; the limit is {}B.", slo.memory_limit_bytes),
    ));
    if let Some(capacity) = slo.rps_capacity {
        rules.push(Rule::alert(
            "HTTPServiceTrafficForecast",
            format!(
                "predict_linear((sum by ({}) ({}{{job=\"{job}\"}}))[{long}:{}], {horizon}) > {}",
                kept(slo, ""),
                requests_rate("5m"),
                match p {
                    Profile::Production => "1m",
                    Profile::Test => "1s",
                },
                capacity
            ),
            p.hold("15m"),
            "ticket",
            format!("{on_job} is projected to exceed its capacity of {capacity} requests/s within {hours}h"),
            format!("At the trend of the last hour the request rate reaches {{{{ $value | humanize }}}}/s in {hours}h."),
        ));
    }

    let mut out = header("Alerting rules", slo);
    group(&mut out, &format!("routemeter-alerts-{job}"), &rules);
    out
}
