//! The validation endpoints: the account's domains with their DCV expiry
//! (`GET /domain`), its organizations with their OV/EV validations
//! (`GET /organization`), and a subaccount's domains
//! (`GET /account/subaccount/{id}/domain`), as wire types and client calls.
//!
//! The fact sheet (`domains-and-organizations.md`) leaves much open, so
//! everything is read leniently, as in [`super::wire`]: enums are kept as
//! the strings sent, a field of the wrong shape reads as absent, a list
//! item that cannot be read is dropped. Dates come in two time zones:
//! `validated_until` and the `*_datetime` fields are UTC instants, while
//! `dcv_expiration.{ov,ev}` is by default a bare `YYYY-MM-DD` date in US
//! Mountain Time; a bare date is read as midnight of that day in
//! `America/Denver` (see [`mountain_midnight`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Endpoint;
use super::client::{Answer, Client};
use super::error::ApiError;
use super::wire::{Page, lenient_bool, lenient_list, lenient_object, lenient_string, lenient_u64};

/// `GET /domain` and `GET /account/subaccount/{id}/domain`.
#[derive(Debug, Clone, Deserialize)]
pub struct DomainList {
    #[serde(deserialize_with = "lenient_list")]
    pub domains: Vec<Domain>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub page: Option<Page>,
}

/// One domain record: a base domain or a subdomain, tied to an
/// organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Domain {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub organization: Option<OrganizationRef>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub validations: Vec<Validation>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub dcv_method: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub dcv_expiration: Option<DcvExpiration>,
    #[serde(default, deserialize_with = "validation_time")]
    pub dcv_approval_datetime: Option<DateTime<Utc>>,
}

/// The organization a domain belongs to (its `is_active` is the string
/// `"1"` here, a bool elsewhere: not read).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrganizationRef {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// One validation of a domain or an organization.
#[derive(Debug, Clone, Deserialize)]
pub struct Validation {
    /// `ov`, `ev`, `cs`, ... (kept as sent).
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// `active`, `pending`, ... (kept as sent).
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
    /// Missing while a validation is pending.
    #[serde(default, deserialize_with = "validation_time")]
    pub validated_until: Option<DateTime<Utc>>,
}

/// `dcv_expiration`: the ends of a domain's OV and EV reuse windows, UTC
/// instants with `include_dcv_expiration_time=true`, else Mountain Time
/// dates.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DcvExpiration {
    #[serde(default, deserialize_with = "validation_time")]
    pub ov: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "validation_time")]
    pub ev: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ov_status: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ev_status: Option<String>,
}

/// `GET /organization?include_validation=true`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrganizationList {
    #[serde(deserialize_with = "lenient_list")]
    pub organizations: Vec<Organization>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub page: Option<Page>,
}

/// One organization with its validations.
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub validations: Vec<Validation>,
}

/// Midnight at the start of `day` in US Mountain Time (`America/Denver`),
/// as a UTC instant: 07:00Z under standard time, 06:00Z under daylight
/// time. The US rule since 2007: daylight time from 02:00 on the second
/// Sunday of March to 02:00 on the first Sunday of November, so midnight
/// of the March day is still standard time and midnight of the November
/// day still daylight time.
pub fn mountain_midnight(day: NaiveDate) -> DateTime<Utc> {
    let year = day.year();
    let daylight_from = nth_sunday(year, 3, 2);
    let daylight_till = nth_sunday(year, 11, 1);
    let offset_hours = if day > daylight_from && day <= daylight_till {
        6
    } else {
        7
    };
    day.and_time(NaiveTime::MIN).and_utc() + Duration::hours(offset_hours)
}

/// The `n`th Sunday of a month.
fn nth_sunday(year: i32, month: u32, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n).unwrap_or(NaiveDate::MIN)
}

/// A validation time as CertCentral writes one: an ISO 8601 instant with
/// an offset, a `YYYY-MM-DD HH:MM:SS` UTC time, or a bare date (Mountain
/// Time, the default format of `dcv_expiration`). Anything else is absent.
pub fn parse_validation_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(at.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(mountain_midnight)
}

fn validation_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => parse_validation_time(&s),
        _ => None,
    })
}

/// Validation list pages ask for this many items (the documented examples
/// echo 1000 as the limit; a server that sends fewer is paged on).
pub const LIST_PAGE_SIZE: usize = 1000;

impl Client {
    /// One page of the account's domains, with the validation reuse status
    /// and UTC expiry times asked for.
    pub async fn domains(&self, limit: usize, offset: usize) -> Result<Answer, ApiError> {
        let query = domain_query(limit, offset);
        self.get(Endpoint::Domains, &["domain"], &query).await
    }

    /// One page of a subaccount's domains (the same filters; the UTC flag
    /// is sent too, though that page does not list it).
    pub async fn subaccount_domains(
        &self,
        subaccount_id: u64,
        limit: usize,
        offset: usize,
    ) -> Result<Answer, ApiError> {
        let id = subaccount_id.to_string();
        let query = domain_query(limit, offset);
        self.get(
            Endpoint::SubaccountDomains,
            &["account", "subaccount", &id, "domain"],
            &query,
        )
        .await
    }

    /// One page of the account's organizations, with their validations.
    pub async fn organizations(&self, limit: usize, offset: usize) -> Result<Answer, ApiError> {
        let query = [
            ("include_validation", "true".to_owned()),
            ("limit", limit.to_string()),
            ("offset", offset.to_string()),
        ];
        self.get(Endpoint::Organizations, &["organization"], &query)
            .await
    }
}

