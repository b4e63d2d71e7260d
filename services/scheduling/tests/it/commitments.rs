//! Commitments: created with their parties checked in one call to contacts, listed by owner, stakeholder, state and
//! overdue, moved along their lifecycle with a history of who did what, given evidence, followed by the progress of
//! what is linked to them, counted when overdue — and refused whole, writing nothing, when anything is wrong.
use crate::meetings::{App, app, bad_fields, changes_through, create, meeting_at, person, preconditions};
use crate::projects::{create_milestone, create_project, days, milestone, now, project};
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::contacts::v1::{
    CreateOrganizationRequest, DeleteContactRequest, MergeContactsRequest, Organization,
};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::config::Peers;
use liaison_scheduling::Scheduling;
use liaison_testkit::{Call, Engine, TestDatabase, on_both_databases};
use std::time::Instant;
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    a_commitment_is_created_with_its_defaults_read_back_and_carried_by_its_change,
    commitments_are_listed_by_owner_stakeholder_state_and_overdue_with_tokens_bound_to_their_filters,
    a_commitment_moves_along_its_lifecycle_keeping_who_moved_it_and_a_refused_move_names_the_allowed_states,
    evidence_is_kept_oldest_first_with_its_actor_up_to_one_hundred,
    progress_follows_the_linked_action_items_and_milestones,
    overdue_commitments_are_counted_per_owner_and_per_stakeholder,
    bad_commitments_and_updates_name_every_field_and_write_nothing,
    unknown_or_unusable_parties_are_refused_by_name_and_nothing_is_written,
    with_contacts_down_a_commitment_is_unavailable_within_the_deadline_and_not_written,
    twenty_concurrent_creates_with_one_request_id_make_one_commitment,
    an_update_changes_only_the_masked_fields_and_a_stale_etag_changes_nothing,
);

/// 2023-11-14: the past of these tests.
const PAST: i64 = 1_700_000_000;
/// 2030-03-17: their future.
const FUTURE: i64 = 1_900_000_000;

pub(crate) fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

pub(crate) async fn organization(app: &mut App, name: &str) -> String {
    let organization = Organization { display_name: name.into(), kind: 2, ..Default::default() };
    let request = CreateOrganizationRequest { organization: Some(organization), request_id: String::new() };
    app.contacts.create_organization(request).ok().await.organization.unwrap().name
}

fn promise(title: &str, stakeholder: &str, owner: &str, due: Option<i64>) -> Commitment {
    Commitment {
        title: title.into(),
        stakeholder: stakeholder.into(),
        owner: owner.into(),
        due_time: due.and_then(ts),
        ..Default::default()
    }
}

async fn make(app: &mut App, commitment: Commitment) -> Result<Commitment, tonic::Status> {
    let request = CreateCommitmentRequest { commitment: Some(commitment), request_id: String::new() };
    app.client.create_commitment(request).await.map(|r| r.into_inner().commitment.unwrap())
}

async fn get(app: &mut App, name: &str) -> Commitment {
    app.client.get_commitment(GetCommitmentRequest { name: name.into() }).ok().await.commitment.unwrap()
}

/// A request made on behalf of `actor` (development mode reads it from `liaison-actor`).
fn as_actor<T>(actor: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("liaison-actor", actor.parse().unwrap());
    request
}

fn to(name: &str, state: CommitmentState, note: &str) -> TransitionCommitmentRequest {
    TransitionCommitmentRequest { name: name.into(), state: state as i32, note: note.into(), ..Default::default() }
}

async fn move_to(
    app: &mut App,
    actor: &str,
    request: TransitionCommitmentRequest,
) -> Result<Commitment, tonic::Status> {
    app.client.transition_commitment(as_actor(actor, request)).await.map(|r| r.into_inner().commitment.unwrap())
}

