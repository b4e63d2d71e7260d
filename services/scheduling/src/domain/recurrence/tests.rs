use super::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn rule(text: &str) -> Rule {
    Rule::parse("meeting.recurrence.rrule", text).unwrap()
}

fn series(start: &str, zone_name: &str, minutes: i64, rrule: &str) -> Series {
    let rule = (!rrule.is_empty()).then(|| rule(rrule));
    Series::new(start.parse().unwrap(), zone(zone_name), SignedDuration::from_mins(minutes), rule).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn dt(s: &str) -> DateTime {
    s.parse().unwrap()
}

/// Starts as UTC instants.
fn utc(s: &Series, from: &str, to: &str) -> Vec<String> {
    s.occurrences(ts(from), ts(to)).iter().map(|o| o.start.to_string()).collect()
}

/// Starts as local wall-clock times in the series' zone.
fn local(s: &Series, from: &str, to: &str) -> Vec<String> {
    s.occurrences(ts(from), ts(to)).iter().map(|o| s.zone().to_datetime(o.start).to_string()).collect()
}

fn ids(s: &Series, from: &str, to: &str) -> Vec<String> {
    s.occurrences(ts(from), ts(to)).iter().map(|o| o.recurrence_id.to_string()).collect()
}

fn descriptions(text: &str) -> Vec<String> {
    match Rule::parse("meeting.recurrence.rrule", text) {
        Err(v) => {
            assert!(v.iter().all(|v| v.field == "meeting.recurrence.rrule"));
            v.into_iter().map(|v| v.description).collect()
        }
        Ok(r) => panic!("{text} parsed as {r}"),
    }
}

#[test]
fn weekly_0900_in_berlin_stays_0900_local_across_both_transitions() {
    let s = series("2026-03-16T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY");
    let got = s.occurrences(ts("2026-03-01T00:00:00Z"), ts("2026-11-15T00:00:00Z"));
    assert_eq!(got.len(), 35);
    for o in &got {
        let wall = s.zone().to_datetime(o.start);
        assert_eq!((wall.hour(), wall.minute(), wall.weekday()), (9, 0, Weekday::Monday), "{o:?}");
        assert_eq!(o.end.duration_since(o.start), SignedDuration::from_hours(1));
    }
    let utc: Vec<String> = got.iter().map(|o| o.start.to_string()).collect();
    // Winter time (+01) before 29 March and after 25 October, summer time (+02) between.
    assert_eq!(utc[0..3], ["2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"]);
    assert!(utc.contains(&"2026-10-19T07:00:00Z".to_owned()));
    assert!(utc.contains(&"2026-10-26T08:00:00Z".to_owned()));
}

#[test]
fn a_0230_occurrence_on_the_spring_forward_day_in_berlin_moves_forward_by_the_gap_to_0330() {
    let s = series("2026-03-27T02:30", "Europe/Berlin", 30, "FREQ=DAILY");
    let (from, to) = ("2026-03-26T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        local(&s, from, to),
        ["2026-03-27T02:30:00", "2026-03-28T02:30:00", "2026-03-29T03:30:00", "2026-03-30T02:30:00"]
    );
    assert!(utc(&s, from, to).contains(&"2026-03-29T01:30:00Z".to_owned()));
    // The moved occurrence is still the one generated for 02:30: that is what EXDATE and overrides name.
    assert_eq!(ids(&s, from, to)[2], "2026-03-29T02:30:00");
}

#[test]
fn a_0230_occurrence_on_the_spring_forward_day_in_new_york_moves_forward_by_the_gap_to_0330() {
    let s = series("2026-03-06T02:30", "America/New_York", 30, "FREQ=DAILY");
    let (from, to) = ("2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z");
    assert_eq!(
        local(&s, from, to),
        ["2026-03-06T02:30:00", "2026-03-07T02:30:00", "2026-03-08T03:30:00", "2026-03-09T02:30:00"]
    );
    assert_eq!(utc(&s, from, to)[2], "2026-03-08T07:30:00Z");
}

#[test]
fn a_0130_occurrence_on_the_fall_back_day_in_new_york_happens_once_at_the_first_0130() {
    let s = series("2026-10-30T01:30", "America/New_York", 30, "FREQ=DAILY");
    assert_eq!(
        utc(&s, "2026-10-30T00:00:00Z", "2026-11-03T00:00:00Z"),
        ["2026-10-30T05:30:00Z", "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
}

#[test]
fn daily_in_sydney_stays_local_across_the_southern_hemisphere_transitions() {
    let s = series("2026-04-01T09:00", "Australia/Sydney", 60, "FREQ=DAILY");
    let got = local(&s, "2026-03-31T00:00:00Z", "2026-10-10T00:00:00Z");
    assert_eq!(got.len(), 193, "1 April to 10 October");
    assert!(got.iter().all(|t| t.ends_with("T09:00:00")));
    let utc = utc(&s, "2026-04-03T00:00:00Z", "2026-04-05T00:00:00Z");
    // Daylight time (+11) ends on 5 April: 09:00 moves from 22:00Z to 23:00Z the day before.
    assert_eq!(utc, ["2026-04-03T22:00:00Z", "2026-04-04T23:00:00Z"]);
    let gap = series("2026-10-03T02:30", "Australia/Sydney", 30, "FREQ=DAILY");
    assert_eq!(
        local(&gap, "2026-10-02T00:00:00Z", "2026-10-05T12:00:00Z"),
        ["2026-10-03T02:30:00", "2026-10-04T03:30:00", "2026-10-05T02:30:00"]
    );
}

#[test]
fn daily_in_a_zone_without_dst_keeps_one_utc_time_all_year() {
    let s = series("2026-01-01T09:00", "Asia/Kolkata", 60, "FREQ=DAILY");
    let got = utc(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    assert_eq!(got.len(), 365);
    assert!(got.iter().all(|t| t.ends_with("T03:30:00Z")));
}

#[test]
fn monthly_on_the_last_friday() {
    let s = series("2026-01-30T15:00", "Europe/London", 60, "FREQ=MONTHLY;BYDAY=-1FR");
    let got = local(&s, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z");
    assert_eq!(
        got,
        [
            "2026-01-30T15:00:00",
            "2026-02-27T15:00:00",
            "2026-03-27T15:00:00",
            "2026-04-24T15:00:00",
            "2026-05-29T15:00:00",
            "2026-06-26T15:00:00"
        ]
    );
}

#[test]
fn the_31st_of_the_month_skips_short_months_instead_of_clamping() {
    let expected = ["01-31", "03-31", "05-31", "07-31", "08-31", "10-31", "12-31"];
    for text in ["FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY"] {
        let s = series("2026-01-31T10:00", "Europe/Paris", 60, text);
        let got = ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let days: Vec<&str> = got.iter().map(|t| &t[5..10]).collect();
        assert_eq!(days, expected, "{text}");
    }
}

#[test]
fn a_negative_month_day_counts_from_the_end_of_each_month() {
    let s = series("2026-01-31T10:00", "Europe/Paris", 60, "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4");
    assert_eq!(
        ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ["2026-01-31T10:00:00", "2026-02-28T10:00:00", "2026-03-31T10:00:00", "2026-04-30T10:00:00"]
    );
}

#[test]
fn count_limits_the_number_of_occurrences() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=DAILY;COUNT=5");
    let got = ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], "2026-05-08T09:00:00");
    // A window late in the series still counts from the start.
    assert_eq!(ids(&s, "2026-05-07T00:00:00Z", "2027-01-01T00:00:00Z").len(), 2);
}

#[test]
fn until_is_inclusive_as_an_instant_and_as_a_local_date() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=WEEKLY;UNTIL=20260518T070000Z");
    assert_eq!(
        ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ["2026-05-04T09:00:00", "2026-05-11T09:00:00", "2026-05-18T09:00:00"]
    );
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=WEEKLY;UNTIL=20260518T065959Z");
    assert_eq!(ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z").len(), 2);
    let s = series("2026-05-04T23:30", "America/Los_Angeles", 30, "FREQ=WEEKLY;UNTIL=20260518");
    assert_eq!(ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z").len(), 3);
    assert_eq!(
        s.rrule_for_export().as_deref(),
        Some("FREQ=WEEKLY;UNTIL=20260519T065959Z"),
        "a DATE UNTIL is exported as the last second of that local day in UTC"
    );
}

#[test]
fn every_other_week_on_monday_and_wednesday() {
    let s = series("2026-01-05T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE");
    let got = ids(&s, "2026-01-01T00:00:00Z", "2026-02-06T00:00:00Z");
    let days: Vec<&str> = got.iter().map(|t| &t[..10]).collect();
    assert_eq!(days, ["2026-01-05", "2026-01-07", "2026-01-19", "2026-01-21", "2026-02-02", "2026-02-04"]);
}

#[test]
fn wkst_decides_which_weeks_an_every_other_week_rule_uses() {
    // RFC 5545's own example: starting Tuesday 5 August 1997, TU,SU every other week.
    let monday = series("1997-08-05T09:00", "America/New_York", 60, "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU");
    let sunday =
        series("1997-08-05T09:00", "America/New_York", 60, "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU");
    let days = |s: &Series| -> Vec<String> {
        ids(s, "1997-08-01T00:00:00Z", "1997-09-30T00:00:00Z").iter().map(|t| t[5..10].to_owned()).collect()
    };
    assert_eq!(days(&monday), ["08-05", "08-10", "08-19", "08-24"]);
    assert_eq!(days(&sunday), ["08-05", "08-17", "08-19", "08-31"]);
}

#[test]
fn yearly_rules_expand_by_month_and_ordinal_weekday() {
    // US Thanksgiving: the fourth Thursday of November.
    let s = series("2026-11-26T12:00", "America/New_York", 120, "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH");
    let got = ids(&s, "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
    let days: Vec<&str> = got.iter().map(|t| &t[..10]).collect();
    assert_eq!(days, ["2026-11-26", "2027-11-25", "2028-11-23", "2029-11-22"]);
    // Without BYMONTH the ordinal counts within the year: the 20th Monday.
    let s = series("2026-05-18T12:00", "UTC", 60, "FREQ=YEARLY;BYDAY=20MO;COUNT=2");
    assert_eq!(ids(&s, "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"), ["2026-05-18T12:00:00", "2027-05-17T12:00:00"]);
    // 29 February only happens in leap years.
    let s = series("2024-02-29T12:00", "UTC", 60, "FREQ=YEARLY");
    let got = ids(&s, "2024-01-01T00:00:00Z", "2033-01-01T00:00:00Z");
    assert_eq!(got, ["2024-02-29T12:00:00", "2028-02-29T12:00:00", "2032-02-29T12:00:00"]);
}

#[test]
fn bysetpos_picks_the_last_weekday_of_the_month() {
    let s = series("2026-01-30T17:00", "Europe/Berlin", 60, "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1");
    let got = ids(&s, "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let days: Vec<&str> = got.iter().map(|t| &t[..10]).collect();
    assert_eq!(days, ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29"]);
}

#[test]
fn an_exdate_removes_exactly_that_occurrence() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=DAILY;COUNT=5");
    let s = s.cancel_occurrence(dt("2026-05-06T09:00")).unwrap();
    let got = ids(&s, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    assert_eq!(got, ["2026-05-04T09:00:00", "2026-05-05T09:00:00", "2026-05-07T09:00:00", "2026-05-08T09:00:00"]);
    // The cancelled occurrence still counts towards COUNT (RFC 5545: EXDATE removes from the generated set).
    assert_eq!(s.exdates(), [dt("2026-05-06T09:00")]);
    assert_eq!(s.cancel_occurrence(dt("2026-05-06T09:00")).unwrap(), s, "cancelling twice changes nothing");
}

#[test]
fn cancelling_something_that_is_not_an_occurrence_is_refused() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=WEEKLY;COUNT=3");
    for id in ["2026-05-05T09:00", "2026-05-11T09:30", "2026-05-25T09:00", "2026-04-27T09:00"] {
        assert_eq!(s.cancel_occurrence(dt(id)), Err(EditError::NotAnOccurrence(dt(id))), "{id}");
    }
    let once = series("2026-05-04T09:00", "Europe/Berlin", 30, "");
    assert!(once.cancel_occurrence(dt("2026-05-04T09:00")).is_ok());
    assert!(once.cancel_occurrence(dt("2026-05-11T09:00")).is_err());
}

#[test]
fn an_override_moves_its_occurrence_even_into_a_window_it_was_not_in() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY");
    let moved = Override {
        recurrence_id: dt("2026-05-11T09:00"),
        start: ts("2026-05-20T12:00:00Z"),
        end: ts("2026-05-20T13:00:00Z"),
    };
    let s = s.with_override(moved).unwrap();
    let got = s.occurrences(ts("2026-05-19T00:00:00Z"), ts("2026-05-21T00:00:00Z"));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].recurrence_id, got[0].start, got[0].overridden), (moved.recurrence_id, moved.start, true));
    let week = utc(&s, "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z");
    assert!(week.is_empty(), "the original slot is empty: {week:?}");
    // Cancelling a moved occurrence cancels the move too; moving a cancelled one is refused.
    let cancelled = s.cancel_occurrence(moved.recurrence_id).unwrap();
    assert!(
        cancelled.occurrences(ts("2026-05-01T00:00:00Z"), ts("2026-06-01T00:00:00Z")).iter().all(|o| !o.overridden)
    );
    assert_eq!(cancelled.with_override(moved), Err(EditError::Cancelled(moved.recurrence_id)));
    let nowhere = Override { recurrence_id: dt("2026-05-12T09:00"), ..moved };
    assert_eq!(s.with_override(nowhere), Err(EditError::NotAnOccurrence(nowhere.recurrence_id)));
    assert_eq!(s.with_override(Override { end: moved.start, ..moved }), Err(EditError::EmptyOverride));
}

#[test]
fn an_occurrence_that_started_before_the_window_and_ends_inside_it_is_included() {
    let s = series("2026-05-04T09:00", "UTC", 120, "FREQ=DAILY");
    assert_eq!(utc(&s, "2026-05-05T10:00:00Z", "2026-05-05T10:30:00Z"), ["2026-05-05T09:00:00Z"]);
    assert!(utc(&s, "2026-05-05T11:00:00Z", "2026-05-06T09:00:00Z").is_empty(), "end and window end exclusive");
    assert!(utc(&s, "2026-05-06T00:00:00Z", "2026-05-05T00:00:00Z").is_empty(), "an inverted window is empty");
}

#[test]
fn an_old_open_ended_series_expands_a_late_window_like_a_scan_from_the_start() {
    for text in
        ["FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=5;BYDAY=TU,SA;WKST=SU", "FREQ=MONTHLY;INTERVAL=7;BYDAY=2TU"]
    {
        let s = series("2019-03-12T19:00", "America/New_York", 90, text);
        let all = utc(&s, "2019-01-01T00:00:00Z", "2026-12-31T00:00:00Z");
        assert!(all.len() < MAX_OCCURRENCES_PER_WINDOW, "{text}");
        let late: Vec<String> =
            all.iter().filter(|t| t.as_str() >= "2026-02-01" && t.as_str() < "2026-08-01").cloned().collect();
        assert!(!late.is_empty());
        assert_eq!(utc(&s, "2026-02-01T00:00:00Z", "2026-08-01T00:00:00Z"), late, "{text}");
    }
}

#[test]
fn a_window_returns_at_most_the_cap() {
    let s = series("2020-01-01T09:00", "Europe/Berlin", 30, "FREQ=DAILY");
    let got = s.occurrences(Timestamp::MIN, Timestamp::MAX);
    assert_eq!(got.len(), MAX_OCCURRENCES_PER_WINDOW);
    assert_eq!(got[0].recurrence_id, dt("2020-01-01T09:00"));
}

#[test]
fn a_rule_that_rarely_matches_ends_without_spinning() {
    let s = series("2028-02-29T09:00", "UTC", 30, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=1000");
    let got = s.occurrences(Timestamp::MIN, Timestamp::MAX);
    // 100 000 days hold about 68 leap days.
    assert!((60..80).contains(&got.len()), "{}", got.len());
    let impossible = Series::new(
        dt("2026-02-28T09:00"),
        zone("UTC"),
        SignedDuration::from_mins(30),
        Some(rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")),
    );
    assert_eq!(impossible, Err(SeriesError::NotAnOccurrenceOfRule));
}

#[test]
fn a_start_that_is_not_an_occurrence_of_its_rule_is_refused() {
    let make = |start: &str, text: &str| {
        Series::new(dt(start), zone("Europe/Berlin"), SignedDuration::from_mins(30), Some(rule(text)))
    };
    assert_eq!(make("2026-01-29T09:00", "FREQ=MONTHLY;BYDAY=-1FR"), Err(SeriesError::NotAnOccurrenceOfRule));
    assert_eq!(make("2026-01-06T09:00", "FREQ=WEEKLY;BYDAY=MO"), Err(SeriesError::NotAnOccurrenceOfRule));
    assert!(make("2026-01-05T09:00", "FREQ=WEEKLY;BYDAY=MO").is_ok());
    let zero = Series::new(dt("2026-01-05T09:00"), zone("UTC"), SignedDuration::ZERO, None);
    assert_eq!(zero, Err(SeriesError::EmptyDuration));
    assert_eq!(
        SeriesError::EmptyDuration.violation("meeting.end_time").field,
        "meeting.end_time",
        "errors become field violations of the caller's field"
    );
}

/// The occurrences of a split, together, are the original's: same ids, same instants, none twice.
fn assert_split_is_a_partition(original: &Series, id: DateTime) {
    let window = (ts("2000-01-01T00:00:00Z"), ts("2040-01-01T00:00:00Z"));
    let split = original.split_at(id).unwrap();
    let whole = original.occurrences(window.0, window.1);
    let before = split.before.as_ref().map(|b| b.occurrences(window.0, window.1)).unwrap_or_default();
    let after = split.after.occurrences(window.0, window.1);
    assert!(before.iter().all(|o| o.recurrence_id < id), "{id}");
    assert!(after.iter().all(|o| o.recurrence_id >= id), "{id}");
    assert_eq!(split.after.start(), id);
    let mut joined = before.clone();
    joined.extend(after.iter().copied());
    joined.sort_by_key(|o| (o.start, o.recurrence_id));
    assert_eq!(joined, whole, "split at {id} of {:?}", original.rule().map(Rule::to_rrule_string));
    // The parts are themselves valid series: their text survives the round trip.
    for part in split.before.iter().chain([&split.after]) {
        let r = part.rule().unwrap();
        assert_eq!(&Rule::parse("f", &r.to_rrule_string()).unwrap(), r);
        let rebuilt = Series::new(part.start(), part.zone().clone(), part.duration(), Some(r.clone()));
        assert!(rebuilt.is_ok(), "{rebuilt:?}");
    }
}

#[test]
fn splitting_at_any_occurrence_loses_and_duplicates_nothing() {
    // A small property test: every occurrence of several rules, zones and exceptions as a split point.
    let cases = [
        ("2026-03-02T09:00", "Europe/Berlin", "FREQ=WEEKLY;COUNT=40"),
        ("2026-03-06T02:30", "America/New_York", "FREQ=DAILY;UNTIL=20261110T000000Z"),
        ("2026-01-05T09:00", "Europe/Berlin", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=30"),
        ("2026-01-30T15:00", "Australia/Sydney", "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20280101"),
        ("2026-01-31T10:00", "Asia/Kolkata", "FREQ=MONTHLY;BYMONTHDAY=31,-1;COUNT=25"),
        ("2026-10-30T01:30", "America/New_York", "FREQ=DAILY;INTERVAL=3;COUNT=60"),
        ("2026-01-30T17:00", "Europe/London", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1;COUNT=20"),
        ("2024-02-29T12:00", "Pacific/Auckland", "FREQ=YEARLY;COUNT=4"),
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (start, zone_name, text) in cases {
        let mut s = series(start, zone_name, 45, text);
        let all = s.occurrences(ts("2000-01-01T00:00:00Z"), ts("2040-01-01T00:00:00Z"));
        assert!(all.len() > 3, "{text}");
        // Sprinkle cancellations and moves at random occurrences.
        for _ in 0..3 {
            let pick = all[(next() % all.len() as u64) as usize].recurrence_id;
            s = if s.exdates().contains(&pick) {
                s
            } else if next() % 2 == 0 {
                s.cancel_occurrence(pick).unwrap()
            } else {
                let start = s.zone().to_timestamp(pick).unwrap().checked_add(SignedDuration::from_hours(5)).unwrap();
                let end = start.checked_add(SignedDuration::from_mins(30)).unwrap();
                s.with_override(Override { recurrence_id: pick, start, end }).unwrap()
            };
        }
        for o in &all {
            assert_split_is_a_partition(&s, o.recurrence_id);
        }
    }
}

#[test]
fn splitting_shares_out_count_and_moves_exceptions_with_their_part() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=DAILY;COUNT=10")
        .cancel_occurrence(dt("2026-05-05T09:00"))
        .unwrap()
        .cancel_occurrence(dt("2026-05-09T09:00"))
        .unwrap();
    let split = s.split_at(dt("2026-05-07T09:00")).unwrap();
    let before = split.before.unwrap();
    assert_eq!(before.rule().unwrap().to_rrule_string(), "FREQ=DAILY;UNTIL=20260506T070000Z");
    assert_eq!(before.exdates(), [dt("2026-05-05T09:00")]);
    assert_eq!(split.after.rule().unwrap().to_rrule_string(), "FREQ=DAILY;COUNT=7");
    assert_eq!(split.after.exdates(), [dt("2026-05-09T09:00")]);
    let first = s.split_at(dt("2026-05-04T09:00")).unwrap();
    assert_eq!(first.before, None, "this-and-following from the first occurrence is the whole series");
    assert_eq!(first.after, s);
    assert_eq!(s.cancel_from(dt("2026-05-07T09:00")).unwrap(), Some(before));
    assert!(s.split_at(dt("2026-05-07T10:00")).is_err());
}

#[test]
fn ending_after_an_occurrence_cancels_the_rest() {
    let s = series("2026-05-04T09:00", "Europe/Berlin", 30, "FREQ=WEEKLY")
        .cancel_occurrence(dt("2026-06-01T09:00"))
        .unwrap();
    let ended = s.end_after(dt("2026-05-18T09:00")).unwrap();
    assert_eq!(
        ids(&ended, "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ["2026-05-04T09:00:00", "2026-05-11T09:00:00", "2026-05-18T09:00:00"]
    );
    assert!(ended.exdates().is_empty(), "cancellations after the end are dropped, not orphaned");
    assert!(s.end_after(dt("2026-05-19T09:00")).is_err());
}

#[test]
fn editing_all_occurrences_keeps_the_exceptions_that_still_exist() {
    let moved = Override {
        recurrence_id: dt("2026-05-18T09:00"),
        start: ts("2026-05-19T12:00:00Z"),
        end: ts("2026-05-19T13:00:00Z"),
    };
    let s = series("2026-05-04T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY")
        .cancel_occurrence(dt("2026-05-11T09:00"))
        .unwrap()
        .with_override(moved)
        .unwrap();
    let later = s
        .edit_all(dt("2026-05-04T10:00"), zone("Europe/Berlin"), SignedDuration::from_mins(30), s.rule().cloned())
        .unwrap();
    assert_eq!(later.exdates(), [dt("2026-05-11T10:00")]);
    assert_eq!(later.overrides(), [Override { recurrence_id: dt("2026-05-18T10:00"), ..moved }]);
    assert_eq!(
        local(&later, "2026-05-01T00:00:00Z", "2026-05-26T00:00:00Z"),
        ["2026-05-04T10:00:00", "2026-05-19T14:00:00", "2026-05-25T10:00:00"]
    );
    let tuesdays = s
        .edit_all(dt("2026-05-05T09:00"), zone("Europe/Berlin"), s.duration(), Some(rule("FREQ=WEEKLY;BYDAY=TU")))
        .unwrap();
    assert_eq!(tuesdays.exdates(), [dt("2026-05-12T09:00")], "moved by the same day as the start");
    let monthly =
        s.edit_all(dt("2026-05-04T09:00"), zone("Europe/Berlin"), s.duration(), Some(rule("FREQ=MONTHLY"))).unwrap();
    assert!(monthly.exdates().is_empty() && monthly.overrides().is_empty(), "their occurrences are gone");
}

#[test]
fn an_invalid_rule_names_every_bad_part_at_once() {
    let got =
        descriptions("FREQ=FORTNIGHTLY;INTERVAL=0;COUNT=5000;BYDAY=XX,0MO;BYMONTHDAY=32;BYMONTH=13;WKST=XY;FOO=1");
    let parts: Vec<&str> = got.iter().map(|d| d.split(':').next().unwrap()).collect();
    assert_eq!(
        parts,
        ["FREQ", "INTERVAL", "COUNT", "BYDAY", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST", "FOO"],
        "{got:?}"
    );
    let got = descriptions("FREQ=WEEKLY;COUNT=3;UNTIL=20260101;BYDAY=2MO;BYMONTHDAY=1;BYHOUR=9");
    let parts: Vec<&str> = got.iter().map(|d| d.split(':').next().unwrap()).collect();
    assert_eq!(parts, ["BYHOUR", "COUNT", "BYMONTHDAY", "BYDAY"], "{got:?}");
    assert_eq!(descriptions("INTERVAL=2"), ["FREQ: required"]);
    assert_eq!(descriptions(""), ["FREQ: required"]);
    assert_eq!(descriptions("FREQ=DAILY;FREQ=DAILY"), ["FREQ: given more than once"]);
    assert!(descriptions("FREQ=DAILY;UNTIL=20260101T090000")[0].starts_with("UNTIL: "), "a floating UNTIL");
    assert!(descriptions("FREQ=MONTHLY;BYDAY=6FR")[0].starts_with("BYDAY: "));
    assert!(descriptions("FREQ=MONTHLY;BYSETPOS=1")[0].starts_with("BYSETPOS: "));
    assert!(descriptions(&format!("FREQ=DAILY;{}", "BYMONTH=1;".repeat(60)))[0].starts_with("RRULE: "));
}

#[test]
fn sub_daily_frequencies_are_refused_with_a_reason() {
    for freq in ["HOURLY", "MINUTELY", "SECONDLY"] {
        assert_eq!(
            descriptions(&format!("FREQ={freq}")),
            [format!("FREQ: {freq} is not supported: a meeting series repeats at most daily")]
        );
    }
}

#[test]
fn rules_print_canonically_and_round_trip() {
    let cases = [
        ("rrule:freq=weekly;byday=we,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"),
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=10;WKST=MO", "FREQ=MONTHLY;COUNT=10;BYDAY=-1FR"),
        (
            "FREQ=YEARLY;BYMONTH=11,3,3;BYDAY=+4TH;UNTIL=20301231T230000Z",
            "FREQ=YEARLY;UNTIL=20301231T230000Z;BYMONTH=3,11;BYDAY=4TH",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1,+15;UNTIL=20271231;WKST=SU",
            "FREQ=MONTHLY;UNTIL=20271231;BYMONTHDAY=-1,15;WKST=SU",
        ),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,1"),
    ];
    for (text, canonical) in cases {
        let r = rule(text);
        assert_eq!(r.to_rrule_string(), canonical);
        assert_eq!(rule(canonical), r);
        assert_eq!(r.to_string(), canonical);
    }
}

#[test]
fn no_input_makes_the_parser_panic() {
    let pieces = [
        "FREQ=",
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        ";",
        "=",
        ",",
        "BYDAY=",
        "-1",
        "+",
        "FR",
        "é",
        "5",
        "99999999999",
        "UNTIL=",
        "2026",
        "T",
        "Z",
        "BYSETPOS=",
        "COUNT=",
        "INTERVAL=",
        "BYMONTHDAY=",
        "-",
        "ÿ",
        "\u{0}",
        " ",
    ];
    let mut seed = 12345_u64;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(seed % 12) {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        if let Ok(r) = Rule::parse("f", &text) {
            assert_eq!(Rule::parse("f", &r.to_rrule_string()), Ok(r));
        }
    }
}

const ORACLE: &str = r#"
import sys, datetime
try:
    import icalendar, recurring_ical_events
except ImportError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
calendar = icalendar.Calendar.from_ical(sys.stdin.read())
start, end = (datetime.datetime.fromisoformat(a.replace("Z", "+00:00")) for a in sys.argv[1:3])
starts = sorted(e["DTSTART"].dt.astimezone(datetime.timezone.utc) for e in recurring_ical_events.of(calendar).between(start, end))
for s in starts:
    print(s.strftime("%Y-%m-%dT%H:%M:%SZ"))
"#;

/// Expands a VEVENT with Python's `recurring-ical-events`; `None` when it is not installed.
fn oracle(s: &Series, from: &str, to: &str) -> Option<Vec<String>> {
    use std::io::Write;
    let local = |d: DateTime| {
        format!("{:04}{:02}{:02}T{:02}{:02}{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute(), d.second())
    };
    let tzid = s.zone().iana_name().unwrap();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Liaison//recurrence test//EN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        "UID:oracle@liaison.test".to_owned(),
        "DTSTAMP:20260101T000000Z".to_owned(),
        format!("DTSTART;TZID={tzid}:{}", local(s.start())),
        format!("DURATION:PT{}S", s.duration().as_secs()),
        format!("RRULE:{}", s.rrule_for_export().unwrap()),
    ];
    lines.extend(s.exdates().iter().map(|d| format!("EXDATE;TZID={tzid}:{}", local(*d))));
    lines.extend(["END:VEVENT".to_owned(), "END:VCALENDAR".to_owned(), String::new()]);
    let spawned = std::process::Command::new("python3")
        .args(["-c", ORACLE, from, to])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let missing = |why: String| {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the recurrence oracle must run in CI: {why}");
        eprintln!(
            "note: skipping the recurring-ical-events oracle ({why}); pip install icalendar recurring-ical-events"
        );
        None
    };
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return missing(format!("python3: {e}")),
    };
    child.stdin.take().unwrap().write_all(lines.join("\r\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.code() == Some(3) {
        return missing(stderr);
    }
    assert!(output.status.success(), "the oracle failed: {stderr}");
    Some(String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect())
}

#[test]
fn expansion_agrees_with_python_recurring_ical_events() {
    let cases = [
        ("2026-01-05T09:00", "Europe/Berlin", "FREQ=WEEKLY", &["2026-03-30T09:00", "2026-10-26T09:00"][..]),
        ("2026-02-20T02:30", "America/New_York", "FREQ=DAILY;UNTIL=20261120T120000Z", &["2026-11-02T02:30"][..]),
        ("2026-10-20T01:30", "America/New_York", "FREQ=DAILY;COUNT=30", &[][..]),
        ("2026-01-30T15:00", "Europe/Berlin", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=24", &["2026-05-29T15:00"][..]),
        ("2026-01-01T09:00", "Australia/Sydney", "FREQ=DAILY;INTERVAL=2", &[][..]),
        ("2026-03-27T02:30", "Europe/Berlin", "FREQ=DAILY;COUNT=5", &[][..]),
        ("2026-01-31T18:00", "Asia/Kolkata", "FREQ=MONTHLY;BYMONTHDAY=31", &[][..]),
        ("2026-01-05T08:00", "America/Sao_Paulo", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20261231", &[][..]),
        ("2026-01-30T17:00", "Europe/London", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", &[][..]),
    ];
    let (from, to) = ("2025-12-31T00:00:00Z", "2027-07-01T00:00:00Z");
    for (start, zone_name, text, exdates) in cases {
        let s = series(start, zone_name, 60, text).with_exdates(exdates.iter().map(|d| dt(d)));
        let ours = utc(&s, from, to);
        let Some(theirs) = oracle(&s, from, to) else { return };
        assert!(!ours.is_empty());
        assert_eq!(ours, theirs, "{start} {zone_name} {text}");
    }
}
