//! Recurring meetings through the API: occurrences at the same local time across daylight-saving changes in three
//! zones (checked against chrono-tz, an independent tz implementation), conflicts with occurrences, and the edits
//! of one occurrence, this and following, all, and the rest — with the exact occurrence sets before and after, and
//! one change-feed entry per edit.
use crate::meetings::{App, app, bad_fields, changes_through, create, meeting_at, person, preconditions};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic_types::StatusExt;

on_both_databases!(
    a_weekly_series_stays_at_its_local_time_across_both_transitions_in_three_zones,
    an_occurrence_in_a_spring_forward_gap_moves_forward_by_the_gap,
    bad_series_are_refused_naming_the_rule,
    occurrences_conflict_like_meetings_and_a_cancelled_one_frees_its_slot,
    moving_and_cancelling_one_occurrence_changes_only_it,
    this_and_following_splits_the_series_without_duplicating_or_losing_an_occurrence,
    moving_all_keeps_cancelled_and_moved_occurrences_and_cancelling_the_rest_ends_the_series,
    an_exported_series_expands_in_an_independent_parser_exactly_as_listed,
);

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

/// The instant of a local time in an IANA zone, by chrono-tz (the first of two in a fold).
fn local(zone: &str, date: (i32, u32, u32), hour: u32, minute: u32) -> i64 {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let naive = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap().and_hms_opt(hour, minute, 0).unwrap();
    tz.from_local_datetime(&naive).earliest().unwrap().timestamp()
}

async fn series(app: &mut App, title: &str, who: &str, zone: &str, start: i64, minutes: i64, rule: &str) -> Meeting {
    create(
        app,
        Meeting {
            time_zone: zone.into(),
            recurrence: Some(Recurrence { rule: rule.into(), ..Default::default() }),
            ..meeting_at(title, vec![who.to_owned()], start, minutes * 60)
        },
    )
    .await
    .unwrap()
}

/// The starts (Unix seconds) of a meeting's occurrences in a window.
async fn starts(app: &mut App, meeting: &str, from: i64, to: i64) -> Vec<i64> {
    occurrences(app, meeting, from, to).await.iter().map(|o| o.start_time.unwrap().seconds).collect()
}

async fn occurrences(app: &mut App, meeting: &str, from: i64, to: i64) -> Vec<Occurrence> {
    app.client
        .list_occurrences(ListOccurrencesRequest {
            meeting: meeting.into(),
            window_start_time: ts(from),
            window_end_time: ts(to),
            ..Default::default()
        })
        .ok()
        .await
        .occurrences
}

fn reason(status: &tonic::Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

async fn a_weekly_series_stays_at_its_local_time_across_both_transitions_in_three_zones(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    // Weekly on Mondays through 2027: Berlin changes on 28 March and 31 October, New York on 14 March and
    // 7 November, Sydney on 4 April and 3 October (the other way round).
    for (zone, hour) in [("Europe/Berlin", 9), ("America/New_York", 9), ("Australia/Sydney", 9)] {
        let first = local(zone, (2027, 1, 4), hour, 0);
        let meeting = series(&mut app, zone, &ada, zone, first, 60, "FREQ=WEEKLY;COUNT=52").await;
        let expected: Vec<i64> = (0..52)
            .map(|week| {
                let date = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap() + Duration::weeks(week);
                local(zone, (date.year(), date.month(), date.day()), hour, 0)
            })
            .collect();
        let listed = starts(&mut app, &meeting.name, first - DAY, first + 370 * DAY).await;
        assert_eq!(listed, expected, "{zone}: every Monday at {hour}:00 local, whatever the offset");
        // The UTC times did move: the offsets differ between January and July.
        assert_ne!((expected[0] - first) % DAY, (expected[26] - expected[0]) % DAY, "{zone}");
        let last = expected[51] + HOUR;
        assert_eq!(meeting.recurrence.unwrap().last_end_time.map(|t| t.seconds), Some(last));
        // Ada is busy at each of them, across the changes.
        for at in [expected[11], expected[12], expected[13], expected[40], expected[44]] {
            let status = create(&mut app, meeting_at("Clash", vec![ada.clone()], at, HOUR)).await.unwrap_err();
            assert_eq!(reason(&status), "MEETING_CONFLICT", "{zone} at {at}");
        }
    }
}

async fn an_occurrence_in_a_spring_forward_gap_moves_forward_by_the_gap(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    // 02:30 on 28 March 2027 does not exist in Berlin: clocks go from 02:00 to 03:00.
    let first = local("Europe/Berlin", (2027, 3, 27), 2, 30);
    let meeting = series(&mut app, "Night shift", &ada, "Europe/Berlin", first, 30, "FREQ=DAILY;COUNT=3").await;
    let listed = starts(&mut app, &meeting.name, first - DAY, first + 4 * DAY).await;
    let utc = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2027, 3, d, h, m, 0).unwrap().timestamp();
    // 02:30 CET is 01:30 UTC; on the 28th the gap shifts it to 03:30 CEST, also 01:30 UTC; then 02:30 CEST.
    assert_eq!(listed, [utc(27, 1, 30), utc(28, 1, 30), utc(29, 0, 30)]);
}

