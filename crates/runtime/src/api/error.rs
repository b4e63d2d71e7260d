//! The one error vocabulary of Liaison and its one mapping to `tonic::Status`.
//!
//! Every service returns [`Error`]; only this module builds a `Status` (grep for `Status::new` / `with_error_details`
//! elsewhere should find nothing). The same table answers "is this our fault?" (logged once, here) and "may the
//! caller retry?" (RetryInfo). [`Error::from_status`] is the inverse used by service-to-service clients.
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain that `google.rpc.ErrorInfo` names.
pub const ERROR_DOMAIN: &str = "liaison";

/// One bad field of a request: which one (a path such as `contact.email` or `participants[2]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl From<FieldViolation> for Vec<FieldViolation> {
    fn from(violation: FieldViolation) -> Self {
        vec![violation]
    }
}

/// One unmet precondition: its type (e.g. `PARTICIPANT_NOT_FOUND`), its subject (a resource name) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    pub kind: String,
    pub subject: String,
    pub description: String,
}

/// Everything that can go wrong in a request, in the terms a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed; every bad field is named.
    #[error("invalid argument: {}", describe_fields(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The named resource does not exist.
    #[error("{resource} not found")]
    NotFound { resource: String },
    /// The resource to create exists already.
    #[error("{resource} already exists")]
    AlreadyExists { resource: String },
    /// The request is well-formed but the system is not in a state that allows it.
    #[error("failed precondition ({reason}): {}", describe_preconditions(.violations))]
    FailedPrecondition { reason: &'static str, violations: Vec<PreconditionViolation> },
    /// The request lost a race (a stale etag); nothing was changed.
    #[error("{resource} changed since it was read (stale etag); read it again and retry")]
    Aborted { resource: String },
    /// A dependency (the database or another service) cannot be reached now; retrying later may succeed.
    #[error("{dependency} is unavailable: {message}")]
    Unavailable { dependency: String, message: String },
    /// A dependency did not answer within the deadline.
    #[error("{dependency} did not answer within the deadline")]
    DeadlineExceeded { dependency: String },
    /// A fault of ours; the message is for the log, the caller gets a generic text.
    #[error("internal error: {0}")]
    Internal(String),
    /// The call carries no valid credentials; `reason` says which check failed (e.g. `TOKEN_EXPIRED`).
    #[error("unauthenticated: {message}")]
    Unauthenticated { reason: &'static str, message: String },
    /// The caller is known but may not do this; `needed` are the roles that may.
    #[error("permission denied: {message}")]
    PermissionDenied { reason: &'static str, message: String, needed: crate::auth::Roles },
    /// A limit was reached (the caller's rate, the server's capacity, a queue); retrying after `retry_after`
    /// may succeed. `reason` names the limit (e.g. `RATE_LIMITED`), `message` says which and its value.
    #[error("resource exhausted: {message}")]
    ResourceExhausted { reason: &'static str, message: String, retry_after: Duration },
}

/// Result with the Liaison [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn describe_fields(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

fn describe_preconditions(violations: &[PreconditionViolation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.subject, v.description)).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// One bad field, from a parser's violation.
    pub fn from_violation(violation: FieldViolation) -> Self {
        Self::InvalidArgument(vec![violation])
    }

    /// The gRPC code of this error: the one table.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::Aborted { .. } => Code::Aborted,
            Self::Unavailable { .. } => Code::Unavailable,
            Self::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            Self::Internal(_) => Code::Internal,
            Self::Unauthenticated { .. } => Code::Unauthenticated,
            Self::PermissionDenied { .. } => Code::PermissionDenied,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
        }
    }

    /// Whether this is a fault on our side (logged) rather than a mistake of the caller (not logged).
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::DeadlineExceeded { .. } | Self::Internal(_))
    }

    /// Whether the same request may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::ResourceExhausted { .. })
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::NotFound { .. } => "RESOURCE_NOT_FOUND",
            Self::AlreadyExists { .. } => "RESOURCE_ALREADY_EXISTS",
            Self::FailedPrecondition { reason, .. } => reason,
            Self::Aborted { .. } => "STALE_ETAG",
            Self::Unavailable { .. } => "DEPENDENCY_UNAVAILABLE",
            Self::DeadlineExceeded { .. } => "DEPENDENCY_DEADLINE_EXCEEDED",
            Self::Internal(_) => "INTERNAL",
            Self::Unauthenticated { reason, .. }
            | Self::PermissionDenied { reason, .. }
            | Self::ResourceExhausted { reason, .. } => reason,
        }
    }

    /// Turns a `Status` received from another service back into an error of ours. `dependency` names the callee
    /// and the RPC, e.g. `contacts.BatchGetContacts`.
    pub fn from_status(dependency: &str, status: &Status) -> Self {
        if connection_broke(status) {
            return Self::Unavailable {
                dependency: dependency.to_owned(),
                message: format!("the connection broke during the call: {}", status.message()),
            };
        }
        match status.code() {
            Code::Unavailable | Code::ResourceExhausted => {
                Self::Unavailable { dependency: dependency.to_owned(), message: status.message().to_owned() }
            }
            Code::DeadlineExceeded | Code::Cancelled => Self::DeadlineExceeded { dependency: dependency.to_owned() },
            // The peer's answer (or our request) exceeded a message limit: said as such, not as an internal fault
            // of the peer's.
            Code::OutOfRange => Self::Unavailable {
                dependency: dependency.to_owned(),
                message: format!("a message exceeded the size limit: {}", status.message()),
            },
            Code::NotFound => Self::NotFound { resource: status.message().to_owned() },
            // The callee's refusals that the caller can act on travel on as they came: each violation with its
            // own type and subject (a double booking found by scheduling, say), each bad field by its name.
            Code::FailedPrecondition => {
                let details = status.get_error_details();
                let mut violations: Vec<PreconditionViolation> = (details.precondition_failure().iter())
                    .flat_map(|failure| failure.violations.iter())
                    .map(|v| PreconditionViolation {
                        kind: v.r#type.clone(),
                        subject: v.subject.clone(),
                        description: format!("{dependency}: {}", v.description),
                    })
                    .collect();
                if violations.is_empty() {
                    violations.push(PreconditionViolation {
                        kind: "REFUSED_BY_DEPENDENCY".into(),
                        subject: dependency.to_owned(),
                        description: status.message().to_owned(),
                    });
                }
                Self::FailedPrecondition { reason: "REFUSED_BY_DEPENDENCY", violations }
            }
            Code::InvalidArgument => {
                let details = status.get_error_details();
                let violations: Vec<FieldViolation> = (details.bad_request().iter())
                    .flat_map(|request| request.field_violations.iter())
                    .map(|v| FieldViolation::new(v.field.clone(), format!("{dependency}: {}", v.description)))
                    .collect();
                if violations.is_empty() {
                    Self::Internal(format!("{dependency} answered INVALID_ARGUMENT: {}", status.message()))
                } else {
                    Self::InvalidArgument(violations)
                }
            }
            // Our own credentials were refused: the operator must fix them, the caller cannot; said as such.
            Code::Unauthenticated | Code::PermissionDenied => {
                Self::Internal(format!("{dependency} refused this service's credentials: {}", status.message()))
            }
            _ => Self::Internal(format!("{dependency} answered {:?}: {}", status.code(), status.message())),
        }
    }
}

