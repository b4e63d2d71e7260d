//! The real `liaison` binary in its two topologies: the all-in-one (one process, four servers on consecutive ports,
//! SQLite files in a data directory) and four `liaison serve <service>` processes configured by environment
//! variables only, as a deployment configures them. A [`Launcher`] says which binary, where the logs go, what
//! else every process is told and how patient to be, so the end-to-end tests ([`crate::e2e::launcher`]) and the
//! bench (its own binary path, log directory and engine) start the same way.
use crate::procs::{
    Error, HealthTls, Logs, Proc, Readiness, clean_command, free_base_port, free_ports, retry_on_taken_port, url,
};
use liaison_runtime::config::ServiceKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The name of the all-in-one's process (and of its log file).
pub const ALL_IN_ONE: &str = "all-in-one";

/// A development PKI made by the binary itself (`liaison dev-pki`): a CA, a server certificate and a service token
/// per service, the token signing key and its JWKS. With it, `liaison serve` runs as a deployment runs it: TLS on,
/// bearer tokens required, its peers at `https://`.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Where `dev-pki` wrote its files.
    pub dir: PathBuf,
    /// The issuer (`iss`) its tokens name, and the servers require.
    pub issuer: String,
    /// The audience (`aud`).
    pub audience: String,
}

impl Pki {
    /// The issuer the test PKIs sign as.
    pub const ISSUER: &str = "liaison-e2e";
    /// The audience (the binary's default).
    pub const AUDIENCE: &str = "liaison";

    /// Runs `<bin> dev-pki --out <dir> --hosts contacts,scheduling,mediation,reporting --issuer … --audience …`.
    pub fn make(bin: &Path, dir: &Path) -> Result<Self, Error> {
        let hosts = ServiceKind::ALL.map(|kind| kind.name()).join(",");
        let mut command = clean_command(bin);
        command.arg("dev-pki").arg("--out").arg(dir);
        command.args(["--hosts", &hosts, "--issuer", Self::ISSUER, "--audience", Self::AUDIENCE]);
        run(command, "liaison dev-pki")?;
        let pki = Self { dir: dir.to_owned(), issuer: Self::ISSUER.to_owned(), audience: Self::AUDIENCE.to_owned() };
        for file in ["ca.pem", "jwks.json", "signing-key.pem"] {
            if !pki.dir.join(file).is_file() {
                return Err(Error::new(format!("liaison dev-pki did not write {}", pki.dir.join(file).display())));
            }
        }
        Ok(pki)
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> Result<Vec<u8>, Error> {
        let path = self.dir.join("ca.pem");
        std::fs::read(&path).map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
    }

    /// How a client dials a service of this PKI at 127.0.0.1: its certificates name `localhost`.
    pub fn client_tls(&self) -> Result<HealthTls, Error> {
        Ok(HealthTls { ca_pem: self.ca_pem()?, domain: "localhost".to_owned() })
    }

    /// The variables that turn on TLS and tokens for `kind`, as the compose file sets them (with this PKI's paths).
    pub fn service_env(&self, kind: ServiceKind) -> Vec<(String, String)> {
        let file = |name: String| self.dir.join(name).display().to_string();
        let name = kind.name();
        [
            ("LIAISON_TLS_CERT_FILE", file(format!("{name}.pem"))),
            ("LIAISON_TLS_KEY_FILE", file(format!("{name}-key.pem"))),
            ("LIAISON_TLS_CA_FILE", file("ca.pem".to_owned())),
            ("LIAISON_JWKS_FILE", file("jwks.json".to_owned())),
            ("LIAISON_AUTH_ISSUER", self.issuer.clone()),
            ("LIAISON_AUTH_AUDIENCE", self.audience.clone()),
            ("LIAISON_SERVICE_TOKEN_FILE", file(format!("{name}.token"))),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// A bearer token for `role` and `subject`, signed with this PKI's key: `<bin> token --key … --role …
    /// --subject … --issuer …`.
    pub fn token(&self, bin: &Path, role: &str, subject: &str) -> Result<String, Error> {
        let mut command = clean_command(bin);
        command.arg("token").arg("--key").arg(self.dir.join("signing-key.pem"));
        command.args(["--role", role, "--subject", subject, "--issuer", &self.issuer]);
        let token = run(command, "liaison token")?.trim().to_owned();
        if token.split('.').count() != 3 {
            return Err(Error::new(format!("liaison token printed no JWT: {token:?}")));
        }
        Ok(token)
    }
}

/// Runs `command` to its end (stdin closed); its stdout if it exits 0, an error with its stderr otherwise.
fn run(mut command: Command, what: &str) -> Result<String, Error> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run {what} ({command:?}): {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "{what} ({command:?}) exited with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// How to start the binary.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The `liaison` binary.
    pub bin: PathBuf,
    /// Where each process's stderr goes.
    pub logs: Logs,
    /// Variables every process is given besides those of its role (e.g. call deadlines).
    pub env: Vec<(String, String)>,
    pub readiness: Readiness,
    /// Attempts at starting when a port picked as free was taken meanwhile.
    pub attempts: u32,
    /// How long a graceful stop (SIGTERM) may take.
    pub stop_timeout: Duration,
    /// With a PKI, `serve` runs with TLS and tokens, its peers at `https://127.0.0.1:<port>`.
    pub pki: Option<Pki>,
}

impl Launcher {
    /// `bin` with stderr in memory, nothing else in its environment, [`Readiness::default`], five attempts and
    /// ten seconds to stop.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            logs: Logs::Memory,
            env: Vec::new(),
            readiness: Readiness::default(),
            attempts: 5,
            stop_timeout: Duration::from_secs(10),
            pki: None,
        }
    }

    /// How health checks and clients reach a server: over TLS with the PKI's CA, if there is one.
    pub fn client_tls(&self) -> Result<Option<HealthTls>, Error> {
        self.pki.as_ref().map(Pki::client_tls).transpose()
    }

    /// `http://127.0.0.1:<port>`, or `https://` with a PKI.
    pub fn url(&self, port: u16) -> String {
        match self.pki {
            Some(_) => format!("https://127.0.0.1:{port}"),
            None => url(port),
        }
    }

    /// The binary with none of the caller's Liaison configuration, with [`Launcher::env`], stdout closed.
    pub fn command(&self) -> Command {
        let mut command = clean_command(&self.bin);
        command.envs(self.env.iter().map(|(key, value)| (key, value))).stdout(Stdio::null());
        command
    }

    /// `liaison --data-dir <data_dir> --base-port <base_port>`.
    pub fn all_in_one(&self, data_dir: &Path, base_port: u16) -> Command {
        let mut command = self.command();
        command.arg("--data-dir").arg(data_dir).arg("--base-port").arg(base_port.to_string());
        command
    }

    /// `liaison serve <kind>` on 127.0.0.1:`port` and `database_url`, told where each service it calls is (by
    /// `peer_url`) and only those.
    pub fn serve(
        &self,
        kind: ServiceKind,
        port: u16,
        database_url: &str,
        peer_url: impl Fn(ServiceKind) -> String,
    ) -> Command {
        let mut command = self.command();
        command
            .args(["serve", kind.name()])
            .env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url);
        for peer in kind.dependencies() {
            command.env(format!("LIAISON_{}_ADDR", peer.name().to_uppercase()), peer_url(*peer));
        }
        if let Some(pki) = &self.pki {
            command.envs(pki.service_env(kind));
        }
        command
    }
}

