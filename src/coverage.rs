//! Which validations an order's renewal needs: each of its names (common
//! name and SANs, wildcards included) is covered by the domain record that
//! validates it, the same name or its nearest parent domain belonging to
//! the order's organization; OV and EV products also need their
//! organization's OV or EV validation. A name that no active validation
//! covers is *uncovered*: its renewal will wait on a new DCV.
//!
//! Pure functions of the validations read ([`ValidationSnapshot`]), the
//! order's names and the time. The rules follow section 7 of the fact
//! sheet: a record validated by file (`http-token`) covers its own name
//! only, never a subdomain or a wildcard; names compare case-insensitively
//! and Unicode names as their punycode (IDNA) form; the nearest record
//! with an active validation wins (CertCentral validates a name under a
//! higher-level domain that has an active validation), and when none is
//! active the nearest record says when coverage ran out.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::certcentral::validations::{Domain, Organization, Validation};

/// The validation an OV or EV certificate's renewal reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ValidationType {
    Ov,
    Ev,
}

impl ValidationType {
    /// Both types, in label order.
    pub const ALL: [ValidationType; 2] = [ValidationType::Ov, ValidationType::Ev];

    /// The `type` label value (as the API spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationType::Ov => "ov",
            ValidationType::Ev => "ev",
        }
    }

    /// The validation a product reuses, from its `name_id`: EV products
    /// (`ssl_ev_*`, `*_ev_*`) need EV, DV products (`*_dv_*`) none (every DV
    /// issuance validates afresh), every other TLS product OV.
    pub fn of_product(name_id: &str) -> Option<ValidationType> {
        let name = name_id.to_ascii_lowercase();
        let has = |token: &str| name.split(['_', '-']).any(|part| part == token);
        if has("dv") {
            None
        } else if has("ev") {
            Some(ValidationType::Ev)
        } else {
            Some(ValidationType::Ov)
        }
    }
}

/// Whether a needed validation is a domain's (DCV) or an organization's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    Domain,
    Organization,
}

impl Scope {
    /// The `scope` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Domain => "domain",
            Scope::Organization => "organization",
        }
    }
}

/// One validation of a domain or an organization, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedValidation {
    /// When it ends; absent while pending.
    pub until: Option<DateTime<Utc>>,
    /// As sent (`active`, `pending`, or a value the docs do not list).
    pub status: Option<String>,
}

/// Statuses of a validation that cannot be reused, whatever its date says.
const UNUSABLE_STATUSES: [&str; 6] = [
    "pending", "expired", "inactive", "rejected", "revoked", "canceled",
];

impl TypedValidation {
    /// Whether a renewal at `at` could reuse it: it ends after `at`, and
    /// its status is not one that rules it out (an unknown status with a
    /// date to come counts: the date is what DigiCert enforces).
    pub fn usable_at(&self, at: DateTime<Utc>) -> bool {
        let status_ok = self.status.as_deref().is_none_or(|status| {
            !UNUSABLE_STATUSES
                .iter()
                .any(|s| status.trim().eq_ignore_ascii_case(s))
        });
        status_ok && self.until.is_some_and(|until| until > at)
    }

    /// The validation of `kind` among `validations`, else from the
    /// `dcv_expiration` fallback (`date`, `status`).
    fn pick(
        validations: &[Validation],
        kind: ValidationType,
        fallback: Option<(Option<DateTime<Utc>>, Option<String>)>,
    ) -> Option<TypedValidation> {
        let listed = validations
            .iter()
            .filter(|v| {
                v.kind
                    .as_deref()
                    .is_some_and(|k| k.trim().eq_ignore_ascii_case(kind.as_str()))
            })
            .max_by_key(|v| v.validated_until)
            .map(|v| TypedValidation {
                until: v.validated_until,
                status: v.status.clone(),
            });
        match (listed, fallback) {
            (Some(listed), _) if listed.until.is_some() => Some(listed),
            (listed, Some((Some(until), status))) => Some(TypedValidation {
                until: Some(until),
                status: listed.and_then(|l| l.status).or(status),
            }),
            (listed, _) => listed,
        }
    }
}

