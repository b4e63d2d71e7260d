//! The scenarios: what each call sends, what it counts as items, and which ceiling it is compared with; and the
//! data they need (seeded contacts, the imported register and its search queries, page tokens). Calls pick their
//! contacts (and queries) by a hash of their sequence number, so they spread over the table without a shared random
//! generator.
use crate::calendar::{self, Calendar};
use crate::load::{Call, Connections, Workload};
use crate::report::Ceiling;
use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    BatchGetContactsRequest, Contact, CreateContactRequest, GetContactRequest, ListContactsRequest,
    SearchContactsRequest, UpdateContactRequest,
};
use liaison_proto::mediation::v1::{
    Case, Category, EscalateCaseRequest, ListCasesRequest, OpenCaseRequest, Severity, SlaStatus,
};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};
use liaison_runtime::net::peers::names_only;
use std::sync::Arc;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

/// Contacts asked for by one BatchGetContacts.
pub(crate) const BATCH_SIZE: usize = 100;
/// Contacts listed per ListContacts page.
pub(crate) const PAGE_SIZE: i32 = 50;
/// Participants of each meeting created.
pub(crate) const MEETING_PARTICIPANTS: usize = 10;
/// Participants of each meeting CreateMeeting50 creates.
pub(crate) const LARGE_MEETING_PARTICIPANTS: usize = 50;
/// What SearchContacts looks for without a register (its queries are then empty): a word of every seeded contact's
/// name; and the other search scenarios' stand-ins.
pub(crate) const SEARCH_QUERY: &str = "bench";
const SEARCH_QUERY_2_WORDS: &str = "bench person";
const SEARCH_QUERY_TYPO: &str = "bnch";
/// Parties of each case opened (seeded contacts; the first is the complainant, the others respondents).
pub(crate) const CASE_PARTIES: usize = 3;
/// Cases listed per ListCasesBySla page.
pub(crate) const CASE_PAGE_SIZE: i32 = 20;
/// Cases opened at once while seeding.
const CASE_SEED_IN_FLIGHT: usize = 32;
/// What every EscalateCase call escalates to, and why.
const ESCALATE_TO: &str = "Bench escalation board";
const ESCALATION_REASON: &str = "Escalated by liaison-bench.";

