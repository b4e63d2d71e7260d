//! The limits every server applies (`net::limits`, `docs/limits.md`), seen from a contacts server: what one
//! message, one caller, one connection or one call may cost it. They do not depend on the database: SQLite only.
use crate::helpers::*;
use liaison_contacts::Contacts;
use liaison_proto::contacts::v1::*;
use liaison_runtime::config::Peers;
use liaison_runtime::net::limits::{Limits, MAX_REQUEST_BYTES};
use liaison_testkit::{Call, Engine, TestDatabase, spawn_limited};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tonic::Code;
use tonic_types::StatusExt;

async fn limited(limits: Limits) -> (Client, liaison_runtime::service::Running, TestDatabase) {
    let database = TestDatabase::new(Engine::Sqlite).await.expect("database");
    let server = spawn_limited::<Contacts>(&database, Peers::default(), limits).await;
    (Client::new(&server), server, database)
}

#[tokio::test]
async fn a_request_over_the_message_limit_is_refused_from_its_length_and_the_server_answers_the_next() {
    let mut app = app(Engine::Sqlite).await;
    let mut huge = contact("Huge");
    huge.notes = "x".repeat(MAX_REQUEST_BYTES + 1);
    let request = CreateContactRequest { contact: Some(huge), request_id: String::new() };
    let status = app.client.create_contact(request).err().await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains(&MAX_REQUEST_BYTES.to_string()), "{}", status.message());
    let listed = app.client.list_contacts(ListContactsRequest::default()).ok().await;
    assert!(listed.contacts.is_empty(), "nothing was written");
}

#[tokio::test]
async fn an_update_mask_of_300_000_paths_is_one_violation_answered_at_once() {
    let mut app = app(Engine::Sqlite).await;
    let created = create_contact(&mut app.client, "Masked").await;
    let paths = vec!["x".to_owned(); 300_000];
    let request = UpdateContactRequest {
        contact: Some(Contact { name: created.name.clone(), ..contact("Renamed") }),
        update_mask: Some(prost_types::FieldMask { paths }),
    };
    let started = Instant::now();
    let status = app.client.update_contact(request).err().await;
    let took = started.elapsed();
    assert_eq!(bad_fields(&status), ["update_mask.paths"], "one violation for the mask, none per path");
    // A generous bound, far from the seconds the per-path loop took: the answer is one comparison away.
    assert!(took < Duration::from_secs(5), "{took:?}");
    let read = app.client.get_contact(GetContactRequest { name: created.name }).ok().await;
    assert_eq!(read.contact.map(|c| c.display_name).as_deref(), Some("Masked"), "nothing was written");
}

#[tokio::test]
async fn a_caller_over_its_rate_is_refused_with_resource_exhausted_and_when_to_retry() {
    // A burst of 1,000 calls, then one call per second: call 1,001 comes before its token.
    let (mut client, _server, _database) =
        limited(Limits { rate_per_second: 1, burst: 1_000, ..Limits::default() }).await;
    let started = Instant::now();
    let mut admitted = 0;
    let mut refused = Vec::new();
    for _ in 0..1_010 {
        match client.list_contacts(ListContactsRequest { page_size: Some(1), ..Default::default() }).await {
            Ok(_) => admitted += 1,
            Err(status) => refused.push(status),
        }
    }
    // Tokens come back at one per second: calls made over `elapsed` seconds may add as many.
    let refills = started.elapsed().as_secs() as usize + 1;
    assert!((1_000..=1_000 + refills).contains(&admitted), "{admitted} admitted in {:?}", started.elapsed());
    assert!(!refused.is_empty());
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let details = status.get_error_details();
        let retry = details.retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
        assert!(retry > Duration::ZERO && retry <= Duration::from_secs(1), "{retry:?}");
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("RATE_LIMITED"));
    }
    // Health is never limited: a busy caller cannot make probes fail.
    let mut health = tonic_health::pb::health_client::HealthClient::new(liaison_testkit::channel(&_server));
    let check = tonic_health::pb::HealthCheckRequest { service: String::new() };
    health.check(check).await.expect("health answers");
}

