//! Opening, reading, listing and changing cases. A change runs under the case's row lock, so the rules see the
//! stage the case really is in; its clocks restart on the policy in force (as this replica read it within the last
//! second).
use super::policy::PolicyInForce;
use super::{Details, HistoryEntry, Store, StoredCase, to_chrono, to_jiff};
use crate::domain::lifecycle::Action;
use crate::domain::{Category, NewCase, Outcome, Severity, Stage};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Cases, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::resource::{Revisioned, append, replace_if_unchanged};
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::db::sql::statement;
use liaison_runtime::{Error, db::crud, db::db_error, db::idempotency};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::{case, member, party};
use crate::domain::access::Access;

liaison_runtime::revisioned!(case);

/// One transition as the rules decided it; [`StoredCase::apply`] writes it into the case.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub to: Stage,
    pub reason: String,
    /// For an escalation: the level or body escalated to (the level number goes up by one).
    pub escalate_to: Option<String>,
    /// For a closure: how it ended.
    pub outcome: Option<Outcome>,
}

impl Step {
    pub fn to(action: Action, to: Stage, reason: impl Into<String>) -> Self {
        Self { action, to, reason: reason.into(), escalate_to: None, outcome: None }
    }
}

impl StoredCase {
    /// Moves the case by `step` at `now` for `actor`: stage, history, outcome, the stage clock (restarted when the
    /// stage changes or the case is escalated), the frozen SLA instants of a finished case and its appeal deadline.
    /// The case clock, started at opening, never restarts.
    pub fn apply(&mut self, step: Step, policy: &PolicyInForce, actor: &str, now: DateTime<Utc>) -> Result<(), Error> {
        let from = self.stage()?;
        let severity = self.severity()?;
        let c = &mut self.case;
        if let Some(to) = &step.escalate_to {
            c.escalation_level += 1;
            c.escalated_to = to.clone();
        }
        let restart = from != step.to || step.escalate_to.is_some();
        c.stage = step.to.wire() as i32;
        c.state = step.to.coarse(step.outcome).into();
        if step.to.is_terminal() {
            c.outcome = step.outcome.map_or(0, |o| o.wire() as i32);
            c.close_time = Some(now);
            c.appeal_deadline = matches!(step.to, Stage::Closed | Stage::Rejected)
                .then(|| to_chrono(policy.calendar.deadline(to_jiff(now), policy.policy.appeal_window_working_days)));
            (c.stage_start_time, c.stage_at_risk_time, c.stage_due_time, c.stage_days) = (None, None, None, 0);
        } else {
            if from.is_terminal() {
                (c.outcome, c.close_time, c.appeal_deadline) = (0, None, None);
            }
            if restart {
                let clock = policy.policy.stage_clock(&policy.calendar, step.to, severity, to_jiff(now));
                c.stage_start_time = Some(now);
                c.stage_days = clock.map_or(0, |(_, days)| days as i32);
                c.stage_at_risk_time = clock.map(|(clock, _)| to_chrono(clock.at_risk));
                c.stage_due_time = clock.map(|(clock, _)| to_chrono(clock.due));
            }
        }
        freeze_or_track(c);
        self.details.history.push(HistoryEntry {
            from: Some(from),
            to: step.to,
            action: step.action.rpc().to_owned(),
            actor: actor.to_owned(),
            time: now,
            reason: step.reason,
            escalation_level: self.case.escalation_level,
            escalated_to: self.case.escalated_to.clone(),
        });
        Ok(())
    }
}

/// Sets `risk_time` and `breach_time`: the earlier of the two clocks' instants while the case is open; for a
/// finished case the case clock as it stood at closure (breached if it closed late, at risk if it closed in its
/// last part, neither otherwise), so that a filter by SLA status is a range over two indexed columns.
fn freeze_or_track(c: &mut case::Model) {
    let earlier = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match c.close_time {
        Some(closed) => {
            c.breach_time = c.case_due_time.filter(|due| *due <= closed);
            c.risk_time = c.case_at_risk_time.filter(|risk| *risk <= closed);
        }
        None => {
            c.risk_time = earlier(c.stage_at_risk_time, c.case_at_risk_time);
            c.breach_time = earlier(c.stage_due_time, c.case_due_time);
        }
    }
}