fn reason(status: &tonic::Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

fn names(commitments: &[Commitment]) -> Vec<String> {
    commitments.iter().map(|c| c.name.clone()).collect()
}

async fn list(app: &mut App, request: ListCommitmentsRequest) -> Vec<String> {
    names(&app.client.list_commitments(request).ok().await.commitments)
}

async fn a_commitment_is_created_with_its_defaults_read_back_and_carried_by_its_change(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let met = create(&mut app, meeting_at("Kick-off", vec![ada.clone(), bea.clone()], FUTURE, 3600)).await.unwrap();
    let asked = Commitment { made_in: met.name.clone(), ..promise("Send the minutes", &bea, &ada, Some(FUTURE)) };
    let created = make(&mut app, asked).await.unwrap();
    assert!(created.name.starts_with("commitments/"), "{}", created.name);
    assert_eq!(
        (created.kind, created.priority, created.risk, created.state),
        (CommitmentKind::Informal as i32, Priority::Medium as i32, Risk::Medium as i32, CommitmentState::Open as i32)
    );
    assert_eq!(
        (created.made_in.as_str(), created.stakeholder.as_str(), created.owner.as_str()),
        (met.name.as_str(), bea.as_str(), ada.as_str())
    );
    assert_eq!((created.progress_percent, created.overdue, created.etag.as_str()), (0, false, "\"r1\""));
    assert!(created.history.is_empty() && created.evidence.is_empty() && created.close_time.is_none());
    assert_eq!(get(&mut app, &created.name).await, created);

    let changes = changes_through(&app, &created.name).await;
    let names: Vec<&str> = changes.iter().map(|c| c.resource_name.as_str()).collect();
    assert_eq!(names, [met.name.as_str(), created.name.as_str()]);
    let carried =
        <Commitment as prost::Message>::decode(changes[1].resource.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(carried.title, "Send the minutes");

    let ghost_meeting = "meetings/01a20000-0000-7000-8000-000000000000";
    let status = make(&mut app, Commitment { made_in: ghost_meeting.into(), ..promise("x", &bea, &ada, None) })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains(ghost_meeting), "{status:?}");
    let unknown = "commitments/01a20000-0000-7000-8000-000000000000";
    let status = app.client.get_commitment(GetCommitmentRequest { name: unknown.into() }).err().await;
    assert_eq!(status.code(), Code::NotFound);
}

async fn commitments_are_listed_by_owner_stakeholder_state_and_overdue_with_tokens_bound_to_their_filters(
    engine: Engine,
) {
    let mut app = app(engine).await;
    let (ada, bea, cal) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await, person(&mut app, "Cal").await);
    let org = organization(&mut app, "Water Board").await;
    let c1 = make(&mut app, promise("Late to the board", &org, &ada, Some(PAST))).await.unwrap();
    let c2 = make(&mut app, promise("Due to Cal", &cal, &ada, Some(FUTURE))).await.unwrap();
    let c3 = make(&mut app, promise("Bea's late one", &org, &bea, Some(PAST))).await.unwrap();
    let c4 = make(&mut app, promise("Handed on", &org, &bea, Some(PAST))).await.unwrap();
    let referred = TransitionCommitmentRequest {
        referred_to: "organizations/legal".into(),
        ..to(&c4.name, CommitmentState::Referred, "Legal's")
    };
    move_to(&mut app, "jane", referred).await.unwrap();
    assert!(c1.overdue && !c2.overdue, "overdue is computed on read");

    let by_owner = ListCommitmentsRequest { owner: ada.clone(), ..Default::default() };
    assert_eq!(list(&mut app, by_owner).await, names(&[c1.clone(), c2.clone()]));
    let for_org = ListCommitmentsRequest { stakeholder: org.clone(), ..Default::default() };
    assert_eq!(list(&mut app, for_org).await, names(&[c1.clone(), c3.clone(), c4.clone()]));
    let referred = ListCommitmentsRequest { state: CommitmentState::Referred as i32, ..Default::default() };
    assert_eq!(list(&mut app, referred).await, names(std::slice::from_ref(&c4)));
    let overdue = ListCommitmentsRequest { overdue: true, ..Default::default() };
    assert_eq!(list(&mut app, overdue).await, names(&[c1.clone(), c3.clone()]), "a referred one is not overdue");
    let bea_overdue = ListCommitmentsRequest { owner: bea.clone(), overdue: true, ..Default::default() };
    assert_eq!(list(&mut app, bea_overdue).await, names(std::slice::from_ref(&c3)));

    let page = |token: String| ListCommitmentsRequest {
        stakeholder: org.clone(),
        page_size: Some(2),
        page_token: token,
        ..Default::default()
    };
    let first = app.client.list_commitments(page(String::new())).ok().await;
    assert_eq!(names(&first.commitments), names(&[c1.clone(), c3.clone()]));
    let second = app.client.list_commitments(page(first.next_page_token.clone())).ok().await;
    assert_eq!((names(&second.commitments), second.next_page_token.as_str()), (names(&[c4]), ""));
    let other_filter = ListCommitmentsRequest { owner: ada, page_token: first.next_page_token, ..Default::default() };
    let status = app.client.list_commitments(other_filter).err().await;
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = app
        .client
        .list_commitments(ListCommitmentsRequest { stakeholder: "people/1".into(), state: 9, ..Default::default() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["stakeholder", "state"]);
}

async fn a_commitment_moves_along_its_lifecycle_keeping_who_moved_it_and_a_refused_move_names_the_allowed_states(
    engine: Engine,
) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let created = make(&mut app, promise("Repair the fence", &bea, &ada, Some(FUTURE))).await.unwrap();
    let name = created.name.clone();

    let status = move_to(&mut app, "jane", to(&name, CommitmentState::Closed, "")).await.unwrap_err();
    assert_eq!(preconditions(&status), [("INVALID_TRANSITION".to_owned(), name.clone())]);
    let described = status.get_error_details().precondition_failure().unwrap().violations[0].description.clone();
    assert_eq!(described, format!("{name} is OPEN: it can move to ASSESSED or REFERRED only, not CLOSED"));
    assert_eq!(get(&mut app, &name).await, created, "a refused move changes nothing");

    move_to(&mut app, "jane", to(&name, CommitmentState::Assessed, "Owner confirmed")).await.unwrap();
    move_to(&mut app, "jane", to(&name, CommitmentState::InProgress, "")).await.unwrap();
    let bad = TransitionCommitmentRequest {
        note: "x".repeat(2001),
        referred_to: "someone".into(),
        satisfaction: 9,
        ..to(&name, CommitmentState::Closed, "")
    };
    let status = move_to(&mut app, "jane", bad).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["note", "referred_to", "satisfaction"]);
    let close = TransitionCommitmentRequest {
        satisfaction: 4,
        satisfaction_note: "Pleased, a week late".into(),
        ..to(&name, CommitmentState::Closed, "Fence repaired")
    };
    let closed = move_to(&mut app, "sam", close).await.unwrap();
    assert_eq!((closed.state, closed.satisfaction), (CommitmentState::Closed as i32, 4));
    assert_eq!(closed.satisfaction_note, "Pleased, a week late");
    assert_eq!((closed.progress_percent, closed.etag.as_str()), (100, "\"r4\""), "closed means delivered");
    assert!(closed.close_time.is_some());
    let history: Vec<(i32, i32, &str, &str)> =
        closed.history.iter().map(|t| (t.from_state, t.to_state, t.note.as_str(), t.actor.as_str())).collect();
    use CommitmentState::{Assessed, Closed, InProgress, Open, Referred};
    assert_eq!(
        history,
        [
            (Open as i32, Assessed as i32, "Owner confirmed", "jane"),
            (Assessed as i32, InProgress as i32, "", "jane"),
            (InProgress as i32, Closed as i32, "Fence repaired", "sam"),
        ]
    );
    assert!(closed.history.iter().all(|t| t.transition_time.is_some()));

    let edit = UpdateCommitmentRequest {
        commitment: Some(Commitment { name: name.clone(), title: "Paint it too".into(), ..Default::default() }),
        update_mask: None,
    };
    let status = app.client.update_commitment(edit).err().await;
    assert_eq!(preconditions(&status), [("COMMITMENT_CLOSED".to_owned(), name.clone())]);

    let status = move_to(&mut app, "jane", to(&name, Open, " ")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["note"]);
    let reopened = move_to(&mut app, "jane", to(&name, Open, "Gate still broken")).await.unwrap();
    assert_eq!((reopened.state, reopened.satisfaction), (Open as i32, 4), "the last close-out's satisfaction stays");
    let status = move_to(&mut app, "jane", to(&name, Referred, "Council's job")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["referred_to"]);
    let refer =
        TransitionCommitmentRequest { referred_to: "City council".into(), ..to(&name, Referred, "Council's job") };
    let referred = move_to(&mut app, "jane", refer).await.unwrap();
    assert_eq!((referred.state, referred.referred_to.as_str()), (Referred as i32, "City council"));
    let stale = TransitionCommitmentRequest { etag: closed.etag.clone(), ..to(&name, Open, "Back to us") };
    assert_eq!(move_to(&mut app, "jane", stale).await.unwrap_err().code(), Code::Aborted);
    let back = TransitionCommitmentRequest { etag: referred.etag.clone(), ..to(&name, Open, "Back to us") };
    let back = move_to(&mut app, "jane", back).await.unwrap();
    assert_eq!((back.referred_to.as_str(), back.history.len()), ("", 6));
}

