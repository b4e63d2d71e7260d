//! Undelete, search and field-level history of contacts.
use super::ContactsApi;
use liaison_proto::contacts::v1::*;
use tonic::{Request, Response, Status};

pub(super) async fn undelete_contact(
    api: &ContactsApi,
    request: Request<UndeleteContactRequest>,
) -> Result<Response<UndeleteContactResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("UndeleteContact is not built yet"))
}

pub(super) async fn search_contacts(
    api: &ContactsApi,
    request: Request<SearchContactsRequest>,
) -> Result<Response<SearchContactsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("SearchContacts is not built yet"))
}

pub(super) async fn list_contact_history(
    api: &ContactsApi,
    request: Request<ListContactHistoryRequest>,
) -> Result<Response<ListContactHistoryResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ListContactHistory is not built yet"))
}
