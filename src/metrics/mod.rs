//! Metrics: the fleet snapshots rendered into the Prometheus exposition,
//! once per change (a poll, or the UTC day rolling over), never per scrape.
//! Counters that move between polls (API requests, poll results) live in a
//! `prometheus::Registry` and are appended at scrape time.
//!
//! Every rendered family is declared once, in [`families`]. One writer per
//! concern renders them, in this order:
//! - `health`: whether each account's polls work, and how far its order
//!   details are;
//! - `orders`: orders by status, and what each order with series is (its
//!   info series, settings, reissues, waiting requests);
//! - `expiry`: when certificates expire, per order and counted by window;
//! - `compliance`: the rules broken, per order and counted, and the
//!   manual-renewal outlook;
//! - `validations`: domain and organization validations, and what each
//!   order's renewal needs;
//! - `subaccounts`: subaccount orders counted and costed.
//!
//! [`render`] builds what they share once (a [`FleetView`]: the accounts
//! with their assessments, and the orders with series, chosen by
//! [`keeps_series`]) and calls them.

mod compliance;
mod expiry;
mod exposition;
pub(crate) use exposition::LabelBlock;
pub mod families;
pub(crate) mod gzip;
mod health;
mod orders;
mod subaccounts;
mod validations;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use exposition::TextWriter;
pub use exposition::{Family, Kind};
pub(crate) use gzip::GzipPrefix;

use crate::board::AccountState;
use crate::compliance::{Assessment, ComplianceSettings, Verdict, assess};
use crate::coverage::RenewalNeeds;
use crate::fleet::{Order, OrderStatus};
use subaccounts::SubaccountRow;

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

/// The rendered fleet metrics, shared by every scrape until the next
/// render; kept deflated (see [`gzip`]).
pub struct Exposition {
    /// The text, deflated in pieces.
    pub(crate) body: GzipPrefix,
    /// Every account had finished a poll when this was rendered: readiness
    /// follows what `/metrics` serves, not what the poller knows.
    pub(crate) all_polled: bool,
    /// Accounts whose domain list says nothing of their names (empty, or
    /// covering none), for the log to say once.
    pub(crate) domains_inconclusive: Vec<String>,
}

/// Whether an order gets per-order series at `now`.
fn is_exported(order: &Order, now: DateTime<Utc>, settings: &RenderSettings) -> bool {
    order.counts_toward_expiry(now, settings.expired_retention)
}

/// Whether an order keeps its per-order series under the cardinality
/// limits (`--metrics.per-order-statuses`, `--metrics.per-order-horizon`).
fn wants_series(order: &Order, now: DateTime<Utc>, limits: &PerOrderLimits) -> bool {
    // An order waiting on approval keeps its series: the approval alert
    // needs them, whatever the certificate's expiry.
    within_limits(order.status(), order.expiry(), now, limits) || has_waiting_requests(order)
}

/// Whether an order of `status` expiring at `expiry` is within the
/// cardinality limits: the one test for report and subaccount orders.
fn within_limits(
    status: OrderStatus<'_>,
    expiry: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    limits: &PerOrderLimits,
) -> bool {
    let status_ok = limits
        .statuses
        .as_ref()
        .is_none_or(|statuses| statuses.iter().any(|s| s == status.as_str()));
    let horizon_ok = match (limits.horizon, expiry) {
        (Some(horizon), Some(expiry)) => expiry - now <= horizon,
        _ => true,
    };
    status_ok && horizon_ok
}

/// Whether an order gets any series at all: a certificate, or a request
/// waiting on someone.
fn has_waiting_requests(order: &Order) -> bool {
    order
        .details
        .as_ref()
        .is_some_and(|d| d.waiting_requests().next().is_some())
}

/// Whether an order keeps its per-order series: what the cardinality
/// limits want ([`wants_series`]), or what the validation alerts need
/// ([`validations::needs_series`]). The one decision every per-order
/// writer follows (through [`Row::series`]).
fn keeps_series(
    order: &Order,
    verdict: &Verdict,
    now: DateTime<Utc>,
    limits: &PerOrderLimits,
) -> bool {
    wants_series(order, now, limits) || validations::needs_series(order, verdict, now, limits)
}

/// An account as the writers read it.
struct Account<'a> {
    state: &'a AccountState,
    /// Its `{account="..."}` block.
    labels: String,
    /// Its orders judged, once it has a fleet.
    assessment: Option<Assessment<'a>>,
}

