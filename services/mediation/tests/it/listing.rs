//! ListCases filters, its answers as of now (kept encodings that follow the clock, every write and the policy),
//! and the lifecycle table as the API enforces it, generated from the table itself.
use crate::cases::{App, app, app_with, bad_fields, case, contact, open, parties};
use chrono::{DateTime, TimeZone, Utc};
use liaison_mediation::domain::Stage as DomainStage;
use liaison_mediation::domain::lifecycle::{Action, allowed};
use liaison_mediation::{ClockSource, Mediation};
use liaison_proto::contacts::v1::*;
use liaison_proto::mediation::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::sync::atomic::{AtomicI64, Ordering};
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    cases_are_found_by_stage_party_through_its_organisation_mediator_category_and_severity,
    every_action_the_table_refuses_in_a_new_case_is_refused_by_its_rpc,
    listed_cases_are_answered_as_of_now_as_clocks_turn_days_pass_and_cases_and_the_policy_change,
);

async fn names(app: &mut App, request: ListCasesRequest) -> Vec<String> {
    app.client.list_cases(request).ok().await.cases.into_iter().map(|c| c.name).collect()
}

async fn cases_are_found_by_stage_party_through_its_organisation_mediator_category_and_severity(engine: Engine) {
    let mut app = app(engine).await;
    let organization = Organization {
        display_name: "Harbour Authority".into(),
        kind: OrganizationKind::Agency as i32,
        ..Default::default()
    };
    let request = CreateOrganizationRequest { organization: Some(organization), request_id: String::new() };
    let harbour = app.contacts.create_organization(request).ok().await.organization.unwrap().name;
    let (clerk, resident, neighbour, mediator) = (
        contact(&mut app, "Harbour clerk").await,
        contact(&mut app, "Resident").await,
        contact(&mut app, "Neighbour").await,
        contact(&mut app, "Mediator").await,
    );
    let affiliation = Affiliation { contact: clerk.clone(), organization: harbour.clone(), ..Default::default() };
    let request = CreateAffiliationRequest { affiliation: Some(affiliation), request_id: String::new() };
    app.contacts.create_affiliation(request).ok().await;
    let against_harbour = open(&mut app, case("Moorings", vec![resident.clone(), harbour.clone()]), "").await.unwrap();
    let critical = Case {
        severity: Severity::Critical as i32,
        category: Category::Interpersonal as i32,
        ..case("Hedge", vec![resident.clone(), neighbour.clone()])
    };
    let between_neighbours = open(&mut app, critical, "").await.unwrap();
    let name = between_neighbours.name.clone();
    app.client.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
    app.client.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).ok().await;
    let assign = AssignMediatorRequest { name: name.clone(), mediator: mediator.clone(), ..Default::default() };
    app.client.assign_mediator(assign).ok().await;

    let by_party = |party: &str| ListCasesRequest { party: party.into(), ..Default::default() };
    assert_eq!(
        names(&mut app, by_party(&clerk)).await,
        std::slice::from_ref(&against_harbour.name),
        "through the clerk's organisation"
    );
    assert_eq!(names(&mut app, by_party(&resident)).await, [against_harbour.name.clone(), name.clone()]);
    assert_eq!(names(&mut app, by_party(&harbour)).await, std::slice::from_ref(&against_harbour.name));
    let by_stage = ListCasesRequest { stages: vec![Stage::MediatorAssigned as i32], ..Default::default() };
    assert_eq!(names(&mut app, by_stage).await, std::slice::from_ref(&name));
    let by_mediator = ListCasesRequest { mediator: mediator.clone(), ..Default::default() };
    assert_eq!(names(&mut app, by_mediator).await, std::slice::from_ref(&name));
    let by_kind = ListCasesRequest {
        categories: vec![Category::Interpersonal as i32],
        severities: vec![Severity::Critical as i32, Severity::High as i32],
        ..Default::default()
    };
    assert_eq!(names(&mut app, by_kind).await, std::slice::from_ref(&name));
    let later = ListCasesRequest { opened_after: between_neighbours.create_time, ..Default::default() };
    assert_eq!(names(&mut app, later).await, std::slice::from_ref(&name));
    let earlier = ListCasesRequest { opened_before: between_neighbours.create_time, ..Default::default() };
    assert_eq!(names(&mut app, earlier).await, std::slice::from_ref(&against_harbour.name));
    // A page token is bound to its filters.
    let first = app.client.list_cases(ListCasesRequest { page_size: Some(1), ..Default::default() }).ok().await;
    let other_filter = ListCasesRequest {
        page_token: first.next_page_token,
        stages: vec![Stage::Received as i32],
        ..Default::default()
    };
    assert_eq!(bad_fields(&app.client.list_cases(other_filter).err().await), ["page_token"]);
    let bad = ListCasesRequest { stages: vec![0, 99], party: "meetings/x".into(), sla_status: 7, ..Default::default() };
    assert_eq!(bad_fields(&app.client.list_cases(bad).err().await), ["stages[0]", "stages[1]", "party", "sla_status"]);
}