/// A scenario of the run, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    GetContact,
    /// GetContact with `authorization: Bearer <token>`, the same token on every call: the server's verification
    /// of a token it has seen before (its verified-token cache), next to GetContact without one.
    GetContactAuth,
    /// GetContactAuth over TLS, on the second all-in-one that has TLS on ([`crate::cluster::TlsAllInOne`]).
    GetContactTls,
    /// GetContact in open loop at half the closed-loop peak: the latency goal.
    GetContactHalfPeak,
    BatchGetContacts,
    ListContacts,
    /// SearchContacts of one word of a name of the register (a given or a family name).
    SearchContacts,
    /// SearchContacts of a given and a family name of one person of the register.
    SearchContacts2Words,
    /// SearchContacts of one word of a name with a letter left out (a typo: few or no hits, after a full look).
    SearchContactsTypo,
    /// ListMeetings of one team member's calendar month (participant, start_after and end_before), in one page.
    ListMeetingsMonth,
    /// FindMeetingTimes for the whole team over four weeks, at [`calendar::FIND_IN_FLIGHT`] calls in flight: a
    /// latency goal.
    FindMeetingTimes,
    /// ListCases of the cases whose SLA clocks are ON_TRACK (an index range), first page of [`CASE_PAGE_SIZE`].
    ListCasesBySla,
    CreateContact,
    /// CreateContact with a bearer token (as GetContactAuth).
    CreateContactAuth,
    /// CreateContactAuth over TLS (as GetContactTls).
    CreateContactTls,
    CreateMeeting,
    /// CreateMeeting with [`LARGE_MEETING_PARTICIPANTS`] required participants, checked for conflicts (the slots
    /// are free, so every call writes).
    CreateMeeting50,
    /// OpenCase between [`CASE_PARTIES`] seeded contacts (checked with one call to contacts).
    OpenCase,
    UpdateContact,
    /// EscalateCase of the seeded cases, each worker its own (a stage transition: the stage stays, the level goes up).
    EscalateCase,
    /// Reporting catching up with a backlog of changes (not a load of calls).
    Ingestion,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 21] = [
        Self::GetContact,
        Self::GetContactAuth,
        Self::GetContactTls,
        Self::GetContactHalfPeak,
        Self::BatchGetContacts,
        Self::ListContacts,
        Self::SearchContacts,
        Self::SearchContacts2Words,
        Self::SearchContactsTypo,
        Self::ListMeetingsMonth,
        Self::FindMeetingTimes,
        Self::ListCasesBySla,
        Self::CreateContact,
        Self::CreateContactAuth,
        Self::CreateContactTls,
        Self::CreateMeeting,
        Self::CreateMeeting50,
        Self::OpenCase,
        Self::UpdateContact,
        Self::EscalateCase,
        Self::Ingestion,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::GetContact => "GetContact",
            Self::GetContactAuth => "GetContactAuth",
            Self::GetContactTls => "GetContactTls",
            Self::GetContactHalfPeak => "GetContactHalfPeak",
            Self::BatchGetContacts => "BatchGetContacts",
            Self::ListContacts => "ListContacts",
            Self::SearchContacts => "SearchContacts",
            Self::SearchContacts2Words => "SearchContacts2Words",
            Self::SearchContactsTypo => "SearchContactsTypo",
            Self::ListMeetingsMonth => "ListMeetingsMonth",
            Self::FindMeetingTimes => "FindMeetingTimes",
            Self::CreateContact => "CreateContact",
            Self::CreateContactAuth => "CreateContactAuth",
            Self::CreateContactTls => "CreateContactTls",
            Self::UpdateContact => "UpdateContact",
            Self::CreateMeeting => "CreateMeeting",
            Self::CreateMeeting50 => "CreateMeeting50",
            Self::ListCasesBySla => "ListCasesBySla",
            Self::OpenCase => "OpenCase",
            Self::EscalateCase => "EscalateCase",
            Self::Ingestion => "Ingestion",
        }
    }

    /// What its rate is divided by: reads by the echo server's, writes by the database's own insert rate.
    /// FindMeetingTimes has none: its goal is a latency at a fixed concurrency of its own, and its rate at 4 calls
    /// in flight divided by the echo's at the run's concurrency would mean nothing.
    pub(crate) fn ceiling(self) -> Option<Ceiling> {
        match self {
            Self::GetContact
            | Self::GetContactAuth
            | Self::GetContactTls
            | Self::GetContactHalfPeak
            | Self::BatchGetContacts
            | Self::ListContacts
            | Self::SearchContacts
            | Self::SearchContacts2Words
            | Self::SearchContactsTypo
            | Self::ListMeetingsMonth
            | Self::ListCasesBySla => Some(Ceiling::Echo),
            Self::CreateContact
            | Self::CreateContactAuth
            | Self::CreateContactTls
            | Self::UpdateContact
            | Self::CreateMeeting
            | Self::CreateMeeting50
            | Self::OpenCase
            | Self::EscalateCase => Some(Ceiling::DbInsert),
            Self::FindMeetingTimes | Self::Ingestion => None,
        }
    }

    /// Whether its calls go to the scheduling service (the others go to contacts).
    pub(crate) fn on_scheduling(self) -> bool {
        matches!(self, Self::CreateMeeting | Self::CreateMeeting50 | Self::ListMeetingsMonth | Self::FindMeetingTimes)
    }

    /// Whether its calls go to the mediation service. Cases are seeded (and kept in the fixture) only when such a
    /// scenario runs.
    pub(crate) fn on_mediation(self) -> bool {
        matches!(self, Self::OpenCase | Self::EscalateCase | Self::ListCasesBySla)
    }

    /// Whether it changes the seeded cases (which are seeded only when a mediation scenario runs).
    pub(crate) fn needs_cases(self) -> bool {
        matches!(self, Self::EscalateCase)
    }

    /// Whether it asks about the seeded team's calendars (which are seeded only when such a scenario runs).
    pub(crate) fn needs_calendar(self) -> bool {
        matches!(self, Self::ListMeetingsMonth | Self::FindMeetingTimes)
    }

    /// Its calls in flight when that is part of its goal, instead of the run's `--concurrency`.
    pub(crate) fn fixed_concurrency(self) -> Option<usize> {
        match self {
            Self::FindMeetingTimes => Some(calendar::FIND_IN_FLIGHT),
            _ => None,
        }
    }

    /// How its calls reach the server.
    pub(crate) fn transport(self) -> Transport {
        match self {
            Self::GetContactAuth | Self::CreateContactAuth => Transport::Token,
            Self::GetContactTls | Self::CreateContactTls => Transport::TlsWithToken,
            _ => Transport::Plaintext,
        }
    }

    /// The contact reads the scale figures drive at each size of `--scale` ([`crate::scale`]).
    pub(crate) const CONTACT_READS: [Scenario; 6] = [
        Self::GetContact,
        Self::BatchGetContacts,
        Self::ListContacts,
        Self::SearchContacts,
        Self::SearchContacts2Words,
        Self::SearchContactsTypo,
    ];

    /// Whether it reads the imported register (its names, its search queries), which is seeded only when such a
    /// scenario runs.
    pub(crate) fn reads_register(self) -> bool {
        matches!(
            self.base(),
            Self::GetContact
                | Self::GetContactHalfPeak
                | Self::BatchGetContacts
                | Self::ListContacts
                | Self::SearchContacts
                | Self::SearchContacts2Words
                | Self::SearchContactsTypo
        )
    }

    /// The name `--only` may select it by besides its own: the search variants run with `SearchContacts`.
    pub(crate) fn family(self) -> Scenario {
        match self {
            Self::SearchContacts2Words | Self::SearchContactsTypo => Self::SearchContacts,
            other => other,
        }
    }

    /// The scenario whose calls it sends (itself, but for the token and TLS variants).
    pub(crate) fn base(self) -> Scenario {
        match self {
            Self::GetContactAuth | Self::GetContactTls => Self::GetContact,
            Self::CreateContactAuth | Self::CreateContactTls => Self::CreateContact,
            other => other,
        }
    }
}

