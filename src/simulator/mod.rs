//! A stand-in for the CertCentral Services API, so that the exporter runs,
//! demos and is tested without an API key or network access.

use std::net::SocketAddr;

/// Command-line options of `certcentral-exporter simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated API on.
    #[arg(long, default_value = "127.0.0.1:10057")]
    pub listen: SocketAddr,
    /// Number of orders in the simulated account.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Seed of the deterministic fleet generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accept only this key in X-DC-DEVKEY (default: any non-empty key).
    #[arg(long)]
    pub api_key: Option<String>,
}

/// Settings of one simulated CertCentral account.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub orders: usize,
    pub seed: u64,
    pub api_key: Option<String>,
}

impl From<&SimulateArgs> for SimulatorConfig {
    fn from(args: &SimulateArgs) -> Self {
        SimulatorConfig {
            orders: args.orders,
            seed: args.seed,
            api_key: args.api_key.clone(),
        }
    }
}

/// Runs `certcentral-exporter simulate` until SIGINT/SIGTERM.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("the simulator is not built yet")
}

/// Starts a simulator inside this process on a private loopback port, for
/// `--demo`; returns the address it listens on.
pub async fn spawn_local(config: SimulatorConfig) -> anyhow::Result<SocketAddr> {
    let _ = config;
    anyhow::bail!("the simulator is not built yet")
}

impl SimulatorConfig {
    /// A simulator of `orders` orders from `seed`, accepting any key.
    pub fn new(orders: usize, seed: u64) -> SimulatorConfig {
        SimulatorConfig {
            orders,
            seed,
            api_key: None,
        }
    }
}
