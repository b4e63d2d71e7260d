//! `baselines`: named snapshots of a project's plan, never changed once taken; a name is unique within its project
//! (a unique index).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "baselines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub target_end_time: DateTimeUtc,
    /// The planned budget then: its currency (empty when unset), units and billionths.
    pub currency_code: String,
    pub planned_units: Option<i64>,
    pub planned_nanos: Option<i32>,
    /// JSON list of `domain::project::Planned`: every milestone not cancelled then, by due time.
    pub milestones: String,
    pub create_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
