//! A stand-in for the CertCentral Services API, so that the exporter runs,
//! demos and is tested without an API key or network access.
//!
//! It serves the four read endpoints and order creation at CertCentral's
//! paths (`/services/v2/...`), from one deterministic account (see
//! [`fleet`]), with CertCentral's key check and rate limits and an
//! optional fault mode ([`faults`]); `/_simulator/` tells tests the truth
//! ([`truth`]) and lets them change the account.
//!
//! Run alone with `certcentral-exporter simulate`, in-process with
//! [`spawn_local`], or mount [`router`] in a test server.
//!
//! The API (`X-DC-DEVKEY` required, any non-empty key unless `--api-key`):
//! - `GET /services/v2/report/order?limit=&offset=`: the CSV report,
//!   newest orders first (see [`report`] for the documented decisions);
//! - `GET /services/v2/order/certificate/{id}` (id, thumbprint or serial);
//! - `GET /services/v2/order/certificate/{id}/reissue[?show_archived=true]`;
//! - `GET /services/v2/account/subaccount/order?limit=&offset=`;
//! - `GET /services/v2/domain`, `GET /services/v2/organization` and
//!   `GET /services/v2/account/subaccount/{id}/domain`: the validations
//!   (see [`validations`]; 403 `access_denied|missing_permission` in the
//!   mode where the key lacks permission);
//! - `POST /services/v2/order/certificate/{product}`.
//!
//! Errors have the documented shape `{"errors":[{"code","message"}]}`:
//! 401 `invalid_api_key`, 429 `request_limit_exceeded` (Retry-After only
//! with `--retry-after`), 400 for bad parameters, 404 `not_found`, 500
//! `server_error` (fault mode). Bodies are gzipped on `Accept-Encoding:
//! gzip`. The controls under `/_simulator/` are listed in `control.rs`'s
//! documentation; the truth's fields in [`truth::OrderTruth`].

mod api;
mod catalog;
mod control;
mod faults;
mod fleet;
mod ratelimit;
mod report;
mod truth;
mod validations;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use serde_json::json;

use faults::Injector;
use fleet::World;
use ratelimit::{CERTCENTRAL_WINDOWS, ServerLimits};

pub use faults::Faults;
pub use fleet::Approval;
pub use ratelimit::{RateLimit, Window};
pub use report::COLUMNS as REPORT_COLUMNS;
pub use truth::RULES;

/// Command-line options of `certcentral-exporter simulate`.
#[derive(Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(long, default_value = "127.0.0.1:10057")]
    pub listen: SocketAddr,
    /// Number of orders in the simulated account's report.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Seed of the deterministic fleet generator (and of the fault mode).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accept only this key in X-DC-DEVKEY (default: any non-empty key).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Rate limit per key, REQUESTS/PERIOD windows (CertCentral's by default).
    #[arg(long = "rate-limit", default_value = "1000/3m,100/5s")]
    pub rate_limit: RateLimit,
    /// Send Retry-After (seconds) with 429 answers (CertCentral documents none).
    #[arg(long = "retry-after")]
    pub retry_after: Option<u64>,
    /// Fault mode, as JSON: {"error_rate":0.2,"rate_limit_burst":5,"slow_rate":0.1,
    /// "slow_ms":3000,"reset_rate":0.1,"truncate_report_rate":0.5,
    /// "garbage_report_rate":0.5,"bad_detail_rate":0.1,"endpoints":["report"],"seed":7}.
    #[arg(long, value_parser = Faults::parse)]
    pub faults: Option<Faults>,
    /// Build the fleet around this day (YYYY-MM-DD) instead of today (UTC).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// How the account approves orders placed through the API.
    #[arg(long, value_enum, default_value_t = Approval::OneStep)]
    pub approval: Approval,
}

/// Settings of one simulated CertCentral account.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Orders in the report (the subaccount listing adds a tenth).
    pub orders: usize,
    /// Seed of the fleet and of the fault mode.
    pub seed: u64,
    /// The only key accepted; any non-empty key when `None`.
    pub api_key: Option<String>,
    /// Rolling windows per key (CertCentral's: 1000/3m and 100/5s).
    pub rate_limit: Vec<Window>,
    /// Seconds of Retry-After sent with 429s; none by default.
    pub retry_after: Option<u64>,
    /// The fault mode at start.
    pub faults: Faults,
    /// The day the fleet is built around; today (UTC) when `None`.
    pub today: Option<NaiveDate>,
    /// How orders placed through the API are approved.
    pub approval: Approval,
}

