//! The one server builder: mounts a service with its change feed (`liaison.common.v1.ChangeFeedService`), its audit
//! (`liaison.common.v1.AuditService`), health (following its database), reflection v1 and v1alpha, the
//! request-context layer (trace context, the gate — who is calling and may they — the limits of `net::limits`,
//! one span per RPC, a clear answer for a service this port does not serve), TLS when configured, and graceful
//! shutdown.
use crate::auth::Gate;
use crate::db::Db;
use crate::net::context::{self, TraceContext};
use crate::net::limits::{self, Limits, RateLimit};
use crate::net::metrics::TimedBody;
use crate::security::Security;
use futures::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tracing::Instrument;

/// A service ready to be served: its fully-qualified gRPC name, its routes and its database.
pub struct Mounted {
    pub service_name: &'static str,
    pub routes: Routes,
    pub db: Db,
}

const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// How often health re-checks the database.
pub const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// Why a server could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `mounted` on `listener` until `shutdown` is cancelled, then lets in-flight calls finish.
pub async fn serve(
    listener: TcpListener,
    mounted: Mounted,
    security: Arc<Security>,
    limits: Limits,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let Mounted { service_name, routes, db } = mounted;
    let page_key = match crate::db::secrets::get_or_create(&db, crate::api::paging::KEY_NAME).await {
        Ok(bytes) => crate::api::paging::TokenKey::new(bytes),
        Err(error) => {
            // The database is down at start (the server starts anyway and reports NOT_SERVING until it is back):
            // tokens this process issues are then good on it alone, until it restarts.
            tracing::warn!(service = service_name, %error, "cannot read the page-token key; using one of this process");
            crate::api::paging::TokenKey::random()
        }
    };
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let serving_now = db.ping().await;
    reporter.set_service_status("", ServingStatus::Serving).await;
    set_health(&reporter, service_name, serving_now).await;
    tokio::spawn(follow_database_health(db.clone(), reporter, service_name, serving_now, shutdown.clone()));
    let audit = crate::feed::audit::Audit::server(db.clone());
    let change_feed = crate::feed::service::ChangeFeed::server(db, shutdown.clone(), limits.max_watch_streams);

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(liaison_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(liaison_proto::ERROR_DETAILS_DESCRIPTOR_SET)
            .with_service_name(service_name)
            .with_service_name(crate::feed::service::SERVICE_NAME)
            .with_service_name(crate::feed::audit::SERVICE_NAME)
            .with_service_name(HEALTH)
            .with_service_name(REFLECTION_V1)
            .with_service_name(REFLECTION_V1ALPHA)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let shared = Arc::new(Shared {
        rate: RateLimit::new(&limits),
        in_flight: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
        limits,
        keyed_by_subject: security.gate.requires_tokens(),
        page_key,
    });
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        // Clients that resolved a service name once are rebalanced over new replicas within minutes; a connection
        // past its age gets a grace period for its calls, then is closed.
        .max_connection_age(Duration::from_secs(300))
        .max_connection_age_grace(Duration::from_secs(30))
        .max_concurrent_streams(Some(limits.max_streams_per_connection))
        // tonic passes `None` by default, which switches off h2's protection against a peer that makes the server
        // reset streams in a loop (the "made you reset" flood); 1024 is hyper's own default.
        .http2_max_local_error_reset_streams(Some(1024))
        .http2_max_pending_accept_reset_streams(Some(100))
        .layer(tower::layer::layer_fn(|inner| RequestContext {
            inner,
            own: service_name,
            gate: security.gate.clone(),
            shared: Arc::clone(&shared),
        }))
        .add_routes(routes)
        .add_service(change_feed)
        .add_service(audit)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    match &security.server_tls {
        // TLS connections are accepted and handshaken by `ServerTls` (which sets TCP_NODELAY on each socket), so
        // that a certificate replaced on disk is served without a restart.
        Some(tls) => {
            router
                .serve_with_incoming_shutdown(
                    limits::guard(tls.incoming(listener, shutdown.clone()), &limits),
                    shutdown.cancelled_owned(),
                )
                .await?
        }
        // `tcp_nodelay` above applies only to listeners tonic binds itself: accepted sockets must get it here, or
        // Nagle's algorithm holds back the second segment of any response larger than one (a ~40 ms stall).
        None => {
            router
                .serve_with_incoming_shutdown(
                    limits::guard(
                        tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                        &limits,
                    ),
                    shutdown.cancelled_owned(),
                )
                .await?
        }
    }
    Ok(())
}

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The service's own status follows its database; the server as a whole (`""`) is SERVING while the process
/// runs, so that a liveness probe does not restart a pod for an outage of its database.
async fn set_health(reporter: &tonic_health::server::HealthReporter, service_name: &str, serving: bool) {
    let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
    reporter.set_service_status(service_name, status).await;
}

async fn follow_database_health(
    db: Db,
    mut reporter: tonic_health::server::HealthReporter,
    service_name: &'static str,
    mut serving: bool,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
            _ = shutdown.cancelled() => {
                reporter.set_service_status("", ServingStatus::NotServing).await;
                set_health(&reporter, service_name, false).await;
                // Then end the health Watch streams (each sends NOT_SERVING first): an open Watch would otherwise
                // keep its connection, and so the graceful shutdown, waiting for ever.
                reporter.clear_service_status("").await;
                reporter.clear_service_status(service_name).await;
                return;
            }
        }
        let now = tokio::time::timeout(Duration::from_secs(2), db.ping()).await.unwrap_or(false);
        let (size, idle) = db.pool_usage();
        crate::net::metrics::record_pool(service_name, size, idle);
        if now != serving {
            serving = now;
            if serving {
                tracing::info!(service = service_name, "database reachable again; serving");
            } else {
                tracing::warn!(service = service_name, "database unreachable; reporting NOT_SERVING");
            }
            set_health(&reporter, service_name, serving).await;
        }
    }
}

