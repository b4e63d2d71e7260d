//! A steady mixed write load on the four services, as careful clients make it, with a client-side log of what
//! was acknowledged — so that a fault test can inject a fault meanwhile and then check that nothing acknowledged
//! was lost or duplicated.
//!
//! Each of [`LoadSettings::workers`] tasks repeats: an organisation (every third round), a contact, an update of
//! one of its contacts (conditional on the etag it last saw), a meeting with that contact, a case between its
//! contact and organisation (every other round) that it then acknowledges (RECEIVED → ACKNOWLEDGED, conditional
//! on the etag) and annotates (AddCaseNote), and now and then a read of reporting's dashboard. Every create
//! carries a `request_id`, which is also the display name or title it creates (so that a list shows which key
//! made which resource). Every call has a deadline; a call that fails UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED
//! or ABORTED is retried with the same `request_id`, with backoff, for a bounded time; a conditional write that
//! is ABORTED reads the resource to tell "my earlier attempt was applied" from "someone else changed it".
//!
//! The [`ClientLog`] keeps every acknowledged write ([`Ack`]: resource name, request id, etag) and every call
//! attempt ([`CallRecord`]: service, start, latency, code), from which [`ClientLog::windows`] tells how long each
//! service was unavailable as its clients saw it. [`verify`] reads everything back; [`HealthWatch`] follows the
//! services' gRPC health meanwhile.
use crate::cluster::index;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    Contact, CreateContactRequest, CreateOrganizationRequest, GetContactRequest, GetOrganizationRequest,
    ListContactsRequest, ListOrganizationsRequest, Organization, OrganizationKind, UpdateContactRequest,
};
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{
    AcknowledgeCaseRequest, AddCaseNoteRequest, Case, CaseNote, Category, GetCaseRequest, ListCaseNotesRequest,
    ListCasesRequest, NoteVisibility, OpenCaseRequest, Severity, Stage,
};
use liaison_proto::reporting::v1::GetDashboardRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, GetMeetingRequest, ListMeetingsRequest, Meeting};
use liaison_runtime::config::ServiceKind;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long past its deadline the client waits for an answer before it gives up on the call itself (so that an
/// answer later than the deadline is seen, and measured, rather than hidden by the client's own timeout).
const GUARD: Duration = Duration::from_secs(3);

/// The longest pause between two attempts of one write.
const MAX_BACKOFF: Duration = Duration::from_millis(800);

/// How the load runs.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Concurrent clients.
    pub workers: usize,
    /// Every call's deadline (`grpc-timeout`).
    pub deadline: Duration,
    /// The pause of a client between two operations (the load's pace).
    pub pause: Duration,
    /// How long one write is retried before the client gives up on it.
    pub retry_for: Duration,
    /// How many attempts one write is given at most.
    pub max_attempts: u32,
}

impl Default for LoadSettings {
    /// Four clients, a 5 s deadline, 100 ms between operations (tens of writes per second in all), each write
    /// retried for up to 40 s and 200 attempts.
    fn default() -> Self {
        Self {
            workers: 4,
            deadline: Duration::from_secs(5),
            pause: Duration::from_millis(100),
            retry_for: Duration::from_secs(40),
            max_attempts: 200,
        }
    }
}

/// Lazy plaintext channels to the four services ([`ServiceKind::ALL`] order), connecting within 1 s.
pub fn channels(ports: [u16; 4]) -> [Channel; 4] {
    ports.map(|port| {
        Endpoint::from_shared(crate::procs::url(port))
            .expect("a valid URL")
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .connect_lazy()
    })
}

/// What kind of write was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WriteKind {
    Organization,
    Contact,
    /// An UpdateContact of `notes`, conditional on the etag last seen.
    ContactUpdate,
    Meeting,
    Case,
    /// AcknowledgeCase (RECEIVED → ACKNOWLEDGED), conditional on the etag.
    CaseAcknowledged,
    CaseNote,
}

impl WriteKind {
    pub const ALL: [WriteKind; 7] = [
        Self::Organization,
        Self::Contact,
        Self::ContactUpdate,
        Self::Meeting,
        Self::Case,
        Self::CaseAcknowledged,
        Self::CaseNote,
    ];

    pub fn service(self) -> ServiceKind {
        match self {
            Self::Organization | Self::Contact | Self::ContactUpdate => ServiceKind::Contacts,
            Self::Meeting => ServiceKind::Scheduling,
            Self::Case | Self::CaseAcknowledged | Self::CaseNote => ServiceKind::Mediation,
        }
    }
}

/// One acknowledged write.
#[derive(Debug, Clone)]
pub struct Ack {
    pub kind: WriteKind,
    /// The resource written (the contact of an update, the case of an acknowledgement).
    pub name: String,
    /// The create's idempotency key, or the marker an update wrote (the contact's `notes`); also the display
    /// name, title or text a create wrote.
    pub request_id: String,
    /// The etag the answer carried (empty for notes, which have none).
    pub etag: String,
    /// When the client received the acknowledgement.
    pub at: Instant,
    /// Attempts it took.
    pub attempts: u32,
}

