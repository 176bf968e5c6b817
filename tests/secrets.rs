//! The secret sweep: a recognisable API key is fed through every failure
//! path (a rejected key, 500s, timeouts, resets, cut and garbage pages,
//! bad details, 429s, a CertCentral that echoes the key back in its
//! answers, in any letter case, percent-encoded or base64, a bad command
//! line, the key file given as a YAML file) with debug and trace logging,
//! in logfmt and JSON, and must appear in no log line, no metric, no page
//! and no error message; a redirect to another host takes it nowhere.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certcentral_test_support::{
    Binary, Exporter, Faults, Scrape, Simulator, exporter_binary, faults_flag, http, value,
    wait_for,
};

const BIN: Binary = exporter_binary!();

const KEY: &str = "SECRET-SWEEP-7f1e2d3c4b5a";
/// The key's tail alone, in case something cuts or wraps the key.
const KEY_TAIL: &str = "7f1e2d3c4b5a";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(KEY) && !text.contains(KEY_TAIL),
        "the key is in {what}: ...{}...",
        text.find(KEY_TAIL)
            .map(|at| &text[at.saturating_sub(200)..(at + 60).min(text.len())])
            .unwrap_or_default()
    );
}

/// An exporter started with exactly these flags (`Exporter::start` adds
/// `--log.level debug`) and no store, and the key in the environment.
struct Run {
    exporter: Exporter,
}

impl Run {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = BIN.command();
        command.envs(env.iter().copied());
        let mut all = vec!["--storage.path", ""];
        all.extend_from_slice(args);
        Run {
            exporter: Exporter::spawn(command, &all),
        }
    }

    fn with_key(args: &[&str]) -> Run {
        Run::start(args, &[("CERTCENTRAL_API_KEY", KEY)])
    }

    /// With the key, polling the stand-in at `base` every second, and
    /// `extra` flags.
    fn polling(base: &str, extra: &[&str]) -> Run {
        let url = format!("{base}/services/v2");
        let mut args = vec!["--certcentral.url", &url, "--poll.interval", "1s"];
        args.extend_from_slice(extra);
        Run::with_key(&args)
    }

    fn scrape(&mut self) -> Option<Scrape> {
        let process = &self.exporter.process;
        assert!(process.is_running(), "{}", process.logs());
        let text = http()
            .get(self.exporter.url("/metrics"))
            .send()
            .ok()?
            .text()
            .ok()?;
        Some(Scrape::parse(&text))
    }

    /// Scrapes until `check` holds (60 s at most; then panics with the
    /// exporter's last log lines).
    fn until(&mut self, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(scrape) = self.scrape().filter(|s| check(s)) {
                return scrape;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after 60s waiting for {what}:\n{}",
                self.exporter.process.tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every page and the logs so far are free of the key; then the
    /// process is stopped and its last words are checked too.
    fn sweep(self, what: &str) -> String {
        for path in ["/", "/metrics", "/-/ready", "/-/healthy", "/nowhere"] {
            let body = http()
                .get(self.exporter.url(path))
                .send()
                .and_then(|r| r.text())
                .unwrap_or_default();
            assert_clean(&format!("{what}: the page {path}"), &body);
        }
        let status = self.exporter.process.terminate(Duration::from_secs(10));
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{what}");
        let logs = self.exporter.process.logs();
        assert_clean(&format!("{what}: the logs"), &logs);
        logs
    }
}

fn errors(s: &Scrape, kind: &str) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == "certcentral_poll_errors_total")
        .filter(|x| x.labels.get("kind") == Some(kind))
        .map(|x| value(&x.value))
        .sum()
}

