//! Compliance: what CertCentral knows about each order, turned into
//! findings (rules an order breaks) and into the *actionable* flag that
//! tells on-call whether anything will replace a certificate before it
//! expires. Pure functions of a fleet, the time, and the settings.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::certcentral::report::CsrKey;
use crate::coverage::{
    RenewalNeeds, Scope, ValidationIndex, ValidationType, order_names, too_many_names,
};
use crate::fleet::{Fleet, Order, days_until};

/// A compliance rule: a value of the `rule` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    WeakSignatureHash,
    WeakKey,
    CsrUnreadable,
    ValidityExceedsBaseline,
    AutoRenewDisabled,
    RenewalNotificationsDisabled,
    DuplicatesPresent,
    OutOfContract,
    CtLoggingDisabled,
    ApprovalPendingTooLong,
    ExpiredNotRenewed,
    ValidationExpiresBeforeRenewal,
    NameNotCovered,
    TooManyNames,
}

impl Rule {
    /// Every rule, in label order.
    pub const ALL: [Rule; 14] = [
        Rule::WeakSignatureHash,
        Rule::WeakKey,
        Rule::CsrUnreadable,
        Rule::ValidityExceedsBaseline,
        Rule::AutoRenewDisabled,
        Rule::RenewalNotificationsDisabled,
        Rule::DuplicatesPresent,
        Rule::OutOfContract,
        Rule::CtLoggingDisabled,
        Rule::ApprovalPendingTooLong,
        Rule::ExpiredNotRenewed,
        Rule::ValidationExpiresBeforeRenewal,
        Rule::NameNotCovered,
        Rule::TooManyNames,
    ];

    /// The `rule` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::WeakSignatureHash => "weak_signature_hash",
            Rule::WeakKey => "weak_key",
            Rule::CsrUnreadable => "csr_unreadable",
            Rule::ValidityExceedsBaseline => "validity_exceeds_baseline",
            Rule::AutoRenewDisabled => "auto_renew_disabled",
            Rule::RenewalNotificationsDisabled => "renewal_notifications_disabled",
            Rule::DuplicatesPresent => "duplicates_present",
            Rule::OutOfContract => "out_of_contract",
            Rule::CtLoggingDisabled => "ct_logging_disabled",
            Rule::ApprovalPendingTooLong => "approval_pending_too_long",
            Rule::ExpiredNotRenewed => "expired_not_renewed",
            Rule::ValidationExpiresBeforeRenewal => "validation_expires_before_renewal",
            Rule::NameNotCovered => "name_not_covered",
            Rule::TooManyNames => "too_many_names",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(text: &str) -> Result<Rule, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "'{text}' is not a rule (rules: {})",
                    Rule::ALL.map(Rule::as_str).join(", ")
                )
            })
    }
}

/// The rules an order breaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings(u16);

impl Findings {
    pub fn contains(self, rule: Rule) -> bool {
        self.0 & rule.bit() != 0
    }

    fn insert(&mut self, rule: Rule) {
        self.0 |= rule.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

/// Thresholds and switches, per account.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceSettings {
    /// Rules switched off.
    pub disabled: BTreeSet<Rule>,
    /// How close to expiry `auto_renew_disabled` starts to count.
    pub warning_window: Duration,
    /// How long a request may wait before `approval_pending_too_long`.
    pub approval_pending_threshold: Duration,
    /// Auto-renew (and auto-reissue) act about 30 days before expiry; a
    /// certificate still not replaced this close to expiry is actionable.
    pub auto_renew_grace: Duration,
    /// How long before expiry CertCentral's auto-renew acts: a validation
    /// the renewal needs that ends before then stalls it.
    pub auto_renew_lead: Duration,
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    /// Manual renewals a year above which an order counts in the
    /// short-lived-certificate outlook.
    pub manual_renewals_threshold: u32,
    /// How long an expired order still counts for `expired_not_renewed`.
    pub expired_retention: Duration,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        ComplianceSettings {
            disabled: BTreeSet::new(),
            warning_window: Duration::from_secs(30 * 86_400),
            approval_pending_threshold: Duration::from_secs(3 * 86_400),
            auto_renew_grace: Duration::from_secs(14 * 86_400),
            auto_renew_lead: Duration::from_secs(30 * 86_400),
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            manual_renewals_threshold: 2,
            expired_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The CA/Browser Forum's maximum TLS certificate validity, by issue date:
/// 825 days from 2018-03-01 (Ballot 193), 398 days from 2020-09-01
/// (Ballot SC31), then 200 days from 2026-03-15, 100 days from 2027-03-15
/// and 47 days from 2029-03-15 (Ballot SC-081v3). Before 2018-03-01, 39
/// months (1,185 days; Ballot 193's predecessor rule).
pub const BASELINE_STEPS: [(NaiveDate, u32); 6] = [
    (date(2015, 4, 1), 1185),
    (date(2018, 3, 1), 825),
    (date(2020, 9, 1), 398),
    (date(2026, 3, 15), 200),
    (date(2027, 3, 15), 100),
    (date(2029, 3, 15), 47),
];

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(day) => day,
        None => NaiveDate::MIN,
    }
}

/// The maximum validity in days for a certificate issued on `day`.
pub fn max_validity_days(day: NaiveDate) -> u32 {
    BASELINE_STEPS
        .iter()
        .rev()
        .find(|(from, _)| day >= *from)
        .map_or(BASELINE_STEPS[0].1, |(_, days)| *days)
}

/// Baseline steps that come into force after `today`, as (date, days).
pub fn future_baseline_steps(today: NaiveDate) -> impl Iterator<Item = (NaiveDate, u32)> {
    BASELINE_STEPS
        .into_iter()
        .filter(move |(from, _)| *from > today)
}

/// Signature hashes of SHA-256 strength or better.
fn is_strong_hash(hash: &str) -> bool {
    let normalized: String = hash
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        normalized.as_str(),
        "sha256"
            | "sha384"
            | "sha512"
            | "sha2256"
            | "sha2384"
            | "sha2512"
            | "sha3256"
            | "sha3384"
            | "sha3512"
    )
}

