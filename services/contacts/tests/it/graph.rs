use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;
use tonic_types::StatusExt;

fn precondition(status: &tonic::Status) -> (String, Vec<String>) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let details = status.get_error_details();
    let failure = details.precondition_failure().expect("precondition failure");
    (
        failure.violations.first().map(|v| v.r#type.clone()).unwrap_or_default(),
        failure.violations.iter().map(|v| v.subject.clone()).collect(),
    )
}

async fn set_parent(client: &mut Client, organization: &str, parent: &str) -> Result<Organization, tonic::Status> {
    client
        .update_organization(UpdateOrganizationRequest {
            organization: Some(Organization { name: organization.into(), parent: parent.into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["parent".into()] }),
        })
        .await
        .map(|r| r.into_inner().organization.unwrap())
}

async fn affiliate(
    client: &mut Client,
    contact: &str,
    organization: &str,
    poc: bool,
) -> Result<Affiliation, tonic::Status> {
    client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: contact.into(),
                organization: organization.into(),
                role: "Officer".into(),
                point_of_contact: poc,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().affiliation.unwrap())
}

async fn relate(client: &mut Client, a: &str, b: &str, kind: RelationshipType) -> Result<Relationship, tonic::Status> {
    client
        .create_relationship(CreateRelationshipRequest {
            relationship: Some(Relationship {
                party: a.into(),
                related_party: b.into(),
                r#type: kind as i32,
                strength: 3,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().relationship.unwrap())
}

on_both_databases!(
    an_organization_cannot_become_its_own_ancestor,
    affiliations_list_an_organizations_people_and_a_contacts_organizations,
    a_second_point_of_contact_is_refused_and_set_point_of_contact_demotes_the_first,
    racing_set_point_of_contact_calls_leave_exactly_one_point_of_contact,
    relationships_refuse_self_links_and_duplicates,
    a_conflict_of_interest_is_found_through_a_parent_organization,
    linked_parties_cannot_be_deleted_without_force,
);

async fn an_organization_cannot_become_its_own_ancestor(engine: Engine) {
    let mut app = app(engine).await;
    let agency = create_organization(&mut app.client, "Agency").await.name;
    let department = create_organization(&mut app.client, "Department").await.name;
    let unit = create_organization(&mut app.client, "Unit").await.name;
    assert_eq!(set_parent(&mut app.client, &department, &agency).await.unwrap().parent, agency);
    set_parent(&mut app.client, &unit, &department).await.unwrap();
    let status = set_parent(&mut app.client, &agency, &unit).await.unwrap_err();
    assert_eq!(precondition(&status).0, "PARENT_CYCLE");
    let status = set_parent(&mut app.client, &agency, &agency).await.unwrap_err();
    assert_eq!(precondition(&status).0, "PARENT_CYCLE");
    let ghost = "organizations/01a20000-0000-7000-8000-00000000dead";
    let status = set_parent(&mut app.client, &agency, ghost).await.unwrap_err();
    assert_eq!(precondition(&status), ("PARENT_NOT_FOUND".into(), vec![ghost.to_owned()]));
    let agency_now = app.client.get_organization(GetOrganizationRequest { name: agency }).ok().await;
    assert!(agency_now.organization.unwrap().parent.is_empty(), "refused changes wrote nothing");
}

async fn affiliations_list_an_organizations_people_and_a_contacts_organizations(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    let other = create_organization(&mut app.client, "Trust").await.name;
    let mut people = Vec::new();
    for i in 0..3 {
        let person = create_contact(&mut app.client, &format!("P{i}")).await.name;
        people.push(affiliate(&mut app.client, &person, &org, false).await.unwrap());
    }
    affiliate(&mut app.client, &people[0].contact, &other, false).await.unwrap();
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = app
            .client
            .list_affiliations(ListAffiliationsRequest {
                organization: org.clone(),
                page_size: Some(2),
                page_token: token,
                ..Default::default()
            })
            .ok()
            .await;
        pages += 1;
        listed.extend(page.affiliations.into_iter().map(|a| a.contact));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(listed, people.iter().map(|a| a.contact.clone()).collect::<Vec<_>>());
    let of_contact = app
        .client
        .list_affiliations(ListAffiliationsRequest { contact: people[0].contact.clone(), ..Default::default() })
        .ok()
        .await
        .affiliations;
    assert_eq!(of_contact.iter().map(|a| a.organization.clone()).collect::<Vec<_>>(), [org.clone(), other]);
    let status = app.client.list_affiliations(ListAffiliationsRequest::default()).err().await;
    assert_eq!(bad_fields(&status), ["organization"]);
    let status =
        affiliate(&mut app.client, "contacts/01a20000-0000-7000-8000-00000000dead", &org, false).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let mut backwards = people[1].clone();
    backwards.start_date = Some(Date { year: 2025, month: 6, day: 1 });
    backwards.end_date = Some(Date { year: 2025, month: 5, day: 1 });
    let status = app
        .client
        .update_affiliation(UpdateAffiliationRequest { affiliation: Some(backwards), update_mask: None })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["affiliation.end_date"]);
}

async fn a_second_point_of_contact_is_refused_and_set_point_of_contact_demotes_the_first(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let bob = create_contact(&mut app.client, "Bob").await.name;
    let first = affiliate(&mut app.client, &ada, &org, true).await.unwrap();
    assert!(first.point_of_contact);
    let status = affiliate(&mut app.client, &bob, &org, true).await.unwrap_err();
    let (reason, subjects) = precondition(&status);
    assert_eq!((reason.as_str(), subjects), ("POINT_OF_CONTACT_EXISTS", vec![org.clone()]));
    assert!(status.message().contains(&first.name));
    let second = affiliate(&mut app.client, &bob, &org, false).await.unwrap();
    let switched = app.client.set_point_of_contact(SetPointOfContactRequest { name: second.name.clone() }).ok().await;
    assert!(switched.affiliation.unwrap().point_of_contact);
    assert_eq!(switched.demoted, first.name);
    let first_now = app.client.get_affiliation(GetAffiliationRequest { name: first.name }).ok().await;
    assert!(!first_now.affiliation.unwrap().point_of_contact);
}

async fn racing_set_point_of_contact_calls_leave_exactly_one_point_of_contact(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    let mut affiliations = Vec::new();
    for i in 0..8 {
        let person = create_contact(&mut app.client, &format!("P{i}")).await.name;
        affiliations.push(affiliate(&mut app.client, &person, &org, false).await.unwrap().name);
    }
    let calls = affiliations.iter().map(|name| {
        let mut client = app.client.clone();
        let name = name.clone();
        async move { client.set_point_of_contact(SetPointOfContactRequest { name }).await }
    });
    for outcome in futures::future::join_all(calls).await {
        outcome.expect("each call succeeds in turn");
    }
    let listed = app
        .client
        .list_affiliations(ListAffiliationsRequest { organization: org, ..Default::default() })
        .ok()
        .await
        .affiliations;
    assert_eq!(listed.iter().filter(|a| a.point_of_contact).count(), 1);
}

async fn relationships_refuse_self_links_and_duplicates(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let bob = create_contact(&mut app.client, "Bob").await.name;
    let status = relate(&mut app.client, &ada, &ada, RelationshipType::Partner).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["relationship.related_party"]);
    let partners = relate(&mut app.client, &ada, &bob, RelationshipType::Partner).await.unwrap();
    let status = relate(&mut app.client, &bob, &ada, RelationshipType::Partner).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "a symmetric duplicate in the other order: {status:?}");
    relate(&mut app.client, &ada, &bob, RelationshipType::ReportsTo).await.unwrap();
    relate(&mut app.client, &bob, &ada, RelationshipType::ReportsTo).await.expect("a directed type both ways");
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead";
    let status = relate(&mut app.client, &ada, ghost, RelationshipType::Family).await.unwrap_err();
    assert_eq!(precondition(&status).1, [ghost.to_owned()]);
    let listed = app
        .client
        .list_relationships(ListRelationshipsRequest { party: bob.clone(), ..Default::default() })
        .ok()
        .await
        .relationships;
    assert_eq!(listed.len(), 3);
    let mut stronger = partners.clone();
    stronger.strength = 9;
    let status = app
        .client
        .update_relationship(UpdateRelationshipRequest {
            relationship: Some(stronger),
            update_mask: Some(prost_types::FieldMask { paths: vec!["strength".into()] }),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["relationship.strength"]);
    app.client
        .delete_relationship(DeleteRelationshipRequest { name: partners.name.clone(), etag: partners.etag })
        .await
        .unwrap();
    relate(&mut app.client, &bob, &ada, RelationshipType::Partner).await.expect("recorded again after deletion");
}

async fn a_conflict_of_interest_is_found_through_a_parent_organization(engine: Engine) {
    let mut app = app(engine).await;
    let agency = create_organization(&mut app.client, "Water Agency").await.name;
    let department = create_organization(&mut app.client, "Permits Department").await.name;
    set_parent(&mut app.client, &department, &agency).await.unwrap();
    let mediator = create_contact(&mut app.client, "Mediator").await.name;
    let neutral = create_contact(&mut app.client, "Neutral").await.name;
    let official = create_contact(&mut app.client, "Official").await.name;
    let resident = create_contact(&mut app.client, "Resident").await.name;
    let works = affiliate(&mut app.client, &mediator, &department, false).await.unwrap().name;
    let official_job = affiliate(&mut app.client, &official, &agency, false).await.unwrap().name;
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead".to_owned();
    let client = app.client.clone();
    let check = |candidate: String, parties: Vec<String>| {
        let mut client = client.clone();
        async move { client.check_conflict_of_interest(CheckConflictOfInterestRequest { candidate, parties }).ok().await }
    };
    let found = check(mediator.clone(), vec![official.clone(), resident.clone(), ghost.clone()]).await;
    assert_eq!(found.missing_names, [ghost]);
    assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
    assert_eq!(found.findings[0].party, official);
    assert_eq!(found.findings[0].path, [mediator.clone(), works, department, agency.clone(), official_job, official]);
    assert!(found.findings[0].reason.contains(&agency));
    let clear = check(neutral, vec![resident.clone()]).await;
    assert!(clear.findings.is_empty() && clear.missing_names.is_empty());
    relate(&mut app.client, &resident, &mediator, RelationshipType::Family).await.unwrap();
    let related = check(mediator, vec![resident]).await;
    assert_eq!(related.findings.len(), 1);
    assert!(related.findings[0].reason.contains("family"));
}

async fn linked_parties_cannot_be_deleted_without_force(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    affiliate(&mut app.client, &ada, &org, true).await.unwrap();
    let status = app
        .client
        .delete_organization(DeleteOrganizationRequest { name: org.clone(), ..Default::default() })
        .err()
        .await;
    assert_eq!(precondition(&status).0, "ORGANIZATION_HAS_AFFILIATIONS");
    let status = app.client.delete_contact(DeleteContactRequest { name: ada.clone(), etag: String::new() }).err().await;
    assert_eq!(precondition(&status).0, "CONTACT_HAS_LINKS");
    app.client
        .delete_organization(DeleteOrganizationRequest { name: org.clone(), force: true, ..Default::default() })
        .await
        .unwrap();
    let left = app
        .client
        .list_affiliations(ListAffiliationsRequest { contact: ada.clone(), ..Default::default() })
        .ok()
        .await
        .affiliations;
    assert!(left.is_empty(), "force deleted the affiliations");
    app.client.delete_contact(DeleteContactRequest { name: ada, etag: String::new() }).await.unwrap();
}
