//! Reporting's ingestion of the change feeds, watched from outside, for tests that break it: what each source's
//! feed holds, what reporting says it has applied (`GetIngestionStatus`: the durable cursor and `applied_count`,
//! whether this replica has a stream open), whether a batch is being applied right now (PostgreSQL's own
//! `pg_stat_activity`), the `liaison_feed_applied_total` metric, and a burst of writes to give it a backlog.
//!
//! The exactness check rests on two facts of the product: the cursor and `applied_count` move in the transaction
//! that applies a batch, and the feed is served in one fixed order whose every served part is a prefix. So at any
//! instant `applied_count` must be the number of changes up to and including the cursor in the feed's order (fewer
//! is a gap, more is a change applied twice), and the cursor's position in that order must never go back. The
//! cursor's sequence number alone may go down: the feed's order is (transaction id, sequence), not the sequence.
use super::load::{Ack, CallRecord, ClientLog, GaveUp, WriteKind, connection_lost, with_deadline};
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{Contact, CreateContactRequest};
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::reporting::v1::{GetIngestionStatusRequest, SourceStatus};
use liaison_runtime::config::ServiceKind;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// The sources reporting follows, in the order `GetIngestionStatus` lists them.
pub const SOURCES: [ServiceKind; 3] = [ServiceKind::Contacts, ServiceKind::Scheduling, ServiceKind::Mediation];

/// `GetIngestionStatus` of the reporting replica behind `channel` (2 s deadline).
pub async fn ingestion(channel: &Channel) -> Result<Vec<SourceStatus>, Status> {
    let mut client = ReportingServiceClient::new(channel.clone());
    let request = with_deadline(GetIngestionStatusRequest {}, Duration::from_secs(2));
    Ok(client.get_ingestion_status(request).await?.into_inner().sources)
}

/// The status of `source` among `sources`.
pub fn status_of(sources: &[SourceStatus], source: ServiceKind) -> Option<&SourceStatus> {
    sources.iter().find(|s| s.source == source.name())
}

/// Every change sequence of the feed of the service behind `channel`, in feed order (`ListChanges` from the
/// start, 1,000 a page; retried while the service is unavailable, for up to 20 s).
pub async fn feed_order(channel: &Channel) -> Vec<i64> {
    let mut client = ChangeFeedServiceClient::new(channel.clone()).max_decoding_message_size(256 << 20);
    let mut order = Vec::new();
    let began = Instant::now();
    loop {
        let after = order.last().copied().unwrap_or(0);
        let request =
            with_deadline(ListChangesRequest { after_sequence: after, page_size: Some(1000) }, Duration::from_secs(10));
        match client.list_changes(request).await {
            Ok(page) => {
                let page = page.into_inner();
                if page.changes.is_empty() {
                    return order;
                }
                order.extend(page.changes.iter().map(|c| c.sequence));
            }
            Err(status) if status.code() == Code::Unavailable && began.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("ListChanges after {after}: {status}"),
        }
    }
}

/// A feed's order: where each sequence stands in it.
#[derive(Debug, Clone)]
pub struct FeedOrder {
    position: HashMap<i64, usize>,
    pub len: usize,
}

impl FeedOrder {
    pub fn new(order: &[i64]) -> Self {
        Self { position: order.iter().enumerate().map(|(i, s)| (*s, i + 1)).collect(), len: order.len() }
    }

    /// How many changes the feed holds up to and including `cursor` (0 for the cursor 0); `None` if `cursor` is
    /// no change of the feed.
    pub fn prefix(&self, cursor: i64) -> Option<usize> {
        if cursor == 0 { Some(0) } else { self.position.get(&cursor).copied() }
    }
}

/// One answer of `GetIngestionStatus`: which replica (its index in the watch), when it was asked, what it said.
#[derive(Debug, Clone)]
pub struct IngestionSample {
    pub replica: usize,
    pub at: Instant,
    pub sources: Vec<SourceStatus>,
}

/// `GetIngestionStatus` of one or more reporting replicas, asked in turn every `poll` while it runs. The replicas
/// are asked one after the other, each answer awaited, so the samples are in the order their database reads
/// happened.
pub struct IngestionWatch {
    stop: CancellationToken,
    task: JoinHandle<Vec<IngestionSample>>,
}

