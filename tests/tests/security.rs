//! Security over every RPC of every server, generated from what the servers serve (reflection) and from the one
//! role table — nothing hand-listed: the four services run in one process with tokens required; every RPC is
//! called with no token, with a token of each role, and with each kind of bad token; a person's write made
//! through another service is recorded as theirs.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_runtime::auth::keys::{DEFAULT_AUDIENCE, DEV_ISSUER, DevKey, MintClaims};
use liaison_runtime::auth::{AuthSettings, KeySource, Role, Roles, TokenSettings, policy};
use liaison_runtime::config::{Peers, ServiceKind};
use liaison_runtime::security::{Security, SecuritySettings};
use liaison_runtime::service::Running;
use liaison_testkit::raw::{Rpc, call_empty, served_rpcs};
use liaison_testkit::{TestDatabase, channel, spawn_secured};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;
use tonic::Code;

/// Health and reflection answer anyone; everything else is in the role table.
const OPEN_SERVICES: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

struct Secured {
    key: DevKey,
    servers: Vec<Running>,
    _databases: Vec<TestDatabase>,
    _token_dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

fn token_settings(key: &DevKey) -> TokenSettings {
    TokenSettings {
        keys: KeySource::Jwks(key.jwks()),
        issuer: DEV_ISSUER.to_owned(),
        audience: DEFAULT_AUDIENCE.to_owned(),
        leeway: Duration::ZERO,
        refresh: Duration::from_secs(300),
        refetch_floor: Duration::from_secs(10),
    }
}

fn claims(subject: &str, roles: Roles) -> MintClaims {
    MintClaims {
        subject: subject.to_owned(),
        roles,
        display_name: None,
        issuer: DEV_ISSUER.to_owned(),
        audience: DEFAULT_AUDIENCE.to_owned(),
        ttl: Duration::from_secs(600),
        not_before: None,
        contact: None,
    }
}

impl Secured {
    /// The four services with tokens required; each calls the others with its own service token.
    async fn start() -> Self {
        let key = DevKey::generate().expect("key");
        let token_dir = tempfile::tempdir().expect("temp dir");
        let shutdown = CancellationToken::new();
        let mut servers: Vec<Running> = Vec::new();
        let mut databases = Vec::new();
        for kind in ServiceKind::ALL {
            let token_file = token_dir.path().join(format!("{kind}.token"));
            let token = key.mint(&claims(&format!("service:{kind}"), Roles::of(&[Role::Service]))).expect("mint");
            std::fs::write(&token_file, token).expect("token file");
            let settings = SecuritySettings {
                auth: AuthSettings::Required(token_settings(&key)),
                tls: None,
                service_token_file: Some(token_file),
                insecure: false,
            };
            let security = Security::build(&settings).await.expect("security");
            let url = |k: ServiceKind| servers.iter().find(|s| s.kind == k).map(Running::url);
            let peers = Peers {
                contacts: url(ServiceKind::Contacts),
                scheduling: url(ServiceKind::Scheduling),
                mediation: url(ServiceKind::Mediation),
            };
            let database = TestDatabase::sqlite();
            let listen = "127.0.0.1:0".parse().expect("address");
            let running = match kind {
                ServiceKind::Contacts => {
                    spawn_secured::<liaison_contacts::Contacts>(&database, peers, listen, security, shutdown.clone())
                        .await
                }
                ServiceKind::Scheduling => {
                    spawn_secured::<liaison_scheduling::Scheduling>(
                        &database,
                        peers,
                        listen,
                        security,
                        shutdown.clone(),
                    )
                    .await
                }
                ServiceKind::Mediation => {
                    spawn_secured::<liaison_mediation::Mediation>(&database, peers, listen, security, shutdown.clone())
                        .await
                }
                ServiceKind::Reporting => {
                    spawn_secured::<liaison_reporting::Reporting>(&database, peers, listen, security, shutdown.clone())
                        .await
                }
            };
            servers.push(running);
            databases.push(database);
        }
        Self { key, servers, _databases: databases, _token_dir: token_dir, shutdown }
    }

    fn token(&self, subject: &str, roles: Roles) -> String {
        self.key.mint(&claims(subject, roles)).expect("mint")
    }

    /// A token of a person whose own record in contacts is `contact`.
    fn token_of_contact(&self, subject: &str, roles: Roles, contact: &str) -> String {
        self.key.mint(&MintClaims { contact: Some(contact.to_owned()), ..claims(subject, roles) }).expect("mint")
    }

