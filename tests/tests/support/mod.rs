//! Helpers of the end-to-end tests: the real `liaison` binary (built once per test binary), child processes
//! that are always killed when a test ends, free ports, readiness, and the cross-service flow that every
//! topology (all-in-one, four processes on SQLite, four processes on PostgreSQL) must pass.
#![allow(dead_code)]

use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    Contact, CreateContactRequest, CreateOrganizationRequest, GetContactRequest, Organization, OrganizationKind,
};
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{Case, CaseState, OpenCaseRequest};
use liaison_proto::reporting::v1::GetDashboardRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The four services, in port order (contacts = base, scheduling = base + 1, …).
pub(crate) const SERVICES: [&str; 4] = ["contacts", "scheduling", "mediation", "reporting"];

/// Their fully-qualified gRPC names (also their health-check names), in the same order.
pub(crate) const GRPC_SERVICES: [&str; 4] = [
    "liaison.contacts.v1.ContactsService",
    "liaison.scheduling.v1.SchedulingService",
    "liaison.mediation.v1.MediationService",
    "liaison.reporting.v1.ReportingService",
];

/// How long a server may take to report SERVING.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a graceful stop (SIGTERM) may take.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long reporting may take to show what the other services did.
pub(crate) const DASHBOARD_TIMEOUT: Duration = Duration::from_secs(2);

/// The root of the workspace (the parent of this crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the e2e crate lives inside the workspace").to_path_buf()
}

/// The real `liaison` binary, built once per test binary with the current (debug) profile; or the binary named
/// by `LIAISON_E2E_BIN` (e.g. a release build), which is then used as it is. A failed build fails every test
/// that needs the binary, with cargo's output, without building again.
pub(crate) fn binary() -> &'static Path {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(find_or_build_binary) {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

fn find_or_build_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("LIAISON_E2E_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("LIAISON_E2E_BIN={} is not a file", path.display()))
        };
    }
    let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from(env!("CARGO")), PathBuf::from);
    let root = workspace_root();
    let started = Instant::now();
    let mut command = Command::new(&cargo);
    // Cargo gives a test the variables of its own package (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, OUT_DIR, …).
    // Build scripts such as ring's rerun when those change in cargo's environment, so passing them on would
    // rebuild ring, rustls, sqlx, … here, and again at the next `cargo test`. The user's cargo configuration
    // (CARGO_HOME, CARGO_TARGET_DIR, CARGO_BUILD_*, CARGO_PROFILE_*, …) is kept.
    for (key, _) in std::env::vars_os() {
        if let Some(name) = key.to_str()
            && (name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_")
                || name.starts_with("CARGO_MANIFEST_")
                || matches!(name, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "OUT_DIR"))
        {
            command.env_remove(&key);
        }
    }
    let output = command
        .args(["build", "-p", "liaison", "--bin", "liaison"])
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{} build -p liaison --bin liaison`: {e}", cargo.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build -p liaison --bin liaison` failed ({}), so the end-to-end tests cannot run:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // A relative CARGO_TARGET_DIR is relative to where cargo runs, which is the workspace root here.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    let path = target.join("debug").join(format!("liaison{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        return Err(format!("cargo built the liaison binary but {} does not exist", path.display()));
    }
    eprintln!("built {} in {:?}", path.display(), started.elapsed());
    Ok(path)
}

