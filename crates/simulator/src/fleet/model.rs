//! The data model of the simulated account: orders, their certificates
//! and requests, the subaccount listing, and the lookups every endpoint
//! makes. Everything an endpoint says about an order is derived from it.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::catalog::{self, CONTAINERS, Csr, DOMAINS, HOSTS, ORGANIZATIONS, PRODUCTS};
use crate::mint::{self, Authority, Leaf};
use crate::validations::Validations;

/// An order status, as the glossary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Issued,
    Pending,
    NeedsApproval,
    Processing,
    ReissuePending,
    Rejected,
    Canceled,
    Revoked,
    Expired,
}

impl Status {
    /// Every status.
    pub(crate) const ALL: [Status; 9] = [
        Status::Issued,
        Status::Pending,
        Status::NeedsApproval,
        Status::Processing,
        Status::ReissuePending,
        Status::Rejected,
        Status::Canceled,
        Status::Revoked,
        Status::Expired,
    ];

    /// The API's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::Pending => "pending",
            Status::NeedsApproval => "needs_approval",
            Status::Processing => "processing",
            Status::ReissuePending => "reissue_pending",
            Status::Rejected => "rejected",
            Status::Canceled => "canceled",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    /// Reads the API's spelling.
    pub(crate) fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The order holds a certificate in use.
    pub(crate) fn in_use(self) -> bool {
        matches!(self, Status::Issued | Status::ReissuePending)
    }

    /// The order has (or had) an issued certificate.
    pub(crate) fn has_certificate(self) -> bool {
        matches!(
            self,
            Status::Issued | Status::ReissuePending | Status::Revoked | Status::Expired
        )
    }
}

/// The hash an order's certificate is signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
    /// Weak (the `weak_signature_hash` finding); only on old or odd orders.
    Sha1,
}

impl Hash {
    /// The API's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Hash::Sha256 => "sha256",
            Hash::Sha384 => "sha384",
            Hash::Sha512 => "sha512",
            Hash::Sha1 => "sha1",
        }
    }
}

/// The status of one certificate of an order (reissue list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CertStatus {
    Issued,
    Pending,
    Rejected,
}

impl CertStatus {
    /// The API's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CertStatus::Issued => "issued",
            CertStatus::Pending => "pending",
            CertStatus::Rejected => "rejected",
        }
    }
}

/// One certificate of an order: the first one, or a reissue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Certificate {
    pub(crate) id: u64,
    pub(crate) status: CertStatus,
    /// When it was requested (`date_created`).
    pub(crate) requested: NaiveDateTime,
    /// When it was issued; `None` unless issued.
    pub(crate) issued: Option<NaiveDateTime>,
    pub(crate) valid_from: Option<NaiveDate>,
    pub(crate) valid_till: Option<NaiveDate>,
    pub(crate) archived: bool,
    /// Index into [`catalog::USERS`]: who asked for it.
    pub(crate) user: u8,
}

impl Certificate {
    /// Issued and not archived: a candidate for the active certificate.
    pub(crate) fn live(&self) -> bool {
        self.status == CertStatus::Issued && !self.archived
    }
}

/// The kind of a request on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestKind {
    NewRequest,
    Reissue,
    Duplicate,
    Revoke,
}

impl RequestKind {
    /// The API's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestKind::NewRequest => "new_request",
            RequestKind::Reissue => "reissue",
            RequestKind::Duplicate => "duplicate",
            RequestKind::Revoke => "revoke",
        }
    }
}

/// The status of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestStatus {
    Submitted,
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    /// The API's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Submitted => "submitted",
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        }
    }

    /// Still waiting on someone (counts as a pending request).
    pub(crate) fn waiting(self) -> bool {
        matches!(self, RequestStatus::Submitted | RequestStatus::Pending)
    }
}

/// A request on an order, as the order details list them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) date: NaiveDateTime,
    pub(crate) kind: RequestKind,
    pub(crate) status: RequestStatus,
    pub(crate) comments: Option<&'static str>,
}

/// What only a few orders need, kept out of line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Extra {
    /// A common name that is not a generated one (created orders).
    pub(crate) common_name: Option<Box<str>>,
    /// SANs that are not generated ones (created orders).
    pub(crate) dns_names: Option<Vec<String>>,
    /// A CSR that is not one of the catalogue's (created orders).
    pub(crate) csr: Option<Box<str>>,
    /// Certificates after the first: reissues, pending or rejected ones.
    pub(crate) reissues: Vec<Certificate>,
    /// Requests after the first.
    pub(crate) requests: Vec<Request>,
    /// The report still shows this certificate rather than the active one
    /// (CertCentral's report lagging behind a reissue).
    pub(crate) report_certificate: Option<u64>,
    /// The status of the order's own request, when not the one its status
    /// implies (orders placed through the API).
    pub(crate) first_request: Option<RequestStatus>,
}

