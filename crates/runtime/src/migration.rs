//! The tables every service has (the change feed and idempotency keys), as one migration each service lists
//! first in its `Migrator`.
use sea_orm_migration::prelude::*;

/// Creates `changes` and `idempotency_keys`.
pub struct CreateSharedTables;

impl MigrationName for CreateSharedTables {
    fn name(&self) -> &str {
        "m20261123_000000_create_shared_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSharedTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        crate::feed::create_table(conn).await?;
        crate::idempotency::create_table(conn).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("idempotency_keys").to_owned()).await?;
        manager.drop_table(Table::drop().table("changes").to_owned()).await
    }
}
