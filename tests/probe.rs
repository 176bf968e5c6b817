//! `/probe` over real TLS: endpoints serving certificates minted for the
//! test, a CertCentral stand-in whose report names some of them, and the
//! real binary. The served certificate is found active, superseded by a
//! renewal (with what to install) or unknown; a target that is not allowed
//! gets a 403 and no connection; an endpoint that never finishes its
//! handshake costs one bounded probe; no endpoint receives anything but a
//! handshake. Hostile endpoints (a chain of over 1 MB, garbage after the
//! ServerHello, TLS 1.0 only) cost one bounded, failed probe each. The
//! simulator's own TLS endpoints (`simulate --tls-endpoints`), one per
//! status and failure, are judged exactly as its truth says, and never see
//! the API key. A real Prometheus, with the shipped probe job and rules,
//! scraping `--demo`'s `/probe/targets` and `/probe`, raises exactly the
//! deployment alerts the simulator's truth calls for, among them the page
//! for a renewed order whose renewal was never installed.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use certcentral_test_support::{
    Binary, Exporter, IssuedOrder, Prometheus, Reissue, Scrape, Simulator, TestCa, TestLeaf,
    TlsEndpoint, exporter_binary, http, poll_until, probing_exporter, report_stand_in, stand_in,
    wait_for,
};

const BIN: Binary = exporter_binary!();

/// The report: three orders. Order 501 shows `active`; order 502 shows
/// `old` and was renewed by order 503, which shows `renewal`.
fn report(active: &TestLeaf, old: &TestLeaf, renewal: &TestLeaf) -> String {
    let order = |id, name, dns_names, leaf, days, renewed, renews| IssuedOrder {
        id,
        common_name: name,
        dns_names,
        container: "Web",
        leaf,
        days,
        renewed,
        renews,
    };
    report_stand_in(&[
        order(
            501,
            "active.example",
            "active.example,*.wild.example,bücher.example",
            active,
            200,
            false,
            None,
        ),
        order(
            502,
            "renewed.example",
            "renewed.example",
            old,
            20,
            true,
            None,
        ),
        order(
            503,
            "renewed.example",
            "renewed.example",
            renewal,
            380,
            false,
            Some(502),
        ),
    ])
}

fn probe(exporter: &Exporter, target: &str, name: &str) -> (u16, String) {
    let response = http()
        .get(exporter.url(&format!("/probe?target={target}&server_name={name}")))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "3")
        .send()
        .expect("an answer");
    (
        response.status().as_u16(),
        response.text().unwrap_or_default(),
    )
}

