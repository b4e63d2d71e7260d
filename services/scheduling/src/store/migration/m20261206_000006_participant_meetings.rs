//! A person's meetings in meeting order: ListMeetings by participant walks this index from the page token on and
//! stops when the page is full, instead of scanning meetings for those the person attends.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script(
            manager.get_connection(),
            "CREATE INDEX IF NOT EXISTS meeting_participants_by_contact_and_meeting \
             ON meeting_participants (contact, meeting_id)",
        )
        .await
    }
}
