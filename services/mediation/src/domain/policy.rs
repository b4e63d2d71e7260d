//! The mediation policy: the working calendar the SLA clocks count on, each stage's limit and the whole case's
//! per severity, when a clock is at risk, the escalation ladder, and the appeal and unreachability windows. One
//! policy per deployment, kept in the service's database (so every replica follows the same one) and replaced
//! whole by administrators; [`Policy::default`] is what a new database starts with.
use super::sla::{CalendarError, SlaClock, WorkingCalendar};
use super::{Severity, Stage};
use liaison_proto::mediation::v1 as wire;
use liaison_runtime::FieldViolation;
use liaison_runtime::api::validate::required_text;
use serde::{Deserialize, Serialize};

pub const DAYS_MAX: i32 = 3650;
pub const WINDOW_MAX: i32 = 365;
pub const HOLIDAYS_MAX: usize = 1000;
pub const LEVELS_MAX: usize = 10;
pub const LEVEL_MAX: usize = 200;
/// One limit per open stage.
pub const STAGE_LIMITS_MAX: usize = 8;

/// Working days allowed, one value per severity (low, medium, high, critical).
pub type PerSeverity = [u32; 4];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub time_zone: String,
    /// ISO weekday numbers, 1 (Monday) to 7 (Sunday).
    pub working_weekdays: Vec<i8>,
    #[serde(with = "iso_dates")]
    pub holidays: Vec<jiff::civil::Date>,
    pub stage_limits: Vec<(Stage, PerSeverity)>,
    pub case_limit: PerSeverity,
    pub at_risk_fraction: f64,
    pub escalation_levels: Vec<String>,
    pub escalate_on_breach: bool,
    pub appeal_window_working_days: u32,
    pub inconclusive_after_working_days: u32,
}

impl Default for Policy {
    /// ISO 10002 asks for prompt acknowledgement and status at set deadlines; these limits are a starting point
    /// an office adjusts with UpdateMediationPolicy.
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            working_weekdays: vec![1, 2, 3, 4, 5],
            holidays: Vec::new(),
            stage_limits: vec![
                (Stage::Received, [3, 2, 1, 1]),
                (Stage::Acknowledged, [10, 7, 5, 2]),
                (Stage::Assessed, [10, 5, 3, 2]),
                (Stage::MediatorAssigned, [10, 5, 3, 2]),
                (Stage::InMediation, [20, 15, 10, 5]),
                (Stage::RootCauseRecorded, [30, 20, 15, 10]),
                (Stage::ProposalAgreed, [10, 5, 5, 3]),
                (Stage::Implementing, [60, 45, 30, 20]),
            ],
            case_limit: [120, 90, 60, 30],
            at_risk_fraction: 0.75,
            escalation_levels: vec!["Head of the liaison office".into(), "Director".into(), "Ombudsman".into()],
            escalate_on_breach: false,
            appeal_window_working_days: 20,
            inconclusive_after_working_days: 15,
        }
    }
}

