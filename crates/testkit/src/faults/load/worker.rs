//! One careful client: its round of writes, each call with a deadline, retried with the same `request_id` on a
//! failure that may be transient, an ABORTED conditional write read back to learn whether it landed.
use super::*;

/// `message` with `deadline` as its `grpc-timeout`.
pub(crate) fn with_deadline<M>(message: M, deadline: Duration) -> Request<M> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

/// Whether `status` is the client library's account of a connection that broke under the call (a transport
/// error, an HTTP/2 error) rather than an answer of the server.
pub(crate) fn connection_lost(status: &Status) -> bool {
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
pub(super) fn retryable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted)
}

/// The write's outcome was not known from this answer: it may or may not have been applied.
pub(super) fn outcome_unknown(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled)
}

/// Calls under way to each service ([`ServiceKind::ALL`] order).
#[derive(Debug, Clone, Default)]
pub(super) struct InFlight(pub(super) Arc<[AtomicUsize; 4]>);

pub(super) struct Worker {
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
    pub(super) fn new(
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

    pub(super) async fn run(mut self) -> ClientLog {
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
