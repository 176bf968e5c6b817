//! The command line: flags in Prometheus exporter style (`--web.listen-address`),
//! turned into a checked [`Config`], or a one-line error that names the flag.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue};
use clap::{Parser, Subcommand};
use url::Url;

use crate::certcentral::ratelimit::DEFAULT_HEADROOM;
/// The systemd credential the key is read from (the unit's `LoadCredential=`).
pub use crate::config::API_KEY_CREDENTIAL;
use crate::config::{
    self, API_KEY_ENV, AccountConfig, AccountDefaults, Config, ConfigError, DemoConfig,
    MAX_PAGE_SIZE, ServerLimits,
};
use crate::logging::{LogFormat, LogLevel};
use crate::metrics::PerOrderLimits;
use crate::probe::targets::AllowedTargets;
use crate::server::web_config::WebConfig;

/// Prometheus exporter for DigiCert CertCentral: certificate expiry, order
/// status and compliance findings.
#[derive(Debug, Parser)]
#[command(name = "certcentral-exporter", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub exporter: ExporterArgs,
}

/// Subcommands beside the exporter itself (none in a build without the
/// cargo feature `simulator`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the CertCentral simulator alone, as an HTTP server.
    #[cfg(feature = "simulator")]
    Simulate(certcentral_simulator::SimulateArgs),
}

/// The exporter's flags.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {
    /// Address to serve /metrics on (`:PORT` means every interface).
    #[arg(long = "web.listen-address", default_value = ":10056", value_parser = parse_listen_address)]
    pub listen_address: SocketAddr,
    /// Path of the metrics endpoint.
    #[arg(long = "web.telemetry-path", default_value = "/metrics", value_parser = parse_telemetry_path)]
    pub telemetry_path: String,
    /// Exporter-toolkit web configuration file (TLS, basic auth).
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Scrapes of the metrics path served at once; more are answered 503 (0: no limit).
    #[arg(long = "web.max-requests", default_value_t = 40)]
    pub max_requests: usize,
    /// Client connections open at once; past it the idlest is closed for a
    /// new one (0: the open-file limit less 128, at most 10000).
    #[arg(long = "web.max-connections", default_value_t = 0)]
    pub max_connections: usize,
    /// Time a client has to finish its TLS handshake and send a request's
    /// headers; a connection still waiting is closed.
    #[arg(long = "web.read-header-timeout", default_value = "10s", value_parser = parse_duration)]
    pub read_header_timeout: Duration,
    /// A connection with no request for this long after its last one is closed.
    #[arg(long = "web.idle-timeout", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// A connection whose response the client takes nothing of for this
    /// long (it does not read, or keeps an HTTP/2 window shut) is closed.
    #[arg(long = "web.write-timeout", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: Duration,
    /// CertCentral API base, up to and including /services/v2 (EU accounts:
    /// https://certcentral.digicert.eu/services/v2) [default:
    /// https://www.digicert.com/services/v2]; with --config.file, of every
    /// account without its own url.
    #[arg(long = "certcentral.url", value_parser = config::parse_base_url)]
    pub url: Option<Url>,
    /// File holding the API key (else $CREDENTIALS_DIRECTORY/certcentral-api-key,
    /// else $CERTCENTRAL_API_KEY); with --config.file, of every account
    /// without its own key.
    #[arg(long = "certcentral.api-key-file")]
    pub api_key_file: Option<PathBuf>,
    /// Orders per order-report page (at most 1000).
    #[arg(long = "certcentral.page-size", default_value_t = MAX_PAGE_SIZE, value_parser = parse_page_size)]
    pub page_size: usize,
    /// The most orders a report or subaccount listing may hold: a poll
    /// that reads more fails (keeping the last good data) instead of
    /// growing without end.
    #[arg(long = "certcentral.max-orders", default_value_t = 2_000_000, value_parser = clap::value_parser!(usize))]
    pub max_orders: usize,
    /// Time allowed for one API request, body included.
    #[arg(long = "certcentral.timeout", default_value = "60s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Time allowed to connect to the API.
    #[arg(long = "certcentral.connect-timeout", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// CertCentral's rate limit per API key, REQUESTS/PERIOD windows.
    #[arg(long = "certcentral.rate-limit", default_value = "1000/3m,100/5s", value_parser = config::parse_rate_limit_flag)]
    pub rate_limit: config::RateLimit,
    /// Share of each rate-limit window the exporter uses (0.1 to 1).
    #[arg(long = "certcentral.rate-limit-headroom", default_value_t = DEFAULT_HEADROOM, value_parser = parse_headroom)]
    pub rate_limit_headroom: f64,
    /// API requests in flight at once, per account.
    #[arg(long = "certcentral.concurrency", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub concurrency: u8,
    /// Retries of a request that failed with a 5xx, a timeout or a broken connection.
    #[arg(long = "certcentral.max-retries", default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub max_retries: u8,
    /// Order detail and reissue requests per poll (default: what the rate
    /// limit allows in 80% of a poll interval).
    #[arg(long = "certcentral.detail-budget")]
    pub detail_budget: Option<usize>,
    /// Read an order's details again after this long, even if unchanged.
    #[arg(long = "certcentral.detail-max-age", default_value = "24h", value_parser = parse_duration)]
    pub detail_max_age: Duration,
    /// Read the details of orders waiting on a request (approval, validation)
    /// again after this long.
    #[arg(long = "certcentral.waiting-refresh", default_value = "1h", value_parser = parse_duration)]
    pub waiting_refresh: Duration,
    /// First delay before retrying a failed request; each retry doubles it.
    #[arg(long = "certcentral.retry-delay", default_value = "1s", value_parser = parse_short_duration)]
    pub retry_delay: Duration,
    /// Directory for the state kept across restarts ("" for none; default
    /// $STATE_DIRECTORY, $XDG_STATE_HOME/certcentral-exporter or
    /// ~/.local/state/certcentral-exporter; none with --demo).
    #[arg(long = "storage.path")]
    pub storage_path: Option<String>,
    /// Read the domain and organization validations again after this long
    /// (humantime; 1m at least; default 1h, or `validations.refresh_interval`
    /// in --config.file).
    #[arg(long = "validations.refresh-interval", value_parser = parse_validations_refresh)]
    pub validations_refresh: Option<Duration>,
    /// Time between polls (humantime: 90s, 15m, 1h).
    #[arg(long = "poll.interval", default_value = "15m", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// A poll still running after this is cancelled (default: the poll interval).
    #[arg(long = "poll.timeout", value_parser = parse_duration)]
    pub poll_timeout: Option<Duration>,
    /// YAML file listing several accounts (and their settings).
    #[arg(long = "config.file")]
    pub config_file: Option<PathBuf>,
    /// How long an expired certificate keeps its per-order series.
    #[arg(long = "metrics.expired-retention", default_value = "30d", value_parser = parse_duration)]
    pub expired_retention: Duration,
    /// Per-order series only for certificates expiring within this horizon
    /// (for very large accounts; aggregates still count every order).
    #[arg(long = "metrics.per-order-horizon", value_parser = parse_duration)]
    pub per_order_horizon: Option<Duration>,
    /// Per-order series only for orders in these statuses (comma-separated).
    #[arg(long = "metrics.per-order-statuses", value_delimiter = ',')]
    pub per_order_statuses: Option<Vec<String>>,
    /// Targets /probe may connect to beside the names on in-use orders:
    /// comma-separated host names, `*.` patterns and CIDR ranges (IP
    /// literals only through these).
    #[arg(long = "probe.allowed-targets", value_parser = AllowedTargets::parse)]
    pub probe_allowed_targets: Option<AllowedTargets>,
    /// PEM file of CA certificates /probe trusts beside the system's (for
    /// endpoints with certificates of a private CA).
    #[arg(long = "probe.ca-file")]
    pub probe_ca_file: Option<PathBuf>,
    /// Poll the embedded CertCentral simulator instead of CertCentral (no key needed).
    #[arg(long)]
    pub demo: bool,
    /// Orders in the --demo fleet.
    #[arg(long = "demo.orders", default_value_t = 300)]
    pub demo_orders: usize,
    /// Seed of the --demo fleet.
    #[arg(long = "demo.seed", default_value_t = 1)]
    pub demo_seed: u64,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: LogLevel,
    /// Log format.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: LogFormat,
}

