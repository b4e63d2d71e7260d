//! ListCases. A page is the ids the filters keep — one query, an index walk in id order, SLA status included as
//! a comparison of stored instants with now — then each case's answer from a read cache of encodings, spliced
//! into the response as they were encoded once. Both are kept in read caches that any write empties
//! (`ReadCache`), so a list never shows less than the last write; and both change with the clock too:
//! - a page's ids, under an SLA filter, when any case's clock turns (at risk, due): kept until the next such
//!   instant over all cases (`Store::next_sla_turn`), since a case off the page may turn onto it;
//! - a case's answer when one of its clocks turns, and its working days at local midnight: kept until then
//!   (`resource::case_stable_until`), and with the policy revision it was computed with.
use super::{MediationApi, access};
use crate::domain::sla::SlaStatus;
use crate::domain::{Category, Severity, Stage, optional_enum};
use crate::resource;
use crate::store::{CaseFilter, PolicyInForce};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use liaison_proto::mediation::v1::SlaStatus as SlaStatus_;
use liaison_proto::mediation::v1::{ListCasesRequest, ListCasesResponse};
use liaison_runtime::api::names::PartyName;
use liaison_runtime::api::paging;
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{at_most, each};
use liaison_runtime::db::idempotency;
use liaison_runtime::feed::cache::ReadCache;
use liaison_runtime::net::wire::{self, Spliced};
use liaison_runtime::{Error, FieldViolation, Validate};
use std::collections::HashMap;

/// Bytes of case encodings kept (a fresh case is about 1 KiB; each transition adds a history entry).
const CACHED_CASE_BYTES: usize = 32 * 1024 * 1024;

/// Bytes of pages' ids kept (a page of 20 ids weighs about 1 KiB).
const CACHED_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// `ListCasesResponse`'s field numbers.
const CASES: u32 = 1;
const NEXT_PAGE_TOKEN: u32 = 2;

/// A case's answer as encoded at `computed_at`, the same for every reader until `stable_until` (`None`: for
/// good) under the policy of revision `policy_revision`.
#[derive(Clone)]
pub(super) struct CachedAnswer {
    bytes: Bytes,
    computed_at: DateTime<Utc>,
    stable_until: Option<DateTime<Utc>>,
    policy_revision: i64,
}

impl CachedAnswer {
    /// The encoding, if it is still the answer at `now` under the policy of revision `policy_revision`.
    fn at(&self, now: DateTime<Utc>, policy_revision: i64) -> Option<Bytes> {
        let in_time = self.computed_at <= now && self.stable_until.is_none_or(|until| now < until);
        (in_time && self.policy_revision == policy_revision).then(|| self.bytes.clone())
    }
}

/// The ids a page query found at `computed_at`, the same until `stable_until` (`None`: until a write).
#[derive(Clone)]
pub(super) struct CachedPage {
    ids: std::sync::Arc<[String]>,
    computed_at: DateTime<Utc>,
    stable_until: Option<DateTime<Utc>>,
}

impl CachedPage {
    fn at(&self, now: DateTime<Utc>) -> Option<std::sync::Arc<[String]>> {
        let in_time = self.computed_at <= now && self.stable_until.is_none_or(|until| now < until);
        in_time.then(|| std::sync::Arc::clone(&self.ids))
    }
}

/// The read caches of ListCases: pages' ids by query, and each case's answer by case id.
pub(super) struct ListCaches {
    pages: ReadCache<CachedPage>,
    answers: ReadCache<CachedAnswer>,
}

impl ListCaches {
    pub(super) fn new(db: liaison_runtime::db::Db) -> Self {
        Self {
            pages: ReadCache::new(db.clone(), CACHED_PAGE_BYTES, |page| page.ids.iter().map(|id| id.len() + 24).sum()),
            answers: ReadCache::new(db, CACHED_CASE_BYTES, |answer| answer.bytes.len()),
        }
    }
}

impl MediationApi {
    /// ListCases, answered with each case's kept encoding (served by the wire route ahead of the trait method,
    /// which reads this response back for callers of the trait itself).
    pub(super) async fn list_spliced(&self, request: &ListCasesRequest) -> Result<Spliced, Error> {
        // The token is bound to the filters: a page of one filter cannot continue another.
        let filters = ListCasesRequest { page_size: None, page_token: String::new(), ..request.clone() };
        let scope = format!("ListCases:{}", idempotency::fingerprint(&filters));
        let (page, mut filter) =
            (paging::parse(request.page_size, &request.page_token, &scope), parse_filter(request)).validate()?;
        if let Some(PartyName::Contact(contact)) = &filter.party {
            // A contact's cases include those of the organisations it works for.
            filter.filter.parties.extend(self.contacts.organizations_of(contact.to_string()).await?);
        }
        let (now, access) = (self.now(), access());
        // What the query depends on: the filters (a contact's organisations included), who asks, where the page
        // starts and its size.
        let key = format!("{:?}", (&filter.filter, &access, &page.after, page.size));
        let cached = self.lists.pages.get(&key).and_then(|cached| cached.at(now));
        let (ids, policy) = match cached {
            Some(ids) => (ids, self.store.policy().await?),
            None => {
                let epoch = self.lists.pages.epoch();
                let by_sla = filter.filter.sla_status.is_some();
                let (ids, stable_until, policy) = tokio::try_join!(
                    self.store.list_case_ids(&filter.filter, &access, now, page.after.clone(), page.size + 1),
                    async { if by_sla { self.store.next_sla_turn(now).await } else { Ok(None) } },
                    self.store.policy()
                )?;
                let ids: std::sync::Arc<[String]> = ids.into();
                let page = CachedPage { ids: std::sync::Arc::clone(&ids), computed_at: now, stable_until };
                // Without an SLA filter the page does not depend on the time; with one and no turn ahead, neither.
                self.lists.pages.fill(key, epoch, page);
                (ids, policy)
            }
        };
        let encoded = self.encoded_cases(&ids, now, &policy).await?;
        let (cases, next_page_token) =
            paging::page(encoded, page.size, &scope, |(id, _)| id.clone(), |(_, bytes)| bytes.clone());
        let mut response = Spliced::with_capacity(cases.len() + 1);
        for case in cases {
            response.push(CASES, case);
        }
        if !next_page_token.is_empty() {
            response.push(NEXT_PAGE_TOKEN, Bytes::from(next_page_token));
        }
        Ok(response)
    }

