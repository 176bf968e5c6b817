//! certcentral-exporter: a Prometheus exporter for DigiCert CertCentral.
//!
//! # Layout
//!
//! Data flows one way, top to bottom; no module reaches up to one listed
//! above it, and only the poller (the driver) and `app` (the wiring) know
//! them all.
//!
//! - [`certcentral`]: the Services API client (rate limits, retries, the
//!   redirect policy, the key kept secret) and the wire types: the order
//!   report CSV, order details, reissues, subaccount orders, domains and
//!   organizations.
//! - `fleet`: one immutable snapshot of an account's orders, built from
//!   the parsed records; `OrderStatus` answers what the code asks of a
//!   status (in use, waiting, settled, counts toward expiry). `identity`
//!   keeps each certificate's thumbprint and serial in one normal form;
//!   `known` indexes every certificate of the fleets by them, active or
//!   superseded (and by what).
//! - `coverage`: which validations each order's renewal needs, and which of
//!   its names no active validation covers.
//! - [`compliance`]: the findings per order, and whether an order still
//!   needs someone (actionable, renewal blocked).
//! - `board`: each account's latest state (its fleet, its last poll's
//!   outcome, the details backlog), published by the poller, read by
//!   `metrics` and `server`.
//! - [`metrics`]: the families declared once (`metrics::families`), one
//!   writer per concern (health, orders, expiry, compliance, subaccounts,
//!   validations), the text exposition and its gzip.
//! - [`probe`]: `/probe`, one TLS handshake with an allowed endpoint, the
//!   served certificate looked up in `known`.
//! - [`server`]: HTTP: `/metrics`, `/probe`, the landing page, health and
//!   readiness, TLS and basic auth from the web config, connection limits.
//! - `poller`: drives the steps on a schedule: reads the report and the
//!   subaccounts, plans and fetches order details, reads the validation
//!   lists, rebuilds the fleet, publishes it on the board, saves the
//!   `store` (the on-disk snapshot and journal that survive a restart).
//! - [`cli`] and `config`: flags, the config file and their checks; [`app`]
//!   wires the pieces together; `logging`, `shutdown` and `yaml_error` (YAML
//!   errors told without the file's values) serve them all.
//!
//! The stand-in for CertCentral that `--demo`, `simulate`, the tests and the
//! benchmarks use is a crate of its own, `certcentral-simulator` (behind the
//! default cargo feature `simulator`); the tests' harness is
//! `certcentral-test-support`.

pub mod app;
pub(crate) mod board;
pub mod certcentral;
pub mod cli;
pub mod compliance;
pub(crate) mod config;
pub(crate) mod coverage;
pub(crate) mod fleet;
pub(crate) mod identity;
pub(crate) mod known;
pub mod logging;
pub mod metrics;
pub(crate) mod poller;
pub mod probe;
pub mod server;
pub(crate) mod shutdown;
pub(crate) mod store;
pub(crate) mod yaml_error;
