//! Recurring meetings: ListOccurrences, RescheduleOccurrence, CancelOccurrence and SplitSeries, and the series edits
//! RescheduleMeeting and CancelMeeting make. An occurrence is named by its original start, an instant; the series
//! knows it by the local time the rule gave it, so every request's instant is turned into that local time first.
use super::SchedulingApi;
use super::lifecycle::{required, status_of};
use crate::domain::lifecycle::{ensure_changeable, precondition};
use crate::domain::recurrence::{Override, Rule, Series};
use crate::domain::series::{self, to_jiff};
use crate::domain::{Status, check_span};
use crate::resource;
use crate::store::changes::Changed;
use crate::store::{MeetingFilter, StoredMeeting, entity::meeting};
use chrono::{DateTime, Utc};
use jiff::civil;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::names::{Contacts, Meetings, Name};
use liaison_runtime::api::time::{from_timestamp, to_timestamp};
use liaison_runtime::api::{etag, time};
use liaison_runtime::{Error, FieldViolation, Validate};

/// The widest window ListOccurrences expands.
const WINDOW_DAYS_MAX: i64 = 400;
/// The most occurrences one ListOccurrences answer holds.
const OCCURRENCES_MAX: usize = 1000;
/// The most meetings a participant's occurrences are gathered from.
const MEETINGS_MAX: u64 = 2000;

fn internal(e: series::Unreadable) -> Error {
    Error::Internal(e.to_string())
}

fn not_a_series(stored: &StoredMeeting) -> Error {
    let resource = stored.resource_name();
    precondition("NOT_A_SERIES", &resource, format!("{resource} happens once: it has no occurrences to edit"))
}

/// The local start the rule gave the occurrence that starts (or started, before it was moved) at `at`.
fn occurrence_id(series: &Series, field: &str, at: DateTime<Utc>) -> Result<civil::DateTime, Error> {
    let bad = || {
        Error::InvalidArgument(vec![FieldViolation::new(
            field,
            format!("{} is not when an occurrence of the series starts", at.to_rfc3339()),
        )])
    };
    let instant = to_jiff(at).map_err(internal)?;
    let local = series.zone().to_datetime(instant);
    if series.is_occurrence(local) {
        return Ok(local);
    }
    // An occurrence the rule put in a daylight-saving gap starts later than its local time says: find it by its
    // instant among the occurrences around it (moved ones included, by their original start).
    let day = jiff::SignedDuration::from_hours(48);
    let (from, to) = (instant.checked_sub(day).map_err(|_| bad())?, instant.checked_add(day).map_err(|_| bad())?);
    series
        .occurrences(from, to)
        .into_iter()
        .map(|o| o.recurrence_id)
        .chain(series.overrides().iter().map(|o| o.recurrence_id))
        .find(|id| series.zone().to_ambiguous_timestamp(*id).compatible().ok() == Some(instant))
        .ok_or_else(bad)
}

/// All occurrences moved so that the series starts at `moved`'s start, in its zone, lasting as it says.
pub(super) fn move_all(series: &Series, moved: &meeting::Model) -> Result<Series, FieldViolation> {
    let bad = |why: String| FieldViolation::new("start_time", why);
    let zone = jiff::tz::TimeZone::get(&moved.time_zone).map_err(|e| bad(e.to_string()))?;
    let (start, end) = (to_jiff(moved.start_time), to_jiff(moved.end_time));
    let (Ok(start), Ok(end)) = (start, end) else { return Err(bad("out of range".into())) };
    series
        .edit_all(zone.to_datetime(start), zone, start.duration_until(end), series.rule().cloned())
        .map_err(|e| e.violation("start_time"))
}

/// The series `current` ending before the occurrence starting at `from`; `None` when that is its first, so the
/// whole meeting goes.
pub(super) fn cancel_from(current: &StoredMeeting, from: DateTime<Utc>) -> Result<Option<Series>, Error> {
    let series = current.series()?;
    let id = occurrence_id(&series, "from_original_start_time", from)?;
    series.cancel_from(id).map_err(|e| Error::InvalidArgument(vec![e.violation("from_original_start_time")]))
}

fn occurrence_of(stored: &StoredMeeting, o: &crate::domain::recurrence::Occurrence) -> Option<Occurrence> {
    let zone = jiff::tz::TimeZone::get(&stored.meeting.time_zone).ok()?;
    let instant = |t: jiff::Timestamp| series::to_chrono(t).ok().map(to_timestamp);
    Some(Occurrence {
        meeting: stored.resource_name(),
        title: stored.meeting.title.clone(),
        original_start_time: zone.to_ambiguous_timestamp(o.recurrence_id).compatible().ok().and_then(instant),
        start_time: instant(o.start),
        end_time: instant(o.end),
        moved: o.overridden,
        status: resource::status(&stored.meeting.status) as i32,
    })
}

