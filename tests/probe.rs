//! `/probe` over real TLS: endpoints serving certificates minted for the
//! test, a CertCentral stand-in whose report names some of them, and the
//! real binary. The served certificate is found active, superseded by a
//! renewal (with what to install) or unknown; a target that is not allowed
//! gets a 403 and no connection; an endpoint that never finishes its
//! handshake costs one bounded probe; no endpoint receives anything but a
//! handshake.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use certcentral_test_support::{
    Binary, Exporter, ReportTemplate, Scrape, exporter_binary, http, stand_in, wait_for,
};
use sha1::{Digest, Sha1};

const BIN: Binary = exporter_binary!();

/// A test CA and what it signs.
struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A leaf certificate: its DER, its key's PEM, its thumbprint and serial
/// as CertCentral spells them.
struct Leaf {
    der: Vec<u8>,
    key_pem: String,
    thumbprint: String,
    serial: String,
}

impl Pki {
    fn new() -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "probe test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Pki {
            ca_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    fn leaf(&self, name: &str, serial: u64) -> Leaf {
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let der = cert.der().to_vec();
        let thumbprint = Sha1::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Leaf {
            der,
            key_pem: key.serialize_pem(),
            thumbprint,
            // As CertCentral may write it: leading zeros, lower case.
            serial: format!("00{serial:x}"),
        }
    }
}

/// Serves `leaf` over TLS on `ip`, counting connections and any byte a
/// client sends after the handshake; its address.
fn tls_endpoint(
    ip: &str,
    leaf: &Leaf,
    connections: Arc<AtomicUsize>,
    bytes_after_handshake: Arc<AtomicUsize>,
) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let chain = vec![rustls::pki_types::CertificateDer::from(leaf.der.clone())];
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap(),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            connections.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            let counted = bytes_after_handshake.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let Ok(mut server) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut tls = rustls::Stream::new(&mut server, &mut stream);
                let mut buf = [0u8; 1024];
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    counted.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    address
}

/// The report: three orders built on the sample's first row. Order 501
/// shows `active`; order 502 shows `old` and was renewed by order 503,
/// which shows `renewal`.
fn report(active: &Leaf, old: &Leaf, renewal: &Leaf) -> String {
    let template = ReportTemplate::sample();
    let today = chrono::Utc::now().date_naive();
    let rows = [
        (
            501,
            "active.example",
            "active.example,*.wild.example,bücher.example",
            active,
            200,
            "0",
            "",
        ),
        (502, "renewed.example", "renewed.example", old, 20, "1", ""),
        (
            503,
            "renewed.example",
            "renewed.example",
            renewal,
            380,
            "0",
            "502",
        ),
    ];
    template.page(
        rows.into_iter()
            .map(|(id, name, sans, leaf, days, renewed, previous)| {
                template.row(&[
                    ("order_id", id.to_string()),
                    ("status", "issued".into()),
                    ("common_name", name.into()),
                    ("dns_names", sans.into()),
                    ("thumbprint", leaf.thumbprint.clone()),
                    ("serial_number", leaf.serial.clone()),
                    ("certificate_tracker_id", (id * 10).to_string()),
                    (
                        "valid_till",
                        (today + chrono::Duration::days(days)).to_string(),
                    ),
                    ("is_renewed", renewed.into()),
                    ("renewed_order_id", previous.into()),
                ])
            })
            .collect::<Vec<_>>(),
    )
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
    let pki = Pki::new();
    let (active, old, renewal, stranger) = (
        pki.leaf("active.example", 0x0f01),
        pki.leaf("renewed.example", 0x0f02),
        pki.leaf("renewed.example", 0x0f03),
        pki.leaf("stranger.example", 0x0f04),
    );
    let report = report(&active, &old, &renewal);
    let base = stand_in(move |request| {
        if request.contains("/report/order") {
            ("200 OK", report.clone())
        } else {
            ("404 Not Found", "{}".to_owned())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let endpoint =
        |ip: &str, leaf: &Leaf| tls_endpoint(ip, leaf, connections.clone(), sent.clone());
    let (a, o, s) = (
        endpoint("127.0.0.1", &active),
        endpoint("127.0.0.1", &old),
        endpoint("127.0.0.1", &stranger),
    );
    let refused_connections = Arc::new(AtomicUsize::new(0));
    let refused = tls_endpoint(
        "127.0.0.2",
        &active,
        refused_connections.clone(),
        sent.clone(),
    );
    // Accepts and never answers: a handshake that never finishes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_address = silent.local_addr().unwrap();

    let url = format!("{base}/services/v2");
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--storage.path",
            "",
            "--poll.interval",
            "1h",
            "--probe.allowed-targets",
            "127.0.0.1",
            "--probe.ca-file",
            ca_file.to_str().unwrap(),
        ],
        &[("CERTCENTRAL_API_KEY", "probe-test-key")],
    );
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
    let (code, text) = probe(&exporter, &refused.to_string(), "active.example");
    assert_eq!(code, 403, "{text}");
    assert_eq!(refused_connections.load(Ordering::SeqCst), 0);
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
    wait_for(
        "the endpoints' connections to end",
        Duration::from_secs(10),
        || (connections.load(Ordering::SeqCst) >= 3).then_some(()),
    );
    assert_eq!(sent.load(Ordering::SeqCst), 0, "bytes after a handshake");
    assert!(exporter.process.is_running());
}
