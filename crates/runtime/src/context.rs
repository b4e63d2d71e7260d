//! The W3C trace context of the request being served, carried in a task-local so that the store can stamp it
//! on change rows and clients can forward it, without threading it through every signature.
use rand::Rng;
use std::future::Future;

tokio::task_local! {
    static CURRENT: TraceContext;
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

    #[tokio::test]
    async fn the_current_context_is_scoped_to_the_request() {
        let ctx = TraceContext::new_root();
        let seen = scope(ctx.clone(), async { current() }).await;
        assert_eq!(seen, ctx);
        assert_eq!(current(), TraceContext::default());
    }
}
