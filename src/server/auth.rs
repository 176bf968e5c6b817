//! Basic auth on a bounded pool: bcrypt is slow by design, so wrong
//! passwords must not be able to take the CPU from scrapes, nor keep the
//! process from stopping, nor keep a new right password out: checks wait
//! their turn first come, first served, and no one client may hold more
//! than a share of the places, so a flood of wrong passwords delays a
//! right one by a round of checks instead of turning it away.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounter, Registry};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
const QUEUED_CHECKS: usize = 128;

/// Checks one client address may have running or waiting at once.
const CHECKS_PER_CLIENT: usize = 32;

/// Longest wait for a place to run; past it the request is answered 503
/// (a scrape would have timed out anyway).
const CHECK_WAIT: Duration = Duration::from_secs(10);

/// Runs bcrypt checks a few at a time (half the cores, one to four), off
/// the async workers, with a short queue. A check whose outcome is
/// remembered, right or wrong, costs no bcrypt.
pub struct CheckPool {
    /// Places for checks running or queued.
    admitted: Arc<Semaphore>,
    /// Places for checks running.
    running: Arc<Semaphore>,
    /// Checks running or waiting, per client address.
    per_client: ClientCounts,
    verifications: IntCounter,
    turned_away: IntCounter,
}

/// Checks running or waiting, per client address.
type ClientCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// A check's place in the pool and its client's count, given back when
/// the check ends (or its request gives up).
struct Admission {
    _place: OwnedSemaphorePermit,
    client: Option<(IpAddr, ClientCounts)>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some((ip, counts)) = &self.client
            && let Ok(mut counts) = counts.lock()
            && let Some(count) = counts.get_mut(ip)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(ip);
            }
        }
    }
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
            per_client: Arc::default(),
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

    /// A place for a check from `client`, unless the pool or the
    /// client's share of it is full.
    fn admit(&self, client: Option<IpAddr>) -> Option<Admission> {
        let place = self.admitted.clone().try_acquire_owned().ok()?;
        let client = match client {
            None => None,
            Some(ip) => {
                let mut counts = self.per_client.lock().ok()?;
                let count = counts.entry(ip).or_default();
                if *count >= CHECKS_PER_CLIENT {
                    return None;
                }
                *count += 1;
                Some((ip, self.per_client.clone()))
            }
        };
        Some(Admission {
            _place: place,
            client,
        })
    }

    /// Checks an `Authorization` header value against `auth`, for a
    /// request from `client`.
    pub async fn check(
        &self,
        auth: &Arc<BasicAuth>,
        authorization: Option<&str>,
        client: Option<IpAddr>,
    ) -> Verdict {
        let Some(credentials) = authorization.and_then(Credentials::parse) else {
            return Verdict::Denied;
        };
        if let Some(ok) = auth.remembered(&credentials) {
            return verdict(ok);
        }
        let Some(admitted) = self.admit(client) else {
            self.turned_away.inc();
            return Verdict::Busy;
        };
        // First come, first served (tokio's semaphore is fair).
        let waited = tokio::time::timeout(CHECK_WAIT, self.running.clone().acquire_owned()).await;
        let Ok(Ok(running)) = waited else {
            self.turned_away.inc();
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
