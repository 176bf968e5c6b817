//! Loopback TLS endpoints, one per deployment scenario, so that the
//! exporter's `/probe` can be tested and demonstrated against servers
//! that serve the account's own certificates: the active one, one a
//! reissue or a renewal has replaced, one from a CA nobody knows, an
//! expired one, one under the wrong name; and servers that never finish
//! a handshake or reset the connection.
//!
//! Each endpoint serves one fixed chain whatever the client asks (any SNI,
//! TLS 1.2 or 1.3). `/_simulator/endpoints` says, for each, what a probe
//! should find there, from the account as it is now (a reissue made
//! through the controls turns an active endpoint into a superseded one),
//! and what the endpoint saw: connections, and whether any byte of
//! application data, or the API key, ever reached it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{Duration as Days, NaiveDate, NaiveTime};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::LazyConfigAcceptor;

use crate::ScenarioEndpoint;
use crate::fleet::{Certificate, Order, Status, World, serial_number};
use crate::mint::{self, Authority, Leaf};
use crate::state::Shared;

/// How long a client may take to finish its handshake, and then how long
/// the endpoint waits for application data it should never get.
const CLIENT_TIME: Duration = Duration::from_secs(10);
/// Connections an endpoint holds at once (more are closed at once).
const MAX_CONNECTIONS: usize = 256;

/// What an endpoint does with a connection.
#[derive(Debug, Clone)]
enum Behaviour {
    /// Serves the certificate `certificate` of order `order`.
    Order { order: u64, certificate: u64 },
    /// Serves a certificate of no order.
    Stranger(Leaf),
    /// Reads and never answers.
    Stall,
    /// Resets the connection at once.
    Reset,
}

/// What an endpoint has seen.
#[derive(Debug, Default)]
struct Seen {
    connections: AtomicU64,
    application_bytes: AtomicU64,
    key_seen: AtomicBool,
}

/// One running endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    scenario: &'static str,
    address: SocketAddr,
    server_name: String,
    behaviour: Behaviour,
    seen: Arc<Seen>,
}

/// The name a client asks for to reach an order's certificate: its common
/// name, a name under it if it is a wildcard.
fn name_for(order: &Order) -> String {
    let name = order.common_name();
    match name.strip_prefix("*.") {
        Some(parent) => format!("www.{parent}"),
        None => name,
    }
}

/// An issued order whose only certificate is active, nothing replaced,
/// with more than 30 days left: the `skip`th such.
fn plain_active(world: &World, skip: usize) -> Option<&Order> {
    world
        .orders
        .iter()
        .filter(|o| {
            o.status == Status::Issued
                && !o.renewed()
                && o.certificates().count() == 1
                && o.common_name().is_ascii()
                && o.valid_till().is_some_and(|till| {
                    till > world.today + Days::days(30) && till < world.today + Days::days(400)
                })
        })
        .nth(skip)
}

/// An issued order renewed by a newer one, its certificate ending in
/// `days` (a range of days from today).
fn renewed(world: &World, days: std::ops::Range<i64>) -> Option<&Order> {
    world.orders.iter().find(|o| {
        o.status == Status::Issued
            && o.is_renewed
            && o.renewed_by.is_some()
            && o.common_name().is_ascii()
            && o.valid_till()
                .is_some_and(|till| days.contains(&(till - world.today).num_days()))
    })
}

/// An issued order whose report still shows a certificate a reissue has
/// replaced, and that certificate.
fn reissued(world: &World) -> Option<(&Order, &Certificate)> {
    world.orders.iter().find_map(|o| {
        let shown = o.report_certificate()?;
        let active = o.active_certificate()?;
        (o.status == Status::Issued
            && shown.id != active.id
            && shown.valid_till.is_some_and(|t| t >= world.today)
            && o.common_name().is_ascii())
        .then_some((o, shown))
    })
}

/// A certificate of no order, named `name`, valid from `from` till `till`
/// days from today.
fn stranger(world: &World, name: &str, from: i64, till: i64, authority: Authority) -> Leaf {
    Leaf {
        common_name: name.to_owned(),
        dns_names: vec![name.to_owned()],
        serial: format!(
            "7E57{:028X}",
            u128::from(name.len() as u64) << 64 | u128::from(from.unsigned_abs())
        ),
        valid_from: world.today + Days::days(from),
        valid_till: world.today + Days::days(till),
        authority,
    }
}

