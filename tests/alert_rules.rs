//! The alert rules, dashboards and Alertmanager configuration, checked
//! without a running exporter: that the committed files are the monitoring
//! mixin's output (mixin/) and follow its `_config`, `promtool check rules`
//! and `promtool test rules`, the PrometheusRule form against the rule file,
//! every alert's labels, annotations, runbook section and unit test, that
//! rules and dashboard queries name only metrics of the metric catalogue
//! (docs/metrics-catalogue.md), and that Alertmanager (`amtool`) accepts
//! alerts/alertmanager.yml, routes each alert where the mixin says (team
//! routes too), inhibits only with labels both alerts carry, and renders
//! the notification templates within Slack's limits for 200 certificates.
//!
//! Needs `promtool` (Debian: `apt-get install prometheus`), `amtool`
//! (Debian: `apt-get install prometheus-alertmanager`) and `jsonnet`
//! (Debian: `apt-get install jsonnet`); `scripts/install-test-tools` installs
//! them. `PROMTOOL=/path/to/promtool` and `AMTOOL=/path/to/amtool` override
//! the ones on PATH.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use certcentral_test_support::{render_mixin, tool};
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

const RUNBOOK_BASE: &str =
    "https://github.com/certcentral-exporter/certcentral-exporter/blob/main/docs/runbooks.md#";
