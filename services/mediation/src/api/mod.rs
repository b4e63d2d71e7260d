//! The tonic adapter: each RPC parses its request whole (every bad field named), asks contacts what it must in
//! one call, hands its rules to the store (which runs them under the case's row lock) and maps the result back.
//! `cases` holds intake, reads and the lifecycle transitions, `listing` ListCases (answered from a read cache of
//! encodings), `children` proposals, prevention actions and notes, `policy` the SLA policy.
mod cases;
mod children;
mod listing;
mod policy;
mod sessions;

use crate::domain::access::Access;
use crate::domain::sla::WorkingCalendar;
use crate::resource;
use crate::store::{Store, StoredCase};
use chrono::{DateTime, Utc};
use liaison_proto::mediation::v1::mediation_service_server::MediationService;
use liaison_proto::mediation::v1::*;
use liaison_runtime::Error;
use liaison_runtime::net::peers::{ContactsClient, SchedulingClient};
use liaison_runtime::service::ServiceContext;
use tonic::{Request, Response, Status};

/// What time it is for the service: the system clock, or a chosen one in tests of the SLA clocks.
pub type Clock = std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The `MediationService` implementation.
pub struct MediationApi {
    store: Store,
    contacts: ContactsClient,
    scheduling: SchedulingClient,
    clock: Clock,
    lists: listing::ListCaches,
}

impl MediationApi {
    pub fn new(ctx: ServiceContext, contacts: ContactsClient, scheduling: SchedulingClient, clock: Clock) -> Self {
        // The read cache learns of other replicas' writes from the change feed (PostgreSQL).
        liaison_runtime::feed::cache::follow_other_writers(ctx.db.clone(), ctx.shutdown.clone());
        let lists = listing::ListCaches::new(ctx.db.clone());
        Self { store: Store::new(ctx.db), contacts, scheduling, clock, lists }
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A case as answered to a read or a change: its clocks as of now, with the read-time figures.
    fn answer(&self, stored: &StoredCase, calendar: &WorkingCalendar) -> Case {
        resource::case(stored, self.now(), Some(calendar))
    }
}

/// The routes of the mediation service: ListCases answers with kept encodings (`listing`) ahead of the generated
/// server, which serves the rest.
pub fn routes(api: MediationApi) -> tonic::service::Routes {
    use liaison_proto::mediation::v1::mediation_service_server::MediationServiceServer;
    let api = std::sync::Arc::new(api);
    let mut routes = tonic::service::Routes::new(liaison_runtime::limit_messages!(MediationServiceServer::from_arc(
        std::sync::Arc::clone(&api)
    )));
    let list = format!("/{}/ListCases", liaison_runtime::config::ServiceKind::Mediation.grpc_service());
    liaison_runtime::net::wire::route_unary(&mut routes, &list, move |request: Request<ListCasesRequest>| {
        let api = std::sync::Arc::clone(&api);
        async move { Ok(Response::new(api.list_spliced(request.get_ref()).await.map_err(Status::from)?)) }
    });
    routes
}

fn actor() -> String {
    liaison_runtime::net::context::caller().subject().to_owned()
}

/// What the caller may see of cases.
fn access() -> Access {
    Access::of(&liaison_runtime::net::context::caller())
}

impl MediationApi {
    /// Case `name` if the caller may read it; a confidential case of others is NOT_FOUND, as if it did not exist.
    async fn readable(
        &self,
        name: liaison_runtime::api::names::Name<liaison_runtime::api::names::Cases>,
    ) -> Result<StoredCase, Error> {
        let stored = self.store.get_case(name).await?;
        if access().may_read(&stored.view()) { Ok(stored) } else { Err(Error::NotFound { resource: name.to_string() }) }
    }
}

macro_rules! rpcs {
    ($($method:ident($request:ty) -> $response:ty => $handler:ident;)+) => {
        #[tonic::async_trait]
        impl MediationService for MediationApi {
            $(async fn $method(&self, request: Request<$request>) -> Result<Response<$response>, Status> {
                Ok(Response::new(self.$handler(request.into_inner()).await.map_err(Status::from)?))
            })+
        }
    };
}

rpcs! {
    open_case(OpenCaseRequest) -> OpenCaseResponse => open;
    get_case(GetCaseRequest) -> GetCaseResponse => get;
    list_cases(ListCasesRequest) -> ListCasesResponse => list;
    acknowledge_case(AcknowledgeCaseRequest) -> AcknowledgeCaseResponse => acknowledge;
    assess_case(AssessCaseRequest) -> AssessCaseResponse => assess;
    assign_mediator(AssignMediatorRequest) -> AssignMediatorResponse => assign_mediator_rpc;
    start_mediation(StartMediationRequest) -> StartMediationResponse => start_mediation_rpc;
    record_root_cause(RecordRootCauseRequest) -> RecordRootCauseResponse => record_root_cause_rpc;
    start_implementation(StartImplementationRequest) -> StartImplementationResponse => start_implementation_rpc;
    close_case(CloseCaseRequest) -> CloseCaseResponse => close;
    escalate_case(EscalateCaseRequest) -> EscalateCaseResponse => escalate;
    withdraw_case(WithdrawCaseRequest) -> WithdrawCaseResponse => withdraw;
    appeal_case(AppealCaseRequest) -> AppealCaseResponse => appeal;
    reopen_case(ReopenCaseRequest) -> ReopenCaseResponse => reopen;
    create_proposal(CreateProposalRequest) -> CreateProposalResponse => propose;
    list_proposals(ListProposalsRequest) -> ListProposalsResponse => proposals;
    respond_to_proposal(RespondToProposalRequest) -> RespondToProposalResponse => respond;
    create_prevention_action(CreatePreventionActionRequest) -> CreatePreventionActionResponse => create_action;
    list_prevention_actions(ListPreventionActionsRequest) -> ListPreventionActionsResponse => actions;
    settle_prevention_action(SettlePreventionActionRequest) -> SettlePreventionActionResponse => settle_action;
    schedule_session(ScheduleSessionRequest) -> ScheduleSessionResponse => schedule_session_rpc;
    add_case_note(AddCaseNoteRequest) -> AddCaseNoteResponse => add_note;
    list_case_notes(ListCaseNotesRequest) -> ListCaseNotesResponse => notes;
    get_mediation_policy(GetMediationPolicyRequest) -> GetMediationPolicyResponse => get_policy;
    update_mediation_policy(UpdateMediationPolicyRequest) -> UpdateMediationPolicyResponse => update_policy;
}

/// FAILED_PRECONDITION with one violation.
fn precondition(kind: &'static str, subject: &str, description: impl Into<String>) -> Error {
    Error::FailedPrecondition {
        reason: kind,
        violations: vec![liaison_runtime::PreconditionViolation {
            kind: kind.into(),
            subject: subject.into(),
            description: description.into(),
        }],
    }
}
