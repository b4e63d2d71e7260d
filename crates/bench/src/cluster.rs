//! The system under test, started from the real `liaison` binary by `liaison_testkit::cluster` — the harness the
//! end-to-end tests start it with too — given the bench's own binary, log directory and patience: on SQLite the
//! all-in-one (one process, four servers, files in the work directory); on PostgreSQL four `liaison serve
//! <service>` processes configured by environment as in a cluster, each on a database of its own that the bench
//! creates and drops. Readiness and cold start are judged by the gRPC health service, as an orchestrator would.
use crate::cli::Engine;
use anyhow::Context;
use liaison_runtime::auth::Role;
use liaison_runtime::auth::keys::{DevKey, MintClaims};
use liaison_runtime::config::ServiceKind;
use liaison_testkit::cluster::{AllInOne, Cluster as Processes, Launcher, Pki, index};
use liaison_testkit::procs::{HealthTls, Logs, Proc, Readiness, free_base_port, retry_on_taken_port};
use sea_orm::sqlx::{self, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a server may take to report SERVING, and how often it is asked meanwhile (fine enough to time a
/// sub-second start).
pub(crate) const READINESS: Readiness = Readiness { timeout: Duration::from_secs(30), poll: Duration::from_millis(5) };
/// How long a graceful stop may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting when a port picked as free was taken meanwhile.
const START_ATTEMPTS: u32 = 3;

/// How the bench starts `bin`: stderr appended to `<dir>/<process>.log`, nothing in the environment but what the
/// topology sets.
fn launcher(bin: &Path, dir: &Path) -> Launcher {
    Launcher {
        logs: Logs::Dir(dir.to_owned()),
        readiness: READINESS,
        attempts: START_ATTEMPTS,
        stop_timeout: STOP_TIMEOUT,
        ..Launcher::new(bin)
    }
}

/// The all-in-one's development signing key, in its data directory: in development mode it verifies the tokens
/// this key signed (and lets calls without one in).
const DEV_KEY_FILE: &str = "dev-signing-key.pem";

/// How long the bench's tokens are valid: longer than any run.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// A bearer token for `bench` with the roles the scenarios need (viewer reads, officer writes), signed by the
/// development key of the all-in-one whose data directory is `data_dir` (which the all-in-one created at start).
fn mint_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(DEV_KEY_FILE);
    let key =
        DevKey::load_or_create(&path).with_context(|| format!("cannot load the signing key {}", path.display()))?;
    let mut claims = MintClaims::new("bench", [Role::Officer, Role::Viewer].into_iter().collect());
    claims.ttl = TOKEN_TTL;
    key.mint(&claims).context("cannot mint a bench token")
}

/// The process name (and log file) of the second all-in-one, with TLS.
const ALL_IN_ONE_TLS: &str = "all-in-one-tls";

/// A second all-in-one, the same binary in the same development mode as the one under test but with TLS on
/// (`--tls-cert-file`, a development PKI made by the binary's `dev-pki`), on ports and SQLite files of its own:
/// the TLS scenarios run against it. A server with TLS speaks nothing else, so the plaintext scenarios and their
/// TLS variants cannot share one process; two processes started the same way, seeded alike and driven one after
/// the other in the same round (the other one idle meanwhile) keep the comparison fair without restarting the
/// system under test between scenarios.
pub(crate) struct TlsAllInOne {
    pub(crate) proc: Proc,
    base_port: u16,
    tls: HealthTls,
    /// A token signed by its development key.
    pub(crate) token: String,
}

impl TlsAllInOne {
    /// Makes a development PKI under `dir/pki` and starts the all-in-one with TLS on SQLite files under
    /// `dir/data-tls`; returns when its four services are SERVING (asked over TLS).
    pub(crate) async fn start(bin: &Path, dir: &Path) -> anyhow::Result<Self> {
        let pki_dir = dir.join("pki");
        std::fs::create_dir_all(&pki_dir).with_context(|| format!("cannot create {}", pki_dir.display()))?;
        let pki = Pki::make(bin, &pki_dir)?;
        let tls = pki.client_tls()?;
        let data_dir = dir.join("data-tls");
        let launcher = launcher(bin, dir);
        let proc = retry_on_taken_port(START_ATTEMPTS, async || {
            let base_port = free_base_port()?;
            let mut command = launcher.all_in_one(&data_dir, base_port);
            // Its certificate names localhost (which its services dial each other by) and 127.0.0.1.
            command
                .arg("--tls-cert-file")
                .arg(pki.dir.join("contacts.pem"))
                .arg("--tls-key-file")
                .arg(pki.dir.join("contacts-key.pem"))
                .arg("--tls-ca-file")
                .arg(pki.dir.join("ca.pem"));
            let mut proc = Proc::start(ALL_IN_ONE_TLS, command, &launcher.logs)?;
            for (port, kind) in (base_port..).zip(ServiceKind::ALL) {
                proc.serving_over(&READINESS, port, kind.grpc_service(), Some(&tls)).await?;
            }
            Ok((proc, base_port))
        })
        .await?;
        let (proc, base_port) = proc;
        let token = mint_token(&data_dir)?;
        Ok(Self { proc, base_port, tls, token })
    }

    /// The port of `kind`.
    pub(crate) fn port(&self, kind: ServiceKind) -> u16 {
        self.base_port + u16::try_from(index(kind)).unwrap_or(0)
    }

    /// How a client reaches it: over TLS, trusting the PKI's CA.
    pub(crate) fn tls(&self) -> &HealthTls {
        &self.tls
    }

    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        self.proc.stop(STOP_TIMEOUT).await?;
        Ok(())
    }
}

