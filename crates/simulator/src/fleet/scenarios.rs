//! The fixed scenarios every fleet starts with, most important first: the
//! expiry horizons, every status, renewal chains, one order per compliance
//! finding. Their ids are not fixed (they are sorted among the others by
//! creation time): tests find them through their features.

use chrono::Duration;

use super::generator::{Draft, at};
use super::model::{
    CertStatus, Certificate, Hash, Order, RequestKind, RequestStatus, Status, World,
    max_validity_days,
};
use crate::catalog::Csr;

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

/// An issued order expiring in `days`, renewed by a newer issued order.
fn renewed(
    world: &mut World,
    rng: &mut fastrand::Rng,
    lineage: u32,
    drafts: &mut Vec<Draft>,
    days: i64,
) {
    let mut old = plain(world, rng, lineage, days);
    old.is_renewed = true;
    let mut new = plain(world, rng, lineage, 180);
    new.product = old.product;
    new.domain = old.domain;
    new.container = old.container;
    new.organization = old.organization;
    new.auto_renew = true;
    push(drafts, lineage, old);
    push(drafts, lineage, new);
}

/// The fixed scenarios, most important first: a fleet of n orders has the
/// first ones that fit. The first twenty cover the expiry horizons and
/// every status.
pub(super) const SCENARIOS: [Scenario; 36] = [
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
    |w, r, l, d| renewed(w, r, l, d, 12),
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
    // 34: 1,001 names, more than the exporter judges (too_many_names),
    // the 1,000 after the common name under a domain nothing validates,
    // expiring in 200 days.
    |w, r, l, d| {
        let mut o = plain(w, r, l, 200);
        let mut names = vec![o.common_name()];
        names.extend((0..1000).map(|i| format!("host{i}.too-many-names.test")));
        o.extra_mut().dns_names = Some(names);
        push(d, l, o);
    },
    // 35: expiring in 4 days, renewed by a newer issued order (the
    // renewal the TLS endpoint `superseded-by-renewal-urgent` never got).
    |w, r, l, d| renewed(w, r, l, d, 4),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::{days_left, today};

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
}
