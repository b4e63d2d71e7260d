//! Bad input over every RPC of every service, generated from the descriptor set — nothing hand-listed but the
//! bad values themselves: the real all-in-one is sent a corpus of requests, each with one field made bad in a way
//! the field's type and name say is bad everywhere (wrong-type and odd resource names, over-long and NUL-bearing
//! strings, unknown enum numbers, out-of-range numbers, malformed times, time zones, recurrence rules, filters,
//! page tokens and field masks, oversized repeated fields, 4-byte characters), then the context-bound cases (wrong
//! etags, a replayed `request_id` with other content) on resources made first.
//!
//! Every answer must be INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS or ABORTED with the field
//! or the reason named; a value bad in itself must be refused as INVALID_ARGUMENT naming that field (so every bad
//! field is named at once, not only the first). Afterwards: no change in any service's feed (nothing written),
//! no panic in the log, and the process's peak memory within the limits' bound.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use bytes::Bytes;
use futures::future::join_all;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_testkit::e2e::{AllInOne, assert_no_panic};
use liaison_testkit::raw::{call, served_rpcs};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// How many calls are in flight at once.
const CONCURRENCY: usize = 8;
/// The all-in-one's peak resident memory must stay under the limits' bound for it (docs/limits.md).
const ALL_IN_ONE_PEAK_BYTES: u64 = 600 * 1024 * 1024;
/// Longer than any text field may be, and well under the 1 MiB request bound, so that the field's own check
/// answers rather than the transport.
const OVER_LONG_CHARS: usize = 100_000;
/// More items than any repeated field may hold.
const OVERSIZED_REPEATED: usize = 10_001;

/// The answers a bad request may get.
const ALLOWED: [Code; 5] =
    [Code::InvalidArgument, Code::FailedPrecondition, Code::NotFound, Code::AlreadyExists, Code::Aborted];

/// One bad request.
struct Case {
    port: u16,
    rpc: String,
    /// Client streams (imports) are sent one at a time: a server runs only so many at once.
    one_at_a_time: bool,
    /// What was made bad and how.
    label: String,
    /// The field path the answer must name, when the value is bad whatever the rest of the request holds.
    must_name: Option<String>,
    message: Bytes,
}

/// A bad value for one field; `strict` when it is bad whatever the rest of the request holds.
struct BadValue {
    what: &'static str,
    value: Value,
    strict: bool,
}

fn bad(what: &'static str, value: Value, strict: bool) -> BadValue {
    BadValue { what, value, strict }
}

fn text(value: impl Into<String>) -> Value {
    Value::String(value.into())
}

/// Fields named like resource names that hold people's words instead.
const TEXT_NAMES: [&str; 4] = ["display_name", "given_name", "family_name", "file_name"];

fn is_resource_name(field: &str) -> bool {
    (field == "name" || field == "parent" || field.ends_with("_name") || field.ends_with("_names"))
        && !TEXT_NAMES.contains(&field)
}

/// The comment the proto file gives `field` (empty if none).
fn comment(field: &FieldDescriptor) -> String {
    let file = field.parent_file();
    let file = file.file_descriptor_proto();
    let Some(info) = &file.source_code_info else { return String::new() };
    info.location
        .iter()
        .find(|location| location.path == field.path())
        .and_then(|location| location.leading_comments.clone().or_else(|| location.trailing_comments.clone()))
        .unwrap_or_default()
}

/// Whether the request ignores `inner` inside `outer`: documented output only, or named as ignored by the
/// request's comment on `outer` (as create requests say of `name` and computed fields).
fn ignored(outer: &FieldDescriptor, inner: &FieldDescriptor) -> bool {
    let outer_comment = comment(outer);
    comment(inner).to_lowercase().contains("output only")
        || (outer_comment.contains("ignored") && outer_comment.contains(&format!("`{}`", inner.name())))
}

