//! `merges`: one row per merge, with what is needed to undo it (UnmergeContacts).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub survivor_id: String,
    pub merged_id: String,
    pub merge_time: DateTimeUtc,
    /// Set when the merge is undone; at most one merge of a contact is not undone (a partial unique index).
    pub unmerge_time: Option<DateTimeUtc>,
    /// JSON `store::merge::ContactSnapshot` of the survivor before the merge.
    pub survivor_before: String,
    /// JSON `store::merge::ContactSnapshot` of the merged contact before the merge.
    pub merged_before: String,
    /// JSON list of `store::merge::LinkMove`, in the order they were made.
    pub link_moves: String,
    /// JSON `store::merge::ContactSnapshot` of the survivor as the merge left it; `None` for merges recorded
    /// before it was kept.
    pub survivor_after: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
