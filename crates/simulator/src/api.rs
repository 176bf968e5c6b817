//! The CertCentral endpoints the simulator serves, in the shapes their API
//! pages document, all derived from the one [`World`] so that they agree
//! with each other and with the report.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::Shared;
use super::catalog::{self, PRODUCTS, product_index};
use super::fleet::{
    Approval, Certificate, NewOrder, Order, Status, SubaccountOrder, World, max_validity_days,
    serial_number,
};
use super::report::{self, MAX_LIMIT};

/// The documented error body, `{"errors":[{"code":...,"message":...}]}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

/// An API error, answered in the documented shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, self.code, &self.message)
    }
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.into(),
    }
}

fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "The requested order was not found.".into(),
    }
}

/// The query string's parameters (the last value of a repeated one wins).
pub(super) fn query(raw: Option<String>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// `limit` (1 to 1000, default 1000) and `offset` (0 or more, default 0).
pub(super) fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let limit = match query.get("limit").map(|t| t.trim()) {
        None | Some("") => MAX_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(bad_request(
                    "invalid_limit",
                    "limit must be a whole number from 1 to 1000.",
                ));
            }
        },
    };
    let offset = match query.get("offset").map(|t| t.trim()) {
        None | Some("") => 0,
        Some(text) => text.parse::<usize>().map_err(|_| {
            bad_request(
                "invalid_offset",
                "offset must be a whole number, 0 or more.",
            )
        })?,
    };
    Ok((limit, offset))
}

