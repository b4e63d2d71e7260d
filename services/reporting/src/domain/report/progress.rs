//! The progress sections: meetings and their action items, commitments, and projects with their milestones and
//! budgets.
use super::{InScope, Sheet, Window, cell, date_of, evidence, figure_cell, mean, micros, row};
use liaison_proto::reporting::v1 as wire;
use liaison_proto::scheduling::v1 as scheduling;
use std::collections::BTreeMap;

/// Attendance of a completed meeting: attendees recorded present over attendees expected (not optional), or
/// `None` when it had nobody expected.
pub(crate) fn attendance(meeting: &scheduling::Meeting) -> Option<(usize, usize)> {
    let expected: Vec<&str> = meeting.attendees.iter().filter(|a| !a.optional).map(|a| a.contact.as_str()).collect();
    if expected.is_empty() {
        return None;
    }
    let present =
        meeting.record.as_ref().map_or(0, |r| expected.iter().filter(|c| r.attendance.iter().any(|p| p == *c)).count());
    Some((present, expected.len()))
}

pub(crate) fn status(meeting: &scheduling::Meeting) -> Option<scheduling::MeetingStatus> {
    scheduling::MeetingStatus::try_from(meeting.status).ok()
}

/// Open action items and commitments past their due time at `as_of`, each with its owner.
pub(crate) fn overdue_items<'a>(window: &Window, data: &'a InScope<'_>) -> Vec<(&'a str, &'a super::Meta, String)> {
    let mut overdue = Vec::new();
    for a in &data.action_items {
        let due = micros(a.item.due_time.as_ref());
        let open_then = a.item.state == scheduling::ActionItemState::Open as i32
            || micros(a.item.close_time.as_ref()).is_some_and(|closed| closed >= window.as_of);
        if open_then
            && due.is_some_and(|d| d < window.as_of)
            && micros(a.item.create_time.as_ref()).is_none_or(|c| c < window.as_of)
        {
            overdue.push((
                a.item.owner.as_str(),
                &a.meta,
                format!("action item due {}", due.map(date_of).unwrap_or_default()),
            ));
        }
    }
    overdue
}

