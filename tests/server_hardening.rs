//! The HTTP server against hostile clients and careless operators, over
//! real sockets against the real binary: idle and half-sent connections
//! under a lowered open-file limit, concurrent bad logins with a timed
//! scrape and a timed SIGTERM, a certificate rotated on disk, and SIGHUP
//! reloading the web config and `--config.file`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certcentral_test_support::{
    Binary, Exporter, Process, Scrape, exporter_binary, http, wait_for,
};

const BIN: Binary = exporter_binary!();

fn addr(exporter: &Exporter) -> SocketAddr {
    exporter
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address")
}

/// Time from `opened` until the server closes `socket` (EOF or reset),
/// if it does within `limit` of `opened`.
fn closed_within(mut socket: TcpStream, opened: Instant, limit: Duration) -> Option<Duration> {
    let left = limit.saturating_sub(opened.elapsed());
    socket
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .expect("read timeout");
    let mut buf = [0u8; 1024];
    match socket.read(&mut buf) {
        Ok(0) => Some(opened.elapsed()),
        Ok(n) => panic!(
            "the server answered an incomplete request: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(opened.elapsed()),
        Err(_) => None,
    }
}

// ---------------------------------------------------------------------------
// Idle connections.

/// Under a hard limit of 1,024 open files, 5,000 idle or half-sent sockets
/// do not keep Prometheus out: the exporter raises its soft limit to the
/// hard one, bounds its connections below it, closes the idlest for new
/// ones, and closes connections that send no request head in time.
#[test]
fn idle_and_half_sent_sockets_cannot_starve_the_listener() {
    // This process holds the 5,000 client ends.
    certcentral_exporter::server::listen::raise_open_file_limit();
    let exporter = Exporter::start_wrapped(
        BIN,
        &["prlimit", "--nofile=256:1024", "--"],
        &["--demo", "--web.read-header-timeout", "3s"],
        &[],
    );
    let target = addr(&exporter);
    wait_for("the exporter to listen", Duration::from_secs(30), || {
        http()
            .get(format!("{}/-/healthy", exporter.base))
            .send()
            .ok()
    });
    let logs = exporter.process.logs();
    assert!(
        logs.contains("raised the open-file soft limit") && logs.contains("old=256 new=1024"),
        "{logs}"
    );

    // 5,000 sockets, every other one with half a request head. Bounded in
    // count and time; a connect the full backlog refuses is counted.
    let started = Instant::now();
    let mut sockets = Vec::new();
    let mut refused = 0;
    for i in 0..5000 {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        match TcpStream::connect_timeout(&target, Duration::from_secs(1)) {
            Ok(mut socket) => {
                if i % 2 == 0 {
                    let _ = socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n");
                }
                sockets.push(socket);
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!(
        "{} sockets open, {refused} connects refused, in {:?}",
        sockets.len(),
        started.elapsed()
    );
    assert!(
        sockets.len() >= 4000,
        "{} sockets, {refused} refused",
        sockets.len()
    );

    // A scrape still gets through, within a few seconds.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let scrape_started = Instant::now();
    let response = client
        .get(format!("{}/metrics", exporter.base))
        .send()
        .expect("a scrape under 5,000 idle sockets");
    assert_eq!(response.status(), 200);
    assert!(response.text().unwrap().contains("certcentral_build_info"));
    let took = scrape_started.elapsed();
    eprintln!("scrape under the flood: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(sockets);

    // An idle socket and a half-sent head are closed by the server within
    // the header-read timeout.
    let opened = Instant::now();
    let idle = TcpStream::connect(target).unwrap();
    let mut half = TcpStream::connect(target).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    for (what, socket) in [("idle", idle), ("half-sent", half)] {
        let closed = closed_within(socket, opened, Duration::from_secs(10));
        eprintln!("{what} socket closed after {closed:?}");
        assert!(
            closed.is_some_and(|t| t < Duration::from_secs(6)),
            "{what} socket still open: {closed:?}"
        );
    }
    let exporter = exporter;
    assert!(exporter.process.is_running());
}

// ---------------------------------------------------------------------------
// Basic auth.

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn verifications(exporter: &Exporter, auth: &str) -> f64 {
    let text = http()
        .get(format!("{}/metrics", exporter.base))
        .header("Authorization", auth)
        .send()
        .and_then(|r| r.text())
        .unwrap();
    Scrape::parse(&text)
        .value("certcentral_exporter_basic_auth_verifications_total", &[])
        .expect("the verification counter")
}

/// 50 concurrent wrong logins against a hash of the highest cost allowed:
/// bcrypt runs a few checks at a time and remembers failures, so the same
/// wrong password costs one check however often it comes; a legitimate
/// scrape keeps its latency; SIGTERM ends the process within 3 s even with
/// 50 different wrong passwords in flight.
#[test]
fn bad_logins_are_bounded_remembered_and_do_not_hold_up_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("the right one", 12).unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        format!("basic_auth_users:\n  prometheus: {hash}\n"),
    )
    .unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--web.config.file", config.to_str().unwrap()],
        &[],
    );
    let right = basic("prometheus", "the right one");
    let client = http();
    wait_for("the exporter to let us in", Duration::from_secs(30), || {
        client
            .get(format!("{}/-/healthy", exporter.base))
            .header("Authorization", &right)
            .send()
            .ok()
            .filter(|r| r.status() == 200)
    });
    assert_eq!(verifications(&exporter, &right), 1.0);

    // The same wrong password 50 times at once, while we scrape.
    let flood = |passwords: Vec<String>| {
        let base = exporter.base.clone();
        let answered = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = passwords
            .into_iter()
            .map(|password| {
                let base = base.clone();
                let answered = answered.clone();
                std::thread::spawn(move || {
                    let status = http()
                        .get(format!("{base}/metrics"))
                        .header("Authorization", basic("prometheus", &password))
                        .send()
                        .map(|r| r.status().as_u16())
                        .ok();
                    answered.fetch_add(1, Ordering::SeqCst);
                    status
                })
            })
            .collect();
        (threads, answered)
    };
    let (threads, _) = flood(vec!["wrong".to_owned(); 50]);
    let mut latencies = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let response = client
            .get(format!("{}/metrics", exporter.base))
            .header("Authorization", &right)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().unwrap();
        latencies.push(started.elapsed());
    }
    let statuses: Vec<Option<u16>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| matches!(s, Some(401 | 503))),
        "{statuses:?}"
    );
    latencies.sort();
    eprintln!("legitimate scrapes during 50 bad logins: {latencies:?}");
    assert!(
        latencies[5] < Duration::from_secs(1),
        "p50 {:?}",
        latencies[5]
    );
    // One check for the right password, and one per running place (at
    // most four) for the wrong one, whose failure is then remembered.
    let checks = verifications(&exporter, &right);
    assert!(checks <= 5.0, "{checks} bcrypt checks for two passwords");
    let (again, _) = flood(vec!["wrong".to_owned(); 50]);
    for thread in again {
        assert_eq!(thread.join().unwrap(), Some(401), "a remembered failure");
    }
    assert_eq!(verifications(&exporter, &right), checks, "no new check");

    // 50 different wrong passwords, then SIGTERM while they queue.
    let (threads, answered) = flood((0..50).map(|i| format!("wrong-{i}")).collect());
    wait_for("a first answer", Duration::from_secs(30), || {
        (answered.load(Ordering::SeqCst) > 0).then_some(())
    });
    let sent = Instant::now();
    let status = exporter.process.terminate(Duration::from_secs(10));
    let took = sent.elapsed();
    let logs = exporter.process.logs();
    eprintln!("SIGTERM with 50 bad logins in flight: exit after {took:?}");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{took:?}: {logs}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    for thread in threads {
        let _ = thread.join();
    }
}

