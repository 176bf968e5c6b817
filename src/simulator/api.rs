//! The CertCentral endpoints the simulator serves, in the shapes the API
//! pages document.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use super::fleet::{PRODUCTS, SimCertificate, SimOrder, SimRequest};
use super::{Shared, report};

/// The documented error body.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

/// `limit` (1 to 1000, default 1000) and `offset` (default 0), or the
/// documented error.
pub struct Paging {
    limit: usize,
    offset: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Paging, Response> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let limit = match query.get("limit") {
            None => 1000,
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=1000).contains(&limit) => limit,
                _ => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "invalid_limit",
                        "limit must be a number from 1 to 1000",
                    ));
                }
            },
        };
        let offset = match query.get("offset") {
            None => 0,
            Some(text) => text.parse::<usize>().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_offset",
                    "offset must be a number, 0 or more",
                )
            })?,
        };
        Ok(Paging { limit, offset })
    }
}

/// `GET /report/order`.
pub async fn report_page(
    State(shared): State<Arc<Shared>>,
    Paging { limit, offset }: Paging,
) -> Response {
    let world = shared.world();
    let body = report::page(world.orders.iter().skip(offset).take(limit));
    drop(world);
    ([("content-type", "text/csv; charset=utf-8")], body).into_response()
}

fn find<'a>(orders: &'a [SimOrder], key: &str) -> Option<&'a SimOrder> {
    let id = key.parse::<u64>().ok();
    orders.iter().find(|o| {
        Some(o.id) == id
            || (!o.thumbprint.is_empty() && o.thumbprint.eq_ignore_ascii_case(key))
            || (!o.serial_number.is_empty() && o.serial_number.eq_ignore_ascii_case(key))
    })
}

