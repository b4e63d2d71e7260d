//! Intake, reads and the lifecycle transitions. Every transition goes through [`MediationApi::transition`]: the
//! lifecycle table is asked under the case's row lock, the RPC's own rules run on the locked case, and the step
//! is recorded in the history with the clocks restarted as the policy says.
use super::{MediationApi, access, actor, precondition};
use crate::domain::lifecycle::{Action, Leads, check, next_stage};
use crate::domain::{
    ESCALATE_TO_MAX, NewCase, Outcome, PartyRole, REASON_MAX, RECORD_MAX, RootCause, Stage, parse_team,
    required_long_text,
};
use crate::store::{Confirmation, PolicyInForce, Step, StoredCase, Waiver, to_jiff};
use liaison_proto::mediation::v1::*;
use liaison_runtime::api::etag;
use liaison_runtime::api::names::{Cases, Contacts, Name, PartyName};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{RequestId, at_most, long_text, required_text};
use liaison_runtime::db::idempotency;
use liaison_runtime::net::peers::Refusals;
use liaison_runtime::{Error, FieldViolation, PreconditionViolation, Validate};

fn case_name(field: &str, value: &str) -> Result<Name<Cases>, FieldViolation> {
    Name::<Cases>::parse(field, value)
}

/// An optional reason, at most [`REASON_MAX`] characters.
fn reason(value: &str) -> Result<String, FieldViolation> {
    long_text("reason", value, REASON_MAX)
}

/// A party of the case named in a request (the one who withdraws or appeals).
fn ensure_party(case: &StoredCase, party: &str) -> Result<(), Error> {
    if case.is_party(party) {
        Ok(())
    } else {
        Err(precondition("NOT_A_PARTY", party, format!("{party} is not a party of {}", case.resource_name())))
    }
}

