//! The packaging an operator applies: the systemd unit passes
//! `systemd-analyze verify` (with ExecStart pointed at the built binary, so
//! that verify finds it), and the kustomize base and overlays render and
//! validate against the Kubernetes and Prometheus Operator schemas
//! (deploy/kubernetes/validate.sh).
//!
//! Needs systemd-analyze, kubectl, kubernetes-validate and node with the
//! npm modules of validate.sh; `scripts/install-test-tools` installs them
//! all (the last two under `.test-tools/`, where validate.sh looks).

use std::path::PathBuf;
use std::process::{Command, Output};

use certcentral_exporter::cli::API_KEY_CREDENTIAL;

const EXPORTER: &str = env!("CARGO_BIN_EXE_certcentral-exporter");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}); `scripts/install-test-tools` installs it")
    });
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_systemd_unit_verifies_and_loads_the_key_as_the_exporters_credential() {
    let unit = std::fs::read_to_string(root().join("deploy/systemd/certcentral-exporter.service"))
        .expect("the unit file");
    for setting in [
        "DynamicUser=yes",
        "StateDirectory=certcentral-exporter",
        &format!("LoadCredential={API_KEY_CREDENTIAL}:"),
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(setting), "the unit has no {setting:?}");
    }
    let installed = "ExecStart=/usr/local/bin/certcentral-exporter";
    assert!(unit.contains(installed), "ExecStart moved: {unit}");
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("certcentral-exporter.service");
    std::fs::write(
        &copy,
        unit.replace(installed, &format!("ExecStart={EXPORTER}")),
    )
    .expect("write the unit");
    let output = run(
        Command::new("systemd-analyze").arg("verify").arg(&copy),
        "systemd-analyze verify",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("certcentral-exporter.service"),
        "systemd-analyze has remarks on the unit:\n{stderr}"
    );

    // A typo in a setting is caught: the check can fail.
    std::fs::write(
        &copy,
        unit.replace("ProtectSystem=strict", "ProtectSystem=strikt"),
    )
    .expect("write the unit");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze");
    // systemd 252 words it "Failed to parse protect system value, ignoring: strikt".
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("certcentral-exporter.service") && stderr.contains("strikt"),
        "a bad ProtectSystem= went unnoticed: {stderr}"
    );
}

#[test]
fn the_kustomize_base_and_overlays_render_and_validate() {
    let output = run(
        Command::new("bash").arg(root().join("deploy/kubernetes/validate.sh")),
        "deploy/kubernetes/validate.sh",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "base: 5 Kubernetes objects valid",
        "tls-basic-auth: 6 Kubernetes objects valid",
        "base.yaml: ServiceMonitor/certcentral-exporter passed",
        "base.yaml: ScrapeConfig/certcentral-probe passed",
        "base.yaml: AlertmanagerConfig/certcentral-exporter passed",
        "tls-basic-auth.yaml: PrometheusRule/certcentral-exporter passed",
        "tls-basic-auth.yaml: ScrapeConfig/certcentral-probe passed",
        "tls-basic-auth.yaml: AlertmanagerConfig/certcentral-exporter passed",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
}

/// A dashboard the mixin renders into the base but the ConfigMap generator
/// does not list would never reach Grafana.
#[test]
fn the_dashboards_configmap_lists_every_generated_dashboard() {
    let base = root().join("deploy/kubernetes/base");
    let kustomization = std::fs::read_to_string(base.join("kustomization.yaml"))
        .expect("read deploy/kubernetes/base/kustomization.yaml");
    let mut seen = 0;
    for entry in std::fs::read_dir(base.join("dashboards")).expect("list the base's dashboards") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") {
            seen += 1;
            assert!(
                kustomization.contains(&format!("- dashboards/{name}")),
                "deploy/kubernetes/base/kustomization.yaml does not list dashboards/{name}"
            );
        }
    }
    assert!(seen >= 4, "only {seen} dashboards in the base");
}

/// The key file has one place on a host: the unit's `LoadCredential=`
/// path, which the README, docs/ and the Dockerfile's example name too.
#[test]
fn every_document_puts_the_key_file_where_the_unit_reads_it() {
    let unit = std::fs::read_to_string(root().join("deploy/systemd/certcentral-exporter.service"))
        .expect("the unit file");
    let prefix = format!("LoadCredential={API_KEY_CREDENTIAL}:");
    let path = unit
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .expect("the unit loads the key")
        .trim()
        .to_owned();
    let mut pages = vec![root().join("README.md"), root().join("Dockerfile")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        pages.push(entry.expect("a directory entry").path());
    }
    let mut named = 0;
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("a page");
        for (i, line) in text.lines().enumerate() {
            for at in line.match_indices("/etc/").map(|(at, _)| at) {
                let word: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '`' | ')' | '\''))
                    .collect();
                if word.ends_with("api-key") {
                    named += 1;
                    assert_eq!(word, path, "{}:{}", page.display(), i + 1);
                }
            }
        }
    }
    assert!(named >= 3, "the key file is named only {named} times");
}

