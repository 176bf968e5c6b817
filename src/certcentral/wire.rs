//! JSON answers of the order-details, reissue and subaccount endpoints, as
//! much of them as the exporter uses.
//!
//! The pages disagree with themselves on types (`validity_years` is "string"
//! in the table and a number in the sample; `auto_renew` an int, other flags
//! bools; `cost` an int in one place and a number in another), so scalar
//! fields are read leniently: a number or a numeric string, a bool or 0/1.
//! A field of the wrong shape reads as absent rather than failing the whole
//! answer; an answer that is not the expected object at all is an error.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Decodes an answer that must be a JSON object. (serde's derive would also
/// read an array as a struct's fields in order, so `[]` would pass as an
/// order without details.)
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    // An object is read straight into `T`, not through a `Value` first (a
    // whole copy of every answer); anything else is named.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return serde_json::from_slice(bytes);
    }
    match serde_json::from_slice::<Value>(bytes)? {
        object @ Value::Object(_) => serde_json::from_value(object),
        other => Err(serde::de::Error::custom(format!(
            "expected a JSON object, found {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
    }
}

/// `GET /order/certificate/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderInfo {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub certificate: Option<CertificateInfo>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_renewed: Option<bool>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub renewed_order_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub was_renewed_by_order_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub order_valid_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub order_valid_till: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub auto_renew: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub auto_reissue: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub disable_ct: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub disable_renewal_notifications: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_multi_year_plan: Option<bool>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub requests: Vec<RequestInfo>,
}

/// The `certificate` object of an order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateInfo {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub thumbprint: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub serial_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub valid_till: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub signature_hash: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub key_size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub ca_cert: Option<CaCert>,
}

/// The CA that signed a certificate.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaCert {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// One request on an order (new, reissue, duplicate, revoke).
#[derive(Debug, Clone, Deserialize)]
pub struct RequestInfo {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub date: Option<DateTime<Utc>>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
}

/// `GET /order/certificate/{id}/reissue`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReissueList {
    #[serde(deserialize_with = "lenient_list")]
    pub certificates: Vec<ReissuedCertificate>,
}

/// One certificate of an order's reissue list.
#[derive(Debug, Clone, Deserialize)]
pub struct ReissuedCertificate {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub date_created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub date_issued: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub valid_till: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub key_size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub archived: Option<bool>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub thumbprint: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub serial_number: Option<String>,
}

/// `GET /account/subaccount/order`.
#[derive(Debug, Clone, Deserialize)]
pub struct SubaccountOrderList {
    #[serde(deserialize_with = "lenient_list")]
    pub orders: Vec<SubaccountOrder>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub page: Option<Page>,
}

/// Paging of a JSON list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Page {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub offset: Option<u64>,
}

/// An order of a subaccount.
#[derive(Debug, Clone, Deserialize)]
pub struct SubaccountOrder {
    #[serde(deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub certificate: Option<SubaccountCertificate>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub subaccount: Option<Subaccount>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub product: Option<Product>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub order_price: Option<Price>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub order_prices: Vec<Price>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
}

/// The certificate of a subaccount order (only for immediate subaccounts).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubaccountCertificate {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub common_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub valid_till: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub signature_hash: Option<String>,
    /// Only for issued certificates.
    #[serde(default, deserialize_with = "lenient_string")]
    pub thumbprint: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub serial_number: Option<String>,
}

/// Which subaccount placed an order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Subaccount {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub account_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub organization_name: Option<String>,
}

/// A product reference.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Product {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name_id: Option<String>,
}

/// A cost in a currency.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Price {
    #[serde(default, deserialize_with = "lenient_f64")]
    pub cost: Option<f64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub currency: Option<String>,
}

pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

pub(crate) fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite()))
}

pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_u64().map(|v| v != 0),
        Value::String(s) => match s.trim() {
            "1" | "true" | "True" => Some(true),
            "0" | "false" | "False" | "" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

pub(crate) fn lenient_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s
            .get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()),
        _ => None,
    })
}

pub(crate) fn lenient_time<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
                    .ok()
                    .map(|t| t.and_utc())
            })
            .or_else(|| {
                s.get(..10)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            }),
        _ => None,
    })
}

/// A nested object; anything else (or an object that cannot be read)
/// reads as absent.
pub(crate) fn lenient_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        object @ Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    })
}