async fn bad_series_are_refused_naming_the_rule(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let monday = local("Europe/Berlin", (2027, 1, 4), 9, 0);
    let with_rule = |rule: &str, title: &str| Meeting {
        title: title.into(),
        time_zone: "Europe/Berlin".into(),
        recurrence: Some(Recurrence { rule: rule.into(), ..Default::default() }),
        ..meeting_at("x", vec![ada.clone()], monday, HOUR)
    };
    let status = create(&mut app, with_rule("FREQ=FORTNIGHTLY;COUNT=0", "")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["meeting.title", "meeting.recurrence.rule", "meeting.recurrence.rule"]);
    let status = create(&mut app, with_rule("FREQ=WEEKLY;BYDAY=TU", "Not on a Tuesday")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["meeting.recurrence.rule"], "the start must be an occurrence");
    assert!(status.message().contains("occurrence"), "{status:?}");
    // Occurrence edits of a meeting that happens once are refused as such.
    let once = create(&mut app, meeting_at("Once", vec![ada.clone()], monday, HOUR)).await.unwrap();
    let status = app
        .client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: once.name.clone(),
            original_start_time: ts(monday),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(reason(&status), "NOT_A_SERIES");
    let weekly = series(&mut app, "Weekly", &ada, "Europe/Berlin", monday + 2 * HOUR, 60, "FREQ=WEEKLY;COUNT=4").await;
    let status = app
        .client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(monday + 2 * HOUR + DAY),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["original_start_time"], "a Tuesday is no occurrence of a Monday series");
}

async fn occurrences_conflict_like_meetings_and_a_cancelled_one_frees_its_slot(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let monday = local("Europe/Berlin", (2027, 1, 4), 9, 0);
    let weekly = series(&mut app, "Weekly", &ada, "Europe/Berlin", monday, 60, "FREQ=WEEKLY;COUNT=10").await;
    let third = monday + 14 * DAY;
    let status = create(&mut app, meeting_at("Clash", vec![ada.clone(), bea.clone()], third, HOUR)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&weekly.name));
    create(&mut app, meeting_at("A Tuesday", vec![ada.clone()], third + DAY, HOUR)).await.unwrap();
    // A series that would overlap another person's meeting on one of its occurrences is refused whole.
    let beas = create(&mut app, meeting_at("Bea's", vec![bea.clone()], monday + 21 * DAY, HOUR)).await.unwrap();
    let clash = app
        .client
        .create_meeting(CreateMeetingRequest {
            meeting: Some(Meeting {
                time_zone: "Europe/Berlin".into(),
                recurrence: Some(Recurrence { rule: "FREQ=WEEKLY;COUNT=5".into(), ..Default::default() }),
                ..meeting_at("Bea weekly", vec![bea.clone()], monday, HOUR)
            }),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(preconditions(&clash), [("MEETING_CONFLICT".to_owned(), bea.clone())]);
    assert!(clash.message().contains(&beas.name));
    app.client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(third),
            ..Default::default()
        })
        .ok()
        .await;
    create(&mut app, meeting_at("Now free", vec![ada.clone()], third, HOUR)).await.unwrap();
}

