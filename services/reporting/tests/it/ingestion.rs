use crate::cluster::Cluster;
use liaison_contacts::Contacts;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::*;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::reporting::v1::{GetDashboardRequest, GetIngestionStatusRequest};
use liaison_reporting::Reporting;
use liaison_runtime::config::Peers;
use liaison_testkit::{Call, Engine, TestDatabase, channel, eventually, on_both_databases, spawn, spawn_at};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

on_both_databases!(
    the_dashboard_counts_what_the_other_services_create,
    ingestion_status_reports_each_source,
    ingestion_catches_up_after_a_source_restarts,
    ingestion_resumes_after_its_own_restart_without_double_counting,
);

async fn the_dashboard_counts_what_the_other_services_create(engine: Engine) {
    let mut cluster = Cluster::start(engine).await;
    cluster.expect_counts(0, 0, 0, 0).await;
    let org = cluster.organization("River Trust").await;
    let a = cluster.contact("A").await;
    let b = cluster.contact("B").await;
    cluster.meeting(vec![a.clone(), b.clone()]).await;
    cluster.case(vec![a.clone(), org.clone()]).await;
    cluster.case(vec![b, org]).await;
    let took = cluster.expect_counts(1, 2, 1, 2).await;
    eprintln!("dashboard caught up {took:?} after the last write");
    cluster.contacts_client.delete_contact(DeleteContactRequest { name: a, etag: String::new() }).await.unwrap();
    cluster.expect_counts(1, 1, 1, 2).await;
    assert!(cluster.dashboard().await.update_time.is_some());
}

async fn ingestion_status_reports_each_source(engine: Engine) {
    let mut cluster = Cluster::start(engine).await;
    let a = cluster.contact("A").await;
    cluster.meeting(vec![a]).await;
    cluster.expect_counts(0, 1, 1, 0).await;
    let sources = eventually(Duration::from_secs(10), "all sources connected", || async {
        let sources = cluster.sources().await;
        sources.iter().all(|s| s.connected).then_some(sources)
    })
    .await;
    let names: Vec<&str> = sources.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(names, ["contacts", "scheduling", "mediation"]);
    assert_eq!(sources[0].applied_count, 1);
    assert!(sources[0].cursor > 0);
    assert!(sources[0].last_change_time.is_some());
    assert_eq!(sources[1].applied_count, 1);
    assert_eq!((sources[2].applied_count, sources[2].cursor), (0, 0));
    assert!(sources.iter().all(|s| s.last_error.is_empty() && s.lag == 0));
}

async fn ingestion_catches_up_after_a_source_restarts(engine: Engine) {
    let mut cluster = Cluster::start(engine).await;
    cluster.contact("Before").await;
    cluster.expect_counts(0, 1, 0, 0).await;
    // Every follower first has its stream open: on a loaded machine one may still be retrying its first
    // connection, and "stays connected" would then be a race with that retry.
    eventually(Duration::from_secs(30), "all sources connected", || async {
        cluster.sources().await.iter().all(|s| s.connected).then_some(())
    })
    .await;
    let contacts = cluster.contacts.take().unwrap();
    let addr = contacts.addr;
    contacts.stop().await.unwrap();
    let down = eventually(Duration::from_secs(10), "contacts seen as down", || async {
        let sources = cluster.sources().await;
        (!sources[0].connected && !sources[0].last_error.is_empty()).then_some(sources)
    })
    .await;
    // A category a caller may read, never the socket's or the database's own words (they are in the log).
    let categories = [
        "the contacts service is unavailable or its change stream broke",
        "the contacts service closed its change stream",
    ];
    assert!(categories.contains(&down[0].last_error.as_str()), "{:?}", down[0].last_error);
    assert!(
        down[1..].iter().all(|s| s.connected && s.last_error.is_empty()),
        "the other sources stay connected while contacts is down: {down:?}"
    );
    let restarted = spawn_at::<Contacts>(&cluster.dbs[0], Peers::default(), addr, CancellationToken::new()).await;
    cluster.contacts_client = ContactsServiceClient::new(channel(&restarted));
    cluster.contacts = Some(restarted);
    cluster.contact("After").await;
    cluster.organization("Org").await;
    cluster.expect_counts(1, 2, 0, 0).await;
    let sources = cluster.sources().await;
    assert_eq!(sources[0].applied_count, 3, "each change applied exactly once");
    assert!(sources[0].connected);
}

async fn ingestion_resumes_after_its_own_restart_without_double_counting(engine: Engine) {
    let mut cluster = Cluster::start(engine).await;
    let a = cluster.contact("A").await;
    cluster.meeting(vec![a.clone()]).await;
    cluster.expect_counts(0, 1, 1, 0).await;
    cluster.reporting.take().unwrap().stop().await.unwrap();
    let b = cluster.contact("B").await;
    cluster.meeting(vec![a, b]).await;
    cluster.organization("Org").await;
    cluster.start_reporting().await;
    cluster.expect_counts(1, 2, 2, 0).await;
    let sources = cluster.sources().await;
    assert_eq!(sources[0].applied_count, 3);
    assert_eq!(sources[1].applied_count, 2);
}

