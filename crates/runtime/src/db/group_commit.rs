//! Group commit of one-statement creates on PostgreSQL.
//!
//! Each create is already one statement (see [`crate::db::single_trip`]), but on a busy server every statement still
//! pays its own round trip, parse/bind, transaction start, commit and WAL flush — on PostgreSQL that fixed cost
//! is larger than the rows themselves. Creates that arrive while earlier ones are being written therefore wait
//! in a queue and are written together: one statement whose inserts carry the rows of every create in the
//! group, each row guarded by its own create's idempotency claim:
//!
//! ```sql
//! WITH claim AS (INSERT INTO idempotency_keys (…) VALUES (…), (…) ON CONFLICT (method, request_id) DO NOTHING
//!                RETURNING resource_name),
//!      w0 AS (INSERT INTO contacts (c1, c2) SELECT c1, c2 FROM (VALUES (…, 'contacts/a'), (…, 'contacts/b'))
//!             AS v(c1, c2, liaison_claim)
//!             WHERE v.liaison_claim IS NULL OR v.liaison_claim IN (SELECT resource_name FROM claim)),
//!      w1 AS (INSERT INTO changes …)
//! SELECT resource_name FROM claim
//! ```
//!
//! A create written alone takes the same form with one row per insert. Nothing waits on purpose: a create that
//! finds a free slot is written at once and alone; only while [`IN_FLIGHT`] statements are already running do new creates queue, so the
//! group size follows the load. A group whose statement fails is retried create by create, so that each caller
//! gets its own error and one bad create never fails its neighbours.
//!
//! Each slot writes on a PostgreSQL connection of its own, outside the pool: sqlx pings every connection that
//! returns to its pool (a `Sync` and its answer, one more round trip and one more wake-up of the server process
//! per statement), and under load those pings were as many as the group statements themselves.
use crate::api::error::Error;
use crate::db::single_trip::Insert;
use crate::db::sql::statement;
use crate::db::sqlx_error;
use sea_orm::sqlx::{self, Connection as _, Row as _};
use sea_orm::{DatabaseConnection, DbBackend, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Statements written at the same time (each slot holds one connection). PostgreSQL gains nothing from more
/// concurrent writers than it has cores to run them; fewer in flight means larger groups under load. 3 or 4 made
/// no difference on two cores (README, Performance).
const IN_FLIGHT: usize = 2;
/// Creates per group at most: keeps the number of distinct statement texts small enough for the statement cache.
const MAX_GROUP: usize = 16;
/// How long a writer connection may take to open: as long as a request waits for one of the pool's, so that the
/// creates of a group hear UNAVAILABLE within the deadline of a call between services while the database is
/// unreachable, as every other request does (`db::POSTGRES_ACQUIRE_TIMEOUT`).
const CONNECT_DEADLINE: Duration = crate::db::POSTGRES_ACQUIRE_TIMEOUT;
/// Creates waiting for a slot at most; beyond, a create waits up to [`QUEUE_WAIT`] for room (back-pressure), then is
/// refused with RESOURCE_EXHAUSTED — rather than the queue, and the memory of every waiting create, growing
/// without bound while the database is slower than the callers.
pub(crate) const QUEUE_MAX: usize = 1024;
/// How long a create waits for room in a full queue.
const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// How long one group statement may run before its callers are told the database is unavailable (the connection
/// is then dropped: its state is unknown). Generous, since a statement can wait for locks or a slow disk.
const STATEMENT_DEADLINE: Duration = Duration::from_secs(10);

/// A slot's connection: opened when the slot is first used, dropped (and opened again by the next group) when a
/// statement failed for another reason than the statement itself.
type WriterConn = Option<sqlx::PgConnection>;

/// The idempotency key a create claims, owned so that the create can wait in the queue.
#[derive(Debug, Clone)]
pub(crate) struct OwnedClaim {
    pub(crate) method: String,
    pub(crate) request_id: String,
    pub(crate) fingerprint: String,
    pub(crate) resource_name: String,
}

/// A create waiting to be written; `done` receives whether its rows were written (`false`: its idempotency key
/// was taken already and nothing was written).
struct Pending {
    claim: Option<OwnedClaim>,
    inserts: Vec<Insert>,
    done: oneshot::Sender<Result<bool, Error>>,
}

impl Pending {
    /// The bytes this create adds to a group's statement as sent: its bound values, and the text that carries
    /// them — a placeholder per value and, in a group with claims, a claim tag per row (a value and its
    /// placeholder) — plus its claim. A group is kept under one TLS record by this (`sql::MAX_STATEMENT_BYTES`).
    fn bound_len(&self) -> usize {
        /// `$12345, ` at most.
        const PLACEHOLDER: usize = 8;
        let tag = self.claim.as_ref().map_or(0, |c| c.resource_name.len() + 4 + PLACEHOLDER);
        let claim = self.claim.as_ref().map_or(0, |c| {
            24 + c.method.len() + c.request_id.len() + c.fingerprint.len() + c.resource_name.len() + 4 * PLACEHOLDER
        });
        let inserts = self.inserts.iter().map(|insert| {
            let rows = insert.parts().map_or(1, |parts| parts.rows.len());
            crate::db::sql::bound_len(insert.values()) + PLACEHOLDER * insert.values().len() + tag * rows
        });
        claim + inserts.sum::<usize>()
    }
}

/// The queue of creates of one database, and the task that writes them.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Pending>,
    largest: Arc<AtomicUsize>,
}

