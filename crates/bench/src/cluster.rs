//! The system under test, started from the real `liaison` binary: on SQLite the all-in-one (one process, four
//! servers, files in a temporary directory); on PostgreSQL four `liaison serve <service>` processes configured by
//! environment as in a cluster, each on a database of its own that the bench creates and drops. Readiness and
//! cold start are judged by the gRPC health service, as an orchestrator would.
use crate::cli::Engine;
use crate::procs::{self, Proc, clean_command};
use anyhow::{Context, bail};
use liaison_runtime::config::ServiceKind;
use sea_orm::sqlx::{self, Connection};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a server may take to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often readiness is asked while waiting (fine enough to time a sub-second start).
const READY_POLL: Duration = Duration::from_millis(5);
/// How long a graceful stop may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting when a port picked as free was taken meanwhile.
const START_ATTEMPTS: u32 = 3;

/// Waits until the server on `port` reports `service` SERVING; fails if `proc` exits first.
pub(crate) async fn wait_serving(proc: &mut Proc, port: u16, service: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let url = format!("http://127.0.0.1:{port}");
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .with_context(|| format!("invalid URL {url}"))?
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(2));
    let mut last = String::from("not asked yet");
    while Instant::now() < deadline {
        if let Some(status) = proc.exited()? {
            return Err(proc.died(status));
        }
        match endpoint.connect().await {
            Err(e) => last = format!("cannot connect to {url}: {e}"),
            Ok(channel) => {
                let mut health = HealthClient::new(channel);
                while Instant::now() < deadline {
                    match health.check(HealthCheckRequest { service: service.to_owned() }).await {
                        Ok(response) if response.get_ref().status() == ServingStatus::Serving => return Ok(()),
                        Ok(response) => {
                            last = format!("'{service}' reports {}", response.get_ref().status().as_str_name())
                        }
                        Err(status) => last = format!("health check of '{service}' failed: {status}"),
                    }
                    if let Some(status) = proc.exited()? {
                        return Err(proc.died(status));
                    }
                    tokio::time::sleep(READY_POLL).await;
                }
            }
        }
        tokio::time::sleep(READY_POLL).await;
    }
    bail!("{} was not SERVING within {READY_TIMEOUT:?}: {last}; the end of its log:\n{}", proc.name(), proc.log_tail())
}

