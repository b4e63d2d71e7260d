//! The rules of meetings, free of I/O: what a valid meeting is (here), recurrence (`recurrence`: RFC 5545 rules
//! expanded in local time and resolved in the meeting's zone) and finding times that suit everyone
//! (`availability`).
pub mod action_item;
pub mod availability;
pub mod calendar;
pub mod commitment;
pub mod lifecycle;
pub mod project;
pub mod recurrence;
pub mod series;
use chrono::{DateTime, Utc};
use liaison_runtime::api::names::{Contacts, Name, parse_list};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{TimeZone, long_text, optional_text, required_text};
use liaison_runtime::{FieldViolation, PreconditionViolation};

pub const TITLE_MAX: usize = 200;
pub const PARTICIPANTS_MAX: usize = 200;
pub const LONGEST_MEETING: chrono::TimeDelta = chrono::TimeDelta::days(7);
pub const OBJECTIVES_MAX: usize = 2000;
pub const LOCATION_MAX: usize = 500;
pub const VIDEO_LINK_MAX: usize = 2000;
pub const COMMENT_MAX: usize = 500;
pub const AGENDA_MAX: usize = 50;
pub const TOPIC_MAX: usize = 200;
pub const LINKS_MAX: usize = 20;
pub const LINK_MAX: usize = 300;
/// The longest buffer before or after a meeting.
pub const LONGEST_BUFFER: chrono::TimeDelta = chrono::TimeDelta::hours(4);
/// The longest busy interval a meeting keeps: the meeting with both buffers. Conflict and free/busy reads scan
/// each person's index from this long before the time asked for.
pub const LONGEST_BUSY: chrono::TimeDelta = chrono::TimeDelta::hours(7 * 24 + 2 * 4);

/// Where a meeting stands (stored as its lower-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Tentative,
    Scheduled,
    Cancelled,
    Completed,
}

impl Status {
    pub const ALL: [Status; 4] = [Self::Tentative, Self::Scheduled, Self::Cancelled, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tentative => "tentative",
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    /// Whether the meeting's required attendees are busy for it.
    pub fn is_busy(self) -> bool {
        matches!(self, Self::Tentative | Self::Scheduled | Self::Completed)
    }
}

/// An attendee's answer (stored as its lower-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rsvp {
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
}

impl Rsvp {
    pub const ALL: [Rsvp; 4] = [Self::NeedsAction, Self::Accepted, Self::Declined, Self::Tentative];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsAction => "needs_action",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Tentative => "tentative",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }
}

/// One invitee, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttendee {
    pub contact: Name<Contacts>,
    pub optional: bool,
    pub rsvp: Rsvp,
    pub comment: String,
}

/// One agenda item, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgendaItem {
    pub topic: String,
    pub owner: Option<Name<Contacts>>,
    pub minutes: i32,
}

/// A meeting as a client asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeeting {
    pub title: String,
    pub objectives: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub time_zone: TimeZone,
    pub organizer: Option<Name<Contacts>>,
    /// Every attendee, the organiser included (added last, required, when not asked for).
    pub attendees: Vec<NewAttendee>,
    pub location: String,
    pub video_link: String,
    pub agenda: Vec<NewAgendaItem>,
    pub buffer_before: chrono::TimeDelta,
    pub buffer_after: chrono::TimeDelta,
    pub status: Status,
    pub links: Vec<String>,
    /// The rule of a series; `None` for a meeting that happens once.
    pub recurrence: Option<recurrence::Rule>,
}

/// Collects field parse results: the value, or its violations kept for one answer.
struct Collector(Vec<FieldViolation>);

impl Collector {
    fn take<T, E: Into<Vec<FieldViolation>>>(&mut self, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violations) => {
                self.0.extend(violations.into());
                None
            }
        }
    }
}

