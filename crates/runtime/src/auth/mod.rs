//! Security, written once for every server: who is calling (bearer tokens verified against a JWKS, or the
//! development mode's asserted actor), what they may do (the role table), and the credentials a service presents
//! when it calls another on a person's behalf. The server builder's request-context layer asks the [`Gate`] about
//! every call before the service sees it; TLS lives in [`crate::net::tls`].
pub mod case_access;
pub mod credentials;
mod gate;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod policy;

pub use gate::{ACTOR_HEADER, Gate, GateError, ON_BEHALF_OF_HEADER};
pub use identity::{Caller, Identity, Role, Roles};
pub use jwt::{KeySource, TokenError, TokenSettings, Verifier};

/// How a server decides who is calling.
#[derive(Debug, Clone, Default)]
pub enum AuthSettings {
    /// Development (the all-in-one on loopback, tests): no token is needed; the `liaison-actor` metadata names
    /// the actor and every role is granted. A token that is sent is verified when keys are configured, so a
    /// walk-through can use real tokens and roles.
    #[default]
    Development,
    /// Development, and tokens that are sent are verified against these keys.
    DevelopmentWithTokens(TokenSettings),
    /// Every call except health and reflection needs a valid bearer token.
    Required(TokenSettings),
}