#[test]
fn a_rejected_key_is_never_shown() {
    let sim = Simulator::start(BIN, 20, 1, &["--api-key", "the-right-key"]);
    let url = sim.api_url();
    let mut run = Run::with_key(&[
        "--certcentral.url",
        &url,
        "--poll.interval",
        "1s",
        "--log.level",
        "trace",
    ]);
    run.until("the key rejected twice", |s| errors(s, "auth") >= 2.0);
    let logs = run.sweep("rejected key");
    assert!(logs.contains("rejected the API key"), "{logs}");
}

/// Every fault of the simulator in turn, with the key accepted, logging at
/// debug level in JSON: each line stays JSON and none holds the key.
#[test]
fn every_fault_with_json_debug_logs() {
    let bad_details = faults_flag(&Faults {
        bad_detail_rate: 0.5,
        ..Faults::default()
    });
    let sim = Simulator::start(
        BIN,
        150,
        2,
        &[
            "--api-key",
            KEY,
            "--rate-limit",
            "200000/3m,20000/5s",
            "--faults",
            &bad_details,
        ],
    );
    let url = sim.api_url();
    let mut run = Run::with_key(&[
        "--certcentral.url",
        &url,
        "--certcentral.rate-limit",
        "200000/3m,20000/100ms",
        "--certcentral.retry-delay",
        "50ms",
        "--certcentral.detail-budget",
        "100000",
        "--certcentral.timeout",
        "1s",
        "--certcentral.max-retries",
        "1",
        "--poll.interval",
        "1s",
        "--poll.timeout",
        "60s",
        "--log.level",
        "debug",
        "--log.format",
        "json",
    ]);
    let first = run.until("a first poll with bad details", |s| {
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    assert!(
        first
            .samples
            .iter()
            .any(|x| x.metric == "certcentral_order_detail_errors_total"),
        "bad details were counted"
    );
    let none = Faults::default;
    for (faults, kind) in [
        (
            Faults {
                error_rate: 1.0,
                ..none()
            },
            "server",
        ),
        (
            Faults {
                slow_rate: 1.0,
                slow_ms: 2500,
                ..none()
            },
            "timeout",
        ),
        (
            Faults {
                reset_rate: 1.0,
                ..none()
            },
            "transport",
        ),
        (
            Faults {
                truncate_report_rate: 1.0,
                ..none()
            },
            "decode",
        ),
        (
            Faults {
                garbage_report_rate: 1.0,
                ..none()
            },
            "decode",
        ),
        (
            // A request rides out 10 answers 429 in a row whatever
            // --certcentral.max-retries says; the report and the listing
            // beside it share a burst, so it takes more than 22 to fail
            // the report.
            Faults {
                rate_limit_burst: 30,
                ..none()
            },
            "rate_limited",
        ),
    ] {
        let before = errors(&run.scrape().unwrap(), kind);
        sim.set_faults(&faults);
        run.until(&format!("a {kind} failure"), |s| errors(s, kind) > before);
        sim.set_faults(&none());
    }
    let logs = run.sweep("faults, JSON logs");
    for line in logs.lines() {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
    for message in ["poll failed", "retrying a CertCentral request"] {
        assert!(logs.contains(message), "{message}: {logs}");
    }
}

// ---------------------------------------------------------------------------
// A CertCentral that echoes the key back: in error bodies (JSON and text),
// in a page of garbage, in a redirect URL, in a 429, in details that are
// not the documented JSON, in a subaccount refusal.

/// Answers for the report endpoint, in turn.
const REPORT_ANSWERS: usize = 7;

struct Echo {
    base: String,
    reports: Arc<AtomicUsize>,
    details: Arc<AtomicUsize>,
    subaccounts: Arc<AtomicUsize>,
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// The head of a request as a stand-in reads it.
struct Head {
    /// `GET /path HTTP/1.1`.
    request: String,
    /// The header lines as sent.
    headers: String,
    /// The `X-DC-DEVKEY` it came with.
    key: String,
}

impl Head {
    fn path(&self) -> String {
        self.request
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned()
    }
}

/// A stand-in on a port of its own that hands each request's head to
/// `answer`, one connection at a time; its base URL.
fn stand_in(mut answer: impl FnMut(&mut TcpStream, Head) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The thread ends with the test process.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Head {
                request: String::new(),
                headers: String::new(),
                key: String::new(),
            };
            if reader.read_line(&mut head.request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("x-dc-devkey")
                {
                    head.key = value.trim().to_owned();
                }
                head.headers.push_str(&line);
            }
            answer(&mut stream, head);
        }
    });
    base
}

fn report_csv() -> String {
    let sample = include_str!("data/report-sample.csv");
    sample.to_owned()
}

impl Echo {
    fn start() -> Echo {
        let reports = Arc::new(AtomicUsize::new(0));
        let details = Arc::new(AtomicUsize::new(0));
        let subaccounts = Arc::new(AtomicUsize::new(0));
        let (r, d, s) = (reports.clone(), details.clone(), subaccounts.clone());
        let base = stand_in(move |stream, head| {
            let Head {
                request,
                headers,
                key,
            } = &head;
            let path = head.path();
            let json_error = |code: &str, message: String| {
                serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string()
            };
            if path.contains("echo-redirect") {
                // The redirect target: hang up without an answer.
                let _ = stream.shutdown(std::net::Shutdown::Both);
            } else if path.contains("/report/order") {
                let n = r.fetch_add(1, Ordering::SeqCst);
                match n % REPORT_ANSWERS {
                    0 => respond(
                        stream,
                        "401 Unauthorized",
                        &[],
                        &json_error("invalid_api_key", format!("the key {key} is not valid")),
                    ),
                    1 => respond(
                        stream,
                        "500 Internal Server Error",
                        &[],
                        &json_error(key, format!("internal error serving {key}")),
                    ),
                    2 => respond(
                        stream,
                        "400 Bad Request",
                        &[("Content-Type", "text/plain".into())],
                        &format!("{request}{headers}"),
                    ),
                    3 => respond(
                        stream,
                        "200 OK",
                        &[("Content-Type", "text/html".into())],
                        &format!("<html><body>Proxy error for {key}</body></html>"),
                    ),
                    4 => respond(
                        stream,
                        "302 Found",
                        &[("Location", format!("/services/v2/echo-redirect?key={key}"))],
                        "",
                    ),
                    5 => respond(
                        stream,
                        "429 Too Many Requests",
                        &[],
                        &json_error("request_limit_exceeded", format!("slow down, {key}")),
                    ),
                    _ => respond(stream, "200 OK", &[], &report_csv()),
                }
            } else if path.contains("/account/subaccount/order") {
                s.fetch_add(1, Ordering::SeqCst);
                respond(
                    stream,
                    "403 Forbidden",
                    &[],
                    &json_error("access_denied", format!("{key} may not list subaccounts")),
                );
            } else if path.contains("/order/certificate/") {
                d.fetch_add(1, Ordering::SeqCst);
                let body = serde_json::json!([{"unexpected": key}, key]).to_string();
                respond(stream, "200 OK", &[], &body);
            } else {
                respond(stream, "404 Not Found", &[], key);
            }
        });
        Echo {
            base,
            reports,
            details,
            subaccounts,
        }
    }
}

#[test]
fn a_certcentral_that_echoes_the_key_back_with_trace_logs() {
    let echo = Echo::start();
    let url = format!("{}/services/v2", echo.base);
    let mut run = Run::with_key(&[
        "--certcentral.url",
        &url,
        "--certcentral.rate-limit",
        "200000/3m,20000/100ms",
        "--certcentral.retry-delay",
        "50ms",
        "--certcentral.detail-budget",
        "100000",
        "--poll.interval",
        "1s",
        "--log.level",
        "trace",
    ]);
    wait_for(
        "every echoing answer served twice",
        Duration::from_secs(90),
        || {
            assert!(
                run.exporter.process.is_running(),
                "{}",
                run.exporter.process.logs()
            );
            (echo.reports.load(Ordering::SeqCst) >= 2 * REPORT_ANSWERS
                && echo.details.load(Ordering::SeqCst) >= 2
                && echo.subaccounts.load(Ordering::SeqCst) >= 1)
                .then_some(())
        },
    );
    let scrape = run.scrape().unwrap();
    for code in ["401", "500", "400", "429", "200", "error"] {
        let seen = scrape.samples.iter().any(|x| {
            x.metric == "certcentral_api_requests_total" && x.labels.get("code") == Some(code)
        });
        assert!(seen, "code {code}: {}", scrape.text);
    }
    for kind in ["auth", "api", "decode"] {
        assert!(errors(&scrape, kind) >= 1.0, "kind {kind}: {}", scrape.text);
    }
    let logs = run.sweep("echoing CertCentral");
    assert!(
        logs.contains("[REDACTED]"),
        "the echoes were redacted: {logs}"
    );
}

/// The panic this file used to reach (a retention of a hundred million
/// years overflowed date arithmetic in the poller) is now a start-up error
/// naming the flag; a poll that panics anyway is caught by the poller and
/// counted as a failed poll of kind "panic" (src/poller.rs), and the panic
/// hook logs it as one line with the key redacted (the unit test in
/// src/main.rs: no input reaches a panic from outside any more).
#[test]
fn a_duration_too_long_for_dates_is_refused_at_start_up() {
    let (code, text) = run_to_exit(
        &["--demo", "--metrics.expired-retention", "100000000y"],
        &[],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--metrics.expired-retention"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

// ---------------------------------------------------------------------------
// Start-up: the key as a flag, in a config file, in a file others can read.

fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = BIN.output(args, env);
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    (out.status.code(), text)
}

#[test]
fn the_key_is_never_a_flag_value_and_start_up_errors_do_not_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let inline = dir.path().join("inline.yml");
    std::fs::write(
        &inline,
        format!("accounts:\n  - name: prod\n    api_key: {KEY}\n"),
    )
    .unwrap();
    let typo = dir.path().join("typo.yml");
    std::fs::write(
        &typo,
        "accounts:\n  - name: prod\n    api_key_env: PROD_KEY\n    urll: x\n",
    )
    .unwrap();
    let inline = inline.to_str().unwrap();
    let typo = typo.to_str().unwrap();
    let env = [("CERTCENTRAL_API_KEY", KEY), ("PROD_KEY", KEY)];
    let glued = format!("--certcentral.api-key={KEY}");
    for args in [
        &["--certcentral.api-key", KEY][..],
        &[glued.as_str()],
        &["--certcentral.apikey", KEY],
        &["--api-key", KEY],
        &["--config.file", inline],
        &["--config.file", typo],
        &["--poll.interval", "soon"],
        &["--web.listen-address", "nowhere"],
        &["--certcentral.url", "ftp://example.com"],
    ] {
        let (code, output) = run_to_exit(args, &env);
        assert_eq!(code, Some(2), "{args:?}: {output}");
        assert_clean(&format!("the error for {args:?}"), &output);
    }
    // The key pasted where a field's value belongs: the error names the
    // field, never its value. A URL with a query string (a token) or a
    // password is refused the same way.
    for (field, value) in [
        ("api_key_env", KEY.to_owned()),
        ("url", format!("not a url {KEY}")),
        (
            "url",
            format!("https://www.digicert.com/services/v2?token={KEY}"),
        ),
        (
            "url",
            format!("https://user:{KEY}@www.digicert.com/services/v2"),
        ),
        ("rate_limit", KEY.to_owned()),
    ] {
        let pasted = dir.path().join("pasted.yml");
        let key_env = if field == "api_key_env" {
            ""
        } else {
            "    api_key_env: PROD_KEY\n"
        };
        std::fs::write(
            &pasted,
            format!("accounts:\n  - name: prod\n{key_env}    {field}: \"{value}\"\n"),
        )
        .unwrap();
        let (code, output) = run_to_exit(&["--config.file", pasted.to_str().unwrap()], &env);
        assert_eq!(code, Some(2), "{field}: {output}");
        assert!(output.contains(field), "names {field}: {output}");
        assert_clean(&format!("the error for a key pasted into {field}"), &output);
    }
    let (code, help) = run_to_exit(&["--help"], &env);
    assert_eq!(code, Some(0));
    assert!(!help.contains("--certcentral.api-key "), "no such flag");
    assert_clean("--help", &help);
}

#[cfg(unix)]
#[test]
fn a_world_readable_key_file_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-key");
    std::fs::write(&file, format!("{KEY}\n")).unwrap();
    let path = file.to_str().unwrap();
    // Nothing listens on port 1: every poll is a refused connection.
    let args = [
        "--certcentral.api-key-file",
        path,
        "--certcentral.url",
        "http://127.0.0.1:1/services/v2",
        "--certcentral.max-retries",
        "0",
    ];
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut run = Run::start(&args, &[]);
        run.until("a failed poll", |s| errors(s, "transport") >= 1.0);
        let logs = run.sweep(&format!("key file {mode:o}"));
        assert_eq!(
            logs.contains("readable by every user"),
            warned,
            "mode {mode:o}: {logs}"
        );
    }
}