/// A PostgreSQL server on which the bench creates and drops databases of its own.
#[derive(Debug, Clone)]
pub(crate) struct Postgres {
    admin_url: String,
}

impl Postgres {
    pub(crate) fn new(admin_url: &str) -> Self {
        Self { admin_url: admin_url.to_owned() }
    }

    /// Whether the server answers within a second.
    pub(crate) async fn reachable(&self) -> bool {
        let connect = sqlx::postgres::PgConnection::connect(&self.admin_url);
        matches!(tokio::time::timeout(Duration::from_secs(1), connect).await, Ok(Ok(_)))
    }

    /// The URL of database `name` on this server.
    pub(crate) fn url_of(&self, name: &str) -> String {
        database_url(&self.admin_url, name)
    }

    /// Runs `sql` (built here from the bench's own database names, checked by [`check_name`]).
    async fn execute(&self, sql: String) -> anyhow::Result<()> {
        let mut conn = sqlx::postgres::PgConnection::connect(&self.admin_url)
            .await
            .with_context(|| format!("cannot connect to {}", liaison_runtime::db::redact(&self.admin_url)))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
            .with_context(|| format!("PostgreSQL refused `{sql}`"))?;
        let _ = conn.close().await;
        Ok(())
    }

    /// Creates the (empty) database `name` and returns its URL.
    pub(crate) async fn create(&self, name: &str) -> anyhow::Result<String> {
        check_name(name)?;
        self.execute(format!("CREATE DATABASE {name}")).await?;
        Ok(self.url_of(name))
    }

    /// Drops the database `name`, disconnecting whoever uses it.
    pub(crate) async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        check_name(name)?;
        self.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
    }
}

/// A database name that needs no quoting: lower-case letters, digits and `_`, not starting with a digit.
fn check_name(name: &str) -> anyhow::Result<()> {
    let plain = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && name.len() <= 63;
    anyhow::ensure!(plain, "'{name}' is not a plain PostgreSQL database name");
    Ok(())
}

/// `postgres://user@host:port/other?x` with its database replaced by `name` (query kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// The topology that runs.
enum Topology {
    AllInOne(AllInOne),
    Processes(Processes),
}

/// The running system under test.
pub(crate) struct Cluster {
    pub(crate) engine: Engine,
    topology: Topology,
    postgres: Option<(Postgres, [String; 4])>,
    /// From starting the process(es) to all four services SERVING.
    pub(crate) cold_start: Duration,
}

impl Cluster {
    /// The all-in-one on SQLite files under `dir/data`.
    pub(crate) async fn start_sqlite(bin: &Path, dir: &Path) -> anyhow::Result<Self> {
        let all_in_one = AllInOne::launch(&launcher(bin, dir), &dir.join("data")).await?;
        Ok(Self {
            engine: Engine::Sqlite,
            cold_start: all_in_one.cold_start,
            topology: Topology::AllInOne(all_in_one),
            postgres: None,
        })
    }

    /// Four processes, each on a new database `<prefix>_<service>` of `postgres`.
    pub(crate) async fn start_postgres(
        bin: &Path,
        dir: &Path,
        postgres: &Postgres,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let names = ServiceKind::ALL.map(|kind| format!("{prefix}_{}", kind.name()));
        let mut urls = Vec::new();
        for name in &names {
            urls.push(postgres.create(name).await?);
        }
        let urls: [String; 4] = urls.try_into().map_err(|_| anyhow::anyhow!("four databases expected"))?;
        match Processes::launch(&launcher(bin, dir), &urls).await {
            Ok(processes) => Ok(Self {
                engine: Engine::Postgres,
                cold_start: processes.cold_start,
                topology: Topology::Processes(processes),
                postgres: Some((postgres.clone(), names)),
            }),
            Err(e) => {
                for name in &names {
                    postgres.drop_database(name).await.ok();
                }
                Err(e.into())
            }
        }
    }

    /// Gathers the planner's statistics of every database after seeding, as autovacuum would in production (the
    /// bench's server may run without it, and a plan made without statistics is a guess). Nothing on SQLite.
    pub(crate) async fn analyze(&self) -> anyhow::Result<()> {
        let Some((postgres, names)) = &self.postgres else { return Ok(()) };
        for name in names {
            let url = postgres.url_of(name);
            let mut conn = sqlx::postgres::PgConnection::connect(&url)
                .await
                .with_context(|| format!("cannot connect to {}", liaison_runtime::db::redact(&url)))?;
            sqlx::raw_sql("ANALYZE").execute(&mut conn).await.with_context(|| format!("ANALYZE of {name}"))?;
            let _ = conn.close().await;
        }
        Ok(())
    }

