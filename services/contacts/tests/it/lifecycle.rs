//! Soft delete and undelete, search, and field-level history of contacts.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    an_undeleted_contact_is_back_in_lists_with_a_new_etag,
    undelete_is_refused_for_a_live_contact_and_after_thirty_days,
    search_ranks_whole_names_above_prefixes_and_matches_organisations,
    search_pages_through_ranked_results_and_hides_deleted_contacts,
    a_bad_search_is_invalid_argument,
    history_lists_who_changed_which_field_and_when,
    history_of_an_unknown_contact_is_not_found,
    a_deleted_contact_takes_no_new_links,
    deleting_a_deleted_contact_says_it_is_deleted_and_changes_nothing,
    a_cached_contact_is_refreshed_after_a_write_by_another_replica,
);

async fn delete(client: &mut Client, name: &str) -> Contact {
    client.delete_contact(DeleteContactRequest { name: name.into(), etag: String::new() }).ok().await.contact.unwrap()
}

async fn deleting_a_deleted_contact_says_it_is_deleted_and_changes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Twice Gone").await;
    let deleted = delete(&mut app.client, &created.name).await;
    let status =
        app.client.delete_contact(DeleteContactRequest { name: created.name.clone(), etag: String::new() }).err().await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(status.get_error_details().error_info().map(|i| i.reason.as_str()), Some("CONTACT_DELETED"));
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    assert_eq!(failure.violations[0].subject, created.name);
    let read = app.client.get_contact(GetContactRequest { name: created.name.clone() }).ok().await;
    assert_eq!(read.contact.unwrap().etag, deleted.etag, "the second delete changed nothing");
    let unknown = "contacts/01a20000-0000-7000-8000-00000000dead";
    let status =
        app.client.delete_contact(DeleteContactRequest { name: unknown.into(), etag: String::new() }).err().await;
    assert_eq!(status.code(), Code::NotFound, "a contact that never existed is still not found");
}

async fn an_undeleted_contact_is_back_in_lists_with_a_new_etag(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Lazarus").await;
    let deleted = delete(&mut app.client, &created.name).await;
    // A stale etag is refused.
    let status = app
        .client
        .undelete_contact(UndeleteContactRequest { name: created.name.clone(), etag: created.etag.clone() })
        .err()
        .await;
    assert_eq!(status.code(), Code::Aborted);
    let restored = app
        .client
        .undelete_contact(UndeleteContactRequest { name: created.name.clone(), etag: deleted.etag.clone() })
        .ok()
        .await
        .contact
        .unwrap();
    assert_eq!(restored.delete_time, None);
    assert_ne!(restored.etag, deleted.etag);
    assert_eq!(restored.email, created.email);
    let listed = app.client.list_contacts(ListContactsRequest::default()).ok().await.contacts;
    assert_eq!(listed.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), std::slice::from_ref(&created.name));
    let kinds: Vec<i32> = all_changes(&mut app.client).await.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Created as i32, ChangeKind::Deleted as i32, ChangeKind::Updated as i32]);
}

async fn undelete_is_refused_for_a_live_contact_and_after_thirty_days(engine: Engine) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Expired").await;
    let reason = |status: &tonic::Status| {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        status.get_error_details().precondition_failure().unwrap().violations[0].r#type.clone()
    };
    let status = app
        .client
        .undelete_contact(UndeleteContactRequest { name: created.name.clone(), etag: String::new() })
        .err()
        .await;
    assert_eq!(reason(&status), "NOT_DELETED");
    delete(&mut app.client, &created.name).await;
    // Age the deletion by 31 days, straight in the database.
    let db = liaison_runtime::db::Db::connect(app.database.url()).await.unwrap();
    let id = created.name.trim_start_matches("contacts/").to_owned();
    let row = liaison_contacts::store::entity::contact::ActiveModel {
        id: Set(id),
        delete_time: Set(Some(chrono::Utc::now() - chrono::TimeDelta::days(31))),
        ..Default::default()
    };
    row.update(db.conn()).await.unwrap();
    let status = app
        .client
        .undelete_contact(UndeleteContactRequest { name: created.name.clone(), etag: String::new() })
        .err()
        .await;
    assert_eq!(reason(&status), "UNDELETE_EXPIRED");
}