/// What compliance says about one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    pub findings: Findings,
    /// Nothing will replace the certificate before it expires.
    pub actionable: bool,
    /// Auto-renew or auto-reissue would act, but a validation record its
    /// renewal needs ends first: the reason it is actionable.
    pub renewal_blocked: bool,
    /// When the validation its renewal needs that ends first ends.
    pub first_validation_end: Option<DateTime<Utc>>,
}

/// Judges one order at `now`, with what its renewal needs (`None` when
/// the validations are not known).
pub fn judge(
    order: &Order,
    needs: Option<&RenewalNeeds<'_>>,
    now: DateTime<Utc>,
    settings: &ComplianceSettings,
) -> Verdict {
    let mut findings = Findings::default();
    let mut flag = |rule: Rule, broken: bool| {
        if broken && !settings.disabled.contains(&rule) {
            findings.insert(rule);
        }
    };
    let report = &order.report;
    let details = order.details.as_deref();
    let status = order.status();
    let in_use = status.is_in_use();
    let days_left = order.expiry().map(|e| days_until(e, now));
    let expired = status.is_expired() || (in_use && days_left.is_some_and(|d| d < 0));
    let renewal_blocked = in_use && renewal_blocked(order, needs, now, settings);
    let actionable =
        ((in_use || expired) && is_actionable(order, now, settings)) || renewal_blocked;

    if in_use {
        let hash = details
            .and_then(|d| d.signature_hash.as_deref())
            .filter(|h| !h.is_empty())
            .unwrap_or(&report.signature_hash);
        flag(
            Rule::WeakSignatureHash,
            !hash.is_empty() && !is_strong_hash(hash),
        );
        let weak = match report.csr_key {
            CsrKey::Rsa { bits } => bits < settings.min_rsa_bits,
            CsrKey::Ec { bits } => bits < settings.min_ec_bits,
            CsrKey::Missing | CsrKey::Unreadable | CsrKey::Other { .. } => false,
        };
        flag(Rule::WeakKey, weak);
        flag(Rule::CsrUnreadable, report.csr_key == CsrKey::Unreadable);
        flag(Rule::ValidityExceedsBaseline, exceeds_baseline(order));
        flag(Rule::DuplicatesPresent, report.has_duplicates);
        flag(Rule::OutOfContract, report.is_out_of_contract);
        flag(
            Rule::CtLoggingDisabled,
            details.and_then(|d| d.disable_ct) == Some(true),
        );
        flag(
            Rule::RenewalNotificationsDisabled,
            report.disable_renewal_notifications && !report.auto_renew && !order.renewed,
        );
        let window = days(settings.warning_window);
        flag(
            Rule::AutoRenewDisabled,
            actionable && !report.auto_renew && days_left.is_some_and(|d| (0..window).contains(&d)),
        );
        flag(
            Rule::ValidationExpiresBeforeRenewal,
            renewal_blocked
                && needs.is_some_and(|n| n.validation_ends_by(renewal_at(order, now, settings))),
        );
        flag(
            Rule::NameNotCovered,
            !order.renewed && needs.is_some_and(|n| !n.uncovered.is_empty()),
        );
        flag(
            Rule::TooManyNames,
            too_many_names(&report.common_name, &report.dns_names),
        );
    }
    let retention =
        chrono::Duration::from_std(settings.expired_retention).unwrap_or(chrono::Duration::MAX);
    flag(
        Rule::ExpiredNotRenewed,
        expired && !order.renewed && order.within_expired_retention(now, retention),
    );
    let oldest_waiting = details.and_then(|d| d.waiting_requests().filter_map(|r| r.date).min());
    flag(
        Rule::ApprovalPendingTooLong,
        oldest_waiting.is_some_and(|at| {
            (now - at).num_seconds() > settings.approval_pending_threshold.as_secs() as i64
        }),
    );
    Verdict {
        findings,
        actionable,
        renewal_blocked,
        first_validation_end: needs.and_then(|n| n.earliest()).and_then(|n| n.until),
    }
}

