//! The memory-under-abuse phase: clients send the largest requests the servers allow (and some just over the
//! limits) as fast as they are answered, and each server process's peak resident memory over the phase is read
//! (its VmHWM, reset before the phase through `/proc/<pid>/clear_refs`). What the servers bound — messages,
//! repeated fields, pages, batches, caches — decides that peak, not what the clients send.
use crate::cluster::Cluster;
use crate::load::Connections;
use crate::procs;
use crate::report::ProcessMemory;
use anyhow::Context;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    BatchGetContactsRequest, Contact, CreateContactRequest, ListContactsRequest, SearchContactsRequest,
    UpdateContactRequest,
};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{AttendeeRequest, FindMeetingTimesRequest, ListMeetingsRequest};
use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::limits::MAX_REQUEST_BYTES;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// The phase's name for `--only`.
pub(crate) const NAME: &str = "MemoryUnderAbuse";

/// What the phase did and what it cost the servers.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct AbuseReport {
    pub(crate) duration_ms: f64,
    pub(crate) calls: u64,
    /// Answers by gRPC status (`OK`, `OUT_OF_RANGE`, …).
    pub(crate) answers: BTreeMap<String, u64>,
    /// Each server process's peak resident memory during the phase.
    pub(crate) peak_rss: Vec<ProcessMemory>,
}

/// The requests of the phase, sent in turn by every worker.
#[derive(Debug, Clone, Copy)]
enum Abuse {
    /// The largest contact CreateContact accepts: 10,000 four-byte characters of notes and 50 labels.
    LargestContact,
    /// A contact one byte over the request limit: refused from its length prefix.
    OverLimit,
    /// An update mask of about 1 MiB of one-character paths: one violation.
    HugeMask,
    /// BatchGetContacts of 1,000 names (the most a batch takes), large contacts among them.
    LargestBatch,
    /// ListContacts of 1,000 per page.
    LargestPage,
    /// SearchContacts of 1,000 per page.
    LargestSearch,
    /// FindMeetingTimes for 200 participants (the most it takes) over four weeks.
    LargestFind,
    /// ListMeetings of 1,000 per page.
    LargestMeetingPage,
}

const ALL: [Abuse; 8] = [
    Abuse::LargestContact,
    Abuse::OverLimit,
    Abuse::HugeMask,
    Abuse::LargestBatch,
    Abuse::LargestPage,
    Abuse::LargestSearch,
    Abuse::LargestFind,
    Abuse::LargestMeetingPage,
];

/// How long one abusive call may take before the worker gives up on it (and counts it).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the phase for `duration` with `workers` clients over `connections` channels per service; `names` are
/// contacts that exist.
pub(crate) async fn run(
    cluster: &Cluster,
    names: &[String],
    duration: Duration,
    workers: usize,
    connections: usize,
) -> anyhow::Result<AbuseReport> {
    let processes = cluster.processes();
    for (_, pid) in &processes {
        reset_peak(*pid)?;
    }
    let contacts = Connections::open(&cluster.url(ServiceKind::Contacts), connections).await?;
    let scheduling = Connections::open(&cluster.url(ServiceKind::Scheduling), connections).await?;
    let names: Arc<Vec<String>> = Arc::new(names.iter().take(1000).cloned().collect());
    anyhow::ensure!(!names.is_empty(), "the abuse phase needs seeded contacts");
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (contacts, scheduling) = (contacts.get(worker), scheduling.get(worker));
            let names = Arc::clone(&names);
            tokio::spawn(async move {
                let mut answers = BTreeMap::<String, u64>::new();
                let mut turn = worker;
                while Instant::now() < deadline {
                    let abuse = ALL[turn % ALL.len()];
                    turn += 1;
                    let code = send(abuse, &contacts, &scheduling, &names, turn).await;
                    *answers.entry(crate::load::code_name(code).to_owned()).or_default() += 1;
                }
                answers
            })
        })
        .collect();
    let mut answers = BTreeMap::new();
    for task in tasks {
        for (code, count) in task.await.context("an abuse worker panicked")? {
            *answers.entry(code).or_default() += count;
        }
    }
    let elapsed = started.elapsed();
    let peak_rss = processes
        .into_iter()
        .map(|(process, pid)| Ok(ProcessMemory { process, rss_kib: procs::memory(pid)?.hwm_kib }))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AbuseReport { duration_ms: elapsed.as_secs_f64() * 1e3, calls: answers.values().sum(), answers, peak_rss })
}

