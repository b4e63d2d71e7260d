//! Child processes of the real binaries, for the end-to-end tests and the bench alike: started with a clean
//! environment, their stderr kept in memory or appended to a log file, SIGTERM to stop them and SIGKILL when
//! dropped; free ports on 127.0.0.1; readiness judged by the gRPC health service, as an orchestrator judges it.
//!
//! Nothing here panics on a failure of the process under test: it is told as an [`Error`] (or a [`NotReady`]),
//! so that the bench, a release binary, can report it; the tests' panicking conveniences are in
//! [`crate::e2e`].
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How many lines of a log file an error message quotes.
const LOG_TAIL_LINES: usize = 20;

/// A failure of a process under the harness: it could not start, ended or was not SERVING in time, or did not
/// stop. The message carries what the process wrote on stderr (or the end of its log file).
#[derive(Debug)]
pub struct Error {
    message: String,
    port_taken: bool,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), port_taken: false }
    }

    /// Whether the process failed because a port picked as free was taken meanwhile (worth another try on
    /// other ports).
    pub fn port_taken(&self) -> bool {
        self.port_taken
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Where a process's stderr goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logs {
    /// Kept in memory ([`Proc::stderr`]); printed if the thread panics while the process lives (a failing test).
    Memory,
    /// Appended to `<dir>/<name>.log`, where it can be read while the process runs.
    Dir(PathBuf),
}

enum Stderr {
    Memory { text: Arc<Mutex<String>>, reader: Option<JoinHandle<()>> },
    File(PathBuf),
}

/// A child process that is killed (SIGKILL) when dropped if it still runs.
pub struct Proc {
    name: String,
    child: Child,
    stderr: Stderr,
}

impl Proc {
    /// Starts `command` as `name`: stdin closed, stderr to `logs`, stdout as the command says.
    pub fn start(name: &str, mut command: Command, logs: &Logs) -> Result<Self, Error> {
        command.stdin(Stdio::null());
        let log = match logs {
            Logs::Memory => {
                command.stderr(Stdio::piped());
                None
            }
            Logs::Dir(dir) => {
                let path = dir.join(format!("{name}.log"));
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| Error::new(format!("cannot open the log file {}: {e}", path.display())))?;
                command.stderr(file);
                Some(path)
            }
        };
        let mut child = command.spawn().map_err(|e| Error::new(format!("cannot start {name} ({command:?}): {e}")))?;
        let stderr = match (log, child.stderr.take()) {
            (Some(path), _) => Stderr::File(path),
            (None, Some(pipe)) => {
                let text = Arc::new(Mutex::new(String::new()));
                let sink = Arc::clone(&text);
                let reader = std::thread::spawn(move || {
                    let mut pipe = BufReader::new(pipe);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match pipe.read_until(b'\n', &mut line) {
                            Ok(0) | Err(_) => break,
                            Ok(_) => sink
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push_str(&String::from_utf8_lossy(&line)),
                        }
                    }
                });
                Stderr::Memory { text, reader: Some(reader) }
            }
            (None, None) => Stderr::Memory { text: Arc::default(), reader: None },
        };
        Ok(Self { name: name.to_owned(), child, stderr })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child itself (e.g. to take a piped stdout).
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// What the process wrote on stderr so far, as written.
    pub fn raw_stderr(&self) -> String {
        match &self.stderr {
            Stderr::Memory { text, .. } => text.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            Stderr::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
        }
    }

    /// What the process wrote on stderr so far, without colour codes.
    pub fn stderr(&self) -> String {
        strip_ansi(&self.raw_stderr())
    }

    /// After the process ended: all of its stderr (waits for the pipe to be drained), without colour codes.
    pub fn finish_stderr(&mut self) -> String {
        if let Stderr::Memory { reader, .. } = &mut self.stderr
            && let Some(reader) = reader.take()
        {
            let _ = reader.join();
        }
        self.stderr()
    }

    /// Its stderr for an error message: all of it when kept in memory, the end of the log file otherwise.
    pub fn diagnostics(&self) -> String {
        match &self.stderr {
            Stderr::Memory { .. } => format!("stderr:\n{}", self.stderr()),
            Stderr::File(path) => {
                let text = self.stderr();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
                format!("the end of its log ({}):\n{tail}", path.display())
            }
        }
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.child.try_wait().map_err(|e| Error::new(format!("cannot query {}: {e}", self.name)))
    }

    /// An error if the process has ended, saying so with its stderr.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        match self.try_status()? {
            None => Ok(()),
            Some(status) => Err(self.exited(status, "")),
        }
    }

    /// The error of a process that ended with `status` (`when`, e.g. " before it was ready"); it says whether a
    /// port was taken.
    fn exited(&mut self, status: ExitStatus, when: &str) -> Error {
        let _ = self.finish_stderr();
        let diagnostics = self.diagnostics();
        Error {
            port_taken: diagnostics.contains("already in use"),
            message: format!("{} exited ({status}){when}; {diagnostics}", self.name),
        }
    }

    /// Waits up to `timeout` for the process to end.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM (unless it has ended already) and waits up to `timeout` for the process to end; if it does
    /// not, the error says so (and dropping the process kills it).
    pub async fn stop(&mut self, timeout: Duration) -> Result<ExitStatus, Error> {
        if let Some(status) = self.try_status()? {
            return Ok(status);
        }
        let pid = self.pid();
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(|e| Error::new(format!("cannot run `kill -TERM {pid}`: {e}")))?;
        if !sent.success() {
            return Err(Error::new(format!("`kill -TERM {pid}` ({}) failed: {sent}", self.name)));
        }
        match self.wait_exit(timeout).await? {
            Some(status) => Ok(status),
            None => Err(Error::new(format!(
                "{} did not stop within {timeout:?} of SIGTERM; {}",
                self.name,
                self.diagnostics()
            ))),
        }
    }

    /// Waits until `service` on `port` is SERVING (as [`Readiness::wait`]), the failure as an [`Error`] with
    /// the process's stderr.
    pub async fn serving(&mut self, readiness: &Readiness, port: u16, service: &str) -> Result<(), Error> {
        self.serving_over(readiness, port, service, None).await
    }

    /// As [`Proc::serving`], asking over TLS when `tls` is given (a server with TLS on speaks nothing else).
    pub async fn serving_over(
        &mut self,
        readiness: &Readiness,
        port: u16,
        service: &str,
        tls: Option<&HealthTls>,
    ) -> Result<(), Error> {
        match readiness.wait_over(self, port, service, tls).await {
            Ok(()) => Ok(()),
            Err(NotReady::Exited(status)) => Err(self.exited(status, " before it was ready")),
            Err(NotReady::TimedOut(last)) => Err(Error::new(format!(
                "{} was not SERVING within {:?}: {last}; {}",
                self.name,
                readiness.timeout,
                self.diagnostics()
            ))),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- {} (pid {}): {}\n-----", self.name, self.child.id(), self.diagnostics());
        }
    }
}

