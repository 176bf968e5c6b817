//! certcentral-exporter: a Prometheus exporter for DigiCert CertCentral.
//!
//! Data flows one way through the modules, each a step of the pipeline:
//! [`certcentral`] (HTTP client and wire types) → [`fleet`] (one immutable
//! snapshot of an account's orders) → [`compliance`] (findings per order) →
//! [`metrics`] (the rendered exposition) → [`server`] (HTTP). [`poller`]
//! drives the first steps on a schedule and publishes each account's state
//! on the board (`board`), which `metrics` and `server` read. The stand-in
//! for CertCentral that `--demo`, `simulate`, the tests and the benchmarks
//! use is a crate of its own, `certcentral-simulator` (the default cargo
//! feature `simulator`).

pub mod app;
pub(crate) mod board;
pub mod certcentral;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod coverage;
pub mod fleet;
pub mod logging;
pub mod metrics;
pub mod poller;
pub mod server;
pub mod shutdown;
pub mod store;
