//! Engagement: stakeholder assessments, the interaction log and the engagement summary.
use crate::helpers::*;
use crate::organizations::create_organization;
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;
use tonic_types::StatusExt;

const GHOST: &str = "contacts/01a20000-0000-7000-8000-00000000dead";

fn precondition(status: &tonic::Status) -> (String, Vec<String>) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let details = status.get_error_details();
    let failure = details.precondition_failure().expect("precondition failure");
    (
        failure.violations.first().map(|v| v.r#type.clone()).unwrap_or_default(),
        failure.violations.iter().map(|v| v.subject.clone()).collect(),
    )
}

fn date_of(time: DateTime<Utc>) -> Date {
    Date { year: time.year(), month: time.month() as i32, day: time.day() as i32 }
}

fn days_ago(days: i64) -> Date {
    date_of(Utc::now() - TimeDelta::days(days))
}

fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_micros() as i32 * 1000 }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

fn assessment(party: &str, date: Option<Date>, influence: Level, interest: Level) -> Assessment {
    Assessment {
        party: party.into(),
        assessment_date: date,
        influence: influence as i32,
        interest: interest as i32,
        impact: Level::Medium as i32,
        comment: "From the quarterly review".into(),
        ..Default::default()
    }
}

async fn assess(client: &mut Client, assessment: Assessment) -> Result<Assessment, tonic::Status> {
    client
        .create_assessment(CreateAssessmentRequest { assessment: Some(assessment), request_id: String::new() })
        .await
        .map(|r| r.into_inner().assessment.unwrap())
}

async fn assessments_of(client: &mut Client, party: &str) -> Vec<Assessment> {
    client.list_assessments(ListAssessmentsRequest { party: party.into(), ..Default::default() }).ok().await.assessments
}

fn interaction(
    participants: &[&str],
    occur: DateTime<Utc>,
    channel: InteractionChannel,
    sentiment: i32,
) -> Interaction {
    Interaction {
        channel: channel as i32,
        direction: InteractionDirection::Outbound as i32,
        occur_time: Some(timestamp(occur)),
        participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        subject: "Water permit".into(),
        summary: "Discussed the timeline.\nNext step: a site visit.".into(),
        sentiment,
        ..Default::default()
    }
}

async fn log(client: &mut Client, interaction: Interaction) -> Result<Interaction, tonic::Status> {
    client
        .create_interaction(CreateInteractionRequest { interaction: Some(interaction), request_id: String::new() })
        .await
        .map(|r| r.into_inner().interaction.unwrap())
}

async fn interactions(client: &mut Client, request: ListInteractionsRequest) -> Vec<Interaction> {
    client.list_interactions(request).ok().await.interactions
}

async fn summary(client: &mut Client, party: &str) -> EngagementSummary {
    client.get_engagement_summary(GetEngagementSummaryRequest { party: party.into() }).ok().await.summary.unwrap()
}

on_both_databases!(
    assessments_keep_their_history_newest_first_with_a_derived_quadrant,
    a_second_assessment_of_a_party_on_the_same_day_already_exists,
    racing_assessments_of_one_party_on_one_day_leave_exactly_one,
    bad_assessments_name_every_bad_field_and_write_nothing,
    assessments_of_missing_or_deleted_parties_are_refused_naming_them,
    a_retried_assessment_returns_the_first_and_creates_nothing,
    stakeholders_are_listed_by_the_quadrant_of_their_latest_assessment,
    interactions_have_every_standard_method_with_etags_and_update_masks,
    interactions_are_listed_by_party_and_time_range_newest_first,
    bad_interactions_name_every_bad_field_and_write_nothing,
    interactions_with_missing_participants_are_refused_naming_them,
    racing_retries_of_an_interaction_create_it_once,
    every_engagement_mutation_is_in_the_change_feed,
    the_summary_counts_channels_follow_ups_and_sentiment_over_their_windows,
    the_health_score_follows_the_documented_formula,
    the_summary_of_a_party_that_does_not_exist_is_not_found,
);

