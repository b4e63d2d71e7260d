//! The gate every call passes before its service sees it: authentication (bearer token, or development mode's
//! asserted actor), the forwarded person of a service-to-service call, and the role table.
use crate::api::error::{Error, FieldViolation};
use crate::auth::identity::{Caller, Identity, Role};
use crate::auth::jwt::{TokenError, Verifier};
use crate::auth::policy;
use crate::auth::{AuthSettings, Roles};
use std::net::SocketAddr;
use std::sync::Arc;

/// The metadata key a service uses to name the person it calls for (with its own token in `authorization`).
pub const ON_BEHALF_OF_HEADER: &str = "liaison-on-behalf-of";
/// The metadata key development-mode callers use to say who they act for.
pub const ACTOR_HEADER: &str = "liaison-actor";
const SUBJECT_MAX: usize = 200;

/// Decides who a call acts for and whether they may make it.
#[derive(Debug, Clone)]
pub struct Gate {
    mode: Mode,
}

#[derive(Debug, Clone)]
enum Mode {
    Development(Option<Arc<Verifier>>),
    Required(Arc<Verifier>),
}

/// Why the gate could not be set up (its keys could not be loaded).
#[derive(Debug, thiserror::Error)]
#[error("authentication keys: {0}")]
pub struct GateError(#[from] pub crate::auth::jwt::KeyError);

impl Gate {
    /// Development mode without keys: every call is let in, as its `liaison-actor` (or `anonymous`).
    pub fn development() -> Self {
        Self { mode: Mode::Development(None) }
    }

    /// Loads the keys the settings name (a JWKS file or URL is read now, so a bad one stops the start).
    pub async fn new(settings: &AuthSettings) -> Result<Self, GateError> {
        let mode = match settings {
            AuthSettings::Development => Mode::Development(None),
            AuthSettings::DevelopmentWithTokens(tokens) => {
                Mode::Development(Some(Arc::new(Verifier::new(tokens.clone()).await?)))
            }
            AuthSettings::Required(tokens) => Mode::Required(Arc::new(Verifier::new(tokens.clone()).await?)),
        };
        Ok(Self { mode })
    }

    /// Whether tokens that are sent are verified (always when they are required).
    pub fn verifies_tokens(&self) -> bool {
        matches!(self.mode, Mode::Required(_) | Mode::Development(Some(_)))
    }

    /// Whether every call needs a token.
    pub fn requires_tokens(&self) -> bool {
        matches!(self.mode, Mode::Required(_))
    }

    /// Who the call to `rpc` (`package.Service/Method`) with these headers acts for, if it may be made at all:
    /// UNAUTHENTICATED without a valid token (unless in development mode), PERMISSION_DENIED naming the roles
    /// needed when the caller has none of them.
    pub async fn admit(
        &self,
        headers: &http::HeaderMap,
        rpc: &str,
        source: Option<SocketAddr>,
    ) -> Result<Caller, Error> {
        let bearer = bearer_token(headers)?;
        let verifier = match &self.mode {
            Mode::Required(verifier) => Some(verifier),
            Mode::Development(verifier) => verifier.as_ref(),
        };
        let (identity, calling_service) = match (bearer, verifier) {
            (Some(token), Some(verifier)) => {
                let token_identity = verifier.verify(token).await.map_err(unauthenticated)?;
                on_behalf_of(headers, token_identity)?
            }
            (Some(_), None) => {
                return Err(Error::Unauthenticated {
                    reason: "TOKENS_NOT_CONFIGURED",
                    message: "this server verifies no tokens (development mode without keys): leave out the \
                              authorization metadata, or start it with keys (see docs/security.md)"
                        .to_owned(),
                });
            }
            (None, _) if self.requires_tokens() => {
                return Err(Error::Unauthenticated {
                    reason: "TOKEN_MISSING",
                    message: "this call needs a bearer token: send metadata `authorization: Bearer <token>`".to_owned(),
                });
            }
            (None, _) => (development_identity(headers)?, None),
        };
        let needed = policy::roles_for(rpc).unwrap_or(Roles::NONE);
        if !identity.roles.intersects(needed) {
            return Err(permission_denied(rpc, needed, identity.roles));
        }
        Ok(Caller { identity, calling_service, rpc: rpc.to_owned(), source })
    }
}

/// The token of `authorization: Bearer …`, if sent; a malformed header is refused rather than ignored.
fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&str>, Error> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || Error::Unauthenticated {
        reason: "TOKEN_MALFORMED",
        message: "the authorization metadata must be `Bearer <token>`".to_owned(),
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(token.trim()))
}

/// A service token may name the person it calls for; the call then acts as that person with the service's
/// roles, and the record names both. Any other token naming someone else is refused: a person cannot pose as
/// another.
fn on_behalf_of(headers: &http::HeaderMap, token: Identity) -> Result<(Identity, Option<String>), Error> {
    let Some(value) = headers.get(ON_BEHALF_OF_HEADER) else { return Ok((token, None)) };
    if !token.roles.contains(Role::Service) {
        return Err(Error::PermissionDenied {
            reason: "ON_BEHALF_OF_NOT_ALLOWED",
            message: format!(
                "only a token with the service role may act on behalf of someone else ({ON_BEHALF_OF_HEADER}); \
                 {} has {}",
                token.subject,
                if token.roles.is_empty() { "no roles".to_owned() } else { format!("roles {}", token.roles) }
            ),
            needed: Roles::of(&[Role::Service]),
        });
    }
    let person = subject_of(ON_BEHALF_OF_HEADER, value.as_bytes())?;
    let identity = Identity { subject: person, roles: token.roles, display_name: None, contact: None };
    Ok((identity, Some(token.subject)))
}

