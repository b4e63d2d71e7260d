//! Test support shared by every service's tests: a fresh database per test, on SQLite (always) and on
//! PostgreSQL (when `LIAISON_TEST_POSTGRES_URL` is set — and under `CI=true` its absence fails the test rather
//! than skipping it), and real servers started through the same path as the binary, on 127.0.0.1:0.
//!
//! - [`Call`]: a call of a tonic client reads as one line that gives the message or the error, and a call that
//!   went the other way panics naming the RPC's response, the test's line and the status:
//!
//!   ```text
//!   use liaison_testkit::Call;
//!
//!   let created = app.client.create_contact(request).ok().await.contact.unwrap();
//!   let status = app.client.get_contact(GetContactRequest { name: "contacts/nobody".into() }).err().await;
//!   assert_eq!(status.code(), tonic::Code::NotFound);
//!   ```
//!   (instead of `.await.unwrap().into_inner()` and `.await.unwrap_err()`).
//! - [`procs`]: child processes of the real binaries (clean environment, stderr in memory or in a log file,
//!   SIGTERM to stop, SIGKILL when dropped), free ports, readiness by the gRPC health service.
//! - [`cluster`]: the binary's two topologies, the all-in-one and four `liaison serve` processes, started by a
//!   [`cluster::Launcher`] that names the binary, the logs and the patience; one service restarted in place.
//!   The end-to-end tests and the bench both start the system this way.
//! - [`e2e`]: the end-to-end tests' side: the binary built once per test binary, their launcher, panicking
//!   `AllInOne::start()` / `Cluster::start(..)`, and the checks every topology must pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test support: a set-up that fails panics with its cause, and the harness prints what it starts"
)]

mod call;
pub mod cluster;
pub mod e2e;
pub mod faults;
pub mod otlp;
pub mod procs;
pub mod raw;

pub use call::Call;

use liaison_runtime::config::{Peers, ServiceSettings};
use liaison_runtime::db::DatabaseUrl;
use liaison_runtime::net::client::CallSettings;
use liaison_runtime::service::{LiaisonService, Running, start};
use sea_orm::{ConnectionTrait, Database};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if configured. Under `CI=true` a missing one panics (a failure, not a skip).
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("LIAISON_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but LIAISON_TEST_POSTGRES_URL is not set: the PostgreSQL tier cannot be skipped in CI")
        }
        _ => None,
    }
}

/// A database of its own for one test (or one service in a test); removed when dropped.
pub struct TestDatabase {
    pub engine: Engine,
    url: DatabaseUrl,
    raw_url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database on `engine`, or `None` when PostgreSQL is not configured (outside CI).
    pub async fn new(engine: Engine) -> Option<Self> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite()),
            Engine::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let raw_url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self { engine: Engine::Sqlite, url: raw_url.parse().unwrap(), raw_url, _dir: Some(dir), postgres: None }
    }

    pub async fn postgres() -> Option<Self> {
        let admin = postgres_admin_url()?;
        let name = format!("liaison_test_{}", uuid::Uuid::now_v7().simple());
        let conn = Database::connect(&admin).await.expect("connect to LIAISON_TEST_POSTGRES_URL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        conn.close().await.ok();
        let base = admin.split('?').next().unwrap_or(&admin);
        let raw_url = format!("{}/{}", base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base), name);
        Some(Self {
            engine: Engine::Postgres,
            url: raw_url.parse().unwrap(),
            raw_url,
            _dir: None,
            postgres: Some((admin, name)),
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn raw_url(&self) -> &str {
        &self.raw_url
    }

    /// The PostgreSQL database name and admin URL (for fault tests that cut connections).
    pub fn postgres_admin(&self) -> Option<(&str, &str)> {
        self.postgres.as_ref().map(|(a, n)| (a.as_str(), n.as_str()))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Dropping needs async I/O; do it on a thread of its own so it works from any context.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                runtime.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        let _ = conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Call settings for tests: short deadlines so that failure paths are quick.
pub fn test_calls() -> CallSettings {
    CallSettings { call_timeout: Duration::from_millis(1500), connect_timeout: Duration::from_millis(500) }
}

/// Starts service `S` on 127.0.0.1:0 with `database`, exactly as `liaison serve` would.
pub async fn spawn<S: LiaisonService>(database: &TestDatabase, peers: Peers) -> Running {
    spawn_with::<S>(database, peers, CancellationToken::new()).await
}

/// As [`spawn`], stopping when `shutdown` is cancelled.
pub async fn spawn_with<S: LiaisonService>(
    database: &TestDatabase,
    peers: Peers,
    shutdown: CancellationToken,
) -> Running {
    spawn_at::<S>(database, peers, "127.0.0.1:0".parse().unwrap(), shutdown).await
}

/// As [`spawn`], on a given address (to restart a service where its clients expect it).
pub async fn spawn_at<S: LiaisonService>(
    database: &TestDatabase,
    peers: Peers,
    listen: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> Running {
    spawn_secured::<S>(database, peers, listen, liaison_runtime::security::Security::development(), shutdown).await
}

/// As [`spawn_at`], with the given security (tokens, TLS, credentials).
pub async fn spawn_secured<S: LiaisonService>(
    database: &TestDatabase,
    peers: Peers,
    listen: std::net::SocketAddr,
    security: std::sync::Arc<liaison_runtime::security::Security>,
    shutdown: CancellationToken,
) -> Running {
    let settings = ServiceSettings {
        listen,
        database_url: database.url().clone(),
        peers,
        calls: test_calls(),
        security,
        limits: Default::default(),
    };
    start::<S>(settings, shutdown).await.unwrap_or_else(|e| panic!("cannot start service: {e}"))
}

/// As [`spawn`], under the given limits (rates, connections, timeouts).
pub async fn spawn_limited<S: LiaisonService>(
    database: &TestDatabase,
    peers: Peers,
    limits: liaison_runtime::net::limits::Limits,
) -> Running {
    let settings = ServiceSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: database.url().clone(),
        peers,
        calls: test_calls(),
        security: liaison_runtime::security::Security::development(),
        limits,
    };
    start::<S>(settings, CancellationToken::new()).await.unwrap_or_else(|e| panic!("cannot start service: {e}"))
}

/// A lazy channel to a running server.
pub fn channel(running: &Running) -> tonic::transport::Channel {
    liaison_runtime::net::client::lazy_channel(&running.url(), test_calls(), None).unwrap()
}

/// A client of the change feed (`liaison.common.v1.ChangeFeedService`) that `running` serves on its port.
pub fn feed(
    running: &Running,
) -> liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient<tonic::transport::Channel> {
    liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient::new(channel(running))
}

/// A channel to `running` whose calls wait four times as long as a service's own calls to its dependencies
/// ([`test_calls`]): for tests of a service whose dependency is down, which answers only when its own deadline
/// for that dependency has run out — a caller with the same deadline would see its own timeout (CANCELLED) first
/// whenever the machine is slow.
pub fn patient_channel(running: &Running) -> tonic::transport::Channel {
    let patient = CallSettings { call_timeout: test_calls().call_timeout * 4, ..test_calls() };
    liaison_runtime::net::client::lazy_channel(&running.url(), patient, None).unwrap()
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Instantiates each `async fn name(engine: Engine)` as two tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::postgres_admin_url().is_some() {
                    super::$name($crate::Engine::Postgres).await
                } else {
                    eprintln!("skipped: LIAISON_TEST_POSTGRES_URL is not set");
                }
            }
        })+
    };
}
