use super::*;
use jiff::civil::{date, time};

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn mins(minutes: i64) -> SignedDuration {
    SignedDuration::from_mins(minutes)
}

fn weekdays(start: Time, end: Time) -> Vec<WorkingHours> {
    [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
        .into_iter()
        .map(|day| WorkingHours { day, start, end })
        .collect()
}

/// Someone in UTC working 09:00–17:00 on weekdays.
fn person(id: &str, required: bool) -> Participant {
    Participant {
        id: id.into(),
        required,
        time_zone: Some(TimeZone::UTC),
        working_hours: weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0)),
        busy: Vec::new(),
    }
}

fn busy(mut participant: Participant, start: &str, end: &str) -> Participant {
    participant.busy.push(Busy { start: utc(start), end: utc(end), tentative: false });
    participant
}

fn tentative(mut participant: Participant, start: &str, end: &str) -> Participant {
    participant.busy.push(Busy { start: utc(start), end: utc(end), tentative: true });
    participant
}

/// Wednesday 2027-01-13, the whole UTC day.
fn request(participants: Vec<Participant>, minutes: i64) -> Request {
    Request::new(participants, mins(minutes), utc("2027-01-13T00:00:00Z"), utc("2027-01-14T00:00:00Z"))
}

fn found(request: &Request) -> Vec<Candidate> {
    match find_meeting_times(request).unwrap() {
        Outcome::Found(candidates) => candidates,
        other => panic!("expected candidates, got {other:?}"),
    }
}

fn no_slot(request: &Request) -> NoSlot {
    match find_meeting_times(request).unwrap() {
        Outcome::NoSlot(no_slot) => no_slot,
        other => panic!("expected no slot, got {other:?}"),
    }
}

fn of(candidate: &Candidate, id: &str) -> Availability {
    candidate.availability.iter().find(|(who, _)| who == id).unwrap().1
}

fn starts(candidates: &[Candidate]) -> Vec<String> {
    candidates.iter().map(|c| c.start.to_string()).collect()
}

#[test]
fn a_slot_where_all_required_are_free_is_found_and_ranked_first() {
    let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T12:00:00Z");
    let b = busy(person("b", true), "2027-01-13T13:00:00Z", "2027-01-13T17:00:00Z");
    let candidates = found(&request(vec![a, b], 60));
    assert_eq!(starts(&candidates), ["2027-01-13T12:00:00Z"]);
    let best = &candidates[0];
    assert_eq!(best.end, utc("2027-01-13T13:00:00Z"));
    assert!(best.required_free);
    assert_eq!(best.attendance_percent, 100);
    assert_eq!(best.confidence, 1.0);
    assert_eq!(of(best, "a"), Availability::Free);
    assert_eq!(of(best, "b"), Availability::Free);
}

#[test]
fn busy_intervals_that_only_touch_a_slot_do_not_conflict() {
    let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z");
    let a = busy(a, "2027-01-13T11:00:00Z", "2027-01-13T17:00:00Z");
    assert_eq!(starts(&found(&request(vec![a], 60))), ["2027-01-13T10:00:00Z"]);
}

#[test]
fn an_optional_conflict_lowers_rank_but_does_not_exclude() {
    let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T15:00:00Z");
    let o = busy(person("o", false), "2027-01-13T15:00:00Z", "2027-01-13T16:00:00Z");
    let candidates = found(&request(vec![a, o], 60));
    // 16:00 has nobody busy; 15:00 still qualifies with the optional conflict, ranked after.
    assert_eq!(
        starts(&candidates),
        [
            "2027-01-13T16:00:00Z",
            "2027-01-13T15:00:00Z",
            "2027-01-13T15:15:00Z",
            "2027-01-13T15:30:00Z",
            "2027-01-13T15:45:00Z"
        ]
    );
    assert_eq!(candidates[0].optional_conflicts, 0);
    assert_eq!(candidates[1].optional_conflicts, 1);
    assert!(candidates[1].required_free);
    assert_eq!(candidates[1].attendance_percent, 50);
    assert_eq!(of(&candidates[1], "o"), Availability::Busy);
}

