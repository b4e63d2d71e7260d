//! Graceful drain and rolling restarts, end to end, on the test's own PostgreSQL (`faults::postgres`) under the
//! steady write load of careful clients (`faults::load`).
//!
//! - **Drain**: each of the four `liaison serve` processes in turn gets SIGTERM while calls to it are under way.
//!   To be sure calls are *in the server* when the signal lands, the service's database connections go through a
//!   [`FaultProxy`] switched to a delay just before: every call then spends hundreds of milliseconds there. A
//!   focused client of the test's own starts a few such calls (the load has its own under way too), then the
//!   signal is sent, and from that instant the client keeps starting new calls — over its connection open at the
//!   signal (which receives the GOAWAY) and over new connections — until the process has ended. A health Watch
//!   opened beforehand follows the status. Asserted: every call under way at the signal gets its real answer (no
//!   CANCELLED, UNAVAILABLE or broken connection); calls begun after it are refused UNAVAILABLE while the drain
//!   still runs (not queued behind it), none is told INTERNAL or answered past its deadline; health says
//!   NOT_SERVING and the Watch ends; the process exits 0 within the stop timeout. What the runtime does on
//!   SIGTERM (`net::server::serve`): the listener is closed at once (a new connection is refused), every
//!   connection gets a graceful GOAWAY, the calls under way finish, health turns NOT_SERVING and its Watch streams
//!   end, then the process exits.
//! - **Rolling restart**: two replicas of each service (eight processes, each pair on one database), each pair
//!   behind a round-robin TCP balancer of the test's own (`faults::balancer`, as a Kubernetes Service); clients
//!   and the services' peer addresses go through the balancers. Under the load, the replicas are restarted one at
//!   a time (SIGTERM, exit 0, start, SERVING, next). Nothing acknowledged may be lost or duplicated, no write given
//!   up, no answer later than its deadline + 1 s, no code but OK, UNAVAILABLE and ABORTED (a conditional write's
//!   etag moved), and reporting's dashboard must equal the clients' log at the end.
//!
//! A call the client library (tonic over hyper) fails itself on a connection that has received a GOAWAY, or on a
//! new connection reset before the server read it, never reached a server; it is counted apart and allowed (the
//! load retries it with its `request_id`, and nothing is lost or duplicated), as gRPC's own libraries retry it
//! transparently.
//!
//! Each test prints a row per fault: writes acknowledged (in the fault's period), found, duplicates, the longest
//! time a service's clients got only failures, the slowest answer, how long the process took to exit after
//! SIGTERM and to serve again.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use futures::StreamExt;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    Contact, CreateContactRequest, CreateOrganizationRequest, ListOrganizationsRequest, Organization, OrganizationKind,
};
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{Case, Category, ListCasesRequest, OpenCaseRequest, Severity};
use liaison_proto::reporting::v1::GetDashboardRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, ListMeetingsRequest, Meeting};
use liaison_runtime::config::ServiceKind;
use liaison_testkit::cluster::index;
use liaison_testkit::e2e::{self, Cluster, STOP_TIMEOUT};
use liaison_testkit::faults::balancer::Balancer;
use liaison_testkit::faults::load::{self, ClientLog, Counts, Load, LoadSettings, Verification};
use liaison_testkit::faults::postgres::{self, PostgresServer};
use liaison_testkit::faults::proxy::{FaultProxy, Mode};
use liaison_testkit::faults::report::{self, Mark, SLACK, assert_dashboard, optional, print_table, rows};
use liaison_testkit::procs::{Logs, Proc};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long the load runs before the first fault, and after each fault has been repaired.
const STEADY: Duration = Duration::from_secs(2);

/// The delay the drained service's database connections get (each way, per chunk), so that a call spends
/// many times this in the server: long enough that calls started just before the signal are still there when it
/// lands, and that new calls meet the drain while it runs; short enough that they end well within their deadline.
/// Reporting's dashboard makes many more round trips than a write, so its delay is shorter.
fn db_delay(kind: ServiceKind) -> Duration {
    match kind {
        ServiceKind::Reporting => Duration::from_millis(15),
        _ => Duration::from_millis(50),
    }
}

