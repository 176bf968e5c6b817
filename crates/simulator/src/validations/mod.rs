//! The account's domain (DCV) and organization (OV/EV) validations, built
//! with the fleet and consistent with its orders, the three endpoints that
//! list them, and the simulator's own truth of which validation each
//! order's renewal depends on.
//!
//! What the account holds (see [`Validations::generate`]):
//! - a base-domain record for most organization and domain pairs, some
//!   spelled in Unicode (`müller.example`) or in capitals, one inactive,
//!   a few pairs with none (their orders' names are covered by nothing,
//!   even where another organization has the domain);
//! - subdomain records for some orders' host names: some validated by
//!   file (`http-token`, exact name only), some belonging to another
//!   organization (they cover nothing of the order);
//! - DCV approved between a few days and seven months ago, so that with
//!   DigiCert's 199-day reuse some have expired and some end this week;
//!   a few records without an EV validation;
//! - each organization's OV and EV validation: one ends this week, one EV
//!   has expired, one is pending.
//!
//! Dates are Mountain Time days: `validated_until` is midnight of that day
//! in `America/Denver` written in UTC; `dcv_expiration` is the bare date,
//! or that instant with `include_dcv_expiration_time=true`. Subaccount
//! domains always give bare dates, and some omit `validations[]`.
//!
//! The truth ([`order_truth`]) matches names by the structure the fleet
//! was built from (host, domain and organization indexes), not by
//! comparing strings as the exporter does.
//!
//! Layout: this module holds the records and builds them; [`truth`] says
//! which of them each order's renewal needs; [`api`] serves the three
//! listing endpoints; [`control`] the truth and its switch under
//! `/_simulator/validations`.

pub(crate) mod api;
pub(crate) mod control;
pub(crate) mod truth;

pub(crate) use truth::{OrderValidationTruth, order_truth};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::Serialize;

use crate::catalog::{DOMAINS, ORGANIZATIONS, SUBACCOUNTS};
use crate::fleet::{Order, World};

/// DigiCert's domain validation reuse period since 2026-02-24.
pub(crate) const DCV_REUSE_DAYS: i64 = 199;
/// Largest page the validation lists serve (the documented maximum was
/// cut off; a small one makes the exporter page).
pub(crate) const MAX_VALIDATION_LIMIT: usize = 50;
/// Subdomain records at most, whatever the fleet's size.
const MAX_SUBDOMAIN_RECORDS: usize = 2000;
/// How many days before today each base record's DCV was approved, in
/// turn: with 199-day reuse, they end in 189, 139, 79, 49, 29, 14, 4 and 2
/// days, 6 days ago, and in 99, 169 and 21 days.
const APPROVAL_AGES: [i64; 12] = [10, 60, 120, 150, 170, 185, 195, 197, 205, 100, 30, 178];
/// The same for subdomain records: they end in 3, 189, 59, 19 and 119
/// days, and 11 days ago.
const SUBDOMAIN_APPROVAL_AGES: [i64; 6] = [196, 10, 140, 180, 80, 210];
/// Days from today to each organization's OV and EV validation end
/// (`None`: pending).
const ORGANIZATION_VALIDATIONS: [(i64, Option<i64>); 6] = [
    (300, Some(250)),
    (5, Some(90)),
    (200, Some(-3)),
    (120, Some(60)),
    (380, None),
    (45, Some(200)),
];

/// A domain record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DomainRecord {
    pub(crate) id: u64,
    /// As the account spells it.
    pub(crate) name: String,
    /// Index into [`ORGANIZATIONS`].
    #[serde(skip)]
    pub(crate) organization: u8,
    pub(crate) organization_id: u64,
    /// Index into [`DOMAINS`]: the base domain it is, or is under.
    #[serde(skip)]
    pub(crate) domain: u8,
    /// A subdomain record for the orders of this host number.
    #[serde(skip)]
    pub(crate) host: Option<u32>,
    pub(crate) dcv_method: &'static str,
    pub(crate) is_active: bool,
    /// Mountain Time day of the latest DCV approval.
    pub(crate) approved: NaiveDate,
    /// Mountain Time day the OV and EV reuse ends (`None`: no such
    /// validation).
    pub(crate) ov_until: Option<NaiveDate>,
    pub(crate) ev_until: Option<NaiveDate>,
}

