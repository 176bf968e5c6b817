//! `/probe` at 1,000 targets a minute (issue "From order to endpoint"):
//! what a probe costs the exporter (CPU, memory) and how long it takes,
//! against a bare TLS handshake with the same endpoints.
//! `cargo bench --bench probe` prints one markdown table;
//! docs/performance.md publishes it.
//!
//! The bench serves TLS itself on 10 loopback ports (one ECDSA P-256
//! certificate for `*.bench.test`, from a CA of its own). 1,000 targets
//! (10 ports, 100 names each: distinct targets, so every probe is a
//! handshake, none a kept answer) are probed through the real exporter's
//! `/probe`, paced evenly over a minute, from a pooled HTTP client as
//! Prometheus would; then the same 1,000 handshakes are made directly
//! (connect, full handshake with certificate verification, no session
//! resumption, close), paced alike.
//! Latency is the client's: the HTTP round trip for `/probe`, connect plus
//! handshake for the bare one.
//!
//! Without `--bench` (under `cargo test --all-targets`) it runs a smoke
//! version: 50 targets in 2 seconds. Environment: `BENCH_PROBES=1000`,
//! `BENCH_PROBE_SECONDS=60`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certcentral_test_support::{Binary, TestCa, exporter_binary, http, probing_exporter, stand_in};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const BIN: Binary = exporter_binary!();
const PORTS: usize = 10;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A CA and a wildcard leaf it signs: (CA PEM, leaf DER, leaf key DER).
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    use rustls::pki_types::pem::PemObject;
    let ca = TestCa::new("probe bench CA");
    let leaf = ca.leaf("*.bench.test", 1, None);
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("the leaf key");
    (ca.ca_pem, CertificateDer::from(leaf.der), key)
}

/// Serves `leaf` on `PORTS` loopback ports; their addresses.
fn serve(
    runtime: &tokio::runtime::Runtime,
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Vec<SocketAddr> {
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .expect("server config"),
    );
    (0..PORTS)
        .map(|_| {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .expect("a port");
            let address = listener.local_addr().expect("address");
            let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
            runtime.spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let _ = acceptor.accept(stream).await;
                    });
                }
            });
            address
        })
        .collect()
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A `/proc/PID/status` size in MB (`VmRSS`, `VmHWM`).
fn memory_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .map_or(0.0, |kb: f64| kb / 1024.0)
}

