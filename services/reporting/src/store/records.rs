//! What a report of a period reads: per collection, the resources whose active interval meets the period (an
//! index range on `(collection, active_until, active_from)`, so the rows read grow with the period's data and with
//! what is still open, not with all history), decoded into their wire types — except the affiliations, of which a
//! report needs only who belongs to which organisation, read from an index (`facts.member`, `facts.parent`). The
//! collections are read a few at a time, concurrently ([`PARALLEL_READS`]); on SQLite each collection's rows are
//! fetched in rowid order.
use super::Store;
use crate::domain::Scope;
use crate::domain::facts::{Kind, ONGOING};
use crate::domain::feedback::FeedbackRecord;
use crate::domain::report::{Affiliated, Meta, Rec, Records, StatusChange, Window};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::sql::statement;
use prost::Message;
use sea_orm::{DbBackend, FromQueryResult};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

const DAY: i64 = 86_400 * 1_000_000;
/// How far before a report's end engagement looks for the last interaction with each organisation.
const ENGAGEMENT_LOOKBACK: i64 = 90 * DAY;
/// How far back a meeting series' attendance and a recurring root cause are looked for.
const RULES_LOOKBACK: i64 = 91 * DAY;
/// Collections a report reads at once: a few keep two cores busy (the engine's side of one read overlaps the
/// decoding of another); more would only hold more of the pool's connections (SQLite has 8, shared with
/// ingestion and the other calls) while they wait.
pub const PARALLEL_READS: usize = 3;

#[derive(FromQueryResult)]
struct FactRow {
    resource_name: String,
    source: String,
    sequence: i64,
    change_time: i64,
    done_at: Option<i64>,
    confidential: bool,
    payload: Vec<u8>,
}

#[derive(FromQueryResult)]
struct MemberRow {
    member: Option<String>,
    parent: Option<String>,
}

#[derive(FromQueryResult)]
struct PayloadRow {
    payload: Vec<u8>,
}

#[derive(FromQueryResult)]
pub(crate) struct FeedbackRow {
    pub id: String,
    pub subject: String,
    pub author: String,
    pub rating: i32,
    pub comment: String,
    pub tags: String,
    pub create_time: i64,
}

impl FeedbackRow {
    pub(crate) fn into_record(self) -> FeedbackRecord {
        FeedbackRecord {
            name: format!("feedback/{}", self.id),
            subject: self.subject,
            author: self.author,
            rating: self.rating,
            comment: self.comment,
            tags: self.tags.split('\u{1f}').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            create_time: self.create_time,
        }
    }
}

#[derive(FromQueryResult)]
struct StatusRow {
    resource_name: String,
    sequence: i64,
    change_time: i64,
    from_status: i32,
    to_status: i32,
}

fn source_name(source: &str) -> &'static str {
    match source {
        "contacts" => "contacts",
        "scheduling" => "scheduling",
        "mediation" => "mediation",
        _ => "unknown",
    }
}

/// Which rows of a collection to read: those active at some point in `[from, until)`.
#[derive(Debug, Clone, Copy)]
pub struct Interval {
    pub from: i64,
    pub until: i64,
}

impl Interval {
    pub const EVER: Interval = Interval { from: i64::MIN, until: ONGOING };
}

/// How much of the register (organisations, contacts, meetings) to read: what the period needs, or all of it (a
/// scoped dashboard counts the scope's share of the whole register).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    Period,
    Whole,
}

impl Store {
    /// The rows of `kind` active in `interval`, decoded.
    pub async fn facts<T: Message + Default>(&self, kind: Kind, interval: Interval) -> Result<Vec<Rec<T>>, Error> {
        let sql = match self.db.conn().get_database_backend() {
            // The rows' rowids come from the index alone, and SQLite reads an `IN` list of rowids in ascending
            // order: rows were inserted in the history's order, so a period's rows share pages and are read in
            // file order, where the index's `active_until` order would fetch each from a random page (a `pread` of
            // its page, and often of the pages above it, per row — most of a report's time on a large read model).
            DbBackend::Sqlite => {
                "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                 WHERE rowid IN (SELECT rowid FROM facts \
                 WHERE collection = ? AND active_until >= ? AND active_from < ?)"
            }
            _ => {
                "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                 WHERE collection = ? AND active_until >= ? AND active_from < ?"
            }
        };
        self.read_facts(sql, kind, interval.from, interval.until).await
    }

    /// The rows of `kind` created (active from) in `[from, until)`, decoded.
    pub async fn facts_created<T: Message + Default>(
        &self,
        kind: Kind,
        from: i64,
        until: i64,
    ) -> Result<Vec<Rec<T>>, Error> {
        let sql = match self.db.conn().get_database_backend() {
            // In rowid order, as `facts` reads (`facts_by_from` answers the range alone).
            DbBackend::Sqlite => {
                "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                 WHERE rowid IN (SELECT rowid FROM facts WHERE collection = ? AND active_from >= ? AND active_from < ?)"
            }
            _ => {
                "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                 WHERE collection = ? AND active_from >= ? AND active_from < ?"
            }
        };
        self.read_facts(sql, kind, from, until).await
    }

