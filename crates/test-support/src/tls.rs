//! Real certificates and TLS endpoints for the `/probe` tests: a CA of the
//! test's own, the leaves it signs (with their thumbprint and serial as
//! CertCentral spells them), and loopback servers that serve a leaf and
//! count what reaches them; and the exporter started to probe them.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha1::{Digest, Sha1};

use crate::exporter::Exporter;
use crate::process::Binary;

/// A test CA and what it signs.
pub struct TestCa {
    /// Its certificate, for `--probe.ca-file`.
    pub ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A leaf certificate: its DER, its key's PEM, its thumbprint (lower
/// case) and serial (hex) as CertCentral may spell them.
pub struct TestLeaf {
    /// The certificate.
    pub der: Vec<u8>,
    /// Its private key.
    pub key_pem: String,
    /// SHA-1 of the DER, lower-case hex.
    pub thumbprint: String,
    /// The serial number in hex.
    pub serial: String,
}

impl TestCa {
    /// A new CA named `name` (a fresh key each time).
    pub fn new(name: &str) -> TestCa {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("a CA key");
        let cert = params.self_signed(&key).expect("the CA certificate");
        TestCa {
            ca_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (the first also its common name) for
    /// `usage`: its PEM and its key's PEM.
    pub fn issue(&self, names: &[&str], usage: rcgen::ExtendedKeyUsagePurpose) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("parameters");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().map_or("", String::as_str),
        );
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// A certificate for `name` with serial `serial`, expiring at the end
    /// of the day `days` from today (rcgen's default validity if `None`).
    pub fn leaf(&self, name: &str, serial: u64, days: Option<i64>) -> TestLeaf {
        use chrono::Datelike;
        let mut params =
            rcgen::CertificateParams::new(vec![name.to_owned()]).expect("leaf parameters");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        params.use_authority_key_identifier_extension = true;
        if let Some(days) = days {
            let end = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
            params.not_before = rcgen::date_time_ymd(2024, 1, 1);
            params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
        }
        let key = rcgen::KeyPair::generate().expect("a leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the leaf certificate");
        let der = cert.der().to_vec();
        let thumbprint = Sha1::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        TestLeaf {
            der,
            key_pem: key.serialize_pem(),
            thumbprint,
            serial: format!("{serial:x}"),
        }
    }
}

/// A TLS server on a loopback port, serving one chain until the test ends.
pub struct TlsEndpoint {
    /// Where it listens.
    pub address: SocketAddr,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Bytes any client sent after its handshake (a probe sends none).
    pub bytes_after_handshake: Arc<AtomicUsize>,
}

impl TlsEndpoint {
    /// Serves `leaf`, then the certificates `more`, on `ip`.
    pub fn start(ip: &str, leaf: &TestLeaf, more: Vec<Vec<u8>>) -> TlsEndpoint {
        use rustls::pki_types::pem::PemObject;
        let listener = TcpListener::bind(format!("{ip}:0")).expect("a port");
        let address = listener.local_addr().expect("its address");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes())
            .expect("the leaf key");
        let chain = std::iter::once(leaf.der.clone())
            .chain(more)
            .map(rustls::pki_types::CertificateDer::from)
            .collect();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a server configuration"),
        );
        let endpoint = TlsEndpoint {
            address,
            connections: Arc::new(AtomicUsize::new(0)),
            bytes_after_handshake: Arc::new(AtomicUsize::new(0)),
        };
        let (connections, counted) = (
            endpoint.connections.clone(),
            endpoint.bytes_after_handshake.clone(),
        );
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let (config, counted) = (config.clone(), counted.clone());
                std::thread::spawn(move || {
                    use std::io::Read;
                    let Ok(mut server) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut tls = rustls::Stream::new(&mut server, &mut stream);
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = tls.read(&mut buf) {
                        counted.fetch_add(n, Ordering::SeqCst);
                    }
                });
            }
        });
        endpoint
    }
}

/// The exporter polling the CertCentral API at `api_url` with `key`,
/// allowed to probe 127.0.0.1, trusting `ca_file` too if given, with the
/// flags `extra`.
pub fn probing_exporter(
    bin: Binary,
    api_url: &str,
    key: &str,
    ca_file: Option<&Path>,
    extra: &[&str],
) -> Exporter {
    let ca_file = ca_file.map(|p| p.to_string_lossy().into_owned());
    let mut args = vec![
        "--certcentral.url",
        api_url,
        "--storage.path",
        "",
        "--poll.interval",
        "1h",
        "--probe.allowed-targets",
        "127.0.0.1",
    ];
    if let Some(ca_file) = &ca_file {
        args.extend(["--probe.ca-file", ca_file.as_str()]);
    }
    args.extend(extra);
    Exporter::start(bin, &args, &[("CERTCENTRAL_API_KEY", key)])
}

/// One issued order of a report served to the exporter, showing `leaf`.
pub struct IssuedOrder<'a> {
    pub id: u64,
    pub common_name: &'a str,
    /// The report's `dns_names` (comma-separated).
    pub dns_names: &'a str,
    pub container: &'a str,
    pub leaf: &'a TestLeaf,
    /// Days from today to its `valid_till`.
    pub days: i64,
    /// The report's `is_renewed`.
    pub renewed: bool,
    /// The order it renews (`renewed_order_id`).
    pub renews: Option<u64>,
}

/// A CertCentral stand-in whose report is `orders` (every other request
/// gets a 404); its base URL.
pub fn report_stand_in(orders: &[IssuedOrder]) -> String {
    let template = crate::ReportTemplate::sample();
    let today = chrono::Utc::now().date_naive();
    let rows: Vec<Vec<String>> = orders
        .iter()
        .map(|o| {
            template.row(&[
                ("order_id", o.id.to_string()),
                ("status", "issued".into()),
                ("common_name", o.common_name.into()),
                ("dns_names", o.dns_names.into()),
                ("container_name", o.container.into()),
                ("thumbprint", o.leaf.thumbprint.clone()),
                // As CertCentral may write it: leading zeros.
                ("serial_number", format!("00{}", o.leaf.serial)),
                ("certificate_tracker_id", (o.id * 10).to_string()),
                (
                    "valid_till",
                    (today + chrono::Duration::days(o.days)).to_string(),
                ),
                ("is_renewed", if o.renewed { "1" } else { "0" }.into()),
                (
                    "renewed_order_id",
                    o.renews.map(|id| id.to_string()).unwrap_or_default(),
                ),
            ])
        })
        .collect();
    let report = template.page(rows);
    crate::stand_in(move |request| {
        if request.contains("/report/order") {
            ("200 OK", report.clone())
        } else {
            ("404 Not Found", "{}".to_owned())
        }
    })
}
