//! On PostgreSQL, a report's stored evidence compressed with lz4 rather than the default pglz. The evidence of a
//! report of a quarter over a large read model is tens of megabytes, in rows of up to a thousand records, and
//! PostgreSQL compresses every such value as it stores it: with pglz that took about half a second per 17 MB of
//! evidence on the bench's machine, with lz4 under a quarter of that. Rows stored before keep pglz (both are
//! read alike). A server built without lz4 keeps pglz. SQLite does not compress.
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if conn.get_database_backend() == DbBackend::Postgres {
            // `feature_not_supported` is what a server built without lz4 answers.
            conn.execute_unprepared(
                "DO $$ BEGIN \
                 ALTER TABLE report_evidence ALTER COLUMN records SET COMPRESSION lz4; \
                 EXCEPTION WHEN feature_not_supported THEN NULL; \
                 END $$",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if conn.get_database_backend() == DbBackend::Postgres {
            conn.execute_unprepared("ALTER TABLE report_evidence ALTER COLUMN records SET COMPRESSION default").await?;
        }
        Ok(())
    }
}