/// How a scenario's calls reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Plaintext HTTP/2, no token (development mode lets the call in with every role).
    Plaintext,
    /// Plaintext, with the fixture's bearer token.
    Token,
    /// Over TLS to the all-in-one that has TLS on, with its bearer token.
    TlsWithToken,
}

/// Spreads call `seq` over `len` items (Fibonacci hashing: neighbouring calls land far apart).
pub(crate) fn spread(seq: u64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) as usize % len
}

/// `count` distinct indexes below `len`, starting where `seq` lands (consecutive, wrapping around).
pub(crate) fn window(seq: u64, count: usize, len: usize) -> impl Iterator<Item = usize> {
    let start = spread(seq, len);
    (0..count.min(len)).map(move |i| (start + i) % len.max(1))
}

/// The data the read and update scenarios use.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    /// Names of the contacts seeded with CreateContact: what the write scenarios update, meet and open cases
    /// between.
    pub(crate) names: Arc<Vec<String>>,
    /// Names of the contacts the reads ask for: the imported register's when there is one, else `names`.
    pub(crate) read_names: Arc<Vec<String>>,
    /// What the search scenarios look for (empty without a register: see [`SEARCH_QUERY`]).
    pub(crate) queries: Arc<crate::register::Queries>,
    /// A token for every page of ListContacts (the first page's is empty).
    pub(crate) page_tokens: Arc<Vec<String>>,
    /// Distinguishes this run's data (request ids, emails) from any other.
    pub(crate) tag: Arc<str>,
    /// Workers of the drive: UpdateContact gives each its own contacts, so that no two calls in flight update the
    /// same one (which is a conflict, not load).
    pub(crate) workers: usize,
    /// The round of the run (0, 1, …): request ids and meeting slots of one round never meet another's, since
    /// every drive numbers its calls from 0.
    pub(crate) round: u32,
    /// `Bearer <token>` for the scenarios that send a token (one token for every call); without it they have no
    /// workload.
    pub(crate) bearer: Option<MetadataValue<Ascii>>,
    /// The seeded team whose calendars ListMeetingsMonth and FindMeetingTimes ask about; without it they have no
    /// workload.
    pub(crate) calendar: Option<Arc<Calendar>>,
    /// The seeded cases EscalateCase escalates (none of them on ListCasesBySla's page); without them it has no
    /// workload.
    pub(crate) cases: Option<Arc<Vec<String>>>,
}

/// `authorization: Bearer <token>` metadata.
pub(crate) fn bearer(token: &str) -> anyhow::Result<MetadataValue<Ascii>> {
    format!("Bearer {token}").parse().context("a token must be printable ASCII")
}

impl Fixture {
    /// The same data for round `round`.
    pub(crate) fn for_round(&self, round: u32) -> Self {
        Self { round, ..self.clone() }
    }

    /// What names this round's writes (request ids, written contacts, the ceiling's rows) apart from other rounds'.
    pub(crate) fn round_tag(&self) -> String {
        format!("{}-r{}", self.tag, self.round)
    }
}

/// The contact of `names` that worker `worker` (of `workers`) updates in its `seq`-th call: worker `w` keeps to
/// the indexes `w`, `w + workers`, `w + 2 × workers`, …
pub(crate) fn own_index(worker: usize, workers: usize, seq: u64, len: usize) -> usize {
    let workers = workers.clamp(1, len.max(1));
    let rows = (len / workers).max(1);
    (worker % workers + workers * spread(seq, rows)) % len.max(1)
}

/// A new seeded contact, distinct for each (`tag`, `i`), shaped like a real one; [`SEARCH_QUERY`] finds it.
pub(crate) fn new_contact(tag: &str, i: u64) -> Contact {
    contact_called("Bench", tag, i)
}

/// A contact written by the CreateContact scenario: the same size as a seeded one, but named so that
/// SearchContacts never finds it, so that each round searches the same seeded contacts.
pub(crate) fn written_contact(tag: &str, i: u64) -> Contact {
    contact_called("Write", tag, i)
}

fn contact_called(word: &str, tag: &str, i: u64) -> Contact {
    Contact {
        display_name: format!("{word} Person {tag} {i}"),
        given_name: word.into(),
        family_name: format!("Person {i}"),
        email: format!("{}.{tag}.{i}@example.org", word.to_lowercase()),
        time_zone: "Europe/Paris".into(),
        notes: "Created by liaison-bench.".into(),
        ..Default::default()
    }
}