/// Whether `status` is no answer of the peer's but the client library's account of a connection that broke under
/// the call (the peer killed or restarted while it ran): tonic says it as UNKNOWN ("transport error") or INTERNAL
/// ("h2 protocol error: …"), with the transport, HTTP or I/O error as its source — a status the peer sent has
/// none. The peer is unavailable, not faulty: the caller may retry, as after UNAVAILABLE.
fn connection_broke(status: &Status) -> bool {
    if status.code() == Code::Cancelled {
        // A request hyper never sent, the connection going away under it (the peer's GOAWAY as it drains for a
        // restart): tonic says CANCELLED "operation was canceled", hyper's error in its source chain. A deadline
        // that ran out is CANCELLED too, but with tonic's own timeout as its source.
        let mut source = std::error::Error::source(status);
        while let Some(error) = source {
            if error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_canceled) {
                return true;
            }
            source = error.source();
        }
        return false;
    }
    if !matches!(status.code(), Code::Unknown | Code::Internal) {
        return false;
    }
    let mut source = std::error::Error::source(status);
    let local = source.is_some();
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() || error.is::<hyper::Error>() || error.is::<std::io::Error>() {
            return true;
        }
        source = error.source();
    }
    // An HTTP/2 error of the connection (a GOAWAY or a reset after a proxy cut the connection mid-frame) may come
    // with the h2 error alone as its source, a type this crate does not name; tonic says it in these words.
    local && (status.message().starts_with("h2 protocol error") || status.message() == "transport error")
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        if error.is_server_fault() {
            tracing::error!(code = ?error.code(), error = %error, "request failed");
        }
        let mut details = ErrorDetails::new();
        let mut metadata = std::collections::HashMap::new();
        let message = match &error {
            Error::InvalidArgument(violations) => {
                let sent = Sent::choose(violations.iter().map(|v| [v.field.as_str(), v.description.as_str()]));
                for [field, description] in &sent.items {
                    details.add_bad_request_violation(field.clone(), description.clone());
                }
                sent.describe(&mut metadata, "invalid argument", |[field, description]| {
                    format!("{field}: {description}")
                })
            }
            Error::NotFound { resource } | Error::AlreadyExists { resource } | Error::Aborted { resource } => {
                metadata.insert("resource".to_owned(), resource.clone());
                error.to_string()
            }
            Error::FailedPrecondition { violations, reason } => {
                let sent = Sent::choose(
                    violations.iter().map(|v| [v.kind.as_str(), v.subject.as_str(), v.description.as_str()]),
                );
                for [kind, subject, description] in &sent.items {
                    details.add_precondition_failure_violation(kind.clone(), subject.clone(), description.clone());
                }
                sent.describe(&mut metadata, &format!("failed precondition ({reason})"), |[_, subject, description]| {
                    format!("{subject}: {description}")
                })
            }
            Error::Unavailable { dependency, .. } => {
                metadata.insert("dependency".to_owned(), dependency.clone());
                details.set_retry_info(Some(Duration::from_millis(500)));
                // Which dependency, not its socket error or the database's own words: those are in the log.
                format!("{dependency} is unavailable; retry shortly")
            }
            Error::DeadlineExceeded { dependency } => {
                metadata.insert("dependency".to_owned(), dependency.clone());
                error.to_string()
            }
            Error::Unauthenticated { .. } => error.to_string(),
            Error::ResourceExhausted { retry_after, .. } => {
                details.set_retry_info(Some(*retry_after));
                error.to_string()
            }
            Error::PermissionDenied { needed, .. } => {
                metadata.insert(
                    "required_roles".to_owned(),
                    needed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
                );
                error.to_string()
            }
            // The cause is in the log; callers get no internals.
            Error::Internal(_) => "internal error".to_owned(),
        };
        details.set_error_info(error.reason(), ERROR_DOMAIN, metadata);
        Status::with_error_details(error.code(), clip_message(message), details)
    }
}

