//! Typed clients of the services that others call, written once: every call carries a deadline and the
//! caller's trace context; idempotent reads retry with backoff. A dependency that is down turns into
//! UNAVAILABLE within the deadline, never a hang.
use crate::api::error::Error;
use crate::net::client::{CallSettings, Peer, call_idempotent};
use liaison_proto::contacts::v1::{BatchGetContactsRequest, BatchGetPartiesRequest};

/// What the contacts service knows of a set of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Names that exist and may be referred to: live, under their own name.
    pub found: Vec<String>,
    /// Names that do not exist.
    pub missing: Vec<String>,
    /// Contacts that exist but are deleted: nothing new may refer to them.
    pub deleted: Vec<String>,
    /// `(name asked for, its survivor)` of contacts merged into another: refer to the survivor instead.
    pub merged: Vec<(String, String)>,
}

/// The reasons a caller gives for names it cannot refer to, e.g. `PARTY_NOT_FOUND`, `PARTY_DELETED`,
/// `PARTY_MERGED`.
#[derive(Debug, Clone, Copy)]
pub struct Refusals {
    pub not_found: &'static str,
    pub deleted: &'static str,
    pub merged: &'static str,
}

impl Resolved {
    /// FAILED_PRECONDITION naming every name that cannot be referred to (one violation each, with its reason),
    /// or `Ok` when every name can. `what` names the role in messages ("party").
    pub fn ensure_usable(&self, what: &str, reasons: Refusals) -> Result<(), Error> {
        use crate::api::error::PreconditionViolation;
        let violation = |kind: &'static str, subject: &str, description: String| PreconditionViolation {
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            description,
        };
        let violations: Vec<PreconditionViolation> = (self.missing.iter())
            .map(|name| violation(reasons.not_found, name, format!("{what} {name} does not exist")))
            .chain(self.deleted.iter().map(|name| {
                violation(reasons.deleted, name, format!("{what} {name} is deleted: undelete the contact first"))
            }))
            .chain(self.merged.iter().map(|(name, survivor)| {
                violation(reasons.merged, name, format!("{what} {name} was merged into {survivor}: name {survivor}"))
            }))
            .collect();
        let reason = match (self.missing.is_empty(), self.deleted.is_empty(), self.merged.is_empty()) {
            (true, true, true) => return Ok(()),
            (false, _, _) => reasons.not_found,
            (true, false, _) => reasons.deleted,
            (true, true, false) => reasons.merged,
        };
        Err(Error::FailedPrecondition { reason, violations })
    }

    /// What it says of `names` only (to refuse some names of one call with one reason, others with another).
    pub fn only(&self, names: &[String]) -> Resolved {
        let keep = |name: &String| names.contains(name);
        Resolved {
            found: self.found.iter().filter(|n| keep(n)).cloned().collect(),
            missing: self.missing.iter().filter(|n| keep(n)).cloned().collect(),
            deleted: self.deleted.iter().filter(|n| keep(n)).cloned().collect(),
            merged: self.merged.iter().filter(|(n, _)| keep(n)).cloned().collect(),
        }
    }

    /// Sorts what contacts answered for `asked` (contacts as their state, organisations as names).
    fn of(
        asked: &[String],
        contacts: Vec<names_only::ContactState>,
        others: Vec<String>,
        missing: Vec<String>,
    ) -> Self {
        let mut resolved = Resolved { found: others, missing, ..Default::default() };
        for name in asked {
            if resolved.found.contains(name) || resolved.missing.contains(name) {
                continue;
            }
            match contacts.iter().find(|c| &c.name == name || c.merged_names.contains(name)) {
                None => {}
                Some(contact) if &contact.name != name => resolved.merged.push((name.clone(), contact.name.clone())),
                Some(contact) if contact.delete_time.is_some() => resolved.deleted.push(name.clone()),
                Some(_) => resolved.found.push(name.clone()),
            }
        }
        resolved
    }
}

/// Names per call of the batch reads that answer with whole contacts. A contact encodes to at most about 60 KB
/// (notes of 10,000 characters, 20 email addresses and phone numbers, 50 labels, working hours), so 50 of them
/// stay under the 4 MiB a response may have ([`crate::net::limits::MAX_RESPONSE_BYTES`]) whatever they hold: a
/// meeting of 200 large contacts is checked in 4 concurrent calls rather than failing in one.
pub const CONTACTS_PER_CALL: usize = 50;

