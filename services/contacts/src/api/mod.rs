//! The tonic adapter, as a routing table: each RPC goes to the handler of its capability (`organizations`,
//! `contacts`, `graph`, `engagement`, `duplicates`, `merge`, `transfer`, `search`, `history`), which parses the
//! request into domain values, calls the store and maps the result back.
mod contacts;
mod duplicates;
mod engagement;
mod graph;
mod history;
mod lists;
mod merge;
mod organizations;
mod search;
mod transfer;

use crate::store::{CreateKey, Store};
use contacts::{CACHED_CONTACT_BYTES, CachedContact, contact_weight};
use liaison_proto::contacts::v1::contacts_service_server::{ContactsService, ContactsServiceServer};
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::config::ServiceKind;
use liaison_runtime::feed::cache::ReadCache;
use liaison_runtime::service::ServiceContext;
use liaison_runtime::{FieldViolation, db::idempotency};
use std::sync::Arc;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The `ContactsService` implementation.
pub struct ContactsApi {
    store: Store,
    /// Contacts as last read, by the id asked for (a merged id maps to its survivor): other services resolve the
    /// same names over and over.
    contacts: ReadCache<CachedContact>,
    /// The expensive reads' results, computed once per write epoch and paged from: every duplicate pair of the
    /// register (one entry), and the ranked hits of recent searches (by their words).
    duplicates: ReadCache<Arc<Vec<crate::domain::duplicates::Pair>>>,
    searches: ReadCache<Arc<Vec<(String, crate::domain::search::Hit)>>>,
    /// Turns at computing them: at most one per core at once.
    expensive: liaison_runtime::net::limits::ExpensiveReads,
    /// Turns at importing (`domain::transfer::IMPORTS_AT_ONCE`).
    imports: Arc<tokio::sync::Semaphore>,
    /// Cancelled when the server stops: imports then end with their report.
    shutdown: tokio_util::sync::CancellationToken,
}

/// The bytes kept of each kind of expensive result (the duplicate pairs; recent searches' ranked hits) until the
/// next write. One result may take an eighth of it: a register's pairs are kept while there are fewer than about
/// 8,000 of them.
const CACHED_RESULT_BYTES: usize = 8 * 1024 * 1024;
/// What one duplicate pair weighs: two ids, a score and its evidence.
const PAIR_BYTES: usize = 128 + std::mem::size_of::<crate::domain::duplicates::Pair>();
/// What one ranked search hit weighs: an id and a score, and per query word how it matched.
const HIT_BYTES: usize = 64 + std::mem::size_of::<(String, crate::domain::search::Hit)>();
const WORD_MATCH_BYTES: usize = 48 + std::mem::size_of::<crate::domain::search::WordMatch>();

impl ContactsApi {
    pub fn new(ctx: ServiceContext) -> Self {
        liaison_runtime::feed::cache::follow_other_writers(ctx.db.clone(), ctx.shutdown.clone());
        Self {
            contacts: ReadCache::new(ctx.db.clone(), CACHED_CONTACT_BYTES, contact_weight),
            duplicates: ReadCache::new(ctx.db.clone(), CACHED_RESULT_BYTES, |pairs| pairs.len() * PAIR_BYTES),
            searches: ReadCache::new(ctx.db.clone(), CACHED_RESULT_BYTES, |hits| {
                hits.iter().map(|(_, hit)| HIT_BYTES + hit.matches.len() * WORD_MATCH_BYTES).sum()
            }),
            expensive: liaison_runtime::net::limits::ExpensiveReads::per_core(),
            imports: Arc::new(tokio::sync::Semaphore::new(crate::domain::transfer::IMPORTS_AT_ONCE)),
            shutdown: ctx.shutdown.clone(),
            store: Store::new(ctx.db),
        }
    }
}

