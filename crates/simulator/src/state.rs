//! The simulator's state, shared by every request: the account, the
//! key, the rate limits, the fault mode and the request counts that
//! `/_simulator/stats` reports.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::Utc;
use serde_json::json;

use crate::endpoints::Endpoint;
use crate::faults::{Faults, Injector};
use crate::fleet::{Approval, World};
use crate::ratelimit::ServerLimits;
use crate::{ScenarioEndpoint, SimulatorConfig};

/// Requests served, by endpoint and status; and the good answers of the
/// per-order endpoints by order, so that tests can tell whether an
/// exporter asked again for what it already had.
#[derive(Debug, Default)]
struct Stats {
    requests: BTreeMap<&'static str, BTreeMap<String, u64>>,
    answered: BTreeMap<&'static str, BTreeMap<u64, u64>>,
}

/// The simulator's state, shared by every request.
pub(crate) struct Shared {
    world: RwLock<World>,
    pub(crate) seed: u64,
    pub(crate) api_key: Option<String>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) approval: Approval,
    pub(crate) limits: Mutex<ServerLimits>,
    pub(crate) injector: Mutex<Injector>,
    stats: Mutex<Stats>,
    /// The TLS scenario endpoints, once started (`endpoints`).
    endpoints: Mutex<Vec<Endpoint>>,
}

/// Locks `mutex`, poisoned or not: what it guards is changed in one step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(config: &SimulatorConfig) -> Shared {
        let today = config.today.unwrap_or_else(|| Utc::now().date_naive());
        Shared {
            world: RwLock::new(World::generate(config.orders, config.seed, today)),
            seed: config.seed,
            api_key: config.api_key.clone(),
            retry_after: config.retry_after,
            approval: config.approval,
            limits: Mutex::new(ServerLimits::new(config.rate_limit.clone())),
            injector: Mutex::new(Injector::new(config.faults.clone(), config.seed)),
            stats: Mutex::new(Stats::default()),
            endpoints: Mutex::new(Vec::new()),
        }
    }

    /// The account, for reading (a poisoned lock still holds a whole
    /// world: every change is made on a copy of the order, then stored).
    pub(crate) fn world(&self) -> RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The account, for changing.
    pub(crate) fn world_mut(&self) -> RwLockWriteGuard<'_, World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> Faults {
        lock(&self.injector).faults().clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        lock(&self.injector).set(faults);
    }

    pub(crate) fn count(&self, endpoint: &'static str, code: impl Into<String>) {
        *lock(&self.stats)
            .requests
            .entry(endpoint)
            .or_default()
            .entry(code.into())
            .or_default() += 1;
    }

    /// Counts a good answer about one order (or one report page, by its
    /// offset).
    pub(crate) fn count_answer(&self, endpoint: &'static str, order_id: u64) {
        *lock(&self.stats)
            .answered
            .entry(endpoint)
            .or_default()
            .entry(order_id)
            .or_default() += 1;
    }

    pub(crate) fn set_endpoints(&self, endpoints: Vec<Endpoint>) {
        *lock(&self.endpoints) = endpoints;
    }

    /// What a probe of each endpoint should find, and what it saw.
    pub(crate) fn endpoints_json(&self) -> Vec<serde_json::Value> {
        let world = self.world();
        lock(&self.endpoints)
            .iter()
            .map(|e| e.truth(&world))
            .collect()
    }

    /// Where each endpoint listens and the name to ask it for.
    pub(crate) fn endpoint_addresses(&self) -> Vec<ScenarioEndpoint> {
        lock(&self.endpoints)
            .iter()
            .map(Endpoint::address)
            .collect()
    }

    pub(crate) fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    pub(crate) fn stats_json(&self) -> serde_json::Value {
        let stats = lock(&self.stats);
        let count = |code: Option<&str>| -> u64 {
            stats
                .requests
                .values()
                .flat_map(|by_code| by_code.iter())
                .filter(|(c, _)| code.is_none_or(|code| c.as_str() == code))
                .map(|(_, n)| n)
                .sum()
        };
        json!({
            "requests": stats.requests,
            "answered": stats.answered,
            "total": count(None),
            "rate_limited": count(Some("429")),
            "unauthorized": count(Some("401")),
            "faults_injected": lock(&self.injector).injected(),
        })
    }
}
