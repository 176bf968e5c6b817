//! Wiring: builds the pipeline from a [`Config`] (clients, pollers, the
//! renderer and the server), runs it, reloads on SIGHUP, and takes it down
//! on SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use prometheus::{Gauge, IntCounter, Registry};
use tokio::sync::watch;

use std::collections::HashMap;

use crate::board::Board;
use crate::certcentral::ratelimit::RateLimiter;
use crate::certcentral::{Client, ClientSettings, client::ApiTelemetry};
use crate::config::{self, AccountConfig, Config, DemoConfig};
use crate::metrics::{self, Exposition, RenderSettings};
use crate::poller::{PollSettings, PollTelemetry, Poller};
use crate::probe::Prober;
use crate::probe::targets::FixedTarget;
use crate::server::auth::CheckPool;
use crate::server::listen::{self, Limits};
use crate::server::live::{LiveWeb, WebConfigTelemetry};
use crate::server::{self, Guard, Landing, ServerState};
use crate::shutdown::Hangups;
use crate::store::{Store, StoreLock};

/// Largest API answer accepted (a report page of 1000 orders with their
/// CSRs is a few MB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A start-up failure the operator fixes in the flags or on the host (the
/// listen address is taken): `main` prints it as one line and exits 2, like
/// a bad flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(String);

