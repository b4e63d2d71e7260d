//! Duplicate detection: the pairs of contacts that are probably the same person, above a threshold, a page at a
//! time.
use super::ContactsApi;
use crate::domain::duplicates::{self, Pair};
use crate::resource;
use liaison_proto::contacts::v1::*;
use liaison_runtime::{Error, FieldViolation, Validate, api::paging};
use tonic::{Request, Response, Status};

/// The threshold when a request leaves `min_score` unset (or 0).
const DEFAULT_MIN_SCORE: f64 = 0.5;

/// `min_score` in millionths: 0 (unset) means the default, anything outside 0..=1 is refused.
fn min_score(value: f64) -> Result<u32, FieldViolation> {
    if !value.is_finite() || !(0.0..=1.0).contains(&value) {
        return Err(FieldViolation::new("min_score", format!("must be between 0 and 1 (got {value})")));
    }
    Ok(duplicates::micros(if value == 0.0 { DEFAULT_MIN_SCORE } else { value }))
}

fn wire_pair(pair: &Pair) -> DuplicatePair {
    DuplicatePair {
        contact: resource::contact_name(&pair.contact),
        duplicate: resource::contact_name(&pair.duplicate),
        score: pair.score(),
        evidence: pair
            .evidence
            .iter()
            .map(|e| DuplicateEvidence { reason: e.reason.to_wire(), detail: e.detail.clone() })
            .collect(),
    }
}

pub(super) async fn find_duplicate_contacts(
    api: &ContactsApi,
    request: Request<FindDuplicateContactsRequest>,
) -> Result<Response<FindDuplicateContactsResponse>, Status> {
    let request = request.into_inner();
    let threshold = min_score(request.min_score);
    // A token is valid only with the threshold it was issued for.
    let scope =
        format!("FindDuplicateContacts?min_score={}", threshold.as_ref().map(u32::to_string).unwrap_or_default());
    let (threshold, page) = (threshold, paging::parse(request.page_size, &request.page_token, &scope)).validate()?;
    let pairs = all_pairs(api).await?;
    let page_pairs: Vec<Pair> = pairs
        .iter()
        .filter(|p| p.score_micros >= threshold)
        .filter(|p| page.after.as_ref().is_none_or(|after| p.sort_key() > *after))
        .take(page.size as usize + 1)
        .cloned()
        .collect();
    let (pairs, next_page_token) = paging::page(page_pairs, page.size, &scope, Pair::sort_key, wire_pair);
    Ok(Response::new(FindDuplicateContactsResponse { pairs, next_page_token }))
}

/// Every duplicate pair of the register, in page order: computed once per write epoch (every page of every
/// threshold is cut from the same list), in a turn among the expensive reads and off the async workers.
async fn all_pairs(api: &ContactsApi) -> Result<std::sync::Arc<Vec<Pair>>, Error> {
    const KEY: &str = "all";
    if let Some(pairs) = api.duplicates.get(KEY) {
        return Ok(pairs);
    }
    let _turn = api.expensive.turn("FindDuplicateContacts").await?;
    // Another call may have computed them while this one waited for its turn.
    if let Some(pairs) = api.duplicates.get(KEY) {
        return Ok(pairs);
    }
    let epoch = api.duplicates.epoch();
    let (people, shared) = api.store.duplicate_candidates().await?;
    let pairs = tokio::task::spawn_blocking(move || duplicates::find(&people, &shared))
        .await
        .map_err(|e| Error::Internal(format!("duplicate detection failed: {e}")))?;
    let pairs = std::sync::Arc::new(pairs);
    api.duplicates.fill(KEY.to_owned(), epoch, std::sync::Arc::clone(&pairs));
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_score_defaults_to_one_half_and_must_be_within_zero_and_one() {
        assert_eq!(min_score(0.0), Ok(500_000));
        assert_eq!(min_score(0.75), Ok(750_000));
        assert_eq!(min_score(1.0), Ok(1_000_000));
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(min_score(bad).map_err(|v| v.field), Err("min_score".to_owned()));
        }
    }
}
