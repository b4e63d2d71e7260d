//! The contacts service: the register of organisations and contacts (people) that other services refer to by
//! name. `domain` parses requests into validated values and holds the rules, `store` keeps them with sea-orm
//! (and appends every mutation to the change feed in the same transaction), `api` adapts tonic to both.

pub mod api;
pub mod domain;
pub mod formats;
pub mod resource;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};

/// The contacts service, as the runtime starts it.
pub struct Contacts;

impl LiaisonService for Contacts {
    const KIND: ServiceKind = ServiceKind::Contacts;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let db = ctx.db.clone();
        Ok(Mounted { service_name: ServiceKind::Contacts.grpc_service(), routes: api::routes(ctx), db })
    }
}