#[test]
fn a_tentative_meeting_lowers_confidence_but_does_not_exclude() {
    let a = tentative(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T16:00:00Z");
    let b = person("b", true);
    let candidates = found(&request(vec![a, b], 60));
    // 16:00 is certain; the tentative slots follow, less confident.
    assert_eq!(candidates[0].start, utc("2027-01-13T16:00:00Z"));
    assert_eq!(candidates[0].confidence, 1.0);
    let unsure = &candidates[1];
    assert!(unsure.required_free);
    assert_eq!(of(unsure, "a"), Availability::Tentative);
    assert_eq!(unsure.attendance_percent, 100);
    assert!((unsure.confidence - 0.75).abs() < 1e-6, "{}", unsure.confidence);
}

#[test]
fn unknown_zones_and_hours_lower_confidence() {
    let mut nowhere = busy(person("nowhere", true), "2027-01-13T00:00:00Z", "2027-01-13T10:00:00Z");
    nowhere.time_zone = None;
    let mut anytime = person("anytime", false);
    anytime.working_hours.clear();
    let candidates = found(&request(vec![nowhere, anytime], 60));
    let first = &candidates[0];
    assert_eq!(first.start, utc("2027-01-13T10:00:00Z"));
    assert_eq!(of(first, "nowhere"), Availability::Unknown);
    assert_eq!(of(first, "anytime"), Availability::Free);
    // (2·0.6 + 1·0.8) / 3
    assert!((first.confidence - 2.0 / 3.0).abs() < 1e-6, "{}", first.confidence);
}

#[test]
fn working_hours_in_three_zones_leave_the_one_overlap() {
    let in_zone = |id: &str, name: &str, start: Time, end: Time| Participant {
        time_zone: Some(zone(name)),
        working_hours: weekdays(start, end),
        ..person(id, true)
    };
    let participants = vec![
        // 08:00–17:00 UTC in January.
        in_zone("berlin", "Europe/Berlin", time(9, 0, 0, 0), time(18, 0, 0, 0)),
        // 13:00–22:00 UTC.
        in_zone("new-york", "America/New_York", time(8, 0, 0, 0), time(17, 0, 0, 0)),
        // 14:00 to midnight local is 05:00–15:00 UTC.
        in_zone("tokyo", "Asia/Tokyo", time(14, 0, 0, 0), Time::midnight()),
    ];
    let mut request = Request::new(
        participants,
        mins(120),
        utc("2027-01-11T00:00:00Z"), // Monday
        utc("2027-01-16T00:00:00Z"),
    );
    request.step = mins(15);
    let candidates = found(&request);
    assert_eq!(
        starts(&candidates),
        [
            "2027-01-11T13:00:00Z",
            "2027-01-12T13:00:00Z",
            "2027-01-13T13:00:00Z",
            "2027-01-14T13:00:00Z",
            "2027-01-15T13:00:00Z"
        ]
    );
    assert!(candidates.iter().all(|c| c.end.duration_since(c.start) == mins(120)));
}

#[test]
fn the_berlin_new_york_overlap_shifts_while_only_new_york_has_switched_to_summer_time() {
    let office = |id: &str, name: &str| Participant {
        time_zone: Some(zone(name)),
        working_hours: weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0)),
        ..person(id, true)
    };
    let only = |day: &str, minutes: i64| {
        let start = utc(&format!("{day}T00:00:00Z"));
        let request = Request::new(
            vec![office("berlin", "Europe/Berlin"), office("new-york", "America/New_York")],
            mins(minutes),
            start,
            start + SignedDuration::from_hours(24),
        );
        found(&request).into_iter().map(|c| (c.start.to_string(), c.end.to_string())).collect::<Vec<_>>()
    };
    let slot = |start: &str, end: &str| vec![(start.to_string(), end.to_string())];
    // Both on winter time: Berlin 08–16 UTC, New York 14–22 UTC.
    assert_eq!(only("2027-03-10", 120), slot("2027-03-10T14:00:00Z", "2027-03-10T16:00:00Z"));
    // New York switched on 14 March (13–21 UTC), Berlin not yet: three hours.
    assert_eq!(only("2027-03-17", 180), slot("2027-03-17T13:00:00Z", "2027-03-17T16:00:00Z"));
    assert_eq!(only("2027-03-24", 180), slot("2027-03-24T13:00:00Z", "2027-03-24T16:00:00Z"));
    // Berlin switched on 28 March (07–15 UTC): two hours again, an hour earlier.
    assert_eq!(only("2027-03-31", 120), slot("2027-03-31T13:00:00Z", "2027-03-31T15:00:00Z"));
    let mut too_long = Request::new(
        vec![office("berlin", "Europe/Berlin"), office("new-york", "America/New_York")],
        mins(180),
        utc("2027-03-31T00:00:00Z"),
        utc("2027-04-01T00:00:00Z"),
    );
    too_long.max_candidates = 1;
    assert!(matches!(find_meeting_times(&too_long), Ok(Outcome::NoSlot(_))));
}