/// The scenarios this account can show: name, server name, behaviour.
fn scenarios(world: &World) -> Vec<(&'static str, String, Behaviour)> {
    let serve = |o: &Order, c: &Certificate| Behaviour::Order {
        order: o.id,
        certificate: c.id,
    };
    let active = |o: &Order| o.active_certificate().map(|c| serve(o, c));
    let mut list = Vec::new();
    if let Some(o) = plain_active(world, 0)
        && let Some(b) = active(o)
    {
        list.push(("active", name_for(o), b));
    }
    if let Some((o, c)) = reissued(world) {
        list.push(("superseded-by-reissue", name_for(o), serve(o, c)));
    }
    if let Some(o) = renewed(world, 7..30)
        && let Some(b) = active(o)
    {
        list.push(("superseded-by-renewal", name_for(o), b));
    }
    if let Some(o) = renewed(world, 0..7)
        && let Some(b) = active(o)
    {
        list.push(("superseded-by-renewal-urgent", name_for(o), b));
    }
    let name = "unknown-ca.simulator.test";
    list.push((
        "unknown-ca",
        name.to_owned(),
        Behaviour::Stranger(stranger(world, name, -80, 10, Authority::Stranger)),
    ));
    let name = "expired.simulator.test";
    list.push((
        "expired",
        name.to_owned(),
        Behaviour::Stranger(stranger(world, name, -400, -3, Authority::Account)),
    ));
    if let Some(o) = plain_active(world, 1)
        && let Some(b) = active(o)
    {
        list.push(("wrong-name", "wrong-name.simulator.test".to_owned(), b));
    }
    list.push((
        "stalled",
        "stalled.simulator.test".to_owned(),
        Behaviour::Stall,
    ));
    list.push(("reset", "reset.simulator.test".to_owned(), Behaviour::Reset));
    list
}

/// The chain an endpoint serves: the leaf, then its CA.
fn chain(world: &World, behaviour: &Behaviour) -> Option<Vec<CertificateDer<'static>>> {
    let leaf = match behaviour {
        Behaviour::Order { order, certificate } => {
            let order = world.order(*order)?;
            let c = order.certificates().find(|c| c.id == *certificate)?;
            order.leaf(c)
        }
        Behaviour::Stranger(leaf) => leaf.clone(),
        Behaviour::Stall | Behaviour::Reset => return None,
    };
    let der = mint::der(&leaf)?;
    let ca = mint::ca_der(leaf.authority)?;
    Some(vec![CertificateDer::from(der), CertificateDer::from(ca)])
}

/// A TLS server configuration that serves `chain` to every client.
fn server_config(chain: Vec<CertificateDer<'static>>) -> anyhow::Result<Arc<ServerConfig>> {
    let key = mint::leaf_key_der().ok_or_else(|| anyhow::anyhow!("no leaf key"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))?;
    Ok(Arc::new(config))
}

/// Starts the scenario endpoints on loopback ports and hands them to
/// `shared` (for `/_simulator/endpoints`).
pub(crate) async fn start(shared: &Arc<Shared>) -> anyhow::Result<()> {
    let planned: Vec<_> = {
        let world = shared.world();
        scenarios(&world)
            .into_iter()
            .map(|(scenario, name, behaviour)| {
                let chain = chain(&world, &behaviour);
                (scenario, name, behaviour, chain)
            })
            .collect()
    };
    let mut endpoints = Vec::new();
    for (scenario, server_name, behaviour, chain) in planned {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let tls = chain.map(server_config).transpose()?;
        let seen = Arc::new(Seen::default());
        tokio::spawn(accept(
            listener,
            behaviour.clone(),
            tls,
            seen.clone(),
            shared.api_key.clone(),
        ));
        endpoints.push(Endpoint {
            scenario,
            address,
            server_name,
            behaviour,
            seen,
        });
    }
    shared.set_endpoints(endpoints);
    Ok(())
}

async fn accept(
    listener: TcpListener,
    behaviour: Behaviour,
    tls: Option<Arc<ServerConfig>>,
    seen: Arc<Seen>,
    api_key: Option<String>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        seen.connections.fetch_add(1, Ordering::Relaxed);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let (behaviour, tls, seen, key) = (
            behaviour.clone(),
            tls.clone(),
            seen.clone(),
            api_key.clone(),
        );
        tokio::spawn(async move {
            let _slot = slot;
            match (behaviour, tls) {
                (Behaviour::Reset, _) => reset(stream),
                (Behaviour::Stall, _) => stall(stream, &seen).await,
                (_, Some(tls)) => serve(stream, tls, &seen, key.as_deref()).await,
                (_, None) => {}
            }
        });
    }
}

