//! TLS with rustls (ring only): the server's acceptor, which re-reads its certificate, key and client CA from disk
//! without a restart, and clients' connector (a CA to trust, and the service's own certificate for mTLS), also
//! re-read from disk.
//!
//! Every rustls configuration is built with the ring provider passed explicitly: no process-wide default provider is
//! installed or relied on, so a second provider in the tree could not make rustls pick one at random (or panic).
//!
//! Reloading: each [`ServerTls`] and [`ClientTls`] keeps its current configuration in an `ArcSwap`; a poller task
//! re-reads the files every `reload_interval` and swaps in a new configuration when their content changed. A file
//! that does not load (half-written, wrong key) keeps the old configuration and is logged once. A new connection
//! uses the configuration current when it starts; connections already open keep theirs.
mod client;
pub mod pki;
mod server;

pub use client::ClientTls;
pub(crate) use client::HttpsConnector;
pub use server::{ServerTls, TlsIncoming};

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
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
    /// How often the files are checked for changes; zero never checks (the files are read once, at start).
    pub reload_interval: Duration,
}

/// Why TLS could not be set up; every message names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not valid PEM: {message}", path.display())]
    Pem { path: PathBuf, message: String },
    #[error("{} holds no {expected} (a PEM file with a `{marker}` block was expected)", path.display())]
    Missing { path: PathBuf, expected: &'static str, marker: &'static str },
    #[error("{}: {message}", path.display())]
    Rejected { path: PathBuf, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot generate {what}: {source}")]
    Generate { what: String, source: rcgen::Error },
    #[error("{0}")]
    Invalid(String),
}

/// The one crypto provider every configuration is built with.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The files one side reads: its own certificate and key (absent for a client without a certificate) and the CA it
/// checks the other side against (absent: no client authentication on a server, the web PKI roots on a client).
#[derive(Debug, Clone)]
struct FileSet {
    identity: Option<(PathBuf, PathBuf)>,
    ca: Option<PathBuf>,
}

/// The bytes of a [`FileSet`], read once so that the configuration and the fingerprint describe the same content.
struct Contents {
    identity: Option<(Vec<u8>, Vec<u8>)>,
    ca: Option<Vec<u8>>,
}

impl FileSet {
    async fn read(&self) -> Result<Contents, TlsError> {
        async fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
            tokio::fs::read(path).await.map_err(|source| TlsError::Read { path: path.to_owned(), source })
        }
        let identity = match &self.identity {
            Some((cert, key)) => Some((read(cert).await?, read(key).await?)),
            None => None,
        };
        let ca = match &self.ca {
            Some(ca) => Some(read(ca).await?),
            None => None,
        };
        Ok(Contents { identity, ca })
    }

    fn read_now(&self) -> Result<Contents, TlsError> {
        fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
            std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
        }
        let identity = match &self.identity {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        };
        let ca = match &self.ca {
            Some(ca) => Some(read(ca)?),
            None => None,
        };
        Ok(Contents { identity, ca })
    }

    /// The certificate chain and key, parsed.
    fn identity(
        &self,
        contents: &Contents,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
        match (&self.identity, &contents.identity) {
            (Some((cert_path, key_path)), Some((cert, key))) => {
                Ok(Some((certificates(cert_path, cert)?, private_key(key_path, key)?)))
            }
            _ => Ok(None),
        }
    }

    /// The CA's certificates as a root store.
    fn roots(&self, contents: &Contents) -> Result<Option<rustls::RootCertStore>, TlsError> {
        let (Some(path), Some(pem)) = (&self.ca, &contents.ca) else { return Ok(None) };
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates(path, pem)? {
            roots
                .add(certificate)
                .map_err(|e| TlsError::Rejected { path: path.clone(), message: format!("not a usable CA: {e}") })?;
        }
        Ok(Some(roots))
    }

    /// The paths, for logs.
    fn describe(&self) -> String {
        let mut paths: Vec<String> = Vec::new();
        if let Some((cert, key)) = &self.identity {
            paths.push(cert.display().to_string());
            paths.push(key.display().to_string());
        }
        if let Some(ca) = &self.ca {
            paths.push(ca.display().to_string());
        }
        paths.join(", ")
    }
}