/// A domain record with its OV and EV validations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainValidation {
    pub id: u64,
    /// As the account spells it.
    pub name: String,
    pub organization_id: Option<u64>,
    /// Set for a subaccount's domain.
    pub subaccount_id: Option<u64>,
    /// `is_active`; an inactive record validates nothing.
    pub active: bool,
    /// Validated by file (`http-token`): covers its exact name only.
    pub exact_only: bool,
    pub ov: Option<TypedValidation>,
    pub ev: Option<TypedValidation>,
}

/// DCV methods that prove control of the exact name only.
const EXACT_ONLY_METHODS: [&str; 2] = ["http-token", "http-token-static"];

impl DomainValidation {
    /// Keeps what coverage needs of a listed domain; `None` without an id
    /// or a name.
    pub fn from_wire(domain: &Domain, subaccount_id: Option<u64>) -> Option<DomainValidation> {
        let dcv = domain.dcv_expiration.as_ref();
        let fallback = |kind| {
            dcv.map(|d| match kind {
                ValidationType::Ov => (d.ov, d.ov_status.clone()),
                ValidationType::Ev => (d.ev, d.ev_status.clone()),
            })
        };
        Some(DomainValidation {
            id: domain.id?,
            name: domain.name.clone().filter(|n| !n.trim().is_empty())?,
            organization_id: domain.organization.as_ref().and_then(|o| o.id),
            subaccount_id,
            active: domain.is_active.unwrap_or(true),
            exact_only: domain.dcv_method.as_deref().is_some_and(|m| {
                EXACT_ONLY_METHODS
                    .iter()
                    .any(|e| m.trim().eq_ignore_ascii_case(e))
            }),
            ov: TypedValidation::pick(
                &domain.validations,
                ValidationType::Ov,
                fallback(ValidationType::Ov),
            ),
            ev: TypedValidation::pick(
                &domain.validations,
                ValidationType::Ev,
                fallback(ValidationType::Ev),
            ),
        })
    }

    /// Its validation of `kind`.
    pub fn validation(&self, kind: ValidationType) -> Option<&TypedValidation> {
        match kind {
            ValidationType::Ov => self.ov.as_ref(),
            ValidationType::Ev => self.ev.as_ref(),
        }
    }
}

/// An organization with its OV and EV validations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationValidation {
    pub id: u64,
    pub name: String,
    pub ov: Option<TypedValidation>,
    pub ev: Option<TypedValidation>,
}

impl OrganizationValidation {
    /// Keeps what coverage needs of a listed organization; `None` without
    /// an id.
    pub fn from_wire(org: &Organization) -> Option<OrganizationValidation> {
        Some(OrganizationValidation {
            id: org.id?,
            name: org
                .name
                .clone()
                .or_else(|| org.display_name.clone())
                .unwrap_or_default(),
            ov: TypedValidation::pick(&org.validations, ValidationType::Ov, None),
            ev: TypedValidation::pick(&org.validations, ValidationType::Ev, None),
        })
    }

    /// Its validation of `kind`.
    pub fn validation(&self, kind: ValidationType) -> Option<&TypedValidation> {
        match kind {
            ValidationType::Ov => self.ov.as_ref(),
            ValidationType::Ev => self.ev.as_ref(),
        }
    }
}

/// What one refresh of the validation endpoints read; kept across
/// restarts. A list is `None` when the key may not read it (403 or 404):
/// nothing is then concluded from its absence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationSnapshot {
    pub fetched_at: DateTime<Utc>,
    pub domains: Option<Vec<DomainValidation>>,
    pub organizations: Option<Vec<OrganizationValidation>>,
    /// Domains of the subaccounts whose listing the key may read.
    #[serde(default)]
    pub subaccount_domains: Vec<DomainValidation>,
}