impl SchedulingApi {
    pub(super) async fn list_occurrences(
        &self,
        request: ListOccurrencesRequest,
    ) -> Result<ListOccurrencesResponse, Error> {
        let which = match (request.meeting.is_empty(), request.participant.is_empty()) {
            (true, true) => Err(FieldViolation::new("meeting", "set meeting or participant")),
            (false, false) => Err(FieldViolation::new("participant", "set meeting or participant, not both")),
            _ => Ok(()),
        };
        let (start, end, (), meeting, participant) = (
            from_timestamp("window_start_time", request.window_start_time.as_ref()),
            from_timestamp("window_end_time", request.window_end_time.as_ref()),
            which,
            (!request.meeting.is_empty()).then(|| Name::<Meetings>::parse("meeting", &request.meeting)).transpose(),
            (!request.participant.is_empty())
                .then(|| Name::<Contacts>::parse("participant", &request.participant))
                .transpose(),
        )
            .validate()?;
        if end <= start || end - start > chrono::TimeDelta::days(WINDOW_DAYS_MAX) {
            return Err(Error::InvalidArgument(vec![FieldViolation::new(
                "window_end_time",
                format!("must be after window_start_time and at most {WINDOW_DAYS_MAX} days later"),
            )]));
        }
        let meetings = match (meeting, participant) {
            (Some(meeting), _) => vec![self.store.get_meeting(meeting).await?],
            (_, Some(participant)) => {
                let filter = MeetingFilter {
                    participant: Some(participant.to_string()),
                    ends_after: Some(start),
                    starts_before: Some(end),
                    ..Default::default()
                };
                let mut meetings = self.store.list_meetings(&filter, None, MEETINGS_MAX).await?;
                meetings.retain(|m| m.status() != Some(Status::Cancelled));
                meetings
            }
            (None, None) => Vec::new(),
        };
        let (from, to) = (to_jiff(start).map_err(internal)?, to_jiff(end).map_err(internal)?);
        let mut occurrences = Vec::new();
        for stored in &meetings {
            let series = stored.series()?;
            occurrences.extend(series.occurrences(from, to).iter().filter_map(|o| occurrence_of(stored, o)));
        }
        occurrences.sort_by_key(|o| o.start_time.map(|t| (t.seconds, t.nanos)));
        let truncated = occurrences.len() > OCCURRENCES_MAX;
        occurrences.truncate(OCCURRENCES_MAX);
        Ok(ListOccurrencesResponse { occurrences, truncated })
    }