async fn assessments_keep_their_history_newest_first_with_a_derived_quadrant(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Water Agency").await.name;
    let old = assess(&mut app.client, assessment(&org, Some(days_ago(60)), Level::Low, Level::Low)).await.unwrap();
    let mid =
        assess(&mut app.client, assessment(&org, Some(days_ago(30)), Level::VeryHigh, Level::Medium)).await.unwrap();
    let today = assess(&mut app.client, assessment(&org, None, Level::High, Level::High)).await.unwrap();
    assert_eq!(today.assessment_date, Some(date_of(Utc::now())), "unset means today (UTC)");
    assert!(today.name.starts_with("assessments/"));
    assert_eq!(
        [old.quadrant(), mid.quadrant(), today.quadrant()],
        [Quadrant::Monitor, Quadrant::KeepSatisfied, Quadrant::ManageClosely]
    );
    assert_eq!(today.comment, "From the quarterly review");
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = app
            .client
            .list_assessments(ListAssessmentsRequest { party: org.clone(), page_size: Some(2), page_token: token })
            .ok()
            .await;
        pages += 1;
        listed.extend(page.assessments);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(listed, [today, mid, old], "every assessment is kept, newest first");
    let other = create_organization(&mut app.client, "Trust").await.name;
    assert!(assessments_of(&mut app.client, &other).await.is_empty());
    let status = app
        .client
        .list_assessments(ListAssessmentsRequest {
            party: "meetings/1".into(),
            page_size: Some(0),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["party", "page_size"]);
}

async fn a_second_assessment_of_a_party_on_the_same_day_already_exists(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let first = assess(&mut app.client, assessment(&ada, Some(days_ago(3)), Level::Low, Level::High)).await.unwrap();
    let status =
        assess(&mut app.client, assessment(&ada, Some(days_ago(3)), Level::High, Level::High)).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains(&ada), "{}", status.message());
    assert_eq!(assessments_of(&mut app.client, &ada).await, [first]);
    assess(&mut app.client, assessment(&ada, Some(days_ago(2)), Level::High, Level::High))
        .await
        .expect("another day is a re-assessment");
}

async fn racing_assessments_of_one_party_on_one_day_leave_exactly_one(engine: Engine) {
    let app = app(engine).await;
    let mut client = app.client.clone();
    let ada = create_contact(&mut client, "Ada").await.name;
    let attempts = (0..8).map(|i| {
        let mut client = app.client.clone();
        let mut a = assessment(&ada, None, Level::High, Level::Low);
        a.comment = format!("attempt {i}");
        async move { assess(&mut client, a).await }
    });
    let outcomes = futures::future::join_all(attempts).await;
    let created: Vec<&Assessment> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    }
    assert_eq!(assessments_of(&mut client, &ada).await, [created[0].clone()]);
}

async fn bad_assessments_name_every_bad_field_and_write_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let tomorrow = date_of(Utc::now() + TimeDelta::days(1));
    let bad = Assessment {
        party: ada.clone(),
        assessment_date: Some(tomorrow),
        influence: Level::Unspecified as i32,
        interest: 42,
        impact: Level::High as i32,
        comment: "x".repeat(2001),
        ..Default::default()
    };
    let status = app
        .client
        .create_assessment(CreateAssessmentRequest { assessment: Some(bad), request_id: "has spaces".into() })
        .err()
        .await;
    assert_eq!(
        bad_fields(&status),
        [
            "assessment.assessment_date",
            "assessment.influence",
            "assessment.interest",
            "assessment.comment",
            "request_id"
        ]
    );
    let status =
        assess(&mut app.client, assessment(&ada, Some(Date { year: 2025, month: 2, day: 30 }), Level::Low, Level::Low))
            .await
            .unwrap_err();
    assert_eq!(bad_fields(&status), ["assessment.assessment_date"]);
    let status = app.client.create_assessment(CreateAssessmentRequest::default()).err().await;
    assert_eq!(
        bad_fields(&status),
        ["assessment.party", "assessment.influence", "assessment.interest", "assessment.impact"]
    );
    assert!(assessments_of(&mut app.client, &ada).await.is_empty());
    let changes = all_changes(&mut app.client).await;
    assert!(changes.iter().all(|c| !c.resource_name.starts_with("assessments/")), "nothing was written");
}

