use liaison_contacts::Contacts;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::*;
use liaison_runtime::config::Peers;
use liaison_runtime::service::Running;
use liaison_testkit::{Call, Engine, TestDatabase, channel, spawn};
use tonic::transport::Channel;

/// A client of one contacts server: its `ContactsService` (through `Deref`) and the change feed on its port.
#[derive(Clone)]
pub struct Client {
    contacts: ContactsServiceClient<Channel>,
    pub feed: ChangeFeedServiceClient<Channel>,
}

impl Client {
    pub fn new(server: &Running) -> Self {
        let channel = channel(server);
        Self { contacts: ContactsServiceClient::new(channel.clone()), feed: ChangeFeedServiceClient::new(channel) }
    }
}

impl std::ops::Deref for Client {
    type Target = ContactsServiceClient<Channel>;
    fn deref(&self) -> &Self::Target {
        &self.contacts
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.contacts
    }
}

/// A contacts server on its own database, and a client of it.
pub struct App {
    pub client: Client,
    pub server: Running,
    pub database: TestDatabase,
}

pub async fn app(engine: Engine) -> App {
    let database = TestDatabase::new(engine).await.expect("database");
    let server = spawn::<Contacts>(&database, Peers::default()).await;
    let client = Client::new(&server);
    App { client, server, database }
}

impl App {
    /// Stops the server and starts a new one on the same database.
    pub async fn restart(self) -> App {
        let App { server, database, .. } = self;
        server.stop().await.expect("clean stop");
        let server = spawn::<Contacts>(&database, Peers::default()).await;
        let client = Client::new(&server);
        App { client, server, database }
    }
}

pub fn contact(display_name: &str) -> Contact {
    Contact {
        display_name: display_name.into(),
        email: format!("{}@example.org", display_name.to_lowercase().replace(' ', ".")),
        time_zone: "Europe/Paris".into(),
        ..Default::default()
    }
}

/// Creates `contact` as given and returns it as stored.
pub async fn create_given(client: &mut Client, contact: Contact) -> Contact {
    client
        .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
        .ok()
        .await
        .contact
        .expect("contact")
}

pub async fn create_contact(client: &mut Client, display_name: &str) -> Contact {
    client
        .create_contact(CreateContactRequest { contact: Some(contact(display_name)), request_id: String::new() })
        .ok()
        .await
        .contact
        .expect("contact")
}

/// Every change made so far, in feed order. On PostgreSQL a committed change is served once every older
/// transaction on the server has finished (other tests' included), so this writes a sentinel organisation,
/// waits until its change is served — by then everything committed before it is — and returns what precedes it.
pub async fn all_changes(client: &mut Client) -> Vec<liaison_proto::common::v1::Change> {
    let sentinel = client
        .create_organization(CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: "feed sentinel".into(),
                kind: OrganizationKind::Other as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await
        .organization
        .expect("organization")
        .name;
    liaison_testkit::eventually(std::time::Duration::from_secs(30), "the sentinel change", || {
        let mut client = client.clone();
        let sentinel = sentinel.clone();
        async move {
            let changes = client
                .feed
                .list_changes(ListChangesRequest { after_sequence: 0, page_size: Some(1000) })
                .ok()
                .await
                .changes;
            let at = changes.iter().position(|c| c.resource_name == sentinel)?;
            Some(changes[..at].to_vec())
        }
    })
    .await
}

/// The fields named in a BadRequest.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}
