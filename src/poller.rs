//! The poller: reads an account's whole report on a schedule, builds a
//! fleet from it, and publishes the outcome on the [`Board`]. Polls of one
//! account never overlap; a failed poll keeps the last good fleet.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::watch;

use crate::certcentral::report::{self, Interner, ReportError, SkippedRow};
use crate::certcentral::{ApiError, Client};
use crate::fleet::Fleet;

/// What one account's latest polls produced, as the rest of the exporter
/// sees it. Replaced whole after every poll, never changed in place.
#[derive(Debug, Clone)]
pub struct AccountState {
    pub account: String,
    pub poll_interval: Duration,
    /// The fleet of the latest successful poll.
    pub fleet: Option<Arc<Fleet>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_poll: Option<PollOutcome>,
}

/// How the latest poll ended.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    pub ended_at: DateTime<Utc>,
    pub duration: Duration,
    /// `None` when the poll succeeded.
    pub failure: Option<PollFailure>,
}

/// A failed poll, ready for a log line, a metric label and the landing page.
#[derive(Debug, Clone)]
pub struct PollFailure {
    pub kind: &'static str,
    pub message: String,
}

/// Why a poll failed. The poll's fleet is thrown away whole.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("report page at offset {offset}: {source}")]
    Report {
        offset: usize,
        #[source]
        source: ReportError,
    },
    #[error(
        "report paging does not advance: the page at offset {offset} holds only orders already read"
    )]
    PagingStuck { offset: usize },
}

impl PollError {
    /// The `kind` label of `certcentral_poll_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            PollError::Api(err) => err.kind().as_str(),
            PollError::Report { .. } | PollError::PagingStuck { .. } => "decode",
        }
    }
}

/// The latest state of every account, and a signal when one changes.
pub struct Board {
    states: RwLock<BTreeMap<String, Arc<AccountState>>>,
    changes: watch::Sender<u64>,
}

impl Board {
    /// A board for these accounts, none polled yet.
    pub fn new(accounts: impl IntoIterator<Item = (String, Duration)>) -> Board {
        let states = accounts
            .into_iter()
            .map(|(account, poll_interval)| {
                let state = AccountState {
                    account: account.clone(),
                    poll_interval,
                    fleet: None,
                    last_success: None,
                    last_poll: None,
                };
                (account, Arc::new(state))
            })
            .collect();
        Board {
            states: RwLock::new(states),
            changes: watch::Sender::new(0),
        }
    }

    /// Replaces one account's state and wakes whoever watches the board.
    pub fn publish(&self, state: AccountState) {
        let mut states = self.states.write().unwrap_or_else(|e| e.into_inner());
        states.insert(state.account.clone(), Arc::new(state));
        drop(states);
        self.changes.send_modify(|version| *version += 1);
    }

    /// Every account's current state, in account order.
    pub fn states(&self) -> Vec<Arc<AccountState>> {
        let states = self.states.read().unwrap_or_else(|e| e.into_inner());
        states.values().cloned().collect()
    }

    /// One account's current state.
    pub fn state(&self, account: &str) -> Option<Arc<AccountState>> {
        let states = self.states.read().unwrap_or_else(|e| e.into_inner());
        states.get(account).cloned()
    }

    /// True once every account has finished its first poll.
    pub fn all_polled(&self) -> bool {
        self.states().iter().all(|s| s.last_poll.is_some())
    }

