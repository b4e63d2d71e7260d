use crate::helpers::*;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;

on_both_databases!(
    a_created_contact_can_be_read_back,
    a_new_contact_is_told_which_contacts_it_probably_duplicates,
    contacts_list_in_creation_order_over_three_pages,
    a_tampered_page_token_is_invalid_argument,
    a_page_token_is_good_on_every_replica_and_after_a_restart_but_not_on_another_database,
    page_size_zero_is_rejected_and_huge_is_clamped,
    an_update_changes_only_the_masked_fields,
    an_update_without_a_mask_changes_only_the_fields_it_carries,
    a_star_mask_replaces_every_field_and_camel_case_paths_are_accepted,
    an_etag_is_accepted_with_or_without_its_quotes,
    a_stale_etag_is_aborted_and_changes_nothing,
    an_unknown_mask_path_is_named,
    a_deleted_contact_stays_readable_by_name_but_leaves_lists,
    twenty_concurrent_creates_with_one_request_id_make_one_contact,
    a_request_id_reused_for_another_contact_is_rejected,
    one_request_id_from_two_callers_makes_two_contacts,
    bad_input_names_every_field_and_writes_nothing,
    over_long_fields_are_rejected_with_their_limit,
    batch_get_returns_found_contacts_in_order_and_lists_the_missing,
    batch_get_parties_resolves_contacts_and_organizations_in_one_call,
    a_malformed_name_is_invalid_argument_and_an_unknown_one_not_found,
);

