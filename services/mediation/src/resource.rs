//! How stored cases, proposals, prevention actions and notes look on the wire and in the change feed. A case's
//! SLA clocks are computed for an instant: now for reads, the change's time for the feed (where the read-time
//! figures that need the calendar — working days elapsed, age per level — are left out).
use crate::domain::Stage;
use crate::domain::sla::{SlaClock, SlaStatus, WorkingCalendar};
use crate::store::entity::{note, prevention_action};
use crate::store::{StoredCase, StoredProposal, to_chrono, to_jiff};
use chrono::{DateTime, Utc};
use liaison_proto::mediation::v1 as wire;
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::db::resource::Resource;

impl Resource for StoredCase {
    type Wire = wire::Case;
    fn resource_name(&self) -> String {
        StoredCase::resource_name(self)
    }
    fn to_wire(&self) -> wire::Case {
        case(self, self.case.update_time, None)
    }
    fn confidential(&self) -> bool {
        self.case.confidential
    }
}

impl Resource for StoredProposal {
    type Wire = wire::Proposal;
    fn resource_name(&self) -> String {
        self.name()
    }
    fn to_wire(&self) -> wire::Proposal {
        proposal(self)
    }
}

impl Resource for prevention_action::Model {
    type Wire = wire::PreventionAction;
    fn resource_name(&self) -> String {
        format!("cases/{}/preventionActions/{}", self.case_id, self.id)
    }
    fn to_wire(&self) -> wire::PreventionAction {
        prevention_action(self)
    }
}

impl Resource for note::Model {
    type Wire = wire::CaseNote;
    fn resource_name(&self) -> String {
        format!("cases/{}/notes/{}", self.case_id, self.id)
    }
    fn to_wire(&self) -> wire::CaseNote {
        note(self)
    }
}

fn ts(time: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    time.map(to_timestamp)
}

fn status(status: SlaStatus) -> i32 {
    (match status {
        SlaStatus::OnTrack => wire::SlaStatus::OnTrack,
        SlaStatus::AtRisk => wire::SlaStatus::AtRisk,
        SlaStatus::Breached => wire::SlaStatus::Breached,
    }) as i32
}

/// One clock as of `at`; the working days elapsed only when the calendar is at hand.
fn clock(
    start: Option<DateTime<Utc>>,
    at_risk: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
    days: i32,
    at: DateTime<Utc>,
    calendar: Option<&WorkingCalendar>,
) -> Option<wire::SlaClock> {
    let (start, at_risk, due) = (start?, at_risk?, due?);
    let sla = SlaClock { start: to_jiff(start), at_risk: to_jiff(at_risk), due: to_jiff(due) };
    Some(wire::SlaClock {
        status: status(sla.status(to_jiff(at))),
        start_time: Some(to_timestamp(start)),
        at_risk_time: Some(to_timestamp(at_risk)),
        due_time: Some(to_timestamp(due)),
        working_days_allowed: days,
        working_days_elapsed: calendar
            .map_or(0, |c| i32::try_from(c.working_days_between(to_jiff(start), to_jiff(at))).unwrap_or(i32::MAX)),
    })
}

/// A case as of `now`, with the read-time figures when `calendar` is given.
pub fn case(stored: &StoredCase, now: DateTime<Utc>, calendar: Option<&WorkingCalendar>) -> wire::Case {
    let c = &stored.case;
    let d = &stored.details;
    // A finished case's clocks stop at its closure.
    let at = c.close_time.map_or(now, |closed| closed.min(now));
    let stage = Stage::from_number(c.stage);
    wire::Case {
        name: stored.resource_name(),
        title: c.title.clone(),
        description: c.description.clone(),
        parties: stored.party_names(),
        state: stage.map_or(0, |s| s.coarse(stored.outcome()) as i32),
        etag: etag::render(c.revision),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
        party_roles: (stored.parties.iter())
            .map(|(party, role)| wire::CaseParty { party: party.clone(), role: role.wire() as i32 })
            .collect(),
        stage: c.stage,
        reference: c.reference.clone(),
        remedy_sought: c.remedy_sought.clone(),
        category: c.category,
        severity: c.severity,
        intake_channel: c.intake_channel,
        raised_by: c.raised_by.clone(),
        confidential: c.confidential,
        mediator: c.mediator.clone(),
        case_team: d.case_team.clone(),
        history: (d.history.iter())
            .map(|h| wire::StageChange {
                from_stage: h.from.map_or(0, |s| s.wire() as i32),
                to_stage: h.to.wire() as i32,
                action: h.action.clone(),
                actor: h.actor.clone(),
                time: Some(to_timestamp(h.time)),
                reason: h.reason.clone(),
                escalation_level: h.escalation_level,
            })
            .collect(),
        outcome: c.outcome,
        escalation_level: c.escalation_level,
        escalated_to: c.escalated_to.clone(),
        stage_sla: clock(c.stage_start_time, c.stage_at_risk_time, c.stage_due_time, c.stage_days, at, calendar),
        case_sla: clock(Some(c.create_time), c.case_at_risk_time, c.case_due_time, c.case_days, at, calendar),
        root_cause: d.root_cause.as_ref().map(|r| r.wire()),
        agreement: c.agreement.clone(),
        age: calendar.map(|calendar| age(stored, at, calendar)).unwrap_or_default(),
        waiver: d.waiver.as_ref().map(|w| wire::ConflictWaiver {
            consents: (w.consents.iter())
                .map(|(party, record)| wire::PartyConsent { party: party.clone(), record: record.clone() })
                .collect(),
            justification: w.justification.clone(),
        }),
        close_time: ts(c.close_time),
        appeal_deadline: ts(c.appeal_deadline),
        confirmation: d
            .confirmation
            .as_ref()
            .map(|c| wire::Confirmation { confirmed_by: c.confirmed_by.clone(), record: c.record.clone() }),
        sessions: d.sessions.clone(),
    }
}

