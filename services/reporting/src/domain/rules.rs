//! Improvement suggestions, derived by explicit rules (documented in docs/reporting.md, one test each that makes
//! it fire and one that keeps it silent). Each cites the records that triggered it. A rule about cases says the
//! category and the count, never a confidential case's reference.
use super::ReportKind;
use super::evidence::Evidence;
use super::report::{InScope, Suggestion, Window, date_of, evidence, micros};
use liaison_proto::reporting::v1 as wire;
use liaison_proto::scheduling::v1 as scheduling;
use std::collections::BTreeMap;

const DAY: i64 = 86_400 * 1_000_000;
/// An organisation is unengaged after this many days without an interaction.
pub const UNENGAGED_DAYS: i64 = 60;
/// An owner with this many overdue items (action items and commitments) or more needs help.
pub const OVERDUE_ITEMS: usize = 3;
/// A root-cause category recorded in this many cases within [`RECURRENCE_DAYS`] is recurring.
pub const RECURRING_CASES: usize = 3;
pub const RECURRENCE_DAYS: i64 = 91;
/// A series whose attendance fell this many points over its last three meetings held is losing people.
pub const ATTENDANCE_DROP_POINTS: f64 = 20.0;
/// Commitments closed with satisfaction at or below this are closed badly…
pub const LOW_SATISFACTION: i32 = 2;
/// …and this many in the period is a pattern.
pub const LOW_SATISFACTION_COUNT: usize = 2;
/// Suggestions one rule makes about single organisations or owners at most; the rest become one suggestion that
/// cites them all, so a report's size does not grow with the register.
pub const PER_RULE: usize = 20;

/// Keeps the first [`PER_RULE`] suggestions (most urgent first) and folds the rest into one about `others`.
fn at_most(
    rule: &str,
    mut found: Vec<Suggestion>,
    others: impl Fn(usize) -> (String, String),
    out: &mut Vec<Suggestion>,
) {
    found.sort_by(|a, b| {
        b.recommendation
            .priority
            .cmp(&a.recommendation.priority)
            .then_with(|| b.evidence.len().cmp(&a.evidence.len()))
            .then_with(|| a.recommendation.id.cmp(&b.recommendation.id))
    });
    if found.len() > PER_RULE {
        let rest = found.split_off(PER_RULE);
        let (title, detail) = others(rest.len());
        let evidence = rest.into_iter().flat_map(|s| s.evidence).collect();
        found.push(suggestion(rule, "others", 1, title, detail, evidence));
    }
    out.extend(found);
}

fn suggestion(
    rule: &str,
    about: &str,
    priority: i32,
    title: String,
    detail: String,
    evidence: Vec<Evidence>,
) -> Suggestion {
    Suggestion {
        recommendation: wire::Recommendation {
            rule: rule.to_owned(),
            id: format!("{rule}:{about}"),
            title,
            detail,
            priority,
            evidence: Vec::new(),
        },
        evidence,
    }
}

/// The suggestions for a report of `kind`: each rule runs when the report has its section.
pub(crate) fn recommend(kind: ReportKind, window: &Window, data: &InScope<'_>) -> Vec<Suggestion> {
    use super::SectionId::*;
    let mut out = Vec::new();
    if kind.has(Engagement) {
        unengaged_organizations(window, data, &mut out);
    }
    if kind.has(Meetings) {
        overloaded_owners(window, data, &mut out);
        falling_attendance(window, data, &mut out);
    }
    if kind.has(Commitments) {
        low_satisfaction(window, data, &mut out);
    }
    if kind.has(Mediation) {
        recurring_root_causes(window, data, &mut out);
    }
    out
}

/// `unengaged-organization`: an organisation in scope with no interaction for [`UNENGAGED_DAYS`] days.
fn unengaged_organizations(window: &Window, data: &InScope<'_>, out: &mut Vec<Suggestion>) {
    let mut found = Vec::new();
    let last = super::report::engagement_last(window, data);
    for org in super::report::engagement_stakeholders(window, data) {
        let last_at = last.get(org.meta.name.as_str()).copied();
        if last_at.is_some_and(|at| at >= window.as_of - UNENGAGED_DAYS * DAY) {
            continue;
        }
        let (priority, since) = match last_at {
            Some(at) => (2, format!("the last interaction was on {}", date_of(at))),
            None => (3, "there was no interaction in the 90 days before".to_owned()),
        };
        found.push(suggestion(
            "unengaged-organization",
            &org.meta.name,
            priority,
            format!("Re-engage {}", data.label(&org.meta.name)),
            format!("No interaction with the organisation or its people for {UNENGAGED_DAYS} days or more: {since}."),
            vec![evidence(&org.meta, since.clone(), &[])],
        ));
    }
    let others = |n| {
        (
            format!("Re-engage {n} more organisations"),
            format!("{n} more organisations had no interaction for {UNENGAGED_DAYS} days or more."),
        )
    };
    at_most("unengaged-organization", found, others, out);
}