/// Runs the exporter until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // First, so that a SIGHUP from now on reloads instead of killing.
    let mut hangups = Hangups::listen();
    let open_files = listen::raise_open_file_limit();
    // Before anything is started or opened (the demo simulator, the state
    // store): a port in use is a one-line error, with nothing to undo.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            StartupError(format!(
                "--web.listen-address {}: cannot listen: {e}",
                config.listen
            ))
        })?;
    // Held until the exporter stops: one exporter per storage directory.
    let _store_lock = match &config.storage_path {
        Some(dir) => {
            let lock = StoreLock::acquire(dir).map_err(StartupError)?;
            tracing::info!(path = %dir.display(), "keeping state across restarts");
            Some(lock)
        }
        None => None,
    };
    let (accounts, demo_probes) = match &config.demo {
        None => (config.accounts.clone(), DemoProbes::default()),
        Some(demo) => {
            let (account, probes) = start_demo(demo).await?;
            (vec![account], probes)
        }
    };

    let registry = Registry::new();
    // process_cpu_seconds_total, process_resident_memory_bytes,
    // process_open_fds and the rest, as every exporter serves them.
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    let api_telemetry = ApiTelemetry::register(&registry)?;
    let poll_telemetry = PollTelemetry::register(&registry)?;
    let board = Arc::new(Board::new(
        accounts
            .iter()
            .map(|a| (a.name.clone(), config.poll_interval)),
    ));

    // Before any poller starts: a poll that ends before the renderer's
    // first wait is then still a change it sees, not one it missed.
    let board_changes = board.subscribe();
    // The rate limit is per API key: accounts that share a key share a limiter.
    let mut limiters: HashMap<String, Arc<RateLimiter>> = HashMap::new();
    let mut pollers = Vec::new();
    for account in &accounts {
        let windows = account.rate_limit.as_ref().unwrap_or(&config.rate_limit);
        let limiter = limiters
            .entry(account.api_key.fingerprint())
            .or_insert_with(|| Arc::new(RateLimiter::new(windows, config.rate_limit_headroom)))
            .clone();
        let settings = ClientSettings {
            base_url: account.base_url.clone(),
            api_key: account.api_key.clone(),
            request_timeout: config.request_timeout,
            connect_timeout: config.connect_timeout,
            max_body_bytes: MAX_BODY_BYTES,
            max_concurrency: config.concurrency,
            max_retries: config.max_retries,
            retry_base_delay: config.retry_delay,
        };
        let client = Client::new(&account.name, settings, api_telemetry.clone(), limiter)
            .with_context(|| format!("building the HTTP client of account {}", account.name))?;
        let detail_budget = config.detail_budget.unwrap_or_else(|| {
            config::default_detail_budget(windows, config.rate_limit_headroom, config.poll_interval)
        });
        let settings = PollSettings {
            interval: config.poll_interval,
            page_size: config.page_size,
            max_orders: config.max_orders,
            detail_budget,
            detail_max_age: chrono::Duration::from_std(config.detail_max_age)
                .unwrap_or(chrono::Duration::days(1)),
            waiting_max_age: chrono::Duration::from_std(config.waiting_max_age)
                .unwrap_or(chrono::Duration::hours(1)),
            expired_retention: config.render.expired_retention,
            concurrency: config.concurrency,
            deadline: config.poll_timeout,
            validations_refresh: config.validations_refresh,
        };
        let store = config
            .storage_path
            .as_deref()
            .map(|dir| Store::new(dir, &account.name, account.base_url.as_str()));
        let poller = Poller::new(
            account.name.clone(),
            client,
            settings,
            poll_telemetry.clone(),
            store,
        );
        pollers.push(tokio::spawn(poller.run(board.clone())));
    }

    let first = Arc::new(metrics::render(
        &board.states(),
        Utc::now(),
        &config.render,
        None,
    ));
    let (exposition_tx, exposition_rx) = watch::channel(first);
    let (render_tx, render_rx) = watch::channel(config.render.clone());
    let renderer = tokio::spawn(render_on_change(
        board.clone(),
        board_changes,
        render_rx,
        RenderTelemetry::register(&registry)?,
        exposition_tx,
    ));

    tracing::info!(address = %listener.local_addr()?, path = %config.telemetry_path, "serving metrics");
    let web_telemetry = match &config.web_config_file {
        Some(_) => Some(WebConfigTelemetry::register(&registry)?),
        None => None,
    };
    let web = Arc::new(LiveWeb::new(
        config.web_config_file.clone(),
        config.web.clone(),
        web_telemetry,
    ));
    let web_for_server = web.clone();
    let guard = match &config.web_config_file {
        Some(_) => Some(Arc::new(Guard {
            web: web.clone(),
            pool: CheckPool::register(&registry)?,
        })),
        None => None,
    };
    let limits = Limits {
        read_header_timeout: config.server.read_header_timeout,
        idle_timeout: config.server.idle_timeout,
        write_timeout: config.server.write_timeout,
        max_connections: match config.server.max_connections {
            0 => listen::default_max_connections(open_files),
            n => n,
        },
    };
    tracing::debug!(
        max_connections = limits.max_connections,
        ?open_files,
        "connection bound"
    );
    let mut probe_roots = config.probe_roots.clone();
    probe_roots.add_parsable_certificates(demo_probes.roots);
    let prober = Arc::new(Prober::new(
        board.clone(),
        probe_roots,
        config.probe_allowed.clone(),
        demo_probes.targets,
    ));
    let state = Arc::new(ServerState {
        exposition: exposition_rx,
        registry,
        board,
        prober,
        telemetry_path: config.telemetry_path.clone(),
        landing: Landing {
            demo: config.demo.is_some(),
            sources: accounts
                .iter()
                .map(|a| (a.name.clone(), a.base_url.clone()))
                .collect(),
        },
    });
    let router = server::router(state, guard.clone(), config.server.max_requests);
    let (stop, stopped) = watch::channel(false);
    let mut server = tokio::spawn(async move {
        let mut stopped = stopped;
        server::serve(listener, router, web_for_server, limits, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
    });
    let terminate = crate::shutdown::signal();
    tokio::pin!(terminate);
    let early = loop {
        tokio::select! {
            () = &mut terminate => break None,
            ended = &mut server => break Some(ended),
            () = hangups.next() => reload(&config, &web, &render_tx),
        }
    };
    // Stop accepting, cancel any poll in flight (the store is written by
    // rename, so it stays whole), and give open requests a moment.
    let _ = stop.send(true);
    if let Some(guard) = &guard {
        guard.pool.close();
    }
    for poller in &pollers {
        poller.abort();
    }
    renderer.abort();
    let served = match early {
        Some(ended) => ended,
        None => match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(ended) => ended,
            Err(_) => {
                tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; closing them");
                server.abort();
                Ok(Ok(()))
            }
        },
    };
    tracing::info!("stopped");
    served
        .context("the HTTP server task")?
        .context("serving HTTP")
}

