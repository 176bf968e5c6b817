//! Reading order details and reissue lists: the plan's reads, within the
//! poll's request budget and time box, each answer kept (in memory and in
//! the store's journal) the moment it arrives.
//!
//! Budget is taken by the unit: an order's details reserve a second request
//! for its reissue list, given back when the details show none is needed,
//! so the budget never ends between an order's details and its list. A list
//! that still could not be read (the time box ended, or it failed) is due
//! ahead of routine work at the next poll.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::plan::{self, Planned, Work};
use super::{PollError, Poller};
use crate::board::Board;
use crate::certcentral::wire::{OrderInfo, ReissueList};
use crate::certcentral::{ApiError, ErrorKind};
use crate::fleet::{self, OrderDetails, Reissues};

/// Consecutive detail failures (after retries) that end the details step.
const MAX_CONSECUTIVE_DETAIL_FAILURES: usize = 5;
/// How often a long details step publishes what it has learnt, so that a
/// reissue read early in a long first poll corrects its order's expiry at
/// once, not at the end of the poll: a thirtieth of the poll interval,
/// 2.5 to 30 s (each publish renders the whole exposition; the report's own early
/// publish comes first).
fn publish_every(interval: Duration) -> Duration {
    (interval / 30).clamp(Duration::from_millis(2500), Duration::from_secs(30))
}

/// One request of the details step.
#[derive(Debug, Clone, Copy)]
enum Read {
    Details(u64),
    Reissues(u64),
}

/// What the details step read.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct DetailsRead {
    pub details: usize,
    pub reissues: usize,
    /// Validation list pages read before the details (list pages, like
    /// the report's: outside the detail budget, within the rate limit).
    pub validations: usize,
}

impl Poller {
    /// Reads what the plan asks for, most urgent first, until the budget is
    /// spent, the plan is done or `stop_at` comes (requests in flight then
    /// still finish). Failures for one order are counted and logged once;
    /// a rejected key, an exhausted rate limit or a run of failures stops
    /// the step early (`Err`), keeping everything read before.
    pub(super) async fn read_details(
        &mut self,
        board: &Board,
        report_read_at: DateTime<Utc>,
        stop_at: Instant,
        read: &mut DetailsRead,
    ) -> Result<(), PollError> {
        let Some(fleet) = self.fleet.clone() else {
            return Ok(());
        };
        let (planned, _) = plan::plan(&fleet, &self.details, &self.ages(), Utc::now());
        let mut queue: VecDeque<Planned> = planned.into();
        // Reissue lists of details just read: their request is reserved.
        let mut lists: VecDeque<u64> = VecDeque::new();
        let budget = self.settings.detail_budget;
        let mut committed = 0;
        let concurrency = self.settings.concurrency.max(1);
        let mut in_flight = FuturesUnordered::new();
        let mut consecutive_failures = 0;
        let mut stopped: Option<PollError> = None;
        let mut published = Instant::now();
        let publish_every = publish_every(self.settings.interval);
        loop {
            while stopped.is_none() && in_flight.len() < concurrency && Instant::now() < stop_at {
                let next = if let Some(id) = lists.pop_front() {
                    Read::Reissues(id)
                } else {
                    let Some(planned) = queue.front().copied() else {
                        break;
                    };
                    let cost = match planned.work {
                        Work::Details => 2,
                        Work::Reissues => 1,
                    };
                    if committed + cost > budget {
                        break;
                    }
                    committed += cost;
                    queue.pop_front();
                    match planned.work {
                        Work::Details => Read::Details(planned.order_id),
                        Work::Reissues => Read::Reissues(planned.order_id),
                    }
                };
                let client = self.client.clone();
                in_flight.push(async move {
                    match next {
                        Read::Details(id) => {
                            Answer::Details(id, client.order_info(id).await.map(Box::new))
                        }
                        Read::Reissues(id) => Answer::Reissues(id, client.reissues(id).await),
                    }
                });
            }
            let Some(answer) = in_flight.next().await else {
                break;
            };
            match answer {
                Answer::Details(id, Ok(info)) => {
                    consecutive_failures = 0;
                    let Some(order) = fleet.order(id) else {
                        committed -= 1;
                        continue;
                    };
                    let mut details = OrderDetails::from_wire(
                        &info,
                        fleet::fingerprint(&order.report),
                        Utc::now(),
                    );
                    if details.wants_reissues() {
                        // Until the new list is read, the last one known.
                        details.reissues = self.details.get(&id).and_then(|d| d.reissues.clone());
                    }
                    read.details += 1;
                    if plan::reissues_due(&details) {
                        lists.push_back(id);
                    } else {
                        committed -= 1;
                    }
                    self.keep(id, Arc::new(details));
                }
                Answer::Reissues(id, Ok(list)) => {
                    consecutive_failures = 0;
                    let Some(current) = self.details.get(&id) else {
                        continue;
                    };
                    let mut details = OrderDetails::clone(current);
                    details.reissues = Some(Reissues::from_wire(&list, Utc::now()));
                    read.reissues += 1;
                    self.keep(id, Arc::new(details));
                }
                Answer::Details(id, Err(err)) => {
                    committed -= 1; // no list follows
                    stopped = stopped.or(self.detail_failure(id, err, &mut consecutive_failures));
                }
                Answer::Reissues(id, Err(err)) => {
                    stopped = stopped.or(self.detail_failure(id, err, &mut consecutive_failures));
                }
            }
            if self.fleet_outdated && published.elapsed() >= publish_every {
                self.rebuild_fleet();
                self.plan_progress();
                board.publish(self.progress_state(board, report_read_at));
                published = Instant::now();
            }
        }
        stopped.map_or(Ok(()), Err)
    }

    /// Keeps one order's details as just read: in memory for the next
    /// fleet, and in the store's journal for the next start.
    fn keep(&mut self, order_id: u64, details: Arc<OrderDetails>) {
        if let Some(store) = &self.store
            && let Err(err) = store.append(order_id, Some(&details))
            && !std::mem::replace(&mut self.journal_failing, true)
        {
            tracing::warn!(account = %self.account, error = %err, "cannot write the state store's journal; details are kept in memory");
        }
        self.details.insert(order_id, details);
        self.fleet_outdated = true;
        self.store_outdated = true;
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
            // The poller's own kinds: no request fails with them.
            ErrorKind::Deadline | ErrorKind::Panic => {}
        }
        if err.status() == Some(404) {
            // The order left between the report and this request.
            if self.details.remove(&order_id).is_some() {
                self.fleet_outdated = true;
                self.store_outdated = true;
                if let Some(store) = &self.store {
                    let _ = store.append(order_id, None);
                }
            }
        } else if self.logged_detail_errors.insert(order_id) {
            tracing::warn!(account = %self.account, order_id, error = %err, "cannot read the details of an order; will try again");
        }
        None
    }
}

/// An answer of the details step, for one order.
enum Answer {
    Details(u64, Result<Box<OrderInfo>, ApiError>),
    Reissues(u64, Result<ReissueList, ApiError>),
}