/// A command running `program` without the caller's Liaison, OpenTelemetry, database or log configuration.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if let Some(name) = key.to_str()
            && (name.starts_with("LIAISON_")
                || name.starts_with("OTEL_")
                || name == "DATABASE_URL"
                || name == "RUST_LOG")
        {
            command.env_remove(&key);
        }
    }
    command
}

/// Removes ANSI escape sequences (colours) from log text.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `N` distinct ports that were free a moment ago on 127.0.0.1.
pub fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    let bind_error = |e: std::io::Error| Error::new(format!("cannot bind 127.0.0.1:0 to find a free port: {e}"));
    let listeners: Vec<TcpListener> =
        (0..N).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>().map_err(bind_error)?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().map_err(bind_error)?.port();
    }
    Ok(ports)
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16, Error> {
    Ok(free_ports::<1>()?[0])
}

/// A base port such that it and the next three were free a moment ago on 127.0.0.1 (the all-in-one's four).
pub fn free_base_port() -> Result<u16, Error> {
    for _ in 0..200 {
        let [base] = free_ports::<1>()?;
        if base > 65532 {
            continue;
        }
        let rest: Result<Vec<TcpListener>, _> = (1..4).map(|i| TcpListener::bind(("127.0.0.1", base + i))).collect();
        if rest.is_ok() {
            return Ok(base);
        }
    }
    Err(Error::new("found no four consecutive free ports on 127.0.0.1"))
}

/// `http://127.0.0.1:<port>`.
pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// How a client reaches a server whose TLS is on: the CA that signed the server's certificate, and the name the
/// certificate must carry (the server is dialled at 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTls {
    pub ca_pem: Vec<u8>,
    pub domain: String,
}

impl HealthTls {
    /// The endpoint of `https://127.0.0.1:<port>`, verifying the server against the CA and the name.
    pub fn endpoint(&self, port: u16) -> Result<tonic::transport::Endpoint, String> {
        let tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.ca_pem))
            .domain_name(self.domain.clone());
        tonic::transport::Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
            .map_err(|e| e.to_string())?
            .tls_config(tls)
            .map_err(|e| format!("TLS configuration: {e}"))
    }
}

/// The endpoint of the health checks of the server on `port` (over TLS when `tls` is given).
fn health_endpoint(port: u16, tls: Option<&HealthTls>) -> Result<tonic::transport::Endpoint, String> {
    let endpoint = match tls {
        Some(tls) => tls.endpoint(port)?,
        None => tonic::transport::Endpoint::from_shared(url(port)).map_err(|e| e.to_string())?,
    };
    Ok(endpoint.connect_timeout(Duration::from_secs(1)).timeout(Duration::from_secs(2)))
}

/// Asks the health service on `port` about `service` (`""` for the whole server).
pub async fn health(port: u16, service: &str) -> Result<ServingStatus, String> {
    health_over(port, service, None).await
}

/// As [`health`], over TLS when `tls` is given.
pub async fn health_over(port: u16, service: &str, tls: Option<&HealthTls>) -> Result<ServingStatus, String> {
    let channel = health_endpoint(port, tls)?.connect().await.map_err(|e| format!("cannot connect to {port}: {e}"))?;
    check(&mut HealthClient::new(channel), port, service).await
}

