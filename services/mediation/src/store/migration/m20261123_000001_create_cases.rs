use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("cases")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("title"))
                    .col(text("description"))
                    .col(integer("state"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_parties")
                    .if_not_exists()
                    .col(string("case_id"))
                    .col(integer("position"))
                    .col(string("party"))
                    .primary_key(Index::create().col("case_id").col("position"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("case_parties", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_parties_by_party")
                    .table("case_parties")
                    .col("party")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("case_parties").to_owned()).await?;
        manager.drop_table(Table::drop().table("cases").to_owned()).await
    }
}
