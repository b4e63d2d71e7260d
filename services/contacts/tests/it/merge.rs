//! FindDuplicateContacts, MergeContacts and UnmergeContacts.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::collections::BTreeMap;
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    duplicates_are_found_by_email_phone_and_similar_names_with_reasons_and_scores,
    duplicates_page_best_first_with_a_token_valid_for_its_min_score_only,
    a_merge_keeps_every_link_and_the_union_of_channels,
    the_merged_name_resolves_to_the_survivor_everywhere_and_refuses_changes,
    validate_only_writes_nothing_yet_shows_the_links_that_would_move,
    merging_into_itself_a_missing_deleted_or_merged_contact_or_with_a_stale_etag_is_refused,
    racing_merges_of_one_contact_let_exactly_one_win,
    unmerge_restores_both_contacts_and_every_link_field_by_field,
    unmerge_is_refused_when_not_merged_expired_superseded_or_the_survivor_is_gone,
    a_merge_moves_assessments_and_interactions_and_unmerge_puts_them_back,
);

const GHOST: &str = "contacts/01a20000-0000-7000-8000-00000000dead";

async fn person(client: &mut Client, contact: Contact) -> Contact {
    create_given(client, contact).await
}

fn named(display_name: &str, email: &str, phone: &str) -> Contact {
    Contact { display_name: display_name.into(), email: email.into(), phone: phone.into(), ..Default::default() }
}

async fn get(client: &mut Client, name: &str) -> Contact {
    client.get_contact(GetContactRequest { name: name.into() }).ok().await.contact.expect("contact")
}

async fn affiliate(client: &mut Client, contact: &str, organization: &str, role: &str, poc: bool) -> Affiliation {
    client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: contact.into(),
                organization: organization.into(),
                role: role.into(),
                start_date: Some(Date { year: 2020, month: 3, day: 1 }),
                point_of_contact: poc,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .affiliation
        .expect("affiliation")
}

