//! Basic auth on a bounded pool: bcrypt is slow by design, so wrong
//! passwords must not be able to take the CPU from scrapes, nor keep the
//! process from stopping.

use std::sync::Arc;

use prometheus::{IntCounter, Registry};
use tokio::sync::Semaphore;

use super::web_config::{BasicAuth, Credentials};

/// What a request's credentials came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Too many checks already running or waiting: answered at once
    /// (with a 503) instead of queueing without end.
    Busy,
}

/// Checks waiting for a place beside those running; more are turned away.
const QUEUED_CHECKS: usize = 8;

/// Runs bcrypt checks a few at a time (half the cores, one to four), off
/// the async workers, with a short queue. A check whose outcome is
/// remembered, right or wrong, costs no bcrypt.
pub struct CheckPool {
    /// Places for checks running or queued.
    admitted: Arc<Semaphore>,
    /// Places for checks running.
    running: Arc<Semaphore>,
    verifications: IntCounter,
    turned_away: IntCounter,
}

impl CheckPool {
    /// A pool sized for this machine, its counters in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<CheckPool> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let running = (cores / 2).clamp(1, 4);
        let verifications = IntCounter::new(
            "certcentral_exporter_basic_auth_verifications_total",
            "bcrypt checks of basic-auth passwords (outcomes are remembered, so this grows only with new credentials).",
        )?;
        let turned_away = IntCounter::new(
            "certcentral_exporter_basic_auth_busy_total",
            "Requests answered 503 because too many basic-auth checks were running or waiting.",
        )?;
        registry.register(Box::new(verifications.clone()))?;
        registry.register(Box::new(turned_away.clone()))?;
        Ok(CheckPool {
            admitted: Arc::new(Semaphore::new(running + QUEUED_CHECKS)),
            running: Arc::new(Semaphore::new(running)),
            verifications,
            turned_away,
        })
    }

    /// Turns away every check from now on, those waiting included
    /// (answered 503): at shutdown, requests must not wait on bcrypt.
    pub fn close(&self) {
        self.admitted.close();
        self.running.close();
    }

    /// Checks an `Authorization` header value against `auth`.
    pub async fn check(&self, auth: &Arc<BasicAuth>, authorization: Option<&str>) -> Verdict {
        let Some(credentials) = authorization.and_then(Credentials::parse) else {
            return Verdict::Denied;
        };
        if let Some(ok) = auth.remembered(&credentials) {
            return verdict(ok);
        }
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            self.turned_away.inc();
            return Verdict::Busy;
        };
        let Ok(running) = self.running.clone().acquire_owned().await else {
            return Verdict::Busy;
        };
        // The same credentials may have been checked while this waited.
        if let Some(ok) = auth.remembered(&credentials) {
            return verdict(ok);
        }
        self.verifications.inc();
        let auth = auth.clone();
        // The places go with the check: a client that gives up does not
        // free them while its bcrypt still runs.
        let checked = tokio::task::spawn_blocking(move || {
            let _places = (admitted, running);
            auth.verify(&credentials)
        })
        .await;
        verdict(checked.unwrap_or(false))
    }
}

fn verdict(ok: bool) -> Verdict {
    if ok {
        Verdict::Allowed
    } else {
        Verdict::Denied
    }
}
