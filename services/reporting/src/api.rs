//! The tonic adapter of the reporting service.
use crate::SOURCES;
use crate::ingest::IngestionState;
use crate::store::Store;
use liaison_proto::reporting::v1::reporting_service_server::ReportingService;
use liaison_proto::reporting::v1::*;
use liaison_runtime::feed;
use liaison_runtime::time::to_timestamp;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The `ReportingService` implementation.
pub struct ReportingApi {
    store: Store,
    ingestion: IngestionState,
    shutdown: CancellationToken,
}

impl ReportingApi {
    pub fn new(store: Store, ingestion: IngestionState, shutdown: CancellationToken) -> Self {
        Self { store, ingestion, shutdown }
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_dashboard(&self, _: Request<GetDashboardRequest>) -> Result<Response<GetDashboardResponse>, Status> {
        let counts = self.store.counts().await?;
        Ok(Response::new(GetDashboardResponse {
            dashboard: Some(Dashboard {
                organization_count: counts.organizations,
                contact_count: counts.contacts,
                meeting_count: counts.meetings,
                open_case_count: counts.open_cases,
                update_time: counts.update_time.map(to_timestamp),
            }),
        }))
    }

    async fn get_ingestion_status(
        &self,
        _: Request<GetIngestionStatusRequest>,
    ) -> Result<Response<GetIngestionStatusResponse>, Status> {
        let mut sources = Vec::with_capacity(SOURCES.len());
        for source in SOURCES {
            let progress = self.store.progress(source).await?;
            let live = self.ingestion.get(source);
            sources.push(SourceStatus {
                source: source.name().to_owned(),
                cursor: progress.cursor,
                lag: live.lag,
                connected: live.connected,
                last_error: live.last_error,
                applied_count: progress.applied_count,
                last_change_time: progress.last_change_time.map(to_timestamp),
            });
        }
        Ok(Response::new(GetIngestionStatusResponse { sources }))
    }

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let request = request.into_inner();
        let page = feed::serve_list(self.store.db(), request.after_sequence, request.page_size).await?;
        Ok(Response::new(ListChangesResponse { changes: page.changes, remaining_count: page.remaining }))
    }

    type WatchChangesStream = ReceiverStream<Result<WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let stream = feed::serve_watch(
            self.store.db(),
            request.get_ref().after_sequence,
            &self.shutdown,
            |changes, remaining_count| WatchChangesResponse { changes, remaining_count },
        )?;
        Ok(Response::new(stream))
    }
}