impl Policy {
    /// Parses a policy sent by a client, naming every bad field.
    pub fn parse(policy: &wire::MediationPolicy) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        // Lists are counted before they are read: a request of a million weekdays costs one comparison.
        if policy.working_weekdays.len() > 7 || policy.stage_limits.len() > STAGE_LIMITS_MAX {
            let mut too_long = Vec::new();
            if policy.working_weekdays.len() > 7 {
                too_long.push(FieldViolation::new("policy.working_weekdays", "must have at most 7 items"));
            }
            if policy.stage_limits.len() > STAGE_LIMITS_MAX {
                let text = format!("must have at most {STAGE_LIMITS_MAX} items, one per open stage");
                too_long.push(FieldViolation::new("policy.stage_limits", text));
            }
            return Err(too_long);
        }
        let mut bad = |field: &str, text: String| violations.push(FieldViolation::new(field, text));
        let weekdays: Vec<i8> = policy.working_weekdays.iter().filter_map(|d| i8::try_from(*d).ok()).collect();
        if weekdays.is_empty() || weekdays.len() != policy.working_weekdays.len() {
            bad("policy.working_weekdays", "must list at least one weekday".into());
        }
        for (i, day) in policy.working_weekdays.iter().enumerate() {
            if !(1..=7).contains(day) {
                bad(&format!("policy.working_weekdays[{i}]"), format!("{day} is not a weekday from 1 (Monday) to 7"));
            } else if policy.working_weekdays[..i].contains(day) {
                bad(&format!("policy.working_weekdays[{i}]"), format!("{day} is listed twice"));
            }
        }
        let mut holidays = Vec::new();
        if policy.holidays.len() > HOLIDAYS_MAX {
            bad("policy.holidays", format!("must have at most {HOLIDAYS_MAX} items (got {})", policy.holidays.len()));
        } else {
            for (i, day) in policy.holidays.iter().enumerate() {
                match day.parse::<jiff::civil::Date>() {
                    Ok(date) if day.len() == 10 => holidays.push(date),
                    _ => bad(&format!("policy.holidays[{i}]"), format!("'{day}' is not a date YYYY-MM-DD")),
                }
            }
        }
        let mut stage_limits = Vec::new();
        for (i, limit) in policy.stage_limits.iter().enumerate() {
            let field = format!("policy.stage_limits[{i}]");
            match Stage::from_number(limit.stage) {
                Some(stage) if stage.is_terminal() => {
                    bad(&format!("{field}.stage"), format!("{} has no clock: it is not an open stage", stage.name()))
                }
                Some(stage) if stage_limits.iter().any(|(s, _)| *s == stage) => {
                    bad(&format!("{field}.stage"), format!("{} has a limit already", stage.name()))
                }
                Some(stage) => {
                    if let Some(days) = per_severity(&format!("{field}.working_days"), &limit.working_days, &mut bad) {
                        stage_limits.push((stage, days));
                    }
                }
                None => bad(&format!("{field}.stage"), "is required: an open stage".into()),
            }
        }
        let case_limit = per_severity("policy.case_working_days", &policy.case_working_days, &mut bad);
        if !(policy.at_risk_fraction > 0.0 && policy.at_risk_fraction <= 1.0) {
            bad("policy.at_risk_fraction", "must be greater than 0 and at most 1".into());
        }
        let mut escalation_levels = Vec::new();
        if policy.escalation_levels.len() > LEVELS_MAX {
            bad("policy.escalation_levels", format!("must have at most {LEVELS_MAX} items"));
        } else {
            for (i, level) in policy.escalation_levels.iter().enumerate() {
                match required_text(&format!("policy.escalation_levels[{i}]"), level, LEVEL_MAX) {
                    Ok(level) => escalation_levels.push(level),
                    Err(v) => bad(&v.field, v.description),
                }
            }
        }
        if policy.escalate_on_breach && policy.escalation_levels.is_empty() {
            bad("policy.escalate_on_breach", "needs escalation_levels to escalate to".into());
        }
        let window = |field: &str, value: i32, bad: &mut dyn FnMut(&str, String)| {
            if (1..=WINDOW_MAX).contains(&value) {
                value as u32
            } else {
                bad(field, format!("must be 1 to {WINDOW_MAX} working days (got {value})"));
                0
            }
        };
        let appeal = window("policy.appeal_window_working_days", policy.appeal_window_working_days, &mut bad);
        let inconclusive =
            window("policy.inconclusive_after_working_days", policy.inconclusive_after_working_days, &mut bad);
        let parsed = Self {
            time_zone: policy.time_zone.clone(),
            working_weekdays: weekdays,
            holidays,
            stage_limits,
            case_limit: case_limit.unwrap_or_default(),
            at_risk_fraction: policy.at_risk_fraction,
            escalation_levels,
            escalate_on_breach: policy.escalate_on_breach,
            appeal_window_working_days: appeal,
            inconclusive_after_working_days: inconclusive,
        };
        match parsed.calendar() {
            Err(CalendarError::UnknownZone(zone)) => {
                violations.push(FieldViolation::new("policy.time_zone", format!("'{zone}' is not an IANA time zone")))
            }
            Err(CalendarError::NoWorkingDay) | Ok(_) => {}
        }
        if violations.is_empty() { Ok(parsed) } else { Err(violations) }
    }

    pub fn wire(&self) -> wire::MediationPolicy {
        wire::MediationPolicy {
            time_zone: self.time_zone.clone(),
            working_weekdays: self.working_weekdays.iter().map(|d| i32::from(*d)).collect(),
            holidays: self.holidays.iter().map(ToString::to_string).collect(),
            stage_limits: (self.stage_limits.iter())
                .map(|(stage, days)| wire::StageLimit {
                    stage: stage.wire() as i32,
                    working_days: days.iter().map(|d| *d as i32).collect(),
                })
                .collect(),
            case_working_days: self.case_limit.iter().map(|d| *d as i32).collect(),
            at_risk_fraction: self.at_risk_fraction,
            escalation_levels: self.escalation_levels.clone(),
            escalate_on_breach: self.escalate_on_breach,
            appeal_window_working_days: self.appeal_window_working_days as i32,
            inconclusive_after_working_days: self.inconclusive_after_working_days as i32,
            etag: String::new(),
            update_time: None,
        }
    }

    /// The working calendar of the policy's zone, weekdays and holidays.
    pub fn calendar(&self) -> Result<WorkingCalendar, CalendarError> {
        let weekdays: Vec<jiff::civil::Weekday> = (self.working_weekdays.iter())
            .filter_map(|d| jiff::civil::Weekday::from_monday_one_offset(*d).ok())
            .collect();
        WorkingCalendar::new(&self.time_zone, &weekdays, self.holidays.iter().copied())
    }

    /// Working days allowed in `stage` for a case of `severity`; `None` when the stage has no clock.
    pub fn stage_days(&self, stage: Stage, severity: Severity) -> Option<u32> {
        self.stage_limits.iter().find(|(s, _)| *s == stage).map(|(_, days)| days[severity.index()])
    }

    pub fn case_days(&self, severity: Severity) -> u32 {
        self.case_limit[severity.index()]
    }

    /// The stage clock started at `start`, if the stage has one.
    pub fn stage_clock(
        &self,
        calendar: &WorkingCalendar,
        stage: Stage,
        severity: Severity,
        start: jiff::Timestamp,
    ) -> Option<(SlaClock, u32)> {
        let days = self.stage_days(stage, severity)?;
        Some((SlaClock::start(calendar, start, days, self.at_risk_fraction), days))
    }

    pub fn case_clock(
        &self,
        calendar: &WorkingCalendar,
        severity: Severity,
        opened: jiff::Timestamp,
    ) -> (SlaClock, u32) {
        let days = self.case_days(severity);
        (SlaClock::start(calendar, opened, days, self.at_risk_fraction), days)
    }
}

