//! Stakeholder assessments, the interaction log and the engagement summary.
use super::ContactsApi;
use liaison_proto::contacts::v1::*;
use tonic::{Request, Response, Status};

pub(super) async fn create_assessment(
    api: &ContactsApi,
    request: Request<CreateAssessmentRequest>,
) -> Result<Response<CreateAssessmentResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("CreateAssessment is not built yet"))
}

pub(super) async fn list_assessments(
    api: &ContactsApi,
    request: Request<ListAssessmentsRequest>,
) -> Result<Response<ListAssessmentsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ListAssessments is not built yet"))
}

pub(super) async fn list_stakeholders(
    api: &ContactsApi,
    request: Request<ListStakeholdersRequest>,
) -> Result<Response<ListStakeholdersResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ListStakeholders is not built yet"))
}

pub(super) async fn create_interaction(
    api: &ContactsApi,
    request: Request<CreateInteractionRequest>,
) -> Result<Response<CreateInteractionResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("CreateInteraction is not built yet"))
}

pub(super) async fn get_interaction(
    api: &ContactsApi,
    request: Request<GetInteractionRequest>,
) -> Result<Response<GetInteractionResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("GetInteraction is not built yet"))
}

pub(super) async fn list_interactions(
    api: &ContactsApi,
    request: Request<ListInteractionsRequest>,
) -> Result<Response<ListInteractionsResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("ListInteractions is not built yet"))
}

pub(super) async fn update_interaction(
    api: &ContactsApi,
    request: Request<UpdateInteractionRequest>,
) -> Result<Response<UpdateInteractionResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("UpdateInteraction is not built yet"))
}

pub(super) async fn delete_interaction(
    api: &ContactsApi,
    request: Request<DeleteInteractionRequest>,
) -> Result<Response<DeleteInteractionResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("DeleteInteraction is not built yet"))
}

pub(super) async fn get_engagement_summary(
    api: &ContactsApi,
    request: Request<GetEngagementSummaryRequest>,
) -> Result<Response<GetEngagementSummaryResponse>, Status> {
    let _ = (api, request);
    Err(Status::unimplemented("GetEngagementSummary is not built yet"))
}
