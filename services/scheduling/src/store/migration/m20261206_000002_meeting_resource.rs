//! The full meeting: its objectives, organiser, place, buffers and status on `meetings`; each attendee's
//! optionality, answer and comment on `meeting_participants`; the agenda (`meeting_agenda`) and the links to other
//! resources (`meeting_links`, in order, indexed by link); and whether a busy interval is a tentative hold. Every new column
//! has a default, so existing meetings stay valid: scheduled, without buffers, every participant required.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS objectives TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS organizer TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS location TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS video_link TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'scheduled';
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS buffer_before_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN IF NOT EXISTS buffer_after_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE meeting_participants ADD COLUMN IF NOT EXISTS optional BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE meeting_participants ADD COLUMN IF NOT EXISTS rsvp TEXT NOT NULL DEFAULT 'needs_action';
ALTER TABLE meeting_participants ADD COLUMN IF NOT EXISTS comment TEXT NOT NULL DEFAULT '';
ALTER TABLE busy_intervals ADD COLUMN IF NOT EXISTS tentative BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE IF NOT EXISTS meeting_agenda (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    topic TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    minutes INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, position)
);
CREATE TABLE IF NOT EXISTS meeting_links (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    link TEXT NOT NULL COLLATE \"C\",
    PRIMARY KEY (meeting_id, position)
);
CREATE INDEX IF NOT EXISTS meeting_links_by_link ON meeting_links (link, meeting_id)";

const SQLITE: &str = "
ALTER TABLE meetings ADD COLUMN objectives TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN organizer TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN video_link TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN status TEXT NOT NULL DEFAULT 'scheduled';
ALTER TABLE meetings ADD COLUMN buffer_before_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN buffer_after_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meeting_participants ADD COLUMN optional BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE meeting_participants ADD COLUMN rsvp TEXT NOT NULL DEFAULT 'needs_action';
ALTER TABLE meeting_participants ADD COLUMN comment TEXT NOT NULL DEFAULT '';
ALTER TABLE busy_intervals ADD COLUMN tentative BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS meeting_agenda (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    topic TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    minutes INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, position)
);
CREATE TABLE IF NOT EXISTS meeting_links (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    link TEXT NOT NULL,
    PRIMARY KEY (meeting_id, position)
);
CREATE INDEX IF NOT EXISTS meeting_links_by_link ON meeting_links (link, meeting_id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("meeting_links").if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table("meeting_agenda").if_exists().to_owned()).await
    }
}