/// Runs `work(i)` for `count` targets, evenly over `over`, each on a
/// thread of its own.
fn paced(count: usize, over: Duration, work: impl Fn(usize) + Send + Sync + 'static) {
    let work = Arc::new(work);
    let started = Instant::now();
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let due = started + over.mul_f64(i as f64 / count as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let work = work.clone();
            std::thread::spawn(move || work(i))
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// Latencies, collected from many threads.
#[derive(Clone, Default)]
struct Latencies(Arc<Mutex<Vec<Duration>>>);

impl Latencies {
    fn add(&self, latency: Duration) {
        if let Ok(mut all) = self.0.lock() {
            all.push(latency);
        }
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut all = self.0.lock().map(|l| l.clone()).unwrap_or_default();
        all.sort();
        all
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted
        .get(index)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let count = env_or("BENCH_PROBES", if bench { 1000 } else { 50 });
    let over =
        Duration::from_secs(env_or("BENCH_PROBE_SECONDS", if bench { 60 } else { 2 }) as u64);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (ca_pem, leaf, key) = certificates();
    let ports = serve(&runtime, leaf, key);
    let ports = Arc::new(ports);
    let targets = move || {
        let ports = ports.clone();
        move |i: usize| (ports[i % PORTS], format!("n{}.bench.test", i / PORTS))
    };

    let dir = tempfile::tempdir().expect("a directory");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).expect("CA file");
    let base = stand_in(|_| ("404 Not Found", "{}".to_owned()));
    let url = format!("{base}/services/v2");
    let exporter = probing_exporter(
        BIN,
        &url,
        "probe-bench-key",
        Some(&ca_file),
        &["--log.level", "warn"],
    );
    exporter.wait_healthy(Duration::from_secs(30));
    let pid = exporter.process.pid();
    let rss_before = memory_mb(pid, "VmRSS:");
    let cpu_before = cpu_seconds(pid);

    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()).filter_map(Result::ok),
    );
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(roots)
    .with_no_client_auth();
    // Every handshake a full one, as a probe's is (a resumed session
    // sends no certificate).
    config.resumption = rustls::client::Resumption::disabled();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handle = runtime.handle().clone();
    let bare_handshake = move |address: SocketAddr, name: String| {
        let Ok(name) = ServerName::try_from(name) else {
            return;
        };
        let connector = connector.clone();
        let _ = handle.block_on(async move {
            let stream = tokio::net::TcpStream::connect(address).await?;
            connector.connect(name, stream).await
        });
    };

    let client = http();
    let base = exporter.base.clone();
    // What an HTTP round trip to the exporter costs alone, from a new
    // thread as each probe below is made.
    let floor = Latencies::default();
    for _ in 0..200 {
        let (client, url, floor) = (client.clone(), format!("{base}/-/healthy"), floor.clone());
        let _ = std::thread::spawn(move || {
            let began = Instant::now();
            let _ = client.get(url).send().and_then(|r| r.text());
            floor.add(began.elapsed());
        })
        .join();
    }
    let failures = Arc::new(Mutex::new(0usize));
    let failed = failures.clone();
    let (probes, inside, bare) = (
        Latencies::default(),
        Latencies::default(),
        Latencies::default(),
    );
    let probe = {
        let (probes, inside) = (probes.clone(), inside.clone());
        move |address: SocketAddr, name: String| {
            let began = Instant::now();
            let answer = client
                .get(format!("{base}/probe?target={address}&server_name={name}"))
                .header("X-Prometheus-Scrape-Timeout-Seconds", "10")
                .send()
                .and_then(|r| r.text());
            probes.add(began.elapsed());
            let verified = answer.is_ok_and(|text| {
                let took = text.lines().find_map(|l| {
                    l.strip_prefix("certcentral_probe_duration_seconds ")?
                        .parse::<f64>()
                        .ok()
                });
                if let Some(took) = took {
                    inside.add(Duration::from_secs_f64(took));
                }
                text.contains("certcentral_probe_success 1")
                    && text.contains("certcentral_probe_certificate_verified{reason=\"\"} 1")
            });
            if !verified && let Ok(mut n) = failed.lock() {
                *n += 1;
            }
        }
    };
    let target = targets();
    let timed_bare = bare.clone();
    // Each target both ways, in turn first, so that both see the same
    // machine.
    paced(count, over, move |i| {
        let (address, name) = target(i);
        let bare = || {
            let began = Instant::now();
            bare_handshake(address, name.clone());
            timed_bare.add(began.elapsed());
        };
        if i % 2 == 0 {
            bare();
            probe(address, name.clone());
        } else {
            probe(address, name.clone());
            bare();
        }
    });
    let cpu = cpu_seconds(pid) - cpu_before;
    let (rss_after, peak) = (memory_mb(pid, "VmRSS:"), memory_mb(pid, "VmHWM:"));
    let failures = failures.lock().map(|n| *n).unwrap_or(count);
    let (probes, inside, bare) = (probes.sorted(), inside.sorted(), bare.sorted());

    println!(
        "`/probe` of {count} distinct targets over {} s ({:.0} a minute), against bare handshakes with the same endpoints:\n",
        over.as_secs(),
        count as f64 * 60.0 / over.as_secs_f64()
    );
    println!("| | p50 | p90 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    for (what, sorted) in [
        ("`/probe` (HTTP round trip)", &probes),
        ("`/probe` as the exporter times it", &inside),
        ("bare TLS handshake", &bare),
        ("HTTP round trip alone (`/-/healthy`)", &floor.sorted()),
    ] {
        println!(
            "| {what} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            percentile(sorted, 0.5),
            percentile(sorted, 0.9),
            percentile(sorted, 0.99),
            percentile(sorted, 1.0)
        );
    }
    let verdict = |ratio: f64| if ratio <= 1.5 { "met" } else { "NOT MET" };
    let probe_ratio = percentile(&inside, 0.99) / percentile(&bare, 0.99);
    let round_trip_ratio = percentile(&probes, 0.99) / percentile(&bare, 0.99);
    println!(
        "\np99 against the bare handshake (target: at most 1.5x): the probe {probe_ratio:.2}x ({}); with the HTTP round trip {round_trip_ratio:.2}x ({})",
        verdict(probe_ratio),
        verdict(round_trip_ratio)
    );
    println!(
        "exporter CPU: {cpu:.2} s for {count} probes ({:.2} ms a probe, {:.1}% of a core); RSS {rss_before:.1} MB before, {rss_after:.1} MB after, peak {peak:.1} MB",
        cpu * 1000.0 / count as f64,
        cpu * 100.0 / over.as_secs_f64()
    );
    println!("probes that did not verify: {failures}");
    assert_eq!(failures, 0, "every probe should verify");
}
