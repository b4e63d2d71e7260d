//! ScheduleSession: a mediation session is a meeting in the scheduling service, booked under a request id
//! derived from the call, then listed in the case. The booking comes first and the case is written only when it
//! succeeded, so scheduling down records nothing; a retry (same request id, or the same request without one)
//! finds the meeting booked first and lists it once.
use super::{MediationApi, access, precondition};
use crate::domain::lifecycle::{Action, check};
use crate::domain::{TEAM_MAX, TITLE_MAX, parse_team};
use liaison_proto::mediation::v1::*;
use liaison_proto::scheduling::v1::Meeting;
use liaison_runtime::api::names::{Cases, Contacts, Name, PartyName};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{RequestId, TimeZone, at_most, optional_text};
use liaison_runtime::db::idempotency;
use liaison_runtime::{Error, FieldViolation, Validate};

const LOCATION_MAX: usize = 500;

impl MediationApi {
    pub(super) async fn schedule_session_rpc(
        &self,
        request: ScheduleSessionRequest,
    ) -> Result<ScheduleSessionResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let extra = at_most("participants", &request.participants, TEAM_MAX)
            .map_err(Vec::from)
            .and_then(|names| parse_team("participants", names));
        let (name, title, (start, end), time_zone, extra, location, request_id) = (
            Name::<Cases>::parse("name", &request.name),
            optional_text("title", &request.title, TITLE_MAX),
            times(&request),
            TimeZone::parse("time_zone", &request.time_zone),
            extra,
            optional_text("location", &request.location, LOCATION_MAX),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let case = self.readable(name).await?;
        check(&case.resource_name(), case.stage()?, Action::ScheduleSession)?;
        if case.case.mediator.is_empty() {
            return Err(precondition("NO_MEDIATOR", &case.resource_name(), "a session needs the case's mediator"));
        }
        let mediator = case.case.mediator.clone();
        let mut participants: Vec<String> = (case.parties.iter())
            .filter_map(|(party, _)| match PartyName::parse("party", party) {
                Ok(PartyName::Contact(contact)) => Some(contact.to_string()),
                _ => None,
            })
            .collect();
        for person in std::iter::once(mediator.clone()).chain(extra.iter().map(Name::<Contacts>::to_string)) {
            if !participants.contains(&person) {
                participants.push(person);
            }
        }
        let meeting = Meeting {
            title: if title.is_empty() { format!("Mediation session: {}", case.case.reference) } else { title },
            start_time: Some(liaison_runtime::api::time::to_timestamp(start)),
            end_time: Some(liaison_runtime::api::time::to_timestamp(end)),
            time_zone: time_zone.name().to_owned(),
            participants,
            organizer: mediator,
            location,
            links: vec![case.resource_name()],
            ..Default::default()
        };
        // Scheduling keys its idempotency per caller; the key is the case and this call's id (or content), hashed
        // to fit scheduling's 128 characters.
        let key = match &request_id {
            Some(id) => format!("{}\u{1f}{}", case.resource_name(), id.as_str()),
            None => format!("{}\u{1f}{fingerprint}", case.resource_name()),
        };
        let booking_id = format!("mediation-session-{}", idempotency::fingerprint(&key));
        let booked = self.scheduling.create_meeting(meeting, booking_id).await?;
        let (actor_now, meeting_name) = (self.now(), booked.name.clone());
        let (stored, policy) = self
            .store
            .change_case(name, None, false, actor_now, &access(), |current, _, _| {
                check(&current.resource_name(), current.stage()?, Action::ScheduleSession)?;
                if current.details.sessions.contains(&meeting_name) {
                    return Ok(None);
                }
                let mut next = current.clone();
                next.details.sessions.push(meeting_name.clone());
                Ok(Some(next))
            })
            .await?;
        Ok(ScheduleSessionResponse { case: Some(self.answer(&stored, &policy.calendar)), meeting: booked.name })
    }
}

fn times(
    request: &ScheduleSessionRequest,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), Vec<FieldViolation>> {
    let (start, end) = (
        from_timestamp("start_time", request.start_time.as_ref()),
        from_timestamp("end_time", request.end_time.as_ref()),
    )
        .collect()?;
    if end <= start {
        return Err(vec![FieldViolation::new("end_time", "must be after start_time")]);
    }
    Ok((start, end))
}
