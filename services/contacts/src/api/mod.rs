//! The tonic adapter: parse each request into domain values, call the store, map the result back. The larger
//! capabilities live in submodules; the trait impl here only delegates to them.
mod engagement;
mod lifecycle;
mod merge;
mod transfer;

use crate::domain::channels;
use crate::domain::conflicts;
use crate::domain::graph::{
    AFFILIATION_UPDATABLE, AffiliationFields, NewAffiliation, NewRelationship, RELATIONSHIP_UPDATABLE,
    RelationshipFields,
};
use crate::domain::{
    BATCH_MAX, CONTACT_UPDATABLE, ContactFields, ORGANIZATION_UPDATABLE, OrganizationFields, OrganizationKind,
};
use crate::resource;
use crate::store::{ContactFilter, CreateKey, OrganizationFilter, Store};
use bytes::Bytes;
use liaison_proto::contacts::v1::contacts_service_server::ContactsService;
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Affiliations, Contacts, Name, Organizations, PartyName, Relationships};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::feed::cache::ReadCache;
use liaison_runtime::net::wire::{self, Spliced};
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{Error, FieldViolation, Validate, api::etag, api::paging, db::idempotency};
use std::collections::{HashMap, HashSet};
use tonic::{Request, Response, Status};

/// The `ContactsService` implementation.
pub struct ContactsApi {
    store: Store,
    /// Contacts as last read, by the id asked for (a merged id maps to its survivor): other services resolve the
    /// same names over and over.
    contacts: ReadCache<CachedContact>,
}

/// A contact as the read cache keeps it: the message, and its encoding for batch reads to splice.
struct CachedContact {
    contact: Contact,
    encoded: Bytes,
}

/// Contacts kept by the read cache (about 1 KiB each).
const CACHED_CONTACTS: usize = 20_000;

impl ContactsApi {
    pub fn new(ctx: ServiceContext) -> Self {
        liaison_runtime::feed::cache::follow_other_writers(ctx.db.clone(), ctx.shutdown.clone());
        Self { contacts: ReadCache::new(ctx.db.clone(), CACHED_CONTACTS), store: Store::new(ctx.db) }
    }

    /// Contacts by id through the read cache, in the order of `ids` (`None` for those that do not exist).
    pub(super) async fn contacts_by_id(&self, ids: &[String]) -> Result<Vec<Option<Contact>>, Error> {
        self.cached_contacts(ids, |cached| cached.contact.clone()).await
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
                let contact = resource::contact(&model);
                let cached = CachedContact { encoded: wire::encode(&contact), contact };
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
        match self.cached_contacts(&[name.key()], |cached| cached.encoded.clone()).await?.pop().flatten() {
            Some(contact) => {
                let mut response = Spliced::with_capacity(1);
                response.push(CONTACT, contact);
                Ok(response)
            }
            None => Err(Error::NotFound { resource: name.to_string() }.into()),
        }
    }