async fn search(client: &mut Client, query: &str, page_size: Option<i32>, token: &str) -> SearchContactsResponse {
    client
        .search_contacts(SearchContactsRequest { query: query.into(), page_size, page_token: token.into() })
        .ok()
        .await
}

async fn search_ranks_whole_names_above_prefixes_and_matches_organisations(engine: Engine) {
    let mut app = app(engine).await;
    let joann = create_contact(&mut app.client, "Joann Smith").await;
    let anna = create_contact(&mut app.client, "Anna Ångström").await;
    let ann = create_contact(&mut app.client, "Ann Lee").await;
    let unrelated = create_contact(&mut app.client, "Bob Stone").await;
    let found = search(&mut app.client, "ann", None, "").await.results;
    let names: Vec<_> = found.iter().map(|r| r.contact.as_ref().unwrap().name.clone()).collect();
    // Words match from their start, as in a search engine: "Joann" does not hold the word "ann".
    assert_eq!(names, [ann.name.clone(), anna.name.clone()]);
    assert!(!names.contains(&joann.name));
    assert!(found[0].score > found[1].score);
    assert_eq!(found[0].matched_fields, ["display_name"]);
    // Accents and case are ignored.
    let found = search(&mut app.client, "ANGSTROM", None, "").await.results;
    assert_eq!(found.len(), 1);
    // An organisation's name finds its people; every word must match somewhere.
    let organization = create_organization(&mut app.client, "Harbour Authority").await;
    app.client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: unrelated.name.clone(),
                organization: organization.name,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let found = search(&mut app.client, "bob harbour", None, "").await.results;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].matched_fields, ["display_name", "organizations"]);
    assert!(search(&mut app.client, "bob nowhere", None, "").await.results.is_empty());
    // Email addresses are searched too.
    let found = search(&mut app.client, "ann.lee@example.org", None, "").await.results;
    assert_eq!(found[0].contact.as_ref().unwrap().name, ann.name);
}