/// Reads from `stream` until it is closed (`Ok(true)`), or gives up after `wait` (`Ok(false)`).
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read).await.is_ok()
}

#[tokio::test]
async fn a_connection_that_never_sends_its_preface_is_closed_at_the_deadline() {
    let (_client, server, _database) =
        limited(Limits { preface_timeout: Duration::from_millis(300), ..Limits::default() }).await;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await, "the server closed the silent connection");
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}: not before the deadline", started.elapsed());
}

#[tokio::test]
async fn connections_over_the_maximum_are_closed_at_once_and_served_again_when_one_ends() {
    let (_client, server, _database) = limited(Limits { max_connections: 2, ..Limits::default() }).await;
    let mut first = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let _second = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let mut third = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed_within(&mut third, Duration::from_secs(2)).await, "the third connection was closed");
    assert!(!closed_within(&mut first, Duration::from_millis(300)).await, "the first stays open");
    drop(first);
    // The server notices the close when it next reads; a new client is served once it has.
    let mut client = Client::new(&server);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client.list_contacts(ListContactsRequest::default()).await {
            Ok(_) => break,
            Err(status) if Instant::now() < deadline => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                client = Client::new(&server);
            }
            Err(status) => panic!("never served again: {status:?}"),
        }
    }
}

#[tokio::test]
async fn change_streams_over_the_maximum_are_refused_and_reads_still_answer() {
    use liaison_proto::common::v1::WatchChangesRequest;
    let (mut client, server, _database) = limited(Limits { max_watch_streams: 100, ..Limits::default() }).await;
    // Three connections of 100 streams each (a connection carries at most 256 at once).
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let feed = liaison_testkit::feed(&server);
        for _ in 0..100 {
            let mut feed = feed.clone();
            attempts.push(tokio::spawn(async move { feed.watch_changes(WatchChangesRequest::default()).await }));
        }
    }
    let mut open = Vec::new();
    let mut refused = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(stream) => open.push(stream.into_inner()),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.get_error_details().retry_info().is_some());
                refused += 1;
            }
        }
    }
    assert_eq!((open.len(), refused), (100, 200));
    let started = Instant::now();
    client.list_contacts(ListContactsRequest::default()).ok().await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // A stream that ends gives its place back.
    open.truncate(99);
    let mut feed = liaison_testkit::feed(&server);
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(status) = feed.watch_changes(WatchChangesRequest::default()).await {
        assert!(Instant::now() < deadline, "never admitted again: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_postgresql_connection_ends_runaway_statements_and_idle_transactions() {
    use liaison_runtime::sea_orm::{ConnectionTrait, Statement};
    // Outside CI without PostgreSQL this is skipped; under CI=true its absence fails (TestDatabase::new).
    let Some(database) = TestDatabase::new(Engine::Postgres).await else { return };
    let db = liaison_runtime::db::Db::connect(database.url()).await.expect("connect");
    for setting in ["statement_timeout", "idle_in_transaction_session_timeout"] {
        let show = Statement::from_string(db.conn().get_database_backend(), format!("SHOW {setting}"));
        let row = db.conn().query_one_raw(show).await.expect("show").expect("a row");
        let value: String = row.try_get("", setting).expect("value");
        assert_eq!(value, "1min", "{setting}");
    }
    db.close().await;
}

#[tokio::test]
async fn a_statement_cancelled_by_its_timeout_is_deadline_exceeded_not_internal() {
    use liaison_runtime::sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let Some(database) = TestDatabase::new(Engine::Postgres).await else { return };
    let db = liaison_runtime::db::Db::connect(database.url()).await.expect("connect");
    // One transaction, one connection: the lowered timeout applies to the statement that follows.
    let txn = db.conn().begin().await.expect("begin");
    let backend = txn.get_database_backend();
    txn.execute_raw(Statement::from_string(backend, "SET LOCAL statement_timeout = '50ms'")).await.expect("set");
    let started = Instant::now();
    let error = txn.execute_raw(Statement::from_string(backend, "SELECT pg_sleep(5)")).await.expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(4));
    let error = liaison_runtime::db::db_error(error);
    assert!(matches!(error, liaison_runtime::Error::DeadlineExceeded { .. }), "{error:?}");
    drop(txn);
    db.close().await;
}