/// The encoded size of a GetContactResponse for a contact made by [`new_contact`], as the service fills it in
/// (name, uid, etag, times, the email as a list entry).
pub(crate) fn typical_get_contact_response_len() -> usize {
    use liaison_proto::contacts::v1::{ChannelType, EmailAddress, GetContactResponse};
    use prost::Message;
    let id = uuid::Uuid::now_v7();
    let time = prost_types::Timestamp { seconds: 1_900_000_000, nanos: 123_456_789 };
    let mut contact = new_contact("12345x0123abcd", 1234);
    contact.emails =
        vec![EmailAddress { address: contact.email.clone(), r#type: ChannelType::Work as i32, primary: true }];
    contact.name = format!("contacts/{id}");
    contact.uid = format!("urn:uuid:{id}");
    contact.etag = "\"1-0123456789abcdef\"".into();
    contact.create_time = Some(time);
    contact.update_time = Some(time);
    GetContactResponse { contact: Some(contact) }.encoded_len()
}

/// Creates `count` contacts over `contacts`, 32 at a time, and returns their names.
pub(crate) async fn seed_contacts(contacts: &Connections, tag: &str, count: usize) -> anyhow::Result<Vec<String>> {
    futures::stream::iter(0..count)
        .map(|i| {
            let channel = contacts.get(i);
            let contact = new_contact(&format!("{tag}-seed"), i as u64);
            async move {
                let created = ContactsServiceClient::new(channel)
                    .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
                    .await
                    .with_context(|| format!("seeding contact {i}: CreateContact failed"))?
                    .into_inner()
                    .contact
                    .context("CreateContact returned no contact")?;
                Ok(created.name)
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await
}

/// Pages through ListContacts and returns the token of every page (the first one's is empty).
pub(crate) async fn page_tokens(channel: &Channel) -> anyhow::Result<Vec<String>> {
    let mut client = ContactsServiceClient::new(channel.clone());
    let mut tokens = vec![String::new()];
    loop {
        let page = client
            .list_contacts(ListContactsRequest {
                page_size: Some(PAGE_SIZE),
                page_token: tokens.last().cloned().unwrap_or_default(),
                ..Default::default()
            })
            .await
            .context("ListContacts failed while collecting page tokens")?
            .into_inner();
        if page.next_page_token.is_empty() || tokens.len() > 100_000 {
            return Ok(tokens);
        }
        tokens.push(page.next_page_token);
    }
}

/// Case `seq` between [`CASE_PARTIES`] distinct seeded contacts (a window of `names` of its own; the first is the
/// complainant, the others respondents).
pub(crate) fn new_case(names: &[String], title: String, seq: u64) -> Case {
    Case {
        title,
        parties: window(seq, CASE_PARTIES, names.len()).map(|i| names[i].clone()).collect(),
        category: Category::CommunityGrievance as i32,
        severity: Severity::Medium as i32,
        ..Default::default()
    }
}

/// ListCasesBySla's request: the first page of the cases whose SLA clocks are on track (every fresh case is).
pub(crate) fn cases_by_sla() -> ListCasesRequest {
    ListCasesRequest { page_size: Some(CASE_PAGE_SIZE), sla_status: SlaStatus::OnTrack as i32, ..Default::default() }
}

/// Opens `count` cases between the seeded contacts `names` over `mediation`, [`CASE_SEED_IN_FLIGHT`] at a time,
/// and returns the names of those EscalateCase escalates: every one but those on ListCasesBySla's page (the oldest
/// cases on track). Each escalation adds an entry to its case's history, which every answer carries; the listed
/// cases keep their one entry, so that the list's cost does not grow with the escalations of the rounds before.
pub(crate) async fn seed_cases(
    mediation: &Connections,
    names: &[String],
    tag: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let opened: Vec<String> = futures::stream::iter(0..count)
        .map(|i| {
            let channel = mediation.get(i);
            let case = new_case(names, format!("Bench seeded case {tag} {i}"), i as u64);
            async move {
                let request = tonic::Request::new(OpenCaseRequest { case: Some(case), request_id: String::new() });
                let opened: CaseReply = unary(channel, OPEN_CASE, request)
                    .await
                    .with_context(|| format!("seeding case {i}: OpenCase failed"))?;
                Ok::<_, anyhow::Error>(opened.case.context("OpenCase returned no case")?.name)
            }
        })
        .buffer_unordered(CASE_SEED_IN_FLIGHT)
        .try_collect()
        .await?;
    let listed: CasePage = unary(mediation.get(0), LIST_CASES, tonic::Request::new(cases_by_sla()))
        .await
        .context("ListCases by SLA status failed after seeding cases")?;
    let listed: std::collections::HashSet<String> = listed.cases.into_iter().map(|case| case.name).collect();
    Ok(opened.into_iter().filter(|name| !listed.contains(name)).collect())
}

/// The calls of `scenario` over `connections` (to contacts, to scheduling for the meeting scenarios, to mediation
/// for the case scenarios); `Ingestion` has none: it is timed by [`crate::ingest`].
/// The token and TLS variants send the calls of their [`Scenario::base`] with the fixture's bearer token, and have
/// none without one; the caller gives the connections to the server each scenario runs on.
pub(crate) fn workload(scenario: Scenario, fixture: &Fixture, connections: &Connections) -> Option<Workload> {
    let connections = connections.clone();
    let names = fixture.names.clone();
    let read_names = fixture.read_names.clone();
    let round = fixture.round;
    let bearer = match scenario.transport() {
        Transport::Plaintext => None,
        Transport::Token | Transport::TlsWithToken => Some(fixture.bearer.clone()?),
    };
    // Each variant writes contacts of its own: the same request ids would be replays, not writes.
    let tag: Arc<str> = match scenario.transport() {
        Transport::Plaintext => fixture.round_tag().into(),
        Transport::Token => format!("{}-auth", fixture.round_tag()).into(),
        Transport::TlsWithToken => format!("{}-tls", fixture.round_tag()).into(),
    };
    let workers = fixture.workers;
    let workload: Workload = match scenario.base() {
        Scenario::GetContact | Scenario::GetContactHalfPeak => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let name = read_names[spread(seq, read_names.len())].clone();
            let request = with_bearer(GetContactRequest { name: name.clone() }, bearer.as_ref());
            call(async move {
                let response: names_only::Contact = unary(channel, GET_CONTACT, request).await?;
                Ok(u64::from(response.contact.is_some_and(|contact| contact.name == name)))
            })
        }),
        Scenario::BatchGetContacts => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let names = window(seq, BATCH_SIZE, read_names.len()).map(|i| read_names[i].clone()).collect();
            call(async move {
                let request = tonic::Request::new(BatchGetContactsRequest { names });
                let response: names_only::Contacts = unary(channel, BATCH_GET_CONTACTS, request).await?;
                Ok(response.contacts.len() as u64)
            })
        }),
        Scenario::ListContacts => {
            let tokens = fixture.page_tokens.clone();
            Arc::new(move |worker, seq| {
                let channel = connections.get(worker);
                let page_token = tokens[spread(seq, tokens.len())].clone();
                call(async move {
                    let request = ListContactsRequest { page_size: Some(PAGE_SIZE), page_token, ..Default::default() };
                    let response: names_only::ContactPage =
                        unary(channel, LIST_CONTACTS, tonic::Request::new(request)).await?;
                    Ok(response.contacts.len() as u64)
                })
            })
        }
        search @ (Scenario::SearchContacts | Scenario::SearchContacts2Words | Scenario::SearchContactsTypo) => {
            let (queries, fallback) = match search {
                Scenario::SearchContacts => (fixture.queries.one_word.clone(), SEARCH_QUERY),
                Scenario::SearchContacts2Words => (fixture.queries.two_words.clone(), SEARCH_QUERY_2_WORDS),
                _ => (fixture.queries.typo.clone(), SEARCH_QUERY_TYPO),
            };
            Arc::new(move |worker, seq| {
                let channel = connections.get(worker);
                let query =
                    if queries.is_empty() { fallback.to_owned() } else { queries[spread(seq, queries.len())].clone() };
                call(async move {
                    let request =
                        SearchContactsRequest { query, page_size: Some(PAGE_SIZE), page_token: String::new() };
                    let response: SearchPage = unary(channel, SEARCH_CONTACTS, tonic::Request::new(request)).await?;
                    Ok(response.results.len() as u64)
                })
            })
        }
        Scenario::CreateContact => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let request = CreateContactRequest {
                contact: Some(written_contact(&tag, seq)),
                request_id: format!("bench-{tag}-contact-{seq}"),
            };
            let request = with_bearer(request, bearer.as_ref());
            call(async move {
                ContactsServiceClient::new(channel).create_contact(request).await?;
                Ok(1)
            })
        }),
        Scenario::UpdateContact => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let contact = Contact {
                name: names[own_index(worker, workers, seq, names.len())].clone(),
                notes: format!("Updated by liaison-bench, call {seq}."),
                ..Default::default()
            };
            call(async move {
                let request = UpdateContactRequest {
                    contact: Some(contact),
                    update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
                };
                ContactsServiceClient::new(channel).update_contact(request).await?;
                Ok(1)
            })
        }),
        Scenario::CreateMeeting => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let request = CreateMeetingRequest {
                meeting: Some(meeting(&names, round, seq)),
                request_id: format!("bench-{tag}-meeting-{seq}"),
                ..Default::default()
            };
            call(async move {
                SchedulingServiceClient::new(channel).create_meeting(request).await?;
                Ok(1)
            })
        }),
        Scenario::CreateMeeting50 => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let request = CreateMeetingRequest {
                meeting: Some(large_meeting(&names, round, seq)),
                request_id: format!("bench-{tag}-meeting50-{seq}"),
                ..Default::default()
            };
            call(async move {
                // The stored meeting (50 attendees) comes back; the driver skips it rather than decoding it.
                let _: Skipped = unary(channel, CREATE_MEETING, tonic::Request::new(request)).await?;
                Ok(1)
            })
        }),
        Scenario::ListMeetingsMonth => {
            let calendar = fixture.calendar.clone()?;
            Arc::new(move |worker, seq| {
                let channel = connections.get(worker);
                let request = calendar::list_request(
                    &calendar,
                    spread(seq, calendar.participants.len()),
                    spread(seq ^ 0x2545_f491, calendar.months.len()),
                );
                call(async move {
                    let page: MeetingPage = unary(channel, LIST_MEETINGS, tonic::Request::new(request)).await?;
                    Ok(page.meetings.len() as u64)
                })
            })
        }
        Scenario::FindMeetingTimes => {
            let calendar = fixture.calendar.clone()?;
            Arc::new(move |worker, seq| {
                let channel = connections.get(worker);
                let request = calendar::find_request(&calendar, spread(seq, calendar::windows()));
                call(async move {
                    let found: Candidates = unary(channel, FIND_MEETING_TIMES, tonic::Request::new(request)).await?;
                    Ok(found.candidates.len() as u64)
                })
            })
        }
        Scenario::ListCasesBySla => Arc::new(move |worker, _seq| {
            let channel = connections.get(worker);
            call(async move {
                let page: CasePage = unary(channel, LIST_CASES, tonic::Request::new(cases_by_sla())).await?;
                Ok(page.cases.len() as u64)
            })
        }),
        Scenario::OpenCase => Arc::new(move |worker, seq| {
            let channel = connections.get(worker);
            let request = OpenCaseRequest {
                case: Some(new_case(&names, format!("Bench case {tag} {seq}"), seq)),
                request_id: format!("bench-{tag}-case-{seq}"),
            };
            call(async move {
                let opened: CaseReply = unary(channel, OPEN_CASE, tonic::Request::new(request)).await?;
                Ok(u64::from(opened.case.is_some()))
            })
        }),
        Scenario::EscalateCase => {
            let cases = fixture.cases.clone().filter(|cases| !cases.is_empty())?;
            Arc::new(move |worker, seq| {
                let channel = connections.get(worker);
                let name = cases[own_index(worker, workers, seq, cases.len())].clone();
                let request = EscalateCaseRequest {
                    name: name.clone(),
                    etag: String::new(),
                    escalate_to: ESCALATE_TO.into(),
                    reason: ESCALATION_REASON.into(),
                };
                call(async move {
                    let escalated: CaseReply = unary(channel, ESCALATE_CASE, tonic::Request::new(request)).await?;
                    Ok(u64::from(escalated.case.is_some_and(|case| case.name == name)))
                })
            })
        }
        Scenario::GetContactAuth
        | Scenario::GetContactTls
        | Scenario::CreateContactAuth
        | Scenario::CreateContactTls
        | Scenario::Ingestion => return None,
    };
    Some(workload)
}

