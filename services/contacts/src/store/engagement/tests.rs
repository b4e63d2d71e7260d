//! `repoint_party` and `restore_party` against real databases (SQLite, and PostgreSQL when configured).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::domain::contacts::ContactFields;
use crate::domain::organizations::OrganizationFields;
use crate::resource::engagement::{assessment_name, interaction_name};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::db::Db;
use liaison_testkit::{Engine, TestDatabase, on_both_databases};

struct Fixture {
    store: Store,
    _database: TestDatabase,
}

async fn fixture(engine: Engine) -> Fixture {
    let database = TestDatabase::new(engine).await.expect("database");
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate::<crate::store::migration::Migrator>().await.unwrap();
    Fixture { store: Store::new(db), _database: database }
}

fn no_key() -> CreateKey {
    CreateKey { request_id: None, fingerprint: String::new() }
}

async fn contact(store: &Store, name: &str) -> String {
    let fields =
        ContactFields::parse("contact", &wire::Contact { display_name: name.into(), ..Default::default() }).unwrap();
    resource::contact_name(&store.create_contact(fields, &no_key()).await.unwrap().id)
}

async fn organization(store: &Store, name: &str) -> String {
    let o = wire::Organization {
        display_name: name.into(),
        kind: wire::OrganizationKind::Agency as i32,
        ..Default::default()
    };
    let fields = OrganizationFields::parse("organization", &o).unwrap();
    resource::organization_name(&store.create_organization(fields, &no_key()).await.unwrap().id)
}

async fn assess(store: &Store, party: &str, days_ago: i64, influence: wire::Level) -> assessment::Model {
    let today = time::now().date_naive();
    let a = wire::Assessment {
        party: party.into(),
        assessment_date: crate::domain::graph::date_to_wire(Some(today - chrono::TimeDelta::days(days_ago))),
        influence: influence as i32,
        interest: wire::Level::High as i32,
        impact: wire::Level::Low as i32,
        comment: format!("{days_ago} days ago"),
        ..Default::default()
    };
    store.create_assessment(NewAssessment::parse(&a, today).unwrap(), &no_key()).await.unwrap()
}

async fn log(store: &Store, participants: &[&str], subject: &str) -> StoredInteraction {
    let i = wire::Interaction {
        channel: wire::InteractionChannel::Meeting as i32,
        direction: wire::InteractionDirection::Inbound as i32,
        occur_time: Some(liaison_runtime::api::time::to_timestamp(time::now())),
        participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        subject: subject.into(),
        ..Default::default()
    };
    let fields = InteractionFields::parse("interaction", &i, time::now()).unwrap();
    store.create_interaction(fields, &no_key()).await.unwrap()
}

async fn assessments(store: &Store, party: &str) -> Vec<assessment::Model> {
    store.list_assessments(party, None, 100).await.unwrap()
}

async fn reload(store: &Store, stored: &StoredInteraction) -> StoredInteraction {
    let name = Name::<Interactions>::parse("name", &interaction_name(&stored.interaction.id)).unwrap();
    store.get_interaction(name).await.unwrap()
}

/// The whole feed as `(resource name, kind)`, once at least `expected` changes are served (on PostgreSQL a
/// commit is served once every older transaction of the cluster has ended).
async fn feed_of(store: &Store, expected: usize) -> Vec<(String, i32)> {
    liaison_testkit::eventually(std::time::Duration::from_secs(10), "the changes", || async move {
        let page = liaison_runtime::feed::list(store.db(), 0, 1000).await.ok()?;
        (page.changes.len() >= expected)
            .then(|| page.changes.into_iter().map(|c| (c.resource_name, c.kind)).collect::<Vec<_>>())
    })
    .await
}

on_both_databases!(
    repoint_moves_assessments_and_participations_and_restore_puts_them_back,
    repoint_with_nothing_to_move_or_onto_itself_changes_nothing,
    restore_leaves_what_was_deleted_since_and_keeps_later_edits,
);

