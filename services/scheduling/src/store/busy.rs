//! When participants are taken: `busy_intervals`, one row per participant of a meeting, read by participant and
//! start (an index range scan per person) for conflict checks.
use crate::domain::{Conflict, LONGEST_MEETING};
use chrono::{DateTime, Utc};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::db::sql::statement;
use sea_orm::{ConnectionTrait, FromQueryResult};

#[derive(Debug, FromQueryResult)]
struct BusyRow {
    contact: String,
    meeting_id: String,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
}

/// The rows that say `participants` are in meeting `meeting_id` from `start` to `end`.
pub(super) fn insert(meeting_id: &str, participants: &[String], start: DateTime<Utc>, end: DateTime<Utc>) -> Insert {
    let rows = vec!["(?, ?, ?, ?)"; participants.len()].join(", ");
    let values = participants
        .iter()
        .flat_map(|contact| [contact.as_str().into(), meeting_id.into(), start.into(), end.into()])
        .collect();
    Insert::new(format!("INSERT INTO busy_intervals (contact, meeting_id, start_time, end_time) VALUES {rows}"), values)
}

/// The meetings of `participants` that overlap `[start, end)` (touching ends do not overlap), by participant and
/// start. A meeting lasts at most [`LONGEST_MEETING`], so only meetings starting that long before `start` can
/// reach into it: the scan of each participant's index is bounded on both sides.
pub(super) async fn overlapping(
    conn: &impl ConnectionTrait,
    participants: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Conflict>, Error> {
    if participants.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; participants.len()].join(", ");
    let sql = format!(
        "SELECT contact, meeting_id, start_time, end_time FROM busy_intervals \
         WHERE contact IN ({placeholders}) AND start_time < ? AND start_time > ? AND end_time > ? \
         ORDER BY contact, start_time"
    );
    let earliest = start - LONGEST_MEETING;
    let values = participants
        .iter()
        .map(|p| p.as_str().into())
        .chain([end.into(), earliest.into(), start.into()])
        .collect::<Vec<sea_orm::Value>>();
    let rows = BusyRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
        .all(conn)
        .await
        .map_err(db_error)?;
    // Reported in the order the participants were asked for.
    let mut conflicts: Vec<Conflict> = rows
        .into_iter()
        .map(|row| Conflict {
            participant: row.contact,
            meeting: format!("meetings/{}", row.meeting_id),
            start: row.start_time,
            end: row.end_time,
        })
        .collect();
    conflicts.sort_by_key(|c| (participants.iter().position(|p| *p == c.participant), c.start));
    Ok(conflicts)
}