    pub(super) async fn reschedule_occurrence(
        &self,
        request: RescheduleOccurrenceRequest,
    ) -> Result<RescheduleOccurrenceResponse, Error> {
        let (name, original, start, end, expected) = (
            Name::<Meetings>::parse("name", &request.name),
            from_timestamp("original_start_time", request.original_start_time.as_ref()),
            from_timestamp("start_time", request.start_time.as_ref()),
            from_timestamp("end_time", request.end_time.as_ref()),
            etag::parse_expected("etag", &request.etag),
        )
            .validate()?;
        check_span(start, end).map_err(|v| {
            Error::InvalidArgument(vec![FieldViolation::new(
                "end_time",
                v.description.replace("meeting.start_time", "start_time"),
            )])
        })?;
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                ensure_changeable(&current.resource_name(), status_of(current)?, "move an occurrence of")?;
                if current.meeting.rrule.is_empty() {
                    return Err(not_a_series(current));
                }
                let series = current.series()?;
                let id = occurrence_id(&series, "original_start_time", original)?;
                let moved = Override {
                    recurrence_id: id,
                    start: to_jiff(start).map_err(internal)?,
                    end: to_jiff(end).map_err(internal)?,
                };
                let edited = series.with_override(moved).map_err(|e| match e {
                    crate::domain::recurrence::EditError::Cancelled(_) => precondition(
                        "OCCURRENCE_CANCELLED",
                        &current.resource_name(),
                        format!("{e}: it cannot be moved"),
                    ),
                    other => Error::InvalidArgument(vec![other.violation("original_start_time")]),
                })?;
                if edited == series {
                    return Ok(None);
                }
                let mut next = current.clone();
                next.set_series(&edited)?;
                next.meeting.sequence += 1;
                let check_conflicts = if request.allow_conflicts { Vec::new() } else { required(&next) };
                Ok(Some(Changed { check_conflicts, ..Changed::to(next) }))
            })
            .await?;
        Ok(RescheduleOccurrenceResponse { meeting: Some(resource::meeting(&stored)) })
    }

    pub(super) async fn cancel_occurrence(
        &self,
        request: CancelOccurrenceRequest,
    ) -> Result<CancelOccurrenceResponse, Error> {
        let (name, original, expected) = (
            Name::<Meetings>::parse("name", &request.name),
            from_timestamp("original_start_time", request.original_start_time.as_ref()),
            etag::parse_expected("etag", &request.etag),
        )
            .validate()?;
        let (stored, _) = self
            .store
            .change_meeting(name, expected, None, |current| {
                ensure_changeable(&current.resource_name(), status_of(current)?, "cancel an occurrence of")?;
                if current.meeting.rrule.is_empty() {
                    return Err(not_a_series(current));
                }
                let series = current.series()?;
                let id = occurrence_id(&series, "original_start_time", original)?;
                let edited = series
                    .cancel_occurrence(id)
                    .map_err(|e| Error::InvalidArgument(vec![e.violation("original_start_time")]))?;
                if edited == series {
                    return Ok(None);
                }
                let mut next = current.clone();
                next.set_series(&edited)?;
                next.meeting.sequence += 1;
                Ok(Some(Changed::to(next)))
            })
            .await?;
        Ok(CancelOccurrenceResponse { meeting: Some(resource::meeting(&stored)) })
    }

    pub(super) async fn split_series(&self, request: SplitSeriesRequest) -> Result<SplitSeriesResponse, Error> {
        let optional_time = |field: &str, value: Option<&prost_types::Timestamp>| {
            value.map(|v| from_timestamp(field, Some(v))).transpose()
        };
        let (name, original, start, end, rule, expected) = (
            Name::<Meetings>::parse("name", &request.name),
            from_timestamp("original_start_time", request.original_start_time.as_ref()),
            optional_time("start_time", request.start_time.as_ref()),
            optional_time("end_time", request.end_time.as_ref()),
            (!request.rule.is_empty()).then(|| Rule::parse("rule", &request.rule)).transpose(),
            etag::parse_expected("etag", &request.etag),
        )
            .validate()?;
        let continued_name = Name::<Meetings>::generate();
        let (ended, _, created) = self
            .store
            .change_meeting_creating(name, expected, None, |current| {
                let resource = current.resource_name();
                ensure_changeable(&resource, status_of(current)?, "split")?;
                if current.meeting.rrule.is_empty() {
                    return Err(not_a_series(current));
                }
                let series = current.series()?;
                let id = occurrence_id(&series, "original_start_time", original)?;
                let split = series
                    .split_at(id)
                    .map_err(|e| Error::InvalidArgument(vec![e.violation("original_start_time")]))?;
                // The continuation's first occurrence: where it was (or was moved to), unless asked otherwise.
                let at = split.after.zone().to_ambiguous_timestamp(id).compatible().map_err(|e| {
                    Error::InvalidArgument(vec![FieldViolation::new("original_start_time", e.to_string())])
                })?;
                let first_start = start.map(to_jiff).transpose().map_err(internal)?.unwrap_or(at);
                let first_end = match end {
                    Some(end) => to_jiff(end).map_err(internal)?,
                    None => first_start
                        .checked_add(split.after.duration())
                        .map_err(|e| Error::InvalidArgument(vec![FieldViolation::new("start_time", e.to_string())]))?,
                };
                let (chrono_start, chrono_end) = (
                    series::to_chrono(first_start).map_err(internal)?,
                    series::to_chrono(first_end).map_err(internal)?,
                );
                check_span(chrono_start, chrono_end).map_err(|v| {
                    Error::InvalidArgument(vec![FieldViolation::new(
                        "end_time",
                        v.description.replace("meeting.start_time", "start_time"),
                    )])
                })?;
                let zone = split.after.zone().clone();
                let continued = split
                    .after
                    .edit_all(
                        zone.to_datetime(first_start),
                        zone,
                        first_start.duration_until(first_end),
                        rule.clone().or_else(|| split.after.rule().cloned()),
                    )
                    .map_err(|e| Error::InvalidArgument(vec![e.violation("rule")]))?;
                let check = !request.allow_conflicts;
                match split.before {
                    // At the first occurrence the whole series changes.
                    None => {
                        let mut next = current.clone();
                        next.set_series(&continued)?;
                        next.meeting.sequence += 1;
                        let check_conflicts = if check { required(&next) } else { Vec::new() };
                        Ok(Some(Changed { check_conflicts, ..Changed::to(next) }))
                    }
                    Some(before) => {
                        let mut ended = current.clone();
                        ended.set_series(&before)?;
                        ended.meeting.sequence += 1;
                        let mut new = current.clone();
                        let now = time::now();
                        let id = continued_name.key();
                        new.meeting.id = id.clone();
                        new.meeting.revision = 1;
                        new.meeting.create_time = now;
                        new.meeting.update_time = now;
                        new.meeting.sequence = 0;
                        new.meeting.continues = resource;
                        new.set_series(&continued)?;
                        for attendee in &mut new.attendees {
                            attendee.meeting_id = id.clone();
                        }
                        for item in &mut new.agenda {
                            item.meeting_id = id.clone();
                        }
                        Ok(Some(Changed { created: Some(new), check_created: check, ..Changed::to(ended) }))
                    }
                }
            })
            .await?;
        let response = match created {
            Some(continued) => SplitSeriesResponse {
                ended: Some(resource::meeting(&ended)),
                continued: Some(resource::meeting(&continued)),
            },
            None => SplitSeriesResponse { ended: None, continued: Some(resource::meeting(&ended)) },
        };
        Ok(response)
    }
}