// ---------------------------------------------------------------------------
// A CertCentral URL that redirects to another host: the key never gets there.

/// Another host: it records every connection and what came over it.
struct Recorder {
    base: String,
    received: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        use std::io::Read;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut bytes = vec![0; 64 * 1024];
                let n = stream.read(&mut bytes).unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&bytes[..n]).into_owned());
                respond(&mut stream, "200 OK", &[], &report_csv());
            }
        });
        Recorder { base, received }
    }
}

/// A CertCentral that answers like one until `redirect` is set, then sends
/// every request to `to` with a 301, 302, 307 or 308 in turn, the key
/// echoed in the Location, a header and the body.
fn redirector(
    to: String,
    redirect: Arc<std::sync::atomic::AtomicBool>,
) -> (String, Arc<AtomicUsize>) {
    let redirects = Arc::new(AtomicUsize::new(0));
    let counted = redirects.clone();
    let base = stand_in(move |stream, head| {
        let (path, key) = (head.path(), &head.key);
        if redirect.load(Ordering::SeqCst) {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let status = [
                "301 Moved Permanently",
                "302 Found",
                "307 Temporary Redirect",
                "308 Permanent Redirect",
            ][n % 4];
            respond(
                stream,
                status,
                &[
                    ("Location", format!("{to}{path}&key={key}")),
                    ("X-Echo", key.clone()),
                ],
                &format!("moved, {key}"),
            );
        } else if path.contains("/report/order") {
            respond(stream, "200 OK", &[], &report_csv());
        } else {
            respond(stream, "404 Not Found", &[], "{}");
        }
    });
    (base, redirects)
}

