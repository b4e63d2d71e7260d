//! The contacts service: the register of organisations and contacts (people) that other services refer to by
//! name. `domain` parses requests into validated values and holds the rules, `store` keeps them with sea-orm
//! (and appends every mutation to the change feed in the same transaction), `api` adapts tonic to both.

pub mod api;
pub mod domain;
pub mod formats;
pub mod resource;
pub mod store;

use liaison_proto::contacts::v1::{BatchGetContactsRequest, GetContactRequest};
use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};
use std::sync::Arc;
use tonic::{Request, Response};

/// The contacts service, as the runtime starts it.
pub struct Contacts;

impl LiaisonService for Contacts {
    const KIND: ServiceKind = ServiceKind::Contacts;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let db = ctx.db.clone();
        let api = Arc::new(api::ContactsApi::new(ctx));
        let server =
            liaison_proto::contacts::v1::contacts_service_server::ContactsServiceServer::from_arc(Arc::clone(&api));
        let mut routes = tonic::service::Routes::new(server);
        // The two reads other services make most are served from cached encodings (`wire::Spliced`), ahead of
        // the generated routes for them.
        let get = format!("/{}/GetContact", ServiceKind::Contacts.grpc_service());
        let get_api = Arc::clone(&api);
        liaison_runtime::net::wire::route_unary(&mut routes, &get, move |request: Request<GetContactRequest>| {
            let api = Arc::clone(&get_api);
            async move { Ok(Response::new(api.get_contact_spliced(request.get_ref()).await?)) }
        });
        let batch_get = format!("/{}/BatchGetContacts", ServiceKind::Contacts.grpc_service());
        liaison_runtime::net::wire::route_unary(
            &mut routes,
            &batch_get,
            move |request: Request<BatchGetContactsRequest>| {
                let api = Arc::clone(&api);
                async move { Ok(Response::new(api.batch_get_contacts_spliced(request.get_ref()).await?)) }
            },
        );
        Ok(Mounted { service_name: ServiceKind::Contacts.grpc_service(), routes, db })
    }
}
