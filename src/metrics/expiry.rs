//! The expiry writer: when each order's active certificate expires and the
//! whole days left, whether anything will replace it in time, and per
//! account the certificates expiring within 7, 30 and 90 days by container
//! and product (what dashboards and alerts fall back on when per-order
//! series are cut). Issued subaccount orders have the expiry families
//! too.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::families::{
    ACTIONABLE_CERTIFICATES_EXPIRING, CERTIFICATE_DAYS_REMAINING, CERTIFICATE_EXPIRY,
    CERTIFICATES_EXPIRING, ORDER_HANDLED,
};
use super::{Family, FleetView, LabelBlock, TextWriter, per_order, unix_seconds};
use crate::fleet::days_until;

/// Windows of the `certcentral_certificates_expiring` aggregates, in days.
const EXPIRING_WITHIN_DAYS: [i64; 3] = [7, 30, 90];

/// Writes the expiry families.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    expiring_aggregates(w, view);
    by_expiry(w, view, &CERTIFICATE_EXPIRY, |expiry, _| {
        unix_seconds(expiry)
    });
    by_expiry(w, view, &CERTIFICATE_DAYS_REMAINING, |expiry, now| {
        days_until(expiry, now) as f64
    });
    // Only handled orders have a series: the alerts page `unless` it, so
    // an order without a verdict pages (early, never missing).
    per_order(w, view.rows, &ORDER_HANDLED, |row| {
        (!row.verdict.actionable).then_some(1.0)
    });
}

/// A per-order family of the certificate's expiry, report and subaccount
/// orders alike.
fn by_expiry(
    w: &mut TextWriter,
    view: &FleetView<'_>,
    family: &'static Family,
    value: fn(DateTime<Utc>, DateTime<Utc>) -> f64,
) {
    let mut samples = w.family(family);
    let report = view.rows.iter().filter(|r| r.all_series());
    for (labels, expiry) in report.map(|r| (&r.labels, r.order.expiry())).chain(
        view.subaccount_rows
            .iter()
            .filter(|r| r.series)
            .map(|r| (&r.labels, r.order.expiry())),
    ) {
        if let Some(expiry) = expiry {
            samples.sample(labels, value(expiry, view.now));
        }
    }
}

/// Counts of unexpired certificates expiring within 7, 30 and 90 days, by
/// account, container and product.
///
/// Subaccount orders count too; nothing is known of their automation, so
/// they count as actionable (an alert early rather than never).
fn expiring_aggregates(w: &mut TextWriter, view: &FleetView<'_>) {
    let now = view.now;
    // One entry per account, container and product, a count per window
    // (a map of every order's three windows was 5% of a render).
    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut all: HashMap<Key<'_>, [(usize, usize); EXPIRING_WITHIN_DAYS.len()]> = HashMap::new();
    let orders = view
        .rows
        .iter()
        .filter(|r| r.certificate)
        .filter_map(|row| {
            let report = &row.order.report;
            let days_left = row.order.days_remaining(now)?;
            Some((
                row.account,
                &*report.container_name,
                &*report.product_name_id,
                days_left,
                row.verdict.actionable,
            ))
        });
    let subaccount_orders = view.subaccount_rows.iter().filter_map(|row| {
        let days_left = days_until(row.order.expiry()?, now);
        Some((row.account, "", &*row.order.product, days_left, true))
    });
    for (account, container, product, days_left, actionable) in orders.chain(subaccount_orders) {
        let counts = all.entry((account, container, product)).or_default();
        for (within, count) in EXPIRING_WITHIN_DAYS.iter().zip(counts) {
            if (0..*within).contains(&days_left) {
                count.0 += 1;
                count.1 += usize::from(actionable);
            }
        }
    }
    let mut all: Vec<_> = all.into_iter().collect();
    all.sort_unstable_by_key(|(key, _)| *key);
    let series = || {
        all.iter()
            .flat_map(|((account, container, product), counts)| {
                EXPIRING_WITHIN_DAYS
                    .iter()
                    .zip(counts)
                    .map(move |(within, count)| {
                        let labels = LabelBlock::new()
                            .with("account", account)
                            .with("container", container)
                            .with("product", product)
                            .with("within", &format!("{within}d"))
                            .finish();
                        (labels, *count)
                    })
            })
    };
    let mut expiring = w.family(&CERTIFICATES_EXPIRING);
    for (labels, (count, _)) in series() {
        expiring.sample(&labels, count as f64);
    }
    let mut actionable = w.family(&ACTIONABLE_CERTIFICATES_EXPIRING);
    for (labels, (_, count)) in series() {
        actionable.sample(&labels, count as f64);
    }
}