/// A name's case-insensitive, punycode form, without a trailing dot; its
/// wildcard label (`*.`) stripped and reported. `None` for an empty name.
pub fn normalize(name: &str) -> Option<(Cow<'_, str>, bool)> {
    let name = name.trim().trim_end_matches('.');
    let (name, wildcard) = match name.strip_prefix("*.") {
        Some(base) => (base, true),
        None => (name, false),
    };
    if name.is_empty() {
        return None;
    }
    let normalized = if !name.is_ascii() {
        match url::Host::parse(name) {
            Ok(url::Host::Domain(ascii)) => Cow::Owned(ascii),
            _ => Cow::Owned(name.to_lowercase()),
        }
    } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    Some((normalized, wildcard))
}

/// The validations of one account, indexed for matching names.
#[derive(Debug)]
pub struct ValidationIndex {
    snapshot: Arc<ValidationSnapshot>,
    /// Positions in `snapshot.domains`, by normalized name.
    by_name: HashMap<String, Vec<usize>>,
    /// Positions in `snapshot.organizations`, by id.
    organizations: HashMap<u64, usize>,
}

/// One validation an order's renewal needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need<'a> {
    pub scope: Scope,
    pub kind: ValidationType,
    /// The domain record's or the organization's id.
    pub id: u64,
    /// The domain's or the organization's name.
    pub name: &'a str,
    /// When it ends; `None` when there is none to reuse (pending, or the
    /// organization has no validation of this type).
    pub until: Option<DateTime<Utc>>,
}

/// What an order's renewal needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewalNeeds<'a> {
    /// Each needed validation once, domains first.
    pub needs: Vec<Need<'a>>,
    /// Names that no active validation of the order's organization covers,
    /// as the order spells them.
    pub uncovered: Vec<String>,
}

impl RenewalNeeds<'_> {
    /// The dated need that ends first.
    pub fn earliest(&self) -> Option<&Need<'_>> {
        self.needs
            .iter()
            .filter(|n| n.until.is_some())
            .min_by_key(|n| n.until)
    }

    /// Whether a validation record the renewal needs says it ends by `at`
    /// (or has ended): positive evidence that a renewal then stalls. A
    /// need with no date (a record without a validation of the type) is
    /// not evidence: nothing is concluded from what is missing.
    pub fn validation_ends_by(&self, at: DateTime<Utc>) -> bool {
        self.needs
            .iter()
            .any(|n| n.until.is_some_and(|end| end <= at))
    }
}

