//! Production hardening, over real HTTP against the real binary: the web
//! config (TLS with client certificates, basic auth, bad files), each of
//! the simulator's fault modes with the served data checked before, during
//! and after, shutdown on SIGTERM and SIGINT in the middle of a poll, and
//! the poll deadline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use certcentral_test_support::{
    Binary, Exporter, Faults, Process, Scrape, Simulator, TestCa, exporter_binary, faults_flag,
    free_port, http, reqwest, value, wait_for,
};

const BIN: Binary = exporter_binary!();

/// Windows wide enough that the simulator's own limit never bites, unless
/// a test asks for 429s.
const WINDOWS: &str = "200000/3m,20000/5s";

// ---------------------------------------------------------------------------
// What a scrape says.

/// Expiry per order: the fleet as /metrics shows it.
fn fleet(s: &Scrape) -> BTreeMap<String, f64> {
    s.by_label(
        "certcentral_certificate_expiry_timestamp_seconds",
        "order_id",
    )
}

fn statuses(s: &Scrape) -> BTreeMap<String, f64> {
    s.by_label("certcentral_orders", "status")
}

fn gauge(s: &Scrape, metric: &str) -> f64 {
    s.value(metric, &[]).unwrap_or(f64::NAN)
}

fn up(s: &Scrape) -> f64 {
    gauge(s, "certcentral_up")
}

fn last_success(s: &Scrape) -> f64 {
    gauge(s, "certcentral_last_successful_poll_timestamp_seconds")
}

fn last_poll(s: &Scrape) -> f64 {
    gauge(s, "certcentral_last_poll_timestamp_seconds")
}

/// A counter that may not exist yet.
fn count(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| value(&x.value))
        .sum()
}

fn errors(s: &Scrape, kind: &str) -> f64 {
    count(s, "certcentral_poll_errors_total", &[("kind", kind)])
}

fn polls(s: &Scrape, result: &str) -> f64 {
    count(s, "certcentral_polls_total", &[("result", result)])
}

/// `certcentral_up` and the data's age tell the truth together: up is 1
/// exactly when the latest finished poll is the latest successful one, or
/// a poll under way has read its report since (then the latest success is
/// that read, after the latest finished poll).
fn assert_truthful(s: &Scrape) {
    let (up, success, poll) = (up(s), last_success(s), last_poll(s));
    if up == 1.0 {
        assert!(
            success >= poll - 1e-3,
            "up=1 but the latest poll ({poll}) is later than the latest success ({success})"
        );
    } else {
        assert_eq!(up, 0.0);
        assert!(
            success.is_nan() || poll > success,
            "up=0 but the latest poll ({poll}) is the latest success ({success})"
        );
    }
    // Every failed poll is counted under exactly one kind.
    let by_kind: f64 = count(s, "certcentral_poll_errors_total", &[]);
    assert_eq!(by_kind, polls(s, "failure"), "failures by kind add up");
}

// ---------------------------------------------------------------------------
// A simulator and an exporter polling it every second.

struct Rig {
    sim: Simulator,
    exporter: Exporter,
}

impl Rig {
    fn start(orders: usize, seed: u64, sim_extra: &[&str], exporter_extra: &[&str]) -> Rig {
        let mut sim_args = vec!["--rate-limit", WINDOWS];
        sim_args.extend_from_slice(sim_extra);
        let sim = Simulator::start(BIN, orders, seed, &sim_args);
        let url = sim.api_url();
        let defaults = [
            ("--certcentral.url", url.as_str()),
            ("--certcentral.rate-limit", WINDOWS),
            ("--certcentral.retry-delay", "50ms"),
            ("--certcentral.detail-budget", "100000"),
            ("--poll.interval", "1s"),
            ("--poll.timeout", "60s"),
            ("--storage.path", ""),
        ];
        // A flag may be given once: the test's own value wins.
        let mut args: Vec<&str> = defaults
            .iter()
            .filter(|(flag, _)| !exporter_extra.contains(flag))
            .flat_map(|(flag, value)| [*flag, *value])
            .collect();
        args.extend_from_slice(exporter_extra);
        let exporter = Exporter::start(BIN, &args, &[("CERTCENTRAL_API_KEY", "hardening-key")]);
        exporter.wait_ready();
        Rig { sim, exporter }
    }

    fn scrape(&self) -> Scrape {
        let s = self.exporter.scrape();
        assert_truthful(&s);
        s
    }