/// What ListCases filters on; every field set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub stages: Vec<Stage>,
    /// Cases with any of these parties (a contact and the organisations it belongs to).
    pub parties: Vec<String>,
    pub mediator: Option<String>,
    pub categories: Vec<Category>,
    pub severities: Vec<Severity>,
    pub sla_status: Option<crate::domain::sla::SlaStatus>,
    pub opened_after: Option<DateTime<Utc>>,
    pub opened_before: Option<DateTime<Utc>>,
}

impl CaseFilter {
    fn condition(&self, now: DateTime<Utc>) -> Condition {
        use crate::domain::sla::SlaStatus;
        let numbers = |values: Vec<i32>| values.into_iter().map(sea_orm::Value::from).collect::<Vec<_>>();
        let mut all = Condition::all();
        if !self.stages.is_empty() {
            all = all.add(case::Column::Stage.is_in(numbers(self.stages.iter().map(|s| s.wire() as i32).collect())));
        }
        if !self.categories.is_empty() {
            let values = numbers(self.categories.iter().map(|s| s.wire() as i32).collect());
            all = all.add(case::Column::Category.is_in(values));
        }
        if !self.severities.is_empty() {
            let values = numbers(self.severities.iter().map(|s| s.wire() as i32).collect());
            all = all.add(case::Column::Severity.is_in(values));
        }
        if let Some(mediator) = &self.mediator {
            all = all.add(case::Column::Mediator.eq(mediator.clone()));
        }
        if !self.parties.is_empty() {
            let with_party = Query::select()
                .column(party::Column::CaseId)
                .from(party::Entity)
                .and_where(party::Column::Party.is_in(self.parties.clone()))
                .to_owned();
            all = all.add(case::Column::Id.in_subquery(with_party));
        }
        if let Some(after) = self.opened_after {
            all = all.add(case::Column::CreateTime.gte(after));
        }
        if let Some(before) = self.opened_before {
            all = all.add(case::Column::CreateTime.lt(before));
        }
        match self.sla_status {
            None => {}
            Some(SlaStatus::Breached) => all = all.add(case::Column::BreachTime.lte(now)),
            Some(SlaStatus::AtRisk) => {
                all = all
                    .add(case::Column::RiskTime.lte(now))
                    .add(Condition::any().add(case::Column::BreachTime.is_null()).add(case::Column::BreachTime.gt(now)))
            }
            Some(SlaStatus::OnTrack) => {
                all =
                    all.add(Condition::any().add(case::Column::RiskTime.is_null()).add(case::Column::RiskTime.gt(now)))
            }
        }
        all
    }
}

#[derive(FromQueryResult)]
struct Counter {
    last: i64,
}

impl Store {
    /// The case an earlier request with this id opened, if any.
    pub async fn opened_by(&self, request_id: &RequestId, fingerprint: &str) -> Result<Option<StoredCase>, Error> {
        match idempotency::lookup(self.db.conn(), super::OPEN_METHOD, request_id, fingerprint).await? {
            Some(name) => Ok(Some(self.get_case(parse_stored(&name)?).await?)),
            None => Ok(None),
        }
    }

