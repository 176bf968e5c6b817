//! The simulated account: a deterministic, realistic fleet of orders built
//! from a seed and a day ("today"), and the changes tests make to it.
//!
//! Orders are compact (names, CSRs, containers and the like are indexes
//! into [`catalog`]; the common case allocates nothing), so
//! that a million orders fit and generate quickly. Everything an endpoint
//! says about an order is derived from this one model, which keeps the
//! report, the details, the reissue list and the truth consistent.
//!
//! How the fleet is built:
//! - the first orders are fixed *scenarios*, most important first (due
//!   today, tomorrow, within 7 and 30 days, every status, renewal chains,
//!   one order per compliance finding...), as many as the size allows;
//! - the rest are random *lineages*: one to three orders for the same name,
//!   each renewing the one before;
//! - orders are then sorted by creation time and numbered, so that order
//!   ids grow with time as in CertCentral.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::catalog::{self, CONTAINERS, Csr, DOMAINS, HOSTS, ORGANIZATIONS, PRODUCTS};

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
    pub(super) fn base_name(&self) -> String {
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

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// The id of an order's own request (other requests are numbered apart).
pub(crate) fn first_request_id(order_id: u64) -> u64 {
    order_id * 4
}

/// A certificate thumbprint (SHA-1 sized hex), stable for a certificate id.
pub(crate) fn thumbprint(certificate_id: u64) -> String {
    format!(
        "{:016X}{:016X}{:08X}",
        mix(certificate_id ^ 0x7468_756d_6270_7269),
        mix(certificate_id ^ 0x6e74_0000_0000_0001),
        mix(certificate_id ^ 0x0000_0000_0000_0002) >> 32
    )
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
    pub(crate) validations: super::validations::Validations,
    next_order_id: u64,
    next_certificate_id: u64,
    next_request_id: u64,
}

/// Marks a drafted order as the renewal of an order outside the report.
const FOREIGN: u64 = u64::MAX;

/// An order under construction, with the lineage it belongs to.
struct Draft {
    order: Order,
    lineage: u32,
}

/// Noon-ish on `day`, plus `minutes`.
fn at(day: NaiveDate, minutes: i64) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) + Duration::minutes(minutes)
}

impl World {
    /// The fleet of `orders` orders from `seed`, around `today`.
    pub(crate) fn generate(orders: usize, seed: u64, today: NaiveDate) -> World {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut world = World {
            today,
            orders: Vec::new(),
            subaccount_orders: Vec::new(),
            validations: Default::default(),
            next_order_id: 0,
            next_certificate_id: 4_000_000 + rng.u64(0..100_000) * 10,
            next_request_id: 0,
        };
        let mut drafts: Vec<Draft> = Vec::with_capacity(orders);
        let mut lineage = 0u32;
        for scenario in SCENARIOS.iter().take(orders) {
            if drafts.len() >= orders {
                break;
            }
            let before = drafts.len();
            scenario(&mut world, &mut rng, lineage, &mut drafts);
            // A scenario of several orders that does not fit is cut whole.
            if drafts.len() > orders {
                drafts.truncate(before);
                break;
            }
            lineage += 1;
        }
        while drafts.len() < orders {
            world.random_lineage(&mut rng, lineage, orders - drafts.len(), &mut drafts);
            lineage += 1;
        }
        world.number(&mut rng, drafts, lineage);
        world.subaccount_orders = world.subaccounts(&mut rng);
        world.validations = super::validations::Validations::generate(&world);
        world
    }

    /// Sorts drafts by creation time, gives them ids in that order, and
    /// links each lineage's renewals.
    fn number(&mut self, rng: &mut fastrand::Rng, drafts: Vec<Draft>, lineages: u32) {
        // Sorting small keys, then moving each draft once, is much faster
        // than sorting the drafts themselves.
        let mut keys: Vec<(NaiveDateTime, usize)> = drafts
            .iter()
            .enumerate()
            .map(|(i, d)| (d.order.created, i))
            .collect();
        keys.sort_unstable();
        let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
        let mut id = 10_000_000 + rng.u64(0..1_000) * 100;
        let mut last_of_lineage: Vec<Option<usize>> = vec![None; lineages as usize];
        self.orders = Vec::with_capacity(slots.len());
        for (index, (_, slot)) in keys.into_iter().enumerate() {
            let Some(draft) = slots[slot].take() else {
                continue;
            };
            let mut order = draft.order;
            id += 1 + rng.u64(0..3);
            order.id = id;
            if order.renewed_order_id == Some(FOREIGN) {
                // Renews an order that is not in this account's report.
                order.renewed_order_id = Some(9_000_000 + u64::from(draft.lineage));
            }
            if let Some(slot) = last_of_lineage.get_mut(draft.lineage as usize)
                && let Some(previous) = slot.replace(index)
            {
                let old = &mut self.orders[previous];
                order.renewed_order_id = Some(old.id);
                old.renewed_by = Some(id);
            }
            self.orders.push(order);
        }
        self.next_order_id = id + 1;
        self.next_request_id = 1_000_000_000 + id;
    }

    fn next_certificate(&mut self) -> u64 {
        self.next_certificate_id += 1 + u64::from(self.next_certificate_id.is_multiple_of(3));
        self.next_certificate_id
    }

    fn next_request(&mut self) -> u64 {
        self.next_request_id += 1;
        self.next_request_id
    }

    /// A new order with everything at its most ordinary; callers change
    /// what their case needs.
    fn blank(&self, rng: &mut fastrand::Rng, host: u32) -> Order {
        let product = catalog::weighted(rng, &PRODUCT_WEIGHTS);
        let multi = PRODUCTS[usize::from(product)].0.multi_domain;
        Order {
            id: 0,
            created: at(self.today, 0),
            status: Status::Issued,
            product,
            container: rng.u8(0..CONTAINERS.len() as u8),
            organization: rng.u8(0..ORGANIZATIONS.len() as u8),
            user: rng.u8(0..catalog::USERS.len() as u8),
            csr: catalog::weighted(rng, &Csr::WEIGHTED[..5]),
            signature_hash: match rng.u32(0..100) {
                0..=91 => Hash::Sha256,
                92..=97 => Hash::Sha384,
                _ => Hash::Sha512,
            },
            validity_years: 1,
            host,
            domain: rng.u8(0..DOMAINS.len() as u8),
            sans: if multi { rng.u8(1..6) } else { 0 },
            message: if rng.u32(0..10) == 0 {
                rng.u8(1..catalog::RENEWAL_MESSAGES.len() as u8)
            } else {
                0
            },
            metadata: if rng.u32(0..3) == 0 {
                rng.u8(1..catalog::METADATA.len() as u8)
            } else {
                0
            },
            auto_renew: rng.u32(0..10) < 4,
            auto_reissue: false,
            has_duplicates: false,
            is_renewed: false,
            disable_renewal_notifications: false,
            is_out_of_contract: false,
            disable_ct: false,
            disable_issuance_email: rng.u32(0..10) == 0,
            plus_feature: rng.bool(),
            cost_cents: 0,
            certificate: None,
            plan: None,
            renewed_order_id: None,
            renewed_by: None,
            extra: None,
        }
    }

