//! End to end against a real Prometheus: the exporter runs in `--demo` (and,
//! in the saturated-budget mode, on a simulator of its own whose urgent
//! orders were reissued behind the report, with a detail budget of 10), a
//! real `prometheus` scrapes it every second and evaluates alerts/*.rules.yml, and
//! through Prometheus's HTTP API this test checks that
//!
//! - every query of every dashboard (variables filled in) parses and returns
//!   data, except the panels listed in `MAY_BE_EMPTY` with the reason;
//! - the alerts the demo fleet should raise are pending or firing, and no
//!   others (the expectation is computed, rule by rule, from the exporter's
//!   own metrics, and must include the certificate and compliance alerts the
//!   demo fleet is built to show);
//! - `promtool check metrics` accepts a real scrape (lint findings listed in
//!   `ACCEPTED_LINT` with the reason are tolerated).
//!
//! Needs `prometheus` and `promtool` (Debian: `apt-get install prometheus`;
//! `scripts/install-test-tools` installs them). PROMETHEUS / PROMTOOL override the binaries on
//! PATH. Every child process is killed when the test ends, pass or fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use certcentral_test_support::{
    Binary, Controls, Exporter, Prometheus, Scrape, Series, Simulator, exporter_binary, http,
    poll_until, promtool_check_metrics,
};
use serde_json::Value as Json;

const BIN: Binary = exporter_binary!();
const JOB: &str = "certcentral-exporter";
/// How often the waits below ask again.
const EVERY: Duration = Duration::from_millis(200);

/// Dashboard panels whose queries may return nothing on the demo fleet,
/// with the reason: (mode, or "*" for both; dashboard file; panel title;
/// reason).
const MAY_BE_EMPTY: &[(&str, &str, &str, &str)] = &[
    (
        "*",
        "certcentral-exporter-health.json",
        "Failed polls by kind",
        "the demo's polls do not fail, so no certcentral_poll_errors_total series exists",
    ),
    (
        "*",
        "certcentral-exporter-health.json",
        "Rate limiting: HTTP 429 answers",
        "the exporter's limiter keeps the demo under the simulator's limit: no 429 series",
    ),
    (
        "*",
        "certcentral-exporter-health.json",
        "Details steps ended early, and failed detail requests",
        "the demo's details steps end in time and its detail requests do not fail",
    ),
    (
        "horizon-91d",
        "certcentral-overview.json",
        "Orders with duplicate certificates",
        "the demo's orders with duplicates expire beyond the 91-day horizon, so they have no \
         per-order series; the \"Certificates with duplicates\" stat counts them from the aggregate",
    ),
];

/// Dashboards whose series this test's Prometheus does not have, each
/// checked by another test: (dashboard file, reason).
const CHECKED_ELSEWHERE: &[(&str, &str)] = &[(
    "certcentral-deployments.json",
    "its series come from /probe, which this Prometheus does not scrape: \
     tests/deployments_dashboard.rs runs its queries on a Prometheus probing real TLS endpoints",
)];

/// Panels with one query per bucket, where a bucket may hold nothing (the
/// panel shows 0 through `or vector(0)`) but at least one bucket must hold
/// data: (dashboard file, panel title, reason).
const SOME_QUERIES_MAY_BE_EMPTY: &[(&str, &str, &str)] = &[(
    "certcentral-overview.json",
    "Certificates expiring per week, next 13 weeks",
    "a week in which no demo certificate expires has nothing to count",
)];

/// The two ways the exporter can serve an account: every per-order series,
/// or (very large accounts) per-order series cut to certificates expiring
/// within a horizon, the aggregates still counting every order. The
/// dashboards and alerts must work in both; the docs tell users to keep the
/// horizon at 91 days or more, so that is what is tested.
struct Mode {
    name: &'static str,
    args: &'static [&'static str],
    interval: &'static str,
    /// A simulator of its own whose urgent orders were reissued with the
    /// report still showing the old certificate, polled with a detail
    /// budget far below the orders due: no false page may outlast the
    /// backlog, and every true one must fire.
    saturated: bool,
    /// What the account's domain list shows (`all`; `empty`: a key whose
    /// user may not see the domains, on a simulator of its own): with
    /// nothing to conclude from, no page may rest on it.
    domains: &'static str,
}

const FULL: Mode = Mode {
    name: "full",
    args: &[],
    interval: "30s",
    saturated: false,
    domains: "all",
};
const HORIZON: Mode = Mode {
    name: "horizon-91d",
    args: &["--metrics.per-order-horizon", "91d"],
    interval: "30s",
    saturated: false,
    domains: "all",
};
const SATURATED: Mode = Mode {
    name: "saturated-budget",
    args: &["--certcentral.detail-budget", "10"],
    interval: "1s",
    saturated: true,
    domains: "all",
};
const NO_DOMAINS: Mode = Mode {
    name: "empty-domain-list",
    args: &[],
    interval: "30s",
    saturated: false,
    domains: "empty",
};

