//! The reporting service: follows the change feeds of contacts, scheduling and mediation into a read model of
//! its own (`ingest`), and turns it into dashboards and immutable reports with evidence, feedback summaries and
//! recommendations. `domain` holds the rules free of I/O (what a change means for the read model, how a report's
//! figures and recommendations are computed, when schedules run), `store` keeps the read model with the
//! per-source cursors (advanced in the same transaction as the changes they cover) and reporting's own records,
//! `generate` composes and schedules reports, `render` writes them as Markdown, CSV and HTML, `api` adapts tonic.

pub mod api;
pub mod domain;
pub mod generate;
pub mod ingest;
pub mod render;
pub mod store;

use liaison_runtime::config::ServiceKind;
use liaison_runtime::net::peers::FeedClient;
use liaison_runtime::net::server::Mounted;
use liaison_runtime::service::{ClockSource, LiaisonService, ServiceContext, StartError, SystemClock};
use std::marker::PhantomData;

/// The sources reporting follows, in the order it reports them: the services it depends on.
pub const SOURCES: &[ServiceKind] = ServiceKind::Reporting.dependencies();

/// The reporting service, as the runtime starts it; tests of schedules name a clock of their own.
pub struct Reporting<C: ClockSource = SystemClock>(PhantomData<C>);

impl<C: ClockSource> LiaisonService for Reporting<C> {
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
        start_schedules::<C>(store.clone(), ctx.shutdown.child_token());
        let clock: api::Clock = std::sync::Arc::new(C::now);
        let server = liaison_runtime::limit_messages!(
            liaison_proto::reporting::v1::reporting_service_server::ReportingServiceServer::new(
                api::ReportingApi::new(store, status, clock),
            )
        );
        Ok(Mounted {
            service_name: ServiceKind::Reporting.grpc_service(),
            routes: tonic::service::Routes::new(server),
            db,
        })
    }
}

/// Runs the report schedules' due slots every [`generate::SCHEDULE_PERIOD`]. Replicas may all run it: a slot's
/// claim row decides which one stores its report.
fn start_schedules<C: ClockSource>(store: store::Store, shutdown: tokio_util::sync::CancellationToken) {
    let name = "scheduled reports generated";
    let period = generate::SCHEDULE_PERIOD;
    liaison_runtime::db::jobs::every(name, period, period, shutdown, move || {
        let store = store.clone();
        async move { generate::run_due::<C>(&store).await }
    });
}
