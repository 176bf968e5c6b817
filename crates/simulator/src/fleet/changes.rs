//! The changes made to the account after it is generated: the controls
//! tests use (`/_simulator/orders/{id}/touch`, `.../reissue`, `DELETE`)
//! and the orders placed through the API's `POST`.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::model::{
    Approval, CertStatus, Hash, Order, RequestStatus, Status, World, max_validity_days,
};
use crate::catalog::{CONTAINERS, ORGANIZATIONS};

impl World {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Csr;
    use crate::fleet::generator::at;
    use crate::fleet::testing::today;

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
}
