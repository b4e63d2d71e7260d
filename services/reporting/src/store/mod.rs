//! The reporting database: the read model (`facts`, one row per resource of the other services, and the project
//! status changes ingestion saw) with, per source, the cursor of the last change applied — a batch of changes and
//! the cursor after it are written in one transaction, so after a crash ingestion resumes exactly after the last
//! batch applied, nothing missed, nothing twice — and what reporting keeps of its own: feedback (`feedback`),
//! reports and their evidence (`reports`), schedules and their runs (`schedules`). `records` reads what a report
//! of a period needs.
pub mod entity;
pub mod feedback;
pub mod migration;
pub mod records;
pub mod reports;
pub mod schedules;

use crate::domain::facts::{Effect, Fact, Kind, effect};
use chrono::{DateTime, Utc};
use entity::source;
use liaison_proto::common::v1::Change;
use liaison_runtime::config::ServiceKind;
use liaison_runtime::db::sql::{self, statement};
use liaison_runtime::db::{Db, db_error};
use liaison_runtime::{Error, api::time};
use prost::Message;
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, Value};
use std::collections::HashMap;

/// Rows per statement at most (PostgreSQL binds at most 65 535 parameters). Statements are also kept under
/// [`sql::MAX_STATEMENT_BYTES`] where rows are small: a longer one waits for a delayed ACK (see [`sql::bound_len`]).
const MAX_ROWS: usize = 500;
const FACT_COLUMNS: usize = 13;

/// Headline counts of the whole register.
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

#[derive(FromQueryResult)]
struct StoredPayload {
    resource_name: String,
    payload: Vec<u8>,
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

    /// The cursor of every source, in `sources` order.
    pub async fn cursors(&self, sources: &[ServiceKind]) -> Result<Vec<(ServiceKind, i64)>, Error> {
        let mut cursors = Vec::with_capacity(sources.len());
        for &source in sources {
            cursors.push((source, self.progress(source).await?.cursor));
        }
        Ok(cursors)
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

    /// Empties the read model and puts every cursor back to 0, in one transaction; the followers notice that
    /// their cursor moved (their next batch is refused) and start again from the first change.
    pub async fn reset_read_model(&self) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let backend = txn.get_database_backend();
        for sql in [
            "DELETE FROM facts",
            "DELETE FROM status_changes",
            "UPDATE sources SET cursor = 0, applied_count = 0, last_change_time = NULL",
        ] {
            txn.execute_raw(statement(backend, sql, [])).await.map_err(db_error)?;
        }
        txn.commit().await
    }

