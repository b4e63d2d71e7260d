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
        crate::db::idempotency::create_table(conn).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("idempotency_keys").to_owned()).await?;
        manager.drop_table(Table::drop().table("changes").to_owned()).await
    }
}

/// Adds `changes.actor` (who made each change), read by field-level histories.
pub struct AddChangeActor;

impl MigrationName for AddChangeActor {
    fn name(&self) -> &str {
        "m20261124_000000_add_change_actor"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddChangeActor {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::feed::add_actor_column(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("changes").drop_column("actor").to_owned()).await
    }
}

/// Adds the rest of the audit record to `changes` (`calling_service`, `rpc`, `source_address`) and an index of
/// each actor's changes, read by `ListAuditEvents`.
pub struct AddChangeAudit;

impl MigrationName for AddChangeAudit {
    fn name(&self) -> &str {
        "m20261125_000000_add_change_audit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddChangeAudit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::feed::add_audit_columns(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS changes_by_actor").await?;
        for column in ["calling_service", "rpc", "source_address"] {
            manager.alter_table(Table::alter().table("changes").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

/// Adds `idempotency_keys.create_time`, so that request ids expire (`db::idempotency::KEY_TTL`).
pub struct AddIdempotencyCreateTime;

impl MigrationName for AddIdempotencyCreateTime {
    fn name(&self) -> &str {
        "m20261207_000000_add_idempotency_create_time"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddIdempotencyCreateTime {
    /// In one transaction on SQLite too: there the table is rebuilt, which must happen whole or not at all (and
    /// on one connection).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::db::idempotency::add_create_time(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS idempotency_keys_by_age").await?;
        manager.alter_table(Table::alter().table("idempotency_keys").drop_column("create_time").to_owned()).await
    }
}

/// Creates `service_secrets` (`db::secrets`): the key of page tokens, shared by every replica of a service.
pub struct AddServiceSecrets;

impl MigrationName for AddServiceSecrets {
    fn name(&self) -> &str {
        "m20261208_000000_add_service_secrets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddServiceSecrets {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::db::secrets::create_table(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("service_secrets").to_owned()).await
    }
}

/// Adds `changes.confidential` (`feed::redacted`): changes of confidential records reach followers without the
/// right to them as name and kind only.
pub struct AddChangeConfidential;

impl MigrationName for AddChangeConfidential {
    fn name(&self) -> &str {
        "m20261209_000000_add_change_confidential"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddChangeConfidential {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::feed::add_confidential_column(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("changes").drop_column("confidential").to_owned()).await
    }
}