/// One call attempt as the client saw it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub service: ServiceKind,
    pub rpc: &'static str,
    pub start: Instant,
    pub latency: Duration,
    pub code: Code,
    /// The status message of a failure (empty on success).
    pub message: String,
    /// The failure was the client's own: the connection broke while the call was under way (its server killed,
    /// say), so no server answered it, and whether the write was applied is unknown. `code` is what the client
    /// library made of it (UNKNOWN "transport error", INTERNAL "h2 protocol error").
    pub connection_lost: bool,
}

impl CallRecord {
    pub fn end(&self) -> Instant {
        self.start + self.latency
    }
}

/// A write the client gave up on: never acknowledged.
#[derive(Debug, Clone)]
pub struct GaveUp {
    pub kind: WriteKind,
    pub request_id: String,
    pub attempts: u32,
    pub last: String,
}

/// A stretch of time during which every call a service's clients made failed: from the start of the first failed
/// attempt after a success to the end of the next successful one.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub service: ServiceKind,
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn length(&self) -> Duration {
        self.end - self.start
    }
}

/// What the clients did and were told.
#[derive(Debug, Default, Clone)]
pub struct ClientLog {
    /// Acknowledged writes, in the order they were acknowledged.
    pub acks: Vec<Ack>,
    /// Every attempt of every call, in the order they ended.
    pub calls: Vec<CallRecord>,
    /// Writes never acknowledged.
    pub gave_up: Vec<GaveUp>,
    /// Answers that broke the protocol (an OK without the resource, say).
    pub anomalies: Vec<String>,
}

/// The dashboard's four headline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub organizations: i64,
    pub contacts: i64,
    pub meetings: i64,
    pub open_cases: i64,
}

impl ClientLog {
    fn merge(&mut self, other: ClientLog) {
        self.acks.extend(other.acks);
        self.calls.extend(other.calls);
        self.gave_up.extend(other.gave_up);
        self.anomalies.extend(other.anomalies);
    }

    /// What reporting's dashboard must show once it has caught up: every acknowledged organisation, contact and
    /// meeting, and every case (all stay open: acknowledged is still OPEN).
    pub fn truth(&self) -> Counts {
        let count = |kind| self.acks.iter().filter(|ack| ack.kind == kind).count() as i64;
        Counts {
            organizations: count(WriteKind::Organization),
            contacts: count(WriteKind::Contact),
            meetings: count(WriteKind::Meeting),
            open_cases: count(WriteKind::Case),
        }
    }

    /// The periods during which each service's callers got nothing but failures, longest first.
    pub fn windows(&self) -> Vec<Window> {
        let mut windows = Vec::new();
        for service in ServiceKind::ALL {
            let mut calls: Vec<&CallRecord> = self.calls.iter().filter(|call| call.service == service).collect();
            calls.sort_by_key(|call| call.end());
            let mut down_since: Option<Instant> = None;
            for call in calls {
                if call.code == Code::Ok {
                    if let Some(start) = down_since.take() {
                        windows.push(Window { service, start, end: call.end() });
                    }
                } else {
                    down_since = Some(down_since.map_or(call.start, |since| since.min(call.start)));
                }
            }
            if let Some(start) = down_since {
                let end = self.calls.iter().map(CallRecord::end).max().unwrap_or(start);
                windows.push(Window { service, start, end });
            }
        }
        windows.sort_by_key(|window| std::cmp::Reverse(window.length()));
        windows
    }

    /// How many attempts ended with each code.
    pub fn codes(&self) -> BTreeMap<String, usize> {
        let mut codes = BTreeMap::new();
        for call in &self.calls {
            *codes.entry(format!("{:?}", call.code)).or_default() += 1;
        }
        codes
    }

    /// The calls that ended later than `deadline` + `slack` after they started.
    pub fn late(&self, deadline: Duration, slack: Duration) -> Vec<&CallRecord> {
        self.calls.iter().filter(|call| call.latency > deadline + slack).collect()
    }
}

/// The load while it runs.
pub struct Load {
    stop: CancellationToken,
    workers: Vec<JoinHandle<ClientLog>>,
    in_flight: InFlight,
    /// The prefix of every request id of this load (unique to it).
    pub run: String,
    pub started: Instant,
}

impl Load {
    /// Starts `settings.workers` clients on `channels` (contacts, scheduling, mediation, reporting).
    pub fn start(channels: &[Channel; 4], settings: &LoadSettings) -> Self {
        let stop = CancellationToken::new();
        let in_flight = InFlight::default();
        let run = format!("ld{}", &uuid::Uuid::now_v7().simple().to_string()[24..]);
        let workers = (0..settings.workers)
            .map(|id| {
                let worker = Worker::new(id, &run, channels, settings.clone(), stop.clone(), in_flight.clone());
                tokio::spawn(worker.run())
            })
            .collect();
        Self { stop, workers, in_flight, run, started: Instant::now() }
    }