const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files of `dir` (relative to the crate root) whose name ends with `suffix`,
/// sorted.
fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("read {dir}/: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml_ng::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Runs promtool with `args`, panicking with install instructions when it
/// is missing and with its output when it fails.
fn promtool(args: &[&str], files: &[PathBuf]) {
    let output = Command::new(tool("PROMTOOL", "promtool"))
        .args(args)
        .args(files)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    assert!(
        output.status.success(),
        "promtool {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The files under `dir`, as paths relative to it, recursively.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap_or_else(|e| panic!("read {current:?}: {e}")) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    found
}

#[test]
fn committed_rules_and_dashboards_are_the_mixins_output() {
    let out = render_mixin(None);
    let generated = tree(out.path());
    assert!(
        generated.len() >= 5,
        "the mixin rendered only {generated:?}"
    );
    let mut problems = Vec::new();
    for file in &generated {
        let committed = root().join(file);
        match fs::read_to_string(&committed) {
            Ok(text) if text == read(&out.path().join(file)) => {}
            Ok(_) => problems.push(format!(
                "{} differs from the mixin's output",
                file.display()
            )),
            Err(e) => problems.push(format!("{} is not committed: {e}", file.display())),
        }
    }
    for expected in [
        "alerts/alertmanager.yml",
        "alerts/templates/certcentral.tmpl",
        "deploy/kubernetes/base/alertmanagerconfig.yaml",
        "deploy/kubernetes/base/alertmanager/certcentral.tmpl",
    ] {
        if !generated.contains(Path::new(expected)) {
            problems.push(format!("the mixin no longer renders {expected}"));
        }
    }
    for (dir, suffix) in [
        ("alerts", ".yml"),
        ("alerts", ".yaml"),
        ("alerts/templates", ".tmpl"),
        ("deploy/kubernetes/base/alertmanager", ".tmpl"),
        ("dashboards", ".json"),
    ] {
        for path in files(dir, suffix) {
            let relative = path.strip_prefix(root()).expect("under the root");
            if !generated.contains(relative) {
                problems.push(format!(
                    "{} is not generated by the mixin; add it to the mixin or delete it",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nRegenerate from the repository root with `mixin/generate.sh` and commit the result.",
        problems.join("\n")
    );
}

#[test]
fn the_job_name_comes_from_the_mixins_config() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mixin = dir.path().join("my-mixin.libsonnet");
    fs::write(
        &mixin,
        "(import 'mixin.libsonnet') + { _config+:: { exporterJob: 'certcentral-prod' } }\n",
    )
    .expect("write the mixin file");
    let out = render_mixin(Some(&mixin));
    let rules = out.path().join("alerts/certcentral.rules.yml");
    let text = read(&rules);
    assert!(
        !text.contains("job=\"certcentral-exporter\""),
        "the default job name is still in the rules:\n{text}"
    );

    let changed = yaml(&rules);
    let default = yaml(&root().join("alerts/certcentral.rules.yml"));
    let rules_of = |doc: &Yaml| -> BTreeMap<String, Yaml> {
        doc["groups"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
            .filter_map(|r| Some((r["alert"].as_str()?.to_owned(), r)))
            .collect()
    };
    let (changed, default) = (rules_of(&changed), rules_of(&default));
    assert_eq!(
        changed.keys().collect::<Vec<_>>(),
        default.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        changed["CertCentralExporterDown"]["expr"].as_str(),
        Some("up{job=\"certcentral-prod\"} == 0\n")
    );
    assert_eq!(
        changed["CertCentralExporterAbsent"]["expr"].as_str(),
        Some("absent(up{job=\"certcentral-prod\"})\n")
    );
    let absent = changed["CertCentralExporterAbsent"]["annotations"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(absent.contains("job=\"certcentral-prod\""), "{absent}");
    for (name, rule) in &changed {
        if !name.starts_with("CertCentralExporter") {
            assert!(rule == &default[name], "{name} changed with the job name");
        }
    }
    let resource = yaml(&out.path().join("alerts/prometheusrule.yaml"));
    assert!(resource["spec"]["groups"] == yaml(&rules)["groups"]);

    promtool(&["check", "rules"], std::slice::from_ref(&rules));
    // The exporter-health alerts follow the new job: a scrape failing under
    // it fires, one under the default name no longer counts.
    let test = dir.path().join("job.test.yml");
    fs::write(
        &test,
        format!(
            "rule_files: [{rules}]\n\
             evaluation_interval: 1m\n\
             tests:\n\
             \x20 - interval: 1m\n\
             \x20   input_series:\n\
             \x20     - series: 'up{{job=\"certcentral-prod\", instance=\"exporter:9793\"}}'\n\
             \x20       values: '0x20'\n\
             \x20     - series: 'up{{job=\"certcentral-exporter\", instance=\"old:9793\"}}'\n\
             \x20       values: '0x20'\n\
             \x20   alert_rule_test:\n\
             \x20     - eval_time: 10m\n\
             \x20       alertname: CertCentralExporterDown\n\
             \x20       exp_alerts:\n\
             \x20         - exp_labels: {{severity: warning, job: certcentral-prod, instance: 'exporter:9793'}}\n\
             \x20           exp_annotations:\n\
             \x20             summary: {summary}\n\
             \x20             description: {description}\n\
             \x20             runbook_url: {runbook}\n\
             \x20     - eval_time: 20m\n\
             \x20       alertname: CertCentralExporterAbsent\n\
             \x20       exp_alerts: []\n",
            rules = serde_json::to_string(&rules.to_string_lossy()).expect("json"),
            summary = serde_json::to_string("Prometheus cannot scrape certcentral-exporter at exporter:9793").expect("json"),
            description = serde_json::to_string(
                &changed["CertCentralExporterDown"]["annotations"]["description"]
                    .as_str()
                    .unwrap_or("")
                    .replace("{{ $labels.instance }}", "exporter:9793")
                    .replace("{{ $labels.job }}", "certcentral-prod")
            )
            .expect("json"),
            runbook = serde_json::to_string(&format!("{RUNBOOK_BASE}certcentralexporterdown")).expect("json"),
        ),
    )
    .expect("write the promtool test");
    promtool(&["test", "rules"], &[test]);
}

fn rule_files() -> Vec<PathBuf> {
    let found = files("alerts", ".rules.yml");
    assert!(!found.is_empty(), "no alerts/*.rules.yml rule file");
    found
}

/// Every alerting rule of the rule files, by alert name.
fn alerts() -> BTreeMap<String, Yaml> {
    let mut alerts = BTreeMap::new();
    for file in rule_files() {
        let doc = yaml(&file);
        for group in doc["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                if let Some(name) = rule["alert"].as_str() {
                    let previous = alerts.insert(name.to_owned(), rule.clone());
                    assert!(previous.is_none(), "alert {name} is defined twice");
                }
            }
        }
    }
    alerts
}

#[test]
fn promtool_check_rules_passes() {
    promtool(&["check", "rules"], &rule_files());
}

#[test]
fn promtool_unit_tests_pass() {
    let tests = files("tests/rules", ".yml");
    assert!(!tests.is_empty(), "no tests/rules/*.yml");
    promtool(&["test", "rules"], &tests);
}

#[test]
fn prometheusrule_has_the_rule_files_groups() {
    let rule_file = yaml(&root().join("alerts/certcentral.rules.yml"));
    let resource = yaml(&root().join("alerts/prometheusrule.yaml"));
    assert_eq!(
        resource["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(resource["kind"].as_str(), Some("PrometheusRule"));
    assert!(
        resource["spec"]["groups"] == rule_file["groups"],
        "alerts/prometheusrule.yaml's spec.groups differ from alerts/certcentral.rules.yml's \
         groups; regenerate both from the repository root with mixin/generate.sh"
    );
}

/// GitHub's anchor for a Markdown heading.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_alert_has_severity_text_for_and_a_runbook_section() {
    let runbooks = read(&root().join("docs/runbooks.md"));
    let sections: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(github_anchor)
        .collect();
    let alerts = alerts();
    assert!(alerts.len() >= 14, "only {} alerts", alerts.len());
    let mut problems = Vec::new();
    for (name, rule) in &alerts {
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        if !SEVERITIES.contains(&severity) {
            problems.push(format!(
                "{name}: severity {severity:?} is not one of {SEVERITIES:?}"
            ));
        }
        if rule["for"].as_str().is_none() {
            problems.push(format!("{name}: no `for`"));
        }
        for key in ["summary", "description", "runbook_url"] {
            if rule["annotations"][key]
                .as_str()
                .is_none_or(|t| t.trim().is_empty())
            {
                problems.push(format!("{name}: no {key} annotation"));
            }
        }
        let url = rule["annotations"]["runbook_url"].as_str().unwrap_or("");
        match url.strip_prefix(RUNBOOK_BASE) {
            Some(anchor) if sections.contains(anchor) => {}
            Some(anchor) => problems.push(format!(
                "{name}: runbook_url anchor #{anchor} is no `## ` section of docs/runbooks.md"
            )),
            None => problems.push(format!(
                "{name}: runbook_url {url} does not start with {RUNBOOK_BASE}"
            )),
        }
        if !url.ends_with(&format!("#{}", name.to_lowercase())) {
            problems.push(format!(
                "{name}: runbook_url should point at the section named after the alert"
            ));
        }
    }
    for section in &sections {
        if !alerts.keys().any(|a| &a.to_lowercase() == section) {
            problems.push(format!(
                "docs/runbooks.md section #{section} belongs to no alert"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_alert_fires_in_a_promtool_test_and_is_also_tested_quiet() {
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for file in files("tests/rules", ".yml") {
        let doc = yaml(&file);
        for test in doc["tests"].as_sequence().expect("tests") {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = case["alertname"].as_str().expect("alertname").to_owned();
                let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
                if expected > 0 {
                    fires.insert(name);
                } else {
                    quiet.insert(name);
                }
            }
        }
    }
    let alerts: BTreeSet<String> = alerts().into_keys().collect();
    let never_fires: Vec<_> = alerts.difference(&fires).collect();
    let never_quiet: Vec<_> = alerts.difference(&quiet).collect();
    assert!(
        never_fires.is_empty(),
        "no promtool test makes these fire: {never_fires:?}"
    );
    assert!(
        never_quiet.is_empty(),
        "no promtool test expects these quiet: {never_quiet:?}"
    );
}

/// The metric names of docs/metrics-catalogue.md's tables.
fn catalogue() -> BTreeSet<String> {
    let text = read(&root().join("docs/metrics-catalogue.md"));
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix('|'))
        .filter_map(|l| l.split('|').next())
        .map(|cell| cell.trim().trim_matches('`').to_owned())
        .filter(|cell| cell.starts_with("certcentral_"))
        .collect();
    assert!(names.len() > 20, "found only {names:?} in the catalogue");
    names
}

/// `certcentral_*` identifiers in a PromQL expression (or any text).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("certcentral_") {
        let start = i + pos;
        let preceded_by_ident =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if !preceded_by_ident {
            names.insert(expr[start..end].to_owned());
        }
        i = end;
    }
    names
}

/// Every `expr` of every panel target (rows' nested panels included) and
/// every query variable of a dashboard, with the panel title.
fn dashboard_queries(dashboard: &Json) -> Vec<(String, String)> {
    fn walk(panels: &Json, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.clone(), expr.to_owned()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if var["type"] == "query" {
            let query = var["query"]["query"].as_str().or(var["query"].as_str());
            out.push((
                format!("variable {}", var["name"].as_str().unwrap_or("?")),
                query.unwrap_or("").to_owned(),
            ));
        }
    }
    out
}

fn dashboards() -> Vec<(PathBuf, Json)> {
    files("dashboards", ".json")
        .into_iter()
        .map(|path| {
            let json = serde_json::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            (path, json)
        })
        .collect()
}

#[test]
fn rules_and_dashboards_name_only_catalogued_metrics() {
    let catalogue = catalogue();
    let mut problems = Vec::new();
    for (name, rule) in alerts() {
        let mut text = rule["expr"].as_str().unwrap_or("").to_owned();
        for key in ["summary", "description"] {
            text.push_str(rule["annotations"][key].as_str().unwrap_or(""));
        }
        for metric in metric_names(&text) {
            if !catalogue.contains(&metric) {
                problems.push(format!("alert {name}: {metric} is not in the catalogue"));
            }
        }
    }
    for (path, dashboard) in dashboards() {
        let queries = dashboard_queries(&dashboard);
        assert!(!queries.is_empty(), "{} has no queries", path.display());
        for (panel, expr) in queries {
            for metric in metric_names(&expr) {
                if !catalogue.contains(&metric) {
                    problems.push(format!(
                        "{} panel {panel:?}: {metric} is not in the catalogue",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn dashboards_are_importable_as_they_are() {
    let dashboards = dashboards();
    let names: BTreeSet<String> = dashboards
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "certcentral-overview.json",
        "certcentral-compliance.json",
        "certcentral-exporter-health.json",
        "certcentral-validations.json",
        "certcentral-deployments.json",
    ] {
        assert!(names.contains(expected), "dashboards/{expected} is missing");
    }
    let mut uids = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, d) in &dashboards {
        let file = path.file_name().unwrap().to_string_lossy();
        let uid = d["uid"].as_str().unwrap_or("");
        if uid.is_empty() || uid.len() > 40 || !uids.insert(uid.to_owned()) {
            problems.push(format!(
                "{file}: uid {uid:?} is missing, too long or not unique"
            ));
        }
        if d.get("id").is_some_and(|id| !id.is_null()) {
            problems.push(format!(
                "{file}: `id` must be null so that import creates it"
            ));
        }
        if d.get("__inputs").is_some() {
            problems.push(format!(
                "{file}: uses __inputs; use the `datasource` variable so that file provisioning works too"
            ));
        }
        let vars: BTreeMap<&str, &Json> = d["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| Some((v["name"].as_str()?, v)))
            .collect();
        match vars.get("datasource") {
            Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
            _ => problems.push(format!(
                "{file}: no `datasource` variable of type datasource/prometheus"
            )),
        }
        for name in ["account", "container", "product"] {
            match vars.get(name) {
                Some(v)
                    if v["type"] == "query"
                        && v["datasource"]["uid"] == "${datasource}"
                        && dashboard_queries(d).iter().any(|(t, q)| {
                            t == &format!("variable {name}") && q.starts_with("label_values(")
                        }) => {}
                _ => problems.push(format!(
                    "{file}: variable {name} missing or not a label_values query on ${{datasource}}"
                )),
            }
        }
        let mut ids = BTreeSet::new();
        fn walk<'a>(panels: &'a Json, out: &mut Vec<&'a Json>) {
            for p in panels.as_array().into_iter().flatten() {
                out.push(p);
                walk(&p["panels"], out);
            }
        }
        let mut panels = Vec::new();
        walk(&d["panels"], &mut panels);
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("?");
            if !ids.insert(panel["id"].as_u64().unwrap_or(0)) {
                problems.push(format!(
                    "{file}: panel {title:?} has a missing or repeated id"
                ));
            }
            if panel["type"] == "row" {
                continue;
            }
            if panel["datasource"]["uid"] != "${datasource}" {
                problems.push(format!(
                    "{file}: panel {title:?} does not use ${{datasource}}"
                ));
            }
            if panel["description"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{file}: panel {title:?} has no description"));
            }
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["uid"] != "${datasource}" {
                    problems.push(format!(
                        "{file}: a query of {title:?} does not use ${{datasource}}"
                    ));
                }
            }
        }
    }
    let overview = &dashboards
        .iter()
        .find(|(p, _)| p.ends_with("certcentral-overview.json"))
        .expect("overview")
        .1;
    let ui = overview["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "certcentral_ui");
    match ui {
        Some(v) if v["query"] == "https://www.digicert.com/secure" => {}
        _ => problems.push(
            "overview: no certcentral_ui variable defaulting to https://www.digicert.com/secure"
                .into(),
        ),
    }
    if !overview.to_string().contains("${certcentral_ui}") {
        problems.push("overview: no link uses ${certcentral_ui}".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn metric_names_finds_identifiers_only() {
    let names = metric_names(
        r#"sum by (x) (rate(certcentral_api_requests_total{code="429"}[5m])) / certcentral_up and foo_certcentral_bar"#,
    );
    let expected: BTreeSet<String> = ["certcentral_api_requests_total", "certcentral_up"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
}

/// The PromQL queries of the ```promql blocks of README.md and docs/: a
/// block holds one query or several, each after a blank line or a
/// `#` comment. Each with the page and line it starts on.
fn documented_queries() -> Vec<(String, String)> {
    let mut pages = vec![root().join("README.md")];
    pages.extend(files("docs", ".md"));
    let mut queries = Vec::new();
    for page in pages {
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        let mut in_block = false;
        let mut current: Option<(usize, String)> = None;
        for (i, line) in read(&page).lines().enumerate() {
            let fence = line.trim_start().starts_with("```");
            if !in_block {
                in_block = fence && line.trim() == "```promql";
                continue;
            }
            if fence || line.trim().is_empty() || line.trim_start().starts_with('#') {
                if let Some((at, query)) = current.take() {
                    queries.push((format!("{name}:{at}"), query));
                }
                in_block = !fence;
                continue;
            }
            let (_, query) = current.get_or_insert_with(|| (i + 1, String::new()));
            query.push_str(line);
            query.push('\n');
        }
    }
    queries
}

/// `promtool check rules` on `queries`, each a recording rule in a group
/// named after where it is written: the problems promtool finds.
fn promtool_parse(queries: &[(String, String)]) -> Result<(), String> {
    let groups: Vec<Yaml> = queries
        .iter()
        .enumerate()
        .map(|(i, (at, query))| {
            let rule = serde_yaml_ng::to_value(BTreeMap::from([
                ("record", format!("docs:query_{i}")),
                ("expr", query.clone()),
            ]))
            .expect("a rule as YAML");
            serde_yaml_ng::to_value(BTreeMap::from([
                ("name", Yaml::from(at.as_str())),
                ("rules", Yaml::Sequence(vec![rule])),
            ]))
            .expect("a group as YAML")
        })
        .collect();
    let file = serde_yaml_ng::to_string(&BTreeMap::from([("groups", groups)]))
        .expect("the rule file as YAML");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("documented-queries.yml");
    fs::write(&path, file).expect("write the rule file");
    let output = Command::new(tool("PROMTOOL", "promtool"))
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Every query the README and docs/ show parses (promtool) and names only
/// catalogued metrics: a reader pastes them into Prometheus as they are.
#[test]
fn every_documented_query_parses_and_names_catalogued_metrics() {
    let queries = documented_queries();
    assert!(
        queries.len() >= 10,
        "only {} queries found in ```promql blocks: {queries:?}",
        queries.len()
    );
    if let Err(problems) = promtool_parse(&queries) {
        panic!("documented PromQL that does not parse:\n{problems}");
    }
    let catalogue = catalogue();
    let unknown: Vec<String> = queries
        .iter()
        .flat_map(|(at, query)| {
            metric_names(query)
                .into_iter()
                .filter(|m| !catalogue.contains(m))
                .map(move |m| format!("{at}: {m} is not in the catalogue"))
        })
        .collect();
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
    // The check can fail: `*` binds tighter than `<`, so this parses as
    // `days < (30 * on(...) info)`, a grouping on a scalar.
    let unparenthesised = "certcentral_certificate_days_remaining < 30\n  * on(account, order_id) group_left(common_name) certcentral_order_info\n";
    let err = promtool_parse(&[("example".to_owned(), unparenthesised.to_owned())])
        .expect_err("promtool accepts an unparenthesised comparison and join");
    assert!(
        err.contains("example"),
        "promtool does not name the query: {err}"
    );
}

// ---------------------------------------------------------------------
// Alertmanager: alerts/alertmanager.yml, its notification templates and
// the AlertmanagerConfig of the kustomize base, all from mixin/alertmanager/.

/// Slack cuts an attachment's text, where Alertmanager puts a message's
/// text, at about 8,000 characters: undocumented; Slack documents 40,000 for
/// a message's text and the collapsing of attachments past 700 (the
/// template's header comment has the sources).
const SLACK_TEXT_LIMIT: usize = 8_000;
/// Alertmanager cuts a Slack title at 1,024 characters.
const SLACK_TITLE_LIMIT: usize = 1_024;
/// How many certificates a Slack message names before "…and N more".
const SLACK_LISTED: usize = 30;
const ALERTMANAGER_YML: &str = "alerts/alertmanager.yml";
const TEMPLATE: &str = "alerts/templates/certcentral.tmpl";

/// Runs amtool (`$AMTOOL` or the one on PATH) with `args` in the crate root.
fn amtool(args: &[&str]) -> String {
    let program = std::env::var_os("AMTOOL").unwrap_or_else(|| "amtool".into());
    let output = Command::new(&program)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}). Install Debian's prometheus-alertmanager \
                 (`apt-get install -y --no-install-recommends prometheus-alertmanager`, which \
                 has amtool), or run `scripts/install-test-tools`, or set AMTOOL=/path/to/amtool",
                PathBuf::from(&program).display()
            )
        });
    assert!(
        output.status.success(),
        "amtool {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("amtool writes UTF-8")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `amtool check-config` on an Alertmanager configuration, which must load
/// its one template file.
fn check_config(config: &Path) {
    let report = amtool(&["check-config", path_arg(config)]);
    assert!(
        report.contains("SUCCESS") && report.contains(" - 1 templates"),
        "amtool check-config {}:\n{report}",
        config.display()
    );
}

/// The receivers Alertmanager's routing tree in `config` picks for an
/// alert with `labels` (`amtool config routes test`).
fn receivers_for(config: &Path, labels: &[(&str, &str)]) -> String {
    let mut args = vec![
        "config".to_owned(),
        "routes".to_owned(),
        "test".to_owned(),
        format!("--config.file={}", path_arg(config)),
    ];
    for (name, value) in labels {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        args.push(format!("{name}=\"{escaped}\""));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    amtool(&args).trim().to_owned()
}

fn severity_of(rule: &Yaml) -> &str {
    rule["labels"]["severity"].as_str().unwrap_or("")
}

/// The receiver kind of each severity (_config.alertmanagerReceiverKinds).
fn receiver_kind(severity: &str) -> &'static str {
    match severity {
        "critical" => "pager",
        "warning" => "chat",
        "info" => "tickets",
        other => panic!("severity {other:?}"),
    }
}

/// A YAML scalar as the string Prometheus makes of a label value.
fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The label sets the promtool unit tests (tests/rules/*.yml) expect of
/// each alert when it fires. promtool compares them whole, so these are the
/// labels the rules' expressions really leave on each alert.
fn tested_labels() -> BTreeMap<String, Vec<BTreeMap<String, String>>> {
    let mut found: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for file in files("tests/rules", ".yml") {
        let doc = yaml(&file);
        for test in doc["tests"].as_sequence().expect("tests") {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = case["alertname"].as_str().expect("alertname");
                for alert in case["exp_alerts"].as_sequence().into_iter().flatten() {
                    let labels = alert["exp_labels"]
                        .as_mapping()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar(v))))
                        .collect();
                    found.entry(name.to_owned()).or_default().push(labels);
                }
            }
        }
    }
    found
}

/// An Alertmanager matcher, `name op "value"`.
#[derive(Debug, Clone, PartialEq)]
struct Matcher {
    name: String,
    op: String,
    value: String,
}

/// Parses a matcher as the mixin writes them: a label name, an operator
/// and a double-quoted value (`\"` and `\\` escaped).
fn parse_matcher(text: &str) -> Matcher {
    let at = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| panic!("matcher {text:?} has no operator"));
    let (name, rest) = text.split_at(at);
    let op = ["=~", "!~", "!=", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .unwrap_or_else(|| panic!("matcher {text:?} has no operator"));
    let inner = rest[op.len()..]
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("matcher {text:?}: the value is not double-quoted"));
    let mut value = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some(e @ ('"' | '\\')) => value.push(e),
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            (c, false) => value.push(c),
        }
    }
    Matcher {
        name: name.to_owned(),
        op: op.to_owned(),
        value,
    }
}

fn matchers(list: &Yaml) -> Vec<Matcher> {
    list.as_sequence()
        .expect("a list of matchers")
        .iter()
        .map(|m| parse_matcher(m.as_str().expect("a matcher string")))
        .collect()
}

/// The alerts (of `severities`, alert name -> severity) an inhibit rule's
/// matchers select. The mixin matches alertname on a name or on an
/// alternation of names, severity on one or an alternation; any name it
/// does not know is a problem.
fn selected(
    list: &Yaml,
    severities: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
    what: &str,
) -> BTreeSet<String> {
    let mut alerts: BTreeSet<String> = severities.keys().cloned().collect();
    for m in matchers(list) {
        let values: BTreeSet<String> = match m.op.as_str() {
            "=" => [m.value.clone()].into(),
            "=~" => m.value.split('|').map(str::to_owned).collect(),
            op => panic!("{what}: operator {op} in {m:?}"),
        };
        match m.name.as_str() {
            "alertname" => {
                for name in values.iter().filter(|n| !severities.contains_key(*n)) {
                    problems.push(format!("{what}: no alert {name} in the rules"));
                }
                alerts.retain(|a| values.contains(a));
            }
            "severity" => {
                for severity in values.iter().filter(|s| !SEVERITIES.contains(&s.as_str())) {
                    problems.push(format!("{what}: severity {severity} is none of the rules'"));
                }
                alerts.retain(|a| values.contains(&severities[a]));
            }
            other => panic!("{what}: a matcher on {other} is not checked here"),
        }
    }
    alerts
}

fn rank(severity: &str) -> usize {
    SEVERITIES.len()
        - SEVERITIES
            .iter()
            .position(|s| *s == severity)
            .expect("a severity")
}

/// Every inhibit rule names alerts of the rule file, and every `equal`
/// label is on both sides, as the promtool tests show the alerts (a label
/// missing on one side would make the rule mute nothing, or too much).
/// Also the decisions docs/alerts.md explains: stale data never mutes a
/// page, a certificate alert never mutes a more severe one, the exporter's
/// absence mutes what its presence would have fired.
#[test]
fn every_inhibit_rule_names_alerts_and_labels_both_sides_carry() {
    let config = yaml(&root().join(ALERTMANAGER_YML));
    let rules = alerts();
    let severities: BTreeMap<String, String> = rules
        .iter()
        .map(|(name, rule)| (name.clone(), severity_of(rule).to_owned()))
        .collect();
    let certificate_alerts: BTreeSet<&String> = rules
        .iter()
        .filter(|(_, rule)| rule["annotations"]["action"].as_str().is_some())
        .map(|(name, _)| name)
        .collect();
    let tested = tested_labels();
    let inhibit_rules = config["inhibit_rules"]
        .as_sequence()
        .expect("inhibit_rules");
    assert!(inhibit_rules.len() >= 8, "{inhibit_rules:?}");
    let mut problems = Vec::new();
    // Each source alert and the alerts it mutes.
    let mut by_source: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, rule) in inhibit_rules.iter().enumerate() {
        let what = format!("inhibit rule {i}");
        let sources = selected(&rule["source_matchers"], &severities, &mut problems, &what);
        let targets = selected(&rule["target_matchers"], &severities, &mut problems, &what);
        let equal: Vec<String> = rule["equal"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(scalar)
            .collect();
        if sources.is_empty() || targets.is_empty() || equal.is_empty() {
            problems.push(format!(
                "{what}: sources {sources:?}, targets {targets:?}, equal {equal:?}"
            ));
        }
        for alert in sources.iter().chain(&targets) {
            let Some(instances) = tested.get(alert) else {
                problems.push(format!("{what}: no promtool test fires {alert}"));
                continue;
            };
            for label in &equal {
                if instances
                    .iter()
                    .any(|labels| labels.get(label).is_none_or(String::is_empty))
                {
                    problems.push(format!(
                        "{what}: {alert} has no `{label}` label (equal: {equal:?}) in a promtool test"
                    ));
                }
            }
        }
        // Between certificate alerts, the more urgent mutes the less.
        if sources.iter().all(|s| certificate_alerts.contains(s)) {
            let weakest = sources
                .iter()
                .map(|s| rank(&severities[s]))
                .min()
                .unwrap_or(0);
            for target in targets.iter().filter(|t| rank(&severities[*t]) > weakest) {
                problems.push(format!("{what}: {target} is more severe than a source"));
            }
        }
        for source in &sources {
            by_source
                .entry(source.clone())
                .or_default()
                .extend(targets.iter().cloned());
        }
    }
    let muted_by =
        |source: &str| -> BTreeSet<String> { by_source.get(source).cloned().unwrap_or_default() };
    let stale = muted_by("CertCentralDataStale");
    if stale.is_empty() || stale.iter().any(|t| severities[t] == "critical") {
        problems.push(format!(
            "CertCentralDataStale must mute warning and info certificate alerts only: {stale:?}"
        ));
    }
    let (down, absent) = (
        muted_by("CertCentralExporterDown"),
        muted_by("CertCentralExporterAbsent"),
    );
    if down != absent {
        problems.push(format!(
            "CertCentralExporterDown mutes {down:?}, CertCentralExporterAbsent {absent:?}"
        ));
    }
    for name in [
        "CertCentralCertificateExpiringCritical",
        "CertCentralPollFailing",
        "CertCentralDataStale",
    ] {
        if !down.contains(name) {
            problems.push(format!("CertCentralExporterDown does not mute {name}"));
        }
    }
    for (source, target) in [
        (
            "CertCentralCertificateExpiringCritical",
            "CertCentralCertificateExpiringSoon",
        ),
        (
            "CertCentralCertificateExpired",
            "CertCentralAutoRenewDisabled",
        ),
        (
            "CertCentralRenewalValidationExpiringCritical",
            "CertCentralRenewalValidationExpiring",
        ),
        (
            "CertCentralSupersededCertificateServedCritical",
            "CertCentralSupersededCertificateServed",
        ),
        (
            "CertCentralCertificateExpiringCritical",
            "CertCentralSupersededCertificateServedCritical",
        ),
        (
            "CertCentralCertificateExpiringSoon",
            "CertCentralSupersededCertificateServed",
        ),
    ] {
        if !muted_by(source).contains(target) {
            problems.push(format!("{source} does not mute {target}"));
        }
    }
    if muted_by("CertCentralCertificateExpiringSoon")
        .contains("CertCentralSupersededCertificateServedCritical")
    {
        problems.push("a warning mutes a critical deployment alert".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The CertCentral route subtree of alertmanager.yml.
fn certcentral_route(config: &Yaml) -> &Yaml {
    let route = &config["route"]["routes"][0];
    assert_eq!(
        route["matchers"][0].as_str(),
        Some("alertname=~\"CertCentral.*\""),
        "route.routes[0] is not the CertCentral subtree"
    );
    route
}

fn strings(list: &Yaml) -> Vec<String> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(scalar)
        .collect()
}

/// The routes of `route` whose first matcher is on alertname, with the
/// alert names they match.
fn alertname_routes(route: &Yaml) -> Vec<(BTreeSet<String>, &Yaml)> {
    route["routes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let m = matchers(&r["matchers"]).into_iter().next()?;
            (m.name == "alertname" && m.op == "=~")
                .then(|| (m.value.split('|').map(str::to_owned).collect(), r))
        })
        .collect()
}

/// Alertmanager accepts alerts/alertmanager.yml and its template, sends
/// each alert to the receiver of its severity, and nothing else into the
/// CertCentral subtree. Each alert is grouped by labels it carries: the
/// per-certificate alerts (those with an action) by container, which every
/// one of them has; the probe's endpoint alerts by job; the rest by account.
#[test]
fn amtool_accepts_the_alertmanager_configuration_and_routes_by_severity() {
    let config_path = root().join(ALERTMANAGER_YML);
    check_config(&config_path);
    let rules = alerts();
    for (name, rule) in &rules {
        let severity = severity_of(rule);
        let expected = format!("certcentral-{}", receiver_kind(severity));
        for container in [Some("Web Platform"), None] {
            let mut labels = vec![
                ("alertname", name.as_str()),
                ("severity", severity),
                ("account", "default"),
            ];
            labels.extend(container.map(|c| ("container", c)));
            assert_eq!(
                receivers_for(&config_path, &labels),
                expected,
                "{name} {labels:?}"
            );
        }
    }
    assert_eq!(
        receivers_for(
            &config_path,
            &[("alertname", "NodeDown"), ("severity", "critical")]
        ),
        "default",
        "an alert of another exporter reaches the CertCentral receivers"
    );

    let config = yaml(&config_path);
    let subtree = certcentral_route(&config);
    assert_eq!(strings(&subtree["group_by"]), ["alertname", "account"]);
    let routes = alertname_routes(subtree);
    let by_group = |label: &str| -> BTreeSet<String> {
        routes
            .iter()
            .filter(|(_, r)| strings(&r["group_by"]).iter().any(|l| l == label))
            .flat_map(|(names, _)| names.iter().cloned())
            .collect()
    };
    let per_certificate = by_group("container");
    let with_action: BTreeSet<String> = rules
        .iter()
        .filter(|(_, rule)| {
            ["action", "days_left"].iter().all(|a| {
                rule["annotations"][*a]
                    .as_str()
                    .is_some_and(|t| !t.is_empty())
            })
        })
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(
        per_certificate, with_action,
        "the alerts grouped by container are not those with days_left and action annotations"
    );
    let probe = by_group("job");
    let tested = tested_labels();
    let mut problems = Vec::new();
    for name in rules.keys() {
        let needed: &[&str] = if per_certificate.contains(name) {
            &["container", "account", "order_id"]
        } else if probe.contains(name) {
            &["job", "instance"]
        } else if ["CertCentralExporterDown", "CertCentralExporterAbsent"].contains(&name.as_str())
        {
            &["job"]
        } else {
            &["account"]
        };
        for labels in tested.get(name).into_iter().flatten() {
            for label in needed {
                if labels.get(*label).is_none_or(String::is_empty) {
                    problems.push(format!("{name} fires without `{label}`: {labels:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `_config.alertOwners` gives each team a route on its containers (matched
/// exactly, whatever characters their names hold), grouped by alert name,
/// to its own receivers by severity; other containers keep the default
/// receivers. Alertmanager accepts the result, and the AlertmanagerConfig
/// has the same teams.
#[test]
fn alert_owners_route_each_teams_containers_to_its_receivers() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mixin = dir.path().join("teams.libsonnet");
    // Container names of the simulator's account, with a comma, quotes,
    // a backslash, parentheses and non-ASCII letters.
    let teams: [(&str, &[&str]); 2] = [
        ("web", &["Web Platform", "Café\\Prod"]),
        (
            "payments",
            &[
                "Payments, EU",
                "QA \"staging\" (do not use)",
                "東京 Operations",
                "Müller, \"Nord\" GmbH",
            ],
        ),
    ];
    let owners: Vec<String> = teams
        .iter()
        .map(|(team, containers)| {
            format!(
                "{team}: {}",
                serde_json::to_string(containers).expect("JSON")
            )
        })
        .collect();
    fs::write(
        &mixin,
        format!(
            "(import 'mixin.libsonnet') + {{ _config+:: {{ alertOwners: {{ {} }} }} }}\n",
            owners.join(", ")
        ),
    )
    .expect("write the mixin file");
    let out = render_mixin(Some(&mixin));
    let config_path = out.path().join(ALERTMANAGER_YML);
    check_config(&config_path);

    for (team, containers) in &teams {
        for container in *containers {
            for severity in SEVERITIES {
                for alert in [
                    "CertCentralCertificateExpiringSoon",
                    "CertCentralSupersededCertificateServed",
                ] {
                    assert_eq!(
                        receivers_for(
                            &config_path,
                            &[
                                ("alertname", alert),
                                ("severity", severity),
                                ("container", container),
                                ("account", "default")
                            ],
                        ),
                        format!("{team}-{}", receiver_kind(severity)),
                        "{alert} of {container:?}"
                    );
                }
            }
        }
    }
    // Only whole names: a prefix, a longer name or another container stays
    // with the default receivers, and so do alerts without a container.
    for container in ["Café", "Web Platform 2", "Payments", "Example Corp", "QA"] {
        assert_eq!(
            receivers_for(
                &config_path,
                &[
                    ("alertname", "CertCentralCertificateExpiringCritical"),
                    ("severity", "critical"),
                    ("container", container)
                ],
            ),
            "certcentral-pager",
            "{container:?}"
        );
    }
    assert_eq!(
        receivers_for(
            &config_path,
            &[
                ("alertname", "CertCentralComplianceViolation"),
                ("severity", "warning"),
                ("account", "default")
            ],
        ),
        "certcentral-chat"
    );

    let config = yaml(&config_path);
    let subtree = certcentral_route(&config);
    let team_routes: Vec<&Yaml> = subtree["routes"]
        .as_sequence()
        .expect("routes")
        .iter()
        .filter(|r| matchers(&r["matchers"])[0].name == "container")
        .collect();
    assert_eq!(team_routes.len(), teams.len(), "{team_routes:?}");
    for route in team_routes {
        assert_eq!(strings(&route["group_by"]), ["alertname"], "{route:?}");
    }
    let names: BTreeSet<String> = config["receivers"]
        .as_sequence()
        .expect("receivers")
        .iter()
        .map(|r| scalar(&r["name"]))
        .collect();
    for (team, _) in &teams {
        for kind in ["pager", "chat", "tickets"] {
            assert!(names.contains(&format!("{team}-{kind}")), "{names:?}");
        }
    }
    let operator = yaml(
        &out.path()
            .join("deploy/kubernetes/base/alertmanagerconfig.yaml"),
    );
    assert!(
        operator["spec"]["route"] == operator_form(subtree, false),
        "the AlertmanagerConfig's teams differ from alertmanager.yml's"
    );
}

/// A key of alertmanager.yml in the Operator's camelCase.
fn camel(key: &str) -> String {
    let mut out = String::new();
    for (i, part) in key.split('_').enumerate() {
        let mut chars = part.chars();
        match (i, chars.next()) {
            (0, Some(c)) => out.push(c),
            (_, Some(c)) => out.push(c.to_ascii_uppercase()),
            _ => {}
        }
        out.extend(chars);
    }
    out
}

/// Part of alertmanager.yml in the Operator's words: camelCase keys,
/// matchers as objects, e-mail headers as a list; with `receivers`, the
/// URLs (which the Operator reads from Secrets) left out.
fn operator_form(value: &Yaml, receivers: bool) -> Yaml {
    match value {
        Yaml::Mapping(map) => {
            let mut out = serde_yaml_ng::Mapping::new();
            for (key, v) in map {
                let key = key.as_str().expect("string keys");
                let converted = match key {
                    "matchers" | "source_matchers" | "target_matchers" => Yaml::Sequence(
                        matchers(v)
                            .into_iter()
                            .map(|m| {
                                let mut object = serde_yaml_ng::Mapping::new();
                                object.insert("name".into(), m.name.into());
                                object.insert("matchType".into(), m.op.into());
                                object.insert("value".into(), m.value.into());
                                Yaml::Mapping(object)
                            })
                            .collect(),
                    ),
                    "headers" => Yaml::Sequence(
                        v.as_mapping()
                            .expect("headers")
                            .iter()
                            .map(|(k, v)| {
                                let mut object = serde_yaml_ng::Mapping::new();
                                object.insert("key".into(), k.clone());
                                object.insert("value".into(), v.clone());
                                Yaml::Mapping(object)
                            })
                            .collect(),
                    ),
                    "api_url" | "url" if receivers => continue,
                    _ => operator_form(v, receivers),
                };
                let name = match key {
                    "source_matchers" => "sourceMatch".to_owned(),
                    "target_matchers" => "targetMatch".to_owned(),
                    _ => camel(key),
                };
                out.insert(name.into(), converted);
            }
            Yaml::Mapping(out)
        }
        Yaml::Sequence(items) => {
            Yaml::Sequence(items.iter().map(|v| operator_form(v, receivers)).collect())
        }
        other => other.clone(),
    }
}

/// The kustomize base's AlertmanagerConfig is alertmanager.yml's
/// CertCentral part in the Operator's words: the same route subtree, inhibit
/// rules and receivers (each integration's fields but the URLs, which come
/// from keys of a Secret). Compared field by field, since the CRD's
/// validators do not look into nested routes and pass misspelt fields.
#[test]
fn the_alertmanagerconfig_is_alertmanager_yml_in_the_operators_words() {
    let config = yaml(&root().join(ALERTMANAGER_YML));
    let object = yaml(&root().join("deploy/kubernetes/base/alertmanagerconfig.yaml"));
    assert_eq!(
        object["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1alpha1")
    );
    assert_eq!(object["kind"].as_str(), Some("AlertmanagerConfig"));
    let spec = &object["spec"];
    assert!(
        spec["route"] == operator_form(certcentral_route(&config), false),
        "spec.route differs from alertmanager.yml's route.routes[0]:\n{:?}\n{:?}",
        spec["route"],
        operator_form(certcentral_route(&config), false)
    );
    assert!(
        spec["inhibitRules"] == operator_form(&config["inhibit_rules"], false),
        "spec.inhibitRules differ from alertmanager.yml's inhibit_rules"
    );

    let ours: Vec<&Yaml> = config["receivers"]
        .as_sequence()
        .expect("receivers")
        .iter()
        .filter(|r| r["name"].as_str() != Some("default"))
        .collect();
    let theirs = spec["receivers"].as_sequence().expect("spec.receivers");
    assert_eq!(ours.len(), theirs.len());
    let kustomization = read(&root().join("deploy/kubernetes/base/kustomization.yaml"));
    for (receiver, operator) in ours.iter().zip(theirs) {
        let name = scalar(&receiver["name"]);
        let mut without_urls = operator.clone();
        for (kind, integrations) in without_urls.as_mapping_mut().expect("a receiver") {
            for integration in integrations.as_sequence_mut().into_iter().flatten() {
                let integration = integration.as_mapping_mut().expect("an integration");
                for secret in ["apiURL", "urlSecret"] {
                    if let Some(selector) = integration.remove(secret) {
                        assert!(
                            selector["name"].as_str() == Some("certcentral-alertmanager")
                                && selector["key"].as_str().is_some_and(|k| !k.is_empty()),
                            "{name} {kind:?}: {secret} is no key of the Secret certcentral-alertmanager"
                        );
                        let key = selector["key"].as_str().unwrap_or("");
                        assert!(
                            kustomization.contains(&format!("--from-literal={key}=")),
                            "kustomization.yaml's Secret command has no {key}"
                        );
                    }
                }
            }
        }
        assert!(
            without_urls == operator_form(receiver, true),
            "receiver {name} differs:\n{without_urls:?}\n{:?}",
            operator_form(receiver, true)
        );
    }
}

/// One alert as Alertmanager hands it to a template.
fn alert_data(status: &str, labels: &[(&str, String)], annotations: &[(&str, String)]) -> Json {
    let map = |pairs: &[(&str, String)]| -> Json {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Json::from(v.as_str())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    serde_json::json!({
        "status": status,
        "labels": map(labels),
        "annotations": map(annotations),
        "startsAt": "2025-03-01T08:00:00Z",
        "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2025-03-01T09:00:00Z" },
        "generatorURL": "https://prometheus.example.com/graph",
        "fingerprint": format!("{:016x}", labels.len() * 7919 + annotations.len()),
    })
}

/// A per-certificate alert of `alertname`, number `i`, with a 64-character
/// common name (the most X.509 allows), a long action and the annotations
/// the rule gives it.
fn certificate_alert(
    alertname: &str,
    severity: &str,
    i: usize,
    container: &str,
    status: &str,
) -> Json {
    let order = (10_000_000 + i).to_string();
    let common_name =
        format!("checkout-gateway-{i:03}.eu-west-1.payments.example-corporations.com");
    assert_eq!(common_name.len(), 64);
    let action = match alertname {
        "CertCentralSupersededCertificateServed"
        | "CertCentralSupersededCertificateServedCritical" => {
            format!(
                "Install the replacement certificate of order {} on {common_name}:443",
                20_000_000 + i
            )
        }
        "CertCentralRenewalValidationExpiring" | "CertCentralRenewalValidationExpiringCritical" => {
            format!(
                "Revalidate the domain login-{i:03}.eu-west-1.payments.example-corporations.com (OV)"
            )
        }
        _ => format!("Renew order {order}"),
    };
    let mut labels = vec![
        ("alertname", alertname.to_owned()),
        ("severity", severity.to_owned()),
        ("account", "default".to_owned()),
        ("order_id", order.clone()),
        ("container", container.to_owned()),
        ("job", "certcentral-exporter".to_owned()),
        (
            "instance",
            "certcentral-exporter.monitoring.svc:10056".to_owned(),
        ),
    ];
    if alertname.starts_with("CertCentralSuperseded") {
        labels[5].1 = "certcentral-probe".to_owned();
        labels[6].1 = format!("{common_name}:443");
    } else {
        labels.push(("common_name", common_name.clone()));
        labels.push(("product", "ssl_ev_plus".to_owned()));
        labels.push((
            "organization",
            "Example Corporation Holdings International Ltd.".to_owned(),
        ));
    }
    let annotations = [
        (
            "summary",
            format!(
                "Certificate {common_name} (order {order}, container {container}) expires in 12 days"
            ),
        ),
        (
            "description",
            format!(
                "The certificate for {common_name} on CertCentral order {order} (product ssl_ev_plus, container {container}, organization Example Corporation Holdings International Ltd., account default) expires in 12 days, at 2025-03-13 23:59:59 +0000 UTC.\nNothing will replace it: the order is not renewed, no reissue supersedes it, and auto-renew is off or too late to act."
            ),
        ),
        (
            "runbook_url",
            format!("{RUNBOOK_BASE}{}", alertname.to_lowercase()),
        ),
        ("days_left", ((i % 37) as i64 - 3).to_string()),
        ("action", action),
    ];
    alert_data(status, &labels, &annotations)
}

/// A notification of a group, as Alertmanager hands it to a template:
/// `alerts` grouped by `group_by`, with the labels and annotations they share.
fn notification(receiver: &str, alerts: Vec<Json>, group_by: &[&str]) -> Json {
    let common = |field: &str| -> serde_json::Map<String, Json> {
        let first = alerts[0][field].as_object().cloned().unwrap_or_default();
        first
            .into_iter()
            .filter(|(k, v)| alerts.iter().all(|a| &a[field][k] == v))
            .collect()
    };
    let common_labels = common("labels");
    let group_labels: serde_json::Map<String, Json> = group_by
        .iter()
        .filter_map(|l| Some(((*l).to_owned(), common_labels.get(*l)?.clone())))
        .collect();
    let status = if alerts.iter().any(|a| a["status"] == "firing") {
        "firing"
    } else {
        "resolved"
    };
    serde_json::json!({
        "receiver": receiver,
        "status": status,
        "alerts": alerts,
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": common("annotations"),
        "externalURL": "https://alertmanager.example.com",
    })
}

/// Renders `template` of alerts/templates/certcentral.tmpl for `data`.
fn render(dir: &Path, template: &str, data: &Json, html: bool) -> String {
    let file = dir.join("data.json");
    fs::write(&file, serde_json::to_vec(data).expect("JSON")).expect("write the template data");
    let text = format!("{{{{ template \"{template}\" . }}}}");
    let mut args = vec![
        "template".to_owned(),
        "render".to_owned(),
        format!("--template.glob={}", path_arg(&root().join(TEMPLATE))),
        format!("--template.text={text}"),
        format!("--template.data={}", path_arg(&file)),
    ];
    if html {
        args.push("--template.type=html".to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    amtool(&args)
}

/// A first start of a large account: one group of 200 certificates for one
/// alert and owner. The Slack message stays within Slack's limits (it names
/// the first SLACK_LISTED and counts the rest, linking the group in
/// Alertmanager), the e-mail names every one; both with each line's name,
/// container, days left and action, and the group's runbook link. A group of
/// normal size names every certificate in Slack too.
#[test]
fn notification_templates_list_200_certificates_within_slacks_limits() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kinds = [
        (
            "CertCentralCertificateExpiringSoon",
            "warning",
            "certcentral-chat",
        ),
        (
            "CertCentralCertificateExpiringCritical",
            "critical",
            "certcentral-pager",
        ),
        (
            "CertCentralSupersededCertificateServedCritical",
            "critical",
            "certcentral-pager",
        ),
        (
            "CertCentralRenewalValidationExpiring",
            "warning",
            "certcentral-chat",
        ),
        (
            "CertCentralAutoRenewDisabled",
            "info",
            "certcentral-tickets",
        ),
    ];
    // The longest container of the simulator's account, and one with all
    // three of Slack's control characters.
    for container in [
        "QA \"staging\" (do not use)",
        "R&D <Labs> & Partners, Nordic & Baltic region",
    ] {
        for (alertname, severity, receiver) in kinds {
            let alerts: Vec<Json> = (0..200)
                .map(|i| certificate_alert(alertname, severity, i, container, "firing"))
                .collect();
            let names: Vec<String> = alerts
                .iter()
                .map(|a| {
                    let labels = &a["labels"];
                    labels["common_name"]
                        .as_str()
                        .or(labels["instance"].as_str())
                        .unwrap_or("")
                        .chars()
                        // A deployment alert names the endpoint, cut at 64.
                        .take(60)
                        .collect::<String>()
                })
                .collect();
            let data = notification(receiver, alerts, &["alertname", "container"]);
            let what = format!("{alertname} in {container:?}");

            let title = render(dir.path(), "certcentral.slack.title", &data, false);
            assert!(
                title.chars().count() <= SLACK_TITLE_LIMIT,
                "{what}: title {title}"
            );
            assert!(
                title.contains("[FIRING:200]") && title.contains(alertname),
                "{what}: {title}"
            );
            let text = render(dir.path(), "certcentral.slack.text", &data, false);
            let size = text.chars().count();
            assert!(
                size <= SLACK_TEXT_LIMIT,
                "{what}: the Slack text has {size} characters:\n{text}"
            );
            assert!(
                text.contains(&format!("{RUNBOOK_BASE}{}", alertname.to_lowercase())),
                "{what}: no runbook link"
            );
            assert_eq!(
                text.matches("\n• ").count() + usize::from(text.starts_with("• ")),
                SLACK_LISTED,
                "{what}:\n{text}"
            );
            for name in &names[..SLACK_LISTED] {
                assert!(
                    text.contains(name.as_str()),
                    "{what}: {name} is not named:\n{text}"
                );
            }
            assert!(
                !text.contains(names[SLACK_LISTED].as_str()),
                "{what}: more than {SLACK_LISTED} named"
            );
            assert!(
                text.contains(&format!("…and {} more", 200 - SLACK_LISTED))
                    && text.contains("https://alertmanager.example.com/#/alerts?receiver="),
                "{what}: no count of the rest with a link:\n{text}"
            );
            assert!(
                !text.contains("R&D") && !text.contains("<Labs>"),
                "{what}: & or < unescaped:\n{text}"
            );
            eprintln!(
                "{what}: Slack title {} characters, text {size}",
                title.chars().count()
            );

            let email = render(dir.path(), "certcentral.email.text", &data, false);
            let html = render(dir.path(), "certcentral.email.html", &data, true);
            for name in &names {
                assert!(
                    email.contains(name.as_str()),
                    "{what}: the e-mail text misses {name}"
                );
                assert!(
                    html.contains(name.as_str()),
                    "{what}: the e-mail HTML misses {name}"
                );
            }
            assert_eq!(
                html.matches("<tr style=\"border-top").count(),
                200,
                "{what}: HTML rows"
            );
            eprintln!(
                "{what}: e-mail text {} bytes, HTML {} bytes",
                email.len(),
                html.len()
            );
            let subject = render(dir.path(), "certcentral.email.subject", &data, false);
            assert!(
                !subject.contains('\n') && subject.contains(alertname),
                "{what}: subject {subject:?}"
            );
        }
    }

    // A team's group of 200 (grouped by alert name only): each line names
    // its container too, still within the limit.
    let containers = [
        "R&D <Labs> & Partners, Nordic & Baltic region",
        "QA \"staging\" (do not use)",
        "Müller, \"Nord\" GmbH",
    ];
    for alertname in [
        "CertCentralSupersededCertificateServedCritical",
        "CertCentralRenewalValidationExpiringCritical",
    ] {
        let alerts: Vec<Json> = (0..200)
            .map(|i| certificate_alert(alertname, "critical", i, containers[i % 3], "firing"))
            .collect();
        let data = notification("payments-pager", alerts, &["alertname"]);
        let text = render(dir.path(), "certcentral.slack.text", &data, false);
        let size = text.chars().count();
        assert!(
            size <= SLACK_TEXT_LIMIT,
            "{alertname} of a team: {size} characters:\n{text}"
        );
        assert!(
            text.contains(" · R&amp;D &lt;Labs&gt; &amp; Partners, Nordic &amp; Baltic r… · "),
            "{text}"
        );
        assert!(text.contains(" · Müller, \"Nord\" GmbH · "), "{text}");
        eprintln!("{alertname} of a team, mixed containers: Slack text {size} characters");
    }

    // A team's group of normal size: several containers, one alert name;
    // each certificate named with its container, days and action; a
    // resolved one listed as such.
    let containers = ["Web Platform", "Café\\Prod", "Example Corp"];
    let mut alerts: Vec<Json> = (0..12)
        .map(|i| {
            certificate_alert(
                "CertCentralCertificateExpiringSoon",
                "warning",
                i,
                containers[i % 3],
                "firing",
            )
        })
        .collect();
    alerts.push(certificate_alert(
        "CertCentralCertificateExpiringSoon",
        "warning",
        12,
        "Web Platform",
        "resolved",
    ));
    let data = notification("web-chat", alerts, &["alertname"]);
    let text = render(dir.path(), "certcentral.slack.text", &data, false);
    for i in 0..12 {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("Renew order {}", 10_000_000 + i)))
            .unwrap_or_else(|| panic!("certificate {i} is not listed:\n{text}"));
        let days = (i as i64 % 37) - 3;
        let expected_days = match days {
            0 => "last day".to_owned(),
            1 => "1 day left".to_owned(),
            -1 => "expired 1 day ago".to_owned(),
            d if d < 0 => format!("expired {} days ago", -d),
            d => format!("{d} days left"),
        };
        assert!(
            line.starts_with("• `checkout-gateway-")
                && line.contains(&format!(" · {} · ", containers[i % 3]))
                && line.contains(&format!(" · {expected_days} · ")),
            "line of certificate {i}: {line}"
        );
    }
    assert!(!text.contains("more"), "{text}");
    assert!(text.contains("Resolved (1): `"), "{text}");
    let title = render(dir.path(), "certcentral.slack.title", &data, false);
    assert_eq!(
        title,
        "[FIRING:12] CertCentralCertificateExpiringSoon · account default"
    );

    // An account alert: its summary, and for a group of one its description.
    let violation = alert_data(
        "firing",
        &[
            ("alertname", "CertCentralComplianceViolation".into()),
            ("severity", "warning".into()),
            ("account", "default".into()),
            ("rule", "weak_key".into()),
        ],
        &[
            (
                "summary",
                "3 CertCentral order(s) in account default break compliance rule weak_key".into(),
            ),
            ("description", "Reissue the affected certificates.".into()),
            (
                "runbook_url",
                format!("{RUNBOOK_BASE}certcentralcomplianceviolation"),
            ),
        ],
    );
    let data = notification(
        "certcentral-chat",
        vec![violation],
        &["alertname", "account"],
    );
    let text = render(dir.path(), "certcentral.slack.text", &data, false);
    assert!(
        text.contains(
            "• 3 CertCentral order(s) in account default break compliance rule weak_key\n"
        ) && text.contains("Reissue the affected certificates."),
        "{text}"
    );
}

/// The notification templates in the kustomize base's ConfigMap are those
/// of alerts/templates/, which alertmanager.yml loads.
#[test]
fn the_kustomize_base_carries_the_same_notification_templates() {
    assert_eq!(
        read(&root().join(TEMPLATE)),
        read(&root().join("deploy/kubernetes/base/alertmanager/certcentral.tmpl")),
    );
    let kustomization = read(&root().join("deploy/kubernetes/base/kustomization.yaml"));
    for line in [
        "- alertmanagerconfig.yaml",
        "- name: certcentral-alertmanager-templates",
        "- alertmanager/certcentral.tmpl",
    ] {
        assert!(
            kustomization.contains(line),
            "kustomization.yaml has no {line:?}"
        );
    }
    let config = yaml(&root().join(ALERTMANAGER_YML));
    assert_eq!(
        strings(&config["templates"]),
        ["templates/certcentral.tmpl"]
    );
}
