//! `affiliations` and `relationships`, the links between parties, and the `parent_id` of organisations.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("organizations").add_column(string_null("parent_id")).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("affiliations")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("contact_id"))
                    .col(string("organization_id"))
                    .col(string("role"))
                    .col(string_null("start_date"))
                    .col(string_null("end_date"))
                    .col(boolean("point_of_contact"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .foreign_key(ForeignKey::create().from("affiliations", "contact_id").to("contacts", "id"))
                    .foreign_key(ForeignKey::create().from("affiliations", "organization_id").to("organizations", "id"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // At most one primary point of contact per organisation, held by the database.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS affiliations_one_point_of_contact \
             ON affiliations (organization_id) WHERE point_of_contact",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS affiliations_by_contact ON affiliations (contact_id, id)")
            .await?;
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS affiliations_by_organization ON affiliations (organization_id, id)",
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("relationships")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("party"))
                    .col(string("related_party"))
                    .col(integer("kind"))
                    .col(string_null("since"))
                    .col(integer("strength"))
                    .col(text("notes"))
                    .col(big_integer("revision"))
                    .col(timestamp_with_time_zone("create_time"))
                    .col(timestamp_with_time_zone("update_time"))
                    .to_owned(),
            )
            .await?;
        // No duplicate of the same type between the same pair (symmetric pairs are stored in one order).
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS relationships_once_per_pair ON relationships (kind, party, related_party)",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS relationships_by_related ON relationships (related_party)")
            .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS organizations_by_parent ON organizations (parent_id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("relationships").to_owned()).await?;
        manager.drop_table(Table::drop().table("affiliations").to_owned()).await?;
        manager.alter_table(Table::alter().table("organizations").drop_column("parent_id").to_owned()).await
    }
}
