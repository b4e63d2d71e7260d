//! Resource names (`contacts/{id}`, `meetings/{id}`, …) as types: a `Name<Contacts>` cannot be passed where a
//! `Name<Meetings>` is expected, and every one in the system has been parsed once at the edge.
use crate::api::error::FieldViolation;
use std::fmt;
use std::marker::PhantomData;
use uuid::Uuid;

/// A collection of resources, e.g. `contacts`.
pub trait Collection {
    /// The collection segment of the resource name.
    const SEGMENT: &'static str;
}

macro_rules! collection {
    ($(#[$doc:meta] $ty:ident => $segment:literal),+ $(,)?) => {
        $(#[$doc] #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)] pub enum $ty {}
        impl Collection for $ty { const SEGMENT: &'static str = $segment; })+
    };
}

collection! {
    /// `organizations/{id}`
    Organizations => "organizations",
    /// `contacts/{id}`
    Contacts => "contacts",
    /// `meetings/{id}`
    Meetings => "meetings",
    /// `cases/{id}`
    Cases => "cases",
    /// `affiliations/{id}`
    Affiliations => "affiliations",
    /// `relationships/{id}`
    Relationships => "relationships",
    /// `actionItems/{id}`
    ActionItems => "actionItems",
    /// `cases/{case}/proposals/{id}`
    Proposals => "proposals",
    /// `cases/{case}/preventionActions/{id}`
    PreventionActions => "preventionActions",
    /// `cases/{case}/notes/{id}`
    Notes => "notes",
    /// `projects/{id}`
    Projects => "projects",
    /// `reports/{id}`
    Reports => "reports",
    /// `feedback/{id}`
    FeedbackEntries => "feedback",
    /// `reportSchedules/{id}`
    ReportSchedules => "reportSchedules",
}

/// The name of one resource of collection `C`. Ids are UUIDv7, so names sort by creation time.
pub struct Name<C> {
    id: Uuid,
    collection: PhantomData<C>,
}

impl<C> Clone for Name<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Name<C> {}
impl<C> PartialEq for Name<C> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<C> Eq for Name<C> {}
impl<C> std::hash::Hash for Name<C> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<C: Collection> fmt::Debug for Name<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl<C: Collection> Name<C> {
    /// A new name with a fresh UUIDv7.
    pub fn generate() -> Self {
        Self { id: Uuid::now_v7(), collection: PhantomData }
    }

    /// Rebuilds a name from an id stored by this service.
    pub fn from_id(id: Uuid) -> Self {
        Self { id, collection: PhantomData }
    }

    /// Parses `"{segment}/{uuid}"`; `field` names the request field in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if value.is_empty() {
            return Err(FieldViolation::new(field, format!("is required: a name of the form {}/{{id}}", C::SEGMENT)));
        }
        let id = value
            .strip_prefix(C::SEGMENT)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|raw| Uuid::try_parse(raw).ok().filter(|id| id.to_string() == raw))
            .ok_or_else(|| {
                FieldViolation::new(field, format!("'{value}' is not a name of the form {}/{{id}}", C::SEGMENT))
            })?;
        Ok(Self::from_id(id))
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The id as stored in the database (lower-case hyphenated text, which sorts like the UUIDv7 itself).
    pub fn key(&self) -> String {
        self.id.to_string()
    }
}

impl<C: Collection> fmt::Display for Name<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", C::SEGMENT, self.id)
    }
}

/// The name of a resource nested under a parent: `{parent}/{segment}/{id}`, e.g. `cases/{c}/proposals/{id}`
/// (`Child<Cases, Proposals>`). Ids are UUIDv7.
pub struct Child<P, C> {
    parent: Name<P>,
    id: Uuid,
    collection: PhantomData<C>,
}

impl<P, C> Clone for Child<P, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, C> Copy for Child<P, C> {}
impl<P, C> PartialEq for Child<P, C> {
    fn eq(&self, other: &Self) -> bool {
        self.parent == other.parent && self.id == other.id
    }
}
impl<P, C> Eq for Child<P, C> {}
impl<P: Collection, C: Collection> fmt::Debug for Child<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl<P: Collection, C: Collection> Child<P, C> {
    /// A new child of `parent` with a fresh UUIDv7.
    pub fn generate(parent: Name<P>) -> Self {
        Self { parent, id: Uuid::now_v7(), collection: PhantomData }
    }

    /// Rebuilds a name from ids stored by this service.
    pub fn from_ids(parent: Name<P>, id: Uuid) -> Self {
        Self { parent, id, collection: PhantomData }
    }

