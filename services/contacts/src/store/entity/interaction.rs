//! `interactions`: the engagement log; participants are in `interaction_parties`.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub channel: i32,
    pub direction: i32,
    pub occur_time: DateTimeUtc,
    pub subject: String,
    pub summary: String,
    pub sentiment: i32,
    /// The follow-up exists when `follow_up_due_date` is set.
    pub follow_up_action: String,
    pub follow_up_owner: String,
    /// `YYYY-MM-DD`
    pub follow_up_due_date: Option<String>,
    pub follow_up_done: bool,
    /// JSON list of resource names.
    pub links: String,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