    /// Scrapes (checking each) until `check` holds.
    fn until(&self, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
        wait_for(what, Duration::from_secs(60), || {
            Some(self.scrape()).filter(|s| check(s))
        })
    }

    /// Waits for a successful poll that ended after `after`.
    fn good_poll_after(&self, after: f64) -> Scrape {
        self.until("a successful poll", |s| {
            up(s) == 1.0 && last_success(s) > after
        })
    }

    fn landing(&self) -> String {
        self.exporter.get("/").text().expect("landing page")
    }

    /// Log lines of failed polls, and of retries.
    fn log_lines(&self) -> (Vec<String>, Vec<String>) {
        let logs = self.exporter.process.logs();
        let failed = logs
            .lines()
            .filter(|l| l.contains("poll failed"))
            .map(str::to_owned)
            .collect();
        let retries = logs
            .lines()
            .filter(|l| l.contains("retrying a CertCentral request"))
            .map(str::to_owned)
            .collect();
        (failed, retries)
    }

    /// One log line per failed poll, at error level, naming the kind; the
    /// retries in between only at debug level.
    fn assert_one_line_per_failed_poll(&self, kinds: &[&str]) {
        let before = polls(&self.scrape(), "failure");
        let (failed, retries) = self.log_lines();
        let after = polls(&self.scrape(), "failure");
        let lines = failed.len() as f64;
        assert!(
            before <= lines && lines <= after,
            "{lines} 'poll failed' lines for {before}..{after} failed polls"
        );
        for line in &failed {
            assert!(line.contains("level=error"), "{line}");
            assert!(
                kinds.iter().any(|k| line.contains(&format!("kind={k}"))),
                "{line} names none of {kinds:?}"
            );
        }
        for line in &retries {
            assert!(line.contains("level=debug"), "{line}");
        }
    }

    fn assert_alive(&mut self) {
        assert!(
            self.exporter.process.is_running(),
            "the exporter died: {}",
            self.exporter.process.logs()
        );
    }
}

/// The common shape of a fault that fails every poll: before, the fleet;
/// during, the same fleet with up 0, the age of the data growing and the
/// failures counted under `kind`; after, recovery with the same fleet.
/// Returns the landing page seen during the fault.
fn fails_every_poll_then_recovers(rig: &mut Rig, faults: &Faults, kind: &str) -> String {
    let before = rig.until("a good first poll", |s| up(s) == 1.0);
    let baseline = fleet(&before);
    let by_status = statuses(&before);
    assert!(baseline.len() > 50, "a fleet to lose: {}", baseline.len());
    let errors_before = errors(&before, kind);

    rig.sim.set_faults(faults);
    let first = rig.until(&format!("a {kind} failure"), |s| {
        errors(s, kind) > errors_before && up(s) == 0.0
    });
    let stale_since = last_success(&first);
    let mut scrapes = 0;
    let during = wait_for("three failed polls", Duration::from_secs(60), || {
        let s = rig.scrape();
        scrapes += 1;
        assert_eq!(fleet(&s), baseline, "the last good fleet is served");
        assert_eq!(statuses(&s), by_status);
        assert_eq!(up(&s), 0.0, "every poll fails");
        assert_eq!(last_success(&s), stale_since, "the data's age grows");
        assert!(last_poll(&s) > stale_since);
        Some(s).filter(|s| errors(s, kind) >= errors_before + 3.0)
    });
    assert!(scrapes > 3);
    assert_eq!(polls(&during, "success"), polls(&first, "success"));
    let landing = rig.landing();
    assert!(
        landing.contains(&format!("failed ({kind})")),
        "the landing page says so: {landing}"
    );

    rig.sim.set_faults(&Faults::default());
    let after = rig.good_poll_after(stale_since);
    assert_eq!(fleet(&after), baseline, "the fleet is whole after recovery");
    assert_eq!(errors(&after, kind), errors(&rig.scrape(), kind));
    rig.assert_one_line_per_failed_poll(&[kind]);
    rig.assert_alive();
    landing
}

// ---------------------------------------------------------------------------
// Faults.

