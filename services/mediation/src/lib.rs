//! The mediation service: cases (disputes, grievances) between parties. `domain` parses and checks cases,
//! `store` keeps them with sea-orm (parties in a table of their own, every mutation with its change-feed row in
//! one transaction), `api` adapts tonic and checks parties with one call to the contacts service.

pub mod api;
pub mod domain;
pub mod resource;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};

/// The mediation service, as the runtime starts it.
pub struct Mediation;

impl LiaisonService for Mediation {
    const KIND: ServiceKind = ServiceKind::Mediation;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let contacts = ContactsClient::new(ctx.peer(ServiceKind::Contacts)?, ctx.calls);
        let db = ctx.db.clone();
        let server = liaison_runtime::limit_messages!(
            liaison_proto::mediation::v1::mediation_service_server::MediationServiceServer::new(
                api::MediationApi::new(ctx, contacts),
            )
        );
        Ok(Mounted {
            service_name: ServiceKind::Mediation.grpc_service(),
            routes: tonic::service::Routes::new(server),
            db,
        })
    }
}
