//! Every certificate CertCentral knows for the polled accounts, by
//! thumbprint and by serial number, with where it stands: the active
//! certificate of its order, or superseded by a reissue of the order or by
//! the order that renewed it (and then, what replaced it). The deployment
//! probe looks the certificate an endpoint serves up here: a superseded
//! one means the replacement was never installed there.
//!
//! Built from the fleets on the board (report rows, order details, reissue
//! lists, subaccount orders); a pure function of them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::board::AccountState;
use crate::fleet::{Fleet, Order, end_of_day};
use crate::identity::CertificateId;

/// Where a known certificate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The active certificate of its order.
    Active,
    /// Replaced: by a reissue of the same order, or by the certificate of
    /// the order that renewed it.
    Superseded(Replacement),
}

/// What replaced a superseded certificate: what to install instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The order whose active certificate replaces it (the same order for
    /// a reissue).
    pub order_id: u64,
    /// When the replacement expires, if known.
    pub expiry: Option<DateTime<Utc>>,
    /// `reissue` or `renewal`.
    pub by: &'static str,
}

/// One certificate CertCentral knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCertificate {
    /// The account it was polled from (the `account` label).
    pub account: Arc<str>,
    pub order_id: u64,
    /// Its order's container (the `container` label: who owns it, which
    /// routes the deployment alerts); empty for a subaccount order, whose
    /// listing does not say.
    pub container: Arc<str>,
    /// Its expiry, if known.
    pub expiry: Option<DateTime<Utc>>,
    pub standing: Standing,
}

/// The certificates of every polled account, by normalised thumbprint and
/// serial number.
#[derive(Debug, Default)]
pub struct KnownCertificates {
    by_thumbprint: HashMap<Box<str>, Arc<KnownCertificate>>,
    by_serial: HashMap<Box<str>, Arc<KnownCertificate>>,
}

impl KnownCertificates {
    /// Indexes the latest fleet of every account.
    pub fn build(states: &[Arc<AccountState>]) -> KnownCertificates {
        let mut known = KnownCertificates::default();
        for state in states {
            if let Some(fleet) = &state.fleet {
                known.add_fleet(&Arc::from(state.account.as_str()), fleet);
            }
        }
        known
    }

    /// The certificate with this thumbprint, else this serial number.
    pub fn find(&self, id: &CertificateId) -> Option<&KnownCertificate> {
        let by_thumbprint = id
            .thumbprint
            .as_ref()
            .and_then(|t| self.by_thumbprint.get(t));
        by_thumbprint
            .or_else(|| id.serial.as_ref().and_then(|s| self.by_serial.get(s)))
            .map(Arc::as_ref)
    }

    fn add_fleet(&mut self, account: &Arc<str>, fleet: &Fleet) {
        // The order that renewed each order, as the newer one says it.
        let mut renewed_by: HashMap<u64, u64> = HashMap::new();
        for order in &fleet.orders {
            if let Some(previous) = order.report.renewed_order_id {
                renewed_by.insert(previous, order.id());
            }
        }
        for order in &fleet.orders {
            let successor = renewed_by.get(&order.id()).copied().or_else(|| {
                order
                    .details
                    .as_deref()
                    .and_then(|d| d.was_renewed_by_order_id)
            });
            let renewal = successor.filter(|_| order.renewed).map(|by| Replacement {
                order_id: by,
                expiry: fleet.order(by).and_then(Order::expiry),
                by: "renewal",
            });
            self.add_order(account, order, renewal);
        }
        for order in &fleet.subaccount_orders {
            self.insert(
                &order.identity,
                KnownCertificate {
                    account: account.clone(),
                    order_id: order.order_id,
                    container: Arc::from(""),
                    expiry: order.expiry(),
                    standing: Standing::Active,
                },
            );
        }
    }

    /// Every certificate of one order: those of its reissue list, the one
    /// its details show and the one its report row shows. With `renewal`,
    /// all of them are superseded by it; else each but the active one is
    /// superseded by the active one.
    fn add_order(&mut self, account: &Arc<str>, order: &Order, renewal: Option<Replacement>) {
        let report = &order.report;
        let details = order.details.as_deref();
        let reissues = details.and_then(|d| d.reissues.as_ref());
        let active_expiry = order.expiry();
        let active_id = reissues.and_then(|r| r.active_certificate_id);
        let standing = |is_active: bool| match &renewal {
            Some(replacement) => Standing::Superseded(replacement.clone()),
            None if is_active => Standing::Active,
            None => Standing::Superseded(Replacement {
                order_id: order.id(),
                expiry: active_expiry,
                by: "reissue",
            }),
        };
        let entry = |expiry: Option<NaiveDate>, is_active: bool| KnownCertificate {
            account: account.clone(),
            order_id: order.id(),
            container: report.container_name.clone(),
            expiry: expiry.map(end_of_day),
            standing: standing(is_active),
        };
        // The reissue list is the whole history; where it is known, it says
        // which certificate is active.
        for cert in reissues
            .map(|r| r.certificates.as_slice())
            .unwrap_or_default()
        {
            let is_active = active_id.is_some() && cert.id == active_id;
            self.insert(&cert.identity, entry(cert.valid_till, is_active));
        }
        // The details show the order's current certificate, the report row
        // the one it holds (it may lag behind a reissue).
        let report_id = CertificateId::new(Some(&report.thumbprint), Some(&report.serial_number));
        let report_is_active = match active_id {
            Some(active) => report.certificate_id == Some(active),
            None => true,
        };
        if let Some(details) = details.filter(|d| !d.identity.is_empty()) {
            let is_active = report_is_active || details.identity != report_id;
            self.insert_new(&details.identity, entry(order.valid_till(), is_active));
        }
        self.insert_new(&report_id, entry(report.valid_till, report_is_active));
    }

