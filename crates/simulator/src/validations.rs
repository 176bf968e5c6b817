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

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use super::api::{self, paging, query};
use super::catalog::{DOMAINS, ORGANIZATIONS, SUBACCOUNTS};
use super::fleet::{Order, World};

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

fn rfc3339(unix: i64) -> String {
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
        }
    }
}

/// One validation a renewal needs, as the exporter should report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NeedTruth {
    /// `domain` or `organization`.
    pub(crate) scope: &'static str,
    /// `ov` or `ev`.
    pub(crate) kind: &'static str,
    pub(crate) id: u64,
    pub(crate) name: String,
    /// When it ends, Unix seconds; `None` when there is none to reuse.
    pub(crate) expiry_timestamp: Option<i64>,
}

/// What an order's renewal depends on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct OrderValidationTruth {
    /// Each validation needed once, domains first.
    pub(crate) needs: Vec<NeedTruth>,
    /// Names no active validation covers.
    pub(crate) uncovered_names: Vec<String>,
}

impl OrderValidationTruth {
    /// The dated need that ends first.
    pub(crate) fn earliest(&self) -> Option<&NeedTruth> {
        self.needs
            .iter()
            .filter(|n| n.expiry_timestamp.is_some())
            .min_by_key(|n| n.expiry_timestamp)
    }

    /// Whether a renewal at `renewal` (Unix seconds) cannot reuse every
    /// validation it needs: one ends by then, or there is none to reuse.
    pub(crate) fn validation_ends_by(&self, renewal: i64) -> bool {
        self.needs
            .iter()
            .any(|n| n.expiry_timestamp.is_none_or(|end| end <= renewal))
    }
}

/// Whether the order's names are the generated ones (not posted through
/// the API or changed by a test).
fn generated_names(order: &Order) -> bool {
    order
        .extra
        .as_ref()
        .is_none_or(|e| e.common_name.is_none() && e.dns_names.is_none())
}

/// How a name stands to its order's generated host name `B`.
#[derive(Clone, Copy, PartialEq)]
enum Relation {
    /// `B` itself.
    Exact,
    /// `www.B`, `sanN.B`.
    Below,
    /// `*.B`.
    Wildcard,
}

