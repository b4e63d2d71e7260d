//! The mediation section: cases opened, resolved and escalated, time to resolution (median, p90, distribution),
//! SLA breaches per clock, open cases by age and by stage, recurring root-cause categories and prevention actions
//! outstanding. Confidential cases are counted like any other; their evidence carries their team so that only
//! the team (and those who see all) find them named.
use super::{InScope, Sheet, Window, date_of, evidence, micros, percentile};
use liaison_proto::mediation::v1 as mediation;
use liaison_proto::reporting::v1 as wire;
use std::collections::BTreeMap;

const DAY: f64 = 86_400.0 * 1_000_000.0;

/// Age buckets of open cases, in days: [from, to).
pub(crate) const AGE_BUCKETS: [(&str, i64, i64); 4] =
    [("0-7", 0, 8), ("8-30", 8, 31), ("31-90", 31, 91), ("over-90", 91, i64::MAX)];
/// Time-to-resolution buckets, in days: [from, to).
const RESOLUTION_BUCKETS: [(&str, f64, f64); 5] = [
    ("under 7 days", 0.0, 7.0),
    ("7-14 days", 7.0, 14.0),
    ("14-30 days", 14.0, 30.0),
    ("30-60 days", 30.0, 60.0),
    ("60 days or more", 60.0, f64::INFINITY),
];

pub(crate) fn stage_name(value: i32) -> String {
    mediation::Stage::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("STAGE_").to_owned())
        .unwrap_or_else(|_| "UNSPECIFIED".into())
}

pub(crate) fn category_name(value: i32) -> String {
    mediation::Category::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("CATEGORY_").to_owned())
        .unwrap_or_else(|_| "UNSPECIFIED".into())
}

/// Whether the case was open at `at`: opened before, not closed by then.
pub(crate) fn open_at(case: &mediation::Case, at: i64) -> bool {
    let opened = micros(case.create_time.as_ref()).is_some_and(|t| t < at);
    let closed = match mediation::Stage::try_from(case.stage) {
        Ok(mediation::Stage::Closed | mediation::Stage::Rejected | mediation::Stage::Withdrawn) => {
            micros(case.close_time.as_ref()).is_none_or(|t| t < at) && last_final_change(case).is_none_or(|t| t < at)
        }
        _ => false,
    };
    opened && !closed
}

/// When a closed case reached its final stage (its last history entry).
fn last_final_change(case: &mediation::Case) -> Option<i64> {
    case.history.last().and_then(|h| micros(h.time.as_ref()))
}

/// Days from opening to resolution of a case resolved in the period.
fn resolution_days(case: &mediation::Case) -> Option<f64> {
    let opened = micros(case.create_time.as_ref())?;
    let closed = micros(case.close_time.as_ref())?;
    Some((closed - opened) as f64 / DAY)
}

/// Whether a clock was breached by `at`: its status says so, or its due time passed while the case was open.
fn breached(clock: Option<&mediation::SlaClock>, case: &mediation::Case, at: i64) -> bool {
    let Some(clock) = clock else { return false };
    if clock.status == mediation::SlaStatus::Breached as i32 {
        return true;
    }
    let end = micros(case.close_time.as_ref()).unwrap_or(at).min(at);
    micros(clock.due_time.as_ref()).is_some_and(|due| due < end)
}

/// Whether either clock of an open case is breached at `at`.
pub(crate) fn breached_at(case: &mediation::Case, at: i64) -> bool {
    breached(case.stage_sla.as_ref(), case, at) || breached(case.case_sla.as_ref(), case, at)
}