async fn relate(client: &mut Client, a: &str, b: &str, kind: RelationshipType) -> Relationship {
    client
        .create_relationship(CreateRelationshipRequest {
            relationship: Some(Relationship {
                party: a.into(),
                related_party: b.into(),
                r#type: kind as i32,
                strength: 4,
                notes: format!("{kind:?}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .relationship
        .expect("relationship")
}

async fn merge(
    client: &mut Client,
    survivor: &str,
    merged: &str,
    validate_only: bool,
) -> Result<MergeContactsResponse, tonic::Status> {
    client
        .merge_contacts(MergeContactsRequest {
            survivor: survivor.into(),
            merged: merged.into(),
            validate_only,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn unmerge(client: &mut Client, merged: &str) -> Result<UnmergeContactsResponse, tonic::Status> {
    client.unmerge_contacts(UnmergeContactsRequest { merged: merged.into() }).await.map(tonic::Response::into_inner)
}

async fn duplicates(
    client: &mut Client,
    min_score: f64,
    page_size: Option<i32>,
    page_token: &str,
) -> Result<FindDuplicateContactsResponse, tonic::Status> {
    client
        .find_duplicate_contacts(FindDuplicateContactsRequest { min_score, page_size, page_token: page_token.into() })
        .await
        .map(tonic::Response::into_inner)
}

/// Affiliations of a contact, by name.
async fn affiliations_of(client: &mut Client, contact: &str) -> BTreeMap<String, Affiliation> {
    let listed = client
        .list_affiliations(ListAffiliationsRequest { contact: contact.into(), ..Default::default() })
        .ok()
        .await
        .affiliations;
    listed.into_iter().map(|a| (a.name.clone(), a)).collect()
}

/// Relationships of a party (either side), by name.
async fn relationships_of(client: &mut Client, party: &str) -> BTreeMap<String, Relationship> {
    let listed = client
        .list_relationships(ListRelationshipsRequest { party: party.into(), ..Default::default() })
        .ok()
        .await
        .relationships;
    listed.into_iter().map(|r| (r.name.clone(), r)).collect()
}

fn precondition_reason(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

/// A resource without what every write changes (etag, update time): what "identical" compares.
fn contact_state(mut c: Contact) -> Contact {
    c.etag.clear();
    c.update_time = None;
    c
}

fn affiliation_state(mut a: Affiliation) -> Affiliation {
    a.etag.clear();
    a.update_time = None;
    a
}

fn relationship_state(mut r: Relationship) -> Relationship {
    r.etag.clear();
    r.update_time = None;
    r
}

/// Changes to contacts and their links (not the feed sentinels `all_changes` writes).
async fn link_and_contact_changes(client: &mut Client) -> Vec<(String, i32)> {
    all_changes(client)
        .await
        .into_iter()
        .filter(|c| !c.resource_name.starts_with("organizations/"))
        .map(|c| (c.resource_name, c.kind))
        .collect()
}

fn reasons(pair: &DuplicatePair) -> Vec<DuplicateReason> {
    pair.evidence.iter().map(|e| e.reason()).collect()
}

async fn duplicates_are_found_by_email_phone_and_similar_names_with_reasons_and_scores(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let ada = person(c, named("Ada Lovelace", "ada@example.org", "")).await.name;
    let ada_again = person(c, named("LOVELACE, Ada", "Ada@Example.ORG", "")).await.name;
    let bob = person(c, named("Bob Marley", "bob@example.org", "+33 1 23 45 67 89")).await.name;
    let robert = person(c, named("Robert Nesta", "nesta@example.org", "0033123456789")).await.name;
    let carla = person(c, named("Carla Bruni-Tedeschi", "carla@example.org", "")).await.name;
    let carla_typo = person(c, named("Carla Bruni Tedeschy", "cbt@example.org", "")).await.name;
    person(c, named("Zed Nobody", "zed@example.org", "")).await;
    // A deleted contact with the same email and name is not a candidate any more.
    let gone = person(c, named("Ada Lovelace", "ada@example.org", "")).await;
    c.delete_contact(DeleteContactRequest { name: gone.name.clone(), etag: gone.etag }).await.unwrap();

    let found = duplicates(c, 0.0, None, "").await.unwrap();
    assert!(found.next_page_token.is_empty());
    let summary: Vec<(&str, &str, Vec<DuplicateReason>)> =
        found.pairs.iter().map(|p| (p.contact.as_str(), p.duplicate.as_str(), reasons(p))).collect();
    assert_eq!(
        summary,
        [
            (ada.as_str(), ada_again.as_str(), vec![DuplicateReason::SameEmail, DuplicateReason::SameName]),
            (bob.as_str(), robert.as_str(), vec![DuplicateReason::SamePhone]),
            (carla.as_str(), carla_typo.as_str(), vec![DuplicateReason::SimilarName]),
        ]
    );
    assert!((found.pairs[0].score - 0.96).abs() < 1e-9, "email and name: 1 - 0.1 * 0.4");
    assert!((found.pairs[1].score - 0.8).abs() < 1e-9, "phone alone");
    assert!(found.pairs[2].score >= 0.5 && found.pairs[2].score < 0.6, "{}", found.pairs[2].score);
    assert_eq!(found.pairs[0].evidence[0].detail, "ada@example.org");
    assert_eq!(found.pairs[1].evidence[0].detail, "+33123456789");
    assert!(found.pairs[2].evidence[0].detail.contains("Carla Bruni Tedeschy"));

    let strong = duplicates(c, 0.9, None, "").await.unwrap();
    assert_eq!(strong.pairs.len(), 1);
    assert_eq!(strong.pairs[0].duplicate, ada_again);

    // Once merged, a pair is no longer a duplicate.
    merge(c, &ada, &ada_again, false).await.unwrap();
    let after = duplicates(c, 0.0, None, "").await.unwrap();
    assert!(after.pairs.iter().all(|p| p.duplicate != ada_again && p.contact != ada_again));
    assert_eq!(after.pairs.len(), 2);
}

async fn duplicates_page_best_first_with_a_token_valid_for_its_min_score_only(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    // Names far apart from each other, so that only the shared addresses pair them.
    for (i, (a, b)) in [("Alpha", "Bravo"), ("Charlie", "Delta"), ("Echo", "Foxtrot")].into_iter().enumerate() {
        person(c, named(a, &format!("twin{i}@example.org"), "")).await;
        person(c, named(b, &format!("twin{i}@example.org"), "")).await;
    }
    person(c, named("Same Name", "one@example.org", "")).await;
    person(c, named("same  NAME", "two@example.org", "")).await;
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = duplicates(c, 0.5, Some(2), &token).await.unwrap();
        pages += 1;
        listed.extend(page.pairs);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, listed.len()), (2, 4));
    let scores: Vec<f64> = listed.iter().map(|p| p.score).collect();
    assert_eq!(scores, [0.9, 0.9, 0.9, 0.6], "best first");
    let all = duplicates(c, 0.5, None, "").await.unwrap().pairs;
    assert_eq!(listed, all, "pages add up to the whole list");

    let first = duplicates(c, 0.5, Some(1), "").await.unwrap();
    let status = duplicates(c, 0.7, Some(1), &first.next_page_token).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = duplicates(c, 1.5, Some(0), "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["min_score", "page_size"]);
}

/// A survivor and a contact to merge into it, with links of every kind, including ones the merge must drop.
struct Scenario {
    survivor: String,
    merged: String,
    other: String,
    agency: String,
    trust: String,
    bureau: String,
    survivor_agency: String,
    merged_agency: String,
    merged_trust: String,
    partner_kept: String,
    partner_duplicate: String,
    advisor_moved: String,
    family_self: String,
    counterpart_moved: String,
}

async fn scenario(c: &mut Client) -> Scenario {
    let agency = create_organization(c, "Agency").await.name;
    let trust = create_organization(c, "Trust").await.name;
    let bureau = create_organization(c, "Bureau").await.name;
    let survivor = person(
        c,
        Contact {
            display_name: "Ada Lovelace".into(),
            emails: vec![
                EmailAddress { address: "ada@work.org".into(), r#type: ChannelType::Work as i32, primary: true },
                EmailAddress { address: "shared@example.org".into(), r#type: ChannelType::Home as i32, primary: false },
            ],
            phone: "+33 1 11 11 11 11".into(),
            labels: vec!["board".into()],
            languages: vec!["en".into()],
            notes: "Met in London.".into(),
            ..Default::default()
        },
    )
    .await
    .name;
    let merged = person(
        c,
        Contact {
            display_name: "Ada King".into(),
            given_name: "Ada".into(),
            family_name: "King".into(),
            emails: vec![
                EmailAddress { address: "ada@home.org".into(), r#type: ChannelType::Home as i32, primary: true },
                EmailAddress { address: "SHARED@example.org".into(), r#type: ChannelType::Work as i32, primary: false },
            ],
            phone: "+33 2 22 22 22 22".into(),
            labels: vec!["water".into()],
            languages: vec!["fr".into(), "en".into()],
            time_zone: "Europe/Paris".into(),
            working_hours: vec![WorkingHours { day: 1, start_time: "09:00".into(), end_time: "17:00".into() }],
            consent: Some(Consent { do_not_contact: true, ..Default::default() }),
            notes: "Prefers mornings.".into(),
            ..Default::default()
        },
    )
    .await
    .name;
    let other = person(c, named("Charles Babbage", "charles@example.org", "")).await.name;
    let survivor_agency = affiliate(c, &survivor, &agency, "Adviser", false).await.name;
    let merged_agency = affiliate(c, &merged, &agency, "Liaison", true).await.name;
    let merged_trust = affiliate(c, &merged, &trust, "Trustee", true).await.name;
    let partner_kept = relate(c, &survivor, &other, RelationshipType::Partner).await.name;
    let partner_duplicate = relate(c, &other, &merged, RelationshipType::Partner).await.name;
    let advisor_moved = relate(c, &other, &merged, RelationshipType::Advisor).await.name;
    let family_self = relate(c, &merged, &survivor, RelationshipType::Family).await.name;
    let counterpart_moved = relate(c, &merged, &bureau, RelationshipType::Counterpart).await.name;
    Scenario {
        survivor,
        merged,
        other,
        agency,
        trust,
        bureau,
        survivor_agency,
        merged_agency,
        merged_trust,
        partner_kept,
        partner_duplicate,
        advisor_moved,
        family_self,
        counterpart_moved,
    }
}

async fn a_merge_keeps_every_link_and_the_union_of_channels(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let s = scenario(c).await;
    let before = link_and_contact_changes(c).await.len();
    let merged = merge(c, &s.survivor, &s.merged, false).await.unwrap();
    assert!(!merged.validate_only);

    let contact = merged.contact.clone().unwrap();
    assert_eq!(contact, get(c, &s.survivor).await, "the response is the stored survivor");
    assert_eq!(contact.display_name, "Ada Lovelace");
    assert_eq!((contact.given_name.as_str(), contact.family_name.as_str()), ("Ada", "King"), "filled from merged");
    let emails: Vec<(&str, bool)> = contact.emails.iter().map(|e| (e.address.as_str(), e.primary)).collect();
    assert_eq!(emails, [("ada@work.org", true), ("shared@example.org", false), ("ada@home.org", false)]);
    assert_eq!(contact.email, "ada@work.org");
    let phones: Vec<&str> = contact.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["+33111111111", "+33222222222"]);
    assert_eq!(contact.labels, ["board", "water"]);
    assert_eq!(contact.languages, ["en", "fr"]);
    assert_eq!((contact.time_zone.as_str(), contact.working_hours.len()), ("Europe/Paris", 1));
    assert!(contact.do_not_contact, "do-not-contact of the merged contact is kept");
    assert_eq!(contact.notes, "Met in London.\n\nPrefers mornings.");
    assert_eq!(contact.merged_names, [s.merged.as_str()]);
    let provenance: BTreeMap<&str, &[String]> =
        contact.provenance.iter().map(|p| (p.field.as_str(), p.sources.as_slice())).collect();
    assert_eq!(provenance["display_name"], [s.survivor.as_str()]);
    assert_eq!(provenance["given_name"], [s.merged.as_str()]);
    assert_eq!(provenance["emails"], [s.survivor.clone(), s.merged.clone()]);
    assert_eq!(provenance["consent"], [s.merged.as_str()]);
    assert_eq!(provenance.len(), 12);
    assert_eq!(merged.provenance, contact.provenance);

    // Every link is accounted for: moved, or removed with the reason.
    let described: BTreeMap<&str, &str> =
        merged.moved_links.iter().map(|m| (m.resource.as_str(), m.description.as_str())).collect();
    assert!(described[s.merged_agency.as_str()].starts_with("removed: duplicate of"), "{described:?}");
    assert!(described[s.survivor_agency.as_str()].contains("point of contact"), "{described:?}");
    assert!(described[s.merged_trust.as_str()].starts_with("contact changes from"), "{described:?}");
    assert!(described[s.partner_duplicate.as_str()].contains(&s.partner_kept["relationships/".len()..]));
    assert!(described[s.family_self.as_str()].contains("itself"), "{described:?}");
    assert!(described[s.advisor_moved.as_str()].starts_with("now between"), "{described:?}");
    assert!(described[s.counterpart_moved.as_str()].starts_with("now between"), "{described:?}");
    assert_eq!(described.len(), 7);

    let affiliations = affiliations_of(c, &s.survivor).await;
    assert_eq!(affiliations.keys().collect::<Vec<_>>(), [&s.survivor_agency, &s.merged_trust]);
    let agency_link = &affiliations[&s.survivor_agency];
    assert!(agency_link.point_of_contact, "the organisation keeps its point of contact");
    assert_eq!(agency_link.role, "Adviser");
    assert_eq!(affiliations[&s.merged_trust].organization, s.trust);
    assert!(affiliations[&s.merged_trust].point_of_contact);
    assert!(affiliations_of(c, &s.merged).await.is_empty());
    let agency_people = c
        .list_affiliations(ListAffiliationsRequest { organization: s.agency.clone(), ..Default::default() })
        .ok()
        .await
        .affiliations;
    assert_eq!(agency_people.iter().filter(|a| a.point_of_contact).count(), 1);

    let relationships = relationships_of(c, &s.survivor).await;
    assert_eq!(
        relationships.keys().cloned().collect::<Vec<_>>(),
        [s.partner_kept.clone(), s.advisor_moved.clone(), s.counterpart_moved.clone()]
    );
    let advisor = &relationships[&s.advisor_moved];
    assert_eq!((advisor.party.as_str(), advisor.related_party.as_str()), (s.other.as_str(), s.survivor.as_str()));
    let counterpart = &relationships[&s.counterpart_moved];
    let expected = if s.survivor < s.bureau { (&s.survivor, &s.bureau) } else { (&s.bureau, &s.survivor) };
    assert_eq!((&counterpart.party, &counterpart.related_party), expected, "symmetric pairs in canonical order");
    assert!(relationships_of(c, &s.merged).await.is_empty());

    // One change per changed resource, in the merge's transaction.
    let changes = link_and_contact_changes(c).await;
    let made: Vec<(String, i32)> = changes[before..].to_vec();
    use liaison_proto::common::v1::ChangeKind;
    let kind_of = |name: &str| made.iter().filter(|(n, _)| n == name).map(|(_, k)| *k).collect::<Vec<_>>();
    assert_eq!(kind_of(&s.survivor), [ChangeKind::Updated as i32]);
    assert_eq!(kind_of(&s.merged), [ChangeKind::Deleted as i32]);
    assert_eq!(kind_of(&s.merged_agency), [ChangeKind::Deleted as i32]);
    assert_eq!(kind_of(&s.survivor_agency), [ChangeKind::Updated as i32]);
    assert_eq!(kind_of(&s.merged_trust), [ChangeKind::Updated as i32]);
    assert_eq!(kind_of(&s.family_self), [ChangeKind::Deleted as i32]);
    assert_eq!(kind_of(&s.advisor_moved), [ChangeKind::Updated as i32]);
    assert_eq!(made.len(), 9);
}

async fn the_merged_name_resolves_to_the_survivor_everywhere_and_refuses_changes(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let survivor = person(c, named("Grace Hopper", "grace@example.org", "")).await.name;
    let merged = person(c, named("G. Hopper", "gh@example.org", "")).await;
    let org = create_organization(c, "Navy").await.name;
    merge(c, &survivor, &merged.name, false).await.unwrap();

    assert_eq!(get(c, &merged.name).await.name, survivor);
    let batch =
        c.batch_get_contacts(BatchGetContactsRequest { names: vec![merged.name.clone(), survivor.clone()] }).ok().await;
    assert_eq!(batch.contacts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [&survivor, &survivor]);
    assert!(batch.missing_names.is_empty());
    let parties =
        c.batch_get_parties(BatchGetPartiesRequest { names: vec![merged.name.clone(), org.clone()] }).ok().await;
    match parties.parties[0].party.as_ref() {
        Some(party::Party::Contact(found)) => assert_eq!(found.name, survivor),
        other => panic!("expected the survivor, got {other:?}"),
    }
    let listed = c.list_contacts(ListContactsRequest::default()).ok().await.contacts;
    assert_eq!(listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [&survivor], "merged ones leave lists");

    let status = c
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { name: merged.name.clone(), notes: "late".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
        })
        .err()
        .await;
    assert_eq!(precondition_reason(&status), "CONTACT_MERGED");
}

async fn validate_only_writes_nothing_yet_shows_the_links_that_would_move(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let s = scenario(c).await;
    let changes_before = link_and_contact_changes(c).await;
    let reads_before = (
        get(c, &s.survivor).await,
        get(c, &s.merged).await,
        affiliations_of(c, &s.survivor).await,
        affiliations_of(c, &s.merged).await,
        relationships_of(c, &s.survivor).await,
        relationships_of(c, &s.other).await,
    );

    let preview = merge(c, &s.survivor, &s.merged, true).await.unwrap();
    assert!(preview.validate_only);
    assert_eq!(preview.moved_links.len(), 7, "{:?}", preview.moved_links);
    assert_eq!(preview.contact.as_ref().unwrap().merged_names, [s.merged.as_str()]);

    assert_eq!(link_and_contact_changes(c).await, changes_before, "no change row");
    let reads_after = (
        get(c, &s.survivor).await,
        get(c, &s.merged).await,
        affiliations_of(c, &s.survivor).await,
        affiliations_of(c, &s.merged).await,
        relationships_of(c, &s.survivor).await,
        relationships_of(c, &s.other).await,
    );
    assert_eq!(reads_after, reads_before, "nothing changed");
    let status = unmerge(c, &s.merged).await.unwrap_err();
    assert_eq!(precondition_reason(&status), "NOT_MERGED", "a dry run leaves no merge to undo: {status:?}");

    // The real merge does exactly what the preview showed.
    let real = merge(c, &s.survivor, &s.merged, false).await.unwrap();
    assert_eq!(real.moved_links, preview.moved_links);
    assert_eq!(real.provenance, preview.provenance);
    let (mut shown, mut done) = (preview.contact.unwrap(), real.contact.unwrap());
    (shown.update_time, done.update_time) = (None, None);
    assert_eq!(shown, done);
}

async fn merging_into_itself_a_missing_deleted_or_merged_contact_or_with_a_stale_etag_is_refused(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let a = person(c, named("Alan Turing", "alan@example.org", "")).await;
    let b = person(c, named("Alan M. Turing", "amt@example.org", "")).await;

    let status = merge(c, &a.name, &a.name, false).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["merged"]);
    let status = merge(c, "nope", "", false).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["survivor", "merged"]);
    let status = c
        .merge_contacts(MergeContactsRequest {
            survivor: a.name.clone(),
            merged: b.name.clone(),
            survivor_etag: "v1".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["survivor_etag"]);

    let status = merge(c, &a.name, GHOST, false).await.unwrap_err();
    assert_eq!((status.code(), status.message().contains(GHOST)), (Code::NotFound, true), "{status:?}");
    let status = merge(c, GHOST, &a.name, true).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let deleted = person(c, named("Gone Person", "gone@example.org", "")).await;
    c.delete_contact(DeleteContactRequest { name: deleted.name.clone(), etag: String::new() }).await.unwrap();
    assert_eq!(precondition_reason(&merge(c, &a.name, &deleted.name, false).await.unwrap_err()), "CONTACT_DELETED");
    assert_eq!(precondition_reason(&merge(c, &deleted.name, &a.name, false).await.unwrap_err()), "CONTACT_DELETED");

    // A stale etag on either side: ABORTED, nothing changes.
    c.update_contact(UpdateContactRequest {
        contact: Some(Contact { name: b.name.clone(), notes: "edited".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
    })
    .await
    .unwrap();
    let stale = MergeContactsRequest {
        survivor: a.name.clone(),
        merged: b.name.clone(),
        survivor_etag: a.etag.clone(),
        merged_etag: b.etag.clone(),
        validate_only: false,
    };
    let status = c.merge_contacts(stale.clone()).err().await;
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(get(c, &a.name).await, a, "nothing written");
    assert_eq!(get(c, &b.name).await.name, b.name, "not merged");
    let fresh = MergeContactsRequest { merged_etag: get(c, &b.name).await.etag, ..stale };
    c.merge_contacts(fresh).await.expect("current etags");

    // Once merged, neither side of a new merge may be the merged contact.
    let third = person(c, named("Third Person", "third@example.org", "")).await.name;
    assert_eq!(precondition_reason(&merge(c, &third, &b.name, false).await.unwrap_err()), "CONTACT_MERGED");
    assert_eq!(precondition_reason(&merge(c, &b.name, &third, false).await.unwrap_err()), "CONTACT_MERGED");
}

async fn racing_merges_of_one_contact_let_exactly_one_win(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    for round in 0..4 {
        let c = &mut app.client;
        let first = person(c, named(&format!("First {round}"), &format!("first{round}@example.org"), "")).await.name;
        let second = person(c, named(&format!("Second {round}"), &format!("second{round}@example.org"), "")).await.name;
        let contested =
            person(c, named(&format!("Contested {round}"), &format!("c{round}@example.org"), "")).await.name;
        let link = affiliate(c, &contested, &org, "Member", false).await.name;
        let (mut c1, mut c2) = (app.client.clone(), app.client.clone());
        let (one, two) =
            tokio::join!(merge(&mut c1, &first, &contested, false), merge(&mut c2, &second, &contested, false));
        let (winner, loser, failure) = match (one, two) {
            (Ok(_), Err(status)) => (&first, &second, status),
            (Err(status), Ok(_)) => (&second, &first, status),
            other => panic!("exactly one merge must succeed: {other:?}"),
        };
        assert_eq!(precondition_reason(&failure), "CONTACT_MERGED");
        let c = &mut app.client;
        assert_eq!(get(c, &contested).await.name, *winner);
        assert_eq!(get(c, winner).await.merged_names, [contested.as_str()]);
        assert!(get(c, loser).await.merged_names.is_empty(), "the loser is untouched");
        assert!(affiliations_of(c, winner).await.contains_key(&link));
        assert!(affiliations_of(c, loser).await.is_empty());

        // Two contacts merged into each other at once: one merge happens, the other finds its contact merged.
        let (mut c1, mut c2) = (app.client.clone(), app.client.clone());
        let (one, two) = tokio::join!(merge(&mut c1, &first, &second, false), merge(&mut c2, &second, &first, false));
        assert_eq!(one.is_ok() as u8 + two.is_ok() as u8, 1, "{one:?} {two:?}");
        let failure = one.err().or(two.err()).unwrap();
        assert_eq!(precondition_reason(&failure), "CONTACT_MERGED");
    }
}

/// Everything a merge touches in the scenario: both contacts, their affiliations and relationships by name.
type State = ((Contact, Contact), BTreeMap<String, Affiliation>, BTreeMap<String, Relationship>);

/// [`State`] now, compared field by field.
async fn state(c: &mut Client, s: &Scenario) -> State {
    let contacts = (contact_state(get(c, &s.survivor).await), contact_state(get(c, &s.merged).await));
    let mut affiliations = BTreeMap::new();
    for party in [&s.survivor, &s.merged] {
        affiliations.extend(affiliations_of(c, party).await.into_iter().map(|(k, a)| (k, affiliation_state(a))));
    }
    let mut relationships = BTreeMap::new();
    for party in [&s.survivor, &s.merged, &s.other, &s.bureau] {
        relationships.extend(relationships_of(c, party).await.into_iter().map(|(k, r)| (k, relationship_state(r))));
    }
    (contacts, affiliations, relationships)
}

async fn unmerge_restores_both_contacts_and_every_link_field_by_field(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let s = scenario(c).await;
    let before = state(c, &s).await;
    let etags = (get(c, &s.survivor).await.etag, get(c, &s.merged).await.etag);
    merge(c, &s.survivor, &s.merged, false).await.unwrap();
    assert_ne!(state(c, &s).await, before);
    let changes_before_unmerge = link_and_contact_changes(c).await.len();

    let undone = unmerge(c, &s.merged).await.unwrap();
    let (survivor, restored) = (undone.survivor.unwrap(), undone.restored.unwrap());
    assert_eq!(survivor.name, s.survivor);
    assert_eq!(restored.name, s.merged);
    assert_eq!(state(c, &s).await, before, "both contacts and every link as before the merge");
    assert_ne!((survivor.etag, restored.etag), etags, "new revisions");
    assert_eq!(get(c, &s.merged).await.name, s.merged, "the merged name is its own contact again");
    let agency = c
        .list_affiliations(ListAffiliationsRequest { organization: s.agency.clone(), ..Default::default() })
        .ok()
        .await
        .affiliations;
    let poc: Vec<&str> = agency.iter().filter(|a| a.point_of_contact).map(|a| a.name.as_str()).collect();
    assert_eq!(poc, [s.merged_agency.as_str()]);
    // Both contacts, the moved and the removed links: each has its change row.
    let changes = link_and_contact_changes(c).await;
    let undo: Vec<&str> = changes[changes_before_unmerge..].iter().map(|(n, _)| n.as_str()).collect();
    for name in [&s.survivor, &s.merged, &s.merged_agency, &s.survivor_agency, &s.merged_trust, &s.family_self] {
        assert!(undo.contains(&name.as_str()), "{name} in {undo:?}");
    }
    // The contacts can be told apart again, and merged again.
    let pairs = duplicates(c, 0.5, None, "").await.unwrap().pairs;
    assert!(pairs.iter().any(|p| p.duplicate == s.merged || p.contact == s.merged), "{pairs:?}");
    merge(c, &s.survivor, &s.merged, false).await.expect("merged again");
}

async fn unmerge_is_refused_when_not_merged_expired_superseded_or_the_survivor_is_gone(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let survivor = person(c, named("Survivor", "s@example.org", "")).await.name;
    let first = person(c, named("First", "f@example.org", "")).await.name;
    let second = person(c, named("Second", "x@example.org", "")).await.name;

    assert_eq!(bad_fields(&unmerge(c, "contacts/x").await.unwrap_err()), ["merged"]);
    assert_eq!(unmerge(c, GHOST).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(precondition_reason(&unmerge(c, &first).await.unwrap_err()), "NOT_MERGED", "never merged");

    // Merges into one survivor are undone last first.
    merge(c, &survivor, &first, false).await.unwrap();
    merge(c, &survivor, &second, false).await.unwrap();
    assert_eq!(precondition_reason(&unmerge(c, &first).await.unwrap_err()), "LATER_MERGE");
    unmerge(c, &second).await.unwrap();
    unmerge(c, &first).await.unwrap();
    assert_eq!(precondition_reason(&unmerge(c, &first).await.unwrap_err()), "NOT_MERGED", "already undone");

    // The survivor edited since the merge: writing its old state back would undo the edit, so it is refused.
    merge(c, &survivor, &first, false).await.unwrap();
    let consent = Consent { do_not_contact: true, ..Default::default() };
    let edited = Contact {
        name: survivor.clone(),
        consent: Some(consent),
        notes: "Asked not to be called".into(),
        ..Default::default()
    };
    c.update_contact(UpdateContactRequest { contact: Some(edited), ..Default::default() }).await.unwrap();
    let refused = unmerge(c, &first).await.unwrap_err();
    assert_eq!(precondition_reason(&refused), "SURVIVOR_CHANGED");
    let message = refused.message();
    assert!(message.contains("do_not_contact") && message.contains("notes"), "{message}");
    let kept = get(c, &survivor).await;
    assert!(kept.do_not_contact && kept.notes == "Asked not to be called", "the edit stands");
    assert_eq!(get(c, &first).await.name, survivor, "still merged");
    // Once the edit is undone the unmerge goes through.
    let reverted = Contact { name: survivor.clone(), ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["consent".into(), "notes".into()] };
    c.update_contact(UpdateContactRequest { contact: Some(reverted), update_mask: Some(mask) }).await.unwrap();
    unmerge(c, &first).await.unwrap();

    // The survivor merged on into another contact: undo that first.
    merge(c, &survivor, &first, false).await.unwrap();
    merge(c, &second, &survivor, false).await.unwrap();
    assert_eq!(precondition_reason(&unmerge(c, &first).await.unwrap_err()), "CONTACT_MERGED");
    unmerge(c, &survivor).await.unwrap();
    unmerge(c, &first).await.unwrap();

    // The survivor deleted since.
    merge(c, &survivor, &first, false).await.unwrap();
    c.delete_contact(DeleteContactRequest { name: survivor.clone(), etag: String::new() }).await.unwrap();
    assert_eq!(precondition_reason(&unmerge(c, &first).await.unwrap_err()), "CONTACT_DELETED");

    // Older than 30 days.
    let third = person(c, named("Third", "t@example.org", "")).await.name;
    merge(c, &second, &third, false).await.unwrap();
    let db = liaison_runtime::db::Db::connect(app.database.url()).await.unwrap();
    let long_ago = liaison_runtime::api::time::now() - chrono::TimeDelta::days(31);
    use sea_orm::ConnectionTrait;
    let conn = db.conn();
    conn.execute_raw(liaison_runtime::db::sql::statement(
        conn.get_database_backend(),
        "UPDATE merges SET merge_time = ? WHERE merged_id = ?",
        [long_ago.into(), third["contacts/".len()..].to_owned().into()],
    ))
    .await
    .unwrap();
    let c = &mut app.client;
    assert_eq!(precondition_reason(&unmerge(c, &third).await.unwrap_err()), "UNMERGE_EXPIRED");
    assert_eq!(get(c, &third).await.name, second, "still merged");
}

async fn assess(client: &mut Client, party: &str, date: chrono::NaiveDate, influence: Level) -> Assessment {
    use chrono::Datelike;
    client
        .create_assessment(CreateAssessmentRequest {
            assessment: Some(Assessment {
                party: party.into(),
                assessment_date: Some(Date { year: date.year(), month: date.month() as i32, day: date.day() as i32 }),
                influence: influence as i32,
                interest: Level::High as i32,
                impact: Level::Low as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .assessment
        .unwrap()
}

async fn log_call(client: &mut Client, participants: &[&str]) -> Interaction {
    client
        .create_interaction(CreateInteractionRequest {
            interaction: Some(Interaction {
                channel: InteractionChannel::PhoneCall as i32,
                direction: InteractionDirection::Inbound as i32,
                occur_time: Some(prost_types::Timestamp { seconds: chrono::Utc::now().timestamp() - 3600, nanos: 0 }),
                participants: participants.iter().map(|p| (*p).to_owned()).collect(),
                subject: "Call".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .interaction
        .unwrap()
}

async fn assessments_of(client: &mut Client, party: &str) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_assessments(ListAssessmentsRequest { party: party.into(), ..Default::default() })
        .ok()
        .await
        .assessments
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    names
}

async fn a_merge_moves_assessments_and_interactions_and_unmerge_puts_them_back(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let survivor = person(c, named("Kept Person", "kept@example.org", "")).await.name;
    let merged = person(c, named("Gone Person", "gone@example.org", "")).await.name;
    let today = chrono::Utc::now().date_naive();
    let yesterday = today - chrono::TimeDelta::days(1);
    let kept_today = assess(c, &survivor, today, Level::High).await.name;
    let gone_today = assess(c, &merged, today, Level::Low).await.name;
    let gone_yesterday = assess(c, &merged, yesterday, Level::Medium).await.name;
    let both = log_call(c, &[&survivor, &merged]).await.name;
    let only_gone = log_call(c, &[&merged]).await.name;
    let (survivor_assessments, merged_assessments) =
        (assessments_of(c, &survivor).await, assessments_of(c, &merged).await);

    let preview = merge(c, &survivor, &merged, true).await.unwrap();
    let moved: Vec<&str> = preview.moved_links.iter().map(|l| l.resource.as_str()).collect();
    for resource in [&gone_today, &gone_yesterday, &both, &only_gone] {
        assert!(moved.contains(&resource.as_str()), "{resource} in {moved:?}");
    }
    merge(c, &survivor, &merged, false).await.unwrap();
    // The survivor keeps its own assessment of today; the merged contact's assessment of the same day goes.
    let mut expected = vec![kept_today.clone(), gone_yesterday.clone()];
    expected.sort();
    assert_eq!(assessments_of(c, &survivor).await, expected);
    let reader = c.clone();
    let participants = |interaction: &str| {
        let mut client = reader.clone();
        let name = interaction.to_owned();
        async move { client.get_interaction(GetInteractionRequest { name }).ok().await.interaction.unwrap().participants }
    };
    assert_eq!(participants(&both).await, std::slice::from_ref(&survivor));
    assert_eq!(participants(&only_gone).await, std::slice::from_ref(&survivor));

    unmerge(c, &merged).await.unwrap();
    assert_eq!(assessments_of(c, &survivor).await, survivor_assessments);
    assert_eq!(assessments_of(c, &merged).await, merged_assessments);
    assert_eq!(participants(&both).await, [survivor.clone(), merged.clone()]);
    assert_eq!(participants(&only_gone).await, std::slice::from_ref(&merged));
}