/// How many calls the focused client has under way at the signal.
const FOCUSED: usize = 4;

/// The focused client's deadline.
const FOCUSED_DEADLINE: Duration = Duration::from_secs(5);

/// The deadline of a call begun after the signal (one the server accepted before it saw the signal is slowed
/// as the calls under way are).
const PROBE_DEADLINE: Duration = FOCUSED_DEADLINE;

/// The codes a careful client may be told while a replica restarts: UNAVAILABLE (refused, to be retried
/// elsewhere), and ABORTED (a conditional write's etag moved: the load reads back and retries).
const ALLOWED: [Code; 3] = [Code::Ok, Code::Unavailable, Code::Aborted];

/// A unique prefix for what the focused client writes (the load's own prefix is its `run`).
fn prefix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("fc{:x}", nanos % (1 << 40))
}

/// One call of the focused client.
#[derive(Debug, Clone)]
struct Timed {
    what: String,
    start: Instant,
    end: Instant,
    code: Code,
    message: String,
    /// The status came from the client library, not from a server (it has a source).
    local: bool,
}

impl Timed {
    fn latency(&self) -> Duration {
        self.end - self.start
    }
}

/// The calls, a line each, for a failure's message.
fn describe<'a>(calls: impl IntoIterator<Item = &'a Timed>) -> String {
    calls
        .into_iter()
        .map(|c| format!("  {}: {:?} after {:.2?} {}", c.what, c.code, c.latency(), c.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `call` (which carries its deadline), waiting at most `deadline` + 3 s, and times it.
async fn timed<T>(
    what: String,
    deadline: Duration,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> (Timed, Option<T>) {
    let start = Instant::now();
    let answered = tokio::time::timeout(deadline + Duration::from_secs(3), call).await;
    let end = Instant::now();
    let (code, message, local, value) = match answered {
        Ok(Ok(response)) => (Code::Ok, String::new(), false, Some(response.into_inner())),
        Ok(Err(status)) => {
            let local = std::error::Error::source(&status).is_some();
            (status.code(), status.message().chars().take(160).collect(), local, None)
        }
        Err(_) => (Code::DeadlineExceeded, "no answer: the client gave up".to_owned(), true, None),
    };
    (Timed { what, start, end, code, message, local }, value)
}

fn with_deadline<M>(message: M, deadline: Duration) -> Request<M> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

fn channel(url: String) -> Channel {
    Endpoint::from_shared(url)
        .expect("a valid URL")
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .connect_lazy()
}

/// What the focused client's writes refer to: a contact and an organisation of its own.
#[derive(Debug, Clone)]
struct Fixtures {
    prefix: String,
    contact: String,
    organization: String,
}

/// Makes the fixtures on contacts; the counts it added to the dashboard.
async fn fixtures(contacts: &Channel) -> (Fixtures, Counts) {
    let prefix = prefix();
    let mut client = ContactsServiceClient::new(contacts.clone());
    let contact =
        Contact { display_name: format!("{prefix}-contact"), time_zone: "Europe/Paris".into(), ..Default::default() };
    let contact = client
        .create_contact(CreateContactRequest { contact: Some(contact), request_id: format!("{prefix}-contact") })
        .await
        .expect("the focused client's contact")
        .into_inner()
        .contact
        .expect("a contact");
    let organization = Organization {
        display_name: format!("{prefix}-organization"),
        kind: OrganizationKind::GovernmentBody as i32,
        ..Default::default()
    };
    let organization = client
        .create_organization(CreateOrganizationRequest {
            organization: Some(organization),
            request_id: format!("{prefix}-organization"),
        })
        .await
        .expect("the focused client's organisation")
        .into_inner()
        .organization
        .expect("an organisation");
    let added = Counts { organizations: 1, contacts: 1, ..Counts::default() };
    (Fixtures { prefix, contact: contact.name, organization: organization.name }, added)
}

/// A call that keeps `kind` busy (a write, on reporting a read) — each spends several database round trips in
/// the server; what it added to the dashboard if it was acknowledged.
async fn busy_call(kind: ServiceKind, channel: Channel, fixtures: Fixtures, n: usize) -> (Timed, Counts) {
    let id = format!("{}-{kind}-{n}", fixtures.prefix);
    let what = format!("{kind} in flight #{n}");
    let d = FOCUSED_DEADLINE;
    match kind {
        ServiceKind::Contacts => {
            let organization = Organization {
                display_name: id.clone(),
                kind: OrganizationKind::GovernmentBody as i32,
                ..Default::default()
            };
            let request = CreateOrganizationRequest { organization: Some(organization), request_id: id };
            let mut client = ContactsServiceClient::new(channel);
            let (call, answer) = timed(what, d, client.create_organization(with_deadline(request, d))).await;
            (call, Counts { organizations: i64::from(answer.is_some()), ..Counts::default() })
        }
        ServiceKind::Scheduling => {
            // A slot of its own, far from the load's.
            let start = 2_100_000_000 + (n as i64) * 3600 + (fixtures.prefix.len() as i64);
            let meeting = Meeting {
                title: id.clone(),
                start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
                end_time: Some(prost_types::Timestamp { seconds: start + 1800, nanos: 0 }),
                time_zone: "Europe/Paris".into(),
                participants: vec![fixtures.contact.clone()],
                ..Default::default()
            };
            let request = CreateMeetingRequest { meeting: Some(meeting), request_id: id, ..Default::default() };
            let mut client = SchedulingServiceClient::new(channel);
            let (call, answer) = timed(what, d, client.create_meeting(with_deadline(request, d))).await;
            (call, Counts { meetings: i64::from(answer.is_some()), ..Counts::default() })
        }
        ServiceKind::Mediation => {
            let case = Case {
                title: id.clone(),
                parties: vec![fixtures.contact.clone(), fixtures.organization.clone()],
                category: Category::ResourceAllocation as i32,
                severity: Severity::Medium as i32,
                ..Default::default()
            };
            let request = OpenCaseRequest { case: Some(case), request_id: id };
            let mut client = MediationServiceClient::new(channel);
            let (call, answer) = timed(what, d, client.open_case(with_deadline(request, d))).await;
            (call, Counts { open_cases: i64::from(answer.is_some()), ..Counts::default() })
        }
        ServiceKind::Reporting => {
            let mut client = ReportingServiceClient::new(channel);
            let request = with_deadline(GetDashboardRequest::default(), d);
            (timed(what, d, client.get_dashboard(request)).await.0, Counts::default())
        }
    }
}

/// A cheap read of `kind` begun after the signal.
async fn probe(kind: ServiceKind, channel: Channel, what: String) -> Timed {
    let d = PROBE_DEADLINE;
    match kind {
        ServiceKind::Contacts => {
            let request = with_deadline(ListOrganizationsRequest { page_size: Some(1), ..Default::default() }, d);
            timed(what, d, ContactsServiceClient::new(channel).list_organizations(request)).await.0
        }
        ServiceKind::Scheduling => {
            let request = with_deadline(ListMeetingsRequest { page_size: Some(1), ..Default::default() }, d);
            timed(what, d, SchedulingServiceClient::new(channel).list_meetings(request)).await.0
        }
        ServiceKind::Mediation => {
            let request = with_deadline(ListCasesRequest { page_size: Some(1), ..Default::default() }, d);
            timed(what, d, MediationServiceClient::new(channel).list_cases(request)).await.0
        }
        ServiceKind::Reporting => {
            let request = with_deadline(GetDashboardRequest::default(), d);
            timed(what, d, ReportingServiceClient::new(channel).get_dashboard(request)).await.0
        }
    }
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts {
        organizations: a.organizations + b.organizations,
        contacts: a.contacts + b.contacts,
        meetings: a.meetings + b.meetings,
        open_cases: a.open_cases + b.open_cases,
    }
}

/// A real answer: the server's own, not a drain's or a broken connection's.
fn real_answer(code: Code) -> bool {
    !matches!(code, Code::Cancelled | Code::Unavailable | Code::DeadlineExceeded | Code::Unknown | Code::Internal)
}

/// SIGTERM to `pid`.
fn sigterm(pid: u32) {
    let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("run kill");
    assert!(sent.success(), "kill -TERM {pid} failed: {sent}");
}

/// The load's goals (`faults::report`: nothing lost or duplicated, nothing given up, in time, no INTERNAL
/// answered) and reporting's dashboard equal to `truth`.
async fn assert_goals(
    logs: &Path,
    log: &ClientLog,
    verification: &Verification,
    settings: &LoadSettings,
    reporting: &Channel,
    truth: Counts,
) {
    report::assert_load_goals(logs, log, verification, settings, &report::ALLOWED);
    assert_dashboard("reporting", reporting, truth).await;
}

/// What one drain showed.
struct Drain {
    /// The focused client's calls under way at the signal (all of them, whether they ended before it or not).
    in_flight: Vec<Timed>,
    /// Its calls begun after the signal, until the process ended.
    probes: Vec<Timed>,
    /// From the signal to health's NOT_SERVING on the Watch opened beforehand (None: never seen).
    not_serving_after: Option<Duration>,
    /// How the Watch ended.
    watch_end: String,
    signal: Instant,
    exited_in: Duration,
    added: Counts,
}

/// Follows `kind`'s health on `channel` (a Watch), until the stream ends; the statuses with when each came.
async fn watch_health(
    kind: ServiceKind,
    channel: Channel,
) -> (tokio::task::JoinHandle<(Vec<(Instant, i32)>, String)>, ServingStatus) {
    let mut client = HealthClient::new(channel);
    let request = HealthCheckRequest { service: kind.grpc_service().to_owned() };
    let mut stream = client.watch(request).await.expect("health Watch").into_inner();
    let first = stream.next().await.expect("a first status").expect("a first status");
    let first = ServingStatus::try_from(first.status).unwrap_or(ServingStatus::Unknown);
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(response)) => seen.push((Instant::now(), response.status)),
                Some(Err(status)) => return (seen, format!("{:?}: {}", status.code(), status.message())),
                None => return (seen, "ended".to_owned()),
            }
        }
    });
    (task, first)
}