/// Bad values of a single (not repeated) field, by its type and name.
fn bad_scalars(field: &FieldDescriptor) -> Vec<BadValue> {
    let name = field.name();
    match field.kind() {
        Kind::String => {
            let mut values = vec![
                bad("NUL", text("a\u{0}b"), true),
                bad("over-long", text("x".repeat(OVER_LONG_CHARS)), true),
                bad("over-long in 4-byte characters", text("😀".repeat(OVER_LONG_CHARS / 4 + 1)), true),
                bad("bidirectional override", text("\u{202E}fdp.exe"), true),
                bad("unpaired surrogate as JSON decoders replace it", text("Ada\u{FFFD}"), true),
            ];
            if is_resource_name(name) {
                // A filter ("Only the changes of this resource") naming a collection the server does not have
                // is well formed and matches nothing; anywhere else that name is of the wrong type.
                if !comment(field).trim_start().starts_with("Only") {
                    values.push(bad("name of no collection", text("widgets/0198a3c4"), true));
                }
                values.extend([
                    bad("name with a path", text("contacts/../x"), true),
                    bad("name with too many segments", text("contacts/a/b/c/d/e/f"), true),
                    bad("name with a space", text("contacts/a b"), true),
                    bad("name with an RTL mark", text("contacts/\u{202E}1"), true),
                    bad("name with an unpaired-surrogate replacement", text("contacts/\u{FFFD}"), true),
                ]);
            }
            match name {
                "page_token" => values.push(bad("malformed page token", text("not a token!"), true)),
                "filter" => values.extend([
                    bad("unbalanced filter", text("(("), true),
                    bad("filter on no field", text("no_such_field = \"x\""), true),
                ]),
                "order_by" => values.push(bad("order by no field", text("no_such_field desc"), true)),
                "time_zone" => values.extend([
                    bad("unknown time zone", text("Mars/Olympus_Mons"), true),
                    bad("offset as time zone", text("UTC+25"), true),
                ]),
                "etag" => values.push(bad("wrong etag", text("W/\"0-nonsense\""), false)),
                "request_id" => values.push(bad("request id with a newline", text("a\nb"), true)),
                n if n.contains("rrule") || n.contains("recurrence") => values.extend([
                    bad("RRULE of no frequency", text("FREQ=SOMETIMES"), true),
                    bad("RRULE with a zero count", text("FREQ=DAILY;COUNT=0"), true),
                    bad("RRULE with a part twice", text("FREQ=DAILY;FREQ=WEEKLY"), true),
                ]),
                n if n.contains("email") => values.push(bad("email without a domain", text("nobody@"), true)),
                _ => {}
            }
            values
        }
        // A negative number is bad in itself only where the field counts (elsewhere, a sentiment say, it may be
        // meant); the rest of the request still makes it bad.
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let counts = name == "page_size";
            vec![bad("negative", Value::I32(-1), counts), bad("minimum i32", Value::I32(i32::MIN), counts)]
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            let counts = name.ends_with("sequence") || name.ends_with("_count");
            vec![bad("negative", Value::I64(-1), counts), bad("minimum i64", Value::I64(i64::MIN), counts)]
        }
        Kind::Uint32 | Kind::Fixed32 => vec![bad("maximum u32", Value::U32(u32::MAX), false)],
        Kind::Uint64 | Kind::Fixed64 => vec![bad("maximum u64", Value::U64(u64::MAX), false)],
        Kind::Double => {
            vec![bad("NaN", Value::F64(f64::NAN), true), bad("infinity", Value::F64(f64::INFINITY), true)]
        }
        Kind::Float => {
            vec![bad("NaN", Value::F32(f32::NAN), true), bad("infinity", Value::F32(f32::INFINITY), true)]
        }
        Kind::Enum(_) => {
            vec![
                bad("unknown enum number", Value::EnumNumber(999), true),
                bad("negative enum", Value::EnumNumber(-7), true),
            ]
        }
        Kind::Message(message) => bad_well_known(&message),
        Kind::Bool | Kind::Bytes => Vec::new(),
    }
}

