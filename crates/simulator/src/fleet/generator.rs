//! The generator: a deterministic fleet from a seed and a day. The fixed
//! scenarios come first ([`super::scenarios`]), random lineages fill the
//! rest, then orders are numbered by creation time; the subaccount
//! listing and the validations follow from the orders.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::model::{
    CertStatus, Certificate, Hash, Order, Request, RequestKind, RequestStatus, Status,
    SubaccountOrder, World, max_validity_days,
};
use super::scenarios::SCENARIOS;
use crate::catalog::{self, CONTAINERS, Csr, DOMAINS, ORGANIZATIONS, PRODUCTS};
use crate::validations::Validations;

/// Marks a drafted order as the renewal of an order outside the report.
const FOREIGN: u64 = u64::MAX;

/// An order under construction, with the lineage it belongs to.
pub(super) struct Draft {
    pub(super) order: Order,
    pub(super) lineage: u32,
}

/// Noon-ish on `day`, plus `minutes`.
pub(super) fn at(day: NaiveDate, minutes: i64) -> NaiveDateTime {
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
        world.validations = Validations::generate(&world);
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

    pub(super) fn next_certificate(&mut self) -> u64 {
        self.next_certificate_id += 1 + u64::from(self.next_certificate_id.is_multiple_of(3));
        self.next_certificate_id
    }

    fn next_request(&mut self) -> u64 {
        self.next_request_id += 1;
        self.next_request_id
    }

    /// A new order with everything at its most ordinary; callers change
    /// what their case needs.
    pub(super) fn blank(&self, rng: &mut fastrand::Rng, host: u32) -> Order {
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
    pub(super) fn issue(
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
    pub(super) fn issue_until(
        &mut self,
        rng: &mut fastrand::Rng,
        order: &mut Order,
        till: NaiveDate,
    ) {
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
    pub(super) fn request_only(
        &mut self,
        order: &mut Order,
        requested: NaiveDateTime,
        status: CertStatus,
    ) {
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
    pub(super) fn add_certificate(&mut self, order: &mut Order, certificate: Certificate) {
        order.extra_mut().reissues.push(certificate);
    }

    /// Adds a request.
    pub(super) fn add_request(
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
    pub(super) fn reissue_at(
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
    pub(super) fn pending_reissue(&mut self, rng: &mut fastrand::Rng, order: &mut Order) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::{days_left, today};

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