pub(super) fn meetings(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    use scheduling::MeetingStatus as S;
    let in_period: Vec<_> =
        data.meetings.iter().filter(|m| window.in_period(micros(m.item.start_time.as_ref()))).collect();
    let when = |m: &scheduling::Meeting| micros(m.start_time.as_ref()).map(date_of).unwrap_or_default();
    let held: Vec<_> = in_period.iter().filter(|m| status(&m.item) == Some(S::Completed)).collect();
    let cancelled: Vec<_> = in_period.iter().filter(|m| status(&m.item) == Some(S::Cancelled)).collect();
    let planned: Vec<_> =
        in_period.iter().filter(|m| matches!(status(&m.item), Some(S::Scheduled | S::Tentative))).collect();
    sheet.count(
        "meetings.held",
        "Meetings held",
        "Meetings starting in the period that were completed.",
        held.iter().map(|m| evidence(&m.meta, format!("held {}", when(&m.item)), &[])).collect(),
    );
    sheet.count(
        "meetings.cancelled",
        "Meetings cancelled",
        "Meetings starting in the period that were cancelled.",
        cancelled
            .iter()
            .map(|m| evidence(&m.meta, format!("{} cancelled: {}", when(&m.item), m.item.cancel_reason), &[]))
            .collect(),
    );
    sheet.count(
        "meetings.not_recorded",
        "Meetings not yet recorded",
        "Meetings starting in the period still scheduled or tentative (not completed nor cancelled).",
        planned.iter().map(|m| evidence(&m.meta, format!("{} {}", when(&m.item), m.item.title), &[])).collect(),
    );
    let mut present = 0;
    let mut expected = 0;
    let mut counted = Vec::new();
    for m in &held {
        if let Some((p, e)) = attendance(&m.item) {
            present += p;
            expected += e;
            counted.push(evidence(&m.meta, format!("{p} of {e} attended"), &[]));
        }
    }
    let rate = if expected == 0 { 0.0 } else { 100.0 * present as f64 / expected as f64 };
    sheet.figure(
        "meetings.attendance_rate",
        "Attendance rate",
        "percent",
        rate,
        "Of the attendees expected (not optional) at meetings held in the period, the share recorded present.",
        counted,
    );

    let created: Vec<_> =
        data.action_items.iter().filter(|a| window.in_period(micros(a.item.create_time.as_ref()))).collect();
    sheet.count(
        "action_items.created",
        "Action items created",
        "Action items created in the period.",
        created.iter().map(|a| evidence(&a.meta, a.item.owner.clone(), &[])).collect(),
    );
    let done: Vec<_> = data
        .action_items
        .iter()
        .filter(|a| {
            a.item.state == scheduling::ActionItemState::Done as i32
                && window.in_period(micros(a.item.close_time.as_ref()))
        })
        .collect();
    sheet.count(
        "action_items.done",
        "Action items done",
        "Action items marked done in the period.",
        done.iter().map(|a| evidence(&a.meta, a.item.owner.clone(), &[])).collect(),
    );
    let on_time: Vec<_> = done
        .iter()
        .filter(|a| match (micros(a.item.close_time.as_ref()), micros(a.item.due_time.as_ref())) {
            (Some(closed), Some(due)) => closed <= due,
            (Some(_), None) => true,
            _ => false,
        })
        .collect();
    let on_time_rate = if done.is_empty() { 0.0 } else { 100.0 * on_time.len() as f64 / done.len() as f64 };
    sheet.figure(
        "action_items.on_time_rate",
        "Action items done on time",
        "percent",
        on_time_rate,
        "Of the action items done in the period, the share done by their due time (those without a due time count as on time).",
        on_time.iter().map(|a| evidence(&a.meta, "done on time", &[])).collect(),
    );
    let overdue: Vec<_> = overdue_items(window, data);
    sheet.count(
        "action_items.overdue",
        "Action items overdue",
        "Action items open at the report's end past their due time.",
        overdue.iter().map(|(owner, meta, note)| evidence(meta, format!("{note}, owner {owner}"), &[])).collect(),
    );
    let mut by_owner: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for (owner, meta, note) in &overdue {
        by_owner.entry(owner).or_default().push(evidence(meta, note.clone(), &[]));
    }
    let (shown, others) = super::largest(by_owner, super::TABLE_ROWS);
    let mut rows = Vec::new();
    for (owner, items) in shown {
        let n = items.len() as f64;
        let figure = sheet.count(
            &format!("action_items.overdue{{owner={owner}}}"),
            &format!("Overdue action items of {}", data.label(owner)),
            "Overdue action items of this owner.",
            items,
        );
        rows.push(row(vec![cell(data.label(owner)), figure_cell(n, figure)]));
    }
    if !others.is_empty() {
        let n = others.len() as f64;
        let figure = sheet.count(
            "action_items.overdue{owner=others}",
            "Overdue action items of all other owners",
            "Overdue action items of the owners the table does not show (it shows those with the most).",
            others,
        );
        rows.push(row(vec![cell("All others"), figure_cell(n, figure)]));
    }
    sheet.table("meetings.overdue_by_owner", "Overdue action items by owner", &["Owner", "Overdue"], rows);
    let points = window.per_week(held.iter().filter_map(|m| micros(m.item.start_time.as_ref())));
    sheet.series("meetings.held_per_week", "Meetings held per week", wire::ChartKind::Line, "count", points);
}

/// Whether a commitment was open at `at`: made before, and not closed (or referred) by then.
pub(crate) fn commitment_open_at(c: &scheduling::Commitment, at: i64) -> bool {
    use scheduling::CommitmentState as S;
    let made = micros(c.create_time.as_ref()).is_none_or(|created| created < at);
    let finished = matches!(S::try_from(c.state), Ok(S::Closed | S::Referred));
    made && (!finished || micros(c.close_time.as_ref()).is_some_and(|closed| closed >= at))
}

pub(super) fn commitments(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    let open: Vec<_> = data.commitments.iter().filter(|c| commitment_open_at(&c.item, window.as_of)).collect();
    let due =
        |c: &scheduling::Commitment| micros(c.due_time.as_ref()).map(date_of).unwrap_or_else(|| "no due date".into());
    sheet.count(
        "commitments.open",
        "Commitments open",
        "Commitments open at the report's end.",
        open.iter().map(|c| evidence(&c.meta, format!("{} (due {})", c.item.title, due(&c.item)), &[])).collect(),
    );
    let overdue: Vec<_> =
        open.iter().filter(|c| micros(c.item.due_time.as_ref()).is_some_and(|d| d < window.as_of)).collect();
    sheet.count(
        "commitments.overdue",
        "Commitments overdue",
        "Commitments open at the report's end past their due time.",
        overdue
            .iter()
            .map(|c| evidence(&c.meta, format!("due {}, owner {}", due(&c.item), c.item.owner), &[]))
            .collect(),
    );
    let closed: Vec<_> = data
        .commitments
        .iter()
        .filter(|c| {
            c.item.state == scheduling::CommitmentState::Closed as i32
                && window.in_period(micros(c.item.close_time.as_ref()))
        })
        .collect();
    sheet.count(
        "commitments.closed",
        "Commitments closed",
        "Commitments closed in the period.",
        closed.iter().map(|c| evidence(&c.meta, c.item.title.clone(), &[])).collect(),
    );
    let rated: Vec<_> = closed.iter().filter(|c| (1..=5).contains(&c.item.satisfaction)).collect();
    sheet.figure(
        "commitments.satisfaction",
        "Stakeholder satisfaction with closed commitments",
        "rating",
        mean(rated.iter().map(|c| f64::from(c.item.satisfaction))),
        "Mean satisfaction (1–5) recorded on commitments closed in the period.",
        rated.iter().map(|c| evidence(&c.meta, format!("satisfaction {}", c.item.satisfaction), &[])).collect(),
    );
}

