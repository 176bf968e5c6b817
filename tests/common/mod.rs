//! Shared harness for the end-to-end tests: the real binary, as a simulator
//! and as an exporter, over real HTTP, with deadlines instead of sleeps.

#![allow(dead_code)] // each test binary uses part of the harness

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_certcentral-exporter");

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking HTTP client with a short timeout.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// A child process killed when dropped, with its stderr kept in a file.
pub struct Process {
    child: Child,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Process {
        Process::spawn_wrapped(&[], args, env)
    }

    /// The binary started by `wrapper` (e.g. `prlimit --nofile=256:1024`),
    /// which ends by running the command it is given.
    pub fn spawn_wrapped(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr.log");
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = match wrapper.split_first() {
            None => Command::new(BIN),
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(BIN);
                command
            }
        };
        command
            .args(args)
            .env_remove("CERTCENTRAL_API_KEY")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start the binary");
        Process {
            child,
            log,
            _dir: dir,
        }
    }

    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (with a deadline) for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGTERM and waits (with a deadline) for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.wait_exit(timeout)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `certcentral-exporter simulate` on a free port.
pub struct Simulator {
    pub process: Process,
    pub base: String,
}

impl Simulator {
    pub fn start(orders: usize, seed: u64, extra: &[&str]) -> Simulator {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let orders = orders.to_string();
        let seed = seed.to_string();
        let mut args = vec![
            "simulate", "--listen", &listen, "--orders", &orders, "--seed", &seed,
        ];
        args.extend_from_slice(extra);
        let process = Process::spawn(&args, &[]);
        let base = format!("http://{listen}");
        let client = http();
        wait_for("the simulator to listen", Duration::from_secs(30), || {
            client
                .get(format!("{base}/_simulator/stats"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Simulator { process, base }
    }

    /// The API base URL to give the exporter.
    pub fn api_url(&self) -> String {
        format!("{}/services/v2", self.base)
    }

    /// The simulator's own truth about its orders.
    pub fn orders(&self) -> Vec<serde_json::Value> {
        http()
            .get(format!("{}/_simulator/orders", self.base))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("simulator truth")
    }

    /// Issued orders that could page on the report's date (0 to 29 days
    /// left), reissued with the report still showing the old certificate
    /// (`report_lags`), the new one valid 106 days more: the false page that
    /// the reissue list must prevent. Returns their ids and new expiries.
    pub fn reissue_urgent_orders(&self, most: usize) -> BTreeMap<u64, i64> {
        let client = http();
        let till = (chrono::Utc::now().date_naive() + chrono::Duration::days(106)).to_string();
        let mut reissued = BTreeMap::new();
        for order in self.orders().iter().filter(|o| {
            o["status"] == "issued"
                && o["exported"] == true
                && o["actionable"] == true
                && o["days_remaining"]
                    .as_i64()
                    .is_some_and(|d| (0..30).contains(&d))
        }) {
            if reissued.len() == most {
                break;
            }
            let id = order["id"].as_u64().expect("id");
            let moved: serde_json::Value = client
                .post(format!("{}/_simulator/orders/{id}/reissue", self.base))
                .json(&serde_json::json!({"valid_till": till, "report_lags": true}))
                .send()
                .and_then(|r| r.error_for_status())
                .and_then(|r| r.json())
                .expect("reissue");
            assert_eq!(moved["valid_till"], till.as_str());
            reissued.insert(id, 0);
        }
        let truth = self.orders();
        for order in &truth {
            if let Some(expiry) = reissued.get_mut(&order["id"].as_u64().unwrap_or(0)) {
                assert_ne!(
                    order["valid_till"], order["report_valid_till"],
                    "the report lags"
                );
                *expiry = order["expiry_timestamp"].as_i64().expect("expiry");
            }
        }
        assert!(!reissued.is_empty(), "the fleet has urgent orders");
        reissued
    }

    pub fn stats(&self) -> serde_json::Value {
        http()
            .get(format!("{}/_simulator/stats", self.base))
            .send()
            .and_then(|r| r.json())
            .expect("simulator stats")
    }
}

/// The exporter on a free port.
pub struct Exporter {
    pub process: Process,
    pub base: String,
}

impl Exporter {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Exporter {
        Exporter::start_wrapped(&[], args, env)
    }

    /// The exporter started by `wrapper` (see [`Process::spawn_wrapped`]).
    pub fn start_wrapped(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Exporter {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["--web.listen-address", &listen, "--log.level", "debug"];
        all.extend_from_slice(args);
        let process = Process::spawn_wrapped(wrapper, &all, env);
        Exporter {
            process,
            base: format!("http://{listen}"),
        }
    }

    /// Waits for `/-/ready`.
    pub fn wait_ready(&mut self) {
        let client = http();
        let url = format!("{}/-/ready", self.base);
        wait_for("the exporter to be ready", Duration::from_secs(60), || {
            client
                .get(&url)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        http()
            .get(format!("{}{path}", self.base))
            .send()
            .expect("GET")
    }

    /// One scrape, parsed with a Prometheus text parser.
    pub fn scrape(&self) -> Scrape {
        let text = self.get("/metrics").text().expect("metrics body");
        Scrape::parse(&text)
    }

    /// Scrapes until `check` holds.
    pub fn scrape_until(&self, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
        wait_for(what, Duration::from_secs(60), || {
            Some(self.scrape()).filter(|s| check(s))
        })
    }
}

/// A parsed scrape.
pub struct Scrape {
    pub text: String,
    pub samples: Vec<prometheus_parse::Sample>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let parsed = prometheus_parse::Scrape::parse(lines).expect("valid exposition");
        Scrape {
            text: text.to_owned(),
            samples: parsed.samples,
        }
    }

    /// Values of `metric`, keyed by the given label.
    pub fn by_label(&self, metric: &str, label: &str) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter_map(|s| Some((s.labels.get(label)?.to_owned(), value(&s.value))))
            .collect()
    }

    /// The single value of `metric` whose labels include all of `labels`.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| value(&s.value))
    }

    /// The sum of `metric` over every series whose labels include `labels`.
    pub fn sum(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| value(&s.value))
            .sum()
    }

    pub fn has(&self, metric: &str) -> bool {
        self.samples.iter().any(|s| s.metric == metric)
    }
}

pub fn value(v: &prometheus_parse::Value) -> f64 {
    match v {
        prometheus_parse::Value::Counter(x)
        | prometheus_parse::Value::Gauge(x)
        | prometheus_parse::Value::Untyped(x) => *x,
        _ => f64::NAN,
    }
}

/// The rules the simulator's truth says an order breaks (`expected_findings`
/// of `/_simulator/orders`), for comparing with the exporter's findings.
pub fn expected_findings(order: &serde_json::Value) -> std::collections::BTreeSet<String> {
    order["expected_findings"]
        .as_array()
        .expect("expected_findings is a list")
        .iter()
        .map(|rule| rule.as_str().expect("a rule name").to_owned())
        .collect()
}