/// Bad values of the well-known message types; other messages are made bad field by field instead.
fn bad_well_known(message: &MessageDescriptor) -> Vec<BadValue> {
    let with = |fields: &[(&str, Value)]| {
        let mut value = DynamicMessage::new(message.clone());
        for (field, v) in fields {
            value.set_field_by_name(field, v.clone());
        }
        Value::Message(value)
    };
    match message.full_name() {
        "google.protobuf.Timestamp" => vec![
            bad("time after year 9999", with(&[("seconds", Value::I64(253_402_300_800))]), true),
            bad("time before year 1", with(&[("seconds", Value::I64(-62_135_596_801))]), true),
            bad("time with nanos out of range", with(&[("nanos", Value::I32(1_000_000_000))]), true),
            bad("time with negative nanos", with(&[("nanos", Value::I32(-1))]), true),
        ],
        "google.protobuf.Duration" => vec![
            bad("negative duration", with(&[("seconds", Value::I64(-1))]), true),
            bad("duration with nanos out of range", with(&[("nanos", Value::I32(1_000_000_000))]), true),
        ],
        "google.protobuf.FieldMask" => vec![
            bad("mask of no field", with(&[("paths", Value::List(vec![text("no_such_field")]))]), true),
            bad("mask with an empty path", with(&[("paths", Value::List(vec![text("")]))]), true),
        ],
        _ => Vec::new(),
    }
}

/// Bad values of `field` as the request carries it (repeated fields: oversized, or one bad item).
fn bad_values(field: &FieldDescriptor) -> Vec<BadValue> {
    if field.is_map() {
        return Vec::new();
    }
    if !field.is_list() {
        return bad_scalars(field);
    }
    let item = match field.kind() {
        Kind::String => text("x"),
        Kind::Enum(e) => Value::EnumNumber(e.values().last().map_or(0, |v| v.number())),
        Kind::Message(m) => Value::Message(DynamicMessage::new(m)),
        Kind::Int32 => Value::I32(1),
        Kind::Int64 => Value::I64(1),
        _ => return Vec::new(),
    };
    let mut values = vec![bad("oversized repeated field", Value::List(vec![item; OVERSIZED_REPEATED]), true)];
    for one in bad_scalars(field) {
        // One bad item among the list's items: the same rules hold for each.
        if !matches!(one.value, Value::Message(_)) || one.strict {
            values.push(bad(one.what, Value::List(vec![one.value]), one.strict));
        }
    }
    values
}

/// Messages worth going into: request parts that are not well-known types.
fn nested(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(m) if !m.full_name().starts_with("google.") && !field.is_list() && !field.is_map() => Some(m),
        _ => None,
    }
}

/// The corpus for one RPC: each field of the request made bad, and each field of the request's messages (one
/// level down: the resource of a create or update). A field inside a message must be named when a bad value
/// there is bad whatever the rest holds, unless the request ignores it (output only), or the request is an
/// update: an update's fields are checked against the resource they patch, once its name is good.
fn cases_of(port: u16, rpc: &str, input: &MessageDescriptor, one_at_a_time: bool) -> Vec<Case> {
    let update = input.get_field_by_name("update_mask").is_some();
    let mut cases = Vec::new();
    let mut add = |label: String, must_name: Option<String>, message: DynamicMessage| {
        cases.push(Case {
            port,
            rpc: rpc.to_owned(),
            one_at_a_time,
            label,
            must_name,
            message: message.encode_to_vec().into(),
        });
    };
    for field in input.fields() {
        for value in bad_values(&field) {
            let mut message = DynamicMessage::new(input.clone());
            message.set_field(&field, value.value);
            add(format!("{}: {}", field.name(), value.what), value.strict.then(|| field.name().to_owned()), message);
        }
        let Some(inner) = nested(&field) else { continue };
        for inner_field in inner.fields() {
            let checked = !update && !ignored(&field, &inner_field);
            for value in bad_values(&inner_field) {
                let mut part = DynamicMessage::new(inner.clone());
                part.set_field(&inner_field, value.value);
                let mut message = DynamicMessage::new(input.clone());
                message.set_field(&field, Value::Message(part));
                let path = format!("{}.{}", field.name(), inner_field.name());
                let must_name = (value.strict && checked).then(|| path.clone());
                add(format!("{path}: {}", value.what), must_name, message);
            }
        }
    }
    cases
}