    /// Gives `order` an issued certificate valid `from`..=`till`, and the
    /// creation time that goes with it.
    fn issue(
        &mut self,
        rng: &mut fastrand::Rng,
        order: &mut Order,
        from: NaiveDate,
        till: NaiveDate,
    ) {
        let issued = at(from, rng.i64(6 * 60..20 * 60));
        let requested = issued - Duration::minutes(rng.i64(5..3 * 24 * 60));
        order.created = requested;
        order.certificate = Some(Certificate {
            id: self.next_certificate(),
            status: CertStatus::Issued,
            requested,
            issued: Some(issued),
            valid_from: Some(from),
            valid_till: Some(till),
            archived: false,
            user: order.user,
        });
        let years = ((till - from).num_days() + 182) / 365;
        order.validity_years = order
            .validity_years
            .max(u8::try_from(years.max(1)).unwrap_or(1));
        order.cost_cents = order.product().price_cents * u32::from(order.validity_years)
            + 2_500 * u32::from(order.sans);
    }

    /// A certificate that expires on `till`, with the longest validity
    /// the baseline allowed when it was issued (less a few days).
    fn issue_until(&mut self, rng: &mut fastrand::Rng, order: &mut Order, till: NaiveDate) {
        let days = validity_ending(till) - rng.i64(0..3);
        self.issue(rng, order, till - Duration::days(days), till);
    }

    /// A certificate valid today, issued at a random time in the last
    /// year, within the baseline.
    fn issue_current(&mut self, rng: &mut fastrand::Rng, order: &mut Order) {
        let today = self.today;
        let mut from = today - Duration::days(rng.i64(0..400));
        let mut days = pick_validity(rng, from);
        if from + Duration::days(days) < today {
            from = today - Duration::days(rng.i64(0..days.clamp(1, 200)));
            days = pick_validity(rng, from);
            if from + Duration::days(days) < today {
                from = today;
            }
        }
        self.issue(rng, order, from, from + Duration::days(days));
    }

    /// A pending (never issued) first certificate, requested at `at`.
    fn request_only(&mut self, order: &mut Order, requested: NaiveDateTime, status: CertStatus) {
        order.created = requested;
        order.certificate = Some(Certificate {
            id: self.next_certificate(),
            status,
            requested,
            issued: None,
            valid_from: None,
            valid_till: None,
            archived: false,
            user: order.user,
        });
        order.cost_cents = order.product().price_cents + 2_500 * u32::from(order.sans);
    }

    /// Adds a certificate to an order's list (a reissue, or a pending or
    /// rejected one).
    fn add_certificate(&mut self, order: &mut Order, certificate: Certificate) {
        order.extra_mut().reissues.push(certificate);
    }

    /// Adds a request.
    fn add_request(
        &mut self,
        order: &mut Order,
        date: NaiveDateTime,
        kind: RequestKind,
        status: RequestStatus,
    ) {
        let id = self.next_request();
        order.extra_mut().requests.push(Request {
            id,
            date,
            kind,
            status,
            comments: None,
        });
    }

    /// Reissues an issued order's certificate at `when`: same expiry (as
    /// CertCentral does outside Multi-year Plans) unless `till` says
    /// otherwise; the previous certificate is archived when `archive`.
    fn reissue_at(
        &mut self,
        order: &mut Order,
        when: NaiveDateTime,
        till: Option<NaiveDate>,
        archive: bool,
    ) -> u64 {
        let till = till.or_else(|| order.valid_till());
        if archive && let Some(active) = order.active_certificate().map(|c| c.id) {
            if let Some(c) = order.certificate.as_mut().filter(|c| c.id == active) {
                c.archived = true;
            }
            if let Some(extra) = order.extra.as_mut() {
                for c in extra.reissues.iter_mut().filter(|c| c.id == active) {
                    c.archived = true;
                }
            }
        }
        let id = self.next_certificate();
        let certificate = Certificate {
            id,
            status: CertStatus::Issued,
            requested: when - Duration::minutes(47),
            issued: Some(when),
            valid_from: Some(when.date()),
            valid_till: till,
            archived: false,
            user: order.user.wrapping_add(1) % catalog::USERS.len() as u8,
        };
        self.add_certificate(order, certificate);
        self.add_request(
            order,
            when - Duration::minutes(47),
            RequestKind::Reissue,
            RequestStatus::Approved,
        );
        id
    }

    /// Turns an issued order into a Multi-year Plan of `years` that started
    /// on its first certificate, reissued back to back until today.
    fn multi_year_plan(
        &mut self,
        rng: &mut fastrand::Rng,
        order: &mut Order,
        years: u8,
        start: NaiveDate,
    ) {
        let end = start + Duration::days(365 * i64::from(years));
        order.plan = Some((start, end));
        order.validity_years = years;
        order.auto_reissue = rng.u32(0..5) != 0;
        order.cost_cents = order.product().price_cents * u32::from(years);
        let first_till = (start + Duration::days(max_validity_days(start) - 1)).min(end);
        self.issue(rng, order, start, first_till);
        let mut till = first_till;
        while till < self.today && till < end {
            // Reissued about 30 days before each certificate ends.
            let from = till - Duration::days(rng.i64(20..35));
            let next = (from + Duration::days(max_validity_days(from) - 1)).min(end);
            let archive = rng.bool();
            self.reissue_at(
                order,
                at(from, rng.i64(8 * 60..18 * 60)),
                Some(next),
                archive,
            );
            till = next;
        }
    }

