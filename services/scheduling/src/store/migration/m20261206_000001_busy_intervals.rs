//! `busy_intervals`: when each participant is taken, one row per participant of a meeting, indexed by participant
//! and start so that a conflict check or a free/busy read is a range scan of that person's index, never a scan of
//! all meetings. Filled from the existing meetings.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
CREATE TABLE IF NOT EXISTS busy_intervals (
    contact TEXT NOT NULL COLLATE \"C\",
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    start_time TIMESTAMPTZ NOT NULL,
    end_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (contact, meeting_id)
);
CREATE INDEX IF NOT EXISTS busy_intervals_by_contact_and_start ON busy_intervals (contact, start_time);
INSERT INTO busy_intervals (contact, meeting_id, start_time, end_time)
    SELECT p.contact, m.id, m.start_time, m.end_time
    FROM meeting_participants p JOIN meetings m ON m.id = p.meeting_id
    ON CONFLICT DO NOTHING";

const SQLITE: &str = "
CREATE TABLE IF NOT EXISTS busy_intervals (
    contact TEXT NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    PRIMARY KEY (contact, meeting_id)
);
CREATE INDEX IF NOT EXISTS busy_intervals_by_contact_and_start ON busy_intervals (contact, start_time);
INSERT OR IGNORE INTO busy_intervals (contact, meeting_id, start_time, end_time)
    SELECT p.contact, m.id, m.start_time, m.end_time
    FROM meeting_participants p JOIN meetings m ON m.id = p.meeting_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("busy_intervals").to_owned()).await
    }
}
