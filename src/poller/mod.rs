//! The poller: reads an account on a schedule and publishes what it read on
//! the [`Board`](crate::board::Board). Each poll reads
//!
//! 1. every page of the order report (`report`), several pages in flight:
//!    the expiry data, published as a new fleet on its own if the steps
//!    after it take a while, so that they never delay it (a quick poll is
//!    published once, at its end);
//! 2. beside the report, the listings that do not depend on it
//!    (`listings`): the subaccount order listing (`subaccounts`), then the
//!    account's domain and organization validations when their own
//!    refresh is due (`validations`);
//! 3. once both are in, order details and reissue lists for the orders
//!    that need them (`plan` says which, most urgent first; `details`
//!    reads them within the poll's request budget and time box, keeping
//!    each answer as it arrives).
//!
//! Pages of the report and of the subaccount listing that come back as
//! before keep their earlier parse (`memo`); the counters of every poll
//! are in `telemetry`. This module drives: the schedule, rebuilding the
//! fleet from what the steps read, publishing it, saving the store.
//!
//! A poll succeeds when it has read the whole report: that is the expiry
//! data, and `certcentral_up`. The steps after it may end early (a rate
//! limit, a struggling API, the poll's time running out) without failing
//! the poll; they keep what they read and say so in their own metrics.
//! Polls of one account never overlap. A failed report read keeps the last
//! good data: a report that fails part-way publishes no fleet at all.

mod details;
mod listings;
mod memo;
mod plan;
mod report;
mod subaccounts;
mod telemetry;
mod validations;

pub use telemetry::PollTelemetry;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use crate::board::{AccountState, Board, DetailsProgress, PollFailure, PollOutcome};
use crate::certcentral::report::{ParseContext, ReportError, ReportPage};
use crate::certcentral::{ApiError, Client, ErrorKind};
use crate::coverage::ValidationIndex;
use crate::fleet::{Fleet, OrderDetails, Subaccounts};
use crate::store::Store;
use details::DetailsRead;
use listings::{Before, Listings, ListingsRead};
use memo::KnownPage;
use report::ReportRead;

/// Why a poll, or a step of it, failed.
#[derive(Debug, thiserror::Error)]
enum PollError {
    /// A request failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A report page could not be understood.
    #[error("report page at offset {offset}: {source}")]
    Report {
        offset: usize,
        #[source]
        source: ReportError,
    },
    /// A listing's pages repeat what came before (the server ignores the
    /// offset): reading on would never end.
    #[error("{endpoint} paging does not advance at offset {offset}")]
    PagingStuck {
        endpoint: &'static str,
        offset: usize,
    },
    /// Detail requests kept failing: the API is struggling.
    #[error("order details stopped after {failures} failures in a row; last: {last}")]
    DetailsUnreachable { failures: usize, last: ApiError },
    /// A listing holds more rows than `--certcentral.max-orders`: an
    /// answer that never ends is refused before it takes the memory.
    #[error(
        "{endpoint} holds more than {limit} rows (--certcentral.max-orders); the read stopped there"
    )]
    TooManyRows {
        endpoint: &'static str,
        limit: usize,
    },
    /// The poll (or its steps after the report) ran out of time.
    #[error("the poll ran past its {0:?} deadline and was cancelled")]
    Deadline(Duration),
}

impl PollError {
    /// The `kind` label of `certcentral_poll_errors_total`.
    fn kind(&self) -> ErrorKind {
        match self {
            PollError::Api(err) | PollError::DetailsUnreachable { last: err, .. } => err.kind(),
            PollError::Report { .. }
            | PollError::PagingStuck { .. }
            | PollError::TooManyRows { .. } => ErrorKind::Decode,
            PollError::Deadline(_) => ErrorKind::Deadline,
        }
    }
}

