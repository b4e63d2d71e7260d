//! The tonic adapter: parse, check participants with one call to contacts, store, map back. `find_times` is
//! FindMeetingTimes.
mod find_times;

use crate::domain::{NewMeeting, ParticipantFacts, check_participants, participants_reason};
use crate::resource;
use crate::store::Store;
use liaison_proto::scheduling::v1::scheduling_service_server::SchedulingService;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::names::{Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{Error, Validate, api::paging, db::idempotency};
use tonic::{Request, Response, Status};

/// The `SchedulingService` implementation.
pub struct SchedulingApi {
    store: Store,
    contacts: ContactsClient,
}

impl SchedulingApi {
    pub fn new(ctx: ServiceContext, contacts: ContactsClient) -> Self {
        Self { store: Store::new(ctx.db), contacts }
    }
}

#[tonic::async_trait]
impl SchedulingService for SchedulingApi {
    async fn create_meeting(
        &self,
        request: Request<CreateMeetingRequest>,
    ) -> Result<Response<CreateMeetingResponse>, Status> {
        let request = request.into_inner();
        let fingerprint = idempotency::fingerprint(&request);
        let meeting = request.meeting.clone().unwrap_or_default();
        let (new, request_id) =
            (NewMeeting::parse(&meeting), RequestId::parse_optional("request_id", &request.request_id)).validate()?;
        let names = new.participants.iter().map(ToString::to_string).collect();
        let checked = match self.contacts.contact_facts(names).await {
            Ok(page) => {
                let found: Vec<ParticipantFacts> = page
                    .contacts
                    .into_iter()
                    .map(|c| ParticipantFacts {
                        deleted: c.delete_time.is_some(),
                        do_not_contact: c.do_not_contact,
                        name: c.name,
                        merged_names: c.merged_names,
                    })
                    .collect();
                check_participants(&new.participants, &found, &page.missing_names, request.allow_do_not_contact)
                    .map_err(|violations| Error::FailedPrecondition {
                        reason: participants_reason(&violations),
                        violations,
                    })
            }
            Err(unavailable) => Err(unavailable),
        };
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
        const SCOPE: &str = "ListMeetings";
        let request = request.into_inner();
        let page = paging::parse(request.page_size, &request.page_token, SCOPE).map_err(Error::InvalidArgument)?;
        let mut meetings = self.store.list_meetings(page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut meetings, page.size, SCOPE, |m| m.meeting.id.clone());
        Ok(Response::new(ListMeetingsResponse {
            meetings: meetings.iter().map(resource::meeting).collect(),
            next_page_token,
        }))
    }
}
