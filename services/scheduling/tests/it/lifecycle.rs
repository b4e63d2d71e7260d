//! A booked meeting's life: updated, moved, confirmed, cancelled, answered, completed with its record and action
//! items, and corrected — each change checked as a booking is, refused whole when anything is wrong, and one entry
//! of the change feed.
use crate::meetings::{App, app, bad_fields, changes_through, create, meeting_at, person, preconditions};
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    an_update_changes_only_the_masked_fields_and_keeps_the_answers_given,
    an_update_names_every_bad_field_refuses_moves_and_stale_etags_and_writes_nothing,
    an_update_that_adds_a_busy_required_attendee_or_a_deleted_contact_is_refused,
    a_reschedule_is_conflict_checked_frees_the_old_time_and_asks_everyone_again,
    of_racing_moves_of_two_meetings_into_one_persons_slot_exactly_one_succeeds,
    confirming_a_hold_checks_conflicts_again,
    a_cancelled_meeting_frees_its_attendees_and_can_no_longer_change,
    an_answer_is_recorded_for_an_attendee_and_refused_for_anyone_else,
    completing_records_minutes_decisions_attendance_and_action_items_in_one_call,
    a_completed_record_changes_only_by_recorded_corrections,
    action_items_are_listed_by_owner_meeting_state_and_overdue_and_closed_with_a_note,
    every_change_of_a_meeting_is_one_entry_of_the_feed,
    with_contacts_down_changes_that_need_it_are_unavailable_and_write_nothing,
    a_deleted_meeting_is_gone_and_frees_its_attendees_but_one_that_happened_is_kept,
);

const HOUR: i64 = 3600;
/// 2027-01-15, in the future of these tests.
const FUTURE: i64 = 1_800_000_000;
/// 2023-11-14, in their past.
const PAST: i64 = 1_700_000_000;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

async fn get(app: &mut App, name: &str) -> Meeting {
    app.client.get_meeting(GetMeetingRequest { name: name.into() }).ok().await.meeting.unwrap()
}

async fn update(app: &mut App, meeting: Meeting, paths: &[&str]) -> Result<Meeting, tonic::Status> {
    let update_mask = Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() });
    app.client
        .update_meeting(UpdateMeetingRequest { meeting: Some(meeting), update_mask, ..Default::default() })
        .await
        .map(|r| r.into_inner().meeting.unwrap())
}

