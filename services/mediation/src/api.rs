//! The tonic adapter: parse, check parties with one call to contacts, store, map back.
use crate::domain::NewCase;
use crate::resource;
use crate::store::Store;
use liaison_proto::mediation::v1::mediation_service_server::MediationService;
use liaison_proto::mediation::v1::*;
use liaison_runtime::api::names::{Cases, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::net::peers::{ContactsClient, Refusals};
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{Error, Validate, api::paging, db::idempotency};
use tonic::{Request, Response, Status};

/// The `MediationService` implementation.
pub struct MediationApi {
    store: Store,
    contacts: ContactsClient,
}

impl MediationApi {
    pub fn new(ctx: ServiceContext, contacts: ContactsClient) -> Self {
        Self { store: Store::new(ctx.db), contacts }
    }
}

#[tonic::async_trait]
impl MediationService for MediationApi {
    async fn open_case(&self, request: Request<OpenCaseRequest>) -> Result<Response<OpenCaseResponse>, Status> {
        let request = request.into_inner();
        let fingerprint = idempotency::fingerprint(&request);
        let case = request.case.clone().unwrap_or_default();
        let (new, request_id) =
            (NewCase::parse(&case), RequestId::parse_optional("request_id", &request.request_id)).validate()?;
        if let Some(id) = &request_id
            && let Some(existing) = self.store.opened_by(id, &fingerprint).await?
        {
            return Ok(Response::new(OpenCaseResponse { case: Some(resource::case(&existing)) }));
        }
        let names = new.parties.iter().map(ToString::to_string).collect();
        let refusals = Refusals { not_found: "PARTY_NOT_FOUND", deleted: "PARTY_DELETED", merged: "PARTY_MERGED" };
        self.contacts.resolve_parties(names).await?.ensure_usable("party", refusals)?;
        let stored = self.store.open_case(new, request_id.as_ref(), &fingerprint).await?;
        Ok(Response::new(OpenCaseResponse { case: Some(resource::case(&stored)) }))
    }

    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<GetCaseResponse>, Status> {
        let name = Name::<Cases>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
        let stored = self.store.get_case(name).await?;
        Ok(Response::new(GetCaseResponse { case: Some(resource::case(&stored)) }))
    }

    async fn list_cases(&self, request: Request<ListCasesRequest>) -> Result<Response<ListCasesResponse>, Status> {
        const SCOPE: &str = "ListCases";
        let request = request.into_inner();
        let page = paging::parse(request.page_size, &request.page_token, SCOPE).map_err(Error::InvalidArgument)?;
        let stored = self.store.list_cases(page.after, page.size + 1).await?;
        let (cases, next_page_token) = paging::page(stored, page.size, SCOPE, |c| c.case.id.clone(), resource::case);
        Ok(Response::new(ListCasesResponse { cases, next_page_token }))
    }
}