#[test]
fn a_share_of_500s_is_retried_and_a_run_of_them_fails_polls_of_kind_server() {
    let mut rig = Rig::start(200, 21, &[], &[]);
    let before = rig.scrape();
    let baseline = fleet(&before);
    let retries = |s: &Scrape| count(s, "certcentral_api_retries_total", &[("kind", "server")]);

    // A third of the requests answer 500: retries carry the polls through.
    rig.sim.set_faults(&Faults {
        error_rate: 0.3,
        ..Faults::default()
    });
    let started = last_poll(&before);
    let during = rig.until("polls through a share of 500s", |s| {
        assert_eq!(fleet(s), baseline);
        retries(s) >= retries(&before) + 2.0
            && polls(s, "success") >= polls(&before, "success") + 3.0
    });
    assert!(last_success(&during) > started);
    assert!(
        count(
            &during,
            "certcentral_api_requests_total",
            &[("code", "500")]
        ) >= 2.0
    );

    // Every request answers 500.
    let landing = fails_every_poll_then_recovers(
        &mut rig,
        &Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        "server",
    );
    assert!(landing.contains("HTTP 500"), "{landing}");
    let after = rig.scrape();
    assert!(
        retries(&after) >= retries(&during) + 9.0,
        "each failed poll retried its request three times"
    );
}

#[test]
fn a_429_burst_is_ridden_out_and_a_longer_one_fails_polls_then_passes() {
    // The exporter's shortest window is what it waits after a 429.
    let windows = "200000/3m,20000/200ms";
    let mut rig = Rig::start(200, 22, &[], &["--certcentral.rate-limit", windows]);
    let before = rig.until("a good poll", |s| up(s) == 1.0);
    let baseline = fleet(&before);
    let code_429 = |s: &Scrape| count(s, "certcentral_api_requests_total", &[("code", "429")]);

    rig.sim.set_faults(&Faults {
        rate_limit_burst: 3,
        ..Faults::default()
    });
    let ridden = rig.until("three 429s answered", |s| {
        code_429(s) >= code_429(&before) + 3.0
    });
    let after_burst = rig.good_poll_after(last_success(&ridden));
    assert_eq!(errors(&after_burst, "rate_limited"), 0.0, "ridden out");
    assert_eq!(fleet(&after_burst), baseline);
    assert_eq!(
        count(
            &after_burst,
            "certcentral_api_retries_total",
            &[("kind", "rate_limited")]
        ),
        code_429(&after_burst)
    );

    // 30 in a row: a request gives up after 10 retries, so the next polls
    // fail (kind rate_limited) until the burst is spent; then they pass by
    // themselves, with the fleet intact all along. A poll that fails has
    // had at least one request answered 11 times 429; with the listings
    // read beside the report, up to three requests share the burst in one
    // poll, so it takes one to three failed polls.
    rig.sim.set_faults(&Faults {
        rate_limit_burst: 30,
        ..Faults::default()
    });
    let failing = rig.until("a rate-limited poll", |s| {
        assert_eq!(fleet(s), baseline);
        errors(s, "rate_limited") >= 1.0 && up(s) == 0.0
    });
    let recovered = rig.until("the burst spent", |s| {
        assert_eq!(fleet(s), baseline);
        up(s) == 1.0 && last_success(s) > last_success(&failing)
    });
    // Each failed poll counted a request's 11 answers 429; the requests
    // in flight beside it when the poll failed were dropped, their 429s
    // served but never counted.
    assert!(code_429(&recovered) >= code_429(&after_burst) + 11.0);
    let failed = errors(&recovered, "rate_limited");
    assert!(
        (1.0..=3.0).contains(&failed),
        "30 is nearly three requests' worth: {failed} failed polls"
    );
    rig.assert_one_line_per_failed_poll(&["rate_limited"]);
    rig.assert_alive();
}

#[test]
fn slow_answers_past_the_request_timeout_fail_polls_of_kind_timeout() {
    let mut rig = Rig::start(
        200,
        23,
        &[],
        &[
            "--certcentral.timeout",
            "1s",
            "--certcentral.max-retries",
            "1",
        ],
    );
    let before = rig.scrape();
    let timeouts = |s: &Scrape| count(s, "certcentral_api_retries_total", &[("kind", "timeout")]);

    // Now and then slow: the retry gets through.
    rig.sim.set_faults(&Faults {
        slow_rate: 0.25,
        slow_ms: 2500,
        ..Faults::default()
    });
    rig.until("a slow answer retried", |s| {
        timeouts(s) >= 1.0 && polls(s, "success") > polls(&before, "success") + 1.0
    });

    let landing = fails_every_poll_then_recovers(
        &mut rig,
        &Faults {
            slow_rate: 1.0,
            slow_ms: 2500,
            ..Faults::default()
        },
        "timeout",
    );
    assert!(landing.contains("timed out"), "{landing}");
    let s = rig.scrape();
    assert!(count(&s, "certcentral_api_requests_total", &[("code", "error")]) >= 6.0);
}

