//! The HTTP side: `/metrics`, health and readiness for orchestrators, and a
//! landing page that says how the last polls went; over TLS and behind
//! basic auth when `--web.config.file` asks for it.

pub mod auth;
pub mod listen;
pub mod live;
pub mod web_config;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::sync::{Semaphore, watch};

use crate::board::Board;
use crate::metrics::Exposition;
use crate::probe::{Prober, Refused};
use auth::{CheckPool, Verdict};
use listen::{Limits, Peer};
use live::LiveWeb;

/// What the handlers read: the latest rendered fleet metrics, the live
/// counters, and the board for readiness and the landing page.
pub struct ServerState {
    pub exposition: watch::Receiver<Arc<Exposition>>,
    pub registry: Registry,
    pub board: Arc<Board>,
    pub telemetry_path: String,
    pub landing: Landing,
    /// `/probe`.
    pub prober: Arc<Prober>,
}

/// What the landing page says about where the data comes from, so that a
/// person opening `/` sees at once whether it is the demo and which
/// CertCentral each account polls.
pub struct Landing {
    /// Whether the exporter polls its embedded demo simulator.
    pub demo: bool,
    /// Each account's name and the CertCentral API URL it polls.
    pub sources: Vec<(String, url::Url)>,
}

/// The project's documentation, linked from the landing page.
const README_URL: &str = "https://github.com/certcentral-exporter/certcentral-exporter#readme";
/// The runbooks of the alerts (the mixin's default runbookBaseURL).
const RUNBOOKS_URL: &str =
    "https://github.com/certcentral-exporter/certcentral-exporter/blob/main/docs/runbooks.md";

/// `url` as the landing page shows it: scheme, host, port and path only,
/// so that credentials or tokens someone put in the URL are never shown.
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    // Neither fails for an http(s) URL, the only kind accepted.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Basic auth as the web config has it now, checked on `pool`.
pub struct Guard {
    pub web: Arc<LiveWeb>,
    pub pool: CheckPool,
}

/// The exporter's routes: behind basic auth when `guard` is given (a web
/// config file, whose users may change while running), and with at most
/// `max_requests` scrapes in flight (0: no limit), as node_exporter's
/// `--web.max-requests`.
pub fn router(state: Arc<ServerState>, guard: Option<Arc<Guard>>, max_requests: usize) -> Router {
    let mut metrics_route = get(metrics);
    if max_requests > 0 {
        let limit = Arc::new(Semaphore::new(max_requests));
        metrics_route =
            metrics_route.layer(axum::middleware::from_fn_with_state(limit, limit_in_flight));
    }
    let router = Router::new()
        .route(&state.telemetry_path, metrics_route)
        .route("/probe", get(probe))
        .route("/probe/targets", get(probe_targets))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/", get(landing))
        .with_state(state);
    match guard {
        Some(guard) => router.layer(axum::middleware::from_fn_with_state(guard, require_auth)),
        None => router,
    }
}

/// Serves `router` on `listener` (with TLS when the web config has it)
/// until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    web: Arc<LiveWeb>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match web.current().tls.clone() {
        None => {
            let plain: Option<fn() -> Arc<rustls::ServerConfig>> = None;
            listen::serve(listener, router, plain, limits, shutdown).await
        }
        Some(initial) => {
            // Each new connection takes the TLS settings in force then.
            let tls = move || web.current().tls.clone().unwrap_or_else(|| initial.clone());
            listen::serve(listener, router, Some(tls), limits, shutdown).await
        }
    }
}

/// Answers 503 past the limit of scrapes in flight, as node_exporter does.
async fn limit_in_flight(
    State(limit): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match limit.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many scrapes in flight (--web.max-requests); try again later.\n",
        )
            .into_response(),
    }
}

/// Lets a request through with valid credentials (or on an excluded
/// path, or when the web config has no users); otherwise a 401 that asks
/// for them, or a 503 when too many checks are already waiting.
async fn require_auth(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let config = guard.web.current();
    let Some(auth) = &config.auth else {
        return next.run(request).await;
    };
    if auth.is_excluded(request.uri().path()) {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client = request.extensions().get::<Peer>().map(|peer| peer.0);
    match guard
        .pool
        .check(auth, authorization.as_deref(), client)
        .await
    {
        Verdict::Allowed => next.run(request).await,
        Verdict::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many credential checks at once; try again later.\n",
        )
            .into_response(),
        Verdict::Denied => {
            let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"certcentral-exporter\""),
            );
            response
        }
    }
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let exposition = state.exposition.borrow().clone();
    let mut live = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&state.registry.gather(), &mut live) {
        tracing::error!(error = %err, "cannot encode the process metrics");
    }
    let gzip = accepts_gzip(&headers);
    // The rendered part is shared, never copied: gzip clients get it as it
    // is kept (only the few live lines are deflated here); other clients
    // get it inflated a chunk at a time as the connection takes it.
    let chunks: Box<dyn Iterator<Item = Bytes> + Send> = if gzip {
        Box::new(exposition.body.with_tail(&live).into_iter())
    } else {
        Box::new(exposition.body.text_chunks().chain([Bytes::from(live)]))
    };
    let body = Body::from_stream(futures_util::stream::iter(chunks.map(Ok::<_, Infallible>)));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// True when the client lists gzip in Accept-Encoding with a non-zero q.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Time kept back from Prometheus' scrape timeout for the answer to reach
