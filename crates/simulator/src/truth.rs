//! What the exporter should report about each simulated order, from the
//! simulator's own knowledge of the order (not from its API answers), so
//! that tests can compare metrics with it order by order.
//!
//! Expectations that depend on the exporter's settings assume its
//! defaults: a 30-day warning window, approvals pending too long after 3
//! days, auto-renew expected to act 14 days before expiry at the latest,
//! RSA keys of 2048 bits and EC keys of 256 bits at least, expired orders
//! kept for 30 days, auto-renew acting 30 days before expiry (for the
//! validations its renewal needs). They also assume the exporter has read
//! every order's details and reissue list, and the validations.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use super::catalog::Csr;
use super::fleet::{Hash, Order, SubaccountOrder, World, max_validity_days, serial_number};
use super::validations::{OrderValidationTruth, order_truth};

/// The compliance rules the truth names in an order's `expected_findings`,
/// spelled as the exporter's `rule` label. The simulator keeps its own list
/// (an oracle does not borrow from what it checks); the exporter's tests
/// check that the two lists agree.
pub const RULES: [&str; 14] = [
    "weak_signature_hash",
    "weak_key",
    "csr_unreadable",
    "validity_exceeds_baseline",
    "auto_renew_disabled",
    "renewal_notifications_disabled",
    "duplicates_present",
    "out_of_contract",
    "ct_logging_disabled",
    "approval_pending_too_long",
    "expired_not_renewed",
    "validation_expires_before_renewal",
    "name_not_covered",
    "too_many_names",
];

const DAY: i64 = 86_400;
const WARNING_DAYS: i64 = 30;
const AUTO_RENEW_GRACE_DAYS: i64 = 14;
const AUTO_RENEW_LEAD_DAYS: i64 = 30;
const APPROVAL_PENDING_SECONDS: i64 = 3 * DAY;
const EXPIRED_RETENTION_DAYS: i64 = 30;
const MIN_RSA_BITS: u32 = 2048;
const MIN_EC_BITS: u32 = 256;

/// The subaccount an order was placed in.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SubaccountTruth {
    pub(crate) id: u64,
    pub(crate) organization: &'static str,
    pub(crate) account_type: &'static str,
    /// The listing shows the order's certificate (immediate subaccounts).
    pub(crate) immediate: bool,
}

/// A cost in a currency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PriceTruth {
    pub(crate) cost: f64,
    pub(crate) currency: &'static str,
}

fn price((cost, currency): (f64, &'static str)) -> PriceTruth {
    PriceTruth { cost, currency }
}

/// The key of an order's CSR.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KeyTruth {
    /// `rsa`, `ec` or `other`; `null` when the CSR cannot be read.
    pub(crate) algorithm: Option<&'static str>,
    pub(crate) bits: Option<u32>,
    pub(crate) readable: bool,
}

