//! (being written)
use super::SchedulingApi;
use liaison_proto::scheduling::v1::*;
use liaison_runtime::Error;

pub(super) async fn create(_api: &SchedulingApi, _request: CreateProjectRequest) -> Result<CreateProjectResponse, Error> {
    Err(Error::Internal("CreateProject is being written".into()))
}

pub(super) async fn get(_api: &SchedulingApi, _request: GetProjectRequest) -> Result<GetProjectResponse, Error> {
    Err(Error::Internal("GetProject is being written".into()))
}

pub(super) async fn list(_api: &SchedulingApi, _request: ListProjectsRequest) -> Result<ListProjectsResponse, Error> {
    Err(Error::Internal("ListProjects is being written".into()))
}

pub(super) async fn update(_api: &SchedulingApi, _request: UpdateProjectRequest) -> Result<UpdateProjectResponse, Error> {
    Err(Error::Internal("UpdateProject is being written".into()))
}

pub(super) async fn create_milestone(_api: &SchedulingApi, _request: CreateMilestoneRequest) -> Result<CreateMilestoneResponse, Error> {
    Err(Error::Internal("CreateMilestone is being written".into()))
}

pub(super) async fn list_milestones(_api: &SchedulingApi, _request: ListMilestonesRequest) -> Result<ListMilestonesResponse, Error> {
    Err(Error::Internal("ListMilestones is being written".into()))
}

pub(super) async fn update_milestone(_api: &SchedulingApi, _request: UpdateMilestoneRequest) -> Result<UpdateMilestoneResponse, Error> {
    Err(Error::Internal("UpdateMilestone is being written".into()))
}

pub(super) async fn create_baseline(_api: &SchedulingApi, _request: CreateBaselineRequest) -> Result<CreateBaselineResponse, Error> {
    Err(Error::Internal("CreateBaseline is being written".into()))
}

pub(super) async fn list_baselines(_api: &SchedulingApi, _request: ListBaselinesRequest) -> Result<ListBaselinesResponse, Error> {
    Err(Error::Internal("ListBaselines is being written".into()))
}

pub(super) async fn compare_to_baseline(_api: &SchedulingApi, _request: CompareToBaselineRequest) -> Result<CompareToBaselineResponse, Error> {
    Err(Error::Internal("CompareToBaseline is being written".into()))
}