impl DomainRecord {
    fn until(&self, kind: &str) -> Option<NaiveDate> {
        if kind == "ev" {
            self.ev_until
        } else {
            self.ov_until
        }
    }

    /// Validated by file: the exact name only.
    fn exact_only(&self) -> bool {
        self.dcv_method.starts_with("http-token")
    }

    /// Whether a renewal at `now` can reuse its `kind` validation.
    fn usable(&self, kind: &str, now: DateTime<Utc>) -> bool {
        self.is_active
            && self
                .until(kind)
                .is_some_and(|day| mountain_midnight(day) > now.timestamp())
    }
}

/// An organization's validations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OrganizationRecord {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    /// Mountain Time day the validation ends; `None` while pending.
    pub(crate) ov_until: Option<NaiveDate>,
    pub(crate) ev_until: Option<NaiveDate>,
}

/// Everything the validation endpoints serve.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validations {
    pub(crate) domains: Vec<DomainRecord>,
    /// Parallel to [`ORGANIZATIONS`].
    pub(crate) organizations: Vec<OrganizationRecord>,
    /// Domains of each subaccount the key may list, by subaccount id.
    pub(crate) subaccount_domains: Vec<(u64, Vec<DomainRecord>)>,
    /// The key may read these endpoints; `false` answers 403 on all three.
    pub(crate) permitted: bool,
    /// What the account's domain list shows.
    pub(crate) domains_shown: DomainsShown,
}

/// What the account's domain list shows: its records, none (a key whose
/// user may not see the domains), or records that cover none of the
/// orders' names (a list from elsewhere). In the last two the exporter
/// can conclude nothing of a name, and the truth expects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DomainsShown {
    #[default]
    All,
    Empty,
    Foreign,
}

/// Midnight at the start of `day` in US Mountain Time, Unix seconds:
/// daylight time (UTC-6) runs from the day after the second Sunday of
/// March to the first Sunday of November included at midnight, standard
/// time (UTC-7) otherwise. Worked out by counting Sundays, apart from the
/// exporter's own reading of these dates.
pub(crate) fn mountain_midnight(day: NaiveDate) -> i64 {
    let sundays_before = |day: NaiveDate| {
        (1..day.day())
            .filter(|d| {
                day.with_day(*d)
                    .is_some_and(|earlier| earlier.weekday() == Weekday::Sun)
            })
            .count()
    };
    let daylight = match day.month() {
        4..=10 => true,
        3 => sundays_before(day) >= 2,
        11 => sundays_before(day) == 0,
        _ => false,
    };
    let offset = if daylight { 6 } else { 7 };
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() + offset * 3600
}

