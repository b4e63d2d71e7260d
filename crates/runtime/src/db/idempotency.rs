//! Idempotent creates: a `request_id` is claimed by inserting it, inside the create's own transaction, into a
//! table whose primary key is `(method, request_id)`. Of racing retries exactly one insert wins; the database
//! makes the others wait for it and then see its row, so they return the first result and create nothing.
use crate::api::error::Error;
use crate::api::validate::RequestId;
use crate::db::db_error;
use crate::db::single_trip::Insert;
use crate::db::sql::statement;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use sha2::{Digest, Sha256};

const TABLE: &str = "
CREATE TABLE IF NOT EXISTS idempotency_keys (
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    PRIMARY KEY (method, request_id)
)";

pub(crate) async fn create_table(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    crate::db::execute_script(conn, TABLE).await
}

/// What a request is, for telling a genuine retry from a key reused for something else.
pub fn fingerprint(request: &impl prost::Message) -> String {
    let digest = Sha256::digest(request.encode_to_vec());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(FromQueryResult)]
struct KeyRow {
    fingerprint: String,
    resource_name: String,
}

/// Looks a request id up without claiming it (a cheap early exit for retries that skips remote checks).
pub async fn lookup(
    conn: &impl ConnectionTrait,
    method: &str,
    request_id: &RequestId,
    fingerprint: &str,
) -> Result<Option<String>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT fingerprint, resource_name FROM idempotency_keys WHERE method = ? AND request_id = ?",
        [method.into(), request_id.as_str().into()],
    );
    match KeyRow::find_by_statement(stmt).one(conn).await.map_err(db_error)? {
        None => Ok(None),
        Some(row) if row.fingerprint == fingerprint => Ok(Some(row.resource_name)),
        Some(_) => Err(reused()),
    }
}

/// Looks many request ids of `method` up at once (for creates written together): each one found, with the
/// fingerprint of the request that took it and the resource it made.
pub async fn lookup_many(
    conn: &impl ConnectionTrait,
    method: &str,
    request_ids: &[&RequestId],
) -> Result<std::collections::HashMap<String, (String, String)>, Error> {
    #[derive(FromQueryResult)]
    struct Found {
        request_id: String,
        fingerprint: String,
        resource_name: String,
    }
    if request_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let placeholders = vec!["?"; request_ids.len()].join(", ");
    let sql = format!(
        "SELECT request_id, fingerprint, resource_name FROM idempotency_keys WHERE method = ? AND request_id IN \
         ({placeholders})"
    );
    let values: Vec<sea_orm::Value> =
        std::iter::once(method.into()).chain(request_ids.iter().map(|id| id.as_str().into())).collect();
    let rows = Found::find_by_statement(statement(conn.get_database_backend(), &sql, values))
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().map(|r| (r.request_id, (r.fingerprint, r.resource_name))).collect())
}

/// The insert of a claim, for creates that hold the request id's lock and write it with their rows.
pub fn claim_insert(method: &str, request_id: &RequestId, fingerprint: &str, resource_name: &str) -> Insert {
    Insert::new(
        "INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) VALUES (?, ?, ?, ?)",
        vec![method.into(), request_id.as_str().into(), fingerprint.into(), resource_name.into()],
    )
}

/// Claims `request_id` (if any) for `resource_name` inside the create's transaction; `Some(name)` means an
/// earlier request with this id created `name`, and this one must return that and write nothing.
pub async fn claim(
    txn: &impl ConnectionTrait,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    resource_name: &str,
) -> Result<Option<String>, Error> {
    let Some(request_id) = request_id else { return Ok(None) };
    let insert = statement(
        txn.get_database_backend(),
        "INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) VALUES (?, ?, ?, ?) \
         ON CONFLICT (method, request_id) DO NOTHING",
        [method.into(), request_id.as_str().into(), fingerprint.into(), resource_name.into()],
    );
    let inserted = txn.execute_raw(insert).await.map_err(db_error)?.rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    match lookup(txn, method, request_id, fingerprint).await? {
        Some(resource_name) => Ok(Some(resource_name)),
        None => Err(Error::Internal("idempotency key vanished after a conflict".into())),
    }
}

