//! Property tests of RRULE parsing and expansion: no text panics the parser; every rule written the ways RFC 5545
//! allows (any part order, any case, with or without `RRULE:`) parses, and its canonical text parses back to it;
//! and a series' occurrences in any window are sorted, unique, inside the window and the rule's end, the same as
//! a scan from the start finds, and each keeps its local wall time across DST in its zone (Europe/London,
//! America/New_York, Australia/Lord_Howe, whose DST shift is half an hour) or moves forward by exactly a gap.
use super::*;
use jiff::tz::AmbiguousOffset;
use proptest::prelude::*;

const ZONES: &[&str] = &["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn weekdays() -> impl Strategy<Value = Weekday> {
    proptest::sample::select(WEEKDAYS.iter().map(|(_, w)| *w).collect::<Vec<_>>())
}

/// The parts of a valid rule, as text (`NAME`, `VALUE`), for `freq`.
fn parts_for(freq: Frequency) -> impl Strategy<Value = Vec<(String, String)>> {
    let ordinal_scope = prop_oneof![Just(false), Just(true)]; // YEARLY: with BYMONTH (±5) or without (±53)
    (
        ordinal_scope,
        proptest::option::of(1..=6u32),
        prop_oneof![
            2 => Just(None),
            1 => (1..=40u32).prop_map(|n| Some(format!("COUNT={n}"))),
            1 => (2000..=2045i16, 1..=12i8, 1..=28i8).prop_map(|(y, m, d)| Some(format!("UNTIL={y:04}{m:02}{d:02}"))),
            1 => (2000..=2045i16, 1..=12i8, 1..=28i8, 0..24i8, 0..60i8).prop_map(|(y, mo, d, h, mi)| Some(format!("UNTIL={y:04}{mo:02}{d:02}T{h:02}{mi:02}00Z"))),
        ],
        proptest::collection::btree_set(1..=12i8, 0..3),
        proptest::collection::btree_set(prop_oneof![1..=28i8, -3..=-1i8, 29..=31i8], 0..3),
        proptest::collection::vec((proptest::option::of(-5..=5i8), weekdays()), 0..3),
        proptest::collection::btree_set(prop_oneof![1..=4i16, -2..=-1i16], 0..2),
        proptest::option::of(weekdays()),
    )
        .prop_map(move |(wide_year, interval, end, by_month, by_month_day, by_day, by_set_pos, wkst)| {
            let mut parts = vec![("FREQ".to_owned(), freq.as_str().to_owned())];
            if let Some(n) = interval {
                parts.push(("INTERVAL".into(), n.to_string()));
            }
            if let Some(end) = end {
                let (name, value) = end.split_once('=').unwrap();
                parts.push((name.into(), value.into()));
            }
            let wide_year = wide_year && freq == Frequency::Yearly;
            let by_month = if wide_year { Default::default() } else { by_month };
            let list = |items: Vec<String>| items.join(",");
            if !by_month.is_empty() {
                parts.push(("BYMONTH".into(), list(by_month.iter().map(|m| m.to_string()).collect())));
            }
            if freq != Frequency::Weekly && !by_month_day.is_empty() {
                parts.push(("BYMONTHDAY".into(), list(by_month_day.iter().map(|d| d.to_string()).collect())));
            }
            let ordinals = matches!(freq, Frequency::Monthly | Frequency::Yearly);
            let days: Vec<String> = by_day
                .iter()
                .map(|(ordinal, weekday)| {
                    let code = weekday_code(*weekday);
                    match ordinal.filter(|n| ordinals && *n != 0) {
                        Some(n) if wide_year => format!("{}{code}", n * 10),
                        Some(n) if n > 0 && n % 2 == 0 => format!("+{n}{code}"),
                        Some(n) => format!("{n}{code}"),
                        None => code.to_owned(),
                    }
                })
                .collect();
            if !days.is_empty() {
                parts.push(("BYDAY".into(), list(days)));
            }
            let has_other = parts.iter().any(|(n, _)| n.starts_with("BY"));
            if has_other && !by_set_pos.is_empty() {
                parts.push(("BYSETPOS".into(), list(by_set_pos.iter().map(|p| p.to_string()).collect())));
            }
            if let Some(w) = wkst {
                parts.push(("WKST".into(), weekday_code(w).to_owned()));
            }
            parts
        })
}

/// Valid rule text, written in any part order and case, with or without the `RRULE:` prefix.
fn rule_texts() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![Frequency::Daily, Frequency::Weekly, Frequency::Monthly, Frequency::Yearly])
        .prop_flat_map(parts_for)
        .prop_flat_map(|parts| (Just(parts.clone()).prop_shuffle(), any::<bool>(), any::<bool>(), any::<bool>()))
        .prop_map(|(parts, prefix, lower, padded)| {
            let body = parts.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(";");
            let text = if prefix { format!("RRULE:{body}") } else { body };
            let text = if lower { text.to_lowercase() } else { text };
            if padded { format!(" {text}\n") } else { text }
        })
}

