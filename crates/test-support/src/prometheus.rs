//! A real Prometheus scraping one target, and `promtool`.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::process::{Process, free_port, http, poll_until};

/// The program named by the variable `env`, else `name` on PATH, checked
/// to run; panics with how to install it when it is missing.
pub fn tool(env: &str, name: &str) -> PathBuf {
    tool_in(env, name, "prometheus")
}

/// Waits (60 s at most) until `base`'s `/-/ready` answers with a success,
/// as Prometheus and Alertmanager do once they serve; panics if `process`
/// exits meanwhile.
pub(crate) fn wait_until_ready(what: &str, process: &Process, base: &str) {
    let ready = format!("{base}/-/ready");
    let client = http();
    poll_until(
        &format!("{what}'s /-/ready"),
        Duration::from_secs(60),
        Duration::from_millis(200),
        &[process],
        || {
            let answer = client.get(&ready).send().ok()?;
            answer.status().is_success().then_some(())
        },
    );
}

/// `$env`, else `name` on PATH, from Debian's `package`; panics with how to
/// install it when it is missing.
pub(crate) fn tool_in(env: &str, name: &str, package: &str) -> PathBuf {
    let program = PathBuf::from(std::env::var_os(env).unwrap_or_else(|| name.into()));
    match Command::new(&program).arg("--version").output() {
        Ok(_) => program,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "{name} not found ({}). Install Debian's {package} package \
             (`apt-get install -y --no-install-recommends {package}`), \
             or run `scripts/install-test-tools`, or set {env}=/path/to/{name}",
            program.display()
        ),
        Err(e) => panic!("cannot run {}: {e}", program.display()),
    }
}

/// What `promtool check metrics` says of `text` (`$PROMTOOL` or the one on
/// PATH): its findings, one a line.
pub fn promtool_check_metrics(text: &str) -> Vec<String> {
    let mut child = Command::new(tool("PROMTOOL", "promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool check metrics");
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool check metrics");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A Prometheus (`$PROMETHEUS` or the one on PATH) scraping one target,
/// with its own storage, stopped when dropped.
pub struct Prometheus {
    /// The `prometheus` process.
    pub process: Process,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::blocking::Client,
    _home: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `target` (`host:port`) as job `job` every `interval`
    /// (evaluating `rules`, globs of rule files, as often); returns once it
    /// is ready.
    pub fn start(job: &str, target: &str, interval: Duration, rules: &[&Path]) -> Prometheus {
        let jobs =
            format!("  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n");
        Prometheus::start_with(&jobs, interval, rules)
    }

    /// Runs the scrape jobs `jobs` (the items of `scrape_configs:`, YAML),
    /// scraping and evaluating `rules` every `interval` unless a job says
    /// otherwise; returns once it is ready.
    pub fn start_with(jobs: &str, interval: Duration, rules: &[&Path]) -> Prometheus {
        Prometheus::start_configured(jobs, interval, rules, None)
    }

    /// As [`Prometheus::start_with`], sending its alerts to the
    /// Alertmanager at `alertmanager` (`host:port`).
    pub fn start_alerting(
        jobs: &str,
        interval: Duration,
        rules: &[&Path],
        alertmanager: &str,
    ) -> Prometheus {
        Prometheus::start_configured(jobs, interval, rules, Some(alertmanager))
    }

    fn start_configured(
        jobs: &str,
        interval: Duration,
        rules: &[&Path],
        alertmanager: Option<&str>,
    ) -> Prometheus {
        let program = tool("PROMETHEUS", "prometheus");
        let home = tempfile::tempdir().expect("a directory for Prometheus");
        let config = home.path().join("prometheus.yml");
        let seconds = interval.as_secs().max(1);
        let mut yaml = format!(
            "global:\n  scrape_interval: {seconds}s\n  scrape_timeout: {seconds}s\n  \
             evaluation_interval: {seconds}s\n"
        );
        if !rules.is_empty() {
            yaml.push_str("rule_files:\n");
            for rule in rules {
                yaml.push_str(&format!("  - {}\n", rule.display()));
            }
        }
        if let Some(address) = alertmanager {
            yaml.push_str(&format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{address}']\n"
            ));
        }
        yaml.push_str("scrape_configs:\n");
        yaml.push_str(jobs);
        std::fs::write(&config, yaml).expect("prometheus.yml");
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(program);
        command.args([
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", home.path().join("data").display()),
            format!("--web.listen-address={listen}"),
            "--log.level=warn".to_owned(),
        ]);
        let prometheus = Prometheus {
            process: Process::start("prometheus", command),
            base: format!("http://{listen}"),
            client: http(),
            _home: home,
        };
        wait_until_ready("Prometheus", &prometheus.process, &prometheus.base);
        prometheus
    }

    /// GET `path` of its HTTP API with `params`: the `data` of a success
    /// answer, or the error.
    pub fn api(&self, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
        let url = url::Url::parse_with_params(
            &format!("{}{path}", self.base),
            params.iter().map(|(k, v)| (*k, v.as_str())),
        )
        .expect("API URL");
        let response = self
            .client
            .get(url)
            .send()
            .map_err(|e| format!("request failed: {e}"))?;
        let body: Value = response.json().map_err(|e| format!("not JSON: {e}"))?;
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    }

    /// The result of an instant query.
    pub fn instant(&self, query: &str) -> Result<Vec<Value>, String> {
        let data = self.api("/api/v1/query", &[("query", query.to_owned())])?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// The result of a range query over the last `seconds`, a step a
    /// second.
    pub fn range(&self, query: &str, seconds: u64) -> Result<Vec<Value>, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let data = self.api(
            "/api/v1/query_range",
            &[
                ("query", query.to_owned()),
                ("start", (now - seconds).to_string()),
                ("end", now.to_string()),
                ("step", "1".to_owned()),
            ],
        )?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// The value of the first series of an instant query.
    pub fn scalar(&self, query: &str) -> Option<f64> {
        let result = self.instant(query).ok()?;
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// The body of `path` (its own `/metrics`, a pprof page), empty when
    /// it does not answer.
    pub fn get(&self, path: &str) -> String {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default()
    }
}
