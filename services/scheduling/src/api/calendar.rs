//! ExportCalendar and ImportCalendarReply: meetings to iCalendar documents and an attendee's iTIP REPLY back to an
//! answer. Who the attendees are (display name, email addresses) comes from contacts in batched calls; the
//! document itself is written and read by `domain::calendar`.
use super::SchedulingApi;
use crate::domain::Status;
use crate::domain::calendar::{
    CalendarAddress, CalendarAttendee, CalendarEvent, EventStatus, Method, PartStat, Reply, parse_reply,
};
use crate::domain::lifecycle::{Answer, precondition};
use crate::resource;
use crate::store::{MeetingFilter, StoredMeeting, to_jiff};
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::names::{Contacts, Meetings, Name};
use liaison_runtime::api::time::{self, from_timestamp};
use liaison_runtime::net::peers::names_only::ContactFacts;
use liaison_runtime::{Error, FieldViolation, Validate};
use std::collections::HashMap;

/// The widest window a participant's calendar is exported for.
const EXPORT_WINDOW_DAYS: i64 = 400;
/// The most meetings one export holds.
const EXPORT_MEETINGS_MAX: u64 = 2000;
/// Names per BatchGetContacts call (its limit is 1000).
const CONTACTS_PER_CALL: usize = 1000;
/// The domain part of the UIDs of exported meetings: `meetings/{id}@liaison`.
const UID_DOMAIN: &str = "@liaison";

/// What ExportCalendar was asked for.
enum Export {
    Meeting(Name<Meetings>),
    Participant { contact: Name<Contacts>, start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc> },
}

fn parse_export(request: &ExportCalendarRequest) -> Result<Export, Vec<FieldViolation>> {
    match (request.participant.is_empty(), request.meeting.is_empty()) {
        (true, true) => {
            // What the window holds is checked too, so that every bad field is named at once.
            let times =
                [("window_start_time", &request.window_start_time), ("window_end_time", &request.window_end_time)];
            let bad_times =
                times.into_iter().filter(|(_, t)| t.is_some()).filter_map(|(f, t)| from_timestamp(f, t.as_ref()).err());
            Err([FieldViolation::new("participant", "set participant or meeting")]
                .into_iter()
                .chain(bad_times)
                .collect())
        }
        (false, false) => Err(vec![FieldViolation::new("meeting", "set participant or meeting, not both")]),
        (true, false) => Ok(Export::Meeting(Name::parse("meeting", &request.meeting).map_err(|v| vec![v])?)),
        (false, true) => {
            let (contact, start, end) = (
                Name::<Contacts>::parse("participant", &request.participant),
                from_timestamp("window_start_time", request.window_start_time.as_ref()),
                from_timestamp("window_end_time", request.window_end_time.as_ref()),
            )
                .validate()
                .map_err(|e| match e {
                    Error::InvalidArgument(violations) => violations,
                    other => vec![FieldViolation::new("request", other.to_string())],
                })?;
            if end <= start || end - start > chrono::TimeDelta::days(EXPORT_WINDOW_DAYS) {
                return Err(vec![FieldViolation::new(
                    "window_end_time",
                    format!("must be after window_start_time and at most {EXPORT_WINDOW_DAYS} days later"),
                )]);
            }
            Ok(Export::Participant { contact, start, end })
        }
    }
}

/// The UID of a meeting's events; a REPLY names the meeting by it.
fn uid_of(meeting: &StoredMeeting) -> String {
    format!("{}{UID_DOMAIN}", meeting.resource_name())
}

impl SchedulingApi {
    pub(super) async fn export_calendar(
        &self,
        request: ExportCalendarRequest,
    ) -> Result<ExportCalendarResponse, Error> {
        let export = parse_export(&request).map_err(Error::InvalidArgument)?;
        let (meetings, method) = match export {
            Export::Meeting(name) => {
                let meeting = self.store.get_meeting(name).await?;
                // An invitation needs its organiser (RFC 5546); without one the meeting is published.
                let method = match meeting.status() {
                    Some(Status::Cancelled) => Method::Cancel,
                    _ if meeting.meeting.organizer.is_empty() => Method::Publish,
                    _ => Method::Request,
                };
                (vec![meeting], method)
            }
            Export::Participant { contact, start, end } => {
                let filter = MeetingFilter {
                    participant: Some(contact.to_string()),
                    ends_after: Some(start),
                    starts_before: Some(end),
                    ..Default::default()
                };
                let mut meetings = self.store.list_meetings(&filter, None, EXPORT_MEETINGS_MAX + 1).await?;
                if meetings.len() as u64 > EXPORT_MEETINGS_MAX {
                    return Err(Error::InvalidArgument(vec![FieldViolation::new(
                        "window_end_time",
                        format!("the window holds more than {EXPORT_MEETINGS_MAX} meetings: export a shorter one"),
                    )]));
                }
                // A participant's calendar shows what happens; called-off meetings are left out.
                meetings.retain(|m| m.status() != Some(Status::Cancelled));
                meetings.sort_by_key(|m| m.meeting.start_time);
                (meetings, Method::Publish)
            }
        };
        let people = self.people_of(&meetings).await?;
        let now = to_jiff(time::now())?;
        let events = meetings.iter().map(|m| event_of(m, &people, now)).collect::<Result<Vec<_>, Error>>()?;
        Ok(ExportCalendarResponse {
            ics: crate::domain::calendar::render(method, &events),
            meeting_count: events.len() as i32,
        })
    }