/// Text near rules: their parts and values shuffled into any order, broken, or any text at all.
fn rule_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(
            &[
                "FREQ=",
                "DAILY",
                "HOURLY",
                "COUNT=",
                "UNTIL=",
                "INTERVAL=",
                "BYDAY=",
                "BYMONTH=",
                "BYMONTHDAY=",
                "BYSETPOS=",
                "WKST=",
                "BYHOUR=",
                "RSCALE=",
                "RRULE:",
                ";",
                ",",
                "=",
                "-",
                "+",
                "MO",
                "-1FR",
                "53SU",
                "0",
                "99999999999",
                "20240229",
                "20241301T250000Z",
                "T",
                "Z",
                "é",
                "1",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    proptest::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

/// A local start whose time is often one a DST transition skips or repeats in one of [`ZONES`].
fn starts() -> impl Strategy<Value = DateTime> {
    let critical =
        proptest::sample::select(vec![(0, 30), (1, 0), (1, 30), (1, 45), (2, 0), (2, 15), (2, 30), (2, 45), (3, 0)]);
    let time = prop_oneof![critical, (0..24i8, prop_oneof![Just(0i8), 0..60i8])];
    (2000..=2040i16, 1..=12i8, 1..=31i8, time, 0..60i8).prop_filter_map(
        "a real date",
        |(year, month, day, (hour, minute), second)| {
            let second = if second % 3 == 0 { second } else { 0 };
            Some(Date::new(year, month, day).ok()?.to_datetime(jiff::civil::Time::new(hour, minute, second, 0).ok()?))
        },
    )
}

/// The instances a series' rule generates from its start, as a scan from the start finds them (at most `cap`).
fn scan(series: &Series, until: Timestamp, cap: usize) -> Vec<(DateTime, Timestamp)> {
    let mut found = Vec::new();
    series.for_each_instance(None, |local, at| {
        if at >= until || found.len() >= cap {
            return ControlFlow::Break(());
        }
        found.push((local, at));
        ControlFlow::Continue(())
    });
    found
}

/// A series of `rule` in `zone` from the first instance at or after `near`, if the rule has one.
fn series_near(rule: Rule, zone: TimeZone, near: DateTime, minutes: i64) -> Option<Series> {
    let probe = Series {
        start: near,
        zone: zone.clone(),
        duration: SignedDuration::from_mins(minutes),
        rule: Some(rule.clone()),
        exdates: Vec::new(),
        overrides: Vec::new(),
    };
    let mut first = None;
    probe.for_each_instance(None, |local, _| {
        first = Some(local);
        ControlFlow::Break(())
    });
    Series::new(first?, zone, SignedDuration::from_mins(minutes), Some(rule)).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_a_rule_or_refused_without_panicking(text in prop_oneof![any::<String>(), rule_like()]) {
        match Rule::parse("rrule", &text) {
            Ok(rule) => prop_assert_eq!(Rule::parse("rrule", &rule.to_rrule_string()), Ok(rule.clone()), "{}", text),
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                prop_assert!(violations.iter().all(|v| v.field == "rrule"));
            }
        }
    }

    #[test]
    fn any_valid_rule_text_parses_and_its_canonical_text_parses_back_to_it(text in rule_texts()) {
        let rule = Rule::parse("rrule", &text).map_err(|v| TestCaseError::fail(format!("{text}: {v:?}")))?;
        let canonical = rule.to_rrule_string();
        prop_assert_eq!(Rule::parse("rrule", &canonical), Ok(rule.clone()), "{}", canonical);
        prop_assert_eq!(Rule::parse("rrule", &format!("RRULE:{}", canonical.to_lowercase())), Ok(rule.clone()));
        prop_assert_eq!(rule.to_string(), canonical.clone());
        prop_assert!(!canonical.contains("INTERVAL=1;") && !canonical.ends_with("INTERVAL=1") && !canonical.contains("WKST=MO"), "defaults left out: {canonical}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn occurrences_are_sorted_unique_in_the_window_and_keep_their_wall_time_across_dst(
        text in rule_texts(),
        near in starts(),
        zone_name in proptest::sample::select(ZONES),
        minutes in prop_oneof![Just(30i64), Just(60), 1..=3000i64],
        window_from_days in prop_oneof![-40i64..=400, -40i64..=4000],
        window_days in 1i64..=500,
    ) {
        let rule = Rule::parse("rrule", &text).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let tz = zone(zone_name);
        let Some(series) = series_near(rule.clone(), tz.clone(), near, minutes) else {
            // A rule with no instance from here (e.g. UNTIL before the start): nothing to expand.
            return Ok(());
        };
        let duration = SignedDuration::from_mins(minutes);
        let first = resolve(&tz, series.start()).unwrap();
        let window_start = first.checked_add(SignedDuration::from_hours(24 * window_from_days)).unwrap();
        let window_end = window_start.checked_add(SignedDuration::from_hours(24 * window_days)).unwrap();
        let got = series.occurrences(window_start, window_end);

        prop_assert!(got.len() <= MAX_OCCURRENCES_PER_WINDOW);
        prop_assert!(got.windows(2).all(|w| w[0].start < w[1].start), "sorted by start, no start twice");
        prop_assert!(got.windows(2).all(|w| w[0].recurrence_id < w[1].recurrence_id), "ids ascend with starts");
        for o in &got {
            prop_assert!(!o.overridden);
            prop_assert!(o.start < window_end && o.end > window_start, "overlaps the window: {o:?}");
            prop_assert_eq!(o.end, o.start.checked_add(duration).unwrap());
            prop_assert!(o.recurrence_id >= series.start());
            prop_assert_eq!(o.recurrence_id.time(), series.start().time(), "every occurrence at the start's time of day");
            match rule.end() {
                End::Until(Until::Instant(last)) => prop_assert!(o.start <= last),
                End::Until(Until::Date(last)) => prop_assert!(o.recurrence_id.date() <= last),
                End::Count(_) | End::Never => {}
            }
            // RFC 5545 §3.3.5: the wall time is kept; in a gap, the offset before it applies (so the wall clock
            // shows the time moved forward by the gap); in a fold, the earlier of the two instants.
            let wall = tz.to_datetime(o.start);
            match tz.to_ambiguous_timestamp(o.recurrence_id).offset() {
                AmbiguousOffset::Unambiguous { offset } => {
                    prop_assert_eq!(o.start, offset.to_timestamp(o.recurrence_id).unwrap());
                    prop_assert_eq!(wall, o.recurrence_id, "wall time kept");
                }
                AmbiguousOffset::Gap { before, after } => {
                    prop_assert_eq!(o.start, before.to_timestamp(o.recurrence_id).unwrap());
                    let gap = SignedDuration::from_secs(i64::from(after.seconds() - before.seconds()));
                    prop_assert_eq!(wall, o.recurrence_id.checked_add(gap).unwrap(), "moved forward by the gap");
                }
                AmbiguousOffset::Fold { before, after } => {
                    prop_assert!(before.seconds() > after.seconds());
                    prop_assert_eq!(o.start, before.to_timestamp(o.recurrence_id).unwrap(), "the earlier instant");
                    prop_assert_eq!(wall, o.recurrence_id, "wall time kept");
                }
            }
        }
        // The same as a scan from the series' start finds (expansion skips ahead to the window's periods).
        let scanned = scan(&series, window_end, 20_000);
        if scanned.len() < 20_000 {
            let expected: Vec<(DateTime, Timestamp)> = scanned
                .into_iter()
                .filter(|(_, start)| start.checked_add(duration).unwrap() > window_start)
                .take(MAX_OCCURRENCES_PER_WINDOW)
                .collect();
            let actual: Vec<(DateTime, Timestamp)> = got.iter().map(|o| (o.recurrence_id, o.start)).collect();
            prop_assert_eq!(actual, expected);
        }
        if let End::Count(n) = rule.end() {
            let all = series.occurrences(first, Timestamp::MAX);
            prop_assert!(all.len() <= n as usize);
            prop_assert_eq!(all.first().map(|o| o.recurrence_id), Some(series.start()), "the start is the first");
        }
    }

    #[test]
    fn the_exported_rule_has_the_same_occurrences(
        text in rule_texts(),
        near in starts(),
        zone_name in proptest::sample::select(ZONES),
    ) {
        let rule = Rule::parse("rrule", &text).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let tz = zone(zone_name);
        let Some(series) = series_near(rule, tz.clone(), near, 45) else { return Ok(()) };
        let exported = series.rrule_for_export().unwrap();
        let again = Rule::parse("rrule", &exported).map_err(|v| TestCaseError::fail(format!("{exported}: {v:?}")))?;
        let copy = Series::new(series.start(), tz.clone(), series.duration(), Some(again)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from = resolve(&tz, series.start()).unwrap();
        let until = from.checked_add(SignedDuration::from_hours(24 * 366 * 50)).unwrap();
        prop_assert_eq!(copy.occurrences(from, until), series.occurrences(from, until), "{} exported as {}", text, exported);
    }
}