/// Closes with a TCP reset (linger 0).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Reads what the client sends, answers nothing, until it gives up.
async fn stall(mut stream: TcpStream, seen: &Seen) {
    let mut buffer = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(300), async {
        while let Ok(n @ 1..) = stream.read(&mut buffer).await {
            seen.application_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    })
    .await;
}

/// Completes a handshake, then counts any application data the client
/// sends (a probe sends none) and looks for the key in it and in the SNI.
async fn serve(stream: TcpStream, tls: Arc<ServerConfig>, seen: &Seen, key: Option<&str>) {
    let contains_key = |bytes: &[u8]| {
        key.is_some_and(|key| {
            !key.is_empty() && bytes.windows(key.len()).any(|w| w == key.as_bytes())
        })
    };
    let session = tokio::time::timeout(CLIENT_TIME, async {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let hello = start.client_hello();
        if contains_key(hello.server_name().unwrap_or_default().as_bytes()) {
            seen.key_seen.store(true, Ordering::Relaxed);
        }
        start.into_stream(tls).await
    })
    .await;
    let Ok(Ok(mut session)) = session else {
        return;
    };
    let mut buffer = [0u8; 4096];
    let _ = tokio::time::timeout(CLIENT_TIME, async {
        while let Ok(n @ 1..) = session.read(&mut buffer).await {
            seen.application_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
            if contains_key(&buffer[..n]) {
                seen.key_seen.store(true, Ordering::Relaxed);
            }
        }
    })
    .await;
}

/// The end of `day`, Unix seconds, as a certificate valid till it says.
fn end_of(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp() + 86_399
}

impl Endpoint {
    /// Where it listens and the name to ask for.
    pub(crate) fn address(&self) -> ScenarioEndpoint {
        ScenarioEndpoint {
            scenario: self.scenario,
            address: self.address,
            server_name: self.server_name.clone(),
        }
    }

    /// What a probe of this endpoint should find, from `world` as it is
    /// now, and what the endpoint has seen.
    pub(crate) fn truth(&self, world: &World) -> Value {
        let mut truth = json!({
            "scenario": self.scenario,
            "target": self.address.to_string(),
            "server_name": self.server_name,
            "connections": self.seen.connections.load(Ordering::Relaxed),
            "application_bytes": self.seen.application_bytes.load(Ordering::Relaxed),
            "key_seen": self.seen.key_seen.load(Ordering::Relaxed),
        });
        let facts = match &self.behaviour {
            Behaviour::Stall | Behaviour::Reset => json!({"handshake": false}),
            Behaviour::Stranger(leaf) => json!({
                "handshake": true,
                "status": "unknown",
                "not_after": end_of(leaf.valid_till),
                "serial_number": leaf.serial,
                "verify_problem": match leaf.authority {
                    Authority::Stranger => "unknown_issuer",
                    Authority::Account if leaf.valid_till < world.today => "expired",
                    Authority::Account => "none",
                },
            }),
            Behaviour::Order { order, certificate } => order_facts(world, *order, *certificate)
                .map(|mut facts| {
                    facts["verify_problem"] = json!(if self.scenario == "wrong-name" {
                        "name_mismatch"
                    } else {
                        "none"
                    });
                    facts
                })
                .unwrap_or_else(|| json!({"handshake": true, "status": "unknown"})),
        };
        if let (Some(truth), Some(facts)) = (truth.as_object_mut(), facts.as_object()) {
            truth.extend(facts.clone());
        }
        truth
    }
}

/// Where certificate `certificate` of order `order` stands now.
fn order_facts(world: &World, order: u64, certificate: u64) -> Option<Value> {
    let o = world.order(order)?;
    let c = o.certificates().find(|c| c.id == certificate)?;
    let active = o.active_certificate();
    let renewal = o
        .renewed_by
        .filter(|_| o.renewed())
        .and_then(|by| world.order(by));
    let (status, replacement, by) = match (renewal, active) {
        (Some(newer), _) => ("superseded", Some(newer), "renewal"),
        (None, Some(a)) if a.id != c.id => ("superseded", Some(o), "reissue"),
        _ => ("active", None, ""),
    };
    let mut facts = json!({
        "handshake": true,
        "status": status,
        "order_id": o.id,
        "certificate_id": c.id,
        "thumbprint": o.thumbprint(c),
        "serial_number": serial_number(c.id),
        "not_after": c.valid_till.map(end_of),
    });
    if let Some(replacement) = replacement {
        facts["replacement_order_id"] = json!(replacement.id);
        facts["by"] = json!(by);
        facts["replacement_not_after"] = json!(replacement.valid_till().map(end_of));
    }
    Some(facts)
}
