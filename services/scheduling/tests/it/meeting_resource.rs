//! The full meeting resource: attendees (required or optional, with their answers), organiser, agenda, place,
//! buffers, status and links — stored, read back, checked for conflicts and filtered in lists.
use crate::meetings::{App, app, bad_fields, changes_through, create, meeting_at, person, preconditions};
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use prost::Message;

on_both_databases!(
    a_meeting_with_every_field_round_trips_through_create_get_list_and_the_feed,
    an_optional_attendee_conflict_never_refuses_a_booking_but_a_required_one_does,
    buffers_make_a_meeting_inside_another_meetings_buffer_conflict,
    a_tentative_hold_blocks_a_booking_and_shows_as_tentative_when_finding_times,
    bad_new_fields_are_all_named_at_once,
    meetings_list_by_participant_window_status_and_link_and_tokens_are_bound_to_the_filter,
);

fn attendee(contact: &str, optional: bool) -> Attendee {
    Attendee { contact: contact.into(), optional, ..Default::default() }
}

fn minutes(minutes: i64) -> prost_types::Duration {
    prost_types::Duration { seconds: minutes * 60, nanos: 0 }
}

/// A meeting of `attendees` from `start` (Unix seconds) lasting an hour.
fn with_attendees(title: &str, attendees: Vec<Attendee>, start: i64) -> Meeting {
    Meeting { attendees, ..meeting_at(title, vec![], start, 3600) }
}

async fn list(app: &mut App, request: ListMeetingsRequest) -> Vec<String> {
    app.client.list_meetings(request).ok().await.meetings.into_iter().map(|m| m.title).collect()
}

async fn a_meeting_with_every_field_round_trips_through_create_get_list_and_the_feed(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bea = person(&mut app, "Bea").await;
    let cal = person(&mut app, "Cal").await;
    let dan = person(&mut app, "Dan").await;
    let full = Meeting {
        objectives: "Agree the budget.\nName an owner.".into(),
        organizer: cal.clone(),
        attendees: vec![
            Attendee { comment: "Joining from the train".into(), ..attendee(&ada, false) },
            attendee(&bea, true),
        ],
        location: "Room 4, Harbour House".into(),
        video_link: "https://meet.example.org/abc-def?pwd=1".into(),
        agenda: vec![
            AgendaItem { topic: "Budget".into(), owner: ada.clone(), minutes: 30 },
            AgendaItem { topic: "Owners".into(), owner: dan.clone(), minutes: 20 },
        ],
        buffer_before: Some(minutes(10)),
        buffer_after: Some(minutes(5)),
        status: MeetingStatus::Tentative as i32,
        links: vec!["cases/0193-abc".into(), "projects/p1/tasks/t2".into()],
        ..meeting_at("Budget", vec![], 1_950_000_000, 3600)
    };
    let created = create(&mut app, full.clone()).await.unwrap();
    assert_eq!(created.title, "Budget");
    assert_eq!(created.objectives, full.objectives);
    assert_eq!(created.organizer, cal);
    // The organiser, not among the attendees, is added as a required attendee who has accepted.
    let answers: Vec<(String, bool, i32, String)> =
        created.attendees.iter().map(|a| (a.contact.clone(), a.optional, a.rsvp, a.comment.clone())).collect();
    assert_eq!(
        answers,
        [
            (ada.clone(), false, ResponseStatus::NeedsAction as i32, "Joining from the train".to_owned()),
            (bea.clone(), true, ResponseStatus::NeedsAction as i32, String::new()),
            (cal.clone(), false, ResponseStatus::Accepted as i32, String::new()),
        ]
    );
    assert_eq!(created.participants, [ada.clone(), bea.clone(), cal.clone()], "participants list every attendee");
    assert_eq!(created.location, full.location);
    assert_eq!(created.video_link, full.video_link);
    assert_eq!(created.agenda, full.agenda);
    assert_eq!((created.buffer_before, created.buffer_after), (full.buffer_before, full.buffer_after));
    assert_eq!(created.status, MeetingStatus::Tentative as i32);
    assert_eq!(created.links, full.links);

    let fetched = app.client.get_meeting(GetMeetingRequest { name: created.name.clone() }).ok().await;
    assert_eq!(fetched.meeting.as_ref(), Some(&created));
    let listed = app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings;
    assert_eq!(listed, std::slice::from_ref(&created));
    let changes = changes_through(&app, &created.name).await;
    let carried = Meeting::decode(&changes[0].resource.as_ref().unwrap().value[..]).unwrap();
    assert_eq!(carried, created, "the change carries the whole meeting");

    // A meeting made with `participants` only: every one required, scheduled, nothing else set.
    let plain = create(&mut app, meeting_at("Plain", vec![dan.clone()], 1_950_100_000, 3600)).await.unwrap();
    assert_eq!(plain.attendees, [Attendee { rsvp: ResponseStatus::NeedsAction as i32, ..attendee(&dan, false) }]);
    assert_eq!(plain.status, MeetingStatus::Scheduled as i32);
    assert_eq!((plain.buffer_before, plain.buffer_after), (None, None));
}

