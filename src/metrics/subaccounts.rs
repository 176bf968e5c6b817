//! The subaccounts writer: subaccount orders counted by status and costed
//! by currency, per subaccount; and the subaccount orders the report does
//! not hold whose certificate is in use, whose expiry and info series the
//! expiry and orders writers write with the report's, under the same
//! per-order limits (statuses, horizon). Expired ones get none: the
//! listing says nothing of a renewal, and an expiry page for an order
//! that was renewed would rest on that missing data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::families::{SUBACCOUNT_ORDER_COST, SUBACCOUNT_ORDERS};
use super::{
    Account, FleetView, LabelBlock, RenderSettings, TextWriter, order_labels, within_limits,
};
use crate::fleet::{OrderStatus, SubaccountOrderRecord};

/// A subaccount order in use (the report does not hold it), with its label
/// blocks: it shares the expiry families, and its info series carries
/// `subaccount_id`.
pub(super) struct SubaccountRow<'a> {
    pub(super) account: &'a str,
    pub(super) labels: String,
    pub(super) info_labels: String,
    pub(super) order: &'a SubaccountOrderRecord,
    /// Whether it gets per-order series: within the per-order limits
    /// (`--metrics.per-order-statuses`, `--metrics.per-order-horizon`), as
    /// report orders; the aggregates count it either way.
    pub(super) series: bool,
}

/// The subaccount orders of every account whose certificate is in use
/// and shows an expiry.
pub(super) fn rows<'a>(
    accounts: &[Account<'a>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) -> Vec<SubaccountRow<'a>> {
    let mut rows = Vec::new();
    for account in accounts {
        let state = account.state;
        let Some(fleet) = &state.fleet else { continue };
        let limits = settings.per_order_for(&state.account);
        for order in &fleet.subaccount_orders {
            let status = OrderStatus::parse(&order.status);
            let expiry = order.expiry();
            if expiry.is_some() && status.is_in_use() {
                let labels = order_labels(&state.account, order.order_id);
                let mut info = LabelBlock::continuing(&labels);
                info.push("common_name", &order.common_name);
                info.push("product", &order.product);
                info.push("container", "");
                info.push("organization", &order.subaccount_organization);
                info.push("subaccount_id", &order.subaccount_id.to_string());
                rows.push(SubaccountRow {
                    account: &state.account,
                    info_labels: info.finish(),
                    labels,
                    order,
                    series: within_limits(status, expiry, now, limits),
                });
            }
        }
    }
    rows
}

/// Writes the subaccount counts and costs.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    type Key<'a> = (&'a str, u64, &'a str, &'a str);
    let mut by_status: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    let mut cost: BTreeMap<Key<'_>, f64> = BTreeMap::new();
    for account in view.accounts {
        let state = account.state;
        let Some(fleet) = &state.fleet else { continue };
        for order in &fleet.subaccount_orders {
            let org = &*order.subaccount_organization;
            *by_status
                .entry((&state.account, order.subaccount_id, org, &order.status))
                .or_default() += 1;
            for (currency, amount) in &order.cost {
                *cost
                    .entry((&state.account, order.subaccount_id, org, currency))
                    .or_default() += amount;
            }
        }
    }
    let key_labels = |(account, id, org, _): &Key<'_>| {
        LabelBlock::new()
            .with("account", account)
            .with("subaccount_id", &id.to_string())
            .with("subaccount", org)
    };
    let mut orders = w.family(&SUBACCOUNT_ORDERS);
    for (key, count) in &by_status {
        orders.sample(
            &key_labels(key).with("status", key.3).finish(),
            *count as f64,
        );
    }
    let mut costs = w.family(&SUBACCOUNT_ORDER_COST);
    for (key, amount) in &cost {
        costs.sample(&key_labels(key).with("currency", key.3).finish(), *amount);
    }
}
