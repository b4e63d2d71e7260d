//! Engagement: stakeholder assessments (influence, interest, impact and the quadrant they give), the
//! interaction log with its follow-ups, and the relationship health score — as validated values and pure rules.
use super::graph::date;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::api::names::{Collection, PartyName, parse_list};
use liaison_runtime::api::validate::{long_text, required_text};
use liaison_runtime::{FieldViolation, Validate};

pub const COMMENT_MAX: usize = 2000;
pub const SUBJECT_MAX: usize = 200;
pub const SUMMARY_MAX: usize = 10_000;
pub const PARTICIPANTS_MAX: usize = 50;
pub const LINKS_MAX: usize = 20;
/// Characters of one link; longer than any resource name of the cluster.
pub const LINK_MAX: usize = 500;
pub const ACTION_MAX: usize = 500;
pub const OWNER_MAX: usize = 200;
pub const SENTIMENT_MIN: i32 = -2;
pub const SENTIMENT_MAX: i32 = 2;
/// How far ahead an interaction may be logged: a call later today somewhere else on the planet, not a plan.
pub const OCCUR_AHEAD_MAX: TimeDelta = TimeDelta::days(1);

/// `assessments/{id}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assessments {}
impl Collection for Assessments {
    const SEGMENT: &'static str = "assessments";
}

/// `interactions/{id}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interactions {}
impl Collection for Interactions {
    const SEGMENT: &'static str = "interactions";
}

/// A step of the five-step scale (never unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Level(i32);

impl Level {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match wire::Level::try_from(value) {
            Ok(wire::Level::Unspecified) => {
                Err(FieldViolation::new(field, "is required (LEVEL_VERY_LOW to LEVEL_VERY_HIGH)"))
            }
            Ok(level) => Ok(Self(level as i32)),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a Level (1 to 5)"))),
        }
    }

    pub fn value(self) -> i32 {
        self.0
    }

    /// HIGH or VERY_HIGH.
    pub fn is_high(self) -> bool {
        self.0 >= wire::Level::High as i32
    }
}

/// The quadrant of the influence/interest grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quadrant {
    ManageClosely,
    KeepSatisfied,
    KeepInformed,
    Monitor,
}

impl Quadrant {
    pub fn of(influence: Level, interest: Level) -> Self {
        match (influence.is_high(), interest.is_high()) {
            (true, true) => Self::ManageClosely,
            (true, false) => Self::KeepSatisfied,
            (false, true) => Self::KeepInformed,
            (false, false) => Self::Monitor,
        }
    }

    pub fn to_wire(self) -> wire::Quadrant {
        match self {
            Self::ManageClosely => wire::Quadrant::ManageClosely,
            Self::KeepSatisfied => wire::Quadrant::KeepSatisfied,
            Self::KeepInformed => wire::Quadrant::KeepInformed,
            Self::Monitor => wire::Quadrant::Monitor,
        }
    }

    pub fn value(self) -> i32 {
        self.to_wire() as i32
    }

    /// A stored quadrant; `None` for a value this code does not know.
    pub fn from_value(value: i32) -> Option<Self> {
        match wire::Quadrant::try_from(value) {
            Ok(wire::Quadrant::ManageClosely) => Some(Self::ManageClosely),
            Ok(wire::Quadrant::KeepSatisfied) => Some(Self::KeepSatisfied),
            Ok(wire::Quadrant::KeepInformed) => Some(Self::KeepInformed),
            Ok(wire::Quadrant::Monitor) => Some(Self::Monitor),
            _ => None,
        }
    }

    /// A list filter: unspecified means any quadrant.
    pub fn parse_filter(field: &str, value: i32) -> Result<Option<Self>, FieldViolation> {
        if value == wire::Quadrant::Unspecified as i32 {
            return Ok(None);
        }
        Self::from_value(value)
            .map(Some)
            .ok_or_else(|| FieldViolation::new(field, format!("{value} is not a Quadrant (0 to 4)")))
    }

