//! `case_parties`: the parties of each case, in the order given.
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
}

impl ActiveModelBehavior for ActiveModel {}
