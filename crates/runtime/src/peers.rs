//! Typed clients of the services that others call, written once: every call carries a deadline and the
//! caller's trace context; idempotent reads retry with backoff. A dependency that is down turns into
//! UNAVAILABLE within the deadline, never a hang.
use crate::client::{CallSettings, call_idempotent, request, with_trace};
use crate::error::Error;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{BatchGetContactsRequest, BatchGetPartiesRequest};
use tonic::transport::Channel;

/// What the contacts service knows of a set of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Names that exist.
    pub found: Vec<String>,
    /// Names that do not.
    pub missing: Vec<String>,
}

/// Client of the contacts service.
#[derive(Debug, Clone)]
pub struct ContactsClient {
    client: ContactsServiceClient<Channel>,
    calls: CallSettings,
}

impl ContactsClient {
    pub fn new(channel: Channel, calls: CallSettings) -> Self {
        Self { client: ContactsServiceClient::new(channel), calls }
    }

    /// Checks contact names with one `BatchGetContacts` call.
    pub async fn resolve_contacts(&self, names: Vec<String>) -> Result<Resolved, Error> {
        let message = BatchGetContactsRequest { names };
        let response = call_idempotent("contacts.BatchGetContacts", self.calls.call_timeout, |remaining| {
            let mut client = self.client.clone();
            let message = message.clone();
            async move { client.batch_get_contacts(request(message, remaining)).await }
        })
        .await?;
        Ok(Resolved { found: response.contacts.into_iter().map(|c| c.name).collect(), missing: response.missing_names })
    }

    /// Checks party names (contacts and organisations) with one `BatchGetParties` call.
    pub async fn resolve_parties(&self, names: Vec<String>) -> Result<Resolved, Error> {
        use liaison_proto::contacts::v1::party::Party;
        let message = BatchGetPartiesRequest { names };
        let response = call_idempotent("contacts.BatchGetParties", self.calls.call_timeout, |remaining| {
            let mut client = self.client.clone();
            let message = message.clone();
            async move { client.batch_get_parties(request(message, remaining)).await }
        })
        .await?;
        Ok(Resolved {
            found: response
                .parties
                .into_iter()
                .filter_map(|p| match p.party {
                    Some(Party::Contact(c)) => Some(c.name),
                    Some(Party::Organization(o)) => Some(o.name),
                    None => None,
                })
                .collect(),
            missing: response.missing_names,
        })
    }
}

/// The precondition failure for references that do not exist (`kind` e.g. `PARTICIPANT_NOT_FOUND`).
pub fn missing_references(reason: &'static str, what: &str, missing: &[String]) -> Error {
    Error::FailedPrecondition {
        reason,
        violations: missing
            .iter()
            .map(|name| crate::error::PreconditionViolation {
                kind: reason.to_owned(),
                subject: name.clone(),
                description: format!("{what} {name} does not exist"),
            })
            .collect(),
    }
}

/// A batch of changes received from a feed, with how many more the source had ready.
#[derive(Debug, Clone, Default)]
pub struct FeedBatch {
    pub changes: Vec<liaison_proto::common::v1::Change>,
    pub remaining: i64,
}

/// A stream of feed batches.
pub type FeedStream = futures::stream::BoxStream<'static, Result<FeedBatch, tonic::Status>>;

/// Client of any service's change feed.
#[derive(Debug, Clone)]
pub struct FeedClient {
    source: crate::config::ServiceKind,
    channel: Channel,
    calls: CallSettings,
}

impl FeedClient {
    pub fn new(source: crate::config::ServiceKind, channel: Channel, calls: CallSettings) -> Self {
        Self { source, channel, calls }
    }

    pub fn source(&self) -> crate::config::ServiceKind {
        self.source
    }

    /// Opens `WatchChanges` after `after`. Opening has the call deadline; the stream itself lives until closed.
    pub async fn watch(&self, after: i64) -> Result<FeedStream, Error> {
        use crate::config::ServiceKind;
        use futures::StreamExt;
        let dependency = format!("{}.WatchChanges", self.source);
        let deadline = self.calls.call_timeout;
        let opening = async {
            let channel = self.channel.clone();
            // The four services' feeds differ only in their generated types.
            macro_rules! watch_with {
                ($package:ident, $module:ident, $client:ident) => {{
                    use liaison_proto::$package::v1::{WatchChangesRequest, $module::$client};
                    let request = with_trace(WatchChangesRequest { after_sequence: after });
                    let stream = $client::new(channel).watch_changes(request).await?;
                    stream
                        .into_inner()
                        .map(|r| r.map(|m| FeedBatch { changes: m.changes, remaining: m.remaining_count }))
                        .boxed()
                }};
            }
            let stream: FeedStream = match self.source {
                ServiceKind::Contacts => watch_with!(contacts, contacts_service_client, ContactsServiceClient),
                ServiceKind::Scheduling => watch_with!(scheduling, scheduling_service_client, SchedulingServiceClient),
                ServiceKind::Mediation => watch_with!(mediation, mediation_service_client, MediationServiceClient),
                ServiceKind::Reporting => watch_with!(reporting, reporting_service_client, ReportingServiceClient),
            };
            Ok::<_, tonic::Status>(stream)
        };
        match tokio::time::timeout(deadline, opening).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(status)) => Err(Error::from_status(&dependency, &status)),
            Err(_) => Err(Error::DeadlineExceeded { dependency }),
        }
    }
}
