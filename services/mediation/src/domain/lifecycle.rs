//! The case lifecycle as one explicit table: for each stage, the actions allowed and where each leads. Every RPC
//! that changes a case asks [`check`] first (under the case's row lock), so an action from the wrong stage is
//! refused the same way everywhere, naming the current stage and what is allowed from it.
use super::{Outcome, Stage};
use liaison_runtime::Error;
use liaison_runtime::api::error::PreconditionViolation;

/// Everything a caller can do to a case, each one RPC (proposal answers and prevention actions included, since
/// they too are allowed only in some stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Acknowledge,
    Assess,
    AssignMediator,
    StartMediation,
    RecordRootCause,
    CreateProposal,
    RespondToProposal,
    StartImplementation,
    CreatePreventionAction,
    SettlePreventionAction,
    ScheduleSession,
    CloseResolved,
    CloseUnresolved,
    CloseInconclusive,
    Escalate,
    Withdraw,
    Appeal,
    Reopen,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Acknowledge,
        Action::Assess,
        Action::AssignMediator,
        Action::StartMediation,
        Action::RecordRootCause,
        Action::CreateProposal,
        Action::RespondToProposal,
        Action::StartImplementation,
        Action::CreatePreventionAction,
        Action::SettlePreventionAction,
        Action::ScheduleSession,
        Action::CloseResolved,
        Action::CloseUnresolved,
        Action::CloseInconclusive,
        Action::Escalate,
        Action::Withdraw,
        Action::Appeal,
        Action::Reopen,
    ];

    /// The RPC that performs it (what the history's `action` records).
    pub fn rpc(self) -> &'static str {
        match self {
            Action::Acknowledge => "AcknowledgeCase",
            Action::Assess => "AssessCase",
            Action::AssignMediator => "AssignMediator",
            Action::StartMediation => "StartMediation",
            Action::RecordRootCause => "RecordRootCause",
            Action::CreateProposal => "CreateProposal",
            Action::RespondToProposal => "RespondToProposal",
            Action::StartImplementation => "StartImplementation",
            Action::CreatePreventionAction => "CreatePreventionAction",
            Action::SettlePreventionAction => "SettlePreventionAction",
            Action::ScheduleSession => "ScheduleSession",
            Action::CloseResolved => "CloseCase(RESOLVED)",
            Action::CloseUnresolved => "CloseCase(UNRESOLVED)",
            Action::CloseInconclusive => "CloseCase(INCONCLUSIVE)",
            Action::Escalate => "EscalateCase",
            Action::Withdraw => "WithdrawCase",
            Action::Appeal => "AppealCase",
            Action::Reopen => "ReopenCase",
        }
    }

    pub fn close(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Resolved => Action::CloseResolved,
            Outcome::Unresolved => Action::CloseUnresolved,
            Outcome::Inconclusive => Action::CloseInconclusive,
        }
    }
}

/// Where an action leads from a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leads {
    /// To this stage.
    To(Stage),
    /// The stage stays (a replacement, a revision, an escalation, work inside the stage).
    Stays,
    /// AssessCase: ASSESSED when eligible, REJECTED otherwise.
    ByAssessment,
    /// AppealCase, ReopenCase: back to IN_MEDIATION when a mediator is assigned, to ACKNOWLEDGED otherwise.
    BackToWork,
}

const OPEN_EVERYWHERE: &[(Action, Leads)] =
    &[(Action::Escalate, Leads::Stays), (Action::Withdraw, Leads::To(Stage::Withdrawn))];
const CLOSE_OUT: &[(Action, Leads)] =
    &[(Action::CloseUnresolved, Leads::To(Stage::Closed)), (Action::CloseInconclusive, Leads::To(Stage::Closed))];

/// The actions allowed in `stage` (besides escalation, withdrawal and close-outs, which [`allowed`] adds for
/// open stages).
fn specific(stage: Stage) -> &'static [(Action, Leads)] {
    use Action::*;
    match stage {
        Stage::Received => &[(Acknowledge, Leads::To(Stage::Acknowledged))],
        Stage::Acknowledged => &[(Assess, Leads::ByAssessment)],
        Stage::Assessed => &[(AssignMediator, Leads::To(Stage::MediatorAssigned))],
        Stage::MediatorAssigned => &[
            (AssignMediator, Leads::Stays),
            (StartMediation, Leads::To(Stage::InMediation)),
            (ScheduleSession, Leads::Stays),
        ],
        Stage::InMediation => &[
            (AssignMediator, Leads::Stays),
            (RecordRootCause, Leads::To(Stage::RootCauseRecorded)),
            (ScheduleSession, Leads::Stays),
        ],
        Stage::RootCauseRecorded => &[
            (AssignMediator, Leads::Stays),
            (RecordRootCause, Leads::Stays),
            (CreateProposal, Leads::Stays),
            (RespondToProposal, Leads::Stays),
            (CreatePreventionAction, Leads::Stays),
            (SettlePreventionAction, Leads::Stays),
            (ScheduleSession, Leads::Stays),
        ],
        Stage::ProposalAgreed => &[
            (StartImplementation, Leads::To(Stage::Implementing)),
            (CreatePreventionAction, Leads::Stays),
            (SettlePreventionAction, Leads::Stays),
            (ScheduleSession, Leads::Stays),
        ],
        Stage::Implementing => &[
            (CreatePreventionAction, Leads::Stays),
            (SettlePreventionAction, Leads::Stays),
            (ScheduleSession, Leads::Stays),
            (CloseResolved, Leads::To(Stage::Closed)),
        ],
        Stage::Closed | Stage::Rejected => &[(Appeal, Leads::BackToWork), (Reopen, Leads::BackToWork)],
        Stage::Withdrawn => &[(Reopen, Leads::BackToWork)],
    }
}

