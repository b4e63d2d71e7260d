//! FindMeetingTimes: parse the request (every bad field at once, the search's own checks included, under the
//! proto's field names), check the participants and read their time zones and working hours with one call to
//! contacts, read their busy times by index range, search (`domain::availability`), map back.
use crate::domain::availability::{self, Availability, Candidate, Outcome, Participant, Reason, WorkingHours};
use crate::domain::{ParticipantFacts, check_participants, participants_reason};
use crate::store::Store;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::scheduling::v1 as pb;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::at_most;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::net::peers::names_only::ContactFacts;
use liaison_runtime::{Error, FieldViolation};

/// The request's fields in the order violations are reported.
const FIELD_ORDER: [&str; 10] = [
    "participants",
    "duration",
    "window_start_time",
    "window_end_time",
    "time_zone",
    "earliest_local_time",
    "latest_local_time",
    "min_attendance_percent",
    "max_candidates",
    "step",
];

pub(super) async fn find_meeting_times(
    store: &Store,
    contacts: &ContactsClient,
    request: &pb::FindMeetingTimesRequest,
) -> Result<pb::FindMeetingTimesResponse, Error> {
    let (mut search, asked) = parse(request).map_err(Error::InvalidArgument)?;
    let names: Vec<String> = asked.iter().map(ToString::to_string).collect();
    let page = contacts.contact_facts(names.clone()).await?;
    let found: Vec<ParticipantFacts> = page.contacts.iter().map(super::facts_of).collect();
    // Finding a time invites nobody: a participant who asked not to be contacted is searched for, and flagged.
    let invitable = check_participants(&asked, &found, &page.missing_names, true)
        .map_err(|violations| Error::FailedPrecondition { reason: participants_reason(&violations), violations })?;
    let busy = store.busy_between(&names, search.window_start, search.window_end).await?;
    for ((participant, busy), name) in search.participants.iter_mut().zip(busy).zip(&names) {
        participant.busy = busy;
        if let Some(facts) = page.contacts.iter().find(|c| c.name == *name) {
            participant.time_zone = zone(facts);
            participant.working_hours = working_hours(facts);
        }
    }
    // The search is CPU work (bounded by the request limits): off the async workers.
    let outcome = tokio::task::spawn_blocking(move || availability::find_meeting_times(&search))
        .await
        .map_err(|e| Error::Internal(format!("the meeting-time search failed: {e}")))?
        // The request passed these checks before; only what contacts added can fail them now.
        .map_err(|violations| {
            // The fields only: their descriptions quote contacts' data, which the error log must not collect.
            let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
            Error::Internal(format!("contacts' facts fail the search's checks on {}", fields.join(", ")))
        })?;
    let mut response =
        pb::FindMeetingTimesResponse { do_not_contact_participants: invitable.do_not_contact, ..Default::default() };
    match outcome {
        Outcome::Found(candidates) => response.candidates = candidates.into_iter().map(candidate).collect(),
        Outcome::NoSlot(no_slot) => {
            response.empty_reasons = no_slot.reasons.into_iter().map(reason).collect();
            response.closest_misses = no_slot.closest.into_iter().map(candidate).collect();
        }
    }
    Ok(response)
}

