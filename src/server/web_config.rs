//! `--web.config.file`: the Prometheus exporter-toolkit web configuration
//! (TLS and basic auth), so that operators can reuse the file they already
//! give node_exporter. Read and checked at start-up; a mistake is an error
//! that names the field.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
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
            serde_yaml_ng::from_str(&text)
                .map_err(|e| fail(crate::config::yaml_error::describe(&e)))?
        };
        if file.http_server_config.is_some() {
            tracing::warn!("web config: http_server_config is not supported and is ignored");
        }
        for (user, hash) in &file.basic_auth_users {
            if !hash.starts_with("$2") {
                return Err(fail(format!("basic_auth_users.{user}: not a bcrypt hash")));
            }
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
        let auth = (!file.basic_auth_users.is_empty()).then(|| {
            Arc::new(BasicAuth {
                users: file.basic_auth_users,
                excluded_paths: file.auth_excluded_paths,
                verified: Mutex::new(HashMap::new()),
            })
        });
        Ok(WebConfig { tls, auth })
    }
}

/// Relative paths in the file are relative to the file, as in the toolkit.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

fn pem_bytes(
    base: &Path,
    file: &Option<PathBuf>,
    inline: &Option<String>,
    field: &str,
) -> Result<Option<Vec<u8>>, String> {
    match (file, inline) {
        (Some(_), Some(_)) => Err(format!("{field}_file and {field}: give one, not both")),
        (Some(path), None) => {
            let path = resolve(base, path);
            std::fs::read(&path)
                .map(Some)
                .map_err(|e| format!("{field}_file: cannot read {}: {e}", path.display()))
        }
        (None, Some(text)) => Ok(Some(text.as_bytes().to_vec())),
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
    let cert_pem = pem_bytes(base, &tls.cert_file, &tls.cert, "cert")?
        .ok_or_else(|| "cert_file: required for TLS".to_owned())?;
    let key_pem = pem_bytes(base, &tls.key_file, &tls.key, "key")?
        .ok_or_else(|| "key_file: required for TLS".to_owned())?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cert_file: not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("cert_file: holds no certificate".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("key_file: no private key: {e}"))?;

    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("min_version: {e}"))?;

    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let roots = match pem_bytes(base, &tls.client_ca_file, &tls.client_ca, "client_ca")? {
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
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("key_file: does not match cert_file: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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

/// Basic auth against bcrypt hashes. A successful check is remembered (by
/// a SHA-256 of user and password, never the password) because bcrypt is
/// slow by design and Prometheus scrapes often.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    excluded_paths: Vec<String>,
    verified: Mutex<HashMap<[u8; 32], ()>>,
}

/// A bcrypt hash of nothing useful, checked for unknown users so that a
/// wrong user name takes as long as a wrong password.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

impl BasicAuth {
    /// Whether `path` is served without credentials.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.excluded_paths.iter().any(|p| p == path)
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if self.verified.lock().is_ok_and(|v| v.contains_key(&digest)) {
            return true;
        }
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.as_str(), true),
            None => (DUMMY_HASH, false),
        };
        let ok = bcrypt::verify(&password, hash).unwrap_or(false) && known;
        if ok && let Ok(mut verified) = self.verified.lock() {
            verified.insert(digest, ());
        }
        ok
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
        assert!(auth.check(Some(&header("alice", "s3cret"))));
        assert!(
            auth.check(Some(&header("alice", "s3cret"))),
            "from the cache"
        );
        assert!(!auth.check(Some(&header("alice", "wrong"))));
        assert!(!auth.check(Some(&header("bob", "s3cret"))));
        assert!(!auth.check(Some("Bearer x")));
        assert!(!auth.check(None));
        assert!(auth.is_excluded("/-/healthy"));
        assert!(!auth.is_excluded("/metrics"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(error("basic_auth_users:\n  alice: plain\n").contains("basic_auth_users.alice"));
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