/// Whether a start failed because a port was taken (worth another try on other ports).
fn port_taken(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("already in use")
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

/// The running system under test.
pub(crate) struct Cluster {
    pub(crate) engine: Engine,
    /// SQLite: the all-in-one; PostgreSQL: contacts, scheduling, mediation, reporting.
    procs: Vec<Proc>,
    /// Ports of contacts, scheduling, mediation, reporting.
    ports: [u16; 4],
    bin: PathBuf,
    /// Logs, and the SQLite files.
    dir: PathBuf,
    postgres: Option<(Postgres, [String; 4])>,
    /// From starting the process(es) to all four services SERVING.
    pub(crate) cold_start: Duration,
}

impl Cluster {
    /// The all-in-one on SQLite files under `dir`.
    pub(crate) async fn start_sqlite(bin: &Path, dir: &Path) -> anyhow::Result<Self> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let base = procs::free_base_port()?;
            let ports = [base, base + 1, base + 2, base + 3];
            let started = Instant::now();
            match spawn_all_in_one(bin, dir, base).await {
                Ok(proc) => {
                    return Ok(Self {
                        engine: Engine::Sqlite,
                        procs: vec![proc],
                        ports,
                        bin: bin.to_owned(),
                        dir: dir.to_owned(),
                        postgres: None,
                        cold_start: started.elapsed(),
                    });
                }
                Err(e) if port_taken(&e) && attempt < START_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Four processes, each on a new database `<prefix>_<service>` of `postgres`.
    pub(crate) async fn start_postgres(
        bin: &Path,
        dir: &Path,
        postgres: &Postgres,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let names = ServiceKind::ALL.map(|kind| format!("{prefix}_{}", kind.name()));
        for name in &names {
            postgres.create(name).await?;
        }
        let mut cluster = Self {
            engine: Engine::Postgres,
            procs: Vec::new(),
            ports: [0; 4],
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            postgres: Some((postgres.clone(), names)),
            cold_start: Duration::ZERO,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.procs.clear();
            for port in &mut cluster.ports {
                *port = procs::free_port()?;
            }
            let started = Instant::now();
            let mut outcome = Ok(());
            for kind in ServiceKind::ALL {
                match cluster.spawn_service(kind).await {
                    Ok(proc) => cluster.procs.push(proc),
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            match outcome {
                Ok(()) => {
                    cluster.cold_start = started.elapsed();
                    return Ok(cluster);
                }
                Err(e) if port_taken(&e) && attempt < START_ATTEMPTS => continue,
                Err(e) => {
                    cluster.stop().await.ok();
                    return Err(e);
                }
            }
        }
    }

    /// `liaison serve <kind>` on its port and database, told where the services it calls are; SERVING.
    async fn spawn_service(&self, kind: ServiceKind) -> anyhow::Result<Proc> {
        let Some((postgres, names)) = &self.postgres else { bail!("only the PostgreSQL cluster runs services alone") };
        let index = service_index(kind);
        let mut command = clean_command(&self.bin);
        command
            .args(["serve", kind.name()])
            .env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{}", self.ports[index]))
            .env("DATABASE_URL", postgres.url_of(&names[index]))
            .stdout(std::process::Stdio::null());
        for peer in kind.dependencies() {
            let variable = format!("LIAISON_{}_ADDR", peer.name().to_uppercase());
            command.env(variable, self.url(*peer));
        }
        let log = self.dir.join(format!("{}.log", kind.name()));
        let mut proc = Proc::spawn(kind.name(), command, &log)?;
        wait_serving(&mut proc, self.ports[index], kind.grpc_service()).await?;
        Ok(proc)
    }

    /// `http://127.0.0.1:<port of kind>`.
    pub(crate) fn url(&self, kind: ServiceKind) -> String {
        format!("http://127.0.0.1:{}", self.ports[service_index(kind)])
    }

    pub(crate) fn topology(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "the all-in-one: one process, four servers",
            Engine::Postgres => "four `liaison serve` processes",
        }
    }

    /// Names and pids of the server processes.
    pub(crate) fn processes(&self) -> Vec<(String, u32)> {
        self.procs.iter().map(|p| (p.name().to_owned(), p.pid())).collect()
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(Proc::pid).collect()
    }

    /// Fails with the end of its log if a server process has ended.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        for proc in &mut self.procs {
            if let Some(status) = proc.exited()? {
                return Err(proc.died(status));
            }
        }
        Ok(())
    }

    /// Stops reporting, empties its read model, and starts it again; returns when the new reporting process was
    /// started (it is not waited for: the caller times its catching up). On SQLite the all-in-one restarts as a
    /// whole (the other services keep their data); its reporting file is removed.
    pub(crate) async fn restart_reporting_empty(&mut self) -> anyhow::Result<Instant> {
        match self.engine {
            Engine::Sqlite => {
                if let Some(proc) = self.procs.pop() {
                    proc.stop(STOP_TIMEOUT).await?;
                }
                let data = self.dir.join("data");
                for suffix in ["", "-wal", "-shm"] {
                    let file = data.join(format!("reporting.db{suffix}"));
                    if file.exists() {
                        std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
                    }
                }
                let started = Instant::now();
                let proc = Proc::spawn(
                    "all-in-one",
                    all_in_one_command(&self.bin, &data, self.ports[0]),
                    &self.log("all-in-one"),
                )?;
                self.procs.push(proc);
                Ok(started)
            }
            Engine::Postgres => {
                let index = service_index(ServiceKind::Reporting);
                if self.procs.len() > index {
                    self.procs.remove(index).stop(STOP_TIMEOUT).await?;
                }
                let Some((postgres, names)) = &self.postgres else { bail!("no PostgreSQL databases") };
                postgres.drop_database(&names[index]).await?;
                postgres.create(&names[index]).await?;
                let started = Instant::now();
                let mut command = clean_command(&self.bin);
                command
                    .args(["serve", "reporting"])
                    .env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{}", self.ports[index]))
                    .env("DATABASE_URL", postgres.url_of(&names[index]))
                    .stdout(std::process::Stdio::null());
                for peer in ServiceKind::Reporting.dependencies() {
                    command.env(format!("LIAISON_{}_ADDR", peer.name().to_uppercase()), self.url(*peer));
                }
                self.procs.push(Proc::spawn("reporting", command, &self.log("reporting"))?);
                Ok(started)
            }
        }
    }

    /// Waits until the reporting server is SERVING again after [`Cluster::restart_reporting_empty`].
    pub(crate) async fn wait_reporting(&mut self) -> anyhow::Result<()> {
        let port = self.ports[service_index(ServiceKind::Reporting)];
        let proc = self.procs.last_mut().context("no reporting process")?;
        wait_serving(proc, port, ServiceKind::Reporting.grpc_service()).await
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Stops every process (dependants first) and drops the PostgreSQL databases.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(proc) = self.procs.pop() {
            if let Err(e) = proc.stop(STOP_TIMEOUT).await {
                first_error.get_or_insert(e);
            }
        }
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

fn service_index(kind: ServiceKind) -> usize {
    ServiceKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

fn all_in_one_command(bin: &Path, data: &Path, base_port: u16) -> std::process::Command {
    let mut command = clean_command(bin);
    command
        .arg("--data-dir")
        .arg(data)
        .arg("--base-port")
        .arg(base_port.to_string())
        .stdout(std::process::Stdio::null());
    command
}

/// Starts the all-in-one with its data under `dir/data` and waits until its four services are SERVING.
async fn spawn_all_in_one(bin: &Path, dir: &Path, base_port: u16) -> anyhow::Result<Proc> {
    let mut proc =
        Proc::spawn("all-in-one", all_in_one_command(bin, &dir.join("data"), base_port), &dir.join("all-in-one.log"))?;
    for (port, kind) in (base_port..).zip(ServiceKind::ALL) {
        wait_serving(&mut proc, port, kind.grpc_service()).await?;
    }
    Ok(proc)
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

    #[test]
    fn port_conflicts_are_told_apart_from_other_failures() {
        assert!(port_taken(&anyhow::anyhow!("contacts: cannot listen on 127.0.0.1:5: the address is already in use")));
        assert!(!port_taken(&anyhow::anyhow!("database unreachable")));
    }
}
