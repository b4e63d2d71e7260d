//! Commitments, free of I/O: promises made to a stakeholder, their lifecycle (open → assessed → in progress →
//! closed, or referred elsewhere from any open state; closed and referred ones reopen), the evidence of their
//! delivery, and what is computed on read — their progress from what is linked to them, and whether they are
//! overdue. History and evidence are kept as JSON documents with the commitment, read and written whole.
use super::lifecycle::precondition;
use super::project::MilestoneName;
use super::{Collector, link};
use chrono::{DateTime, Utc};
use liaison_proto::scheduling::v1 as wire;
use liaison_runtime::api::names::{ActionItems, Cases, Collection, Contacts, Meetings, Name, PartyName, parse_list};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{long_text, optional_text, required_text};
use liaison_runtime::{Error, FieldViolation, PreconditionViolation};
use serde::{Deserialize, Serialize};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 4000;
pub const LINKED_MAX: usize = 100;
pub const NOTE_MAX: usize = 2000;
pub const REFERRED_TO_MAX: usize = 500;
pub const EVIDENCE_MAX: usize = 100;
pub const EVIDENCE_DESCRIPTION_MAX: usize = 1000;
pub const EVIDENCE_LINK_MAX: usize = 2000;

pub const INVALID_TRANSITION: &str = "INVALID_TRANSITION";
pub const COMMITMENT_CLOSED: &str = "COMMITMENT_CLOSED";
pub const TOO_MUCH_EVIDENCE: &str = "TOO_MUCH_EVIDENCE";
pub const PARTY_NOT_FOUND: &str = "PARTY_NOT_FOUND";

/// The collection of commitments: `Name<Commitments>` is `commitments/{id}`, parsed strictly (a UUID id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Commitments {}

impl Collection for Commitments {
    const SEGMENT: &'static str = "commitments";
}

