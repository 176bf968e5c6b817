//! The validation families: when each domain's and organization's OV and
//! EV validations end, what each order's renewal needs, and per account how
//! many validations end soon and how many names nothing covers, with the
//! coming reuse-period steps. Per-order series carry `account` and
//! `order_id` and their own labels only (names come from
//! `certcentral_order_info`).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{
    Kind, LabelBlock, PerOrderLimits, RenderSettings, TextWriter, is_exported, unix_seconds,
    wants_series,
};
use crate::board::AccountState;
use crate::compliance::{Assessment, Verdict};
use crate::coverage::{DomainValidation, TypedValidation, ValidationType};
use crate::fleet::Order;

/// Windows of `certcentral_validations_expiring`, in days.
const WITHIN_DAYS: [i64; 3] = [7, 30, 90];

/// Renders the validation families of every account.
pub(super) fn render(
    w: &mut TextWriter,
    states: &[Arc<AccountState>],
    assessments: &[Option<Assessment<'_>>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) {
    lists(w, states);
    domains(w, states);
    organizations(w, states);
    per_order(w, states, assessments, now, settings);
    per_account(w, states, assessments, now, settings);
}

fn account_labels(state: &AccountState) -> String {
    LabelBlock::new().with("account", &state.account).finish()
}

/// Whether each list was read, and when.
fn lists(w: &mut TextWriter, states: &[Arc<AccountState>]) {
    w.family(
        "certcentral_validation_list_readable",
        Kind::Gauge,
        "1 if the latest validation refresh could read the list (domains, organizations), 0 if the API key may not (403/404: nothing is concluded from it); absent before the first refresh.",
    );
    for state in states {
        let Some(index) = &state.validations else {
            continue;
        };
        let snapshot = index.snapshot();
        let labels = account_labels(state);
        for (list, read) in [
            ("domains", snapshot.domains.is_some()),
            ("organizations", snapshot.organizations.is_some()),
        ] {
            w.sample(
                "certcentral_validation_list_readable",
                &LabelBlock::extend(&labels, "list", list),
                f64::from(u8::from(read)),
            );
        }
    }
    w.family(
        "certcentral_validations_refresh_timestamp_seconds",
        Kind::Gauge,
        "Unix time of the validations in use (the latest successful refresh, or the one kept in the store).",
    );
    for state in states {
        if let Some(index) = &state.validations {
            w.sample(
                "certcentral_validations_refresh_timestamp_seconds",
                &account_labels(state),
                unix_seconds(index.snapshot().fetched_at),
            );
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

fn domains(w: &mut TextWriter, states: &[Arc<AccountState>]) {
    const NAME: &str = "certcentral_domain_validation_expiry_timestamp_seconds";
    w.family(
        NAME,
        Kind::Gauge,
        "When each domain record's OV or EV validation (DCV) reuse ends, Unix seconds; subaccount domains carry subaccount_id.",
    );
    for state in states {
        for domain in all_domains(state).filter(|d| d.active) {
            let mut labels = LabelBlock::new()
                .with("account", &state.account)
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
                w.sample(
                    NAME,
                    &LabelBlock::extend(&labels, "type", kind.as_str()),
                    unix_seconds(until),
                );
            }
        }
    }
}

fn organizations(w: &mut TextWriter, states: &[Arc<AccountState>]) {
    const NAME: &str = "certcentral_organization_validation_expiry_timestamp_seconds";
    w.family(
        NAME,
        Kind::Gauge,
        "When each organization's OV or EV validation ends, Unix seconds (none while pending).",
    );
    for state in states {
        let Some(index) = &state.validations else {
            continue;
        };
        for org in index.snapshot().organizations.iter().flatten() {
            let labels = LabelBlock::new()
                .with("account", &state.account)
                .with("organization_id", &org.id.to_string())
                .with("organization", &org.name)
                .finish();
            for (kind, until) in dated(&org.ov, &org.ev) {
                w.sample(
                    NAME,
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
/// the cut (in the statuses kept).
pub(super) fn keeps_series(
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

/// What each exported order's renewal needs.
fn per_order(
    w: &mut TextWriter,
    states: &[Arc<AccountState>],
    assessments: &[Option<Assessment<'_>>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) {
    const EXPIRY: &str = "certcentral_order_validation_expiry_timestamp_seconds";
    const UNCOVERED: &str = "certcentral_order_uncovered_names";
    let mut uncovered = Vec::new();
    w.family(
        EXPIRY,
        Kind::Gauge,
        "Per order: when the validation its renewal needs that ends first ends, Unix seconds; scope (domain or organization), type (ov, ev), validation_id and validation (the domain's or organization's name) say which.",
    );
    for (state, assessment) in states.iter().zip(assessments) {
        let (Some(fleet), Some(assessment)) = (&state.fleet, assessment) else {
            continue;
        };
        let limits = settings.per_order_for(&state.account);
        for ((order, needs), verdict) in fleet
            .orders
            .iter()
            .zip(&assessment.needs)
            .zip(&assessment.verdicts)
        {
            let Some(needs) = needs else { continue };
            if !is_exported(order, now, settings)
                || !(wants_series(order, now, limits) || keeps_series(order, verdict, now, limits))
            {
                continue;
            }
            let labels = LabelBlock::new()
                .with("account", &state.account)
                .with("order_id", &order.id().to_string())
                .finish();
            if !needs.uncovered.is_empty() {
                uncovered.push((labels.clone(), needs.uncovered.len()));
            }
            let Some(earliest) = needs.earliest() else {
                continue;
            };
            let labels = LabelBlock::extend(&labels, "scope", earliest.scope.as_str());
            let labels = LabelBlock::extend(&labels, "type", earliest.kind.as_str());
            let labels = LabelBlock::extend(&labels, "validation_id", &earliest.id.to_string());
            let labels = LabelBlock::extend(&labels, "validation", earliest.name);
            if let Some(until) = earliest.until {
                w.sample(EXPIRY, &labels, unix_seconds(until));
            }
        }
    }
    w.family(
        UNCOVERED,
        Kind::Gauge,
        "Per order: names (common name and SANs) that no active validation of its organization covers; orders without any have no series.",
    );
    for (labels, count) in uncovered {
        w.sample(UNCOVERED, &labels, count as f64);
    }
}

/// The earliest end among dated validations.
fn first_end(ov: &Option<TypedValidation>, ev: &Option<TypedValidation>) -> Option<DateTime<Utc>> {
    dated(ov, ev).map(|(_, until)| until).min()
}

/// Per-account counts: validations ending soon, names uncovered, and the
/// reuse-period outlook.
fn per_account(
    w: &mut TextWriter,
    states: &[Arc<AccountState>],
    assessments: &[Option<Assessment<'_>>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) {
    const EXPIRING: &str = "certcentral_validations_expiring";
    const EXPIRED: &str = "certcentral_validations_expired";
    w.family(
        EXPIRING,
        Kind::Gauge,
        "Domain records (scope=domain, subaccounts' included) and organizations (scope=organization) whose first OV or EV validation ends within the window (7d, 30d, 90d) and has not ended yet.",
    );
    let mut expired = Vec::new();
    for state in states {
        let Some(index) = &state.validations else {
            continue;
        };
        let labels = account_labels(state);
        let domain_ends: Vec<DateTime<Utc>> = all_domains(state)
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
            let scoped = LabelBlock::extend(&labels, "scope", scope);
            for days in WITHIN_DAYS {
                let horizon = now + Duration::days(days);
                let count = ends
                    .iter()
                    .filter(|&&end| end > now && end <= horizon)
                    .count();
                w.sample(
                    EXPIRING,
                    &LabelBlock::extend(&scoped, "within", &format!("{days}d")),
                    count as f64,
                );
            }
            expired.push((scoped, ends.iter().filter(|&&end| end <= now).count()));
        }
    }
    w.family(
        EXPIRED,
        Kind::Gauge,
        "Domain records and organizations whose first OV or EV validation has ended.",
    );
    for (labels, count) in expired {
        w.sample(EXPIRED, &labels, count as f64);
    }
    w.family(
        "certcentral_uncovered_names",
        Kind::Gauge,
        "Distinct names on certificates in use (not renewed) that no active validation of their order's organization covers: their renewal waits on a new DCV.",
    );
    for (state, assessment) in states.iter().zip(assessments) {
        let (Some(fleet), Some(assessment)) = (&state.fleet, assessment) else {
            continue;
        };
        if state.validations.is_none() {
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
        w.sample(
            "certcentral_uncovered_names",
            &account_labels(state),
            names.len() as f64,
        );
    }
    w.family(
        "certcentral_validated_domains",
        Kind::Gauge,
        "Active domain records with an OV or EV validation, for each coming CA/Browser Forum domain validation reuse period (days).",
    );
    for (state, assessment) in states.iter().zip(assessments) {
        let Some(assessment) = assessment.as_ref().filter(|_| state.validations.is_some()) else {
            continue;
        };
        for (reuse_days, domains, _) in &assessment.reuse_outlook {
            w.sample(
                "certcentral_validated_domains",
                &LabelBlock::extend(
                    &account_labels(state),
                    "reuse_days",
                    &reuse_days.to_string(),
                ),
                *domains as f64,
            );
        }
    }
    w.family(
        "certcentral_domains_exceeding_revalidation_threshold",
        Kind::Gauge,
        "Of those, domains that would need revalidating more than `threshold` times a year under that reuse period.",
    );
    for (state, assessment) in states.iter().zip(assessments) {
        let Some(assessment) = assessment.as_ref().filter(|_| state.validations.is_some()) else {
            continue;
        };
        let threshold = settings
            .compliance_for(&state.account)
            .manual_renewals_threshold
            .to_string();
        for (reuse_days, _, over) in &assessment.reuse_outlook {
            let labels = LabelBlock::extend(
                &account_labels(state),
                "reuse_days",
                &reuse_days.to_string(),
            );
            w.sample(
                "certcentral_domains_exceeding_revalidation_threshold",
                &LabelBlock::extend(&labels, "threshold", &threshold),
                *over as f64,
            );
        }
    }
}