/// The clock of the listing test, one per engine (the two variants run at the same time).
static LIST_NOW: [AtomicI64; 2] = [AtomicI64::new(0), AtomicI64::new(0)];
struct ListClock<const ENGINE: usize>;
impl<const ENGINE: usize> ClockSource for ListClock<ENGINE> {
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(LIST_NOW[ENGINE].load(Ordering::SeqCst)).unwrap()
    }
}

/// Every case ListCases answers (`status` filtering, or all), each checked against GetCase's answer, which is
/// computed afresh on every read: a kept encoding must never say anything else.
async fn listed_as_read(app: &mut App, status: SlaStatus) -> Vec<Case> {
    let request = ListCasesRequest { sla_status: status as i32, ..Default::default() };
    let listed = app.client.list_cases(request).ok().await.cases;
    for case in &listed {
        let read = app.client.get_case(GetCaseRequest { name: case.name.clone() }).ok().await.case.unwrap();
        assert_eq!(case, &read, "the listed answer of {} is the answer of a read", case.name);
    }
    listed
}

fn stage_clock(case: &Case) -> (i32, i32) {
    let clock = case.stage_sla.as_ref().expect("a stage clock");
    (clock.status, clock.working_days_elapsed)
}

async fn listed_cases_are_answered_as_of_now_as_clocks_turn_days_pass_and_cases_and_the_policy_change(engine: Engine) {
    let slot = usize::from(engine == Engine::Postgres);
    let mut app = match engine {
        Engine::Sqlite => app_with::<Mediation<ListClock<0>>>(engine).await,
        Engine::Postgres => app_with::<Mediation<ListClock<1>>>(engine).await,
    };
    let at = |y: i32, m: u32, d: u32, h: u32| {
        let time = Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        LIST_NOW[slot].store(time.timestamp_micros(), Ordering::SeqCst);
    };
    at(2026, 12, 1, 9);
    let mut policy = app.client.get_mediation_policy(GetMediationPolicyRequest {}).ok().await.policy.unwrap();
    policy.holidays = vec!["2026-12-28".into()];
    policy.stage_limits = vec![StageLimit { stage: Stage::Received as i32, working_days: vec![2, 2, 2, 2] }];
    policy.at_risk_fraction = 0.5;
    let request = UpdateMediationPolicyRequest { policy: Some(policy.clone()) };
    app.client.update_mediation_policy(request).ok().await;
    // Opened on Friday 25 December 2026: the stage's 2 working days are Tuesday 29 and Wednesday 30 (Monday 28 is
    // a holiday), at risk from Tuesday 19:30.
    at(2026, 12, 25, 15);
    let (person, org) = parties(&mut app).await;
    let first = open(&mut app, case("Listed", vec![person.clone(), org.clone()]), "").await.unwrap();
    let second = open(&mut app, case("Listed too", vec![person, org]), "").await.unwrap();
    let mut both = [first.name.clone(), second.name.clone()];
    both.sort();
    let names = |cases: &[Case]| cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let named = |cases: &[Case], name: &str| cases.iter().find(|c| c.name == name).cloned().expect("listed");

    at(2026, 12, 28, 12);
    let listed = listed_as_read(&mut app, SlaStatus::Unspecified).await;
    assert_eq!(names(&listed), both);
    assert_eq!(stage_clock(&named(&listed, &first.name)), (SlaStatus::OnTrack as i32, 0), "the holiday does not count");
    assert_eq!(listed_as_read(&mut app, SlaStatus::Unspecified).await, listed, "the same answer while nothing moves");
    at(2026, 12, 29, 12);
    let listed = listed_as_read(&mut app, SlaStatus::OnTrack).await;
    assert_eq!(names(&listed), both);
    assert_eq!(stage_clock(&named(&listed, &first.name)), (SlaStatus::OnTrack as i32, 1), "a working day passed");
    assert!(listed_as_read(&mut app, SlaStatus::AtRisk).await.is_empty(), "none at risk yet");
    at(2026, 12, 29, 20);
    assert!(listed_as_read(&mut app, SlaStatus::OnTrack).await.is_empty(), "both stage clocks turned at 19:30");
    let at_risk = listed_as_read(&mut app, SlaStatus::AtRisk).await;
    assert_eq!(names(&at_risk), both, "cases turn onto a page of at-risk cases as their clocks turn");
    assert_eq!(stage_clock(&named(&at_risk, &second.name)), (SlaStatus::AtRisk as i32, 1));

    // A write shows at the next list: the acknowledged case's stage clock restarts (on track again).
    let request = AcknowledgeCaseRequest { name: first.name.clone(), ..Default::default() };
    let acknowledged = app.client.acknowledge_case(request).ok().await.case.unwrap();
    let listed = listed_as_read(&mut app, SlaStatus::Unspecified).await;
    assert_eq!(named(&listed, &first.name), acknowledged);
    assert_eq!(acknowledged.stage, Stage::Acknowledged as i32);
    assert_ne!(acknowledged.etag, first.etag);
    assert_eq!(names(&listed_as_read(&mut app, SlaStatus::AtRisk).await), std::slice::from_ref(&second.name));

    // A new holiday in the policy, at the same instant: Tuesday no longer counts as a working day elapsed (the
    // instants the clocks were set to stay as they were).
    policy.holidays.push("2026-12-29".into());
    let request = UpdateMediationPolicyRequest { policy: Some(policy) };
    app.client.update_mediation_policy(request).ok().await;
    let listed = listed_as_read(&mut app, SlaStatus::Unspecified).await;
    assert_eq!(stage_clock(&named(&listed, &second.name)), (SlaStatus::AtRisk as i32, 0));
}

