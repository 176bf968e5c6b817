//! The fleet benchmark: how the exporter copes with 1,000 to 1,000,000
//! orders (issue 7). `cargo bench --bench fleet` prints one markdown table;
//! `docs/performance.md` publishes it with the machine it ran on.
//!
//! For each fleet size it starts the real binary twice, as processes on
//! loopback: `certcentral-exporter simulate` (the CertCentral stand-in, CSRs
//! included) and the exporter polling it. It measures
//!
//! - the exporter's first poll: wall time (the exporter's own
//!   `duration_ms`), time from spawn to `/-/ready` (the metrics rendered),
//!   and CPU (utime+stime of `/proc/PID/stat`, from the first `/-/healthy`
//!   to `/-/ready`: the report pages over HTTP with gzip, the parse, the
//!   fleet, compliance and the render). `--certcentral.detail-budget 0`, so
//!   the poll is the report read (plus one subaccount listing request),
//!   except in the `details` mode;
//! - in this process, over the same report bytes: `report::parse_page`
//!   (with a cold CSR cache, as on a first poll, and warm, as for a page
//!   that changed since the poll before; unchanged pages are not parsed at
//!   all), gunzip of the page as the simulator sends it, and a bare
//!   `csv::ByteRecord` pass (the floor for this work), each in thread CPU
//!   time;
//! - peak and current RSS of the exporter (VmHWM, VmRSS);
//! - `/metrics` under 10 concurrent scrapers, plain and gzip, each reading
//!   the whole response over a fresh connection with a bare HTTP/1.1
//!   reader (no client library's overhead on the shared cores): p50/p99
//!   latency and body sizes;
//! - a soak: 50 polls at 100,000 orders, one every 5 s, with gzip and
//!   plain scrapes running; the RSS memory returns to after the first poll
//!   (the lowest sample of its cycle) against the same after the last.
//!
//! - what the exposition costs a real Prometheus, in the shape before and
//!   after issue 17, and the first poll against a plain download of the
//!   report: see `fleet/prometheus.rs`.
//!
//! Without `--bench` (that is, under `cargo test --all-targets`) it runs a
//! smoke version: 1,000 orders, a few scrapes, no soak, in a few seconds
//! (and 500 orders for Prometheus, scraped every second).
//!
//! Environment: `BENCH_SIZES=1000,10000` (fleet sizes; `none` for the soak
//! alone), `BENCH_MODES`
//! (`report,details,horizon`: which exporter runs per size; `details` and
//! `horizon` run only at the sizes in `BENCH_DETAILS_SIZES` and
//! `BENCH_HORIZON_SIZES`), `BENCH_SOAK_POLLS=50` (0: no soak),
//! `BENCH_SOAK_ORDERS=100000`, `BENCH_SOAK_INTERVAL=5` (seconds between
//! polls), `BENCH_SOAK_GZIP_SCRAPERS=2`, `BENCH_SOAK_PLAIN_SCRAPERS=1`,
//! `BENCH_SCRAPE_SECONDS=10` (time budget of each scrape phase),
//! `BENCH_EXPORTER_ENV="MALLOC_ARENA_MAX=2"` (variables given to the
//! exporter and simulator processes, for allocator experiments).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use certcentral_exporter::certcentral::report::{ParseContext, parse_page};
use certcentral_test_support::{
    Binary, Exporter, Process, Simulator, exporter_binary, poll_until, raw_http,
};

#[path = "fleet/prometheus.rs"]
mod prometheus;

const BIN: Binary = exporter_binary!();
/// Rate limits far above CertCentral's, on both sides: the benchmark
/// measures the exporter, not the limiter.
const RATE_LIMIT: &str = "1000000/3m,100000/5s";
const PAGE_SIZE: usize = 1000;
const SCRAPERS: usize = 10;
const MB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------- settings

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Default settings, `--certcentral.detail-budget 0`.
    Report,
    /// Default settings and the default detail budget (every order's
    /// details read in the first poll, rate limits being far away).
    Details,
    /// `--metrics.per-order-horizon 30d`, detail budget 0.
    Horizon,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Report => "report",
            Mode::Details => "report+details",
            Mode::Horizon => "horizon 30d",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Report => &["--certcentral.detail-budget", "0"],
            Mode::Details => &[],
            Mode::Horizon => &[
                "--certcentral.detail-budget",
                "0",
                "--metrics.per-order-horizon",
                "30d",
            ],
        }
    }
}

