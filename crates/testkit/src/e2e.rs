//! The end-to-end tests' side of the process harness: the `liaison` binary they run (built once per test binary,
//! or named by `LIAISON_E2E_BIN`), the [`Launcher`] they start it with, the topologies started in one call, the
//! panicking forms of the harness's fallible calls, and the checks and the cross-service flow that every topology
//! (all-in-one, four processes on SQLite, four processes on PostgreSQL) must pass.
use crate::Call;
use crate::cluster::{Launcher, Pki};
use crate::procs::{self, HealthTls};
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    Contact, CreateContactRequest, CreateOrganizationRequest, GetContactRequest, Organization, OrganizationKind,
};
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{Case, CaseState, Category, OpenCaseRequest, Severity};
use liaison_proto::reporting::v1::GetDashboardRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};
use liaison_runtime::config::ServiceKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

pub use crate::cluster::{AllInOne, Cluster};
pub use crate::procs::{Proc, health, health_over, strip_ansi, url};

/// The four services, in port order (contacts = base, scheduling = base + 1, …).
pub const SERVICES: [&str; 4] = ["contacts", "scheduling", "mediation", "reporting"];

/// Their fully-qualified gRPC names (also their health-check names), in the same order.
pub const GRPC_SERVICES: [&str; 4] = [
    "liaison.contacts.v1.ContactsService",
    "liaison.scheduling.v1.SchedulingService",
    "liaison.mediation.v1.MediationService",
    "liaison.reporting.v1.ReportingService",
];

/// How long a server may take to report SERVING.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a graceful stop (SIGTERM) may take.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long reporting may take to show what the other services did. It usually takes well under a second, but
/// on PostgreSQL a change is served only once every older transaction on the server has ended — other tests'
/// `CREATE`/`DROP DATABASE` included — so a loaded shared server can hold it back for seconds.
pub const DASHBOARD_TIMEOUT: Duration = Duration::from_secs(15);

/// Attempts at starting a topology when a port picked as free was taken by someone else meanwhile.
const START_ATTEMPTS: u32 = 5;

/// The root of the workspace.
pub fn workspace_root() -> PathBuf {
    let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit.ancestors().nth(2).expect("testkit lives in <workspace>/crates/testkit").to_path_buf()
}

/// The real `liaison` binary, built once per test binary with the debug profile; or the binary named by
/// `LIAISON_E2E_BIN` (e.g. a release build), which is then used as it is. A failed build fails every test that
/// needs the binary, with cargo's output, without building again.
pub fn binary() -> &'static Path {
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
            cargo_failure(&String::from_utf8_lossy(&output.stderr))
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

/// What to quote of a failed cargo build: its errors first (with the lines that follow each), then its last lines.
/// A log viewer that keeps only the head of a long message still shows why, not a list of `Compiling` lines.
fn cargo_failure(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim_start().starts_with("Compiling ")).collect();
    let mut errors = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with("error") {
            let end = (i + 12).min(lines.len());
            errors.extend_from_slice(&lines[i..end]);
            i = end;
        } else {
            i += 1;
        }
    }
    let tail = &lines[lines.len().saturating_sub(30)..];
    let free = std::process::Command::new("df")
        .args(["-h", "."])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    format!(
        "errors:\n{}\n\nlast lines ({} lines in all, `Compiling` lines left out):\n{}\n\ndisk:\n{free}",
        errors.join("\n"),
        stderr.lines().count(),
        tail.join("\n")
    )
}

/// A command running the binary, with none of the caller's Liaison configuration leaking into it.
pub fn liaison() -> Command {
    procs::clean_command(binary())
}

/// How the tests start the binary: stderr in memory (printed when a test fails), deadlines between services of
/// 3 s (1 s to connect) so that a loaded machine does not time out the cross-service flow.
pub fn launcher() -> Launcher {
    let mut launcher = Launcher::new(binary());
    launcher.env = vec![
        ("LIAISON_CALL_TIMEOUT_MS".to_owned(), "3000".to_owned()),
        ("LIAISON_CONNECT_TIMEOUT_MS".to_owned(), "1000".to_owned()),
    ];
    launcher.attempts = START_ATTEMPTS;
    launcher.readiness = launcher_readiness();
    launcher.stop_timeout = STOP_TIMEOUT;
    launcher
}

