//! What stands in front of every API endpoint, as CertCentral (and the
//! network) would: the key check, the rate limit, the fault mode, gzip and
//! the request counts.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::{Shared, lock};
use crate::{api, faults};

/// Which endpoint a request is for, as the stats (and the exporter's
/// `endpoint` label) name it.
fn endpoint_of(method: &Method, path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    if path.ends_with("/report/order") {
        "report"
    } else if path.ends_with("/account/subaccount/order") {
        "subaccount_orders"
    } else if path.ends_with("/domain") && path.contains("/account/subaccount/") {
        "subaccount_domains"
    } else if path.ends_with("/domain") {
        "domains"
    } else if path.ends_with("/organization") {
        "organizations"
    } else if path.contains("/order/certificate/") && path.ends_with("/reissue") {
        "reissue"
    } else if path.contains("/order/certificate/") && method == Method::POST {
        "order_create"
    } else if path.contains("/order/certificate/") {
        "order"
    } else {
        "other"
    }
}

/// What a good answer is counted by (`/_simulator/stats`' `answered`): the
/// order of a per-order request, the offset of a report page.
fn answer_key(endpoint: &str, uri: &axum::http::Uri) -> Option<u64> {
    match endpoint {
        "order" | "reissue" => order_of(uri.path()),
        "report" => url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .find(|(name, _)| name == "offset")
            .map_or(Some(0), |(_, value)| value.parse().ok()),
        _ => None,
    }
}

/// The order a per-order path is about (`.../order/certificate/{id}...`).
fn order_of(path: &str) -> Option<u64> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "certificate")?;
    segments.next()?.parse().ok()
}

/// Every API request passes here: the key check, the rate limit, the fault
/// mode, gzip, and the stats, around the endpoint's own handler.
pub(crate) async fn gatekeeper(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = endpoint_of(request.method(), request.uri().path());
    let answer_key = answer_key(endpoint, request.uri());
    let key = request
        .headers()
        .get("X-DC-DEVKEY")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let accepted = !key.is_empty()
        && shared
            .api_key
            .as_ref()
            .is_none_or(|expected| *expected == key);
    if !accepted {
        shared.count(endpoint, "401");
        return api::error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The API key is missing or not valid.",
        );
    }
    let draw = lock(&shared.injector).draw(endpoint);
    if draw.burst || !lock(&shared.limits).admit(&key, Instant::now()) {
        shared.count(endpoint, "429");
        let mut response = api::error(
            StatusCode::TOO_MANY_REQUESTS,
            "request_limit_exceeded",
            "You have exceeded the request limit for this API key. Please wait and try again.",
        );
        if let Some(seconds) = shared.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    if let Some(delay) = draw.slow {
        tokio::time::sleep(delay).await;
    }
    if draw.error {
        shared.count(endpoint, "500");
        return api::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An unexpected error occurred. Please try again later.",
        );
    }
    let gzip = request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_gzip);
    let response = next.run(request).await;
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        shared.count(endpoint, "500");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut bytes = bytes.to_vec();
    if status.is_success()
        && !(draw.garbage || draw.truncate || draw.bad_detail.is_some() || draw.reset)
        && let Some(key) = answer_key
    {
        shared.count_answer(endpoint, key);
    }
    if status.is_success() {
        if draw.garbage {
            bytes = faults::GARBAGE_REPORT.to_vec();
        } else if draw.truncate {
            bytes.truncate(faults::truncation_point(&bytes));
        } else if let Some(which) = draw.bad_detail {
            bytes = faults::BAD_DETAILS[which % faults::BAD_DETAILS.len()].to_vec();
        }
    }
    if gzip && let Some(compressed) = compress(&bytes) {
        bytes = compressed;
        parts
            .headers
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    parts.headers.remove(header::CONTENT_LENGTH);
    if draw.reset {
        shared.count(endpoint, "reset");
        tracing::debug!(endpoint, "fault: resetting the connection mid-body");
        let half = bytes[..bytes.len() / 2].to_vec();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated reset",
            )),
        ];
        return Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)));
    }
    shared.count(endpoint, status.as_u16().to_string());
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether one Accept-Encoding value admits gzip (`gzip`, `x-gzip` or `*`,
/// unless with `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        ["gzip", "x-gzip", "*"]
            .iter()
            .any(|c| coding.eq_ignore_ascii_case(c))
            && q > 0.0
    })
}

fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}
