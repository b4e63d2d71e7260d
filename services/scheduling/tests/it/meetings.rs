use liaison_contacts::Contacts;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{Contact, CreateContactRequest};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::config::Peers;
use liaison_runtime::service::Running;
use liaison_scheduling::Scheduling;
use liaison_testkit::{Call, Engine, TestDatabase, channel, eventually, on_both_databases, spawn};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) struct App {
    pub(crate) contacts: ContactsServiceClient<Channel>,
    pub(crate) client: SchedulingServiceClient<Channel>,
    pub(crate) contacts_server: Option<Running>,
    pub(crate) server: Running,
    _databases: (TestDatabase, TestDatabase),
}

pub(crate) async fn app(engine: Engine) -> App {
    let contacts_db = TestDatabase::new(engine).await.unwrap();
    let scheduling_db = TestDatabase::new(engine).await.unwrap();
    let contacts_server = spawn::<Contacts>(&contacts_db, Peers::default()).await;
    let peers = Peers { contacts: Some(contacts_server.url()), ..Default::default() };
    let server = spawn::<Scheduling>(&scheduling_db, peers).await;
    App {
        contacts: ContactsServiceClient::new(channel(&contacts_server)),
        client: SchedulingServiceClient::new(channel(&server)),
        contacts_server: Some(contacts_server),
        server,
        _databases: (contacts_db, scheduling_db),
    }
}

pub(crate) async fn person(app: &mut App, name: &str) -> String {
    app.contacts
        .create_contact(CreateContactRequest {
            contact: Some(Contact { display_name: name.into(), ..Default::default() }),
            request_id: String::new(),
        })
        .ok()
        .await
        .contact
        .unwrap()
        .name
}

/// A one-hour meeting in a slot of its own: every call takes the next hour, so meetings made by one test never
/// conflict unless the test means them to (see [`meeting_at`]).
fn meeting(title: &str, participants: Vec<String>) -> Meeting {
    static NEXT_HOUR: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let hour = NEXT_HOUR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    meeting_at(title, participants, 1_800_000_000 + hour * 3600, 3600)
}

/// A meeting from `start` (Unix seconds) lasting `seconds`.
pub(crate) fn meeting_at(title: &str, participants: Vec<String>, start: i64, seconds: i64) -> Meeting {
    Meeting {
        title: title.into(),
        start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
        end_time: Some(prost_types::Timestamp { seconds: start + seconds, nanos: 0 }),
        time_zone: "Africa/Nairobi".into(),
        participants,
        ..Default::default()
    }
}

