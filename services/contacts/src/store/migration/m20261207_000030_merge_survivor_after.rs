//! `merges.survivor_after`: the survivor as the merge left it, so that an unmerge can tell whether it was edited
//! since (it then refuses rather than write the old state over the edit). Merges recorded before have none.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("merges").add_column(text_null("survivor_after")).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("merges").drop_column("survivor_after").to_owned()).await
    }
}