/// The RPC that performs `action` on case `name`, with otherwise valid fields.
async fn attempt(app: &mut App, action: Action, name: &str, party: &str, other: &str) -> Result<(), tonic::Status> {
    let n = || name.to_owned();
    let c = &mut app.client;
    let reason = || "because".to_owned();
    let proposal = || format!("{name}/proposals/0190f0c4-5b5c-7000-8000-000000000001");
    let action_name = || format!("{name}/preventionActions/0190f0c4-5b5c-7000-8000-000000000001");
    let start = liaison_runtime::api::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(2));
    let end = liaison_runtime::api::time::to_timestamp(
        chrono::Utc::now() + chrono::Duration::days(2) + chrono::Duration::hours(1),
    );
    match action {
        Action::Acknowledge => {
            c.acknowledge_case(AcknowledgeCaseRequest { name: n(), ..Default::default() }).await.map(drop)
        }
        Action::Assess => {
            c.assess_case(AssessCaseRequest { name: n(), eligible: true, ..Default::default() }).await.map(drop)
        }
        Action::AssignMediator => c
            .assign_mediator(AssignMediatorRequest { name: n(), mediator: other.into(), ..Default::default() })
            .await
            .map(drop),
        Action::StartMediation => {
            c.start_mediation(StartMediationRequest { name: n(), ..Default::default() }).await.map(drop)
        }
        Action::RecordRootCause => {
            let cause = RootCause { category: Category::Other as i32, analysis: "x".into(), ..Default::default() };
            c.record_root_cause(RecordRootCauseRequest { name: n(), root_cause: Some(cause), ..Default::default() })
                .await
                .map(drop)
        }
        Action::CreateProposal => {
            let proposal = Proposal { terms: "t".into(), ..Default::default() };
            c.create_proposal(CreateProposalRequest { parent: n(), proposal: Some(proposal), ..Default::default() })
                .await
                .map(drop)
        }
        Action::RespondToProposal => {
            let request = RespondToProposalRequest {
                name: proposal(),
                party: party.into(),
                answer: Answer::Accept as i32,
                ..Default::default()
            };
            c.respond_to_proposal(request).await.map(drop)
        }
        Action::StartImplementation => {
            c.start_implementation(StartImplementationRequest { name: n(), ..Default::default() }).await.map(drop)
        }
        Action::CreatePreventionAction => {
            let action = PreventionAction {
                description: "d".into(),
                owner: other.into(),
                due_time: Some(end),
                ..Default::default()
            };
            let request =
                CreatePreventionActionRequest { parent: n(), prevention_action: Some(action), ..Default::default() };
            c.create_prevention_action(request).await.map(drop)
        }
        Action::SettlePreventionAction => {
            let request = SettlePreventionActionRequest {
                name: action_name(),
                state: ActionState::Done as i32,
                ..Default::default()
            };
            c.settle_prevention_action(request).await.map(drop)
        }
        Action::ScheduleSession => {
            let request = ScheduleSessionRequest {
                name: n(),
                start_time: Some(start),
                end_time: Some(end),
                time_zone: "UTC".into(),
                ..Default::default()
            };
            c.schedule_session(request).await.map(drop)
        }
        Action::CloseResolved | Action::CloseUnresolved | Action::CloseInconclusive => {
            let (outcome, confirmation, since) = match action {
                Action::CloseResolved => {
                    (Outcome::Resolved, Some(Confirmation { confirmed_by: party.into(), record: "r".into() }), None)
                }
                Action::CloseUnresolved => (Outcome::Unresolved, None, None),
                _ => (Outcome::Inconclusive, None, Some(liaison_runtime::api::time::to_timestamp(chrono::Utc::now()))),
            };
            let request = CloseCaseRequest {
                name: n(),
                outcome: outcome as i32,
                reason: reason(),
                confirmation,
                unreachable_since: since,
                ..Default::default()
            };
            c.close_case(request).await.map(drop)
        }
        Action::Escalate => c
            .escalate_case(EscalateCaseRequest {
                name: n(),
                escalate_to: "Director".into(),
                reason: reason(),
                ..Default::default()
            })
            .await
            .map(drop),
        Action::Withdraw => c
            .withdraw_case(WithdrawCaseRequest {
                name: n(),
                party: party.into(),
                reason: reason(),
                ..Default::default()
            })
            .await
            .map(drop),
        Action::Appeal => c
            .appeal_case(AppealCaseRequest { name: n(), party: party.into(), reason: reason(), ..Default::default() })
            .await
            .map(drop),
        Action::Reopen => {
            c.reopen_case(ReopenCaseRequest { name: n(), reason: reason(), ..Default::default() }).await.map(drop)
        }
    }
}

