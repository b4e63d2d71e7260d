//! The scheduling database: meetings and their participants, each mutation with its change-feed row in one
//! transaction.
mod busy;
pub mod entity;
pub mod migration;

use crate::domain::{NewMeeting, conflicts_error};
use entity::{meeting, participant};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::Db;
use liaison_runtime::db::single_trip::Insert;
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

    /// Creates the meeting unless a participant is already in another meeting then (or `allow_conflicts`). The
    /// check and the write hold each participant's booking lock (a transaction-level lock on PostgreSQL, the
    /// write gate on SQLite), so two racing bookings of one person for one slot cannot both pass the check.
    pub async fn create_meeting(
        &self,
        new: NewMeeting,
        allow_conflicts: bool,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredMeeting, Error> {
        let name = Name::<Meetings>::generate();
        let participants: Vec<String> = new.participants.iter().map(ToString::to_string).collect();
        let lock_keys: Vec<String> = participants.iter().map(|p| format!("booking:{p}")).collect();
        let txn = self.db.begin_write().await?;
        let resource_name = name.to_string();
        // The request id is claimed and the participants' booking locks taken in one round trip.
        if let Some(existing) =
            idempotency::claim_with_locks(&*txn, CREATE_METHOD, request_id, fingerprint, &resource_name, &lock_keys)
                .await?
        {
            drop(txn);
            return self.get_meeting(parse_stored(&existing)?).await;
        }
        if !allow_conflicts {
            let conflicts = busy::overlapping(&*txn, &participants, new.start, new.end).await?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts));
            }
        }
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
        let rows = participants.iter().enumerate().map(|(position, contact)| {
            participant::Model { meeting_id: model.id.clone(), position: position as i32, contact: contact.clone() }
                .into_active_model()
        });
        let mut inserts = vec![Insert::model(model.clone().into_active_model())];
        inserts.extend(Insert::models(rows));
        inserts.push(busy::insert(&model.id, &participants, model.start_time, model.end_time));
        let stored = StoredMeeting { meeting: model, participants };
        inserts.push(liaison_runtime::db::resource::change(&stored, ChangeKind::Created));
        // The rows go in one round trip: on PostgreSQL each costs as much as the write itself.
        Insert::execute_all(&*txn, inserts).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Each participant's busy times overlapping `[start, end)`, in the order asked: one index range scan per
    /// participant.
    pub async fn busy_between(
        &self,
        participants: &[String],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Vec<crate::domain::availability::Busy>>, Error> {
        busy::between(self.db.conn(), participants, start, end).await
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