/// SIGTERM to `kind` while the focused client has [`FOCUSED`] calls under way at it (its database slowed so
/// that they are in the server), and new calls begun from then until the process has ended.
async fn drain(
    cluster: &mut Cluster,
    load: &Load,
    db_proxy: &FaultProxy,
    kind: ServiceKind,
    fixtures: &Fixtures,
) -> Drain {
    let url = cluster.url(kind);
    // The focused client's own connection, opened (and warmed) before: the one that will receive the GOAWAY.
    let own = channel(url.clone());
    let (watch, first) = watch_health(kind, own.clone()).await;
    assert_eq!(first, ServingStatus::Serving, "{kind} serves before its drain");
    db_proxy.set_mode(Mode::Delay(db_delay(kind)));
    // The load has a call under way at it too, as the issue asks (slowed in the server as the focused ones are);
    // waited for first, so that the focused calls start just before the signal whatever this took.
    if !load.wait_in_flight(&[kind], Duration::from_secs(2)).await {
        eprintln!("{kind}: no call of the load under way at the signal");
    }
    let busy: Vec<_> = (0..FOCUSED).map(|n| tokio::spawn(busy_call(kind, own.clone(), fixtures.clone(), n))).collect();
    // Enough for the focused calls to reach the server (loopback), far less than they then spend in it.
    tokio::time::sleep(db_delay(kind)).await;
    let signal = Instant::now();
    let proc = cluster.proc(kind).expect("the service runs");
    sigterm(proc.pid());

    // New calls, from the signal until the process has ended: over the connection that was open at the signal,
    // and over a new connection each time. Each in a task of its own, so that one the server accepted before it
    // saw the signal (and that is slow, as the calls under way are) does not hold back the next.
    let stop = CancellationToken::new();
    let prober = {
        let (stop, own, url) = (stop.clone(), own.clone(), url.clone());
        tokio::spawn(async move {
            let mut probes = Vec::new();
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let what = format!("new call #{n}, open connection");
                probes.push(tokio::spawn(probe(kind, own.clone(), what)));
                let what = format!("new call #{n}, new connection");
                probes.push(tokio::spawn(probe(kind, channel(url.clone()), what)));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut answered = Vec::new();
            for probe in probes {
                answered.push(probe.await.expect("a probe"));
            }
            answered
        })
    };
    let status = proc.wait_exit(STOP_TIMEOUT).await.expect("wait for the exit");
    let exited_in = signal.elapsed();
    stop.cancel();
    let status = status.unwrap_or_else(|| panic!("{kind} did not exit within {STOP_TIMEOUT:?} of SIGTERM"));
    assert!(status.success(), "{kind} exited with {status} after SIGTERM");
    let probes = prober.await.expect("the prober");
    let mut in_flight = Vec::new();
    let mut added = Counts::default();
    for call in busy {
        let (call, counts) = call.await.expect("a focused call");
        in_flight.push(call);
        added = add(added, counts);
    }
    let (seen, watch_end) = tokio::time::timeout(Duration::from_secs(5), watch).await.map_or_else(
        |_| (Vec::new(), "still open 5 s after the exit".to_owned()),
        |joined| joined.expect("the health watcher"),
    );
    let not_serving_after = seen
        .iter()
        .find(|(at, status)| *at >= signal && *status == ServingStatus::NotServing as i32)
        .map(|(at, _)| *at - signal);
    db_proxy.set_mode(Mode::Pass);
    Drain { in_flight, probes, not_serving_after, watch_end, signal, exited_in, added }
}

