//! When participants are taken: `busy_times`, one row per participant of a meeting, read by participant and
//! start (an index range scan per person) for conflict checks and free/busy.
use crate::domain::availability::Busy;
use crate::domain::{Conflict, LONGEST_BUSY};
use chrono::{DateTime, Utc};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::idempotency::Lock;
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::db::sql::statement;
use sea_orm::{ConnectionTrait, FromQueryResult};

/// One busy interval as stored.
#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct BusyRow {
    pub(super) contact: String,
    pub(super) meeting_id: String,
    pub(super) start_time: DateTime<Utc>,
    pub(super) end_time: DateTime<Utc>,
    pub(super) tentative: bool,
}

impl BusyTime {
    /// Its rows, as [`rows_overlapping`] would read them once written.
    pub(super) fn rows(&self, meeting_id: &str) -> Vec<BusyRow> {
        self.required
            .iter()
            .flat_map(|contact| {
                self.intervals.iter().map(move |(start, end)| BusyRow {
                    contact: contact.clone(),
                    meeting_id: meeting_id.to_owned(),
                    start_time: *start,
                    end_time: *end,
                    tentative: self.tentative,
                })
            })
            .collect()
    }
}

/// Removes the busy rows of a meeting (before they are written anew, or when nobody is busy for it any more).
pub(super) async fn delete(conn: &impl ConnectionTrait, meeting_id: &str) -> Result<(), Error> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "DELETE FROM busy_times WHERE meeting_id = ?",
        vec![meeting_id.into()],
    ))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Who is busy when for a meeting: its required attendees, over each of its (booked) occurrences with buffers,
/// as a hold or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyTime {
    pub required: Vec<String>,
    pub intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub tentative: bool,
}

/// UTC days a booking locks per person at most; a booking over more (a series) locks the person's whole calendar.
const DAY_LOCKS_PER_PERSON: i64 = 4;
const SECONDS_PER_DAY: i64 = 86_400;