pub(crate) async fn create(app: &mut App, meeting: Meeting) -> Result<Meeting, tonic::Status> {
    app.client
        .create_meeting(CreateMeetingRequest {
            meeting: Some(meeting),
            request_id: String::new(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().meeting.unwrap())
}

/// Every change of the scheduling feed, once at least `count` changes of `name` (the resource changed last) are
/// served: the feed serves changes in commit order, so everything written before them is there too.
pub(crate) async fn changes_counting(app: &App, name: &str, count: usize) -> Vec<liaison_proto::common::v1::Change> {
    eventually(Duration::from_secs(10), "the last change", || {
        let mut feed = liaison_testkit::feed(&app.server);
        async move {
            let changes =
                feed.list_changes(ListChangesRequest { after_sequence: 0, page_size: Some(1000) }).ok().await.changes;
            (changes.iter().filter(|c| c.resource_name == name).count() >= count).then_some(changes)
        }
    })
    .await
}

/// Every change of the scheduling feed, once `last` (the name of the newest meeting) is served.
pub(crate) async fn changes_through(app: &App, last: &str) -> Vec<liaison_proto::common::v1::Change> {
    eventually(Duration::from_secs(10), "the last change", || {
        let mut feed = liaison_testkit::feed(&app.server);
        async move {
            let changes =
                feed.list_changes(ListChangesRequest { after_sequence: 0, page_size: Some(1000) }).ok().await.changes;
            changes.iter().any(|c| c.resource_name == last).then_some(changes)
        }
    })
    .await
}

pub(crate) fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect()
}

on_both_databases!(
    a_meeting_with_known_participants_is_created_and_read_back,
    meetings_list_in_creation_order_over_three_pages,
    an_unknown_participant_is_refused_by_name_and_nothing_is_written,
    with_contacts_down_a_meeting_is_unavailable_within_the_deadline_and_not_written,
    twenty_concurrent_creates_with_one_request_id_make_one_meeting,
    a_retried_create_returns_its_meeting_even_with_contacts_down,
    bad_meetings_name_every_field,
    deleted_and_merged_participants_are_refused_by_name_and_nothing_is_written,
    a_do_not_contact_participant_needs_the_override_and_is_then_flagged,
    an_overlapping_booking_names_each_conflict_and_allow_conflicts_books_anyway,
    of_many_racing_bookings_of_one_person_for_one_slot_exactly_one_succeeds,
    a_meeting_of_two_hundred_large_contacts_is_checked_and_booked,
);

async fn a_meeting_of_two_hundred_large_contacts_is_checked_and_booked(engine: Engine) {
    let mut app = app(engine).await;
    // 30 KB of notes each: 6 MB for the 200 together, more than one answer of contacts may carry (4 MiB).
    let notes = "€".repeat(10_000);
    let creates = (0..200).map(|i| {
        let mut contacts = app.contacts.clone();
        let contact = Contact { display_name: format!("Delegate {i}"), notes: notes.clone(), ..Default::default() };
        async move {
            let request = CreateContactRequest { contact: Some(contact), request_id: String::new() };
            contacts.create_contact(request).await.unwrap().into_inner().contact.unwrap().name
        }
    });
    use futures::StreamExt;
    let participants: Vec<String> = futures::stream::iter(creates).buffered(8).collect().await;
    let booked = create(&mut app, meeting("Assembly", participants.clone())).await.expect("booked");
    assert_eq!(booked.participants, participants);
}

async fn a_meeting_with_known_participants_is_created_and_read_back(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bob = person(&mut app, "Bob").await;
    let created = create(&mut app, meeting("Kick-off", vec![bob.clone(), ada.clone()])).await.unwrap();
    assert!(created.name.starts_with("meetings/"));
    assert_eq!(created.participants, [bob, ada]);
    assert_eq!(created.time_zone, "Africa/Nairobi");
    let fetched = app.client.get_meeting(GetMeetingRequest { name: created.name.clone() }).ok().await;
    assert_eq!(fetched.meeting, Some(created.clone()));
    let changes = changes_through(&app, &created.name).await;
    assert_eq!(changes.len(), 1);
    let status = app
        .client
        .get_meeting(GetMeetingRequest { name: "meetings/01a20000-0000-7000-8000-000000000000".into() })
        .err()
        .await;
    assert_eq!(status.code(), Code::NotFound);
}

async fn meetings_list_in_creation_order_over_three_pages(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create(&mut app, meeting(&format!("M{i}"), vec![ada.clone()])).await.unwrap().name);
    }
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = app
            .client
            .list_meetings(ListMeetingsRequest { page_size: Some(2), page_token: token, ..Default::default() })
            .ok()
            .await;
        pages += 1;
        assert!(page.meetings.iter().all(|m| m.participants == [ada.clone()]));
        listed.extend(page.meetings.into_iter().map(|m| m.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((pages, listed), (3, created));
    let status = app
        .client
        .list_meetings(ListMeetingsRequest { page_size: Some(2), page_token: "AAAA".into(), ..Default::default() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn an_unknown_participant_is_refused_by_name_and_nothing_is_written(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let ghost = "contacts/01a20000-0000-7000-8000-00000000dead".to_owned();
    let status = create(&mut app, meeting("Ghost", vec![ada.clone(), ghost.clone()])).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains(&ghost));
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    assert_eq!(failure.violations.len(), 1);
    assert_eq!(failure.violations[0].subject, ghost);
    assert!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.is_empty());
    let ok = create(&mut app, meeting("Real", vec![ada])).await.unwrap();
    let changes = changes_through(&app, &ok.name).await;
    assert_eq!(changes.len(), 1, "the refused meeting left no change");
}

async fn with_contacts_down_a_meeting_is_unavailable_within_the_deadline_and_not_written(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    app.contacts_server.take().unwrap().stop().await.unwrap();
    let mut patient_client = SchedulingServiceClient::new(liaison_testkit::patient_channel(&app.server));
    let started = Instant::now();
    let request = CreateMeetingRequest {
        meeting: Some(meeting("Offline", vec![ada])),
        request_id: String::new(),
        ..Default::default()
    };
    let status = patient_client.create_meeting(request).err().await;
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.get_error_details().retry_info().is_some());
    // The deadline of the contacts call is 1.5 s in tests; the answer comes within it (plus scheduling slack).
    assert!(elapsed < liaison_testkit::test_calls().call_timeout * 2, "took {elapsed:?}");
    assert!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.is_empty());
    let changes = liaison_testkit::feed(&app.server).list_changes(ListChangesRequest::default()).ok().await;
    assert!(changes.changes.is_empty());
}

