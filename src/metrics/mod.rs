//! Metrics: the fleet snapshots rendered into the Prometheus exposition,
//! once per change (a poll, or the UTC day rolling over), never per scrape.
//! Counters that move between polls (API requests, poll results) live in a
//! `prometheus::Registry` and are appended at scrape time.

mod exposition;
pub mod gzip;
mod validations;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use exposition::{Kind, LabelBlock, TextWriter};
pub use gzip::GzipPrefix;

use std::collections::{BTreeMap, HashMap};

use crate::board::{AccountState, Reason};
use crate::certcentral::report::CsrKey;
use crate::compliance::{self, Assessment, ComplianceSettings, Verdict};
use crate::fleet::{Order, OrderStatus, SubaccountOrderRecord, days_until, end_of_day};

/// Choices that shape the rendered metrics.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// How long an expired certificate keeps its per-order series.
    pub expired_retention: chrono::Duration,
    /// Compliance thresholds for accounts without their own.
    pub compliance: ComplianceSettings,
    /// Per-account compliance thresholds.
    pub account_compliance: BTreeMap<String, ComplianceSettings>,
    /// Which orders keep per-order series, for accounts without their own.
    pub per_order: PerOrderLimits,
    /// Per-account limits (`accounts[].metrics` in `--config.file`).
    pub account_per_order: BTreeMap<String, PerOrderLimits>,
}

/// Which orders keep their per-order series: cardinality control for very
/// large accounts. Every order still counts in the per-account aggregates,
/// which the dashboards and alerts fall back on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerOrderLimits {
    /// Only certificates expiring within this horizon.
    pub horizon: Option<chrono::Duration>,
    /// Only orders in these statuses.
    pub statuses: Option<Vec<String>>,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            expired_retention: chrono::Duration::days(30),
            compliance: ComplianceSettings::default(),
            account_compliance: BTreeMap::new(),
            per_order: PerOrderLimits::default(),
            account_per_order: BTreeMap::new(),
        }
    }
}

impl RenderSettings {
    fn compliance_for(&self, account: &str) -> &ComplianceSettings {
        self.account_compliance
            .get(account)
            .unwrap_or(&self.compliance)
    }

    fn per_order_for(&self, account: &str) -> &PerOrderLimits {
        self.account_per_order
            .get(account)
            .unwrap_or(&self.per_order)
    }
}

/// Windows of the `certcentral_certificates_expiring` aggregates, in days.
const EXPIRING_WITHIN_DAYS: [i64; 3] = [7, 30, 90];

/// The rendered fleet metrics, shared by every scrape until the next
/// render; kept deflated (see [`gzip`]).
pub struct Exposition {
    pub body: GzipPrefix,
    /// Every account had finished a poll when this was rendered: readiness
    /// follows what `/metrics` serves, not what the poller knows.
    pub all_polled: bool,
}

/// Statuses whose orders have a certificate in use: per-order series exist
/// for them. (`reissue_pending` still has its current certificate.)
const STATUSES_WITH_CERTIFICATE: [&str; 2] = OrderStatus::IN_USE_NAMES;

/// Whether an order gets per-order series at `now`.
fn is_exported(order: &Order, now: DateTime<Utc>, settings: &RenderSettings) -> bool {
    order.counts_toward_expiry(now, settings.expired_retention)
}

/// An order with series, and its label block.
struct Row<'a> {
    account: &'a str,
    order: &'a Order,
    labels: String,
    /// The order has a certificate in use (or recently expired): all the
    /// per-order series. Otherwise only its waiting-request and finding
    /// series.
    certificate: bool,
    /// Per-order series are wanted (cardinality control); when not, the
    /// order still counts in the per-account aggregates.
    series: bool,
    verdict: Verdict,
}

/// Whether an order keeps its per-order series under the cardinality
/// limits (`--metrics.per-order-statuses`, `--metrics.per-order-horizon`).
fn wants_series(order: &Order, now: DateTime<Utc>, limits: &PerOrderLimits) -> bool {
    let status_ok = limits
        .statuses
        .as_ref()
        .is_none_or(|statuses| statuses.iter().any(|s| s == order.status().as_str()));
    let horizon_ok = match (limits.horizon, order.expiry()) {
        (Some(horizon), Some(expiry)) => expiry - now <= horizon,
        _ => true,
    };
    // An order waiting on approval keeps its series: the approval alert
    // needs them, whatever the certificate's expiry.
    (status_ok && horizon_ok) || has_waiting_requests(order)
}

/// Whether an order gets any series at all: a certificate, or a request
/// waiting on someone.
fn has_waiting_requests(order: &Order) -> bool {
    order
        .details
        .as_ref()
        .is_some_and(|d| d.waiting_requests().next().is_some())
}

/// The labels of every per-order series: the account and the order id,
/// nothing else. What describes the order is on its info series (see
/// [`order_info_labels`]), joined in by queries, so that a descriptive
/// label is stored once per order and renaming a container changes one
/// series, not a dozen.
fn order_labels(account: &str, order_id: u64) -> String {
    LabelBlock::new()
        .with("account", account)
        .with("order_id", &order_id.to_string())
        .finish()
}