/// How the client library (tonic over hyper) fails a call itself that no server answered, on a connection going
/// away: `None` for any other outcome. `local` says the status came from the client library (it has a source; a
/// status a server sent has none).
///
/// - "declined": a call it did not send on a connection that had received the server's GOAWAY (hyper's
///   "operation was canceled", which tonic reports as CANCELLED);
/// - "goaway": a call it sent as the GOAWAY crossed it, above the GOAWAY's last stream, so never processed (tonic
///   reports the GOAWAY's NO_ERROR as INTERNAL "h2 protocol error");
/// - "reset": a call over a new connection that the kernel had queued for the listener when the server closed it,
///   reset before the server read a byte (UNKNOWN "transport error": the connect had succeeded).
///
/// The server never saw such a call; gRPC's own libraries retry it transparently, tonic does not, and a careful
/// client retries it as UNAVAILABLE (as the load does, and as the services' own clients do).
fn unsent(code: Code, message: &str, local: bool) -> Option<&'static str> {
    match code {
        Code::Cancelled if message == "operation was canceled" => Some("declined"),
        Code::Internal if local && message.starts_with("h2 protocol error") => Some("goaway"),
        Code::Unknown if local && message == "transport error" => Some("reset"),
        _ => None,
    }
}

/// Whether a call begun after the signal was told what a draining server may tell it: served (the server had
/// not yet seen the signal), UNAVAILABLE, or nothing at all (never sent, or never read).
fn refused_or_served(code: Code, message: &str, local: bool) -> bool {
    matches!(code, Code::Ok | Code::Unavailable) || unsent(code, message, local).is_some()
}

