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

/// How long a request id is kept: a retry within it returns the first result; after it (and before the next
/// sweep, at most [`SWEEP_EVERY`] later) the id is forgotten and a request with it creates anew.
pub const KEY_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// How often each server deletes the request ids past [`KEY_TTL`].
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Adds `create_time` (seconds since the epoch, set by the database on insert) to `idempotency_keys`, so that
/// keys can expire; keys kept before count from the migration. SQLite cannot add a column whose default is an
/// expression, so there the table is rebuilt.
pub(crate) async fn add_create_time(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let script = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "ALTER TABLE idempotency_keys ADD COLUMN create_time BIGINT NOT NULL \
                 DEFAULT (extract(epoch FROM now()))::bigint;
             CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (create_time)"
        }
        _ => {
            "CREATE TABLE idempotency_keys_aged (
                 method TEXT NOT NULL,
                 request_id TEXT NOT NULL,
                 fingerprint TEXT NOT NULL,
                 resource_name TEXT NOT NULL,
                 create_time INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
                 PRIMARY KEY (method, request_id)
             );
             INSERT INTO idempotency_keys_aged (method, request_id, fingerprint, resource_name)
                 SELECT method, request_id, fingerprint, resource_name FROM idempotency_keys;
             DROP TABLE idempotency_keys;
             ALTER TABLE idempotency_keys_aged RENAME TO idempotency_keys;
             CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (create_time)"
        }
    };
    crate::db::execute_script(conn, script).await
}

/// Deletes the request ids created before `now - KEY_TTL`; how many.
pub async fn expire(conn: &impl ConnectionTrait, now: chrono::DateTime<chrono::Utc>) -> Result<u64, Error> {
    let cutoff = now.timestamp() - KEY_TTL.as_secs() as i64;
    let delete =
        statement(conn.get_database_backend(), "DELETE FROM idempotency_keys WHERE create_time < ?", [cutoff.into()]);
    Ok(conn.execute_raw(delete).await.map_err(db_error)?.rows_affected())
}

/// Deletes expired request ids every [`SWEEP_EVERY`] (the first time a minute after start) until `shutdown`.
/// Replicas sharing a database each sweep; the deletes are the same and harmless together.
pub fn sweep_periodically(db: crate::db::Db, shutdown: tokio_util::sync::CancellationToken) {
    let first = std::time::Duration::from_secs(60);
    crate::db::jobs::every("idempotency keys past their 7 days expired", first, SWEEP_EVERY, shutdown, move || {
        let db = db.clone();
        async move { expire(db.conn(), crate::api::time::now()).await }
    });
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

/// A transaction-level advisory lock of [`claim_with_locks`]: exclusive, or shared with every other shared holder
/// of the key (a coarse lock that finer exclusive ones sit under).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lock {
    pub key: String,
    pub shared: bool,
}

impl Lock {
    pub fn exclusive(key: impl Into<String>) -> Self {
        Self { key: key.into(), shared: false }
    }

    pub fn shared(key: impl Into<String>) -> Self {
        Self { key: key.into(), shared: true }
    }
}