/// `GET /report/order?limit=&offset=`.
pub(crate) async fn report_page(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (limit, offset) = match paging(&query(raw)) {
        Ok(paging) => paging,
        Err(e) => return e.into_response(),
    };
    let body = report::page(&shared.world(), limit, offset);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// ISO 8601 in UTC, as the JSON endpoints write times.
fn time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_remaining(till: NaiveDate) -> i64 {
    (till - today()).num_days()
}

fn ca_cert(order: &Order) -> Value {
    if order.csr.algorithm() == Some("ec") {
        json!({"id": "5E2C1F8A9B", "name": "DigiCert Global G3 TLS ECC SHA384 2020 CA1"})
    } else {
        json!({"id": "3A9F7C20E1", "name": "DigiCert Global G2 TLS RSA SHA256 2020 CA1"})
    }
}

fn contact(user: &catalog::User) -> Value {
    json!({
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.title,
        "telephone": user.telephone,
    })
}

/// The custom fields of an order, from its metadata (id, label, value
/// triples separated by 0x1f).
fn custom_fields(order: &Order) -> Vec<Value> {
    let parts: Vec<&str> = order.metadata().split('\u{1f}').collect();
    parts
        .chunks(3)
        .filter(|c| c.len() == 3)
        .map(|c| json!({"metadata_id": c[0].parse::<u64>().unwrap_or(0), "label": c[1], "value": c[2]}))
        .collect()
}

/// The order an id, thumbprint or serial number names, or the error.
fn lookup(world: &World, key: Result<Path<String>, PathRejection>) -> Result<&Order, ApiError> {
    let Ok(Path(key)) = key else {
        return Err(not_found());
    };
    world.find(key.trim()).ok_or_else(not_found)
}

/// `GET /order/certificate/{id}`: an order's details (the id may also be a
/// certificate's thumbprint or serial number).
pub(crate) async fn order_info(
    State(shared): State<Arc<Shared>>,
    key: Result<Path<String>, PathRejection>,
) -> Response {
    let world = shared.world();
    match lookup(&world, key) {
        Ok(order) => Json(order_json(order)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn order_json(order: &Order) -> Value {
    let product = order.product();
    let org = order.organization();
    let container = order.container();
    let user = order.user();
    let active = order.active_certificate();
    let names = order.dns_names();
    let first = order.certificate.as_ref();
    let mut certificate = json!({
        "common_name": names[0],
        "dns_names": names[1..],
        "date_created": time(active.or(first).map_or(order.created, |c| c.requested)),
        "csr": order.csr_pem(),
        "organization": {"id": org.id},
        "organization_units": ["IT, Web Operations"],
        "server_platform": {"id": -1, "name": "OTHER",
            "install_url": "http://www.digicert.com/SSL-certificate-installation.htm",
            "csr_url": "http://www.digicert.com/csr-creation.htm"},
        "signature_hash": order.signature_hash.as_str(),
        "key_size": order.csr.stated_key_size(),
        "ca_cert": ca_cert(order),
        "cert_validity": {"years": order.validity_years},
        "user_id": user.id,
    });
    let mut info = json!({
        "id": order.id,
        "status": order.status.as_str(),
        "is_renewal": order.renewed_order_id.is_some(),
        "is_renewed": order.renewed(),
        "date_created": time(order.created),
        "organization": {
            "id": org.id,
            "name": org.name,
            "assumed_name": org.assumed_name,
            "display_name": format!("{} ({})", org.name, org.assumed_name),
            "city": org.city,
            "state": org.state,
            "country": org.country,
        },
        "validity_years": order.validity_years,
        "order_validity": {"years": order.validity_years},
        "disable_renewal_notifications": order.disable_renewal_notifications,
        "auto_renew": u8::from(order.auto_renew),
        "auto_reissue": u8::from(order.auto_reissue),
        "container": {"id": container.id, "name": container.name, "is_active": true},
        "product": {
            "name_id": product.name_id,
            "name": product.name,
            "type": "ssl_certificate",
            "validation_type": product.validation,
            "validation_name": product.validation.to_uppercase(),
            "validation_description": if product.validation == "ev" { "Extended Organization Validation (EV)" } else { "Normal Organization Validation" },
            "csr_required": true,
        },
        "organization_contact": contact(user),
        "technical_contact": contact(user),
        "user": {"id": user.id, "first_name": user.first_name, "last_name": user.last_name, "email": user.email},
        "purchased_dns_names": names.len().saturating_sub(1),
        "requests": order.requests().iter().map(|r| {
            let mut request = json!({"id": r.id, "date": time(r.date), "type": r.kind.as_str(), "status": r.status.as_str()});
            if let (Some(comments), Some(object)) = (r.comments, request.as_object_mut()) {
                object.insert("comments".into(), json!(comments));
            }
            request
        }).collect::<Vec<_>>(),
        "receipt_id": order.id + 54_321,
        "public_id": format!("{:X}", order.id.wrapping_mul(0x9e37_79b9)),
        "allow_duplicates": true,
        "user_assignments": [{"id": user.id, "first_name": user.first_name, "last_name": user.last_name, "email": user.email}],
        "is_out_of_contract": order.is_out_of_contract,
        "payment_method": if order.id.is_multiple_of(5) { "card" } else { "balance" },
        "product_name_id": product.name_id,
        "custom_fields": custom_fields(order),
        "disable_issuance_email": order.disable_issuance_email,
        "disable_ct": order.disable_ct,
        "is_guest_access_enabled": false,
    });
    let Some(object) = info.as_object_mut() else {
        return info;
    };
    if let Some(c) = active.filter(|c| c.issued.is_some())
        && let Some(cert) = certificate.as_object_mut()
    {
        cert.insert("id".into(), json!(c.id));
        cert.insert("thumbprint".into(), json!(order.thumbprint(c)));
        cert.insert("serial_number".into(), json!(serial_number(c.id)));
        if let Some(from) = c.valid_from {
            cert.insert("valid_from".into(), json!(from.to_string()));
        }
        if let Some(till) = c.valid_till {
            cert.insert("valid_till".into(), json!(till.to_string()));
            cert.insert("days_remaining".into(), json!(days_remaining(till)));
        }
        let (from, till) = match order.plan {
            Some(plan) => (Some(plan.0), Some(plan.1)),
            None => (
                first.and_then(|f| f.valid_from).or(c.valid_from),
                c.valid_till,
            ),
        };
        object.insert(
            "order_valid_from".into(),
            json!(from.map(|d| d.to_string())),
        );
        object.insert(
            "order_valid_till".into(),
            json!(till.map(|d| d.to_string())),
        );
    } else if let Some(c) = first
        && let Some(cert) = certificate.as_object_mut()
    {
        cert.insert("id".into(), json!(c.id));
    }
    object.insert("certificate".into(), certificate);
    if let Some(previous) = order.renewed_order_id {
        object.insert("renewed_order_id".into(), json!(previous));
    }
    if let Some(newer) = order.renewed_by {
        object.insert("was_renewed_by_order_id".into(), json!(newer));
    }
    if order.plan.is_some() {
        object.insert("is_multi_year_plan".into(), json!("1"));
    }
    info
}

/// `GET /order/certificate/{id}/reissue[?show_archived=true]`: the order's
/// certificates, newest first; archived ones only when asked for.
pub(crate) async fn reissues(
    State(shared): State<Arc<Shared>>,
    key: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let show_archived = query(raw)
        .get("show_archived")
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let world = shared.world();
    let order = match lookup(&world, key) {
        Ok(order) => order,
        Err(e) => return e.into_response(),
    };
    let mut list: Vec<&Certificate> = order
        .certificates()
        .filter(|c| show_archived || !c.archived)
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse((c.requested, c.id)));
    let names = order.dns_names();
    let certificates: Vec<Value> = list
        .into_iter()
        .map(|c| {
            let user = &catalog::USERS[usize::from(c.user) % catalog::USERS.len()];
            let mut cert = Map::new();
            cert.insert("id".into(), json!(c.id));
            if c.issued.is_some() {
                cert.insert("thumbprint".into(), json!(order.thumbprint(c)));
                cert.insert("serial_number".into(), json!(serial_number(c.id)));
            }
            cert.insert("common_name".into(), json!(names[0]));
            cert.insert("dns_names".into(), json!(names[1..]));
            cert.insert("status".into(), json!(c.status.as_str()));
            cert.insert("date_created".into(), json!(time(c.requested)));
            if let Some(issued) = c.issued {
                cert.insert("date_issued".into(), json!(time(issued)));
                if let Some(till) = c.valid_till {
                    cert.insert("valid_till".into(), json!(till.to_string()));
                    cert.insert("days_remaining".into(), json!(days_remaining(till)));
                }
            }
            cert.insert("csr".into(), json!(order.csr_pem()));
            cert.insert("key_size".into(), json!(order.csr.stated_key_size()));
            cert.insert("archived".into(), json!(u8::from(c.archived)));
            cert.insert("user_id".into(), json!(user.id));
            cert.insert("email".into(), json!(user.email));
            cert.insert("firstname".into(), json!(user.first_name));
            cert.insert("lastname".into(), json!(user.last_name));
            if c.issued.is_some() {
                cert.insert("receipt_id".into(), json!((c.id % 1_000_000).to_string()));
                cert.insert(
                    "purchased_dns_names".into(),
                    json!(names.len().saturating_sub(1).to_string()),
                );
                cert.insert(
                    "purchased_wildcard_names".into(),
                    json!(u8::from(order.product().wildcard).to_string()),
                );
            }
            Value::Object(cert)
        })
        .collect();
    Json(json!({"certificates": certificates})).into_response()
}

/// `GET /account/subaccount/order?limit=&offset=`: orders of subaccounts
/// and sub-subaccounts, with `page.total`.
pub(crate) async fn subaccount_orders(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (limit, offset) = match paging(&query(raw)) {
        Ok(paging) => paging,
        Err(e) => return e.into_response(),
    };
    let world = shared.world();
    let total = world.subaccount_orders.len();
    let orders: Vec<Value> = world
        .subaccount_orders
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| subaccount_json(&world, s))
        .collect();
    Json(json!({"orders": orders, "page": {"total": total, "limit": limit, "offset": offset}}))
        .into_response()
}

fn subaccount_json(world: &World, s: &SubaccountOrder) -> Value {
    let sub = s.subaccount();
    let main = s.in_report.then(|| world.order(s.id)).flatten();
    let product = main.map_or_else(|| s.product(), |o| o.product());
    let common_name = main.map_or_else(|| s.common_name(), |o| o.common_name());
    let mut names = main.map_or_else(
        || vec![common_name.clone(), format!("www.{common_name}")],
        |o| o.dns_names(),
    );
    names.remove(0);
    let mut order = Map::new();
    order.insert("id".into(), json!(s.id));
    if sub.immediate {
        let mut certificate = Map::new();
        certificate.insert(
            "id".into(),
            json!(if s.certificate_id == 0 {
                s.id * 3
            } else {
                s.certificate_id
            }),
        );
        if s.status == Status::Issued && s.certificate_id != 0 {
            certificate.insert("thumbprint".into(), json!(s.thumbprint()));
            certificate.insert(
                "serial_number".into(),
                json!(serial_number(s.certificate_id)),
            );
        }
        certificate.insert("common_name".into(), json!(common_name));
        certificate.insert("dns_names".into(), json!(names));
        if s.status == Status::Issued
            && let Some(till) = s.valid_till
        {
            certificate.insert("valid_till".into(), json!(till.to_string()));
        }
        certificate.insert("organization_units".into(), json!(["IT Dept."]));
        certificate.insert(
            "signature_hash".into(),
            json!(main.map_or("sha256", |o| o.signature_hash.as_str())),
        );
        order.insert("certificate".into(), Value::Object(certificate));
    }
    order.insert(
        "subaccount".into(),
        json!({"account_id": sub.id, "account_type": sub.account_type, "organization_name": sub.organization}),
    );
    order.insert(
        "product".into(),
        json!({"name_id": product.name_id, "name": product.name, "type": "ssl_certificate"}),
    );
    order.insert(
        "order_price".into(),
        json!({"cost": s.cost_cents / 100, "currency": "USD"}),
    );
    order.insert("status".into(), json!(s.status.as_str()));
    order.insert("number_of_sans".into(), json!(names.len().max(1)));
    order.insert("date_created".into(), json!(time(s.created)));
    if s.status == Status::Issued
        && let Some(issued) = s.issued
    {
        order.insert("date_issued".into(), json!(time(issued)));
    }
    order.insert("validity_years".into(), json!(s.validity_years));
    if let Some((cost, currency)) = s.other_price {
        order.insert(
            "order_prices".into(),
            json!([{"cost": cost, "currency": currency}]),
        );
    }
    Value::Object(order)
}

/// `POST /order/certificate/{product}`: places an OV/EV SSL order,
/// validated as the order page documents; the order is in the next report.
pub(crate) async fn create_order(
    State(shared): State<Arc<Shared>>,
    product: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    let today = shared.world().today.max(today());
    let new = match validate(
        product.ok().map(|p| p.0).unwrap_or_default().as_str(),
        &body,
        today,
    ) {
        Ok(new) => new,
        Err(e) => return e.into_response(),
    };
    if let Some(previous) = new.renewal_of
        && shared.world().order(previous).is_none()
    {
        return bad_request(
            "invalid_renewal_of_order_id",
            "renewal_of_order_id does not name an order of this account.",
        )
        .into_response();
    }
    let approval = shared.approval;
    let skip = new.issue_now;
    let (id, certificate) = shared
        .world_mut()
        .create(new, approval, Utc::now().naive_utc());
    let request = super::fleet::first_request_id(id);
    let body = match (skip, approval) {
        (true, _) => json!({"id": id, "certificate_id": certificate}),
        (false, Approval::OneStep) => {
            json!({"id": id, "requests": [{"id": request, "status": "pending"}]})
        }
        (false, Approval::TwoStep) => {
            json!({"id": id, "requests": [{"id": request, "status": "submitted"}]})
        }
        (false, Approval::Auto) => {
            json!({"id": id, "requests": [{"id": request, "status": "approved"}], "certificate_id": certificate})
        }
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Checks an order request as the order page documents it.
fn validate(product: &str, body: &[u8], today: NaiveDate) -> Result<NewOrder, ApiError> {
    let Some(index) = product_index(product).filter(|&i| PRODUCTS[usize::from(i)].0.orderable)
    else {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_product",
            message: "This endpoint orders ssl_plus, ssl_multi_domain, ssl_wildcard, \
                      ssl_ev_plus, ssl_ev_multi_domain or ssl_cloud_wildcard."
                .into(),
        });
    };
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("invalid_json", "The request body is not valid JSON."))?;
    if !request.is_object() {
        return Err(bad_request(
            "invalid_json",
            "The request body must be a JSON object.",
        ));
    }
    let text = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if !request.get("certificate").is_some_and(Value::is_object) {
        return Err(bad_request("missing_param", "certificate is required."));
    }
    let common_name = text("/certificate/common_name")
        .ok_or_else(|| bad_request("missing_param", "certificate.common_name is required."))?;
    let csr = request
        .pointer("/certificate/csr")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad_request("missing_param", "certificate.csr is required."))?;
    match text("/certificate/signature_hash") {
        None => {
            return Err(bad_request(
                "missing_param",
                "certificate.signature_hash is required.",
            ));
        }
        Some(hash) if hash.eq_ignore_ascii_case("sha256") => {}
        Some(_) => {
            return Err(bad_request(
                "invalid_signature_hash",
                "SSL/TLS certificates support only SHA-256.",
            ));
        }
    }
    let dns_names = match request.pointer("/certificate/dns_names") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            return Err(bad_request(
                "invalid_dns_names",
                "certificate.dns_names must be a list of names.",
            ));
        }
    };
    // The simulator does not model organization validation: an id it does
    // not know (or a new organization given by name) is taken as the
    // account's first organization.
    let organization_id = match request.get("organization") {
        Some(Value::Object(org)) => match org.get("id") {
            Some(id) => {
                let id = id.as_u64().filter(|id| *id > 0).ok_or_else(|| {
                    bad_request(
                        "invalid_organization",
                        "organization.id must be an organization id.",
                    )
                })?;
                catalog::ORGANIZATIONS
                    .iter()
                    .find(|o| o.id == id)
                    .map_or(catalog::ORGANIZATIONS[0].id, |o| o.id)
            }
            None if org.get("name").and_then(Value::as_str).is_some() => {
                catalog::ORGANIZATIONS[0].id
            }
            None => return Err(bad_request("missing_param", "organization.id is required.")),
        },
        _ => return Err(bad_request("missing_param", "organization is required.")),
    };
    let container_id = match request.pointer("/container/id") {
        None => None,
        Some(id) => Some(
            id.as_u64()
                .filter(|id| catalog::CONTAINERS.iter().any(|c| c.id == *id))
                .ok_or_else(|| {
                    bad_request(
                        "invalid_container",
                        "container.id is not a container of this account.",
                    )
                })?,
        ),
    };
    if let Some(method) = request.get("payment_method")
        && !matches!(method.as_str(), Some("balance" | "card" | "profile"))
    {
        return Err(bad_request(
            "invalid_payment_method",
            "payment_method must be balance, card or profile.",
        ));
    }
    let (validity_years, validity_days) = if let Some(date) = request.get("custom_expiration_date")
    {
        let date = date
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| {
                bad_request(
                    "invalid_custom_expiration_date",
                    "custom_expiration_date must be a date, yyyy-MM-dd.",
                )
            })?;
        let days = (date - today).num_days();
        if days < 1 {
            return Err(bad_request(
                "invalid_custom_expiration_date",
                "custom_expiration_date must be in the future.",
            ));
        }
        if days >= 825 {
            return Err(bad_request(
                "invalid_custom_expiration_date",
                "custom_expiration_date must be less than 825 days in the future.",
            ));
        }
        (years_of(days), days)
    } else if let Some(days) = request.get("validity_days") {
        let days = days.as_i64().filter(|d| *d >= 1).ok_or_else(|| {
            bad_request(
                "invalid_validity_days",
                "validity_days must be a whole number of days, 1 or more.",
            )
        })?;
        (years_of(days), days)
    } else {
        match request.get("validity_years") {
            None => return Err(bad_request("missing_param", "validity_years is required.")),
            Some(years) => match years.as_i64() {
                Some(years @ (1 | 2)) => (years as u8, years * 365),
                _ => {
                    return Err(bad_request(
                        "invalid_validity_years",
                        "validity_years must be 1 or 2.",
                    ));
                }
            },
        }
    };
    let flag = |name: &str| -> Result<bool, ApiError> {
        match request.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad_request(
                "invalid_param",
                format!("{name} must be true or false."),
            )),
        }
    };
    let auto_renew = match request.get("auto_renew") {
        None | Some(Value::Null) => false,
        Some(v) => match v.as_i64() {
            Some(0) => false,
            Some(1) => true,
            _ => {
                return Err(bad_request(
                    "invalid_auto_renew",
                    "auto_renew must be 0 or 1.",
                ));
            }
        },
    };
    let renewal_of = match request.get("renewal_of_order_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            bad_request(
                "invalid_renewal_of_order_id",
                "renewal_of_order_id must be an order id.",
            )
        })?),
    };
    // The CA issues no longer than the baseline allows.
    let validity_days = validity_days.min(max_validity_days(today) - 1);
    Ok(NewOrder {
        product: index,
        common_name: common_name.to_owned(),
        dns_names,
        csr: csr.to_owned(),
        validity_years,
        validity_days,
        organization_id,
        container_id,
        auto_renew,
        disable_renewal_notifications: flag("disable_renewal_notifications")?,
        disable_ct: flag("disable_ct")?,
        renewal_of,
        issue_now: flag("skip_approval")?,
    })
}

fn years_of(days: i64) -> u8 {
    u8::try_from(((days + 182) / 365).clamp(1, 3)).unwrap_or(1)
}

/// Any other path under `/services/v2`.
pub(crate) async fn unknown_endpoint() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

#[cfg(test)]
mod timing {
    #[test]
    fn details_render_time() {
        let world = super::World::generate(
            2000,
            1,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for order in &world.orders[..1000] {
            bytes += serde_json::to_vec(&super::order_json(order)).unwrap().len();
        }
        println!(
            "1000 details rendered in {:?} ({bytes} bytes)",
            started.elapsed()
        );
    }
}