impl NewMeeting {
    /// Every bad field named at once: the span (end after start, at most a week) is judged whenever both times
    /// parse, and the agenda's total against the span whenever both are valid, whatever else is wrong.
    pub fn parse(meeting: &liaison_proto::scheduling::v1::Meeting) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let title = bad.take(required_text("meeting.title", &meeting.title, TITLE_MAX));
        let start = bad.take(from_timestamp("meeting.start_time", meeting.start_time.as_ref()));
        let end = bad.take(from_timestamp("meeting.end_time", meeting.end_time.as_ref()));
        let time_zone = bad.take(TimeZone::parse("meeting.time_zone", &meeting.time_zone));
        let attendees = bad.take(parse_attendees(meeting));
        let objectives = bad.take(long_text("meeting.objectives", &meeting.objectives, OBJECTIVES_MAX));
        let organizer = bad.take(optional_contact("meeting.organizer", &meeting.organizer));
        let location = bad.take(optional_text("meeting.location", &meeting.location, LOCATION_MAX));
        let video_link = bad.take(video_link("meeting.video_link", &meeting.video_link));
        let agenda = bad.take(parse_agenda(&meeting.agenda));
        let buffer_before = bad.take(buffer("meeting.buffer_before", meeting.buffer_before.as_ref()));
        let buffer_after = bad.take(buffer("meeting.buffer_after", meeting.buffer_after.as_ref()));
        let status = bad.take(new_status("meeting.status", meeting.status));
        let links = bad.take(parse_links("meeting.links", &meeting.links));
        let rule = bad.take(
            meeting
                .recurrence
                .as_ref()
                .map(|r| recurrence::Rule::parse("meeting.recurrence.rule", &r.rule))
                .transpose(),
        );
        if let (Some(start), Some(end)) = (start, end) {
            let span = bad.take(check_span(start, end));
            if let (Some(()), Some(agenda)) = (span, &agenda) {
                bad.take(check_agenda_fits(agenda, start, end));
            }
            if let (Some(()), Some(zone), Some(Some(rule))) = (span, &time_zone, &rule) {
                bad.take(check_series(start, end, zone, rule));
            }
        }
        match (
            title,
            objectives,
            start,
            end,
            time_zone,
            organizer,
            attendees,
            location,
            video_link,
            agenda,
            buffer_before,
            buffer_after,
            status,
            links,
            rule,
        ) {
            (
                Some(title),
                Some(objectives),
                Some(start),
                Some(end),
                Some(time_zone),
                Some(organizer),
                Some(mut attendees),
                Some(location),
                Some(video_link),
                Some(agenda),
                Some(buffer_before),
                Some(buffer_after),
                Some(status),
                Some(links),
                Some(recurrence),
            ) if bad.0.is_empty() => {
                if let Some(organizer) = organizer {
                    match attendees.iter_mut().find(|a| a.contact == organizer) {
                        Some(attendee) => attendee.rsvp = Rsvp::Accepted,
                        None => attendees.push(NewAttendee {
                            contact: organizer,
                            optional: false,
                            rsvp: Rsvp::Accepted,
                            comment: String::new(),
                        }),
                    }
                }
                Ok(Self {
                    title,
                    objectives,
                    start,
                    end,
                    time_zone,
                    organizer,
                    attendees,
                    location,
                    video_link,
                    agenda,
                    buffer_before,
                    buffer_after,
                    status,
                    links,
                    recurrence,
                })
            }
            _ => Err(bad.0),
        }
    }

    /// The attendees who must be free: checked for conflicts and kept busy.
    pub fn required(&self) -> Vec<String> {
        self.attendees.iter().filter(|a| !a.optional).map(|a| a.contact.to_string()).collect()
    }

    /// Every contact the meeting names — attendees (the organiser among them), then agenda owners — once each,
    /// for one check with contacts.
    pub fn contacts(&self) -> Vec<Name<Contacts>> {
        let mut names: Vec<Name<Contacts>> = self.attendees.iter().map(|a| a.contact).collect();
        for owner in self.agenda.iter().filter_map(|item| item.owner) {
            if !names.contains(&owner) {
                names.push(owner);
            }
        }
        names
    }

    /// The interval the required attendees are busy: the meeting with its buffers.
    pub fn busy_span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start - self.buffer_before, self.end + self.buffer_after)
    }
}