#[test]
fn connections_reset_mid_body_fail_polls_of_kind_transport() {
    let mut rig = Rig::start(200, 24, &[], &[]);
    let before = rig.scrape();
    let retried = |s: &Scrape| count(s, "certcentral_api_retries_total", &[("kind", "transport")]);

    rig.sim.set_faults(&Faults {
        reset_rate: 0.3,
        ..Faults::default()
    });
    rig.until("a reset retried", |s| {
        assert_eq!(fleet(s), fleet(&before));
        retried(s) >= 1.0 && polls(s, "success") > polls(&before, "success") + 1.0
    });

    fails_every_poll_then_recovers(
        &mut rig,
        &Faults {
            reset_rate: 1.0,
            ..Faults::default()
        },
        "transport",
    );
}

/// A report page cut short mid-row is a failed read: with three pages to a
/// report, polls fail at whichever page is cut, and no scrape ever shows
/// the orders of the pages before it as the whole fleet.
#[test]
fn report_pages_cut_mid_row_fail_polls_and_never_shrink_the_fleet() {
    let mut rig = Rig::start(300, 25, &[], &["--certcentral.page-size", "100"]);
    let before = rig.until("a good poll", |s| up(s) == 1.0);
    let baseline = fleet(&before);
    assert!(baseline.len() > 150);

    rig.sim.set_faults(&Faults {
        truncate_report_rate: 0.5,
        ..Faults::default()
    });
    let during = rig.until("several cut pages", |s| {
        assert_eq!(fleet(s), baseline, "orders never look gone");
        errors(s, "decode") >= 4.0
    });
    assert!(rig.landing().contains("ends in the middle of a row"));
    assert_eq!(
        count(
            &during,
            "certcentral_api_retries_total",
            &[("kind", "decode")]
        ),
        0.0,
        "a complete answer that is not a report is not retried"
    );

    rig.sim.set_faults(&Faults::default());
    let after = rig.good_poll_after(last_poll(&during));
    assert_eq!(fleet(&after), baseline);
    rig.assert_one_line_per_failed_poll(&["decode"]);
    rig.assert_alive();
}

#[test]
fn a_page_of_garbage_fails_polls_of_kind_decode() {
    let mut rig = Rig::start(200, 26, &[], &[]);
    let landing = fails_every_poll_then_recovers(
        &mut rig,
        &Faults {
            garbage_report_rate: 1.0,
            ..Faults::default()
        },
        "decode",
    );
    assert!(landing.contains("no order_id column"), "{landing}");
}

/// An order detail that is not the documented object costs that order's
/// details, counted per endpoint and kind; the poll goes on and succeeds.
#[test]
fn order_details_of_unexpected_json_are_counted_and_the_poll_succeeds() {
    let bad_details = faults_flag(&Faults {
        bad_detail_rate: 0.5,
        ..Faults::default()
    });
    let mut rig = Rig::start(200, 27, &["--faults", &bad_details], &[]);
    let detail_errors = |s: &Scrape| {
        count(
            s,
            "certcentral_order_detail_errors_total",
            &[("endpoint", "order"), ("kind", "decode")],
        )
    };
    let first = rig.until("a good poll", |s| up(s) == 1.0);
    let baseline = fleet(&first);
    let truth_issued = rig
        .sim
        .orders()
        .iter()
        .filter(|o| o["status"] == "issued")
        .count();
    assert!(
        baseline.len() >= truth_issued,
        "every issued order is exported"
    );
    assert!(
        detail_errors(&first) >= 20.0,
        "about half of the details failed"
    );
    assert_eq!(polls(&first, "failure"), 0.0, "the poll itself succeeded");

    // The orders without details are asked again at the next polls; with
    // the fault cleared they get through and the errors stop growing.
    // (An order's expiry may move once its reissue list is read: the same
    // orders, not the same values.)
    rig.sim.set_faults(&Faults::default());
    let settled = rig.until("details read", |s| {
        assert!(fleet(s).keys().eq(baseline.keys()), "the same orders");
        s.value("certcentral_details_backlog", &[]) == Some(0.0)
            && polls(s, "success") >= polls(&first, "success") + 2.0
    });
    let later = rig.good_poll_after(last_success(&settled));
    assert_eq!(detail_errors(&later), detail_errors(&settled));
    assert_eq!(polls(&later, "failure"), 0.0);
    let logs = rig.exporter.process.logs();
    let warned = logs
        .lines()
        .filter(|l| l.contains("cannot read the details of an order"))
        .count() as f64;
    // At most one warning per failed request (order details or reissues),
    // and only once per order.
    let all_detail_errors = count(&later, "certcentral_order_detail_errors_total", &[]);
    assert!(
        warned >= 1.0 && warned <= all_detail_errors,
        "{warned} warnings for {all_detail_errors} failed requests"
    );
    assert!(!logs.contains("poll failed"));
    rig.assert_alive();
}

