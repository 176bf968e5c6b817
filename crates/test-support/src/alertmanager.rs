//! A real Alertmanager (Debian's `prometheus-alertmanager`, or `$ALERTMANAGER`)
//! and a webhook receiver that keeps every notification it is sent: what an
//! on-call person would receive, as Alertmanager's webhook JSON.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::prometheus::{tool_in, wait_until_ready};
use crate::{Process, free_port, http};

/// An Alertmanager on a free loopback port, alone (no cluster), with its
/// own storage; killed when dropped.
pub struct Alertmanager {
    pub process: Process,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::blocking::Client,
    _home: tempfile::TempDir,
}

impl Alertmanager {
    /// Runs `config` (an alertmanager.yml; its relative template paths are
    /// its directory's); returns once it is ready.
    pub fn start(config: &Path) -> Alertmanager {
        let program = tool_in(
            "ALERTMANAGER",
            "prometheus-alertmanager",
            "prometheus-alertmanager",
        );
        let home = tempfile::tempdir().expect("a directory for Alertmanager");
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(program);
        command.args([
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", home.path().display()),
            format!("--web.listen-address={listen}"),
            // Alone: no gossip port, no peers to wait for.
            "--cluster.listen-address=".to_owned(),
            "--log.level=warn".to_owned(),
        ]);
        let alertmanager = Alertmanager {
            process: Process::start("alertmanager", command),
            base: format!("http://{listen}"),
            client: http(),
            _home: home,
        };
        wait_until_ready("Alertmanager", &alertmanager.process, &alertmanager.base);
        alertmanager
    }

    /// `host:port`, for Prometheus's `alerting:` configuration.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The alerts it holds (`GET /api/v2/alerts`): active, inhibited and
    /// silenced alike, each with its `status.inhibitedBy`.
    pub fn alerts(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/api/v2/alerts", self.base))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("Alertmanager's alerts")
    }
}

/// A webhook receiver on a free loopback port: every notification posted
/// to it, in order of arrival, with the path it was posted to.
pub struct Webhook {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Webhook {
    /// Listens; the serving thread ends with the test process.
    pub fn start() -> Webhook {
        let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let kept = received.clone();
        let base = crate::stand_in::serve(move |request, body| {
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            if let Ok(notification) = serde_json::from_slice(&body) {
                kept.lock()
                    .expect("the notifications")
                    .push((path, notification));
            }
            ("200 OK", String::new())
        });
        Webhook { base, received }
    }

    /// Every notification so far: the path it was posted to, and
    /// Alertmanager's JSON (`receiver`, `status`, `groupKey`,
    /// `groupLabels`, `alerts`...).
    pub fn notifications(&self) -> Vec<(String, Value)> {
        self.received.lock().expect("the notifications").clone()
    }
}
