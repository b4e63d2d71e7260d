//! Contacts: create, get, list, update (with the mask merged into the current state), delete and undelete, and the
//! batch reads other services make. Reads by name go through the read cache, which keeps each contact with its
//! encoding: `GetContact` and `BatchGetContacts` splice the encodings into the response.
use super::{ContactsApi, create_key, lists, optional};
use crate::domain::BATCH_MAX;
use crate::domain::contacts::{CONTACT_UPDATABLE, ContactFields};
use crate::domain::labels;
use crate::resource;
use crate::store::contacts::ContactFilter;
use bytes::Bytes;
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::filter;
use liaison_runtime::api::names::{Contacts, Name, Organizations, PartyName};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::net::wire::{self, Spliced};
use liaison_runtime::{Error, FieldViolation, Validate, api::etag, api::paging};
use std::collections::{HashMap, HashSet};
use tonic::{Request, Response, Status};

/// A contact as the read cache keeps it: its encoding only, which the reads other services make most (GetContact,
/// BatchGetContacts) splice into their answers as it is; the few readers that need the message decode it.
pub(super) type CachedContact = Bytes;

/// The read cache of contacts holds at most this many bytes (about 30,000 contacts of 1 KiB, or 600 of the
/// largest, 55 KB): memory is bounded by what contacts weigh, not by how many there are.
pub(super) const CACHED_CONTACT_BYTES: usize = 32 * 1024 * 1024;

/// What a cached contact weighs: its encoding.
pub(super) fn contact_weight(contact: &CachedContact) -> usize {
    contact.len()
}

impl ContactsApi {
    /// Contacts by id through the read cache, in the order of `ids` (`None` for those that do not exist).
    pub(super) async fn contacts_by_id(&self, ids: &[String]) -> Result<Vec<Option<Contact>>, Error> {
        let encoded = self.cached_contacts(ids, Bytes::clone).await?;
        encoded
            .into_iter()
            .map(|bytes| {
                bytes
                    .map(<Contact as prost::Message>::decode)
                    .transpose()
                    .map_err(|e| Error::Internal(format!("a cached contact does not decode: {e}")))
            })
            .collect()
    }

    /// What `project` makes of the contacts of `ids` (a merged id maps to its survivor), in their order.
    async fn cached_contacts<T>(
        &self,
        ids: &[String],
        project: impl Fn(&CachedContact) -> T,
    ) -> Result<Vec<Option<T>>, Error> {
        let epoch = self.contacts.epoch();
        let mut found = self.contacts.get_many(ids, &project);
        let mut missing: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, (id, contact)) in ids.iter().zip(&found).enumerate() {
            if contact.is_none() {
                missing.entry(id.as_str()).or_default().push(index);
            }
        }
        if !missing.is_empty() {
            let asked = missing.keys().map(|id| (*id).to_owned()).collect();
            for (id, model) in self.store.resolve_contacts(asked).await? {
                let cached: CachedContact = wire::encode(&resource::contact(&model));
                for &index in missing.get(id.as_str()).into_iter().flatten() {
                    found[index] = Some(project(&cached));
                }
                self.contacts.fill(id, epoch, cached);
            }
        }
        Ok(found)
    }

    /// `GetContact`, answered with the contact's cached encoding, as [`Self::batch_get_contacts_spliced`] is: the
    /// clone and the re-encoding were ~8% of the server's CPU per call, on the read other services make most.
    pub async fn get_contact_spliced(&self, request: &GetContactRequest) -> Result<Spliced, Status> {
        const CONTACT: u32 = 1;
        let name = Name::<Contacts>::parse("name", &request.name).map_err(Error::from_violation)?;
        match self.cached_contacts(&[name.key()], Bytes::clone).await?.pop().flatten() {
            Some(contact) => {
                let mut response = Spliced::with_capacity(1);
                response.push(CONTACT, contact);
                Ok(response)
            }
            None => Err(Error::NotFound { resource: name.to_string() }.into()),
        }
    }

    /// `BatchGetContacts`, answered with each contact's cached encoding: cloning and re-encoding a hundred
    /// contacts per call cost more than the rest of the call. Served by [`super::routes`] ahead of the trait
    /// method, which decodes this response for callers of the trait itself.
    pub async fn batch_get_contacts_spliced(&self, request: &BatchGetContactsRequest) -> Result<Spliced, Status> {
        const CONTACTS: u32 = 1;
        const MISSING_NAMES: u32 = 2;
        let names = parse_batch(&request.names, Name::<Contacts>::parse)?;
        let ids: Vec<String> = names.iter().map(Name::key).collect();
        let mut encoded = Vec::with_capacity(ids.len());
        let mut response = Spliced::with_capacity(ids.len());
        if self.contacts.extend_if_all_cached(&ids, &mut encoded, Bytes::clone) {
            for contact in encoded {
                response.push(CONTACTS, contact);
            }
            return Ok(response);
        }
        let found = self.cached_contacts(&ids, Bytes::clone).await?;
        let mut missing_names = Vec::new();
        for (name, contact) in names.iter().zip(found) {
            match contact {
                Some(contact) => response.push(CONTACTS, contact),
                None => missing_names.push(Bytes::from(name.to_string())),
            }
        }
        for name in missing_names {
            response.push(MISSING_NAMES, name);
        }
        Ok(response)
    }
}

