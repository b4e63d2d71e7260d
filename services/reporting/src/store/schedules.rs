//! Report schedules as stored: the schedule's wire form, its next run time (an index: the runner reads only the
//! schedules due) and the last report it generated; and `report_runs`, one row per (schedule, due time), whose
//! insertion — `ON CONFLICT DO NOTHING`, in the transaction that stores the report — decides which replica runs
//! a slot, on both engines.
use super::Store;
use crate::domain::facts::micros;
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::Error;
use liaison_runtime::api::names::{Name, ReportSchedules};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::sql::statement;
use liaison_runtime::db::{db_error, idempotency};
use prost::Message;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

pub const CREATE_METHOD: &str = "liaison.reporting.v1.ReportingService/CreateReportSchedule";

#[derive(FromQueryResult)]
struct ScheduleRow {
    id: String,
    content: Vec<u8>,
    next_run: i64,
    last_report: String,
}

impl ScheduleRow {
    fn into_wire(self) -> Result<wire::ReportSchedule, Error> {
        let mut schedule = wire::ReportSchedule::decode(self.content.as_slice())
            .map_err(|e| Error::Internal(format!("stored schedule {} does not decode: {e}", self.id)))?;
        schedule.next_run_time = Some(to_timestamp(self.next_run));
        schedule.last_report = self.last_report;
        Ok(schedule)
    }
}

pub fn to_timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

const COLUMNS: &str = "id, content, next_run, last_report";

impl Store {
    /// Stores a new schedule (once per request id).
    pub async fn create_schedule(
        &self,
        name: Name<ReportSchedules>,
        schedule: wire::ReportSchedule,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<wire::ReportSchedule, Error> {
        let txn = match idempotency::begin_create(&self.db, CREATE_METHOD, request_id, fingerprint, &name).await? {
            idempotency::Begun::Fresh(txn) => txn,
            idempotency::Begun::Replay(existing) => return self.schedule(&existing).await,
        };
        let next_run = micros(schedule.next_run_time.as_ref()).unwrap_or(0);
        let mut content = schedule.clone();
        content.next_run_time = None;
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "INSERT INTO report_schedules (id, content, next_run, last_report, create_time) VALUES (?, ?, ?, '', ?)",
            [
                name.key().into(),
                content.encode_to_vec().into(),
                next_run.into(),
                micros(schedule.create_time.as_ref()).unwrap_or(0).into(),
            ],
        ))
        .await
        .map_err(db_error)?;
        txn.commit().await?;
        Ok(schedule)
    }

    pub async fn schedule(&self, name: &Name<ReportSchedules>) -> Result<wire::ReportSchedule, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            &format!("SELECT {COLUMNS} FROM report_schedules WHERE id = ?"),
            [name.key().into()],
        );
        ScheduleRow::find_by_statement(stmt)
            .one(conn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?
            .into_wire()
    }

    /// Schedules oldest first (ids are time-ordered), after the key `after`.
    pub async fn list_schedules(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<(String, wire::ReportSchedule)>, Error> {
        let conn = self.db.conn();
        let mut sql = format!("SELECT {COLUMNS} FROM report_schedules");
        let mut values: Vec<Value> = Vec::new();
        if let Some(after) = after {
            sql.push_str(" WHERE id > ?");
            values.push(after.to_owned().into());
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        values.push((limit as i64).into());
        let rows = ScheduleRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await
            .map_err(db_error)?;
        rows.into_iter().map(|row| Ok((row.id.clone(), row.into_wire()?))).collect()
    }

    /// Deletes a schedule; NOT_FOUND if there is none.
    pub async fn delete_schedule(&self, name: &Name<ReportSchedules>) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let deleted = txn
            .execute_raw(statement(
                txn.get_database_backend(),
                "DELETE FROM report_schedules WHERE id = ?",
                [name.key().into()],
            ))
            .await
            .map_err(db_error)?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound { resource: name.to_string() });
        }
        txn.commit().await
    }

    /// The schedules whose next run is at or before `now`, with their ids.
    pub async fn due_schedules(&self, now: i64) -> Result<Vec<(String, wire::ReportSchedule)>, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            &format!("SELECT {COLUMNS} FROM report_schedules WHERE next_run <= ? ORDER BY next_run, id"),
            [now.into()],
        );
        let rows = ScheduleRow::find_by_statement(stmt).all(conn).await.map_err(db_error)?;
        rows.into_iter().map(|row| Ok((row.id.clone(), row.into_wire()?))).collect()
    }

    /// Whether a slot has been run (by any replica): a cheap check before computing its report.
    pub async fn slot_taken(&self, schedule_id: &str, due_time: i64) -> Result<bool, Error> {
        #[derive(FromQueryResult)]
        struct Taken {
            #[allow(dead_code)]
            one: i32,
        }
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT 1 AS one FROM report_runs WHERE schedule_id = ? AND due_time = ?",
            [schedule_id.into(), due_time.into()],
        );
        Ok(Taken::find_by_statement(stmt).one(conn).await.map_err(db_error)?.is_some())
    }

    /// Moves a schedule's next run on when its slot was already run elsewhere (so it is not looked at again).
    pub async fn advance_schedule(&self, schedule_id: &str, due_time: i64, next_run: i64) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "UPDATE report_schedules SET next_run = ? WHERE id = ? AND next_run <= ?",
            [next_run.into(), schedule_id.into(), due_time.into()],
        ))
        .await
        .map_err(db_error)?;
        txn.commit().await
    }
}