async fn assessments_of_missing_or_deleted_parties_are_refused_naming_them(engine: Engine) {
    let mut app = app(engine).await;
    let status = assess(&mut app.client, assessment(GHOST, None, Level::Low, Level::Low)).await.unwrap_err();
    assert_eq!(precondition(&status), ("PARTY_NOT_FOUND".into(), vec![GHOST.to_owned()]));
    let gone_org = "organizations/01a20000-0000-7000-8000-00000000beef";
    let status = assess(&mut app.client, assessment(gone_org, None, Level::Low, Level::Low)).await.unwrap_err();
    assert_eq!(precondition(&status), ("PARTY_NOT_FOUND".into(), vec![gone_org.to_owned()]));
    let ada = create_contact(&mut app.client, "Ada").await.name;
    app.client.delete_contact(DeleteContactRequest { name: ada.clone(), etag: String::new() }).await.unwrap();
    let status = assess(&mut app.client, assessment(&ada, None, Level::Low, Level::Low)).await.unwrap_err();
    assert_eq!(precondition(&status), ("CONTACT_DELETED".into(), vec![ada.clone()]));
    assert!(assessments_of(&mut app.client, &ada).await.is_empty());
}

async fn a_retried_assessment_returns_the_first_and_creates_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let org = create_organization(&mut app.client, "Agency").await.name;
    let request = CreateAssessmentRequest {
        assessment: Some(assessment(&org, Some(days_ago(1)), Level::High, Level::VeryHigh)),
        request_id: "assess-agency-1".into(),
    };
    let first = app.client.create_assessment(request.clone()).ok().await;
    let again = app.client.create_assessment(request.clone()).ok().await;
    assert_eq!(first, again);
    assert_eq!(assessments_of(&mut app.client, &org).await.len(), 1);
    let mut reused = request;
    reused.assessment.as_mut().unwrap().assessment_date = Some(days_ago(2));
    let status = app.client.create_assessment(reused).err().await;
    assert_eq!(bad_fields(&status), ["request_id"]);
}

