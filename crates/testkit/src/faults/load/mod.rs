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

mod health;
mod read_back;
mod worker;

pub use health::*;
pub use read_back::*;
use worker::*;
pub(crate) use worker::{connection_lost, with_deadline};

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
