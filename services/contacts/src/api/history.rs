//! Field-level history of a contact: its changes in the feed, each diffed against the state before it.
use super::ContactsApi;
use crate::domain::history;
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::{Error, Validate, api::paging};
use prost::Message;
use tonic::{Request, Response, Status};

pub(super) async fn list_contact_history(
    api: &ContactsApi,
    request: Request<ListContactHistoryRequest>,
) -> Result<Response<ListContactHistoryResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("ListContactHistory/{}", request.name);
    let (name, page) =
        (Name::<Contacts>::parse("name", &request.name), paging::parse(request.page_size, &request.page_token, &scope))
            .validate()?;
    let after: i64 = match page.after.as_deref().map(str::parse) {
        None => 0,
        Some(Ok(after)) => after,
        Some(Err(_)) => return Err(Error::invalid("page_token", "is not a token of this history").into()),
    };
    // The change before the page is read too, so that the first entry of the page can be diffed against it.
    let previous = if after == 0 { Vec::new() } else { api.store.contact_changes(name, after - 1, 1).await? };
    let changes = api.store.contact_changes(name, after, page.size + 1).await?;
    let decode = |change: &liaison_proto::common::v1::Change| {
        change.resource.as_ref().and_then(|any| Contact::decode(any.value.as_slice()).ok())
    };
    let mut before = previous.iter().filter(|c| c.sequence == after).find_map(decode);
    // Every change read (the probe row too) becomes its entry; the page then stops at its size or its bytes.
    let mut entries = Vec::with_capacity(changes.len());
    for change in &changes {
        // A change whose resource does not decode is still a change: listed, with no fields to show.
        let state = decode(change);
        let field_changes = state.as_ref().map(|state| history::diff(before.as_ref(), state)).unwrap_or_default();
        entries.push(ContactHistoryEntry {
            sequence: change.sequence,
            change_time: change.change_time,
            actor: if change.actor.is_empty() { "anonymous".to_owned() } else { change.actor.clone() },
            kind: change.kind,
            field_changes,
        });
        if state.is_some() {
            before = state;
        }
    }
    let (entries, next_page_token) =
        paging::page(entries, page.size, &scope, |entry| entry.sequence.to_string(), ContactHistoryEntry::clone);
    Ok(Response::new(ListContactHistoryResponse { entries, next_page_token }))
}
