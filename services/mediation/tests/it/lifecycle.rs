//! The case lifecycle through real clients: the whole path from intake to a resolved closure, refusals of
//! illegal transitions, neutrality with conflicts of interest and waivers, racing acceptances, and both SLA
//! clocks at chosen clock times across a weekend and a holiday.
use crate::cases::{App, app, app_with, bad_fields, case, contact, open, parties};
use chrono::{DateTime, TimeZone, Utc};
use liaison_mediation::{ClockSource, Mediation};
use liaison_proto::contacts::v1::*;
use liaison_proto::mediation::v1::*;
use liaison_runtime::api::time::to_timestamp;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::sync::atomic::{AtomicI64, Ordering};
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    a_case_goes_from_intake_to_a_resolved_closure_with_its_whole_history,
    every_transition_outside_the_table_is_refused_naming_the_stage_and_what_is_allowed,
    a_stale_etag_aborts_a_transition_and_changes_nothing,
    a_mediator_linked_through_a_parent_organisation_needs_every_partys_waiver,
    two_parties_accepting_at_once_agree_the_case_exactly_once,
    proposals_answers_and_closures_are_refused_when_their_rules_are_not_met,
    both_sla_clocks_count_working_days_across_a_weekend_and_a_holiday,
    an_appeal_after_its_window_is_refused,
);

async fn organization(app: &mut App, name: &str, parent: &str) -> String {
    let organization = Organization {
        display_name: name.into(),
        kind: OrganizationKind::Department as i32,
        parent: parent.into(),
        ..Default::default()
    };
    let request = CreateOrganizationRequest { organization: Some(organization), request_id: String::new() };
    app.contacts.create_organization(request).ok().await.organization.unwrap().name
}

/// A case between two contacts, complainant first.
async fn two_party_case(app: &mut App) -> (Case, String, String) {
    let complainant = contact(app, "Amina Complainant").await;
    let respondent = contact(app, "Bo Respondent").await;
    let opened = open(app, case("Fence", vec![complainant.clone(), respondent.clone()]), "").await.unwrap();
    (opened, complainant, respondent)
}