async fn evidence_is_kept_oldest_first_with_its_actor_up_to_one_hundred(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let created = make(&mut app, promise("Publish the report", &bea, &ada, None)).await.unwrap();
    let evidence = |description: &str, link: &str| AddCommitmentEvidenceRequest {
        name: created.name.clone(),
        evidence: Some(Evidence { description: description.into(), link: link.into(), ..Default::default() }),
        etag: String::new(),
    };
    app.client.add_commitment_evidence(as_actor("jane", evidence("Draft sent", ""))).ok().await;
    let added = app
        .client
        .add_commitment_evidence(as_actor("sam", evidence("Published", "https://reports.example.org/2027")))
        .ok()
        .await
        .commitment
        .unwrap();
    let kept: Vec<(&str, &str, &str)> =
        added.evidence.iter().map(|e| (e.description.as_str(), e.link.as_str(), e.actor.as_str())).collect();
    assert_eq!(kept, [("Draft sent", "", "jane"), ("Published", "https://reports.example.org/2027", "sam")]);
    assert!(added.evidence.iter().all(|e| e.add_time.is_some()));
    assert_eq!(added.etag, "\"r3\"");

    let status = app.client.add_commitment_evidence(evidence(" ", "ftp://files.example.org/x")).err().await;
    assert_eq!(bad_fields(&status), ["evidence.description", "evidence.link"]);
    for i in 2..100 {
        app.client.add_commitment_evidence(evidence(&format!("Copy {i}"), "")).ok().await;
    }
    let status = app.client.add_commitment_evidence(evidence("One too many", "")).err().await;
    assert_eq!(preconditions(&status), [("TOO_MUCH_EVIDENCE".to_owned(), created.name.clone())]);
    assert_eq!(get(&mut app, &created.name).await.evidence.len(), 100);
}

