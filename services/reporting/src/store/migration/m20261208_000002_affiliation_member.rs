//! `facts.member`: the contact of an affiliation, beside its organisation (`parent`), with an index holding both,
//! so that a report reads the whole register of affiliations (which it needs to attribute interactions to
//! organisations) from the index alone instead of fetching and decoding every affiliation's row. Rows written
//! before this migration have no member until their next change (or a rebuild); `store::records` decodes those
//! from their payload, so nothing needs replaying.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("ALTER TABLE facts ADD COLUMN member TEXT").await?;
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS facts_by_member ON facts (collection, member, parent)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS facts_by_member").await?;
        conn.execute_unprepared("ALTER TABLE facts DROP COLUMN member").await?;
        Ok(())
    }
}
