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
