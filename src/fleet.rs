//! The fleet: one immutable picture of an account's orders, built from one
//! complete read of the API. The server only ever sees whole fleets; a poll
//! that fails part-way builds none.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::certcentral::report::ReportRow;

/// An order of the fleet, with what the exporter derived about it.
#[derive(Debug, Clone)]
pub struct Order {
    pub report: ReportRow,
    /// A newer order renews this one: the report says so (`is_renewed`), or
    /// another order in the report names it as its `renewed_order_id`.
    pub renewed: bool,
}

impl Order {
    pub fn id(&self) -> u64 {
        self.report.order_id
    }

    /// When the active certificate expires: 00:00:00 UTC of its `valid_till`
    /// day, so that alerts can only come early, never late.
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.report.valid_till.map(start_of_day)
    }

    /// Whole days until expiry, `floor((expiry - now) / 86400)`, negative
    /// once expired.
    pub fn days_remaining(&self, now: DateTime<Utc>) -> Option<i64> {
        self.expiry()
            .map(|expiry| (expiry - now).num_seconds().div_euclid(86_400))
    }

    pub fn status(&self) -> &str {
        &self.report.status
    }
}

/// 00:00:00 UTC of `day`.
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// All orders of one account at one moment.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Sorted by order id, one entry per id.
    pub orders: Vec<Order>,
    /// Report rows that could not be understood and were left out.
    pub skipped_rows: usize,
    /// When the read that produced this fleet finished.
    pub read_at: DateTime<Utc>,
}

impl Fleet {
    /// Builds the fleet from every row of a complete report read. A row that
    /// appears twice (offset paging while orders are added) counts once.
    pub fn from_report(rows: Vec<ReportRow>, skipped_rows: usize, read_at: DateTime<Utc>) -> Fleet {
        let mut seen = HashSet::with_capacity(rows.len());
        let mut rows: Vec<ReportRow> = rows
            .into_iter()
            .filter(|row| seen.insert(row.order_id))
            .collect();
        rows.sort_unstable_by_key(|row| row.order_id);
        let renewed_by_newer: HashSet<u64> =
            rows.iter().filter_map(|row| row.renewed_order_id).collect();
        let orders = rows
            .into_iter()
            .map(|report| Order {
                renewed: report.is_renewed || renewed_by_newer.contains(&report.order_id),
                report,
            })
            .collect();
        Fleet {
            orders,
            skipped_rows,
            read_at,
        }
    }

    /// The order with this id.
    pub fn order(&self, id: u64) -> Option<&Order> {
        self.orders
            .binary_search_by_key(&id, Order::id)
            .ok()
            .map(|i| &self.orders[i])
    }

    /// Number of orders in each status seen.
    pub fn status_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for order in &self.orders {
            *counts.entry(order.status()).or_default() += 1;
        }
        counts
    }
}
