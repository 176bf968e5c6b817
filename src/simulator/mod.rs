//! A stand-in for the CertCentral Services API, so that the exporter runs,
//! demos and is tested without an API key or network access.
//!
//! It serves the four read endpoints and order creation at the same paths
//! as CertCentral (`/services/v2/...`), from one deterministic fleet, with
//! CertCentral's rate limits and an optional fault mode; `/_simulator/`
//! tells tests the truth and lets them change the account.

mod api;
mod control;
pub mod faults;
pub mod fleet;
mod ratelimit;
mod report;
pub mod truth;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde_json::json;

use crate::certcentral::ratelimit::{CERTCENTRAL_WINDOWS, Window};
use faults::Faults;
use fleet::World;
use ratelimit::ServerLimits;

/// Command-line options of `certcentral-exporter simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(long, default_value = "127.0.0.1:10057")]
    pub listen: SocketAddr,
    /// Number of orders in the simulated account.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Seed of the deterministic fleet generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accept only this key in X-DC-DEVKEY (default: any non-empty key).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Rate limit per key, REQUESTS/PERIOD windows (CertCentral's by default).
    #[arg(long = "rate-limit", default_value = "1000/3m,100/5s", value_parser = crate::config::parse_rate_limit_flag)]
    pub rate_limit: crate::config::RateLimit,
    /// Send Retry-After (seconds) with 429 answers (CertCentral documents none).
    #[arg(long = "retry-after")]
    pub retry_after: Option<u64>,
    /// Fault mode, as JSON: {"error_rate":0.2,"rate_limit_burst":5,"slow_rate":0.1,
    /// "slow_ms":3000,"reset_rate":0.1,"truncate_report_rate":0.5,
    /// "garbage_report_rate":0.5,"bad_detail_rate":0.1}.
    #[arg(long, value_parser = Faults::parse)]
    pub faults: Option<Faults>,
}

/// Settings of one simulated CertCentral account.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub orders: usize,
    pub seed: u64,
    pub api_key: Option<String>,
    pub rate_limit: Vec<Window>,
    pub retry_after: Option<u64>,
    pub faults: Faults,
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
        }
    }
}

/// The simulator's state, shared by every request.
pub struct Shared {
    world: Mutex<World>,
    api_key: Option<String>,
    retry_after: Option<u64>,
    limits: Mutex<ServerLimits>,
    faults: Mutex<(Faults, fastrand::Rng)>,
    stats: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Shared {
    fn new(config: &SimulatorConfig) -> Shared {
        let world = World::generate(config.orders, config.seed, Utc::now().date_naive());
        Shared {
            world: Mutex::new(world),
            api_key: config.api_key.clone(),
            retry_after: config.retry_after,
            limits: Mutex::new(ServerLimits::new(config.rate_limit.clone())),
            faults: Mutex::new((config.faults.clone(), fastrand::Rng::with_seed(config.seed))),
            stats: Mutex::new(BTreeMap::new()),
        }
    }

    /// The account, locked (a poisoned lock still holds a whole world).
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    fn set_faults(&self, faults: Faults) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).0 = faults;
    }

    fn count(&self, endpoint: &'static str, status: String) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.entry((endpoint, status)).or_default() += 1;
    }

    fn stats_json(&self) -> serde_json::Value {
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_endpoint: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
        for ((endpoint, status), count) in stats.iter() {
            by_endpoint
                .entry(endpoint)
                .or_default()
                .insert(status.clone(), *count);
        }
        let total: u64 = stats.values().sum();
        let rate_limited: u64 = stats
            .iter()
            .filter(|((_, s), _)| s == "429")
            .map(|(_, c)| c)
            .sum();
        json!({"requests": by_endpoint, "total": total, "rate_limited": rate_limited})
    }
}

/// Which endpoint a request is for, as the stats name it.
fn endpoint_of(request: &Request) -> &'static str {
    let path = request.uri().path();
    if path.ends_with("/report/order") {
        "report"
    } else if path.ends_with("/reissue") {
        "reissue"
    } else if path.ends_with("/account/subaccount/order") {
        "subaccount_orders"
    } else if request.method() == axum::http::Method::POST {
        "order_create"
    } else {
        "order"
    }
}

