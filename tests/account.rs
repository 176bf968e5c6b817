//! The whole account: order details, reissues and subaccount orders, read
//! inside the rate limit, and remembered across restarts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certcentral_test_support::{
    Binary, Exporter, Faults, NOT_FOUND, Reissue, ReportTemplate, Scrape, Simulator,
    exporter_binary, query, stand_in,
};
use serde_json::Value;

const BIN: Binary = exporter_binary!();

/// CertCentral's windows (1,000 per 3 minutes, 100 per 5 seconds), 120
/// times faster, enforced by the simulator and known to the exporter.
const WINDOWS: &str = "1000/1500ms,100/42ms";

fn requests(stats: &Value, endpoint: &str) -> u64 {
    stats["requests"][endpoint]
        .as_object()
        .map_or(0, |codes| codes.values().filter_map(Value::as_u64).sum())
}

fn exporter(sim: &Simulator, store: &str, interval: &str) -> Exporter {
    exporter_with_budget(sim, store, interval, "100000")
}

fn exporter_with_budget(sim: &Simulator, store: &str, interval: &str, budget: &str) -> Exporter {
    let url = sim.api_url();
    Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--certcentral.rate-limit",
            WINDOWS,
            "--certcentral.detail-budget",
            budget,
            "--certcentral.retry-delay",
            "50ms",
            "--poll.interval",
            interval,
            "--storage.path",
            store,
        ],
        &[("CERTCENTRAL_API_KEY", "account-test-key")],
    )
}

