//! The exporter's settings, from flags and the optional `--config.file`,
//! checked once at start-up so that a mistake is one clear error (exit 2)
//! instead of a surprise later.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::certcentral::ApiKey;
use crate::certcentral::ratelimit::Window;
use crate::compliance::{ComplianceSettings, Rule};
use crate::metrics::{PerOrderLimits, RenderSettings};

use crate::server::web_config::WebConfig;
use crate::yaml_error;

/// The production API base.
pub const DEFAULT_BASE_URL: &str = "https://www.digicert.com/services/v2";
/// The largest `limit` the order report accepts.
pub const MAX_PAGE_SIZE: usize = 1000;
/// The environment variable that holds the key when no key file is given.
pub const API_KEY_ENV: &str = "CERTCENTRAL_API_KEY";

/// Everything the exporter needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// TLS and basic auth from `--web.config.file`.
    pub web: WebConfig,
    /// `--web.config.file`, read again on change and on SIGHUP.
    pub web_config_file: Option<PathBuf>,
    /// The HTTP server's bounds and timeouts.
    pub server: ServerLimits,
    /// What SIGHUP reads again, when there is a `--config.file`.
    pub reload: Option<ConfigSource>,
    pub telemetry_path: String,
    pub accounts: Vec<AccountConfig>,
    /// Poll the embedded simulator instead of CertCentral.
    pub demo: Option<DemoConfig>,
    pub poll_interval: Duration,
    /// A poll still running after this is cancelled and counted.
    pub poll_timeout: Duration,
    pub page_size: usize,
    /// The most rows a report or subaccount listing may hold.
    pub max_orders: usize,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub render: RenderSettings,
    /// Requests allowed per key, before headroom.
    pub rate_limit: Vec<Window>,
    /// The share of each rate-limit window the exporter uses.
    pub rate_limit_headroom: f64,
    pub concurrency: usize,
    pub max_retries: usize,
    /// Detail and reissue requests per poll; `None` derives it from the
    /// rate limit and the poll interval.
    pub detail_budget: Option<usize>,
    pub detail_max_age: Duration,
    /// Orders waiting on a request have their details read again after this.
    pub waiting_max_age: Duration,
    /// First delay before retrying a failed request (doubling after).
    pub retry_delay: Duration,
    /// Where the state store lives; `None` keeps nothing across restarts.
    pub storage_path: Option<PathBuf>,
    /// How often the domain and organization validations are read.
    pub validations_refresh: Duration,
    /// `--probe.allowed-targets`.
    pub probe_allowed: crate::probe::targets::AllowedTargets,
    /// What `/probe` trusts: the system's roots and `--probe.ca-file`.
    pub probe_roots: rustls::RootCertStore,
}

/// The HTTP server's bounds (`--web.max-requests` and friends).
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Scrapes in flight at once (0: no limit).
    pub max_requests: usize,
    /// Connections open at once (0: derived from the open-file limit).
    pub max_connections: usize,
    pub read_header_timeout: Duration,
    pub idle_timeout: Duration,
    /// A response the client takes nothing of for this long is closed.
    pub write_timeout: Duration,
}

/// What SIGHUP needs to read `--config.file` again: the file, and the
/// flags its settings are merged with.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub demo: bool,
    /// What the flags give accounts that leave their URL or key out.
    pub defaults: AccountDefaults,
    /// The per-order limits the flags set.
    pub flag_limits: PerOrderLimits,
    /// `--metrics.expired-retention`.
    pub expired_retention: Duration,
}

impl ConfigSource {
    /// Reads the file again: the render settings it gives (which apply at
    /// once) and its accounts (which apply at a restart).
    pub fn read(&self) -> Result<(RenderSettings, Vec<AccountConfig>), ConfigError> {
        let file = read_config_file(&self.path, self.demo, &self.flag_limits, &self.defaults)?;
        let render = render_settings(Some(&file), &self.flag_limits, self.expired_retention)?;
        Ok((render, file.accounts))
    }
}

