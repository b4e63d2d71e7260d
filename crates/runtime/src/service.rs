//! Starting a service: bind, connect and migrate its database, mount it, serve it. The binary and the tests use
//! the same path, so what the tests start is what runs.
use crate::config::{Peers, ServiceKind, ServiceSettings};
use crate::db::{DatabaseUrl, Db};
use crate::net::client::{CallSettings, Peer, lazy_channel};
use crate::net::server::{Mounted, ServeError, bind, serve};
use crate::security::Security;
use sea_orm_migration::MigratorTrait;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a service could not start, or stopped with an error: each names the service and says what to do in one
/// line (the binary prints it as it is).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{service}: needs the address of {peer}: set --{peer}-addr or LIAISON_{}_ADDR", .peer.name().to_uppercase())]
    MissingPeer { service: ServiceKind, peer: ServiceKind },
    #[error("{service}: invalid address of {peer} '{url}': {source}")]
    BadPeerAddress {
        service: ServiceKind,
        peer: ServiceKind,
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error(
        "{service}: refusing to listen on {addr} without authentication and TLS; configure both (see \
         docs/security.md) or pass --insecure (LIAISON_INSECURE=true) to allow it"
    )]
    Insecure { service: ServiceKind, addr: SocketAddr },
    #[error("{service}: cannot listen on {addr}: the address is already in use")]
    AddressInUse { service: ServiceKind, addr: SocketAddr },
    #[error("{service}: cannot listen on {addr}: {source}")]
    Listen {
        service: ServiceKind,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{service}: {source}")]
    Database {
        service: ServiceKind,
        #[source]
        source: crate::Error,
    },
    #[error("{service}: {source}")]
    Serve {
        service: ServiceKind,
        #[source]
        source: ServeError,
    },
    #[error("{service}: server task failed: {source}")]
    Task {
        service: ServiceKind,
        #[source]
        source: tokio::task::JoinError,
    },
}

/// What a service gets when it is mounted.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    pub kind: ServiceKind,
    pub db: Db,
    pub peers: Peers,
    pub calls: CallSettings,
    pub security: Arc<Security>,
    /// Cancelled when the server shuts down; long-running work (streams, followers) stops on it.
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    /// A service this one calls: a lazy channel (TLS for `https://` addresses) and this service's credentials.
    pub fn peer(&self, peer: ServiceKind) -> Result<Peer, StartError> {
        peer_channel(self.kind, &self.peers, peer, self.calls, &self.security)
    }
}

fn peer_channel(
    service: ServiceKind,
    peers: &Peers,
    peer: ServiceKind,
    calls: CallSettings,
    security: &Security,
) -> Result<Peer, StartError> {
    let url = peers.get(peer).ok_or(StartError::MissingPeer { service, peer })?;
    let channel = lazy_channel(url, calls, security.client_tls.as_ref())
        .map_err(|source| StartError::BadPeerAddress { service, peer, url: url.to_owned(), source })?;
    Ok(Peer::new(channel, security.credentials.clone()))
}

/// A Liaison service: its kind, its migrations and how to mount it. The services it calls are its kind's
/// [`ServiceKind::dependencies`], declared once there (the deploy files are tested against it); their addresses
/// are required at start.
pub trait LiaisonService {
    const KIND: ServiceKind;
    type Migrator: MigratorTrait;
    fn mount(ctx: ServiceContext) -> impl Future<Output = Result<Mounted, StartError>> + Send;
}

/// A running server.
pub struct Running {
    pub kind: ServiceKind,
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), StartError>>,
}

impl Running {
    /// Stops accepting, lets in-flight calls finish, and waits for the server to end.
    pub async fn stop(self) -> Result<(), StartError> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits for the server to end (after its shutdown token is cancelled).
    pub async fn wait(self) -> Result<(), StartError> {
        match self.task.await {
            Ok(result) => result,
            Err(source) => Err(StartError::Task { service: self.kind, source }),
        }
    }

    /// The URL other services use to reach this one.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds, connects and migrates the database, mounts the service and starts serving it.
pub async fn start<S: LiaisonService>(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    let kind = S::KIND;
    for peer in kind.dependencies() {
        peer_channel(kind, &settings.peers, *peer, settings.calls, &settings.security)?;
    }
    let listen = settings.listen;
    let security = settings.security.clone();
    if !security.allows_listening_on(listen) {
        return Err(StartError::Insecure { service: kind, addr: listen });
    }
    let listen_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::AddrInUse => StartError::AddressInUse { service: kind, addr: listen },
        _ => StartError::Listen { service: kind, addr: listen, source },
    };
    let listener = bind(listen).await.map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let db = connect_and_migrate::<S>(&settings.database_url).await?;
    let ctx = ServiceContext {
        kind,
        db: db.clone(),
        peers: settings.peers,
        calls: settings.calls,
        security: security.clone(),
        shutdown: shutdown.child_token(),
    };
    let mounted = S::mount(ctx).await?;
    crate::db::idempotency::sweep_periodically(db.clone(), shutdown.child_token());
    if !addr.ip().is_loopback() && !security.is_production() {
        tracing::warn!(service = kind.name(), %addr, security = security.describe(),
            "INSECURE: listening on a non-loopback address without authentication and TLS (--insecure)");
    }
    tracing::info!(service = kind.name(), %addr, database = %settings.database_url, security = security.describe(), "listening");
    let token = shutdown.clone();
    let limits = settings.limits;
    let task = tokio::spawn(async move {
        let result = serve(listener, mounted, security, limits, token)
            .await
            .map_err(|source| StartError::Serve { service: kind, source });
        db.close().await;
        tracing::info!(service = kind.name(), "stopped");
        result
    });
    Ok(Running { kind, addr, shutdown, task })
}

/// Applies a service's migrations and returns.
pub async fn migrate<S: LiaisonService>(database_url: &DatabaseUrl) -> Result<(), StartError> {
    let db = connect_and_migrate::<S>(database_url).await?;
    db.close().await;
    Ok(())
}

async fn connect_and_migrate<S: LiaisonService>(database_url: &DatabaseUrl) -> Result<Db, StartError> {
    let database = |source| StartError::Database { service: S::KIND, source };
    let db = Db::connect(database_url).await.map_err(database)?;
    db.migrate::<S::Migrator>().await.map_err(database)?;
    Ok(db)
}

/// Where a service reads the time: [`SystemClock`] in production; tests of clocks (SLA clocks, report schedules)
/// name a clock of their own (a type per test, so that tests running at once never share one).
pub trait ClockSource: Send + Sync + 'static {
    fn now() -> chrono::DateTime<chrono::Utc>;
}

/// The system clock.
pub struct SystemClock;

impl ClockSource for SystemClock {
    fn now() -> chrono::DateTime<chrono::Utc> {
        crate::api::time::now()
    }
}