impl ValidationIndex {
    /// Indexes the account's own domains (not its subaccounts') and its
    /// organizations.
    pub fn new(snapshot: Arc<ValidationSnapshot>) -> ValidationIndex {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, domain) in snapshot.domains.iter().flatten().enumerate() {
            if let Some((name, _)) = normalize(&domain.name) {
                by_name.entry(name.into_owned()).or_default().push(at);
            }
        }
        let organizations = snapshot
            .organizations
            .iter()
            .flatten()
            .enumerate()
            .map(|(at, org)| (org.id, at))
            .collect();
        ValidationIndex {
            snapshot,
            by_name,
            organizations,
        }
    }

    /// What was read.
    pub fn snapshot(&self) -> &ValidationSnapshot {
        &self.snapshot
    }

    fn domain(&self, at: usize) -> &DomainValidation {
        &self.snapshot.domains.as_deref().unwrap_or_default()[at]
    }

    /// What the renewal of an order with these names, organization and
    /// product needs, judged at `now`: nothing for a DV product.
    pub fn needs<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        organization_id: Option<u64>,
        product: &str,
        now: DateTime<Utc>,
    ) -> RenewalNeeds<'_> {
        let mut needs = Collecting::default();
        let Some(kind) = ValidationType::of_product(product) else {
            return needs.done;
        };
        if self.snapshot.domains.is_some() {
            for name in names {
                match self.covering(name, organization_id, kind, now) {
                    Coverage::Covered(domain) => needs.push(self.domain_need(domain, kind)),
                    Coverage::Lapsed(domain) => {
                        needs.push(self.domain_need(domain, kind));
                        needs.uncover(name);
                    }
                    Coverage::None => needs.uncover(name),
                    Coverage::NotAName => {}
                }
            }
        }
        if let Some(organizations) = &self.snapshot.organizations
            && let Some(id) = organization_id
        {
            let org = self.organizations.get(&id).map(|&at| &organizations[at]);
            needs.push(Need {
                scope: Scope::Organization,
                kind,
                id,
                name: org.map_or("", |o| o.name.as_str()),
                until: org.and_then(|o| o.validation(kind)).and_then(|v| v.until),
            });
        }
        needs.done
    }

    fn domain_need(&self, at: usize, kind: ValidationType) -> Need<'_> {
        let domain = self.domain(at);
        Need {
            scope: Scope::Domain,
            kind,
            id: domain.id,
            name: &domain.name,
            until: domain.validation(kind).and_then(|v| v.until),
        }
    }

    /// The record that covers `name` for an order of `organization_id`.
    fn covering(
        &self,
        name: &str,
        organization_id: Option<u64>,
        kind: ValidationType,
        now: DateTime<Utc>,
    ) -> Coverage {
        let Some((name, wildcard)) = normalize(name) else {
            return Coverage::NotAName;
        };
        let mut nearest = None;
        let mut suffix: &str = &name;
        let mut exact = !wildcard;
        loop {
            for &at in self.by_name.get(suffix).into_iter().flatten() {
                let domain = self.domain(at);
                let same_org = organization_id
                    .zip(domain.organization_id)
                    .is_none_or(|(order, record)| order == record);
                if !same_org || !domain.active || (domain.exact_only && !exact) {
                    continue;
                }
                if domain.validation(kind).is_some_and(|v| v.usable_at(now)) {
                    return Coverage::Covered(at);
                }
                nearest.get_or_insert(at);
            }
            let Some((_, parent)) = suffix.split_once('.') else {
                break;
            };
            suffix = parent;
            exact = false;
        }
        nearest.map_or(Coverage::None, Coverage::Lapsed)
    }
}

/// How one name is covered.
enum Coverage {
    /// By this record, whose validation is usable now.
    Covered(usize),
    /// Only by this record, whose validation has ended (or is pending).
    Lapsed(usize),
    None,
    /// An empty name: nothing to cover.
    NotAName,
}

/// Renewal needs as they are found, each once: what was seen is kept in
/// sets, so that an order of many names costs time in proportion to them
/// (a row of 100,000 names took seconds with a search of the list).
#[derive(Default)]
struct Collecting<'a> {
    done: RenewalNeeds<'a>,
    names: HashSet<String>,
    records: HashSet<(Scope, u64)>,
}

impl<'a> Collecting<'a> {
    fn uncover(&mut self, name: &str) {
        if self.names.insert(name.to_owned()) {
            self.done.uncovered.push(name.to_owned());
        }
    }

    fn push(&mut self, need: Need<'a>) {
        if self.records.insert((need.scope, need.id)) {
            self.done.needs.push(need);
        }
    }
}

/// The most names of one order that are judged (CertCentral's largest
/// multi-domain products allow a few hundred).
pub const MAX_NAMES_PER_ORDER: usize = 1000;

/// The names on an order: its common name and its SANs, the report's
/// `dns_names` column (split on commas, semicolons and white space), at
/// most [`MAX_NAMES_PER_ORDER`].
pub fn order_names<'a>(common_name: &'a str, dns_names: &'a str) -> impl Iterator<Item = &'a str> {
    all_order_names(common_name, dns_names).take(MAX_NAMES_PER_ORDER)
}

/// Whether an order names more than [`MAX_NAMES_PER_ORDER`] (the finding
/// `too_many_names`: the rest are not judged).
pub fn too_many_names(common_name: &str, dns_names: &str) -> bool {
    all_order_names(common_name, dns_names)
        .nth(MAX_NAMES_PER_ORDER)
        .is_some()
}

