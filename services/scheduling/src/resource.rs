//! How stored meetings look on the wire and in the change feed: every change carries the whole meeting.
use crate::domain::action_item::State;
use crate::domain::lifecycle::{Record, parse_rfc3339};
use crate::domain::{Rsvp, Status, series};
use crate::store::StoredMeeting;
use crate::store::entity::action_item;
use liaison_proto::scheduling::v1::{
    ActionItem, ActionItemState, AgendaItem, Attendee, Meeting, MeetingRecord, MeetingStatus, MovedOccurrence,
    RecordCorrection, Recurrence, ResponseStatus,
};
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;

impl liaison_runtime::db::resource::Resource for StoredMeeting {
    type Wire = Meeting;
    fn resource_name(&self) -> String {
        format!("meetings/{}", self.meeting.id)
    }
    fn to_wire(&self) -> Meeting {
        meeting(self)
    }
}

pub fn meeting(stored: &StoredMeeting) -> Meeting {
    let m = &stored.meeting;
    let duration = |seconds: i64| (seconds > 0).then_some(prost_types::Duration { seconds, nanos: 0 });
    Meeting {
        name: liaison_runtime::db::resource::Resource::resource_name(stored),
        title: m.title.clone(),
        start_time: Some(to_timestamp(m.start_time)),
        end_time: Some(to_timestamp(m.end_time)),
        time_zone: m.time_zone.clone(),
        participants: stored.attendees.iter().map(|a| a.contact.clone()).collect(),
        etag: etag::render(m.revision),
        create_time: Some(to_timestamp(m.create_time)),
        update_time: Some(to_timestamp(m.update_time)),
        objectives: m.objectives.clone(),
        organizer: m.organizer.clone(),
        attendees: stored
            .attendees
            .iter()
            .map(|a| Attendee {
                contact: a.contact.clone(),
                optional: a.optional,
                rsvp: rsvp(&a.rsvp) as i32,
                comment: a.comment.clone(),
            })
            .collect(),
        location: m.location.clone(),
        video_link: m.video_link.clone(),
        agenda: stored
            .agenda
            .iter()
            .map(|item| AgendaItem { topic: item.topic.clone(), owner: item.owner.clone(), minutes: item.minutes })
            .collect(),
        buffer_before: duration(m.buffer_before_seconds),
        buffer_after: duration(m.buffer_after_seconds),
        status: status(&m.status) as i32,
        links: stored.links.clone(),
        cancel_reason: m.cancel_reason.clone(),
        record: m.record.as_deref().and_then(|json| Record::from_json(json).ok()).map(|r| record(&r)),
        sequence: m.sequence,
        recurrence: (!m.rrule.is_empty()).then(|| recurrence(stored)),
        continues: m.continues.clone(),
    }
}

/// A series' rule with its cancelled and moved occurrences as instants.
fn recurrence(stored: &StoredMeeting) -> Recurrence {
    let m = &stored.meeting;
    let instant = |t: jiff::Timestamp| series::to_chrono(t).ok().map(to_timestamp);
    let mut wire =
        Recurrence { rule: m.rrule.clone(), last_end_time: m.last_end_time.map(to_timestamp), ..Default::default() };
    // Read back from what this service wrote; were it unreadable, the rule alone is still shown.
    if let Ok(series) = stored.series() {
        let zone = series.zone().clone();
        wire.cancelled_occurrences = series
            .exdates()
            .iter()
            .filter_map(|id| zone.to_ambiguous_timestamp(*id).compatible().ok())
            .filter_map(instant)
            .collect();
        wire.moved_occurrences = series
            .overrides()
            .iter()
            .map(|o| MovedOccurrence {
                original_start_time: zone.to_ambiguous_timestamp(o.recurrence_id).compatible().ok().and_then(instant),
                start_time: instant(o.start),
                end_time: instant(o.end),
            })
            .collect();
    }
    wire
}

fn record(record: &Record) -> MeetingRecord {
    let time = |text: &str| parse_rfc3339(text).map(to_timestamp);
    MeetingRecord {
        minutes: record.minutes.clone(),
        decisions: record.decisions.clone(),
        attendance: record.attendance.clone(),
        action_items: record.action_items.clone(),
        complete_time: time(&record.complete_time),
        corrections: record
            .corrections
            .iter()
            .map(|c| RecordCorrection {
                correct_time: time(&c.correct_time),
                actor: c.actor.clone(),
                reason: c.reason.clone(),
                fields: c.fields.clone(),
            })
            .collect(),
    }
}

impl liaison_runtime::db::resource::Resource for action_item::Model {
    type Wire = ActionItem;
    fn resource_name(&self) -> String {
        format!("actionItems/{}", self.id)
    }
    fn to_wire(&self) -> ActionItem {
        action_item(self)
    }
}

pub fn action_item(row: &action_item::Model) -> ActionItem {
    ActionItem {
        name: liaison_runtime::db::resource::Resource::resource_name(row),
        description: row.description.clone(),
        owner: row.owner.clone(),
        due_time: row.due_time.map(to_timestamp),
        meeting: row.meeting_id.as_ref().map(|id| format!("meetings/{id}")).unwrap_or_default(),
        state: State::from_stored(&row.state).map_or(ActionItemState::Unspecified, State::to_wire) as i32,
        completion_note: row.completion_note.clone(),
        close_time: row.close_time.map(to_timestamp),
        etag: etag::render(row.revision),
        create_time: Some(to_timestamp(row.create_time)),
        update_time: Some(to_timestamp(row.update_time)),
    }
}

fn rsvp(stored: &str) -> ResponseStatus {
    match Rsvp::from_stored(stored) {
        Some(Rsvp::NeedsAction) => ResponseStatus::NeedsAction,
        Some(Rsvp::Accepted) => ResponseStatus::Accepted,
        Some(Rsvp::Declined) => ResponseStatus::Declined,
        Some(Rsvp::Tentative) => ResponseStatus::Tentative,
        None => ResponseStatus::Unspecified,
    }
}

pub fn status(stored: &str) -> MeetingStatus {
    match Status::from_stored(stored) {
        Some(Status::Tentative) => MeetingStatus::Tentative,
        Some(Status::Scheduled) => MeetingStatus::Scheduled,
        Some(Status::Cancelled) => MeetingStatus::Cancelled,
        Some(Status::Completed) => MeetingStatus::Completed,
        None => MeetingStatus::Unspecified,
    }
}

#[cfg(test)]
mod proptests;
