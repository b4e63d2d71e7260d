//! The rules of cases, free of I/O: what a case is made of (`NewCase`, parsed whole at the edge), its lifecycle
//! as an explicit transition table (`lifecycle`), the working-day SLA clocks (`sla`) and the policy they follow
//! (`policy`).
pub use liaison_runtime::auth::case_access as access;
pub mod children;
pub mod lifecycle;
pub mod policy;
pub mod sla;

use liaison_proto::mediation::v1 as wire;
use liaison_runtime::api::names::{Contacts, Name, PartyName, parse_list};
use liaison_runtime::api::validate::{at_most, each, long_text, required_text};
use liaison_runtime::{FieldViolation, Validate};
use serde::{Deserialize, Serialize};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const REMEDY_MAX: usize = 2_000;
pub const REASON_MAX: usize = 2_000;
pub const RECORD_MAX: usize = 500;
pub const PARTIES_MIN: usize = 2;
pub const PARTIES_MAX: usize = 50;
pub const TEAM_MAX: usize = 20;
pub const FACTORS_MAX: usize = 20;
pub const FACTOR_MAX: usize = 500;
pub const ANALYSIS_MAX: usize = 10_000;
pub const ESCALATE_TO_MAX: usize = 200;

/// Defines a domain enum over a proto enum whose zero value is "unspecified": the domain type has no such
/// value, so a stored or parsed value is always meaningful.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident => $wire:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn wire(self) -> wire::$wire {
                match self { $($name::$variant => wire::$wire::$variant),+ }
            }

            /// The value of a stored or sent number; `None` for zero (unspecified) or an unknown number.
            pub fn from_number(value: i32) -> Option<Self> {
                match wire::$wire::try_from(value).ok()? {
                    $(wire::$wire::$variant => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// A required enum field: unset or unknown numbers are named as such.
            pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
                Self::from_number(value).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.wire().as_str_name()).collect();
                    let what = if value == 0 { "is required".to_owned() } else { format!("{value} is not a known value") };
                    FieldViolation::new(field, format!("{what}: one of {}", allowed.join(", ")))
                })
            }

            pub fn name(self) -> &'static str {
                self.wire().as_str_name()
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// The stage of a case; see [`lifecycle`] for the transitions between them.
    Stage => Stage {
        Received, Acknowledged, Assessed, MediatorAssigned, InMediation, RootCauseRecorded, ProposalAgreed,
        Implementing, Closed, Rejected, Withdrawn,
    }
}
wire_enum! {
    /// How a closed case ended.
    Outcome => Outcome { Resolved, Unresolved, Inconclusive }
}
wire_enum! {
    /// What a dispute is about.
    Category => Category {
        CommunicationBreakdown, ResourceAllocation, Contractual, Interpersonal, PolicyOrCompliance,
        CommunityGrievance, Other,
    }
}
wire_enum! {
    /// How serious a case is.
    Severity => Severity { Low, Medium, High, Critical }
}
wire_enum! {
    /// How a case reached the office.
    IntakeChannel => IntakeChannel { Email, Phone, InPerson, WebForm, Letter, Referral, Other }
}
wire_enum! {
    /// A party's part in a case.
    PartyRole => PartyRole { Complainant, Respondent, Affected }
}

impl Severity {
    /// Position in policy tables that list a value per severity (low first).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Stage {
    /// Closed, rejected or withdrawn: nothing more happens unless it is appealed or reopened.
    pub fn is_terminal(self) -> bool {
        matches!(self, Stage::Closed | Stage::Rejected | Stage::Withdrawn)
    }

    /// The coarse state earlier clients read.
    pub fn coarse(self, outcome: Option<Outcome>) -> wire::CaseState {
        match self {
            Stage::Received | Stage::Acknowledged | Stage::Assessed => wire::CaseState::Open,
            Stage::Closed if outcome == Some(Outcome::Resolved) => wire::CaseState::Resolved,
            Stage::Closed | Stage::Rejected | Stage::Withdrawn => wire::CaseState::Closed,
            _ => wire::CaseState::InMediation,
        }
    }
}

/// A party with its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Party {
    pub name: PartyName,
    pub role: PartyRole,
}

/// A case as a client opens it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub title: String,
    pub description: String,
    pub remedy_sought: String,
    pub parties: Vec<Party>,
    pub category: Category,
    pub severity: Severity,
    pub intake_channel: Option<IntakeChannel>,
    pub raised_by: Option<Name<Contacts>>,
    pub confidential: bool,
    pub case_team: Vec<Name<Contacts>>,
}

