//! Each recommendation rule fires on records made to trigger it and stays silent one step short of its threshold;
//! scopes and confidential evidence behave as documented.
use super::*;
use crate::domain::{Period, ReportKind, Scope};
use liaison_proto::mediation::v1 as m;
use liaison_proto::scheduling::v1 as s;

const DAY: i64 = 86_400;
/// The report's end and instant: 2026-04-01T00:00:00Z.
const END: i64 = 1_775_001_600;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn rec<T>(name: &str, item: T) -> Rec<T> {
    let meta =
        Meta { name: name.into(), source: "test", sequence: 1, change_time: 0, confidential: false, done_at: None };
    Rec { meta, item }
}

fn window() -> Window {
    let period = Period {
        start: jiff::Timestamp::from_second(END - 90 * DAY).unwrap(),
        end: jiff::Timestamp::from_second(END).unwrap(),
        zone: jiff::tz::TimeZone::UTC,
        zone_name: "UTC".into(),
    };
    Window::new(period, i64::MAX)
}

fn rules_fired(records: &Records) -> Vec<String> {
    compute(ReportKind::ExecutiveSummary, &Scope::All, &window(), records)
        .suggestions
        .into_iter()
        .map(|s| s.recommendation.id)
        .collect()
}

fn organization(name: &str, created: i64) -> Rec<contacts::Organization> {
    rec(name, contacts::Organization { name: name.into(), create_time: ts(created), ..Default::default() })
}

fn interaction(name: &str, with: &str, at: i64) -> Rec<contacts::Interaction> {
    rec(name, contacts::Interaction { occur_time: ts(at), participants: vec![with.into()], ..Default::default() })
}

#[test]
fn an_organisation_is_flagged_after_sixty_days_without_interaction_and_not_before() {
    let mut records = Records {
        organizations: vec![
            organization("organizations/quiet", END - 400 * DAY),
            organization("organizations/recent", END - 400 * DAY),
        ],
        ..Default::default()
    };
    records.interactions = vec![
        interaction("interactions/1", "organizations/quiet", END - 61 * DAY),
        interaction("interactions/2", "organizations/recent", END - 59 * DAY),
    ];
    assert_eq!(rules_fired(&records), ["unengaged-organization:organizations/quiet"]);
}

fn overdue_item(name: &str, owner: &str) -> Rec<s::ActionItem> {
    rec(
        name,
        s::ActionItem {
            owner: owner.into(),
            state: s::ActionItemState::Open as i32,
            due_time: ts(END - DAY),
            create_time: ts(END - 10 * DAY),
            ..Default::default()
        },
    )
}

#[test]
fn an_owner_is_flagged_at_three_overdue_items_and_not_at_two() {
    let mut records = Records {
        action_items: vec![overdue_item("actionItems/1", "contacts/a"), overdue_item("actionItems/2", "contacts/a")],
        ..Default::default()
    };
    assert!(rules_fired(&records).is_empty());
    records.action_items.push(overdue_item("actionItems/3", "contacts/a"));
    assert_eq!(rules_fired(&records), ["overloaded-owner:contacts/a"]);
}

