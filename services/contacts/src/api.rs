//! The tonic adapter: parse each request into domain values, call the store, map the result back.
use crate::domain::{BATCH_MAX, CONTACT_UPDATABLE, ContactFields, ORGANIZATION_UPDATABLE, OrganizationFields};
use crate::resource;
use crate::store::{CreateKey, Store};
use liaison_proto::contacts::v1::contacts_service_server::ContactsService;
use liaison_proto::contacts::v1::*;
use liaison_runtime::fieldmask::UpdateMask;
use liaison_runtime::names::{Contacts, Name, Organizations, PartyName};
use liaison_runtime::service::ServiceContext;
use liaison_runtime::validate::RequestId;
use liaison_runtime::{Error, FieldViolation, Validate, etag, feed, idempotency, paging};
use std::collections::{HashMap, HashSet};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The `ContactsService` implementation.
pub struct ContactsApi {
    store: Store,
    shutdown: CancellationToken,
}

impl ContactsApi {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { store: Store::new(ctx.db), shutdown: ctx.shutdown }
    }
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
    merged
}

fn merge_contact(current: &Contact, new: &Contact, mask: &UpdateMask) -> Contact {
    let mut merged = current.clone();
    let fields: [(&str, &mut String, &String); 7] = [
        ("display_name", &mut merged.display_name, &new.display_name),
        ("given_name", &mut merged.given_name, &new.given_name),
        ("family_name", &mut merged.family_name, &new.family_name),
        ("email", &mut merged.email, &new.email),
        ("phone", &mut merged.phone, &new.phone),
        ("time_zone", &mut merged.time_zone, &new.time_zone),
        ("notes", &mut merged.notes, &new.notes),
    ];
    for (path, target, value) in fields {
        if mask.contains(path) {
            target.clone_from(value);
        }
    }
    merged
}

/// Parses batch names: 1 to 1000, each valid; duplicates collapse to their first occurrence.
fn parse_batch<T: Copy + Eq + std::hash::Hash>(
    names: &[String],
    parse: impl Fn(&str, &str) -> Result<T, FieldViolation>,
) -> Result<Vec<T>, Error> {
    if names.is_empty() || names.len() > BATCH_MAX {
        return Err(Error::invalid("names", format!("must list 1 to {BATCH_MAX} names (got {})", names.len())));
    }
    let mut seen = HashSet::new();
    let mut parsed = Vec::new();
    let mut violations = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match parse(&format!("names[{index}]"), name) {
            Ok(value) => {
                if seen.insert(value) {
                    parsed.push(value);
                }
            }
            Err(violation) => violations.push(violation),
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
        const SCOPE: &str = "ListOrganizations";
        let request = request.into_inner();
        let page = paging::parse(request.page_size, &request.page_token, SCOPE).map_err(Error::InvalidArgument)?;
        let mut models = self.store.list_organizations(page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, SCOPE, |m| m.id.clone());
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
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), ORGANIZATION_UPDATABLE),
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
        self.store.delete_organization(name, expected).await?;
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
        let name = Name::<Contacts>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let model = self.store.get_contact(name).await?;
        Ok(Response::new(GetContactResponse { contact: Some(resource::contact(&model)) }))
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        const SCOPE: &str = "ListContacts";
        let request = request.into_inner();
        let page = paging::parse(request.page_size, &request.page_token, SCOPE).map_err(Error::InvalidArgument)?;
        let mut models = self.store.list_contacts(page.after, page.size + 1).await?;
        let next_page_token = paging::token_after(&mut models, page.size, SCOPE, |m| m.id.clone());
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
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), CONTACT_UPDATABLE),
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
        self.store.delete_contact(name, expected).await?;
        Ok(Response::new(DeleteContactResponse {}))
    }

    async fn batch_get_contacts(
        &self,
        request: Request<BatchGetContactsRequest>,
    ) -> Result<Response<BatchGetContactsResponse>, Status> {
        let names = parse_batch(&request.get_ref().names, Name::<Contacts>::parse)?;
        let found: HashMap<String, _> = self
            .store
            .contacts_by_id(names.iter().map(Name::key).collect())
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let mut response = BatchGetContactsResponse::default();
        for name in names {
            match found.get(&name.key()) {
                Some(model) => response.contacts.push(resource::contact(model)),
                None => response.missing_names.push(name.to_string()),
            }
        }
        Ok(Response::new(response))
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
            tokio::try_join!(self.store.contacts_by_id(contact_ids), self.store.organizations_by_id(organization_ids))?;
        let contacts: HashMap<String, _> = contacts.into_iter().map(|m| (m.id.clone(), m)).collect();
        let organizations: HashMap<String, _> = organizations.into_iter().map(|m| (m.id.clone(), m)).collect();
        let mut response = BatchGetPartiesResponse::default();
        for name in names {
            let party = match name {
                PartyName::Contact(n) => contacts.get(&n.key()).map(|m| party::Party::Contact(resource::contact(m))),
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

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let request = request.into_inner();
        let page = feed::serve_list(self.store.db(), request.after_sequence, request.page_size).await?;
        Ok(Response::new(ListChangesResponse { changes: page.changes, remaining_count: page.remaining }))
    }

    type WatchChangesStream = ReceiverStream<Result<WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let stream = feed::serve_watch(
            self.store.db(),
            request.get_ref().after_sequence,
            &self.shutdown,
            |changes, remaining_count| WatchChangesResponse { changes, remaining_count },
        )?;
        Ok(Response::new(stream))
    }
}
