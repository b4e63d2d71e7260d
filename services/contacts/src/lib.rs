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
        start_retention_jobs(store::Store::new(db.clone()), ctx.shutdown.child_token());
        Ok(Mounted { service_name: ServiceKind::Contacts.grpc_service(), routes: api::routes(ctx), db })
    }
}

/// Purges contacts past their retention and expires merges past their undo window, every
/// [`store::purge::PURGE_EVERY`] (first a minute after start) until `shutdown`.
fn start_retention_jobs(store: store::Store, shutdown: tokio_util::sync::CancellationToken) {
    use liaison_runtime::db::jobs;
    use store::purge::PURGE_EVERY;
    let first = std::time::Duration::from_secs(60);
    let purging = store.clone();
    jobs::every("deleted contacts past their 30 days purged", first, PURGE_EVERY, shutdown.clone(), move || {
        let store = purging.clone();
        async move { store.purge_all_expired(liaison_runtime::api::time::now()).await }
    });
    jobs::every("merges past their 30 days expired", first, PURGE_EVERY, shutdown, move || {
        let store = store.clone();
        async move { store.expire_merges(liaison_runtime::api::time::now()).await }
    });
}
