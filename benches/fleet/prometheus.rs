//! What the exposition costs the Prometheus that scrapes it (issue 17),
//! before and after the descriptive labels moved onto one
//! `certcentral_order_info` series per order, in one run.
//!
//! For each fleet size: the exporter polls the simulator with every
//! order's details read (far-away rate limits, the default budget). One
//! Debian `prometheus` scrapes it ("after"). The benchmark takes one scrape
//! of it, rewrites it into the earlier shape (each order's descriptive
//! labels copied onto every per-order series, `certcentral_certificate_info`
//! restored, the info series dropped) and serves that from a tiny static
//! server to a second Prometheus ("before"), both at once, same interval.
//! The earlier shape also gets back the per-order families that this one
//! folds elsewhere (`auto_reissue` from the info label, `ct_logging` from
//! the compliance finding, `valid_till` for every order). After a few
//! scrapes it samples each Prometheus's own metrics for a while: head
//! series, Go heap in use and RSS (means over the window), then the heap
//! right after a forced collection (in use and live, without the last
//! scrapes' garbage), and the scrape's `scrape_duration_seconds` (ingest
//! time) and body size.
//!
//! Then the first poll of a report-only exporter (detail budget 0) is set
//! against a plain download of the same report pages (gzip, as the
//! exporter asks, bytes not inflated), measured right before and after it,
//! a few rounds.
//!
//! `BENCH_PROMETHEUS=10000,100000` (sizes; `none` to skip; the smoke
//! version under `cargo test` runs 500 orders at a 1 s interval),
//! `BENCH_PROMETHEUS_INTERVAL=15` (seconds between scrapes),
//! `BENCH_FIRST_POLL_ROUNDS=3`, `BENCH_BASELINE_EXPORTER=/path/to/binary`
//! (another build whose first poll runs in the same rounds, to compare),
//! `PROMETHEUS=/path/to/prometheus` (else the one on PATH).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use certcentral_test_support::{Prometheus, Simulator, raw_http, tool, wait_for};

use super::{MB, Measured, PAGE_SIZE};

/// The descriptive labels of an order, as the earlier shape put them on
/// every per-order series.
const NAME_LABELS: [&str; 5] = [
    "common_name",
    "product",
    "container",
    "organization",
    "subaccount_id",
];
/// The active certificate's labels, on `certcentral_certificate_info`
/// in the earlier shape.
const CERTIFICATE_LABELS: [&str; 3] = ["signature_hash", "key_size", "issuing_ca"];

/// Settings of this part of the benchmark.
pub struct PrometheusSettings {
    pub sizes: Vec<usize>,
    pub interval: Duration,
    /// Scrapes before sampling, and samples (one a second) after.
    pub warmup_scrapes: usize,
    pub samples: usize,
    /// First polls (report only), each between two plain downloads.
    pub first_poll_rounds: usize,
}

impl PrometheusSettings {
    pub fn from_env(full: bool) -> PrometheusSettings {
        let default: &[usize] = if full { &[10_000, 100_000] } else { &[500] };
        let interval = super::env_usize("BENCH_PROMETHEUS_INTERVAL", if full { 15 } else { 1 });
        PrometheusSettings {
            sizes: super::env_list("BENCH_PROMETHEUS", default),
            interval: Duration::from_secs(interval as u64),
            warmup_scrapes: if full { 4 } else { 2 },
            samples: if full { 4 * interval } else { 3 },
            first_poll_rounds: super::env_usize(
                "BENCH_FIRST_POLL_ROUNDS",
                if full { 3 } else { 1 },
            ),
        }
    }
}

// ------------------------------------------------------ the earlier shape

/// Labels as (name, value), values raw (escapes kept).
type Labels<'a> = Vec<(&'a str, &'a str)>;

/// One sample line split at its label block: name, labels, the rest
/// (value).
fn split_sample(line: &str) -> Option<(&str, Labels<'_>, &str)> {
    let open = line.find('{')?;
    let name = &line[..open];
    let mut labels = Vec::new();
    let bytes = line.as_bytes();
    let mut i = open + 1;
    while bytes.get(i) != Some(&b'}') {
        let eq = i + line[i..].find("=\"")?;
        let start = eq + 2;
        let mut end = start;
        while bytes.get(end)? != &b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        labels.push((&line[i..eq], &line[start..end]));
        i = end + 1;
        if bytes.get(i) == Some(&b',') {
            i += 1;
        }
    }
    Some((name, labels, &line[i + 1..]))
}

fn block(labels: &[(&str, &str)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(","))
}

