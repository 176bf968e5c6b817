//! `--web.config.file`: the Prometheus exporter-toolkit web configuration
//! (TLS and basic auth), so that operators can reuse the file they already
//! give node_exporter. Read and checked at start-up, where a mistake is an
//! error that names the field, and again when it changes (see
//! [`super::live`]); the certificate files are re-read when they change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The web config file as exporter-toolkit defines it. Fields the toolkit
/// knows but this exporter does not use are accepted and reported; unknown
/// fields are errors, as in the toolkit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    /// This exporter's addition: paths served without basic auth (for
    /// liveness and readiness probes), e.g. `["/-/healthy"]`.
    #[serde(default)]
    auth_excluded_paths: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: Option<PathBuf>,
    #[serde(default)]
    key_file: Option<PathBuf>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    curve_preferences: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
}

/// A checked web configuration (the default serves plain HTTP, no auth).
#[derive(Default, Clone)]
pub struct WebConfig {
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic auth, when users are configured.
    pub auth: Option<Arc<BasicAuth>>,
    /// Whether TLS requires a verified client certificate
    /// (`RequireAndVerifyClientCert`).
    pub client_cert_required: bool,
}

impl WebConfig {
    /// The protections `self` has that `new` would drop (basic auth, TLS,
    /// a required client certificate), in words; empty when `new` keeps
    /// them all. A reload may not drop one: that takes a restart.
    pub fn dropped_by(&self, new: &WebConfig) -> Vec<&'static str> {
        [
            ("basic auth", self.auth.is_some(), new.auth.is_some()),
            ("TLS", self.tls.is_some(), new.tls.is_some()),
            (
                "the required client certificate",
                self.client_cert_required,
                new.client_cert_required,
            ),
        ]
        .into_iter()
        .filter(|(_, had, has)| *had && !*has)
        .map(|(what, _, _)| what)
        .collect()
    }
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.auth.is_some())
            .finish()
    }
}

/// A problem with the web config file, naming the field.
#[derive(Debug, thiserror::Error)]
#[error("--web.config.file {path}: {message}")]
pub struct WebConfigError {
    path: String,
    message: String,
}

impl WebConfig {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let fail = |message: String| WebConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| fail(crate::yaml_error::describe(&e)))?
        };
        if file.http_server_config.is_some() {
            tracing::warn!("web config: http_server_config is not supported and is ignored");
        }
        for (user, hash) in &file.basic_auth_users {
            check_hash(hash).map_err(|e| fail(format!("basic_auth_users.{user}: {e}")))?;
        }
        for excluded in &file.auth_excluded_paths {
            if !excluded.starts_with('/') {
                return Err(fail(format!(
                    "auth_excluded_paths: '{excluded}' is not a path"
                )));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = file
            .tls_server_config
            .as_ref()
            .map(|tls| tls_config(tls, base))
            .transpose()
            .map_err(|message| fail(format!("tls_server_config.{message}")))?;
        let client_cert_required = file
            .tls_server_config
            .as_ref()
            .and_then(|tls| tls.client_auth_type.as_deref())
            == Some("RequireAndVerifyClientCert");
        let auth = (!file.basic_auth_users.is_empty()).then(|| {
            Arc::new(BasicAuth {
                users: file.basic_auth_users,
                excluded_paths: file.auth_excluded_paths,
                verdicts: Mutex::new(Verdicts::default()),
            })
        });
        Ok(WebConfig {
            tls,
            auth,
            client_cert_required,
        })
    }
}

/// The highest bcrypt cost accepted. Each step doubles the time of a
/// check; past 12 a few wrong passwords would hold the bounded check pool
/// (and a core) for seconds.
pub const MAX_BCRYPT_COST: u32 = 12;

/// A usable bcrypt hash: well formed (60 characters, a `$2a$`, `$2b$`,
/// `$2x$` or `$2y$` prefix, valid salt and digest) and of a cost from 4 to
/// [`MAX_BCRYPT_COST`]. The message never repeats the hash.
fn check_hash(hash: &str) -> Result<(), String> {
    let parts: bcrypt::HashParts = hash
        .parse()
        .map_err(|e| format!("not a valid bcrypt hash ({e})"))?;
    let cost = parts.get_cost();
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(format!(
            "bcrypt cost {cost} is outside 4 to {MAX_BCRYPT_COST} (a higher cost lets a few wrong passwords hold the CPU; hash again with htpasswd -nbBC 10)"
        ));
    }
    Ok(())
}