#[test]
fn a_redirect_to_another_host_never_takes_the_key_there() {
    let elsewhere = Recorder::start();
    let redirect = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (base, redirects) = redirector(elsewhere.base.clone(), redirect.clone());
    let url = format!("{base}/services/v2");
    let mut run = Run::with_key(&[
        "--certcentral.url",
        &url,
        "--certcentral.retry-delay",
        "50ms",
        "--poll.interval",
        "1s",
    ]);
    let good = run.until("a first good poll", |s| {
        s.value("certcentral_up", &[]) == Some(1.0)
    });
    let orders = good.sum("certcentral_orders", &[]);
    assert!(orders > 0.0, "{}", good.text);
    redirect.store(true, Ordering::SeqCst);
    let refused = |s: &Scrape| {
        s.sum(
            "certcentral_api_redirects_refused_total",
            &[("account", "default")],
        )
    };
    assert_eq!(
        refused(&good),
        0.0,
        "the series exists from the start: {}",
        good.text
    );
    // Each of the four statuses counted: a request in flight beside the
    // one whose refusal failed the poll is dropped uncounted, so this may
    // take more than four refusals.
    let failed = run.until("a refused redirect of each status", |s| {
        refused(s) >= 4.0
            && s.value("certcentral_up", &[]) == Some(0.0)
            && ["301", "302", "307", "308"]
                .iter()
                .all(|code| s.sum("certcentral_api_requests_total", &[("code", code)]) >= 1.0)
    });
    assert!(redirects.load(Ordering::SeqCst) >= 4);
    assert!(errors(&failed, "api") >= 1.0, "{}", failed.text);
    assert_eq!(
        failed.sum("certcentral_orders", &[]),
        orders,
        "the last good data is still served"
    );
    for code in ["301", "302", "307", "308"] {
        assert!(
            failed.sum("certcentral_api_requests_total", &[("code", code)]) >= 1.0,
            "{code}: {}",
            failed.text
        );
    }
    let logs = run.sweep("redirects to another host");
    assert_eq!(
        logs.matches("CertCentral redirected to another origin")
            .count(),
        1,
        "logged once: {logs}"
    );
    assert!(logs.contains("poll failed"), "{logs}");
    let received = elsewhere.received.lock().unwrap();
    assert!(
        received.is_empty(),
        "the other host was reached: {received:?}"
    );
}