fn failure(status: &tonic::Status, code: Code) -> Vec<(String, String)> {
    assert_eq!(status.code(), code, "{status:?}");
    let failure = status.get_error_details().precondition_failure().cloned().expect("a PreconditionFailure");
    failure.violations.iter().map(|v| (v.r#type.clone(), v.subject.clone())).collect()
}

async fn to_root_cause(app: &mut App, case: &Case, mediator: &str) -> Case {
    let c = &mut app.client;
    let name = case.name.clone();
    c.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
    c.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).ok().await;
    let assign = AssignMediatorRequest { name: name.clone(), mediator: mediator.into(), ..Default::default() };
    c.assign_mediator(assign).ok().await;
    c.start_mediation(StartMediationRequest { name: name.clone(), ..Default::default() }).ok().await;
    let cause = RootCause {
        category: Category::CommunicationBreakdown as i32,
        analysis: "Nobody told the residents".into(),
        contributing_factors: vec!["no notice board".into()],
    };
    let request = RecordRootCauseRequest { name, root_cause: Some(cause), ..Default::default() };
    c.record_root_cause(request).ok().await.case.unwrap()
}

async fn propose(app: &mut App, case: &str, terms: &str) -> Proposal {
    let request = CreateProposalRequest {
        parent: case.into(),
        proposal: Some(Proposal { terms: terms.into(), ..Default::default() }),
        request_id: String::new(),
    };
    app.client.create_proposal(request).ok().await.proposal.unwrap()
}

fn answer(proposal: &str, party: &str, answer: Answer) -> RespondToProposalRequest {
    RespondToProposalRequest { name: proposal.into(), party: party.into(), answer: answer as i32, ..Default::default() }
}

async fn a_case_goes_from_intake_to_a_resolved_closure_with_its_whole_history(engine: Engine) {
    let mut app = app(engine).await;
    let (opened, complainant, respondent) = two_party_case(&mut app).await;
    let mediator = contact(&mut app, "Neutral Mediator").await;
    let at_root = to_root_cause(&mut app, &opened, &mediator).await;
    assert_eq!((at_root.stage, at_root.mediator.as_str()), (Stage::RootCauseRecorded as i32, mediator.as_str()));
    let proposal = propose(&mut app, &opened.name, "A new fence, costs shared").await;
    app.client.respond_to_proposal(answer(&proposal.name, &complainant, Answer::Accept)).ok().await;
    let agreed = app.client.respond_to_proposal(answer(&proposal.name, &respondent, Answer::Accept)).ok().await;
    let case = agreed.case.unwrap();
    assert_eq!((case.stage, case.agreement.as_str()), (Stage::ProposalAgreed as i32, proposal.name.as_str()));
    assert_eq!(agreed.proposal.unwrap().state, ProposalState::Agreed as i32);
    let name = opened.name.clone();
    app.client.start_implementation(StartImplementationRequest { name: name.clone(), ..Default::default() }).ok().await;
    let due = to_timestamp(Utc::now() + chrono::Duration::days(30));
    let action = PreventionAction {
        description: "Quarterly residents' meeting".into(),
        owner: mediator.clone(),
        due_time: Some(due),
        ..Default::default()
    };
    let request = CreatePreventionActionRequest {
        parent: name.clone(),
        prevention_action: Some(action),
        request_id: "a1".into(),
    };
    let action = app.client.create_prevention_action(request.clone()).ok().await.prevention_action.unwrap();
    let again = app.client.create_prevention_action(request).ok().await.prevention_action.unwrap();
    assert_eq!(again.name, action.name, "a retried create makes nothing new");
    let confirmation = Confirmation { confirmed_by: complainant.clone(), record: "phone call".into() };
    let close = CloseCaseRequest {
        name: name.clone(),
        outcome: Outcome::Resolved as i32,
        confirmation: Some(confirmation),
        ..Default::default()
    };
    let open_action = app.client.close_case(close.clone()).err().await;
    assert_eq!(
        failure(&open_action, Code::FailedPrecondition),
        [("PREVENTION_ACTION_OPEN".to_owned(), action.name.clone())]
    );
    let settle = SettlePreventionActionRequest {
        name: action.name.clone(),
        state: ActionState::Done as i32,
        ..Default::default()
    };
    app.client.settle_prevention_action(settle).ok().await;
    let closed = app.client.close_case(close).ok().await.case.unwrap();
    assert_eq!(
        (closed.stage, closed.outcome, closed.state),
        (Stage::Closed as i32, Outcome::Resolved as i32, CaseState::Resolved as i32)
    );
    assert!(closed.stage_sla.is_none() && closed.close_time.is_some() && closed.appeal_deadline.is_some());
    let path: Vec<(i32, i32, String)> =
        closed.history.iter().map(|h| (h.from_stage, h.to_stage, h.action.clone())).collect();
    let expected = [
        (Stage::Unspecified, Stage::Received, "OpenCase"),
        (Stage::Received, Stage::Acknowledged, "AcknowledgeCase"),
        (Stage::Acknowledged, Stage::Assessed, "AssessCase"),
        (Stage::Assessed, Stage::MediatorAssigned, "AssignMediator"),
        (Stage::MediatorAssigned, Stage::InMediation, "StartMediation"),
        (Stage::InMediation, Stage::RootCauseRecorded, "RecordRootCause"),
        (Stage::RootCauseRecorded, Stage::ProposalAgreed, "RespondToProposal"),
        (Stage::ProposalAgreed, Stage::Implementing, "StartImplementation"),
        (Stage::Implementing, Stage::Closed, "CloseCase(RESOLVED)"),
    ];
    let expected: Vec<(i32, i32, String)> =
        expected.iter().map(|(f, t, a)| (*f as i32, *t as i32, (*a).to_owned())).collect();
    assert_eq!(path, expected);
    let notes = AddCaseNoteRequest {
        parent: name.clone(),
        note: Some(CaseNote {
            text: "Closed after the site visit".into(),
            visibility: NoteVisibility::Shared as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    app.client.add_case_note(notes).ok().await;
    let listed = app.client.list_case_notes(ListCaseNotesRequest { parent: name, ..Default::default() }).ok().await;
    assert_eq!(listed.notes.len(), 1);
}

async fn every_transition_outside_the_table_is_refused_naming_the_stage_and_what_is_allowed(engine: Engine) {
    let mut app = app(engine).await;
    let (opened, complainant, _) = two_party_case(&mut app).await;
    let mediator = contact(&mut app, "Mediator").await;
    let name = opened.name.clone();
    // A RECEIVED case: everything but acknowledging, escalating and withdrawing is refused.
    let c = &mut app.client;
    let refusals: Vec<tonic::Status> = vec![
        c.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).err().await,
        c.assign_mediator(AssignMediatorRequest {
            name: name.clone(),
            mediator: mediator.clone(),
            ..Default::default()
        })
        .err()
        .await,
        c.start_mediation(StartMediationRequest { name: name.clone(), ..Default::default() }).err().await,
        c.start_implementation(StartImplementationRequest { name: name.clone(), ..Default::default() }).err().await,
        c.close_case(CloseCaseRequest {
            name: name.clone(),
            outcome: Outcome::Unresolved as i32,
            reason: "x".into(),
            ..Default::default()
        })
        .err()
        .await,
        c.reopen_case(ReopenCaseRequest { name: name.clone(), reason: "x".into(), ..Default::default() }).err().await,
        c.appeal_case(AppealCaseRequest {
            name: name.clone(),
            party: complainant.clone(),
            reason: "x".into(),
            ..Default::default()
        })
        .err()
        .await,
    ];
    for status in refusals {
        assert_eq!(failure(&status, Code::FailedPrecondition), [("ILLEGAL_TRANSITION".to_owned(), name.clone())]);
        let text = status.get_error_details().precondition_failure().unwrap().violations[0].description.clone();
        assert!(
            text.contains("STAGE_RECEIVED") && text.contains("AcknowledgeCase") && text.contains("WithdrawCase"),
            "{text}"
        );
    }
    let withdrawn = c
        .withdraw_case(WithdrawCaseRequest {
            name: name.clone(),
            party: complainant.clone(),
            reason: "settled privately".into(),
            ..Default::default()
        })
        .ok()
        .await
        .case
        .unwrap();
    assert_eq!(withdrawn.stage, Stage::Withdrawn as i32);
    let status = c.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).err().await;
    assert_eq!(failure(&status, Code::FailedPrecondition)[0].0, "ILLEGAL_TRANSITION");
    let fetched = c.get_case(GetCaseRequest { name }).ok().await.case.unwrap();
    assert_eq!((fetched.etag, fetched.history.len()), (withdrawn.etag, 2), "refusals wrote nothing");
}

async fn a_stale_etag_aborts_a_transition_and_changes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let (opened, _, _) = two_party_case(&mut app).await;
    let c = &mut app.client;
    c.acknowledge_case(AcknowledgeCaseRequest {
        name: opened.name.clone(),
        etag: opened.etag.clone(),
        ..Default::default()
    })
    .ok()
    .await;
    let stale = AssessCaseRequest {
        name: opened.name.clone(),
        etag: opened.etag.clone(),
        eligible: true,
        ..Default::default()
    };
    assert_eq!(c.assess_case(stale).err().await.code(), Code::Aborted);
    let fetched = c.get_case(GetCaseRequest { name: opened.name }).ok().await.case.unwrap();
    assert_eq!(fetched.stage, Stage::Acknowledged as i32);
    let bad = c
        .assess_case(AssessCaseRequest {
            name: "cases/x".into(),
            etag: "zz".into(),
            eligible: false,
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&bad), ["name", "etag", "reason"]);
}

async fn a_mediator_linked_through_a_parent_organisation_needs_every_partys_waiver(engine: Engine) {
    let mut app = app(engine).await;
    let agency = organization(&mut app, "Water Agency", "").await;
    let department = organization(&mut app, "Permits Department", &agency).await;
    let resident = contact(&mut app, "Resident").await;
    let mediator = contact(&mut app, "Mediator at the agency").await;
    let affiliation = Affiliation {
        contact: mediator.clone(),
        organization: agency.clone(),
        role: "Adviser".into(),
        ..Default::default()
    };
    app.contacts
        .create_affiliation(CreateAffiliationRequest { affiliation: Some(affiliation), request_id: String::new() })
        .ok()
        .await;
    let opened = open(&mut app, case("Permit refused", vec![resident.clone(), department.clone()]), "").await.unwrap();
    let name = opened.name.clone();
    let c = &mut app.client;
    c.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
    c.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).ok().await;
    let assign = |waiver: Option<ConflictWaiver>| AssignMediatorRequest {
        name: name.clone(),
        mediator: mediator.clone(),
        waiver,
        ..Default::default()
    };
    let refused = c.assign_mediator(assign(None)).err().await;
    assert_eq!(failure(&refused, Code::FailedPrecondition), [("MEDIATOR_CONFLICT".to_owned(), department.clone())]);
    let consent = |party: &str| PartyConsent { party: party.into(), record: "signed form".into() };
    let partial = ConflictWaiver { consents: vec![consent(&resident)], justification: "only adviser available".into() };
    let incomplete = c.assign_mediator(assign(Some(partial))).err().await;
    assert_eq!(failure(&incomplete, Code::FailedPrecondition), [("CONSENT_MISSING".to_owned(), department.clone())]);
    let party_as_mediator =
        AssignMediatorRequest { name: name.clone(), mediator: resident.clone(), ..Default::default() };
    let status = c.assign_mediator(party_as_mediator).err().await;
    assert_eq!(failure(&status, Code::FailedPrecondition)[0].0, "MEDIATOR_IS_PARTY");
    let full = ConflictWaiver {
        consents: vec![consent(&resident), consent(&department)],
        justification: "only adviser available".into(),
    };
    let assigned = c.assign_mediator(assign(Some(full))).ok().await.case.unwrap();
    assert_eq!((assigned.stage, assigned.mediator.as_str()), (Stage::MediatorAssigned as i32, mediator.as_str()));
    assert_eq!(assigned.waiver.as_ref().map(|w| w.consents.len()), Some(2));
    let recorded = &assigned.history.last().unwrap().reason;
    assert!(recorded.contains("waived") && recorded.contains("only adviser available"), "{recorded}");
}

