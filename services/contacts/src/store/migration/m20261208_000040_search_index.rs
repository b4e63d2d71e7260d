//! The search index (`store::terms`): postings of contacts and organisations, the vocabulary and its typo keys,
//! built from the existing rows. Terms are byte-ordered on both engines (`COLLATE "C"` in PostgreSQL, whose
//! default collation would order them by locale and break prefix ranges).
//!
//! Name keys join `contact_keys`, so that CreateContact finds a namesake by index.
//!
//! And the indexes of the list orders: each ends in the id, so a page is one index range whatever the order.
//! Those of contacts are partial, over the rows a list shows, named by two generated columns: `listed` (neither
//! deleted nor merged) and `unmerged` (for `show_deleted`). A planner without statistics guesses that `x IS
//! NULL` keeps 0.5% of rows, and then scans the table (or a bitmap of the whole id range) and sorts rather than
//! walk an index it thinks almost empty — ListContacts on PostgreSQL slowed with every row added. A bare boolean
//! column is guessed to keep half, so the ordered index walk that stops after one page wins with or without
//! statistics.
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        let term = match backend {
            DbBackend::Postgres => "TEXT COLLATE \"C\" NOT NULL",
            _ => "TEXT NOT NULL",
        };
        // SQLite adds only virtual generated columns to an existing table; PostgreSQL has only stored ones.
        let generated = |column: &str, expression: &str| match backend {
            DbBackend::Postgres => format!(
                "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS {column} BOOLEAN GENERATED ALWAYS AS ({expression}) \
                 STORED"
            ),
            _ => format!("ALTER TABLE contacts ADD COLUMN {column} INTEGER GENERATED ALWAYS AS ({expression}) VIRTUAL"),
        };
        for sql in [
            format!(
                "CREATE TABLE IF NOT EXISTS contact_terms (term {term}, contact_id TEXT NOT NULL, fields INTEGER NOT \
                 NULL, PRIMARY KEY (term, contact_id))"
            ),
            "CREATE INDEX IF NOT EXISTS contact_terms_by_contact ON contact_terms (contact_id)".to_owned(),
            format!(
                "CREATE TABLE IF NOT EXISTS organization_terms (term {term}, organization_id TEXT NOT NULL, PRIMARY \
                 KEY (term, organization_id))"
            ),
            "CREATE INDEX IF NOT EXISTS organization_terms_by_organization ON organization_terms (organization_id)"
                .to_owned(),
            format!("CREATE TABLE IF NOT EXISTS search_vocabulary (term {term} PRIMARY KEY)"),
            format!("CREATE TABLE IF NOT EXISTS search_typos (key {term}, term {term}, PRIMARY KEY (key, term))"),
            generated("listed", "delete_time IS NULL AND merged_into IS NULL"),
            generated("unmerged", "merged_into IS NULL"),
            "CREATE INDEX IF NOT EXISTS contacts_listed_by_id ON contacts (id) WHERE listed".to_owned(),
            "CREATE INDEX IF NOT EXISTS contacts_unmerged_by_id ON contacts (id) WHERE unmerged".to_owned(),
            "CREATE INDEX IF NOT EXISTS contacts_listed_by_display_name ON contacts (display_name, id) WHERE listed"
                .to_owned(),
            "CREATE INDEX IF NOT EXISTS contacts_listed_by_update_time ON contacts (update_time, id) WHERE listed"
                .to_owned(),
            "CREATE INDEX IF NOT EXISTS organizations_by_display_name ON organizations (display_name, id)".to_owned(),
            "CREATE INDEX IF NOT EXISTS organizations_by_update_time ON organizations (update_time, id)".to_owned(),
        ] {
            conn.execute_unprepared(&sql).await?;
        }
        crate::store::terms::rebuild(conn).await.map_err(|e| DbErr::Migration(e.to_string()))?;
        crate::store::keys::add_name_keys(conn).await.map_err(|e| DbErr::Migration(e.to_string()))
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [
            "contacts_listed_by_id",
            "contacts_unmerged_by_id",
            "contacts_listed_by_display_name",
            "contacts_listed_by_update_time",
            "organizations_by_display_name",
            "organizations_by_update_time",
        ] {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {index}")).await?;
        }
        for column in ["listed", "unmerged"] {
            manager.alter_table(Table::alter().table("contacts").drop_column(column).to_owned()).await?;
        }
        for table in ["search_typos", "search_vocabulary", "organization_terms", "contact_terms"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