struct Settings {
    full: bool,
    sizes: Vec<usize>,
    modes: Vec<Mode>,
    details_sizes: Vec<usize>,
    horizon_sizes: Vec<usize>,
    soak_polls: usize,
    soak_orders: usize,
    soak_interval: u64,
    /// Soak scrapers: (gzip, one scrape a second each; plain, one every 5 s).
    soak_scrapers: (usize, usize),
    scrape_budget: Duration,
    max_scrapes: usize,
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(text) if text.trim() == "none" => Vec::new(),
        Ok(text) if !text.trim().is_empty() => text
            .split(',')
            .map(|s| s.trim().replace('_', ""))
            .map(|s| {
                s.parse()
                    .unwrap_or_else(|_| panic!("{name}: '{s}' is not a number"))
            })
            .collect(),
        _ => default.to_vec(),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    env_list(name, &[default])
        .first()
        .copied()
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        // cargo bench passes --bench; cargo test (CI) does not.
        let full = std::env::args().any(|a| a == "--bench");
        let modes = match std::env::var("BENCH_MODES") {
            Ok(text) if !text.trim().is_empty() => text
                .split(',')
                .map(|m| match m.trim() {
                    "report" => Mode::Report,
                    "details" => Mode::Details,
                    "horizon" => Mode::Horizon,
                    other => panic!("BENCH_MODES: unknown mode '{other}'"),
                })
                .collect(),
            _ if full => vec![Mode::Report, Mode::Details, Mode::Horizon],
            _ => vec![Mode::Report],
        };
        if full {
            Settings {
                full,
                sizes: env_list("BENCH_SIZES", &[1_000, 10_000, 100_000, 1_000_000]),
                modes,
                details_sizes: env_list("BENCH_DETAILS_SIZES", &[10_000, 100_000]),
                horizon_sizes: env_list("BENCH_HORIZON_SIZES", &[100_000, 1_000_000]),
                soak_polls: env_usize("BENCH_SOAK_POLLS", 50),
                soak_orders: env_usize("BENCH_SOAK_ORDERS", 100_000),
                soak_interval: env_usize("BENCH_SOAK_INTERVAL", 5) as u64,
                soak_scrapers: (
                    env_usize("BENCH_SOAK_GZIP_SCRAPERS", 2),
                    env_usize("BENCH_SOAK_PLAIN_SCRAPERS", 1),
                ),
                scrape_budget: Duration::from_secs(env_usize("BENCH_SCRAPE_SECONDS", 10) as u64),
                max_scrapes: 50,
            }
        } else {
            Settings {
                full,
                sizes: env_list("BENCH_SIZES", &[1_000]),
                modes,
                details_sizes: env_list("BENCH_DETAILS_SIZES", &[]),
                horizon_sizes: env_list("BENCH_HORIZON_SIZES", &[]),
                soak_polls: env_usize("BENCH_SOAK_POLLS", 0),
                soak_orders: env_usize("BENCH_SOAK_ORDERS", 1_000),
                soak_interval: env_usize("BENCH_SOAK_INTERVAL", 1) as u64,
                soak_scrapers: (
                    env_usize("BENCH_SOAK_GZIP_SCRAPERS", 2),
                    env_usize("BENCH_SOAK_PLAIN_SCRAPERS", 1),
                ),
                scrape_budget: Duration::from_secs(env_usize("BENCH_SCRAPE_SECONDS", 1) as u64),
                max_scrapes: 5,
            }
        }
    }

    fn runs_mode(&self, mode: Mode, orders: usize) -> bool {
        self.modes.contains(&mode)
            && match mode {
                Mode::Report => true,
                Mode::Details => self.details_sizes.contains(&orders),
                Mode::Horizon => self.horizon_sizes.contains(&orders),
            }
    }
}

// ------------------------------------------------------------- processes

/// `program` (this build of `certcentral-exporter`, or another one to
/// compare with) as the benchmark runs it: with the variables of
/// `BENCH_EXPORTER_ENV` and an API key.
fn bench_command(program: &OsStr) -> Command {
    let mut command = Command::new(program);
    // BENCH_EXPORTER_ENV="MALLOC_ARENA_MAX=2 ...": allocator experiments.
    if let Ok(vars) = std::env::var("BENCH_EXPORTER_ENV") {
        for pair in vars.split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                command.env(key, value);
            }
        }
    }
    command.env("CERTCENTRAL_API_KEY", "bench-exporter");
    command
}

