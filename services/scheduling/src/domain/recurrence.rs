//! Recurring meetings: RFC 5545 recurrence rules, validated, expanded on read for a window, and edited as values.
//!
//! A [`Series`] is a first start in *local* (zone-less) time, the meeting's time zone, a duration, an optional
//! [`Rule`] (the RRULE), cancelled occurrences (EXDATE) and moved occurrences ([`Override`], RECURRENCE-ID).
//! Every occurrence is identified by the local start the rule generated for it, its *recurrence id*: that is the
//! key EXDATE and overrides refer to, and it does not change when the zone's offset does.
//!
//! # Expansion
//!
//! The rule is expanded here (not with the `rrule` crate, which duplicates and skips occurrences across DST
//! transitions and doubles an RDATE equal to an instance): dates are generated in zone-less civil time by the
//! RFC 5545 table of BYxxx "expand"/"limit" semantics, all at the start's time of day, and only then is each local
//! instance resolved in the zone. A weekly 09:00 Europe/Berlin meeting therefore stays at 09:00 local across both
//! transitions (its UTC instant moves by an hour), and there is exactly one occurrence per generated local date:
//! nothing is duplicated or skipped by a transition.
//!
//! # Skipped and repeated local times (the DST choices)
//!
//! Resolution follows RFC 5545 §3.3.5, which is jiff's "compatible" disambiguation:
//!
//! * A local time that does not exist (it falls in a spring-forward gap, e.g. 02:30 on the day Europe/Berlin or
//!   America/New_York skips 02:00–03:00) "is interpreted using the UTC offset before the gap": it is shifted
//!   forward by the length of the gap, so 02:30 becomes 03:30 local. The occurrence keeps 02:30 as its recurrence
//!   id, and the next day is at 02:30 again.
//! * A local time that happens twice (fall-back fold, e.g. 01:30 on the day America/New_York repeats 01:00–02:00)
//!   takes its first (earlier) instant. It is one occurrence, never two.
//!
//! An occurrence's end is its start plus the series' duration as elapsed time: a one-hour meeting lasts one hour
//! even when a transition happens during it.
//!
//! # What the rules may say
//!
//! `FREQ` is `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY` (a meeting repeats at most daily, always at the start's time of
//! day, so `HOURLY`, `MINUTELY`, `SECONDLY`, `BYHOUR`, `BYMINUTE` and `BYSECOND` are refused; so are `BYYEARDAY`,
//! `BYWEEKNO` and RFC 7529's `RSCALE`/`SKIP`, which meetings do not need). Also `INTERVAL`, `COUNT` or `UNTIL` (a
//! UTC date-time `…Z` or a DATE, which ends the series with that local day), `BYDAY` (with ordinals such as `-1FR`
//! or `2MO` for `MONTHLY` and `YEARLY` only), `BYMONTHDAY` (negative counts from the month's end; an invalid date
//! such as the 31st of a 30-day month is skipped, never clamped), `BYMONTH`, `BYSETPOS` and `WKST`. Every problem of
//! a rule is reported at once.
//!
//! The series' start must be an occurrence of its rule (RFC 5545 leaves an unsynchronised DTSTART undefined, and
//! implementations disagree on it), so the start is always the first occurrence.
//!
//! # Limits
//!
//! Input is untrusted, so the work of any request is bounded: see [`MAX_RULE_LEN`], [`MAX_COUNT`],
//! [`MAX_INTERVAL`], [`MAX_OCCURRENCES_PER_WINDOW`], [`MAX_PERIODS_SCANNED`] and [`MAX_EXCEPTIONS`]. A rule without
//! COUNT or UNTIL is allowed (a weekly stand-up has no end): expansion skips straight to the window's periods, so
//! an old open-ended series costs no more to read than a new one. Nothing here panics on any input.

use std::fmt;
use std::ops::ControlFlow;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use liaison_runtime::FieldViolation;

/// Longest RRULE text accepted, in bytes; a real rule is well under 200.
pub const MAX_RULE_LEN: usize = 512;
/// Largest COUNT: a thousand occurrences is a daily meeting for almost three years.
pub const MAX_COUNT: u32 = 1000;
/// Largest INTERVAL (every 1000 days, weeks, months or years).
pub const MAX_INTERVAL: u32 = 1000;
/// At most this many occurrences are returned for one window, the earliest ones; a caller that gets exactly this
/// many should ask again from the last one's start.
pub const MAX_OCCURRENCES_PER_WINDOW: usize = 1000;
/// At most this many periods (days, weeks, months or years, by FREQ) are examined by one expansion, so that a
/// rule that rarely or never matches (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`) cannot spin. Far beyond any real use:
/// a COUNT rule is scanned from its start, and 100 000 days is 270 years.
pub const MAX_PERIODS_SCANNED: i64 = 100_000;
/// At most this many cancelled plus moved occurrences per series.
pub const MAX_EXCEPTIONS: usize = 1000;

/// How often the rule repeats (`FREQ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