/// The routes of the contacts service. The two reads other services make most are served from cached encodings
/// (`wire::Spliced`), ahead of the generated routes for them.
pub fn routes(ctx: ServiceContext) -> Routes {
    let api = Arc::new(ContactsApi::new(ctx));
    let server = liaison_runtime::limit_messages!(ContactsServiceServer::from_arc(Arc::clone(&api)));
    let mut routes = Routes::new(server);
    let get = format!("/{}/GetContact", ServiceKind::Contacts.grpc_service());
    let get_api = Arc::clone(&api);
    liaison_runtime::net::wire::route_unary(&mut routes, &get, move |request: Request<GetContactRequest>| {
        let api = Arc::clone(&get_api);
        async move { Ok(Response::new(api.get_contact_spliced(request.get_ref()).await?)) }
    });
    let import_api = Arc::clone(&api);
    let batch_get = format!("/{}/BatchGetContacts", ServiceKind::Contacts.grpc_service());
    liaison_runtime::net::wire::route_unary(
        &mut routes,
        &batch_get,
        move |request: Request<BatchGetContactsRequest>| {
            let api = Arc::clone(&api);
            async move { Ok(Response::new(api.batch_get_contacts_spliced(request.get_ref()).await?)) }
        },
    );
    // A file comes in chunks of up to 4 MiB (what a caller sending a file whole in one message needs most often);
    // every other request of the service stays under the generated server's 1 MiB.
    let import = format!("/{}/ImportContacts", ServiceKind::Contacts.grpc_service());
    liaison_runtime::net::wire::route_streaming(
        &mut routes,
        &import,
        crate::domain::transfer::IMPORT_CHUNK_MAX_BYTES,
        move |request: Request<tonic::Streaming<ImportContactsRequest>>| {
            let api = Arc::clone(&import_api);
            async move { ContactsService::import_contacts(api.as_ref(), request).await }
        },
    );
    routes
}

fn create_key(request: &impl prost::Message, request_id: Option<RequestId>) -> CreateKey {
    CreateKey { request_id, fingerprint: idempotency::fingerprint(request) }
}

/// A filter field: parsed when `present`, `None` otherwise.
fn optional<T>(present: bool, parse: impl FnOnce() -> Result<T, FieldViolation>) -> Result<Option<T>, FieldViolation> {
    if present { parse().map(Some) } else { Ok(None) }
}

#[tonic::async_trait]
impl ContactsService for ContactsApi {
    async fn create_organization(
        &self,
        request: Request<CreateOrganizationRequest>,
    ) -> Result<Response<CreateOrganizationResponse>, Status> {
        organizations::create_organization(self, request).await
    }

    async fn get_organization(
        &self,
        request: Request<GetOrganizationRequest>,
    ) -> Result<Response<GetOrganizationResponse>, Status> {
        organizations::get_organization(self, request).await
    }

    async fn list_organizations(
        &self,
        request: Request<ListOrganizationsRequest>,
    ) -> Result<Response<ListOrganizationsResponse>, Status> {
        organizations::list_organizations(self, request).await
    }

    async fn update_organization(
        &self,
        request: Request<UpdateOrganizationRequest>,
    ) -> Result<Response<UpdateOrganizationResponse>, Status> {
        organizations::update_organization(self, request).await
    }

    async fn delete_organization(
        &self,
        request: Request<DeleteOrganizationRequest>,
    ) -> Result<Response<DeleteOrganizationResponse>, Status> {
        organizations::delete_organization(self, request).await
    }

    async fn create_contact(
        &self,
        request: Request<CreateContactRequest>,
    ) -> Result<Response<CreateContactResponse>, Status> {
        contacts::create_contact(self, request).await
    }

    async fn get_contact(&self, request: Request<GetContactRequest>) -> Result<Response<GetContactResponse>, Status> {
        contacts::get_contact(self, request).await
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        contacts::list_contacts(self, request).await
    }

    async fn update_contact(
        &self,
        request: Request<UpdateContactRequest>,
    ) -> Result<Response<UpdateContactResponse>, Status> {
        contacts::update_contact(self, request).await
    }

    async fn delete_contact(
        &self,
        request: Request<DeleteContactRequest>,
    ) -> Result<Response<DeleteContactResponse>, Status> {
        contacts::delete_contact(self, request).await
    }

    async fn undelete_contact(
        &self,
        request: Request<UndeleteContactRequest>,
    ) -> Result<Response<UndeleteContactResponse>, Status> {
        contacts::undelete_contact(self, request).await
    }