/// Holidays stored as ISO dates.
mod iso_dates {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(dates: &[jiff::civil::Date], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(dates.iter().map(ToString::to_string))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<jiff::civil::Date>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts.iter().map(|text| text.parse().map_err(serde::de::Error::custom)).collect()
    }
}

/// Four working-day limits, low to critical, each 1 to [`DAYS_MAX`].
fn per_severity(field: &str, days: &[i32], bad: &mut impl FnMut(&str, String)) -> Option<PerSeverity> {
    if days.len() != 4 {
        bad(field, format!("must give 4 values, for LOW, MEDIUM, HIGH and CRITICAL (got {})", days.len()));
        return None;
    }
    let mut out = [0u32; 4];
    let mut ok = true;
    for (i, day) in days.iter().enumerate() {
        if (1..=DAYS_MAX).contains(day) {
            out[i] = *day as u32;
        } else {
            bad(&format!("{field}[{i}]"), format!("must be 1 to {DAYS_MAX} working days (got {day})"));
            ok = false;
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_round_trips_through_its_wire_form() {
        let policy = Policy::default();
        assert_eq!(Policy::parse(&policy.wire()), Ok(policy));
    }

    #[test]
    fn every_bad_field_of_a_policy_is_named() {
        let mut wire = Policy::default().wire();
        wire.time_zone = "Mars/Olympus".into();
        wire.working_weekdays = vec![1, 8, 1];
        wire.holidays = vec!["2026-13-01".into()];
        wire.stage_limits[0].working_days = vec![1, 2];
        wire.stage_limits[1].stage = wire::Stage::Closed as i32;
        wire.case_working_days = vec![0, 1, 2, 3];
        wire.at_risk_fraction = 1.5;
        wire.appeal_window_working_days = 0;
        let fields: Vec<String> = Policy::parse(&wire).expect_err("bad").into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "policy.working_weekdays[1]",
                "policy.working_weekdays[2]",
                "policy.holidays[0]",
                "policy.stage_limits[0].working_days",
                "policy.stage_limits[1].stage",
                "policy.case_working_days[0]",
                "policy.at_risk_fraction",
                "policy.appeal_window_working_days",
                "policy.time_zone",
            ]
        );
    }

    #[test]
    fn limits_are_read_per_stage_and_severity() {
        let policy = Policy::default();
        assert_eq!(policy.stage_days(Stage::Received, Severity::Critical), Some(1));
        assert_eq!(policy.stage_days(Stage::Closed, Severity::Low), None);
        assert_eq!(policy.case_days(Severity::Low), 120);
    }
}