/// The booking locks under which a conflict check of `people` over `intervals` is race-safe: any two bookings that
/// could overlap for one person share a lock that at least one of them holds exclusively. A booking of a few days
/// holds, per person, each UTC day its intervals touch (exclusive) under the person's own lock (shared); a longer
/// one — a series — holds the person's lock exclusively. So bookings of one person on different days go ahead side
/// by side, and no overlap passes unseen. Without intervals (nothing to be busy for), the person's lock.
pub(super) fn booking_locks(people: &[String], intervals: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<Lock> {
    let mut days: Vec<i64> = Vec::new();
    for (start, end) in intervals {
        let first = start.timestamp().div_euclid(SECONDS_PER_DAY);
        // The interval is half-open: it reaches the day of its last instant, not of its end.
        let last = (*end - chrono::TimeDelta::nanoseconds(1)).timestamp().div_euclid(SECONDS_PER_DAY).max(first);
        if last - first >= DAY_LOCKS_PER_PERSON {
            days.clear();
            break;
        }
        days.extend(first..=last);
        days.sort_unstable();
        days.dedup();
        if days.len() as i64 > DAY_LOCKS_PER_PERSON {
            days.clear();
            break;
        }
    }
    let mut locks = Vec::with_capacity(people.len() * (days.len() + 1));
    for person in people {
        let key = format!("booking:{person}");
        if days.is_empty() {
            locks.push(Lock::exclusive(key));
        } else {
            locks.extend(days.iter().map(|day| Lock::exclusive(format!("{key}:{day}"))));
            locks.push(Lock::shared(key));
        }
    }
    locks
}

/// Rows per insert statement: five parameters each, well below PostgreSQL's 65535 per statement.
const ROWS_PER_INSERT: usize = 2000;

/// The rows that say the required attendees of meeting `meeting_id` are busy, in statements of at most
/// [`ROWS_PER_INSERT`] rows; none when nobody is.
pub(super) fn insert(meeting_id: &str, busy: &BusyTime) -> Vec<Insert> {
    let rows: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = busy
        .required
        .iter()
        .flat_map(|contact| busy.intervals.iter().map(move |(start, end)| (contact.as_str(), *start, *end)))
        .collect();
    rows.chunks(ROWS_PER_INSERT)
        .map(|chunk| {
            let placeholders = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let values = chunk
                .iter()
                .flat_map(|(contact, start, end)| {
                    [(*contact).into(), meeting_id.into(), (*start).into(), (*end).into(), busy.tentative.into()]
                })
                .collect();
            Insert::new(
                format!(
                    "INSERT INTO busy_times (contact, meeting_id, start_time, end_time, tentative) VALUES \
                     {placeholders}"
                ),
                values,
            )
        })
        .collect()
}

/// The meetings of `participants` — other than `except_meeting`, the one being changed — that overlap any of
/// `intervals` (touching ends do not overlap), by participant and start, each once. One read covers the span of
/// all intervals (each participant's index from [`LONGEST_BUSY`] before the first to the end of the last); the
/// overlaps are then found in memory against the sorted intervals.
pub(super) async fn overlapping(
    conn: &impl ConnectionTrait,
    participants: &[String],
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    except_meeting: Option<&str>,
) -> Result<Vec<Conflict>, Error> {
    let (Some(first), Some(last)) = span(intervals) else { return Ok(Vec::new()) };
    if participants.is_empty() {
        return Ok(Vec::new());
    }
    let rows = rows_overlapping(conn, participants, first, last, except_meeting).await?;
    Ok(conflicts_among(participants, intervals, &rows))
}

/// The earliest start and latest end of `intervals`.
pub(super) fn span(intervals: &[(DateTime<Utc>, DateTime<Utc>)]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    (intervals.iter().map(|(s, _)| *s).min(), intervals.iter().map(|(_, e)| *e).max())
}

/// Which of `rows` (busy times already taken) overlap any of `intervals` for one of `participants`: the conflicts,
/// by participant (in the order given) and start, each row once.
pub(super) fn conflicts_among(
    participants: &[String],
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    rows: &[BusyRow],
) -> Vec<Conflict> {
    let mut sorted = intervals.to_vec();
    sorted.sort_unstable();
    // The longest interval bounds how far back an overlapping one can start.
    let longest = sorted.iter().map(|(s, e)| *e - *s).max().unwrap_or_default();
    let mut conflicts: Vec<Conflict> = Vec::new();
    for row in rows.iter().filter(|row| participants.contains(&row.contact)) {
        // Intervals starting before the row ends; of those, only the last `longest` can still reach into it.
        let upto = sorted.partition_point(|(s, _)| *s < row.end_time);
        let from = sorted[..upto].partition_point(|(s, _)| *s <= row.start_time - longest);
        let overlaps = sorted[from..upto].iter().any(|(s, e)| *s < row.end_time && *e > row.start_time);
        if overlaps {
            conflicts.push(Conflict {
                participant: row.contact.clone(),
                meeting: format!("meetings/{}", row.meeting_id),
                start: row.start_time,
                end: row.end_time,
                tentative: row.tentative,
            });
        }
    }
    conflicts.sort_by_key(|c| (participants.iter().position(|p| *p == c.participant), c.start));
    conflicts.dedup();
    conflicts
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
    crate::domain::series::to_chrono(at).map_err(|e| Error::Internal(e.to_string()))
}

pub(crate) fn to_jiff(at: DateTime<Utc>) -> Result<jiff::Timestamp, Error> {
    crate::domain::series::to_jiff(at).map_err(|e| Error::Internal(e.to_string()))
}

/// The busy rows of `participants` that overlap `[start, end)`, by participant and start: one range of the
/// (contact, start) index per participant, from `start - LONGEST_BUSY` (nothing longer can reach into the window)
/// to `end`.
pub(super) async fn rows_overlapping(
    conn: &impl ConnectionTrait,
    participants: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except_meeting: Option<&str>,
) -> Result<Vec<BusyRow>, Error> {
    let placeholders = vec!["?"; participants.len()].join(", ");
    let except = if except_meeting.is_some() { " AND meeting_id <> ?" } else { "" };
    let sql = format!(
        "SELECT contact, meeting_id, start_time, end_time, tentative FROM busy_times \
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn interval(start_hour: i64, hours: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |hour: i64| DateTime::from_timestamp(1_800_000_000 - 1_800_000_000 % SECONDS_PER_DAY + hour * HOUR, 0);
        (at(start_hour).expect("a time"), at(start_hour + hours).expect("a time"))
    }

    /// Whether two lock sets exclude each other: a key both hold, exclusively in at least one of them.
    fn exclude(a: &[Lock], b: &[Lock]) -> bool {
        a.iter().any(|x| b.iter().any(|y| x.key == y.key && !(x.shared && y.shared)))
    }

    fn overlap(a: &[(DateTime<Utc>, DateTime<Utc>)], b: &[(DateTime<Utc>, DateTime<Utc>)]) -> bool {
        a.iter().any(|(s1, e1)| b.iter().any(|(s2, e2)| s1 < e2 && s2 < e1))
    }

    #[test]
    fn any_two_bookings_that_overlap_for_one_person_exclude_each_other() {
        let ada = vec!["contacts/ada".to_owned()];
        // Every pair of bookings of one to three intervals over a week of hours, including multi-day ones and
        // weekly series long enough to lock the whole calendar.
        let mut shapes: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>> = Vec::new();
        for start in (0..7 * 24).step_by(5) {
            for hours in [1, 3, 20, 30, 100] {
                shapes.push(vec![interval(start, hours)]);
            }
            shapes.push(vec![interval(start, 1), interval(start + 48, 1)]);
            shapes.push((0..6).map(|week| interval(start + week * 7 * 24, 1)).collect());
        }
        let day = |at: DateTime<Utc>| at.timestamp().div_euclid(SECONDS_PER_DAY);
        let short_on_one_day = |shape: &[(DateTime<Utc>, DateTime<Utc>)]| {
            (shape.len() == 1 && day(shape[0].0) == day(shape[0].1 - chrono::TimeDelta::seconds(1)))
                .then(|| day(shape[0].0))
        };
        for a in &shapes {
            for b in &shapes {
                let (la, lb) = (booking_locks(&ada, a), booking_locks(&ada, b));
                if overlap(a, b) {
                    assert!(exclude(&la, &lb), "{a:?} and {b:?} overlap but could both pass the check");
                }
                if let (Some(da), Some(db)) = (short_on_one_day(a), short_on_one_day(b)) {
                    assert_eq!(
                        exclude(&la, &lb),
                        da == db,
                        "{a:?} and {b:?}: one-day bookings wait only for their day"
                    );
                }
            }
        }
    }

    #[test]
    fn bookings_on_different_days_share_no_exclusive_lock_and_a_series_takes_the_persons_lock() {
        let people = vec!["contacts/ada".to_owned(), "contacts/bo".to_owned()];
        let monday = booking_locks(&people, &[interval(10, 1)]);
        let tuesday = booking_locks(&people, &[interval(34, 1)]);
        assert!(!exclude(&monday, &tuesday));
        assert_eq!(monday.len(), 4, "per person: the day, exclusive, and the person, shared");
        // An interval ending at midnight does not reach into the next day.
        assert!(!exclude(&booking_locks(&people, &[interval(23, 1)]), &booking_locks(&people, &[interval(24, 1)])));
        let series: Vec<_> = (0..10).map(|week| interval(10 + week * 7 * 24, 1)).collect();
        let locks = booking_locks(&people, &series);
        assert_eq!(locks, vec![Lock::exclusive("booking:contacts/ada"), Lock::exclusive("booking:contacts/bo")]);
        assert!(exclude(&locks, &tuesday), "a series excludes every single booking of its people");
        assert_eq!(booking_locks(&people, &[]).len(), 2, "nothing to be busy for: the people's own locks");
    }
}
