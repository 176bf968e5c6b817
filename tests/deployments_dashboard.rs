//! The "CertCentral deployments" dashboard (dashboards/certcentral-deployments.json)
//! against a real Prometheus that probes endpoints through the exporter's
//! `/probe`, as docs/operating.md tells blackbox_exporter users to: a static
//! target list relabelled into `/probe`'s `target` and `server_name`
//! parameters. The endpoints are real TLS servers serving certificates
//! minted for the test; a CertCentral stand-in's report knows some of them.
//! One endpoint serves its order's active certificate, one the certificate
//! a renewal replaced, one a certificate no account knows (under a name it
//! does not cover), one refuses connections, and one is a target `/probe`
//! may not connect to (403, a failed scrape).
//!
//! Checked through Prometheus's API: every query of the dashboard (its
//! variables as Grafana fills them by default) parses and returns data; the
//! variables have values; the stats count each case once; the endpoint
//! table, merged on (job, instance) as Grafana's merge transformation does,
//! has one row per endpoint with no label in conflict, the superseded one
//! ranked first with its order, names, days left and replacement; the
//! failing-probes table names both failures and their kind.
//! (tests/prometheus_e2e.rs runs the other dashboards; its Prometheus scrapes
//! no `/probe`.)
//!
//! Needs `prometheus` (Debian: `apt-get install prometheus`;
//! `scripts/install-test-tools` installs it); PROMETHEUS overrides the one
//! on PATH.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use certcentral_test_support::{
    Binary, IssuedOrder, Prometheus, TestCa, TestLeaf, TlsEndpoint, exporter_binary, free_port,
    poll_until, probing_exporter, report_stand_in,
};
use serde_json::Value as Json;

const BIN: Binary = exporter_binary!();
const DASHBOARD: &str = "dashboards/certcentral-deployments.json";
const PROBE_JOB: &str = "certcentral-probe";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The report: order 701 (container "Web") shows `active`; order 702
/// (container "Shop") shows `old` and was renewed by order 703, which
/// shows `renewal`. Its stand-in's base URL.
fn report(active: &TestLeaf, old: &TestLeaf, renewal: &TestLeaf) -> String {
    let order = |id, name, container, leaf, days, renewed, renews| IssuedOrder {
        id,
        common_name: name,
        dns_names: name,
        container,
        leaf,
        days,
        renewed,
        renews,
    };
    report_stand_in(&[
        order(701, "active.example", "Web", active, 200, false, None),
        order(702, "renewed.example", "Shop", old, 20, true, None),
        order(
            703,
            "renewed.example",
            "Shop",
            renewal,
            380,
            false,
            Some(702),
        ),
    ])
}

/// How many series an instant query returns.
fn count(prom: &Prometheus, query: &str) -> usize {
    prom.instant(query).map(|r| r.len()).unwrap_or(0)
}

/// A panel's queries: (panel title, refId, expr, instant).
fn queries(dashboard: &Json) -> Vec<(String, String, String, bool)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap_or("?").to_owned(),
                target["refId"].as_str().unwrap_or("?").to_owned(),
                target["expr"].as_str().expect("expr").to_owned(),
                target["instant"] == true,
            ));
        }
    }
    out
}

/// `expr` with the dashboard's variables as Grafana fills them by default:
/// the job variable's default value, All for the others.
fn substitute(expr: &str, job: &str) -> String {
    let mut out = expr.to_owned();
    for (var, value) in [
        ("$__range", "1m"),
        ("$account", ".*"),
        ("$container", ".*"),
        ("$product", ".*"),
        ("$job", job),
    ] {
        out = out.replace(var, value);
    }
    assert!(!out.contains('$'), "unsubstituted variable in {out}");
    out
}

fn label(row: &Json, name: &str) -> String {
    row["metric"][name].as_str().unwrap_or("").to_owned()
}

fn value(row: &Json) -> f64 {
    row["value"][1]
        .as_str()
        .unwrap_or("NaN")
        .parse()
        .unwrap_or(f64::NAN)
}

