//! A stored meeting as a [`Series`], and back: the JSON of its cancelled and moved occurrences, when its last
//! occurrence ends, and the intervals its required attendees are booked for.
//!
//! Bookings are materialised: every occurrence that starts within [`BOOKED_HORIZON`] of the series' start (at most
//! [`MAX_OCCURRENCES_PER_WINDOW`]) becomes busy intervals, so conflict checks and free/busy read the same indexed
//! rows for recurring and single meetings. Occurrences beyond the horizon of a long or endless series are listed
//! and exported but not booked; they are booked when the series is edited or split later on.
//!
//! Times cross between chrono (the database) and jiff (zones and recurrence) here.
use super::recurrence::{End, MAX_OCCURRENCES_PER_WINDOW, Override, Rule, Series, SeriesError, Until};
use chrono::{DateTime, Utc};
use jiff::civil;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How far from its start a series is booked: two years.
pub const BOOKED_HORIZON: SignedDuration = SignedDuration::from_hours(2 * 365 * 24);

/// Why stored series data cannot be read (a fault of ours, never of a request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored series is unreadable: {0}")]
pub struct Unreadable(pub String);

pub fn to_jiff(at: DateTime<Utc>) -> Result<Timestamp, Unreadable> {
    Timestamp::from_second(at.timestamp())
        .and_then(|seconds| seconds.checked_add(SignedDuration::from_nanos(i64::from(at.timestamp_subsec_nanos()))))
        .map_err(|e| Unreadable(format!("{at} is out of range: {e}")))
}

pub fn to_chrono(at: Timestamp) -> Result<DateTime<Utc>, Unreadable> {
    // jiff splits an instant before 1970 into negative seconds and negative nanoseconds; chrono wants the nanoseconds
    // non-negative.
    let (seconds, nanos) = match at.subsec_nanosecond() {
        nanos if nanos < 0 => (at.as_second() - 1, nanos + 1_000_000_000),
        nanos => (at.as_second(), nanos),
    };
    DateTime::from_timestamp(seconds, nanos.unsigned_abs())
        .ok_or_else(|| Unreadable(format!("{at} is out of the database's range")))
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredOverride {
    /// The local start the rule gave it.
    id: String,
    start: String,
    end: String,
}

/// The series of a stored meeting: its first occurrence `start`–`end` in zone `zone`, its RRULE (empty for a single
/// meeting) and its cancelled and moved occurrences as stored.
pub fn series_of(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: &str,
    rrule: &str,
    exdates: &str,
    overrides: &str,
) -> Result<Series, Unreadable> {
    let zone = TimeZone::get(zone).map_err(|e| Unreadable(format!("zone {zone}: {e}")))?;
    let (start, end) = (to_jiff(start)?, to_jiff(end)?);
    let rule = if rrule.is_empty() {
        None
    } else {
        Some(Rule::parse("rrule", rrule).map_err(|v| Unreadable(format!("rule {rrule}: {v:?}")))?)
    };
    let local = zone.to_datetime(start);
    let duration = start.duration_until(end);
    let mut series =
        Series::new(local, zone, duration, rule).map_err(|e| Unreadable(format!("series from {local}: {e}")))?;
    let ids: Vec<String> = parse_json(exdates)?;
    let ids = ids.iter().map(|id| local_time(id)).collect::<Result<Vec<_>, _>>()?;
    series = series.with_exdates(ids);
    let moved: Vec<StoredOverride> = parse_json(overrides)?;
    for o in moved {
        let moved = Override { recurrence_id: local_time(&o.id)?, start: instant(&o.start)?, end: instant(&o.end)? };
        series = series.with_override(moved).map_err(|e| Unreadable(format!("moved occurrence {}: {e}", o.id)))?;
    }
    Ok(series)
}

fn parse_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<Vec<T>, Unreadable> {
    if json.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| Unreadable(format!("{json}: {e}")))
}

fn local_time(text: &str) -> Result<civil::DateTime, Unreadable> {
    text.parse().map_err(|e| Unreadable(format!("local time {text}: {e}")))
}

fn instant(text: &str) -> Result<Timestamp, Unreadable> {
    text.parse().map_err(|e| Unreadable(format!("instant {text}: {e}")))
}