// ---------------------------------------------------------------------------
// Another file where a YAML file belongs: named by line, never shown.

#[test]
fn the_key_file_or_a_password_file_as_a_config_is_named_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("api-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let key_file = key_file.to_str().unwrap();
    let mut files = vec![(key_file.to_owned(), KEY.to_owned())];
    // A password file: every field of its lines is content.
    if let Ok(shadow) = std::fs::read_to_string("/etc/shadow") {
        files.extend(
            shadow
                .split([':', '\n'])
                .filter(|field| field.len() >= 5)
                .map(|field| ("/etc/shadow".to_owned(), field.to_owned())),
        );
    }
    for (file, content) in &files {
        for flag in ["--config.file", "--web.config.file"] {
            let (code, output) = run_to_exit(&["--demo", flag, file], &[]);
            assert_eq!(code, Some(2), "{flag} {file}: {output}");
            assert_eq!(output.trim().lines().count(), 1, "one line: {output}");
            assert!(output.contains(file.as_str()), "names the file: {output}");
            assert!(output.contains("line 1 column 1"), "and the line: {output}");
            assert!(
                !output.contains(content.as_str()),
                "{flag} {file}: {output}"
            );
            assert_clean(&format!("{flag} {file}"), &output);
        }
    }
}

// ---------------------------------------------------------------------------
// A CertCentral that echoes the key encoded: redaction knows the spellings.

