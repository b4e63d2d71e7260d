//! What a report of a period reads: per collection, the resources whose active interval meets the period (an
//! index range on `(collection, active_until)` bounded by `active_from`, so the rows read grow with the period's
//! data and with what is still open, not with all history), decoded into their wire types.
use super::Store;
use crate::domain::Scope;
use crate::domain::facts::{Kind, ONGOING};
use crate::domain::feedback::FeedbackRecord;
use crate::domain::report::{Meta, Rec, Records, StatusChange, Window};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::sql::statement;
use prost::Message;
use sea_orm::FromQueryResult;

const DAY: i64 = 86_400 * 1_000_000;
/// How far before a report's end engagement looks for the last interaction with each organisation.
const ENGAGEMENT_LOOKBACK: i64 = 90 * DAY;
/// How far back a meeting series' attendance and a recurring root cause are looked for.
const RULES_LOOKBACK: i64 = 91 * DAY;

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
        let sql = "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                   WHERE collection = ? AND active_until >= ? AND active_from < ?";
        self.read_facts(sql, kind, interval.from, interval.until).await
    }

    /// The rows of `kind` created (active from) in `[from, until)`, decoded.
    pub async fn facts_created<T: Message + Default>(
        &self,
        kind: Kind,
        from: i64,
        until: i64,
    ) -> Result<Vec<Rec<T>>, Error> {
        let sql = "SELECT resource_name, source, sequence, change_time, done_at, confidential, payload FROM facts \
                   WHERE collection = ? AND active_from >= ? AND active_from < ?";
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
        // Rows come in index order; reports list records by name so that they read the same on both engines.
        records.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
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
        Ok(Records {
            organizations: self.facts(Kind::Organization, Interval::EVER).await?,
            contacts: if all_contacts {
                self.facts(Kind::Contact, Interval::EVER).await?
            } else {
                self.facts_created(Kind::Contact, start, end).await?
            },
            affiliations: self.facts(Kind::Affiliation, Interval::EVER).await?,
            interactions: self.facts(Kind::Interaction, engagement).await?,
            meetings: self.facts(Kind::Meeting, meetings).await?,
            action_items: self.facts(Kind::ActionItem, period).await?,
            commitments: self.facts(Kind::Commitment, period).await?,
            projects: self.facts(Kind::Project, period).await?,
            milestones: self.facts(Kind::Milestone, period).await?,
            cases: self.facts(Kind::Case, cases).await?,
            prevention_actions: self.facts(Kind::PreventionAction, period).await?,
            status_changes: self.status_changes(start, end).await?,
            feedback: self.feedback_between(start, end).await?,
        })
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
