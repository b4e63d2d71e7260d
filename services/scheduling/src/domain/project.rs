//! Projects, free of I/O: their names (`projects/{id}`, and `projects/{p}/milestones/{id}` and
//! `projects/{p}/baselines/{id}` under them), budgets, milestones, and what is computed on read — a project's
//! health from its milestones and budget (unless overridden by hand, with a reason) and how it moved since a
//! baseline.
use super::Collector;
use super::commitment::wire_enum;
use super::lifecycle::precondition;
use chrono::{DateTime, TimeDelta, Utc};
use liaison_proto::scheduling::v1 as wire;
use liaison_runtime::api::names::{Contacts, Name, Organizations};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{long_text, required_text};
use liaison_runtime::{Error, FieldViolation, PreconditionViolation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use uuid::Uuid;

pub const DISPLAY_NAME_MAX: usize = 200;
pub const OBJECTIVE_MAX: usize = 4000;
pub const OVERRIDE_REASON_MAX: usize = 500;
pub const MILESTONE_TITLE_MAX: usize = 200;
pub const BASELINE_NAME_MAX: usize = 100;
/// The most milestones a project has: ListMilestones answers them all in one response.
pub const MILESTONES_MAX: usize = 500;
/// The most baselines a project has: ListBaselines answers them all (each with up to 500 milestones).
pub const BASELINES_MAX: usize = 100;
/// A milestone this long past due, not done, puts its project off track.
pub const OFF_TRACK_LATENESS: TimeDelta = TimeDelta::days(14);
/// A milestone due this soon and less than half complete puts its project at risk.
pub const AT_RISK_HORIZON: TimeDelta = TimeDelta::days(7);

pub const MILESTONE_AFTER_PROJECT_END: &str = "MILESTONE_AFTER_PROJECT_END";
pub const TOO_MANY_MILESTONES: &str = "TOO_MANY_MILESTONES";
pub const TOO_MANY_BASELINES: &str = "TOO_MANY_BASELINES";

pub use liaison_runtime::api::names::Projects;

/// A collection under a project.
pub trait ChildCollection {
    const SEGMENT: &'static str;
}

/// `projects/{p}/milestones/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Milestones {}

impl ChildCollection for Milestones {
    const SEGMENT: &'static str = "milestones";
}

/// `projects/{p}/baselines/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Baselines {}

impl ChildCollection for Baselines {
    const SEGMENT: &'static str = "baselines";
}

/// The name of a resource of collection `C` under a project, `projects/{p}/{C}/{id}`; both ids UUIDv7.
pub struct Child<C> {
    pub project: Name<Projects>,
    id: Uuid,
    collection: PhantomData<C>,
}

pub type MilestoneName = Child<Milestones>;
pub type BaselineName = Child<Baselines>;

impl<C> Clone for Child<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Child<C> {}
impl<C> PartialEq for Child<C> {
    fn eq(&self, other: &Self) -> bool {
        (self.project, self.id) == (other.project, other.id)
    }
}
impl<C> Eq for Child<C> {}
impl<C> std::hash::Hash for Child<C> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.project.id(), self.id).hash(state)
    }
}

impl<C: ChildCollection> Child<C> {
    /// A new name under `project` with a fresh UUIDv7.
    pub fn generate(project: Name<Projects>) -> Self {
        Self { project, id: Uuid::now_v7(), collection: PhantomData }
    }

    /// Parses `projects/{uuid}/{C}/{uuid}`; `field` names the request field in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let form = || format!("'{value}' is not a name of the form projects/{{project}}/{}/{{id}}", C::SEGMENT);
        if value.is_empty() {
            return Err(FieldViolation::new(field, format!("is required: projects/{{project}}/{}/{{id}}", C::SEGMENT)));
        }
        let uuid = |raw: &str| Uuid::try_parse(raw).ok().filter(|id| id.to_string() == raw);
        match value.split('/').collect::<Vec<_>>().as_slice() {
            ["projects", project, segment, id] if *segment == C::SEGMENT => match (uuid(project), uuid(id)) {
                (Some(project), Some(id)) => Ok(Self { project: Name::from_id(project), id, collection: PhantomData }),
                _ => Err(FieldViolation::new(field, form())),
            },
            _ => Err(FieldViolation::new(field, form())),
        }
    }

    /// Rebuilds a name from the ids this service stored.
    pub fn from_keys(project: &str, id: &str) -> Result<Self, Error> {
        Self::parse("stored name", &format!("projects/{project}/{}/{id}", C::SEGMENT))
            .map_err(|v| Error::Internal(v.description))
    }

    /// The id as stored (lower-case hyphenated, which sorts like the UUIDv7).
    pub fn key(&self) -> String {
        self.id.to_string()
    }
}

