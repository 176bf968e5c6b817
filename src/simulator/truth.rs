//! What the exporter should report about each simulated order, worked out
//! from the simulator's own knowledge of how it built the order. Tests
//! compare the exporter's metrics with this, order by order.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::fleet::{Csr, SimOrder, World, baseline_days};

/// The truth about one order.
#[derive(Debug, Serialize)]
pub struct OrderTruth {
    pub id: u64,
    pub status: String,
    pub common_name: String,
    pub product: String,
    pub container: String,
    pub organization: String,
    /// Expiry date of the active certificate (after reissues).
    pub valid_till: Option<String>,
    pub expiry_timestamp: Option<i64>,
    pub days_remaining: Option<i64>,
    pub auto_renew: bool,
    pub has_duplicates: bool,
    /// A newer order renews this one.
    pub renewed: bool,
    /// Per-order series are expected (issued, reissue pending, or expired
    /// within 30 days).
    pub exported: bool,
    pub actionable: bool,
    pub expected_findings: Vec<&'static str>,
}

/// The truth about one subaccount order.
#[derive(Debug, Serialize)]
pub struct SubaccountTruth {
    pub id: u64,
    pub subaccount_id: u64,
    pub status: String,
    pub valid_till: Option<String>,
    pub expiry_timestamp: Option<i64>,
    /// Also in the main report: exported from there, once.
    pub in_report: bool,
}

const DAY: i64 = 86_400;
/// The exporter's default thresholds, which the expectations assume.
const WARNING_DAYS: i64 = 30;
const AUTO_RENEW_GRACE_DAYS: i64 = 14;
const APPROVAL_PENDING_SECONDS: i64 = 3 * DAY;
const EXPIRED_RETENTION_DAYS: i64 = 30;

fn expiry(order: &SimOrder) -> Option<i64> {
    order
        .valid_till()
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
}

/// Every order's truth at `now`.
pub fn orders(world: &World, now: DateTime<Utc>) -> Vec<OrderTruth> {
    let renewed_by_newer: HashSet<u64> = world
        .orders
        .iter()
        .filter_map(|o| o.renewed_order_id)
        .collect();
    world
        .orders
        .iter()
        .map(|order| {
            let renewed = order.is_renewed || renewed_by_newer.contains(&order.id);
            let expiry = expiry(order);
            let days = expiry.map(|e| (e - now.timestamp()).div_euclid(DAY));
            let expired =
                order.status == "expired" || (order.in_use() && days.is_some_and(|d| d < 0));
            let within_retention = days.is_some_and(|d| d >= -EXPIRED_RETENTION_DAYS);
            let replaced_automatically = order.auto_renew
                || (order.auto_reissue
                    && order
                        .order_valid_till
                        .is_some_and(|end| Some(end) > order.valid_till()));
            let actionable = (order.in_use() || expired)
                && !renewed
                && days.is_some_and(|d| !replaced_automatically || d < AUTO_RENEW_GRACE_DAYS);
            let mut findings = Vec::new();
            if order.in_use() {
                if !matches!(
                    order.signature_hash.as_str(),
                    "sha256" | "sha384" | "sha512"
                ) {
                    findings.push("weak_signature_hash");
                }
                if order.csr == Csr::Rsa1024 {
                    findings.push("weak_key");
                }
                if order.csr == Csr::Corrupt {
                    findings.push("csr_unreadable");
                }
                let too_long = match (order.valid_from, order.report_valid_till) {
                    (Some(from), Some(till)) => (till - from).num_days() > baseline_days(from),
                    _ => false,
                };
                if too_long && order.reissues.is_empty() {
                    findings.push("validity_exceeds_baseline");
                }
                if actionable
                    && !order.auto_renew
                    && days.is_some_and(|d| (0..WARNING_DAYS).contains(&d))
                {
                    findings.push("auto_renew_disabled");
                }
                if order.disable_renewal_notifications && !order.auto_renew && !renewed {
                    findings.push("renewal_notifications_disabled");
                }
                if order.has_duplicates {
                    findings.push("duplicates_present");
                }
                if order.is_out_of_contract {
                    findings.push("out_of_contract");
                }
                if order.disable_ct {
                    findings.push("ct_logging_disabled");
                }
            }
            if order.requests.iter().any(|r| {
                matches!(r.status, "pending" | "submitted")
                    && (now - r.date).num_seconds() > APPROVAL_PENDING_SECONDS
            }) {
                findings.push("approval_pending_too_long");
            }
            if expired && !renewed && within_retention {
                findings.push("expired_not_renewed");
            }
            findings.sort_unstable();
            OrderTruth {
                id: order.id,
                status: order.status.clone(),
                common_name: order.common_name.clone(),
                product: order.product.to_owned(),
                container: order.container.clone(),
                organization: order.organization.clone(),
                valid_till: order.valid_till().map(|d| d.to_string()),
                expiry_timestamp: expiry,
                days_remaining: days,
                auto_renew: order.auto_renew,
                has_duplicates: order.has_duplicates,
                renewed,
                exported: order.in_use()
                    || (order.status == "expired" && within_retention && days.is_some()),
                actionable,
                expected_findings: findings,
            }
        })
        .collect()
}

/// Every subaccount order's truth.
pub fn subaccount_orders(world: &World) -> Vec<SubaccountTruth> {
    let in_report: HashSet<u64> = world.orders.iter().map(|o| o.id).collect();
    world
        .subaccount_orders
        .iter()
        .map(|order| {
            let shown = order.immediate && order.status == "issued";
            SubaccountTruth {
                id: order.id,
                subaccount_id: order.subaccount_id,
                status: order.status.to_owned(),
                valid_till: order.valid_till.filter(|_| shown).map(|d| d.to_string()),
                expiry_timestamp: order
                    .valid_till
                    .filter(|_| shown)
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()),
                in_report: in_report.contains(&order.id),
            }
        })
        .collect()
}
