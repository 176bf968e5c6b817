//! The settings of one simulated account: the `simulate` command's flags
//! and the [`SimulatorConfig`] that `--demo` and tests build directly.

use std::net::SocketAddr;

use chrono::NaiveDate;

use crate::faults::Faults;
use crate::fleet::Approval;
use crate::ratelimit::{CERTCENTRAL_WINDOWS, RateLimit, Window};

/// Command-line options of `certcentral-exporter simulate`.
#[derive(Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(long, default_value = "127.0.0.1:10057")]
    pub listen: SocketAddr,
    /// Number of orders in the simulated account's report.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Seed of the deterministic fleet generator (and of the fault mode).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accept only this key in X-DC-DEVKEY (default: any non-empty key).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Rate limit per key, REQUESTS/PERIOD windows (CertCentral's by default).
    #[arg(long = "rate-limit", default_value = "1000/3m,100/5s")]
    pub rate_limit: RateLimit,
    /// Send Retry-After (seconds) with 429 answers (CertCentral documents none).
    #[arg(long = "retry-after")]
    pub retry_after: Option<u64>,
    /// Fault mode, as JSON: {"error_rate":0.2,"rate_limit_burst":5,"slow_rate":0.1,
    /// "slow_ms":3000,"reset_rate":0.1,"truncate_report_rate":0.5,
    /// "garbage_report_rate":0.5,"bad_detail_rate":0.1,"endpoints":["report"],"seed":7}.
    #[arg(long, value_parser = Faults::parse)]
    pub faults: Option<Faults>,
    /// Build the fleet around this day (YYYY-MM-DD) instead of today (UTC).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// How the account approves orders placed through the API.
    #[arg(long, value_enum, default_value_t = Approval::OneStep)]
    pub approval: Approval,
    /// Serve the TLS scenario endpoints on loopback ports (listed at
    /// /_simulator/endpoints).
    #[arg(long = "tls-endpoints")]
    pub tls_endpoints: bool,
}

/// Settings of one simulated CertCentral account.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Orders in the report (the subaccount listing adds a tenth).
    pub orders: usize,
    /// Seed of the fleet and of the fault mode.
    pub seed: u64,
    /// The only key accepted; any non-empty key when `None`.
    pub api_key: Option<String>,
    /// Rolling windows per key (CertCentral's: 1000/3m and 100/5s).
    pub rate_limit: Vec<Window>,
    /// Seconds of Retry-After sent with 429s; none by default.
    pub retry_after: Option<u64>,
    /// The fault mode at start.
    pub faults: Faults,
    /// The day the fleet is built around; today (UTC) when `None`.
    pub today: Option<NaiveDate>,
    /// How orders placed through the API are approved.
    pub approval: Approval,
    /// Serve the TLS scenario endpoints (see `endpoints`).
    pub tls_endpoints: bool,
}

/// The key is never printed, not even the simulator's.
fn redacted(key: &Option<String>) -> &'static str {
    if key.is_some() { "<redacted>" } else { "<any>" }
}

/// The flags as the settings they become (the key redacted there), plus
/// the listen address: one list of fields to keep in step, not two.
impl std::fmt::Debug for SimulateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateArgs")
            .field("listen", &self.listen)
            .field("settings", &SimulatorConfig::from(self))
            .finish()
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("orders", &self.orders)
            .field("seed", &self.seed)
            .field("api_key", &redacted(&self.api_key))
            .field("rate_limit", &self.rate_limit)
            .field("retry_after", &self.retry_after)
            .field("faults", &self.faults)
            .field("today", &self.today)
            .field("approval", &self.approval)
            .field("tls_endpoints", &self.tls_endpoints)
            .finish()
    }
}

impl SimulatorConfig {
    /// A simulator of `orders` orders from `seed`, accepting any key, with
    /// CertCentral's rate limits and no faults.
    pub fn new(orders: usize, seed: u64) -> SimulatorConfig {
        SimulatorConfig {
            orders,
            seed,
            api_key: None,
            rate_limit: CERTCENTRAL_WINDOWS.to_vec(),
            retry_after: None,
            faults: Faults::default(),
            today: None,
            approval: Approval::OneStep,
            tls_endpoints: false,
        }
    }
}

impl From<&SimulateArgs> for SimulatorConfig {
    fn from(args: &SimulateArgs) -> Self {
        SimulatorConfig {
            orders: args.orders,
            seed: args.seed,
            api_key: args.api_key.clone(),
            rate_limit: args.rate_limit.0.clone(),
            retry_after: args.retry_after,
            faults: args.faults.clone().unwrap_or_default(),
            today: args.today,
            approval: args.approval,
            tls_endpoints: args.tls_endpoints,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `simulate` parsed on its own, as the exporter's subcommand would be.
    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn the_key_is_redacted_when_the_flags_or_settings_are_printed() {
        let command = Command::try_parse_from(["simulate", "--api-key", "sim-key-7f3a"])
            .expect("valid flags");
        let printed = format!("{:?}", command.args);
        assert!(!printed.contains("sim-key-7f3a"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
        assert!(printed.contains("listen"), "{printed}");
    }
}
