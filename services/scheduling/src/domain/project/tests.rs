use super::*;

fn at(days: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::days(days)
}

fn eur(units: i64, nanos: i32) -> Money {
    Money { currency: "EUR".into(), units, nanos }
}

fn milestone(name: &str, due: DateTime<Utc>, status: MilestoneStatus, percent: i32) -> MilestoneFacts {
    MilestoneFacts { name: name.into(), title: name.to_uppercase(), due, status, percent }
}

#[test]
fn child_names_are_strict_and_round_trip() {
    let project = Name::<Projects>::generate();
    let milestone = MilestoneName::generate(project);
    assert_eq!(MilestoneName::parse("m", &milestone.to_string()), Ok(milestone));
    assert_eq!(MilestoneName::from_keys(&project.key(), &milestone.key()).unwrap(), milestone);
    let baseline = BaselineName::generate(project).to_string();
    assert!(MilestoneName::parse("m", &baseline).is_err(), "a baseline is not a milestone");
    let id = Uuid::now_v7();
    for bad in [
        String::new(),
        format!("projects/{id}"),
        format!("projects/{id}/milestones"),
        format!("projects/x/milestones/{id}"),
        format!("projects/{id}/milestones/{}", id.to_string().to_uppercase()),
        format!("projects/{id}/milestones/{id}/x"),
        format!("cases/{id}/milestones/{id}"),
    ] {
        assert!(MilestoneName::parse("m", &bad).is_err(), "{bad}");
    }
}

#[test]
fn money_is_checked_field_by_field_and_shown_plainly() {
    let bad = wire::Money { currency_code: "eur".into(), units: -1, nanos: 1_000_000_000 };
    let fields: Vec<String> = Money::parse("b", &bad).unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["b.currency_code", "b.units", "b.nanos"]);
    assert_eq!(eur(1200, 500_000_000).to_string(), "EUR 1200.5");
    assert_eq!(Money::from_total("EUR", -1_500_000_000), eur(-1, -500_000_000));
    assert_eq!(Money::from_total("EUR", -1_500_000_000).to_string(), "EUR -1.5");
}

#[test]
fn a_plan_ends_after_it_starts_in_one_currency() {
    assert!(check_plan(Some((at(0), at(10))), Some(&eur(1, 0)), Some(&eur(2, 0))).is_empty());
    let usd = Money { currency: "USD".into(), units: 1, nanos: 0 };
    let fields: Vec<String> =
        check_plan(Some((at(10), at(10))), Some(&eur(1, 0)), Some(&usd)).into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["project.target_end_time", "project.actual_budget.currency_code"]);
}

#[test]
fn an_empty_override_clears_and_a_half_one_names_what_is_missing() {
    assert_eq!(health_override("o", None), Ok(None));
    assert_eq!(health_override("o", Some(&wire::HealthOverride::default())), Ok(None));
    let half = wire::HealthOverride { reason: "board says so".into(), ..Default::default() };
    let fields: Vec<String> = health_override("o", Some(&half)).unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["o.health"]);
    let full = wire::HealthOverride {
        health: wire::ProjectHealth::AtRisk as i32,
        reason: "audit".into(),
        ..Default::default()
    };
    assert_eq!(
        health_override("o", Some(&full)),
        Ok(Some(NewOverride { health: Health::AtRisk, reason: "audit".into() }))
    );
}

#[test]
fn a_project_without_trouble_is_on_track_with_no_reasons() {
    let milestones = [
        milestone("late but done", at(-30), MilestoneStatus::Done, 100),
        milestone("late but dropped", at(-30), MilestoneStatus::Cancelled, 0),
        milestone("soon and well along", at(3), MilestoneStatus::InProgress, 50),
        milestone("far off", at(30), MilestoneStatus::NotStarted, 0),
    ];
    let assessed = assess(&milestones, Some(&eur(100, 0)), Some(&eur(100, 0)), at(0));
    assert_eq!(assessed, Assessment { health: Health::OnTrack, reasons: vec![] });
}

#[test]
fn late_or_behind_milestones_and_overspending_put_a_project_at_risk() {
    let late = assess(&[milestone("m1", at(-2), MilestoneStatus::InProgress, 90)], None, None, at(0));
    assert_eq!(late.health, Health::AtRisk);
    assert_eq!(late.reasons, ["Milestone 'M1' (m1) was due on 2027-01-13 and is not done."]);
    let behind = assess(&[milestone("m2", at(7), MilestoneStatus::NotStarted, 49)], None, None, at(0));
    assert_eq!(behind.reasons, ["Milestone 'M2' (m2) is due on 2027-01-22, within 7 days, and only 49% complete."]);
    let over = assess(&[], Some(&eur(1000, 0)), Some(&eur(1100, 0)), at(0));
    assert_eq!(
        (over.health, over.reasons),
        (Health::AtRisk, vec!["Spending (EUR 1100) exceeds the plan (EUR 1000).".to_owned()])
    );
    let exact = assess(&[], Some(&eur(1000, 0)), Some(&eur(1000, 0)), at(0));
    assert_eq!(exact.health, Health::OnTrack, "spending the plan exactly is on track");
}