/// A list whose items are each read on their own: an item of the wrong
/// shape is dropped, not the whole list.
pub(crate) fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_order_info_sample_shapes() {
        let json = r#"{"id": 123456, "certificate": {"common_name": "example.com", "valid_from": "2019-04-30",
            "valid_till": "2020-04-30", "signature_hash": "sha256", "key_size": 2048,
            "ca_cert": {"id": "x", "name": "DigiCert SHA2 Secure Server CA"}},
            "status": "issued", "validity_years": "1", "auto_renew": 0, "auto_reissue": 1,
            "disable_renewal_notifications": false, "is_multi_year_plan": "1",
            "order_valid_till": "2023-04-30",
            "requests": [{"id": 198, "date": "2018-10-16T20:05:28+00:00", "type": "new_request", "status": "pending"},
                         "garbage"]}"#;
        let info: OrderInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.id, Some(123456));
        let cert = info.certificate.unwrap();
        assert_eq!(cert.key_size, Some(2048));
        assert_eq!(cert.valid_till, NaiveDate::from_ymd_opt(2020, 4, 30));
        assert_eq!(
            cert.ca_cert.unwrap().name.as_deref(),
            Some("DigiCert SHA2 Secure Server CA")
        );
        assert_eq!(info.auto_renew, Some(false));
        assert_eq!(info.auto_reissue, Some(true));
        assert_eq!(info.is_multi_year_plan, Some(true));
        assert_eq!(info.order_valid_till, NaiveDate::from_ymd_opt(2023, 4, 30));
        assert_eq!(info.requests.len(), 1, "the malformed request is dropped");
        assert_eq!(info.requests[0].status.as_deref(), Some("pending"));
        assert!(info.requests[0].date.is_some());
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let json = r#"{"id": "77", "certificate": {"key_size": "big", "valid_till": 5}, "auto_renew": "maybe",
                       "requests": {"not": "a list"}}"#;
        let info: OrderInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.id, Some(77));
        let cert = info.certificate.unwrap();
        assert_eq!(cert.key_size, None);
        assert_eq!(cert.valid_till, None);
        assert_eq!(info.auto_renew, None);
        assert!(info.requests.is_empty());
    }

    #[test]
    fn nested_objects_of_the_wrong_shape_read_as_absent() {
        let info: OrderInfo = decode(br#"{"id": 1, "certificate": true}"#).unwrap();
        assert!(info.certificate.is_none());
        let list: SubaccountOrderList =
            decode(br#"{"orders": [{"id": 2, "subaccount": [1], "product": "x"}], "page": 7}"#)
                .unwrap();
        assert!(list.orders[0].subaccount.is_none() && list.page.is_none());
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(decode::<OrderInfo>(b"[1,2]").is_err());
        assert!(decode::<OrderInfo>(b"[]").is_err());
        assert!(decode::<SubaccountOrderList>(b"[[]]").is_err());
        assert!(decode::<ReissueList>(br#"{"nope": 1}"#).is_err());
        assert!(decode::<OrderInfo>(br#"{"id": 5}"#).is_ok());
    }

    #[test]
    fn reads_the_subaccount_sample_shapes() {
        let json = r#"{"orders": [{"id": 123457, "certificate": {"id": 101015, "common_name": "example.com",
            "valid_till": "2020-06-15", "signature_hash": "sha256"},
            "subaccount": {"account_id": 123445, "account_type": "enterprise", "organization_name": "Sub account organization"},
            "product": {"name_id": "ssl_multi_domain"}, "order_price": {"cost": 358, "currency": "USD"},
            "order_prices": [{"cost": 12.5, "currency": "EUR"}],
            "status": "issued"}], "page": {"total": 3, "limit": 1000, "offset": 0}}"#;
        let list: SubaccountOrderList = serde_json::from_str(json).unwrap();
        assert_eq!(list.page.unwrap().total, Some(3));
        let order = &list.orders[0];
        assert_eq!(order.subaccount.as_ref().unwrap().account_id, Some(123445));
        assert_eq!(order.order_price.as_ref().unwrap().cost, Some(358.0));
        assert_eq!(order.order_prices[0].cost, Some(12.5));
    }

    #[test]
    fn reads_the_reissue_sample_shapes() {
        let json = r#"{"certificates": [{"id": 12345, "status": "issued", "date_created": "2019-04-08T17:33:26+00:00",
            "date_issued": "2019-04-08T18:31:16+00:00", "valid_till": "2020-04-08", "key_size": 2048, "archived": 0},
            {"id": 23456, "status": "rejected", "archived": "0"}]}"#;
        let list: ReissueList = serde_json::from_str(json).unwrap();
        assert_eq!(list.certificates.len(), 2);
        assert_eq!(list.certificates[0].archived, Some(false));
        assert!(list.certificates[0].date_issued.is_some());
        assert_eq!(list.certificates[1].valid_till, None);
    }
}