fn hours_on(zone_name: &str, day: jiff::civil::Date, start: Time, end: Time) -> Vec<(String, String)> {
    let window = Interval {
        start: utc(&format!("{day}T00:00:00Z")).as_second() - 86_400,
        end: utc(&format!("{day}T00:00:00Z")).as_second() + 2 * 86_400,
    };
    let entry = WorkingHours { day: day.weekday(), start, end };
    local_intervals(&zone(zone_name), &[entry], window)
        .into_iter()
        .map(|i| {
            let show = |s| Timestamp::from_second(s).unwrap().to_string();
            (show(i.start), show(i.end))
        })
        .collect()
}

#[test]
fn a_working_day_changes_length_only_when_the_clock_change_falls_inside_it() {
    let nine_to_five = (time(9, 0, 0, 0), time(17, 0, 0, 0));
    // 09:00–17:00 on the change days is still eight hours, an hour shifted.
    assert_eq!(
        hours_on("Europe/Berlin", date(2027, 3, 28), nine_to_five.0, nine_to_five.1),
        [("2027-03-28T07:00:00Z".into(), "2027-03-28T15:00:00Z".into())]
    );
    assert_eq!(
        hours_on("Europe/Berlin", date(2027, 10, 31), nine_to_five.0, nine_to_five.1),
        [("2027-10-31T08:00:00Z".into(), "2027-10-31T16:00:00Z".into())]
    );
    // The whole day: 23 hours in spring, 25 in autumn.
    let whole = hours_on("Europe/Berlin", date(2027, 3, 28), Time::midnight(), Time::midnight());
    assert_eq!(whole, [("2027-03-27T23:00:00Z".into(), "2027-03-28T22:00:00Z".into())]);
    let whole = hours_on("Europe/Berlin", date(2027, 10, 31), Time::midnight(), Time::midnight());
    assert_eq!(whole, [("2027-10-30T22:00:00Z".into(), "2027-10-31T23:00:00Z".into())]);
    // 01:00–05:00 holds the change: three hours in spring.
    assert_eq!(
        hours_on("Europe/Berlin", date(2027, 3, 28), time(1, 0, 0, 0), time(5, 0, 0, 0)),
        [("2027-03-28T00:00:00Z".into(), "2027-03-28T03:00:00Z".into())]
    );
}

#[test]
fn hours_starting_in_a_skipped_hour_start_at_the_change_and_a_repeated_hour_counts_twice() {
    // 02:30 does not exist on 28 March 2027 in Berlin: clocks jump from 02:00 to 03:00 (01:00 UTC).
    assert_eq!(
        hours_on("Europe/Berlin", date(2027, 3, 28), time(2, 30, 0, 0), time(4, 0, 0, 0)),
        [("2027-03-28T01:00:00Z".into(), "2027-03-28T02:00:00Z".into())]
    );
    // 02:00–03:00 is lived twice on 31 October 2027: 02:30–03:30 runs from the first 02:30 to 03:30 winter time.
    assert_eq!(
        hours_on("Europe/Berlin", date(2027, 10, 31), time(2, 30, 0, 0), time(3, 30, 0, 0)),
        [("2027-10-31T00:30:00Z".into(), "2027-10-31T02:30:00Z".into())]
    );
}

