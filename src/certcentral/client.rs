//! The HTTP side of the CertCentral API: base URL, key header, timeouts,
//! size limits, error answers and request accounting.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use bytes::{Bytes, BytesMut};
use prometheus::{CounterVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use super::error::{ApiError, ErrorKind};
use super::ratelimit::RateLimiter;
use super::wire::{OrderInfo, ReissueList};

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
    /// (an error body may echo the request), so it can be logged: as sent,
    /// in any letter case, percent-encoded (any byte as `%hh`, upper or
    /// lower hex; a space as `+`), with white space (or a `\n`, `\r`, `\t`
    /// escape) between its characters, and base64-encoded (standard and
    /// URL-safe, padded or not, alone or inside a longer base64 text such
    /// as `user:key`, at any byte alignment). A key of
    /// [`MIN_FRAGMENT`] × 2 characters or more also loses every run of
    /// [`MIN_FRAGMENT`] of its characters, so that a key split across two
    /// fields of an answer leaves neither half.
    pub fn redact(&self, text: &str) -> String {
        let key = self.0.as_bytes();
        let mut text = redact_spelled(key, text);
        for form in self.base64_forms() {
            text = text.replace(&form, REDACTED);
        }
        if key.len() >= 2 * MIN_FRAGMENT {
            for fragment in key.windows(MIN_FRAGMENT) {
                text = redact_spelled(fragment, &text);
            }
        }
        text
    }

    /// How many bytes of a text to redact so that its first `chars`
    /// characters, once redacted, hold no part of the key: the text is cut
    /// after redaction, never before (a cut through the key would leave
    /// its start).
    pub fn redaction_window(&self, chars: usize) -> usize {
        // UTF-8 characters are 4 bytes at most; a spelled key is at most 3
        // bytes a character, plus the white space tolerated in between.
        4 * chars + 8 * self.0.len() + 1024
    }

    /// The key's base64 forms, the longest first: the whole key's, padded
    /// and not, then for each of the three byte alignments the characters
    /// that depend on the key's bytes alone (what any base64 text holding
    /// the key contains, whatever comes before or after it). A core too
    /// short to tell the key from chance is left out.
    fn base64_forms(&self) -> Vec<String> {
        use base64::Engine;
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let key = self.0.as_bytes();
        let mut forms = vec![STANDARD.encode(key), URL_SAFE.encode(key)];
        for shift in 0..3 {
            let mut bytes = vec![0; shift];
            bytes.extend_from_slice(key);
            let first = (8 * shift).div_ceil(6);
            let last = 8 * bytes.len() / 6;
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let encoded = engine.encode(&bytes);
                if let Some(core) = encoded.get(first..last)
                    && core.len() >= MIN_BASE64_CORE
                {
                    forms.push(core.to_owned());
                }
            }
        }
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        forms.dedup();
        forms
    }

    /// A digest that tells keys apart without holding them (to share one
    /// rate limiter between accounts that use the same key).
    pub fn fingerprint(&self) -> String {
        format!(
            "{:08x}-{}",
            crc32fast::hash(self.0.as_bytes()),
            self.0.len()
        )
    }

    fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// What stands for the key in redacted text.
const REDACTED: &str = "[REDACTED]";

/// Shortest base64 run taken for the key: shorter ones could be chance.
const MIN_BASE64_CORE: usize = 8;

/// The shortest run of the key's characters redacted on its own.
pub const MIN_FRAGMENT: usize = 8;

