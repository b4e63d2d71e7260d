//! Affiliations (who works where) and relationships (who is linked to whom), as validated values; the
//! conflict-of-interest walk over them is in `conflicts`.
pub mod conflicts;

use chrono::NaiveDate;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::api::names::{Contacts, Name, Organizations, PartyName};
use liaison_runtime::api::validate::{long_text, optional_text};
use liaison_runtime::{FieldViolation, Validate};

pub const ROLE_MAX: usize = 200;
pub const NOTES_MAX: usize = 10_000;

/// A calendar date; stored as `YYYY-MM-DD`, which sorts like the date.
pub fn date(field: &str, value: Option<&wire::Date>) -> Result<Option<NaiveDate>, FieldViolation> {
    let Some(d) = value else { return Ok(None) };
    let valid = u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| (1..=9999).contains(&d.year).then(|| NaiveDate::from_ymd_opt(d.year, m, day)).flatten());
    valid.map(Some).ok_or_else(|| {
        FieldViolation::new(field, format!("{}-{:02}-{:02} is not a calendar date", d.year, d.month, d.day))
    })
}

pub fn date_to_wire(date: Option<NaiveDate>) -> Option<wire::Date> {
    use chrono::Datelike;
    date.map(|d| wire::Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

/// What may change on an affiliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationFields {
    pub role: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

pub const AFFILIATION_UPDATABLE: &[&str] = &["role", "start_date", "end_date"];

impl AffiliationFields {
    pub fn parse(a: &wire::Affiliation) -> Result<Self, Vec<FieldViolation>> {
        let (role, start, end) = (
            optional_text("affiliation.role", &a.role, ROLE_MAX),
            date("affiliation.start_date", a.start_date.as_ref()),
            date("affiliation.end_date", a.end_date.as_ref()),
        )
            .collect()?;
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            return Err(vec![FieldViolation::new("affiliation.end_date", "must not be before affiliation.start_date")]);
        }
        Ok(Self { role, start, end })
    }

    /// Whether the affiliation has ended by `today`.
    pub fn ended(&self, today: NaiveDate) -> bool {
        self.end.is_some_and(|end| end < today)
    }
}

/// A new affiliation, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAffiliation {
    pub contact: Name<Contacts>,
    pub organization: Name<Organizations>,
    pub fields: AffiliationFields,
    pub point_of_contact: bool,
}

impl NewAffiliation {
    pub fn parse(a: &wire::Affiliation) -> Result<Self, Vec<FieldViolation>> {
        let (contact, organization, fields) = (
            Name::<Contacts>::parse("affiliation.contact", &a.contact),
            Name::<Organizations>::parse("affiliation.organization", &a.organization),
            AffiliationFields::parse(a),
        )
            .collect()?;
        Ok(Self { contact, organization, fields, point_of_contact: a.point_of_contact })
    }
}

/// The type of a relationship (never unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationshipKind(wire::RelationshipType);

impl RelationshipKind {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match wire::RelationshipType::try_from(value) {
            Ok(wire::RelationshipType::Unspecified) => {
                Err(FieldViolation::new(field, "is required (e.g. RELATIONSHIP_TYPE_PARTNER)"))
            }
            Ok(kind) => Ok(Self(kind)),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a RelationshipType"))),
        }
    }

    /// Symmetric types link an unordered pair; `reports-to` and `advisor` have a direction.
    pub fn symmetric(self) -> bool {
        !matches!(self.0, wire::RelationshipType::ReportsTo | wire::RelationshipType::Advisor)
    }

    pub fn value(self) -> i32 {
        self.0 as i32
    }

    pub fn describe(self) -> &'static str {
        match self.0 {
            wire::RelationshipType::Partner => "partner",
            wire::RelationshipType::Counterpart => "counterpart",
            wire::RelationshipType::ReportsTo => "reports to",
            wire::RelationshipType::Advisor => "advisor",
            wire::RelationshipType::Family => "family",
            wire::RelationshipType::ConflictOfInterest => "declared conflict of interest",
            _ => "related",
        }
    }
}

/// What may change on a relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipFields {
    pub since: Option<NaiveDate>,
    pub strength: i32,
    pub notes: String,
}

pub const RELATIONSHIP_UPDATABLE: &[&str] = &["since", "strength", "notes"];