/// One `BYDAY` entry: a weekday, optionally the n-th (negative: from the end) of the month or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByDay {
    pub ordinal: Option<i8>,
    pub weekday: Weekday,
}

/// The end of a rule given by `UNTIL`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The last local day that may have an occurrence.
    Date(Date),
    /// The last instant an occurrence may start at.
    Instant(Timestamp),
}

/// How a rule ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Never,
    Count(u32),
    Until(Until),
}

/// A validated recurrence rule (RFC 5545 RRULE), normalised: lists sorted and without duplicates, so that equal
/// rules compare equal and [`Rule::to_rrule_string`] is canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    freq: Frequency,
    interval: u32,
    end: End,
    by_month: Vec<i8>,
    by_month_day: Vec<i8>,
    by_day: Vec<ByDay>,
    by_set_pos: Vec<i16>,
    wkst: Weekday,
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

fn weekday_code(w: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, d)| *d == w).map_or("MO", |(code, _)| code)
}

fn parse_weekday(code: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

/// Collects the problems of one rule text, each naming its rule part.
struct Problems<'a> {
    field: &'a str,
    found: Vec<FieldViolation>,
}

impl Problems<'_> {
    fn add(&mut self, part: &str, why: impl fmt::Display) {
        self.found.push(FieldViolation::new(self.field, format!("{part}: {why}")));
    }
}

