//! A TCP proxy of the test's own, on 127.0.0.1:0, that forwards every connection it accepts to one upstream
//! address and injects the fault its [`Mode`] names, switched at any time with [`FaultProxy::set_mode`].
//!
//! The mode is consulted for every chunk read, not once per connection: a switch applies at once to the
//! connections already open (a pool's idle connections are the ones a fault must reach) as well as to new ones.
//! Each direction is a loop of its own (read a chunk, ask the mode, write it) rather than `tokio::io::copy`, which
//! would only be told at the end.
//!
//! Every task belongs to the proxy: dropping it (or [`FaultProxy::shutdown`]) cancels the accept loop, which
//! closes the listener and waits for the connections' tasks, each of which ends when cancelled.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// The most a direction reads (and so forwards, delays or drops) at once.
const CHUNK: usize = 16 * 1024;

/// What the proxy does with the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Forward every chunk as it comes.
    #[default]
    Pass,
    /// Forward every chunk, in both directions, once this long has passed since it was read (a chunk already
    /// waiting when the mode changes still waits its time).
    Delay(Duration),
    /// Forward nothing: what is read is dropped, connections stay open. A connection accepted meanwhile is
    /// never connected upstream, and stays a sink even if the mode changes back (what it was sent is lost).
    BlackHole,
    /// Close each connection, both sides, once this many bytes have been forwarded over it in total (both
    /// directions, counted since it was opened): the chunk that reaches the limit is cut to it. A connection
    /// already past the limit when the mode is set is closed at once.
    CloseAfter(u64),
    /// Close every connection, open and new, with a TCP RST (`SO_LINGER` zero, then close), both sides.
    Reset,
}

/// The proxy's counts since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Connections accepted from clients.
    pub accepted: u64,
    /// Accepted connections not yet closed.
    pub open: u64,
    /// Connections made to the upstream (a black-holed or reset connection makes none).
    pub upstream_connections: u64,
    /// Bytes forwarded from clients to the upstream.
    pub bytes_to_upstream: u64,
    /// Bytes forwarded from the upstream to clients.
    pub bytes_to_client: u64,
}

/// What the proxy's handle and its tasks share.
struct Shared {
    mode: watch::Sender<Mode>,
    accepted: AtomicU64,
    open: AtomicU64,
    upstream_connections: AtomicU64,
    bytes_to_upstream: AtomicU64,
    bytes_to_client: AtomicU64,
    /// The token of the connections accepted since the last [`FaultProxy::kill_all`] (a child of the
    /// proxy's): cancelled and replaced by `kill_all`.
    connections: Mutex<CancellationToken>,
}

