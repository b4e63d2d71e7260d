//! Following a source's change feed: open `WatchChanges` after the stored cursor, apply each batch (read model
//! and cursor in one transaction), and when the source is down or the stream breaks, reconnect with jittered
//! exponential backoff from wherever the database says ingestion got to.
use crate::store::Store;
use futures::{FutureExt, StreamExt};
use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::FeedClient;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Changes applied in one transaction at most when several feed messages are waiting.
const MERGE_MAX: usize = 5_000;

/// What the followers know right now, per source (the durable part lives in the store).
#[derive(Debug, Clone)]
pub struct IngestionState {
    live: Arc<Mutex<HashMap<ServiceKind, Live>>>,
    /// Bumped when the read model is rebuilt: every follower drops its stream and starts again from its cursor.
    restarts: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for IngestionState {
    fn default() -> Self {
        Self { live: Arc::default(), restarts: Arc::new(tokio::sync::watch::Sender::new(0)) }
    }
}

/// The live state of one follower.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    pub connected: bool,
    pub lag: i64,
    pub last_error: String,
    /// The cursor after the last batch this follower applied.
    pub cursor: i64,
    /// The source's `applied_count` after the last batch this follower applied (or when it connected).
    pub applied_count: i64,
}

impl IngestionState {
    pub fn get(&self, source: ServiceKind) -> Live {
        self.live.lock().map(|m| m.get(&source).cloned().unwrap_or_default()).unwrap_or_default()
    }

    /// Makes every follower start again from its stored cursor (after the read model was emptied).
    pub fn restart_all(&self) {
        self.restarts.send_modify(|epoch| *epoch += 1);
    }

    fn update(&self, source: ServiceKind, change: impl FnOnce(&mut Live)) {
        if let Ok(mut map) = self.live.lock() {
            change(map.entry(source).or_default());
        }
    }
}

/// How often a standby replica tries to take over a feed, and a leader checks it still holds it.
const LEADERSHIP_CHECK: Duration = Duration::from_secs(1);