/// Scrapes until the exporter has finished `polls` polls.
/// The `report_pages_unchanged` field of each `poll succeeded` log line:
/// pages that came back byte for byte and were not parsed again.
fn pages_unchanged(exporter: &Exporter) -> Vec<(usize, usize)> {
    let field = |line: &str, name: &str| -> usize {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    exporter
        .process
        .logs()
        .lines()
        .filter(|l| l.contains("poll succeeded"))
        .map(|l| (field(l, "report_pages"), field(l, "report_pages_unchanged")))
        .collect()
}

fn after_polls(exporter: &Exporter, polls: f64) -> Scrape {
    exporter.scrape_until(&format!("{polls} polls"), |s| {
        s.value("certcentral_polls_total", &[("result", "success")])
            .unwrap_or(0.0)
            + s.value("certcentral_polls_total", &[("result", "failure")])
                .unwrap_or(0.0)
            >= polls
    })
}

#[test]
fn ten_thousand_orders_inside_the_rate_limit_then_only_what_changed() {
    let sim = Simulator::start(BIN, 10_000, 11, &["--rate-limit", WINDOWS]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let first = exporter(&sim, store, "20s");
    first.wait_ready();
    after_polls(&first, 1.0);
    // The poll is counted as it ends; its render follows.
    let scrape = first.scrape_until("the first poll rendered", |s| {
        let failed = s.value("certcentral_polls_total", &[("result", "failure")]);
        assert_eq!(failed, Some(0.0), "{}", first.process.logs());
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    let s1 = sim.stats();
    assert_eq!(
        s1["rate_limited"], 0,
        "a first poll from an empty store gets no 429: {s1}"
    );
    // Ten full pages and an empty eleventh; a first read, which cannot
    // know where the report ends, asks for at most `concurrency - 1` (3)
    // pages past it, each once. A first poll slower than the interval
    // (a loaded machine) may already be followed by the second, which
    // asks only for the 11 pages known: the offsets answered are the
    // first read's.
    let first_read = s1["answered"]["report"].as_object().map_or(0, |o| o.len()) as u64;
    assert!((11..=14).contains(&first_read), "{s1}");
    let details_first = requests(&s1, "order");
    assert!(details_first > 5000, "{s1}");
    assert_eq!(scrape.value("certcentral_details_backlog", &[]), Some(0.0));

    // A second poll with nothing changed costs the report pages and no detail.
    let second = after_polls(&first, 2.0);
    assert_eq!(second.value("certcentral_up", &[]), Some(1.0));
    let s2 = sim.stats();
    // A read after one that found the report's 11 pages asks for them
    // and nothing more.
    assert_eq!(requests(&s2, "report"), first_read + 11, "{s2}");
    assert_eq!(
        requests(&s2, "order"),
        details_first,
        "no detail request: {s2}"
    );
    assert_eq!(requests(&s2, "reissue"), requests(&s1, "reissue"));
    assert_eq!(s2["rate_limited"], 0);
    assert_eq!(
        pages_unchanged(&first)[..2],
        [(11, 0), (11, 11)],
        "the second read parses no page again"
    );

    // One changed order and one reissue: exactly their requests.
    let truth = sim.orders();
    // Orders with only their first certificate and no plan: their details
    // alone are read.
    let simple = |o: &&Value| {
        o["status"] == "issued"
            && o["valid_till"].is_string()
            && o["multi_year_plan"] != true
            && o["reissues"]
                .as_object()
                .is_none_or(|r| r.values().filter_map(Value::as_u64).sum::<u64>() <= 1)
    };
    let plain = truth.iter().skip(30).find(simple).unwrap();
    let reissued = truth
        .iter()
        .skip(40)
        .filter(simple)
        .find(|o| o["id"] != plain["id"])
        .unwrap();
    let touched = sim.touch(plain["id"].as_u64().unwrap());
    let moved = sim.reissue(reissued["id"].as_u64().unwrap(), &Reissue::default());
    after_polls(&first, 3.0);
    let (pages, unchanged) = pages_unchanged(&first)[2];
    assert!(
        pages == 11 && (9..11).contains(&unchanged),
        "the pages of the two changed orders, and only those, parsed again: {pages} pages, {unchanged} unchanged"
    );
    let s3 = sim.stats();
    assert_eq!(requests(&s3, "order") - requests(&s2, "order"), 2, "{s3}");
    assert_eq!(
        requests(&s3, "reissue") - requests(&s2, "reissue"),
        1,
        "only the reissued order has reissues"
    );
    let expiry_of = |scrape: &Scrape, id: &Value| {
        scrape.value(
            "certcentral_certificate_expiry_timestamp_seconds",
            &[("order_id", &id.to_string())],
        )
    };
    let day = |v: &Value| {
        chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap()
            .and_utc()
            .timestamp() as f64
    };
    // The touch, and the reissue that moved the expiry, once rendered
    // (the end of the valid_till day).
    first.scrape_until("the third poll's expiries", |third| {
        expiry_of(third, &plain["id"]) == Some(day(&touched["valid_till"]))
            && expiry_of(third, &reissued["id"]) == Some(day(&moved["valid_till"]))
    });
    drop(first);

    // A restart with the store costs the report pages and nothing more.
    let before = sim.stats();
    let second_run = exporter(&sim, store, "1h");
    second_run.wait_ready();
    let after = sim.stats();
    let restart_read = requests(&after, "report") - requests(&before, "report");
    assert!(
        (11..=14).contains(&restart_read),
        "a first read again: {after}"
    );
    assert_eq!(
        requests(&after, "order"),
        requests(&before, "order"),
        "no details after a restart: {after}"
    );
    assert_eq!(after["rate_limited"], 0);
    drop(second_run);

    // A store cut off mid-write is set aside and the details read again.
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".state.json"))
        .unwrap()
        .path();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    let before = sim.stats();
    let third_run = exporter(&sim, store, "1h");
    third_run.wait_ready();
    let logs = third_run.process.logs();
    assert!(logs.contains("cannot be trusted"), "{logs}");
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains(".bad-"));
    assert!(aside, "the damaged store is kept aside for a look");
    assert!(requests(&sim.stats(), "order") > requests(&before, "order") + 5000);
}

#[test]
fn subaccount_orders_match_the_simulator_and_are_exported_once() {
    let sim = Simulator::start(BIN, 400, 9, &["--rate-limit", WINDOWS]);
    let exporter = exporter(&sim, "", "1h");
    exporter.wait_ready();
    let scrape = exporter.scrape();
    let truth = sim.subaccount_orders();
    assert!(truth.iter().any(|o| o["in_report"] == true));
    let mut counts = std::collections::BTreeMap::new();
    for order in &truth {
        let id = order["id"].to_string();
        let sub_id = order["subaccount_id"].to_string();
        let series = scrape.value(
            "certcentral_certificate_expiry_timestamp_seconds",
            &[("order_id", &id)],
        );
        // A subaccount order is described with its subaccount.
        let described = scrape.value(
            "certcentral_order_info",
            &[("order_id", &id), ("subaccount_id", &sub_id)],
        );
        if order["in_report"] == true {
            assert!(
                described.is_none(),
                "order {id} is in the report: exported once, from there"
            );
            continue;
        }
        assert_eq!(described, series.map(|_| 1.0), "subaccount order {id}");
        *counts
            .entry((sub_id, order["status"].as_str().unwrap().to_owned()))
            .or_insert(0.0) += 1.0;
        assert_eq!(
            series,
            order["expiry_timestamp"].as_f64(),
            "subaccount order {id}"
        );
    }
    for ((sub_id, status), count) in counts {
        let value = scrape.value(
            "certcentral_subaccount_orders",
            &[("subaccount_id", &sub_id), ("status", &status)],
        );
        assert_eq!(value, Some(count), "subaccount {sub_id} {status}");
    }
    assert!(
        scrape
            .value("certcentral_subaccount_order_cost", &[("currency", "USD")])
            .unwrap()
            > 0.0
    );
}

#[test]
fn a_429_burst_and_a_run_of_500s_are_ridden_out_without_losing_data() {
    let sim = Simulator::start(BIN, 300, 4, &["--rate-limit", WINDOWS]);
    let exporter = exporter(&sim, "", "2s");
    exporter.wait_ready();
    let count = |s: &Scrape| {
        s.samples
            .iter()
            .filter(|x| x.metric == "certcentral_certificate_days_remaining")
            .count()
    };
    let baseline = count(&exporter.scrape());
    assert!(baseline > 100);
    sim.set_faults(&Faults {
        rate_limit_burst: 6,
        ..Faults::default()
    });
    let scrape = exporter.scrape_until("the 429s to be counted", |s| {
        s.sum("certcentral_api_requests_total", &[("code", "429")]) >= 6.0
    });
    let polls = scrape
        .value("certcentral_polls_total", &[("result", "success")])
        .unwrap();
    let scrape = exporter.scrape_until("a poll after the burst", |s| {
        s.value("certcentral_polls_total", &[("result", "success")])
            .is_some_and(|v| v > polls)
    });
    assert_eq!(
        scrape.value("certcentral_up", &[]),
        Some(1.0),
        "the burst was ridden out"
    );
    assert_eq!(
        scrape.value("certcentral_poll_errors_total", &[("kind", "rate_limited")]),
        Some(0.0),
        "no poll failed for the burst"
    );

    sim.set_faults(&Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let down = exporter.scrape_until("the outage to show", |s| {
        s.value("certcentral_up", &[]) == Some(0.0)
    });
    assert!(
        down.value("certcentral_poll_errors_total", &[("kind", "server")])
            .is_some_and(|v| v >= 1.0)
    );
    assert_eq!(count(&down), baseline, "the last good data is still served");
    assert!(down.sum("certcentral_api_retries_total", &[("kind", "server")]) >= 3.0);

    sim.set_faults(&Faults::default());
    let up = exporter.scrape_until("recovery", |s| s.value("certcentral_up", &[]) == Some(1.0));
    assert_eq!(count(&up), baseline);
    let logs = exporter.process.logs();
    let failures = logs.lines().filter(|l| l.contains("poll failed")).count();
    let retries = logs
        .lines()
        .filter(|l| l.contains("retrying a CertCentral request"))
        .count();
    assert!(
        failures >= 1 && retries > failures,
        "one line per failure, retries at debug: {failures} {retries}"
    );
}

#[test]
fn several_accounts_from_a_config_file_each_under_its_own_label() {
    let alpha = Simulator::start(BIN, 50, 1, &["--api-key", "key-alpha"]);
    let beta = Simulator::start(BIN, 80, 2, &["--api-key", "key-beta"]);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("beta.key");
    std::fs::write(&key_file, "key-beta\n").unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let config = dir.path().join("accounts.yml");
    std::fs::write(
        &config,
        format!(
            "accounts:\n  - name: alpha\n    api_key_env: ALPHA_KEY\n    url: {}\n  - name: beta\n    api_key_file: {}\n    url: {}\n    rate_limit: 5000/3m,500/5s\n    compliance:\n      disabled_rules: [duplicates_present]\n",
            alpha.api_url(),
            key_file.display(),
            beta.api_url()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(
        BIN,
        &[
            "--config.file",
            config.to_str().unwrap(),
            "--storage.path",
            "",
            "--poll.interval",
            "1h",
        ],
        &[("ALPHA_KEY", "key-alpha")],
    );
    exporter.wait_ready();
    let scrape = exporter.scrape();
    for (account, sim) in [("alpha", &alpha), ("beta", &beta)] {
        assert_eq!(
            scrape.value("certcentral_up", &[("account", account)]),
            Some(1.0),
            "{}",
            exporter.process.logs()
        );
        let orders = scrape.sum("certcentral_orders", &[("account", account)]);
        assert_eq!(orders, sim.orders().len() as f64, "{account}");
    }
    assert!(
        scrape
            .value(
                "certcentral_compliance_violations",
                &[("account", "alpha"), ("rule", "duplicates_present")]
            )
            .is_some()
    );
    assert!(
        scrape
            .value(
                "certcentral_compliance_violations",
                &[("account", "beta"), ("rule", "duplicates_present")]
            )
            .is_none(),
        "switched off for beta only"
    );
}

/// A subaccount listing of several pages is read with its pages asked for
/// ahead, several at once once the first has said the total: still one
/// request a page, every order once.
#[test]
fn a_subaccount_listing_of_several_pages_is_read_with_one_request_a_page() {
    let sim = Simulator::start(BIN, 30_000, 5, &["--rate-limit", WINDOWS]);
    let truth = sim.subaccount_orders();
    let pages = truth.len().div_ceil(1000) as u64;
    assert!(pages >= 3, "{} subaccount orders", truth.len());
    let exporter = exporter_with_budget(&sim, "", "1h", "0");
    exporter.wait_ready();
    after_polls(&exporter, 1.0);
    let scrape = exporter.scrape_until("the first poll rendered", |s| {
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    assert_eq!(
        requests(&sim.stats(), "subaccount_orders"),
        pages,
        "one request a page: {}",
        sim.stats()
    );
    let only_in_listing = truth.iter().filter(|o| o["in_report"] != true).count();
    assert_eq!(
        scrape.sum("certcentral_subaccount_orders", &[]),
        only_in_listing as f64,
        "every order of the listing counted once"
    );

    // The pages asked for ahead come back late (every one, 200 ms) or
    // failing (30% 5xx): a fresh exporter still lists every order once.
    drop(exporter);
    sim.set_faults(&Faults {
        error_rate: 0.3,
        slow_rate: 1.0,
        slow_ms: 200,
        endpoints: Some(vec!["subaccount_orders".to_owned()]),
        seed: Some(7),
        ..Faults::default()
    });
    let struggling = exporter_with_budget(&sim, "", "1h", "0");
    struggling.wait_ready();
    after_polls(&struggling, 1.0);
    let scrape = struggling.scrape_until("the struggling poll rendered", |s| {
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    let stats = sim.stats();
    assert!(
        stats["faults_injected"]["slow"].as_u64().unwrap_or(0) >= pages,
        "every page was late: {stats}"
    );
    assert_eq!(
        scrape.sum("certcentral_subaccount_orders", &[]),
        only_in_listing as f64,
        "every order counted once through the faults: {}",
        struggling.process.logs()
    );
}

/// Report pages several at a time, while pages come back late (and so out
/// of order) and 30% of answers fail: every order counted once, every
/// page answered once, and a first read asks for at most
/// `concurrency - 1` pages past the end.
#[test]
fn report_pages_in_flight_under_faults_count_every_order_once() {
    let faults = Faults {
        error_rate: 0.3,
        slow_rate: 0.5,
        slow_ms: 300,
        ..Faults::default()
    };
    let sim = Simulator::start(
        BIN,
        4_500,
        23,
        &[
            "--rate-limit",
            WINDOWS,
            "--faults",
            &certcentral_test_support::faults_flag(&faults),
        ],
    );
    let url = sim.api_url();
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--certcentral.rate-limit",
            WINDOWS,
            "--certcentral.retry-delay",
            "20ms",
            "--certcentral.max-retries",
            "10",
            "--certcentral.detail-budget",
            "0",
            "--poll.interval",
            "1h",
            "--storage.path",
            "",
        ],
        &[("CERTCENTRAL_API_KEY", "account-test-key")],
    );
    let scrape = exporter.scrape_until("the first poll", |s| {
        s.value("certcentral_polls_total", &[("result", "success")]) == Some(1.0)
    });
    let truth = sim.orders();
    assert_eq!(truth.len(), 4_500);
    assert_eq!(
        scrape.sum("certcentral_orders", &[]),
        4_500.0,
        "every order of the report counted once"
    );
    let stats = sim.stats();
    let answered: Vec<(u64, u64)> = stats["answered"]["report"]
        .as_object()
        .expect("report answers by offset")
        .iter()
        .map(|(offset, n)| (offset.parse().unwrap(), n.as_u64().unwrap()))
        .collect();
    for offset in (0..=4_000).step_by(1_000) {
        assert!(
            answered.contains(&(offset, 1)),
            "page at {offset} answered once: {answered:?}"
        );
    }
    let past_end = answered
        .iter()
        .filter(|(offset, _)| *offset > 4_000)
        .count();
    assert!(past_end <= 3, "{answered:?}");
    assert!(
        answered.iter().all(|(_, n)| *n == 1),
        "no page answered twice: {answered:?}"
    );
    for fault in ["error", "slow"] {
        assert!(
            stats["faults_injected"][fault].as_u64() > Some(0),
            "the faults were on: {stats}"
        );
    }
}

/// A report that grows, then shrinks, under the read: its size changes
/// once a poll's first request is answered, while the poll's other pages
/// are in flight (and may be answered in any order). Each poll succeeds
/// and counts the report as it was or as it became, every order once,
/// asking for no page twice; a poll after one that found N pages reads on
/// past them only when the last comes back full, and a shorter report ends
/// the read at its short page. The poll after the last change counts it
/// exactly.
#[test]
fn a_report_growing_or_shrinking_under_pages_in_flight_is_counted_as_it_is() {
    // The orders in the report at each poll's first answer, then at its
    // others (pages of 100): the first, then grown between polls, shrunk
    // under the read, grown under the read, settled. Polls are 3 s apart
    // and take a fraction of a second.
    const PLAN: [(usize, usize); 5] = [(250, 250), (450, 450), (450, 150), (150, 350), (350, 350)];
    let template = ReportTemplate::sample();
    // Offsets asked for, by poll (1, 2, ...).
    let asked: Arc<Mutex<BTreeMap<usize, BTreeMap<usize, usize>>>> = Arc::default();
    let seen = asked.clone();
    let mut poll = 0;
    let mut last_request: Option<Instant> = None;
    let base = stand_in(move |request| {
        if !request.contains("/report/order") {
            return (NOT_FOUND.0, NOT_FOUND.1.to_owned());
        }
        let first_of_poll = last_request.is_none_or(|at| at.elapsed() > Duration::from_secs(1));
        last_request = Some(Instant::now());
        if first_of_poll {
            poll += 1;
        }
        let (offset, limit) = (query(request, "offset"), query(request, "limit"));
        *seen
            .lock()
            .unwrap()
            .entry(poll)
            .or_default()
            .entry(offset)
            .or_default() += 1;
        let (was, is) = PLAN[poll.min(PLAN.len()) - 1];
        let size = if first_of_poll { was } else { is };
        let rows = (offset..(offset + limit).min(size))
            .map(|id| template.row(&[("order_id", (7_000_000 + id).to_string())]));
        ("200 OK", template.page(rows))
    });
    let url = format!("{base}/services/v2");
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--certcentral.page-size",
            "100",
            "--certcentral.detail-budget",
            "0",
            "--poll.interval",
            "3s",
            "--storage.path",
            "",
        ],
        &[("CERTCENTRAL_API_KEY", "account-test-key")],
    );
    // Orders counted by each poll, from its log line.
    let counted = || -> Vec<usize> {
        let logs = exporter.process.logs();
        logs.lines()
            .filter(|l| l.contains("poll succeeded"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|f| f.strip_prefix("orders="))?
                    .parse()
                    .ok()
            })
            .collect()
    };
    let scrape = exporter.scrape_until("five polls, the last rendered", |s| {
        s.value("certcentral_polls_total", &[("result", "success")]) >= Some(5.0)
            && s.sum("certcentral_orders", &[]) == 350.0
    });
    assert_eq!(
        scrape
            .value("certcentral_polls_total", &[("result", "failure")])
            .unwrap_or(0.0),
        0.0,
        "{}",
        exporter.process.logs()
    );
    let counted = counted();
    for (poll, (was, is)) in PLAN.iter().enumerate() {
        assert!(
            [was, is].contains(&&counted[poll]),
            "poll {} counted {} of {was} then {is}: {counted:?}",
            poll + 1,
            counted[poll]
        );
    }

    let asked = asked.lock().unwrap().clone();
    for poll in 1..=PLAN.len() {
        assert!(
            asked[&poll].values().all(|n| *n == 1),
            "poll {poll} asked for no page twice: {asked:?}"
        );
    }
    let offsets = |poll: usize| -> Vec<usize> { asked[&poll].keys().copied().collect() };
    // The first read: 3 pages, and at most 3 past them.
    assert!(offsets(1).starts_with(&[0, 100, 200]), "{asked:?}");
    assert!(offsets(1).iter().all(|o| *o <= 500), "{asked:?}");
    // Grown between polls: the 3 pages known, on past the full third to
    // the short fifth, then at most 3 past it.
    assert!(
        offsets(2).starts_with(&[0, 100, 200, 300, 400]),
        "{asked:?}"
    );
    assert!(offsets(2).iter().all(|o| *o <= 700), "{asked:?}");
    // Shrunk under the read: at most the 5 pages known; none past them.
    assert!(offsets(3).starts_with(&[0, 100]), "{asked:?}");
    assert!(offsets(3).iter().all(|o| *o <= 400), "{asked:?}");
    // Grown under the read: the pages known, and on past them only when
    // the last came back full.
    let known = counted[2] / 100 + 1;
    let last_known = (known - 1) * 100;
    assert!(offsets(4).starts_with(&[0, 100]), "{asked:?}");
    if counted[3] > last_known + 100 {
        assert!(offsets(4).contains(&300), "read on: {asked:?}");
    }
    assert!(offsets(4).iter().all(|o| *o <= 600), "{asked:?}");
    // Settled: the read counts the 350 orders exactly.
    assert!(offsets(5).starts_with(&[0, 100, 200, 300]), "{asked:?}");
}