/// The key is never printed, not even the simulator's.
fn redacted(key: &Option<String>) -> &'static str {
    if key.is_some() { "<redacted>" } else { "<any>" }
}

impl std::fmt::Debug for SimulateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateArgs")
            .field("listen", &self.listen)
            .field("orders", &self.orders)
            .field("seed", &self.seed)
            .field("api_key", &redacted(&self.api_key))
            .field("rate_limit", &self.rate_limit)
            .field("retry_after", &self.retry_after)
            .field("faults", &self.faults)
            .field("today", &self.today)
            .field("approval", &self.approval)
            .finish()
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("orders", &self.orders)
            .field("seed", &self.seed)
            .field("api_key", &redacted(&self.api_key))
            .field("rate_limit", &self.rate_limit)
            .field("retry_after", &self.retry_after)
            .field("faults", &self.faults)
            .field("today", &self.today)
            .field("approval", &self.approval)
            .finish()
    }
}

impl SimulatorConfig {
    /// A simulator of `orders` orders from `seed`, accepting any key, with
    /// CertCentral's rate limits and no faults.
    pub fn new(orders: usize, seed: u64) -> SimulatorConfig {
        SimulatorConfig {
            orders,
            seed,
            api_key: None,
            rate_limit: CERTCENTRAL_WINDOWS.to_vec(),
            retry_after: None,
            faults: Faults::default(),
            today: None,
            approval: Approval::OneStep,
        }
    }
}

impl From<&SimulateArgs> for SimulatorConfig {
    fn from(args: &SimulateArgs) -> Self {
        SimulatorConfig {
            orders: args.orders,
            seed: args.seed,
            api_key: args.api_key.clone(),
            rate_limit: args.rate_limit.0.clone(),
            retry_after: args.retry_after,
            faults: args.faults.clone().unwrap_or_default(),
            today: args.today,
            approval: args.approval,
        }
    }
}

/// Requests served, by endpoint and status; and the good answers of the
/// per-order endpoints by order, so that tests can tell whether an
/// exporter asked again for what it already had.
#[derive(Debug, Default)]
struct Stats {
    requests: BTreeMap<&'static str, BTreeMap<String, u64>>,
    answered: BTreeMap<&'static str, BTreeMap<u64, u64>>,
}

/// The simulator's state, shared by every request.
struct Shared {
    world: RwLock<World>,
    seed: u64,
    api_key: Option<String>,
    retry_after: Option<u64>,
    approval: Approval,
    limits: Mutex<ServerLimits>,
    injector: Mutex<Injector>,
    stats: Mutex<Stats>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn new(config: &SimulatorConfig) -> Shared {
        let today = config.today.unwrap_or_else(|| Utc::now().date_naive());
        Shared {
            world: RwLock::new(World::generate(config.orders, config.seed, today)),
            seed: config.seed,
            api_key: config.api_key.clone(),
            retry_after: config.retry_after,
            approval: config.approval,
            limits: Mutex::new(ServerLimits::new(config.rate_limit.clone())),
            injector: Mutex::new(Injector::new(config.faults.clone(), config.seed)),
            stats: Mutex::new(Stats::default()),
        }
    }

    /// The account, for reading (a poisoned lock still holds a whole
    /// world: every change is made on a copy of the order, then stored).
    fn world(&self) -> RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The account, for changing.
    fn world_mut(&self) -> RwLockWriteGuard<'_, World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Faults {
        lock(&self.injector).faults().clone()
    }

    fn set_faults(&self, faults: Faults) {
        lock(&self.injector).set(faults);
    }

    fn count(&self, endpoint: &'static str, code: impl Into<String>) {
        *lock(&self.stats)
            .requests
            .entry(endpoint)
            .or_default()
            .entry(code.into())
            .or_default() += 1;
    }

    /// Counts a good answer about one order.
    fn count_answer(&self, endpoint: &'static str, order_id: u64) {
        *lock(&self.stats)
            .answered
            .entry(endpoint)
            .or_default()
            .entry(order_id)
            .or_default() += 1;
    }

    fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    fn stats_json(&self) -> serde_json::Value {
        let stats = lock(&self.stats);
        let count = |code: Option<&str>| -> u64 {
            stats
                .requests
                .values()
                .flat_map(|by_code| by_code.iter())
                .filter(|(c, _)| code.is_none_or(|code| c.as_str() == code))
                .map(|(_, n)| n)
                .sum()
        };
        json!({
            "requests": stats.requests,
            "answered": stats.answered,
            "total": count(None),
            "rate_limited": count(Some("429")),
            "unauthorized": count(Some("401")),
            "faults_injected": lock(&self.injector).injected(),
        })
    }
}

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

