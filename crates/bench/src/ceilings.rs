//! The ceilings the scenarios are divided by, measured in the same run and driven by the same load driver:
//! the echo server (this binary's `echo-server`, a child process on the same server stack), and the database's
//! own rate for the single-row insert and the primary-key read of a contact-shaped row, through sqlx (the
//! version sea-orm uses) with the pool size and durability settings of `liaison_runtime::db`.
use crate::cluster::READINESS;
use crate::load::{Call, Workload};
use anyhow::{Context, bail};
use liaison_testkit::procs::{Logs, Proc, clean_command};
use sea_orm::sqlx::{self, ConnectOptions as _};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The echo server process.
pub(crate) struct EchoServer {
    pub(crate) proc: Proc,
    pub(crate) url: String,
}

impl EchoServer {
    /// Starts `liaison-bench echo-server` (this very executable), its log `echo.log` in `dir`, and waits until it
    /// is SERVING.
    pub(crate) async fn start(dir: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot tell where this executable is")?;
        let mut command = clean_command(&exe);
        command.args(["echo-server", "--listen", "127.0.0.1:0"]).stdout(std::process::Stdio::piped());
        let mut proc = Proc::start("echo", command, &Logs::Dir(dir.to_owned()))?;
        let stdout = proc.child_mut().stdout.take().context("the echo server's stdout is piped")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(Duration::from_secs(30), line).await {
            Ok(Ok(Ok(line))) if !line.trim().is_empty() => line,
            _ => {
                // It may be on its way out: give it a moment, to report its exit status with its log.
                proc.wait_exit(Duration::from_secs(1)).await?;
                proc.check_alive()?;
                bail!("the echo server did not say where it listens; {}", proc.diagnostics())
            }
        };
        let addr: std::net::SocketAddr = line
            .trim()
            .parse()
            .with_context(|| format!("the echo server printed '{}', not an address", line.trim()))?;
        proc.serving(&READINESS, addr.port(), crate::echo::SERVICE_NAME).await?;
        Ok(Self { proc, url: format!("http://{addr}") })
    }
}

/// The same sizes as `liaison_runtime::db::Db::connect`.
const POSTGRES_POOL: u32 = 16;
const SQLITE_POOL: u32 = 8;

/// A contact-shaped table (the columns of a CreateContact that matter for the row's size), its single-row
/// insert (committed on its own) and its primary-key read, per engine. sqlx takes only literal SQL.
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_contacts (id TEXT PRIMARY KEY NOT NULL, \
    display_name TEXT NOT NULL, given_name TEXT NOT NULL, family_name TEXT NOT NULL, email TEXT NOT NULL, \
    time_zone TEXT NOT NULL, notes TEXT NOT NULL, emails TEXT NOT NULL, search_text TEXT NOT NULL, \
    revision BIGINT NOT NULL, create_time TEXT NOT NULL, update_time TEXT NOT NULL)";
const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench_contacts (id TEXT PRIMARY KEY NOT NULL, \
    display_name TEXT NOT NULL, given_name TEXT NOT NULL, family_name TEXT NOT NULL, email TEXT NOT NULL, \
    time_zone TEXT NOT NULL, notes TEXT NOT NULL, emails TEXT NOT NULL, search_text TEXT NOT NULL, \
    revision BIGINT NOT NULL, create_time TIMESTAMPTZ NOT NULL, update_time TIMESTAMPTZ NOT NULL)";
const SQLITE_INSERT: &str = "INSERT INTO bench_contacts (id, display_name, given_name, family_name, email, \
    time_zone, notes, emails, search_text, revision, create_time, update_time) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";
const POSTGRES_INSERT: &str = "INSERT INTO bench_contacts (id, display_name, given_name, family_name, email, \
    time_zone, notes, emails, search_text, revision, create_time, update_time) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";
const SQLITE_READ: &str = "SELECT * FROM bench_contacts WHERE id = ?";
const POSTGRES_READ: &str = "SELECT * FROM bench_contacts WHERE id = $1";

