//! FindMeetingTimes through a real client, with participants' zones and working hours from a real contacts server
//! and their busy times from meetings made with CreateMeeting.
use crate::meetings::{App, app};
use liaison_proto::contacts::v1::{Consent, Contact, CreateContactRequest, Weekday, WorkingHours};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::time::Instant;
use tonic::Code;
use tonic_types::StatusExt;

/// A contact in `zone` working 09:00–17:00 Monday to Friday.
async fn worker(app: &mut App, name: &str, zone: &str) -> String {
    let working_hours = [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
        .into_iter()
        .map(|day| WorkingHours { day: day as i32, start_time: "09:00".into(), end_time: "17:00".into() })
        .collect();
    let contact = Contact { display_name: name.into(), time_zone: zone.into(), working_hours, ..Default::default() };
    add(app, contact).await
}

async fn add(app: &mut App, contact: Contact) -> String {
    app.contacts
        .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
        .ok()
        .await
        .contact
        .unwrap()
        .name
}

fn at(rfc3339: &str) -> prost_types::Timestamp {
    let at: jiff::Timestamp = rfc3339.parse().unwrap();
    prost_types::Timestamp { seconds: at.as_second(), nanos: 0 }
}

fn text(at: &Option<prost_types::Timestamp>) -> String {
    let at = at.unwrap();
    jiff::Timestamp::from_second(at.seconds).unwrap().to_string()
}

fn minutes(minutes: i64) -> prost_types::Duration {
    prost_types::Duration { seconds: minutes * 60, nanos: 0 }
}

fn required(contact: &str) -> AttendeeRequest {
    AttendeeRequest { contact: contact.into(), optional: false }
}

fn optional(contact: &str) -> AttendeeRequest {
    AttendeeRequest { contact: contact.into(), optional: true }
}

/// A search of `participants` for `duration` minutes in `[from, to)`.
fn search(participants: Vec<AttendeeRequest>, duration: i64, from: &str, to: &str) -> FindMeetingTimesRequest {
    FindMeetingTimesRequest {
        participants,
        duration: Some(minutes(duration)),
        window_start_time: Some(at(from)),
        window_end_time: Some(at(to)),
        ..Default::default()
    }
}

async fn book(app: &mut App, participants: Vec<String>, from: &str, to: &str) {
    let meeting = Meeting {
        title: "Busy".into(),
        start_time: Some(at(from)),
        end_time: Some(at(to)),
        time_zone: "Europe/Berlin".into(),
        participants,
        ..Default::default()
    };
    app.client.create_meeting(CreateMeetingRequest { meeting: Some(meeting), ..Default::default() }).ok().await;
}

fn starts(candidates: &[MeetingTimeCandidate]) -> Vec<String> {
    candidates.iter().map(|c| text(&c.start_time)).collect()
}

fn availability(candidate: &MeetingTimeCandidate) -> Vec<(String, Availability)> {
    candidate.participants.iter().map(|p| (p.participant.clone(), p.availability())).collect()
}

on_both_databases!(
    three_zones_meet_only_in_their_overlap_across_a_daylight_saving_change,
    an_existing_meeting_removes_its_slot_and_its_participant_is_reported_busy,
    an_optional_participants_conflict_ranks_a_slot_lower_but_keeps_it,
    without_shared_working_hours_the_reason_names_who_is_outside_them,
    a_bad_search_names_every_bad_field_at_once,
    an_unknown_participant_is_refused_by_name_and_a_do_not_contact_one_is_flagged,
    with_contacts_down_a_search_is_unavailable_within_the_deadline,
);

async fn three_zones_meet_only_in_their_overlap_across_a_daylight_saving_change(engine: Engine) {
    let mut app = app(engine).await;
    let berlin = worker(&mut app, "Berta", "Europe/Berlin").await;
    let new_york = worker(&mut app, "Nora", "America/New_York").await;
    let tokyo = worker(&mut app, "Taro", "Asia/Tokyo").await;
    // Friday 12 to Monday 15 March 2027: New York moves to summer time on the 14th, Berlin only on the 28th. Berlin
    // works 08:00–16:00 UTC throughout, New York 14:00–22:00 UTC on Friday and 13:00–21:00 UTC on Monday; Tokyo
    // (00:00–08:00 UTC) never overlaps them, so as an optional participant it is outside its hours every time.
    let mut request = search(
        vec![required(&berlin), required(&new_york), optional(&tokyo)],
        60,
        "2027-03-12T00:00:00Z",
        "2027-03-16T00:00:00Z",
    );
    request.max_candidates = Some(100);
    let found = app.client.find_meeting_times(request).ok().await;
    assert!(found.empty_reasons.is_empty() && found.closest_misses.is_empty());
    assert_eq!(
        starts(&found.candidates),
        [
            "2027-03-12T14:00:00Z",
            "2027-03-12T14:15:00Z",
            "2027-03-12T14:30:00Z",
            "2027-03-12T14:45:00Z",
            "2027-03-12T15:00:00Z",
            "2027-03-15T13:00:00Z",
            "2027-03-15T13:15:00Z",
            "2027-03-15T13:30:00Z",
            "2027-03-15T13:45:00Z",
            "2027-03-15T14:00:00Z",
            "2027-03-15T14:15:00Z",
            "2027-03-15T14:30:00Z",
            "2027-03-15T14:45:00Z",
            "2027-03-15T15:00:00Z",
        ]
    );
    for candidate in &found.candidates {
        assert_eq!(candidate.end_time.unwrap().seconds - candidate.start_time.unwrap().seconds, 3600);
        assert!(candidate.all_required_free);
        assert_eq!((candidate.optional_conflicts, candidate.attendance_percent), (1, 66));
        assert_eq!(candidate.confidence, 1.0);
        assert_eq!(
            availability(candidate),
            [
                (berlin.clone(), Availability::Free),
                (new_york.clone(), Availability::Free),
                (tokyo.clone(), Availability::OutsideWorkingHours),
            ]
        );
    }
    // The organiser's own hours, 09:00–10:00 in New York, are 14:00 UTC on the Friday and 13:00 UTC on the Monday.
    let mut request =
        search(vec![required(&berlin), required(&new_york)], 60, "2027-03-12T00:00:00Z", "2027-03-16T00:00:00Z");
    request.time_zone = "America/New_York".into();
    request.earliest_local_time = "09:00".into();
    request.latest_local_time = "10:00".into();
    let found = app.client.find_meeting_times(request).ok().await;
    assert_eq!(starts(&found.candidates), ["2027-03-12T14:00:00Z", "2027-03-15T13:00:00Z"]);
}

async fn an_existing_meeting_removes_its_slot_and_its_participant_is_reported_busy(engine: Engine) {
    let mut app = app(engine).await;
    let berlin = worker(&mut app, "Berta", "Europe/Berlin").await;
    let new_york = worker(&mut app, "Nora", "America/New_York").await;
    // On Wednesday 13 January 2027 they share 14:00–16:00 UTC; Berta is taken 13:30–15:00.
    book(&mut app, vec![berlin.clone()], "2027-01-13T13:30:00Z", "2027-01-13T15:00:00Z").await;
    let participants = vec![required(&berlin), required(&new_york)];
    let day = search(participants.clone(), 60, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let found = app.client.find_meeting_times(day).ok().await;
    assert_eq!(starts(&found.candidates), ["2027-01-13T15:00:00Z"]);
    assert_eq!(
        availability(&found.candidates[0]),
        [(berlin.clone(), Availability::Free), (new_york.clone(), Availability::Free)]
    );

    // Two hours fit only at 14:00, where Berta is busy (with a meeting that began before the window).
    let two_hours = search(participants, 120, "2027-01-13T14:00:00Z", "2027-01-13T16:00:00Z");
    let missed = app.client.find_meeting_times(two_hours).ok().await;
    assert!(missed.candidates.is_empty());
    assert_eq!(missed.empty_reasons.len(), 1);
    assert_eq!(missed.empty_reasons[0].kind(), NoSlotReasonKind::RequiredUnavailable);
    assert_eq!(missed.empty_reasons[0].participants, std::slice::from_ref(&berlin));
    assert_eq!(starts(&missed.closest_misses), ["2027-01-13T14:00:00Z"]);
    let miss = &missed.closest_misses[0];
    assert!(!miss.all_required_free);
    assert_eq!(availability(miss), [(berlin, Availability::Busy), (new_york, Availability::Free)]);
}

async fn an_optional_participants_conflict_ranks_a_slot_lower_but_keeps_it(engine: Engine) {
    let mut app = app(engine).await;
    let berlin = worker(&mut app, "Berta", "Europe/Berlin").await;
    let new_york = worker(&mut app, "Nora", "America/New_York").await;
    let lisa = worker(&mut app, "Lisa", "Europe/Berlin").await;
    book(&mut app, vec![lisa.clone()], "2027-01-13T14:00:00Z", "2027-01-13T15:00:00Z").await;
    let request = search(
        vec![required(&berlin), optional(&lisa), required(&new_york)],
        60,
        "2027-01-13T00:00:00Z",
        "2027-01-14T00:00:00Z",
    );
    let found = app.client.find_meeting_times(request).ok().await;
    // 15:00 suits everyone and comes first; the slots Lisa cannot make stay, after it.
    assert_eq!(
        starts(&found.candidates),
        [
            "2027-01-13T15:00:00Z",
            "2027-01-13T14:00:00Z",
            "2027-01-13T14:15:00Z",
            "2027-01-13T14:30:00Z",
            "2027-01-13T14:45:00Z"
        ]
    );
    let conflicts: Vec<(i32, i32)> =
        found.candidates.iter().map(|c| (c.optional_conflicts, c.attendance_percent)).collect();
    assert_eq!(conflicts, [(0, 100), (1, 66), (1, 66), (1, 66), (1, 66)]);
    assert!(found.candidates.iter().all(|c| c.all_required_free));
    assert_eq!(availability(&found.candidates[1])[1], (lisa.clone(), Availability::Busy));
    assert_eq!(availability(&found.candidates[0])[1], (lisa, Availability::Free));
}

async fn without_shared_working_hours_the_reason_names_who_is_outside_them(engine: Engine) {
    let mut app = app(engine).await;
    let berlin = worker(&mut app, "Berta", "Europe/Berlin").await;
    let new_york = worker(&mut app, "Nora", "America/New_York").await;
    let tokyo = worker(&mut app, "Taro", "Asia/Tokyo").await;
    let request = search(
        vec![required(&berlin), required(&new_york), required(&tokyo)],
        60,
        "2027-01-13T00:00:00Z",
        "2027-01-14T00:00:00Z",
    );
    let missed = app.client.find_meeting_times(request).ok().await;
    assert!(missed.candidates.is_empty());
    assert_eq!(missed.empty_reasons.len(), 1, "{:?}", missed.empty_reasons);
    let reason = &missed.empty_reasons[0];
    assert_eq!(reason.kind(), NoSlotReasonKind::OutsideWorkingHours);
    // Each is outside their hours at 64 of the 93 starts: a tie, in request order.
    assert_eq!(reason.participants, [berlin, new_york, tokyo]);
    assert!(!missed.closest_misses.is_empty());
    assert!(missed.closest_misses.iter().all(|c| !c.all_required_free));

    // A window the duration does not fit on the grid.
    let mut short = search(vec![required(&reason.participants[0])], 60, "2027-01-13T09:07:00Z", "2027-01-13T10:07:00Z");
    short.step = Some(minutes(15));
    let missed = app.client.find_meeting_times(short).ok().await;
    assert_eq!(missed.empty_reasons[0].kind(), NoSlotReasonKind::WindowTooShort);
    assert!(missed.closest_misses.is_empty());
}

async fn a_bad_search_names_every_bad_field_at_once(engine: Engine) {
    let mut app = app(engine).await;
    let ada = worker(&mut app, "Ada", "Europe/Berlin").await;
    let request = FindMeetingTimesRequest {
        participants: vec![required(&ada), optional(&ada), required("contacts/nope")],
        duration: None,
        window_start_time: Some(at("2027-01-14T00:00:00Z")),
        window_end_time: Some(at("2027-01-13T00:00:00Z")),
        time_zone: "Mars/Olympus".into(),
        earliest_local_time: "9am".into(),
        latest_local_time: "24:30".into(),
        min_attendance_percent: 101,
        max_candidates: Some(0),
        step: Some(minutes(1)),
    };
    let status = app.client.find_meeting_times(request).err().await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> =
        status.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect();
    assert_eq!(
        fields,
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
    let nobody = search(Vec::new(), 60, "2027-01-13T00:00:00Z", "2027-01-13T00:30:00Z");
    let status = app.client.find_meeting_times(nobody).err().await;
    let fields: Vec<String> =
        status.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect();
    assert_eq!(fields, ["participants", "duration"]);

    // Counted before any is read: one violation for the list, none per item.
    let crowd = search(vec![required(""); 20_000], 60, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let status = app.client.find_meeting_times(crowd).err().await;
    let violations = status.get_error_details().bad_request().unwrap().field_violations.clone();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "participants");
    assert!(violations[0].description.contains("at most 200 items (got 20000)"), "{violations:?}");
}

async fn an_unknown_participant_is_refused_by_name_and_a_do_not_contact_one_is_flagged(engine: Engine) {
    let mut app = app(engine).await;
    let ada = worker(&mut app, "Ada", "Europe/Berlin").await;
    let private = add(
        &mut app,
        Contact {
            display_name: "Private Person".into(),
            consent: Some(Consent { do_not_contact: true, ..Default::default() }),
            ..Default::default()
        },
    )
    .await;
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead".to_owned();
    let request = search(vec![required(&ada), optional(&ghost)], 60, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let status = app.client.find_meeting_times(request).err().await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(&ghost));
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    let named: Vec<(String, String)> = failure.violations.into_iter().map(|v| (v.r#type, v.subject)).collect();
    assert_eq!(named, [("PARTICIPANT_NOT_FOUND".to_owned(), ghost)]);

    // Finding a time invites nobody: someone who asked not to be contacted is searched for, and flagged. With no
    // zone their working hours are unknown, so they count as attending at lower confidence.
    let request = search(vec![required(&ada), required(&private)], 60, "2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z");
    let found = app.client.find_meeting_times(request).ok().await;
    assert_eq!(found.do_not_contact_participants, std::slice::from_ref(&private));
    assert_eq!(starts(&found.candidates), ["2027-01-13T09:00:00Z"]);
    assert_eq!(availability(&found.candidates[0])[1], (private, Availability::Unknown));
    assert!(found.candidates[0].confidence < 1.0);
}

async fn with_contacts_down_a_search_is_unavailable_within_the_deadline(engine: Engine) {
    let mut app = app(engine).await;
    let ada = worker(&mut app, "Ada", "Europe/Berlin").await;
    app.contacts_server.take().unwrap().stop().await.unwrap();
    let mut patient_client = SchedulingServiceClient::new(liaison_testkit::patient_channel(&app.server));
    let started = Instant::now();
    let request = search(vec![required(&ada)], 60, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
    let status = patient_client.find_meeting_times(request).err().await;
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.get_error_details().retry_info().is_some());
    assert!(elapsed < liaison_testkit::test_calls().call_timeout * 2, "took {elapsed:?}");
}
