//! TLS with rustls (ring only): the server's acceptor, which re-reads its certificate, key and client CA from disk
//! without a restart, and clients' connector (a CA to trust, and the service's own certificate for mTLS).
//! SKELETON: filled in by the TLS work; the signatures below are the contract the server builder relies on.
use std::path::PathBuf;
use std::time::Duration;

/// TLS files of one process.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The server certificate chain (PEM); also the client certificate presented to peers when they ask (mTLS).
    pub cert_file: PathBuf,
    /// The private key of `cert_file` (PEM, PKCS#8, SEC1 or PKCS#1).
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mTLS); others are refused at handshake.
    pub client_ca_file: Option<PathBuf>,
    /// The CA that signed the servers this process calls (`https://` peers); the web PKI roots when unset.
    pub ca_file: Option<PathBuf>,
    /// How often the files are checked for changes.
    pub reload_interval: Duration,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Invalid(String),
}

/// The server side: accepts TLS connections with the current certificate.
#[derive(Debug, Clone)]
pub struct ServerTls {}

/// The client side: how this process connects to `https://` peers.
#[derive(Debug, Clone)]
pub struct ClientTls {}

impl ServerTls {
    pub fn new(_settings: &TlsSettings) -> Result<Self, TlsError> {
        Err(TlsError::Invalid("TLS is not built yet".into()))
    }
}

impl ClientTls {
    pub fn new(_settings: &TlsSettings) -> Result<Self, TlsError> {
        Err(TlsError::Invalid("TLS is not built yet".into()))
    }
}
