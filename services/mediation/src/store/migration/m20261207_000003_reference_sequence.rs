//! Case reference numbers from a sequence on PostgreSQL, so that concurrent opens never wait for each other on a
//! counter row held until commit (a sequence hands out numbers outside transactions; a rolled-back open leaves a
//! gap). SQLite, whose writers take turns anyway, keeps its counter row, now one for all years (key 0). Both
//! continue after the highest number handed out so far.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
CREATE SEQUENCE IF NOT EXISTS case_reference_numbers;
SELECT setval('case_reference_numbers', COALESCE((SELECT MAX(last) FROM case_reference_counters), 0) + 1, false)";

const SQLITE: &str = "
INSERT INTO case_reference_counters (year, last)
    SELECT 0, COALESCE(MAX(last), 0) FROM case_reference_counters WHERE year <> 0
    ON CONFLICT (year) DO NOTHING";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP SEQUENCE IF EXISTS case_reference_numbers").await.map(|_| ())
    }
}