/// Parses a comma-separated list of integers within `range` (zero refused), reporting bad items under `part`.
fn parse_int_list(
    problems: &mut Problems<'_>,
    part: &str,
    value: &str,
    range: std::ops::RangeInclusive<i32>,
) -> Vec<i32> {
    let mut out = Vec::new();
    for item in value.split(',') {
        match item.parse::<i32>() {
            Ok(n) if n != 0 && range.contains(&n.saturating_abs()) => out.push(n),
            _ => problems
                .add(part, format!("`{item}` is not a non-zero integer within ±{}..={}", range.start(), range.end())),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn parse_until(value: &str) -> Option<Until> {
    let num = |from: usize, to: usize| -> Option<i16> {
        let s = value.get(from..to)?;
        if s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let date = Date::new(num(0, 4)?, i8::try_from(num(4, 6)?).ok()?, i8::try_from(num(6, 8)?).ok()?).ok()?;
    match value.len() {
        8 => Some(Until::Date(date)),
        16 if value.get(8..9) == Some("T") && value.get(15..16) == Some("Z") => {
            let part = |from, to| num(from, to).and_then(|n| i8::try_from(n).ok());
            let time = jiff::civil::Time::new(part(9, 11)?, part(11, 13)?, part(13, 15)?, 0).ok()?;
            Offset::UTC.to_timestamp(date.to_datetime(time)).ok().map(Until::Instant)
        }
        _ => None,
    }
}

fn utc_text(at: Timestamp) -> String {
    let dt = TimeZone::UTC.to_datetime(at);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second())
}

impl Rule {
    /// Parses and validates RRULE text (with or without the `RRULE:` prefix; names and values are
    /// case-insensitive). All problems are returned at once, each a violation of `field` whose description starts
    /// with the rule part it is about.
    pub fn parse(field: &str, text: &str) -> Result<Rule, Vec<FieldViolation>> {
        let mut problems = Problems { field, found: Vec::new() };
        if text.len() > MAX_RULE_LEN {
            problems.add("RRULE", format!("longer than {MAX_RULE_LEN} bytes"));
            return Err(problems.found);
        }
        let text = text.trim().to_ascii_uppercase();
        let body = text.strip_prefix("RRULE:").unwrap_or(&text);

        let mut seen: Vec<&str> = Vec::new();
        let (mut freq, mut interval, mut count, mut until) = (None, None, None, None);
        let (mut by_month, mut by_month_day, mut by_day, mut by_set_pos, mut wkst) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), None);
        if body.is_empty() {
            problems.add("FREQ", "required");
            return Err(problems.found);
        }
        for part in body.split(';') {
            let Some((name, value)) = part.split_once('=') else {
                problems.add("RRULE", format!("`{part}` is not NAME=VALUE"));
                continue;
            };
            if seen.contains(&name) {
                problems.add(name, "given more than once");
                continue;
            }
            seen.push(name);
            if value.is_empty() {
                problems.add(name, "has no value");
                continue;
            }
            match name {
                "FREQ" => match value {
                    "DAILY" => freq = Some(Frequency::Daily),
                    "WEEKLY" => freq = Some(Frequency::Weekly),
                    "MONTHLY" => freq = Some(Frequency::Monthly),
                    "YEARLY" => freq = Some(Frequency::Yearly),
                    "HOURLY" | "MINUTELY" | "SECONDLY" => {
                        problems.add(name, format!("{value} is not supported: a meeting series repeats at most daily"))
                    }
                    _ => problems.add(name, format!("`{value}` is not DAILY, WEEKLY, MONTHLY or YEARLY")),
                },
                "INTERVAL" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_INTERVAL).contains(&n) => interval = Some(n),
                    _ => problems.add(name, format!("`{value}` is not an integer from 1 to {MAX_INTERVAL}")),
                },
                "COUNT" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_COUNT).contains(&n) => count = Some(n),
                    _ => problems.add(name, format!("`{value}` is not an integer from 1 to {MAX_COUNT}")),
                },
                "UNTIL" => match parse_until(value) {
                    Some(u) => until = Some(u),
                    None => problems
                        .add(name, format!("`{value}` is not a UTC date-time (YYYYMMDDTHHMMSSZ) or a date (YYYYMMDD)")),
                },
                "BYMONTH" => {
                    for n in parse_int_list(&mut problems, name, value, 1..=12) {
                        if n < 0 {
                            problems.add(name, format!("`{n}`: a month is 1 to 12"));
                        } else {
                            by_month.extend(i8::try_from(n).ok());
                        }
                    }
                }
                "BYMONTHDAY" => {
                    by_month_day = parse_int_list(&mut problems, name, value, 1..=31)
                        .into_iter()
                        .filter_map(|n| i8::try_from(n).ok())
                        .collect();
                }
                "BYSETPOS" => {
                    by_set_pos = parse_int_list(&mut problems, name, value, 1..=366)
                        .into_iter()
                        .filter_map(|n| i16::try_from(n).ok())
                        .collect();
                }
                "BYDAY" => {
                    for item in value.split(',') {
                        let split = item.len().saturating_sub(2);
                        let (ordinal, code) = (item.get(..split), item.get(split..));
                        let weekday = code.and_then(parse_weekday);
                        let ordinal = match ordinal {
                            Some("") => Some(None),
                            Some(n) => n.parse::<i8>().ok().filter(|n| *n != 0 && n.saturating_abs() <= 53).map(Some),
                            None => None,
                        };
                        match (ordinal, weekday) {
                            (Some(ordinal), Some(weekday)) => by_day.push(ByDay { ordinal, weekday }),
                            _ => problems.add(
                                name,
                                format!("`{item}` is not a weekday (MO…SU), optionally after ±1..=53 (e.g. -1FR)"),
                            ),
                        }
                    }
                }
                "WKST" => match parse_weekday(value) {
                    Some(w) => wkst = Some(w),
                    None => problems.add(name, format!("`{value}` is not a weekday (MO, TU, WE, TH, FR, SA, SU)")),
                },
                "BYHOUR" | "BYMINUTE" | "BYSECOND" => {
                    problems.add(name, "not supported: every occurrence is at the series' start time of day")
                }
                "BYYEARDAY" | "BYWEEKNO" | "RSCALE" | "SKIP" => problems.add(name, "not supported for meetings"),
                _ => problems.add(name, "not an RFC 5545 rule part"),
            }
        }

        if freq.is_none() && !seen.contains(&"FREQ") {
            problems.add("FREQ", "required");
        }
        if count.is_some() && until.is_some() {
            problems.add("COUNT", "COUNT and UNTIL cannot both be given");
        }
        if !by_set_pos.is_empty() && by_month.is_empty() && by_month_day.is_empty() && by_day.is_empty() {
            problems.add("BYSETPOS", "needs another BYxxx part to select from");
        }
        if let Some(freq) = freq {
            if freq == Frequency::Weekly && !by_month_day.is_empty() {
                problems.add("BYMONTHDAY", "not allowed with FREQ=WEEKLY");
            }
            // The scope an ordinal counts in: the month, or the year when YEARLY has no BYMONTH.
            let most = match freq {
                Frequency::Daily | Frequency::Weekly => 0,
                Frequency::Monthly => 5,
                Frequency::Yearly if by_month.is_empty() => 53,
                Frequency::Yearly => 5,
            };
            for d in &by_day {
                match d.ordinal {
                    Some(n) if most == 0 => problems.add(
                        "BYDAY",
                        format!("`{n}{}`: an ordinal needs FREQ=MONTHLY or YEARLY", weekday_code(d.weekday)),
                    ),
                    Some(n) if n.abs() > most => problems.add(
                        "BYDAY",
                        format!(
                            "`{n}{}`: there are at most {most} of a weekday in the period",
                            weekday_code(d.weekday)
                        ),
                    ),
                    _ => {}
                }
            }
        }
        let Some(freq) = freq else { return Err(problems.found) };
        if !problems.found.is_empty() {
            return Err(problems.found);
        }
        by_day.sort_by_key(|d| (d.ordinal, d.weekday.to_monday_zero_offset()));
        by_day.dedup();
        let end = match (count, until) {
            (Some(n), _) => End::Count(n),
            (None, Some(u)) => End::Until(u),
            (None, None) => End::Never,
        };
        Ok(Rule {
            freq,
            interval: interval.unwrap_or(1),
            end,
            by_month,
            by_month_day,
            by_day,
            by_set_pos,
            wkst: wkst.unwrap_or(Weekday::Monday),
        })
    }

    pub fn freq(&self) -> Frequency {
        self.freq
    }

    pub fn interval(&self) -> u32 {
        self.interval
    }

    pub fn end(&self) -> End {
        self.end
    }

    /// The same rule with another end (used by the edits; COUNT is not re-checked against [`MAX_COUNT`] because
    /// an edit only ever lowers it).
    pub fn with_end(&self, end: End) -> Rule {
        Rule { end, ..self.clone() }
    }

    /// Canonical RFC 5545 text (without the `RRULE:` prefix): parts in a fixed order, defaults (`INTERVAL=1`,
    /// `WKST=MO`) left out. Parsing it gives back an equal rule.
    pub fn to_rrule_string(&self) -> String {
        let mut parts = vec![format!("FREQ={}", self.freq.as_str())];
        match self.end {
            End::Never => {}
            End::Count(n) => parts.push(format!("COUNT={n}")),
            End::Until(Until::Date(d)) => parts.push(format!("UNTIL={:04}{:02}{:02}", d.year(), d.month(), d.day())),
            End::Until(Until::Instant(t)) => parts.push(format!("UNTIL={}", utc_text(t))),
        }
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        let list = |items: Vec<String>| items.join(",");
        if !self.by_month.is_empty() {
            parts.push(format!("BYMONTH={}", list(self.by_month.iter().map(i8::to_string).collect())));
        }
        if !self.by_month_day.is_empty() {
            parts.push(format!("BYMONTHDAY={}", list(self.by_month_day.iter().map(i8::to_string).collect())));
        }
        if !self.by_day.is_empty() {
            let days = self.by_day.iter().map(|d| {
                let code = weekday_code(d.weekday);
                d.ordinal.map_or_else(|| code.to_owned(), |n| format!("{n}{code}"))
            });
            parts.push(format!("BYDAY={}", list(days.collect())));
        }
        if !self.by_set_pos.is_empty() {
            parts.push(format!("BYSETPOS={}", list(self.by_set_pos.iter().map(i16::to_string).collect())));
        }
        if self.wkst != Weekday::Monday {
            parts.push(format!("WKST={}", weekday_code(self.wkst)));
        }
        parts.join(";")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rrule_string())
    }
}

