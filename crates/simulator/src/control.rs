//! `/_simulator/`: the simulator's truth and controls, for tests. Not part
//! of CertCentral; no key needed, no rate limit, no faults.
//!
//! - `GET /_simulator/orders[?status=&limit=&offset=]`: the truth about
//!   every order of the report (JSON array of
//!   [`OrderTruth`](super::truth::OrderTruth));
//! - `GET /_simulator/subaccount-orders`: the truth about the subaccount
//!   listing (JSON array of
//!   [`SubaccountOrderTruth`](super::truth::SubaccountOrderTruth));
//! - `GET /_simulator/orders/{id}`: one order's truth;
//! - `DELETE /_simulator/orders/{id}`: the order leaves the account;
//! - `POST /_simulator/orders/{id}/reissue` (body optional:
//!   `{"valid_till":"YYYY-MM-DD","report_lags":false}`): a new certificate;
//! - `POST /_simulator/orders/{id}/touch` (body optional, a
//!   [`Change`]): changes the order's report row, by default its expiry
//!   one day later;
//! - `GET /_simulator/stats`, `DELETE /_simulator/stats`: requests served;
//! - `GET`/`PUT /_simulator/faults`: the fault mode;
//! - `GET /_simulator/info`: size, seed and day of the fleet;
//! - `GET /_simulator/validations`: every domain record and organization
//!   with its expiry instants; `PUT` with `{"permitted": false}` makes the
//!   validation endpoints answer 403 (a key without that permission).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use super::faults::Faults;
use super::fleet::{Change, Status, serial_number};
use super::truth;

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn no_order(id: u64) -> Response {
    problem(StatusCode::NOT_FOUND, format!("no order {id}"))
}

/// Which truths a listing asks for.
struct Filter {
    status: Option<Status>,
    limit: usize,
    offset: usize,
}

impl Filter {
    fn parse(raw: Option<String>) -> Result<Filter, String> {
        let query: HashMap<String, String> = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let number = |name: &str, default: usize| {
            query.get(name).map_or(Ok(default), |v| {
                v.parse::<usize>()
                    .map_err(|_| format!("{name} must be a number"))
            })
        };
        Ok(Filter {
            status: query
                .get("status")
                .map(|s| Status::parse(s).ok_or_else(|| format!("unknown status {s:?}")))
                .transpose()?,
            limit: number("limit", usize::MAX)?,
            offset: number("offset", 0)?,
        })
    }
}

/// Truths rendered per chunk, each under a short read lock.
const CHUNK: usize = 2_000;

/// Where a streamed listing of truths has got to.
#[derive(Clone, Copy)]
struct Cursor {
    /// Index of the next order.
    position: usize,
    /// Matching items still to skip (`offset`).
    skip: usize,
    /// Matching items still to send (`limit`).
    left: usize,
    started: bool,
    wrote_any: bool,
    done: bool,
}

