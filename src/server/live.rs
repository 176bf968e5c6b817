//! The web config as it is now. exporter-toolkit reads its web config
//! again for each request, so operators expect a changed password or TLS
//! setting to apply without a restart: the file is compared by content at
//! most once a second (when a request or connection needs it) and on
//! SIGHUP, and a file that cannot be used is logged and the previous
//! configuration kept. So is a file that would drop a protection (basic
//! auth, TLS, a required client certificate): a file rewritten empty or
//! cut short by a careless copy must not open `/metrics` to everyone, so
//! turning one off takes a restart (exporter-toolkit fails open here).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use sha2::{Digest, Sha256};

use super::web_config::WebConfig;

/// How reloads of the web config ended, for alerting on a file that is
/// not in force.
#[derive(Clone)]
pub struct WebConfigTelemetry {
    reloads: IntCounterVec,
    last_successful: IntGauge,
}

/// The `result` label of `certcentral_exporter_web_config_reloads_total`.
const RESULTS: [&str; 3] = ["applied", "invalid", "refused"];

impl WebConfigTelemetry {
    /// Registers the reload counters (each result from 0) and the gauge.
    pub fn register(registry: &Registry) -> prometheus::Result<WebConfigTelemetry> {
        let reloads = IntCounterVec::new(
            Opts::new(
                "certcentral_exporter_web_config_reloads_total",
                "Changed web config files read, by result: applied, invalid (cannot be read or used) or refused (it would turn basic auth, TLS or a required client certificate off, which takes a restart).",
            ),
            &["result"],
        )?;
        for result in RESULTS {
            reloads.with_label_values(&[result]);
        }
        let last_successful = IntGauge::new(
            "certcentral_exporter_web_config_last_reload_successful",
            "1 if the web config file as it is now is the one in force, 0 if its latest change was invalid or refused (the previous configuration is in force).",
        )?;
        last_successful.set(1);
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(last_successful.clone()))?;
        Ok(WebConfigTelemetry {
            reloads,
            last_successful,
        })
    }

    fn count(&self, result: &str) {
        self.reloads.with_label_values(&[result]).inc();
        self.last_successful.set(i64::from(result == "applied"));
    }
}

/// How often, at most, a request or connection makes the file be read.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The current web configuration, and the file it comes from.
pub struct LiveWeb {
    path: Option<PathBuf>,
    state: Mutex<Loaded>,
    telemetry: Option<WebConfigTelemetry>,
}

struct Loaded {
    config: Arc<WebConfig>,
    /// The SHA-256 of the file the config was read from (or last tried).
    digest: Option<[u8; 32]>,
    checked: Instant,
}

impl LiveWeb {
    /// `config` as read at start-up from `path` (none: the default config,
    /// never reloaded), reloads counted in `telemetry`.
    pub fn new(
        path: Option<PathBuf>,
        config: WebConfig,
        telemetry: Option<WebConfigTelemetry>,
    ) -> LiveWeb {
        let digest = path.as_ref().and_then(|p| file_digest(p).ok());
        LiveWeb {
            path,
            telemetry,
            state: Mutex::new(Loaded {
                config: Arc::new(config),
                digest,
                checked: Instant::now(),
            }),
        }
    }

    /// The configuration now, read again first if the file changed and it
    /// was last looked at over a second ago.
    pub fn current(&self) -> Arc<WebConfig> {
        let Ok(mut state) = self.state.lock() else {
            return Arc::new(WebConfig::default());
        };
        if state.checked.elapsed() >= CHECK_INTERVAL {
            self.refresh(&mut state, false);
        }
        state.config.clone()
    }

    /// Reads the file again now (SIGHUP), changed or not.
    pub fn reload(&self) {
        if let Ok(mut state) = self.state.lock() {
            self.refresh(&mut state, true);
        }
    }

    fn count(&self, result: &str) {
        if let Some(telemetry) = &self.telemetry {
            telemetry.count(result);
        }
    }

    fn refresh(&self, state: &mut Loaded, forced: bool) {
        state.checked = Instant::now();
        let Some(path) = &self.path else {
            return;
        };
        let digest = match file_digest(path) {
            Ok(digest) => digest,
            Err(err) => {
                if forced || state.digest.is_some() {
                    tracing::error!(path = %path.display(), error = %err, "cannot read the web config again; keeping the previous one");
                    self.count("invalid");
                }
                state.digest = None;
                return;
            }
        };
        if !forced && state.digest == Some(digest) {
            return;
        }
        // Tried once per change, not at every request.
        state.digest = Some(digest);
        match WebConfig::load(path) {
            Ok(config) if !state.config.dropped_by(&config).is_empty() => {
                tracing::error!(
                    path = %path.display(),
                    dropped = %state.config.dropped_by(&config).join(", "),
                    "the web config would turn protections off; that takes a restart: keeping the previous one"
                );
                self.count("refused");
            }
            Ok(mut config) => {
                if config.tls.is_some() != state.config.tls.is_some() {
                    tracing::warn!(
                        path = %path.display(),
                        "tls_server_config was added or removed: the listener switches between HTTP and HTTPS only at a restart"
                    );
                    config.tls = state.config.tls.clone();
                }
                if let (Some(old), Some(new)) = (&state.config.auth, &config.auth)
                    && let Some(kept) = new.remembering(old)
                {
                    config.auth = Some(kept);
                }
                let changes = describe_changes(&state.config, &config);
                tracing::info!(path = %path.display(), changes = %changes, "read the web config again");
                state.config = Arc::new(config);
                self.count("applied");
            }
            Err(err) => {
                tracing::error!(error = %err, "the web config cannot be used; keeping the previous one");
                self.count("invalid");
            }
        }
    }
}

fn file_digest(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes).into())
}

/// What differs between two configurations, in words (user names, never
/// hashes).
fn describe_changes(old: &WebConfig, new: &WebConfig) -> String {
    let empty = Default::default();
    let users = |config: &WebConfig| config.auth.as_ref().map_or(&empty, |a| a.users()).clone();
    let (before, after) = (users(old), users(new));
    let mut changes = Vec::new();
    let added: Vec<&str> = after
        .keys()
        .filter(|u| !before.contains_key(*u))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .keys()
        .filter(|u| !after.contains_key(*u))
        .map(String::as_str)
        .collect();
    let rehashed: Vec<&str> = after
        .iter()
        .filter(|(u, h)| before.get(*u).is_some_and(|old| old != *h))
        .map(|(u, _)| u.as_str())
        .collect();
    for (what, names) in [
        ("users added", added),
        ("users removed", removed),
        ("passwords changed", rehashed),
    ] {
        if !names.is_empty() {
            changes.push(format!("{what}: {}", names.join(", ")));
        }
    }
    let excluded = |config: &WebConfig| {
        config
            .auth
            .as_ref()
            .map(|a| a.excluded_paths().to_vec())
            .unwrap_or_default()
    };
    if excluded(old) != excluded(new) {
        changes.push(format!("auth_excluded_paths: {:?}", excluded(new)));
    }
    if new.tls.is_some() {
        changes.push("TLS settings read again".to_owned());
    }
    if changes.is_empty() {
        "none".to_owned()
    } else {
        changes.join("; ")
    }
}
