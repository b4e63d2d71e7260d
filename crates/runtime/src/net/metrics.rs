//! Prometheus metrics, served on `/metrics` of a separate address when `LIAISON_METRICS_ADDR` is set:
//!
//! - `liaison_rpc_requests_total{service,method,code}` — RPCs handled, by gRPC status code
//! - `liaison_rpc_errors_total{service,method,code}` — the same, for codes other than OK
//! - `liaison_rpc_duration_seconds{service,method}` — latency histogram
//! - `liaison_db_pool_connections{service,state}` — database pool connections, `idle` and `in_use`
//! - `liaison_feed_lag{source}` — changes a feed source still had to deliver (reporting)
//! - `liaison_feed_applied_total{source}` — changes applied from each source (reporting)
//!
//! Without the variable no recorder is installed and recording costs one atomic load.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);

const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Why the `/metrics` endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {addr}: {source}")]
pub struct MetricsError {
    addr: SocketAddr,
    #[source]
    source: metrics_exporter_prometheus::BuildError,
}

/// Starts the `/metrics` endpoint on `addr` (inside a Tokio runtime).
pub fn serve(addr: SocketAddr) -> Result<(), MetricsError> {
    let failed = |source| MetricsError { addr, source };
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("liaison_rpc_duration_seconds".into()),
            LATENCY_BUCKETS,
        )
        .map_err(failed)?
        .install()
        .map_err(failed)?;
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Times one RPC.
pub(crate) struct RpcTimer {
    started: Option<(Instant, String, String)>,
}

impl RpcTimer {
    pub(crate) fn start(service: &str, method: &str) -> Self {
        Self { started: enabled().then(|| (Instant::now(), service.to_owned(), method.to_owned())) }
    }

    pub(crate) fn finish(self, code: i64) {
        let Some((started, service, method)) = self.started else { return };
        let code = code.to_string();
        metrics::histogram!("liaison_rpc_duration_seconds", "service" => service.clone(), "method" => method.clone())
            .record(started.elapsed().as_secs_f64());
        if code != "0" {
            metrics::counter!("liaison_rpc_errors_total", "service" => service.clone(), "method" => method.clone(), "code" => code.clone())
                .increment(1);
        }
        metrics::counter!("liaison_rpc_requests_total", "service" => service, "method" => method, "code" => code)
            .increment(1);
    }
}

/// Records the database pool of `service`.
pub fn record_pool(service: &'static str, size: u32, idle: usize) {
    if enabled() {
        metrics::gauge!("liaison_db_pool_connections", "service" => service, "state" => "idle").set(idle as f64);
        metrics::gauge!("liaison_db_pool_connections", "service" => service, "state" => "in_use")
            .set(size.saturating_sub(idle as u32) as f64);
    }
}

/// Records how far behind a followed feed is.
pub fn record_feed(source: &'static str, lag: i64, applied: u64) {
    if enabled() {
        metrics::gauge!("liaison_feed_lag", "source" => source).set(lag as f64);
        metrics::counter!("liaison_feed_applied_total", "source" => source).increment(applied);
    }
}