// ---------------------------------------------------------------------------
// Lifecycle: the poll deadline, SIGTERM and SIGINT.

#[test]
fn a_poll_longer_than_its_deadline_is_cancelled_and_counted() {
    let mut rig = Rig::start(
        100,
        28,
        &[],
        &["--poll.timeout", "2s", "--certcentral.timeout", "30s"],
    );
    let before = rig.scrape();
    rig.sim.set_faults(&Faults {
        slow_rate: 1.0,
        slow_ms: 10000,
        ..Faults::default()
    });
    let cancelled = rig.until("a poll past its deadline", |s| {
        assert_eq!(fleet(s), fleet(&before));
        errors(s, "deadline") >= 2.0
    });
    let duration = gauge(&cancelled, "certcentral_poll_duration_seconds");
    assert!(
        (2.0..3.0).contains(&duration),
        "cancelled at the deadline: {duration}s"
    );
    assert_eq!(up(&cancelled), 0.0);
    assert!(rig.landing().contains("deadline"));
    rig.sim.set_faults(&Faults::default());
    rig.good_poll_after(last_poll(&cancelled));
    rig.assert_one_line_per_failed_poll(&["deadline"]);
    rig.assert_alive();
}

fn exporter_args<'a>(url: &'a str, listen: &'a str, store: &'a str) -> Vec<&'a str> {
    vec![
        "--web.listen-address",
        listen,
        "--certcentral.url",
        url,
        "--certcentral.rate-limit",
        WINDOWS,
        "--certcentral.detail-budget",
        "100000",
        "--poll.interval",
        "1s",
        "--poll.timeout",
        "60s",
        "--storage.path",
        store,
        "--log.level",
        "debug",
    ]
}

fn store_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".state.json"))
}

