//! The case file: the case's lifecycle (stage, outcome, mediator, escalation), its two SLA clocks as instants (so
//! that a filter by SLA status is an index range, not a computation per row: `risk_time` and `breach_time` are the
//! earlier of the two clocks' instants), a yearly counter for human references, the parties' roles, and the tables
//! of proposals, prevention actions, notes and the policy. What is read and written only whole with the case (its
//! history, root cause, waiver, confirmation, team and sessions) is one JSON document, never queried inside.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

/// The statements of both engines; `{ts}`, `{bool}`, `{c}` stand for the engine's timestamp and boolean types and
/// the byte-order collation of identifier columns.
const SCRIPT: &str = "
ALTER TABLE cases ADD COLUMN reference TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN remedy_sought TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN category INTEGER NOT NULL DEFAULT 7;
ALTER TABLE cases ADD COLUMN severity INTEGER NOT NULL DEFAULT 2;
ALTER TABLE cases ADD COLUMN intake_channel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN raised_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN confidential {bool} NOT NULL DEFAULT {false};
ALTER TABLE cases ADD COLUMN stage INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN outcome INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN mediator TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN escalated_to TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN stage_start_time {ts};
ALTER TABLE cases ADD COLUMN stage_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN stage_at_risk_time {ts};
ALTER TABLE cases ADD COLUMN stage_due_time {ts};
ALTER TABLE cases ADD COLUMN case_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN case_at_risk_time {ts};
ALTER TABLE cases ADD COLUMN case_due_time {ts};
ALTER TABLE cases ADD COLUMN risk_time {ts};
ALTER TABLE cases ADD COLUMN breach_time {ts};
ALTER TABLE cases ADD COLUMN close_time {ts};
ALTER TABLE cases ADD COLUMN appeal_deadline {ts};
ALTER TABLE cases ADD COLUMN agreement TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
UPDATE cases SET stage = CASE state WHEN 2 THEN 5 WHEN 3 THEN 9 WHEN 4 THEN 9 ELSE 1 END,
    outcome = CASE state WHEN 3 THEN 1 WHEN 4 THEN 2 ELSE 0 END, reference = 'LIA-' || id;
CREATE UNIQUE INDEX IF NOT EXISTS cases_by_reference ON cases (reference);
CREATE INDEX IF NOT EXISTS cases_by_stage ON cases (stage, id);
CREATE INDEX IF NOT EXISTS cases_by_mediator ON cases (mediator, id);
CREATE INDEX IF NOT EXISTS cases_by_category ON cases (category, id);
CREATE INDEX IF NOT EXISTS cases_by_severity ON cases (severity, id);
CREATE INDEX IF NOT EXISTS cases_by_risk_time ON cases (risk_time, id);
CREATE INDEX IF NOT EXISTS cases_by_breach_time ON cases (breach_time, id);
CREATE INDEX IF NOT EXISTS cases_by_stage_due_time ON cases (stage_due_time);
CREATE INDEX IF NOT EXISTS cases_by_create_time ON cases (create_time, id);
ALTER TABLE case_parties ADD COLUMN role INTEGER NOT NULL DEFAULT 2;
UPDATE case_parties SET role = 1 WHERE position = 0;
CREATE TABLE IF NOT EXISTS case_reference_counters (
    year BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_proposals (
    id TEXT PRIMARY KEY {c},
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    terms TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    state INTEGER NOT NULL,
    counters TEXT NOT NULL DEFAULT '',
    responses TEXT NOT NULL DEFAULT '[]',
    revision BIGINT NOT NULL,
    create_time {ts} NOT NULL,
    update_time {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS case_proposals_by_case ON case_proposals (case_id, id);
CREATE TABLE IF NOT EXISTS case_prevention_actions (
    id TEXT PRIMARY KEY {c},
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    owner TEXT NOT NULL {c},
    due_time {ts} NOT NULL,
    state INTEGER NOT NULL,
    defer_reason TEXT NOT NULL DEFAULT '',
    revision BIGINT NOT NULL,
    create_time {ts} NOT NULL,
    update_time {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS case_prevention_actions_by_case ON case_prevention_actions (case_id, id);
CREATE INDEX IF NOT EXISTS case_prevention_actions_by_owner ON case_prevention_actions (owner, id);
CREATE TABLE IF NOT EXISTS case_notes (
    id TEXT PRIMARY KEY {c},
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    visibility INTEGER NOT NULL,
    author TEXT NOT NULL,
    create_time {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS case_notes_by_case ON case_notes (case_id, id);
CREATE TABLE IF NOT EXISTS mediation_policy (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    revision BIGINT NOT NULL,
    update_time {ts} NOT NULL
)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let script = match conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => SCRIPT
                .replace("{ts}", "TIMESTAMPTZ")
                .replace("{bool}", "BOOLEAN")
                .replace("{false}", "FALSE")
                .replace("{c}", "COLLATE \"C\""),
            _ => SCRIPT.replace("{ts}", "TEXT").replace("{bool}", "INTEGER").replace("{false}", "0").replace("{c}", ""),
        };
        liaison_runtime::db::execute_script(conn, &script).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["mediation_policy", "case_notes", "case_prevention_actions", "case_proposals", "case_reference_counters"]
        {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
