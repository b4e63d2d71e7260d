use super::*;
use liaison_proto::scheduling::v1::Meeting;

fn meeting() -> Meeting {
    Meeting {
        title: "Quarterly review".into(),
        start_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
        end_time: Some(prost_types::Timestamp { seconds: 1_800_003_600, nanos: 0 }),
        time_zone: "Europe/Paris".into(),
        participants: vec![Name::<Contacts>::generate().to_string()],
        ..Default::default()
    }
}

#[test]
fn a_well_formed_meeting_parses() {
    assert!(NewMeeting::parse(&meeting()).is_ok());
}

#[test]
fn a_meeting_that_ends_before_it_starts_is_rejected() {
    let mut m = meeting();
    m.end_time = m.start_time;
    assert!(NewMeeting::parse(&m).is_err());
}

#[test]
fn a_meeting_longer_than_a_week_is_rejected() {
    let mut m = meeting();
    m.end_time = Some(prost_types::Timestamp { seconds: 1_800_000_000 + 8 * 86_400, nanos: 0 });
    assert!(NewMeeting::parse(&m).is_err());
}

#[test]
fn a_meeting_without_participants_or_time_zone_names_both_fields() {
    let mut m = meeting();
    m.participants.clear();
    m.time_zone = "Atlantis/Capital".into();
    match NewMeeting::parse(&m) {
        Err(v) => {
            let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields, ["meeting.time_zone", "meeting.participants"]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_end_before_the_start_is_named_together_with_every_other_bad_field() {
    let mut m = meeting();
    m.end_time = Some(prost_types::Timestamp { seconds: 1_799_990_000, nanos: 0 });
    m.title = " ".into();
    m.time_zone = "Atlantis/Capital".into();
    let fields: Vec<String> = NewMeeting::parse(&m).expect_err("refused").into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["meeting.title", "meeting.time_zone", "meeting.end_time"]);
}

fn facts(name: &Name<Contacts>) -> ParticipantFacts {
    ParticipantFacts { name: name.to_string(), merged_names: vec![], deleted: false, do_not_contact: false }
}

#[test]
fn missing_deleted_merged_and_do_not_contact_participants_are_all_named_at_once() {
    let [present, missing, deleted, merged, survivor, unwilling] = std::array::from_fn(|_| Name::generate());
    let found = vec![
        facts(&present),
        ParticipantFacts { deleted: true, ..facts(&deleted) },
        ParticipantFacts { merged_names: vec![merged.to_string()], ..facts(&survivor) },
        ParticipantFacts { do_not_contact: true, ..facts(&unwilling) },
    ];
    let asked = [present, missing, deleted, merged, unwilling];
    let violations = check_participants(&asked, &found, &[missing.to_string()], false).expect_err("refused");
    let named: Vec<(&str, String)> = violations.iter().map(|v| (v.kind.as_str(), v.subject.clone())).collect();
    assert_eq!(
        named,
        [
            (PARTICIPANT_NOT_FOUND, missing.to_string()),
            (PARTICIPANT_DELETED, deleted.to_string()),
            (PARTICIPANT_MERGED, merged.to_string()),
            (PARTICIPANT_DO_NOT_CONTACT, unwilling.to_string()),
        ]
    );
    assert!(violations[2].description.contains(&survivor.to_string()), "the survivor is named");
    assert_eq!(participants_reason(&violations), "PARTICIPANTS_NOT_INVITABLE");
    assert_eq!(participants_reason(&violations[..1]), PARTICIPANT_NOT_FOUND);
}

#[test]
fn a_do_not_contact_participant_is_invited_only_with_the_override_and_then_flagged() {
    let [willing, unwilling] = std::array::from_fn(|_| Name::generate());
    let found = vec![facts(&willing), ParticipantFacts { do_not_contact: true, ..facts(&unwilling) }];
    let asked = [willing, unwilling];
    assert!(check_participants(&asked, &found, &[], false).is_err());
    let invitable = check_participants(&asked, &found, &[], true).expect("overridden");
    assert_eq!(invitable.do_not_contact, [unwilling.to_string()]);
}

#[test]
fn an_organiser_not_among_the_attendees_is_added_as_a_required_attendee_who_accepted() {
    let organiser = Name::<Contacts>::generate();
    let mut m = meeting();
    m.organizer = organiser.to_string();
    let parsed = NewMeeting::parse(&m).expect("valid");
    let last = parsed.attendees.last().expect("an attendee");
    assert_eq!((last.contact, last.optional, last.rsvp), (organiser, false, Rsvp::Accepted));
    assert_eq!(parsed.required().len(), 2);
    m.participants.push(organiser.to_string());
    let parsed = NewMeeting::parse(&m).expect("valid");
    assert_eq!(parsed.attendees.len(), 2, "an organiser already invited is not added twice");
    assert_eq!(parsed.attendees[1].rsvp, Rsvp::Accepted);
}

#[test]
fn buffers_widen_the_busy_span_and_are_at_most_four_hours() {
    let mut m = meeting();
    m.buffer_before = Some(prost_types::Duration { seconds: 600, nanos: 0 });
    m.buffer_after = Some(prost_types::Duration { seconds: 4 * 3600, nanos: 0 });
    let parsed = NewMeeting::parse(&m).expect("valid");
    assert_eq!(parsed.busy_span(), (parsed.start - chrono::TimeDelta::minutes(10), parsed.end + LONGEST_BUFFER));
    m.buffer_after = Some(prost_types::Duration { seconds: 4 * 3600, nanos: 1 });
    m.buffer_before = Some(prost_types::Duration { seconds: -1, nanos: 0 });
    let fields: Vec<String> = NewMeeting::parse(&m).expect_err("refused").into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["meeting.buffer_before", "meeting.buffer_after"]);
}

#[test]
fn links_are_collection_id_pairs_and_video_links_are_https() {
    for good in ["cases/1", "projects/p-1/tasks/t_2", "mediation-cases/0193.abc~x"] {
        assert!(link("l", good).is_ok(), "{good}");
    }
    for bad in ["", "cases", "cases/", "/1", "Cases/1", "cases/1/tasks", "cases/a b", "1cases/1"] {
        assert!(link("l", bad).is_err(), "{bad}");
    }
    assert!(video_link("v", "https://meet.example.org/x?y=1#z").is_ok());
    assert_eq!(video_link("v", ""), Ok(String::new()));
    for bad in ["http://meet.example.org", "https://", "https:///x", "https://a b.org", "meet.example.org"] {
        assert!(video_link("v", bad).is_err(), "{bad}");
    }
}