/// What `/probe` gets from the demo: the simulator's TLS scenario
/// endpoints as fixed targets, and its CA to trust.
#[derive(Default)]
struct DemoProbes {
    targets: Vec<FixedTarget>,
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// `--demo`: starts the embedded simulator, with its TLS scenario
/// endpoints, and returns the account that polls it and the endpoints to
/// probe.
#[cfg(feature = "simulator")]
async fn start_demo(demo: &DemoConfig) -> anyhow::Result<(AccountConfig, DemoProbes)> {
    use certcentral_simulator::SimulatorConfig;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut sim = SimulatorConfig::new(demo.orders, demo.seed);
    sim.api_key = Some("demo".to_owned());
    sim.tls_endpoints = true;
    let local = certcentral_simulator::spawn_local(sim)
        .await
        .context("starting the demo simulator")?;
    let url = format!("http://{}/services/v2", local.address);
    tracing::info!(%url, orders = demo.orders, endpoints = local.endpoints.len(), "demo: polling the embedded CertCentral simulator; /probe/targets lists its TLS endpoints");
    let account = AccountConfig {
        name: "default".to_owned(),
        base_url: url::Url::parse(&url).context("simulator URL")?,
        api_key: crate::certcentral::ApiKey::new("demo").context("demo key")?,
        rate_limit: None,
    };
    let probes = DemoProbes {
        targets: local
            .endpoints
            .into_iter()
            .map(|e| FixedTarget {
                target: e.address.to_string(),
                server_name: e.server_name,
                labels: vec![
                    ("account".to_owned(), account.name.clone()),
                    ("scenario".to_owned(), e.scenario.to_owned()),
                ],
            })
            .collect(),
        roots: CertificateDer::pem_slice_iter(certcentral_simulator::ca_pem().as_bytes())
            .filter_map(Result::ok)
            .collect(),
    };
    Ok((account, probes))
}

/// `certcentral-exporter simulate`: the simulator alone, until SIGTERM or
/// SIGINT. Its `--api-key`, if given, is kept out of panic messages too.
#[cfg(feature = "simulator")]
pub async fn simulate(args: certcentral_simulator::SimulateArgs) -> anyhow::Result<()> {
    let key = args
        .api_key
        .as_deref()
        .and_then(crate::certcentral::ApiKey::new);
    crate::logging::redact_in_panics(key.into_iter().collect());
    certcentral_simulator::run(args, crate::shutdown::signal()).await
}

/// `--demo` in a build without the simulator: a one-line error, exit 2.
#[cfg(not(feature = "simulator"))]
async fn start_demo(_: &DemoConfig) -> anyhow::Result<(AccountConfig, DemoProbes)> {
    Err(StartupError(NO_SIMULATOR.to_owned()).into())
}

/// Why `--demo` fails in a build without the cargo feature `simulator`.
#[cfg(not(feature = "simulator"))]
const NO_SIMULATOR: &str =
    "--demo: this build has no simulator (build with the cargo feature `simulator`, on by default)";

/// SIGHUP: reads the web config and `--config.file` again. What the
/// config file's compliance and per-order settings say applies from the
/// next render (done at once); accounts (their URL, key and rate limit)
/// apply at a restart, which the log says. A file that cannot be used
/// changes nothing.
fn reload(config: &Config, web: &LiveWeb, render: &watch::Sender<RenderSettings>) {
    tracing::info!("SIGHUP: reading the configuration again");
    web.reload();
    let Some(source) = &config.reload else {
        return;
    };
    let (settings, accounts) = match source.read() {
        Ok(read) => read,
        Err(err) => {
            tracing::error!(error = %err, "--config.file cannot be used; keeping the previous settings");
            return;
        }
    };
    let changes = render_changes(&render.borrow(), &settings);
    if changes.is_empty() {
        tracing::info!(path = %source.path.display(), "read --config.file again; compliance and metrics settings unchanged");
    } else {
        tracing::info!(path = %source.path.display(), changes = %changes.join(", "), "read --config.file again; re-rendering with the new settings");
        render.send_replace(settings);
    }
    if config.demo.is_none() {
        let restart = config::account_changes(&config.accounts, &accounts);
        if !restart.is_empty() {
            tracing::warn!(
                changes = %restart.join("; "),
                "accounts in --config.file changed; they apply at a restart"
            );
        }
    }
}

/// The sections of the render settings that differ.
fn render_changes(old: &RenderSettings, new: &RenderSettings) -> Vec<&'static str> {
    [
        ("compliance", old.compliance != new.compliance),
        (
            "accounts[].compliance",
            old.account_compliance != new.account_compliance,
        ),
        ("metrics", old.per_order != new.per_order),
        (
            "accounts[].metrics",
            old.account_per_order != new.account_per_order,
        ),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(section, _)| section)
    .collect()
}