    /// Waits up to `timeout` until a call to one of `kinds` is under way (so that a fault injected next catches one
    /// in flight); whether one was.
    pub async fn wait_in_flight(&self, kinds: &[ServiceKind], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while kinds.iter().all(|kind| self.in_flight.0[index(*kind)].load(Ordering::Acquire) == 0) {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }

    /// Asks the clients to stop after the operation each is doing (retries included) and returns their log.
    pub async fn finish(self) -> ClientLog {
        self.stop.cancel();
        let mut log = ClientLog::default();
        for worker in self.workers {
            log.merge(worker.await.expect("a load client panicked"));
        }
        log.acks.sort_by_key(|ack| ack.at);
        log.calls.sort_by_key(CallRecord::end);
        log
    }
}

/// `message` with `deadline` as its `grpc-timeout`.
fn with_deadline<M>(message: M, deadline: Duration) -> Request<M> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

/// Whether `status` is the client library's account of a connection that broke under the call (a transport
/// error, an HTTP/2 error) rather than an answer of the server.
fn connection_lost(status: &Status) -> bool {
    // A deadline that ran out is said as CANCELLED "Timeout expired", also with a transport error as its source.
    if !matches!(status.code(), Code::Unknown | Code::Internal) {
        return false;
    }
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.downcast_ref::<tonic::transport::Error>().is_some() {
            return true;
        }
        source = error.source();
    }
    status.message() == "transport error" || status.message().starts_with("h2 protocol error")
}

/// Whether a failed write is retried with the same request id.
fn retryable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted)
}

/// The write's outcome was not known from this answer: it may or may not have been applied.
fn outcome_unknown(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled)
}

/// Calls under way to each service ([`ServiceKind::ALL`] order).
#[derive(Debug, Clone, Default)]
struct InFlight(Arc<[AtomicUsize; 4]>);

struct Worker {
    in_flight: InFlight,
    id: usize,
    run: String,
    settings: LoadSettings,
    stop: CancellationToken,
    contacts: ContactsServiceClient<Channel>,
    scheduling: SchedulingServiceClient<Channel>,
    mediation: MediationServiceClient<Channel>,
    reporting: ReportingServiceClient<Channel>,
    log: ClientLog,
    /// This client's contacts (name, last etag acknowledged) and organisations; nobody else writes them.
    own_contacts: Vec<(String, String)>,
    own_organizations: Vec<String>,
    seq: u64,
}

impl Worker {
    fn new(
        id: usize,
        run: &str,
        channels: &[Channel; 4],
        settings: LoadSettings,
        stop: CancellationToken,
        in_flight: InFlight,
    ) -> Self {
        let channel = |kind| channels[index(kind)].clone();
        Self {
            in_flight,
            id,
            run: run.to_owned(),
            settings,
            stop,
            contacts: ContactsServiceClient::new(channel(ServiceKind::Contacts)),
            scheduling: SchedulingServiceClient::new(channel(ServiceKind::Scheduling)),
            mediation: MediationServiceClient::new(channel(ServiceKind::Mediation)),
            reporting: ReportingServiceClient::new(channel(ServiceKind::Reporting)),
            log: ClientLog::default(),
            own_contacts: Vec::new(),
            own_organizations: Vec::new(),
            seq: 0,
        }
    }

    async fn run(mut self) -> ClientLog {
        let mut round = 0u64;
        while !self.stop.is_cancelled() {
            if round.is_multiple_of(3) || self.own_organizations.is_empty() {
                self.create_organization().await;
                self.pause().await;
            }
            self.create_contact().await;
            self.pause().await;
            self.update_contact().await;
            self.pause().await;
            self.create_meeting().await;
            self.pause().await;
            if round.is_multiple_of(2) {
                self.open_case().await;
            }
            if round % 4 == 1 {
                self.read_dashboard().await;
                self.pause().await;
            }
            round += 1;
        }
        self.log
    }

    async fn pause(&self) {
        tokio::time::sleep(self.settings.pause).await;
    }

    /// A request id unique to this load, client and write, `kind` a letter saying what it creates.
    fn request_id(&mut self, kind: &str) -> String {
        self.seq += 1;
        format!("{}-w{}-{kind}{}", self.run, self.id, self.seq)
    }

    async fn backoff(&self, attempt: u32) {
        let exponential = Duration::from_millis(50).saturating_mul(1 << attempt.min(5));
        let jitter = Duration::from_millis(((self.id as u64 * 37 + u64::from(attempt) * 13) % 50) + 1);
        tokio::time::sleep(exponential.min(MAX_BACKOFF) + jitter).await;
    }

    fn budget_left(&self, began: Instant, attempt: u32) -> bool {
        began.elapsed() < self.settings.retry_for && attempt < self.settings.max_attempts
    }