/// A command running the binary, with none of the caller's Liaison configuration leaking into it.
pub(crate) fn liaison() -> Command {
    let mut command = Command::new(binary());
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
pub(crate) fn strip_ansi(text: &str) -> String {
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

/// A child process that is killed (SIGKILL) when dropped if it still runs; its stderr is collected as it comes.
/// When a test fails while a child is alive, the child's stderr is printed to help the diagnosis.
pub(crate) struct Proc {
    name: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proc {
    pub(crate) fn spawn(name: &str, mut command: Command) -> Self {
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match pipe.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        sink.lock().unwrap_or_else(PoisonError::into_inner).push_str(&String::from_utf8_lossy(&line))
                    }
                }
            }
        });
        Self { name: name.to_owned(), child, stderr, reader: Some(reader) }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote on stderr so far, without colour codes.
    pub(crate) fn stderr(&self) -> String {
        strip_ansi(&self.raw_stderr())
    }

    /// What the process wrote on stderr so far, as written.
    pub(crate) fn raw_stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The exit status if the process has ended.
    pub(crate) fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap_or_else(|e| panic!("cannot query {}: {e}", self.name))
    }

    /// Waits up to `timeout` for the process to end.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// After the process ended: all of its stderr (waits for the pipe to be drained), without colour codes.
    pub(crate) fn finish_stderr(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stderr()
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end; panics if it does not.
    pub(crate) async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run `kill -TERM {}`: {e}", self.pid()));
        assert!(sent.success(), "`kill -TERM {}` ({}) failed: {sent}", self.pid(), self.name);
        match self.wait_exit(timeout).await {
            Some(status) => {
                eprintln!("{} stopped after SIGTERM in {:?} ({status})", self.name, started.elapsed());
                status
            }
            None => {
                panic!("{} did not stop within {timeout:?} of SIGTERM; stderr so far:\n{}", self.name, self.stderr())
            }
        }
    }

    /// Sends SIGTERM and asserts a clean exit (status 0) within [`STOP_TIMEOUT`] and no panic on stderr.
    pub(crate) async fn stop_gracefully(&mut self) {
        let status = self.terminate(STOP_TIMEOUT).await;
        let stderr = self.finish_stderr();
        assert!(status.success(), "{} exited with {status} after SIGTERM; stderr:\n{stderr}", self.name);
        assert_no_panic(&self.name, &stderr);
    }

    /// Waits until a line of stderr satisfies `matches`; panics after `timeout`.
    pub(crate) async fn wait_for_log(&self, what: &str, timeout: Duration, matches: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stderr().lines().any(&matches) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("{} never logged {what} within {timeout:?}; stderr:\n{}", self.name, self.stderr());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
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
            eprintln!("----- stderr of {} (pid {}) -----\n{}-----", self.name, self.child.id(), self.stderr());
        }
    }
}

/// Asserts that a process's stderr shows no panic and no backtrace.
pub(crate) fn assert_no_panic(name: &str, stderr: &str) {
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("panicked") && !lower.contains("backtrace"),
        "{name} panicked or printed a backtrace:\n{stderr}"
    );
}

/// A port that was free a moment ago on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct ports that were free a moment ago on 127.0.0.1.
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> =
        (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port")).collect();
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().expect("local address of a bound listener").port();
    }
    ports
}

/// A base port such that it and the next three were free a moment ago on 127.0.0.1.
pub(crate) fn free_base_port() -> u16 {
    for _ in 0..200 {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 to find a free port");
        let base = first.local_addr().expect("local address of a bound listener").port();
        if base > 65532 {
            continue;
        }
        let rest: Result<Vec<TcpListener>, _> = (1..4).map(|i| TcpListener::bind(("127.0.0.1", base + i))).collect();
        if rest.is_ok() {
            return base;
        }
    }
    panic!("found no four consecutive free ports on 127.0.0.1")
}

/// `http://127.0.0.1:<port>`.
pub(crate) fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Asks the health service on `port` about `service` (`""` for the whole server).
pub(crate) async fn health(port: u16, service: &str) -> Result<ServingStatus, String> {
    let channel = tonic::transport::Endpoint::from_shared(url(port))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {port}: {e}"))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .map_err(|status| format!("health check of '{service}' on {port} failed: {status}"))?;
    Ok(response.into_inner().status())
}

/// Why a server did not become ready.
#[derive(Debug)]
pub(crate) enum NotReady {
    /// The process ended first.
    Exited(ExitStatus),
    /// It did not report SERVING within [`READY_TIMEOUT`].
    TimedOut(String),
}