/// The search as asked (participants without zones, hours or busy times yet) and the participants' names, or every
/// bad field: the request's own (names, times, durations, zone, local times) and the search's checks (counts,
/// duplicates, window, bounds), each field named once.
fn parse(
    request: &pb::FindMeetingTimesRequest,
) -> Result<(availability::Request, Vec<Name<Contacts>>), Vec<FieldViolation>> {
    // Counted before any is read: a request of a million participants costs one comparison.
    let attendees = at_most("participants", &request.participants, availability::PARTICIPANTS_MAX)?;
    let mut violations = Vec::new();
    let mut asked = Vec::new();
    let mut participants = Vec::with_capacity(attendees.len());
    for (index, attendee) in attendees.iter().enumerate() {
        // An unparsable name still goes to the search's checks (under its text), which judge the count.
        let id = match Name::<Contacts>::parse(&format!("participants[{index}].contact"), &attendee.contact) {
            Ok(name) => {
                asked.push(name);
                name.to_string()
            }
            Err(violation) => {
                violations.push(violation);
                attendee.contact.clone()
            }
        };
        participants.push(Participant {
            id,
            required: !attendee.optional,
            time_zone: None,
            working_hours: Vec::new(),
            busy: Vec::new(),
        });
    }
    let duration = take(
        &mut violations,
        request
            .duration
            .as_ref()
            .ok_or_else(|| FieldViolation::new("duration", "is required"))
            .and_then(|d| parse_duration("duration", d)),
        availability::DURATION_MIN,
    );
    let window_start = from_timestamp("window_start_time", request.window_start_time.as_ref()).map(to_jiff);
    let window_end = from_timestamp("window_end_time", request.window_end_time.as_ref()).map(to_jiff);
    // A window that did not parse is judged no further: a valid stand-in keeps the search's checks quiet about it.
    let (window_start, window_end) = match (window_start, window_end) {
        (Ok(start), Ok(end)) => (start, end),
        (start, end) => {
            violations.extend(start.err().into_iter().chain(end.err()));
            (Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH + availability::WINDOW_MAX)
        }
    };
    let local_zone = take(&mut violations, organiser_zone(&request.time_zone), TimeZone::UTC);
    let earliest_local =
        take(&mut violations, optional_local_time("earliest_local_time", &request.earliest_local_time, false), None);
    let latest_local =
        take(&mut violations, optional_local_time("latest_local_time", &request.latest_local_time, true), None);
    let step = take(
        &mut violations,
        request.step.as_ref().map_or(Ok(availability::DEFAULT_STEP), |step| parse_duration("step", step)),
        availability::DEFAULT_STEP,
    );
    let search = availability::Request {
        participants,
        duration,
        window_start,
        window_end,
        earliest_local,
        latest_local,
        local_zone,
        // Out of range stays out of range (and is reported by the search's checks).
        min_attendance_percent: u8::try_from(request.min_attendance_percent).unwrap_or(u8::MAX),
        max_candidates: request
            .max_candidates
            .map_or(availability::DEFAULT_CANDIDATES, |max| usize::try_from(max).unwrap_or(0)),
        step,
    };
    if let Err(more) = search.validate() {
        for violation in more {
            let field = proto_field(&violation.field);
            if !violations.iter().any(|v| v.field == field) {
                violations.push(FieldViolation::new(field, violation.description));
            }
        }
    }
    if violations.is_empty() {
        Ok((search, asked))
    } else {
        // By field, then by list index (`participants[2]` after `participants[1]`).
        let rank = |v: &FieldViolation| {
            let root = v.field.split(['[', '.']).next().unwrap_or_default();
            let index = v.field.split_once('[').and_then(|(_, rest)| rest.split_once(']')?.0.parse::<usize>().ok());
            (FIELD_ORDER.iter().position(|f| *f == root).unwrap_or(FIELD_ORDER.len()), index)
        };
        violations.sort_by_key(rank);
        Err(violations)
    }
}

/// The value, or the placeholder with the violation noted.
fn take<T>(violations: &mut Vec<FieldViolation>, result: Result<T, FieldViolation>, placeholder: T) -> T {
    result.unwrap_or_else(|violation| {
        violations.push(violation);
        placeholder
    })
}

/// The search's field paths as the proto names them.
fn proto_field(field: &str) -> String {
    if field == "window.end_time" {
        return "window_end_time".to_owned();
    }
    if field.starts_with("participants[")
        && let Some(participant) = field.strip_suffix(".id")
    {
        return format!("{participant}.contact");
    }
    field.to_owned()
}

/// A protobuf duration, checked as the well-known type defines it.
fn parse_duration(field: &str, value: &prost_types::Duration) -> Result<SignedDuration, FieldViolation> {
    let mixed_signs = (value.seconds > 0 && value.nanos < 0) || (value.seconds < 0 && value.nanos > 0);
    if value.nanos.unsigned_abs() >= 1_000_000_000 || mixed_signs {
        return Err(FieldViolation::new(
            field,
            "is not a valid duration: nanos within ±999999999, same sign as seconds",
        ));
    }
    Ok(SignedDuration::new(value.seconds, value.nanos))
}