async fn a_created_contact_can_be_read_back(engine: Engine) {
    let mut app = app(engine).await;
    let created = app
        .client
        .create_contact(CreateContactRequest {
            contact: Some(Contact {
                display_name: "  Ada Lovelace ".into(),
                email: "Ada@Example.ORG".into(),
                phone: "+44 20 7946 0958".into(),
                time_zone: "Europe/London".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .contact
        .unwrap();
    assert!(created.name.starts_with("contacts/"));
    assert_eq!(created.display_name, "Ada Lovelace");
    assert_eq!(created.email, "Ada@example.org");
    assert_eq!(created.phone, "+442079460958");
    assert!(!created.etag.is_empty());
    let get = GetContactRequest { name: created.name.clone() };
    let fetched = app.client.get_contact(get.clone()).ok().await.contact;
    assert_eq!(fetched, Some(created.clone()));
    // The second read is answered from the read cache's encoding of the contact, spliced into the response.
    let cached = app.client.get_contact(get).ok().await.contact;
    assert_eq!(cached, Some(created));
}

async fn contacts_list_in_creation_order_over_three_pages(engine: Engine) {
    let mut app = app(engine).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(create_contact(&mut app.client, &format!("Person {i}")).await.name);
    }
    let mut listed = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = app
            .client
            .list_contacts(ListContactsRequest { page_size: Some(3), page_token: token.clone(), ..Default::default() })
            .ok()
            .await;
        pages += 1;
        assert!(page.contacts.len() <= 3);
        listed.extend(page.contacts.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, created);
}

async fn a_page_token_is_good_on_every_replica_and_after_a_restart_but_not_on_another_database(engine: Engine) {
    let mut app = app(engine).await;
    for i in 0..3 {
        create_contact(&mut app.client, &format!("P{i}")).await;
    }
    let first_page = ListContactsRequest { page_size: Some(1), ..Default::default() };
    let first = app.client.list_contacts(first_page).ok().await;
    let next = |token: &str| ListContactsRequest { page_size: Some(1), page_token: token.into(), ..Default::default() };
    // A second replica on the same database takes the first one's token.
    let replica = liaison_testkit::spawn::<liaison_contacts::Contacts>(&app.database, Default::default()).await;
    let second = Client::new(&replica).list_contacts(next(&first.next_page_token)).ok().await;
    assert_ne!(second.contacts[0].name, first.contacts[0].name);
    // So does the first after a restart.
    let mut app = app.restart().await;
    let again = app.client.list_contacts(next(&first.next_page_token)).ok().await;
    assert_eq!(again.contacts[0].name, second.contacts[0].name);
    // Another contacts service (its own database, its own key) does not.
    let mut other = crate::helpers::app(engine).await;
    let status = other.client.list_contacts(next(&first.next_page_token)).err().await;
    assert_eq!(bad_fields(&status), ["page_token"], "{status:?}");
}

async fn a_tampered_page_token_is_invalid_argument(engine: Engine) {
    let mut app = app(engine).await;
    for i in 0..3 {
        create_contact(&mut app.client, &format!("P{i}")).await;
    }
    let token = app
        .client
        .list_contacts(ListContactsRequest { page_size: Some(1), page_token: String::new(), ..Default::default() })
        .ok()
        .await
        .next_page_token;
    let mut tampered = token.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let status = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(1),
            page_token: String::from_utf8(tampered).unwrap(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = app
        .client
        .list_organizations(ListOrganizationsRequest {
            page_size: Some(1),
            page_token: "bm90LWEtdG9rZW4".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn page_size_zero_is_rejected_and_huge_is_clamped(engine: Engine) {
    let mut app = app(engine).await;
    create_contact(&mut app.client, "Only").await;
    let status = app
        .client
        .list_contacts(ListContactsRequest { page_size: Some(0), page_token: String::new(), ..Default::default() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_size"]);
    let page = app
        .client
        .list_contacts(ListContactsRequest {
            page_size: Some(1_000_000),
            page_token: String::new(),
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(page.contacts.len(), 1);
}

async fn an_update_changes_only_the_masked_fields(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Grace Hopper").await;
    let updated = app
        .client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact {
                name: created.name.clone(),
                etag: created.etag.clone(),
                notes: "Prefers mornings".into(),
                display_name: "IGNORED".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
        })
        .ok()
        .await
        .contact
        .unwrap();
    assert_eq!(updated.notes, "Prefers mornings");
    assert_eq!(updated.display_name, "Grace Hopper");
    assert_eq!(updated.email, created.email);
    assert_ne!(updated.etag, created.etag);
    assert_eq!(updated.create_time, created.create_time);
    let changes = all_changes(&mut app.client).await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].kind, liaison_proto::common::v1::ChangeKind::Updated as i32);
}

/// A contact with every kind of field set, as the mask tests start from.
async fn detailed_contact(client: &mut Client) -> Contact {
    let mut detailed = contact("Grace Hopper");
    detailed.notes = "Prefers mornings".into();
    detailed.labels = vec!["navy".into()];
    detailed.phone = "+33 1 23 45 67 89".into();
    let request = CreateContactRequest { contact: Some(detailed), request_id: String::new() };
    client.create_contact(request).ok().await.contact.unwrap()
}

async fn update(client: &mut Client, contact: Contact, paths: Option<&[&str]>) -> Result<Contact, tonic::Status> {
    let update_mask = paths.map(|p| prost_types::FieldMask { paths: p.iter().map(|p| (*p).to_owned()).collect() });
    let request = UpdateContactRequest { contact: Some(contact), update_mask };
    client.update_contact(request).await.map(|r| r.into_inner().contact.unwrap())
}

async fn an_update_without_a_mask_changes_only_the_fields_it_carries(engine: Engine) {
    let mut app = app(engine).await;
    let created = detailed_contact(&mut app.client).await;
    let renamed =
        Contact { name: created.name.clone(), display_name: "Rear Admiral Hopper".into(), ..Default::default() };
    let updated = update(&mut app.client, renamed, None).await.unwrap();
    assert_eq!(updated.display_name, "Rear Admiral Hopper");
    assert_eq!(
        (&updated.emails, &updated.phones, &updated.notes, &updated.labels, &updated.time_zone),
        (&created.emails, &created.phones, &created.notes, &created.labels, &created.time_zone),
        "fields the request did not carry are kept"
    );
    // An empty mask is the same as an absent one.
    let noted = Contact { name: created.name.clone(), notes: "Afternoons now".into(), ..Default::default() };
    let updated = update(&mut app.client, noted, Some(&[])).await.unwrap();
    assert_eq!((updated.display_name.as_str(), updated.notes.as_str()), ("Rear Admiral Hopper", "Afternoons now"));
    assert_eq!(updated.emails, created.emails);
}

async fn a_star_mask_replaces_every_field_and_camel_case_paths_are_accepted(engine: Engine) {
    let mut app = app(engine).await;
    let created = detailed_contact(&mut app.client).await;
    let camel = Contact {
        name: created.name.clone(),
        display_name: "Grace B. Hopper".into(),
        time_zone: "America/New_York".into(),
        notes: "not named by the mask".into(),
        ..Default::default()
    };
    let updated = update(&mut app.client, camel, Some(&["displayName", "timeZone"])).await.unwrap();
    assert_eq!((updated.display_name.as_str(), updated.time_zone.as_str()), ("Grace B. Hopper", "America/New_York"));
    assert_eq!(updated.notes, created.notes);

    let replacement = Contact { name: created.name.clone(), display_name: "Hopper".into(), ..Default::default() };
    let replaced = update(&mut app.client, replacement, Some(&["*"])).await.unwrap();
    assert_eq!(replaced.display_name, "Hopper");
    assert!(replaced.notes.is_empty() && replaced.labels.is_empty() && replaced.emails.is_empty(), "{replaced:?}");
}

async fn an_etag_is_accepted_with_or_without_its_quotes(engine: Engine) {
    let mut app = app(engine).await;
    let created = detailed_contact(&mut app.client).await;
    assert!(created.etag.starts_with('"') && created.etag.ends_with('"'), "{}", created.etag);
    let bare = created.etag.trim_matches('"').to_owned();
    let with_bare =
        Contact { name: created.name.clone(), etag: bare.clone(), notes: "one".into(), ..Default::default() };
    let updated = update(&mut app.client, with_bare, None).await.unwrap();
    assert_eq!(updated.notes, "one");
    // The same bare etag is now stale: refused as a stale etag, not as a malformed one.
    let stale = Contact { name: created.name.clone(), etag: bare, notes: "two".into(), ..Default::default() };
    let status = update(&mut app.client, stale, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let quoted =
        Contact { name: created.name.clone(), etag: updated.etag, notes: "three".into(), ..Default::default() };
    assert_eq!(update(&mut app.client, quoted, None).await.unwrap().notes, "three");
}

async fn a_stale_etag_is_aborted_and_changes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Alan Turing").await;
    let update = |notes: &str, etag: &str| UpdateContactRequest {
        contact: Some(Contact {
            name: created.name.clone(),
            etag: etag.into(),
            notes: notes.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
    };
    app.client.update_contact(update("first", &created.etag)).await.unwrap();
    let status = app.client.update_contact(update("second", &created.etag)).err().await;
    assert_eq!(status.code(), Code::Aborted);
    let now = app.client.get_contact(GetContactRequest { name: created.name.clone() }).ok().await;
    assert_eq!(now.contact.unwrap().notes, "first");
    assert_eq!(all_changes(&mut app.client).await.len(), 2);
    let status = app
        .client
        .delete_contact(DeleteContactRequest { name: created.name.clone(), etag: created.etag.clone() })
        .err()
        .await;
    assert_eq!(status.code(), Code::Aborted);
}

async fn an_unknown_mask_path_is_named(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Mask").await;
    let status = app
        .client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { name: created.name.clone(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["create_time".into()] }),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["update_mask.paths[0]"]);
    // An update that would blank a required field is rejected and writes nothing.
    let status = app
        .client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { name: created.name.clone(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["contact.display_name"]);
    assert_eq!(all_changes(&mut app.client).await.len(), 1);
}

async fn a_deleted_contact_stays_readable_by_name_but_leaves_lists(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Temp").await;
    let deleted = app
        .client
        .delete_contact(DeleteContactRequest { name: created.name.clone(), etag: created.etag })
        .ok()
        .await
        .contact
        .unwrap();
    let (delete_time, purge_time) = (deleted.delete_time.unwrap(), deleted.purge_time.unwrap());
    assert_eq!(purge_time.seconds - delete_time.seconds, 30 * 86_400);
    let read = app.client.get_contact(GetContactRequest { name: created.name.clone() }).ok().await;
    assert_eq!(read.contact.unwrap().delete_time, Some(delete_time));
    let listed = app.client.list_contacts(ListContactsRequest::default()).ok().await.contacts;
    assert!(listed.is_empty());
    let listed =
        app.client.list_contacts(ListContactsRequest { show_deleted: true, ..Default::default() }).ok().await.contacts;
    assert_eq!(listed.len(), 1);
    let status =
        app.client.delete_contact(DeleteContactRequest { name: created.name.clone(), etag: String::new() }).err().await;
    assert_eq!(status.code(), Code::FailedPrecondition, "deleting it again says it is deleted: {status:?}");
    // A deleted contact cannot be changed until it is restored.
    let status = app
        .client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { name: created.name.clone(), display_name: "X".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::FailedPrecondition);
    let changes = all_changes(&mut app.client).await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes.last().unwrap().kind, liaison_proto::common::v1::ChangeKind::Deleted as i32);
}

async fn twenty_concurrent_creates_with_one_request_id_make_one_contact(engine: Engine) {
    let app = app(engine).await;
    let request = CreateContactRequest { contact: Some(contact("Idem Potent")), request_id: "retry-7f3a".into() };
    let calls = (0..20).map(|_| {
        let mut client = app.client.clone();
        let request = request.clone();
        async move { client.create_contact(request).await.map(|r| r.into_inner().contact.unwrap().name) }
    });
    let names: Vec<String> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
    assert!(names.iter().all(|n| n == &names[0]), "{names:?}");
    let mut client = app.client.clone();
    let listed = client.list_contacts(ListContactsRequest::default()).ok().await.contacts;
    assert_eq!(listed.len(), 1);
    assert_eq!(all_changes(&mut client).await.len(), 1);
    let organizations = client.list_organizations(ListOrganizationsRequest::default()).ok().await;
    assert_eq!(organizations.organizations.len(), 1, "only the feed sentinel");
}

async fn a_request_id_reused_for_another_contact_is_rejected(engine: Engine) {
    let mut app = app(engine).await;
    let first = CreateContactRequest { contact: Some(contact("First")), request_id: "same-id".into() };
    app.client.create_contact(first).await.unwrap();
    let second = CreateContactRequest { contact: Some(contact("Second")), request_id: "same-id".into() };
    let status = app.client.create_contact(second).err().await;
    assert_eq!(bad_fields(&status), ["request_id"]);
}

async fn one_request_id_from_two_callers_makes_two_contacts(engine: Engine) {
    let mut app = app(engine).await;
    let create_as = |actor: &str| {
        let mut request = tonic::Request::new(CreateContactRequest {
            contact: Some(contact("Shared Key")),
            request_id: "create-1".into(),
        });
        request.metadata_mut().insert("liaison-actor", actor.parse().unwrap());
        request
    };
    let ada = app.client.create_contact(create_as("ada")).ok().await.contact.unwrap();
    let bob = app.client.create_contact(create_as("bob")).ok().await.contact.unwrap();
    assert_ne!(ada.name, bob.name, "bob's create is not a replay of ada's");
    let again = app.client.create_contact(create_as("ada")).ok().await.contact.unwrap();
    assert_eq!(again.name, ada.name, "ada's retry still is");
}

async fn bad_input_names_every_field_and_writes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let status = app
        .client
        .create_contact(CreateContactRequest {
            contact: Some(Contact {
                display_name: "   ".into(),
                email: "not-an-email".into(),
                phone: "12".into(),
                time_zone: "Mars/Olympus_Mons".into(),
                ..Default::default()
            }),
            request_id: "has space".into(),
        })
        .err()
        .await;
    assert_eq!(
        bad_fields(&status),
        ["contact.display_name", "contact.email", "contact.phone", "contact.time_zone", "request_id"]
    );
    let status = app
        .client
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization { display_name: "Acme".into(), kind: 42, ..Default::default() }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["organization.kind"]);
    assert!(app.client.list_contacts(ListContactsRequest::default()).ok().await.contacts.is_empty());
    assert!(all_changes(&mut app.client).await.is_empty());
    let organizations = app.client.list_organizations(ListOrganizationsRequest::default()).ok().await;
    assert_eq!(organizations.organizations.len(), 1, "only the feed sentinel");
}

async fn over_long_fields_are_rejected_with_their_limit(engine: Engine) {
    let mut app = app(engine).await;
    let status = app
        .client
        .create_contact(CreateContactRequest {
            contact: Some(Contact { display_name: "x".repeat(201), notes: "y".repeat(10_001), ..Default::default() }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["contact.display_name", "contact.notes"]);
    assert!(status.message().contains("200"));
    assert!(all_changes(&mut app.client).await.is_empty());
}

async fn batch_get_returns_found_contacts_in_order_and_lists_the_missing(engine: Engine) {
    let mut app = app(engine).await;
    let a = create_contact(&mut app.client, "A").await.name;
    let b = create_contact(&mut app.client, "B").await.name;
    let missing = "contacts/01a20000-0000-7000-8000-000000000000".to_owned();
    let response = app
        .client
        .batch_get_contacts(BatchGetContactsRequest { names: vec![b.clone(), missing.clone(), a.clone(), b.clone()] })
        .ok()
        .await;
    assert_eq!(response.contacts.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), [b.clone(), a.clone()]);
    assert_eq!(response.missing_names, [missing]);
    let get = |name: &String| GetContactRequest { name: name.clone() };
    let full_b = app.client.get_contact(get(&b)).ok().await.contact.unwrap();
    assert_eq!(response.contacts[0], full_b, "a batch returns whole contacts, as GetContact does");

    // Now every one is cached: the response is spliced from cached encodings, and must read the same.
    let both = BatchGetContactsRequest { names: vec![a.clone(), b.clone()] };
    let cached = app.client.batch_get_contacts(both.clone()).ok().await;
    let again = app.client.batch_get_contacts(both.clone()).ok().await;
    assert_eq!(cached, again);
    assert_eq!(cached.contacts[1], full_b);
    assert!(cached.missing_names.is_empty());

    let renamed = app
        .client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { display_name: "B renamed".into(), ..full_b }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        })
        .ok()
        .await
        .contact
        .unwrap();
    let after = app.client.batch_get_contacts(both).ok().await;
    assert_eq!(after.contacts[1], renamed, "a write is seen by the next batch read");
    let status = app.client.batch_get_contacts(BatchGetContactsRequest { names: vec![] }).err().await;
    assert_eq!(bad_fields(&status), ["names"]);
    let too_many = (0..1001)
        .map(|_| liaison_runtime::api::names::Name::<liaison_runtime::api::names::Contacts>::generate().to_string());
    let status = app.client.batch_get_contacts(BatchGetContactsRequest { names: too_many.collect() }).err().await;
    assert_eq!(bad_fields(&status), ["names"]);
}

async fn batch_get_parties_resolves_contacts_and_organizations_in_one_call(engine: Engine) {
    let mut app = app(engine).await;
    let person = create_contact(&mut app.client, "Person").await.name;
    let org = crate::organizations::create_organization(&mut app.client, "Agency").await.name;
    let missing = "organizations/01a20000-0000-7000-8000-000000000000".to_owned();
    let response = app
        .client
        .batch_get_parties(BatchGetPartiesRequest { names: vec![org.clone(), missing.clone(), person.clone()] })
        .ok()
        .await;
    assert_eq!(response.parties.len(), 2);
    assert!(matches!(response.parties[0].party, Some(party::Party::Organization(ref o)) if o.name == org));
    assert!(matches!(response.parties[1].party, Some(party::Party::Contact(ref c)) if c.name == person));
    assert_eq!(response.missing_names, [missing]);
    let status = app.client.batch_get_parties(BatchGetPartiesRequest { names: vec!["meetings/x".into()] }).err().await;
    assert_eq!(bad_fields(&status), ["names[0]"]);
}

async fn a_malformed_name_is_invalid_argument_and_an_unknown_one_not_found(engine: Engine) {
    let mut app = app(engine).await;
    let status = app.client.get_contact(GetContactRequest { name: "contacts/42".into() }).err().await;
    assert_eq!(bad_fields(&status), ["name"]);
    let status = app
        .client
        .get_contact(GetContactRequest { name: "contacts/01a20000-0000-7000-8000-000000000000".into() })
        .err()
        .await;
    assert_eq!(status.code(), Code::NotFound);
}

async fn a_new_contact_is_told_which_contacts_it_probably_duplicates(engine: Engine) {
    let mut app = app(engine).await;
    let create = |contact: Contact| CreateContactRequest { contact: Some(contact), request_id: String::new() };
    let first = app.client.create_contact(create(contact("Ada Lovelace"))).ok().await;
    assert!(first.possible_duplicates.is_empty(), "nobody to duplicate yet");
    let ada = first.contact.expect("contact");
    // The same name in another order and case, with another address.
    let namesake = Contact { email: "countess@example.org".into(), ..contact("LOVELACE Ada") };
    let second = app.client.create_contact(create(namesake)).ok().await;
    let told: Vec<(&str, Vec<i32>)> = second
        .possible_duplicates
        .iter()
        .map(|d| (d.contact.as_str(), d.evidence.iter().map(|e| e.reason).collect()))
        .collect();
    assert_eq!(told, [(ada.name.as_str(), vec![DuplicateReason::SameName as i32])]);
    assert_eq!(second.possible_duplicates[0].display_name, "Ada Lovelace");
    assert!((second.possible_duplicates[0].score - 0.6).abs() < 1e-9);
    // The same address under another name: the shared email is the stronger evidence.
    let same_email = Contact { email: ada.email.clone(), ..contact("A. King") };
    let third = app.client.create_contact(create(same_email)).ok().await;
    assert_eq!(third.possible_duplicates.len(), 1);
    assert_eq!(third.possible_duplicates[0].contact, ada.name);
    assert_eq!(third.possible_duplicates[0].evidence[0].reason, DuplicateReason::SameEmail as i32);
    assert!((third.possible_duplicates[0].score - 0.9).abs() < 1e-9);
    // A deleted contact is nobody's duplicate.
    app.client.delete_contact(DeleteContactRequest { name: ada.name.clone(), ..Default::default() }).ok().await;
    let fourth = app.client.create_contact(create(contact("Ada Lovelace"))).ok().await;
    let names: Vec<&str> = fourth.possible_duplicates.iter().map(|d| d.contact.as_str()).collect();
    assert!(!names.contains(&ada.name.as_str()), "{names:?}");
    let (namesake, king) = (second.contact.expect("contact").name, third.contact.expect("contact").name);
    assert_eq!(names, [king.as_str(), namesake.as_str()], "by email (0.9), then by name (0.6)");
}