#[test]
fn very_late_milestones_and_overspending_by_more_than_a_tenth_put_a_project_off_track() {
    let milestones = [
        milestone("soon", at(1), MilestoneStatus::NotStarted, 0),
        milestone("very late", at(-15), MilestoneStatus::InProgress, 80),
    ];
    let assessed = assess(&milestones, Some(&eur(1000, 0)), Some(&eur(1100, 1)), at(0));
    assert_eq!(assessed.health, Health::OffTrack);
    assert_eq!(
        assessed.reasons,
        [
            "Milestone 'VERY LATE' (very late) was due on 2026-12-31, more than 14 days ago, and is not done."
                .to_owned(),
            "Spending (EUR 1100.000000001) exceeds the plan (EUR 1000) by more than 10%.".to_owned(),
            "Milestone 'SOON' (soon) is due on 2027-01-16, within 7 days, and only 0% complete.".to_owned(),
        ]
    );
    let fourteen_days = assess(&[milestone("m", at(-14), MilestoneStatus::NotStarted, 0)], None, None, at(0));
    assert_eq!(fourteen_days.health, Health::AtRisk, "exactly 14 days late is not yet off track");
}

#[test]
fn a_milestone_after_the_end_is_refused_and_a_move_names_the_milestones_it_strands() {
    assert!(check_due(Some("m"), at(10), "p", at(10)).is_ok());
    match check_due(None, at(11), "projects/p", at(10)) {
        Err(Error::FailedPrecondition { reason: MILESTONE_AFTER_PROJECT_END, violations }) => {
            assert_eq!(violations[0].subject, "projects/p");
            assert_eq!(
                violations[0].description,
                "a milestone due on 2027-01-26 would be after the end of projects/p on 2027-01-25: set \
                     allow_after_project_end to plan it anyway, or move the project's end"
            );
        }
        other => panic!("{other:?}"),
    }
    let milestones = [
        milestone("early", at(5), MilestoneStatus::NotStarted, 0),
        milestone("caught", at(9), MilestoneStatus::InProgress, 0),
        milestone("dropped", at(9), MilestoneStatus::Cancelled, 0),
        milestone("already after", at(20), MilestoneStatus::NotStarted, 0),
    ];
    let stranded: Vec<String> = stranded(&milestones, at(10), at(8)).into_iter().map(|v| v.subject).collect();
    assert_eq!(stranded, ["caught"]);
    assert!(super::stranded(&milestones, at(10), at(12)).is_empty(), "a later end strands nothing");
}

#[test]
fn done_means_complete_and_cancelled_counts_for_nothing() {
    assert_eq!(settled_percent(MilestoneStatus::Done, 10), 100);
    assert_eq!(milestone_share(MilestoneStatus::InProgress, 40), Some(40));
    assert_eq!(milestone_share(MilestoneStatus::Cancelled, 40), None);
}

#[test]
fn a_comparison_classifies_every_milestone_and_lists_new_ones_last() {
    let then = [
        milestone("b-slipped", at(10), MilestoneStatus::InProgress, 20),
        milestone("a-on-plan", at(5), MilestoneStatus::NotStarted, 0),
        milestone("c-ahead", at(20), MilestoneStatus::NotStarted, 0),
        milestone("d-removed", at(25), MilestoneStatus::NotStarted, 10),
        milestone("e-dropped-then", at(1), MilestoneStatus::Cancelled, 0),
    ];
    let baseline = plan_of(&then);
    assert_eq!(baseline.len(), 4, "cancelled milestones are not in the plan");
    let now = [
        milestone("a-on-plan", at(5) + TimeDelta::hours(3), MilestoneStatus::Done, 0),
        milestone("b-slipped", at(13), MilestoneStatus::InProgress, 60),
        milestone("c-ahead", at(18), MilestoneStatus::NotStarted, 0),
        milestone("d-removed", at(25), MilestoneStatus::Cancelled, 10),
        milestone("e-dropped-then", at(2), MilestoneStatus::NotStarted, 5),
        milestone("f-new", at(0), MilestoneStatus::NotStarted, 0),
    ];
    let compared = compare(&baseline, &now);
    let got: Vec<(&str, &str, i32, i32)> =
        compared.iter().map(|v| (v.milestone.as_str(), v.change, v.slip_days, v.progress_change)).collect();
    assert_eq!(
        got,
        [
            ("a-on-plan", "ON_PLAN", 0, 100),
            ("b-slipped", "SLIPPED", 3, 40),
            ("c-ahead", "AHEAD", -2, 0),
            ("d-removed", "REMOVED", 0, 0),
            ("f-new", "ADDED", 0, 0),
            ("e-dropped-then", "ADDED", 0, 5),
        ]
    );
    let removed = &compared[3];
    assert_eq!((removed.current_due, removed.title.as_str()), (None, "D-REMOVED"));
}

#[test]
fn budget_variance_is_actual_now_minus_planned_then() {
    assert_eq!(
        budget_variance(Some(&eur(1000, 0)), Some(&eur(1250, 500_000_000))),
        Some((eur(250, 500_000_000), true))
    );
    assert_eq!(budget_variance(Some(&eur(1000, 0)), Some(&eur(900, 0))), Some((eur(-100, 0), false)));
    assert_eq!(budget_variance(None, Some(&eur(900, 0))), None);
    let usd = Money { currency: "USD".into(), units: 1, nanos: 0 };
    assert_eq!(budget_variance(Some(&eur(1, 0)), Some(&usd)), None);
}
