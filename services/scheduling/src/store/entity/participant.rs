//! `meeting_participants`: who takes part in which meeting, in the order given.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub contact: String,
    pub optional: bool,
    /// `needs_action`, `accepted`, `declined` or `tentative` (`domain::Rsvp`).
    pub rsvp: String,
    pub comment: String,
}

impl ActiveModelBehavior for ActiveModel {}