pub(super) fn projects(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    use scheduling::MilestoneStatus as M;
    let milestone_status = |m: &scheduling::Milestone| M::try_from(m.status).ok();
    let due_in_period: Vec<_> = data
        .milestones
        .iter()
        .filter(|m| {
            window.in_period(micros(m.item.due_time.as_ref())) && milestone_status(&m.item) != Some(M::Cancelled)
        })
        .collect();
    let met = |m: &&&&super::Rec<scheduling::Milestone>| match (m.meta.done_at, micros(m.item.due_time.as_ref())) {
        (Some(done), Some(due)) => milestone_status(&m.item) == Some(M::Done) && done <= due,
        _ => false,
    };
    let late = |m: &&&&super::Rec<scheduling::Milestone>| {
        let due = micros(m.item.due_time.as_ref()).unwrap_or(i64::MAX);
        match (milestone_status(&m.item), m.meta.done_at) {
            (Some(M::Done), Some(done)) => done > due,
            _ => due < window.as_of,
        }
    };
    let note = |m: &scheduling::Milestone| {
        format!("{} due {}", m.title, micros(m.due_time.as_ref()).map(date_of).unwrap_or_default())
    };
    let due_ev = due_in_period.iter().map(|m| evidence(&m.meta, note(&m.item), &[])).collect();
    sheet.count("projects.milestones_due", "Milestones due", "Milestones (not cancelled) due in the period.", due_ev);
    let met_ev = due_in_period.iter().filter(met).map(|m| evidence(&m.meta, note(&m.item), &[])).collect();
    sheet.count(
        "projects.milestones_met",
        "Milestones met",
        "Milestones due in the period that were done by their due time.",
        met_ev,
    );
    let late_ev = due_in_period.iter().filter(late).map(|m| evidence(&m.meta, note(&m.item), &[])).collect();
    sheet.count(
        "projects.milestones_late",
        "Milestones late",
        "Milestones due in the period done after their due time, or not done by the report's end.",
        late_ev,
    );
    let mut rows = Vec::new();
    let mut planned: BTreeMap<String, (f64, Vec<_>)> = BTreeMap::new();
    let mut actual: BTreeMap<String, (f64, Vec<_>)> = BTreeMap::new();
    let mut by_project: std::collections::HashMap<&str, Vec<_>> = std::collections::HashMap::new();
    for m in data.milestones.iter().filter(|m| milestone_status(&m.item) != Some(M::Cancelled)) {
        if let Some(project) = super::scope::project_of(&m.meta.name) {
            by_project.entry(project).or_default().push(*m);
        }
    }
    let mut changes_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for change in data.status_changes.iter().filter(|s| window.period.contains(s.change_time)) {
        *changes_of.entry(change.project.as_str()).or_default() += 1;
    }
    // The table shows the projects with the most milestones; the others are one row.
    let mut ranked: Vec<_> = data.projects.iter().collect();
    let milestones_of = |p: &str| by_project.get(p).map_or(0, Vec::len);
    ranked.sort_by(|a, b| {
        milestones_of(&b.meta.name).cmp(&milestones_of(&a.meta.name)).then_with(|| a.meta.name.cmp(&b.meta.name))
    });
    let shown: std::collections::HashSet<&str> =
        ranked.iter().take(2 * super::TABLE_ROWS).map(|p| p.meta.name.as_str()).collect();
    let mut hidden_milestones = Vec::new();
    for p in &data.projects {
        let milestones = by_project.get(p.meta.name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let percent = mean(milestones.iter().map(|m| f64::from(m.item.percent_complete)));
        let money = |m: &Option<scheduling::Money>| {
            m.as_ref()
                .filter(|m| !m.currency_code.is_empty())
                .map(|m| (m.currency_code.clone(), m.units as f64 + f64::from(m.nanos) / 1e9))
        };
        if !shown.contains(p.meta.name.as_str()) {
            hidden_milestones.extend_from_slice(milestones);
            for (target, amount) in
                [(&mut planned, money(&p.item.planned_budget)), (&mut actual, money(&p.item.actual_budget))]
            {
                if let Some((currency, value)) = amount {
                    let entry = target.entry(currency.clone()).or_default();
                    entry.0 += value;
                    entry.1.push(evidence(&p.meta, format!("{currency} {value:.2}"), &[]));
                }
            }
            continue;
        }
        let figure = sheet.figure(
            &format!("projects.percent_complete{{project={}}}", p.meta.name),
            &format!("{} complete", p.item.display_name),
            "percent",
            percent,
            "Mean percent complete of the project's milestones (cancelled ones left out).",
            milestones
                .iter()
                .map(|m| evidence(&m.meta, format!("{}% complete", m.item.percent_complete), &[]))
                .collect(),
        );
        let mut budget_cells = Vec::new();
        for (target, amount) in
            [(&mut planned, money(&p.item.planned_budget)), (&mut actual, money(&p.item.actual_budget))]
        {
            match amount {
                Some((currency, value)) => {
                    let entry = target.entry(currency.clone()).or_default();
                    entry.0 += value;
                    entry.1.push(evidence(&p.meta, format!("{currency} {value:.2}"), &[]));
                    budget_cells.push(cell(format!("{currency} {value:.2}")));
                }
                None => budget_cells.push(cell("—")),
            }
        }
        let changes = changes_of.get(p.meta.name.as_str()).copied().unwrap_or(0);
        let mut cells = vec![
            cell(format!("{} ({})", p.item.display_name, p.meta.name)),
            figure_cell(super::round(percent), figure),
        ];
        cells.extend(budget_cells);
        cells.push(cell(health(p.item.health)));
        cells.push(cell(changes.to_string()));
        rows.push(row(cells));
    }
    let hidden = data.projects.len().saturating_sub(shown.len());
    if hidden > 0 {
        let percent = mean(hidden_milestones.iter().map(|m| f64::from(m.item.percent_complete)));
        let figure = sheet.figure(
            "projects.percent_complete{project=others}",
            "Other projects complete",
            "percent",
            percent,
            "Mean percent complete of the milestones of the projects the table does not show.",
            hidden_milestones
                .iter()
                .map(|m| evidence(&m.meta, format!("{}% complete", m.item.percent_complete), &[]))
                .collect(),
        );
        let label = format!("{hidden} other projects");
        rows.push(row(vec![
            cell(label),
            figure_cell(super::round(percent), figure),
            cell(""),
            cell(""),
            cell(""),
            cell(""),
        ]));
    }
    sheet.table(
        "projects.overview",
        "Projects",
        &["Project", "Percent complete", "Budget planned", "Budget actual", "Health", "Status changes"],
        rows,
    );
    for (kind, totals) in [("planned", planned), ("actual", actual)] {
        for (currency, (value, ev)) in totals {
            sheet.figure(
                &format!("projects.budget_{kind}{{currency={currency}}}"),
                &format!("Budget {kind} ({currency})"),
                &format!("currency:{currency}"),
                value,
                "Sum over the projects in scope, per currency.",
                ev,
            );
        }
    }
    let changes: Vec<_> = data.status_changes.iter().filter(|s| window.period.contains(s.change_time)).collect();
    let ev = changes
        .iter()
        .map(|s| crate::domain::evidence::Evidence {
            resource: s.project.clone(),
            source: "scheduling".into(),
            sequence: s.sequence,
            change_time: s.change_time,
            note: format!("{} → {} on {}", health(s.from), health(s.to), date_of(s.change_time)),
            confidential: false,
            team: Vec::new(),
        })
        .collect();
    sheet.count(
        "projects.status_changes",
        "Project status changes",
        "Changes of a project's health seen in the period.",
        ev,
    );
}

pub(crate) fn health(value: i32) -> &'static str {
    match scheduling::ProjectHealth::try_from(value) {
        Ok(scheduling::ProjectHealth::OnTrack) => "ON_TRACK",
        Ok(scheduling::ProjectHealth::AtRisk) => "AT_RISK",
        Ok(scheduling::ProjectHealth::OffTrack) => "OFF_TRACK",
        _ => "UNSPECIFIED",
    }
}