/// Relative paths in the file are relative to the file, as in the toolkit.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// Where a PEM field comes from: `<field>_file` or `<field>`, not both.
fn pem_source(
    base: &Path,
    file: &Option<PathBuf>,
    inline: &Option<String>,
    field: &str,
) -> Result<Option<PemSource>, String> {
    match (file, inline) {
        (Some(_), Some(_)) => Err(format!("{field}_file and {field}: give one, not both")),
        (Some(path), None) => Ok(Some(PemSource::File(resolve(base, path)))),
        (None, Some(text)) => Ok(Some(PemSource::Inline(text.as_bytes().to_vec()))),
        (None, None) => Ok(None),
    }
}

fn tls_config(tls: &TlsFile, base: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    if tls.cipher_suites.is_some()
        || tls.curve_preferences.is_some()
        || tls.prefer_server_cipher_suites.is_some()
    {
        tracing::warn!(
            "web config: cipher_suites, curve_preferences and prefer_server_cipher_suites are ignored; rustls picks safe ones"
        );
    }
    if tls.client_allowed_sans.is_some() {
        return Err("client_allowed_sans: not supported by this exporter".to_owned());
    }
    let required = |source: Option<PemSource>, field: &str| {
        source.ok_or_else(|| format!("{field}_file: required for TLS"))
    };
    let cert = required(pem_source(base, &tls.cert_file, &tls.cert, "cert")?, "cert")?;
    let key = required(pem_source(base, &tls.key_file, &tls.key, "key")?, "key")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = Arc::new(ReloadingCert::new(cert, key, provider.clone())?);

    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("min_version: {e}"))?;

    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let client_ca = pem_source(base, &tls.client_ca_file, &tls.client_ca, "client_ca")?;
    let roots = match client_ca
        .map(|source| source.read("client_ca"))
        .transpose()?
    {
        None => None,
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| format!("client_ca_file: not PEM certificates: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("client_ca_file: unusable CA certificate: {e}"))?;
            }
            Some(Arc::new(roots))
        }
    };
    let verifier = |optional: bool| -> Result<_, String> {
        let roots = roots
            .clone()
            .ok_or_else(|| format!("client_ca_file: required with client_auth_type {auth_type}"))?;
        let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder.build().map_err(|e| format!("client_ca_file: {e}"))
    };
    let builder = match auth_type {
        "NoClientCert" | "" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" => builder.with_client_cert_verifier(verifier(false)?),
        "VerifyClientCertIfGiven" => builder.with_client_cert_verifier(verifier(true)?),
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err(format!(
                "client_auth_type: {auth_type} accepts unverified certificates; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
        other => {
            return Err(format!(
                "client_auth_type: '{other}' is not one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
            ));
        }
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Where a PEM certificate chain or key comes from.
#[derive(Debug)]
enum PemSource {
    File(PathBuf),
    Inline(Vec<u8>),
}

impl PemSource {
    fn read(&self, field: &str) -> Result<Vec<u8>, String> {
        match self {
            PemSource::File(path) => std::fs::read(path)
                .map_err(|e| format!("{field}_file: cannot read {}: {e}", path.display())),
            PemSource::Inline(bytes) => Ok(bytes.clone()),
        }
    }
}

/// How often, at most, the certificate files are read again to see
/// whether they changed (at a handshake: nothing is read while idle).
const CERT_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The server certificate, re-read from its files when they change, as
/// exporter-toolkit does, so that a certificate rotated on disk
/// (cert-manager, certbot) is served from the next handshake on. The files
/// are compared by content (a SHA-256) at most once a second; a new pair
/// that cannot be used is logged and the previous certificate kept.
pub struct ReloadingCert {
    cert: PemSource,
    key: PemSource,
    provider: Arc<rustls::crypto::CryptoProvider>,
    state: Mutex<CertState>,
}

struct CertState {
    key: Arc<CertifiedKey>,
    digest: [u8; 32],
    checked: std::time::Instant,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    fn new(
        cert: PemSource,
        key: PemSource,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<ReloadingCert, String> {
        let (digest, certified) = load_pair(&cert, &key, &provider)?;
        Ok(ReloadingCert {
            cert,
            key,
            provider,
            state: Mutex::new(CertState {
                key: certified,
                digest,
                checked: std::time::Instant::now(),
            }),
        })
    }

    /// The certificate to serve, read again first if the files changed.
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().ok()?;
        if state.checked.elapsed() >= CERT_CHECK_INTERVAL {
            state.checked = std::time::Instant::now();
            match read_pair(&self.cert, &self.key) {
                Ok(pair) if pair.digest == state.digest => {}
                Ok(pair) => {
                    // Tried once per change, not at every handshake.
                    state.digest = pair.digest;
                    match parse_pair(&pair.cert, &pair.key, &self.provider) {
                        Ok(certified) => {
                            tracing::info!(cert = ?self.cert, "the TLS certificate changed on disk; serving the new one");
                            state.key = certified;
                        }
                        Err(err) => tracing::warn!(
                            error = %err,
                            "the TLS certificate changed on disk but cannot be used; keeping the previous one"
                        ),
                    }
                }
                Err(err) => tracing::warn!(
                    error = %err,
                    "cannot read the TLS certificate again; keeping the previous one"
                ),
            }
        }
        Some(state.key.clone())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

/// Both PEM texts, and the digest of the pair.
struct PemPair {
    digest: [u8; 32],
    cert: Vec<u8>,
    key: Vec<u8>,
}

fn read_pair(cert: &PemSource, key: &PemSource) -> Result<PemPair, String> {
    let cert = cert.read("cert")?;
    let key = key.read("key")?;
    let digest = Sha256::new()
        .chain_update((cert.len() as u64).to_le_bytes())
        .chain_update(&cert)
        .chain_update(&key)
        .finalize()
        .into();
    Ok(PemPair { digest, cert, key })
}

/// Reads and checks a certificate chain and its key.
fn load_pair(
    cert: &PemSource,
    key: &PemSource,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<([u8; 32], Arc<CertifiedKey>), String> {
    let pair = read_pair(cert, key)?;
    Ok((pair.digest, parse_pair(&pair.cert, &pair.key, provider)?))
}

/// Checks a PEM certificate chain and its key.
fn parse_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cert_file: not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("cert_file: holds no certificate".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("key_file: no private key: {e}"))?;
    let certified = CertifiedKey::from_der(certs, key, provider)
        .map_err(|e| format!("key_file: does not match cert_file: {e}"))?;
    Ok(Arc::new(certified))
}

fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |field: &str, v: &str| match v {
        "TLS10" | "TLS11" => {
            tracing::warn!(
                "web config: {field} {v} is below TLS 1.2, which is the lowest this exporter serves"
            );
            Ok(12)
        }
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err(format!(
            "{field}: '{other}' is not one of TLS10, TLS11, TLS12, TLS13"
        )),
    };
    let min = min
        .map(|v| rank("min_version", v))
        .transpose()?
        .unwrap_or(12);
    let max = max
        .map(|v| rank("max_version", v))
        .transpose()?
        .unwrap_or(13);
    if min > max {
        return Err("min_version: above max_version".to_owned());
    }
    let mut versions = Vec::new();
    if min <= 12 && max >= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    Ok(versions)
}

/// Basic auth against bcrypt hashes. The outcome of a check, success or
/// failure, is remembered (by a SHA-256 of user and password, never the
/// password) because bcrypt is slow by design: Prometheus scrapes often,
/// and a client retrying a wrong password must not cost a hash each time.
/// The bcrypt checks themselves run on the bounded pool of
/// [`super::auth::CheckPool`].
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    excluded_paths: Vec<String>,
    verdicts: Mutex<Verdicts>,
}

/// Credentials as a request gave them, and their digest.
pub struct Credentials {
    user: String,
    password: String,
    digest: [u8; 32],
}

/// Remembered outcomes, at most [`MAX_VERDICTS`], the least recently
/// used dropped first.
#[derive(Default)]
struct Verdicts {
    outcomes: HashMap<[u8; 32], (bool, u64)>,
    tick: u64,
}

/// Credentials remembered at once: far more than the users of one
/// exporter, small enough for the scan that drops the oldest.
const MAX_VERDICTS: usize = 1024;

/// A bcrypt hash of nothing useful, checked for unknown users so that a
/// wrong user name takes as long as a wrong password.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

impl BasicAuth {
    /// Whether `path` is served without credentials.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.excluded_paths.iter().any(|p| p == path)
    }

    /// The users and their hashes (to tell what a reload changed).
    pub fn users(&self) -> &BTreeMap<String, String> {
        &self.users
    }

    /// The paths served without credentials.
    pub fn excluded_paths(&self) -> &[String] {
        &self.excluded_paths
    }

    /// `self` remembering the outcomes `old` remembered, when both have
    /// the same users and hashes: a reload that leaves the users alone must
    /// not make every login pay bcrypt again (Prometheus' among them).
    pub fn remembering(&self, old: &BasicAuth) -> Option<Arc<BasicAuth>> {
        if self.users != old.users {
            return None;
        }
        let verdicts = old.verdicts.lock().ok()?;
        Some(Arc::new(BasicAuth {
            users: self.users.clone(),
            excluded_paths: self.excluded_paths.clone(),
            verdicts: Mutex::new(Verdicts {
                outcomes: verdicts.outcomes.clone(),
                tick: verdicts.tick,
            }),
        }))
    }

    /// The remembered outcome for these credentials, if any.
    pub fn remembered(&self, credentials: &Credentials) -> Option<bool> {
        let mut verdicts = self.verdicts.lock().ok()?;
        verdicts.tick += 1;
        let tick = verdicts.tick;
        let (ok, used) = verdicts.outcomes.get_mut(&credentials.digest)?;
        *used = tick;
        Some(*ok)
    }

    /// Checks the password with bcrypt (slow: call it off the async
    /// workers) and remembers the outcome.
    pub fn verify(&self, credentials: &Credentials) -> bool {
        let (hash, known) = match self.users.get(&credentials.user) {
            Some(hash) => (hash.as_str(), true),
            None => (DUMMY_HASH, false),
        };
        let ok = bcrypt::verify(&credentials.password, hash).unwrap_or(false) && known;
        if let Ok(mut verdicts) = self.verdicts.lock() {
            if verdicts.outcomes.len() >= MAX_VERDICTS
                && let Some(oldest) = verdicts
                    .outcomes
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(digest, _)| *digest)
            {
                verdicts.outcomes.remove(&oldest);
            }
            verdicts.tick += 1;
            let tick = verdicts.tick;
            verdicts.outcomes.insert(credentials.digest, (ok, tick));
        }
        ok
    }
}

impl Credentials {
    /// The user and password of a `Basic` `Authorization` header value.
    pub fn parse(authorization: &str) -> Option<Credentials> {
        let (user, password) = parse_basic(authorization)?;
        let digest: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        Some(Credentials {
            user,
            password,
            digest,
        })
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<WebConfig, WebConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        WebConfig::load(&path)
    }

    fn error(yaml: &str) -> String {
        match load(yaml) {
            Ok(_) => panic!("accepted: {yaml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn basic_auth_checks_bcrypt_and_caches() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let config = load(&format!(
            "basic_auth_users:\n  alice: {hash}\nauth_excluded_paths: [/-/healthy]\n"
        ))
        .unwrap();
        let auth = config.auth.unwrap();
        use base64::Engine;
        let header = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        let credentials = |u: &str, p: &str| Credentials::parse(&header(u, p)).unwrap();
        let right = credentials("alice", "s3cret");
        assert_eq!(auth.remembered(&right), None);
        assert!(auth.verify(&right));
        assert_eq!(auth.remembered(&right), Some(true), "from the cache");
        let wrong = credentials("alice", "wrong");
        assert!(!auth.verify(&wrong));
        assert_eq!(auth.remembered(&wrong), Some(false), "failures too");
        assert!(!auth.verify(&credentials("bob", "s3cret")));
        assert!(Credentials::parse("Bearer x").is_none());
        assert!(auth.is_excluded("/-/healthy"));
        assert!(!auth.is_excluded("/metrics"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(error("basic_auth_users:\n  alice: plain\n").contains("basic_auth_users.alice"));
        let hash = bcrypt::hash("x", 4).unwrap();
        let truncated = error(&format!("basic_auth_users:\n  bob: '{}'\n", &hash[..50]));
        assert!(truncated.contains("basic_auth_users.bob"), "{truncated}");
        assert!(!truncated.contains(&hash[10..50]), "{truncated}");
        let costly = hash.replacen("$04$", "$13$", 1);
        let costly = error(&format!("basic_auth_users:\n  carol: '{costly}'\n"));
        assert!(
            costly.contains("basic_auth_users.carol") && costly.contains("cost 13"),
            "{costly}"
        );
        assert!(
            error("tls_server_config:\n  key_file: k\n").contains("tls_server_config.cert_file")
        );
        assert!(
            error("tls_server_config:\n  cert_file: /nonexistent\n  key_file: k\n")
                .contains("cert_file")
        );
        assert!(error("unknown_field: 1\n").contains("unknown_field"));
        assert!(error("tls_server_config:\n  cert_fil: x\n").contains("cert_fil"));
    }

    #[test]
    fn tls_versions() {
        assert!(versions(Some("TLS13"), None).unwrap().len() == 1);
        assert!(versions(Some("TLS12"), None).unwrap().len() == 2);
        assert!(versions(Some("TLS10"), None).unwrap().len() == 2);
        assert!(
            versions(Some("SSL3"), None)
                .unwrap_err()
                .contains("min_version")
        );
        assert!(versions(Some("TLS13"), Some("TLS12")).is_err());
    }
}