// Civil calendar arithmetic on day numbers (days since 1970-01-01, proleptic Gregorian), after Howard Hinnant's
// `days_from_civil`: plain integers, so the expansion has no fallible steps until it builds the final dates.

fn day_number(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_day(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Monday = 0; 1970-01-01 was a Thursday.
fn weekday_of(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

fn day_of(date: Date) -> i64 {
    day_number(i64::from(date.year()), i64::from(date.month()), i64::from(date.day()))
}

fn date_of(day: i64) -> Option<Date> {
    let (y, m, d) = civil_from_day(day);
    Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// RFC 5545 §3.3.5 (jiff's "compatible"): in a gap, the offset before the gap (so the time moves forward by the
/// gap's length); in a fold, the earlier instant.
fn resolve(zone: &TimeZone, local: DateTime) -> Option<Timestamp> {
    zone.to_ambiguous_timestamp(local).compatible().ok()
}

/// A rule bound to its series' start, with RFC 5545's defaults filled in from the start (a WEEKLY rule without
/// BYDAY repeats on the start's weekday, MONTHLY without BYDAY/BYMONTHDAY on its day of the month, YEARLY also in
/// its month). Every generated date then passes the same filters, so all occurrences share the start's defaulted
/// parts, and a series split at any occurrence generates the same dates from there.
struct Expander<'a> {
    rule: &'a Rule,
    by_month: Vec<i64>,
    by_month_day: Vec<i64>,
    by_day: Vec<(Option<i64>, i64)>,
    /// Day numbers of week starts (WKST) are ≡ this modulo 7.
    week_anchor: i64,
}

impl<'a> Expander<'a> {
    fn new(rule: &'a Rule, start: Date) -> Self {
        let mut by_month: Vec<i64> = rule.by_month.iter().map(|&m| i64::from(m)).collect();
        let mut by_month_day: Vec<i64> = rule.by_month_day.iter().map(|&d| i64::from(d)).collect();
        let mut by_day: Vec<(Option<i64>, i64)> = rule
            .by_day
            .iter()
            .map(|d| (d.ordinal.map(i64::from), i64::from(d.weekday.to_monday_zero_offset())))
            .collect();
        let no_day_parts = rule.by_day.is_empty() && rule.by_month_day.is_empty();
        match rule.freq {
            Frequency::Daily => {}
            Frequency::Weekly if rule.by_day.is_empty() => {
                by_day.push((None, i64::from(start.weekday().to_monday_zero_offset())));
            }
            Frequency::Weekly => {}
            Frequency::Monthly if no_day_parts => by_month_day.push(i64::from(start.day())),
            Frequency::Monthly => {}
            Frequency::Yearly if no_day_parts => {
                by_month_day.push(i64::from(start.day()));
                if by_month.is_empty() {
                    by_month.push(i64::from(start.month()));
                }
            }
            Frequency::Yearly => {}
        }
        let week_anchor = (i64::from(rule.wkst.to_monday_zero_offset()) - 3).rem_euclid(7);
        Expander { rule, by_month, by_month_day, by_day, week_anchor }
    }

    /// The period (day, week, month or year number) a day falls in.
    fn period_of(&self, day: i64) -> i64 {
        let (y, m, _) = civil_from_day(day);
        match self.rule.freq {
            Frequency::Daily => day,
            Frequency::Weekly => (day - self.week_anchor).div_euclid(7),
            Frequency::Monthly => y * 12 + m - 1,
            Frequency::Yearly => y,
        }
    }

    /// First and last day of a period.
    fn period_days(&self, period: i64) -> (i64, i64) {
        match self.rule.freq {
            Frequency::Daily => (period, period),
            Frequency::Weekly => (period * 7 + self.week_anchor, period * 7 + self.week_anchor + 6),
            Frequency::Monthly => {
                let (y, m) = (period.div_euclid(12), period.rem_euclid(12) + 1);
                (day_number(y, m, 1), day_number(y, m, days_in_month(y, m)))
            }
            Frequency::Yearly => (day_number(period, 1, 1), day_number(period, 12, 31)),
        }
    }

    /// The days of one period the rule selects, in order; `None` past the years a date can have.
    fn days_in(&self, period: i64) -> Option<Vec<i64>> {
        let (first, last) = self.period_days(period);
        let (first_year, last_year) = (civil_from_day(first).0, civil_from_day(last).0);
        if first_year < 1 || last_year > 9999 {
            return None;
        }
        let ordinal_in_month = self.rule.freq == Frequency::Monthly || !self.rule.by_month.is_empty();
        let mut days = Vec::new();
        for day in first..=last {
            let (y, m, d) = civil_from_day(day);
            let month_len = days_in_month(y, m);
            if !self.by_month.is_empty() && !self.by_month.contains(&m) {
                continue;
            }
            // A negative month day counts from the end; a day the month does not have matches nothing.
            if !self.by_month_day.is_empty()
                && !self.by_month_day.iter().any(|&n| if n > 0 { n == d } else { month_len + 1 + n == d })
            {
                continue;
            }
            if !self.by_day.is_empty() {
                let weekday = weekday_of(day);
                let (scope_first, scope_last) = if ordinal_in_month {
                    (day - d + 1, day - d + month_len)
                } else {
                    (day_number(y, 1, 1), day_number(y, 12, 31))
                };
                let nth = (day - scope_first) / 7 + 1;
                let nth_from_end = -((scope_last - day) / 7 + 1);
                let matches = |&(ordinal, w): &(Option<i64>, i64)| {
                    w == weekday && ordinal.is_none_or(|n| n == nth || n == nth_from_end)
                };
                if !self.by_day.iter().any(matches) {
                    continue;
                }
            }
            days.push(day);
        }
        if self.rule.by_set_pos.is_empty() {
            return Some(days);
        }
        let len = i64::try_from(days.len()).ok()?;
        let mut picked: Vec<i64> = self
            .rule
            .by_set_pos
            .iter()
            .filter_map(|&pos| {
                let index = if pos > 0 { i64::from(pos) - 1 } else { len + i64::from(pos) };
                usize::try_from(index).ok().and_then(|i| days.get(i).copied())
            })
            .collect();
        picked.sort_unstable();
        picked.dedup();
        Some(picked)
    }
}

/// Why an expansion stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The visitor had seen enough.
    Visitor,
    /// The series has no more occurrences.
    Ended,
    /// [`MAX_PERIODS_SCANNED`] or the end of representable dates was reached first.
    Exhausted,
}

/// A moved occurrence (RFC 5545 RECURRENCE-ID): the occurrence generated for `recurrence_id` happens at
/// `start`–`end` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Override {
    pub recurrence_id: DateTime,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// One occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The local start the rule generated it for: the key of EXDATE and overrides.
    pub recurrence_id: DateTime,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Moved by an [`Override`].
    pub overridden: bool,
}

/// Why a series cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesError {
    /// The duration is zero or negative.
    EmptyDuration,
    /// The start has a fraction of a second (RFC 5545 date-times have whole seconds).
    FractionalSecond,
    /// The start is not within the years 1–9999, or cannot be placed in the zone.
    OutOfRange,
    /// The start is not an occurrence of the rule.
    NotAnOccurrenceOfRule,
    /// The start is the later of two instants with the same local time (clocks went back), which a series cannot
    /// begin at: its occurrences take the earlier one, so the first would be an hour off the meeting's start.
    LaterOfRepeatedTime,
}