/// How the account approves orders placed through the API (it decides the
/// shape of the `POST` answer and the new order's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Approval {
    /// An administrator approves: request `pending`, order `needs_approval`.
    #[default]
    OneStep,
    /// Two administrators: request `submitted`, order `needs_approval`.
    TwoStep,
    /// Approved at once: request `approved`, order `pending` validation.
    Auto,
}

/// One order of the account.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) created: NaiveDateTime,
    pub(crate) status: Status,
    /// Index into [`PRODUCTS`].
    pub(crate) product: u8,
    /// Index into [`CONTAINERS`].
    pub(crate) container: u8,
    /// Index into [`ORGANIZATIONS`].
    pub(crate) organization: u8,
    /// Index into [`catalog::USERS`].
    pub(crate) user: u8,
    pub(crate) csr: Csr,
    pub(crate) signature_hash: Hash,
    pub(crate) validity_years: u8,
    /// The generated name: host number and index into [`DOMAINS`].
    pub(crate) host: u32,
    pub(crate) domain: u8,
    /// Extra SANs beyond the common name and its `www.` twin.
    pub(crate) sans: u8,
    /// Index into [`catalog::RENEWAL_MESSAGES`].
    pub(crate) message: u8,
    /// Index into [`catalog::METADATA`].
    pub(crate) metadata: u8,
    pub(crate) auto_renew: bool,
    pub(crate) auto_reissue: bool,
    pub(crate) has_duplicates: bool,
    /// The report's `is_renewed`: a newer order renews this one.
    pub(crate) is_renewed: bool,
    pub(crate) disable_renewal_notifications: bool,
    pub(crate) is_out_of_contract: bool,
    pub(crate) disable_ct: bool,
    pub(crate) disable_issuance_email: bool,
    pub(crate) plus_feature: bool,
    pub(crate) cost_cents: u32,
    /// The first certificate (pending or rejected before issuance).
    pub(crate) certificate: Option<Certificate>,
    /// A Multi-year Plan: the order's own validity, from and till.
    pub(crate) plan: Option<(NaiveDate, NaiveDate)>,
    /// The order this one renews.
    pub(crate) renewed_order_id: Option<u64>,
    /// The newer order that renews this one (from its `renewed_order_id`).
    pub(crate) renewed_by: Option<u64>,
    pub(crate) extra: Option<Box<Extra>>,
}

