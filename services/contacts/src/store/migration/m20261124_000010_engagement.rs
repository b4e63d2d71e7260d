//! Engagement: `assessments` (one per party per day, held by a unique index), `interactions` and their
//! participants in `interaction_parties` (one row per party and interaction, indexed by party).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("assessments")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("party"))
                    .col(string("assessment_date"))
                    .col(integer("influence"))
                    .col(integer("interest"))
                    .col(integer("impact"))
                    .col(integer("quadrant"))
                    .col(text("comment"))
                    .col(timestamp_with_time_zone("create_time"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // At most one assessment per party per day; also the index of "a party's assessments, newest first" and
        // of "the latest assessment of each party".
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS assessments_one_per_party_per_day \
             ON assessments (party, assessment_date)",
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("interactions")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(integer("channel"))
                    .col(integer("direction"))
                    .col(timestamp_with_time_zone("occur_time"))
                    .col(string("subject"))
                    .col(text("summary"))
                    .col(integer("sentiment"))
                    .col(text("follow_up_action"))
                    .col(string("follow_up_owner"))
                    .col(string_null("follow_up_due_date"))
                    .col(boolean("follow_up_done"))
                    .col(text("links"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS interactions_by_time ON interactions (occur_time, id)")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("interaction_parties")
                    .if_not_exists()
                    .col(string("interaction_id"))
                    .col(string("party"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("interaction_id").col("party"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("interaction_parties", "interaction_id")
                            .to("interactions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS interaction_parties_by_party ON interaction_parties (party, interaction_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("interaction_parties").to_owned()).await?;
        manager.drop_table(Table::drop().table("interactions").to_owned()).await?;
        manager.drop_table(Table::drop().table("assessments").to_owned()).await
    }
}
