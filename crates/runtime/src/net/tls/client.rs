//! The client side: the CA a process trusts for its `https://` peers and the certificate it presents when they ask
//! (mTLS), and the connector the channels to those peers dial through.
use super::{ALPN_H2, Contents, FileSet, TlsError, TlsSettings, Watched, provider};
use futures::future::BoxFuture;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The client side: how this process connects to `https://` peers.
#[derive(Debug, Clone)]
pub struct ClientTls {
    watched: Arc<Watched<ClientConfig>>,
}

impl ClientTls {
    /// Trusts `ca_file` (the web PKI roots when unset) and presents `cert_file` and `key_file` to servers that ask
    /// for a client certificate. The files are read again every `reload_interval` once connections are made.
    pub fn new(settings: &TlsSettings) -> Result<Self, TlsError> {
        let files = FileSet {
            identity: Some((settings.cert_file.clone(), settings.key_file.clone())),
            ca: settings.ca_file.clone(),
        };
        Ok(Self { watched: Watched::load(files, client_config, "client", settings.reload_interval)? })
    }

    /// Trusts `ca_file` (the web PKI roots when `None`) and presents no certificate; the file is read once.
    pub fn trusting(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        let files = FileSet { identity: None, ca: ca_file.map(Path::to_path_buf) };
        Ok(Self { watched: Watched::load(files, client_config, "client", Duration::ZERO)? })
    }

    /// The configuration a connection made now is handshaken with.
    pub fn current_config(&self) -> Arc<ClientConfig> {
        self.watched.current()
    }

    /// Dials `host:port` (every address it resolves to, in turn) within `connect_timeout` and completes a TLS
    /// handshake with `host` as the server name, with the configuration current now.
    pub async fn connect(&self, host: &str, port: u16, connect_timeout: Duration) -> io::Result<TlsStream<TcpStream>> {
        // An IPv6 literal comes bracketed from a URL; neither the resolver nor the server name wants the brackets.
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name = ServerName::try_from(host.to_owned()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{host:?} is not a valid TLS server name: {e}"))
        })?;
        let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {host}:{port} timed out")))??;
        tcp.set_nodelay(true)?;
        TlsConnector::from(self.current_config()).connect(name, tcp).await
    }
}

/// Builds the client configuration from the files' contents.
fn client_config(files: &FileSet, contents: &Contents) -> Result<ClientConfig, TlsError> {
    let roots = match files.roots(contents)? {
        Some(roots) => roots,
        None => rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots);
    let mut config = match files.identity(contents)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
            let (cert, key) = files.identity.clone().unwrap_or_default();
            TlsError::Rejected { path: cert, message: format!("with the key {}: {e}", key.display()) }
        })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

/// The connector of a channel to one `https://` peer: dials it and hands hyper the TLS stream.
#[derive(Debug, Clone)]
pub(crate) struct HttpsConnector {
    /// The TLS to connect with, or why there is none (reported on each connection attempt).
    tls: Result<ClientTls, Arc<str>>,
    host: String,
    port: u16,
    connect_timeout: Duration,
}

impl HttpsConnector {
    pub(crate) fn new(tls: Result<ClientTls, Arc<str>>, host: String, port: u16, connect_timeout: Duration) -> Self {
        Self { tls, host, port, connect_timeout }
    }
}

impl tower::Service<http::Uri> for HttpsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<Self::Response>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    // The URI is the channel's own, rewritten to `http://` (see `lazy_channel`): the host and port come from the
    // original `https://` URL instead.
    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tls = this.tls.map_err(|reason| io::Error::other(reason.to_string()))?;
            let stream = tls.connect(&this.host, this.port, this.connect_timeout).await?;
            Ok(TokioIo::new(stream))
        })
    }
}
