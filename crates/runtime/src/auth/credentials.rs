//! The credentials a service presents when it calls another: a bearer token read from a file (written by the
//! issuer, a sidecar or `liaison dev-pki`), re-read when the file changes so a renewed token is used without a
//! restart. SKELETON: filled in by the JWT work; the signatures below are the contract the clients rely on.
use std::path::PathBuf;

/// Why the credentials cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("service token {path}: {message}")]
pub struct CredentialsError {
    pub path: PathBuf,
    pub message: String,
}

/// This service's own token, for calls to other services.
#[derive(Debug)]
pub struct ServiceCredentials {
    path: PathBuf,
}

impl ServiceCredentials {
    /// Reads the token file now (a missing or empty file stops the start).
    pub fn from_file(path: PathBuf) -> Result<Self, CredentialsError> {
        Ok(Self { path })
    }

    /// The current token (re-read if the file changed).
    pub fn token(&self) -> Result<String, CredentialsError> {
        Err(CredentialsError { path: self.path.clone(), message: "not built yet".into() })
    }
}