    fn bearer(&self, subject: &str, roles: Roles) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Bearer {}", self.token(subject, roles)))]
    }

    /// Every RPC of every server that passes the gate, by server.
    async fn guarded_rpcs(&self) -> Vec<(&Running, Vec<Rpc>)> {
        let mut all = Vec::new();
        for server in &self.servers {
            let rpcs = served_rpcs(channel(server)).await;
            let guarded: Vec<Rpc> = rpcs
                .into_iter()
                .filter(|rpc| !OPEN_SERVICES.iter().any(|open| rpc.name.starts_with(&format!("{open}/"))))
                .collect();
            assert!(guarded.len() >= 3, "{}: reflection lists too little: {guarded:?}", server.kind);
            all.push((server, guarded));
        }
        all
    }

    /// The sequence of the last change of each server's feed.
    async fn feed_ends(&self) -> Vec<(ServiceKind, i64)> {
        let mut ends = Vec::new();
        for server in &self.servers {
            let mut request = tonic::Request::new(ListChangesRequest { after_sequence: 0, page_size: Some(1) });
            let bearer = format!("Bearer {}", self.token("auditor", Roles::of(&[Role::Admin])));
            request.metadata_mut().insert("authorization", bearer.parse().expect("metadata"));
            let page = ChangeFeedServiceClient::new(channel(server))
                .list_changes(request)
                .await
                .expect("admin reads the feed")
                .into_inner();
            ends.push((server.kind, page.latest_sequence));
        }
        ends
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for server in self.servers {
            server.wait().await.expect("stopped cleanly");
        }
    }
}

#[tokio::test]
async fn every_rpc_every_server_serves_has_a_row_in_the_role_table() {
    let cluster = Secured::start().await;
    let mut missing = Vec::new();
    for (server, rpcs) in cluster.guarded_rpcs().await {
        for rpc in rpcs {
            if policy::roles_for(&rpc.name).is_none() {
                missing.push(format!("{} serves {}", server.kind, rpc.name));
            }
        }
    }
    assert!(missing.is_empty(), "RPCs without a row in crates/runtime/src/auth/policy.rs: {missing:#?}");
    cluster.stop().await;
}

#[tokio::test]
async fn without_a_token_every_rpc_is_unauthenticated_and_nothing_is_returned_or_written() {
    let cluster = Secured::start().await;
    let before = cluster.feed_ends().await;
    let mut wrong = Vec::new();
    for (server, rpcs) in cluster.guarded_rpcs().await {
        for rpc in rpcs {
            // The development mode's actor metadata is no credential when tokens are required.
            let (code, message) = call_empty(channel(server), &rpc.name, &[("liaison-actor", "admin".into())]).await;
            if code != Code::Unauthenticated || message.is_some() {
                wrong.push(format!("{}: {code:?}, returned {message:?}", rpc.name));
            }
        }
    }
    assert!(wrong.is_empty(), "calls without a token that were not refused: {wrong:#?}");
    assert_eq!(cluster.feed_ends().await, before, "a refused call wrote something");
    cluster.stop().await;
}

