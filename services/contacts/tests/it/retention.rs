//! Retention: PurgeContact (right to erasure), the purge of contacts deleted more than 30 days ago, and the
//! expiry of what merges keep once they can no longer be undone.
use crate::helpers::*;
use liaison_contacts::store::Store;
use liaison_proto::common::v1::{ChangeKind, ListChangesRequest};
use liaison_proto::contacts::v1::*;
use liaison_runtime::db::{Db, sql::statement};
use liaison_runtime::sea_orm::{ConnectionTrait, Value};
use liaison_testkit::{Call, Engine, TestDatabase, on_both_databases};
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    purge_contact_erases_the_contact_its_merged_contacts_and_assessments_and_empties_their_changes,
    purge_contact_is_refused_for_a_merged_or_linked_contact_or_a_stale_etag,
    the_purge_job_erases_contacts_deleted_more_than_thirty_days_ago_and_nothing_else,
    an_expired_merge_forgets_its_snapshots_and_the_merged_contacts_data_but_still_redirects,
);

fn id(name: &str) -> String {
    name.trim_start_matches("contacts/").to_owned()
}

/// One number from the database (`SELECT … AS n`).
async fn count(database: &TestDatabase, sql: &str, values: Vec<Value>) -> i64 {
    let db = Db::connect(database.url()).await.expect("connect");
    let row = db
        .conn()
        .query_one_raw(statement(db.conn().get_database_backend(), sql, values))
        .await
        .expect("query")
        .expect("a row");
    let n: i64 = row.try_get("", "n").expect("n");
    db.close().await;
    n
}

async fn execute(database: &TestDatabase, sql: &str, values: Vec<Value>) {
    let db = Db::connect(database.url()).await.expect("connect");
    db.conn().execute_raw(statement(db.conn().get_database_backend(), sql, values)).await.expect("execute");
    db.close().await;
}

async fn purge(client: &mut Client, name: &str, etag: &str) -> Result<PurgeContactResponse, tonic::Status> {
    client.purge_contact(PurgeContactRequest { name: name.into(), etag: etag.into() }).await.map(|r| r.into_inner())
}

async fn merge(client: &mut Client, survivor: &str, merged: &str) {
    client
        .merge_contacts(MergeContactsRequest { survivor: survivor.into(), merged: merged.into(), ..Default::default() })
        .ok()
        .await;
}

async fn assess(client: &mut Client, party: &str) -> Assessment {
    let assessment = Assessment {
        party: party.into(),
        assessment_date: Some(Date { year: 2026, month: 11, day: 2 }),
        influence: Level::High as i32,
        interest: Level::High as i32,
        impact: Level::Low as i32,
        comment: "Blocks every budget line".into(),
        ..Default::default()
    };
    let request = CreateAssessmentRequest { assessment: Some(assessment), request_id: String::new() };
    client.create_assessment(request).ok().await.assessment.expect("assessment")
}

fn reason(status: &tonic::Status) -> String {
    status.get_error_details().error_info().map(|info| info.reason.clone()).unwrap_or_default()
}