/// Whether `named` (a violation's field) names `path` or a part of it.
fn names(named: &str, path: &str) -> bool {
    named == path
        || named.strip_prefix(path).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        || path.strip_prefix(named).is_some_and(|rest| rest.starts_with('.'))
}

/// What is wrong with `answer` to `case`, if anything.
fn judge(case: &Case, answer: &Result<Option<Bytes>, tonic::Status>) -> Option<String> {
    let status = match answer {
        Ok(_) => return Some("accepted".to_owned()),
        Err(status) => status,
    };
    if !ALLOWED.contains(&status.code()) {
        return Some(format!("{:?}: {}", status.code(), status.message()));
    }
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    let reason = status.get_details_error_info().map(|i| i.reason).filter(|r| !r.is_empty());
    let precondition = status.get_details_precondition_failure().is_some_and(|p| !p.violations.is_empty());
    let resource = status.get_details_resource_info().is_some_and(|r| !r.resource_name.is_empty());
    if fields.is_empty() && reason.is_none() && !precondition && !resource {
        return Some(format!("{:?} naming no field or reason: {}", status.code(), status.message()));
    }
    if let Some(path) = &case.must_name
        && !(status.code() == Code::InvalidArgument && fields.iter().any(|f| names(f, path)))
    {
        return Some(format!("{:?} not naming {path} (named {fields:?}): {}", status.code(), status.message()));
    }
    None
}

/// The newest sequence of the feed of the server on `channel`.
async fn latest_sequence(channel: Channel) -> i64 {
    ChangeFeedServiceClient::new(channel)
        .list_changes(ListChangesRequest { after_sequence: 0, page_size: Some(1) })
        .await
        .expect("ListChanges")
        .into_inner()
        .latest_sequence
}

fn channel(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}")).expect("url").connect_lazy()
}

fn memory_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// A resource made before the corpus is sent, for the cases bound to something that exists.
struct Made {
    name: String,
    /// A well-formed etag this resource has never had.
    stale_etag: String,
}

/// The creating call repeated with the same `request_id` and other content.
struct Replay {
    port: u16,
    rpc: &'static str,
    message: Bytes,
}

