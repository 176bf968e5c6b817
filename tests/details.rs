//! Order details that always make progress: against the simulator over
//! HTTP, with a detail budget far below the orders due, a slow API, 30%
//! server errors and kills, every reissue is read, nothing is read twice,
//! and the account never reads as down because details are slow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use certcentral_test_support::{
    Binary, Exporter, Faults, Scrape, Simulator, exporter_binary, faults_flag, wait_for,
};
use serde_json::Value;

const BIN: Binary = exporter_binary!();

/// CertCentral's windows (1,000 per 3 minutes, 100 per 5 seconds), 120
/// times faster, enforced by the simulator and known to the exporter.
const WINDOWS: &str = "1000/1500ms,100/42ms";
const KEY: &str = "details-test-key";

fn exporter(sim: &Simulator, store: &Path, extra: &[&str]) -> Exporter {
    let url = sim.api_url();
    let store = store.to_str().expect("a UTF-8 path");
    let mut args = vec![
        "--certcentral.url",
        &url,
        "--certcentral.rate-limit",
        WINDOWS,
        "--certcentral.retry-delay",
        "50ms",
        "--storage.path",
        store,
    ];
    args.extend_from_slice(extra);
    Exporter::start(BIN, &args, &[("CERTCENTRAL_API_KEY", KEY)])
}

/// Good answers of a per-order endpoint (`order` or `reissue`), by order.
fn answered(stats: &Value, endpoint: &str) -> BTreeMap<u64, u64> {
    stats["answered"][endpoint]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(id, n)| Some((id.parse().ok()?, n.as_u64()?)))
        .collect()
}

/// Requests of an endpoint, whatever their answer.
fn requests(stats: &Value, endpoint: &str) -> u64 {
    stats["requests"][endpoint]
        .as_object()
        .map_or(0, |codes| codes.values().filter_map(Value::as_u64).sum())
}

/// Orders answered more than once.
fn read_twice(stats: &Value) -> Vec<(String, u64, u64)> {
    ["order", "reissue"]
        .iter()
        .flat_map(|endpoint| {
            answered(stats, endpoint)
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(id, n)| (endpoint.to_string(), id, n))
        })
        .collect()
}

/// Scrapes until the details backlog is 0, checking each scrape.
fn until_drained(exporter: &Exporter, timeout: Duration, mut each: impl FnMut(&Scrape)) -> Scrape {
    wait_for("the details backlog to drain", timeout, || {
        let scrape = exporter.scrape();
        each(&scrape);
        let polls = scrape.sum("certcentral_polls_total", &[]);
        (polls >= 1.0 && scrape.value("certcentral_details_backlog", &[]) == Some(0.0))
            .then_some(scrape)
    })
}

/// Every exported order's expiry on /metrics is the simulator's truth.
fn assert_expiries_match(sim: &Simulator, scrape: &Scrape) {
    let served = scrape.by_label(
        "certcentral_certificate_expiry_timestamp_seconds",
        "order_id",
    );
    let mut wrong = Vec::new();
    for order in sim.orders().iter().filter(|o| o["exported"] == true) {
        let id = order["id"].to_string();
        let truth = order["expiry_timestamp"].as_f64();
        if served.get(&id).copied() != truth {
            wrong.push((served.get(&id).copied(), truth, id));
        }
    }
    assert!(
        wrong.is_empty(),
        "expiries differ from the truth (served, truth, order): {wrong:?}"
    );
}

