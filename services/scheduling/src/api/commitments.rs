//! Commitments: CreateCommitment, GetCommitment, ListCommitments, UpdateCommitment, TransitionCommitment,
//! AddCommitmentEvidence and SummarizeOverdueCommitments. The stakeholder and the owner are checked with contacts in
//! one call whenever they are set; the meeting a commitment was made in and what it is linked to must exist here.
use super::SchedulingApi;
use crate::domain::commitment::{
    self as rules, Commitments, EVIDENCE_MAX, Evidence, Fields, Move, State, TOO_MUCH_EVIDENCE, Transition,
    check_transition, ensure_open, parties_error, rank,
};
use crate::domain::lifecycle::{precondition, rfc3339};
use crate::domain::{ParticipantFacts, check_participants};
use crate::store::commitments::{CommitmentFilter, StoredCommitment};
use liaison_proto::scheduling::v1::*;
use liaison_runtime::api::fieldmask::UpdateMask;
use liaison_runtime::api::names::{Contacts, Name, PartyName};
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::api::{etag, paging, time};
use liaison_runtime::db::idempotency;
use liaison_runtime::db::resource::Resource;
use liaison_runtime::net::peers::ContactsClient;
use liaison_runtime::{Error, PreconditionViolation, Validate};
use std::collections::HashMap;

const UPDATABLE: &[&str] = &[
    "title",
    "description",
    "stakeholder",
    "made_in",
    "kind",
    "owner",
    "due_time",
    "priority",
    "risk",
    "action_items",
    "milestones",
];

fn wire(stored: &StoredCommitment) -> Option<Commitment> {
    Some(stored.to_wire())
}

pub(super) async fn create(
    api: &SchedulingApi,
    request: CreateCommitmentRequest,
) -> Result<CreateCommitmentResponse, Error> {
    let fingerprint = idempotency::fingerprint(&request);
    let asked = request.commitment.clone().unwrap_or_default();
    let (fields, request_id) =
        (Fields::parse(&asked, |_| true), RequestId::parse_optional("request_id", &request.request_id)).validate()?;
    let shares = match check_references(api, &fields).await {
        Ok(shares) => shares,
        Err(error) => {
            // A retry of a create that succeeded gets its commitment even while contacts is down or a party has
            // gone since; looked up only here, off the happy path, where the write itself detects the replay.
            if let Some(id) = &request_id
                && let Some(existing) = api.store.commitment_created_by(id, &fingerprint).await?
            {
                return Ok(CreateCommitmentResponse { commitment: wire(&existing) });
            }
            return Err(error);
        }
    };
    let mut stored = StoredCommitment::new(Name::<Commitments>::generate(), time::now());
    stored.apply(fields);
    stored.progress = rules::progress(State::Open, stored.links.iter().map(|l| shares.get(l).copied().flatten()));
    let stored = api.store.create_commitment(stored, request_id.as_ref(), &fingerprint).await?;
    Ok(CreateCommitmentResponse { commitment: wire(&stored) })
}

pub(super) async fn get(api: &SchedulingApi, request: GetCommitmentRequest) -> Result<GetCommitmentResponse, Error> {
    let name = Name::<Commitments>::parse("name", &request.name).map_err(Error::from_violation)?;
    let stored = api.store.get_commitment(name).await?;
    Ok(GetCommitmentResponse { commitment: wire(&stored) })
}

pub(super) async fn list(
    api: &SchedulingApi,
    request: ListCommitmentsRequest,
) -> Result<ListCommitmentsResponse, Error> {
    // The token is bound to the filters as asked: one issued for other filters is refused.
    let scope = format!("ListCommitments?{:?}", (&request.owner, &request.stakeholder, request.state, request.overdue));
    let (page, owner, stakeholder, state) = (
        paging::parse(request.page_size, &request.page_token, &scope),
        (!request.owner.is_empty()).then(|| Name::<Contacts>::parse("owner", &request.owner)).transpose(),
        (!request.stakeholder.is_empty()).then(|| PartyName::parse("stakeholder", &request.stakeholder)).transpose(),
        State::from_wire("state", request.state),
    )
        .validate()?;
    let filter = CommitmentFilter {
        owner: owner.map(|o| o.to_string()),
        stakeholder: stakeholder.map(|s| s.to_string()),
        state,
        overdue_at: request.overdue.then(time::now),
    };
    let listed = api.store.list_commitments(&filter, page.after, page.size + 1).await?;
    let (commitments, next_page_token) =
        paging::page(listed, page.size, &scope, |c| c.row.id.clone(), Resource::to_wire);
    Ok(ListCommitmentsResponse { commitments, next_page_token })
}