/// The limits of one server, shared by its connections.
struct Shared {
    limits: Limits,
    rate: RateLimit,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Whether callers are told apart by their token's subject; without required tokens a subject is only what
    /// the caller claims, so callers are told apart by their address.
    keyed_by_subject: bool,
    /// Authenticates the page tokens of every request ([`crate::api::paging`]).
    page_key: crate::api::paging::TokenKey,
}

impl Shared {
    /// The rate-limit key of a call: its verified subject, or its address.
    fn key(&self, caller: Option<&crate::auth::Caller>, source: Option<SocketAddr>) -> String {
        match caller {
            Some(caller) if self.keyed_by_subject => format!("subject {}", caller.identity.subject),
            _ => source.map_or_else(|| "an unknown address".to_owned(), |addr| format!("address {}", addr.ip())),
        }
    }
}

/// Extracts the W3C trace context, opens the RPC span, applies the limits and makes the context current for the
/// handler.
#[derive(Clone)]
pub struct RequestContext<S> {
    inner: S,
    /// The service this server mounts (the others it serves are the same on every server).
    own: &'static str,
    gate: Gate,
    shared: Arc<Shared>,
}

impl<S> RequestContext<S> {
    fn serves(&self, service: &str) -> bool {
        service == self.own
            || [
                crate::feed::service::SERVICE_NAME,
                crate::feed::audit::SERVICE_NAME,
                HEALTH,
                REFLECTION_V1,
                REFLECTION_V1ALPHA,
            ]
            .contains(&service)
    }
}