/// [`claim`], and on PostgreSQL the transaction-level locks of `lock_keys` (taken in one order by every
/// transaction, so two that share keys never deadlock), in one round trip. SQLite's write transactions of a process
/// are serialised already, so there only the claim is made. For creates that must check something other rows could
/// change (a participant's other bookings) under the lock before they write.
pub async fn claim_with_locks(
    txn: &impl ConnectionTrait,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    resource_name: &str,
    lock_keys: &[String],
) -> Result<Option<String>, Error> {
    let backend = txn.get_database_backend();
    if backend != sea_orm::DbBackend::Postgres || lock_keys.is_empty() {
        return claim(txn, method, request_id, fingerprint, resource_name).await;
    }
    let keys = vec!["(?)"; lock_keys.len()].join(", ");
    // A volatile function in a select list runs after its ORDER BY: the locks are taken in hash order. Counting
    // the function's (text) results makes sure every one of them is evaluated.
    let locks = format!(
        "locks AS (SELECT pg_advisory_xact_lock(h)::text AS l FROM (SELECT DISTINCT hashtext(k) AS h FROM (VALUES {keys}) \
         AS v(k)) AS keys ORDER BY h)"
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(lock_keys.len() + 4);
    let sql = match request_id {
        Some(request_id) => {
            values.extend([method.into(), request_id.as_str().into(), fingerprint.into(), resource_name.into()]);
            format!(
                "WITH claim AS (INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (method, request_id) DO NOTHING RETURNING 1), {locks} \
                 SELECT (SELECT count(*) FROM claim) AS claimed, (SELECT count(l) FROM locks) AS locked"
            )
        }
        None => format!("WITH {locks} SELECT 1::bigint AS claimed, (SELECT count(l) FROM locks) AS locked"),
    };
    values.extend(lock_keys.iter().map(|k| k.as_str().into()));
    #[derive(Debug, sea_orm::FromQueryResult)]
    struct Claimed {
        claimed: i64,
        #[allow(dead_code, reason = "read so that the locks are taken")]
        locked: i64,
    }
    let row = Claimed::find_by_statement(statement(backend, &sql, values)).one(txn).await.map_err(db_error)?;
    match (row.map(|r| r.claimed), request_id) {
        (Some(1), _) | (_, None) => Ok(None),
        (_, Some(request_id)) => match lookup(txn, method, request_id, fingerprint).await? {
            Some(resource_name) => Ok(Some(resource_name)),
            None => Err(Error::Internal("idempotency key vanished after a conflict".into())),
        },
    }
}

/// How a create begins: a fresh transaction in which `request_id` is claimed, or the name of what an earlier
/// request with the same id created (return that, write nothing).
pub enum Begun<C> {
    Fresh(crate::db::WriteTxn),
    Replay(crate::api::names::Name<C>),
}

/// Starts the transaction of a create of `name` and claims its `request_id` in it.
pub async fn begin_create<C: crate::api::names::Collection>(
    db: &crate::db::Db,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    name: &crate::api::names::Name<C>,
) -> Result<Begun<C>, Error> {
    let txn = db.begin_write().await?;
    match claim(&*txn, method, request_id, fingerprint, &name.to_string()).await? {
        None => Ok(Begun::Fresh(txn)),
        Some(existing) => crate::api::names::Name::parse("stored name", &existing)
            .map(Begun::Replay)
            .map_err(|v| Error::Internal(format!("stored idempotency key names '{existing}': {}", v.description))),
    }
}

/// The answer to a request id used again for a different request.
pub fn reused() -> Error {
    Error::invalid("request_id", "was already used for a different request; use a new request_id")
}