async fn reschedule(app: &mut App, name: &str, start: i64, seconds: i64) -> Result<Meeting, tonic::Status> {
    app.client
        .reschedule_meeting(RescheduleMeetingRequest {
            name: name.into(),
            start_time: ts(start),
            end_time: ts(start + seconds),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().meeting.unwrap())
}

async fn respond(
    app: &mut App,
    name: &str,
    attendee: &str,
    response: ResponseStatus,
) -> Result<Meeting, tonic::Status> {
    app.client
        .respond_to_invitation(RespondToInvitationRequest {
            name: name.into(),
            attendee: attendee.into(),
            response: response as i32,
            comment: String::new(),
        })
        .await
        .map(|r| r.into_inner().meeting.unwrap())
}

async fn cancel(app: &mut App, name: &str, reason: &str) -> Result<Meeting, tonic::Status> {
    app.client
        .cancel_meeting(CancelMeetingRequest {
            name: name.into(),
            reason: reason.into(),
            etag: String::new(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().meeting.unwrap())
}

fn reason(status: &tonic::Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

fn answers(meeting: &Meeting) -> Vec<(String, i32)> {
    meeting.attendees.iter().map(|a| (a.contact.clone(), a.rsvp)).collect()
}

async fn an_update_changes_only_the_masked_fields_and_keeps_the_answers_given(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea, cal) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await, person(&mut app, "Cal").await);
    let created = create(
        &mut app,
        Meeting { location: "Room 1".into(), ..meeting_at("Budget", vec![ada.clone(), bea.clone()], FUTURE, HOUR) },
    )
    .await
    .unwrap();
    respond(&mut app, &created.name, &ada, ResponseStatus::Accepted).await.unwrap();
    let asked = Meeting {
        name: created.name.clone(),
        title: "Budget, second round".into(),
        // Not in the mask: ignored.
        location: "Room 9".into(),
        attendees: vec![
            Attendee { contact: ada.clone(), ..Default::default() },
            Attendee { contact: bea.clone(), optional: true, ..Default::default() },
            Attendee { contact: cal.clone(), ..Default::default() },
        ],
        ..Default::default()
    };
    let updated = update(&mut app, asked, &["title", "attendees"]).await.unwrap();
    assert_eq!(updated.title, "Budget, second round");
    assert_eq!(updated.location, "Room 1", "fields outside the mask keep their values");
    assert_eq!(
        answers(&updated),
        [
            (ada.clone(), ResponseStatus::Accepted as i32),
            (bea.clone(), ResponseStatus::NeedsAction as i32),
            (cal.clone(), ResponseStatus::NeedsAction as i32)
        ],
        "Ada's answer survives the update; Cal is asked"
    );
    assert!(updated.attendees[1].optional);
    assert_eq!(updated.sequence, 0, "neither time nor place moved");
    assert_ne!(updated.etag, created.etag);
    assert_eq!(get(&mut app, &created.name).await, updated);

    // Moving the place is news for calendars: the sequence goes up.
    let moved =
        update(&mut app, Meeting { name: created.name.clone(), location: "Room 9".into(), ..Default::default() }, &[])
            .await
            .unwrap();
    assert_eq!((moved.location.as_str(), moved.sequence), ("Room 9", 1));
}

async fn an_update_names_every_bad_field_refuses_moves_and_stale_etags_and_writes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let created = create(&mut app, meeting_at("Budget", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let bad = Meeting {
        name: created.name.clone(),
        video_link: "http://insecure.example.org".into(),
        agenda: vec![AgendaItem { topic: "Everything".into(), owner: String::new(), minutes: 61 }],
        ..Default::default()
    };
    let status =
        update(&mut app, Meeting { title: " ".into(), ..bad }, &["title", "video_link", "agenda", "location", "nope"])
            .await
            .unwrap_err();
    assert_eq!(bad_fields(&status), ["update_mask.paths[4]"], "an unknown path is named before values are read");
    let bad = Meeting {
        name: created.name.clone(),
        title: " ".into(),
        video_link: "http://insecure.example.org".into(),
        agenda: vec![AgendaItem { topic: "Everything".into(), owner: String::new(), minutes: 61 }],
        ..Default::default()
    };
    let status = update(&mut app, bad, &["title", "video_link", "agenda"]).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["meeting.title", "meeting.video_link", "meeting.agenda"]);

    // Times move with RescheduleMeeting; sent to UpdateMeeting they are refused, not silently dropped.
    let moved = Meeting { name: created.name.clone(), start_time: ts(FUTURE + HOUR), ..Default::default() };
    assert_eq!(bad_fields(&update(&mut app, moved, &[]).await.unwrap_err()), ["meeting.start_time"]);

    let stale =
        Meeting { name: created.name.clone(), title: "Late".into(), etag: "\"r99\"".into(), ..Default::default() };
    assert_eq!(update(&mut app, stale, &["title"]).await.unwrap_err().code(), Code::Aborted);
    let current = Meeting { title: "On time".into(), ..created.clone() };
    assert_eq!(update(&mut app, current, &["title"]).await.unwrap().title, "On time", "the current etag passes");
    let missing = Meeting { name: "meetings/0193a1b2-0000-7000-8000-000000000000".into(), ..created.clone() };
    assert_eq!(update(&mut app, missing, &["title"]).await.unwrap_err().code(), Code::NotFound);
    // Nothing but the one good update was written.
    let changes = crate::meetings::changes_counting(&app, &created.name, 2).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
}

async fn an_update_that_adds_a_busy_required_attendee_or_a_deleted_contact_is_refused(engine: Engine) {
    use liaison_proto::contacts::v1::DeleteContactRequest;
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let gone = person(&mut app, "Gone").await;
    app.contacts.delete_contact(DeleteContactRequest { name: gone.clone(), etag: String::new() }).ok().await;
    let adas = create(&mut app, meeting_at("Ada's", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let beas = create(&mut app, meeting_at("Bea's", vec![bea.clone()], FUTURE, HOUR)).await.unwrap();
    let with = |attendees: Vec<(&str, bool)>| Meeting {
        name: beas.name.clone(),
        attendees: attendees
            .into_iter()
            .map(|(contact, optional)| Attendee { contact: contact.into(), optional, ..Default::default() })
            .collect(),
        ..Default::default()
    };
    let status = update(&mut app, with(vec![(&bea, false), (&ada, false)]), &["attendees"]).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&adas.name), "{status:?}");
    let status = update(&mut app, with(vec![(&bea, false), (&gone, false)]), &["attendees"]).await.unwrap_err();
    assert_eq!(preconditions(&status), [("PARTICIPANT_DELETED".to_owned(), gone.clone())]);
    assert_eq!(get(&mut app, &beas.name).await, beas, "refused updates change nothing");
    // Optional, Ada's other meeting does not matter.
    let updated = update(&mut app, with(vec![(&bea, false), (&ada, true)]), &["attendees"]).await.unwrap();
    assert_eq!(updated.participants, [bea.clone(), ada.clone()]);
    // Made required with allow_conflicts, the update goes through.
    let request = UpdateMeetingRequest {
        meeting: Some(with(vec![(&bea, false), (&ada, false)])),
        update_mask: Some(prost_types::FieldMask { paths: vec!["attendees".into()] }),
        allow_conflicts: true,
        ..Default::default()
    };
    let forced = app.client.update_meeting(request).ok().await.meeting.unwrap();
    assert!(!forced.attendees[1].optional);
}

async fn a_reschedule_is_conflict_checked_frees_the_old_time_and_asks_everyone_again(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let first = create(&mut app, meeting_at("First", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let second = create(
        &mut app,
        Meeting {
            organizer: bea.clone(),
            agenda: vec![AgendaItem { topic: "All of it".into(), owner: String::new(), minutes: 45 }],
            ..meeting_at("Second", vec![ada.clone()], FUTURE + 2 * HOUR, HOUR)
        },
    )
    .await
    .unwrap();
    respond(&mut app, &second.name, &ada, ResponseStatus::Accepted).await.unwrap();

    let status = reschedule(&mut app, &second.name, FUTURE + HOUR / 2, HOUR).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    assert!(status.message().contains(&first.name));
    let status = reschedule(&mut app, &second.name, FUTURE + 4 * HOUR, HOUR / 2).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["end_time"], "the 45-minute agenda no longer fits");
    let status = app
        .client
        .reschedule_meeting(RescheduleMeetingRequest {
            name: second.name.clone(),
            start_time: ts(FUTURE),
            end_time: ts(FUTURE - 1),
            time_zone: "Atlantis/Capital".into(),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["time_zone", "end_time"]);

    let moved = reschedule(&mut app, &second.name, FUTURE + 4 * HOUR, HOUR).await.unwrap();
    assert_eq!(moved.start_time, ts(FUTURE + 4 * HOUR));
    assert_eq!(moved.sequence, 1);
    assert_eq!(
        answers(&moved),
        [(ada.clone(), ResponseStatus::NeedsAction as i32), (bea.clone(), ResponseStatus::Accepted as i32)],
        "everyone is asked again but the organiser"
    );
    // The old time is free, the new one taken.
    create(&mut app, meeting_at("Where Second was", vec![ada.clone()], FUTURE + 2 * HOUR, HOUR)).await.unwrap();
    let status =
        create(&mut app, meeting_at("Where Second is", vec![bea.clone()], FUTURE + 4 * HOUR, HOUR)).await.unwrap_err();
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), bea)]);
}

