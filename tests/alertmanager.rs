//! What on-call receives. The shipped rules (rendered from the mixin) run
//! on a real Prometheus that scrapes the exporter polling the simulator
//! (the `--demo` fleet: 300 orders, seed 1) and sends to a real
//! Alertmanager running the configuration generated from the same mixin,
//! which delivers to a webhook inside the test. The test asserts what a
//! person would receive:
//!
//! 1. a first start: one notification per group (owner and alert name),
//!    naming every certificate in it once rendered with the shipped
//!    template, and none for an inhibited alert;
//! 2. an exporter restart: nothing, neither resolved nor firing again;
//! 3. a CertCentral outage far longer than the stale threshold: the
//!    exporter's own alerts and nothing of any certificate's;
//! 4. a renewal: its own alerts resolved, nothing else.
//!
//! Time is scaled: every rule's `for` is 0 (an alert fires at the first
//! evaluation that sees it) but the exporter's down and absent alerts',
//! `keep_firing_for` is 30 s, Alertmanager waits 2 s before a group's first
//! message and 5 s between messages of a group, and the exporter polls every
//! 5 s. The routes, grouping, inhibition, templates and the rules'
//! expressions are the shipped ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use certcentral_test_support::{
    Alertmanager, Binary, Change, Exporter, Faults, Prometheus, Simulator, Webhook,
    exporter_binary, free_port, render_mixin, tool, wait_for,
};
use serde_json::Value;

const BIN: Binary = exporter_binary!();

/// Alertmanager's wait before a group's first message and between two.
const GROUP_WAIT: Duration = Duration::from_secs(2);
const GROUP_INTERVAL: Duration = Duration::from_secs(5);
/// The exporter's poll interval.
const POLL: Duration = Duration::from_secs(5);

/// A rate limit far above what the test's polls ask.
const WIDE_LIMIT: &str = "100000/3m,10000/5s";

/// The per-certificate alerts: those a certificate's owner acts on.
const PER_CERTIFICATE: &[&str] = &[
    "CertCentralCertificateExpiringSoon",
    "CertCentralCertificateExpiringCritical",
    "CertCentralCertificateExpired",
    "CertCentralAutoRenewDisabled",
    "CertCentralApprovalPendingTooLong",
    "CertCentralRenewalValidationExpiring",
    "CertCentralRenewalValidationExpiringCritical",
    "CertCentralSupersededCertificateServed",
    "CertCentralSupersededCertificateServedCritical",
];

/// The mixin with the test's timings, every receiver posting to `webhook`
/// (`/<team or certcentral>/<severity>`), rendered into a directory.
fn render(webhook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("test-mixin.libsonnet");
    let group_wait = GROUP_WAIT.as_secs();
    let group_interval = GROUP_INTERVAL.as_secs();
    let jsonnet = format!(
        r#"local mixin = import 'mixin.libsonnet';
local zero = {{
  [name]: '0s'
  for name in std.objectFields(mixin._config)
  if std.endsWith(name, 'For') && name != 'keepFiringFor'
}};
mixin + {{
  _config+:: zero + {{
    keepFiringFor: '30s',
    exporterDownFor: '30s',
    exporterAbsentFor: '30s',
    alertmanagerTimings: {{
      [severity]: {{ group_wait: '{group_wait}s', group_interval: '{group_interval}s', repeat_interval: '1h' }}
      for severity in ['critical', 'warning', 'info']
    }},
    alertmanagerIntegrations(team, severity):: {{
      webhook_configs: [{{
        url: '{webhook}/%s/%s' % [if team == null then 'certcentral' else team, severity],
        send_resolved: true,
      }}],
    }},
  }},
}}
"#
    );
    std::fs::write(&file, jsonnet).expect("the test's mixin");
    let out = render_mixin(Some(&file));
    drop(dir);
    out
}

/// A label set.
type Labels = BTreeMap<String, String>;

