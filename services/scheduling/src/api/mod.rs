//! The tonic adapter: parse, check participants with one call to contacts, store, map back. `find_times` is
//! FindMeetingTimes.
mod find_times;

use crate::domain::{NewMeeting, ParticipantFacts, check_participants, participants_reason, status_filter};
use crate::resource;
use crate::store::{MeetingFilter, Store};
use liaison_proto::scheduling::v1::scheduling_service_server::SchedulingService;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::names::{Contacts, Meetings, Name};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{Error, FieldViolation, Validate, api::paging, db::idempotency};
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
        // Attendees (the organiser among them) and agenda owners, checked in one call.
        let asked = new.contacts();
        let names = asked.iter().map(ToString::to_string).collect();
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
                check_participants(&asked, &found, &page.missing_names, request.allow_do_not_contact).map_err(
                    |violations| Error::FailedPrecondition { reason: participants_reason(&violations), violations },
                )
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
        let request = request.into_inner();
        // The token is bound to the filters as asked: one issued for other filters is refused.
        let time = |t: Option<&prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos));
        let scope = format!(
            "ListMeetings?{:?}",
            (
                &request.participant,
                time(request.start_after.as_ref()),
                time(request.end_before.as_ref()),
                request.status,
                &request.link
            )
        );
        let optional_time = |field: &str, value: Option<&prost_types::Timestamp>| {
            value.map(|v| from_timestamp(field, Some(v))).transpose()
        };
        let (ends_after, starts_before) = (
            optional_time("start_after", request.start_after.as_ref()),
            optional_time("end_before", request.end_before.as_ref()),
        );
        let window = match (&ends_after, &starts_before) {
            (Ok(Some(after)), Ok(Some(before))) if before <= after => {
                Err(FieldViolation::new("end_before", "must be after start_after"))
            }
            _ => Ok(()),
        };
        let (page, participant, ends_after, starts_before, (), status, link) = (
            paging::parse(request.page_size, &request.page_token, &scope),
            (!request.participant.is_empty())
                .then(|| Name::<Contacts>::parse("participant", &request.participant))
                .transpose(),
            ends_after,
            starts_before,
            window,
            status_filter("status", request.status),
            (!request.link.is_empty()).then(|| crate::domain::link("link", &request.link)).transpose(),
        )
            .validate()?;
        let filter =
            MeetingFilter { participant: participant.map(|p| p.to_string()), ends_after, starts_before, status, link };
        let mut meetings = self.store.list_meetings(&filter, page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut meetings, page.size, &scope, |m| m.meeting.id.clone());
        Ok(Response::new(ListMeetingsResponse {
            meetings: meetings.iter().map(resource::meeting).collect(),
            next_page_token,
        }))
    }
}
