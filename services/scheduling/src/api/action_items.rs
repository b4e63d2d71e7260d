//! Action items: CreateActionItem, GetActionItem, ListActionItems, UpdateActionItem and SetActionItemState. Owners
//! are checked with contacts (one call) whenever they are set.
use super::{SchedulingApi, check_contacts};
use crate::domain::action_item::{State, StateChange};
use crate::domain::lifecycle::{DESCRIPTION_MAX, NewActionItem, precondition};
use crate::resource;
use crate::store::action_items::{ActionItemFilter, new_rows};
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{ActionItems, Contacts, Meetings, Name};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{RequestId, required_text};
use liaison_runtime::api::{etag, paging, time};
use liaison_runtime::db::idempotency;
use liaison_runtime::{Error, Validate};

const UPDATABLE: &[&str] = &["description", "owner", "due_time"];

impl SchedulingApi {
    pub(super) async fn create_action_item(
        &self,
        request: CreateActionItemRequest,
    ) -> Result<CreateActionItemResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let item = request.action_item.clone().unwrap_or_default();
        let meeting = (!item.meeting.is_empty())
            .then(|| Name::<Meetings>::parse("action_item.meeting", &item.meeting))
            .transpose();
        let (new, meeting, request_id) = (
            NewActionItem::parse("action_item", &item.description, &item.owner, item.due_time.as_ref()),
            meeting,
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        if let Some(meeting) = meeting {
            self.store.get_meeting(meeting).await?;
        }
        check_contacts(&self.contacts, &[new.owner], true).await?;
        let row = new_rows(vec![new], meeting.map(|m| m.key()).as_deref()).remove(0);
        let stored = self.store.create_action_item(row, request_id.as_ref(), &fingerprint).await?;
        Ok(CreateActionItemResponse { action_item: Some(resource::action_item(&stored)) })
    }

    pub(super) async fn get_action_item(&self, request: GetActionItemRequest) -> Result<GetActionItemResponse, Error> {
        let name = Name::<ActionItems>::parse("name", &request.name).map_err(Error::from_violation)?;
        let stored = self.store.get_action_item(name).await?;
        Ok(GetActionItemResponse { action_item: Some(resource::action_item(&stored)) })
    }

    pub(super) async fn list_action_items(
        &self,
        request: ListActionItemsRequest,
    ) -> Result<ListActionItemsResponse, Error> {
        let scope = format!("ListActionItems?{:?}", (&request.owner, &request.meeting, request.state, request.overdue));
        let (page, owner, meeting, state) = (
            paging::parse(request.page_size, &request.page_token, &scope),
            (!request.owner.is_empty()).then(|| Name::<Contacts>::parse("owner", &request.owner)).transpose(),
            (!request.meeting.is_empty()).then(|| Name::<Meetings>::parse("meeting", &request.meeting)).transpose(),
            State::from_wire("state", request.state, true),
        )
            .validate()?;
        let filter = ActionItemFilter {
            owner: owner.map(|o| o.to_string()),
            meeting_id: meeting.map(|m| m.key()),
            state,
            overdue_at: request.overdue.then(time::now),
        };
        let items = self.store.list_action_items(&filter, page.after, page.size + 1).await?;
        let (action_items, next_page_token) =
            paging::page(items, page.size, &scope, |item| item.id.clone(), resource::action_item);
        Ok(ListActionItemsResponse { action_items, next_page_token })
    }

    pub(super) async fn update_action_item(
        &self,
        request: UpdateActionItemRequest,
    ) -> Result<UpdateActionItemResponse, Error> {
        let asked = request.action_item.clone().unwrap_or_default();
        let (name, expected, mask) = (
            Name::<ActionItems>::parse("action_item.name", &asked.name),
            etag::parse_expected("action_item.etag", &asked.etag),
            UpdateMask::parse("update_mask", request.update_mask.as_ref(), &asked, UPDATABLE),
        )
            .validate()?;
        let when = |path: &str| mask.contains(path);
        let (description, owner, due) = (
            when("description")
                .then(|| required_text("action_item.description", &asked.description, DESCRIPTION_MAX))
                .transpose(),
            when("owner").then(|| Name::<Contacts>::parse("action_item.owner", &asked.owner)).transpose(),
            when("due_time")
                .then(|| asked.due_time.as_ref().map(|t| from_timestamp("action_item.due_time", Some(t))).transpose())
                .transpose(),
        )
            .validate()?;
        if let Some(owner) = owner {
            check_contacts(&self.contacts, &[owner], true).await?;
        }
        let stored = self
            .store
            .update_action_item(name, expected, |current| {
                if current.state != State::Open.as_str() {
                    return Err(precondition(
                        "ACTION_ITEM_CLOSED",
                        &name.to_string(),
                        format!("{name} is {}: reopen it to change it", current.state),
                    ));
                }
                let mut next = current.clone();
                if let Some(description) = description {
                    next.description = description;
                }
                if let Some(owner) = owner {
                    next.owner = owner.to_string();
                }
                if let Some(due) = due {
                    next.due_time = due;
                }
                Ok(next)
            })
            .await?;
        Ok(UpdateActionItemResponse { action_item: Some(resource::action_item(&stored)) })
    }

    pub(super) async fn set_action_item_state(
        &self,
        request: SetActionItemStateRequest,
    ) -> Result<SetActionItemStateResponse, Error> {
        let (name, change, expected) = (
            Name::<ActionItems>::parse("name", &request.name),
            StateChange::parse(request.state, &request.note),
            etag::parse_expected("etag", &request.etag),
        )
            .validate()?;
        let stored = self
            .store
            .update_action_item(name, expected, |current| {
                let mut next = current.clone();
                next.state = change.state.as_str().to_owned();
                match change.state {
                    State::Open if current.state == State::Open.as_str() => {
                        return Err(precondition(
                            "ACTION_ITEM_OPEN",
                            &name.to_string(),
                            format!("{name} is open already"),
                        ));
                    }
                    State::Open => {
                        next.close_time = None;
                        next.completion_note = change.note;
                    }
                    State::Done | State::Cancelled => {
                        if current.state != State::Open.as_str() {
                            return Err(precondition(
                                "ACTION_ITEM_CLOSED",
                                &name.to_string(),
                                format!("{name} is already {}: reopen it first", current.state),
                            ));
                        }
                        next.close_time = Some(time::now());
                        next.completion_note = change.note;
                    }
                }
                Ok(next)
            })
            .await?;
        Ok(SetActionItemStateResponse { action_item: Some(resource::action_item(&stored)) })
    }
}