/// At most this many violations travel in one answer's details; the rest are counted ("and N more").
pub const MAX_VIOLATIONS_SENT: usize = 50;
/// The violations' texts (fields, subjects, descriptions) of one answer, in bytes before base64.
const MAX_DETAIL_BYTES: usize = 3 * 1024;
/// One text of one violation (they may echo what the caller sent), in bytes.
const MAX_TEXT_BYTES: usize = 256;
/// The status message as it travels (`grpc-message`, percent-encoded), in bytes.
pub const MAX_MESSAGE_BYTES: usize = 3 * 1024;

/// The part of a long list of violations that is sent: the status travels in HTTP/2 trailers, which a client
/// refuses beyond 16 KiB (hyper's default; the connection fails with COMPRESSION_ERROR and the caller learns
/// nothing), and carries the message twice (`grpc-message`, and inside `grpc-status-details-bin` with the
/// details, base64-encoded). So one answer carries at most [`MAX_VIOLATIONS_SENT`] violations, each text cut to
/// [`MAX_TEXT_BYTES`], within [`MAX_DETAIL_BYTES`] in all, and a message within [`MAX_MESSAGE_BYTES`] — about
/// 11 KiB of trailers at worst — and says how many were left out.
struct Sent<const N: usize> {
    items: Vec<[String; N]>,
    left_out: usize,
}