impl Order {
    /// The product.
    pub(crate) fn product(&self) -> &'static catalog::Product {
        &PRODUCTS[usize::from(self.product)].0
    }

    /// The container.
    pub(crate) fn container(&self) -> &'static catalog::Container {
        &CONTAINERS[usize::from(self.container)]
    }

    /// The organization.
    pub(crate) fn organization(&self) -> &'static catalog::Organization {
        &ORGANIZATIONS[usize::from(self.organization)]
    }

    /// Who placed the order.
    pub(crate) fn user(&self) -> &'static catalog::User {
        &catalog::USERS[usize::from(self.user) % catalog::USERS.len()]
    }

    /// The common name.
    pub(crate) fn common_name(&self) -> String {
        if let Some(name) = self.extra.as_ref().and_then(|e| e.common_name.as_ref()) {
            return name.to_string();
        }
        let base = self.base_name();
        if self.product().wildcard {
            format!("*.{base}")
        } else {
            base
        }
    }

    /// The generated host name the order's names are built on.
    pub(crate) fn base_name(&self) -> String {
        let host = HOSTS[self.host as usize % HOSTS.len()];
        let domain = DOMAINS[usize::from(self.domain) % DOMAINS.len()];
        format!("{host}{}.{domain}", self.host)
    }

    /// Every name on the certificate, the common name first.
    pub(crate) fn dns_names(&self) -> Vec<String> {
        if let Some(names) = self.extra.as_ref().and_then(|e| e.dns_names.as_ref()) {
            let common_name = self.common_name();
            let others = names.iter().filter(|n| **n != common_name).cloned();
            return std::iter::once(common_name.clone()).chain(others).collect();
        }
        let base = self.base_name();
        let mut names = vec![self.common_name()];
        if !self.product().wildcard {
            names.push(format!("www.{base}"));
        }
        for i in 0..self.sans {
            names.push(format!("san{i}.{base}"));
        }
        names
    }

    /// The CSR text.
    pub(crate) fn csr_pem(&self) -> &str {
        self.extra
            .as_ref()
            .and_then(|e| e.csr.as_deref())
            .unwrap_or_else(|| self.csr.pem())
    }

    /// Every certificate, oldest first.
    pub(crate) fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.certificate
            .iter()
            .chain(self.extra.iter().flat_map(|e| e.reissues.iter()))
    }

    /// The active certificate: the latest issued one that is not archived
    /// (by issue time, then id).
    pub(crate) fn active_certificate(&self) -> Option<&Certificate> {
        self.certificates()
            .filter(|c| c.live())
            .max_by_key(|c| (c.issued, c.id))
    }

    /// The certificate the report row shows: the active one, unless the
    /// report lags behind a reissue.
    pub(crate) fn report_certificate(&self) -> Option<&Certificate> {
        let pinned = self.extra.as_ref().and_then(|e| e.report_certificate);
        pinned
            .and_then(|id| self.certificates().find(|c| c.id == id))
            .or_else(|| self.active_certificate())
    }

    /// Certificate `c` of this order as the simulator mints it (the
    /// order's names, the certificate's serial and dates).
    pub(crate) fn leaf(&self, c: &Certificate) -> Leaf {
        let valid_from = c.valid_from.unwrap_or(c.requested.date());
        Leaf {
            common_name: self.common_name(),
            dns_names: self.dns_names(),
            serial: serial_number(c.id),
            valid_from,
            valid_till: c
                .valid_till
                .unwrap_or(valid_from + chrono::Duration::days(365)),
            authority: Authority::Account,
        }
    }

    /// The thumbprint of certificate `c` of this order: the SHA-1 of the
    /// DER the simulator mints for it.
    pub(crate) fn thumbprint(&self, c: &Certificate) -> String {
        mint::thumbprint(&self.leaf(c))
    }

    /// Expiry date of the active certificate.
    pub(crate) fn valid_till(&self) -> Option<NaiveDate> {
        self.active_certificate().and_then(|c| c.valid_till)
    }

    /// Every request, oldest first: the order's own request, then the
    /// others (reissues, duplicates, revocations).
    pub(crate) fn requests(&self) -> Vec<Request> {
        let derived = match self.status {
            // Two-step approval on some orders: submitted, then pending.
            Status::NeedsApproval if self.id.is_multiple_of(4) => RequestStatus::Submitted,
            Status::NeedsApproval => RequestStatus::Pending,
            Status::Rejected | Status::Canceled => RequestStatus::Rejected,
            _ => RequestStatus::Approved,
        };
        let status = self
            .extra
            .as_ref()
            .and_then(|e| e.first_request)
            .unwrap_or(derived);
        let first = Request {
            id: first_request_id(self.id),
            date: self.created,
            kind: RequestKind::NewRequest,
            status,
            comments: self.id.is_multiple_of(3).then_some("Certificate comment."),
        };
        std::iter::once(first)
            .chain(self.extra.iter().flat_map(|e| e.requests.iter().cloned()))
            .collect()
    }

    /// The renewal message.
    pub(crate) fn renewal_message(&self) -> &'static str {
        catalog::RENEWAL_MESSAGES[usize::from(self.message) % catalog::RENEWAL_MESSAGES.len()]
    }

    /// The custom fields, as the report's `metadata` column writes them.
    pub(crate) fn metadata(&self) -> &'static str {
        catalog::METADATA[usize::from(self.metadata) % catalog::METADATA.len()]
    }

    /// A newer order renews this one (the report says so, or a newer order
    /// names it).
    pub(crate) fn renewed(&self) -> bool {
        self.is_renewed || self.renewed_by.is_some()
    }

    /// Order cost in whole currency units, as the report writes it.
    pub(crate) fn cost(&self) -> String {
        format!("{}.{:02}", self.cost_cents / 100, self.cost_cents % 100)
    }

    pub(super) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// The id of an order's own request (other requests are numbered apart).
pub(crate) fn first_request_id(order_id: u64) -> u64 {
    order_id * 4
}

/// A certificate serial number (16 bytes of hex), stable for a certificate
/// id.
pub(crate) fn serial_number(certificate_id: u64) -> String {
    format!(
        "0{:015X}{:016X}",
        mix(certificate_id ^ 0x7365_7269_616c_0000) >> 4,
        mix(certificate_id ^ 0x7365_7269_616c_0001)
    )
}

/// SplitMix64's finaliser: a cheap, good 64-bit mix.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The CA/Browser Forum's maximum TLS certificate validity in days for a
/// certificate issued on `day` (Ballot 193, SC31, SC-081v3).
pub(crate) fn max_validity_days(day: NaiveDate) -> i64 {
    const STEPS: [((i32, u32, u32), i64); 5] = [
        ((2029, 3, 15), 47),
        ((2027, 3, 15), 100),
        ((2026, 3, 15), 200),
        ((2020, 9, 1), 398),
        ((2018, 3, 1), 825),
    ];
    for ((y, m, d), days) in STEPS {
        if NaiveDate::from_ymd_opt(y, m, d).is_some_and(|step| day >= step) {
            return days;
        }
    }
    1185
}

