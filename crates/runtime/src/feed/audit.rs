//! `liaison.common.v1.AuditService`, implemented once for every server: the audit trail of a service is its change
//! feed read another way.
//!
//! Every mutation already appends a change row in its own transaction, stamped with who made it, through which
//! service and RPC, from where (see [`crate::feed::insert`]), and the full resource after the change. The rows are
//! append-only, so a change's old → new values are the difference between its resource and the one in the
//! resource's previous change row, which the same query fetches (by the `changes_by_resource` index). The
//! difference is computed field by field by reflection over the descriptor set every server already carries for
//! gRPC reflection, so one implementation covers every resource type of every service.
//!
//! An audit reads what is committed, newest first; unlike a feed consumer it needs no horizon (see
//! [`crate::feed`]): a page lists what had committed when it was read.
use crate::Validate;
use crate::api::error::{Error, FieldViolation};
use crate::api::paging::{self, PageRequest};
use crate::db::sql::statement;
use crate::db::{Db, db_error};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::audit_service_server::{AuditService, AuditServiceServer};
use liaison_proto::common::v1::{AuditEvent, ChangeKind, FieldChange, ListAuditEventsRequest, ListAuditEventsResponse};
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions, Value};
use sea_orm::FromQueryResult;
use std::borrow::Cow;
use tonic::{Request, Response, Status};

/// The fully-qualified gRPC name of the audit service (for reflection and routing), as the generated code names it.
pub const SERVICE_NAME: &str = <AuditServiceServer<Audit> as tonic::server::NamedService>::NAME;

/// The longest `actor`, `resource_name` or `rpc` filter accepted: longer than any stored value can be.
const MAX_FILTER_CHARS: usize = 1000;

/// Top-level fields left out of every diff: every write changes them, so they say nothing about what changed.
const SKIPPED_FIELDS: [&str; 2] = ["etag", "update_time"];

/// The audit trail of one service's database.
#[derive(Debug, Clone)]
pub struct Audit {
    db: Db,
}

impl Audit {
    /// The tonic service over `db`.
    pub fn server(db: Db) -> AuditServiceServer<Self> {
        crate::limit_messages!(AuditServiceServer::new(Self { db }))
    }
}

#[tonic::async_trait]
impl AuditService for Audit {
    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        let query = Query::parse(&request.into_inner())?;
        Ok(Response::new(list(&self.db, &query).await?))
    }
}

/// A validated `ListAuditEvents` request.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    actor: String,
    resource_name: String,
    rpc: String,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    size: u64,
    /// The page starts below this sequence (the last event of the previous page).
    before: Option<i64>,
    /// What this request's page tokens are bound to.
    scope: String,
}

impl Query {
    /// Parses every field, naming every bad one at once.
    fn parse(request: &ListAuditEventsRequest) -> Result<Self, Error> {
        // A filter of a shape no stored value can have is a mistake to report, not a question to answer with
        // nothing (the stored values are written by the services, so their shapes are known).
        let filter = |field: &str, value: &str, shape: fn(&str) -> Result<(), &'static str>| {
            if value.chars().count() > MAX_FILTER_CHARS {
                Err(FieldViolation::new(field, format!("must be at most {MAX_FILTER_CHARS} characters")))
            } else if value.chars().any(char::is_control) {
                Err(FieldViolation::new(field, "must not contain control characters"))
            } else if let Err(why) = if value.is_empty() { Ok(()) } else { shape(value) } {
                Err(FieldViolation::new(field, why))
            } else {
                Ok(value.to_owned())
            }
        };
        let time = |field: &str, value: Option<&prost_types::Timestamp>| {
            value.map(|t| crate::api::time::from_timestamp(field, Some(t))).transpose()
        };
        let (start, end) =
            (time("start_time", request.start_time.as_ref()), time("end_time", request.end_time.as_ref()));
        let range = match (&start, &end) {
            (Ok(Some(start)), Ok(Some(end))) if end <= start => {
                Err(FieldViolation::new("end_time", "must be after start_time (the range is [start_time, end_time))"))
            }
            _ => Ok(()),
        };
        let scope = scope(request);
        let page = paging::parse(request.page_size, &request.page_token, &scope).and_then(|page| {
            let before = match &page.after {
                None => None,
                Some(key) => Some(key.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    vec![FieldViolation::new("page_token", "is not a page token issued by this call; start again")]
                })?),
            };
            Ok((page, before))
        });
        let (actor, resource_name, rpc, start, end, (), (PageRequest { size, .. }, before)) = (
            filter("actor", &request.actor, |actor| {
                crate::api::validate::unmangled("actor", actor)
                    .map_err(|_| "must not contain bidirectional overrides or U+FFFD")
            }),
            filter("resource_name", &request.resource_name, resource_name_shape),
            filter("rpc", &request.rpc, rpc_shape),
            start,
            end,
            range,
            page,
        )
            .validate()?;
        Ok(Self { actor, resource_name, rpc, start, end, size, before, scope })
    }
}