impl<const N: usize> Sent<N> {
    fn choose<'a>(all: impl ExactSizeIterator<Item = [&'a str; N]>) -> Self {
        let total = all.len();
        let mut items = Vec::new();
        let mut bytes = 0;
        for texts in all.take(MAX_VIOLATIONS_SENT) {
            let texts = texts.map(|text| clip(text, MAX_TEXT_BYTES).into_owned());
            bytes += texts.iter().map(String::len).sum::<usize>();
            if bytes > MAX_DETAIL_BYTES {
                break;
            }
            items.push(texts);
        }
        let left_out = total - items.len();
        Self { items, left_out }
    }

    /// The message listing what is sent, and the count of the rest (also in ErrorInfo's `violations_left_out`).
    fn describe(
        &self,
        metadata: &mut std::collections::HashMap<String, String>,
        what: &str,
        line: impl Fn(&[String; N]) -> String,
    ) -> String {
        let listed = format!("{what}: {}", self.items.iter().map(line).collect::<Vec<_>>().join("; "));
        if self.left_out == 0 {
            return listed;
        }
        metadata.insert("violations_left_out".to_owned(), self.left_out.to_string());
        // The count survives the cut of a long message.
        let more = format!("; and {} more", self.left_out);
        let room = MAX_MESSAGE_BYTES - more.chars().map(encoded_len).sum::<usize>();
        format!("{}{more}", clip_encoded(&listed, room))
    }
}

/// `text` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// `message` cut so that its percent-encoded form (what `grpc-message` carries) stays within
/// [`MAX_MESSAGE_BYTES`].
fn clip_message(message: String) -> String {
    match clip_encoded(&message, MAX_MESSAGE_BYTES) {
        std::borrow::Cow::Borrowed(_) => message,
        std::borrow::Cow::Owned(clipped) => clipped,
    }
}

/// The bytes `c` takes in `grpc-message`: tonic percent-encodes controls, non-ASCII bytes, the space and a few
/// signs.
fn encoded_len(c: char) -> usize {
    if c.is_ascii_graphic() && !matches!(c, '"' | '#' | '%' | '<' | '>' | '`' | '?' | '{' | '}') {
        1
    } else {
        3 * c.len_utf8()
    }
}

/// `text` cut at a character boundary so that, percent-encoded, it takes at most `budget` bytes (with `…`).
fn clip_encoded(text: &str, budget: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().map(encoded_len).sum::<usize>() <= budget {
        return text.into();
    }
    let mut cost = encoded_len('…');
    let end = text
        .char_indices()
        .find(|(_, c)| {
            cost += encoded_len(*c);
            cost > budget
        })
        .map_or(text.len(), |(index, _)| index);
    format!("{}…", &text[..end]).into()
}