/// The render settings from the flags and, when given, `--config.file`.
pub fn render_settings(
    file: Option<&FileSettings>,
    flag_limits: &PerOrderLimits,
    expired_retention: Duration,
) -> Result<RenderSettings, ConfigError> {
    let mut render = RenderSettings {
        per_order: flag_limits.clone(),
        ..RenderSettings::default()
    };
    if let Some(file) = file {
        render.compliance = file.compliance.clone();
        render.account_compliance = file.account_compliance.clone();
        render.per_order = file.per_order.clone();
        render.account_per_order = file.account_per_order.clone();
    }
    for settings in
        std::iter::once(&mut render.compliance).chain(render.account_compliance.values_mut())
    {
        settings.expired_retention = expired_retention;
    }
    render.expired_retention = chrono::Duration::from_std(expired_retention)
        .map_err(|_| ConfigError("--metrics.expired-retention is too long".to_owned()))?;
    Ok(render)
}

/// What differs between the accounts running and those a reloaded
/// `--config.file` lists (names only; keys compared by fingerprint).
pub fn account_changes(running: &[AccountConfig], read: &[AccountConfig]) -> Vec<String> {
    let mut changes = Vec::new();
    for account in read {
        match running.iter().find(|a| a.name == account.name) {
            None => changes.push(format!("{} added", account.name)),
            Some(old) => {
                if old.base_url != account.base_url {
                    changes.push(format!("{}: url changed", account.name));
                }
                if old.api_key.fingerprint() != account.api_key.fingerprint() {
                    changes.push(format!("{}: API key changed", account.name));
                }
                if old.rate_limit != account.rate_limit {
                    changes.push(format!("{}: rate_limit changed", account.name));
                }
            }
        }
    }
    for old in running {
        if !read.iter().any(|a| a.name == old.name) {
            changes.push(format!("{} removed", old.name));
        }
    }
    changes
}

/// One CertCentral account to poll.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The `account` label.
    pub name: String,
    pub base_url: Url,
    pub api_key: ApiKey,
    /// This account's rate limit, when it differs from the default.
    pub rate_limit: Option<Vec<Window>>,
}

/// What the flags say of an account: the one account they make without
/// `--config.file`, and what each account of the file that leaves its URL
/// or key out takes.
#[derive(Debug, Clone)]
pub struct AccountDefaults {
    /// `--certcentral.url`, or the production API.
    pub url: Url,
    /// Whether `--certcentral.url` was given (a flag no account uses is
    /// a mistake, not a default).
    pub url_given: bool,
    /// `--certcentral.api-key-file`, when given.
    pub api_key_file: Option<PathBuf>,
}

impl AccountDefaults {
    /// The key the flags and the environment give:
    /// `--certcentral.api-key-file`, else the systemd credential
    /// [`API_KEY_CREDENTIAL`] in `$CREDENTIALS_DIRECTORY`, else
    /// `$CERTCENTRAL_API_KEY`; `None` when there is none.
    pub fn api_key(&self) -> Result<Option<ApiKey>, ConfigError> {
        if let Some(path) = &self.api_key_file {
            return read_key_file(path, "--certcentral.api-key-file").map(Some);
        }
        let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(|dir| PathBuf::from(dir).join(API_KEY_CREDENTIAL))
            .filter(|path| path.exists());
        if let Some(path) = credential {
            return read_key_file(
                &path,
                &format!("$CREDENTIALS_DIRECTORY/{API_KEY_CREDENTIAL}"),
            )
            .map(Some);
        }
        Ok(std::env::var(API_KEY_ENV)
            .ok()
            .and_then(|v| ApiKey::new(&v)))
    }
}

/// The name of the systemd credential (`LoadCredential=`) holding the API
/// key, read from `$CREDENTIALS_DIRECTORY` when --certcentral.api-key-file
/// is not given; it takes precedence over $CERTCENTRAL_API_KEY.
pub const API_KEY_CREDENTIAL: &str = "certcentral-api-key";

/// The fleet the embedded simulator serves in `--demo`.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub orders: usize,
    pub seed: u64,
}

/// A configuration mistake, worded for the operator: it names the flag,
/// file or field at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `--config.file`: several accounts, and compliance thresholds for all of
/// them or per account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    accounts: Vec<FileAccount>,
    #[serde(default)]
    compliance: Option<FileCompliance>,
    #[serde(default)]
    metrics: Option<FileMetrics>,
    #[serde(default)]
    validations: Option<FileValidations>,
}

/// The `validations` section: how often the domain and organization
/// validations are read (`--validations.refresh-interval`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileValidations {
    refresh_interval: Option<String>,
}

