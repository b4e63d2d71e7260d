//! The tonic adapter of the reporting service: each RPC parses its request whole (every bad field named), asks
//! the store or the generator, and maps the result back. `reports` holds generation, reading, explaining,
//! comparing and rendering; `feedback` and `schedules` their resources; this module the dashboard and ingestion.
mod feedback;
mod reports;
mod schedules;

use crate::SOURCES;
use crate::domain::Scope;
use crate::domain::report::{Window, compute, headcount};
use crate::ingest::IngestionState;
use crate::store::Store;
use crate::store::records::Register;
use chrono::{DateTime, Utc};
use liaison_proto::reporting::v1::reporting_service_server::ReportingService;
use liaison_proto::reporting::v1::*;
use liaison_runtime::Error;
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::auth::case_access::Access;
use tonic::{Request, Response, Status};

/// What time it is for the service: the system clock, or a chosen one in tests of schedules.
pub type Clock = std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The `ReportingService` implementation.
pub struct ReportingApi {
    store: Store,
    ingestion: IngestionState,
    clock: Clock,
}

impl ReportingApi {
    pub fn new(store: Store, ingestion: IngestionState, clock: Clock) -> Self {
        Self { store, ingestion, clock }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

fn caller_subject() -> String {
    liaison_runtime::net::context::caller().subject().to_owned()
}

/// What the caller may see of confidential cases.
fn access() -> Access {
    Access::of(&liaison_runtime::net::context::caller())
}

macro_rules! rpcs {
    ($($method:ident($request:ty) -> $response:ty => $handler:ident;)+) => {
        #[tonic::async_trait]
        impl ReportingService for ReportingApi {
            $(async fn $method(&self, request: Request<$request>) -> Result<Response<$response>, Status> {
                Ok(Response::new(self.$handler(request.into_inner()).await.map_err(Status::from)?))
            })+
        }
    };
}

rpcs! {
    get_dashboard(GetDashboardRequest) -> GetDashboardResponse => dashboard;
    get_ingestion_status(GetIngestionStatusRequest) -> GetIngestionStatusResponse => ingestion_status;
    rebuild_read_model(RebuildReadModelRequest) -> RebuildReadModelResponse => rebuild;
    submit_feedback(SubmitFeedbackRequest) -> SubmitFeedbackResponse => submit_feedback;
    list_feedback(ListFeedbackRequest) -> ListFeedbackResponse => list_feedback;
    summarize_feedback(SummarizeFeedbackRequest) -> SummarizeFeedbackResponse => summarize_feedback;
    generate_report(GenerateReportRequest) -> GenerateReportResponse => generate;
    get_report(GetReportRequest) -> GetReportResponse => get_report;
    list_reports(ListReportsRequest) -> ListReportsResponse => list_reports;
    explain_figure(ExplainFigureRequest) -> ExplainFigureResponse => explain;
    compare_reports(CompareReportsRequest) -> CompareReportsResponse => compare;
    render_report(RenderReportRequest) -> RenderReportResponse => render;
    create_report_schedule(CreateReportScheduleRequest) -> CreateReportScheduleResponse => create_schedule;
    list_report_schedules(ListReportSchedulesRequest) -> ListReportSchedulesResponse => list_schedules;
    delete_report_schedule(DeleteReportScheduleRequest) -> DeleteReportScheduleResponse => delete_schedule;
}

const DAY: i64 = 86_400 * 1_000_000;

impl ReportingApi {
    /// Makes sure the organisation, project or label of a scope is known to the read model.
    async fn check_scope(&self, field: &str, scope: &Scope) -> Result<(), Error> {
        let known = match scope {
            Scope::All => true,
            Scope::Organization(name) => self.store.knows(&name.to_string()).await?,
            Scope::Project(name) => self.store.knows(&name.to_string()).await?,
            Scope::Label(label) => self.store.knows_label(label).await?,
        };
        if known {
            Ok(())
        } else {
            let which = match scope {
                Scope::Organization(_) => "organization",
                Scope::Project(_) => "project",
                _ => "label",
            };
            Err(Error::invalid(
                format!("{field}.{which}"),
                format!("{} is not known to reporting (as of the changes it has read)", scope.describe()),
            ))
        }
    }

    async fn dashboard(&self, request: GetDashboardRequest) -> Result<GetDashboardResponse, Error> {
        let scope = Scope::parse("scope", request.scope.as_ref()).map_err(Error::from_violation)?;
        self.check_scope("scope", &scope).await?;
        let now = self.now().timestamp_micros();
        // Live figures: an engagement, progress and mediation view of the last 90 days as of now.
        let period = crate::domain::Period {
            start: crate::domain::facts::timestamp(now - 90 * DAY),
            end: crate::domain::facts::timestamp(now + 7 * DAY),
            zone: jiff::tz::TimeZone::UTC,
            zone_name: "UTC".into(),
        };
        let window = Window::new(period, now);
        // A scoped dashboard counts the scope's part of the register, so it reads the whole register.
        let register = if scope == Scope::All { Register::Period } else { Register::Whole };
        let records = self.store.records(&window, &scope, register).await?;
        let live = compute(crate::domain::ReportKind::ExecutiveSummary, &scope, &window, &records);
        let figure =
            |id: &str| live.sections.iter().flat_map(|s| &s.figures).find(|f| f.id == id).map_or(0.0, |f| f.value);
        let mut headcount = headcount(&scope, &window, &records);
        let counts = self.store.counts().await?;
        if scope == Scope::All {
            headcount.organizations = counts.organizations;
            headcount.contacts = counts.contacts;
            headcount.meetings = counts.meetings;
            headcount.open_cases = counts.open_cases;
        }
        let ratings = self.store.feedback_between(now - 90 * DAY, now + 1).await?;
        let mean_rating = crate::domain::report::mean(ratings.iter().map(|f| f64::from(f.rating)));
        Ok(GetDashboardResponse {
            dashboard: Some(Dashboard {
                organization_count: headcount.organizations,
                contact_count: headcount.contacts,
                meeting_count: headcount.meetings,
                open_case_count: headcount.open_cases,
                update_time: counts.update_time.map(to_timestamp),
                scope: Some(scope.to_wire()),
                overdue_count: (figure("action_items.overdue") + figure("commitments.overdue")) as i64,
                breached_case_count: headcount.breached_cases,
                upcoming_meeting_count: headcount.upcoming_meetings,
                mean_rating_90_days: crate::domain::report::round(mean_rating),
                unengaged_organization_count: figure("engagement.unengaged{days=60}") as i64,
            }),
        })
    }

    async fn ingestion_status(&self, _: GetIngestionStatusRequest) -> Result<GetIngestionStatusResponse, Error> {
        Ok(GetIngestionStatusResponse { sources: self.sources().await? })
    }

    async fn sources(&self) -> Result<Vec<SourceStatus>, Error> {
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
        Ok(sources)
    }

    async fn rebuild(&self, _: RebuildReadModelRequest) -> Result<RebuildReadModelResponse, Error> {
        self.store.reset_read_model().await?;
        self.ingestion.restart_all();
        tracing::info!(actor = %caller_subject(), "read model emptied; replaying every feed from the start");
        Ok(RebuildReadModelResponse { sources: self.sources().await? })
    }
}
