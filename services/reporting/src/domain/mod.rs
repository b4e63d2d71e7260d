//! The rules of reporting, free of I/O: what a change means for the read model (`facts`), what a request asks for
//! once parsed at the edge (a [`Scope`], a [`Period`], a [`ReportKind`]), how a report's figures, tables, charts
//! and recommendations are computed from the records of a period (`report`, `rules`), how two reports compare
//! (`compare`), how feedback is summarised (`feedback`) and when scheduled reports run (`schedule`).
pub mod compare;
pub mod evidence;
pub mod facts;
pub mod feedback;
pub mod report;
pub mod rules;
pub mod schedule;

use jiff::Timestamp;
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::api::error::FieldViolation;
use liaison_runtime::api::names::{Name, Organizations, Projects};
use liaison_runtime::api::validate::TimeZone;

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// What a report or a dashboard covers, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Organization(Name<Organizations>),
    Project(Name<Projects>),
    Label(String),
}

impl Scope {
    /// Parses the wire scope (unset means everything).
    pub fn parse(field: &str, scope: Option<&wire::Scope>) -> Result<Self, FieldViolation> {
        use wire::scope::Selector;
        match scope.and_then(|s| s.selector.as_ref()) {
            None | Some(Selector::All(_)) => Ok(Self::All),
            Some(Selector::Organization(name)) => {
                Name::parse(&format!("{field}.organization"), name).map(Self::Organization)
            }
            Some(Selector::Project(name)) => Name::parse(&format!("{field}.project"), name).map(Self::Project),
            Some(Selector::Label(label)) => {
                let valid = !label.is_empty()
                    && label.len() <= 64
                    && label.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
                if valid {
                    Ok(Self::Label(label.clone()))
                } else {
                    Err(FieldViolation::new(
                        format!("{field}.label"),
                        "must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
                    ))
                }
            }
        }
    }

    pub fn to_wire(&self) -> wire::Scope {
        use wire::scope::Selector;
        let selector = match self {
            Self::All => Selector::All(true),
            Self::Organization(name) => Selector::Organization(name.to_string()),
            Self::Project(name) => Selector::Project(name.to_string()),
            Self::Label(label) => Selector::Label(label.clone()),
        };
        wire::Scope { selector: Some(selector) }
    }

    /// How a title says it.
    pub fn describe(&self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Organization(name) => name.to_string(),
            Self::Project(name) => name.to_string(),
            Self::Label(label) => format!("label {label}"),
        }
    }
}

/// A period [start, end) and the zone its weeks are counted in.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
    pub zone: jiff::tz::TimeZone,
    pub zone_name: String,
}

impl Period {
    /// Parses a period: both ends required, the end after the start, at most [`MAX_PERIOD_DAYS`] long. Every
    /// problem is reported.
    pub fn parse(
        start: Option<&prost_types::Timestamp>,
        end: Option<&prost_types::Timestamp>,
        time_zone: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let start = instant("start_time", start).map_err(|v| violations.push(v)).ok();
        let end = instant("end_time", end).map_err(|v| violations.push(v)).ok();
        let zone = if time_zone.is_empty() {
            Some((jiff::tz::TimeZone::UTC, "UTC".to_owned()))
        } else {
            TimeZone::parse("time_zone", time_zone).map_err(|v| violations.push(v)).ok().and_then(|tz| {
                match jiff::tz::TimeZone::get(tz.name()) {
                    Ok(zone) => Some((zone, tz.name().to_owned())),
                    Err(_) => {
                        violations.push(FieldViolation::new("time_zone", format!("'{time_zone}' is not known")));
                        None
                    }
                }
            })
        };
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                violations.push(FieldViolation::new("end_time", "must be after start_time"));
            } else if end.duration_since(start).as_secs() > MAX_PERIOD_DAYS * 86_400 {
                violations.push(FieldViolation::new(
                    "end_time",
                    format!("must be at most {MAX_PERIOD_DAYS} days after start_time"),
                ));
            }
        }
        match (start, end, zone) {
            (Some(start), Some(end), Some((zone, zone_name))) if violations.is_empty() => {
                Ok(Self { start, end, zone, zone_name })
            }
            _ => Err(violations),
        }
    }

    pub fn contains(&self, micros: i64) -> bool {
        (self.start.as_microsecond()..self.end.as_microsecond()).contains(&micros)
    }
}

fn instant(field: &str, value: Option<&prost_types::Timestamp>) -> Result<Timestamp, FieldViolation> {
    let time = liaison_runtime::api::time::from_timestamp(field, value)?;
    Timestamp::from_microsecond(time.timestamp_micros()).map_err(|_| FieldViolation::new(field, "is out of range"))
}