pub(super) async fn update(
    api: &SchedulingApi,
    request: UpdateCommitmentRequest,
) -> Result<UpdateCommitmentResponse, Error> {
    let asked = request.commitment.clone().unwrap_or_default();
    let mask = UpdateMask::parse("update_mask", request.update_mask.as_ref(), &asked, UPDATABLE);
    // The fields are checked whenever the mask says which: every bad field and bad path in one answer.
    let fields = match &mask {
        Ok(mask) => Fields::parse(&asked, |path| mask.contains(path)),
        Err(_) => Ok(Fields::default()),
    };
    let (name, expected, _, fields) = (
        Name::<Commitments>::parse("commitment.name", &asked.name),
        etag::parse_expected("commitment.etag", &asked.etag),
        mask,
        fields,
    )
        .validate()?;
    check_references(api, &fields).await?;
    let stored = api
        .store
        .change_commitment(name, expected, |current| {
            ensure_open(&name.to_string(), current.state()?)?;
            let mut next = current.clone();
            next.apply(fields);
            Ok(next)
        })
        .await?;
    Ok(UpdateCommitmentResponse { commitment: wire(&stored) })
}

pub(super) async fn transition(
    api: &SchedulingApi,
    request: TransitionCommitmentRequest,
) -> Result<TransitionCommitmentResponse, Error> {
    let (name, change, expected) = (
        Name::<Commitments>::parse("name", &request.name),
        Move::parse(&request),
        etag::parse_expected("etag", &request.etag),
    )
        .validate()?;
    let actor = liaison_runtime::net::context::caller().identity.subject.clone();
    let stored = api
        .store
        .change_commitment(name, expected, |current| {
            let from = current.state()?;
            check_transition(&name.to_string(), from, change.to)?;
            let now = time::now();
            let mut next = current.clone();
            let mut history = rules::list_from_json::<Transition>(&current.row.history)?;
            history.push(Transition {
                from: from.as_str().to_owned(),
                to: change.to.as_str().to_owned(),
                note: change.note,
                time: rfc3339(now),
                actor,
            });
            let row = &mut next.row;
            row.history = rules::list_to_json(&history);
            row.state = change.to.as_str().to_owned();
            // Whom it was referred to holds while it is referred; the satisfaction of the last close-out is kept
            // (with `close_time`) until the next close-out records its own.
            row.referred_to = change.referred_to;
            if matches!(change.to, State::Closed | State::Referred) {
                row.close_time = Some(now);
            }
            if change.to == State::Closed {
                row.satisfaction = change.satisfaction;
                row.satisfaction_note = change.satisfaction_note;
            }
            Ok(next)
        })
        .await?;
    Ok(TransitionCommitmentResponse { commitment: wire(&stored) })
}

pub(super) async fn add_evidence(
    api: &SchedulingApi,
    request: AddCommitmentEvidenceRequest,
) -> Result<AddCommitmentEvidenceResponse, Error> {
    let (name, (description, link), expected) = (
        Name::<Commitments>::parse("name", &request.name),
        Evidence::parse(request.evidence.as_ref()),
        etag::parse_expected("etag", &request.etag),
    )
        .validate()?;
    let actor = liaison_runtime::net::context::caller().identity.subject.clone();
    let stored = api
        .store
        .change_commitment(name, expected, |current| {
            let mut evidence = rules::list_from_json::<Evidence>(&current.row.evidence)?;
            if evidence.len() >= EVIDENCE_MAX {
                return Err(precondition(
                    TOO_MUCH_EVIDENCE,
                    &name.to_string(),
                    format!("{name} has {EVIDENCE_MAX} pieces of evidence already, the most it keeps"),
                ));
            }
            evidence.push(Evidence { description, link, add_time: rfc3339(time::now()), actor });
            let mut next = current.clone();
            next.row.evidence = rules::list_to_json(&evidence);
            Ok(next)
        })
        .await?;
    Ok(AddCommitmentEvidenceResponse { commitment: wire(&stored) })
}

pub(super) async fn summarize_overdue(
    api: &SchedulingApi,
    _request: SummarizeOverdueCommitmentsRequest,
) -> Result<SummarizeOverdueCommitmentsResponse, Error> {
    let (by_owner, by_stakeholder) = api.store.overdue_counts(time::now()).await?;
    // Every overdue commitment has exactly one owner.
    let total: i64 = by_owner.iter().map(|c| c.overdue).sum();
    let counts = |counts| {
        rank(counts)
            .into_iter()
            .map(|c| OverdueCount {
                party: c.party,
                overdue: i32::try_from(c.overdue).unwrap_or(i32::MAX),
                oldest_due_time: c.oldest_due.map(to_timestamp),
            })
            .collect()
    };
    Ok(SummarizeOverdueCommitmentsResponse {
        by_owner: counts(by_owner),
        by_stakeholder: counts(by_stakeholder),
        total: i32::try_from(total).unwrap_or(i32::MAX),
    })
}

