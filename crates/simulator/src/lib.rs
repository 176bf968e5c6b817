//! A stand-in for the CertCentral Services API, so that the exporter runs,
//! demos and is tested without an API key or network access. It knows
//! nothing of the exporter: it is an independent oracle, built from the
//! API pages, with its own idea of what the exporter should report.
//!
//! It serves the four read endpoints, the validation lists and order
//! creation at CertCentral's paths (`/services/v2/...`), from one
//! deterministic account, with CertCentral's key check and rate limits and
//! an optional fault mode ([`Faults`]); `/_simulator/` tells tests the
//! truth and lets them change the account.
//!
//! Run alone with `certcentral-exporter simulate` ([`run`], from
//! [`SimulateArgs`]), or in-process on a loopback port with
//! [`spawn_local`] (from a [`SimulatorConfig`]).
//!
//! # Layout
//!
//! In the order a request meets them:
//! - `settings`: the `simulate` flags and [`SimulatorConfig`];
//! - `state`: what every request shares (the account, the limits, the
//!   fault mode, the request counts);
//! - `gatekeeper`: in front of every API endpoint: the key check,
//!   `ratelimit`'s rolling windows, `faults`, gzip, the counts;
//! - `api`: the order endpoints; `report`: the CSV report;
//!   `validations`: the domain and organization validations (their
//!   records, endpoints and truth);
//! - `fleet`: the account itself: its data model, generator, fixed
//!   scenarios and the changes made to it; `catalog`: the fixed vocabulary
//!   orders are built from;
//! - `truth`: what the exporter should report about each order (the
//!   findings named as in [`RULES`]);
//! - `control`: the `/_simulator/` truth and controls.
//!
//! # The API
//!
//! `X-DC-DEVKEY` required, any non-empty key unless `--api-key`:
//! - `GET /services/v2/report/order?limit=&offset=`: the CSV report,
//!   newest orders first (columns: [`REPORT_COLUMNS`]);
//! - `GET /services/v2/order/certificate/{id}` (id, thumbprint or serial);
//! - `GET /services/v2/order/certificate/{id}/reissue[?show_archived=true]`;
//! - `GET /services/v2/account/subaccount/order?limit=&offset=`;
//! - `GET /services/v2/domain`, `GET /services/v2/organization` and
//!   `GET /services/v2/account/subaccount/{id}/domain`: the validations
//!   (403 `access_denied|missing_permission` in the mode where the key
//!   lacks permission);
//! - `POST /services/v2/order/certificate/{product}`.
//!
//! Errors have the documented shape `{"errors":[{"code","message"}]}`:
//! 401 `invalid_api_key`, 429 `request_limit_exceeded` (Retry-After only
//! with `--retry-after`), 400 for bad parameters, 404 `not_found`, 500
//! `server_error` (fault mode). Bodies are gzipped on `Accept-Encoding:
//! gzip`. The controls under `/_simulator/` are listed in `control.rs`'s
//! documentation, the truth's fields in `truth.rs`'s.

#![warn(missing_docs)]

mod api;
mod catalog;
mod control;
mod endpoints;
mod faults;
mod fleet;
mod gatekeeper;
mod mint;
mod ratelimit;
mod report;
mod settings;
mod state;
mod truth;
mod validations;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::{get, post};

use state::Shared;

pub use faults::Faults;
pub use fleet::Approval;
pub use ratelimit::{RateLimit, Window};
pub use report::COLUMNS as REPORT_COLUMNS;
pub use settings::{SimulateArgs, SimulatorConfig};
pub use truth::RULES;

/// The simulator's routes for `config`: the API under `/services/v2`, the
/// truth and controls under `/_simulator`. Builds the fleet at once (a
/// million orders take a second or so: call it off the async threads, as
/// [`build`] does).
fn router(config: &SimulatorConfig) -> (Router, Arc<Shared>) {
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
            gatekeeper::gatekeeper,
        ));
    let router = Router::new()
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
        .route("/_simulator/endpoints", get(control::endpoints))
        .route(
            "/_simulator/validations",
            get(validations::control::truth).put(validations::control::change),
        )
        .with_state(shared.clone());
    (router, shared)
}

/// Builds the router on a blocking thread (generation is CPU work), and
/// starts the TLS scenario endpoints if the configuration asks.
async fn build(config: SimulatorConfig) -> anyhow::Result<(Router, Arc<Shared>)> {
    let endpoints = config.tls_endpoints;
    let (router, shared) = tokio::task::spawn_blocking(move || router(&config)).await?;
    if endpoints {
        endpoints::start(&shared).await?;
    }
    Ok((router, shared))
}

/// A TLS scenario endpoint (`SimulatorConfig::tls_endpoints`): where it
/// listens, and the server name to ask it for.
#[derive(Debug, Clone)]
pub struct ScenarioEndpoint {
    /// `active`, `superseded-by-reissue`, ... (see `/_simulator/endpoints`).
    pub scenario: &'static str,
    /// Its loopback address and port.
    pub address: SocketAddr,
    /// The name to ask for (SNI).
    pub server_name: String,
}

/// An embedded simulator ([`spawn_local`]).
#[derive(Debug, Clone)]
pub struct Local {
    /// Where its API listens: the base URL is `http://ADDR/services/v2`.
    pub address: SocketAddr,
    /// Its TLS scenario endpoints, if it serves them.
    pub endpoints: Vec<ScenarioEndpoint>,
}

/// The PEM of the CA that signs every certificate of the simulated
/// account (for a client of its endpoints to trust).
pub fn ca_pem() -> String {
    mint::ca_pem(mint::Authority::Account).unwrap_or_default()
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
    let (app, shared) = build(config.clone()).await?;
    for endpoint in shared.endpoint_addresses() {
        tracing::info!(scenario = endpoint.scenario, address = %endpoint.address, server_name = %endpoint.server_name, "TLS scenario endpoint");
    }
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
/// `--demo` and tests).
pub async fn spawn_local(config: SimulatorConfig) -> anyhow::Result<Local> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (app, shared) = build(config).await?;
    let local = Local {
        address,
        endpoints: shared.endpoint_addresses(),
    };
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the embedded simulator stopped");
        }
    });
    Ok(local)
}
