//! The validations writer: whether each validation list was read and when,
//! when each domain's and organization's OV and EV validations end, what
//! each order's renewal needs, and per account how many validations end
//! soon and how many names nothing covers, with the coming reuse-period
//! steps. Per-order series carry `account` and `order_id` and their own
//! labels only (names come from `certcentral_order_info`).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::compliance::outlook;
use super::families::{
    DOMAIN_VALIDATION_EXPIRY, DOMAIN_VALIDATIONS_CONCLUSIVE,
    DOMAINS_EXCEEDING_REVALIDATION_THRESHOLD, ORDER_UNCOVERED_NAMES, ORDER_VALIDATION_EXPIRY,
    ORGANIZATION_VALIDATION_EXPIRY, UNCOVERED_NAMES, VALIDATED_DOMAINS, VALIDATION_LIST_READABLE,
    VALIDATIONS_EXPIRED, VALIDATIONS_EXPIRING, VALIDATIONS_REFRESH,
};
use super::{FleetView, LabelBlock, PerOrderLimits, TextWriter, flag, unix_seconds};
use crate::board::AccountState;
use crate::compliance::Verdict;
use crate::coverage::{DomainValidation, TypedValidation, ValidationType};
use crate::fleet::Order;

/// Windows of `certcentral_validations_expiring`, in days.
const WITHIN_DAYS: [i64; 3] = [7, 30, 90];

/// Writes the validation families of every account.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    lists(w, view);
    domains(w, view);
    organizations(w, view);
    per_order(w, view);
    per_account(w, view);
}

/// Whether each list was read, and when.
fn lists(w: &mut TextWriter, view: &FleetView<'_>) {
    let mut readable = w.family(&VALIDATION_LIST_READABLE);
    for account in view.accounts {
        let Some(index) = &account.state.validations else {
            continue;
        };
        let snapshot = index.snapshot();
        for (list, read) in [
            ("domains", snapshot.domains.is_some()),
            ("organizations", snapshot.organizations.is_some()),
        ] {
            readable.sample(
                &LabelBlock::extend(&account.labels, "list", list),
                flag(read),
            );
        }
    }
    let mut conclusive = w.family(&DOMAIN_VALIDATIONS_CONCLUSIVE);
    for account in view.accounts {
        let known = account
            .assessment
            .as_ref()
            .and_then(|a| a.domains_conclusive);
        if let Some(known) = known {
            conclusive.sample(&account.labels, flag(known));
        }
    }
    let mut refreshed = w.family(&VALIDATIONS_REFRESH);
    for account in view.accounts {
        if let Some(index) = &account.state.validations {
            refreshed.sample(&account.labels, unix_seconds(index.snapshot().fetched_at));
        }
    }
}

/// The dated validations of a record, by type.
fn dated<'a>(
    ov: &'a Option<TypedValidation>,
    ev: &'a Option<TypedValidation>,
) -> impl Iterator<Item = (ValidationType, DateTime<Utc>)> + 'a {
    [(ValidationType::Ov, ov), (ValidationType::Ev, ev)]
        .into_iter()
        .filter_map(|(kind, v)| Some((kind, v.as_ref()?.until?)))
}

/// Every domain record of an account, its subaccounts' included.
fn all_domains(state: &AccountState) -> impl Iterator<Item = &DomainValidation> {
    state.validations.iter().flat_map(|index| {
        let snapshot = index.snapshot();
        snapshot
            .domains
            .iter()
            .flatten()
            .chain(&snapshot.subaccount_domains)
    })
}

fn domains(w: &mut TextWriter, view: &FleetView<'_>) {
    let mut samples = w.family(&DOMAIN_VALIDATION_EXPIRY);
    for account in view.accounts {
        for domain in all_domains(account.state).filter(|d| d.active) {
            let mut labels = LabelBlock::continuing(&account.labels)
                .with("domain_id", &domain.id.to_string())
                .with("domain", &domain.name)
                .with(
                    "organization_id",
                    &domain
                        .organization_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                );
            if let Some(sub) = domain.subaccount_id {
                labels = labels.with("subaccount_id", &sub.to_string());
            }
            let labels = labels.finish();
            for (kind, until) in dated(&domain.ov, &domain.ev) {
                samples.sample(
                    &LabelBlock::extend(&labels, "type", kind.as_str()),
                    unix_seconds(until),
                );
            }
        }
    }
}

fn organizations(w: &mut TextWriter, view: &FleetView<'_>) {
    let mut samples = w.family(&ORGANIZATION_VALIDATION_EXPIRY);
    for account in view.accounts {
        let Some(index) = &account.state.validations else {
            continue;
        };
        for org in index.snapshot().organizations.iter().flatten() {
            let labels = LabelBlock::continuing(&account.labels)
                .with("organization_id", &org.id.to_string())
                .with("organization", &org.name)
                .finish();
            for (kind, until) in dated(&org.ov, &org.ev) {
                samples.sample(
                    &LabelBlock::extend(&labels, "type", kind.as_str()),
                    unix_seconds(until),
                );
            }
        }
    }
}

