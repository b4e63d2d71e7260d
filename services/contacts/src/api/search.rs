//! Contact search: the ranked hits of the store, a page at a time, with the contacts read through the cache.
use super::ContactsApi;
use crate::domain::search::{Hit, Query};
use liaison_proto::contacts::v1::*;
use liaison_runtime::{Error, Validate, api::paging};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub(super) async fn search_contacts(
    api: &ContactsApi,
    request: Request<SearchContactsRequest>,
) -> Result<Response<SearchContactsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("SearchContacts?q={}", request.query);
    let (query, page) =
        (Query::parse("query", &request.query), paging::parse(request.page_size, &request.page_token, &scope))
            .validate()?;
    // Ranked results page by position: the token holds the offset of the next result.
    let offset: usize = match page.after.as_deref().map(str::parse) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => return Err(Error::invalid("page_token", "is not a token of this search").into()),
    };
    let hits = ranked_hits(api, &query).await?;
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let page_end = offset.saturating_add(size).min(hits.len());
    let page_hits = hits.get(offset..page_end).unwrap_or_default();
    let ids: Vec<String> = page_hits.iter().map(|(id, _)| id.clone()).collect();
    let contacts = api.contacts_by_id(&ids).await?;
    // A page stops at its size or at PAGE_MAX_BYTES, whichever comes first; the token resumes after the last hit
    // sent (hits whose contact is gone since the ranking are passed over).
    let (positions, mut results): (Vec<usize>, Vec<SearchContactsResult>) = page_hits
        .iter()
        .zip(contacts)
        .enumerate()
        .filter_map(|(position, ((_, hit), contact))| {
            let result = SearchContactsResult {
                contact: Some(contact?),
                score: hit.score,
                matched_fields: hit.matched_fields.iter().map(|f| (*f).to_owned()).collect(),
            };
            Some((position, result))
        })
        .unzip();
    let sent = paging::fitting(&results);
    let end = positions.get(sent).map_or(page_end, |left_out| offset + left_out);
    results.truncate(sent);
    let next_page_token = if end < hits.len() { paging::next_token(&scope, &end.to_string()) } else { String::new() };
    Ok(Response::new(SearchContactsResponse { results, next_page_token }))
}

/// The ranked hits of `query`: computed once per write epoch (each page is cut from them, rather than every page
/// ranking the candidates again), in a turn among the expensive reads.
async fn ranked_hits(api: &ContactsApi, query: &Query) -> Result<Arc<Vec<(String, Hit)>>, Error> {
    let key = query.words().join(" ");
    if let Some(hits) = api.searches.get(&key) {
        return Ok(hits);
    }
    let _turn = api.expensive.turn("SearchContacts").await?;
    if let Some(hits) = api.searches.get(&key) {
        return Ok(hits);
    }
    let epoch = api.searches.epoch();
    let hits = Arc::new(api.store.search_contacts(query).await?);
    api.searches.fill(key, epoch, Arc::clone(&hits));
    Ok(hits)
}