    /// Opens a case: its human reference is its year and the next reference number (never shared by two opens),
    /// its clocks start now.
    pub async fn open_case(
        &self,
        new: NewCase,
        request_id: Option<&RequestId>,
        fingerprint: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredCase, Error> {
        let name = Name::<Cases>::generate();
        let policy = self.policy().await?;
        let txn = match idempotency::begin_create(&self.db, super::OPEN_METHOD, request_id, fingerprint, &name).await? {
            idempotency::Begun::Fresh(txn) => txn,
            idempotency::Begun::Replay(existing) => return self.get_case(existing).await,
        };
        let year = i64::from(chrono::Datelike::year(&now));
        let number = next_reference_number(&*txn).await?;
        let (stage_clock, stage_days) = policy
            .policy
            .stage_clock(&policy.calendar, Stage::Received, new.severity, to_jiff(now))
            .map_or((None, 0), |(clock, days)| (Some(clock), days as i32));
        let (case_clock, case_days) = policy.policy.case_clock(&policy.calendar, new.severity, to_jiff(now));
        let mut model = case::Model {
            id: name.key(),
            title: new.title,
            description: new.description,
            state: Stage::Received.coarse(None) as i32,
            revision: 1,
            create_time: now,
            update_time: now,
            reference: format!("LIA-{year}-{number:06}"),
            remedy_sought: new.remedy_sought,
            category: new.category.wire() as i32,
            severity: new.severity.wire() as i32,
            intake_channel: new.intake_channel.map_or(0, |c| c.wire() as i32),
            raised_by: new.raised_by.map(|n| n.to_string()).unwrap_or_default(),
            confidential: new.confidential,
            stage: Stage::Received.wire() as i32,
            outcome: 0,
            mediator: String::new(),
            escalation_level: 0,
            escalated_to: String::new(),
            stage_start_time: Some(now),
            stage_days,
            stage_at_risk_time: stage_clock.map(|c| to_chrono(c.at_risk)),
            stage_due_time: stage_clock.map(|c| to_chrono(c.due)),
            case_days: case_days as i32,
            case_at_risk_time: Some(to_chrono(case_clock.at_risk)),
            case_due_time: Some(to_chrono(case_clock.due)),
            risk_time: None,
            breach_time: None,
            close_time: None,
            appeal_deadline: None,
            agreement: String::new(),
            details: String::new(),
        };
        freeze_or_track(&mut model);
        let details = Details {
            history: vec![HistoryEntry {
                from: None,
                to: Stage::Received,
                action: super::OPEN_METHOD.into(),
                actor: actor.to_owned(),
                time: now,
                reason: String::new(),
                escalation_level: 0,
                escalated_to: String::new(),
            }],
            case_team: new.case_team.iter().map(ToString::to_string).collect(),
            ..Details::default()
        };
        model.details = serialise(&details)?;
        let parties: Vec<(String, crate::domain::PartyRole)> =
            new.parties.iter().map(|p| (p.name.to_string(), p.role)).collect();
        let case_id = model.id.clone();
        let rows = parties.iter().enumerate().map(|(position, (party, role))| {
            party::Model {
                case_id: case_id.clone(),
                position: position as i32,
                party: party.clone(),
                role: role.wire() as i32,
            }
            .into_active_model()
        });
        let stored = StoredCase { case: model.clone(), parties: parties.clone(), details };
        let mut inserts = vec![Insert::model(model.into_active_model())];
        inserts.extend(Insert::models(rows));
        inserts.extend(Insert::models(member_rows(&case_id, &stored.members())));
        inserts.push(liaison_runtime::db::resource::change(&stored, ChangeKind::Created));
        Insert::execute_all(&*txn, inserts).await?;
        txn.commit().await?;
        Ok(stored)
    }

    pub async fn get_case(&self, name: Name<Cases>) -> Result<StoredCase, Error> {
        let case = crud::find::<case::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        Ok(Self::complete(self.db.conn(), vec![case]).await?.remove(0))
    }

    /// The ids of the cases `filter` keeps that `access` may read, after `after` in id order, at most `limit`:
    /// one query (ListCases reads the cases themselves from its cache, or with [`Store::cases_by_ids`]).
    pub async fn list_case_ids(
        &self,
        filter: &CaseFilter,
        access: &Access,
        now: DateTime<Utc>,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<String>, Error> {
        let mut condition = filter.condition(now);
        if !access.all {
            // Confidential cases are not even counted for others: they are filtered out in the query itself.
            let mut readable = Condition::any().add(case::Column::Confidential.eq(false));
            if let Some(me) = &access.contact {
                let mine = Query::select()
                    .column(member::Column::CaseId)
                    .from(member::Entity)
                    .and_where(member::Column::Contact.eq(me.clone()))
                    .to_owned();
                readable = readable.add(case::Column::Id.in_subquery(mine));
            }
            condition = condition.add(readable);
        }
        let mut query = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(condition)
            .order_by_asc(case::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(case::Column::Id.gt(after));
        }
        query.into_tuple::<String>().all(self.db.conn()).await.map_err(db_error)
    }

    /// The first instant after `now` at which any case's SLA status turns (the earliest at-risk or due instant
    /// still ahead, over every case), `None` if none is ahead: until then, which cases each SLA filter keeps
    /// changes only with writes. Two index lookups.
    pub async fn next_sla_turn(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        let conn = self.db.conn();
        let first_after = |column: case::Column| {
            case::Entity::find()
                .select_only()
                .column(column)
                .filter(column.gt(now))
                .order_by_asc(column)
                .limit(1)
                .into_tuple::<Option<DateTime<Utc>>>()
                .one(conn)
        };
        let (risk, breach) =
            tokio::try_join!(first_after(case::Column::RiskTime), first_after(case::Column::BreachTime))
                .map_err(db_error)?;
        Ok([risk.flatten(), breach.flatten()].into_iter().flatten().min())
    }

    /// The cases `ids` that exist, with their parties and details (two queries, any order).
    pub async fn cases_by_ids(&self, ids: Vec<String>) -> Result<Vec<StoredCase>, Error> {
        let conn = self.db.conn();
        let cases = crud::find_many::<case::Entity>(conn, case::Column::Id, ids).await?;
        Self::complete(conn, cases).await
    }

    /// Changes case `name` by `rules`, under its row lock with the policy in force: NOT_FOUND; ABORTED if
    /// `expected_revision` is set and stale; the rules' own refusals. The rules see the case, the policy and (when
    /// `with_open_actions`) the case's open prevention actions, and return the next state (its revision and update
    /// time, `now`, are stamped here) or `None` for no change. Returns the case as stored and the policy.
    pub async fn change_case(
        &self,
        name: Name<Cases>,
        expected_revision: Option<i64>,
        with_open_actions: bool,
        now: DateTime<Utc>,
        access: &Access,
        rules: impl FnOnce(&StoredCase, &PolicyInForce, &[String]) -> Result<Option<StoredCase>, Error>,
    ) -> Result<(StoredCase, PolicyInForce), Error> {
        // Read before the transaction: a read from the pool while holding a transaction's connection could wait
        // for a connection that only the waiting transactions hold.
        let policy = self.policy().await?;
        let txn = self.db.begin_write().await?;
        let current = lock_case(&*txn, name, expected_revision, access).await?;
        let open_actions =
            if with_open_actions { Store::open_actions(&*txn, &current.case.id).await? } else { Vec::new() };
        let Some(next) = rules(&current, &policy, &open_actions)? else { return Ok((current, policy)) };
        let stored = write_case(&*txn, &current, next, now).await?;
        txn.commit().await?;
        Ok((stored, policy))
    }

    /// Escalates every open case whose stage clock is breached at `now` to the policy's next level, when the
    /// policy says so and a next level exists; recorded in each case's history as `AutomaticEscalation` by
    /// `system`. The escalation restarts the stage clock, so a case escalates once per breach. Returns the
    /// escalated cases' names.
    pub async fn escalate_breached(&self, now: DateTime<Utc>) -> Result<Vec<String>, Error> {
        let policy = self.policy().await?;
        if !policy.policy.escalate_on_breach {
            return Ok(Vec::new());
        }
        let levels = policy.policy.escalation_levels.len() as i32;
        let due = case::Entity::find()
            .filter(case::Column::StageDueTime.lte(now))
            .filter(case::Column::EscalationLevel.lt(levels))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        let mut escalated = Vec::new();
        for row in due {
            let name = parse_stored(&format!("cases/{}", row.id))?;
            let result = self
                .change_case(name, None, false, now, &Access::service(), |current, policy, _| {
                    let level = current.case.escalation_level as usize;
                    let breached = current.case.stage_due_time.is_some_and(|due| due <= now);
                    let stage = current.stage()?;
                    let Some(next_level) = policy.policy.escalation_levels.get(level).filter(|_| breached) else {
                        return Ok(None);
                    };
                    if stage.is_terminal() || !policy.policy.escalate_on_breach {
                        return Ok(None);
                    }
                    let mut next = current.clone();
                    let reason = format!("the stage clock of {} was breached", stage.name());
                    let step =
                        Step { escalate_to: Some(next_level.clone()), ..Step::to(Action::Escalate, stage, reason) };
                    next.apply(step, policy, "system", now)?;
                    if let Some(last) = next.details.history.last_mut() {
                        last.action = "AutomaticEscalation".into();
                    }
                    Ok(Some(next))
                })
                .await;
            match result {
                Ok((case, _)) if case.case.escalation_level > row.escalation_level => {
                    escalated.push(case.resource_name())
                }
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(escalated)
    }
}

/// The case `name` locked for the rest of the transaction, with its parties and details.
pub(super) async fn lock_case(
    conn: &impl ConnectionTrait,
    name: Name<Cases>,
    expected_revision: Option<i64>,
    access: &Access,
) -> Result<StoredCase, Error> {
    let resource = name.to_string();
    let row = crud::lock_row::<case::Entity>(conn, name.key())
        .await?
        .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
    let case = Store::complete(conn, vec![row]).await?.remove(0);
    // A confidential case does not exist for those who may not read it: not even its etag is compared.
    if !access.may_read(&case.view()) {
        return Err(Error::NotFound { resource });
    }
    if expected_revision.is_some_and(|expected| expected != case.case.revision) {
        return Err(Error::Aborted { resource });
    }
    Ok(case)
}

/// Writes `next` over `current` (revision + 1, update time now) with its change; parties never change after
/// opening.
pub(super) async fn write_case(
    conn: &impl ConnectionTrait,
    current: &StoredCase,
    mut next: StoredCase,
    now: DateTime<Utc>,
) -> Result<StoredCase, Error> {
    next.case.details = serialise(&next.details)?;
    <case::Entity as Revisioned>::stamp(&mut next.case, current.case.revision + 1, now.max(current.case.update_time));
    replace_if_unchanged::<case::Entity>(conn, &current.resource_name(), current.case.revision, next.case.clone())
        .await?;
    let members = next.members();
    if members != current.members() {
        member::Entity::delete_many()
            .filter(member::Column::CaseId.eq(next.case.id.clone()))
            .exec(conn)
            .await
            .map_err(db_error)?;
        if let Some(insert) = Insert::models(member_rows(&next.case.id, &members)) {
            insert.execute(conn).await?;
        }
    }
    append(conn, &next, ChangeKind::Updated).await?;
    Ok(next)
}

fn member_rows(case_id: &str, members: &[String]) -> Vec<member::ActiveModel> {
    members
        .iter()
        .map(|contact| member::Model { case_id: case_id.to_owned(), contact: contact.clone() }.into_active_model())
        .collect()
}

fn serialise(details: &Details) -> Result<String, Error> {
    serde_json::to_string(details).map_err(|e| Error::Internal(format!("case details not serialisable: {e}")))
}

/// The next case reference number: a sequence on PostgreSQL (no open waits for another's commit), the counter
/// row on SQLite (whose writers take turns anyway). Unique and increasing; a rolled-back open may leave a gap.
async fn next_reference_number(txn: &impl ConnectionTrait) -> Result<i64, Error> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT nextval('case_reference_numbers') AS last",
        _ => {
            "INSERT INTO case_reference_counters (year, last) VALUES (0, 1) ON CONFLICT (year) DO UPDATE \
             SET last = case_reference_counters.last + 1 RETURNING last"
        }
    };
    Counter::find_by_statement(statement(backend, sql, []))
        .one(txn)
        .await
        .map_err(db_error)?
        .map(|counter| counter.last)
        .ok_or_else(|| Error::Internal("no case reference number was handed out".into()))
}

pub(super) fn parse_stored(name: &str) -> Result<Name<Cases>, Error> {
    Name::parse("stored name", name).map_err(|v| Error::Internal(v.description))
}