/// The position of `kind` in [`ServiceKind::ALL`] (and in port and process arrays).
pub fn index(kind: ServiceKind) -> usize {
    ServiceKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The all-in-one: one process serving the four services on `base_port`, `base_port + 1`, … in
/// [`ServiceKind::ALL`] order.
pub struct AllInOne {
    pub proc: Proc,
    pub base_port: u16,
    /// Its SQLite files (`<service>.db`).
    pub data_dir: PathBuf,
    /// From starting the process to its four services SERVING (of the attempt that succeeded).
    pub cold_start: Duration,
    launcher: Launcher,
    /// A temporary data directory removed with the all-in-one; declared after `proc` so that the process is
    /// killed before its data is removed.
    pub(crate) _temporary: Option<tempfile::TempDir>,
}

impl AllInOne {
    /// Starts the all-in-one on four free ports with its data in `data_dir` and waits until its four services are
    /// SERVING.
    pub async fn launch(launcher: &Launcher, data_dir: &Path) -> Result<Self, Error> {
        retry_on_taken_port(launcher.attempts, async || {
            let base_port = free_base_port()?;
            let started = Instant::now();
            let mut proc = Proc::start(ALL_IN_ONE, launcher.all_in_one(data_dir, base_port), &launcher.logs)?;
            for (port, kind) in (base_port..).zip(ServiceKind::ALL) {
                proc.serving(&launcher.readiness, port, kind.grpc_service()).await?;
            }
            Ok(Self {
                proc,
                base_port,
                data_dir: data_dir.to_owned(),
                cold_start: started.elapsed(),
                launcher: launcher.clone(),
                _temporary: None,
            })
        })
        .await
    }

    /// Ports of contacts, scheduling, mediation, reporting.
    pub fn ports(&self) -> [u16; 4] {
        [self.base_port, self.base_port + 1, self.base_port + 2, self.base_port + 3]
    }

    /// `http://127.0.0.1:<port of kind>`.
    pub fn url(&self, kind: ServiceKind) -> String {
        url(self.ports()[index(kind)])
    }

    /// SIGTERM; the process must end within the launcher's stop timeout.
    pub async fn stop(&mut self) -> Result<ExitStatus, Error> {
        self.proc.stop(self.launcher.stop_timeout).await
    }

    /// After [`AllInOne::stop`]: starts the process again on the same ports and data, without waiting for it
    /// ([`AllInOne::wait_serving`]).
    pub fn respawn(&mut self) -> Result<(), Error> {
        let command = self.launcher.all_in_one(&self.data_dir, self.base_port);
        self.proc = Proc::start(ALL_IN_ONE, command, &self.launcher.logs)?;
        Ok(())
    }

    /// Waits until `kind` is SERVING.
    pub async fn wait_serving(&mut self, kind: ServiceKind) -> Result<(), Error> {
        let port = self.ports()[index(kind)];
        self.proc.serving(&self.launcher.readiness, port, kind.grpc_service()).await
    }
}

/// Four `liaison serve <service>` processes configured by environment variables only, as a cluster is.
pub struct Cluster {
    /// contacts, scheduling, mediation, reporting ([`ServiceKind::ALL`] order); a stopped service keeps its
    /// ended process here until it is started again.
    pub procs: Vec<Proc>,
    pub ports: [u16; 4],
    pub database_urls: [String; 4],
    /// From starting the first process to the last one SERVING (of the attempt that succeeded).
    pub cold_start: Duration,
    launcher: Launcher,
}

impl Cluster {
    /// Starts the four services on free ports and `database_urls` (in [`ServiceKind::ALL`] order, which is
    /// dependency order), each one SERVING before the next starts.
    pub async fn launch(launcher: &Launcher, database_urls: &[String; 4]) -> Result<Self, Error> {
        retry_on_taken_port(launcher.attempts, async || {
            let mut cluster = Self {
                procs: Vec::new(),
                ports: free_ports::<4>()?,
                database_urls: database_urls.clone(),
                cold_start: Duration::ZERO,
                launcher: launcher.clone(),
            };
            let started = Instant::now();
            for kind in ServiceKind::ALL {
                let proc = cluster.spawn(kind)?;
                cluster.procs.push(proc);
                cluster.wait_serving(kind).await?;
            }
            cluster.cold_start = started.elapsed();
            Ok(cluster)
        })
        .await
    }

    fn spawn(&self, kind: ServiceKind) -> Result<Proc, Error> {
        let index = index(kind);
        let command = self.launcher.serve(kind, self.ports[index], &self.database_urls[index], |peer| self.url(peer));
        Proc::start(kind.name(), command, &self.launcher.logs)
    }

    /// `http://127.0.0.1:<port of kind>` (`https://` when the launcher has a PKI).
    pub fn url(&self, kind: ServiceKind) -> String {
        self.launcher.url(self.ports[index(kind)])
    }

    /// The launcher it was started with.
    pub fn launcher(&self) -> &Launcher {
        &self.launcher
    }

    /// The process of `kind`.
    pub fn proc(&mut self, kind: ServiceKind) -> Result<&mut Proc, Error> {
        self.procs.get_mut(index(kind)).ok_or_else(|| Error::new(format!("{kind} was never started")))
    }

    /// Waits until `kind` is SERVING.
    pub async fn wait_serving(&mut self, kind: ServiceKind) -> Result<(), Error> {
        let (readiness, port) = (self.launcher.readiness, self.ports[index(kind)]);
        let tls = self.launcher.client_tls()?;
        self.proc(kind)?.serving_over(&readiness, port, kind.grpc_service(), tls.as_ref()).await
    }

    /// SIGTERM to `kind`, which must end within the launcher's stop timeout.
    pub async fn stop_service(&mut self, kind: ServiceKind) -> Result<ExitStatus, Error> {
        let timeout = self.launcher.stop_timeout;
        self.proc(kind)?.stop(timeout).await
    }

    /// After [`Cluster::stop_service`]: starts `kind` again on its port and database, without waiting for it
    /// ([`Cluster::wait_serving`]).
    pub fn respawn(&mut self, kind: ServiceKind) -> Result<(), Error> {
        let proc = self.spawn(kind)?;
        *self.proc(kind)? = proc;
        Ok(())
    }

    /// Stops `kind` and starts it again where its callers expect it; returns when it is SERVING.
    pub async fn restart(&mut self, kind: ServiceKind) -> Result<(), Error> {
        self.stop_service(kind).await?;
        self.respawn(kind)?;
        self.wait_serving(kind).await
    }

    /// SIGTERM to every process, the dependants first; each is given the stop timeout. The first failure, after
    /// all were asked to stop.
    pub async fn stop(&mut self) -> Result<(), Error> {
        let mut first_error = None;
        for proc in self.procs.iter_mut().rev() {
            if let Err(e) = proc.stop(self.launcher.stop_timeout).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
