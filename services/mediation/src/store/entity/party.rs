//! `case_parties`: the parties of each case with their roles, in the order given.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_parties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub party: String,
    pub role: i32,
}

impl ActiveModelBehavior for ActiveModel {}
