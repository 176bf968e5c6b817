//! The fleet: one immutable picture of an account's orders, built from one
//! complete read of the report plus what order details, reissue lists and
//! subaccount listings taught us. The server only ever sees whole fleets; a
//! poll that fails part-way builds none.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::certcentral::report::ReportRow;
use crate::certcentral::wire::{OrderInfo, ReissueList, SubaccountOrder};
use crate::identity::CertificateId;

/// An order's status as the report sends it: the statuses the exporter
/// asks questions of, by name, and any other as its raw text. CertCentral
/// may add statuses: an unknown one is never an error, it answers no to
/// every question and is counted under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus<'a> {
    Issued,
    /// A reissue is under way; the current certificate is still in use.
    ReissuePending,
    Pending,
    NeedsApproval,
    Submitted,
    Processing,
    Canceled,
    Rejected,
    Revoked,
    Expired,
    /// A status the exporter does not know, as sent.
    Other(&'a str),
}

/// Statuses whose order holds a certificate in use.
const IN_USE: [OrderStatus<'static>; 2] = [OrderStatus::Issued, OrderStatus::ReissuePending];

impl<'a> OrderStatus<'a> {
    /// Every status known by name.
    const KNOWN: [OrderStatus<'static>; 10] = [
        OrderStatus::Issued,
        OrderStatus::ReissuePending,
        OrderStatus::Pending,
        OrderStatus::NeedsApproval,
        OrderStatus::Submitted,
        OrderStatus::Processing,
        OrderStatus::Canceled,
        OrderStatus::Rejected,
        OrderStatus::Revoked,
        OrderStatus::Expired,
    ];

    /// The status named `raw` (exactly as sent), known or not.
    pub fn parse(raw: &'a str) -> OrderStatus<'a> {
        OrderStatus::KNOWN
            .into_iter()
            .find(|known| known.as_str() == raw)
            .unwrap_or(OrderStatus::Other(raw))
    }

    /// The status as sent: the `status` label.
    pub const fn as_str(self) -> &'a str {
        match self {
            OrderStatus::Issued => "issued",
            OrderStatus::ReissuePending => "reissue_pending",
            OrderStatus::Pending => "pending",
            OrderStatus::NeedsApproval => "needs_approval",
            OrderStatus::Submitted => "submitted",
            OrderStatus::Processing => "processing",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Revoked => "revoked",
            OrderStatus::Expired => "expired",
            OrderStatus::Other(raw) => raw,
        }
    }

    /// The order holds a certificate in use: it has per-order series and
    /// compliance judges its certificate.
    pub fn is_in_use(self) -> bool {
        IN_USE.contains(&self)
    }

    /// The order waits on someone (approval, validation, issuance): its
    /// details are read again after the waiting refresh age, and read
    /// early.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            OrderStatus::Pending
                | OrderStatus::NeedsApproval
                | OrderStatus::Submitted
                | OrderStatus::Processing
        )
    }

    /// The order ended without a certificate to watch: its details are
    /// never worth a request.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            OrderStatus::Canceled | OrderStatus::Rejected | OrderStatus::Revoked
        )
    }

    /// CertCentral says the order's certificate expired.
    pub fn is_expired(self) -> bool {
        self == OrderStatus::Expired
    }

    /// The order's expiry counts, while it is within the expired retention
    /// (see [`Order::counts_toward_expiry`]): in use or expired.
    pub fn counts_toward_expiry(self) -> bool {
        self.is_in_use() || self.is_expired()
    }
}

/// What an order's details (and reissue list) said, kept between polls and
/// across restarts so that unchanged orders are not fetched again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetails {
    /// The report row these details were fetched for (see [`fingerprint`]).
    pub fingerprint: u32,
    pub fetched_at: DateTime<Utc>,
    pub key_size: Option<u64>,
    pub signature_hash: Option<String>,
    pub ca_name: Option<String>,
    /// End of the order (for multi-year plans, past the certificate).
    pub order_valid_till: Option<NaiveDate>,
    pub multi_year_plan: bool,
    pub auto_reissue: bool,
    pub disable_ct: Option<bool>,
    pub was_renewed_by_order_id: Option<u64>,
    pub requests: Vec<Request>,
    /// Fetched when the order has reissues or is a multi-year plan.
    pub reissues: Option<Reissues>,
    /// The thumbprint and serial of the certificate the details show, to
    /// recognise it where it is served. Absent in stores written before.
    #[serde(default, skip_serializing_if = "CertificateId::is_empty")]
    pub identity: CertificateId,
}

