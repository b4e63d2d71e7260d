//! Proposals, prevention actions and notes: each change happens under the parent case's row lock, so that the
//! case's stage is checked against what it really is and the last acceptances of a proposal take turns — the one
//! that completes the agreement sees every other answer, and the case moves on exactly once.
use super::cases::{lock_case, write_case};
use super::entity::{note, prevention_action, proposal};
use super::{Store, StoredCase};
use crate::domain::access::Access;
use crate::domain::lifecycle::{Action, check};
use crate::domain::{Stage, children::*};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Cases, Child, Name, Notes, PreventionActions, Proposals};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::resource::{Marked, Revisioned, append, replace_if_unchanged};
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud, db::db_error, db::idempotency};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

liaison_runtime::revisioned!(proposal, prevention_action);

pub(super) const PROPOSE_METHOD: &str = "CreateProposal";
pub(super) const ACTION_METHOD: &str = "CreatePreventionAction";
pub(super) const NOTE_METHOD: &str = "AddCaseNote";

/// A proposal with its parsed answers.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProposal {
    pub row: proposal::Model,
    pub responses: Vec<Response>,
}

impl StoredProposal {
    fn of(row: proposal::Model) -> Result<Self, Error> {
        let responses = serde_json::from_str(&row.responses)
            .map_err(|e| Error::Internal(format!("proposal {} has unreadable answers: {e}", row.id)))?;
        Ok(Self { row, responses })
    }

    pub fn name(&self) -> String {
        format!("cases/{}/proposals/{}", self.row.case_id, self.row.id)
    }

    pub fn state(&self) -> ProposalState {
        ProposalState::from_number(self.row.state).unwrap_or(ProposalState::Superseded)
    }
}

/// A note as stored.
pub type StoredNote = note::Model;

fn precondition(kind: &'static str, subject: &str, description: String) -> Error {
    Error::FailedPrecondition {
        reason: kind,
        violations: vec![PreconditionViolation { kind: kind.into(), subject: subject.into(), description }],
    }
}

fn caller_subject() -> String {
    liaison_runtime::net::context::caller().subject().to_owned()
}

impl Store {
    /// Makes a proposal in a case at ROOT_CAUSE_RECORDED, superseding the case's open proposal if any.
    pub async fn create_proposal(
        &self,
        case: Name<Cases>,
        terms: String,
        proposed_by: String,
        request_id: Option<&RequestId>,
        fingerprint: &str,
        access: &Access,
    ) -> Result<StoredProposal, Error> {
        let name = Child::<Cases, Proposals>::generate(case);
        let txn = self.db.begin_write().await?;
        let current = lock_case(&*txn, case, None, access).await?;
        if let Some(existing) =
            idempotency::claim(&*txn, PROPOSE_METHOD, request_id, fingerprint, &name.to_string()).await?
        {
            drop(txn);
            let existing = Child::<Cases, Proposals>::parse("stored name", &existing)
                .map_err(|v| Error::Internal(v.description))?;
            return self.get_proposal(existing).await;
        }
        check(&current.resource_name(), current.stage()?, Action::CreateProposal)?;
        let now = time::now();
        supersede_open(&*txn, &current, now).await?;
        let made = new_proposal(&name, terms, proposed_by, String::new(), now)?;
        Insert::model(made.row.clone().into_active_model()).execute(&*txn).await?;
        append(&*txn, &Marked { resource: &made, confidential: current.case.confidential }, ChangeKind::Created)
            .await?;
        txn.commit().await?;
        Ok(made)
    }

    pub async fn get_proposal(&self, name: Child<Cases, Proposals>) -> Result<StoredProposal, Error> {
        let row = proposal::Entity::find_by_id(name.key())
            .filter(proposal::Column::CaseId.eq(name.parent().key()))
            .one(self.db.conn())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        StoredProposal::of(row)
    }