async fn twenty_concurrent_creates_with_one_request_id_make_one_meeting(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let request = CreateMeetingRequest {
        meeting: Some(meeting("Once", vec![ada])),
        request_id: "meeting-42".into(),
        ..Default::default()
    };
    let calls = (0..20).map(|_| {
        let mut client = app.client.clone();
        let request = request.clone();
        async move { client.create_meeting(request).await.map(|r| r.into_inner().meeting.unwrap().name) }
    });
    let names: Vec<String> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    assert!(names.iter().all(|n| n == &names[0]));
    let listed = app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings;
    assert_eq!(listed.len(), 1);
    assert_eq!(changes_through(&app, &names[0]).await.len(), 1);
}

async fn a_retried_create_returns_its_meeting_even_with_contacts_down(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let request = CreateMeetingRequest {
        meeting: Some(meeting("Retried", vec![ada])),
        request_id: "retry-1".into(),
        ..Default::default()
    };
    let first = app.client.create_meeting(request.clone()).ok().await.meeting.unwrap();
    let again = app.client.create_meeting(request.clone()).ok().await.meeting.unwrap();
    assert_eq!(again, first, "a replay while contacts is up");
    app.contacts_server.take().unwrap().stop().await.unwrap();
    // Scheduling retries the unreachable contacts service for its whole call deadline before it looks for the
    // replay, so this caller waits longer than that deadline.
    let mut patient_client = SchedulingServiceClient::new(liaison_testkit::patient_channel(&app.server));
    let offline = patient_client.create_meeting(request).ok().await.meeting.unwrap();
    assert_eq!(offline, first, "a replay while contacts is down");
    let listed = app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings;
    assert_eq!(listed.len(), 1);
}

async fn bad_meetings_name_every_field(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let mut bad = meeting(" ", vec!["contacts/nope".into(), "meetings/x".into()]);
    bad.time_zone = "Europe/Atlantis".into();
    bad.end_time = None;
    let status = create(&mut app, bad).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "meeting.title",
            "meeting.end_time",
            "meeting.time_zone",
            "meeting.participants[0]",
            "meeting.participants[1]"
        ]
    );
    let mut backwards = meeting("Backwards", vec![ada.clone()]);
    backwards.end_time = Some(prost_types::Timestamp { seconds: 1_799_999_000, nanos: 0 });
    assert_eq!(bad_fields(&create(&mut app, backwards.clone()).await.unwrap_err()), ["meeting.end_time"]);
    // An end before the start is named with every other bad field, not only once they are fixed.
    backwards.time_zone = "Mars/Olympus".into();
    backwards.title = String::new();
    assert_eq!(
        bad_fields(&create(&mut app, backwards).await.unwrap_err()),
        ["meeting.title", "meeting.time_zone", "meeting.end_time"]
    );
    let duplicated = meeting("Twice", vec![ada.clone(), ada.clone()]);
    assert_eq!(bad_fields(&create(&mut app, duplicated).await.unwrap_err()), ["meeting.participants[1]"]);
    let nobody = meeting("Nobody", vec![]);
    assert_eq!(bad_fields(&create(&mut app, nobody).await.unwrap_err()), ["meeting.participants"]);
    let long = meeting(&"x".repeat(201), vec![ada]);
    assert_eq!(bad_fields(&create(&mut app, long).await.unwrap_err()), ["meeting.title"]);
    assert!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.is_empty());
}

