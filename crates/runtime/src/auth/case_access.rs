//! Who may see what of a case, for mediation (which keeps cases) and reporting (which counts them). A
//! confidential case is readable only by its mediator, its case team and those who see every confidential record
//! (administrators; the cluster's reporting service, which only counts); to anyone else it does not exist. A party
//! reading its own case sees its shared notes and its proposals, never internal notes, confidential or not.
use crate::auth::Caller;

/// What the caller is, as far as cases are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Sees every confidential record.
    pub all: bool,
    /// The caller's own contact, if its token names one.
    pub contact: Option<String>,
}

/// A case as far as access is concerned.
pub struct CaseView<'a> {
    pub confidential: bool,
    pub mediator: &'a str,
    pub team: &'a [String],
    pub parties: Vec<&'a str>,
}

impl Access {
    pub fn of(caller: &Caller) -> Self {
        Self { all: caller.sees_all_confidential(), contact: caller.identity.contact.clone() }
    }

    /// Background work of the service itself (automatic escalation).
    pub fn service() -> Self {
        Self { all: true, contact: None }
    }

    /// The caller works the case: its mediator or a member of its team.
    pub fn works(&self, case: &CaseView<'_>) -> bool {
        self.contact.as_deref().is_some_and(|me| me == case.mediator || case.team.iter().any(|m| m == me))
    }

    /// The case exists for the caller: Get, List and every change.
    pub fn may_read(&self, case: &CaseView<'_>) -> bool {
        !case.confidential || self.all || self.works(case)
    }

    /// The caller is one of the case's parties and not staff on it: it sees shared notes and proposals only.
    pub fn is_outside_party(&self, case: &CaseView<'_>) -> bool {
        !self.all && !self.works(case) && self.contact.as_deref().is_some_and(|me| case.parties.contains(&me))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(confidential: bool, team: &'a [String], parties: &'a [String]) -> CaseView<'a> {
        CaseView { confidential, mediator: "contacts/m", team, parties: parties.iter().map(String::as_str).collect() }
    }

    fn caller(contact: Option<&str>) -> Access {
        Access { all: false, contact: contact.map(str::to_owned) }
    }

    #[test]
    fn a_confidential_case_exists_only_for_its_mediator_team_and_those_who_see_all() {
        let (team, parties) = (vec!["contacts/t".to_owned()], vec!["contacts/p".to_owned()]);
        let case = view(true, &team, &parties);
        assert!(caller(Some("contacts/m")).may_read(&case));
        assert!(caller(Some("contacts/t")).may_read(&case));
        assert!(Access::service().may_read(&case));
        assert!(!caller(Some("contacts/other")).may_read(&case));
        assert!(!caller(None).may_read(&case));
        assert!(!caller(Some("contacts/p")).may_read(&case), "a party does not read the confidential case itself");
        assert!(caller(None).may_read(&view(false, &team, &parties)));
    }

    #[test]
    fn a_party_outside_the_team_is_recognised_and_a_mediator_is_not_one() {
        let (team, parties) = (vec![], vec!["contacts/p".to_owned(), "contacts/m".to_owned()]);
        let case = view(false, &team, &parties);
        assert!(caller(Some("contacts/p")).is_outside_party(&case));
        assert!(!caller(Some("contacts/m")).is_outside_party(&case));
        assert!(!caller(Some("contacts/x")).is_outside_party(&case));
    }
}