/// `message` as a request, with `authorization: <bearer>` when there is one.
fn with_bearer<T>(message: T, bearer: Option<&MetadataValue<Ascii>>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(bearer) = bearer {
        request.metadata_mut().insert("authorization", bearer.clone());
    }
    request
}

/// Hour-long slots given to each round's meetings (57 years' worth: a round creates tens of thousands).
const SLOTS_PER_ROUND: u64 = 500_000;

/// The `seq`-th meeting of round `round`: ten seeded contacts, in a half-hour slot of its own (no participant is
/// ever double-booked).
pub(crate) fn meeting(names: &[String], round: u32, seq: u64) -> Meeting {
    meeting_in_slot(names, round, seq, MEETING_PARTICIPANTS, 0)
}

/// The `seq`-th meeting of CreateMeeting50 in round `round`: fifty seeded contacts (a window of the seed of its
/// own), in the second half hour of the hour slot whose first half [`meeting`] gives CreateMeeting's `seq`-th (touching
/// ends do not overlap). No participant is ever double-booked, so the conflict check reads their other meetings
/// and passes, and every call writes.
pub(crate) fn large_meeting(names: &[String], round: u32, seq: u64) -> Meeting {
    Meeting {
        title: format!("Bench meeting of fifty {seq}"),
        ..meeting_in_slot(names, round, seq, LARGE_MEETING_PARTICIPANTS, 1800)
    }
}