/// The attendees from `attendees`, or `participants` as required attendees; both set is refused.
fn parse_attendees(meeting: &liaison_proto::scheduling::v1::Meeting) -> Result<Vec<NewAttendee>, Vec<FieldViolation>> {
    if !meeting.participants.is_empty() && !meeting.attendees.is_empty() {
        return Err(vec![FieldViolation::new(
            "meeting.attendees",
            "set either attendees or participants (required attendees), not both",
        )]);
    }
    if meeting.attendees.is_empty() {
        let names =
            parse_list("meeting.participants", &meeting.participants, 1, PARTICIPANTS_MAX, Name::<Contacts>::parse)?;
        return Ok(names
            .into_iter()
            .map(|contact| NewAttendee { contact, optional: false, rsvp: Rsvp::NeedsAction, comment: String::new() })
            .collect());
    }
    if meeting.attendees.len() > PARTICIPANTS_MAX {
        return Err(vec![FieldViolation::new(
            "meeting.attendees",
            format!("must list 1 to {PARTICIPANTS_MAX} attendees (got {})", meeting.attendees.len()),
        )]);
    }
    let mut bad = Collector(Vec::new());
    let mut attendees: Vec<NewAttendee> = Vec::with_capacity(meeting.attendees.len());
    for (index, attendee) in meeting.attendees.iter().enumerate() {
        let field = format!("meeting.attendees[{index}]");
        let contact = bad.take(Name::<Contacts>::parse(&format!("{field}.contact"), &attendee.contact));
        let comment = bad.take(optional_text(&format!("{field}.comment"), &attendee.comment, COMMENT_MAX));
        if let Some(contact) = contact
            && attendees.iter().any(|a| a.contact == contact)
        {
            bad.0.push(FieldViolation::new(
                format!("{field}.contact"),
                format!("'{}' is listed twice", attendee.contact),
            ));
            continue;
        }
        if let (Some(contact), Some(comment)) = (contact, comment) {
            attendees.push(NewAttendee { contact, optional: attendee.optional, rsvp: Rsvp::NeedsAction, comment });
        }
    }
    if bad.0.is_empty() { Ok(attendees) } else { Err(bad.0) }
}

fn optional_contact(field: &str, value: &str) -> Result<Option<Name<Contacts>>, FieldViolation> {
    if value.is_empty() { Ok(None) } else { Name::<Contacts>::parse(field, value).map(Some) }
}

/// An `https://` URL with a host, on one line, without spaces.
pub fn video_link(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.chars().count() > VIDEO_LINK_MAX {
        return Err(FieldViolation::new(field, format!("must be at most {VIDEO_LINK_MAX} characters")));
    }
    let host = value
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    let host_name = host.rsplit('@').next().unwrap_or_default();
    let valid_host = !host_name.is_empty()
        && !host_name.starts_with(':')
        && host_name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldViolation::new(
            field,
            "must be an https:// URL with a host, e.g. https://meet.example.org/abc",
        ));
    }
    Ok(value.to_owned())
}

fn parse_agenda(
    items: &[liaison_proto::scheduling::v1::AgendaItem],
) -> Result<Vec<NewAgendaItem>, Vec<FieldViolation>> {
    if items.len() > AGENDA_MAX {
        return Err(vec![FieldViolation::new(
            "meeting.agenda",
            format!("must have at most {AGENDA_MAX} items (got {})", items.len()),
        )]);
    }
    let longest = LONGEST_MEETING.num_minutes() as i32;
    let mut bad = Collector(Vec::new());
    let mut agenda = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = format!("meeting.agenda[{index}]");
        let topic = bad.take(required_text(&format!("{field}.topic"), &item.topic, TOPIC_MAX));
        let owner = bad.take(optional_contact(&format!("{field}.owner"), &item.owner));
        let minutes = bad.take(if (1..=longest).contains(&item.minutes) {
            Ok(item.minutes)
        } else {
            Err(FieldViolation::new(
                format!("{field}.minutes"),
                format!("must be 1 to {longest} (got {})", item.minutes),
            ))
        });
        if let (Some(topic), Some(owner), Some(minutes)) = (topic, owner, minutes) {
            agenda.push(NewAgendaItem { topic, owner, minutes });
        }
    }
    if bad.0.is_empty() { Ok(agenda) } else { Err(bad.0) }
}

/// The agenda's minutes add up to no more than the meeting lasts.
fn check_agenda_fits(agenda: &[NewAgendaItem], start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), FieldViolation> {
    let total: i64 = agenda.iter().map(|item| i64::from(item.minutes)).sum();
    let length = (end - start).num_seconds();
    if total * 60 > length {
        return Err(FieldViolation::new(
            "meeting.agenda",
            format!("its items take {total} minutes, longer than the meeting ({} minutes)", length / 60),
        ));
    }
    Ok(())
}

/// A buffer: unset is none; 0 to [`LONGEST_BUFFER`], rounded up to whole seconds.
fn buffer(field: &str, value: Option<&prost_types::Duration>) -> Result<chrono::TimeDelta, FieldViolation> {
    let Some(value) = value else { return Ok(chrono::TimeDelta::zero()) };
    let seconds = value.seconds.saturating_add(i64::from(value.nanos > 0));
    if value.seconds < 0 || value.nanos < 0 || value.nanos >= 1_000_000_000 || seconds > LONGEST_BUFFER.num_seconds() {
        return Err(FieldViolation::new(field, "must be 0 to 4 hours"));
    }
    Ok(chrono::TimeDelta::seconds(seconds))
}

