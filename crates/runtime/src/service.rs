//! Starting a service: bind, connect and migrate its database, mount it, serve it. The binary and the tests use
//! the same path, so what the tests start is what runs.
use crate::client::{CallSettings, lazy_channel};
use crate::config::{Peers, ServiceKind, ServiceSettings};
use crate::db::{DatabaseUrl, Db};
use crate::server::{Mounted, bind, serve};
use sea_orm_migration::MigratorTrait;
use std::future::Future;
use std::net::SocketAddr;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// What a service gets when it is mounted.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    pub kind: ServiceKind,
    pub db: Db,
    pub peers: Peers,
    pub calls: CallSettings,
    /// Cancelled when the server shuts down; long-running work (streams, followers) stops on it.
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    /// A lazy channel to a service this one calls.
    pub fn channel(&self, peer: ServiceKind) -> Result<Channel, String> {
        let url = self.peers.get(peer).ok_or_else(|| missing_peer(peer))?;
        lazy_channel(url, self.calls)
    }
}

fn missing_peer(peer: ServiceKind) -> String {
    format!("needs the address of {peer}: set --{peer}-addr or LIAISON_{}_ADDR", peer.name().to_uppercase())
}

/// A Liaison service: its kind, its migrations and how to mount it. The services it calls are its kind's
/// [`ServiceKind::dependencies`], declared once there (the deploy files are tested against it); their addresses
/// are required at start.
pub trait LiaisonService {
    const KIND: ServiceKind;
    type Migrator: MigratorTrait;
    fn mount(ctx: ServiceContext) -> impl Future<Output = Result<Mounted, String>> + Send;
}

/// A running server.
pub struct Running {
    pub kind: ServiceKind,
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    /// Stops accepting, lets in-flight calls finish, and waits for the server to end.
    pub async fn stop(self) -> Result<(), String> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits for the server to end (after its shutdown token is cancelled).
    pub async fn wait(self) -> Result<(), String> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(format!("{} server task failed: {e}", self.kind)),
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
) -> Result<Running, String> {
    let kind = S::KIND;
    for peer in kind.dependencies() {
        let url = settings.peers.get(*peer).ok_or_else(|| format!("{kind}: {}", missing_peer(*peer)))?;
        lazy_channel(url, settings.calls).map_err(|e| format!("{kind}: {e}"))?;
    }
    let listener = bind(settings.listen).await.map_err(|e| format!("{kind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("{kind}: {e}"))?;
    let db = connect_and_migrate::<S>(&settings.database_url).await?;
    let ctx = ServiceContext {
        kind,
        db: db.clone(),
        peers: settings.peers,
        calls: settings.calls,
        shutdown: shutdown.child_token(),
    };
    let mounted = S::mount(ctx).await.map_err(|e| format!("{kind}: {e}"))?;
    tracing::info!(service = kind.name(), %addr, database = %settings.database_url, "listening");
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        let result = serve(listener, mounted, token).await.map_err(|e| format!("{kind}: {e}"));
        db.close().await;
        tracing::info!(service = kind.name(), "stopped");
        result
    });
    Ok(Running { kind, addr, shutdown, task })
}

/// Applies a service's migrations and returns.
pub async fn migrate<S: LiaisonService>(database_url: &DatabaseUrl) -> Result<(), String> {
    let db = connect_and_migrate::<S>(database_url).await?;
    db.close().await;
    Ok(())
}

async fn connect_and_migrate<S: LiaisonService>(database_url: &DatabaseUrl) -> Result<Db, String> {
    let kind = S::KIND;
    let db = Db::connect(database_url).await.map_err(|e| format!("{kind}: {e}"))?;
    db.migrate::<S::Migrator>().await.map_err(|e| format!("{kind}: {e}"))?;
    Ok(db)
}