async fn stakeholders_are_listed_by_the_quadrant_of_their_latest_assessment(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    let agency = create_organization(client, "Agency").await.name;
    let council = create_organization(client, "Council").await.name;
    let ada = create_contact(client, "Ada").await.name;
    let bob = create_contact(client, "Bob").await.name;
    let cy = create_contact(client, "Cy").await.name;
    let gone = create_contact(client, "Gone").await.name;
    // The agency was managed closely; its latest assessment says monitor.
    assess(client, assessment(&agency, Some(days_ago(20)), Level::VeryHigh, Level::VeryHigh)).await.unwrap();
    assess(client, assessment(&agency, Some(days_ago(1)), Level::Low, Level::Medium)).await.unwrap();
    // Ordered by influence, then interest, then name.
    let council_latest =
        assess(client, assessment(&council, Some(days_ago(5)), Level::High, Level::High)).await.unwrap();
    let ada_latest = assess(client, assessment(&ada, None, Level::VeryHigh, Level::High)).await.unwrap();
    let bob_latest = assess(client, assessment(&bob, None, Level::High, Level::VeryHigh)).await.unwrap();
    assess(client, assessment(&cy, Some(days_ago(40)), Level::Low, Level::Low)).await.unwrap();
    let cy_latest = assess(client, assessment(&cy, Some(days_ago(4)), Level::High, Level::High)).await.unwrap();
    assess(client, assessment(&gone, None, Level::VeryHigh, Level::VeryHigh)).await.unwrap();
    client.delete_contact(DeleteContactRequest { name: gone.clone(), etag: String::new() }).await.unwrap();
    let mut high_high = [(council.clone(), council_latest), (cy.clone(), cy_latest)];
    high_high.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Assessment)> = vec![(ada.clone(), ada_latest), (bob.clone(), bob_latest)];
    expected.extend(high_high);
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = client
            .list_stakeholders(ListStakeholdersRequest {
                quadrant: Quadrant::ManageClosely as i32,
                page_size: Some(1),
                page_token: token,
            })
            .ok()
            .await;
        pages += 1;
        listed.extend(page.stakeholders.into_iter().map(|s| (s.party, s.latest_assessment.unwrap())));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 4);
    assert_eq!(listed, expected, "deleted contacts and older assessments are left out");
    let monitor = client
        .list_stakeholders(ListStakeholdersRequest { quadrant: Quadrant::Monitor as i32, ..Default::default() })
        .ok()
        .await;
    let monitored: Vec<String> = monitor.stakeholders.into_iter().map(|s| s.party).collect();
    assert_eq!(monitored, std::slice::from_ref(&agency));
    let everyone = client.list_stakeholders(ListStakeholdersRequest::default()).ok().await;
    assert_eq!(everyone.stakeholders.len(), 5);
    assert_eq!(everyone.stakeholders.last().unwrap().party, agency, "lowest influence last");
    // A token is valid only for the quadrant it was issued for.
    let first = client
        .list_stakeholders(ListStakeholdersRequest {
            quadrant: Quadrant::ManageClosely as i32,
            page_size: Some(1),
            ..Default::default()
        })
        .ok()
        .await;
    let status = client
        .list_stakeholders(ListStakeholdersRequest {
            quadrant: Quadrant::Monitor as i32,
            page_size: Some(1),
            page_token: first.next_page_token,
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = client.list_stakeholders(ListStakeholdersRequest { quadrant: 9, ..Default::default() }).err().await;
    assert_eq!(bad_fields(&status), ["quadrant"]);
}

async fn interactions_have_every_standard_method_with_etags_and_update_masks(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    let ada = create_contact(client, "Ada").await.name;
    let bob = create_contact(client, "Bob").await.name;
    let agency = create_organization(client, "Agency").await.name;
    let mut new = interaction(&[&ada, &agency], Utc::now() - TimeDelta::hours(3), InteractionChannel::Meeting, 1);
    new.follow_up = Some(FollowUp {
        action: "Send the draft permit".into(),
        owner: "Liaison office".into(),
        due_date: Some(days_ago(-7)),
        done: false,
    });
    new.links = vec!["meetings/0193a5b2-7c1d-7000-8000-000000000001".into(), "cases/42/proposals/7".into()];
    let created = log(client, new.clone()).await.unwrap();
    assert!(created.name.starts_with("interactions/"));
    assert_eq!(
        (&created.participants, &created.follow_up, &created.links, created.occur_time),
        (&new.participants, &new.follow_up, &new.links, new.occur_time)
    );
    let fetched =
        client.get_interaction(GetInteractionRequest { name: created.name.clone() }).ok().await.interaction.unwrap();
    assert_eq!(fetched, created);

    // Only the masked field changes; the etag does.
    let mut change = Interaction {
        name: created.name.clone(),
        etag: created.etag.clone(),
        subject: "Water permit, second round".into(),
        sentiment: -2,
        ..Default::default()
    };
    let updated = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(change.clone()),
            update_mask: mask(&["subject"]),
        })
        .ok()
        .await
        .interaction
        .unwrap();
    assert_eq!(updated.subject, "Water permit, second round");
    assert_eq!((updated.sentiment, &updated.participants), (1, &created.participants));
    assert_ne!(updated.etag, created.etag);
    assert_eq!(updated.create_time, created.create_time);

    // A stale etag changes nothing.
    change.subject = "Lost update".into();
    let status = client
        .update_interaction(UpdateInteractionRequest { interaction: Some(change), update_mask: mask(&["subject"]) })
        .err()
        .await;
    assert_eq!(status.code(), Code::Aborted);

    // Participants are replaced as a whole; marking the follow-up done replaces it.
    let mut follow_up = created.follow_up.clone().unwrap();
    follow_up.done = true;
    let replaced = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(Interaction {
                name: created.name.clone(),
                participants: vec![bob.clone(), ada.clone()],
                follow_up: Some(follow_up.clone()),
                ..Default::default()
            }),
            update_mask: mask(&["participants", "follow_up"]),
        })
        .ok()
        .await
        .interaction
        .unwrap();
    assert_eq!(replaced.participants, [bob.clone(), ada.clone()]);
    assert_eq!(replaced.follow_up, Some(follow_up));
    let agency_list =
        interactions(client, ListInteractionsRequest { party: agency.clone(), ..Default::default() }).await;
    assert!(agency_list.is_empty(), "the agency no longer takes part");
    let bob_list = interactions(client, ListInteractionsRequest { party: bob.clone(), ..Default::default() }).await;
    assert_eq!(bob_list, std::slice::from_ref(&replaced));

    // Bad updates: an unknown mask path, a participant that does not exist, a bad value.
    let status = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(Interaction { name: created.name.clone(), ..Default::default() }),
            update_mask: mask(&["etag"]),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["update_mask.paths[0]"]);
    let status = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(Interaction {
                name: created.name.clone(),
                participants: vec![ada.clone(), GHOST.into()],
                ..Default::default()
            }),
            update_mask: mask(&["participants"]),
        })
        .err()
        .await;
    assert_eq!(precondition(&status), ("PARTY_NOT_FOUND".into(), vec![GHOST.to_owned()]));
    let status = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(Interaction { name: created.name.clone(), sentiment: 5, ..Default::default() }),
            update_mask: mask(&["sentiment"]),
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["interaction.sentiment"]);
    let current =
        client.get_interaction(GetInteractionRequest { name: created.name.clone() }).ok().await.interaction.unwrap();
    assert_eq!(current, replaced, "refused updates changed nothing");

    // Delete checks the etag.
    let status = client
        .delete_interaction(DeleteInteractionRequest { name: created.name.clone(), etag: created.etag.clone() })
        .err()
        .await;
    assert_eq!(status.code(), Code::Aborted);
    client
        .delete_interaction(DeleteInteractionRequest { name: created.name.clone(), etag: replaced.etag.clone() })
        .await
        .unwrap();
    let status = client.get_interaction(GetInteractionRequest { name: created.name.clone() }).err().await;
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .delete_interaction(DeleteInteractionRequest { name: created.name.clone(), etag: String::new() })
        .err()
        .await;
    assert_eq!(status.code(), Code::NotFound);
    assert!(interactions(client, ListInteractionsRequest { party: ada, ..Default::default() }).await.is_empty());
    let status = client.get_interaction(GetInteractionRequest { name: "contacts/x".into() }).err().await;
    assert_eq!(bad_fields(&status), ["name"]);
}

