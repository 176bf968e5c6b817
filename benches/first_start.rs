//! First start of a large account: how long, at CertCentral's documented
//! rate limit, until every reissued order shows its active certificate
//! (issue "Order details that always make progress"). `cargo bench --bench
//! first_start` prints one markdown table; docs/performance.md publishes it.
//!
//! For each fleet size it starts the simulator (enforcing CertCentral's
//! windows, 1,000 requests per 3 minutes and 100 per 5 seconds, both
//! `BENCH_SCALE` times faster), reissues a share of the issued orders with
//! the report still showing the old certificate (the case where only the
//! reissue list tells the truth), then starts the exporter from an empty
//! store with its defaults (15-minute polls and the detail budget they
//! give), every duration scaled alike. It scrapes until every exported
//! order's expiry is the simulator's truth, and reports that time, the
//! times until the orders expiring within 7 and within 60 days (by the
//! report) were right, and when the details backlog reached 0, each scaled
//! back to real time.
//!
//! Without `--bench` (under `cargo test --all-targets`) it runs a smoke
//! version: 1,000 orders. Environment: `BENCH_SIZES=10000,100000`,
//! `BENCH_SCALE=60`, `BENCH_REISSUED_PERCENT=5`.
//!
//! Times are as seen on `/metrics`: a long details step publishes what it
//! learnt every thirtieth of the poll interval but at most every 2.5 s of
//! wall time, so at a high scale a figure can be late by up to 2.5 s times
//! the scale (printed with the table).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use certcentral_test_support::{Binary, Exporter, Reissue, Simulator, exporter_binary, http};

const BIN: Binary = exporter_binary!();

/// Poll interval and windows at real speed (the exporter's defaults).
const POLL_INTERVAL_SECS: f64 = 900.0;
const WINDOWS: [(u32, f64); 2] = [(1000, 180.0), (100, 5.0)];

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `certcentral_certificate_expiry_timestamp_seconds` by order, from the
/// text (a full parse of a 100,000-order scrape would load the cores the
/// exporter is measured on).
fn served_expiries(text: &str) -> BTreeMap<u64, f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("certcentral_certificate_expiry_timestamp_seconds{"))
        .filter_map(|rest| {
            let id = rest
                .split("order_id=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            let value = rest.rsplit(' ').next()?.parse().ok()?;
            Some((id, value))
        })
        .collect()
}

struct Run {
    orders: usize,
    reissued: usize,
    units: u64,
    critical_right: Duration,
    urgent_right: Duration,
    all_right: Duration,
    drained: Duration,
}

