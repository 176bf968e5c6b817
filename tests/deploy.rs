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
        "base: 3 Kubernetes objects valid",
        "tls-basic-auth: 4 Kubernetes objects valid",
        "base.yaml: ServiceMonitor/certcentral-exporter passed",
        "tls-basic-auth.yaml: PrometheusRule/certcentral-exporter passed",
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