impl GroupCommit {
    /// Starts the writer on the current runtime. It ends when the last handle to the queue is dropped.
    pub(crate) fn start(conn: &DatabaseConnection, committed: Arc<watch::Sender<u64>>) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE_MAX);
        let largest = Arc::new(AtomicUsize::new(0));
        let options = conn.get_postgres_connection_pool().connect_options();
        tokio::spawn(lead(options, committed, incoming, largest.clone()));
        Self { queue, largest }
    }

    /// The most creates written in one statement so far.
    pub(crate) fn largest_group(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }

    /// Writes `inserts` (after claiming `claim`, if any) together with whatever else is waiting; whether the
    /// rows were written.
    pub(crate) async fn write(&self, claim: Option<OwnedClaim>, inserts: Vec<Insert>) -> Result<bool, Error> {
        let (done, outcome) = oneshot::channel();
        match tokio::time::timeout(QUEUE_WAIT, self.queue.send(Pending { claim, inserts, done })).await {
            Ok(sent) => sent.map_err(|_| Error::Internal("the group-commit writer has stopped".into()))?,
            Err(_) => {
                return Err(Error::ResourceExhausted {
                    reason: "WRITE_QUEUE_FULL",
                    message: format!(
                        "{QUEUE_MAX} writes are waiting for the database already; retry shortly (the database is \
                         slower than its callers)"
                    ),
                    retry_after: Duration::from_millis(200),
                });
            }
        }
        outcome.await.map_err(|_| Error::Internal("the group-commit writer dropped a create".into()))?
    }
}

/// Takes creates off the queue, as many as are waiting when a slot frees, and writes each group on its own task.
async fn lead(
    options: Arc<sqlx::postgres::PgConnectOptions>,
    committed: Arc<watch::Sender<u64>>,
    mut incoming: mpsc::Receiver<Pending>,
    largest: Arc<AtomicUsize>,
) {
    // The free slots, each with its connection (if it has one yet).
    let (free, mut slots) = mpsc::channel::<WriterConn>(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let _ = free.try_send(None);
    }
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(pending) => pending,
            None => match incoming.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let Some(mut writer) = slots.recv().await else { return };
        let mut bytes = first.bound_len();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            let Ok(next) = incoming.try_recv() else { break };
            if bytes + next.bound_len() > crate::db::sql::MAX_STATEMENT_BYTES {
                carried = Some(next);
                break;
            }
            bytes += next.bound_len();
            group.push(next);
        }
        largest.fetch_max(group.len(), Ordering::Relaxed);
        metrics::histogram!("liaison_db_create_group_size").record(group.len() as f64);
        let (options, committed, free) = (options.clone(), committed.clone(), free.clone());
        tokio::spawn(async move {
            write_group(&options, &mut writer, &committed, group).await;
            let _ = free.send(writer).await;
        });
    }
}

