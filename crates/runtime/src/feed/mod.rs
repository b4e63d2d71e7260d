//! The change feed: every mutation appends a row to `changes` in its own transaction; consumers page through it
//! (`ListChanges`) or stream it (`WatchChanges`) after a cursor.
//!
//! **The feed never skips a change.** On PostgreSQL a sequence number is taken when a row is written but becomes
//! visible when its transaction commits, so sequence 7 can be visible while 6 is still in flight. Each row
//! therefore records its transaction id (`txid`, defaulted to `pg_current_xact_id()`), and the feed is served in
//! `(txid, sequence)` order, restricted to transactions older than `pg_snapshot_xmin(pg_current_snapshot())` —
//! the oldest transaction still running. Every transaction below that horizon has finished, and every row not yet
//! visible belongs to a transaction at or above it, so what has been served is always a prefix of what will ever
//! be served. A cursor is the sequence of the last change received; its position is looked up by that sequence.
//! SQLite serialises writers, so its rows carry `txid = 0` and the order is simply the sequence.
pub mod audit;
pub mod cache;
pub mod service;

use crate::api::error::{Error, status_of};
use crate::db::sql::statement;
use crate::db::{Backend, Db, db_error};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::{Change, ChangeKind};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// Changes per `WatchChanges` read (sent in messages of at most [`WATCH_MESSAGE_BYTES`]).
pub const WATCH_BATCH: u64 = 500;
/// How often a watcher looks for changes made by other processes (local commits wake it at once).
pub const WATCH_POLL: Duration = Duration::from_millis(200);
/// The least time between two reads of a watcher that is following new changes. Under a steady stream of
/// commits, waking on every one made each watcher read the feed a thousand times a second for two or three
/// changes each, and its consumer (reporting) write them in as many transactions; reads this far apart carry
/// tens of changes each for at most this much delay.
pub const FOLLOW_SPACING: Duration = Duration::from_millis(10);

