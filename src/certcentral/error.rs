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

/// A coarse class of failure, used as the `kind` label of error counters and
/// to decide whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Auth,
    RateLimited,
    Api,
    Server,
    Timeout,
    Transport,
    Decode,
}

impl ErrorKind {
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
        }
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