    /// `BatchGetContacts`, answered with each contact's cached encoding: cloning and re-encoding a hundred
    /// contacts per call cost more than the rest of the call. Served by [`crate::Contacts`] ahead of the trait
    /// method, which decodes this response for callers of the trait itself.
    pub async fn batch_get_contacts_spliced(&self, request: &BatchGetContactsRequest) -> Result<Spliced, Status> {
        const CONTACTS: u32 = 1;
        const MISSING_NAMES: u32 = 2;
        let names = parse_batch(&request.names, Name::<Contacts>::parse)?;
        let ids: Vec<String> = names.iter().map(Name::key).collect();
        let mut encoded = Vec::with_capacity(ids.len());
        let mut response = Spliced::with_capacity(ids.len());
        if self.contacts.extend_if_all_cached(&ids, &mut encoded, |cached| cached.encoded.clone()) {
            for contact in encoded {
                response.push(CONTACTS, contact);
            }
            return Ok(response);
        }
        let found = self.cached_contacts(&ids, |cached| cached.encoded.clone()).await?;
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

fn create_key(request: &impl prost::Message, request_id: Option<RequestId>) -> CreateKey {
    CreateKey { request_id, fingerprint: idempotency::fingerprint(request) }
}

fn merge_organization(current: &Organization, new: &Organization, mask: &UpdateMask) -> Organization {
    let mut merged = current.clone();
    if mask.contains("display_name") {
        merged.display_name.clone_from(&new.display_name);
    }
    if mask.contains("kind") {
        merged.kind = new.kind;
    }
    if mask.contains("website") {
        merged.website.clone_from(&new.website);
    }
    if mask.contains("notes") {
        merged.notes.clone_from(&new.notes);
    }
    if mask.contains("parent") {
        merged.parent.clone_from(&new.parent);
    }
    if mask.contains("postal_address") {
        merged.postal_address.clone_from(&new.postal_address);
    }
    if mask.contains("labels") {
        merged.labels.clone_from(&new.labels);
    }
    merged
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

impl ContactsApi {
    /// The names among `parties` that do not exist.
    async fn missing_parties(&self, parties: &[PartyName]) -> Result<Vec<String>, Error> {
        let (mut contact_ids, mut organization_ids) = (Vec::new(), Vec::new());
        for party in parties {
            match party {
                PartyName::Contact(n) => contact_ids.push(n.key()),
                PartyName::Organization(n) => organization_ids.push(n.key()),
            }
        }
        let (contacts, organizations) =
            tokio::try_join!(self.store.contacts_by_id(contact_ids), self.store.organizations_by_id(organization_ids))?;
        let found: HashSet<String> = contacts
            .iter()
            .map(|m| resource::contact_name(&m.id))
            .chain(organizations.iter().map(|m| resource::organization_name(&m.id)))
            .collect();
        Ok(parties.iter().map(ToString::to_string).filter(|n| !found.contains(n)).collect())
    }
}

/// A filter field: parsed when `present`, `None` otherwise.
fn optional<T>(present: bool, parse: impl FnOnce() -> Result<T, FieldViolation>) -> Result<Option<T>, FieldViolation> {
    if present { parse().map(Some) } else { Ok(None) }
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

#[tonic::async_trait]
impl ContactsService for ContactsApi {
    async fn create_organization(
        &self,
        request: Request<CreateOrganizationRequest>,
    ) -> Result<Response<CreateOrganizationResponse>, Status> {
        let request = request.into_inner();
        let organization = request.organization.clone().unwrap_or_default();
        let (fields, request_id) = (
            OrganizationFields::parse("organization", &organization),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let model = self.store.create_organization(fields, &create_key(&request, request_id)).await?;
        Ok(Response::new(CreateOrganizationResponse { organization: Some(resource::organization(&model)) }))
    }

    async fn get_organization(
        &self,
        request: Request<GetOrganizationRequest>,
    ) -> Result<Response<GetOrganizationResponse>, Status> {
        let name = Name::<Organizations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let model = self.store.get_organization(name).await?;
        Ok(Response::new(GetOrganizationResponse { organization: Some(resource::organization(&model)) }))
    }

    async fn list_organizations(
        &self,
        request: Request<ListOrganizationsRequest>,
    ) -> Result<Response<ListOrganizationsResponse>, Status> {
        let request = request.into_inner();
        let scope =
            format!("ListOrganizations?kind={}&label={}&parent={}", request.kind, request.label, request.parent);
        let (page, kind, label, parent) = (
            paging::parse(request.page_size, &request.page_token, &scope),
            optional(request.kind != 0, || OrganizationKind::parse("kind", request.kind)),
            optional(!request.label.is_empty(), || channels::label("label", &request.label)),
            optional(!request.parent.is_empty(), || Name::<Organizations>::parse("parent", &request.parent)),
        )
            .validate()?;
        let filter = OrganizationFilter { kind, label, parent };
        let mut models = self.store.list_organizations(&filter, page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, &scope, |m| m.id.clone());
        Ok(Response::new(ListOrganizationsResponse {
            organizations: models.iter().map(resource::organization).collect(),
            next_page_token,
        }))
    }

    async fn update_organization(
        &self,
        request: Request<UpdateOrganizationRequest>,
    ) -> Result<Response<UpdateOrganizationResponse>, Status> {
        let request = request.into_inner();
        let new = request.organization.unwrap_or_default();
        let (name, expected, mask) = (
            Name::<Organizations>::parse("organization.name", &new.name),
            etag::parse_expected("organization.etag", &new.etag),
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), &new, ORGANIZATION_UPDATABLE),
        )
            .validate()?;
        let model = self
            .store
            .update_organization(name, expected, |current| {
                OrganizationFields::parse("organization", &merge_organization(current, &new, &mask))
                    .map_err(Error::InvalidArgument)
            })
            .await?;
        Ok(Response::new(UpdateOrganizationResponse { organization: Some(resource::organization(&model)) }))
    }

    async fn delete_organization(
        &self,
        request: Request<DeleteOrganizationRequest>,
    ) -> Result<Response<DeleteOrganizationResponse>, Status> {
        let request = request.into_inner();
        let (name, expected) =
            (Name::<Organizations>::parse("name", &request.name), etag::parse_expected("etag", &request.etag))
                .validate()?;
        self.store.delete_organization(name, expected, request.force).await?;
        Ok(Response::new(DeleteOrganizationResponse {}))
    }

    async fn create_contact(
        &self,
        request: Request<CreateContactRequest>,
    ) -> Result<Response<CreateContactResponse>, Status> {
        let request = request.into_inner();
        let contact = request.contact.clone().unwrap_or_default();
        let (fields, request_id) =
            (ContactFields::parse("contact", &contact), RequestId::parse_optional("request_id", &request.request_id))
                .validate()?;
        let model = self.store.create_contact(fields, &create_key(&request, request_id)).await?;
        Ok(Response::new(CreateContactResponse { contact: Some(resource::contact(&model)) }))
    }

    async fn get_contact(&self, request: Request<GetContactRequest>) -> Result<Response<GetContactResponse>, Status> {
        Ok(Response::new(respliced(&self.get_contact_spliced(request.get_ref()).await?)?))
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        let request = request.into_inner();
        let scope = format!(
            "ListContacts?label={}&organization={}&deleted={}",
            request.label, request.organization, request.show_deleted
        );
        let (page, label, organization) = (
            paging::parse(request.page_size, &request.page_token, &scope),
            optional(!request.label.is_empty(), || channels::label("label", &request.label)),
            optional(!request.organization.is_empty(), || {
                Name::<Organizations>::parse("organization", &request.organization)
            }),
        )
            .validate()?;
        let filter = ContactFilter { label, organization, show_deleted: request.show_deleted };
        let mut models = self.store.list_contacts(&filter, page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, &scope, |m| m.id.clone());
        Ok(Response::new(ListContactsResponse {
            contacts: models.iter().map(resource::contact).collect(),
            next_page_token,
        }))
    }

    async fn update_contact(
        &self,
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
        let model = self
            .store
            .update_contact(name, expected, |current| {
                ContactFields::parse("contact", &merge_contact(current, &new, &mask)).map_err(Error::InvalidArgument)
            })
            .await?;
        Ok(Response::new(UpdateContactResponse { contact: Some(resource::contact(&model)) }))
    }

    async fn delete_contact(
        &self,
        request: Request<DeleteContactRequest>,
    ) -> Result<Response<DeleteContactResponse>, Status> {
        let request = request.into_inner();
        let (name, expected) =
            (Name::<Contacts>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
        let model = self.store.delete_contact(name, expected).await?;
        Ok(Response::new(DeleteContactResponse { contact: Some(resource::contact(&model)) }))
    }

    async fn batch_get_contacts(
        &self,
        request: Request<BatchGetContactsRequest>,
    ) -> Result<Response<BatchGetContactsResponse>, Status> {
        Ok(Response::new(respliced(&self.batch_get_contacts_spliced(request.get_ref()).await?)?))
    }

    async fn batch_get_parties(
        &self,
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
            tokio::try_join!(self.contacts_by_id(&contact_ids), self.store.organizations_by_id(organization_ids))?;
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

    async fn create_affiliation(
        &self,
        request: Request<CreateAffiliationRequest>,
    ) -> Result<Response<CreateAffiliationResponse>, Status> {
        let request = request.into_inner();
        let affiliation = request.affiliation.clone().unwrap_or_default();
        let (new, request_id) =
            (NewAffiliation::parse(&affiliation), RequestId::parse_optional("request_id", &request.request_id))
                .validate()?;
        let model = self.store.create_affiliation(new, &create_key(&request, request_id)).await?;
        Ok(Response::new(CreateAffiliationResponse { affiliation: Some(resource::affiliation(&model)) }))
    }

    async fn get_affiliation(
        &self,
        request: Request<GetAffiliationRequest>,
    ) -> Result<Response<GetAffiliationResponse>, Status> {
        let name = Name::<Affiliations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let model = self.store.get_affiliation(name).await?;
        Ok(Response::new(GetAffiliationResponse { affiliation: Some(resource::affiliation(&model)) }))
    }

    async fn list_affiliations(
        &self,
        request: Request<ListAffiliationsRequest>,
    ) -> Result<Response<ListAffiliationsResponse>, Status> {
        let request = request.into_inner();
        let of = match (request.organization.is_empty(), request.contact.is_empty()) {
            (false, true) => {
                Name::<Organizations>::parse("organization", &request.organization).map(PartyName::Organization)
            }
            (true, false) => Name::<Contacts>::parse("contact", &request.contact).map(PartyName::Contact),
            _ => Err(FieldViolation::new("organization", "set exactly one of organization and contact")),
        };
        let scope = format!("ListAffiliations/{}{}", request.organization, request.contact);
        let (of, page) = (of, paging::parse(request.page_size, &request.page_token, &scope)).validate()?;
        let mut models = self.store.list_affiliations(of, page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, &scope, |m| m.id.clone());
        Ok(Response::new(ListAffiliationsResponse {
            affiliations: models.iter().map(resource::affiliation).collect(),
            next_page_token,
        }))
    }

    async fn update_affiliation(
        &self,
        request: Request<UpdateAffiliationRequest>,
    ) -> Result<Response<UpdateAffiliationResponse>, Status> {
        let request = request.into_inner();
        let new = request.affiliation.unwrap_or_default();
        let (name, expected, mask) = (
            Name::<Affiliations>::parse("affiliation.name", &new.name),
            etag::parse_expected("affiliation.etag", &new.etag),
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), &new, AFFILIATION_UPDATABLE),
        )
            .validate()?;
        let model = self
            .store
            .update_affiliation(name, expected, |current| {
                let mut merged = current.clone();
                if mask.contains("role") {
                    merged.role.clone_from(&new.role);
                }
                if mask.contains("start_date") {
                    merged.start_date = new.start_date;
                }
                if mask.contains("end_date") {
                    merged.end_date = new.end_date;
                }
                AffiliationFields::parse(&merged).map_err(Error::InvalidArgument)
            })
            .await?;
        Ok(Response::new(UpdateAffiliationResponse { affiliation: Some(resource::affiliation(&model)) }))
    }

    async fn delete_affiliation(
        &self,
        request: Request<DeleteAffiliationRequest>,
    ) -> Result<Response<DeleteAffiliationResponse>, Status> {
        let request = request.into_inner();
        let (name, expected) =
            (Name::<Affiliations>::parse("name", &request.name), etag::parse_expected("etag", &request.etag))
                .validate()?;
        self.store.delete_affiliation(name, expected).await?;
        Ok(Response::new(DeleteAffiliationResponse {}))
    }

    async fn set_point_of_contact(
        &self,
        request: Request<SetPointOfContactRequest>,
    ) -> Result<Response<SetPointOfContactResponse>, Status> {
        let name = Name::<Affiliations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let (model, demoted) = self.store.set_point_of_contact(name).await?;
        Ok(Response::new(SetPointOfContactResponse {
            affiliation: Some(resource::affiliation(&model)),
            demoted: demoted.unwrap_or_default(),
        }))
    }

    async fn create_relationship(
        &self,
        request: Request<CreateRelationshipRequest>,
    ) -> Result<Response<CreateRelationshipResponse>, Status> {
        let request = request.into_inner();
        let relationship = request.relationship.clone().unwrap_or_default();
        let (new, request_id) =
            (NewRelationship::parse(&relationship), RequestId::parse_optional("request_id", &request.request_id))
                .validate()?;
        let model = self.store.create_relationship(new, &create_key(&request, request_id)).await?;
        Ok(Response::new(CreateRelationshipResponse { relationship: Some(resource::relationship(&model)) }))
    }

    async fn get_relationship(
        &self,
        request: Request<GetRelationshipRequest>,
    ) -> Result<Response<GetRelationshipResponse>, Status> {
        let name = Name::<Relationships>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let model = self.store.get_relationship(name).await?;
        Ok(Response::new(GetRelationshipResponse { relationship: Some(resource::relationship(&model)) }))
    }

    async fn list_relationships(
        &self,
        request: Request<ListRelationshipsRequest>,
    ) -> Result<Response<ListRelationshipsResponse>, Status> {
        let request = request.into_inner();
        let scope = format!("ListRelationships/{}", request.party);
        let (party, page) =
            (PartyName::parse("party", &request.party), paging::parse(request.page_size, &request.page_token, &scope))
                .validate()?;
        let mut models = self.store.list_relationships(party, page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, &scope, |m| m.id.clone());
        Ok(Response::new(ListRelationshipsResponse {
            relationships: models.iter().map(resource::relationship).collect(),
            next_page_token,
        }))
    }

    async fn update_relationship(
        &self,
        request: Request<UpdateRelationshipRequest>,
    ) -> Result<Response<UpdateRelationshipResponse>, Status> {
        let request = request.into_inner();
        let new = request.relationship.unwrap_or_default();
        let (name, expected, mask) = (
            Name::<Relationships>::parse("relationship.name", &new.name),
            etag::parse_expected("relationship.etag", &new.etag),
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), &new, RELATIONSHIP_UPDATABLE),
        )
            .validate()?;
        let model = self
            .store
            .update_relationship(name, expected, |current| {
                let mut merged = current.clone();
                if mask.contains("since") {
                    merged.since = new.since;
                }
                if mask.contains("strength") {
                    merged.strength = new.strength;
                }
                if mask.contains("notes") {
                    merged.notes.clone_from(&new.notes);
                }
                RelationshipFields::parse(&merged).map_err(Error::InvalidArgument)
            })
            .await?;
        Ok(Response::new(UpdateRelationshipResponse { relationship: Some(resource::relationship(&model)) }))
    }

    async fn delete_relationship(
        &self,
        request: Request<DeleteRelationshipRequest>,
    ) -> Result<Response<DeleteRelationshipResponse>, Status> {
        let request = request.into_inner();
        let (name, expected) =
            (Name::<Relationships>::parse("name", &request.name), etag::parse_expected("etag", &request.etag))
                .validate()?;
        self.store.delete_relationship(name, expected).await?;
        Ok(Response::new(DeleteRelationshipResponse {}))
    }

    async fn check_conflict_of_interest(
        &self,
        request: Request<CheckConflictOfInterestRequest>,
    ) -> Result<Response<CheckConflictOfInterestResponse>, Status> {
        let request = request.into_inner();
        let (candidate, parties) = (
            PartyName::parse("candidate", &request.candidate),
            liaison_runtime::api::names::parse_list("parties", &request.parties, 1, 50, PartyName::parse),
        )
            .validate()?;
        let everyone: Vec<PartyName> = std::iter::once(candidate).chain(parties.iter().copied()).collect();
        let missing = self.missing_parties(&everyone).await?;
        let present: Vec<PartyName> = parties.into_iter().filter(|p| !missing.contains(&p.to_string())).collect();
        let findings = if missing.contains(&candidate.to_string()) || present.is_empty() {
            Vec::new()
        } else {
            let graph = self.store.conflict_graph(candidate, &present).await?;
            let names: Vec<String> = present.iter().map(ToString::to_string).collect();
            conflicts::find(&candidate.to_string(), &names, &graph)
        };
        Ok(Response::new(CheckConflictOfInterestResponse {
            findings: findings
                .into_iter()
                .map(|f| ConflictFinding { party: f.party, path: f.path, reason: f.reason })
                .collect(),
            missing_names: missing,
        }))
    }

    async fn create_assessment(
        &self,
        request: Request<CreateAssessmentRequest>,
    ) -> Result<Response<CreateAssessmentResponse>, Status> {
        engagement::create_assessment(self, request).await
    }

    async fn list_assessments(
        &self,
        request: Request<ListAssessmentsRequest>,
    ) -> Result<Response<ListAssessmentsResponse>, Status> {
        engagement::list_assessments(self, request).await
    }

    async fn list_stakeholders(
        &self,
        request: Request<ListStakeholdersRequest>,
    ) -> Result<Response<ListStakeholdersResponse>, Status> {
        engagement::list_stakeholders(self, request).await
    }

    async fn create_interaction(
        &self,
        request: Request<CreateInteractionRequest>,
    ) -> Result<Response<CreateInteractionResponse>, Status> {
        engagement::create_interaction(self, request).await
    }

    async fn get_interaction(
        &self,
        request: Request<GetInteractionRequest>,
    ) -> Result<Response<GetInteractionResponse>, Status> {
        engagement::get_interaction(self, request).await
    }

    async fn list_interactions(
        &self,
        request: Request<ListInteractionsRequest>,
    ) -> Result<Response<ListInteractionsResponse>, Status> {
        engagement::list_interactions(self, request).await
    }

    async fn update_interaction(
        &self,
        request: Request<UpdateInteractionRequest>,
    ) -> Result<Response<UpdateInteractionResponse>, Status> {
        engagement::update_interaction(self, request).await
    }

    async fn delete_interaction(
        &self,
        request: Request<DeleteInteractionRequest>,
    ) -> Result<Response<DeleteInteractionResponse>, Status> {
        engagement::delete_interaction(self, request).await
    }

    async fn get_engagement_summary(
        &self,
        request: Request<GetEngagementSummaryRequest>,
    ) -> Result<Response<GetEngagementSummaryResponse>, Status> {
        engagement::get_engagement_summary(self, request).await
    }

    async fn find_duplicate_contacts(
        &self,
        request: Request<FindDuplicateContactsRequest>,
    ) -> Result<Response<FindDuplicateContactsResponse>, Status> {
        merge::find_duplicate_contacts(self, request).await
    }

    async fn merge_contacts(
        &self,
        request: Request<MergeContactsRequest>,
    ) -> Result<Response<MergeContactsResponse>, Status> {
        merge::merge_contacts(self, request).await
    }

    async fn unmerge_contacts(
        &self,
        request: Request<UnmergeContactsRequest>,
    ) -> Result<Response<UnmergeContactsResponse>, Status> {
        merge::unmerge_contacts(self, request).await
    }

    async fn undelete_contact(
        &self,
        request: Request<UndeleteContactRequest>,
    ) -> Result<Response<UndeleteContactResponse>, Status> {
        lifecycle::undelete_contact(self, request).await
    }

    async fn search_contacts(
        &self,
        request: Request<SearchContactsRequest>,
    ) -> Result<Response<SearchContactsResponse>, Status> {
        lifecycle::search_contacts(self, request).await
    }

    async fn list_contact_history(
        &self,
        request: Request<ListContactHistoryRequest>,
    ) -> Result<Response<ListContactHistoryResponse>, Status> {
        lifecycle::list_contact_history(self, request).await
    }

    type ImportContactsStream = transfer::ImportStream;

    async fn import_contacts(
        &self,
        request: Request<tonic::Streaming<ImportContactsRequest>>,
    ) -> Result<Response<Self::ImportContactsStream>, Status> {
        transfer::import_contacts(self, request).await
    }

    type ExportContactsStream = transfer::ExportStream;

    async fn export_contacts(
        &self,
        request: Request<ExportContactsRequest>,
    ) -> Result<Response<Self::ExportContactsStream>, Status> {
        transfer::export_contacts(self, request).await
    }
}