async fn two_parties_accepting_at_once_agree_the_case_exactly_once(engine: Engine) {
    let mut app = app(engine).await;
    let (opened, complainant, respondent) = two_party_case(&mut app).await;
    let mediator = contact(&mut app, "Mediator").await;
    to_root_cause(&mut app, &opened, &mediator).await;
    let proposal = propose(&mut app, &opened.name, "Split the costs").await;
    let (mut a, mut b) = (app.client.clone(), app.client.clone());
    let (first, second) = tokio::join!(
        a.respond_to_proposal(answer(&proposal.name, &complainant, Answer::Accept)),
        b.respond_to_proposal(answer(&proposal.name, &respondent, Answer::Accept)),
    );
    let agreed_by: Vec<bool> = [first, second]
        .into_iter()
        .map(|r| r.unwrap().into_inner().case.unwrap().stage == Stage::ProposalAgreed as i32)
        .collect();
    assert_eq!(agreed_by.iter().filter(|a| **a).count(), 1, "exactly one answer completed the agreement");
    let case = app.client.get_case(GetCaseRequest { name: opened.name.clone() }).ok().await.case.unwrap();
    let agreements = case.history.iter().filter(|h| h.to_stage == Stage::ProposalAgreed as i32).count();
    assert_eq!((case.stage, agreements), (Stage::ProposalAgreed as i32, 1));
    let again = app.client.respond_to_proposal(answer(&proposal.name, &complainant, Answer::Accept)).err().await;
    assert_eq!(failure(&again, Code::FailedPrecondition)[0].0, "ILLEGAL_TRANSITION", "the case has moved on");
}