/// What the drain of `kind` must have shown; prints its figures first.
fn assert_drain(kind: ServiceKind, drain: &Drain, log: &ClientLog) {
    let signal = drain.signal;
    let exit = signal + drain.exited_in;
    // Calls under way at the signal: the focused client's, and the load's calls to this service.
    let at_signal: Vec<&Timed> = drain.in_flight.iter().filter(|c| c.end >= signal).collect();
    let cut: Vec<_> = drain.in_flight.iter().filter(|c| !real_answer(c.code)).collect();
    let load_at_signal: Vec<_> =
        log.calls.iter().filter(|c| c.service == kind && c.start < signal && c.end() >= signal).collect();
    let load_cut: Vec<_> = load_at_signal.iter().filter(|c| c.connection_lost || !real_answer(c.code)).collect();
    let last_in_flight = at_signal.iter().map(|c| c.end).max().unwrap_or(signal);

    // Calls begun after it, until the exit.
    let load_after: Vec<_> =
        log.calls.iter().filter(|c| c.service == kind && c.start >= signal && c.start < exit).collect();
    let after: Vec<(Code, &str, bool, Duration, Instant)> = drain
        .probes
        .iter()
        .map(|c| (c.code, c.message.as_str(), c.local, c.latency(), c.end))
        .chain(load_after.iter().map(|c| (c.code, c.message.as_str(), c.connection_lost, c.latency, c.end())))
        .collect();
    let count = |f: &dyn Fn(Code, &str, bool) -> bool| {
        after.iter().filter(|(code, message, local, ..)| f(*code, message, *local)).count()
    };
    let refused = count(&|code, _, _| code == Code::Unavailable);
    let kind_of = |wanted: &'static str| move |code, message: &str, local| unsent(code, message, local) == Some(wanted);
    let (declined, goaway, reset) = (count(&kind_of("declined")), count(&kind_of("goaway")), count(&kind_of("reset")));
    let served = count(&|code, _, _| code == Code::Ok);
    let refused_during =
        after.iter().filter(|(code, .., end)| *code == Code::Unavailable && *end < last_in_flight).count();
    let slowest_refusal =
        after.iter().filter(|(code, ..)| *code != Code::Ok).map(|(.., latency, _)| *latency).max().unwrap_or_default();
    let mut messages: Vec<&str> =
        after.iter().filter(|(code, ..)| *code != Code::Ok).map(|(_, message, ..)| *message).collect();
    messages.sort_unstable();
    messages.dedup();
    eprintln!(
        "{kind}: SIGTERM with {} focused and {} load calls under way: {} cut, the last answered {:.2?} after the \
         signal; {} calls begun after it: {refused} UNAVAILABLE ({refused_during} while the drain ran), {declined} \
         declined by the client on the GOAWAY, {goaway} failed with it, {reset} reset unread, {served} served (begun before the server saw the signal), slowest \
         refusal {slowest_refusal:.2?}; health NOT_SERVING after {:?} (watch {}); exit after {:.2?}; refusals said \
         {messages:?}",
        at_signal.len(),
        load_at_signal.len(),
        cut.len() + load_cut.len(),
        last_in_flight - signal,
        after.len(),
        drain.not_serving_after,
        drain.watch_end,
        drain.exited_in,
    );

    assert!(
        !at_signal.is_empty(),
        "{kind}: none of the focused calls was still under way at the signal:\n{}",
        describe(&drain.in_flight)
    );
    assert!(
        cut.is_empty(),
        "{kind}: calls under way at SIGTERM did not get their real answer:\n{}",
        describe(cut.iter().copied())
    );
    assert!(load_cut.is_empty(), "{kind}: the load's calls under way at SIGTERM were cut: {load_cut:#?}");
    let wrong: Vec<_> = drain.probes.iter().filter(|c| !refused_or_served(c.code, &c.message, c.local)).collect();
    assert!(
        wrong.is_empty(),
        "{kind}: calls begun after SIGTERM got other than UNAVAILABLE:\n{}",
        describe(wrong.iter().copied())
    );
    let load_wrong: Vec<_> =
        load_after.iter().filter(|c| !refused_or_served(c.code, &c.message, c.connection_lost)).collect();
    assert!(
        load_wrong.is_empty(),
        "{kind}: the load's calls begun after SIGTERM got other than UNAVAILABLE: {load_wrong:#?}"
    );
    let late: Vec<_> = drain.probes.iter().filter(|c| c.latency() > PROBE_DEADLINE + SLACK).collect();
    assert!(
        late.is_empty(),
        "{kind}: calls begun after SIGTERM answered past their deadline:\n{}",
        describe(late.iter().copied())
    );
    // The drain refuses new calls while it still finishes the old ones: they are not queued behind it.
    assert!(
        refused_during > 0,
        "{kind}: no new call was refused while the drain was finishing the calls under way:\n{}",
        describe(&drain.probes)
    );
    assert!(
        drain.not_serving_after.is_some(),
        "{kind}: its health Watch never said NOT_SERVING after SIGTERM ({})",
        drain.watch_end
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_calls_under_way_finish_and_refuses_new_ones() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    e2e::binary();
    let began = Instant::now();
    let server = PostgresServer::new().await;
    // Each service reaches its database through a proxy of its own, to slow it while it drains.
    let proxies: Vec<FaultProxy> = ServiceKind::ALL.iter().map(|_| FaultProxy::start(server.addr())).collect();
    let mut urls = Vec::new();
    for (kind, proxy) in ServiceKind::ALL.iter().zip(&proxies) {
        server.create_database(kind.name()).await;
        urls.push(PostgresServer::url_via(proxy.addr(), kind.name()));
    }
    let urls: [String; 4] = urls.try_into().expect("four databases");
    let logs = tempfile::tempdir().expect("a directory for the logs");
    let mut launcher = e2e::launcher();
    launcher.logs = Logs::Dir(logs.path().to_owned());
    let mut cluster = Cluster::launch(&launcher, &urls).await.unwrap_or_else(|e| panic!("{e}"));
    let channels = load::channels(cluster.ports);
    let (fixtures, mut added) = fixtures(&channels[index(ServiceKind::Contacts)]).await;
    let settings = LoadSettings::default();
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![Mark::new("none (warm-up)", load.started).with("-").with("-")];
    tokio::time::sleep(STEADY).await;
    let mut drains = Vec::new();
    for kind in ServiceKind::ALL {
        let drained = drain(&mut cluster, &load, &proxies[index(kind)], kind, &fixtures).await;
        cluster.respawn(kind).expect("start it again");
        cluster.wait_serving(kind).await.unwrap_or_else(|e| panic!("{e}"));
        let serving_again = drained.signal.elapsed();
        marks.push(
            Mark::new(format!("SIGTERM {kind}"), drained.signal)
                .with(optional(Some(drained.exited_in)))
                .with(optional(Some(serving_again))),
        );
        added = add(added, drained.added);
        drains.push((kind, drained));
        tokio::time::sleep(STEADY).await;
    }
    let log = load.finish().await;
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table(
        "SIGTERM to each service under load",
        &["exited in", "serving again"],
        &rows(&log, &verification, &marks, end, vec![]),
    );
    for (kind, drained) in &drains {
        assert_drain(*kind, drained, &log);
    }
    let truth = add(log.truth(), added);
    assert_goals(logs.path(), &log, &verification, &settings, &channels[index(ServiceKind::Reporting)], truth).await;
    cluster.stop().await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("draining each service under load took {:.1?}", began.elapsed());
}

/// The eight processes of the rolling restart: two replicas of each service, each pair behind its balancer.
struct Replicas {
    launcher: liaison_testkit::cluster::Launcher,
    balancers: Vec<Balancer>,
    /// Per service ([`ServiceKind::ALL`] order), its two replicas' ports and processes.
    ports: [[u16; 2]; 4],
    procs: Vec<[Option<Proc>; 2]>,
    urls: [String; 4],
}

impl Replicas {
    fn start(&mut self, kind: ServiceKind, replica: usize) {
        let i = index(kind);
        let balancers = &self.balancers;
        let command =
            self.launcher.serve(kind, self.ports[i][replica], &self.urls[i], |peer| balancers[index(peer)].url());
        let name = format!("{kind}-{replica}");
        self.procs[i][replica] =
            Some(Proc::start(&name, command, &self.launcher.logs).unwrap_or_else(|e| panic!("{e}")));
    }

    async fn wait_serving(&mut self, kind: ServiceKind, replica: usize) {
        let (i, readiness) = (index(kind), self.launcher.readiness);
        let port = self.ports[i][replica];
        let proc = self.procs[i][replica].as_mut().expect("started");
        proc.serving(&readiness, port, kind.grpc_service()).await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// SIGTERM, and the exit (status 0) within the stop timeout; how long it took.
    async fn stop(&mut self, kind: ServiceKind, replica: usize) -> Duration {
        let proc = self.procs[index(kind)][replica].as_mut().expect("started");
        let started = Instant::now();
        let status = proc.stop(STOP_TIMEOUT).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "{kind} replica {replica} exited with {status} after SIGTERM");
        started.elapsed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_of_two_replicas_each_loses_and_duplicates_nothing() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    e2e::binary();
    let began = Instant::now();
    let server = PostgresServer::new().await;
    let mut urls = Vec::new();
    for kind in ServiceKind::ALL {
        urls.push(server.create_database(kind.name()).await);
    }
    let logs = tempfile::tempdir().expect("a directory for the logs");
    let mut launcher = e2e::launcher();
    launcher.logs = Logs::Dir(logs.path().to_owned());
    let free = e2e::free_ports::<8>();
    let ports = [[free[0], free[1]], [free[2], free[3]], [free[4], free[5]], [free[6], free[7]]];
    let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let balancers = ports.iter().map(|pair| Balancer::start(pair.iter().map(|p| loopback(*p)).collect())).collect();
    let mut replicas = Replicas {
        launcher,
        balancers,
        ports,
        procs: (0..4).map(|_| [None, None]).collect(),
        urls: urls.try_into().expect("four databases"),
    };
    // In dependency order, each pair SERVING before the services that call it start.
    for kind in ServiceKind::ALL {
        for replica in 0..2 {
            replicas.start(kind, replica);
        }
        for replica in 0..2 {
            replicas.wait_serving(kind, replica).await;
        }
    }
    eprintln!("eight processes behind four balancers ready in {:.2?}", began.elapsed());
    let channels = load::channels(
        replicas.balancers.iter().map(|b| b.addr().port()).collect::<Vec<_>>().try_into().expect("four"),
    );
    let settings = LoadSettings::default();
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![Mark::new("none (warm-up)", load.started).with("-").with("-")];
    tokio::time::sleep(STEADY).await;
    for kind in ServiceKind::ALL {
        for replica in 0..2 {
            let callers = match kind {
                ServiceKind::Contacts => vec![ServiceKind::Contacts, ServiceKind::Scheduling, ServiceKind::Mediation],
                other => vec![other],
            };
            load.wait_in_flight(&callers, Duration::from_secs(2)).await;
            let at = Instant::now();
            let exited_in = replicas.stop(kind, replica).await;
            replicas.start(kind, replica);
            replicas.wait_serving(kind, replica).await;
            let serving_again = at.elapsed();
            eprintln!(
                "{kind} replica {replica}: exited {exited_in:.2?} after SIGTERM, SERVING again after {serving_again:.2?}"
            );
            marks.push(
                Mark::new(format!("restart {kind} #{replica}"), at)
                    .with(optional(Some(exited_in)))
                    .with(optional(Some(serving_again))),
            );
            // The restarted replica takes new connections before its twin goes.
            tokio::time::sleep(STEADY / 2).await;
        }
    }
    tokio::time::sleep(STEADY).await;
    let log = load.finish().await;
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table(
        "rolling restart of two replicas of each service under load",
        &["exited in", "serving again"],
        &rows(&log, &verification, &marks, end, vec![]),
    );
    for (kind, balancer) in ServiceKind::ALL.iter().zip(&replicas.balancers) {
        eprintln!("balancer of {kind}: {:?}", balancer.counters());
    }
    // Calls the client library failed itself, on a connection that had received a replica's GOAWAY: declined
    // before being sent (CANCELLED "operation was canceled"), or failed with the GOAWAY's NO_ERROR (INTERNAL "h2
    // protocol error"). The server never saw them (nothing was lost or duplicated: see below); tonic does not
    // retry them transparently as gRPC's own libraries do, so the load retries them as UNAVAILABLE.
    let unsent = |c: &load::CallRecord| unsent(c.code, &c.message, c.connection_lost).is_some();
    let unsent_calls: Vec<_> = log.calls.iter().filter(|c| unsent(c)).collect();
    eprintln!(
        "calls the client library failed itself on a connection going away: {} ({} declined, {} failed with the \
         GOAWAY), the slowest in {:.2?}",
        unsent_calls.len(),
        unsent_calls.iter().filter(|c| c.code == Code::Cancelled).count(),
        unsent_calls.iter().filter(|c| c.connection_lost).count(),
        unsent_calls.iter().map(|c| c.latency).max().unwrap_or_default(),
    );
    let wrong: Vec<_> = log.calls.iter().filter(|c| !ALLOWED.contains(&c.code) && !unsent(c)).collect();
    assert!(wrong.is_empty(), "answers other than {ALLOWED:?}: {wrong:#?}");
    assert_goals(logs.path(), &log, &verification, &settings, &channels[index(ServiceKind::Reporting)], log.truth())
        .await;
    for kind in ServiceKind::ALL.iter().rev() {
        for replica in 0..2 {
            replicas.stop(*kind, replica).await;
        }
    }
    eprintln!("the rolling restart under load took {:.1?}", began.elapsed());
}