impl RelationshipFields {
    pub fn parse(r: &wire::Relationship) -> Result<Self, Vec<FieldViolation>> {
        let strength = if (0..=5).contains(&r.strength) {
            Ok(r.strength)
        } else {
            Err(FieldViolation::new(
                "relationship.strength",
                format!("must be 1 to 5, or 0 for unknown (got {})", r.strength),
            ))
        };
        let (since, strength, notes) = (
            date("relationship.since", r.since.as_ref()),
            strength,
            long_text("relationship.notes", &r.notes, NOTES_MAX),
        )
            .collect()?;
        Ok(Self { since, strength, notes })
    }
}

/// A new relationship, checked; a symmetric pair is stored in a canonical order so that a duplicate in the other
/// order is caught by the same unique index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelationship {
    pub party: PartyName,
    pub related_party: PartyName,
    pub kind: RelationshipKind,
    pub fields: RelationshipFields,
}

impl NewRelationship {
    pub fn parse(r: &wire::Relationship) -> Result<Self, Vec<FieldViolation>> {
        let (party, related_party, kind, fields) = (
            PartyName::parse("relationship.party", &r.party),
            PartyName::parse("relationship.related_party", &r.related_party),
            RelationshipKind::parse("relationship.type", r.r#type),
            RelationshipFields::parse(r),
        )
            .collect()?;
        if party == related_party {
            return Err(vec![FieldViolation::new("relationship.related_party", "a party cannot be related to itself")]);
        }
        let (party, related_party) = if kind.symmetric() && related_party.to_string() < party.to_string() {
            (related_party, party)
        } else {
            (party, related_party)
        };
        Ok(Self { party, related_party, kind, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_exist_in_the_calendar() {
        let d = |year, month, day| Some(wire::Date { year, month, day });
        assert!(date("d", d(2024, 2, 29).as_ref()).is_ok());
        assert!(date("d", d(2023, 2, 29).as_ref()).is_err());
        assert!(date("d", d(2023, 13, 1).as_ref()).is_err());
        assert!(date("d", d(0, 1, 1).as_ref()).is_err());
        assert_eq!(date("d", None), Ok(None));
    }

    #[test]
    fn an_affiliation_cannot_end_before_it_starts() {
        let a = wire::Affiliation {
            start_date: Some(wire::Date { year: 2024, month: 5, day: 1 }),
            end_date: Some(wire::Date { year: 2024, month: 4, day: 30 }),
            ..Default::default()
        };
        assert_eq!(AffiliationFields::parse(&a).expect_err("backwards")[0].field, "affiliation.end_date");
    }

    #[test]
    fn a_party_cannot_be_related_to_itself() {
        let me = Name::<Contacts>::generate().to_string();
        let r = wire::Relationship {
            party: me.clone(),
            related_party: me,
            r#type: wire::RelationshipType::Partner as i32,
            ..Default::default()
        };
        assert_eq!(NewRelationship::parse(&r).expect_err("self")[0].field, "relationship.related_party");
    }

    #[test]
    fn symmetric_pairs_are_stored_in_one_order_and_directed_ones_as_given() {
        let a = Name::<Contacts>::generate().to_string();
        let b = Name::<Contacts>::generate().to_string();
        let rel = |kind: wire::RelationshipType, x: &str, y: &str| wire::Relationship {
            party: x.into(),
            related_party: y.into(),
            r#type: kind as i32,
            ..Default::default()
        };
        let forward = NewRelationship::parse(&rel(wire::RelationshipType::Partner, &a, &b)).expect("valid");
        let backward = NewRelationship::parse(&rel(wire::RelationshipType::Partner, &b, &a)).expect("valid");
        assert_eq!((forward.party, forward.related_party), (backward.party, backward.related_party));
        let directed = NewRelationship::parse(&rel(wire::RelationshipType::ReportsTo, &b, &a)).expect("valid");
        assert_eq!(directed.party.to_string(), b);
    }

    #[test]
    fn strength_is_one_to_five_or_unknown() {
        let r = |strength| wire::Relationship { strength, ..Default::default() };
        assert!(RelationshipFields::parse(&r(0)).is_ok());
        assert!(RelationshipFields::parse(&r(5)).is_ok());
        assert!(RelationshipFields::parse(&r(6)).is_err());
        assert!(RelationshipFields::parse(&r(-1)).is_err());
    }
}
