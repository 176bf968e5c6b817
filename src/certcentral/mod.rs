//! The CertCentral Services API as the exporter sees it: an HTTP client that
//! knows the endpoints, the key header and the error shape, and the wire
//! types those endpoints return.

pub mod client;
mod error;
pub mod ratelimit;
pub mod report;
pub mod validations;
pub mod wire;

pub use client::{ApiKey, Client, ClientSettings, Endpoint};
pub use error::{ApiError, ErrorKind};