/// A poll that read the whole report.
struct Succeeded {
    /// Steps after the report that ended early, with why.
    incomplete: Vec<(&'static str, PollError)>,
    read: DetailsRead,
    /// How long the report (the expiry data) took to read and build.
    report_took: Duration,
}

/// How an account is polled.
#[derive(Debug, Clone)]
pub struct PollSettings {
    pub interval: Duration,
    /// Orders per report page.
    pub page_size: usize,
    /// The most rows a report or subaccount listing may hold.
    pub max_orders: usize,
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
    /// A poll still running after this is cancelled. The details step
    /// sends no new request in the last tenth of it.
    pub deadline: Duration,
    /// The validations are read again after this long.
    pub validations_refresh: Duration,
}

/// How long the steps after the report may take before the report's fleet
/// is published on its own: long enough for a quick poll to be rendered
/// once, short enough that slow detail reads never hold back expiry data.
const PUBLISH_REPORT_AFTER: Duration = Duration::from_secs(2);
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
    /// Detail reads still due after the last details step.
    details_progress: DetailsProgress,
    /// A journal write failed (said once).
    journal_failing: bool,
    /// Details changed since the store's snapshot was written.
    store_outdated: bool,
    /// CSR keys read in earlier polls, so unchanged CSRs are not parsed again.
    parse_context: ParseContext,
    /// The pages of the latest complete report read, in order.
    report_pages: Vec<KnownPage<ReportPage>>,
    /// The listings read beside the report, and what they keep.
    listings: Arc<tokio::sync::Mutex<Listings>>,
    /// Pages of the latest read that were the same as in the read before.
    pages_reused: usize,
    /// Report rows and orders already complained about, so that each is
    /// logged once, not at every poll.
    logged_skips: HashSet<(String, String)>,
    logged_detail_errors: HashSet<u64>,
    /// The validations in use.
    validations: Option<Arc<ValidationIndex>>,
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
        let validations = store
            .as_ref()
            .and_then(|store| match store.load_validations() {
                Ok(snapshot) => snapshot,
                Err(err) => {
                    tracing::warn!(account = %account, error = %err, "cannot load the validations from the state store");
                    None
                }
            })
            .map(|snapshot| Arc::new(ValidationIndex::new(Arc::new(snapshot))));
        telemetry.start_account(&account);
        let client = Arc::new(client);
        let listings = Listings::new(
            account.clone(),
            client.clone(),
            settings.clone(),
            telemetry.clone(),
            store.clone(),
        );
        Poller {
            account,
            client,
            settings,
            telemetry,
            store,
            listings,
            details,
            subaccounts: Subaccounts::Unknown,
            fleet: None,
            fleet_outdated: false,
            details_progress: DetailsProgress::default(),
            journal_failing: false,
            store_outdated: false,
            parse_context: ParseContext::default(),
            report_pages: Vec::new(),
            pages_reused: 0,
            logged_skips: HashSet::new(),
            logged_detail_errors: HashSet::new(),
            validations,
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
                self.count_failure(ErrorKind::Panic);
                let mut state = self.state(&board);
                state.up = false;
                state.last_poll = Some(PollOutcome {
                    ended_at: Utc::now(),
                    duration: started.elapsed(),
                    failure: Some(PollFailure {
                        kind: ErrorKind::Panic,
                        message: "the poll panicked (a bug: please report it with the log)"
                            .to_owned(),
                    }),
                    incomplete: Vec::new(),
                });
                board.publish(state);
                self.save_store().await;
            }
        }
    }

    /// One poll, published on the board whatever its outcome. The report
    /// read decides success; the listings are read beside it; the steps
    /// after it are time-boxed to end before the deadline, and what they
    /// read is kept and saved even when the deadline cuts them short.
    pub async fn poll(&mut self, board: &Board) {
        let started = Instant::now();
        let deadline = self.settings.deadline;
        let listings = Listings::read(self.listings.clone(), self.listings_before());
        tokio::pin!(listings);
        let mut listed: Option<ListingsRead> = None;
        let report = {
            let report = self.read_report_into_fleet();
            tokio::pin!(report);
            let beside = async {
                loop {
                    tokio::select! {
                        read = &mut report => break read,
                        read = &mut listings, if listed.is_none() => listed = Some(read),
                    }
                }
            };
            match tokio::time::timeout(deadline, beside).await {
                Ok(result) => result,
                Err(_) => Err(PollError::Deadline(deadline)),
            }
        };
        if let Err(err) = report {
            self.finish(board, started, Err(err));
            return;
        }
        let report_read_at = Utc::now();
        let report_took = started.elapsed();
        // The expiry data is out on its own only if the rest of the poll is
        // slow: a quick poll is published (and rendered) once, at its end.
        let report_only = self.progress_state(board, report_read_at);
        let stop_at = started + deadline - deadline / 10;
        let mut read = DetailsRead::default();
        let incomplete = {
            let rest = self.read_listings_and_details(
                board,
                report_read_at,
                stop_at,
                &mut read,
                (listed, listings.as_mut()),
            );
            tokio::pin!(rest);
            let rest = async {
                tokio::select! {
                    outcome = &mut rest => outcome,
                    () = tokio::time::sleep(PUBLISH_REPORT_AFTER) => {
                        board.publish(report_only);
                        rest.await
                    }
                }
            };
            let remaining = deadline.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, rest).await {
                Ok(incomplete) => incomplete,
                Err(_) => vec![("details", PollError::Deadline(deadline))],
            }
        };
        self.rebuild_fleet();
        self.plan_progress();
        self.save_store().await;
        let succeeded = Succeeded {
            incomplete,
            read,
            report_took,
        };
        self.finish(board, started, Ok(succeeded));
    }

    /// Counts, logs and publishes how a poll ended.
    fn finish(&mut self, board: &Board, started: Instant, result: Result<Succeeded, PollError>) {
        let duration = started.elapsed();
        let ended_at = Utc::now();
        let mut state = self.state(board);
        let (failure, incomplete) = match result {
            Ok(Succeeded {
                incomplete,
                read,
                report_took,
            }) => {
                let incomplete: Vec<(&'static str, PollFailure)> = incomplete
                    .into_iter()
                    .map(|(step, err)| {
                        tracing::warn!(
                            account = %self.account,
                            step,
                            kind = err.kind().as_str(),
                            error = %err,
                            "the report was read, but a later step ended early; it goes on at the next poll"
                        );
                        self.telemetry
                            .incomplete
                            .with_label_values(&[&self.account, step, err.kind().as_str()])
                            .inc();
                        (
                            step,
                            PollFailure {
                                kind: err.kind(),
                                message: err.to_string(),
                            },
                        )
                    })
                    .collect();
                tracing::info!(
                    account = %self.account,
                    orders = self.fleet.as_ref().map_or(0, |f| f.orders.len()),
                    subaccount_orders = self.fleet.as_ref().map_or(0, |f| f.subaccount_orders.len()),
                    details_read = read.details,
                    reissues_read = read.reissues,
                    validation_requests = read.validations,
                    details_backlog = state.details.backlog(),
                    report_pages = self.report_pages.len(),
                    report_pages_unchanged = self.pages_reused,
                    report_ms = report_took.as_millis() as u64,
                    duration_ms = duration.as_millis() as u64,
                    "poll succeeded"
                );
                state.last_success = Some(ended_at);
                self.telemetry
                    .polls
                    .with_label_values(&[&self.account, "success"])
                    .inc();
                (None, incomplete)
            }
            Err(err) => {
                let kind = err.kind();
                let served = if self.fleet.is_some() {
                    "still serving the last good data"
                } else {
                    "no order data yet: none is served until a poll reads the report"
                };
                tracing::error!(
                    account = %self.account,
                    kind = kind.as_str(),
                    error = %err,
                    "poll failed; {served}"
                );
                self.count_failure(kind);
                let failure = PollFailure {
                    kind,
                    message: err.to_string(),
                };
                (Some(failure), Vec::new())
            }
        };
        state.up = failure.is_none();
        state.last_poll = Some(PollOutcome {
            ended_at,
            duration,
            failure,
            incomplete,
        });
        board.publish(state);
    }

    /// Counts a failed poll of this kind.
    fn count_failure(&self, kind: ErrorKind) {
        let account = self.account.as_str();
        self.telemetry
            .polls
            .with_label_values(&[account, "failure"])
            .inc();
        self.telemetry
            .errors
            .with_label_values(&[account, kind.as_str()])
            .inc();
    }

    /// This account's state on the board, with the poller's latest fleet.
    fn state(&self, board: &Board) -> AccountState {
        let mut state = board
            .state(&self.account)
            .as_deref()
            .cloned()
            .unwrap_or_else(|| AccountState::new(self.account.clone(), self.settings.interval));
        state.fleet.clone_from(&self.fleet);
        state.details = self.details_progress.clone();
        state.validations.clone_from(&self.validations);
        state
    }

    /// The state of a poll under way whose report has been read: a
    /// success so far, with the fleet as it stands: the latest success is
    /// this poll's report read until the poll ends. Readiness waits for the
    /// poll's end (`last_poll`).
    fn progress_state(&self, board: &Board, report_read_at: DateTime<Utc>) -> AccountState {
        let mut state = self.state(board);
        state.up = true;
        state.last_success = Some(report_read_at);
        state
    }

    /// Reads the report and makes it the fleet (if it changed).
    async fn read_report_into_fleet(&mut self) -> Result<(), PollError> {
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
        Ok(())
    }

    /// Where the listings start from this poll.
    fn listings_before(&self) -> Before {
        Before {
            subaccounts_unavailable: matches!(self.subaccounts, Subaccounts::Unavailable),
            validations_due: self
                .validations_due()
                .then(|| listings::subaccount_ids(&self.subaccounts)),
        }
    }

    /// The steps after the report: the listings (awaited if they are
    /// still being read beside it), then order details within the budget
    /// and until `stop_at`. Each that ends early is returned with why;
    /// what it read is kept either way.
    async fn read_listings_and_details(
        &mut self,
        board: &Board,
        report_read_at: DateTime<Utc>,
        stop_at: Instant,
        read: &mut DetailsRead,
        (listed, listings): (
            Option<ListingsRead>,
            Pin<&mut impl Future<Output = ListingsRead>>,
        ),
    ) -> Vec<(&'static str, PollError)> {
        let listed = match listed {
            Some(listed) => listed,
            None => listings.await,
        };
        let mut incomplete = Vec::new();
        read.validations += listed.validation_requests;
        match listed.subaccounts {
            Ok(listing) => {
                if listing != self.subaccounts {
                    self.subaccounts = listing;
                    self.fleet_outdated = true;
                }
            }
            Err(err) => incomplete.push(("subaccounts", err)),
        }
        match listed.validations {
            None => {}
            Some(Ok(index)) => self.validations = Some(index),
            Some(Err(err)) => incomplete.push(("validations", err)),
        }
        if let Err(err) = self
            .read_details(board, report_read_at, stop_at, read)
            .await
        {
            incomplete.push(("details", err));
        }
        incomplete
    }

    /// What is still due, from the details as they now are.
    fn plan_progress(&mut self) {
        if let Some(fleet) = &self.fleet {
            let (_, progress) = plan::plan(fleet, &self.details, &self.ages(), Utc::now());
            self.details_progress = progress;
        }
    }

    /// The ages that make details due.
    fn ages(&self) -> plan::Ages {
        plan::Ages {
            detail_max_age: self.settings.detail_max_age,
            waiting_max_age: self.settings.waiting_max_age,
            expired_retention: self.settings.expired_retention,
        }
    }

    /// Forgets details of orders that left the report, and rebuilds the
    /// fleet if the details or subaccounts just read changed it.
    fn rebuild_fleet(&mut self) {
        let Some(fleet) = &self.fleet else { return };
        let known = self.details.len();
        self.details.retain(|&id, _| fleet.order(id).is_some());
        self.store_outdated |= self.details.len() != known;
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

    /// Writes the store's snapshot if the details changed since the last
    /// one (the journal holds them until then).
    async fn save_store(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        if !std::mem::take(&mut self.store_outdated) {
            return;
        }
        let details = self.details.clone();
        let saved = tokio::task::spawn_blocking(move || store.save(&details)).await;
        let error = match saved {
            Ok(Ok(())) => {
                self.journal_failing = false;
                return;
            }
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        self.store_outdated = true;
        tracing::warn!(account = %self.account, error, "cannot save the state store; trying again after the next poll");
    }
}
