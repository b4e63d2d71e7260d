//! The mediation database: cases and their parties, each mutation with its change-feed row in one transaction.
pub mod entity;
pub mod migration;

use crate::domain::{CaseState, NewCase};
use entity::{case, party};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Cases, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::Db;
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::{Error, api::time, db::crud, db::idempotency};
use sea_orm::IntoActiveModel;

pub const OPEN_METHOD: &str = "OpenCase";

/// A case with its parties, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCase {
    pub case: case::Model,
    pub parties: Vec<String>,
}

/// The mediation service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The case an earlier request with this id opened, if any.
    pub async fn opened_by(&self, request_id: &RequestId, fingerprint: &str) -> Result<Option<StoredCase>, Error> {
        match idempotency::lookup(self.db.conn(), OPEN_METHOD, request_id, fingerprint).await? {
            Some(name) => Ok(Some(self.get_case(parse_stored(&name)?).await?)),
            None => Ok(None),
        }
    }

    pub async fn open_case(
        &self,
        new: NewCase,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredCase, Error> {
        let name = Name::<Cases>::generate();
        let now = time::now();
        let model = case::Model {
            id: name.key(),
            title: new.title,
            description: new.description,
            state: CaseState::Open.wire() as i32,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        let parties: Vec<String> = new.parties.iter().map(ToString::to_string).collect();
        let rows = parties.iter().enumerate().map(|(position, party)| {
            party::Model { case_id: model.id.clone(), position: position as i32, party: party.clone() }
                .into_active_model()
        });
        let mut inserts = vec![Insert::model(model.clone().into_active_model())];
        inserts.extend(Insert::models(rows));
        let stored = StoredCase { case: model, parties };
        inserts.push(liaison_runtime::db::resource::change(&stored, ChangeKind::Created));
        // The rows, the change and the idempotency key travel in one round trip (see `runtime::db::single_trip`).
        match single_trip::create_named(&self.db, OPEN_METHOD, request_id, fingerprint, &name, inserts).await? {
            None => Ok(stored),
            Some(existing) => self.get_case(existing).await,
        }
    }

    pub async fn get_case(&self, name: Name<Cases>) -> Result<StoredCase, Error> {
        let case = crud::find::<case::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        Ok(self.with_parties(vec![case]).await?.remove(0))
    }

    pub async fn list_cases(&self, after: Option<String>, limit: u64) -> Result<Vec<StoredCase>, Error> {
        let cases = crud::page::<case::Entity>(self.db.conn(), case::Column::Id, after, limit).await?;
        self.with_parties(cases).await
    }

    /// Attaches parties to cases with one query.
    async fn with_parties(&self, cases: Vec<case::Model>) -> Result<Vec<StoredCase>, Error> {
        let ids = cases.iter().map(|c| c.id.clone()).collect();
        let mut by_case = crud::children_of::<party::Entity, _>(
            self.db.conn(),
            party::Column::CaseId,
            party::Column::Position,
            ids,
            |row| row.case_id.clone(),
            |row| row.party,
        )
        .await?;
        Ok(cases
            .into_iter()
            .map(|case| {
                let parties = by_case.remove(&case.id).unwrap_or_default();
                StoredCase { case, parties }
            })
            .collect())
    }
}

fn parse_stored(name: &str) -> Result<Name<Cases>, Error> {
    Name::parse("stored name", name).map_err(|v| Error::Internal(v.description))
}