/// `overloaded-owner`: someone with [`OVERDUE_ITEMS`] or more overdue action items and commitments.
fn overloaded_owners(window: &Window, data: &InScope<'_>, out: &mut Vec<Suggestion>) {
    let mut by_owner: BTreeMap<&str, Vec<Evidence>> = BTreeMap::new();
    for (owner, meta, note) in super::report::overdue_action_items(window, data) {
        by_owner.entry(owner).or_default().push(evidence(meta, note, &[]));
    }
    for c in &data.commitments {
        let overdue = super::report::commitment_open_at(&c.item, window.as_of)
            && micros(c.item.due_time.as_ref()).is_some_and(|d| d < window.as_of);
        if overdue && !c.item.owner.is_empty() {
            let due = micros(c.item.due_time.as_ref()).map(date_of).unwrap_or_default();
            by_owner.entry(c.item.owner.as_str()).or_default().push(evidence(
                &c.meta,
                format!("commitment due {due}"),
                &[],
            ));
        }
    }
    let mut found = Vec::new();
    for (owner, items) in by_owner {
        if owner.is_empty() || items.len() < OVERDUE_ITEMS {
            continue;
        }
        found.push(suggestion(
            "overloaded-owner",
            owner,
            if items.len() >= 2 * OVERDUE_ITEMS { 3 } else { 2 },
            format!("Help {} with overdue work", data.label(owner)),
            format!(
                "{} has {} overdue action items and commitments (the rule fires at {OVERDUE_ITEMS}).",
                data.label(owner),
                items.len()
            ),
            items,
        ));
    }
    let others = |n| {
        (
            format!("Help {n} more people with overdue work"),
            format!("{n} more people have {OVERDUE_ITEMS} or more overdue items each."),
        )
    };
    at_most("overloaded-owner", found, others, out);
}

/// `falling-attendance`: a meeting series (meetings with the same title and organiser) whose attendance fell over
/// its last three meetings held (each lower than the one before) by [`ATTENDANCE_DROP_POINTS`] points or more.
fn falling_attendance(window: &Window, data: &InScope<'_>, out: &mut Vec<Suggestion>) {
    /// A meeting held: its start, its attendance rate and where it came from.
    type Held<'a> = (i64, f64, &'a super::report::Meta);
    let mut series: BTreeMap<(String, &str), Vec<Held<'_>>> = BTreeMap::new();
    for m in &data.meetings {
        let held = super::report::meeting_status(&m.item) == Some(scheduling::MeetingStatus::Completed);
        let Some(start) = micros(m.item.start_time.as_ref()) else { continue };
        if !held || start >= window.as_of {
            continue;
        }
        if let Some((present, expected)) = super::report::meeting_attendance(&m.item) {
            let key = (m.item.title.trim().to_lowercase(), m.item.organizer.as_str());
            series.entry(key).or_default().push((start, 100.0 * present as f64 / expected as f64, &m.meta));
        }
    }
    for ((title, organizer), mut held) in series {
        held.sort_by_key(|(start, _, _)| *start);
        let last: Vec<_> = held.iter().rev().take(3).rev().collect();
        if last.len() < 3 || !window.period.contains(last[2].0) {
            continue;
        }
        let falling = last.windows(2).all(|w| w[1].1 < w[0].1);
        let drop = last[0].1 - last[2].1;
        if !falling || drop < ATTENDANCE_DROP_POINTS {
            continue;
        }
        let about = format!("{organizer}/{title}");
        out.push(suggestion(
            "falling-attendance",
            &about,
            2,
            format!("Review the meeting series \u{201c}{title}\u{201d}"),
            format!(
                "Attendance fell over its last three meetings: {:.0}% → {:.0}% → {:.0}% ({drop:.0} points).",
                last[0].1, last[1].1, last[2].1
            ),
            last.iter()
                .map(|(start, rate, meta)| evidence(meta, format!("{} attendance {rate:.0}%", date_of(*start)), &[]))
                .collect(),
        ));
    }
}

/// `low-satisfaction-commitments`: [`LOW_SATISFACTION_COUNT`] or more commitments closed in the period with
/// satisfaction at or below [`LOW_SATISFACTION`].
fn low_satisfaction(window: &Window, data: &InScope<'_>, out: &mut Vec<Suggestion>) {
    let low: Vec<Evidence> = data
        .commitments
        .iter()
        .filter(|c| {
            c.item.state == scheduling::CommitmentState::Closed as i32
                && window.in_period(micros(c.item.close_time.as_ref()))
                && (1..=LOW_SATISFACTION).contains(&c.item.satisfaction)
        })
        .map(|c| evidence(&c.meta, format!("closed with satisfaction {}", c.item.satisfaction), &[]))
        .collect();
    if low.len() >= LOW_SATISFACTION_COUNT {
        out.push(suggestion(
            "low-satisfaction-commitments",
            "period",
            2,
            "Ask stakeholders why commitments are closed to their dissatisfaction".to_owned(),
            format!(
                "{} commitments were closed in the period with satisfaction {LOW_SATISFACTION} or lower.",
                low.len()
            ),
            low,
        ));
    }
}

/// `recurring-root-cause`: a root-cause category recorded in [`RECURRING_CASES`] or more cases opened in the
/// [`RECURRENCE_DAYS`] days before the report's end.
fn recurring_root_causes(window: &Window, data: &InScope<'_>, out: &mut Vec<Suggestion>) {
    let since = window.as_of - RECURRENCE_DAYS * DAY;
    let mut by_category: BTreeMap<String, Vec<Evidence>> = BTreeMap::new();
    for c in &data.cases {
        let Some(root) = &c.item.root_cause else { continue };
        if micros(c.item.create_time.as_ref()).is_some_and(|t| t >= since && t < window.as_of) {
            let category = super::report::case_category(root.category);
            by_category.entry(category).or_default().push(evidence(
                &c.meta,
                "root cause recorded",
                data.team(&c.meta.name),
            ));
        }
    }
    for (category, cases) in by_category {
        if cases.len() < RECURRING_CASES {
            continue;
        }
        out.push(suggestion(
            "recurring-root-cause",
            &category,
            3,
            format!("Address the recurring root cause {category}"),
            format!("{} cases opened in the last {RECURRENCE_DAYS} days share the root cause {category}: a prevention plan across cases may help.", cases.len()),
            cases,
        ));
    }
}