fn run(orders: usize, scale: f64, percent: usize) -> Run {
    let windows = WINDOWS
        .iter()
        .map(|(n, secs)| format!("{n}/{}ms", (secs * 1000.0 / scale).round() as u64))
        .collect::<Vec<_>>()
        .join(",");
    let sim = Simulator::start(BIN, orders, 17, &["--rate-limit", &windows]);
    let client = http();
    let lagging = Reissue {
        valid_till: Some(chrono::Utc::now().date_naive() + chrono::Duration::days(106)),
        report_lags: true,
    };
    let issued: Vec<u64> = sim
        .orders()
        .iter()
        .filter(|o| o["status"] == "issued" && o["in_report"] == true)
        .filter_map(|o| o["id"].as_u64())
        .collect();
    let step = (100 / percent.max(1)).max(1);
    for &id in issued.iter().step_by(step) {
        sim.reissue(id, &lagging);
    }
    let truth = sim.orders();
    let exported: BTreeMap<u64, (f64, Option<i64>)> = truth
        .iter()
        .filter(|o| o["exported"] == true)
        .filter_map(|o| {
            // Days left by the report's date: inside an alert window, an
            // order could page falsely until its details and reissues are
            // read.
            let report_days = o["report_valid_till"]
                .as_str()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| (d - chrono::Utc::now().date_naive()).num_days());
            Some((
                o["id"].as_u64()?,
                (o["expiry_timestamp"].as_f64()?, report_days),
            ))
        })
        .collect();
    let reissued = truth
        .iter()
        .filter(|o| o["exported"] == true && o["report_valid_till"] != o["valid_till"])
        .count();

    let dir = tempfile::tempdir().expect("temp dir");
    let interval = format!("{}ms", (POLL_INTERVAL_SECS * 1000.0 / scale).round() as u64);
    let started = Instant::now();
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &sim.api_url(),
            "--certcentral.rate-limit",
            &windows,
            "--poll.interval",
            &interval,
            "--storage.path",
            dir.path().to_str().expect("UTF-8"),
        ],
        &[("CERTCENTRAL_API_KEY", "bench-key")],
    );
    let (mut critical_right, mut urgent_right, mut all_right, mut drained) =
        (None, None, None, None);
    let deadline = Duration::from_secs((8.0 * 3600.0 / scale) as u64 + 120);
    while started.elapsed() < deadline && (all_right.is_none() || drained.is_none()) {
        std::thread::sleep(Duration::from_millis(500));
        let Ok(text) = client
            .get(format!("{}/metrics", exporter.base))
            .send()
            .and_then(|r| r.text())
        else {
            continue;
        };
        let at = started.elapsed();
        let served = served_expiries(&text);
        // Any order within `days` (by the report) whose expiry is not yet
        // the truth.
        let wrong = |days: i64| {
            exported
                .iter()
                .filter(|(_, (_, left))| left.is_some_and(|d| d < days))
                .any(|(id, (expiry, _))| served.get(id) != Some(expiry))
        };
        for (right, days) in [
            (&mut critical_right, 7),
            (&mut urgent_right, 60),
            (&mut all_right, i64::MAX),
        ] {
            if right.is_none() && !wrong(days) {
                *right = Some(at);
            }
        }
        let backlog = text
            .lines()
            .find_map(|l| l.strip_prefix("certcentral_details_backlog{account=\"default\"} "))
            .and_then(|v| v.parse::<f64>().ok());
        let polled = text
            .contains("certcentral_polls_total{account=\"default\",result=\"success\"} 1")
            || text.contains("result=\"success\"} 2");
        if drained.is_none() && backlog == Some(0.0) && polled {
            drained = Some(at);
        }
    }
    let stats = sim.stats();
    let units = ["order", "reissue"]
        .iter()
        .map(|e| {
            stats["answered"][e]
                .as_object()
                .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum::<u64>())
        })
        .sum();
    let fail = |what: &str| -> Duration {
        panic!(
            "{orders} orders: {what} not reached within {deadline:?}\n{}",
            exporter
                .process
                .logs()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    Run {
        orders,
        reissued,
        units,
        critical_right: critical_right.unwrap_or_else(|| fail("orders within 7 days right")),
        urgent_right: urgent_right.unwrap_or_else(|| fail("orders within 60 days right")),
        all_right: all_right.unwrap_or_else(|| fail("every order right")),
        drained: drained.unwrap_or_else(|| fail("backlog 0")),
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = env_or("BENCH_SIZES", if bench { "10000,100000" } else { "1000" })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let scale: f64 = env_or("BENCH_SCALE", if bench { "60" } else { "600" })
        .parse()
        .expect("BENCH_SCALE: a number");
    let percent: usize = env_or("BENCH_REISSUED_PERCENT", "5")
        .parse()
        .expect("a percentage");
    let real = |d: Duration| {
        let minutes = d.as_secs_f64() * scale / 60.0;
        if minutes < 120.0 {
            format!("{minutes:.0} min")
        } else {
            format!("{:.1} h", minutes / 60.0)
        }
    };
    println!(
        "First start from an empty store, default settings, CertCentral's windows {scale}x faster \
         (times scaled back to real time):\n"
    );
    let late = Duration::from_millis(2500).as_secs_f64() * scale / 60.0;
    let late = late.max(POLL_INTERVAL_SECS / 30.0 / 60.0);
    println!("(each time can be up to {late:.1} min late: the scaled publish cadence)\n");
    println!(
        "| orders | reissued behind the report | detail + reissue answers | orders within 7 days right | within 60 days right | every order right | details backlog 0 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for orders in sizes {
        let r = run(orders, scale, percent);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.orders,
            r.reissued,
            r.units,
            real(r.critical_right),
            real(r.urgent_right),
            real(r.all_right),
            real(r.drained)
        );
    }
}