fn held(name: &str, start: i64, present: usize) -> Rec<s::Meeting> {
    let attendees = ["contacts/1", "contacts/2", "contacts/3", "contacts/4"];
    rec(
        name,
        s::Meeting {
            title: "Board".into(),
            organizer: "contacts/1".into(),
            start_time: ts(start),
            status: s::MeetingStatus::Completed as i32,
            attendees: attendees.iter().map(|c| s::Attendee { contact: (*c).into(), ..Default::default() }).collect(),
            record: Some(s::MeetingRecord {
                attendance: attendees[..present].iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
}

#[test]
fn a_series_is_flagged_when_attendance_falls_twenty_points_over_three_meetings() {
    let falling = Records {
        meetings: vec![
            held("meetings/1", END - 30 * DAY, 4),
            held("meetings/2", END - 20 * DAY, 3),
            held("meetings/3", END - 10 * DAY, 2),
        ],
        ..Default::default()
    };
    assert_eq!(rules_fired(&falling), ["falling-attendance:contacts/1/board"]);
    // Falling, but by less than twenty points… (4 of 4, then 4 of 4 again is not falling at all)
    let flat = Records {
        meetings: vec![
            held("meetings/1", END - 30 * DAY, 4),
            held("meetings/2", END - 20 * DAY, 4),
            held("meetings/3", END - 10 * DAY, 3),
        ],
        ..Default::default()
    };
    assert!(rules_fired(&flat).is_empty());
    // …or only two meetings held.
    let short = Records { meetings: falling.meetings[1..].to_vec(), ..Default::default() };
    assert!(rules_fired(&short).is_empty());
}

fn closed_commitment(name: &str, satisfaction: i32) -> Rec<s::Commitment> {
    rec(
        name,
        s::Commitment {
            state: s::CommitmentState::Closed as i32,
            satisfaction,
            create_time: ts(END - 50 * DAY),
            close_time: ts(END - 5 * DAY),
            ..Default::default()
        },
    )
}

#[test]
fn commitments_closed_with_low_satisfaction_are_flagged_from_two() {
    let mut records = Records {
        commitments: vec![closed_commitment("commitments/1", 2), closed_commitment("commitments/2", 3)],
        ..Default::default()
    };
    assert!(rules_fired(&records).is_empty());
    records.commitments.push(closed_commitment("commitments/3", 1));
    assert_eq!(rules_fired(&records), ["low-satisfaction-commitments:period"]);
}

fn case_with_cause(name: &str, opened: i64, category: m::Category, confidential: bool) -> Rec<m::Case> {
    let mut r = rec(
        name,
        m::Case {
            create_time: ts(opened),
            stage: m::Stage::RootCauseRecorded as i32,
            mediator: "contacts/mediator".into(),
            confidential,
            root_cause: Some(m::RootCause { category: category as i32, ..Default::default() }),
            ..Default::default()
        },
    );
    r.meta.confidential = confidential;
    r
}

#[test]
fn a_root_cause_in_three_cases_of_the_quarter_is_flagged_and_cites_them_with_their_team() {
    let c = m::Category::Contractual;
    let mut records = Records {
        cases: vec![
            case_with_cause("cases/1", END - 10 * DAY, c, false),
            case_with_cause("cases/2", END - 20 * DAY, c, true),
        ],
        ..Default::default()
    };
    // A third one opened before the 91 days does not make it recurring.
    records.cases.push(case_with_cause("cases/old", END - 120 * DAY, c, false));
    assert!(rules_fired(&records).is_empty());
    records.cases.push(case_with_cause("cases/3", END - 30 * DAY, c, false));
    let computed = compute(ReportKind::Mediation, &Scope::All, &window(), &records);
    let suggestion = &computed.suggestions[0];
    assert_eq!(suggestion.recommendation.id, "recurring-root-cause:CONTRACTUAL");
    let confidential: Vec<_> = suggestion.evidence.iter().filter(|e| e.confidential).collect();
    assert_eq!(confidential.len(), 1);
    assert_eq!(confidential[0].team, ["contacts/mediator"]);
}

#[test]
fn an_organisation_scope_counts_the_interactions_of_its_people_and_of_its_children() {
    let records = Records {
        organizations: vec![
            organization("organizations/parent", END - 400 * DAY),
            rec(
                "organizations/child",
                contacts::Organization { parent: "organizations/parent".into(), ..Default::default() },
            ),
            organization("organizations/other", END - 400 * DAY),
        ],
        affiliations: vec![Affiliated { contact: "contacts/p".into(), organization: "organizations/child".into() }],
        interactions: vec![
            interaction("interactions/1", "contacts/p", END - 3 * DAY),
            interaction("interactions/2", "organizations/parent", END - 2 * DAY),
            interaction("interactions/3", "organizations/other", END - DAY),
        ],
        ..Default::default()
    };
    let scope = Scope::Organization(liaison_runtime::api::names::Name::generate());
    let none = compute(ReportKind::Engagement, &scope, &window(), &records);
    assert_eq!(figure(&none, "engagement.interactions"), 0.0, "a scope of an unknown organisation holds nothing");
    let parent = Scope::Organization(
        liaison_runtime::api::names::Name::parse("s", "organizations/0193a5b2-7c1d-7000-8000-000000000001").unwrap(),
    );
    let mut records = records;
    for o in &mut records.organizations {
        o.meta.name = o.meta.name.replace("organizations/parent", "organizations/0193a5b2-7c1d-7000-8000-000000000001");
        o.item.parent =
            o.item.parent.replace("organizations/parent", "organizations/0193a5b2-7c1d-7000-8000-000000000001");
    }
    records.interactions[1].item.participants = vec!["organizations/0193a5b2-7c1d-7000-8000-000000000001".into()];
    let computed = compute(ReportKind::Engagement, &parent, &window(), &records);
    assert_eq!(figure(&computed, "engagement.interactions"), 2.0);
    let all = compute(ReportKind::Engagement, &Scope::All, &window(), &records);
    assert_eq!(figure(&all, "engagement.interactions"), 3.0);
}

fn figure(computed: &Computed, id: &str) -> f64 {
    computed.sections.iter().flat_map(|s| &s.figures).find(|f| f.id == id).map_or(f64::NAN, |f| f.value)
}

#[test]
fn percentiles_use_the_nearest_rank_and_weeks_follow_the_zone() {
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90.0), 9.0);
    assert_eq!(percentile(&[], 90.0), 0.0);
    let weeks = window().weeks();
    assert_eq!(weeks.first().map(String::as_str), Some("2026-W01"));
    assert_eq!(weeks.len(), 14);
}

#[test]
fn a_report_keeps_its_size_when_the_register_grows() {
    let mut records = Records::default();
    for i in 0..30 {
        let org = format!("organizations/{i:02}");
        records.organizations.push(organization(&org, END - 400 * DAY));
        // Organisation i has i + 1 interactions in the period; none in the 60 days before the end for half.
        for n in 0..=i {
            let at = if i % 2 == 0 { END - 70 * DAY } else { END - DAY };
            records.interactions.push(interaction(&format!("interactions/{i}-{n}"), &org, at - n as i64));
        }
    }
    let computed = compute(ReportKind::Engagement, &Scope::All, &window(), &records);
    let table = computed.sections[0].tables.iter().find(|t| t.id == "engagement.by_organization").unwrap();
    assert_eq!(table.rows.len(), TABLE_ROWS + 1, "the largest rows and one for all others");
    assert_eq!(table.rows[0].cells[0].text, "organizations/29", "most interactions first");
    // The first five organisations (1 to 5 interactions) are the others: 15 interactions.
    assert_eq!(figure(&computed, "engagement.interactions{organization=others}"), 15.0);
    let unengaged = computed.suggestions.iter().filter(|s| s.recommendation.rule == "unengaged-organization").count();
    assert_eq!(unengaged, 15, "fifteen flagged, under the cap");
    let mut many = records.clone();
    for i in 30..60 {
        many.organizations.push(organization(&format!("organizations/{i:02}"), END - 400 * DAY));
    }
    let computed = compute(ReportKind::Engagement, &Scope::All, &window(), &many);
    let flagged: Vec<_> =
        computed.suggestions.iter().filter(|s| s.recommendation.rule == "unengaged-organization").collect();
    assert_eq!(flagged.len(), crate::domain::rules::PER_RULE + 1);
    let others = flagged.iter().find(|s| s.recommendation.id == "unengaged-organization:others").unwrap();
    assert_eq!(others.evidence.len(), 45 - crate::domain::rules::PER_RULE, "the rest cited in one suggestion");
}
