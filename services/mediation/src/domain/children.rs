//! What lives inside a case besides its stage: proposals and the parties' answers, prevention actions, notes —
//! their states and their parsing at the edge.
use super::{REASON_MAX, required_long_text, wire_enum};
use chrono::{DateTime, Utc};
use liaison_proto::mediation::v1 as wire;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::long_text;
use liaison_runtime::{FieldViolation, Validate};
use serde::{Deserialize, Serialize};

pub const TERMS_MAX: usize = 10_000;
pub const COMMENT_MAX: usize = 2_000;
pub const NOTE_MAX: usize = 10_000;
pub const ACTION_MAX: usize = 2_000;

wire_enum! {
    /// Where a proposal stands.
    ProposalState => ProposalState { Open, Agreed, Rejected, Superseded }
}
wire_enum! {
    /// A party's answer to a proposal.
    Answer => Answer { Accept, Reject, Counter }
}
wire_enum! {
    /// Where a prevention action stands.
    ActionState => ActionState { Open, Done, Deferred }
}
wire_enum! {
    /// Who may read a note.
    NoteVisibility => NoteVisibility { Internal, Shared }
}

/// One party's answer as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub party: String,
    pub answer: Answer,
    pub comment: String,
    pub recorded_by: String,
    pub time: DateTime<Utc>,
}

/// An answer as a client sends it, checked: the counter terms are there exactly when countering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswer {
    pub answer: Answer,
    pub counter_terms: Option<String>,
    pub comment: String,
}

impl NewAnswer {
    pub fn parse(request: &wire::RespondToProposalRequest) -> Result<Self, Vec<FieldViolation>> {
        let answer = Answer::parse("answer", request.answer);
        let terms = &request.counter_terms;
        let counter_terms = match &answer {
            Ok(Answer::Counter) => required_long_text("counter_terms", terms, TERMS_MAX).map(Some),
            Ok(_) if !terms.is_empty() => Err(FieldViolation::new("counter_terms", "is for ANSWER_COUNTER only")),
            Ok(_) => Ok(None),
            // Without a good answer, whether terms belong is unknown; what they hold is still checked.
            Err(_) => long_text("counter_terms", terms, TERMS_MAX).map(Some),
        };
        let (answer, comment, counter_terms) =
            (answer, long_text("comment", &request.comment, COMMENT_MAX), counter_terms).collect()?;
        Ok(Self { answer, counter_terms, comment })
    }
}

/// A prevention action as a client creates it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPreventionAction {
    pub description: String,
    pub owner: Name<Contacts>,
    pub due_time: DateTime<Utc>,
}

impl NewPreventionAction {
    pub fn parse(action: &wire::PreventionAction) -> Result<Self, Vec<FieldViolation>> {
        let field = "prevention_action";
        let (description, owner, due_time) = (
            required_long_text(&format!("{field}.description"), &action.description, ACTION_MAX),
            Name::<Contacts>::parse(&format!("{field}.owner"), &action.owner),
            from_timestamp(&format!("{field}.due_time"), action.due_time.as_ref()),
        )
            .collect()?;
        Ok(Self { description, owner, due_time })
    }
}

/// How a prevention action is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Done,
    Deferred(String),
}

impl Settled {
    pub fn parse(request: &wire::SettlePreventionActionRequest) -> Result<Self, Vec<FieldViolation>> {
        let state = match ActionState::parse("state", request.state) {
            Ok(state) => state,
            // Without a good state, whether a reason belongs is unknown; what it holds is still checked.
            Err(bad) => {
                return Err([bad].into_iter().chain(long_text("reason", &request.reason, REASON_MAX).err()).collect());
            }
        };
        match state {
            ActionState::Done if request.reason.is_empty() => Ok(Settled::Done),
            ActionState::Done => Err(vec![FieldViolation::new("reason", "is for ACTION_STATE_DEFERRED only")]),
            ActionState::Deferred => Ok(Settled::Deferred(required_long_text("reason", &request.reason, REASON_MAX)?)),
            ActionState::Open => {
                Err(vec![FieldViolation::new("state", "must be ACTION_STATE_DONE or ACTION_STATE_DEFERRED")])
            }
        }
    }
}

/// A note as a client adds it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub text: String,
    pub visibility: NoteVisibility,
}

impl NewNote {
    pub fn parse(note: &wire::CaseNote) -> Result<Self, Vec<FieldViolation>> {
        let (text, visibility) = (
            required_long_text("note.text", &note.text, NOTE_MAX),
            NoteVisibility::parse("note.visibility", note.visibility),
        )
            .collect()?;
        Ok(Self { text, visibility })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_needs_terms_and_other_answers_take_none() {
        let counter = wire::RespondToProposalRequest { answer: Answer::Counter.wire() as i32, ..Default::default() };
        assert_eq!(NewAnswer::parse(&counter).expect_err("no terms")[0].field, "counter_terms");
        let accept = wire::RespondToProposalRequest {
            answer: Answer::Accept.wire() as i32,
            counter_terms: "x".into(),
            ..Default::default()
        };
        assert_eq!(NewAnswer::parse(&accept).expect_err("terms")[0].field, "counter_terms");
    }

    #[test]
    fn a_deferral_needs_a_reason_and_open_is_not_a_settlement() {
        let defer =
            wire::SettlePreventionActionRequest { state: ActionState::Deferred.wire() as i32, ..Default::default() };
        assert_eq!(Settled::parse(&defer).expect_err("reason")[0].field, "reason");
        let open = wire::SettlePreventionActionRequest { state: ActionState::Open.wire() as i32, ..Default::default() };
        assert_eq!(Settled::parse(&open).expect_err("open")[0].field, "state");
    }

    #[test]
    fn every_bad_field_of_an_action_is_named() {
        let fields: Vec<String> = NewPreventionAction::parse(&wire::PreventionAction::default())
            .expect_err("empty")
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["prevention_action.description", "prevention_action.owner", "prevention_action.due_time"]);
    }
}