/// A hash of too high a cost, or a cut one, stops the start naming the user.
#[test]
fn a_costly_or_truncated_hash_is_a_start_up_error_naming_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("x", 4).unwrap();
    for (user, bad) in [
        ("costly", hash.replacen("$04$", "$13$", 1)),
        ("cut", hash[..40].to_owned()),
    ] {
        let path = dir.path().join(format!("{user}.yml"));
        std::fs::write(&path, format!("basic_auth_users:\n  {user}: '{bad}'\n")).unwrap();
        let process = BIN.spawn(
            &[
                "--demo",
                "--web.listen-address",
                "127.0.0.1:0",
                "--web.config.file",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let status = process.wait_exit(Duration::from_secs(10));
        let stderr = process.logs();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{user}: {stderr}");
        assert_eq!(lines.len(), 1, "{user}: {stderr}");
        assert!(
            lines[0].contains(&format!("basic_auth_users.{user}")),
            "{}",
            lines[0]
        );
        assert!(!lines[0].contains(&bad[7..30]), "no hash in {}", lines[0]);
    }
}

// ---------------------------------------------------------------------------
// Reloads: certificates rotated on disk, SIGHUP.

/// Sends SIGHUP and waits for `line` in the log.
fn hangup_until_logged(process: &Process, line: &str) {
    process.signal("HUP");
    wait_for(line, Duration::from_secs(10), || {
        process.logs().contains(line).then_some(())
    });
}

/// A self-signed server certificate for 127.0.0.1: its PEM and its key's.
fn self_signed() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

/// Replaces `path` whole, as cert-manager and certbot do (by rename).
fn replace(path: &std::path::Path, text: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A fresh client (so a fresh handshake) trusting only `cert`.
fn trusting(cert: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(cert.as_bytes()).unwrap()])
        .build()
        .unwrap()
}