#[test]
fn a_night_shift_runs_into_the_next_day() {
    let mut guard = person("guard", true);
    guard.working_hours = vec![WorkingHours { day: Weekday::Tuesday, start: time(22, 0, 0, 0), end: time(6, 0, 0, 0) }];
    // Tuesday 12 to Wednesday 13 January, only the night shift's tail is in the window.
    let candidates = found(&request(vec![guard], 360));
    assert_eq!(starts(&candidates), ["2027-01-13T00:00:00Z"]);
}

#[test]
fn required_participants_must_all_be_free_whatever_the_quorum() {
    let a = person("a", true);
    let b = busy(person("b", true), "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let mut request = request(vec![a, b], 60);
    request.min_attendance_percent = 50;
    let no_slot = no_slot(&request);
    assert_eq!(no_slot.reasons, [Reason::RequiredUnavailable { ids: vec!["b".into()] }]);
    assert!(!no_slot.closest.is_empty() && no_slot.closest.len() <= request.max_candidates);
    assert!(no_slot.closest.iter().all(|c| !c.required_free));
    // The closest miss is a daytime slot where a can come.
    assert_eq!(no_slot.closest[0].start, utc("2027-01-13T09:00:00Z"));
    assert_eq!(no_slot.closest[0].attendance_percent, 50);
}

#[test]
fn the_quorum_counts_every_participant() {
    let all_day = |p| busy(p, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let participants =
        vec![person("a", true), person("o1", false), all_day(person("o2", false)), all_day(person("o3", false))];
    let mut request = request(participants, 60);
    request.min_attendance_percent = 50;
    let candidates = found(&request);
    assert!(candidates.iter().all(|c| c.attendance_percent == 50 && c.optional_conflicts == 2));
    request.min_attendance_percent = 51;
    assert_eq!(no_slot(&request).reasons, [Reason::QuorumNotMet { best_attendance_percent: 50 }]);
}

#[test]
fn when_working_hours_never_overlap_the_reason_names_who_is_outside_them() {
    let mut a = person("a", true);
    a.working_hours = weekdays(time(9, 0, 0, 0), time(12, 0, 0, 0));
    let mut b = person("b", true);
    b.working_hours = weekdays(time(13, 0, 0, 0), time(17, 0, 0, 0));
    // An optional participant's hours never make the reason.
    let mut o = person("o", false);
    o.working_hours = weekdays(time(10, 0, 0, 0), time(11, 0, 0, 0));
    let no_slot = no_slot(&request(vec![o, b, a], 60));
    // a is outside at 84 of the 93 starts, b at 80.
    assert_eq!(no_slot.reasons, [Reason::OutsideWorkingHours { ids: vec!["a".into(), "b".into()] }]);
}

#[test]
fn when_required_participants_are_busy_in_the_shared_hours_the_reason_names_them() {
    // a is busy in the morning, b works only in the morning; c is busy at night, which is no reason.
    let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T13:00:00Z");
    let mut b = person("b", true);
    b.working_hours = weekdays(time(9, 0, 0, 0), time(13, 0, 0, 0));
    let c = busy(person("c", true), "2027-01-13T00:00:00Z", "2027-01-13T06:00:00Z");
    let no_slot = no_slot(&request(vec![c, a, b], 60));
    assert_eq!(no_slot.reasons, [Reason::RequiredUnavailable { ids: vec!["a".into()] }]);
    assert!(no_slot.closest.iter().all(|c| !c.required_free));
}

#[test]
fn reasons_list_the_most_often_blocking_first() {
    let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z");
    let b = busy(person("b", true), "2027-01-13T10:00:00Z", "2027-01-13T17:00:00Z");
    let no_slot = no_slot(&request(vec![a, b], 120));
    assert_eq!(no_slot.reasons[0], Reason::RequiredUnavailable { ids: vec!["b".into(), "a".into()] });
}

#[test]
fn a_window_with_no_room_on_the_grid_is_too_short() {
    // 09:07–10:07 holds one hour, but no 15-minute grid start does.
    let request =
        Request::new(vec![person("a", true)], mins(60), utc("2027-01-13T09:07:00Z"), utc("2027-01-13T10:07:00Z"));
    assert_eq!(no_slot(&request), NoSlot { reasons: vec![Reason::WindowTooShort], closest: Vec::new() });
}

#[test]
fn earliest_and_latest_local_hours_bound_the_candidates() {
    let mut anytime = person("a", true);
    anytime.working_hours.clear();
    let mut request = request(vec![anytime], 60);
    request.local_zone = zone("Asia/Tokyo");
    // 19:00–21:00 Tokyo is 10:00–12:00 UTC.
    request.earliest_local = Some(time(19, 0, 0, 0));
    request.latest_local = Some(time(21, 0, 0, 0));
    request.max_candidates = 100;
    let candidates = found(&request);
    assert_eq!(candidates.len(), 5);
    assert!(candidates.iter().all(|c| c.start >= utc("2027-01-13T10:00:00Z") && c.end <= utc("2027-01-13T12:00:00Z")));
    // Ninety minutes do not fit in 19:00–20:00.
    request.latest_local = Some(time(20, 0, 0, 0));
    request.duration = mins(90);
    assert_eq!(no_slot(&request).reasons, [Reason::WindowTooShort]);
}

#[test]
fn candidates_are_an_hour_apart_unless_fewer_would_be_returned() {
    let mut request = request(vec![person("a", true)], 30);
    request.max_candidates = 4;
    assert_eq!(
        starts(&found(&request)),
        ["2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z", "2027-01-13T11:00:00Z", "2027-01-13T12:00:00Z"]
    );
    // 09:00–10:30 holds four starts for 30 minutes but only two an hour apart.
    request.participants[0].working_hours = weekdays(time(9, 0, 0, 0), time(10, 30, 0, 0));
    assert_eq!(
        starts(&found(&request)),
        ["2027-01-13T09:00:00Z", "2027-01-13T09:15:00Z", "2027-01-13T09:30:00Z", "2027-01-13T10:00:00Z"]
    );
}

#[test]
fn validation_names_every_bad_field_at_once() {
    let mut request = request(vec![person("a", true), person("a", false), person(" ", true)], 0);
    request.window_end = request.window_start;
    request.min_attendance_percent = 101;
    request.max_candidates = 0;
    request.step = mins(1);
    let fields: Vec<String> = request.validate().unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(
        fields,
        [
            "participants[1].id",
            "participants[2].id",
            "window.end_time",
            "duration",
            "min_attendance_percent",
            "max_candidates",
            "step"
        ]
    );
    let empty = Request::new(Vec::new(), mins(600), utc("2027-01-01T00:00:00Z"), utc("2027-01-01T01:00:00Z"));
    let fields: Vec<String> = find_meeting_times(&empty).unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["participants", "duration"]);
    let long =
        Request::new(vec![person("a", true)], mins(60), utc("2027-01-01T00:00:00Z"), utc("2027-03-05T00:00:00Z"));
    let fields: Vec<String> = long.validate().unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["window.end_time"]);
}

