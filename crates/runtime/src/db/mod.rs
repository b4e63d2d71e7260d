//! Database connection and migration for PostgreSQL and SQLite, write transactions, and the mapping of
//! database failures onto the error vocabulary.
//!
//! SQLite allows one writer at a time and answers a second one with SQLITE_BUSY; instead of retrying, write
//! transactions of one process queue on an async gate, which is exactly SQLite's own order. PostgreSQL needs no
//! gate: its invariants are held by constraints and conditional updates.
pub mod crud;
pub(crate) mod group_commit;
pub mod idempotency;
pub mod jobs;
pub mod migration;
pub mod resource;
pub mod secrets;
pub mod single_trip;
pub mod sql;

use crate::api::error::Error;
use sea_orm::sqlx;
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A validated `DATABASE_URL`: `postgres://user@host:port/db` or `sqlite://path/to/file.db`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The SQLite file this URL names, if it names one.
    fn sqlite_path(&self) -> Option<&str> {
        let rest = self.url.strip_prefix("sqlite://").or_else(|| self.url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then_some(path)
    }
}

/// Why a `DATABASE_URL` was refused (the password is never part of the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("DATABASE_URL '{redacted}' is malformed: expected {expected}")]
    Malformed { redacted: String, expected: &'static str },
    #[error("DATABASE_URL '{redacted}' has an invalid port '{port}'")]
    InvalidPort { redacted: String, port: String },
    #[error("DATABASE_URL '{redacted}' is not supported: it must start with postgres:// or sqlite://")]
    Unsupported { redacted: String },
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
            let authority = rest.split('/').next().unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            let database = rest.split_once('/').map(|(_, d)| d.split('?').next().unwrap_or_default());
            if host.is_empty() || database.is_none_or(str::is_empty) {
                return Err(DatabaseUrlError::Malformed {
                    redacted: redact(url),
                    expected: "postgres://user:password@host:port/database",
                });
            }
            if let Some(port) = host.rsplit_once(':').map(|(_, p)| p)
                && !host.ends_with(']')
                && port.parse::<u16>().is_err()
            {
                return Err(DatabaseUrlError::InvalidPort { redacted: redact(url), port: port.to_owned() });
            }
            Ok(Self { url: url.to_owned(), backend: Backend::Postgres })
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.trim_start_matches("//");
            if rest.is_empty() || rest.starts_with('?') {
                return Err(DatabaseUrlError::Malformed {
                    redacted: redact(url),
                    expected: "sqlite://path/to/file.db",
                });
            }
            let with_mode = if rest.contains("mode=") || rest == ":memory:" {
                format!("sqlite://{rest}")
            } else if rest.contains('?') {
                format!("sqlite://{rest}&mode=rwc")
            } else {
                format!("sqlite://{rest}?mode=rwc")
            };
            Ok(Self { url: with_mode, backend: Backend::Sqlite })
        } else {
            Err(DatabaseUrlError::Unsupported { redacted: redact(url) })
        }
    }
}

/// The URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// A service's database: a connection pool plus the signal that wakes change-feed watchers after a commit.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    url: DatabaseUrl,
    backend: Backend,
    write_gate: Option<Arc<Mutex<()>>>,
    committed: Arc<watch::Sender<u64>>,
    /// Changes made by other processes, as seen by [`crate::feed::cache::follow_other_writers`].
    others: Arc<std::sync::atomic::AtomicU64>,
    /// The writer of grouped one-statement creates (PostgreSQL), started by the first create.
    group_commit: Arc<std::sync::OnceLock<crate::db::group_commit::GroupCommit>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// The longest one statement may run on PostgreSQL (set on every connection, the group-commit writers' too): a