fn to_jiff(at: chrono::DateTime<chrono::Utc>) -> Timestamp {
    // Within 1900–9999 (checked by `from_timestamp`), so always in jiff's range.
    Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn to_timestamp(at: Timestamp) -> prost_types::Timestamp {
    match at.subsec_nanosecond() {
        nanos if nanos < 0 => prost_types::Timestamp { seconds: at.as_second() - 1, nanos: nanos + 1_000_000_000 },
        nanos => prost_types::Timestamp { seconds: at.as_second(), nanos },
    }
}

fn organiser_zone(name: &str) -> Result<TimeZone, FieldViolation> {
    if name.is_empty() {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name)
        .map_err(|_| FieldViolation::new("time_zone", format!("'{name}' is not an IANA time zone (e.g. Europe/Paris)")))
}

fn optional_local_time(field: &str, value: &str, end_of_day: bool) -> Result<Option<Time>, FieldViolation> {
    if value.is_empty() {
        return Ok(None);
    }
    let range = if end_of_day { "00:00 to 24:00" } else { "00:00 to 23:59" };
    local_time(value, end_of_day)
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, format!("'{value}' is not a time HH:MM from {range}")))
}

/// `HH:MM` on a 24-hour clock; `24:00` (midnight at the end of the day) only if `end_of_day`, as midnight: an end at
/// or before the start falls on the next day in the search.
fn local_time(value: &str, end_of_day: bool) -> Option<Time> {
    let (hours, minutes) = value.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 || !(hours.bytes().chain(minutes.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes): (i8, i8) = (hours.parse().ok()?, minutes.parse().ok()?);
    match (hours, minutes) {
        (24, 0) if end_of_day => Some(Time::midnight()),
        _ => Time::new(hours, minutes, 0, 0).ok(),
    }
}

/// The contact's zone; unknown (empty, or a name this build's zone database lacks) is `None`.
fn zone(facts: &ContactFacts) -> Option<TimeZone> {
    if facts.time_zone.is_empty() {
        return None;
    }
    TimeZone::get(&facts.time_zone)
        .inspect_err(|e| tracing::warn!(contact = %facts.name, zone = %facts.time_zone, "unknown time zone: {e}"))
        .ok()
}

/// The contact's working hours; an entry contacts should not have accepted is skipped (and logged).
fn working_hours(facts: &ContactFacts) -> Vec<WorkingHours> {
    facts
        .working_hours
        .iter()
        .filter_map(|hours| {
            let parsed = weekday(hours.day).and_then(|day| {
                Some(WorkingHours {
                    day,
                    start: local_time(&hours.start_time, false)?,
                    end: local_time(&hours.end_time, true)?,
                })
            });
            if parsed.is_none() {
                tracing::warn!(contact = %facts.name, ?hours, "working hours skipped: not understood");
            }
            parsed
        })
        .collect()
}

fn weekday(day: i32) -> Option<Weekday> {
    match contacts::Weekday::try_from(day).ok()? {
        contacts::Weekday::Unspecified => None,
        contacts::Weekday::Monday => Some(Weekday::Monday),
        contacts::Weekday::Tuesday => Some(Weekday::Tuesday),
        contacts::Weekday::Wednesday => Some(Weekday::Wednesday),
        contacts::Weekday::Thursday => Some(Weekday::Thursday),
        contacts::Weekday::Friday => Some(Weekday::Friday),
        contacts::Weekday::Saturday => Some(Weekday::Saturday),
        contacts::Weekday::Sunday => Some(Weekday::Sunday),
    }
}

fn candidate(candidate: Candidate) -> pb::MeetingTimeCandidate {
    pb::MeetingTimeCandidate {
        start_time: Some(to_timestamp(candidate.start)),
        end_time: Some(to_timestamp(candidate.end)),
        participants: candidate
            .availability
            .into_iter()
            .map(|(participant, availability)| pb::ParticipantAvailability {
                participant,
                availability: availability_of(availability) as i32,
            })
            .collect(),
        all_required_free: candidate.required_free,
        optional_conflicts: i32::try_from(candidate.optional_conflicts).unwrap_or(i32::MAX),
        attendance_percent: i32::from(candidate.attendance_percent),
        // Six decimals: what the f32 means, without its binary tail (0.8, not 0.800000011920929).
        confidence: (f64::from(candidate.confidence) * 1e6).round() / 1e6,
    }
}

fn availability_of(availability: Availability) -> pb::Availability {
    match availability {
        Availability::Free => pb::Availability::Free,
        Availability::Busy => pb::Availability::Busy,
        Availability::Tentative => pb::Availability::Tentative,
        Availability::OutsideWorkingHours => pb::Availability::OutsideWorkingHours,
        Availability::Unknown => pb::Availability::Unknown,
    }
}

fn reason(reason: Reason) -> pb::NoSlotReason {
    let (kind, participants, best_attendance_percent) = match reason {
        Reason::WindowTooShort => (pb::NoSlotReasonKind::WindowTooShort, Vec::new(), 0),
        Reason::OutsideWorkingHours { ids } => (pb::NoSlotReasonKind::OutsideWorkingHours, ids, 0),
        Reason::RequiredUnavailable { ids } => (pb::NoSlotReasonKind::RequiredUnavailable, ids, 0),
        Reason::QuorumNotMet { best_attendance_percent } => {
            (pb::NoSlotReasonKind::QuorumNotMet, Vec::new(), i32::from(best_attendance_percent))
        }
    };
    pb::NoSlotReason { kind: kind as i32, participants, best_attendance_percent }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(request: &pb::FindMeetingTimesRequest) -> Vec<String> {
        parse(request).err().unwrap_or_default().into_iter().map(|v| v.field).collect()
    }

    fn valid() -> pb::FindMeetingTimesRequest {
        pb::FindMeetingTimesRequest {
            participants: vec![pb::AttendeeRequest {
                contact: Name::<Contacts>::generate().to_string(),
                optional: false,
            }],
            duration: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
            window_start_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            window_end_time: Some(prost_types::Timestamp { seconds: 1_800_086_400, nanos: 0 }),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_request_parses_with_the_defaults() {
        let (search, asked) = parse(&valid()).expect("valid");
        assert_eq!(asked.len(), 1);
        assert_eq!(search.step, availability::DEFAULT_STEP);
        assert_eq!(search.max_candidates, availability::DEFAULT_CANDIDATES);
        assert_eq!(search.local_zone, TimeZone::UTC);
        assert!(search.participants[0].required);
    }

    #[test]
    fn local_times_are_hours_and_minutes_and_24_00_ends_a_day() {
        assert_eq!(local_time("09:30", false), Some(Time::constant(9, 30, 0, 0)));
        assert_eq!(local_time("24:00", true), Some(Time::midnight()));
        for bad in ["24:00", "9:30", "09:60", "0930", "+9:30", "09:3a", ""] {
            assert_eq!(local_time(bad, false), None, "{bad}");
        }
        assert_eq!(local_time("24:01", true), None);
    }

    #[test]
    fn every_bad_field_is_named_once_under_the_proto_name_in_field_order() {
        let ada = Name::<Contacts>::generate().to_string();
        let request = pb::FindMeetingTimesRequest {
            participants: vec![
                pb::AttendeeRequest { contact: ada.clone(), optional: false },
                pb::AttendeeRequest { contact: ada, optional: true },
                pb::AttendeeRequest { contact: String::new(), optional: false },
            ],
            duration: Some(prost_types::Duration { seconds: 1, nanos: -1 }),
            window_start_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            window_end_time: Some(prost_types::Timestamp { seconds: 1_799_000_000, nanos: 0 }),
            time_zone: "Mars/Olympus".into(),
            earliest_local_time: "9am".into(),
            latest_local_time: "25:00".into(),
            min_attendance_percent: -1,
            max_candidates: Some(0),
            step: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
        };
        assert_eq!(
            fields(&request),
            [
                "participants[1].contact",
                "participants[2].contact",
                "duration",
                "window_end_time",
                "time_zone",
                "earliest_local_time",
                "latest_local_time",
                "min_attendance_percent",
                "max_candidates",
                "step",
            ]
        );
    }

    #[test]
    fn a_missing_window_is_named_without_a_second_complaint_about_it() {
        let mut request = valid();
        request.window_start_time = None;
        request.duration = None;
        assert_eq!(fields(&request), ["duration", "window_start_time"]);
        let mut request = valid();
        request.participants.clear();
        assert_eq!(fields(&request), ["participants"]);
    }
}
