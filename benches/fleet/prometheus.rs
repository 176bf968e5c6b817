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
//! After a few scrapes it samples each Prometheus's own metrics for a
//! while: head series, Go heap in use and RSS (means over the window), and
//! the scrape's `scrape_duration_seconds` (ingest time) and body size.
//!
//! Then the first poll of a report-only exporter (detail budget 0) is set
//! against a plain download of the same report pages (gzip, as the
//! exporter asks, bytes not inflated), measured right before and after it.
//!
//! `BENCH_PROMETHEUS=10000,100000` (sizes; `none` to skip; the smoke
//! version under `cargo test` runs 500 orders at a 1 s interval),
//! `BENCH_PROMETHEUS_INTERVAL=15` (seconds between scrapes),
//! `PROMETHEUS=/path/to/prometheus` (else the one on PATH).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Exporter, MB, PAGE_SIZE, Proc, Simulator, answers_ok, free_port, http, wait_for};

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

/// The exposition rewritten into the shape before issue 17.
pub fn earlier_shape(text: &str) -> String {
    // (account, order_id) -> the info series' labels.
    let mut info: HashMap<(&str, &str), Labels<'_>> = HashMap::new();
    for line in text.lines() {
        if let Some(("certcentral_order_info", labels, _)) = split_sample(line) {
            let get = |k: &str| labels.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| *v);
            info.insert((get("account"), get("order_id")), labels.clone());
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut certificates = String::new();
    for line in text.lines() {
        if line.starts_with("# HELP certcentral_order_info ")
            || line.starts_with("# TYPE certcentral_order_info ")
        {
            continue;
        }
        let Some((name, labels, rest)) = split_sample(line) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let get = |k: &str| labels.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let described = get("account")
            .zip(get("order_id"))
            .and_then(|key| info.get(&key));
        let Some(described) = described else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let names = described.iter().filter(|(k, _)| NAME_LABELS.contains(k));
        if name == "certcentral_order_info" {
            // Its certificate labels go to certcentral_certificate_info,
            // for orders whose details named a CA (those had one before).
            if described.iter().any(|(k, _)| *k == "issuing_ca") {
                let mut labels: Vec<_> = described[..2].to_vec();
                labels.extend(names);
                labels.extend(
                    described
                        .iter()
                        .filter(|(k, _)| CERTIFICATE_LABELS.contains(k)),
                );
                certificates.push_str(&format!(
                    "certcentral_certificate_info{} 1\n",
                    block(&labels)
                ));
            }
            continue;
        }
        let mut old: Vec<_> = labels[..2].to_vec();
        old.extend(names);
        old.extend_from_slice(&labels[2..]);
        out.push_str(name);
        out.push_str(&block(&old));
        out.push_str(rest);
        out.push('\n');
    }
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

struct Prometheus {
    proc: Proc,
    base: String,
    client: reqwest::blocking::Client,
}

impl Prometheus {
    fn start(dir: &Path, name: &str, target: &str, interval: Duration) -> Prometheus {
        let program = std::env::var_os("PROMETHEUS").unwrap_or_else(|| "prometheus".into());
        let home = dir.join(name);
        std::fs::create_dir_all(&home).expect("prometheus dir");
        let config = home.join("prometheus.yml");
        let seconds = interval.as_secs().max(1);
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: {seconds}s\n  scrape_timeout: {seconds}s\n\
                 scrape_configs:\n  - job_name: certcentral\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("prometheus.yml");
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(program);
        command.args([
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", home.join("data").display()),
            format!("--web.listen-address={listen}"),
            "--log.level=warn".to_owned(),
        ]);
        let mut proc = Proc::spawn_command(dir, name, command);
        let base = format!("http://{listen}");
        let client = http(Duration::from_secs(30));
        wait_for("Prometheus's /-/ready", Duration::from_secs(60), || {
            proc.assert_running();
            answers_ok(&client, &format!("{base}/-/ready")).then_some(())
        });
        Prometheus { proc, base, client }
    }

    /// The value of an instant query with one result.
    fn query(&self, query: &str) -> Option<f64> {
        let url =
            url::Url::parse_with_params(&format!("{}/api/v1/query", self.base), [("query", query)])
                .expect("query URL");
        let body: serde_json::Value = self.client.get(url).send().ok()?.json().ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// Its own metrics (not scraped into it: head series are the target's).
    fn own(&self, names: &[&str]) -> Vec<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        names
            .iter()
            .map(|name| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }
}

/// What one Prometheus holds and costs, scraping one shape.
#[derive(Default)]
struct Cost {
    head_series: f64,
    heap_mb: f64,
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

/// Waits for the warm-up scrapes of both, then samples both once a second.
fn measure(proms: [&mut Prometheus; 2], settings: &PrometheusSettings) -> [Cost; 2] {
    let timeout =
        settings.interval * (settings.warmup_scrapes as u32 + 4) + Duration::from_secs(60);
    for prom in proms.iter() {
        let wanted = settings.warmup_scrapes as f64;
        wait_for("the warm-up scrapes", timeout, || {
            let scrapes = prom.query("sum_over_time(up{job=\"certcentral\"}[1h])")?;
            (scrapes >= wanted).then_some(())
        });
    }
    let mut costs = [Cost::default(), Cost::default()];
    for _ in 0..settings.samples {
        for (prom, cost) in proms.iter().zip(costs.iter_mut()) {
            let own = prom.own(&OWN);
            cost.head_series = own[0];
            cost.heap_mb += own[1] / MB / settings.samples as f64;
            cost.rss_mb += own[2] / MB / settings.samples as f64;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    for (prom, cost) in proms.into_iter().zip(costs.iter_mut()) {
        prom.proc.assert_running();
        let window = (settings.interval * settings.warmup_scrapes as u32 * 4)
            .as_secs()
            .max(10);
        cost.ingest_seconds = prom
            .query(&format!(
                "avg_over_time(scrape_duration_seconds{{job=\"certcentral\"}}[{window}s])"
            ))
            .unwrap_or(f64::NAN);
        cost.samples_scraped = prom
            .query("scrape_samples_scraped{job=\"certcentral\"}")
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
    let client = http(Duration::from_secs(120));
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
    first_poll: Duration,
    downloads: [Duration; 2],
    download_mb: f64,
}

/// Runs one size.
pub fn run(dir: &Path, orders: usize, settings: &PrometheusSettings) -> PrometheusRow {
    let sim = Simulator::start(dir, orders);
    let mut exporter = Exporter::start(
        dir,
        &format!("exporter-prometheus-{orders}"),
        &sim,
        &["--poll.interval", "1h"],
    );
    exporter.first_poll(Instant::now(), orders);
    let client = http(Duration::from_secs(120));
    let metrics = format!("{}/metrics", exporter.base);
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
    let target = exporter.base.trim_start_matches("http://").to_owned();
    let mut after = Prometheus::start(
        dir,
        &format!("prometheus-after-{orders}"),
        &target,
        settings.interval,
    );
    let static_target = serve_static(earlier.clone());
    let mut before = Prometheus::start(
        dir,
        &format!("prometheus-before-{orders}"),
        &static_target,
        settings.interval,
    );
    let [mut after_cost, mut before_cost] = measure([&mut after, &mut before], settings);
    after_cost.body_mb = text.len() as f64 / MB;
    after_cost.gzip_mb = gzip_mb(&text);
    before_cost.body_mb = earlier.len() as f64 / MB;
    before_cost.gzip_mb = gzip_mb(&earlier);
    drop((after, before, exporter));

    // The first poll, report only, between two plain downloads.
    let first = download_report(&sim, orders);
    let mut report_only = Exporter::start(
        dir,
        &format!("exporter-report-{orders}"),
        &sim,
        &["--poll.interval", "1h", "--certcentral.detail-budget", "0"],
    );
    let poll = report_only.first_poll(Instant::now(), orders);
    drop(report_only);
    let second = download_report(&sim, orders);
    PrometheusRow {
        orders,
        exported,
        after: after_cost,
        before: before_cost,
        first_poll: poll.poll_wall,
        downloads: [first.0, second.0],
        download_mb: first.1 as f64 / MB,
    }
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
         are means over {} s after {} scrapes; ingest is scrape_duration_seconds averaged.",
        prometheus_version(),
        settings.interval,
        settings.samples,
        settings.warmup_scrapes
    );
    println!();
    println!(
        "| orders | exported | shape | head series | series/order | heap MB | heap KB/order | RSS MB | RSS KB/order | body MB | gzip MB | samples | ingest s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let per = |v: f64| v / row.exported.max(1) as f64;
        for (shape, cost) in [("before", &row.before), ("after", &row.after)] {
            println!(
                "| {} | {} | {shape} | {:.0} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.3} |",
                row.orders,
                row.exported,
                cost.head_series,
                per(cost.head_series),
                cost.heap_mb,
                per(cost.heap_mb * 1024.0),
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
        "| orders | heap after/before | RSS after/before | body after/before | first poll (report only) s | plain download s (before / after the poll) | download MB | poll / download |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let download = (row.downloads[0] + row.downloads[1]).as_secs_f64() / 2.0;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2} | {:.2} |",
            row.orders,
            row.after.heap_mb / row.before.heap_mb,
            row.after.rss_mb / row.before.rss_mb,
            row.after.body_mb / row.before.body_mb,
            row.first_poll.as_secs_f64(),
            row.downloads[0].as_secs_f64(),
            row.downloads[1].as_secs_f64(),
            row.download_mb,
            row.first_poll.as_secs_f64() / download,
        );
    }
}

fn prometheus_version() -> String {
    let program = std::env::var_os("PROMETHEUS").unwrap_or_else(|| "prometheus".into());
    Command::new(program)
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