/// The cancelled occurrences, as stored.
pub fn exdates_json(series: &Series) -> String {
    let ids: Vec<String> = series.exdates().iter().map(ToString::to_string).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

/// The moved occurrences, as stored.
pub fn overrides_json(series: &Series) -> String {
    let moved: Vec<StoredOverride> = series
        .overrides()
        .iter()
        .map(|o| StoredOverride { id: o.recurrence_id.to_string(), start: o.start.to_string(), end: o.end.to_string() })
        .collect();
    serde_json::to_string(&moved).unwrap_or_else(|_| "[]".to_owned())
}

/// The instant of the series' first occurrence.
pub fn first_start(series: &Series) -> Option<Timestamp> {
    series.zone().to_ambiguous_timestamp(series.start()).compatible().ok()
}

/// When the last occurrence ends at the latest — `None` for a series that never ends. A COUNT series is expanded;
/// an UNTIL series ends by its UNTIL (a bound: cancelled last occurrences do not pull it earlier); moved occurrences
/// can end later than either.
pub fn last_end(series: &Series) -> Option<Timestamp> {
    let latest_moved = series.overrides().iter().map(|o| o.end).max();
    let by_rule = match series.rule().map(Rule::end) {
        None => first_start(series).and_then(|t| t.checked_add(series.duration()).ok()),
        Some(End::Never) => return None,
        Some(End::Count(_)) => {
            let start = first_start(series)?;
            series.occurrences(start, Timestamp::MAX).iter().map(|o| o.end).max()
        }
        Some(End::Until(Until::Instant(last))) => last.checked_add(series.duration()).ok(),
        Some(End::Until(Until::Date(day))) => day
            .tomorrow()
            .ok()
            .and_then(|next| {
                series.zone().to_ambiguous_timestamp(next.to_datetime(civil::Time::midnight())).later().ok()
            })
            .and_then(|t| t.checked_add(series.duration()).ok()),
    };
    match (by_rule, latest_moved) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The intervals a series books (see the module documentation), each widened by the buffers.
pub fn booked(series: &Series, before: SignedDuration, after: SignedDuration) -> Vec<(Timestamp, Timestamp)> {
    let Some(start) = first_start(series) else { return Vec::new() };
    let horizon = start.checked_add(BOOKED_HORIZON).unwrap_or(Timestamp::MAX);
    series
        .occurrences(start, horizon)
        .into_iter()
        .take(MAX_OCCURRENCES_PER_WINDOW)
        .filter_map(|o| Some((o.start.checked_sub(before).ok()?, o.end.checked_add(after).ok()?)))
        .collect()
}

/// A new series from a first occurrence `start`–`end` (instants) in `zone` with `rule`.
pub fn new_series(
    start: Timestamp,
    end: Timestamp,
    zone: &TimeZone,
    rule: Option<Rule>,
) -> Result<Series, SeriesError> {
    let local = zone.to_datetime(start);
    if rule.is_some() && zone.to_ambiguous_timestamp(local).compatible().ok() != Some(start) {
        return Err(SeriesError::LaterOfRepeatedTime);
    }
    Series::new(local, zone.clone(), start.duration_until(end), rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_series_cannot_start_at_the_second_of_a_repeated_local_time() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let weekly = || Some(Rule::parse("rrule", "FREQ=WEEKLY;COUNT=3").unwrap());
        // 01:30 happens twice on 2026-11-01 in New York: 05:30Z (EDT), then 06:30Z (EST).
        let (first, second): (Timestamp, Timestamp) =
            ("2026-11-01T05:30:00Z".parse().unwrap(), "2026-11-01T06:30:00Z".parse().unwrap());
        let hour = SignedDuration::from_hours(1);
        assert!(matches!(new_series(second, second + hour, &zone, weekly()), Err(SeriesError::LaterOfRepeatedTime)));
        let series = new_series(first, first + hour, &zone, weekly()).unwrap();
        assert_eq!(first_start(&series), Some(first));
        assert!(new_series(second, second + hour, &zone, None).is_ok(), "a single meeting may start then");
    }

    #[test]
    fn a_stored_series_reads_back_with_its_cancelled_and_moved_occurrences() {
        let series = series_of(
            at("2027-03-22T08:00:00Z"),
            at("2027-03-22T09:00:00Z"),
            "Europe/Berlin",
            "FREQ=WEEKLY;COUNT=4",
            "",
            "",
        )
        .unwrap();
        let second = civil::date(2027, 3, 29).at(9, 0, 0, 0);
        let third = civil::date(2027, 4, 5).at(9, 0, 0, 0);
        let edited = series
            .cancel_occurrence(second)
            .unwrap()
            .with_override(Override {
                recurrence_id: third,
                start: "2027-04-05T10:00:00Z".parse().unwrap(),
                end: "2027-04-05T11:00:00Z".parse().unwrap(),
            })
            .unwrap();
        let back = series_of(
            at("2027-03-22T08:00:00Z"),
            at("2027-03-22T09:00:00Z"),
            "Europe/Berlin",
            "FREQ=WEEKLY;COUNT=4",
            &exdates_json(&edited),
            &overrides_json(&edited),
        )
        .unwrap();
        assert_eq!(back, edited);
        // Berlin moves its clocks on 28 March: 09:00 local is 08:00 UTC before and 07:00 UTC after.
        let starts: Vec<String> = booked(&back, SignedDuration::ZERO, SignedDuration::ZERO)
            .iter()
            .map(|(start, _)| start.to_string())
            .collect();
        assert_eq!(starts, ["2027-03-22T08:00:00Z", "2027-04-05T10:00:00Z", "2027-04-12T07:00:00Z"]);
        assert_eq!(last_end(&back).map(|t| t.to_string()).as_deref(), Some("2027-04-12T08:00:00Z"));
    }

    #[test]
    fn a_single_meeting_is_a_series_of_one_and_an_endless_one_has_no_last_end() {
        let once = series_of(at("2027-01-01T10:00:00Z"), at("2027-01-01T11:00:00Z"), "UTC", "", "[]", "[]").unwrap();
        assert_eq!(last_end(&once).map(|t| t.to_string()).as_deref(), Some("2027-01-01T11:00:00Z"));
        let minutes = SignedDuration::from_mins(15);
        let booked_once = booked(&once, minutes, minutes);
        assert_eq!(booked_once.len(), 1);
        assert_eq!(booked_once[0].0.to_string(), "2027-01-01T09:45:00Z");
        let endless =
            series_of(at("2027-01-01T10:00:00Z"), at("2027-01-01T11:00:00Z"), "UTC", "FREQ=DAILY", "", "").unwrap();
        assert_eq!(last_end(&endless), None);
        let booked_days = booked(&endless, SignedDuration::ZERO, SignedDuration::ZERO);
        assert_eq!(booked_days.len(), 730, "two years of days: the horizon bounds an endless series");
        let weekly =
            series_of(at("2027-01-01T10:00:00Z"), at("2027-01-01T11:00:00Z"), "UTC", "FREQ=WEEKLY", "", "").unwrap();
        assert_eq!(booked(&weekly, SignedDuration::ZERO, SignedDuration::ZERO).len(), 105, "two years of weeks");
    }

    #[test]
    fn an_until_date_ends_the_series_on_that_local_day() {
        let series = series_of(
            at("2027-01-04T08:00:00Z"),
            at("2027-01-04T09:00:00Z"),
            "Europe/Berlin",
            "FREQ=DAILY;UNTIL=20270106",
            "",
            "",
        )
        .unwrap();
        // The bound: the end of 6 January in Berlin plus an occurrence's length.
        assert_eq!(last_end(&series).map(|t| t.to_string()).as_deref(), Some("2027-01-07T00:00:00Z"));
    }

    #[test]
    fn unreadable_storage_is_reported_not_panicked() {
        let (s, e) = (at("2027-01-01T10:00:00Z"), at("2027-01-01T11:00:00Z"));
        assert!(series_of(s, e, "Nowhere/Land", "", "", "").is_err());
        assert!(series_of(s, e, "UTC", "FREQ=SOMETIMES", "", "").is_err());
        assert!(series_of(s, e, "UTC", "FREQ=DAILY", "{", "").is_err());
        assert!(series_of(s, e, "UTC", "FREQ=DAILY", "[\"yesterday\"]", "").is_err());
        assert!(series_of(s, e, "UTC", "FREQ=DAILY", "", "[{\"id\":\"2027-01-02T10:00:00\"}]").is_err());
    }
}

#[cfg(test)]
mod proptests;