    /// Parses `"{parent segment}/{uuid}/{segment}/{uuid}"`; `field` names the request field in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let form = format!("{}/{{id}}/{}/{{id}}", P::SEGMENT, C::SEGMENT);
        if value.is_empty() {
            return Err(FieldViolation::new(field, format!("is required: a name of the form {form}")));
        }
        let bad = || FieldViolation::new(field, format!("'{value}' is not a name of the form {form}"));
        let separator = format!("/{}/", C::SEGMENT);
        let (parent, id) = value.split_once(&separator).ok_or_else(bad)?;
        let parent = Name::<P>::parse(field, parent).map_err(|_| bad())?;
        let id = Uuid::try_parse(id).ok().filter(|parsed| parsed.to_string() == id).ok_or_else(bad)?;
        Ok(Self::from_ids(parent, id))
    }

    pub fn parent(&self) -> Name<P> {
        self.parent
    }

    /// The id as stored in the database.
    pub fn key(&self) -> String {
        self.id.to_string()
    }
}

impl<P: Collection, C: Collection> fmt::Display for Child<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.parent, C::SEGMENT, self.id)
    }
}

/// A party to a case or an interaction: a contact or an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyName {
    Contact(Name<Contacts>),
    Organization(Name<Organizations>),
}

impl PartyName {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if value.starts_with("organizations/") {
            Name::parse(field, value).map(Self::Organization)
        } else if value.starts_with("contacts/") {
            Name::parse(field, value).map(Self::Contact)
        } else {
            Err(FieldViolation::new(field, format!("'{value}' is neither contacts/{{id}} nor organizations/{{id}}")))
        }
    }
}

impl fmt::Display for PartyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Contact(name) => name.fmt(f),
            Self::Organization(name) => name.fmt(f),
        }
    }
}

/// Parses a list of names: every entry checked (`field[i]`), duplicates rejected, length within `min..=max`.
pub fn parse_list<T: Copy + Eq + std::hash::Hash>(
    field: &str,
    values: &[String],
    min: usize,
    max: usize,
    parse: impl Fn(&str, &str) -> Result<T, FieldViolation>,
) -> Result<Vec<T>, Vec<FieldViolation>> {
    if values.len() < min || values.len() > max {
        return Err(vec![FieldViolation::new(field, format!("must list {min} to {max} names (got {})", values.len()))]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut parsed = Vec::with_capacity(values.len());
    let mut violations = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let entry = format!("{field}[{index}]");
        match parse(&entry, value) {
            Ok(name) if !seen.insert(name) => {
                violations.push(FieldViolation::new(entry, format!("'{value}' is listed twice")))
            }
            Ok(name) => parsed.push(name),
            Err(violation) => violations.push(violation),
        }
    }
    if violations.is_empty() { Ok(parsed) } else { Err(violations) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_round_trips_through_its_text() {
        let name = Name::<Contacts>::generate();
        assert_eq!(Name::<Contacts>::parse("n", &name.to_string()), Ok(name));
    }

    #[test]
    fn a_name_of_another_collection_is_rejected() {
        let meeting = Name::<Meetings>::generate().to_string();
        assert!(Name::<Contacts>::parse("n", &meeting).is_err());
    }

    #[test]
    fn names_with_garbage_ids_are_rejected() {
        assert!(Name::<Contacts>::parse("n", "contacts/").is_err());
        assert!(Name::<Contacts>::parse("n", "contacts/not-a-uuid").is_err());
        assert!(Name::<Contacts>::parse("n", "contacts/0193a5b2-7c1d-7000-8000-00000000000g").is_err());
        assert!(Name::<Contacts>::parse("n", "").is_err());
    }

    #[test]
    fn a_child_name_round_trips_and_names_its_parent() {
        let case = Name::<Cases>::generate();
        let child = Child::<Cases, Proposals>::generate(case);
        let parsed = Child::<Cases, Proposals>::parse("n", &child.to_string()).expect("parses");
        assert_eq!((parsed, parsed.parent()), (child, case));
        assert!(Child::<Cases, Notes>::parse("n", &child.to_string()).is_err());
        assert!(Child::<Cases, Proposals>::parse("n", &format!("{case}/proposals/x")).is_err());
        assert!(Child::<Cases, Proposals>::parse("n", "meetings/x/proposals/y").is_err());
    }

    #[test]
    fn a_party_is_a_contact_or_an_organization() {
        let org = Name::<Organizations>::generate().to_string();
        assert!(matches!(PartyName::parse("p", &org), Ok(PartyName::Organization(_))));
        assert!(PartyName::parse("p", "meetings/x").is_err());
    }

    #[test]
    fn a_list_rejects_duplicates_and_names_the_entry() {
        let a = Name::<Contacts>::generate().to_string();
        let err = parse_list("participants", &[a.clone(), a], 1, 5, Name::<Contacts>::parse).expect_err("dup");
        assert_eq!(err[0].field, "participants[1]");
        assert!(parse_list("participants", &[], 1, 5, Name::<Contacts>::parse).is_err());
    }
}

#[cfg(test)]
mod proptests;