/// A tiny deterministic generator, so the property-style tests need no extra dependency.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

#[test]
fn twenty_participants_with_two_thousand_meetings_each_over_four_weeks_complete() {
    let mut random = Lcg(18);
    let year_start = utc("2027-01-01T00:00:00Z").as_second();
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
    let participants: Vec<Participant> = (0..20)
        .map(|index| {
            let mut busy: Vec<Busy> = (0..2_000)
                .map(|_| {
                    let start = year_start + (random.below(365 * 96) as i64) * 900;
                    let length = 900 * (1 + random.below(8) as i64);
                    Busy {
                        start: Timestamp::from_second(start).unwrap(),
                        end: Timestamp::from_second(start + length).unwrap(),
                        tentative: random.below(5) == 0,
                    }
                })
                .collect();
            // A weekly series, already expanded, as the caller passes it.
            busy.extend((0..52).map(|week| Busy {
                start: Timestamp::from_second(year_start + week * 7 * 86_400 + 36_000).unwrap(),
                end: Timestamp::from_second(year_start + week * 7 * 86_400 + 39_600).unwrap(),
                tentative: false,
            }));
            Participant {
                id: format!("p{index}"),
                required: index < 4,
                time_zone: Some(zone(zones[index % zones.len()])),
                working_hours: weekdays(time(8, 0, 0, 0), time(20, 0, 0, 0)),
                busy,
            }
        })
        .collect();
    let mut request = Request::new(participants, mins(30), utc("2027-03-01T00:00:00Z"), utc("2027-03-29T00:00:00Z"));
    request.min_attendance_percent = 30;
    request.max_candidates = 8;
    let returned = match find_meeting_times(&request).unwrap() {
        Outcome::Found(candidates) => candidates.len(),
        Outcome::NoSlot(no_slot) => no_slot.closest.len(),
    };
    assert!((1..=8).contains(&returned), "{returned}");
}