impl IngestionWatch {
    pub fn start(replicas: Vec<Channel>, poll: Duration) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut samples = Vec::new();
                while !stop.is_cancelled() {
                    for (replica, channel) in replicas.iter().enumerate() {
                        let at = Instant::now();
                        if let Ok(Ok(sources)) = tokio::time::timeout(Duration::from_secs(3), ingestion(channel)).await
                        {
                            samples.push(IngestionSample { replica, at, sources });
                        }
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

    pub async fn finish(self) -> Vec<IngestionSample> {
        self.stop.cancel();
        self.task.await.expect("the ingestion watch panicked")
    }
}

/// What the samples say of one source against its feed.
#[derive(Debug, Clone, Default)]
pub struct Exactness {
    pub samples: usize,
    /// Samples whose `applied_count` is not the cursor's prefix of the feed, or whose cursor is no change of it.
    pub mismatches: Vec<String>,
    /// Consecutive samples whose cursor went back in the feed's order.
    pub regressions: Vec<String>,
    /// How many times the cursor moved forward.
    pub advances: usize,
    /// How many of those forward moves went to a lower sequence number (the feed's order is not the sequence's).
    pub lower_sequence: usize,
}

/// Checks every sample of `source` against its feed `order`: `applied_count` equal to the number of changes up to
/// the cursor, the cursor never back.
pub fn exactness(samples: &[IngestionSample], source: ServiceKind, order: &FeedOrder) -> Exactness {
    let mut out = Exactness::default();
    let mut last: Option<(usize, i64)> = None;
    for sample in samples {
        let Some(status) = status_of(&sample.sources, source) else { continue };
        out.samples += 1;
        let Some(prefix) = order.prefix(status.cursor) else {
            out.mismatches
                .push(format!("replica {}: cursor {} is no change of the feed", sample.replica, status.cursor));
            continue;
        };
        if status.applied_count != prefix as i64 {
            out.mismatches.push(format!(
                "replica {}: cursor {} is change #{prefix} of the feed but applied_count is {}",
                sample.replica, status.cursor, status.applied_count
            ));
        }
        if let Some((before, cursor)) = last {
            if prefix < before {
                out.regressions.push(format!(
                    "replica {}: cursor went back from {cursor} (#{before}) to {} (#{prefix})",
                    sample.replica, status.cursor
                ));
            } else if prefix > before {
                out.advances += 1;
                if status.cursor < cursor {
                    out.lower_sequence += 1;
                }
            }
        }
        last = Some((prefix, status.cursor));
    }
    out
}

/// The `liaison_feed_applied_total` counter per source, from the `/metrics` of a process serving them on
/// 127.0.0.1:`port` (a source it never applied anything from is absent).
pub async fn applied_metric(port: u16) -> Result<BTreeMap<String, u64>, String> {
    let text = super::resources::scrape(port).await?;
    let mut applied = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("liaison_feed_applied_total{")) {
        let source = line.split("source=\"").nth(1).and_then(|rest| rest.split('"').next());
        let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let (Some(source), Some(value)) = (source, value) {
            applied.insert(source.to_owned(), value as u64);
        }
    }
    Ok(applied)
}

/// Reporting's database seen from PostgreSQL: whether one of its sessions is applying a batch right now.
pub struct BatchProbe {
    conn: DatabaseConnection,
    database: String,
}

impl BatchProbe {
    /// Connects to the server's administrative `url` to watch the sessions on `database`.
    pub async fn connect(url: &str, database: &str) -> Self {
        let conn = Database::connect(url).await.unwrap_or_else(|e| panic!("batch probe: cannot connect: {e}"));
        Self { conn, database: database.to_owned() }
    }

    /// Sessions on the database inside a transaction that has written (it has a transaction id) and whose last
    /// statement is a write of an ingestion batch: facts upserted or removed, or the cursor advanced. Only
    /// ingestion writes those, so such a session is a batch applied but not yet committed.
    pub async fn batches_open(&self) -> usize {
        let sql = "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE datname = $1 \
                   AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL \
                   AND state IN ('active', 'idle in transaction') \
                   AND (query LIKE 'INSERT INTO facts%' OR query LIKE 'DELETE FROM facts%' \
                        OR query LIKE 'UPDATE sources SET cursor%')";
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, [self.database.clone().into()]);
        match self.conn.query_one_raw(statement).await {
            Ok(Some(row)) => row.try_get::<i64>("", "n").map_or(0, |n| n as usize),
            _ => 0,
        }
    }