    /// Indexes `known` under `id`'s thumbprint and serial (a later entry
    /// for the same certificate replaces an earlier one).
    fn insert(&mut self, id: &CertificateId, known: KnownCertificate) {
        if id.is_empty() {
            return;
        }
        let known = Arc::new(known);
        if let Some(thumbprint) = &id.thumbprint {
            self.by_thumbprint.insert(thumbprint.clone(), known.clone());
        }
        if let Some(serial) = &id.serial {
            self.by_serial.insert(serial.clone(), known);
        }
    }

    /// As [`Self::insert`], unless the certificate is already known (the
    /// reissue list says more of it than the details or the report).
    fn insert_new(&mut self, id: &CertificateId, known: KnownCertificate) {
        if self.find(id).is_none() {
            self.insert(id, known);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::certcentral::report::ReportRow;
    use crate::fleet::fixtures::{details, row};
    use crate::fleet::{
        OrderDetails, ReissuedCertificateRecord, Reissues, Subaccounts, fingerprint,
    };

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn id(thumbprint: &str, serial: &str) -> CertificateId {
        CertificateId::new(Some(thumbprint), Some(serial))
    }

    fn state(rows: Vec<ReportRow>, details: HashMap<u64, Arc<OrderDetails>>) -> Arc<AccountState> {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let fleet = Fleet::build(rows, &details, &Subaccounts::Unknown, 0, now);
        let mut state = AccountState::new("prod".into(), Duration::from_secs(900));
        state.fleet = Some(Arc::new(fleet));
        Arc::new(state)
    }

    /// An order reissued twice: the report still shows the first
    /// certificate, the list says the third is active. The first two are
    /// superseded by the third, whose expiry is the replacement's.
    #[test]
    fn a_reissued_orders_earlier_certificates_are_superseded_by_its_active_one() {
        let report = ReportRow {
            order_id: 1,
            certificate_id: Some(10),
            thumbprint: "AA:01".into(),
            serial_number: "0A01".into(),
            valid_till: Some(day(2026, 12, 10)),
            ..row()
        };
        let cert = |cid: u64, t: &str, till: NaiveDate| ReissuedCertificateRecord {
            id: Some(cid),
            identity: id(t, t),
            status: "issued".into(),
            valid_till: Some(till),
            issued: None,
            archived: cid != 12,
        };
        let mut d = details();
        d.fingerprint = fingerprint(&report);
        d.identity = id("AA03", "AA03");
        d.reissues = Some(Reissues {
            active_certificate_id: Some(12),
            active_valid_till: Some(day(2027, 6, 1)),
            certificates: vec![
                cert(10, "AA01", day(2026, 12, 10)),
                cert(11, "AA02", day(2026, 12, 10)),
                cert(12, "AA03", day(2027, 6, 1)),
            ],
            ..Reissues::default()
        });
        let known =
            KnownCertificates::build(&[state(vec![report], HashMap::from([(1, Arc::new(d))]))]);
        let replacement = Standing::Superseded(Replacement {
            order_id: 1,
            expiry: Some(end_of_day(day(2027, 6, 1))),
            by: "reissue",
        });
        for (t, serial) in [("aa:01", "a01"), ("AA02", "00AA02")] {
            let found = known.find(&id(t, serial)).expect("known");
            assert_eq!(found.standing, replacement, "{t}");
            assert_eq!(found.order_id, 1);
        }
        assert_eq!(
            known
                .find(&CertificateId::new(None, Some("aa03")))
                .map(|k| &k.standing),
            Some(&Standing::Active),
            "found by serial alone"
        );
        assert!(known.find(&id("BB01", "BB01")).is_none());
    }

    /// A renewed order's certificate is superseded by the renewing order's
    /// certificate, whichever way the renewal is said.
    #[test]
    fn a_renewed_orders_certificate_is_superseded_by_the_renewal() {
        let old = ReportRow {
            order_id: 1,
            thumbprint: "AA01".into(),
            serial_number: "01".into(),
            is_renewed: true,
            valid_till: Some(day(2026, 12, 10)),
            ..row()
        };
        let new = ReportRow {
            order_id: 2,
            thumbprint: "BB01".into(),
            serial_number: "02".into(),
            renewed_order_id: Some(1),
            valid_till: Some(day(2027, 12, 10)),
            ..row()
        };
        let known = KnownCertificates::build(&[state(vec![old, new], HashMap::new())]);
        assert_eq!(
            known.find(&id("AA01", "01")).map(|k| &k.standing),
            Some(&Standing::Superseded(Replacement {
                order_id: 2,
                expiry: Some(end_of_day(day(2027, 12, 10))),
                by: "renewal",
            }))
        );
        assert_eq!(
            known.find(&id("BB01", "02")).map(|k| &k.standing),
            Some(&Standing::Active)
        );
    }
}