/// The labels of a report order's `certcentral_order_info`: the
/// descriptive ones, and its active certificate's signature hash, key size
/// and issuing CA from its details (the report's hash and CSR key until
/// the details are known; the CA only the details name).
fn order_info_labels(base: &str, order: &Order) -> String {
    let report = &order.report;
    let details = order.details.as_deref();
    let signature_hash = details
        .and_then(|d| d.signature_hash.as_deref())
        .filter(|h| !h.is_empty())
        .unwrap_or(&report.signature_hash);
    let key_size = details
        .and_then(|d| d.key_size)
        .or(match report.csr_key {
            CsrKey::Rsa { bits } | CsrKey::Ec { bits } | CsrKey::Other { bits } => {
                Some(u64::from(bits))
            }
            CsrKey::Missing | CsrKey::Unreadable => None,
        })
        .map(|bits| bits.to_string())
        .unwrap_or_default();
    let mut block = LabelBlock::continuing(base);
    block.push("common_name", &report.common_name);
    block.push("product", &report.product_name_id);
    block.push("container", &report.container_name);
    block.push("organization", &report.organization_name);
    block.push("signature_hash", signature_hash);
    block.push("key_size", &key_size);
    block.push(
        "issuing_ca",
        details.and_then(|d| d.ca_name.as_deref()).unwrap_or(""),
    );
    // A setting that rarely changes: a label here, not a series of its own
    // per order (empty until the order's details are read).
    block.push(
        "auto_reissue",
        details.map_or("", |d| if d.auto_reissue { "true" } else { "false" }),
    );
    block.finish()
}

