//! Which order details and reissue lists a poll should read, most urgent
//! first, and how much is still due.
//!
//! The unit of work is an order: its details and, where its details show
//! reissues or a multi-year plan, its reissue list. A reissue list is due
//! whenever it is missing or older than the details it belongs to, and
//! such lists come ahead of routine refreshes, so that a reissued order
//! never shows its old certificate's expiry for longer than it must.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::board::{DetailsProgress, Reason};
use crate::fleet::{self, Fleet, Order, OrderDetails};

/// The widest window of the shipped alert rules (auto-renew off within 60
/// days): an order whose report expiry falls inside it could raise an
/// alert, so its details and reissues are read before any other's.
pub(crate) const URGENT_WINDOW: Duration = Duration::days(60);

/// What a planned request reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// The order's details (followed by its reissue list if they show one).
    Details,
    /// Only the reissue list: the details are current.
    Reissues,
}

/// One planned read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    pub order_id: u64,
    pub work: Work,
    pub reason: Reason,
}

/// The ages that make details due.
#[derive(Debug, Clone)]
pub(crate) struct Ages {
    /// Details older than this are read again (spread over 75-100%).
    pub detail_max_age: Duration,
    /// Orders waiting on a request are read again after this long.
    pub waiting_max_age: Duration,
    /// Expired orders keep being read this long after expiry.
    pub expired_retention: Duration,
}

/// The order in which new orders and due reissue lists are read: those
/// inside the alert windows first, then soonest expiry (as served now)
/// first.
type Urgency = (bool, Option<DateTime<Utc>>, Reason, u64);

/// The plan of one poll: every read due now, most urgent first, and the
/// progress it stands for.
pub(crate) fn plan(
    fleet: &Fleet,
    details: &HashMap<u64, Arc<OrderDetails>>,
    ages: &Ages,
    now: DateTime<Utc>,
) -> (Vec<Planned>, DetailsProgress) {
    let mut first: Vec<(Urgency, Planned)> = Vec::new();
    let mut waiting = Vec::new();
    let mut stale = Vec::new();
    let mut progress = DetailsProgress::default();
    for order in fleet.orders.iter().filter(|o| wants_details(o, ages, now)) {
        let id = order.id();
        let current = details
            .get(&id)
            .filter(|d| d.fingerprint == fleet::fingerprint(&order.report));
        let planned = |work, reason| Planned {
            order_id: id,
            work,
            reason,
        };
        if let Some(d) = current {
            progress.oldest = Some(
                progress
                    .oldest
                    .map_or(d.fetched_at, |o| o.min(d.fetched_at)),
            );
        }
        let due = match current {
            None => Some(planned(Work::Details, Reason::New)),
            Some(d) if reissues_due(d) => Some(planned(Work::Reissues, Reason::Reissues)),
            Some(d)
                if (order.status().is_waiting() || d.waiting_requests().next().is_some())
                    && now - d.fetched_at > ages.waiting_max_age =>
            {
                waiting.push(planned(Work::Details, Reason::Waiting));
                None
            }
            Some(d) if now - d.fetched_at > refresh_age(ages.detail_max_age, id) => {
                stale.push((d.fetched_at, planned(Work::Details, Reason::Refresh)));
                None
            }
            Some(_) => None,
        };
        if let Some(due) = due {
            // The expiry served now, which is what could page.
            let expiry = order.expiry();
            let urgent =
                order.status().is_waiting() || expiry.is_some_and(|e| e <= now + URGENT_WINDOW);
            let key = (
                !urgent,
                expiry.or(Some(DateTime::<Utc>::MAX_UTC)),
                due.reason,
                id,
            );
            first.push((key, due));
        }
    }
    first.sort_unstable_by_key(|(key, _)| *key);
    stale.sort_unstable_by_key(|(at, p)| (*at, p.order_id));
    let planned: Vec<Planned> = first
        .into_iter()
        .map(|(_, p)| p)
        .chain(waiting)
        .chain(stale.into_iter().map(|(_, p)| p))
        .collect();
    for p in &planned {
        progress.due[p.reason as usize] += 1;
    }
    (planned, progress)
}

/// Whether an order's details are worth reading at all: not settled, and
/// not an order that no longer counts toward expiry (expired past the
/// retention).
fn wants_details(order: &Order, ages: &Ages, now: DateTime<Utc>) -> bool {
    let status = order.status();
    !status.is_settled()
        && (!status.counts_toward_expiry()
            || order.counts_toward_expiry(now, ages.expired_retention))
}

/// Whether the order's reissue list should be read now: its details show
/// reissues (or a plan) and the list is missing or older than them. A list
/// kept from before lists carried their own time is due too: earlier
/// versions kept a list across detail reads without reading it again.
pub(crate) fn reissues_due(details: &OrderDetails) -> bool {
    details.wants_reissues()
        && details.reissues.as_ref().is_none_or(|r| {
            r.fetched_at
                .is_none_or(|fetched| fetched < details.fetched_at)
        })
}

