//! Prometheus metrics, served on `/metrics` of a separate address when `LIAISON_METRICS_ADDR` is set:
//!
//! - `liaison_rpc_requests_total{service,method,code}` — RPCs handled, by gRPC status code
//! - `liaison_rpc_errors_total{service,method,code}` — the same, for codes other than OK
//! - `liaison_rpc_duration_seconds{service,method}` — latency histogram
//! - `liaison_db_pool_connections{service,state}` — database pool connections, `idle` and `in_use`
//! - `liaison_feed_lag{source}` — changes a feed source still had to deliver (reporting)
//! - `liaison_feed_applied_total{source}` — changes applied from each source (reporting)
//! - `liaison_runtime_alive_tasks` — Tokio tasks alive in the process's runtime (a leak shows as growth)
//! - `liaison_process_open_fds` — the process's open file descriptors (Linux only: from `/proc/self/fd`)
//!
//! The last two are sampled every [`PROCESS_SAMPLE`] by a task of their own (the exporter has no hook to read
//! them when scraped), so a scrape sees them at most that old.
//!
//! A path no server serves is labelled `service="unknown", method="unknown"`; a streaming call is recorded when
//! its stream ends. Without the variable no recorder is installed and recording costs one atomic load.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// How often the process gauges (`liaison_runtime_alive_tasks`, `liaison_process_open_fds`) are sampled.
pub const PROCESS_SAMPLE: std::time::Duration = std::time::Duration::from_secs(1);

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
    tokio::spawn(sample_process());
    Ok(())
}

/// Sets the process gauges every [`PROCESS_SAMPLE`], for as long as the runtime runs (one task, counted too).
async fn sample_process() {
    let mut ticks = tokio::time::interval(PROCESS_SAMPLE);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
        metrics::gauge!("liaison_runtime_alive_tasks").set(tasks as f64);
        // Not every system has `/proc`: then the gauge is not exported at all.
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            // The listing's own descriptor is among them.
            let fds = entries.count().saturating_sub(1);
            metrics::gauge!("liaison_process_open_fds").set(fds as f64);
        }
    }
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Times one RPC. Its labels are the method's as the descriptors name it, or `unknown` for a path no server of
/// Liaison serves (a caller could otherwise mint a new series with every made-up path).
pub(crate) struct RpcTimer {
    started: Option<(Instant, &'static str, &'static str)>,
}

/// The `service` and `method` labels of a call to `method` (`None`: a path no server serves).
fn labels(method: Option<crate::net::methods::Method>) -> (&'static str, &'static str) {
    method.map_or(("unknown", "unknown"), |m| (m.service, m.name))
}

impl RpcTimer {
    pub(crate) fn start(method: Option<crate::net::methods::Method>) -> Self {
        let (service, name) = labels(method);
        Self { started: enabled().then(|| (Instant::now(), service, name)) }
    }

    pub(crate) fn finish(self, code: i64) {
        let Some((started, service, method)) = self.started else { return };
        let code = code.to_string();
        metrics::histogram!("liaison_rpc_duration_seconds", "service" => service, "method" => method)
            .record(started.elapsed().as_secs_f64());
        if code != "0" {
            metrics::counter!("liaison_rpc_errors_total", "service" => service, "method" => method, "code" => code.clone())
                .increment(1);
        }
        metrics::counter!("liaison_rpc_requests_total", "service" => service, "method" => method, "code" => code)
            .increment(1);
    }
}

/// A streaming response's body, which gives its call's status to `finish` when the stream ends: from its
/// trailers, OK when it ends without them, CANCELLED when the caller goes away first (the body is dropped).
pub(crate) struct TimedBody<B, F: FnOnce(i64)> {
    inner: B,
    finish: Option<F>,
}

impl<B, F: FnOnce(i64)> TimedBody<B, F> {
    pub(crate) fn new(inner: B, finish: F) -> Self {
        Self { inner, finish: Some(finish) }
    }

    fn finish(&mut self, code: i64) {
        if let Some(finish) = self.finish.take() {
            finish(code);
        }
    }
}

/// gRPC's CANCELLED: the caller went away before the stream ended.
const CANCELLED: i64 = 1;

impl<B: http_body::Body + Unpin, F: FnOnce(i64) + Unpin> http_body::Body for TimedBody<B, F> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
                    self.finish(code.unwrap_or(0));
                }
            }
            std::task::Poll::Ready(Some(Err(_))) => self.finish(13),
            std::task::Poll::Ready(None) => self.finish(0),
            std::task::Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B, F: FnOnce(i64)> Drop for TimedBody<B, F> {
    fn drop(&mut self) {
        self.finish(CANCELLED);
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::{Arc, Mutex};

    fn recorder() -> (Arc<Mutex<Vec<i64>>>, impl FnOnce(i64) + Unpin) {
        let codes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&codes);
        (codes, move |code| sink.lock().expect("codes").push(code))
    }

    fn stream_body(
        frames: Vec<http_body::Frame<bytes::Bytes>>,
    ) -> impl http_body::Body<Data = bytes::Bytes, Error = std::convert::Infallible> + Unpin {
        http_body_util::StreamBody::new(futures::stream::iter(frames.into_iter().map(Ok)))
    }

    #[test]
    fn a_path_no_server_serves_is_labelled_unknown() {
        assert_eq!(labels(crate::net::methods::lookup("/made.up.Service/Method7f3a")), ("unknown", "unknown"));
        let known = crate::net::methods::lookup("/liaison.contacts.v1.ContactsService/GetContact");
        assert_eq!(labels(known), ("liaison.contacts.v1.ContactsService", "GetContact"));
    }

    #[tokio::test]
    async fn a_stream_is_recorded_once_when_it_ends_with_the_status_of_its_trailers() {
        let (codes, finish) = recorder();
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("14"));
        let frames =
            vec![http_body::Frame::data(bytes::Bytes::from_static(b"x")), http_body::Frame::trailers(trailers)];
        let mut body = TimedBody::new(stream_body(frames), finish);
        body.frame().await.expect("a frame").expect("data");
        assert!(codes.lock().expect("codes").is_empty(), "not while the stream runs");
        body.frame().await.expect("a frame").expect("trailers");
        drop(body);
        assert_eq!(*codes.lock().expect("codes"), [14]);
    }

    #[tokio::test]
    async fn a_stream_the_caller_leaves_is_recorded_as_cancelled() {
        let (codes, finish) = recorder();
        let mut body =
            TimedBody::new(stream_body(vec![http_body::Frame::data(bytes::Bytes::from_static(b"x"))]), finish);
        body.frame().await.expect("a frame").expect("data");
        drop(body);
        assert_eq!(*codes.lock().expect("codes"), [CANCELLED]);
    }
}
