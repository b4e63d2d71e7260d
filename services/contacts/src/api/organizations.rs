//! Organisations: create, get, list, update (with the mask merged into the current state) and delete.
use super::{ContactsApi, create_key, lists, optional};
use crate::domain::labels;
use crate::domain::organizations::{ORGANIZATION_UPDATABLE, OrganizationFields, OrganizationKind};
use crate::resource;
use crate::store::organizations::OrganizationFilter;
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::filter;
use liaison_runtime::api::names::{Name, Organizations};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::{Error, Validate, api::etag, api::paging};
use tonic::{Request, Response, Status};

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

pub(super) async fn create_organization(
    api: &ContactsApi,
    request: Request<CreateOrganizationRequest>,
) -> Result<Response<CreateOrganizationResponse>, Status> {
    let request = request.into_inner();
    let organization = request.organization.clone().unwrap_or_default();
    let (fields, request_id) = (
        OrganizationFields::parse("organization", &organization),
        RequestId::parse_optional("request_id", &request.request_id),
    )
        .validate()?;
    let model = api.store.create_organization(fields, &create_key(&request, request_id)).await?;
    Ok(Response::new(CreateOrganizationResponse { organization: Some(resource::organization(&model)) }))
}

pub(super) async fn get_organization(
    api: &ContactsApi,
    request: Request<GetOrganizationRequest>,
) -> Result<Response<GetOrganizationResponse>, Status> {
    let name = Name::<Organizations>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
    let model = api.store.get_organization(name).await?;
    Ok(Response::new(GetOrganizationResponse { organization: Some(resource::organization(&model)) }))
}

pub(super) async fn list_organizations(
    api: &ContactsApi,
    request: Request<ListOrganizationsRequest>,
) -> Result<Response<ListOrganizationsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!(
        "ListOrganizations?kind={}&label={}&parent={}&filter={}&order_by={}",
        request.kind, request.label, request.parent, request.filter, request.order_by
    );
    let (page, kind, label, parent, matching, sort) = (
        paging::parse(request.page_size, &request.page_token, &scope),
        optional(request.kind != 0, || OrganizationKind::parse("kind", request.kind)),
        optional(!request.label.is_empty(), || labels::label("label", &request.label)),
        optional(!request.parent.is_empty(), || Name::<Organizations>::parse("parent", &request.parent)),
        filter::parse_filter("filter", &request.filter, &lists::ORGANIZATION_FILTER),
        lists::ListSort::parse("order_by", &request.order_by),
    )
        .validate()?;
    let filter = OrganizationFilter { kind, label, parent, matching };
    let after = lists::resume(page.after)?;
    let models = api.store.list_organizations(&filter, sort.organizations(), after, page.size + 1).await?;
    let key = |m: &crate::store::entity::organization::Model| sort.resume_key(&m.id, &m.display_name, &m.update_time);
    let (organizations, next_page_token) = paging::page(models, page.size, &scope, key, resource::organization);
    Ok(Response::new(ListOrganizationsResponse { organizations, next_page_token }))
}

pub(super) async fn update_organization(
    api: &ContactsApi,
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
    let model = api
        .store
        .update_organization(name, expected, |current| {
            OrganizationFields::parse("organization", &merge_organization(current, &new, &mask))
                .map_err(Error::InvalidArgument)
        })
        .await?;
    Ok(Response::new(UpdateOrganizationResponse { organization: Some(resource::organization(&model)) }))
}

pub(super) async fn delete_organization(
    api: &ContactsApi,
    request: Request<DeleteOrganizationRequest>,
) -> Result<Response<DeleteOrganizationResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Organizations>::parse("name", &request.name), etag::parse_expected("etag", &request.etag))
            .validate()?;
    api.store.delete_organization(name, expected, request.force).await?;
    Ok(Response::new(DeleteOrganizationResponse {}))
}