/// A request on an order, as the details list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub kind: String,
    pub status: String,
    pub date: Option<DateTime<Utc>>,
}

impl Request {
    /// Whether the request still waits on someone (approval or
    /// validation): its status is `pending` or `submitted`.
    pub fn is_waiting(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "submitted")
    }
}

/// What an order's reissue list says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reissues {
    /// Certificates by status (archived ones left out).
    pub by_status: BTreeMap<String, u32>,
    /// Expiry of the latest issued, non-archived certificate.
    pub active_valid_till: Option<NaiveDate>,
    pub active_certificate_id: Option<u64>,
    /// When the list was read; a list is due again once the order's
    /// details are newer. Absent in stores written before lists kept it
    /// (such a list is due).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// Each certificate of the list (archived ones too), to recognise it
    /// where it is served and to tell what replaced it. Absent in stores
    /// written before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<ReissuedCertificateRecord>,
}

/// One certificate of an order's reissue list, as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReissuedCertificateRecord {
    pub id: Option<u64>,
    pub identity: CertificateId,
    pub status: Box<str>,
    pub valid_till: Option<NaiveDate>,
    pub issued: Option<DateTime<Utc>>,
    pub archived: bool,
}

impl OrderDetails {
    /// Keeps what the exporter uses of an order's details.
    pub fn from_wire(
        info: &OrderInfo,
        fingerprint: u32,
        fetched_at: DateTime<Utc>,
    ) -> OrderDetails {
        let certificate = info.certificate.clone().unwrap_or_default();
        OrderDetails {
            fingerprint,
            fetched_at,
            key_size: certificate.key_size,
            signature_hash: certificate.signature_hash,
            ca_name: certificate.ca_cert.and_then(|ca| ca.name),
            order_valid_till: info.order_valid_till,
            multi_year_plan: info.is_multi_year_plan.unwrap_or(false),
            auto_reissue: info.auto_reissue.unwrap_or(false),
            disable_ct: info.disable_ct,
            was_renewed_by_order_id: info.was_renewed_by_order_id.filter(|&id| id != 0),
            requests: info
                .requests
                .iter()
                .map(|r| Request {
                    kind: r.kind.clone().unwrap_or_default(),
                    status: r.status.clone().unwrap_or_default(),
                    date: r.date,
                })
                .collect(),
            reissues: None,
            identity: CertificateId::new(
                certificate.thumbprint.as_deref(),
                certificate.serial_number.as_deref(),
            ),
        }
    }

    /// Whether the reissue list is worth a request: the order has had a
    /// reissue, or is a multi-year plan (whose certificates are reissues).
    pub fn wants_reissues(&self) -> bool {
        self.multi_year_plan || self.requests.iter().any(|r| r.kind == "reissue")
    }

    /// Requests still waiting on approval or validation.
    pub fn waiting_requests(&self) -> impl Iterator<Item = &Request> {
        self.requests.iter().filter(|r| r.is_waiting())
    }
}

