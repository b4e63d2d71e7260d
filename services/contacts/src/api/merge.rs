//! Duplicate detection, merge and unmerge of contacts.
use super::ContactsApi;
use liaison_proto::contacts::v1::*;
use tonic::{Request, Response, Status};

pub(super) async fn find_duplicate_contacts(
    api: &ContactsApi,
    request: Request<FindDuplicateContactsRequest>,
) -> Result<Response<FindDuplicateContactsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("FindDuplicateContacts is not built yet"))
}

pub(super) async fn merge_contacts(
    api: &ContactsApi,
    request: Request<MergeContactsRequest>,
) -> Result<Response<MergeContactsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("MergeContacts is not built yet"))
}

pub(super) async fn unmerge_contacts(
    api: &ContactsApi,
    request: Request<UnmergeContactsRequest>,
) -> Result<Response<UnmergeContactsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("UnmergeContacts is not built yet"))
}