    /// One random lineage of up to `room` orders.
    fn random_lineage(
        &mut self,
        rng: &mut fastrand::Rng,
        lineage: u32,
        room: usize,
        drafts: &mut Vec<Draft>,
    ) {
        let today = self.today;
        let host = 1000 + lineage;
        let status = catalog::weighted(rng, &STATUS_WEIGHTS);
        let renewable = matches!(
            status,
            Status::Issued
                | Status::ReissuePending
                | Status::Expired
                | Status::Pending
                | Status::NeedsApproval
        );
        let length = match rng.u32(0..100) {
            _ if !renewable => 1,
            0..=74 => 1,
            75..=94 => 2,
            _ => 3,
        }
        .min(room);
        let mut newest = self.blank(rng, host);
        newest.status = status;
        match status {
            Status::Issued | Status::ReissuePending | Status::Revoked => {
                match rng.u32(0..100) {
                    // Some Multi-year Plans, with their reissue history.
                    0..=4 => {
                        let years = rng.u8(2..4);
                        let start = today - Duration::days(rng.i64(0..365 * i64::from(years) - 30));
                        self.multi_year_plan(rng, &mut newest, years, start);
                    }
                    // A few certificates past the baseline (a two-year
                    // certificate bought on an old contract).
                    5..=6 => {
                        let from = today - Duration::days(rng.i64(0..300));
                        self.issue(rng, &mut newest, from, from + Duration::days(729));
                        newest.validity_years = 2;
                    }
                    _ => self.issue_current(rng, &mut newest),
                }
                if rng.u32(0..100) < 4 && newest.plan.is_none() {
                    // An ordinary reissue (same expiry), sometimes keeping
                    // the previous certificate unarchived.
                    if let Some(from) = newest.certificate.as_ref().and_then(|c| c.valid_from) {
                        let span = (today - from).num_days().max(1);
                        let when = at(from + Duration::days(rng.i64(0..span)), rng.i64(0..1440));
                        let archive = rng.bool();
                        self.reissue_at(&mut newest, when, None, archive);
                    }
                }
                if status == Status::ReissuePending {
                    self.pending_reissue(rng, &mut newest);
                }
            }
            Status::Expired => {
                let till = today - Duration::days(rng.i64(1..1600));
                self.issue_until(rng, &mut newest, till);
            }
            Status::Pending | Status::NeedsApproval | Status::Processing => {
                let minutes = if rng.u32(0..5) == 0 {
                    rng.i64(4 * 1440..40 * 1440)
                } else {
                    rng.i64(10..3 * 1440)
                };
                self.request_only(
                    &mut newest,
                    at(today, 9 * 60) - Duration::minutes(minutes),
                    CertStatus::Pending,
                );
            }
            Status::Rejected | Status::Canceled => {
                let requested = at(today - Duration::days(rng.i64(1..900)), rng.i64(0..1440));
                self.request_only(&mut newest, requested, CertStatus::Rejected);
            }
        }
        self.decorate(rng, &mut newest);
        // The orders it renews, each ending about when the next begins.
        let mut next_from = newest
            .certificate
            .as_ref()
            .and_then(|c| c.valid_from)
            .unwrap_or_else(|| newest.created.date());
        let renewal_of_unnamed = rng.u32(0..20) == 0;
        let mut chain = vec![newest];
        for _ in 1..length {
            let mut old = self.blank(rng, host);
            old.product = chain[0].product;
            old.container = chain[0].container;
            old.organization = chain[0].organization;
            old.domain = chain[0].domain;
            old.sans = chain[0].sans;
            let till = next_from + Duration::days(rng.i64(0..30));
            self.issue_until(rng, &mut old, till);
            old.status = if till < today {
                Status::Expired
            } else {
                Status::Issued
            };
            // Most renewed orders say so once the renewal is issued; a few
            // only through the newer order's `renewed_order_id`.
            old.is_renewed = chain[0]
                .certificate
                .as_ref()
                .is_some_and(|c| c.issued.is_some())
                && rng.u32(0..10) != 0;
            self.decorate(rng, &mut old);
            next_from = old
                .certificate
                .as_ref()
                .and_then(|c| c.valid_from)
                .unwrap_or(till);
            chain.push(old);
        }
        if length == 1 && renewal_of_unnamed && status == Status::Issued {
            // A renewal of an order that is not in this account's report.
            chain[0].renewed_order_id = Some(FOREIGN);
        }
        drafts.extend(chain.into_iter().map(|order| Draft { order, lineage }));
    }

    /// A pending reissue on an issued order (status `reissue_pending`).
    fn pending_reissue(&mut self, rng: &mut fastrand::Rng, order: &mut Order) {
        let when = at(self.today, 0) - Duration::minutes(rng.i64(30..5 * 1440));
        let id = self.next_certificate();
        self.add_certificate(
            order,
            Certificate {
                id,
                status: CertStatus::Pending,
                requested: when,
                issued: None,
                valid_from: None,
                valid_till: None,
                archived: false,
                user: order.user,
            },
        );
        self.add_request(order, when, RequestKind::Reissue, RequestStatus::Submitted);
    }

    /// Random flags that make orders differ (duplicates, notifications,
    /// contract, CT, old requests).
    fn decorate(&mut self, rng: &mut fastrand::Rng, order: &mut Order) {
        order.has_duplicates = rng.u32(0..100) < 4;
        order.disable_renewal_notifications = rng.u32(0..100) < 5;
        order.is_out_of_contract = rng.u32(0..100) < 2;
        order.disable_ct = rng.u32(0..100) < 2;
        if rng.u32(0..200) == 0 {
            order.csr = catalog::weighted(rng, &Csr::WEIGHTED[5..]);
        }
        if order.has_duplicates {
            let when = order.created + Duration::days(rng.i64(1..30));
            self.add_request(order, when, RequestKind::Duplicate, RequestStatus::Approved);
        }
        if order.status.has_certificate() && rng.u32(0..100) < 1 {
            // A reissue somebody asked for and nobody approved.
            let when = order.created + Duration::days(rng.i64(1..20));
            let id = self.next_certificate();
            self.add_certificate(
                order,
                Certificate {
                    id,
                    status: CertStatus::Rejected,
                    requested: when,
                    issued: None,
                    valid_from: None,
                    valid_till: None,
                    archived: false,
                    user: order.user,
                },
            );
            self.add_request(order, when, RequestKind::Reissue, RequestStatus::Rejected);
        }
        if order.status == Status::Revoked {
            let when = order.created + Duration::days(rng.i64(1..60));
            self.add_request(order, when, RequestKind::Revoke, RequestStatus::Approved);
        }
    }

