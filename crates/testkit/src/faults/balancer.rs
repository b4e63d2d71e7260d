//! A small L4 TCP balancer of the test's own, as a Kubernetes Service is to its pods: it accepts on one address
//! (127.0.0.1:0) and joins each new connection to the next of its upstreams, round robin, that accepts it; an
//! upstream that refuses (its process stopped, or draining and no longer listening) is skipped for that
//! connection, and a connection no upstream accepts is closed, which its client sees as the service unavailable.
//!
//! It knows nothing of HTTP/2: a connection, once joined, stays with its upstream until either side closes it,
//! so a replica's GOAWAY and close reach the client as they would through kube-proxy, and the client's next
//! connection lands on another replica. The upstreams can be replaced at any time ([`Balancer::set_upstreams`]);
//! the change applies to new connections.
//!
//! Every task belongs to the balancer: dropping it (or [`Balancer::shutdown`]) closes the listener and every
//! connection it carries.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// How long the balancer waits for one upstream to accept before it tries the next (a loopback connect is
/// answered at once, accepted or refused; this bounds a listener whose backlog is full).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The balancer's counts since it started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counters {
    /// Connections accepted from clients.
    pub accepted: u64,
    /// Connections joined to each upstream, by address.
    pub joined: Vec<(SocketAddr, u64)>,
    /// Upstream connection attempts refused (or timed out), each followed by a try of the next upstream.
    pub refused: u64,
    /// Client connections closed because no upstream accepted them.
    pub unplaced: u64,
}

struct Shared {
    upstreams: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    accepted: AtomicU64,
    joined: Mutex<Vec<(SocketAddr, u64)>>,
    refused: AtomicU64,
    unplaced: AtomicU64,
}

impl Shared {
    fn upstreams(&self) -> Vec<SocketAddr> {
        self.upstreams.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn count_joined(&self, upstream: SocketAddr) {
        let mut joined = self.joined.lock().unwrap_or_else(PoisonError::into_inner);
        match joined.iter_mut().find(|(addr, _)| *addr == upstream) {
            Some((_, count)) => *count += 1,
            None => joined.push((upstream, 1)),
        }
    }
}

/// A round-robin TCP balancer in front of a set of upstream addresses; its tasks stop when it is dropped.
pub struct Balancer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    accept: Option<JoinHandle<()>>,
}

impl Balancer {
    /// Listens on 127.0.0.1:0 in front of `upstreams`. Must be called within a tokio runtime; panics if it
    /// cannot listen.
    pub fn start(upstreams: Vec<SocketAddr>) -> Self {
        // A std listener made non-blocking, so that starting is not async (as `FaultProxy::start`).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("balancer: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("balancer: make the listener non-blocking");
        let addr = listener.local_addr().expect("balancer: the listener's address");
        let listener = TcpListener::from_std(listener).expect("balancer: a listener within a tokio runtime");
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            upstreams: Mutex::new(upstreams),
            next: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            joined: Mutex::new(Vec::new()),
            refused: AtomicU64::new(0),
            unplaced: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown.clone()));
        Self { addr, shared, shutdown, accept: Some(accept) }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for a gRPC client or a service's `LIAISON_<PEER>_ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the upstreams, for the connections accepted from now on.
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddr>) {
        *self.shared.upstreams.lock().unwrap_or_else(PoisonError::into_inner) = upstreams;
    }

    pub fn upstreams(&self) -> Vec<SocketAddr> {
        self.shared.upstreams()
    }

    pub fn counters(&self) -> Counters {
        let shared = &self.shared;
        Counters {
            accepted: shared.accepted.load(Ordering::Relaxed),
            joined: shared.joined.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            refused: shared.refused.load(Ordering::Relaxed),
            unplaced: shared.unplaced.load(Ordering::Relaxed),
        }
    }

    /// Stops the balancer and waits until its listener is closed and every connection's task has ended; the
    /// counts at the end.
    pub async fn shutdown(mut self) -> Counters {
        self.shutdown.cancel();
        if let Some(accept) = self.accept.take()
            && let Err(e) = accept.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        self.counters()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Accepts until cancelled, one task per connection; then closes the listener and waits for those tasks.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    shared.accepted.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(serve(client, Arc::clone(&shared), shutdown.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Joins `client` to the first upstream, from the next in turn, that accepts; then forwards both ways until
/// both sides have closed (a half-close passed on as one), a side fails, or the balancer stops.
async fn serve(mut client: TcpStream, shared: Arc<Shared>, shutdown: CancellationToken) {
    let upstreams = shared.upstreams();
    let first = shared.next.fetch_add(1, Ordering::Relaxed);
    let mut joined = None;
    for i in 0..upstreams.len() {
        let upstream = upstreams[(first + i) % upstreams.len()];
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)) => connected,
        };
        match connected {
            Ok(Ok(stream)) => {
                shared.count_joined(upstream);
                joined = Some(stream);
                break;
            }
            _ => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let Some(mut upstream) = joined else {
        // Nobody to serve it: closed, as kube-proxy's connection to no endpoint is refused.
        shared.unplaced.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    tokio::select! {
        () = shutdown.cancelled() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
    }
}
