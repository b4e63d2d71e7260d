//! `interaction_parties`: who took part in which interaction, in the order given; indexed by party so that a
//! party's interactions are an index lookup.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interaction_parties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub interaction_id: String,
    /// Resource name of the party (`contacts/{id}` or `organizations/{id}`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub party: String,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