    async fn purge_contact(
        &self,
        request: Request<PurgeContactRequest>,
    ) -> Result<Response<PurgeContactResponse>, Status> {
        contacts::purge_contact(self, request).await
    }

    async fn batch_get_contacts(
        &self,
        request: Request<BatchGetContactsRequest>,
    ) -> Result<Response<BatchGetContactsResponse>, Status> {
        contacts::batch_get_contacts(self, request).await
    }

    async fn batch_get_parties(
        &self,
        request: Request<BatchGetPartiesRequest>,
    ) -> Result<Response<BatchGetPartiesResponse>, Status> {
        contacts::batch_get_parties(self, request).await
    }

    async fn create_affiliation(
        &self,
        request: Request<CreateAffiliationRequest>,
    ) -> Result<Response<CreateAffiliationResponse>, Status> {
        graph::create_affiliation(self, request).await
    }

    async fn get_affiliation(
        &self,
        request: Request<GetAffiliationRequest>,
    ) -> Result<Response<GetAffiliationResponse>, Status> {
        graph::get_affiliation(self, request).await
    }

    async fn list_affiliations(
        &self,
        request: Request<ListAffiliationsRequest>,
    ) -> Result<Response<ListAffiliationsResponse>, Status> {
        graph::list_affiliations(self, request).await
    }

    async fn update_affiliation(
        &self,
        request: Request<UpdateAffiliationRequest>,
    ) -> Result<Response<UpdateAffiliationResponse>, Status> {
        graph::update_affiliation(self, request).await
    }

    async fn delete_affiliation(
        &self,
        request: Request<DeleteAffiliationRequest>,
    ) -> Result<Response<DeleteAffiliationResponse>, Status> {
        graph::delete_affiliation(self, request).await
    }

    async fn set_point_of_contact(
        &self,
        request: Request<SetPointOfContactRequest>,
    ) -> Result<Response<SetPointOfContactResponse>, Status> {
        graph::set_point_of_contact(self, request).await
    }

    async fn create_relationship(
        &self,
        request: Request<CreateRelationshipRequest>,
    ) -> Result<Response<CreateRelationshipResponse>, Status> {
        graph::create_relationship(self, request).await
    }

    async fn get_relationship(
        &self,
        request: Request<GetRelationshipRequest>,
    ) -> Result<Response<GetRelationshipResponse>, Status> {
        graph::get_relationship(self, request).await
    }

    async fn list_relationships(
        &self,
        request: Request<ListRelationshipsRequest>,
    ) -> Result<Response<ListRelationshipsResponse>, Status> {
        graph::list_relationships(self, request).await
    }

    async fn update_relationship(
        &self,
        request: Request<UpdateRelationshipRequest>,
    ) -> Result<Response<UpdateRelationshipResponse>, Status> {
        graph::update_relationship(self, request).await
    }

    async fn delete_relationship(
        &self,
        request: Request<DeleteRelationshipRequest>,
    ) -> Result<Response<DeleteRelationshipResponse>, Status> {
        graph::delete_relationship(self, request).await
    }

    async fn check_conflict_of_interest(
        &self,
        request: Request<CheckConflictOfInterestRequest>,
    ) -> Result<Response<CheckConflictOfInterestResponse>, Status> {
        graph::check_conflict_of_interest(self, request).await
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
        duplicates::find_duplicate_contacts(self, request).await
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

    async fn search_contacts(
        &self,
        request: Request<SearchContactsRequest>,
    ) -> Result<Response<SearchContactsResponse>, Status> {
        search::search_contacts(self, request).await
    }

    async fn search_organizations(
        &self,
        request: Request<SearchOrganizationsRequest>,
    ) -> Result<Response<SearchOrganizationsResponse>, Status> {
        search::search_organizations(self, request).await
    }

    async fn list_contact_history(
        &self,
        request: Request<ListContactHistoryRequest>,
    ) -> Result<Response<ListContactHistoryResponse>, Status> {
        history::list_contact_history(self, request).await
    }
}