async fn repoint_moves_assessments_and_participations_and_restore_puts_them_back(engine: Engine) {
    let f = fixture(engine).await;
    let store = &f.store;
    let (merged, survivor, other) =
        (contact(store, "Ada L.").await, contact(store, "Ada Lovelace").await, organization(store, "Agency").await);
    let moved_assessment = assess(store, &merged, 10, wire::Level::VeryHigh).await;
    let clashing = assess(store, &merged, 3, wire::Level::Low).await;
    let survivors_own = assess(store, &survivor, 3, wire::Level::Medium).await;
    let moved_in = log(store, &[&merged, &other], "Moved in").await;
    let shared = log(store, &[&other, &merged, &survivor], "Both took part").await;
    let untouched = log(store, &[&other], "Untouched").await;
    let setup = feed_of(store, 9).await.len();
    assert_eq!(setup, 9, "three parties, three assessments, three interactions");

    let txn = store.db().begin_write().await.unwrap();
    let moves = repoint_party(&txn, &merged, &survivor).await.unwrap();
    txn.commit().await.unwrap();

    let kinds: Vec<(String, MovedRow)> = moves.iter().map(|m| (m.resource.clone(), m.change.clone())).collect();
    assert_eq!(
        kinds,
        [
            (
                assessment_name(&moved_assessment.id),
                MovedRow::AssessmentMoved { from: merged.clone(), to: survivor.clone() }
            ),
            (
                assessment_name(&clashing.id),
                MovedRow::AssessmentRemoved { to: survivor.clone(), row: RemovedAssessment::of(&clashing) }
            ),
            (
                interaction_name(&moved_in.interaction.id),
                MovedRow::ParticipationMoved { from: merged.clone(), to: survivor.clone(), position: 0 }
            ),
            (
                interaction_name(&shared.interaction.id),
                MovedRow::ParticipationRemoved { from: merged.clone(), to: survivor.clone(), position: 1 }
            ),
        ]
    );
    assert!(moves.iter().all(|m| m.description.contains(&merged) && m.description.contains(&survivor)));
    assert!(assessments(store, &merged).await.is_empty());
    let now_survivors: Vec<String> = assessments(store, &survivor).await.into_iter().map(|a| a.id).collect();
    assert_eq!(now_survivors, [survivors_own.id.clone(), moved_assessment.id.clone()], "at most one per day");
    let after_move = reload(store, &moved_in).await;
    assert_eq!(after_move.participants, [survivor.clone(), other.clone()]);
    assert_eq!(after_move.interaction.revision, 2, "a new etag");
    assert_eq!(reload(store, &shared).await.participants, [other.clone(), survivor.clone()]);
    assert_eq!(reload(store, &untouched).await, untouched);
    let by_survivor = InteractionFilter { party: Some(survivor.clone()), ..Default::default() };
    assert_eq!(store.list_interactions(&by_survivor, None, 10).await.unwrap().len(), 2);
    let updated = ChangeKind::Updated as i32;
    assert_eq!(
        feed_of(store, 13).await[9..],
        [
            (assessment_name(&moved_assessment.id), updated),
            (assessment_name(&clashing.id), ChangeKind::Deleted as i32),
            (interaction_name(&moved_in.interaction.id), updated),
            (interaction_name(&shared.interaction.id), updated),
        ]
    );

    // The record survives JSON (the merge stores it so) and undoes exactly the moves.
    let stored: Vec<EngagementMove> = serde_json::from_str(&serde_json::to_string(&moves).unwrap()).unwrap();
    assert_eq!(stored, moves);
    let txn = store.db().begin_write().await.unwrap();
    restore_party(&txn, &stored).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(assessments(store, &merged).await, [clashing.clone(), moved_assessment.clone()]);
    assert_eq!(assessments(store, &survivor).await, [survivors_own]);
    let restored = reload(store, &moved_in).await;
    assert_eq!(restored.participants, moved_in.participants);
    assert_eq!(restored.interaction.revision, 3, "an etag never comes back");
    assert_eq!(reload(store, &shared).await.participants, shared.participants);
    let mut after_unmerge = feed_of(store, 17).await[13..].to_vec();
    after_unmerge.sort();
    let mut expected = vec![
        (assessment_name(&moved_assessment.id), updated),
        (assessment_name(&clashing.id), ChangeKind::Created as i32),
        (interaction_name(&moved_in.interaction.id), updated),
        (interaction_name(&shared.interaction.id), updated),
    ];
    expected.sort();
    assert_eq!(after_unmerge, expected);
}

async fn repoint_with_nothing_to_move_or_onto_itself_changes_nothing(engine: Engine) {
    let f = fixture(engine).await;
    let store = &f.store;
    let (a, b) = (contact(store, "A").await, organization(store, "B").await);
    let own = assess(store, &a, 0, wire::Level::High).await;
    let txn = store.db().begin_write().await.unwrap();
    assert!(repoint_party(&txn, &b, &a).await.unwrap().is_empty(), "B has nothing");
    assert!(repoint_party(&txn, &a, &a).await.unwrap().is_empty(), "onto itself");
    assert!(matches!(repoint_party(&txn, "meetings/1", &a).await, Err(Error::Internal(_))));
    restore_party(&txn, &[]).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(assessments(store, &a).await, [own]);
}

async fn restore_leaves_what_was_deleted_since_and_keeps_later_edits(engine: Engine) {
    let f = fixture(engine).await;
    let store = &f.store;
    let (merged, survivor, other) = (contact(store, "M").await, contact(store, "S").await, contact(store, "O").await);
    let deleted_later = log(store, &[&merged], "Deleted after the merge").await;
    let edited_later = log(store, &[&merged, &other], "Survivor removed after the merge").await;
    let txn = store.db().begin_write().await.unwrap();
    let moves = repoint_party(&txn, &merged, &survivor).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(moves.len(), 2);
    let name = |s: &StoredInteraction| Name::<Interactions>::parse("n", &interaction_name(&s.interaction.id)).unwrap();
    store.delete_interaction(name(&deleted_later), None).await.unwrap();
    store
        .update_interaction(name(&edited_later), None, |current| {
            let mut edited = current.clone();
            edited.participants = vec![other.clone()];
            Ok(InteractionFields::parse("interaction", &edited, time::now()).unwrap())
        })
        .await
        .unwrap();
    let txn = store.db().begin_write().await.unwrap();
    restore_party(&txn, &moves).await.unwrap();
    txn.commit().await.unwrap();
    let edited = reload(store, &edited_later).await;
    assert_eq!(edited.participants, std::slice::from_ref(&other), "the participation removed since stays removed");
    assert_eq!(edited.interaction.revision, 3, "nothing restored, no new revision");
    let by_merged = InteractionFilter { party: Some(merged), ..Default::default() };
    assert!(store.list_interactions(&by_merged, None, 10).await.unwrap().is_empty());
}