/// Development mode's caller: the `liaison-actor` metadata, else anonymous; every role.
fn development_identity(headers: &http::HeaderMap) -> Result<Identity, Error> {
    match headers.get(ACTOR_HEADER) {
        None => Ok(Identity::anonymous()),
        Some(value) => Ok(Identity::development(subject_of(ACTOR_HEADER, value.as_bytes())?)),
    }
}

/// A subject named in metadata: 1 to 200 printable characters.
pub(crate) fn subject_of(header: &str, raw: &[u8]) -> Result<String, Error> {
    let invalid = |why: &str| Error::InvalidArgument(vec![FieldViolation::new(header, why)]);
    let text = std::str::from_utf8(raw).map_err(|_| invalid("must be UTF-8 text"))?.trim();
    if text.is_empty() {
        return Err(invalid("must name who the caller acts for; leave the metadata out to act anonymously"));
    }
    if text.chars().count() > SUBJECT_MAX {
        return Err(invalid(&format!("must be at most {SUBJECT_MAX} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(text.to_owned())
}

fn unauthenticated(error: TokenError) -> Error {
    Error::Unauthenticated { reason: error.reason(), message: error.to_string() }
}

fn permission_denied(rpc: &str, needed: Roles, has: Roles) -> Error {
    let message = if needed.is_empty() {
        format!("{rpc} is not in the role table, so nobody may call it")
    } else {
        let has = if has.is_empty() { "no role".to_owned() } else { format!("only {has}") };
        format!("{rpc} needs one of the roles {needed}; the caller has {has}")
    };
    Error::PermissionDenied { reason: "ROLE_REQUIRED", message, needed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                http::HeaderValue::from_bytes(value).expect("value"),
            );
        }
        map
    }

    const GET_CONTACT: &str = "liaison.contacts.v1.ContactsService/GetContact";

    #[tokio::test]
    async fn development_mode_takes_the_actor_from_metadata_and_grants_every_role() {
        let gate = Gate::development();
        let caller = gate.admit(&headers(&[(ACTOR_HEADER, b" ada@office ")]), GET_CONTACT, None).await;
        let caller = caller.expect("admitted");
        assert_eq!(caller.subject(), "ada@office");
        assert_eq!(caller.identity.roles, Roles::ALL);
        assert_eq!(caller.rpc, GET_CONTACT);
        let anonymous = gate.admit(&headers(&[]), GET_CONTACT, None).await.expect("admitted");
        assert_eq!(anonymous.subject(), Identity::ANONYMOUS);
    }

    #[tokio::test]
    async fn a_bad_actor_is_refused_rather_than_recorded_as_someone_else() {
        let gate = Gate::development();
        for bad in [&b""[..], b"   ", b"a\tb", &[0xff, 0xfe], "x".repeat(201).as_bytes()] {
            let error = gate.admit(&headers(&[(ACTOR_HEADER, bad)]), GET_CONTACT, None).await.expect_err("refused");
            assert!(matches!(&error, Error::InvalidArgument(v) if v[0].field == ACTOR_HEADER), "{bad:?}: {error}");
        }
    }

    #[tokio::test]
    async fn a_token_sent_to_a_server_without_keys_is_refused_not_ignored() {
        let error = Gate::development()
            .admit(&headers(&[("authorization", b"Bearer abc")]), GET_CONTACT, None)
            .await
            .expect_err("refused");
        assert!(matches!(error, Error::Unauthenticated { reason: "TOKENS_NOT_CONFIGURED", .. }));
    }

    #[test]
    fn a_malformed_authorization_header_is_named() {
        for bad in ["Basic abc", "Bearer", "Bearer   ", "token"] {
            let error = bearer_token(&headers(&[("authorization", bad.as_bytes())])).expect_err(bad);
            assert!(matches!(error, Error::Unauthenticated { reason: "TOKEN_MALFORMED", .. }), "{bad}");
        }
        assert_eq!(bearer_token(&headers(&[("authorization", b"bearer x.y.z")])).ok().flatten(), Some("x.y.z"));
    }

    #[test]
    fn only_a_service_token_may_name_someone_else() {
        let officer =
            Identity { subject: "jane".into(), roles: Roles::of(&[Role::Officer]), display_name: None, contact: None };
        let error = on_behalf_of(&headers(&[(ON_BEHALF_OF_HEADER, b"boss")]), officer.clone()).expect_err("refused");
        assert!(matches!(error, Error::PermissionDenied { reason: "ON_BEHALF_OF_NOT_ALLOWED", .. }));
        assert_eq!(on_behalf_of(&headers(&[]), officer.clone()).ok(), Some((officer, None)));

        let service = Identity {
            subject: "service:scheduling".into(),
            roles: Roles::of(&[Role::Service]),
            display_name: None,
            contact: None,
        };
        let (person, via) = on_behalf_of(&headers(&[(ON_BEHALF_OF_HEADER, b"jane")]), service).expect("forwarded");
        assert_eq!((person.subject.as_str(), via.as_deref()), ("jane", Some("service:scheduling")));
        assert_eq!(person.roles, Roles::of(&[Role::Service]), "the forwarded call has the service's roles only");
    }

    #[test]
    fn permission_denied_names_the_roles_needed() {
        let error = permission_denied(GET_CONTACT, Roles::of(&[Role::Officer, Role::Admin]), Roles::NONE);
        assert!(error.to_string().contains("officer, admin"), "{error}");
    }
}