    async fn read_facts<T: Message + Default>(
        &self,
        sql: &str,
        kind: Kind,
        from: i64,
        until: i64,
    ) -> Result<Vec<Rec<T>>, Error> {
        let conn = self.db.conn();
        let stmt = statement(conn.get_database_backend(), sql, [kind.collection().into(), from.into(), until.into()]);
        let rows = FactRow::find_by_statement(stmt).all(conn).await.map_err(db_error)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            // A row this build cannot decode was written by a newer one; it is left out rather than failing the
            // whole report.
            let Ok(item) = T::decode(row.payload.as_slice()) else { continue };
            records.push(Rec {
                meta: Meta {
                    name: row.resource_name,
                    source: source_name(&row.source),
                    sequence: row.sequence,
                    change_time: row.change_time,
                    confidential: row.confidential,
                    done_at: row.done_at,
                },
                item,
            });
        }
        // Rows come in index (or rowid) order; reports list records by name so that they read the same on both
        // engines. Names are unique (the primary key), so an unstable sort gives the same order as a stable one,
        // with fewer moves of the records.
        records.sort_unstable_by(|a, b| a.meta.name.cmp(&b.meta.name));
        Ok(records)
    }

    /// Everything a report of `window` over `scope` reads.
    pub async fn records(&self, window: &Window, scope: &Scope, register: Register) -> Result<Records, Error> {
        let start = window.period.start.as_microsecond();
        let end = window.period.end.as_microsecond();
        let period = Interval { from: start, until: end };
        let engagement = Interval { from: start.min(window.as_of - ENGAGEMENT_LOOKBACK), until: end };
        let lookback = Interval { from: start.min(window.as_of - RULES_LOOKBACK), until: end };
        let whole = register == Register::Whole;
        // Contacts: the period needs only those created in it (new contacts); a label scope or a dashboard all.
        let all_contacts = whole || matches!(scope, Scope::Label(_));
        let meetings = if whole { Interval::EVER } else { lookback };
        let cases = if whole { Interval::EVER } else { lookback };
        // Each collection is a task of its own, at most PARALLEL_READS reading at once; the largest are started
        // first. Dropping the handles (an error returned early) stops the reads still going.
        let gate = Arc::new(Semaphore::new(PARALLEL_READS));
        let store = self.clone();
        let affiliations = Reading::spawn(&gate, async move { store.affiliations().await });
        let interactions = self.spawn_facts(&gate, Kind::Interaction, engagement);
        let commitments = self.spawn_facts(&gate, Kind::Commitment, period);
        let action_items = self.spawn_facts(&gate, Kind::ActionItem, period);
        let milestones = self.spawn_facts(&gate, Kind::Milestone, period);
        let meetings = self.spawn_facts(&gate, Kind::Meeting, meetings);
        let contacts = if all_contacts {
            self.spawn_facts(&gate, Kind::Contact, Interval::EVER)
        } else {
            let (store, gate) = (self.clone(), gate.clone());
            Reading::spawn(&gate, async move { store.facts_created(Kind::Contact, start, end).await })
        };
        let organizations = self.spawn_facts(&gate, Kind::Organization, Interval::EVER);
        let prevention_actions = self.spawn_facts(&gate, Kind::PreventionAction, period);
        let cases = self.spawn_facts(&gate, Kind::Case, cases);
        let projects = self.spawn_facts(&gate, Kind::Project, period);
        let store = self.clone();
        let status_changes = Reading::spawn(&gate, async move { store.status_changes(start, end).await });
        let store = self.clone();
        let feedback = Reading::spawn(&gate, async move { store.feedback_between(start, end).await });
        Ok(Records {
            organizations: organizations.result().await?,
            contacts: contacts.result().await?,
            affiliations: affiliations.result().await?,
            interactions: interactions.result().await?,
            meetings: meetings.result().await?,
            action_items: action_items.result().await?,
            commitments: commitments.result().await?,
            projects: projects.result().await?,
            milestones: milestones.result().await?,
            cases: cases.result().await?,
            prevention_actions: prevention_actions.result().await?,
            status_changes: status_changes.result().await?,
            feedback: feedback.result().await?,
        })
    }

    /// `facts(kind, interval)` in a task of its own, once `gate` lets it.
    fn spawn_facts<T: Message + Default + Send + 'static>(
        &self,
        gate: &Arc<Semaphore>,
        kind: Kind,
        interval: Interval,
    ) -> Reading<Vec<Rec<T>>> {
        let store = self.clone();
        Reading::spawn(gate, async move { store.facts(kind, interval).await })
    }

    /// Every affiliation of the register, as (contact, organisation), in no particular order (what a report makes
    /// of them does not depend on it). Read from `facts_by_member`
    /// alone: the register is read whole by every report, and fetching each affiliation's row from wherever it
    /// sits in the table cost more than anything else a report of a quarter read. Rows written before `member`
    /// existed are decoded from their payload.
    pub async fn affiliations(&self) -> Result<Vec<Affiliated>, Error> {
        use liaison_proto::contacts::v1::Affiliation;
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let collection = Kind::Affiliation.collection();
        let indexed = statement(
            backend,
            "SELECT member, parent FROM facts WHERE collection = ? AND member IS NOT NULL",
            [collection.into()],
        );
        let mut affiliations: Vec<Affiliated> = MemberRow::find_by_statement(indexed)
            .all(conn)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|row| Affiliated {
                contact: row.member.unwrap_or_default(),
                organization: row.parent.unwrap_or_default(),
            })
            .collect();
        let legacy = statement(
            backend,
            "SELECT payload FROM facts WHERE collection = ? AND member IS NULL",
            [collection.into()],
        );
        for row in PayloadRow::find_by_statement(legacy).all(conn).await.map_err(db_error)? {
            // Left out when it cannot be decoded, as `read_facts` does.
            if let Ok(affiliation) = Affiliation::decode(row.payload.as_slice()) {
                affiliations.push(Affiliated { contact: affiliation.contact, organization: affiliation.organization });
            }
        }
        Ok(affiliations)
    }

    async fn status_changes(&self, from: i64, until: i64) -> Result<Vec<StatusChange>, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT resource_name, sequence, change_time, from_status, to_status FROM status_changes \
             WHERE change_time >= ? AND change_time < ? ORDER BY resource_name, sequence",
            [from.into(), until.into()],
        );
        Ok(StatusRow::find_by_statement(stmt)
            .all(conn)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|r| StatusChange {
                project: r.resource_name,
                sequence: r.sequence,
                change_time: r.change_time,
                from: r.from_status,
                to: r.to_status,
            })
            .collect())
    }

    /// Feedback given in `[from, until)`, oldest first.
    pub async fn feedback_between(&self, from: i64, until: i64) -> Result<Vec<FeedbackRecord>, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT id, subject, author, rating, comment, tags, create_time FROM feedback \
             WHERE create_time >= ? AND create_time < ? ORDER BY create_time, id",
            [from.into(), until.into()],
        );
        Ok(FeedbackRow::find_by_statement(stmt)
            .all(conn)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(FeedbackRow::into_record)
            .collect())
    }

    /// Whether the read model knows `resource_name` (and it is not deleted).
    pub async fn knows(&self, resource_name: &str) -> Result<bool, Error> {
        #[derive(FromQueryResult)]
        struct Found {
            #[allow(dead_code)]
            one: i32,
        }
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT 1 AS one FROM facts WHERE resource_name = ?",
            [resource_name.into()],
        );
        Ok(Found::find_by_statement(stmt).one(conn).await.map_err(db_error)?.is_some())
    }

    /// Whether the read model knows the label (on an organisation or a contact).
    pub async fn knows_label(&self, label: &str) -> Result<bool, Error> {
        use liaison_proto::contacts::v1::{Contact, Organization};
        let organizations: Vec<Rec<Organization>> = self.facts(Kind::Organization, Interval::EVER).await?;
        if organizations.iter().any(|o| o.item.labels.iter().any(|l| l == label)) {
            return Ok(true);
        }
        let contacts: Vec<Rec<Contact>> = self.facts(Kind::Contact, Interval::EVER).await?;
        Ok(contacts.iter().any(|c| c.item.labels.iter().any(|l| l == label)))
    }
}

/// One read of a report's records running in a task of its own; dropped unfinished, it is stopped.
struct Reading<T>(JoinHandle<Result<T, Error>>);

impl<T: Send + 'static> Reading<T> {
    /// Runs `read` once a permit of `gate` is free (held until it is done).
    fn spawn(gate: &Arc<Semaphore>, read: impl Future<Output = Result<T, Error>> + Send + 'static) -> Self {
        let gate = gate.clone();
        Self(tokio::spawn(async move {
            // The semaphore is never closed, so acquiring fails only if it were; then read without waiting.
            let _permit = gate.acquire_owned().await.ok();
            read.await
        }))
    }

    async fn result(mut self) -> Result<T, Error> {
        (&mut self.0).await.map_err(|e| Error::Internal(format!("reading the read model: {e}")))?
    }
}

impl<T> Drop for Reading<T> {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.0.abort();
    }
}