impl Contents {
    fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        // Each part is prefixed with its length so that moving bytes from one file to the next changes the hash.
        let mut part = |bytes: Option<&[u8]>| match bytes {
            Some(bytes) => {
                hash.update((bytes.len() as u64 + 1).to_le_bytes());
                hash.update(bytes);
            }
            None => hash.update(0u64.to_le_bytes()),
        };
        part(self.identity.as_ref().map(|(cert, _)| cert.as_slice()));
        part(self.identity.as_ref().map(|(_, key)| key.as_slice()));
        part(self.ca.as_deref());
        hash.finalize().into()
    }
}

/// Every certificate of a PEM file, in order; at least one.
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_owned(), message: e.to_string() })?;
    if certificates.is_empty() {
        return Err(TlsError::Missing { path: path.to_owned(), expected: "certificate", marker: "CERTIFICATE" });
    }
    Ok(certificates)
}

/// The first private key of a PEM file (PKCS#8, SEC1 or PKCS#1).
fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            TlsError::Missing { path: path.to_owned(), expected: "private key", marker: "PRIVATE KEY" }
        }
        other => TlsError::Pem { path: path.to_owned(), message: other.to_string() },
    })
}

/// A rustls configuration kept current with its files.
struct Watched<T> {
    files: FileSet,
    current: ArcSwap<T>,
    build: fn(&FileSet, &Contents) -> Result<T, TlsError>,
    /// What the configuration is for, in logs ("server", "client").
    role: &'static str,
    reload_interval: Duration,
    /// The fingerprint of the files the first configuration was built from (the poller's starting point).
    loaded: [u8; 32],
    polling: AtomicBool,
}

impl<T: Send + Sync + 'static> Watched<T> {
    /// Reads and builds the first configuration now, so that a bad file stops the start with its name.
    fn load(
        files: FileSet,
        build: fn(&FileSet, &Contents) -> Result<T, TlsError>,
        role: &'static str,
        reload_interval: Duration,
    ) -> Result<Arc<Self>, TlsError> {
        let contents = files.read_now()?;
        let config = build(&files, &contents)?;
        Ok(Arc::new(Self {
            files,
            current: ArcSwap::from_pointee(config),
            build,
            role,
            reload_interval,
            loaded: contents.fingerprint(),
            polling: AtomicBool::new(false),
        }))
    }

    /// The configuration a new connection uses; starts the poller on first use (inside the runtime, which a
    /// constructor may not be). The poller ends once every handle to this configuration is dropped.
    fn current(self: &Arc<Self>) -> Arc<T> {
        self.start_polling();
        self.current.load_full()
    }

    fn start_polling(self: &Arc<Self>) {
        if self.reload_interval.is_zero() || self.polling.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(poll(Arc::downgrade(self), self.reload_interval, self.loaded));
            }
            // Outside a runtime: try again on the next use.
            Err(_) => self.polling.store(false, Ordering::Release),
        }
    }

    /// Re-reads the files; builds and swaps in a new configuration when they changed since `seen`.
    async fn reload(&self, seen: &mut [u8; 32], problem: &mut Option<String>) {
        let outcome = match self.files.read().await {
            Ok(contents) => {
                let fingerprint = contents.fingerprint();
                if fingerprint == *seen {
                    return;
                }
                *seen = fingerprint;
                (self.build)(&self.files, &contents)
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(config) => {
                self.current.store(Arc::new(config));
                *problem = None;
                tracing::info!(role = self.role, files = %self.files.describe(), "TLS files changed; reloaded");
            }
            Err(error) => {
                let message = error.to_string();
                // A file being replaced may be seen half-written: say so once, keep serving with the old files.
                if problem.as_deref() != Some(message.as_str()) {
                    tracing::warn!(role = self.role, %error, "TLS files changed but do not load; keeping the previous ones");
                    *problem = Some(message);
                }
            }
        }
    }
}

async fn poll<T: Send + Sync + 'static>(watched: Weak<Watched<T>>, interval: Duration, mut seen: [u8; 32]) {
    let mut problem = None;
    loop {
        tokio::time::sleep(interval).await;
        let Some(watched) = watched.upgrade() else { return };
        watched.reload(&mut seen, &mut problem).await;
    }
}

impl<T> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("role", &self.role)
            .field("files", &self.files)
            .field("reload_interval", &self.reload_interval)
            .finish_non_exhaustive()
    }
}

/// HTTP/2 is the only protocol either side speaks (gRPC).
const ALPN_H2: &[u8] = b"h2";

#[cfg(test)]
mod tests;