fn time(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn request_json(r: &SimRequest) -> Value {
    json!({"id": r.id, "date": time(r.date), "type": r.kind, "status": r.status, "comments": "Certificate comment."})
}

/// `GET /order/certificate/{id}` (an order id, thumbprint or serial).
pub async fn order_info(State(shared): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    let world = shared.world();
    let Some(order) = find(&world.orders, &key) else {
        return error(StatusCode::NOT_FOUND, "not_found", "Order not found.");
    };
    let today = world.today;
    let issued = order.in_use() || order.status == "expired" || order.status == "revoked";
    let mut certificate = json!({
        "common_name": order.common_name,
        "dns_names": order.dns_names,
        "date_created": time(order.date_created.and_utc()),
        "csr": order.csr.pem(),
        "organization": {"id": order.organization_id},
        "organization_units": ["IT, Web"],
        "server_platform": {"id": -1, "name": "OTHER"},
        "signature_hash": order.signature_hash,
        "key_size": order.csr.key_size(),
        "ca_cert": {"id": "A1B2C3", "name": "DigiCert Global G2 TLS RSA SHA256 2020 CA1"},
    });
    let mut info = json!({
        "id": order.id,
        "status": order.status,
        "is_renewal": order.renewed_order_id.is_some(),
        "is_renewed": world.renewed(order),
        "date_created": time(order.date_created.and_utc()),
        "organization": {"id": order.organization_id, "name": order.organization, "display_name": order.organization,
                         "city": "Lehi", "state": "Utah", "country": "us"},
        "validity_years": order.validity_years,
        "disable_renewal_notifications": order.disable_renewal_notifications,
        "auto_renew": u8::from(order.auto_renew),
        "auto_reissue": u8::from(order.auto_reissue),
        "container": {"id": order.container_id, "name": order.container, "is_active": true},
        "product": {"name_id": order.product, "name": order.product_name, "type": "ssl_certificate",
                    "validation_type": "ov", "validation_name": "OV", "csr_required": true},
        "user": {"id": 44, "first_name": "John", "last_name": "Smith", "email": "john.smith@example.com"},
        "purchased_dns_names": order.dns_names.len().saturating_sub(1),
        "requests": order.requests.iter().map(request_json).collect::<Vec<_>>(),
        "public_id": format!("P{}", order.id),
        "is_out_of_contract": order.is_out_of_contract,
        "payment_method": "balance",
        "product_name_id": order.product,
        "custom_fields": [{"metadata_id": 12, "label": "Invoice #", "value": format!("INV-{}", order.id)}],
        "disable_issuance_email": false,
        "disable_ct": order.disable_ct,
        "is_guest_access_enabled": false,
    });
    if issued && let (Some(till), Some(object)) = (order.valid_till(), certificate.as_object_mut())
    {
        object.insert("id".into(), json!(order.certificate_id));
        object.insert("thumbprint".into(), json!(order.thumbprint));
        object.insert("serial_number".into(), json!(order.serial_number));
        object.insert(
            "valid_from".into(),
            json!(order.valid_from.map(|d| d.to_string())),
        );
        object.insert("valid_till".into(), json!(till.to_string()));
        object.insert("days_remaining".into(), json!((till - today).num_days()));
    }
    if let Some(object) = info.as_object_mut() {
        object.insert("certificate".into(), certificate);
        if let Some(previous) = order.renewed_order_id {
            object.insert("renewed_order_id".into(), json!(previous));
        }
        if let Some(newer) = world
            .orders
            .iter()
            .find(|o| o.renewed_order_id == Some(order.id))
        {
            object.insert("was_renewed_by_order_id".into(), json!(newer.id));
        }
        if issued {
            let end = order.order_valid_till.or(order.report_valid_till);
            object.insert(
                "order_valid_from".into(),
                json!(order.valid_from.map(|d| d.to_string())),
            );
            object.insert("order_valid_till".into(), json!(end.map(|d| d.to_string())));
        }
        if order.multi_year_plan {
            object.insert("is_multi_year_plan".into(), json!("1"));
        }
    }
    Json(info).into_response()
}

/// `GET /order/certificate/{id}/reissue`.
pub async fn reissues(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let world = shared.world();
    let Some(order) = find(&world.orders, &key) else {
        return error(StatusCode::NOT_FOUND, "not_found", "Order not found.");
    };
    let show_archived = query
        .get("show_archived")
        .is_some_and(|v| v == "true" || v == "1");
    let original;
    let certificates: &[SimCertificate] = if order.reissues.is_empty() {
        original = order.certificate_id.map(|id| SimCertificate {
            id,
            status: "issued",
            date_created: order.date_created.and_utc(),
            date_issued: Some(order.date_created.and_utc() + Duration::hours(1)),
            valid_till: order.report_valid_till,
            archived: false,
        });
        original.as_slice()
    } else {
        &order.reissues
    };
    let list: Vec<Value> = certificates
        .iter()
        .filter(|c| show_archived || !c.archived)
        .map(|c| {
            let mut cert = json!({
                "id": c.id,
                "common_name": order.common_name,
                "dns_names": order.dns_names,
                "status": c.status,
                "date_created": time(c.date_created),
                "csr": order.csr.pem(),
                "key_size": order.csr.key_size(),
                "archived": u8::from(c.archived),
                "user_id": 1576,
                "email": "logan.nelson@example.com",
                "firstname": "Logan",
                "lastname": "Nelson",
            });
            if let (Some(issued), Some(object)) = (c.date_issued, cert.as_object_mut()) {
                object.insert("date_issued".into(), json!(time(issued)));
                object.insert(
                    "thumbprint".into(),
                    json!(format!(
                        "{:040X}",
                        u128::from(c.id) * 7_919 + u128::from(order.id)
                    )),
                );
                object.insert(
                    "serial_number".into(),
                    json!(format!("{:032X}", u128::from(c.id) * 104_729)),
                );
                if let Some(till) = c.valid_till {
                    object.insert("valid_till".into(), json!(till.to_string()));
                    object.insert(
                        "days_remaining".into(),
                        json!((till - world.today).num_days()),
                    );
                }
            }
            cert
        })
        .collect();
    Json(json!({"certificates": list})).into_response()
}

/// `GET /account/subaccount/order`.
pub async fn subaccount_orders(
    State(shared): State<Arc<Shared>>,
    Paging { limit, offset }: Paging,
) -> Response {
    let world = shared.world();
    let orders: Vec<Value> = world
        .subaccount_orders
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| {
            let mut order = json!({
                "id": o.id,
                "subaccount": {"account_id": o.subaccount_id, "account_type": "enterprise", "organization_name": o.subaccount_organization},
                "product": {"name_id": o.product, "name": o.product, "type": "ssl_certificate"},
                "order_price": {"cost": o.cost, "currency": o.currency},
                "status": o.status,
                "number_of_sans": 1,
                "date_created": "2026-01-07T09:33:08+00:00",
                "validity_years": 1,
            });
            if let Some(object) = order.as_object_mut() {
                if o.immediate {
                    let mut certificate = json!({"id": 3_000_000 + o.id, "common_name": o.common_name,
                        "dns_names": [format!("www.{}", o.common_name)], "organization_units": ["IT"], "signature_hash": "sha256"});
                    if o.status == "issued"
                        && let (Some(till), Some(c)) = (o.valid_till, certificate.as_object_mut())
                    {
                        c.insert("valid_till".into(), json!(till.to_string()));
                        c.insert("thumbprint".into(), json!(format!("{:08X}", o.id)));
                        c.insert("serial_number".into(), json!(format!("{:06X}", o.id)));
                    }
                    object.insert("certificate".into(), certificate);
                }
                if !o.extra_prices.is_empty() {
                    let prices: Vec<Value> = o.extra_prices.iter().map(|(cost, currency)| json!({"cost": cost, "currency": currency})).collect();
                    object.insert("order_prices".into(), json!(prices));
                }
            }
            order
        })
        .collect();
    let total = world.subaccount_orders.len();
    Json(json!({"orders": orders, "page": {"total": total, "limit": limit, "offset": offset}}))
        .into_response()
}