/// `collection/id[/collection/id]…`: collections are lowerCamelCase words, ids URL-safe characters (not `.` or
/// `..`), as every resource name a service writes.
fn resource_name_shape(value: &str) -> Result<(), &'static str> {
    const WHY: &str = "must be a resource name, collection/id pairs such as contacts/0193…";
    let segments: Vec<&str> = value.split('/').collect();
    if !segments.len().is_multiple_of(2) || segments.len() > 8 {
        return Err(WHY);
    }
    let collection =
        |s: &str| s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_alphabetic());
    let id = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    };
    if segments.chunks(2).all(|pair| collection(pair[0]) && id(pair[1])) { Ok(()) } else { Err(WHY) }
}

/// `package.Service/Method`: dotted identifiers, one slash, a method identifier.
fn rpc_shape(value: &str) -> Result<(), &'static str> {
    const WHY: &str = "must be package.Service/Method, e.g. liaison.contacts.v1.ContactsService/UpdateContact";
    let identifier = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match value.split_once('/') {
        Some((service, method)) if service.split('.').all(identifier) && identifier(method) => Ok(()),
        _ => Err(WHY),
    }
}

/// The scope a page token is bound to: the method and a digest of its filters, as sent (a token issued for other
/// filters would page through another list).
fn scope(request: &ListAuditEventsRequest) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let time = |t: Option<&prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos));
    // Debug quotes and escapes each string, so that no two filters give the same text.
    let filters = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        request.actor,
        request.resource_name,
        request.rpc,
        time(request.start_time.as_ref()),
        time(request.end_time.as_ref())
    );
    let digest = Sha256::digest(filters.as_bytes());
    format!("ListAuditEvents {}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]))
}

#[derive(Debug, FromQueryResult)]
struct AuditRow {
    sequence: i64,
    change_time: DateTime<Utc>,
    resource_name: String,
    kind: i32,
    type_url: String,
    payload: Vec<u8>,
    actor: String,
    calling_service: String,
    rpc: String,
    source_address: String,
    /// The resource in its previous change row (none for a creation, which is diffed against nothing).
    previous: Option<Vec<u8>>,
}

/// One page of audit events, newest first.
async fn list(db: &Db, query: &Query) -> Result<ListAuditEventsResponse, Error> {
    let conn = db.conn();
    let mut conditions = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    for (column, value) in [("actor", &query.actor), ("resource_name", &query.resource_name), ("rpc", &query.rpc)] {
        if !value.is_empty() {
            conditions.push(format!("c.{column} = ?"));
            values.push(value.as_str().into());
        }
    }
    if let Some(start) = query.start {
        conditions.push("c.change_time >= ?".to_owned());
        values.push(start.into());
    }
    if let Some(end) = query.end {
        conditions.push("c.change_time < ?".to_owned());
        values.push(end.into());
    }
    if let Some(before) = query.before {
        conditions.push("c.sequence < ?".to_owned());
        values.push(before.into());
    }
    let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    // One more row than the page: whether there is a next page.
    values.push(((query.size + 1) as i64).into());
    let created = ChangeKind::Created as i32;
    let sql = format!(
        "SELECT c.sequence, c.change_time, c.resource_name, c.kind, c.type_url, c.payload, c.actor, \
         c.calling_service, c.rpc, c.source_address, \
         CASE WHEN c.kind = {created} THEN NULL ELSE \
         (SELECT p.payload FROM changes p WHERE p.resource_name = c.resource_name AND p.sequence < c.sequence \
          ORDER BY p.sequence DESC LIMIT 1) END AS previous \
         FROM changes c {filter} ORDER BY c.sequence DESC LIMIT ?"
    );
    let rows = AuditRow::find_by_statement(statement(conn.get_database_backend(), &sql, values))
        .all(conn)
        .await
        .map_err(db_error)?;
    let events: Vec<AuditEvent> = rows.into_iter().map(event).collect();
    let (events, next_page_token) =
        paging::page(events, query.size, &query.scope, |event| event.sequence.to_string(), AuditEvent::clone);
    Ok(ListAuditEventsResponse { events, next_page_token })
}