/// What the renewal of `order` needs at `now` (nothing when the key may
/// not read the validations).
pub(crate) fn order_truth(
    world: &World,
    order: &Order,
    now: DateTime<Utc>,
) -> OrderValidationTruth {
    let validations = &world.validations;
    let mut truth = OrderValidationTruth::default();
    if !validations.permitted {
        return truth;
    }
    let kind = order.product().validation;
    let o = order.organization;
    let base = order.base_name();
    let generated = generated_names(order);
    for name in order.dns_names() {
        // The records that may cover the name, nearest first.
        let candidates: Vec<&DomainRecord> = if generated {
            let relation = if name == base {
                Relation::Exact
            } else if name.starts_with("*.") {
                Relation::Wildcard
            } else {
                Relation::Below
            };
            let d = order.domain % DOMAINS.len() as u8;
            validations
                .domains
                .iter()
                .filter(|r| r.organization == o && r.domain == d && r.is_active)
                .filter(|r| match r.host {
                    Some(host) => {
                        host == order.host && (relation == Relation::Exact || !r.exact_only())
                    }
                    None => true,
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev() // subdomain records come after the base ones
                .collect()
        } else {
            // A name posted through the API: under which catalogue domain.
            let lower = name.trim_start_matches("*.").to_ascii_lowercase();
            validations
                .domains
                .iter()
                .filter(|r| r.organization == o && r.host.is_none() && r.is_active)
                .filter(|r| {
                    let domain = DOMAINS[usize::from(r.domain)];
                    lower == domain || lower.ends_with(&format!(".{domain}"))
                })
                .collect()
        };
        let chosen = candidates
            .iter()
            .find(|r| r.usable(kind, now))
            .map(|r| (r, true))
            .or_else(|| candidates.first().map(|r| (r, false)));
        if let Some((record, usable)) = chosen {
            push(
                &mut truth,
                NeedTruth {
                    scope: "domain",
                    kind,
                    id: record.id,
                    name: record.name.clone(),
                    expiry_timestamp: record.until(kind).map(mountain_midnight),
                },
            );
            if usable {
                continue;
            }
        }
        if !truth.uncovered_names.contains(&name) {
            truth.uncovered_names.push(name);
        }
    }
    let org = &validations.organizations[usize::from(o) % validations.organizations.len()];
    let until = if kind == "ev" {
        org.ev_until
    } else {
        org.ov_until
    };
    push(
        &mut truth,
        NeedTruth {
            scope: "organization",
            kind,
            id: org.id,
            name: org.name.to_owned(),
            expiry_timestamp: until.map(mountain_midnight),
        },
    );
    truth
}

fn push(truth: &mut OrderValidationTruth, need: NeedTruth) {
    if !truth
        .needs
        .iter()
        .any(|n| n.scope == need.scope && n.id == need.id)
    {
        truth.needs.push(need);
    }
}

/// The 403 of a key that may not read validations.
fn denied() -> Response {
    api::error(
        StatusCode::FORBIDDEN,
        "access_denied|missing_permission",
        "The API key does not have permission to perform this action.",
    )
}

/// The `validations[]` of a record, or of an organization.
fn validations_json(
    ov: Option<NaiveDate>,
    ev: Option<NaiveDate>,
    approved: Option<NaiveDate>,
) -> Value {
    let entry = |kind: &str, name: &str, description: &str, until: Option<NaiveDate>| {
        let mut v = json!({"type": kind, "name": name, "description": description});
        match until {
            Some(day) => {
                v["validated_until"] = json!(rfc3339(mountain_midnight(day)));
                v["status"] = json!("active");
                if let Some(approved) = approved {
                    v["date_created"] = json!(rfc3339(mountain_midnight(approved) + 57_600));
                }
            }
            None => v["status"] = json!("pending"),
        }
        v
    };
    let mut list = vec![entry("ov", "OV", "Normal Organization Validation", ov)];
    if ev.is_some() || approved.is_none() {
        list.push(entry(
            "ev",
            "EV",
            "Extended Organization Validation (EV)",
            ev,
        ));
    }
    Value::Array(list)
}

/// One domain as the lists write it.
fn domain_json(
    record: &DomainRecord,
    utc_times: bool,
    reuse_status: bool,
    with_validations: bool,
) -> Value {
    let org = &ORGANIZATIONS[usize::from(record.organization)];
    let day = |day: NaiveDate| {
        if utc_times {
            json!(rfc3339(mountain_midnight(day)))
        } else {
            json!(day.format("%Y-%m-%d").to_string())
        }
    };
    let approval = mountain_midnight(record.approved) + 57_600;
    let mut expiration = json!({});
    if let Some(ov) = record.ov_until {
        expiration["ov"] = day(ov);
    }
    if let Some(ev) = record.ev_until {
        expiration["ev"] = day(ev);
    }
    if reuse_status {
        expiration["ov_status"] = json!("valid");
        expiration["ev_status"] = json!(if record.ev_until.is_some() {
            "valid"
        } else {
            "not_validated"
        });
        expiration["dcv_approval_date"] = day(record.approved);
    }
    let mut v = json!({
        "id": record.id,
        "is_active": record.is_active,
        "name": record.name,
        "date_created": rfc3339(approval - 86_400 * 30),
        "dcv_approval_datetime": rfc3339(approval),
        "last_submitted_datetime": rfc3339(approval - 3_600),
        "organization": {"id": org.id, "status": "active", "name": org.name,
                         "display_name": format!("{} ({})", org.name, org.assumed_name), "is_active": "1"},
        "dcv_method": record.dcv_method,
        "dcv_expiration": expiration,
    });
    if with_validations {
        v["validations"] =
            validations_json(record.ov_until, record.ev_until, Some(record.approved));
    }
    v
}

/// A page of `items` with the paging envelope.
fn page(key: &str, items: Vec<Value>, total: usize, limit: usize, offset: usize) -> Response {
    Json(json!({key: items, "page": {"total": total, "limit": limit, "offset": offset}}))
        .into_response()
}

fn flag(query: &std::collections::HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// What every validation list starts with: the query, its paging (capped at
/// the lists' page size; a bad value is a 400 first), then a 403 while the key
/// lacks permission.
fn list_request(
    raw: Option<String>,
    validations: &Validations,
) -> Result<(HashMap<String, String>, usize, usize), Box<Response>> {
    let query = query(raw);
    let (limit, offset) = paging(&query).map_err(|e| Box::new(e.into_response()))?;
    if !validations.permitted {
        return Err(Box::new(denied()));
    }
    Ok((query, limit.min(MAX_VALIDATION_LIMIT), offset))
}

/// `GET /domain?limit=&offset=&include_dcv_expiration_time=&filters[include_validation_reuse_status]=`.
pub(super) async fn domains(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let utc = flag(&query, "include_dcv_expiration_time");
    let reuse = flag(&query, "filters[include_validation_reuse_status]");
    let items = validations
        .domains
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| domain_json(r, utc, reuse, true))
        .collect();
    page("domains", items, validations.domains.len(), limit, offset)
}

/// `GET /account/subaccount/{id}/domain`: bare Mountain Time dates always
/// (that page lists no UTC flag), `validations[]` on every other record.
pub(super) async fn subaccount_domains(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let Ok(id) = id.parse::<u64>() else {
        return api::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The subaccount was not found.",
        );
    };
    let Some((_, records)) = validations
        .subaccount_domains
        .iter()
        .find(|(s, _)| *s == id)
    else {
        if SUBACCOUNTS.iter().any(|s| s.id == id) {
            return denied();
        }
        return api::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The subaccount was not found.",
        );
    };
    let reuse = flag(&query, "filters[include_validation_reuse_status]");
    let items = records
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, r)| domain_json(r, false, reuse, i % 2 == 1))
        .collect();
    page("domains", items, records.len(), limit, offset)
}

