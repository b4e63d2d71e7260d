//! Merge and unmerge of contacts (finding the candidates is `duplicates`).
use super::ContactsApi;
use crate::resource;
use crate::store::merge::{LinkMove, MergeRequest};
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::{Error, Validate, api::etag};
use tonic::{Request, Response, Status};

pub(super) async fn merge_contacts(
    api: &ContactsApi,
    request: Request<MergeContactsRequest>,
) -> Result<Response<MergeContactsResponse>, Status> {
    let request = request.into_inner();
    let (survivor, merged, survivor_revision, merged_revision) = (
        Name::<Contacts>::parse("survivor", &request.survivor),
        Name::<Contacts>::parse("merged", &request.merged),
        etag::parse_expected("survivor_etag", &request.survivor_etag),
        etag::parse_expected("merged_etag", &request.merged_etag),
    )
        .validate()?;
    let outcome = api
        .store
        .merge_contacts(MergeRequest {
            survivor,
            merged,
            survivor_revision,
            merged_revision,
            validate_only: request.validate_only,
        })
        .await?;
    Ok(Response::new(MergeContactsResponse {
        contact: Some(resource::contact(&outcome.survivor)),
        moved_links: outcome.moves.iter().map(LinkMove::describe).collect(),
        provenance: outcome.provenance.into_iter().map(|(field, sources)| FieldProvenance { field, sources }).collect(),
        validate_only: request.validate_only,
    }))
}

pub(super) async fn unmerge_contacts(
    api: &ContactsApi,
    request: Request<UnmergeContactsRequest>,
) -> Result<Response<UnmergeContactsResponse>, Status> {
    let merged = Name::<Contacts>::parse("merged", &request.get_ref().merged).map_err(Error::from_violation)?;
    let (survivor, restored) = api.store.unmerge_contacts(merged).await?;
    Ok(Response::new(UnmergeContactsResponse {
        survivor: Some(resource::contact(&survivor)),
        restored: Some(resource::contact(&restored)),
    }))
}
