//! Projects: created with their organisation checked, listed by organisation, their health computed from their
//! milestones and budget (or overridden with a reason), their milestones kept within their end unless allowed —
//! also when the end moves at the same time — and their plan compared with named baselines.
use crate::commitments::{organization, ts};
use crate::meetings::{App, app, bad_fields, changes_through, preconditions};
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;

on_both_databases!(
    a_project_is_created_read_and_listed_by_organisation_with_tokens_bound_to_the_filter,
    a_bad_project_names_every_field_and_an_unknown_organisation_is_refused_writing_nothing,
    health_is_on_track_at_risk_or_off_track_from_milestones_and_budget,
    a_health_override_replaces_the_computed_health_with_its_reason_until_cleared,
    a_milestone_after_the_project_end_is_refused_unless_allowed,
    moving_the_end_before_milestones_is_refused_naming_each_of_them,
    racing_end_moves_and_milestone_creates_never_leave_a_milestone_after_the_end,
    milestones_list_by_due_time_done_means_complete_and_bad_ones_name_every_field,
    baseline_names_are_unique_within_a_project,
    a_comparison_with_a_baseline_shows_slips_progress_and_budget_variance,
);

pub(crate) const fn days(n: i64) -> i64 {
    n * 86_400
}

/// Now, in whole seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn project(display_name: &str, organization: &str, start: i64, end: i64) -> Project {
    Project {
        display_name: display_name.into(),
        owning_organization: organization.into(),
        start_time: ts(start),
        target_end_time: ts(end),
        ..Default::default()
    }
}

pub(crate) async fn create_project(app: &mut App, project: Project) -> Result<Project, tonic::Status> {
    let request = CreateProjectRequest { project: Some(project), request_id: String::new() };
    app.client.create_project(request).await.map(|r| r.into_inner().project.unwrap())
}

pub(crate) fn milestone(title: &str, due: i64) -> Milestone {
    Milestone { title: title.into(), due_time: ts(due), ..Default::default() }
}

pub(crate) async fn create_milestone(
    app: &mut App,
    parent: &str,
    milestone: Milestone,
    allow_after_project_end: bool,
) -> Result<Milestone, tonic::Status> {
    let request = CreateMilestoneRequest {
        parent: parent.into(),
        milestone: Some(milestone),
        allow_after_project_end,
        request_id: String::new(),
    };
    app.client.create_milestone(request).await.map(|r| r.into_inner().milestone.unwrap())
}

