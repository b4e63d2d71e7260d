use liaison_contacts::Contacts;
use liaison_mediation::Mediation;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::*;
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{
    Case, CaseState, Category, GetCaseRequest, ListCasesRequest, OpenCaseRequest, Severity, Stage,
};
use liaison_runtime::config::Peers;
use liaison_runtime::service::Running;
use liaison_scheduling::Scheduling;
use liaison_testkit::{Call, Engine, TestDatabase, channel, eventually, on_both_databases, spawn};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) struct App {
    pub contacts: ContactsServiceClient<Channel>,
    pub client: MediationServiceClient<Channel>,
    pub contacts_server: Option<Running>,
    pub server: Running,
    pub scheduling: liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient<Channel>,
    pub scheduling_server: Option<Running>,
    pub databases: (TestDatabase, TestDatabase, TestDatabase),
}

pub(crate) async fn app(engine: Engine) -> App {
    app_with::<Mediation>(engine).await
}

/// The app with mediation as `M` (a mediation with a clock of the test's own).
pub(crate) async fn app_with<M: liaison_runtime::service::LiaisonService>(engine: Engine) -> App {
    let contacts_db = TestDatabase::new(engine).await.unwrap();
    let mediation_db = TestDatabase::new(engine).await.unwrap();
    let scheduling_db = TestDatabase::new(engine).await.unwrap();
    let contacts_server = spawn::<Contacts>(&contacts_db, Peers::default()).await;
    let to_contacts = Peers { contacts: Some(contacts_server.url()), ..Default::default() };
    let scheduling_server = spawn::<Scheduling>(&scheduling_db, to_contacts.clone()).await;
    let peers = Peers { scheduling: Some(scheduling_server.url()), ..to_contacts };
    let server = spawn::<M>(&mediation_db, peers).await;
    App {
        contacts: ContactsServiceClient::new(channel(&contacts_server)),
        client: MediationServiceClient::new(channel(&server)),
        contacts_server: Some(contacts_server),
        server,
        scheduling: liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient::new(channel(
            &scheduling_server,
        )),
        scheduling_server: Some(scheduling_server),
        databases: (contacts_db, mediation_db, scheduling_db),
    }
}

/// A new contact called `name`.
pub(crate) async fn contact(app: &mut App, name: &str) -> String {
    let contact = Contact { display_name: name.into(), ..Default::default() };
    let request = CreateContactRequest { contact: Some(contact), request_id: String::new() };
    app.contacts.create_contact(request).ok().await.contact.unwrap().name
}

pub(crate) async fn parties(app: &mut App) -> (String, String) {
    let person = app
        .contacts
        .create_contact(CreateContactRequest {
            contact: Some(Contact { display_name: "Resident".into(), ..Default::default() }),
            request_id: String::new(),
        })
        .ok()
        .await
        .contact
        .unwrap()
        .name;
    let org = app
        .contacts
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "Works Department".into(),
                kind: OrganizationKind::Department as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .organization
        .unwrap()
        .name;
    (person, org)
}

pub(crate) fn case(title: &str, parties: Vec<String>) -> Case {
    Case {
        title: title.into(),
        description: "Night works".into(),
        parties,
        category: Category::CommunityGrievance as i32,
        severity: Severity::Medium as i32,
        ..Default::default()
    }
}

pub(crate) async fn open(app: &mut App, case: Case, request_id: &str) -> Result<Case, tonic::Status> {
    app.client
        .open_case(OpenCaseRequest { case: Some(case), request_id: request_id.into() })
        .await
        .map(|r| r.into_inner().case.unwrap())
}

pub(crate) fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect()
}

on_both_databases!(
    a_case_between_a_person_and_an_organization_opens,
    cases_list_in_creation_order_over_three_pages,
    an_unknown_party_is_refused_by_name_and_nothing_is_written,
    deleted_and_merged_parties_are_refused_each_with_its_reason,
    a_case_needs_two_distinct_parties,
    with_contacts_down_a_case_is_unavailable_and_not_written,
    twenty_concurrent_opens_with_one_request_id_open_one_case,
    unknown_parties_and_team_members_are_refused_together_each_as_what_it_is,
);

