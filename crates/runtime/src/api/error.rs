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
        }
    }

    /// Whether this is a fault on our side (logged) rather than a mistake of the caller (not logged).
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::DeadlineExceeded { .. } | Self::Internal(_))
    }

    /// Whether the same request may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
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
            Self::Unauthenticated { reason, .. } | Self::PermissionDenied { reason, .. } => reason,
        }
    }

    /// Turns a `Status` received from another service back into an error of ours. `dependency` names the callee
    /// and the RPC, e.g. `contacts.BatchGetContacts`.
    pub fn from_status(dependency: &str, status: &Status) -> Self {
        match status.code() {
            Code::Unavailable | Code::ResourceExhausted => {
                Self::Unavailable { dependency: dependency.to_owned(), message: status.message().to_owned() }
            }
            Code::DeadlineExceeded | Code::Cancelled => Self::DeadlineExceeded { dependency: dependency.to_owned() },
            Code::NotFound => Self::NotFound { resource: status.message().to_owned() },
            // Our own credentials were refused: the operator must fix them, the caller cannot; said as such.
            Code::Unauthenticated | Code::PermissionDenied => {
                Self::Internal(format!("{dependency} refused this service's credentials: {}", status.message()))
            }
            _ => Self::Internal(format!("{dependency} answered {:?}: {}", status.code(), status.message())),
        }
    }
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
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                error.to_string()
            }
            Error::NotFound { resource } | Error::AlreadyExists { resource } | Error::Aborted { resource } => {
                metadata.insert("resource".to_owned(), resource.clone());
                error.to_string()
            }
            Error::FailedPrecondition { violations, .. } => {
                for v in violations {
                    details.add_precondition_failure_violation(
                        v.kind.clone(),
                        v.subject.clone(),
                        v.description.clone(),
                    );
                }
                error.to_string()
            }
            Error::Unavailable { dependency, .. } => {
                metadata.insert("dependency".to_owned(), dependency.clone());
                details.set_retry_info(Some(Duration::from_millis(500)));
                error.to_string()
            }
            Error::DeadlineExceeded { dependency } => {
                metadata.insert("dependency".to_owned(), dependency.clone());
                error.to_string()
            }
            Error::Unauthenticated { .. } => error.to_string(),
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
        Status::with_error_details(error.code(), message, details)
    }
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
    fn a_deadline_from_a_dependency_becomes_deadline_exceeded() {
        let status = Status::deadline_exceeded("timeout");
        assert!(matches!(Error::from_status("contacts.GetContact", &status), Error::DeadlineExceeded { .. }));
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