/// A certificate rotated on disk is served from a later handshake on,
/// without a restart; a broken one in between keeps the previous one.
#[test]
fn a_certificate_rotated_on_disk_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (first_cert, first_key) = self_signed();
    let (second_cert, second_key) = self_signed();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    replace(&cert_path, &first_cert);
    replace(&key_path, &first_key);
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    )
    .unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--web.config.file", config.to_str().unwrap()],
        &[],
    );
    let base = exporter.base.replace("http://", "https://");
    let healthy = |cert: &str| {
        trusting(cert)
            .get(format!("{base}/-/healthy"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    };
    wait_for("the TLS listener", Duration::from_secs(30), || {
        healthy(&first_cert).then_some(())
    });
    assert!(!healthy(&second_cert), "the second is not served yet");

    // A certificate cut short: logged, and the first one still served.
    replace(&cert_path, &second_cert[..second_cert.len() / 2]);
    wait_for(
        "the broken certificate to be noticed",
        Duration::from_secs(10),
        || {
            let _ = healthy(&first_cert);
            exporter
                .process
                .logs()
                .contains("cannot be used; keeping the previous one")
                .then_some(())
        },
    );
    assert!(healthy(&first_cert));

    // The rotation proper: the new pair is served from a new handshake on.
    replace(&key_path, &second_key);
    replace(&cert_path, &second_cert);
    wait_for("the rotated certificate", Duration::from_secs(10), || {
        healthy(&second_cert).then_some(())
    });
    assert!(!healthy(&first_cert), "the first is no longer served");
    assert!(exporter.process.is_running());
}

/// SIGHUP reads the web config again: a changed password applies, a
/// broken file keeps the previous config, and the process lives on.
#[test]
fn sighup_reloads_the_web_config_and_keeps_it_when_broken() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    let users = |password: &str| {
        format!(
            "basic_auth_users:\n  prometheus: {}\n",
            bcrypt::hash(password, 4).unwrap()
        )
    };
    std::fs::write(&config, users("first")).unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--web.config.file", config.to_str().unwrap()],
        &[],
    );
    let status = |password: &str| {
        http()
            .get(format!("{}/-/healthy", exporter.base))
            .header("Authorization", basic("prometheus", password))
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    wait_for("the exporter to let us in", Duration::from_secs(30), || {
        (status("first") == 200).then_some(())
    });

    replace(&config, &users("second"));
    exporter.process.signal("HUP");
    wait_for("the new password", Duration::from_secs(10), || {
        (status("second") == 200).then_some(())
    });
    assert_eq!(status("first"), 401);
    assert!(exporter.process.is_running(), "{}", exporter.process.logs());
    assert!(
        exporter
            .process
            .logs()
            .contains("passwords changed: prometheus"),
        "{}",
        exporter.process.logs()
    );

    replace(&config, "basic_auth_users: [\n");
    hangup_until_logged(
        &exporter.process,
        "the web config cannot be used; keeping the previous one",
    );
    assert_eq!(status("second"), 200, "the previous config is kept");
    assert!(exporter.process.is_running());
}