/// query gone wrong ends with an error instead of holding a connection and its locks — longer than a unary call
/// may take (`net::limits`), so that no request's own work meets it first.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a request waits for a pooled PostgreSQL connection (opening one included) before the database counts
/// as unavailable. sqlx retries a refused connection (and one refused while the server recovers) until this runs
/// out, so while the database is down every request that needs it waits this long: it must stay well below the
/// deadline of a call between services (`net::client::CallSettings`, 2 s by default). At 3 s a caller timed out
/// instead of hearing UNAVAILABLE, and a request that met the database after a dependency's failure (a create's
/// idempotent-replay lookup) outlasted its own caller's deadline.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long start-up keeps trying to reach PostgreSQL (a server still starting or recovering), in attempts of
/// [`POSTGRES_ACQUIRE_TIMEOUT`].
const POSTGRES_CONNECT_PATIENCE: Duration = Duration::from_secs(3);

/// The longest a PostgreSQL connection may sit idle inside a transaction (a task stalled between two statements)
/// before the server ends its session and releases its locks.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

impl Db {
    /// Connects (eagerly: an unreachable database is an error now, not at the first request).
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, Error> {
        if let Some(path) = url.sqlite_path()
            && let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::Unavailable {
                dependency: "database".into(),
                message: format!("cannot create directory {}: {e}", parent.display()),
            })?;
        }
        let mut options = ConnectOptions::new(url.as_str());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(3))
            .acquire_timeout(Duration::from_secs(3))
            .min_connections(0)
            // No ping before each checkout: it doubles the round trips of a one-query request. A connection that
            // died meanwhile fails its query instead, which maps to UNAVAILABLE (retryable) and is dropped.
            .test_before_acquire(false);
        match url.backend() {
            Backend::Postgres => {
                options.connect_timeout(POSTGRES_ACQUIRE_TIMEOUT).acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT);
                options.max_connections(16).map_sqlx_postgres_opts(|o| {
                    o.options([
                        ("statement_timeout", format!("{}ms", STATEMENT_TIMEOUT.as_millis())),
                        (
                            "idle_in_transaction_session_timeout",
                            format!("{}ms", IDLE_IN_TRANSACTION_TIMEOUT.as_millis()),
                        ),
                    ])
                });
            }
            Backend::Sqlite => {
                options.max_connections(8).map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
            }
        }
        // Several processes opening a new SQLite file at once contend for the switch to WAL, which SQLite
        // answers with "database is locked" at once rather than waiting; a few short retries settle it.
        let mut attempt = 0;
        let started = std::time::Instant::now();
        let conn = loop {
            match sea_orm::Database::connect(options.clone()).await {
                Ok(conn) => break conn,
                Err(e) if url.backend() == Backend::Sqlite && attempt < 10 && root_cause(&e).contains("locked") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                // Each attempt waits at most POSTGRES_ACQUIRE_TIMEOUT; start-up is more patient than a request.
                Err(e)
                    if url.backend() == Backend::Postgres
                        && started.elapsed() < POSTGRES_CONNECT_PATIENCE
                        && is_connection_failure(&e) =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(Error::Unavailable {
                        dependency: "database".into(),
                        message: format!("cannot connect to {url}: {}", root_cause(&e)),
                    });
                }
            }
        };
        let backend = url.backend();
        let write_gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            conn,
            url: url.clone(),
            backend,
            write_gate,
            committed: Arc::new(watch::channel(0).0),
            others: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            group_commit: Arc::default(),
        })
    }

    /// Tries to take the lock named `key`, held until the returned guard is dropped or its connection dies.
    /// On PostgreSQL it is a session advisory lock on a connection of its own, so it is shared by every process
    /// on the database; on SQLite (one process per file) it is always granted.
    pub async fn try_lock(&self, key: &str) -> Result<Option<SessionLock>, Error> {
        self.advisory_lock(key, false).await
    }

    /// Takes the lock named `key`, waiting for it (see [`Db::try_lock`]).
    pub async fn lock(&self, key: &str) -> Result<SessionLock, Error> {
        self.advisory_lock(key, true).await?.ok_or_else(|| Error::Internal(format!("the lock {key} was not granted")))
    }

    async fn advisory_lock(&self, key: &str, wait: bool) -> Result<Option<SessionLock>, Error> {
        use sqlx::Connection;
        match self.backend {
            // One process per SQLite file: a lock of this process is the lock.
            Backend::Sqlite => {
                let lock = local_lock(&format!("{}#{key}", self.url.as_str()));
                let guard = if wait { Some(lock.lock_owned().await) } else { lock.try_lock_owned().ok() };
                Ok(guard.map(|guard| SessionLock { conn: None, _local: Some(guard) }))
            }
            Backend::Postgres => {
                let unavailable =
                    |e: sqlx::Error| Error::Unavailable { dependency: "database".into(), message: e.to_string() };
                let mut conn = sqlx::postgres::PgConnection::connect(self.url.as_str()).await.map_err(unavailable)?;
                let sql = if wait {
                    "SELECT pg_advisory_lock(hashtext($1)) IS NOT NULL"
                } else {
                    "SELECT pg_try_advisory_lock(hashtext($1))"
                };
                let granted: bool =
                    sqlx::query_scalar(sql).bind(key).fetch_one(&mut conn).await.map_err(unavailable)?;
                if granted {
                    Ok(Some(SessionLock { conn: Some(conn), _local: None }))
                } else {
                    let _ = conn.close().await;
                    Ok(None)
                }
            }
        }
    }

    /// Applies the service's migrations that have not run yet. Several processes may do it at once (replicas
    /// starting together): they take turns under an advisory lock, and the later ones find nothing to do.
    pub async fn migrate<M: MigratorTrait>(&self) -> Result<(), Error> {
        let _turn = self.lock("liaison.migrate").await?;
        M::up(&self.conn, None).await.map_err(|e| match db_error(e) {
            Error::Internal(message) => Error::Internal(format!("migration failed: {message}")),
            other => other,
        })
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections in the pool, and how many of them are idle.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self.backend {
            Backend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Backend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    /// Whether the database answers now.
    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }

    /// Starts a write transaction. Dropping it without [`WriteTxn::commit`] rolls it back.
    pub async fn begin_write(&self) -> Result<WriteTxn, Error> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let txn = self.conn.begin().await.map_err(db_error)?;
        Ok(WriteTxn { txn: Some(txn), gate, committed: self.committed.clone() })
    }

    /// Tells change-feed watchers that a write committed outside a [`WriteTxn`] (a one-statement create).
    pub fn notify_commit(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A number that grows whenever data may have changed: every commit through this `Db` (counted before
    /// `commit` returns) and every change by another process that [`Db::saw_other_writes`] reports. A value read
    /// before a read of the database and unchanged after it proves the read is still current.
    pub fn write_epoch(&self) -> u64 {
        (*self.committed.borrow()).wrapping_add(self.others.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Records that other processes changed the database (see [`Db::write_epoch`]).
    pub fn saw_other_writes(&self) {
        self.others.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A receiver that changes after every commit made through this `Db` (wakes change-feed watchers).
    pub fn subscribe_commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// The queue that writes one-statement creates together (see [`crate::db::group_commit`]); must be called on a
    /// Tokio runtime, which runs its writer.
    pub(crate) fn group_commit(&self) -> &crate::db::group_commit::GroupCommit {
        self.group_commit
            .get_or_init(|| crate::db::group_commit::GroupCommit::start(&self.conn, self.committed.clone()))
    }

    /// The most creates written together in one statement so far (see [`crate::db::group_commit`]); 0 before the
    /// first create on PostgreSQL.
    pub fn largest_create_group(&self) -> usize {
        self.group_commit.get().map_or(0, crate::db::group_commit::GroupCommit::largest_group)
    }

    /// Closes the pool.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// A lock taken with [`Db::try_lock`] or [`Db::lock`].
pub struct SessionLock {
    conn: Option<sqlx::postgres::PgConnection>,
    _local: Option<OwnedMutexGuard<()>>,
}

/// The process-wide lock named `name`.
fn local_lock(name: &str) -> Arc<Mutex<()>> {
    static LOCKS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, Arc<Mutex<()>>>>> =
        std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    let mut locks = locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    locks.entry(name.to_owned()).or_default().clone()
}

impl SessionLock {
    /// Whether the lock is still held (its connection still answers).
    pub async fn held(&mut self) -> bool {
        use sqlx::Connection;
        match &mut self.conn {
            None => true,
            Some(conn) => conn.ping().await.is_ok(),
        }
    }
}

/// A write transaction; see [`Db::begin_write`].
pub struct WriteTxn {
    /// Open until `commit` or drop.
    txn: Option<DatabaseTransaction>,
    gate: Option<OwnedMutexGuard<()>>,
    committed: Arc<watch::Sender<u64>>,
}

impl WriteTxn {
    pub async fn commit(mut self) -> Result<(), Error> {
        if let Some(txn) = self.txn.take() {
            txn.commit().await.map_err(db_error)?;
            self.committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(())
    }
}

impl Drop for WriteTxn {
    /// A transaction dropped uncommitted (an error on the way) is rolled back *before* the SQLite write gate is
    /// released. Dropped alone, sea-orm only queues the rollback: the next writer, let in by the gate, could
    /// reach SQLite while this connection still held the write lock and fail with "database is locked" (seen
    /// as a rare INTERNAL among racing creates under load).
    fn drop(&mut self) {
        let (Some(txn), Some(gate)) = (self.txn.take(), self.gate.take()) else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = txn.rollback().await;
                    drop(gate);
                });
            }
            Err(_) => drop((txn, gate)),
        }
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;
    #[expect(clippy::expect_used, reason = "only `commit` and `drop` take the transaction, and both consume it")]
    fn deref(&self) -> &DatabaseTransaction {
        self.txn.as_ref().expect("a WriteTxn holds its transaction until commit or drop")
    }
}

/// Serialises, until the end of `txn`, the transactions that take the same `key` (PostgreSQL transaction-level
/// advisory lock; SQLite write transactions of a process are serialised already). For invariants that span
/// rows, such as "no cycle of parent organisations".
pub async fn xact_lock(txn: &impl ConnectionTrait, key: &str) -> Result<(), Error> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        let stmt = crate::db::sql::statement(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext(?))",
            [key.into()],
        );
        txn.execute_raw(stmt).await.map_err(db_error)?;
    }
    Ok(())
}

