//! Typed channels, languages, working hours, labels, consent, soft delete and merge state of contacts; postal
//! address and labels of organisations; `contact_keys`, the index of emails, phones and vCard UIDs that import
//! matching and duplicate detection look up.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

/// One column per statement: SQLite's ALTER TABLE adds one at a time.
async fn add(manager: &SchemaManager<'_>, table: &str, column: ColumnDef) -> Result<(), DbErr> {
    let mut column = column;
    manager.alter_table(Table::alter().table(table.to_owned()).add_column(&mut column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            text("emails").default("[]").to_owned(),
            text("phones").default("[]").to_owned(),
            integer("preferred_channel").default(0).to_owned(),
            text("languages").default("[]").to_owned(),
            text("working_hours").default("[]").to_owned(),
            text("labels").default("").to_owned(),
            text("consent").default("{}").to_owned(),
            boolean("do_not_contact").default(false).to_owned(),
            text("uid").default("").to_owned(),
            timestamp_with_time_zone_null("delete_time"),
            string_null("merged_into"),
            text("search_text").default("").to_owned(),
            text("provenance").default("[]").to_owned(),
            text("merged_names").default("[]").to_owned(),
        ] {
            add(manager, "contacts", column).await?;
        }
        for column in [
            text("postal_address").default("").to_owned(),
            text("labels").default("").to_owned(),
            text("search_text").default("").to_owned(),
        ] {
            add(manager, "organizations", column).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("contact_keys")
                    .if_not_exists()
                    .col(string("contact_id"))
                    .col(string("key"))
                    .primary_key(Index::create().col("contact_id").col("key"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS contact_keys_by_key ON contact_keys (key, contact_id)")
            .await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS organizations_by_kind ON organizations (kind, id)").await?;
        // Existing contacts: their single email/phone become the typed lists, and their keys are indexed.
        conn.execute_unprepared(
            "UPDATE contacts SET emails = '[{\"value\":\"' || email || '\",\"type\":\"work\",\"primary\":true}]' \
             WHERE email <> ''",
        )
        .await?;
        conn.execute_unprepared(
            "UPDATE contacts SET phones = '[{\"value\":\"' || phone || '\",\"type\":\"work\",\"primary\":true}]' \
             WHERE phone <> ''",
        )
        .await?;
        conn.execute_unprepared(
            "UPDATE contacts SET uid = 'urn:uuid:' || id, search_text = lower(display_name || ' ' || given_name || ' ' \
             || family_name || ' ' || email)",
        )
        .await?;
        conn.execute_unprepared("UPDATE organizations SET search_text = lower(display_name)").await?;
        conn.execute_unprepared(
            "INSERT INTO contact_keys (contact_id, key) SELECT id, 'email:' || email FROM contacts WHERE email <> ''",
        )
        .await?;
        conn.execute_unprepared(
            "INSERT INTO contact_keys (contact_id, key) SELECT id, 'phone:' || phone FROM contacts WHERE phone <> ''",
        )
        .await?;
        conn.execute_unprepared("INSERT INTO contact_keys (contact_id, key) SELECT id, 'uid:' || uid FROM contacts")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("contact_keys").to_owned()).await?;
        for column in ["postal_address", "labels", "search_text"] {
            manager.alter_table(Table::alter().table("organizations").drop_column(column).to_owned()).await?;
        }
        for column in [
            "emails",
            "phones",
            "preferred_channel",
            "languages",
            "working_hours",
            "labels",
            "consent",
            "do_not_contact",
            "uid",
            "delete_time",
            "merged_into",
            "search_text",
            "provenance",
            "merged_names",
        ] {
            manager.alter_table(Table::alter().table("contacts").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
