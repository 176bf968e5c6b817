//! The one test harness of certcentral-exporter, shared by every
//! integration test (`tests/`) and benchmark (`benches/`) of the workspace.
//!
//! Tests talk to real things: the real binary, started as the CertCentral
//! simulator ([`Simulator`], `certcentral-exporter simulate`, with one typed
//! method per control endpoint under `/_simulator/`: [`Controls`]) and as the exporter
//! ([`Exporter`]), over real HTTP; its scrapes parsed as Prometheus would
//! ([`Scrape`]); a real Prometheus ([`Prometheus`]) and `promtool`
//! ([`promtool_check_metrics`]), a real Alertmanager ([`Alertmanager`])
//! delivering to a [`Webhook`], and the monitoring mixin rendered with a
//! test's own settings ([`render_mixin`]). Every child is a [`Process`], killed when
//! dropped, its output kept for failure messages. Nothing sleeps blindly:
//! [`wait_for`] polls with a deadline. The `/probe` tests get real
//! certificates and TLS endpoints ([`TestCa`], [`TlsEndpoint`]). The
//! benchmarks read what a process used from `/proc` ([`Process::cpu`],
//! [`Process::memory_mb`]).
//!
//! # The binary's path
//!
//! A library cannot read `env!("CARGO_BIN_EXE_certcentral-exporter")`:
//! Cargo sets it only while compiling the package's own integration tests
//! and benchmarks. Each of those takes it once, as a [`Binary`] constant
//! built by [`exporter_binary!`] (which expands `env!` in the caller), and
//! hands it to the harness. Locating the binary from `current_exe()` (as
//! assert_cmd's deprecated `cargo_bin` did) was rejected: it guesses
//! Cargo's directory layout, which a configured `build-dir` breaks.
//!
//! The crates its interface is made of are re-exported: [`reqwest`] (the
//! blocking client, for tests that need more of it than [`http`] gives)
//! and [`prometheus_parse`] (the samples of a [`Scrape`]).

mod alertmanager;
mod exporter;
mod mixin;
mod process;
mod prometheus;
mod report;
mod scrape;
mod simulator;
mod stand_in;
mod tls;
mod usage;

pub use alertmanager::{Alertmanager, Webhook};
pub use exporter::Exporter;
pub use mixin::{render_mixin, repository_root};
pub use process::{Binary, Process, free_port, http, poll_until, raw_http, wait_for};
pub use prometheus::{Prometheus, promtool_check_metrics, tool};
pub use report::{ReportTemplate, SAMPLE as REPORT_SAMPLE};
pub use scrape::{Scrape, Series, value};
pub use simulator::{Change, Controls, Faults, Reissue, Simulator, expected_findings, faults_flag};
pub use stand_in::{NOT_FOUND, query, stand_in};
pub use tls::{IssuedOrder, TestCa, TestLeaf, TlsEndpoint, probing_exporter, report_stand_in};
pub use usage::Cpu;

pub use prometheus_parse;
pub use reqwest;

/// The `certcentral-exporter` binary of the package under test, as a
/// [`Binary`]: `const BIN: Binary = exporter_binary!();` in a test or
/// benchmark of the root package (the only place Cargo tells its path).
#[macro_export]
macro_rules! exporter_binary {
    () => {
        $crate::Binary::new(env!("CARGO_BIN_EXE_certcentral-exporter"))
    };
}
