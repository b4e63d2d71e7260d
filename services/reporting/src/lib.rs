//! The reporting service: follows the change feeds of contacts, scheduling and mediation into a read model of
//! its own (`ingest`), and answers dashboards from it. `domain` says what a change means for the read model,
//! `store` keeps the read model and the per-source cursors (advanced in the same transaction as the changes
//! they cover), `api` adapts tonic.

pub mod api;
pub mod domain;
pub mod ingest;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::FeedClient;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};

/// The sources reporting follows, in the order it reports them: the services it depends on.
pub const SOURCES: &[ServiceKind] = ServiceKind::Reporting.dependencies();

/// The reporting service, as the runtime starts it.
pub struct Reporting;

impl LiaisonService for Reporting {
    const KIND: ServiceKind = ServiceKind::Reporting;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let store = store::Store::new(ctx.db.clone());
        let status = ingest::IngestionState::default();
        for &source in SOURCES {
            let feed = FeedClient::new(source, ctx.peer(source)?, ctx.calls);
            tokio::spawn(ingest::follow(feed, store.clone(), status.clone(), ctx.shutdown.clone()));
        }
        let db = ctx.db.clone();
        let server = liaison_runtime::limit_messages!(
            liaison_proto::reporting::v1::reporting_service_server::ReportingServiceServer::new(
                api::ReportingApi::new(store, status),
            )
        );
        Ok(Mounted {
            service_name: ServiceKind::Reporting.grpc_service(),
            routes: tonic::service::Routes::new(server),
            db,
        })
    }
}
