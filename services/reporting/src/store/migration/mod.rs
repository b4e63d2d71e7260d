//! Migrations of the reporting database, applied at start-up and by `liaison migrate reporting`.
use sea_orm_migration::prelude::*;

mod m20261123_000001_create_read_model;
mod m20261207_000001_reports;
mod m20261208_000001_facts_interval_index;
mod m20261208_000002_affiliation_member;
mod m20261208_000003_evidence_lz4;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(liaison_runtime::db::migration::CreateSharedTables),
            Box::new(m20261123_000001_create_read_model::Migration),
            Box::new(liaison_runtime::db::migration::AddChangeActor),
            Box::new(liaison_runtime::db::migration::AddChangeAudit),
            Box::new(liaison_runtime::db::migration::AddIdempotencyCreateTime),
            Box::new(liaison_runtime::db::migration::AddServiceSecrets),
            Box::new(liaison_runtime::db::migration::AddChangeConfidential),
            Box::new(m20261207_000001_reports::Migration),
            Box::new(m20261208_000001_facts_interval_index::Migration),
            Box::new(m20261208_000002_affiliation_member::Migration),
            Box::new(m20261208_000003_evidence_lz4::Migration),
        ]
    }
}