impl<C: ChildCollection> fmt::Display for Child<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.project, C::SEGMENT, self.id)
    }
}

impl<C: ChildCollection> fmt::Debug for Child<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

wire_enum! {
    /// How a project stands.
    Health: ProjectHealth { OnTrack = "on_track", AtRisk = "at_risk", OffTrack = "off_track" }
}
wire_enum! {
    /// Where a milestone stands.
    MilestoneStatus: MilestoneStatus { NotStarted = "not_started", InProgress = "in_progress", Done = "done",
    Cancelled = "cancelled" }
}

/// An amount of money, as google.type.Money: `units` and `nanos` share their sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub currency: String,
    pub units: i64,
    pub nanos: i32,
}

const NANOS_PER_UNIT: i128 = 1_000_000_000;

impl Money {
    /// A budget: a three-letter upper-case ISO 4217 code, 0 or more units, nanos 0 to 999,999,999.
    pub fn parse(field: &str, money: &wire::Money) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Vec::new();
        let code = &money.currency_code;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            bad.push(FieldViolation::new(
                format!("{field}.currency_code"),
                format!("'{code}' is not an ISO 4217 code of three upper-case letters, e.g. EUR"),
            ));
        }
        if money.units < 0 {
            bad.push(FieldViolation::new(format!("{field}.units"), format!("must be 0 or more (got {})", money.units)));
        }
        if !(0..1_000_000_000).contains(&money.nanos) {
            bad.push(FieldViolation::new(format!("{field}.nanos"), "must be 0 to 999,999,999"));
        }
        if bad.is_empty() {
            Ok(Self { currency: code.clone(), units: money.units, nanos: money.nanos })
        } else {
            Err(bad)
        }
    }

    /// The amount in billionths of a unit.
    pub fn total(&self) -> i128 {
        i128::from(self.units) * NANOS_PER_UNIT + i128::from(self.nanos)
    }

    /// `total` billionths in `currency`, units and nanos of one sign (saturating at the range of the units).
    pub fn from_total(currency: &str, total: i128) -> Self {
        let units = (total / NANOS_PER_UNIT).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        Self { currency: currency.to_owned(), units, nanos: (total % NANOS_PER_UNIT) as i32 }
    }

    pub fn to_wire(&self) -> wire::Money {
        wire::Money { currency_code: self.currency.clone(), units: self.units, nanos: self.nanos }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.total() < 0 { "-" } else { "" };
        let (units, nanos) = (self.units.unsigned_abs(), self.nanos.unsigned_abs());
        if nanos == 0 {
            write!(f, "{} {sign}{units}", self.currency)
        } else {
            let fraction = format!("{nanos:09}");
            write!(f, "{} {sign}{units}.{}", self.currency, fraction.trim_end_matches('0'))
        }
    }
}

/// A project's plan holds together: it ends after it starts (`span`, when both are known), and what is spent is
/// counted in the currency of what is planned. Every violation, named by the fields of `project`.
pub fn check_plan(
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    planned: Option<&Money>,
    actual: Option<&Money>,
) -> Vec<FieldViolation> {
    let mut bad = Vec::new();
    if let Some((start, end)) = span
        && end <= start
    {
        bad.push(FieldViolation::new("project.target_end_time", "must be after project.start_time"));
    }
    if let (Some(planned), Some(actual)) = (planned, actual)
        && planned.currency != actual.currency
    {
        bad.push(FieldViolation::new(
            "project.actual_budget.currency_code",
            format!("must be {}, the currency of project.planned_budget: a project has one currency", planned.currency),
        ));
    }
    bad
}

/// A manual health with its reason, as asked; the actor and the time are the service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOverride {
    pub health: Health,
    pub reason: String,
}

/// A health override: `None` when absent or empty (which clears one); otherwise a health and a reason.
pub fn health_override(
    field: &str,
    value: Option<&wire::HealthOverride>,
) -> Result<Option<NewOverride>, Vec<FieldViolation>> {
    let Some(value) = value.filter(|v| v.health != 0 || !v.reason.is_empty()) else { return Ok(None) };
    let health = Health::from_wire(&format!("{field}.health"), value.health).and_then(|h| {
        h.ok_or_else(|| FieldViolation::new(format!("{field}.health"), "is required: ON_TRACK, AT_RISK or OFF_TRACK"))
    });
    let reason = required_text(&format!("{field}.reason"), &value.reason, OVERRIDE_REASON_MAX);
    match (health, reason) {
        (Ok(health), Ok(reason)) => Ok(Some(NewOverride { health, reason })),
        (health, reason) => Err(health.err().into_iter().chain(reason.err()).collect()),
    }
}