impl MediationApi {
    pub(super) async fn open(&self, request: OpenCaseRequest) -> Result<OpenCaseResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let case = request.case.clone().unwrap_or_default();
        let (new, request_id) =
            (NewCase::parse(&case), RequestId::parse_optional("request_id", &request.request_id)).validate()?;
        let policy = self.store.policy().await?;
        if let Some(id) = &request_id
            && let Some(existing) = self.store.opened_by(id, &fingerprint).await?
        {
            return Ok(OpenCaseResponse { case: Some(self.answer(&existing, &policy.calendar)) });
        }
        // Parties, the raiser and the team in one call: every name the case refers to must be usable. The parties
        // are refused as parties, the others as contacts, all in one answer.
        let parties: Vec<String> = new.parties.iter().map(|p| p.name.to_string()).collect();
        let others: Vec<String> = (new.raised_by.iter().chain(&new.case_team))
            .map(ToString::to_string)
            .filter(|n| !parties.contains(n))
            .collect();
        let resolved = self.contacts.resolve_parties([parties.clone(), others.clone()].concat()).await?;
        let as_parties = Refusals { not_found: "PARTY_NOT_FOUND", deleted: "PARTY_DELETED", merged: "PARTY_MERGED" };
        let as_contacts =
            Refusals { not_found: "CONTACT_NOT_FOUND", deleted: "CONTACT_DELETED", merged: "CONTACT_MERGED" };
        match (
            resolved.only(&parties).ensure_usable("party", as_parties),
            resolved.only(&others).ensure_usable("contact", as_contacts),
        ) {
            (Ok(()), Ok(())) => {}
            (Err(error), Ok(())) | (Ok(()), Err(error)) => return Err(error),
            (
                Err(Error::FailedPrecondition { reason, violations: mut first }),
                Err(Error::FailedPrecondition { violations: second, .. }),
            ) => {
                first.extend(second);
                return Err(Error::FailedPrecondition { reason, violations: first });
            }
            (Err(error), Err(_)) => return Err(error),
        }
        let stored = self.store.open_case(new, request_id.as_ref(), &fingerprint, &actor(), self.now()).await?;
        Ok(OpenCaseResponse { case: Some(self.answer(&stored, &policy.calendar)) })
    }

    pub(super) async fn get(&self, request: GetCaseRequest) -> Result<GetCaseResponse, Error> {
        let name = case_name("name", &request.name).map_err(Error::from_violation)?;
        let (stored, policy) = tokio::try_join!(self.readable(name), self.store.policy())?;
        Ok(GetCaseResponse { case: Some(self.answer(&stored, &policy.calendar)) })
    }

    /// Moves case `name` by `action` under its row lock: the lifecycle table first (ILLEGAL_TRANSITION), then
    /// `rules`, which may change the case and return the step to record (or refuse).
    async fn transition(
        &self,
        name: Name<Cases>,
        expected: Option<i64>,
        action: Action,
        rules: impl FnOnce(&mut StoredCase, &PolicyInForce, Stage, Leads, &[String]) -> Result<Step, Error>,
    ) -> Result<Case, Error> {
        let (actor, now, access) = (actor(), self.now(), access());
        let needs_actions = action == Action::CloseResolved;
        let (stored, policy) = self
            .store
            .change_case(name, expected, needs_actions, now, &access, |current, policy, open_actions| {
                let from = current.stage()?;
                let leads = check(&current.resource_name(), from, action)?;
                let mut next = current.clone();
                let step = rules(&mut next, policy, from, leads, open_actions)?;
                next.apply(step, policy, &actor, now)?;
                Ok(Some(next))
            })
            .await?;
        Ok(self.answer(&stored, &policy.calendar))
    }

    /// A transition that only moves the stage as the table says, with an optional reason.
    async fn simple(&self, name: &str, etag_value: &str, reason_value: &str, action: Action) -> Result<Case, Error> {
        let (name, expected, reason) =
            (case_name("name", name), etag::parse_expected("etag", etag_value), reason(reason_value)).validate()?;
        self.transition(name, expected, action, |case, _, from, leads, _| {
            Ok(Step::to(action, next_stage(from, leads, true, !case.case.mediator.is_empty()), reason))
        })
        .await
    }

    pub(super) async fn acknowledge(&self, request: AcknowledgeCaseRequest) -> Result<AcknowledgeCaseResponse, Error> {
        let case = self.simple(&request.name, &request.etag, &request.reason, Action::Acknowledge).await?;
        Ok(AcknowledgeCaseResponse { case: Some(case) })
    }

    pub(super) async fn assess(&self, request: AssessCaseRequest) -> Result<AssessCaseResponse, Error> {
        let reason = if request.eligible {
            reason(&request.reason)
        } else {
            required_long_text("reason", &request.reason, REASON_MAX)
        };
        let (name, expected, reason) =
            (case_name("name", &request.name), etag::parse_expected("etag", &request.etag), reason).validate()?;
        let case = self
            .transition(name, expected, Action::Assess, |_, _, from, leads, _| {
                Ok(Step::to(Action::Assess, next_stage(from, leads, request.eligible, false), reason))
            })
            .await?;
        Ok(AssessCaseResponse { case: Some(case) })
    }

    pub(super) async fn start_mediation_rpc(
        &self,
        request: StartMediationRequest,
    ) -> Result<StartMediationResponse, Error> {
        let case = self.simple(&request.name, &request.etag, "", Action::StartMediation).await?;
        Ok(StartMediationResponse { case: Some(case) })
    }

    pub(super) async fn start_implementation_rpc(
        &self,
        request: StartImplementationRequest,
    ) -> Result<StartImplementationResponse, Error> {
        let case = self.simple(&request.name, &request.etag, "", Action::StartImplementation).await?;
        Ok(StartImplementationResponse { case: Some(case) })
    }

    pub(super) async fn record_root_cause_rpc(
        &self,
        request: RecordRootCauseRequest,
    ) -> Result<RecordRootCauseResponse, Error> {
        let (name, expected, cause) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            RootCause::parse("root_cause", request.root_cause.as_ref()),
        )
            .validate()?;
        let case = self
            .transition(name, expected, Action::RecordRootCause, |case, _, from, leads, _| {
                let revised = case.details.root_cause.is_some();
                case.details.root_cause = Some(cause);
                let reason = if revised { "root cause revised" } else { "root cause recorded" };
                Ok(Step::to(Action::RecordRootCause, next_stage(from, leads, true, true), reason))
            })
            .await?;
        Ok(RecordRootCauseResponse { case: Some(case) })
    }

    pub(super) async fn escalate(&self, request: EscalateCaseRequest) -> Result<EscalateCaseResponse, Error> {
        let (name, expected, to, reason) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            required_text("escalate_to", &request.escalate_to, ESCALATE_TO_MAX),
            required_long_text("reason", &request.reason, REASON_MAX),
        )
            .validate()?;
        let case = self
            .transition(name, expected, Action::Escalate, |_, _, from, _, _| {
                Ok(Step { escalate_to: Some(to), ..Step::to(Action::Escalate, from, reason) })
            })
            .await?;
        Ok(EscalateCaseResponse { case: Some(case) })
    }

    pub(super) async fn withdraw(&self, request: WithdrawCaseRequest) -> Result<WithdrawCaseResponse, Error> {
        let (name, expected, party, reason) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            PartyName::parse("party", &request.party),
            required_long_text("reason", &request.reason, REASON_MAX),
        )
            .validate()?;
        let case = self
            .transition(name, expected, Action::Withdraw, |case, _, _, _, _| {
                ensure_party(case, &party.to_string())?;
                Ok(Step::to(Action::Withdraw, Stage::Withdrawn, format!("withdrawn by {party}: {reason}")))
            })
            .await?;
        Ok(WithdrawCaseResponse { case: Some(case) })
    }

    pub(super) async fn appeal(&self, request: AppealCaseRequest) -> Result<AppealCaseResponse, Error> {
        let (name, expected, party, reason) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            PartyName::parse("party", &request.party),
            required_long_text("reason", &request.reason, REASON_MAX),
        )
            .validate()?;
        let now = self.now();
        let case = self
            .transition(name, expected, Action::Appeal, |case, _, from, leads, _| {
                ensure_party(case, &party.to_string())?;
                if let Some(deadline) = case.case.appeal_deadline.filter(|deadline| *deadline <= now) {
                    return Err(precondition(
                        "APPEAL_WINDOW_PASSED",
                        &case.resource_name(),
                        format!("the appeal window of {} closed at {}", case.resource_name(), deadline.to_rfc3339()),
                    ));
                }
                let to = next_stage(from, leads, true, !case.case.mediator.is_empty());
                Ok(Step::to(Action::Appeal, to, format!("appealed by {party}: {reason}")))
            })
            .await?;
        Ok(AppealCaseResponse { case: Some(case) })
    }

    pub(super) async fn reopen(&self, request: ReopenCaseRequest) -> Result<ReopenCaseResponse, Error> {
        let (name, expected, reason) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            required_long_text("reason", &request.reason, REASON_MAX),
        )
            .validate()?;
        let case = self
            .transition(name, expected, Action::Reopen, |case, _, from, leads, _| {
                let to = next_stage(from, leads, true, !case.case.mediator.is_empty());
                Ok(Step::to(Action::Reopen, to, reason))
            })
            .await?;
        Ok(ReopenCaseResponse { case: Some(case) })
    }

    pub(super) async fn close(&self, request: CloseCaseRequest) -> Result<CloseCaseResponse, Error> {
        let close = Closure::parse(&request);
        let (name, expected, close) =
            (case_name("name", &request.name), etag::parse_expected("etag", &request.etag), close).validate()?;
        let now = self.now();
        let action = Action::close(close.outcome);
        let case = self
            .transition(name, expected, action, |case, policy, _, _, open_actions| {
                let subject = case.resource_name();
                match &close.detail {
                    ClosureDetail::Resolved(confirmation) => {
                        let complainant = case
                            .parties
                            .iter()
                            .any(|(p, role)| *p == confirmation.confirmed_by && *role == PartyRole::Complainant);
                        let mut violations: Vec<PreconditionViolation> = open_actions
                            .iter()
                            .map(|action| PreconditionViolation {
                                kind: "PREVENTION_ACTION_OPEN".into(),
                                subject: action.clone(),
                                description: format!("{action} is neither done nor deferred"),
                            })
                            .collect();
                        if !complainant {
                            violations.push(PreconditionViolation {
                                kind: "NOT_THE_COMPLAINANT".into(),
                                subject: confirmation.confirmed_by.clone(),
                                description: format!(
                                    "{} is not a complainant of {subject}: the complainant confirms a resolution",
                                    confirmation.confirmed_by
                                ),
                            });
                        }
                        if let Some(first) = violations.first() {
                            let reason = if first.kind == "NOT_THE_COMPLAINANT" {
                                "NOT_THE_COMPLAINANT"
                            } else {
                                "PREVENTION_ACTION_OPEN"
                            };
                            return Err(Error::FailedPrecondition { reason, violations });
                        }
                        case.details.confirmation = Some(confirmation.clone());
                    }
                    ClosureDetail::Inconclusive(since) => {
                        let needed = policy.policy.inconclusive_after_working_days;
                        let elapsed = policy.calendar.working_days_between(to_jiff(*since), to_jiff(now));
                        if elapsed < needed {
                            return Err(precondition(
                                "NOT_UNREACHABLE_LONG_ENOUGH",
                                &subject,
                                format!(
                                    "the complainant has been unreachable for {elapsed} working days; the policy asks \
                                     for {needed} before an inconclusive closure"
                                ),
                            ));
                        }
                    }
                    ClosureDetail::Unresolved => {}
                }
                Ok(Step { outcome: Some(close.outcome), ..Step::to(action, Stage::Closed, close.reason.clone()) })
            })
            .await?;
        Ok(CloseCaseResponse { case: Some(case) })
    }

    pub(super) async fn assign_mediator_rpc(
        &self,
        request: AssignMediatorRequest,
    ) -> Result<AssignMediatorResponse, Error> {
        let team = if request.case_team.is_empty() {
            Ok(None)
        } else {
            at_most("case_team", &request.case_team, crate::domain::TEAM_MAX)
                .map_err(Vec::from)
                .and_then(|team| parse_team("case_team", team))
                .map(Some)
        };
        let (name, expected, mediator, team, waiver) = (
            case_name("name", &request.name),
            etag::parse_expected("etag", &request.etag),
            Name::<Contacts>::parse("mediator", &request.mediator),
            team,
            parse_waiver(request.waiver.as_ref()),
        )
            .validate()?;
        // Parties never change after opening, so they can be read before the lock to ask contacts outside it.
        let before = self.readable(name).await?;
        let mediator_name = mediator.to_string();
        if before.is_party(&mediator_name) {
            return Err(precondition(
                "MEDIATOR_IS_PARTY",
                &mediator_name,
                format!("{mediator_name} is a party of {}: a party can never mediate it", before.resource_name()),
            ));
        }
        let mut people = vec![mediator_name.clone()];
        people.extend(team.iter().flatten().map(ToString::to_string).filter(|n| *n != mediator_name));
        let (resolved, conflicts) = tokio::try_join!(
            self.contacts.resolve_contacts(people),
            self.contacts.check_conflict_of_interest(mediator_name.clone(), before.party_names()),
        )?;
        let refusals =
            Refusals { not_found: "CONTACT_NOT_FOUND", deleted: "CONTACT_DELETED", merged: "CONTACT_MERGED" };
        resolved.ensure_usable("contact", refusals)?;
        if !conflicts.findings.is_empty() {
            match &waiver {
                None => {
                    return Err(Error::FailedPrecondition {
                        reason: "MEDIATOR_CONFLICT",
                        violations: (conflicts.findings.iter())
                            .map(|f| PreconditionViolation {
                                kind: "MEDIATOR_CONFLICT".into(),
                                subject: f.party.clone(),
                                description: format!("{} (path: {})", f.reason, f.path.join(" → ")),
                            })
                            .collect(),
                    });
                }
                Some(waiver) => {
                    let missing: Vec<PreconditionViolation> = (before.party_names().into_iter())
                        .filter(|party| !waiver.consents.iter().any(|(p, _)| p == party))
                        .map(|party| PreconditionViolation {
                            kind: "CONSENT_MISSING".into(),
                            description: format!("the waiver has no consent of {party}"),
                            subject: party,
                        })
                        .collect();
                    let strangers: Vec<PreconditionViolation> = (waiver.consents.iter())
                        .filter(|(p, _)| !before.is_party(p))
                        .map(|(p, _)| PreconditionViolation {
                            kind: "NOT_A_PARTY".into(),
                            subject: p.clone(),
                            description: format!("{p} is not a party: only parties consent"),
                        })
                        .collect();
                    if !missing.is_empty() || !strangers.is_empty() {
                        let reason = if missing.is_empty() { "NOT_A_PARTY" } else { "CONSENT_MISSING" };
                        return Err(Error::FailedPrecondition { reason, violations: [missing, strangers].concat() });
                    }
                }
            }
        }
        let waived = !conflicts.findings.is_empty();
        let links: Vec<String> = conflicts.findings.iter().map(|f| f.reason.clone()).collect();
        let case = self
            .transition(name, expected, Action::AssignMediator, |case, _, from, leads, _| {
                let previous = std::mem::replace(&mut case.case.mediator, mediator_name.clone());
                if let Some(team) = team {
                    case.details.case_team = team.iter().map(ToString::to_string).collect();
                }
                let mut reason = if previous.is_empty() || previous == mediator_name {
                    format!("{mediator_name} assigned")
                } else {
                    format!("{mediator_name} replaces {previous}")
                };
                if waived && let Some(waiver) = waiver {
                    reason.push_str(&format!(
                        "; conflicts waived with every party's consent ({}): {}",
                        links.join("; "),
                        waiver.justification
                    ));
                    case.details.waiver = Some(waiver);
                } else {
                    case.details.waiver = None;
                }
                Ok(Step::to(Action::AssignMediator, next_stage(from, leads, true, true), reason))
            })
            .await?;
        Ok(AssignMediatorResponse { case: Some(case) })
    }
}