/// Time allowed for something that grows with the fleet.
fn scaled(orders: usize, base_secs: u64) -> Duration {
    Duration::from_secs(base_secs) + Duration::from_millis(orders as u64 / 2)
}

/// The simulator as the benchmark runs it: seed 1, its limits far away,
/// logging warnings only.
fn simulator(orders: usize) -> Simulator {
    let mut command = bench_command(BIN.path().as_os_str());
    command.args(["--log.level", "warn"]);
    Simulator::spawn(command, orders, 1, &["--rate-limit", RATE_LIMIT])
}

// ------------------------------------------------------- in-process parse

/// This thread's CPU time: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, exact
/// to the nanosecond (std exposes no thread clock; libc is linked anyway).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, now: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec (64-bit Linux layout).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Elsewhere (the benchmark reads /proc, so it is Linux-only in practice):
/// wall time since the first call.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

fn timed<T>(total: &mut Duration, work: impl FnOnce() -> T) -> T {
    let start = thread_cpu();
    let out = work();
    *total += thread_cpu().saturating_sub(start);
    out
}

#[derive(Default)]
struct ParseCost {
    report_bytes: usize,
    gzip_bytes: usize,
    rows: usize,
    csv: Duration,
    parse_cold: Duration,
    parse_warm: Duration,
    gunzip: Duration,
}

/// A bare pass over the bytes: every record read as a `ByteRecord`, no
/// field looked at beyond its count.
fn bare_csv_pass(bytes: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut fields = 0;
    while reader.read_byte_record(&mut record).expect("csv") {
        fields += record.len();
    }
    fields
}

/// Reads every report page once (plain), and times over each: the bare csv
/// pass, `parse_page` cold and warm, and gunzip of the page as the
/// simulator gzips it. Pages are dropped as they are done, so that the
/// benchmark's own memory stays small at 1M orders.
fn measure_parse(sim: &Simulator, orders: usize) -> ParseCost {
    let client = raw_http(Duration::from_secs(120));
    let mut cost = ParseCost::default();
    let mut context = ParseContext::default();
    let mut offset = 0;
    loop {
        let url = format!(
            "{}/services/v2/report/order?limit={PAGE_SIZE}&offset={offset}",
            sim.base
        );
        let page = client
            .get(&url)
            .header("X-DC-DEVKEY", "bench-reader")
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .expect("report page");
        cost.report_bytes += page.len();
        let fields = timed(&mut cost.csv, || bare_csv_pass(&page));
        std::hint::black_box(fields);
        let parsed = timed(&mut cost.parse_cold, || parse_page(&page, &mut context))
            .expect("parse_page (cold)");
        let records = parsed.records;
        cost.rows += parsed.rows.len();
        drop(parsed);
        let again = timed(&mut cost.parse_warm, || parse_page(&page, &mut context))
            .expect("parse_page (warm)");
        drop(again);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&page).expect("gzip");
        let gz = encoder.finish().expect("gzip");
        cost.gzip_bytes += gz.len();
        let plain = timed(&mut cost.gunzip, || {
            let mut out = Vec::with_capacity(page.len());
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .expect("gunzip");
            out
        });
        assert_eq!(plain.len(), page.len());
        if records < PAGE_SIZE {
            break;
        }
        offset += PAGE_SIZE;
    }
    assert_eq!(cost.rows, orders, "every order parsed");
    cost
}

// -------------------------------------------------------------- exporter

/// An exporter polling the simulator, as measured here.
struct Measured {
    exporter: Exporter,
    /// Order details are read (no `--certcentral.detail-budget 0`).
    details: bool,
}

struct PollCost {
    /// The exporter's own measure of the poll (`duration_ms`).
    poll_wall: Duration,
    /// Its measure of the poll's report read (`report_ms`; none from a
    /// build before it logged one).
    report_wall: Option<Duration>,
    /// From spawn to `/-/ready`.
    ready_wall: Duration,
    cpu: f64,
    hwm_after_poll: f64,
    rss_after_poll: f64,
}

/// How often the measuring waits look.
const EVERY: Duration = Duration::from_millis(20);

impl Measured {
    fn start(sim: &Simulator, extra: &[&str]) -> Measured {
        Measured::start_program(BIN.path().as_os_str(), sim, extra)
    }