async fn moving_and_cancelling_one_occurrence_changes_only_it(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let monday = local("America/New_York", (2027, 3, 1), 9, 0);
    let weekly = series(&mut app, "Weekly", &ada, "America/New_York", monday, 60, "FREQ=WEEKLY;COUNT=4").await;
    let window = (monday - DAY, monday + 40 * DAY);
    let original: Vec<i64> = starts(&mut app, &weekly.name, window.0, window.1).await;
    let expected: Vec<i64> = (0..4).map(|w| local("America/New_York", (2027, 3, 1 + 7 * w), 9, 0)).collect();
    assert_eq!(original, expected, "US clocks change on 14 March: 9:00 local either side");

    // The second (8 March) moves to Tuesday 14:00.
    let tuesday = local("America/New_York", (2027, 3, 9), 14, 0);
    let moved = app
        .client
        .reschedule_occurrence(RescheduleOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(expected[1]),
            start_time: ts(tuesday),
            end_time: ts(tuesday + HOUR),
            ..Default::default()
        })
        .ok()
        .await
        .meeting
        .unwrap();
    let recurrence = moved.recurrence.clone().unwrap();
    assert_eq!(recurrence.moved_occurrences.len(), 1);
    assert_eq!(recurrence.moved_occurrences[0].original_start_time.map(|t| t.seconds), Some(expected[1]));
    assert_eq!(moved.sequence, 1);
    let listed = occurrences(&mut app, &weekly.name, window.0, window.1).await;
    let seen: Vec<(i64, i64, bool)> = listed
        .iter()
        .map(|o| (o.original_start_time.unwrap().seconds, o.start_time.unwrap().seconds, o.moved))
        .collect();
    assert_eq!(
        seen,
        [
            (expected[0], expected[0], false),
            (expected[1], tuesday, true),
            (expected[2], expected[2], false),
            (expected[3], expected[3], false)
        ]
    );
    // The third is cancelled; cancelling it again changes nothing.
    let cancel = CancelOccurrenceRequest {
        name: weekly.name.clone(),
        original_start_time: ts(expected[2]),
        ..Default::default()
    };
    let cancelled = app.client.cancel_occurrence(cancel.clone()).ok().await.meeting.unwrap();
    assert_eq!(
        cancelled.recurrence.unwrap().cancelled_occurrences.iter().map(|t| t.seconds).collect::<Vec<_>>(),
        [expected[2]]
    );
    let again = app.client.cancel_occurrence(cancel).ok().await.meeting.unwrap();
    assert_eq!(again.etag, cancelled.etag, "nothing changed");
    assert_eq!(starts(&mut app, &weekly.name, window.0, window.1).await, [expected[0], tuesday, expected[3]]);
    // A cancelled occurrence cannot be moved.
    let status = app
        .client
        .reschedule_occurrence(RescheduleOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(expected[2]),
            start_time: ts(tuesday + 7 * DAY),
            end_time: ts(tuesday + 7 * DAY + HOUR),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(reason(&status), "OCCURRENCE_CANCELLED");
    // Each edit is one entry of the feed: created, moved one, cancelled one (the feed is read up to a later meeting).
    let later = create(&mut app, meeting_at("Later", vec![ada.clone()], monday + 100 * DAY, HOUR)).await.unwrap();
    let changes = changes_through(&app, &later.name).await;
    assert_eq!(changes.iter().filter(|c| c.resource_name == weekly.name).count(), 3);
}

async fn this_and_following_splits_the_series_without_duplicating_or_losing_an_occurrence(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let zone = "Australia/Sydney";
    let monday = local(zone, (2027, 3, 1), 9, 0);
    let weekly = series(&mut app, "Weekly", &ada, zone, monday, 60, "FREQ=WEEKLY;COUNT=10").await;
    let window = (monday - DAY, monday + 100 * DAY);
    let before = starts(&mut app, &weekly.name, window.0, window.1).await;
    assert_eq!(before.len(), 10);
    // Cancel the 7th, then from the 5th on (after Sydney leaves summer time on 4 April) meet at 10:00.
    app.client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(before[6]),
            ..Default::default()
        })
        .ok()
        .await;
    let fifth_at_ten = local(zone, (2027, 3, 29), 10, 0);
    let split = app
        .client
        .split_series(SplitSeriesRequest {
            name: weekly.name.clone(),
            original_start_time: ts(before[4]),
            start_time: ts(fifth_at_ten),
            ..Default::default()
        })
        .ok()
        .await;
    let (ended, continued) = (split.ended.unwrap(), split.continued.unwrap());
    assert_eq!(ended.name, weekly.name);
    assert_ne!(continued.name, weekly.name);
    assert_eq!(continued.continues, weekly.name);
    assert_eq!(continued.participants, std::slice::from_ref(&ada));
    assert_eq!(starts(&mut app, &ended.name, window.0, window.1).await, before[..4]);
    let after = starts(&mut app, &continued.name, window.0, window.1).await;
    let expected: Vec<i64> = [28, 35, 49, 56, 63]
        .iter()
        .map(|days| {
            let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap() + Duration::days(*days);
            local(zone, (date.year(), date.month(), date.day()), 10, 0)
        })
        .collect();
    assert_eq!(after, expected, "the 5th, 6th, 8th, 9th and 10th at 10:00; the cancelled 7th stays cancelled");
    // Ada's participant view holds each once.
    let all = app
        .client
        .list_occurrences(ListOccurrencesRequest {
            participant: ada.clone(),
            window_start_time: ts(window.0),
            window_end_time: ts(window.1),
            ..Default::default()
        })
        .ok()
        .await
        .occurrences;
    assert_eq!(all.len(), 9);
    // The old times of the moved part are free; the new ones are taken.
    create(&mut app, meeting_at("Old slot", vec![ada.clone()], before[4], HOUR)).await.unwrap();
    let status = create(&mut app, meeting_at("New slot", vec![ada.clone()], expected[1], HOUR)).await.unwrap_err();
    assert_eq!(reason(&status), "MEETING_CONFLICT");
    // One change for the ended series, one for the new one (the feed is read up to a later meeting).
    let later = create(&mut app, meeting_at("Later", vec![ada.clone()], monday + 200 * DAY, HOUR)).await.unwrap();
    let changes = changes_through(&app, &later.name).await;
    assert_eq!(changes.iter().filter(|c| c.resource_name == weekly.name).count(), 3, "created, cancelled one, split");
    assert_eq!(changes.iter().filter(|c| c.resource_name == continued.name).count(), 1);
}