fn event(row: AuditRow) -> AuditEvent {
    let kind = ChangeKind::try_from(row.kind).unwrap_or(ChangeKind::Unspecified);
    let field_changes = field_changes(&row.type_url, kind, row.previous.as_deref(), &row.payload);
    AuditEvent {
        sequence: row.sequence,
        time: Some(crate::api::time::to_timestamp(row.change_time)),
        actor: row.actor,
        calling_service: row.calling_service,
        rpc: row.rpc,
        source_address: row.source_address,
        resource_name: row.resource_name,
        kind: row.kind,
        resource_type: type_name(&row.type_url).to_owned(),
        field_changes,
    }
}

/// `liaison.contacts.v1.Contact` of `type.googleapis.com/liaison.contacts.v1.Contact`.
fn type_name(type_url: &str) -> &str {
    type_url.rsplit_once('/').map_or(type_url, |(_, name)| name)
}

/// The fields a change of kind `kind` made to a resource of type `type_url`: its resource `payload` against the
/// `previous` one (a creation against nothing). Nothing when the type is unknown or a payload does not decode: an
/// audit event is still worth having without its diff. Nothing for a change erased by a purge (its payload is
/// empty; no resource encodes to nothing, since every one has a name).
pub fn field_changes(type_url: &str, kind: ChangeKind, previous: Option<&[u8]>, payload: &[u8]) -> Vec<FieldChange> {
    if payload.is_empty() {
        return Vec::new();
    }
    let Some(descriptor) =
        crate::api::descriptors::pool().and_then(|pool| pool.get_message_by_name(type_name(type_url)))
    else {
        return Vec::new();
    };
    let Ok(after) = DynamicMessage::decode(descriptor.clone(), payload) else { return Vec::new() };
    let before = match previous.filter(|_| kind != ChangeKind::Created) {
        None => None,
        Some(bytes) => match DynamicMessage::decode(descriptor.clone(), bytes) {
            Ok(before) => Some(before),
            Err(_) => return Vec::new(),
        },
    };
    let mut out = Vec::new();
    diff(&descriptor, "", before.as_ref(), Some(&after), &mut out);
    out
}

/// Appends the differences between two states of a message (`None`: absent) to `out`, fields under `prefix`.
fn diff(
    descriptor: &MessageDescriptor,
    prefix: &str,
    before: Option<&DynamicMessage>,
    after: Option<&DynamicMessage>,
    out: &mut Vec<FieldChange>,
) {
    /// The field's value when it is present (set, or not its default where presence is not tracked).
    fn value<'m>(message: Option<&'m DynamicMessage>, field: &FieldDescriptor) -> Option<Cow<'m, Value>> {
        message.filter(|m| m.has_field(field)).map(|m| m.get_field(field))
    }
    for field in descriptor.fields() {
        if prefix.is_empty() && SKIPPED_FIELDS.contains(&field.name()) {
            continue;
        }
        let path = if prefix.is_empty() { field.name().to_owned() } else { format!("{prefix}.{}", field.name()) };
        let (old, new) = (value(before, &field), value(after, &field));
        if old == new {
            continue;
        }
        // A nested message is compared field by field, so that a path names what changed in it; well-known types
        // (timestamps, durations, wrappers) are values, shown whole as their JSON form.
        if let Kind::Message(nested) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && !nested.full_name().starts_with("google.protobuf.")
        {
            let message = |v: &Option<Cow<'_, Value>>| v.as_ref().and_then(|v| v.as_message().cloned());
            diff(&nested, &path, message(&old).as_ref(), message(&new).as_ref(), out);
            continue;
        }
        let old_value = old.map(|v| json(&field, &v)).unwrap_or_default();
        let new_value = new.map(|v| json(&field, &v)).unwrap_or_default();
        out.push(FieldChange { field: path, old_value, new_value });
    }
}