#[tokio::test]
async fn each_role_may_call_exactly_what_the_role_table_grants() {
    let cluster = Secured::start().await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (server, rpcs) in cluster.guarded_rpcs().await {
        for rpc in rpcs {
            let granted = policy::roles_for(&rpc.name).unwrap_or(Roles::NONE);
            for role in Role::ALL {
                let metadata = cluster.bearer(&format!("{role}-user"), Roles::of(&[role]));
                let (code, _) = call_empty(channel(server), &rpc.name, &metadata).await;
                let allowed = granted.contains(role);
                let refused = code == Code::PermissionDenied;
                if code == Code::Unauthenticated || allowed == refused {
                    wrong.push(format!("{} as {role}: {code:?} (table grants: {granted})", rpc.name));
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} calls disagree with the role table: {wrong:#?}", wrong.len());
    assert!(checked >= 5 * 50, "only {checked} calls were checked");
    cluster.stop().await;
}

/// `message` with `token` as its bearer credential.
fn with<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("metadata"));
    request
}

/// A token whose header and payload are `header` and `payload` and whose signature is `signature`.
fn hand_made(header: &str, payload: &serde_json::Value, signature: &str) -> String {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}.{}.{signature}", encode(header.as_bytes()), encode(payload.to_string().as_bytes()))
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_with_their_reason_and_no_data() {
    let cluster = Secured::start().await;
    let contacts = cluster.servers.iter().find(|s| s.kind == ServiceKind::Contacts).expect("contacts");
    let admin = Roles::of(&[Role::Admin]);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs();
    let other_key = DevKey::generate().expect("key");
    let good = cluster.token("ops", admin);
    let tampered = {
        let (rest, signature) = good.rsplit_once('.').expect("three parts");
        let flipped: String = signature
            .chars()
            .rev()
            .enumerate()
            .map(|(i, c)| if i == 2 { if c == 'A' { 'B' } else { 'A' } } else { c })
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        format!("{rest}.{flipped}")
    };
    let expired = {
        let mut short = claims("ops", admin);
        short.ttl = Duration::from_secs(1);
        cluster.key.mint(&short).expect("mint")
    };
    let not_yet = {
        let mut later = claims("ops", admin);
        later.not_before = Some(SystemTime::now() + Duration::from_secs(3600));
        cluster.key.mint(&later).expect("mint")
    };
    let wrong_audience =
        cluster.key.mint(&MintClaims { audience: "another-system".into(), ..claims("ops", admin) }).expect("mint");
    let wrong_issuer =
        cluster.key.mint(&MintClaims { issuer: "someone-else".into(), ..claims("ops", admin) }).expect("mint");
    let unknown_key = other_key.mint(&claims("ops", admin)).expect("mint");
    let payload = serde_json::json!({
        "sub": "ops", "roles": ["admin"], "iss": DEV_ISSUER, "aud": DEFAULT_AUDIENCE, "exp": now + 600,
    });
    let alg_none = hand_made(r#"{"alg":"none","typ":"JWT"}"#, &payload, "");
    // `expired` is past its exp (whole seconds, leeway zero) once two seconds have passed.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let (code, message) = call_empty(
        channel(contacts),
        "liaison.contacts.v1.ContactsService/ListContacts",
        &[("authorization", format!("Bearer {good}"))],
    )
    .await;
    assert_eq!((code, message.is_some()), (Code::Ok, true), "the good token works");
    for (what, token, reason) in [
        ("tampered", tampered, "TOKEN_SIGNATURE"),
        ("expired", expired, "TOKEN_EXPIRED"),
        ("not yet valid", not_yet, "TOKEN_NOT_YET_VALID"),
        ("wrong audience", wrong_audience, "TOKEN_AUDIENCE"),
        ("wrong issuer", wrong_issuer, "TOKEN_ISSUER"),
        ("unknown key", unknown_key, "TOKEN_UNKNOWN_KEY"),
        ("alg none", alg_none, "TOKEN_ALGORITHM"),
    ] {
        use liaison_proto::contacts::v1::ListContactsRequest;
        use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
        use tonic_types::StatusExt;
        let mut request = tonic::Request::new(ListContactsRequest::default());
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("metadata"));
        let status = ContactsServiceClient::new(channel(contacts)).list_contacts(request).await.expect_err(what);
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
        let details = status.get_error_details();
        assert_eq!(details.error_info().map(|info| info.reason.as_str()), Some(reason), "{what}: {status:?}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn a_write_made_through_scheduling_names_the_person_and_a_service_token_cannot_pose_as_anyone() {
    use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
    use liaison_proto::contacts::v1::{Contact, CreateContactRequest};
    use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
    use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};
    let cluster = Secured::start().await;
    let server = |kind| cluster.servers.iter().find(|s: &&Running| s.kind == kind).expect("server");
    let jane = cluster.token("jane", Roles::of(&[Role::Officer]));
    let contact = ContactsServiceClient::new(channel(server(ServiceKind::Contacts)))
        .create_contact(with(
            &jane,
            CreateContactRequest {
                contact: Some(Contact {
                    display_name: "Ada Okafor".into(),
                    email: "ada@example.org".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("jane creates a contact")
        .into_inner()
        .contact
        .expect("the contact");
    let start = liaison_runtime::api::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(1));
    let end = liaison_runtime::api::time::to_timestamp(
        chrono::Utc::now() + chrono::Duration::days(1) + chrono::Duration::hours(1),
    );
    let meeting = SchedulingServiceClient::new(channel(server(ServiceKind::Scheduling)))
        .create_meeting(with(
            &jane,
            CreateMeetingRequest {
                meeting: Some(Meeting {
                    title: "Budget alignment".into(),
                    participants: vec![contact.name.clone()],
                    start_time: Some(start),
                    end_time: Some(end),
                    time_zone: "Europe/Berlin".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("jane books a meeting through scheduling, which checks the participant with contacts")
        .into_inner()
        .meeting
        .expect("the meeting");

    let admin = cluster.token("auditor", Roles::of(&[Role::Admin]));
    for (kind, name) in [(ServiceKind::Contacts, &contact.name), (ServiceKind::Scheduling, &meeting.name)] {
        let changes = ChangeFeedServiceClient::new(channel(server(kind)))
            .list_changes(with(&admin, ListChangesRequest { after_sequence: 0, page_size: Some(100) }))
            .await
            .expect("feed")
            .into_inner()
            .changes;
        let change = changes.iter().find(|c| &c.resource_name == name).expect("the change");
        assert_eq!(change.actor, "jane", "{kind}: the record names the person");
    }
    // The audit says the same, with the RPC and where the call came from; only an administrator may read it.
    use liaison_proto::common::v1::ListAuditEventsRequest;
    use liaison_proto::common::v1::audit_service_client::AuditServiceClient;
    let audit = || AuditServiceClient::new(channel(server(ServiceKind::Scheduling)));
    let by_resource = ListAuditEventsRequest { resource_name: meeting.name.clone(), ..Default::default() };
    let events = audit().list_audit_events(with(&admin, by_resource.clone())).await.expect("audit").into_inner().events;
    let [event] = events.as_slice() else { panic!("one event for the meeting: {events:?}") };
    assert_eq!(event.actor, "jane");
    assert_eq!(event.rpc, "liaison.scheduling.v1.SchedulingService/CreateMeeting");
    assert!(event.source_address.starts_with("127.0.0.1:"), "{event:?}");
    assert!(event.field_changes.iter().any(|f| f.field == "title" && f.new_value.contains("Budget alignment")));
    let status = audit().list_audit_events(with(&jane, by_resource)).await.expect_err("an officer may not");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Scheduling's own token names a person only with the service role's rights: it may read contacts for them,
    // not write as them.
    let service_token = cluster.token("service:scheduling", Roles::of(&[Role::Service]));
    let mut posing = with(
        &service_token,
        CreateContactRequest {
            contact: Some(Contact { display_name: "Mallory".into(), ..Default::default() }),
            ..Default::default()
        },
    );
    posing.metadata_mut().insert("liaison-on-behalf-of", "admin-person".parse().expect("metadata"));
    let status = ContactsServiceClient::new(channel(server(ServiceKind::Contacts)))
        .create_contact(posing)
        .await
        .expect_err("a service token cannot write as a person");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // A person's token cannot name someone else.
    let mut impersonating = with(
        &jane,
        CreateContactRequest {
            contact: Some(Contact { display_name: "Eve".into(), ..Default::default() }),
            ..Default::default()
        },
    );
    impersonating.metadata_mut().insert("liaison-on-behalf-of", "boss".parse().expect("metadata"));
    let status = ContactsServiceClient::new(channel(server(ServiceKind::Contacts)))
        .create_contact(impersonating)
        .await
        .expect_err("an officer cannot pose as someone else");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    cluster.stop().await;
}

#[tokio::test]
async fn a_confidential_case_exists_only_for_its_mediator_team_and_administrators() {
    use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
    use liaison_proto::contacts::v1::{Contact, CreateContactRequest};
    use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
    use liaison_proto::mediation::v1::*;
    use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
    use liaison_proto::reporting::v1::{ExplainFigureRequest, GenerateReportRequest, GetDashboardRequest, ReportKind};
    let cluster = Secured::start().await;
    let server = |kind| cluster.servers.iter().find(|s: &&Running| s.kind == kind).expect("server");
    let admin = cluster.token("head", Roles::of(&[Role::Admin]));
    let contacts = || ContactsServiceClient::new(channel(server(ServiceKind::Contacts)));
    let mediation = || MediationServiceClient::new(channel(server(ServiceKind::Mediation)));
    let mut people = Vec::new();
    for name in ["Party One", "Party Two", "The Mediator", "Officer Outside"] {
        let contact = Contact { display_name: name.into(), ..Default::default() };
        let request = CreateContactRequest { contact: Some(contact), ..Default::default() };
        let created = contacts().create_contact(with(&admin, request)).await.expect("contact").into_inner();
        people.push(created.contact.expect("contact").name);
    }
    let [party, other_party, mediator, outsider] = [&people[0], &people[1], &people[2], &people[3]];
    let open = |title: &str, confidential: bool| OpenCaseRequest {
        case: Some(Case {
            title: title.into(),
            parties: vec![party.clone(), other_party.clone()],
            category: Category::Interpersonal as i32,
            severity: Severity::High as i32,
            confidential,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let secret = mediation().open_case(with(&admin, open("Harassment complaint", true))).await.expect("open");
    let secret = secret.into_inner().case.expect("case").name;
    let public = mediation().open_case(with(&admin, open("Parking dispute", false))).await.expect("open");
    let public = public.into_inner().case.expect("case").name;
    let c = &secret;
    mediation()
        .acknowledge_case(with(&admin, AcknowledgeCaseRequest { name: c.clone(), ..Default::default() }))
        .await
        .expect("acknowledged");
    mediation()
        .assess_case(with(&admin, AssessCaseRequest { name: c.clone(), eligible: true, ..Default::default() }))
        .await
        .expect("assessed");
    let assign = AssignMediatorRequest { name: c.clone(), mediator: mediator.clone(), ..Default::default() };
    mediation().assign_mediator(with(&admin, assign)).await.expect("assigned");

    // The mediator, recognised by the contact its token names, works the case: notes, a root cause, a proposal.
    let theirs = cluster.token_of_contact("mo", Roles::of(&[Role::Mediator]), mediator);
    mediation().get_case(with(&theirs, GetCaseRequest { name: c.clone() })).await.expect("the mediator reads it");
    for (text, visibility) in [("Spoke to HR", NoteVisibility::Internal), ("Meeting on Monday", NoteVisibility::Shared)]
    {
        let note = CaseNote { text: text.into(), visibility: visibility as i32, ..Default::default() };
        let request = AddCaseNoteRequest { parent: c.clone(), note: Some(note), ..Default::default() };
        mediation().add_case_note(with(&theirs, request)).await.expect("note");
    }
    mediation()
        .start_mediation(with(&theirs, StartMediationRequest { name: c.clone(), ..Default::default() }))
        .await
        .expect("started");
    let cause = RootCause {
        category: Category::Interpersonal as i32,
        analysis: "A long-running conflict".into(),
        ..Default::default()
    };
    let request = RecordRootCauseRequest { name: c.clone(), root_cause: Some(cause), ..Default::default() };
    mediation().record_root_cause(with(&theirs, request)).await.expect("root cause");
    let proposal = Proposal { terms: "Separate teams".into(), ..Default::default() };
    let request = CreateProposalRequest { parent: c.clone(), proposal: Some(proposal), ..Default::default() };
    mediation().create_proposal(with(&theirs, request)).await.expect("proposal");
    let listed = |token: String| async move {
        let request = ListCasesRequest::default();
        let cases = mediation().list_cases(with(&token, request)).await.expect("list").into_inner().cases;
        cases.into_iter().map(|case| case.name).collect::<Vec<_>>()
    };
    assert_eq!(listed(theirs.clone()).await, [secret.clone(), public.clone()]);
    assert_eq!(listed(admin.clone()).await, [secret.clone(), public.clone()]);

    // An officer outside the team: the case does not exist for them — not in Get, not in any List, not to change.
    let officer = cluster.token_of_contact("olga", Roles::of(&[Role::Officer, Role::Mediator]), outsider);
    let status = mediation().get_case(with(&officer, GetCaseRequest { name: c.clone() })).await.expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(listed(officer.clone()).await, std::slice::from_ref(&public), "not even counted");
    let by_mediator = ListCasesRequest { mediator: mediator.clone(), ..Default::default() };
    let found = mediation().list_cases(with(&officer, by_mediator)).await.expect("list").into_inner().cases;
    assert!(found.is_empty(), "no filter reveals it");
    let escalate = EscalateCaseRequest {
        name: c.clone(),
        escalate_to: "Director".into(),
        reason: "x".into(),
        ..Default::default()
    };
    let status = mediation().escalate_case(with(&officer, escalate)).await.expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    let notes = ListCaseNotesRequest { parent: c.clone(), ..Default::default() };
    let status = mediation().list_case_notes(with(&officer, notes.clone())).await.expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);

    // A party sees its own case's shared notes and proposals, never internal notes — and not the case file itself.
    let party_token = cluster.token_of_contact("pat", Roles::of(&[Role::Viewer]), party);
    let shared = mediation().list_case_notes(with(&party_token, notes.clone())).await.expect("notes").into_inner();
    let texts: Vec<&str> = shared.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, ["Meeting on Monday"]);
    let proposals = ListProposalsRequest { parent: c.clone(), ..Default::default() };
    let seen = mediation().list_proposals(with(&party_token, proposals)).await.expect("proposals").into_inner();
    assert_eq!(seen.proposals.len(), 1);
    let status = mediation().get_case(with(&party_token, GetCaseRequest { name: c.clone() })).await.expect_err("file");
    assert_eq!(status.code(), Code::NotFound);
    let all = mediation().list_case_notes(with(&theirs, notes)).await.expect("notes").into_inner();
    assert_eq!(all.notes.len(), 2, "the mediator sees internal notes too");

    // The change feed: another organisation's system gets name and kind only; administrators and the cluster's
    // reporting service get the changes whole.
    let feed = |token: String| async move {
        let request = ListChangesRequest { after_sequence: 0, page_size: Some(1000) };
        let mut feed = ChangeFeedServiceClient::new(channel(server(ServiceKind::Mediation)));
        feed.list_changes(with(&token, request)).await.expect("feed").into_inner().changes
    };
    let partner = feed(cluster.token("service:partner-agency", Roles::of(&[Role::Service]))).await;
    let of_secret: Vec<_> = partner.iter().filter(|change| change.resource_name.starts_with(c.as_str())).collect();
    assert!(of_secret.len() >= 8, "every change of the case and its records is there: {}", of_secret.len());
    for change in &of_secret {
        assert!(change.confidential && change.resource.is_none() && change.actor.is_empty(), "{change:?}");
    }
    let of_public = partner.iter().find(|change| change.resource_name == public).expect("the public case");
    assert!(!of_public.confidential && of_public.resource.is_some());
    for token in [admin.clone(), cluster.token("service:reporting", Roles::of(&[Role::Service]))] {
        let whole = feed(token).await;
        let first = whole.iter().find(|change| &change.resource_name == c).expect("the case's change");
        assert!(first.confidential && first.resource.is_some() && first.actor == "head", "{first:?}");
    }

    // Reporting counts it in its aggregates (two open cases) without describing it.
    let reporting = || ReportingServiceClient::new(channel(server(ServiceKind::Reporting)));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let dashboard =
            reporting().get_dashboard(with(&officer, GetDashboardRequest::default())).await.expect("dashboard");
        let dashboard = dashboard.into_inner().dashboard.expect("dashboard");
        if dashboard.open_case_count == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "reporting never counted both cases: {dashboard:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A report counts both; its evidence names the confidential case only to its team and administrators.
    let now = chrono::Utc::now().timestamp();
    let generate = GenerateReportRequest {
        kind: ReportKind::Mediation as i32,
        start_time: Some(prost_types::Timestamp { seconds: now - 86_400, nanos: 0 }),
        end_time: Some(prost_types::Timestamp { seconds: now + 86_400, nanos: 0 }),
        ..Default::default()
    };
    let report = reporting().generate_report(with(&officer, generate)).await.expect("report").into_inner();
    let report = report.report.expect("report").name;
    let explain = |token: String| {
        let request =
            ExplainFigureRequest { report: report.clone(), figure: "mediation.opened".into(), ..Default::default() };
        async move { reporting().explain_figure(with(&token, request)).await.expect("explain").into_inner() }
    };
    let seen_by_officer = explain(officer.clone()).await;
    assert_eq!(seen_by_officer.figure.map(|f| f.value), Some(2.0), "counted in the aggregate");
    let mut names: Vec<(String, bool)> =
        seen_by_officer.evidence.iter().map(|e| (e.resource.clone(), e.redacted)).collect();
    names.sort();
    assert_eq!(names, [(String::new(), true), (public.clone(), false)], "never named to someone outside its team");
    for token in [theirs.clone(), admin.clone()] {
        let seen = explain(token).await;
        assert!(seen.evidence.iter().any(|e| &e.resource == c && !e.redacted), "{seen:?}");
    }
    cluster.stop().await;
}