/// `promtool check metrics` findings that are not problems: (text the
/// finding contains, reason).
const ACCEPTED_LINT: &[(&str, &str)] = &[(
    "certcentral_certificate_days_remaining use base unit \"seconds\" instead of \"days\"",
    "the name is fixed by the public interface: whole days are what on-call reads and alerts \
     compare; the seconds-based certcentral_certificate_expiry_timestamp_seconds is served too",
)];

/// Alerts that may be active in the demo without being required, with the
/// reason.
const MAY_FIRE: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Grafana's variables, as the test fills them in: every template variable
/// is "All" (`.*`), the interval variables get values that suit a
/// Prometheus holding a minute of 1s-scrape data.
fn substitute(expr: &str) -> String {
    let mut out = expr.to_owned();
    for (var, value) in [
        ("$__rate_interval", "20s"),
        ("$__interval", "2s"),
        ("$__range", "1m"),
        ("${account}", ".*"),
        ("${container}", ".*"),
        ("${product}", ".*"),
        ("${job}", ".*"),
        ("$account", ".*"),
        ("$container", ".*"),
        ("$product", ".*"),
        ("$job", ".*"),
    ] {
        out = out.replace(var, value);
    }
    assert!(!out.contains('$'), "unsubstituted variable in {out}");
    out
}

struct Query {
    dashboard: String,
    panel: String,
    expr: String,
    instant: bool,
    /// The descriptive labels (joined from `certcentral_order_info`) that
    /// the panel, a table, shows as columns: every row must have them.
    columns: Vec<String>,
}

/// The labels that describe an order, on `certcentral_order_info` only.
const DESCRIPTIVE: [&str; 4] = ["common_name", "product", "container", "organization"];

/// The descriptive labels a table panel shows as columns.
fn table_columns(panel: &Json) -> Vec<String> {
    let Some(transformations) = panel["transformations"].as_array() else {
        return Vec::new();
    };
    transformations
        .iter()
        .filter_map(|t| t["options"]["indexByName"].as_object())
        .flat_map(|columns| columns.keys())
        .filter(|name| DESCRIPTIVE.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// What a table row lacks of the descriptive labels its panel shows (a
/// subaccount order has no container).
fn missing_columns(columns: &[String], row: &Json) -> Vec<String> {
    let labels = &row["metric"];
    columns
        .iter()
        .filter(|name| {
            let subaccount = labels.get("subaccount_id").is_some();
            let value = labels[name.as_str()].as_str().unwrap_or("");
            value.is_empty() && !(subaccount && *name == "container")
        })
        .cloned()
        .collect()
}

fn dashboard_queries() -> (Vec<Query>, Vec<(String, String)>) {
    fn walk(file: &str, panels: &Json, out: &mut Vec<Query>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push(Query {
                        dashboard: file.to_owned(),
                        panel: panel["title"].as_str().unwrap_or("?").to_owned(),
                        expr: expr.to_owned(),
                        instant: target["instant"] == true,
                        columns: table_columns(panel),
                    });
                }
            }
            walk(file, &panel["panels"], out);
        }
    }
    let mut queries = Vec::new();
    let mut variables = Vec::new();
    let mut paths: Vec<PathBuf> = fs::read_dir(root().join("dashboards"))
        .expect("dashboards/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if CHECKED_ELSEWHERE.iter().any(|(d, _)| *d == file) {
            continue;
        }
        let json: Json = serde_json::from_str(&fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        walk(&file, &json["panels"], &mut queries);
        for var in json["templating"]["list"].as_array().into_iter().flatten() {
            if var["type"] == "query" {
                let q = var["query"]["query"]
                    .as_str()
                    .or(var["query"].as_str())
                    .unwrap_or("");
                variables.push((format!("{file} variable {}", var["name"]), q.to_owned()));
            }
        }
    }
    (queries, variables)
}