/// The kind of a report, parsed: the sections it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Progress,
    Engagement,
    Mediation,
    ExecutiveSummary,
}

/// The sections of reports, in the order they are presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SectionId {
    Engagement,
    Meetings,
    Commitments,
    Projects,
    Mediation,
    Feedback,
}

impl SectionId {
    pub fn id(self) -> &'static str {
        match self {
            Self::Engagement => "engagement",
            Self::Meetings => "meetings",
            Self::Commitments => "commitments",
            Self::Projects => "projects",
            Self::Mediation => "mediation",
            Self::Feedback => "feedback",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Engagement => "Engagement",
            Self::Meetings => "Meetings and action items",
            Self::Commitments => "Commitments",
            Self::Projects => "Projects",
            Self::Mediation => "Mediation",
            Self::Feedback => "Feedback",
        }
    }
}

impl ReportKind {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match wire::ReportKind::try_from(value) {
            Ok(wire::ReportKind::Progress) => Ok(Self::Progress),
            Ok(wire::ReportKind::Engagement) => Ok(Self::Engagement),
            Ok(wire::ReportKind::Mediation) => Ok(Self::Mediation),
            Ok(wire::ReportKind::ExecutiveSummary) => Ok(Self::ExecutiveSummary),
            _ => Err(FieldViolation::new(field, "must be PROGRESS, ENGAGEMENT, MEDIATION or EXECUTIVE_SUMMARY")),
        }
    }

    pub fn to_wire(self) -> wire::ReportKind {
        match self {
            Self::Progress => wire::ReportKind::Progress,
            Self::Engagement => wire::ReportKind::Engagement,
            Self::Mediation => wire::ReportKind::Mediation,
            Self::ExecutiveSummary => wire::ReportKind::ExecutiveSummary,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Progress => "Progress report",
            Self::Engagement => "Engagement report",
            Self::Mediation => "Mediation report",
            Self::ExecutiveSummary => "Executive summary",
        }
    }

    /// The sections it holds; feedback is in every kind.
    pub fn sections(self) -> &'static [SectionId] {
        use SectionId::*;
        match self {
            Self::Progress => &[Meetings, Commitments, Projects, Feedback],
            Self::Engagement => &[Engagement, Feedback],
            Self::Mediation => &[Mediation, Feedback],
            Self::ExecutiveSummary => &[Engagement, Meetings, Commitments, Projects, Mediation, Feedback],
        }
    }

    pub fn has(self, section: SectionId) -> bool {
        self.sections().contains(&section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp { seconds, nanos: 0 })
    }

    #[test]
    fn a_period_ending_before_it_starts_and_a_bad_zone_are_both_reported() {
        let problems = Period::parse(ts(2_000).as_ref(), ts(1_000).as_ref(), "Mars/Olympus").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["time_zone", "end_time"]);
        let missing = Period::parse(None, None, "").unwrap_err();
        assert_eq!(missing.len(), 2);
    }

    #[test]
    fn a_period_longer_than_a_year_is_refused_and_a_quarter_is_accepted() {
        assert!(Period::parse(ts(0).as_ref(), ts(367 * 86_400).as_ref(), "").is_err());
        let quarter = Period::parse(ts(0).as_ref(), ts(90 * 86_400).as_ref(), "Europe/Paris").unwrap();
        assert_eq!(quarter.zone_name, "Europe/Paris");
        assert!(quarter.contains(0) && !quarter.contains(90 * 86_400 * 1_000_000));
    }

    #[test]
    fn scopes_are_parsed_strictly_and_unset_means_everything() {
        use wire::scope::Selector;
        assert_eq!(Scope::parse("scope", None), Ok(Scope::All));
        let bad = wire::Scope { selector: Some(Selector::Organization("contacts/x".into())) };
        assert_eq!(Scope::parse("scope", Some(&bad)).unwrap_err().field, "scope.organization");
        let label = wire::Scope { selector: Some(Selector::Label("needs review!".into())) };
        assert_eq!(Scope::parse("scope", Some(&label)).unwrap_err().field, "scope.label");
        let fine = wire::Scope { selector: Some(Selector::Label("ministry".into())) };
        assert_eq!(Scope::parse("scope", Some(&fine)), Ok(Scope::Label("ministry".into())));
    }

    #[test]
    fn an_unknown_kind_is_refused_and_every_kind_has_feedback() {
        assert!(ReportKind::parse("kind", 0).is_err());
        assert!(ReportKind::parse("kind", 99).is_err());
        for kind in [1, 2, 3, 4] {
            assert!(ReportKind::parse("kind", kind).unwrap().has(SectionId::Feedback));
        }
    }
}
