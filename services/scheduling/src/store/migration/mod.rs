//! Migrations of the scheduling database, applied at start-up and by `liaison migrate scheduling`.
use sea_orm_migration::prelude::*;

mod m20261123_000001_create_meetings;
mod m20261206_000001_busy_intervals;
mod m20261206_000002_meeting_resource;
mod m20261206_000003_meeting_lifecycle;
mod m20261206_000004_commitments_projects;
mod m20261206_000005_recurrence;
mod m20261206_000006_participant_meetings;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(liaison_runtime::db::migration::CreateSharedTables),
            Box::new(m20261123_000001_create_meetings::Migration),
            Box::new(liaison_runtime::db::migration::AddChangeActor),
            Box::new(liaison_runtime::db::migration::AddChangeAudit),
            Box::new(m20261206_000001_busy_intervals::Migration),
            Box::new(m20261206_000002_meeting_resource::Migration),
            Box::new(m20261206_000003_meeting_lifecycle::Migration),
            Box::new(m20261206_000004_commitments_projects::Migration),
            Box::new(m20261206_000005_recurrence::Migration),
            Box::new(m20261206_000006_participant_meetings::Migration),
            Box::new(liaison_runtime::db::migration::AddIdempotencyCreateTime),
            Box::new(liaison_runtime::db::migration::AddServiceSecrets),
            Box::new(liaison_runtime::db::migration::AddChangeConfidential),
        ]
    }
}