    /// One attempt: runs `call` (which carries the deadline), waits at most the deadline plus [`GUARD`], and logs
    /// it.
    async fn once<T>(
        &mut self,
        service: ServiceKind,
        rpc: &'static str,
        call: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<T, Status> {
        let start = Instant::now();
        let counter = &self.in_flight.0[index(service)];
        counter.fetch_add(1, Ordering::AcqRel);
        let answered = tokio::time::timeout(self.settings.deadline + GUARD, call).await;
        counter.fetch_sub(1, Ordering::AcqRel);
        let outcome = match answered {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "no answer within the deadline + {GUARD:?} (the client gave up)"
            ))),
        };
        let (code, message, lost) = match &outcome {
            Ok(_) => (Code::Ok, String::new(), false),
            Err(status) => (status.code(), status.message().chars().take(200).collect(), connection_lost(status)),
        };
        let latency = start.elapsed();
        self.log.calls.push(CallRecord { service, rpc, start, latency, code, message, connection_lost: lost });
        // The write's outcome is unknown, as after UNAVAILABLE: said so to the caller, which retries it.
        outcome.map_err(|status| if lost { Status::unavailable(format!("connection lost: {status}")) } else { status })
    }

    /// Attempts `make()` until it succeeds, fails with a code that is not [`retryable`], or the budget is spent;
    /// the answer and the attempts made.
    async fn retried<T, F, Fut>(
        &mut self,
        service: ServiceKind,
        rpc: &'static str,
        mut make: F,
    ) -> (Result<T, Status>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let began = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(service, rpc, make()).await {
                Ok(value) => return (Ok(value), attempt),
                Err(status) if retryable(status.code()) && self.budget_left(began, attempt) => {
                    self.backoff(attempt).await;
                }
                Err(status) => return (Err(status), attempt),
            }
        }
    }

    fn ack(&mut self, kind: WriteKind, name: &str, request_id: &str, etag: &str, attempts: u32) {
        self.log.acks.push(Ack {
            kind,
            name: name.to_owned(),
            request_id: request_id.to_owned(),
            etag: etag.to_owned(),
            at: Instant::now(),
            attempts,
        });
    }

    fn give_up(&mut self, kind: WriteKind, request_id: &str, attempts: u32, last: impl std::fmt::Display) {
        self.log.gave_up.push(GaveUp { kind, request_id: request_id.to_owned(), attempts, last: last.to_string() });
    }

    async fn create_organization(&mut self) {
        let request_id = self.request_id("o");
        let message = CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: request_id.clone(),
                kind: OrganizationKind::GovernmentBody as i32,
                ..Default::default()
            }),
            request_id: request_id.clone(),
        };
        let (client, deadline) = (self.contacts.clone(), self.settings.deadline);
        let (outcome, attempts) = self
            .retried(ServiceKind::Contacts, "CreateOrganization", || {
                let (mut client, request) = (client.clone(), with_deadline(message.clone(), deadline));
                async move { client.create_organization(request).await }
            })
            .await;
        match outcome.map(|response| response.organization) {
            Ok(Some(organization)) => {
                self.ack(WriteKind::Organization, &organization.name, &request_id, &organization.etag, attempts);
                self.own_organizations.push(organization.name);
            }
            Ok(None) => self.log.anomalies.push(format!("CreateOrganization {request_id}: OK without it")),
            Err(status) => self.give_up(WriteKind::Organization, &request_id, attempts, status),
        }
    }

    async fn create_contact(&mut self) {
        let request_id = self.request_id("c");
        let message = CreateContactRequest {
            contact: Some(Contact {
                display_name: request_id.clone(),
                time_zone: "Europe/Paris".into(),
                ..Default::default()
            }),
            request_id: request_id.clone(),
        };
        let (client, deadline) = (self.contacts.clone(), self.settings.deadline);
        let (outcome, attempts) = self
            .retried(ServiceKind::Contacts, "CreateContact", || {
                let (mut client, request) = (client.clone(), with_deadline(message.clone(), deadline));
                async move { client.create_contact(request).await }
            })
            .await;
        match outcome.map(|response| response.contact) {
            Ok(Some(contact)) => {
                self.ack(WriteKind::Contact, &contact.name, &request_id, &contact.etag, attempts);
                self.own_contacts.push((contact.name, contact.etag));
            }
            Ok(None) => self.log.anomalies.push(format!("CreateContact {request_id}: OK without it")),
            Err(status) => self.give_up(WriteKind::Contact, &request_id, attempts, status),
        }
    }

    /// Sets `notes` of one of its contacts to a fresh marker, on the etag it last saw. ABORTED means the contact
    /// changed since: if it carries the marker, an earlier attempt of this update was applied (its answer lost);
    /// otherwise the update is tried again on the current etag.
    async fn update_contact(&mut self) {
        if self.own_contacts.is_empty() {
            return;
        }
        let slot = (self.seq as usize) % self.own_contacts.len();
        let (name, mut etag) = self.own_contacts[slot].clone();
        let marker = self.request_id("u");
        let began = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let message = UpdateContactRequest {
                contact: Some(Contact {
                    name: name.clone(),
                    notes: marker.clone(),
                    etag: etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
            };
            let mut client = self.contacts.clone();
            let request = with_deadline(message, self.settings.deadline);
            let outcome = self.once(ServiceKind::Contacts, "UpdateContact", client.update_contact(request)).await;
            let status = match outcome.map(|response| response.contact) {
                Ok(Some(contact)) => {
                    self.ack(WriteKind::ContactUpdate, &name, &marker, &contact.etag, attempt);
                    self.own_contacts[slot].1 = contact.etag;
                    return;
                }
                Ok(None) => {
                    self.log.anomalies.push(format!("UpdateContact {marker}: OK without the contact"));
                    return;
                }
                Err(status) => status,
            };
            if !retryable(status.code()) || !self.budget_left(began, attempt) {
                self.give_up(WriteKind::ContactUpdate, &marker, attempt, status);
                return;
            }
            if status.code() == Code::Aborted {
                let (client, deadline) = (self.contacts.clone(), self.settings.deadline);
                let (current, _) = self
                    .retried(ServiceKind::Contacts, "GetContact", || {
                        let mut client = client.clone();
                        let request = with_deadline(GetContactRequest { name: name.clone() }, deadline);
                        async move { client.get_contact(request).await }
                    })
                    .await;
                match current.map(|response| response.contact.unwrap_or_default()) {
                    Ok(current) if current.notes == marker => {
                        self.ack(WriteKind::ContactUpdate, &name, &marker, &current.etag, attempt);
                        self.own_contacts[slot].1 = current.etag;
                        return;
                    }
                    Ok(current) => etag = current.etag,
                    Err(status) => {
                        self.give_up(WriteKind::ContactUpdate, &marker, attempt, status);
                        return;
                    }
                }
            } else {
                self.backoff(attempt).await;
            }
        }
    }

    async fn create_meeting(&mut self) {
        let Some((participant, _)) = self.own_contacts.last().cloned() else { return };
        let request_id = self.request_id("m");
        // A slot of its own for every meeting (an hour apart, per client), so that no booking conflicts.
        let start = 1_900_000_000 + (self.id as i64 * 20_000 + self.seq as i64) * 3600;
        let message = CreateMeetingRequest {
            meeting: Some(Meeting {
                title: request_id.clone(),
                start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
                end_time: Some(prost_types::Timestamp { seconds: start + 1800, nanos: 0 }),
                time_zone: "Europe/Paris".into(),
                participants: vec![participant],
                ..Default::default()
            }),
            request_id: request_id.clone(),
            ..Default::default()
        };
        let (client, deadline) = (self.scheduling.clone(), self.settings.deadline);
        let (outcome, attempts) = self
            .retried(ServiceKind::Scheduling, "CreateMeeting", || {
                let (mut client, request) = (client.clone(), with_deadline(message.clone(), deadline));
                async move { client.create_meeting(request).await }
            })
            .await;
        match outcome.map(|response| response.meeting) {
            Ok(Some(meeting)) => self.ack(WriteKind::Meeting, &meeting.name, &request_id, &meeting.etag, attempts),
            Ok(None) => self.log.anomalies.push(format!("CreateMeeting {request_id}: OK without it")),
            Err(status) => self.give_up(WriteKind::Meeting, &request_id, attempts, status),
        }
    }

    /// Opens a case between its latest contact and organisation, acknowledges it and adds a note.
    async fn open_case(&mut self) {
        let (Some((contact, _)), Some(organization)) =
            (self.own_contacts.last().cloned(), self.own_organizations.last().cloned())
        else {
            return;
        };
        let request_id = self.request_id("k");
        let message = OpenCaseRequest {
            case: Some(Case {
                title: request_id.clone(),
                parties: vec![contact, organization],
                category: Category::ResourceAllocation as i32,
                severity: Severity::Medium as i32,
                ..Default::default()
            }),
            request_id: request_id.clone(),
        };
        let (client, deadline) = (self.mediation.clone(), self.settings.deadline);
        let (outcome, attempts) = self
            .retried(ServiceKind::Mediation, "OpenCase", || {
                let (mut client, request) = (client.clone(), with_deadline(message.clone(), deadline));
                async move { client.open_case(request).await }
            })
            .await;
        let case = match outcome.map(|response| response.case) {
            Ok(Some(case)) => case,
            Ok(None) => {
                self.log.anomalies.push(format!("OpenCase {request_id}: OK without it"));
                return;
            }
            Err(status) => {
                self.give_up(WriteKind::Case, &request_id, attempts, status);
                return;
            }
        };
        self.ack(WriteKind::Case, &case.name, &request_id, &case.etag, attempts);
        self.pause().await;
        self.acknowledge_case(&case.name, case.etag).await;
        self.pause().await;
        self.add_note(&case.name).await;
        self.pause().await;
    }

    /// AcknowledgeCase on the etag of the open. ABORTED, or FAILED_PRECONDITION after an attempt whose outcome is
    /// unknown, means the case moved: if it is ACKNOWLEDGED, an earlier attempt was applied.
    async fn acknowledge_case(&mut self, name: &str, mut etag: String) {
        let marker = format!("{name}#acknowledged");
        let began = Instant::now();
        let mut attempt = 0;
        let mut unknown_before = false;
        loop {
            attempt += 1;
            let message = AcknowledgeCaseRequest { name: name.to_owned(), etag: etag.clone(), reason: "load".into() };
            let mut client = self.mediation.clone();
            let request = with_deadline(message, self.settings.deadline);
            let outcome = self.once(ServiceKind::Mediation, "AcknowledgeCase", client.acknowledge_case(request)).await;
            let status = match outcome.map(|response| response.case) {
                Ok(Some(case)) => {
                    self.ack(WriteKind::CaseAcknowledged, name, &marker, &case.etag, attempt);
                    return;
                }
                Ok(None) => {
                    self.log.anomalies.push(format!("AcknowledgeCase {name}: OK without the case"));
                    return;
                }
                Err(status) => status,
            };
            let moved = status.code() == Code::Aborted || (status.code() == Code::FailedPrecondition && unknown_before);
            if !(moved || retryable(status.code())) || !self.budget_left(began, attempt) {
                self.give_up(WriteKind::CaseAcknowledged, &marker, attempt, status);
                return;
            }
            unknown_before |= outcome_unknown(status.code());
            if !moved {
                self.backoff(attempt).await;
                continue;
            }
            let (client, deadline) = (self.mediation.clone(), self.settings.deadline);
            let (current, _) = self
                .retried(ServiceKind::Mediation, "GetCase", || {
                    let mut client = client.clone();
                    let request = with_deadline(GetCaseRequest { name: name.to_owned() }, deadline);
                    async move { client.get_case(request).await }
                })
                .await;
            match current.map(|response| response.case.unwrap_or_default()) {
                Ok(case) if case.stage == Stage::Acknowledged as i32 => {
                    self.ack(WriteKind::CaseAcknowledged, name, &marker, &case.etag, attempt);
                    return;
                }
                Ok(case) if case.stage == Stage::Received as i32 => etag = case.etag,
                Ok(case) => {
                    self.give_up(WriteKind::CaseAcknowledged, &marker, attempt, format!("stage {:?}", case.stage()));
                    return;
                }
                Err(status) => {
                    self.give_up(WriteKind::CaseAcknowledged, &marker, attempt, status);
                    return;
                }
            }
        }
    }

    async fn add_note(&mut self, case: &str) {
        let request_id = self.request_id("n");
        let message = AddCaseNoteRequest {
            parent: case.to_owned(),
            note: Some(CaseNote {
                text: request_id.clone(),
                visibility: NoteVisibility::Internal as i32,
                ..Default::default()
            }),
            request_id: request_id.clone(),
        };
        let (client, deadline) = (self.mediation.clone(), self.settings.deadline);
        let (outcome, attempts) = self
            .retried(ServiceKind::Mediation, "AddCaseNote", || {
                let (mut client, request) = (client.clone(), with_deadline(message.clone(), deadline));
                async move { client.add_case_note(request).await }
            })
            .await;
        match outcome.map(|response| response.note) {
            Ok(Some(note)) => self.ack(WriteKind::CaseNote, &note.name, &request_id, "", attempts),
            Ok(None) => self.log.anomalies.push(format!("AddCaseNote {request_id}: OK without it")),
            Err(status) => self.give_up(WriteKind::CaseNote, &request_id, attempts, status),
        }
    }

    /// One read of the dashboard (not retried: it only tells whether reporting answers).
    async fn read_dashboard(&mut self) {
        let mut client = self.reporting.clone();
        let request = with_deadline(GetDashboardRequest::default(), self.settings.deadline);
        let _ = self.once(ServiceKind::Reporting, "GetDashboard", client.get_dashboard(request)).await;
    }
}