/// SIGTERM and SIGINT while a poll waits on a slow CertCentral: the process
/// ends within a few seconds with exit code 0, and the state store is left
/// as the last finished poll wrote it, which the next start loads.
#[test]
fn sigterm_and_sigint_during_a_poll_exit_0_quickly_and_leave_the_store_whole() {
    let sim = Simulator::start(BIN, 150, 29, &["--rate-limit", WINDOWS]);
    let url = sim.api_url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap().to_owned();

    // A first run writes the store.
    let listen = format!("127.0.0.1:{}", free_port());
    let first = BIN.spawn(
        &exporter_args(&url, &listen, &store),
        &[("CERTCENTRAL_API_KEY", "hardening-key")],
    );
    let file = wait_for("the store to be written", Duration::from_secs(60), || {
        store_file(dir.path())
    });
    wait_for("a complete store", Duration::from_secs(30), || {
        let bytes = std::fs::read(&file).ok()?;
        serde_json::from_slice::<serde_json::Value>(&bytes).ok()
    });
    let (status, _) = first.stop("TERM", Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", first.logs());
    let written = std::fs::read(&file).unwrap();

    // Every answer now takes 30 s: a poll is in flight until we signal.
    sim.set_faults(&Faults {
        slow_rate: 1.0,
        slow_ms: 30000,
        ..Faults::default()
    });
    for signal in ["TERM", "INT"] {
        let listen = format!("127.0.0.1:{}", free_port());
        let run = BIN.spawn(
            &exporter_args(&url, &listen, &store),
            &[("CERTCENTRAL_API_KEY", "hardening-key")],
        );
        let base = format!("http://{listen}");
        wait_for("the exporter to listen", Duration::from_secs(30), || {
            http()
                .get(format!("{base}/-/healthy"))
                .send()
                .ok()
                .filter(|r| r.status() == 200)
        });
        // Not ready: the first poll, which started with the process, is
        // still waiting on the report.
        let ready = http().get(format!("{base}/-/ready")).send().unwrap();
        assert_eq!(ready.status(), 503, "a poll is in flight");
        // A scraper holding a keep-alive connection must not hold us up.
        let keep_alive = http();
        assert_eq!(
            keep_alive
                .get(format!("{base}/metrics"))
                .send()
                .unwrap()
                .status(),
            200
        );

        let (status, took) = run.stop(signal, Duration::from_secs(10));
        let logs = run.logs();
        assert!(
            status.is_some(),
            "SIG{signal}: still running after {took:?}: {logs}"
        );
        assert_eq!(status.unwrap().code(), Some(0), "SIG{signal}: {logs}");
        assert!(took < Duration::from_secs(5), "SIG{signal} took {took:?}");
        assert!(logs.contains("shutting down"), "{logs}");
        assert!(logs.contains("loaded the state store"), "{logs}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            written,
            "SIG{signal}: the store is as the last finished poll left it"
        );
        assert!(
            http().get(format!("{base}/-/healthy")).send().is_err(),
            "the server stopped accepting"
        );
    }
    // No leftovers of a half-written store next to it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // (The state snapshot, the validations kept beside it, and the lock
    // file that keeps a second exporter out.)
    assert!(
        names.contains(&"default.state.json".to_owned())
            && names.iter().all(|n| {
                n == "default.state.json" || n == "default.validations.json" || n == "lock"
            }),
        "{names:?}"
    );
    drop(sim);
}

/// The simulator, too, ends on SIGTERM (tests and demos rely on it).
#[test]
fn the_simulator_ends_on_sigterm() {
    let sim = Simulator::start(BIN, 10, 1, &[]);
    let status = sim.process.terminate(Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

// ---------------------------------------------------------------------------
// The web config: TLS with client certificates, basic auth, bad files.

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_identity: Vec<u8>,
    rogue_identity: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("hardening test CA");
        let (server_cert, server_key) = ca.issue(
            &["127.0.0.1", "localhost"],
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) =
            ca.issue(&["prometheus"], rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue_cert, rogue_key) = TestCa::new("someone else's CA")
            .issue(&["intruder"], rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();
        std::fs::write(dir.path().join("server.pem"), &server_cert).unwrap();
        std::fs::write(dir.path().join("server.key"), &server_key).unwrap();
        Pki {
            ca_pem: ca.ca_pem.clone(),
            client_identity: format!("{client_cert}{client_key}").into_bytes(),
            rogue_identity: format!("{rogue_cert}{rogue_key}").into_bytes(),
            dir,
        }
    }

    fn web_config(&self, name: &str, yaml: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A client that trusts our CA, with `identity` as its certificate.
    fn client(&self, identity: Option<&[u8]>) -> reqwest::blocking::Client {
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap()]);
        if let Some(identity) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(identity).unwrap());
        }
        builder.build().unwrap()
    }
}

/// Starts the exporter on its demo fleet with a web config; returns it and
/// its https base URL once it listens.
fn tls_exporter(config: &str, probe: &reqwest::blocking::Client) -> (Exporter, String) {
    let exporter = Exporter::start(BIN, &["--demo", "--web.config.file", config], &[]);
    let base = exporter.base.replace("http://", "https://");
    wait_for("the TLS listener", Duration::from_secs(30), || {
        probe
            .get(format!("{base}/-/healthy"))
            .send()
            .ok()
            .filter(|r| r.status() == 200)
    });
    (exporter, base)
}

#[test]
fn tls_with_required_client_certificates() {
    let pki = Pki::new();
    let config = pki.web_config(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    );
    let trusted = pki.client(Some(&pki.client_identity));
    let (exporter, base) = tls_exporter(&config, &trusted);

    let metrics = trusted.get(format!("{base}/metrics")).send().unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().unwrap().contains("certcentral_build_info"));

    let anonymous = pki.client(None).get(format!("{base}/metrics")).send();
    assert!(anonymous.is_err(), "no client certificate: {anonymous:?}");
    let rogue = pki
        .client(Some(&pki.rogue_identity))
        .get(format!("{base}/metrics"))
        .send();
    assert!(rogue.is_err(), "a certificate from another CA: {rogue:?}");
    let plain = http().get(format!("{}/metrics", exporter.base)).send();
    assert!(
        plain.map_or(true, |r| r.status() != 200),
        "plain HTTP is not served"
    );
    let untrusting = reqwest::blocking::Client::builder()
        .identity(reqwest::Identity::from_pem(&pki.client_identity).unwrap())
        .build()
        .unwrap()
        .get(format!("{base}/metrics"))
        .send();
    assert!(
        untrusting.is_err(),
        "the server's certificate is ours, not a public CA's"
    );

    // Refused handshakes leave the server serving.
    assert_eq!(
        trusted
            .get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert!(exporter.process.is_running());
}

