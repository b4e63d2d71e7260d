//! The search index (`store::terms`): postings of contacts and organisations, the vocabulary and its typo keys,
//! built from the existing rows. Terms are byte-ordered on both engines (`COLLATE "C"` in PostgreSQL, whose
//! default collation would order them by locale and break prefix ranges).
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let term = match manager.get_database_backend() {
            DbBackend::Postgres => "TEXT COLLATE \"C\" NOT NULL",
            _ => "TEXT NOT NULL",
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
        ] {
            conn.execute_unprepared(&sql).await?;
        }
        crate::store::terms::rebuild(conn).await.map_err(|e| DbErr::Migration(e.to_string()))
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["search_typos", "search_vocabulary", "organization_terms", "contact_terms"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