/// The shortest validation refresh interval accepted.
pub const MIN_VALIDATIONS_REFRESH: Duration = Duration::from_secs(60);
/// The validation refresh interval by default.
pub const DEFAULT_VALIDATIONS_REFRESH: Duration = Duration::from_secs(3600);

/// Per-order series limits as written in the file (the flags
/// `--metrics.per-order-horizon` and `--metrics.per-order-statuses`, for
/// every account or for one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetrics {
    per_order_horizon: Option<String>,
    per_order_statuses: Option<Vec<String>>,
}

impl FileMetrics {
    /// `base` with this section's values laid over it, checked.
    fn apply(&self, base: &PerOrderLimits, at: &str) -> Result<PerOrderLimits, ConfigError> {
        let mut limits = base.clone();
        if let Some(text) = &self.per_order_horizon {
            let parsed = humantime::parse_duration(text.trim())
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .ok_or_else(|| {
                    ConfigError(format!("{at}.per_order_horizon: not a duration like 90d"))
                })?;
            limits.horizon = Some(parsed);
        }
        if let Some(statuses) = &self.per_order_statuses {
            limits.statuses = Some(statuses.iter().map(|s| s.trim().to_owned()).collect());
        }
        Ok(limits)
    }
}

/// Compliance thresholds as written in the file; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCompliance {
    warning_window: Option<String>,
    approval_pending_threshold: Option<String>,
    auto_renew_grace: Option<String>,
    min_rsa_bits: Option<u32>,
    min_ec_bits: Option<u32>,
    manual_renewals_threshold: Option<u32>,
    #[serde(default)]
    disabled_rules: Option<Vec<String>>,
}

impl FileCompliance {
    /// `base` with this file section's values laid over it, checked.
    fn apply(
        &self,
        base: &ComplianceSettings,
        at: &str,
    ) -> Result<ComplianceSettings, ConfigError> {
        let mut settings = base.clone();
        let duration = |field: &str,
                        value: &Option<String>,
                        current: Duration|
         -> Result<Duration, ConfigError> {
            let Some(text) = value else {
                return Ok(current);
            };
            let parsed = humantime::parse_duration(text.trim())
                .map_err(|_| ConfigError(format!("{at}.{field}: not a duration like 30d")))?;
            if parsed < Duration::from_secs(3600) {
                return Err(ConfigError(format!("{at}.{field}: shorter than an hour")));
            }
            Ok(parsed)
        };
        settings.warning_window = duration(
            "warning_window",
            &self.warning_window,
            settings.warning_window,
        )?;
        settings.approval_pending_threshold = duration(
            "approval_pending_threshold",
            &self.approval_pending_threshold,
            settings.approval_pending_threshold,
        )?;
        settings.auto_renew_grace = duration(
            "auto_renew_grace",
            &self.auto_renew_grace,
            settings.auto_renew_grace,
        )?;
        let bits = |field: &str, value: Option<u32>, current: u32| match value {
            None => Ok(current),
            Some(v) if (128..=16384).contains(&v) => Ok(v),
            Some(v) => Err(ConfigError(format!(
                "{at}.{field}: {v} is not a key size from 128 to 16384 bits"
            ))),
        };
        settings.min_rsa_bits = bits("min_rsa_bits", self.min_rsa_bits, settings.min_rsa_bits)?;
        settings.min_ec_bits = bits("min_ec_bits", self.min_ec_bits, settings.min_ec_bits)?;
        if let Some(threshold) = self.manual_renewals_threshold {
            if threshold > 365 {
                return Err(ConfigError(format!(
                    "{at}.manual_renewals_threshold: {threshold} is more than one renewal a day"
                )));
            }
            settings.manual_renewals_threshold = threshold;
        }
        if let Some(rules) = &self.disabled_rules {
            settings.disabled = rules
                .iter()
                .map(|r| {
                    r.parse::<Rule>()
                        .map_err(|e| ConfigError(format!("{at}.disabled_rules: {e}")))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(settings)
    }
}

/// What a `--config.file` holds, checked.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub accounts: Vec<AccountConfig>,
    /// Thresholds for accounts without their own.
    pub compliance: ComplianceSettings,
    /// Per-account thresholds.
    pub account_compliance: BTreeMap<String, ComplianceSettings>,
    /// Per-order series limits for accounts without their own.
    pub per_order: PerOrderLimits,
    /// Per-account limits.
    pub account_per_order: BTreeMap<String, PerOrderLimits>,
    /// `validations.refresh_interval`, when set.
    pub validations_refresh: Option<Duration>,
    /// Accounts the file lists that are not polled (with `--demo`).
    pub ignored_accounts: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAccount {
    name: String,
    #[serde(default)]
    api_key_file: Option<PathBuf>,
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    rate_limit: Option<String>,
    #[serde(default)]
    compliance: Option<FileCompliance>,
    #[serde(default)]
    metrics: Option<FileMetrics>,
}

/// Reads a key file: the whole file, trimmed. A file that others can read
/// is worth a warning, not a refusal.
pub fn read_key_file(path: &Path, what: &str) -> Result<ApiKey, ConfigError> {
    // The path is not repeated: an operator who gave the key itself where
    // the file belongs must not find the key in the error.
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "{what}: cannot read the key file ({e}; the path is not shown in case it is the key itself)"
        ))
    })?;
    warn_if_world_readable(path);
    ApiKey::new(&text).ok_or_else(|| ConfigError(format!("{what}: {} is empty", path.display())))
}