    /// The expected interval between interactions with a party of this quadrant, in days.
    pub fn cadence_days(self) -> i32 {
        match self {
            Self::ManageClosely => 14,
            Self::KeepSatisfied | Self::KeepInformed => 30,
            Self::Monitor => 90,
        }
    }
}

/// A new stakeholder assessment, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssessment {
    pub party: PartyName,
    pub date: NaiveDate,
    pub influence: Level,
    pub interest: Level,
    pub impact: Level,
    pub comment: String,
}

impl NewAssessment {
    /// Parses `assessment.*`; an unset date is `today` (UTC), a later one is refused.
    pub fn parse(a: &wire::Assessment, today: NaiveDate) -> Result<Self, Vec<FieldViolation>> {
        let day = date("assessment.assessment_date", a.assessment_date.as_ref()).and_then(|d| match d {
            None => Ok(today),
            Some(d) if d > today => Err(FieldViolation::new(
                "assessment.assessment_date",
                format!("{d} is in the future (today is {today} UTC)"),
            )),
            Some(d) => Ok(d),
        });
        let (party, date, influence, interest, impact, comment) = (
            PartyName::parse("assessment.party", &a.party),
            day,
            Level::parse("assessment.influence", a.influence),
            Level::parse("assessment.interest", a.interest),
            Level::parse("assessment.impact", a.impact),
            long_text("assessment.comment", &a.comment, COMMENT_MAX),
        )
            .collect()?;
        Ok(Self { party, date, influence, interest, impact, comment })
    }

    pub fn quadrant(&self) -> Quadrant {
        Quadrant::of(self.influence, self.interest)
    }
}

/// Something agreed to be done after an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub action: String,
    pub owner: String,
    pub due: NaiveDate,
    pub done: bool,
}

impl FollowUp {
    /// Parses `{prefix}.action`, `.owner`, `.due_date`; an absent follow-up is `None`.
    pub fn parse(prefix: &str, f: Option<&wire::FollowUp>) -> Result<Option<Self>, Vec<FieldViolation>> {
        let Some(f) = f else { return Ok(None) };
        let field = |name: &str| format!("{prefix}.{name}");
        let action = long_text(&field("action"), f.action.trim(), ACTION_MAX).and_then(|action| {
            if action.is_empty() {
                Err(FieldViolation::new(field("action"), "is required and must not be blank"))
            } else {
                Ok(action)
            }
        });
        let due = date(&field("due_date"), f.due_date.as_ref())
            .and_then(|d| d.ok_or_else(|| FieldViolation::new(field("due_date"), "is required")));
        let (action, owner, due) = (action, required_text(&field("owner"), &f.owner, OWNER_MAX), due).collect()?;
        Ok(Some(Self { action, owner, due, done: f.done }))
    }

    /// Not done and due before `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        !self.done && self.due < today
    }
}

/// A resource name of any service: `collection/id`, possibly nested (`cases/{id}/proposals/{id}`). Only the
/// shape is checked: collections are lowerCamelCase words, ids URL-safe.
pub fn link(field: &str, value: &str) -> Result<String, FieldViolation> {
    let collection_ok =
        |s: &str| s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_alphanumeric());
    let id_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
    let segments: Vec<&str> = value.split('/').collect();
    let shaped = segments.len().is_multiple_of(2)
        && segments.chunks(2).all(|pair| match pair {
            [collection, id] => collection_ok(collection) && id_ok(id),
            _ => false,
        });
    if value.chars().count() > LINK_MAX {
        Err(FieldViolation::new(field, format!("must be at most {LINK_MAX} characters")))
    } else if shaped {
        Ok(value.to_owned())
    } else {
        Err(FieldViolation::new(field, format!("'{value}' is not a resource name of the form collection/id")))
    }
}

/// The fields of an interaction as a client sets them, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionFields {
    pub channel: wire::InteractionChannel,
    pub direction: wire::InteractionDirection,
    pub occur_time: DateTime<Utc>,
    pub participants: Vec<PartyName>,
    pub subject: String,
    pub summary: String,
    pub sentiment: i32,
    pub follow_up: Option<FollowUp>,
    pub links: Vec<String>,
}