async fn purge_contact_erases_the_contact_its_merged_contacts_and_assessments_and_empties_their_changes(
    engine: Engine,
) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let kept = create_contact(c, "Kept Person").await;
    let erased = create_contact(c, "Erased Person").await;
    let twin = create_contact(c, "Erased Twin").await;
    let assessment = assess(c, &erased.name).await;
    merge(c, &erased.name, &twin.name).await;

    let purged = purge(c, &erased.name, "").await.expect("purged");
    assert_eq!(purged.purged_names, [erased.name.clone(), twin.name.clone()]);
    assert_eq!(purged.purged_assessments, 1);

    for name in [&erased.name, &twin.name] {
        let status = c.get_contact(GetContactRequest { name: name.clone() }).err().await;
        assert_eq!(status.code(), Code::NotFound, "{name}: {status:?}");
        let history = ListContactHistoryRequest { name: name.clone(), ..Default::default() };
        assert_eq!(c.list_contact_history(history).err().await.code(), Code::NotFound);
    }
    assert_eq!(purge(c, &erased.name, "").await.unwrap_err().code(), Code::NotFound, "purged already");
    assert_eq!(
        c.get_contact(GetContactRequest { name: kept.name.clone() }).ok().await.contact.unwrap().name,
        kept.name
    );
    let found = SearchContactsRequest { query: "Erased".into(), ..Default::default() };
    assert!(c.search_contacts(found).ok().await.results.is_empty(), "gone from search");

    // Nothing of them is left in the tables, and their changes carry no data, only their audit record.
    let ids: Vec<Value> = [&erased.name, &twin.name].iter().map(|n| id(n).into()).collect();
    let names: Vec<Value> = [&erased.name, &twin.name, &assessment.name].iter().map(|n| (*n).clone().into()).collect();
    let db = &app.database;
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM contacts WHERE id IN (?, ?)", ids.clone()).await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM contact_keys WHERE contact_id IN (?, ?)", ids.clone()).await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM contact_terms WHERE contact_id IN (?, ?)", ids.clone()).await, 0);
    let merges = "SELECT COUNT(*) AS n FROM merges WHERE survivor_id IN (?, ?) OR merged_id IN (?, ?)";
    assert_eq!(count(db, merges, [ids.clone(), ids].concat()).await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM assessments", vec![]).await, 0);
    let with_data = "SELECT COUNT(*) AS n FROM changes WHERE resource_name IN (?, ?, ?) AND LENGTH(payload) > 0";
    assert_eq!(count(db, with_data, names.clone()).await, 0, "every change of them emptied");
    let all = "SELECT COUNT(*) AS n FROM changes WHERE resource_name IN (?, ?, ?)";
    assert!(count(db, all, names).await >= 6, "their changes stay, for the audit");
    let kept_data = "SELECT COUNT(*) AS n FROM changes WHERE resource_name = ? AND LENGTH(payload) > 0";
    assert_eq!(count(db, kept_data, vec![kept.name.clone().into()]).await, 1, "others untouched");

    // The feed ends with a payload-free tombstone for each.
    let feed = c.feed.list_changes(ListChangesRequest { page_size: Some(1000), ..Default::default() }).ok().await;
    let purges: Vec<_> = feed.changes.iter().filter(|change| change.kind == ChangeKind::Purged as i32).collect();
    let purged_names: Vec<&str> = purges.iter().map(|change| change.resource_name.as_str()).collect();
    assert_eq!(purged_names, [erased.name.as_str(), twin.name.as_str(), assessment.name.as_str()]);
    for change in purges {
        let resource = change.resource.as_ref().expect("typed");
        assert!(resource.value.is_empty() && !resource.type_url.is_empty(), "{change:?}");
    }
    let email = erased.email.as_bytes();
    let leaked = feed
        .changes
        .iter()
        .filter_map(|change| change.resource.as_ref())
        .any(|any| any.value.windows(email.len()).any(|window| window == email));
    assert!(!leaked, "the erased email address is nowhere in the feed");
}

async fn purge_contact_is_refused_for_a_merged_or_linked_contact_or_a_stale_etag(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let bad = purge(c, "people/1", "").await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let unknown = purge(c, "contacts/01a20000-0000-7000-8000-00000000dead", "").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let survivor = create_contact(c, "Survivor").await;
    let merged = create_contact(c, "Merged Away").await;
    merge(c, &survivor.name, &merged.name).await;
    assert_eq!(reason(&purge(c, &merged.name, "").await.unwrap_err()), "CONTACT_MERGED");

    let stale = create_contact(c, "Stale").await;
    let update = Contact { name: stale.name.clone(), notes: "edited".into(), ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["notes".into()] };
    c.update_contact(UpdateContactRequest { contact: Some(update), update_mask: Some(mask) }).ok().await;
    assert_eq!(purge(c, &stale.name, &stale.etag).await.unwrap_err().code(), Code::Aborted);

    let organization = crate::organizations::create_organization(c, "Ministry").await;
    let affiliation = Affiliation {
        contact: stale.name.clone(),
        organization: organization.name.clone(),
        role: "Advisor".into(),
        ..Default::default()
    };
    let request = CreateAffiliationRequest { affiliation: Some(affiliation), request_id: String::new() };
    c.create_affiliation(request).ok().await;
    assert_eq!(reason(&purge(c, &stale.name, "").await.unwrap_err()), "CONTACT_HAS_LINKS");
    let still = c.get_contact(GetContactRequest { name: stale.name.clone() }).ok().await.contact.unwrap();
    assert_eq!(still.notes, "edited", "a refused purge changes nothing");
}