async fn get(app: &mut App, name: &str) -> Project {
    app.client.get_project(GetProjectRequest { name: name.into() }).ok().await.project.unwrap()
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

async fn update(app: &mut App, project: Project, paths: &[&str]) -> Result<Project, tonic::Status> {
    let request = UpdateProjectRequest { project: Some(project), update_mask: mask(paths) };
    app.client.update_project(request).await.map(|r| r.into_inner().project.unwrap())
}

async fn update_milestone(app: &mut App, milestone: Milestone, paths: &[&str]) -> Result<Milestone, tonic::Status> {
    let request = UpdateMilestoneRequest { milestone: Some(milestone), update_mask: mask(paths), ..Default::default() };
    app.client.update_milestone(request).await.map(|r| r.into_inner().milestone.unwrap())
}

fn eur(units: i64, nanos: i32) -> Option<Money> {
    Some(Money { currency_code: "EUR".into(), units, nanos })
}

fn day(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap().format("%Y-%m-%d").to_string()
}

fn health(project: &Project) -> (i32, Vec<String>) {
    (project.health, project.health_reasons.clone())
}

async fn a_project_is_created_read_and_listed_by_organisation_with_tokens_bound_to_the_filter(engine: Engine) {
    let mut app = app(engine).await;
    let (parks, roads) = (organization(&mut app, "Parks").await, organization(&mut app, "Roads").await);
    let start = now();
    let asked = Project {
        objective: "A playground for the east side".into(),
        planned_budget: eur(50_000, 0),
        ..project("Playground", &parks, start, start + days(90))
    };
    let created = create_project(&mut app, asked).await.unwrap();
    assert!(created.name.starts_with("projects/"), "{}", created.name);
    assert_eq!((created.planned_budget.clone(), created.actual_budget.clone()), (eur(50_000, 0), None));
    assert_eq!(
        (created.health, created.computed_health),
        (ProjectHealth::OnTrack as i32, ProjectHealth::OnTrack as i32)
    );
    assert_eq!(
        (created.health_reasons.len(), created.health_override.is_none(), created.etag.as_str()),
        (0, true, "\"r1\"")
    );
    assert_eq!(get(&mut app, &created.name).await, created);
    let second = create_project(&mut app, project("Benches", &parks, start, start + days(30))).await.unwrap();
    create_project(&mut app, project("Potholes", &roads, start, start + days(30))).await.unwrap();

    let page = |token: String| ListProjectsRequest {
        owning_organization: parks.clone(),
        page_size: Some(1),
        page_token: token,
    };
    let first = app.client.list_projects(page(String::new())).ok().await;
    assert_eq!(first.projects, std::slice::from_ref(&created));
    let next = app.client.list_projects(page(first.next_page_token.clone())).ok().await;
    assert_eq!((next.projects, next.next_page_token.as_str()), (vec![second], ""));
    let other =
        ListProjectsRequest { owning_organization: roads, page_size: Some(1), page_token: first.next_page_token };
    assert_eq!(bad_fields(&app.client.list_projects(other).err().await), ["page_token"]);
    assert_eq!(app.client.list_projects(ListProjectsRequest::default()).ok().await.projects.len(), 3);
    let changes = changes_through(&app, &created.name).await;
    assert_eq!(changes[0].resource_name, created.name);
}

async fn a_bad_project_names_every_field_and_an_unknown_organisation_is_refused_writing_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let start = now();
    let bad = Project {
        planned_budget: eur(-1, 0),
        actual_budget: Some(Money { currency_code: "usd".into(), units: 1, nanos: 1_000_000_000 }),
        ..project(" ", "contacts/1", start, start - days(1))
    };
    let status = create_project(&mut app, bad).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "project.display_name",
            "project.owning_organization",
            "project.planned_budget.units",
            "project.actual_budget.currency_code",
            "project.actual_budget.nanos",
            "project.target_end_time",
        ]
    );
    let two_currencies = Project {
        planned_budget: eur(10, 0),
        actual_budget: Some(Money { currency_code: "USD".into(), units: 1, nanos: 0 }),
        ..project("Mixed", &org, start, start + days(1))
    };
    let status = create_project(&mut app, two_currencies).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["project.actual_budget.currency_code"]);
    let ghost = "organizations/01a20000-0000-7000-8000-000000000000";
    let status = create_project(&mut app, project("Ghost", ghost, start, start + days(1))).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTY_NOT_FOUND".to_owned(), ghost.to_owned())]);
    assert!(app.client.list_projects(ListProjectsRequest::default()).ok().await.projects.is_empty());

    let kept = create_project(&mut app, project("Kept", &org, start, start + days(10))).await.unwrap();
    // The plan is judged with what is stored: a start moved past the stored end is refused.
    let late_start = Project { name: kept.name.clone(), start_time: ts(start + days(11)), ..Default::default() };
    assert_eq!(
        bad_fields(&update(&mut app, late_start, &["start_time"]).await.unwrap_err()),
        ["project.target_end_time"]
    );
    let spent_in_dollars = Project {
        name: kept.name.clone(),
        planned_budget: eur(10, 0),
        actual_budget: Some(Money { currency_code: "USD".into(), units: 1, nanos: 0 }),
        ..Default::default()
    };
    let status = update(&mut app, spent_in_dollars, &["planned_budget", "actual_budget"]).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["project.actual_budget.currency_code"]);
    assert_eq!(get(&mut app, &kept.name).await, kept);
    assert_eq!(changes_through(&app, &kept.name).await.len(), 1, "only the project that was created");
}