/// Interaction fields an update may name.
pub const INTERACTION_UPDATABLE: &[&str] =
    &["channel", "direction", "occur_time", "participants", "subject", "summary", "sentiment", "follow_up", "links"];

fn channel(field: &str, value: i32) -> Result<wire::InteractionChannel, FieldViolation> {
    match wire::InteractionChannel::try_from(value) {
        Ok(wire::InteractionChannel::Unspecified) => {
            Err(FieldViolation::new(field, "is required (e.g. INTERACTION_CHANNEL_MEETING)"))
        }
        Ok(channel) => Ok(channel),
        Err(_) => Err(FieldViolation::new(field, format!("{value} is not an InteractionChannel"))),
    }
}

fn direction(field: &str, value: i32) -> Result<wire::InteractionDirection, FieldViolation> {
    match wire::InteractionDirection::try_from(value) {
        Ok(wire::InteractionDirection::Unspecified) => {
            Err(FieldViolation::new(field, "is required (INTERACTION_DIRECTION_INBOUND or _OUTBOUND)"))
        }
        Ok(direction) => Ok(direction),
        Err(_) => Err(FieldViolation::new(field, format!("{value} is not an InteractionDirection"))),
    }
}

/// When an interaction took place: required, at most [`OCCUR_AHEAD_MAX`] after `now`, kept to microseconds
/// (what PostgreSQL stores) so that what is returned is what is stored.
fn occur_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldViolation> {
    let time = liaison_runtime::api::time::from_timestamp(field, value)?;
    let time = DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time);
    if time > now + OCCUR_AHEAD_MAX {
        return Err(FieldViolation::new(field, "must not be more than a day in the future"));
    }
    Ok(time)
}

fn sentiment(field: &str, value: i32) -> Result<i32, FieldViolation> {
    if (SENTIMENT_MIN..=SENTIMENT_MAX).contains(&value) {
        Ok(value)
    } else {
        Err(FieldViolation::new(field, format!("must be -2 to +2 (got {value})")))
    }
}

fn links(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > LINKS_MAX {
        return Err(vec![FieldViolation::new(field, format!("must list at most {LINKS_MAX} (got {})", values.len()))]);
    }
    let mut violations = Vec::new();
    let mut parsed: Vec<String> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let entry = format!("{field}[{index}]");
        match link(&entry, value) {
            Ok(link) if parsed.contains(&link) => {
                violations.push(FieldViolation::new(entry, format!("'{value}' is listed twice")))
            }
            Ok(link) => parsed.push(link),
            Err(violation) => violations.push(violation),
        }
    }
    if violations.is_empty() { Ok(parsed) } else { Err(violations) }
}

impl InteractionFields {
    /// Parses every field of `i`, naming violations `{prefix}.{field}`; `now` bounds `occur_time`.
    pub fn parse(prefix: &str, i: &wire::Interaction, now: DateTime<Utc>) -> Result<Self, Vec<FieldViolation>> {
        let f = |name: &str| format!("{prefix}.{name}");
        let ((channel, direction, occur_time, participants, subject), (summary, sentiment, follow_up, links)) = (
            (
                channel(&f("channel"), i.channel),
                direction(&f("direction"), i.direction),
                occur_time(&f("occur_time"), i.occur_time.as_ref(), now),
                parse_list(&f("participants"), &i.participants, 1, PARTICIPANTS_MAX, PartyName::parse),
                required_text(&f("subject"), &i.subject, SUBJECT_MAX),
            )
                .collect(),
            (
                long_text(&f("summary"), &i.summary, SUMMARY_MAX),
                sentiment(&f("sentiment"), i.sentiment),
                FollowUp::parse(&f("follow_up"), i.follow_up.as_ref()),
                links(&f("links"), &i.links),
            )
                .collect(),
        )
            .collect()?;
        Ok(Self { channel, direction, occur_time, participants, subject, summary, sentiment, follow_up, links })
    }
}

/// Whole days from `last` to `now`; an interaction logged slightly ahead counts as today.
pub fn days_since(last: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - last).num_days().max(0)
}

