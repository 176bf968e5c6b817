//! The listener: accepts connections and serves them with hyper, so that
//! no client can hold on to the exporter's sockets or memory. A connection
//! that has sent no complete request head (or TLS handshake) within the
//! header-read timeout, that sits between requests past the idle timeout,
//! or whose response makes no progress (the client does not read, or an
//! HTTP/2 flow-control window stays shut) for the write timeout, is
//! closed; at the connection bound, or when the process runs out of file
//! descriptors, the connection idle the longest, else the one stalled the
//! longest, is closed to make room. What a connection can hold is bounded
//! too: HTTP/2 streams and their send buffers, HTTP/1 write buffers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// The address a request came from, in its extensions: basic auth keeps
/// one client from taking every place in its queue.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::IpAddr);

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a new connection's TLS handshake and first request
    /// head (HTTP/1 also waits this long at most for each next head).
    pub read_header_timeout: Duration,
    /// Time a connection may sit with no request in flight after its last
    /// request ended.
    pub idle_timeout: Duration,
    /// Time a response may go without the client taking any of it.
    pub write_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// File descriptors kept for everything but served connections (the
/// pollers' connections to CertCentral, the store, the log).
const RESERVED_FDS: u64 = 128;
/// The default connection bound never exceeds this, whatever the
/// open-file limit (each connection costs memory too).
const MAX_DEFAULT_CONNECTIONS: u64 = 10_000;
/// HTTP/2 streams open at once on one connection (a Prometheus scrape
/// needs one).
const MAX_H2_STREAMS: u32 = 8;
/// Bytes buffered for sending, per HTTP/2 stream and per HTTP/1
/// connection, before the body is asked for more.
const MAX_SEND_BUFFER: usize = 64 * 1024;
/// A response that has made no progress for this long may be closed to
/// make room for a new connection at the bound.
const STALLED: Duration = Duration::from_secs(1);

/// The connection bound when none is configured: what the open-file
/// limit leaves after [`RESERVED_FDS`], at least 16.
pub fn default_max_connections(open_files: Option<u64>) -> usize {
    let bound = open_files.map_or(MAX_DEFAULT_CONNECTIONS, |limit| {
        limit
            .saturating_sub(RESERVED_FDS)
            .clamp(16, MAX_DEFAULT_CONNECTIONS)
    });
    usize::try_from(bound).unwrap_or(usize::MAX)
}

/// Raises the soft limit on open files to the hard limit, as Go programs
/// (node_exporter among them) do at start-up, since every connection
/// costs one. Returns the soft limit then in force (`None`: unlimited or
/// unknown).
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    match limit.maximum {
        Some(maximum) if maximum > current => {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::debug!(
                        old = current,
                        new = maximum,
                        "raised the open-file soft limit to the hard limit"
                    );
                    Some(maximum)
                }
                Err(err) => {
                    tracing::warn!(error = %err, limit = current, "cannot raise the open-file limit");
                    Some(current)
                }
            }
        }
        _ => Some(current),
    }
}

/// Elsewhere the limit is left as it is.
#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

/// Where a connection stands: requests in flight, and when it last did
/// anything (milliseconds since the server started).
struct Activity {
    in_flight: AtomicUsize,
    last_active: AtomicU64,
    /// When a response in flight last had a piece of its body taken.
    last_progress: AtomicU64,
    served: AtomicBool,
    close: Notify,
}

