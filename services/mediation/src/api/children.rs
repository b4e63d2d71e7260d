//! Proposals and the parties' answers, prevention actions, notes.
use super::{MediationApi, access, actor};
use crate::domain::children::{NewAnswer, NewNote, NewPreventionAction, Settled, TERMS_MAX};
use crate::domain::required_long_text;
use crate::resource;
use liaison_proto::mediation::v1::*;
use liaison_runtime::api::names::{Cases, Child, Name, PartyName, PreventionActions, Proposals};
use liaison_runtime::api::validate::{RequestId, optional_text};
use liaison_runtime::api::{etag, paging};
use liaison_runtime::db::idempotency;
use liaison_runtime::{Error, Validate};

fn parent(value: &str) -> Result<Name<Cases>, liaison_runtime::FieldViolation> {
    Name::<Cases>::parse("parent", value)
}

impl MediationApi {
    /// Whether the caller sees case `name`'s shared records only (`true`: one of its parties, outside its team) or
    /// everything (`false`); NOT_FOUND if it may see neither.
    async fn shared_with_caller(&self, name: Name<Cases>) -> Result<bool, Error> {
        let stored = self.store.get_case(name).await?;
        let (access, view) = (access(), stored.view());
        if access.is_outside_party(&view) {
            Ok(true)
        } else if access.may_read(&view) {
            Ok(false)
        } else {
            Err(Error::NotFound { resource: name.to_string() })
        }
    }

    pub(super) async fn propose(&self, request: CreateProposalRequest) -> Result<CreateProposalResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let proposal = request.proposal.clone().unwrap_or_default();
        let (case, terms, proposed_by, request_id) = (
            parent(&request.parent),
            required_long_text("proposal.terms", &proposal.terms, TERMS_MAX),
            optional_text("proposal.proposed_by", &proposal.proposed_by, 200),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let proposed_by = if proposed_by.is_empty() { actor() } else { proposed_by };
        let stored =
            self.store.create_proposal(case, terms, proposed_by, request_id.as_ref(), &fingerprint, &access()).await?;
        Ok(CreateProposalResponse { proposal: Some(resource::proposal(&stored)) })
    }

    pub(super) async fn proposals(&self, request: ListProposalsRequest) -> Result<ListProposalsResponse, Error> {
        let scope = format!("ListProposals:{}", request.parent);
        let (case, page) =
            (parent(&request.parent), paging::parse(request.page_size, &request.page_token, &scope)).validate()?;
        self.shared_with_caller(case).await?;
        let stored = self.store.list_proposals(case, page.after, page.size + 1).await?;
        let (proposals, next_page_token) =
            paging::page(stored, page.size, &scope, |p| p.row.id.clone(), resource::proposal);
        Ok(ListProposalsResponse { proposals, next_page_token })
    }

    pub(super) async fn respond(&self, request: RespondToProposalRequest) -> Result<RespondToProposalResponse, Error> {
        let (name, party, answer) = (
            Child::<Cases, Proposals>::parse("name", &request.name),
            PartyName::parse("party", &request.party),
            NewAnswer::parse(&request),
        )
            .validate()?;
        let (proposal, counter, case) =
            self.store.respond_to_proposal(name, party.to_string(), answer, self.now(), &access()).await?;
        let policy = self.store.policy().await?;
        Ok(RespondToProposalResponse {
            proposal: Some(resource::proposal(&proposal)),
            counter_proposal: counter.as_ref().map(resource::proposal),
            case: Some(self.answer(&case, &policy.calendar)),
        })
    }

    pub(super) async fn create_action(
        &self,
        request: CreatePreventionActionRequest,
    ) -> Result<CreatePreventionActionResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let action = request.prevention_action.clone().unwrap_or_default();
        let (case, new, request_id) = (
            parent(&request.parent),
            NewPreventionAction::parse(&action),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let resolved = self.contacts.resolve_contacts(vec![new.owner.to_string()]).await?;
        let refusals = liaison_runtime::net::peers::Refusals {
            not_found: "OWNER_NOT_FOUND",
            deleted: "OWNER_DELETED",
            merged: "OWNER_MERGED",
        };
        resolved.ensure_usable("owner", refusals)?;
        let stored =
            self.store.create_prevention_action(case, new, request_id.as_ref(), &fingerprint, &access()).await?;
        Ok(CreatePreventionActionResponse { prevention_action: Some(resource::prevention_action(&stored)) })
    }

    pub(super) async fn actions(
        &self,
        request: ListPreventionActionsRequest,
    ) -> Result<ListPreventionActionsResponse, Error> {
        let scope = format!("ListPreventionActions:{}", request.parent);
        let (case, page) =
            (parent(&request.parent), paging::parse(request.page_size, &request.page_token, &scope)).validate()?;
        self.readable(case).await?;
        let stored = self.store.list_prevention_actions(case, page.after, page.size + 1).await?;
        let (prevention_actions, next_page_token) =
            paging::page(stored, page.size, &scope, |a| a.id.clone(), resource::prevention_action);
        Ok(ListPreventionActionsResponse { prevention_actions, next_page_token })
    }

    pub(super) async fn settle_action(
        &self,
        request: SettlePreventionActionRequest,
    ) -> Result<SettlePreventionActionResponse, Error> {
        let (name, expected, settled) = (
            Child::<Cases, PreventionActions>::parse("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            Settled::parse(&request),
        )
            .validate()?;
        let stored = self.store.settle_prevention_action(name, expected, settled, &access()).await?;
        Ok(SettlePreventionActionResponse { prevention_action: Some(resource::prevention_action(&stored)) })
    }

    pub(super) async fn add_note(&self, request: AddCaseNoteRequest) -> Result<AddCaseNoteResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let note = request.note.clone().unwrap_or_default();
        let (case, new, request_id) = (
            parent(&request.parent),
            NewNote::parse(&note),
            RequestId::parse_optional("request_id", &request.request_id),
        )
            .validate()?;
        let stored = self.store.add_note(case, new, request_id.as_ref(), &fingerprint, &access()).await?;
        Ok(AddCaseNoteResponse { note: Some(resource::note(&stored)) })
    }

    pub(super) async fn notes(&self, request: ListCaseNotesRequest) -> Result<ListCaseNotesResponse, Error> {
        let scope = format!("ListCaseNotes:{}", request.parent);
        let (case, page) =
            (parent(&request.parent), paging::parse(request.page_size, &request.page_token, &scope)).validate()?;
        let shared_only = self.shared_with_caller(case).await?;
        let stored = self.store.list_notes(case, shared_only, page.after, page.size + 1).await?;
        let (notes, next_page_token) = paging::page(stored, page.size, &scope, |n| n.id.clone(), resource::note);
        Ok(ListCaseNotesResponse { notes, next_page_token })
    }
}
