//! The changes of a booked meeting: UpdateMeeting, RescheduleMeeting, ConfirmMeeting, CancelMeeting,
//! RespondToInvitation, CompleteMeeting and CorrectMeetingRecord. Each parses its request whole (every bad field
//! named), asks contacts about any contact it adds in one call, then hands its rules to
//! [`Store::change_meeting`](crate::store::Store::change_meeting), which runs them on the locked current meeting.
use super::{SchedulingApi, check_contacts};
use crate::domain::lifecycle::MINUTES_MAX;
use crate::domain::lifecycle::{
    Answer, Completion, Correction, Move, Record, attendance, decisions, ensure_changeable, precondition, reason,
    rfc3339,
};
use crate::domain::{NewMeeting, Rsvp, Status};
use crate::resource;
use crate::store::StoredMeeting;
use crate::store::changes::{Changed, Claim};
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Contacts, Meetings, Name};
use liaison_runtime::api::validate::{RequestId, long_text};
use liaison_runtime::api::{etag, time};
use liaison_runtime::db::idempotency;
use liaison_runtime::{Error, FieldViolation, Validate};
use std::collections::HashSet;

/// The fields UpdateMeeting changes; times move with RescheduleMeeting, status with Confirm/Cancel/Complete.
const UPDATABLE: &[&str] = &[
    "title",
    "objectives",
    "location",
    "video_link",
    "agenda",
    "links",
    "attendees",
    "organizer",
    "buffer_before",
    "buffer_after",
];

const COMPLETE_METHOD: &str = "CompleteMeeting";

fn name_of(field: &str, value: &str) -> Result<Name<Meetings>, FieldViolation> {
    Name::<Meetings>::parse(field, value)
}

/// `current` with the masked fields of `asked` — the request as the whole meeting it would make.
fn merged(current: &Meeting, asked: &Meeting, mask: &UpdateMask) -> Meeting {
    let mut next = current.clone();
    // The stored form lists attendees; `participants` is their output-only echo.
    next.participants.clear();
    macro_rules! take {
        ($($field:ident),+) => {$(if mask.contains(stringify!($field)) { next.$field = asked.$field.clone(); })+};
    }
    take!(title, objectives, location, video_link, agenda, links, attendees, organizer, buffer_before, buffer_after);
    next
}

/// The attendees of `next` keep the answers and comments they gave in `current`; the organiser has accepted.
fn keep_answers(next: &mut StoredMeeting, current: &StoredMeeting) {
    let organizer = next.meeting.organizer.clone();
    for attendee in &mut next.attendees {
        if let Some(before) = current.attendees.iter().find(|a| a.contact == attendee.contact) {
            attendee.rsvp = before.rsvp.clone();
            attendee.comment = before.comment.clone();
        }
        if attendee.contact == organizer {
            attendee.rsvp = Rsvp::Accepted.as_str().to_owned();
        }
    }
}

pub(super) fn required(stored: &StoredMeeting) -> Vec<String> {
    stored.attendees.iter().filter(|a| !a.optional).map(|a| a.contact.clone()).collect()
}

fn busy_span(stored: &StoredMeeting) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let m = &stored.meeting;
    (
        m.start_time - chrono::TimeDelta::seconds(m.buffer_before_seconds),
        m.end_time + chrono::TimeDelta::seconds(m.buffer_after_seconds),
    )
}

/// Whose busy time must be free after an update: everyone required when the busy span grew, otherwise those who
/// became required.
fn to_check_after_update(current: &StoredMeeting, next: &StoredMeeting) -> Vec<String> {
    let ((from, to), (next_from, next_to)) = (busy_span(current), busy_span(next));
    let before: HashSet<String> = required(current).into_iter().collect();
    let grew = next_from < from || next_to > to;
    required(next).into_iter().filter(|p| grew || !before.contains(p)).collect()
}