async fn of_racing_moves_of_two_meetings_into_one_persons_slot_exactly_one_succeeds(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let mut names = Vec::new();
    for i in 0..8 {
        names.push(
            create(&mut app, meeting_at("Racer", vec![ada.clone()], FUTURE + i * 2 * HOUR, HOUR)).await.unwrap().name,
        );
    }
    let target = FUTURE + 100 * HOUR;
    let moves = names.iter().map(|name| {
        let mut client = app.client.clone();
        let name = name.clone();
        async move {
            client
                .reschedule_meeting(RescheduleMeetingRequest {
                    name,
                    start_time: ts(target),
                    end_time: ts(target + HOUR),
                    ..Default::default()
                })
                .await
        }
    });
    let outcomes = futures::future::join_all(moves).await;
    let moved = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(moved, 1, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(reason(refused), "MEETING_CONFLICT", "{refused:?}");
    }
}

async fn confirming_a_hold_checks_conflicts_again(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let booked = create(&mut app, meeting_at("Booked", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let hold = app
        .client
        .create_meeting(CreateMeetingRequest {
            meeting: Some(Meeting {
                status: MeetingStatus::Tentative as i32,
                ..meeting_at("Hold", vec![ada.clone()], FUTURE, HOUR)
            }),
            allow_conflicts: true,
            ..Default::default()
        })
        .ok()
        .await
        .meeting
        .unwrap();
    let confirm = |name: &str| ConfirmMeetingRequest { name: name.into(), ..Default::default() };
    let status = app.client.confirm_meeting(confirm(&hold.name)).err().await;
    assert_eq!(preconditions(&status), [("MEETING_CONFLICT".to_owned(), ada.clone())]);
    cancel(&mut app, &booked.name, "Superseded by the hold").await.unwrap();
    let confirmed = app.client.confirm_meeting(confirm(&hold.name)).ok().await.meeting.unwrap();
    assert_eq!(confirmed.status, MeetingStatus::Scheduled as i32);
    let again = app.client.confirm_meeting(confirm(&hold.name)).ok().await.meeting.unwrap();
    assert_eq!(again, confirmed, "confirming a scheduled meeting changes nothing");
}

async fn a_cancelled_meeting_frees_its_attendees_and_can_no_longer_change(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let created = create(&mut app, meeting_at("Budget", vec![ada.clone()], PAST, HOUR)).await.unwrap();
    let status = cancel(&mut app, &created.name, "  ").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["reason"]);
    let cancelled = cancel(&mut app, &created.name, "The budget was approved by mail").await.unwrap();
    assert_eq!(cancelled.status, MeetingStatus::Cancelled as i32);
    assert_eq!(cancelled.cancel_reason, "The budget was approved by mail");
    assert_eq!(cancelled.sequence, 1);
    assert_eq!(cancel(&mut app, &created.name, "Again").await.unwrap(), cancelled, "cancelling twice changes nothing");
    create(&mut app, meeting_at("In its place", vec![ada.clone()], PAST, HOUR)).await.unwrap();

    let status = respond(&mut app, &created.name, &ada, ResponseStatus::Accepted).await.unwrap_err();
    assert_eq!(reason(&status), "MEETING_CANCELLED");
    let status = reschedule(&mut app, &created.name, FUTURE, HOUR).await.unwrap_err();
    assert_eq!(reason(&status), "MEETING_CANCELLED");
    let status = app
        .client
        .complete_meeting(CompleteMeetingRequest { name: created.name.clone(), ..Default::default() })
        .err()
        .await;
    assert_eq!(reason(&status), "MEETING_CANCELLED");
    let status = update(&mut app, Meeting { name: created.name.clone(), title: "x".into(), ..Default::default() }, &[])
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "MEETING_CANCELLED");
}