/// An enum of the API stored as lower-case words (`in_progress`): to and from storage and the wire, where the
/// variants carry the same names, and its short upper-case label (`IN_PROGRESS`) for messages.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident: $wire:ident { $($variant:ident = $stored:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }

            pub fn from_stored(stored: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == stored)
            }

            pub fn to_wire(self) -> liaison_proto::scheduling::v1::$wire {
                match self { $(Self::$variant => liaison_proto::scheduling::v1::$wire::$variant),+ }
            }

            /// The stored value as a wire number; an unreadable one is UNSPECIFIED.
            pub fn wire_of(stored: &str) -> i32 {
                Self::from_stored(stored).map_or(0, |v| v.to_wire() as i32)
            }

            pub fn label(self) -> String {
                self.as_str().to_uppercase()
            }

            /// A wire value: unset is `None`; a number that is none of the values is named with the values.
            pub fn from_wire(field: &str, value: i32) -> Result<Option<Self>, FieldViolation> {
                match liaison_proto::scheduling::v1::$wire::try_from(value) {
                    Ok(liaison_proto::scheduling::v1::$wire::Unspecified) => Ok(None),
                    $(Ok(liaison_proto::scheduling::v1::$wire::$variant) => Ok(Some(Self::$variant)),)+
                    Err(_) => Err(FieldViolation::new(field, format!(
                        "must be one of {} (got {value})",
                        Self::ALL.iter().map(|v| v.label()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// Where a commitment stands.
    State: CommitmentState { Open = "open", Assessed = "assessed", InProgress = "in_progress", Closed = "closed",
    Referred = "referred" }
}
wire_enum! {
    /// Informal or contractual.
    Kind: CommitmentKind { Informal = "informal", Contractual = "contractual" }
}
wire_enum! {
    /// How much a commitment matters.
    Priority: Priority { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
}
wire_enum! {
    /// How likely a commitment is to be broken.
    Risk: Risk { Low = "low", Medium = "medium", High = "high" }
}

impl State {
    /// Not yet kept nor handed on: it can still be late, and it can still be changed.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::Assessed | Self::InProgress)
    }

    /// The states this one may move to: one step along open → assessed → in progress → closed, referred from any
    /// open state, and back to open from closed or referred.
    pub fn allowed_next(self) -> &'static [State] {
        match self {
            Self::Open => &[Self::Assessed, Self::Referred],
            Self::Assessed => &[Self::InProgress, Self::Referred],
            Self::InProgress => &[Self::Closed, Self::Referred],
            Self::Closed | Self::Referred => &[Self::Open],
        }
    }
}

/// A move from `from` to `to` of commitment `resource` is allowed, or INVALID_TRANSITION naming the states that
/// are.
pub fn check_transition(resource: &str, from: State, to: State) -> Result<(), Error> {
    let allowed = from.allowed_next();
    if allowed.contains(&to) {
        return Ok(());
    }
    let labels: Vec<String> = allowed.iter().map(|s| s.label()).collect();
    Err(precondition(
        INVALID_TRANSITION,
        resource,
        format!("{resource} is {}: it can move to {} only, not {}", from.label(), labels.join(" or "), to.label()),
    ))
}

/// A commitment that is closed or referred changes only once reopened.
pub fn ensure_open(resource: &str, state: State) -> Result<(), Error> {
    if state.is_open() {
        return Ok(());
    }
    Err(precondition(
        COMMITMENT_CLOSED,
        resource,
        format!("{resource} is {}: reopen it (TransitionCommitment to OPEN) to change it", state.label()),
    ))
}

/// The fields of a commitment a client sets, checked. On create every one is read; on update only those in the
/// mask, the others are `None`. `made_in` empty and `due` `Some(None)` clear them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub stakeholder: Option<PartyName>,
    pub made_in: Option<String>,
    pub kind: Option<Kind>,
    pub owner: Option<Name<Contacts>>,
    pub due: Option<Option<DateTime<Utc>>>,
    pub priority: Option<Priority>,
    pub risk: Option<Risk>,
    pub action_items: Option<Vec<Name<ActionItems>>>,
    pub milestones: Option<Vec<MilestoneName>>,
}

impl Fields {
    /// Every bad field of `c` among those `wanted` (by their names in the message), named at once.
    pub fn parse(c: &wire::Commitment, wanted: impl Fn(&str) -> bool) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let title = wanted("title").then(|| bad.take(required_text("commitment.title", &c.title, TITLE_MAX)));
        let description = wanted("description")
            .then(|| bad.take(long_text("commitment.description", &c.description, DESCRIPTION_MAX)));
        let stakeholder =
            wanted("stakeholder").then(|| bad.take(PartyName::parse("commitment.stakeholder", &c.stakeholder)));
        let made_in = wanted("made_in").then(|| bad.take(made_in("commitment.made_in", &c.made_in)));
        let kind = wanted("kind").then(|| bad.take(Kind::from_wire("commitment.kind", c.kind)));
        let owner = wanted("owner").then(|| bad.take(Name::<Contacts>::parse("commitment.owner", &c.owner)));
        let due = wanted("due_time")
            .then(|| bad.take(c.due_time.as_ref().map(|t| from_timestamp("commitment.due_time", Some(t))).transpose()));
        let priority = wanted("priority").then(|| bad.take(Priority::from_wire("commitment.priority", c.priority)));
        let risk = wanted("risk").then(|| bad.take(Risk::from_wire("commitment.risk", c.risk)));
        let action_items = wanted("action_items").then(|| {
            bad.take(parse_list("commitment.action_items", &c.action_items, 0, LINKED_MAX, Name::<ActionItems>::parse))
        });
        let milestones = wanted("milestones")
            .then(|| bad.take(parse_list("commitment.milestones", &c.milestones, 0, LINKED_MAX, MilestoneName::parse)));
        if !bad.0.is_empty() {
            return Err(bad.0);
        }
        // Every field read parsed (or `bad` would hold its violation): `flatten` keeps what was read.
        Ok(Self {
            title: title.flatten(),
            description: description.flatten(),
            stakeholder: stakeholder.flatten(),
            made_in: made_in.flatten(),
            kind: kind.flatten().map(|k| k.unwrap_or(Kind::Informal)),
            owner: owner.flatten(),
            due: due.flatten(),
            priority: priority.flatten().map(|p| p.unwrap_or(Priority::Medium)),
            risk: risk.flatten().map(|r| r.unwrap_or(Risk::Medium)),
            action_items: action_items.flatten(),
            milestones: milestones.flatten(),
        })
    }

    /// The meeting it was made in, if that was set to one (it must exist).
    pub fn meeting(&self) -> Option<Name<Meetings>> {
        self.made_in.as_deref().and_then(|m| Name::<Meetings>::parse("made_in", m).ok())
    }

    /// The linked resources set, action items first, as their names.
    pub fn links(&self) -> Option<Vec<String>> {
        if self.action_items.is_none() && self.milestones.is_none() {
            return None;
        }
        let items = self.action_items.iter().flatten().map(ToString::to_string);
        Some(items.chain(self.milestones.iter().flatten().map(ToString::to_string)).collect())
    }
}

/// Where a commitment was made: empty, `interactions/{id}` (kept by contacts, any id), `meetings/{id}` or
/// `cases/{id}` (UUIDs).
pub fn made_in(field: &str, value: &str) -> Result<String, FieldViolation> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let expected =
        || FieldViolation::new(field, format!("'{value}' is not interactions/{{id}}, meetings/{{id}} or cases/{{id}}"));
    match link(field, value)?.split('/').collect::<Vec<_>>().as_slice() {
        ["interactions", _] => Ok(value.to_owned()),
        ["meetings", _] => Name::<Meetings>::parse(field, value).map(|n| n.to_string()),
        ["cases", _] => Name::<Cases>::parse(field, value).map(|n| n.to_string()),
        _ => Err(expected()),
    }
}

/// A requested move along the lifecycle, checked: a note is required to refer or reopen, `referred_to` exactly
/// when referring, a satisfaction (1 to 5, or 0 when not asked) and its note only when closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub to: State,
    pub note: String,
    pub referred_to: String,
    pub satisfaction: i32,
    pub satisfaction_note: String,
}