fn meeting_in_slot(names: &[String], round: u32, seq: u64, participants: usize, offset: i64) -> Meeting {
    const FIRST_SLOT: i64 = 1_900_000_000;
    let slot = u64::from(round) * SLOTS_PER_ROUND + seq.min(SLOTS_PER_ROUND - 1);
    let start = FIRST_SLOT + i64::try_from(slot).unwrap_or(0) * 3600 + offset;
    Meeting {
        title: format!("Bench meeting {seq}"),
        start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
        end_time: Some(prost_types::Timestamp { seconds: start + 1800, nanos: 0 }),
        time_zone: "Europe/Paris".into(),
        participants: window(seq, participants, names.len()).map(|i| names[i].clone()).collect(),
        ..Default::default()
    }
}

fn call(future: impl Future<Output = Result<u64, tonic::Status>> + Send + 'static) -> Call {
    Box::pin(future)
}

const GET_CONTACT: &str = "/liaison.contacts.v1.ContactsService/GetContact";
const BATCH_GET_CONTACTS: &str = "/liaison.contacts.v1.ContactsService/BatchGetContacts";
const LIST_CONTACTS: &str = "/liaison.contacts.v1.ContactsService/ListContacts";
const SEARCH_CONTACTS: &str = "/liaison.contacts.v1.ContactsService/SearchContacts";
const CREATE_MEETING: &str = "/liaison.scheduling.v1.SchedulingService/CreateMeeting";
const LIST_MEETINGS: &str = "/liaison.scheduling.v1.SchedulingService/ListMeetings";
const FIND_MEETING_TIMES: &str = "/liaison.scheduling.v1.SchedulingService/FindMeetingTimes";
const OPEN_CASE: &str = "/liaison.mediation.v1.MediationService/OpenCase";
const ESCALATE_CASE: &str = "/liaison.mediation.v1.MediationService/EscalateCase";
const LIST_CASES: &str = "/liaison.mediation.v1.MediationService/ListCases";