/// The fields of a project a client sets, checked; on update only those in the mask (the others `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFields {
    pub display_name: Option<String>,
    pub objective: Option<String>,
    pub owning_organization: Option<Name<Organizations>>,
    pub planned_budget: Option<Option<Money>>,
    pub actual_budget: Option<Option<Money>>,
    pub start: Option<DateTime<Utc>>,
    pub target_end: Option<DateTime<Utc>>,
    pub health_override: Option<Option<NewOverride>>,
}

impl ProjectFields {
    /// Every bad field of `p` among those `wanted`, named at once; when all of the plan is read (a create) it
    /// is checked as a whole too ([`check_plan`]).
    pub fn parse(p: &wire::Project, wanted: impl Fn(&str) -> bool) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let money = |field: &str, value: Option<&wire::Money>| value.map(|m| Money::parse(field, m)).transpose();
        let display_name = wanted("display_name")
            .then(|| bad.take(required_text("project.display_name", &p.display_name, DISPLAY_NAME_MAX)));
        let objective =
            wanted("objective").then(|| bad.take(long_text("project.objective", &p.objective, OBJECTIVE_MAX)));
        let owning_organization = wanted("owning_organization")
            .then(|| bad.take(Name::<Organizations>::parse("project.owning_organization", &p.owning_organization)));
        let planned_budget =
            wanted("planned_budget").then(|| bad.take(money("project.planned_budget", p.planned_budget.as_ref())));
        let actual_budget =
            wanted("actual_budget").then(|| bad.take(money("project.actual_budget", p.actual_budget.as_ref())));
        let start = wanted("start_time").then(|| bad.take(from_timestamp("project.start_time", p.start_time.as_ref())));
        let target_end = wanted("target_end_time")
            .then(|| bad.take(from_timestamp("project.target_end_time", p.target_end_time.as_ref())));
        let health_override = wanted("health_override")
            .then(|| bad.take(health_override("project.health_override", p.health_override.as_ref())));
        // The plan as a whole, as far as its parts parsed: the span whenever both times did, the currencies
        // whenever both budgets did.
        let span = match (start, target_end) {
            (Some(Some(start)), Some(Some(end))) => Some((start, end)),
            _ => None,
        };
        fn budget(read: &Option<Option<Option<Money>>>) -> Option<&Money> {
            read.as_ref().and_then(Option::as_ref).and_then(Option::as_ref)
        }
        bad.0.extend(check_plan(span, budget(&planned_budget), budget(&actual_budget)));
        if !bad.0.is_empty() {
            return Err(bad.0);
        }
        Ok(Self {
            display_name: display_name.flatten(),
            objective: objective.flatten(),
            owning_organization: owning_organization.flatten(),
            planned_budget: planned_budget.flatten(),
            actual_budget: actual_budget.flatten(),
            start: start.flatten(),
            target_end: target_end.flatten(),
            health_override: health_override.flatten(),
        })
    }
}

/// The fields of a milestone a client sets, checked; on update only those in the mask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MilestoneFields {
    pub title: Option<String>,
    pub due: Option<DateTime<Utc>>,
    pub status: Option<MilestoneStatus>,
    pub owner: Option<Option<Name<Contacts>>>,
    pub percent: Option<i32>,
}

impl MilestoneFields {
    pub fn parse(m: &wire::Milestone, wanted: impl Fn(&str) -> bool) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let title = wanted("title").then(|| bad.take(required_text("milestone.title", &m.title, MILESTONE_TITLE_MAX)));
        let due = wanted("due_time").then(|| bad.take(from_timestamp("milestone.due_time", m.due_time.as_ref())));
        let status = wanted("status").then(|| {
            bad.take(
                MilestoneStatus::from_wire("milestone.status", m.status)
                    .map(|s| s.unwrap_or(MilestoneStatus::NotStarted)),
            )
        });
        let owner = wanted("owner").then(|| {
            bad.take((!m.owner.is_empty()).then(|| Name::<Contacts>::parse("milestone.owner", &m.owner)).transpose())
        });
        let percent = wanted("percent_complete").then(|| {
            bad.take(if (0..=100).contains(&m.percent_complete) {
                Ok(m.percent_complete)
            } else {
                Err(FieldViolation::new(
                    "milestone.percent_complete",
                    format!("must be 0 to 100 (got {})", m.percent_complete),
                ))
            })
        });
        if !bad.0.is_empty() {
            return Err(bad.0);
        }
        Ok(Self {
            title: title.flatten(),
            due: due.flatten(),
            status: status.flatten(),
            owner: owner.flatten(),
            percent: percent.flatten(),
        })
    }
}

