//! ListMeetings of one participant is answered from read caches (`api::listing`): these tests prove that what
//! it answers is what the database holds — after every kind of write, and page by page against the database's
//! own answer to the same question.
use crate::meetings::{App, app, create, meeting_at, person};
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::collections::BTreeSet;

on_both_databases!(
    a_participants_list_shows_every_write_at_once,
    a_participants_pages_agree_with_the_database_for_every_window_and_status,
);

const DAY: i64 = 86_400;
/// 2027-01-04T00:00:00Z.
const START: i64 = 1_799_020_800;

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn month_of(participant: &str) -> ListMeetingsRequest {
    ListMeetingsRequest {
        participant: participant.to_owned(),
        start_after: at(START),
        end_before: at(START + 28 * DAY),
        ..Default::default()
    }
}

async fn titles(app: &mut App, request: ListMeetingsRequest) -> Vec<String> {
    let mut titles: Vec<String> =
        app.client.list_meetings(request).ok().await.meetings.into_iter().map(|m| m.title).collect();
    titles.sort();
    titles
}

async fn a_participants_list_shows_every_write_at_once(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bo = person(&mut app, "Bo").await;
    let first = create(&mut app, meeting_at("first", vec![ada.clone()], START + DAY, 3600)).await.unwrap();
    assert_eq!(titles(&mut app, month_of(&ada)).await, ["first"], "read once: the cache is filled");

    // A new meeting, then an attendee added to another: both shown at the next read.
    let second = create(&mut app, meeting_at("second", vec![ada.clone()], START + 2 * DAY, 3600)).await.unwrap();
    assert_eq!(titles(&mut app, month_of(&ada)).await, ["first", "second"]);
    let bos = create(&mut app, meeting_at("bo's", vec![bo.clone()], START + 3 * DAY, 3600)).await.unwrap();
    assert!(titles(&mut app, month_of(&ada)).await.len() == 2);
    let mut with_ada = bos.clone();
    with_ada.attendees.push(Attendee { contact: ada.clone(), ..Default::default() });
    app.client
        .update_meeting(UpdateMeetingRequest {
            meeting: Some(with_ada),
            update_mask: Some(prost_types::FieldMask { paths: vec!["attendees".into()] }),
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(titles(&mut app, month_of(&ada)).await, ["bo's", "first", "second"]);

    // Moved out of the month: gone from it.
    app.client
        .reschedule_meeting(RescheduleMeetingRequest {
            name: second.name.clone(),
            start_time: at(START + 40 * DAY),
            end_time: at(START + 40 * DAY + 3600),
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(titles(&mut app, month_of(&ada)).await, ["bo's", "first"]);

    // Cancelled: still in the month, and what the status filter keeps.
    let cancelled = app
        .client
        .cancel_meeting(CancelMeetingRequest { name: first.name.clone(), reason: "moved".into(), ..Default::default() })
        .ok()
        .await
        .meeting
        .unwrap();
    let listed = app.client.list_meetings(month_of(&ada)).ok().await.meetings;
    let shown = listed.iter().find(|m| m.name == first.name).expect("the cancelled meeting");
    assert_eq!((shown.status, &shown.etag), (cancelled.status, &cancelled.etag), "the meeting as it is now");
    let only_cancelled = ListMeetingsRequest { status: MeetingStatus::Cancelled as i32, ..month_of(&ada) };
    assert_eq!(titles(&mut app, only_cancelled).await, ["first"]);

    // Deleted: gone.
    app.client.delete_meeting(DeleteMeetingRequest { name: bos.name.clone(), ..Default::default() }).ok().await;
    assert_eq!(titles(&mut app, month_of(&ada)).await, ["first"]);
}

async fn a_participants_pages_agree_with_the_database_for_every_window_and_status(engine: Engine) {
    let mut app = app(engine).await;
    let ada = person(&mut app, "Ada").await;
    let bo = person(&mut app, "Bo").await;
    // Ada's meetings over six weeks, some with Bo, some Bo's alone; one weekly series without end and one that
    // ends; a few cancelled.
    let mut names = Vec::new();
    for i in 0..18 {
        let who = match i % 3 {
            0 => vec![ada.clone()],
            1 => vec![ada.clone(), bo.clone()],
            _ => vec![bo.clone()],
        };
        let created = create(&mut app, meeting_at(&format!("m{i:02}"), who, START + i * 2 * DAY + 3600, 5400)).await;
        names.push(created.unwrap().name);
    }
    for (title, rule, start) in
        [("weekly", "FREQ=WEEKLY", START - 14 * DAY), ("ends", "FREQ=DAILY;COUNT=3", START + 20 * DAY)]
    {
        let series = Meeting {
            recurrence: Some(Recurrence { rule: rule.into(), ..Default::default() }),
            ..meeting_at(title, vec![ada.clone()], start + 7200, 1800)
        };
        app.client
            .create_meeting(CreateMeetingRequest { meeting: Some(series), allow_conflicts: true, ..Default::default() })
            .ok()
            .await;
    }
    for name in names.iter().step_by(4) {
        let cancel = CancelMeetingRequest { name: name.clone(), reason: "called off".into(), ..Default::default() };
        app.client.cancel_meeting(cancel).ok().await;
    }

    let windows =
        [(None, None), (Some(START), Some(START + 7 * DAY)), (Some(START + 10 * DAY), None), (None, Some(START))];
    for (after, before) in windows {
        for status in [MeetingStatus::Unspecified, MeetingStatus::Cancelled, MeetingStatus::Scheduled] {
            let filters = ListMeetingsRequest {
                start_after: after.and_then(at),
                end_before: before.and_then(at),
                status: status as i32,
                ..Default::default()
            };
            // The database's answer: everyone's meetings in the window (no participant: read from the database),
            // kept where Ada takes part.
            let everyone = app.client.list_meetings(ListMeetingsRequest { page_size: Some(1000), ..filters.clone() });
            let expected: BTreeSet<String> = everyone
                .ok()
                .await
                .meetings
                .into_iter()
                .filter(|m| m.participants.contains(&ada))
                .map(|m| m.name)
                .collect();
            // Ada's, from the caches, two per page.
            let mut paged = Vec::new();
            let mut token = String::new();
            loop {
                let page = app
                    .client
                    .list_meetings(ListMeetingsRequest {
                        participant: ada.clone(),
                        page_size: Some(2),
                        page_token: token,
                        ..filters.clone()
                    })
                    .ok()
                    .await;
                assert!(page.meetings.len() <= 2);
                paged.extend(page.meetings.into_iter().map(|m| m.name));
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            let window = format!("window {after:?}..{before:?}, status {status:?}");
            assert_eq!(paged.len(), expected.len(), "{window}: each meeting once");
            assert_eq!(paged.iter().cloned().collect::<BTreeSet<_>>(), expected, "{window}");
        }
    }
}