/// A database for the ceilings, connected as the services connect to theirs.
#[derive(Clone)]
pub(crate) enum CeilingDb {
    /// With the services' write gate: one writer at a time per process, as SQLite allows.
    Sqlite(sqlx::SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(sqlx::PgPool),
}

impl CeilingDb {
    /// A SQLite file at `path`, with the services' pragmas (WAL, synchronous=NORMAL, busy timeout, foreign keys).
    pub(crate) async fn sqlite(path: &Path) -> anyhow::Result<Self> {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .disable_statement_logging();
        let pool = sqlx::pool::PoolOptions::new()
            .max_connections(SQLITE_POOL)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        sqlx::raw_sql(SQLITE_TABLE).execute(&pool).await.context("cannot create the ceiling table")?;
        Ok(Self::Sqlite(pool, Arc::new(tokio::sync::Mutex::new(()))))
    }

    /// A PostgreSQL database at `url` (the server's durability settings are the services').
    pub(crate) async fn postgres(url: &str) -> anyhow::Result<Self> {
        let options: sqlx::postgres::PgConnectOptions = url.parse().context("invalid PostgreSQL URL")?;
        let pool = sqlx::pool::PoolOptions::new()
            .max_connections(POSTGRES_POOL)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options.disable_statement_logging())
            .await
            .context("cannot connect to the ceiling database")?;
        sqlx::raw_sql(POSTGRES_TABLE).execute(&pool).await.context("cannot create the ceiling table")?;
        Ok(Self::Postgres(pool))
    }

    /// Inserts one contact-shaped row, committed on its own.
    pub(crate) async fn insert(&self, tag: &str, seq: u64) -> Result<String, sqlx::Error> {
        let contact = crate::scenarios::new_contact(tag, seq);
        let id = uuid::Uuid::now_v7().to_string();
        let emails = format!(r#"[{{"address":"{}","type":1,"primary":true}}]"#, contact.email);
        let search = contact.display_name.to_lowercase();
        macro_rules! bound {
            ($sql:expr) => {
                sqlx::query($sql)
                    .bind(&id)
                    .bind(&contact.display_name)
                    .bind(&contact.given_name)
                    .bind(&contact.family_name)
                    .bind(&contact.email)
                    .bind(&contact.time_zone)
                    .bind(&contact.notes)
                    .bind(&emails)
                    .bind(&search)
            };
        }
        match self {
            Self::Sqlite(pool, gate) => {
                let _turn = gate.lock().await;
                bound!(SQLITE_INSERT).execute(pool).await?;
            }
            Self::Postgres(pool) => {
                bound!(POSTGRES_INSERT).execute(pool).await?;
            }
        }
        Ok(id)
    }

    /// Reads one row by primary key; whether it was there.
    pub(crate) async fn read(&self, id: &str) -> Result<bool, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool, _) => sqlx::query(SQLITE_READ).bind(id).fetch_optional(pool).await?.is_some(),
            Self::Postgres(pool) => sqlx::query(POSTGRES_READ).bind(id).fetch_optional(pool).await?.is_some(),
        })
    }

    pub(crate) async fn close(self) {
        match self {
            Self::Sqlite(pool, _) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Single-row inserts, as a workload.
    pub(crate) fn insert_workload(&self, tag: &str) -> Workload {
        let db = self.clone();
        let tag: Arc<str> = tag.into();
        Arc::new(move |_worker, seq| {
            let db = db.clone();
            let tag = tag.clone();
            call(async move { db.insert(&tag, seq).await.map(|_| 1).map_err(status) })
        })
    }

    /// Primary-key reads of `ids`, as a workload.
    pub(crate) fn read_workload(&self, ids: Arc<Vec<String>>) -> Workload {
        let db = self.clone();
        Arc::new(move |_worker, seq| {
            let db = db.clone();
            let id = ids[crate::scenarios::spread(seq, ids.len())].clone();
            call(async move { db.read(&id).await.map(u64::from).map_err(status) })
        })
    }
}

/// A database failure as the status a service would answer (pool exhausted or connection lost: UNAVAILABLE).
fn status(error: sqlx::Error) -> tonic::Status {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            tonic::Status::unavailable(error.to_string())
        }
        other => tonic::Status::internal(other.to_string()),
    }
}

fn call(future: impl Future<Output = Result<u64, tonic::Status>> + Send + 'static) -> Call {
    Box::pin(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sqlite_ceiling_writes_and_reads_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = CeilingDb::sqlite(&dir.path().join("ceiling.db")).await.expect("open");
        let id = db.insert("t", 1).await.expect("insert");
        assert!(db.read(&id).await.expect("read"));
        assert!(!db.read("nobody").await.expect("read"));
        db.close().await;
    }
}
