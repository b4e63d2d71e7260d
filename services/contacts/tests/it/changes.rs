use crate::helpers::*;
use futures::StreamExt;
use liaison_proto::common::v1::{ChangeKind, ListChangesRequest, WatchChangesRequest};
use liaison_proto::contacts::v1::*;
use liaison_runtime::db::Db;
use liaison_testkit::{Call, Engine, TestDatabase, eventually, on_both_databases};
use std::time::Duration;
use tonic::Code;

on_both_databases!(
    every_mutation_appends_one_change_in_order,
    watch_delivers_the_backlog_then_new_changes_live,
    a_server_restart_loses_no_change,
    an_unknown_cursor_is_invalid_argument,
    a_list_says_the_latest_sequence_and_a_watch_can_start_at_the_end,
    a_cursor_with_start_at_end_is_invalid_argument,
    a_change_carries_the_trace_context_of_its_request,
);

async fn every_mutation_appends_one_change_in_order(engine: Engine) {
    let mut app = app(engine).await;
    let a = create_contact(&mut app.client, "A").await;
    let b = create_contact(&mut app.client, "B").await;
    app.client.delete_contact(DeleteContactRequest { name: a.name.clone(), etag: String::new() }).await.unwrap();
    let changes = all_changes(&mut app.client).await;
    let seen: Vec<(String, i32)> = changes.iter().map(|c| (c.resource_name.clone(), c.kind)).collect();
    assert_eq!(
        seen,
        [
            (a.name.clone(), ChangeKind::Created as i32),
            (b.name.clone(), ChangeKind::Created as i32),
            (a.name.clone(), ChangeKind::Deleted as i32)
        ]
    );
    let first: Contact = decode(&changes[1]);
    assert_eq!(first, b);
    // Paging through the feed after a cursor (the sentinel of `all_changes` follows the three).
    let rest = app
        .client
        .feed
        .list_changes(ListChangesRequest { after_sequence: changes[0].sequence, page_size: Some(1) })
        .ok()
        .await;
    assert_eq!(rest.changes.len(), 1);
    assert_eq!(rest.changes[0].sequence, changes[1].sequence);
    assert_eq!(rest.remaining_count, 2);
}

fn decode<M: prost::Message + Default>(change: &liaison_proto::common::v1::Change) -> M {
    M::decode(change.resource.as_ref().unwrap().value.as_slice()).unwrap()
}

