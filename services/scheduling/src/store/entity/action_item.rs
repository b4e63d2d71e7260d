//! `action_items`: one row per action item, with its source meeting and its place in that meeting's list.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "action_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub description: String,
    /// `contacts/{id}`.
    pub owner: String,
    pub due_time: Option<DateTimeUtc>,
    /// The source meeting's id, if any.
    pub meeting_id: Option<String>,
    /// Its place among the source meeting's action items.
    pub position: i32,
    /// `open`, `done` or `cancelled` (`domain::action_item::State`).
    pub state: String,
    pub completion_note: String,
    pub close_time: Option<DateTimeUtc>,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