/// An alert's identity: its labels.
fn identity(alert: &Value) -> Labels {
    alert["labels"]
        .as_object()
        .expect("an alert's labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn alertname(alert: &Value) -> &str {
    alert["labels"]["alertname"].as_str().unwrap_or_default()
}

/// A notification's group: its receiver and group key.
fn group(notification: &Value) -> (String, String) {
    (
        notification["receiver"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        notification["groupKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Alertmanager's groups of active alerts (inhibited and silenced ones
/// left out): receiver and group labels, to the labels of their alerts.
fn active_groups(am: &Alertmanager) -> BTreeMap<(String, Labels), BTreeSet<Labels>> {
    let groups: Vec<Value> = certcentral_test_support::http()
        .get(format!(
            "{}/api/v2/alerts/groups?active=true&inhibited=false&silenced=false",
            am.base
        ))
        .send()
        .and_then(|r| r.json())
        .expect("Alertmanager's alert groups");
    groups
        .iter()
        .filter_map(|g| {
            let alerts: BTreeSet<_> = g["alerts"].as_array()?.iter().map(identity).collect();
            if alerts.is_empty() {
                return None;
            }
            let labels = g["labels"]
                .as_object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            Some(((g["receiver"]["name"].as_str()?.to_owned(), labels), alerts))
        })
        .collect()
}

/// Waits until every active group's latest notification lists exactly its
/// alerts as firing: Alertmanager has said everything it holds.
fn settled(am: &Alertmanager, webhook: &Webhook, what: &str) {
    wait_for(what, Duration::from_secs(120), || {
        let groups = active_groups(am);
        let notifications = webhook.notifications();
        let told = groups.iter().all(|((receiver, labels), alerts)| {
            notifications
                .iter()
                .rev()
                .map(|(_, n)| n)
                .find(|n| {
                    n["receiver"] == receiver.as_str()
                        && n["groupLabels"].as_object().is_some_and(|g| {
                            g.len() == labels.len()
                                && labels
                                    .iter()
                                    .all(|(k, v)| g.get(k) == Some(&Value::from(v.as_str())))
                        })
                })
                .is_some_and(|n| {
                    let firing: BTreeSet<_> = n["alerts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|a| a["status"] == "firing")
                        .map(identity)
                        .collect();
                    firing == *alerts
                })
        });
        (told && !groups.is_empty()).then_some(())
    });
}

/// Notifications in short: receiver, status, and each alert's name, its
/// labels that tell it apart, its status and when it started.
fn summary(notifications: &[Value]) -> String {
    let mut out = String::new();
    for n in notifications {
        out.push_str(&format!("{} {}:\n", n["receiver"], n["status"]));
        for a in n["alerts"].as_array().into_iter().flatten() {
            let l = &a["labels"];
            out.push_str(&format!(
                "  {} rule={} order={} container={} {} since {}\n",
                l["alertname"],
                l["rule"],
                l["order_id"],
                l["container"],
                a["status"],
                a["startsAt"]
            ));
        }
    }
    out
}

/// Watches for `window`: the notifications that arrive meanwhile.
fn quiet_for(webhook: &Webhook, window: Duration) -> Vec<Value> {
    let before = webhook.notifications().len();
    let until = Instant::now() + window;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    webhook.notifications()[before..]
        .iter()
        .map(|(_, n)| n.clone())
        .collect()
}

/// Returns at once unless UTC midnight is less than `span` away; else
/// once it has passed. Days left are whole days, so at midnight every
/// certificate's count moves and some cross a threshold: new alerts that
/// a test of "nothing more is sent" would count against the exporter.
fn away_from_midnight(span: Duration) {
    let now = chrono::Utc::now();
    let midnight = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 5)
        .expect("a time of day")
        .and_utc();
    let left = (midnight - now).to_std().unwrap_or_default();
    if left < span {
        eprintln!("waiting {left:?} for UTC midnight to pass");
        std::thread::sleep(left);
    }
}

/// `template` of the shipped templates, rendered by `amtool` for
/// `notification` (the webhook's JSON is Alertmanager's template data).
fn rendered(dir: &Path, template: &str, notification: &Value) -> String {
    let data = dir.join("notification.json");
    std::fs::write(&data, notification.to_string()).expect("the template data");
    let output = Command::new(tool("AMTOOL", "amtool"))
        .args([
            "template".to_owned(),
            "render".to_owned(),
            format!(
                "--template.glob={}",
                dir.join("alerts/templates/certcentral.tmpl").display()
            ),
            format!("--template.text={{{{ template \"{template}\" . }}}}"),
            format!("--template.data={}", data.display()),
        ])
        .output()
        .expect("run amtool");
    assert!(
        output.status.success(),
        "amtool template render: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn on_call_receives_one_message_per_owner_and_alert_and_no_flapping() {
    away_from_midnight(Duration::from_secs(8 * 60));
    let webhook = Webhook::start();
    let mixin = render(&webhook.base);
    let alertmanager = Alertmanager::start(&mixin.path().join("alerts/alertmanager.yml"));

    // Every detail the fleet needs is read in the first poll, as the
    // budget of the 15-minute default interval does; the rate limit is
    // widened so that the 5-second polls keep up.
    let sim = Simulator::start(BIN, 300, 1, &["--rate-limit", WIDE_LIMIT]);
    let store = tempfile::tempdir().expect("a store directory");
    let store_path = store.path().to_str().expect("a UTF-8 path").to_owned();
    let listen = format!("127.0.0.1:{}", free_port());
    let url = sim.api_url();
    let interval = format!("{}s", POLL.as_secs());
    let args = [
        "--certcentral.url",
        url.as_str(),
        "--poll.interval",
        interval.as_str(),
        "--storage.path",
        store_path.as_str(),
        "--certcentral.rate-limit",
        WIDE_LIMIT,
        "--certcentral.detail-budget",
        "100000",
        "--log.level",
        "info",
    ];
    let start_exporter = || {
        let mut command = BIN.command();
        command.env("CERTCENTRAL_API_KEY", "alertmanager-test-key");
        Exporter::spawn_at(command, &listen, &args)
    };
    let mut exporter = start_exporter();
    exporter.wait_ready();
    let rules = mixin.path().join("alerts/certcentral.rules.yml");
    let jobs = format!(
        "  - job_name: certcentral-exporter\n    static_configs:\n      - targets: ['{listen}']\n"
    );
    let prometheus = Prometheus::start_alerting(
        &jobs,
        Duration::from_secs(1),
        &[&rules],
        alertmanager.address(),
    );

    // 1. The first start.
    settled(&alertmanager, &webhook, "the first start's notifications");
    let first: Vec<Value> = webhook
        .notifications()
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let mut per_group: BTreeMap<(String, String), usize> = BTreeMap::new();
    for notification in &first {
        *per_group.entry(group(notification)).or_default() += 1;
    }
    let repeated: Vec<_> = per_group.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "one notification per group on a first start: {repeated:?}\n{}",
        prometheus.process.tail()
    );
    let names: BTreeSet<&str> = first
        .iter()
        .flat_map(|n| n["alerts"].as_array().into_iter().flatten())
        .map(alertname)
        .collect();
    assert!(
        names.contains("CertCentralCertificateExpiringSoon")
            && names.contains("CertCentralCertificateExpiringCritical"),
        "the demo fleet's expiry alerts arrive: {names:?}"
    );
    for notification in &first {
        assert_eq!(notification["status"], "firing");
        let groups = notification["groupLabels"]
            .as_object()
            .expect("group labels");
        let alert = &notification["alerts"][0];
        if PER_CERTIFICATE.contains(&alertname(alert)) {
            // One owner (a container, or a subaccount) and one alert name
            // a message.
            let owner: Vec<&String> = groups.keys().filter(|k| *k != "alertname").collect();
            assert!(
                !owner.is_empty()
                    && owner
                        .iter()
                        .all(|k| *k == "container" || *k == "subaccount_id"),
                "{notification}"
            );
        }
        let path_severity = notification["commonLabels"]["severity"]
            .as_str()
            .unwrap_or("");
        let receiver = notification["receiver"].as_str().unwrap_or("");
        assert!(receiver.ends_with(match path_severity {
            "critical" => "-pager",
            "warning" => "-chat",
            _ => "-tickets",
        }));
        // Each certificate is named in what a person reads.
        let alerts = notification["alerts"].as_array().expect("alerts");
        let email = rendered(mixin.path(), "certcentral.email.text", notification);
        let slack = rendered(mixin.path(), "certcentral.slack.text", notification);
        for alert in alerts {
            let Some(name) = alert["labels"]["common_name"].as_str() else {
                continue;
            };
            let shown: String = name.chars().take(40).collect();
            assert!(email.contains(&shown), "{shown} in:\n{email}");
            if alerts.len() <= 30 {
                let escaped = shown
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                assert!(slack.contains(&escaped), "{escaped} in:\n{slack}");
            }
        }
    }
    // Inhibited alerts are held, and never sent.
    let held = alertmanager.alerts();
    let inhibited: BTreeSet<_> = held
        .iter()
        .filter(|a| {
            a["status"]["inhibitedBy"]
                .as_array()
                .is_some_and(|by| !by.is_empty())
        })
        .map(identity)
        .collect();
    assert!(
        !inhibited.is_empty(),
        "the demo fleet has inhibited alerts: {held:?}"
    );
    let sent: BTreeSet<_> = first
        .iter()
        .flat_map(|n| n["alerts"].as_array().into_iter().flatten())
        .map(identity)
        .collect();
    assert!(
        sent.is_disjoint(&inhibited),
        "no inhibited alert is sent: {:?}",
        sent.intersection(&inhibited).collect::<Vec<_>>()
    );

    // 2. An exporter restart: nothing more.
    let restarted_at = chrono::Utc::now();
    exporter.process.terminate(Duration::from_secs(20));
    exporter = start_exporter();
    exporter.wait_ready();
    exporter.scrape_until("the restarted exporter's first poll", |s| {
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    let after_restart = quiet_for(&webhook, GROUP_INTERVAL * 3);
    assert!(
        after_restart.is_empty(),
        "nothing is sent for a restart (restarted at {restarted_at}): {}\nfirst start:\n{}",
        summary(&after_restart),
        summary(&first)
    );

    // 3. CertCentral fails every request for 12 poll intervals (stale
    // after 3): the exporter says so; no certificate alert resolves or
    // fires again.
    sim.set_faults(&Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let outage_started = webhook.notifications().len();
    let outage_ends = Instant::now() + POLL * 12;
    wait_for("the stale alert", POLL * 12, || {
        webhook.notifications()[outage_started..]
            .iter()
            .any(|(_, n)| n["commonLabels"]["alertname"] == "CertCentralDataStale")
            .then_some(())
    });
    while Instant::now() < outage_ends {
        std::thread::sleep(Duration::from_millis(200));
    }
    sim.set_faults(&Faults::default());
    wait_for("the stale alert resolved", Duration::from_secs(60), || {
        webhook.notifications()[outage_started..]
            .iter()
            .any(|(_, n)| {
                n["commonLabels"]["alertname"] == "CertCentralDataStale"
                    && n["status"] == "resolved"
            })
            .then_some(())
    });
    let mut outage: Vec<Value> = webhook.notifications()[outage_started..]
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    outage.extend(quiet_for(&webhook, GROUP_INTERVAL * 3));
    let about_certificates: Vec<_> = outage
        .iter()
        .flat_map(|n| n["alerts"].as_array().into_iter().flatten())
        .filter(|a| PER_CERTIFICATE.contains(&alertname(a)))
        .collect();
    assert!(
        about_certificates.is_empty(),
        "an outage sends nothing about certificates: {about_certificates:?}\n{}",
        summary(&outage)
    );

    // 4. A renewal resolves its own alerts, and nothing else.
    let soon: Vec<&Value> = first
        .iter()
        .filter(|n| n["commonLabels"]["alertname"] == "CertCentralCertificateExpiringSoon")
        .filter(|n| n["alerts"].as_array().is_some_and(|a| a.len() >= 2))
        .collect();
    let renewed_group = soon
        .first()
        .expect("a group of two certificates expiring soon");
    let order_id = renewed_group["alerts"][0]["labels"]["order_id"]
        .as_str()
        .expect("an order id")
        .to_owned();
    let before_renewal = webhook.notifications().len();
    sim.change(
        order_id.parse().expect("a numeric order id"),
        &Change {
            is_renewed: Some(true),
            ..Change::default()
        },
    );
    // Its alerts of other groups (auto-renew, validations) may resolve in
    // messages of their own, before or after.
    wait_for(
        "the renewed order's expiry alert resolved",
        Duration::from_secs(120),
        || {
            webhook.notifications()[before_renewal..]
                .iter()
                .flat_map(|(_, n)| n["alerts"].as_array().cloned().unwrap_or_default())
                .any(|a| {
                    a["status"] == "resolved"
                        && alertname(&a) == "CertCentralCertificateExpiringSoon"
                        && a["labels"]["order_id"] == order_id.as_str()
                })
                .then_some(())
        },
    );
    let mut after_renewal: Vec<Value> = webhook.notifications()[before_renewal..]
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    after_renewal.extend(quiet_for(&webhook, GROUP_INTERVAL * 3));
    for alert in after_renewal
        .iter()
        .flat_map(|n| n["alerts"].as_array().into_iter().flatten())
        .filter(|a| a["status"] == "resolved")
    {
        assert_eq!(
            alert["labels"]["order_id"],
            order_id.as_str(),
            "only the renewed order's alerts resolve: {alert}"
        );
    }
    // Every message is about a group of the renewed order's alerts, and
    // still lists the group's others as firing.
    for notification in &after_renewal {
        let alerts = notification["alerts"].as_array().expect("alerts");
        assert!(
            alerts
                .iter()
                .any(|a| a["labels"]["order_id"] == order_id.as_str()),
            "only the renewed order's groups hear of it: {}",
            summary(&after_renewal)
        );
        if alerts.len() > 1 {
            assert!(
                alerts.iter().any(|a| a["status"] == "firing"),
                "{}",
                summary(&after_renewal)
            );
        }
    }
}