#[cfg(unix)]
fn warn_if_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the API key file is readable by every user on this machine; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_path: &Path) {}

/// Parses an API base URL, which must be http(s).
pub fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("not an http(s) URL".to_owned());
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err("the URL has no host".to_owned());
    }
    // Whatever would carry a secret in a URL has no place in the API base,
    // and the base is logged and shown on the landing page.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL has a user or password; the API key goes in a key file".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL has a query string or fragment; the API base takes none".to_owned());
    }
    Ok(url)
}

/// Reads a `--config.file`. Accounts are required unless `accounts_optional`
/// (with `--demo`, which polls its own simulator).
///
/// `flag_limits` are the per-order limits the flags set: the file's
/// `metrics` section may not set the same one again, and each account's
/// `metrics` section is laid over both.
pub fn read_config_file(
    path: &Path,
    accounts_optional: bool,
    flag_limits: &PerOrderLimits,
    defaults: &AccountDefaults,
) -> Result<FileSettings, ConfigError> {
    let what = format!("--config.file {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{what}: cannot read: {e}")))?;
    let file: FileConfig = serde_yaml_ng::from_str(&text)
        .map_err(|e| ConfigError(format!("{what}: {}", yaml_error::describe(&e))))?;
    if file.accounts.is_empty() && !accounts_optional {
        return Err(ConfigError(format!("{what}: no accounts listed")));
    }
    let compliance = match &file.compliance {
        Some(section) => section.apply(
            &ComplianceSettings::default(),
            &format!("{what}: compliance"),
        )?,
        None => ComplianceSettings::default(),
    };
    let per_order = match &file.metrics {
        Some(section) => {
            let twice = [
                (
                    "per_order_horizon",
                    "--metrics.per-order-horizon",
                    section.per_order_horizon.is_some() && flag_limits.horizon.is_some(),
                ),
                (
                    "per_order_statuses",
                    "--metrics.per-order-statuses",
                    section.per_order_statuses.is_some() && flag_limits.statuses.is_some(),
                ),
            ];
            if let Some((field, flag, _)) = twice.iter().find(|(_, _, both)| *both) {
                return Err(ConfigError(format!(
                    "{what}: metrics.{field} and {flag} both set; keep one"
                )));
            }
            section.apply(flag_limits, &format!("{what}: metrics"))?
        }
        None => flag_limits.clone(),
    };
    let mut account_compliance = BTreeMap::new();
    let mut account_per_order = BTreeMap::new();
    for (i, account) in file.accounts.iter().enumerate() {
        if let Some(section) = &account.compliance {
            let at = format!("{what}: accounts[{i}].compliance");
            account_compliance.insert(account.name.clone(), section.apply(&compliance, &at)?);
        }
        if let Some(section) = &account.metrics {
            let at = format!("{what}: accounts[{i}].metrics");
            account_per_order.insert(account.name.clone(), section.apply(&per_order, &at)?);
        }
    }
    let ignored_accounts = if accounts_optional {
        file.accounts.len()
    } else {
        0
    };
    let accounts = if accounts_optional {
        Vec::new()
    } else {
        accounts(file.accounts, &what, defaults)?
    };
    let validations_refresh = file
        .validations
        .as_ref()
        .and_then(|v| v.refresh_interval.as_deref())
        .map(|text| {
            humantime::parse_duration(text.trim())
                .ok()
                .filter(|d| *d >= MIN_VALIDATIONS_REFRESH)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{what}: validations.refresh_interval: not a duration of a minute or more, like 1h"
                    ))
                })
        })
        .transpose()?;
    Ok(FileSettings {
        accounts,
        compliance,
        account_compliance,
        per_order,
        account_per_order,
        validations_refresh,
        ignored_accounts,
    })
}