async fn an_answer_is_recorded_for_an_attendee_and_refused_for_anyone_else(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, stranger) = (person(&mut app, "Ada").await, person(&mut app, "Stranger").await);
    let created = create(&mut app, meeting_at("Budget", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let answered = app
        .client
        .respond_to_invitation(RespondToInvitationRequest {
            name: created.name.clone(),
            attendee: ada.clone(),
            response: ResponseStatus::Tentative as i32,
            comment: "If the train is on time".into(),
        })
        .ok()
        .await
        .meeting
        .unwrap();
    assert_eq!(answered.attendees[0].rsvp, ResponseStatus::Tentative as i32);
    assert_eq!(answered.attendees[0].comment, "If the train is on time");
    let status = respond(&mut app, &created.name, &stranger, ResponseStatus::Accepted).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["attendee"]);
    assert!(status.message().contains("not invited"), "{status:?}");
    let status = respond(&mut app, "meetings/nope", &ada, ResponseStatus::Unspecified).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["name", "response"]);
    assert_eq!(get(&mut app, &created.name).await, answered);
}

async fn complete(app: &mut App, request: CompleteMeetingRequest) -> Result<CompleteMeetingResponse, tonic::Status> {
    app.client.complete_meeting(request).await.map(tonic::Response::into_inner)
}