/// Whether the order's automation (auto-renew, or auto-reissue on a plan
/// that runs past the certificate) is set to replace it.
fn is_automated(order: &Order) -> bool {
    let auto_reissue = order.details.as_deref().is_some_and(|d| {
        d.auto_reissue
            && d.order_valid_till
                .is_some_and(|end| Some(end) > order.valid_till())
    });
    order.report.auto_renew || auto_reissue
}

/// When the renewal would need its validations: when auto-renew acts,
/// `auto_renew_lead` before expiry, or now if that has passed and the
/// certificate is still not replaced.
fn renewal_at(order: &Order, now: DateTime<Utc>, settings: &ComplianceSettings) -> DateTime<Utc> {
    let lead = chrono::Duration::from_std(settings.auto_renew_lead).unwrap_or_default();
    order
        .expiry()
        .and_then(|expiry| expiry.checked_sub_signed(lead))
        .map_or(now, |at| at.max(now))
}

/// True when automation would replace the certificate, but its renewal
/// will stall: a validation record it needs says it ends by the time
/// automation acts. Only such evidence blocks: a name that no record covers
/// is the finding `name_not_covered`, not a page (the key may not see the
/// domains, or the list may be incomplete).
pub fn renewal_blocked(
    order: &Order,
    needs: Option<&RenewalNeeds<'_>>,
    now: DateTime<Utc>,
    settings: &ComplianceSettings,
) -> bool {
    let Some(needs) = needs else { return false };
    !order.renewed
        && order.expiry().is_some()
        && is_automated(order)
        && needs.validation_ends_by(renewal_at(order, now, settings))
}

/// True when nothing will replace the order's active certificate before
/// it expires: no newer order renews it, and neither auto-renew nor (on a
/// Multi-year Plan that runs past the certificate) auto-reissue will act,
/// or the expiry is already closer than `auto_renew_grace`, by which time
/// they should have acted and did not.
pub fn is_actionable(order: &Order, now: DateTime<Utc>, settings: &ComplianceSettings) -> bool {
    if order.renewed {
        return false;
    }
    let Some(expiry) = order.expiry() else {
        return false;
    };
    !is_automated(order) || days_until(expiry, now) < days(settings.auto_renew_grace)
}

/// The active certificate is valid for longer than the baseline in force
/// on its issue date.
fn exceeds_baseline(order: &Order) -> bool {
    let reissued = order.details.as_deref().and_then(|d| d.reissues.as_ref());
    // A reissued certificate's validity is not known from its dates alone
    // (the reissue list has no valid_from): judge the report's certificate.
    if reissued.is_some_and(|r| {
        r.active_valid_till.is_some() && r.active_valid_till != order.report.valid_till
    }) {
        return false;
    }
    let (Some(from), Some(till)) = (order.report.valid_from, order.report.valid_till) else {
        return false;
    };
    (till - from).num_days() > i64::from(max_validity_days(from))
}

fn days(duration: Duration) -> i64 {
    (duration.as_secs() / 86_400) as i64
}

/// The findings of a whole fleet.
pub struct Assessment<'v> {
    /// Parallel to `fleet.orders`.
    pub verdicts: Vec<Verdict>,
    /// What each order's renewal needs, parallel to `fleet.orders`: `None`
    /// when the validations are not known, or the order holds no
    /// certificate in use.
    pub needs: Vec<Option<RenewalNeeds<'v>>>,
    /// Orders breaking each enabled rule (0 included).
    pub counts: Vec<(Rule, usize)>,
    /// For each baseline step still to come: (max validity days, issued
    /// orders renewed by hand, of those needing more than the threshold's
    /// renewals a year).
    pub outlook: Vec<(u32, usize, usize)>,
    /// For each coming domain validation reuse step: (reuse days, domains
    /// with a validation, of those needing more than the threshold's
    /// revalidations a year).
    pub reuse_outlook: Vec<(u32, usize, usize)>,
    /// Whether the domain list says anything of the account's names:
    /// `Some(false)` when it is empty or covers none of the names of the
    /// orders in use (a key that may not see the domains, a list cut
    /// short), so that no name is held to be uncovered; `None` while the
    /// list is not known.
    pub domains_conclusive: Option<bool>,
}