/// Creates an organisation, a contact, a meeting and a case, each with a `request_id`; returns them and, for
/// each, the same request with other content, which a server must not take as a retry.
async fn make_resources(ports: [u16; 4]) -> (Vec<Made>, Vec<Replay>) {
    use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
    use liaison_proto::contacts::v1::{Contact, CreateContactRequest, CreateOrganizationRequest, Organization};
    use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
    use liaison_proto::mediation::v1::{Case, Category, OpenCaseRequest, Severity};
    use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
    use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};

    let stale = |etag: &str| {
        format!("\"r{}\"", etag.trim_matches('"').trim_start_matches('r').parse::<i64>().expect("etag") + 999)
    };
    let mut contacts = ContactsServiceClient::new(channel(ports[0]));
    let organization_request = CreateOrganizationRequest {
        organization: Some(Organization {
            display_name: "Bad Input Authority".into(),
            kind: liaison_proto::contacts::v1::OrganizationKind::Agency as i32,
            ..Default::default()
        }),
        request_id: "bad-input-organization".into(),
    };
    let organization = contacts.create_organization(organization_request.clone()).await.expect("organisation");
    let organization = organization.into_inner().organization.expect("organisation");
    let mut organization_replay = organization_request;
    if let Some(o) = organization_replay.organization.as_mut() {
        o.display_name = "Another Authority".into();
    }

    let contact_request = CreateContactRequest {
        contact: Some(Contact { display_name: "Ines Bad-Input".into(), ..Default::default() }),
        request_id: "bad-input-contact".into(),
    };
    let contact = contacts.create_contact(contact_request.clone()).await.expect("contact");
    let contact = contact.into_inner().contact.expect("contact");
    let mut contact_replay = contact_request;
    if let Some(c) = contact_replay.contact.as_mut() {
        c.display_name = "Someone Else".into();
    }

    let meeting_request = CreateMeetingRequest {
        meeting: Some(Meeting {
            title: "Bad input review".into(),
            start_time: Some(prost_types::Timestamp { seconds: 1_900_000_000, nanos: 0 }),
            end_time: Some(prost_types::Timestamp { seconds: 1_900_003_600, nanos: 0 }),
            time_zone: "Europe/Lisbon".into(),
            participants: vec![contact.name.clone()],
            ..Default::default()
        }),
        request_id: "bad-input-meeting".into(),
        ..Default::default()
    };
    let mut scheduling = SchedulingServiceClient::new(channel(ports[1]));
    let meeting = scheduling.create_meeting(meeting_request.clone()).await.expect("meeting");
    let meeting = meeting.into_inner().meeting.expect("meeting");
    let mut meeting_replay = meeting_request;
    if let Some(m) = meeting_replay.meeting.as_mut() {
        m.title = "Another review".into();
    }

    let case_request = OpenCaseRequest {
        case: Some(Case {
            title: "Bad input dispute".into(),
            parties: vec![contact.name.clone(), organization.name.clone()],
            category: Category::ResourceAllocation as i32,
            severity: Severity::Low as i32,
            ..Default::default()
        }),
        request_id: "bad-input-case".into(),
    };
    let mut mediation = MediationServiceClient::new(channel(ports[2]));
    let case = mediation.open_case(case_request.clone()).await.expect("case");
    let case = case.into_inner().case.expect("case");
    let mut case_replay = case_request;
    if let Some(c) = case_replay.case.as_mut() {
        c.title = "Another dispute".into();
    }

    let made = vec![
        Made { name: organization.name, stale_etag: stale(&organization.etag) },
        Made { name: contact.name, stale_etag: stale(&contact.etag) },
        Made { name: meeting.name, stale_etag: stale(&meeting.etag) },
        Made { name: case.name, stale_etag: stale(&case.etag) },
    ];
    let replays = vec![
        Replay {
            port: ports[0],
            rpc: "liaison.contacts.v1.ContactsService/CreateOrganization",
            message: organization_replay.encode_to_vec().into(),
        },
        Replay {
            port: ports[0],
            rpc: "liaison.contacts.v1.ContactsService/CreateContact",
            message: contact_replay.encode_to_vec().into(),
        },
        Replay {
            port: ports[1],
            rpc: "liaison.scheduling.v1.SchedulingService/CreateMeeting",
            message: meeting_replay.encode_to_vec().into(),
        },
        Replay {
            port: ports[2],
            rpc: "liaison.mediation.v1.MediationService/OpenCase",
            message: case_replay.encode_to_vec().into(),
        },
    ];
    (made, replays)
}

/// The same name with its last id replaced by one nothing has.
fn missing(name: &str) -> String {
    let (collection, _) = name.rsplit_once('/').expect("collection/id");
    format!("{collection}/01900000-0000-7000-8000-000000000000")
}

