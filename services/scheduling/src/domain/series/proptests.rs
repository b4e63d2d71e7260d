//! Property tests of a meeting's series as stored: instants cross between chrono and jiff unchanged; a series made
//! the way the service makes one (from its first start as an instant) with cancelled and moved occurrences reads
//! back from its stored form as the same series; its last end bounds every occurrence; and what it books is each
//! occurrence widened by the buffers.
use super::*;
use chrono::TimeZone as _;
use proptest::prelude::*;

const ZONES: &[&str] = &["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"];
const RULES: &[&str] = &[
    "FREQ=DAILY",
    "FREQ=DAILY;COUNT=20",
    "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=WEEKLY;UNTIL=20300101T000000Z",
    "FREQ=MONTHLY;COUNT=12",
    "FREQ=YEARLY;UNTIL=20400101",
    "FREQ=DAILY;UNTIL=20280315",
];

/// Instants chrono and jiff both hold: the years 1 to 9999, any nanosecond.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_135_596_800i64..253_402_300_800, 0u32..1_000_000_000)
        .prop_filter_map("representable", |(seconds, nanos)| Utc.timestamp_opt(seconds, nanos).single())
}

/// A first start (an instant, as a request gives it) in 2024–2032, often at a DST-critical hour.
fn first_starts() -> impl Strategy<Value = Timestamp> {
    let hour = prop_oneof![Just(0i64), Just(1), Just(2), Just(5), Just(6), Just(7), 0..24i64];
    (0..9 * 365i64, hour, prop_oneof![Just(0i64), Just(30), 0..60i64]).prop_map(|(day, hour, minute)| {
        Timestamp::from_second(1_704_067_200 + day * 86_400 + hour * 3600 + minute * 60).unwrap()
    })
}

fn series_and_edits() -> impl Strategy<Value = (Series, String)> {
    (
        first_starts(),
        1i64..=600,
        proptest::sample::select(ZONES),
        prop_oneof![1 => Just(None), 4 => proptest::sample::select(RULES).prop_map(Some)],
        proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), -600i64..600, 1i64..300), 0..5),
    )
        .prop_filter_map("a series its rule allows", |(start, minutes, zone_name, rule, edits)| {
            let zone = TimeZone::get(zone_name).ok()?;
            let end = start.checked_add(SignedDuration::from_mins(minutes)).ok()?;
            let parsed = rule.map(|r| Rule::parse("rrule", r)).transpose().ok()?;
            let mut series = new_series(start, end, &zone, parsed).ok()?;
            let first = first_start(&series)?;
            let upcoming = series.occurrences(first, first.checked_add(SignedDuration::from_hours(24 * 400)).ok()?);
            for (which, cancel, shift, length) in edits {
                let Some(occurrence) = upcoming.get(which.index(upcoming.len().max(1))) else { continue };
                let id = occurrence.recurrence_id;
                series = if cancel {
                    series.cancel_occurrence(id).ok()?
                } else {
                    let start = occurrence.start.checked_add(SignedDuration::from_mins(shift)).ok()?;
                    let end = start.checked_add(SignedDuration::from_mins(length)).ok()?;
                    match series.with_override(Override { recurrence_id: id, start, end }) {
                        Ok(moved) => moved,
                        // A cancelled occurrence cannot be moved; keep the series as it is.
                        Err(_) => series,
                    }
                };
            }
            Some((series, zone_name.to_owned()))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_instant_crosses_between_chrono_and_jiff_unchanged(at in instants()) {
        let jiff = to_jiff(at).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let nanos = i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
        prop_assert_eq!(jiff.as_nanosecond(), nanos, "the same instant");
        prop_assert_eq!(to_chrono(jiff), Ok(at));
    }

    #[test]
    fn a_stored_series_reads_back_as_the_same_series((series, zone_name) in series_and_edits()) {
        let start = first_start(&series).unwrap();
        let end = start.checked_add(series.duration()).unwrap();
        let rrule = series.rule().map(Rule::to_rrule_string).unwrap_or_default();
        let back = series_of(
            to_chrono(start).unwrap(),
            to_chrono(end).unwrap(),
            &zone_name,
            &rrule,
            &exdates_json(&series),
            &overrides_json(&series),
        );
        prop_assert_eq!(back, Ok(series));
    }

    #[test]
    fn no_occurrence_ends_after_the_last_end_and_an_endless_series_has_none((series, _) in series_and_edits()) {
        let first = first_start(&series).unwrap();
        let end = series.rule().map(Rule::end);
        let all = series.occurrences(first, Timestamp::MAX);
        let latest = all.iter().map(|o| o.end).chain(series.overrides().iter().map(|o| o.end)).max();
        match last_end(&series) {
            None => prop_assert!(
                end == Some(End::Never) || (all.is_empty() && series.overrides().is_empty()),
                "only an endless series, or one with nothing left, has no last end"
            ),
            Some(last) => {
                prop_assert!(end != Some(End::Never));
                prop_assert!(all.iter().all(|o| o.end <= last), "{:?} after {}", latest, last);
                match end {
                    // COUNT: the bound is the last occurrence's end itself.
                    Some(End::Count(_)) => prop_assert_eq!(Some(last), latest),
                    None => prop_assert_eq!(last, first.checked_add(series.duration()).unwrap().max(latest.unwrap_or(first))),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_series_books_its_occurrences_widened_by_the_buffers(
        (series, _) in series_and_edits(),
        before in 0i64..120,
        after in 0i64..120,
    ) {
        let (before, after) = (SignedDuration::from_mins(before), SignedDuration::from_mins(after));
        let first = first_start(&series).unwrap();
        let horizon = first.checked_add(BOOKED_HORIZON).unwrap();
        let expected: Vec<(Timestamp, Timestamp)> = series
            .occurrences(first, horizon)
            .iter()
            .map(|o| (o.start.checked_sub(before).unwrap(), o.end.checked_add(after).unwrap()))
            .collect();
        prop_assert_eq!(booked(&series, before, after), expected);
    }
}