    /// ListCases for callers of the trait method: the spliced response, read back.
    pub(super) async fn list(&self, request: ListCasesRequest) -> Result<ListCasesResponse, Error> {
        self.list_spliced(&request)
            .await?
            .to_message()
            .map_err(|e| Error::Internal(format!("re-reading a spliced response: {e}")))
    }

    /// `(id, encoded answer at now)` of the cases `ids`, in their order; the missing or outdated read in one go
    /// and kept. A case gone since its id was read is left out, as a later read of the database would.
    async fn encoded_cases(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
        policy: &PolicyInForce,
    ) -> Result<Vec<(String, Bytes)>, Error> {
        let epoch = self.lists.answers.epoch();
        let cached = self.lists.answers.get_many(ids, |answer| answer.at(now, policy.revision));
        let missing: Vec<String> = ids
            .iter()
            .zip(&cached)
            .filter(|(_, cached)| cached.as_ref().is_none_or(Option::is_none))
            .map(|(id, _)| id.clone())
            .collect();
        let mut read: HashMap<String, Bytes> = HashMap::with_capacity(missing.len());
        if !missing.is_empty() {
            for stored in self.store.cases_by_ids(missing).await? {
                let bytes = wire::encode(&resource::case(&stored, now, Some(&policy.calendar)));
                let answer = CachedAnswer {
                    bytes: bytes.clone(),
                    computed_at: now,
                    stable_until: resource::case_stable_until(&stored, now, &policy.calendar),
                    policy_revision: policy.revision,
                };
                self.lists.answers.fill(stored.case.id.clone(), epoch, answer);
                read.insert(stored.case.id, bytes);
            }
        }
        Ok(ids
            .iter()
            .zip(cached)
            .filter_map(|(id, cached)| cached.flatten().or_else(|| read.remove(id)).map(|bytes| (id.clone(), bytes)))
            .collect())
    }
}

/// The ListCases filters, checked; `party` is kept apart since a contact widens to its organisations.
struct ParsedFilter {
    filter: CaseFilter,
    party: Option<PartyName>,
}

fn parse_filter(request: &ListCasesRequest) -> Result<ParsedFilter, Vec<FieldViolation>> {
    fn each_of<T>(
        field: &str,
        values: &[i32],
        parse: impl Fn(&str, i32) -> Result<T, FieldViolation>,
    ) -> Result<Vec<T>, Vec<FieldViolation>> {
        let values = at_most(field, values, 20).map_err(Vec::from)?;
        each(values.iter().enumerate().map(|(i, v)| parse(&format!("{field}[{i}]"), *v)))
    }
    let optional_time = |field: &str, value: Option<&prost_types::Timestamp>| match value {
        None => Ok(None),
        Some(_) => from_timestamp(field, value).map(Some),
    };
    let sla = optional_enum("sla_status", request.sla_status, |field, value| match SlaStatus_::try_from(value) {
        Ok(SlaStatus_::OnTrack) => Ok(SlaStatus::OnTrack),
        Ok(SlaStatus_::AtRisk) => Ok(SlaStatus::AtRisk),
        Ok(SlaStatus_::Breached) => Ok(SlaStatus::Breached),
        _ => Err(FieldViolation::new(field, format!("{value} is not a known value"))),
    });
    let (stages, categories, severities, party, mediator, sla_status, (opened_after, opened_before)) = (
        each_of("stages", &request.stages, Stage::parse),
        each_of("categories", &request.categories, Category::parse),
        each_of("severities", &request.severities, Severity::parse),
        optional_name(&request.party, |v| PartyName::parse("party", v)),
        crate::domain::optional_contact("mediator", &request.mediator),
        sla,
        (
            optional_time("opened_after", request.opened_after.as_ref()),
            optional_time("opened_before", request.opened_before.as_ref()),
        )
            .collect(),
    )
        .collect()?;
    let filter = CaseFilter {
        stages,
        parties: party.iter().map(ToString::to_string).collect(),
        mediator: mediator.map(|m| m.to_string()),
        categories,
        severities,
        sla_status,
        opened_after,
        opened_before,
    };
    Ok(ParsedFilter { filter, party })
}

/// An optional name: empty means not given.
fn optional_name<T>(
    value: &str,
    parse: impl Fn(&str) -> Result<T, FieldViolation>,
) -> Result<Option<T>, FieldViolation> {
    if value.is_empty() { Ok(None) } else { parse(value).map(Some) }
}
