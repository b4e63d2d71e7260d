//! A PostgreSQL server of the test's own, to crash and restart: Debian's binaries (the highest version under
//! `/usr/lib/postgresql/*/bin`, or the directory `LIAISON_PG_BIN` names), a cluster made by `initdb` in a
//! temporary directory, the server on a free port of 127.0.0.1. The test kills it with SIGKILL, stops it, and
//! starts it again on the same port and data (after a kill, PostgreSQL recovers from its WAL as after a crash);
//! dropping it stops it at once and removes the directory.
//!
//! Unlike `LIAISON_TEST_POSTGRES_URL`'s shared server, it is one test's alone, so that test may break it.
//!
//! Two choices that differ from a shell session's `pg_ctl start`:
//!
//! - The postmaster is this process's own child (`postgres -D ...`, not `pg_ctl start`, which leaves it to
//!   init). A killed server's postmaster must be reaped before it can be started again — its PID in
//!   `postmaster.pid` must be gone, or the new one refuses to start ("lock file already exists") — and an init
//!   that does not reap orphans (a container's, often) would keep it a zombie forever. A kill takes its
//!   backends with it, as a crash of the machine would: each calls `setsid()`, so a process group would not reach
//!   them, and a backend left running keeps the old shared memory attached, which makes a restart refuse.
//! - `initdb` refuses to run as root. As root, every binary runs as the `postgres` OS user (Debian's package
//!   creates it), set on the command itself (`CommandExt::uid`/`gid`: no `runuser` or `su` in between, which
//!   would stand as the postmaster's parent), and the temporary directory is given to that user. Otherwise they
//!   run as the caller.
//!
//! A failing set-up panics with its cause and the end of the server's log (test support).
use crate::procs::{self, Logs, Proc};
use sea_orm::{ConnectionTrait, Database};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binaries this module runs.
const BINARIES: [&str; 4] = ["initdb", "postgres", "pg_ctl", "pg_isready"];

/// How long a start (crash recovery included), a stop or a kill may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// How many free ports a first start tries, when the one picked is taken meanwhile.
const PORT_ATTEMPTS: u32 = 5;

/// Whether PostgreSQL's binaries are there (`LIAISON_PG_BIN`, or Debian's under `/usr/lib/postgresql`).
pub fn available() -> bool {
    bin_dir().is_some_and(|dir| BINARIES.iter().all(|binary| dir.join(binary).is_file()))
}

/// Whether a test of the own PostgreSQL can run: `false` (the test skips) when the binaries are missing, except
/// under `CI=true`, where their absence panics — a failure, not a skip (as [`crate::postgres_admin_url`]).
pub fn require() -> bool {
    if available() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but PostgreSQL's binaries ({}) are not in {}: the tests of the own PostgreSQL cannot be skipped \
             in CI",
            BINARIES.join(", "),
            bin_dir()
                .map_or_else(|| "/usr/lib/postgresql/*/bin (or LIAISON_PG_BIN)".into(), |d| d.display().to_string())
        );
    }
    false
}