/// A response whose fields the driver does not read: every field skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct Skipped {}

/// A ListMeetingsResponse with each meeting left encoded: the driver counts them (field numbers as in
/// `ListMeetingsResponse`).
#[derive(Clone, PartialEq, prost::Message)]
struct MeetingPage {
    #[prost(bytes = "vec", repeated, tag = "1")]
    meetings: Vec<Vec<u8>>,
    #[prost(string, tag = "2")]
    next_page_token: String,
}

/// An OpenCaseResponse or EscalateCaseResponse with only the case's name decoded (the case is field 1 of both, its
/// name field 1 of `Case`): the history, clocks and level ages that come with it are skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct CaseReply {
    #[prost(message, optional, tag = "1")]
    case: Option<names_only::Named>,
}

/// A ListCasesResponse with only each case's name decoded (field numbers as in `ListCasesResponse`).
#[derive(Clone, PartialEq, prost::Message)]
struct CasePage {
    #[prost(message, repeated, tag = "1")]
    cases: Vec<names_only::Named>,
    #[prost(string, tag = "2")]
    next_page_token: String,
}

/// A SearchContactsResponse with each result left encoded (field numbers as in `SearchContactsResponse`): the
/// driver counts the hits, as it counts ListContacts' contacts, without decoding them.
#[derive(Clone, PartialEq, prost::Message)]
struct SearchPage {
    #[prost(bytes = "vec", repeated, tag = "1")]
    results: Vec<Vec<u8>>,
    #[prost(string, tag = "2")]
    next_page_token: String,
}

/// A FindMeetingTimesResponse with each candidate left encoded (field numbers as in `FindMeetingTimesResponse`).
#[derive(Clone, PartialEq, prost::Message)]
struct Candidates {
    #[prost(bytes = "vec", repeated, tag = "1")]
    candidates: Vec<Vec<u8>>,
}