async fn health_is_on_track_at_risk_or_off_track_from_milestones_and_budget(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan = create_project(&mut app, project("Park", &org, t - days(40), t + days(60))).await.unwrap();
    create_milestone(&mut app, &plan.name, milestone("Far off", t + days(30)), false).await.unwrap();
    assert_eq!(health(&get(&mut app, &plan.name).await), (ProjectHealth::OnTrack as i32, vec![]));

    let soon = create_milestone(
        &mut app,
        &plan.name,
        Milestone { percent_complete: 10, ..milestone("Soon", t + days(3)) },
        false,
    )
    .await
    .unwrap();
    let at_risk = format!(
        "Milestone 'Soon' ({}) is due on {}, within 7 days, and only 10% complete.",
        soon.name,
        day(t + days(3))
    );
    assert_eq!(health(&get(&mut app, &plan.name).await), (ProjectHealth::AtRisk as i32, vec![at_risk]));
    let halfway = Milestone { name: soon.name.clone(), percent_complete: 50, ..Default::default() };
    update_milestone(&mut app, halfway, &["percent_complete"]).await.unwrap();
    assert_eq!(get(&mut app, &plan.name).await.health, ProjectHealth::OnTrack as i32, "half done is enough");

    let late = create_milestone(&mut app, &plan.name, milestone("Late", t - days(3)), false).await.unwrap();
    let late_reason = format!("Milestone 'Late' ({}) was due on {} and is not done.", late.name, day(t - days(3)));
    assert_eq!(health(&get(&mut app, &plan.name).await), (ProjectHealth::AtRisk as i32, vec![late_reason.clone()]));
    let very_late = create_milestone(&mut app, &plan.name, milestone("Very late", t - days(20)), false).await.unwrap();
    let very_late_reason = format!(
        "Milestone 'Very late' ({}) was due on {}, more than 14 days ago, and is not done.",
        very_late.name,
        day(t - days(20))
    );
    assert_eq!(
        health(&get(&mut app, &plan.name).await),
        (ProjectHealth::OffTrack as i32, vec![very_late_reason, late_reason])
    );
    for name in [&late.name, &very_late.name] {
        let done = Milestone { name: name.clone(), status: MilestoneStatus::Done as i32, ..Default::default() };
        update_milestone(&mut app, done, &["status"]).await.unwrap();
    }
    assert_eq!(health(&get(&mut app, &plan.name).await), (ProjectHealth::OnTrack as i32, vec![]));

    let budget = Project {
        planned_budget: eur(1000, 0),
        actual_budget: eur(1050, 0),
        ..project("Budget", &org, t, t + days(9))
    };
    let budget = create_project(&mut app, budget).await.unwrap();
    let over = "Spending (EUR 1050) exceeds the plan (EUR 1000).".to_owned();
    assert_eq!(health(&budget), (ProjectHealth::AtRisk as i32, vec![over]));
    let spent = |units| Project { name: budget.name.clone(), actual_budget: eur(units, 0), ..Default::default() };
    let far_over = update(&mut app, spent(1101), &["actual_budget"]).await.unwrap();
    let reason = "Spending (EUR 1101) exceeds the plan (EUR 1000) by more than 10%.".to_owned();
    assert_eq!(health(&far_over), (ProjectHealth::OffTrack as i32, vec![reason]));
    let within = update(&mut app, spent(900), &["actual_budget"]).await.unwrap();
    assert_eq!(health(&within), (ProjectHealth::OnTrack as i32, vec![]));
}