/// The order a per-order path is about (`.../order/certificate/{id}...`).
fn order_of(path: &str) -> Option<u64> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "certificate")?;
    segments.next()?.parse().ok()
}

/// Every API request passes here: the key check, the rate limit, the fault
/// mode, gzip, and the stats, around the endpoint's own handler.
async fn gatekeeper(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let endpoint = endpoint_of(request.method(), request.uri().path());
    let order_id = order_of(request.uri().path());
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
        && matches!(endpoint, "order" | "reissue")
        && let Some(id) = order_id
    {
        shared.count_answer(endpoint, id);
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

/// The simulator's routes for `config`: the API under `/services/v2`, the
/// truth and controls under `/_simulator`. Builds the fleet at once (a
/// million orders take a second or so: call it off the async threads, as
/// [`run`] and [`spawn_local`] do).
pub fn router(config: &SimulatorConfig) -> Router {
    let shared = Arc::new(Shared::new(config));
    let api = Router::new()
        .route("/report/order", get(api::report_page))
        .route(
            "/order/certificate/{id}",
            get(api::order_info).post(api::create_order),
        )
        .route("/order/certificate/{id}/reissue", get(api::reissues))
        .route("/account/subaccount/order", get(api::subaccount_orders))
        .route("/domain", get(validations::api::domains))
        .route("/organization", get(validations::api::organizations))
        .route(
            "/account/subaccount/{id}/domain",
            get(validations::api::subaccount_domains),
        )
        .fallback(api::unknown_endpoint)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            gatekeeper,
        ));
    Router::new()
        .nest("/services/v2", api)
        .route("/_simulator/orders", get(control::orders))
        .route(
            "/_simulator/orders/{id}",
            get(control::order).delete(control::remove),
        )
        .route("/_simulator/orders/{id}/reissue", post(control::reissue))
        .route("/_simulator/orders/{id}/touch", post(control::touch))
        .route(
            "/_simulator/subaccount-orders",
            get(control::subaccount_orders),
        )
        .route(
            "/_simulator/stats",
            get(control::stats).delete(control::reset_stats),
        )
        .route(
            "/_simulator/faults",
            get(control::get_faults).put(control::put_faults),
        )
        .route("/_simulator/info", get(control::info))
        .route(
            "/_simulator/validations",
            get(validations::control::truth).put(validations::control::change),
        )
        .with_state(shared)
}

/// Builds the router on a blocking thread (generation is CPU work).
async fn build(config: SimulatorConfig) -> anyhow::Result<Router> {
    Ok(tokio::task::spawn_blocking(move || router(&config)).await?)
}

/// Runs `certcentral-exporter simulate` until `shutdown` resolves (the
/// exporter passes its SIGINT/SIGTERM handler).
pub async fn run(
    args: SimulateArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = SimulatorConfig::from(&args);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("--listen {}: {e}", args.listen))?;
    let address = listener.local_addr()?;
    let started = Instant::now();
    let app = build(config.clone()).await?;
    tracing::info!(
        %address,
        orders = config.orders,
        seed = config.seed,
        generated_in = ?started.elapsed(),
        "simulating CertCentral at http://{address}/services/v2 (truth at http://{address}/_simulator/orders)"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Starts a simulator inside this process on a private loopback port (for
/// `--demo` and tests); returns the address it listens on. The API base
/// URL is `http://ADDR/services/v2`.
pub async fn spawn_local(config: SimulatorConfig) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = build(config).await?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the embedded simulator stopped");
        }
    });
    Ok(addr)
}
