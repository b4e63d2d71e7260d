//! Creates whose writes travel to the database in one round trip.
//!
//! A create writes several rows that do not depend on one another — the resource, its index rows, its change
//! and its idempotency key. As a transaction that is `BEGIN`, one round trip per row and `COMMIT`; on
//! PostgreSQL each round trip costs as much as the write itself. Here the inserts become one statement of
//! data-modifying CTEs, which PostgreSQL runs atomically in its own implicit transaction:
//!
//! ```sql
//! WITH claim AS (INSERT INTO idempotency_keys … ON CONFLICT DO NOTHING RETURNING 1),
//!      w0 AS (INSERT INTO contacts (…) SELECT * FROM (VALUES (…)) AS v WHERE EXISTS (SELECT 1 FROM claim)),
//!      w1 AS (INSERT INTO changes (…) SELECT * FROM (VALUES (…)) AS v WHERE EXISTS (SELECT 1 FROM claim))
//! SELECT COUNT(*) AS claimed FROM claim
//! ```
//!
//! When the idempotency key is already taken nothing else is inserted, and the first create's resource name is
//! looked up and returned instead. A change row written this way gets its `txid` from the statement's own
//! transaction, so the feed's ordering guarantee holds unchanged. SQLite has no network round trip: there the
//! same inserts run in an ordinary write transaction.
use crate::db::{Backend, Db, db_error};
use crate::error::Error;
use crate::sql::statement;
use crate::validate::RequestId;
use liaison_proto::common::v1::ChangeKind;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryTrait, Value};

/// One `INSERT INTO t (…) VALUES (…), …` with `?` placeholders.
#[derive(Debug, Clone)]
pub struct Insert {
    sql: String,
    values: Vec<Value>,
}

impl Insert {
    /// An insert written by hand: `INSERT INTO t (columns) VALUES (?, …)[, (?, …)]`, nothing after the values.
    pub fn new(sql: impl Into<String>, values: Vec<Value>) -> Self {
        Self { sql: sql.into(), values }
    }

    /// The insert of a sea-orm model.
    pub fn model<A>(model: A) -> Self
    where
        A: sea_orm::ActiveModelTrait,
    {
        // Built for SQLite to get `?` placeholders; the SQL is otherwise the same for both engines.
        let built = <A::Entity as sea_orm::EntityTrait>::insert(model).build(DbBackend::Sqlite);
        Self { sql: built.sql, values: built.values.map(|v| v.0).unwrap_or_default() }
    }

    /// The insert of several models of one entity in one statement; `None` when there are none.
    pub fn models<A, I>(models: I) -> Option<Self>
    where
        A: sea_orm::ActiveModelTrait,
        I: IntoIterator<Item = A>,
    {
        let models: Vec<A> = models.into_iter().collect();
        if models.is_empty() {
            return None;
        }
        let built = <A::Entity as sea_orm::EntityTrait>::insert_many(models).build(DbBackend::Sqlite);
        Some(Self { sql: built.sql, values: built.values.map(|v| v.0).unwrap_or_default() })
    }

    /// The change-feed row of a mutation (see [`crate::feed::insert`]).
    pub fn change<M: prost::Message>(resource_name: &str, kind: ChangeKind, type_name: &str, resource: &M) -> Self {
        crate::feed::insert(type_name, &[(resource_name, kind, resource)])
    }

    /// Runs this insert on `conn` (inside the caller's transaction).
    pub async fn execute(self, conn: &impl ConnectionTrait) -> Result<(), Error> {
        conn.execute_raw(statement(conn.get_database_backend(), &self.sql, self.values)).await.map_err(db_error)?;
        Ok(())
    }

    /// This insert as a CTE member that writes only if `claim` inserted its row.
    fn guarded(&self) -> Result<String, Error> {
        let (head, rows) = self
            .sql
            .split_once(" VALUES ")
            .ok_or_else(|| Error::Internal(format!("not an INSERT … VALUES: {}", self.sql)))?;
        Ok(format!("{head} SELECT * FROM (VALUES {rows}) AS v WHERE EXISTS (SELECT 1 FROM claim)"))
    }
}

