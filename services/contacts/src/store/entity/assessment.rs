//! `assessments`: dated stakeholder assessments of parties; at most one per party per day.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Resource name of the party (`contacts/{id}` or `organizations/{id}`).
    pub party: String,
    /// `YYYY-MM-DD`
    pub assessment_date: String,
    pub influence: i32,
    pub interest: i32,
    pub impact: i32,
    /// Derived from influence and interest; stored so that lists filter on it.
    pub quadrant: i32,
    pub comment: String,
    pub create_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