/// The proto3 JSON form of one field's value, e.g. `"ada@example.org"`, `["CONTACT_CHANNEL_EMAIL"]`,
/// `"2026-01-02T03:04:05Z"`: a message holding only that field, serialized, and the field taken out of it.
fn json(field: &FieldDescriptor, value: &Value) -> String {
    let mut holder = DynamicMessage::new(field.parent_message().clone());
    if holder.try_set_field(field, value.clone()).is_err() {
        return String::new();
    }
    let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
    match holder.serialize_with_options(serde_json::value::Serializer, &options) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.remove(field.name()).map(|v| v.to_string()).unwrap_or_default()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::contacts::v1::{Consent, Contact, ContactChannel};
    use prost::Message;

    const CONTACT: &str = "type.googleapis.com/liaison.contacts.v1.Contact";

    fn changes(kind: ChangeKind, before: Option<&Contact>, after: &Contact) -> Vec<(String, String, String)> {
        let before = before.map(Message::encode_to_vec);
        field_changes(CONTACT, kind, before.as_deref(), &after.encode_to_vec())
            .into_iter()
            .map(|c| (c.field, c.old_value, c.new_value))
            .collect()
    }

    fn triple(field: &str, old: &str, new: &str) -> (String, String, String) {
        (field.to_owned(), old.to_owned(), new.to_owned())
    }

    #[test]
    fn filters_of_a_shape_no_stored_value_has_are_refused_together() {
        let request = ListAuditEventsRequest {
            actor: "jane\u{0}".into(),
            resource_name: "contacts/../x".into(),
            rpc: "UpdateContact".into(),
            ..Default::default()
        };
        let Err(Error::InvalidArgument(violations)) = Query::parse(&request) else { panic!("bad filters accepted") };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["actor", "resource_name", "rpc"]);
        for good in ["contacts/0193a", "cases/1/proposals/2", "reports/a-b_c.d~e"] {
            assert_eq!(resource_name_shape(good), Ok(()), "{good}");
        }
        for bad in ["contacts", "contacts/", "/contacts/1", "contacts/a b", "contacts/\u{202E}1", "Contacts/1", "a/1/b"]
        {
            assert!(resource_name_shape(bad).is_err(), "{bad:?} passed");
        }
        assert_eq!(rpc_shape("liaison.contacts.v1.ContactsService/UpdateContact"), Ok(()));
        for bad in ["/liaison.X/Y", "liaison.X/", "liaison..X/Y", "liaison.X/Y/Z"] {
            assert!(rpc_shape(bad).is_err(), "{bad:?} passed");
        }
    }

    fn ada() -> Contact {
        Contact {
            name: "contacts/1".into(),
            display_name: "Ada".into(),
            email: "ada@example.org".into(),
            etag: "\"1\"".into(),
            update_time: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
            ..Default::default()
        }
    }

    #[test]
    fn a_creation_lists_every_set_field_but_etag_and_update_time_against_nothing() {
        let created = changes(ChangeKind::Created, Some(&Contact::default()), &ada());
        assert_eq!(
            created,
            [
                triple("name", "", "\"contacts/1\""),
                triple("display_name", "", "\"Ada\""),
                triple("email", "", "\"ada@example.org\""),
            ]
        );
    }

    #[test]
    fn an_update_lists_what_changed_with_paths_into_nested_messages() {
        let before = Contact { consent: Some(Consent { note: "by phone".into(), ..Default::default() }), ..ada() };
        let after = Contact {
            email: "ada@lovelace.org".into(),
            etag: "\"2\"".into(),
            update_time: Some(prost_types::Timestamp { seconds: 2, nanos: 0 }),
            consent: Some(Consent {
                do_not_contact: true,
                note: "by phone".into(),
                allowed_channels: vec![ContactChannel::Email as i32, ContactChannel::Phone as i32],
                ..Default::default()
            }),
            ..ada()
        };
        assert_eq!(
            changes(ChangeKind::Updated, Some(&before), &after),
            [
                triple("email", "\"ada@example.org\"", "\"ada@lovelace.org\""),
                triple("consent.do_not_contact", "", "true"),
                triple("consent.allowed_channels", "", "[\"CONTACT_CHANNEL_EMAIL\",\"CONTACT_CHANNEL_PHONE\"]"),
            ]
        );
    }

    #[test]
    fn a_repeated_field_is_compared_and_shown_whole() {
        let before = Contact { labels: vec!["a".into(), "b".into()], ..ada() };
        let after = Contact { labels: vec!["a".into(), "c".into()], ..ada() };
        assert_eq!(
            changes(ChangeKind::Updated, Some(&before), &after),
            [triple("labels", "[\"a\",\"b\"]", "[\"a\",\"c\"]")]
        );
        assert_eq!(changes(ChangeKind::Updated, Some(&after), &after), []);
    }

    #[test]
    fn a_deletion_shows_what_the_deletion_set_and_a_timestamp_as_json() {
        let deleted = Contact { delete_time: Some(prost_types::Timestamp { seconds: 0, nanos: 0 }), ..ada() };
        assert_eq!(
            changes(ChangeKind::Deleted, Some(&ada()), &deleted),
            [triple("delete_time", "", "\"1970-01-01T00:00:00Z\"")]
        );
    }

    #[test]
    fn an_unknown_type_or_an_undecodable_payload_gives_no_field_changes() {
        let payload = ada().encode_to_vec();
        assert!(field_changes("type.googleapis.com/nope.v1.Thing", ChangeKind::Updated, None, &payload).is_empty());
        assert!(field_changes("", ChangeKind::Created, None, &payload).is_empty());
        assert!(field_changes(CONTACT, ChangeKind::Updated, Some(&[0xff, 0xff]), &payload).is_empty());
        assert!(field_changes(CONTACT, ChangeKind::Updated, Some(&payload), &[]).is_empty(), "an erased change");
        assert!(field_changes(CONTACT, ChangeKind::Created, None, &[0xff, 0xff, 0xff]).is_empty());
    }

    fn request() -> ListAuditEventsRequest {
        ListAuditEventsRequest::default()
    }

    fn bad_fields(request: &ListAuditEventsRequest) -> Vec<String> {
        match Query::parse(request) {
            Err(Error::InvalidArgument(violations)) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_request_lists_everything_fifty_at_a_time() {
        let query = Query::parse(&request()).expect("valid");
        assert_eq!((query.size, query.before, query.start, query.end), (50, None, None, None));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let ts = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        let bad = ListAuditEventsRequest {
            actor: "x".repeat(1001),
            start_time: ts(2_000_000_000),
            end_time: ts(1_000_000_000),
            page_size: Some(-1),
            page_token: "garbage".into(),
            ..request()
        };
        assert_eq!(bad_fields(&bad), ["actor", "end_time", "page_size", "page_token"]);
        let out_of_range = ListAuditEventsRequest { start_time: ts(i64::MAX), page_size: Some(0), ..request() };
        assert_eq!(bad_fields(&out_of_range), ["start_time", "page_size"]);
    }

    #[test]
    fn a_page_token_is_bound_to_its_filters() {
        let first = ListAuditEventsRequest { actor: "ada".into(), ..request() };
        let token = paging::next_token(&scope(&first), "42");
        let next = ListAuditEventsRequest { page_token: token.clone(), ..first.clone() };
        assert_eq!(Query::parse(&next).expect("valid").before, Some(42));
        let other = ListAuditEventsRequest { actor: "grace".into(), page_token: token, ..request() };
        assert_eq!(bad_fields(&other), ["page_token"]);
    }
}
