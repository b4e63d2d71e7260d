//! One-statement creates on PostgreSQL are written in groups under load (`liaison_runtime::db::group_commit`):
//! every create still gets its own outcome — written, replayed from its idempotency key, or its own error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use liaison_runtime::api::validate::RequestId;
use liaison_runtime::async_trait::async_trait;
use liaison_runtime::db::Db;
use liaison_runtime::db::single_trip::{self, Claim, Created, Insert};
use liaison_runtime::sea_orm_migration::{MigrationTrait, MigratorTrait};
use liaison_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

struct SharedTables;

#[async_trait]
impl MigratorTrait for SharedTables {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(liaison_runtime::db::migration::CreateSharedTables)]
    }
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(db: &Db, sql: &str) -> i64 {
    let statement = Statement::from_string(sea_orm::DbBackend::Postgres, sql);
    Count::find_by_statement(statement).one(db.conn()).await.unwrap().unwrap().n
}

/// The test database with the shared tables and the `items` and `item_tags` that [`create`] writes.
async fn items_db(database: &TestDatabase) -> Db {
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate::<SharedTables>().await.unwrap();
    db.conn()
        .execute_unprepared(
            "CREATE TABLE items (name TEXT PRIMARY KEY, amount BIGINT NOT NULL CHECK (amount >= 0)); \
             CREATE TABLE item_tags (item TEXT NOT NULL, tag TEXT NOT NULL)",
        )
        .await
        .unwrap();
    db
}

/// One create: a row of `items` (a negative `amount` breaks its CHECK) and a row of `item_tags`.
async fn create(
    db: Db,
    index: usize,
    request_id: Option<String>,
    amount: i64,
) -> Result<Created, liaison_runtime::Error> {
    let name = format!("items/{index}");
    let request_id = request_id.map(|id| RequestId::parse_optional("request_id", &id).unwrap().unwrap());
    let claim = request_id.as_ref().map(|request_id| Claim {
        method: "CreateItem",
        request_id,
        fingerprint: "same-request",
        resource_name: &name,
    });
    let inserts = vec![
        Insert::new("INSERT INTO items (name, amount) VALUES (?, ?)", vec![name.clone().into(), amount.into()]),
        Insert::new(
            "INSERT INTO item_tags (item, tag) VALUES (?, ?), (?, ?)",
            vec![name.clone().into(), "a".into(), name.clone().into(), "b".into()],
        ),
    ];
    single_trip::create(&db, claim, inserts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_are_grouped_and_each_gets_its_own_outcome() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let db = items_db(&database).await;

    // 0..80: pairs share a request id (one writes, its twin replays it); from 80 on, every fourth create breaks
    // the CHECK constraint (with a request id of its own) and the others have no request id, so that groups
    // mix good and bad creates.
    let bad = |i: usize| i >= 80 && i % 4 == 3;
    let creates = (0..120).map(|i| {
        let request_id = match i {
            0..80 => Some(format!("pair-{}", i / 2)),
            _ if bad(i) => Some(format!("bad-{i}")),
            _ => None,
        };
        let amount = if bad(i) { -1 } else { i as i64 };
        tokio::spawn(create(db.clone(), i, request_id, amount))
    });
    let outcomes: Vec<_> = futures::future::join_all(creates).await.into_iter().map(|o| o.unwrap()).collect();

    assert!(db.largest_create_group() > 1, "120 concurrent creates never formed a group");
    for pair in 0..40 {
        let (a, b) = (&outcomes[2 * pair], &outcomes[2 * pair + 1]);
        let (first, second) = (format!("items/{}", 2 * pair), format!("items/{}", 2 * pair + 1));
        match (a, b) {
            (Ok(Created::Fresh), Ok(Created::Replay(of))) => assert_eq!(of, &first),
            (Ok(Created::Replay(of)), Ok(Created::Fresh)) => assert_eq!(of, &second),
            other => panic!("pair {pair}: {other:?}"),
        }
    }
    for (i, outcome) in outcomes.iter().enumerate().skip(80) {
        if bad(i) {
            assert!(outcome.is_err(), "create {i} broke the CHECK and must fail: {outcome:?}");
        } else {
            assert!(matches!(outcome, Ok(Created::Fresh)), "create {i}: {outcome:?}");
        }
    }
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM items").await, 40 + 30);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM item_tags").await, 2 * (40 + 30));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM idempotency_keys").await, 40, "failed creates keep no key");
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM items i JOIN idempotency_keys k ON k.resource_name = i.name").await,
        40,
        "every key names the item written under it"
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_opens_new_connections_after_its_own_were_terminated() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let db = items_db(&database).await;
    // One create after the other: the writer's two slots each open their connection.
    for index in 0..2 {
        assert!(matches!(create(db.clone(), index, None, 1).await, Ok(Created::Fresh)));
    }

    // Every other session of the database goes: the writer's connections (outside the pool) and the pool's.
    // The terminating session is a lone connection, so that "every other" is well defined.
    use sea_orm::sqlx::{self, Connection as _};
    let mut admin = sqlx::PgConnection::connect(database.url().as_str()).await.unwrap();
    let others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let terminate = format!("SELECT COUNT(pg_terminate_backend(pid)) {others}");
    let terminated: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(terminate)).fetch_one(&mut admin).await.unwrap();
    assert!(terminated >= 2, "the writer's connections were not found ({terminated} sessions)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let remaining = format!("SELECT COUNT(*) {others}");
    while sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(remaining.as_str())).fetch_one(&mut admin).await.unwrap() > 0
    {
        assert!(std::time::Instant::now() < deadline, "the terminated sessions did not end");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Each slot's next create meets its dead connection: it is told the database is unavailable (retryable) and
    // writes nothing; the slot's next group opens a new connection.
    let mut outcomes = Vec::new();
    for index in 2..8 {
        outcomes.push(create(db.clone(), index, None, 1).await);
    }
    let unavailable = outcomes.iter().filter(|o| matches!(o, Err(liaison_runtime::Error::Unavailable { .. }))).count();
    let fresh = outcomes.iter().filter(|o| matches!(o, Ok(Created::Fresh))).count();
    assert_eq!((unavailable, fresh), (2, 4), "{outcomes:?}");
    assert!(outcomes[2..].iter().all(|o| matches!(o, Ok(Created::Fresh))), "{outcomes:?}");
    let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items").fetch_one(&mut admin).await.unwrap();
    assert_eq!(items, 2 + 4, "a failed create wrote its row");
    admin.close().await.unwrap();
}