async fn a_health_override_replaces_the_computed_health_with_its_reason_until_cleared(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan = create_project(&mut app, project("Park", &org, t, t + days(60))).await.unwrap();
    let manual = HealthOverride {
        health: ProjectHealth::AtRisk as i32,
        reason: "Board review pending".into(),
        ..Default::default()
    };
    let asked = Project { name: plan.name.clone(), health_override: Some(manual), ..Default::default() };
    let mut request = tonic::Request::new(UpdateProjectRequest { project: Some(asked), update_mask: None });
    request.metadata_mut().insert("liaison-actor", "jane".parse().unwrap());
    let overridden = app.client.update_project(request).ok().await.project.unwrap();
    assert_eq!(health(&overridden), (ProjectHealth::AtRisk as i32, vec!["Board review pending".to_owned()]));
    assert_eq!(overridden.computed_health, ProjectHealth::OnTrack as i32);
    let kept = overridden.health_override.clone().unwrap();
    assert_eq!(
        (kept.health, kept.reason.as_str(), kept.actor.as_str()),
        (ProjectHealth::AtRisk as i32, "Board review pending", "jane")
    );
    assert!(kept.set_time.is_some());

    let half = Project {
        name: plan.name.clone(),
        health_override: Some(HealthOverride { reason: "no health".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(bad_fields(&update(&mut app, half, &[]).await.unwrap_err()), ["project.health_override.health"]);
    let cleared = update(&mut app, Project { name: plan.name.clone(), ..Default::default() }, &["health_override"])
        .await
        .unwrap();
    assert_eq!((health(&cleared), cleared.health_override), ((ProjectHealth::OnTrack as i32, vec![]), None));
    assert_eq!(cleared.etag, "\"r3\"");
}

async fn a_milestone_after_the_project_end_is_refused_unless_allowed(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan = create_project(&mut app, project("Park", &org, t, t + days(60))).await.unwrap();
    let status = create_milestone(&mut app, &plan.name, milestone("Opening", t + days(61)), false).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MILESTONE_AFTER_PROJECT_END".to_owned(), plan.name.clone())]);
    let list = ListMilestonesRequest { parent: plan.name.clone() };
    assert!(app.client.list_milestones(list.clone()).ok().await.milestones.is_empty(), "nothing was written");
    let opening = create_milestone(&mut app, &plan.name, milestone("Opening", t + days(61)), true).await.unwrap();
    assert!(opening.name.starts_with(&format!("{}/milestones/", plan.name)), "{}", opening.name);

    let on_time = create_milestone(&mut app, &plan.name, milestone("Fence", t + days(60)), false).await.unwrap();
    let moved = Milestone { name: on_time.name.clone(), due_time: ts(t + days(62)), ..Default::default() };
    let status = update_milestone(&mut app, moved.clone(), &["due_time"]).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MILESTONE_AFTER_PROJECT_END".to_owned(), on_time.name.clone())]);
    let renamed = Milestone { name: opening.name.clone(), title: "Grand opening".into(), ..Default::default() };
    update_milestone(&mut app, renamed, &["title"]).await.unwrap();
    let request = UpdateMilestoneRequest {
        milestone: Some(moved),
        update_mask: mask(&["due_time"]),
        allow_after_project_end: true,
    };
    let allowed = app.client.update_milestone(request).ok().await.milestone.unwrap();
    assert_eq!(allowed.due_time, ts(t + days(62)));
    let titles: Vec<String> =
        app.client.list_milestones(list).ok().await.milestones.into_iter().map(|m| m.title).collect();
    assert_eq!(titles, ["Grand opening", "Fence"]);
    let ghost = "projects/01a20000-0000-7000-8000-000000000000";
    let status = create_milestone(&mut app, ghost, milestone("x", t), true).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

async fn moving_the_end_before_milestones_is_refused_naming_each_of_them(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan = create_project(&mut app, project("Park", &org, t, t + days(60))).await.unwrap();
    let mut add = async |title: &str, due: i64, allow: bool| {
        create_milestone(&mut app, &plan.name, milestone(title, due), allow).await.unwrap()
    };
    let b = add("B", t + days(55), false).await;
    let a = add("A", t + days(50), false).await;
    add("Early", t + days(10), false).await;
    add("Already after", t + days(70), true).await;
    let dropped = add("Dropped", t + days(52), false).await;
    let cancel =
        Milestone { name: dropped.name.clone(), status: MilestoneStatus::Cancelled as i32, ..Default::default() };
    update_milestone(&mut app, cancel, &["status"]).await.unwrap();

    let earlier = Project { name: plan.name.clone(), target_end_time: ts(t + days(45)), ..Default::default() };
    let status = update(&mut app, earlier, &[]).await.unwrap_err();
    assert_eq!(
        preconditions(&status),
        [
            ("MILESTONE_AFTER_PROJECT_END".to_owned(), a.name.clone()),
            ("MILESTONE_AFTER_PROJECT_END".to_owned(), b.name.clone())
        ]
    );
    assert_eq!(get(&mut app, &plan.name).await.target_end_time, ts(t + days(60)));
    let fits = Project {
        name: plan.name.clone(),
        etag: plan.etag.clone(),
        target_end_time: ts(t + days(56)),
        ..Default::default()
    };
    let moved = update(&mut app, fits.clone(), &[]).await.unwrap();
    assert_eq!(moved.target_end_time, ts(t + days(56)));
    assert_eq!(update(&mut app, fits, &[]).await.unwrap_err().code(), Code::Aborted, "the etag is stale now");
}

async fn racing_end_moves_and_milestone_creates_never_leave_a_milestone_after_the_end(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    for round in 0..6 {
        let plan = create_project(&mut app, project(&format!("Race {round}"), &org, t, t + days(60))).await.unwrap();
        let (mut mover, mut adder) = (app.client.clone(), app.client.clone());
        let earlier = Project { name: plan.name.clone(), target_end_time: ts(t + days(30)), ..Default::default() };
        let move_end = tokio::spawn(async move {
            mover.update_project(UpdateProjectRequest { project: Some(earlier), update_mask: None }).await
        });
        let request = CreateMilestoneRequest {
            parent: plan.name.clone(),
            milestone: Some(milestone("Between", t + days(45))),
            ..Default::default()
        };
        let add = tokio::spawn(async move { adder.create_milestone(request).await });
        let (moved, added) = (move_end.await.unwrap(), add.await.unwrap());
        let refused = match (&moved, &added) {
            (Ok(_), Err(status)) | (Err(status), Ok(_)) => status,
            _ => panic!("exactly one may succeed: {moved:?} {added:?}"),
        };
        assert_eq!(preconditions(refused)[0].0, "MILESTONE_AFTER_PROJECT_END");
        let end = get(&mut app, &plan.name).await.target_end_time.unwrap().seconds;
        let milestones =
            app.client.list_milestones(ListMilestonesRequest { parent: plan.name.clone() }).ok().await.milestones;
        assert!(milestones.iter().all(|m| m.due_time.as_ref().unwrap().seconds <= end), "round {round}");
    }
}

async fn milestones_list_by_due_time_done_means_complete_and_bad_ones_name_every_field(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan = create_project(&mut app, project("Park", &org, t, t + days(60))).await.unwrap();
    let second = create_milestone(&mut app, &plan.name, milestone("Second", t + days(20)), false).await.unwrap();
    let first = create_milestone(&mut app, &plan.name, milestone("First", t + days(10)), false).await.unwrap();
    assert_eq!((first.status, first.percent_complete), (MilestoneStatus::NotStarted as i32, 0));
    let listed = app.client.list_milestones(ListMilestonesRequest { parent: plan.name.clone() }).ok().await.milestones;
    assert_eq!(listed, [first.clone(), second.clone()]);

    let done = Milestone {
        name: first.name.clone(),
        etag: first.etag.clone(),
        status: MilestoneStatus::Done as i32,
        percent_complete: 30,
        ..Default::default()
    };
    let updated = update_milestone(&mut app, done.clone(), &[]).await.unwrap();
    assert_eq!(
        (updated.status, updated.percent_complete, updated.etag.as_str()),
        (MilestoneStatus::Done as i32, 100, "\"r2\"")
    );
    assert_eq!(update_milestone(&mut app, done, &[]).await.unwrap_err().code(), Code::Aborted);

    let bad =
        Milestone { title: " ".into(), status: 9, owner: "x".into(), percent_complete: 101, ..Default::default() };
    let request =
        CreateMilestoneRequest { parent: "projects/x".into(), milestone: Some(bad.clone()), ..Default::default() };
    let status = app.client.create_milestone(request).err().await;
    assert_eq!(
        bad_fields(&status),
        [
            "parent",
            "milestone.title",
            "milestone.due_time",
            "milestone.status",
            "milestone.owner",
            "milestone.percent_complete"
        ]
    );
    let status = update_milestone(
        &mut app,
        Milestone { name: second.name.clone(), ..bad },
        &["title", "percent_complete", "due"],
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&status), ["update_mask.paths[2]"]);
    let ghost_owner = Milestone {
        name: second.name.clone(),
        owner: "contacts/01a20000-0000-7000-8000-000000000000".into(),
        ..Default::default()
    };
    let status = update_milestone(&mut app, ghost_owner, &["owner"]).await.unwrap_err();
    assert_eq!(preconditions(&status)[0].0, "PARTICIPANT_NOT_FOUND");
    let listed = app.client.list_milestones(ListMilestonesRequest { parent: plan.name.clone() }).ok().await.milestones;
    assert_eq!(listed, [updated, second]);
}

async fn baseline_names_are_unique_within_a_project(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan =
        create_project(&mut app, Project { planned_budget: eur(500, 0), ..project("Park", &org, t, t + days(60)) })
            .await
            .unwrap();
    let other = create_project(&mut app, project("Pool", &org, t, t + days(60))).await.unwrap();
    let fence = create_milestone(
        &mut app,
        &plan.name,
        Milestone { percent_complete: 20, ..milestone("Fence", t + days(10)) },
        false,
    )
    .await
    .unwrap();
    let take = |parent: &str, display_name: &str| CreateBaselineRequest {
        parent: parent.into(),
        display_name: display_name.into(),
    };
    let approved = app.client.create_baseline(take(&plan.name, "Approved plan")).ok().await.baseline.unwrap();
    assert!(approved.name.starts_with(&format!("{}/baselines/", plan.name)), "{}", approved.name);
    assert_eq!(
        (approved.display_name.as_str(), approved.target_end_time, approved.planned_budget.clone()),
        ("Approved plan", ts(t + days(60)), eur(500, 0))
    );
    let kept = BaselineMilestone {
        milestone: fence.name.clone(),
        title: "Fence".into(),
        due_time: ts(t + days(10)),
        percent_complete: 20,
    };
    assert_eq!(approved.milestones, [kept]);

    let status = app.client.create_baseline(take(&plan.name, "Approved plan")).err().await;
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(&approved.name), "the baseline that has the name is named: {status:?}");
    app.client.create_baseline(take(&other.name, "Approved plan")).ok().await;
    let revised = app.client.create_baseline(take(&plan.name, "Revised plan")).ok().await.baseline.unwrap();
    assert_eq!(bad_fields(&app.client.create_baseline(take(&plan.name, " ")).err().await), ["display_name"]);
    let ghost = "projects/01a20000-0000-7000-8000-000000000000";
    assert_eq!(app.client.create_baseline(take(ghost, "x")).err().await.code(), Code::NotFound);
    let listed = app.client.list_baselines(ListBaselinesRequest { parent: plan.name.clone() }).ok().await.baselines;
    assert_eq!(listed, [approved, revised.clone()]);
    assert_eq!(
        changes_through(&app, &revised.name).await.iter().filter(|c| c.resource_name.contains("/baselines/")).count(),
        3
    );
}

async fn a_comparison_with_a_baseline_shows_slips_progress_and_budget_variance(engine: Engine) {
    let mut app = app(engine).await;
    let org = organization(&mut app, "Parks").await;
    let t = now();
    let plan =
        create_project(&mut app, Project { planned_budget: eur(1000, 0), ..project("Park", &org, t, t + days(60)) })
            .await
            .unwrap();
    let mut add = async |title: &str, due: i64, percent: i32| {
        let asked = Milestone { percent_complete: percent, ..milestone(title, due) };
        create_milestone(&mut app, &plan.name, asked, false).await.unwrap().name
    };
    let m1 = add("Design", t + days(10), 0).await;
    let m2 = add("Permit", t + days(20), 10).await;
    let m3 = add("Build", t + days(30), 0).await;
    let m4 = add("Paint", t + days(40), 0).await;
    let request = CreateBaselineRequest { parent: plan.name.clone(), display_name: "v1".into() };
    let baseline = app.client.create_baseline(request).ok().await.baseline.unwrap();

    let change = |name: &str, due: i64, percent: i32| Milestone {
        name: name.into(),
        due_time: ts(due),
        percent_complete: percent,
        ..Default::default()
    };
    update_milestone(&mut app, change(&m1, t + days(12), 50), &["due_time", "percent_complete"]).await.unwrap();
    update_milestone(&mut app, change(&m2, t + days(17), 10), &["due_time"]).await.unwrap();
    let cancel = Milestone { name: m4.clone(), status: MilestoneStatus::Cancelled as i32, ..Default::default() };
    update_milestone(&mut app, cancel, &["status"]).await.unwrap();
    let m5 = create_milestone(&mut app, &plan.name, milestone("Lighting", t + days(35)), false).await.unwrap().name;
    let moved = Project {
        name: plan.name.clone(),
        target_end_time: ts(t + days(65)),
        actual_budget: eur(1100, 500_000_000),
        ..Default::default()
    };
    update(&mut app, moved, &[]).await.unwrap();

    let compared =
        app.client.compare_to_baseline(CompareToBaselineRequest { baseline: baseline.name.clone() }).ok().await;
    assert_eq!(compared.baseline, Some(baseline));
    assert_eq!((compared.end_slip_days, compared.over_budget), (5, true));
    assert_eq!(compared.budget_variance, eur(100, 500_000_000));
    let rows: Vec<(&str, &str, i32, i32, bool, bool)> = compared
        .milestones
        .iter()
        .map(|v| {
            (
                v.milestone.as_str(),
                v.change.as_str(),
                v.slip_days,
                v.progress_change,
                v.baseline_due_time.is_some(),
                v.current_due_time.is_some(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (m1.as_str(), "SLIPPED", 2, 50, true, true),
            (m2.as_str(), "AHEAD", -3, 0, true, true),
            (m3.as_str(), "ON_PLAN", 0, 0, true, true),
            (m4.as_str(), "REMOVED", 0, 0, true, false),
            (m5.as_str(), "ADDED", 0, 0, false, true),
        ]
    );
    let unknown = format!("{}/baselines/01a20000-0000-7000-8000-000000000000", plan.name);
    assert_eq!(
        app.client.compare_to_baseline(CompareToBaselineRequest { baseline: unknown }).err().await.code(),
        Code::NotFound
    );
}