    pub async fn list_proposals(
        &self,
        case: Name<Cases>,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<StoredProposal>, Error> {
        let rows = crud::page_where::<proposal::Entity>(
            self.db.conn(),
            proposal::Column::Id,
            sea_orm::Condition::all().add(proposal::Column::CaseId.eq(case.key())),
            after,
            limit,
        )
        .await?;
        rows.into_iter().map(StoredProposal::of).collect()
    }

    /// Records `party`'s answer to proposal `name`; see the RPC for the rules. Returns the proposal, the
    /// counter-proposal made (for COUNTER) and the case (moved to PROPOSAL_AGREED when this answer completed the
    /// agreement).
    pub async fn respond_to_proposal(
        &self,
        name: Child<Cases, Proposals>,
        party: String,
        asked: NewAnswer,
        now: DateTime<Utc>,
        access: &Access,
    ) -> Result<(StoredProposal, Option<StoredProposal>, StoredCase), Error> {
        let NewAnswer { answer, counter_terms, comment } = asked;
        let resource = name.to_string();
        let actor = caller_subject();
        let policy = self.policy().await?;
        let txn = self.db.begin_write().await?;
        // The case first, always: every answer to a case's proposals takes turns on it.
        let case = lock_case(&*txn, name.parent(), None, access).await?;
        // The stage first: it is the reason whatever the proposal, and no proposal exists before it allows one.
        check(&case.resource_name(), case.stage()?, Action::RespondToProposal)?;
        let row = crud::lock_row::<proposal::Entity>(&*txn, name.key())
            .await?
            .filter(|row| row.case_id == name.parent().key())
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        let mut proposal = StoredProposal::of(row)?;
        if !case.is_party(&party) {
            return Err(precondition(
                "NOT_A_PARTY",
                &party,
                format!("{party} is not a party of {}", case.resource_name()),
            ));
        }
        if proposal.state() != ProposalState::Open {
            return Err(precondition(
                "PROPOSAL_NOT_OPEN",
                &resource,
                format!("{resource} is {} and takes no answers", proposal.state().name()),
            ));
        }
        if proposal.responses.iter().any(|r| r.party == party) {
            return Err(precondition(
                "PARTY_ALREADY_RESPONDED",
                &party,
                format!("{party} has answered {resource} already"),
            ));
        }
        proposal.responses.push(Response {
            party: party.clone(),
            answer,
            comment,
            recorded_by: actor.clone(),
            time: now,
        });
        let mut counter = None;
        let mut next_case = None;
        match answer {
            Answer::Reject => proposal.row.state = ProposalState::Rejected.wire() as i32,
            Answer::Counter => {
                proposal.row.state = ProposalState::Superseded.wire() as i32;
                let counter_name = Child::<Cases, Proposals>::generate(name.parent());
                let terms = counter_terms.unwrap_or_default();
                counter = Some(new_proposal(&counter_name, terms, party.clone(), resource.clone(), now)?);
            }
            Answer::Accept => {
                let accepted: Vec<&str> = proposal
                    .responses
                    .iter()
                    .filter(|r| r.answer == Answer::Accept)
                    .map(|r| r.party.as_str())
                    .collect();
                if case.parties.iter().all(|(p, _)| accepted.contains(&p.as_str())) {
                    proposal.row.state = ProposalState::Agreed.wire() as i32;
                    let mut next = case.clone();
                    next.case.agreement = resource.clone();
                    let reason = format!("every party accepted {resource}");
                    next.apply(
                        super::Step::to(Action::RespondToProposal, Stage::ProposalAgreed, reason),
                        &policy,
                        &actor,
                        now,
                    )?;
                    next_case = Some(next);
                }
            }
        }
        proposal.row.responses = serialise(&proposal.responses)?;
        let read_revision = proposal.row.revision;
        <proposal::Entity as Revisioned>::stamp(&mut proposal.row, read_revision + 1, now);
        replace_if_unchanged::<proposal::Entity>(&*txn, &resource, read_revision, proposal.row.clone()).await?;
        append(&*txn, &Marked { resource: &proposal, confidential: case.case.confidential }, ChangeKind::Updated)
            .await?;
        if let Some(counter) = &counter {
            Insert::model(counter.row.clone().into_active_model()).execute(&*txn).await?;
            append(&*txn, &Marked { resource: counter, confidential: case.case.confidential }, ChangeKind::Created)
                .await?;
        }
        let case = match next_case {
            Some(next) => write_case(&*txn, &case, next, now).await?,
            None => case,
        };
        txn.commit().await?;
        Ok((proposal, counter, case))
    }

    /// Adds a prevention action to a case in a stage that allows it.
    pub async fn create_prevention_action(
        &self,
        case: Name<Cases>,
        new: NewPreventionAction,
        request_id: Option<&RequestId>,
        fingerprint: &str,
        access: &Access,
    ) -> Result<prevention_action::Model, Error> {
        let name = Child::<Cases, PreventionActions>::generate(case);
        let txn = self.db.begin_write().await?;
        let current = lock_case(&*txn, case, None, access).await?;
        if let Some(existing) =
            idempotency::claim(&*txn, ACTION_METHOD, request_id, fingerprint, &name.to_string()).await?
        {
            drop(txn);
            let existing = Child::<Cases, PreventionActions>::parse("stored name", &existing)
                .map_err(|v| Error::Internal(v.description))?;
            return self.get_prevention_action(existing).await;
        }
        check(&current.resource_name(), current.stage()?, Action::CreatePreventionAction)?;
        let now = time::now();
        let row = prevention_action::Model {
            id: name.key(),
            case_id: case.key(),
            description: new.description,
            owner: new.owner.to_string(),
            due_time: new.due_time,
            state: ActionState::Open.wire() as i32,
            defer_reason: String::new(),
            revision: 1,
            create_time: now,
            update_time: now,
        };
        Insert::model(row.clone().into_active_model()).execute(&*txn).await?;
        append(&*txn, &Marked { resource: &row, confidential: current.case.confidential }, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(row)
    }

    pub async fn get_prevention_action(
        &self,
        name: Child<Cases, PreventionActions>,
    ) -> Result<prevention_action::Model, Error> {
        prevention_action::Entity::find_by_id(name.key())
            .filter(prevention_action::Column::CaseId.eq(name.parent().key()))
            .one(self.db.conn())
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    pub async fn list_prevention_actions(
        &self,
        case: Name<Cases>,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<prevention_action::Model>, Error> {
        crud::page_where::<prevention_action::Entity>(
            self.db.conn(),
            prevention_action::Column::Id,
            sea_orm::Condition::all().add(prevention_action::Column::CaseId.eq(case.key())),
            after,
            limit,
        )
        .await
    }

    /// Marks an action done or deferred, in a case stage that allows it.
    pub async fn settle_prevention_action(
        &self,
        name: Child<Cases, PreventionActions>,
        expected_revision: Option<i64>,
        settled: Settled,
        access: &Access,
    ) -> Result<prevention_action::Model, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let case = lock_case(&*txn, name.parent(), None, access).await?;
        check(&case.resource_name(), case.stage()?, Action::SettlePreventionAction)?;
        let current = crud::lock_row::<prevention_action::Entity>(&*txn, name.key())
            .await?
            .filter(|row| row.case_id == name.parent().key())
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        if expected_revision.is_some_and(|expected| expected != current.revision) {
            return Err(Error::Aborted { resource });
        }
        let mut next = current.clone();
        match settled {
            Settled::Done => (next.state, next.defer_reason) = (ActionState::Done.wire() as i32, String::new()),
            Settled::Deferred(reason) => {
                (next.state, next.defer_reason) = (ActionState::Deferred.wire() as i32, reason)
            }
        }
        if next == current {
            return Ok(current);
        }
        <prevention_action::Entity as Revisioned>::stamp(&mut next, current.revision + 1, time::now());
        replace_if_unchanged::<prevention_action::Entity>(&*txn, &resource, current.revision, next.clone()).await?;
        append(&*txn, &Marked { resource: &next, confidential: case.case.confidential }, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// The open prevention actions of a case, inside the caller's transaction.
    pub(super) async fn open_actions(conn: &impl ConnectionTrait, case: &str) -> Result<Vec<String>, Error> {
        let rows = prevention_action::Entity::find()
            .filter(prevention_action::Column::CaseId.eq(case))
            .filter(prevention_action::Column::State.eq(ActionState::Open.wire() as i32))
            .order_by_asc(prevention_action::Column::Id)
            .all(conn)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(|row| format!("cases/{case}/preventionActions/{}", row.id)).collect())
    }

    /// Appends a note (any stage: notes record what happened, also after closure).
    pub async fn add_note(
        &self,
        case: Name<Cases>,
        new: NewNote,
        request_id: Option<&RequestId>,
        fingerprint: &str,
        access: &Access,
    ) -> Result<StoredNote, Error> {
        let name = Child::<Cases, Notes>::generate(case);
        let txn = self.db.begin_write().await?;
        let current = lock_case(&*txn, case, None, access).await?;
        if let Some(existing) =
            idempotency::claim(&*txn, NOTE_METHOD, request_id, fingerprint, &name.to_string()).await?
        {
            drop(txn);
            let existing =
                Child::<Cases, Notes>::parse("stored name", &existing).map_err(|v| Error::Internal(v.description))?;
            return note::Entity::find_by_id(existing.key())
                .one(self.db.conn())
                .await
                .map_err(db_error)?
                .ok_or_else(|| Error::NotFound { resource: existing.to_string() });
        }
        let row = note::Model {
            id: name.key(),
            case_id: case.key(),
            text: new.text,
            visibility: new.visibility.wire() as i32,
            author: caller_subject(),
            create_time: time::now(),
        };
        Insert::model(row.clone().into_active_model()).execute(&*txn).await?;
        append(&*txn, &Marked { resource: &row, confidential: current.case.confidential }, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// A page of a case's notes; `shared_only` keeps internal notes out (for a party reading its own case).
    pub async fn list_notes(
        &self,
        case: Name<Cases>,
        shared_only: bool,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<StoredNote>, Error> {
        let mut condition = sea_orm::Condition::all().add(note::Column::CaseId.eq(case.key()));
        if shared_only {
            condition = condition.add(note::Column::Visibility.eq(NoteVisibility::Shared.wire() as i32));
        }
        crud::page_where::<note::Entity>(self.db.conn(), note::Column::Id, condition, after, limit).await
    }
}

/// Supersedes the case's open proposals (at most one) as a new one is made.
async fn supersede_open(conn: &impl ConnectionTrait, case: &StoredCase, now: DateTime<Utc>) -> Result<(), Error> {
    let open = proposal::Entity::find()
        .filter(proposal::Column::CaseId.eq(case.case.id.clone()))
        .filter(proposal::Column::State.eq(ProposalState::Open.wire() as i32))
        .all(conn)
        .await
        .map_err(db_error)?;
    for row in open {
        let mut next = StoredProposal::of(row)?;
        let read_revision = next.row.revision;
        next.row.state = ProposalState::Superseded.wire() as i32;
        <proposal::Entity as Revisioned>::stamp(&mut next.row, read_revision + 1, now);
        replace_if_unchanged::<proposal::Entity>(conn, &next.name(), read_revision, next.row.clone()).await?;
        append(conn, &Marked { resource: &next, confidential: case.case.confidential }, ChangeKind::Updated).await?;
    }
    Ok(())
}

fn new_proposal(
    name: &Child<Cases, Proposals>,
    terms: String,
    proposed_by: String,
    counters: String,
    now: DateTime<Utc>,
) -> Result<StoredProposal, Error> {
    let row = proposal::Model {
        id: name.key(),
        case_id: name.parent().key(),
        terms,
        proposed_by,
        state: ProposalState::Open.wire() as i32,
        counters,
        responses: "[]".into(),
        revision: 1,
        create_time: now,
        update_time: now,
    };
    Ok(StoredProposal { row, responses: Vec::new() })
}

fn serialise(responses: &[Response]) -> Result<String, Error> {
    serde_json::to_string(responses).map_err(|e| Error::Internal(format!("answers not serialisable: {e}")))
}
