//! A person's calendar as ListMeetings reads it: which meetings they attend, with what the list filters look at
//! (start, end of the last occurrence, status) — read with one range of the `(contact, meeting_id)` index, joined
//! to each meeting by key. The API keeps it in a read cache, so that one person's month is answered from memory.
use super::{MeetingFilter, StoredMeeting, meeting, with_children};
use chrono::{DateTime, Utc};
use liaison_runtime::Error;
use liaison_runtime::db::{db_error, sql::statement};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter};
use std::sync::Arc;

/// One meeting a person attends, as their calendar keeps it: compact, for a calendar holds every meeting they
/// ever attended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub meeting_id: Arc<str>,
    /// Unix seconds and nanoseconds.
    start: (i64, u32),
    /// When the last occurrence ends; `None` for a series without end.
    last_end: Option<(i64, u32)>,
    status: Arc<str>,
}

/// Every meeting one person attends, by meeting id (in byte order).
pub type Calendar = Arc<[Attendance]>;

fn instant(at: DateTime<Utc>) -> (i64, u32) {
    (at.timestamp(), at.timestamp_subsec_nanos())
}

impl MeetingFilter {
    /// Whether this filter keeps a meeting of a calendar: the same rule as the SQL condition of
    /// [`super::Store::list_meetings`] (a series stays in a window until its last occurrence ends). The participant
    /// is the calendar's; a link filter is not looked at here (such a list is read from the database).
    pub fn admits(&self, attendance: &Attendance) -> bool {
        let ends_after = self.ends_after.is_none_or(|after| attendance.last_end.is_none_or(|end| end > instant(after)));
        let starts_before = self.starts_before.is_none_or(|before| attendance.start < instant(before));
        let status = self.status.is_none_or(|status| *attendance.status == *status.as_str());
        ends_after && starts_before && status
    }
}

#[derive(Debug, FromQueryResult)]
struct AttendanceRow {
    meeting_id: String,
    start_time: DateTime<Utc>,
    last_end_time: Option<DateTime<Utc>>,
    status: String,
}

impl super::Store {
    /// The calendar of `contact`: every meeting they attend, by id.
    pub async fn calendar_of(&self, contact: &str) -> Result<Calendar, Error> {
        let conn = self.db.conn();
        let rows = AttendanceRow::find_by_statement(statement(
            sea_orm::ConnectionTrait::get_database_backend(conn),
            "SELECT p.meeting_id, m.start_time, m.last_end_time, m.status FROM meeting_participants p \
             JOIN meetings m ON m.id = p.meeting_id WHERE p.contact = ?",
            vec![contact.into()],
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        // Byte order, whatever the database's collation: pages are cut by comparing ids in Rust.
        let mut rows = rows;
        rows.sort_unstable_by(|a, b| a.meeting_id.cmp(&b.meeting_id));
        // Statuses are a handful of words: one allocation each, shared.
        let mut statuses: Vec<Arc<str>> = Vec::new();
        let mut calendar: Vec<Attendance> = Vec::with_capacity(rows.len());
        for row in rows {
            if calendar.last().is_some_and(|last| *last.meeting_id == *row.meeting_id) {
                continue;
            }
            let status = match statuses.iter().find(|s| ***s == *row.status) {
                Some(status) => Arc::clone(status),
                None => {
                    let status: Arc<str> = row.status.into();
                    statuses.push(Arc::clone(&status));
                    status
                }
            };
            calendar.push(Attendance {
                meeting_id: row.meeting_id.into(),
                start: instant(row.start_time),
                last_end: row.last_end_time.map(instant),
                status,
            });
        }
        Ok(calendar.into())
    }

    /// The meetings of `ids` that exist, with their attendees, agenda and links (in no particular order).
    pub async fn meetings_by_ids(&self, ids: &[String]) -> Result<Vec<StoredMeeting>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let meetings = meeting::Entity::find()
            .filter(meeting::Column::Id.is_in(ids.iter().map(String::as_str)))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        with_children(self.db.conn(), meetings).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a time")
    }

    fn attendance(start: i64, last_end: Option<i64>, status: &str) -> Attendance {
        Attendance {
            meeting_id: "m".into(),
            start: instant(at(start)),
            last_end: last_end.map(|end| instant(at(end))),
            status: status.into(),
        }
    }

    #[test]
    fn a_window_keeps_what_overlaps_it_and_touching_ends_do_not_overlap() {
        let filter =
            MeetingFilter { ends_after: Some(at(100)), starts_before: Some(at(200)), ..MeetingFilter::default() };
        assert!(filter.admits(&attendance(150, Some(160), "scheduled")), "inside");
        assert!(filter.admits(&attendance(50, Some(101), "scheduled")), "ends inside");
        assert!(filter.admits(&attendance(199, Some(500), "scheduled")), "starts inside");
        assert!(!filter.admits(&attendance(50, Some(100), "scheduled")), "ends as the window starts");
        assert!(!filter.admits(&attendance(200, Some(300), "scheduled")), "starts as the window ends");
        assert!(filter.admits(&attendance(10, None, "scheduled")), "a series without end stays in every later window");
        assert!(!filter.admits(&attendance(250, None, "scheduled")), "…but not in one before it starts");
    }

    #[test]
    fn a_status_filter_keeps_that_status_only() {
        let filter = MeetingFilter { status: Some(Status::Cancelled), ..MeetingFilter::default() };
        assert!(filter.admits(&attendance(1, Some(2), "cancelled")));
        assert!(!filter.admits(&attendance(1, Some(2), "scheduled")));
        assert!(MeetingFilter::default().admits(&attendance(1, Some(2), "tentative")), "no filter keeps everything");
    }

    #[test]
    fn sub_second_times_compare_exactly() {
        let after = DateTime::from_timestamp(100, 500).expect("a time");
        let filter = MeetingFilter { ends_after: Some(after), ..MeetingFilter::default() };
        let ends = |nanos| Attendance { last_end: Some((100, nanos)), ..attendance(0, None, "scheduled") };
        assert!(filter.admits(&ends(501)));
        assert!(!filter.admits(&ends(500)));
    }
}