impl Reissues {
    /// Summarises a reissue list: counts by status, and the active
    /// certificate, the latest issued one that is not archived.
    pub fn from_wire(list: &ReissueList, fetched_at: DateTime<Utc>) -> Reissues {
        let mut reissues = Reissues {
            fetched_at: Some(fetched_at),
            ..Reissues::default()
        };
        let mut latest: Option<&crate::certcentral::wire::ReissuedCertificate> = None;
        let order_key = |c: &crate::certcentral::wire::ReissuedCertificate| {
            (c.date_issued.or(c.date_created), c.id)
        };
        reissues.certificates = list
            .certificates
            .iter()
            .map(|c| ReissuedCertificateRecord {
                id: c.id,
                identity: CertificateId::new(c.thumbprint.as_deref(), c.serial_number.as_deref()),
                status: c.status.as_deref().unwrap_or("unknown").into(),
                valid_till: c.valid_till,
                issued: c.date_issued.or(c.date_created),
                archived: c.archived == Some(true),
            })
            .collect();
        for cert in list
            .certificates
            .iter()
            .filter(|c| c.archived != Some(true))
        {
            let status = cert.status.as_deref().unwrap_or("unknown");
            *reissues.by_status.entry(status.to_owned()).or_default() += 1;
            if status == "issued"
                && cert.valid_till.is_some()
                && latest.is_none_or(|l| order_key(cert) > order_key(l))
            {
                latest = Some(cert);
            }
        }
        if let Some(active) = latest {
            reissues.active_certificate_id = active.id;
            reissues.active_valid_till = active.valid_till;
        }
        reissues
    }
}

/// A stable digest of the report fields whose change means the details are
/// out of date: status, expiry, certificate id, thumbprint and serial.
pub fn fingerprint(row: &ReportRow) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in [
        row.status.as_bytes(),
        row.valid_till
            .map(|d| d.to_string())
            .unwrap_or_default()
            .as_bytes(),
        row.certificate_id
            .map(|d| d.to_string())
            .unwrap_or_default()
            .as_bytes(),
        row.thumbprint.as_bytes(),
        row.serial_number.as_bytes(),
    ] {
        hasher.update(part);
        hasher.update(b"\x1f");
    }
    hasher.finalize()
}

/// An order of the fleet, with what the exporter derived about it.
#[derive(Debug, Clone)]
pub struct Order {
    /// Shared with the report page it came from (see the poller's memo of
    /// unchanged pages).
    pub report: Arc<ReportRow>,
    /// The order's details, when they were fetched for this very report row.
    pub details: Option<Arc<OrderDetails>>,
    /// A newer order renews this one: the report says so (`is_renewed`),
    /// another order in the report names it as its `renewed_order_id`, or
    /// its details name the order that renewed it.
    pub renewed: bool,
}

impl Order {
    pub fn id(&self) -> u64 {
        self.report.order_id
    }

    /// The order's status, as the report sends it.
    pub fn status(&self) -> OrderStatus<'_> {
        OrderStatus::parse(&self.report.status)
    }

    /// Whether the order counts toward expiry at `now`: it holds a
    /// certificate in use, or CertCentral says it expired and it is still
    /// within the expired retention. The one rule behind per-order series
    /// and the details worth reading.
    pub fn counts_toward_expiry(&self, now: DateTime<Utc>, retention: chrono::Duration) -> bool {
        let status = self.status();
        status.is_in_use() || (status.is_expired() && self.within_expired_retention(now, retention))
    }

    /// Whether the order's certificate expired no more than `retention`
    /// before `now` (or has not expired yet): an expired order counts this
    /// long. An order without an expiry date is past it.
    pub fn within_expired_retention(
        &self,
        now: DateTime<Utc>,
        retention: chrono::Duration,
    ) -> bool {
        self.expiry().is_some_and(|expiry| {
            expiry
                .checked_add_signed(retention)
                .is_none_or(|end| end > now)
        })
    }

    /// Expiry date of the active certificate: the latest issued reissue
    /// when the reissue list was read, else the report's `valid_till`.
    pub fn valid_till(&self) -> Option<NaiveDate> {
        self.details
            .as_ref()
            .and_then(|d| d.reissues.as_ref())
            .and_then(|r| r.active_valid_till)
            .or(self.report.valid_till)
    }

    /// When the active certificate expires: the end of its valid-till day
    /// (see [`end_of_day`]).
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.valid_till().map(end_of_day)
    }

    /// Whole days until expiry, `floor((expiry - now) / 86400)`, negative
    /// once expired.
    pub fn days_remaining(&self, now: DateTime<Utc>) -> Option<i64> {
        self.expiry().map(|expiry| days_until(expiry, now))
    }
}

/// `floor((at - now) / 86400)`, exactly: `num_seconds` alone rounds toward
/// zero, so 0.1 s past an expiry the order would still read 0, not -1.
pub fn days_until(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let delta = at - now;
    let seconds = delta.num_seconds() - i64::from(delta.subsec_nanos() < 0);
    seconds.div_euclid(86_400)
}

