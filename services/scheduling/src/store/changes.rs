//! Every change of a booked meeting — update, move, confirm, cancel, answer, complete, correct — goes through
//! [`Store::change_meeting`]: the meeting's row is locked, the rules build its next state from the current one, the
//! attendees who must be free are checked under their booking locks (as a create is), and the rows that differ
//! are rewritten with one change-feed entry, all in one transaction.
use super::{StoredMeeting, busy, entity, with_children};
use crate::domain::conflicts_error;
use entity::{action_item, agenda, link, meeting, participant};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::resource::{Revisioned, change, replace_if_unchanged};
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::{Error, api::time, db::crud, db::db_error, db::idempotency};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

/// What the rules of a change decided.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The meeting's next state; its revision and update time are stamped by the store.
    pub meeting: StoredMeeting,
    /// Attendees whose busy time in the next state must not overlap their other meetings (unless the request
    /// allows conflicts, in which case the rules leave this empty).
    pub check_conflicts: Vec<String>,
    /// Action items created with the change, each with its own change-feed entry.
    pub action_items: Vec<action_item::Model>,
    /// A meeting created with the change (the continuation of a split series), conflict-checked for its required
    /// attendees unless `check_created` is false.
    pub created: Option<StoredMeeting>,
    pub check_created: bool,
}

impl Changed {
    pub fn to(meeting: StoredMeeting) -> Self {
        Self { meeting, check_conflicts: Vec::new(), action_items: Vec::new(), created: None, check_created: false }
    }
}

/// An idempotency key to claim with the change.
pub struct Claim<'a> {
    pub method: &'static str,
    pub request_id: &'a RequestId,
    pub fingerprint: &'a str,
}

impl super::Store {
    /// Changes meeting `name` by `rules` (which see the current state and return the next, or `None` for no change)
    /// in one transaction: NOT_FOUND, ABORTED if `expected_revision` is set and stale; the rules' own refusals;
    /// MEETING_CONFLICT if an attendee the rules name is busy at the new time. Returns the meeting as stored and
    /// the action items created.
    pub async fn change_meeting(
        &self,
        name: Name<Meetings>,
        expected_revision: Option<i64>,
        claim: Option<Claim<'_>>,
        rules: impl FnOnce(&StoredMeeting) -> Result<Option<Changed>, Error>,
    ) -> Result<(StoredMeeting, Vec<action_item::Model>), Error> {
        let (stored, items, _) = self.change_meeting_creating(name, expected_revision, claim, rules).await?;
        Ok((stored, items))
    }