/// The shipped scrape job for `/probe` is a valid Prometheus configuration
/// that selects the job name the deployment alerts expect.
#[test]
fn the_probe_scrape_job_is_a_valid_prometheus_configuration() {
    let path = root().join("deploy/prometheus/certcentral-probe.yml");
    let promtool = certcentral_test_support::tool("PROMTOOL", "promtool");
    run(
        Command::new(promtool).args(["check", "config"]).arg(&path),
        "promtool check config",
    );
    let config = std::fs::read_to_string(&path).expect("the scrape job");
    let mixin = std::fs::read_to_string(root().join("mixin/config.libsonnet")).expect("the mixin");
    assert!(config.contains("job_name: certcentral-probe"), "{config}");
    assert!(
        mixin.contains("probeJob: 'certcentral-probe'"),
        "the alerts' job"
    );
    assert!(config.contains("/probe/targets") && config.contains("metrics_path: /probe"));
}

fn yaml(path: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The keys of a YAML mapping.
fn keys(value: &serde_yaml_ng::Value) -> Vec<String> {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect()
}

/// `http://HOST:PORT/PATH` -> (HOST:PORT, /PATH).
fn host_and_path(url: &serde_yaml_ng::Value) -> (String, String) {
    let url = url.as_str().expect("a URL");
    let rest = url.split_once("://").expect("a scheme").1;
    let at = rest.find('/').expect("a path");
    (rest[..at].to_owned(), rest[at..].to_owned())
}

/// The probe job of the Kubernetes base (a Prometheus Operator
/// ScrapeConfig) is the shipped scrape job in the Operator's words: the
/// same job name, path, intervals, honor_labels, discovery and relabelling,
/// each with the exporter's address as its setting names it. Every field
/// either has is compared, so that a field misspelt on one side (which the
/// CRD validators do not reject) shows here.
#[test]
fn the_probe_scrapeconfig_is_the_shipped_probe_job() {
    let job = yaml("deploy/prometheus/certcentral-probe.yml")["scrape_configs"][0].clone();
    let object = yaml("deploy/kubernetes/base/scrapeconfig-probe.yaml");
    assert_eq!(object["kind"].as_str(), Some("ScrapeConfig"));
    let spec = &object["spec"];
    let fields = [
        ("job_name", "jobName"),
        ("scrape_interval", "scrapeInterval"),
        ("scrape_timeout", "scrapeTimeout"),
        ("metrics_path", "metricsPath"),
        ("honor_labels", "honorLabels"),
        ("http_sd_configs", "httpSDConfigs"),
        ("relabel_configs", "relabelings"),
    ];
    let mut job_keys = keys(&job);
    let mut spec_keys = keys(spec);
    job_keys.sort();
    spec_keys.sort();
    let mut want_job: Vec<String> = fields.iter().map(|f| f.0.to_owned()).collect();
    let mut want_spec: Vec<String> = fields.iter().map(|f| f.1.to_owned()).collect();
    want_job.sort();
    want_spec.sort();
    assert_eq!(
        job_keys, want_job,
        "the fields of certcentral-probe.yml's job"
    );
    assert_eq!(
        spec_keys, want_spec,
        "the fields of the ScrapeConfig's spec"
    );
    for (theirs, ours) in &fields[..5] {
        assert_eq!(job[*theirs], spec[*ours], "{theirs} and {ours} differ");
    }

    let (sd, operator_sd) = (&job["http_sd_configs"], &spec["httpSDConfigs"]);
    assert_eq!(sd.as_sequence().map(Vec::len), Some(1));
    assert_eq!(operator_sd.as_sequence().map(Vec::len), Some(1));
    assert_eq!(keys(&sd[0]).len(), 2, "{sd:?}");
    assert_eq!(keys(&operator_sd[0]).len(), 2, "{operator_sd:?}");
    assert_eq!(sd[0]["refresh_interval"], operator_sd[0]["refreshInterval"]);
    let (exporter, path) = host_and_path(&sd[0]["url"]);
    let (operator_exporter, operator_path) = host_and_path(&operator_sd[0]["url"]);
    assert_eq!(path, "/probe/targets");
    assert_eq!(operator_path, path);
    for host in [&exporter, &operator_exporter] {
        assert!(
            host.starts_with("certcentral-exporter") && host.ends_with(":10056"),
            "{host} is not the exporter's Service"
        );
    }

    // Each rule as (source labels, target label, replacement), the
    // exporter's address written EXPORTER: the address the targets are
    // scraped at is the one they were discovered from.
    let rules = |list: &serde_yaml_ng::Value, names: [&str; 3], exporter: &str| {
        list.as_sequence()
            .expect("a list of rules")
            .iter()
            .map(|rule| {
                for key in keys(rule) {
                    assert!(
                        names.contains(&key.as_str()),
                        "{key} in {rule:?} is not compared"
                    );
                }
                (
                    rule[names[0]].clone(),
                    rule[names[1]].clone(),
                    rule[names[2]]
                        .as_str()
                        .unwrap_or("")
                        .replace(exporter, "EXPORTER"),
                )
            })
            .collect::<Vec<_>>()
    };
    let shipped = rules(
        &job["relabel_configs"],
        ["source_labels", "target_label", "replacement"],
        &exporter,
    );
    let operator = rules(
        &spec["relabelings"],
        ["sourceLabels", "targetLabel", "replacement"],
        &operator_exporter,
    );
    assert_eq!(shipped, operator);
    assert!(
        shipped
            .iter()
            .any(|r| r.1.as_str() == Some("__address__") && r.2 == "EXPORTER"),
        "{shipped:?}"
    );
}