/// The overview's "Needs action" column, read on Prometheus: "no" (0)
/// exactly for the orders with a `certcentral_order_handled` series, "yes"
/// (1) for every other row, and the demo has both.
fn needs_action_problems(prom: &Prometheus, queries: &[Query]) -> Vec<String> {
    let Some(query) = queries.iter().find(|q| {
        q.dashboard == "certcentral-overview.json"
            && q.expr.contains("certcentral_order_handled")
            && q.instant
            && !q.columns.is_empty()
    }) else {
        return vec!["the overview has no Needs action query".into()];
    };
    let order = |row: &Json| {
        let label = |name: &str| row["metric"][name].as_str().unwrap_or("").to_owned();
        (label("account"), label("order_id"))
    };
    let handled: BTreeSet<(String, String)> = match prom.instant("certcentral_order_handled") {
        Ok(rows) => rows.iter().map(order).collect(),
        Err(e) => return vec![format!("certcentral_order_handled: {e}")],
    };
    let rows = match prom.instant(&substitute(&query.expr)) {
        Ok(rows) => rows,
        Err(e) => return vec![format!("Needs action: {e}")],
    };
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for row in &rows {
        let want = if handled.contains(&order(row)) {
            "0"
        } else {
            "1"
        };
        let got = row["value"][1].as_str().unwrap_or("");
        seen.insert(got.to_owned());
        if got != want {
            problems.push(format!(
                "Needs action of order {:?}: {got}, want {want}",
                order(row)
            ));
        }
    }
    if seen.len() != 2 {
        problems.push(format!(
            "Needs action shows only {seen:?} over {} rows",
            rows.len()
        ));
    }
    problems
}

/// An alert as this test identifies it: name, and the labels that tell its
/// instances apart (account plus order_id, subaccount_id, rule or endpoint).
type AlertKey = (String, String);

fn alert_key(name: &str, labels: &BTreeMap<String, String>) -> AlertKey {
    let mut parts = Vec::new();
    for key in ["account", "order_id", "subaccount_id", "rule", "endpoint"] {
        if let Some(v) = labels.get(key) {
            parts.push(format!("{key}={v}"));
        }
    }
    (name.to_owned(), parts.join(","))
}

const WARNING_RULES: [&str; 4] = [
    "weak_signature_hash",
    "weak_key",
    "validity_exceeds_baseline",
    "ct_logging_disabled",
];
const OWN_ALERT_RULES: [&str; 5] = [
    "auto_renew_disabled",
    "approval_pending_too_long",
    "expired_not_renewed",
    "validation_expires_before_renewal",
    "name_not_covered",
];

/// The renewal-blocker alert for a validation ending in `days`, if any.
fn validation_alert(days: f64) -> Option<&'static str> {
    if days < 7.0 {
        Some("CertCentralRenewalValidationExpiringCritical")
    } else if days < 30.0 {
        Some("CertCentralRenewalValidationExpiring")
    } else {
        None
    }
}

