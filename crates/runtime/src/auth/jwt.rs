//! Bearer-token verification (JWT with `jsonwebtoken`, `rust_crypto` backend). SKELETON: filled in by the JWT
//! work; the signatures below are the contract the gate relies on.
use crate::auth::identity::Identity;
use std::path::PathBuf;
use std::time::Duration;

/// Where the verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document on disk (re-read on the refresh timer and on an unknown `kid`).
    JwksFile(PathBuf),
    /// A JWKS served over HTTPS; `ca_file` overrides the web PKI roots (e.g. a private issuer).
    JwksUrl { url: String, ca_file: Option<PathBuf> },
    /// A JWKS held in memory (the development key, tests).
    Jwks(String),
    /// HS256 with a shared secret: development only, configured explicitly.
    SharedSecret(Vec<u8>),
}

/// What a valid token must be.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub keys: KeySource,
    /// The required `iss`.
    pub issuer: String,
    /// The required `aud` (one of the token's audiences).
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often a JWKS file or URL is re-read.
    pub refresh: Duration,
    /// The least time between two re-reads prompted by unknown `kid`s.
    pub refetch_floor: Duration,
}

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
}

/// Why a token was refused; each has a stable reason for `google.rpc.ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
}

impl TokenError {
    /// The ErrorInfo reason, e.g. `TOKEN_EXPIRED`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "TOKEN_MALFORMED",
        }
    }
}

/// Verifies bearer tokens against the configured keys, caching verified tokens until they expire.
#[derive(Debug)]
pub struct Verifier {
    settings: TokenSettings,
}

impl Verifier {
    pub async fn new(settings: TokenSettings) -> Result<Self, KeyError> {
        Ok(Self { settings })
    }

    pub async fn verify(&self, _token: &str) -> Result<Identity, TokenError> {
        let _ = &self.settings;
        Err(TokenError::Malformed)
    }
}