/// Requests of `rpc` bound to what exists: each made resource named where the request names its target (top
/// level, or in the message it carries), with a stale etag where the request has one, and a missing one of the
/// same collection. An RPC of another resource type refuses the name; the right one must refuse the etag
/// (ABORTED) or the missing resource (NOT_FOUND).
fn bound_cases(port: u16, rpc: &str, input: &MessageDescriptor, made: &[Made]) -> Vec<Case> {
    let mut cases = Vec::new();
    let targets =
        std::iter::once((None, input.clone())).chain(input.fields().filter_map(|f| nested(&f).map(|m| (Some(f), m))));
    for (outer, message) in targets {
        let Some(name_field) = message.get_field_by_name("name").filter(|f| f.kind() == Kind::String && !f.is_list())
        else {
            continue;
        };
        let etag_field = message.get_field_by_name("etag");
        for resource in made {
            let mut variants = vec![("missing", missing(&resource.name), None)];
            if let Some(etag) = &etag_field {
                variants.push(("stale etag", resource.name.clone(), Some((etag.clone(), resource.stale_etag.clone()))));
            }
            for (what, name, etag) in variants {
                let mut part = DynamicMessage::new(message.clone());
                part.set_field(&name_field, text(name));
                if let Some((field, value)) = etag {
                    part.set_field(&field, text(value));
                }
                let request = match &outer {
                    None => part,
                    Some(field) => {
                        let mut request = DynamicMessage::new(input.clone());
                        request.set_field(field, Value::Message(part));
                        request
                    }
                };
                let at = outer.as_ref().map_or_else(|| "name".to_owned(), |f| format!("{}.name", f.name()));
                cases.push(Case {
                    port,
                    rpc: rpc.to_owned(),
                    one_at_a_time: false,
                    label: format!("{at}: {what} {}", resource.name),
                    must_name: None,
                    message: request.encode_to_vec().into(),
                });
            }
        }
    }
    cases
}