impl NewCase {
    pub fn parse(case: &wire::Case) -> Result<Self, Vec<FieldViolation>> {
        let ((title, description, remedy_sought), parties, (category, severity, intake_channel), raised_by, case_team) =
            (
                (
                    required_text("case.title", &case.title, TITLE_MAX),
                    long_text("case.description", &case.description, DESCRIPTION_MAX),
                    long_text("case.remedy_sought", &case.remedy_sought, REMEDY_MAX),
                )
                    .collect(),
                parse_parties(case),
                (
                    Category::parse("case.category", case.category),
                    Severity::parse("case.severity", case.severity),
                    optional_enum("case.intake_channel", case.intake_channel, IntakeChannel::parse),
                )
                    .collect(),
                optional_contact("case.raised_by", &case.raised_by),
                parse_team("case.case_team", &case.case_team),
            )
                .collect()?;
        Ok(Self {
            title,
            description,
            remedy_sought,
            parties,
            category,
            severity,
            intake_channel,
            raised_by,
            confidential: case.confidential,
            case_team,
        })
    }
}

/// An optional enum field: zero is "not said".
pub fn optional_enum<T>(
    field: &str,
    value: i32,
    parse: impl Fn(&str, i32) -> Result<T, FieldViolation>,
) -> Result<Option<T>, FieldViolation> {
    if value == 0 { Ok(None) } else { parse(field, value).map(Some) }
}

/// An optional `contacts/{id}`.
pub fn optional_contact(field: &str, value: &str) -> Result<Option<Name<Contacts>>, FieldViolation> {
    if value.is_empty() { Ok(None) } else { Name::parse(field, value).map(Some) }
}

/// A case team: up to [`TEAM_MAX`] distinct contacts.
pub fn parse_team(field: &str, values: &[String]) -> Result<Vec<Name<Contacts>>, Vec<FieldViolation>> {
    parse_list(field, values, 0, TEAM_MAX, Name::<Contacts>::parse)
}

/// The parties from `party_roles`, or from `parties` (the first the complainant, the others respondents) for
/// clients that name parties only; at least one complainant and one respondent, no party twice.
fn parse_parties(case: &wire::Case) -> Result<Vec<Party>, Vec<FieldViolation>> {
    if !case.party_roles.is_empty() {
        if !case.parties.is_empty() && case.parties.iter().ne(case.party_roles.iter().map(|p| &p.party)) {
            return Err(vec![FieldViolation::new(
                "case.parties",
                "give the parties in party_roles (with their roles) or in parties, not both",
            )]);
        }
        let field = "case.party_roles";
        let roles = at_most(field, &case.party_roles, PARTIES_MAX)?;
        let names: Vec<String> = roles.iter().map(|p| p.party.clone()).collect();
        let parsed_names = parse_list(field, &names, PARTIES_MIN, PARTIES_MAX, PartyName::parse)
            .map_err(|violations| rename_entries(violations, field, ".party"));
        let parsed_roles =
            each(roles.iter().enumerate().map(|(i, p)| PartyRole::parse(&format!("{field}[{i}].role"), p.role)));
        let (names, roles) = (parsed_names, parsed_roles).collect()?;
        let parties: Vec<Party> = names.into_iter().zip(roles).map(|(name, role)| Party { name, role }).collect();
        let has = |role| parties.iter().any(|p| p.role == role);
        if !has(PartyRole::Complainant) || !has(PartyRole::Respondent) {
            return Err(vec![FieldViolation::new(field, "needs at least one COMPLAINANT and one RESPONDENT")]);
        }
        return Ok(parties);
    }
    let names = parse_list(
        "case.parties",
        at_most("case.parties", &case.parties, PARTIES_MAX)?,
        PARTIES_MIN,
        PARTIES_MAX,
        PartyName::parse,
    )?;
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Party { name, role: if i == 0 { PartyRole::Complainant } else { PartyRole::Respondent } })
        .collect())
}

/// `field[i]` violations of a list of names taken from `field[i].party`.
fn rename_entries(violations: Vec<FieldViolation>, field: &str, suffix: &str) -> Vec<FieldViolation> {
    violations
        .into_iter()
        .map(|mut v| {
            if v.field != field {
                v.field.push_str(suffix);
            }
            v
        })
        .collect()
}