/// A table panel's rows as Grafana's merge transformation makes them from
/// its instant queries: each series a row of its labels and `Value #<ref>`,
/// rows of the same (job, instance) merged. A label two rows of one
/// endpoint give different values would make Grafana show two rows: a
/// problem.
fn merged_rows(
    prom: &Prometheus,
    dashboard: &Json,
    title: &str,
    job: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut rows: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (panel, reference, expr, _) in queries(dashboard) {
        if panel != title {
            continue;
        }
        let series = prom
            .instant(&substitute(&expr, job))
            .unwrap_or_else(|e| panic!("{title} / {reference}: {e}"));
        for s in series {
            let instance = label(&s, "instance");
            if instance.is_empty() || label(&s, "job").is_empty() {
                problems.push(format!(
                    "{title} / {reference}: a row without job or instance: {s}"
                ));
                continue;
            }
            let row = rows.entry(instance.clone()).or_default();
            let mut fields: Vec<(String, String)> = s["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect();
            fields.push((
                format!("Value #{reference}"),
                s["value"][1].as_str().unwrap_or("").to_owned(),
            ));
            for (name, v) in fields {
                match row.get(&name) {
                    Some(old) if *old != v => problems.push(format!(
                        "{title}: {instance}: {name} is {old:?} in one query and {v:?} in {reference}: Grafana would show two rows"
                    )),
                    _ => {
                        row.insert(name, v);
                    }
                }
            }
        }
    }
    rows
}

/// The field names a table panel shows (its organize step's indexByName).
fn columns(dashboard: &Json, title: &str) -> Vec<String> {
    let panel = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"));
    panel["transformations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["options"]["indexByName"].as_object())
        .flat_map(|c| c.keys().cloned())
        .collect()
}

#[test]
fn the_deployments_dashboard_shows_what_the_endpoints_serve() {
    let pki = TestCa::new("deployments test CA");
    let active = pki.leaf("active.example", 0x0a01, Some(200));
    let old = pki.leaf("renewed.example", 0x0a02, Some(20));
    let renewal = pki.leaf("renewed.example", 0x0a03, Some(380));
    let stranger = pki.leaf("stranger.example", 0x0a04, Some(10));
    let base = report(&active, &old, &renewal);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let endpoint = |leaf| TlsEndpoint::start("127.0.0.1", leaf, Vec::new()).address;
    let (a, o, s) = (endpoint(&active), endpoint(&old), endpoint(&stranger));
    // Refuses connections: nothing listens there.
    let down = format!("127.0.0.1:{}", free_port());
    // Not a name on an order nor an allowed target: /probe answers 403.
    let refused = "127.0.0.2:443";

    let url = format!("{base}/services/v2");
    let exporter = probing_exporter(BIN, &url, "deployments-test-key", Some(&ca_file), &[]);
    exporter.wait_ready();
    let address = exporter.base.trim_start_matches("http://");

    // The exporter's own job, and the probe job as docs/operating.md shows
    // it for a target list of one's own: the labels /probe/targets would
    // give (account, container) on some targets, none on another.
    let targets = [
        (
            a.to_string(),
            "active.example",
            ", account: default, container: Web",
        ),
        (
            o.to_string(),
            "renewed.example",
            // Not the container of the order whose certificate it serves:
            // the table names that one.
            ", account: default, container: Storefront",
        ),
        (s.to_string(), "other.example", ""),
        (
            down.clone(),
            "down.example",
            ", account: default, container: Web",
        ),
        (refused.to_owned(), "refused.example", ", account: default"),
    ];
    let mut jobs = format!(
        r#"  - job_name: certcentral-exporter
    static_configs:
      - targets: ['{address}']
  - job_name: {PROBE_JOB}
    metrics_path: /probe
    honor_labels: true
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [server_name]
        target_label: __param_server_name
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {address}
    static_configs:
"#
    );
    for (target, server, labels) in &targets {
        jobs.push_str(&format!(
            "      - targets: ['{target}']\n        labels: {{server_name: {server}{labels}}}\n"
        ));
    }
    let prom = Prometheus::start_with(&jobs, Duration::from_secs(1), &[]);
    let both = [&exporter.process, &prom.process];
    // Every endpoint probed (three read, one failed, one refused), the
    // exporter's order info, and a few seconds of history for the range
    // queries.
    let wanted = [
        (
            format!("certcentral_probe_certificate_status{{job=\"{PROBE_JOB}\"}}"),
            3,
        ),
        (
            format!("certcentral_probe_success{{job=\"{PROBE_JOB}\"}} == 0"),
            1,
        ),
        (format!("up{{job=\"{PROBE_JOB}\"}} == 0"), 1),
        ("certcentral_order_info".to_owned(), 3),
        (
            format!("count_over_time(up{{job=\"{PROBE_JOB}\"}}[1m]) >= 5"),
            5,
        ),
    ];
    poll_until(
        "Prometheus to hold the probes of every endpoint and the exporter's order info",
        Duration::from_secs(90),
        Duration::from_millis(250),
        &both,
        || {
            wanted
                .iter()
                .all(|(query, n)| count(&prom, query) == *n)
                .then_some(())
        },
    );

    let dashboard: Json = serde_json::from_str(
        &std::fs::read_to_string(root().join(DASHBOARD)).expect("the dashboard"),
    )
    .expect("JSON");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let job_variable = variables
        .iter()
        .find(|v| v["name"] == "job")
        .expect("a job variable");
    let job = job_variable["current"]["value"][0]
        .as_str()
        .expect("the job variable's default")
        .to_owned();
    assert_eq!(job, PROBE_JOB, "the job variable's default");
    let mut problems = Vec::new();

    // Every query parses and returns data, with and without a fallback.
    let all = queries(&dashboard);
    assert!(all.len() >= 15, "only {} queries", all.len());
    for (panel, reference, expr, instant) in &all {
        let expr = substitute(expr, &job);
        let bare = expr
            .strip_suffix(" or vector(0)")
            .unwrap_or(&expr)
            .to_owned();
        for query in [&expr, &bare] {
            let result = if *instant {
                prom.instant(query)
            } else {
                prom.range(query, 60)
            };
            match result {
                Err(e) => problems.push(format!("{panel} / {reference}: {e}\n    {query}")),
                Ok(series) if series.is_empty() => {
                    problems.push(format!("{panel} / {reference}: no data\n    {query}"))
                }
                Ok(_) => {}
            }
        }
    }
    // Every query variable has values, the job variable its default.
    for var in variables.iter().filter(|v| v["type"] == "query") {
        let query = var["query"]["query"].as_str().unwrap_or("");
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable {}: not label_values(...): {query}", var["name"]));
        let (selector, name) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        let values = prom.api(
            &format!("/api/v1/label/{}/values", name.trim()),
            &[("match[]", substitute(selector.trim(), &job))],
        );
        match values {
            Ok(v) if v.as_array().is_some_and(|v| !v.is_empty()) => {
                if var["name"] == "job" && !v.as_array().unwrap().iter().any(|j| j == PROBE_JOB) {
                    problems.push(format!("variable job: {PROBE_JOB} is not among {v}"));
                }
            }
            other => problems.push(format!(
                "variable {}: no values ({other:?}) for {query}",
                var["name"]
            )),
        }
    }

    // The stats: each case once.
    for (title, want) in [
        ("Serving a superseded certificate", 1.0),
        ("Serving an unknown certificate", 1.0),
        ("Serving the active certificate", 1.0),
        ("Failing probes", 2.0),
        ("Not verifying", 1.0),
        ("Served certificates expiring within 30 days", 2.0),
    ] {
        let (_, _, expr, _) = all
            .iter()
            .find(|(p, ..)| p == title)
            .unwrap_or_else(|| panic!("no stat {title:?}"));
        let got = prom
            .instant(&substitute(expr, &job))
            .ok()
            .and_then(|r| r.first().map(value));
        if got != Some(want) {
            problems.push(format!("stat {title:?}: {got:?}, want {want}"));
        }
    }

    // The endpoint table: one row per endpoint whose probe succeeded.
    let table = "Endpoints, superseded certificates first";
    let rows = merged_rows(&prom, &dashboard, table, &job, &mut problems);
    let (a, o, s) = (a.to_string(), o.to_string(), s.to_string());
    let keys: Vec<&String> = rows.keys().collect();
    if keys != {
        let mut want = vec![&a, &o, &s];
        want.sort();
        want
    } {
        problems.push(format!("{table}: rows for {keys:?}, want {a}, {o}, {s}"));
    }
    let field = |instance: &str, name: &str| -> String {
        rows.get(instance)
            .and_then(|r| r.get(name))
            .cloned()
            .unwrap_or_default()
    };
    let number =
        |instance: &str, name: &str| field(instance, name).parse::<f64>().unwrap_or(f64::NAN);
    // Ranked superseded (3), unknown (2), active (1): sorting on it puts the
    // superseded endpoint first.
    for (instance, rank) in [(&o, 3.0), (&s, 2.0), (&a, 1.0)] {
        if number(instance, "Value #A") != rank {
            problems.push(format!(
                "{table}: {instance} ranked {:?}, want {rank}",
                field(instance, "Value #A")
            ));
        }
    }
    for (instance, name, want) in [
        (&o, "order_id", "702"),
        (&o, "account", "default"),
        (&o, "common_name", "renewed.example"),
        (&o, "container", "Shop"),
        (&o, "server_name", "renewed.example"),
        (&o, "replacement_order_id", "703"),
        (&o, "by", "renewal"),
        (&o, "Value #D", "1"),
        (&a, "order_id", "701"),
        (&a, "common_name", "active.example"),
        (&a, "container", "Web"),
        (&s, "order_id", ""),
        (&s, "common_name", ""),
        (&s, "Value #D", "0"),
    ] {
        let got = field(instance, name);
        if got != want {
            problems.push(format!(
                "{table}: {instance} {name} is {got:?}, want {want:?}"
            ));
        }
    }
    if field(&s, "reason").is_empty() {
        problems.push(format!("{table}: no reason why {s} does not verify"));
    }
    let days = number(&o, "Value #B");
    if !(19.0..=21.0).contains(&days) {
        problems.push(format!("{table}: {o} has {days} days left, want about 20"));
    }
    let replacement_days =
        (number(&o, "Value #C") / 1000.0 - chrono::Utc::now().timestamp() as f64) / 86400.0;
    if !(379.0..=381.0).contains(&replacement_days) {
        problems.push(format!(
            "{table}: the replacement of {o} expires in {replacement_days} days, want about 380"
        ));
    }
    // Every column the table shows exists in its data.
    for column in columns(&dashboard, table) {
        if !rows.values().any(|r| r.contains_key(&column)) {
            problems.push(format!("{table}: no row has the column {column:?}"));
        }
    }

    // The failing probes: the refused connection and the refused target.
    let table = "Endpoints whose probe fails";
    let rows = merged_rows(&prom, &dashboard, table, &job, &mut problems);
    let kind = |instance: &str| rows.get(instance).and_then(|r| r.get("Value #A")).cloned();
    if rows.len() != 2
        || kind(&down).as_deref() != Some("1")
        || kind(refused).as_deref() != Some("2")
    {
        problems.push(format!(
            "{table}: {rows:?}, want {down} (1: no handshake) and {refused} (2: scrape failed)"
        ));
    }
    if rows
        .get(&down)
        .and_then(|r| r.get("Value #C"))
        .map(String::as_str)
        != Some("0")
    {
        problems.push(format!(
            "{table}: {down} should show no successful probe in the range: {rows:?}"
        ));
    }
    for column in columns(&dashboard, table) {
        if !rows.values().any(|r| r.contains_key(&column)) {
            problems.push(format!("{table}: no row has the column {column:?}"));
        }
    }

    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(exporter.process.is_running());
}
