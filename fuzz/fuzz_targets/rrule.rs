//! Scheduling's RRULE parser (`liaison_scheduling::domain::recurrence::Rule::parse`) on arbitrary text, and the
//! expansion of every rule it accepts.
//!
//! Input: the rule, optionally followed by a line `<local start> <IANA zone> <minutes>` for its series, e.g.
//! `FREQ=MONTHLY;BYDAY=-1FR` then `2026-03-27T09:00 Europe/Berlin 60`. Without that line the series' start, zone
//! and duration are picked by a hash of the input among DST gaps and folds, leap days and the ends of the
//! representable years (and, for a daily or weekly rule, the week after, for a start the rule generates).
//!
//! Asserts: no panic; the canonical text of an accepted rule parses back to an equal rule and is a fixed point; a
//! series with the rule expands without panic into at most `MAX_OCCURRENCES_PER_WINDOW` occurrences, ordered,
//! overlapping the window, the first one the series' start, none beyond COUNT, each one an occurrence of the
//! series; its exported RRULE parses.
#![no_main]

use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use liaison_scheduling::domain::recurrence::{End, Frequency, MAX_OCCURRENCES_PER_WINDOW, Rule, Series, SeriesError};
use libfuzzer_sys::fuzz_target;

const STARTS: [(i16, i8, i8, i8, i8); 8] = [
    (2026, 3, 29, 2, 30),  // Europe/Berlin's spring-forward gap
    (2026, 10, 25, 2, 30), // Europe/Berlin's fall-back fold
    (2026, 11, 1, 1, 30),  // America/New_York's fold
    (2024, 2, 29, 9, 0),   // a leap day
    (2026, 1, 31, 9, 0),   // a 31st
    (2011, 12, 29, 9, 0),  // the day Pacific/Apia skipped
    (9999, 12, 1, 9, 0),   // near the last representable year
    (1, 1, 1, 0, 0),       // the first
];
const ZONES: [&str; 5] = ["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe", "Pacific/Apia"];
const DURATIONS: [i64; 3] = [3600, 25 * 3600, 30 * 60];

fuzz_target!(|data: &[u8]| {
    // The rule arrives in a protobuf string: always UTF-8.
    let Ok(input) = std::str::from_utf8(data) else { return };
    let (text, spec) = match input.split_once('\n') {
        Some((text, spec)) => (text, Some(spec)),
        None => (input, None),
    };
    let Ok(rule) = Rule::parse("rrule", text) else { return };

    let canonical = rule.to_rrule_string();
    let again = Rule::parse("rrule", &canonical).unwrap_or_else(|v| panic!("{canonical:?} does not parse: {v:?}"));
    assert_eq!(again, rule, "{canonical:?} from {text:?}");
    assert_eq!(again.to_rrule_string(), canonical);
    assert_eq!(Rule::parse("rrule", &format!("RRULE:{}", canonical.to_lowercase())).as_ref(), Ok(&rule));

    let (base, zone, duration, tries) = match spec {
        Some(spec) => {
            let mut words = spec.split_whitespace();
            let (Some(Ok(start)), Some(Ok(zone)), Some(Ok(minutes))) = (
                words.next().map(str::parse::<DateTime>),
                words.next().map(TimeZone::get),
                words.next().map(str::parse::<u16>),
            ) else {
                return;
            };
            (start, zone, SignedDuration::from_mins(i64::from(minutes)), 1)
        }
        None => {
            let pick = data.iter().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(*b)));
            let (y, m, d, hh, mm) = STARTS[pick % STARTS.len()];
            let zone = TimeZone::get(ZONES[(pick / STARTS.len()) % ZONES.len()]).expect("bundled zone");
            let duration = SignedDuration::from_secs(DURATIONS[(pick / 7) % DURATIONS.len()]);
            // The start must be the rule's first occurrence: for a daily or weekly rule, try the week from the base.
            let tries = if matches!(rule.freq(), Frequency::Daily | Frequency::Weekly) { 7 } else { 1 };
            (date(y, m, d).at(hh, mm, 0, 0), zone, duration, tries)
        }
    };
    let mut series = None;
    for day in 0..tries {
        let Ok(start) = base.checked_add(SignedDuration::from_hours(24 * day)) else { break };
        match Series::new(start, zone.clone(), duration, Some(rule.clone())) {
            Ok(built) => {
                series = Some(built);
                break;
            }
            Err(SeriesError::NotAnOccurrenceOfRule) => continue,
            Err(_) => break,
        }
    }
    let Some(series) = series else { return };

    let export = series.rrule_for_export().expect("a series with a rule exports it");
    assert!(Rule::parse("rrule", &export).is_ok(), "exported {export:?} does not parse");

    let first = zone.to_ambiguous_timestamp(series.start()).compatible().expect("the start resolves");
    let window_start = first.checked_sub(SignedDuration::from_hours(24)).unwrap_or(Timestamp::MIN);
    let window_end = first.checked_add(SignedDuration::from_hours(400 * 24)).unwrap_or(Timestamp::MAX);
    let occurrences = series.occurrences(window_start, window_end);
    assert!(occurrences.len() <= MAX_OCCURRENCES_PER_WINDOW);
    let first_occurrence = occurrences.first().expect("the start is in the window");
    assert_eq!(first_occurrence.recurrence_id, series.start());
    assert_eq!(first_occurrence.start, first);
    for pair in occurrences.windows(2) {
        assert!((pair[0].start, pair[0].recurrence_id) < (pair[1].start, pair[1].recurrence_id), "{pair:?}");
    }
    for occurrence in &occurrences {
        assert!(occurrence.start < window_end && occurrence.end > window_start, "{occurrence:?}");
        if occurrence.end != Timestamp::MAX {
            assert_eq!(occurrence.end.duration_since(occurrence.start), duration);
        }
    }
    if let End::Count(n) = rule.end() {
        assert!(occurrences.len() <= n as usize);
    }
    for occurrence in occurrences.iter().take(10) {
        assert!(series.is_occurrence(occurrence.recurrence_id), "{occurrence:?}");
    }
});
