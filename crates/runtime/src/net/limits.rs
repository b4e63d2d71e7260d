//! What one caller, one connection or one message may cost a server, so that no caller can exhaust a service
//! or starve the others (every value, its setting and the error a caller gets: `docs/limits.md`).
//!
//! - **Messages**: a request is refused from its length prefix, before it is buffered ([`MAX_REQUEST_BYTES`]);
//!   a response larger than [`MAX_RESPONSE_BYTES`] is an error rather than a message most clients refuse.
//! - **Connections**: at most [`Limits::max_connections`] at once (more are closed on accept), each of which must
//!   send the HTTP/2 preface within [`Limits::preface_timeout`] (slowloris), and may open at most
//!   [`Limits::max_streams_per_connection`] streams.
//! - **Calls**: each caller (its authenticated subject, or its address before authentication) at most
//!   [`Limits::rate_per_second`] calls per second with bursts of [`Limits::burst`]; at most
//!   [`Limits::max_in_flight`] calls at once per server, the next one shed at once; a unary call answered within
//!   [`Limits::unary_timeout`]. The refusals are RESOURCE_EXHAUSTED with `RetryInfo` (and DEADLINE_EXCEEDED).
use crate::api::error::Error;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The largest request message a server reads (each message of a client stream too); tonic's default is 4 MiB.
/// No request of Liaison needs more: batches are bounded in items, imports stream their file in chunks.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The largest response message a server sends: what gRPC clients accept by default (grpc-go, grpc-java and
/// tonic all refuse more than 4 MiB).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Sets [`MAX_REQUEST_BYTES`] and [`MAX_RESPONSE_BYTES`] on a generated server (`FooServiceServer::new(…)`).
#[macro_export]
macro_rules! limit_messages {
    ($server:expr) => {
        $server
            .max_decoding_message_size($crate::net::limits::MAX_REQUEST_BYTES)
            .max_encoding_message_size($crate::net::limits::MAX_RESPONSE_BYTES)
    };
}

/// The configurable limits of a server, with defaults that no legitimate caller meets (the benchmark's busiest
/// scenario makes ~8,000 calls per second from one caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per second one caller may make to one server, sustained.
    pub rate_per_second: u32,
    /// Calls one caller may make at once above its rate (the bucket's size).
    pub burst: u32,
    /// Calls one server handles at once (streams excluded); the next is refused at once.
    pub max_in_flight: usize,
    /// Connections one server keeps open at once; more are closed as they are accepted.
    pub max_connections: usize,
    /// Streams (calls) one HTTP/2 connection may have open at once.
    pub max_streams_per_connection: u32,
    /// Open change-feed streams (`WatchChanges`) per server.
    pub max_watch_streams: usize,
    /// The longest a unary call may run on the server, whatever deadline its caller set.
    pub unary_timeout: Duration,
    /// The longest a new connection may take to send the HTTP/2 preface (after its TLS handshake).
    pub preface_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rate_per_second: 20_000,
            burst: 40_000,
            max_in_flight: 2048,
            max_connections: 4096,
            max_streams_per_connection: 256,
            max_watch_streams: 256,
            unary_timeout: Duration::from_secs(30),
            preface_timeout: Duration::from_secs(10),
        }
    }
}

/// The rate limit of one server: a GCRA bucket per caller key.
pub(crate) struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    rate_per_second: u32,
    /// Calls checked, to look at the table's size every [`SWEEP_EVERY_CALLS`] calls rather than on each.
    calls: std::sync::atomic::AtomicU64,
}

/// How often (in calls) the table of callers is looked at, and swept when it holds more than [`MAX_CALLERS`].
const SWEEP_EVERY_CALLS: u64 = 4096;
const MAX_CALLERS: usize = 10_000;

impl RateLimit {
    pub(crate) fn new(limits: &Limits) -> Self {
        let rate = NonZeroU32::new(limits.rate_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: governor::RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            rate_per_second: limits.rate_per_second,
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Admits one call of `key`, or says when it may come back.
    pub(crate) fn check(&self, key: &str) -> Result<(), Error> {
        // Keys of callers long quiet are forgotten now and then, so that the table stays as small as the set of
        // recent callers (a caller minting subjects cannot grow it without bound). Looked at now and then only:
        // with more recent callers than the bound, sweeping on every call would scan the table on every call.
        let calls = self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if calls.is_multiple_of(SWEEP_EVERY_CALLS) && self.limiter.len() > MAX_CALLERS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::ResourceExhausted {
                reason: "RATE_LIMITED",
                message: format!(
                    "{key} is over its rate of {} calls per second; retry in {} ms",
                    self.rate_per_second,
                    wait.as_millis().max(1)
                ),
                retry_after: wait.max(Duration::from_millis(1)),
            }
        })
    }
}