    fn start_program(program: &OsStr, sim: &Simulator, extra: &[&str]) -> Measured {
        let url = sim.api_url();
        let mut args = vec![
            "--certcentral.url",
            &url,
            "--certcentral.rate-limit",
            RATE_LIMIT,
            "--storage.path",
            "",
            "--log.level",
            "info",
        ];
        args.extend_from_slice(extra);
        Measured {
            exporter: Exporter::spawn(bench_command(program), &args),
            details: !extra.contains(&"--certcentral.detail-budget"),
        }
    }

    fn process(&self) -> &Process {
        &self.exporter.process
    }

    /// Successful polls so far, with each one's `duration_ms`, from the log.
    fn polls(&self) -> Vec<Duration> {
        self.poll_lines("duration_ms=")
    }

    /// A field in milliseconds of each "poll succeeded" line that has it.
    fn poll_lines(&self, field: &str) -> Vec<Duration> {
        self.process()
            .logs()
            .lines()
            .filter(|l| l.contains("poll succeeded"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|f| f.strip_prefix(field))
                    .and_then(|ms| ms.parse().ok())
                    .map(Duration::from_millis)
            })
            .collect()
    }

    fn assert_no_failed_poll(&self) {
        assert!(
            !self.process().logs().contains("poll failed"),
            "a poll failed:\n{}",
            self.process().tail()
        );
    }

    /// Waits for the first poll, measuring it.
    fn first_poll(&self, spawned: Instant, orders: usize) -> PollCost {
        let watched = [self.process()];
        poll_until(
            "/-/healthy",
            Duration::from_secs(30),
            EVERY,
            &watched,
            || self.exporter.answers("/-/healthy").then_some(()),
        );
        let cpu_before = self.process().cpu();
        // With details, the first poll reads every order's details too
        // (about 2 ms of wall each on a loaded 2-core machine).
        let allowed = if self.details {
            scaled(orders, 120) + Duration::from_millis(orders as u64 * 10)
        } else {
            scaled(orders, 120)
        };
        poll_until(
            "/-/ready (the first poll)",
            allowed,
            EVERY,
            &watched,
            || self.exporter.answers("/-/ready").then_some(()),
        );
        let ready_wall = spawned.elapsed();
        let cpu = self.process().cpu().since(cpu_before);
        let (hwm, rss) = self.process().memory_mb();
        self.assert_no_failed_poll();
        let poll_wall = poll_until(
            "the poll's log line",
            Duration::from_secs(5),
            EVERY,
            &[],
            || self.polls().first().copied(),
        );
        PollCost {
            poll_wall,
            report_wall: self.poll_lines("report_ms=").first().copied(),
            ready_wall,
            cpu,
            hwm_after_poll: hwm,
            rss_after_poll: rss,
        }
    }
}

// --------------------------------------------------------------- scrapes

#[derive(Clone, Copy)]
enum Encoding {
    Plain,
    Gzip,
}

/// One scrape on a fresh connection, reading the whole response; its
/// latency. A bare HTTP/1.1 reader, not an HTTP library: the ten scrapers
/// share the two cores with the exporter, and the latency should be the
/// exporter's, not a client library's (Prometheus scrapes from elsewhere).
fn scrape(url: &str, encoding: Encoding) -> Duration {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let accept = match encoding {
        Encoding::Gzip => "Accept-Encoding: gzip\r\n",
        Encoding::Plain => "",
    };
    let start = Instant::now();
    let mut stream = std::net::TcpStream::connect(host).expect("connect to /metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{accept}Connection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut head = Vec::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let read = stream.read(&mut buffer).expect("read /metrics");
        if read == 0 {
            break;
        }
        if head.len() < 1024 {
            head.extend_from_slice(&buffer[..read.min(1024)]);
        }
    }
    let latency = start.elapsed();
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 200"),
        "/metrics answered {head:.40}"
    );
    if let Encoding::Gzip = encoding {
        assert!(
            head.contains("\r\ncontent-encoding: gzip\r\n"),
            "gzip served when asked"
        );
    }
    latency
}

/// The body of one scrape, as the client gets it (gzip still deflated).
fn body_bytes(url: &str, encoding: Encoding) -> Vec<u8> {
    let mut request = raw_http(Duration::from_secs(300)).get(url);
    if let Encoding::Gzip = encoding {
        request = request.header("Accept-Encoding", "gzip");
    }
    let body = request
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.bytes())
        .expect("/metrics");
    body.to_vec()
}