/// `GET /_simulator/orders`: the truth about every order of the report,
/// by ascending id; streamed in chunks, each
/// under a short read lock, so that a large fleet does not need its whole
/// JSON in memory.
pub(crate) async fn orders(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let filter = match Filter::parse(raw) {
        Ok(filter) => filter,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let now = Utc::now();
    let cursor = Cursor {
        position: 0,
        skip: filter.offset,
        left: filter.limit,
        started: false,
        wrote_any: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, move |mut cursor| {
        let shared = shared.clone();
        let want_status = filter.status;
        async move {
            if cursor.done {
                return None;
            }
            let mut out = Vec::with_capacity(CHUNK * 1_000);
            if !cursor.started {
                out.push(b'[');
                cursor.started = true;
            }
            let world = shared.world();
            let total = world.orders.len();
            let mut written = 0;
            while cursor.position < total && cursor.left > 0 && written < CHUNK {
                let order = &world.orders[cursor.position];
                cursor.position += 1;
                // Filter and skip on the order itself: a truth is only
                // worked out for the orders sent.
                if want_status.is_some_and(|want| want != order.status) {
                    continue;
                }
                if cursor.skip > 0 {
                    cursor.skip -= 1;
                    continue;
                }
                if cursor.wrote_any {
                    out.push(b',');
                }
                cursor.wrote_any = true;
                if serde_json::to_writer(&mut out, &truth::order(&world, order, now)).is_err() {
                    out.extend_from_slice(b"null");
                }
                cursor.left -= 1;
                written += 1;
            }
            drop(world);
            if cursor.position >= total || cursor.left == 0 {
                out.push(b']');
                cursor.done = true;
            }
            Some((Ok::<Bytes, std::io::Error>(Bytes::from(out)), cursor))
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `GET /_simulator/orders/{id}`: one order's truth (a report order, or
/// else an order of the subaccount listing, in its own shape).
pub(crate) async fn order(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let world = shared.world();
    let now = Utc::now();
    if let Some(order) = world.order(id) {
        return Json(truth::order(&world, order, now)).into_response();
    }
    match world.subaccount_orders.binary_search_by_key(&id, |s| s.id) {
        Ok(i) => Json(truth::subaccount_order(
            &world,
            &world.subaccount_orders[i],
            now,
        ))
        .into_response(),
        Err(_) => no_order(id),
    }
}

/// `GET /_simulator/subaccount-orders`: the truth about every order of the
/// subaccount listing, by ascending id.
pub(crate) async fn subaccount_orders(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    let now = Utc::now();
    let list: Vec<truth::SubaccountOrderTruth> = world
        .subaccount_orders
        .iter()
        .map(|s| truth::subaccount_order(&world, s, now))
        .collect();
    Json(list).into_response()
}

/// `DELETE /_simulator/orders/{id}`: the order leaves the account (the
/// report, the details and the subaccount listing).
pub(crate) async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let mut world = shared.world_mut();
    if world.remove(id) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let before = world.subaccount_orders.len();
    world.subaccount_orders.retain(|s| s.id != id);
    if world.subaccount_orders.len() < before {
        StatusCode::NO_CONTENT.into_response()
    } else {
        no_order(id)
    }
}

/// The optional body of a reissue.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReissueRequest {
    valid_till: Option<NaiveDate>,
    report_lags: bool,
}

/// Reads an optional JSON body (empty means defaults).
fn optional_json<T: Default + for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("bad body: {e}"))
}

/// `POST /_simulator/orders/{id}/reissue`: a new certificate (new id,
/// thumbprint and serial, a later expiry unless `valid_till` says), the
/// previous one archived; the report shows it unless `report_lags`.
pub(crate) async fn reissue(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let request: ReissueRequest = match optional_json(&body) {
        Ok(request) => request,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let mut world = shared.world_mut();
    let Some(certificate) = world.reissue(
        id,
        Utc::now().naive_utc(),
        request.valid_till,
        request.report_lags,
    ) else {
        return no_order(id);
    };
    let order = world.order(id);
    let valid_till = order.and_then(|o| o.valid_till());
    let thumbprint = order.and_then(|o| {
        let c = o.certificates().find(|c| c.id == certificate)?;
        Some(o.thumbprint(c))
    });
    Json(json!({
        "id": id,
        "certificate_id": certificate,
        "thumbprint": thumbprint,
        "serial_number": serial_number(certificate),
        "valid_till": valid_till,
    }))
    .into_response()
}

/// `POST /_simulator/orders/{id}/touch`: changes the order (by default its
/// report row's expiry moves one day later); answers its new truth.
pub(crate) async fn touch(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let mut change: Change = match optional_json(&body) {
        Ok(change) => change,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        change.valid_till_days = Some(1);
    }
    let mut world = shared.world_mut();
    if world.order(id).is_none() {
        return no_order(id);
    }
    if let Err(message) = world.change(id, &change) {
        return problem(StatusCode::BAD_REQUEST, message);
    }
    match world.order(id) {
        Some(order) => Json(truth::order(&world, order, Utc::now())).into_response(),
        None => no_order(id),
    }
}

/// `GET /_simulator/stats`: requests served by endpoint and status, faults
/// injected.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats_json()).into_response()
}

/// `DELETE /_simulator/stats`: starts counting afresh.
pub(crate) async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset_stats();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_simulator/faults`: the fault mode in force.
pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults()).into_response()
}

/// `PUT /_simulator/faults`: replaces the fault mode (`{}` turns it off).
pub(crate) async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match Faults::parse(&text) {
        Ok(faults) => {
            shared.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(message) => problem(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /_simulator/info`: what the simulator serves.
/// `GET /_simulator/endpoints`: the TLS scenario endpoints, what a probe
/// of each should find and what each has seen (see `endpoints`), and the
/// CA that signs the account's certificates.
pub(crate) async fn endpoints(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({
        "ca_pem": crate::ca_pem(),
        "endpoints": shared.endpoints_json(),
    }))
    .into_response()
}

pub(crate) async fn info(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    Json(json!({
        "orders": world.orders.len(),
        "subaccount_orders": world.subaccount_orders.len(),
        "subaccount_only_orders": world.subaccount_orders.iter().filter(|s| !s.in_report).count(),
        "today": world.today,
        "seed": shared.seed,
        "api_key_required": shared.api_key.is_some(),
    }))
    .into_response()
}