/// Per-order families the earlier shape had and this one folds elsewhere:
/// each is restored, per order with an expiry and read details, from
/// where its value now lives.
const FOLDED: [(&str, &str); 3] = [
    (
        "certcentral_order_valid_till_timestamp_seconds",
        "End of the order's validity (for Multi-year Plans, past the current certificate), Unix seconds.",
    ),
    (
        "certcentral_order_auto_reissue",
        "1 if auto-reissue is enabled on the order (Multi-year Plans), else 0.",
    ),
    (
        "certcentral_order_ct_logging",
        "1 if the certificate is logged in public CT logs, 0 if CT logging is disabled for the order.",
    ),
];

fn label<'a>(labels: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    labels.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The exposition rewritten into the shape before issue 17: the
/// descriptive labels on every per-order series, `certcentral_certificate_info`,
/// a dense series per order for each of [`FOLDED`], and the dense
/// `certcentral_order_actionable` that `certcentral_order_handled` replaced.
pub fn earlier_shape(text: &str) -> String {
    // (account, order_id) -> the info series' labels.
    let mut info: HashMap<(&str, &str), Labels<'_>> = HashMap::new();
    // Orders whose validity is not the certificate's expiry, and orders
    // without CT logging.
    let mut valid_till: HashMap<(&str, &str), &str> = HashMap::new();
    let mut ct_disabled: std::collections::HashSet<(&str, &str)> = Default::default();
    let mut handled: std::collections::HashSet<(&str, &str)> = Default::default();
    for line in text.lines() {
        let Some((name, labels, rest)) = split_sample(line) else {
            continue;
        };
        let key = (
            label(&labels, "account").unwrap_or(""),
            label(&labels, "order_id").unwrap_or(""),
        );
        match name {
            "certcentral_order_info" => {
                info.insert(key, labels);
            }
            "certcentral_order_valid_till_timestamp_seconds" => {
                valid_till.insert(key, rest.trim());
            }
            "certcentral_order_handled" => {
                handled.insert(key);
            }
            "certcentral_compliance_violation"
                if label(&labels, "rule") == Some("ct_logging_disabled") =>
            {
                ct_disabled.insert(key);
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut certificates = String::new();
    let mut folded: [String; 3] = Default::default();
    let mut actionable = String::new();
    for line in text.lines() {
        if line.starts_with("# HELP certcentral_order_info ")
            || line.starts_with("# TYPE certcentral_order_info ")
            || line.starts_with("# HELP certcentral_order_valid_till_timestamp_seconds ")
            || line.starts_with("# TYPE certcentral_order_valid_till_timestamp_seconds ")
            || line.starts_with("# HELP certcentral_order_handled ")
            || line.starts_with("# TYPE certcentral_order_handled ")
        {
            continue;
        }
        let Some((name, labels, rest)) = split_sample(line) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let described = label(&labels, "account")
            .zip(label(&labels, "order_id"))
            .and_then(|key| Some((key, info.get(&key)?)));
        let Some((key, described)) = described else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let names = described.iter().filter(|(k, _)| NAME_LABELS.contains(k));
        let mut old: Vec<_> = labels[..2].to_vec();
        old.extend(names.clone());
        if name == "certcentral_order_info" {
            // Its certificate labels go to certcentral_certificate_info,
            // for orders whose details named a CA (those had one before).
            if label(described, "issuing_ca").is_some() {
                old.extend(
                    described
                        .iter()
                        .filter(|(k, _)| CERTIFICATE_LABELS.contains(k)),
                );
                certificates.push_str(&format!("certcentral_certificate_info{} 1\n", block(&old)));
            }
            continue;
        }
        if matches!(
            name,
            "certcentral_order_valid_till_timestamp_seconds" | "certcentral_order_handled"
        ) {
            continue;
        }
        let own = block(&[old.as_slice(), &labels[2..]].concat());
        out.push_str(name);
        out.push_str(&own);
        out.push_str(rest);
        out.push('\n');
        // The actionable flag was dense, on the rows auto-renew has.
        if name == "certcentral_order_auto_renew" {
            let value = if handled.contains(&key) { 0 } else { 1 };
            actionable.push_str(&format!("certcentral_order_actionable{own} {value}\n"));
        }
        // The folded families had a series wherever the details were read
        // and the order has an expiry.
        let reissue = label(described, "auto_reissue").filter(|v| !v.is_empty());
        if let ("certcentral_certificate_expiry_timestamp_seconds", Some(reissue)) = (name, reissue)
        {
            let values = [
                valid_till.get(&key).copied().unwrap_or(rest.trim()),
                if reissue == "true" { "1" } else { "0" },
                if ct_disabled.contains(&key) { "0" } else { "1" },
            ];
            for ((family, _), (lines, value)) in FOLDED.iter().zip(folded.iter_mut().zip(values)) {
                lines.push_str(&format!("{family}{own} {value}\n"));
            }
        }
    }
    for ((family, help), lines) in FOLDED.iter().zip(&folded) {
        out.push_str(&format!(
            "# HELP {family} {help}\n# TYPE {family} gauge\n{lines}"
        ));
    }
    out.push_str(&format!(
        "# HELP certcentral_order_actionable 1 when nothing will replace this certificate before it expires, else 0.\n\
         # TYPE certcentral_order_actionable gauge\n{actionable}"
    ));
    out.push_str(
        "# HELP certcentral_certificate_info 1 per order, labelled with the active certificate's signature hash, key size and issuing CA.\n\
         # TYPE certcentral_certificate_info gauge\n",
    );
    out.push_str(&certificates);
    out
}

// -------------------------------------------------------- static server

/// Serves `body` (gzipped when asked, as the exporter does) at any path,
/// until the process ends; its address.
fn serve_static(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the static server");
    let address = listener.local_addr().expect("address").to_string();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(4));
    encoder.write_all(body.as_bytes()).expect("gzip");
    let gzipped = encoder.finish().expect("gzip");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(reader);
            let mut gzip = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                gzip |= lower.starts_with("accept-encoding:") && lower.contains("gzip");
            }
            let (payload, encoding) = if gzip {
                (&gzipped[..], "Content-Encoding: gzip\r\n")
            } else {
                (body.as_bytes(), "")
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n{encoding}\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(payload);
        }
    });
    address
}

