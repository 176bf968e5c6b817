//! Typed failures of a CertCentral request.

use std::time::Duration;

use super::Endpoint;

/// Why a request to CertCentral failed. Messages name the endpoint and the
/// HTTP status but never the API key (bodies are redacted before they get
/// here).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{endpoint} endpoint: CertCentral rejected the API key (HTTP {status}): {message}")]
    KeyRejected {
        endpoint: Endpoint,
        status: u16,
        message: String,
    },
    #[error("{endpoint} endpoint: rate limited by CertCentral (HTTP 429): {message}")]
    RateLimited {
        endpoint: Endpoint,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{endpoint} endpoint: HTTP {status}: {message}")]
    Status {
        endpoint: Endpoint,
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("{endpoint} endpoint: request timed out after {timeout:?}")]
    Timeout {
        endpoint: Endpoint,
        timeout: Duration,
    },
    #[error("{endpoint} endpoint: {detail}")]
    Transport { endpoint: Endpoint, detail: String },
    #[error("{endpoint} endpoint: answer is larger than the {limit} byte limit")]
    BodyTooLarge { endpoint: Endpoint, limit: usize },
    #[error("{endpoint} endpoint: unreadable answer: {detail}")]
    Decode { endpoint: Endpoint, detail: String },
}

/// A coarse class of failure: the `kind` label of the error counters
/// (`certcentral_poll_errors_total`, `certcentral_poll_incomplete_total`,
/// `certcentral_order_detail_errors_total`, `certcentral_api_retries_total`)
/// and what decides whether a retry can help. A request's failure is one
/// of the first seven ([`ApiError::kind`]); the last two are the poller's
/// own, for a poll that no request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Auth,
    RateLimited,
    Api,
    Server,
    Timeout,
    Transport,
    Decode,
    /// The poll ran past its deadline and was cancelled.
    Deadline,
    /// The poll panicked (a bug).
    Panic,
}

impl ErrorKind {
    /// Every kind, in the order help texts list them: a request's, then
    /// the poller's own.
    pub const ALL: [ErrorKind; 9] = {
        let r = ErrorKind::REQUEST;
        [
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            ErrorKind::Deadline,
            ErrorKind::Panic,
        ]
    };

    /// The kinds a request's failure may be ([`ApiError::kind`]).
    pub const REQUEST: [ErrorKind; 7] = [
        ErrorKind::Auth,
        ErrorKind::RateLimited,
        ErrorKind::Api,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::Decode,
    ];

    /// The label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Api => "api",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Panic => "panic",
        }
    }

    /// Every label value, comma-separated, for help texts.
    pub fn listed() -> String {
        ErrorKind::ALL.map(ErrorKind::as_str).join(", ")
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApiError {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::KeyRejected { .. } => ErrorKind::Auth,
            ApiError::RateLimited { .. } => ErrorKind::RateLimited,
            ApiError::Status { status, .. } if *status >= 500 => ErrorKind::Server,
            ApiError::Status { .. } => ErrorKind::Api,
            ApiError::Timeout { .. } => ErrorKind::Timeout,
            ApiError::Transport { .. } => ErrorKind::Transport,
            ApiError::BodyTooLarge { .. } | ApiError::Decode { .. } => ErrorKind::Decode,
        }
    }

    /// The HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::KeyRejected { status, .. } | ApiError::Status { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }
}
