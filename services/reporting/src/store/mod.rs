//! The reporting database: the read model and, per source, the cursor of the last change applied. A batch of
//! changes and the cursor after it are written in one transaction, so a crash between the two cannot happen:
//! after a restart ingestion resumes exactly after the last batch applied, nothing missed, nothing twice.
pub mod entity;
pub mod migration;

use crate::domain::{Collection, Effect, effect};
use chrono::{DateTime, Utc};
use entity::source;
use liaison_proto::common::v1::Change;
use liaison_runtime::config::ServiceKind;
use liaison_runtime::db::sql::{self, statement};
use liaison_runtime::db::{Db, db_error};
use liaison_runtime::{Error, api::time};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, Value};
use std::collections::HashMap;

/// Rows per statement at most (PostgreSQL binds at most 65 535 parameters). Statements are also kept under
/// [`sql::MAX_STATEMENT_BYTES`]: a longer one waits for a delayed ACK (see [`sql::bound_len`]); measured with
/// liaison-bench, 500-row statements ingested 9 000 changes/s on PostgreSQL, 100-row ones 47 800.
const MAX_ROWS: usize = 1_000;

/// Headline counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub organizations: i64,
    pub contacts: i64,
    pub meetings: i64,
    pub open_cases: i64,
    pub update_time: Option<DateTime<Utc>>,
}

/// How far a source has been applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct Progress {
    pub cursor: i64,
    pub applied_count: i64,
    pub last_change_time: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct CollectionCount {
    collection: String,
    total: i64,
    open: i64,
}

/// The reporting service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Where ingestion of `source` stands.
    pub async fn progress(&self, source: ServiceKind) -> Result<Progress, Error> {
        let row = source::Entity::find_by_id(source.name().to_owned()).one(self.db.conn()).await.map_err(db_error)?;
        Ok(row
            .map(|r| Progress {
                cursor: r.cursor,
                applied_count: r.applied_count,
                last_change_time: r.last_change_time,
            })
            .unwrap_or_default())
    }

    /// Makes sure `source` has a cursor row (at 0 the first time).
    pub async fn register_source(&self, source: ServiceKind) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let stmt = statement(
            txn.get_database_backend(),
            "INSERT INTO sources (source, cursor, applied_count) VALUES (?, 0, 0) ON CONFLICT (source) DO NOTHING",
            [source.name().into()],
        );
        txn.execute_raw(stmt).await.map_err(db_error)?;
        txn.commit().await
    }

    /// Applies a batch of changes from `source` that follows `from_cursor`, and advances the cursor, in one
    /// transaction. ABORTED (and nothing applied) if the stored cursor is no longer `from_cursor`.
    pub async fn apply(&self, source: ServiceKind, from_cursor: i64, changes: &[Change]) -> Result<Progress, Error> {
        let Some(last) = changes.last() else { return self.progress(source).await };
        let now = time::now();
        // Later changes of a resource supersede earlier ones within the batch.
        let mut latest: HashMap<String, Effect> = HashMap::new();
        for change in changes {
            match effect(change) {
                Effect::Ignore => {}
                e @ (Effect::Upsert { .. } | Effect::Remove { .. }) => {
                    let name = match &e {
                        Effect::Upsert { resource_name, .. } | Effect::Remove { resource_name } => {
                            resource_name.clone()
                        }
                        Effect::Ignore => continue,
                    };
                    latest.insert(name, e);
                }
            }
        }
        let (mut upserts, mut removals) = (Vec::new(), Vec::new());
        for effect in latest.into_values() {
            match effect {
                Effect::Upsert { resource_name, collection, open } => upserts.push((resource_name, collection, open)),
                Effect::Remove { resource_name } => removals.push(resource_name),
                Effect::Ignore => {}
            }
        }
        let txn = self.db.begin_write().await?;
        let backend = txn.get_database_backend();
        let upsert_len =
            |(name, collection, _): &(String, Collection, bool)| 6 * 4 + name.len() + collection.as_str().len() + 9;
        for chunk in sql::chunks(&upserts, MAX_ROWS, upsert_len) {
            let placeholders = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
            for (name, collection, open) in chunk {
                values.extend([name.clone().into(), collection.as_str().into(), (*open).into(), now.into()]);
            }
            let sql = format!(
                "INSERT INTO read_model (resource_name, collection, is_open, update_time) VALUES {placeholders} \
                 ON CONFLICT (resource_name) DO UPDATE SET collection = excluded.collection, \
                 is_open = excluded.is_open, update_time = excluded.update_time"
            );
            txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        }
        for chunk in sql::chunks(&removals, MAX_ROWS, |name| 6 + name.len()) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!("DELETE FROM read_model WHERE resource_name IN ({placeholders})");
            let values = chunk.iter().map(|n| Value::from(n.clone()));
            txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        }
        let last_change_time =
            last.change_time.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32));
        // Fencing: the cursor moves only from where this batch starts. If another follower (a second replica)
        // applied these changes first, nothing here is kept.
        let advance = statement(
            backend,
            "UPDATE sources SET cursor = ?, applied_count = applied_count + ?, last_change_time = ?, \
             last_applied_time = ? WHERE source = ? AND cursor = ? \
             RETURNING cursor, applied_count, last_change_time",
            [
                last.sequence.into(),
                (changes.len() as i64).into(),
                last_change_time.into(),
                Some(now).into(),
                source.name().into(),
                from_cursor.into(),
            ],
        );
        let Some(progress) = Progress::find_by_statement(advance).one(&*txn).await.map_err(db_error)? else {
            return Err(Error::Aborted { resource: format!("ingestion cursor of {source}") });
        };
        txn.commit().await?;
        Ok(progress)
    }

    /// The dashboard's counts.
    pub async fn counts(&self) -> Result<Counts, Error> {
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let rows = CollectionCount::find_by_statement(statement(
            backend,
            "SELECT collection, COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN is_open THEN 1 ELSE 0 END), 0) AS open \
             FROM read_model GROUP BY collection",
            [],
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        let mut counts = Counts::default();
        for row in rows {
            match row.collection.as_str() {
                "organizations" => counts.organizations = row.total,
                "contacts" => counts.contacts = row.total,
                "meetings" => counts.meetings = row.total,
                "cases" => counts.open_cases = row.open,
                _ => {}
            }
        }
        counts.update_time = source::Entity::find()
            .all(conn)
            .await
            .map_err(db_error)?
            .into_iter()
            .filter_map(|s| s.last_applied_time)
            .max();
        Ok(counts)
    }
}