async fn proposals_answers_and_closures_are_refused_when_their_rules_are_not_met(engine: Engine) {
    let mut app = app(engine).await;
    let (opened, complainant, respondent) = two_party_case(&mut app).await;
    let mediator = contact(&mut app, "Mediator").await;
    let early = CreateProposalRequest {
        parent: opened.name.clone(),
        proposal: Some(Proposal { terms: "too soon".into(), ..Default::default() }),
        request_id: String::new(),
    };
    let status = app.client.create_proposal(early).err().await;
    assert_eq!(
        failure(&status, Code::FailedPrecondition)[0].0,
        "ILLEGAL_TRANSITION",
        "no proposal before a root cause"
    );
    to_root_cause(&mut app, &opened, &mediator).await;
    let first = propose(&mut app, &opened.name, "Version one").await;
    app.client.respond_to_proposal(answer(&first.name, &complainant, Answer::Accept)).ok().await;
    let twice = app.client.respond_to_proposal(answer(&first.name, &complainant, Answer::Reject)).err().await;
    assert_eq!(
        failure(&twice, Code::FailedPrecondition),
        [("PARTY_ALREADY_RESPONDED".to_owned(), complainant.clone())]
    );
    let stranger = app.client.respond_to_proposal(answer(&first.name, &mediator, Answer::Accept)).err().await;
    assert_eq!(failure(&stranger, Code::FailedPrecondition), [("NOT_A_PARTY".to_owned(), mediator.clone())]);
    let counter = RespondToProposalRequest {
        counter_terms: "Version two".into(),
        ..answer(&first.name, &respondent, Answer::Counter)
    };
    let countered = app.client.respond_to_proposal(counter).ok().await;
    let second = countered.counter_proposal.unwrap();
    assert_eq!((second.counters.as_str(), second.proposed_by.as_str()), (first.name.as_str(), respondent.as_str()));
    let superseded = app.client.respond_to_proposal(answer(&first.name, &respondent, Answer::Accept)).err().await;
    assert_eq!(failure(&superseded, Code::FailedPrecondition)[0].0, "PROPOSAL_NOT_OPEN");
    let listed = app
        .client
        .list_proposals(ListProposalsRequest { parent: opened.name.clone(), ..Default::default() })
        .ok()
        .await;
    let states: Vec<i32> = listed.proposals.iter().map(|p| p.state).collect();
    assert_eq!(states, [ProposalState::Superseded as i32, ProposalState::Open as i32]);
    let resolved_early =
        CloseCaseRequest { name: opened.name.clone(), outcome: Outcome::Resolved as i32, ..Default::default() };
    assert_eq!(bad_fields(&app.client.close_case(resolved_early).err().await), ["confirmation"]);
    let resolved = CloseCaseRequest {
        name: opened.name.clone(),
        outcome: Outcome::Resolved as i32,
        confirmation: Some(Confirmation { confirmed_by: complainant.clone(), record: "email".into() }),
        ..Default::default()
    };
    let status = app.client.close_case(resolved).err().await;
    assert_eq!(
        failure(&status, Code::FailedPrecondition)[0].0,
        "ILLEGAL_TRANSITION",
        "resolved only from IMPLEMENTING"
    );
}