async fn completing_records_minutes_decisions_attendance_and_action_items_in_one_call(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea, walk_in) =
        (person(&mut app, "Ada").await, person(&mut app, "Bea").await, person(&mut app, "Walk-in").await);
    let held = create(&mut app, meeting_at("Budget", vec![ada.clone(), bea.clone()], PAST, HOUR)).await.unwrap();
    let upcoming = create(&mut app, meeting_at("Later", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let request = CompleteMeetingRequest {
        name: held.name.clone(),
        minutes: "Budget discussed line by line.".into(),
        decisions: vec!["Approve 40k".into(), "Review in March".into()],
        attendance: vec![ada.clone(), walk_in.clone()],
        action_items: vec![
            NewActionItem { description: "Send the budget".into(), owner: ada.clone(), due_time: ts(PAST + 86_400) },
            NewActionItem { description: "Book March review".into(), owner: walk_in.clone(), due_time: None },
        ],
        request_id: "complete-budget-1".into(),
        ..Default::default()
    };
    // Bad input is named whole; an unknown person in the attendance is refused; nothing is written either way.
    let bad = CompleteMeetingRequest {
        decisions: vec![String::new()],
        attendance: vec![ada.clone(), ada.clone()],
        action_items: vec![NewActionItem { description: "x".into(), owner: String::new(), due_time: None }],
        ..request.clone()
    };
    assert_eq!(
        bad_fields(&complete(&mut app, bad).await.unwrap_err()),
        ["decisions[0]", "attendance[1]", "action_items[0].owner"]
    );
    let unknown = "contacts/0193a1b2-0000-7000-8000-000000000000".to_owned();
    let status = complete(&mut app, CompleteMeetingRequest { attendance: vec![unknown.clone()], ..request.clone() })
        .await
        .unwrap_err();
    assert_eq!(preconditions(&status), [("PARTICIPANT_NOT_FOUND".to_owned(), unknown)]);
    let status = complete(&mut app, CompleteMeetingRequest { name: upcoming.name.clone(), ..request.clone() })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "MEETING_NOT_STARTED");
    assert_eq!(get(&mut app, &held.name).await, held);

    let done = complete(&mut app, request.clone()).await.unwrap();
    let meeting = done.meeting.unwrap();
    assert_eq!(meeting.status, MeetingStatus::Completed as i32);
    let record = meeting.record.clone().unwrap();
    assert_eq!(record.minutes, "Budget discussed line by line.");
    assert_eq!(record.decisions, ["Approve 40k", "Review in March"]);
    assert_eq!(record.attendance, [ada.clone(), walk_in.clone()], "who came, invited or not");
    assert!(record.complete_time.is_some());
    let items = done.action_items;
    assert_eq!(record.action_items, items.iter().map(|i| i.name.clone()).collect::<Vec<_>>());
    assert_eq!(
        items.iter().map(|i| (i.description.as_str(), i.owner.as_str(), i.meeting.as_str())).collect::<Vec<_>>(),
        [
            ("Send the budget", ada.as_str(), held.name.as_str()),
            ("Book March review", walk_in.as_str(), held.name.as_str())
        ]
    );
    assert!(items.iter().all(|i| i.state == ActionItemState::Open as i32));

    // The retry gets the first answer; a second completion is refused.
    let retried = complete(&mut app, request.clone()).await.unwrap();
    assert_eq!((retried.meeting.unwrap(), retried.action_items), (meeting.clone(), items.clone()));
    let status = complete(&mut app, CompleteMeetingRequest { request_id: String::new(), ..request }).await.unwrap_err();
    assert_eq!(reason(&status), "MEETING_COMPLETED");
    let listed = app
        .client
        .list_action_items(ListActionItemsRequest { meeting: held.name.clone(), ..Default::default() })
        .ok()
        .await
        .action_items;
    assert_eq!(listed, items);
}

