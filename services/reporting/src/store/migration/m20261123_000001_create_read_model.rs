use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("read_model")
                    .if_not_exists()
                    .col(string("resource_name").primary_key())
                    .col(string("collection"))
                    .col(boolean("is_open"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("read_model_by_collection")
                    .table("read_model")
                    .col("collection")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sources")
                    .if_not_exists()
                    .col(string("source").primary_key())
                    .col(big_integer("cursor"))
                    .col(big_integer("applied_count"))
                    .col(timestamp_with_time_zone_null("last_change_time"))
                    .col(timestamp_with_time_zone_null("last_applied_time"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sources").to_owned()).await?;
        manager.drop_table(Table::drop().table("read_model").to_owned()).await
    }
}