/// The longest duration any flag takes: ten years. (Far larger values
/// would overflow date arithmetic.)
const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 86_400);

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 90s, 15m or 1h ({e})"))?;
    if duration < Duration::from_secs(1) {
        return Err(format!("'{text}' is shorter than one second"));
    }
    if duration > MAX_DURATION {
        return Err(format!("'{text}' is longer than ten years"));
    }
    Ok(duration)
}

fn parse_validations_refresh(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < config::MIN_VALIDATIONS_REFRESH {
        return Err(format!("'{text}' is shorter than a minute"));
    }
    Ok(duration)
}

fn parse_headroom(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.1..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("'{text}' is not a share from 0.1 to 1")),
    }
}

fn parse_page_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(size),
        _ => Err(format!(
            "'{text}' is not a page size from 1 to {MAX_PAGE_SIZE}"
        )),
    }
}

fn parse_short_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 500ms or 2s ({e})"))?;
    if duration > Duration::from_secs(3600) {
        return Err(format!("'{text}' is longer than an hour"));
    }
    Ok(duration)
}

fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_owned(),
    };
    full.to_socket_addrs()
        .map_err(|e| format!("'{text}' is not a host:port address ({e})"))?
        .next()
        .ok_or_else(|| format!("'{text}' resolves to no address"))
}

fn parse_telemetry_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') || text.len() < 2 || text.starts_with("/-/") {
        return Err(format!("'{text}' must be a path like /metrics"));
    }
    Ok(text.to_owned())
}