/// 23:59:59 UTC of `day`: the expiry instant of a certificate valid till
/// that day, where DigiCert puts its `notAfter`. A certificate on its last
/// valid day has 0 days remaining and is not expired; it is from the next
/// second on.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(LAST_SECOND).and_utc()
}

/// 23:59:59, the last whole second of a day.
const LAST_SECOND: chrono::NaiveTime = match chrono::NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => chrono::NaiveTime::MIN,
};

/// The first instant after `now` at which whole days until an expiry
/// (see [`days_until`]) change: the end of the current UTC day, or of the
/// next one once that has passed. Renders happen then, not only at polls.
pub fn next_day_boundary(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = end_of_day(now.date_naive());
    if today > now {
        return today;
    }
    now.date_naive().succ_opt().map_or(today, end_of_day)
}

/// An order placed by a subaccount.
#[derive(Debug, Clone, PartialEq)]
pub struct SubaccountOrderRecord {
    pub order_id: u64,
    pub subaccount_id: u64,
    pub subaccount_organization: Arc<str>,
    pub status: Arc<str>,
    pub common_name: Box<str>,
    pub product: Arc<str>,
    pub valid_till: Option<NaiveDate>,
    /// Order cost (and reissue costs in other currencies), by currency.
    pub cost: Vec<(Arc<str>, f64)>,
    /// The issued certificate's thumbprint and serial, where the listing
    /// gives them.
    pub identity: CertificateId,
}

impl SubaccountOrderRecord {
    /// Keeps what the exporter uses; `None` for an order without an id or
    /// subaccount.
    pub fn from_wire(
        order: &SubaccountOrder,
        intern: &mut impl FnMut(&str) -> Arc<str>,
    ) -> Option<Self> {
        let subaccount = order.subaccount.as_ref()?;
        let certificate = order.certificate.clone().unwrap_or_default();
        let cost = order
            .order_price
            .iter()
            .chain(&order.order_prices)
            .filter_map(|p| Some((intern(p.currency.as_deref().unwrap_or("USD")), p.cost?)))
            .collect();
        Some(SubaccountOrderRecord {
            order_id: order.id?,
            subaccount_id: subaccount.account_id?,
            subaccount_organization: intern(subaccount.organization_name.as_deref().unwrap_or("")),
            status: intern(order.status.as_deref().unwrap_or("unknown")),
            common_name: certificate.common_name.unwrap_or_default().into(),
            product: intern(
                order
                    .product
                    .as_ref()
                    .and_then(|p| p.name_id.as_deref())
                    .unwrap_or(""),
            ),
            valid_till: certificate.valid_till,
            identity: CertificateId::new(
                certificate.thumbprint.as_deref(),
                certificate.serial_number.as_deref(),
            ),
            cost,
        })
    }

    /// The end of the certificate's valid-till day (see [`end_of_day`]).
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        self.valid_till.map(end_of_day)
    }
}

/// What the subaccount listing gave, if the key may list it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Subaccounts {
    /// Not read yet.
    #[default]
    Unknown,
    /// The key may not list subaccount orders, or the account has none.
    Unavailable,
    Listed(Vec<SubaccountOrderRecord>),
}

/// All orders of one account at one moment.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Sorted by order id, one entry per id.
    pub orders: Vec<Order>,
    /// Orders of subaccounts that the report does not already hold.
    pub subaccount_orders: Vec<SubaccountOrderRecord>,
    /// Report rows that could not be understood and were left out.
    pub skipped_rows: usize,
    /// When the report read that produced this fleet finished.
    pub read_at: DateTime<Utc>,
}