async fn progress_follows_the_linked_action_items_and_milestones(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let org = organization(&mut app, "Parks").await;
    let plan =
        create_project(&mut app, project("New playground", &org, now() - days(10), now() + days(60))).await.unwrap();
    let design = Milestone { percent_complete: 40, ..milestone("Design", now() + days(20)) };
    let design = create_milestone(&mut app, &plan.name, design, false).await.unwrap();
    let mut item = async |description: &str| {
        let item = ActionItem { description: description.into(), owner: ada.clone(), ..Default::default() };
        let request = CreateActionItemRequest { action_item: Some(item), request_id: String::new() };
        app.client.create_action_item(request).ok().await.action_item.unwrap().name
    };
    let (order, permit) = (item("Order the swings").await, item("Ask for a permit").await);
    let linked = Commitment {
        action_items: vec![order.clone(), permit.clone()],
        milestones: vec![design.name.clone()],
        ..promise("Playground by spring", &bea, &ada, None)
    };
    let created = make(&mut app, linked).await.unwrap();
    assert_eq!(
        (created.action_items.clone(), created.milestones.clone()),
        (vec![order.clone(), permit.clone()], vec![design.name.clone()])
    );
    assert_eq!(created.progress_percent, 13, "(0 + 0 + 40) / 3, rounded down");

    let set = |name: &str, state: ActionItemState, note: &str| SetActionItemStateRequest {
        name: name.into(),
        state: state as i32,
        note: note.into(),
        etag: String::new(),
    };
    app.client.set_action_item_state(set(&order, ActionItemState::Done, "Ordered")).ok().await;
    assert_eq!(get(&mut app, &created.name).await.progress_percent, 46, "(100 + 0 + 40) / 3");
    app.client.set_action_item_state(set(&permit, ActionItemState::Cancelled, "Not needed")).ok().await;
    assert_eq!(get(&mut app, &created.name).await.progress_percent, 70, "the cancelled item is left out");
    let done = UpdateMilestoneRequest {
        milestone: Some(Milestone {
            name: design.name.clone(),
            status: MilestoneStatus::Done as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    app.client.update_milestone(done).ok().await;
    assert_eq!(get(&mut app, &created.name).await.progress_percent, 100);
    let listed = app.client.list_commitments(ListCommitmentsRequest::default()).ok().await.commitments;
    assert_eq!(listed[0].progress_percent, 100, "lists compute it too");

    let ghost_item = "actionItems/01a20000-0000-7000-8000-000000000000";
    let status = make(&mut app, Commitment { action_items: vec![ghost_item.into()], ..promise("x", &bea, &ada, None) })
        .await
        .unwrap_err();
    assert_eq!((status.code(), status.message().contains(ghost_item)), (Code::NotFound, true), "{status:?}");
    let other_project = format!(
        "{}/milestones/{}",
        "projects/01a20000-0000-7000-8000-000000000000",
        design.name.rsplit('/').next().unwrap()
    );
    let status =
        make(&mut app, Commitment { milestones: vec![other_project.clone()], ..promise("x", &bea, &ada, None) })
            .await
            .unwrap_err();
    assert_eq!((status.code(), status.message().contains(&other_project)), (Code::NotFound, true), "{status:?}");
}

async fn overdue_commitments_are_counted_per_owner_and_per_stakeholder(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea, cal) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await, person(&mut app, "Cal").await);
    let org = organization(&mut app, "Harbour").await;
    let older = PAST - 10 * 86_400;
    make(&mut app, promise("Dredge", &org, &ada, Some(PAST))).await.unwrap();
    make(&mut app, promise("Call back", &cal, &ada, Some(older))).await.unwrap();
    make(&mut app, promise("Buoys", &org, &bea, Some(PAST + 1000))).await.unwrap();
    make(&mut app, promise("Next year", &org, &bea, Some(FUTURE))).await.unwrap();
    make(&mut app, promise("No date", &org, &bea, None)).await.unwrap();
    let handed = make(&mut app, promise("Handed on", &org, &bea, Some(older))).await.unwrap();
    let refer = TransitionCommitmentRequest {
        referred_to: "Port authority".into(),
        ..to(&handed.name, CommitmentState::Referred, "Theirs")
    };
    move_to(&mut app, "jane", refer).await.unwrap();

    let summary = app.client.summarize_overdue_commitments(SummarizeOverdueCommitmentsRequest {}).ok().await;
    let count = |party: &str, overdue: i32, oldest: i64| OverdueCount {
        party: party.into(),
        overdue,
        oldest_due_time: ts(oldest),
    };
    assert_eq!(summary.total, 3);
    assert_eq!(summary.by_owner, [count(&ada, 2, older), count(&bea, 1, PAST + 1000)]);
    assert_eq!(summary.by_stakeholder, [count(&org, 2, PAST), count(&cal, 1, older)]);
}

async fn bad_commitments_and_updates_name_every_field_and_write_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let bad = Commitment {
        title: " ".into(),
        stakeholder: "people/1".into(),
        made_in: "projects/1".into(),
        kind: 7,
        owner: String::new(),
        due_time: Some(prost_types::Timestamp { seconds: 0, nanos: -1 }),
        action_items: vec!["actionItems/nope".into()],
        milestones: vec!["projects/x".into()],
        ..Default::default()
    };
    let request = CreateCommitmentRequest { commitment: Some(bad), request_id: "with space".into() };
    let status = app.client.create_commitment(request).err().await;
    assert_eq!(
        bad_fields(&status),
        [
            "commitment.title",
            "commitment.stakeholder",
            "commitment.made_in",
            "commitment.kind",
            "commitment.owner",
            "commitment.due_time",
            "commitment.action_items[0]",
            "commitment.milestones[0]",
            "request_id",
        ]
    );
    let good = make(&mut app, promise("Fine", &bea, &ada, None)).await.unwrap();
    assert_eq!(changes_through(&app, &good.name).await.len(), 1, "the refused create left no change");

    let update = |commitment: Commitment, paths: &[&str]| UpdateCommitmentRequest {
        commitment: Some(commitment),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let status = app.client.update_commitment(update(Commitment::default(), &["title", "etag"])).err().await;
    assert_eq!(bad_fields(&status), ["commitment.name", "update_mask.paths[1]"]);
    let blanked = Commitment { name: good.name.clone(), etag: "r0".into(), owner: "x".into(), ..Default::default() };
    let status = app.client.update_commitment(update(blanked, &["title", "owner", "priority"])).err().await;
    assert_eq!(bad_fields(&status), ["commitment.etag", "commitment.title", "commitment.owner"]);
    assert_eq!(get(&mut app, &good.name).await, good);
    assert_eq!(changes_through(&app, &good.name).await.len(), 1, "the refused updates left no change");
}

async fn unknown_or_unusable_parties_are_refused_by_name_and_nothing_is_written(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, gone) = (person(&mut app, "Ada").await, person(&mut app, "Gone").await);
    let (survivor, duplicate) = (person(&mut app, "Bea").await, person(&mut app, "Bea (again)").await);
    let org = organization(&mut app, "Library").await;
    app.contacts.delete_contact(DeleteContactRequest { name: gone.clone(), ..Default::default() }).ok().await;
    let merge = MergeContactsRequest { survivor: survivor.clone(), merged: duplicate.clone(), ..Default::default() };
    app.contacts.merge_contacts(merge).ok().await;
    let (ghost_org, ghost) =
        ("organizations/01a20000-0000-7000-8000-000000000001", "contacts/01a20000-0000-7000-8000-000000000002");

    let status = make(&mut app, promise("x", ghost_org, &ada, None)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTY_NOT_FOUND".to_owned(), ghost_org.to_owned())]);
    assert_eq!(reason(&status), "PARTY_NOT_FOUND");
    let status = make(&mut app, promise("x", ghost, ghost, None)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTY_NOT_FOUND".to_owned(), ghost.to_owned())], "asked once");
    let status = make(&mut app, promise("x", ghost, &gone, None)).await.unwrap_err();
    assert_eq!(
        preconditions(&status),
        [("PARTICIPANT_DELETED".to_owned(), gone.clone()), ("PARTY_NOT_FOUND".to_owned(), ghost.to_owned())]
    );
    assert_eq!(reason(&status), "PARTIES_NOT_USABLE");
    let status = make(&mut app, promise("x", &org, &duplicate, None)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTICIPANT_MERGED".to_owned(), duplicate.clone())]);
    assert!(status.message().contains(&survivor), "the survivor is named: {status:?}");
    let status = make(&mut app, promise("x", &org, ghost, None)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTICIPANT_NOT_FOUND".to_owned(), ghost.to_owned())]);
    let status = make(&mut app, promise("x", &org, &gone, None)).await.unwrap_err();
    assert_eq!(
        preconditions(&status),
        [("PARTICIPANT_DELETED".to_owned(), gone.clone())],
        "a deleted owner is refused whoever the stakeholder is"
    );
    assert!(app.client.list_commitments(ListCommitmentsRequest::default()).ok().await.commitments.is_empty());

    let kept = make(&mut app, promise("Kept", &org, &ada, None)).await.unwrap();
    let moved = Commitment { name: kept.name.clone(), stakeholder: ghost_org.into(), ..Default::default() };
    let request = UpdateCommitmentRequest { commitment: Some(moved), update_mask: None };
    let status = app.client.update_commitment(request).err().await;
    assert_eq!(preconditions(&status), [("PARTY_NOT_FOUND".to_owned(), ghost_org.to_owned())]);
    assert_eq!(get(&mut app, &kept.name).await, kept);
    assert_eq!(changes_through(&app, &kept.name).await.len(), 1);
}

async fn with_contacts_down_a_commitment_is_unavailable_within_the_deadline_and_not_written(engine: Engine) {
    // Contacts is an address nobody listens on.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let database = TestDatabase::new(engine).await.unwrap();
    let peers = Peers { contacts: Some(format!("http://{unused}")), ..Default::default() };
    let server = liaison_testkit::spawn::<Scheduling>(&database, peers).await;
    let mut client = SchedulingServiceClient::new(liaison_testkit::patient_channel(&server));
    let (stakeholder, owner) =
        ("organizations/01a20000-0000-7000-8000-000000000001", "contacts/01a20000-0000-7000-8000-000000000002");
    let started = Instant::now();
    let request = CreateCommitmentRequest {
        commitment: Some(promise("Offline", stakeholder, owner, None)),
        request_id: String::new(),
    };
    let status = client.create_commitment(request).err().await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.get_error_details().retry_info().is_some());
    assert!(started.elapsed() < liaison_testkit::test_calls().call_timeout * 2, "took {:?}", started.elapsed());
    assert!(client.list_commitments(ListCommitmentsRequest::default()).ok().await.commitments.is_empty());
    let changes = liaison_testkit::feed(&server).list_changes(ListChangesRequest::default()).ok().await;
    assert!(changes.changes.is_empty());
}

async fn twenty_concurrent_creates_with_one_request_id_make_one_commitment(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let request =
        CreateCommitmentRequest { commitment: Some(promise("Once", &bea, &ada, None)), request_id: "promise-7".into() };
    let calls = (0..20).map(|_| {
        let (mut client, request) = (app.client.clone(), request.clone());
        async move { client.create_commitment(request).await.map(|r| r.into_inner().commitment.unwrap().name) }
    });
    let created: Vec<String> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    assert!(created.iter().all(|n| n == &created[0]), "{created:?}");
    assert_eq!(list(&mut app, ListCommitmentsRequest::default()).await, [created[0].clone()]);
    assert_eq!(changes_through(&app, &created[0]).await.len(), 1);
}

async fn an_update_changes_only_the_masked_fields_and_a_stale_etag_changes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea, cal) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await, person(&mut app, "Cal").await);
    let created = make(&mut app, promise("Draft the lease", &bea, &ada, Some(FUTURE))).await.unwrap();
    let asked = Commitment {
        name: created.name.clone(),
        etag: created.etag.clone(),
        title: "Draft and sign the lease".into(),
        owner: cal.clone(),
        kind: CommitmentKind::Contractual as i32,
        // Not in the mask: ignored.
        description: "ignored".into(),
        ..Default::default()
    };
    let mask = Some(prost_types::FieldMask { paths: ["title", "owner", "kind", "dueTime"].map(String::from).to_vec() });
    let request = UpdateCommitmentRequest { commitment: Some(asked.clone()), update_mask: mask.clone() };
    let updated = app.client.update_commitment(request).ok().await.commitment.unwrap();
    assert_eq!((updated.title.as_str(), updated.owner.as_str()), ("Draft and sign the lease", cal.as_str()));
    assert_eq!((updated.kind, updated.description.as_str()), (CommitmentKind::Contractual as i32, ""));
    assert_eq!((updated.due_time, updated.etag.as_str()), (None, "\"r2\""), "a masked field left unset is cleared");
    assert_eq!((updated.stakeholder.as_str(), updated.priority), (bea.as_str(), Priority::Medium as i32));
    let request = UpdateCommitmentRequest { commitment: Some(asked), update_mask: mask };
    assert_eq!(app.client.update_commitment(request).err().await.code(), Code::Aborted);
    assert_eq!(get(&mut app, &created.name).await, updated);
    assert_eq!(crate::meetings::changes_counting(&app, &created.name, 2).await.len(), 2);
}