#[test]
fn served_certificates_are_matched_against_what_certcentral_knows() {
    let pki = TestCa::new("probe test CA");
    let (active, old, renewal, stranger) = (
        pki.leaf("active.example", 0x0f01, None),
        pki.leaf("renewed.example", 0x0f02, None),
        pki.leaf("renewed.example", 0x0f03, None),
        pki.leaf("stranger.example", 0x0f04, None),
    );
    let base = report(&active, &old, &renewal);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let endpoints = [
        TlsEndpoint::start("127.0.0.1", &active, Vec::new()),
        TlsEndpoint::start("127.0.0.1", &old, Vec::new()),
        TlsEndpoint::start("127.0.0.1", &stranger, Vec::new()),
    ];
    let (a, o, s) = (
        endpoints[0].address,
        endpoints[1].address,
        endpoints[2].address,
    );
    let refused = TlsEndpoint::start("127.0.0.2", &active, Vec::new());
    // Accepts and never answers: a handshake that never finishes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_address = silent.local_addr().unwrap();

    let url = format!("{base}/services/v2");
    let exporter = probing_exporter(BIN, &url, "probe-test-key", Some(&ca_file), &[]);
    exporter.wait_ready();

    let (code, text) = probe(&exporter, &a.to_string(), "active.example");
    assert_eq!(code, 200, "{text}");
    let scrape = Scrape::parse(&text);
    assert_eq!(
        scrape.value("certcentral_probe_success", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scrape.value(
            "certcentral_probe_certificate_status",
            &[
                ("status", "active"),
                ("order_id", "501"),
                ("account", "default")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scrape.value("certcentral_probe_certificate_verified", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(
        scrape.value(
            "certcentral_probe_certificate_expiry_timestamp_seconds",
            &[]
        ) > Some(0.0)
    );

    // The old certificate of a renewed order: superseded, and what to install.
    let (_, text) = probe(&exporter, &o.to_string(), "renewed.example");
    let scrape = Scrape::parse(&text);
    assert_eq!(
        scrape.value(
            "certcentral_probe_certificate_status",
            &[("status", "superseded"), ("order_id", "502")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        scrape
            .value(
                "certcentral_probe_replacement_expiry_timestamp_seconds",
                &[("replacement_order_id", "503"), ("by", "renewal")]
            )
            .is_some(),
        "{text}"
    );

    // A certificate of no polled account, under the wrong name too.
    let (_, text) = probe(&exporter, &s.to_string(), "other.example");
    let scrape = Scrape::parse(&text);
    assert_eq!(
        scrape.value(
            "certcentral_probe_certificate_status",
            &[("status", "unknown")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scrape.value("certcentral_probe_certificate_verified", &[]),
        Some(0.0),
        "{text}"
    );

    // Not allowed: 403, and no connection is made.
    let (code, text) = probe(&exporter, &refused.address.to_string(), "active.example");
    assert_eq!(code, 403, "{text}");
    assert_eq!(refused.connections.load(Ordering::SeqCst), 0);
    let (code, _) = probe(&exporter, "intranet.example:443", "intranet.example");
    assert_eq!(code, 403);
    let (code, _) = probe(&exporter, "a:b:c", "x");
    assert_eq!(code, 400);

    // A handshake that never finishes: one probe, bounded by the scrape
    // timeout, that says it failed.
    let started = std::time::Instant::now();
    let (code, text) = probe(&exporter, &silent_address.to_string(), "silent.example");
    assert_eq!(code, 200);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        Scrape::parse(&text).value("certcentral_probe_success", &[]),
        Some(0.0),
        "{text}"
    );
    drop(silent);

    // Service discovery: each name once, IDNs in ASCII, no wildcard, with
    // the newest order that names it.
    let discovered: serde_json::Value = http()
        .get(exporter.url("/probe/targets"))
        .send()
        .and_then(|r| r.json())
        .expect("the discovery JSON");
    let groups = discovered.as_array().expect("a list of target groups");
    let order_of = |target: &str| {
        groups.iter().find(|g| g["targets"][0] == target).map(|g| {
            assert_eq!(g["labels"]["account"], "default", "{g}");
            g["labels"]["__meta_certcentral_order_id"].clone()
        })
    };
    assert_eq!(order_of("active.example:443"), Some("501".into()));
    assert_eq!(order_of("xn--bcher-kva.example:443"), Some("501".into()));
    assert_eq!(order_of("renewed.example:443"), Some("503".into()));
    assert_eq!(groups.len(), 3, "{discovered}");

    // Nothing but handshakes reached the endpoints, and the key never did.
    let count = |of: fn(&TlsEndpoint) -> &AtomicUsize| -> usize {
        endpoints.iter().map(|e| of(e).load(Ordering::SeqCst)).sum()
    };
    wait_for(
        "the endpoints' connections to end",
        Duration::from_secs(10),
        || (count(|e| &e.connections) >= 3).then_some(()),
    );
    assert_eq!(
        count(|e| &e.bytes_after_handshake),
        0,
        "bytes after a handshake"
    );
    assert!(exporter.process.is_running());
}

/// What is wrong with a probe's answer, judged against the simulator's
/// truth about the endpoint.
fn against_truth(answer: &Scrape, truth: &serde_json::Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect = |what: &str, got: Option<f64>, want: Option<f64>| {
        if got != want {
            wrong.push(format!("{what}: {got:?}, not {want:?}"));
        }
    };
    let handshake = truth["handshake"] == true;
    expect(
        "success",
        answer.value("certcentral_probe_success", &[]),
        Some(f64::from(u8::from(handshake))),
    );
    if !handshake {
        return wrong;
    }
    expect(
        "expiry",
        answer.value(
            "certcentral_probe_certificate_expiry_timestamp_seconds",
            &[],
        ),
        truth["not_after"].as_f64(),
    );
    let status = truth["status"].as_str().unwrap_or("?");
    let order = truth["order_id"].as_u64().map(|id| id.to_string());
    let mut labels = vec![("status", status)];
    if let Some(order) = &order {
        labels.push(("order_id", order));
    }
    expect(
        "status",
        answer.value("certcentral_probe_certificate_status", &labels),
        Some(1.0),
    );
    let problem = truth["verify_problem"].as_str().unwrap_or("?");
    let (reason, verified) = match problem {
        "none" => ("", 1.0),
        reason => (reason, 0.0),
    };
    expect(
        "verified",
        answer.value(
            "certcentral_probe_certificate_verified",
            &[("reason", reason)],
        ),
        Some(verified),
    );
    let replacement = truth["replacement_order_id"]
        .as_u64()
        .map(|id| id.to_string());
    let got = answer
        .series()
        .into_iter()
        .find(|s| s.name == "certcentral_probe_replacement_expiry_timestamp_seconds")
        .map(|s| {
            (
                s.labels.get("replacement_order_id").cloned(),
                s.labels.get("by").cloned(),
                s.value,
            )
        });
    let want = replacement.map(|id| {
        (
            Some(id),
            truth["by"].as_str().map(str::to_owned),
            truth["replacement_not_after"].as_f64().unwrap_or(f64::NAN),
        )
    });
    if got != want {
        wrong.push(format!("replacement: {got:?}, not {want:?}"));
    }
    wrong
}

#[test]
fn the_simulators_endpoints_are_judged_as_its_truth_says() {
    const KEY: &str = "endpoint-test-key-5d1f";
    let sim = Simulator::start(BIN, 300, 3, &["--tls-endpoints", "--api-key", KEY]);
    let truth = sim.endpoints();
    let endpoints = truth["endpoints"].as_array().expect("a list").clone();
    let scenarios: Vec<&str> = endpoints
        .iter()
        .filter_map(|e| e["scenario"].as_str())
        .collect();
    assert_eq!(
        scenarios,
        [
            "active",
            "superseded-by-reissue",
            "superseded-by-renewal",
            "superseded-by-renewal-urgent",
            "unknown-ca",
            "expired",
            "wrong-name",
            "stalled",
            "reset"
        ],
        "a fleet of 300 has every scenario"
    );
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("simulator-ca.pem");
    std::fs::write(&ca_file, truth["ca_pem"].as_str().unwrap()).unwrap();
    let exporter = probing_exporter(BIN, &sim.api_url(), KEY, Some(&ca_file), &[]);
    exporter.wait_ready();
    // The reissue lists are read in the details step after the report.
    exporter.scrape_until("every due detail read", |s| {
        s.has("certcentral_details_backlog") && s.sum("certcentral_details_backlog", &[]) == 0.0
    });

    for endpoint in &endpoints {
        let (target, name) = (
            endpoint["target"].as_str().unwrap(),
            endpoint["server_name"].as_str().unwrap(),
        );
        let started = std::time::Instant::now();
        let (code, text) = probe(&exporter, target, name);
        assert_eq!(code, 200, "{endpoint}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{endpoint}: {:?}",
            started.elapsed()
        );
        let wrong = against_truth(&Scrape::parse(&text), endpoint);
        assert!(wrong.is_empty(), "{endpoint}\n{text}\n{wrong:#?}");
    }

    // Each endpoint saw one connection (the stalled one too: one bounded
    // probe), no byte after a handshake, and never the key.
    let seen = wait_for(
        "the endpoints to count their connections",
        Duration::from_secs(10),
        || {
            let after = sim.endpoints();
            let all = after["endpoints"].as_array()?.clone();
            all.iter()
                .all(|e| e["connections"].as_u64() >= Some(1))
                .then_some(all)
        },
    );
    for endpoint in seen {
        assert_eq!(endpoint["connections"], 1, "{endpoint}");
        assert_eq!(endpoint["key_seen"], false, "{endpoint}");
        if endpoint["handshake"] == true {
            assert_eq!(endpoint["application_bytes"], 0, "{endpoint}");
        }
    }

    // A reissue through the controls makes the active endpoint's
    // certificate a superseded one, once the exporter has polled.
    let active = &endpoints[0];
    let order = active["order_id"].as_u64().unwrap();
    sim.reissue(order, &Reissue::default());
    let after = sim.endpoints();
    let active = &after["endpoints"][0];
    assert_eq!(active["status"], "superseded", "{active}");
    assert_eq!(active["by"], "reissue", "{active}");
    assert!(exporter.process.is_running());
}

/// A loopback listener handing each connection to `serve` on a thread of
/// its own; its address and the connections it accepted.
fn raw_endpoint(
    serve: impl Fn(std::net::TcpStream) + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    (address, connections)
}

/// Waits (10 s at most) for the client to close.
fn until_closed(stream: &mut std::net::TcpStream) {
    use std::io::Read;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(1..)) {}
}

#[test]
fn a_hostile_endpoint_costs_one_bounded_probe() {
    use std::io::{Read, Write};
    let pki = TestCa::new("hostile test CA");
    let leaf = pki.leaf("hostile.example", 0x0e01, None);
    // A chain of over 1 MB: the leaf and five certificates of 4,000
    // long names each.
    let filler: Vec<Vec<u8>> = (0..5)
        .map(|n| {
            let names: Vec<String> = (0..4000)
                .map(|i| format!("filler-{n}-{i:05}-abcdefghijklmnopqrstuvwxyz.example.com"))
                .collect();
            let params = rcgen::CertificateParams::new(names).unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().der().to_vec()
        })
        .collect();
    let chain_size: usize = filler.iter().map(Vec::len).sum();
    assert!(chain_size > 1_000_000, "{chain_size}");
    let huge = TlsEndpoint::start("127.0.0.1", &leaf, filler);
    // A real server's ServerHello record, then garbage.
    let upstream = TlsEndpoint::start("127.0.0.1", &leaf, Vec::new()).address;
    let (garbage, garbage_connections) = raw_endpoint(move |mut client| {
        let Ok(mut server) = std::net::TcpStream::connect(upstream) else {
            return;
        };
        let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone())
        else {
            return;
        };
        std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_server));
        let mut header = [0u8; 5];
        if server.read_exact(&mut header).is_err() {
            return;
        }
        let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
        if server.read_exact(&mut body).is_err() {
            return;
        }
        let _ = client.write_all(&header);
        let _ = client.write_all(&body);
        let _ = client.write_all(&[0x5a; 65_536]);
        until_closed(&mut client);
    });
    // A server that speaks TLS 1.0 only: a protocol_version alert.
    let (tls10, tls10_connections) = raw_endpoint(|mut client| {
        let mut hello = [0u8; 512];
        let _ = client.read(&mut hello);
        let _ = client.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
        until_closed(&mut client);
    });

    let base = stand_in(|_| ("404 Not Found", "{}".to_owned()));
    let url = format!("{base}/services/v2");
    let exporter = probing_exporter(BIN, &url, "hostile-test-key", None, &[]);
    exporter.wait_healthy(Duration::from_secs(30));
    for (what, address, connections) in [
        ("a 1 MB chain", huge.address, &huge.connections),
        (
            "garbage after the ServerHello",
            garbage,
            &garbage_connections,
        ),
        ("TLS 1.0 only", tls10, &tls10_connections),
    ] {
        for attempt in 0..2 {
            let started = std::time::Instant::now();
            let (code, text) = probe(&exporter, &address.to_string(), "hostile.example");
            assert_eq!(code, 200, "{what}: {text}");
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "{what}: {:?}",
                started.elapsed()
            );
            assert_eq!(
                Scrape::parse(&text).value("certcentral_probe_success", &[]),
                Some(0.0),
                "{what} (probe {attempt}): {text}"
            );
        }
        // The second probe is the first one's answer, kept.
        assert_eq!(connections.load(Ordering::SeqCst), 1, "{what}");
    }
    assert!(exporter.process.is_running());
}

/// A number of the mixin's `_config` (`name: 30,`).
fn mixin_config(name: &str) -> f64 {
    let config = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mixin/config.libsonnet"),
    )
    .unwrap();
    config
        .lines()
        .find_map(|line| {
            let value = line.trim().strip_prefix(name)?.strip_prefix(':')?;
            value
                .split([',', ' '])
                .find(|v| !v.is_empty())?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {name} in mixin/config.libsonnet"))
}

/// The deployment alerts the simulator's endpoints call for, now:
/// (alert name, instance).
fn deployment_alerts_of(endpoints: &[serde_json::Value], now: f64) -> BTreeSet<(String, String)> {
    let (warning, critical, unknown) = (
        mixin_config("deploymentExpiringDays"),
        mixin_config("deploymentExpiringCriticalDays"),
        mixin_config("unknownCertificateExpiringDays"),
    );
    let mut alerts = BTreeSet::new();
    for endpoint in endpoints {
        let instance = endpoint["target"].as_str().unwrap_or("?").to_owned();
        let days = (endpoint["not_after"].as_f64().unwrap_or(f64::INFINITY) - now) / 86_400.0;
        let name = match (endpoint["handshake"] == true, endpoint["status"].as_str()) {
            (false, _) => "CertCentralProbeFailing",
            (true, Some("superseded")) if days < critical => {
                "CertCentralSupersededCertificateServedCritical"
            }
            (true, Some("superseded")) if days < warning => {
                "CertCentralSupersededCertificateServed"
            }
            (true, Some("unknown")) if days < unknown => "CertCentralUnknownCertificateExpiring",
            _ => continue,
        };
        alerts.insert((name.to_owned(), instance));
    }
    alerts
}

/// The alerts Prometheus holds, pending or firing, with their labels and
/// annotations.
fn prometheus_alerts(prometheus: &Prometheus) -> Vec<serde_json::Value> {
    prometheus
        .api("/api/v1/alerts", &[])
        .ok()
        .and_then(|data| data["alerts"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn deployment_alerts_in_a_real_prometheus_are_the_simulators_truth() {
    const DEPLOYMENT_ALERTS: [&str; 4] = [
        "CertCentralSupersededCertificateServed",
        "CertCentralSupersededCertificateServedCritical",
        "CertCentralUnknownCertificateExpiring",
        "CertCentralProbeFailing",
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let exporter = Exporter::start(BIN, &["--demo", "--log.level", "info"], &[]);
    exporter.wait_ready();
    exporter.scrape_until("every due detail read", |s| {
        s.has("certcentral_details_backlog") && s.sum("certcentral_details_backlog", &[]) == 0.0
    });
    let simulator = wait_for(
        "the demo to log its simulator",
        Duration::from_secs(10),
        || exporter.demo_simulator(),
    );
    let endpoints = simulator.endpoints()["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(endpoints.len(), 9, "the demo serves every scenario");

    // The shipped scrape job, pointed at this exporter, at test speed.
    let shipped =
        std::fs::read_to_string(root.join("deploy/prometheus/certcentral-probe.yml")).unwrap();
    let address = exporter.base.trim_start_matches("http://");
    let probe_job = shipped
        .split_once("scrape_configs:\n")
        .map(|(_, jobs)| jobs)
        .expect("a scrape_configs list")
        .replace("certcentral-exporter:10056", address)
        .replace("scrape_interval: 5m", "scrape_interval: 2s")
        .replace("scrape_timeout: 30s", "scrape_timeout: 2s")
        .replace("refresh_interval: 10m", "refresh_interval: 2s");
    let jobs = format!(
        "  - job_name: certcentral-exporter\n    static_configs:\n      - targets: ['{address}']\n{probe_job}"
    );
    let rules = root.join("alerts/certcentral.rules.yml");
    let prometheus = Prometheus::start_with(&jobs, Duration::from_secs(1), &[&rules]);

    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let expected = deployment_alerts_of(&endpoints, now());
    let mut active = BTreeSet::new();
    let alerts = poll_until(
        "the deployment alerts to be the simulator's truth",
        Duration::from_secs(90),
        Duration::from_millis(500),
        &[&exporter.process, &prometheus.process],
        || {
            let alerts = prometheus_alerts(&prometheus);
            active = alerts
                .iter()
                .filter_map(|a| {
                    let name = a["labels"]["alertname"].as_str()?;
                    DEPLOYMENT_ALERTS.contains(&name).then(|| {
                        let instance = a["labels"]["instance"].as_str().unwrap_or("?");
                        (name.to_owned(), instance.to_owned())
                    })
                })
                .collect();
            (active == expected).then_some(alerts)
        },
    );
    let names: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        DEPLOYMENT_ALERTS.into_iter().collect(),
        "the demo shows every deployment alert"
    );

    // The opening example: an order renewed in CertCentral, its renewal
    // never installed, four days left. No expiry alert names it (it is
    // renewed), but the endpoint serving it pages, naming the order and
    // what to install.
    let urgent = endpoints
        .iter()
        .find(|e| e["scenario"] == "superseded-by-renewal-urgent")
        .expect("the urgent renewal endpoint");
    let order = urgent["order_id"].as_u64().unwrap().to_string();
    let replacement = urgent["replacement_order_id"].as_u64().unwrap().to_string();
    let about_order: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["labels"]["order_id"] == order.as_str())
        .collect();
    let page = about_order
        .iter()
        .find(|a| a["labels"]["alertname"] == "CertCentralSupersededCertificateServedCritical")
        .unwrap_or_else(|| panic!("no page for order {order}: {about_order:#?}"));
    assert_eq!(page["labels"]["severity"], "critical", "{page}");
    let description = page["annotations"]["description"].as_str().unwrap_or("");
    assert!(
        description.contains(&format!("order {replacement} (a renewal)")),
        "{description}"
    );
    assert!(
        about_order.iter().all(|a| !a["labels"]["alertname"]
            .as_str()
            .unwrap_or("")
            .starts_with("CertCentralCertificateExpir")),
        "a renewed order raised an expiry alert: {about_order:#?}"
    );
}