impl Fleet {
    /// Builds the fleet from every row of a complete report read, the
    /// details known for them, and the subaccount listing. An order whose
    /// row appears twice (offset paging while orders are added) counts
    /// once, with the row of the later expiry (it was renewed or reissued
    /// between the reads of the two pages; the first of equals is kept);
    /// so does an order that both the report and a subaccount list return.
    pub fn build(
        rows: impl IntoIterator<Item = impl Into<Arc<ReportRow>>>,
        details: &HashMap<u64, Arc<OrderDetails>>,
        subaccounts: &Subaccounts,
        skipped_rows: usize,
        read_at: DateTime<Utc>,
    ) -> Fleet {
        let mut by_id: HashMap<u64, Arc<ReportRow>> = HashMap::new();
        for row in rows.into_iter().map(Into::into) {
            match by_id.entry(row.order_id) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(row);
                }
                std::collections::hash_map::Entry::Occupied(mut kept) => {
                    if row.valid_till > kept.get().valid_till {
                        kept.insert(row);
                    }
                }
            }
        }
        let mut seen: HashSet<u64> = by_id.keys().copied().collect();
        let mut rows: Vec<Arc<ReportRow>> = by_id.into_values().collect();
        rows.sort_unstable_by_key(|row| row.order_id);
        let renewed_by_newer: HashSet<u64> =
            rows.iter().filter_map(|row| row.renewed_order_id).collect();
        let orders = rows
            .into_iter()
            .map(|report| {
                let details = details
                    .get(&report.order_id)
                    .filter(|d| d.fingerprint == fingerprint(&report))
                    .cloned();
                let renewed = report.is_renewed
                    || renewed_by_newer.contains(&report.order_id)
                    || details
                        .as_ref()
                        .is_some_and(|d| d.was_renewed_by_order_id.is_some());
                Order {
                    report,
                    details,
                    renewed,
                }
            })
            .collect();
        let mut subaccount_orders: Vec<SubaccountOrderRecord> = match subaccounts {
            Subaccounts::Listed(list) => list
                .iter()
                .filter(|o| seen.insert(o.order_id))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        subaccount_orders.sort_unstable_by_key(|o| o.order_id);
        Fleet {
            orders,
            subaccount_orders,
            skipped_rows,
            read_at,
        }
    }

    /// The order with this id.
    pub fn order(&self, id: u64) -> Option<&Order> {
        self.orders
            .binary_search_by_key(&id, Order::id)
            .ok()
            .map(|i| &self.orders[i])
    }

    /// Number of orders in each status seen.
    pub fn status_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for order in &self.orders {
            *counts.entry(order.status().as_str()).or_default() += 1;
        }
        counts
    }
}

/// Orders for unit tests elsewhere in the crate.
#[cfg(test)]
pub mod fixtures {
    use super::*;
    use crate::certcentral::report::CsrKey;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub fn row() -> ReportRow {
        ReportRow {
            order_id: 1,
            status: "issued".into(),
            date_created: None,
            common_name: "a.example".into(),
            dns_names: "".into(),
            product_name_id: "ssl_plus".into(),
            container_id: None,
            container_name: "c".into(),
            organization_id: None,
            organization_name: "o".into(),
            validity_years: Some(1),
            signature_hash: "sha256".into(),
            valid_from: Some(day(2026, 3, 1)),
            valid_till: Some(day(2026, 12, 10)),
            certificate_id: Some(9),
            thumbprint: "".into(),
            serial_number: "".into(),
            is_renewed: false,
            renewed_order_id: None,
            auto_renew: false,
            has_duplicates: false,
            disable_renewal_notifications: false,
            is_out_of_contract: false,
            csr_key: CsrKey::Rsa { bits: 2048 },
        }
    }