async fn search_pages_through_ranked_results_and_hides_deleted_contacts(engine: Engine) {
    let mut app = app(engine).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(create_contact(&mut app.client, &format!("Page Person{n}")).await.name);
    }
    delete(&mut app.client, &created[4]).await;
    let first = search(&mut app.client, "page", Some(3), "").await;
    assert_eq!(first.results.len(), 3);
    let second = search(&mut app.client, "page", Some(3), &first.next_page_token).await;
    assert_eq!(second.results.len(), 1);
    assert!(second.next_page_token.is_empty());
    let mut seen: Vec<String> =
        first.results.iter().chain(&second.results).map(|r| r.contact.as_ref().unwrap().name.clone()).collect();
    seen.sort();
    assert_eq!(seen, created[..4]);
    // A token of one query is not valid for another.
    let status = app
        .client
        .search_contacts(SearchContactsRequest {
            query: "person".into(),
            page_size: Some(3),
            page_token: first.next_page_token,
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn a_bad_search_is_invalid_argument(engine: Engine) {
    let mut app = app(engine).await;
    for (query, page_size) in [("", None), ("?!", None), (&*"x".repeat(201), None), ("ok", Some(0))] {
        let status = app
            .client
            .search_contacts(SearchContactsRequest { query: query.into(), page_size, page_token: String::new() })
            .err()
            .await;
        let expected = if page_size == Some(0) { "page_size" } else { "query" };
        assert_eq!(bad_fields(&status), [expected], "{query:?}");
    }
}

async fn history_lists_who_changed_which_field_and_when(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_contact(&mut app.client, "Historic").await;
    let mut request = tonic::Request::new(UpdateContactRequest {
        contact: Some(Contact {
            name: created.name.clone(),
            display_name: "Historic Person".into(),
            labels: vec!["vip".into()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into(), "labels".into()] }),
    });
    request.metadata_mut().insert("liaison-actor", "officer.jane".parse().unwrap());
    app.client.update_contact(request).await.unwrap();
    delete(&mut app.client, &created.name).await;
    let history = |page_size: Option<i32>, token: String| {
        let mut client = app.client.clone();
        let name = created.name.clone();
        async move {
            client.list_contact_history(ListContactHistoryRequest { name, page_size, page_token: token }).ok().await
        }
    };
    let all = history(None, String::new()).await;
    assert_eq!(all.entries.len(), 3);
    let created_entry = &all.entries[0];
    assert_eq!(created_entry.kind, ChangeKind::Created as i32);
    assert_eq!(created_entry.actor, "anonymous");
    let fields: Vec<_> = created_entry.field_changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["display_name", "emails", "time_zone"]);
    let updated = &all.entries[1];
    assert_eq!(updated.actor, "officer.jane");
    let changes: Vec<_> =
        updated.field_changes.iter().map(|c| (c.field.as_str(), c.old_value.as_str(), c.new_value.as_str())).collect();
    assert_eq!(changes, [("display_name", "Historic", "Historic Person"), ("labels", "", "vip")]);
    assert_eq!(all.entries[2].kind, ChangeKind::Deleted as i32);
    assert_eq!(all.entries[2].field_changes[0].field, "delete_time");
    // Paged one entry at a time, the diffs are the same.
    let first = history(Some(1), String::new()).await;
    let second = history(Some(1), first.next_page_token).await;
    assert_eq!(second.entries, all.entries[1..2]);
}

async fn history_of_an_unknown_contact_is_not_found(engine: Engine) {
    let mut app = app(engine).await;
    let status = app
        .client
        .list_contact_history(ListContactHistoryRequest {
            name: "contacts/0193a8f0-0000-7000-8000-000000000000".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::NotFound);
}

async fn a_deleted_contact_takes_no_new_links(engine: Engine) {
    let mut app = app(engine).await;
    let gone = create_contact(&mut app.client, "Gone Away").await;
    let other = create_contact(&mut app.client, "Still Here").await;
    let organization = create_organization(&mut app.client, "Port Office").await;
    delete(&mut app.client, &gone.name).await;
    let status = app
        .client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: gone.name.clone(),
                organization: organization.name,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.get_error_details().precondition_failure().unwrap().violations[0].r#type, "CONTACT_DELETED");
    let status = app
        .client
        .create_relationship(CreateRelationshipRequest {
            relationship: Some(Relationship {
                party: other.name,
                related_party: gone.name,
                r#type: RelationshipType::Partner as i32,
                strength: 3,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::FailedPrecondition);
}

/// Two replicas on one PostgreSQL database: a read through one caches the contact; a write through the other
/// reaches it through the change feed, so its next reads serve the new state. (SQLite has one process per file.)
async fn a_cached_contact_is_refreshed_after_a_write_by_another_replica(engine: Engine) {
    if engine == Engine::Sqlite {
        return;
    }
    let mut app = app(engine).await;
    let replica = liaison_testkit::spawn::<liaison_contacts::Contacts>(&app.database, Default::default()).await;
    let mut other = Client::new(&replica);
    let created = create_contact(&mut app.client, "Cached Person").await;
    let read = |client: &mut Client| {
        let mut client = client.clone();
        let name = created.name.clone();
        async move { client.get_contact(GetContactRequest { name }).ok().await.contact.unwrap() }
    };
    assert_eq!(read(&mut other).await.display_name, "Cached Person");
    assert_eq!(read(&mut other).await.display_name, "Cached Person", "served from the cache");
    app.client
        .update_contact(UpdateContactRequest {
            contact: Some(Contact { name: created.name.clone(), display_name: "Renamed".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        })
        .await
        .unwrap();
    // Read-your-writes on the replica that wrote.
    assert_eq!(read(&mut app.client).await.display_name, "Renamed");
    // The replica learns of the rename from the change feed, which on PostgreSQL serves a change once every older
    // transaction on the server has ended — other tests' included (CREATE/DROP DATABASE under a loaded CI run
    // held it back past 10 s once). The bound is generous; the wait is normally ~200 ms.
    liaison_testkit::eventually(std::time::Duration::from_secs(30), "the other replica sees the rename", || {
        let mut other = other.clone();
        let read = read(&mut other);
        async move { (read.await.display_name == "Renamed").then_some(()) }
    })
    .await;
    replica.stop().await.unwrap();
}
