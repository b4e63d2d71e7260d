//! `sources`: how far each followed feed has been applied.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    pub cursor: i64,
    pub applied_count: i64,
    pub last_change_time: Option<DateTimeUtc>,
    pub last_applied_time: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