async fn write_group(
    options: &sqlx::postgres::PgConnectOptions,
    writer: &mut WriterConn,
    committed: &watch::Sender<u64>,
    group: Vec<Pending>,
) {
    let written = write(options, writer, &group).await;
    let group = match written {
        Ok(claimed) => {
            committed.send_modify(|n| *n = n.wrapping_add(1));
            for pending in group {
                let wrote = pending.claim.as_ref().is_none_or(|c| claimed.contains(&c.resource_name));
                let _ = pending.done.send(Ok(wrote));
            }
            return;
        }
        Err(error) if group.len() == 1 => {
            if let Some(pending) = group.into_iter().next() {
                let _ = pending.done.send(Err(error));
            }
            return;
        }
        Err(error) => {
            tracing::debug!(creates = group.len(), ?error, "a group create failed; writing its creates one by one");
            group
        }
    };
    for pending in group {
        let outcome = write(options, writer, std::slice::from_ref(&pending)).await;
        if outcome.is_ok() {
            committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        let wrote = outcome.map(|claimed| pending.claim.as_ref().is_none_or(|c| claimed.contains(&c.resource_name)));
        let _ = pending.done.send(wrote);
    }
}

/// Writes `group` in one statement on the slot's connection (opening it first if need be); the resource names
/// whose claims were taken.
async fn write(
    options: &sqlx::postgres::PgConnectOptions,
    writer: &mut WriterConn,
    group: &[Pending],
) -> Result<HashSet<String>, Error> {
    let (sql, values) = group_statement(group)?;
    let statement = statement(DbBackend::Postgres, &sql, values);
    let values = statement.values.unwrap_or(sea_orm::Values(Vec::new()));
    if writer.is_none() {
        *writer = Some(connect(options).await?);
    }
    let Some(conn) = writer.as_mut() else {
        return Err(Error::Internal("the writer connection was just opened".into()));
    };
    // The text is built from the entities' own statements and placeholders; every value is bound.
    let sql = sqlx::AssertSqlSafe(statement.sql.as_str());
    let query = sqlx::query_with(sql, sea_query_sqlx::SqlxValues(values)).fetch_all(&mut *conn);
    let rows = match tokio::time::timeout(STATEMENT_DEADLINE, query).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(error)) => {
            // A statement the database refused leaves the connection ready for the next; anything else
            // (I/O, TLS, protocol) leaves it in a state nobody knows.
            let keep = matches!(error, sqlx::Error::Database(_));
            let error = sqlx_error(error);
            if !keep || matches!(error, Error::Unavailable { .. }) {
                *writer = None;
            }
            return Err(error);
        }
        Err(_) => {
            *writer = None;
            return Err(Error::Unavailable {
                dependency: "database".into(),
                message: format!("a create statement did not finish within {STATEMENT_DEADLINE:?}"),
            });
        }
    };
    rows.iter().map(|row| row.try_get::<String, _>("resource_name")).collect::<Result<_, _>>().map_err(sqlx_error)
}

/// Opens a writer connection with the pool's own options (server, TLS, statement logging).
async fn connect(options: &sqlx::postgres::PgConnectOptions) -> Result<sqlx::PgConnection, Error> {
    let unavailable = |message: String| Error::Unavailable { dependency: "database".into(), message };
    match tokio::time::timeout(CONNECT_DEADLINE, sqlx::PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(unavailable(format!("cannot open a writer connection: {error}"))),
        Err(_) => Err(unavailable(format!("cannot open a writer connection within {CONNECT_DEADLINE:?}"))),
    }
}

