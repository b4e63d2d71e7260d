//! The audit trail (`liaison.common.v1.AuditService` on the contacts port): who changed which field of which
//! resource, through which RPC, from where — filtered, paged newest first, and recorded in the feed's changes too.
use crate::helpers::*;
use liaison_proto::common::v1::audit_service_client::AuditServiceClient;
use liaison_proto::common::v1::{AuditEvent, ChangeKind, ListAuditEventsRequest};
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::transport::Channel;

on_both_databases!(
    the_audit_says_who_changed_which_field_through_which_rpc_from_where,
    audit_events_are_filtered_by_actor_resource_rpc_and_time,
    audit_events_page_newest_first_with_tokens_bound_to_the_filter,
    bad_audit_filters_are_named_all_at_once,
    the_changes_of_the_feed_carry_the_audit_record,
);

const CREATE: &str = "liaison.contacts.v1.ContactsService/CreateContact";
const UPDATE: &str = "liaison.contacts.v1.ContactsService/UpdateContact";
const DELETE: &str = "liaison.contacts.v1.ContactsService/DeleteContact";

fn as_actor<T>(message: T, actor: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("liaison-actor", actor.parse().unwrap());
    request
}

/// A contact created by ada, its email changed by grace, deleted by ada.
struct Story {
    app: App,
    audit: AuditServiceClient<Channel>,
    name: String,
}

async fn story(engine: Engine) -> Story {
    let mut app = app(engine).await;
    let audit = AuditServiceClient::new(liaison_testkit::channel(&app.server));
    let created = app
        .client
        .create_contact(as_actor(
            CreateContactRequest { contact: Some(contact("Ada Lovelace")), request_id: String::new() },
            "ada",
        ))
        .ok()
        .await
        .contact
        .unwrap();
    let update = UpdateContactRequest {
        contact: Some(Contact { name: created.name.clone(), email: "ada@lovelace.org".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["email".into()] }),
    };
    app.client.update_contact(as_actor(update, "grace")).ok().await;
    let delete = DeleteContactRequest { name: created.name.clone(), etag: String::new() };
    app.client.delete_contact(as_actor(delete, "ada")).ok().await;
    Story { app, audit, name: created.name }
}

impl Story {
    async fn list(&mut self, request: ListAuditEventsRequest) -> Vec<AuditEvent> {
        self.audit.list_audit_events(request).ok().await.events
    }

    async fn of_contact(&mut self) -> Vec<AuditEvent> {
        self.list(ListAuditEventsRequest { resource_name: self.name.clone(), ..Default::default() }).await
    }
}

fn rpcs(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.rpc.as_str()).collect()
}

async fn the_audit_says_who_changed_which_field_through_which_rpc_from_where(engine: Engine) {
    let mut story = story(engine).await;
    let events = story.of_contact().await;
    assert_eq!(rpcs(&events), [DELETE, UPDATE, CREATE], "newest first");
    let who: Vec<(&str, i32)> = events.iter().map(|e| (e.actor.as_str(), e.kind)).collect();
    assert_eq!(
        who,
        [
            ("ada", ChangeKind::Deleted as i32),
            ("grace", ChangeKind::Updated as i32),
            ("ada", ChangeKind::Created as i32)
        ]
    );
    for event in &events {
        assert_eq!(event.resource_name, story.name);
        assert_eq!(event.resource_type, "liaison.contacts.v1.Contact");
        assert_eq!(event.calling_service, "", "a direct call");
        assert!(event.source_address.starts_with("127.0.0.1:"), "{event:?}");
        assert!(event.time.is_some() && event.sequence > 0, "{event:?}");
    }
    let (deleted, updated, created) = (&events[0], &events[1], &events[2]);
    let email = updated.field_changes.iter().find(|c| c.field == "email").expect("the email changed");
    assert_eq!(
        (email.old_value.as_str(), email.new_value.as_str()),
        ("\"ada.lovelace@example.org\"", "\"ada@lovelace.org\"")
    );
    assert!(
        updated.field_changes.iter().all(|c| !["etag", "update_time", "display_name"].contains(&c.field.as_str())),
        "only what changed: {:?}",
        updated.field_changes
    );
    let set: Vec<&str> = created.field_changes.iter().map(|c| c.field.as_str()).collect();
    assert!(set.contains(&"display_name") && set.contains(&"name"), "{set:?}");
    assert!(created.field_changes.iter().all(|c| c.old_value.is_empty() && !c.new_value.is_empty()));
    assert!(deleted.field_changes.iter().any(|c| c.field == "delete_time" && c.old_value.is_empty()), "{deleted:?}");
}

