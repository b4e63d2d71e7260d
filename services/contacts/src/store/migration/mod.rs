//! Migrations of the contacts database, applied at start-up and by `liaison migrate contacts`.
use sea_orm_migration::prelude::*;

mod m20261123_000001_create_organizations_and_contacts;
mod m20261123_000002_create_affiliations_and_relationships;
mod m20261124_000003_contact_details;
mod m20261124_000010_engagement;
mod m20261124_000020_merges;
mod m20261207_000030_merge_survivor_after;
mod m20261208_000040_search_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(liaison_runtime::db::migration::CreateSharedTables),
            Box::new(m20261123_000001_create_organizations_and_contacts::Migration),
            Box::new(m20261123_000002_create_affiliations_and_relationships::Migration),
            Box::new(liaison_runtime::db::migration::AddChangeActor),
            Box::new(m20261124_000003_contact_details::Migration),
            Box::new(m20261124_000010_engagement::Migration),
            Box::new(m20261124_000020_merges::Migration),
            Box::new(liaison_runtime::db::migration::AddChangeAudit),
            Box::new(m20261207_000030_merge_survivor_after::Migration),
            Box::new(liaison_runtime::db::migration::AddIdempotencyCreateTime),
            Box::new(liaison_runtime::db::migration::AddServiceSecrets),
            Box::new(liaison_runtime::db::migration::AddChangeConfidential),
            Box::new(m20261208_000040_search_index::Migration),
        ]
    }
}