/// The truth about one order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OrderTruth {
    pub(crate) id: u64,
    /// Always true here (subaccount-only orders are in
    /// [`SubaccountOrderTruth`]).
    pub(crate) in_report: bool,
    pub(crate) status: &'static str,
    pub(crate) common_name: String,
    /// Product `name_id` (the `product` label).
    pub(crate) product: &'static str,
    pub(crate) product_name: &'static str,
    pub(crate) container_id: u64,
    /// Container name (the `container` label).
    pub(crate) container: &'static str,
    pub(crate) organization_id: u64,
    /// Organization name (the `organization` label).
    pub(crate) organization: &'static str,
    /// The subaccount, when the subaccount listing shows the order too.
    pub(crate) subaccount: Option<SubaccountTruth>,
    pub(crate) date_created: String,
    /// The active certificate (latest issued, not archived).
    pub(crate) certificate_id: Option<u64>,
    pub(crate) thumbprint: Option<String>,
    pub(crate) serial_number: Option<String>,
    pub(crate) valid_from: Option<NaiveDate>,
    /// Expiry date of the active certificate, after reissues.
    pub(crate) valid_till: Option<NaiveDate>,
    /// What the report row shows (differs while the report lags).
    pub(crate) report_valid_till: Option<NaiveDate>,
    /// 23:59:59 UTC of `valid_till`, Unix seconds.
    pub(crate) expiry_timestamp: Option<i64>,
    /// floor((expiry - now) / 86400).
    pub(crate) days_remaining: Option<i64>,
    pub(crate) multi_year_plan: bool,
    pub(crate) order_valid_till: Option<NaiveDate>,
    pub(crate) auto_renew: bool,
    pub(crate) auto_reissue: bool,
    pub(crate) has_duplicates: bool,
    /// A newer order renews this one (`is_renewed`, or a newer order's
    /// `renewed_order_id` names it).
    pub(crate) renewed: bool,
    pub(crate) is_renewed: bool,
    pub(crate) renewed_order_id: Option<u64>,
    pub(crate) renewed_by_order_id: Option<u64>,
    pub(crate) disable_renewal_notifications: bool,
    pub(crate) is_out_of_contract: bool,
    pub(crate) disable_ct: bool,
    pub(crate) signature_hash: &'static str,
    /// The CSR's key.
    pub(crate) key: KeyTruth,
    /// Requests pending or submitted.
    pub(crate) pending_requests: usize,
    pub(crate) oldest_pending_request: Option<String>,
    /// Certificates of the reissue list (not archived), by status.
    pub(crate) reissues: BTreeMap<&'static str, usize>,
    /// Order cost.
    pub(crate) cost: f64,
    pub(crate) currency: &'static str,
    /// Reissue costs in another currency (subaccount listing's
    /// `order_prices`).
    pub(crate) other_price: Option<PriceTruth>,
    /// Per-order series are expected: issued or reissue pending (a
    /// certificate in use), or expired no more than 30 days ago.
    pub(crate) exported: bool,
    /// Nothing will replace the certificate before it expires.
    pub(crate) actionable: bool,
    /// Compliance rules the order breaks, sorted.
    pub(crate) expected_findings: Vec<&'static str>,
    /// The validations its renewal needs (certificates in use only).
    pub(crate) validation: OrderValidationTruth,
    /// The earliest dated of them: when it ends (Unix seconds), its scope,
    /// type, id and name.
    pub(crate) validation_expiry_timestamp: Option<i64>,
    pub(crate) validation_scope: Option<&'static str>,
    pub(crate) validation_type: Option<&'static str>,
    pub(crate) validation_id: Option<u64>,
    pub(crate) validation_name: Option<String>,
    /// Automation would replace it, but a validation its renewal needs
    /// ends first (or a name has none): actionable for that reason.
    pub(crate) renewal_blocked: bool,
}

/// 23:59:59 UTC of `day`, Unix seconds: the expiry instant of a
/// certificate valid till that day (its `notAfter`), the exporter's
/// convention too.
pub(crate) fn end_of_day(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp() + DAY - 1
}

fn days_until(expiry: i64, now: DateTime<Utc>) -> i64 {
    (expiry - now.timestamp()).div_euclid(DAY)
}

fn key_of(order: &Order) -> KeyTruth {
    let Some(posted) = order.extra.as_ref().and_then(|e| e.csr.as_deref()) else {
        return catalog_key(order.csr);
    };
    match Csr::WEIGHTED
        .iter()
        .map(|(c, _)| *c)
        .find(|c| c.pem().trim() == posted.trim())
    {
        Some(csr) => catalog_key(csr),
        None => posted_key(posted),
    }
}

fn catalog_key(csr: Csr) -> KeyTruth {
    KeyTruth {
        algorithm: csr.algorithm(),
        bits: csr.bits(),
        readable: csr.bits().is_some(),
    }
}

/// The key of a CSR posted through the API, read with x509-parser (PEM,
/// or bare base64 of the DER request).
fn posted_key(text: &str) -> KeyTruth {
    use base64::Engine;
    use x509_parser::prelude::{FromDer, X509CertificationRequest};
    use x509_parser::public_key::PublicKey;
    let unreadable = KeyTruth {
        algorithm: None,
        bits: None,
        readable: false,
    };
    let der = if text.contains("-----BEGIN") {
        match x509_parser::pem::parse_x509_pem(text.trim().as_bytes()) {
            Ok((_, pem)) => pem.contents,
            Err(_) => return unreadable,
        }
    } else {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact) {
            Ok(der) => der,
            Err(_) => return unreadable,
        }
    };
    let Ok((_, request)) = X509CertificationRequest::from_der(&der) else {
        return unreadable;
    };
    let bits = |size: usize| u32::try_from(size).ok();
    match request.certification_request_info.subject_pki.parsed() {
        Ok(PublicKey::RSA(rsa)) => KeyTruth {
            algorithm: Some("rsa"),
            bits: bits(rsa.key_size()),
            readable: true,
        },
        Ok(PublicKey::EC(ec)) => KeyTruth {
            algorithm: Some("ec"),
            bits: bits(ec.key_size()),
            readable: true,
        },
        Ok(other) => KeyTruth {
            algorithm: Some("other"),
            bits: bits(other.key_size()),
            readable: true,
        },
        Err(_) => unreadable,
    }
}