/// The key as an upstream might echo it: another letter case,
/// percent-encoded, base64 (alone and as part of a longer text).
fn spellings() -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let percent = |all: bool, upper: bool| -> String {
        KEY.bytes()
            .map(|b| match (all || b == b'-', upper) {
                (true, true) => format!("%{b:02X}"),
                (true, false) => format!("%{b:02x}"),
                (false, _) => char::from(b).to_string(),
            })
            .collect()
    };
    vec![
        KEY.to_ascii_lowercase(),
        KEY.to_ascii_uppercase(),
        KEY.replace("SECRET", "sEcReT").replace("7f1e", "7F1e"),
        percent(false, true),
        percent(true, true),
        percent(true, false),
        STANDARD.encode(KEY),
        URL_SAFE_NO_PAD.encode(KEY),
        STANDARD.encode(format!("apikey:{KEY}")),
    ]
}

fn assert_no_spelling(what: &str, text: &str) {
    assert_clean(what, text);
    for form in spellings() {
        assert!(
            !text.contains(&form),
            "{what} holds the key as {form}: {text}"
        );
    }
}

/// Answers every report request with an error whose body (JSON, then
/// text) and `X-Echo` header hold the key in the next spelling.
fn spelling_echo() -> (String, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let forms = spellings();
    let base = stand_in(move |stream, _| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let form = &forms[(n / 2) % forms.len()];
        let headers = [("X-Echo", form.clone())];
        if n.is_multiple_of(2) {
            let body = serde_json::json!({"errors": [{"code": form, "message": format!("bad key {form}")}]});
            respond(stream, "400 Bad Request", &headers, &body.to_string());
        } else {
            respond(stream, "409 Conflict", &headers, &format!("no: {form}"));
        }
    });
    (base, served)
}

