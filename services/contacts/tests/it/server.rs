//! What every server does around the service it mounts, seen from a contacts server: a clear answer for a
//! service this port does not serve, and a refused `liaison-actor` that is not a usable name.
use crate::helpers::*;
use liaison_proto::contacts::v1::*;
use liaison_proto::scheduling::v1::ListMeetingsRequest;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_testkit::{Call, Engine, on_both_databases};
use tonic::Code;

on_both_databases!(
    a_call_for_another_service_names_the_service_this_port_serves_and_where_the_other_lives,
    a_call_for_an_unknown_service_names_the_service_this_port_serves,
    an_invalid_actor_is_refused_naming_the_metadata_and_writes_nothing,
    health_answers_whatever_the_actor_metadata_says,
);

async fn health_answers_whatever_the_actor_metadata_says(engine: Engine) {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let app = app(engine).await;
    let mut health = HealthClient::new(liaison_testkit::channel(&app.server));
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    request.metadata_mut().insert("liaison-actor", "".parse().unwrap());
    let answer = health.check(request).ok().await;
    assert_eq!(answer.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);
}

async fn a_call_for_another_service_names_the_service_this_port_serves_and_where_the_other_lives(engine: Engine) {
    let app = app(engine).await;
    let mut scheduling = SchedulingServiceClient::new(liaison_testkit::channel(&app.server));
    let status = scheduling.list_meetings(ListMeetingsRequest::default()).err().await;
    assert_eq!(status.code(), Code::Unimplemented);
    let message = status.message();
    for expected in ["liaison.contacts.v1.ContactsService", "liaison.scheduling.v1.SchedulingService", "50052"] {
        assert!(message.contains(expected), "{expected:?} missing from {message:?}");
    }
}

async fn a_call_for_an_unknown_service_names_the_service_this_port_serves(engine: Engine) {
    let app = app(engine).await;
    let mut grpc = tonic::client::Grpc::new(liaison_testkit::channel(&app.server));
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<ListContactsRequest, ListContactsResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/billing.v1.InvoiceService/ListInvoices");
    let status = grpc.unary(tonic::Request::new(ListContactsRequest::default()), path, codec).err().await;
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(status.message().contains("liaison.contacts.v1.ContactsService"), "{}", status.message());
    assert!(status.message().contains("billing.v1.InvoiceService"), "{}", status.message());
}

async fn an_invalid_actor_is_refused_naming_the_metadata_and_writes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    for bad in ["", "   ", "a\tb"] {
        let mut request =
            tonic::Request::new(CreateContactRequest { contact: Some(contact("Forged")), request_id: String::new() });
        request.metadata_mut().insert("liaison-actor", bad.parse().unwrap());
        let status = app.client.create_contact(request).err().await;
        assert_eq!(bad_fields(&status), ["liaison-actor"], "{bad:?}");
    }
    let over_long = "x".repeat(201);
    let mut request =
        tonic::Request::new(CreateContactRequest { contact: Some(contact("Forged")), request_id: String::new() });
    request.metadata_mut().insert("liaison-actor", over_long.parse().unwrap());
    let status = app.client.create_contact(request).err().await;
    assert_eq!(bad_fields(&status), ["liaison-actor"]);
    assert!(all_changes(&mut app.client).await.is_empty(), "a refused request writes nothing");
    let listed = app.client.list_contacts(ListContactsRequest::default()).ok().await;
    assert!(listed.contacts.is_empty());
}