/// it.
const PROBE_MARGIN: Duration = Duration::from_millis(500);
/// The probe timeout without Prometheus' header, and the most it may be.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// `GET /probe?target=HOST:PORT&server_name=NAME`, within the scrape
/// timeout Prometheus sends (`X-Prometheus-Scrape-Timeout-Seconds`).
async fn probe(
    State(state): State<Arc<ServerState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let Some(target) = params.get("target") else {
        return (StatusCode::BAD_REQUEST, "target parameter is missing\n").into_response();
    };
    let timeout = headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(PROBE_TIMEOUT, |s| {
            Duration::from_secs_f64(s.min(MAX_PROBE_TIMEOUT.as_secs_f64()))
                .saturating_sub(PROBE_MARGIN)
        })
        .max(Duration::from_millis(100));
    match state
        .prober
        .probe(
            target,
            params.get("server_name").map(String::as_str),
            timeout,
        )
        .await
    {
        Ok(answer) => {
            let mut response = Response::new(Body::from((*answer).clone()));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
            response
        }
        Err(refused @ Refused::NotAllowed(_)) => {
            (StatusCode::FORBIDDEN, format!("{refused}\n")).into_response()
        }
        Err(refused @ Refused::BadTarget(_)) => {
            (StatusCode::BAD_REQUEST, format!("{refused}\n")).into_response()
        }
    }
}

/// `GET /probe/targets`: Prometheus HTTP service discovery of the names to
/// probe.
async fn probe_targets(State(state): State<Arc<ServerState>>) -> Response {
    axum::Json(state.prober.discovery()).into_response()
}

async fn healthy() -> &'static str {
    "OK\n"
}

async fn ready(State(state): State<Arc<ServerState>>) -> Response {
    if state.exposition.borrow().all_polled {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first poll\n",
        )
            .into_response()
    }
}

async fn landing(State(state): State<Arc<ServerState>>) -> Html<String> {
    let path = escape_html(&state.telemetry_path);
    let mut rows = String::new();
    for account in state.board.states() {
        let (outcome, when) = match &account.last_poll {
            None => ("not polled yet".to_owned(), String::new()),
            Some(poll) => {
                let outcome = match &poll.failure {
                    None if poll.incomplete.is_empty() => "success".to_owned(),
                    None => poll.incomplete.iter().fold(
                        "success (the report was read)".to_owned(),
                        |text, (step, f)| {
                            format!("{text}; {step} ended early ({}): {}", f.kind, f.message)
                        },
                    ),
                    Some(f) => format!("failed ({}): {}", f.kind, f.message),
                };
                (
                    outcome,
                    poll.ended_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                )
            }
        };
        let orders = account.fleet.as_ref().map_or(0, |f| f.orders.len());
        let backlog = account.details.backlog();
        let last_success = account.last_success.map_or_else(
            || "never".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        );
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape_html(&account.account),
            escape_html(&outcome),
            escape_html(&when),
            escape_html(&last_success),
            orders,
            backlog
        ));
    }
    let landing = &state.landing;
    let source = if landing.demo {
        "<p><strong>Demo:</strong> polling the embedded CertCentral simulator (<code>--demo</code>), \
         not CertCentral. Its orders are made up.</p>\n"
            .to_owned()
    } else {
        let mut list = String::from("<p>Polling CertCentral:</p>\n<ul>\n");
        for (account, url) in &landing.sources {
            list.push_str(&format!(
                "<li>account {}: <code>{}</code></li>\n",
                escape_html(account),
                escape_html(&shown_url(url))
            ));
        }
        list.push_str("</ul>\n");
        list
    };
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>CertCentral Exporter</title></head>\n\
         <body><h1>CertCentral Exporter</h1>\n<p>Version {version}. <a href=\"{path}\">Metrics</a> · \
         <a href=\"/-/healthy\">Health</a> · <a href=\"/-/ready\">Readiness</a> · \
         <a href=\"{RUNBOOKS_URL}\">Alert runbooks</a> · <a href=\"{README_URL}\">README</a></p>\n\
         {source}<h2>Last poll</h2>\n<table border=\"1\" cellpadding=\"4\">\n\
         <tr><th>account</th><th>outcome</th><th>ended</th><th>last success</th><th>orders</th><th>details due</th></tr>\n\
         {rows}</table></body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
    ))
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&with_accept("gzip")));
        assert!(accepts_gzip(&with_accept("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(&with_accept("*")));
        assert!(!accepts_gzip(&with_accept("gzip;q=0")));
        assert!(!accepts_gzip(&with_accept("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn shown_urls_have_no_credentials_or_query() {
        let url =
            url::Url::parse("https://user:secret@cc.example:8443/services/v2?key=abc#x").unwrap();
        assert_eq!(shown_url(&url), "https://cc.example:8443/services/v2");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
