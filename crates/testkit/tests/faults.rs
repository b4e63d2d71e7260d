//! The fault-injection kit works as the fault tests will rely on: the proxy passes, delays, black-holes, cuts
//! and resets connections, open ones included, and leaves nothing behind; the own PostgreSQL keeps a committed
//! row through SIGKILL and a restart, and a proxy in front of it makes a query fail fast instead of hang.
//!
//! No assertion bounds a time from above except as a "did not hang" deadline far beyond what is expected: on a
//! loaded machine anything may be slow, only a delay is certain to be at least what it was set to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use liaison_testkit::eventually;
use liaison_testkit::faults::postgres::{self, PostgresServer};
use liaison_testkit::faults::proxy::{Counters, FaultProxy, Mode};
use sea_orm::sqlx::{self, Connection, PgConnection};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Far beyond anything expected: only a hang reaches it.
const HANG: Duration = Duration::from_secs(20);

/// A server on 127.0.0.1:0 that echoes what each connection sends; the connections it accepted.
async fn echo_server() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    (addr, accepted)
}

/// A server on 127.0.0.1:0 that sends `bytes` bytes to each connection, then keeps it open.
async fn talker(bytes: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(&vec![7; bytes]).await;
                let mut sink = [0; 1024];
                while let Ok(1..) = stream.read(&mut sink).await {}
            });
        }
    });
    addr
}

/// Sends `message` and reads as many bytes back; how long that took.
async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Duration {
    let started = Instant::now();
    stream.write_all(message).await.unwrap();
    let mut back = vec![0; message.len()];
    tokio::time::timeout(HANG, stream.read_exact(&mut back)).await.expect("the echo comes back").unwrap();
    assert_eq!(back, message);
    started.elapsed()
}

/// A read's outcome, within `HANG`.
async fn read_some(stream: &mut TcpStream) -> std::io::Result<usize> {
    let mut buffer = [0; 1024];
    tokio::time::timeout(HANG, stream.read(&mut buffer)).await.expect("the read ends")
}

#[tokio::test]
async fn pass_forwards_both_ways_and_counts() {
    let (echo, _) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut client, b"hello").await;
    round_trip(&mut client, &vec![1; 100_000]).await;

    let expected = Counters {
        accepted: 1,
        open: 1,
        upstream_connections: 1,
        bytes_to_upstream: 100_005,
        bytes_to_client: 100_005,
    };
    // The client may read the last chunk before the proxy has counted it.
    eventually(HANG, "the bytes counted", || async { (proxy.counters() == expected).then_some(()) }).await;

    drop(client);
    eventually(HANG, "the connection closed", || async { (proxy.counters().open == 0).then_some(()) }).await;
}

#[tokio::test]
async fn delay_holds_every_chunk_both_ways() {
    let (echo, _) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let passed = round_trip(&mut client, b"ping").await;

    // The open connection is delayed too: out, and back.
    let delay = Duration::from_millis(150);
    proxy.set_mode(Mode::Delay(delay));
    let delayed = round_trip(&mut client, b"ping").await;
    assert!(
        delayed >= delay * 2,
        "a round trip waits the delay each way: {delayed:?} for {delay:?} ({:.1} times the undelayed {passed:?})",
        delayed.as_secs_f64() / passed.as_secs_f64().max(f64::EPSILON)
    );

    // A new connection as well.
    let mut other = TcpStream::connect(proxy.addr()).await.unwrap();
    let delayed = round_trip(&mut other, b"ping").await;
    assert!(delayed >= delay * 2, "{delayed:?} for {delay:?}");
}

#[tokio::test]
async fn a_black_hole_accepts_and_forwards_nothing() {
    let (echo, upstream_accepted) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    proxy.set_mode(Mode::BlackHole);

    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    client.write_all(b"anyone?").await.unwrap();
    let mut buffer = [0; 16];
    let read = tokio::time::timeout(Duration::from_millis(300), client.read(&mut buffer)).await;
    assert!(read.is_err(), "the read waits (no data, no close): {read:?}");
    assert_eq!(upstream_accepted.load(Ordering::SeqCst), 0, "the upstream saw no connection");
    let counters = proxy.counters();
    assert_eq!((counters.accepted, counters.open, counters.upstream_connections), (1, 1, 0), "{counters:?}");

    // An open connection falls into it, and comes out of it when the mode changes back.
    proxy.set_mode(Mode::Pass);
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut open, b"before").await;
    proxy.set_mode(Mode::BlackHole);
    open.write_all(b"lost").await.unwrap();
    let read = tokio::time::timeout(Duration::from_millis(300), open.read(&mut buffer)).await;
    assert!(read.is_err(), "the open connection's read waits too: {read:?}");
    proxy.set_mode(Mode::Pass);
    round_trip(&mut open, b"after").await;
}