    /// A token the system under test verifies (its development key's), for the authenticated scenarios; `None`
    /// where it does not verify tokens: the four `liaison serve` processes run in development mode without a key
    /// source, which lets every call in and never looks at a token.
    pub(crate) fn token(&self) -> anyhow::Result<Option<String>> {
        match &self.topology {
            Topology::AllInOne(all_in_one) => mint_token(&all_in_one.data_dir).map(Some),
            Topology::Processes(_) => Ok(None),
        }
    }

    /// `http://127.0.0.1:<port of kind>`.
    pub(crate) fn url(&self, kind: ServiceKind) -> String {
        match &self.topology {
            Topology::AllInOne(all_in_one) => all_in_one.url(kind),
            Topology::Processes(processes) => processes.url(kind),
        }
    }

    pub(crate) fn topology(&self) -> &'static str {
        match self.topology {
            Topology::AllInOne(_) => "the all-in-one: one process, four servers",
            Topology::Processes(_) => "four `liaison serve` processes",
        }
    }

    fn procs(&self) -> Vec<&Proc> {
        match &self.topology {
            Topology::AllInOne(all_in_one) => vec![&all_in_one.proc],
            Topology::Processes(processes) => processes.procs.iter().collect(),
        }
    }

    /// Names and pids of the server processes.
    pub(crate) fn processes(&self) -> Vec<(String, u32)> {
        self.procs().into_iter().map(|p| (p.name().to_owned(), p.pid())).collect()
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.procs().into_iter().map(Proc::pid).collect()
    }

    /// Fails with the end of its log if a server process has ended.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        match &mut self.topology {
            Topology::AllInOne(all_in_one) => all_in_one.proc.check_alive()?,
            Topology::Processes(processes) => {
                for proc in &mut processes.procs {
                    proc.check_alive()?;
                }
            }
        }
        Ok(())
    }

    /// Stops reporting, empties its read model, and starts it again; returns when the new reporting process was
    /// started (it is not waited for: the caller times its catching up). On SQLite the all-in-one restarts as a
    /// whole (the other services keep their data); its reporting file is removed.
    pub(crate) async fn restart_reporting_empty(&mut self) -> anyhow::Result<Instant> {
        match &mut self.topology {
            Topology::AllInOne(all_in_one) => {
                all_in_one.stop().await?;
                for suffix in ["", "-wal", "-shm"] {
                    let file = all_in_one.data_dir.join(format!("reporting.db{suffix}"));
                    if file.exists() {
                        std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
                    }
                }
                let started = Instant::now();
                all_in_one.respawn()?;
                Ok(started)
            }
            Topology::Processes(processes) => {
                processes.stop_service(ServiceKind::Reporting).await?;
                let (postgres, names) = self.postgres.as_ref().context("no PostgreSQL databases")?;
                let name = &names[index(ServiceKind::Reporting)];
                postgres.drop_database(name).await?;
                postgres.create(name).await?;
                let started = Instant::now();
                processes.respawn(ServiceKind::Reporting)?;
                Ok(started)
            }
        }
    }

    /// Waits until the reporting server is SERVING again after [`Cluster::restart_reporting_empty`].
    pub(crate) async fn wait_reporting(&mut self) -> anyhow::Result<()> {
        match &mut self.topology {
            Topology::AllInOne(all_in_one) => all_in_one.wait_serving(ServiceKind::Reporting).await?,
            Topology::Processes(processes) => processes.wait_serving(ServiceKind::Reporting).await?,
        }
        Ok(())
    }

    /// Stops every process (dependants first) and drops the PostgreSQL databases.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let mut first_error = match &mut self.topology {
            Topology::AllInOne(all_in_one) => all_in_one.stop().await.err(),
            Topology::Processes(processes) => processes.stop().await.err(),
        }
        .map(anyhow::Error::from);
        if let Some((postgres, names)) = self.postgres.take() {
            for name in &names {
                if let Err(e) = postgres.drop_database(name).await {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_replaces_the_admin_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "b_x"),
            "postgres://postgres@127.0.0.1:5432/b_x"
        );
        assert_eq!(
            database_url("postgres://u:p@h:5/postgres?sslmode=disable", "b"),
            "postgres://u:p@h:5/b?sslmode=disable"
        );
        assert_eq!(database_url("postgres://u@h:5", "b"), "postgres://u@h:5/b");
    }

    #[test]
    fn only_plain_database_names_reach_sql() {
        assert!(check_name("liaison_bench_12x0a1b_contacts").is_ok());
        assert!(check_name("x; DROP DATABASE postgres").is_err());
        assert!(check_name("Upper").is_err());
        assert!(check_name("1abc").is_err());
    }
}