#[test]
fn random_requests_never_panic_and_candidates_keep_the_rules() {
    let mut random = Lcg(2027);
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kathmandu"];
    let base = utc("2027-03-20T00:00:00Z").as_second();
    for _ in 0..200 {
        let participants: Vec<Participant> = (0..1 + random.below(5))
            .map(|index| {
                let busy = (0..random.below(30))
                    .map(|_| {
                        let start = base + random.below(14 * 86_400) as i64 - 86_400;
                        let end = start + random.below(6 * 3_600) as i64 - 600;
                        Busy {
                            start: Timestamp::from_second(start).unwrap(),
                            end: Timestamp::from_second(end).unwrap(),
                            tentative: random.below(3) == 0,
                        }
                    })
                    .collect();
                let hour = |random: &mut Lcg| time(random.below(24) as i8, 15 * random.below(4) as i8, 0, 0);
                let working_hours = (0..random.below(4))
                    .map(|_| WorkingHours {
                        day: Weekday::from_monday_zero_offset(random.below(7) as i8).unwrap(),
                        start: hour(&mut random),
                        end: hour(&mut random),
                    })
                    .collect();
                let time_zone = match random.below(6) as usize {
                    5 => None,
                    pick => Some(zone(zones[pick % zones.len()])),
                };
                Participant { id: format!("p{index}"), required: random.below(2) == 0, time_zone, working_hours, busy }
            })
            .collect();
        let window_start = base + random.below(86_400) as i64;
        let window_end = window_start + 3_600 + random.below(10 * 86_400) as i64;
        let mut request = Request::new(
            participants,
            mins(5 + random.below(240) as i64),
            Timestamp::from_second(window_start).unwrap(),
            Timestamp::from_second(window_end).unwrap(),
        );
        request.min_attendance_percent = random.below(101) as u8;
        request.max_candidates = 1 + random.below(10) as usize;
        request.step = mins(5 * (1 + random.below(6) as i64));
        if random.below(2) == 0 {
            request.local_zone = zone(zones[random.below(zones.len() as u64) as usize]);
            request.earliest_local = Some(time(random.below(24) as i8, 0, 0, 0));
            request.latest_local = Some(time(random.below(24) as i8, 0, 0, 0));
        }
        let Ok(outcome) = find_meeting_times(&request) else { continue };
        let total = request.participants.len();
        let (list, qualifying) = match outcome {
            Outcome::Found(list) => (list, true),
            Outcome::NoSlot(no_slot) => {
                assert!(!no_slot.reasons.is_empty());
                (no_slot.closest, false)
            }
        };
        assert!(list.len() <= request.max_candidates);
        assert!(!qualifying || !list.is_empty());
        for candidate in &list {
            assert!(candidate.start >= request.window_start && candidate.end <= request.window_end);
            assert_eq!(candidate.end.duration_since(candidate.start), request.duration);
            assert_eq!(candidate.availability.len(), total);
            assert!((0.0..=1.0).contains(&candidate.confidence));
            let attending = candidate.availability.iter().filter(|(_, a)| a.attends()).count();
            assert_eq!(usize::from(candidate.attendance_percent), attending * 100 / total);
            let quorum = attending * 100 >= usize::from(request.min_attendance_percent) * total;
            assert_eq!(qualifying, candidate.required_free && quorum);
        }
        // Ranked: required free first, then fewest optional conflicts.
        for pair in list.windows(2) {
            let key = |c: &Candidate| (!c.required_free, c.optional_conflicts);
            assert!(key(&pair[0]) <= key(&pair[1]) || !qualifying);
        }
    }
}
