//! `milestones`: the steps of a project's timeline, read by project in due order.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "milestones")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub due_time: DateTimeUtc,
    /// `not_started`, `in_progress`, `done` or `cancelled` (`domain::project::MilestoneStatus`).
    pub status: String,
    /// `contacts/{id}`, or empty.
    pub owner: String,
    /// 0 to 100; 100 when done.
    pub percent_complete: i32,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
