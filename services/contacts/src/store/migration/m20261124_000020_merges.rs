//! `merges`: the record of each merge of two contacts, kept so that it can be undone.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("merges")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("survivor_id"))
                    .col(string("merged_id"))
                    .col(timestamp_with_time_zone("merge_time"))
                    .col(timestamp_with_time_zone_null("unmerge_time"))
                    .col(text("survivor_before"))
                    .col(text("merged_before"))
                    .col(text("link_moves"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // A contact is merged away at most once at a time, held by the database.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS merges_one_active_per_merged ON merges (merged_id) \
             WHERE unmerge_time IS NULL",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS merges_by_survivor ON merges (survivor_id, id)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("merges").to_owned()).await
    }
}