/// How long a shed call is told to wait: long enough for in-flight calls to finish.
const SHED_RETRY_AFTER: Duration = Duration::from_millis(100);

/// A permit for one call of [`Limits::max_in_flight`], or the refusal of a call over it.
pub(crate) fn admit_in_flight(in_flight: &Arc<Semaphore>, max: usize) -> Result<OwnedSemaphorePermit, Error> {
    Arc::clone(in_flight).try_acquire_owned().map_err(|_| Error::ResourceExhausted {
        reason: "SERVER_BUSY",
        message: format!("the server is handling its maximum of {max} calls at once; retry shortly"),
        retry_after: SHED_RETRY_AFTER,
    })
}

/// How long a call waits for a turn at an expensive read before it is refused.
const EXPENSIVE_WAIT: Duration = Duration::from_secs(2);

/// Turns at the reads of a service that cost far more than a lookup (ranking a search, comparing a register for
/// duplicates): at most one per core at once, so that a burst of them cannot take every worker from the cheap
/// calls. A call waits up to two seconds for a turn, then is refused with RESOURCE_EXHAUSTED.
#[derive(Debug)]
pub struct ExpensiveReads {
    turns: Arc<Semaphore>,
    at_once: usize,
}

impl ExpensiveReads {
    /// One turn per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    }

    pub fn new(at_once: usize) -> Self {
        Self { turns: Arc::new(Semaphore::new(at_once.max(1))), at_once: at_once.max(1) }
    }

    /// A turn for `what` (e.g. `SearchContacts`), held until the permit drops.
    pub async fn turn(&self, what: &str) -> Result<OwnedSemaphorePermit, Error> {
        match tokio::time::timeout(EXPENSIVE_WAIT, Arc::clone(&self.turns).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::ResourceExhausted {
                reason: "EXPENSIVE_READS_BUSY",
                message: format!(
                    "{what} waits for one of {} turns at expensive reads, all taken for {} s; retry shortly",
                    self.at_once,
                    EXPENSIVE_WAIT.as_secs()
                ),
                retry_after: Duration::from_secs(1),
            }),
        }
    }
}

/// An accepted connection under the server's limits: it holds one of [`Limits::max_connections`] permits while
/// open, and fails if its first bytes (the 24-byte HTTP/2 preface) do not arrive within the preface timeout.
pub struct Guarded<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
    preface: Option<Pin<Box<tokio::time::Sleep>>>,
    preface_left: usize,
}

/// The client preface of HTTP/2 (RFC 9113 §3.4) is 24 bytes.
const PREFACE_LEN: usize = 24;