async fn a_completed_record_changes_only_by_recorded_corrections(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let held = create(&mut app, meeting_at("Budget", vec![ada.clone(), bea.clone()], PAST, HOUR)).await.unwrap();
    let correct = |name: &str, paths: &[&str], record: MeetingRecord, reason: &str| CorrectMeetingRecordRequest {
        name: name.into(),
        record: Some(record),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
        reason: reason.into(),
        etag: String::new(),
    };
    let status = app
        .client
        .correct_meeting_record(correct(&held.name, &["minutes"], MeetingRecord::default(), "why"))
        .err()
        .await;
    assert_eq!(reason(&status), "MEETING_NOT_COMPLETED");
    let done = complete(
        &mut app,
        CompleteMeetingRequest {
            name: held.name.clone(),
            minutes: "Budgte agreed".into(),
            attendance: vec![ada.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .meeting
    .unwrap();
    let status =
        update(&mut app, Meeting { name: held.name.clone(), title: "Renamed".into(), ..Default::default() }, &[])
            .await
            .unwrap_err();
    assert_eq!(reason(&status), "MEETING_COMPLETED", "a completed meeting is read-only");
    let status = app
        .client
        .correct_meeting_record(CorrectMeetingRecordRequest {
            update_mask: None,
            ..correct(&held.name, &[], MeetingRecord::default(), "")
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["update_mask", "reason"]);

    let fixed = MeetingRecord {
        minutes: "Budget agreed".into(),
        attendance: vec![ada.clone(), bea.clone()],
        ..Default::default()
    };
    let corrected = app
        .client
        .correct_meeting_record(correct(&held.name, &["minutes", "attendance"], fixed, "Typo; Bea came late"))
        .ok()
        .await
        .meeting
        .unwrap();
    let record = corrected.record.unwrap();
    assert_eq!(record.minutes, "Budget agreed");
    assert_eq!(record.attendance, [ada.clone(), bea.clone()]);
    assert_eq!(record.complete_time, done.record.unwrap().complete_time, "when it was completed stays");
    assert_eq!(record.corrections.len(), 1);
    let correction = &record.corrections[0];
    assert_eq!(correction.reason, "Typo; Bea came late");
    assert_eq!(correction.fields, ["minutes", "attendance"]);
    assert!(!correction.actor.is_empty() && correction.correct_time.is_some(), "{correction:?}");
}

async fn action_items_are_listed_by_owner_meeting_state_and_overdue_and_closed_with_a_note(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let mut create_item = async |description: &str, owner: &str, due: Option<i64>| {
        app.client
            .create_action_item(CreateActionItemRequest {
                action_item: Some(ActionItem {
                    description: description.into(),
                    owner: owner.into(),
                    due_time: due.and_then(ts),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .ok()
            .await
            .action_item
            .unwrap()
    };
    let late = create_item("Late report", &ada, Some(PAST)).await;
    let later = create_item("Next year's plan", &ada, Some(FUTURE)).await;
    let beas = create_item("Bea's call", &bea, Some(PAST)).await;
    let status = app
        .client
        .create_action_item(CreateActionItemRequest {
            action_item: Some(ActionItem { meeting: "nope".into(), ..Default::default() }),
            request_id: String::new(),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["action_item.description", "action_item.owner", "action_item.meeting"]);

    let mut list = async |request: ListActionItemsRequest| -> Vec<String> {
        app.client.list_action_items(request).ok().await.action_items.into_iter().map(|i| i.description).collect()
    };
    assert_eq!(
        list(ListActionItemsRequest { owner: ada.clone(), ..Default::default() }).await,
        ["Late report", "Next year's plan"]
    );
    assert_eq!(
        list(ListActionItemsRequest { overdue: true, ..Default::default() }).await,
        ["Late report", "Bea's call"]
    );
    assert_eq!(
        list(ListActionItemsRequest { owner: ada.clone(), overdue: true, ..Default::default() }).await,
        ["Late report"]
    );

    let set = |name: &str, state: ActionItemState, note: &str| SetActionItemStateRequest {
        name: name.into(),
        state: state as i32,
        note: note.into(),
        etag: String::new(),
    };
    let status = app.client.set_action_item_state(set(&beas.name, ActionItemState::Cancelled, "")).err().await;
    assert_eq!(bad_fields(&status), ["note"]);
    let done = app.client.set_action_item_state(set(&late.name, ActionItemState::Done, "Sent on Monday")).ok().await;
    let done = done.action_item.unwrap();
    assert_eq!((done.state, done.completion_note.as_str()), (ActionItemState::Done as i32, "Sent on Monday"));
    assert!(done.close_time.is_some());
    let status = app
        .client
        .update_action_item(UpdateActionItemRequest {
            action_item: Some(ActionItem { name: late.name.clone(), description: "Edit".into(), ..Default::default() }),
            update_mask: None,
        })
        .err()
        .await;
    assert_eq!(reason(&status), "ACTION_ITEM_CLOSED");
    let mut list = async |request: ListActionItemsRequest| -> Vec<String> {
        app.client.list_action_items(request).ok().await.action_items.into_iter().map(|i| i.description).collect()
    };
    assert_eq!(
        list(ListActionItemsRequest { overdue: true, ..Default::default() }).await,
        ["Bea's call"],
        "done is not overdue"
    );
    assert_eq!(
        list(ListActionItemsRequest { state: ActionItemState::Done as i32, ..Default::default() }).await,
        ["Late report"]
    );
    let reopened =
        app.client.set_action_item_state(set(&late.name, ActionItemState::Open, "")).ok().await.action_item.unwrap();
    assert_eq!((reopened.state, reopened.close_time), (ActionItemState::Open as i32, None));

    // Handed to Bea and moved to next year, with the etag read.
    let moved = app
        .client
        .update_action_item(UpdateActionItemRequest {
            action_item: Some(ActionItem {
                name: later.name.clone(),
                owner: bea.clone(),
                due_time: ts(FUTURE + 86_400),
                etag: later.etag.clone(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .ok()
        .await
        .action_item
        .unwrap();
    assert_eq!(
        (moved.owner.as_str(), moved.due_time, moved.description.as_str()),
        (bea.as_str(), ts(FUTURE + 86_400), "Next year's plan")
    );
    let fetched = app.client.get_action_item(GetActionItemRequest { name: later.name.clone() }).ok().await;
    assert_eq!(fetched.action_item.unwrap(), moved);
    let status = app
        .client
        .update_action_item(UpdateActionItemRequest {
            action_item: Some(ActionItem {
                name: later.name.clone(),
                description: "x".into(),
                etag: later.etag,
                ..Default::default()
            }),
            update_mask: None,
        })
        .err()
        .await;
    assert_eq!(status.code(), Code::Aborted);
}

async fn every_change_of_a_meeting_is_one_entry_of_the_feed(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let created = create(&mut app, meeting_at("Budget", vec![ada.clone()], PAST, HOUR)).await.unwrap();
    update(&mut app, Meeting { name: created.name.clone(), title: "Budget 2".into(), ..Default::default() }, &[])
        .await
        .unwrap();
    respond(&mut app, &created.name, &ada, ResponseStatus::Accepted).await.unwrap();
    reschedule(&mut app, &created.name, PAST + HOUR, HOUR).await.unwrap();
    let done = complete(
        &mut app,
        CompleteMeetingRequest {
            name: created.name.clone(),
            action_items: vec![NewActionItem { description: "Follow up".into(), owner: ada.clone(), due_time: None }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let item = done.action_items[0].name.clone();
    let changes = changes_through(&app, &item).await;
    use liaison_proto::common::v1::ChangeKind;
    let of = |name: &str| -> Vec<i32> { changes.iter().filter(|c| c.resource_name == name).map(|c| c.kind).collect() };
    let (created_kind, updated_kind) = (ChangeKind::Created as i32, ChangeKind::Updated as i32);
    assert_eq!(
        of(&created.name),
        [created_kind, updated_kind, updated_kind, updated_kind, updated_kind],
        "created, then updated, answered, moved and completed"
    );
    // The action item is created in the completion's transaction (the order within one commit is not defined).
    assert_eq!(of(&item), [created_kind]);
    assert_eq!(changes.len(), 6);
}

async fn with_contacts_down_changes_that_need_it_are_unavailable_and_write_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let (ada, bea) = (person(&mut app, "Ada").await, person(&mut app, "Bea").await);
    let held = create(&mut app, meeting_at("Budget", vec![ada.clone()], PAST, HOUR)).await.unwrap();
    app.contacts_server.take().unwrap().stop().await.unwrap();
    // A client that waits longer than the server's own deadline on contacts, so the server's answer is what is seen.
    app.client = liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient::new(
        liaison_testkit::patient_channel(&app.server),
    );
    let started = std::time::Instant::now();
    let added = Meeting {
        name: held.name.clone(),
        attendees: vec![
            Attendee { contact: ada.clone(), ..Default::default() },
            Attendee { contact: bea.clone(), ..Default::default() },
        ],
        ..Default::default()
    };
    let status = update(&mut app, added, &["attendees"]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.get_error_details().retry_info().is_some());
    let status = complete(
        &mut app,
        CompleteMeetingRequest { name: held.name.clone(), attendance: vec![bea.clone()], ..Default::default() },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Two calls, each answered within the contacts deadline (plus slack).
    assert!(started.elapsed() < liaison_testkit::test_calls().call_timeout * 4, "took {:?}", started.elapsed());
    assert_eq!(get(&mut app, &held.name).await, held, "nothing was written");
    // What needs no contacts still works.
    let answered = respond(&mut app, &held.name, &ada, ResponseStatus::Accepted).await.unwrap();
    assert_eq!(answered.attendees[0].rsvp, ResponseStatus::Accepted as i32);
}

async fn a_deleted_meeting_is_gone_and_frees_its_attendees_but_one_that_happened_is_kept(engine: Engine) {
    use liaison_proto::common::v1::ChangeKind;
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let mistake = create(&mut app, meeting_at("Typo", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let delete = |name: &str, etag: &str| DeleteMeetingRequest { name: name.into(), etag: etag.into() };
    let status = app.client.delete_meeting(delete(&mistake.name, "\"r9\"")).err().await;
    assert_eq!(status.code(), Code::Aborted);
    let deleted = app.client.delete_meeting(delete(&mistake.name, &mistake.etag)).ok().await.meeting.unwrap();
    assert_eq!(deleted, mistake, "the answer is its last state");
    let status = app.client.get_meeting(GetMeetingRequest { name: mistake.name.clone() }).err().await;
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(app.client.delete_meeting(delete(&mistake.name, "")).err().await.code(), Code::NotFound);
    let booked = create(&mut app, meeting_at("In its place", vec![ada.clone()], FUTURE, HOUR)).await.unwrap();
    let changes = changes_through(&app, &booked.name).await;
    let kinds: Vec<i32> = changes.iter().filter(|c| c.resource_name == mistake.name).map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Created as i32, ChangeKind::Deleted as i32]);

    let held = create(&mut app, meeting_at("Held", vec![ada.clone()], PAST, HOUR)).await.unwrap();
    complete(&mut app, CompleteMeetingRequest { name: held.name.clone(), ..Default::default() }).await.unwrap();
    let status = app.client.delete_meeting(delete(&held.name, "")).err().await;
    assert_eq!(reason(&status), "MEETING_COMPLETED");
}