async fn interactions_are_listed_by_party_and_time_range_newest_first(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    let ada = create_contact(client, "Ada").await.name;
    let bob = create_contact(client, "Bob").await.name;
    let now = Utc::now();
    let at = |days: i64| now - TimeDelta::days(days);
    let five = log(client, interaction(&[&ada], at(5), InteractionChannel::Email, 0)).await.unwrap();
    let three = log(client, interaction(&[&ada, &bob], at(3), InteractionChannel::PhoneCall, 0)).await.unwrap();
    let two = log(client, interaction(&[&bob], at(2), InteractionChannel::Letter, 0)).await.unwrap();
    let one = log(client, interaction(&[&ada], at(1), InteractionChannel::Video, 0)).await.unwrap();
    // Same time as `one`: the order is still stable (newest id first).
    let one_too = log(client, interaction(&[&ada], at(1), InteractionChannel::Other, 0)).await.unwrap();

    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_interactions(ListInteractionsRequest {
                party: ada.clone(),
                page_size: Some(2),
                page_token: token,
                ..Default::default()
            })
            .ok()
            .await;
        pages.push(page.interactions.iter().map(|i| i.name.clone()).collect::<Vec<_>>());
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, [vec![one_too.name.clone(), one.name.clone()], vec![three.name.clone(), five.name.clone()]]);

    let ranged = interactions(
        client,
        ListInteractionsRequest {
            party: ada.clone(),
            start_time: Some(timestamp(at(4))),
            end_time: one.occur_time,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ranged, std::slice::from_ref(&three), "start is inclusive, end exclusive");
    let from_start =
        interactions(client, ListInteractionsRequest { start_time: three.occur_time, ..Default::default() }).await;
    assert_eq!(
        from_start.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
        [one_too.name.clone(), one.name.clone(), two.name.clone(), three.name.clone()]
    );
    let everything = interactions(client, ListInteractionsRequest::default()).await;
    assert_eq!(everything.len(), 5);

    let status = client
        .list_interactions(ListInteractionsRequest {
            start_time: Some(timestamp(at(1))),
            end_time: Some(timestamp(at(2))),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["end_time"]);
    let first = client
        .list_interactions(ListInteractionsRequest { party: ada.clone(), page_size: Some(1), ..Default::default() })
        .ok()
        .await;
    let status = client
        .list_interactions(ListInteractionsRequest {
            party: bob.clone(),
            page_size: Some(1),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["page_token"], "a token is valid only with its filters");
    let status = client
        .list_interactions(ListInteractionsRequest { party: "people/1".into(), ..Default::default() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["party"]);
}

async fn bad_interactions_name_every_bad_field_and_write_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let bad = Interaction {
        channel: InteractionChannel::Unspecified as i32,
        direction: 9,
        occur_time: Some(timestamp(Utc::now() + TimeDelta::hours(30))),
        participants: vec![ada.clone(), "meetings/1".into(), ada.clone()],
        subject: " ".into(),
        summary: "s".repeat(10_001),
        sentiment: -3,
        follow_up: Some(FollowUp { action: "a".repeat(501), owner: String::new(), due_date: None, done: false }),
        links: vec!["cases/1".into(), "not a link".into()],
        ..Default::default()
    };
    let status = log(&mut app.client, bad).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "interaction.channel",
            "interaction.direction",
            "interaction.occur_time",
            "interaction.participants[1]",
            "interaction.participants[2]",
            "interaction.subject",
            "interaction.summary",
            "interaction.sentiment",
            "interaction.follow_up.action",
            "interaction.follow_up.owner",
            "interaction.follow_up.due_date",
            "interaction.links[1]",
        ]
    );
    let status = log(&mut app.client, Interaction::default()).await.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "interaction.channel",
            "interaction.direction",
            "interaction.occur_time",
            "interaction.participants",
            "interaction.subject"
        ]
    );
    let many: Vec<String> = (0..51).map(|_| GHOST.to_owned()).collect();
    let mut crowded = interaction(&[], Utc::now(), InteractionChannel::PublicMeeting, 0);
    crowded.participants = many;
    crowded.links = vec!["cases/1".into(); 21];
    assert_eq!(
        bad_fields(&log(&mut app.client, crowded).await.unwrap_err()),
        ["interaction.participants", "interaction.links"]
    );
    assert!(interactions(&mut app.client, ListInteractionsRequest::default()).await.is_empty());
    let changes = all_changes(&mut app.client).await;
    assert!(changes.iter().all(|c| !c.resource_name.starts_with("interactions/")), "nothing was written");
}

