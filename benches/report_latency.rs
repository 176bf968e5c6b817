//! Polls bound by the rate limit, not by latency (issue "Polls bound by the
//! rate limit"): how long the exporter takes to read a large report whose
//! every page takes the server a while, against downloading the same pages
//! one by one. `cargo bench --bench report_latency` prints one markdown
//! table; docs/performance.md publishes it.
//!
//! For each latency it starts the simulator (100,000 orders, CertCentral's
//! windows, every report page delayed by the latency: the `slow` fault on
//! the report alone), builds every page once before the clock starts (the
//! truth mints every certificate; a warm-up read of the pages with another
//! key), times a one-by-one download of the pages (another key, so the
//! exporter's budget is its own), then starts the exporter (default
//! concurrency, no detail requests, so that a poll is the report and the
//! listings beside it) and reads the first poll's and a later poll's
//! durations from its log.
//!
//! It also prints, for each poll, the exporter's CPU time and its peak
//! resident memory (VmHWM) at the poll's end. `BENCH_EXPORTER=PATH` runs
//! another build of the exporter against the same simulator (this one),
//! to compare builds.
//!
//! Without `--bench` (under `cargo test --all-targets`) it runs a smoke
//! version: 3,000 orders, 50 ms. Environment: `BENCH_ORDERS=100000`,
//! `BENCH_LATENCIES_MS=150,1000`.

use std::time::{Duration, Instant};

use certcentral_test_support::{
    Binary, Exporter, Faults, Simulator, exporter_binary, faults_flag, http,
};

const BIN: Binary = exporter_binary!();
const PAGE: usize = 1000;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Reads every report page in turn with `key`; how long it took and the
/// pages read.
fn one_by_one(sim: &Simulator, key: &str) -> (Duration, usize) {
    let client = http();
    let started = Instant::now();
    for page in 0.. {
        let body = client
            .get(format!(
                "{}/report/order?limit={PAGE}&offset={}",
                sim.api_url(),
                page * PAGE
            ))
            .header("X-DC-DEVKEY", key)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.text())
            .expect("a report page");
        if body.lines().count() < PAGE + 1 {
            return (started.elapsed(), page + 1);
        }
    }
    unreachable!("the loop returns")
}

/// The exporter to time: this build, or `BENCH_EXPORTER`'s.
fn exporter_binary() -> Binary {
    match std::env::var("BENCH_EXPORTER") {
        Ok(path) => Binary::new(Box::leak(path.into_boxed_str())),
        Err(_) => BIN,
    }
}

/// `(report_ms, duration_ms)` of each `poll succeeded` log line so far.
fn polls(exporter: &Exporter) -> Vec<(u64, u64)> {
    let field = |line: &str, name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    exporter
        .process
        .logs()
        .lines()
        .filter(|l| l.contains("poll succeeded"))
        .map(|l| (field(l, "report_ms"), field(l, "duration_ms")))
        .collect()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let orders: usize = env_or("BENCH_ORDERS", if bench { "100000" } else { "3000" })
        .parse()
        .expect("BENCH_ORDERS: a number");
    let latencies: Vec<u64> = env_or("BENCH_LATENCIES_MS", if bench { "150,1000" } else { "50" })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "{orders} orders, report pages of {PAGE}, CertCentral's windows (1000/3m, 100/5s), default concurrency:\n"
    );
    println!(
        "| latency a page | pages | one by one | first poll (report) | later poll (report) | first / one by one | later / one by one | 429 answers | CPU first / later poll | peak RSS after first / later poll |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for latency in latencies {
        let faults = Faults {
            slow_rate: 1.0,
            slow_ms: latency,
            endpoints: Some(vec!["report".to_owned()]),
            ..Faults::default()
        };
        let sim = Simulator::start(BIN, orders, 31, &["--faults", &faults_flag(&faults)]);
        // Every certificate minted, every page built once.
        let _ = sim.orders();
        one_by_one(&sim, "warm-up-key");
        let (baseline, pages) = one_by_one(&sim, "one-by-one-key");
        let url = sim.api_url();
        let exporter = Exporter::start(
            exporter_binary(),
            &[
                "--certcentral.url",
                &url,
                "--certcentral.detail-budget",
                "0",
                // Polls back to back: the second starts as the first ends.
                "--poll.interval",
                "1s",
                "--poll.timeout",
                "15m",
                "--storage.path",
                "",
                "--log.level",
                "info",
            ],
            &[("CERTCENTRAL_API_KEY", "exporter-key")],
        );
        let deadline = Instant::now() + baseline * 4 + Duration::from_secs(120);
        // CPU and peak memory as each poll's line appears (within 50 ms of
        // its end; the next poll starts a second later).
        let mut usage = vec![(exporter.process.cpu(), 0.0)];
        let done = loop {
            let done = polls(&exporter);
            while usage.len() <= done.len() {
                usage.push((exporter.process.cpu(), exporter.process.memory_mb().0));
            }
            if done.len() >= 2 || Instant::now() > deadline {
                break done;
            }
            exporter.process.assert_running();
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(done.len() >= 2, "two polls: {}", exporter.process.tail());
        let stats = sim.stats();
        let rate_limited = stats["rate_limited"].as_u64().unwrap_or(0);
        let ms = |d: u64| format!("{:.1} s", d as f64 / 1000.0);
        let base = baseline.as_millis() as f64;
        let cpu = |poll: usize| usage[poll + 1].0.since(usage[poll].0);
        println!(
            "| {latency} ms | {pages} | {:.1} s | {} ({}) | {} ({}) | {:.2} | {:.2} | {rate_limited} | {:.2} s / {:.2} s | {:.0} MB / {:.0} MB |",
            baseline.as_secs_f64(),
            ms(done[0].1),
            ms(done[0].0),
            ms(done[1].1),
            ms(done[1].0),
            done[0].1 as f64 / base,
            done[1].1 as f64 / base,
            cpu(0),
            cpu(1),
            usage[1].1,
            usage[2].1,
        );
    }
}
