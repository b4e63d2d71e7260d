//! (being written)
use super::SchedulingApi;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::Error;

pub(super) async fn create(_api: &SchedulingApi, _request: CreateCommitmentRequest) -> Result<CreateCommitmentResponse, Error> {
    Err(Error::Internal("CreateCommitment is being written".into()))
}

pub(super) async fn get(_api: &SchedulingApi, _request: GetCommitmentRequest) -> Result<GetCommitmentResponse, Error> {
    Err(Error::Internal("GetCommitment is being written".into()))
}

pub(super) async fn list(_api: &SchedulingApi, _request: ListCommitmentsRequest) -> Result<ListCommitmentsResponse, Error> {
    Err(Error::Internal("ListCommitments is being written".into()))
}

pub(super) async fn update(_api: &SchedulingApi, _request: UpdateCommitmentRequest) -> Result<UpdateCommitmentResponse, Error> {
    Err(Error::Internal("UpdateCommitment is being written".into()))
}

pub(super) async fn transition(_api: &SchedulingApi, _request: TransitionCommitmentRequest) -> Result<TransitionCommitmentResponse, Error> {
    Err(Error::Internal("TransitionCommitment is being written".into()))
}

pub(super) async fn add_evidence(_api: &SchedulingApi, _request: AddCommitmentEvidenceRequest) -> Result<AddCommitmentEvidenceResponse, Error> {
    Err(Error::Internal("AddCommitmentEvidence is being written".into()))
}

pub(super) async fn summarize_overdue(_api: &SchedulingApi, _request: SummarizeOverdueCommitmentsRequest) -> Result<SummarizeOverdueCommitmentsResponse, Error> {
    Err(Error::Internal("SummarizeOverdueCommitments is being written".into()))
}