/// Client of the contacts service.
#[derive(Debug, Clone)]
pub struct ContactsClient {
    peer: Peer,
    calls: CallSettings,
}

impl ContactsClient {
    pub fn new(peer: Peer, calls: CallSettings) -> Self {
        Self { peer, calls }
    }

    /// Checks contact names with `BatchGetContacts` (one call per [`CONTACTS_PER_CALL`] names).
    pub async fn resolve_contacts(&self, names: Vec<String>) -> Result<Resolved, Error> {
        let response: names_only::ContactStates = self.batch_get_contacts(&names).await?;
        Ok(Resolved::of(&names, response.contacts, Vec::new(), response.missing_names))
    }

    /// What contacts knows of each name that matters to inviting it (deleted, merged, do-not-contact, time zone,
    /// working hours), with `BatchGetContacts` (one call per [`CONTACTS_PER_CALL`] names).
    pub async fn contact_facts(&self, names: Vec<String>) -> Result<names_only::ContactFactsPage, Error> {
        self.batch_get_contacts(&names).await
    }

    /// Checks party names (contacts and organisations) with `BatchGetParties` (one call per
    /// [`CONTACTS_PER_CALL`] names).
    pub async fn resolve_parties(&self, names: Vec<String>) -> Result<Resolved, Error> {
        let response: names_only::PartyStates = self.batch_get_parties(&names).await?;
        let (mut contacts, mut organizations) = (Vec::new(), Vec::new());
        for party in response.parties {
            match (party.contact, party.organization) {
                (Some(contact), _) => contacts.push(contact),
                (None, Some(organization)) => organizations.push(organization.name),
                (None, None) => {}
            }
        }
        Ok(Resolved::of(&names, contacts, organizations, response.missing_names))
    }

    /// What contacts knows of each party (a contact's facts as [`Self::contact_facts`] gives them, an
    /// organisation's name), with `BatchGetParties` (one call per [`CONTACTS_PER_CALL`] names).
    pub async fn party_facts(&self, names: Vec<String>) -> Result<names_only::PartyFactsPage, Error> {
        self.batch_get_parties(&names).await
    }

    /// Every link between `candidate` and `parties` (affiliations, relationships, parent organisations), with
    /// `CheckConflictOfInterest` (one call); names that do not exist come back in `missing_names`.
    pub async fn check_conflict_of_interest(
        &self,
        candidate: String,
        parties: Vec<String>,
    ) -> Result<liaison_proto::contacts::v1::CheckConflictOfInterestResponse, Error> {
        use liaison_proto::contacts::v1::{CheckConflictOfInterestRequest, CheckConflictOfInterestResponse};
        let path = "/liaison.contacts.v1.ContactsService/CheckConflictOfInterest";
        let request = CheckConflictOfInterestRequest { candidate, parties };
        self.call::<_, CheckConflictOfInterestResponse>("contacts.CheckConflictOfInterest", path, request).await
    }

    /// The organisations `contact` is affiliated with (one `ListAffiliations` call of up to 1000).
    pub async fn organizations_of(&self, contact: String) -> Result<Vec<String>, Error> {
        use liaison_proto::contacts::v1::{ListAffiliationsRequest, ListAffiliationsResponse};
        let path = "/liaison.contacts.v1.ContactsService/ListAffiliations";
        let request = ListAffiliationsRequest { contact, page_size: Some(1000), ..Default::default() };
        let response: ListAffiliationsResponse = self.call("contacts.ListAffiliations", path, request).await?;
        Ok(response.affiliations.into_iter().map(|a| a.organization).collect())
    }

    /// `BatchGetContacts` of `names`, in concurrent calls of at most [`CONTACTS_PER_CALL`] names, their answers
    /// joined in order.
    async fn batch_get_contacts<View: names_only::Batch>(&self, names: &[String]) -> Result<View, Error> {
        let path = "/liaison.contacts.v1.ContactsService/BatchGetContacts";
        let calls = names.chunks(CONTACTS_PER_CALL).map(|chunk| {
            self.call::<_, View>("contacts.BatchGetContacts", path, BatchGetContactsRequest { names: chunk.to_vec() })
        });
        Ok(View::join(futures::future::try_join_all(calls).await?))
    }