#[test]
fn tls_with_optional_client_certificates_and_a_minimum_version() {
    let pki = Pki::new();
    let config = pki.web_config(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  min_version: TLS13\n",
    );
    let anonymous = pki.client(None);
    let (_exporter, base) = tls_exporter(&config, &anonymous);
    assert_eq!(
        anonymous
            .get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .status(),
        200,
        "no certificate is fine when it is optional"
    );
    assert_eq!(
        pki.client(Some(&pki.client_identity))
            .get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .status(),
        200
    );
    let rogue = pki
        .client(Some(&pki.rogue_identity))
        .get(format!("{base}/metrics"))
        .send();
    assert!(rogue.is_err(), "a given certificate is still verified");
    let old = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
        .get(format!("{base}/metrics"))
        .send();
    assert!(old.is_err(), "TLS 1.2 is refused with min_version TLS13");
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn basic_auth_right_wrong_and_excluded_paths() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("s3cret pass", 4).unwrap();
    let write = |name: &str, extra: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("basic_auth_users:\n  prometheus: {hash}\n{extra}"),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    let with_probe = write("probe.yml", "auth_excluded_paths: [\"/-/healthy\"]\n");
    let without = write("strict.yml", "");

    let status = |exporter: &Exporter, path: &str, auth: Option<String>| {
        let mut request = http().get(format!("{}{path}", exporter.base));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.send().unwrap()
    };

    let open = Exporter::start(BIN, &["--demo", "--web.config.file", &with_probe], &[]);
    wait_for("the exporter to listen", Duration::from_secs(30), || {
        http().get(format!("{}/-/healthy", open.base)).send().ok()
    });
    let right = || Some(basic("prometheus", "s3cret pass"));
    let ready = status(&open, "/-/ready", right()).status();
    assert!(
        ready == 200 || ready == 503,
        "/-/ready with credentials: {ready}"
    );
    let metrics = status(&open, "/metrics", right());
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().unwrap().contains("certcentral_up"));
    for (path, auth) in [
        ("/metrics", None),
        ("/metrics", Some(basic("prometheus", "wrong"))),
        ("/metrics", Some(basic("someone", "s3cret pass"))),
        ("/metrics", Some("Bearer s3cret pass".to_owned())),
        ("/metrics", Some("Basic !!!not-base64".to_owned())),
        ("/", None),
        ("/-/ready", None),
    ] {
        let response = status(&open, path, auth.clone());
        assert_eq!(response.status(), 401, "{path} with {auth:?}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(challenge.starts_with("Basic "), "{path}: {challenge:?}");
        assert!(!response.text().unwrap().contains("certcentral_"));
    }
    assert_eq!(
        status(&open, "/-/healthy", None).status(),
        200,
        "listed in auth_excluded_paths"
    );
    assert!(open.process.is_running());

    let strict = Exporter::start(BIN, &["--demo", "--web.config.file", &without], &[]);
    let healthy = wait_for("the exporter to listen", Duration::from_secs(30), || {
        http().get(format!("{}/-/healthy", strict.base)).send().ok()
    });
    assert_eq!(healthy.status(), 401, "not listed: credentials needed");
    assert_eq!(status(&strict, "/-/healthy", right()).status(), 200);
}

