//! Contact search: the ranked hits of the store, a page at a time, with the contacts read through the cache.
//!
//! A page token holds the score and id of the last hit sent, not a position: the next page starts after that
//! place in the ranking, so hits that appear or vanish between pages (a write in between ranks again) neither
//! repeat nor skip the others.
use super::ContactsApi;
use crate::domain::search::{Hit, MatchKind, Query};
use crate::resource;
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
    let (hits, page) =
        ranked_page(api, Of::Contacts, &scope, &request.query, request.page_size, &request.page_token).await?;
    let page_hits = hits.get(page.clone()).unwrap_or_default();
    let ids: Vec<String> = page_hits.iter().map(|(id, _)| id.clone()).collect();
    let contacts = api.contacts_by_id(&ids).await?;
    let found = page_hits.iter().zip(contacts).filter_map(|(hit, contact)| Some((hit, result(contact?, &hit.1))));
    let (results, next_page_token) = cut(found, &hits, page, &scope);
    Ok(Response::new(SearchContactsResponse { results, next_page_token }))
}

pub(super) async fn search_organizations(
    api: &ContactsApi,
    request: Request<SearchOrganizationsRequest>,
) -> Result<Response<SearchOrganizationsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("SearchOrganizations?q={}", request.query);
    let (hits, page) =
        ranked_page(api, Of::Organizations, &scope, &request.query, request.page_size, &request.page_token).await?;
    let page_hits = hits.get(page.clone()).unwrap_or_default();
    let ids: Vec<String> = page_hits.iter().map(|(id, _)| id.clone()).collect();
    let organizations: std::collections::HashMap<String, crate::store::entity::organization::Model> =
        api.store.organizations_by_id(ids).await?.into_iter().map(|m| (m.id.clone(), m)).collect();
    let found = page_hits.iter().filter_map(|hit| {
        let organization = organizations.get(&hit.0)?;
        Some((
            hit,
            SearchOrganizationsResult {
                organization: Some(resource::organization(organization)),
                score: hit.1.score,
                matches: matches(&hit.1),
            },
        ))
    });
    let (results, next_page_token) = cut(found, &hits, page, &scope);
    Ok(Response::new(SearchOrganizationsResponse { results, next_page_token }))
}

/// What a search looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Of {
    Contacts,
    Organizations,
}

/// The whole ranking of the query and the positions of the page asked for in it.
async fn ranked_page(
    api: &ContactsApi,
    of: Of,
    scope: &str,
    query: &str,
    page_size: Option<i32>,
    page_token: &str,
) -> Result<(Arc<Vec<(String, Hit)>>, std::ops::Range<usize>), Error> {
    let (query, page) = (Query::parse("query", query), paging::parse(page_size, page_token, scope)).validate()?;
    let after = match page.after.as_deref() {
        None => None,
        Some(token) => Some(place(token).ok_or_else(|| Error::invalid("page_token", "is not a token of this search"))?),
    };
    let hits = ranked_hits(api, of, &query).await?;
    let start = match &after {
        None => 0,
        Some((score, id)) => hits.partition_point(|(hit_id, hit)| {
            hit.score > *score || (hit.score == *score && hit_id.as_str() <= id.as_str())
        }),
    };
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let end = start.saturating_add(size).min(hits.len());
    Ok((hits, start..end))
}

/// The results of a page (those whose subject still exists), cut to PAGE_MAX_BYTES, and the token of the next:
/// it resumes after the last hit sent.
fn cut<'h, R: prost::Message>(
    found: impl Iterator<Item = (&'h (String, Hit), R)>,
    hits: &'h [(String, Hit)],
    page: std::ops::Range<usize>,
    scope: &str,
) -> (Vec<R>, String) {
    let (sent_hits, mut results): (Vec<&(String, Hit)>, Vec<R>) = found.unzip();
    let sent = paging::fitting(&results);
    results.truncate(sent);
    let last = match sent.checked_sub(1).and_then(|i| sent_hits.get(i)) {
        Some(last) => Some(*last),
        None => hits.get(page.clone()).and_then(<[_]>::last),
    };
    let more = sent < sent_hits.len() || page.end < hits.len();
    let next_page_token = match last {
        Some((id, hit)) if more => paging::next_token(scope, &format!("{}:{id}", hit.score)),
        _ => String::new(),
    };
    (results, next_page_token)
}

/// The score and id a page token resumes after.
fn place(token: &str) -> Option<(f64, String)> {
    let (score, id) = token.split_once(':')?;
    Some((score.parse().ok().filter(|s: &f64| s.is_finite())?, id.to_owned()))
}

fn result(contact: Contact, hit: &Hit) -> SearchContactsResult {
    SearchContactsResult {
        contact: Some(contact),
        score: hit.score,
        matched_fields: hit.matched_fields().into_iter().map(str::to_owned).collect(),
        matches: matches(hit),
    }
}

/// How each word of the query matched, on the wire.
fn matches(hit: &Hit) -> Vec<SearchMatch> {
    hit.matches
        .iter()
        .map(|m| SearchMatch {
            word: m.word.clone(),
            field: m.field.name().to_owned(),
            kind: match m.kind {
                MatchKind::Exact => SearchMatchKind::Exact,
                MatchKind::Prefix => SearchMatchKind::Prefix,
                MatchKind::Typo => SearchMatchKind::Typo,
            }
            .into(),
            term: m.term.clone(),
        })
        .collect()
}

/// The ranked hits of `query`: computed once per write epoch (each page is cut from them, rather than every page
/// ranking the candidates again), in a turn among the expensive reads.
async fn ranked_hits(api: &ContactsApi, of: Of, query: &Query) -> Result<Arc<Vec<(String, Hit)>>, Error> {
    let key = format!("{of:?}:{}", query.words().join(" "));
    if let Some(hits) = api.searches.get(&key) {
        return Ok(hits);
    }
    let _turn = api.expensive.turn("SearchContacts").await?;
    if let Some(hits) = api.searches.get(&key) {
        return Ok(hits);
    }
    let epoch = api.searches.epoch();
    let hits = Arc::new(match of {
        Of::Contacts => api.store.search_contacts(query).await?,
        Of::Organizations => api.store.search_organizations(query).await?,
    });
    api.searches.fill(key, epoch, Arc::clone(&hits));
    Ok(hits)
}