pub(super) fn rfc3339(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

impl Validations {
    /// The validations of `world`'s account, around its today.
    pub(crate) fn generate(world: &World) -> Validations {
        let today = world.today;
        let mut next_id = 5_100_000;
        let mut id = || {
            next_id += 7;
            next_id
        };
        let record = |id: u64, name: String, o: usize, d: usize, age: i64| {
            let approved = today - Duration::days(age);
            let until = approved + Duration::days(DCV_REUSE_DAYS);
            DomainRecord {
                id,
                name,
                organization: o as u8,
                organization_id: ORGANIZATIONS[o].id,
                domain: d as u8,
                host: None,
                dcv_method: ["dns-txt-token", "email", "dns-cname-token"][(o + d) % 3],
                is_active: true,
                approved,
                ov_until: Some(until),
                ev_until: Some(until),
            }
        };
        let mut domains = Vec::new();
        for o in 0..ORGANIZATIONS.len() {
            for (d, base) in DOMAINS.iter().enumerate() {
                if (o + 2 * d) % 9 == 4 {
                    continue; // names under it are covered by nothing
                }
                let pair = o * DOMAINS.len() + d;
                let name = match (o, d) {
                    (o, 5) if o % 2 == 0 => "müller.example".to_owned(),
                    (1, 1) => "Example.ORG".to_owned(),
                    _ => (*base).to_owned(),
                };
                let mut base = record(id(), name, o, d, APPROVAL_AGES[pair % 12]);
                if pair % 5 == 2 {
                    base.ev_until = None; // OV only
                }
                base.is_active = pair != 35;
                domains.push(base);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for order in &world.orders {
            if domains.len() >= MAX_SUBDOMAIN_RECORDS || !generated_names(order) {
                continue;
            }
            let (o, d, host) = (
                usize::from(order.organization),
                usize::from(order.domain) % DOMAINS.len(),
                order.host,
            );
            let other_org = match host % 7 {
                3 => false,
                5 => true,
                _ => continue,
            };
            if !seen.insert((o, d, host)) {
                continue;
            }
            let o = if other_org {
                (o + 1) % ORGANIZATIONS.len()
            } else {
                o
            };
            let age = SUBDOMAIN_APPROVAL_AGES[seen.len() % SUBDOMAIN_APPROVAL_AGES.len()];
            let mut sub = record(id(), order.base_name(), o, d, age);
            sub.host = Some(host);
            sub.dcv_method = if host % 2 == 0 {
                "http-token"
            } else {
                "dns-cname-token"
            };
            domains.push(sub);
        }
        let organizations = ORGANIZATIONS
            .iter()
            .zip(ORGANIZATION_VALIDATIONS)
            .map(|(org, (ov, ev))| OrganizationRecord {
                id: org.id,
                name: org.name,
                ov_until: Some(today + Duration::days(ov)),
                ev_until: ev.map(|days| today + Duration::days(days)),
            })
            .collect();
        // Immediate subaccounts only: the key may not list a
        // sub-subaccount's domains (403).
        let subaccount_domains = SUBACCOUNTS
            .iter()
            .filter(|s| s.immediate)
            .enumerate()
            .map(|(i, sub)| {
                let records = (0..3)
                    .map(|k| {
                        let d = (i + 2 * k) % DOMAINS.len();
                        let o = (i + k) % ORGANIZATIONS.len();
                        let name = format!("sub{}.{}", sub.id % 1000, DOMAINS[d]);
                        record(id(), name, o, d, APPROVAL_AGES[(i * 3 + k * 5) % 12])
                    })
                    .collect();
                (sub.id, records)
            })
            .collect();
        Validations {
            domains,
            organizations,
            subaccount_domains,
            permitted: true,
            domains_shown: DomainsShown::All,
        }
    }
}

/// Whether the order's names are the generated ones (not posted through
/// the API or changed by a test).
pub(super) fn generated_names(order: &Order) -> bool {
    order
        .extra
        .as_ref()
        .is_none_or(|e| e.common_name.is_none() && e.dns_names.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn mountain_midnight_follows_daylight_time() {
        let at = |y, m, d| rfc3339(mountain_midnight(day(y, m, d)));
        assert_eq!(at(2023, 3, 27), "2023-03-27T06:00:00+00:00");
        assert_eq!(at(2022, 3, 10), "2022-03-10T07:00:00+00:00");
        assert_eq!(at(2021, 11, 23), "2021-11-23T07:00:00+00:00");
        assert_eq!(at(2027, 3, 14), "2027-03-14T07:00:00+00:00");
        assert_eq!(at(2027, 3, 15), "2027-03-15T06:00:00+00:00");
        assert_eq!(at(2027, 11, 7), "2027-11-07T06:00:00+00:00");
        assert_eq!(at(2027, 11, 8), "2027-11-08T07:00:00+00:00");
    }
}