/// As [`procs::free_port`], panicking.
pub fn free_port() -> u16 {
    procs::free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// As [`procs::free_ports`], panicking.
pub fn free_ports<const N: usize>() -> [u16; N] {
    procs::free_ports::<N>().unwrap_or_else(|e| panic!("{e}"))
}

/// Starts `command` as `name` (stdout closed, stderr in memory) and waits until `service` on `port` is SERVING,
/// within [`READY_TIMEOUT`]; the failure, with the process's stderr, is an error to retry on when it says a port
/// was taken (see [`with_free_ports`]).
pub async fn serving(name: &str, command: Command, port: u16, service: &str) -> Result<Proc, procs::Error> {
    serving_over(name, command, port, service, None).await
}

/// As [`serving`], asking over TLS when `tls` is given.
pub async fn serving_over(
    name: &str,
    mut command: Command,
    port: u16,
    service: &str,
    tls: Option<&HealthTls>,
) -> Result<Proc, procs::Error> {
    command.stdout(Stdio::null());
    let mut proc = Proc::start(name, command, &procs::Logs::Memory)?;
    proc.serving_over(&launcher_readiness(), port, service, tls).await?;
    Ok(proc)
}

/// Runs `start` (which picks free ports and starts processes on them) again while it fails because a port it
/// picked was taken meanwhile, up to five times; panics with any other failure.
pub async fn with_free_ports<T>(start: impl AsyncFnMut() -> Result<T, procs::Error>) -> T {
    procs::retry_on_taken_port(START_ATTEMPTS, start).await.unwrap_or_else(|e| panic!("{e}"))
}

fn launcher_readiness() -> procs::Readiness {
    procs::Readiness { timeout: READY_TIMEOUT, ..procs::Readiness::default() }
}

/// The tests' conveniences: each panics (with the process's stderr) where the harness returns an error.
impl Proc {
    /// Starts `command` with stdout closed and stderr in memory; panics if it cannot start.
    pub fn spawn(name: &str, mut command: Command) -> Self {
        command.stdout(Stdio::null());
        Self::start(name, command, &procs::Logs::Memory).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end; panics if it does not.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let started = Instant::now();
        let status = self.stop(timeout).await.unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{} stopped after SIGTERM in {:?} ({status})", self.name(), started.elapsed());
        status
    }

    /// Sends SIGTERM and asserts a clean exit (status 0) within [`STOP_TIMEOUT`] and no panic on stderr.
    pub async fn stop_gracefully(&mut self) {
        let status = self.terminate(STOP_TIMEOUT).await;
        let stderr = self.finish_stderr();
        assert!(status.success(), "{} exited with {status} after SIGTERM; stderr:\n{stderr}", self.name());
        assert_no_panic(self.name(), &stderr);
    }

    /// Waits until a line of stderr satisfies `matches`; panics after `timeout`.
    pub async fn wait_for_log(&self, what: &str, timeout: Duration, matches: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stderr().lines().any(&matches) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("{} never logged {what} within {timeout:?}; stderr:\n{}", self.name(), self.stderr());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Asserts that a process's stderr shows no panic and no backtrace.
pub fn assert_no_panic(name: &str, stderr: &str) {
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("panicked") && !lower.contains("backtrace"),
        "{name} panicked or printed a backtrace:\n{stderr}"
    );
}

impl AllInOne {
    /// Starts the all-in-one of [`binary`] with a temporary data directory of its own and waits until its four
    /// services are SERVING; panics if it cannot.
    pub async fn start() -> Self {
        binary();
        let started = Instant::now();
        let data_dir = tempfile::tempdir().expect("create a temporary data directory");
        let mut all_in_one = Self::launch(&launcher(), data_dir.path()).await.unwrap_or_else(|e| panic!("{e}"));
        all_in_one._temporary = Some(data_dir);
        let ports = all_in_one.ports();
        eprintln!("all-in-one on {}..{} ready in {:?}", ports[0], ports[3], started.elapsed());
        all_in_one
    }
}

impl Cluster {
    /// Starts the four services of [`binary`] on `database_urls` (contacts, scheduling, mediation, reporting),
    /// each one SERVING before the next starts; panics if it cannot.
    pub async fn start(database_urls: &[String; 4]) -> Self {
        binary();
        let started = Instant::now();
        let cluster = Self::launch(&launcher(), database_urls).await.unwrap_or_else(|e| panic!("{e}"));
        eprintln!("four-process cluster on {:?} ready in {:?}", cluster.ports, started.elapsed());
        cluster
    }

    /// SIGTERM to each process, the dependants first; each must exit 0 within [`STOP_TIMEOUT`].
    pub async fn stop_gracefully(&mut self) {
        for proc in self.procs.iter_mut().rev() {
            proc.stop_gracefully().await;
        }
    }

    /// As [`Cluster::start`], the way a deployment runs the services: a development PKI made by the binary
    /// (`liaison dev-pki`) in a temporary directory, every service with TLS on, bearer tokens required, its own
    /// service token and its peers at `https://127.0.0.1:<port>`.
    pub async fn start_secured(database_urls: &[String; 4]) -> SecuredCluster {
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("create a temporary directory for the PKI");
        let pki = Pki::make(binary(), dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let mut launcher = launcher();
        launcher.pki = Some(pki.clone());
        let cluster = Self::launch(&launcher, database_urls).await.unwrap_or_else(|e| panic!("{e}"));
        eprintln!("secured four-process cluster on {:?} ready in {:?}", cluster.ports, started.elapsed());
        SecuredCluster { cluster, pki, _dir: dir }
    }
}

/// Four `liaison serve` processes with TLS and tokens ([`Cluster::start_secured`]), and what a client needs to
/// call them: an https channel trusting the PKI's CA and a bearer token.
pub struct SecuredCluster {
    pub cluster: Cluster,
    pub pki: Pki,
    /// The PKI's files, removed after the processes (declared last).
    _dir: tempfile::TempDir,
}

impl SecuredCluster {
    /// A lazy channel to `kind` over TLS (the PKI's CA; the certificate names `localhost`).
    pub fn channel(&self, kind: ServiceKind) -> Channel {
        tls_channel(self.cluster.ports[crate::cluster::index(kind)], &self.client_tls())
    }

    /// How a client reaches the services over TLS.
    pub fn client_tls(&self) -> HealthTls {
        self.pki.client_tls().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A bearer token for `role` (`viewer`, `officer`, `mediator`, `admin`, `service`) and `subject`, from
    /// `liaison token` with the PKI's signing key.
    pub fn token(&self, role: &str, subject: &str) -> String {
        self.pki.token(binary(), role, subject).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Channels to the four services, calling as `role`/`subject`.
    pub fn access(&self, role: &str, subject: &str) -> Access {
        Access::secured(self.cluster.ports, &self.client_tls(), &self.token(role, subject))
    }

    /// SIGTERM to each process, the dependants first; each must exit 0 within [`STOP_TIMEOUT`].
    pub async fn stop_gracefully(&mut self) {
        self.cluster.stop_gracefully().await;
    }
}

/// A lazy channel to `https://127.0.0.1:<port>`, verifying the server as `tls` says.
pub fn tls_channel(port: u16, tls: &HealthTls) -> Channel {
    tls.endpoint(port).unwrap_or_else(|e| panic!("https://127.0.0.1:{port}: {e}")).connect_lazy()
}

/// Adds `authorization: Bearer <token>` to every call (nothing when it holds no token).
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(token: &str) -> Self {
        Self(Some(format!("Bearer {token}").parse().expect("a token is valid ASCII metadata")))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel that sends the caller's token.
pub type Authorized = InterceptedService<Channel, Bearer>;

/// How a test reaches the four services (contacts, scheduling, mediation, reporting): a channel to each and
/// the bearer token it calls with.
#[derive(Debug, Clone)]
pub struct Access {
    pub channels: [Channel; 4],
    pub bearer: Bearer,
}

impl Access {
    /// Plaintext, no token (the all-in-one and the development cluster).
    pub fn plaintext(ports: [u16; 4]) -> Self {
        let channels =
            ports.map(|port| tonic::transport::Endpoint::from_shared(url(port)).expect("a valid URL").connect_lazy());
        Self { channels, bearer: Bearer::default() }
    }

    /// Over TLS (`tls`), with `token`.
    pub fn secured(ports: [u16; 4], tls: &HealthTls, token: &str) -> Self {
        Self { channels: ports.map(|port| tls_channel(port, tls)), bearer: Bearer::new(token) }
    }

    /// The channel to `kind`, sending the token.
    pub fn channel(&self, kind: ServiceKind) -> Authorized {
        let channel = self.channels[crate::cluster::index(kind)].clone();
        InterceptedService::new(channel, self.bearer.clone())
    }
}

/// Asserts that each service answers health SERVING for its own name and for the whole server (`""`).
pub async fn assert_all_serving(ports: [u16; 4]) {
    assert_all_serving_over(ports, None).await;
}

/// As [`assert_all_serving`], over TLS when `tls` is given.
pub async fn assert_all_serving_over(ports: [u16; 4], tls: Option<&HealthTls>) {
    for (port, service) in ports.into_iter().zip(GRPC_SERVICES) {
        for name in [service, ""] {
            let status = health_over(port, name, tls).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(status, ServingStatus::Serving, "health of '{name}' on port {port}");
        }
    }
}

/// Asserts that `proc` logged, for each service, a `listening` line naming it and its address.
pub async fn assert_listening_logged(proc: &Proc, services: &[&str], ports: &[u16]) {
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
pub async fn cross_service_flow(ports: [u16; 4]) {
    cross_service_flow_with(&Access::plaintext(ports)).await;
}

/// As [`cross_service_flow`], through `access` (e.g. TLS and a token that may create all of it: `officer`).
pub async fn cross_service_flow_with(access: &Access) {
    let mut contacts = ContactsServiceClient::new(access.channel(ServiceKind::Contacts));
    let organization = contacts
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "Ministry of Water".into(),
                kind: OrganizationKind::GovernmentBody as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
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
        .ok()
        .await
        .contact
        .expect("CreateContact returns the contact");
    assert!(contact.name.starts_with("contacts/"), "contact name {:?}", contact.name);
    let fetched = contacts
        .get_contact(GetContactRequest { name: contact.name.clone() })
        .ok()
        .await
        .contact
        .expect("GetContact returns the contact");
    assert_eq!(fetched, contact, "GetContact returns what CreateContact returned");

    // Scheduling checks the participant on contacts.
    let mut scheduling = SchedulingServiceClient::new(access.channel(ServiceKind::Scheduling));
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
            ..Default::default()
        })
        .ok()
        .await
        .meeting
        .expect("CreateMeeting returns the meeting");
    assert!(meeting.name.starts_with("meetings/"), "meeting name {:?}", meeting.name);
    assert_eq!(meeting.participants, vec![contact.name.clone()]);

    // Mediation checks the parties on contacts.
    let mut mediation = MediationServiceClient::new(access.channel(ServiceKind::Mediation));
    let case = mediation
        .open_case(OpenCaseRequest {
            case: Some(Case {
                title: "Borehole access dispute".into(),
                parties: vec![contact.name.clone(), organization.name.clone()],
                category: Category::ResourceAllocation as i32,
                severity: Severity::High as i32,
                ..Default::default()
            }),
            request_id: "e2e-case-1".into(),
        })
        .ok()
        .await
        .case
        .expect("OpenCase returns the case");
    assert!(case.name.starts_with("cases/"), "case name {:?}", case.name);
    assert_eq!(case.state, CaseState::Open as i32, "a new case is OPEN");

    let mut reporting = ReportingServiceClient::new(access.channel(ServiceKind::Reporting));
    let deadline = Instant::now() + DASHBOARD_TIMEOUT;
    let started = Instant::now();
    loop {
        let dashboard = reporting
            .get_dashboard(GetDashboardRequest::default())
            .ok()
            .await
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
pub struct Finished {
    pub status: ExitStatus,
    /// Without colour codes.
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `command` until it ends; panics if it still runs after `timeout` (and kills it).
pub async fn run_to_end(name: &str, command: Command, timeout: Duration) -> Finished {
    let started = Instant::now();
    let mut proc = Proc::spawn(name, command);
    let Some(status) = proc.wait_exit(timeout).await.unwrap_or_else(|e| panic!("{e}")) else {
        panic!("{name} was still running after {timeout:?}; stderr so far:\n{}", proc.stderr())
    };
    let elapsed = started.elapsed();
    Finished { status, stderr: proc.finish_stderr(), elapsed }
}

/// `liaison migrate <service> --database-url <url>` must exit 0.
pub async fn migrate(service: &str, database_url: &str) {
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
