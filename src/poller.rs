//! The poller: reads an account on a schedule and publishes what it read on
//! the [`Board`]. Each poll reads, in this order,
//!
//! 1. every page of the order report: the expiry data, published as a new
//!    fleet on its own if the steps below take a while, so that they never
//!    delay it (a quick poll is published once, at its end);
//! 2. the subaccount order listing;
//! 3. order details (and reissue lists) for the orders that need them: new
//!    or changed since last read, waiting on a request, or older than the
//!    refresh age, within a per-poll request budget.
//!
//! Polls of one account never overlap. A failed step keeps the last good
//! data: a report that fails part-way publishes no fleet at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::watch;

use crate::certcentral::client::Answer;
use crate::certcentral::report::{
    self, Interner, ParseContext, ReportError, ReportRow, SkippedRow,
};
use crate::certcentral::wire::SubaccountOrderList;
use crate::certcentral::{ApiError, Client, ErrorKind};
use crate::fleet::{self, Fleet, OrderDetails, Reissues, SubaccountOrderRecord, Subaccounts};
use crate::store::Store;

/// What one account's latest polls produced, as the rest of the exporter
/// sees it. Replaced whole, never changed in place.
#[derive(Debug, Clone)]
pub struct AccountState {
    pub account: String,
    pub poll_interval: Duration,
    /// The fleet of the latest successful report read.
    pub fleet: Option<Arc<Fleet>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_poll: Option<PollOutcome>,
    /// Orders whose details are due but did not fit in the last poll's
    /// request budget.
    pub details_backlog: usize,
}

impl AccountState {
    fn new(account: String, poll_interval: Duration) -> AccountState {
        AccountState {
            account,
            poll_interval,
            fleet: None,
            last_success: None,
            last_poll: None,
            details_backlog: 0,
        }
    }
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

/// Why a poll failed.
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
    #[error("{endpoint} paging does not advance at offset {offset}")]
    PagingStuck {
        endpoint: &'static str,
        offset: usize,
    },
    #[error("order details stopped after {failures} failures in a row; last: {last}")]
    DetailsUnreachable { failures: usize, last: ApiError },
    #[error("the poll ran past its {0:?} deadline and was cancelled")]
    Deadline(Duration),
}

impl PollError {
    /// The `kind` label of `certcentral_poll_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            PollError::Api(err) | PollError::DetailsUnreachable { last: err, .. } => {
                err.kind().as_str()
            }
            PollError::Report { .. } | PollError::PagingStuck { .. } => "decode",
            PollError::Deadline(_) => "deadline",
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
            .map(|(account, interval)| {
                (
                    account.clone(),
                    Arc::new(AccountState::new(account, interval)),
                )
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
    detail_errors: IntCounterVec,
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
        let detail_errors = IntCounterVec::new(
            Opts::new(
                "certcentral_order_detail_errors_total",
                "Order detail or reissue requests that failed for one order (the poll goes on), by endpoint and kind.",
            ),
            &["account", "endpoint", "kind"],
        )?;
        for collector in [&polls, &errors, &detail_errors] {
            registry.register(Box::new(collector.clone()))?;
        }
        Ok(PollTelemetry {
            polls,
            errors,
            detail_errors,
        })
    }
}

/// How an account is polled.
#[derive(Debug, Clone)]
pub struct PollSettings {
    pub interval: Duration,
    /// Orders per report page.
    pub page_size: usize,
    /// Detail and reissue requests allowed in one poll.
    pub detail_budget: usize,
    /// Details older than this are read again (spread over polls).
    pub detail_max_age: chrono::Duration,
    /// Orders waiting on a request are read again after this long.
    pub waiting_max_age: chrono::Duration,
    /// Expired orders keep being read for details this long after expiry.
    pub expired_retention: chrono::Duration,
    /// Detail requests in flight at once.
    pub concurrency: usize,
    /// A poll still running after this is cancelled.
    pub deadline: Duration,
}

