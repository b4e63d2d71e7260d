//! `meeting_links`: the resources a meeting belongs to, in order, indexed by link for ListMeetings' filter.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub link: String,
}

impl ActiveModelBehavior for ActiveModel {}
