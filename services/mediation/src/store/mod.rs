//! The mediation database: cases with their parties, proposals, prevention actions, notes and the policy. Every
//! mutation writes its rows and its change-feed entry in one transaction; every change of a case happens under
//! the case's row lock ([`Store::change_case`]), so a transition is checked against the stage it really leaves.
mod cases;
mod children;
pub mod entity;
pub mod migration;
mod policy;

pub use cases::{CaseFilter, Step};
pub use children::{StoredNote, StoredProposal};
pub use policy::PolicyInForce;

use crate::domain::{Outcome, PartyRole, RootCause, Severity, Stage};
use chrono::{DateTime, Utc};
use entity::{case, party};
use liaison_runtime::Error;
use liaison_runtime::db::Db;
use liaison_runtime::db::crud;
use serde::{Deserialize, Serialize};

pub const OPEN_METHOD: &str = "OpenCase";

/// A case with its parties (in their order) and its details.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub case: case::Model,
    pub parties: Vec<(String, PartyRole)>,
    pub details: Details,
}

/// What is read and written only whole with a case (the `details` JSON column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    pub history: Vec<HistoryEntry>,
    pub root_cause: Option<RootCause>,
    pub waiver: Option<Waiver>,
    pub confirmation: Option<Confirmation>,
    pub case_team: Vec<String>,
    pub sessions: Vec<String>,
}

/// One transition, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub from: Option<Stage>,
    pub to: Stage,
    pub action: String,
    pub actor: String,
    pub time: DateTime<Utc>,
    pub reason: String,
    pub escalation_level: i32,
    pub escalated_to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    /// `(party, how the consent was recorded)`.
    pub consents: Vec<(String, String)>,
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    pub confirmed_by: String,
    pub record: String,
}

impl StoredCase {
    pub fn resource_name(&self) -> String {
        format!("cases/{}", self.case.id)
    }

    pub fn stage(&self) -> Result<Stage, Error> {
        Stage::from_number(self.case.stage).ok_or_else(|| self.corrupt("stage"))
    }

    pub fn severity(&self) -> Result<Severity, Error> {
        Severity::from_number(self.case.severity).ok_or_else(|| self.corrupt("severity"))
    }

    pub fn outcome(&self) -> Option<Outcome> {
        Outcome::from_number(self.case.outcome)
    }

    pub fn is_party(&self, name: &str) -> bool {
        self.parties.iter().any(|(party, _)| party == name)
    }

    /// The case as access rules see it.
    pub fn view(&self) -> crate::domain::access::CaseView<'_> {
        crate::domain::access::CaseView {
            confidential: self.case.confidential,
            mediator: &self.case.mediator,
            team: &self.details.case_team,
            parties: self.parties.iter().map(|(party, _)| party.as_str()).collect(),
        }
    }

    /// Who works the case: its mediator and its team, each once.
    pub fn members(&self) -> Vec<String> {
        let mut members: Vec<String> = Vec::new();
        for member in std::iter::once(&self.case.mediator).chain(&self.details.case_team) {
            if !member.is_empty() && !members.contains(member) {
                members.push(member.clone());
            }
        }
        members
    }

    pub fn party_names(&self) -> Vec<String> {
        self.parties.iter().map(|(party, _)| party.clone()).collect()
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::Internal(format!("{} has an unknown {what}", self.resource_name()))
    }
}

/// The mediation service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// The policy as last read, and when (see [`Store::policy`]).
    policy: std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, PolicyInForce)>>>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db, policy: Default::default() }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Attaches parties and details to case rows, with one query for the parties.
    async fn complete(conn: &impl sea_orm::ConnectionTrait, cases: Vec<case::Model>) -> Result<Vec<StoredCase>, Error> {
        let ids = cases.iter().map(|c| c.id.clone()).collect();
        let mut by_case = crud::children_of::<party::Entity, _>(
            conn,
            party::Column::CaseId,
            party::Column::Position,
            ids,
            |row| row.case_id.clone(),
            |row| (row.party, PartyRole::from_number(row.role).unwrap_or(PartyRole::Affected)),
        )
        .await?;
        cases
            .into_iter()
            .map(|case| {
                let parties = by_case.remove(&case.id).unwrap_or_default();
                let details: Details = serde_json::from_str(&case.details)
                    .map_err(|e| Error::Internal(format!("cases/{} has unreadable details: {e}", case.id)))?;
                Ok(StoredCase { case, parties, details })
            })
            .collect()
    }
}

/// `chrono` at the database boundary, `jiff` for calendar arithmetic.
pub fn to_jiff(time: DateTime<Utc>) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(time.timestamp_micros()).unwrap_or(jiff::Timestamp::MAX)
}

pub fn to_chrono(time: jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.as_microsecond()).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
