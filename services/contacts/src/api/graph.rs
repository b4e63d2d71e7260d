//! The graph: affiliations (with the point of contact of an organisation), relationships, and the check for
//! conflicts of interest that walks them.
use super::{ContactsApi, create_key};
use crate::domain::graph::conflicts;
use crate::domain::graph::{
    AFFILIATION_UPDATABLE, AffiliationFields, NewAffiliation, NewRelationship, RELATIONSHIP_UPDATABLE,
    RelationshipFields,
};
use crate::resource;
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Affiliations, Contacts, Name, Organizations, PartyName, Relationships};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::{Error, FieldViolation, Validate, api::etag, api::paging};
use std::collections::HashSet;
use tonic::{Request, Response, Status};

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

pub(super) async fn create_affiliation(
    api: &ContactsApi,
    request: Request<CreateAffiliationRequest>,
) -> Result<Response<CreateAffiliationResponse>, Status> {
    let request = request.into_inner();
    let affiliation = request.affiliation.clone().unwrap_or_default();
    let (new, request_id) =
        (NewAffiliation::parse(&affiliation), RequestId::parse_optional("request_id", &request.request_id))
            .validate()?;
    let model = api.store.create_affiliation(new, &create_key(&request, request_id)).await?;
    Ok(Response::new(CreateAffiliationResponse { affiliation: Some(resource::affiliation(&model)) }))
}

pub(super) async fn get_affiliation(
    api: &ContactsApi,
    request: Request<GetAffiliationRequest>,
) -> Result<Response<GetAffiliationResponse>, Status> {
    let name = Name::<Affiliations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
    let model = api.store.get_affiliation(name).await?;
    Ok(Response::new(GetAffiliationResponse { affiliation: Some(resource::affiliation(&model)) }))
}

pub(super) async fn list_affiliations(
    api: &ContactsApi,
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
    let models = api.store.list_affiliations(of, page.after, page.size + 1).await?;
    let (affiliations, next_page_token) =
        paging::page(models, page.size, &scope, |m| m.id.clone(), resource::affiliation);
    Ok(Response::new(ListAffiliationsResponse { affiliations, next_page_token }))
}

pub(super) async fn update_affiliation(
    api: &ContactsApi,
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
    let model = api
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

pub(super) async fn delete_affiliation(
    api: &ContactsApi,
    request: Request<DeleteAffiliationRequest>,
) -> Result<Response<DeleteAffiliationResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Affiliations>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
    api.store.delete_affiliation(name, expected).await?;
    Ok(Response::new(DeleteAffiliationResponse {}))
}

pub(super) async fn set_point_of_contact(
    api: &ContactsApi,
    request: Request<SetPointOfContactRequest>,
) -> Result<Response<SetPointOfContactResponse>, Status> {
    let name = Name::<Affiliations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
    let (model, demoted) = api.store.set_point_of_contact(name).await?;
    Ok(Response::new(SetPointOfContactResponse {
        affiliation: Some(resource::affiliation(&model)),
        demoted: demoted.unwrap_or_default(),
    }))
}

pub(super) async fn create_relationship(
    api: &ContactsApi,
    request: Request<CreateRelationshipRequest>,
) -> Result<Response<CreateRelationshipResponse>, Status> {
    let request = request.into_inner();
    let relationship = request.relationship.clone().unwrap_or_default();
    let (new, request_id) =
        (NewRelationship::parse(&relationship), RequestId::parse_optional("request_id", &request.request_id))
            .validate()?;
    let model = api.store.create_relationship(new, &create_key(&request, request_id)).await?;
    Ok(Response::new(CreateRelationshipResponse { relationship: Some(resource::relationship(&model)) }))
}

pub(super) async fn get_relationship(
    api: &ContactsApi,
    request: Request<GetRelationshipRequest>,
) -> Result<Response<GetRelationshipResponse>, Status> {
    let name = Name::<Relationships>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
    let model = api.store.get_relationship(name).await?;
    Ok(Response::new(GetRelationshipResponse { relationship: Some(resource::relationship(&model)) }))
}

pub(super) async fn list_relationships(
    api: &ContactsApi,
    request: Request<ListRelationshipsRequest>,
) -> Result<Response<ListRelationshipsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("ListRelationships/{}", request.party);
    let (party, page) =
        (PartyName::parse("party", &request.party), paging::parse(request.page_size, &request.page_token, &scope))
            .validate()?;
    let models = api.store.list_relationships(party, page.after, page.size + 1).await?;
    let (relationships, next_page_token) =
        paging::page(models, page.size, &scope, |m| m.id.clone(), resource::relationship);
    Ok(Response::new(ListRelationshipsResponse { relationships, next_page_token }))
}

pub(super) async fn update_relationship(
    api: &ContactsApi,
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
    let model = api
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

pub(super) async fn delete_relationship(
    api: &ContactsApi,
    request: Request<DeleteRelationshipRequest>,
) -> Result<Response<DeleteRelationshipResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Relationships>::parse("name", &request.name), etag::parse_expected("etag", &request.etag))
            .validate()?;
    api.store.delete_relationship(name, expected).await?;
    Ok(Response::new(DeleteRelationshipResponse {}))
}

pub(super) async fn check_conflict_of_interest(
    api: &ContactsApi,
    request: Request<CheckConflictOfInterestRequest>,
) -> Result<Response<CheckConflictOfInterestResponse>, Status> {
    let request = request.into_inner();
    let (candidate, parties) = (
        PartyName::parse("candidate", &request.candidate),
        liaison_runtime::api::names::parse_list("parties", &request.parties, 1, 50, PartyName::parse),
    )
        .validate()?;
    let everyone: Vec<PartyName> = std::iter::once(candidate).chain(parties.iter().copied()).collect();
    let missing = api.missing_parties(&everyone).await?;
    let present: Vec<PartyName> = parties.into_iter().filter(|p| !missing.contains(&p.to_string())).collect();
    let findings = if missing.contains(&candidate.to_string()) || present.is_empty() {
        Vec::new()
    } else {
        let graph = api.store.conflict_graph(candidate, &present).await?;
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