/// Every contact `stored` names — attendees (the organiser among them) and agenda owners.
fn contacts_named(stored: &StoredMeeting) -> HashSet<String> {
    stored
        .attendees
        .iter()
        .map(|a| a.contact.clone())
        .chain(stored.agenda.iter().map(|item| item.owner.clone()).filter(|owner| !owner.is_empty()))
        .collect()
}

fn resource_of(current: &StoredMeeting) -> String {
    current.resource_name()
}

pub(super) fn status_of(current: &StoredMeeting) -> Result<Status, Error> {
    current.status().ok_or_else(|| Error::Internal(format!("{} has an unknown status", current.resource_name())))
}

fn meeting_response(stored: &StoredMeeting) -> Option<Meeting> {
    Some(resource::meeting(stored))
}

impl SchedulingApi {
    pub(super) async fn update(&self, request: UpdateMeetingRequest) -> Result<UpdateMeetingResponse, Error> {
        let asked = request.meeting.clone().unwrap_or_default();
        let (name, expected, mask) = (
            name_of("meeting.name", &asked.name),
            etag::parse_expected("meeting.etag", &asked.etag),
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), &asked, UPDATABLE),
        )
            .validate()?;
        // Read first to know who the update adds, so contacts is asked outside the transaction; under the lock the
        // additions are worked out again, and a concurrent change that added someone else makes this one retry.
        let before = self.store.get_meeting(name).await?;
        let build = |current: &StoredMeeting| -> Result<StoredMeeting, Error> {
            ensure_changeable(&resource_of(current), status_of(current)?, "update")?;
            let current_wire = resource::meeting(current);
            let moved =
                |t: &Option<prost_types::Timestamp>, now: &Option<prost_types::Timestamp>| t.is_some() && t != now;
            if request.update_mask.as_ref().is_none_or(|m| m.paths.is_empty())
                && (moved(&asked.start_time, &current_wire.start_time)
                    || moved(&asked.end_time, &current_wire.end_time)
                    || (!asked.time_zone.is_empty() && asked.time_zone != current_wire.time_zone))
            {
                return Err(Error::InvalidArgument(vec![FieldViolation::new(
                    "meeting.start_time",
                    "times and time zone are changed with RescheduleMeeting",
                )]));
            }
            let new = NewMeeting::parse(&merged(&current_wire, &asked, &mask)).map_err(Error::InvalidArgument)?;
            let mut next = StoredMeeting::new(current.meeting.id.clone(), new, current.meeting.create_time);
            let m = &mut next.meeting;
            m.status = current.meeting.status.clone();
            m.revision = current.meeting.revision;
            m.cancel_reason = current.meeting.cancel_reason.clone();
            m.record = current.meeting.record.clone();
            m.update_time = current.meeting.update_time;
            // Times do not move here, so the series stays as it is, with its cancelled and moved occurrences.
            m.rrule = current.meeting.rrule.clone();
            m.exdates = current.meeting.exdates.clone();
            m.overrides = current.meeting.overrides.clone();
            m.last_end_time = current.meeting.last_end_time;
            m.continues = current.meeting.continues.clone();
            let place_moved = m.location != current.meeting.location || m.video_link != current.meeting.video_link;
            m.sequence = current.meeting.sequence + i32::from(place_moved);
            keep_answers(&mut next, current);
            Ok(next)
        };
        let planned = build(&before)?;
        let added: Vec<Name<Contacts>> = contacts_named(&planned)
            .difference(&contacts_named(&before))
            .filter_map(|name| Name::<Contacts>::parse("contact", name).ok())
            .collect();
        let invitable = check_contacts(&self.contacts, &added, request.allow_do_not_contact).await?;
        let checked: HashSet<String> = added.iter().map(ToString::to_string).collect();
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                let next = build(current)?;
                if contacts_named(&next).difference(&contacts_named(current)).any(|c| !checked.contains(c)) {
                    return Err(Error::Aborted { resource: resource_of(current) });
                }
                if next == *current {
                    return Ok(None);
                }
                let check_conflicts =
                    if request.allow_conflicts { Vec::new() } else { to_check_after_update(current, &next) };
                Ok(Some(Changed { check_conflicts, ..Changed::to(next) }))
            })
            .await?;
        Ok(UpdateMeetingResponse {
            meeting: meeting_response(&stored),
            do_not_contact_participants: invitable.do_not_contact,
        })
    }

    pub(super) async fn delete(&self, request: DeleteMeetingRequest) -> Result<DeleteMeetingResponse, Error> {
        let (name, expected) =
            (name_of("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
        let deleted = self
            .store
            .delete_meeting(name, expected, |current| match status_of(current)? {
                Status::Completed => Err(precondition(
                    "MEETING_COMPLETED",
                    &resource_of(current),
                    format!(
                        "{} took place: its record is kept (correct it with CorrectMeetingRecord)",
                        resource_of(current)
                    ),
                )),
                _ => Ok(()),
            })
            .await?;
        Ok(DeleteMeetingResponse { meeting: meeting_response(&deleted) })
    }

    pub(super) async fn reschedule(
        &self,
        request: RescheduleMeetingRequest,
    ) -> Result<RescheduleMeetingResponse, Error> {
        let (name, expected, to) = (
            name_of("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            Move::parse(request.start_time.as_ref(), request.end_time.as_ref(), &request.time_zone),
        )
            .validate()?;
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                ensure_changeable(&resource_of(current), status_of(current)?, "move")?;
                to.check_agenda(current.agenda.iter().map(|item| item.minutes))
                    .map_err(|v| Error::InvalidArgument(vec![v]))?;
                let zone = to.time_zone.as_ref().map_or(current.meeting.time_zone.clone(), |z| z.name().to_owned());
                let m = &current.meeting;
                if m.start_time == to.start && m.end_time == to.end && m.time_zone == zone {
                    return Ok(None);
                }
                let mut next = current.clone();
                next.meeting.start_time = to.start;
                next.meeting.end_time = to.end;
                next.meeting.time_zone = zone;
                next.meeting.sequence += 1;
                if !m.rrule.is_empty() {
                    // All occurrences move: cancelled and moved ones keep their place relative to the start.
                    let series = current.series()?;
                    let moved = crate::api::series::move_all(&series, &next.meeting)
                        .map_err(|v| Error::InvalidArgument(vec![v]))?;
                    next.set_series(&moved)?;
                } else {
                    next.meeting.last_end_time = Some(to.end);
                }
                // A new time is a new question: answers given for the old one no longer hold.
                for attendee in &mut next.attendees {
                    attendee.rsvp = if attendee.contact == m.organizer { Rsvp::Accepted } else { Rsvp::NeedsAction }
                        .as_str()
                        .to_owned();
                }
                let check_conflicts = if request.allow_conflicts { Vec::new() } else { required(&next) };
                Ok(Some(Changed { check_conflicts, ..Changed::to(next) }))
            })
            .await?;
        Ok(RescheduleMeetingResponse { meeting: meeting_response(&stored) })
    }

    pub(super) async fn confirm(&self, request: ConfirmMeetingRequest) -> Result<ConfirmMeetingResponse, Error> {
        let (name, expected) =
            (name_of("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                let status = status_of(current)?;
                ensure_changeable(&resource_of(current), status, "confirm")?;
                if status == Status::Scheduled {
                    return Ok(None);
                }
                let mut next = current.clone();
                next.meeting.status = Status::Scheduled.as_str().to_owned();
                let check_conflicts = if request.allow_conflicts { Vec::new() } else { required(&next) };
                Ok(Some(Changed { check_conflicts, ..Changed::to(next) }))
            })
            .await?;
        Ok(ConfirmMeetingResponse { meeting: meeting_response(&stored) })
    }

    pub(super) async fn cancel(&self, request: CancelMeetingRequest) -> Result<CancelMeetingResponse, Error> {
        let (name, why, expected, from) = (
            name_of("name", &request.name),
            reason("reason", &request.reason),
            etag::parse_expected("etag", &request.etag),
            request
                .from_original_start_time
                .as_ref()
                .map(|t| time::from_timestamp("from_original_start_time", Some(t)))
                .transpose(),
        )
            .validate()?;
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                match status_of(current)? {
                    Status::Cancelled => return Ok(None),
                    status => ensure_changeable(&resource_of(current), status, "cancel")?,
                }
                if let Some(from) = from {
                    // This and following: the series ends before `from`; from its first occurrence, all of it.
                    if let Some(before) = crate::api::series::cancel_from(current, from)? {
                        let mut next = current.clone();
                        next.set_series(&before)?;
                        next.meeting.sequence += 1;
                        return Ok(Some(Changed::to(next)));
                    }
                }
                let mut next = current.clone();
                next.meeting.status = Status::Cancelled.as_str().to_owned();
                next.meeting.cancel_reason = why;
                next.meeting.sequence += 1;
                Ok(Some(Changed::to(next)))
            })
            .await?;
        Ok(CancelMeetingResponse { meeting: meeting_response(&stored) })
    }

    pub(super) async fn respond(
        &self,
        request: RespondToInvitationRequest,
    ) -> Result<RespondToInvitationResponse, Error> {
        let (name, answer) =
            (name_of("name", &request.name), Answer::parse(&request.attendee, request.response, &request.comment))
                .validate()?;
        let stored = self.record_answer(name, &answer).await?;
        Ok(RespondToInvitationResponse { meeting: meeting_response(&stored) })
    }

    /// Records an attendee's answer (RespondToInvitation, ImportCalendarReply).
    pub(super) async fn record_answer(&self, name: Name<Meetings>, answer: &Answer) -> Result<StoredMeeting, Error> {
        let attendee = answer.attendee.to_string();
        let (stored, _) = self
            .store
            .change_meeting(name, None, None, |current| {
                ensure_changeable(&resource_of(current), status_of(current)?, "answer")?;
                let mut next = current.clone();
                let Some(invited) = next.attendees.iter_mut().find(|a| a.contact == attendee) else {
                    return Err(Error::InvalidArgument(vec![FieldViolation::new(
                        "attendee",
                        format!("{attendee} is not invited to {}", resource_of(current)),
                    )]));
                };
                invited.rsvp = answer.rsvp.as_str().to_owned();
                invited.comment = answer.comment.clone();
                Ok((next != *current).then(|| Changed::to(next)))
            })
            .await?;
        Ok(stored)
    }

    pub(super) async fn complete(&self, request: CompleteMeetingRequest) -> Result<CompleteMeetingResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let (name, completion, expected, request_id) = (
            name_of("name", &request.name),
            Completion::parse(&request),
            etag::parse_expected("etag", &request.etag),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let replay = async || -> Result<Option<CompleteMeetingResponse>, Error> {
            let Some(request_id) = &request_id else { return Ok(None) };
            let Some(done) = self.store.done_by(COMPLETE_METHOD, request_id, &fingerprint).await? else {
                return Ok(None);
            };
            let items = self.store.action_items_of(name).await?;
            Ok(Some(CompleteMeetingResponse {
                meeting: meeting_response(&done),
                action_items: items.iter().map(resource::action_item).collect(),
            }))
        };
        if let Some(done) = replay().await? {
            return Ok(done);
        }
        // Recording who came is not contacting them: people who asked not to be contacted may be recorded.
        check_contacts(&self.contacts, &completion.contacts(), true).await?;
        let claim = request_id.as_ref().map(|request_id| Claim {
            method: COMPLETE_METHOD,
            request_id,
            fingerprint: &fingerprint,
        });
        let outcome = self
            .store
            .change_meeting(name, expected, claim, |current| {
                let resource = resource_of(current);
                ensure_changeable(&resource, status_of(current)?, "complete")?;
                let now = time::now();
                if current.meeting.start_time > now {
                    return Err(precondition(
                        "MEETING_NOT_STARTED",
                        &resource,
                        format!("{resource} starts in the future: it can be completed once it has started"),
                    ));
                }
                let items = crate::store::action_items::new_rows(completion.action_items, Some(&current.meeting.id));
                let record = Record {
                    minutes: completion.minutes,
                    decisions: completion.decisions,
                    attendance: completion.attendance.iter().map(ToString::to_string).collect(),
                    action_items: items.iter().map(|item| format!("actionItems/{}", item.id)).collect(),
                    complete_time: rfc3339(now),
                    corrections: Vec::new(),
                };
                let mut next = current.clone();
                next.meeting.status = Status::Completed.as_str().to_owned();
                next.meeting.record = Some(record.to_json());
                Ok(Some(Changed { action_items: items, ..Changed::to(next) }))
            })
            .await;
        match outcome {
            Ok((stored, items)) => Ok(CompleteMeetingResponse {
                meeting: meeting_response(&stored),
                action_items: items.iter().map(resource::action_item).collect(),
            }),
            // A retry that raced the first attempt finds the meeting completed: it gets the first result.
            Err(error) => match replay().await? {
                Some(done) => Ok(done),
                None => Err(error),
            },
        }
    }

    pub(super) async fn correct(
        &self,
        request: CorrectMeetingRecordRequest,
    ) -> Result<CorrectMeetingRecordResponse, Error> {
        const CORRECTABLE: &[&str] = &["minutes", "decisions", "attendance"];
        let asked = request.record.clone().unwrap_or_default();
        let mask = match &request.update_mask {
            Some(mask) if !mask.paths.is_empty() => UpdateMask::parse("update_mask", Some(mask), &asked, CORRECTABLE),
            _ => Err(vec![FieldViolation::new(
                "update_mask",
                "name the fields corrected: minutes, decisions, attendance",
            )]),
        };
        let (name, mask, why, expected, minutes, decisions, attendance) = (
            name_of("name", &request.name),
            mask,
            reason("reason", &request.reason),
            etag::parse_expected("etag", &request.etag),
            long_text("record.minutes", &asked.minutes, MINUTES_MAX),
            decisions("record.decisions", &asked.decisions),
            attendance("record.attendance", &asked.attendance),
        )
            .validate()?;
        let fields: Vec<String> = CORRECTABLE.iter().filter(|f| mask.contains(f)).map(|f| (*f).to_owned()).collect();
        if mask.contains("attendance") {
            check_contacts(&self.contacts, &attendance, true).await?;
        }
        let actor = liaison_runtime::net::context::caller().identity.subject.clone();
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                let resource = resource_of(current);
                let record = match (status_of(current)?, &current.meeting.record) {
                    (Status::Completed, Some(json)) => Record::from_json(json)?,
                    _ => {
                        return Err(precondition(
                            "MEETING_NOT_COMPLETED",
                            &resource,
                            format!("{resource} is not completed: it has no record to correct"),
                        ));
                    }
                };
                let mut corrected = record.clone();
                if mask.contains("minutes") {
                    corrected.minutes = minutes;
                }
                if mask.contains("decisions") {
                    corrected.decisions = decisions;
                }
                if mask.contains("attendance") {
                    corrected.attendance = attendance.iter().map(ToString::to_string).collect();
                }
                corrected.corrections.push(Correction {
                    correct_time: rfc3339(time::now()),
                    actor,
                    reason: why,
                    fields,
                });
                let mut next = current.clone();
                next.meeting.record = Some(corrected.to_json());
                Ok(Some(Changed::to(next)))
            })
            .await?;
        Ok(CorrectMeetingRecordResponse { meeting: meeting_response(&stored) })
    }
}
