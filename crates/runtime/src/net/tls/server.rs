//! The server side: the certificate served and, with a client CA, the client certificates required (mTLS); and the
//! incoming stream of TLS connections the server builder serves.
//!
//! tonic's own TLS takes one configuration for the life of the server, so the server accepts TCP itself: every
//! accepted socket is handshaken in a task of its own with the configuration current at that moment, and only
//! completed TLS streams reach tonic. A client that connects and sends nothing therefore holds a task until the
//! handshake timeout, not the accept loop.
use super::{ALPN_H2, Contents, FileSet, TlsError, TlsSettings, Watched, provider};
use futures::Stream;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// How long a client has to complete its handshake before its connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completed handshakes waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// The server side: accepts TLS connections with the current certificate.
#[derive(Debug, Clone)]
pub struct ServerTls {
    watched: Arc<Watched<ServerConfig>>,
}

impl ServerTls {
    /// Loads the certificate chain and key (and the client CA: then every client must present a certificate it
    /// signed). The files are read again every `reload_interval` once the server runs.
    pub fn new(settings: &TlsSettings) -> Result<Self, TlsError> {
        let files = FileSet {
            identity: Some((settings.cert_file.clone(), settings.key_file.clone())),
            ca: settings.client_ca_file.clone(),
        };
        Ok(Self { watched: Watched::load(files, server_config, "server", settings.reload_interval)? })
    }

    /// Whether clients must present a certificate (mTLS).
    pub fn requires_client_certificates(&self) -> bool {
        self.watched.files.ca.is_some()
    }

    /// The configuration a connection accepted now is handshaken with.
    pub fn current_config(&self) -> Arc<ServerConfig> {
        self.watched.current()
    }

    /// The TLS connections of `listener`, handshaken with the configuration current when each was accepted, until
    /// `shutdown` (or until the stream is dropped). Handshake failures are logged and dropped.
    pub fn incoming(&self, listener: TcpListener, shutdown: CancellationToken) -> TlsIncoming {
        let (sender, receiver) = mpsc::channel(ACCEPTED_BACKLOG);
        // Starts the poller now rather than on the first connection, so the certificate a client sees first is
        // already the newest.
        let _ = self.watched.current();
        tokio::spawn(accept(listener, self.clone(), sender, shutdown));
        TlsIncoming { receiver }
    }
}

/// Builds the server configuration from the files' contents.
fn server_config(files: &FileSet, contents: &Contents) -> Result<ServerConfig, TlsError> {
    let Some((chain, key)) = files.identity(contents)? else {
        return Err(TlsError::Invalid("a TLS server needs a certificate and key".into()));
    };
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(format!("TLS protocol versions: {e}")))?;
    let builder = match (files.roots(contents)?, &files.ca) {
        (Some(roots), Some(path)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Rejected { path: path.clone(), message: format!("as client CA: {e}") })?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        let (cert, key) = files.identity.clone().unwrap_or_default();
        TlsError::Rejected { path: cert, message: format!("with the key {}: {e}", key.display()) }
    })?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

async fn accept(
    listener: TcpListener,
    tls: ServerTls,
    sender: mpsc::Sender<Result<TlsStream<TcpStream>, Infallible>>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sender.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: pause rather than spin; the listener itself stays good.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Without it, Nagle's algorithm holds back the second segment of a larger response (a ~40 ms stall).
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%peer, %error, "TCP_NODELAY not set");
        }
        let acceptor = TlsAcceptor::from(tls.current_config());
        let sender = sender.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket));
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = handshake => outcome,
            };
            match outcome {
                Ok(Ok(stream)) => {
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        // The server stopped taking connections: the stream is dropped, closing it.
                        _ = sender.send(Ok(stream)) => {}
                    }
                }
                Ok(Err(error)) => log_refused(peer, &error),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out; connection dropped"),
            }
        });
    }
}

/// A refused certificate is worth an operator's attention; a scanner's garbage or a dropped connection is not.
fn log_refused(peer: std::net::SocketAddr, error: &std::io::Error) {
    let certificate = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented));
    if certificate {
        tracing::warn!(%peer, %error, "TLS handshake refused");
    } else {
        tracing::debug!(%peer, %error, "TLS handshake failed");
    }
}

/// The TLS connections a server serves (see [`ServerTls::incoming`]); ends on shutdown.
#[derive(Debug)]
pub struct TlsIncoming {
    receiver: mpsc::Receiver<Result<TlsStream<TcpStream>, Infallible>>,
}

impl Stream for TlsIncoming {
    type Item = Result<TlsStream<TcpStream>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
