//! Projects, their milestones and baselines: CreateProject, GetProject, ListProjects, UpdateProject,
//! CreateMilestone, ListMilestones, UpdateMilestone, CreateBaseline, ListBaselines and CompareToBaseline. The owning
//! organisation and milestone owners are checked with contacts (one call) whenever they are set.
use super::{SchedulingApi, check_contacts};
use crate::domain::project::{
    BASELINE_NAME_MAX, BaselineName, MilestoneFields, MilestoneName, MilestoneStatus, ProjectFields, Projects,
    budget_variance, compare, settled_percent, whole_days,
};
use crate::store::entity::milestone;
use crate::store::projects::{blank, merge};
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Name, Organizations};
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::api::validate::{RequestId, required_text};
use liaison_runtime::api::{etag, paging, time};
use liaison_runtime::db::idempotency;
use liaison_runtime::db::resource::Resource;
use liaison_runtime::net::peers::{ContactsClient, missing_references};
use liaison_runtime::{Error, Validate};

const PROJECT_UPDATABLE: &[&str] = &[
    "display_name",
    "objective",
    "owning_organization",
    "planned_budget",
    "actual_budget",
    "start_time",
    "target_end_time",
    "health_override",
];
const MILESTONE_UPDATABLE: &[&str] = &["title", "due_time", "status", "owner", "percent_complete"];

fn actor() -> String {
    liaison_runtime::net::context::caller().identity.subject.clone()
}

/// The owning organisation exists (one call to contacts), or FAILED_PRECONDITION PARTY_NOT_FOUND naming it.
async fn check_organization(contacts: &ContactsClient, organization: Option<Name<Organizations>>) -> Result<(), Error> {
    let Some(organization) = organization else { return Ok(()) };
    let resolved = contacts.resolve_parties(vec![organization.to_string()]).await?;
    if resolved.missing.is_empty() {
        Ok(())
    } else {
        Err(missing_references(crate::domain::commitment::PARTY_NOT_FOUND, "organisation", &resolved.missing))
    }
}

pub(super) async fn create(api: &SchedulingApi, request: CreateProjectRequest) -> Result<CreateProjectResponse, Error> {
    let fingerprint = idempotency::fingerprint(&request);
    let asked = request.project.clone().unwrap_or_default();
    let (fields, request_id) =
        (ProjectFields::parse(&asked, |_| true), RequestId::parse_optional("request_id", &request.request_id))
            .validate()?;
    if let Err(error) = check_organization(&api.contacts, fields.owning_organization).await {
        // A retry of a create that succeeded gets its project even while contacts is down.
        if let Some(id) = &request_id
            && let Some(existing) = api.store.project_created_by(id, &fingerprint).await?
        {
            return Ok(CreateProjectResponse { project: Some(existing.to_wire()) });
        }
        return Err(error);
    }
    let now = time::now();
    let row =
        merge(&blank(Name::<Projects>::generate(), now), fields, &actor(), now).map_err(Error::InvalidArgument)?;
    let stored = api.store.create_project(row, request_id.as_ref(), &fingerprint).await?;
    Ok(CreateProjectResponse { project: Some(stored.to_wire()) })
}

pub(super) async fn get(api: &SchedulingApi, request: GetProjectRequest) -> Result<GetProjectResponse, Error> {
    let name = Name::<Projects>::parse("name", &request.name).map_err(Error::from_violation)?;
    Ok(GetProjectResponse { project: Some(api.store.get_project(name).await?.to_wire()) })
}

pub(super) async fn list(api: &SchedulingApi, request: ListProjectsRequest) -> Result<ListProjectsResponse, Error> {
    // The token is bound to the filter as asked: one issued for another organisation is refused.
    let scope = format!("ListProjects?{:?}", &request.owning_organization);
    let (page, organization) = (
        paging::parse(request.page_size, &request.page_token, &scope),
        (!request.owning_organization.is_empty())
            .then(|| Name::<Organizations>::parse("owning_organization", &request.owning_organization))
            .transpose(),
    )
        .validate()?;
    let listed = api.store.list_projects(organization, page.after, page.size + 1).await?;
    let (projects, next_page_token) = paging::page(listed, page.size, &scope, |p| p.row.id.clone(), Resource::to_wire);
    Ok(ListProjectsResponse { projects, next_page_token })
}

