//! Every change of a booked meeting — update, move, confirm, cancel, answer, complete, correct — goes through
//! [`Store::change_meeting`]: the meeting's row is locked, the rules build its next state from the current one, the
//! attendees who must be free are checked under their booking locks (as a create is), and the rows that differ
//! are rewritten with one change-feed entry, all in one transaction.
use super::{StoredMeeting, busy, entity, with_children};
use crate::domain::{Status, conflicts_error};
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
}

impl Changed {
    pub fn to(meeting: StoredMeeting) -> Self {
        Self { meeting, check_conflicts: Vec::new(), action_items: Vec::new() }
    }
}

/// An idempotency key to claim with the change.
pub struct Claim<'a> {
    pub method: &'static str,
    pub request_id: &'a RequestId,
    pub fingerprint: &'a str,
}

/// Who is busy when for a meeting: its required attendees, over the meeting with its buffers, as a hold or not —
/// nobody when its status keeps no one busy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BusyTime {
    required: Vec<String>,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    tentative: bool,
}

fn busy_of(stored: &StoredMeeting) -> Option<BusyTime> {
    let m = &stored.meeting;
    let status = Status::from_stored(&m.status)?;
    if !status.is_busy() {
        return None;
    }
    Some(BusyTime {
        required: stored.attendees.iter().filter(|a| !a.optional).map(|a| a.contact.clone()).collect(),
        start: m.start_time - chrono::TimeDelta::seconds(m.buffer_before_seconds),
        end: m.end_time + chrono::TimeDelta::seconds(m.buffer_after_seconds),
        tentative: status == Status::Tentative,
    })
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
        let Some(Changed { meeting: mut next, check_conflicts, action_items }) = rules(&current)? else {
            return Ok((current, Vec::new()));
        };
        // The booking locks of the attendees to check (and the request id) in one round trip, then the check.
        let lock_keys: Vec<String> = check_conflicts.iter().map(|p| format!("booking:{p}")).collect();
        let (method, request_id, fingerprint) = match &claim {
            Some(c) => (c.method, Some(c.request_id), c.fingerprint),
            None => ("", None, ""),
        };
        if idempotency::claim_with_locks(&*txn, method, request_id, fingerprint, &resource, &lock_keys).await?.is_some()
        {
            // Another request with this id changed the meeting first; the caller answers with its result.
            return Err(Error::Aborted { resource });
        }
        let next_busy = busy_of(&next);
        if let Some(busy) = &next_busy
            && !check_conflicts.is_empty()
        {
            let conflicts =
                busy::overlapping(&*txn, &check_conflicts, busy.start, busy.end, Some(&next.meeting.id)).await?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts));
            }
        }
        let id = next.meeting.id.clone();
        let mut inserts = Vec::new();
        if busy_of(&current) != next_busy {
            busy::delete(&*txn, &id).await?;
            if let Some(busy) = &next_busy {
                inserts.extend(busy::insert(&id, &busy.required, busy.start, busy.end, busy.tentative));
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
        Insert::execute_all(&*txn, inserts).await?;
        txn.commit().await?;
        Ok((next, action_items))
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