/// `POST /order/certificate/{product}`, validated as the order page says.
pub async fn create_order(
    State(shared): State<Arc<Shared>>,
    Path(product): Path<String>,
    body: String,
) -> Response {
    let bad = |code: &str, message: &str| error(StatusCode::BAD_REQUEST, code, message);
    let Some(product) = PRODUCTS.iter().find(|p| p.name_id == product) else {
        return bad("invalid_product", "Unknown product for this endpoint.");
    };
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return bad("invalid_json", "The request body is not JSON.");
    };
    let text = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let Some(common_name) = text("/certificate/common_name") else {
        return bad("missing_param", "certificate.common_name is required.");
    };
    if text("/certificate/csr").is_none() {
        return bad("missing_param", "certificate.csr is required.");
    }
    match text("/certificate/signature_hash") {
        None => return bad("missing_param", "certificate.signature_hash is required."),
        Some("sha256") => {}
        Some(_) => {
            return bad(
                "invalid_signature_hash",
                "SSL/TLS certificates support only SHA-256.",
            );
        }
    }
    if request
        .pointer("/organization/id")
        .and_then(Value::as_u64)
        .is_none()
    {
        return bad("missing_param", "organization.id is required.");
    }
    if let Some(method) = request.get("payment_method")
        && !matches!(method.as_str(), Some("balance" | "card" | "profile"))
    {
        {
            return bad(
                "invalid_payment_method",
                "payment_method must be balance, card or profile.",
            );
        }
    }
    let world_today = shared.world().today;
    let custom = request.get("custom_expiration_date");
    let days = request.get("validity_days").and_then(Value::as_i64);
    let validity_days = if let Some(date) = custom {
        let Some(date) = date
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            return bad(
                "invalid_custom_expiration_date",
                "custom_expiration_date must be yyyy-MM-dd.",
            );
        };
        let days = (date - world_today).num_days();
        if !(1..825).contains(&days) {
            return bad(
                "invalid_custom_expiration_date",
                "custom_expiration_date must be less than 825 days in the future.",
            );
        }
        days
    } else if let Some(days) = days {
        if days < 1 {
            return bad("invalid_validity_days", "validity_days must be positive.");
        }
        days
    } else {
        match request.get("validity_years").and_then(Value::as_i64) {
            None => return bad("missing_param", "validity_years is required."),
            Some(years @ (1 | 2)) => years * 365,
            Some(_) => return bad("invalid_validity_years", "validity_years must be 1 or 2."),
        }
    };
    let skip_approval = request
        .get("skip_approval")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let auto_renew = request.get("auto_renew").and_then(Value::as_i64) == Some(1);
    let mut world = shared.world();
    let id = world.next_order_id;
    world.next_order_id += 1;
    let template = world.orders.first().cloned();
    let Some(mut order) = template else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The simulated account has no orders to copy from.",
        );
    };
    order.id = id;
    order.status = if skip_approval { "issued" } else { "pending" }.to_owned();
    order.common_name = common_name.to_owned();
    order.product = product.name_id;
    order.product_name = product.name;
    order.auto_renew = auto_renew;
    order.renewed_order_id = request.get("renewal_of_order_id").and_then(Value::as_u64);
    order.is_renewed = false;
    order.has_duplicates = false;
    order.reissues.clear();
    order.date_created = Utc::now().naive_utc();
    order.valid_from = None;
    order.report_valid_till = None;
    order.certificate_id = None;
    order.thumbprint.clear();
    order.serial_number.clear();
    let request_id = id * 10;
    order.requests = vec![SimRequest {
        id: request_id,
        date: Utc::now(),
        kind: "new_request",
        status: if skip_approval { "approved" } else { "pending" },
    }];
    let response = if skip_approval {
        let till = world.today + Duration::days(validity_days.min(baseline_cap(world.today)));
        world.issue(&mut order, till);
        json!({"id": id, "certificate_id": order.certificate_id})
    } else {
        json!({"id": id, "requests": [{"id": request_id, "status": "pending"}]})
    };
    world.orders.push(order);
    (StatusCode::CREATED, Json(response)).into_response()
}

/// A created certificate is cut to the baseline, as a CA would.
fn baseline_cap(today: NaiveDate) -> i64 {
    super::fleet::baseline_days(today) - 1
}