impl Move {
    pub fn parse(request: &wire::TransitionCommitmentRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let to = bad.take(
            State::from_wire("state", request.state)
                .and_then(|s| s.ok_or_else(|| FieldViolation::new("state", "is required: the state to enter"))),
        );
        let note = bad.take(long_text("note", &request.note, NOTE_MAX));
        let referred_to = bad.take(optional_text("referred_to", &request.referred_to, REFERRED_TO_MAX));
        let satisfaction_note = bad.take(long_text("satisfaction_note", &request.satisfaction_note, NOTE_MAX));
        let Some(to) = to else { return Err(bad.0) };
        if matches!(to, State::Referred | State::Open) && note.as_deref().is_some_and(|n| n.trim().is_empty()) {
            let why = if to == State::Open { "reopen" } else { "refer" };
            bad.0.push(FieldViolation::new("note", format!("say why: a note is required to {why} a commitment")));
        }
        match (to, referred_to.as_deref()) {
            (State::Referred, Some("")) => {
                bad.0.push(FieldViolation::new("referred_to", "is required to refer: to whom or where"))
            }
            (State::Referred, _) | (_, Some("") | None) => {}
            (_, Some(_)) => bad.0.push(FieldViolation::new("referred_to", "is set only when entering REFERRED")),
        }
        if to == State::Closed {
            if !(0..=5).contains(&request.satisfaction) {
                bad.0.push(FieldViolation::new(
                    "satisfaction",
                    format!("must be 1 to 5, or 0 when not asked (got {})", request.satisfaction),
                ));
            }
        } else {
            if request.satisfaction != 0 {
                bad.0.push(FieldViolation::new("satisfaction", "is recorded only when entering CLOSED"));
            }
            if satisfaction_note.as_deref().is_some_and(|n| !n.is_empty()) {
                bad.0.push(FieldViolation::new("satisfaction_note", "is recorded only when entering CLOSED"));
            }
        }
        match (note, referred_to, satisfaction_note) {
            (Some(note), Some(referred_to), Some(satisfaction_note)) if bad.0.is_empty() => {
                Ok(Self { to, note, referred_to, satisfaction: request.satisfaction, satisfaction_note })
            }
            _ => Err(bad.0),
        }
    }
}