/// How a CloseCase request ends the case, checked.
struct Closure {
    outcome: Outcome,
    reason: String,
    detail: ClosureDetail,
}

enum ClosureDetail {
    Resolved(Confirmation),
    Unresolved,
    Inconclusive(chrono::DateTime<chrono::Utc>),
}

impl Closure {
    fn parse(request: &CloseCaseRequest) -> Result<Self, Vec<FieldViolation>> {
        let outcome = match Outcome::parse("outcome", request.outcome) {
            Ok(outcome) => outcome,
            Err(missing) => return Err(Self::checked_without_outcome(request, missing)),
        };
        let reason = match outcome {
            Outcome::Resolved => reason(&request.reason),
            _ => required_long_text("reason", &request.reason, REASON_MAX),
        };
        let detail = match outcome {
            Outcome::Resolved => match &request.confirmation {
                None => Err(vec![FieldViolation::new("confirmation", "is required for a resolved closure")]),
                Some(c) => (
                    PartyName::parse("confirmation.confirmed_by", &c.confirmed_by),
                    required_text("confirmation.record", &c.record, RECORD_MAX),
                )
                    .collect()
                    .map(|(by, record)| ClosureDetail::Resolved(Confirmation { confirmed_by: by.to_string(), record })),
            },
            Outcome::Unresolved => Ok(ClosureDetail::Unresolved),
            Outcome::Inconclusive => from_timestamp("unreachable_since", request.unreachable_since.as_ref())
                .map(ClosureDetail::Inconclusive)
                .map_err(Vec::from),
        };
        let (reason, detail) = (reason, detail).collect()?;
        Ok(Self { outcome, reason, detail })
    }