pub(super) fn section(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    let team = |name: &str| data.team(name).to_vec();
    let reference = |c: &mediation::Case| if c.reference.is_empty() { "case".to_owned() } else { c.reference.clone() };
    let as_opened = |c: &super::Rec<mediation::Case>| {
        let when = date_of(micros(c.item.create_time.as_ref()).unwrap_or(0));
        evidence(&c.meta, format!("{} opened {when}", reference(&c.item)), &team(&c.meta.name))
    };
    let opened: Vec<_> = data.cases.iter().filter(|c| window.in_period(micros(c.item.create_time.as_ref()))).collect();
    sheet.count(
        "mediation.opened",
        "Cases opened",
        "Cases opened in the period.",
        opened.iter().map(|c| as_opened(c)).collect(),
    );
    let resolved: Vec<_> = data
        .cases
        .iter()
        .filter(|c| {
            c.item.outcome == mediation::Outcome::Resolved as i32
                && window.in_period(micros(c.item.close_time.as_ref()))
        })
        .collect();
    sheet.count(
        "mediation.resolved",
        "Cases resolved",
        "Cases closed as resolved in the period.",
        resolved
            .iter()
            .map(|c| evidence(&c.meta, format!("{} resolved", reference(&c.item)), &team(&c.meta.name)))
            .collect(),
    );
    let escalated: Vec<_> = data
        .cases
        .iter()
        .filter_map(|c| {
            let times: Vec<i64> = c
                .item
                .history
                .iter()
                .filter(|h| h.action.starts_with("Escalate"))
                .filter_map(|h| micros(h.time.as_ref()))
                .filter(|t| window.period.contains(*t))
                .collect();
            (!times.is_empty()).then_some((c, times.len()))
        })
        .collect();
    sheet.count(
        "mediation.escalated",
        "Cases escalated",
        "Cases escalated at least once in the period (by hand or on an SLA breach).",
        escalated
            .iter()
            .map(|(c, n)| {
                evidence(&c.meta, format!("{} escalated {n} time(s)", reference(&c.item)), &team(&c.meta.name))
            })
            .collect(),
    );
    let mut days: Vec<(f64, &super::Rec<mediation::Case>)> =
        resolved.iter().filter_map(|c| resolution_days(&c.item).map(|d| (d, **c))).collect();
    days.sort_by(|a, b| a.0.total_cmp(&b.0));
    let sorted: Vec<f64> = days.iter().map(|(d, _)| *d).collect();
    let resolution_ev =
        || days.iter().map(|(d, c)| evidence(&c.meta, format!("{d:.1} days"), &team(&c.meta.name))).collect();
    let method = "Days from opening to closure of the cases resolved in the period (nearest rank).";
    sheet.figure(
        "mediation.time_to_resolution{p=50}",
        "Median time to resolution",
        "days",
        percentile(&sorted, 50.0),
        method,
        resolution_ev(),
    );
    sheet.figure(
        "mediation.time_to_resolution{p=90}",
        "90th percentile time to resolution",
        "days",
        percentile(&sorted, 90.0),
        method,
        resolution_ev(),
    );
    let points = RESOLUTION_BUCKETS.iter().map(|(label, from, to)| {
        ((*label).to_owned(), sorted.iter().filter(|d| **d >= *from && **d < *to).count() as f64)
    });
    sheet.series("mediation.time_to_resolution", "Time to resolution", wire::ChartKind::Bar, "count", points.collect());

    let active: Vec<_> = data
        .cases
        .iter()
        .filter(|c| {
            micros(c.item.create_time.as_ref()).is_some_and(|t| t < window.period.end.as_microsecond())
                && micros(c.item.close_time.as_ref()).is_none_or(|t| t >= window.period.start.as_microsecond())
        })
        .collect();
    for (clock, label) in [("stage", "stage"), ("case", "whole-case")] {
        let breaches: Vec<_> = active
            .iter()
            .filter(|c| {
                breached(
                    if clock == "stage" { c.item.stage_sla.as_ref() } else { c.item.case_sla.as_ref() },
                    &c.item,
                    window.as_of,
                )
            })
            .collect();
        sheet.count(
            &format!("mediation.sla_breaches{{clock={clock}}}"),
            &format!("SLA breaches of the {label} clock"),
            "Cases active in the period whose clock was breached by the report's end (its due time passed while the case was open).",
            breaches.iter().map(|c| evidence(&c.meta, format!("{} {clock} clock breached", reference(&c.item)), &team(&c.meta.name))).collect(),
        );
    }
    let open: Vec<_> = data.cases.iter().filter(|c| open_at(&c.item, window.as_of)).collect();
    let mut age_points = Vec::new();
    for (label, from, to) in AGE_BUCKETS {
        let members: Vec<_> = open
            .iter()
            .filter(|c| {
                let age =
                    (window.as_of - micros(c.item.create_time.as_ref()).unwrap_or(window.as_of)) / (86_400 * 1_000_000);
                age >= from && age < to
            })
            .collect();
        age_points.push((format!("{label} days"), members.len() as f64));
        sheet.count(
            &format!("mediation.open{{age={label}}}"),
            &format!("Open cases aged {label} days"),
            "Cases open at the report's end, by days since they were opened.",
            members.iter().map(|c| as_opened(c)).collect(),
        );
    }
    sheet.series("mediation.open_by_age", "Open cases by age", wire::ChartKind::Bar, "count", age_points);
    let mut by_stage: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for c in &open {
        by_stage.entry(c.item.stage).or_default().push(*c);
    }
    let mut stage_points = Vec::new();
    for (stage, members) in &by_stage {
        let name = stage_name(*stage);
        stage_points.push((name.clone(), members.len() as f64));
        sheet.count(
            &format!("mediation.open{{stage={name}}}"),
            &format!("Open cases in stage {name}"),
            "Cases open at the report's end, by their stage (as of their last change).",
            members.iter().map(|c| evidence(&c.meta, reference(&c.item), &team(&c.meta.name))).collect(),
        );
    }
    sheet.series("mediation.cases_by_stage", "Open cases by stage", wire::ChartKind::Bar, "count", stage_points);
    let mut by_category: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for c in &active {
        if let Some(root) = &c.item.root_cause {
            by_category.entry(category_name(root.category)).or_default().push(*c);
        }
    }
    for (category, members) in by_category {
        sheet.count(
            &format!("mediation.root_cause{{category={category}}}"),
            &format!("Root cause {category}"),
            "Cases active in the period whose recorded root cause is of this category.",
            members.iter().map(|c| evidence(&c.meta, reference(&c.item), &team(&c.meta.name))).collect(),
        );
    }
    let outstanding: Vec<_> = data
        .prevention_actions
        .iter()
        .filter(|a| {
            a.item.state == mediation::ActionState::Open as i32
                && micros(a.item.create_time.as_ref()).is_none_or(|t| t < window.as_of)
        })
        .collect();
    sheet.count(
        "mediation.prevention_actions_outstanding",
        "Prevention actions outstanding",
        "Prevention actions of cases in scope that are still open.",
        outstanding
            .iter()
            .map(|a| {
                let case = a.meta.name.split("/preventionActions/").next().unwrap_or("");
                evidence(
                    &a.meta,
                    format!(
                        "owner {}, due {}",
                        a.item.owner,
                        micros(a.item.due_time.as_ref()).map(date_of).unwrap_or_default()
                    ),
                    data.team(case),
                )
            })
            .collect(),
    );
}