/// What a create or update sets that lives elsewhere, checked before anything is written: the parties with
/// contacts (one call), the meeting it was made in and the action items and milestones it links to (NOT_FOUND
/// naming the first that is missing). Meetings, action items and milestones are never deleted, so what exists now
/// still exists when the write lands. Returns the links' shares of progress.
async fn check_references(api: &SchedulingApi, fields: &Fields) -> Result<HashMap<String, Option<i32>>, Error> {
    check_parties(&api.contacts, fields.stakeholder, fields.owner).await?;
    if let Some(meeting) = fields.meeting() {
        api.store.get_meeting(meeting).await?;
    }
    let Some(links) = fields.links() else { return Ok(HashMap::new()) };
    let shares = api.store.shares_of(&links).await?;
    match links.iter().find(|l| !shares.contains_key(*l)) {
        Some(missing) => Err(Error::NotFound { resource: missing.clone() }),
        None => Ok(shares),
    }
}

/// Checks a commitment's stakeholder and owner (either may be absent on update) with ONE call to contacts. With
/// a contact as stakeholder (or none), both are contacts: `BatchGetContacts` tells whether each exists, is deleted
/// or was merged. With an organisation, `BatchGetParties` answers for both, which tells existence and merges but
/// not deletion. A stakeholder that does not exist is PARTY_NOT_FOUND; the owner gets the participant reasons.
/// Asking not to be contacted does not stand in the way: recording a promise contacts nobody.
async fn check_parties(
    contacts: &ContactsClient,
    stakeholder: Option<PartyName>,
    owner: Option<Name<Contacts>>,
) -> Result<(), Error> {
    let stakeholder_name = stakeholder.map(|s| s.to_string());
    let violations = match stakeholder {
        None | Some(PartyName::Contact(_)) => {
            let mut names: Vec<Name<Contacts>> = owner.into_iter().collect();
            if let Some(PartyName::Contact(contact)) = stakeholder
                && !names.contains(&contact)
            {
                names.push(contact);
            }
            if names.is_empty() {
                return Ok(());
            }
            let page = contacts.contact_facts(names.iter().map(ToString::to_string).collect()).await?;
            let found: Vec<ParticipantFacts> = page.contacts.iter().map(super::facts_of).collect();
            check_participants(&names, &found, &page.missing_names, true).err().unwrap_or_default()
        }
        Some(PartyName::Organization(organization)) => {
            // One call for both: the organisation by name, the owner with the facts an owner is checked on.
            let mut names = vec![organization.to_string()];
            names.extend(owner.map(|o| o.to_string()));
            let page = contacts.party_facts(names).await?;
            let organizations: Vec<String> =
                page.parties.iter().filter_map(|p| p.organization.as_ref().map(|o| o.name.clone())).collect();
            let mut violations =
                organization_violations(&[organization.to_string()], &organizations, &page.missing_names);
            if let Some(owner) = owner {
                let found: Vec<ParticipantFacts> =
                    page.parties.iter().filter_map(|p| p.contact.as_ref()).map(super::facts_of).collect();
                violations
                    .extend(check_participants(&[owner], &found, &page.missing_names, true).err().unwrap_or_default());
            }
            violations
        }
    };
    if violations.is_empty() { Ok(()) } else { Err(parties_error(stakeholder_name.as_deref(), violations)) }
}

/// What `BatchGetParties` says of organisations: each missing one named; one answered under another name was merged
/// into it.
fn organization_violations(asked: &[String], found: &[String], missing: &[String]) -> Vec<PreconditionViolation> {
    let violation = |kind: &str, subject: &str, description: String| PreconditionViolation {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        description,
    };
    let mut violations = Vec::new();
    for name in asked {
        if missing.contains(name) {
            violations.push(violation(crate::domain::PARTICIPANT_NOT_FOUND, name, format!("{name} does not exist")));
        } else if !found.contains(name) {
            let survivor = found.iter().find(|f| f.starts_with("contacts/")).cloned().unwrap_or_default();
            violations.push(violation(
                crate::domain::PARTICIPANT_MERGED,
                name,
                format!("participant {name} was merged into {survivor}: name {survivor} instead"),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_answered_under_another_name_was_merged() {
        let asked = ["organizations/o".to_owned(), "contacts/old".to_owned()];
        let merged = organization_violations(&asked, &["organizations/o".into(), "contacts/new".into()], &[]);
        assert_eq!(merged.len(), 1);
        assert_eq!((merged[0].kind.as_str(), merged[0].subject.as_str()), ("PARTICIPANT_MERGED", "contacts/old"));
        assert!(merged[0].description.contains("contacts/new"));
        let missing = organization_violations(&asked, &["contacts/old".into()], &["organizations/o".into()]);
        assert_eq!(missing[0].subject, "organizations/o");
        assert!(organization_violations(&asked, &asked, &[]).is_empty());
    }
}