/// The one statement that writes every create of `group`, and its values.
fn group_statement(group: &[Pending]) -> Result<(String, Vec<Value>), Error> {
    let claims: Vec<&OwnedClaim> = group.iter().filter_map(|p| p.claim.as_ref()).collect();
    let mut members = Vec::new();
    let mut values = Vec::new();
    if !claims.is_empty() {
        let rows = vec!["(?, ?, ?, ?)"; claims.len()].join(", ");
        members.push(format!(
            "claim AS (INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) VALUES {rows} \
             ON CONFLICT (method, request_id) DO NOTHING RETURNING resource_name)"
        ));
        for c in &claims {
            values.extend([
                c.method.as_str().into(),
                c.request_id.as_str().into(),
                c.fingerprint.as_str().into(),
                c.resource_name.as_str().into(),
            ]);
        }
    }

    // The rows of every create, gathered per target (table and columns) in the order targets first appear.
    // Keyed by the insert's head and whether it ignores conflicts: (key, columns, row texts, row values).
    type Target<'a> = ((&'a str, bool), &'a str, Vec<String>, Vec<Value>);
    let mut targets: Vec<Target> = Vec::new();
    for pending in group {
        let tag: Option<&str> = pending.claim.as_ref().map(|c| c.resource_name.as_str());
        for insert in &pending.inserts {
            let parts = insert.parts()?;
            let target = (parts.head, parts.ignore_conflicts);
            let index = match targets.iter().position(|(head, ..)| *head == target) {
                Some(index) => index,
                None => {
                    targets.push((target, parts.columns, Vec::new(), Vec::new()));
                    targets.len() - 1
                }
            };
            let (_, _, rows, row_values) = &mut targets[index];
            let mut remaining = insert.values().iter();
            for row in parts.rows {
                row_values.extend(remaining.by_ref().take(row.params).cloned());
                if claims.is_empty() {
                    rows.push(format!("({})", row.text));
                } else {
                    rows.push(format!("({}, ?)", row.text));
                    row_values.push(Value::String(tag.map(str::to_owned)));
                }
            }
        }
    }
    for (index, ((head, ignore_conflicts), columns, rows, row_values)) in targets.into_iter().enumerate() {
        let rows = rows.join(", ");
        let tail = if ignore_conflicts { " ON CONFLICT DO NOTHING" } else { "" };
        members.push(if claims.is_empty() {
            format!("w{index} AS ({head} VALUES {rows}{tail})")
        } else {
            format!(
                "w{index} AS ({head} SELECT {columns} FROM (VALUES {rows}) AS v({columns}, liaison_claim) \
                 WHERE v.liaison_claim IS NULL OR v.liaison_claim IN (SELECT resource_name FROM claim){tail})"
            )
        });
        values.extend(row_values);
    }
    let result = if claims.is_empty() {
        "SELECT ''::text AS resource_name WHERE FALSE"
    } else {
        "SELECT resource_name FROM claim"
    };
    Ok((format!("WITH {} {result}", members.join(", ")), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_create_finding_the_queue_full_waits_then_is_refused_with_resource_exhausted() {
        // A queue nobody drains: every create stays queued.
        let (queue, _incoming) = mpsc::channel(2);
        let commit = Arc::new(GroupCommit { queue, largest: Arc::new(AtomicUsize::new(0)) });
        for _ in 0..2 {
            let commit = Arc::clone(&commit);
            tokio::spawn(async move { commit.write(None, Vec::new()).await });
        }
        tokio::task::yield_now().await;
        let started = std::time::Instant::now();
        match commit.write(None, Vec::new()).await {
            Err(Error::ResourceExhausted { reason: "WRITE_QUEUE_FULL", retry_after, .. }) => {
                assert!(retry_after > Duration::ZERO);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(started.elapsed() >= QUEUE_WAIT, "it waited for room first: {:?}", started.elapsed());
    }

    fn pending(claim: Option<&str>, inserts: Vec<Insert>) -> Pending {
        let claim = claim.map(|name| OwnedClaim {
            method: "Create".into(),
            request_id: format!("r-{name}"),
            fingerprint: "f".into(),
            resource_name: name.into(),
        });
        Pending { claim, inserts, done: oneshot::channel().0 }
    }

    #[test]
    fn a_group_merges_the_rows_of_each_table_and_guards_each_by_its_own_claim() {
        let group = vec![
            pending(
                Some("t/a"),
                vec![
                    Insert::new("INSERT INTO t (x, y) VALUES (?, ?)", vec![1.into(), 2.into()]),
                    Insert::new("INSERT INTO k (x) VALUES (?), (?)", vec![3.into(), 4.into()]),
                ],
            ),
            pending(None, vec![Insert::new("INSERT INTO t (x, y) VALUES (?, ?)", vec![5.into(), 6.into()])]),
        ];
        let (sql, values) = group_statement(&group).expect("a statement");
        assert_eq!(
            sql,
            "WITH claim AS (INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) VALUES \
             (?, ?, ?, ?) ON CONFLICT (method, request_id) DO NOTHING RETURNING resource_name), \
             w0 AS (INSERT INTO t (x, y) SELECT x, y FROM (VALUES (?, ?, ?), (?, ?, ?)) AS v(x, y, liaison_claim) \
             WHERE v.liaison_claim IS NULL OR v.liaison_claim IN (SELECT resource_name FROM claim)), \
             w1 AS (INSERT INTO k (x) SELECT x FROM (VALUES (?, ?), (?, ?)) AS v(x, liaison_claim) \
             WHERE v.liaison_claim IS NULL OR v.liaison_claim IN (SELECT resource_name FROM claim)) \
             SELECT resource_name FROM claim"
        );
        let tag = |t: Option<&str>| Value::String(t.map(str::to_owned));
        assert_eq!(
            values,
            vec![
                "Create".into(),
                "r-t/a".into(),
                "f".into(),
                "t/a".into(),
                1.into(),
                2.into(),
                tag(Some("t/a")),
                5.into(),
                6.into(),
                tag(None),
                3.into(),
                tag(Some("t/a")),
                4.into(),
                tag(Some("t/a")),
            ]
        );
    }

    #[test]
    fn a_group_without_claims_is_plain_multi_row_inserts() {
        let group = vec![
            pending(None, vec![Insert::new("INSERT INTO t (x) VALUES (?)", vec![1.into()])]),
            pending(None, vec![Insert::new("INSERT INTO t (x) VALUES (?)", vec![2.into()])]),
        ];
        let (sql, values) = group_statement(&group).expect("a statement");
        assert_eq!(sql, "WITH w0 AS (INSERT INTO t (x) VALUES (?), (?)) SELECT ''::text AS resource_name WHERE FALSE");
        assert_eq!(values, vec![1.into(), 2.into()]);
    }

    #[test]
    fn rows_that_ignore_conflicts_keep_that_when_merged_and_stay_apart_from_plain_rows_of_the_table() {
        let group = vec![
            pending(None, vec![Insert::new("INSERT INTO v (x) VALUES (?)", vec![1.into()]).ignoring_conflicts()]),
            pending(None, vec![Insert::new("INSERT INTO v (x) VALUES (?)", vec![2.into()]).ignoring_conflicts()]),
            pending(None, vec![Insert::new("INSERT INTO v (x) VALUES (?)", vec![3.into()])]),
        ];
        let (sql, _) = group_statement(&group).expect("a statement");
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO v (x) VALUES (?), (?) ON CONFLICT DO NOTHING), w1 AS (INSERT INTO v (x) VALUES (?)) \
             SELECT ''::text AS resource_name WHERE FALSE"
        );
    }
}
