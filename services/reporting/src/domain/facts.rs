//! What a change of another service becomes in the read model: one row per resource (a *fact*), holding the
//! resource's last wire form as the change carried it, the change that carried it, and the few columns a report
//! selects on — its collection, its parent, and the interval during which it matters (`active_from` to
//! `active_until`), so that a report for a period reads the resources active in that period and nothing older —
//! and, for an affiliation, its contact (`member`), so that a report reads who belongs to which organisation from
//! an index without decoding the register's payloads.
use jiff::Timestamp;
use liaison_proto::common::v1::{Change, ChangeKind};
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::mediation::v1 as mediation;
use liaison_proto::scheduling::v1 as scheduling;
use prost::Message;

/// The end of an interval that has not ended: still open, still relevant to every later period.
pub const ONGOING: i64 = i64::MAX;

/// The collections the read model keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Organization,
    Contact,
    Affiliation,
    Interaction,
    Meeting,
    ActionItem,
    Commitment,
    Project,
    Milestone,
    Case,
    PreventionAction,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Organization,
        Kind::Contact,
        Kind::Affiliation,
        Kind::Interaction,
        Kind::Meeting,
        Kind::ActionItem,
        Kind::Commitment,
        Kind::Project,
        Kind::Milestone,
        Kind::Case,
        Kind::PreventionAction,
    ];

    /// The collection segment of the resource name (the last one for nested resources).
    pub fn collection(self) -> &'static str {
        match self {
            Self::Organization => "organizations",
            Self::Contact => "contacts",
            Self::Affiliation => "affiliations",
            Self::Interaction => "interactions",
            Self::Meeting => "meetings",
            Self::ActionItem => "actionItems",
            Self::Commitment => "commitments",
            Self::Project => "projects",
            Self::Milestone => "milestones",
            Self::Case => "cases",
            Self::PreventionAction => "preventionActions",
        }
    }

    pub fn from_collection(collection: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.collection() == collection)
    }

    /// The kind of a resource name: `cases/x/preventionActions/y` is a prevention action.
    pub fn of(resource_name: &str) -> Option<Self> {
        let segments: Vec<&str> = resource_name.split('/').collect();
        if segments.len() < 2 || !segments.len().is_multiple_of(2) || segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        let kind = Self::from_collection(segments[segments.len() - 2])?;
        let nested = matches!(kind, Self::Milestone | Self::PreventionAction);
        (nested == (segments.len() == 4)).then_some(kind)
    }
}

/// One resource as the read model keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub resource_name: String,
    pub kind: Kind,
    /// The resource it belongs to: an affiliation's organisation, an action item's meeting, a milestone's project,
    /// a prevention action's case.
    pub parent: Option<String>,
    /// The contact an affiliation links to its organisation (`parent`); `None` for every other kind.
    pub member: Option<String>,
    /// Microseconds since the epoch from which the resource matters to a report.
    pub active_from: i64,
    /// Microseconds since the epoch until which it matters ([`ONGOING`] while it is open).
    pub active_until: i64,
    /// When it was first seen done (a milestone), in microseconds; kept from the first change that said so.
    pub done_at: Option<i64>,
    /// Open: counted by the dashboard as open (cases not closed, items not done).
    pub open: bool,
    pub confidential: bool,
    /// The wire message's encoding, as the change carried it.
    pub payload: Vec<u8>,
    /// The change that carried it.
    pub sequence: i64,
    pub change_time: i64,
}

/// What to do to the read model for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Upsert(Box<Fact>),
    Remove { resource_name: String },
    Ignore,
}

impl Effect {
    pub fn resource_name(&self) -> Option<&str> {
        match self {
            Self::Upsert(fact) => Some(&fact.resource_name),
            Self::Remove { resource_name } => Some(resource_name),
            Self::Ignore => None,
        }
    }
}

/// Microseconds since the epoch of a wire timestamp (`None` when unset).
pub fn micros(time: Option<&prost_types::Timestamp>) -> Option<i64> {
    time.map(|t| t.seconds.saturating_mul(1_000_000).saturating_add(i64::from(t.nanos / 1_000)))
}

