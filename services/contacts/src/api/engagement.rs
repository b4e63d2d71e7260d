//! Stakeholder assessments, the interaction log and the engagement summary: requests parsed into domain values,
//! the store called, results rendered. Reads by party follow merges: a merged contact's name reads its
//! survivor's engagement, which the merge moved there.
use super::{ContactsApi, create_key, optional};
use crate::domain::engagement::{
    self as rules, HealthInputs, INTERACTION_UPDATABLE, InteractionFields, Interactions, NewAssessment,
};
use crate::resource::{self, engagement as render};
use crate::store::engagement::{EngagementFigures, InteractionFilter, InteractionKey, StakeholderKey};
use chrono::{DateTime, Utc};
use liaison_proto::contacts::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Name, PartyName};
use liaison_runtime::api::time::{from_timestamp, to_timestamp};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::resource::Resource as _;
use liaison_runtime::{Error, FieldViolation, Validate, api::etag, api::paging, api::time};
use tonic::{Request, Response, Status};

/// A token that passed its checksum but holds no key of this list: it was not issued by this call.
fn bad_token() -> Error {
    Error::invalid("page_token", "is not a page token issued by this call; start again without one")
}

/// The name a party goes by now (a merged contact's is its survivor's); `None` if it does not exist.
async fn current_party(api: &ContactsApi, party: PartyName) -> Result<Option<String>, Error> {
    let found = match party {
        PartyName::Contact(name) => api.store.get_contact(name).await.map(|m| resource::contact_name(&m.id)),
        PartyName::Organization(name) => {
            api.store.get_organization(name).await.map(|m| resource::organization_name(&m.id))
        }
    };
    match found {
        Ok(name) => Ok(Some(name)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An optional time filter, kept to microseconds like the stored times.
fn optional_time(field: &str, value: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    optional(value.is_some(), || from_timestamp(field, value))
        .map(|t| t.map(|t| DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)))
}

fn merge_interaction(current: &Interaction, new: &Interaction, mask: &UpdateMask) -> Interaction {
    let mut merged = current.clone();
    if mask.contains("channel") {
        merged.channel = new.channel;
    }
    if mask.contains("direction") {
        merged.direction = new.direction;
    }
    if mask.contains("occur_time") {
        merged.occur_time = new.occur_time;
    }
    if mask.contains("participants") {
        merged.participants.clone_from(&new.participants);
    }
    if mask.contains("subject") {
        merged.subject.clone_from(&new.subject);
    }
    if mask.contains("summary") {
        merged.summary.clone_from(&new.summary);
    }
    if mask.contains("sentiment") {
        merged.sentiment = new.sentiment;
    }
    if mask.contains("follow_up") {
        merged.follow_up.clone_from(&new.follow_up);
    }
    if mask.contains("links") {
        merged.links.clone_from(&new.links);
    }
    merged
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The summary of `party` from the figures the database aggregated, as of `now`.
fn summarise(party: String, figures: &EngagementFigures, now: DateTime<Utc>) -> EngagementSummary {
    let total = |f: fn(&crate::store::engagement::ChannelFigures) -> i64| figures.channels.iter().map(f).sum::<i64>();
    let (interactions_90, sentiment_90) = (total(|c| c.last_90), total(|c| c.sentiment_90));
    let (interactions_365, sentiment_365) = (total(|c| c.last_365), total(|c| c.sentiment_365));
    let days_since = figures.last_interaction.map(|last| rules::days_since(last, now));
    let health = rules::health_score(&HealthInputs {
        quadrant: figures.latest_quadrant,
        interactions_90_days: interactions_90,
        sentiment_sum_90_days: sentiment_90,
        days_since_last: days_since,
    });
    EngagementSummary {
        party,
        last_interaction_time: figures.last_interaction.map(to_timestamp),
        days_since_last_interaction: days_since.map_or(-1, count),
        channel_counts: figures
            .channels
            .iter()
            .map(|c| ChannelCount {
                channel: c.channel,
                last_30_days: count(c.last_30),
                last_90_days: count(c.last_90),
                last_365_days: count(c.last_365),
            })
            .collect(),
        open_follow_ups: count(figures.open_follow_ups),
        overdue_follow_ups: count(figures.overdue_follow_ups),
        mean_sentiment: if interactions_365 > 0 { sentiment_365 as f64 / interactions_365 as f64 } else { 0.0 },
        sentiment_samples: count(interactions_365),
        health: Some(health),
    }
}

pub(super) async fn create_assessment(
    api: &ContactsApi,
    request: Request<CreateAssessmentRequest>,
) -> Result<Response<CreateAssessmentResponse>, Status> {
    let request = request.into_inner();
    let assessment = request.assessment.clone().unwrap_or_default();
    let today = time::now().date_naive();
    let (new, request_id) =
        (NewAssessment::parse(&assessment, today), RequestId::parse_optional("request_id", &request.request_id))
            .validate()?;
    let model = api.store.create_assessment(new, &create_key(&request, request_id)).await?;
    Ok(Response::new(CreateAssessmentResponse { assessment: Some(render::assessment(&model)) }))
}

pub(super) async fn list_assessments(
    api: &ContactsApi,
    request: Request<ListAssessmentsRequest>,
) -> Result<Response<ListAssessmentsResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("ListAssessments/{}", request.party);
    let (party, page) =
        (PartyName::parse("party", &request.party), paging::parse(request.page_size, &request.page_token, &scope))
            .validate()?;
    let party = current_party(api, party).await?.unwrap_or_else(|| party.to_string());
    let models = api.store.list_assessments(&party, page.after, page.size + 1).await?;
    let (assessments, next_page_token) =
        paging::page(models, page.size, &scope, |m| m.assessment_date.clone(), render::assessment);
    Ok(Response::new(ListAssessmentsResponse { assessments, next_page_token }))
}

pub(super) async fn list_stakeholders(
    api: &ContactsApi,
    request: Request<ListStakeholdersRequest>,
) -> Result<Response<ListStakeholdersResponse>, Status> {
    let request = request.into_inner();
    let scope = format!("ListStakeholders?quadrant={}", request.quadrant);
    let (quadrant, page) = (
        rules::Quadrant::parse_filter("quadrant", request.quadrant),
        paging::parse(request.page_size, &request.page_token, &scope),
    )
        .validate()?;
    let after = page.after.as_deref().map(|key| StakeholderKey::parse(key).ok_or_else(bad_token)).transpose()?;
    let models = api.store.list_stakeholders(quadrant, after, page.size + 1).await?;
    let (stakeholders, next_page_token) = paging::page(
        models,
        page.size,
        &scope,
        |m| StakeholderKey::of(m).render(),
        |m| Stakeholder { party: m.party.clone(), latest_assessment: Some(render::assessment(m)) },
    );
    Ok(Response::new(ListStakeholdersResponse { stakeholders, next_page_token }))
}

pub(super) async fn create_interaction(
    api: &ContactsApi,
    request: Request<CreateInteractionRequest>,
) -> Result<Response<CreateInteractionResponse>, Status> {
    let request = request.into_inner();
    let interaction = request.interaction.clone().unwrap_or_default();
    let (fields, request_id) = (
        InteractionFields::parse("interaction", &interaction, time::now()),
        RequestId::parse_optional("request_id", &request.request_id),
    )
        .validate()?;
    let stored = api.store.create_interaction(fields, &create_key(&request, request_id)).await?;
    Ok(Response::new(CreateInteractionResponse { interaction: Some(stored.to_wire()) }))
}

pub(super) async fn get_interaction(
    api: &ContactsApi,
    request: Request<GetInteractionRequest>,
) -> Result<Response<GetInteractionResponse>, Status> {
    let name = Name::<Interactions>::parse("name", &request.get_ref().name).map_err(Error::from_violation)?;
    let stored = api.store.get_interaction(name).await?;
    Ok(Response::new(GetInteractionResponse { interaction: Some(stored.to_wire()) }))
}

pub(super) async fn list_interactions(
    api: &ContactsApi,
    request: Request<ListInteractionsRequest>,
) -> Result<Response<ListInteractionsResponse>, Status> {
    let request = request.into_inner();
    let bound = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| format!("{}.{:09}", t.seconds, t.nanos));
    let scope = format!(
        "ListInteractions?party={}&start={:?}&end={:?}",
        request.party,
        bound(&request.start_time),
        bound(&request.end_time)
    );
    let (party, start, end, page) = (
        optional(!request.party.is_empty(), || PartyName::parse("party", &request.party)),
        optional_time("start_time", request.start_time.as_ref()),
        optional_time("end_time", request.end_time.as_ref()),
        paging::parse(request.page_size, &request.page_token, &scope),
    )
        .validate()?;
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(Error::invalid("end_time", "must be after start_time").into());
    }
    let after = page.after.as_deref().map(|key| InteractionKey::parse(key).ok_or_else(bad_token)).transpose()?;
    let party = match party {
        Some(party) => Some(current_party(api, party).await?.unwrap_or_else(|| party.to_string())),
        None => None,
    };
    let filter = InteractionFilter { party, start, end };
    let stored = api.store.list_interactions(&filter, after, page.size + 1).await?;
    let (interactions, next_page_token) =
        paging::page(stored, page.size, &scope, |s| InteractionKey::of(s).render(), |s| s.to_wire());
    Ok(Response::new(ListInteractionsResponse { interactions, next_page_token }))
}