/// `LIAISON_PG_BIN` if set, else the highest version's `bin` under `/usr/lib/postgresql`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LIAISON_PG_BIN")
        && !dir.is_empty()
    {
        return Some(dir.into());
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            // "15", "9.6": compared as numbers, so that 10 comes after 9.6.
            let version: Option<Vec<u32>> =
                entry.file_name().to_str()?.split('.').map(|part| part.parse().ok()).collect();
            Some((version?, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("postgres").is_file())
        .max()
        .map(|(_, bin)| bin)
}

/// The user and group the binaries run as, when this process is root (`initdb` refuses to run as root).
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// `id <args>`, a number.
fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id").args(args).output().map_err(|e| format!("cannot run `id`: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("`id {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    text.trim().parse().map_err(|e| format!("`id {}` printed {text:?}: {e}", args.join(" ")))
}

/// `None` when not root; the `postgres` user when root.
fn run_as() -> Option<RunAs> {
    let uid = id(&["-u"]).unwrap_or_else(|e| panic!("own PostgreSQL: who runs the tests? {e}"));
    if uid != 0 {
        return None;
    }
    let postgres = |flag| {
        id(&[flag, "postgres"]).unwrap_or_else(|e| {
            panic!("own PostgreSQL: running as root, which initdb refuses, and no `postgres` user to run it as: {e}")
        })
    };
    Some(RunAs { uid: postgres("-u"), gid: postgres("-g") })
}

/// A PostgreSQL server of one test's own; stopped at once (`pg_ctl stop -m immediate`) and removed when dropped.
pub struct PostgresServer {
    // Dropped in this order: the server's process (which prints the end of its log if the test is failing)
    // before the directory that holds that log.
    postmaster: Option<Proc>,
    bin: PathBuf,
    run_as: Option<RunAs>,
    port: u16,
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Makes a cluster (`initdb -A trust -U postgres --no-sync -E UTF8 --locale=C`) in a temporary directory and
    /// starts it on a free port of 127.0.0.1; panics if PostgreSQL is not [`available`] or does not start.
    pub async fn new() -> Self {
        let bin = bin_dir()
            .filter(|_| available())
            .unwrap_or_else(|| panic!("own PostgreSQL: its binaries ({}) are not found", BINARIES.join(", ")));
        let run_as = run_as();
        let dir =
            tempfile::Builder::new().prefix("liaison-pg-").tempdir().expect("own PostgreSQL: a temporary directory");
        std::fs::create_dir(dir.path().join("sockets")).expect("own PostgreSQL: the sockets' directory");
        if let Some(RunAs { uid, gid }) = run_as {
            for path in [dir.path().to_owned(), dir.path().join("sockets")] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("own PostgreSQL: cannot give {} to postgres: {e}", path.display()));
            }
        }
        let mut server = Self { postmaster: None, bin, run_as, port: 0, dir };
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(server.data_dir());
        initdb.args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
        server.run(initdb).await;
        let mut attempt = 1;
        loop {
            server.port = procs::free_port().unwrap_or_else(|e| panic!("own PostgreSQL: {e}"));
            match server.spawn().await {
                Ok(()) => return server,
                Err(e) if e.port_taken() && attempt < PORT_ATTEMPTS => attempt += 1,
                Err(e) => panic!("own PostgreSQL did not start: {e}"),
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@{}/{name}", self.addr())
    }

    /// The URL of database `name` reached through `addr` instead (a [`super::proxy::FaultProxy`] in front).
    pub fn url_via(addr: SocketAddr, name: &str) -> String {
        format!("postgres://postgres@{addr}/{name}")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// 127.0.0.1 and the port, the same across restarts (a proxy's upstream).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything the server has logged, across its restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        self.postmaster.is_some()
    }

    /// Creates database `name`; its URL.
    pub async fn create_database(&self, name: &str) -> String {
        let connection = Database::connect(self.url())
            .await
            .unwrap_or_else(|e| panic!("own PostgreSQL: cannot connect to create database {name}: {e}"));
        let quoted = name.replace('"', "\"\"");
        connection
            .execute_unprepared(&format!("CREATE DATABASE \"{quoted}\""))
            .await
            .unwrap_or_else(|e| panic!("own PostgreSQL: cannot create database {name}: {e}"));
        let _ = connection.close().await;
        self.url_of(name)
    }

    /// Kills the server as a crash would: SIGKILL to the postmaster (its PID read from `postmaster.pid`) and
    /// to every process it started, then waits until none of them is left. Its data stays as the crash left it:
    /// [`PostgresServer::start`] recovers it.
    pub async fn kill(&mut self) {
        let mut postmaster = self.postmaster.take().expect("own PostgreSQL: kill() while it is not running");
        let pid = self.postmaster_pid();
        assert_eq!(pid, postmaster.pid(), "own PostgreSQL: postmaster.pid names another process than the server");
        let killed = kill_server(pid).unwrap_or_else(|e| panic!("own PostgreSQL: {e}"));
        let ended = postmaster.wait_exit(PATIENCE).await.unwrap_or_else(|e| panic!("own PostgreSQL: {e}"));
        assert!(ended.is_some(), "own PostgreSQL: the postmaster (pid {pid}) outlived SIGKILL for {PATIENCE:?}");
        let deadline = Instant::now() + PATIENCE;
        while let Some(left) = killed.iter().find(|pid| running(**pid)) {
            assert!(Instant::now() < deadline, "own PostgreSQL: process {left} outlived SIGKILL for {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are ended, a checkpoint is written) and waits until it
    /// is gone.
    pub async fn stop(&mut self) {
        let mut postmaster = self.postmaster.take().expect("own PostgreSQL: stop() while it is not running");
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.data_dir());
        pg_ctl.args(["stop", "-m", "fast", "-w", "-t", &PATIENCE.as_secs().to_string()]);
        self.run(pg_ctl).await;
        let ended = postmaster.wait_exit(PATIENCE).await.unwrap_or_else(|e| panic!("own PostgreSQL: {e}"));
        // The postmaster ends last, once its processes have.
        assert!(ended.is_some(), "own PostgreSQL: the postmaster outlived `pg_ctl stop` for {PATIENCE:?}");
    }

    /// Starts the server again, on the same port and data, and waits until it accepts connections (after a
    /// kill, once it has recovered).
    pub async fn start(&mut self) {
        assert!(self.postmaster.is_none(), "own PostgreSQL: start() while it is running");
        if let Err(e) = self.spawn().await {
            panic!("own PostgreSQL did not start again on port {}: {e}", self.port);
        }
    }

    /// Starts the postmaster on `self.port` and waits until it accepts connections; the error says whether the
    /// port was taken.
    async fn spawn(&mut self) -> Result<(), procs::Error> {
        let port = self.port.to_string();
        let sockets = self.dir.path().join("sockets");
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &port, "-k"])
            .arg(&sockets)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"])
            .stdout(Stdio::null());
        let mut postmaster = Proc::start("postgres", command, &Logs::Dir(self.dir.path().to_owned()))?;
        let deadline = Instant::now() + PATIENCE;
        loop {
            // An error (the port taken, a bad cluster) ends the postmaster: told with the end of its log.
            postmaster.check_alive()?;
            if self.ready().await {
                self.postmaster = Some(postmaster);
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(procs::Error::new(format!(
                    "it did not accept connections within {PATIENCE:?}; {}",
                    postmaster.diagnostics()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the server accepts connections (`pg_isready`: not while it starts or recovers).
    async fn ready(&self) -> bool {
        let mut command = self.command("pg_isready");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-t", "2"]);
        tokio::process::Command::from(command).output().await.is_ok_and(|output| output.status.success())
    }

    /// The postmaster's PID, the first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> u32 {
        let path = self.data_dir().join("postmaster.pid");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("own PostgreSQL: cannot read {}: {e}", path.display()));
        let first = text.lines().next().unwrap_or_default();
        first.trim().parse().unwrap_or_else(|e| panic!("own PostgreSQL: {} begins with {first:?}: {e}", path.display()))
    }

    /// A command running one of the binaries: as `postgres` when root, in the temporary directory (the
    /// caller's may be closed to that user), without the caller's database configuration.
    fn command(&self, binary: &str) -> Command {
        let mut command = procs::clean_command(self.bin.join(binary));
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|name| name.starts_with("PG")) {
                command.env_remove(&key);
            }
        }
        command.current_dir(self.dir.path());
        if let Some(RunAs { uid, gid }) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Runs `command` (of [`PostgresServer::command`]) to its end; panics with its output if it fails.
    async fn run(&self, mut command: Command) {
        command.stdin(Stdio::null());
        let shown = format!("{command:?}");
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .unwrap_or_else(|e| panic!("own PostgreSQL: cannot run {shown}: {e}"));
        if !output.status.success() {
            panic!(
                "own PostgreSQL: {shown} failed ({}){}:\n{}{}\nthe end of the server's log:\n{}",
                output.status,
                if self.run_as.is_some() {
                    ", run as the postgres user (the directory must be reachable to it)"
                } else {
                    ""
                },
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                tail(&self.log()),
            );
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let Some(postmaster) = self.postmaster.as_mut() else { return };
        if !matches!(postmaster.try_status(), Ok(None)) {
            return;
        }
        let pid = postmaster.pid();
        // Immediate: the test is over, nothing of its data is wanted.
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.data_dir()).args(["stop", "-m", "immediate", "-w", "-t", "30"]);
        let _ = pg_ctl.stdout(Stdio::null()).stderr(Stdio::null()).status();
        if self.postmaster.as_mut().is_some_and(|p| matches!(p.try_status(), Ok(None))) {
            // Not stopped: killed, its processes with it, so that none outlives the directory.
            let _ = kill_server(pid);
        }
    }
}

/// SIGKILL to postmaster `pid` and to every process it started (stopped first with SIGSTOP, so that it starts
/// none meanwhile); the processes killed.
fn kill_server(pid: u32) -> Result<Vec<u32>, String> {
    let signal = |name: &str, pids: &[u32]| {
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        match Command::new("kill").arg(format!("-{name}")).args(&pids).status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("`kill -{name} {}` failed: {status}", pids.join(" "))),
            Err(e) => Err(format!("cannot run `kill -{name}`: {e}")),
        }
    };
    signal("STOP", &[pid])?;
    let mut killed = children(pid);
    killed.push(pid);
    // A child may have ended since it was listed (`kill` fails for it and signals the others): the caller waits
    // until none is left.
    let _ = signal("KILL", &killed);
    Ok(killed)
}

/// The fields of `/proc/<pid>/stat` after the command ("state ppid pgrp ..."): the command may hold anything, so
/// they are found after its last ')'.
fn stat(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.to_owned())
}

/// Whether process `pid` runs: it exists and is not a zombie (which holds nothing: an init that does not reap
/// orphans keeps them forever).
fn running(pid: u32) -> bool {
    stat(&pid.to_string()).is_some_and(|fields| !matches!(fields.split_whitespace().next(), Some("Z" | "X") | None))
}

/// The processes whose parent is `parent` (Linux's `/proc`).
fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let parent = parent.to_string();
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat(&pid.to_string()).is_some_and(|fields| fields.split_whitespace().nth(1) == Some(&parent)))
        .collect()
}

/// The last lines of a log, for an error message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