/// The file's accounts, checked, with the flags' URL and key where an
/// account leaves them out; a flag that no account uses is an error.
fn accounts(
    accounts: Vec<FileAccount>,
    what: &str,
    defaults: &AccountDefaults,
) -> Result<Vec<AccountConfig>, ConfigError> {
    if defaults.url_given && accounts.iter().all(|a| a.url.is_some()) {
        return Err(ConfigError(format!(
            "--certcentral.url is given but every account of {what} sets its own url; drop one"
        )));
    }
    if defaults.api_key_file.is_some()
        && accounts
            .iter()
            .all(|a| a.api_key_file.is_some() || a.api_key_env.is_some())
    {
        return Err(ConfigError(format!(
            "--certcentral.api-key-file is given but every account of {what} names its own key; drop one"
        )));
    }
    let mut names = std::collections::HashSet::new();
    accounts
        .into_iter()
        .enumerate()
        .map(|(i, account)| {
            let at = format!("{what}: accounts[{i}]");
            if account.name.trim().is_empty() {
                return Err(ConfigError(format!("{at}.name is empty")));
            }
            if !names.insert(account.name.clone()) {
                return Err(ConfigError(format!(
                    "{at}.name '{}' is listed twice",
                    account.name
                )));
            }
            let base_url = match account.url.as_deref() {
                Some(url) => {
                    parse_base_url(url).map_err(|e| ConfigError(format!("{at}.url: {e}")))?
                }
                None => defaults.url.clone(),
            };
            let api_key = match (&account.api_key_file, &account.api_key_env) {
                (Some(file), None) => read_key_file(file, &format!("{at}.api_key_file"))?,
                (None, Some(var)) => std::env::var(var)
                    .ok()
                    .and_then(|v| ApiKey::new(&v))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "{at}.api_key_env: the variable it names is not set or is empty (the name is not shown, in case it is the key itself)"
                        ))
                    })?,
                (None, None) => defaults.api_key()?.ok_or_else(|| {
                    ConfigError(format!(
                        "{at}: no API key: give api_key_file or api_key_env, or --certcentral.api-key-file or ${API_KEY_ENV} for every account without one"
                    ))
                })?,
                (Some(_), Some(_)) => {
                    return Err(ConfigError(format!(
                        "{at}: give one of api_key_file and api_key_env, not both"
                    )));
                }
            };
            let rate_limit = account
                .rate_limit
                .as_deref()
                .map(parse_rate_limit)
                .transpose()
                .map_err(|e| ConfigError(format!("{at}.rate_limit: {e}")))?;
            Ok(AccountConfig {
                name: account.name,
                base_url,
                api_key,
                rate_limit,
            })
        })
        .collect()
}

/// Rate-limit windows as one command-line value.
#[derive(Debug, Clone)]
pub struct RateLimit(pub Vec<Window>);

/// Parses `--certcentral.rate-limit`.
pub fn parse_rate_limit_flag(text: &str) -> Result<RateLimit, String> {
    parse_rate_limit(text).map(RateLimit)
}

/// Parses rate-limit windows written `1000/3m,100/5s` (requests per period).
pub fn parse_rate_limit(text: &str) -> Result<Vec<Window>, String> {
    text.split(',')
        .map(|part| {
            let (limit, period) = part
                .trim()
                .split_once('/')
                .ok_or_else(|| "not REQUESTS/PERIOD like 1000/3m".to_owned())?;
            let limit: usize = limit
                .trim()
                .parse()
                .ok()
                .filter(|&l| l > 0)
                .ok_or_else(|| "not a positive request count before the /".to_owned())?;
            let period = humantime::parse_duration(period.trim())
                .ok()
                .filter(|p| !p.is_zero())
                .ok_or_else(|| "not a period like 3m or 5s after the /".to_owned())?;
            Ok(Window { limit, period })
        })
        .collect()
}