/// The refresh age of one order, spread between 75% and 100% of the
/// configured age so that orders read together do not all fall due in
/// the same poll.
fn refresh_age(max_age: Duration, order_id: u64) -> Duration {
    let spread = (order_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as i32; // 0..1024
    max_age * (3072 + spread) / 4096
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::fixtures::{details, row};
    use crate::fleet::{Reissues, Request, Subaccounts};
    use chrono::NaiveDate;

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    /// The urgent window covers every window of the shipped rules, read
    /// from the mixin's `_config` (`...Days: N`), approval pending aside
    /// (it is about a request's age, not an expiry): change a threshold
    /// there and this says whether the planner still reads first what
    /// could alert.
    #[test]
    fn the_urgent_window_covers_every_expiry_window_of_the_mixin() {
        let config = include_str!("../../mixin/config.libsonnet");
        let windows: Vec<(&str, i64)> = config
            .lines()
            .filter_map(|line| {
                let (name, value) = line.trim().split_once(':')?;
                let days = value.split(',').next()?.trim().parse().ok()?;
                (name.ends_with("Days") && name != "approvalPendingDays").then_some((name, days))
            })
            .collect();
        assert!(
            windows
                .iter()
                .any(|(name, _)| *name == "autoRenewDisabledDays"),
            "{windows:?}"
        );
        for (name, days) in windows {
            assert!(
                Duration::days(days) <= URGENT_WINDOW,
                "{name}: {days} days, beyond the planner's urgent window"
            );
        }
    }

    fn ages() -> Ages {
        Ages {
            detail_max_age: Duration::days(1),
            waiting_max_age: Duration::hours(1),
            expired_retention: Duration::days(30),
        }
    }

    /// An issued order expiring in `days`.
    fn order(id: u64, days: i64) -> crate::certcentral::report::ReportRow {
        let mut r = row();
        r.order_id = id;
        r.valid_till = Some(now().date_naive() + Duration::days(days));
        r
    }

    fn reissued(fetched: DateTime<Utc>, list: Option<DateTime<Utc>>) -> OrderDetails {
        OrderDetails {
            fetched_at: fetched,
            requests: vec![Request {
                kind: "reissue".into(),
                status: "approved".into(),
                date: None,
            }],
            reissues: list.map(|at| Reissues {
                fetched_at: Some(at),
                active_valid_till: NaiveDate::from_ymd_opt(2027, 6, 1),
                ..Reissues::default()
            }),
            ..details()
        }
    }

    #[test]
    fn urgent_orders_and_lists_first_soonest_expiry_first() {
        let rows = vec![
            order(1, 200),
            order(2, 5),
            order(3, 40),
            order(4, 90),
            order(5, 20),
        ];
        let mut known = HashMap::new();
        // Order 5: details current, its list older than them.
        let mut d = OrderDetails {
            fingerprint: fleet::fingerprint(&rows[4]),
            ..reissued(now(), Some(now() - Duration::hours(2)))
        };
        if let Some(list) = d.reissues.as_mut() {
            list.active_valid_till = None; // the report's date is served
        }
        known.insert(5, Arc::new(d));
        let fleet = Fleet::build(rows, &known, &Subaccounts::Unknown, 0, now());
        let (planned, progress) = plan(&fleet, &known, &ages(), now());
        let order: Vec<(u64, Work)> = planned.iter().map(|p| (p.order_id, p.work)).collect();
        assert_eq!(
            order,
            [
                (2, Work::Details),
                (5, Work::Reissues),
                (3, Work::Details),
                (4, Work::Details),
                (1, Work::Details),
            ]
        );
        assert_eq!(progress.backlog(), 5);
        assert_eq!(progress.due(Reason::New), 4);
        assert_eq!(progress.due(Reason::Reissues), 1);
    }

    #[test]
    fn a_list_is_due_when_missing_or_older_than_its_details() {
        assert!(reissues_due(&reissued(now(), None)));
        assert!(reissues_due(&reissued(
            now(),
            Some(now() - Duration::seconds(1))
        )));
        assert!(!reissues_due(&reissued(now(), Some(now()))));
        // Kept from a store written before lists had their own time.
        let mut old = reissued(now(), Some(now()));
        if let Some(list) = old.reissues.as_mut() {
            list.fetched_at = None;
        }
        assert!(reissues_due(&old));
        // No reissue and no plan: no list is wanted.
        assert!(!reissues_due(&OrderDetails {
            reissues: None,
            ..details()
        }));
    }

    #[test]
    fn settled_and_long_expired_orders_are_not_planned() {
        let mut canceled = order(1, 10);
        canceled.status = "canceled".into();
        let mut expired = order(2, -40);
        expired.status = "expired".into();
        let mut recent = order(3, -3);
        recent.status = "expired".into();
        let known = HashMap::new();
        let fleet = Fleet::build(
            vec![canceled, expired, recent],
            &known,
            &Subaccounts::Unknown,
            0,
            now(),
        );
        let (planned, _) = plan(&fleet, &known, &ages(), now());
        assert_eq!(planned.iter().map(|p| p.order_id).collect::<Vec<_>>(), [3]);
    }
}