struct ScrapeCost {
    samples: usize,
    p50: Duration,
    p99: Duration,
    body_bytes: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `SCRAPERS` threads scraping back to back until each has done
/// `max_scrapes` or the time budget is spent (at least 2 each).
fn concurrent_scrapes(url: &str, encoding: Encoding, settings: &Settings) -> ScrapeCost {
    let deadline = Instant::now() + settings.scrape_budget;
    let max = settings.max_scrapes;
    let threads: Vec<_> = (0..SCRAPERS)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let mut samples = Vec::new();
                while samples.len() < 2 || (samples.len() < max && Instant::now() < deadline) {
                    samples.push(scrape(&url, encoding));
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        all.extend(thread.join().expect("scraper"));
    }
    all.sort();
    ScrapeCost {
        samples: all.len(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
        body_bytes: body_bytes(url, encoding).len() as u64,
    }
}

/// Checks that the gzip body is one member that decodes to the metrics.
fn check_gzip(url: &str) {
    let body = body_bytes(url, Encoding::Gzip);
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut text)
        .expect("gzip body decodes");
    assert!(text.starts_with(b"# HELP"), "gzip body is the exposition");
}

// ------------------------------------------------------------------ rows

struct Row {
    orders: usize,
    mode: Mode,
    load: f64,
    parse: Arc<ParseCost>,
    poll: PollCost,
    hwm_after_gzip: f64,
    hwm_end: f64,
    rss_end: f64,
    first_gzip: Duration,
    plain: ScrapeCost,
    gzip: ScrapeCost,
    /// CPU of a later poll of the same, unchanged account (report mode).
    later_cpu: Option<f64>,
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn run_mode(
    sim: &Simulator,
    orders: usize,
    mode: Mode,
    parse: &Arc<ParseCost>,
    settings: &Settings,
) -> Row {
    let load = load_average();
    let spawned = Instant::now();
    let mut args = vec!["--poll.interval", "1h"];
    args.extend_from_slice(mode.args());
    let exporter = Measured::start(sim, &args);
    let poll = exporter.first_poll(spawned, orders);
    let metrics = exporter.exporter.url("/metrics");
    // One gzip scrape alone (no other scraper on the cores), then ten.
    let first_gzip = scrape(&metrics, Encoding::Gzip);
    check_gzip(&metrics);
    // Gzip first (what Prometheus asks for), then plain: the peak after
    // the gzip phase is the one a Prometheus-only exporter sees.
    let gzip = concurrent_scrapes(&metrics, Encoding::Gzip, settings);
    let (hwm_after_gzip, _) = exporter.process().memory_mb();
    let plain = concurrent_scrapes(&metrics, Encoding::Plain, settings);
    exporter.process().assert_running();
    exporter.assert_no_failed_poll();
    let (hwm_end, rss_end) = exporter.process().memory_mb();
    drop(exporter);
    let later_cpu = (mode == Mode::Report).then(|| later_poll_cpu(sim, orders, mode));
    let row = Row {
        orders,
        mode,
        load,
        parse: parse.clone(),
        poll,
        hwm_after_gzip,
        hwm_end,
        rss_end,
        first_gzip,
        plain,
        gzip,
        later_cpu,
    };
    eprintln!("  {}", row_line(&row));
    row
}

/// CPU of a later poll: an exporter of its own polling back to back (every
/// second), nothing scraping it, measured from the log line of its 2nd poll
/// to that of its 4th, per poll (each with the render of the poll before,
/// as every poll has one).
fn later_poll_cpu(sim: &Simulator, orders: usize, mode: Mode) -> f64 {
    // The timeout defaults to the interval: a first poll of a large
    // account takes longer than a second.
    let mut args = vec!["--poll.interval", "1s", "--poll.timeout", "10m"];
    args.extend_from_slice(mode.args());
    let exporter = Measured::start(sim, &args);
    let mut cpu_at_poll = Vec::new();
    let watched = [exporter.process()];
    poll_until("4 polls", scaled(orders, 240), EVERY, &watched, || {
        // Polls are a second apart at least; the check runs every 20 ms.
        while cpu_at_poll.len() < exporter.polls().len() {
            cpu_at_poll.push(exporter.process().cpu());
        }
        (cpu_at_poll.len() >= 4).then_some(())
    });
    exporter.assert_no_failed_poll();
    cpu_at_poll[3].since(cpu_at_poll[1]) / 2.0
}

const HEADER: [&str; 23] = [
    "orders",
    "mode",
    "load1",
    "report MB",
    "poll wall s",
    "to ready s",
    "poll CPU s",
    "CPU µs/order",
    "parse_page cold s",
    "parse_page warm s",
    "gunzip s",
    "bare csv s",
    "poll CPU / csv",
    "poll CPU / (gunzip + csv)",
    "later poll CPU s",
    "later poll CPU / csv",
    "RSS after poll MB",
    "peak RSS MB: end (after poll / after gzip scrapes)",
    "RSS end MB",
    "body MB plain / gzip",
    "plain p50 / p99 ms",
    "gzip p50 / p99 ms",
    "gzip 1st ms",
];

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn row_line(row: &Row) -> String {
    let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let p = &row.parse;
    // The in-process columns are the same for every mode of a size.
    let first = |text: String| {
        if row.mode == Mode::Report {
            text
        } else {
            String::new()
        }
    };
    let report_mb = first(format!("{:.1}", p.report_bytes as f64 / MB));
    let cold = first(secs(p.parse_cold));
    let warm = first(secs(p.parse_warm));
    let gunzip = first(secs(p.gunzip));
    let csv = first(secs(p.csv));
    let ratio = format!("{:.2}", row.poll.cpu / p.csv.as_secs_f64());
    let floor_ratio = format!("{:.2}", row.poll.cpu / (p.gunzip + p.csv).as_secs_f64());
    let cells = [
        row.orders.to_string(),
        row.mode.name().to_owned(),
        format!("{:.2}", row.load),
        report_mb,
        format!("{:.2}", row.poll.poll_wall.as_secs_f64()),
        format!("{:.2}", row.poll.ready_wall.as_secs_f64()),
        format!("{:.3}", row.poll.cpu),
        format!("{:.1}", row.poll.cpu * 1e6 / row.orders as f64),
        cold,
        warm,
        gunzip,
        csv,
        ratio,
        floor_ratio,
        row.later_cpu
            .map_or_else(String::new, |cpu| format!("{cpu:.3}")),
        row.later_cpu.map_or_else(String::new, |cpu| {
            format!("{:.2}", cpu / p.csv.as_secs_f64())
        }),
        format!("{:.0}", row.poll.rss_after_poll),
        format!(
            "{:.0} ({:.0} / {:.0})",
            row.hwm_end, row.poll.hwm_after_poll, row.hwm_after_gzip
        ),
        format!("{:.0}", row.rss_end),
        format!(
            "{:.1} / {:.2}",
            row.plain.body_bytes as f64 / MB,
            row.gzip.body_bytes as f64 / MB
        ),
        format!(
            "{} / {} (n={})",
            ms(row.plain.p50),
            ms(row.plain.p99),
            row.plain.samples
        ),
        format!(
            "{} / {} (n={})",
            ms(row.gzip.p50),
            ms(row.gzip.p99),
            row.gzip.samples
        ),
        ms(row.first_gzip),
    ];
    format!("| {} |", cells.join(" | "))
}

// ------------------------------------------------------------------ soak

struct Soak {
    orders: usize,
    polls: usize,
    interval: u64,
    load: f64,
    /// Per poll cycle (from one poll's log line to the next), the lowest
    /// and highest VmRSS sampled, MB. The lowest is the level memory
    /// returns to once the poll and its render are done.
    floors: Vec<f64>,
    highs: Vec<f64>,
    hwm: f64,
    steady_poll_cpu: Option<f64>,
    scrapers: (usize, usize),
    scrapes: usize,
    wall: Duration,
}

/// Polls one every `interval` seconds (leaving the exporter idle between
/// polls, so that each cycle shows the level memory returns to) with
/// scrapers from the 4th poll on (gzip ones scraping every second, plain
/// ones every 5 s), sampling RSS every 50 ms.
fn soak(
    sim: &Simulator,
    orders: usize,
    polls: usize,
    interval: u64,
    scrapers_mix: (usize, usize),
) -> Soak {
    let load = load_average();
    let started = Instant::now();
    let interval_text = format!("{interval}s");
    let exporter = Measured::start(
        sim,
        &[
            "--poll.interval",
            &interval_text,
            "--poll.timeout",
            "10m",
            "--certcentral.detail-budget",
            "0",
        ],
    );
    let mut floors: Vec<f64> = Vec::new();
    let mut highs: Vec<f64> = Vec::new();
    let mut cpu_at = Vec::new();
    let mut hwm = 0.0;
    let stop = Arc::new(AtomicBool::new(false));
    let mut scrapers = Vec::new();
    let mut started_scrapers = false;
    let (scrapers_gzip, scrapers_plain) = scrapers_mix;
    let metrics = exporter.exporter.url("/metrics");
    let deadline = (scaled(orders, 10) + Duration::from_secs(interval)) * (polls as u32 + 1);
    let give_up = Instant::now() + deadline;
    // Polls 1 to 4 run without scrapes: polls 3 and 4 give the steady-state poll CPU.
    const QUIET_POLLS: usize = 4;
    // Cycle i runs from poll i's log line to poll i+1's: wait for poll
    // `polls + 1` so that the last cycle is whole.
    let mut seen = 0;
    while seen <= polls {
        exporter.process().assert_running();
        assert!(
            Instant::now() < give_up,
            "soak: {seen} polls in {deadline:?}"
        );
        let done = exporter.polls().len();
        let (h, rss) = exporter.process().memory_mb();
        hwm = h;
        if seen > 0 {
            let cycle = seen - 1;
            floors[cycle] = floors[cycle].min(rss);
            highs[cycle] = highs[cycle].max(rss);
        }
        while seen < done.min(polls + 1) {
            seen += 1;
            if seen > 1 {
                eprintln!(
                    "  soak: cycle {} RSS floor {:.0} MB, high {:.0} MB (peak {h:.0} MB)",
                    seen - 1,
                    floors[seen - 2],
                    highs[seen - 2]
                );
            }
            floors.push(rss);
            highs.push(rss);
            cpu_at.push(exporter.process().cpu());
        }
        if seen >= QUIET_POLLS && !started_scrapers {
            let every = |encoding| match encoding {
                Encoding::Gzip => Duration::from_secs(1),
                Encoding::Plain => Duration::from_secs(5),
            };
            let kinds = std::iter::repeat_n(Encoding::Gzip, scrapers_gzip)
                .chain(std::iter::repeat_n(Encoding::Plain, scrapers_plain));
            for encoding in kinds {
                let url = metrics.clone();
                let stop = stop.clone();
                scrapers.push(std::thread::spawn(move || {
                    let mut count = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let tick = Instant::now();
                        scrape(&url, encoding);
                        count += 1;
                        // Pacing, not waiting for anything: a scraper's interval.
                        while !stop.load(Ordering::Relaxed) && tick.elapsed() < every(encoding) {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    count
                }));
            }
            started_scrapers = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let scrapes = scrapers
        .into_iter()
        .map(|t| t.join().expect("soak scraper"))
        .sum();
    exporter.assert_no_failed_poll();
    floors.truncate(polls);
    highs.truncate(polls);
    // From poll 2's log line: poll 1's full first render is not a later
    // poll's cost.
    let steady_poll_cpu = (cpu_at.len() >= QUIET_POLLS)
        .then(|| cpu_at[QUIET_POLLS - 1].since(cpu_at[1]) / (QUIET_POLLS - 2) as f64);
    Soak {
        orders,
        polls,
        interval,
        load,
        floors,
        highs,
        hwm,
        steady_poll_cpu,
        scrapers: scrapers_mix,
        scrapes,
        wall: started.elapsed(),
    }
}

/// The soak's paragraph; `parse` (the same fleet size's in-process costs,
/// when measured) turns the steady-state poll CPU into the target's ratio.
fn print_soak(soak: &Soak, parse: Option<&ParseCost>) {
    let first = soak.floors.first().copied().unwrap_or(f64::NAN);
    let last = soak.floors.last().copied().unwrap_or(f64::NAN);
    let high = soak.highs.iter().copied().fold(f64::MIN, f64::max);
    let series = |values: &[f64]| {
        values
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 == 0 || *i + 1 == values.len())
            .map(|(i, r)| format!("#{}: {r:.0}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!();
    println!(
        "Soak: {} polls at {} orders, one every {} s, in {:.0} s (load1 {:.2} at start), {} scrapes \
         from poll 4 on ({} gzip scrapers, a scrape a second each, as Prometheus asks; {} plain, one every 5 s).",
        soak.polls,
        soak.orders,
        soak.interval,
        soak.wall.as_secs_f64(),
        soak.load,
        soak.scrapes,
        soak.scrapers.0,
        soak.scrapers.1,
    );
    println!(
        "RSS after poll 1 (lowest in its cycle): {first:.0} MB; after poll {}: {last:.0} MB ({:+.1}%); \
         highest during any poll {high:.0} MB; VmHWM {:.0} MB. Steady-state poll CPU (polls 3-4, each with the render of the poll before, no scrapes): {}.",
        soak.floors.len(),
        (last / first - 1.0) * 100.0,
        soak.hwm,
        match (soak.steady_poll_cpu, parse) {
            (None, _) => "n/a".to_owned(),
            (Some(cpu), None) => format!("{cpu:.2} s"),
            (Some(cpu), Some(p)) => format!(
                "{cpu:.2} s, {:.2}x the bare csv pass ({:.2}x gunzip + csv)",
                cpu / p.csv.as_secs_f64(),
                cpu / (p.gunzip + p.csv).as_secs_f64()
            ),
        },
    );
    println!(
        "RSS per cycle, lowest (MB): {}; highest (MB): {}",
        series(&soak.floors),
        series(&soak.highs)
    );
}

// ------------------------------------------------------------------ main

/// The commit the benchmark was built from, when run in a git checkout.
fn commit() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, MemTotal {memory}")
}

fn main() {
    let settings = Settings::from_env();
    let binary = BIN.path().display();
    eprintln!(
        "fleet benchmark ({}): {}; load average {:.2}; binary {binary}",
        if settings.full {
            "full"
        } else {
            "smoke: run with cargo bench for the real one"
        },
        machine(),
        load_average()
    );
    let mut rows = Vec::new();
    let mut soak_result = None;
    let mut soak_parse = None;
    let mut sizes = settings.sizes.clone();
    if settings.soak_polls > 0 && !sizes.contains(&settings.soak_orders) {
        sizes.push(settings.soak_orders);
    }
    for &orders in &sizes {
        eprintln!("{orders} orders: starting the simulator");
        let sim = simulator(orders);
        if settings.sizes.contains(&orders) {
            eprintln!("{orders} orders: reading and parsing the report in-process");
            let parse = Arc::new(measure_parse(&sim, orders));
            if orders == settings.soak_orders {
                soak_parse = Some(parse.clone());
            }
            for mode in [Mode::Report, Mode::Details, Mode::Horizon] {
                if settings.runs_mode(mode, orders) {
                    eprintln!("{orders} orders: exporter, {}", mode.name());
                    rows.push(run_mode(&sim, orders, mode, &parse, &settings));
                }
            }
        }
        if settings.soak_polls > 0 && orders == settings.soak_orders {
            eprintln!("{orders} orders: soak, {} polls", settings.soak_polls);
            soak_result = Some(soak(
                &sim,
                orders,
                settings.soak_polls,
                settings.soak_interval,
                settings.soak_scrapers,
            ));
        }
        drop(sim);
    }

    println!();
    println!("Machine: {}", machine());
    println!("Commit: {}", commit());
    println!(
        "Exporter: {binary}, against `certcentral-exporter simulate` (seed 1, CSRs included) over loopback, \
         rate limits {RATE_LIMIT} on both sides; poll CPU = the exporter's utime+stime from /-/healthy to /-/ready \
         (refined to the ns by its threads' schedstat); later poll CPU = per poll from the 2nd to the 4th poll of a second exporter polling every second; parse and csv columns are thread CPU in this process over the same bytes; \
         scrapes: {SCRAPERS} concurrent bare HTTP/1.1 scrapers reading whole responses."
    );
    println!();
    println!("| {} |", HEADER.join(" | "));
    println!("|{}", "---|".repeat(HEADER.len()));
    for row in &rows {
        println!("{}", row_line(row));
    }
    if let Some(soak) = soak_result {
        print_soak(&soak, soak_parse.as_deref());
    }

    let scraped = prometheus::PrometheusSettings::from_env(settings.full);
    let mut scraped_rows = Vec::new();
    for &orders in &scraped.sizes {
        eprintln!("{orders} orders: Prometheus scraping both shapes");
        scraped_rows.push(prometheus::run(orders, &scraped));
    }
    prometheus::print(&scraped_rows, &scraped);
}