    /// Subaccount orders: a tenth of the fleet's size, some of them also in
    /// the main report (the listing allows both to list one order).
    fn subaccounts(&mut self, rng: &mut fastrand::Rng) -> Vec<SubaccountOrder> {
        if self.orders.is_empty() {
            return Vec::new();
        }
        let count = (self.orders.len() / 10).clamp(4, 50_000);
        let today = self.today;
        let mut list = Vec::with_capacity(count);
        let mut mirrored = std::collections::HashSet::new();
        for i in 0..count {
            let subaccount = (i % catalog::SUBACCOUNTS.len()) as u8;
            let other_price = (i % 9 == 4).then(|| (f64::from(rng.u32(10..90)) + 0.5, "EUR"));
            if i % 6 == 1 {
                // Mirrors an order of the main report.
                let main = &self.orders[rng.usize(0..self.orders.len())];
                if !mirrored.insert(main.id) {
                    continue;
                }
                let certificate = main.active_certificate();
                list.push(SubaccountOrder {
                    id: main.id,
                    subaccount,
                    in_report: true,
                    status: main.status,
                    product: main.product,
                    host: main.host,
                    domain: main.domain,
                    created: main.created,
                    issued: certificate.and_then(|c| c.issued),
                    valid_till: main.valid_till(),
                    certificate_id: certificate.map_or(0, |c| c.id),
                    validity_years: main.validity_years,
                    cost_cents: main.cost_cents,
                    other_price,
                });
                continue;
            }
            let status = catalog::weighted(
                rng,
                &[
                    (Status::Issued, 60),
                    (Status::Pending, 12),
                    (Status::Expired, 16),
                    (Status::Canceled, 6),
                    (Status::Rejected, 6),
                ],
            );
            let (issued, valid_till) = match status {
                Status::Issued => {
                    // A few due within the week, so alerts have something.
                    let days = if i % 10 == 0 {
                        rng.i64(0..7)
                    } else {
                        rng.i64(0..200)
                    };
                    let till = today + Duration::days(days);
                    let from = till - Duration::days(validity_ending(till) - 1);
                    (Some(at(from, 600)), Some(till))
                }
                Status::Expired => {
                    let till = today - Duration::days(rng.i64(1..400));
                    let from = till - Duration::days(validity_ending(till) - 1);
                    (Some(at(from, 600)), Some(till))
                }
                _ => (None, None),
            };
            let product = catalog::weighted(rng, &PRODUCT_WEIGHTS);
            let created = match issued {
                Some(t) => t - Duration::minutes(rng.i64(10..2000)),
                None => at(today - Duration::days(rng.i64(0..60)), rng.i64(0..1440)),
            };
            self.next_order_id += 1 + rng.u64(0..2);
            let id = self.next_order_id;
            list.push(SubaccountOrder {
                id,
                subaccount,
                in_report: false,
                status,
                product,
                host: i as u32,
                domain: rng.u8(0..DOMAINS.len() as u8),
                created,
                issued,
                valid_till,
                certificate_id: if issued.is_some() {
                    self.next_certificate()
                } else {
                    0
                },
                validity_years: 1,
                cost_cents: PRODUCTS[usize::from(product)].0.price_cents,
                other_price,
            });
        }
        self.next_order_id += 1;
        list.sort_by_key(|s| s.id);
        list
    }

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
                    && (thumbprint(c.id) == key || serial_number(c.id) == key)
            })
        })
    }

    /// Removes order `id` (and its subaccount listing); the orders it
    /// renewed, or that renewed it, forget the link.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let Some(index) = self.index_of(id) else {
            return false;
        };
        let order = self.orders.remove(index);
        if let Some(previous) = order.renewed_order_id
            && let Some(i) = self.index_of(previous)
        {
            self.orders[i].renewed_by = None;
        }
        if let Some(newer) = order.renewed_by
            && let Some(i) = self.index_of(newer)
        {
            self.orders[i].renewed_order_id = None;
        }
        self.subaccount_orders.retain(|s| s.id != id);
        true
    }

    /// Issues a new certificate on order `id` now: a new id, thumbprint
    /// and serial, expiring on `till` (default: later than the current
    /// one); the previous one is archived. With `report_lags`, the report
    /// keeps showing the previous certificate. Returns the new
    /// certificate's id.
    pub(crate) fn reissue(
        &mut self,
        id: u64,
        now: NaiveDateTime,
        till: Option<NaiveDate>,
        report_lags: bool,
    ) -> Option<u64> {
        let index = self.index_of(id)?;
        let mut order = self.orders[index].clone();
        let current = order.valid_till();
        let till = till.unwrap_or_else(|| {
            let fresh = now.date() + Duration::days(max_validity_days(now.date()) - 1);
            current.map_or(fresh, |c| fresh.max(c + Duration::days(30)))
        });
        let shown = order.report_certificate().map(|c| c.id);
        let new = self.reissue_at(&mut order, now, Some(till), true);
        order.extra_mut().report_certificate = if report_lags { shown } else { None };
        if !order.status.in_use() {
            order.status = Status::Issued;
        }
        self.sync_subaccount(&order);
        self.orders[index] = order;
        Some(new)
    }

    /// Mirrors a changed order into the subaccount listing.
    fn sync_subaccount(&mut self, order: &Order) {
        if let Some(sub) = self.subaccount_orders.iter_mut().find(|s| s.id == order.id) {
            let certificate = order.active_certificate();
            sub.status = order.status;
            sub.valid_till = order.valid_till();
            sub.issued = certificate.and_then(|c| c.issued);
            sub.certificate_id = certificate.map_or(0, |c| c.id);
        }
    }

    /// Applies `change` to order `id`.
    pub(crate) fn change(&mut self, id: u64, change: &Change) -> Result<(), String> {
        let index = self.index_of(id).ok_or_else(|| format!("no order {id}"))?;
        let mut order = self.orders[index].clone();
        if let Some(status) = &change.status {
            order.status =
                Status::parse(status).ok_or_else(|| format!("unknown status {status:?}"))?;
        }
        let shift = change.valid_till_days.unwrap_or(0);
        if change.valid_till.is_some() || shift != 0 {
            let shown = order.report_certificate().map(|c| c.id);
            let extra = order.extra.as_deref_mut();
            let certificate = order
                .certificate
                .iter_mut()
                .chain(extra.into_iter().flat_map(|e| e.reissues.iter_mut()))
                .find(|c| Some(c.id) == shown)
                .ok_or("the order has no certificate")?;
            certificate.valid_till = match change.valid_till {
                Some(till) => Some(till),
                None => certificate.valid_till.map(|t| t + Duration::days(shift)),
            };
        }
        let flags = [
            (&change.auto_renew, &mut order.auto_renew),
            (&change.auto_reissue, &mut order.auto_reissue),
            (&change.has_duplicates, &mut order.has_duplicates),
            (&change.is_renewed, &mut order.is_renewed),
            (
                &change.disable_renewal_notifications,
                &mut order.disable_renewal_notifications,
            ),
            (&change.is_out_of_contract, &mut order.is_out_of_contract),
            (&change.disable_ct, &mut order.disable_ct),
        ];
        for (wanted, flag) in flags {
            if let Some(value) = wanted {
                *flag = *value;
            }
        }
        if let Some(name) = &change.common_name {
            order.extra_mut().common_name = Some(name.as_str().into());
        }
        self.sync_subaccount(&order);
        self.orders[index] = order;
        Ok(())
    }

    /// Adds an order placed through the API; returns its id and its
    /// certificate's id. With `issue_now` the certificate is issued at
    /// once; otherwise the order waits as `approval` says.
    pub(crate) fn create(
        &mut self,
        new: NewOrder,
        approval: Approval,
        now: NaiveDateTime,
    ) -> (u64, u64) {
        self.next_order_id += 1;
        let id = self.next_order_id;
        let mut rng = fastrand::Rng::with_seed(id);
        let mut order = self.blank(&mut rng, u32::try_from(id % 1_000_000).unwrap_or(0));
        order.id = id;
        order.product = new.product;
        order.sans = 0;
        order.message = 0;
        order.metadata = 0;
        order.auto_renew = new.auto_renew;
        order.disable_renewal_notifications = new.disable_renewal_notifications;
        order.disable_ct = new.disable_ct;
        order.signature_hash = Hash::Sha256;
        if let Some(container) = CONTAINERS
            .iter()
            .position(|c| Some(c.id) == new.container_id)
        {
            order.container = container as u8;
        }
        if let Some(org) = ORGANIZATIONS
            .iter()
            .position(|o| o.id == new.organization_id)
        {
            order.organization = org as u8;
        }
        let first_request = match (new.issue_now, approval) {
            (true, _) | (false, Approval::Auto) => RequestStatus::Approved,
            (false, Approval::OneStep) => RequestStatus::Pending,
            (false, Approval::TwoStep) => RequestStatus::Submitted,
        };
        let extra = order.extra_mut();
        extra.common_name = Some(new.common_name.into());
        extra.dns_names = Some(new.dns_names);
        extra.csr = Some(new.csr.into());
        extra.first_request = Some(first_request);
        self.request_only(&mut order, now, CertStatus::Pending);
        order.validity_years = new.validity_years;
        order.status = match (new.issue_now, approval) {
            (true, _) => Status::Issued,
            (false, Approval::Auto) => Status::Pending,
            (false, _) => Status::NeedsApproval,
        };
        let mut certificate_id = 0;
        if let Some(c) = order.certificate.as_mut() {
            certificate_id = c.id;
            if new.issue_now {
                c.status = CertStatus::Issued;
                c.issued = Some(now);
                c.valid_from = Some(now.date());
                c.valid_till = Some(now.date() + Duration::days(new.validity_days));
            }
        }
        if let Some(previous) = new.renewal_of
            && let Some(i) = self.index_of(previous)
        {
            order.renewed_order_id = Some(previous);
            if let Some(newer) = self.orders[i].renewed_by.replace(id)
                && let Some(j) = self.index_of(newer)
            {
                // The older renewal no longer names it.
                self.orders[j].renewed_order_id = None;
            }
            if new.issue_now {
                self.orders[i].is_renewed = true;
            }
        }
        self.orders.push(order);
        (id, certificate_id)
    }
}

