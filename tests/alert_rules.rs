//! The alert rules and dashboards, checked without a running exporter:
//! that the committed files are the monitoring mixin's output (mixin/) and
//! follow its `_config`, `promtool check rules` and `promtool test rules`,
//! the PrometheusRule form against the rule file, every alert's labels,
//! annotations, runbook section and unit test, and that rules and dashboard
//! queries name only metrics of the metric catalogue
//! (docs/metrics-catalogue.md).
//!
//! Needs `promtool` (Debian: `apt-get install prometheus`) and `jsonnet`
//! (Debian: `apt-get install jsonnet`); `scripts/install-test-tools` installs both.
//! `PROMTOOL=/path/to/promtool` overrides the one on PATH.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use certcentral_test_support::tool;
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

/// Renders the mixin with mixin/generate.sh into a new directory, from
/// `mixin_file` (a jsonnet file importing mixin.libsonnet) or, with None,
/// the mixin as it is.
fn generate(mixin_file: Option<&Path>) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new("bash");
    command
        .arg(root().join("mixin/generate.sh"))
        .arg("-o")
        .arg(out.path());
    if let Some(file) = mixin_file {
        command.arg("-m").arg(file);
    }
    let output = command.output().expect("run bash mixin/generate.sh");
    assert!(
        output.status.success(),
        "mixin/generate.sh failed ({}); it needs jsonnet (Debian: `apt-get install -y jsonnet`; \
         `scripts/install-test-tools` installs it):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
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
    let out = generate(None);
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
    for (dir, suffix) in [
        ("alerts", ".yml"),
        ("alerts", ".yaml"),
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
    let out = generate(Some(&mixin));
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
    let found = files("alerts", ".yml");
    assert!(!found.is_empty(), "no alerts/*.yml rule file");
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