impl Shared {
    fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    fn connections(&self) -> CancellationToken {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Counts an accepted connection as open until dropped (with the task that serves it, however it ends).
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP proxy in front of one upstream address; its tasks stop when it is dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`, in [`Mode::Pass`]. Must be called
    /// within a tokio runtime (its tasks run there); panics if it cannot listen.
    pub fn start(upstream: SocketAddr) -> Self {
        // A std listener made non-blocking, so that starting is not async: a proxy is set up like a value.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fault proxy: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("fault proxy: make the listener non-blocking");
        let addr = listener.local_addr().expect("fault proxy: the listener's address");
        let listener = TcpListener::from_std(listener).expect("fault proxy: a listener within a tokio runtime");
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            mode: watch::Sender::new(Mode::Pass),
            accepted: AtomicU64::new(0),
            open: AtomicU64::new(0),
            upstream_connections: AtomicU64::new(0),
            bytes_to_upstream: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
            connections: Mutex::new(shutdown.child_token()),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared), shutdown.clone()));
        Self { addr, upstream, shared, shutdown, accept: Some(accept) }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the proxy connects.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Switches the mode, for the open connections and the new ones alike.
    pub fn set_mode(&self, mode: Mode) {
        // `send_replace`, not `send`: the value must change even while no connection listens.
        self.shared.mode.send_replace(mode);
    }

    pub fn mode(&self) -> Mode {
        self.shared.mode()
    }

    pub fn counters(&self) -> Counters {
        let shared = &self.shared;
        Counters {
            accepted: shared.accepted.load(Ordering::Relaxed),
            open: shared.open.load(Ordering::Relaxed),
            upstream_connections: shared.upstream_connections.load(Ordering::Relaxed),
            bytes_to_upstream: shared.bytes_to_upstream.load(Ordering::Relaxed),
            bytes_to_client: shared.bytes_to_client.load(Ordering::Relaxed),
        }
    }

    /// Closes every connection accepted so far (both sides, a FIN each), now; the proxy goes on accepting.
    /// The closing happens in the connections' tasks, a moment after this returns.
    pub fn kill_all(&self) {
        let mut connections = self.shared.connections.lock().unwrap_or_else(PoisonError::into_inner);
        connections.cancel();
        *connections = self.shutdown.child_token();
    }

    /// Stops the proxy and waits until its listener is closed and every connection's task has ended; the
    /// counts at the end.
    pub async fn shutdown(mut self) -> Counters {
        self.shutdown.cancel();
        if let Some(accept) = self.accept.take() {
            // A panic of the accept loop is a bug of the proxy: let the test see it.
            if let Err(e) = accept.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        self.counters()
    }
}

impl Drop for FaultProxy {
    /// Cancels the tasks; they close the listener and the connections on their next poll (at once on a
    /// multi-threaded runtime, at the next await on a current-thread one).
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Accepts until cancelled, one task per connection; then closes the listener and waits for those tasks.
async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            // Reaps the ended connections so that the set does not grow with every connection ever made.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    shared.accepted.fetch_add(1, Ordering::Relaxed);
                    shared.open.fetch_add(1, Ordering::Relaxed);
                    let open = Open(Arc::clone(&shared));
                    connections.spawn(serve(client, upstream, open, shared.connections()));
                }
                // A failed accept (out of descriptors, a connection reset before it was accepted) is the
                // client's or the moment's, not the proxy's end: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Both directions reached their end of stream (passed on as half-closes).
    Eof,
    /// Closed by the proxy: a FIN each side (the kernel sends an RST instead to a side whose data is unread).
    Close,
    /// Closed with an RST each side.
    Reset,
}

/// Serves one accepted connection in the mode of the moment it was accepted, until it ends.
async fn serve(client: TcpStream, upstream: SocketAddr, open: Open, kill: CancellationToken) {
    let shared = &open.0;
    match shared.mode() {
        Mode::Reset => return reset(&client),
        Mode::BlackHole => return sink(client, shared, &kill).await,
        Mode::Pass | Mode::Delay(_) | Mode::CloseAfter(_) => {}
    }
    let upstream = tokio::select! {
        () = kill.cancelled() => return,
        connected = TcpStream::connect(upstream) => match connected {
            Ok(stream) => stream,
            // The upstream is down: the client sees its connection closed, as through a real proxy.
            Err(_) => return,
        },
    };
    shared.upstream_connections.fetch_add(1, Ordering::Relaxed);
    // Small writes (a protocol's messages) go out at once, as they would without the proxy.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    forward(client, upstream, shared, &kill).await;
}

/// Forwards both ways until both ends have closed, a fault closes the connection, or it is killed.
async fn forward(mut client: TcpStream, mut upstream: TcpStream, shared: &Shared, kill: &CancellationToken) {
    let forwarded = AtomicU64::new(0);
    let end = {
        // Borrowed halves, not `into_split`: an owned write half sends a FIN when dropped, which would reach the
        // client before a reset's RST.
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let up = pump(client_read, upstream_write, &shared.bytes_to_upstream, shared, &forwarded);
        let down = pump(upstream_read, client_write, &shared.bytes_to_client, shared, &forwarded);
        tokio::select! {
            ended = async { tokio::try_join!(up, down) } => ended.err().unwrap_or(End::Eof),
            end = faults(shared, &forwarded) => end,
            () = kill.cancelled() => End::Close,
        }
    };
    close(&mut client, end).await;
    close(&mut upstream, end).await;
}

/// Accepts a connection in a black hole: reads and drops until the client closes, the mode resets it, or it is
/// killed.
async fn sink(mut client: TcpStream, shared: &Shared, kill: &CancellationToken) {
    let unforwarded = AtomicU64::new(0);
    let end = {
        let drain = async {
            let mut buffer = vec![0; CHUNK];
            while let Ok(1..) = client.read(&mut buffer).await {}
            End::Eof
        };
        tokio::select! {
            end = drain => end,
            end = faults(shared, &unforwarded) => end,
            () = kill.cancelled() => End::Close,
        }
    };
    close(&mut client, end).await;
}

/// Forwards one direction, chunk by chunk, each as the mode of the moment says; `Ok` at the end of the stream
/// (passed on as a half-close), `Err` when the connection must end.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    counted: &AtomicU64,
    shared: &Shared,
    forwarded: &AtomicU64,
) -> Result<(), End> {
    let mut buffer = vec![0; CHUNK];
    loop {
        // A side's failure (reset, gone) ends the connection: the other side is closed too, as a proxy would.
        let read = from.read(&mut buffer).await.map_err(|_| End::Close)?;
        if read == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        let limit = match shared.mode() {
            Mode::Pass => u64::MAX,
            Mode::Delay(delay) => {
                tokio::time::sleep(delay).await;
                u64::MAX
            }
            Mode::BlackHole => continue,
            Mode::CloseAfter(limit) => limit,
            Mode::Reset => return Err(End::Reset),
        };
        // Reserves this chunk's share of the limit before writing, so that the other direction, writing
        // meanwhile, cannot take it too.
        let wanted = read as u64;
        let before = forwarded
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sum| {
                Some(sum.saturating_add(limit.saturating_sub(sum).min(wanted)))
            })
            .unwrap_or_else(|sum| sum);
        let allowed = limit.saturating_sub(before).min(wanted);
        let chunk = &buffer[..usize::try_from(allowed).unwrap_or(read)];
        to.write_all(chunk).await.map_err(|_| End::Close)?;
        counted.fetch_add(allowed, Ordering::Relaxed);
        if before.saturating_add(allowed) >= limit {
            return Err(End::Close);
        }
    }
}

/// Waits for the mode to end a connection that has forwarded `forwarded` bytes: a reset, or a limit it is past.
async fn faults(shared: &Shared, forwarded: &AtomicU64) -> End {
    let mut modes = shared.mode.subscribe();
    loop {
        let mode = *modes.borrow_and_update();
        match mode {
            Mode::Reset => return End::Reset,
            Mode::CloseAfter(limit) if forwarded.load(Ordering::Relaxed) >= limit => return End::Close,
            Mode::Pass | Mode::Delay(_) | Mode::BlackHole | Mode::CloseAfter(_) => {}
        }
        if modes.changed().await.is_err() {
            // The sender lives as long as the connection's shared state: never, but then nothing changes.
            std::future::pending::<()>().await;
        }
    }
}

/// Closes a side as `end` says; the socket itself is closed when the caller drops it.
async fn close(stream: &mut TcpStream, end: End) {
    match end {
        End::Reset => reset(stream),
        // A FIN now, whatever is still unread; the close when dropped.
        End::Close | End::Eof => {
            let _ = stream.shutdown().await;
        }
    }
}

/// Makes the socket's close send an RST (`SO_LINGER` zero; tokio's `set_linger` is deprecated, this is the
/// case it keeps, and it does not block).
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}