/// The status a meeting is created in: TENTATIVE or SCHEDULED, unset meaning SCHEDULED.
fn new_status(field: &str, value: i32) -> Result<Status, FieldViolation> {
    use liaison_proto::scheduling::v1::MeetingStatus;
    match MeetingStatus::try_from(value) {
        Ok(MeetingStatus::Unspecified | MeetingStatus::Scheduled) => Ok(Status::Scheduled),
        Ok(MeetingStatus::Tentative) => Ok(Status::Tentative),
        _ => Err(FieldViolation::new(field, "a meeting is created TENTATIVE or SCHEDULED")),
    }
}

/// A status filter: unset means any.
pub fn status_filter(field: &str, value: i32) -> Result<Option<Status>, FieldViolation> {
    use liaison_proto::scheduling::v1::MeetingStatus;
    match MeetingStatus::try_from(value) {
        Ok(MeetingStatus::Unspecified) => Ok(None),
        Ok(MeetingStatus::Tentative) => Ok(Some(Status::Tentative)),
        Ok(MeetingStatus::Scheduled) => Ok(Some(Status::Scheduled)),
        Ok(MeetingStatus::Cancelled) => Ok(Some(Status::Cancelled)),
        Ok(MeetingStatus::Completed) => Ok(Some(Status::Completed)),
        Err(_) => Err(FieldViolation::new(field, format!("{value} is not a MeetingStatus"))),
    }
}

/// A resource name of any service: `collection/id` segment pairs, e.g. `cases/0193…` or
/// `projects/p1/tasks/t2`. Collections are lower-case words (letters, digits, `-`), ids URL-safe characters.
pub fn link(field: &str, value: &str) -> Result<String, FieldViolation> {
    let bad = || {
        FieldViolation::new(
            field,
            format!("'{value}' is not a resource name of collection/id segments (e.g. cases/123)"),
        )
    };
    if value.chars().count() > LINK_MAX {
        return Err(FieldViolation::new(field, format!("must be at most {LINK_MAX} characters")));
    }
    let segments: Vec<&str> = value.split('/').collect();
    if segments.len() < 2 || !segments.len().is_multiple_of(2) {
        return Err(bad());
    }
    for pair in segments.chunks(2) {
        let (collection, id) = (pair[0], pair[1]);
        let collection_ok = collection.starts_with(|c: char| c.is_ascii_lowercase())
            && collection.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let id_ok =
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'));
        if !collection_ok || !id_ok {
            return Err(bad());
        }
    }
    Ok(value.to_owned())
}

fn parse_links(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > LINKS_MAX {
        return Err(vec![FieldViolation::new(
            field,
            format!("must list at most {LINKS_MAX} links (got {})", values.len()),
        )]);
    }
    let mut bad = Collector(Vec::new());
    let mut links: Vec<String> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let entry = format!("{field}[{index}]");
        if let Some(parsed) = bad.take(link(&entry, value)) {
            if links.contains(&parsed) {
                bad.0.push(FieldViolation::new(entry, format!("'{value}' is listed twice")));
            } else {
                links.push(parsed);
            }
        }
    }
    if bad.0.is_empty() { Ok(links) } else { Err(bad.0) }
}

/// What contacts says of one participant, as far as a meeting cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantFacts {
    /// The name contacts answers with (a merged contact answers with its survivor's).
    pub name: String,
    /// Names merged into this contact.
    pub merged_names: Vec<String>,
    pub deleted: bool,
    pub do_not_contact: bool,
}

/// The participants who may be invited, and which of them asked not to be contacted (flagged in the answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invitable {
    pub do_not_contact: Vec<String>,
}

