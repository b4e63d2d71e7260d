//! The W3C trace context and the caller of the request being served, carried in task-locals so that the store
//! can stamp them on change rows and clients can forward them, without threading them through every signature.
use rand::Rng;
use std::future::Future;

tokio::task_local! {
    static CURRENT: TraceContext;
    static CALLER: Caller;
}

pub use crate::auth::Caller;

/// Who the request being served acts for and how it reached us (the gate's answer); outside a request, the
/// anonymous background caller.
pub fn caller() -> Caller {
    CALLER.try_with(Clone::clone).unwrap_or_else(|_| Caller::background())
}

/// Runs `future` on behalf of `caller`.
pub async fn with_caller<F: Future>(caller: Caller, future: F) -> F::Output {
    CALLER.scope(caller, future).await
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