/// An order of a subaccount, as the subaccount listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubaccountOrder {
    pub(crate) id: u64,
    /// Index into [`catalog::SUBACCOUNTS`].
    pub(crate) subaccount: u8,
    /// Also an order of the main report (the listing then mirrors it).
    pub(crate) in_report: bool,
    pub(crate) status: Status,
    pub(crate) product: u8,
    pub(crate) host: u32,
    pub(crate) domain: u8,
    pub(crate) created: NaiveDateTime,
    pub(crate) issued: Option<NaiveDateTime>,
    pub(crate) valid_till: Option<NaiveDate>,
    pub(crate) certificate_id: u64,
    pub(crate) validity_years: u8,
    pub(crate) cost_cents: u32,
    /// Reissue costs in another currency (`order_prices`).
    pub(crate) other_price: Option<(f64, &'static str)>,
}

impl SubaccountOrder {
    /// Its certificate as the simulator mints it.
    pub(crate) fn leaf(&self) -> Leaf {
        let valid_from = self.issued.unwrap_or(self.created).date();
        Leaf {
            common_name: self.common_name(),
            dns_names: vec![self.common_name()],
            serial: serial_number(self.certificate_id),
            valid_from,
            valid_till: self
                .valid_till
                .unwrap_or(valid_from + chrono::Duration::days(365)),
            authority: Authority::Account,
        }
    }

    /// The thumbprint of its certificate.
    pub(crate) fn thumbprint(&self) -> String {
        mint::thumbprint(&self.leaf())
    }

    /// The subaccount that placed it.
    pub(crate) fn subaccount(&self) -> &'static catalog::Subaccount {
        &catalog::SUBACCOUNTS[usize::from(self.subaccount) % catalog::SUBACCOUNTS.len()]
    }

    /// The product.
    pub(crate) fn product(&self) -> &'static catalog::Product {
        &PRODUCTS[usize::from(self.product)].0
    }

    /// The common name.
    pub(crate) fn common_name(&self) -> String {
        let domain = DOMAINS[usize::from(self.domain) % DOMAINS.len()];
        format!("sub{}.{domain}", self.host)
    }
}

/// Everything the simulated account holds.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// The day the fleet is built around.
    pub(crate) today: NaiveDate,
    /// Orders by ascending id.
    pub(crate) orders: Vec<Order>,
    /// The subaccount listing, by ascending id.
    pub(crate) subaccount_orders: Vec<SubaccountOrder>,
    /// The account's domain and organization validations.
    pub(crate) validations: Validations,
    pub(super) next_order_id: u64,
    pub(super) next_certificate_id: u64,
    pub(super) next_request_id: u64,
}

impl World {
    /// The index of order `id`.
    pub(crate) fn index_of(&self, id: u64) -> Option<usize> {
        self.orders.binary_search_by_key(&id, |o| o.id).ok()
    }

    /// Order `id`.
    pub(crate) fn order(&self, id: u64) -> Option<&Order> {
        self.index_of(id).map(|i| &self.orders[i])
    }

    /// The order an order id, thumbprint or serial number names (the
    /// details endpoint takes all three).
    pub(crate) fn find(&self, key: &str) -> Option<&Order> {
        if let Ok(id) = key.parse::<u64>()
            && let Some(order) = self.order(id)
        {
            return Some(order);
        }
        let key = key.to_ascii_uppercase();
        if !(key.len() == 40 || key.len() == 32) || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.orders.iter().find(|o| {
            o.certificates().any(|c| {
                c.status == CertStatus::Issued
                    && if key.len() == 32 {
                        serial_number(c.id) == key
                    } else {
                        o.thumbprint(c) == key
                    }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::today;

    #[test]
    fn lookups_by_id_thumbprint_and_serial() {
        let world = World::generate(300, 6, today());
        let order = world
            .orders
            .iter()
            .find(|o| o.status == Status::Issued)
            .unwrap();
        let c = order.active_certificate().unwrap();
        assert_eq!(
            world.find(&order.id.to_string()).map(|o| o.id),
            Some(order.id)
        );
        assert_eq!(
            world.find(&order.thumbprint(c)).map(|o| o.id),
            Some(order.id)
        );
        assert_eq!(
            world
                .find(&serial_number(c.id).to_lowercase())
                .map(|o| o.id),
            Some(order.id)
        );
        assert!(world.find("nope").is_none());
        assert!(world.find("1").is_none());
        assert_eq!(order.thumbprint(c).len(), 40);
        assert_eq!(serial_number(c.id).len(), 32);
    }
}