/// One change of state as kept in a commitment's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Stored states (`State::as_str`).
    pub from: String,
    pub to: String,
    pub note: String,
    /// RFC 3339.
    pub time: String,
    pub actor: String,
}

/// Evidence of delivery as kept with a commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub description: String,
    pub link: String,
    /// RFC 3339.
    pub add_time: String,
    pub actor: String,
}

impl Evidence {
    /// The evidence asked for (`add_time` and `actor` are the service's to set): every bad field named.
    pub fn parse(evidence: Option<&wire::Evidence>) -> Result<(String, String), Vec<FieldViolation>> {
        let evidence = evidence.cloned().unwrap_or_default();
        let description = required_text("evidence.description", &evidence.description, EVIDENCE_DESCRIPTION_MAX);
        let link = evidence_link("evidence.link", &evidence.link);
        match (description, link) {
            (Ok(description), Ok(link)) => Ok((description, link)),
            (description, link) => Err(description.err().into_iter().chain(link.err()).collect()),
        }
    }
}

/// Where evidence is: empty, an `https://` URL with a host, or a resource name (`collection/id` segments).
pub fn evidence_link(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.chars().count() > EVIDENCE_LINK_MAX {
        return Err(FieldViolation::new(field, format!("must be at most {EVIDENCE_LINK_MAX} characters")));
    }
    let valid = if value.starts_with("https://") {
        super::video_link(field, value).is_ok()
    } else {
        link(field, value).is_ok()
    };
    if valid {
        Ok(value.to_owned())
    } else {
        Err(FieldViolation::new(field, "must be an https:// URL with a host or a resource name such as meetings/{id}"))
    }
}

/// A JSON list kept with a commitment (history, evidence).
pub fn list_to_json<T: Serialize>(entries: &[T]) -> String {
    // A list of structs of strings always serialises.
    serde_json::to_string(entries).unwrap_or_else(|_| "[]".to_owned())
}

pub fn list_from_json<T: for<'de> Deserialize<'de>>(json: &str) -> Result<Vec<T>, Error> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("a stored commitment list is unreadable: {e}")))
}

/// A linked action item's share of its commitment's progress: done 100, open 0, cancelled left out.
pub fn action_item_share(state: super::action_item::State) -> Option<i32> {
    use super::action_item::State;
    match state {
        State::Done => Some(100),
        State::Open => Some(0),
        State::Cancelled => None,
    }
}

/// A commitment's progress, 0 to 100: 100 once CLOSED; otherwise the mean of the shares of what is linked to it
/// (`None` shares — cancelled, or gone — left out), rounded down so that 100 means everything delivered; 0 when
/// nothing counts.
pub fn progress(state: State, shares: impl IntoIterator<Item = Option<i32>>) -> i32 {
    if state == State::Closed {
        return 100;
    }
    let counted: Vec<i64> = shares.into_iter().flatten().map(|s| i64::from(s.clamp(0, 100))).collect();
    if counted.is_empty() {
        return 0;
    }
    (counted.iter().sum::<i64>() / counted.len() as i64) as i32
}

/// Open (not CLOSED or REFERRED) and past its due time at `now`.
pub fn is_overdue(state: State, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    state.is_open() && due.is_some_and(|due| due < now)
}