    /// Polls without pause until a batch is open (how long it took), or `None` after `timeout`.
    pub async fn wait_open(&self, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.batches_open().await > 0 {
                return Some(started.elapsed());
            }
            tokio::task::yield_now().await;
        }
        None
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// A burst of `count` contacts created by `concurrency` careful clients on contacts (`channel`), each with the
/// request id `<run>-<label><i>` that is also its display name, a 5 s deadline, retried with the same request id
/// (for up to 40 s) while the outcome is unknown. What it did, as the load's log says it (its acks are
/// [`WriteKind::Contact`], so [`super::load::verify`] reads them back when `run` is the load's).
pub struct Burst {
    tasks: Vec<JoinHandle<ClientLog>>,
    /// Contacts acknowledged so far.
    pub acknowledged: Arc<AtomicUsize>,
    pub started: Instant,
}

const BURST_DEADLINE: Duration = Duration::from_secs(5);
const BURST_RETRY_FOR: Duration = Duration::from_secs(40);

impl Burst {
    pub fn start(channel: &Channel, run: &str, label: &str, count: usize, concurrency: usize) -> Self {
        let next = Arc::new(AtomicUsize::new(0));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let tasks = (0..concurrency.max(1))
            .map(|_| {
                let (client, next, acknowledged) =
                    (ContactsServiceClient::new(channel.clone()), next.clone(), acknowledged.clone());
                let prefix = format!("{run}-{label}");
                tokio::spawn(async move {
                    let mut log = ClientLog::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::AcqRel);
                        if i >= count {
                            return log;
                        }
                        if create_contact(&client, &format!("{prefix}{i}"), &mut log).await {
                            acknowledged.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                })
            })
            .collect();
        Self { tasks, acknowledged, started: Instant::now() }
    }

    /// Waits for every write of the burst (retries included); the merged log.
    pub async fn finish(self) -> ClientLog {
        let mut log = ClientLog::default();
        for task in self.tasks {
            let part = task.await.expect("a burst client panicked");
            log.acks.extend(part.acks);
            log.calls.extend(part.calls);
            log.gave_up.extend(part.gave_up);
            log.anomalies.extend(part.anomalies);
        }
        log.acks.sort_by_key(|ack| ack.at);
        log.calls.sort_by_key(CallRecord::end);
        log
    }
}

/// One contact, created with retries; its ack (or why not) in `log`; whether it was acknowledged.
async fn create_contact(client: &ContactsServiceClient<Channel>, request_id: &str, log: &mut ClientLog) -> bool {
    let message = CreateContactRequest {
        contact: Some(Contact {
            display_name: request_id.to_owned(),
            time_zone: "Europe/Paris".into(),
            ..Default::default()
        }),
        request_id: request_id.to_owned(),
    };
    let began = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let start = Instant::now();
        let mut client = client.clone();
        let call = client.create_contact(with_deadline(message.clone(), BURST_DEADLINE));
        let outcome = match tokio::time::timeout(BURST_DEADLINE + Duration::from_secs(3), call).await {
            Ok(answer) => answer.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded("no answer within the deadline + 3 s (the client gave up)")),
        };
        let (code, message_text, lost) = match &outcome {
            Ok(_) => (Code::Ok, String::new(), false),
            Err(status) => (status.code(), status.message().chars().take(200).collect(), connection_lost(status)),
        };
        log.calls.push(CallRecord {
            service: ServiceKind::Contacts,
            rpc: "CreateContact",
            start,
            latency: start.elapsed(),
            code,
            message: message_text,
            connection_lost: lost,
        });
        match outcome {
            Ok(response) => {
                let Some(contact) = response.contact else {
                    log.anomalies.push(format!("CreateContact {request_id}: OK without it"));
                    return false;
                };
                log.acks.push(Ack {
                    kind: WriteKind::Contact,
                    name: contact.name,
                    request_id: request_id.to_owned(),
                    etag: contact.etag,
                    at: Instant::now(),
                    attempts: attempt,
                });
                return true;
            }
            Err(status)
                if (lost
                    || matches!(
                        status.code(),
                        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted
                    ))
                    && began.elapsed() < BURST_RETRY_FOR =>
            {
                let pause =
                    Duration::from_millis(50).saturating_mul(1 << attempt.min(4)).min(Duration::from_millis(800));
                tokio::time::sleep(pause).await;
            }
            Err(status) => {
                log.gave_up.push(GaveUp {
                    kind: WriteKind::Contact,
                    request_id: request_id.to_owned(),
                    attempts: attempt,
                    last: status.to_string(),
                });
                return false;
            }
        }
    }
}