/// Why a participant cannot be invited; every one is named in one FAILED_PRECONDITION.
pub fn check_participants(
    asked: &[Name<Contacts>],
    found: &[ParticipantFacts],
    missing: &[String],
    allow_do_not_contact: bool,
) -> Result<Invitable, Vec<PreconditionViolation>> {
    let violation = |kind: &str, subject: &str, description: String| PreconditionViolation {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        description,
    };
    let mut violations = Vec::new();
    let mut invitable = Invitable::default();
    for name in asked.iter().map(ToString::to_string) {
        if missing.contains(&name) {
            violations.push(violation(PARTICIPANT_NOT_FOUND, &name, format!("participant {name} does not exist")));
            continue;
        }
        let Some(facts) = found.iter().find(|f| f.name == name || f.merged_names.contains(&name)) else {
            violations.push(violation(PARTICIPANT_NOT_FOUND, &name, format!("participant {name} does not exist")));
            continue;
        };
        if facts.name != name {
            violations.push(violation(
                PARTICIPANT_MERGED,
                &name,
                format!("participant {name} was merged into {}: invite {} instead", facts.name, facts.name),
            ));
        } else if facts.deleted {
            violations.push(violation(
                PARTICIPANT_DELETED,
                &name,
                format!("participant {name} is deleted: undelete the contact first, or leave them out"),
            ));
        } else if facts.do_not_contact {
            if allow_do_not_contact {
                invitable.do_not_contact.push(name);
            } else {
                violations.push(violation(
                    PARTICIPANT_DO_NOT_CONTACT,
                    &name,
                    format!(
                        "participant {name} asked not to be contacted: set allow_do_not_contact to invite them \
                         anyway"
                    ),
                ));
            }
        }
    }
    if violations.is_empty() { Ok(invitable) } else { Err(violations) }
}

/// The reason of the precondition failure when participants cannot be invited: the first violation's kind when
/// they all share it, else `PARTICIPANTS_NOT_INVITABLE`.
pub fn participants_reason(violations: &[PreconditionViolation]) -> &'static str {
    let kinds = [PARTICIPANT_NOT_FOUND, PARTICIPANT_DELETED, PARTICIPANT_MERGED, PARTICIPANT_DO_NOT_CONTACT];
    match violations.first() {
        Some(first) if violations.iter().all(|v| v.kind == first.kind) => {
            kinds.into_iter().find(|kind| *kind == first.kind).unwrap_or("PARTICIPANTS_NOT_INVITABLE")
        }
        _ => "PARTICIPANTS_NOT_INVITABLE",
    }
}

/// Another meeting a participant is already in at the time asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub participant: String,
    pub meeting: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The other meeting is a tentative hold.
    pub tentative: bool,
}

pub const MEETING_CONFLICT: &str = "MEETING_CONFLICT";

/// The precondition failure of a booking that overlaps participants' other meetings: one violation per
/// participant and meeting, saying when.
pub fn conflicts_error(conflicts: &[Conflict]) -> liaison_runtime::Error {
    let violations = conflicts
        .iter()
        .map(|c| PreconditionViolation {
            kind: MEETING_CONFLICT.to_owned(),
            subject: c.participant.clone(),
            description: format!(
                "{} is in {}{} from {} to {} (buffers included); set allow_conflicts to book anyway",
                c.participant,
                c.meeting,
                if c.tentative { " (a tentative hold)" } else { "" },
                c.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                c.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        })
        .collect();
    liaison_runtime::Error::FailedPrecondition { reason: MEETING_CONFLICT, violations }
}

pub const PARTICIPANT_NOT_FOUND: &str = "PARTICIPANT_NOT_FOUND";
pub const PARTICIPANT_DELETED: &str = "PARTICIPANT_DELETED";
pub const PARTICIPANT_MERGED: &str = "PARTICIPANT_MERGED";
pub const PARTICIPANT_DO_NOT_CONTACT: &str = "PARTICIPANT_DO_NOT_CONTACT";

/// A series' first occurrence must be one of its rule's.
fn check_series(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: &TimeZone,
    rule: &recurrence::Rule,
) -> Result<(), FieldViolation> {
    let field = "meeting.recurrence.rule";
    let (Ok(start), Ok(end), Ok(zone)) =
        (series::to_jiff(start), series::to_jiff(end), jiff::tz::TimeZone::get(zone.name()))
    else {
        return Err(FieldViolation::new(field, "the meeting's times cannot be placed in its time zone"));
    };
    series::new_series(start, end, &zone, Some(rule.clone())).map(|_| ()).map_err(|e| match e {
        recurrence::SeriesError::LaterOfRepeatedTime => e.violation("meeting.start_time"),
        _ => e.violation(field),
    })
}

/// A meeting ends after it starts and lasts at most a week.
pub fn check_span(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), FieldViolation> {
    if end <= start {
        return Err(FieldViolation::new("meeting.end_time", "must be after meeting.start_time"));
    }
    if end - start > LONGEST_MEETING {
        return Err(FieldViolation::new("meeting.end_time", "a meeting lasts at most 7 days"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