/// Maps a database failure: lost connections are UNAVAILABLE (retryable), the rest INTERNAL.
pub fn db_error(err: DbErr) -> Error {
    if sqlstate(&err).as_deref() == Some(QUERY_CANCELED) {
        // `statement_timeout` ended it: the database did not answer in time, which the caller may retry.
        return Error::DeadlineExceeded { dependency: "database".into() };
    }
    if is_connection_failure(&err) {
        Error::Unavailable { dependency: "database".into(), message: root_cause(&err) }
    } else {
        // The whole error, with PostgreSQL's DETAIL and the values in some of its messages, only at debug.
        tracing::debug!(error = ?err, "database error in full");
        Error::Internal(format!("database: {}", describe(&err)))
    }
}

/// What a database failure is, without the data it was about, for the error log (which must not collect personal
/// data): PostgreSQL writes values into some messages (`invalid input syntax for type uuid: "…"`, `value "…" is
/// out of range`, raised exceptions), so its refusals are told by SQLSTATE, constraint and table only. SQLite's
/// messages name columns, never values, and stay whole.
fn describe(err: &DbErr) -> String {
    let refusal = match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Database(db) => Some(db),
            _ => None,
        },
        _ => None,
    };
    match refusal {
        Some(db) if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() => {
            let mut out = format!("PostgreSQL refused a statement (SQLSTATE {}", db.code().unwrap_or_default());
            if let Some(constraint) = db.constraint() {
                out.push_str(&format!(", constraint {constraint}"));
            }
            if let Some(table) = db.table() {
                out.push_str(&format!(", table {table}"));
            }
            out.push(')');
            out
        }
        _ => err.to_string(),
    }
}