    /// Applies a batch of changes from `source` that follows `from_cursor`, and advances the cursor, in one
    /// transaction. ABORTED (and nothing applied) if the stored cursor is no longer `from_cursor`.
    pub async fn apply(&self, source: ServiceKind, from_cursor: i64, changes: &[Change]) -> Result<Progress, Error> {
        let Some(last) = changes.last() else { return self.progress(source).await };
        let now = time::now();
        // Later changes of a resource supersede earlier ones within the batch; a milestone done in both keeps the
        // earlier instant it was first seen done.
        let mut latest: HashMap<String, Effect> = HashMap::new();
        for change in changes {
            let mut next = effect(change);
            let Some(name) = next.resource_name().map(str::to_owned) else { continue };
            if let (Effect::Upsert(new), Some(Effect::Upsert(old))) = (&mut next, latest.get(&name))
                && new.done_at.is_some()
                && old.done_at.is_some()
            {
                new.done_at = old.done_at;
            }
            latest.insert(name, next);
        }
        let (mut upserts, mut removals) = (Vec::new(), Vec::new());
        for effect in latest.into_values() {
            match effect {
                Effect::Upsert(fact) => upserts.push(*fact),
                Effect::Remove { resource_name } => removals.push(resource_name),
                Effect::Ignore => {}
            }
        }
        let txn = self.db.begin_write().await?;
        let backend = txn.get_database_backend();
        self.record_status_changes(&*txn, changes).await?;
        for chunk in sql::chunks(&upserts, MAX_ROWS, fact_len) {
            let placeholders = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * FACT_COLUMNS);
            for fact in chunk {
                values.extend([
                    fact.resource_name.clone().into(),
                    fact.kind.collection().into(),
                    source.name().into(),
                    fact.sequence.into(),
                    fact.change_time.into(),
                    fact.parent.clone().into(),
                    fact.member.clone().into(),
                    fact.active_from.into(),
                    fact.active_until.into(),
                    fact.done_at.into(),
                    fact.open.into(),
                    fact.confidential.into(),
                    fact.payload.clone().into(),
                ]);
            }
            let sql = format!(
                "INSERT INTO facts (resource_name, collection, source, sequence, change_time, parent, member, \
                 active_from, active_until, done_at, is_open, confidential, payload) VALUES {placeholders} \
                 ON CONFLICT (resource_name) DO UPDATE SET collection = excluded.collection, \
                 source = excluded.source, sequence = excluded.sequence, change_time = excluded.change_time, \
                 parent = excluded.parent, member = excluded.member, active_from = excluded.active_from, active_until = excluded.active_until, \
                 done_at = CASE WHEN excluded.done_at IS NULL THEN NULL ELSE COALESCE(facts.done_at, excluded.done_at) END, \
                 is_open = excluded.is_open, confidential = excluded.confidential, payload = excluded.payload"
            );
            txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        }
        for chunk in sql::chunks(&removals, MAX_ROWS, |name| 6 + name.len()) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!("DELETE FROM facts WHERE resource_name IN ({placeholders})");
            let values = chunk.iter().map(|n| Value::from(n.clone()));
            txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        }
        let last_change_time =
            last.change_time.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32));
        // Fencing: the cursor moves only from where this batch starts. If another follower (a second replica)
        // applied these changes first, or the read model was rebuilt meanwhile, nothing here is kept.
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

    /// Records each change of a project's health in `changes`, against the health before it (the batch's earlier
    /// change of the project, or the read model's).
    async fn record_status_changes(&self, txn: &impl ConnectionTrait, changes: &[Change]) -> Result<(), Error> {
        use liaison_proto::scheduling::v1::Project;
        let projects: Vec<&Change> =
            changes.iter().filter(|c| Kind::of(&c.resource_name) == Some(Kind::Project)).collect();
        if projects.is_empty() {
            return Ok(());
        }
        let backend = txn.get_database_backend();
        let mut names: Vec<&str> = projects.iter().map(|c| c.resource_name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut health: HashMap<String, i32> = HashMap::new();
        for chunk in names.chunks(MAX_ROWS) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT resource_name, payload FROM facts WHERE resource_name IN ({placeholders})");
            let rows =
                StoredPayload::find_by_statement(statement(backend, &sql, chunk.iter().map(|n| Value::from(*n))))
                    .all(txn)
                    .await
                    .map_err(db_error)?;
            for row in rows {
                if let Ok(project) = Project::decode(row.payload.as_slice()) {
                    health.insert(row.resource_name, project.health);
                }
            }
        }
        let mut rows: Vec<(String, i64, i64, i32, i32)> = Vec::new();
        for change in projects {
            let Some(project) = change.resource.as_ref().and_then(|any| Project::decode(any.value.as_slice()).ok())
            else {
                continue;
            };
            if let Some(before) = health.insert(change.resource_name.clone(), project.health)
                && before != project.health
            {
                let at = crate::domain::facts::micros(change.change_time.as_ref()).unwrap_or(0);
                rows.push((change.resource_name.clone(), change.sequence, at, before, project.health));
            }
        }
        for chunk in rows.chunks(MAX_ROWS) {
            let placeholders = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO status_changes (resource_name, sequence, change_time, from_status, to_status) \
                 VALUES {placeholders} ON CONFLICT (resource_name, sequence) DO NOTHING"
            );
            let values = chunk.iter().flat_map(|(name, sequence, at, from, to)| {
                [name.clone().into(), (*sequence).into(), (*at).into(), (*from).into(), (*to).into()]
            });
            txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        }
        Ok(())
    }

    /// The counts of the whole register.
    pub async fn counts(&self) -> Result<Counts, Error> {
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let rows = CollectionCount::find_by_statement(statement(
            backend,
            "SELECT collection, COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN is_open THEN 1 ELSE 0 END), 0) AS open \
             FROM facts WHERE collection IN ('organizations', 'contacts', 'meetings', 'cases') GROUP BY collection",
            [],
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        let mut counts = Counts::default();
        for row in rows {
            match row.collection.as_str() {
                "organizations" => counts.organizations = row.total,
                "contacts" => counts.contacts = row.open,
                "meetings" => counts.meetings = row.total,
                "cases" => counts.open_cases = row.open,
                _ => {}
            }
        }
        counts.update_time = self.update_time().await?;
        Ok(counts)
    }

    /// When the read model last changed.
    pub async fn update_time(&self) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(source::Entity::find()
            .all(self.db.conn())
            .await
            .map_err(db_error)?
            .into_iter()
            .filter_map(|s| s.last_applied_time)
            .max())
    }
}

/// The bytes a fact's row binds, for keeping statements short.
fn fact_len(fact: &Fact) -> usize {
    FACT_COLUMNS * 4
        + fact.resource_name.len() * 2
        + fact.member.as_ref().map_or(0, String::len)
        + fact.payload.len()
        + 64
}