/// The kinds and subjects of a FAILED_PRECONDITION's violations.
pub(crate) fn preconditions(status: &tonic::Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let details = status.get_error_details();
    let failure = details.precondition_failure().expect("a PreconditionFailure");
    failure.violations.iter().map(|v| (v.r#type.clone(), v.subject.clone())).collect()
}

async fn deleted_and_merged_participants_are_refused_by_name_and_nothing_is_written(engine: Engine) {
    use liaison_proto::contacts::v1::{DeleteContactRequest, MergeContactsRequest};
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let gone = person(&mut app, "Gone").await;
    let survivor = person(&mut app, "Bea").await;
    let duplicate = person(&mut app, "Bea (again)").await;
    app.contacts.delete_contact(DeleteContactRequest { name: gone.clone(), ..Default::default() }).ok().await;
    app.contacts
        .merge_contacts(MergeContactsRequest {
            survivor: survivor.clone(),
            merged: duplicate.clone(),
            ..Default::default()
        })
        .ok()
        .await;
    let missing = "contacts/01a20000-0000-7000-8000-000000000000".to_owned();
    let status =
        create(&mut app, meeting("Review", vec![ada.clone(), gone.clone(), duplicate.clone(), missing.clone()]))
            .await
            .unwrap_err();
    assert_eq!(
        preconditions(&status),
        [
            ("PARTICIPANT_DELETED".to_owned(), gone),
            ("PARTICIPANT_MERGED".to_owned(), duplicate),
            ("PARTICIPANT_NOT_FOUND".to_owned(), missing),
        ]
    );
    assert!(status.message().contains(&survivor), "the merged participant's survivor is named: {status:?}");
    assert_eq!(
        status.get_error_details().error_info().map(|i| i.reason.clone()).as_deref(),
        Some("PARTICIPANTS_NOT_INVITABLE")
    );
    // The survivor itself may be invited.
    create(&mut app, meeting("Review", vec![ada, survivor])).await.unwrap();
    assert_eq!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.len(), 1);
}

async fn a_do_not_contact_participant_needs_the_override_and_is_then_flagged(engine: Engine) {
    use liaison_proto::contacts::v1::Consent;
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let private = app
        .contacts
        .create_contact(CreateContactRequest {
            contact: Some(Contact {
                display_name: "Private Person".into(),
                consent: Some(Consent { do_not_contact: true, ..Default::default() }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .contact
        .unwrap()
        .name;
    let status = create(&mut app, meeting("Hearing", vec![ada.clone(), private.clone()])).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTICIPANT_DO_NOT_CONTACT".to_owned(), private.clone())]);
    assert!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.is_empty());

    let created = app
        .client
        .create_meeting(CreateMeetingRequest {
            meeting: Some(meeting("Hearing", vec![ada, private.clone()])),
            allow_do_not_contact: true,
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(created.do_not_contact_participants, std::slice::from_ref(&private));
    assert!(created.meeting.unwrap().participants.contains(&private));
}

async fn an_overlapping_booking_names_each_conflict_and_allow_conflicts_books_anyway(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bea = person(&mut app, "Bea").await;
    let cal = person(&mut app, "Cal").await;
    const NINE: i64 = 1_900_000_800; // 2030-03-17T18:00:00Z
    let ada_busy = create(&mut app, meeting_at("Ada's", vec![ada.clone()], NINE, 3600)).await.unwrap();
    let bea_busy =
        create(&mut app, meeting_at("Bea's", vec![bea.clone(), cal.clone()], NINE + 1800, 3600)).await.unwrap();
    // Back to back is no conflict: Ada is free from the end of her meeting.
    create(&mut app, meeting_at("Right after", vec![ada.clone()], NINE + 3600, 1800)).await.unwrap();
    create(&mut app, meeting_at("Right before", vec![ada.clone()], NINE - 1800, 1800)).await.unwrap();

    let overlapping = meeting_at("Clash", vec![cal.clone(), ada.clone()], NINE + 900, 2700);
    let status = create(&mut app, overlapping.clone()).await.unwrap_err();
    assert_eq!(
        preconditions(&status),
        [("MEETING_CONFLICT".to_owned(), cal.clone()), ("MEETING_CONFLICT".to_owned(), ada.clone())]
    );
    let described: Vec<String> = status
        .get_error_details()
        .precondition_failure()
        .unwrap()
        .violations
        .iter()
        .map(|v| v.description.clone())
        .collect();
    assert!(described[0].contains(&bea_busy.name) && described[0].contains("T18:30:00Z"), "{described:?}");
    assert!(described[1].contains(&ada_busy.name), "{described:?}");
    let before = app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.len();

    let forced = app
        .client
        .create_meeting(CreateMeetingRequest {
            meeting: Some(overlapping),
            allow_conflicts: true,
            ..Default::default()
        })
        .ok()
        .await;
    assert!(forced.meeting.is_some());
    assert_eq!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.len(), before + 1);
    // And a meeting booked anyway is itself busy time for the next booking.
    let status = create(&mut app, meeting_at("Later clash", vec![ada], NINE + 4000, 600)).await.unwrap_err();
    assert_eq!(preconditions(&status).len(), 1);
}

async fn of_many_racing_bookings_of_one_person_for_one_slot_exactly_one_succeeds(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    const SLOT: i64 = 1_900_100_000;
    let attempts: Vec<_> = (0..24)
        .map(|i| {
            let mut client = app.client.clone();
            // Different meetings (titles, request ids, lengths) that all overlap one instant of Ada's.
            let request = CreateMeetingRequest {
                meeting: Some(meeting_at(&format!("Race {i}"), vec![ada.clone()], SLOT + i * 60, 1800)),
                request_id: format!("race-{i}"),
                ..Default::default()
            };
            tokio::spawn(async move { client.create_meeting(request).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(preconditions(&status)[0].0, "MEETING_CONFLICT", "{status:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one booking of the slot succeeds");
    assert_eq!(app.client.list_meetings(ListMeetingsRequest::default()).ok().await.meetings.len(), 1);
}