/// Order statuses whose orders wait on someone; their details are read
/// again after `waiting_max_age` (within the budget) to follow their
/// requests.
const WAITING_ORDER_STATUSES: [&str; 4] = ["pending", "needs_approval", "submitted", "processing"];
/// Order statuses whose details are never worth a request.
const SETTLED_STATUSES: [&str; 3] = ["canceled", "rejected", "revoked"];
/// Every `kind` of failed poll.
const POLL_ERROR_KINDS: [&str; 9] = [
    "auth",
    "rate_limited",
    "api",
    "server",
    "timeout",
    "transport",
    "decode",
    "deadline",
    "panic",
];
/// How long the steps after the report may take before the report's fleet
/// is published on its own: long enough for a quick poll to be rendered
/// once, short enough that slow detail reads never hold back expiry data.
const PUBLISH_REPORT_AFTER: Duration = Duration::from_secs(2);
/// Consecutive detail failures (after retries) that end the details step.
const MAX_CONSECUTIVE_DETAIL_FAILURES: usize = 5;
/// Subaccount orders per page (the endpoint's maximum).
const SUBACCOUNT_PAGE_SIZE: usize = 1000;

/// A page of the report or of the subaccount listing as parsed, known by
/// digests (xxh3, 128 bits) of its bytes as sent and of its text: most
/// polls of a large account find most pages unchanged, and a digest costs a
/// fraction of an inflate and a parse.
struct KnownPage<T> {
    wire_digest: u128,
    text_digest: u128,
    parsed: Arc<T>,
}

impl<T> KnownPage<T> {
    /// `answer` parsed, or the parse of `known` (the same page in the read
    /// before) if the answer's bytes, as sent or inflated, are the same.
    fn read<E: From<ApiError>>(
        answer: &Answer,
        known: Option<&KnownPage<T>>,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<KnownPage<T>, E> {
        let wire_digest = answer.wire_digest();
        if let Some(known) = known.filter(|k| k.wire_digest == wire_digest) {
            return Ok(KnownPage {
                wire_digest,
                text_digest: known.text_digest,
                parsed: known.parsed.clone(),
            });
        }
        // Another compressor (or level) may send the same text otherwise.
        let text = answer.text()?;
        let text_digest = xxhash_rust::xxh3::xxh3_128(&text);
        let parsed = match known.filter(|k| k.text_digest == text_digest) {
            Some(known) => known.parsed.clone(),
            None => Arc::new(parse(&text)?),
        };
        Ok(KnownPage {
            wire_digest,
            text_digest,
            parsed,
        })
    }

    /// Whether this page was taken from `other` rather than parsed again.
    fn shares_parse(&self, other: &KnownPage<T>) -> bool {
        Arc::ptr_eq(&self.parsed, &other.parsed)
    }
}

/// What a report read found.
enum ReportRead {
    /// Every page as in the previous read: the fleet built from it stands.
    Unchanged,
    Changed(ReportRows),
}

/// The rows of a report read.
#[derive(Default)]
struct ReportRows {
    rows: Vec<Arc<ReportRow>>,
    skipped: Vec<SkippedRow>,
    /// Order ids on the pages added so far.
    seen: HashSet<u64>,
}

impl ReportRows {
    /// Adds the rows of the next page; says how many of its orders were not
    /// on an earlier page.
    fn add(&mut self, page: &report::ReportPage) -> usize {
        let new_orders = page
            .rows
            .iter()
            .filter(|r| self.seen.insert(r.order_id))
            .count();
        self.rows.extend(page.rows.iter().cloned());
        self.skipped.extend(page.skipped.iter().cloned());
        new_orders
    }
}

/// A page of the subaccount order listing, as the fleet uses it.
struct SubaccountPage {
    /// Orders on the page, readable or not (paging counts them all).
    count: usize,
    /// Orders in the whole listing, if the page says.
    total: Option<usize>,
    records: Vec<SubaccountOrderRecord>,
}

/// Polls one account.
pub struct Poller {
    account: String,
    client: Arc<Client>,
    settings: PollSettings,
    telemetry: PollTelemetry,
    store: Option<Store>,
    details: HashMap<u64, Arc<OrderDetails>>,
    subaccounts: Subaccounts,
    fleet: Option<Arc<Fleet>>,
    /// Details or subaccounts changed since `fleet` was built.
    fleet_outdated: bool,
    /// Orders whose details were due but did not fit in the last budget.
    details_backlog: usize,
    /// CSR keys read in earlier polls, so unchanged CSRs are not parsed again.
    parse_context: ParseContext,
    /// The pages of the latest complete report read, in order.
    report_pages: Vec<KnownPage<report::ReportPage>>,
    /// The pages of the latest complete subaccount listing, in order.
    subaccount_pages: Vec<KnownPage<SubaccountPage>>,
    /// Pages of the latest read that were the same as in the read before.
    pages_reused: usize,
    /// Report rows and orders already complained about, so that each is
    /// logged once, not at every poll.
    logged_skips: HashSet<(String, String)>,
    logged_detail_errors: HashSet<u64>,
}

impl Poller {
    /// A poller that starts from what `store` holds (if any).
    pub fn new(
        account: String,
        client: Client,
        settings: PollSettings,
        telemetry: PollTelemetry,
        store: Option<Store>,
    ) -> Poller {
        let details = match &store {
            None => HashMap::new(),
            Some(store) => match store.load() {
                Ok(details) => {
                    tracing::info!(
                        account = %account,
                        path = %store.path().display(),
                        orders = details.len(),
                        "loaded the state store"
                    );
                    details
                }
                Err(err) => {
                    tracing::warn!(account = %account, error = %err, "cannot load the state store; starting afresh");
                    HashMap::new()
                }
            },
        };
        // Known series exist from the start at 0, so that increase() sees
        // the first failure.
        for result in ["success", "failure"] {
            telemetry.polls.with_label_values(&[&account, result]);
        }
        for kind in POLL_ERROR_KINDS {
            telemetry.errors.with_label_values(&[&account, kind]);
        }
        Poller {
            account,
            client: Arc::new(client),
            settings,
            telemetry,
            store,
            details,
            subaccounts: Subaccounts::Unknown,
            fleet: None,
            fleet_outdated: false,
            details_backlog: 0,
            parse_context: ParseContext::default(),
            report_pages: Vec::new(),
            subaccount_pages: Vec::new(),
            pages_reused: 0,
            logged_skips: HashSet::new(),
            logged_detail_errors: HashSet::new(),
        }
    }