async fn unknown_parties_and_team_members_are_refused_together_each_as_what_it_is(engine: Engine) {
    let mut app = app(engine).await;
    let (person, _) = parties(&mut app).await;
    let ghost_party = "organizations/01a20000-0000-7000-8000-00000000dead".to_owned();
    let ghost_member = "contacts/01a20000-0000-7000-8000-00000000beef".to_owned();
    let asked = Case { case_team: vec![ghost_member.clone()], ..case("Ghosts", vec![person, ghost_party.clone()]) };
    let status = open(&mut app, asked, "").await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    let seen: Vec<(String, String)> =
        failure.violations.iter().map(|v| (v.r#type.clone(), v.subject.clone())).collect();
    assert_eq!(seen, [("PARTY_NOT_FOUND".to_owned(), ghost_party), ("CONTACT_NOT_FOUND".to_owned(), ghost_member)]);
    assert!(app.client.list_cases(ListCasesRequest::default()).ok().await.cases.is_empty(), "nothing written");
}

async fn a_case_between_a_person_and_an_organization_opens(engine: Engine) {
    let mut app = app(engine).await;
    let (person, org) = parties(&mut app).await;
    let opened = open(&mut app, case("Noise", vec![person.clone(), org.clone()]), "").await.unwrap();
    assert!(opened.name.starts_with("cases/"));
    assert_eq!((opened.state, opened.stage), (CaseState::Open as i32, Stage::Received as i32));
    let year = chrono::Datelike::year(&chrono::Utc::now());
    assert!(
        opened.reference.starts_with(&format!("LIA-{year}-")) && opened.reference.len() == 15,
        "{}",
        opened.reference
    );
    assert_eq!(opened.parties, [person, org]);
    let fetched = app.client.get_case(GetCaseRequest { name: opened.name.clone() }).ok().await;
    assert_eq!(fetched.case, Some(opened));
}

async fn cases_list_in_creation_order_over_three_pages(engine: Engine) {
    let mut app = app(engine).await;
    let (person, org) = parties(&mut app).await;
    let mut opened = Vec::new();
    for i in 0..3 {
        opened.push(open(&mut app, case(&format!("C{i}"), vec![person.clone(), org.clone()]), "").await.unwrap().name);
    }
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = app
            .client
            .list_cases(ListCasesRequest { page_size: Some(1), page_token: token, ..Default::default() })
            .ok()
            .await;
        pages += 1;
        listed.extend(page.cases.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, listed), (3, opened));
}

async fn an_unknown_party_is_refused_by_name_and_nothing_is_written(engine: Engine) {
    let mut app = app(engine).await;
    let (person, _) = parties(&mut app).await;
    let ghost = "organizations/01a20000-0000-7000-8000-00000000dead".to_owned();
    let status = open(&mut app, case("Ghost", vec![person.clone(), ghost.clone()]), "").await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    assert_eq!(failure.violations[0].subject, ghost);
    assert!(app.client.list_cases(ListCasesRequest::default()).ok().await.cases.is_empty());
    let (other, _) = parties(&mut app).await;
    let ok = open(&mut app, case("Real", vec![person, other]), "").await.unwrap();
    let changes = eventually(Duration::from_secs(30), "the real case's change", || {
        let mut feed = liaison_testkit::feed(&app.server);
        let name = ok.name.clone();
        async move {
            let changes =
                feed.list_changes(ListChangesRequest { after_sequence: 0, page_size: None }).ok().await.changes;
            changes.iter().any(|c| c.resource_name == name).then_some(changes)
        }
    })
    .await;
    assert_eq!(changes.len(), 1);
}

async fn deleted_and_merged_parties_are_refused_each_with_its_reason(engine: Engine) {
    let mut app = app(engine).await;
    let (person, org) = parties(&mut app).await;
    let (gone, _) = parties(&mut app).await;
    let (merged, _) = parties(&mut app).await;
    app.contacts.delete_contact(DeleteContactRequest { name: gone.clone(), etag: String::new() }).ok().await;
    let merge = MergeContactsRequest { survivor: person.clone(), merged: merged.clone(), ..Default::default() };
    app.contacts.merge_contacts(merge).ok().await;
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead".to_owned();
    let asked = vec![org.clone(), gone.clone(), merged.clone(), ghost.clone()];
    let status = open(&mut app, case("Stale parties", asked), "").await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    let seen: Vec<(String, String)> =
        failure.violations.iter().map(|v| (v.r#type.clone(), v.subject.clone())).collect();
    assert_eq!(
        seen,
        [
            ("PARTY_NOT_FOUND".to_owned(), ghost),
            ("PARTY_DELETED".to_owned(), gone),
            ("PARTY_MERGED".to_owned(), merged),
        ]
    );
    assert!(failure.violations[2].description.contains(&person), "names the survivor");
    assert!(app.client.list_cases(ListCasesRequest::default()).ok().await.cases.is_empty(), "nothing written");
}

async fn a_case_needs_two_distinct_parties(engine: Engine) {
    let mut app = app(engine).await;
    let (person, _) = parties(&mut app).await;
    let status = open(&mut app, case("Alone", vec![person.clone()]), "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["case.parties"]);
    let status = open(&mut app, case("Self", vec![person.clone(), person.clone()]), "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["case.parties[1]"]);
    let status = open(&mut app, case("", vec![person, "meetings/x".into()]), "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["case.title", "case.parties[1]"]);
}

async fn with_contacts_down_a_case_is_unavailable_and_not_written(engine: Engine) {
    let mut app = app(engine).await;
    let (person, org) = parties(&mut app).await;
    app.contacts_server.take().unwrap().stop().await.unwrap();
    // Mediation answers once its deadline for contacts has run out; this caller waits longer than that.
    let mut patient_client = MediationServiceClient::new(liaison_testkit::patient_channel(&app.server));
    let started = Instant::now();
    let request = OpenCaseRequest { case: Some(case("Offline", vec![person, org])), request_id: String::new() };
    let status = patient_client.open_case(request).err().await;
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(elapsed < liaison_testkit::test_calls().call_timeout * 2, "took {elapsed:?}");
    assert!(app.client.list_cases(ListCasesRequest::default()).ok().await.cases.is_empty());
}

async fn twenty_concurrent_opens_with_one_request_id_open_one_case(engine: Engine) {
    let mut app = app(engine).await;
    let (person, org) = parties(&mut app).await;
    let request = OpenCaseRequest { case: Some(case("Once", vec![person, org])), request_id: "case-1".into() };
    let calls = (0..20).map(|_| {
        let mut client = app.client.clone();
        let request = request.clone();
        async move { client.open_case(request).await.map(|r| r.into_inner().case.unwrap().name) }
    });
    let names: Vec<String> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    assert!(names.iter().all(|n| n == &names[0]));
    assert_eq!(app.client.list_cases(ListCasesRequest::default()).ok().await.cases.len(), 1);
}