/// One unary call whose response is decoded as `View`, a [`names_only`] message with the response's field
/// numbers: the driver checks which contacts came back without spending the cores it shares with the servers on
/// fields it never reads (decoding 100 whole contacts cost the driver more CPU than the server spent answering).
/// The server does exactly the same work either way; h2load, the outside cross-check, decodes nothing.
async fn unary<Req, View>(
    channel: Channel,
    path: &'static str,
    request: tonic::Request<Req>,
) -> Result<View, tonic::Status>
where
    Req: prost::Message + 'static,
    View: prost::Message + Default + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("connection not ready: {e}")))?;
    let codec = tonic_prost::ProstCodec::<Req, View>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    Ok(grpc.unary(request, path, codec).await?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreading_stays_in_range_and_reaches_far() {
        for len in [1usize, 7, 100, 2000] {
            assert!((0..10_000u64).all(|seq| spread(seq, len) < len));
        }
        let distinct: std::collections::HashSet<_> = (0..1000u64).map(|seq| spread(seq, 2000)).collect();
        assert!(distinct.len() > 500, "1000 calls over 2000 contacts touch many of them: {}", distinct.len());
        assert_eq!(spread(5, 0), 0);
    }

    #[test]
    fn a_window_has_distinct_indexes() {
        for seq in 0..200u64 {
            let indexes: Vec<_> = window(seq, BATCH_SIZE, 150).collect();
            let distinct: std::collections::HashSet<_> = indexes.iter().collect();
            assert_eq!((indexes.len(), distinct.len()), (BATCH_SIZE, BATCH_SIZE));
            assert!(indexes.iter().all(|i| *i < 150));
        }
        assert_eq!(window(3, 10, 4).count(), 4, "never more than there are");
    }

    #[test]
    fn updating_workers_never_share_a_contact() {
        for (workers, len) in [(64usize, 2000usize), (16, 200), (8, 8), (10, 3)] {
            let mut owner = std::collections::HashMap::new();
            for worker in 0..workers {
                for seq in 0..500u64 {
                    let index = own_index(worker, workers, seq, len);
                    assert!(index < len);
                    if workers <= len {
                        assert_eq!(*owner.entry(index).or_insert(worker), worker, "index {index} of {len}");
                    }
                }
            }
        }
    }

    fn unconnected() -> Connections {
        Connections::lazy("http://127.0.0.1:9").expect("lazy connections")
    }

    #[test]
    fn the_contact_reads_read_the_register_and_the_search_variants_are_one_family() {
        for scenario in Scenario::CONTACT_READS {
            assert!(scenario.reads_register() && scenario.ceiling() == Some(Ceiling::Echo), "{scenario:?}");
        }
        assert!(Scenario::GetContactTls.reads_register() && Scenario::GetContactHalfPeak.reads_register());
        assert!(!Scenario::CreateContact.reads_register() && !Scenario::ListMeetingsMonth.reads_register());
        for variant in [Scenario::SearchContacts2Words, Scenario::SearchContactsTypo] {
            assert_eq!(variant.family(), Scenario::SearchContacts);
        }
        assert_eq!(
            Scenario::GetContactAuth.family(),
            Scenario::GetContactAuth,
            "--only GetContact is GetContact's own"
        );
    }

    #[test]
    fn meetings_of_fifty_take_the_second_half_of_the_slots_of_meetings_of_ten() {
        let names: Vec<String> = (0..200).map(|i| format!("contacts/{i}")).collect();
        for seq in [0u64, 1, 77, 100_000] {
            let ten = meeting(&names, 1, seq);
            let fifty = large_meeting(&names, 1, seq);
            let distinct: std::collections::HashSet<_> = fifty.participants.iter().collect();
            assert_eq!(distinct.len(), LARGE_MEETING_PARTICIPANTS);
            assert_eq!(ten.end_time, fifty.start_time, "touching, not overlapping");
            let next = meeting(&names, 1, seq + 1);
            assert!(fifty.end_time.expect("end").seconds <= next.start_time.expect("start").seconds);
        }
    }

    #[test]
    fn cases_are_between_three_distinct_seeded_contacts() {
        let names: Vec<String> = (0..200).map(|i| format!("contacts/{i}")).collect();
        for seq in [0u64, 1, 77, 100_000] {
            let case = new_case(&names, format!("Bench case {seq}"), seq);
            let distinct: std::collections::HashSet<_> = case.parties.iter().collect();
            assert_eq!(distinct.len(), CASE_PARTIES);
            assert!(case.category != 0 && case.severity != 0, "both are required");
        }
    }

    #[test]
    fn meetings_have_ten_participants_and_slots_of_their_own() {
        let names: Vec<String> = (0..50).map(|i| format!("contacts/{i}")).collect();
        let first = meeting(&names, 0, 0);
        let second = meeting(&names, 0, 1);
        assert_eq!(first.participants.len(), MEETING_PARTICIPANTS);
        let end = first.end_time.expect("end").seconds;
        assert!(end <= second.start_time.expect("start").seconds, "slots do not overlap");
        let last_of_round = meeting(&names, 0, 100_000);
        let first_of_next = meeting(&names, 1, 0);
        assert!(
            last_of_round.end_time.expect("end").seconds <= first_of_next.start_time.expect("start").seconds,
            "a round's meetings never share a slot with the previous round's"
        );
    }

    #[tokio::test]
    async fn each_scenario_has_a_name_a_ceiling_and_calls_but_ingestion() {
        let fixture = Fixture {
            names: Arc::new(vec!["contacts/a".into()]),
            read_names: Arc::new(vec!["contacts/r".into()]),
            queries: Arc::new(crate::register::Queries::default()),
            page_tokens: Arc::new(vec![String::new()]),
            tag: "t".into(),
            workers: 4,
            round: 0,
            bearer: Some(bearer("a.b.c").expect("ASCII")),
            calendar: Some(Arc::new(Calendar {
                participants: vec!["contacts/a".into(), "contacts/b".into()],
                months: vec![(0, 3600)],
            })),
            cases: Some(Arc::new(vec!["cases/a".into()])),
        };
        let without_token = Fixture { bearer: None, ..fixture.clone() };
        let without_calendar = Fixture { calendar: None, ..fixture.clone() };
        let without_cases = Fixture { cases: None, ..fixture.clone() };
        for scenario in Scenario::ALL {
            assert!(!scenario.name().is_empty());
            assert_eq!(workload(scenario, &fixture, &unconnected()).is_some(), scenario != Scenario::Ingestion);
            let latency_or_feed = [Scenario::Ingestion, Scenario::FindMeetingTimes].contains(&scenario);
            assert_eq!(scenario.ceiling().is_some(), !latency_or_feed, "{scenario:?}");
            assert_eq!(scenario.fixed_concurrency().is_some(), scenario == Scenario::FindMeetingTimes);
            assert_eq!(scenario.ceiling(), scenario.base().ceiling());
            assert_eq!(
                workload(scenario, &without_token, &unconnected()).is_some(),
                scenario != Scenario::Ingestion && scenario.transport() == Transport::Plaintext,
                "{scenario:?} sends a token or nothing"
            );
            assert_eq!(
                workload(scenario, &without_calendar, &unconnected()).is_some(),
                scenario != Scenario::Ingestion && !scenario.needs_calendar(),
                "{scenario:?} asks about the seeded calendars or not"
            );
            assert_eq!(
                workload(scenario, &without_cases, &unconnected()).is_some(),
                scenario != Scenario::Ingestion && !scenario.needs_cases(),
                "{scenario:?} escalates the seeded cases or not"
            );
            if scenario.needs_calendar() {
                assert!(scenario.on_scheduling());
            }
            if scenario.needs_cases() {
                assert!(scenario.on_mediation());
            }
            assert!(!(scenario.on_scheduling() && scenario.on_mediation()), "{scenario:?} goes to one service");
        }
        let names: std::collections::HashSet<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Scenario::ALL.len(), "names are distinct");
        let contact = new_contact("t", 7);
        assert!(contact.display_name.to_lowercase().contains(SEARCH_QUERY));
        let written = written_contact("t", 7);
        assert!(
            !format!("{} {} {}", written.display_name, written.given_name, written.email)
                .to_lowercase()
                .contains(SEARCH_QUERY)
        );
        assert_eq!(written.display_name.len(), contact.display_name.len(), "written contacts are the same size");
    }
}
