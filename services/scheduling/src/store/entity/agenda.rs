//! `meeting_agenda`: a meeting's agenda items, in order.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_agenda")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub topic: String,
    /// `contacts/{id}`, or empty.
    pub owner: String,
    pub minutes: i32,
}

impl ActiveModelBehavior for ActiveModel {}