/// Resets the peak resident memory Linux keeps for `pid` (VmHWM) to what it holds now.
fn reset_peak(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("cannot reset the peak memory of process {pid} (/proc/{pid}/clear_refs)"))
}

/// One abusive call; its status code.
async fn send(abuse: Abuse, contacts: &Channel, scheduling: &Channel, names: &[String], turn: usize) -> tonic::Code {
    let mut contacts = ContactsServiceClient::new(contacts.clone())
        .max_decoding_message_size(8 * 1024 * 1024)
        .max_encoding_message_size(8 * 1024 * 1024);
    let mut scheduling = SchedulingServiceClient::new(scheduling.clone()).max_decoding_message_size(8 * 1024 * 1024);
    let call = async {
        match abuse {
            Abuse::LargestContact => {
                let request = CreateContactRequest { contact: Some(largest_contact(turn)), request_id: String::new() };
                contacts.create_contact(request).await.map(drop)
            }
            Abuse::OverLimit => {
                let contact = Contact {
                    display_name: "Over".into(),
                    notes: "x".repeat(MAX_REQUEST_BYTES + 1),
                    ..Default::default()
                };
                contacts
                    .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
                    .await
                    .map(drop)
            }
            Abuse::HugeMask => {
                let contact = Contact { name: names[turn % names.len()].clone(), ..Default::default() };
                let paths = vec!["x".to_owned(); (MAX_REQUEST_BYTES - 1024) / 3];
                let request = UpdateContactRequest {
                    contact: Some(contact),
                    update_mask: Some(prost_types::FieldMask { paths }),
                };
                contacts.update_contact(request).await.map(drop)
            }
            Abuse::LargestBatch => {
                let request = BatchGetContactsRequest { names: names.to_vec() };
                contacts.batch_get_contacts(request).await.map(drop)
            }
            Abuse::LargestPage => {
                let request = ListContactsRequest { page_size: Some(1000), ..Default::default() };
                contacts.list_contacts(request).await.map(drop)
            }
            Abuse::LargestSearch => {
                let request =
                    SearchContactsRequest { query: "abuse".into(), page_size: Some(1000), ..Default::default() };
                contacts.search_contacts(request).await.map(drop)
            }
            Abuse::LargestFind => {
                let start = 1_893_456_000; // 2030-01-01
                let request = FindMeetingTimesRequest {
                    participants: names
                        .iter()
                        .take(200)
                        .map(|name| AttendeeRequest { contact: name.clone(), optional: false })
                        .collect(),
                    duration: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
                    window_start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
                    window_end_time: Some(prost_types::Timestamp { seconds: start + 28 * 86_400, nanos: 0 }),
                    time_zone: "Europe/Paris".into(),
                    ..Default::default()
                };
                scheduling.find_meeting_times(request).await.map(drop)
            }
            Abuse::LargestMeetingPage => {
                let request = ListMeetingsRequest { page_size: Some(1000), ..Default::default() };
                scheduling.list_meetings(request).await.map(drop)
            }
        }
    };
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(())) => tonic::Code::Ok,
        Ok(Err(status)) => status.code(),
        Err(_) => tonic::Code::DeadlineExceeded,
    }
}

/// The largest contact the API accepts, more or less: notes of 10,000 four-byte characters, 50 labels of 63
/// characters, the word "abuse" in its name (for SearchContacts).
fn largest_contact(turn: usize) -> Contact {
    Contact {
        display_name: format!("Abuse Largest {turn}"),
        notes: "𝄞".repeat(10_000),
        labels: (0..50).map(|i| format!("abuse-{i:02}-{}", "a".repeat(54))).collect(),
        ..Default::default()
    }
}