async fn the_purge_job_erases_contacts_deleted_more_than_thirty_days_ago_and_nothing_else(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let old = create_contact(c, "Deleted Long Ago").await;
    let recent = create_contact(c, "Deleted Yesterday").await;
    let live = create_contact(c, "Still Here").await;
    for name in [&old.name, &recent.name] {
        c.delete_contact(DeleteContactRequest { name: name.clone(), etag: String::new() }).ok().await;
    }
    let long_ago = liaison_runtime::api::time::now() - chrono::TimeDelta::days(31);
    execute(
        &app.database,
        "UPDATE contacts SET delete_time = ? WHERE id = ?",
        vec![long_ago.into(), id(&old.name).into()],
    )
    .await;

    let db = Db::connect(app.database.url()).await.expect("connect");
    let store = Store::new(db.clone());
    if engine == Engine::Postgres {
        // Another replica purging now: this one leaves the work to it.
        let other = db.begin_write().await.expect("begin");
        assert!(liaison_runtime::db::jobs::claim(&*other, "contact purge").await.expect("claim"));
        let nothing = store.purge_expired(liaison_runtime::api::time::now()).await.expect("purge");
        assert!(nothing.contacts.is_empty(), "{nothing:?}");
        drop(other);
    }
    assert_eq!(store.purge_all_expired(liaison_runtime::api::time::now()).await.expect("purge"), 1);
    assert_eq!(store.purge_all_expired(liaison_runtime::api::time::now()).await.expect("again"), 0);
    db.close().await;

    let c = &mut app.client;
    assert_eq!(c.get_contact(GetContactRequest { name: old.name.clone() }).err().await.code(), Code::NotFound);
    let recent = c.get_contact(GetContactRequest { name: recent.name.clone() }).ok().await.contact.unwrap();
    assert!(recent.delete_time.is_some(), "deleted yesterday: still restorable");
    c.get_contact(GetContactRequest { name: live.name.clone() }).ok().await;
}

async fn an_expired_merge_forgets_its_snapshots_and_the_merged_contacts_data_but_still_redirects(engine: Engine) {
    let mut app = app(engine).await;
    let c = &mut app.client;
    let survivor = create_contact(c, "Survivor Person").await;
    let merged = create_contact(c, "Merged Person").await;
    let fresh = create_contact(c, "Fresh Merge").await;
    merge(c, &survivor.name, &merged.name).await;
    merge(c, &survivor.name, &fresh.name).await;
    let long_ago = liaison_runtime::api::time::now() - chrono::TimeDelta::days(31);
    execute(
        &app.database,
        "UPDATE merges SET merge_time = ? WHERE merged_id = ?",
        vec![long_ago.into(), id(&merged.name).into()],
    )
    .await;

    let db = Db::connect(app.database.url()).await.expect("connect");
    assert_eq!(Store::new(db.clone()).expire_merges(liaison_runtime::api::time::now()).await.expect("expire"), 1);
    db.close().await;

    let database = &app.database;
    let snapshots =
        "SELECT COUNT(*) AS n FROM merges WHERE merged_id = ? AND survivor_before = '' AND merged_before = ''";
    assert_eq!(count(database, snapshots, vec![id(&merged.name).into()]).await, 1);
    assert_eq!(count(database, snapshots, vec![id(&fresh.name).into()]).await, 0, "a recent merge keeps them");
    let data = "SELECT COUNT(*) AS n FROM contacts WHERE id = ? AND display_name = '' AND emails = '[]'";
    assert_eq!(count(database, data, vec![id(&merged.name).into()]).await, 1);
    let c = &mut app.client;
    let read = c.get_contact(GetContactRequest { name: merged.name.clone() }).ok().await.contact.unwrap();
    assert_eq!(read.name, survivor.name, "the merged name still leads to the survivor");
    let refused = c.unmerge_contacts(UnmergeContactsRequest { merged: merged.name.clone() }).err().await;
    assert_eq!(reason(&refused), "UNMERGE_EXPIRED", "{refused:?}");
}