pub(super) async fn update(api: &SchedulingApi, request: UpdateProjectRequest) -> Result<UpdateProjectResponse, Error> {
    let asked = request.project.clone().unwrap_or_default();
    let mask = UpdateMask::parse("update_mask", request.update_mask.as_ref(), &asked, PROJECT_UPDATABLE);
    let fields = match &mask {
        Ok(mask) => ProjectFields::parse(&asked, |path| mask.contains(path)),
        Err(_) => Ok(ProjectFields::default()),
    };
    let (name, expected, _, fields) = (
        Name::<Projects>::parse("project.name", &asked.name),
        etag::parse_expected("project.etag", &asked.etag),
        mask,
        fields,
    )
        .validate()?;
    check_organization(&api.contacts, fields.owning_organization).await?;
    let actor = actor();
    // The plan is judged as a whole with what is stored (an end before a stored start is refused) under the lock.
    let stored = api
        .store
        .update_project(name, expected, |current| {
            merge(&current.row, fields, &actor, time::now()).map_err(Error::InvalidArgument)
        })
        .await?;
    Ok(UpdateProjectResponse { project: Some(stored.to_wire()) })
}

/// Sets the fields of a milestone that were read; DONE means 100 percent.
fn apply(row: &mut milestone::Model, fields: MilestoneFields) {
    let MilestoneFields { title, due, status, owner, percent } = fields;
    if let Some(title) = title {
        row.title = title;
    }
    if let Some(due) = due {
        row.due_time = due;
    }
    if let Some(status) = status {
        row.status = status.as_str().to_owned();
    }
    if let Some(owner) = owner {
        row.owner = owner.map(|o| o.to_string()).unwrap_or_default();
    }
    if let Some(percent) = percent {
        row.percent_complete = percent;
    }
    let status = MilestoneStatus::from_stored(&row.status).unwrap_or(MilestoneStatus::NotStarted);
    row.percent_complete = settled_percent(status, row.percent_complete);
}

pub(super) async fn create_milestone(
    api: &SchedulingApi,
    request: CreateMilestoneRequest,
) -> Result<CreateMilestoneResponse, Error> {
    let fingerprint = idempotency::fingerprint(&request);
    let asked = request.milestone.clone().unwrap_or_default();
    let (project, fields, request_id) = (
        Name::<Projects>::parse("parent", &request.parent),
        MilestoneFields::parse(&asked, |_| true),
        RequestId::parse_optional("request_id", &request.request_id),
    )
        .validate()?;
    if let Some(Some(owner)) = fields.owner
        && let Err(error) = check_contacts(&api.contacts, &[owner], true).await
    {
        if let Some(id) = &request_id
            && let Some(existing) = api.store.milestone_created_by(id, &fingerprint).await?
        {
            return Ok(CreateMilestoneResponse { milestone: Some(existing.to_wire()) });
        }
        return Err(error);
    }
    let now = time::now();
    let mut row = milestone::Model {
        id: MilestoneName::generate(project).key(),
        project_id: project.key(),
        title: String::new(),
        due_time: now,
        status: MilestoneStatus::NotStarted.as_str().to_owned(),
        owner: String::new(),
        percent_complete: 0,
        revision: 1,
        create_time: now,
        update_time: now,
    };
    apply(&mut row, fields);
    let stored =
        api.store.create_milestone(row, request.allow_after_project_end, request_id.as_ref(), &fingerprint).await?;
    Ok(CreateMilestoneResponse { milestone: Some(stored.to_wire()) })
}