    /// `BatchGetParties` of `names`, as [`Self::batch_get_contacts`].
    async fn batch_get_parties<View: names_only::Batch>(&self, names: &[String]) -> Result<View, Error> {
        let path = "/liaison.contacts.v1.ContactsService/BatchGetParties";
        let calls = names.chunks(CONTACTS_PER_CALL).map(|chunk| {
            self.call::<_, View>("contacts.BatchGetParties", path, BatchGetPartiesRequest { names: chunk.to_vec() })
        });
        Ok(View::join(futures::future::try_join_all(calls).await?))
    }

    async fn call<Req, View>(&self, dependency: &str, path: &'static str, message: Req) -> Result<View, Error>
    where
        Req: prost::Message + Clone + 'static,
        View: prost::Message + Default + 'static,
    {
        unary(&self.peer, self.calls, dependency, path, message).await
    }
}

/// An idempotent (or request-id-keyed) unary call to `peer`, retried within the call deadline, whose response is
/// decoded as `View`: the method's response, or a message of the same wire format that keeps only what the caller
/// reads.
async fn unary<Req, View>(
    peer: &Peer,
    calls: CallSettings,
    dependency: &str,
    path: &'static str,
    message: Req,
) -> Result<View, Error>
where
    Req: prost::Message + Clone + 'static,
    View: prost::Message + Default + 'static,
{
    call_idempotent(dependency, calls.call_timeout, |remaining| {
        // Set here on purpose rather than left to tonic's default: the largest answer any server sends.
        let mut grpc = tonic::client::Grpc::new(peer.channel.clone())
            .max_decoding_message_size(crate::net::limits::MAX_RESPONSE_BYTES);
        let request = peer.request(message.clone(), remaining);
        async move {
            let request = request?;
            grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("connection not ready: {e}")))?;
            let codec = tonic_prost::ProstCodec::<Req, View>::default();
            grpc.unary(request, http::uri::PathAndQuery::from_static(path), codec).await
        }
    })
    .await
}

/// Client of the scheduling service.
#[derive(Debug, Clone)]
pub struct SchedulingClient {
    peer: Peer,
    calls: CallSettings,
}

impl SchedulingClient {
    pub fn new(peer: Peer, calls: CallSettings) -> Self {
        Self { peer, calls }
    }

    /// Books `meeting` with `CreateMeeting` under `request_id`, so that the call retries safely: a retry, or a
    /// second call with the same id, returns the meeting booked first. Scheduling's refusals (a double booking)
    /// come back as FAILED_PRECONDITION with its violations.
    pub async fn create_meeting(
        &self,
        meeting: liaison_proto::scheduling::v1::Meeting,
        request_id: String,
    ) -> Result<liaison_proto::scheduling::v1::Meeting, Error> {
        use liaison_proto::scheduling::v1::{CreateMeetingRequest, CreateMeetingResponse};
        let request = CreateMeetingRequest { meeting: Some(meeting), request_id, ..Default::default() };
        let path = "/liaison.scheduling.v1.SchedulingService/CreateMeeting";
        let response: CreateMeetingResponse =
            unary(&self.peer, self.calls, "scheduling.CreateMeeting", path, request).await?;
        response.meeting.ok_or_else(|| Error::Internal("scheduling.CreateMeeting answered no meeting".into()))
    }
}

