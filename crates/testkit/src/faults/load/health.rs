//! The four services' gRPC health, sampled while a fault test runs.
use super::*;

/// One answer of a service's health (its own name), or `None` when it did not answer.
#[derive(Debug, Clone, Copy)]
pub struct HealthSample {
    pub service: ServiceKind,
    pub at: Instant,
    pub status: Option<ServingStatus>,
}

/// The four services' health, asked every `poll` while it runs.
pub struct HealthWatch {
    stop: CancellationToken,
    task: JoinHandle<Vec<HealthSample>>,
}

impl HealthWatch {
    /// Asks the health service on each of `channels` about the service's own name every `poll` (1 s deadline).
    pub fn start(channels: &[Channel; 4], poll: Duration) -> Self {
        let stop = CancellationToken::new();
        let clients: Vec<(ServiceKind, HealthClient<Channel>)> =
            ServiceKind::ALL.iter().map(|kind| (*kind, HealthClient::new(channels[index(*kind)].clone()))).collect();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut samples = Vec::new();
                while !stop.is_cancelled() {
                    for (kind, client) in &clients {
                        let mut client = client.clone();
                        let request = with_deadline(
                            HealthCheckRequest { service: kind.grpc_service().into() },
                            Duration::from_secs(1),
                        );
                        let at = Instant::now();
                        let status = match tokio::time::timeout(Duration::from_secs(2), client.check(request)).await {
                            Ok(Ok(response)) => Some(response.into_inner().status()),
                            _ => None,
                        };
                        samples.push(HealthSample { service: *kind, at, status });
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                samples
            }
        });
        Self { stop, task }
    }

    /// Stops asking; every answer, in order.
    pub async fn finish(self) -> Vec<HealthSample> {
        self.stop.cancel();
        self.task.await.expect("the health watch panicked")
    }
}
