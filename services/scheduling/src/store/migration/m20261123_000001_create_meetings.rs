use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("meetings")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("title"))
                    .col(timestamp_with_time_zone("start_time"))
                    .col(timestamp_with_time_zone("end_time"))
                    .col(string("time_zone"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("meeting_participants")
                    .if_not_exists()
                    .col(string("meeting_id"))
                    .col(integer("position"))
                    .col(string("contact"))
                    .primary_key(Index::create().col("meeting_id").col("position"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("meeting_participants", "meeting_id")
                            .to("meetings", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("meeting_participants_by_contact")
                    .table("meeting_participants")
                    .col("contact")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("meeting_participants").to_owned()).await?;
        manager.drop_table(Table::drop().table("meetings").to_owned()).await
    }
}