#[tokio::test]
async fn search_and_duplicate_results_are_kept_between_pages_and_never_outlive_a_write() {
    let mut app = app(Engine::Sqlite).await;
    let c = &mut app.client;
    let person =
        |name: &str, email: &str| Contact { display_name: name.into(), email: email.into(), ..Default::default() };
    for (name, email) in [("Ada Okafor", "ada@example.org"), ("Ada Okafor", "ada@example.org")] {
        c.create_contact(CreateContactRequest { contact: Some(person(name, email)), request_id: String::new() })
            .ok()
            .await;
    }
    let search = |c: &mut Client| {
        let mut c = c.clone();
        async move {
            let request = SearchContactsRequest { query: "okafor".into(), ..Default::default() };
            c.search_contacts(request).ok().await.results.len()
        }
    };
    let duplicates = |c: &mut Client| {
        let mut c = c.clone();
        async move { c.find_duplicate_contacts(FindDuplicateContactsRequest::default()).ok().await.pairs.len() }
    };
    assert_eq!((search(c).await, duplicates(c).await), (2, 1));
    assert_eq!((search(c).await, duplicates(c).await), (2, 1), "the same answers from the kept results");
    c.create_contact(CreateContactRequest {
        contact: Some(person("Ada Okafor", "ada@example.org")),
        request_id: String::new(),
    })
    .ok()
    .await;
    assert_eq!((search(c).await, duplicates(c).await), (3, 3), "a write is seen at the next read");
}

#[tokio::test]
async fn a_database_error_keeps_the_values_it_was_about_out_of_its_message() {
    use liaison_runtime::sea_orm::ConnectionTrait;
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(database) = TestDatabase::new(engine).await else { continue };
        let db = liaison_runtime::db::Db::connect(database.url()).await.expect("connect");
        let backend = db.conn().get_database_backend();
        // PostgreSQL writes a bad value into its message (`invalid input syntax for type uuid: "…"`).
        let sql = match engine {
            Engine::Postgres => "SELECT CAST(? AS uuid)",
            Engine::Sqlite => "INSERT INTO no_such_table VALUES (?)",
        };
        let bound = "ada.lovelace@example.org";
        let stmt = liaison_runtime::db::sql::statement(backend, sql, [bound.into()]);
        let error = db.conn().execute_raw(stmt).await.expect_err("refused");
        assert!(error.to_string().contains(bound) || engine == Engine::Sqlite, "the raw error has it: {error}");
        let error = liaison_runtime::db::db_error(error);
        let text = error.to_string();
        assert!(!text.contains(bound), "{text}");
        if engine == Engine::Postgres {
            assert!(text.contains("SQLSTATE 22P02"), "says what went wrong: {text}");
        } else {
            assert!(text.contains("no_such_table"), "SQLite's messages, which name no values, stay whole: {text}");
        }
        db.close().await;
    }
}

