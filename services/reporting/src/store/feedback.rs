//! Feedback as stored: one row per entry, with the subject's collection beside the subject so that a summary of a
//! subject type is an index range.
use super::Store;
use super::records::FeedbackRow;
use crate::domain::feedback::{FeedbackRecord, NewFeedback, subject_type};
use liaison_runtime::Error;
use liaison_runtime::api::names::{FeedbackEntries, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::sql::statement;
use liaison_runtime::db::{db_error, idempotency};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

pub const SUBMIT_METHOD: &str = "liaison.reporting.v1.ReportingService/SubmitFeedback";

/// Which feedback a list or a summary reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subjects {
    One(String),
    OfType(String),
    All,
}

impl Store {
    /// Stores feedback (once per request id).
    pub async fn submit_feedback(
        &self,
        new: NewFeedback,
        request_id: Option<&RequestId>,
        fingerprint: &str,
        now: i64,
    ) -> Result<FeedbackRecord, Error> {
        let name = Name::<FeedbackEntries>::generate();
        let txn = match idempotency::begin_create(&self.db, SUBMIT_METHOD, request_id, fingerprint, &name).await? {
            idempotency::Begun::Fresh(txn) => txn,
            idempotency::Begun::Replay(existing) => return self.feedback(&existing).await,
        };
        let stmt = statement(
            txn.get_database_backend(),
            "INSERT INTO feedback (id, subject, subject_type, author, rating, comment, tags, create_time) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                name.key().into(),
                new.subject.clone().into(),
                subject_type(&new.subject).into(),
                new.author.to_string().into(),
                new.rating.into(),
                new.comment.clone().into(),
                new.tags.join("\u{1f}").into(),
                now.into(),
            ],
        );
        txn.execute_raw(stmt).await.map_err(db_error)?;
        txn.commit().await?;
        Ok(FeedbackRecord {
            name: name.to_string(),
            subject: new.subject,
            author: new.author.to_string(),
            rating: new.rating,
            comment: new.comment,
            tags: new.tags,
            create_time: now,
        })
    }

    async fn feedback(&self, name: &Name<FeedbackEntries>) -> Result<FeedbackRecord, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT id, subject, author, rating, comment, tags, create_time FROM feedback WHERE id = ?",
            [name.key().into()],
        );
        FeedbackRow::find_by_statement(stmt)
            .one(conn)
            .await
            .map_err(db_error)?
            .map(FeedbackRow::into_record)
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    /// Feedback newest first (by id, which is time-ordered), `limit` rows after the key `before` if given.
    pub async fn list_feedback(
        &self,
        subjects: &Subjects,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<FeedbackRecord>, Error> {
        let conn = self.db.conn();
        let mut sql =
            "SELECT id, subject, author, rating, comment, tags, create_time FROM feedback WHERE 1 = 1".to_owned();
        let mut values: Vec<Value> = Vec::new();
        match subjects {
            Subjects::One(subject) => {
                sql.push_str(" AND subject = ?");
                values.push(subject.clone().into());
            }
            Subjects::OfType(kind) => {
                sql.push_str(" AND subject_type = ?");
                values.push(kind.clone().into());
            }
            Subjects::All => {}
        }
        if let Some(before) = before {
            sql.push_str(" AND id < ?");
            values.push(before.to_owned().into());
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        values.push((limit as i64).into());
        let rows = FeedbackRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(FeedbackRow::into_record).collect())
    }

    /// Every feedback entry on `subjects` given in `[from, until)`.
    pub async fn feedback_on(&self, subjects: &Subjects, from: i64, until: i64) -> Result<Vec<FeedbackRecord>, Error> {
        let conn = self.db.conn();
        let (filter, value): (&str, Option<Value>) = match subjects {
            Subjects::One(subject) => (" AND subject = ?", Some(subject.clone().into())),
            Subjects::OfType(kind) => (" AND subject_type = ?", Some(kind.clone().into())),
            Subjects::All => ("", None),
        };
        let sql = format!(
            "SELECT id, subject, author, rating, comment, tags, create_time FROM feedback \
             WHERE create_time >= ? AND create_time < ?{filter} ORDER BY create_time, id"
        );
        let values: Vec<Value> = [from.into(), until.into()].into_iter().chain(value).collect();
        let rows = FeedbackRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(FeedbackRow::into_record).collect())
    }
}