impl fmt::Display for SeriesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyDuration => "a meeting must last longer than zero",
            Self::FractionalSecond => "the start must be a whole second",
            Self::OutOfRange => "the start must be within the years 1 to 9999",
            Self::NotAnOccurrenceOfRule => "the start must be an occurrence of the recurrence rule",
            Self::LaterOfRepeatedTime => {
                "a recurring meeting cannot start at the second of two instants with the same local time (the \
                 clocks went back): its occurrences take the first — start an hour earlier, or at another time"
            }
        })
    }
}

impl SeriesError {
    pub fn violation(&self, field: &str) -> FieldViolation {
        FieldViolation::new(field, self.to_string())
    }
}

/// Why an edit of a series is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The recurrence id is not an occurrence the rule generates.
    NotAnOccurrence(DateTime),
    /// The occurrence is cancelled, so it cannot be moved.
    Cancelled(DateTime),
    /// An override must end after it starts.
    EmptyOverride,
    /// The series already has [`MAX_EXCEPTIONS`] cancelled or moved occurrences.
    TooManyExceptions,
    /// The occurrence is further from the series' start than one expansion scans ([`MAX_PERIODS_SCANNED`]).
    TooFar,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnOccurrence(id) => write!(f, "{id} is not an occurrence of the series"),
            Self::Cancelled(id) => write!(f, "the occurrence {id} is cancelled"),
            Self::EmptyOverride => f.write_str("a moved occurrence must end after it starts"),
            Self::TooManyExceptions => {
                write!(f, "a series has at most {MAX_EXCEPTIONS} cancelled or moved occurrences")
            }
            Self::TooFar => f.write_str("the occurrence is too far from the start of the series to edit it"),
        }
    }
}