/// The revision of an etag `"r<n>"` (with or without its quotes).
pub fn revision(etag: &str) -> Option<i64> {
    etag.trim().trim_matches('"').strip_prefix('r')?.parse().ok()
}

/// What reading everything back found.
#[derive(Debug, Default, Clone)]
pub struct Verification {
    /// For each of the log's acks (same index): whether the write is there.
    pub found: Vec<bool>,
    /// Why an ack was not found, for the failure message.
    pub missing: Vec<String>,
    /// Request ids (and update markers) that produced more than one resource, with how many.
    pub duplicates: BTreeMap<String, usize>,
    /// Resources of this load that no acknowledged write made (a write the client gave up on may have been
    /// applied).
    pub unacknowledged: Vec<String>,
    /// Contacts whose etag went backwards: an acknowledged revision lower than an earlier one, or a stored one
    /// lower than the last acknowledged.
    pub etag_regressions: Vec<String>,
}

/// A read with a deadline, retried while the answer is UNAVAILABLE, DEADLINE_EXCEEDED or CANCELLED (for at most
/// 20 s): the system is meant to be healthy again when the log is verified.
async fn read<T, F, Fut>(what: &str, mut make: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let began = Instant::now();
    loop {
        match make().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if outcome_unknown(status.code()) && began.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => {
                return Err(Status::new(status.code(), format!("{what}: {}", status.message())));
            }
        }
    }
}

