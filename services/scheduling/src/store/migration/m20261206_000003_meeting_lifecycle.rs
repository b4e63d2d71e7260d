//! The meeting's life after it is booked: why it was cancelled, its iCalendar sequence and, once it took place, its
//! record (minutes, decisions, attendance, action items, corrections) as one JSON document — read and written whole
//! with the meeting, never queried inside. Action items get a table of their own, read by owner, by source meeting
//! and by state and due time (overdue lists). A changed meeting rewrites its busy intervals, found by meeting.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS cancel_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS record TEXT;
CREATE TABLE IF NOT EXISTS action_items (
    id TEXT PRIMARY KEY COLLATE \"C\",
    description TEXT NOT NULL,
    owner TEXT NOT NULL COLLATE \"C\",
    due_time TIMESTAMPTZ,
    meeting_id TEXT COLLATE \"C\",
    position INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    completion_note TEXT NOT NULL DEFAULT '',
    close_time TIMESTAMPTZ,
    revision BIGINT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS action_items_by_owner ON action_items (owner, id);
CREATE INDEX IF NOT EXISTS action_items_by_meeting ON action_items (meeting_id, id);
CREATE INDEX IF NOT EXISTS action_items_open_by_due ON action_items (state, due_time);
CREATE INDEX IF NOT EXISTS busy_intervals_by_meeting ON busy_intervals (meeting_id)";

const SQLITE: &str = "
ALTER TABLE meetings ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN record TEXT;
CREATE TABLE IF NOT EXISTS action_items (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_time TEXT,
    meeting_id TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    completion_note TEXT NOT NULL DEFAULT '',
    close_time TEXT,
    revision INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS action_items_by_owner ON action_items (owner, id);
CREATE INDEX IF NOT EXISTS action_items_by_meeting ON action_items (meeting_id, id);
CREATE INDEX IF NOT EXISTS action_items_open_by_due ON action_items (state, due_time);
CREATE INDEX IF NOT EXISTS busy_intervals_by_meeting ON busy_intervals (meeting_id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("action_items").if_exists().to_owned()).await
    }
}
