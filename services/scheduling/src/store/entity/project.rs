//! `projects`: one row per project, with its budgets in its one currency and its manual health override, if any.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub display_name: String,
    pub objective: String,
    /// `organizations/{id}`.
    pub owning_organization: String,
    /// ISO 4217 code of both budgets; empty when neither is set.
    pub currency_code: String,
    /// The planned budget, in whole units and billionths; both unset when it is.
    pub planned_units: Option<i64>,
    pub planned_nanos: Option<i32>,
    /// What has been spent, likewise.
    pub actual_units: Option<i64>,
    pub actual_nanos: Option<i32>,
    pub start_time: DateTimeUtc,
    pub target_end_time: DateTimeUtc,
    /// The manual health (`on_track`, `at_risk`, `off_track`), empty when none; with its reason, actor and time.
    pub override_health: String,
    pub override_reason: String,
    pub override_actor: String,
    pub override_time: Option<DateTimeUtc>,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