#[test]
fn a_budget_far_below_the_due_orders_reads_every_reissue_once_most_urgent_first() {
    let sim = Simulator::start(BIN, 400, 5, &["--rate-limit", WINDOWS]);
    let reissued = sim.reissue_urgent_orders(8);
    let dir = tempfile::tempdir().unwrap();

    // One poll with 10 requests: the most urgent units, whole.
    let first = exporter(
        &sim,
        dir.path(),
        &["--certcentral.detail-budget", "10", "--poll.interval", "1h"],
    );
    first.wait_ready();
    let scrape = first.scrape();
    let stats = sim.stats();
    let spent = requests(&stats, "order") + requests(&stats, "reissue");
    assert!(
        (8..=10).contains(&spent),
        "the budget is spent, not exceeded: {spent} requests"
    );
    assert_eq!(
        scrape.value("certcentral_details_due", &[("reason", "reissues")]),
        Some(0.0),
        "no order read in the poll waits for its reissue list: {}",
        scrape.text
    );
    // Read in order of the report's expiry: nothing later than an order
    // left unread (orders waiting on a request, without expiry, come after).
    let read: BTreeSet<u64> = answered(&stats, "order").into_keys().collect();
    let report_day = |o: &Value| o["report_valid_till"].as_str().map(str::to_owned);
    let truth = sim.orders();
    let wanted = |o: &&Value| {
        let status = o["status"].as_str().unwrap_or("");
        !["canceled", "rejected", "revoked"].contains(&status)
            && (status != "expired" || o["days_remaining"].as_i64().is_some_and(|d| d >= -30))
    };
    let latest_read = truth
        .iter()
        .filter(|o| read.contains(&o["id"].as_u64().unwrap_or(0)))
        .filter_map(report_day)
        .max()
        .expect("orders read");
    let earlier_unread: Vec<_> = truth
        .iter()
        .filter(wanted)
        .filter(|o| !read.contains(&o["id"].as_u64().unwrap_or(0)))
        .filter(|o| report_day(o).is_some_and(|d| d < latest_read))
        .map(|o| (o["id"].clone(), report_day(o)))
        .collect();
    assert!(
        earlier_unread.is_empty(),
        "orders expiring before {latest_read} were left for later: {earlier_unread:?}"
    );
    let backlog = scrape
        .value("certcentral_details_backlog", &[])
        .unwrap_or(0.0);
    assert!(
        backlog > 100.0,
        "the budget is far below the due orders: {backlog}"
    );
    drop(first);

    // Polled every second from the store: the backlog drains, every
    // reissued order shows its active certificate, nothing is read twice.
    let second = exporter(
        &sim,
        dir.path(),
        &["--certcentral.detail-budget", "10", "--poll.interval", "1s"],
    );
    second.wait_ready();
    let mut backlogs = Vec::new();
    let drained = until_drained(&second, Duration::from_secs(240), |s| {
        if let Some(b) = s.value("certcentral_details_backlog", &[]) {
            backlogs.push(b);
        }
    });
    assert!(
        backlogs.windows(2).all(|w| w[1] <= w[0]),
        "the backlog never grows: {backlogs:?}"
    );
    for (id, expiry) in &reissued {
        assert_eq!(
            drained.value(
                "certcentral_certificate_expiry_timestamp_seconds",
                &[("order_id", &id.to_string())]
            ),
            Some(*expiry as f64),
            "order {id} shows its reissued certificate"
        );
    }
    assert_expiries_match(&sim, &drained);
    let stats = sim.stats();
    assert!(
        answered(&stats, "reissue").len() >= reissued.len(),
        "{stats}"
    );
    assert_eq!(
        read_twice(&stats),
        [],
        "no order read twice without being due"
    );
}

#[test]
fn slow_details_past_the_poll_timeout_make_progress_with_the_account_up() {
    let faults = faults_flag(&Faults {
        slow_rate: 1.0,
        slow_ms: 300,
        endpoints: Some(vec!["order".into(), "reissue".into()]),
        ..Faults::default()
    });
    let sim = Simulator::start(BIN, 200, 7, &["--rate-limit", WINDOWS, "--faults", &faults]);
    let dir = tempfile::tempdir().unwrap();
    // About 24 detail answers fit in one poll's 4 s; the account needs
    // several times that.
    let exporter = exporter(
        &sim,
        dir.path(),
        &[
            "--poll.interval",
            "4s",
            "--poll.timeout",
            "4s",
            "--certcentral.concurrency",
            "2",
            "--certcentral.detail-budget",
            "100000",
        ],
    );
    exporter.wait_ready();
    let first = exporter.scrape();
    let first_backlog = first
        .value("certcentral_details_backlog", &[])
        .unwrap_or(0.0);
    assert!(
        first_backlog > 50.0,
        "one poll cannot read it all: {first_backlog}"
    );
    let mut backlogs = vec![first_backlog];
    let drained = until_drained(&exporter, Duration::from_secs(180), |s| {
        assert_eq!(
            s.value("certcentral_up", &[]),
            Some(1.0),
            "the account is up: {}",
            s.text
        );
        assert_eq!(
            s.value("certcentral_polls_total", &[("result", "failure")]),
            Some(0.0),
            "no poll fails"
        );
        if let Some(b) = s.value("certcentral_details_backlog", &[])
            && backlogs.last() != Some(&b)
        {
            backlogs.push(b);
        }
    });
    assert!(
        backlogs.windows(2).all(|w| w[1] < w[0]),
        "the backlog shrinks from poll to poll: {backlogs:?}"
    );
    assert!(backlogs.len() >= 3, "it took several polls: {backlogs:?}");
    assert_expiries_match(&sim, &drained);
    assert_eq!(
        read_twice(&sim.stats()),
        [],
        "nothing already read is asked again"
    );
}