/// The open connections, so that the idlest can be closed for a new one.
struct Connections {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Connections {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn len(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    fn register(self: &Arc<Self>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now()),
            last_progress: AtomicU64::new(self.now()),
            served: AtomicBool::new(false),
            close: Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, activity.clone());
        }
        Registration {
            connections: self.clone(),
            id,
            activity,
        }
    }

    /// Closes the connection without a request in flight that has been
    /// idle the longest, else the one whose response has made no progress
    /// the longest (for [`STALLED`] at least); false when every connection
    /// is busy and moving.
    fn evict_for_room(&self) -> bool {
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        let busy = |a: &Activity| a.in_flight.load(Ordering::Acquire) > 0;
        let idlest = open
            .iter()
            .filter(|(_, a)| !busy(a))
            .min_by_key(|(_, a)| a.last_active.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        let stalled_since = self.now().saturating_sub(millis(STALLED));
        let stalled = || {
            open.iter()
                .filter(|(_, a)| busy(a))
                .map(|(id, a)| (*id, a.last_progress.load(Ordering::Acquire)))
                .filter(|(_, progress)| *progress <= stalled_since)
                .min_by_key(|(_, progress)| *progress)
                .map(|(id, _)| id)
        };
        let chosen = idlest.or_else(stalled);
        match chosen.and_then(|id| open.remove(&id)) {
            Some(activity) => {
                activity.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A connection's place among the open ones, given up when it ends.
struct Registration {
    connections: Arc<Connections>,
    id: u64,
    activity: Arc<Activity>,
}

/// A duration in the milliseconds the activity stamps count.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Registration {
    /// When the connection is due to be closed: `idle` after its last
    /// activity when no request is in flight, else `write` after its
    /// response last made progress.
    fn deadline(&self, idle: Duration, write: Duration) -> tokio::time::Instant {
        let (stamp, limit) = if self.activity.in_flight.load(Ordering::Acquire) > 0 {
            (&self.activity.last_progress, write)
        } else {
            (&self.activity.last_active, idle)
        };
        let since = Duration::from_millis(stamp.load(Ordering::Acquire));
        tokio::time::Instant::from_std(self.connections.epoch) + since + limit
    }

    fn begin_request(&self) -> RequestGuard {
        self.activity
            .last_progress
            .store(self.connections.now(), Ordering::Release);
        self.activity.in_flight.fetch_add(1, Ordering::AcqRel);
        RequestGuard {
            connections: self.connections.clone(),
            activity: self.activity.clone(),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// A request in flight on a connection, until its response body is done.
struct RequestGuard {
    connections: Arc<Connections>,
    activity: Arc<Activity>,
}

impl RequestGuard {
    /// The client took a piece of the response.
    fn progress(&self) {
        self.activity
            .last_progress
            .store(self.connections.now(), Ordering::Release);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let now = self.connections.now();
        self.activity.last_active.store(now, Ordering::Release);
        self.activity.served.store(true, Ordering::Release);
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long the accept loop waits after running out of file descriptors,
/// for the connection closed to make room to let go of its own.
const EXHAUSTED_PAUSE: Duration = Duration::from_millis(10);

/// Accepts connections on `listener` and serves `router` on them (over
/// TLS when `tls` gives a configuration, asked for each new connection so
/// that a reloaded one applies at once), until `shutdown` resolves; then
/// stops accepting, lets requests in flight finish and returns once every
/// connection has closed.
pub async fn serve<T>(
    listener: TcpListener,
    router: Router,
    tls: Option<T>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    T: Fn() -> Arc<rustls::ServerConfig> + Send + Sync + 'static,
{
    let connections = Arc::new(Connections {
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_header_timeout)
        .max_buf_size(MAX_SEND_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_send_buf_size(MAX_SEND_BUFFER);
    let builder = Arc::new(builder);
    let (stopping, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                let exhausted = out_of_descriptors(&err);
                if last_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    last_warning = Some(Instant::now());
                    tracing::warn!(
                        error = %err,
                        open = connections.len(),
                        "cannot accept a connection{}",
                        if exhausted { "; closing the idlest" } else { "" }
                    );
                }
                if exhausted {
                    connections.evict_for_room();
                }
                tokio::time::sleep(EXHAUSTED_PAUSE).await;
                continue;
            }
        };
        if connections.len() >= limits.max_connections && !connections.evict_for_room() {
            tracing::debug!(
                open = connections.len(),
                "every connection is busy and moving at the connection bound; closing the new one"
            );
            continue;
        }
        let registration = connections.register();
        let tls = tls.as_ref().map(|config| config());
        let served = Served {
            peer: stream.peer_addr().ok().map(|a| Peer(a.ip())),
            builder: builder.clone(),
            router: router.clone(),
            registration,
            limits,
            stopped: stopped.clone(),
        };
        tokio::spawn(connection(stream, tls, served));
    }
    drop(listener);
    let _ = stopping.send(true);
    while connections.len() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// True for EMFILE and ENFILE, which closing a connection can cure.
fn out_of_descriptors(err: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        let code = err.raw_os_error();
        code == Some(Errno::MFILE.raw_os_error()) || code == Some(Errno::NFILE.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}

/// What a connection is served with, whatever its transport.
struct Served {
    /// The client's address, for the requests' extensions.
    peer: Option<Peer>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    registration: Registration,
    limits: Limits,
    stopped: watch::Receiver<bool>,
}

/// One connection, from its TLS handshake (if any) to its end.
async fn connection(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, served: Served) {
    let Some(config) = tls else {
        drive(stream, served).await;
        return;
    };
    let (limits, registration) = (served.limits, &served.registration);
    let mut stopped = served.stopped.clone();
    let handshake = tokio_rustls::TlsAcceptor::from(config).accept(stream);
    let stream = tokio::select! {
        done = tokio::time::timeout(limits.read_header_timeout, handshake) => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake not done within the header-read timeout; closing");
                return;
            }
        },
        () = registration.activity.close.notified() => return,
        _ = stopped.wait_for(|stop| *stop) => return,
    };
    drive(stream, served).await;
}

/// Serves requests on `io` until the client or the server ends the
/// connection, closing it when idle past its limit or chosen to make room.
async fn drive<I>(io: I, served: Served)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Served {
        peer,
        builder,
        router,
        registration,
        limits,
        mut stopped,
    } = served;
    let registration = Arc::new(registration);
    let inner = TowerToHyperService::new(router);
    let tracked = registration.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        let guard = tracked.begin_request();
        let response = hyper::service::Service::call(&inner, request);
        async move {
            let response = response.await?;
            // The request stays in flight until its body has been sent;
            // each piece the connection takes is progress.
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    guard.progress();
                    frame
                }))
            }))
        }
    });
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let idle = if registration.activity.served.load(Ordering::Acquire) {
            limits.idle_timeout
        } else {
            limits.read_header_timeout
        };
        let deadline = registration.deadline(idle, limits.write_timeout);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            () = registration.activity.close.notified() => {
                tracing::debug!("closing an idle connection to make room for a new one");
                return;
            }
            _ = stopped.wait_for(|stop| *stop), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(deadline) => {
                if registration.deadline(idle, limits.write_timeout) <= tokio::time::Instant::now() {
                    let busy = registration.activity.in_flight.load(Ordering::Acquire) > 0;
                    tracing::debug!(
                        limit = ?if busy { limits.write_timeout } else { idle },
                        "closing a connection {}",
                        if busy { "whose response made no progress" } else { "idle past its limit" }
                    );
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_leaves_room_under_the_open_file_limit() {
        assert_eq!(default_max_connections(Some(1024)), 896);
        assert_eq!(default_max_connections(Some(100)), 16);
        assert_eq!(default_max_connections(Some(1 << 20)), 10_000);
        assert_eq!(default_max_connections(None), 10_000);
    }
}