/// The query of a domain list page.
fn domain_query(limit: usize, offset: usize) -> [(&'static str, String); 5] {
    [
        ("include_dcv_expiration_time", "true".to_owned()),
        (
            "filters[include_validation_reuse_status]",
            "true".to_owned(),
        ),
        ("include_validation", "true".to_owned()),
        ("limit", limit.to_string()),
        ("offset", offset.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certcentral::wire::decode;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_bare_date_is_midnight_in_mountain_time() {
        // The documented examples: 2023-03-27 (MDT) ends at 06:00Z,
        // 2022-03-10 and 2021-11-23 (MST) at 07:00Z.
        assert_eq!(
            mountain_midnight(day(2023, 3, 27)),
            utc("2023-03-27T06:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2022, 3, 10)),
            utc("2022-03-10T07:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2021, 11, 23)),
            utc("2021-11-23T07:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2026, 5, 21)),
            utc("2026-05-21T06:00:00Z")
        );
        // 2026: daylight time from 2026-03-08 02:00 to 2026-11-01 02:00.
        assert_eq!(
            mountain_midnight(day(2026, 3, 8)),
            utc("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2026, 3, 9)),
            utc("2026-03-09T06:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2026, 11, 1)),
            utc("2026-11-01T06:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2026, 11, 2)),
            utc("2026-11-02T07:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2026, 12, 31)),
            utc("2026-12-31T07:00:00Z")
        );
        assert_eq!(
            mountain_midnight(day(2027, 1, 1)),
            utc("2027-01-01T07:00:00Z")
        );
    }

    #[test]
    fn validation_times_in_every_documented_form() {
        let instant = utc("2026-05-21T06:00:00Z");
        assert_eq!(
            parse_validation_time("2026-05-21T06:00:00+00:00"),
            Some(instant)
        );
        assert_eq!(
            parse_validation_time("2026-05-21T00:00:00-06:00"),
            Some(instant)
        );
        assert_eq!(parse_validation_time("2026-05-21"), Some(instant));
        assert_eq!(parse_validation_time(" 2026-05-21 "), Some(instant));
        assert_eq!(
            parse_validation_time("2026-05-21 06:00:00"),
            Some(instant),
            "a bare time is UTC"
        );
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "21/05/2026",
            "2026-05-21T25:00:00Z",
        ] {
            assert_eq!(parse_validation_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_the_documented_domain_list() {
        let json = br#"{"domains": [{"id": 4411223, "is_active": true, "name": "example.net",
            "date_created": "2024-05-02T17:11:40+00:00",
            "dcv_approval_datetime": "2025-11-03T16:02:55+00:00",
            "organization": {"id": 778899, "status": "active", "name": "Example Net LLC",
                             "display_name": "Example Net LLC", "is_active": "1"},
            "validations": [
              {"type": "ov", "name": "OV", "validated_until": "2026-05-21T06:00:00+00:00", "status": "active"},
              {"type": "ev", "name": "EV", "status": "pending"},
              "garbage"],
            "dcv_method": "dns-txt-token",
            "dcv_expiration": {"ov": "2026-05-21", "ev": "2026-05-21T06:00:00+00:00",
                               "ov_status": "<undocumented-enum>", "dcv_approval_date": "2025-11-03"}},
            {"id": "12", "name": 5, "organization": "x", "validations": {}},
            "not a domain"],
            "page": {"total": 3, "limit": 1000, "offset": 0}}"#;
        let list: DomainList = decode(json).unwrap();
        assert_eq!(list.domains.len(), 2, "the string item is dropped");
        let d = &list.domains[0];
        assert_eq!(d.organization.as_ref().unwrap().id, Some(778899));
        assert_eq!(d.validations.len(), 2);
        assert_eq!(d.validations[1].validated_until, None);
        let dcv = d.dcv_expiration.as_ref().unwrap();
        assert_eq!(dcv.ov, Some(utc("2026-05-21T06:00:00Z")));
        assert_eq!(dcv.ov, dcv.ev, "the MT date and the UTC instant agree");
        assert_eq!(dcv.ov_status.as_deref(), Some("<undocumented-enum>"));
        let odd = &list.domains[1];
        assert_eq!(odd.id, Some(12));
        assert_eq!(odd.name.as_deref(), Some("5"));
        assert!(odd.organization.is_none() && odd.validations.is_empty());
        assert_eq!(list.page.unwrap().total, Some(3));
        assert!(decode::<DomainList>(b"[]").is_err());
        assert!(decode::<DomainList>(br#"{"errors": []}"#).is_err());
    }

    #[test]
    fn reads_the_documented_organization_list() {
        let json = br#"{"organizations": [{"id": 778899, "status": "active", "name": "Example Net LLC",
            "is_active": true, "container": {"id": 4},
            "validations": [{"type": "ov", "validated_until": "2026-07-13T06:00:00+00:00", "status": "active"},
                            {"type": 7, "status": true}]}],
            "page": {"total": 1, "limit": 1000, "offset": 0}}"#;
        let list: OrganizationList = decode(json).unwrap();
        let org = &list.organizations[0];
        assert_eq!(org.id, Some(778899));
        assert_eq!(org.validations.len(), 2);
        assert_eq!(org.validations[1].kind.as_deref(), Some("7"));
        assert_eq!(
            org.validations[1].status, None,
            "a bool status reads as absent"
        );
    }
}