async fn an_optional_attendee_conflict_never_refuses_a_booking_but_a_required_one_does(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bea = person(&mut app, "Bea").await;
    const AT: i64 = 1_950_200_000;
    let busy = create(&mut app, meeting_at("Ada's", vec![ada.clone()], AT, 3600)).await.unwrap();
    // Ada is busy, but optional here: booked.
    create(&mut app, with_attendees("Ada optional", vec![attendee(&bea, false), attendee(&ada, true)], AT))
        .await
        .unwrap();
    // Ada required: refused, naming her and her meeting.
    let status = create(&mut app, with_attendees("Ada required", vec![attendee(&ada, false)], AT)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&busy.name), "{status:?}");
    // An optional attendee is not kept busy by the meeting either: Ada is free where she was only optional.
    const LATER: i64 = AT + 7200;
    create(&mut app, with_attendees("Bea's", vec![attendee(&bea, false), attendee(&ada, true)], LATER)).await.unwrap();
    create(&mut app, meeting_at("Ada free", vec![ada.clone()], LATER, 3600)).await.unwrap();
    let status = create(&mut app, meeting_at("Bea busy", vec![bea.clone()], LATER, 3600)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), bea)]);
}

async fn buffers_make_a_meeting_inside_another_meetings_buffer_conflict(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    const AT: i64 = 1_950_300_000;
    let first = Meeting { buffer_after: Some(minutes(15)), ..meeting_at("First", vec![ada.clone()], AT, 3600) };
    let first = create(&mut app, first).await.unwrap();
    // Ten minutes after the end: inside its 15-minute buffer.
    let status = create(&mut app, meeting_at("Too soon", vec![ada.clone()], AT + 3600 + 600, 1800)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&first.name), "{status:?}");
    // A meeting's own buffer before counts too: starting 30 minutes after, with 20 minutes before it.
    let own =
        Meeting { buffer_before: Some(minutes(20)), ..meeting_at("Own buffer", vec![ada.clone()], AT + 5400, 600) };
    assert_eq!(preconditions(&create(&mut app, own).await.unwrap_err()).len(), 1);
    // Right at the buffer's end: booked.
    create(&mut app, meeting_at("In time", vec![ada.clone()], AT + 3600 + 900, 1800)).await.unwrap();
    // And a buffer before keeps the time before the meeting busy.
    let second =
        Meeting { buffer_before: Some(minutes(30)), ..meeting_at("Second", vec![ada.clone()], AT + 20_000, 600) };
    create(&mut app, second).await.unwrap();
    let status =
        create(&mut app, meeting_at("Just before", vec![ada.clone()], AT + 20_000 - 1200, 600)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada)]);
}

async fn a_tentative_hold_blocks_a_booking_and_shows_as_tentative_when_finding_times(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    const AT: i64 = 1_950_400_800; // a whole hour
    let hold = Meeting { status: MeetingStatus::Tentative as i32, ..meeting_at("Hold", vec![ada.clone()], AT, 3600) };
    let hold = create(&mut app, hold).await.unwrap();
    let status = create(&mut app, meeting_at("Clash", vec![ada.clone()], AT + 900, 1800)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&hold.name) && status.message().contains("tentative"), "{status:?}");

    let found = app
        .client
        .find_meeting_times(FindMeetingTimesRequest {
            participants: vec![AttendeeRequest { contact: ada.clone(), optional: false }],
            duration: Some(minutes(60)),
            window_start_time: Some(prost_types::Timestamp { seconds: AT, nanos: 0 }),
            window_end_time: Some(prost_types::Timestamp { seconds: AT + 3600, nanos: 0 }),
            ..Default::default()
        })
        .ok()
        .await;
    let slot = found.candidates.iter().chain(&found.closest_misses).next().expect("the one slot");
    assert_eq!(slot.participants[0].availability, Availability::Tentative as i32, "{found:?}");
}