/// A spliced response read back as its generated message, for callers of the trait methods themselves.
fn respliced<M: prost::Message + Default>(spliced: &Spliced) -> Result<M, Error> {
    spliced.to_message().map_err(|e| Error::Internal(format!("re-reading a spliced response: {e}")))
}

/// Parses batch names: 1 to 1000, each valid; duplicates collapse to their first occurrence.
fn parse_batch<T: Copy + Eq + std::hash::Hash>(
    names: &[String],
    parse: impl Fn(&str, &str) -> Result<T, FieldViolation>,
) -> Result<Vec<T>, Error> {
    if names.is_empty() || names.len() > BATCH_MAX {
        return Err(Error::invalid("names", format!("must list 1 to {BATCH_MAX} names (got {})", names.len())));
    }
    let mut seen = HashSet::with_capacity_and_hasher(names.len(), foldhash::fast::RandomState::default());
    let mut parsed = Vec::with_capacity(names.len());
    let mut violations = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match parse("names", name) {
            Ok(value) => {
                if seen.insert(value) {
                    parsed.push(value);
                }
            }
            // The field's index is written only for a bad name: formatting it for every name cost more than the
            // parse.
            Err(violation) => violations.push(FieldViolation { field: format!("names[{index}]"), ..violation }),
        }
    }
    if violations.is_empty() { Ok(parsed) } else { Err(Error::InvalidArgument(violations)) }
}

/// The contact an update asks for. `emails` is authoritative when named (the single `email` is then ignored);
/// `email` alone replaces the list by that one address. Likewise for phones.
fn merge_contact(current: &Contact, new: &Contact, mask: &UpdateMask) -> Contact {
    let mut merged = current.clone();
    let texts: [(&str, &mut String, &String); 5] = [
        ("display_name", &mut merged.display_name, &new.display_name),
        ("given_name", &mut merged.given_name, &new.given_name),
        ("family_name", &mut merged.family_name, &new.family_name),
        ("time_zone", &mut merged.time_zone, &new.time_zone),
        ("notes", &mut merged.notes, &new.notes),
    ];
    for (path, target, value) in texts {
        if mask.contains(path) {
            target.clone_from(value);
        }
    }
    if mask.contains("emails") {
        merged.emails.clone_from(&new.emails);
        merged.email.clear();
    } else if mask.contains("email") {
        merged.emails.clear();
        merged.email.clone_from(&new.email);
    }
    if mask.contains("phones") {
        merged.phones.clone_from(&new.phones);
        merged.phone.clear();
    } else if mask.contains("phone") {
        merged.phones.clear();
        merged.phone.clone_from(&new.phone);
    }
    if mask.contains("preferred_channel") {
        merged.preferred_channel = new.preferred_channel;
    }
    if mask.contains("languages") {
        merged.languages.clone_from(&new.languages);
    }
    if mask.contains("working_hours") {
        merged.working_hours.clone_from(&new.working_hours);
    }
    if mask.contains("labels") {
        merged.labels.clone_from(&new.labels);
    }
    if mask.contains("consent") {
        merged.consent.clone_from(&new.consent);
    }
    merged
}

pub(super) async fn create_contact(
    api: &ContactsApi,
    request: Request<CreateContactRequest>,
) -> Result<Response<CreateContactResponse>, Status> {
    let request = request.into_inner();
    let contact = request.contact.clone().unwrap_or_default();
    let (fields, request_id) =
        (ContactFields::parse("contact", &contact), RequestId::parse_optional("request_id", &request.request_id))
            .validate()?;
    let model = api.store.create_contact(fields, &create_key(&request, request_id)).await?;
    let possible_duplicates = api
        .store
        .possible_duplicates(&model)
        .await?
        .into_iter()
        .map(|(person, score, evidence)| PossibleDuplicate {
            contact: resource::contact_name(&person.id),
            display_name: person.display_name,
            score,
            evidence: evidence
                .into_iter()
                .map(|e| DuplicateEvidence { reason: e.reason.to_wire(), detail: e.detail })
                .collect(),
        })
        .collect();
    Ok(Response::new(CreateContactResponse { contact: Some(resource::contact(&model)), possible_duplicates }))
}

pub(super) async fn get_contact(
    api: &ContactsApi,
    request: Request<GetContactRequest>,
) -> Result<Response<GetContactResponse>, Status> {
    Ok(Response::new(respliced(&api.get_contact_spliced(request.get_ref()).await?)?))
}

