//! The scheduling database: meetings and their participants, each mutation with its change-feed row in one
//! transaction.
pub mod entity;
pub mod migration;

use crate::domain::NewMeeting;
use entity::{meeting, participant};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::Db;
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::{Error, api::time, db::crud, db::idempotency};
use sea_orm::IntoActiveModel;

pub const CREATE_METHOD: &str = "CreateMeeting";

/// A meeting with its participants, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeeting {
    pub meeting: meeting::Model,
    pub participants: Vec<String>,
}

/// The scheduling service's data.
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

    /// The meeting an earlier request with this id created, if any.
    pub async fn created_by(&self, request_id: &RequestId, fingerprint: &str) -> Result<Option<StoredMeeting>, Error> {
        match idempotency::lookup(self.db.conn(), CREATE_METHOD, request_id, fingerprint).await? {
            Some(name) => Ok(Some(self.get_meeting(parse_stored(&name)?).await?)),
            None => Ok(None),
        }
    }

    pub async fn create_meeting(
        &self,
        new: NewMeeting,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredMeeting, Error> {
        let name = Name::<Meetings>::generate();
        let now = time::now();
        let model = meeting::Model {
            id: name.key(),
            title: new.title,
            start_time: new.start,
            end_time: new.end,
            time_zone: new.time_zone.name().to_owned(),
            revision: 1,
            create_time: now,
            update_time: now,
        };
        let participants: Vec<String> = new.participants.iter().map(ToString::to_string).collect();
        let rows = participants.iter().enumerate().map(|(position, contact)| {
            participant::Model { meeting_id: model.id.clone(), position: position as i32, contact: contact.clone() }
                .into_active_model()
        });
        let mut inserts = vec![Insert::model(model.clone().into_active_model())];
        inserts.extend(Insert::models(rows));
        let stored = StoredMeeting { meeting: model, participants };
        inserts.push(liaison_runtime::db::resource::change(&stored, ChangeKind::Created));
        // The rows, the change and the idempotency key travel in one round trip (see `runtime::db::single_trip`).
        match single_trip::create_named(&self.db, CREATE_METHOD, request_id, fingerprint, &name, inserts).await? {
            None => Ok(stored),
            Some(existing) => self.get_meeting(existing).await,
        }
    }

    pub async fn get_meeting(&self, name: Name<Meetings>) -> Result<StoredMeeting, Error> {
        let meeting = crud::find::<meeting::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        Ok(self.with_participants(vec![meeting]).await?.remove(0))
    }

    pub async fn list_meetings(&self, after: Option<String>, limit: u64) -> Result<Vec<StoredMeeting>, Error> {
        let meetings = crud::page::<meeting::Entity>(self.db.conn(), meeting::Column::Id, after, limit).await?;
        self.with_participants(meetings).await
    }

    /// Attaches participants to meetings with one query.
    async fn with_participants(&self, meetings: Vec<meeting::Model>) -> Result<Vec<StoredMeeting>, Error> {
        let ids = meetings.iter().map(|m| m.id.clone()).collect();
        let mut by_meeting = crud::children_of::<participant::Entity, _>(
            self.db.conn(),
            participant::Column::MeetingId,
            participant::Column::Position,
            ids,
            |row| row.meeting_id.clone(),
            |row| row.contact,
        )
        .await?;
        Ok(meetings
            .into_iter()
            .map(|meeting| {
                let participants = by_meeting.remove(&meeting.id).unwrap_or_default();
                StoredMeeting { meeting, participants }
            })
            .collect())
    }
}

fn parse_stored(name: &str) -> Result<Name<Meetings>, Error> {
    Name::parse("stored name", name).map_err(|v| Error::Internal(v.description))
}
