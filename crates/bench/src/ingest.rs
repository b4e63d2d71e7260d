//! Reporting's ingestion rate from a backlog: the feeds of contacts, scheduling and mediation end at some
//! sequence; reporting restarts with an empty read model, and its `GetIngestionStatus` (each source's cursor and
//! changes applied) is polled until every cursor has reached its feed's end. The rate is counted from the first
//! answer after the restart to the last, so reporting's own start-up is not charged to ingestion.
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

/// Where each feed reporting follows ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backlog {
    /// Each source and the sequence of its last change.
    pub(crate) heads: Vec<(ServiceKind, i64)>,
}

impl Backlog {
    /// About how many changes the feeds hold: sequences count from 1, so this is exact unless a feed skipped some
    /// (a PostgreSQL sequence does on a rolled-back write), and then a little more.
    pub(crate) fn len(&self) -> u64 {
        self.heads.iter().map(|(_, head)| u64::try_from(*head).unwrap_or(0)).sum()
    }

    /// Whether every source's cursor has reached its feed's end.
    fn reached_by(&self, sources: &[liaison_proto::reporting::v1::SourceStatus]) -> bool {
        self.heads.iter().all(|(kind, head)| sources.iter().any(|s| s.source == kind.name() && s.cursor >= *head))
    }
}

/// The ends of the feeds reporting follows (contacts, scheduling, mediation). Read from each feed's
/// `latest_sequence`: its `remaining_count` is counted only up to 10 000.
pub(crate) async fn backlog(cluster: &Cluster) -> anyhow::Result<Backlog> {
    let mut heads = Vec::new();
    for kind in [ServiceKind::Contacts, ServiceKind::Scheduling, ServiceKind::Mediation] {
        heads.push((kind, head(&connect(&cluster.url(kind)).await?, kind).await?));
    }
    Ok(Backlog { heads })
}

async fn connect(url: &str) -> anyhow::Result<Channel> {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid URL {url}"))?
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// The sequence of the last change of the feed of `kind` (0 for an empty feed).
async fn head(channel: &Channel, kind: ServiceKind) -> anyhow::Result<i64> {
    let request = ListChangesRequest { after_sequence: 0, page_size: Some(1) };
    let page = ChangeFeedServiceClient::new(channel.clone())
        .list_changes(request)
        .await
        .with_context(|| format!("ListChanges of {kind} failed"))?
        .into_inner();
    Ok(page.latest_sequence)
}

/// Restarts reporting with an empty read model and times it catching up with `backlog`.
pub(crate) async fn measure(cluster: &mut Cluster, backlog: &Backlog, timeout: Duration) -> anyhow::Result<Ingestion> {
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
        if backlog.reached_by(&status.sources) {
            // Caught up before it could be watched: count from the process start instead (start-up included).
            let (since, applied_before) =
                if applied_before >= applied / 2 { (spawned, 0) } else { (since, applied_before) };
            let seconds = now.duration_since(since).as_secs_f64();
            let changes = applied - applied_before;
            return Ok(Ingestion {
                changes,
                seconds,
                changes_per_s: if seconds > 0.0 { changes as f64 / seconds } else { 0.0 },
                backlog: applied,
            });
        }
        if now >= deadline {
            anyhow::bail!(
                "reporting applied {applied} changes within {timeout:?} without reaching the feeds' ends {:?}; \
                 sources: {:?}",
                backlog.heads,
                status
                    .sources
                    .iter()
                    .map(|s| (&s.source, s.cursor, s.applied_count, &s.last_error))
                    .collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::reporting::v1::SourceStatus;

    #[test]
    fn the_backlog_is_reached_when_every_cursor_is_at_its_feeds_end() {
        let backlog = Backlog { heads: vec![(ServiceKind::Contacts, 30_000), (ServiceKind::Scheduling, 0)] };
        assert_eq!(backlog.len(), 30_000, "more than the 10 000 a feed's remaining_count counts up to");
        let source = |name: &str, cursor: i64| SourceStatus { source: name.into(), cursor, ..Default::default() };
        assert!(!backlog.reached_by(&[source("contacts", 29_999), source("scheduling", 0)]));
        assert!(!backlog.reached_by(&[source("contacts", 30_000)]), "every source is needed");
        assert!(backlog.reached_by(&[source("contacts", 30_000), source("scheduling", 0), source("mediation", 5)]));
    }
}