impl EditError {
    pub fn violation(&self, field: &str) -> FieldViolation {
        FieldViolation::new(field, self.to_string())
    }
}

/// A this-and-following edit: the series up to the occurrence (none when it was the first) and the series from it
/// on. Together they have exactly the original occurrences, cancellations and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub before: Option<Series>,
    pub after: Series,
}

/// A meeting that happens once (no rule) or repeatedly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    start: DateTime,
    zone: TimeZone,
    duration: SignedDuration,
    rule: Option<Rule>,
    /// Cancelled occurrences (EXDATE), sorted, no duplicates.
    exdates: Vec<DateTime>,
    /// Sorted by recurrence id, at most one per id.
    overrides: Vec<Override>,
}

impl Series {
    /// A series starting at `start` (local time in `zone`), each occurrence lasting `duration`.
    pub fn new(
        start: DateTime,
        zone: TimeZone,
        duration: SignedDuration,
        rule: Option<Rule>,
    ) -> Result<Series, SeriesError> {
        if duration <= SignedDuration::ZERO {
            return Err(SeriesError::EmptyDuration);
        }
        if start.subsec_nanosecond() != 0 {
            return Err(SeriesError::FractionalSecond);
        }
        if !(1..=9999).contains(&start.year()) || resolve(&zone, start).is_none() {
            return Err(SeriesError::OutOfRange);
        }
        let series = Series { start, zone, duration, rule, exdates: Vec::new(), overrides: Vec::new() };
        let mut first = None;
        series.for_each_instance(None, |local, _| {
            first = Some(local);
            ControlFlow::Break(())
        });
        if first != Some(start) {
            return Err(SeriesError::NotAnOccurrenceOfRule);
        }
        Ok(series)
    }