    /// A receiver that changes whenever an account's state is published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// Poll counters shared by every account's poller.
#[derive(Clone)]
pub struct PollTelemetry {
    polls: IntCounterVec,
    errors: IntCounterVec,
}

impl PollTelemetry {
    /// Registers the poll counters once per process.
    pub fn register(registry: &Registry) -> prometheus::Result<PollTelemetry> {
        let polls = IntCounterVec::new(
            Opts::new(
                "certcentral_polls_total",
                "Polls of the CertCentral API, by result.",
            ),
            &["account", "result"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "certcentral_poll_errors_total",
                "Failed polls, by kind of failure (auth, rate_limited, api, server, timeout, transport, decode).",
            ),
            &["account", "kind"],
        )?;
        registry.register(Box::new(polls.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        Ok(PollTelemetry { polls, errors })
    }
}

/// Polls one account.
pub struct Poller {
    pub account: String,
    pub client: Client,
    pub page_size: usize,
    pub interval: Duration,
    pub telemetry: PollTelemetry,
    /// Skipped rows already logged, so that each is logged once.
    logged_skips: HashSet<(String, String)>,
}

impl Poller {
    pub fn new(
        account: String,
        client: Client,
        page_size: usize,
        interval: Duration,
        telemetry: PollTelemetry,
    ) -> Poller {
        Poller {
            account,
            client,
            page_size,
            interval,
            telemetry,
            logged_skips: HashSet::new(),
        }
    }

    /// Polls now, then every interval, forever (the task is aborted at
    /// shutdown). Polls run one after another, so they never overlap.
    pub async fn run(mut self, board: Arc<Board>) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.poll(&board).await;
        }
    }

    /// One poll, published on the board whatever its outcome.
    pub async fn poll(&mut self, board: &Board) {
        let started = Instant::now();
        let result = self.read_fleet().await;
        let duration = started.elapsed();
        let ended_at = Utc::now();
        let previous = board.state(&self.account);
        let mut state = previous.as_deref().cloned().unwrap_or(AccountState {
            account: self.account.clone(),
            poll_interval: self.interval,
            fleet: None,
            last_success: None,
            last_poll: None,
        });
        let failure = match result {
            Ok(fleet) => {
                tracing::info!(
                    account = %self.account,
                    orders = fleet.orders.len(),
                    skipped_rows = fleet.skipped_rows,
                    duration_ms = duration.as_millis() as u64,
                    "poll succeeded"
                );
                state.fleet = Some(Arc::new(fleet));
                state.last_success = Some(ended_at);
                self.telemetry
                    .polls
                    .with_label_values(&[&self.account, "success"])
                    .inc();
                None
            }
            Err(err) => {
                let kind = err.kind();
                tracing::error!(
                    account = %self.account,
                    kind,
                    error = %err,
                    "poll failed; still serving the last good data"
                );
                self.telemetry
                    .polls
                    .with_label_values(&[&self.account, "failure"])
                    .inc();
                self.telemetry
                    .errors
                    .with_label_values(&[&self.account, kind])
                    .inc();
                Some(PollFailure {
                    kind,
                    message: err.to_string(),
                })
            }
        };
        state.last_poll = Some(PollOutcome {
            ended_at,
            duration,
            failure,
        });
        board.publish(state);
    }

    /// Reads every page of the report, in order, and builds the fleet. Any
    /// failure fails the whole read: a half-read report is never a fleet.
    async fn read_fleet(&mut self) -> Result<Fleet, PollError> {
        let mut interner = Interner::default();
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        let mut skipped = Vec::new();
        let mut offset = 0;
        loop {
            let body = self.client.report_page(self.page_size, offset).await?;
            let page = report::parse_page(&body, &mut interner)
                .map_err(|source| PollError::Report { offset, source })?;
            drop(body);
            let new_orders = page.rows.iter().filter(|r| seen.insert(r.order_id)).count();
            if page.records > 0 && new_orders == 0 && page.skipped.is_empty() {
                return Err(PollError::PagingStuck { offset });
            }
            rows.extend(page.rows);
            skipped.extend(page.skipped);
            if page.records < self.page_size {
                break;
            }
            offset += self.page_size;
        }
        self.log_skipped_once(&skipped);
        Ok(Fleet::from_report(rows, skipped.len(), Utc::now()))
    }

    fn log_skipped_once(&mut self, skipped: &[SkippedRow]) {
        let current: HashSet<(String, String)> = skipped
            .iter()
            .map(|s| (s.order_id.clone(), s.reason.clone()))
            .collect();
        for (order_id, reason) in &current {
            if !self
                .logged_skips
                .contains(&(order_id.clone(), reason.clone()))
            {
                tracing::warn!(
                    account = %self.account,
                    order_id = %order_id,
                    reason = %reason,
                    "skipping a report row that cannot be understood"
                );
            }
        }
        self.logged_skips = current;
    }
}
