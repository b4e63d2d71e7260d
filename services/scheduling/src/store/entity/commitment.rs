//! `commitments`: one row per commitment. Its history and evidence are JSON lists read and written whole with it
//! (`domain::commitment::{Transition, Evidence}`), never queried inside; what it is linked to is in `link`.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commitments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub description: String,
    /// `contacts/{id}` or `organizations/{id}`.
    pub stakeholder: String,
    /// `interactions/{id}`, `meetings/{id}`, `cases/{id}`, or empty.
    pub made_in: String,
    /// `informal` or `contractual` (`domain::commitment::Kind`).
    pub kind: String,
    /// `contacts/{id}`.
    pub owner: String,
    pub due_time: Option<DateTimeUtc>,
    /// `low`, `medium`, `high` or `critical`.
    pub priority: String,
    /// `low`, `medium` or `high`.
    pub risk: String,
    /// `open`, `assessed`, `in_progress`, `closed` or `referred` (`domain::commitment::State`).
    pub state: String,
    /// To whom it was referred; empty unless it is.
    pub referred_to: String,
    /// 1 to 5 as recorded at the last close-out, 0 when not recorded.
    pub satisfaction: i32,
    pub satisfaction_note: String,
    /// JSON list of `domain::commitment::Evidence`, oldest first.
    pub evidence: String,
    /// JSON list of `domain::commitment::Transition`, oldest first.
    pub history: String,
    /// When it was last closed or referred.
    pub close_time: Option<DateTimeUtc>,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}

/// `commitment_links`: the action items and milestones that deliver a commitment, in order (action items first),
/// indexed by link so that a linked resource finds its commitments.
pub mod link {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "commitment_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub commitment_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        /// `actionItems/{id}` or `projects/{p}/milestones/{m}`.
        pub link: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
