//! The contacts service: the register of organisations and contacts (people) that other services refer to by
//! name. `domain` parses requests into validated values and holds the rules, `store` keeps them with sea-orm
//! (and appends every mutation to the change feed in the same transaction), `api` adapts tonic to both.

pub mod api;
pub mod domain;
pub mod resource;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext};

/// The contacts service, as the runtime starts it.
pub struct Contacts;

impl LiaisonService for Contacts {
    const KIND: ServiceKind = ServiceKind::Contacts;
    const PEERS: &'static [ServiceKind] = &[];
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, String> {
        let db = ctx.db.clone();
        let server = liaison_proto::contacts::v1::contacts_service_server::ContactsServiceServer::new(
            api::ContactsApi::new(ctx),
        );
        Ok(Mounted {
            service_name: ServiceKind::Contacts.grpc_service(),
            routes: tonic::service::Routes::new(server),
            db,
        })
    }
}