/// Follows `feed` until `shutdown`. With several replicas on one database, only the one holding the feed's lock
/// follows it; the others stand by and take over when it goes away.
pub async fn follow(feed: FeedClient, store: Store, state: IngestionState, shutdown: CancellationToken) {
    let source = feed.source();
    let mut backoff = BACKOFF_FIRST;
    let lock_key = format!("liaison.reporting.follow.{source}");
    while !shutdown.is_cancelled() {
        let mut lock = match store.db().try_lock(&lock_key).await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                state.update(source, |live| {
                    live.connected = false;
                    live.last_error = "standing by: another replica follows this feed".into();
                });
                tokio::select! {
                    _ = tokio::time::sleep(LEADERSHIP_CHECK) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
            Err(e) => {
                tracing::warn!(source = source.name(), error = %e, "cannot take the feed lock");
                state.update(source, |live| {
                    live.connected = false;
                    live.last_error = Fault::Database.category(source);
                });
                tokio::select! {
                    _ = tokio::time::sleep(jitter(backoff)) => {}
                    _ = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        // Each second: is the feed still ours, and has the read model been rebuilt by another replica? A rebuild
        // is what sets the stored count of applied changes back (it only grows otherwise, and only this follower,
        // holding the lock, makes it grow). Not the cursor: it is a change's sequence, and the feed's order is
        // the transactions' (a change committed later may carry a lower sequence), so a cursor may rightly move
        // to a lower number.
        let lost_lock = async {
            loop {
                tokio::time::sleep(LEADERSHIP_CHECK).await;
                if !lock.held().await {
                    return Fault::LockLost;
                }
                // The follower's count first: it is set after each commit, so the stored one read next is at
                // least as new.
                let applied = state.get(source).applied_count;
                if store.progress(source).await.is_ok_and(|stored| stored.applied_count < applied) {
                    return Fault::Rebuilt;
                }
            }
        };
        let mut restarts = state.restarts.subscribe();
        let outcome = tokio::select! {
            outcome = follow_once(&feed, &store, &state) => outcome,
            fault = lost_lock => match fault {
                Fault::Rebuilt => {
                    tracing::info!(source = source.name(), "read model rebuilt elsewhere; following the feed again from the start");
                    state.update(source, |live| {
                        live.cursor = 0;
                        live.applied_count = 0;
                    });
                    backoff = BACKOFF_FIRST;
                    continue;
                }
                fault => Err((fault, format!("lost the lock on the {source} feed"))),
            },
            _ = restarts.changed() => {
                tracing::info!(source = source.name(), "read model rebuilt; following the feed again from the start");
                state.update(source, |live| {
                    live.cursor = 0;
                    live.applied_count = 0;
                });
                backoff = BACKOFF_FIRST;
                continue;
            }
            _ = shutdown.cancelled() => break,
        };
        let connected_before = state.get(source).connected;
        let (fault, message) = match outcome {
            Ok(()) => (Fault::Closed, format!("{source} closed its change stream")),
            Err(fault) => fault,
        };
        state.update(source, |live| {
            live.connected = false;
            live.last_error = fault.category(source);
        });
        if connected_before {
            tracing::warn!(source = source.name(), error = %message, "change feed lost; reconnecting");
            backoff = BACKOFF_FIRST;
        } else {
            tracing::debug!(source = source.name(), error = %message, "change feed unavailable; retrying");
        }
        let pause = jitter(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    state.update(source, |live| live.connected = false);
}

/// Why following a feed stopped, as `GetIngestionStatus` says it: a category, never a database's or a socket's
/// own words (those go to the log, which is for operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The source could not be reached, or its stream broke.
    Source,
    /// The read model's own database failed.
    Database,
    /// The source ended the stream (it is shutting down).
    Closed,
    /// Another replica took the feed over.
    LockLost,
    /// The read model was rebuilt by another replica (the stored count of applied changes went back).
    Rebuilt,
}

impl Fault {
    fn category(self, source: ServiceKind) -> String {
        match self {
            Self::Source => format!("the {source} service is unavailable or its change stream broke"),
            Self::Database => "the reporting database failed; see the service's log".to_owned(),
            Self::Closed => format!("the {source} service closed its change stream"),
            Self::LockLost => "another replica took this feed over".to_owned(),
            Self::Rebuilt => "the read model was rebuilt; following again from the start".to_owned(),
        }
    }
}

type Stopped = (Fault, String);

/// One connection: returns when the stream ends or fails, with the fault's category and, for the log, its detail.
async fn follow_once(feed: &FeedClient, store: &Store, state: &IngestionState) -> Result<(), Stopped> {
    let source = feed.source();
    let database = |e: liaison_runtime::Error| (Fault::Database, e.to_string());
    store.register_source(source).await.map_err(database)?;
    let progress = store.progress(source).await.map_err(database)?;
    let mut cursor = progress.cursor;
    let mut stream = feed.watch(cursor).await.map_err(|e| (Fault::Source, e.to_string()))?;
    state.update(source, |live| {
        live.connected = true;
        live.cursor = cursor;
        live.applied_count = progress.applied_count;
        live.last_error.clear();
    });
    tracing::info!(source = source.name(), cursor = progress.cursor, "following change feed");
    while let Some(batch) = stream.next().await {
        let mut batch = batch.map_err(|status| (Fault::Source, format!("{source}: {}", status.message())))?;
        // Behind on a backlog, several messages are already waiting: apply them in one transaction (one commit
        // instead of several, and later changes of a resource supersede earlier ones before anything is written).
        let mut ended = None;
        while batch.changes.len() < MERGE_MAX {
            match stream.next().now_or_never() {
                Some(Some(Ok(next))) => {
                    batch.changes.extend(next.changes);
                    batch.remaining = next.remaining;
                }
                Some(Some(Err(status))) => {
                    ended = Some(Err((Fault::Source, format!("{source}: {}", status.message()))));
                    break;
                }
                Some(None) => {
                    ended = Some(Ok(()));
                    break;
                }
                None => break,
            }
        }
        let span = ingestion_span(source, &batch.changes);
        let applied = store.apply(source, cursor, &batch.changes).instrument(span).await.map_err(database)?;
        cursor = applied.cursor;
        state.update(source, |live| {
            live.lag = batch.remaining;
            live.cursor = cursor;
            live.applied_count = applied.applied_count;
        });
        liaison_runtime::net::metrics::record_feed(source.name(), batch.remaining, batch.changes.len() as u64);
        if let Some(end) = ended {
            return end;
        }
    }
    Ok(())
}

/// Links a batch's span to the requests that made its changes, so each write's trace leads to its ingestion.
fn ingestion_span(source: ServiceKind, changes: &[liaison_proto::common::v1::Change]) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::info_span!("reporting.ingest", source = source.name(), changes = changes.len());
    for change in changes.iter().take(128) {
        if let Some(context) =
            liaison_runtime::net::context::remote_span_context(&change.trace_parent, &change.trace_state)
        {
            span.add_link(context);
        }
    }
    span
}

fn jitter(base: Duration) -> Duration {
    let millis = base.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
}