/// Until when (exclusive) the answer [`case`] gives at `now` stays the same: the first instant after `now` at
/// which a clock turns at risk or due, or a working day may be counted (the calendar's next local midnight).
/// `None` when the answer no longer depends on the time: a closed case's clocks stopped at its closure.
pub fn case_stable_until(stored: &StoredCase, now: DateTime<Utc>, calendar: &WorkingCalendar) -> Option<DateTime<Utc>> {
    let c = &stored.case;
    if c.close_time.is_some_and(|closed| closed <= now) {
        return None;
    }
    let next_day = to_chrono(calendar.next_day_start(to_jiff(now)));
    let turns = [c.stage_at_risk_time, c.stage_due_time, c.case_at_risk_time, c.case_due_time, c.close_time];
    Some(turns.into_iter().flatten().filter(|at| *at > now).fold(next_day, DateTime::min))
}

/// Working days spent at each escalation level, from the history: a level runs from the change that entered it
/// to the one that left it (or `at`).
fn age(stored: &StoredCase, at: DateTime<Utc>, calendar: &WorkingCalendar) -> Vec<wire::LevelAge> {
    let mut levels: Vec<wire::LevelAge> = Vec::new();
    let mut since = stored.case.create_time;
    let mut level = (0, String::new());
    let close = |levels: &mut Vec<wire::LevelAge>, level: &(i32, String), from: DateTime<Utc>, to: DateTime<Utc>| {
        let days = i32::try_from(calendar.working_days_between(to_jiff(from), to_jiff(to))).unwrap_or(i32::MAX);
        levels.push(wire::LevelAge { escalation_level: level.0, escalated_to: level.1.clone(), working_days: days });
    };
    for entry in &stored.details.history {
        if entry.escalation_level != level.0 {
            close(&mut levels, &level, since, entry.time);
            (since, level) = (entry.time, (entry.escalation_level, entry.escalated_to.clone()));
        }
    }
    close(&mut levels, &level, since, at.max(since));
    levels
}

pub fn proposal(stored: &StoredProposal) -> wire::Proposal {
    let p = &stored.row;
    wire::Proposal {
        name: stored.name(),
        terms: p.terms.clone(),
        proposed_by: p.proposed_by.clone(),
        state: p.state,
        responses: (stored.responses.iter())
            .map(|r| wire::ProposalResponse {
                party: r.party.clone(),
                answer: r.answer.wire() as i32,
                comment: r.comment.clone(),
                recorded_by: r.recorded_by.clone(),
                time: Some(to_timestamp(r.time)),
            })
            .collect(),
        counters: p.counters.clone(),
        etag: etag::render(p.revision),
        create_time: Some(to_timestamp(p.create_time)),
        update_time: Some(to_timestamp(p.update_time)),
    }
}

pub fn prevention_action(row: &prevention_action::Model) -> wire::PreventionAction {
    wire::PreventionAction {
        name: row.resource_name(),
        description: row.description.clone(),
        owner: row.owner.clone(),
        due_time: Some(to_timestamp(row.due_time)),
        state: row.state,
        defer_reason: row.defer_reason.clone(),
        etag: etag::render(row.revision),
        create_time: Some(to_timestamp(row.create_time)),
        update_time: Some(to_timestamp(row.update_time)),
    }
}

pub fn note(row: &note::Model) -> wire::CaseNote {
    wire::CaseNote {
        name: row.resource_name(),
        text: row.text.clone(),
        visibility: row.visibility,
        author: row.author.clone(),
        create_time: Some(to_timestamp(row.create_time)),
    }
}

#[cfg(test)]
mod proptests;