async fn audit_events_are_filtered_by_actor_resource_rpc_and_time(engine: Engine) {
    let mut story = story(engine).await;
    let other = create_contact(&mut story.app.client, "Somebody Else").await;
    let by_grace = story.list(ListAuditEventsRequest { actor: "grace".into(), ..Default::default() }).await;
    assert_eq!(rpcs(&by_grace), [UPDATE]);
    let by_ada = story.list(ListAuditEventsRequest { actor: "ada".into(), ..Default::default() }).await;
    assert_eq!(rpcs(&by_ada), [DELETE, CREATE]);
    let creates = story.list(ListAuditEventsRequest { rpc: CREATE.into(), ..Default::default() }).await;
    let created: Vec<&str> = creates.iter().map(|e| e.resource_name.as_str()).collect();
    assert_eq!(created, [other.name.as_str(), story.name.as_str()]);
    let ada_creates =
        story.list(ListAuditEventsRequest { actor: "ada".into(), rpc: CREATE.into(), ..Default::default() }).await;
    assert_eq!(ada_creates.len(), 1);
    assert_eq!(ada_creates[0].resource_name, story.name);
    // The range is half-open: from the update's time, up to (not including) the deletion's.
    let events = story.of_contact().await;
    let window = ListAuditEventsRequest { start_time: events[1].time, end_time: events[0].time, ..Default::default() };
    assert_eq!(rpcs(&story.list(window).await), [UPDATE]);
    let nobody = story.list(ListAuditEventsRequest { actor: "nobody".into(), ..Default::default() }).await;
    assert!(nobody.is_empty());
}

async fn audit_events_page_newest_first_with_tokens_bound_to_the_filter(engine: Engine) {
    let mut story = story(engine).await;
    let by_ada = ListAuditEventsRequest { actor: "ada".into(), page_size: Some(1), ..Default::default() };
    let first = story.audit.list_audit_events(by_ada.clone()).ok().await;
    assert_eq!(rpcs(&first.events), [DELETE]);
    assert!(!first.next_page_token.is_empty());
    let next = ListAuditEventsRequest { page_token: first.next_page_token.clone(), ..by_ada.clone() };
    let second = story.audit.list_audit_events(next).ok().await;
    assert_eq!(rpcs(&second.events), [CREATE]);
    assert_eq!(second.next_page_token, "", "the last page");
    let elsewhere = ListAuditEventsRequest { actor: "grace".into(), page_token: first.next_page_token, ..by_ada };
    let status = story.audit.list_audit_events(elsewhere).err().await;
    assert_eq!(bad_fields(&status), ["page_token"]);
}

async fn bad_audit_filters_are_named_all_at_once(engine: Engine) {
    let mut story = story(engine).await;
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let bad = ListAuditEventsRequest {
        start_time: at(2_000_000_000),
        end_time: at(1_000_000_000),
        page_size: Some(-1),
        page_token: "not-a-token".into(),
        ..Default::default()
    };
    let status = story.audit.list_audit_events(bad).err().await;
    assert_eq!(bad_fields(&status), ["end_time", "page_size", "page_token"]);
}

async fn the_changes_of_the_feed_carry_the_audit_record(engine: Engine) {
    let mut story = story(engine).await;
    let changes = all_changes(&mut story.app.client).await;
    let record: Vec<(&str, &str, &str)> =
        changes.iter().map(|c| (c.actor.as_str(), c.rpc.as_str(), c.calling_service.as_str())).collect();
    assert_eq!(record, [("ada", CREATE, ""), ("grace", UPDATE, ""), ("ada", DELETE, "")]);
    assert!(changes.iter().all(|c| c.source_address.starts_with("127.0.0.1:")), "{changes:?}");
}