/// [`db_error`] for an error of a query run with sqlx directly (outside sea-orm).
pub(crate) fn sqlx_error(err: sqlx::Error) -> Error {
    db_error(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
}

/// Whether a unique constraint rejected the statement.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// SQLSTATE of a statement cancelled by `statement_timeout` (or by an operator).
const QUERY_CANCELED: &str = "57014";

/// The SQLSTATE of a database's refusal, if `err` is one.
fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

fn is_connection_failure(err: &DbErr) -> bool {
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => match e.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // admin_shutdown, crash_shutdown, cannot_connect_now, database does not allow connections
            sqlx::Error::Database(db) => {
                matches!(
                    db.code().as_deref(),
                    Some("57P01" | "57P02" | "57P03" | "55000" | "3D000" | "08006" | "08001")
                )
            }
            _ => false,
        },
        _ => matches!(err, DbErr::Conn(_)),
    }
}

fn root_cause(err: &DbErr) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        message = inner.to_string();
        source = inner.source();
    }
    message
}

/// Runs raw SQL that differs between the engines (feed and idempotency tables use engine-specific defaults).
pub async fn execute_script(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Runs `postgres` or `sqlite` — the same schema change in each engine's dialect — as [`execute_script`] does.
pub async fn execute_script_of_engine(conn: &impl ConnectionTrait, postgres: &str, sqlite: &str) -> Result<(), DbErr> {
    let script = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => postgres,
        _ => sqlite,
    };
    execute_script(conn, script).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_sqlite_urls_are_accepted() {
        let pg: DatabaseUrl = "postgres://u:p@localhost:5432/db".parse().expect("pg");
        assert_eq!(pg.backend(), Backend::Postgres);
        let lite: DatabaseUrl = "sqlite://liaison-data/contacts.db".parse().expect("sqlite");
        assert_eq!(lite.as_str(), "sqlite://liaison-data/contacts.db?mode=rwc");
        assert_eq!(lite.sqlite_path(), Some("liaison-data/contacts.db"));
    }

    #[test]
    fn malformed_urls_are_rejected_with_a_reason() {
        assert!("mysql://x/y".parse::<DatabaseUrl>().is_err());
        assert!("postgres://localhost".parse::<DatabaseUrl>().is_err());
        assert!("postgres://localhost:abc/db".parse::<DatabaseUrl>().is_err());
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
        assert!("".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn passwords_never_reach_messages() {
        let url: DatabaseUrl = "postgres://liaison:s3cret@db:5432/contacts".parse().expect("pg");
        assert_eq!(url.to_string(), "postgres://liaison:***@db:5432/contacts");
        let err = "mysql://root:hunter2@x/y".parse::<DatabaseUrl>().expect_err("unsupported");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = "postgres://u:hunter2@db:abc/y".parse::<DatabaseUrl>().expect_err("bad port");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_write_is_rolled_back_before_the_next_writer_starts() {
        use sea_orm::ConnectionTrait;
        let path = std::env::temp_dir().join(format!("liaison-db-{}.db", uuid::Uuid::now_v7()));
        let url: DatabaseUrl = format!("sqlite://{}?mode=rwc", path.display()).parse().expect("url");
        let db = Db::connect(&url).await.expect("connect");
        db.conn().execute_unprepared("CREATE TABLE t (x INTEGER)").await.expect("table");
        for _ in 0..50 {
            let abandoned = db.begin_write().await.expect("begin");
            abandoned.execute_unprepared("INSERT INTO t VALUES (1)").await.expect("insert");
            drop(abandoned);
            let next = db.begin_write().await.expect("begin");
            next.execute_unprepared("INSERT INTO t VALUES (2)").await.expect("the next writer is not locked out");
            next.commit().await.expect("commit");
        }
        let count = |x: i32| {
            let db = db.clone();
            async move {
                let sql = format!("SELECT COUNT(*) AS n FROM t WHERE x = {x}");
                let row =
                    db.conn().query_one_raw(sea_orm::Statement::from_string(db.conn().get_database_backend(), sql));
                row.await.expect("count").expect("a row").try_get::<i64>("", "n").expect("n")
            }
        };
        assert_eq!(count(1).await, 0, "abandoned writes are rolled back");
        assert_eq!(count(2).await, 50);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