/// A milestone's percent complete as kept: DONE means 100.
pub fn settled_percent(status: MilestoneStatus, percent: i32) -> i32 {
    if status == MilestoneStatus::Done { 100 } else { percent }
}

/// A linked milestone's share of a commitment's progress: its percent complete; a cancelled one is left out.
pub fn milestone_share(status: MilestoneStatus, percent: i32) -> Option<i32> {
    match status {
        MilestoneStatus::Cancelled => None,
        status => Some(settled_percent(status, percent)),
    }
}

/// A milestone as health and comparisons read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneFacts {
    /// `projects/{p}/milestones/{id}`.
    pub name: String,
    pub title: String,
    pub due: DateTime<Utc>,
    pub status: MilestoneStatus,
    pub percent: i32,
}

/// A milestone due after its project's end is refused unless the request allows it. The violation names the
/// milestone when it exists (an update), else the project (a create).
pub fn check_due(milestone: Option<&str>, due: DateTime<Utc>, project: &str, end: DateTime<Utc>) -> Result<(), Error> {
    if due <= end {
        return Ok(());
    }
    let what = milestone.map_or_else(|| "a milestone".to_owned(), |m| format!("milestone {m}"));
    Err(precondition(
        MILESTONE_AFTER_PROJECT_END,
        milestone.unwrap_or(project),
        format!(
            "{what} due on {} would be after the end of {project} on {}: set allow_after_project_end to plan it \
             anyway, or move the project's end",
            day(due),
            day(end)
        ),
    ))
}

/// The milestones that a move of a project's end from `old_end` to `new_end` would leave after it: those due by
/// the old end and after the new one (cancelled ones are dropped from the plan; one already after the old end was
/// allowed there on purpose). One violation each.
pub fn stranded(
    milestones: &[MilestoneFacts],
    old_end: DateTime<Utc>,
    new_end: DateTime<Utc>,
) -> Vec<PreconditionViolation> {
    milestones
        .iter()
        .filter(|m| m.status != MilestoneStatus::Cancelled && m.due > new_end && m.due <= old_end)
        .map(|m| PreconditionViolation {
            kind: MILESTONE_AFTER_PROJECT_END.to_owned(),
            subject: m.name.clone(),
            description: format!(
                "{} ('{}') is due on {}, after the new end on {}: move it first",
                m.name,
                m.title,
                day(m.due),
                day(new_end)
            ),
        })
        .collect()
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A project's health with one sentence per finding, off-track findings first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub health: Health,
    pub reasons: Vec<String>,
}

/// How a project stands at `now`: OFF_TRACK when a milestone is more than 14 days past due and not done, or
/// spending exceeds the plan by more than 10%; AT_RISK when a milestone is past due and not done, a milestone due
/// within 7 days is less than half complete, or spending exceeds the plan; ON_TRACK otherwise (no reasons).
/// Cancelled milestones are out of the plan; budgets count only when both are set.
pub fn assess(
    milestones: &[MilestoneFacts],
    planned: Option<&Money>,
    actual: Option<&Money>,
    now: DateTime<Utc>,
) -> Assessment {
    let (mut off_track, mut at_risk) = (Vec::new(), Vec::new());
    for m in milestones.iter().filter(|m| !matches!(m.status, MilestoneStatus::Done | MilestoneStatus::Cancelled)) {
        let which = format!("Milestone '{}' ({})", m.title, m.name);
        if m.due < now && now - m.due > OFF_TRACK_LATENESS {
            off_track.push(format!("{which} was due on {}, more than 14 days ago, and is not done.", day(m.due)));
        } else if m.due < now {
            at_risk.push(format!("{which} was due on {} and is not done.", day(m.due)));
        } else if m.due - now <= AT_RISK_HORIZON && m.percent < 50 {
            at_risk.push(format!("{which} is due on {}, within 7 days, and only {}% complete.", day(m.due), m.percent));
        }
    }
    if let (Some(planned), Some(actual)) = (planned, actual)
        && planned.currency == actual.currency
    {
        if actual.total() * 10 > planned.total() * 11 {
            off_track.push(format!("Spending ({actual}) exceeds the plan ({planned}) by more than 10%."));
        } else if actual.total() > planned.total() {
            at_risk.push(format!("Spending ({actual}) exceeds the plan ({planned})."));
        }
    }
    let health = match (off_track.is_empty(), at_risk.is_empty()) {
        (false, _) => Health::OffTrack,
        (true, false) => Health::AtRisk,
        (true, true) => Health::OnTrack,
    };
    off_track.extend(at_risk);
    Assessment { health, reasons: off_track }
}