async fn interactions_with_missing_participants_are_refused_naming_them(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let gone = create_contact(&mut app.client, "Gone").await.name;
    app.client.delete_contact(DeleteContactRequest { name: gone.clone(), etag: String::new() }).await.unwrap();
    let ghost_org = "organizations/01a20000-0000-7000-8000-00000000beef";
    let status = log(&mut app.client, interaction(&[&ada, GHOST, ghost_org], Utc::now(), InteractionChannel::Email, 0))
        .await
        .unwrap_err();
    assert_eq!(precondition(&status), ("PARTY_NOT_FOUND".into(), vec![GHOST.to_owned(), ghost_org.to_owned()]));
    let status =
        log(&mut app.client, interaction(&[&ada, &gone], Utc::now(), InteractionChannel::Email, 0)).await.unwrap_err();
    assert_eq!(precondition(&status), ("CONTACT_DELETED".into(), vec![gone]));
    assert!(interactions(&mut app.client, ListInteractionsRequest::default()).await.is_empty());
}

async fn racing_retries_of_an_interaction_create_it_once(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await.name;
    let request = CreateInteractionRequest {
        interaction: Some(interaction(&[&ada], Utc::now(), InteractionChannel::SiteVisit, 2)),
        request_id: "visit-2025-ada".into(),
    };
    let retries = (0..6).map(|_| {
        let mut client = app.client.clone();
        let request = request.clone();
        async move { client.create_interaction(request).await.map(|r| r.into_inner().interaction.unwrap()) }
    });
    let outcomes: Vec<Interaction> =
        futures::future::join_all(retries).await.into_iter().map(|o| o.expect("every retry succeeds")).collect();
    assert!(outcomes.iter().all(|i| *i == outcomes[0]), "every retry returns the first result");
    assert_eq!(interactions(&mut app.client, ListInteractionsRequest::default()).await, [outcomes[0].clone()]);
}