#[test]
fn the_key_echoed_in_any_spelling_is_redacted_in_every_log_format_and_page() {
    for format in ["logfmt", "json"] {
        let (base, served) = spelling_echo();
        let run = Run::polling(&base, &["--log.level", "trace", "--log.format", format]);
        let rounds = 2 * spellings().len();
        wait_for("every spelling echoed", Duration::from_secs(90), || {
            assert!(
                run.exporter.process.is_running(),
                "{}",
                run.exporter.process.logs()
            );
            // The landing page shows each poll's error as it comes.
            let page = http()
                .get(run.exporter.url("/"))
                .send()
                .and_then(|r| r.text())
                .unwrap_or_default();
            assert_no_spelling(&format!("{format}: the page /"), &page);
            (served.load(Ordering::SeqCst) > rounds).then_some(())
        });
        let logs = run.sweep(&format!("spellings, {format}"));
        assert_no_spelling(&format!("{format}: the logs"), &logs);
        assert!(logs.contains("[REDACTED]"), "{logs}");
    }
}

/// The key in an answer where a cut, a line break or two fields would
/// leave part of it: across the point where a long text body is cut for
/// the log, wrapped by a newline (as is and as a `\n` escape), split
/// between two errors of a JSON answer. No part of it is logged or shown,
/// and a 200 KB answer makes a short line, not a 200 KB one.
#[test]
fn the_key_cut_wrapped_or_split_in_an_answer_leaves_no_part_of_it() {
    let (head, tail) = KEY.split_at(13);
    let bodies: Vec<(&str, String)> = vec![
        (
            "500 Internal Server Error",
            format!("{}{KEY} and more", "x".repeat(188)),
        ),
        (
            "500 Internal Server Error",
            format!("wrapped {head}\n{tail} here"),
        ),
        (
            "500 Internal Server Error",
            format!("escaped {head}\\n{tail} here"),
        ),
        (
            "400 Bad Request",
            serde_json::json!({"errors": [
                {"code": "invalid_input", "message": format!("begins {head}")},
                {"code": "invalid_input", "message": format!("{tail} ends")},
            ]})
            .to_string(),
        ),
        ("502 Bad Gateway", "y".repeat(200_000)),
    ];
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let answers = bodies.clone();
    let base = stand_in(move |stream, _| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let (status, body) = &answers[n % answers.len()];
        respond(stream, status, &[], body);
    });
    let run = Run::polling(&base, &["--certcentral.max-retries", "0"]);
    wait_for("every answer served", Duration::from_secs(60), || {
        (served.load(Ordering::SeqCst) > bodies.len()).then_some(())
    });
    let page = http()
        .get(run.exporter.url("/"))
        .send()
        .and_then(|r| r.text())
        .unwrap_or_default();
    assert!(
        page.len() < 20_000,
        "the landing page is {} bytes",
        page.len()
    );
    let logs = run.sweep("cut, wrapped and split keys");
    for part in [&KEY[..8], &KEY[5..13], tail] {
        assert!(!logs.contains(part), "{part:?} is in the logs: {logs}");
    }
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 5_000, "a log line of {longest} bytes");
}
