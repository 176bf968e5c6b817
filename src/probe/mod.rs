//! `/probe?target=HOST:PORT&server_name=NAME`: is the certificate an
//! endpoint serves the one CertCentral calls current? One TLS handshake
//! (see [`handshake`]), the served leaf looked up among every certificate
//! of the polled accounts ([`crate::known`]), and the answer in the
//! Prometheus text format, as blackbox_exporter's `/probe` gives it.
//!
//! Only allowed targets are probed ([`targets`]); probes run a few at a
//! time; an answer is kept for a few seconds, so that an HA pair of
//! Prometheus servers scraping the same target costs one handshake.

pub mod handshake;
pub mod targets;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::Semaphore;

use crate::board::Board;
use crate::known::{KnownCertificates, Standing};
use crate::metrics::LabelBlock;
use crate::metrics::families::PROBE;
use handshake::{HandshakeError, Served};
use targets::{AllowedTargets, FixedTarget, OrderNames};

/// Probes running at once; more wait (within their timeout).
const MAX_PROBES: usize = 16;
/// How long an answer is served again for the same target and name.
const KEEP_ANSWER: Duration = Duration::from_secs(10);
/// Answers kept at most (the oldest go first).
const MAX_KEPT: usize = 1024;

/// Why a probe was not made.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// `target` is not `HOST[:PORT]`.
    #[error("{0}")]
    BadTarget(String),
    /// Not a name on an in-use order, nor allowed by `--probe.allowed-targets`.
    #[error(
        "target {0} is not allowed: not a name on an in-use order nor in --probe.allowed-targets"
    )]
    NotAllowed(String),
}

/// What the probe knows of the polled accounts, rebuilt when the board
/// changes.
struct Catalogue {
    known: KnownCertificates,
    names: OrderNames,
}

/// Runs probes against the board's accounts.
pub struct Prober {
    board: Arc<Board>,
    roots: Arc<RootCertStore>,
    allowed: AllowedTargets,
    fixed: Vec<FixedTarget>,
    slots: Semaphore,
    catalogue: Mutex<Option<(u64, Arc<Catalogue>)>>,
    recent: Mutex<HashMap<ProbeKey, (Instant, Arc<String>)>>,
}

/// What an answer is kept for: the target (`HOST:PORT`) and server name.
type ProbeKey = (String, String);

/// The trust anchors a served chain is verified against: the system's,
/// and the PEM certificates of `ca_file`.
pub fn trust_anchors(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("--probe.ca-file {}: cannot read: {e}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                format!(
                    "--probe.ca-file {}: not PEM certificates: {e}",
                    path.display()
                )
            })?;
            roots.add(cert).map_err(|e| {
                format!(
                    "--probe.ca-file {}: unusable certificate: {e}",
                    path.display()
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "--probe.ca-file {}: no certificate in it",
                path.display()
            ));
        }
    }
    Ok(roots)
}