impl ExporterArgs {
    /// Checks the flags against each other and reads the key or config file.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let web = match &self.web_config_file {
            Some(path) => WebConfig::load(path).map_err(|e| ConfigError(e.to_string()))?,
            None => WebConfig::default(),
        };
        let flag_limits = PerOrderLimits {
            horizon: self
                .per_order_horizon
                .map(|h| chrono::Duration::from_std(h).unwrap_or(chrono::Duration::MAX)),
            statuses: self.per_order_statuses.clone(),
        };
        let defaults = AccountDefaults {
            url: match &self.url {
                Some(url) => url.clone(),
                None => config::parse_base_url(config::DEFAULT_BASE_URL).map_err(ConfigError)?,
            },
            url_given: self.url.is_some(),
            api_key_file: self.api_key_file.clone(),
        };
        let file = self
            .config_file
            .as_deref()
            .map(|path| config::read_config_file(path, self.demo, &flag_limits, &defaults))
            .transpose()?;
        if let Some(file) = file.as_ref().filter(|f| f.ignored_accounts > 0) {
            tracing::warn!(
                accounts = file.ignored_accounts,
                "--demo polls its own simulator; the accounts of --config.file are not polled (its other settings apply)"
            );
        }
        let render = config::render_settings(file.as_ref(), &flag_limits, self.expired_retention)?;
        let file_refresh = file.as_ref().and_then(|f| f.validations_refresh);
        if file_refresh.is_some() && self.validations_refresh.is_some() {
            return Err(ConfigError(
                "validations.refresh_interval in --config.file and --validations.refresh-interval both set; keep one".to_owned(),
            ));
        }
        let validations_refresh = self
            .validations_refresh
            .or(file_refresh)
            .unwrap_or(config::DEFAULT_VALIDATIONS_REFRESH);
        let reload = self.config_file.clone().map(|path| config::ConfigSource {
            path,
            demo: self.demo,
            defaults: defaults.clone(),
            flag_limits,
            expired_retention: self.expired_retention,
        });
        let (accounts, demo) = if self.demo {
            let demo = DemoConfig {
                orders: self.demo_orders,
                seed: self.demo_seed,
            };
            (Vec::new(), Some(demo))
        } else if let Some(file) = file {
            (file.accounts, None)
        } else {
            let api_key = defaults.api_key()?.ok_or_else(|| {
                ConfigError(format!(
                    "no API key: give --certcentral.api-key-file, a systemd credential {API_KEY_CREDENTIAL}, or set {API_KEY_ENV} (or try --demo)"
                ))
            })?;
            let account = AccountConfig {
                name: "default".to_owned(),
                base_url: defaults.url,
                api_key,
                rate_limit: None,
            };
            (vec![account], None)
        };
        let storage_path = match &self.storage_path {
            Some(path) if path.is_empty() => None,
            Some(path) => Some(PathBuf::from(path)),
            None if self.demo => None,
            None => config::default_storage_path(),
        };
        Ok(Config {
            listen: self.listen_address,
            web,
            web_config_file: self.web_config_file,
            server: ServerLimits {
                max_requests: self.max_requests,
                max_connections: self.max_connections,
                read_header_timeout: self.read_header_timeout,
                idle_timeout: self.idle_timeout,
                write_timeout: self.write_timeout,
            },
            reload,
            telemetry_path: self.telemetry_path,
            accounts,
            demo,
            poll_interval: self.poll_interval,
            poll_timeout: self.poll_timeout.unwrap_or(self.poll_interval),
            page_size: self.page_size,
            max_orders: self.max_orders,
            request_timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            render,
            rate_limit: self.rate_limit.0,
            rate_limit_headroom: self.rate_limit_headroom,
            concurrency: usize::from(self.concurrency),
            max_retries: usize::from(self.max_retries),
            detail_budget: self.detail_budget,
            detail_max_age: self.detail_max_age,
            waiting_max_age: self.waiting_refresh,
            retry_delay: self.retry_delay,
            storage_path,
            validations_refresh,
            probe_allowed: self.probe_allowed_targets.unwrap_or_default(),
            probe_roots: crate::probe::trust_anchors(self.probe_ca_file.as_deref())
                .map_err(ConfigError)?,
        })
    }
}

/// The first line of a clap error (`error: invalid value 'soon' for
/// '--poll.interval <POLL_INTERVAL>': ...`), which names the flag, with the
/// valid values when the flag takes one of a list (clap puts them on a
/// line of their own).
pub fn one_line_error(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("error: invalid command line")
        .trim_end();
    let suggested = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand]
        .into_iter()
        .find_map(|kind| match err.get(kind) {
            Some(ContextValue::String(one)) => Some(one.clone()),
            Some(ContextValue::Strings(many)) if !many.is_empty() => Some(many.join("' or '")),
            _ => None,
        });
    match (err.get(ContextKind::ValidValue), suggested) {
        (Some(ContextValue::Strings(values)), _) if !values.is_empty() => {
            format!("{first}; valid values: {}", values.join(", "))
        }
        (_, Some(suggested)) => format!("{first}; did you mean '{suggested}'?"),
        _ => first.to_owned(),
    }
}