/// The clock of the SLA test, set by it (a type of its own, so no other test shares it).
static SLA_NOW: AtomicI64 = AtomicI64::new(0);
struct SlaClock;
impl ClockSource for SlaClock {
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(SLA_NOW.load(Ordering::SeqCst)).unwrap()
    }
}

static APPEAL_NOW: AtomicI64 = AtomicI64::new(0);
struct AppealClock;
impl ClockSource for AppealClock {
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(APPEAL_NOW.load(Ordering::SeqCst)).unwrap()
    }
}

fn at(clock: &AtomicI64, y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    let time = Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
    clock.store(time.timestamp_micros(), Ordering::SeqCst);
    time
}

fn status_of(clock: &Option<SlaClock_>) -> (i32, i32) {
    let clock = clock.as_ref().expect("a clock");
    (clock.status, clock.working_days_elapsed)
}
use liaison_proto::mediation::v1::SlaClock as SlaClock_;

async fn both_sla_clocks_count_working_days_across_a_weekend_and_a_holiday(engine: Engine) {
    // The service reads the test's clock: the case opens, and its clocks are read, at chosen instants. Holiday:
    // Monday 28 December.
    let mut app = app_with::<Mediation<SlaClock>>(engine).await;
    let mut policy = app.client.get_mediation_policy(GetMediationPolicyRequest {}).ok().await.policy.unwrap();
    policy.holidays = vec!["2026-12-28".into()];
    policy.stage_limits = vec![StageLimit { stage: Stage::Received as i32, working_days: vec![2, 2, 2, 2] }];
    policy.case_working_days = vec![4, 4, 4, 4];
    policy.at_risk_fraction = 0.5;
    policy.escalate_on_breach = true;
    let request = UpdateMediationPolicyRequest { policy: Some(policy) };
    app.client.update_mediation_policy(request).ok().await;
    // Opened on Friday 25 December 2026, 15:00 UTC: the stage's 2 working days are Tuesday 29 and Wednesday 30
    // (the weekend and Monday's holiday do not count), due at midnight ending Wednesday; the case's 4 end on Friday
    // 1 January's midnight... which is itself a working day here (no holiday listed), so Thursday 31 and Friday 1.
    at(&SLA_NOW, 2026, 12, 25, 15);
    let (person, org) = parties(&mut app).await;
    let opened = open(&mut app, case("Clocked", vec![person, org]), "").await.unwrap();
    let stage = opened.stage_sla.unwrap();
    assert_eq!(stage.due_time, Some(to_timestamp(Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap())));
    let case = opened.case_sla.unwrap();
    assert_eq!(case.due_time, Some(to_timestamp(Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap())));
    let read = |app: &mut App| {
        let mut client = app.client.clone();
        let name = opened.name.clone();
        async move { client.get_case(GetCaseRequest { name }).ok().await.case.unwrap() }
    };
    at(&SLA_NOW, 2026, 12, 28, 12); // the holiday: nothing has elapsed
    let now = read(&mut app).await;
    assert_eq!(status_of(&now.stage_sla), (SlaStatus::OnTrack as i32, 0));
    at(&SLA_NOW, 2026, 12, 30, 12); // Wednesday noon: past half of the stage's working time (Tuesday 19:30)
    let now = read(&mut app).await;
    assert_eq!(status_of(&now.stage_sla), (SlaStatus::AtRisk as i32, 2));
    assert_eq!(status_of(&now.case_sla), (SlaStatus::OnTrack as i32, 2));
    let listed = |app: &mut App, status: SlaStatus| {
        let mut client = app.client.clone();
        async move {
            let request = ListCasesRequest { sla_status: status as i32, ..Default::default() };
            client.list_cases(request).ok().await.cases.into_iter().map(|c| c.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(&mut app, SlaStatus::AtRisk).await, std::slice::from_ref(&opened.name));
    assert!(listed(&mut app, SlaStatus::Breached).await.is_empty());
    let breached_at = at(&SLA_NOW, 2026, 12, 31, 9); // Thursday: the stage clock has run out
    let now = read(&mut app).await;
    assert_eq!(status_of(&now.stage_sla), (SlaStatus::Breached as i32, 3));
    assert_eq!(listed(&mut app, SlaStatus::Breached).await, std::slice::from_ref(&opened.name));
    // The breach escalates to the first level when the job runs; the stage clock restarts, the case clock does not.
    let db = liaison_runtime::db::Db::connect(app.databases.1.url()).await.unwrap();
    let store = liaison_mediation::store::Store::new(db);
    assert_eq!(store.escalate_breached(breached_at).await.unwrap(), std::slice::from_ref(&opened.name));
    assert!(store.escalate_breached(breached_at).await.unwrap().is_empty(), "once per breach");
    let escalated = read(&mut app).await;
    assert_eq!(escalated.escalation_level, 1);
    assert_eq!(escalated.history.last().unwrap().action, "AutomaticEscalation");
    assert_eq!(escalated.case_sla.unwrap().due_time, case.due_time, "the case clock never restarts");
    let restarted = escalated.stage_sla.unwrap();
    assert_eq!(restarted.start_time, Some(to_timestamp(breached_at)));
    let ages: Vec<(i32, i32)> = escalated.age.iter().map(|a| (a.escalation_level, a.working_days)).collect();
    assert_eq!(ages, [(0, 3), (1, 0)]);
}

async fn an_appeal_after_its_window_is_refused(engine: Engine) {
    let mut app = app_with::<Mediation<AppealClock>>(engine).await;
    at(&APPEAL_NOW, 2027, 3, 1, 10);
    let (opened, complainant, _) = two_party_case(&mut app).await;
    let name = opened.name.clone();
    app.client.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
    let rejected = app
        .client
        .assess_case(AssessCaseRequest {
            name: name.clone(),
            eligible: false,
            reason: "outside our remit".into(),
            ..Default::default()
        })
        .ok()
        .await
        .case
        .unwrap();
    assert_eq!(rejected.stage, Stage::Rejected as i32);
    // The default window is 20 working days: Monday 1 March + 20 working days ends on Monday 29 March.
    assert_eq!(rejected.appeal_deadline, Some(to_timestamp(Utc.with_ymd_and_hms(2027, 3, 30, 0, 0, 0).unwrap())));
    at(&APPEAL_NOW, 2027, 3, 30, 1);
    let appeal = AppealCaseRequest {
        name: name.clone(),
        party: complainant.clone(),
        reason: "new evidence".into(),
        ..Default::default()
    };
    let late = app.client.appeal_case(appeal.clone()).err().await;
    assert_eq!(failure(&late, Code::FailedPrecondition), [("APPEAL_WINDOW_PASSED".to_owned(), name.clone())]);
    at(&APPEAL_NOW, 2027, 3, 29, 12);
    let appealed = app.client.appeal_case(appeal).ok().await.case.unwrap();
    assert_eq!((appealed.stage, appealed.outcome), (Stage::Acknowledged as i32, Outcome::Unspecified as i32));
}
