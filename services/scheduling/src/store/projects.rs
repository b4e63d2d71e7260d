//! Projects, their milestones and their baselines. Every write that depends on a project's target end — a new or
//! moved milestone, a moved end, a baseline's snapshot — takes the project's row lock first, so that the rule "no
//! milestone after the end unless allowed" holds under racing writers; each write appends its change in its own
//! transaction. Health is computed on read from the milestones, read with the project (one query for a page).
use super::entity::{baseline, milestone, project};
use crate::domain::project::{
    Assessment, BASELINES_MAX, BaselineName, Health, MILESTONE_AFTER_PROJECT_END, MILESTONES_MAX, MilestoneFacts,
    MilestoneName, MilestoneStatus, Money, NewOverride, Planned, ProjectFields, Projects, TOO_MANY_BASELINES,
    TOO_MANY_MILESTONES, assess, check_due, check_plan, stranded,
};
use crate::domain::{commitment::list_from_json, lifecycle::precondition};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::scheduling::v1 as wire;
use liaison_runtime::api::names::{Name, Organizations};
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::api::{etag, time};
use liaison_runtime::db::resource::{Resource, Revisioned, append, change, current_for_update, replace_if_unchanged};
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::db::{crud, db_error, idempotency};
use liaison_runtime::{Error, FieldViolation};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder};

pub const CREATE_METHOD: &str = "CreateProject";
pub const CREATE_MILESTONE_METHOD: &str = "CreateMilestone";

liaison_runtime::revisioned!(project, milestone);

/// A project with its milestones, by due time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProject {
    pub row: project::Model,
    pub milestones: Vec<milestone::Model>,
}

/// An amount in `currency` from stored columns; `None` when unset.
fn money(currency: &str, units: Option<i64>, nanos: Option<i32>) -> Option<Money> {
    units.map(|units| Money { currency: currency.to_owned(), units, nanos: nanos.unwrap_or(0) })
}

impl StoredProject {
    pub fn planned(&self) -> Option<Money> {
        money(&self.row.currency_code, self.row.planned_units, self.row.planned_nanos)
    }

    pub fn actual(&self) -> Option<Money> {
        money(&self.row.currency_code, self.row.actual_units, self.row.actual_nanos)
    }

    pub fn facts(&self) -> Vec<MilestoneFacts> {
        self.milestones.iter().map(facts).collect()
    }

    /// Its health as computed at `now`, whatever the override says.
    pub fn assessment(&self, now: DateTime<Utc>) -> Assessment {
        assess(&self.facts(), self.planned().as_ref(), self.actual().as_ref(), now)
    }
}

/// A stored milestone as health and comparisons read it (an unreadable status counts as not started).
pub fn facts(m: &milestone::Model) -> MilestoneFacts {
    MilestoneFacts {
        name: m.resource_name(),
        title: m.title.clone(),
        due: m.due_time,
        status: MilestoneStatus::from_stored(&m.status).unwrap_or(MilestoneStatus::NotStarted),
        percent: m.percent_complete,
    }
}

/// A new project row `name` at `now`, with nothing set yet: [`merge`] sets it.
pub fn blank(name: Name<Projects>, now: DateTime<Utc>) -> project::Model {
    project::Model {
        id: name.key(),
        display_name: String::new(),
        objective: String::new(),
        owning_organization: String::new(),
        currency_code: String::new(),
        planned_units: None,
        planned_nanos: None,
        actual_units: None,
        actual_nanos: None,
        start_time: now,
        target_end_time: now,
        override_health: String::new(),
        override_reason: String::new(),
        override_actor: String::new(),
        override_time: None,
        revision: 1,
        create_time: now,
        update_time: now,
    }
}

