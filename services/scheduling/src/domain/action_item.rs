//! Action items, free of I/O: their states and which moves between them are allowed. An item is open until it is
//! done or cancelled (with a note saying why); a closed item can be reopened, and only an open one is edited.
use liaison_runtime::FieldViolation;

pub const NOTE_MAX: usize = 2000;

/// Where an action item stands (stored as its lower-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Done,
    Cancelled,
}

impl State {
    pub const ALL: [State; 3] = [Self::Open, Self::Done, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    pub fn from_wire(field: &str, value: i32, unset_allowed: bool) -> Result<Option<Self>, FieldViolation> {
        use liaison_proto::scheduling::v1::ActionItemState;
        match ActionItemState::try_from(value) {
            Ok(ActionItemState::Unspecified) if unset_allowed => Ok(None),
            Ok(ActionItemState::Open) => Ok(Some(Self::Open)),
            Ok(ActionItemState::Done) => Ok(Some(Self::Done)),
            Ok(ActionItemState::Cancelled) => Ok(Some(Self::Cancelled)),
            _ => Err(FieldViolation::new(field, "must be OPEN, DONE or CANCELLED")),
        }
    }

    pub fn to_wire(self) -> liaison_proto::scheduling::v1::ActionItemState {
        use liaison_proto::scheduling::v1::ActionItemState;
        match self {
            Self::Open => ActionItemState::Open,
            Self::Done => ActionItemState::Done,
            Self::Cancelled => ActionItemState::Cancelled,
        }
    }
}

/// A requested change of state with its note, checked: cancelling needs a note saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub state: State,
    pub note: String,
}

impl StateChange {
    pub fn parse(state: i32, note: &str) -> Result<Self, Vec<FieldViolation>> {
        let state = State::from_wire("state", state, false).map(|s| s.unwrap_or(State::Open));
        let note = liaison_runtime::api::validate::long_text("note", note, NOTE_MAX);
        match (state, note) {
            (Ok(State::Cancelled), Ok(note)) if note.trim().is_empty() => {
                Err(vec![FieldViolation::new("note", "say why the action item is cancelled")])
            }
            (Ok(state), Ok(note)) => Ok(Self { state, note }),
            (state, note) => Err(state.err().into_iter().chain(note.err()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::scheduling::v1::ActionItemState;

    #[test]
    fn cancelling_needs_a_note_and_closing_as_done_does_not() {
        let cancelled = StateChange::parse(ActionItemState::Cancelled as i32, " ").unwrap_err();
        assert_eq!(cancelled[0].field, "note");
        let done = StateChange::parse(ActionItemState::Done as i32, "").unwrap();
        assert_eq!(done.state, State::Done);
    }

    #[test]
    fn an_unset_or_unknown_state_is_refused_with_a_bad_note_in_one_answer() {
        let bad = StateChange::parse(0, &"x".repeat(NOTE_MAX + 1)).unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["state", "note"]);
        assert!(StateChange::parse(9, "").is_err());
    }

    #[test]
    fn states_round_trip_through_storage() {
        for state in State::ALL {
            assert_eq!(State::from_stored(state.as_str()), Some(state));
        }
        assert_eq!(State::from_stored("closed"), None);
    }
}
