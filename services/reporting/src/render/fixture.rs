//! A realistic generated report for tests and snapshots: a quarter of progress with every section, tables,
//! a weekly trend, two bar charts and recommendations, one of which cites a confidential case. Not part of the
//! service's API (tests in other targets use it).

use liaison_proto::reporting::v1::{
    ChartKind, EvidenceRecord, Figure, Recommendation, Report, ReportKind, Scope, Section, Series, SeriesPoint,
    SourceCursor, Table, TableCell, TableRow, scope::Selector,
};
use prost_types::Timestamp;

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;
/// 2026-04-01T00:00:00Z, 90 days later.
const END: i64 = START + 90 * 86_400;

/// The sample report (a progress report on everything for the first quarter of 2026).
pub fn sample_report() -> Report {
    let sections = vec![engagement(), meetings(), commitments(), projects(), mediation(), feedback()];
    let headline_ids = ["meetings.held", "commitments.overdue", "mediation.cases_open", "feedback.mean_rating"];
    let headlines = headline_ids
        .iter()
        .filter_map(|id| sections.iter().flat_map(|s| &s.figures).find(|f| f.id == *id).cloned())
        .collect();
    Report {
        name: "reports/0193aaaa-0000-7000-8000-000000000001".into(),
        kind: ReportKind::Progress.into(),
        scope: Some(Scope { selector: Some(Selector::All(true)) }),
        start_time: Some(at(START)),
        end_time: Some(at(END)),
        time_zone: "UTC".into(),
        title: "Progress report — all — 2026-01-01 to 2026-04-01".into(),
        create_time: Some(at(END + 6 * 3600 + 12)),
        creator: "users/liaison-manager".into(),
        schedule: String::new(),
        due_time: None,
        late: false,
        sections,
        recommendations: recommendations(),
        as_of: vec![source("contacts", 1482), source("scheduling", 3907), source("mediation", 264)],
        headlines,
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn source(source: &str, cursor: i64) -> SourceCursor {
    SourceCursor { source: source.into(), cursor }
}

fn figure(id: &str, label: &str, value: f64, unit: &str, evidence_count: i64) -> Figure {
    Figure { id: id.into(), label: label.into(), value, unit: unit.into(), evidence_count }
}

fn section(id: &str, title: &str, figures: Vec<Figure>, tables: Vec<Table>, series: Vec<Series>) -> Section {
    Section { id: id.into(), title: title.into(), figures, tables, series }
}

fn table(id: &str, title: &str, columns: &[&str], rows: Vec<Vec<TableCell>>) -> Table {
    Table {
        id: id.into(),
        title: title.into(),
        columns: columns.iter().map(|c| (*c).into()).collect(),
        rows: rows.into_iter().map(|cells| TableRow { cells }).collect(),
    }
}

fn text(text: &str) -> TableCell {
    TableCell { text: text.into(), figure: String::new() }
}

fn shown(text: &str, figure: &str) -> TableCell {
    TableCell { text: text.into(), figure: figure.into() }
}

fn series(id: &str, title: &str, chart: ChartKind, unit: &str, points: &[(&str, f64)]) -> Series {
    Series {
        id: id.into(),
        title: title.into(),
        chart: chart.into(),
        points: points.iter().map(|(label, value)| SeriesPoint { label: (*label).into(), value: *value }).collect(),
        unit: unit.into(),
    }
}

fn organization(n: u8) -> String {
    format!("organizations/0193aaaa-0000-7000-8000-0000000001{n:02}")
}

fn engagement() -> Section {
    let by_org = |n: u8, name: &str, interactions: &str, meetings: &str, last: &str| {
        let org = organization(n);
        vec![
            text(name),
            shown(interactions, &format!("engagement.interactions{{organization={org}}}")),
            shown(meetings, &format!("meetings.held{{organization={org}}}")),
            text(last),
        ]
    };
    let weekly = [
        ("2026-W01", 9.0),
        ("2026-W02", 14.0),
        ("2026-W03", 17.0),
        ("2026-W04", 16.0),
        ("2026-W05", 21.0),
        ("2026-W06", 19.0),
        ("2026-W07", 12.0),
        ("2026-W08", 18.0),
        ("2026-W09", 22.0),
        ("2026-W10", 20.0),
        ("2026-W11", 17.0),
        ("2026-W12", 15.0),
        ("2026-W13", 14.0),
    ];
    section(
        "engagement",
        "Engagement",
        vec![
            figure("engagement.interactions", "Interactions", 214.0, "count", 214),
            figure("engagement.organizations_engaged", "Organisations engaged", 37.0, "count", 37),
            figure("engagement.organizations_unengaged", "Organisations not engaged for 60 days", 5.0, "count", 5),
            figure("engagement.contacts_reached", "Contacts reached", 128.0, "count", 128),
        ],
        vec![table(
            "engagement.by_organization",
            "Most engaged organisations",
            &["Organisation", "Interactions", "Meetings", "Last contact"],
            vec![
                by_org(1, "Northern Water Board", "38", "9", "2026-03-30"),
                by_org(2, "City of Eastport | Planning", "31", "7", "2026-03-27"),
                by_org(3, "Harbour Logistics, Ltd.", "12", "2", "2026-01-19"),
            ],
        )],
        vec![series("engagement.interactions_weekly", "Interactions per week", ChartKind::Line, "count", &weekly)],
    )
}

fn meetings() -> Section {
    section(
        "meetings",
        "Meetings",
        vec![
            figure("meetings.held", "Meetings held", 42.0, "count", 42),
            figure("meetings.cancelled", "Meetings cancelled", 3.0, "count", 3),
            figure("meetings.attendance_rate", "Attendance", 87.5, "percent", 312),
            figure("meetings.minutes_delay", "Time to circulate minutes", 2.5, "days", 39),
        ],
        vec![],
        vec![],
    )
}

fn commitments() -> Section {
    section(
        "commitments",
        "Commitments",
        vec![
            figure("commitments.open", "Open commitments", 18.0, "count", 18),
            figure("commitments.completed", "Completed commitments", 31.0, "count", 31),
            figure("commitments.overdue", "Overdue commitments", 4.0, "count", 4),
            figure("commitments.on_time_rate", "Completed on time", 78.3, "percent", 31),
            figure("commitments.funding", "Funding committed", 1_234_567.5, "currency:EUR", 6),
        ],
        vec![],
        vec![],
    )
}

fn projects() -> Section {
    let row = |project: &str, milestone: &str, due: &str, status: &str| {
        vec![text(project), text(milestone), text(due), text(status)]
    };
    section(
        "projects",
        "Projects",
        vec![
            figure("projects.active", "Active projects", 6.0, "count", 6),
            figure("projects.milestones_met", "Milestones met", 9.0, "count", 9),
            figure("projects.milestones_late", "Milestones late", 2.0, "count", 2),
        ],
        vec![table(
            "projects.milestones_late",
            "Late milestones",
            &["Project", "Milestone", "Due", "Status"],
            vec![
                row("River restoration", "Permit application filed", "2026-02-15", "late by 14 days"),
                row("Eastport ferry link", "Public consultation \"round 2\"", "2026-03-20", "late by 12 days"),
            ],
        )],
        vec![],
    )
}

fn mediation() -> Section {
    section(
        "mediation",
        "Mediation",
        vec![
            figure("mediation.cases_open", "Open cases", 7.0, "count", 7),
            figure("mediation.cases_resolved", "Cases resolved", 5.0, "count", 5),
            figure("mediation.mean_time_to_resolution", "Mean time to resolution", 23.4, "days", 5),
            figure("mediation.sla_breached", "Cases past their deadline", 1.0, "count", 1),
        ],
        vec![],
        vec![
            series(
                "mediation.cases_by_stage",
                "Cases by stage",
                ChartKind::Bar,
                "count",
                &[("Intake", 2.0), ("Assessment", 1.0), ("Mediation", 3.0), ("Agreement", 1.0), ("Closed", 5.0)],
            ),
            series(
                "mediation.time_to_resolution",
                "Time to resolution",
                ChartKind::Bar,
                "count",
                &[
                    ("0–7 days", 1.0),
                    ("8–14 days", 1.0),
                    ("15–30 days", 2.0),
                    ("31–60 days", 1.0),
                    ("over 60 days", 0.0),
                ],
            ),
        ],
    )
}

fn feedback() -> Section {
    let row = |kind: &str, count: &str, mean: &str| {
        vec![
            text(kind),
            shown(count, &format!("feedback.count{{subject_type={kind}}}")),
            shown(mean, &format!("feedback.mean_rating{{subject_type={kind}}}")),
        ]
    };
    section(
        "feedback",
        "Feedback",
        vec![
            figure("feedback.count", "Feedback received", 57.0, "count", 57),
            figure("feedback.mean_rating", "Mean rating (1–5)", 4.2, "rating", 57),
            figure("feedback.low_ratings", "Ratings of 1 or 2", 4.0, "count", 4),
        ],
        vec![table(
            "feedback.by_subject_type",
            "Ratings by subject",
            &["Subject", "Feedback", "Mean rating"],
            vec![row("meetings", "41", "4.3"), row("cases", "9", "3.8"), row("commitments", "7", "4.1")],
        )],
        vec![],
    )
}

fn evidence(resource: &str, source: &str, sequence: i64, note: &str) -> EvidenceRecord {
    EvidenceRecord {
        resource: resource.into(),
        source: source.into(),
        change_sequence: sequence,
        change_time: Some(at(END - 86_400 * (sequence % 30))),
        note: note.into(),
        redacted: false,
    }
}

fn recommendations() -> Vec<Recommendation> {
    vec![
        Recommendation {
            rule: "overdue-commitments".into(),
            id: "overdue-commitments:all".into(),
            title: "Follow up the 4 overdue commitments".into(),
            detail: "4 commitments are past their due date, the oldest by 23 days.".into(),
            priority: 3,
            evidence: vec![
                evidence("commitments/0193aaaa-0000-7000-8000-000000000301", "scheduling", 3811, "due 2026-03-09"),
                evidence("commitments/0193aaaa-0000-7000-8000-000000000302", "scheduling", 3840, "due 2026-03-18"),
            ],
        },
        Recommendation {
            rule: "stalled-case".into(),
            id: "stalled-case:all".into(),
            title: "Review the mediation cases stalled in one stage".into(),
            detail: "2 cases have been in the same stage for more than 30 days (longest: 41 days).".into(),
            priority: 2,
            evidence: vec![
                evidence(
                    "cases/0193aaaa-0000-7000-8000-000000000401",
                    "mediation",
                    240,
                    "in Mediation since 2026-02-19",
                ),
                EvidenceRecord {
                    resource: String::new(),
                    source: "mediation".into(),
                    change_sequence: 251,
                    change_time: Some(at(END - 86_400 * 12)),
                    note: String::new(),
                    redacted: true,
                },
            ],
        },
        Recommendation {
            rule: "unengaged-organization".into(),
            id: format!("unengaged-organization:{}", organization(3)),
            title: "Get back in touch with Harbour Logistics, Ltd.".into(),
            detail: "No interaction for 72 days, while it takes part in 2 open commitments.".into(),
            priority: 1,
            evidence: vec![evidence(&organization(3), "contacts", 1207, "last interaction 2026-01-19")],
        },
    ]
}
