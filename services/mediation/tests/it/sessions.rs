//! Mediation sessions booked in the real scheduling service: retries book once, scheduling's refusals come back
//! with their violations, and scheduling down records nothing.
use crate::cases::{App, app, case, contact, open};
use liaison_proto::mediation::v1::*;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, ListMeetingsRequest, Meeting};
use liaison_runtime::api::time::to_timestamp;
use liaison_testkit::{Call, Engine, on_both_databases};
use std::time::Duration;
use tonic::Code;
use tonic_types::StatusExt;

on_both_databases!(
    a_session_retried_after_a_timeout_books_one_meeting,
    a_double_booking_found_by_scheduling_comes_back_with_its_violations,
    with_scheduling_down_a_session_is_unavailable_and_nothing_is_recorded,
);

/// A case in mediation between two contacts, with its mediator.
async fn case_in_mediation(app: &mut App) -> (Case, String) {
    let a = contact(app, "Ama").await;
    let b = contact(app, "Ben").await;
    let mediator = contact(app, "Mediator").await;
    let opened = open(app, case("Shared driveway", vec![a, b]), "").await.unwrap();
    let name = opened.name.clone();
    let c = &mut app.client;
    c.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
    c.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).ok().await;
    let assign = AssignMediatorRequest { name: name.clone(), mediator: mediator.clone(), ..Default::default() };
    let case = c.assign_mediator(assign).ok().await.case.unwrap();
    (case, mediator)
}

fn session(case: &str, hour: u32, request_id: &str) -> ScheduleSessionRequest {
    use chrono::TimeZone;
    let start = chrono::Utc.with_ymd_and_hms(2031, 3, 4, hour, 0, 0).unwrap();
    ScheduleSessionRequest {
        name: case.into(),
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(start + chrono::Duration::hours(1))),
        time_zone: "Europe/London".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn meetings_of(app: &mut App, case: &str) -> Vec<Meeting> {
    let request = ListMeetingsRequest { link: case.into(), ..Default::default() };
    app.scheduling.list_meetings(request).ok().await.meetings
}

async fn a_session_retried_after_a_timeout_books_one_meeting(engine: Engine) {
    let mut app = app(engine).await;
    let (case, mediator) = case_in_mediation(&mut app).await;
    // The first attempt gives up before any answer can come; the booking may or may not have happened.
    let mut impatient = tonic::Request::new(session(&case.name, 9, "session-1"));
    impatient.set_timeout(Duration::from_millis(1));
    // Either outcome is possible; what follows must hold for both.
    drop(app.client.schedule_session(impatient).await);
    let retried = app.client.schedule_session(session(&case.name, 9, "session-1")).ok().await;
    let again = app.client.schedule_session(session(&case.name, 9, "session-1")).ok().await;
    assert_eq!(retried.meeting, again.meeting);
    let booked = meetings_of(&mut app, &case.name).await;
    assert_eq!(booked.len(), 1, "one meeting however often the call is retried");
    let meeting = &booked[0];
    assert_eq!((meeting.name.as_str(), meeting.organizer.as_str()), (retried.meeting.as_str(), mediator.as_str()));
    assert_eq!(meeting.participants.len(), 3, "both parties and the mediator: {:?}", meeting.participants);
    let stored = app.client.get_case(GetCaseRequest { name: case.name.clone() }).ok().await.case.unwrap();
    assert_eq!(stored.sessions, std::slice::from_ref(&retried.meeting));
    // Without a request id, the same request is recognised by its content; another time books another session.
    let plain = app.client.schedule_session(session(&case.name, 14, "")).ok().await;
    let plain_again = app.client.schedule_session(session(&case.name, 14, "")).ok().await;
    assert_eq!(plain.meeting, plain_again.meeting);
    assert_eq!(meetings_of(&mut app, &case.name).await.len(), 2);
}

async fn a_double_booking_found_by_scheduling_comes_back_with_its_violations(engine: Engine) {
    let mut app = app(engine).await;
    let (case, mediator) = case_in_mediation(&mut app).await;
    let taken = session(&case.name, 10, "");
    let other = Meeting {
        title: "Budget review".into(),
        start_time: taken.start_time,
        end_time: taken.end_time,
        time_zone: "Europe/London".into(),
        participants: vec![mediator.clone()],
        ..Default::default()
    };
    app.scheduling.create_meeting(CreateMeetingRequest { meeting: Some(other), ..Default::default() }).ok().await;
    let status = app.client.schedule_session(taken).err().await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let failure = status.get_error_details().precondition_failure().cloned().unwrap();
    assert!(failure.violations.iter().any(|v| v.subject == mediator), "{failure:?}");
    let stored = app.client.get_case(GetCaseRequest { name: case.name }).ok().await.case.unwrap();
    assert!(stored.sessions.is_empty());
}

async fn with_scheduling_down_a_session_is_unavailable_and_nothing_is_recorded(engine: Engine) {
    let mut app = app(engine).await;
    let (case, _) = case_in_mediation(&mut app).await;
    app.scheduling_server.take().unwrap().stop().await.unwrap();
    let mut patient = liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient::new(
        liaison_testkit::patient_channel(&app.server),
    );
    let status = patient.schedule_session(session(&case.name, 11, "down-1")).err().await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let stored = app.client.get_case(GetCaseRequest { name: case.name }).ok().await.case.unwrap();
    assert!(stored.sessions.is_empty());
    assert_eq!(stored.etag, case.etag, "the case was not written");
}
