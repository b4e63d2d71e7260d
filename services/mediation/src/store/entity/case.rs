//! `cases`: one row per case, its SLA clocks as instants and, in `details`, what is only read whole with it.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub description: String,
    /// The coarse `CaseState` earlier clients read, kept in step with `stage`.
    pub state: i32,
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
    pub reference: String,
    pub remedy_sought: String,
    pub category: i32,
    pub severity: i32,
    pub intake_channel: i32,
    pub raised_by: String,
    pub confidential: bool,
    pub stage: i32,
    pub outcome: i32,
    pub mediator: String,
    pub escalation_level: i32,
    pub escalated_to: String,
    pub stage_start_time: Option<DateTimeUtc>,
    pub stage_days: i32,
    pub stage_at_risk_time: Option<DateTimeUtc>,
    pub stage_due_time: Option<DateTimeUtc>,
    pub case_days: i32,
    pub case_at_risk_time: Option<DateTimeUtc>,
    pub case_due_time: Option<DateTimeUtc>,
    /// The earlier at-risk instant of the two clocks (frozen at closure); what `sla_status = AT_RISK` filters on.
    pub risk_time: Option<DateTimeUtc>,
    /// The earlier due instant of the two clocks (frozen at closure); what `sla_status = BREACHED` filters on.
    pub breach_time: Option<DateTimeUtc>,
    pub close_time: Option<DateTimeUtc>,
    pub appeal_deadline: Option<DateTimeUtc>,
    pub agreement: String,
    /// JSON of [`crate::store::Details`].
    pub details: String,
}

impl ActiveModelBehavior for ActiveModel {}
