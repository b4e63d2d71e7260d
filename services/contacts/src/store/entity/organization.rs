//! `organizations`: one row per organisation.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub display_name: String,
    pub kind: i32,
    pub website: String,
    pub notes: String,
    pub parent_id: Option<String>,
    /// JSON `domain::organizations::PostalAddress`, or empty.
    pub postal_address: String,
    /// `,a,b,` (see `domain::labels::labels_column`).
    pub labels: String,
    /// The folded display name, for contact search.
    pub search_text: String,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
