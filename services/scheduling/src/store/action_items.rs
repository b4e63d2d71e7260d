//! Action items: created alone or with the meeting that produced them (see `changes`), listed by owner, source
//! meeting, state and due time through their indexes, changed with a revision check.
use super::entity::action_item;
use crate::domain::action_item::State;
use crate::domain::lifecycle::NewActionItem;
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{ActionItems, Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::resource::update;
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::{Error, api::time, db::crud};
use sea_orm::{ColumnTrait, Condition, IntoActiveModel};

pub const CREATE_METHOD: &str = "CreateActionItem";

/// ListActionItems' filters; each one set narrows the list (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionItemFilter {
    pub owner: Option<String>,
    pub meeting_id: Option<String>,
    pub state: Option<State>,
    /// Open and due before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
}

impl ActionItemFilter {
    fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(owner) = &self.owner {
            condition = condition.add(action_item::Column::Owner.eq(owner.as_str()));
        }
        if let Some(meeting) = &self.meeting_id {
            condition = condition.add(action_item::Column::MeetingId.eq(meeting.as_str()));
        }
        if let Some(state) = self.state {
            condition = condition.add(action_item::Column::State.eq(state.as_str()));
        }
        if let Some(now) = self.overdue_at {
            condition = condition
                .add(action_item::Column::State.eq(State::Open.as_str()))
                .add(action_item::Column::DueTime.lt(now));
        }
        condition
    }
}

/// The rows of new action items from `meeting_id` (if any), in the order given.
pub fn new_rows(items: Vec<NewActionItem>, meeting_id: Option<&str>) -> Vec<action_item::Model> {
    let now = time::now();
    items
        .into_iter()
        .enumerate()
        .map(|(position, item)| action_item::Model {
            id: Name::<ActionItems>::generate().key(),
            description: item.description,
            owner: item.owner.to_string(),
            due_time: item.due,
            meeting_id: meeting_id.map(str::to_owned),
            position: position as i32,
            state: State::Open.as_str().to_owned(),
            completion_note: String::new(),
            close_time: None,
            revision: 1,
            create_time: now,
            update_time: now,
        })
        .collect()
}

impl super::Store {
    /// Creates one action item (its source meeting, if any, checked to exist by the caller).
    pub async fn create_action_item(
        &self,
        row: action_item::Model,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<action_item::Model, Error> {
        let name = Name::<ActionItems>::parse("id", &format!("actionItems/{}", row.id))
            .map_err(|v| Error::Internal(v.description))?;
        let inserts = vec![Insert::model(row.clone().into_active_model()), change_of(&row)];
        match single_trip::create_named(&self.db, CREATE_METHOD, request_id, fingerprint, &name, inserts).await? {
            Some(existing) => self.get_action_item(existing).await,
            None => Ok(row),
        }
    }

    pub async fn get_action_item(&self, name: Name<ActionItems>) -> Result<action_item::Model, Error> {
        crud::find::<action_item::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    pub async fn list_action_items(
        &self,
        filter: &ActionItemFilter,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<action_item::Model>, Error> {
        crud::page_where::<action_item::Entity>(
            self.db.conn(),
            action_item::Column::Id,
            filter.condition(),
            after,
            limit,
        )
        .await
    }

    /// The action items a meeting produced, in the order given.
    pub async fn action_items_of(&self, meeting: Name<Meetings>) -> Result<Vec<action_item::Model>, Error> {
        let mut items = self
            .list_action_items(
                &ActionItemFilter { meeting_id: Some(meeting.key()), ..Default::default() },
                None,
                crate::domain::lifecycle::ACTION_ITEMS_MAX as u64 + 1,
            )
            .await?;
        items.sort_by_key(|item| item.position);
        Ok(items)
    }

    /// Changes an action item by `rules` if it is still at `expected_revision` (when set), with its change.
    pub async fn update_action_item(
        &self,
        name: Name<ActionItems>,
        expected_revision: Option<i64>,
        rules: impl FnOnce(&action_item::Model) -> Result<action_item::Model, Error>,
    ) -> Result<action_item::Model, Error> {
        let txn = self.db.begin_write().await?;
        let updated =
            update::<action_item::Entity, _>(&*txn, name, expected_revision, async |current| rules(current)).await?;
        txn.commit().await?;
        Ok(updated)
    }
}

fn change_of(row: &action_item::Model) -> Insert {
    liaison_runtime::db::resource::change(row, ChangeKind::Created)
}