/// The detail-request budget of one poll when none is configured: what
/// the tightest window allows in 80% of a poll interval, so that a poll's
/// details end before the next poll starts.
pub fn default_detail_budget(windows: &[Window], headroom: f64, interval: Duration) -> usize {
    windows
        .iter()
        .map(|w| {
            let per_second = w.limit as f64 * headroom / w.period.as_secs_f64();
            (per_second * interval.as_secs_f64() * 0.8) as usize
        })
        .min()
        .unwrap_or(0)
        .max(1)
}

/// Where the state store goes when `--storage.path` is not given:
/// systemd's `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/certcentral-exporter`,
/// else `~/.local/state/certcentral-exporter`; none without a home, and
/// none in a container that sets `$container`.
pub fn default_storage_path() -> Option<PathBuf> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from_env("STATE_DIRECTORY") {
        return Some(dir);
    }
    // In a container (which says so in $container, as OCI images and
    // systemd-nspawn do) nothing is kept unless a path is given.
    if from_env("container").is_some() {
        return None;
    }
    if let Some(dir) = from_env("XDG_STATE_HOME") {
        return Some(dir.join("certcentral-exporter"));
    }
    from_env("HOME")
        .filter(|home| home != Path::new("/"))
        .map(|home| home.join(".local/state/certcentral-exporter"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse() {
        let windows = parse_rate_limit("1000/3m, 100/5s").unwrap();
        assert_eq!(windows[0].limit, 1000);
        assert_eq!(windows[0].period, Duration::from_secs(180));
        assert_eq!(windows[1].period, Duration::from_secs(5));
        for bad in ["", "1000", "0/3m", "x/3m", "10/soon", "10/0s"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn detail_budget_follows_the_tightest_window() {
        let windows = parse_rate_limit("1000/3m,100/5s").unwrap();
        // 900 per 180 s is 5 per second; 80% of 15 minutes is 720 s.
        assert_eq!(
            default_detail_budget(&windows, 0.9, Duration::from_secs(900)),
            3600
        );
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    /// The flags' account defaults when neither flag is given.
    fn defaults() -> AccountDefaults {
        AccountDefaults {
            url: parse_base_url(DEFAULT_BASE_URL).unwrap(),
            url_given: false,
            api_key_file: None,
        }
    }

    /// The accounts `yaml` lists, read with `defaults`.
    fn accounts_of(
        yaml: &str,
        defaults: &AccountDefaults,
    ) -> Result<Vec<AccountConfig>, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(&path, yaml).unwrap();
        read_config_file(&path, false, &PerOrderLimits::default(), defaults).map(|f| f.accounts)
    }

    /// An account without `url` polls `--certcentral.url`, one without a
    /// key uses `--certcentral.api-key-file`; a flag that no account uses,
    /// or an account with no key anywhere, is an error that names it.
    #[test]
    fn accounts_take_the_flags_url_and_key_where_they_give_none() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "flag-key\n").unwrap();
        let eu = parse_base_url("https://certcentral.digicert.eu/services/v2").unwrap();
        let flags = AccountDefaults {
            url: eu.clone(),
            url_given: true,
            api_key_file: Some(key_file),
        };
        let own_file = dir.path().join("own");
        std::fs::write(&own_file, "own-key").unwrap();
        let own_key = format!("    api_key_file: {}\n", own_file.display());
        let yaml = format!(
            "accounts:\n  - name: plain\n  - name: own\n{own_key}    url: http://127.0.0.1:1/services/v2\n"
        );
        let fingerprint = |key: &str| ApiKey::new(key).unwrap().fingerprint();
        let accounts = accounts_of(&yaml, &flags).unwrap();
        assert_eq!(accounts[0].base_url, eu);
        assert_eq!(accounts[0].api_key.fingerprint(), fingerprint("flag-key"));
        assert_eq!(
            accounts[1].base_url.as_str(),
            "http://127.0.0.1:1/services/v2"
        );
        assert_eq!(accounts[1].api_key.fingerprint(), fingerprint("own-key"));

        let own =
            format!("accounts:\n  - name: own\n{own_key}    url: http://127.0.0.1:1/services/v2\n");
        let err = accounts_of(&own, &flags).unwrap_err().to_string();
        assert!(
            err.contains("--certcentral.url is given but every account"),
            "{err}"
        );
        let url_only = AccountDefaults {
            api_key_file: None,
            ..flags.clone()
        };
        let own_key_only = format!("accounts:\n  - name: own\n{own_key}");
        assert!(accounts_of(&own_key_only, &url_only).is_ok());
        let key_only = AccountDefaults {
            url_given: false,
            ..flags
        };
        let err = accounts_of(&own_key_only, &key_only)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--certcentral.api-key-file is given but every account"),
            "{err}"
        );
    }

    fn read(yaml: &str) -> Result<FileSettings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(&path, yaml).unwrap();
        read_config_file(&path, true, &PerOrderLimits::default(), &defaults())
    }

    #[test]
    fn compliance_thresholds_per_account_over_the_defaults() {
        let settings = read(
            "compliance:\n  warning_window: 45d\n  disabled_rules: [duplicates_present]\n\
             accounts:\n  - name: eu\n    api_key_env: X\n    compliance:\n      min_rsa_bits: 3072\n",
        )
        .unwrap();
        assert_eq!(
            settings.compliance.warning_window,
            Duration::from_secs(45 * 86_400)
        );
        let eu = &settings.account_compliance["eu"];
        assert_eq!(eu.min_rsa_bits, 3072);
        assert_eq!(
            eu.warning_window,
            Duration::from_secs(45 * 86_400),
            "inherits the file's defaults"
        );
        assert!(eu.disabled.contains(&Rule::DuplicatesPresent));
    }

    #[test]
    fn bad_thresholds_name_the_field() {
        for (yaml, names) in [
            (
                "compliance:\n  warning_window: soon\n",
                "compliance.warning_window",
            ),
            (
                "compliance:\n  approval_pending_threshold: 5s\n",
                "compliance.approval_pending_threshold",
            ),
            (
                "compliance:\n  min_rsa_bits: 99999\n",
                "compliance.min_rsa_bits",
            ),
            (
                "compliance:\n  disabled_rules: [weak]\n",
                "compliance.disabled_rules",
            ),
            ("compliance:\n  warn_window: 3d\n", "warn_window"),
            (
                "accounts:\n  - name: a\n    compliance:\n      min_ec_bits: 1\n",
                "accounts[0].compliance.min_ec_bits",
            ),
            (
                "metrics:\n  per_order_horizon: soon\n",
                "metrics.per_order_horizon",
            ),
            (
                "accounts:\n  - name: a\n    metrics:\n      per_order_horizon: -3\n",
                "accounts[0].metrics.per_order_horizon",
            ),
            ("metrics:\n  horizon: 30d\n", "horizon"),
        ] {
            let err = read(yaml).unwrap_err().to_string();
            assert!(err.contains(names), "{err} should name {names}");
        }
    }

    #[test]
    fn per_order_limits_from_the_file_and_per_account() {
        let settings = read(
            "metrics:\n  per_order_horizon: 30d\n\
             accounts:\n  - name: big\n    api_key_env: X\n    metrics:\n      per_order_statuses: [issued]\n\
             \x20 - name: small\n    api_key_env: Y\n",
        )
        .unwrap();
        let thirty_days = Some(chrono::Duration::days(30));
        assert_eq!(settings.per_order.horizon, thirty_days);
        assert_eq!(settings.per_order.statuses, None);
        let big = &settings.account_per_order["big"];
        assert_eq!(big.horizon, thirty_days, "inherits the file's limits");
        assert_eq!(big.statuses.as_deref(), Some(&["issued".to_owned()][..]));
        assert!(!settings.account_per_order.contains_key("small"));
    }

    #[test]
    fn a_limit_set_by_flag_and_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(&path, "metrics:\n  per_order_horizon: 30d\n").unwrap();
        let flags = PerOrderLimits {
            horizon: Some(chrono::Duration::days(90)),
            statuses: None,
        };
        let err = read_config_file(&path, true, &flags, &defaults())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metrics.per_order_horizon and --metrics.per-order-horizon"),
            "{err}"
        );
        let flags = PerOrderLimits {
            horizon: None,
            statuses: Some(vec!["issued".to_owned()]),
        };
        let file = read_config_file(&path, true, &flags, &defaults()).unwrap();
        assert_eq!(file.per_order.horizon, Some(chrono::Duration::days(30)));
        assert_eq!(file.per_order.statuses, flags.statuses);
    }
}