/// The root cause as the mediator records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCause {
    pub category: Category,
    pub analysis: String,
    pub contributing_factors: Vec<String>,
}

impl RootCause {
    pub fn parse(field: &str, cause: Option<&wire::RootCause>) -> Result<Self, Vec<FieldViolation>> {
        let Some(cause) = cause else { return Err(vec![FieldViolation::new(field, "is required")]) };
        let factors_field = format!("{field}.contributing_factors");
        let factors =
            at_most(&factors_field, &cause.contributing_factors, FACTORS_MAX).map_err(Vec::from).and_then(|factors| {
                let texts = factors.iter().enumerate();
                each(texts.map(|(i, f)| required_text(&format!("{factors_field}[{i}]"), f, FACTOR_MAX)))
            });
        let (category, analysis, contributing_factors) = (
            Category::parse(&format!("{field}.category"), cause.category),
            required_long_text(&format!("{field}.analysis"), &cause.analysis, ANALYSIS_MAX),
            factors,
        )
            .collect()?;
        Ok(Self { category, analysis, contributing_factors })
    }

    pub fn wire(&self) -> wire::RootCause {
        wire::RootCause {
            category: self.category.wire() as i32,
            analysis: self.analysis.clone(),
            contributing_factors: self.contributing_factors.clone(),
        }
    }
}

/// A required multi-line text: not blank, at most `max` characters.
pub fn required_long_text(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    if value.trim().is_empty() {
        return Err(FieldViolation::new(field, "is required and must not be blank"));
    }
    long_text(field, value, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_runtime::api::names::Organizations;
    use wire::{Case, CaseParty};

    fn contact() -> String {
        Name::<Contacts>::generate().to_string()
    }

    fn valid() -> Case {
        Case {
            title: "Noise dispute".into(),
            parties: vec![contact(), Name::<Organizations>::generate().to_string()],
            category: wire::Category::CommunityGrievance as i32,
            severity: wire::Severity::Medium as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_case_needs_at_least_two_parties() {
        let case = Case { parties: vec![contact()], ..valid() };
        let violations = NewCase::parse(&case).expect_err("one party");
        assert_eq!(violations[0].field, "case.parties");
    }

    #[test]
    fn parties_given_as_names_make_the_first_the_complainant() {
        let parsed = NewCase::parse(&valid()).expect("valid");
        let roles: Vec<PartyRole> = parsed.parties.iter().map(|p| p.role).collect();
        assert_eq!(roles, [PartyRole::Complainant, PartyRole::Respondent]);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let case = Case {
            title: " ".into(),
            parties: vec![contact(), "meetings/abc".into()],
            category: 0,
            severity: 99,
            raised_by: "organizations/x".into(),
            ..Default::default()
        };
        let fields: Vec<String> = NewCase::parse(&case).expect_err("bad").into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["case.title", "case.parties[1]", "case.category", "case.severity", "case.raised_by"]);
    }

    #[test]
    fn roles_need_a_complainant_and_a_respondent_and_name_each_bad_entry() {
        let role = |party: String, role: PartyRole| CaseParty { party, role: role.wire() as i32 };
        let case = Case {
            parties: vec![],
            party_roles: vec![role(contact(), PartyRole::Complainant), role(contact(), PartyRole::Affected)],
            ..valid()
        };
        assert_eq!(NewCase::parse(&case).expect_err("no respondent")[0].field, "case.party_roles");
        let case = Case {
            parties: vec![],
            party_roles: vec![CaseParty { party: "x".into(), role: 0 }, role(contact(), PartyRole::Respondent)],
            ..valid()
        };
        let fields: Vec<String> = NewCase::parse(&case).expect_err("bad").into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["case.party_roles[0].party", "case.party_roles[0].role"]);
    }

    #[test]
    fn a_duplicate_party_is_named() {
        let same = contact();
        let case = Case { parties: vec![same.clone(), same], ..valid() };
        assert_eq!(NewCase::parse(&case).expect_err("dup")[0].field, "case.parties[1]");
    }

    #[test]
    fn stored_stages_round_trip_and_zero_is_not_a_stage() {
        for stage in Stage::ALL {
            assert_eq!(Stage::from_number(stage.wire() as i32), Some(*stage));
        }
        assert_eq!(Stage::from_number(0), None);
        assert!(Stage::parse("s", 0).expect_err("zero").description.contains("STAGE_RECEIVED"));
    }
}
