//! The exporter end to end on the order report: the real binary against the
//! simulator over HTTP, scraped and parsed like Prometheus would.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use certcentral_test_support::{
    Binary, Exporter, NOT_FOUND, REPORT_SAMPLE, ReportTemplate, Scrape, Simulator, exporter_binary,
    query, raw_http, stand_in, wait_for,
};

const BIN: Binary = exporter_binary!();

/// Fast windows on both sides, so a test reads thousands of orders in seconds.
const FAST: &[&str] = &["--rate-limit", "200000/3m,20000/5s"];
const FAST_EXPORTER: [&str; 6] = [
    "--certcentral.rate-limit",
    "200000/3m,20000/5s",
    "--certcentral.detail-budget",
    "100000",
    "--certcentral.retry-delay",
    "50ms",
];

fn exporter_for(sim: &Simulator, extra: &[&str], key: &str) -> Exporter {
    let url = sim.api_url();
    let mut args = vec!["--certcentral.url", &url, "--storage.path", ""];
    args.extend_from_slice(&FAST_EXPORTER);
    args.extend_from_slice(extra);
    Exporter::start(BIN, &args, &[("CERTCENTRAL_API_KEY", key)])
}

fn as_u64(v: &serde_json::Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

#[test]
fn metrics_match_the_simulated_fleet_over_three_full_pages_and_an_empty_fourth() {
    let sim = Simulator::start(BIN, 3000, 42, FAST);
    let exporter = exporter_for(&sim, &["--poll.interval", "1h"], "any-key");
    exporter.wait_ready();
    let scrape = exporter.scrape();
    assert_eq!(
        scrape.value("certcentral_up", &[("account", "default")]),
        Some(1.0),
        "{}",
        exporter.process.logs()
    );

    let truth = sim.orders();
    assert_eq!(truth.len(), 3000);
    let expiry = scrape.by_label(
        "certcentral_certificate_expiry_timestamp_seconds",
        "order_id",
    );
    let days = scrape.by_label("certcentral_certificate_days_remaining", "order_id");
    let auto_renew = scrape.by_label("certcentral_order_auto_renew", "order_id");
    let duplicates = scrape.by_label("certcentral_order_has_duplicates", "order_id");
    let renewed = scrape.by_label("certcentral_order_renewed", "order_id");
    let mut exported = 0;
    let mut statuses: BTreeMap<String, f64> = BTreeMap::new();
    for order in &truth {
        let id = as_u64(order, "id").to_string();
        *statuses
            .entry(order["status"].as_str().unwrap().to_owned())
            .or_default() += 1.0;
        if !order["exported"].as_bool().unwrap() {
            assert!(
                !auto_renew.contains_key(&id),
                "order {id} ({}) has no per-order series",
                order["status"]
            );
            continue;
        }
        exported += 1;
        assert_eq!(
            expiry.get(&id).copied(),
            order["expiry_timestamp"].as_f64(),
            "expiry of {id}"
        );
        assert_eq!(
            days.get(&id).copied(),
            order["days_remaining"].as_f64(),
            "days remaining of {id}"
        );
        let flag = |name: &str| f64::from(u8::from(order[name].as_bool().unwrap()));
        assert_eq!(
            auto_renew.get(&id).copied(),
            Some(flag("auto_renew")),
            "auto-renew of {id}"
        );
        assert_eq!(
            duplicates.get(&id).copied(),
            Some(flag("has_duplicates")),
            "duplicates of {id}"
        );
        assert_eq!(
            renewed.get(&id).copied(),
            Some(flag("renewed")),
            "renewed of {id}"
        );
    }
    // The simulated mix moves with the date (orders age out of issued):
    // 1,496 of the 3,000 on 2026-12-03. More than a page's worth is what the
    // comparison above needs to mean something.
    assert!(exported > 1000, "many orders are exported: {exported}");
    assert_eq!(scrape.by_label("certcentral_orders", "status"), statuses);

    // 3000 orders: three full pages, then an empty (header-only) fourth;
    // a first read asks for at most `concurrency - 1` (3) pages past it,
    // and for no page twice.
    let stats = sim.stats();
    let pages = stats["requests"]["report"]["200"].as_u64().unwrap_or(0);
    assert!((4..=7).contains(&pages), "{stats}");
    let answered = stats["answered"]["report"].as_object().unwrap();
    assert!(answered.values().all(|n| n == 1), "{stats}");
    assert_eq!(stats["rate_limited"], 0);
}

#[test]
fn an_order_that_leaves_the_report_leaves_metrics_at_the_next_poll() {
    let sim = Simulator::start(BIN, 60, 5, FAST);
    let exporter = exporter_for(&sim, &["--poll.interval", "1s"], "any-key");
    exporter.wait_ready();
    let truth = sim.orders();
    let gone = truth
        .iter()
        .find(|o| o["exported"].as_bool() == Some(true))
        .expect("an issued order");
    let id = as_u64(gone, "id").to_string();
    let has = |s: &Scrape| {
        s.samples
            .iter()
            .any(|x| x.labels.get("order_id") == Some(id.as_str()))
    };
    assert!(has(&exporter.scrape()));
    sim.remove_order(as_u64(gone, "id"));
    let after = exporter.scrape_until("the removed order's series to go", |s| !has(s));
    assert!(after.value("certcentral_up", &[]) == Some(1.0));
    let issued_before = truth.iter().filter(|o| o["status"] == "issued").count() as f64;
    let issued_now = after.value(
        "certcentral_orders",
        &[("status", gone["status"].as_str().unwrap())],
    );
    if gone["status"] == "issued" {
        assert_eq!(issued_now, Some(issued_before - 1.0));
    }
}

#[test]
fn a_rejected_key_keeps_the_process_serving_with_up_0_and_never_shows_the_key() {
    const KEY: &str = "WRONG-KEY-d7f3a9c2e1b04";
    let sim = Simulator::start(BIN, 20, 1, &["--api-key", "the-right-key"]);
    let exporter = exporter_for(&sim, &["--poll.interval", "1s"], KEY);
    exporter.wait_ready();
    let scrape = exporter.scrape_until("a failed poll counted", |s| {
        s.value("certcentral_poll_errors_total", &[("kind", "auth")])
            .is_some_and(|v| v >= 2.0)
    });
    assert_eq!(scrape.value("certcentral_up", &[]), Some(0.0));
    assert!(
        scrape
            .value(
                "certcentral_api_requests_total",
                &[("endpoint", "report"), ("code", "401")]
            )
            .is_some_and(|v| v >= 1.0)
    );
    assert!(exporter.process.is_running());
    let landing = exporter.get("/").text().unwrap();
    assert!(landing.contains("rejected the API key"), "{landing}");
    let logs = exporter.process.logs();
    assert!(
        logs.contains("rejected the API key"),
        "the failure is logged: {logs}"
    );
    // There never was any data to keep serving, and the log does not
    // claim there was.
    assert!(logs.contains("poll failed; no order data yet"), "{logs}");
    assert!(!logs.contains("still serving the last good data"), "{logs}");
    for (what, text) in [
        ("metrics", &scrape.text),
        ("landing page", &landing),
        ("logs", &logs),
    ] {
        assert!(!text.contains(KEY), "the key is in the {what}");
    }
}

#[test]
fn gzip_is_served_when_asked_and_matches_the_plain_text() {
    let sim = Simulator::start(BIN, 200, 3, FAST);
    let exporter = exporter_for(&sim, &["--poll.interval", "1h"], "k");
    exporter.wait_ready();
    let client = raw_http(Duration::from_secs(30));
    let url = format!("{}/metrics", exporter.base);
    let plain = client.get(&url).send().unwrap().text().unwrap();
    let response = client
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        compressed.len() * 4 < text.len(),
        "{} -> {}",
        text.len(),
        compressed.len()
    );
    // The fleet part is the same bytes; the process counters may have moved.
    let fleet = |t: &str| {
        t.lines()
            .filter(|l| l.contains("certcentral_certificate_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(fleet(&plain), fleet(&text));
    Scrape::parse(&text);
}

#[test]
fn the_landing_page_health_and_readiness() {
    let sim = Simulator::start(BIN, 10, 1, &[]);
    let exporter = exporter_for(&sim, &["--poll.interval", "1h"], "k");
    exporter.wait_healthy(Duration::from_secs(30));
    exporter.wait_ready();
    let landing = exporter.get("/").text().unwrap();
    assert!(
        landing.contains("href=\"/metrics\"") && landing.contains("success"),
        "{landing}"
    );
    let stats = wait_for("stats", Duration::from_secs(5), || Some(sim.stats()));
    assert!(stats["total"].as_u64().unwrap() >= 1);
}

#[test]
fn each_poll_is_rendered_once_and_scrapes_render_nothing() {
    let sim = Simulator::start(BIN, 1500, 3, FAST);
    let exporter = exporter_for(&sim, &["--poll.interval", "1s"], "any-key");
    exporter.wait_ready();
    // Every scrape along the way, back to back between and during polls:
    // renders never outnumber polls (one more allowed for a UTC midnight).
    let last = exporter.scrape_until("four polls rendered", |scrape| {
        let renders = scrape.sum("certcentral_exporter_renders_total", &[]);
        let polls = scrape.sum("certcentral_polls_total", &[]);
        assert!(
            renders <= polls + 1.0,
            "{renders} renders for {polls} polls"
        );
        renders >= 4.0
    });
    assert!(
        last.value("certcentral_exporter_render_duration_seconds", &[])
            .is_some_and(|d| d > 0.0)
    );
}

/// With `--config.file`, an account that names no URL or key polls
/// `--certcentral.url` with `--certcentral.api-key-file`'s key (it went to
/// www.digicert.com before), beside an account with its own; and `--demo`
/// says that it does not poll the file's accounts.
#[test]
fn accounts_of_the_config_file_fall_back_to_the_url_and_key_flags() {
    let sim = Simulator::start(
        BIN,
        50,
        3,
        &[
            "--api-key",
            "flag-key",
            "--rate-limit",
            "200000/3m,20000/5s",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "flag-key\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = dir.path().join("accounts.yml");
    std::fs::write(
        &config,
        format!(
            "accounts:\n  - name: plain\n  - name: own\n    api_key_env: OWN_KEY\n    url: {}\n",
            sim.api_url()
        ),
    )
    .unwrap();
    let url = sim.api_url();
    let mut args = vec![
        "--certcentral.url",
        &url,
        "--certcentral.api-key-file",
        key.to_str().unwrap(),
        "--config.file",
        config.to_str().unwrap(),
        "--storage.path",
        "",
    ];
    args.extend_from_slice(&FAST_EXPORTER);
    let exporter = Exporter::start(BIN, &args, &[("OWN_KEY", "flag-key")]);
    exporter.wait_ready();
    let scrape = exporter.scrape();
    for account in ["plain", "own"] {
        assert_eq!(
            scrape.value("certcentral_up", &[("account", account)]),
            Some(1.0),
            "account {account}: {}",
            exporter.process.logs()
        );
    }

    let demo = Exporter::start(
        BIN,
        &[
            "--demo",
            "--demo.orders",
            "20",
            "--config.file",
            config.to_str().unwrap(),
        ],
        &[],
    );
    demo.wait_ready();
    let logs = demo.process.logs();
    assert!(
        logs.contains("accounts of --config.file are not polled") && logs.contains("accounts=2"),
        "{logs}"
    );
}

/// The demo needs no key and has nothing wrong with it: its log has no
/// warning or error while it starts and polls.
#[test]
fn the_demo_starts_and_polls_without_a_warning() {
    let demo = Exporter::start(BIN, &["--demo", "--log.level", "info"], &[]);
    demo.wait_ready();
    demo.scrape_until("the demo's details read", |s| {
        s.value("certcentral_details_backlog", &[]) == Some(0.0)
    });
    let logs = demo.process.logs();
    assert!(logs.contains("poll succeeded"), "{logs}");
    let loud: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

/// A report whose pages are always full of new orders (a broken or hostile
/// upstream) stops at `--certcentral.max-orders` rows: the poll fails with
/// a reason that names the flag, the last good fleet stays served, and
/// memory does not grow until the poll's deadline.
#[test]
fn a_report_that_never_ends_stops_at_max_orders_and_keeps_the_last_good_data() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    // The sample's first order (its CSR spans lines), as a template.
    let template = ReportTemplate::sample();
    let page_of = move |ids: std::ops::Range<usize>| -> String {
        template.page(ids.map(|id| template.row(&[("order_id", (5_000_000 + id).to_string())])))
    };
    let endless = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicUsize::new(0));
    let (serving, counted) = (endless.clone(), pages.clone());
    let base = stand_in(move |request| {
        if !request.contains("/report/order") {
            (NOT_FOUND.0, NOT_FOUND.1.to_owned())
        } else if serving.load(Ordering::SeqCst) {
            counted.fetch_add(1, Ordering::SeqCst);
            let (offset, limit) = (query(request, "offset"), query(request, "limit"));
            ("200 OK", page_of(offset..offset + limit))
        } else {
            ("200 OK", REPORT_SAMPLE.to_owned())
        }
    });
    let base = format!("{base}/services/v2");
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &base,
            "--storage.path",
            "",
            "--poll.interval",
            "2s",
            "--certcentral.page-size",
            "50",
            "--certcentral.max-orders",
            "500",
        ],
        &[("CERTCENTRAL_API_KEY", "endless-key")],
    );
    exporter.wait_ready();
    let orders = |s: &Scrape| s.sum("certcentral_orders", &[]);
    let good = exporter.scrape_until("the sample fleet", |s| orders(s) == 3.0);
    let failures = |s: &Scrape| s.value("certcentral_poll_errors_total", &[("kind", "decode")]);
    let before = failures(&good).unwrap_or(0.0);
    endless.store(true, Ordering::SeqCst);
    // The error counter moves at once; `up` with the next render.
    let after = wait_for("a poll stopped at the cap", Duration::from_secs(60), || {
        assert!(exporter.process.is_running(), "{}", exporter.process.logs());
        Some(exporter.scrape()).filter(|s| {
            failures(s).is_some_and(|f| f > before) && s.value("certcentral_up", &[]) == Some(0.0)
        })
    });
    assert_eq!(orders(&after), 3.0, "the last good fleet is still served");
    let logs = exporter.process.logs();
    assert!(
        logs.contains("holds more than 500 rows (--certcentral.max-orders)"),
        "{logs}"
    );
    let polls = after
        .value("certcentral_polls_total", &[("result", "failure")])
        .unwrap_or(1.0);
    let asked = pages.load(Ordering::SeqCst) as f64;
    assert!(
        asked <= (polls + 1.0) * 14.0,
        "{asked} pages asked for in {polls} failed polls"
    );
}
