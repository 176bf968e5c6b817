//! The subaccounts writer: subaccount orders counted by status and costed
//! by currency, per subaccount; and the issued subaccount orders the report
//! does not hold, whose expiry and info series the expiry and orders
//! writers write with the report's.

use std::collections::BTreeMap;

use super::families::{SUBACCOUNT_ORDER_COST, SUBACCOUNT_ORDERS};
use super::{Account, FleetView, LabelBlock, TextWriter, order_labels};
use crate::fleet::OrderStatus;
use crate::fleet::SubaccountOrderRecord;

/// An issued subaccount order (that the report does not hold), with its
/// label blocks: it shares the expiry families, and its info series
/// carries `subaccount_id`.
pub(super) struct SubaccountRow<'a> {
    pub(super) account: &'a str,
    pub(super) labels: String,
    pub(super) info_labels: String,
    pub(super) order: &'a SubaccountOrderRecord,
}

/// The issued subaccount orders of every account.
pub(super) fn rows<'a>(accounts: &[Account<'a>]) -> Vec<SubaccountRow<'a>> {
    let mut rows = Vec::new();
    for account in accounts {
        let state = account.state;
        let Some(fleet) = &state.fleet else { continue };
        for order in &fleet.subaccount_orders {
            if OrderStatus::parse(&order.status).is_in_use() && order.valid_till.is_some() {
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