/// Orders whose details, and whose reissue lists, the store holds (its
/// snapshot and its journal, as a restart would read them).
fn stored(dir: &Path) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let mut records: BTreeMap<u64, Value> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if name.ends_with(".state.json") {
            let file: Value = serde_json::from_str(&text).expect("a whole snapshot");
            for (id, details) in file["orders"].as_object().expect("orders") {
                records.insert(id.parse().unwrap(), details.clone());
            }
        }
    }
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(".journal.jsonl")
        {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            // The header, then one entry a line; a last line cut by the
            // kill does not count.
            for line in text.lines().skip(1) {
                let Ok(entry) = serde_json::from_str::<Value>(line) else {
                    break;
                };
                let id = entry["order_id"].as_u64().expect("order_id");
                match entry["details"].is_null() {
                    true => records.remove(&id),
                    false => records.insert(id, entry["details"].clone()),
                };
            }
        }
    }
    let lists = records
        .iter()
        .filter(|(_, d)| !d["reissues"]["fetched_at"].is_null())
        .map(|(id, _)| *id)
        .collect();
    (records.into_keys().collect(), lists)
}

/// Orders answered (details, or reissue lists) that the store already held.
fn asked_again(stats: &Value, (details, lists): &(BTreeSet<u64>, BTreeSet<u64>)) -> Vec<u64> {
    answered(stats, "order")
        .into_keys()
        .filter(|id| details.contains(id))
        .chain(
            answered(stats, "reissue")
                .into_keys()
                .filter(|id| lists.contains(id)),
        )
        .collect()
}

#[test]
fn a_kill_at_any_moment_of_the_details_step_loses_nothing_read() {
    let faults = faults_flag(&Faults {
        slow_rate: 1.0,
        slow_ms: 60,
        endpoints: Some(vec!["order".into(), "reissue".into()]),
        ..Faults::default()
    });
    let sim = Simulator::start(BIN, 300, 3, &["--rate-limit", WINDOWS, "--faults", &faults]);
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--poll.interval",
        "1h",
        "--certcentral.concurrency",
        "3",
        "--certcentral.detail-budget",
        "100000",
    ];
    let mut kept = (BTreeSet::new(), BTreeSet::new());
    for kill_after in [7, 23, 41, 80] {
        let exporter = exporter(&sim, dir.path(), &args);
        let before = sim.stats();
        let total = |s: &Value| answered(s, "order").len() + answered(s, "reissue").len();
        wait_for(
            "answers to kill in the middle of",
            Duration::from_secs(60),
            || (total(&sim.stats()) >= total(&before) + kill_after).then_some(()),
        );
        drop(exporter); // SIGKILL
        let stats = sim.stats();
        assert_eq!(
            asked_again(&stats, &kept),
            Vec::<u64>::new(),
            "asked again for what the store held before the kill"
        );
        kept = stored(dir.path());
        assert!(
            kept.0.len() >= kill_after / 2,
            "answers are journalled as they arrive"
        );
        sim.reset_stats();
    }
    // The last start finishes the job, asking nothing it had.
    let last = exporter(&sim, dir.path(), &args);
    last.wait_ready();
    let drained = until_drained(&last, Duration::from_secs(120), |_| {});
    let stats = sim.stats();
    assert_eq!(
        asked_again(&stats, &kept),
        Vec::<u64>::new(),
        "asked again for what the store held"
    );
    assert_expiries_match(&sim, &drained);
}

#[test]
fn thirty_percent_server_errors_keep_the_account_up_and_the_details_cheap() {
    let faults = faults_flag(&Faults {
        error_rate: 0.3,
        seed: Some(42),
        ..Faults::default()
    });
    let sim = Simulator::start(
        BIN,
        300,
        13,
        &["--rate-limit", WINDOWS, "--faults", &faults],
    );
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(
        &sim,
        dir.path(),
        &["--poll.interval", "3s", "--certcentral.detail-budget", "60"],
    );
    exporter.wait_ready();
    let (mut scrapes, mut up) = (0, 0);
    let drained = until_drained(&exporter, Duration::from_secs(180), |s| {
        scrapes += 1;
        up += usize::from(s.value("certcentral_up", &[]) == Some(1.0));
    });
    let failed = drained.value("certcentral_polls_total", &[("result", "failure")]);
    let polls = drained.sum("certcentral_polls_total", &[]);
    assert!(
        up * 10 >= scrapes * 9,
        "up in {up} of {scrapes} scrapes ({failed:?} of {polls} polls failed)"
    );
    let stats = sim.stats();
    let needed = answered(&stats, "order").len() + answered(&stats, "reissue").len();
    let sent = requests(&stats, "order") + requests(&stats, "reissue");
    assert!(
        sent <= 2 * needed as u64,
        "{sent} detail requests for {needed} answers needed"
    );
    assert_expiries_match(&sim, &drained);
    assert_eq!(read_twice(&stats), Vec::new());
}