async fn watch_delivers_the_backlog_then_new_changes_live(engine: Engine) {
    let mut app = app(engine).await;
    let first = create_contact(&mut app.client, "First").await;
    let second = create_contact(&mut app.client, "Second").await;
    let cursor = all_changes(&mut app.client).await[0].sequence;
    let mut stream =
        app.client.feed.watch_changes(WatchChangesRequest { after_sequence: cursor, start_at_end: false }).ok().await;
    let backlog = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().unwrap();
    // The backlog: the second contact, then the sentinel `all_changes` wrote.
    assert_eq!(backlog.changes[0].resource_name, second.name);
    assert_eq!(backlog.changes.len(), 2);
    let third = create_contact(&mut app.client, "Third").await;
    let live = tokio::time::timeout(Duration::from_secs(2), stream.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(live.changes[0].resource_name, third.name);
    assert_ne!(first.name, third.name);
}

async fn a_server_restart_loses_no_change(engine: Engine) {
    let mut app = app(engine).await;
    for name in ["One", "Two", "Three"] {
        create_contact(&mut app.client, name).await;
    }
    let before = all_changes(&mut app.client).await;
    let mut app = app.restart().await;
    let after = all_changes(&mut app.client).await;
    assert_eq!(after.len(), 4, "three contacts and the first sentinel");
    assert_eq!(before[..], after[..3]);
    create_contact(&mut app.client, "Four").await;
    assert_eq!(all_changes(&mut app.client).await.len(), 6);
}

async fn an_unknown_cursor_is_invalid_argument(engine: Engine) {
    let mut app = app(engine).await;
    let status = app.client.feed.list_changes(ListChangesRequest { after_sequence: 999, page_size: None }).err().await;
    assert_eq!(bad_fields(&status), ["after_sequence"]);
    let status =
        app.client.feed.watch_changes(WatchChangesRequest { after_sequence: -1, start_at_end: false }).err().await;
    assert_eq!(status.code(), Code::InvalidArgument);
}

async fn a_list_says_the_latest_sequence_and_a_watch_can_start_at_the_end(engine: Engine) {
    let mut app = app(engine).await;
    let empty = app.client.feed.list_changes(ListChangesRequest::default()).ok().await;
    assert_eq!((empty.changes.len(), empty.latest_sequence), (0, 0));
    for name in ["Old one", "Old two"] {
        create_contact(&mut app.client, name).await;
    }
    let history = all_changes(&mut app.client).await;
    let page = app.client.feed.list_changes(ListChangesRequest { after_sequence: 0, page_size: Some(1) }).ok().await;
    // Two contacts and the sentinel `all_changes` wrote, which is the newest.
    assert_eq!(page.changes[0].sequence, history[0].sequence);
    assert_eq!(page.remaining_count, 2);
    let head = page.latest_sequence;
    assert!(head > history[1].sequence, "latest {head} is the sentinel's, after {:?}", history[1].sequence);

    let mut tail =
        app.client.feed.watch_changes(WatchChangesRequest { after_sequence: 0, start_at_end: true }).ok().await;
    let new = create_contact(&mut app.client, "New").await;
    let first = tokio::time::timeout(Duration::from_secs(10), tail.next()).await.unwrap().unwrap().unwrap();
    let names: Vec<&str> = first.changes.iter().map(|c| c.resource_name.as_str()).collect();
    assert_eq!(names, [new.name.as_str()], "only what happened after the watch began, none of the history");
    let after_head =
        app.client.feed.list_changes(ListChangesRequest { after_sequence: head, page_size: None }).ok().await;
    let names: Vec<&str> = after_head.changes.iter().map(|c| c.resource_name.as_str()).collect();
    assert_eq!(names, [new.name.as_str()]);
    assert_eq!(after_head.latest_sequence, after_head.changes[0].sequence);
}

async fn a_cursor_with_start_at_end_is_invalid_argument(engine: Engine) {
    let mut app = app(engine).await;
    create_contact(&mut app.client, "Someone").await;
    let cursor = all_changes(&mut app.client).await[0].sequence;
    let status =
        app.client.feed.watch_changes(WatchChangesRequest { after_sequence: cursor, start_at_end: true }).err().await;
    assert_eq!(bad_fields(&status), ["after_sequence"]);
}

async fn a_change_carries_the_trace_context_of_its_request(engine: Engine) {
    let mut app = app(engine).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut request =
        tonic::Request::new(CreateContactRequest { contact: Some(contact("Traced")), request_id: String::new() });
    request.metadata_mut().insert("traceparent", traceparent.parse().unwrap());
    app.client.create_contact(request).await.unwrap();
    let changes = all_changes(&mut app.client).await;
    // Same trace as the caller; the span is the server's own (a child of the caller's).
    let recorded = &changes[0].trace_parent;
    assert_eq!(recorded[..36], traceparent[..36], "{recorded}");
    assert_ne!(recorded[36..52], traceparent[36..52]);
}

/// The PostgreSQL gap: a transaction that took a lower sequence commits after one with a higher sequence. A
/// consumer that follows the feed while this happens must still receive both, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_late_with_a_lower_sequence_is_still_delivered() {
    let Some(database) = TestDatabase::postgres().await else {
        eprintln!("skipped: LIAISON_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = liaison_testkit::spawn::<liaison_contacts::Contacts>(&database, Default::default()).await;
    let mut client = Client::new(&server);
    let db = Db::connect(database.url()).await.unwrap();

    // The slow writer: takes its sequence first and holds its transaction open.
    let slow = db.begin_write().await.unwrap();
    let slow_resource = Contact { name: "contacts/slow".into(), ..Default::default() };
    liaison_runtime::feed::append(
        &*slow,
        "contacts/slow",
        ChangeKind::Created,
        "liaison.contacts.v1.Contact",
        &slow_resource,
    )
    .await
    .unwrap();

    // The fast writer commits a higher sequence while the slow one is open.
    let fast = create_contact(&mut client, "Fast").await;

    // A consumer follows the feed the whole time.
    let mut received = Vec::new();
    let mut cursor = 0;
    let poll = async |client: &mut Client, cursor: &mut i64, received: &mut Vec<String>| {
        let page = client.feed.list_changes(ListChangesRequest { after_sequence: *cursor, page_size: None }).ok().await;
        for change in page.changes {
            *cursor = change.sequence;
            received.push(change.resource_name);
        }
    };
    for _ in 0..5 {
        poll(&mut client, &mut cursor, &mut received).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(received.is_empty(), "nothing may be served while an older transaction is in flight: {received:?}");
    slow.commit().await.unwrap();
    let received = eventually(Duration::from_secs(5), "both changes", || {
        let mut client = client.clone();
        let mut cursor = cursor;
        let mut received = received.clone();
        async move {
            poll(&mut client, &mut cursor, &mut received).await;
            (received.len() >= 2).then_some(received)
        }
    })
    .await;
    assert_eq!(received, ["contacts/slow".to_owned(), fast.name]);
}

/// Health follows reality: NOT_SERVING while the database refuses connections, SERVING again after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_database() {
    use sea_orm::ConnectionTrait;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let Some(database) = TestDatabase::postgres().await else {
        eprintln!("skipped: LIAISON_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = liaison_testkit::spawn::<liaison_contacts::Contacts>(&database, Default::default()).await;
    let health = HealthClient::new(liaison_testkit::channel(&server));
    let status = |mut health: HealthClient<tonic::transport::Channel>| async move {
        health
            .check(HealthCheckRequest { service: "liaison.contacts.v1.ContactsService".into() })
            .await
            .map(|r| r.into_inner().status())
            .ok()
    };
    assert_eq!(status(health.clone()).await, Some(ServingStatus::Serving));
    let (admin_url, name) = database.postgres_admin().unwrap();
    let admin = sea_orm::Database::connect(admin_url).await.unwrap();
    admin.execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "NOT_SERVING", || {
        let health = health.clone();
        async move { (status(health).await == Some(ServingStatus::NotServing)).then_some(()) }
    })
    .await;
    let mut client = Client::new(&server);
    let status_of_call = client
        .get_contact(GetContactRequest { name: "contacts/01a20000-0000-7000-8000-000000000000".into() })
        .err()
        .await;
    assert_eq!(status_of_call.code(), Code::Unavailable);
    admin.execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await.unwrap();
    eventually(Duration::from_secs(10), "SERVING again", || {
        let health = health.clone();
        async move { (status(health).await == Some(ServingStatus::Serving)).then_some(()) }
    })
    .await;
    create_contact(&mut client, "After the outage").await;
}

on_both_databases!(replicas_migrating_at_once_all_succeed);

/// Replicas start together and each applies migrations: they take turns, and all start.
async fn replicas_migrating_at_once_all_succeed(engine: Engine) {
    let database = TestDatabase::new(engine).await.unwrap();
    let migrations = (0..4).map(|_| {
        let url = database.url().clone();
        async move {
            let db = Db::connect(&url).await?;
            db.migrate::<liaison_contacts::store::migration::Migrator>().await
        }
    });
    for outcome in futures::future::join_all(migrations).await {
        outcome.expect("every replica migrates");
    }
    let server = liaison_testkit::spawn::<liaison_contacts::Contacts>(&database, Default::default()).await;
    let mut client = Client::new(&server);
    create_contact(&mut client, "Migrated").await;
}