async fn moving_all_keeps_cancelled_and_moved_occurrences_and_cancelling_the_rest_ends_the_series(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let zone = "Europe/Berlin";
    let monday = local(zone, (2027, 3, 15), 9, 0);
    let weekly = series(&mut app, "Weekly", &ada, zone, monday, 60, "FREQ=WEEKLY;COUNT=6").await;
    let window = (monday - DAY, monday + 60 * DAY);
    let before = starts(&mut app, &weekly.name, window.0, window.1).await;
    app.client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(before[1]),
            ..Default::default()
        })
        .ok()
        .await;
    let friday = before[2] + 4 * DAY;
    app.client
        .reschedule_occurrence(RescheduleOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(before[2]),
            start_time: ts(friday),
            end_time: ts(friday + HOUR),
            ..Default::default()
        })
        .ok()
        .await;
    // All of them an hour later: 10:00 local, across the change of 28 March.
    let moved = app
        .client
        .reschedule_meeting(RescheduleMeetingRequest {
            name: weekly.name.clone(),
            start_time: ts(monday + HOUR),
            end_time: ts(monday + 2 * HOUR),
            ..Default::default()
        })
        .ok()
        .await
        .meeting
        .unwrap();
    assert_eq!(moved.start_time.map(|t| t.seconds), Some(monday + HOUR));
    let after = starts(&mut app, &weekly.name, window.0, window.1).await;
    assert_eq!(after, [before[0] + HOUR, friday, before[3] + HOUR, before[4] + HOUR, before[5] + HOUR]);
    // The rest from the 5th on is called off: the series ends with the 4th.
    let ended = app
        .client
        .cancel_meeting(CancelMeetingRequest {
            name: weekly.name.clone(),
            reason: "Project ends early".into(),
            from_original_start_time: ts(before[4] + HOUR),
            ..Default::default()
        })
        .ok()
        .await
        .meeting
        .unwrap();
    assert_eq!(ended.status, MeetingStatus::Scheduled as i32, "the earlier occurrences still happen");
    assert_eq!(starts(&mut app, &weekly.name, window.0, window.1).await, [before[0] + HOUR, friday, before[3] + HOUR]);
    assert_eq!(ended.recurrence.unwrap().last_end_time.map(|t| t.seconds), Some(before[3] + 2 * HOUR));
    create(&mut app, meeting_at("Freed", vec![ada.clone()], before[5] + HOUR, HOUR)).await.unwrap();
}

async fn an_exported_series_expands_in_an_independent_parser_exactly_as_listed(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let zone = "Europe/Berlin";
    let monday = local(zone, (2027, 3, 15), 9, 0);
    let weekly = series(&mut app, "Weekly", &ada, zone, monday, 60, "FREQ=WEEKLY;UNTIL=20270510").await;
    let window = (monday - DAY, monday + 70 * DAY);
    let listed = starts(&mut app, &weekly.name, window.0, window.1).await;
    app.client
        .cancel_occurrence(CancelOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(listed[3]),
            ..Default::default()
        })
        .ok()
        .await;
    app.client
        .reschedule_occurrence(RescheduleOccurrenceRequest {
            name: weekly.name.clone(),
            original_start_time: ts(listed[5]),
            start_time: ts(listed[5] + 3 * HOUR),
            end_time: ts(listed[5] + 4 * HOUR),
            ..Default::default()
        })
        .ok()
        .await;
    let ours: Vec<String> = occurrences(&mut app, &weekly.name, window.0, window.1)
        .await
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                crate::calendar::rfc3339(o.start_time.unwrap().seconds),
                crate::calendar::rfc3339(o.end_time.unwrap().seconds)
            )
        })
        .collect();
    assert_eq!(ours.len(), 8, "nine Mondays to 10 May, one cancelled");
    let ics = app
        .client
        .export_calendar(ExportCalendarRequest { meeting: weekly.name.clone(), ..Default::default() })
        .ok()
        .await
        .ics;
    assert!(ics.contains("RRULE:FREQ=WEEKLY;UNTIL="), "{ics}");
    assert!(ics.contains("EXDATE;TZID=Europe/Berlin:"), "{ics}");
    assert!(ics.contains("RECURRENCE-ID;TZID=Europe/Berlin:"), "{ics}");
    if let Some(theirs) = crate::calendar::oracle(&ics, window.0, window.1) {
        assert_eq!(theirs, ours);
    }
}
