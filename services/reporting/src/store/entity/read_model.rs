//! `read_model`: one row per resource of another service that the dashboard counts.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "read_model")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_name: String,
    pub collection: String,
    pub is_open: bool,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