fn time(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339()
}

/// The truth about a report order at `now`.
pub(crate) fn order(world: &World, order: &Order, now: DateTime<Utc>) -> OrderTruth {
    let active = order.active_certificate();
    let valid_till = order.valid_till();
    let expiry = valid_till.map(end_of_day);
    let days = expiry.map(|e| days_until(e, now));
    let in_use = order.status.in_use();
    let renewed = order.renewed();
    let expired =
        order.status == super::fleet::Status::Expired || (in_use && days.is_some_and(|d| d < 0));
    let within_retention = days.is_some_and(|d| d >= -EXPIRED_RETENTION_DAYS);
    let auto_reissue =
        order.auto_reissue && order.plan.is_some_and(|(_, end)| Some(end) > valid_till);
    let automated = order.auto_renew || auto_reissue;
    let validation = if in_use {
        order_truth(world, order, now)
    } else {
        OrderValidationTruth::default()
    };
    let renewal = expiry.map(|e| (e - AUTO_RENEW_LEAD_DAYS * DAY).max(now.timestamp()));
    let validation_ends = renewal.is_some_and(|at| validation.validation_ends_by(at));
    let uncovered = !renewed && !validation.uncovered_names.is_empty();
    // Only a record that ends is evidence; an uncovered name is a finding.
    let renewal_blocked = in_use && automated && !renewed && expiry.is_some() && validation_ends;
    let actionable = ((in_use || expired)
        && !renewed
        && days.is_some_and(|d| !automated || d < AUTO_RENEW_GRACE_DAYS))
        || renewal_blocked;
    let key = key_of(order);
    let requests = order.requests();
    let waiting: Vec<_> = requests.iter().filter(|r| r.status.waiting()).collect();
    let oldest = waiting.iter().map(|r| r.date).min();

    let mut findings = Vec::new();
    if in_use {
        if order.signature_hash == Hash::Sha1 {
            findings.push("weak_signature_hash");
        }
        let weak = match (key.algorithm, key.bits) {
            (Some("rsa"), Some(bits)) => bits < MIN_RSA_BITS,
            (Some("ec"), Some(bits)) => bits < MIN_EC_BITS,
            _ => false,
        };
        if weak {
            findings.push("weak_key");
        }
        if !key.readable {
            findings.push("csr_unreadable");
        }
        if let Some((Some(from), Some(till))) = active.map(|c| (c.valid_from, c.valid_till))
            && (till - from).num_days() > max_validity_days(from)
        {
            findings.push("validity_exceeds_baseline");
        }
        if actionable && !order.auto_renew && days.is_some_and(|d| (0..WARNING_DAYS).contains(&d)) {
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
        if renewal_blocked && validation_ends {
            findings.push("validation_expires_before_renewal");
        }
        if uncovered {
            findings.push("name_not_covered");
        }
        if order.dns_names().len() > crate::validations::truth::MAX_NAMES {
            findings.push("too_many_names");
        }
    }
    if oldest
        .is_some_and(|at| now.timestamp() - at.and_utc().timestamp() > APPROVAL_PENDING_SECONDS)
    {
        findings.push("approval_pending_too_long");
    }
    if expired && !renewed && within_retention {
        findings.push("expired_not_renewed");
    }
    findings.sort_unstable();

    let mut reissues = BTreeMap::new();
    for certificate in order.certificates().filter(|c| !c.archived) {
        *reissues.entry(certificate.status.as_str()).or_insert(0) += 1;
    }
    let subaccount = world
        .subaccount_orders
        .binary_search_by_key(&order.id, |s| s.id)
        .ok()
        .map(|i| subaccount_ref(&world.subaccount_orders[i]));
    OrderTruth {
        id: order.id,
        in_report: true,
        status: order.status.as_str(),
        common_name: order.common_name(),
        product: order.product().name_id,
        product_name: order.product().name,
        container_id: order.container().id,
        container: order.container().name,
        organization_id: order.organization().id,
        organization: order.organization().name,
        subaccount,
        date_created: time(order.created),
        certificate_id: active.map(|c| c.id),
        thumbprint: active.map(|c| order.thumbprint(c)),
        serial_number: active.map(|c| serial_number(c.id)),
        valid_from: active.and_then(|c| c.valid_from),
        valid_till,
        report_valid_till: order
            .report_certificate()
            .filter(|c| c.issued.is_some())
            .and_then(|c| c.valid_till),
        expiry_timestamp: expiry,
        days_remaining: days,
        multi_year_plan: order.plan.is_some(),
        order_valid_till: order.plan.map(|(_, end)| end),
        auto_renew: order.auto_renew,
        auto_reissue: order.auto_reissue,
        has_duplicates: order.has_duplicates,
        renewed,
        is_renewed: order.is_renewed,
        renewed_order_id: order.renewed_order_id,
        renewed_by_order_id: order.renewed_by,
        disable_renewal_notifications: order.disable_renewal_notifications,
        is_out_of_contract: order.is_out_of_contract,
        disable_ct: order.disable_ct,
        signature_hash: order.signature_hash.as_str(),
        key,
        pending_requests: waiting.len(),
        oldest_pending_request: oldest.map(time),
        reissues,
        cost: f64::from(order.cost_cents) / 100.0,
        currency: "USD",
        other_price: world
            .subaccount_orders
            .binary_search_by_key(&order.id, |s| s.id)
            .ok()
            .and_then(|i| world.subaccount_orders[i].other_price)
            .map(price),
        exported: in_use
            || (order.status == super::fleet::Status::Expired
                && within_retention
                && days.is_some()),
        actionable,
        expected_findings: findings,
        validation_expiry_timestamp: validation.earliest().and_then(|n| n.expiry_timestamp),
        validation_scope: validation.earliest().map(|n| n.scope),
        validation_type: validation.earliest().map(|n| n.kind),
        validation_id: validation.earliest().map(|n| n.id),
        validation_name: validation.earliest().map(|n| n.name.clone()),
        validation,
        renewal_blocked,
    }
}

fn subaccount_ref(order: &SubaccountOrder) -> SubaccountTruth {
    let sub = order.subaccount();
    SubaccountTruth {
        id: sub.id,
        organization: sub.organization,
        account_type: sub.account_type,
        immediate: sub.immediate,
    }
}

/// The truth about one order of the subaccount listing.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SubaccountOrderTruth {
    pub(crate) id: u64,
    pub(crate) subaccount_id: u64,
    /// The subaccount's organization (the `organization` label of its
    /// series).
    pub(crate) subaccount_organization: &'static str,
    pub(crate) account_type: &'static str,
    /// The listing shows certificates (immediate subaccounts only).
    pub(crate) immediate: bool,
    /// Also in the order report: exported from there, once.
    pub(crate) in_report: bool,
    pub(crate) status: &'static str,
    pub(crate) common_name: String,
    pub(crate) product: &'static str,
    /// The expiry as the listing shows it (issued orders of immediate
    /// subaccounts), which is all the exporter can know.
    pub(crate) valid_till: Option<NaiveDate>,
    /// 23:59:59 UTC of `valid_till`, Unix seconds.
    pub(crate) expiry_timestamp: Option<i64>,
    pub(crate) days_remaining: Option<i64>,
    /// The certificate's real expiry, shown or not.
    pub(crate) actual_valid_till: Option<NaiveDate>,
    /// Per-order series are expected (not in the report, and an expiry
    /// shown).
    pub(crate) exported: bool,
    /// `order_price`, in USD.
    pub(crate) cost: f64,
    pub(crate) currency: &'static str,
    /// Reissue costs in another currency (`order_prices`).
    pub(crate) other_price: Option<PriceTruth>,
}