/// Renders every account's state at `now`.
///
/// `previous` is the render before: the deflated pieces of families whose
/// text comes out the same are taken from it (an unchanged fleet's
/// per-order families), not deflated again.
pub fn render(
    states: &[Arc<AccountState>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
    previous: Option<&Exposition>,
) -> Exposition {
    let accounts: Vec<(&AccountState, String)> = states
        .iter()
        .map(|s| {
            (
                s.as_ref(),
                LabelBlock::new().with("account", &s.account).finish(),
            )
        })
        .collect();
    let assessments: Vec<Option<Assessment>> = states
        .iter()
        .map(|state| {
            let settings = settings.compliance_for(&state.account);
            state
                .fleet
                .as_ref()
                .map(|fleet| compliance::assess(fleet, state.validations.as_deref(), now, settings))
        })
        .collect();
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (state, assessment) in states.iter().zip(&assessments) {
        let (Some(fleet), Some(assessment)) = (&state.fleet, assessment) else {
            continue;
        };
        let limits = settings.per_order_for(&state.account);
        for (order, verdict) in fleet.orders.iter().zip(&assessment.verdicts) {
            let certificate = is_exported(order, now, settings);
            if certificate || has_waiting_requests(order) || !verdict.findings.is_empty() {
                let series = wants_series(order, now, limits)
                    || validations::keeps_series(order, verdict, now, limits);
                rows.push(Row {
                    account: &state.account,
                    order,
                    labels: if series {
                        order_labels(&state.account, order.id())
                    } else {
                        String::new()
                    },
                    certificate,
                    series,
                    verdict: *verdict,
                });
            }
        }
    }
    let mut w = TextWriter::new(previous.map(|p| &p.body));

    w.family(
        "certcentral_up",
        Kind::Gauge,
        "1 if the latest poll read the account's whole order report (the expiry data), else 0; order details have signals of their own (certcentral_details_*).",
    );
    for (state, labels) in &accounts {
        w.sample("certcentral_up", labels, f64::from(u8::from(state.up)));
    }
    w.family(
        "certcentral_last_successful_poll_timestamp_seconds",
        Kind::Gauge,
        "Unix time of the latest successful poll.",
    );
    for (state, labels) in &accounts {
        if let Some(at) = state.last_success {
            w.sample(
                "certcentral_last_successful_poll_timestamp_seconds",
                labels,
                unix_seconds(at),
            );
        }
    }
    w.family(
        "certcentral_last_poll_timestamp_seconds",
        Kind::Gauge,
        "Unix time the latest poll ended, successful or not.",
    );
    for (state, labels) in &accounts {
        if let Some(poll) = &state.last_poll {
            w.sample(
                "certcentral_last_poll_timestamp_seconds",
                labels,
                unix_seconds(poll.ended_at),
            );
        }
    }
    w.family(
        "certcentral_poll_duration_seconds",
        Kind::Gauge,
        "How long the latest poll took.",
    );
    for (state, labels) in &accounts {
        if let Some(poll) = &state.last_poll {
            w.sample(
                "certcentral_poll_duration_seconds",
                labels,
                poll.duration.as_secs_f64(),
            );
        }
    }
    w.family(
        "certcentral_poll_interval_seconds",
        Kind::Gauge,
        "Configured time between polls (alerts use it to tell stale data).",
    );
    for (state, labels) in &accounts {
        w.sample(
            "certcentral_poll_interval_seconds",
            labels,
            state.poll_interval.as_secs_f64(),
        );
    }
    w.family(
        "certcentral_report_rows_skipped",
        Kind::Gauge,
        "Order report rows the latest successful poll could not understand and left out.",
    );
    for (state, labels) in &accounts {
        if let Some(fleet) = &state.fleet {
            w.sample(
                "certcentral_report_rows_skipped",
                labels,
                fleet.skipped_rows as f64,
            );
        }
    }
    w.family(
        "certcentral_build_info",
        Kind::Gauge,
        "1, labelled with the exporter's version.",
    );
    for (state, _) in &accounts {
        let labels = LabelBlock::new()
            .with("account", &state.account)
            .with("version", env!("CARGO_PKG_VERSION"))
            .finish();
        w.sample("certcentral_build_info", &labels, 1.0);
    }
    w.family(
        "certcentral_orders",
        Kind::Gauge,
        "Orders in the account, by status.",
    );
    for (state, labels) in &accounts {
        let Some(fleet) = &state.fleet else { continue };
        for (status, count) in fleet.status_counts() {
            w.sample(
                "certcentral_orders",
                &LabelBlock::extend(labels, "status", status),
                count as f64,
            );
        }
    }

    w.family(
        "certcentral_compliance_violations",
        Kind::Gauge,
        "Orders breaking each compliance rule (enabled rules only).",
    );
    for ((_, labels), assessment) in accounts.iter().zip(&assessments) {
        let Some(assessment) = assessment else {
            continue;
        };
        for (rule, count) in &assessment.counts {
            w.sample(
                "certcentral_compliance_violations",
                &LabelBlock::extend(labels, "rule", rule.as_str()),
                *count as f64,
            );
        }
    }
    w.family(
        "certcentral_manual_renewal_orders",
        Kind::Gauge,
        "Issued orders with auto-renew and auto-reissue off, for each coming CA/Browser Forum maximum validity (days).",
    );
    for ((_, labels), assessment) in accounts.iter().zip(&assessments) {
        let Some(assessment) = assessment else {
            continue;
        };
        for (max_days, manual, _) in &assessment.outlook {
            w.sample(
                "certcentral_manual_renewal_orders",
                &LabelBlock::extend(labels, "max_validity_days", &max_days.to_string()),
                *manual as f64,
            );
        }
    }
    w.family(
        "certcentral_orders_exceeding_manual_renewal_threshold",
        Kind::Gauge,
        "Of those, orders that would need more than `threshold` manual renewals a year under that maximum validity.",
    );
    for ((state, labels), assessment) in accounts.iter().zip(&assessments) {
        let Some(assessment) = assessment else {
            continue;
        };
        let threshold = settings
            .compliance_for(&state.account)
            .manual_renewals_threshold
            .to_string();
        for (max_days, _, over) in &assessment.outlook {
            let labels = LabelBlock::extend(labels, "max_validity_days", &max_days.to_string());
            w.sample(
                "certcentral_orders_exceeding_manual_renewal_threshold",
                &LabelBlock::extend(&labels, "threshold", &threshold),
                *over as f64,
            );
        }
    }
    let sub_rows = subaccount_rows(states);
    expiring_aggregates(&mut w, &rows, &sub_rows, now);

    w.family(
        "certcentral_order_info",
        Kind::Gauge,
        "1 per order with per-order series, labelled with what describes it: common name, product, container, organization, the active certificate's signature hash, key size and issuing CA, and subaccount_id for subaccount orders. Join it: * on(account, order_id) group_left(common_name, ...) certcentral_order_info.",
    );
    for row in rows.iter().filter(|r| r.series) {
        w.sample(
            "certcentral_order_info",
            &order_info_labels(&row.labels, row.order),
            1.0,
        );
    }
    for row in &sub_rows {
        w.sample("certcentral_order_info", &row.info_labels, 1.0);
    }

    per_order(
        &mut w,
        &rows,
        "certcentral_certificate_expiry_timestamp_seconds",
        "When the order's active certificate expires (23:59:59 UTC of its valid_till date, its notAfter), Unix seconds.",
        |order| order.expiry().map(unix_seconds),
    );
    for row in &sub_rows {
        if let Some(expiry) = row.order.expiry() {
            w.sample(
                "certcentral_certificate_expiry_timestamp_seconds",
                &row.labels,
                unix_seconds(expiry),
            );
        }
    }
    per_order(
        &mut w,
        &rows,
        "certcentral_certificate_days_remaining",
        "Whole days until the active certificate expires, floor((expiry - now) / 86400); negative once expired.",
        |order| order.days_remaining(now).map(|d| d as f64),
    );
    for row in &sub_rows {
        if let Some(expiry) = row.order.expiry() {
            w.sample(
                "certcentral_certificate_days_remaining",
                &row.labels,
                days_until(expiry, now) as f64,
            );
        }
    }
    per_order(
        &mut w,
        &rows,
        "certcentral_order_auto_renew",
        "1 if auto-renew is enabled on the order, else 0.",
        |order| Some(flag(order.report.auto_renew)),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_order_has_duplicates",
        "1 if the order's certificate has duplicates, else 0.",
        |order| Some(flag(order.report.has_duplicates)),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_order_renewed",
        "1 if the order has been renewed (a newer order replaces it), else 0.",
        |order| Some(flag(order.renewed)),
    );
    per_order_row(
        &mut w,
        &rows,
        "certcentral_order_actionable",
        "1 when nothing will replace this certificate before it expires (not renewed, and neither auto-renew nor auto-reissue will act in time), else 0.",
        |row| Some(flag(row.verdict.actionable)),
    );
    w.family(
        "certcentral_compliance_violation",
        Kind::Gauge,
        "1 while the order breaks the compliance rule (only broken rules have a series).",
    );
    for row in rows.iter().filter(|r| r.series) {
        for rule in row.verdict.findings.iter() {
            w.sample(
                "certcentral_compliance_violation",
                &LabelBlock::extend(&row.labels, "rule", rule.as_str()),
                1.0,
            );
        }
    }
    per_order(
        &mut w,
        &rows,
        "certcentral_order_valid_till_timestamp_seconds",
        "End of the order's validity where it is not the active certificate's expiry (Multi-year Plans, reissued certificates), Unix seconds; orders whose validity ends with their certificate have no series (use certcentral_certificate_expiry_timestamp_seconds).",
        |order| {
            let valid_till = end_of_day(order.details.as_ref()?.order_valid_till?);
            (Some(valid_till) != order.expiry()).then(|| unix_seconds(valid_till))
        },
    );
    w.family(
        "certcentral_order_reissues",
        Kind::Gauge,
        "Certificates reissued on the order, by status (archived ones left out).",
    );
    for row in rows.iter().filter(|r| r.certificate && r.series) {
        let Some(reissues) = row.order.details.as_ref().and_then(|d| d.reissues.as_ref()) else {
            continue;
        };
        for (status, count) in &reissues.by_status {
            w.sample(
                "certcentral_order_reissues",
                &LabelBlock::extend(&row.labels, "status", status),
                f64::from(*count),
            );
        }
    }
    w.family(
        "certcentral_order_pending_requests",
        Kind::Gauge,
        "Requests on the order waiting on approval or validation (status pending or submitted); orders without any have no series.",
    );
    for row in rows.iter().filter(|r| r.series) {
        let waiting = row
            .order
            .details
            .as_ref()
            .map_or(0, |d| d.waiting_requests().count());
        if waiting > 0 {
            w.sample(
                "certcentral_order_pending_requests",
                &row.labels,
                waiting as f64,
            );
        }
    }
    w.family(
        "certcentral_order_oldest_pending_request_age_seconds",
        Kind::Gauge,
        "Age of the order's oldest request still pending or submitted, at the latest render (each poll, and as each UTC day ends).",
    );
    for row in rows.iter().filter(|r| r.series) {
        let oldest = row
            .order
            .details
            .as_ref()
            .and_then(|d| d.waiting_requests().filter_map(|r| r.date).min());
        if let Some(oldest) = oldest {
            let age = (now - oldest).num_seconds().max(0);
            w.sample(
                "certcentral_order_oldest_pending_request_age_seconds",
                &row.labels,
                age as f64,
            );
        }
    }
    validations::render(&mut w, states, &assessments, now, settings);
    details(&mut w, &accounts);

    subaccounts(&mut w, states);

    let all_polled = states.iter().all(|s| s.last_poll.is_some());
    Exposition {
        body: w.finish(),
        all_polled,
    }
}

/// A per-order family over the orders with a certificate in use.
fn per_order(
    w: &mut TextWriter,
    rows: &[Row<'_>],
    name: &str,
    help: &str,
    value: impl Fn(&Order) -> Option<f64>,
) {
    per_order_row(w, rows, name, help, |row| value(row.order));
}

/// [`per_order`] for values that need the row, not just the order.
fn per_order_row(
    w: &mut TextWriter,
    rows: &[Row<'_>],
    name: &str,
    help: &str,
    value: impl Fn(&Row<'_>) -> Option<f64>,
) {
    w.family(name, Kind::Gauge, help);
    for row in rows.iter().filter(|r| r.certificate && r.series) {
        if let Some(v) = value(row) {
            w.sample(name, &row.labels, v);
        }
    }
}

/// Counts of unexpired certificates expiring within 7, 30 and 90 days, by
/// account, container and product: what dashboards and alerts fall back
/// on when per-order series are cut for very large accounts.
///
/// Subaccount orders count too; nothing is known of their automation, so
/// they count as actionable (an alert early rather than never).
fn expiring_aggregates(
    w: &mut TextWriter,
    rows: &[Row<'_>],
    sub_rows: &[SubaccountRow<'_>],
    now: DateTime<Utc>,
) {
    // One entry per account, container and product, a count per window
    // (a map of every order's three windows was 5% of a render).
    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut all: HashMap<Key<'_>, [(usize, usize); EXPIRING_WITHIN_DAYS.len()]> = HashMap::new();
    let orders = rows.iter().filter(|r| r.certificate).filter_map(|row| {
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
    let subaccount_orders = sub_rows.iter().filter_map(|row| {
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
    w.family(
        "certcentral_certificates_expiring",
        Kind::Gauge,
        "Unexpired certificates in use that expire within the window (7d, 30d, 90d), by container and product.",
    );
    for (labels, (count, _)) in series() {
        w.sample("certcentral_certificates_expiring", &labels, count as f64);
    }
    w.family(
        "certcentral_actionable_certificates_expiring",
        Kind::Gauge,
        "The same, counting only actionable orders (nothing will replace the certificate in time).",
    );
    for (labels, (_, count)) in series() {
        w.sample(
            "certcentral_actionable_certificates_expiring",
            &labels,
            count as f64,
        );
    }
}

/// An issued subaccount order (that the report does not hold), with its
/// label blocks: it shares the expiry families, and its info series
/// carries `subaccount_id`.
struct SubaccountRow<'a> {
    account: &'a str,
    labels: String,
    info_labels: String,
    order: &'a SubaccountOrderRecord,
}

/// The issued subaccount orders of every account.
fn subaccount_rows(states: &[Arc<AccountState>]) -> Vec<SubaccountRow<'_>> {
    let mut rows = Vec::new();
    for state in states {
        let Some(fleet) = &state.fleet else { continue };
        for order in &fleet.subaccount_orders {
            if STATUSES_WITH_CERTIFICATE.contains(&&*order.status) && order.valid_till.is_some() {
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

/// How far each account's order details are: what is still due, by
/// reason, and how old the oldest details in use are. Apart from
/// `certcentral_up`, which says only whether the report was read.
fn details(w: &mut TextWriter, accounts: &[(&AccountState, String)]) {
    w.family(
        "certcentral_details_backlog",
        Kind::Gauge,
        "Order details and reissue lists due but not read yet (new or changed orders, reissue lists, waiting and routine refreshes), after the latest poll's details step.",
    );
    for (state, labels) in accounts {
        w.sample(
            "certcentral_details_backlog",
            labels,
            state.details.backlog() as f64,
        );
    }
    w.family(
        "certcentral_details_due",
        Kind::Gauge,
        "Order details and reissue lists due but not read yet, by reason: new (details unknown for the current report row), reissues (reissue list missing or older than the details), waiting, refresh.",
    );
    for (state, labels) in accounts {
        for reason in Reason::ALL {
            w.sample(
                "certcentral_details_due",
                &LabelBlock::extend(labels, "reason", reason.as_str()),
                state.details.due(reason) as f64,
            );
        }
    }
    w.family(
        "certcentral_details_oldest_timestamp_seconds",
        Kind::Gauge,
        "Unix time at which the oldest order details in use were read (absent before any are known).",
    );
    for (state, labels) in accounts {
        if let Some(oldest) = state.details.oldest {
            w.sample(
                "certcentral_details_oldest_timestamp_seconds",
                labels,
                unix_seconds(oldest),
            );
        }
    }
}

/// Subaccount orders: counts by status and cost by currency per subaccount.
fn subaccounts(w: &mut TextWriter, states: &[Arc<AccountState>]) {
    type Key<'a> = (&'a str, u64, &'a str, &'a str);
    let mut by_status: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    let mut cost: BTreeMap<Key<'_>, f64> = BTreeMap::new();
    for state in states {
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
    w.family(
        "certcentral_subaccount_orders",
        Kind::Gauge,
        "Orders of subaccounts, by subaccount and status.",
    );
    for (key, count) in &by_status {
        let labels = key_labels(key).with("status", key.3).finish();
        w.sample("certcentral_subaccount_orders", &labels, *count as f64);
    }
    w.family(
        "certcentral_subaccount_order_cost",
        Kind::Gauge,
        "Total cost of subaccount orders (and their reissues), by subaccount and currency.",
    );
    for (key, amount) in &cost {
        let labels = key_labels(key).with("currency", key.3).finish();
        w.sample("certcentral_subaccount_order_cost", &labels, *amount);
    }
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::time::Duration;

    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::board::PollOutcome;
    use crate::certcentral::report::ReportRow;
    use crate::fleet::fixtures::{details, row};
    use crate::fleet::{Fleet, OrderDetails, Request, Subaccounts, fingerprint};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn state() -> Arc<AccountState> {
        let rows = vec![
            ReportRow {
                order_id: 1,
                valid_till: Some(day(2026, 12, 3)),
                common_name: "a\"b\\c.example".into(),
                ..row()
            },
            ReportRow {
                order_id: 2,
                status: "needs_approval".into(),
                valid_till: None,
                ..row()
            },
            ReportRow {
                order_id: 3,
                status: "canceled".into(),
                ..row()
            },
            ReportRow {
                order_id: 4,
                status: "expired".into(),
                valid_till: Some(day(2026, 11, 18)),
                ..row()
            },
            ReportRow {
                order_id: 5,
                valid_till: Some(day(2027, 2, 1)),
                auto_renew: true,
                renewed_order_id: Some(4),
                ..row()
            },
        ];
        let mut waiting = details();
        waiting.requests = vec![Request {
            kind: "new_request".into(),
            status: "pending".into(),
            date: Some(now() - chrono::Duration::days(5)),
        }];
        waiting.fingerprint = fingerprint(&rows[1]);
        let mut detail_map: HashMap<u64, Arc<OrderDetails>> = HashMap::new();
        detail_map.insert(2, Arc::new(waiting));
        let subaccounts = Subaccounts::Listed(vec![
            crate::fleet::SubaccountOrderRecord {
                order_id: 1, // also in the report: exported once
                subaccount_id: 77,
                subaccount_organization: "Sub".into(),
                status: "issued".into(),
                common_name: "dup.example".into(),
                product: "ssl_plus".into(),
                valid_till: Some(day(2030, 1, 1)),
                cost: vec![],
            },
            crate::fleet::SubaccountOrderRecord {
                order_id: 900,
                subaccount_id: 77,
                subaccount_organization: "Sub".into(),
                status: "issued".into(),
                common_name: "sub.example".into(),
                product: "ssl_plus".into(),
                valid_till: Some(day(2026, 12, 24)),
                cost: vec![("USD".into(), 100.0), ("EUR".into(), 5.5)],
            },
        ]);
        let fleet = Fleet::build(rows, &detail_map, &subaccounts, 2, now());
        Arc::new(AccountState {
            account: "prod".into(),
            poll_interval: Duration::from_secs(900),
            fleet: Some(Arc::new(fleet)),
            up: true,
            last_success: Some(now()),
            last_poll: Some(PollOutcome {
                ended_at: now(),
                duration: Duration::from_millis(1500),
                failure: None,
                incomplete: Vec::new(),
            }),
            details: Default::default(),
            validations: None,
        })
    }

    fn parse(text: &str) -> Vec<prometheus_parse::Sample> {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .unwrap()
            .samples
    }

    fn value(
        samples: &[prometheus_parse::Sample],
        metric: &str,
        labels: &[(&str, &str)],
    ) -> Option<f64> {
        samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn renders_a_fleet_prometheus_can_read() {
        let exposition = render(&[state()], now(), &RenderSettings::default(), None);
        let text = &String::from_utf8(exposition.body.text()).unwrap();
        let samples = parse(text);
        // No series twice: Prometheus would reject the whole scrape.
        let mut seen = HashSet::new();
        for s in &samples {
            let mut labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            assert!(
                seen.insert((s.metric.clone(), labels.join(","))),
                "duplicate {} {:?}",
                s.metric,
                s.labels
            );
            assert_eq!(
                s.labels.get("account"),
                Some("prod"),
                "{} carries account",
                s.metric
            );
        }
        fn o(id: &str) -> Vec<(&str, &str)> {
            vec![("order_id", id)]
        }
        assert_eq!(value(&samples, "certcentral_up", &[]), Some(1.0));
        assert_eq!(
            value(&samples, "certcentral_report_rows_skipped", &[]),
            Some(2.0)
        );
        assert_eq!(
            value(&samples, "certcentral_orders", &[("status", "issued")]),
            Some(2.0)
        );
        assert_eq!(
            value(&samples, "certcentral_orders", &[("status", "canceled")]),
            Some(1.0)
        );
        // 2026-12-03 23:59:59 UTC; 10.5 days from now floors to 10.
        assert_eq!(
            value(
                &samples,
                "certcentral_certificate_expiry_timestamp_seconds",
                &o("1")
            ),
            Some(1_796_342_399.0)
        );
        assert_eq!(
            value(&samples, "certcentral_certificate_days_remaining", &o("1")),
            Some(10.0)
        );
        assert_eq!(
            value(&samples, "certcentral_certificate_days_remaining", &o("4")),
            Some(-5.0)
        );
        assert!(
            value(&samples, "certcentral_certificate_days_remaining", &o("2")).is_none(),
            "not issued"
        );
        assert!(
            value(&samples, "certcentral_order_auto_renew", &o("3")).is_none(),
            "canceled"
        );
        assert_eq!(
            value(&samples, "certcentral_order_renewed", &o("4")),
            Some(1.0),
            "renewed by order 5"
        );
        assert_eq!(
            value(&samples, "certcentral_order_actionable", &o("1")),
            Some(1.0)
        );
        assert_eq!(
            value(&samples, "certcentral_order_actionable", &o("5")),
            Some(0.0),
            "auto-renew, 70 days left"
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_compliance_violation",
                &[("order_id", "1"), ("rule", "auto_renew_disabled")]
            ),
            Some(1.0)
        );
        assert!(
            value(
                &samples,
                "certcentral_compliance_violation",
                &[("order_id", "4"), ("rule", "expired_not_renewed")]
            )
            .is_none(),
            "renewed"
        );
        assert_eq!(
            value(&samples, "certcentral_order_pending_requests", &o("2")),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_compliance_violation",
                &[("order_id", "2"), ("rule", "approval_pending_too_long")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_order_oldest_pending_request_age_seconds",
                &o("2")
            ),
            Some(5.0 * 86_400.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_compliance_violations",
                &[("rule", "auto_renew_disabled")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_compliance_violations",
                &[("rule", "weak_key")]
            ),
            Some(0.0)
        );
        // Quotes and backslashes are escaped (prometheus-parse keeps the
        // escapes; the Prometheus end-to-end test reads them unescaped).
        assert!(text.contains(r#"common_name="a\"b\\c.example""#));
        // Subaccounts: the duplicate of order 1 is exported once, from the report.
        assert_eq!(
            value(
                &samples,
                "certcentral_certificate_days_remaining",
                &o("900")
            ),
            Some(31.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_order_info",
                &[
                    ("order_id", "900"),
                    ("subaccount_id", "77"),
                    ("common_name", "sub.example"),
                    ("organization", "Sub"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            samples
                .iter()
                .filter(|s| s.metric == "certcentral_order_info"
                    && s.labels.get("order_id") == Some("1"))
                .count(),
            1,
            "order 1 is described once, from the report"
        );
        // The descriptive labels, on the info series only.
        assert_eq!(
            value(
                &samples,
                "certcentral_order_info",
                &[
                    ("order_id", "5"),
                    ("common_name", "a.example"),
                    ("product", "ssl_plus"),
                    ("container", "c"),
                    ("organization", "o"),
                    ("signature_hash", "sha256"),
                    ("key_size", "2048"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_order_info",
                &[("order_id", "2"), ("key_size", "2048")]
            ),
            Some(1.0),
            "an order with only a waiting request is described too"
        );
        assert!(
            value(&samples, "certcentral_order_info", &o("3")).is_none(),
            "canceled, no series"
        );
        for s in &samples {
            let own: &[&str] = match s.metric.as_str() {
                "certcentral_order_info" => continue,
                "certcentral_compliance_violation" => &["rule"],
                "certcentral_order_reissues" => &["status"],
                _ if s.labels.get("order_id").is_none() => continue,
                _ => &[],
            };
            let mut names: Vec<&str> = s.labels.keys().map(String::as_str).collect();
            names.sort_unstable();
            let mut expected = vec!["account", "order_id"];
            expected.extend_from_slice(own);
            expected.sort_unstable();
            assert_eq!(names, expected, "{} {:?}", s.metric, s.labels);
        }
        assert!(
            !samples
                .iter()
                .any(|s| s.metric == "certcentral_certificate_info"),
            "folded into certcentral_order_info"
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_subaccount_orders",
                &[("subaccount_id", "77"), ("status", "issued")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_subaccount_order_cost",
                &[("currency", "EUR")]
            ),
            Some(5.5)
        );
        // Aggregates.
        assert_eq!(
            value(
                &samples,
                "certcentral_certificates_expiring",
                &[("within", "30d"), ("container", "c")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "certcentral_actionable_certificates_expiring",
                &[("within", "7d"), ("container", "c")]
            ),
            Some(0.0)
        );
    }

    #[test]
    fn cut_per_order_series_keep_the_aggregates() {
        let settings = RenderSettings {
            per_order: PerOrderLimits {
                horizon: Some(chrono::Duration::days(30)),
                statuses: None,
            },
            ..RenderSettings::default()
        };
        let exposition = render(&[state()], now(), &settings, None);
        let samples = parse(&String::from_utf8(exposition.body.text()).unwrap());
        let has = |id: &str| {
            samples.iter().any(|s| {
                s.metric == "certcentral_certificate_days_remaining"
                    && s.labels.get("order_id") == Some(id)
            })
        };
        assert!(has("1") && has("4"));
        assert!(!has("5"), "70 days out, past the horizon");
        // Orders 1 and 5 (70 days) from the report; subaccount order 900.
        let expiring = |container: &str| {
            value(
                &samples,
                "certcentral_certificates_expiring",
                &[("within", "90d"), ("container", container)],
            )
        };
        assert_eq!(expiring("c"), Some(2.0));
        assert_eq!(expiring(""), Some(1.0));
        assert_eq!(
            value(&samples, "certcentral_orders", &[("status", "issued")]),
            Some(2.0)
        );

        // An account's own limits replace the default ones.
        let own = RenderSettings {
            account_per_order: BTreeMap::from([(
                state().account.clone(),
                PerOrderLimits::default(),
            )]),
            ..settings
        };
        let text = String::from_utf8(render(&[state()], now(), &own, None).body.text()).unwrap();
        assert!(text.contains("order_id=\"5\""), "no limit for this account");
    }

    #[test]
    fn before_the_first_poll_up_is_zero() {
        let state = Arc::new(AccountState {
            account: "prod".into(),
            poll_interval: Duration::from_secs(60),
            fleet: None,
            up: false,
            last_success: None,
            last_poll: None,
            details: Default::default(),
            validations: None,
        });
        let exposition = render(&[state], now(), &RenderSettings::default(), None);
        let samples = parse(&String::from_utf8(exposition.body.text()).unwrap());
        assert_eq!(value(&samples, "certcentral_up", &[]), Some(0.0));
        assert!(
            value(
                &samples,
                "certcentral_last_successful_poll_timestamp_seconds",
                &[]
            )
            .is_none()
        );
    }

    #[test]
    fn a_later_poll_of_the_same_fleet_reuses_the_deflated_per_order_families() {
        let settings = RenderSettings::default();
        let first = render(&[state()], now(), &settings, None);
        let mut polled_again = (*state()).clone();
        let seconds_later = now() + chrono::Duration::seconds(900);
        polled_again.last_success = Some(seconds_later);
        if let Some(poll) = polled_again.last_poll.as_mut() {
            poll.ended_at = seconds_later;
            poll.duration = Duration::from_millis(1234);
        }
        let polled_again = [Arc::new(polled_again)];
        let second = render(&polled_again, now(), &settings, Some(&first));
        let fresh = render(&polled_again, now(), &settings, None);
        assert_eq!(
            second.body.text(),
            fresh.body.text(),
            "the same text either way"
        );
        let pieces = fresh.body.piece_count();
        let shared = second.body.shared_pieces(&first.body);
        // Only the three poll-time families changed.
        assert_eq!(shared, pieces - 3, "{shared} of {pieces} pieces reused");
    }

    /// Every day count in a text, by order id (subaccount orders too).
    fn days_by_order(text: &[u8]) -> BTreeMap<String, f64> {
        parse(std::str::from_utf8(text).unwrap())
            .into_iter()
            .filter(|s| s.metric == "certcentral_certificate_days_remaining")
            .map(|s| {
                let value = match s.value {
                    prometheus_parse::Value::Gauge(v) => v,
                    _ => f64::NAN,
                };
                (s.labels.get("order_id").unwrap_or("").to_owned(), value)
            })
            .collect()
    }

    #[test]
    fn the_end_of_day_render_moves_every_day_count_expired_ones_included() {
        let settings = RenderSettings::default();
        // Order 1 is valid till 2026-12-03: its last valid day. Order 4
        // expired on 2026-11-18. The render as the day ends runs a little
        // after 23:59:59, not on a whole second.
        let last_day = Utc.with_ymd_and_hms(2026, 12, 3, 23, 59, 58).unwrap();
        let boundary = crate::fleet::next_day_boundary(last_day);
        assert_eq!(
            boundary,
            Utc.with_ymd_and_hms(2026, 12, 3, 23, 59, 59).unwrap()
        );
        let after = boundary + chrono::Duration::milliseconds(100);
        let next_day = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        let evening = render(&[state()], last_day, &settings, None);
        let ended = render(&[state()], after, &settings, Some(&evening));
        let fresh = render(&[state()], after, &settings, None);
        assert_eq!(
            ended.body.text(),
            fresh.body.text(),
            "no stale piece of the evening's render is reused"
        );
        let expired_finding = |text: &[u8]| {
            parse(std::str::from_utf8(text).unwrap()).iter().any(|s| {
                s.metric == "certcentral_compliance_violation"
                    && s.labels.get("order_id") == Some("1")
                    && s.labels.get("rule") == Some("expired_not_renewed")
            })
        };
        assert!(
            !expired_finding(&evening.body.text()),
            "still valid on its last day"
        );
        assert!(expired_finding(&ended.body.text()), "expired once it ends");
        let next_day = days_by_order(&render(&[state()], next_day, &settings, None).body.text());
        let evening = days_by_order(&evening.body.text());
        let ended = days_by_order(&ended.body.text());
        assert_eq!(evening["1"], 0.0, "0 days on the last valid day");
        assert_eq!(ended["1"], -1.0, "expired after 23:59:59");
        assert_eq!(next_day["1"], -1.0, "expired at 00:00:00 the day after");
        assert_eq!(evening["4"], -15.0);
        assert_eq!(ended["4"], -16.0, "long expired");
        assert_eq!(evening.len(), 4, "orders 1, 4, 5 and 900: {evening:?}");
        for (order, days) in &evening {
            assert_eq!(ended[order], days - 1.0, "order {order}");
            assert_eq!(next_day[order], ended[order], "order {order}");
        }
    }
}