/// The contacts service's responses as a caller that needs only names reads them. A resolver needs only which
/// names exist, and decoding whole contacts (a dozen strings and lists each) cost more than the rest of a
/// meeting's create; a load generator needs only to see that the right contacts came back. These messages have
/// the same field numbers as the real ones and leave every other field undecoded.
pub mod names_only {
    /// A batch answer that answers to several calls can be joined into: their lists, in order.
    pub trait Batch: prost::Message + Default + 'static {
        fn join(parts: Vec<Self>) -> Self;
    }

    macro_rules! batch {
        ($($view:ty => $items:ident;)+) => {$(
            impl Batch for $view {
                fn join(parts: Vec<Self>) -> Self {
                    parts.into_iter().fold(Self::default(), |mut all, part| {
                        all.$items.extend(part.$items);
                        all.missing_names.extend(part.missing_names);
                        all
                    })
                }
            }
        )+};
    }

    batch! {
        Contacts => contacts;
        ContactStates => contacts;
        PartyStates => parties;
        ContactFactsPage => contacts;
        PartyFactsPage => parties;
    }

    /// A `Contact` or an `Organization`: both have their resource name as field 1.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Named {
        #[prost(string, tag = "1")]
        pub name: String,
    }

    /// `GetContactResponse`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Contact {
        #[prost(message, optional, tag = "1")]
        pub contact: Option<Named>,
    }

    /// `ListContactsResponse`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContactPage {
        #[prost(message, repeated, tag = "1")]
        pub contacts: Vec<Named>,
        #[prost(string, tag = "2")]
        pub next_page_token: String,
    }

    /// `BatchGetContactsResponse`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Contacts {
        #[prost(message, repeated, tag = "1")]
        pub contacts: Vec<Named>,
        #[prost(string, repeated, tag = "2")]
        pub missing_names: Vec<String>,
    }

    /// A `Contact` as a reference check reads it: its name, whether it is deleted, what was merged into it.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContactState {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "21")]
        pub delete_time: Option<prost_types::Timestamp>,
        #[prost(string, repeated, tag = "23")]
        pub merged_names: Vec<String>,
    }

    /// `BatchGetContactsResponse` of [`ContactState`]s.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContactStates {
        #[prost(message, repeated, tag = "1")]
        pub contacts: Vec<ContactState>,
        #[prost(string, repeated, tag = "2")]
        pub missing_names: Vec<String>,
    }

    /// `Party` with its contact as a [`ContactState`]: a oneof of a contact (1) and an organisation (2) is, on the
    /// wire, two optional fields.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PartyState {
        #[prost(message, optional, tag = "1")]
        pub contact: Option<ContactState>,
        #[prost(message, optional, tag = "2")]
        pub organization: Option<Named>,
    }

    /// `BatchGetPartiesResponse` of [`PartyState`]s.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PartyStates {
        #[prost(message, repeated, tag = "1")]
        pub parties: Vec<PartyState>,
        #[prost(string, repeated, tag = "2")]
        pub missing_names: Vec<String>,
    }

    /// A `Contact` as an inviter reads it: its name, how it is addressed (display name, email addresses), what was
    /// merged into it, whether it is deleted or asked not to be contacted, and where and when it works.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContactFacts {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub display_name: String,
        /// The primary email address.
        #[prost(string, tag = "5")]
        pub email: String,
        #[prost(message, repeated, tag = "12")]
        pub emails: Vec<EmailAddress>,
        #[prost(string, tag = "7")]
        pub time_zone: String,
        #[prost(message, repeated, tag = "16")]
        pub working_hours: Vec<liaison_proto::contacts::v1::WorkingHours>,
        #[prost(bool, tag = "19")]
        pub do_not_contact: bool,
        #[prost(message, optional, tag = "21")]
        pub delete_time: Option<prost_types::Timestamp>,
        #[prost(string, repeated, tag = "23")]
        pub merged_names: Vec<String>,
    }

    /// `EmailAddress`: the address only.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct EmailAddress {
        #[prost(string, tag = "1")]
        pub address: String,
    }

    /// `BatchGetContactsResponse` read as [`ContactFacts`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContactFactsPage {
        #[prost(message, repeated, tag = "1")]
        pub contacts: Vec<ContactFacts>,
        #[prost(string, repeated, tag = "2")]
        pub missing_names: Vec<String>,
    }

    /// A `Party` with a contact's facts.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PartyFacts {
        #[prost(message, optional, tag = "1")]
        pub contact: Option<ContactFacts>,
        #[prost(message, optional, tag = "2")]
        pub organization: Option<Named>,
    }

    /// `BatchGetPartiesResponse` read as [`PartyFacts`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PartyFactsPage {
        #[prost(message, repeated, tag = "1")]
        pub parties: Vec<PartyFacts>,
        #[prost(string, repeated, tag = "2")]
        pub missing_names: Vec<String>,
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use liaison_proto::contacts::v1 as real;
        use prost::Message;

        #[test]
        fn the_views_read_names_from_the_real_responses() {
            let contact = |name: &str| real::Contact {
                name: name.into(),
                display_name: "Ada".into(),
                notes: "long notes".into(),
                ..Default::default()
            };
            let contacts = real::BatchGetContactsResponse {
                contacts: vec![contact("contacts/a"), contact("contacts/b")],
                missing_names: vec!["contacts/x".into()],
            };
            let view = Contacts::decode(contacts.encode_to_vec().as_slice()).expect("decodes");
            assert_eq!(view.contacts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["contacts/a", "contacts/b"]);
            assert_eq!(view.missing_names, ["contacts/x"]);

            let parties = real::BatchGetPartiesResponse {
                parties: vec![
                    real::Party {
                        party: Some(real::party::Party::Organization(real::Organization {
                            name: "organizations/o".into(),
                            display_name: "Org".into(),
                            ..Default::default()
                        })),
                    },
                    real::Party { party: Some(real::party::Party::Contact(contact("contacts/a"))) },
                ],
                missing_names: vec![],
            };
            let view = PartyStates::decode(parties.encode_to_vec().as_slice()).expect("decodes");
            let names: Vec<_> = view
                .parties
                .into_iter()
                .filter_map(|p| p.contact.map(|c| c.name).or(p.organization.map(|o| o.name)))
                .collect();
            assert_eq!(names, ["organizations/o", "contacts/a"]);

            let one = real::GetContactResponse { contact: Some(contact("contacts/a")) };
            let view = Contact::decode(one.encode_to_vec().as_slice()).expect("decodes");
            assert_eq!(view.contact.map(|c| c.name).as_deref(), Some("contacts/a"));
            let page = real::ListContactsResponse {
                contacts: vec![contact("contacts/a"), contact("contacts/b")],
                next_page_token: "next".into(),
            };
            let view = ContactPage::decode(page.encode_to_vec().as_slice()).expect("decodes");
            assert_eq!(view.contacts.len(), 2);
            assert_eq!((view.contacts[1].name.as_str(), view.next_page_token.as_str()), ("contacts/b", "next"));
        }
    }
}

