//! The tonic adapter of the reporting service.
use crate::SOURCES;
use crate::ingest::IngestionState;
use crate::store::Store;
use liaison_proto::reporting::v1::reporting_service_server::ReportingService;
use liaison_proto::reporting::v1::*;
use liaison_runtime::api::time::to_timestamp;
use tonic::{Request, Response, Status};

/// The `ReportingService` implementation.
pub struct ReportingApi {
    store: Store,
    ingestion: IngestionState,
}

impl ReportingApi {
    pub fn new(store: Store, ingestion: IngestionState) -> Self {
        Self { store, ingestion }
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
        for &source in SOURCES {
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
}
