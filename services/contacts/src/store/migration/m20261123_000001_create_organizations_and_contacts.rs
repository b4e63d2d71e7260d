//! `organizations` and `contacts`, the two tables of the register.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("display_name"))
                    .col(integer("kind"))
                    .col(text("website"))
                    .col(text("notes"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("display_name"))
                    .col(string("given_name"))
                    .col(string("family_name"))
                    .col(string("email"))
                    .col(string("phone"))
                    .col(string("time_zone"))
                    .col(text("notes"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("contacts").to_owned()).await?;
        manager.drop_table(Table::drop().table("organizations").to_owned()).await
    }
}