pub(super) async fn list_milestones(
    api: &SchedulingApi,
    request: ListMilestonesRequest,
) -> Result<ListMilestonesResponse, Error> {
    let project = Name::<Projects>::parse("parent", &request.parent).map_err(Error::from_violation)?;
    let milestones = api.store.project_milestones(project).await?;
    Ok(ListMilestonesResponse { milestones: milestones.iter().map(Resource::to_wire).collect() })
}

pub(super) async fn update_milestone(
    api: &SchedulingApi,
    request: UpdateMilestoneRequest,
) -> Result<UpdateMilestoneResponse, Error> {
    let asked = request.milestone.clone().unwrap_or_default();
    let mask = UpdateMask::parse("update_mask", request.update_mask.as_ref(), &asked, MILESTONE_UPDATABLE);
    let fields = match &mask {
        Ok(mask) => MilestoneFields::parse(&asked, |path| mask.contains(path)),
        Err(_) => Ok(MilestoneFields::default()),
    };
    let (name, expected, _, fields) = (
        MilestoneName::parse("milestone.name", &asked.name),
        etag::parse_expected("milestone.etag", &asked.etag),
        mask,
        fields,
    )
        .validate()?;
    if let Some(Some(owner)) = fields.owner {
        check_contacts(&api.contacts, &[owner], true).await?;
    }
    let stored = api
        .store
        .update_milestone(name, expected, request.allow_after_project_end, |current| {
            let mut next = current.clone();
            apply(&mut next, fields);
            Ok(next)
        })
        .await?;
    Ok(UpdateMilestoneResponse { milestone: Some(stored.to_wire()) })
}

pub(super) async fn create_baseline(
    api: &SchedulingApi,
    request: CreateBaselineRequest,
) -> Result<CreateBaselineResponse, Error> {
    let (project, display_name) = (
        Name::<Projects>::parse("parent", &request.parent),
        required_text("display_name", &request.display_name, BASELINE_NAME_MAX),
    )
        .validate()?;
    let taken = api.store.create_baseline(project, display_name).await?;
    Ok(CreateBaselineResponse { baseline: Some(taken.to_wire()) })
}

pub(super) async fn list_baselines(
    api: &SchedulingApi,
    request: ListBaselinesRequest,
) -> Result<ListBaselinesResponse, Error> {
    let project = Name::<Projects>::parse("parent", &request.parent).map_err(Error::from_violation)?;
    let baselines = api.store.project_baselines(project).await?;
    Ok(ListBaselinesResponse { baselines: baselines.iter().map(Resource::to_wire).collect() })
}

pub(super) async fn compare_to_baseline(
    api: &SchedulingApi,
    request: CompareToBaselineRequest,
) -> Result<CompareToBaselineResponse, Error> {
    let name = BaselineName::parse("baseline", &request.baseline).map_err(Error::from_violation)?;
    // A baseline never changes, so reading it and the project apart compares the same two things.
    let baseline = api.store.get_baseline(name).await?;
    let project = api.store.get_project(name.project).await?;
    let variance = budget_variance(baseline.planned().as_ref(), project.actual().as_ref());
    let milestones = compare(&baseline.plan(), &project.facts())
        .into_iter()
        .map(|v| MilestoneVariance {
            milestone: v.milestone,
            title: v.title,
            baseline_due_time: v.baseline_due.map(to_timestamp),
            current_due_time: v.current_due.map(to_timestamp),
            slip_days: v.slip_days,
            progress_change: v.progress_change,
            change: v.change.to_owned(),
        })
        .collect();
    Ok(CompareToBaselineResponse {
        end_slip_days: whole_days(baseline.target_end_time, project.row.target_end_time),
        over_budget: variance.as_ref().is_some_and(|(_, over)| *over),
        budget_variance: variance.map(|(money, _)| money.to_wire()),
        baseline: Some(baseline.to_wire()),
        milestones,
    })
}
