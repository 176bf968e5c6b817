//! The HTTP side of the CertCentral API: base URL, key header, timeouts,
//! size limits, error answers and request accounting.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use url::Url;

use super::error::ApiError;

/// The CertCentral API key. It exists as its own type so that it cannot be
/// printed by accident: `Debug` and `Display` show a placeholder, and the
/// only way to the bytes is the request header, marked sensitive.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key read from a file or the environment (surrounding white
    /// space is not part of the key).
    pub fn new(key: &str) -> Option<ApiKey> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.to_owned()))
    }

    /// Removes every occurrence of the key from text that came from outside
    /// (an error body may echo the request), so it can be logged.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "[REDACTED]")
    }

    fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// The read endpoints the exporter uses, as they appear in the `endpoint`
/// label of `certcentral_api_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Report,
    Order,
    Reissue,
    SubaccountOrders,
}

impl Endpoint {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Report => "report",
            Endpoint::Order => "order",
            Endpoint::Reissue => "reissue",
            Endpoint::SubaccountOrders => "subaccount_orders",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach one CertCentral account.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// API base, up to and including `/services/v2`.
    pub base_url: Url,
    pub api_key: ApiKey,
    /// Time allowed for one whole request, body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest answer accepted; a bigger one is an error, not an allocation.
    pub max_body_bytes: usize,
}

/// Request counters shared by the clients of every account.
#[derive(Clone)]
pub struct ApiTelemetry {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl ApiTelemetry {
    /// Registers the request metrics once per process.
    pub fn register(registry: &Registry) -> prometheus::Result<ApiTelemetry> {
        let requests = IntCounterVec::new(
            Opts::new(
                "certcentral_api_requests_total",
                "Requests to the CertCentral API, by endpoint and HTTP status (`error` for transport failures).",
            ),
            &["account", "endpoint", "code"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "certcentral_api_request_duration_seconds",
                "Time taken by CertCentral API requests, body included.",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["account", "endpoint"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(ApiTelemetry { requests, duration })
    }
}

/// A client for one CertCentral account.
pub struct Client {
    http: reqwest::Client,
    settings: ClientSettings,
    account: String,
    telemetry: ApiTelemetry,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

impl Client {
    /// Builds the client (TLS with rustls, gzip accepted).
    pub fn new(
        account: &str,
        settings: ClientSettings,
        telemetry: ApiTelemetry,
    ) -> Result<Client, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("certcentral-exporter/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .gzip(true)
            .build()?;
        Ok(Client {
            http,
            settings,
            account: account.to_owned(),
            telemetry,
        })
    }

    /// One page of the order report (CSV), raw bytes.
    pub async fn report_page(&self, limit: usize, offset: usize) -> Result<Bytes, ApiError> {
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        self.get(Endpoint::Report, &["report", "order"], &query)
            .await
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.settings.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One GET, counted by endpoint and status; a non-2xx answer becomes a
    /// typed error carrying CertCentral's own message.
    async fn get(
        &self,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Bytes, ApiError> {
        let url = self.url(segments, query);
        let Some(key) = self.settings.api_key.header_value() else {
            return Err(ApiError::KeyRejected {
                endpoint,
                status: 0,
                message: "the API key contains characters that cannot be sent in a header".into(),
            });
        };
        let started = Instant::now();
        let result = self.fetch(endpoint, url, key).await;
        self.telemetry
            .duration
            .with_label_values(&[&self.account, endpoint.as_str()])
            .observe(started.elapsed().as_secs_f64());
        let code = match &result {
            Ok(_) => "200".to_owned(),
            Err(err) => err
                .status()
                .map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        self.telemetry
            .requests
            .with_label_values(&[&self.account, endpoint.as_str(), &code])
            .inc();
        result
    }

    async fn fetch(
        &self,
        endpoint: Endpoint,
        url: Url,
        key: HeaderValue,
    ) -> Result<Bytes, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("X-DC-DEVKEY", key);
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        let mut response = self
            .http
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.transport_error(endpoint, &e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let limit = self.settings.max_body_bytes;
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(endpoint, &e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(ApiError::BodyTooLarge { endpoint, limit });
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        if status.is_success() {
            return Ok(body);
        }
        let (code, message) = self.error_message(&body);
        let status = status.as_u16();
        Err(match status {
            401 | 403 => ApiError::KeyRejected {
                endpoint,
                status,
                message,
            },
            429 => ApiError::RateLimited {
                endpoint,
                message,
                retry_after,
            },
            _ => ApiError::Status {
                endpoint,
                status,
                code,
                message,
            },
        })
    }

    /// CertCentral's `{"errors":[{"code","message"}]}`, or the start of
    /// whatever else came back; redacted either way.
    fn error_message(&self, body: &[u8]) -> (Option<String>, String) {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) if !parsed.errors.is_empty() => {
                let code = parsed.errors.iter().find_map(|e| e.code.clone());
                let message = parsed
                    .errors
                    .iter()
                    .map(|e| match (&e.code, &e.message) {
                        (Some(c), Some(m)) => format!("{c}: {m}"),
                        (Some(c), None) => c.clone(),
                        (None, Some(m)) => m.clone(),
                        (None, None) => "(empty error)".to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                (code, message)
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let snippet: String = text.chars().take(200).collect();
                let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
                (
                    None,
                    if snippet.is_empty() {
                        "(no body)".to_owned()
                    } else {
                        snippet
                    },
                )
            }
        };
        let redact = |s: String| self.settings.api_key.redact(&s);
        (code.map(redact), redact(message))
    }

    fn transport_error(&self, endpoint: Endpoint, err: &reqwest::Error) -> ApiError {
        if err.is_timeout() {
            return ApiError::Timeout {
                endpoint,
                timeout: self.settings.request_timeout,
            };
        }
        // reqwest's message names the URL, which never holds the key; the
        // source chain says what went wrong (refused, reset, TLS, ...).
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        ApiError::Transport {
            endpoint,
            detail: self.settings.api_key.redact(&detail),
        }
    }
}

/// `Retry-After` in seconds (CertCentral does not document one, but a proxy
/// in front of it may send it).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