    /// What contacts knows of everyone the meetings name, in batches of [`CONTACTS_PER_CALL`].
    async fn people_of(&self, meetings: &[StoredMeeting]) -> Result<HashMap<String, ContactFacts>, Error> {
        let mut names: Vec<String> = meetings
            .iter()
            .flat_map(|m| m.attendees.iter().map(|a| a.contact.clone()).chain([m.meeting.organizer.clone()]))
            .filter(|name| !name.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut people = HashMap::with_capacity(names.len());
        for batch in names.chunks(CONTACTS_PER_CALL) {
            let page = self.contacts.contact_facts(batch.to_vec()).await?;
            people.extend(page.contacts.into_iter().map(|c| (c.name.clone(), c)));
        }
        Ok(people)
    }

    pub(super) async fn import_calendar_reply(
        &self,
        request: ImportCalendarReplyRequest,
    ) -> Result<ImportCalendarReplyResponse, Error> {
        let reply = parse_reply(&request.ics).map_err(Error::InvalidArgument)?;
        let name = reply
            .uid
            .strip_suffix(UID_DOMAIN)
            .and_then(|name| Name::<Meetings>::parse("ics.UID", name).ok())
            .ok_or_else(|| {
                Error::InvalidArgument(vec![FieldViolation::new(
                    "ics.UID",
                    format!("'{}' is not the UID of a Liaison meeting (meetings/{{id}}{UID_DOMAIN})", reply.uid),
                )])
            })?;
        let meeting = self.store.get_meeting(name).await?;
        let resource = meeting.resource_name();
        if reply.sequence < meeting.meeting.sequence {
            return Err(precondition(
                "STALE_REPLY",
                &resource,
                format!(
                    "the reply answers version {} of {resource}, which has changed since (version {}): the answer \
                     to the current invitation is needed",
                    reply.sequence, meeting.meeting.sequence
                ),
            ));
        }
        let attendee = self.attendee_of(&meeting, &reply).await?;
        let answer = Answer { attendee, rsvp: reply.partstat.into(), comment: reply.comment.clone() };
        let stored = self.record_answer(name, &answer).await?;
        Ok(ImportCalendarReplyResponse { meeting: Some(resource::meeting(&stored)), attendee: attendee.to_string() })
    }

    /// The invited attendee a reply speaks for: named by contact, or found by email address among the attendees
    /// (one call to contacts).
    async fn attendee_of(&self, meeting: &StoredMeeting, reply: &Reply) -> Result<Name<Contacts>, Error> {
        let resource = meeting.resource_name();
        let invited = |contact: &str| meeting.attendees.iter().any(|a| a.contact == contact);
        let found = match (&reply.attendee_contact, &reply.attendee_email) {
            (Some(contact), _) if invited(contact) => Some(contact.clone()),
            (_, Some(email)) => {
                let people = self.people_of(std::slice::from_ref(meeting)).await?;
                meeting
                    .attendees
                    .iter()
                    .find(|a| {
                        people.get(&a.contact).is_some_and(|p| {
                            p.email.eq_ignore_ascii_case(email)
                                || p.emails.iter().any(|e| e.address.eq_ignore_ascii_case(email))
                        })
                    })
                    .map(|a| a.contact.clone())
            }
            _ => None,
        };
        let who = reply.attendee_contact.clone().or_else(|| reply.attendee_email.clone()).unwrap_or_default();
        found.and_then(|contact| Name::<Contacts>::parse("attendee", &contact).ok()).ok_or_else(|| {
            precondition("ATTENDEE_NOT_INVITED", &resource, format!("{who} is not invited to {resource}"))
        })
    }
}

fn address(contact: &str, people: &HashMap<String, ContactFacts>) -> CalendarAddress {
    let facts = people.get(contact);
    CalendarAddress {
        contact: contact.to_owned(),
        email: facts.map(|f| f.email.clone()).filter(|e| !e.is_empty()),
        display_name: facts.map(|f| f.display_name.clone()).unwrap_or_default(),
    }
}

fn event_of(
    stored: &StoredMeeting,
    people: &HashMap<String, ContactFacts>,
    now: jiff::Timestamp,
) -> Result<CalendarEvent, Error> {
    let m = &stored.meeting;
    let time_zone = jiff::tz::TimeZone::get(&m.time_zone)
        .map_err(|e| Error::Internal(format!("stored time zone {} is unknown: {e}", m.time_zone)))?;
    let status = match stored.status() {
        Some(Status::Tentative) => EventStatus::Tentative,
        Some(Status::Cancelled) => EventStatus::Cancelled,
        _ => EventStatus::Confirmed,
    };
    let mut description = m.objectives.clone();
    if !stored.agenda.is_empty() {
        let agenda: Vec<String> =
            stored.agenda.iter().map(|item| format!("- {} ({} min)", item.topic, item.minutes)).collect();
        description = [description, format!("Agenda:\n{}", agenda.join("\n"))]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    Ok(CalendarEvent {
        uid: uid_of(stored),
        sequence: m.sequence,
        summary: m.title.clone(),
        description,
        location: m.location.clone(),
        url: m.video_link.clone(),
        start: to_jiff(m.start_time)?,
        end: to_jiff(m.end_time)?,
        time_zone,
        status,
        organizer: (!m.organizer.is_empty()).then(|| address(&m.organizer, people)),
        attendees: stored
            .attendees
            .iter()
            .map(|a| CalendarAttendee {
                address: address(&a.contact, people),
                optional: a.optional,
                partstat: crate::domain::Rsvp::from_stored(&a.rsvp).map_or(PartStat::NeedsAction, PartStat::from),
            })
            .collect(),
        recurrence: if m.rrule.is_empty() { None } else { Some(stored.series()?) },
        stamp: now,
        last_modified: to_jiff(m.update_time)?,
    })
}