/// The CA/Browser Forum's maximum domain validation reuse, by issue date
/// (Ballot SC-081v3, BR 4.2.1): 398 days, then 200 days from 2026-03-15,
/// 100 days from 2027-03-15 and 10 days from 2029-03-15.
pub const REUSE_STEPS: [(NaiveDate, u32); 4] = [
    (date(2020, 9, 1), 398),
    (date(2026, 3, 15), 200),
    (date(2027, 3, 15), 100),
    (date(2029, 3, 15), 10),
];

/// Judges every order of a fleet, with the account's validations when
/// they are known.
pub fn assess<'v>(
    fleet: &Fleet,
    validations: Option<&'v ValidationIndex>,
    now: DateTime<Utc>,
    settings: &ComplianceSettings,
) -> Assessment<'v> {
    let mut needs: Vec<Option<RenewalNeeds<'v>>> = fleet
        .orders
        .iter()
        .map(|o| {
            let index = validations.filter(|_| o.status().is_in_use())?;
            let report = &o.report;
            Some(index.needs(
                order_names(&report.common_name, &report.dns_names),
                report.organization_id,
                &report.product_name_id,
                now,
            ))
        })
        .collect();
    // Conclusive when some name is covered, or when no order in use needs
    // a domain validation at all (DV products reuse none: there is nothing
    // to conclude, and nothing to warn about).
    let needs_domains = fleet.orders.iter().any(|o| {
        o.status().is_in_use() && ValidationType::of_product(&o.report.product_name_id).is_some()
    });
    let domains_conclusive = validations
        .filter(|index| index.snapshot().domains.is_some())
        .map(|_| {
            !needs_domains
                || needs
                    .iter()
                    .flatten()
                    .any(|n| n.needs.iter().any(|need| need.scope == Scope::Domain))
        });
    if domains_conclusive == Some(false) {
        // Every name would look uncovered: no conclusion instead.
        for n in needs.iter_mut().flatten() {
            n.uncovered.clear();
        }
    }
    let verdicts: Vec<Verdict> = fleet
        .orders
        .iter()
        .zip(&needs)
        .map(|(o, n)| judge(o, n.as_ref(), now, settings))
        .collect();
    let counts = Rule::ALL
        .into_iter()
        .filter(|r| !settings.disabled.contains(r))
        .map(|rule| {
            (
                rule,
                verdicts
                    .iter()
                    .filter(|v| v.findings.contains(rule))
                    .count(),
            )
        })
        .collect();
    let manual = fleet
        .orders
        .iter()
        .filter(|o| o.status().is_in_use() && !o.renewed && !is_automated(o))
        .count();
    let outlook = future_baseline_steps(now.date_naive())
        .map(|(_, max_days)| {
            let renewals_a_year = 365_u32.div_ceil(max_days);
            let over = if renewals_a_year > settings.manual_renewals_threshold {
                manual
            } else {
                0
            };
            (max_days, manual, over)
        })
        .collect();
    let validated = validations.map_or(0, |index| {
        index
            .snapshot()
            .domains
            .iter()
            .flatten()
            .filter(|d| d.active && (d.ov.is_some() || d.ev.is_some()))
            .count()
    });
    let reuse_outlook = REUSE_STEPS
        .into_iter()
        .filter(|(from, _)| *from > now.date_naive())
        .map(|(_, reuse_days)| {
            let revalidations_a_year = 365_u32.div_ceil(reuse_days);
            let over = if revalidations_a_year > settings.manual_renewals_threshold {
                validated
            } else {
                0
            };
            (reuse_days, validated, over)
        })
        .collect();
    Assessment {
        verdicts,
        needs,
        counts,
        outlook,
        reuse_outlook,
        domains_conclusive,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::certcentral::report::ReportRow;
    use crate::fleet::fixtures::{details, row};
    use crate::fleet::{OrderDetails, Request};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn order(report: ReportRow) -> Order {
        Order {
            renewed: report.is_renewed,
            report: Arc::new(report),
            details: None,
        }
    }

    fn with_details(report: ReportRow, details: OrderDetails) -> Order {
        let mut order = order(report);
        order.details = Some(Arc::new(details));
        order
    }

    fn findings(order: &Order) -> Vec<Rule> {
        judge(order, None, now(), &ComplianceSettings::default())
            .findings
            .iter()
            .collect()
    }

    #[test]
    fn a_clean_order_has_no_findings() {
        assert_eq!(
            findings(&order(ReportRow {
                valid_till: Some(day(2027, 3, 1)),
                ..row()
            })),
            []
        );
    }

    #[test]
    fn signature_hash() {
        for weak in ["sha1", "SHA1", "md5"] {
            let o = order(ReportRow {
                signature_hash: weak.into(),
                valid_till: Some(day(2027, 3, 1)),
                ..row()
            });
            assert_eq!(findings(&o), [Rule::WeakSignatureHash], "{weak}");
        }
        for strong in ["sha256", "SHA-384", "sha512", ""] {
            let o = order(ReportRow {
                signature_hash: strong.into(),
                valid_till: Some(day(2027, 3, 1)),
                ..row()
            });
            assert_eq!(findings(&o), [], "{strong}");
        }
        // The details' certificate hash wins over the report's request hash.
        let mut d = details();
        d.signature_hash = Some("sha1".into());
        let o = with_details(
            ReportRow {
                valid_till: Some(day(2027, 3, 1)),
                ..row()
            },
            d,
        );
        assert_eq!(findings(&o), [Rule::WeakSignatureHash]);
    }

    #[test]
    fn key_size_edges() {
        let case = |key| {
            findings(&order(ReportRow {
                csr_key: key,
                valid_till: Some(day(2027, 3, 1)),
                ..row()
            }))
        };
        assert_eq!(case(CsrKey::Rsa { bits: 2047 }), [Rule::WeakKey]);
        assert_eq!(case(CsrKey::Rsa { bits: 2048 }), []);
        assert_eq!(case(CsrKey::Ec { bits: 255 }), [Rule::WeakKey]);
        assert_eq!(case(CsrKey::Ec { bits: 256 }), []);
        assert_eq!(case(CsrKey::Unreadable), [Rule::CsrUnreadable]);
        assert_eq!(case(CsrKey::Missing), []);
    }

    #[test]
    fn baseline_in_force_on_each_issue_date() {
        assert_eq!(max_validity_days(day(2018, 2, 28)), 1185);
        assert_eq!(max_validity_days(day(2018, 3, 1)), 825);
        assert_eq!(max_validity_days(day(2020, 8, 31)), 825);
        assert_eq!(max_validity_days(day(2020, 9, 1)), 398);
        assert_eq!(max_validity_days(day(2026, 3, 14)), 398);
        assert_eq!(max_validity_days(day(2026, 3, 15)), 200);
        assert_eq!(max_validity_days(day(2027, 3, 14)), 200);
        assert_eq!(max_validity_days(day(2027, 3, 15)), 100);
        assert_eq!(max_validity_days(day(2029, 3, 14)), 100);
        assert_eq!(max_validity_days(day(2029, 3, 15)), 47);
    }

    #[test]
    fn validity_against_the_baseline_edges() {
        let case = |from: NaiveDate, days: i64| {
            let till = from + chrono::Duration::days(days);
            let o = order(ReportRow {
                valid_from: Some(from),
                valid_till: Some(till),
                auto_renew: true,
                ..row()
            });
            judge(&o, None, now(), &ComplianceSettings::default())
                .findings
                .contains(Rule::ValidityExceedsBaseline)
        };
        assert!(!case(day(2026, 3, 14), 398));
        assert!(case(day(2026, 3, 14), 399));
        assert!(!case(day(2026, 3, 15), 200));
        assert!(case(day(2026, 3, 15), 201));
        assert!(!case(day(2020, 8, 31), 825));
        assert!(case(day(2020, 9, 1), 399));
    }

    #[test]
    fn auto_renew_disabled_starts_at_the_warning_window() {
        // now is 2026-11-23 12:00; expiry 23:59:59 UTC of valid_till.
        let case = |till: NaiveDate, auto_renew: bool| {
            findings(&order(ReportRow {
                valid_till: Some(till),
                auto_renew,
                ..row()
            }))
            .contains(&Rule::AutoRenewDisabled)
        };
        assert!(case(day(2026, 12, 22), false), "29 days left");
        assert!(!case(day(2026, 12, 23), false), "30 days left");
        assert!(
            !case(day(2026, 11, 30), true),
            "auto-renew on, 7 days left: not yet actionable"
        );
        assert!(
            case(day(2026, 11, 23), false),
            "its last valid day: 0 days left"
        );
        assert!(!case(day(2026, 11, 22), false), "expired: a different rule");
    }

    #[test]
    fn actionable_follows_renewal_and_automation() {
        let s = ComplianceSettings::default();
        let manual = order(ReportRow {
            valid_till: Some(day(2026, 12, 20)),
            ..row()
        });
        assert!(is_actionable(&manual, now(), &s));
        let renewed = order(ReportRow {
            is_renewed: true,
            ..(*manual.report).clone()
        });
        assert!(!is_actionable(&renewed, now(), &s));
        // Auto-renew: trusted until the grace (14 days) before expiry.
        let auto = |till| {
            order(ReportRow {
                auto_renew: true,
                valid_till: Some(till),
                ..row()
            })
        };
        assert!(
            !is_actionable(&auto(day(2026, 12, 7)), now(), &s),
            "14 days left"
        );
        assert!(
            is_actionable(&auto(day(2026, 12, 6)), now(), &s),
            "13 days left"
        );
        // Auto-reissue on a plan that runs past the certificate.
        let mut plan = details();
        plan.auto_reissue = true;
        plan.order_valid_till = Some(day(2028, 6, 1));
        let reissuing = with_details(
            ReportRow {
                valid_till: Some(day(2026, 12, 20)),
                ..row()
            },
            plan.clone(),
        );
        assert!(!is_actionable(&reissuing, now(), &s));
        plan.order_valid_till = Some(day(2026, 12, 20));
        let plan_ends = with_details(
            ReportRow {
                valid_till: Some(day(2026, 12, 20)),
                ..row()
            },
            plan,
        );
        assert!(
            is_actionable(&plan_ends, now(), &s),
            "the plan ends with the certificate"
        );
    }

    #[test]
    fn expired_not_renewed_until_the_retention() {
        let case = |till: NaiveDate, status: &str, renewed: bool| {
            findings(&order(ReportRow {
                valid_till: Some(till),
                status: status.into(),
                is_renewed: renewed,
                ..row()
            }))
            .contains(&Rule::ExpiredNotRenewed)
        };
        assert!(case(day(2026, 11, 1), "expired", false));
        assert!(
            case(day(2026, 11, 22), "issued", false),
            "expired at the end of yesterday"
        );
        assert!(
            !case(day(2026, 11, 23), "issued", false),
            "valid till the end of today"
        );
        assert!(!case(day(2026, 11, 1), "expired", true), "renewed");
        assert!(case(day(2026, 10, 24), "expired", false), "29.5 days ago");
        assert!(
            !case(day(2026, 10, 23), "expired", false),
            "past the 30-day retention"
        );
    }

    #[test]
    fn the_last_valid_day_ends_at_23_59_59() {
        let last_day = order(ReportRow {
            valid_till: Some(day(2026, 11, 23)),
            ..row()
        });
        let at = |h, m, s| {
            let now = Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap();
            judge(&last_day, None, now, &ComplianceSettings::default()).findings
        };
        assert!(!at(23, 59, 58).contains(Rule::ExpiredNotRenewed));
        assert!(
            at(23, 59, 58).contains(Rule::AutoRenewDisabled),
            "0 days left"
        );
        let next_day = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        let findings = judge(&last_day, None, next_day, &ComplianceSettings::default()).findings;
        assert!(findings.contains(Rule::ExpiredNotRenewed));
        assert!(!findings.contains(Rule::AutoRenewDisabled));
    }

    #[test]
    fn approval_pending_edges() {
        let request = |hours: i64, status: &str| Request {
            kind: "new_request".into(),
            status: status.into(),
            date: Some(now() - chrono::Duration::hours(hours)),
        };
        let case = |r: Request| {
            let mut d = details();
            d.requests = vec![r];
            findings(&with_details(
                ReportRow {
                    status: "needs_approval".into(),
                    valid_till: None,
                    ..row()
                },
                d,
            ))
        };
        assert_eq!(case(request(73, "pending")), [Rule::ApprovalPendingTooLong]);
        assert_eq!(
            case(request(73, "submitted")),
            [Rule::ApprovalPendingTooLong]
        );
        assert_eq!(case(request(71, "pending")), []);
        assert_eq!(case(request(200, "approved")), []);
    }

    #[test]
    fn flags_from_the_report_and_details() {
        let base = ReportRow {
            valid_till: Some(day(2027, 3, 1)),
            ..row()
        };
        assert_eq!(
            findings(&order(ReportRow {
                has_duplicates: true,
                ..base.clone()
            })),
            [Rule::DuplicatesPresent]
        );
        assert_eq!(
            findings(&order(ReportRow {
                is_out_of_contract: true,
                ..base.clone()
            })),
            [Rule::OutOfContract]
        );
        assert_eq!(
            findings(&order(ReportRow {
                disable_renewal_notifications: true,
                ..base.clone()
            })),
            [Rule::RenewalNotificationsDisabled]
        );
        assert_eq!(
            findings(&order(ReportRow {
                disable_renewal_notifications: true,
                auto_renew: true,
                ..base.clone()
            })),
            [],
            "notifications matter only while auto-renew is off"
        );
        let mut d = details();
        d.disable_ct = Some(true);
        assert_eq!(findings(&with_details(base, d)), [Rule::CtLoggingDisabled]);
    }

    #[test]
    fn switched_off_rules_never_fire_and_are_not_counted() {
        let mut settings = ComplianceSettings::default();
        settings.disabled.insert(Rule::DuplicatesPresent);
        let o = order(ReportRow {
            has_duplicates: true,
            valid_till: Some(day(2027, 3, 1)),
            ..row()
        });
        assert!(judge(&o, None, now(), &settings).findings.is_empty());
        let fleet = Fleet {
            orders: vec![o],
            subaccount_orders: Vec::new(),
            skipped_rows: 0,
            read_at: now(),
        };
        let assessment = assess(&fleet, None, now(), &settings);
        assert!(
            assessment
                .counts
                .iter()
                .all(|(r, _)| *r != Rule::DuplicatesPresent)
        );
    }

    #[test]
    fn the_outlook_counts_manual_orders_under_each_coming_step() {
        let fleet = Fleet {
            orders: vec![
                order(row()),
                order(ReportRow {
                    order_id: 2,
                    auto_renew: true,
                    ..row()
                }),
                order(ReportRow {
                    order_id: 3,
                    status: "pending".into(),
                    ..row()
                }),
            ],
            subaccount_orders: Vec::new(),
            skipped_rows: 0,
            read_at: now(),
        };
        let assessment = assess(&fleet, None, now(), &ComplianceSettings::default());
        // From 2026-11-23 the steps to come are 100 days (2027) and 47 (2029):
        // 4 and 8 renewals a year, both over the threshold of 2.
        assert_eq!(assessment.outlook, [(100, 1, 1), (47, 1, 1)]);
    }

    /// An index of one domain record (`example.com`, organization 7)
    /// whose OV validation ends at `domain_until`, and organization 7's OV
    /// validation ending at `org_until`.
    fn validations(domain_until: &str, org_until: &str) -> ValidationIndex {
        use crate::coverage::{
            DomainValidation, OrganizationValidation, TypedValidation, ValidationSnapshot,
        };
        let valid = |until: &str| {
            Some(TypedValidation {
                until: Some(until.parse().unwrap()),
                status: Some("active".into()),
            })
        };
        ValidationIndex::new(Arc::new(ValidationSnapshot {
            fetched_at: now(),
            domains: Some(vec![DomainValidation {
                id: 1,
                name: "example.com".into(),
                organization_id: Some(7),
                subaccount_id: None,
                active: true,
                exact_only: false,
                ov: valid(domain_until),
                ev: None,
            }]),
            organizations: Some(vec![OrganizationValidation {
                id: 7,
                name: "Org".into(),
                ov: valid(org_until),
                ev: None,
            }]),
            subaccount_domains: Vec::new(),
        }))
    }

    #[test]
    fn a_validation_ending_before_auto_renew_acts_blocks_the_renewal() {
        // now 2026-11-23 12:00; expiry 2027-02-01 23:59:59 (the end of the
        // valid_till day), so auto-renew acts on 2027-01-02 23:59:59 UTC.
        let judge_with = |domain_until: &str, org_until: &str, names: &str, auto_renew: bool| {
            let index = validations(domain_until, org_until);
            let o = order(ReportRow {
                common_name: "www.example.com".into(),
                dns_names: names.into(),
                organization_id: Some(7),
                auto_renew,
                valid_till: Some(day(2027, 2, 1)),
                ..row()
            });
            let fleet = Fleet {
                orders: vec![o],
                subaccount_orders: Vec::new(),
                skipped_rows: 0,
                read_at: now(),
            };
            let assessment = assess(&fleet, Some(&index), now(), &ComplianceSettings::default());
            let v = assessment.verdicts[0];
            (
                v.actionable,
                v.renewal_blocked,
                v.findings.iter().collect::<Vec<_>>(),
            )
        };
        let later = "2027-06-01T06:00:00Z";
        assert_eq!(judge_with(later, later, "", true), (false, false, vec![]));
        assert_eq!(
            judge_with("2027-01-02T23:59:59Z", later, "", true),
            (true, true, vec![Rule::ValidationExpiresBeforeRenewal]),
            "ends as auto-renew acts"
        );
        assert_eq!(
            judge_with("2027-01-03T00:00:00Z", later, "", true),
            (false, false, vec![]),
            "outlives it by a second"
        );
        assert_eq!(
            judge_with(later, "2026-12-20T07:00:00Z", "", true),
            (true, true, vec![Rule::ValidationExpiresBeforeRenewal]),
            "the organization's validation"
        );
        // A name no record covers is a finding, not evidence that the
        // renewal stalls: no page.
        assert_eq!(
            judge_with(later, later, "api.example.com,www.example.org", true),
            (false, false, vec![Rule::NameNotCovered]),
            "a name no record covers"
        );
        // By hand: actionable anyway (auto-renew off); only the name finding.
        assert_eq!(
            judge_with("2026-12-01T07:00:00Z", later, "www.example.org", false),
            (true, false, vec![Rule::NameNotCovered])
        );
    }

    /// A domain list that covers none of the names (or is empty) is no
    /// conclusion: no name is uncovered, no order held up by a name, and
    /// the assessment says so; the organization's validation still counts.
    #[test]
    fn a_domain_list_that_covers_no_name_concludes_nothing() {
        let later = "2027-06-01T06:00:00Z";
        let assess_names = |names: &str, org_until: &str| {
            let index = validations(later, org_until);
            let fleet = Fleet {
                orders: vec![order(ReportRow {
                    common_name: names.into(),
                    organization_id: Some(7),
                    auto_renew: true,
                    valid_till: Some(day(2027, 2, 1)),
                    ..row()
                })],
                subaccount_orders: Vec::new(),
                skipped_rows: 0,
                read_at: now(),
            };
            let a = assess(&fleet, Some(&index), now(), &ComplianceSettings::default());
            (
                a.domains_conclusive,
                a.verdicts[0].actionable,
                a.verdicts[0].findings.iter().collect::<Vec<_>>(),
                a.needs[0].as_ref().map_or(0, |n| n.uncovered.len()),
            )
        };
        assert_eq!(
            assess_names("www.example.com", later),
            (Some(true), false, vec![], 0)
        );
        assert_eq!(
            assess_names("www.elsewhere.org", later),
            (Some(false), false, vec![], 0),
            "nothing covered: no conclusion"
        );
        assert_eq!(
            assess_names("www.elsewhere.org", "2026-12-20T07:00:00Z"),
            (
                Some(false),
                true,
                vec![Rule::ValidationExpiresBeforeRenewal],
                0
            ),
            "the organization's validation is evidence still"
        );
        let fleet = Fleet {
            orders: Vec::new(),
            subaccount_orders: Vec::new(),
            skipped_rows: 0,
            read_at: now(),
        };
        let a = assess(&fleet, None, now(), &ComplianceSettings::default());
        assert_eq!(a.domains_conclusive, None, "not read");
        // Only DV orders, whose renewals reuse no validation: nothing to
        // conclude, nothing to warn about, whatever the list covers.
        let index = validations(later, later);
        let fleet = Fleet {
            orders: vec![order(ReportRow {
                common_name: "www.elsewhere.org".into(),
                product_name_id: "ssl_dv_geotrust".into(),
                ..row()
            })],
            subaccount_orders: Vec::new(),
            skipped_rows: 0,
            read_at: now(),
        };
        let a = assess(&fleet, Some(&index), now(), &ComplianceSettings::default());
        assert_eq!(a.domains_conclusive, Some(true), "DV only");
    }

    /// The outlook counts as automated what the verdict does: auto-reissue
    /// only on a plan that runs past the certificate.
    #[test]
    fn the_outlook_and_the_verdict_agree_on_automation() {
        let reissuing = |plan_end: NaiveDate| {
            let mut o = order(ReportRow {
                auto_renew: false,
                valid_till: Some(day(2027, 2, 1)),
                ..row()
            });
            o.details = Some(Arc::new(OrderDetails {
                auto_reissue: true,
                order_valid_till: Some(plan_end),
                ..details()
            }));
            o
        };
        for (plan_end, manual) in [(day(2029, 1, 1), 0), (day(2027, 2, 1), 1)] {
            let fleet = Fleet {
                orders: vec![reissuing(plan_end)],
                subaccount_orders: Vec::new(),
                skipped_rows: 0,
                read_at: now(),
            };
            let a = assess(&fleet, None, now(), &ComplianceSettings::default());
            assert_eq!(a.outlook[0].1, manual, "plan ending {plan_end}");
            assert_eq!(is_automated(&fleet.orders[0]), manual == 0);
        }
    }

    #[test]
    fn the_reuse_outlook_counts_validated_domains_under_each_coming_step() {
        let index = validations("2027-06-01T06:00:00Z", "2027-06-01T06:00:00Z");
        let fleet = Fleet {
            orders: Vec::new(),
            subaccount_orders: Vec::new(),
            skipped_rows: 0,
            read_at: now(),
        };
        let assessment = assess(&fleet, Some(&index), now(), &ComplianceSettings::default());
        // From 2026-11-23: 100 days (2027) and 10 days (2029), 4 and 37
        // revalidations a year, both over the threshold of 2.
        assert_eq!(assessment.reuse_outlook, [(100, 1, 1), (10, 1, 1)]);
    }

    #[test]
    fn rule_names_parse() {
        assert_eq!("weak_key".parse::<Rule>(), Ok(Rule::WeakKey));
        assert!("weak".parse::<Rule>().is_err());
    }
}
