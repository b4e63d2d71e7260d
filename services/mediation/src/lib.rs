//! The mediation service: the case file of disputes and grievances from intake to resolution. `domain` holds the
//! rules free of I/O (what a case is, the lifecycle table, working-day SLA clocks, the policy), `store` keeps cases
//! with sea-orm (every change under the case's row lock with its change-feed row in one transaction), `api` adapts
//! tonic and asks the contacts service about parties and conflicts of interest in one call each.

pub mod api;
pub mod domain;
pub mod resource;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::{ContactsClient, SchedulingClient};
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{LiaisonService, ServiceContext, StartError};
use std::marker::PhantomData;
use std::time::Duration;

pub use liaison_runtime::service::{ClockSource, SystemClock};

/// The mediation service, as the runtime starts it.
pub struct Mediation<C: ClockSource = SystemClock>(PhantomData<C>);

/// How often breached stage clocks are looked for, to escalate when the policy says so.
const ESCALATION_PERIOD: Duration = Duration::from_secs(60);

impl<C: ClockSource> LiaisonService for Mediation<C> {
    const KIND: ServiceKind = ServiceKind::Mediation;
    type Migrator = store::migration::Migrator;

    async fn mount(ctx: ServiceContext) -> Result<Mounted, StartError> {
        let contacts = ContactsClient::new(ctx.peer(ServiceKind::Contacts)?, ctx.calls);
        let scheduling = SchedulingClient::new(ctx.peer(ServiceKind::Scheduling)?, ctx.calls);
        let db = ctx.db.clone();
        start_escalations::<C>(store::Store::new(db.clone()), ctx.shutdown.child_token());
        let clock: api::Clock = std::sync::Arc::new(C::now);
        let routes = api::routes(api::MediationApi::new(ctx, contacts, scheduling, clock));
        Ok(Mounted { service_name: ServiceKind::Mediation.grpc_service(), routes, db })
    }
}

/// Escalates cases whose stage clock is breached, every [`ESCALATION_PERIOD`], when the policy says so. Replicas
/// may run it at once: each escalation re-checks the breach under the case's row lock, and the first one restarts
/// the stage clock, so a case escalates once per breach.
fn start_escalations<C: ClockSource>(store: store::Store, shutdown: tokio_util::sync::CancellationToken) {
    let name = "cases escalated after their stage clock was breached";
    liaison_runtime::db::jobs::every(name, ESCALATION_PERIOD, ESCALATION_PERIOD, shutdown, move || {
        let store = store.clone();
        async move { store.escalate_breached(C::now()).await.map(|escalated| escalated.len() as u64) }
    });
}