/// The truth about an order of the subaccount listing at `now` (an order
/// also in the report mirrors it).
pub(crate) fn subaccount_order(
    world: &World,
    order: &SubaccountOrder,
    now: DateTime<Utc>,
) -> SubaccountOrderTruth {
    let sub = order.subaccount();
    let main = order.in_report.then(|| world.order(order.id)).flatten();
    let shown = sub.immediate && order.status == super::fleet::Status::Issued;
    let valid_till = order.valid_till.filter(|_| shown);
    let expiry = valid_till.map(end_of_day);
    SubaccountOrderTruth {
        id: order.id,
        subaccount_id: sub.id,
        subaccount_organization: sub.organization,
        account_type: sub.account_type,
        immediate: sub.immediate,
        in_report: order.in_report,
        status: order.status.as_str(),
        common_name: main.map_or_else(|| order.common_name(), Order::common_name),
        product: main.map_or(order.product(), Order::product).name_id,
        valid_till,
        expiry_timestamp: expiry,
        days_remaining: expiry.map(|e| days_until(e, now)),
        actual_valid_till: order.valid_till,
        exported: shown && !order.in_report,
        cost: f64::from(order.cost_cents / 100),
        currency: "USD",
        other_price: order.other_price.map(price),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn now() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn every_finding_appears_in_a_small_fleet() {
        let world = World::generate(40, 1, now().date_naive());
        let truths: Vec<OrderTruth> = world
            .orders
            .iter()
            .map(|o| order(&world, o, now()))
            .collect();
        for truth in &truths {
            for finding in &truth.expected_findings {
                assert!(RULES.contains(finding), "{finding} is not in RULES");
            }
        }
        for rule in RULES {
            assert!(
                truths.iter().any(|t| t.expected_findings.contains(&rule)),
                "{rule}"
            );
        }
        assert!(truths.iter().any(|t| t.actionable));
        assert!(truths.iter().any(|t| !t.actionable && t.exported));
        assert!(truths.iter().any(|t| t.renewed && t.status == "issued"));
        assert!(
            truths
                .iter()
                .any(|t| t.valid_till != t.report_valid_till && t.valid_till.is_some())
        );
        let subs: Vec<SubaccountOrderTruth> = world
            .subaccount_orders
            .iter()
            .map(|s| subaccount_order(&world, s, now()))
            .collect();
        assert!(subs.iter().any(|s| s.in_report));
        assert!(
            subs.iter()
                .any(|s| s.exported && s.expiry_timestamp.is_some())
        );
        assert!(
            subs.iter()
                .any(|s| s.valid_till.is_none() && s.actual_valid_till.is_some())
        );
    }

    #[test]
    fn posted_csrs_are_read() {
        for (csr, _) in Csr::WEIGHTED {
            let key = posted_key(csr.pem());
            assert_eq!(
                (key.algorithm, key.bits),
                (csr.algorithm(), csr.bits()),
                "{csr:?}"
            );
        }
        let bare: String = Csr::Ec256
            .pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(posted_key(&bare).bits, Some(256));
        assert!(!posted_key("x").readable);
    }

    #[test]
    fn days_remaining_follow_the_interface() {
        let world = World::generate(40, 1, now().date_naive());
        for o in &world.orders {
            let t = order(&world, o, now());
            if let (Some(expiry), Some(days)) = (t.expiry_timestamp, t.days_remaining) {
                assert_eq!(days, (expiry - now().timestamp()).div_euclid(86_400));
            }
        }
        // Due today at noon: its last valid day, 0 days and not expired;
        // it expires at 23:59:59 UTC.
        let due_today = world
            .orders
            .iter()
            .map(|o| order(&world, o, now()))
            .find(|t| t.valid_till == Some(now().date_naive()))
            .unwrap();
        assert_eq!(due_today.days_remaining, Some(0));
        assert!(!due_today.expected_findings.contains(&"expired_not_renewed"));
        let end = now()
            .date_naive()
            .and_hms_opt(23, 59, 59)
            .unwrap()
            .and_utc();
        assert_eq!(due_today.expiry_timestamp, Some(end.timestamp()));
        let next_day = end + chrono::Duration::seconds(1);
        let after = order(&world, world.order(due_today.id).unwrap(), next_day);
        assert_eq!(after.days_remaining, Some(-1));
        assert!(after.expected_findings.contains(&"expired_not_renewed"));
    }
}
