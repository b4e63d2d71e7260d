//! Migrations of the mediation database, applied at start-up and by `liaison migrate mediation`.
use sea_orm_migration::prelude::*;

mod m20261123_000001_create_cases;
mod m20261207_000001_case_lifecycle;
mod m20261207_000002_case_members;
mod m20261207_000003_reference_sequence;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(liaison_runtime::db::migration::CreateSharedTables),
            Box::new(m20261123_000001_create_cases::Migration),
            Box::new(liaison_runtime::db::migration::AddChangeActor),
            Box::new(liaison_runtime::db::migration::AddChangeAudit),
            Box::new(liaison_runtime::db::migration::AddIdempotencyCreateTime),
            Box::new(liaison_runtime::db::migration::AddServiceSecrets),
            Box::new(liaison_runtime::db::migration::AddChangeConfidential),
            Box::new(m20261207_000001_case_lifecycle::Migration),
            Box::new(m20261207_000002_case_members::Migration),
            Box::new(m20261207_000003_reference_sequence::Migration),
        ]
    }
}