const VERIFY_DEADLINE: Duration = Duration::from_secs(10);

/// Reads back every acknowledged write of `log` and lists every resource of the load `run`.
pub async fn verify(log: &ClientLog, channels: &[Channel; 4], run: &str) -> Verification {
    let channel = |kind| channels[index(kind)].clone();
    let contacts = ContactsServiceClient::new(channel(ServiceKind::Contacts)).max_decoding_message_size(64 << 20);
    let scheduling = SchedulingServiceClient::new(channel(ServiceKind::Scheduling)).max_decoding_message_size(64 << 20);
    let mediation = MediationServiceClient::new(channel(ServiceKind::Mediation)).max_decoding_message_size(64 << 20);
    let d = VERIFY_DEADLINE;
    let mut verification = Verification::default();

    // Every resource of the load, listed: how many each request id produced.
    let mut listed: HashMap<String, usize> = HashMap::new();
    let mut count = |label: &str| {
        if label.starts_with(run) {
            *listed.entry(label.to_owned()).or_default() += 1;
        }
    };
    let mut token = String::new();
    loop {
        let message =
            ListOrganizationsRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListOrganizations", || {
            let mut client = contacts.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_organizations(request).await }
        })
        .await
        .expect("ListOrganizations");
        page.organizations.iter().for_each(|o| count(&o.display_name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let mut stored_contacts: HashMap<String, Contact> = HashMap::new();
    loop {
        let message = ListContactsRequest {
            page_size: Some(1000),
            page_token: token.clone(),
            show_deleted: true,
            ..Default::default()
        };
        let page = read("ListContacts", || {
            let mut client = contacts.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_contacts(request).await }
        })
        .await
        .expect("ListContacts");
        for contact in page.contacts {
            count(&contact.display_name);
            stored_contacts.insert(contact.name.clone(), contact);
        }
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    loop {
        let message = ListMeetingsRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListMeetings", || {
            let mut client = scheduling.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_meetings(request).await }
        })
        .await
        .expect("ListMeetings");
        page.meetings.iter().for_each(|m| count(&m.title));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    loop {
        let message = ListCasesRequest { page_size: Some(1000), page_token: token.clone(), ..Default::default() };
        let page = read("ListCases", || {
            let mut client = mediation.clone();
            let request = with_deadline(message.clone(), d);
            async move { client.list_cases(request).await }
        })
        .await
        .expect("ListCases");
        page.cases.iter().for_each(|c| count(&c.title));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    // Notes, case by case (every case the load opened).
    let mut notes: HashMap<String, Vec<CaseNote>> = HashMap::new();
    for ack in log.acks.iter().filter(|ack| ack.kind == WriteKind::Case) {
        let mut all = Vec::new();
        loop {
            let message =
                ListCaseNotesRequest { parent: ack.name.clone(), page_size: Some(1000), page_token: token.clone() };
            let page = read("ListCaseNotes", || {
                let mut client = mediation.clone();
                let request = with_deadline(message.clone(), d);
                async move { client.list_case_notes(request).await }
            })
            .await
            .expect("ListCaseNotes");
            all.extend(page.notes);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        all.iter().for_each(|note| count(&note.text));
        notes.insert(ack.name.clone(), all);
    }

    let acknowledged: std::collections::HashSet<&str> =
        log.acks.iter().filter(|ack| ack.kind != WriteKind::ContactUpdate).map(|ack| ack.request_id.as_str()).collect();
    for (label, n) in &listed {
        if *n > 1 {
            verification.duplicates.insert(label.clone(), *n);
        }
        if !acknowledged.contains(label.as_str()) {
            verification.unacknowledged.push(label.clone());
        }
    }
    verification.unacknowledged.sort();

    // Contacts: the etags acknowledged only go up, and the stored one is at least the last acknowledged.
    let mut last_revision: HashMap<&str, (i64, &str)> = HashMap::new();
    for ack in log.acks.iter().filter(|ack| matches!(ack.kind, WriteKind::Contact | WriteKind::ContactUpdate)) {
        let Some(acknowledged) = revision(&ack.etag) else {
            verification
                .etag_regressions
                .push(format!("{}: acknowledged etag {:?} is no revision", ack.name, ack.etag));
            continue;
        };
        if let Some((before, _)) = last_revision.get(ack.name.as_str())
            && acknowledged <= *before
        {
            verification
                .etag_regressions
                .push(format!("{}: acknowledged r{acknowledged} after r{before} ({})", ack.name, ack.request_id));
        }
        last_revision.insert(&ack.name, (acknowledged, &ack.request_id));
    }
    for (name, (acknowledged, _)) in &last_revision {
        match stored_contacts.get(*name).and_then(|contact| revision(&contact.etag)) {
            Some(stored) if stored < *acknowledged => verification
                .etag_regressions
                .push(format!("{name}: stored r{stored} is behind the acknowledged r{acknowledged}")),
            _ => {}
        }
    }

    // Every acknowledged write, read back.
    for ack in &log.acks {
        let found = match ack.kind {
            WriteKind::Organization => {
                let name = ack.name.clone();
                read("GetOrganization", || {
                    let mut client = contacts.clone();
                    let request = with_deadline(GetOrganizationRequest { name: name.clone() }, d);
                    async move { client.get_organization(request).await }
                })
                .await
                .map(|r| r.organization.is_some_and(|o| o.display_name == ack.request_id))
            }
            WriteKind::Contact => {
                let name = ack.name.clone();
                read("GetContact", || {
                    let mut client = contacts.clone();
                    let request = with_deadline(GetContactRequest { name: name.clone() }, d);
                    async move { client.get_contact(request).await }
                })
                .await
                .map(|r| r.contact.is_some_and(|c| c.display_name == ack.request_id))
            }
            WriteKind::ContactUpdate => {
                // Applied if the contact is at or past the acknowledged revision; the last update of each contact
                // must also be what it holds.
                let stored = stored_contacts.get(&ack.name);
                let at_or_past = stored
                    .and_then(|c| revision(&c.etag))
                    .zip(revision(&ack.etag))
                    .is_some_and(|(stored, acknowledged)| stored >= acknowledged);
                let last = last_revision.get(ack.name.as_str()).is_some_and(|(_, marker)| *marker == ack.request_id);
                Ok(at_or_past && (!last || stored.is_some_and(|c| c.notes == ack.request_id)))
            }
            WriteKind::Meeting => {
                let name = ack.name.clone();
                read("GetMeeting", || {
                    let mut client = scheduling.clone();
                    let request = with_deadline(GetMeetingRequest { name: name.clone() }, d);
                    async move { client.get_meeting(request).await }
                })
                .await
                .map(|r| r.meeting.is_some_and(|m| m.title == ack.request_id))
            }
            WriteKind::Case | WriteKind::CaseAcknowledged => {
                let name = ack.name.clone();
                read("GetCase", || {
                    let mut client = mediation.clone();
                    let request = with_deadline(GetCaseRequest { name: name.clone() }, d);
                    async move { client.get_case(request).await }
                })
                .await
                .map(|r| {
                    r.case.is_some_and(|c| match ack.kind {
                        WriteKind::Case => c.name == ack.name,
                        _ => c.stage == Stage::Acknowledged as i32,
                    })
                })
            }
            WriteKind::CaseNote => {
                let case = ack.name.split("/notes/").next().unwrap_or_default();
                Ok(notes
                    .get(case)
                    .is_some_and(|all| all.iter().any(|n| n.name == ack.name && n.text == ack.request_id)))
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(status) if status.code() == Code::NotFound => false,
            Err(status) => panic!("reading back {} ({}): {status}", ack.name, ack.request_id),
        };
        if !found {
            verification.missing.push(format!("{:?} {} ({})", ack.kind, ack.name, ack.request_id));
        }
        verification.found.push(found);
    }
    verification
}

/// Polls reporting's dashboard until its four counts are `truth`; how long it took, or the last counts seen after
/// `timeout`.
pub async fn wait_for_dashboard(channel: &Channel, truth: Counts, timeout: Duration) -> Result<Duration, Counts> {
    let mut client = ReportingServiceClient::new(channel.clone());
    let started = Instant::now();
    let mut last = Counts::default();
    loop {
        let request = with_deadline(GetDashboardRequest::default(), Duration::from_secs(5));
        if let Ok(response) = client.get_dashboard(request).await
            && let Some(d) = response.into_inner().dashboard
        {
            last = Counts {
                organizations: d.organization_count,
                contacts: d.contact_count,
                meetings: d.meeting_count,
                open_cases: d.open_case_count,
            };
            if last == truth {
                return Ok(started.elapsed());
            }
        }
        if started.elapsed() > timeout {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One answer of a service's health (its own name), or `None` when it did not answer.
#[derive(Debug, Clone, Copy)]
pub struct HealthSample {
    pub service: ServiceKind,
    pub at: Instant,
    pub status: Option<ServingStatus>,
}

/// The four services' health, asked every `poll` while it runs.
pub struct HealthWatch {
    stop: CancellationToken,
    task: JoinHandle<Vec<HealthSample>>,
}

impl HealthWatch {
    /// Asks the health service on each of `channels` about the service's own name every `poll` (1 s deadline).
    pub fn start(channels: &[Channel; 4], poll: Duration) -> Self {
        let stop = CancellationToken::new();
        let clients: Vec<(ServiceKind, HealthClient<Channel>)> =
            ServiceKind::ALL.iter().map(|kind| (*kind, HealthClient::new(channels[index(*kind)].clone()))).collect();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut samples = Vec::new();
                while !stop.is_cancelled() {
                    for (kind, client) in &clients {
                        let mut client = client.clone();
                        let request = with_deadline(
                            HealthCheckRequest { service: kind.grpc_service().into() },
                            Duration::from_secs(1),
                        );
                        let at = Instant::now();
                        let status = match tokio::time::timeout(Duration::from_secs(2), client.check(request)).await {
                            Ok(Ok(response)) => Some(response.into_inner().status()),
                            _ => None,
                        };
                        samples.push(HealthSample { service: *kind, at, status });
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                samples
            }
        });
        Self { stop, task }
    }

    /// Stops asking; every answer, in order.
    pub async fn finish(self) -> Vec<HealthSample> {
        self.stop.cancel();
        self.task.await.expect("the health watch panicked")
    }
}