async fn every_action_the_table_refuses_in_a_new_case_is_refused_by_its_rpc(engine: Engine) {
    let mut app = app(engine).await;
    let party = contact(&mut app, "Complainant").await;
    let respondent = contact(&mut app, "Respondent").await;
    let other = contact(&mut app, "Staff").await;
    let opened = open(&mut app, case("Table", vec![party.clone(), respondent]), "").await.unwrap();
    let permitted: Vec<Action> = allowed(DomainStage::Received).into_iter().map(|(a, _)| a).collect();
    let refused: Vec<Action> = Action::ALL.iter().copied().filter(|a| !permitted.contains(a)).collect();
    assert!(refused.len() >= 14, "{refused:?}");
    for action in refused {
        let status = attempt(&mut app, action, &opened.name, &party, &other).await.expect_err("refused");
        assert_eq!(status.code(), Code::FailedPrecondition, "{action:?}: {status:?}");
        let failure = status.get_error_details().precondition_failure().cloned().unwrap();
        assert_eq!(failure.violations[0].r#type, "ILLEGAL_TRANSITION", "{action:?}: {failure:?}");
        assert!(failure.violations[0].description.contains("STAGE_RECEIVED"), "{action:?}");
    }
    let after = app.client.get_case(GetCaseRequest { name: opened.name }).ok().await.case.unwrap();
    assert_eq!((after.etag, after.history.len()), (opened.etag, 1), "nothing was written");
}