fn all_order_names<'a>(common_name: &'a str, dns_names: &'a str) -> impl Iterator<Item = &'a str> {
    let common = common_name.trim();
    std::iter::once(common).filter(|n| !n.is_empty()).chain(
        dns_names
            .split([',', ';', ' ', '\n', '\t'])
            .map(str::trim)
            .filter(move |n| !n.is_empty() && !n.eq_ignore_ascii_case(common)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        at("2026-12-01T12:00:00Z")
    }

    fn valid(until: &str) -> Option<TypedValidation> {
        Some(TypedValidation {
            until: Some(at(until)),
            status: Some("active".into()),
        })
    }

    fn domain(id: u64, name: &str, org: u64, until: &str) -> DomainValidation {
        DomainValidation {
            id,
            name: name.into(),
            organization_id: Some(org),
            subaccount_id: None,
            active: true,
            exact_only: false,
            ov: valid(until),
            ev: valid(until),
        }
    }

    fn org(id: u64, ov: &str, ev: Option<&str>) -> OrganizationValidation {
        OrganizationValidation {
            id,
            name: format!("Org {id}"),
            ov: valid(ov),
            ev: ev.and_then(valid),
        }
    }

    fn index(domains: Vec<DomainValidation>) -> ValidationIndex {
        ValidationIndex::new(Arc::new(ValidationSnapshot {
            fetched_at: now(),
            domains: Some(domains),
            organizations: Some(vec![
                org(1, "2027-06-01T06:00:00Z", Some("2027-01-05T07:00:00Z")),
                org(2, "2027-06-01T06:00:00Z", None),
            ]),
            subaccount_domains: Vec::new(),
        }))
    }

    /// A report row naming 100,000 hosts (a hostile or broken upstream) is
    /// judged on its first [`MAX_NAMES_PER_ORDER`] names, each once, so
    /// that one row cannot cost every render seconds.
    #[test]
    fn an_order_of_a_hundred_thousand_names_is_judged_on_its_first_thousand() {
        let index = index(vec![domain(1, "example.com", 1, "2030-01-01T00:00:00Z")]);
        let sans: String = (0..100_000)
            .map(|i| format!("host{i}.elsewhere.test,www.example.com,"))
            .collect();
        let names: Vec<&str> = order_names("www.example.com", &sans).collect();
        assert_eq!(names.len(), MAX_NAMES_PER_ORDER);
        let needs = index.needs(names, Some(1), "ssl_plus", now());
        // The common name is covered; each other name is new, once.
        assert_eq!(needs.uncovered.len(), MAX_NAMES_PER_ORDER - 1);
        assert_eq!(
            needs
                .needs
                .iter()
                .filter(|n| n.scope == Scope::Domain)
                .count(),
            1,
            "the covering record once"
        );
    }

    /// The domain record covering each name (`None`: uncovered).
    fn covered_by(index: &ValidationIndex, names: &[&str], org: u64) -> Vec<Option<u64>> {
        names
            .iter()
            .map(|name| {
                let needs = index.needs([*name], Some(org), "ssl_plus", now());
                if needs.uncovered.is_empty() {
                    needs
                        .needs
                        .iter()
                        .find(|n| n.scope == Scope::Domain)
                        .map(|n| n.id)
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn the_nearest_record_of_the_orders_organization_covers_a_name() {
        let index = index(vec![
            domain(10, "example.com", 1, "2027-03-01T07:00:00Z"),
            domain(11, "shop.example.com", 1, "2027-02-01T07:00:00Z"),
            domain(12, "example.org", 2, "2027-03-01T07:00:00Z"),
        ]);
        assert_eq!(
            covered_by(
                &index,
                &[
                    "example.com",
                    "www.example.com",
                    "a.b.c.example.com",
                    "shop.example.com",
                    "www.shop.example.com",
                    "*.shop.example.com",
                    "*.example.com",
                    "notexample.com",
                    "com",
                    "example.org",
                ],
                1
            ),
            [
                Some(10),
                Some(10),
                Some(10),
                Some(11),
                Some(11),
                Some(11),
                Some(10),
                None,
                None,
                None, // a parent domain of another organization
            ]
        );
        assert_eq!(covered_by(&index, &["www.example.org"], 2), [Some(12)]);
    }

    #[test]
    fn names_compare_by_case_and_by_their_punycode() {
        let index = index(vec![
            domain(20, "Example.NET.", 1, "2027-03-01T07:00:00Z"),
            domain(21, "müller.example", 1, "2027-03-01T07:00:00Z"),
            domain(22, "xn--bcher-kva.example", 1, "2027-03-01T07:00:00Z"),
        ]);
        assert_eq!(
            covered_by(
                &index,
                &[
                    "WWW.example.net",
                    "www.EXAMPLE.net.",
                    "shop.xn--mller-kva.example",
                    "MÜLLER.example",
                    "*.bücher.example",
                    "www.BÜCHER.EXAMPLE",
                    "mueller.example",
                ],
                1
            ),
            [
                Some(20),
                Some(20),
                Some(21),
                Some(21),
                Some(22),
                Some(22),
                None
            ]
        );
    }

    #[test]
    fn a_record_validated_by_file_covers_its_exact_name_only() {
        let mut file = domain(30, "api.example.com", 1, "2027-03-01T07:00:00Z");
        file.exact_only = true;
        let with_parent = index(vec![
            file.clone(),
            domain(31, "example.com", 1, "2027-04-01T06:00:00Z"),
        ]);
        assert_eq!(
            covered_by(
                &with_parent,
                &[
                    "api.example.com",
                    "www.api.example.com",
                    "*.api.example.com"
                ],
                1
            ),
            [Some(30), Some(31), Some(31)]
        );
        let alone = index(vec![file]);
        assert_eq!(
            covered_by(&alone, &["www.api.example.com", "*.api.example.com"], 1),
            [None, None]
        );
    }

    #[test]
    fn an_ended_nearer_record_gives_way_to_an_active_parent() {
        let index = index(vec![
            domain(40, "shop.example.com", 1, "2026-11-01T06:00:00Z"),
            domain(41, "example.com", 1, "2027-03-01T07:00:00Z"),
            domain(42, "lapsed.example", 1, "2026-11-20T07:00:00Z"),
        ]);
        assert_eq!(covered_by(&index, &["www.shop.example.com"], 1), [Some(41)]);
        // Nothing active: uncovered, and the nearest record says since when.
        let needs = index.needs(["www.lapsed.example"], Some(1), "ssl_plus", now());
        assert_eq!(needs.uncovered, ["www.lapsed.example"]);
        assert_eq!(needs.needs[0].id, 42);
        assert_eq!(needs.needs[0].until, Some(at("2026-11-20T07:00:00Z")));
        // An inactive record, or a pending validation, covers nothing.
        let mut inactive = domain(43, "off.example", 1, "2027-03-01T07:00:00Z");
        inactive.active = false;
        let mut pending = domain(44, "pending.example", 1, "2027-03-01T07:00:00Z");
        pending.ov = Some(TypedValidation {
            until: None,
            status: Some("pending".into()),
        });
        let index = super::tests::index(vec![inactive, pending]);
        assert_eq!(
            covered_by(&index, &["off.example", "pending.example"], 1),
            [None, None]
        );
    }

    #[test]
    fn ev_products_need_the_ev_validations_and_dv_products_none() {
        let mut ov_only = domain(50, "example.com", 2, "2027-03-01T07:00:00Z");
        ov_only.ev = None;
        let index = index(vec![
            ov_only,
            domain(51, "example.org", 1, "2027-02-01T07:00:00Z"),
        ]);
        let ev = index.needs(["www.example.com"], Some(2), "ssl_ev_plus", now());
        assert_eq!(ev.uncovered, ["www.example.com"], "no EV domain validation");
        let org = ev
            .needs
            .iter()
            .find(|n| n.scope == Scope::Organization)
            .unwrap();
        assert_eq!((org.kind, org.until), (ValidationType::Ev, None));
        let needs = index.needs(
            ["a.example.org", "b.example.org"],
            Some(1),
            "ssl_ev_multi_domain",
            now(),
        );
        assert!(needs.uncovered.is_empty());
        assert_eq!(needs.needs.len(), 2, "one domain record, one organization");
        let earliest = needs.earliest().unwrap();
        assert_eq!((earliest.scope, earliest.id), (Scope::Organization, 1));
        assert_eq!(earliest.until, Some(at("2027-01-05T07:00:00Z")));
        assert!(
            index
                .needs(["x.example.org"], Some(1), "ssl_dv_geotrust", now())
                .needs
                .is_empty()
        );
        assert_eq!(
            ValidationType::of_product("ssl_plus"),
            Some(ValidationType::Ov)
        );
        assert_eq!(
            ValidationType::of_product("ssl_ev_basic"),
            Some(ValidationType::Ev)
        );
        assert_eq!(
            ValidationType::of_product("ssl_multi_domain"),
            Some(ValidationType::Ov)
        );
        assert_eq!(ValidationType::of_product("rapidssl_dv"), None);
    }

    #[test]
    fn nothing_is_concluded_from_a_list_the_key_may_not_read() {
        let index = ValidationIndex::new(Arc::new(ValidationSnapshot {
            fetched_at: now(),
            domains: None,
            organizations: None,
            subaccount_domains: Vec::new(),
        }));
        assert_eq!(
            index.needs(["www.example.com"], Some(1), "ssl_plus", now()),
            RenewalNeeds::default()
        );
    }

    #[test]
    fn a_validation_ends_at_its_instant() {
        let v = valid("2026-12-01T07:00:00Z").unwrap();
        assert!(v.usable_at(at("2026-12-01T06:59:59Z")));
        assert!(!v.usable_at(at("2026-12-01T07:00:00Z")));
        let unknown = TypedValidation {
            status: Some("valid".into()),
            ..v.clone()
        };
        assert!(unknown.usable_at(now() - chrono::Duration::days(1)));
        let pending = TypedValidation {
            status: Some("Pending".into()),
            ..v
        };
        assert!(!pending.usable_at(now() - chrono::Duration::days(1)));
    }

    #[test]
    fn an_orders_names_are_its_common_name_and_its_sans_once() {
        let names: Vec<&str> = order_names(
            "www.example.com",
            "www.example.com, api.example.com;;WWW.example.com,,x.example.com",
        )
        .collect();
        assert_eq!(
            names,
            ["www.example.com", "api.example.com", "x.example.com"]
        );
        assert_eq!(
            order_names("a.example", "").collect::<Vec<_>>(),
            ["a.example"]
        );
    }

    #[test]
    fn the_wire_shapes_become_validations() {
        let domain: Domain = serde_json::from_str(
            r#"{"id": 7, "name": "example.com", "is_active": true, "dcv_method": "HTTP-TOKEN",
                "organization": {"id": 3},
                "validations": [{"type": "OV", "status": "active", "validated_until": "2027-01-01T07:00:00+00:00"}],
                "dcv_expiration": {"ov": "2026-06-01", "ev": "2026-06-02", "ev_status": "expiring"}}"#,
        )
        .unwrap();
        let kept = DomainValidation::from_wire(&domain, None).unwrap();
        assert!(kept.exact_only);
        assert_eq!(
            kept.ov.unwrap().until,
            Some(at("2027-01-01T07:00:00Z")),
            "validations[] first"
        );
        let ev = kept.ev.unwrap();
        assert_eq!(
            ev.until,
            Some(at("2026-06-02T06:00:00Z")),
            "else dcv_expiration, in MT"
        );
        assert_eq!(ev.status.as_deref(), Some("expiring"));
        let nameless: Domain = serde_json::from_str(r#"{"id": 8}"#).unwrap();
        assert!(DomainValidation::from_wire(&nameless, None).is_none());
    }
}
