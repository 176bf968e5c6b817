//! One TLS handshake with an endpoint, nothing more: no HTTP request is
//! sent and nothing of the exporter's (its API key least of all) goes to
//! the endpoint. The served chain is read whether or not it verifies; the
//! verdict (and why not) comes with it, so that an expired certificate or
//! an unknown CA is reported, not a failed probe.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;

use crate::identity::CertificateId;

/// The most certificates of a served chain that are kept (a real chain has
/// two or three; a hostile one is cut, not held).
const MAX_CHAIN: usize = 10;

/// What an endpoint served.
#[derive(Debug, Clone)]
pub struct Served {
    /// The leaf certificate, read.
    pub leaf: Leaf,
    /// Why the chain does not verify for the name asked for (expired,
    /// unknown issuer, wrong name...); `None` when it does.
    pub not_verified: Option<String>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: &'static str,
}

/// What the probe reads of the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Its thumbprint (SHA-1 of the DER) and serial, normalised.
    pub id: CertificateId,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
}

impl Leaf {
    /// Reads a DER certificate; `None` if it is not one.
    pub fn parse(der: &[u8]) -> Option<Leaf> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let thumbprint: String = Sha1::digest(der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let serial = cert.tbs_certificate.raw_serial_as_string();
        Some(Leaf {
            id: CertificateId::new(Some(&thumbprint), Some(&serial)),
            not_after: cert.validity().not_after.timestamp(),
        })
    }
}

/// Why no certificate was read.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("no TLS handshake within {0:?}")]
    Timeout(Duration),
    #[error("TLS handshake: {0}")]
    Tls(std::io::Error),
    #[error("the endpoint sent no certificate it could be read from")]
    NoCertificate,
    #[error("server_name {0:?} is not a DNS name or IP address")]
    BadServerName(String),
}

/// Connects to `target`, says `server_name` (SNI), and reads the chain,
/// all within `timeout`; the chain is judged against `roots`.
pub async fn handshake(
    target: SocketAddr,
    server_name: &str,
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> Result<Served, HandshakeError> {
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| HandshakeError::BadServerName(server_name.to_owned()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let recorder = Arc::new(Recorder::new(roots, provider.clone()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HandshakeError::Tls(std::io::Error::other(e)))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let started = Instant::now();
    let connected = tokio::time::timeout(timeout, TcpStream::connect(target))
        .await
        .map_err(|_| HandshakeError::Timeout(timeout))?
        .map_err(HandshakeError::Connect)?;
    let left = timeout.saturating_sub(started.elapsed());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::time::timeout(left, connector.connect(name, connected))
        .await
        .map_err(|_| HandshakeError::Timeout(timeout))?;
    let version = match &stream {
        Ok(stream) => match stream.get_ref().1.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        },
        Err(_) => "unknown",
    };
    // A chain that was read counts even if the handshake then failed (a
    // server that closes after its Certificate message).
    let (chain, not_verified) = match (recorder.take(), stream) {
        (Some((chain, not_verified)), _) if !chain.is_empty() => (chain, not_verified),
        (_, Err(err)) => return Err(HandshakeError::Tls(err)),
        (_, Ok(_)) => return Err(HandshakeError::NoCertificate),
    };
    let leaf = chain
        .first()
        .and_then(|der| Leaf::parse(der))
        .ok_or(HandshakeError::NoCertificate)?;
    Ok(Served {
        leaf,
        not_verified,
        version,
    })
}

/// A verifier that accepts any chain, after recording it and what the
/// standard WebPKI verification says of it. The handshake's signatures
/// are still checked (by the standard verifier), so the chain read is the
/// one the endpoint holds the key of.
#[derive(Debug)]
struct Recorder {
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Result<Arc<WebPkiServerVerifier>, String>,
    seen: Mutex<Option<(Vec<CertificateDer<'static>>, Option<String>)>>,
}

/// Why a chain does not verify, in a few fixed words (a label value: the
/// error's own text carries times and names that would make a new series
/// at every probe).
fn why_not_verified(error: &rustls::Error) -> &'static str {
    use rustls::CertificateError as E;
    let rustls::Error::InvalidCertificate(error) = error else {
        return "invalid";
    };
    match error {
        E::Expired | E::ExpiredContext { .. } => "expired",
        E::NotValidYet | E::NotValidYetContext { .. } => "not_yet_valid",
        E::UnknownIssuer => "unknown_issuer",
        E::NotValidForName | E::NotValidForNameContext { .. } => "name_mismatch",
        E::Revoked => "revoked",
        E::BadSignature
        | E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => "bad_signature",
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => "wrong_purpose",
        _ => "invalid",
    }
}

impl Recorder {
    fn new(roots: Arc<RootCertStore>, provider: Arc<rustls::crypto::CryptoProvider>) -> Recorder {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("no trusted roots ({e})"));
        Recorder {
            provider,
            verifier,
            seen: Mutex::new(None),
        }
    }

    fn take(&self) -> Option<(Vec<CertificateDer<'static>>, Option<String>)> {
        self.seen.lock().ok()?.take()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let not_verified = match &self.verifier {
            Ok(verifier) => verifier
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .err()
                .map(|e| why_not_verified(&e).to_owned()),
            Err(_) => Some("no_trust_anchors".to_owned()),
        };
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN)
            .map(|c| c.clone().into_owned())
            .collect();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, not_verified));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