on_both_databases!(a_batch_applied_by_two_followers_is_counted_once);

/// Two followers (e.g. two replicas) racing to apply the same batch: the cursor moves only from where the batch
/// starts, so exactly one of them applies it.
async fn a_batch_applied_by_two_followers_is_counted_once(engine: Engine) {
    use liaison_proto::common::v1::{Change, ChangeKind};
    use liaison_reporting::store::Store;
    use liaison_runtime::config::ServiceKind;
    use liaison_runtime::db::Db;
    let database = TestDatabase::new(engine).await.unwrap();
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate::<liaison_reporting::store::migration::Migrator>().await.unwrap();
    let store = Store::new(db);
    store.register_source(ServiceKind::Contacts).await.unwrap();
    let batch: Vec<Change> = (1..=3)
        .map(|n| Change {
            sequence: n,
            resource_name: format!("contacts/{n}"),
            kind: ChangeKind::Created as i32,
            resource: Some(prost_types::Any {
                type_url: "type.googleapis.com/liaison.contacts.v1.Contact".into(),
                value: prost::Message::encode_to_vec(&Contact { name: format!("contacts/{n}"), ..Default::default() }),
            }),
            ..Default::default()
        })
        .collect();
    let (first, second) =
        tokio::join!(store.apply(ServiceKind::Contacts, 0, &batch), store.apply(ServiceKind::Contacts, 0, &batch));
    assert!(first.is_ok() != second.is_ok(), "exactly one applies: {first:?} {second:?}");
    let progress = store.progress(ServiceKind::Contacts).await.unwrap();
    assert_eq!((progress.cursor, progress.applied_count), (3, 3));
    assert_eq!(store.counts().await.unwrap().contacts, 3);
}

on_both_databases!(
    two_reporting_replicas_on_one_database_apply_each_change_once,
    a_rebuild_asked_of_either_replica_replays_every_feed
);

/// Whichever replica is asked, the one following each feed notices the emptied read model and replays it.
async fn a_rebuild_asked_of_either_replica_replays_every_feed(engine: Engine) {
    use liaison_proto::reporting::v1::RebuildReadModelRequest;
    let mut cluster = Cluster::start(engine).await;
    let second = spawn::<Reporting>(&cluster.dbs[3], cluster.peers()).await;
    for i in 0..5 {
        cluster.contact(&format!("P{i}")).await;
    }
    cluster.organization("Org").await;
    cluster.expect_counts(1, 5, 0, 0).await;
    for replica in [ReportingServiceClient::new(channel(&second)), cluster.reporting()] {
        let answer = replica.clone().rebuild_read_model(RebuildReadModelRequest {}).ok().await;
        assert!(answer.sources.iter().all(|s| s.applied_count == 0), "{:?}", answer.sources);
        cluster.expect_counts(1, 5, 0, 0).await;
        eventually(Duration::from_secs(15), "every change applied again, once", || {
            let mut client = replica.clone();
            async move {
                let sources =
                    client.get_ingestion_status(GetIngestionStatusRequest {}).await.ok()?.into_inner().sources;
                (sources[0].applied_count == 6).then_some(())
            }
        })
        .await;
    }
}

async fn two_reporting_replicas_on_one_database_apply_each_change_once(engine: Engine) {
    let mut cluster = Cluster::start(engine).await;
    let second = spawn::<Reporting>(&cluster.dbs[3], cluster.peers()).await;
    let second_client = ReportingServiceClient::new(channel(&second));
    let mut people = Vec::new();
    for i in 0..10 {
        people.push(cluster.contact(&format!("P{i}")).await);
    }
    cluster.meeting(people[..3].to_vec()).await;
    cluster.expect_counts(0, 10, 1, 0).await;
    // Both replicas read the same read model.
    let other = second_client.clone().get_dashboard(GetDashboardRequest::default()).ok().await;
    assert_eq!(other.dashboard.map(|d| d.contact_count), Some(10));
    let sources = cluster.sources().await;
    assert_eq!((sources[0].applied_count, sources[1].applied_count), (10, 1), "no change applied twice");
    if engine == Engine::Postgres {
        // Exactly one replica follows each feed; the other stands by.
        let theirs = second_client.clone().get_ingestion_status(GetIngestionStatusRequest {}).ok().await;
        for (mine, theirs) in sources.iter().zip(theirs.sources) {
            assert!(mine.connected != theirs.connected, "{mine:?} / {theirs:?}");
        }
    }
    // The follower going away hands the feeds to the other replica.
    cluster.reporting.take().unwrap().stop().await.unwrap();
    cluster.contact("After failover").await;
    eventually(Duration::from_secs(15), "the standby to take over", || {
        let mut client = second_client.clone();
        async move {
            let d = client.get_dashboard(GetDashboardRequest::default()).await.ok()?.into_inner().dashboard?;
            (d.contact_count == 11).then_some(())
        }
    })
    .await;
    let sources = second_client.clone().get_ingestion_status(GetIngestionStatusRequest {}).ok().await;
    assert_eq!(sources.sources[0].applied_count, 11);
}
