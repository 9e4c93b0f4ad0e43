//! The Alertmanager configuration.

use std::fmt::Write;

use super::{Slo, yaml_str};
use crate::names::{Naming, NamingScheme};

/// Where alerts go.
pub(crate) struct Receivers {
    /// Slack: a webhook URL, or a file holding it.
    slack: Slack,
    /// Telegram (pages only), if configured.
    telegram: Option<(String, i64)>,
    group_wait: &'static str,
    group_interval: &'static str,
    repeat_interval: &'static str,
}

enum Slack {
    UrlFile(String),
    Url(String),
}

impl Receivers {
    pub(crate) fn production() -> Self {
        Self {
            slack: Slack::UrlFile("/etc/alertmanager/slack-webhook-url".to_owned()),
            telegram: Some(("REPLACE-WITH-BOT-TOKEN".to_owned(), -1_000_000_000_000)),
            group_wait: "30s",
            group_interval: "5m",
            repeat_interval: "4h",
        }
    }

    pub(crate) fn test(url: &str) -> Self {
        Self {
            slack: Slack::Url(url.to_owned()),
            telegram: None,
            group_wait: "0s",
            group_interval: "1s",
            repeat_interval: "1h",
        }
    }
}

const TITLE: &str = "[{{ .Status | toUpper }}{{ if eq .Status \"firing\" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.job }}";
const TEXT: &str = "{{ range .Alerts }}*{{ .Labels.severity }}* {{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}";
const TELEGRAM: &str = "{{ range .Alerts }}[{{ .Labels.severity }}] {{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}";

/// The labels alerts are grouped by, each once: the alert, the job, the fleet labels (so that
/// one region's alerts arrive apart from another's), the route label of both naming schemes
/// (the configuration serves either) and, when gRPC calls are watched, the method.
pub(crate) fn group_by(slo: &Slo) -> Vec<&str> {
    let mut keys = vec!["alertname", "job"];
    let routes = [
        Naming::new(NamingScheme::OpenTelemetry).route_key(),
        Naming::new(NamingScheme::AxumPrometheus).route_key(),
    ];
    let grpc = slo.grpc_availability.map(|_| slo.naming.rpc_method_key());
    let more = slo.fleet_labels.iter().map(String::as_str);
    for key in more.chain(routes).chain(grpc) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// The configuration: alerts grouped by [`group_by`], pages and tickets routed by severity.
pub(crate) fn render(r: &Receivers, slo: &Slo) -> String {
    let mut out = String::from(
        "# Alertmanager routing for routemeter's alerts: pages to Slack and Telegram, tickets to Slack.\n# Put the Slack incoming-webhook URL in the file named below and fill in the Telegram bot token and chat id.\n",
    );
    let _ = write!(
        out,
        "route:\n  receiver: slack-tickets\n  group_by: [{}]\n  group_wait: {}\n  group_interval: {}\n  repeat_interval: {}\n  routes:\n    - receiver: pages\n      matchers:\n        - severity=\"page\"\n    - receiver: slack-tickets\n      matchers:\n        - severity=\"ticket\"\n",
        group_by(slo).join(", "),
        r.group_wait,
        r.group_interval,
        r.repeat_interval
    );
    // No inhibition by HTTPServiceDown: it names one instance, and in a fleet one replica down
    // must not silence the burn-rate pages of the replicas still serving (they may be failing
    // under the load it left them). A service whose only replica is down starts no new
    // burn-rate alert anyway: its rates stop with its scrapes.
    out.push_str("# No inhibit_rules: HTTPServiceDown names one replica, and one replica down must not silence\n# the service's burn-rate pages while the others serve (and may fail under the load it left).\n");
    let slack = |channel: &str| {
        let url = match &r.slack {
            Slack::UrlFile(f) => format!("api_url_file: {}", yaml_str(f)),
            Slack::Url(u) => format!("api_url: {}", yaml_str(u)),
        };
        format!(
            "      - {url}\n        channel: {}\n        send_resolved: true\n        title: {}\n        text: {}\n",
            yaml_str(channel),
            yaml_str(TITLE),
            yaml_str(TEXT)
        )
    };
    out.push_str("receivers:\n  - name: pages\n    slack_configs:\n");
    out.push_str(&slack("#alerts-page"));
    if let Some((token, chat)) = &r.telegram {
        let _ = write!(
            out,
            "    telegram_configs:\n      - bot_token: {}\n        chat_id: {chat}\n        send_resolved: true\n        parse_mode: \"\"\n        message: {}\n",
            yaml_str(token),
            yaml_str(TELEGRAM)
        );
    }
    out.push_str("  - name: slack-tickets\n    slack_configs:\n");
    out.push_str(&slack("#alerts-ticket"));
    out
}