/// The precondition failure for references that do not exist (`kind` e.g. `PARTICIPANT_NOT_FOUND`).
pub fn missing_references(reason: &'static str, what: &str, missing: &[String]) -> Error {
    Error::FailedPrecondition {
        reason,
        violations: missing
            .iter()
            .map(|name| crate::api::error::PreconditionViolation {
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

/// Client of any service's change feed (`liaison.common.v1.ChangeFeedService` on the service's own port).
#[derive(Debug, Clone)]
pub struct FeedClient {
    source: crate::config::ServiceKind,
    peer: Peer,
    calls: CallSettings,
}

impl FeedClient {
    pub fn new(source: crate::config::ServiceKind, peer: Peer, calls: CallSettings) -> Self {
        Self { source, peer, calls }
    }

    pub fn source(&self) -> crate::config::ServiceKind {
        self.source
    }

    /// Opens `WatchChanges` after `after`. Opening has the call deadline; the stream itself lives until closed.
    pub async fn watch(&self, after: i64) -> Result<FeedStream, Error> {
        use futures::StreamExt;
        let dependency = format!("{}.WatchChanges", self.source);
        let deadline = self.calls.call_timeout;
        let opening = async {
            use liaison_proto::common::v1::WatchChangesRequest;
            use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
            let request =
                self.peer.stream_request(WatchChangesRequest { after_sequence: after, start_at_end: false })?;
            let stream = ChangeFeedServiceClient::new(self.peer.channel.clone()).watch_changes(request).await?;
            let batches =
                stream.into_inner().map(|r| r.map(|m| FeedBatch { changes: m.changes, remaining: m.remaining_count }));
            Ok::<FeedStream, tonic::Status>(batches.boxed())
        };
        match tokio::time::timeout(deadline, opening).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(status)) => Err(Error::from_status(&dependency, &status)),
            Err(_) => Err(Error::DeadlineExceeded { dependency }),
        }
    }
}