/// `current` with the fields that were read set, checked as a whole plan (the end after the start, one currency);
/// an override set is signed by `actor` at `now`.
pub fn merge(
    current: &project::Model,
    fields: ProjectFields,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<project::Model, Vec<FieldViolation>> {
    let stored = StoredProject { row: current.clone(), milestones: Vec::new() };
    let planned = fields.planned_budget.unwrap_or_else(|| stored.planned());
    let actual = fields.actual_budget.unwrap_or_else(|| stored.actual());
    let mut next = current.clone();
    if let Some(display_name) = fields.display_name {
        next.display_name = display_name;
    }
    if let Some(objective) = fields.objective {
        next.objective = objective;
    }
    if let Some(owning_organization) = fields.owning_organization {
        next.owning_organization = owning_organization.to_string();
    }
    if let Some(start) = fields.start {
        next.start_time = start;
    }
    if let Some(target_end) = fields.target_end {
        next.target_end_time = target_end;
    }
    let bad = check_plan(Some((next.start_time, next.target_end_time)), planned.as_ref(), actual.as_ref());
    if !bad.is_empty() {
        return Err(bad);
    }
    next.currency_code = planned.as_ref().or(actual.as_ref()).map(|m| m.currency.clone()).unwrap_or_default();
    (next.planned_units, next.planned_nanos) = (planned.as_ref().map(|m| m.units), planned.as_ref().map(|m| m.nanos));
    (next.actual_units, next.actual_nanos) = (actual.as_ref().map(|m| m.units), actual.as_ref().map(|m| m.nanos));
    match fields.health_override {
        Some(Some(NewOverride { health, reason })) => {
            next.override_health = health.as_str().to_owned();
            next.override_reason = reason;
            next.override_actor = actor.to_owned();
            next.override_time = Some(now);
        }
        Some(None) => {
            next.override_health = String::new();
            next.override_reason = String::new();
            next.override_actor = String::new();
            next.override_time = None;
        }
        None => {}
    }
    Ok(next)
}

fn project_name(id: &str) -> Result<Name<Projects>, Error> {
    Name::parse("stored id", &format!("projects/{id}")).map_err(|v| Error::Internal(v.description))
}

fn not_found(name: impl ToString) -> Error {
    Error::NotFound { resource: name.to_string() }
}

impl super::Store {
    /// Creates a project (its organisation checked by the caller) with its change; a replayed `request_id` writes
    /// nothing and returns the first project.
    pub async fn create_project(
        &self,
        row: project::Model,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredProject, Error> {
        let name = project_name(&row.id)?;
        let stored = StoredProject { row, milestones: Vec::new() };
        let inserts = vec![Insert::model(stored.row.clone().into_active_model()), change(&stored, ChangeKind::Created)];
        match single_trip::create_named(&self.db, CREATE_METHOD, request_id, fingerprint, &name, inserts).await? {
            Some(existing) => self.get_project(existing).await,
            None => Ok(stored),
        }
    }

    /// The project an earlier CreateProject with this request id created, if any.
    pub async fn project_created_by(
        &self,
        request_id: &RequestId,
        fingerprint: &str,
    ) -> Result<Option<StoredProject>, Error> {
        match idempotency::lookup(self.db.conn(), CREATE_METHOD, request_id, fingerprint).await? {
            Some(name) => {
                let name = Name::parse("stored name", &name).map_err(|v| Error::Internal(v.description))?;
                Ok(Some(self.get_project(name).await?))
            }
            None => Ok(None),
        }
    }

    pub async fn get_project(&self, name: Name<Projects>) -> Result<StoredProject, Error> {
        let row = crud::find::<project::Entity>(self.db.conn(), name.key()).await?.ok_or_else(|| not_found(name))?;
        let milestones = milestones_of(self.db.conn(), &row.id).await?;
        Ok(StoredProject { row, milestones })
    }

    /// A page of projects (of one organisation, if given) with their milestones, read in one more query.
    pub async fn list_projects(
        &self,
        organization: Option<Name<Organizations>>,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<StoredProject>, Error> {
        let mut condition = sea_orm::Condition::all();
        if let Some(organization) = organization {
            condition = condition.add(project::Column::OwningOrganization.eq(organization.to_string()));
        }
        let conn = self.db.conn();
        let rows = crud::page_where::<project::Entity>(conn, project::Column::Id, condition, after, limit).await?;
        let ids = rows.iter().map(|r| r.id.clone()).collect();
        let mut milestones = crud::children_of::<milestone::Entity, _>(
            conn,
            milestone::Column::ProjectId,
            milestone::Column::DueTime,
            ids,
            |m| m.project_id.clone(),
            |m| m,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| StoredProject { milestones: milestones.remove(&row.id).unwrap_or_default(), row })
            .collect())
    }

    /// Changes project `name` by `rules` under its row lock: NOT_FOUND, ABORTED for a stale `expected_revision`,
    /// the rules' refusals, and MILESTONE_AFTER_PROJECT_END naming each milestone a move of the end would strand.
    pub async fn update_project(
        &self,
        name: Name<Projects>,
        expected_revision: Option<i64>,
        rules: impl FnOnce(&StoredProject) -> Result<project::Model, Error>,
    ) -> Result<StoredProject, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        // Locked first: a milestone created or moved meanwhile waits, and then sees the new end.
        let row = crud::lock_row::<project::Entity>(&*txn, name.key()).await?.ok_or_else(|| not_found(name))?;
        if expected_revision.is_some_and(|expected| expected != row.revision) {
            return Err(Error::Aborted { resource });
        }
        let milestones = milestones_of(&*txn, &row.id).await?;
        let current = StoredProject { row, milestones };
        let mut next = StoredProject { row: rules(&current)?, milestones: current.milestones.clone() };
        let violations = stranded(&current.facts(), current.row.target_end_time, next.row.target_end_time);
        if !violations.is_empty() {
            return Err(Error::FailedPrecondition { reason: MILESTONE_AFTER_PROJECT_END, violations });
        }
        project::Entity::stamp(&mut next.row, current.row.revision + 1, time::now());
        replace_if_unchanged::<project::Entity>(&*txn, &resource, current.row.revision, next.row.clone()).await?;
        append(&*txn, &next, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// Adds milestone `row` to its project under the project's row lock: NOT_FOUND for the project,
    /// MILESTONE_AFTER_PROJECT_END unless `allow_after_end`, TOO_MANY_MILESTONES past [`MILESTONES_MAX`]. A
    /// replayed `request_id` writes nothing and returns the first milestone.
    pub async fn create_milestone(
        &self,
        row: milestone::Model,
        allow_after_end: bool,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<milestone::Model, Error> {
        let project = project_name(&row.project_id)?;
        let name = row.resource_name();
        let txn = self.db.begin_write().await?;
        let locked =
            crud::lock_row::<project::Entity>(&*txn, project.key()).await?.ok_or_else(|| not_found(project))?;
        if let Some(existing) =
            idempotency::claim(&*txn, CREATE_MILESTONE_METHOD, request_id, fingerprint, &name).await?
        {
            drop(txn);
            let existing =
                MilestoneName::parse("stored name", &existing).map_err(|v| Error::Internal(v.description))?;
            return self.get_milestone(existing).await;
        }
        if !allow_after_end {
            check_due(None, row.due_time, &project.to_string(), locked.target_end_time)?;
        }
        let count = milestone::Entity::find()
            .filter(milestone::Column::ProjectId.eq(row.project_id.as_str()))
            .count(&*txn)
            .await
            .map_err(db_error)?;
        if count >= MILESTONES_MAX as u64 {
            return Err(precondition(
                TOO_MANY_MILESTONES,
                &project.to_string(),
                format!("{project} has {MILESTONES_MAX} milestones already, the most a project has"),
            ));
        }
        Insert::execute_all(
            &*txn,
            vec![Insert::model(row.clone().into_active_model()), change(&row, ChangeKind::Created)],
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// The milestone an earlier CreateMilestone with this request id created, if any.
    pub async fn milestone_created_by(
        &self,
        request_id: &RequestId,
        fingerprint: &str,
    ) -> Result<Option<milestone::Model>, Error> {
        match idempotency::lookup(self.db.conn(), CREATE_MILESTONE_METHOD, request_id, fingerprint).await? {
            Some(name) => {
                let name = MilestoneName::parse("stored name", &name).map_err(|v| Error::Internal(v.description))?;
                Ok(Some(self.get_milestone(name).await?))
            }
            None => Ok(None),
        }
    }

    pub async fn get_milestone(&self, name: MilestoneName) -> Result<milestone::Model, Error> {
        crud::find::<milestone::Entity>(self.db.conn(), name.key())
            .await?
            .filter(|m| m.project_id == name.project.key())
            .ok_or_else(|| not_found(name))
    }

    /// Every milestone of a project by due time; NOT_FOUND for the project.
    pub async fn project_milestones(&self, project: Name<Projects>) -> Result<Vec<milestone::Model>, Error> {
        crud::find::<project::Entity>(self.db.conn(), project.key()).await?.ok_or_else(|| not_found(project))?;
        milestones_of(self.db.conn(), &project.key()).await
    }

    /// Changes milestone `name` by `rules` under its project's row lock: NOT_FOUND, ABORTED for a stale
    /// `expected_revision`, the rules' refusals, and MILESTONE_AFTER_PROJECT_END for a due time moved after the
    /// project's end unless `allow_after_end`.
    pub async fn update_milestone(
        &self,
        name: MilestoneName,
        expected_revision: Option<i64>,
        allow_after_end: bool,
        rules: impl FnOnce(&milestone::Model) -> Result<milestone::Model, Error>,
    ) -> Result<milestone::Model, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let project =
            crud::lock_row::<project::Entity>(&*txn, name.project.key()).await?.ok_or_else(|| not_found(name))?;
        let current = current_for_update::<milestone::Entity>(&*txn, &resource, name.key(), expected_revision).await?;
        if current.project_id != project.id {
            return Err(not_found(name));
        }
        let mut next = rules(&current)?;
        if !allow_after_end && next.due_time != current.due_time {
            check_due(Some(&resource), next.due_time, &name.project.to_string(), project.target_end_time)?;
        }
        milestone::Entity::stamp(&mut next, current.revision + 1, time::now());
        replace_if_unchanged::<milestone::Entity>(&*txn, &resource, current.revision, next.clone()).await?;
        append(&*txn, &next, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// Takes a snapshot of a project's plan named `display_name`, under the project's row lock: NOT_FOUND for the
    /// project, ALREADY_EXISTS naming the baseline that has the name (held by a unique index), TOO_MANY_BASELINES
    /// past [`BASELINES_MAX`].
    pub async fn create_baseline(
        &self,
        project: Name<Projects>,
        display_name: String,
    ) -> Result<baseline::Model, Error> {
        let txn = self.db.begin_write().await?;
        let row = crud::lock_row::<project::Entity>(&*txn, project.key()).await?.ok_or_else(|| not_found(project))?;
        let count = baseline::Entity::find()
            .filter(baseline::Column::ProjectId.eq(row.id.as_str()))
            .count(&*txn)
            .await
            .map_err(db_error)?;
        if count >= BASELINES_MAX as u64 {
            return Err(precondition(
                TOO_MANY_BASELINES,
                &project.to_string(),
                format!("{project} has {BASELINES_MAX} baselines already, the most a project keeps"),
            ));
        }
        let stored = StoredProject { milestones: milestones_of(&*txn, &row.id).await?, row };
        let planned = stored.planned();
        let taken = baseline::Model {
            id: BaselineName::generate(project).key(),
            project_id: stored.row.id.clone(),
            display_name: display_name.clone(),
            target_end_time: stored.row.target_end_time,
            currency_code: planned.as_ref().map(|m| m.currency.clone()).unwrap_or_default(),
            planned_units: planned.as_ref().map(|m| m.units),
            planned_nanos: planned.as_ref().map(|m| m.nanos),
            milestones: crate::domain::commitment::list_to_json(&crate::domain::project::plan_of(&stored.facts())),
            create_time: time::now(),
        };
        // The unique index decides between racing creates of one name: the loser inserts nothing.
        let inserted = baseline::Entity::insert(taken.clone().into_active_model())
            .on_conflict(
                OnConflict::columns([baseline::Column::ProjectId, baseline::Column::DisplayName])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await
            .map_err(db_error)?;
        if inserted == 0 {
            let existing = baseline::Entity::find()
                .filter(baseline::Column::ProjectId.eq(taken.project_id.as_str()))
                .filter(baseline::Column::DisplayName.eq(display_name.as_str()))
                .one(&*txn)
                .await
                .map_err(db_error)?;
            let resource = existing
                .map_or_else(|| format!("a baseline of {project} named '{display_name}'"), |b| b.resource_name());
            return Err(Error::AlreadyExists { resource });
        }
        append(&*txn, &taken, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(taken)
    }

    /// Every baseline of a project, oldest first; NOT_FOUND for the project.
    pub async fn project_baselines(&self, project: Name<Projects>) -> Result<Vec<baseline::Model>, Error> {
        let conn = self.db.conn();
        crud::find::<project::Entity>(conn, project.key()).await?.ok_or_else(|| not_found(project))?;
        baseline::Entity::find()
            .filter(baseline::Column::ProjectId.eq(project.key()))
            .order_by_asc(baseline::Column::Id)
            .all(conn)
            .await
            .map_err(db_error)
    }

    pub async fn get_baseline(&self, name: BaselineName) -> Result<baseline::Model, Error> {
        crud::find::<baseline::Entity>(self.db.conn(), name.key())
            .await?
            .filter(|b| b.project_id == name.project.key())
            .ok_or_else(|| not_found(name))
    }
}

/// A project's milestones by due time (then id).
async fn milestones_of(conn: &impl ConnectionTrait, project_id: &str) -> Result<Vec<milestone::Model>, Error> {
    milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(project_id))
        .order_by_asc(milestone::Column::DueTime)
        .order_by_asc(milestone::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

impl Resource for StoredProject {
    type Wire = wire::Project;
    fn resource_name(&self) -> String {
        format!("projects/{}", self.row.id)
    }
    fn to_wire(&self) -> wire::Project {
        project(self, time::now())
    }
}

/// The wire form of a stored project, its health computed at `now` (or overridden).
pub fn project(stored: &StoredProject, now: DateTime<Utc>) -> wire::Project {
    let row = &stored.row;
    let computed = stored.assessment(now);
    let manual = Health::from_stored(&row.override_health);
    let (health, health_reasons) = match manual {
        Some(health) => (health, vec![row.override_reason.clone()]),
        None => (computed.health, computed.reasons),
    };
    wire::Project {
        name: stored.resource_name(),
        display_name: row.display_name.clone(),
        objective: row.objective.clone(),
        owning_organization: row.owning_organization.clone(),
        planned_budget: stored.planned().map(|m| m.to_wire()),
        actual_budget: stored.actual().map(|m| m.to_wire()),
        start_time: Some(to_timestamp(row.start_time)),
        target_end_time: Some(to_timestamp(row.target_end_time)),
        health: health.to_wire() as i32,
        health_reasons,
        health_override: manual.map(|health| wire::HealthOverride {
            health: health.to_wire() as i32,
            reason: row.override_reason.clone(),
            actor: row.override_actor.clone(),
            set_time: row.override_time.map(to_timestamp),
        }),
        etag: etag::render(row.revision),
        create_time: Some(to_timestamp(row.create_time)),
        update_time: Some(to_timestamp(row.update_time)),
        computed_health: computed.health.to_wire() as i32,
    }
}

impl Resource for milestone::Model {
    type Wire = wire::Milestone;
    fn resource_name(&self) -> String {
        format!("projects/{}/milestones/{}", self.project_id, self.id)
    }
    fn to_wire(&self) -> wire::Milestone {
        wire::Milestone {
            name: self.resource_name(),
            title: self.title.clone(),
            due_time: Some(to_timestamp(self.due_time)),
            status: MilestoneStatus::wire_of(&self.status),
            owner: self.owner.clone(),
            percent_complete: self.percent_complete,
            etag: etag::render(self.revision),
            create_time: Some(to_timestamp(self.create_time)),
            update_time: Some(to_timestamp(self.update_time)),
        }
    }
}

impl baseline::Model {
    pub fn planned(&self) -> Option<Money> {
        money(&self.currency_code, self.planned_units, self.planned_nanos)
    }

    /// The milestones it kept (an unreadable list reads as none).
    pub fn plan(&self) -> Vec<Planned> {
        list_from_json(&self.milestones).unwrap_or_default()
    }
}

impl Resource for baseline::Model {
    type Wire = wire::Baseline;
    fn resource_name(&self) -> String {
        format!("projects/{}/baselines/{}", self.project_id, self.id)
    }
    fn to_wire(&self) -> wire::Baseline {
        wire::Baseline {
            name: self.resource_name(),
            display_name: self.display_name.clone(),
            target_end_time: Some(to_timestamp(self.target_end_time)),
            planned_budget: self.planned().map(|m| m.to_wire()),
            milestones: self
                .plan()
                .into_iter()
                .map(|p| wire::BaselineMilestone {
                    due_time: crate::domain::lifecycle::parse_rfc3339(&p.due).map(to_timestamp),
                    milestone: p.milestone,
                    title: p.title,
                    percent_complete: p.percent,
                })
                .collect(),
            create_time: Some(to_timestamp(self.create_time)),
        }
    }
}