/// How many overdue commitments one party (an owner or a stakeholder) has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCount {
    pub party: String,
    pub overdue: i64,
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Most overdue commitments first, then by party name.
pub fn rank(mut counts: Vec<OverdueCount>) -> Vec<OverdueCount> {
    counts.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.party.cmp(&b.party)));
    counts
}

/// The refusal of the parties of a commitment, from the violations of the contacts check: a stakeholder that does
/// not exist is PARTY_NOT_FOUND (the other reasons — deleted, merged — are the participant reasons, as for the
/// owner). The reason is the violations' kind when they share one.
pub fn parties_error(stakeholder: Option<&str>, violations: Vec<PreconditionViolation>) -> Error {
    let violations: Vec<PreconditionViolation> = violations
        .into_iter()
        .map(|v| match stakeholder {
            Some(s) if v.subject == s && v.kind == super::PARTICIPANT_NOT_FOUND => PreconditionViolation {
                kind: PARTY_NOT_FOUND.to_owned(),
                description: format!("stakeholder {s} does not exist"),
                ..v
            },
            _ => v,
        })
        .collect();
    let kinds = [
        PARTY_NOT_FOUND,
        super::PARTICIPANT_NOT_FOUND,
        super::PARTICIPANT_DELETED,
        super::PARTICIPANT_MERGED,
        super::PARTICIPANT_DO_NOT_CONTACT,
    ];
    let reason = match violations.first() {
        Some(first) if violations.iter().all(|v| v.kind == first.kind) => {
            kinds.into_iter().find(|k| *k == first.kind).unwrap_or("PARTIES_NOT_USABLE")
        }
        _ => "PARTIES_NOT_USABLE",
    };
    Error::FailedPrecondition { reason, violations }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_runtime::api::names::Organizations;

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    fn commitment() -> wire::Commitment {
        wire::Commitment {
            title: "Send the revised contract".into(),
            stakeholder: Name::<Organizations>::generate().to_string(),
            owner: Name::<Contacts>::generate().to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn a_commitment_name_is_a_uuid_under_commitments() {
        let name = Name::<Commitments>::generate();
        assert_eq!(Name::<Commitments>::parse("name", &name.to_string()), Ok(name));
        for bad in ["commitments/x", "commitment/0193a5b2-7c1d-7000-8000-000000000001", "", "commitments/"] {
            assert!(Name::<Commitments>::parse("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unset_kind_priority_and_risk_take_their_defaults() {
        let parsed = Fields::parse(&commitment(), |_| true).unwrap();
        assert_eq!(
            (parsed.kind, parsed.priority, parsed.risk),
            (Some(Kind::Informal), Some(Priority::Medium), Some(Risk::Medium))
        );
        assert_eq!(parsed.due, Some(None));
        assert_eq!(parsed.links(), Some(vec![]));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let twice = Name::<ActionItems>::generate().to_string();
        let c = wire::Commitment {
            title: " ".into(),
            stakeholder: "meetings/1".into(),
            made_in: "projects/1".into(),
            kind: 9,
            owner: String::new(),
            priority: -1,
            action_items: vec![twice.clone(), twice],
            milestones: vec!["projects/x/milestones/y".into()],
            ..Default::default()
        };
        let bad = Fields::parse(&c, |_| true).unwrap_err();
        assert_eq!(
            fields(&bad),
            [
                "commitment.title",
                "commitment.stakeholder",
                "commitment.made_in",
                "commitment.kind",
                "commitment.owner",
                "commitment.priority",
                "commitment.action_items[1]",
                "commitment.milestones[0]"
            ]
        );
        assert!(bad[3].description.contains("INFORMAL, CONTRACTUAL"), "{}", bad[3].description);
    }

    #[test]
    fn only_the_wanted_fields_are_read() {
        let c = wire::Commitment { title: "New title".into(), owner: "nobody".into(), ..Default::default() };
        let parsed = Fields::parse(&c, |f| f == "title").unwrap();
        assert_eq!(parsed, Fields { title: Some("New title".into()), ..Default::default() });
        assert_eq!(parsed.links(), None);
    }

    #[test]
    fn made_in_is_an_interaction_a_meeting_or_a_case() {
        let meeting = Name::<Meetings>::generate().to_string();
        assert_eq!(made_in("m", &meeting).as_deref(), Ok(meeting.as_str()));
        assert!(made_in("m", "interactions/abc-1").is_ok());
        assert_eq!(made_in("m", ""), Ok(String::new()));
        for bad in ["meetings/1", "cases/x", "projects/1", "interactions/1/notes/2", "interactions"] {
            assert!(made_in("m", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_lifecycle_moves_one_step_at_a_time_and_reopens() {
        let path = [State::Open, State::Assessed, State::InProgress, State::Closed, State::Open];
        for step in path.windows(2) {
            assert!(check_transition("c", step[0], step[1]).is_ok(), "{step:?}");
        }
        for open in [State::Open, State::Assessed, State::InProgress] {
            assert!(check_transition("c", open, State::Referred).is_ok());
        }
        assert!(check_transition("c", State::Referred, State::Open).is_ok());
        match check_transition("commitments/1", State::Open, State::Closed) {
            Err(Error::FailedPrecondition { reason, violations }) => {
                assert_eq!(reason, INVALID_TRANSITION);
                assert_eq!(
                    violations[0].description,
                    "commitments/1 is OPEN: it can move to ASSESSED or REFERRED only, not CLOSED"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(check_transition("c", State::Closed, State::Closed).is_err());
        assert!(ensure_open("c", State::InProgress).is_ok());
        assert!(ensure_open("c", State::Referred).is_err());
    }

    fn asked(state: State) -> wire::TransitionCommitmentRequest {
        wire::TransitionCommitmentRequest { state: state.to_wire() as i32, ..Default::default() }
    }

    #[test]
    fn referring_and_reopening_need_a_note_and_referring_needs_someone() {
        let bad = Move::parse(&asked(State::Referred)).unwrap_err();
        assert_eq!(fields(&bad), ["note", "referred_to"]);
        let bad = Move::parse(&asked(State::Open)).unwrap_err();
        assert_eq!(fields(&bad), ["note"]);
        let ok = Move::parse(&wire::TransitionCommitmentRequest {
            note: "Legal owns it".into(),
            referred_to: "organizations/legal".into(),
            ..asked(State::Referred)
        });
        assert_eq!(ok.map(|m| m.referred_to), Ok("organizations/legal".to_owned()));
    }

    #[test]
    fn satisfaction_is_recorded_only_at_close_and_from_one_to_five() {
        let closing = |satisfaction| wire::TransitionCommitmentRequest { satisfaction, ..asked(State::Closed) };
        assert_eq!(Move::parse(&closing(5)).map(|m| m.satisfaction), Ok(5));
        assert_eq!(Move::parse(&closing(0)).map(|m| m.satisfaction), Ok(0));
        assert_eq!(fields(&Move::parse(&closing(6)).unwrap_err()), ["satisfaction"]);
        let early = wire::TransitionCommitmentRequest {
            satisfaction: 3,
            satisfaction_note: "happy".into(),
            referred_to: "x".into(),
            ..asked(State::Assessed)
        };
        assert_eq!(fields(&Move::parse(&early).unwrap_err()), ["referred_to", "satisfaction", "satisfaction_note"]);
        assert_eq!(fields(&Move::parse(&asked(State::Open)).unwrap_err()), ["note"]);
        assert_eq!(fields(&Move::parse(&wire::TransitionCommitmentRequest::default()).unwrap_err()), ["state"]);
    }

    #[test]
    fn evidence_needs_a_description_and_links_to_https_or_a_resource() {
        let asked = |description: &str, link: &str| wire::Evidence {
            description: description.into(),
            link: link.into(),
            ..Default::default()
        };
        assert!(Evidence::parse(Some(&asked("Signed copy", "https://files.example.org/c.pdf"))).is_ok());
        assert!(Evidence::parse(Some(&asked("Minutes", "meetings/abc"))).is_ok());
        let bad = Evidence::parse(Some(&asked("", "http://insecure.example.org"))).unwrap_err();
        assert_eq!(fields(&bad), ["evidence.description", "evidence.link"]);
        assert_eq!(fields(&Evidence::parse(None).unwrap_err()), ["evidence.description"]);
    }

    #[test]
    fn progress_averages_what_counts_and_is_complete_once_closed() {
        use super::super::action_item::State as Item;
        let items = [Item::Done, Item::Open, Item::Cancelled].map(action_item_share);
        assert_eq!(progress(State::InProgress, items), 50, "the cancelled item is left out");
        assert_eq!(progress(State::InProgress, [Some(100), Some(0), Some(50)]), 50);
        assert_eq!(progress(State::InProgress, [Some(100), Some(0), Some(0)]), 33, "rounded down");
        assert_eq!(progress(State::Open, []), 0, "nothing linked");
        assert_eq!(progress(State::Open, [None]), 0, "nothing counts");
        assert_eq!(progress(State::Closed, [Some(0)]), 100);
        assert_eq!(progress(State::Referred, [Some(100), Some(99)]), 99, "100 only when all is delivered");
    }

    #[test]
    fn only_open_commitments_past_due_are_overdue() {
        let now = Utc::now();
        let past = Some(now - chrono::TimeDelta::days(1));
        assert!(is_overdue(State::InProgress, past, now));
        assert!(!is_overdue(State::Closed, past, now));
        assert!(!is_overdue(State::Referred, past, now));
        assert!(!is_overdue(State::Open, None, now));
        assert!(!is_overdue(State::Open, Some(now + chrono::TimeDelta::days(1)), now));
    }

    #[test]
    fn overdue_counts_rank_the_most_overdue_first_then_by_name() {
        let count = |party: &str, overdue| OverdueCount { party: party.into(), overdue, oldest_due: None };
        let ranked = rank(vec![count("contacts/b", 1), count("contacts/c", 3), count("contacts/a", 1)]);
        let order: Vec<&str> = ranked.iter().map(|c| c.party.as_str()).collect();
        assert_eq!(order, ["contacts/c", "contacts/a", "contacts/b"]);
    }

    #[test]
    fn a_missing_stakeholder_is_party_not_found_and_the_owner_keeps_its_reason() {
        let violation = |kind: &str, subject: &str| PreconditionViolation {
            kind: kind.into(),
            subject: subject.into(),
            description: String::new(),
        };
        let error =
            parties_error(Some("contacts/s"), vec![violation(super::super::PARTICIPANT_NOT_FOUND, "contacts/s")]);
        match error {
            Error::FailedPrecondition { reason, violations } => {
                assert_eq!(reason, PARTY_NOT_FOUND);
                assert_eq!(violations[0].description, "stakeholder contacts/s does not exist");
            }
            other => panic!("{other:?}"),
        }
        let mixed = parties_error(
            Some("contacts/s"),
            vec![
                violation(super::super::PARTICIPANT_NOT_FOUND, "contacts/s"),
                violation(super::super::PARTICIPANT_DELETED, "contacts/o"),
            ],
        );
        assert!(matches!(mixed, Error::FailedPrecondition { reason: "PARTIES_NOT_USABLE", .. }));
    }

    #[test]
    fn history_and_evidence_survive_their_json() {
        let history = vec![Transition {
            from: "open".into(),
            to: "assessed".into(),
            note: "looked at".into(),
            time: "2027-01-15T08:00:00.000000Z".into(),
            actor: "jane".into(),
        }];
        assert_eq!(list_from_json::<Transition>(&list_to_json(&history)).unwrap(), history);
        assert!(list_from_json::<Evidence>("{").is_err());
    }
}