/// `text` with every spelling of `key` replaced: each of its bytes as is
/// in any ASCII case, or percent-encoded, or (a space) as `+`, with white
/// space between them.
fn redact_spelled(key: &[u8], text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match spelled_at(key, &bytes[at..]) {
            Some(len) => {
                out.extend_from_slice(REDACTED.as_bytes());
                at += len;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    // Only whole ASCII runs were replaced, so the rest is the text's UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The length of the spelling of `key` that `text` starts with, if any.
fn spelled_at(key: &[u8], text: &[u8]) -> Option<usize> {
    let mut at = 0;
    for (i, &wanted) in key.iter().enumerate() {
        if i > 0 && !wanted.is_ascii_whitespace() {
            at += separator_len(&text[at..]);
        }
        let next = *text.get(at)?;
        if next.eq_ignore_ascii_case(&wanted) || (wanted == b' ' && next == b'+') {
            at += 1;
        } else if next == b'%'
            && let Some(hex) = text.get(at + 1..at + 3)
            && std::str::from_utf8(hex)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .is_some_and(|byte| byte.eq_ignore_ascii_case(&wanted))
        {
            at += 3;
        } else {
            return None;
        }
    }
    Some(at)
}

/// The white space (and `\n`, `\r`, `\t` escapes) `text` starts with.
fn separator_len(text: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match text.get(at..) {
            Some([c, ..]) if c.is_ascii_whitespace() => at += 1,
            Some([b'\\', b'n' | b'r' | b't', ..]) => at += 2,
            _ => return at,
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// The start of `text`, at most `bytes` long, cut at a character boundary.
fn head_of(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The failures a request is retried after with an exponential back-off
/// (a 429 is retried too, after the rate limiter's back-off, within a bound
/// of its own).
const BACKED_OFF_KINDS: [ErrorKind; 3] =
    [ErrorKind::Server, ErrorKind::Timeout, ErrorKind::Transport];

/// The most characters of an upstream error message that are logged and
/// shown (an answer of hundreds of kilobytes must not become a log line or
/// a landing page that size).
const ERROR_MESSAGE_CHARS: usize = 300;

/// The read endpoints the exporter uses, as they appear in the `endpoint`
/// label of `certcentral_api_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Report,
    Order,
    Reissue,
    SubaccountOrders,
    Domains,
    Organizations,
    SubaccountDomains,
}

impl Endpoint {
    /// Every endpoint, in label order.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Report,
        Endpoint::Order,
        Endpoint::Reissue,
        Endpoint::SubaccountOrders,
        Endpoint::Domains,
        Endpoint::Organizations,
        Endpoint::SubaccountDomains,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Report => "report",
            Endpoint::Order => "order",
            Endpoint::Reissue => "reissue",
            Endpoint::SubaccountOrders => "subaccount_orders",
            Endpoint::Domains => "domains",
            Endpoint::Organizations => "organizations",
            Endpoint::SubaccountDomains => "subaccount_domains",
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
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Retries of a 5xx, timeout or transport failure (exponential backoff
    /// with jitter); 429s have their own bound.
    pub max_retries: usize,
    /// First retry delay; each further one doubles, up to 30 s.
    pub retry_base_delay: Duration,
}

/// Request counters shared by the clients of every account.
#[derive(Clone)]
pub struct ApiTelemetry {
    requests: IntCounterVec,
    duration: HistogramVec,
    limiter_wait: CounterVec,
    retries: IntCounterVec,
    redirects_refused: IntCounterVec,
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
        let limiter_wait = CounterVec::new(
            Opts::new(
                "certcentral_api_rate_limit_wait_seconds_total",
                "Time requests spent waiting on the client-side rate limiter (or on a 429's back-off).",
            ),
            &["account"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "certcentral_api_retries_total",
                "Requests retried, by endpoint and the kind of failure that caused it.",
            ),
            &["account", "endpoint", "kind"],
        )?;
        let redirects_refused = IntCounterVec::new(
            Opts::new(
                "certcentral_api_redirects_refused_total",
                "Redirects to another origin not followed (the API key is sent to the configured origin only).",
            ),
            &["account"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(limiter_wait.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(redirects_refused.clone()))?;
        Ok(ApiTelemetry {
            requests,
            duration,
            limiter_wait,
            retries,
            redirects_refused,
        })
    }
}

/// A client for one CertCentral account: every request passes the key's
/// rate limiter, a bounded number at a time, and is retried when a retry
/// can help.
pub struct Client {
    http: reqwest::Client,
    settings: ClientSettings,
    account: String,
    telemetry: ApiTelemetry,
    limiter: Arc<RateLimiter>,
    in_flight: Semaphore,
    /// The size of each endpoint's latest answer, so that the next one's
    /// buffer starts about that big instead of doubling its way up (a
    /// report page is about 1.7 MB, 170 KB gzipped).
    body_sizes: [AtomicUsize; Endpoint::ALL.len()],
    /// A redirect to another origin was refused and logged: later ones are
    /// counted, and fail their poll, without another warning.
    redirect_logged: AtomicBool,
}

/// An answer as it came over the wire, gzipped if the server chose to.
///
/// It is kept as sent until its text is needed: a report page whose bytes
/// are the ones of the previous poll is known by their digest, without
/// being inflated (inflating was a third of a later poll's CPU).
pub struct Answer {
    endpoint: Endpoint,
    bytes: Bytes,
    gzipped: bool,
    /// Largest text accepted once inflated.
    limit: usize,
}

impl Answer {
    /// An answer as a server would have sent it (for tests of what reads
    /// answers).
    #[cfg(test)]
    pub fn sent(endpoint: Endpoint, bytes: &[u8], gzipped: bool) -> Answer {
        Answer {
            endpoint,
            bytes: Bytes::copy_from_slice(bytes),
            gzipped,
            limit: 1024 * 1024,
        }
    }

    /// The endpoint that sent it.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// xxh3-128 of the bytes as sent.
    pub fn wire_digest(&self) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&self.bytes)
    }

    /// The answer's text, inflated if it was sent gzipped.
    pub fn text(&self) -> Result<Bytes, ApiError> {
        if !self.gzipped {
            return Ok(self.bytes.clone());
        }
        inflate(&self.bytes, self.limit).map_err(|failure| match failure {
            InflateFailure::TooLarge => ApiError::BodyTooLarge {
                endpoint: self.endpoint,
                limit: self.limit,
            },
            // Most likely damaged on the way: worth a retry, like a cut
            // connection.
            InflateFailure::Damaged(err) => ApiError::Transport {
                endpoint: self.endpoint,
                detail: format!("the gzipped answer is damaged: {err}"),
            },
        })
    }
}

enum InflateFailure {
    TooLarge,
    Damaged(std::io::Error),
}

/// Inflates a gzip body (every member of it) into at most `limit` bytes.
fn inflate(gzipped: &[u8], limit: usize) -> Result<Bytes, InflateFailure> {
    use std::io::Read;
    // The gzip trailer ends with the text's length (mod 2^32): the buffer
    // is the right size from the start, yet never beyond the limit.
    let stated = gzipped
        .last_chunk::<4>()
        .map_or(0, |len| u32::from_le_bytes(*len) as usize);
    let mut text = Vec::with_capacity(stated.min(limit).saturating_add(1));
    let read = flate2::read::MultiGzDecoder::new(gzipped)
        .take(limit as u64 + 1)
        .read_to_end(&mut text)
        .map_err(InflateFailure::Damaged)?;
    if read > limit {
        return Err(InflateFailure::TooLarge);
    }
    Ok(Bytes::from(text))
}

/// 429s ridden out for one request before it fails.
const MAX_RATE_LIMITED_RETRIES: usize = 10;

/// Redirects followed for one request, all within the configured origin.
const MAX_REDIRECTS: usize = 3;

/// Follows a redirect only within `base`'s origin (scheme, host and port),
/// and at most [`MAX_REDIRECTS`] of them: the key header goes wherever a
/// redirect is followed, so one to another origin (a misconfigured proxy,
/// a hostile network, https to http) is not. A redirect not followed comes
/// back as the 3xx answer itself, which [`Client::fetch`] turns into an
/// error.
fn redirect_policy(base: &Url) -> reqwest::redirect::Policy {
    let origin = base.origin();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.url().origin() == origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
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
    /// Builds the client (TLS with rustls). Gzip is asked for and inflated
    /// here, not by reqwest, so that an answer can be known by its bytes
    /// as sent. Redirects stay within the configured origin, and no
    /// `Referer` is sent.
    pub fn new(
        account: &str,
        settings: ClientSettings,
        telemetry: ApiTelemetry,
        limiter: Arc<RateLimiter>,
    ) -> Result<Client, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("certcentral-exporter/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .no_gzip()
            .redirect(redirect_policy(&settings.base_url))
            .referer(false)
            .build()?;
        // The series alerts and dashboards watch exist from the start at 0
        // (the HTTP statuses beyond these are not known in advance).
        for endpoint in Endpoint::ALL {
            for code in ["200", "429"] {
                telemetry
                    .requests
                    .with_label_values(&[account, endpoint.as_str(), code]);
            }
            for kind in std::iter::once(ErrorKind::RateLimited).chain(BACKED_OFF_KINDS) {
                telemetry
                    .retries
                    .with_label_values(&[account, endpoint.as_str(), kind.as_str()]);
            }
        }
        telemetry.limiter_wait.with_label_values(&[account]);
        telemetry.redirects_refused.with_label_values(&[account]);
        Ok(Client {
            in_flight: Semaphore::new(settings.max_concurrency.max(1)),
            http,
            settings,
            account: account.to_owned(),
            telemetry,
            limiter,
            body_sizes: Default::default(),
            redirect_logged: AtomicBool::new(false),
        })
    }

    /// One page of the order report (CSV), as sent.
    pub async fn report_page(&self, limit: usize, offset: usize) -> Result<Answer, ApiError> {
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        self.get(Endpoint::Report, &["report", "order"], &query)
            .await
    }

    /// The details of one order.
    pub async fn order_info(&self, order_id: u64) -> Result<OrderInfo, ApiError> {
        let id = order_id.to_string();
        let answer = self
            .get(Endpoint::Order, &["order", "certificate", &id], &[])
            .await?;
        self.decode(answer.endpoint, &answer.text()?)
    }

    /// Every certificate (re)issued on an order, archived ones included.
    pub async fn reissues(&self, order_id: u64) -> Result<ReissueList, ApiError> {
        let id = order_id.to_string();
        let query = [("show_archived", "true".to_owned())];
        let answer = self
            .get(
                Endpoint::Reissue,
                &["order", "certificate", &id, "reissue"],
                &query,
            )
            .await?;
        self.decode(answer.endpoint, &answer.text()?)
    }

    /// One page of the orders of every subaccount, as sent (its text is a
    /// `wire::SubaccountOrderList` for [`Client::decode`]).
    pub async fn subaccount_orders(&self, limit: usize, offset: usize) -> Result<Answer, ApiError> {
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        self.get(
            Endpoint::SubaccountOrders,
            &["account", "subaccount", "order"],
            &query,
        )
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

    /// A GET through the limiter, retried when that can help: a 429 waits
    /// for the limiter's window (or Retry-After), a 5xx, timeout or broken
    /// connection backs off exponentially with jitter, both a bounded
    /// number of times. Anything else fails at once.
    pub(super) async fn get(
        &self,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Answer, ApiError> {
        let _slot = self.in_flight.acquire().await;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_base_delay)
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(self.settings.max_retries)
            .with_jitter()
            .build();
        let mut rate_limited = 0;
        loop {
            let waited = self.limiter.acquire().await;
            self.telemetry
                .limiter_wait
                .with_label_values(&[&self.account])
                .inc_by(waited.as_secs_f64());
            let err = match self.get_once(endpoint, segments, query).await {
                Ok(body) => return Ok(body),
                Err(err) => err,
            };
            let kind = err.kind();
            let delay = match &err {
                ApiError::RateLimited { retry_after, .. }
                    if rate_limited < MAX_RATE_LIMITED_RETRIES =>
                {
                    rate_limited += 1;
                    let until = retry_after.map(|d| tokio::time::Instant::now() + d);
                    self.limiter.back_off(until).await;
                    Some(Duration::ZERO)
                }
                _ if BACKED_OFF_KINDS.contains(&kind) => backoff.next(),
                _ => None,
            };
            let Some(delay) = delay else { return Err(err) };
            tracing::debug!(
                account = %self.account,
                %endpoint,
                error = %err,
                retry_in_ms = delay.as_millis() as u64,
                "retrying a CertCentral request"
            );
            self.telemetry
                .retries
                .with_label_values(&[&self.account, endpoint.as_str(), kind.as_str()])
                .inc();
            tokio::time::sleep(delay).await;
        }
    }

    /// One GET, counted by endpoint and status; a non-2xx answer becomes a
    /// typed error carrying CertCentral's own message.
    async fn get_once(
        &self,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Answer, ApiError> {
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
    ) -> Result<Answer, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("X-DC-DEVKEY", key);
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let mut response = self
            .http
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.transport_error(endpoint, &e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(self.redirect_refused(endpoint, &response));
        }
        let retry_after = retry_after(response.headers());
        let gzipped = is_gzipped(response.headers());
        let limit = self.settings.max_body_bytes;
        let size = &self.body_sizes[endpoint as usize];
        let expected = size.load(Ordering::Relaxed);
        let mut body = BytesMut::with_capacity((expected + expected / 8).min(limit));
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
        size.store(body.len(), Ordering::Relaxed);
        let gzipped = match gzipped {
            Ok(gzipped) => gzipped,
            // An error answer stays one: its status says what went wrong.
            Err(_) if !status.is_success() => false,
            Err(coding) => {
                return Err(ApiError::Decode {
                    endpoint,
                    detail: format!("sent in a content encoding that was not asked for ({coding})"),
                });
            }
        };
        let answer = Answer {
            endpoint,
            bytes: body.freeze(),
            gzipped,
            limit,
        };
        if status.is_success() {
            return Ok(answer);
        }
        let (code, message) = self.error_message(&answer.text().unwrap_or_default());
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

    /// A 3xx that the redirect policy did not follow (to another origin, or
    /// one hop too many), as an error naming at most the origin it pointed
    /// to; one to another origin is counted, and logged the first time.
    fn redirect_refused(&self, endpoint: Endpoint, response: &reqwest::Response) -> ApiError {
        let status = response.status().as_u16();
        let target = response
            .headers()
            .get(LOCATION)
            .and_then(|location| location.to_str().ok())
            .and_then(|location| response.url().join(location).ok());
        let elsewhere = target
            .as_ref()
            .filter(|to| to.origin() != self.settings.base_url.origin());
        let refused = |code: &str, message: String| ApiError::Status {
            endpoint,
            status,
            code: Some(code.to_owned()),
            message: format!("{code}: {message}"),
        };
        let Some(to) = elsewhere else {
            return refused(
                "redirect_not_followed",
                format!("more than {MAX_REDIRECTS} redirects, or one without a usable Location"),
            );
        };
        // The origin only: the path and query may hold anything, the key
        // included (an upstream that echoes it).
        let origin = self
            .settings
            .api_key
            .redact(&to.origin().ascii_serialization());
        self.telemetry
            .redirects_refused
            .with_label_values(&[&self.account])
            .inc();
        if !self.redirect_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                account = %self.account,
                %endpoint,
                status,
                to = %origin,
                "CertCentral redirected to another origin; not followed: the API key goes to the configured origin only"
            );
        }
        refused(
            "redirect_refused",
            format!(
                "redirected to another origin ({origin}), not followed: the API key goes to the configured origin only"
            ),
        )
    }

    /// CertCentral's `{"errors":[{"code","message"}]}`, or the start of
    /// whatever else came back; redacted, then cut to
    /// [`ERROR_MESSAGE_CHARS`] on one line, either way.
    fn error_message(&self, body: &[u8]) -> (Option<String>, String) {
        let key = &self.settings.api_key;
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
                let window = key.redaction_window(ERROR_MESSAGE_CHARS);
                let head = body.get(..window).unwrap_or(body);
                (None, String::from_utf8_lossy(head).into_owned())
            }
        };
        let shown = |text: &str| {
            let redacted = key.redact(head_of(text, key.redaction_window(ERROR_MESSAGE_CHARS)));
            let one_line = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
            match one_line.char_indices().nth(ERROR_MESSAGE_CHARS) {
                Some((cut, _)) => format!("{}…", &one_line[..cut]),
                None => one_line,
            }
        };
        let message = shown(&message);
        let message = if message.is_empty() {
            "(no body)".to_owned()
        } else {
            message
        };
        (code.map(|c| shown(&c)), message)
    }

    /// Reads a JSON answer; one that is not the documented object is an
    /// error (redacted: serde quotes the values it could not read).
    pub fn decode<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        text: &[u8],
    ) -> Result<T, ApiError> {
        super::wire::decode(text).map_err(|e| ApiError::Decode {
            endpoint,
            detail: self
                .settings
                .api_key
                .redact(&format!("not the documented JSON: {e}")),
        })
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

/// Whether the answer is gzipped; an encoding other than gzip or none (we
/// ask for gzip only) is an error naming it.
fn is_gzipped(headers: &HeaderMap) -> Result<bool, String> {
    let Some(coding) = headers.get(CONTENT_ENCODING) else {
        return Ok(false);
    };
    match coding.to_str().map(str::trim) {
        Ok(c) if c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip") => Ok(true),
        Ok(c) if c.is_empty() || c.eq_ignore_ascii_case("identity") => Ok(false),
        _ => Err(String::from_utf8_lossy(coding.as_bytes()).into_owned()),
    }
}

/// `Retry-After` in seconds (CertCentral does not document one, but a proxy
/// in front of it may send it).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::http::{HeaderMap as Headers, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    use super::*;
    use crate::certcentral::ratelimit::CERTCENTRAL_WINDOWS;

    const CSV: &[u8] = b"order_id,status\n1,issued\n2,expired\n";

    fn gzip(members: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for text in members {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text).unwrap();
            out.extend(encoder.finish().unwrap());
        }
        out
    }

    /// A stand-in that answers `/services/v2/report/order` with `status`
    /// and `body` under `encoding`, if the request asked for gzip.
    async fn answering(
        status: axum::http::StatusCode,
        encoding: Option<&'static str>,
        body: Vec<u8>,
    ) -> Client {
        let app = axum::Router::new().route(
            "/services/v2/report/order",
            get(move |request: Headers| async move {
                let asked = request
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    == Some("gzip");
                let mut headers = Headers::new();
                if let Some(encoding) = encoding {
                    headers.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
                }
                if asked {
                    (status, headers, body).into_response()
                } else {
                    (axum::http::StatusCode::BAD_REQUEST, "gzip not asked for").into_response()
                }
            }),
        );
        client_of(listening(app).await, "test-key").0
    }

    /// Serves `app` on a port of its own.
    async fn listening(app: axum::Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }

    /// A client of the API at `address`, with its metrics.
    fn client_of(address: std::net::SocketAddr, key: &str) -> (Client, Registry) {
        let settings = ClientSettings {
            base_url: Url::parse(&format!("http://{address}/services/v2")).unwrap(),
            api_key: ApiKey::new(key).unwrap(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            max_concurrency: 1,
            max_retries: 0,
            retry_base_delay: Duration::from_millis(1),
        };
        let registry = Registry::new();
        let telemetry = ApiTelemetry::register(&registry).unwrap();
        let limiter = Arc::new(RateLimiter::new(&CERTCENTRAL_WINDOWS, 1.0));
        let client = Client::new("test", settings, telemetry, limiter).unwrap();
        (client, registry)
    }

    async fn serve(encoding: Option<&'static str>, body: Vec<u8>) -> Client {
        answering(axum::http::StatusCode::OK, encoding, body).await
    }

    #[tokio::test]
    async fn a_gzipped_answer_is_known_by_its_bytes_as_sent_and_read_inflated() {
        let sent = gzip(&[CSV]);
        let client = serve(Some("gzip"), sent.clone()).await;
        let answer = client.report_page(1000, 0).await.unwrap();
        assert_eq!(answer.wire_digest(), xxhash_rust::xxh3::xxh3_128(&sent));
        assert_eq!(&answer.text().unwrap()[..], CSV);
    }

    #[tokio::test]
    async fn every_gzip_member_is_read() {
        let client = serve(Some("x-gzip"), gzip(&[b"order_id,status\n", b"1,issued\n"])).await;
        let answer = client.report_page(1000, 0).await.unwrap();
        assert_eq!(&answer.text().unwrap()[..], b"order_id,status\n1,issued\n");
    }

    #[tokio::test]
    async fn a_server_that_does_not_compress_is_read_as_is() {
        let client = serve(None, CSV.to_vec()).await;
        let answer = client.report_page(1000, 0).await.unwrap();
        assert_eq!(answer.wire_digest(), xxhash_rust::xxh3::xxh3_128(CSV));
        assert_eq!(&answer.text().unwrap()[..], CSV);
    }

    #[tokio::test]
    async fn an_encoding_not_asked_for_is_an_error_naming_it() {
        let client = serve(Some("br"), CSV.to_vec()).await;
        let err = client.report_page(1000, 0).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert!(err.to_string().contains("(br)"), "{err}");
        // An error answer in it is still the error its status says.
        let client = answering(
            axum::http::StatusCode::NOT_FOUND,
            Some("br"),
            b"not found".to_vec(),
        )
        .await;
        let err = client.report_page(1000, 0).await.err().unwrap();
        assert_eq!(err.status(), Some(404), "{err}");
    }

    #[tokio::test]
    async fn a_gzip_bomb_stops_at_the_size_limit() {
        // 16 MB of zeros: 16 KB gzipped, 16 times the limit inflated; the
        // trailer's length is a lie too.
        let mut bomb = gzip(&[&vec![0; 16 * 1024 * 1024]]);
        let end = bomb.len();
        bomb[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        let client = serve(Some("gzip"), bomb).await;
        let answer = client.report_page(1000, 0).await.unwrap();
        let err = answer.text().err().unwrap();
        assert!(matches!(err, ApiError::BodyTooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_damaged_gzip_answer_is_an_error_worth_a_retry() {
        let mut damaged = gzip(&[CSV]);
        damaged.truncate(damaged.len() - 10);
        let client = serve(Some("gzip"), damaged).await;
        let answer = client.report_page(1000, 0).await.unwrap();
        let err = answer.text().err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    /// Another host, as far as origins go: it records every connection and
    /// what came over it, and answers each request with 200 and a CSV.
    struct Recorder {
        address: std::net::SocketAddr,
        received: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    }

    impl Recorder {
        async fn start() -> Recorder {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let received = Arc::new(std::sync::Mutex::new(Vec::new()));
            let log = received.clone();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let log = log.clone();
                    tokio::spawn(async move {
                        let mut bytes = vec![0; 64 * 1024];
                        let read =
                            tokio::time::timeout(Duration::from_secs(2), stream.read(&mut bytes))
                                .await;
                        let n = read.ok().and_then(Result::ok).unwrap_or(0);
                        log.lock().unwrap().push(bytes[..n].to_vec());
                        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 35\r\nConnection: close\r\n\r\norder_id,status\n1,issued\n2,expired\n";
                        let _ = stream.write_all(answer.as_bytes()).await;
                    });
                }
            });
            Recorder { address, received }
        }

        fn received(&self) -> Vec<String> {
            let received = self.received.lock().unwrap();
            received
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect()
        }
    }

    /// A CertCentral stand-in that answers every request with `status`
    /// and a Location of `location(key it was sent)`, echoing the key in a
    /// header and the body too.
    async fn redirecting(
        status: u16,
        location: impl Fn(&str) -> String + Clone + Send + Sync + 'static,
    ) -> std::net::SocketAddr {
        let app = axum::Router::new().fallback(move |request: Headers| {
            let location = location.clone();
            async move {
                let key = request
                    .get("x-dc-devkey")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut headers = Headers::new();
                headers.insert(header::LOCATION, location(&key).parse().unwrap());
                headers.insert("x-echo", key.parse().unwrap());
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                (status, headers, format!("moved, {key}")).into_response()
            }
        });
        listening(app).await
    }

    const REDIRECT_KEY: &str = "REDIRECT-KEY-5e4d3c2b";

    fn refused_count(registry: &Registry) -> u64 {
        registry
            .gather()
            .iter()
            .filter(|f| f.name() == "certcentral_api_redirects_refused_total")
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }

    #[tokio::test]
    async fn no_redirect_to_another_origin_is_followed_nor_the_key_sent_there() {
        let elsewhere = Recorder::start().await;
        let other = elsewhere.address;
        let mut refused = 0;
        for status in [301, 302, 303, 307, 308] {
            // Plainly, and with the key echoed into the Location.
            for echo in [false, true] {
                let address = redirecting(status, move |key| {
                    if echo {
                        format!("http://{other}/steal?key={key}&again={key}")
                    } else {
                        format!("http://{other}/services/v2/report/order")
                    }
                })
                .await;
                let (client, registry) = client_of(address, REDIRECT_KEY);
                let err = client
                    .report_page(1000, 0)
                    .await
                    .err()
                    .expect("the redirect was followed");
                refused += 1;
                let text = err.to_string();
                assert_eq!(err.kind(), ErrorKind::Api, "{text}");
                assert_eq!(err.status(), Some(status), "{text}");
                assert!(text.contains("another origin"), "{text}");
                assert!(
                    text.contains(&other.to_string()),
                    "names the origin: {text}"
                );
                assert!(!text.contains(REDIRECT_KEY), "{text}");
                assert_eq!(refused_count(&registry), 1, "counted once");
            }
        }
        assert_eq!(refused, 10);
        assert_eq!(
            elsewhere.received(),
            Vec::<String>::new(),
            "the other host got no request at all"
        );
    }

    #[tokio::test]
    async fn another_scheme_on_the_same_host_and_port_is_another_origin() {
        // The stand-in sends the client to itself over https (an http to
        // https upgrade, or the other way round: origins compare scheme,
        // host and port alike).
        let port = Arc::new(std::sync::OnceLock::new());
        let own = port.clone();
        let address = redirecting(301, move |_| {
            format!("https://127.0.0.1:{}/services/v2", own.get().unwrap_or(&0))
        })
        .await;
        port.set(address.port()).unwrap();
        let (client, registry) = client_of(address, REDIRECT_KEY);
        let err = client.report_page(1000, 0).await.err().unwrap();
        assert!(err.to_string().contains("another origin"), "{err}");
        assert_eq!(refused_count(&registry), 1);
    }

    #[tokio::test]
    async fn a_redirect_within_the_origin_is_followed_a_few_times_without_a_referer() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<Headers>::new()));
        let log = seen.clone();
        let app = axum::Router::new()
            .route(
                "/services/v2/report/order",
                get(|| async { axum::response::Redirect::temporary("/moved/report") }),
            )
            .route(
                "/moved/report",
                get(move |request: Headers| async move {
                    log.lock().unwrap().push(request);
                    CSV
                }),
            )
            .route(
                "/services/v2/order/certificate/{id}",
                get(|| async { axum::response::Redirect::temporary("/services/v2/loop") }),
            )
            .route(
                "/services/v2/loop",
                get(|| async { axum::response::Redirect::temporary("/services/v2/loop") }),
            );
        let (client, registry) = client_of(listening(app).await, REDIRECT_KEY);
        let answer = client.report_page(1000, 0).await.unwrap();
        assert_eq!(&answer.text().unwrap()[..], CSV);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["x-dc-devkey"], REDIRECT_KEY, "the same origin");
        assert!(seen[0].get(header::REFERER).is_none(), "{:?}", seen[0]);
        let err = client.order_info(7).await.err().unwrap();
        assert!(err.to_string().contains("redirects"), "{err}");
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(refused_count(&registry), 0, "no other origin involved");
    }

    /// The key in every spelling that redaction covers.
    fn spellings(key: &str) -> Vec<String> {
        use base64::Engine;
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let percent = |upper: bool, all: bool| {
            key.bytes()
                .map(|b| {
                    if all || !b.is_ascii_alphanumeric() {
                        if upper {
                            format!("%{b:02X}")
                        } else {
                            format!("%{b:02x}")
                        }
                    } else {
                        char::from(b).to_string()
                    }
                })
                .collect::<String>()
        };
        let mixed: String = key
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let mut forms = vec![
            key.to_owned(),
            key.to_ascii_lowercase(),
            key.to_ascii_uppercase(),
            mixed,
            percent(true, false),
            percent(false, false),
            percent(true, true),
            percent(false, true),
        ];
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(key));
            forms.push(engine.encode(format!("apikey:{key}")));
            forms.push(engine.encode(format!("u:{key}:x")));
            forms.push(engine.encode(format!("{key}\n")));
        }
        forms
    }

    #[test]
    fn redaction_covers_every_spelling_of_the_key() {
        // Base64 of this key uses both '+' and '/' (or '-' and '_').
        for key in ["SECRET-SWEEP-7f1e2d3c4b5a", "k?>~ey with space>>??"] {
            let api_key = ApiKey::new(key).unwrap();
            for form in spellings(key) {
                let text = format!("before {form} after");
                let redacted = api_key.redact(&text);
                assert!(!redacted.contains(&form), "{key:?} as {form:?}: {redacted}");
                assert!(redacted.starts_with("before "), "{redacted}");
                assert!(redacted.ends_with(" after"), "{redacted}");
                assert!(redacted.contains(REDACTED), "{redacted}");
            }
        }
        let api_key = ApiKey::new("SECRET-SWEEP-7f1e2d3c4b5a").unwrap();
        let plain = "HTTP 500: an unexpected error occurred (ünïcode kept) 100%";
        assert_eq!(api_key.redact(plain), plain);
        assert_eq!(
            api_key.redact("x secret+sweep y"),
            "x secret+sweep y",
            "a '+' is a space only where the key has one"
        );
        // Most of the key, spelled, is redacted even when it is not all of
        // it: every run of MIN_FRAGMENT of its characters goes.
        let most = api_key.redact("x secret+sweep%2D7F1E2D3C4B5A y");
        assert!(!most.contains("7F1E2D3C"), "{most}");
    }

    /// A key wrapped by white space or a `\n` escape, or split between two
    /// fields, leaves no run of [`MIN_FRAGMENT`] of its characters; text
    /// that merely shares fewer characters with it is kept.
    #[test]
    fn redaction_covers_a_key_wrapped_or_split() {
        let key = "SECRET-SWEEP-7f1e2d3c4b5a";
        let api_key = ApiKey::new(key).unwrap();
        for text in [
            "a SECRET-SWEEP\n-7f1e2d3c4b5a b",
            "a SECRET-SWEEP-\\n7f1e2d3c4b5a b",
            "a SECRET-SWEEP- \r\n 7f1e 2d3c 4b5a b",
            "first: SECRET-SWEEP-; second: 7f1e2d3c4b5a",
        ] {
            let redacted = api_key.redact(text);
            for window in key.as_bytes().windows(MIN_FRAGMENT) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!redacted.contains(window), "{window} in {redacted}");
            }
        }
        assert_eq!(api_key.redact("SECRET-S"), REDACTED);
        assert_eq!(
            api_key.redact("SECRET-"),
            "SECRET-",
            "shorter runs are chance"
        );
    }
}
