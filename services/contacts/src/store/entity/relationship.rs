//! `relationships`: typed links between two parties (contacts or organisations).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relationships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Resource name of one side.
    pub party: String,
    /// Resource name of the other side (for symmetric kinds the greater of the two names).
    pub related_party: String,
    pub kind: i32,
    /// `YYYY-MM-DD`
    pub since: Option<String>,
    pub strength: i32,
    pub notes: String,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