/// An order with series, and its label block.
struct Row<'a> {
    account: &'a str,
    order: &'a Order,
    /// `{account="...",order_id="..."}` when `series`, else empty.
    labels: String,
    /// The order has a certificate in use (or recently expired): all the
    /// per-order series. Otherwise only its waiting-request and finding
    /// series.
    certificate: bool,
    /// Per-order series are kept ([`keeps_series`]); when not, the order
    /// still counts in the per-account aggregates.
    series: bool,
    verdict: Verdict,
    /// What its renewal needs, when the validations are known.
    needs: Option<&'a RenewalNeeds<'a>>,
}

impl Row<'_> {
    /// The row has every per-order series (a certificate in use, kept).
    fn all_series(&self) -> bool {
        self.certificate && self.series
    }
}

/// What every writer reads: one render's instant and settings, the
/// accounts, and the orders with series.
struct FleetView<'a> {
    now: DateTime<Utc>,
    settings: &'a RenderSettings,
    accounts: &'a [Account<'a>],
    /// Report orders with any series, by account, in report order.
    rows: &'a [Row<'a>],
    /// Issued subaccount orders the report does not hold.
    subaccount_rows: &'a [SubaccountRow<'a>],
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
    let accounts = accounts(states, now, settings);
    let rows = rows(&accounts, now, settings);
    let subaccount_rows = subaccounts::rows(&accounts, now, settings);
    let view = FleetView {
        now,
        settings,
        accounts: &accounts,
        rows: &rows,
        subaccount_rows: &subaccount_rows,
    };
    let mut w = TextWriter::new(previous.map(|p| &p.body));
    health::write(&mut w, &view);
    orders::write(&mut w, &view);
    expiry::write(&mut w, &view);
    compliance::write(&mut w, &view);
    validations::write(&mut w, &view);
    subaccounts::write(&mut w, &view);
    let domains_inconclusive = accounts
        .iter()
        .filter(|a| {
            a.assessment
                .as_ref()
                .is_some_and(|a| a.domains_conclusive == Some(false))
        })
        .map(|a| a.state.account.clone())
        .collect();
    Exposition {
        body: w.finish(),
        all_polled: states.iter().all(|s| s.last_poll.is_some()),
        domains_inconclusive,
    }
}

/// Every account with its label block and its assessment at `now`.
fn accounts<'a>(
    states: &'a [Arc<AccountState>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) -> Vec<Account<'a>> {
    states
        .iter()
        .map(|state| Account {
            state,
            labels: LabelBlock::new().with("account", &state.account).finish(),
            assessment: state.fleet.as_ref().map(|fleet| {
                let settings = settings.compliance_for(&state.account);
                assess(fleet, state.validations.as_deref(), now, settings)
            }),
        })
        .collect()
}

/// The report orders with any series: a certificate in use, a request
/// waiting, or a finding.
fn rows<'a>(
    accounts: &'a [Account<'a>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) -> Vec<Row<'a>> {
    let mut rows = Vec::new();
    for account in accounts {
        let (Some(fleet), Some(assessment)) = (&account.state.fleet, &account.assessment) else {
            continue;
        };
        let name = &account.state.account;
        let limits = settings.per_order_for(name);
        let judged = assessment.verdicts.iter().zip(&assessment.needs);
        for (order, (verdict, needs)) in fleet.orders.iter().zip(judged) {
            let certificate = is_exported(order, now, settings);
            if certificate || has_waiting_requests(order) || !verdict.findings.is_empty() {
                let series = keeps_series(order, verdict, now, limits);
                rows.push(Row {
                    account: name,
                    order,
                    labels: if series {
                        order_labels(name, order.id())
                    } else {
                        String::new()
                    },
                    certificate,
                    series,
                    verdict: *verdict,
                    needs: needs.as_ref(),
                });
            }
        }
    }
    rows
}

/// The labels of every per-order series: the account and the order id,
/// nothing else. What describes the order is on its info series
/// (`certcentral_order_info`), joined in by queries, so that a descriptive
/// label is stored once per order and renaming a container changes one
/// series, not a dozen.
fn order_labels(account: &str, order_id: u64) -> String {
    LabelBlock::new()
        .with("account", account)
        .with("order_id", &order_id.to_string())
        .finish()
}