pub(super) async fn list_contacts(
    api: &ContactsApi,
    request: Request<ListContactsRequest>,
) -> Result<Response<ListContactsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!(
        "ListContacts?label={}&organization={}&deleted={}&filter={}&order_by={}",
        request.label, request.organization, request.show_deleted, request.filter, request.order_by
    );
    let (page, label, organization, matching, sort) = (
        paging::parse(request.page_size, &request.page_token, &scope),
        optional(!request.label.is_empty(), || labels::label("label", &request.label)),
        optional(!request.organization.is_empty(), || {
            Name::<Organizations>::parse("organization", &request.organization)
        }),
        filter::parse_filter("filter", &request.filter, &lists::CONTACT_FILTER),
        lists::ListSort::parse("order_by", &request.order_by),
    )
        .validate()?;
    let filter = ContactFilter { label, organization, show_deleted: request.show_deleted, matching };
    let after = lists::resume(page.after)?;
    let models = api.store.list_contacts(&filter, sort.contacts(), after, page.size + 1).await?;
    let key = |m: &crate::store::entity::contact::Model| sort.resume_key(&m.id, &m.display_name, &m.update_time);
    let (contacts, next_page_token) = paging::page(models, page.size, &scope, key, resource::contact);
    Ok(Response::new(ListContactsResponse { contacts, next_page_token }))
}

pub(super) async fn update_contact(
    api: &ContactsApi,
    request: Request<UpdateContactRequest>,
) -> Result<Response<UpdateContactResponse>, Status> {
    let request = request.into_inner();
    let new = request.contact.unwrap_or_default();
    let (name, expected, mask) = (
        Name::<Contacts>::parse("contact.name", &new.name),
        etag::parse_expected("contact.etag", &new.etag),
        UpdateMask::parse("update_mask", request.update_mask.as_ref(), &new, CONTACT_UPDATABLE),
    )
        .validate()?;
    let model = api
        .store
        .update_contact(name, expected, |current| {
            ContactFields::parse("contact", &merge_contact(current, &new, &mask)).map_err(Error::InvalidArgument)
        })
        .await?;
    Ok(Response::new(UpdateContactResponse { contact: Some(resource::contact(&model)) }))
}

pub(super) async fn delete_contact(
    api: &ContactsApi,
    request: Request<DeleteContactRequest>,
) -> Result<Response<DeleteContactResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Contacts>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
    let model = api.store.delete_contact(name, expected).await?;
    Ok(Response::new(DeleteContactResponse { contact: Some(resource::contact(&model)) }))
}

pub(super) async fn undelete_contact(
    api: &ContactsApi,
    request: Request<UndeleteContactRequest>,
) -> Result<Response<UndeleteContactResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Contacts>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
    let model = api.store.undelete_contact(name, expected).await?;
    Ok(Response::new(UndeleteContactResponse { contact: Some(resource::contact(&model)) }))
}

pub(super) async fn purge_contact(
    api: &ContactsApi,
    request: Request<PurgeContactRequest>,
) -> Result<Response<PurgeContactResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Contacts>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
    let purged = api.store.purge_contact(name, expected).await?;
    Ok(Response::new(PurgeContactResponse {
        purged_names: purged.contacts,
        purged_assessments: i32::try_from(purged.assessments).unwrap_or(i32::MAX),
    }))
}

pub(super) async fn batch_get_contacts(
    api: &ContactsApi,
    request: Request<BatchGetContactsRequest>,
) -> Result<Response<BatchGetContactsResponse>, Status> {
    Ok(Response::new(respliced(&api.batch_get_contacts_spliced(request.get_ref()).await?)?))
}

pub(super) async fn batch_get_parties(
    api: &ContactsApi,
    request: Request<BatchGetPartiesRequest>,
) -> Result<Response<BatchGetPartiesResponse>, Status> {
    let names = parse_batch(&request.get_ref().names, PartyName::parse)?;
    let (mut contact_ids, mut organization_ids) = (Vec::new(), Vec::new());
    for name in &names {
        match name {
            PartyName::Contact(n) => contact_ids.push(n.key()),
            PartyName::Organization(n) => organization_ids.push(n.key()),
        }
    }
    let (contacts, organizations) =
        tokio::try_join!(api.contacts_by_id(&contact_ids), api.store.organizations_by_id(organization_ids))?;
    let contacts: HashMap<String, Contact> =
        contact_ids.into_iter().zip(contacts).filter_map(|(id, contact)| Some((id, contact?))).collect();
    let organizations: HashMap<String, _> = organizations.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut response = BatchGetPartiesResponse::default();
    for name in names {
        let party = match name {
            PartyName::Contact(n) => contacts.get(&n.key()).map(|c| party::Party::Contact(c.clone())),
            PartyName::Organization(n) => {
                organizations.get(&n.key()).map(|m| party::Party::Organization(resource::organization(m)))
            }
        };
        match party {
            Some(party) => response.parties.push(Party { party: Some(party) }),
            None => response.missing_names.push(name.to_string()),
        }
    }
    Ok(Response::new(response))
}
