//! The scheduling service: meetings between contacts. `domain` parses and checks meetings, `store` keeps them
//! with sea-orm (participants in a table of their own, every mutation with its change-feed row in one
//! transaction), `api` adapts tonic and checks participants with one call to the contacts service.

pub mod api;
pub mod domain;
pub mod resource;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};

/// The scheduling service, as the runtime starts it.
pub struct Scheduling;

impl LiaisonService for Scheduling {
    const KIND: ServiceKind = ServiceKind::Scheduling;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let contacts = ContactsClient::new(ctx.peer(ServiceKind::Contacts)?, ctx.calls);
        let db = ctx.db.clone();
        Ok(Mounted { service_name: ServiceKind::Scheduling.grpc_service(), routes: api::routes(ctx, contacts), db })
    }
}