impl<S> Guarded<S> {
    fn new(inner: S, permit: OwnedSemaphorePermit, preface_timeout: Duration) -> Self {
        Self {
            inner,
            _permit: permit,
            preface: Some(Box::pin(tokio::time::sleep(preface_timeout))),
            preface_left: PREFACE_LEN,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.preface.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the HTTP/2 preface did not arrive in time",
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.preface.is_some() {
            this.preface_left = this.preface_left.saturating_sub(buf.filled().len() - before);
            if this.preface_left == 0 {
                this.preface = None;
            }
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: tonic::transport::server::Connected> tonic::transport::server::Connected for Guarded<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// `incoming` with at most `limits.max_connections` connections open at once (one more is closed as soon as it
/// is accepted, so that its client fails fast rather than waiting in the backlog) and the preface deadline.
pub fn guard<S, E>(
    incoming: impl futures::Stream<Item = Result<S, E>> + Send + 'static,
    limits: &Limits,
) -> impl futures::Stream<Item = Result<Guarded<S>, E>> + Send + 'static
where
    S: Send + 'static,
    E: Send + 'static,
{
    use futures::StreamExt;
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let (max, preface_timeout) = (limits.max_connections, limits.preface_timeout);
    incoming.filter_map(move |accepted| {
        let admitted = match accepted {
            Err(error) => Some(Err(error)),
            Ok(connection) => match Arc::clone(&open).try_acquire_owned() {
                Ok(permit) => Some(Ok(Guarded::new(connection, permit, preface_timeout))),
                Err(_) => {
                    tracing::warn!(max, "connection refused: the server has its maximum of connections open");
                    None
                }
            },
        };
        std::future::ready(admitted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_caller_over_its_rate_is_told_when_to_come_back_and_others_are_not_affected() {
        let limits = Limits { rate_per_second: 10, burst: 3, ..Limits::default() };
        let rate = RateLimit::new(&limits);
        for _ in 0..3 {
            rate.check("jane").expect("within the burst");
        }
        match rate.check("jane") {
            Err(Error::ResourceExhausted { reason: "RATE_LIMITED", retry_after, message }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(100), "{retry_after:?}");
                assert!(message.contains("jane") && message.contains("10 calls per second"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        rate.check("joe").expect("another caller has its own bucket");
    }

    #[test]
    fn calls_over_the_in_flight_maximum_are_shed_and_admitted_again_once_one_ends() {
        let in_flight = Arc::new(Semaphore::new(2));
        let first = admit_in_flight(&in_flight, 2).expect("first");
        let _second = admit_in_flight(&in_flight, 2).expect("second");
        let shed = admit_in_flight(&in_flight, 2).expect_err("third");
        assert!(matches!(shed, Error::ResourceExhausted { reason: "SERVER_BUSY", .. }));
        drop(first);
        let _again = admit_in_flight(&in_flight, 2).expect("room again");
    }

    #[tokio::test]
    async fn an_expensive_read_waits_for_a_turn_then_is_refused_and_is_admitted_once_one_ends() {
        let reads = ExpensiveReads::new(1);
        let held = reads.turn("SearchContacts").await.expect("a free turn");
        let started = std::time::Instant::now();
        match reads.turn("SearchContacts").await {
            Err(Error::ResourceExhausted { reason: "EXPENSIVE_READS_BUSY", message, .. }) => {
                assert!(message.contains("SearchContacts"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(started.elapsed() >= EXPENSIVE_WAIT, "it waited for a turn first");
        drop(held);
        let _again = reads.turn("SearchContacts").await.expect("a turn again");
    }

    #[tokio::test]
    async fn a_connection_silent_past_the_preface_deadline_fails_and_one_that_speaks_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let permits = Arc::new(Semaphore::new(2));
        let (client, server) = tokio::io::duplex(64);
        let mut silent =
            Guarded::new(server, Arc::clone(&permits).try_acquire_owned().expect("permit"), Duration::from_millis(50));
        let mut buffer = [0u8; 8];
        let error = silent.read(&mut buffer).await.expect_err("timed out");
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        drop((silent, client));

        let (mut client, server) = tokio::io::duplex(64);
        let mut speaking =
            Guarded::new(server, Arc::clone(&permits).try_acquire_owned().expect("permit"), Duration::from_millis(50));
        client.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.expect("preface");
        let mut preface = [0u8; PREFACE_LEN];
        speaking.read_exact(&mut preface).await.expect("read");
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(b"later").await.expect("write");
        let read = speaking.read(&mut buffer).await.expect("no deadline once the preface arrived");
        assert_eq!(&buffer[..read], b"later");
        assert_eq!(permits.available_permits(), 1, "an open connection holds its permit");
        drop(speaking);
        assert_eq!(permits.available_permits(), 2, "a closed one gives it back");
    }

    #[tokio::test]
    async fn connections_over_the_maximum_are_closed_as_they_are_accepted() {
        use futures::StreamExt;
        let limits = Limits { max_connections: 2, ..Limits::default() };
        let accepted = futures::stream::iter((0..4).map(Ok::<_, std::convert::Infallible>));
        let guarded: Vec<_> = guard(accepted, &limits).collect().await;
        assert_eq!(guarded.len(), 2, "two kept open; the other two closed");
    }

    /// Every repeated field of every message a Liaison method takes, directly or nested, as `Message.field`.
    fn repeated_request_fields() -> std::collections::BTreeSet<String> {
        use prost::Message;
        use prost_types::field_descriptor_proto::{Label, Type};
        let set = prost_types::FileDescriptorSet::decode(liaison_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
        let mut messages = std::collections::HashMap::new();
        let mut inputs = Vec::new();
        for file in &set.file {
            for message in &file.message_type {
                messages.insert(format!(".{}.{}", file.package(), message.name()), message.clone());
            }
            for service in &file.service {
                inputs.extend(service.method.iter().map(|m| m.input_type().to_owned()));
            }
        }
        let mut fields = std::collections::BTreeSet::new();
        let mut seen = HashSet::new();
        while let Some(type_name) = inputs.pop() {
            if !seen.insert(type_name.clone()) {
                continue;
            }
            if type_name == ".google.protobuf.FieldMask" {
                fields.insert("FieldMask.paths".to_owned());
                continue;
            }
            let Some(message) = messages.get(&type_name) else { continue };
            for field in &message.field {
                if field.label() == Label::Repeated {
                    fields.insert(format!("{}.{}", message.name(), field.name()));
                }
                if field.r#type() == Type::Message {
                    inputs.push(field.type_name().to_owned());
                }
            }
        }
        fields
    }

    #[test]
    fn every_repeated_field_of_every_request_has_a_documented_maximum() {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/limits.md"));
        let fields = repeated_request_fields();
        assert!(fields.len() >= 30 && fields.contains("Consent.allowed_channels"), "{fields:?}");
        let missing: Vec<_> = fields.iter().filter(|f| !doc.contains(&format!("`{f}`"))).collect();
        assert!(
            missing.is_empty(),
            "repeated request fields without a documented maximum in docs/limits.md: {missing:?}"
        );
    }
}