    pub fn start(&self) -> DateTime {
        self.start
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    pub fn duration(&self) -> SignedDuration {
        self.duration
    }

    pub fn rule(&self) -> Option<&Rule> {
        self.rule.as_ref()
    }

    pub fn exdates(&self) -> &[DateTime] {
        &self.exdates
    }

    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The rule as it should be exported next to `DTSTART;TZID=…`: RFC 5545 wants UNTIL in UTC there, so an
    /// UNTIL date becomes the last second of that local day.
    pub fn rrule_for_export(&self) -> Option<String> {
        let rule = self.rule.as_ref()?;
        let End::Until(Until::Date(last)) = rule.end else { return Some(rule.to_rrule_string()) };
        // The later instant of the next midnight: an occurrence in a gap or fold around midnight still resolves
        // before it.
        let until = last
            .tomorrow()
            .ok()
            .and_then(|next| {
                self.zone.to_ambiguous_timestamp(next.to_datetime(jiff::civil::Time::midnight())).later().ok()
            })
            .and_then(|t| t.checked_sub(SignedDuration::from_secs(1)).ok());
        Some(match until {
            Some(t) => rule.with_end(End::Until(Until::Instant(t))).to_rrule_string(),
            None => rule.to_rrule_string(),
        })
    }

    /// Visits the rule's instances (before EXDATE and overrides) in order, as local start and instant, from the
    /// period holding `from` (from the start when `None`, and always for COUNT, which counts from the start).
    fn for_each_instance(
        &self,
        from: Option<DateTime>,
        mut visit: impl FnMut(DateTime, Timestamp) -> ControlFlow<()>,
    ) -> Stop {
        let Some(rule) = &self.rule else {
            let Some(at) = resolve(&self.zone, self.start) else { return Stop::Exhausted };
            return match visit(self.start, at) {
                ControlFlow::Break(()) => Stop::Visitor,
                ControlFlow::Continue(()) => Stop::Ended,
            };
        };
        let expander = Expander::new(rule, self.start.date());
        let start_day = day_of(self.start.date());
        let start_period = expander.period_of(start_day);
        let interval = i64::from(rule.interval);
        let first_step = match (rule.end, from) {
            (End::Count(_), _) | (_, None) => 0,
            (_, Some(from)) => (expander.period_of(day_of(from.date())) - start_period).div_euclid(interval).max(0),
        };
        let mut count = 0;
        for step in first_step..first_step + MAX_PERIODS_SCANNED {
            let Some(days) = expander.days_in(start_period + step * interval) else { return Stop::Exhausted };
            for day in days {
                // Every instance has the start's time of day, so comparing days compares instances.
                if day < start_day {
                    continue;
                }
                let Some(date) = date_of(day) else { return Stop::Exhausted };
                match rule.end {
                    End::Until(Until::Date(last)) if date > last => return Stop::Ended,
                    End::Count(n) if count >= n => return Stop::Ended,
                    _ => count += 1,
                }
                let local = date.to_datetime(self.start.time());
                let Some(at) = resolve(&self.zone, local) else { return Stop::Exhausted };
                if matches!(rule.end, End::Until(Until::Instant(last)) if at > last) {
                    return Stop::Ended;
                }
                if visit(local, at).is_break() {
                    return Stop::Visitor;
                }
            }
        }
        Stop::Exhausted
    }

    /// Where the rule generates `id`: its instant and how many instances come before it, or why not.
    fn locate(&self, id: DateTime) -> Result<(Timestamp, u32, Option<Timestamp>), EditError> {
        let (mut found, mut before, mut previous) = (None, 0u32, None);
        let stop = self.for_each_instance(None, |local, at| {
            if local == id {
                found = Some(at);
            }
            if local >= id {
                return ControlFlow::Break(());
            }
            before += 1;
            previous = Some(at);
            ControlFlow::Continue(())
        });
        match (found, stop) {
            (Some(at), _) => Ok((at, before, previous)),
            (None, Stop::Exhausted) => Err(EditError::TooFar),
            (None, _) => Err(EditError::NotAnOccurrence(id)),
        }
    }

    /// Whether the rule generates an occurrence for `id` (cancelled ones included).
    pub fn is_occurrence(&self, id: DateTime) -> bool {
        let mut found = false;
        self.for_each_instance(Some(id), |local, _| {
            found = local == id;
            if local >= id { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        found
    }

    fn is_cancelled(&self, id: DateTime) -> bool {
        self.exdates.binary_search(&id).is_ok()
    }

    fn override_of(&self, id: DateTime) -> Option<&Override> {
        self.overrides.binary_search_by_key(&id, |o| o.recurrence_id).ok().and_then(|i| self.overrides.get(i))
    }

    /// The occurrences that overlap `[window_start, window_end)` (one that started before the window but ends
    /// inside it is included), ordered by start, at most [`MAX_OCCURRENCES_PER_WINDOW`]: cancelled ones left out,
    /// moved ones where they were moved to.
    pub fn occurrences(&self, window_start: Timestamp, window_end: Timestamp) -> Vec<Occurrence> {
        let mut out = Vec::new();
        if window_end <= window_start {
            return out;
        }
        // An occurrence overlapping the window starts after `window_start - duration`; its local date is within a
        // day of that instant's local date (offsets differ by less than a day), two days leave a margin.
        let from = window_start
            .checked_sub(self.duration)
            .ok()
            .map(|t| self.zone.to_datetime(t))
            .and_then(|dt| dt.checked_sub(SignedDuration::from_hours(48)).ok());
        self.for_each_instance(from, |id, start| {
            if start >= window_end || out.len() >= MAX_OCCURRENCES_PER_WINDOW {
                return ControlFlow::Break(());
            }
            let end = start.checked_add(self.duration).unwrap_or(Timestamp::MAX);
            if end > window_start && !self.is_cancelled(id) && self.override_of(id).is_none() {
                out.push(Occurrence { recurrence_id: id, start, end, overridden: false });
            }
            ControlFlow::Continue(())
        });
        // Overrides were checked to be occurrences when added; a moved one may come from outside the window.
        out.extend(
            self.overrides
                .iter()
                .filter(|o| o.start < window_end && o.end > window_start && !self.is_cancelled(o.recurrence_id))
                .map(|o| Occurrence { recurrence_id: o.recurrence_id, start: o.start, end: o.end, overridden: true }),
        );
        out.sort_by_key(|o| (o.start, o.recurrence_id));
        out.truncate(MAX_OCCURRENCES_PER_WINDOW);
        out
    }

    fn exceptions(&self) -> usize {
        self.exdates.len() + self.overrides.len()
    }

    /// Cancels one occurrence (adds an EXDATE, drops its override). Cancelling a cancelled one changes nothing.
    pub fn cancel_occurrence(&self, id: DateTime) -> Result<Series, EditError> {
        if self.is_cancelled(id) {
            return Ok(self.clone());
        }
        if !self.is_occurrence(id) {
            return Err(EditError::NotAnOccurrence(id));
        }
        if self.exceptions() >= MAX_EXCEPTIONS {
            return Err(EditError::TooManyExceptions);
        }
        let mut series = self.clone();
        series.overrides.retain(|o| o.recurrence_id != id);
        let at = series.exdates.partition_point(|d| *d < id);
        series.exdates.insert(at, id);
        Ok(series)
    }

    /// Moves one occurrence (RECURRENCE-ID), replacing an earlier move of it.
    pub fn with_override(&self, moved: Override) -> Result<Series, EditError> {
        if moved.end <= moved.start {
            return Err(EditError::EmptyOverride);
        }
        if self.is_cancelled(moved.recurrence_id) {
            return Err(EditError::Cancelled(moved.recurrence_id));
        }
        if !self.is_occurrence(moved.recurrence_id) {
            return Err(EditError::NotAnOccurrence(moved.recurrence_id));
        }
        let mut series = self.clone();
        match series.overrides.binary_search_by_key(&moved.recurrence_id, |o| o.recurrence_id) {
            Ok(i) => {
                if let Some(slot) = series.overrides.get_mut(i) {
                    *slot = moved;
                }
            }
            Err(i) => {
                if self.exceptions() >= MAX_EXCEPTIONS {
                    return Err(EditError::TooManyExceptions);
                }
                series.overrides.insert(i, moved);
            }
        }
        Ok(series)
    }

    /// Adds stored cancellations as they are (loading from storage); ids that are no occurrence match nothing.
    pub fn with_exdates(mut self, ids: impl IntoIterator<Item = DateTime>) -> Series {
        self.exdates.extend(ids);
        self.exdates.sort_unstable();
        self.exdates.dedup();
        self
    }

    /// This-and-following: the series ends (UNTIL) at the occurrence before `id`, and a new series with the same
    /// rule starts at `id` (a COUNT is shared out between them). Cancellations and overrides go with the part
    /// their occurrence is in, so nothing is duplicated and nothing orphaned. To change the times from `id` on,
    /// build the new series from `after`'s rule.
    pub fn split_at(&self, id: DateTime) -> Result<Split, EditError> {
        let (_, before_count, previous) = self.locate(id)?;
        let before = previous.map(|last| Series {
            rule: self.rule.as_ref().map(|r| r.with_end(End::Until(Until::Instant(last)))),
            exdates: self.exdates.iter().copied().filter(|d| *d < id).collect(),
            overrides: self.overrides.iter().copied().filter(|o| o.recurrence_id < id).collect(),
            ..self.clone()
        });
        let after = Series {
            start: id,
            rule: self.rule.as_ref().map(|r| match r.end {
                End::Count(n) => r.with_end(End::Count(n.saturating_sub(before_count))),
                _ => r.clone(),
            }),
            exdates: self.exdates.iter().copied().filter(|d| *d >= id).collect(),
            overrides: self.overrides.iter().copied().filter(|o| o.recurrence_id >= id).collect(),
            ..self.clone()
        };
        Ok(Split { before, after })
    }

    /// Cancels the rest of the series: `id` stays the last occurrence.
    pub fn end_after(&self, id: DateTime) -> Result<Series, EditError> {
        let at = resolve(&self.zone, id).filter(|_| self.is_occurrence(id)).ok_or(EditError::NotAnOccurrence(id))?;
        Ok(Series {
            rule: self.rule.as_ref().map(|r| r.with_end(End::Until(Until::Instant(at)))),
            exdates: self.exdates.iter().copied().filter(|d| *d <= id).collect(),
            overrides: self.overrides.iter().copied().filter(|o| o.recurrence_id <= id).collect(),
            ..self.clone()
        })
    }

    /// Edits all occurrences: a new start, zone, duration and rule. Cancellations and moves are kept for the
    /// occurrences that still exist, their ids shifted by as much as the start moved in local time (a cancelled
    /// 09:00 stays cancelled when the series moves to 10:00); the others are dropped, as their occurrence is gone.
    /// A moved occurrence keeps the time it was moved to.
    pub fn edit_all(
        &self,
        start: DateTime,
        zone: TimeZone,
        duration: SignedDuration,
        rule: Option<Rule>,
    ) -> Result<Series, SeriesError> {
        let mut series = Series::new(start, zone, duration, rule)?;
        let shift = self.start.duration_until(start);
        let kept = |id: DateTime| id.checked_add(shift).ok().filter(|id| series.is_occurrence(*id));
        let exdates: Vec<DateTime> = self.exdates.iter().filter_map(|&id| kept(id)).collect();
        let overrides: Vec<Override> = self
            .overrides
            .iter()
            .filter_map(|o| kept(o.recurrence_id).map(|recurrence_id| Override { recurrence_id, ..*o }))
            .collect();
        // Shifting keeps the order, so the lists stay sorted and unique.
        series.exdates = exdates;
        series.overrides = overrides;
        Ok(series)
    }

    /// Cancels `id` and everything after it; `None` when that is the whole series.
    pub fn cancel_from(&self, id: DateTime) -> Result<Option<Series>, EditError> {
        Ok(self.split_at(id)?.before)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