/// A change to an order, from `POST /_simulator/orders/{id}/touch`; every
/// field is optional.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Change {
    pub(crate) status: Option<String>,
    /// New expiry of the certificate the report shows.
    pub(crate) valid_till: Option<NaiveDate>,
    /// Or move that expiry by this many days.
    pub(crate) valid_till_days: Option<i64>,
    pub(crate) auto_renew: Option<bool>,
    pub(crate) auto_reissue: Option<bool>,
    pub(crate) has_duplicates: Option<bool>,
    pub(crate) is_renewed: Option<bool>,
    pub(crate) disable_renewal_notifications: Option<bool>,
    pub(crate) is_out_of_contract: Option<bool>,
    pub(crate) disable_ct: Option<bool>,
    pub(crate) common_name: Option<String>,
}

/// An order placed with `POST /order/certificate/{product}`, validated.
#[derive(Debug, Clone)]
pub(crate) struct NewOrder {
    pub(crate) product: u8,
    pub(crate) common_name: String,
    pub(crate) dns_names: Vec<String>,
    pub(crate) csr: String,
    pub(crate) validity_years: u8,
    pub(crate) validity_days: i64,
    pub(crate) organization_id: u64,
    pub(crate) container_id: Option<u64>,
    pub(crate) auto_renew: bool,
    pub(crate) disable_renewal_notifications: bool,
    pub(crate) disable_ct: bool,
    pub(crate) renewal_of: Option<u64>,
    /// Issued at once (`skip_approval`), else pending.
    pub(crate) issue_now: bool,
}

/// How many days a certificate ending on `till` was valid for, at most.
fn validity_ending(till: NaiveDate) -> i64 {
    let mut days = 398;
    for _ in 0..3 {
        let from = till - Duration::days(days - 1);
        let allowed = max_validity_days(from).min(398);
        if allowed == days {
            break;
        }
        days = allowed;
    }
    days
}

/// A validity for a certificate issued on `from`: mostly the longest
/// allowed (less a day or two), sometimes 90 days (automation), sometimes
/// half.
fn pick_validity(rng: &mut fastrand::Rng, from: NaiveDate) -> i64 {
    let max = max_validity_days(from).min(398);
    match rng.u32(0..100) {
        0..=79 => max - 1 - rng.i64(0..3),
        80..=91 => 90.min(max - 1),
        _ => max / 2,
    }
}

const STATUS_WEIGHTS: [(Status, u32); 9] = [
    (Status::Issued, 560),
    (Status::Expired, 190),
    (Status::Pending, 40),
    (Status::NeedsApproval, 40),
    (Status::Processing, 15),
    (Status::ReissuePending, 30),
    (Status::Revoked, 40),
    (Status::Canceled, 45),
    (Status::Rejected, 40),
];