impl Prober {
    /// A prober of the board's accounts, trusting `roots`, allowed the
    /// order names, `allowed` and the `fixed` targets.
    pub fn new(
        board: Arc<Board>,
        roots: RootCertStore,
        allowed: AllowedTargets,
        fixed: Vec<FixedTarget>,
    ) -> Prober {
        Prober {
            board,
            roots: Arc::new(roots),
            allowed,
            fixed,
            slots: Semaphore::new(MAX_PROBES),
            catalogue: Mutex::new(None),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Probes `target` (`HOST[:PORT]`, 443 by default) with `server_name`
    /// (the host by default), all within `timeout`: the answer as
    /// exposition text, or why no connection was made.
    pub async fn probe(
        &self,
        target: &str,
        server_name: Option<&str>,
        timeout: Duration,
    ) -> Result<Arc<String>, Refused> {
        let (host, port) = split_target(target)?;
        let server_name = server_name.filter(|s| !s.is_empty()).unwrap_or(host);
        let catalogue = self.catalogue();
        let address = format!("{host}:{port}");
        let fixed = self.fixed.iter().any(|f| f.target == address);
        if !fixed && !self.allowed.allows(host, &catalogue.names) {
            return Err(Refused::NotAllowed(host.to_owned()));
        }
        let key = (address, server_name.to_owned());
        if let Some(answer) = self.kept(&key) {
            return Ok(answer);
        }
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, self.slots.acquire()).await {
            Ok(Ok(_slot)) => {
                let left = timeout.saturating_sub(started.elapsed());
                self.handshake(host, port, server_name, left).await
            }
            _ => Err(HandshakeError::Timeout(timeout)),
        };
        let answer = Arc::new(render(&outcome, &catalogue.known, started.elapsed()));
        self.keep(key, answer.clone());
        Ok(answer)
    }

    async fn handshake(
        &self,
        host: &str,
        port: u16,
        server_name: &str,
        timeout: Duration,
    ) -> Result<Served, HandshakeError> {
        let started = Instant::now();
        let lookup = tokio::net::lookup_host((host.trim_matches(['[', ']']), port));
        let addresses: Vec<SocketAddr> = tokio::time::timeout(timeout, lookup)
            .await
            .map_err(|_| HandshakeError::Timeout(timeout))?
            .map_err(HandshakeError::Connect)?
            .collect();
        let address = addresses.first().copied().ok_or_else(|| {
            HandshakeError::Connect(std::io::Error::other(format!("{host} has no address")))
        })?;
        let left = timeout.saturating_sub(started.elapsed());
        handshake::handshake(address, server_name, self.roots.clone(), left).await
    }

    /// `/probe/targets`: Prometheus HTTP service discovery of the order
    /// names and the fixed targets; only the fixed targets when there are
    /// some (`--demo`: its order names are made up, probes of them would
    /// all fail).
    pub fn discovery(&self) -> serde_json::Value {
        let states = if self.fixed.is_empty() {
            self.board.states()
        } else {
            Vec::new()
        };
        targets::discovery(&states, &self.fixed)
    }

    /// The catalogue of the board as it is now.
    fn catalogue(&self) -> Arc<Catalogue> {
        let version = self.board.version();
        let Ok(mut cached) = self.catalogue.lock() else {
            return Arc::new(self.build_catalogue());
        };
        if let Some((built, catalogue)) = cached.as_ref()
            && *built == version
        {
            return catalogue.clone();
        }
        let catalogue = Arc::new(self.build_catalogue());
        *cached = Some((version, catalogue.clone()));
        catalogue
    }

    fn build_catalogue(&self) -> Catalogue {
        let states = self.board.states();
        let mut names = OrderNames::default();
        for fleet in states.iter().filter_map(|s| s.fleet.as_ref()) {
            names.add_fleet(fleet);
        }
        Catalogue {
            known: KnownCertificates::build(&states),
            names,
        }
    }

    fn kept(&self, key: &ProbeKey) -> Option<Arc<String>> {
        let recent = self.recent.lock().ok()?;
        recent
            .get(key)
            .filter(|(at, _)| at.elapsed() < KEEP_ANSWER)
            .map(|(_, answer)| answer.clone())
    }

    fn keep(&self, key: ProbeKey, answer: Arc<String>) {
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        // Old answers go when the map is full (a pass over all of them at
        // every probe would cost more than the lookup it serves).
        if recent.len() >= MAX_KEPT {
            recent.retain(|_, (at, _)| at.elapsed() < KEEP_ANSWER);
            if recent.len() >= MAX_KEPT {
                return;
            }
        }
        recent.insert(key, (Instant::now(), answer));
    }
}

/// `HOST[:PORT]` (an IPv6 literal in brackets), the port 443 by default.
fn split_target(target: &str) -> Result<(&str, u16), Refused> {
    let bad = || Refused::BadTarget(format!("target '{target}' is not HOST or HOST:PORT"));
    let target = target.trim();
    if target.is_empty() || target.contains(['/', '@', ' ', '?', '#']) {
        return Err(bad());
    }
    let (host, port) = match target.rsplit_once(':') {
        // An IPv6 literal without a port: [::1]
        Some(_) if target.starts_with('[') && target.ends_with(']') => (target, None),
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        Some(_) => return Err(bad()),
        None => (target, None),
    };
    let port = match port {
        None => 443,
        Some(port) => port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port))
}

/// A label block of `pairs` (values escaped as the text format wants).
fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(LabelBlock::new(), |block, (name, value)| {
            block.with(name, value)
        })
        .finish()
}

/// The answer to a probe, as exposition text.
fn render(
    outcome: &Result<Served, HandshakeError>,
    known: &KnownCertificates,
    took: Duration,
) -> String {
    let mut out = String::new();
    let mut family = |index: usize, samples: &[(String, f64)]| {
        let (name, help) = (PROBE[index].name, PROBE[index].help);
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let served = outcome.as_ref().ok();
    family(0, &[(String::new(), f64::from(u8::from(served.is_some())))]);
    family(1, &[(String::new(), took.as_secs_f64())]);
    let Some(served) = served else {
        return out;
    };
    family(2, &[(String::new(), served.leaf.not_after as f64)]);
    let found = known.find(&served.leaf.id);
    let status = match found {
        None => labels(&[("status", "unknown")]),
        Some(known) => labels(&[
            (
                "status",
                match known.standing {
                    Standing::Active => "active",
                    Standing::Superseded(_) => "superseded",
                },
            ),
            ("account", &known.account),
            ("order_id", &known.order_id.to_string()),
            ("container", &known.container),
        ]),
    };
    family(3, &[(status, 1.0)]);
    let reason = served.not_verified.as_deref().unwrap_or("");
    family(
        4,
        &[(
            labels(&[("reason", reason)]),
            f64::from(u8::from(served.not_verified.is_none())),
        )],
    );
    let replacement = found.and_then(|k| match &k.standing {
        Standing::Superseded(by) => Some(by),
        Standing::Active => None,
    });
    let samples: Vec<(String, f64)> = replacement
        .and_then(|by| {
            let expiry = by.expiry?;
            Some((
                labels(&[
                    ("replacement_order_id", &by.order_id.to_string()),
                    ("by", by.by),
                ]),
                expiry.timestamp() as f64,
            ))
        })
        .into_iter()
        .collect();
    family(5, &samples);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_host_and_port() {
        assert_eq!(split_target("example.com").unwrap(), ("example.com", 443));
        assert_eq!(
            split_target("example.com:8443").unwrap(),
            ("example.com", 8443)
        );
        assert_eq!(split_target("127.0.0.1:9").unwrap(), ("127.0.0.1", 9));
        assert_eq!(split_target("[::1]:443").unwrap(), ("[::1]", 443));
        assert_eq!(split_target("[::1]").unwrap(), ("[::1]", 443));
        for bad in [
            "",
            "a:b:c",
            "example.com:0",
            "example.com:x",
            "http://x",
            "a b",
            ":443",
        ] {
            assert!(split_target(bad).is_err(), "{bad:?}");
        }
    }
}
