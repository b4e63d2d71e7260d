//! Commitments and projects. A commitment's history and evidence are JSON lists on its row, read and written whole;
//! the action items and milestones that deliver it are rows of `commitment_links`, indexed by link. Commitments are
//! listed by owner and by stakeholder, and overdue ones found by state and due time. Projects are listed by
//! owning organisation; milestones are read by project in due order; baselines by project, their names unique
//! within it (a unique index, so two racing creates of one name cannot both succeed).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const POSTGRES: &str = "
CREATE TABLE IF NOT EXISTS commitments (
    id TEXT PRIMARY KEY COLLATE \"C\",
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    stakeholder TEXT NOT NULL COLLATE \"C\",
    made_in TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    owner TEXT NOT NULL COLLATE \"C\",
    due_time TIMESTAMPTZ,
    priority TEXT NOT NULL,
    risk TEXT NOT NULL,
    state TEXT NOT NULL,
    referred_to TEXT NOT NULL DEFAULT '',
    satisfaction INTEGER NOT NULL DEFAULT 0,
    satisfaction_note TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '[]',
    history TEXT NOT NULL DEFAULT '[]',
    close_time TIMESTAMPTZ,
    revision BIGINT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS commitments_by_owner ON commitments (owner, id);
CREATE INDEX IF NOT EXISTS commitments_by_stakeholder ON commitments (stakeholder, id);
CREATE INDEX IF NOT EXISTS commitments_by_state_and_due ON commitments (state, due_time);
CREATE TABLE IF NOT EXISTS commitment_links (
    commitment_id TEXT NOT NULL REFERENCES commitments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    link TEXT NOT NULL COLLATE \"C\",
    PRIMARY KEY (commitment_id, position)
);
CREATE INDEX IF NOT EXISTS commitment_links_by_link ON commitment_links (link, commitment_id);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY COLLATE \"C\",
    display_name TEXT NOT NULL,
    objective TEXT NOT NULL DEFAULT '',
    owning_organization TEXT NOT NULL COLLATE \"C\",
    currency_code TEXT NOT NULL DEFAULT '',
    planned_units BIGINT,
    planned_nanos INTEGER,
    actual_units BIGINT,
    actual_nanos INTEGER,
    start_time TIMESTAMPTZ NOT NULL,
    target_end_time TIMESTAMPTZ NOT NULL,
    override_health TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    override_actor TEXT NOT NULL DEFAULT '',
    override_time TIMESTAMPTZ,
    revision BIGINT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_organization ON projects (owning_organization, id);
CREATE TABLE IF NOT EXISTS milestones (
    id TEXT PRIMARY KEY COLLATE \"C\",
    project_id TEXT NOT NULL COLLATE \"C\" REFERENCES projects (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    due_time TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    percent_complete INTEGER NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS milestones_by_project ON milestones (project_id, due_time);
CREATE TABLE IF NOT EXISTS baselines (
    id TEXT PRIMARY KEY COLLATE \"C\",
    project_id TEXT NOT NULL COLLATE \"C\" REFERENCES projects (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    target_end_time TIMESTAMPTZ NOT NULL,
    currency_code TEXT NOT NULL DEFAULT '',
    planned_units BIGINT,
    planned_nanos INTEGER,
    milestones TEXT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS baselines_name_in_project ON baselines (project_id, display_name)";

const SQLITE: &str = "
CREATE TABLE IF NOT EXISTS commitments (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    stakeholder TEXT NOT NULL,
    made_in TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_time TEXT,
    priority TEXT NOT NULL,
    risk TEXT NOT NULL,
    state TEXT NOT NULL,
    referred_to TEXT NOT NULL DEFAULT '',
    satisfaction INTEGER NOT NULL DEFAULT 0,
    satisfaction_note TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '[]',
    history TEXT NOT NULL DEFAULT '[]',
    close_time TEXT,
    revision INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commitments_by_owner ON commitments (owner, id);
CREATE INDEX IF NOT EXISTS commitments_by_stakeholder ON commitments (stakeholder, id);
CREATE INDEX IF NOT EXISTS commitments_by_state_and_due ON commitments (state, due_time);
CREATE TABLE IF NOT EXISTS commitment_links (
    commitment_id TEXT NOT NULL REFERENCES commitments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    link TEXT NOT NULL,
    PRIMARY KEY (commitment_id, position)
);
CREATE INDEX IF NOT EXISTS commitment_links_by_link ON commitment_links (link, commitment_id);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    objective TEXT NOT NULL DEFAULT '',
    owning_organization TEXT NOT NULL,
    currency_code TEXT NOT NULL DEFAULT '',
    planned_units INTEGER,
    planned_nanos INTEGER,
    actual_units INTEGER,
    actual_nanos INTEGER,
    start_time TEXT NOT NULL,
    target_end_time TEXT NOT NULL,
    override_health TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    override_actor TEXT NOT NULL DEFAULT '',
    override_time TEXT,
    revision INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_organization ON projects (owning_organization, id);
CREATE TABLE IF NOT EXISTS milestones (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    due_time TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    percent_complete INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS milestones_by_project ON milestones (project_id, due_time);
CREATE TABLE IF NOT EXISTS baselines (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    target_end_time TEXT NOT NULL,
    currency_code TEXT NOT NULL DEFAULT '',
    planned_units INTEGER,
    planned_nanos INTEGER,
    milestones TEXT NOT NULL,
    create_time TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS baselines_name_in_project ON baselines (project_id, display_name)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        liaison_runtime::db::execute_script_of_engine(manager.get_connection(), POSTGRES, SQLITE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["baselines", "milestones", "projects", "commitment_links", "commitments"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
