//! The W3C trace context of the request being served, carried in a task-local so that the store can stamp it
//! on change rows and clients can forward it, without threading it through every signature.
use rand::Rng;
use std::future::Future;

tokio::task_local! {
    static CURRENT: TraceContext;
    static ACTOR: Actor;
}

/// Who a request acts for, as recorded on the change rows it writes. Until authentication lands this is what the
/// caller asserts in the `liaison-actor` metadata (1 to 200 printable characters), else `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

/// The metadata key callers use to say who they act for.
pub const ACTOR_HEADER: &str = "liaison-actor";
const ACTOR_MAX: usize = 200;

impl Actor {
    pub fn anonymous() -> Self {
        Self("anonymous".to_owned())
    }

    /// The actor a request names: `anonymous` when it names none; an error saying what is wrong when the value is
    /// empty, unprintable or over-long (it would otherwise be recorded as someone else in every change).
    pub fn from_header(value: Option<&[u8]>) -> Result<Self, crate::api::error::FieldViolation> {
        let Some(raw) = value else { return Ok(Self::anonymous()) };
        let invalid = |why: &str| crate::api::error::FieldViolation::new(ACTOR_HEADER, why);
        let text = std::str::from_utf8(raw).map_err(|_| invalid("must be UTF-8 text"))?.trim();
        if text.is_empty() {
            return Err(invalid("must name who the caller acts for; leave the metadata out to act anonymously"));
        }
        if text.chars().count() > ACTOR_MAX {
            return Err(invalid(&format!("must be at most {ACTOR_MAX} characters")));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The actor of the request being served (`anonymous` outside a request).
pub fn actor() -> Actor {
    ACTOR.try_with(Clone::clone).unwrap_or_else(|_| Actor::anonymous())
}

/// Runs `future` on behalf of `actor`.
pub async fn with_actor<F: Future>(actor: Actor, future: F) -> F::Output {
    ACTOR.scope(actor, future).await
}

/// W3C `traceparent` / `tracestate` of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    pub traceparent: String,
    pub tracestate: String,
}

impl TraceContext {
    /// The context received, or a fresh root when the caller sent none or a malformed one.
    pub fn from_incoming(traceparent: Option<&str>, tracestate: Option<&str>) -> Self {
        match traceparent.filter(|t| is_valid_traceparent(t)) {
            Some(parent) => {
                Self { traceparent: parent.to_owned(), tracestate: tracestate.unwrap_or_default().to_owned() }
            }
            None => Self::new_root(),
        }
    }

    /// A new trace with a random trace id and span id, sampled.
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        let trace_id: u128 = rng.random_range(1..=u128::MAX);
        let span_id: u64 = rng.random_range(1..=u64::MAX);
        Self { traceparent: format!("00-{trace_id:032x}-{span_id:016x}-01"), tracestate: String::new() }
    }

    /// The trace id (32 hex digits).
    pub fn trace_id(&self) -> &str {
        self.traceparent.get(3..35).unwrap_or_default()
    }
}

fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 4
        && parts[0].len() == 2
        && parts[1].len() == 32
        && parts[2].len() == 16
        && parts[3].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts[1] != "00000000000000000000000000000000"
        && parts[2] != "0000000000000000"
}

/// The context of the request this task serves (empty outside a request).
pub fn current() -> TraceContext {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

/// The context to hand on (to a call or a change row): the current OpenTelemetry span when traces are exported,
/// otherwise the request's own context.
pub fn outgoing() -> TraceContext {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let otel = tracing::Span::current().context();
    let span = otel.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        TraceContext {
            traceparent: format!(
                "00-{}-{}-{:02x}",
                span_context.trace_id(),
                span_context.span_id(),
                span_context.trace_flags().to_u8()
            ),
            tracestate: span_context.trace_state().header(),
        }
    } else {
        current()
    }
}

/// The remote span context a traceparent names, for links (reporting links its work to the writes it ingests).
pub fn remote_span_context(traceparent: &str, tracestate: &str) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    if !is_valid_traceparent(traceparent) {
        return None;
    }
    let parts: Vec<&str> = traceparent.split('-').collect();
    let trace_id = TraceId::from_hex(parts[1]).ok()?;
    let span_id = SpanId::from_hex(parts[2]).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(parts[3], 16).ok()?);
    let state = tracestate.parse::<TraceState>().unwrap_or_default();
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}

impl TraceContext {
    /// This context as seen by a server that continues it: same trace, a new span id of its own.
    pub fn child(&self) -> Self {
        let span_id: u64 = rand::rng().random_range(1..=u64::MAX);
        match self.traceparent.get(..36) {
            Some(prefix) if is_valid_traceparent(&self.traceparent) => Self {
                traceparent: format!("{}{span_id:016x}{}", prefix, self.traceparent.get(52..).unwrap_or("-01")),
                tracestate: self.tracestate.clone(),
            },
            _ => Self::new_root(),
        }
    }

    /// The span id (16 hex digits).
    pub fn span_id(&self) -> &str {
        self.traceparent.get(36..52).unwrap_or_default()
    }
}

/// Runs `future` with `context` as the current trace context.
pub async fn scope<F: Future>(context: TraceContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_is_taken_from_metadata_and_an_invalid_one_is_refused() {
        assert_eq!(Actor::from_header(Some(b" ada@office ")).map(|a| a.as_str().to_owned()), Ok("ada@office".into()));
        assert_eq!(Actor::from_header(None), Ok(Actor::anonymous()));
        assert_eq!(Actor::from_header(Some("Zoë Ødegård".as_bytes())).map(|a| a.0), Ok("Zoë Ødegård".into()));
        for bad in [&b""[..], b"   ", b"a\x07b", &[0xff, 0xfe], "x".repeat(201).as_bytes()] {
            let violation = Actor::from_header(Some(bad)).expect_err("refused");
            assert_eq!(violation.field, ACTOR_HEADER, "{bad:?}");
        }
    }

    #[test]
    fn a_valid_traceparent_is_kept_and_a_bad_one_replaced() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceContext::from_incoming(Some(parent), None).traceparent, parent);
        let fresh = TraceContext::from_incoming(Some("garbage"), None);
        assert!(is_valid_traceparent(&fresh.traceparent));
        assert_eq!(fresh.trace_id().len(), 32);
    }

    #[test]
    fn a_child_keeps_the_trace_and_gets_its_own_span() {
        let parent = TraceContext::from_incoming(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), None);
        let child = parent.child();
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.span_id(), parent.span_id());
        assert!(is_valid_traceparent(&child.traceparent), "{}", child.traceparent);
        assert!(remote_span_context(&child.traceparent, "").is_some());
    }

    #[tokio::test]
    async fn the_current_context_is_scoped_to_the_request() {
        let ctx = TraceContext::new_root();
        let seen = scope(ctx.clone(), async { current() }).await;
        assert_eq!(seen, ctx);
        assert_eq!(current(), TraceContext::default());
    }
}