/// `GET /organization?include_validation=true&limit=&offset=`.
pub(super) async fn organizations(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let with_validations = flag(&query, "include_validation");
    let items = ORGANIZATIONS
        .iter()
        .zip(&validations.organizations)
        .skip(offset)
        .take(limit)
        .map(|(org, record)| {
            let mut v = json!({
                "id": org.id, "status": "active", "name": org.name,
                "assumed_name": org.assumed_name,
                "display_name": format!("{} ({})", org.name, org.assumed_name),
                "is_active": true, "address": org.address, "city": org.city,
                "state": org.state, "country": org.country,
            });
            if with_validations {
                v["validations"] = validations_json(record.ov_until, record.ev_until, None);
            }
            v
        })
        .collect();
    page("organizations", items, ORGANIZATIONS.len(), limit, offset)
}

/// The truth about the validations, for tests: every record with its
/// expiry instants.
#[derive(Serialize)]
struct Truth<'a> {
    permitted: bool,
    domains: Vec<RecordTruth<'a>>,
    organizations: Vec<OrganizationTruth<'a>>,
    subaccount_domains: Vec<RecordTruth<'a>>,
}

#[derive(Serialize)]
struct RecordTruth<'a> {
    #[serde(flatten)]
    record: &'a DomainRecord,
    subaccount_id: Option<u64>,
    ov_expiry_timestamp: Option<i64>,
    ev_expiry_timestamp: Option<i64>,
}

#[derive(Serialize)]
struct OrganizationTruth<'a> {
    #[serde(flatten)]
    record: &'a OrganizationRecord,
    ov_expiry_timestamp: Option<i64>,
    ev_expiry_timestamp: Option<i64>,
}

fn record_truth(record: &DomainRecord, subaccount_id: Option<u64>) -> RecordTruth<'_> {
    RecordTruth {
        record,
        subaccount_id,
        ov_expiry_timestamp: record.ov_until.map(mountain_midnight),
        ev_expiry_timestamp: record.ev_until.map(mountain_midnight),
    }
}

/// `GET /_simulator/validations`: every domain record and organization
/// with its expiry instants.
pub(super) async fn truth(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    let v = &world.validations;
    let truth = Truth {
        permitted: v.permitted,
        domains: v.domains.iter().map(|r| record_truth(r, None)).collect(),
        organizations: v
            .organizations
            .iter()
            .map(|record| OrganizationTruth {
                record,
                ov_expiry_timestamp: record.ov_until.map(mountain_midnight),
                ev_expiry_timestamp: record.ev_until.map(mountain_midnight),
            })
            .collect(),
        subaccount_domains: v
            .subaccount_domains
            .iter()
            .flat_map(|(id, records)| records.iter().map(|r| record_truth(r, Some(*id))))
            .collect(),
    };
    Json(truth).into_response()
}

/// A change to the validations: `{"permitted": false}` makes the three
/// endpoints answer 403.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValidationsChange {
    permitted: Option<bool>,
}

/// `PUT /_simulator/validations`.
pub(super) async fn change(
    State(shared): State<Arc<Shared>>,
    Json(change): Json<ValidationsChange>,
) -> Response {
    let mut world = shared.world_mut();
    if let Some(permitted) = change.permitted {
        world.validations.permitted = permitted;
    }
    Json(json!({"permitted": world.validations.permitted})).into_response()
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

    #[test]
    fn the_account_has_every_kind_of_validation() {
        let today = day(2026, 12, 1);
        let world = World::generate(400, 1, today);
        let v = &world.validations;
        let now = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let ends = |r: &DomainRecord| r.ov_until.map(|d| (d - today).num_days());
        assert!(
            v.domains.iter().any(|r| ends(r).is_some_and(|d| d < 0)),
            "expired"
        );
        assert!(
            v.domains
                .iter()
                .any(|r| ends(r).is_some_and(|d| (0..7).contains(&d))),
            "this week"
        );
        assert!(v.domains.iter().any(|r| r.host.is_some() && r.exact_only()));
        assert!(v.domains.iter().any(|r| r.name.contains('ü')));
        assert!(v.domains.iter().any(|r| !r.is_active));
        assert!(v.domains.iter().any(|r| r.ev_until.is_none()));
        let truths: Vec<OrderValidationTruth> = world
            .orders
            .iter()
            .map(|o| order_truth(&world, o, now))
            .collect();
        assert!(truths.iter().any(|t| !t.uncovered_names.is_empty()));
        assert!(truths.iter().any(|t| {
            t.needs.iter().any(|n| {
                n.scope == "domain" && v.domains.iter().any(|r| r.id == n.id && r.host.is_some())
            })
        }));
        assert!(
            truths
                .iter()
                .any(|t| t.needs.iter().any(|n| n.expiry_timestamp.is_none()))
        );
    }
}