/// How long requests in flight may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How often the exposition is rendered, and how long it takes: one render
/// per poll (and one as each UTC day ends) is the design, and the render is
/// the largest part of a poll's CPU at a large account.
struct RenderTelemetry {
    renders: IntCounter,
    duration: Gauge,
}

impl RenderTelemetry {
    fn register(registry: &Registry) -> prometheus::Result<RenderTelemetry> {
        let renders = IntCounter::new(
            "certcentral_exporter_renders_total",
            "Renders of the fleet metrics (one per poll, and one as each UTC day ends, just after 23:59:59).",
        )?;
        let duration = Gauge::new(
            "certcentral_exporter_render_duration_seconds",
            "How long the latest render of the fleet metrics took.",
        )?;
        registry.register(Box::new(renders.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(RenderTelemetry { renders, duration })
    }
}

/// Renders the exposition whenever an account's state changes, and just
/// after 23:59:59 UTC each day, the expiry instant of certificates (days
/// remaining change then, and only then).
///
/// `changes` is the board's subscription, taken before the pollers start
/// and the first render is made: every state published after that render
/// read the board is seen, however soon the first poll ends.
async fn render_on_change(
    board: Arc<Board>,
    mut changes: watch::Receiver<u64>,
    mut settings: watch::Receiver<RenderSettings>,
    telemetry: RenderTelemetry,
    exposition: watch::Sender<Arc<Exposition>>,
) {
    // The day boundary the latest render was made before. The wall clock
    // is looked at again at least every CLOCK_CHECK: after a step of the
    // clock (a suspended VM, a corrected NTP offset) the days remaining
    // follow within that, not at the next poll.
    let mut boundary = crate::fleet::next_day_boundary(Utc::now());
    loop {
        let wait = until_next_day_boundary(Utc::now()).min(CLOCK_CHECK);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            changed = settings.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(wait) => {
                if crate::fleet::next_day_boundary(Utc::now()) == boundary {
                    continue;
                }
            },
        }
        boundary = crate::fleet::next_day_boundary(Utc::now());
        let states = board.states();
        let settings = settings.borrow_and_update().clone();
        let previous = exposition.borrow().clone();
        let before = previous.clone();
        let started = Instant::now();
        let rendered = tokio::task::spawn_blocking(move || {
            metrics::render(&states, Utc::now(), &settings, Some(&previous))
        })
        .await;
        match rendered {
            Ok(rendered) => {
                say_domain_conclusions(
                    &before.domains_inconclusive,
                    &rendered.domains_inconclusive,
                );
                telemetry.renders.inc();
                telemetry.duration.set(started.elapsed().as_secs_f64());
                exposition.send_replace(Arc::new(rendered));
            }
            Err(err) => {
                tracing::error!(error = %err, "rendering metrics failed; serving the previous render")
            }
        }
    }
}

/// Says once, as it happens, that an account's domain list stopped (or
/// started again) saying anything of its names.
fn say_domain_conclusions(before: &[String], now: &[String]) {
    for account in now.iter().filter(|a| !before.contains(a)) {
        tracing::warn!(
            %account,
            "the domain list covers none of the names of the orders in use (or is empty): nothing is concluded from it, no name counts as uncovered and none holds up an order; does the key's user see the domains?"
        );
    }
    for account in before.iter().filter(|a| !now.contains(a)) {
        tracing::info!(%account, "the domain list covers the orders' names again");
    }
}

/// How often, at most, the renderer looks at the wall clock for a day
/// boundary passed by a step of the clock.
const CLOCK_CHECK: Duration = Duration::from_secs(10);

/// Time from `now` to just after the next instant at which days remaining
/// change (23:59:59 UTC).
fn until_next_day_boundary(now: DateTime<Utc>) -> Duration {
    let next = crate::fleet::next_day_boundary(now);
    (next - now).to_std().unwrap_or_default() + Duration::from_millis(100)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::Utc;
    use prometheus::Registry;
    use tokio::sync::watch;

    use super::{RenderTelemetry, render_on_change};
    use crate::board::{AccountState, Board, PollOutcome};
    use crate::metrics::{self, RenderSettings};

    /// A first poll that ends before the renderer task first runs (a
    /// small fleet, a slow start) is rendered all the same: the exporter
    /// becomes ready at once, not at the next poll.
    #[tokio::test]
    async fn a_poll_that_ends_before_the_renderer_starts_is_rendered() {
        let board = Arc::new(Board::new([(
            "default".to_owned(),
            Duration::from_secs(900),
        )]));
        let changes = board.subscribe();
        let settings = RenderSettings::default();
        let first = metrics::render(&board.states(), Utc::now(), &settings, None);
        assert!(!first.all_polled);
        // The poll ends now, before the renderer task is spawned.
        let mut polled = AccountState::new("default".to_owned(), Duration::from_secs(900));
        polled.last_poll = Some(PollOutcome {
            ended_at: Utc::now(),
            duration: Duration::from_millis(5),
            failure: None,
            incomplete: Vec::new(),
        });
        board.publish(polled);
        let (exposition_tx, mut exposition) = watch::channel(Arc::new(first));
        let (_settings_tx, settings_rx) = watch::channel(settings);
        let telemetry = RenderTelemetry::register(&Registry::new()).expect("register");
        let renderer = tokio::spawn(render_on_change(
            board,
            changes,
            settings_rx,
            telemetry,
            exposition_tx,
        ));
        let rendered = tokio::time::timeout(
            Duration::from_secs(10),
            exposition.wait_for(|e| e.all_polled),
        )
        .await;
        renderer.abort();
        assert!(
            matches!(rendered, Ok(Ok(_))),
            "the first poll was never rendered"
        );
    }
}

#[cfg(all(test, feature = "simulator"))]
mod simulator_tests {
    use std::collections::BTreeSet;

    use crate::compliance::Rule;

    /// The simulator's truth names the findings it expects with a list of
    /// its own; it must be the exporter's list of rules, or the end-to-end
    /// comparisons would pass over a rule.
    #[test]
    fn the_simulator_expects_findings_of_every_rule_and_no_other() {
        let exporter: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        let simulator: BTreeSet<&str> = certcentral_simulator::RULES.into_iter().collect();
        assert_eq!(simulator, exporter);
        assert_eq!(
            certcentral_simulator::RULES.len(),
            Rule::ALL.len(),
            "no name twice"
        );
    }
}
