//! vCard and CSV import and export of contacts.
use super::ContactsApi;
use liaison_proto::contacts::v1::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

pub(super) type ImportStream = ReceiverStream<Result<ImportContactsResponse, Status>>;
pub(super) type ExportStream = ReceiverStream<Result<ExportContactsResponse, Status>>;

pub(super) async fn import_contacts(
    api: &ContactsApi,
    request: Request<Streaming<ImportContactsRequest>>,
) -> Result<Response<ImportStream>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ImportContacts is not built yet"))
}

pub(super) async fn export_contacts(
    api: &ContactsApi,
    request: Request<ExportContactsRequest>,
) -> Result<Response<ExportStream>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ExportContacts is not built yet"))
}
