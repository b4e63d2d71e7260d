//! Reporting's ingestion rate from a backlog: the feeds of contacts, scheduling and mediation hold `backlog`
//! changes; reporting restarts with an empty read model, and its `GetIngestionStatus` (changes applied per
//! source) is polled until it has applied them all. The rate is counted from the first answer after the restart
//! to the last, so reporting's own start-up is not charged to ingestion.
use crate::cluster::Cluster;
use crate::report::Ingestion;
use anyhow::Context;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_proto::reporting::v1::GetIngestionStatusRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_runtime::config::ServiceKind;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// How often the read model's progress is asked.
const POLL: Duration = Duration::from_millis(10);

/// Changes in the feeds reporting follows (contacts, scheduling, mediation).
pub(crate) async fn backlog(cluster: &Cluster) -> anyhow::Result<u64> {
    let mut total = 0;
    for kind in [ServiceKind::Contacts, ServiceKind::Scheduling, ServiceKind::Mediation] {
        total += feed_length(&connect(&cluster.url(kind)).await?, kind).await?;
    }
    Ok(total)
}

async fn connect(url: &str) -> anyhow::Result<Channel> {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid URL {url}"))?
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// How many changes the feed of `kind` holds: the first page of one and what remains after it.
async fn feed_length(channel: &Channel, kind: ServiceKind) -> anyhow::Result<u64> {
    let request = ListChangesRequest { after_sequence: 0, page_size: Some(1) };
    let page = ChangeFeedServiceClient::new(channel.clone())
        .list_changes(request)
        .await
        .with_context(|| format!("ListChanges of {kind} failed"))?
        .into_inner();
    Ok(page.changes.len() as u64 + u64::try_from(page.remaining_count).unwrap_or(0))
}

/// Restarts reporting with an empty read model and times it catching up with `backlog` changes.
pub(crate) async fn measure(cluster: &mut Cluster, backlog: u64, timeout: Duration) -> anyhow::Result<Ingestion> {
    let spawned = cluster.restart_reporting_empty().await?;
    cluster.wait_reporting().await?;
    let mut reporting = ReportingServiceClient::new(connect(&cluster.url(ServiceKind::Reporting)).await?);
    let mut first: Option<(Instant, u64)> = None;
    let deadline = Instant::now() + timeout;
    loop {
        let status = reporting
            .get_ingestion_status(GetIngestionStatusRequest {})
            .await
            .context("GetIngestionStatus failed")?
            .into_inner();
        let now = Instant::now();
        let applied: u64 = status.sources.iter().map(|s| u64::try_from(s.applied_count).unwrap_or(0)).sum();
        let (since, applied_before) = *first.get_or_insert((now, applied));
        if applied >= backlog {
            // Caught up before it could be watched: count from the process start instead (start-up included).
            let (since, applied_before) =
                if applied_before >= backlog / 2 { (spawned, 0) } else { (since, applied_before) };
            let seconds = now.duration_since(since).as_secs_f64();
            let changes = applied - applied_before;
            return Ok(Ingestion {
                changes,
                seconds,
                changes_per_s: if seconds > 0.0 { changes as f64 / seconds } else { 0.0 },
                backlog,
            });
        }
        if now >= deadline {
            anyhow::bail!(
                "reporting applied {applied} of {backlog} changes within {timeout:?}; sources: {:?}",
                status.sources.iter().map(|s| (&s.source, s.applied_count, &s.last_error)).collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}