/// What the fault mode decided for one request.
#[derive(Default)]
struct Draw {
    error: bool,
    burst: bool,
    slow: Option<Duration>,
    reset: bool,
    truncate: bool,
    garbage: bool,
    bad_detail: bool,
}

impl Shared {
    fn draw(&self) -> Draw {
        let mut guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let (faults, rng) = &mut *guard;
        let mut hit = |rate: f64| rate > 0.0 && rng.f64() < rate;
        let burst = faults.rate_limit_burst > 0;
        let draw = Draw {
            error: hit(faults.error_rate),
            burst,
            slow: hit(faults.slow_rate).then(|| Duration::from_millis(faults.slow_ms)),
            reset: hit(faults.reset_rate),
            truncate: hit(faults.truncate_report_rate),
            garbage: hit(faults.garbage_report_rate),
            bad_detail: hit(faults.bad_detail_rate),
        };
        if burst {
            faults.rate_limit_burst -= 1;
        }
        draw
    }
}

/// Every API request: the key, the rate limit, the fault mode, gzip, and
/// the stats, around the endpoint's own handler.
async fn gatekeeper(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let endpoint = endpoint_of(&request);
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
        shared.count(endpoint, "401".into());
        return api::error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The API key is missing or not valid.",
        );
    }
    let draw = shared.draw();
    let admitted = shared
        .limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .admit(&key, Instant::now());
    if draw.burst || !admitted {
        shared.count(endpoint, "429".into());
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
        shared.count(endpoint, "500".into());
        return api::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An unexpected error occurred.",
        );
    }
    let gzip = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let response = next.run(request).await;
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let Ok(mut bytes) = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
    else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if status.is_success() {
        if endpoint == "report" && draw.garbage {
            bytes = b"<html><head><title>502 Bad Gateway</title></head><body>upstream \xff\x00 error</body></html>".to_vec();
        } else if endpoint == "report" && draw.truncate {
            // Cut inside a row, in a CSR: a complete answer, half a page.
            bytes.truncate(bytes.len() * 3 / 5);
        } else if endpoint == "order" && draw.bad_detail {
            bytes = br#"[{"unexpected": "shape"}, 42]"#.to_vec();
        }
    }
    if gzip && bytes.len() > 512 {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if encoder.write_all(&bytes).is_ok()
            && let Ok(compressed) = encoder.finish()
        {
            bytes = compressed;
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    if draw.reset {
        shared.count(endpoint, "reset".into());
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

/// The simulator's routes: the API under `/services/v2`, the controls
/// under `/_simulator`.
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
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            gatekeeper,
        ));
    Router::new()
        .nest("/services/v2", api)
        .route("/_simulator/orders", get(control::orders))
        .route(
            "/_simulator/orders/{id}",
            axum::routing::delete(control::remove),
        )
        .route(
            "/_simulator/orders/{id}/reissue",
            axum::routing::post(control::reissue),
        )
        .route(
            "/_simulator/orders/{id}/touch",
            axum::routing::post(control::touch),
        )
        .route(
            "/_simulator/subaccount-orders",
            get(control::subaccount_orders),
        )
        .route("/_simulator/stats", get(control::stats))
        .route(
            "/_simulator/faults",
            get(control::get_faults).put(control::put_faults),
        )
        .with_state(shared)
}

/// Runs `certcentral-exporter simulate` until SIGINT/SIGTERM.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = SimulatorConfig::from(&args);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("--listen {}: {e}", args.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        orders = config.orders,
        seed = config.seed,
        "simulating CertCentral at http://{}/services/v2",
        listener.local_addr()?
    );
    axum::serve(listener, router(&config))
        .with_graceful_shutdown(crate::shutdown::signal())
        .await?;
    Ok(())
}

/// Starts a simulator inside this process on a private loopback port, for
/// `--demo`; returns the address it listens on.
pub async fn spawn_local(config: SimulatorConfig) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(&config);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the demo simulator stopped");
        }
    });
    Ok(addr)
}