/// Every action allowed in `stage`, with where it leads.
pub fn allowed(stage: Stage) -> Vec<(Action, Leads)> {
    let mut all = specific(stage).to_vec();
    if !stage.is_terminal() {
        if stage != Stage::Received {
            all.extend_from_slice(CLOSE_OUT);
        }
        all.extend_from_slice(OPEN_EVERYWHERE);
    }
    all
}

/// Where `action` leads from `stage`, or FAILED_PRECONDITION (`ILLEGAL_TRANSITION`) naming the current stage and
/// every action allowed from it.
pub fn check(case: &str, stage: Stage, action: Action) -> Result<Leads, Error> {
    let allowed = allowed(stage);
    if let Some((_, leads)) = allowed.iter().find(|(a, _)| *a == action) {
        return Ok(*leads);
    }
    let names: Vec<&str> = allowed.iter().map(|(a, _)| a.rpc()).collect();
    Err(Error::FailedPrecondition {
        reason: "ILLEGAL_TRANSITION",
        violations: vec![PreconditionViolation {
            kind: "ILLEGAL_TRANSITION".into(),
            subject: case.to_owned(),
            description: format!(
                "{} is not allowed: {case} is in stage {}; allowed from there: {}",
                action.rpc(),
                stage.name(),
                if names.is_empty() { "nothing".to_owned() } else { names.join(", ") }
            ),
        }],
    })
}

/// The stage an allowed action moves the case to. `eligible` matters to assessment only, `has_mediator` to
/// appeals and reopening.
pub fn next_stage(stage: Stage, leads: Leads, eligible: bool, has_mediator: bool) -> Stage {
    match leads {
        Leads::To(next) => next,
        Leads::Stays => stage,
        Leads::ByAssessment if eligible => Stage::Assessed,
        Leads::ByAssessment => Stage::Rejected,
        Leads::BackToWork if has_mediator => Stage::InMediation,
        Leads::BackToWork => Stage::Acknowledged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_path_leads_from_received_to_closed() {
        let path = [
            (Stage::Received, Action::Acknowledge, Stage::Acknowledged),
            (Stage::Acknowledged, Action::Assess, Stage::Assessed),
            (Stage::Assessed, Action::AssignMediator, Stage::MediatorAssigned),
            (Stage::MediatorAssigned, Action::StartMediation, Stage::InMediation),
            (Stage::InMediation, Action::RecordRootCause, Stage::RootCauseRecorded),
            (Stage::ProposalAgreed, Action::StartImplementation, Stage::Implementing),
            (Stage::Implementing, Action::CloseResolved, Stage::Closed),
        ];
        for (from, action, to) in path {
            let leads = check("cases/x", from, action).expect("allowed");
            assert_eq!(next_stage(from, leads, true, true), to, "{action:?} from {from:?}");
        }
    }

    #[test]
    fn every_action_outside_the_table_is_refused_naming_the_stage_and_what_is_allowed() {
        for stage in Stage::ALL {
            let allowed: Vec<Action> = allowed(*stage).into_iter().map(|(a, _)| a).collect();
            for action in Action::ALL {
                match check("cases/x", *stage, *action) {
                    Ok(_) => assert!(allowed.contains(action)),
                    Err(Error::FailedPrecondition { reason, violations }) => {
                        assert!(!allowed.contains(action));
                        assert_eq!(reason, "ILLEGAL_TRANSITION");
                        let text = &violations[0].description;
                        assert!(text.contains(stage.name()), "{text}");
                        for ok in &allowed {
                            assert!(text.contains(ok.rpc()), "{text} lacks {}", ok.rpc());
                        }
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_resolved_closure_comes_only_from_implementing_and_close_outs_not_before_acknowledgement() {
        let resolvable: Vec<&Stage> =
            Stage::ALL.iter().filter(|s| check("c", **s, Action::CloseResolved).is_ok()).collect();
        assert_eq!(resolvable, [&Stage::Implementing]);
        assert!(check("c", Stage::Received, Action::CloseUnresolved).is_err());
        assert!(check("c", Stage::Acknowledged, Action::CloseUnresolved).is_ok());
    }

    #[test]
    fn appeals_and_reopening_go_back_to_mediation_only_with_a_mediator() {
        let leads = check("c", Stage::Rejected, Action::Appeal).expect("appealable");
        assert_eq!(next_stage(Stage::Rejected, leads, false, false), Stage::Acknowledged);
        let leads = check("c", Stage::Closed, Action::Reopen).expect("reopenable");
        assert_eq!(next_stage(Stage::Closed, leads, false, true), Stage::InMediation);
        assert!(check("c", Stage::Withdrawn, Action::Appeal).is_err());
    }

    #[test]
    fn an_assessment_rejects_when_not_eligible() {
        let leads = check("c", Stage::Acknowledged, Action::Assess).expect("allowed");
        assert_eq!(next_stage(Stage::Acknowledged, leads, false, false), Stage::Rejected);
    }
}