#[tokio::test]
async fn pages_searches_and_export_chunks_of_large_contacts_stay_within_their_bytes() {
    use prost::Message;
    let mut app = app(Engine::Sqlite).await;
    // 120 contacts of 30 KB of notes: 3.6 MB, more than one page may carry (3 MiB) and near the 4 MiB answer limit.
    let notes = "€".repeat(10_000);
    let mut created = Vec::new();
    for i in 0..120 {
        let large = Contact { notes: notes.clone(), ..contact(&format!("Large Person {i:03}")) };
        let request = CreateContactRequest { contact: Some(large), request_id: String::new() };
        created.push(app.client.create_contact(request).ok().await.contact.unwrap().name);
    }
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let request = ListContactsRequest { page_size: Some(1000), page_token: token, ..Default::default() };
        let page = app.client.list_contacts(request).ok().await;
        assert!(page.encoded_len() <= 3 * 1024 * 1024 + 1024, "{} bytes", page.encoded_len());
        pages += 1;
        listed.extend(page.contacts.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, listed), (2, created.clone()), "cut by bytes, nothing lost or repeated");

    let (mut found, mut token) = (0, String::new());
    loop {
        let request = SearchContactsRequest { query: "large".into(), page_size: Some(1000), page_token: token };
        let page = app.client.search_contacts(request).ok().await;
        assert!(page.encoded_len() <= 3 * 1024 * 1024 + 1024, "{} bytes", page.encoded_len());
        found += page.results.len();
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(found, 120);

    let (mut changes, mut after, mut pages) = (0, 0, 0);
    loop {
        let request = liaison_proto::common::v1::ListChangesRequest { after_sequence: after, page_size: Some(1000) };
        let page = app.client.feed.list_changes(request).ok().await;
        assert!(page.encoded_len() <= 3 * 1024 * 1024 + 1024, "{} bytes", page.encoded_len());
        let Some(last) = page.changes.last() else { break };
        pages += 1;
        changes += page.changes.len();
        after = last.sequence;
        if page.remaining_count == 0 {
            break;
        }
        assert!(page.remaining_count > 0, "a page cut by its bytes counts what it left out");
    }
    assert_eq!((changes, pages), (120, 2), "every change once, in two pages");

    // 60 edits of one large contact's notes: each history entry and audit event carries 60 KB (old and new).
    for i in 0..60 {
        let edited =
            Contact { name: created[0].clone(), notes: format!("{i:02}{}", &notes[6..]), ..Default::default() };
        let mask = prost_types::FieldMask { paths: vec!["notes".into()] };
        app.client.update_contact(UpdateContactRequest { contact: Some(edited), update_mask: Some(mask) }).ok().await;
    }
    let (mut entries, mut token, mut pages) = (0, String::new(), 0);
    loop {
        let request = ListContactHistoryRequest { name: created[0].clone(), page_size: Some(1000), page_token: token };
        let page = app.client.list_contact_history(request).ok().await;
        assert!(page.encoded_len() <= 3 * 1024 * 1024 + 1024, "{} bytes", page.encoded_len());
        entries += page.entries.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(entries, 61, "the create and 60 edits");
    assert!(pages >= 2, "{pages} pages");
    let channel = liaison_testkit::channel(&app.server);
    let mut audit = liaison_proto::common::v1::audit_service_client::AuditServiceClient::new(channel);
    let (mut events, mut token) = (0, String::new());
    loop {
        let request = liaison_proto::common::v1::ListAuditEventsRequest {
            resource_name: created[0].clone(),
            page_size: Some(1000),
            page_token: token,
            ..Default::default()
        };
        let page = audit.list_audit_events(request).ok().await;
        assert!(page.encoded_len() <= 3 * 1024 * 1024 + 1024, "{} bytes", page.encoded_len());
        events += page.events.len();
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(events, 61);

    for format in [ContactFormat::Vcard, ContactFormat::Csv] {
        let request = ExportContactsRequest { format: format as i32, label: String::new() };
        let mut stream = app.client.export_contacts(request).ok().await;
        let (mut chunks, mut exported) = (0, 0);
        while let Some(chunk) = stream.message().await.expect("chunk") {
            assert!(chunk.data.len() <= 1024 * 1024 + 64 * 1024, "{format:?}: a chunk of {}", chunk.data.len());
            chunks += 1;
            exported += chunk.contact_count;
        }
        assert_eq!(exported, 120, "{format:?}");
        assert!(chunks >= 4, "{format:?}: {chunks} chunks");
    }
}