/// Whether an order keeps its per-order series past the per-order
/// horizon: it is actionable and a validation its renewal needs ends within
/// the horizon, so that the validation alerts fire as they would without
/// the cut (in the statuses kept). Part of [`super::keeps_series`].
pub(super) fn needs_series(
    order: &Order,
    verdict: &Verdict,
    now: DateTime<Utc>,
    limits: &PerOrderLimits,
) -> bool {
    let status_ok = limits
        .statuses
        .as_ref()
        .is_none_or(|statuses| statuses.iter().any(|s| s == order.status().as_str()));
    let within = match (limits.horizon, verdict.first_validation_end) {
        (Some(horizon), Some(end)) => end - now <= horizon,
        _ => false,
    };
    verdict.actionable && status_ok && within
}

/// What the renewal of each order with all its series needs.
fn per_order(w: &mut TextWriter, view: &FleetView<'_>) {
    let with_needs = || {
        view.rows
            .iter()
            .filter(|r| r.all_series())
            .filter_map(|r| Some((r, r.needs?)))
    };
    let mut expiry = w.family(&ORDER_VALIDATION_EXPIRY);
    for (row, needs) in with_needs() {
        let Some(earliest) = needs.earliest() else {
            continue;
        };
        let Some(until) = earliest.until else {
            continue;
        };
        let mut labels = LabelBlock::continuing(&row.labels);
        labels.push("scope", earliest.scope.as_str());
        labels.push("type", earliest.kind.as_str());
        labels.push("validation_id", &earliest.id.to_string());
        labels.push("validation", earliest.name);
        expiry.sample(&labels.finish(), unix_seconds(until));
    }
    let mut uncovered = w.family(&ORDER_UNCOVERED_NAMES);
    for (row, needs) in with_needs() {
        if !needs.uncovered.is_empty() {
            uncovered.sample(&row.labels, needs.uncovered.len() as f64);
        }
    }
}

/// The earliest end among dated validations.
fn first_end(ov: &Option<TypedValidation>, ev: &Option<TypedValidation>) -> Option<DateTime<Utc>> {
    dated(ov, ev).map(|(_, until)| until).min()
}

/// Per-account counts: validations ending soon, names uncovered, and the
/// reuse-period outlook.
fn per_account(w: &mut TextWriter, view: &FleetView<'_>) {
    let now = view.now;
    let mut expiring = w.family(&VALIDATIONS_EXPIRING);
    let mut expired = Vec::new();
    for account in view.accounts {
        let Some(index) = &account.state.validations else {
            continue;
        };
        let domain_ends: Vec<DateTime<Utc>> = all_domains(account.state)
            .filter(|d| d.active)
            .filter_map(|d| first_end(&d.ov, &d.ev))
            .collect();
        let org_ends: Vec<DateTime<Utc>> = index
            .snapshot()
            .organizations
            .iter()
            .flatten()
            .filter_map(|o| first_end(&o.ov, &o.ev))
            .collect();
        for (scope, ends) in [("domain", &domain_ends), ("organization", &org_ends)] {
            let scoped = LabelBlock::extend(&account.labels, "scope", scope);
            for days in WITHIN_DAYS {
                let horizon = now + Duration::days(days);
                let count = ends
                    .iter()
                    .filter(|&&end| end > now && end <= horizon)
                    .count();
                expiring.sample(
                    &LabelBlock::extend(&scoped, "within", &format!("{days}d")),
                    count as f64,
                );
            }
            expired.push((scoped, ends.iter().filter(|&&end| end <= now).count()));
        }
    }
    let mut samples = w.family(&VALIDATIONS_EXPIRED);
    for (labels, count) in expired {
        samples.sample(&labels, count as f64);
    }
    let mut uncovered = w.family(&UNCOVERED_NAMES);
    for account in view.accounts {
        let (Some(fleet), Some(assessment)) = (&account.state.fleet, &account.assessment) else {
            continue;
        };
        if account.state.validations.is_none() {
            continue;
        }
        let names: BTreeSet<&str> = fleet
            .orders
            .iter()
            .zip(&assessment.needs)
            .filter(|(order, _)| !order.renewed)
            .filter_map(|(_, needs)| needs.as_ref())
            .flat_map(|needs| needs.uncovered.iter().map(String::as_str))
            .collect();
        uncovered.sample(&account.labels, names.len() as f64);
    }
    outlook(
        w,
        view,
        [
            &VALIDATED_DOMAINS,
            &DOMAINS_EXCEEDING_REVALIDATION_THRESHOLD,
        ],
        "reuse_days",
        |account| {
            account.state.validations.as_ref()?;
            Some(&account.assessment.as_ref()?.reuse_outlook)
        },
    );
}