/// A per-order family over the rows with all their series.
fn per_order(
    w: &mut TextWriter,
    rows: &[Row<'_>],
    family: &'static Family,
    value: impl Fn(&Row<'_>) -> Option<f64>,
) {
    let mut samples = w.family(family);
    for row in rows.iter().filter(|r| r.all_series()) {
        if let Some(v) = value(row) {
            samples.sample(&row.labels, v);
        }
    }
}

/// A sample's value for a flag.
fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

/// A sample's value for an instant: Unix seconds, to the millisecond.
fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap, HashSet};
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
                identity: Default::default(),
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
                identity: Default::default(),
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
            // Every series but the process's own build_info.
            let account = (s.metric != "certcentral_build_info").then_some("prod");
            assert_eq!(
                s.labels.get("account"),
                account,
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
            value(&samples, "certcentral_order_handled", &o("1")),
            None,
            "nothing replaces it: no series"
        );
        assert_eq!(
            value(&samples, "certcentral_order_handled", &o("5")),
            Some(1.0),
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
    fn renders_the_declared_families_with_their_labels_only() {
        let text = String::from_utf8(
            render(&[state()], now(), &RenderSettings::default(), None)
                .body
                .text(),
        )
        .unwrap();
        let rendered: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let declared: Vec<&str> = families::ALL.iter().map(|f| f.name).collect();
        assert_eq!(rendered, declared, "every family declared, in order");
        let samples = parse(&text);
        for s in &samples {
            let family = families::ALL
                .iter()
                .find(|f| f.name == s.metric)
                .expect("a declared family");
            for label in s.labels.keys() {
                assert!(
                    family.labels.contains(&label.as_str()),
                    "{} carries undeclared {label}",
                    s.metric
                );
            }
        }
        assert!(samples.len() > 50, "the fleet renders: {text}");
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

    /// Subaccount orders follow the per-order limits of report orders (the
    /// statuses filter, the horizon; the aggregates count those the limits
    /// cut); an expired one gets no series, retention or not, since
    /// nothing says whether it was renewed.
    #[test]
    fn subaccount_orders_follow_the_one_series_policy() {
        let sub = |id: u64, status: &str, till: NaiveDate| crate::fleet::SubaccountOrderRecord {
            order_id: id,
            subaccount_id: 77,
            subaccount_organization: "Sub".into(),
            status: status.into(),
            common_name: format!("s{id}.example").into(),
            product: "ssl_plus".into(),
            valid_till: Some(till),
            cost: vec![],
            identity: Default::default(),
        };
        let subaccounts = Subaccounts::Listed(vec![
            sub(901, "issued", day(2026, 12, 10)),
            sub(902, "issued", day(2027, 2, 1)),
            sub(903, "expired", day(2026, 11, 10)),
            sub(904, "expired", day(2026, 9, 1)),
        ]);
        let fleet = Fleet::build(
            Vec::<ReportRow>::new(),
            &HashMap::new(),
            &subaccounts,
            0,
            now(),
        );
        let state = Arc::new(AccountState {
            fleet: Some(Arc::new(fleet)),
            ..(*state()).clone()
        });
        let exported = |settings: &RenderSettings| -> BTreeSet<String> {
            let text = String::from_utf8(
                render(std::slice::from_ref(&state), now(), settings, None)
                    .body
                    .text(),
            )
            .unwrap();
            parse(&text)
                .into_iter()
                .filter(|s| s.metric == "certcentral_certificate_days_remaining")
                .filter_map(|s| s.labels.get("order_id").map(str::to_owned))
                .collect()
        };
        let ids = |list: &[&str]| {
            list.iter()
                .map(|s| (*s).to_owned())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            exported(&RenderSettings::default()),
            ids(&["901", "902"]),
            "expired ones, even 13 days ago within the 30-day retention, page no one"
        );
        let horizon = RenderSettings {
            per_order: PerOrderLimits {
                horizon: Some(chrono::Duration::days(30)),
                statuses: None,
            },
            ..RenderSettings::default()
        };
        assert_eq!(exported(&horizon), ids(&["901"]));
        let text = String::from_utf8(
            render(std::slice::from_ref(&state), now(), &horizon, None)
                .body
                .text(),
        )
        .unwrap();
        assert_eq!(
            value(
                &parse(&text),
                "certcentral_certificates_expiring",
                &[("within", "90d")]
            ),
            Some(2.0),
            "the aggregate counts the order past the horizon"
        );
        let statuses = RenderSettings {
            per_order: PerOrderLimits {
                horizon: None,
                statuses: Some(vec!["expired".into()]),
            },
            ..RenderSettings::default()
        };
        assert!(exported(&statuses).is_empty());
        let issued = RenderSettings {
            per_order: PerOrderLimits {
                horizon: None,
                statuses: Some(vec!["issued".into()]),
            },
            ..RenderSettings::default()
        };
        assert_eq!(exported(&issued), ids(&["901", "902"]));
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
