//! The index a report's reads range over, `(collection, active_until)`, widened with `active_from`, so that
//! which facts of a collection are active in a period is answered from the index alone. On SQLite a report
//! then takes the matching rows' rowids from it and reads the rows in rowid order (`store::records`): rows
//! were inserted in the order of the history, so a period's rows sit on neighbouring pages rather than being
//! fetched one random page each in `active_until` order.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS facts_by_interval ON facts (collection, active_until, active_from)",
        )
        .await?;
        // The new index starts with the old one's columns: it serves every query the old one did.
        conn.execute_unprepared("DROP INDEX IF EXISTS facts_by_until").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("CREATE INDEX IF NOT EXISTS facts_by_until ON facts (collection, active_until)")
            .await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS facts_by_interval").await?;
        Ok(())
    }
}
