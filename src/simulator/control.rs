//! `/_simulator/`: the simulator's truth and controls, for tests. No key
//! needed; not part of CertCentral.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde_json::json;

use super::faults::Faults;
use super::{Shared, truth};

/// `GET /_simulator/orders`: what the exporter should report, per order.
pub async fn orders(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    Json(truth::orders(&world, Utc::now())).into_response()
}

/// `GET /_simulator/subaccount-orders`.
pub async fn subaccount_orders(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    Json(truth::subaccount_orders(&world)).into_response()
}

/// `DELETE /_simulator/orders/{id}`: the order leaves the account.
pub async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let mut world = shared.world();
    let before = world.orders.len();
    world.orders.retain(|o| o.id != id);
    if world.orders.len() == before {
        return StatusCode::NOT_FOUND.into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_simulator/orders/{id}/reissue`: a new certificate, a year later
/// than the current one, visible in the report (new certificate id,
/// thumbprint, serial), the details and the reissue list.
pub async fn reissue(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let mut world = shared.world();
    let Some(index) = world.orders.iter().position(|o| o.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut order = world.orders[index].clone();
    let till = order.valid_till().unwrap_or(world.today) + Duration::days(120);
    world.add_reissue(&mut order, till);
    let valid_till = order.valid_till().map(|d| d.to_string());
    world.orders[index] = order;
    Json(json!({"id": id, "valid_till": valid_till})).into_response()
}

/// `POST /_simulator/orders/{id}/touch`: the report row changes (one more
/// day of validity), as after a renewal or a correction.
pub async fn touch(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let mut world = shared.world();
    let Some(order) = world.orders.iter_mut().find(|o| o.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    order.report_valid_till = order.report_valid_till.map(|d| d + Duration::days(1));
    order.serial_number.push('1');
    Json(json!({"id": id, "valid_till": order.valid_till().map(|d| d.to_string())})).into_response()
}

/// `GET /_simulator/stats`: requests served, by endpoint and status.
pub async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats_json()).into_response()
}

/// `GET`/`PUT /_simulator/faults`.
pub async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults()).into_response()
}

pub async fn put_faults(State(shared): State<Arc<Shared>>, body: String) -> Response {
    match Faults::parse(&body) {
        Ok(faults) => {
            shared.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}
