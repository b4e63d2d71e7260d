//! `meetings`: one row per meeting.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meetings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub start_time: DateTimeUtc,
    pub end_time: DateTimeUtc,
    pub time_zone: String,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
    pub objectives: String,
    /// `contacts/{id}`, or empty.
    pub organizer: String,
    pub location: String,
    pub video_link: String,
    /// `tentative`, `scheduled`, `cancelled` or `completed` (`domain::Status`).
    pub status: String,
    pub buffer_before_seconds: i64,
    pub buffer_after_seconds: i64,
    /// Why it was cancelled; empty unless it was.
    pub cancel_reason: String,
    /// The iCalendar SEQUENCE.
    pub sequence: i32,
    /// The record of a completed meeting, JSON (`domain::lifecycle::Record`).
    pub record: Option<String>,
    /// The RRULE of a series (`domain::recurrence::Rule`, canonical text); empty for a meeting that happens once.
    pub rrule: String,
    /// Cancelled occurrences: JSON array of local start times (`domain::series`).
    pub exdates: String,
    /// Moved occurrences: JSON array of `{id, start, end}` (`domain::series`).
    pub overrides: String,
    /// When the last occurrence ends; `None` for a series that never ends.
    pub last_end_time: Option<DateTimeUtc>,
    /// The meeting this series was split from (`meetings/{id}`), or empty.
    pub continues: String,
}

impl ActiveModelBehavior for ActiveModel {}