/// What a caller of a service this port does not serve is told: which one it serves, and where the asked one
/// lives when it is a Liaison service — rather than an UNIMPLEMENTED with an empty message.
fn not_served(own: &str, asked: &str) -> tonic::Status {
    use crate::config::ServiceKind;
    let here = ServiceKind::ALL.into_iter().find(|kind| kind.grpc_service() == own);
    let serves = match here {
        Some(kind) => format!("this port serves {own} (the {kind} service)"),
        None => format!("this port serves {own}"),
    };
    let message = match ServiceKind::ALL.into_iter().find(|kind| kind.grpc_service() == asked) {
        Some(kind) => format!(
            "{serves}, not {asked}: call the {kind} service, on port {} by default (its address is \
             LIAISON_{}_ADDR in a cluster)",
            kind.default_port(),
            kind.name().to_uppercase()
        ),
        None => format!("{serves}, its change feed, audit, health and reflection; there is no service {asked:?} here"),
    };
    tonic::Status::unimplemented(message)
}

/// The peer address tonic recorded for the connection (plaintext or TLS).
fn remote_addr<B>(request: &http::Request<B>) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
}

/// Reads W3C trace context from HTTP/2 headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The gRPC status of a response whose status travels in its headers (trailers-only responses: errors of unary
/// calls); otherwise 0 (OK), the trailers being sent later.
fn grpc_status<R>(response: &http::Response<R>) -> i64 {
    response.headers().get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl<S, B> tower::Service<http::Request<B>> for RequestContext<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let incoming = header("traceparent");
        let path = request.uri().path();
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
        let span = tracing::info_span!(
            "rpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        if incoming.is_some() {
            let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
                propagator.extract(&HeaderExtractor(request.headers()))
            });
            let _ = span.set_parent(parent);
        }
        // With OpenTelemetry the span's own ids are the request's; without, the request continues the caller's
        // trace (or starts one) under a span id of its own.
        let trace = span.in_scope(context::outgoing);
        let trace = if trace == context::current() {
            TraceContext::from_incoming(incoming, header("tracestate")).child()
        } else {
            trace
        };
        span.record("trace_id", trace.trace_id());
        span.record("span_id", trace.span_id());
        let known = crate::net::methods::lookup(path);
        let metrics = crate::net::metrics::RpcTimer::start(known);
        // Health and reflection answer anyone (probes, grpcurl fetching the schema); the service and its feed and
        // audit pass the gate, which says who the call acts for — or refuses it before the service sees it.
        let open = [HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA].contains(&service);
        let foreign = (!self.serves(service)).then(|| not_served(self.own, service));
        let rpc = path.trim_start_matches('/').to_owned();
        let source = remote_addr(&request);
        let gate = self.gate.clone();
        let shared = Arc::clone(&self.shared);
        let streaming = known.is_some_and(|m| m.streaming);
        // The service was polled ready above; the clone takes its place for the next call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let refuse = |error| Ok(crate::api::error::status_of(error).into_http());
        let admitted = async move {
            if let Some(status) = foreign {
                return Ok(status.into_http());
            }
            if open {
                // Probes and schema fetches are never limited: a busy server must still say it is alive.
                let caller = crate::auth::Caller { rpc, source, ..crate::auth::Caller::background() };
                return context::with_caller(caller, inner.call(request)).await;
            }
            let caller = match gate.admit(request.headers(), &rpc, source).await {
                Ok(caller) => caller,
                // A refused call never reaches the service; refusals count against the address's rate, so that
                // guessing tokens is as slow as calling.
                Err(error) => return refuse(shared.rate.check(&shared.key(None, source)).err().unwrap_or(error)),
            };
            if let Err(error) = shared.rate.check(&shared.key(Some(&caller), source)) {
                return refuse(error);
            }
            let inner_call = crate::api::paging::with_key(shared.page_key.clone(), inner.call(request));
            if streaming {
                return context::with_caller(caller, inner_call).await;
            }
            let _permit = match limits::admit_in_flight(&shared.in_flight, shared.limits.max_in_flight) {
                Ok(permit) => permit,
                Err(error) => return refuse(error),
            };
            let timeout = shared.limits.unary_timeout;
            match tokio::time::timeout(timeout, context::with_caller(caller, inner_call)).await {
                Ok(response) => response,
                Err(_) => refuse(crate::api::error::Error::DeadlineExceeded {
                    dependency: format!("{rpc}, within the server's limit of {} s per call,", timeout.as_secs_f64()),
                }),
            }
        };
        let recorded = span.clone();
        Box::pin(context::scope(
            trace,
            (async move {
                let response = admitted.await;
                let code = match &response {
                    Ok(response) => grpc_status(response),
                    Err(_) => 13,
                };
                recorded.record("rpc.grpc.status_code", code);
                tracing::debug!(code, "rpc finished");
                match response {
                    // A stream that started is recorded when it ends, with the status of its trailers.
                    Ok(response) if streaming && !response.headers().contains_key("grpc-status") => Ok(response
                        .map(|body| tonic::body::Body::new(TimedBody::new(body, move |code| metrics.finish(code))))),
                    response => {
                        metrics.finish(code);
                        response
                    }
                }
            })
            .instrument(span),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::contacts::v1::GetContactRequest;
    use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;

    #[tokio::test]
    async fn a_unary_call_past_the_servers_time_limit_is_deadline_exceeded_whatever_the_callers_deadline() {
        let dir = tempfile::tempdir().expect("directory");
        let url: crate::db::DatabaseUrl =
            format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display()).parse().expect("url");
        let db = Db::connect(&url).await.expect("database");
        // A method whose handler never answers.
        let mut routes = Routes::default();
        crate::net::wire::route_unary(
            &mut routes,
            "/liaison.contacts.v1.ContactsService/GetContact",
            |_: tonic::Request<GetContactRequest>| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(tonic::Response::new(crate::net::wire::Spliced::default()))
            },
        );
        let mounted = Mounted { service_name: "liaison.contacts.v1.ContactsService", routes, db };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let limits = Limits { unary_timeout: Duration::from_millis(200), ..Limits::default() };
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, mounted, Security::development(), limits, shutdown.clone()));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}")).expect("endpoint");
        let mut client = ContactsServiceClient::new(channel.connect_lazy());
        let started = std::time::Instant::now();
        // The caller allows an hour; the server allows 200 ms.
        let mut request = tonic::Request::new(GetContactRequest { name: "contacts/x".into() });
        request.set_timeout(Duration::from_secs(3600));
        let status = client.get_contact(request).await.expect_err("the server's limit");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
        assert!(status.message().contains("GetContact"), "{}", status.message());
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_health_watch_open_at_shutdown_sees_not_serving_and_ends_and_the_server_stops() {
        use futures::StreamExt;
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_client::HealthClient;
        let dir = tempfile::tempdir().expect("directory");
        let url: crate::db::DatabaseUrl =
            format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display()).parse().expect("url");
        let db = Db::connect(&url).await.expect("database");
        let service_name = "liaison.contacts.v1.ContactsService";
        let mounted = Mounted { service_name, routes: Routes::default(), db };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        let server =
            tokio::spawn(serve(listener, mounted, Security::development(), Limits::default(), shutdown.clone()));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}")).expect("endpoint");
        let mut health = HealthClient::new(channel.connect_lazy());
        let request = HealthCheckRequest { service: service_name.to_owned() };
        let mut watch = health.watch(request).await.expect("watch").into_inner();
        let first = watch.next().await.expect("a status").expect("a status");
        assert_eq!(first.status, ServingStatus::Serving as i32);
        shutdown.cancel();
        // The Watch says NOT_SERVING, then ends; with it open, the graceful shutdown used to wait for ever.
        let mut seen = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(response)) = watch.next().await {
                seen.push(response.status);
            }
        })
        .await;
        assert!(ended.is_ok(), "the Watch was still open 10 s after shutdown; it said {seen:?}");
        assert_eq!(seen.last(), Some(&(ServingStatus::NotServing as i32)), "{seen:?}");
        let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
        assert!(matches!(stopped, Ok(Ok(Ok(())))), "the server did not stop cleanly: {stopped:?}");
    }
}
