//! What a change of another service means for the read model, free of I/O.
use liaison_proto::common::v1::{Change, ChangeKind};
use prost::Message;

/// The kinds of resources the dashboard counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Organizations,
    Contacts,
    Meetings,
    Cases,
}

impl Collection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::Contacts => "contacts",
            Self::Meetings => "meetings",
            Self::Cases => "cases",
        }
    }

    fn of(resource_name: &str) -> Option<Self> {
        match resource_name.split('/').next()? {
            "organizations" => Some(Self::Organizations),
            "contacts" => Some(Self::Contacts),
            "meetings" => Some(Self::Meetings),
            "cases" => Some(Self::Cases),
            _ => None,
        }
    }
}

/// What to do to the read model for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The resource exists now, in this state.
    Upsert { resource_name: String, collection: Collection, open: bool },
    /// The resource is gone.
    Remove { resource_name: String },
    /// Nothing the read model keeps (a resource kind it does not count).
    Ignore,
}

/// The effect of `change` on the read model. Applying the same change twice has the same result as once.
pub fn effect(change: &Change) -> Effect {
    let Some(collection) = Collection::of(&change.resource_name) else { return Effect::Ignore };
    let resource_name = change.resource_name.clone();
    match ChangeKind::try_from(change.kind) {
        Ok(ChangeKind::Deleted | ChangeKind::Purged) => Effect::Remove { resource_name },
        Ok(ChangeKind::Created | ChangeKind::Updated) => {
            let open = collection == Collection::Cases && case_is_open(change);
            Effect::Upsert { resource_name, collection, open }
        }
        _ => Effect::Ignore,
    }
}

fn case_is_open(change: &Change) -> bool {
    use liaison_proto::mediation::v1::{Case, CaseState};
    let Some(any) = &change.resource else { return false };
    match Case::decode(any.value.as_slice()) {
        Ok(case) => matches!(CaseState::try_from(case.state), Ok(CaseState::Open | CaseState::InMediation)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::mediation::v1::{Case, CaseState};

    fn change(name: &str, kind: ChangeKind, resource: Option<prost_types::Any>) -> Change {
        Change { sequence: 1, resource_name: name.into(), kind: kind as i32, resource, ..Default::default() }
    }

    #[test]
    fn an_open_case_counts_as_open_and_a_resolved_one_does_not() {
        let any = |state: CaseState| {
            Some(prost_types::Any {
                type_url: "type.googleapis.com/liaison.mediation.v1.Case".into(),
                value: Case { state: state as i32, ..Default::default() }.encode_to_vec(),
            })
        };
        assert_eq!(
            effect(&change("cases/1", ChangeKind::Created, any(CaseState::Open))),
            Effect::Upsert { resource_name: "cases/1".into(), collection: Collection::Cases, open: true }
        );
        assert_eq!(
            effect(&change("cases/1", ChangeKind::Updated, any(CaseState::Resolved))),
            Effect::Upsert { resource_name: "cases/1".into(), collection: Collection::Cases, open: false }
        );
    }

    #[test]
    fn a_deletion_or_a_purge_removes_and_unknown_collections_are_ignored() {
        assert_eq!(
            effect(&change("contacts/1", ChangeKind::Deleted, None)),
            Effect::Remove { resource_name: "contacts/1".into() }
        );
        assert_eq!(
            effect(&change("contacts/1", ChangeKind::Purged, None)),
            Effect::Remove { resource_name: "contacts/1".into() }
        );
        assert_eq!(effect(&change("reports/1", ChangeKind::Created, None)), Effect::Ignore);
    }
}
