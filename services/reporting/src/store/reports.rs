//! Reports as stored: the report itself (its wire form, written once, never updated) and, per figure and per
//! recommendation, the records it counted in chunks of [`CHUNK`], so that explaining a figure reads one chunk.
//! A scheduled report is written in the same transaction as its run's claim row and its schedule's next run time.
use super::Store;
use crate::domain::evidence::{Evidence, EvidenceList};
use crate::domain::report::Computed;
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::Error;
use liaison_runtime::api::names::{Name, Reports};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::sql::statement;
use liaison_runtime::db::{db_error, idempotency};
use prost::Message;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

pub const GENERATE_METHOD: &str = "liaison.reporting.v1.ReportingService/GenerateReport";
/// Evidence records per stored chunk.
pub const CHUNK: usize = 1_000;
/// Evidence rows per INSERT (five parameters each, well under PostgreSQL's 65,535).
const EVIDENCE_ROWS_PER_STATEMENT: usize = 2_000;
/// The figure key of a recommendation's evidence.
pub fn recommendation_key(id: &str) -> String {
    format!("recommendation:{id}")
}

#[derive(FromQueryResult)]
struct ContentRow {
    content: Vec<u8>,
}

#[derive(FromQueryResult)]
struct EvidenceRow {
    figure: String,
    method: String,
    records: Vec<u8>,
}

#[derive(FromQueryResult)]
struct ListRow {
    id: String,
    content: Vec<u8>,
}

/// How a scheduled report is claimed: the run row that makes it the only one for its slot, and the schedule's
/// next run.
#[derive(Debug, Clone)]
pub struct Claim {
    pub schedule_id: String,
    pub due_time: i64,
    pub late: bool,
    pub next_run: i64,
}

/// The rows of a report's evidence: (figure, chunk, method, records).
fn evidence_rows(computed: &Computed) -> Vec<(String, i32, String, Vec<u8>)> {
    let mut rows = Vec::new();
    let mut push = |figure: String, method: &str, records: &[Evidence]| {
        if records.is_empty() {
            rows.push((figure, 0, method.to_owned(), Vec::new()));
            return;
        }
        for (index, chunk) in records.chunks(CHUNK).enumerate() {
            rows.push((figure.clone(), index as i32, method.to_owned(), encode_list(chunk)));
        }
    };
    for (figure, records) in &computed.evidence {
        push(figure.clone(), computed.methods.get(figure).map(String::as_str).unwrap_or(""), records);
    }
    for suggestion in &computed.suggestions {
        push(
            recommendation_key(&suggestion.recommendation.id),
            &suggestion.recommendation.detail,
            &suggestion.evidence,
        );
    }
    rows
}

/// `EvidenceList { records }` encoded (field 1, repeated), without first copying the records into one: a large
/// report's evidence is hundreds of thousands of records.
fn encode_list(records: &[Evidence]) -> Vec<u8> {
    use prost::encoding::message;
    let mut bytes = Vec::with_capacity(message::encoded_len_repeated(1, records));
    message::encode_repeated(1, records, &mut bytes);
    bytes
}

impl Store {
    /// Stores a report generated on request (once per request id); returns the report stored first for a retry.
    pub async fn save_report(
        &self,
        report: wire::Report,
        computed: &Computed,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<wire::Report, Error> {
        let name = Name::<Reports>::parse("name", &report.name).map_err(|v| Error::Internal(v.description))?;
        let txn = match idempotency::begin_create(&self.db, GENERATE_METHOD, request_id, fingerprint, &name).await? {
            idempotency::Begun::Fresh(txn) => txn,
            idempotency::Begun::Replay(existing) => return self.report(&existing).await,
        };
        write_report(&*txn, &name, &report, computed).await?;
        txn.commit().await?;
        Ok(report)
    }

    /// Stores a scheduled report if its slot is still unclaimed; `None` when another replica ran it first.
    pub async fn save_scheduled_report(
        &self,
        report: wire::Report,
        computed: &Computed,
        claim: &Claim,
    ) -> Result<Option<wire::Report>, Error> {
        let name = Name::<Reports>::parse("name", &report.name).map_err(|v| Error::Internal(v.description))?;
        let txn = self.db.begin_write().await?;
        let backend = txn.get_database_backend();
        let claimed = txn
            .execute_raw(statement(
                backend,
                "INSERT INTO report_runs (schedule_id, due_time, report_id, run_time, late) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (schedule_id, due_time) DO NOTHING",
                [
                    claim.schedule_id.clone().into(),
                    claim.due_time.into(),
                    name.key().into(),
                    crate::domain::facts::micros(report.create_time.as_ref()).unwrap_or(0).into(),
                    claim.late.into(),
                ],
            ))
            .await
            .map_err(db_error)?
            .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        write_report(&*txn, &name, &report, computed).await?;
        // The schedule may have been deleted meanwhile: then this updates nothing and the report stays.
        txn.execute_raw(statement(
            backend,
            "UPDATE report_schedules SET next_run = ?, last_report = ? WHERE id = ? AND next_run <= ?",
            [
                claim.next_run.into(),
                report.name.clone().into(),
                claim.schedule_id.clone().into(),
                claim.due_time.into(),
            ],
        ))
        .await
        .map_err(db_error)?;
        txn.commit().await?;
        Ok(Some(report))
    }

    /// A report as stored (recommendations without their evidence).
    pub async fn report(&self, name: &Name<Reports>) -> Result<wire::Report, Error> {
        let conn = self.db.conn();
        let stmt =
            statement(conn.get_database_backend(), "SELECT content FROM reports WHERE id = ?", [name.key().into()]);
        let row = ContentRow::find_by_statement(stmt)
            .one(conn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        wire::Report::decode(row.content.as_slice())
            .map_err(|e| Error::Internal(format!("stored report {name} does not decode: {e}")))
    }

    /// The evidence of every recommendation of a report, by recommendation id.
    pub async fn recommendation_evidence(&self, name: &Name<Reports>) -> Result<Vec<(String, Vec<Evidence>)>, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT figure, method, records FROM report_evidence WHERE report_id = ? AND figure >= ? AND figure < ? \
             ORDER BY figure, chunk",
            [name.key().into(), "recommendation:".into(), "recommendation;".into()],
        );
        let rows = EvidenceRow::find_by_statement(stmt).all(conn).await.map_err(db_error)?;
        let mut out: Vec<(String, Vec<Evidence>)> = Vec::new();
        for row in rows {
            let id = row.figure.trim_start_matches("recommendation:").to_owned();
            let records = decode_list(&row.records)?;
            match out.last_mut() {
                Some((last, list)) if *last == id => list.extend(records),
                _ => out.push((id, records)),
            }
        }
        Ok(out)
    }