/// The idempotency key a create claims.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub method: &'a str,
    pub request_id: &'a RequestId,
    pub fingerprint: &'a str,
    pub resource_name: &'a str,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The rows were written.
    Fresh,
    /// The request id was used before; nothing was written. The name of the resource created then.
    Replay(String),
}

#[derive(FromQueryResult)]
struct Claimed {
    claimed: i64,
}

/// Writes `inserts` atomically, claiming `claim` first if given.
pub async fn create(db: &Db, claim: Option<Claim<'_>>, inserts: Vec<Insert>) -> Result<Created, Error> {
    match db.backend() {
        Backend::Postgres => create_in_one_statement(db, claim, inserts).await,
        Backend::Sqlite => {
            let txn = db.begin_write().await?;
            if let Some(c) = claim
                && let Some(existing) =
                    crate::idempotency::claim(&*txn, c.method, Some(c.request_id), c.fingerprint, c.resource_name)
                        .await?
            {
                return Ok(Created::Replay(existing));
            }
            for insert in inserts {
                insert.execute(&*txn).await?;
            }
            txn.commit().await?;
            Ok(Created::Fresh)
        }
    }
}

/// [`create`] for a resource `name` created by `method`, keyed by an optional `request_id`: `None` when the rows
/// were written, the name of the first resource when the request id was used before.
pub async fn create_named<C: crate::names::Collection>(
    db: &Db,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    name: &crate::names::Name<C>,
    inserts: Vec<Insert>,
) -> Result<Option<crate::names::Name<C>>, Error> {
    let resource_name = name.to_string();
    let claim = request_id.map(|request_id| Claim { method, request_id, fingerprint, resource_name: &resource_name });
    match create(db, claim, inserts).await? {
        Created::Fresh => Ok(None),
        Created::Replay(existing) => crate::names::Name::parse("stored name", &existing)
            .map(Some)
            .map_err(|v| Error::Internal(format!("stored idempotency key names '{existing}': {}", v.description))),
    }
}

async fn create_in_one_statement(db: &Db, claim: Option<Claim<'_>>, inserts: Vec<Insert>) -> Result<Created, Error> {
    let mut members = Vec::with_capacity(inserts.len() + 1);
    let mut values = Vec::new();
    if let Some(c) = claim {
        members.push(
            "claim AS (INSERT INTO idempotency_keys (method, request_id, fingerprint, resource_name) \
             VALUES (?, ?, ?, ?) ON CONFLICT (method, request_id) DO NOTHING RETURNING 1)"
                .to_owned(),
        );
        values.extend([c.method.into(), c.request_id.as_str().into(), c.fingerprint.into(), c.resource_name.into()]);
    }
    for (index, insert) in inserts.into_iter().enumerate() {
        let sql = if claim.is_some() { insert.guarded()? } else { insert.sql };
        members.push(format!("w{index} AS ({sql})"));
        values.extend(insert.values);
    }
    let result = if claim.is_some() { "SELECT COUNT(*) AS claimed FROM claim" } else { "SELECT 1::bigint AS claimed" };
    let sql = format!("WITH {} {result}", members.join(", "));
    let conn = db.conn();
    let claimed = Claimed::find_by_statement(statement(DbBackend::Postgres, &sql, values))
        .one(conn)
        .await
        .map_err(db_error)?
        .map_or(0, |row| row.claimed);
    db.notify_commit();
    match claim {
        Some(c) if claimed == 0 => match crate::idempotency::lookup(conn, c.method, c.request_id, c.fingerprint).await?
        {
            Some(existing) => Ok(Created::Replay(existing)),
            None => Err(Error::Internal("idempotency key vanished after a conflict".into())),
        },
        _ => Ok(Created::Fresh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guarded_insert_writes_only_after_a_successful_claim() {
        let insert = Insert::new("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", vec![]);
        assert_eq!(
            insert.guarded().expect("an insert"),
            "INSERT INTO t (a, b) SELECT * FROM (VALUES (?, ?), (?, ?)) AS v WHERE EXISTS (SELECT 1 FROM claim)"
        );
        assert!(Insert::new("DELETE FROM t", vec![]).guarded().is_err());
    }
}