/// SIGHUP reads `--config.file` again: a rule switched off leaves the
/// metrics at the next render; a broken file changes nothing.
#[test]
fn sighup_reloads_the_compliance_settings_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "compliance:\n  warning_window: 30d\n").unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--config.file", config.to_str().unwrap()],
        &[],
    );
    exporter.wait_ready();
    let violations = |s: &Scrape| s.by_label("certcentral_compliance_violations", "rule");
    let before = exporter.scrape_until("compliance findings", |s| {
        violations(s)
            .get("duplicates_present")
            .is_some_and(|v| *v > 0.0)
    });
    assert!(violations(&before).len() > 1);

    replace(
        &config,
        "compliance:\n  warning_window: 30d\n  disabled_rules: [duplicates_present]\n",
    );
    exporter.process.signal("HUP");
    let after = exporter.scrape_until("the rule switched off", |s| {
        !violations(s)
            .get("duplicates_present")
            .is_some_and(|v| *v > 0.0)
    });
    assert!(violations(&after).len() > 1, "other rules stay");
    assert!(
        exporter
            .process
            .logs()
            .contains("re-rendering with the new settings")
    );

    replace(&config, "compliance:\n  warning_window: soon\n");
    hangup_until_logged(
        &exporter.process,
        "--config.file cannot be used; keeping the previous settings",
    );
    let kept = exporter.scrape();
    assert!(
        !violations(&kept)
            .get("duplicates_present")
            .is_some_and(|v| *v > 0.0)
    );
    assert!(exporter.process.is_running());
}

/// A web config rewritten without its users (empty, only a comment,
/// `basic_auth_users:` with no value, only `tls_server_config:`), as a
/// truncating copy leaves it for a moment, does not turn authentication
/// off: the change is refused, logged and counted, the previous users stay
/// in force, and the file restored applies again.
#[test]
fn a_web_config_rewritten_without_its_users_does_not_turn_auth_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    let users = format!(
        "basic_auth_users:\n  prometheus: {}\n",
        bcrypt::hash("secret", 4).unwrap()
    );
    std::fs::write(&config, &users).unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--web.config.file", config.to_str().unwrap()],
        &[],
    );
    let get = |login: bool| {
        let request = http().get(format!("{}/metrics", exporter.base));
        let request = if login {
            request.header("Authorization", basic("prometheus", "secret"))
        } else {
            request
        };
        request.send().ok()
    };
    let scrape = || {
        get(true)
            .filter(|r| r.status() == 200)
            .and_then(|r| r.text().ok())
            .map(|text| Scrape::parse(&text))
    };
    let refused = |s: &Scrape| {
        s.value(
            "certcentral_exporter_web_config_reloads_total",
            &[("result", "refused")],
        )
    };
    let first = wait_for("the exporter to let us in", Duration::from_secs(30), scrape);
    assert_eq!(refused(&first), Some(0.0), "counted from 0");
    for (i, rewritten) in [
        "",
        "# rotated\n",
        "basic_auth_users:\n",
        "tls_server_config:\n",
    ]
    .into_iter()
    .enumerate()
    {
        // In place, as `cp` or `>` write it.
        std::fs::write(&config, rewritten).unwrap();
        let after = wait_for("the change refused", Duration::from_secs(10), || {
            scrape().filter(|s| refused(s) == Some(i as f64 + 1.0))
        });
        assert_eq!(
            after.value(
                "certcentral_exporter_web_config_last_reload_successful",
                &[]
            ),
            Some(0.0)
        );
        let anonymous = get(false).map(|r| r.status().as_u16());
        assert_eq!(anonymous, Some(401), "{rewritten:?} turned auth off");
    }
    assert!(
        exporter
            .process
            .logs()
            .contains("would turn protections off; that takes a restart"),
        "{}",
        exporter.process.logs()
    );
    std::fs::write(&config, &users).unwrap();
    wait_for("the file restored", Duration::from_secs(10), || {
        scrape().filter(|s| {
            s.value(
                "certcentral_exporter_web_config_last_reload_successful",
                &[],
            ) == Some(1.0)
        })
    });
    assert_eq!(get(false).map(|r| r.status().as_u16()), Some(401));
}

// ---------------------------------------------------------------------------
// Clients that take responses slowly or never.

