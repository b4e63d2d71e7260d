//! Clients of other services: lazy channels built once, a deadline on every call, the caller's trace context
//! forwarded, and retries with jittered exponential backoff for idempotent calls only.
use crate::api::error::Error;
use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

/// Deadlines of outbound calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSettings {
    /// Deadline of one call, retries included.
    pub call_timeout: Duration,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
}

impl Default for CallSettings {
    fn default() -> Self {
        Self { call_timeout: Duration::from_millis(2000), connect_timeout: Duration::from_millis(1000) }
    }
}

/// A channel that connects on first use (so services can start in any order) and reconnects by itself; over TLS
/// when the URL is `https://` (then `tls` says what to trust and what to present).
pub fn lazy_channel(
    url: &str,
    settings: CallSettings,
    tls: Option<&crate::net::tls::ClientTls>,
) -> Result<Channel, tonic::transport::Error> {
    let endpoint = Endpoint::from_shared(url.to_owned())?;
    let configure = |endpoint: Endpoint| {
        endpoint
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.call_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
    };
    let uri = endpoint.uri().clone();
    let (true, Some(host), Some(authority)) = (uri.scheme_str() == Some("https"), uri.host(), uri.authority()) else {
        return Ok(configure(endpoint).connect_lazy());
    };
    let tls = match tls {
        Some(tls) => Ok(tls.clone()),
        None => crate::net::tls::ClientTls::trusting(None).map_err(|e| std::sync::Arc::from(e.to_string())),
    };
    let connector = crate::net::tls::HttpsConnector::new(
        tls,
        host.to_owned(),
        uri.port_u16().unwrap_or(443),
        settings.connect_timeout,
    );
    // tonic refuses to hand an `https://` connection to a custom connector unless its own TLS is configured, so the
    // channel dials an `http://` URI (through the connector, which does the TLS) while its requests keep the
    // `https://` origin.
    let dialled = Endpoint::from_shared(format!("http://{authority}"))?.origin(uri);
    Ok(configure(dialled).connect_with_connector_lazy(connector))
}

/// Wraps `message` with a deadline and the current trace context.
pub fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
    let mut request = with_trace(message);
    request.set_timeout(timeout);
    request
}

/// A service this one calls: the channel, and the credentials every call presents. A call names the person the
/// current request acts for — with the service's own token and `liaison-on-behalf-of` when the service has
/// credentials, as `liaison-actor` in development mode — so the callee's records name the person, not only the
/// service that relayed the call.
#[derive(Debug, Clone)]
pub struct Peer {
    pub channel: Channel,
    credentials: Option<std::sync::Arc<crate::auth::credentials::ServiceCredentials>>,
}

impl Peer {
    pub fn new(
        channel: Channel,
        credentials: Option<std::sync::Arc<crate::auth::credentials::ServiceCredentials>>,
    ) -> Self {
        Self { channel, credentials }
    }

    /// `message` with a deadline, the trace context and who the call is for.
    pub fn request<T>(&self, message: T, timeout: Duration) -> Result<tonic::Request<T>, tonic::Status> {
        let mut request = self.stream_request(message)?;
        request.set_timeout(timeout);
        Ok(request)
    }

    /// `message` with the trace context and who the call is for, without a deadline (long-lived streams).
    pub fn stream_request<T>(&self, message: T) -> Result<tonic::Request<T>, tonic::Status> {
        let mut request = with_trace(message);
        let caller = crate::net::context::caller();
        let metadata = request.metadata_mut();
        // Background work (a feed follower) acts as the service itself; a request names its person.
        let subject = if caller.rpc.is_empty() { None } else { caller.subject().parse().ok() };
        match &self.credentials {
            Some(credentials) => {
                let token =
                    credentials.token().map_err(|e| crate::api::error::status_of(Error::Internal(e.to_string())))?;
                let bearer = format!("Bearer {token}").parse().map_err(|_| {
                    crate::api::error::status_of(Error::Internal("the service token is not valid metadata".into()))
                })?;
                metadata.insert("authorization", bearer);
                if let Some(subject) = subject {
                    metadata.insert(crate::auth::ON_BEHALF_OF_HEADER, subject);
                }
            }
            None => {
                if let Some(subject) = subject {
                    metadata.insert(crate::auth::ACTOR_HEADER, subject);
                }
            }
        }
        Ok(request)
    }
}

/// Wraps `message` with the current trace context only (for long-lived streams).
pub fn with_trace<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let trace = crate::net::context::outgoing();
    if let Ok(value) = trace.traceparent.parse() {
        request.metadata_mut().insert("traceparent", value);
    }
    if !trace.tracestate.is_empty()
        && let Ok(value) = trace.tracestate.parse()
    {
        request.metadata_mut().insert("tracestate", value);
    }
    request
}