/// What the relationship health score is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthInputs {
    /// The quadrant of the party's latest assessment; `None` if it was never assessed.
    pub quadrant: Option<Quadrant>,
    /// Interactions in the last 90 days.
    pub interactions_90_days: i64,
    /// The sum of their sentiments.
    pub sentiment_sum_90_days: i64,
    /// Whole days since the last interaction; `None` if there never was one.
    pub days_since_last: Option<i64>,
}

/// The relationship health score, exactly as documented on `HealthScore` in engagement.proto:
///
/// score = round(frequency_points + sentiment_points + recency_points), where
/// - frequency_points = 50 × min(1, interactions_90_days ÷ expected_interactions_90_days);
/// - sentiment_points = 30 × (mean_sentiment_90_days + 2) ÷ 4 (15 when there is no interaction in 90 days);
/// - recency_points = 20 × max(0, 1 − days_since_last ÷ (2 × cadence_days)) (0 with no interaction at all);
/// - expected_interactions_90_days = 90 ÷ cadence_days, the cadence following the quadrant of the latest
///   assessment (manage closely 14, keep satisfied 30, keep informed 30, monitor 90, not assessed 30).
///
/// Rounding is half away from zero.
pub fn health_score(inputs: &HealthInputs) -> wire::HealthScore {
    let cadence_days = inputs.quadrant.map_or(30, Quadrant::cadence_days);
    let cadence_source =
        inputs.quadrant.map_or_else(|| "not assessed".to_owned(), |q| q.to_wire().as_str_name().to_owned());
    let cadence = f64::from(cadence_days);
    let expected = 90.0 / cadence;
    let count = inputs.interactions_90_days.max(0);
    let frequency_points = 50.0 * (count as f64 / expected).min(1.0);
    let mean_sentiment = if count > 0 { inputs.sentiment_sum_90_days as f64 / count as f64 } else { 0.0 };
    let sentiment_points = if count > 0 { 30.0 * (mean_sentiment + 2.0) / 4.0 } else { 15.0 };
    let recency_points =
        inputs.days_since_last.map_or(0.0, |days| 20.0 * (1.0 - days.max(0) as f64 / (2.0 * cadence)).max(0.0));
    let score = (frequency_points + sentiment_points + recency_points).round().clamp(0.0, 100.0) as i32;
    wire::HealthScore {
        score,
        cadence_days,
        cadence_source,
        interactions_90_days: i32::try_from(count).unwrap_or(i32::MAX),
        expected_interactions_90_days: expected,
        mean_sentiment_90_days: mean_sentiment,
        frequency_points,
        sentiment_points,
        recency_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(value: wire::Level) -> Level {
        Level::parse("l", value as i32).expect("valid level")
    }

    fn approx(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn unspecified_or_unknown_levels_are_refused() {
        assert!(Level::parse("l", 0).is_err());
        assert!(Level::parse("l", 6).is_err());
        assert!(Level::parse("l", -1).is_err());
        assert_eq!(Level::parse("l", 5).map(Level::value), Ok(5));
    }

    #[test]
    fn high_means_high_or_very_high() {
        use wire::Level::*;
        let q = |influence, interest| Quadrant::of(level(influence), level(interest));
        assert_eq!(q(High, VeryHigh), Quadrant::ManageClosely);
        assert_eq!(q(VeryHigh, Medium), Quadrant::KeepSatisfied);
        assert_eq!(q(Medium, High), Quadrant::KeepInformed);
        assert_eq!(q(Medium, Medium), Quadrant::Monitor);
        assert_eq!(q(VeryLow, Low), Quadrant::Monitor);
    }

    #[test]
    fn a_quadrant_filter_of_zero_means_any_and_unknown_values_are_refused() {
        assert_eq!(Quadrant::parse_filter("q", 0), Ok(None));
        assert_eq!(Quadrant::parse_filter("q", 2), Ok(Some(Quadrant::KeepSatisfied)));
        assert!(Quadrant::parse_filter("q", 5).is_err());
    }

    #[test]
    fn an_assessment_defaults_to_today_and_refuses_the_future() {
        let today = NaiveDate::from_ymd_opt(2025, 3, 10).expect("date");
        let party = liaison_runtime::api::names::Name::<liaison_runtime::api::names::Contacts>::generate().to_string();
        let mut a = wire::Assessment {
            party,
            influence: wire::Level::High as i32,
            interest: wire::Level::Low as i32,
            impact: wire::Level::Medium as i32,
            ..Default::default()
        };
        let parsed = NewAssessment::parse(&a, today).expect("valid");
        assert_eq!((parsed.date, parsed.quadrant()), (today, Quadrant::KeepSatisfied));
        a.assessment_date = Some(wire::Date { year: 2025, month: 3, day: 11 });
        let violations = NewAssessment::parse(&a, today).expect_err("future");
        assert_eq!(violations[0].field, "assessment.assessment_date");
    }

    #[test]
    fn every_bad_assessment_field_is_named() {
        let a = wire::Assessment {
            party: "meetings/x".into(),
            influence: 0,
            interest: 9,
            impact: 3,
            comment: "x".repeat(COMMENT_MAX + 1),
            ..Default::default()
        };
        let today = NaiveDate::from_ymd_opt(2025, 3, 10).expect("date");
        let fields: Vec<String> =
            NewAssessment::parse(&a, today).expect_err("invalid").into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["assessment.party", "assessment.influence", "assessment.interest", "assessment.comment"]);
    }

    #[test]
    fn links_are_resource_names_of_any_collection() {
        for good in ["meetings/0193a5b2-7c1d-7000-8000-000000000001", "cases/1/proposals/2", "reports/q3.pdf"] {
            assert!(link("l", good).is_ok(), "{good}");
        }
        for bad in ["", "meetings", "meetings/", "/x", "Meetings/1", "meetings/1/proposals", "a b/1", "x/ä"] {
            assert!(link("l", bad).is_err(), "{bad}");
        }
        let twice = vec!["cases/1".to_owned(), "cases/1".to_owned()];
        assert_eq!(links("links", &twice).expect_err("duplicate")[0].field, "links[1]");
        assert!(links("links", &vec!["cases/1".to_owned(); LINKS_MAX + 1]).is_err());
    }

    #[test]
    fn every_bad_interaction_field_is_named() {
        let now = Utc::now();
        let contact =
            liaison_runtime::api::names::Name::<liaison_runtime::api::names::Contacts>::generate().to_string();
        let i = wire::Interaction {
            channel: 0,
            direction: 7,
            occur_time: Some(liaison_runtime::api::time::to_timestamp(now + TimeDelta::hours(25))),
            participants: vec![contact.clone(), contact],
            subject: String::new(),
            sentiment: 3,
            follow_up: Some(wire::FollowUp { action: " ".into(), owner: "Ada".into(), due_date: None, done: false }),
            links: vec!["nope".into()],
            ..Default::default()
        };
        let fields: Vec<String> = InteractionFields::parse("interaction", &i, now)
            .expect_err("invalid")
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "interaction.channel",
                "interaction.direction",
                "interaction.occur_time",
                "interaction.participants[1]",
                "interaction.subject",
                "interaction.sentiment",
                "interaction.follow_up.action",
                "interaction.follow_up.due_date",
                "interaction.links[0]",
            ]
        );
    }

    #[test]
    fn an_interaction_may_be_logged_up_to_a_day_ahead_and_is_kept_to_microseconds() {
        let now = Utc::now();
        let contact =
            liaison_runtime::api::names::Name::<liaison_runtime::api::names::Organizations>::generate().to_string();
        let mut i = wire::Interaction {
            channel: wire::InteractionChannel::Email as i32,
            direction: wire::InteractionDirection::Inbound as i32,
            occur_time: Some(prost_types::Timestamp { seconds: now.timestamp() + 23 * 3600, nanos: 123_456_789 }),
            participants: vec![contact],
            subject: "Permit".into(),
            ..Default::default()
        };
        let parsed = InteractionFields::parse("interaction", &i, now).expect("valid");
        assert_eq!(parsed.occur_time.timestamp_subsec_nanos(), 123_456_000);
        i.participants.clear();
        assert!(InteractionFields::parse("interaction", &i, now).is_err(), "at least one participant");
    }

    #[test]
    fn a_follow_up_is_overdue_when_not_done_and_due_before_today() {
        let today = NaiveDate::from_ymd_opt(2025, 3, 10).expect("date");
        let f = |due: NaiveDate, done| FollowUp { action: "a".into(), owner: "o".into(), due, done };
        assert!(f(today.pred_opt().expect("date"), false).overdue(today));
        assert!(!f(today, false).overdue(today));
        assert!(!f(today.pred_opt().expect("date"), true).overdue(today));
    }

    #[test]
    fn a_close_regular_positive_relationship_scores_100() {
        let health = health_score(&HealthInputs {
            quadrant: Some(Quadrant::ManageClosely),
            interactions_90_days: 7,
            sentiment_sum_90_days: 14,
            days_since_last: Some(0),
        });
        assert_eq!(health.score, 100);
        assert_eq!((health.cadence_days, health.cadence_source.as_str()), (14, "QUADRANT_MANAGE_CLOSELY"));
        approx(health.expected_interactions_90_days, 90.0 / 14.0);
        approx(health.frequency_points, 50.0);
        approx(health.sentiment_points, 30.0);
        approx(health.recency_points, 20.0);
    }

    #[test]
    fn a_mid_score_computed_by_hand() {
        // Not assessed: cadence 30, 3 expected. One interaction (+1) 15 days ago:
        // 50 × 1/3 = 16.667; 30 × 3/4 = 22.5; 20 × (1 − 15/60) = 15; total 54.167 → 54.
        let health = health_score(&HealthInputs {
            quadrant: None,
            interactions_90_days: 1,
            sentiment_sum_90_days: 1,
            days_since_last: Some(15),
        });
        assert_eq!(health.score, 54);
        assert_eq!((health.cadence_days, health.cadence_source.as_str()), (30, "not assessed"));
        approx(health.expected_interactions_90_days, 3.0);
        approx(health.mean_sentiment_90_days, 1.0);
        approx(health.frequency_points, 50.0 / 3.0);
        approx(health.sentiment_points, 22.5);
        approx(health.recency_points, 15.0);
    }

    #[test]
    fn without_interactions_only_the_neutral_sentiment_counts() {
        let health = health_score(&HealthInputs {
            quadrant: Some(Quadrant::KeepInformed),
            interactions_90_days: 0,
            sentiment_sum_90_days: 0,
            days_since_last: None,
        });
        assert_eq!(health.score, 15);
        approx(health.mean_sentiment_90_days, 0.0);
        approx(health.recency_points, 0.0);
    }

    #[test]
    fn recency_fades_over_two_cadences_and_stops_at_zero() {
        // Monitor: cadence 90; nothing in 90 days, last one 100 days ago: 15 + 20 × (1 − 100/180) = 23.9 → 24.
        let monitored = health_score(&HealthInputs {
            quadrant: Some(Quadrant::Monitor),
            interactions_90_days: 0,
            sentiment_sum_90_days: 0,
            days_since_last: Some(100),
        });
        assert_eq!(monitored.score, 24);
        approx(monitored.recency_points, 20.0 * (1.0 - 100.0 / 180.0));
        // Manage closely, 28 days or more ago: no recency points; two very negative interactions out of 6.43.
        let neglected = health_score(&HealthInputs {
            quadrant: Some(Quadrant::ManageClosely),
            interactions_90_days: 2,
            sentiment_sum_90_days: -4,
            days_since_last: Some(40),
        });
        approx(neglected.recency_points, 0.0);
        approx(neglected.sentiment_points, 0.0);
        assert_eq!(neglected.score, (50.0_f64 * 2.0 * 14.0 / 90.0).round() as i32);
    }

    #[test]
    fn days_since_counts_whole_days_and_never_goes_negative() {
        let now = Utc::now();
        assert_eq!(days_since(now - TimeDelta::hours(47), now), 1);
        assert_eq!(days_since(now + TimeDelta::hours(5), now), 0);
    }
}
