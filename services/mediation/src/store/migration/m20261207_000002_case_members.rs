//! `case_members`: who works each case (its mediator and its team), by contact — what a confidential case's
//! readers are matched against, in a list as an index lookup rather than a look inside each case's details.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const SCRIPT: &str = "
CREATE TABLE IF NOT EXISTS case_members (
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    PRIMARY KEY (case_id, contact)
);
CREATE INDEX IF NOT EXISTS case_members_by_contact ON case_members (contact, case_id);
CREATE INDEX IF NOT EXISTS cases_by_confidential ON cases (confidential, id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script(manager.get_connection(), SCRIPT).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("case_members").if_exists().to_owned()).await
    }
}