async fn every_engagement_mutation_is_in_the_change_feed(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    let ada = create_contact(client, "Ada").await.name;
    let assessed = assess(client, assessment(&ada, None, Level::High, Level::Low)).await.unwrap();
    let created = log(client, interaction(&[&ada], Utc::now(), InteractionChannel::Email, 1)).await.unwrap();
    let updated = client
        .update_interaction(UpdateInteractionRequest {
            interaction: Some(Interaction {
                name: created.name.clone(),
                subject: "Renamed".into(),
                ..Default::default()
            }),
            update_mask: mask(&["subject"]),
        })
        .ok()
        .await
        .interaction
        .unwrap();
    client
        .delete_interaction(DeleteInteractionRequest { name: created.name.clone(), etag: String::new() })
        .await
        .unwrap();
    let changes: Vec<_> = all_changes(client)
        .await
        .into_iter()
        .filter(|c| c.resource_name.starts_with("assessments/") || c.resource_name.starts_with("interactions/"))
        .collect();
    let seen: Vec<(String, i32, String)> = changes
        .iter()
        .map(|c| (c.resource_name.clone(), c.kind, c.resource.as_ref().unwrap().type_url.clone()))
        .collect();
    let assessment_type = "type.googleapis.com/liaison.contacts.v1.Assessment".to_owned();
    let interaction_type = "type.googleapis.com/liaison.contacts.v1.Interaction".to_owned();
    assert_eq!(
        seen,
        [
            (assessed.name.clone(), ChangeKind::Created as i32, assessment_type),
            (created.name.clone(), ChangeKind::Created as i32, interaction_type.clone()),
            (created.name.clone(), ChangeKind::Updated as i32, interaction_type.clone()),
            (created.name.clone(), ChangeKind::Deleted as i32, interaction_type),
        ]
    );
    let decode = |i: usize| -> Interaction {
        prost::Message::decode(changes[i].resource.as_ref().unwrap().value.as_slice()).unwrap()
    };
    let first: Assessment = prost::Message::decode(changes[0].resource.as_ref().unwrap().value.as_slice()).unwrap();
    assert_eq!(first, assessed);
    assert_eq!((decode(1), decode(2), decode(3)), (created, updated.clone(), updated));
}

async fn the_summary_counts_channels_follow_ups_and_sentiment_over_their_windows(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    let ada = create_contact(client, "Ada").await.name;
    let bob = create_contact(client, "Bob").await.name;
    let now = Utc::now();
    let at = |days: i64| now - TimeDelta::days(days) - TimeDelta::hours(1);
    let follow_up = |due: Date, done: bool| {
        Some(FollowUp { action: "Call back".into(), owner: "Officer".into(), due_date: Some(due), done })
    };
    let mut recent = interaction(&[&ada, &bob], at(2), InteractionChannel::Email, 2);
    recent.follow_up = follow_up(days_ago(1), false); // open and overdue
    let mut meeting = interaction(&[&ada], at(40), InteractionChannel::Meeting, -1);
    meeting.follow_up = follow_up(days_ago(-1), false); // open
    let mut older = interaction(&[&ada], at(100), InteractionChannel::Email, 0);
    older.follow_up = follow_up(days_ago(50), true); // done
    let mut due_today = interaction(&[&bob], at(3), InteractionChannel::Email, 0);
    due_today.follow_up = follow_up(days_ago(0), false);
    for i in [
        recent,
        meeting,
        older,
        due_today,
        interaction(&[&ada], at(400), InteractionChannel::PhoneCall, -2), // outside every window
    ] {
        log(client, i).await.unwrap();
    }
    let s = summary(client, &ada).await;
    assert_eq!(s.party, ada);
    assert_eq!(s.last_interaction_time, Some(timestamp(at(2))));
    assert_eq!(s.days_since_last_interaction, 2);
    let counts: Vec<(InteractionChannel, i32, i32, i32)> =
        s.channel_counts.iter().map(|c| (c.channel(), c.last_30_days, c.last_90_days, c.last_365_days)).collect();
    assert_eq!(counts, [(InteractionChannel::Email, 1, 1, 2), (InteractionChannel::Meeting, 0, 1, 1)]);
    assert_eq!((s.open_follow_ups, s.overdue_follow_ups), (2, 1));
    assert_eq!(s.sentiment_samples, 3);
    assert!((s.mean_sentiment - 1.0 / 3.0).abs() < 1e-9, "{}", s.mean_sentiment);
    // Not assessed: cadence 30, 3 expected in 90 days; 2 happened with mean sentiment 0.5, the last 2 days ago:
    // 50 × 2/3 + 30 × 2.5/4 + 20 × (1 − 2/60) = 33.33 + 18.75 + 19.33 = 71.42 → 71.
    let health = s.health.unwrap();
    assert_eq!((health.score, health.cadence_days, health.cadence_source.as_str()), (71, 30, "not assessed"));
    assert_eq!(health.interactions_90_days, 2);
    assert!((health.mean_sentiment_90_days - 0.5).abs() < 1e-9);
    let bob_summary = summary(client, &bob).await;
    assert_eq!((bob_summary.open_follow_ups, bob_summary.overdue_follow_ups), (2, 1), "due today is not overdue");
    let quiet = create_contact(client, "Quiet").await.name;
    let s = summary(client, &quiet).await;
    assert_eq!((s.days_since_last_interaction, s.last_interaction_time, s.sentiment_samples), (-1, None, 0));
    assert!(s.channel_counts.is_empty());
    assert_eq!(s.health.unwrap().score, 15, "no interaction at all: only the neutral sentiment points");
}