/// The exporter's resident memory, from /proc.
fn rss_bytes(exporter: &Exporter) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", exporter.process.pid()))
        .expect("the exporter's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmRSS")
}

/// A scrape on a fresh connection, as Prometheus makes it: how long it
/// took, or why it failed.
fn timed_scrape(exporter: &Exporter) -> Result<Duration, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let response = client
        .get(format!("{}/metrics", exporter.base))
        .send()
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let body = response.text().map_err(|e| e.to_string())?;
    if !body.contains("certcentral_up") {
        return Err("an incomplete body".to_owned());
    }
    Ok(started.elapsed())
}

/// A demo exporter of a few thousand orders (a body of megabytes) under a
/// 1,024-file limit, ready; and its resident memory then.
fn large_exporter(extra: &[&str]) -> (Exporter, u64) {
    // Few details a poll: the first poll ends at once, the report's
    // series make the body.
    let mut args = vec![
        "--demo",
        "--demo.orders",
        "3000",
        "--certcentral.detail-budget",
        "20",
    ];
    args.extend_from_slice(extra);
    let exporter =
        Exporter::start_wrapped(BIN, &["prlimit", "--nofile=1024:1024", "--"], &args, &[]);
    exporter.wait_ready_within(Duration::from_secs(120));
    let idle = rss_bytes(&exporter);
    (exporter, idle)
}

/// 950 connections that pipeline `GET /metrics` and never read (4 KB
/// receive buffers), under a 1,024-file limit: Prometheus' scrape still
/// gets through within seconds (a response stalled for a second is closed
/// to make room at the bound), and the exporter's memory stays within
/// 300 MB of idle (responses are taken a 64 KB chunk at a time, not
/// buffered whole).
#[test]
fn clients_that_never_read_cannot_lock_prometheus_out() {
    certcentral_exporter::server::listen::raise_open_file_limit();
    let (exporter, idle) = large_exporter(&[]);
    let target = addr(&exporter);
    let request = "GET /metrics HTTP/1.1\r\nHost: flood\r\n\r\n".repeat(20);
    let mut flood = Vec::new();
    for _ in 0..950 {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .expect("a socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        if socket
            .connect_timeout(&target.into(), Duration::from_secs(1))
            .is_err()
        {
            continue;
        }
        socket.set_nonblocking(true).expect("non-blocking");
        let mut stream = TcpStream::from(socket);
        let _ = stream.write(request.as_bytes());
        flood.push(stream);
    }
    eprintln!("{} non-reading connections open", flood.len());
    assert!(flood.len() >= 900, "only {} connected", flood.len());
    // Each has had time to stall; then Prometheus scrapes, five times.
    let mut worst = Duration::ZERO;
    let mut peak = rss_bytes(&exporter);
    for _ in 0..5 {
        let took = timed_scrape(&exporter).unwrap_or_else(|e| {
            panic!(
                "a scrape under the flood failed: {e}\n{}",
                exporter.process.logs()
            )
        });
        worst = worst.max(took);
        peak = peak.max(rss_bytes(&exporter));
    }
    eprintln!(
        "worst scrape {worst:?}; RSS idle {} MB, peak {} MB",
        idle >> 20,
        peak >> 20
    );
    assert!(worst < Duration::from_secs(5), "{worst:?}");
    assert!(
        peak < idle + (300 << 20),
        "RSS grew from {} MB to {} MB",
        idle >> 20,
        peak >> 20
    );
    drop(flood);
    assert!(exporter.process.is_running());
}

/// 20 HTTP/2 (h2c) connections that each open as many `GET /metrics`
/// streams as they may with a flow-control window of 0: the streams per
/// connection are bounded, memory stays within 300 MB of idle, a scrape
/// gets through, and the connections, making no progress, are closed after
/// the write timeout.
#[test]
fn http2_streams_with_a_shut_window_are_bounded_and_closed() {
    let (exporter, idle) = large_exporter(&["--web.write-timeout", "4s"]);
    let target = addr(&exporter);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (streams, peak, ended) = runtime.block_on(async {
        let mut connections = Vec::new();
        let mut responses = Vec::new();
        for _ in 0..20 {
            let tcp = tokio::net::TcpStream::connect(target)
                .await
                .expect("connect");
            let (client, connection) = h2::client::Builder::new()
                .initial_window_size(0)
                .handshake::<_, bytes::Bytes>(tcp)
                .await
                .expect("an h2c handshake");
            connections.push(tokio::spawn(connection));
            let mut client = client;
            for _ in 0..200 {
                let ready = tokio::time::timeout(Duration::from_millis(200), client.ready()).await;
                let Ok(Ok(ready)) = ready else { break };
                client = ready;
                let request = http::Request::get(format!("http://{target}/metrics"))
                    .body(())
                    .expect("a request");
                let Ok((response, _)) = client.send_request(request, true) else {
                    break;
                };
                responses.push(response);
            }
        }
        // Every stream's response has begun (its body waits on the window)
        // before memory is read.
        let mut begun = Vec::new();
        for response in responses {
            if let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(10), response).await
            {
                begun.push(response);
            }
        }
        let peak = rss_bytes(&exporter);
        // Streams past the bound are refused (RST_STREAM) rather than
        // served: what counts is how many got a response.
        let streams = begun.len();
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            for connection in connections {
                let _ = connection.await;
            }
        })
        .await
        .is_ok();
        drop(begun);
        (streams, peak, ended)
    });
    eprintln!(
        "{streams} streams answered on 20 connections; RSS idle {} MB, after {} MB; closed: {ended}",
        idle >> 20,
        peak >> 20
    );
    assert!(streams <= 20 * 8, "{streams} streams answered at once");
    assert!(streams >= 20, "only {streams} streams answered");
    assert!(ended, "the stalled connections are still open after 30 s");
    assert!(peak < idle + (300 << 20), "RSS {} MB", peak >> 20);
    timed_scrape(&exporter).expect("a scrape after the flood");
}