/// Waits until reporting has read what the setup wrote, so that its feed stands still while the corpus runs.
async fn reporting_caught_up(port: u16) {
    use liaison_proto::reporting::v1::GetDashboardRequest;
    use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
    let mut reporting = ReportingServiceClient::new(channel(port));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dashboard = reporting.get_dashboard(GetDashboardRequest::default()).await.expect("dashboard");
        let d = dashboard.into_inner().dashboard.expect("dashboard");
        if (d.organization_count, d.contact_count, d.meeting_count, d.open_case_count) == (1, 1, 1, 1) {
            return;
        }
        assert!(Instant::now() < deadline, "reporting did not catch up with the setup within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_refuses_a_corpus_of_bad_requests_naming_the_field_and_writing_nothing() {
    let mut all_in_one = AllInOne::start().await;
    let ports = all_in_one.ports();
    let pool = DescriptorPool::decode(liaison_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let (made, replays) = make_resources(ports).await;
    reporting_caught_up(ports[3]).await;

    let mut corpus = Vec::new();
    let mut rpcs_covered = 0;
    for port in ports {
        for rpc in served_rpcs(channel(port)).await {
            // Health and the change feed of every port are read-only; the feed's own are in the corpus too.
            if rpc.name.starts_with("grpc.") {
                continue;
            }
            let (service, method) = rpc.name.split_once('/').expect("service/method");
            let service = pool.get_service_by_name(service).unwrap_or_else(|| panic!("{service} not in the set"));
            let method = service.methods().find(|m| m.name() == method).expect("method in the set");
            let mut cases = cases_of(port, &rpc.name, &method.input(), rpc.client_streaming);
            if !rpc.client_streaming && !rpc.server_streaming {
                cases.extend(bound_cases(port, &rpc.name, &method.input(), &made));
            }
            assert!(
                !cases.is_empty() || method.input().fields().next().is_none(),
                "{}: no bad request generated",
                rpc.name
            );
            rpcs_covered += 1;
            corpus.extend(cases);
        }
    }
    corpus.extend(replays.into_iter().map(|r| Case {
        port: r.port,
        rpc: r.rpc.to_owned(),
        one_at_a_time: false,
        label: "request_id replayed with other content".to_owned(),
        must_name: Some("request_id".to_owned()),
        message: r.message,
    }));
    let distinct: std::collections::HashSet<(u16, &str, &[u8])> =
        corpus.iter().map(|c| (c.port, c.rpc.as_str(), c.message.as_ref())).collect();
    assert!(distinct.len() >= 500, "the corpus must hold at least 500 distinct bad requests, has {}", distinct.len());

    let before: Vec<i64> = join_all(ports.map(|port| latest_sequence(channel(port)))).await;
    let rss_before = memory_kib(all_in_one.proc.pid(), "VmRSS:");

    let channels: HashMap<u16, Channel> = ports.iter().map(|&p| (p, channel(p))).collect();
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut bound: std::collections::BTreeSet<(String, String, i32)> = std::collections::BTreeSet::new();
    let (serial, parallel): (Vec<&Case>, Vec<&Case>) = corpus.iter().partition(|c| c.one_at_a_time);
    let batches = parallel.chunks(CONCURRENCY).chain(serial.chunks(1));
    for batch in batches {
        let answers = join_all(batch.iter().map(|case| {
            let channel = channels[&case.port].clone();
            async move {
                let started = Instant::now();
                let answer = call(channel, &case.rpc, case.message.clone(), &[]).await;
                (answer, started.elapsed())
            }
        }))
        .await;
        for (case, (answer, took)) in batch.iter().zip(answers) {
            slowest.push((took, format!("{} {}", case.rpc, case.label)));
            let code = answer.as_ref().map_or_else(|s| format!("{:?}", s.code()), |_| "Ok".to_owned());
            *codes.entry(code).or_default() += 1;
            if let Err(status) = &answer {
                // "<field>: <what> <collection>/<id>": what each resource's bound cases were answered.
                if let Some((_, rest)) = case.label.split_once(": ")
                    && let Some((what, resource)) = rest.rsplit_once(' ')
                    && let Some((collection, _)) = resource.split_once('/')
                {
                    bound.insert((collection.to_owned(), what.to_owned(), status.code() as i32));
                }
            }
            if let Some(wrong) = judge(case, &answer) {
                failures.entry(case.rpc.clone()).or_default().push(format!("{} → {wrong}", case.label));
            }
        }
    }

    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    slowest.truncate(5);
    eprintln!("slowest answers: {slowest:?}");
    let after: Vec<i64> = join_all(ports.map(|port| latest_sequence(channel(port)))).await;
    let pid = all_in_one.proc.pid();
    let (rss_after, peak) = (memory_kib(pid, "VmRSS:"), memory_kib(pid, "VmHWM:"));
    eprintln!(
        "bad input: {} requests ({} distinct) over {rpcs_covered} RPCs; answers {codes:?}; memory {} → {} MiB, peak {} MiB",
        corpus.len(),
        distinct.len(),
        rss_before / 1024,
        rss_after / 1024,
        peak / 1024
    );
    let mut report = String::new();
    for (rpc, wrongs) in &failures {
        let _ = writeln!(report, "{rpc}: {} wrong", wrongs.len());
        for wrong in wrongs {
            let _ = writeln!(report, "    {wrong}");
        }
    }
    for resource in &made {
        let collection = resource.name.split('/').next().unwrap_or_default();
        for (what, code) in [("stale etag", Code::Aborted), ("missing", Code::NotFound)] {
            assert!(
                bound.contains(&(collection.to_owned(), what.to_owned(), code as i32)),
                "no RPC answered a {what} {collection} with {code:?}"
            );
        }
    }
    assert!(failures.is_empty(), "{} RPCs answered bad input wrongly:\n{report}", failures.len());
    assert_eq!(before, after, "bad input wrote: the feeds moved from {before:?} to {after:?}");
    assert!(peak * 1024 < ALL_IN_ONE_PEAK_BYTES, "peak memory {} MiB", peak / 1024);
    all_in_one.proc.stop_gracefully().await;
    assert_no_panic("all-in-one", &all_in_one.proc.stderr());
}