    /// Polls now, then every interval, until the task is aborted. Polls run
    /// one after another, so they never overlap. A poll that panics (a bug:
    /// no input should make one) is a failed poll, not a dead poller.
    pub async fn run(mut self, board: Arc<Board>) {
        let mut ticks = tokio::time::interval(self.settings.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let started = Instant::now();
            let polled = std::panic::AssertUnwindSafe(self.poll(&board))
                .catch_unwind()
                .await;
            if polled.is_err() {
                self.telemetry
                    .polls
                    .with_label_values(&[&self.account, "failure"])
                    .inc();
                self.telemetry
                    .errors
                    .with_label_values(&[&self.account, "panic"])
                    .inc();
                let mut state = self.state(&board);
                state.last_poll = Some(PollOutcome {
                    ended_at: Utc::now(),
                    duration: started.elapsed(),
                    failure: Some(PollFailure {
                        kind: "panic",
                        message: "the poll panicked (a bug: please report it with the log)"
                            .to_owned(),
                    }),
                });
                board.publish(state);
            }
        }
    }

    /// One poll, published on the board whatever its outcome.
    pub async fn poll(&mut self, board: &Board) {
        let started = Instant::now();
        let deadline = self.settings.deadline;
        let result = match tokio::time::timeout(deadline, self.poll_steps(board)).await {
            Ok(result) => result,
            Err(_) => Err(PollError::Deadline(deadline)),
        };
        let duration = started.elapsed();
        let ended_at = Utc::now();
        let mut state = self.state(board);
        let failure = match result {
            Ok(()) => {
                tracing::info!(
                    account = %self.account,
                    orders = self.fleet.as_ref().map_or(0, |f| f.orders.len()),
                    subaccount_orders = self.fleet.as_ref().map_or(0, |f| f.subaccount_orders.len()),
                    details_backlog = state.details_backlog,
                    report_pages = self.report_pages.len(),
                    report_pages_unchanged = self.pages_reused,
                    duration_ms = duration.as_millis() as u64,
                    "poll succeeded"
                );
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

    /// This account's state on the board, with the poller's latest fleet.
    fn state(&self, board: &Board) -> AccountState {
        let mut state = board
            .state(&self.account)
            .as_deref()
            .cloned()
            .unwrap_or_else(|| AccountState::new(self.account.clone(), self.settings.interval));
        state.fleet.clone_from(&self.fleet);
        state.details_backlog = self.details_backlog;
        state
    }

    async fn poll_steps(&mut self, board: &Board) -> Result<(), PollError> {
        if let ReportRead::Changed(report) = self.read_report().await? {
            self.log_skipped_once(&report.skipped);
            let fleet = Fleet::build(
                report.rows,
                &self.details,
                &self.subaccounts,
                report.skipped.len(),
                Utc::now(),
            );
            self.fleet = Some(Arc::new(fleet));
            self.fleet_outdated = false;
        }
        // The expiry data is out on its own only if the rest of the poll is
        // slow: a quick poll is published (and rendered) once, at its end.
        let report_only = self.state(board);
        let outcome = {
            let rest = self.read_subaccounts_and_details();
            tokio::pin!(rest);
            tokio::select! {
                outcome = &mut rest => outcome,
                () = tokio::time::sleep(PUBLISH_REPORT_AFTER) => {
                    board.publish(report_only);
                    rest.await
                }
            }
        };
        self.save_store().await;
        outcome
    }

    /// The steps after the report: the subaccount listing, then order
    /// details within the budget; the fleet rebuilt only if they changed it.
    async fn read_subaccounts_and_details(&mut self) -> Result<(), PollError> {
        let subaccounts = self.read_subaccounts().await.map(|listing| {
            if listing != self.subaccounts {
                self.subaccounts = listing;
                self.fleet_outdated = true;
            }
        });
        let details = self.refresh_details().await;
        self.rebuild_fleet();
        subaccounts.and(details)
    }

    /// Reads every page of the report, in order. Any failure fails the whole
    /// read: a half-read report is never a fleet. A page that comes back
    /// byte for byte as in the previous read is not parsed again, and a
    /// report that comes back whole as before leaves the fleet as it is.
    async fn read_report(&mut self) -> Result<ReportRead, PollError> {
        let page_size = self.settings.page_size;
        // Strings are interned afresh each poll, so that names no longer in
        // the report are freed.
        self.parse_context.interner = Interner::default();
        let mut pages: Vec<KnownPage<report::ReportPage>> = Vec::new();
        // Rows are gathered from the first page that differs from the
        // previous read (or all of them, without a fleet to keep).
        let mut changed: Option<ReportRows> = None;
        let mut offset = 0;
        loop {
            let answer = self.client.report_page(page_size, offset).await?;
            let known = KnownPage::read(&answer, self.report_pages.get(pages.len()), |text| {
                report::parse_page(text, &mut self.parse_context)
                    .map_err(|source| PollError::Report { offset, source })
            })?;
            drop(answer);
            let page = &known.parsed;
            let as_before = changed.is_none()
                && self.fleet.is_some()
                && self
                    .report_pages
                    .get(pages.len())
                    .is_some_and(|old| known.shares_parse(old));
            if !as_before {
                let rows = changed.get_or_insert_with(|| {
                    let mut rows = ReportRows::default();
                    for earlier in &pages {
                        rows.add(&earlier.parsed);
                    }
                    rows
                });
                let new_orders = rows.add(page);
                if page.records > 0 && new_orders == 0 && page.skipped.is_empty() {
                    return Err(PollError::PagingStuck {
                        endpoint: "report",
                        offset,
                    });
                }
            }
            let last = page.records < page_size;
            pages.push(known);
            if last {
                self.pages_reused = pages
                    .iter()
                    .zip(&self.report_pages)
                    .filter(|(new, old)| new.shares_parse(old))
                    .count();
                self.report_pages = pages;
                let Some(rows) = changed else {
                    return Ok(ReportRead::Unchanged);
                };
                self.parse_context
                    .csr_keys
                    .retain(|id| rows.seen.contains(&id));
                return Ok(ReportRead::Changed(rows));
            }
            offset += page_size;
        }
    }

    /// Reads the subaccount order listing. A key that may not list it (or an
    /// account without subaccounts) is normal: said once, then quiet.
    async fn read_subaccounts(&mut self) -> Result<Subaccounts, PollError> {
        let mut pages: Vec<KnownPage<SubaccountPage>> = Vec::new();
        let mut records: Vec<SubaccountOrderRecord> = Vec::new();
        let mut interner = Interner::default();
        let mut seen = HashSet::new();
        let mut offset = 0;
        loop {
            let answer = match self
                .client
                .subaccount_orders(SUBACCOUNT_PAGE_SIZE, offset)
                .await
            {
                Ok(answer) => answer,
                Err(err) if offset == 0 && matches!(err.status(), Some(401 | 403 | 404)) => {
                    if !matches!(self.subaccounts, Subaccounts::Unavailable) {
                        tracing::info!(
                            account = %self.account,
                            reason = %err,
                            "no subaccount orders for this key; not asking again until restart"
                        );
                    }
                    self.subaccount_pages.clear();
                    return Ok(Subaccounts::Unavailable);
                }
                Err(err) => return Err(err.into()),
            };
            let known = KnownPage::read(
                &answer,
                self.subaccount_pages.get(pages.len()),
                |text| -> Result<_, ApiError> {
                    let list: SubaccountOrderList = self.client.decode(answer.endpoint(), text)?;
                    Ok(SubaccountPage {
                        count: list.orders.len(),
                        total: list.page.and_then(|p| p.total).map(|t| t as usize),
                        records: list
                            .orders
                            .iter()
                            .filter_map(|o| {
                                SubaccountOrderRecord::from_wire(o, &mut |s| interner.intern(s))
                            })
                            .collect(),
                    })
                },
            )?;
            let page = &known.parsed;
            let mut new_orders = 0;
            for record in &page.records {
                if seen.insert(record.order_id) {
                    new_orders += 1;
                    records.push(record.clone());
                }
            }
            offset += page.count;
            let done = page.count == 0
                || page
                    .total
                    .map_or(page.count < SUBACCOUNT_PAGE_SIZE, |total| offset >= total);
            pages.push(known);
            if done {
                self.subaccount_pages = pages;
                return Ok(Subaccounts::Listed(records));
            }
            if new_orders == 0 {
                return Err(PollError::PagingStuck {
                    endpoint: "subaccount_orders",
                    offset,
                });
            }
        }
    }

    /// Whether an order's details are worth reading at all.
    fn wants_details(&self, order: &fleet::Order, now: DateTime<Utc>) -> bool {
        let status = order.status();
        if SETTLED_STATUSES.contains(&status) {
            return false;
        }
        status != "expired"
            || order.expiry().is_some_and(|e| {
                e.checked_add_signed(self.settings.expired_retention)
                    .is_none_or(|end| end > now)
            })
    }

    /// The orders whose details should be read now, most urgent first:
    /// new or changed, then waiting on a request, then the stalest.
    fn detail_plan(&self, fleet: &Fleet, now: DateTime<Utc>) -> Vec<u64> {
        let mut changed = Vec::new();
        let mut waiting = Vec::new();
        let mut stale = Vec::new();
        for order in fleet.orders.iter().filter(|o| self.wants_details(o, now)) {
            let id = order.id();
            match self.details.get(&id) {
                None => changed.push(id),
                Some(d) if d.fingerprint != fleet::fingerprint(&order.report) => changed.push(id),
                Some(d)
                    if (WAITING_ORDER_STATUSES.contains(&order.status())
                        || d.waiting_requests().next().is_some())
                        && now - d.fetched_at > self.settings.waiting_max_age =>
                {
                    waiting.push(id)
                }
                Some(d) if now - d.fetched_at > self.refresh_age(id) => {
                    stale.push((d.fetched_at, id))
                }
                Some(_) => {}
            }
        }
        stale.sort_unstable();
        changed
            .into_iter()
            .chain(waiting)
            .chain(stale.into_iter().map(|(_, id)| id))
            .collect()
    }

    /// The refresh age of one order, spread between 75% and 100% of the
    /// configured age so that orders read together do not all fall due in
    /// the same poll.
    fn refresh_age(&self, order_id: u64) -> chrono::Duration {
        let spread = (order_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as i32; // 0..1024
        self.settings.detail_max_age * (3072 + spread) / 4096
    }

    /// Reads the details (and reissue lists) the plan asks for, within the
    /// budget. Failures for one order are counted and logged once; only a
    /// rejected key, an exhausted rate limit or a run of failures stops the
    /// step (and fails the poll).
    async fn refresh_details(&mut self) -> Result<(), PollError> {
        let Some(fleet) = self.fleet.clone() else {
            return Ok(());
        };
        let now = Utc::now();
        let plan = self.detail_plan(&fleet, now);
        let budget = self.settings.detail_budget;
        let backlog = plan.len().saturating_sub(budget);
        let plan: Vec<&fleet::Order> = plan
            .iter()
            .take(budget)
            .filter_map(|&id| fleet.order(id))
            .collect();
        let mut spent = 0;
        let mut outcome = Ok(());
        let mut consecutive_failures = 0;

        let mut fetched: Vec<(u64, OrderDetails)> = Vec::new();
        let ids: Vec<u64> = plan.iter().map(|o| o.id()).collect();
        let shared_client = self.client.clone();
        let mut requests = futures_util::stream::iter(ids.into_iter().map(|id| {
            let client = shared_client.clone();
            async move { (id, client.order_info(id).await) }
        }))
        .buffer_unordered(self.settings.concurrency.max(1));
        while let Some((id, result)) = requests.next().await {
            spent += 1;
            match (result, fleet.order(id)) {
                (Ok(info), Some(order)) => {
                    consecutive_failures = 0;
                    let details = OrderDetails::from_wire(
                        &info,
                        fleet::fingerprint(&order.report),
                        Utc::now(),
                    );
                    fetched.push((id, details));
                }
                (Ok(_), None) => {}
                (Err(err), _) => {
                    if let Some(stop) = self.detail_failure(id, err, &mut consecutive_failures) {
                        outcome = Err(stop);
                        break;
                    }
                }
            }
        }
        drop(requests);

        // Reissue lists for the orders that have reissues, while budget lasts.
        let mut wanting: Vec<usize> = (0..fetched.len())
            .filter(|&i| fetched[i].1.wants_reissues())
            .collect();
        let affordable = budget.saturating_sub(spent);
        if wanting.len() > affordable || outcome.is_err() {
            let keep = if outcome.is_err() { 0 } else { affordable };
            for &i in &wanting[keep..] {
                // Keep the previous list until there is budget for a new one.
                let (id, details) = &mut fetched[i];
                details.reissues = self.details.get(id).and_then(|d| d.reissues.clone());
            }
            wanting.truncate(keep);
        }
        let ids: Vec<(usize, u64)> = wanting.iter().map(|&i| (i, fetched[i].0)).collect();
        let mut requests = futures_util::stream::iter(ids.into_iter().map(|(i, id)| {
            let client = shared_client.clone();
            async move { (i, id, client.reissues(id).await) }
        }))
        .buffer_unordered(self.settings.concurrency.max(1));
        while let Some((i, id, result)) = requests.next().await {
            match result {
                Ok(list) => {
                    consecutive_failures = 0;
                    fetched[i].1.reissues = Some(Reissues::from_wire(&list));
                }
                Err(err) => {
                    fetched[i].1.reissues = self.details.get(&id).and_then(|d| d.reissues.clone());
                    if let Some(stop) = self.detail_failure(id, err, &mut consecutive_failures) {
                        outcome = Err(stop);
                        break;
                    }
                }
            }
        }
        drop(requests);

        self.fleet_outdated |= !fetched.is_empty();
        for (id, details) in fetched {
            self.details.insert(id, Arc::new(details));
        }
        self.details_backlog = backlog;
        outcome
    }

    /// Handles one failed detail or reissue request: `Some` when the whole
    /// step should stop.
    fn detail_failure(
        &mut self,
        order_id: u64,
        err: ApiError,
        consecutive: &mut usize,
    ) -> Option<PollError> {
        let kind = err.kind();
        let endpoint = match &err {
            ApiError::KeyRejected { endpoint, .. }
            | ApiError::RateLimited { endpoint, .. }
            | ApiError::Status { endpoint, .. }
            | ApiError::Timeout { endpoint, .. }
            | ApiError::Transport { endpoint, .. }
            | ApiError::BodyTooLarge { endpoint, .. }
            | ApiError::Decode { endpoint, .. } => *endpoint,
        };
        self.telemetry
            .detail_errors
            .with_label_values(&[&self.account, endpoint.as_str(), kind.as_str()])
            .inc();
        match kind {
            ErrorKind::Auth | ErrorKind::RateLimited => return Some(PollError::Api(err)),
            ErrorKind::Server | ErrorKind::Timeout | ErrorKind::Transport => {
                *consecutive += 1;
                if *consecutive >= MAX_CONSECUTIVE_DETAIL_FAILURES {
                    return Some(PollError::DetailsUnreachable {
                        failures: *consecutive,
                        last: err,
                    });
                }
            }
            ErrorKind::Api | ErrorKind::Decode => {}
        }
        if err.status() == Some(404) {
            // The order left between the report and this request.
            self.fleet_outdated |= self.details.remove(&order_id).is_some();
        } else if self.logged_detail_errors.insert(order_id) {
            tracing::warn!(account = %self.account, order_id, error = %err, "cannot read the details of an order; will try again");
        }
        None
    }

    /// Forgets details of orders that left the report, and rebuilds the
    /// fleet if the details or subaccounts just read changed it.
    fn rebuild_fleet(&mut self) {
        let Some(fleet) = &self.fleet else { return };
        self.details.retain(|&id, _| fleet.order(id).is_some());
        self.logged_detail_errors
            .retain(|&id| fleet.order(id).is_some());
        if !std::mem::take(&mut self.fleet_outdated) {
            return;
        }
        let rebuilt = Fleet::build(
            fleet.orders.iter().map(|o| o.report.clone()),
            &self.details,
            &self.subaccounts,
            fleet.skipped_rows,
            fleet.read_at,
        );
        self.fleet = Some(Arc::new(rebuilt));
    }

    async fn save_store(&self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let details = self.details.clone();
        match tokio::task::spawn_blocking(move || store.save(&details)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(account = %self.account, error = %err, "cannot save the state store")
            }
            Err(err) => {
                tracing::warn!(account = %self.account, error = %err, "saving the state store failed")
            }
        }
    }

    fn log_skipped_once(&mut self, skipped: &[SkippedRow]) {
        let current: HashSet<(String, String)> = skipped
            .iter()
            .map(|s| (s.order_id.clone(), s.reason.clone()))
            .collect();
        for (order_id, reason) in current.difference(&self.logged_skips) {
            tracing::warn!(
                account = %self.account,
                order_id = %order_id,
                reason = %reason,
                "skipping a report row that cannot be understood"
            );
        }
        self.logged_skips = current;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::certcentral::Endpoint;

    const TEXT: &[u8] = b"order_id,status\n1,issued\n";

    fn gzipped(text: &[u8], level: u32) -> Vec<u8> {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    /// Reads `answer` after `known`, counting parses.
    fn read(
        answer: &Answer,
        known: Option<&KnownPage<Vec<u8>>>,
        parses: &mut usize,
    ) -> Result<KnownPage<Vec<u8>>, ApiError> {
        KnownPage::read(answer, known, |text| {
            *parses += 1;
            Ok(text.to_vec())
        })
    }

    #[test]
    fn the_same_bytes_as_sent_are_neither_inflated_nor_parsed() {
        let mut parses = 0;
        let sent = gzipped(TEXT, 1);
        let first = read(
            &Answer::sent(Endpoint::Report, &sent, true),
            None,
            &mut parses,
        )
        .unwrap();
        assert_eq!((parses, &first.parsed[..]), (1, TEXT));
        // Known by the digest of its bytes as sent: a page that could not
        // be inflated proves that it was not.
        let same = KnownPage {
            wire_digest: xxhash_rust::xxh3::xxh3_128(b"not gzip"),
            text_digest: first.text_digest,
            parsed: first.parsed.clone(),
        };
        let again = read(
            &Answer::sent(Endpoint::Report, b"not gzip", true),
            Some(&same),
            &mut parses,
        );
        assert!(again.unwrap().shares_parse(&first));
        assert_eq!(parses, 1);
    }

    #[test]
    fn the_same_text_sent_otherwise_is_not_parsed_again() {
        let mut parses = 0;
        let first = read(
            &Answer::sent(Endpoint::Report, &gzipped(TEXT, 1), true),
            None,
            &mut parses,
        )
        .unwrap();
        let recompressed = Answer::sent(Endpoint::Report, &gzipped(TEXT, 9), true);
        let plain = Answer::sent(Endpoint::Report, TEXT, false);
        for answer in [recompressed, plain] {
            assert_ne!(answer.wire_digest(), first.wire_digest);
            let again = read(&answer, Some(&first), &mut parses).unwrap();
            assert!(again.shares_parse(&first));
        }
        assert_eq!(parses, 1);
    }

    #[test]
    fn a_changed_page_is_parsed_and_a_damaged_one_is_an_error() {
        let mut parses = 0;
        let first = read(
            &Answer::sent(Endpoint::Report, TEXT, false),
            None,
            &mut parses,
        )
        .unwrap();
        let changed = read(
            &Answer::sent(Endpoint::Report, b"order_id,status\n1,expired\n", false),
            Some(&first),
            &mut parses,
        )
        .unwrap();
        assert!(!changed.shares_parse(&first));
        assert_eq!(&changed.parsed[..], b"order_id,status\n1,expired\n");
        let damaged = read(
            &Answer::sent(Endpoint::Report, b"\x1f\x8b junk", true),
            Some(&first),
            &mut parses,
        );
        assert!(damaged.is_err());
        assert_eq!(parses, 2);
    }
}