/// Polls the health service on `port` until `service` is SERVING, while `proc` runs.
pub(crate) async fn wait_ready(proc: &mut Proc, port: u16, service: &str) -> Result<(), NotReady> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = proc.try_status() {
            return Err(NotReady::Exited(status));
        }
        let last = match health(port, service).await {
            Ok(ServingStatus::Serving) => return Ok(()),
            Ok(other) => format!("'{service}' on {port} reports {}", other.as_str_name()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(NotReady::TimedOut(last));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Attempts at starting a topology when a port picked as free was taken by someone else meanwhile.
const START_ATTEMPTS: u32 = 5;

/// The all-in-one (`liaison --data-dir … --base-port …`) with a data directory of its own.
pub(crate) struct AllInOne {
    pub(crate) proc: Proc,
    pub(crate) base_port: u16,
    /// Declared after `proc` so that the process is killed before its data is removed.
    pub(crate) data_dir: tempfile::TempDir,
}

impl AllInOne {
    /// Starts the all-in-one and waits until its four services are SERVING.
    pub(crate) async fn start() -> Self {
        binary();
        let started = Instant::now();
        for attempt in 1..=START_ATTEMPTS {
            let data_dir = tempfile::tempdir().expect("create a temporary data directory");
            let base_port = free_base_port();
            let mut command = liaison();
            command.arg("--data-dir").arg(data_dir.path()).arg("--base-port").arg(base_port.to_string());
            let mut proc = Proc::spawn("all-in-one", command);
            let mut outcome = Ok(());
            for (index, service) in (0u16..).zip(GRPC_SERVICES) {
                outcome = wait_ready(&mut proc, base_port + index, service).await;
                if outcome.is_err() {
                    break;
                }
            }
            match outcome {
                Ok(()) => {
                    eprintln!("all-in-one on {base_port}..{} ready in {:?}", base_port + 3, started.elapsed());
                    return Self { proc, base_port, data_dir };
                }
                Err(NotReady::Exited(status)) => {
                    let stderr = proc.finish_stderr();
                    if stderr.contains("already in use") && attempt < START_ATTEMPTS {
                        eprintln!("attempt {attempt}: a port of {base_port}..{} was taken; retrying", base_port + 3);
                        continue;
                    }
                    panic!("the all-in-one exited ({status}) before it was ready; stderr:\n{stderr}");
                }
                Err(NotReady::TimedOut(last)) => {
                    panic!("the all-in-one was not ready within {READY_TIMEOUT:?}: {last}; stderr:\n{}", proc.stderr())
                }
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// Ports of contacts, scheduling, mediation, reporting.
    pub(crate) fn ports(&self) -> [u16; 4] {
        [self.base_port, self.base_port + 1, self.base_port + 2, self.base_port + 3]
    }
}

/// Four `liaison serve <service>` processes configured by environment variables only, as a cluster is.
pub(crate) struct Cluster {
    /// contacts, scheduling, mediation, reporting.
    pub(crate) procs: Vec<Proc>,
    pub(crate) ports: [u16; 4],
}

impl Cluster {
    /// Starts the four services, in dependency order, on `database_urls` (contacts, scheduling, mediation,
    /// reporting), each one SERVING before the next starts.
    pub(crate) async fn start(database_urls: &[String; 4]) -> Self {
        binary();
        let started = Instant::now();
        'attempt: for attempt in 1..=START_ATTEMPTS {
            let ports = free_ports::<4>();
            let mut procs = Vec::new();
            for (index, service) in SERVICES.iter().enumerate() {
                let mut command = liaison();
                command
                    .args(["serve", service])
                    .env("LIAISON_LISTEN_ADDR", format!("127.0.0.1:{}", ports[index]))
                    .env("DATABASE_URL", &database_urls[index])
                    .env("LIAISON_CALL_TIMEOUT_MS", "3000")
                    .env("LIAISON_CONNECT_TIMEOUT_MS", "1000");
                // Each service gets the addresses of the services it calls, and only those.
                let peers =
                    [("LIAISON_CONTACTS_ADDR", 0), ("LIAISON_SCHEDULING_ADDR", 1), ("LIAISON_MEDIATION_ADDR", 2)];
                for (variable, peer) in peers.into_iter().take(index) {
                    command.env(variable, url(ports[peer]));
                }
                let mut proc = Proc::spawn(service, command);
                match wait_ready(&mut proc, ports[index], GRPC_SERVICES[index]).await {
                    Ok(()) => procs.push(proc),
                    Err(NotReady::Exited(status)) => {
                        let stderr = proc.finish_stderr();
                        if stderr.contains("already in use") && attempt < START_ATTEMPTS {
                            eprintln!("attempt {attempt}: port {} was taken; retrying", ports[index]);
                            continue 'attempt;
                        }
                        panic!("`liaison serve {service}` exited ({status}) before it was ready; stderr:\n{stderr}");
                    }
                    Err(NotReady::TimedOut(last)) => panic!(
                        "`liaison serve {service}` was not ready within {READY_TIMEOUT:?}: {last}; stderr:\n{}",
                        proc.stderr()
                    ),
                }
            }
            eprintln!("four-process cluster on {ports:?} ready in {:?}", started.elapsed());
            return Self { procs, ports };
        }
        unreachable!("the loop returns or panics")
    }

    /// SIGTERM to each process, the dependants first; each must exit 0 within [`STOP_TIMEOUT`].
    pub(crate) async fn stop_gracefully(&mut self) {
        for proc in self.procs.iter_mut().rev() {
            proc.stop_gracefully().await;
        }
    }
}

/// Asserts that each service answers health SERVING for its own name and for the whole server (`""`).
pub(crate) async fn assert_all_serving(ports: [u16; 4]) {
    for (port, service) in ports.into_iter().zip(GRPC_SERVICES) {
        for name in [service, ""] {
            let status = health(port, name).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(status, ServingStatus::Serving, "health of '{name}' on port {port}");
        }
    }
}

/// Asserts that `proc` logged, for each service, a `listening` line naming it and its address.
pub(crate) async fn assert_listening_logged(proc: &Proc, services: &[&str], ports: &[u16]) {
    for (service, port) in services.iter().zip(ports) {
        let service_field = format!("service=\"{service}\"");
        let addr = format!("127.0.0.1:{port}");
        proc.wait_for_log(&format!("`listening` for {service} on {addr}"), Duration::from_secs(2), |line| {
            line.contains("listening") && line.contains(&service_field) && line.contains(&addr)
        })
        .await;
    }
}

/// The flow that crosses all four services: an organisation and a contact on contacts, a meeting with the
/// contact on scheduling (which checks the participant on contacts), a case between the contact and the
/// organisation on mediation (which checks the parties on contacts), and reporting's dashboard counting them.
pub(crate) async fn cross_service_flow(ports: [u16; 4]) {
    let [contacts_port, scheduling_port, mediation_port, reporting_port] = ports;
    let mut contacts = ContactsServiceClient::connect(url(contacts_port)).await.expect("connect a client to contacts");
    let organization = contacts
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "Ministry of Water".into(),
                kind: OrganizationKind::GovernmentBody as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("CreateOrganization")
        .into_inner()
        .organization
        .expect("CreateOrganization returns the organisation");
    assert!(organization.name.starts_with("organizations/"), "organisation name {:?}", organization.name);

    let contact = contacts
        .create_contact(CreateContactRequest {
            contact: Some(Contact {
                display_name: "Amina Okafor".into(),
                email: "amina@example.org".into(),
                time_zone: "Africa/Lagos".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("CreateContact")
        .into_inner()
        .contact
        .expect("CreateContact returns the contact");
    assert!(contact.name.starts_with("contacts/"), "contact name {:?}", contact.name);
    let fetched = contacts
        .get_contact(GetContactRequest { name: contact.name.clone() })
        .await
        .expect("GetContact")
        .into_inner()
        .contact
        .expect("GetContact returns the contact");
    assert_eq!(fetched, contact, "GetContact returns what CreateContact returned");

    let mut scheduling =
        SchedulingServiceClient::connect(url(scheduling_port)).await.expect("connect a client to scheduling");
    let meeting = scheduling
        .create_meeting(CreateMeetingRequest {
            meeting: Some(Meeting {
                title: "Water rights: first hearing".into(),
                start_time: Some(prost_types::Timestamp { seconds: 1_900_000_000, nanos: 0 }),
                end_time: Some(prost_types::Timestamp { seconds: 1_900_003_600, nanos: 0 }),
                time_zone: "Africa/Lagos".into(),
                participants: vec![contact.name.clone()],
                ..Default::default()
            }),
            request_id: "e2e-meeting-1".into(),
        })
        .await
        .expect("CreateMeeting (scheduling checks the participant on contacts)")
        .into_inner()
        .meeting
        .expect("CreateMeeting returns the meeting");
    assert!(meeting.name.starts_with("meetings/"), "meeting name {:?}", meeting.name);
    assert_eq!(meeting.participants, vec![contact.name.clone()]);

    let mut mediation =
        MediationServiceClient::connect(url(mediation_port)).await.expect("connect a client to mediation");
    let case = mediation
        .open_case(OpenCaseRequest {
            case: Some(Case {
                title: "Borehole access dispute".into(),
                parties: vec![contact.name.clone(), organization.name.clone()],
                ..Default::default()
            }),
            request_id: "e2e-case-1".into(),
        })
        .await
        .expect("OpenCase (mediation checks the parties on contacts)")
        .into_inner()
        .case
        .expect("OpenCase returns the case");
    assert!(case.name.starts_with("cases/"), "case name {:?}", case.name);
    assert_eq!(case.state, CaseState::Open as i32, "a new case is OPEN");

    let mut reporting =
        ReportingServiceClient::connect(url(reporting_port)).await.expect("connect a client to reporting");
    let deadline = Instant::now() + DASHBOARD_TIMEOUT;
    let started = Instant::now();
    loop {
        let dashboard = reporting
            .get_dashboard(GetDashboardRequest {})
            .await
            .expect("GetDashboard")
            .into_inner()
            .dashboard
            .expect("GetDashboard returns a dashboard");
        let counts =
            (dashboard.organization_count, dashboard.contact_count, dashboard.meeting_count, dashboard.open_case_count);
        if counts == (1, 1, 1, 1) {
            assert!(dashboard.update_time.is_some(), "a dashboard that counts something has an update_time");
            eprintln!("dashboard caught up in {:?}", started.elapsed());
            return;
        }
        assert!(
            Instant::now() < deadline,
            "reporting's dashboard did not show (organizations, contacts, meetings, open cases) = (1, 1, 1, 1) \
             within {DASHBOARD_TIMEOUT:?}; last: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The result of running the binary to its end.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    /// Without colour codes.
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

/// Runs `command` until it ends; panics if it still runs after `timeout` (and kills it).
pub(crate) async fn run_to_end(name: &str, command: Command, timeout: Duration) -> Finished {
    let started = Instant::now();
    let mut proc = Proc::spawn(name, command);
    let Some(status) = proc.wait_exit(timeout).await else {
        panic!("{name} was still running after {timeout:?}; stderr so far:\n{}", proc.stderr())
    };
    let elapsed = started.elapsed();
    Finished { status, stderr: proc.finish_stderr(), elapsed }
}

/// `liaison migrate <service> --database-url <url>` must exit 0.
pub(crate) async fn migrate(service: &str, database_url: &str) {
    let mut command = liaison();
    command.args(["migrate", service, "--database-url", database_url]);
    let done = run_to_end(&format!("migrate {service}"), command, Duration::from_secs(30)).await;
    assert!(
        done.status.success(),
        "`liaison migrate {service} --database-url {database_url}` exited with {}; stderr:\n{}",
        done.status,
        done.stderr
    );
    assert_no_panic("migrate", &done.stderr);
}