// ------------------------------------------------------------ prometheus

/// A Prometheus scraping `target` as job `certcentral` every `interval`.
fn start_prometheus(target: &str, interval: Duration) -> Prometheus {
    Prometheus::start("certcentral", target, interval, &[])
}

/// Its own metrics (not scraped into it: head series are the target's).
fn own(prom: &Prometheus, names: &[&str]) -> Vec<f64> {
    let text = prom.get("/metrics");
    names
        .iter()
        .map(|name| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// Its heap in use and live heap (`go_memstats_alloc_bytes`) right
/// after a forced garbage collection (the pprof heap profile with
/// `gc=1` runs one): what it holds, without the garbage of the last
/// scrapes that the means over a window include.
fn settled_heap(prom: &Prometheus) -> [f64; 2] {
    let _ = prom.get("/debug/pprof/heap?gc=1");
    let own = own(
        prom,
        &["go_memstats_heap_inuse_bytes", "go_memstats_alloc_bytes"],
    );
    [own[0], own[1]]
}

/// What one Prometheus holds and costs, scraping one shape.
#[derive(Default)]
struct Cost {
    head_series: f64,
    heap_mb: f64,
    /// Heap in use and live heap after a forced collection, the median of
    /// a few taken between scrapes.
    settled_heap_mb: f64,
    live_heap_mb: f64,
    rss_mb: f64,
    ingest_seconds: f64,
    samples_scraped: f64,
    body_mb: f64,
    gzip_mb: f64,
}

const OWN: [&str; 3] = [
    "prometheus_tsdb_head_series",
    "go_memstats_heap_inuse_bytes",
    "process_resident_memory_bytes",
];

/// Settled heap samples per Prometheus.
const SETTLED_SAMPLES: usize = 5;

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Waits for the warm-up scrapes of both, then samples both once a second.
fn measure(proms: [&Prometheus; 2], settings: &PrometheusSettings) -> [Cost; 2] {
    let timeout =
        settings.interval * (settings.warmup_scrapes as u32 + 4) + Duration::from_secs(60);
    for prom in proms.iter() {
        let wanted = settings.warmup_scrapes as f64;
        wait_for("the warm-up scrapes", timeout, || {
            let scrapes = prom.scalar("sum_over_time(up{job=\"certcentral\"}[1h])")?;
            (scrapes >= wanted).then_some(())
        });
    }
    let mut costs = [Cost::default(), Cost::default()];
    for _ in 0..settings.samples {
        for (prom, cost) in proms.iter().zip(costs.iter_mut()) {
            let own = own(prom, &OWN);
            cost.head_series = own[0];
            cost.heap_mb += own[1] / MB / settings.samples as f64;
            cost.rss_mb += own[2] / MB / settings.samples as f64;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    // Settled heaps, a few for each, alternating so that both see the
    // same moments of the machine's load.
    let mut settled: [Vec<[f64; 2]>; 2] = Default::default();
    for _ in 0..SETTLED_SAMPLES {
        for (prom, taken) in proms.iter().zip(settled.iter_mut()) {
            taken.push(settled_heap(prom));
        }
        std::thread::sleep(settings.interval / 3);
    }
    for (cost, taken) in costs.iter_mut().zip(&settled) {
        cost.settled_heap_mb = median(taken.iter().map(|h| h[0])) / MB;
        cost.live_heap_mb = median(taken.iter().map(|h| h[1])) / MB;
    }
    for (prom, cost) in proms.into_iter().zip(costs.iter_mut()) {
        prom.process.assert_running();
        let window = (settings.interval * settings.warmup_scrapes as u32 * 4)
            .as_secs()
            .max(10);
        cost.ingest_seconds = prom
            .scalar(&format!(
                "avg_over_time(scrape_duration_seconds{{job=\"certcentral\"}}[{window}s])"
            ))
            .unwrap_or(f64::NAN);
        cost.samples_scraped = prom
            .scalar("scrape_samples_scraped{job=\"certcentral\"}")
            .unwrap_or(f64::NAN);
    }
    costs
}

fn gzip_mb(text: &str) -> f64 {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(4));
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip").len() as f64 / MB
}

/// Downloads every report page of `orders` as the exporter does (gzip
/// asked, bytes kept compressed, nothing parsed, the empty page after a
/// full last one included); its wall time and bytes.
fn download_report(sim: &Simulator, orders: usize) -> (Duration, usize) {
    let client = raw_http(Duration::from_secs(120));
    let started = Instant::now();
    let mut bytes = 0;
    for offset in (0..=orders).step_by(PAGE_SIZE) {
        let page = client
            .get(format!(
                "{}/services/v2/report/order?limit={PAGE_SIZE}&offset={offset}",
                sim.base
            ))
            .header("X-DC-DEVKEY", "bench-reader")
            .header("Accept-Encoding", "gzip")
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .expect("report page");
        bytes += page.len();
    }
    (started.elapsed(), bytes)
}

/// One size's figures.
pub struct PrometheusRow {
    orders: usize,
    exported: usize,
    after: Cost,
    before: Cost,
    first_polls: Vec<FirstPoll>,
}

/// Runs one size.
pub fn run(orders: usize, settings: &PrometheusSettings) -> PrometheusRow {
    let sim = super::simulator(orders);
    let exporter = Measured::start(&sim, &["--poll.interval", "1h"]);
    exporter.first_poll(Instant::now(), orders);
    let client = raw_http(Duration::from_secs(120));
    let metrics = exporter.exporter.url("/metrics");
    let text = wait_for("every order's details", super::scaled(orders, 120), || {
        let text = client.get(&metrics).send().ok()?.text().ok()?;
        text.lines()
            .any(|l| l == "certcentral_details_backlog{account=\"default\"} 0")
            .then_some(text)
    });
    let exported = text
        .lines()
        .filter(|l| l.starts_with("certcentral_order_info{"))
        .count();
    let earlier = earlier_shape(&text);
    let target = exporter.exporter.base.trim_start_matches("http://");
    let after = start_prometheus(target, settings.interval);
    let static_target = serve_static(earlier.clone());
    let before = start_prometheus(&static_target, settings.interval);
    let [mut after_cost, mut before_cost] = measure([&after, &before], settings);
    after_cost.body_mb = text.len() as f64 / MB;
    after_cost.gzip_mb = gzip_mb(&text);
    before_cost.body_mb = earlier.len() as f64 / MB;
    before_cost.gzip_mb = gzip_mb(&earlier);
    drop((after, before, exporter));

    let first_polls = first_polls(&sim, orders, settings);
    PrometheusRow {
        orders,
        exported,
        after: after_cost,
        before: before_cost,
        first_polls,
    }
}

/// The first poll of a report-only exporter, `settings.first_poll_rounds`
/// times, each between two plain downloads of the report; with
/// `BENCH_BASELINE_EXPORTER`, that build's first poll too, in the same
/// rounds, right after this one's.
fn first_polls(sim: &Simulator, orders: usize, settings: &PrometheusSettings) -> Vec<FirstPoll> {
    let this = super::BIN.path().as_os_str();
    let baseline = std::env::var_os("BENCH_BASELINE_EXPORTER");
    let builds: Vec<(&str, &OsStr)> = std::iter::once(("this", this))
        .chain(baseline.as_deref().map(|b| ("baseline", b)))
        .collect();
    let mut polls = Vec::new();
    for _ in 0..settings.first_poll_rounds {
        for (build, program) in &builds {
            let before = download_report(sim, orders);
            let report_only = Measured::start_program(
                program,
                sim,
                &["--poll.interval", "1h", "--certcentral.detail-budget", "0"],
            );
            let poll = report_only.first_poll(Instant::now(), orders);
            drop(report_only);
            let after = download_report(sim, orders);
            polls.push(FirstPoll {
                build,
                poll: poll.poll_wall,
                report: poll.report_wall,
                hwm_mb: poll.hwm_after_poll,
                download: (before.0 + after.0) / 2,
                download_mb: before.1 as f64 / MB,
            });
        }
    }
    polls
}

/// One first poll set against the plain downloads around it.
struct FirstPoll {
    /// `this` build or the `baseline` one.
    build: &'static str,
    poll: Duration,
    /// The poll's report read, its first step (none from an older build).
    report: Option<Duration>,
    /// The exporter's peak RSS (VmHWM) once the poll is done.
    hwm_mb: f64,
    /// The mean of the downloads right before and right after.
    download: Duration,
    download_mb: f64,
}

/// Prints the table (markdown).
pub fn print(rows: &[PrometheusRow], settings: &PrometheusSettings) {
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "Prometheus ({}), one scrape every {:?}, details on; \"after\" scrapes the exporter, \"before\" a static copy of \
         the same scrape rewritten into the earlier shape, both at once; heap (go_memstats_heap_inuse_bytes) and RSS \
         are means over {} s after {} scrapes, the settled heap (heap in use) and live heap (go_memstats_alloc_bytes) \
         medians of 5 read right after a forced GC; ingest is scrape_duration_seconds averaged.",
        prometheus_version(),
        settings.interval,
        settings.samples,
        settings.warmup_scrapes
    );
    println!();
    println!(
        "| orders | exported | shape | head series | series/order | heap MB (mean) | heap KB/order (mean) | settled heap MB | settled heap KB/order | live heap KB/order | RSS MB | RSS KB/order | body MB | gzip MB | samples | ingest s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let per = |v: f64| v / row.exported.max(1) as f64;
        for (shape, cost) in [("before", &row.before), ("after", &row.after)] {
            println!(
                "| {} | {} | {shape} | {:.0} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.3} |",
                row.orders,
                row.exported,
                cost.head_series,
                per(cost.head_series),
                cost.heap_mb,
                per(cost.heap_mb * 1024.0),
                cost.settled_heap_mb,
                per(cost.settled_heap_mb * 1024.0),
                per(cost.live_heap_mb * 1024.0),
                cost.rss_mb,
                per(cost.rss_mb * 1024.0),
                cost.body_mb,
                cost.gzip_mb,
                cost.samples_scraped,
                cost.ingest_seconds
            );
        }
    }
    println!();
    println!(
        "| orders | heap after/before (mean) | settled heap after/before | live heap after/before | RSS after/before | body after/before |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.orders,
            row.after.heap_mb / row.before.heap_mb,
            row.after.settled_heap_mb / row.before.settled_heap_mb,
            row.after.live_heap_mb / row.before.live_heap_mb,
            row.after.rss_mb / row.before.rss_mb,
            row.after.body_mb / row.before.body_mb,
        );
    }
    println!();
    println!(
        "First poll of a report-only exporter against a plain download of the same report pages (gzip, one page at a \
         time as the exporter reads them, bytes kept compressed), the mean of the downloads right before and after it:"
    );
    println!();
    println!(
        "| orders | round | build | first poll s | its report read s | plain download s | download MB | poll / download | report read / download | exporter peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let builds = row
            .first_polls
            .iter()
            .filter(|p| p.build == "this")
            .count()
            .max(1);
        let per_round = row.first_polls.len() / builds;
        for (i, poll) in row.first_polls.iter().enumerate() {
            let download = poll.download.as_secs_f64();
            let (report, report_ratio) =
                poll.report.map_or(("-".to_owned(), "-".to_owned()), |r| {
                    let r = r.as_secs_f64();
                    (format!("{r:.2}"), format!("{:.2}", r / download))
                });
            println!(
                "| {} | {} | {} | {:.2} | {report} | {download:.2} | {:.2} | {:.2} | {report_ratio} | {:.0} |",
                row.orders,
                i / per_round.max(1) + 1,
                poll.build,
                poll.poll.as_secs_f64(),
                poll.download_mb,
                poll.poll.as_secs_f64() / download,
                poll.hwm_mb,
            );
        }
    }
}

fn prometheus_version() -> String {
    Command::new(tool("PROMETHEUS", "prometheus"))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}