    /// One chunk of a figure's evidence and its method; `None` if the report has no such figure.
    pub async fn evidence_chunk(
        &self,
        name: &Name<Reports>,
        figure: &str,
        chunk: i32,
    ) -> Result<Option<(String, Vec<Evidence>)>, Error> {
        let conn = self.db.conn();
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT figure, method, records FROM report_evidence WHERE report_id = ? AND figure = ? AND chunk = ?",
            [name.key().into(), figure.into(), chunk.into()],
        );
        match EvidenceRow::find_by_statement(stmt).one(conn).await.map_err(db_error)? {
            Some(row) => Ok(Some((row.method, decode_list(&row.records)?))),
            None => Ok(None),
        }
    }

    /// Reports newest first, optionally of one schedule, after the key `before`.
    pub async fn list_reports(
        &self,
        schedule: Option<&str>,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<(String, wire::Report)>, Error> {
        let conn = self.db.conn();
        let mut sql = "SELECT id, content FROM reports WHERE 1 = 1".to_owned();
        let mut values: Vec<Value> = Vec::new();
        if let Some(schedule) = schedule {
            sql.push_str(" AND schedule = ?");
            values.push(schedule.to_owned().into());
        }
        if let Some(before) = before {
            sql.push_str(" AND id < ?");
            values.push(before.to_owned().into());
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        values.push((limit as i64).into());
        let rows = ListRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|row| {
                let report = wire::Report::decode(row.content.as_slice())
                    .map_err(|e| Error::Internal(format!("stored report {} does not decode: {e}", row.id)))?;
                Ok((row.id, report))
            })
            .collect()
    }
}

fn decode_list(bytes: &[u8]) -> Result<Vec<Evidence>, Error> {
    EvidenceList::decode(bytes)
        .map(|l| l.records)
        .map_err(|e| Error::Internal(format!("stored evidence does not decode: {e}")))
}

async fn write_report(
    txn: &impl ConnectionTrait,
    name: &Name<Reports>,
    report: &wire::Report,
    computed: &Computed,
) -> Result<(), Error> {
    let backend = txn.get_database_backend();
    txn.execute_raw(statement(
        backend,
        "INSERT INTO reports (id, schedule, create_time, content) VALUES (?, ?, ?, ?)",
        [
            name.key().into(),
            report.schedule.clone().into(),
            crate::domain::facts::micros(report.create_time.as_ref()).unwrap_or(0).into(),
            report.encode_to_vec().into(),
        ],
    ))
    .await
    .map_err(db_error)?;
    let rows = evidence_rows(computed);
    let key = name.key();
    // Few large statements rather than many: a statement longer than a TCP segment waits for the server's delayed
    // ACK once (about 40 ms on PostgreSQL, see `sql::bound_len`) whatever its size, and evidence rows are mostly
    // larger than that anyway.
    // The rows are moved into the statements, not copied.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(EVIDENCE_ROWS_PER_STATEMENT).collect();
        let placeholders = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql =
            format!("INSERT INTO report_evidence (report_id, figure, chunk, method, records) VALUES {placeholders}");
        let values = chunk.into_iter().flat_map(|(figure, index, method, records)| {
            [key.clone().into(), figure.into(), index.into(), method.into(), records.into()]
        });
        txn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_encoded_as_the_message_would_be() {
        let record = |n: i64| Evidence {
            resource: format!("interactions/{n}"),
            source: "contacts".into(),
            sequence: n,
            change_time: n * 1_000,
            note: "EMAIL on 2026-08-01".into(),
            confidential: n % 2 == 0,
            team: vec!["contacts/m".into()],
        };
        let records: Vec<Evidence> = (0..5).map(record).collect();
        assert_eq!(encode_list(&records), EvidenceList { records: records.clone() }.encode_to_vec());
        assert_eq!(encode_list(&[]), EvidenceList::default().encode_to_vec());
    }
}