const PRODUCT_WEIGHTS: [(u8, u32); 8] = {
    let mut table = [(0u8, 0u32); 8];
    let mut i = 0;
    while i < 8 {
        table[i] = (i as u8, PRODUCTS[i].1);
        i += 1;
    }
    table
};

/// A fixed scenario: adds its orders (one lineage) to the drafts.
type Scenario = fn(&mut World, &mut fastrand::Rng, u32, &mut Vec<Draft>);

/// One issued order expiring `days` from today, auto-renew off, nothing
/// else remarkable.
fn plain(world: &mut World, rng: &mut fastrand::Rng, lineage: u32, days: i64) -> Order {
    let mut order = world.blank(rng, lineage);
    order.auto_renew = false;
    order.csr = Csr::Rsa2048;
    order.signature_hash = Hash::Sha256;
    let till = world.today + Duration::days(days);
    world.issue_until(rng, &mut order, till);
    order
}

fn push(drafts: &mut Vec<Draft>, lineage: u32, order: Order) {
    drafts.push(Draft { order, lineage });
}

/// The fixed scenarios, most important first: a fleet of n orders has the
/// first ones that fit. The first twenty cover the expiry horizons and
/// every status.
const SCENARIOS: [Scenario; 34] = [
    // 0-3: due today, tomorrow, within 7 days, within 30 days.
    |w, r, l, d| push(d, l, plain(w, r, l, 0)),
    |w, r, l, d| push(d, l, plain(w, r, l, 1)),
    |w, r, l, d| push(d, l, plain(w, r, l, 5)),
    |w, r, l, d| push(d, l, plain(w, r, l, 20)),
    // 4: expired ten days ago, not renewed.
    |w, r, l, d| {
        let mut o = plain(w, r, l, -10);
        o.status = Status::Expired;
        push(d, l, o);
    },
    // 5: pending, submitted an hour ago.
    |w, r, l, d| {
        let mut o = w.blank(r, l);
        o.status = Status::Pending;
        w.request_only(
            &mut o,
            at(w.today, 0) - Duration::minutes(60),
            CertStatus::Pending,
        );
        push(d, l, o);
    },
    // 6: needs approval for ten days (approval_pending_too_long).
    |w, r, l, d| {
        let mut o = w.blank(r, l);
        o.status = Status::NeedsApproval;
        w.request_only(
            &mut o,
            at(w.today - Duration::days(10), 500),
            CertStatus::Pending,
        );
        push(d, l, o);
    },
    // 7: rejected.
    |w, r, l, d| {
        let mut o = w.blank(r, l);
        o.status = Status::Rejected;
        w.request_only(
            &mut o,
            at(w.today - Duration::days(40), 700),
            CertStatus::Rejected,
        );
        push(d, l, o);
    },
    // 8: canceled.
    |w, r, l, d| {
        let mut o = w.blank(r, l);
        o.status = Status::Canceled;
        w.request_only(
            &mut o,
            at(w.today - Duration::days(70), 800),
            CertStatus::Rejected,
        );
        push(d, l, o);
    },
    // 9: revoked (its certificate would still be valid).
    |w, r, l, d| {
        let mut o = plain(w, r, l, 90);
        o.status = Status::Revoked;
        let when = o.created + Duration::days(3);
        w.add_request(&mut o, when, RequestKind::Revoke, RequestStatus::Approved);
        push(d, l, o);
    },
    // 10: reissue pending, expiring in 60 days.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 60);
        o.status = Status::ReissuePending;
        w.pending_reissue(r, &mut o);
        push(d, l, o);
    },
    // 11: processing.
    |w, r, l, d| {
        let mut o = w.blank(r, l);
        o.status = Status::Processing;
        w.request_only(
            &mut o,
            at(w.today, 0) - Duration::minutes(300),
            CertStatus::Pending,
        );
        push(d, l, o);
    },
    // 12: expiring in 12 days but renewed by a newer issued order.
    |w, r, l, d| {
        let mut old = plain(w, r, l, 12);
        old.is_renewed = true;
        let mut new = plain(w, r, l, 180);
        new.product = old.product;
        new.domain = old.domain;
        new.container = old.container;
        new.organization = old.organization;
        new.auto_renew = true;
        push(d, l, old);
        push(d, l, new);
    },
    // 13: auto-renew on, expiring in 21 days (not actionable yet).
    |w, r, l, d| {
        let mut o = plain(w, r, l, 21);
        o.auto_renew = true;
        push(d, l, o);
    },
    // 14: duplicates.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 150);
        o.has_duplicates = true;
        let when = o.created + Duration::days(2);
        w.add_request(
            &mut o,
            when,
            RequestKind::Duplicate,
            RequestStatus::Approved,
        );
        push(d, l, o);
    },
    // 15: weak key (RSA 1024).
    |w, r, l, d| {
        let mut o = plain(w, r, l, 160);
        o.csr = Csr::Rsa1024;
        push(d, l, o);
    },
    // 16: unreadable CSR.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 170);
        o.csr = Csr::Corrupt;
        push(d, l, o);
    },
    // 17: SHA-1.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 110);
        o.signature_hash = Hash::Sha1;
        push(d, l, o);
    },
    // 18: Multi-year Plan whose certificate was just reissued, and the
    // report still shows the previous certificate, which ends in 25 days.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 25);
        o.auto_renew = true;
        o.auto_reissue = true;
        let start = o
            .certificate
            .as_ref()
            .and_then(|c| c.valid_from)
            .unwrap_or(w.today);
        o.plan = Some((start, start + Duration::days(3 * 365)));
        o.validity_years = 3;
        let shown = o.certificate.as_ref().map(|c| c.id);
        let till = w.today + Duration::days(max_validity_days(w.today) - 1);
        w.reissue_at(
            &mut o,
            at(w.today - Duration::days(1), 600),
            Some(till),
            false,
        );
        o.extra_mut().report_certificate = shown;
        push(d, l, o);
    },
    // 19: expired 45 days ago and renewed (an old order in a chain).
    |w, r, l, d| {
        let mut old = plain(w, r, l, -45);
        old.status = Status::Expired;
        old.is_renewed = true;
        let mut new = plain(w, r, l, 150);
        new.product = old.product;
        new.domain = old.domain;
        push(d, l, old);
        push(d, l, new);
    },
    // 20: two years of validity (past the baseline).
    |w, r, l, d| {
        let mut o = plain(w, r, l, 0);
        let from = w.today - Duration::days(30);
        o.certificate = None;
        w.issue(r, &mut o, from, from + Duration::days(729));
        o.validity_years = 2;
        push(d, l, o);
    },
    // 21: renewal notifications disabled.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 200 - 10);
        o.disable_renewal_notifications = true;
        push(d, l, o);
    },
    // 22: out of contract.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 130);
        o.is_out_of_contract = true;
        push(d, l, o);
    },
    // 23: CT logging disabled.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 140);
        o.disable_ct = true;
        push(d, l, o);
    },
    // 24: status still issued although the certificate ended yesterday.
    |w, r, l, d| push(d, l, plain(w, r, l, -1)),
    // 25: auto-renew on, 10 days left: should have renewed by now.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 10);
        o.auto_renew = true;
        push(d, l, o);
    },
    // 26: a chain of three: expired, expired, issued.
    |w, r, l, d| {
        let first = plain(w, r, l, -400);
        for days in [-400, -30, 170] {
            let mut o = plain(w, r, l, days);
            o.status = if days < 0 {
                Status::Expired
            } else {
                Status::Issued
            };
            o.is_renewed = days < 0;
            o.product = first.product;
            o.domain = first.domain;
            push(d, l, o);
        }
    },
    // 27: renewed only as far as the newer order says (is_renewed 0).
    |w, r, l, d| {
        let old = plain(w, r, l, 8);
        let mut new = plain(w, r, l, 190);
        new.product = old.product;
        new.domain = old.domain;
        push(d, l, old);
        push(d, l, new);
    },
    // 28: an issued order with a duplicate request waiting for 40 days.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 100);
        let when = at(w.today - Duration::days(40), 600);
        w.add_request(&mut o, when, RequestKind::Duplicate, RequestStatus::Pending);
        push(d, l, o);
    },
    // 29: reissued (same expiry), previous certificate left unarchived,
    // plus a rejected reissue.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 75);
        let when = at(w.today - Duration::days(20), 600);
        w.reissue_at(&mut o, when, None, false);
        let id = w.next_certificate();
        let rejected = Certificate {
            id,
            status: CertStatus::Rejected,
            requested: at(w.today - Duration::days(5), 600),
            issued: None,
            valid_from: None,
            valid_till: None,
            archived: false,
            user: 0,
        };
        w.add_certificate(&mut o, rejected);
        w.add_request(
            &mut o,
            at(w.today - Duration::days(5), 600),
            RequestKind::Reissue,
            RequestStatus::Rejected,
        );
        push(d, l, o);
    },
    // 30: a truncated CSR.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 120);
        o.csr = Csr::Truncated;
        push(d, l, o);
    },
    // 31: expired long ago (three years), never renewed.
    |w, r, l, d| {
        let mut o = plain(w, r, l, -3 * 365);
        o.status = Status::Expired;
        push(d, l, o);
    },
    // 32: a Multi-year Plan with auto-reissue, certificate ending in 5
    // days, plan running two more years.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 5);
        o.auto_reissue = true;
        let start = o
            .certificate
            .as_ref()
            .and_then(|c| c.valid_from)
            .unwrap_or(w.today);
        o.plan = Some((start, w.today + Duration::days(730)));
        o.validity_years = 3;
        push(d, l, o);
    },
    // 33: EC P-384 key, SHA-384, expiring in 45 days.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 45);
        o.csr = Csr::Ec384;
        o.signature_hash = Hash::Sha384;
        push(d, l, o);
    },
];

