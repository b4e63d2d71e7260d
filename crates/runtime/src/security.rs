//! A process's security, built once from its settings and shared by the services it runs: the gate (who is
//! calling, what they may do), TLS for the server and for calls to peers, and the service's own credentials.
use crate::auth::credentials::{CredentialsError, ServiceCredentials};
use crate::auth::{AuthSettings, Gate, GateError};
use crate::net::tls::{ClientTls, ServerTls, TlsError, TlsSettings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What the operator configured.
#[derive(Debug, Clone, Default)]
pub struct SecuritySettings {
    pub auth: AuthSettings,
    pub tls: Option<TlsSettings>,
    /// This service's own token for calling others (`LIAISON_SERVICE_TOKEN_FILE`).
    pub service_token_file: Option<PathBuf>,
    /// Allow a non-loopback address without authentication and TLS (`--insecure`).
    pub insecure: bool,
}

/// Why security could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// Security as built: shared (behind an `Arc`) by every service of the process.
#[derive(Debug)]
pub struct Security {
    pub gate: Gate,
    pub server_tls: Option<ServerTls>,
    pub client_tls: Option<ClientTls>,
    pub credentials: Option<Arc<ServiceCredentials>>,
    pub insecure: bool,
}

impl Security {
    /// Loads keys, certificates and credentials now, so a bad file stops the start with its name.
    pub async fn build(settings: &SecuritySettings) -> Result<Arc<Self>, SecurityError> {
        let gate = Gate::new(&settings.auth).await?;
        let (server_tls, client_tls) = match &settings.tls {
            Some(tls) => (Some(ServerTls::new(tls)?), Some(ClientTls::new(tls)?)),
            None => (None, None),
        };
        let credentials = match &settings.service_token_file {
            Some(path) => Some(Arc::new(ServiceCredentials::from_file(path.clone())?)),
            None => None,
        };
        Ok(Arc::new(Self { gate, server_tls, client_tls, credentials, insecure: settings.insecure }))
    }

    /// Development: no tokens, no TLS (tests, the all-in-one on loopback).
    pub fn development() -> Arc<Self> {
        Arc::new(Self {
            gate: Gate::development(),
            server_tls: None,
            client_tls: None,
            credentials: None,
            insecure: false,
        })
    }

    /// Whether a server may listen on `addr`: loopback always; any other address only with tokens required and
    /// TLS on, or when the operator said `--insecure`.
    pub fn allows_listening_on(&self, addr: SocketAddr) -> bool {
        addr.ip().is_loopback() || self.is_production() || self.insecure
    }

    /// Tokens required and TLS on.
    pub fn is_production(&self) -> bool {
        self.gate.requires_tokens() && self.server_tls.is_some()
    }

    /// One line for the start log saying how calls are checked.
    pub fn describe(&self) -> &'static str {
        match (self.gate.requires_tokens(), self.gate.verifies_tokens(), self.server_tls.is_some()) {
            (true, _, true) => "tokens required, TLS",
            (true, _, false) => "tokens required, no TLS (plaintext)",
            (false, true, true) => "development mode (calls without a token allowed; tokens sent are verified), TLS",
            (false, true, false) => {
                "development mode (calls without a token allowed; tokens sent are verified), plaintext"
            }
            (false, false, true) => "development mode (no authentication), TLS",
            (false, false, false) => "development mode (no authentication, plaintext)",
        }
    }
}