#[tokio::test]
async fn close_after_n_bytes_cuts_the_connection() {
    let limit = 1000;
    let proxy = FaultProxy::start(talker(64 * 1024).await);
    proxy.set_mode(Mode::CloseAfter(limit));
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(HANG, client.read_to_end(&mut received)).await.expect("an end of stream").unwrap();
    assert!(received.len() as u64 <= limit, "{} bytes passed a limit of {limit}", received.len());
    assert_eq!(received.len() as u64, limit, "the chunk that reaches the limit is cut to it");

    // An open connection past the limit when it is set is closed at once.
    let (echo, _) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut open, &[1; 100]).await;
    proxy.set_mode(Mode::CloseAfter(50));
    assert_eq!(read_some(&mut open).await.unwrap(), 0, "an end of stream");
}

#[tokio::test]
async fn reset_closes_open_and_new_connections_with_an_rst() {
    let (echo, _) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut open, b"hello").await;

    proxy.set_mode(Mode::Reset);
    let error = read_some(&mut open).await.expect_err("the open connection is reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");

    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    let error = read_some(&mut new).await.expect_err("a new connection is reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    eventually(HANG, "no connection open", || async { (proxy.counters().open == 0).then_some(()) }).await;
}

#[tokio::test]
async fn kill_all_closes_the_open_connections_only() {
    let (echo, _) = echo_server().await;
    let proxy = FaultProxy::start(echo);
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut open, b"hello").await;

    proxy.kill_all();
    assert_eq!(read_some(&mut open).await.unwrap(), 0, "an end of stream");
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    round_trip(&mut new, b"still serving").await;
    assert_eq!(proxy.counters().accepted, 2);
}

#[tokio::test]
async fn a_proxy_stopped_or_dropped_listens_no_more() {
    let (echo, _) = echo_server().await;

    let proxy = FaultProxy::start(echo);
    let addr = proxy.addr();
    let mut open = TcpStream::connect(addr).await.unwrap();
    round_trip(&mut open, b"hello").await;
    let counters = proxy.shutdown().await;
    assert_eq!(counters.open, 0, "every connection's task has ended: {counters:?}");
    let refused = TcpStream::connect(addr).await.expect_err("nothing listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");
    assert_eq!(read_some(&mut open).await.unwrap(), 0, "the open connection was closed");

    let proxy = FaultProxy::start(echo);
    let addr = proxy.addr();
    drop(proxy);
    // The tasks end a moment after the drop.
    eventually(HANG, "the listener closed", || async { TcpStream::connect(addr).await.err() }).await;
    let refused = TcpStream::connect(addr).await.expect_err("nothing listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");
}

/// The values of table `t`, in the order of their ids.
async fn row(url: &str) -> Vec<String> {
    let mut connection = PgConnection::connect(url).await.unwrap();
    let values = sqlx::query_scalar("SELECT v FROM t ORDER BY id").fetch_all(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_postgres_keeps_committed_rows_through_stop_and_kill() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    let mut server = PostgresServer::new().await;
    let url = server.create_database("faults").await;
    let mut connection = PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE t (id INT PRIMARY KEY, v TEXT NOT NULL)").execute(&mut connection).await.unwrap();
    sqlx::query("INSERT INTO t VALUES (1, 'before the stop')").execute(&mut connection).await.unwrap();
    drop(connection);

    let port = server.port();
    server.stop().await;
    assert!(PgConnection::connect(&url).await.is_err(), "stopped");
    server.start().await;
    assert_eq!(server.port(), port);
    let mut connection = PgConnection::connect(&url).await.unwrap();
    // Committed (autocommit), then the crash with the connection still open.
    sqlx::query("INSERT INTO t VALUES (2, 'before the kill')").execute(&mut connection).await.unwrap();

    server.kill().await;
    let error = sqlx::query("SELECT 1").execute(&mut connection).await.expect_err("the server is gone");
    drop(connection);
    server.start().await;
    assert!(server.log().contains("automatic recovery in progress"), "a crash's recovery:\n{}", server.log());
    assert_eq!(row(&url).await, ["before the stop", "before the kill"], "after {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_in_front_of_postgres_passes_queries_and_resets_them_fast() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    let server = PostgresServer::new().await;
    let proxy = FaultProxy::start(server.addr());
    let url = PostgresServer::url_via(proxy.addr(), "postgres");
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut connection).await.unwrap();
    assert_eq!(one, 1);

    proxy.set_mode(Mode::Reset);
    let failed = tokio::time::timeout(HANG, sqlx::query("SELECT 1").execute(&mut connection)).await;
    let error = failed.expect("the query fails instead of hanging").expect_err("the connection was reset");
    assert!(matches!(error, sqlx::Error::Io(_)), "an I/O error: {error:?}");
    let connecting = tokio::time::timeout(HANG, PgConnection::connect(&url)).await;
    assert!(connecting.expect("connecting fails instead of hanging").is_err());

    proxy.set_mode(Mode::Pass);
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut connection).await.unwrap();
    assert_eq!(one, 1, "the server itself was never touched");
}