    /// [`Self::change_meeting`], returning also the meeting the change created, if any.
    pub async fn change_meeting_creating(
        &self,
        name: Name<Meetings>,
        expected_revision: Option<i64>,
        claim: Option<Claim<'_>>,
        rules: impl FnOnce(&StoredMeeting) -> Result<Option<Changed>, Error>,
    ) -> Result<(StoredMeeting, Vec<action_item::Model>, Option<StoredMeeting>), Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        // Locked first, so that concurrent changes of one meeting take turns.
        let row = crud::lock_row::<meeting::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        if expected_revision.is_some_and(|expected| expected != row.revision) {
            return Err(Error::Aborted { resource });
        }
        let current = with_children(&*txn, vec![row]).await?.remove(0);
        let Some(Changed { meeting: mut next, check_conflicts, action_items, created, check_created }) =
            rules(&current)?
        else {
            return Ok((current, Vec::new(), None));
        };
        // The booking locks of the attendees to check (and the request id) in one round trip, then the check.
        let created_busy = created.as_ref().map(StoredMeeting::busy).transpose()?.flatten();
        let created_check: Vec<String> = match (&created_busy, check_created) {
            (Some(busy), true) => busy.required.clone(),
            _ => Vec::new(),
        };
        let next_busy = next.busy()?;
        let mut locks = match &next_busy {
            Some(busy) => busy::booking_locks(&check_conflicts, &busy.intervals),
            None => busy::booking_locks(&check_conflicts, &[]),
        };
        if let Some(busy) = &created_busy {
            locks.extend(busy::booking_locks(&created_check, &busy.intervals));
        }
        let (method, request_id, fingerprint) = match &claim {
            Some(c) => (c.method, Some(c.request_id), c.fingerprint),
            None => ("", None, ""),
        };
        if idempotency::claim_with_locks(&*txn, method, request_id, fingerprint, &resource, &locks).await?.is_some() {
            // Another request with this id changed the meeting first; the caller answers with its result.
            return Err(Error::Aborted { resource });
        }
        if let Some(busy) = &next_busy
            && !check_conflicts.is_empty()
        {
            let conflicts = busy::overlapping(&*txn, &check_conflicts, &busy.intervals, Some(&next.meeting.id)).await?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts));
            }
        }
        if let Some(busy) = &created_busy
            && !created_check.is_empty()
        {
            // The changed meeting's own rows are rewritten below: they do not conflict with its continuation.
            let conflicts = busy::overlapping(&*txn, &created_check, &busy.intervals, Some(&next.meeting.id)).await?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts));
            }
        }
        let id = next.meeting.id.clone();
        let mut inserts = Vec::new();
        if current.busy()? != next_busy {
            busy::delete(&*txn, &id).await?;
            if let Some(busy) = &next_busy {
                inserts.extend(busy::insert(&id, busy));
            }
        }
        if current.attendees != next.attendees {
            delete_children::<participant::Entity>(&*txn, participant::Column::MeetingId, &id).await?;
            inserts.extend(Insert::models(next.attendees.iter().cloned().map(IntoActiveModel::into_active_model)));
        }
        if current.agenda != next.agenda {
            delete_children::<agenda::Entity>(&*txn, agenda::Column::MeetingId, &id).await?;
            inserts.extend(Insert::models(next.agenda.iter().cloned().map(IntoActiveModel::into_active_model)));
        }
        if current.links != next.links {
            delete_children::<link::Entity>(&*txn, link::Column::MeetingId, &id).await?;
            inserts.extend(Insert::models(next.link_rows().into_iter().map(IntoActiveModel::into_active_model)));
        }
        meeting::Entity::stamp(&mut next.meeting, current.meeting.revision + 1, time::now());
        replace_if_unchanged::<meeting::Entity>(&*txn, &resource, current.meeting.revision, next.meeting.clone())
            .await?;
        inserts.extend(Insert::models(action_items.iter().cloned().map(IntoActiveModel::into_active_model)));
        inserts.extend(action_items.iter().map(|item| change(item, ChangeKind::Created)));
        inserts.push(change(&next, ChangeKind::Updated));
        if let Some(created) = &created {
            inserts.push(Insert::model(created.meeting.clone().into_active_model()));
            inserts.extend(Insert::models(created.attendees.iter().cloned().map(IntoActiveModel::into_active_model)));
            inserts.extend(Insert::models(created.agenda.iter().cloned().map(IntoActiveModel::into_active_model)));
            inserts.extend(Insert::models(created.link_rows().into_iter().map(IntoActiveModel::into_active_model)));
            if let Some(busy) = &created_busy {
                inserts.extend(busy::insert(&created.meeting.id, busy));
            }
            inserts.push(change(created, ChangeKind::Created));
        }
        Insert::execute_all(&*txn, inserts).await?;
        txn.commit().await?;
        Ok((next, action_items, created))
    }
}

async fn delete_children<E: EntityTrait>(
    conn: &impl sea_orm::ConnectionTrait,
    column: E::Column,
    meeting_id: &str,
) -> Result<(), Error> {
    E::delete_many().filter(column.eq(meeting_id)).exec(conn).await.map_err(db_error)?;
    Ok(())
}

impl super::Store {
    /// Deletes meeting `name` with its rows and busy times, if it is still at `expected_revision` (when set) and
    /// `allowed` accepts it; its change carries its last state.
    pub async fn delete_meeting(
        &self,
        name: Name<Meetings>,
        expected_revision: Option<i64>,
        allowed: impl FnOnce(&StoredMeeting) -> Result<(), Error>,
    ) -> Result<StoredMeeting, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let row = crud::lock_row::<meeting::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        if expected_revision.is_some_and(|expected| expected != row.revision) {
            return Err(Error::Aborted { resource });
        }
        let current = with_children(&*txn, vec![row]).await?.remove(0);
        allowed(&current)?;
        let id = current.meeting.id.clone();
        // Children first: foreign keys need not be enforced (SQLite's are off unless asked for).
        busy::delete(&*txn, &id).await?;
        delete_children::<participant::Entity>(&*txn, participant::Column::MeetingId, &id).await?;
        delete_children::<agenda::Entity>(&*txn, agenda::Column::MeetingId, &id).await?;
        delete_children::<link::Entity>(&*txn, link::Column::MeetingId, &id).await?;
        liaison_runtime::db::resource::delete_if_unchanged::<meeting::Entity>(&*txn, &resource, &current.meeting)
            .await?;
        change(&current, ChangeKind::Deleted).execute(&*txn).await?;
        txn.commit().await?;
        Ok(current)
    }
}