    pub fn details() -> OrderDetails {
        OrderDetails {
            fingerprint: 0,
            fetched_at: Utc::now(),
            key_size: Some(2048),
            signature_hash: Some("sha256".into()),
            ca_name: None,
            order_valid_till: None,
            multi_year_plan: false,
            auto_reissue: false,
            disable_ct: Some(false),
            was_renewed_by_order_id: None,
            requests: Vec::new(),
            reissues: None,
            identity: CertificateId::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::row;
    use super::*;

    #[test]
    fn every_known_status_reads_back_as_sent_and_an_unknown_one_is_kept() {
        for known in OrderStatus::KNOWN {
            assert_eq!(OrderStatus::parse(known.as_str()), known);
        }
        let new = OrderStatus::parse("awaiting_payment");
        assert_eq!(new, OrderStatus::Other("awaiting_payment"));
        assert_eq!(new.as_str(), "awaiting_payment");
        assert!(!new.is_in_use() && !new.is_waiting() && !new.is_settled());
        assert!(!new.counts_toward_expiry());
        // Exactly as sent: another spelling is another status.
        assert_eq!(OrderStatus::parse("Issued"), OrderStatus::Other("Issued"));
    }

    #[test]
    fn each_question_has_its_statuses() {
        let asked = |question: fn(OrderStatus<'static>) -> bool| {
            OrderStatus::KNOWN
                .into_iter()
                .filter(|s| question(*s))
                .map(OrderStatus::as_str)
                .collect::<Vec<_>>()
        };
        assert_eq!(asked(OrderStatus::is_in_use), ["issued", "reissue_pending"]);
        assert_eq!(
            asked(OrderStatus::is_waiting),
            ["pending", "needs_approval", "submitted", "processing"]
        );
        assert_eq!(
            asked(OrderStatus::is_settled),
            ["canceled", "rejected", "revoked"]
        );
        assert_eq!(
            asked(OrderStatus::counts_toward_expiry),
            ["issued", "reissue_pending", "expired"]
        );
    }

    #[test]
    fn an_expired_order_counts_until_the_retention_ends() {
        let till = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let order = |status: &str, valid_till: Option<NaiveDate>| Order {
            report: Arc::new(ReportRow {
                status: status.into(),
                valid_till,
                ..row()
            }),
            details: None,
            renewed: false,
        };
        let retention = chrono::Duration::days(30);
        let expired = order("expired", Some(till));
        let last_second = end_of_day(till) + retention - chrono::Duration::seconds(1);
        assert!(expired.counts_toward_expiry(last_second, retention));
        assert!(!expired.counts_toward_expiry(end_of_day(till) + retention, retention));
        assert!(
            !order("expired", None).counts_toward_expiry(last_second, retention),
            "no date: past it"
        );
        let long_ago = end_of_day(till) + chrono::Duration::days(400);
        assert!(
            order("issued", Some(till)).counts_toward_expiry(long_ago, retention),
            "in use: counts whatever its date"
        );
        assert!(!order("pending", Some(till)).counts_toward_expiry(last_second, retention));
    }

    #[test]
    fn orders_are_counted_under_their_status_as_sent() {
        let rows = ["issued", "awaiting_payment", "issued"]
            .into_iter()
            .enumerate()
            .map(|(i, status)| ReportRow {
                order_id: i as u64 + 1,
                status: status.into(),
                ..row()
            });
        let fleet = Fleet::build(rows, &HashMap::new(), &Subaccounts::Unknown, 0, Utc::now());
        let counts: Vec<(&str, usize)> = fleet.status_counts().into_iter().collect();
        assert_eq!(counts, [("awaiting_payment", 1), ("issued", 2)]);
    }

    /// An order read on two rows keeps the row of the later expiry, in
    /// either order; rows that agree keep the first.
    #[test]
    fn an_order_on_two_rows_keeps_the_later_expiry() {
        let till = |y| NaiveDate::from_ymd_opt(y, 6, 1);
        let early = ReportRow {
            valid_till: till(2026),
            ..row()
        };
        let late = ReportRow {
            valid_till: till(2031),
            certificate_id: Some(10),
            ..row()
        };
        for rows in [
            vec![early.clone(), late.clone()],
            vec![late.clone(), early.clone()],
        ] {
            let fleet = Fleet::build(rows, &HashMap::new(), &Subaccounts::Unknown, 0, Utc::now());
            assert_eq!(fleet.orders.len(), 1);
            assert_eq!(fleet.orders[0].report.valid_till, till(2031));
        }
        let twin = ReportRow {
            certificate_id: Some(11),
            ..early.clone()
        };
        let fleet = Fleet::build(
            [early, twin],
            &HashMap::new(),
            &Subaccounts::Unknown,
            0,
            Utc::now(),
        );
        assert_eq!(
            fleet.orders[0].report.certificate_id,
            Some(9),
            "the first of equals"
        );
    }
}