pub(super) async fn update_interaction(
    api: &ContactsApi,
    request: Request<UpdateInteractionRequest>,
) -> Result<Response<UpdateInteractionResponse>, Status> {
    let request = request.into_inner();
    let new = request.interaction.unwrap_or_default();
    let (name, expected, mask) = (
        Name::<Interactions>::parse("interaction.name", &new.name),
        etag::parse_expected("interaction.etag", &new.etag),
        UpdateMask::parse("update_mask", request.update_mask.as_ref(), &new, INTERACTION_UPDATABLE),
    )
        .validate()?;
    let now = time::now();
    let stored = api
        .store
        .update_interaction(name, expected, |current| {
            InteractionFields::parse("interaction", &merge_interaction(current, &new, &mask), now)
                .map_err(Error::InvalidArgument)
        })
        .await?;
    Ok(Response::new(UpdateInteractionResponse { interaction: Some(stored.to_wire()) }))
}

pub(super) async fn delete_interaction(
    api: &ContactsApi,
    request: Request<DeleteInteractionRequest>,
) -> Result<Response<DeleteInteractionResponse>, Status> {
    let request = request.into_inner();
    let (name, expected) =
        (Name::<Interactions>::parse("name", &request.name), etag::parse_expected("etag", &request.etag)).validate()?;
    api.store.delete_interaction(name, expected).await?;
    Ok(Response::new(DeleteInteractionResponse {}))
}

pub(super) async fn get_engagement_summary(
    api: &ContactsApi,
    request: Request<GetEngagementSummaryRequest>,
) -> Result<Response<GetEngagementSummaryResponse>, Status> {
    let party = PartyName::parse("party", &request.get_ref().party).map_err(Error::from_violation)?;
    let party = current_party(api, party).await?.ok_or_else(|| Error::NotFound { resource: party.to_string() })?;
    let now = time::now();
    let figures = api.store.engagement_figures(&party, now).await?;
    Ok(Response::new(GetEngagementSummaryResponse { summary: Some(summarise(party, &figures, now)) }))
}
