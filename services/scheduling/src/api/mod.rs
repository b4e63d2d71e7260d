//! The tonic adapter: parse, check participants with one call to contacts, store, map back. `find_times` is
//! FindMeetingTimes, `lifecycle` the changes of a booked meeting, `action_items` the action items.
mod action_items;
mod calendar;
mod commitments;
mod find_times;
mod lifecycle;
mod listing;
mod projects;
mod series;

use crate::domain::{Invitable, NewMeeting, ParticipantFacts, check_participants, participants_reason};
use crate::resource;
use crate::store::Store;
use liaison_proto::scheduling::v1::scheduling_service_server::SchedulingService;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::names::{Contacts, Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{Error, Validate, db::idempotency};
use tonic::{Request, Response, Status};

/// The `SchedulingService` implementation.
pub struct SchedulingApi {
    store: Store,
    contacts: ContactsClient,
    lists: listing::ListCaches,
}

impl SchedulingApi {
    pub fn new(ctx: ServiceContext, contacts: ContactsClient) -> Self {
        // The read caches learn of other replicas' writes from the change feed (PostgreSQL).
        liaison_runtime::feed::cache::follow_other_writers(ctx.db.clone(), ctx.shutdown.clone());
        Self { lists: listing::ListCaches::new(ctx.db.clone()), store: Store::new(ctx.db), contacts }
    }
}

/// The routes of the scheduling service: ListMeetings answers with kept encodings (`listing`) ahead of the
/// generated server, which serves the rest.
pub fn routes(ctx: ServiceContext, contacts: ContactsClient) -> tonic::service::Routes {
    use liaison_proto::scheduling::v1::scheduling_service_server::SchedulingServiceServer;
    let api = std::sync::Arc::new(SchedulingApi::new(ctx, contacts));
    let mut routes = tonic::service::Routes::new(liaison_runtime::limit_messages!(SchedulingServiceServer::from_arc(
        std::sync::Arc::clone(&api)
    )));
    let list = format!("/{}/ListMeetings", liaison_runtime::config::ServiceKind::Scheduling.grpc_service());
    liaison_runtime::net::wire::route_unary(&mut routes, &list, move |request: Request<ListMeetingsRequest>| {
        let api = std::sync::Arc::clone(&api);
        async move { Ok(Response::new(api.list_meetings_spliced(request.get_ref()).await?)) }
    });
    routes
}

/// What an invitation cares about of a contact, as contacts answered.
pub(crate) fn facts_of(c: &liaison_runtime::net::peers::names_only::ContactFacts) -> ParticipantFacts {
    ParticipantFacts {
        name: c.name.clone(),
        merged_names: c.merged_names.clone(),
        deleted: c.delete_time.is_some(),
        do_not_contact: c.do_not_contact,
    }
}

/// Asks contacts about `names` in one call; every one who cannot be invited is named in one FAILED_PRECONDITION.
/// Nobody to ask is no call.
pub(crate) async fn check_contacts(
    contacts: &ContactsClient,
    names: &[Name<Contacts>],
    allow_do_not_contact: bool,
) -> Result<Invitable, Error> {
    if names.is_empty() {
        return Ok(Invitable::default());
    }
    let page = contacts.contact_facts(names.iter().map(ToString::to_string).collect()).await?;
    let found: Vec<ParticipantFacts> = page.contacts.iter().map(facts_of).collect();
    check_participants(names, &found, &page.missing_names, allow_do_not_contact)
        .map_err(|violations| Error::FailedPrecondition { reason: participants_reason(&violations), violations })
}

#[tonic::async_trait]
impl SchedulingService for SchedulingApi {
    async fn delete_meeting(
        &self,
        request: Request<DeleteMeetingRequest>,
    ) -> Result<Response<DeleteMeetingResponse>, Status> {
        Ok(Response::new(self.delete(request.into_inner()).await?))
    }

    async fn list_occurrences(
        &self,
        request: Request<ListOccurrencesRequest>,
    ) -> Result<Response<ListOccurrencesResponse>, Status> {
        Ok(Response::new(SchedulingApi::list_occurrences(self, request.into_inner()).await?))
    }

    async fn reschedule_occurrence(
        &self,
        request: Request<RescheduleOccurrenceRequest>,
    ) -> Result<Response<RescheduleOccurrenceResponse>, Status> {
        Ok(Response::new(SchedulingApi::reschedule_occurrence(self, request.into_inner()).await?))
    }

    async fn cancel_occurrence(
        &self,
        request: Request<CancelOccurrenceRequest>,
    ) -> Result<Response<CancelOccurrenceResponse>, Status> {
        Ok(Response::new(SchedulingApi::cancel_occurrence(self, request.into_inner()).await?))
    }

    async fn split_series(
        &self,
        request: Request<SplitSeriesRequest>,
    ) -> Result<Response<SplitSeriesResponse>, Status> {
        Ok(Response::new(SchedulingApi::split_series(self, request.into_inner()).await?))
    }

    async fn create_commitment(
        &self,
        request: Request<CreateCommitmentRequest>,
    ) -> Result<Response<CreateCommitmentResponse>, Status> {
        Ok(Response::new(commitments::create(self, request.into_inner()).await?))
    }

    async fn get_commitment(
        &self,
        request: Request<GetCommitmentRequest>,
    ) -> Result<Response<GetCommitmentResponse>, Status> {
        Ok(Response::new(commitments::get(self, request.into_inner()).await?))
    }

    async fn list_commitments(
        &self,
        request: Request<ListCommitmentsRequest>,
    ) -> Result<Response<ListCommitmentsResponse>, Status> {
        Ok(Response::new(commitments::list(self, request.into_inner()).await?))
    }

    async fn update_commitment(
        &self,
        request: Request<UpdateCommitmentRequest>,
    ) -> Result<Response<UpdateCommitmentResponse>, Status> {
        Ok(Response::new(commitments::update(self, request.into_inner()).await?))
    }

    async fn transition_commitment(
        &self,
        request: Request<TransitionCommitmentRequest>,
    ) -> Result<Response<TransitionCommitmentResponse>, Status> {
        Ok(Response::new(commitments::transition(self, request.into_inner()).await?))
    }

    async fn add_commitment_evidence(
        &self,
        request: Request<AddCommitmentEvidenceRequest>,
    ) -> Result<Response<AddCommitmentEvidenceResponse>, Status> {
        Ok(Response::new(commitments::add_evidence(self, request.into_inner()).await?))
    }

    async fn summarize_overdue_commitments(
        &self,
        request: Request<SummarizeOverdueCommitmentsRequest>,
    ) -> Result<Response<SummarizeOverdueCommitmentsResponse>, Status> {
        Ok(Response::new(commitments::summarize_overdue(self, request.into_inner()).await?))
    }

    async fn create_project(
        &self,
        request: Request<CreateProjectRequest>,
    ) -> Result<Response<CreateProjectResponse>, Status> {
        Ok(Response::new(projects::create(self, request.into_inner()).await?))
    }

    async fn get_project(&self, request: Request<GetProjectRequest>) -> Result<Response<GetProjectResponse>, Status> {
        Ok(Response::new(projects::get(self, request.into_inner()).await?))
    }

    async fn list_projects(
        &self,
        request: Request<ListProjectsRequest>,
    ) -> Result<Response<ListProjectsResponse>, Status> {
        Ok(Response::new(projects::list(self, request.into_inner()).await?))
    }

    async fn update_project(
        &self,
        request: Request<UpdateProjectRequest>,
    ) -> Result<Response<UpdateProjectResponse>, Status> {
        Ok(Response::new(projects::update(self, request.into_inner()).await?))
    }

    async fn create_milestone(
        &self,
        request: Request<CreateMilestoneRequest>,
    ) -> Result<Response<CreateMilestoneResponse>, Status> {
        Ok(Response::new(projects::create_milestone(self, request.into_inner()).await?))
    }

    async fn list_milestones(
        &self,
        request: Request<ListMilestonesRequest>,
    ) -> Result<Response<ListMilestonesResponse>, Status> {
        Ok(Response::new(projects::list_milestones(self, request.into_inner()).await?))
    }

    async fn update_milestone(
        &self,
        request: Request<UpdateMilestoneRequest>,
    ) -> Result<Response<UpdateMilestoneResponse>, Status> {
        Ok(Response::new(projects::update_milestone(self, request.into_inner()).await?))
    }

    async fn create_baseline(
        &self,
        request: Request<CreateBaselineRequest>,
    ) -> Result<Response<CreateBaselineResponse>, Status> {
        Ok(Response::new(projects::create_baseline(self, request.into_inner()).await?))
    }

    async fn list_baselines(
        &self,
        request: Request<ListBaselinesRequest>,
    ) -> Result<Response<ListBaselinesResponse>, Status> {
        Ok(Response::new(projects::list_baselines(self, request.into_inner()).await?))
    }

    async fn compare_to_baseline(
        &self,
        request: Request<CompareToBaselineRequest>,
    ) -> Result<Response<CompareToBaselineResponse>, Status> {
        Ok(Response::new(projects::compare_to_baseline(self, request.into_inner()).await?))
    }

    async fn update_meeting(
        &self,
        request: Request<UpdateMeetingRequest>,
    ) -> Result<Response<UpdateMeetingResponse>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn reschedule_meeting(
        &self,
        request: Request<RescheduleMeetingRequest>,
    ) -> Result<Response<RescheduleMeetingResponse>, Status> {
        Ok(Response::new(self.reschedule(request.into_inner()).await?))
    }

    async fn confirm_meeting(
        &self,
        request: Request<ConfirmMeetingRequest>,
    ) -> Result<Response<ConfirmMeetingResponse>, Status> {
        Ok(Response::new(self.confirm(request.into_inner()).await?))
    }

    async fn cancel_meeting(
        &self,
        request: Request<CancelMeetingRequest>,
    ) -> Result<Response<CancelMeetingResponse>, Status> {
        Ok(Response::new(self.cancel(request.into_inner()).await?))
    }

    async fn respond_to_invitation(
        &self,
        request: Request<RespondToInvitationRequest>,
    ) -> Result<Response<RespondToInvitationResponse>, Status> {
        Ok(Response::new(self.respond(request.into_inner()).await?))
    }

    async fn complete_meeting(
        &self,
        request: Request<CompleteMeetingRequest>,
    ) -> Result<Response<CompleteMeetingResponse>, Status> {
        Ok(Response::new(self.complete(request.into_inner()).await?))
    }

    async fn correct_meeting_record(
        &self,
        request: Request<CorrectMeetingRecordRequest>,
    ) -> Result<Response<CorrectMeetingRecordResponse>, Status> {
        Ok(Response::new(self.correct(request.into_inner()).await?))
    }

    async fn create_action_item(
        &self,
        request: Request<CreateActionItemRequest>,
    ) -> Result<Response<CreateActionItemResponse>, Status> {
        Ok(Response::new(SchedulingApi::create_action_item(self, request.into_inner()).await?))
    }

    async fn get_action_item(
        &self,
        request: Request<GetActionItemRequest>,
    ) -> Result<Response<GetActionItemResponse>, Status> {
        Ok(Response::new(SchedulingApi::get_action_item(self, request.into_inner()).await?))
    }

    async fn list_action_items(
        &self,
        request: Request<ListActionItemsRequest>,
    ) -> Result<Response<ListActionItemsResponse>, Status> {
        Ok(Response::new(SchedulingApi::list_action_items(self, request.into_inner()).await?))
    }

    async fn update_action_item(
        &self,
        request: Request<UpdateActionItemRequest>,
    ) -> Result<Response<UpdateActionItemResponse>, Status> {
        Ok(Response::new(SchedulingApi::update_action_item(self, request.into_inner()).await?))
    }

    async fn set_action_item_state(
        &self,
        request: Request<SetActionItemStateRequest>,
    ) -> Result<Response<SetActionItemStateResponse>, Status> {
        Ok(Response::new(SchedulingApi::set_action_item_state(self, request.into_inner()).await?))
    }

    async fn export_calendar(
        &self,
        request: Request<ExportCalendarRequest>,
    ) -> Result<Response<ExportCalendarResponse>, Status> {
        Ok(Response::new(SchedulingApi::export_calendar(self, request.into_inner()).await?))
    }

    async fn import_calendar_reply(
        &self,
        request: Request<ImportCalendarReplyRequest>,
    ) -> Result<Response<ImportCalendarReplyResponse>, Status> {
        Ok(Response::new(SchedulingApi::import_calendar_reply(self, request.into_inner()).await?))
    }

    async fn create_meeting(
        &self,
        request: Request<CreateMeetingRequest>,
    ) -> Result<Response<CreateMeetingResponse>, Status> {
        let request = request.into_inner();
        let fingerprint = idempotency::fingerprint(&request);
        let meeting = request.meeting.clone().unwrap_or_default();
        let (new, request_id) =
            (NewMeeting::parse(&meeting), RequestId::parse_optional("request_id", &request.request_id)).validate()?;
        // Attendees (the organiser among them) and agenda owners, checked in one call.
        let checked = check_contacts(&self.contacts, &new.contacts(), request.allow_do_not_contact).await;
        let invitable = match checked {
            Ok(invitable) => invitable,
            Err(error) => {
                // A retry of a create that succeeded gets its meeting even while contacts is down or a participant
                // has gone since. Looked up only here, off the happy path: there the write itself detects the replay.
                if let Some(id) = &request_id
                    && let Some(existing) = self.store.created_by(id, &fingerprint).await?
                {
                    return Ok(Response::new(CreateMeetingResponse {
                        meeting: Some(resource::meeting(&existing)),
                        do_not_contact_participants: Vec::new(),
                    }));
                }
                return Err(error.into());
            }
        };
        let stored = self.store.create_meeting(new, request.allow_conflicts, request_id.as_ref(), &fingerprint).await?;
        Ok(Response::new(CreateMeetingResponse {
            meeting: Some(resource::meeting(&stored)),
            do_not_contact_participants: invitable.do_not_contact,
        }))
    }

    async fn get_meeting(&self, request: Request<GetMeetingRequest>) -> Result<Response<GetMeetingResponse>, Status> {
        let name = Name::<Meetings>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let stored = self.store.get_meeting(name).await?;
        Ok(Response::new(GetMeetingResponse { meeting: Some(resource::meeting(&stored)) }))
    }

    async fn find_meeting_times(
        &self,
        request: Request<FindMeetingTimesRequest>,
    ) -> Result<Response<FindMeetingTimesResponse>, Status> {
        let response = find_times::find_meeting_times(&self.store, &self.contacts, request.get_ref()).await?;
        Ok(Response::new(response))
    }

    async fn list_meetings(
        &self,
        request: Request<ListMeetingsRequest>,
    ) -> Result<Response<ListMeetingsResponse>, Status> {
        Ok(Response::new(self.list_meetings_message(request.get_ref()).await?))
    }
}