// The scenarios' ids are not fixed (they are sorted among the others by
// creation time): tests find them through their features.
#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn days_left(world: &World, o: &Order) -> Option<i64> {
        o.valid_till().map(|t| (t - world.today).num_days())
    }

    #[test]
    fn a_seed_gives_the_same_fleet() {
        let a = World::generate(2000, 7, today());
        let b = World::generate(2000, 7, today());
        let c = World::generate(2000, 8, today());
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.subaccount_orders, b.subaccount_orders);
        assert_ne!(a.orders, c.orders);
    }

    #[test]
    fn the_size_is_exact() {
        for n in [0, 1, 2, 5, 13, 19, 20, 21, 33, 34, 35, 36, 37, 100, 1001] {
            let world = World::generate(n, 3, today());
            assert_eq!(world.orders.len(), n, "{n} orders");
        }
    }

    #[test]
    fn twenty_orders_have_every_horizon_and_status() {
        let world = World::generate(20, 1, today());
        for days in [0, 1] {
            assert!(
                world
                    .orders
                    .iter()
                    .any(|o| o.status == Status::Issued && days_left(&world, o) == Some(days)),
                "due in {days} days"
            );
        }
        assert!(world.orders.iter().any(|o| o.status == Status::Issued
            && days_left(&world, o).is_some_and(|d| (2..7).contains(&d))));
        assert!(world.orders.iter().any(|o| o.status == Status::Issued
            && days_left(&world, o).is_some_and(|d| (7..30).contains(&d))));
        for status in Status::ALL {
            assert!(
                world.orders.iter().any(|o| o.status == status),
                "{status:?}"
            );
        }
    }

    #[test]
    fn ids_grow_with_creation_time_and_are_unique() {
        let world = World::generate(5000, 2, today());
        for pair in world.orders.windows(2) {
            assert!(pair[0].id < pair[1].id);
            assert!(pair[0].created <= pair[1].created);
        }
        let mut ids: Vec<u64> = world.orders.iter().map(|o| o.id).collect();
        ids.extend(
            world
                .subaccount_orders
                .iter()
                .filter(|s| !s.in_report)
                .map(|s| s.id),
        );
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        let mut certificates: Vec<u64> = world
            .orders
            .iter()
            .flat_map(|o| o.certificates().map(|c| c.id))
            .collect();
        let count = certificates.len();
        certificates.sort_unstable();
        certificates.dedup();
        assert_eq!(certificates.len(), count, "certificate ids are unique");
    }

    #[test]
    fn renewal_links_point_both_ways_at_older_orders() {
        let world = World::generate(5000, 4, today());
        let (mut chains, mut foreign) = (0, 0);
        for order in &world.orders {
            if let Some(previous) = order.renewed_order_id {
                let Some(old) = world.order(previous) else {
                    // A renewal of an order outside this account's report.
                    assert!(previous < world.orders[0].id);
                    foreign += 1;
                    continue;
                };
                assert!(old.id < order.id);
                assert_eq!(old.renewed_by, Some(order.id));
                assert_eq!(old.common_name(), order.common_name());
                chains += 1;
            }
            if let Some(newer) = order.renewed_by {
                assert_eq!(
                    world.order(newer).and_then(|o| o.renewed_order_id),
                    Some(order.id)
                );
            }
        }
        assert!(chains > 500, "{chains} renewals");
        assert!(foreign > 0, "some renew orders outside the report");
        assert!(
            world
                .orders
                .iter()
                .any(|o| o.is_renewed && o.status == Status::Issued)
        );
        assert!(
            world
                .orders
                .iter()
                .any(|o| !o.is_renewed && o.renewed_by.is_some())
        );
    }

    #[test]
    fn certificates_are_consistent_with_statuses() {
        let world = World::generate(20_000, 5, today());
        let mut shares = std::collections::BTreeMap::new();
        for o in &world.orders {
            *shares.entry(o.status).or_insert(0) += 1;
            let till = o.valid_till();
            match o.status {
                Status::Issued | Status::ReissuePending => {
                    assert!(till.is_some(), "{o:?}");
                    assert!(o.active_certificate().and_then(|c| c.valid_from) <= Some(world.today));
                }
                Status::Expired => assert!(till.is_some_and(|t| t < world.today), "{o:?}"),
                Status::Pending
                | Status::NeedsApproval
                | Status::Processing
                | Status::Canceled
                | Status::Rejected => {
                    assert!(till.is_none(), "{o:?}")
                }
                Status::Revoked => assert!(till.is_some()),
            }
            if let Some(c) = o.active_certificate() {
                let (from, till) = (c.valid_from.unwrap(), c.valid_till.unwrap());
                assert!(from <= till);
                assert!(c.issued.unwrap() >= c.requested);
            }
        }
        let issued = shares[&Status::Issued] as f64 / world.orders.len() as f64;
        assert!((0.35..0.7).contains(&issued), "{shares:?}");
        let far = world
            .orders
            .iter()
            .filter_map(|o| days_left(&world, o))
            .max()
            .unwrap();
        let long_ago = world
            .orders
            .iter()
            .filter_map(|o| days_left(&world, o))
            .min()
            .unwrap();
        assert!(far > 600, "expiries reach two years out ({far})");
        assert!(long_ago < -1000, "and long ago ({long_ago})");
    }

    #[test]
    fn ordinary_certificates_stay_within_the_baseline() {
        let world = World::generate(5000, 3, today());
        let beyond = world
            .orders
            .iter()
            .filter_map(|o| o.active_certificate())
            .filter(|c| {
                let (from, till) = (c.valid_from.unwrap(), c.valid_till.unwrap());
                (till - from).num_days() > max_validity_days(from)
            })
            .count();
        assert!(beyond > 0, "a few are past it, on purpose");
        assert!(
            beyond * 50 < world.orders.len(),
            "{beyond} past the baseline"
        );
    }

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
        assert_eq!(world.find(&thumbprint(c.id)).map(|o| o.id), Some(order.id));
        assert_eq!(
            world
                .find(&serial_number(c.id).to_lowercase())
                .map(|o| o.id),
            Some(order.id)
        );
        assert!(world.find("nope").is_none());
        assert!(world.find("1").is_none());
        assert_eq!(thumbprint(c.id).len(), 40);
        assert_eq!(serial_number(c.id).len(), 32);
    }

    #[test]
    fn reissue_change_remove_and_create() {
        let mut world = World::generate(100, 6, today());
        let now = at(world.today, 720);
        let order = world
            .orders
            .iter()
            .find(|o| o.status == Status::Issued && o.plan.is_none())
            .unwrap()
            .clone();
        let before = order.active_certificate().unwrap().clone();
        let new = world.reissue(order.id, now, None, false).unwrap();
        let after = world.order(order.id).unwrap();
        assert_eq!(after.active_certificate().map(|c| c.id), Some(new));
        assert_eq!(after.report_certificate().map(|c| c.id), Some(new));
        assert!(after.valid_till() > before.valid_till);
        assert!(
            after
                .certificates()
                .any(|c| c.id == before.id && c.archived)
        );

        let lagging = world.reissue(order.id, now, None, true).unwrap();
        let after = world.order(order.id).unwrap();
        assert_eq!(after.active_certificate().map(|c| c.id), Some(lagging));
        assert_eq!(after.report_certificate().map(|c| c.id), Some(new));

        let change = Change {
            auto_renew: Some(true),
            valid_till_days: Some(3),
            ..Change::default()
        };
        world.change(order.id, &change).unwrap();
        assert!(world.order(order.id).unwrap().auto_renew);

        let renewed = world
            .orders
            .iter()
            .find(|o| o.renewed_by.is_some())
            .unwrap()
            .id;
        let newer = world.order(renewed).unwrap().renewed_by.unwrap();
        assert!(world.remove(newer));
        assert_eq!(world.order(renewed).unwrap().renewed_by, None);
        assert!(!world.remove(newer));

        let (id, certificate) = world.create(
            NewOrder {
                product: 0,
                common_name: "new.example.com".into(),
                dns_names: vec!["new.example.com".into(), "www.new.example.com".into()],
                csr: Csr::Ec256.pem().into(),
                validity_years: 1,
                validity_days: 199,
                organization_id: 221_134,
                container_id: None,
                auto_renew: false,
                disable_renewal_notifications: false,
                disable_ct: false,
                renewal_of: Some(renewed),
                issue_now: true,
            },
            Approval::OneStep,
            now,
        );
        let created = world.order(id).unwrap();
        assert_eq!(created.common_name(), "new.example.com");
        assert_eq!(created.dns_names().len(), 2);
        assert_eq!(created.organization().name, "Müller, \"Nord\" GmbH");
        assert_eq!(
            created.active_certificate().map(|c| c.id),
            Some(certificate)
        );
        assert_eq!(world.orders.last().map(|o| o.id), Some(id));
        assert_eq!(world.order(renewed).unwrap().renewed_by, Some(id));
    }

    #[test]
    fn generation_speed() {
        for n in [100_000, 1_000_000] {
            if n > 100_000 && cfg!(debug_assertions) {
                continue;
            }
            let started = std::time::Instant::now();
            let world = World::generate(n, 1, today());
            assert_eq!(world.orders.len(), n);
            println!(
                "{n} orders generated in {:?} ({} bytes per order, {} subaccount orders)",
                started.elapsed(),
                std::mem::size_of::<Order>(),
                world.subaccount_orders.len()
            );
        }
    }
}