async fn the_health_score_follows_the_documented_formula(engine: Engine) {
    let mut app = app(engine).await;
    let client = &mut app.client;
    // Manage closely (cadence 14, 90/14 = 6.4 expected): seven very positive interactions, the last just now.
    let agency = create_organization(client, "Agency").await.name;
    assess(client, assessment(&agency, Some(days_ago(30)), Level::Low, Level::Low)).await.unwrap();
    assess(client, assessment(&agency, Some(days_ago(2)), Level::VeryHigh, Level::High)).await.unwrap();
    let now = Utc::now();
    for day in 0..7 {
        log(client, interaction(&[&agency], now - TimeDelta::days(day * 5), InteractionChannel::Meeting, 2))
            .await
            .unwrap();
    }
    let health = summary(client, &agency).await.health.unwrap();
    assert_eq!(health.score, 100, "{health:?}");
    assert_eq!((health.cadence_days, health.cadence_source.as_str()), (14, "QUADRANT_MANAGE_CLOSELY"));
    assert_eq!(health.interactions_90_days, 7);
    assert!((health.expected_interactions_90_days - 90.0 / 14.0).abs() < 1e-9);
    assert_eq!((health.frequency_points, health.sentiment_points, health.recency_points), (50.0, 30.0, 20.0));

    // Not assessed (cadence 30): one interaction (+1) fifteen days ago — the value computed by hand in the
    // domain tests: 50 × 1/3 + 30 × 3/4 + 20 × (1 − 15/60) = 16.67 + 22.5 + 15 = 54.17 → 54.
    let ada = create_contact(client, "Ada").await.name;
    log(client, interaction(&[&ada], now - TimeDelta::days(15) - TimeDelta::hours(2), InteractionChannel::Video, 1))
        .await
        .unwrap();
    let s = summary(client, &ada).await;
    let health = s.health.unwrap();
    assert_eq!((s.days_since_last_interaction, health.score), (15, 54), "{health:?}");
    assert!((health.frequency_points - 50.0 / 3.0).abs() < 1e-9);
    assert!((health.sentiment_points - 22.5).abs() < 1e-9);
    assert!((health.recency_points - 15.0).abs() < 1e-9);
}

async fn the_summary_of_a_party_that_does_not_exist_is_not_found(engine: Engine) {
    let mut app = app(engine).await;
    let status = app.client.get_engagement_summary(GetEngagementSummaryRequest { party: GHOST.into() }).err().await;
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains(GHOST));
    let status = app.client.get_engagement_summary(GetEngagementSummaryRequest { party: "cases/1".into() }).err().await;
    assert_eq!(bad_fields(&status), ["party"]);
}