/// Calls an idempotent RPC, retrying UNAVAILABLE with jittered exponential backoff, all within `deadline`.
/// `dependency` names the callee and RPC for errors, e.g. `contacts.BatchGetContacts`.
pub async fn call_idempotent<T, F, Fut>(dependency: &str, deadline: Duration, mut call: F) -> Result<T, Error>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    use tracing::Instrument;
    let (service, method) = dependency.split_once('.').unwrap_or((dependency, ""));
    let span = tracing::info_span!(
        "rpc.client",
        otel.name = %dependency,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
    );
    retry_within(dependency, deadline, &mut call).instrument(span).await
}

async fn retry_within<T, F, Fut>(dependency: &str, deadline: Duration, call: &mut F) -> Result<T, Error>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let started = Instant::now();
    let mut backoff = Duration::from_millis(20);
    // A dependency that kept answering UNAVAILABLE is unavailable, even if the attempt the deadline cut short was
    // still connecting: the caller is told so (and may retry later), rather than that it merely timed out.
    let mut last_unavailable: Option<Error> = None;
    let timed_out =
        |last: Option<Error>| last.unwrap_or_else(|| Error::DeadlineExceeded { dependency: dependency.to_owned() });
    loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(timed_out(last_unavailable));
        }
        let outcome = tokio::time::timeout(remaining, call(remaining)).await;
        let status = match outcome {
            Ok(Ok(response)) => return Ok(response.into_inner()),
            Ok(Err(status)) => status,
            Err(_) => return Err(timed_out(last_unavailable)),
        };
        let error = Error::from_status(dependency, &status);
        let pause = jitter(backoff);
        if !error.is_retryable() || started.elapsed() + pause >= deadline {
            tracing::warn!(dependency, code = ?status.code(), message = status.message(), "call failed");
            return Err(match (&error, last_unavailable) {
                // The attempt cut short by its own deadline after refusals: still unavailable.
                (Error::DeadlineExceeded { .. }, Some(unavailable)) => unavailable,
                _ => error,
            });
        }
        last_unavailable = Some(error);
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

fn jitter(base: Duration) -> Duration {
    let millis = base.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_host_name_is_balanced_over_its_addresses_and_calls_go_through() {
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_client::HealthClient;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (_reporter, health) = tonic_health::server::health_reporter();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(health)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let channel =
            lazy_channel(&format!("http://localhost:{port}"), CallSettings::default(), None).expect("channel");
        let status = tokio::time::timeout(
            Duration::from_secs(5),
            HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }),
        )
        .await
        .expect("answered in time")
        .expect("health answers");
        assert_eq!(status.into_inner().status, 1);
    }

    #[test]
    fn an_address_without_a_host_is_rejected() {
        assert!(lazy_channel("not a url", CallSettings::default(), None).is_err());
        assert!(lazy_channel("http://", CallSettings::default(), None).is_err());
    }

    #[tokio::test]
    async fn unavailable_is_retried_until_it_succeeds() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let result = call_idempotent("test.Rpc", Duration::from_secs(2), move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(tonic::Status::unavailable("down")) } else { Ok(tonic::Response::new(n)) } }
        })
        .await;
        assert_eq!(result.ok(), Some(2));
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_dependency_that_stays_down_fails_within_the_deadline() {
        let started = Instant::now();
        let result: Result<(), Error> = call_idempotent("test.Rpc", Duration::from_millis(300), |_| async {
            Err(tonic::Status::unavailable("down"))
        })
        .await;
        assert!(matches!(result, Err(Error::Unavailable { .. })));
        assert!(started.elapsed() < Duration::from_millis(600));
    }

    #[tokio::test]
    async fn a_dependency_that_refused_and_then_hangs_is_reported_unavailable_not_timed_out() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let result: Result<(), Error> = call_idempotent("test.Rpc", Duration::from_millis(300), move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(tonic::Status::unavailable("connection refused"))
                } else {
                    std::future::pending().await
                }
            }
        })
        .await;
        assert!(matches!(result, Err(Error::Unavailable { .. })), "{result:?}");
        let silent: Result<(), Error> =
            call_idempotent("test.Rpc", Duration::from_millis(100), |_| std::future::pending()).await;
        assert!(matches!(silent, Err(Error::DeadlineExceeded { .. })), "a dependency that never answered timed out");
    }

    #[tokio::test]
    async fn invalid_argument_is_not_retried() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let _: Result<(), Error> = call_idempotent("test.Rpc", Duration::from_secs(1), move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err(tonic::Status::invalid_argument("bad")) }
        })
        .await;
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