/// Builds a Status for a transport-level problem that happens outside a service (e.g. an unknown feed cursor
/// discovered mid-stream). Kept here so that `Status` is built in this module only.
pub fn status_of(error: Error) -> Status {
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_bad_field_in_a_bad_request() {
        let status: Status = Error::InvalidArgument(vec![
            FieldViolation::new("contact.email", "not an email address"),
            FieldViolation::new("contact.time_zone", "unknown time zone"),
        ])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad_request = details.bad_request().expect("bad request details");
        let fields: Vec<_> = bad_request.field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["contact.email", "contact.time_zone"]);
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("INVALID_ARGUMENT"));
    }

    #[test]
    fn unavailable_carries_retry_info_and_round_trips_to_unavailable() {
        let status: Status =
            Error::Unavailable { dependency: "contacts".into(), message: "connection refused".into() }.into();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.get_error_details().retry_info().is_some());
        assert!(matches!(Error::from_status("contacts.BatchGetContacts", &status), Error::Unavailable { .. }));
    }

    #[test]
    fn unavailable_names_the_dependency_and_keeps_its_socket_error_for_the_log() {
        let error =
            Error::Unavailable { dependency: "database".into(), message: "connect to 10.0.0.7:5432: refused".into() };
        assert!(error.to_string().contains("10.0.0.7"), "the log keeps the cause");
        let status: Status = error.into();
        assert_eq!(status.message(), "database is unavailable; retry shortly");
    }

    #[test]
    fn a_peers_out_of_range_is_not_an_internal_error() {
        let status = Status::out_of_range("decoded message length too large");
        let error = Error::from_status("contacts.BatchGetContacts", &status);
        assert!(
            matches!(&error, Error::Unavailable { dependency, .. } if dependency == "contacts.BatchGetContacts"),
            "{error:?}"
        );
    }

    #[test]
    fn a_deadline_from_a_dependency_becomes_deadline_exceeded() {
        let status = Status::deadline_exceeded("timeout");
        assert!(matches!(Error::from_status("contacts.GetContact", &status), Error::DeadlineExceeded { .. }));
    }

    #[test]
    fn a_connection_broken_under_a_call_is_unavailable_not_internal() {
        // What tonic makes of a connection that broke mid-call: UNKNOWN, the I/O error as its source.
        let broken = Status::from_error(Box::new(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "broken pipe")));
        assert_eq!(broken.code(), Code::Unknown);
        let error = Error::from_status("contacts.BatchGetContacts", &broken);
        assert!(matches!(&error, Error::Unavailable { dependency, .. } if dependency == "contacts.BatchGetContacts"));
        // The peer's own INTERNAL (no source) stays INTERNAL.
        let answered = Error::from_status("contacts.BatchGetContacts", &Status::internal("internal error"));
        assert!(matches!(answered, Error::Internal(_)), "{answered:?}");
        // An HTTP/2 error of the connection whose source is an error of no type this crate names (h2's).
        #[derive(Debug)]
        struct H2;
        impl std::fmt::Display for H2 {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connection error detected: frame with invalid size")
            }
        }
        impl std::error::Error for H2 {}
        let mut h2 = Status::internal("h2 protocol error: http2 error");
        h2.set_source(std::sync::Arc::new(H2));
        assert!(matches!(Error::from_status("contacts.BatchGetContacts", &h2), Error::Unavailable { .. }));
        // The same words from the peer (no source) are the peer's.
        let said = Error::from_status("contacts.BatchGetContacts", &Status::internal("h2 protocol error: http2 error"));
        assert!(matches!(said, Error::Internal(_)), "{said:?}");
    }

    #[test]
    fn internal_errors_hide_their_cause_from_the_caller() {
        let status: Status = Error::Internal("disk on fire".into()).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("disk"));
    }

    #[test]
    fn refusals_carry_their_reason_and_the_roles_needed() {
        let status: Status =
            Error::Unauthenticated { reason: "TOKEN_EXPIRED", message: "the token expired".into() }.into();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.get_error_details().error_info().map(|i| i.reason.as_str()), Some("TOKEN_EXPIRED"));
        let needed = crate::auth::Roles::of(&[crate::auth::Role::Officer, crate::auth::Role::Admin]);
        let status: Status =
            Error::PermissionDenied { reason: "ROLE_REQUIRED", message: "needs officer".into(), needed }.into();
        assert_eq!(status.code(), Code::PermissionDenied);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.metadata.get("required_roles").map(String::as_str), Some("officer,admin"));
    }

    /// What a client counts against its 16 KiB limit on a header list (RFC 9113 §6.5.2): each field's name and
    /// value plus 32.
    fn header_list_size(status: Status) -> usize {
        let response: http::Response<()> = status.into_http();
        response.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 32).sum()
    }

    #[test]
    fn a_flood_of_violations_is_capped_counted_and_fits_a_clients_header_limit() {
        let long = "é".repeat(10_000);
        let violations: Vec<_> =
            (0..1000).map(|i| FieldViolation::new(format!("update_mask.paths[{i}]"), long.clone())).collect();
        let status: Status = Error::InvalidArgument(violations).into();
        let details = status.get_error_details();
        let sent = details.bad_request().expect("bad request").field_violations.len();
        assert!((1..=MAX_VIOLATIONS_SENT).contains(&sent), "{sent} violations sent");
        let info = details.error_info().expect("error info");
        let left_out = info.metadata.get("violations_left_out").map(String::as_str);
        assert_eq!(left_out, Some((1000 - sent).to_string().as_str()));
        assert!(status.message().ends_with(&format!("; and {} more", 1000 - sent)), "{}", status.message());
        assert!(status.message().starts_with("invalid argument: update_mask.paths[0]: éé"));
        let size = header_list_size(status);
        assert!(size < 12 * 1024, "{size}: a client refuses more than 16 KiB");
    }

    #[test]
    fn a_flood_of_unmet_preconditions_is_capped_too() {
        let violations: Vec<_> = (0..5000)
            .map(|i| PreconditionViolation {
                kind: "SCHEDULING_CONFLICT".into(),
                subject: format!("contacts/{i}"),
                description: "busy ".repeat(200),
            })
            .collect();
        let status: Status = Error::FailedPrecondition { reason: "SCHEDULING_CONFLICT", violations }.into();
        let sent = status.get_error_details().precondition_failure().expect("failure").violations.len();
        assert!((1..=MAX_VIOLATIONS_SENT).contains(&sent));
        assert!(status.message().ends_with(&format!("and {} more", 5000 - sent)), "{}", status.message());
        let size = header_list_size(status);
        assert!(size < 12 * 1024, "{size}: a client refuses more than 16 KiB");
    }

    #[test]
    fn a_few_violations_travel_whole() {
        let violations = vec![FieldViolation::new("a", "x".repeat(200)), FieldViolation::new("b", "short")];
        let status: Status = Error::InvalidArgument(violations.clone()).into();
        assert_eq!(status.message(), Error::InvalidArgument(violations).to_string());
        assert!(!status.get_error_details().error_info().expect("info").metadata.contains_key("violations_left_out"));
    }

    #[test]
    fn a_long_message_is_cut_to_its_encoded_limit_at_a_character_boundary() {
        let status: Status = Error::NotFound { resource: format!("contacts/{}", "€".repeat(5000)) }.into();
        assert!(status.message().ends_with('…'));
        let response: http::Response<()> = status.into_http();
        let sent = response.headers().get("grpc-message").map(|m| m.len());
        assert!(sent.is_some_and(|len| (MAX_MESSAGE_BYTES - 9..=MAX_MESSAGE_BYTES).contains(&len)), "{sent:?}");
    }

    #[test]
    fn resource_exhausted_says_when_to_retry() {
        let error = Error::ResourceExhausted {
            reason: "RATE_LIMITED",
            message: "over 100 calls per second".into(),
            retry_after: Duration::from_millis(250),
        };
        assert!(error.is_retryable() && !error.is_server_fault());
        let status: Status = error.into();
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(details.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_millis(250)));
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("RATE_LIMITED"));
    }

    #[test]
    fn precondition_failures_are_listed() {
        let status: Status = Error::FailedPrecondition {
            reason: "PARTICIPANT_NOT_FOUND",
            violations: vec![PreconditionViolation {
                kind: "PARTICIPANT_NOT_FOUND".into(),
                subject: "contacts/x".into(),
                description: "no such contact".into(),
            }],
        }
        .into();
        let details = status.get_error_details();
        let failure = details.precondition_failure().expect("precondition failure");
        assert_eq!(failure.violations[0].subject, "contacts/x");
    }
}
