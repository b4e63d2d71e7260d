//! Series: a meeting's RRULE, its cancelled occurrences (EXDATE, local start times) and moved ones (RECURRENCE-ID
//! overrides) as JSON arrays read and written whole with the meeting, when its last occurrence ends (NULL: never —
//! so ListMeetings' window finds a series by its whole span), and the series a split-off one continues. Existing
//! meetings happen once: their last end is their end. A series books one busy interval per occurrence, so the busy
//! intervals move to `busy_times`, keyed by (contact, start, meeting) — which is also the range its reads scan —
//! instead of (contact, meeting); a new table rather than a changed key, as SQLite cannot change a primary key.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS rrule TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS exdates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS overrides TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS last_end_time TIMESTAMPTZ;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS continues TEXT NOT NULL DEFAULT '';
UPDATE meetings SET last_end_time = end_time WHERE rrule = '' AND last_end_time IS NULL;
CREATE TABLE IF NOT EXISTS busy_times (
    contact TEXT NOT NULL COLLATE \"C\",
    start_time TIMESTAMPTZ NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    end_time TIMESTAMPTZ NOT NULL,
    tentative BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (contact, start_time, meeting_id)
);
CREATE INDEX IF NOT EXISTS busy_times_by_meeting ON busy_times (meeting_id);
INSERT INTO busy_times (contact, start_time, meeting_id, end_time, tentative)
    SELECT contact, start_time, meeting_id, end_time, tentative FROM busy_intervals ON CONFLICT DO NOTHING;
DROP TABLE IF EXISTS busy_intervals";

const SQLITE: &str = "
ALTER TABLE meetings ADD COLUMN rrule TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN exdates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN overrides TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN last_end_time TEXT;
ALTER TABLE meetings ADD COLUMN continues TEXT NOT NULL DEFAULT '';
UPDATE meetings SET last_end_time = end_time WHERE rrule = '' AND last_end_time IS NULL;
CREATE TABLE IF NOT EXISTS busy_times (
    contact TEXT NOT NULL,
    start_time TEXT NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    end_time TEXT NOT NULL,
    tentative BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (contact, start_time, meeting_id)
);
CREATE INDEX IF NOT EXISTS busy_times_by_meeting ON busy_times (meeting_id);
INSERT OR IGNORE INTO busy_times (contact, start_time, meeting_id, end_time, tentative)
    SELECT contact, start_time, meeting_id, end_time, tentative FROM busy_intervals;
DROP TABLE IF EXISTS busy_intervals";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }
}