    /// Without a good outcome, which fields are required is unknown; what the fields hold is still checked, so
    /// that every bad field is named at once.
    fn checked_without_outcome(request: &CloseCaseRequest, outcome: FieldViolation) -> Vec<FieldViolation> {
        let mut violations = vec![outcome];
        violations.extend(reason(&request.reason).err());
        if let Some(c) = &request.confirmation {
            if !c.confirmed_by.is_empty() {
                violations.extend(PartyName::parse("confirmation.confirmed_by", &c.confirmed_by).err());
            }
            if !c.record.is_empty() {
                violations.extend(required_text("confirmation.record", &c.record, RECORD_MAX).err());
            }
        }
        if request.unreachable_since.is_some() {
            violations.extend(from_timestamp("unreachable_since", request.unreachable_since.as_ref()).err());
        }
        violations
    }
}

fn parse_waiver(waiver: Option<&ConflictWaiver>) -> Result<Option<Waiver>, Vec<FieldViolation>> {
    let Some(waiver) = waiver else { return Ok(None) };
    let consents = at_most("waiver.consents", &waiver.consents, crate::domain::PARTIES_MAX).map_err(Vec::from)?;
    let mut violations = Vec::new();
    let mut parsed = Vec::new();
    if consents.is_empty() {
        violations.push(FieldViolation::new("waiver.consents", "needs every party's consent"));
    }
    for (i, consent) in consents.iter().enumerate() {
        let field = format!("waiver.consents[{i}]");
        match (
            PartyName::parse(&format!("{field}.party"), &consent.party),
            required_text(&format!("{field}.record"), &consent.record, RECORD_MAX),
        )
            .collect()
        {
            Ok((party, _)) if parsed.iter().any(|(p, _): &(String, String)| *p == party.to_string()) => {
                violations.push(FieldViolation::new(format!("{field}.party"), "is listed twice"))
            }
            Ok((party, record)) => parsed.push((party.to_string(), record)),
            Err(v) => violations.extend(v),
        }
    }
    match required_long_text("waiver.justification", &waiver.justification, REASON_MAX) {
        Ok(justification) if violations.is_empty() => Ok(Some(Waiver { consents: parsed, justification })),
        Ok(_) => Err(violations),
        Err(v) => {
            violations.push(v);
            Err(violations)
        }
    }
}