/// 30 clients sending new wrong passwords without pause do not keep a
/// right password that is not remembered yet out: each of three users'
/// first login gets through within seconds (checks wait their turn instead
/// of being turned away, and no one client takes every place); and a
/// SIGHUP that leaves the users as they are keeps what was remembered, so
/// Prometheus' next scrape costs no bcrypt.
#[test]
fn a_flood_of_wrong_passwords_cannot_keep_a_right_one_out() {
    let dir = tempfile::tempdir().unwrap();
    let users = ["prometheus", "grafana", "oncall"];
    let mut file = String::from("basic_auth_users:\n");
    for user in users {
        let hash = bcrypt::hash(format!("{user}-secret"), 10).unwrap();
        file.push_str(&format!("  {user}: {hash}\n"));
    }
    file.push_str("auth_excluded_paths: [/-/healthy]\n");
    let config = dir.path().join("web.yml");
    std::fs::write(&config, &file).unwrap();
    let exporter = Exporter::start(
        BIN,
        &["--demo", "--web.config.file", config.to_str().unwrap()],
        &[],
    );
    exporter.wait_healthy(Duration::from_secs(30));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..30)
        .map(|thread| {
            let (stop, sent, base) = (stop.clone(), sent.clone(), exporter.base.clone());
            std::thread::spawn(move || {
                let client = http();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let _ = client
                        .get(format!("{base}/metrics"))
                        .header(
                            "Authorization",
                            basic("prometheus", &format!("wrong-{thread}-{n}")),
                        )
                        .send();
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    wait_for("the flood under way", Duration::from_secs(30), || {
        (sent.load(Ordering::Relaxed) >= 60).then_some(())
    });
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    for user in users {
        let started = Instant::now();
        let status = client
            .get(format!("{}/metrics", exporter.base))
            .header("Authorization", basic(user, &format!("{user}-secret")))
            .send()
            .map(|r| r.status().as_u16());
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(
            status.ok(),
            Some(200),
            "{user}'s first login under the flood"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for thread in flood {
        thread.join().unwrap();
    }
    eprintln!("slowest first login under the flood: {slowest:?}");
    assert!(slowest < Duration::from_secs(8), "{slowest:?}");

    let right = basic("prometheus", "prometheus-secret");
    let before = verifications(&exporter, &right);
    hangup_until_logged(&exporter.process, "read the web config again");
    assert_eq!(
        verifications(&exporter, &right),
        before,
        "a reload with the same users forgot the remembered logins"
    );
}