async fn bad_new_fields_are_all_named_at_once(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bad = Meeting {
        attendees: vec![attendee(&ada, false)],
        video_link: "http://meet.example.org/abc".into(),
        agenda: vec![
            AgendaItem { topic: "Long".into(), owner: String::new(), minutes: 45 },
            AgendaItem { topic: "Longer".into(), owner: String::new(), minutes: 30 },
        ],
        buffer_after: Some(minutes(5 * 60)),
        status: MeetingStatus::Cancelled as i32,
        links: (0..21).map(|i| format!("cases/{i}")).collect(),
        ..meeting_at("Bad", vec![ada.clone()], 1_950_500_000, 3600)
    };
    assert_eq!(
        bad_fields(&create(&mut app, bad).await.unwrap_err()),
        [
            "meeting.attendees",
            "meeting.video_link",
            "meeting.buffer_after",
            "meeting.status",
            "meeting.links",
            "meeting.agenda"
        ]
    );
    let bad = Meeting {
        attendees: vec![attendee(&ada, false), attendee("contacts/x", true), attendee(&ada, true)],
        organizer: "meetings/x".into(),
        agenda: vec![AgendaItem { topic: " ".into(), owner: "nobody".into(), minutes: 0 }],
        links: vec!["cases".into(), "Cases/1".into(), "cases/1".into(), "cases/1".into()],
        ..meeting_at("Bad", vec![], 1_950_500_000, 3600)
    };
    assert_eq!(
        bad_fields(&create(&mut app, bad).await.unwrap_err()),
        [
            "meeting.attendees[1].contact",
            "meeting.attendees[2].contact",
            "meeting.organizer",
            "meeting.agenda[0].topic",
            "meeting.agenda[0].owner",
            "meeting.agenda[0].minutes",
            "meeting.links[0]",
            "meeting.links[1]",
            "meeting.links[3]"
        ]
    );
    // An unknown agenda owner is refused by contacts, like an unknown attendee.
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead".to_owned();
    let owned = Meeting {
        agenda: vec![AgendaItem { topic: "Ghost's".into(), owner: ghost.clone(), minutes: 10 }],
        ..meeting_at("Owned", vec![ada], 1_950_500_000, 3600)
    };
    assert_eq!(
        preconditions(&create(&mut app, owned).await.unwrap_err()),
        [("PARTICIPANT_NOT_FOUND".to_owned(), ghost)]
    );
    assert!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.is_empty());
}

async fn meetings_list_by_participant_window_status_and_link_and_tokens_are_bound_to_the_filter(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bea = person(&mut app, "Bea").await;
    const T: i64 = 1_950_600_000;
    let linked = |title: &str, attendees: Vec<Attendee>, start: i64, status: MeetingStatus, link: &str| Meeting {
        status: status as i32,
        links: vec![link.into()],
        ..with_attendees(title, attendees, start)
    };
    let scheduled = MeetingStatus::Scheduled;
    create(&mut app, linked("M1", vec![attendee(&ada, false), attendee(&bea, true)], T, scheduled, "cases/1"))
        .await
        .unwrap();
    create(&mut app, linked("M2", vec![attendee(&bea, false)], T + 7200, MeetingStatus::Tentative, "cases/2"))
        .await
        .unwrap();
    create(&mut app, linked("M3", vec![attendee(&ada, false)], T + 14_400, scheduled, "projects/9")).await.unwrap();
    let at = |seconds: i64| Some(prost_types::Timestamp { seconds, nanos: 0 });

    let by_ada = ListMeetingsRequest { participant: ada.clone(), ..Default::default() };
    assert_eq!(list(&mut app, by_ada.clone()).await, ["M1", "M3"]);
    let by_bea = ListMeetingsRequest { participant: bea.clone(), ..Default::default() };
    assert_eq!(list(&mut app, by_bea.clone()).await, ["M1", "M2"], "optional attendees are participants too");
    let window = ListMeetingsRequest { start_after: at(T + 3600), end_before: at(T + 7201), ..Default::default() };
    assert_eq!(list(&mut app, window).await, ["M2"], "touching ends are outside the window");
    assert_eq!(
        list(&mut app, ListMeetingsRequest { start_after: at(T + 3000), ..Default::default() }).await,
        ["M1", "M2", "M3"]
    );
    assert_eq!(list(&mut app, ListMeetingsRequest { end_before: at(T + 7200), ..Default::default() }).await, ["M1"]);
    let tentative = ListMeetingsRequest { status: MeetingStatus::Tentative as i32, ..Default::default() };
    assert_eq!(list(&mut app, tentative).await, ["M2"]);
    assert_eq!(list(&mut app, ListMeetingsRequest { link: "cases/1".into(), ..Default::default() }).await, ["M1"]);
    let both = ListMeetingsRequest { participant: bea.clone(), status: scheduled as i32, ..Default::default() };
    assert_eq!(list(&mut app, both).await, ["M1"], "filters combine with AND");
    let cancelled = ListMeetingsRequest { status: MeetingStatus::Cancelled as i32, ..Default::default() };
    assert!(list(&mut app, cancelled).await.is_empty());

    // A page token continues its own filter and is refused with another.
    let first = app.client.list_meetings(ListMeetingsRequest { page_size: Some(1), ..by_ada.clone() }).ok().await;
    assert_eq!(first.meetings[0].title, "M1");
    let next = ListMeetingsRequest { page_size: Some(1), page_token: first.next_page_token.clone(), ..by_ada };
    assert_eq!(app.client.list_meetings(next).ok().await.meetings[0].title, "M3");
    let other = ListMeetingsRequest { page_size: Some(1), page_token: first.next_page_token, ..by_bea };
    assert_eq!(bad_fields(&app.client.list_meetings(other).err().await), ["page_token"]);

    let bad = ListMeetingsRequest {
        participant: "meetings/x".into(),
        start_after: at(T),
        end_before: at(T),
        status: 42,
        link: "nope".into(),
        ..Default::default()
    };
    assert_eq!(bad_fields(&app.client.list_meetings(bad).err().await), ["participant", "end_before", "status", "link"]);
}
