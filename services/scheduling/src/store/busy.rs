//! When participants are taken: `busy_intervals`, one row per participant of a meeting, read by participant and
//! start (an index range scan per person) for conflict checks and free/busy.
use crate::domain::availability::Busy;
use crate::domain::{Conflict, LONGEST_BUSY};
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
    tentative: bool,
}

/// Removes the busy rows of a meeting (before they are written anew, or when nobody is busy for it any more).
pub(super) async fn delete(conn: &impl ConnectionTrait, meeting_id: &str) -> Result<(), Error> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "DELETE FROM busy_intervals WHERE meeting_id = ?",
        vec![meeting_id.into()],
    ))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The rows that say `participants` (a meeting's required attendees) are busy for meeting `meeting_id` from
/// `start` to `end` (its buffers included), as a tentative hold or not; `None` when nobody is.
pub(super) fn insert(
    meeting_id: &str,
    participants: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tentative: bool,
) -> Option<Insert> {
    if participants.is_empty() {
        return None;
    }
    let rows = vec!["(?, ?, ?, ?, ?)"; participants.len()].join(", ");
    let values = participants
        .iter()
        .flat_map(|contact| [contact.as_str().into(), meeting_id.into(), start.into(), end.into(), tentative.into()])
        .collect();
    Some(Insert::new(
        format!("INSERT INTO busy_intervals (contact, meeting_id, start_time, end_time, tentative) VALUES {rows}"),
        values,
    ))
}

/// The meetings of `participants` — other than `except_meeting`, the one being changed — that overlap `[start, end)`
/// (touching ends do not overlap), by participant and start. A busy interval (a meeting with its buffers) lasts at most [`LONGEST_BUSY`], so only intervals starting
/// that long before `start` can reach into it: the scan of each participant's index is bounded on both sides.
pub(super) async fn overlapping(
    conn: &impl ConnectionTrait,
    participants: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except_meeting: Option<&str>,
) -> Result<Vec<Conflict>, Error> {
    if participants.is_empty() {
        return Ok(Vec::new());
    }
    let rows = rows_overlapping(conn, participants, start, end, except_meeting).await?;
    // Reported in the order the participants were asked for.
    let mut conflicts: Vec<Conflict> = rows
        .into_iter()
        .map(|row| Conflict {
            participant: row.contact,
            meeting: format!("meetings/{}", row.meeting_id),
            start: row.start_time,
            end: row.end_time,
            tentative: row.tentative,
        })
        .collect();
    conflicts.sort_by_key(|c| (participants.iter().position(|p| *p == c.participant), c.start));
    Ok(conflicts)
}

/// Each participant's busy times that overlap `[start, end)`, in the order asked (an empty list for someone with
/// none). As for [`overlapping`], each participant's index is scanned from `start - LONGEST_BUSY` to `end`, so
/// the cost follows the meetings in the window, not all meetings. Times cross from jiff (the search) to chrono
/// (the database) here and nowhere else.
pub(super) async fn between(
    conn: &impl ConnectionTrait,
    participants: &[String],
    start: jiff::Timestamp,
    end: jiff::Timestamp,
) -> Result<Vec<Vec<Busy>>, Error> {
    let mut busy = vec![Vec::new(); participants.len()];
    if participants.is_empty() || end <= start {
        return Ok(busy);
    }
    let (start, end) = (to_chrono(start)?, to_chrono(end)?);
    let rows = rows_overlapping(conn, participants, start, end, None).await?;
    let index: std::collections::HashMap<&str, usize> =
        participants.iter().enumerate().map(|(position, p)| (p.as_str(), position)).collect();
    for row in rows {
        if let Some(&position) = index.get(row.contact.as_str()) {
            busy[position].push(Busy {
                start: to_jiff(row.start_time)?,
                end: to_jiff(row.end_time)?,
                tentative: row.tentative,
            });
        }
    }
    Ok(busy)
}

fn to_chrono(at: jiff::Timestamp) -> Result<DateTime<Utc>, Error> {
    // jiff splits an instant before 1970 into negative seconds and negative nanoseconds; chrono wants the nanoseconds
    // non-negative.
    let (seconds, nanos) = match at.subsec_nanosecond() {
        nanos if nanos < 0 => (at.as_second() - 1, nanos + 1_000_000_000),
        nanos => (at.as_second(), nanos),
    };
    DateTime::from_timestamp(seconds, nanos.unsigned_abs())
        .ok_or_else(|| Error::Internal(format!("{at} is out of the database's range")))
}

pub(crate) fn to_jiff(at: DateTime<Utc>) -> Result<jiff::Timestamp, Error> {
    jiff::Timestamp::from_second(at.timestamp())
        .and_then(|seconds| {
            seconds.checked_add(jiff::SignedDuration::from_nanos(i64::from(at.timestamp_subsec_nanos())))
        })
        .map_err(|e| Error::Internal(format!("stored time {at} is out of range: {e}")))
}

/// The busy rows of `participants` that overlap `[start, end)`, by participant and start: one range of the
/// (contact, start) index per participant, from `start - LONGEST_BUSY` (nothing longer can reach into the window)
/// to `end`.
async fn rows_overlapping(
    conn: &impl ConnectionTrait,
    participants: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except_meeting: Option<&str>,
) -> Result<Vec<BusyRow>, Error> {
    let placeholders = vec!["?"; participants.len()].join(", ");
    let except = if except_meeting.is_some() { " AND meeting_id <> ?" } else { "" };
    let sql = format!(
        "SELECT contact, meeting_id, start_time, end_time, tentative FROM busy_intervals \
         WHERE contact IN ({placeholders}) AND start_time < ? AND start_time > ? AND end_time > ?{except} \
         ORDER BY contact, start_time"
    );
    let earliest = start - LONGEST_BUSY;
    let values = participants
        .iter()
        .map(|p| p.as_str().into())
        .chain([end.into(), earliest.into(), start.into()])
        .chain(except_meeting.map(Into::into))
        .collect::<Vec<sea_orm::Value>>();
    let rows = BusyRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(rows)
}
