//! The read model of issue 20 and what reporting keeps of its own: `facts` (one row per resource of the other
//! services, its wire form and the interval in which it matters, instants as microseconds since the epoch so that
//! both engines compare them as integers), `status_changes` (a project's health changing, seen by ingestion),
//! `feedback`, `reports` with `report_evidence` (the records each figure counted, in chunks of a thousand), and
//! `report_schedules` with `report_runs` (one row per schedule and due time: whoever inserts it runs it).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

const SCRIPT: &str = "
DROP TABLE IF EXISTS read_model;
CREATE TABLE IF NOT EXISTS facts (
    resource_name TEXT PRIMARY KEY {c},
    collection TEXT NOT NULL {c},
    source TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    change_time BIGINT NOT NULL,
    parent TEXT {c},
    active_from BIGINT NOT NULL,
    active_until BIGINT NOT NULL,
    done_at BIGINT,
    is_open {bool} NOT NULL,
    confidential {bool} NOT NULL,
    payload {bytes} NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_by_until ON facts (collection, active_until);
CREATE INDEX IF NOT EXISTS facts_by_from ON facts (collection, active_from);
CREATE INDEX IF NOT EXISTS facts_by_parent ON facts (parent);
CREATE TABLE IF NOT EXISTS status_changes (
    resource_name TEXT NOT NULL {c},
    sequence BIGINT NOT NULL,
    change_time BIGINT NOT NULL,
    from_status INTEGER NOT NULL,
    to_status INTEGER NOT NULL,
    PRIMARY KEY (resource_name, sequence)
);
CREATE INDEX IF NOT EXISTS status_changes_by_time ON status_changes (change_time);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY {c},
    subject TEXT NOT NULL {c},
    subject_type TEXT NOT NULL {c},
    author TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL,
    tags TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_subject ON feedback (subject, id);
CREATE INDEX IF NOT EXISTS feedback_by_type ON feedback (subject_type, id);
CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback (create_time);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY {c},
    schedule TEXT NOT NULL {c},
    create_time BIGINT NOT NULL,
    content {bytes} NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_schedule ON reports (schedule, id);
CREATE TABLE IF NOT EXISTS report_evidence (
    report_id TEXT NOT NULL {c},
    figure TEXT NOT NULL {c},
    chunk INTEGER NOT NULL,
    method TEXT NOT NULL,
    records {bytes} NOT NULL,
    PRIMARY KEY (report_id, figure, chunk)
);
CREATE TABLE IF NOT EXISTS report_schedules (
    id TEXT PRIMARY KEY {c},
    content {bytes} NOT NULL,
    next_run BIGINT NOT NULL,
    last_report TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS report_schedules_by_next_run ON report_schedules (next_run);
CREATE TABLE IF NOT EXISTS report_runs (
    schedule_id TEXT NOT NULL {c},
    due_time BIGINT NOT NULL,
    report_id TEXT NOT NULL,
    run_time BIGINT NOT NULL,
    late {bool} NOT NULL,
    PRIMARY KEY (schedule_id, due_time)
);
";

fn script(backend: sea_orm::DbBackend) -> String {
    let (c, bool_type, bytes) = match backend {
        sea_orm::DbBackend::Postgres => (" COLLATE \"C\"", "BOOLEAN", "BYTEA"),
        _ => ("", "BOOLEAN", "BLOB"),
    };
    SCRIPT.replace("{c}", c).replace("{bool}", bool_type).replace("{bytes}", bytes)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let (postgres, sqlite) = (script(sea_orm::DbBackend::Postgres), script(sea_orm::DbBackend::Sqlite));
        liaison_runtime::db::execute_script_of_engine(conn, &postgres, &sqlite).await?;
        // The facts start empty: replay every feed from its first change.
        conn.execute_unprepared("UPDATE sources SET cursor = 0, applied_count = 0, last_change_time = NULL").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for table in
            ["report_runs", "report_schedules", "report_evidence", "reports", "feedback", "status_changes", "facts"]
        {
            conn.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        Ok(())
    }
}