const POSTGRES_TABLE: &str = "
CREATE TABLE IF NOT EXISTS changes (
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    change_time TIMESTAMPTZ NOT NULL,
    resource_name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    type_url TEXT NOT NULL,
    payload BYTEA NOT NULL,
    trace_parent TEXT NOT NULL DEFAULT '',
    trace_state TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS changes_feed_order ON changes (txid, sequence)";

const SQLITE_TABLE: &str = "
CREATE TABLE IF NOT EXISTS changes (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    txid INTEGER NOT NULL DEFAULT 0,
    change_time TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    type_url TEXT NOT NULL,
    payload BLOB NOT NULL,
    trace_parent TEXT NOT NULL DEFAULT '',
    trace_state TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS changes_feed_order ON changes (txid, sequence)";

/// Adds `changes.actor` (who made each change) and an index of each resource's changes, for histories
/// (called from the shared migration `AddChangeActor`).
pub(crate) async fn add_actor_column(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    conn.execute_unprepared("ALTER TABLE changes ADD COLUMN actor TEXT NOT NULL DEFAULT ''").await?;
    conn.execute_unprepared("CREATE INDEX IF NOT EXISTS changes_by_resource ON changes (resource_name, sequence)")
        .await
        .map(|_| ())
}

/// Adds the rest of the audit record to `changes` — the service that forwarded the call, the RPC and the peer
/// address — and an index of each actor's changes, for `ListAuditEvents` by actor (called from the shared
/// migration `AddChangeAudit`). Rows written before it read as empty strings: unknown, not invented.
pub(crate) async fn add_audit_columns(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for column in ["calling_service", "rpc", "source_address"] {
        conn.execute_unprepared(&format!("ALTER TABLE changes ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")).await?;
    }
    conn.execute_unprepared("CREATE INDEX IF NOT EXISTS changes_by_actor ON changes (actor, sequence)")
        .await
        .map(|_| ())
}

/// The columns of a change row as [`ChangeRow`] reads them (every select of whole changes lists these).
const CHANGE_COLUMNS: &str = "sequence, change_time, resource_name, kind, type_url, payload, trace_parent, \
                              trace_state, actor, calling_service, rpc, source_address, confidential";

/// Adds `changes.confidential` (called from the shared migration `AddChangeConfidential`): rows written before it
/// are of records that were not confidential.
pub(crate) async fn add_confidential_column(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let column = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "confidential BOOLEAN NOT NULL DEFAULT FALSE",
        _ => "confidential INTEGER NOT NULL DEFAULT 0",
    };
    conn.execute_unprepared(&format!("ALTER TABLE changes ADD COLUMN {column}")).await.map(|_| ())
}

/// `change` as a follower without the right to confidential records receives it: sequence, time, resource name
/// and kind, marked confidential — enough to keep its cursor and count, nothing that describes the record.
pub fn redacted(change: Change) -> Change {
    Change {
        sequence: change.sequence,
        change_time: change.change_time,
        resource_name: change.resource_name,
        kind: change.kind,
        confidential: true,
        ..Change::default()
    }
}

/// The changes as the current caller may receive them: whole, or with confidential ones [`redacted`] when the
/// caller may not read confidential records (see [`crate::auth::Caller::sees_all_confidential`]).
pub fn as_seen_by(sees_confidential: bool, changes: Vec<Change>) -> Vec<Change> {
    if sees_confidential {
        return changes;
    }
    changes.into_iter().map(|c| if c.confidential { redacted(c) } else { c }).collect()
}

/// The changes of one resource after sequence `after`, oldest first, at most `limit` — its history. Unlike
/// [`list`] this is not a cursor over the whole feed, so it reads every committed change without a horizon.
pub async fn of_resource(
    conn: &impl ConnectionTrait,
    resource_name: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<Change>, Error> {
    let rows = ChangeRow::find_by_statement(statement(
        conn.get_database_backend(),
        &format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE resource_name = ? AND sequence > ? ORDER BY sequence LIMIT ?"
        ),
        [resource_name.into(), after.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(Change::from).collect())
}

/// Creates the `changes` table (called from the shared migration).
pub(crate) async fn create_table(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let script = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => POSTGRES_TABLE,
        _ => SQLITE_TABLE,
    };
    crate::db::execute_script(conn, script).await
}

/// Appends the change of one mutation; call it inside the mutation's transaction.
pub async fn append<M: prost::Message>(
    txn: &impl ConnectionTrait,
    resource_name: &str,
    kind: ChangeKind,
    type_name: &str,
    resource: &M,
) -> Result<(), Error> {
    insert(type_name, &[(resource_name, kind, resource)]).execute(txn).await
}

/// Rows per statement of [`append_many`] (11 values each, well under either engine's limit on parameters: 32766
/// on SQLite, 65535 on PostgreSQL).
const APPEND_BATCH: usize = 500;

/// Appends the changes of a batch mutation (e.g. an import) with multi-row inserts, in the order given; call it
/// inside the mutation's transaction. Each entry is `(resource name, kind, resource)`; all of type `type_name`.
pub async fn append_many<M: prost::Message>(
    txn: &impl ConnectionTrait,
    type_name: &str,
    changes: &[(String, ChangeKind, M)],
) -> Result<(), Error> {
    for chunk in changes.chunks(APPEND_BATCH) {
        let rows: Vec<(&str, ChangeKind, &M)> = chunk.iter().map(|(name, kind, m)| (name.as_str(), *kind, m)).collect();
        insert(type_name, &rows).execute(txn).await?;
    }
    Ok(())
}

/// The insert of change rows `(resource name, kind, resource)` of one type, stamped with the request's trace
/// context and its audit record (actor, calling service, RPC, source address) — the one place the shape of a
/// change row is written.
pub fn insert<M: prost::Message>(
    type_name: &str,
    changes: &[(&str, ChangeKind, &M)],
) -> crate::db::single_trip::Insert {
    insert_marked(type_name, changes, false)
}

/// [`insert`], marking the changes as of confidential records (redacted for followers without the right).
pub fn insert_marked<M: prost::Message>(
    type_name: &str,
    changes: &[(&str, ChangeKind, &M)],
    confidential: bool,
) -> crate::db::single_trip::Insert {
    let trace = crate::net::context::outgoing();
    let caller = crate::net::context::caller();
    let actor = caller.subject();
    let calling_service = caller.calling_service.as_deref().unwrap_or_default();
    let source_address = caller.source.map(|source| source.to_string()).unwrap_or_default();
    let now = crate::api::time::now();
    let type_url = format!("type.googleapis.com/{type_name}");
    let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; changes.len()].join(", ");
    let values = changes
        .iter()
        .flat_map(|(name, kind, resource)| {
            [
                now.into(),
                (*name).into(),
                (*kind as i32).into(),
                type_url.as_str().into(),
                resource.encode_to_vec().into(),
                trace.traceparent.as_str().into(),
                trace.tracestate.as_str().into(),
                actor.into(),
                calling_service.into(),
                caller.rpc.as_str().into(),
                source_address.as_str().into(),
                confidential.into(),
            ]
        })
        .collect();
    crate::db::single_trip::Insert::new(
        format!(
            "INSERT INTO changes (change_time, resource_name, kind, type_url, payload, trace_parent, trace_state, \
             actor, calling_service, rpc, source_address, confidential) VALUES {rows}"
        ),
        values,
    )
}

/// Erases resources from the feed, inside the transaction that deletes them: every earlier change of each named
/// resource keeps its sequence, time, kind and audit record but loses its payload, and a `PURGED` change (type
/// only, no payload) is appended for each, stamped with the request's audit record as every change is. `names`
/// are resource names of type `type_name`.
pub async fn erase(txn: &impl ConnectionTrait, type_name: &str, names: &[String]) -> Result<(), Error> {
    if names.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    for chunk in names.chunks(APPEND_BATCH) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = vec![Vec::<u8>::new().into()];
        values.extend(chunk.iter().map(|name| name.as_str().into()));
        txn.execute_raw(statement(
            backend,
            &format!("UPDATE changes SET payload = ? WHERE resource_name IN ({placeholders})"),
            values,
        ))
        .await
        .map_err(db_error)?;
        let tombstones: Vec<(&str, ChangeKind, &())> =
            chunk.iter().map(|name| (name.as_str(), ChangeKind::Purged, &())).collect();
        insert(type_name, &tombstones).execute(txn).await?;
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct ChangeRow {
    sequence: i64,
    change_time: DateTime<Utc>,
    resource_name: String,
    kind: i32,
    type_url: String,
    payload: Vec<u8>,
    trace_parent: String,
    trace_state: String,
    actor: String,
    calling_service: String,
    rpc: String,
    source_address: String,
    confidential: bool,
}

impl From<ChangeRow> for Change {
    fn from(row: ChangeRow) -> Self {
        Change {
            sequence: row.sequence,
            change_time: Some(crate::api::time::to_timestamp(row.change_time)),
            resource_name: row.resource_name,
            kind: row.kind,
            resource: Some(prost_types::Any { type_url: row.type_url, value: row.payload }),
            trace_parent: row.trace_parent,
            trace_state: row.trace_state,
            actor: row.actor,
            calling_service: row.calling_service,
            rpc: row.rpc,
            source_address: row.source_address,
            confidential: row.confidential,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Position {
    txid: i64,
}

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

/// One page of the feed.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    pub changes: Vec<Change>,
    /// Changes readable after the last one of this page when it was read.
    pub remaining: i64,
}

/// Validates `after_sequence` as a field value.
pub fn parse_cursor(field: &str, after: i64) -> Result<i64, crate::api::error::FieldViolation> {
    if after < 0 {
        return Err(crate::api::error::FieldViolation::new(field, "must be 0 or the sequence of a change"));
    }
    Ok(after)
}

/// The changes after `after` (0 = from the beginning), at most `limit`, in feed order.
pub async fn list(db: &Db, after: i64, limit: u64) -> Result<FeedPage, Error> {
    read_page(db, after, limit, true).await
}

/// The most changes a page's `remaining` counts: beyond it, `remaining` says "at least this many".
pub const MAX_COUNTED: i64 = 10_000;

/// One page; `count_remaining` counts what is readable after it (up to [`MAX_COUNTED`]), otherwise
/// `remaining` is 0 when the page is not full and -1 ("more, not counted") when it is.
async fn read_page(db: &Db, after: i64, limit: u64, count_remaining: bool) -> Result<FeedPage, Error> {
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let after_txid = if after == 0 {
        -1
    } else {
        let stmt = statement(backend, "SELECT txid FROM changes WHERE sequence = ?", [after.into()]);
        match Position::find_by_statement(stmt).one(conn).await.map_err(db_error)? {
            Some(position) => position.txid,
            None => {
                return Err(Error::invalid(
                    "after_sequence",
                    format!("{after} is not the sequence of a change in this feed; pass 0 to start from the beginning"),
                ));
            }
        }
    };
    let horizon = match db.backend() {
        Backend::Postgres => " AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        Backend::Sqlite => "",
    };
    let select = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE (txid, sequence) > (?, ?){horizon} ORDER BY txid, sequence LIMIT ?"
    );
    let rows = ChangeRow::find_by_statement(statement(
        backend,
        &select,
        [after_txid.into(), after.into(), (limit as i64).into()],
    ))
    .all(conn)
    .await
    .map_err(db_error)?;
    let remaining = if rows.len() as u64 == limit && !count_remaining {
        -1
    } else if rows.len() as u64 == limit {
        let last = rows.last().map(|r| r.sequence).unwrap_or(after);
        // Counted up to a bound: a page read costs the same at the end of a feed of a million changes as of a
        // thousand.
        let count = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM changes WHERE (txid, sequence) > \
             ((SELECT txid FROM changes WHERE sequence = ?), ?){horizon} LIMIT ?) AS counted"
        );
        Count::find_by_statement(statement(backend, &count, [last.into(), last.into(), MAX_COUNTED.into()]))
            .one(conn)
            .await
            .map_err(db_error)?
            .map(|c| c.n)
            .unwrap_or(0)
    } else {
        0
    };
    Ok(FeedPage { changes: rows.into_iter().map(Change::from).collect(), remaining })
}

/// Encoded bytes per `WatchChanges` message at most (well under the 4 MiB a gRPC client accepts by default).
pub const WATCH_MESSAGE_BYTES: usize = 1 << 20;

/// Splits a page into messages of at most [`WATCH_MESSAGE_BYTES`] (at least one change each), each with the
/// number of changes that follow it.
fn by_size(changes: Vec<Change>, remaining: i64) -> Vec<(Vec<Change>, i64)> {
    use prost::Message;
    let mut batches: Vec<Vec<Change>> = vec![Vec::new()];
    let mut bytes = 0;
    for change in changes {
        let size = change.encoded_len();
        if bytes + size > WATCH_MESSAGE_BYTES && batches.last().is_some_and(|b| !b.is_empty()) {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(last) = batches.last_mut() {
            last.push(change);
        }
    }
    let mut after: i64 = batches.iter().map(|b| b.len() as i64).sum();
    batches
        .into_iter()
        .map(|batch| {
            after -= batch.len() as i64;
            (batch, remaining + after)
        })
        .collect()
}

/// The sequence of the last change that can be served now (0 for an empty feed): where a watcher that wants
/// only what happens from now on starts.
pub async fn head(db: &Db) -> Result<i64, Error> {
    let horizon = match db.backend() {
        Backend::Postgres => "WHERE txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT sequence AS n FROM changes {horizon} ORDER BY txid DESC, sequence DESC LIMIT 1");
    let conn = db.conn();
    Ok(Count::find_by_statement(statement(conn.get_database_backend(), &sql, std::iter::empty::<sea_orm::Value>()))
        .one(conn)
        .await
        .map_err(db_error)?
        .map_or(0, |row| row.n))
}

/// `ListChanges` of any service: validates the request and reads one page.
pub async fn serve_list(db: &Db, after: i64, page_size: Option<i32>) -> Result<FeedPage, Error> {
    use crate::Validate;
    let (after, size) =
        (parse_cursor("after_sequence", after), crate::api::paging::page_size("page_size", page_size)).validate()?;
    let mut page = list(db, after, size).await?;
    // A page stops at PAGE_MAX_BYTES as every list does (a thousand changes of large contacts would be tens of
    // MB, over the 4 MiB an answer may have, and a consumer could never get past them); the changes left out are
    // the next page's, and counted as remaining.
    let fitting = crate::api::paging::fitting(&page.changes);
    let left_out = page.changes.len() - fitting;
    if left_out > 0 {
        page.changes.truncate(fitting);
        if page.remaining >= 0 {
            page.remaining += left_out as i64;
        }
    }
    Ok(page)
}

/// Streams the feed after `after`: the backlog in batches, then new changes as they commit, until the client
/// goes away or the server shuts down. `wrap` builds the service's own response message from a batch.
pub fn watch<R: Send + 'static>(
    db: Db,
    after: i64,
    shutdown: CancellationToken,
    wrap: impl Fn(Vec<Change>, i64) -> R + Send + 'static,
) -> ReceiverStream<Result<R, tonic::Status>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut commits = db.subscribe_commits();
        let mut after = after;
        // The backlog is counted once, then counted down batch by batch: counting the rest of the feed for every
        // batch would make catching up on a long backlog quadratic.
        let mut backlog: Option<i64> = None;
        loop {
            commits.borrow_and_update();
            match read_page(&db, after, WATCH_BATCH, backlog.is_none()).await {
                Ok(page) if !page.changes.is_empty() => {
                    after = page.changes.last().map(|c| c.sequence).unwrap_or(after);
                    let read = page.changes.len() as i64;
                    let (remaining, next) = match (page.remaining, backlog) {
                        // A full page, with the count from before still covering it: count down.
                        (-1, Some(known)) if known > read => (known - read, Some(known - read)),
                        // A full page beyond what was counted (changes arrived meanwhile): count again next time.
                        (-1, _) => (1, None),
                        (counted, _) => (counted, (counted > 0).then_some(counted)),
                    };
                    backlog = next;
                    for (batch, batch_remaining) in by_size(page.changes, remaining) {
                        if tx.send(Ok(wrap(batch, batch_remaining))).await.is_err() {
                            return;
                        }
                    }
                    // A short page was the end of the feed when read: wait for more rather than read it again.
                    if read as u64 == WATCH_BATCH {
                        continue;
                    }
                    backlog = None;
                }
                Ok(_) => backlog = None,
                Err(error) => {
                    let _ = tx.send(Err(status_of(error))).await;
                    return;
                }
            }
            let caught_up_at = tokio::time::Instant::now();
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep(WATCH_POLL) => {}
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep_until(caught_up_at + FOLLOW_SPACING) => {}
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => return,
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sequence: i64, payload_bytes: usize) -> Change {
        Change {
            sequence,
            resource: Some(prost_types::Any { type_url: String::new(), value: vec![0; payload_bytes] }),
            ..Default::default()
        }
    }

    #[test]
    fn a_page_is_split_into_messages_under_the_size_limit_with_what_follows_each() {
        let changes: Vec<Change> = (1..=5).map(|n| change(n, WATCH_MESSAGE_BYTES / 2 - 100)).collect();
        let batches = by_size(changes, 7);
        let shape: Vec<(Vec<i64>, i64)> =
            batches.iter().map(|(b, remaining)| (b.iter().map(|c| c.sequence).collect(), *remaining)).collect();
        assert_eq!(shape, [(vec![1, 2], 10), (vec![3, 4], 8), (vec![5], 7)]);
    }

    #[test]
    fn a_single_change_larger_than_the_limit_still_travels() {
        let batches = by_size(vec![change(1, WATCH_MESSAGE_BYTES * 2)], 0);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].0.len(), 1);
    }

    #[tokio::test]
    async fn the_remaining_count_of_a_page_is_bounded_however_long_the_rest_of_the_feed() {
        let path = std::env::temp_dir().join(format!("liaison-feed-{}.db", uuid::Uuid::now_v7()));
        let url: crate::db::DatabaseUrl = format!("sqlite://{}?mode=rwc", path.display()).parse().expect("url");
        let db = Db::connect(&url).await.expect("connect");
        create_table(db.conn()).await.expect("table");
        add_actor_column(db.conn()).await.expect("actor");
        add_audit_columns(db.conn()).await.expect("audit");
        add_confidential_column(db.conn()).await.expect("confidential");
        let total = MAX_COUNTED as usize + 2_000;
        let changes: Vec<_> = (0..total)
            .map(|i| (format!("things/{i}"), ChangeKind::Created, prost_types::Duration::default()))
            .collect();
        append_many(db.conn(), "google.protobuf.Duration", &changes).await.expect("append");

        let first = list(&db, 0, 50).await.expect("page");
        assert_eq!(first.changes.len(), 50);
        assert_eq!(first.remaining, MAX_COUNTED, "counted up to the bound, not the {} that follow", total - 50);
        let last_full = list(&db, (total - 100) as i64, 50).await.expect("page");
        assert_eq!(last_full.remaining, 50, "below the bound, the exact count");
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