/// A web config that cannot be used stops the start: exit code 2 and one
/// line that names the field.
#[test]
fn an_invalid_web_config_exits_2_naming_the_field() {
    let pki = Pki::new();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad-hash.yml",
            "basic_auth_users:\n  prometheus: not-a-bcrypt-hash\n".to_owned(),
            "basic_auth_users.prometheus",
        ),
        (
            "missing-cert.yml",
            "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server.key\n".to_owned(),
            "cert_file",
        ),
        (
            "missing-key.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: nowhere.key\n".to_owned(),
            "key_file",
        ),
        (
            "unknown-field.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cert_fil: x\n"
                .to_owned(),
            "cert_fil",
        ),
        (
            "unknown-top.yml",
            "basic_auth_user:\n  prometheus: x\n".to_owned(),
            "basic_auth_user",
        ),
        (
            "no-ca.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n"
                .to_owned(),
            "client_ca_file",
        ),
        (
            "auth-type.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
             client_auth_type: Sometimes\n"
                .to_owned(),
            "client_auth_type",
        ),
        (
            "version.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
             min_version: SSL3\n"
                .to_owned(),
            "min_version",
        ),
        (
            "wrong-key.yml",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: other.key\n".to_owned(),
            "key_file",
        ),
        (
            "not-a-cert.yml",
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n".to_owned(),
            "cert_file",
        ),
    ];
    std::fs::write(
        pki.dir.path().join("other.key"),
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let mut configs: Vec<(String, &str)> = cases
        .iter()
        .map(|(name, yaml, field)| (pki.web_config(name, yaml), *field))
        .collect();
    configs.push((
        pki.dir
            .path()
            .join("absent.yml")
            .to_str()
            .unwrap()
            .to_owned(),
        "--web.config.file",
    ));
    for (path, field) in configs {
        let out = BIN.output(
            &[
                "--demo",
                "--web.listen-address",
                "127.0.0.1:0",
                "--web.config.file",
                &path,
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert_eq!(lines.len(), 1, "{path}: one line, got {stderr}");
        assert!(
            lines[0].contains(field),
            "{path}: {:?} should name {field}",
            lines[0]
        );
    }
}

// ---------------------------------------------------------------------------
// The container (no Docker engine here: the Dockerfile is linted by
// hadolint in CI; this checks it agrees with the binary).

#[test]
fn the_container_image_agrees_with_the_binary() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let lines: Vec<&str> = dockerfile
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let last = |prefix: &str| {
        lines
            .iter()
            .rev()
            .find(|l| l.starts_with(prefix))
            .copied()
            .unwrap_or_default()
    };
    assert!(
        last("FROM ").contains("distroless"),
        "a runtime without a shell: {}",
        last("FROM ")
    );
    assert_eq!(last("EXPOSE "), "EXPOSE 10056", "the default listen port");
    let uid: u32 = last("USER ")
        .trim_start_matches("USER ")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric user, for runAsNonRoot");
    assert_ne!(uid, 0);
    assert_eq!(
        last("ENTRYPOINT "),
        "ENTRYPOINT [\"/usr/local/bin/certcentral-exporter\"]"
    );

    // The image's environment, and nothing else.
    let env: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ENV "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(
        env.iter().any(|(k, _)| k == "container"),
        "the image says it is a container: {env:?}"
    );
    let home = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        let mut command = BIN.command();
        command
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("HOME", home.path())
            .stdin(Stdio::null());
        command
    };

    // `docker run IMAGE --help`
    let out = command(&["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--web.listen-address") && help.contains(":10056"),
        "{help}"
    );

    // `docker run IMAGE --certcentral.api-key-file=...`: no state store
    // unless --storage.path says where.
    let key = home.path().join("api-key");
    std::fs::write(&key, "container-key").unwrap();
    let key_flag = format!("--certcentral.api-key-file={}", key.display());
    let store = home.path().join("store");
    let store_flag = format!("--storage.path={}", store.display());
    for (extra, kept) in [(None, false), (Some(store_flag.as_str()), true)] {
        let listen = format!("--web.listen-address=127.0.0.1:{}", free_port());
        let mut args = vec![
            listen.as_str(),
            key_flag.as_str(),
            "--certcentral.url=http://127.0.0.1:1/services/v2",
            "--certcentral.max-retries=0",
        ];
        args.extend(extra);
        let child = Process::start("certcentral-exporter", command(&args));
        wait_for("a first (failed) poll", Duration::from_secs(30), || {
            child.logs().contains("poll failed").then_some(())
        });
        let (status, _) = child.stop("TERM", Duration::from_secs(10));
        assert_eq!(status.and_then(|s| s.code()), Some(0));
        let logs = child.logs();
        assert_eq!(
            logs.contains("keeping state across restarts"),
            kept,
            "{extra:?}: {logs}"
        );
        assert!(
            !home.path().join(".local").exists(),
            "nothing under $HOME: {logs}"
        );
    }
}
