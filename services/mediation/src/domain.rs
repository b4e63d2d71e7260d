//! The rules of cases, free of I/O.
use liaison_runtime::api::names::{PartyName, parse_list};
use liaison_runtime::api::validate::{long_text, required_text};
use liaison_runtime::{FieldViolation, Validate};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const PARTIES_MIN: usize = 2;
pub const PARTIES_MAX: usize = 50;

/// Where a case stands; a new case is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Open,
    InMediation,
    Resolved,
    Closed,
}

impl CaseState {
    pub fn wire(self) -> liaison_proto::mediation::v1::CaseState {
        use liaison_proto::mediation::v1::CaseState as Wire;
        match self {
            Self::Open => Wire::Open,
            Self::InMediation => Wire::InMediation,
            Self::Resolved => Wire::Resolved,
            Self::Closed => Wire::Closed,
        }
    }

    /// The state stored in the database.
    pub fn from_stored(value: i32) -> Option<Self> {
        use liaison_proto::mediation::v1::CaseState as Wire;
        match Wire::try_from(value).ok()? {
            Wire::Open => Some(Self::Open),
            Wire::InMediation => Some(Self::InMediation),
            Wire::Resolved => Some(Self::Resolved),
            Wire::Closed => Some(Self::Closed),
            Wire::Unspecified => None,
        }
    }
}

/// A case as a client opens it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub title: String,
    pub description: String,
    pub parties: Vec<PartyName>,
}

impl NewCase {
    pub fn parse(case: &liaison_proto::mediation::v1::Case) -> Result<Self, Vec<FieldViolation>> {
        let (title, description, parties) = (
            required_text("case.title", &case.title, TITLE_MAX),
            long_text("case.description", &case.description, DESCRIPTION_MAX),
            parse_list("case.parties", &case.parties, PARTIES_MIN, PARTIES_MAX, PartyName::parse),
        )
            .collect()?;
        Ok(Self { title, description, parties })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::mediation::v1::Case;
    use liaison_runtime::api::names::{Contacts, Name, Organizations};

    #[test]
    fn a_case_needs_at_least_two_parties() {
        let case = Case {
            title: "Noise dispute".into(),
            parties: vec![Name::<Contacts>::generate().to_string()],
            ..Default::default()
        };
        let violations = NewCase::parse(&case).expect_err("one party");
        assert_eq!(violations[0].field, "case.parties");
    }

    #[test]
    fn parties_may_be_contacts_or_organizations() {
        let case = Case {
            title: "Noise dispute".into(),
            parties: vec![Name::<Contacts>::generate().to_string(), Name::<Organizations>::generate().to_string()],
            ..Default::default()
        };
        assert_eq!(NewCase::parse(&case).map(|c| c.parties.len()), Ok(2));
    }

    #[test]
    fn a_meeting_is_not_a_party() {
        let case = Case {
            title: "x".into(),
            parties: vec![Name::<Contacts>::generate().to_string(), "meetings/abc".into()],
            ..Default::default()
        };
        assert_eq!(NewCase::parse(&case).expect_err("bad party")[0].field, "case.parties[1]");
    }

    #[test]
    fn stored_states_round_trip() {
        for state in [CaseState::Open, CaseState::InMediation, CaseState::Resolved, CaseState::Closed] {
            assert_eq!(CaseState::from_stored(state.wire() as i32), Some(state));
        }
        assert_eq!(CaseState::from_stored(0), None);
    }
}