/// A timestamp of microseconds (saturating at jiff's range).
pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(if micros < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// The effect of `change` on the read model. Applying the same change twice has the same result as once. A change
/// whose resource cannot be decoded is ignored (a source newer than this reader, or a redacted copy).
pub fn effect(change: &Change) -> Effect {
    let Some(kind) = Kind::of(&change.resource_name) else { return Effect::Ignore };
    let resource_name = change.resource_name.clone();
    match ChangeKind::try_from(change.kind) {
        Ok(ChangeKind::Deleted | ChangeKind::Purged) => Effect::Remove { resource_name },
        Ok(ChangeKind::Created | ChangeKind::Updated) => {
            let Some(any) = &change.resource else { return Effect::Ignore };
            let change_time = micros(change.change_time.as_ref()).unwrap_or(0);
            match shape(kind, &any.value, change_time) {
                Some(shape) => Effect::Upsert(Box::new(Fact {
                    resource_name,
                    kind,
                    parent: shape.parent,
                    member: shape.member,
                    active_from: shape.active_from,
                    active_until: shape.active_until,
                    done_at: shape.done.then_some(change_time),
                    open: shape.open,
                    confidential: change.confidential || shape.confidential,
                    payload: any.value.clone(),
                    sequence: change.sequence,
                    change_time,
                })),
                None => Effect::Ignore,
            }
        }
        _ => Effect::Ignore,
    }
}

/// The selectable columns of a resource.
struct Shape {
    parent: Option<String>,
    member: Option<String>,
    active_from: i64,
    active_until: i64,
    open: bool,
    done: bool,
    confidential: bool,
}

impl Shape {
    fn new(active_from: i64, active_until: i64, open: bool) -> Self {
        Self { parent: None, member: None, active_from, active_until, open, done: false, confidential: false }
    }
}

fn parent_of(resource_name: &str) -> Option<String> {
    let mut segments = resource_name.rsplitn(3, '/');
    segments.next()?;
    segments.next()?;
    segments.next().map(str::to_owned)
}

fn shape(kind: Kind, bytes: &[u8], change_time: i64) -> Option<Shape> {
    let or = |time: Option<&prost_types::Timestamp>| micros(time).unwrap_or(change_time);
    Some(match kind {
        Kind::Organization => {
            let org = contacts::Organization::decode(bytes).ok()?;
            Shape::new(or(org.create_time.as_ref()), ONGOING, true)
        }
        Kind::Contact => {
            let contact = contacts::Contact::decode(bytes).ok()?;
            let deleted = micros(contact.delete_time.as_ref());
            Shape::new(or(contact.create_time.as_ref()), deleted.unwrap_or(ONGOING), deleted.is_none())
        }
        Kind::Affiliation => {
            let affiliation = contacts::Affiliation::decode(bytes).ok()?;
            Shape {
                parent: Some(affiliation.organization),
                member: Some(affiliation.contact),
                ..Shape::new(or(affiliation.create_time.as_ref()), ONGOING, true)
            }
        }
        Kind::Interaction => {
            let interaction = contacts::Interaction::decode(bytes).ok()?;
            let at = or(interaction.occur_time.as_ref());
            // An open follow-up keeps the interaction relevant to every later period until it is done.
            let open_follow_up = interaction.follow_up.as_ref().is_some_and(|f| !f.action.is_empty() && !f.done);
            Shape::new(at, if open_follow_up { ONGOING } else { at }, open_follow_up)
        }
        Kind::Meeting => {
            let meeting = scheduling::Meeting::decode(bytes).ok()?;
            let start = or(meeting.start_time.as_ref());
            let end = micros(meeting.end_time.as_ref()).unwrap_or(start);
            // A series matters until its last occurrence; its end is not known here, so it stays relevant.
            let until = if meeting.recurrence.is_some() { ONGOING } else { end.max(start) };
            let open = !matches!(
                scheduling::MeetingStatus::try_from(meeting.status),
                Ok(scheduling::MeetingStatus::Cancelled | scheduling::MeetingStatus::Completed)
            );
            Shape::new(start.min(or(meeting.create_time.as_ref())), until, open)
        }
        Kind::ActionItem => {
            let item = scheduling::ActionItem::decode(bytes).ok()?;
            let open = item.state == scheduling::ActionItemState::Open as i32;
            let closed = micros(item.close_time.as_ref()).unwrap_or(change_time);
            Shape {
                parent: (!item.meeting.is_empty()).then_some(item.meeting),
                ..Shape::new(or(item.create_time.as_ref()), if open { ONGOING } else { closed }, open)
            }
        }
        Kind::Commitment => {
            let commitment = scheduling::Commitment::decode(bytes).ok()?;
            let open = !matches!(
                scheduling::CommitmentState::try_from(commitment.state),
                Ok(scheduling::CommitmentState::Closed | scheduling::CommitmentState::Referred)
            );
            let closed = micros(commitment.close_time.as_ref()).unwrap_or(change_time);
            Shape::new(or(commitment.create_time.as_ref()), if open { ONGOING } else { closed }, open)
        }
        Kind::Project => {
            let project = scheduling::Project::decode(bytes).ok()?;
            let start = micros(project.start_time.as_ref()).unwrap_or(or(project.create_time.as_ref()));
            Shape::new(start.min(or(project.create_time.as_ref())), ONGOING, true)
        }
        Kind::Milestone => {
            let milestone = scheduling::Milestone::decode(bytes).ok()?;
            let status = scheduling::MilestoneStatus::try_from(milestone.status);
            let done = status == Ok(scheduling::MilestoneStatus::Done);
            let open = !done && status != Ok(scheduling::MilestoneStatus::Cancelled);
            Shape {
                parent: parent_of(&milestone.name),
                done,
                ..Shape::new(or(milestone.create_time.as_ref()), ONGOING, open)
            }
        }
        Kind::Case => {
            let case = mediation::Case::decode(bytes).ok()?;
            let closed = micros(case.close_time.as_ref());
            let open = !matches!(
                mediation::Stage::try_from(case.stage),
                Ok(mediation::Stage::Closed | mediation::Stage::Rejected | mediation::Stage::Withdrawn)
            );
            let until = if open { ONGOING } else { closed.unwrap_or(change_time) };
            Shape { confidential: case.confidential, ..Shape::new(or(case.create_time.as_ref()), until, open) }
        }
        Kind::PreventionAction => {
            let action = mediation::PreventionAction::decode(bytes).ok()?;
            let open = action.state == mediation::ActionState::Open as i32;
            Shape {
                parent: parent_of(&action.name),
                ..Shape::new(or(action.create_time.as_ref()), if open { ONGOING } else { change_time }, open)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(name: &str, kind: ChangeKind, value: Vec<u8>) -> Change {
        Change {
            sequence: 7,
            resource_name: name.into(),
            kind: kind as i32,
            resource: Some(prost_types::Any { type_url: String::new(), value }),
            change_time: Some(prost_types::Timestamp { seconds: 1_000, nanos: 0 }),
            ..Default::default()
        }
    }

    fn fact(effect: Effect) -> Fact {
        match effect {
            Effect::Upsert(fact) => *fact,
            other => panic!("expected an upsert, got {other:?}"),
        }
    }

    #[test]
    fn names_are_sorted_into_their_kind_and_nested_names_need_their_parent() {
        assert_eq!(Kind::of("contacts/1"), Some(Kind::Contact));
        assert_eq!(Kind::of("cases/1/preventionActions/2"), Some(Kind::PreventionAction));
        assert_eq!(Kind::of("projects/1/milestones/2"), Some(Kind::Milestone));
        assert_eq!(Kind::of("milestones/2"), None);
        assert_eq!(Kind::of("cases/1/notes/2"), None);
        assert_eq!(Kind::of("contacts/1/preventionActions/2/x"), None);
        assert_eq!(Kind::of("reports/1"), None);
        assert_eq!(Kind::of("contacts/"), None);
    }

    #[test]
    fn a_closed_case_is_active_until_its_close_and_an_open_one_stays_ongoing() {
        let open = mediation::Case {
            stage: mediation::Stage::InMediation as i32,
            create_time: Some(prost_types::Timestamp { seconds: 10, nanos: 0 }),
            confidential: true,
            ..Default::default()
        };
        let got = fact(effect(&change("cases/1", ChangeKind::Created, open.encode_to_vec())));
        assert_eq!((got.active_from, got.active_until, got.open, got.confidential), (10_000_000, ONGOING, true, true));
        let closed = mediation::Case {
            stage: mediation::Stage::Closed as i32,
            close_time: Some(prost_types::Timestamp { seconds: 50, nanos: 0 }),
            ..open
        };
        let got = fact(effect(&change("cases/1", ChangeKind::Updated, closed.encode_to_vec())));
        assert_eq!((got.active_until, got.open), (50_000_000, false));
    }

    #[test]
    fn a_done_milestone_is_marked_done_at_its_change_and_belongs_to_its_project() {
        let milestone = scheduling::Milestone {
            name: "projects/p/milestones/m".into(),
            status: scheduling::MilestoneStatus::Done as i32,
            ..Default::default()
        };
        let got = fact(effect(&change("projects/p/milestones/m", ChangeKind::Updated, milestone.encode_to_vec())));
        assert_eq!(got.parent.as_deref(), Some("projects/p"));
        assert_eq!(got.done_at, Some(1_000_000_000));
        assert!(!got.open);
    }

    #[test]
    fn an_interaction_with_an_open_follow_up_stays_relevant() {
        let interaction = contacts::Interaction {
            occur_time: Some(prost_types::Timestamp { seconds: 5, nanos: 0 }),
            follow_up: Some(contacts::FollowUp { action: "send minutes".into(), ..Default::default() }),
            ..Default::default()
        };
        let got = fact(effect(&change("interactions/1", ChangeKind::Created, interaction.encode_to_vec())));
        assert_eq!((got.active_from, got.active_until), (5_000_000, ONGOING));
    }

    #[test]
    fn deletions_remove_and_undecodable_or_unknown_resources_are_ignored() {
        assert_eq!(
            effect(&change("contacts/1", ChangeKind::Purged, vec![])),
            Effect::Remove { resource_name: "contacts/1".into() }
        );
        assert_eq!(effect(&change("contacts/1", ChangeKind::Updated, vec![0xff, 0xff])), Effect::Ignore);
        assert_eq!(effect(&change("reports/1", ChangeKind::Created, vec![])), Effect::Ignore);
        let mut redacted = change("cases/1", ChangeKind::Updated, vec![]);
        redacted.resource = None;
        assert_eq!(effect(&redacted), Effect::Ignore);
    }
}
