//! `contacts`: one row per person.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: String,
    pub time_zone: String,
    pub notes: String,
    /// JSON list of `domain::channels::Channel`; `email` holds the primary one.
    pub emails: String,
    /// JSON list of `domain::channels::Channel`; `phone` holds the primary one.
    pub phones: String,
    pub preferred_channel: i32,
    /// JSON list of BCP-47 tags.
    pub languages: String,
    /// JSON list of `domain::contacts::WorkingInterval`.
    pub working_hours: String,
    /// `,a,b,` (see `domain::labels::labels_column`).
    pub labels: String,
    /// JSON `domain::channels::ConsentRecord`.
    pub consent: String,
    pub do_not_contact: bool,
    pub uid: String,
    pub delete_time: Option<DateTimeUtc>,
    /// The survivor this contact was merged into.
    pub merged_into: Option<String>,
    /// Folded names and email addresses, for search.
    pub search_text: String,
    /// JSON list of `FieldProvenance` for a merge survivor.
    pub provenance: String,
    /// JSON list of the names of contacts merged into this one.
    pub merged_names: String,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