/// A milestone as a baseline keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    /// `projects/{p}/milestones/{id}`.
    pub milestone: String,
    pub title: String,
    /// RFC 3339.
    pub due: String,
    pub percent: i32,
}

/// What a baseline keeps of a project's milestones: every one not cancelled, by due time.
pub fn plan_of(milestones: &[MilestoneFacts]) -> Vec<Planned> {
    let mut kept: Vec<&MilestoneFacts> = milestones.iter().filter(|m| m.status != MilestoneStatus::Cancelled).collect();
    kept.sort_by(|a, b| (a.due, &a.name).cmp(&(b.due, &b.name)));
    kept.into_iter()
        .map(|m| Planned {
            milestone: m.name.clone(),
            title: m.title.clone(),
            due: super::lifecycle::rfc3339(m.due),
            percent: settled_percent(m.status, m.percent),
        })
        .collect()
}

/// How one milestone moved since a baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variance {
    pub milestone: String,
    pub title: String,
    pub baseline_due: Option<DateTime<Utc>>,
    pub current_due: Option<DateTime<Utc>>,
    pub slip_days: i32,
    pub progress_change: i32,
    /// ADDED, REMOVED, SLIPPED, AHEAD or ON_PLAN.
    pub change: &'static str,
}

/// Whole days from `from` to `to` (positive: later), truncated toward zero.
pub fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    (to - from).num_days().clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Every milestone of the baseline (by its due time then) and every one added since (by due time, last), each
/// with its slip in whole days and its change of progress. A milestone of the baseline that is cancelled now is
/// REMOVED; one of today that the baseline did not have (new, or cancelled then) is ADDED; the others SLIPPED,
/// AHEAD or ON_PLAN by their slip in whole days.
pub fn compare(baseline: &[Planned], current: &[MilestoneFacts]) -> Vec<Variance> {
    let live = |name: &str| current.iter().find(|m| m.name == name && m.status != MilestoneStatus::Cancelled);
    let mut variances = Vec::with_capacity(baseline.len());
    let mut planned: Vec<(&Planned, Option<DateTime<Utc>>)> =
        baseline.iter().map(|p| (p, super::lifecycle::parse_rfc3339(&p.due))).collect();
    planned.sort_by(|a, b| (a.1, &a.0.milestone).cmp(&(b.1, &b.0.milestone)));
    for (then, then_due) in planned {
        let now_percent = |m: &MilestoneFacts| settled_percent(m.status, m.percent);
        let variance = match live(&then.milestone) {
            Some(now) => {
                let slip = then_due.map_or(0, |due| whole_days(due, now.due));
                Variance {
                    milestone: then.milestone.clone(),
                    title: now.title.clone(),
                    baseline_due: then_due,
                    current_due: Some(now.due),
                    slip_days: slip,
                    progress_change: now_percent(now) - then.percent,
                    change: match slip {
                        s if s > 0 => "SLIPPED",
                        s if s < 0 => "AHEAD",
                        _ => "ON_PLAN",
                    },
                }
            }
            None => {
                let cancelled = current.iter().find(|m| m.name == then.milestone);
                Variance {
                    milestone: then.milestone.clone(),
                    title: then.title.clone(),
                    baseline_due: then_due,
                    current_due: None,
                    slip_days: 0,
                    progress_change: cancelled.map_or(0, now_percent) - then.percent,
                    change: "REMOVED",
                }
            }
        };
        variances.push(variance);
    }
    let mut added: Vec<&MilestoneFacts> = current
        .iter()
        .filter(|m| m.status != MilestoneStatus::Cancelled && !baseline.iter().any(|p| p.milestone == m.name))
        .collect();
    added.sort_by(|a, b| (a.due, &a.name).cmp(&(b.due, &b.name)));
    variances.extend(added.into_iter().map(|m| Variance {
        milestone: m.name.clone(),
        title: m.title.clone(),
        baseline_due: None,
        current_due: Some(m.due),
        slip_days: 0,
        progress_change: settled_percent(m.status, m.percent),
        change: "ADDED",
    }));
    variances
}

/// Spending now minus the budget then, and whether it exceeds it; `None` unless both are set in one currency.
pub fn budget_variance(planned_then: Option<&Money>, actual_now: Option<&Money>) -> Option<(Money, bool)> {
    match (planned_then, actual_now) {
        (Some(planned), Some(actual)) if planned.currency == actual.currency => Some((
            Money::from_total(&actual.currency, actual.total() - planned.total()),
            actual.total() > planned.total(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
