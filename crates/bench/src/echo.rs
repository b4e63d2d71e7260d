//! The echo ceiling: `liaison.bench.v1.EchoService` mounted through `liaison_runtime::net::server` exactly as a
//! Liaison service mounts itself (health following a database, reflection, the request-context layer, the same
//! logging set-up), served by `liaison-bench echo-server` in a process of its own so that its memory and CPU are
//! measured the way the services' are.
use anyhow::Context;
use liaison_proto::bench::v1::echo_service_client::EchoServiceClient;
use liaison_proto::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use liaison_proto::bench::v1::{EchoRequest, EchoResponse};
use liaison_runtime::db::{DatabaseUrl, Db};
use liaison_runtime::net::server::{Mounted, bind, serve};
use liaison_runtime::net::telemetry::{self, LogFormat};
use std::io::Write;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// Its gRPC name, which is also its health-check name.
pub(crate) const SERVICE_NAME: &str = "liaison.bench.v1.EchoService";

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: tonic::Request<EchoRequest>) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(EchoResponse { payload: request.into_inner().payload }))
    }
}

/// Serves the echo service on `listen` until SIGTERM or Ctrl-C; prints the bound address on stdout first.
pub(crate) async fn run_server(listen: SocketAddr) -> anyhow::Result<()> {
    let telemetry = telemetry::init(LogFormat::Text, "liaison-bench-echo").map_err(anyhow::Error::msg)?;
    let listener = bind(listen).await.map_err(anyhow::Error::msg)?;
    let addr = listener.local_addr().context("the echo server's bound address")?;
    // The server builder's health follows a database: a SQLite file, pinged as a service's is.
    let dir = tempfile::Builder::new().prefix("liaison-bench-echo-").tempdir().context("cannot create a directory")?;
    let url: DatabaseUrl =
        format!("sqlite://{}", dir.path().join("echo.db").display()).parse().map_err(anyhow::Error::msg)?;
    let db = Db::connect(&url).await.context("the echo server's database")?;
    let mounted =
        Mounted { service_name: SERVICE_NAME, routes: tonic::service::Routes::new(EchoServiceServer::new(Echo)), db };
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{addr}").and_then(|()| stdout.flush()).context("cannot print the bound address")?;
    }
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        liaison_runtime::net::shutdown::signal().await;
        on_signal.cancel();
    });
    let served = serve(
        listener,
        mounted,
        liaison_runtime::security::Security::development(),
        liaison_runtime::net::limits::Limits::default(),
        shutdown,
    )
    .await
    .map_err(anyhow::Error::msg);
    telemetry.shutdown();
    served
}

/// Echo calls carrying `payload` (the bench sends a contact's name: the same request size as GetContact).
pub(crate) fn workload(payload: Vec<u8>, connections: crate::load::Connections) -> crate::load::Workload {
    std::sync::Arc::new(move |worker, _seq| {
        let channel = connections.get(worker);
        let payload = payload.clone();
        Box::pin(async move {
            EchoServiceClient::new(channel).echo(EchoRequest { payload }).await?;
            Ok(1)
        })
    })
}