/// The advisory lock id of `key`: its 64-bit FNV-1a hash, the same in every process and release (a collision
/// only makes two unrelated bookings take turns).
pub fn lock_id(key: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = key.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// [`claim`], and on PostgreSQL the transaction-level locks `locks` (taken in one order by every transaction, so
/// two that share keys never deadlock; a key asked for both shared and exclusive is taken exclusive), in one round
/// trip. SQLite's write transactions of a process are serialised already, so there only the claim is made. For
/// creates that must check something other rows could change (a participant's other bookings) under the lock
/// before they write.
pub async fn claim_with_locks(
    txn: &impl ConnectionTrait,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    resource_name: &str,
    locks: &[Lock],
) -> Result<Option<String>, Error> {
    let backend = txn.get_database_backend();
    if backend != sea_orm::DbBackend::Postgres || locks.is_empty() {
        return claim(txn, method, request_id, fingerprint, resource_name).await;
    }
    // Each key as its 64-bit id, a key asked for both shared and exclusive taken exclusive: eight bytes a lock,
    // so that hundreds of them stay one small message (a statement longer than a TLS record waits for a delayed
    // ACK, `sql::MAX_STATEMENT_BYTES`).
    let mut ids: Vec<(i64, bool)> = locks.iter().map(|lock| (lock_id(&lock.key), lock.shared)).collect();
    // Sorted, an id's exclusive ask (`false`) comes first and is the one kept.
    ids.sort_unstable();
    ids.dedup_by_key(|(id, _)| *id);
    let keys = vec!["(?, ?)"; ids.len()].join(", ");
    // A volatile function in a select list runs after its ORDER BY: the locks are taken in id order. Counting
    // the function's (text) results makes sure every one of them is evaluated.
    let locking = format!(
        "locks AS (SELECT (CASE WHEN s THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END)::text \
         AS l FROM (VALUES {keys}) AS v(k, s) ORDER BY k)"
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(2 * ids.len() + 4);
    let sql = match request_id {
        Some(request_id) => {
            values.extend([method.into(), request_id.as_str().into(), fingerprint.into(), resource_name.into()]);
            format!(
                "WITH claim AS (INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (method, request_id) DO NOTHING RETURNING 1), {locking} \
                 SELECT (SELECT count(*) FROM claim) AS claimed, (SELECT count(l) FROM locks) AS locked"
            )
        }
        None => format!("WITH {locking} SELECT 1::bigint AS claimed, (SELECT count(l) FROM locks) AS locked"),
    };
    for (id, shared) in ids {
        values.extend([id.into(), shared.into()]);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_ids_expire_after_their_time_and_younger_ones_stay() {
        use crate::db::migration::{AddIdempotencyCreateTime, CreateSharedTables};
        use sea_orm_migration::{MigrationTrait, SchemaManager};
        let path = std::env::temp_dir().join(format!("liaison-keys-{}.db", uuid::Uuid::now_v7()));
        let url: crate::db::DatabaseUrl = format!("sqlite://{}?mode=rwc", path.display()).parse().expect("url");
        let db = crate::db::Db::connect(&url).await.expect("connect");
        let manager = SchemaManager::new(db.conn());
        CreateSharedTables.up(&manager).await.expect("tables");
        // A key kept before the migration counts from the migration.
        let old = RequestId::parse_optional("request_id", "before").expect("id").expect("some");
        claim(db.conn(), "Create", Some(&old), "f", "things/1").await.expect("claim");
        // As the migrator runs it: in a transaction (`use_transaction`).
        let txn = sea_orm::TransactionTrait::begin(db.conn()).await.expect("begin");
        AddIdempotencyCreateTime.up(&SchemaManager::new(&txn)).await.expect("migration");
        txn.commit().await.expect("commit");
        let young = RequestId::parse_optional("request_id", "after").expect("id").expect("some");
        claim(db.conn(), "Create", Some(&young), "f", "things/2").await.expect("claim");
        assert_eq!(lookup(db.conn(), "Create", &old, "f").await.expect("lookup").as_deref(), Some("things/1"));

        let now = crate::api::time::now();
        assert_eq!(expire(db.conn(), now).await.expect("sweep"), 0, "both younger than a week");
        let week = chrono::TimeDelta::from_std(KEY_TTL).expect("delta");
        assert_eq!(expire(db.conn(), now + week + chrono::TimeDelta::minutes(1)).await.expect("sweep"), 2);
        assert_eq!(lookup(db.conn(), "Create", &young, "f").await.expect("lookup"), None, "forgotten");
        db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn lock_ids_are_fnv_1a_and_the_same_everywhere() {
        // The published FNV-1a 64 test vectors: every process and release must agree on a key's lock.
        assert_eq!(lock_id("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(lock_id("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(lock_id("foobar") as u64, 0x8594_4171_f739_67e8);
        assert_ne!(lock_id("booking:contacts/a"), lock_id("booking:contacts/b"));
    }
}