async fn check(
    client: &mut HealthClient<tonic::transport::Channel>,
    port: u16,
    service: &str,
) -> Result<ServingStatus, String> {
    let response = client
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .map_err(|status| format!("health check of '{service}' on {port} failed: {status}"))?;
    Ok(response.into_inner().status())
}

/// Why a server did not become ready.
#[derive(Debug)]
pub enum NotReady {
    /// The process ended first.
    Exited(ExitStatus),
    /// It did not report SERVING in time; the last answer (or failure) of its health service.
    TimedOut(String),
}

/// How long a server may take to report SERVING, and how often it is asked meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub timeout: Duration,
    /// Fine enough to time a sub-second start, coarse enough not to steal the starting server's CPU.
    pub poll: Duration,
}

impl Default for Readiness {
    /// 20 s, asked every 100 ms.
    fn default() -> Self {
        Self { timeout: Duration::from_secs(20), poll: Duration::from_millis(100) }
    }
}

impl Readiness {
    /// Polls the health service on `port` until `service` is SERVING, while `proc` runs (one connection,
    /// made again while it cannot be made).
    pub async fn wait(&self, proc: &mut Proc, port: u16, service: &str) -> Result<(), NotReady> {
        self.wait_over(proc, port, service, None).await
    }

    /// As [`Readiness::wait`], over TLS when `tls` is given.
    pub async fn wait_over(
        &self,
        proc: &mut Proc,
        port: u16,
        service: &str,
        tls: Option<&HealthTls>,
    ) -> Result<(), NotReady> {
        let deadline = Instant::now() + self.timeout;
        let endpoint = health_endpoint(port, tls).map_err(NotReady::TimedOut)?;
        let mut client = None;
        loop {
            let last = match proc.try_status() {
                Ok(Some(status)) => return Err(NotReady::Exited(status)),
                Err(e) => e.to_string(),
                Ok(None) => {
                    if client.is_none() {
                        client = endpoint.connect().await.ok().map(HealthClient::new);
                    }
                    match client.as_mut() {
                        None => format!("cannot connect to {port}"),
                        Some(client) => match check(client, port, service).await {
                            Ok(ServingStatus::Serving) => return Ok(()),
                            Ok(other) => format!("'{service}' on {port} reports {}", other.as_str_name()),
                            Err(e) => e,
                        },
                    }
                }
            };
            if Instant::now() >= deadline {
                return Err(NotReady::TimedOut(last));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// Runs `start` until it succeeds, fails for another reason than a port taken meanwhile, or has been tried
/// `attempts` times.
pub async fn retry_on_taken_port<T>(
    attempts: u32,
    mut start: impl AsyncFnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let mut attempt = 1;
    loop {
        match start().await {
            Err(e) if e.port_taken() && attempt < attempts => {
                eprintln!("attempt {attempt}: a port picked as free was taken meanwhile; retrying");
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_removed_from_logs() {
        assert_eq!(strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m listening"), "2026  INFO listening");
    }

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[tokio::test]
    async fn a_port_taken_is_told_apart_from_other_failures() {
        let readiness = Readiness { timeout: Duration::from_secs(10), poll: Duration::from_millis(10) };
        let script = "echo 'liaison: cannot listen on 127.0.0.1:5: the address is already in use' >&2; exit 3";
        let mut taken = Proc::start("taken", shell(script), &Logs::Memory).unwrap();
        let error = taken.serving(&readiness, free_port().unwrap(), "").await.unwrap_err();
        assert!(error.port_taken(), "{error}");
        assert!(error.to_string().contains("already in use"), "the error quotes stderr: {error}");

        let mut other = Proc::start("other", shell("echo 'database unreachable' >&2; exit 3"), &Logs::Memory).unwrap();
        let error = other.serving(&readiness, free_port().unwrap(), "").await.unwrap_err();
        assert!(!error.port_taken(), "{error}");
    }

    #[tokio::test]
    async fn a_log_file_keeps_stderr_and_errors_quote_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Logs::Dir(dir.path().to_owned());
        let mut proc = Proc::start("noisy", shell("for i in $(seq 1 30); do echo line $i >&2; done"), &logs).unwrap();
        let status = proc.wait_exit(Duration::from_secs(10)).await.unwrap().expect("sh ends");
        assert!(status.success());
        let error = proc.check_alive().unwrap_err().to_string();
        assert!(error.contains("line 30") && !error.contains("line 10\n"), "only the end of the log: {error}");
        let log = std::fs::read_to_string(dir.path().join("noisy.log")).unwrap();
        assert_eq!(log.lines().count(), 30);
    }

    #[tokio::test]
    async fn stop_ends_a_process_with_sigterm() {
        let mut sleeper = Proc::start("sleeper", shell("exec sleep 30"), &Logs::Memory).unwrap();
        let status = sleeper.stop(Duration::from_secs(10)).await.unwrap();
        assert!(!status.success(), "killed by SIGTERM: {status}");
        assert!(sleeper.check_alive().is_err());
    }
}