/// The alerts alerts/certcentral.rules.yml should raise on this scrape,
/// each rule's condition written again in Rust.
fn expected_alerts(samples: &[Series], now: f64) -> BTreeSet<AlertKey> {
    let by = |name: &str| -> BTreeMap<BTreeMap<String, String>, f64> {
        samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| (s.labels.clone(), s.value))
            .collect()
    };
    // What the rules join from certcentral_order_info (subaccount_id is
    // part of the alert's identity).
    let info: BTreeMap<(String, String), &BTreeMap<String, String>> = samples
        .iter()
        .filter(|s| s.name == "certcentral_order_info")
        .map(|s| {
            let key = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
            ((key("account"), key("order_id")), &s.labels)
        })
        .collect();
    let described = |labels: &BTreeMap<String, String>| {
        let key = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let mut labels = labels.clone();
        if let Some(info) = info.get(&(key("account"), key("order_id"))) {
            labels.extend(info.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        labels
    };
    let days = by("certcentral_certificate_days_remaining");
    let handled = by("certcentral_order_handled");
    let auto_renew = by("certcentral_order_auto_renew");
    let mut expected = BTreeSet::new();
    for (labels, &d) in &days {
        if handled.contains_key(labels) {
            continue;
        }
        let named = described(labels);
        let name = if d < 0.0 {
            "CertCentralCertificateExpired"
        } else if d < 7.0 {
            "CertCentralCertificateExpiringCritical"
        } else if d < 30.0 {
            "CertCentralCertificateExpiringSoon"
        } else {
            ""
        };
        if !name.is_empty() {
            expected.insert(alert_key(name, &named));
        }
        if (0.0..60.0).contains(&d) && auto_renew.get(labels) == Some(&0.0) {
            expected.insert(alert_key("CertCentralAutoRenewDisabled", &named));
        }
    }
    for (labels, &age) in &by("certcentral_order_oldest_pending_request_age_seconds") {
        if age > 3.0 * 86400.0 {
            expected.insert(alert_key(
                "CertCentralApprovalPendingTooLong",
                &described(labels),
            ));
        }
    }
    for (labels, &count) in &by("certcentral_compliance_violations") {
        let rule = labels.get("rule").map(String::as_str).unwrap_or("");
        if count > 0.0 {
            if WARNING_RULES.contains(&rule) {
                expected.insert(alert_key("CertCentralComplianceViolation", labels));
            } else if !OWN_ALERT_RULES.contains(&rule) {
                expected.insert(alert_key("CertCentralComplianceFinding", labels));
            }
        }
    }
    // Renewal blockers: per order, unless handled.
    let order_of = |labels: &BTreeMap<String, String>| {
        (
            labels.get("account").cloned(),
            labels.get("order_id").cloned(),
        )
    };
    let handled: BTreeSet<_> = handled.keys().map(order_of).collect();
    for (labels, &until) in &by("certcentral_order_validation_expiry_timestamp_seconds") {
        if !handled.contains(&order_of(labels))
            && let Some(name) = validation_alert((until - now) / 86400.0)
        {
            expected.insert(alert_key(name, labels));
        }
    }
    for (labels, &names) in &by("certcentral_uncovered_names") {
        if names > 0.0 {
            expected.insert(alert_key("CertCentralNamesUncovered", labels));
        }
    }
    for (labels, &up) in &by("certcentral_up") {
        if up == 0.0 {
            expected.insert(alert_key("CertCentralPollFailing", labels));
        }
    }
    let intervals = by("certcentral_poll_interval_seconds");
    for (labels, &last) in &by("certcentral_last_successful_poll_timestamp_seconds") {
        if intervals.get(labels).is_some_and(|i| now - last > 3.0 * i) {
            expected.insert(alert_key("CertCentralDataStale", labels));
        }
    }
    for (labels, &conclusive) in &by("certcentral_domain_validations_conclusive") {
        if conclusive == 0.0 {
            expected.insert(alert_key("CertCentralValidationsInconclusive", labels));
        }
    }
    for (labels, &skipped) in &by("certcentral_report_rows_skipped") {
        if skipped > 0.0 {
            expected.insert(alert_key("CertCentralReportRowsSkipped", labels));
        }
    }
    expected
}

/// The certificate and compliance alerts, as the simulator's own truth
/// (`GET /_simulator/orders` and `/_simulator/subaccount-orders`) says the
/// rules should raise them, independently of the exporter's metrics.
const TRUTH_ALERTS: [&str; 10] = [
    "CertCentralCertificateExpiringSoon",
    "CertCentralCertificateExpiringCritical",
    "CertCentralCertificateExpired",
    "CertCentralAutoRenewDisabled",
    "CertCentralApprovalPendingTooLong",
    "CertCentralComplianceViolation",
    "CertCentralComplianceFinding",
    "CertCentralRenewalValidationExpiring",
    "CertCentralRenewalValidationExpiringCritical",
    "CertCentralNamesUncovered",
];

fn truth_alerts(orders: &[Json], subaccount_orders: &[Json], now: i64) -> BTreeSet<AlertKey> {
    let key = |name: &str, parts: &[(&str, String)]| -> AlertKey {
        let mut labels: BTreeMap<String, String> = parts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        labels.insert("account".into(), "default".into());
        alert_key(name, &labels)
    };
    let expiry_alert = |days: i64| match days {
        d if d < 0 => Some("CertCentralCertificateExpired"),
        d if d < 7 => Some("CertCentralCertificateExpiringCritical"),
        d if d < 30 => Some("CertCentralCertificateExpiringSoon"),
        _ => None,
    };
    let mut expected = BTreeSet::new();
    let mut findings: BTreeMap<String, usize> = BTreeMap::new();
    for order in orders {
        let id = order["id"].as_u64().expect("truth: id").to_string();
        let labels = [("order_id", id)];
        let days = order["days_remaining"].as_i64();
        if order["exported"] == true && order["actionable"] == true {
            if let Some(name) = days.and_then(expiry_alert) {
                expected.insert(key(name, &labels));
            }
            if order["auto_renew"] == false && days.is_some_and(|d| (0..60).contains(&d)) {
                expected.insert(key("CertCentralAutoRenewDisabled", &labels));
            }
            if let Some(name) = order["validation_expiry_timestamp"]
                .as_i64()
                .and_then(|until| validation_alert((until - now) as f64 / 86400.0))
            {
                expected.insert(key(name, &labels));
            }
        }
        if order["expected_findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|r| r == "name_not_covered"))
        {
            expected.insert(key("CertCentralNamesUncovered", &[]));
        }
        for rule in order["expected_findings"].as_array().into_iter().flatten() {
            let rule = rule.as_str().expect("truth: finding");
            *findings.entry(rule.to_owned()).or_default() += 1;
            if rule == "approval_pending_too_long" {
                expected.insert(key("CertCentralApprovalPendingTooLong", &labels));
            }
        }
    }
    for (rule, _) in findings {
        if WARNING_RULES.contains(&rule.as_str()) {
            expected.insert(key("CertCentralComplianceViolation", &[("rule", rule)]));
        } else if !OWN_ALERT_RULES.contains(&rule.as_str()) {
            expected.insert(key("CertCentralComplianceFinding", &[("rule", rule)]));
        }
    }
    // Subaccount orders have expiry series but no handled series: the
    // rules alert on them by days alone.
    for order in subaccount_orders {
        let status = order["status"].as_str().unwrap_or("");
        let exported =
            matches!(status, "issued" | "reissue_pending") && order["in_report"] == false;
        let Some(expiry) = order["expiry_timestamp"].as_i64().filter(|_| exported) else {
            continue;
        };
        if let Some(name) = expiry_alert((expiry - now).div_euclid(86_400)) {
            let labels = [
                ("order_id", order["id"].as_u64().expect("id").to_string()),
                (
                    "subaccount_id",
                    order["subaccount_id"]
                        .as_u64()
                        .expect("subaccount_id")
                        .to_string(),
                ),
            ];
            expected.insert(key(name, &labels));
        }
    }
    expected
}

/// The base URL of the simulator the exporter polls: from the exporter's
/// log in `--demo`, or from $CERTCENTRAL_E2E_URL.
fn simulator_base(exporter_log: &str) -> Option<String> {
    let url = match std::env::var("CERTCENTRAL_E2E_URL") {
        Ok(url) => url,
        Err(_) => exporter_log
            .lines()
            .find(|l| l.contains("embedded CertCentral simulator"))?
            .split_whitespace()
            .find_map(|field| field.strip_prefix("url="))?
            .trim_matches('"')
            .to_owned(),
    };
    Some(
        url.trim_end_matches('/')
            .trim_end_matches("/services/v2")
            .to_owned(),
    )
}

/// The alerts Prometheus holds (pending or firing).
fn active_alerts(prom: &Prometheus) -> Option<BTreeSet<AlertKey>> {
    let data = prom.api("/api/v1/alerts", &[]).ok()?;
    let mut active = BTreeSet::new();
    for alert in data["alerts"].as_array()? {
        let state = alert["state"].as_str()?;
        assert!(
            state == "pending" || state == "firing",
            "alert state {state}"
        );
        let labels: BTreeMap<String, String> = alert["labels"]
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
            .collect();
        let name = labels.get("alertname")?.clone();
        for (key, text) in alert["annotations"].as_object()? {
            let text = text.as_str().unwrap_or("");
            assert!(
                !text.contains("error expanding template") && !text.contains("<no value>"),
                "{name} {key} does not render: {text}"
            );
        }
        if labels.contains_key("order_id") {
            // The rule joined certcentral_order_info: the alert is named.
            let subaccount = labels.contains_key("subaccount_id");
            for label in DESCRIPTIVE {
                let value = labels.get(label).map_or("", String::as_str);
                assert!(
                    !value.is_empty() || (subaccount && label == "container"),
                    "{name}: no {label} label: {labels:?}"
                );
            }
            let summary = alert["annotations"]["summary"].as_str().unwrap_or("");
            for label in ["common_name", "order_id"] {
                let value = labels.get(label).map(String::as_str).unwrap_or("?");
                assert!(
                    summary.contains(value),
                    "{name}: summary {summary:?} lacks {label} {value}"
                );
            }
        }
        active.insert(alert_key(&name, &labels));
    }
    Some(active)
}

/// No expiry alert is active for an auto-renewing order outside the
/// grace period (14 days) while the domain list says nothing: such a page
/// would rest on missing data.
fn no_page_without_evidence(prom: &Prometheus, controls: &Controls) -> Vec<String> {
    let orders = controls.orders();
    let mut problems = Vec::new();
    let mut paged = 0;
    for (name, labels) in active_alerts(prom).unwrap_or_default() {
        if !name.starts_with("CertCentralCertificateExpiring") {
            continue;
        }
        let id = labels
            .split(',')
            .find_map(|part| part.strip_prefix("order_id="))
            .and_then(|id| id.parse::<u64>().ok());
        let Some(order) = orders.iter().find(|o| o["id"].as_u64() == id) else {
            continue;
        };
        paged += 1;
        if order["auto_renew"] == true && order["days_remaining"].as_i64().is_some_and(|d| d >= 14)
        {
            problems.push(format!(
                "{name} pages auto-renewing order {} ({} days left) with no domain list to rest on",
                order["id"], order["days_remaining"]
            ));
        }
    }
    if paged == 0 {
        problems.push("no expiry alert at all: the check would pass on nothing".to_owned());
    }
    problems
}

/// What one mode's run found.
struct Outcome {
    failures: Vec<String>,
    expected: BTreeSet<AlertKey>,
    summary: String,
}

#[test]
fn dashboards_and_alerts_against_a_real_prometheus() {
    let started = Instant::now();
    let (full, cut, saturated, no_domains) = std::thread::scope(|s| {
        let full = s.spawn(|| scenario(&FULL));
        let cut = s.spawn(|| scenario(&HORIZON));
        let saturated = s.spawn(|| scenario(&SATURATED));
        let no_domains = s.spawn(|| scenario(&NO_DOMAINS));
        let join = |h: std::thread::ScopedJoinHandle<'_, Outcome>| {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        };
        (join(full), join(cut), join(saturated), join(no_domains))
    });
    let mut failures: Vec<String> = Vec::new();
    failures.extend(full.failures.iter().map(|f| format!("[{}] {f}", FULL.name)));
    failures.extend(
        cut.failures
            .iter()
            .map(|f| format!("[{}] {f}", HORIZON.name)),
    );
    failures.extend(
        saturated
            .failures
            .iter()
            .map(|f| format!("[{}] {f}", SATURATED.name)),
    );
    failures.extend(
        no_domains
            .failures
            .iter()
            .map(|f| format!("[{}] {f}", NO_DOMAINS.name)),
    );
    // Cutting per-order series must not change which alerts fire: the
    // expiry alerts look at most 60 days ahead, the others use aggregates.
    let lost: Vec<_> = full.expected.difference(&cut.expected).collect();
    let gained: Vec<_> = cut.expected.difference(&full.expected).collect();
    if !lost.is_empty() || !gained.is_empty() {
        failures.push(format!(
            "with --metrics.per-order-horizon 91d the alerts differ: lost {lost:#?}, gained {gained:#?}"
        ));
    }
    eprintln!(
        "prometheus e2e, {}: {}\nprometheus e2e, {}: {}\nprometheus e2e, {}: {}\n\
         prometheus e2e, {}: {}\nprometheus e2e: total {:?}",
        FULL.name,
        full.summary,
        HORIZON.name,
        cut.summary,
        SATURATED.name,
        saturated.summary,
        NO_DOMAINS.name,
        no_domains.summary,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs the exporter in `mode` and a Prometheus over it, and checks the
/// dashboards, the alerts and the scrape.
fn scenario(mode: &Mode) -> Outcome {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let client = http();

    // The exporter, on the demo fleet (or, for trying the test against
    // another CertCentral stand-in, on the API at $CERTCENTRAL_E2E_URL).
    let mut args: Vec<String> = vec![
        "--poll.interval".into(),
        mode.interval.into(),
        // Keep the exporter's state store out of the home directory.
        "--storage.path".into(),
        dir.path().join("state").display().to_string(),
    ];
    args.extend(mode.args.iter().map(|a| a.to_string()));
    // The saturated mode's own simulator (the demo's fleet), its urgent
    // orders reissued behind the report's back.
    let own = mode.saturated || mode.domains != "all";
    let simulator = (own && std::env::var("CERTCENTRAL_E2E_URL").is_err()).then(|| {
        let sim = Simulator::start(BIN, 300, 1, &[]);
        if mode.saturated {
            sim.reissue_urgent_orders(3);
        }
        if mode.domains != "all" {
            assert_eq!(sim.set_domains_shown(mode.domains), mode.domains);
        }
        sim
    });
    let api_url = match (&simulator, std::env::var("CERTCENTRAL_E2E_URL")) {
        (Some(sim), _) => Ok(sim.api_url()),
        (None, url) => url,
    };
    match api_url {
        Ok(url) => {
            let key = dir.path().join("api-key");
            fs::write(&key, "e2e-test-key").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
            }
            args.extend([
                "--certcentral.url".into(),
                url,
                "--certcentral.api-key-file".into(),
                key.display().to_string(),
            ]);
        }
        Err(_) => args.push("--demo".into()),
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let exporter = Exporter::spawn(BIN.command(), &args);
    exporter.wait_ready_within(Duration::from_secs(120));
    let exporter_ready = started.elapsed();

    // A real Prometheus scraping it every second and evaluating the rules.
    let target = exporter.base.trim_start_matches("http://");
    let rules = root().join("alerts/*.rules.yml");
    let prom = Prometheus::start(JOB, target, Duration::from_secs(1), &[&rules]);
    let rules = prom.api("/api/v1/rules", &[]).expect("rules API");
    let loaded: usize = rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(
        loaded >= 14,
        "Prometheus loaded only {loaded} rules from alerts/*.yml"
    );
    let both = [&exporter.process, &prom.process];

    // Enough scrapes for rate() over 20s windows.
    poll_until(
        "Prometheus to hold 10 successful scrapes of the exporter",
        Duration::from_secs(60),
        EVERY,
        &both,
        || {
            let n = prom.scalar(&format!("sum_over_time(up{{job=\"{JOB}\"}}[1m])"))?;
            (n >= 10.0).then_some(())
        },
    );
    let health = prom.instant(&format!("up{{job=\"{JOB}\"}}")).unwrap();
    assert_eq!(
        health[0]["value"][1], "1",
        "the exporter's scrape target is down: {health:?}"
    );

    // The first polls fetch order details within a request budget; wait
    // until none is left over, so that renewal links, pending requests and
    // CT settings are all known.
    poll_until(
        "the exporter to have fetched every order's details (certcentral_details_backlog 0)",
        Duration::from_secs(150),
        EVERY,
        &both,
        || {
            let backlog = prom.scalar("max(certcentral_details_backlog) or vector(0)")?;
            (backlog == 0.0).then_some(())
        },
    );

    // A scrape of our own, for promtool and for the expected alerts.
    let scrape = exporter.scrape();
    let samples = scrape.series();

    let mut failures = Vec::new();

    // 1. promtool check metrics on the real scrape.
    let unexplained: Vec<String> = promtool_check_metrics(&scrape.text)
        .into_iter()
        .filter(|l| !ACCEPTED_LINT.iter().any(|(text, _)| l.contains(text)))
        .collect();
    if !unexplained.is_empty() {
        failures.push(format!(
            "promtool check metrics on a real scrape:\n  {}",
            unexplained.join("\n  ")
        ));
    }

    // 2. Every dashboard query parses and returns data.
    let (queries, variables) = dashboard_queries();
    // Without a domain list the validation panels have nothing to show:
    // that mode checks the alerts, and only that the queries run.
    let may_be_empty = |q: &Query| {
        mode.domains != "all"
            || MAY_BE_EMPTY.iter().any(|(m, d, p, _)| {
                (*m == "*" || *m == mode.name) && *d == q.dashboard && *p == q.panel
            })
    };
    let some_may_be_empty = |q: &Query| {
        SOME_QUERIES_MAY_BE_EMPTY
            .iter()
            .any(|(d, p, _)| *d == q.dashboard && *p == q.panel)
    };
    let mut checked = 0;
    let mut table_rows = 0;
    // Panels of SOME_QUERIES_MAY_BE_EMPTY: (dashboard, panel) -> has data.
    let mut buckets: BTreeMap<(String, String), bool> = BTreeMap::new();
    for q in &queries {
        let expr = substitute(&q.expr);
        // A `or vector(0)` fallback would hide a missing metric: the query
        // must return data without it too.
        let bare = expr.strip_suffix(" or vector(0)").unwrap_or(&expr);
        for query in [&expr[..], bare].into_iter().collect::<BTreeSet<_>>() {
            checked += 1;
            let result = if q.instant {
                prom.instant(query)
            } else {
                prom.range(query, 60)
            };
            match result {
                Err(e) => failures.push(format!(
                    "{} / {:?}: query fails: {e}\n    {query}",
                    q.dashboard, q.panel
                )),
                Ok(series) if some_may_be_empty(q) => {
                    let has_data = buckets
                        .entry((q.dashboard.clone(), q.panel.clone()))
                        .or_default();
                    *has_data |= query == bare && !series.is_empty();
                }
                Ok(series) if series.is_empty() && !may_be_empty(q) => failures.push(format!(
                    "{} / {:?}: no data\n    {query}",
                    q.dashboard, q.panel
                )),
                Ok(series) => {
                    // Tables name each order: the join with
                    // certcentral_order_info brings its labels to every row.
                    for row in &series {
                        let missing = missing_columns(&q.columns, row);
                        if !missing.is_empty() {
                            failures.push(format!(
                                "{} / {:?}: a row lacks {missing:?}: {}\n    {query}",
                                q.dashboard, q.panel, row["metric"]
                            ));
                        }
                    }
                    table_rows += usize::from(!q.columns.is_empty()) * series.len();
                }
            }
        }
    }
    if table_rows == 0 {
        failures.push("no table panel returned a row to check for the order's names".into());
    }
    failures.extend(needs_action_problems(&prom, &queries));
    for ((dashboard, panel), has_data) in buckets {
        if !has_data && mode.domains == "all" {
            failures.push(format!(
                "{dashboard} / {panel:?}: no query of the panel returns data"
            ));
        }
    }
    for (name, query) in &variables {
        checked += 1;
        // label_values(selector, label)
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{name}: not label_values(...): {query}"));
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        let selector = substitute(selector.trim());
        match prom.api(
            &format!("/api/v1/label/{}/values", label.trim()),
            &[("match[]", selector.clone())],
        ) {
            Ok(values) if values.as_array().is_some_and(|v| !v.is_empty()) => {}
            Ok(_) => failures.push(format!("{name}: no values for {query}")),
            Err(e) => failures.push(format!("{name}: {e} for {query}")),
        }
    }

    // 3. The alerts: exactly the expected ones are pending or firing, the
    // expectation worked out twice: from the exporter's metrics, rule by
    // rule, and (for the certificate and compliance alerts) from the
    // simulator's own truth. Both are taken again on every try, since a
    // poll may land meanwhile.
    let truth_base = match &simulator {
        Some(sim) => Some(sim.base.clone()),
        None => simulator_base(&exporter.process.logs()),
    };
    let controls = truth_base
        .as_deref()
        .map(Controls::at)
        .filter(Controls::reachable);
    let truth = |controls: &Controls| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        truth_alerts(&controls.orders(), &controls.subaccount_orders(), now)
    };
    if controls.is_none() {
        let demo = std::env::var("CERTCENTRAL_E2E_URL").is_err();
        let note = format!(
            "the simulator's truth (/_simulator/) is not reachable at {truth_base:?}: \
             alerts checked against the metrics only"
        );
        if demo {
            failures.push(note);
        } else {
            eprintln!("{note}");
        }
    }
    let allowed_extra = |key: &AlertKey| MAY_FIRE.iter().any(|(n, _)| *n == key.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (expected, alert_problems) = loop {
        let samples = client
            .get(exporter.url("/metrics"))
            .send()
            .and_then(|r| r.text())
            .map(|text| Scrape::parse(&text).series())
            .unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let expected = expected_alerts(&samples, now);
        let active = active_alerts(&prom).unwrap_or_default();
        let mut problems = Vec::new();
        let missing: Vec<&AlertKey> = expected.difference(&active).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} alerts the metrics call for are not pending or firing: {missing:#?}",
                missing.len()
            ));
        }
        let unexpected: Vec<&AlertKey> = active
            .difference(&expected)
            .filter(|k| !allowed_extra(k))
            .collect();
        if !unexpected.is_empty() {
            problems.push(format!(
                "{} alerts are active that the metrics do not call for: {unexpected:#?}",
                unexpected.len()
            ));
        }
        if let Some(truth) = controls.as_ref().map(truth) {
            let active: BTreeSet<&AlertKey> = active
                .iter()
                .filter(|(name, _)| TRUTH_ALERTS.contains(&name.as_str()))
                .collect();
            let truth: BTreeSet<&AlertKey> = truth.iter().collect();
            let missing: Vec<_> = truth.difference(&active).collect();
            let unexpected: Vec<_> = active.difference(&truth).collect();
            if !missing.is_empty() || !unexpected.is_empty() {
                problems.push(format!(
                    "alerts differ from the simulator's truth: missing {missing:#?}, \
                     not called for {unexpected:#?}"
                ));
            }
        }
        if problems.is_empty() || Instant::now() >= deadline {
            break (expected, problems);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    failures.extend(alert_problems);
    let must_have = [
        "CertCentralCertificateExpiringSoon",
        "CertCentralCertificateExpiringCritical",
        "CertCentralCertificateExpired",
        "CertCentralAutoRenewDisabled",
        "CertCentralApprovalPendingTooLong",
        "CertCentralComplianceViolation",
        "CertCentralComplianceFinding",
        "CertCentralRenewalValidationExpiring",
        "CertCentralRenewalValidationExpiringCritical",
        "CertCentralNamesUncovered",
    ];
    // Without a domain list, nothing is concluded of names or domain
    // validations: the warning about the list instead.
    let must_have: Vec<&str> = if mode.domains == "all" {
        must_have.to_vec()
    } else {
        vec![
            "CertCentralCertificateExpiringSoon",
            "CertCentralCertificateExpiringCritical",
            "CertCentralCertificateExpired",
            "CertCentralValidationsInconclusive",
        ]
    };
    if mode.domains != "all"
        && let Some(controls) = &controls
    {
        failures.extend(no_page_without_evidence(&prom, controls));
    }
    for name in must_have {
        if !expected.iter().any(|(n, _)| n == name) {
            failures.push(format!(
                "the demo fleet should raise {name}, but its metrics do not call for it"
            ));
        }
    }
    let mut per_alert: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _) in &expected {
        *per_alert.entry(name).or_default() += 1;
    }

    let summary = format!(
        "exporter ready after {exporter_ready:?}; {} dashboard queries and {} variables, \
         {checked} Prometheus queries checked ({table_rows} table rows named); {} alerts expected and active ({per_alert:?}); \
         {} samples in the scrape; {:?}",
        queries.len(),
        variables.len(),
        expected.len(),
        samples.len(),
        started.elapsed()
    );
    if !failures.is_empty() {
        failures.push(format!(
            "{}\n{}",
            exporter.process.tail(),
            prom.process.tail()
        ));
    }
    Outcome {
        failures,
        expected,
        summary,
    }
}
