//! The policy row: one JSON document, replaced whole, defaulting to [`Policy::default`] until first written.
use super::Store;
use crate::domain::policy::Policy;
use crate::domain::sla::WorkingCalendar;
use chrono::{DateTime, Utc};
use liaison_runtime::db::{db_error, sql::statement};
use liaison_runtime::{Error, api::time};
use sea_orm::{ConnectionTrait, FromQueryResult};

const CURRENT: &str = "current";

/// The policy in force, its revision (0 for the default) and when it was last written.
#[derive(Debug, Clone)]
pub struct PolicyInForce {
    pub policy: Policy,
    pub calendar: WorkingCalendar,
    pub revision: i64,
    pub update_time: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct Row {
    document: String,
    revision: i64,
    update_time: DateTime<Utc>,
}

/// Reads the policy inside the caller's transaction (or on the pool).
pub(super) async fn read(conn: &impl ConnectionTrait) -> Result<PolicyInForce, Error> {
    let sql = "SELECT document, revision, update_time FROM mediation_policy WHERE id = ?";
    let row = Row::find_by_statement(statement(conn.get_database_backend(), sql, [CURRENT.into()]))
        .one(conn)
        .await
        .map_err(db_error)?;
    let (policy, revision, update_time) = match row {
        None => (Policy::default(), 0, None),
        Some(row) => {
            let policy = serde_json::from_str(&row.document)
                .map_err(|e| Error::Internal(format!("the stored mediation policy is unreadable: {e}")))?;
            (policy, row.revision, Some(row.update_time))
        }
    };
    let calendar =
        policy.calendar().map_err(|e| Error::Internal(format!("the stored mediation policy is unusable: {e}")))?;
    Ok(PolicyInForce { policy, calendar, revision, update_time })
}

/// How long a replica keeps the policy it read: a change made on another replica applies here within this time.
const POLICY_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl Store {
    /// The policy in force, as read at most [`POLICY_FRESH_FOR`] ago: every request needs it (clocks, answers)
    /// and it changes a few times a year, so it is read once a second rather than once per request.
    pub async fn policy(&self) -> Result<PolicyInForce, Error> {
        if let Ok(cached) = self.policy.lock()
            && let Some((read_at, policy)) = cached.as_ref()
            && read_at.elapsed() < POLICY_FRESH_FOR
        {
            return Ok(policy.clone());
        }
        let policy = read(self.db.conn()).await?;
        self.remember(&policy);
        Ok(policy)
    }

    fn remember(&self, policy: &PolicyInForce) {
        if let Ok(mut cached) = self.policy.lock() {
            *cached = Some((std::time::Instant::now(), policy.clone()));
        }
    }

    /// Replaces the policy if it is still at `expected_revision` (when given): ABORTED otherwise.
    pub async fn set_policy(&self, policy: Policy, expected_revision: Option<i64>) -> Result<PolicyInForce, Error> {
        let document =
            serde_json::to_string(&policy).map_err(|e| Error::Internal(format!("policy not serialisable: {e}")))?;
        let txn = self.db.begin_write().await?;
        let current = read(&*txn).await?;
        if expected_revision.is_some_and(|expected| expected != current.revision) {
            return Err(Error::Aborted { resource: "mediationPolicy".into() });
        }
        let now = time::now();
        let backend = txn.get_database_backend();
        // The conditional write holds even if another replica wrote between the read and here.
        let written = if current.revision == 0 {
            let sql = "INSERT INTO mediation_policy (id, document, revision, update_time) VALUES (?, ?, 1, ?) \
                       ON CONFLICT (id) DO NOTHING";
            txn.execute_raw(statement(backend, sql, [CURRENT.into(), document.into(), now.into()]))
                .await
                .map_err(db_error)?
        } else {
            let sql = "UPDATE mediation_policy SET document = ?, revision = revision + 1, update_time = ? \
                       WHERE id = ? AND revision = ?";
            txn.execute_raw(statement(
                backend,
                sql,
                [document.into(), now.into(), CURRENT.into(), current.revision.into()],
            ))
            .await
            .map_err(db_error)?
        };
        if written.rows_affected() != 1 {
            return Err(Error::Aborted { resource: "mediationPolicy".into() });
        }
        txn.commit().await?;
        let calendar = policy.calendar().map_err(|e| Error::Internal(e.to_string()))?;
        let stored = PolicyInForce { policy, calendar, revision: current.revision + 1, update_time: Some(now) };
        self.remember(&stored);
        Ok(stored)
    }
}
