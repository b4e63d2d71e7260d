//! SLA clocks measured in working days of a [`WorkingCalendar`].
//!
//! - A working day is a worked weekday that is not a holiday, judged by its *local* date in the calendar's zone.
//!   It counts in full: all of its local hours, which are 23, 24 or 25 around DST changes.
//! - A clock of `n` working days runs out at the end (the next local midnight) of the `n`-th working day after the
//!   local date of its start. The rest of the starting day never counts; `n == 0` means the end of the starting day.
//! - A clock turns at risk once a fraction of the working time between its start and its due instant has passed.
//! - Day boundaries always come from the zone's rules, never from 86 400-second days.
//!
//! Nothing here panics: instants beyond what `jiff` can represent saturate to [`Timestamp::MAX`]/[`Timestamp::MIN`].

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Included};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Ten years of working days; anything longer is a caller bug, and capping keeps `deadline` cheap.
const MAX_DAYS: u32 = 3660;

/// Why a calendar cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    #[error("a working week needs at least one working day")]
    NoWorkingDay,
}

/// Which days count as working days, in which time zone: the weekdays that are worked, minus holidays.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    zone: TimeZone,
    zone_name: String,
    /// Indexed by `Weekday::to_monday_zero_offset`.
    worked: [bool; 7],
    holidays: BTreeSet<Date>,
}

fn weekday_index(weekday: Weekday) -> usize {
    usize::from(weekday.to_monday_zero_offset().unsigned_abs())
}

impl WorkingCalendar {
    /// `zone` is an IANA name (e.g. "Europe/Berlin"); an empty `weekdays` is NoWorkingDay; duplicate weekdays/holidays
    /// are fine.
    pub fn new(
        zone: &str,
        weekdays: &[Weekday],
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        let tz = TimeZone::get(zone).map_err(|_| CalendarError::UnknownZone(zone.to_owned()))?;
        if weekdays.is_empty() {
            return Err(CalendarError::NoWorkingDay);
        }
        let mut worked = [false; 7];
        for &weekday in weekdays {
            if let Some(slot) = worked.get_mut(weekday_index(weekday)) {
                *slot = true;
            }
        }
        // Lookups are case-insensitive, so report the canonical spelling rather than whatever the caller typed.
        let zone_name = tz.iana_name().unwrap_or(zone).to_owned();
        Ok(Self { zone: tz, zone_name, worked, holidays: holidays.into_iter().collect() })
    }

    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        self.is_worked_weekday(date.weekday()) && !self.holidays.contains(&date)
    }

    /// The local date of an instant in the calendar's zone.
    pub fn date_of(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// The next local midnight after `at`: when the local date of `at` next changes, and with it any count of
    /// working days that ends at `at`.
    pub fn next_day_start(&self, at: Timestamp) -> Timestamp {
        self.day_end(self.date_of(at))
    }

    /// When a clock of `days` working days started at `start` runs out: the end (next local midnight, i.e. the start
    /// of the following day, in the zone) of the `days`-th working day AFTER the local date of `start`. The rest of
    /// the starting day never counts, whether or not it is a working day. `days == 0` means the end of the starting
    /// day itself. `days` above 3660 is treated as 3660.
    pub fn deadline(&self, start: Timestamp, days: u32) -> Timestamp {
        let days = days.min(MAX_DAYS);
        let mut day = self.date_of(start);
        let mut counted = 0;
        // Terminates: the week has a worked weekday and holidays are finite, so working days keep coming until
        // the end of jiff's date range, where we saturate.
        while counted < days {
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return Timestamp::MAX,
            }
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        self.day_end(day)
    }

    /// Working days elapsed from `start` to `end`: the working days after the local date of `start` that `[start,
    /// end)` reaches into. This is `date_of(start) < d <= date_of(end)`, except that an `end` at exactly local
    /// midnight does not count the day it opens, so that `working_days_between(s, deadline(s, n)) == n`. 0 if
    /// `end <= start`.
    pub fn working_days_between(&self, start: Timestamp, end: Timestamp) -> u32 {
        let Some(last) = self.last_date_before(start, end) else {
            return 0;
        };
        let first = self.date_of(start);
        // Also guards `BTreeSet::range` below, which panics on an empty exclusive range.
        if last <= first {
            return 0;
        }
        // Civil dates carry no zone, so this is an exact count of calendar days, DST or not.
        let span_days = last.duration_since(first).as_secs() / 86_400;
        // Counting whole weeks arithmetically keeps spans of years cheap; only holidays need a lookup.
        let per_week = i64::try_from(self.worked.iter().filter(|&&w| w).count()).unwrap_or(7);
        let first_weekday = first.weekday();
        let tail = (1..=span_days % 7).filter(|&k| self.is_worked_weekday(first_weekday.wrapping_add(k))).count();
        let holidays_off = self
            .holidays
            .range((Excluded(first), Included(last)))
            .filter(|h| self.is_worked_weekday(h.weekday()))
            .count();
        let count = (span_days / 7).saturating_mul(per_week).saturating_add(i64::try_from(tail).unwrap_or(0))
            - i64::try_from(holidays_off).unwrap_or(0);
        u32::try_from(count.max(0)).unwrap_or(u32::MAX)
    }

    /// Seconds of working time between two instants: the parts of [from, to) that fall on working days (a working
    /// day counts in full, all its local hours — 23, 24 or 25). 0 if to <= from.
    pub fn working_seconds(&self, from: Timestamp, to: Timestamp) -> i64 {
        let Some(last) = self.last_date_before(from, to) else {
            return 0;
        };
        let mut day = self.date_of(from);
        let mut total = SignedDuration::ZERO;
        loop {
            if self.is_working_day(day) {
                let lo = self.day_start(day).max(from);
                let hi = self.day_end(day).min(to);
                if hi > lo {
                    total = total.saturating_add(hi.duration_since(lo));
                }
            }
            if day >= last {
                break;
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        total.as_secs()
    }

    /// The instant at which `seconds` of working time have passed since `from` (the inverse of working_seconds; if
    /// `from` falls on a non-working day, time starts counting at the start of the next working day). It is the
    /// earliest such instant, so a span ending with a working day lands on that day's closing midnight. `seconds <=
    /// 0` gives `from` itself.
    pub fn after_working_seconds(&self, from: Timestamp, seconds: i64) -> Timestamp {
        if seconds <= 0 {
            return from;
        }
        let mut remaining = SignedDuration::from_secs(seconds);
        // Working time never outruns wall time, so a target beyond the representable range is unreachable anyway.
        if from.checked_add(remaining).is_err() {
            return Timestamp::MAX;
        }
        let mut day = self.date_of(from);
        loop {
            if self.is_working_day(day) {
                let lo = self.day_start(day).max(from);
                let available = self.day_end(day).duration_since(lo);
                if available > SignedDuration::ZERO {
                    if remaining <= available {
                        return lo.checked_add(remaining).unwrap_or(Timestamp::MAX);
                    }
                    remaining = remaining.saturating_sub(available);
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return Timestamp::MAX,
            }
        }
    }

    fn is_worked_weekday(&self, weekday: Weekday) -> bool {
        self.worked.get(weekday_index(weekday)).copied().unwrap_or(false)
    }

    /// First instant of a local day. `compatible` resolves a midnight swallowed by a DST gap to the end of the gap,
    /// which is exactly when that day begins.
    fn day_start(&self, date: Date) -> Timestamp {
        self.zone.to_ambiguous_timestamp(date.to_datetime(Time::midnight())).compatible().unwrap_or(Timestamp::MIN)
    }

    /// First instant after a local day, i.e. the next local midnight.
    fn day_end(&self, date: Date) -> Timestamp {
        match date.tomorrow() {
            Ok(next) => self
                .zone
                .to_ambiguous_timestamp(next.to_datetime(Time::midnight()))
                .compatible()
                .unwrap_or(Timestamp::MAX),
            Err(_) => Timestamp::MAX,
        }
    }

    /// Local date of the last instant in `[from, to)`, or `None` if the interval is empty. Taking the instant just
    /// before `to` keeps a `to` at exactly midnight from reaching into a day of which nothing has elapsed.
    fn last_date_before(&self, from: Timestamp, to: Timestamp) -> Option<Date> {
        if to <= from {
            return None;
        }
        to.checked_sub(SignedDuration::from_nanos(1)).ok().map(|last| self.date_of(last))
    }
}

/// Where a clock stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStatus {
    OnTrack,
    AtRisk,
    Breached,
}

/// One SLA clock: when it started, when it turns at risk, when it is breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaClock {
    pub start: Timestamp,
    pub at_risk: Timestamp,
    pub due: Timestamp,
}

impl SlaClock {
    /// A clock of `days` working days from `start`: due at `calendar.deadline(start, days)`; at risk once
    /// `at_risk_fraction` (clamped to 0..=1; NaN counts as 1) of the working time between the start and the due
    /// instant has passed, rounded to the nearest second, and never after due.
    pub fn start(calendar: &WorkingCalendar, start: Timestamp, days: u32, at_risk_fraction: f64) -> Self {
        let due = calendar.deadline(start, days);
        // NaN most likely means a broken config; warning only at the deadline is the least surprising fallback.
        let fraction = if at_risk_fraction.is_nan() { 1.0 } else { at_risk_fraction.clamp(0.0, 1.0) };
        let total = calendar.working_seconds(start, due);
        // A fraction of at most 1 keeps the product within `total`, and the cast saturates rather than wraps.
        let at_risk_seconds = (fraction * total as f64).round() as i64;
        let at_risk = calendar.after_working_seconds(start, at_risk_seconds).min(due);
        Self { start, at_risk, due }
    }

    /// Breached at or after `due`, at risk at or after `at_risk`, on track before.
    pub fn status(&self, now: Timestamp) -> SlaStatus {
        if now >= self.due {
            SlaStatus::Breached
        } else if now >= self.at_risk {
            SlaStatus::AtRisk
        } else {
            SlaStatus::OnTrack
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{DateTime, date};

    use Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};

    const MON_FRI: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];
    const ALL_WEEK: [Weekday; 7] = [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday];

    fn calendar(zone: &str, weekdays: &[Weekday], holidays: &[Date]) -> WorkingCalendar {
        WorkingCalendar::new(zone, weekdays, holidays.iter().copied()).unwrap()
    }

    /// An instant given as local wall-clock time in `zone`.
    fn local(zone: &str, wall: &str) -> Timestamp {
        let dt: DateTime = wall.parse().unwrap();
        dt.to_zoned_datetime(TimeZone::get(zone).unwrap()).unwrap().timestamp()
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn london() -> WorkingCalendar {
        calendar("Europe/London", &MON_FRI, &[])
    }

    #[test]
    fn deadline_skips_the_weekend() {
        // 2026-01-16 is a Friday; Monday and Tuesday are the two working days.
        let start = local("Europe/London", "2026-01-16T15:00");
        assert_eq!(london().deadline(start, 2), local("Europe/London", "2026-01-21T00:00"));
    }

    #[test]
    fn deadline_skips_a_public_holiday() {
        let cal = calendar("Europe/London", &MON_FRI, &[date(2026, 12, 25)]);
        let start = local("Europe/London", "2026-12-24T11:00");
        // Fri 25 holiday, weekend, Mon 28 and Tue 29 count: due at the end of Tuesday.
        assert_eq!(cal.deadline(start, 2), local("Europe/London", "2026-12-30T00:00"));
    }

    #[test]
    fn deadline_from_a_saturday_counts_from_monday() {
        let start = local("Europe/London", "2026-01-17T10:00");
        assert_eq!(london().deadline(start, 1), local("Europe/London", "2026-01-20T00:00"));
    }

    #[test]
    fn zero_days_ends_with_the_starting_day_even_if_it_is_not_worked() {
        let cal = london();
        let wednesday = local("Europe/London", "2026-01-14T09:00");
        assert_eq!(cal.deadline(wednesday, 0), local("Europe/London", "2026-01-15T00:00"));
        let saturday = local("Europe/London", "2026-01-17T09:00");
        assert_eq!(cal.deadline(saturday, 0), local("Europe/London", "2026-01-18T00:00"));
    }

    #[test]
    fn deadline_is_local_midnight_on_both_sides_of_a_dst_change() {
        let cal = calendar("Europe/Berlin", &MON_FRI, &[]);
        let friday = local("Europe/Berlin", "2027-03-26T10:00");
        // Before the change (CET, +01:00) midnight is 23:00 UTC...
        assert_eq!(cal.deadline(friday, 0), utc("2027-03-26T23:00:00Z"));
        // ...after it (CEST, +02:00) midnight is 22:00 UTC.
        assert_eq!(cal.deadline(friday, 1), utc("2027-03-29T22:00:00Z"));
        let every_day = calendar("Europe/Berlin", &ALL_WEEK, &[]);
        let saturday = local("Europe/Berlin", "2027-03-27T10:00");
        assert_eq!(every_day.deadline(saturday, 1), utc("2027-03-28T22:00:00Z"));
    }

    #[test]
    fn absurd_day_counts_are_capped() {
        let cal = london();
        let start = local("Europe/London", "2026-01-14T09:00");
        assert_eq!(cal.deadline(start, u32::MAX), cal.deadline(start, MAX_DAYS));
    }

    #[test]
    fn deadline_terminates_when_holidays_cover_years() {
        let holidays = date(2026, 1, 1).series(jiff::ToSpan::days(1)).take_while(|d| d.year() < 2031);
        let cal = WorkingCalendar::new("Europe/London", &MON_FRI, holidays).unwrap();
        let start = local("Europe/London", "2026-01-01T09:00");
        // 2031-01-01 is a Wednesday, the first day off the holiday list.
        assert_eq!(cal.deadline(start, 1), local("Europe/London", "2031-01-02T00:00"));
    }

    #[test]
    fn working_days_between_skips_weekend_and_holiday() {
        let cal = calendar("Europe/London", &MON_FRI, &[date(2026, 12, 25)]);
        let friday = local("Europe/London", "2026-12-18T12:00");
        let tuesday = local("Europe/London", "2026-12-29T12:00");
        // Mon 21 .. Thu 24, Mon 28, Tue 29.
        assert_eq!(cal.working_days_between(friday, tuesday), 6);
    }

    #[test]
    fn working_days_between_does_not_count_a_day_ending_at_its_first_instant() {
        let cal = london();
        let friday = local("Europe/London", "2026-01-16T15:00");
        assert_eq!(cal.working_days_between(friday, local("Europe/London", "2026-01-21T00:00")), 2);
        assert_eq!(cal.working_days_between(friday, local("Europe/London", "2026-01-21T00:00:01")), 3);
    }

    #[test]
    fn working_days_between_is_zero_when_end_is_not_after_start() {
        let cal = london();
        let a = local("Europe/London", "2026-01-14T09:00");
        let b = local("Europe/London", "2026-01-20T09:00");
        assert_eq!(cal.working_days_between(b, a), 0);
        assert_eq!(cal.working_days_between(a, a), 0);
    }

    #[test]
    fn working_seconds_counts_a_dst_day_as_23_hours() {
        let every_day = calendar("Europe/Berlin", &ALL_WEEK, &[]);
        let sunday = local("Europe/Berlin", "2027-03-28T00:00");
        let monday = local("Europe/Berlin", "2027-03-29T00:00");
        assert_eq!(every_day.working_seconds(sunday, monday), 23 * 3600);
        let saturday = local("Europe/Berlin", "2027-03-27T00:00");
        assert_eq!(every_day.working_seconds(saturday, monday), 47 * 3600);
    }

    #[test]
    fn working_seconds_skips_non_working_days_and_clips_partial_days() {
        let cal = calendar("Europe/Berlin", &MON_FRI, &[]);
        let from = local("Europe/Berlin", "2027-03-26T12:00");
        let to = local("Europe/Berlin", "2027-03-29T06:00");
        assert_eq!(cal.working_seconds(from, to), 18 * 3600);
        assert_eq!(cal.working_seconds(to, from), 0);
    }

    #[test]
    fn after_working_seconds_inverts_working_seconds() {
        let cal = calendar("Europe/Berlin", &MON_FRI, &[date(2027, 3, 29)]);
        let from = local("Europe/Berlin", "2027-03-25T17:30");
        for seconds in [0, 1, 3600, 6 * 3600 + 1800, 6 * 3600 + 1801, 30 * 3600, 54 * 3600 + 1800, 100 * 3600] {
            let at = cal.after_working_seconds(from, seconds);
            assert_eq!(cal.working_seconds(from, at), seconds, "seconds = {seconds}");
        }
        for wall in ["2027-03-25T23:59", "2027-03-26T08:00", "2027-03-30T00:00:01", "2027-04-02T13:14"] {
            let to = local("Europe/Berlin", wall);
            assert_eq!(cal.after_working_seconds(from, cal.working_seconds(from, to)), to, "to = {wall}");
        }
    }

    #[test]
    fn after_working_seconds_lands_on_day_end_and_starts_on_next_working_day() {
        let cal = london();
        let friday = local("Europe/London", "2026-01-16T15:00");
        // Exactly the rest of Friday: the earliest such instant is Friday's closing midnight.
        assert_eq!(cal.after_working_seconds(friday, 9 * 3600), local("Europe/London", "2026-01-17T00:00"));
        let saturday = local("Europe/London", "2026-01-17T10:00");
        assert_eq!(cal.after_working_seconds(saturday, 3600), local("Europe/London", "2026-01-19T01:00"));
    }

    #[test]
    fn after_working_seconds_skips_the_missing_dst_hour() {
        let every_day = calendar("Europe/Berlin", &ALL_WEEK, &[]);
        let sunday = local("Europe/Berlin", "2027-03-28T00:00");
        assert_eq!(every_day.after_working_seconds(sunday, 3 * 3600), local("Europe/Berlin", "2027-03-28T04:00"));
    }

    #[test]
    fn clock_status_changes_at_at_risk_and_due() {
        let cal = london();
        let clock = SlaClock::start(&cal, local("Europe/London", "2026-01-14T10:00"), 5, 0.8);
        let second = SignedDuration::from_secs(1);
        assert_eq!(clock.status(clock.start), SlaStatus::OnTrack);
        assert_eq!(clock.status(clock.at_risk.checked_sub(second).unwrap()), SlaStatus::OnTrack);
        assert_eq!(clock.status(clock.at_risk), SlaStatus::AtRisk);
        assert_eq!(clock.status(clock.due.checked_sub(second).unwrap()), SlaStatus::AtRisk);
        assert_eq!(clock.status(clock.due), SlaStatus::Breached);
    }

    #[test]
    fn at_risk_at_eighty_percent_of_five_days_lands_on_tuesday_after_the_weekend() {
        let cal = london();
        let clock = SlaClock::start(&cal, local("Europe/London", "2026-01-14T10:00"), 5, 0.8);
        // Thu, Fri, Mon, Tue, Wed: due at the end of Wednesday 2026-01-21.
        assert_eq!(clock.due, local("Europe/London", "2026-01-22T00:00"));
        // Working time is the rest of Wednesday (14 h) plus five full days: 134 h, of which 80 % is 107 h 12 min.
        assert_eq!(clock.at_risk, local("Europe/London", "2026-01-20T21:12"));
    }

    #[test]
    fn at_risk_fraction_is_clamped_and_nan_means_at_due() {
        let cal = london();
        let start = local("Europe/London", "2026-01-14T10:00");
        let due = cal.deadline(start, 3);
        assert_eq!(SlaClock::start(&cal, start, 3, f64::NAN).at_risk, due);
        assert_eq!(SlaClock::start(&cal, start, 3, 1.5).at_risk, due);
        assert_eq!(SlaClock::start(&cal, start, 3, -0.2).at_risk, start);
    }

    #[test]
    fn unknown_zone_is_an_error() {
        let err = WorkingCalendar::new("Mars/Olympus_Mons", &MON_FRI, []).unwrap_err();
        assert_eq!(err, CalendarError::UnknownZone("Mars/Olympus_Mons".to_owned()));
    }

    #[test]
    fn empty_week_is_an_error() {
        let err = WorkingCalendar::new("Europe/London", &[], []).unwrap_err();
        assert_eq!(err, CalendarError::NoWorkingDay);
    }

    #[test]
    fn duplicates_are_harmless_and_zone_name_is_canonical() {
        let cal = WorkingCalendar::new(
            "europe/london",
            &[Monday, Monday, Tuesday, Wednesday, Thursday, Friday],
            [date(2026, 12, 25), date(2026, 12, 25)],
        )
        .unwrap();
        assert_eq!(cal.zone_name(), "Europe/London");
        let plain = calendar("Europe/London", &MON_FRI, &[date(2026, 12, 25)]);
        let start = local("Europe/London", "2026-12-24T11:00");
        assert_eq!(cal.deadline(start, 4), plain.deadline(start, 4));
    }

    #[test]
    fn sunday_based_weeks_work() {
        let six_days = calendar("Asia/Jerusalem", &[Sunday, Monday, Tuesday, Wednesday, Thursday, Friday], &[]);
        let thursday = local("Asia/Jerusalem", "2026-01-15T10:00");
        // Friday counts, Saturday does not, Sunday is the second day; Jerusalem is +02:00 in January.
        assert_eq!(six_days.deadline(thursday, 2), utc("2026-01-18T22:00:00Z"));
        let five_days = calendar("Asia/Jerusalem", &[Sunday, Monday, Tuesday, Wednesday, Thursday], &[]);
        assert_eq!(five_days.deadline(thursday, 1), local("Asia/Jerusalem", "2026-01-19T00:00"));
        assert_eq!(five_days.working_days_between(thursday, local("Asia/Jerusalem", "2026-01-18T12:00")), 1);
        assert!(!five_days.is_working_day(date(2026, 1, 16)));
        assert!(six_days.is_working_day(date(2026, 1, 16)));
    }

    #[test]
    fn deadlines_are_monotonic_consistent_and_breached_at_due_for_generated_starts() {
        let calendars = [
            calendar("Europe/London", &MON_FRI, &[date(2026, 12, 25), date(2026, 12, 28), date(2027, 4, 2)]),
            calendar("Europe/Berlin", &MON_FRI, &[date(2027, 3, 29), date(2027, 10, 3)]),
            calendar("Europe/Berlin", &ALL_WEEK, &[]),
            calendar("Asia/Jerusalem", &[Sunday, Monday, Tuesday, Wednesday, Thursday], &[date(2026, 9, 21)]),
            calendar("America/New_York", &[Wednesday], &[date(2026, 11, 25)]),
        ];
        let base = utc("2026-01-01T00:00:00Z").as_second();
        let range = 3 * 366 * 86_400;
        let mut state: u64 = 0x5eed;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        for i in 0..300 {
            let cal = &calendars[i % calendars.len()];
            let start = Timestamp::from_second(base + i64::try_from(next() % range).unwrap()).unwrap();
            let n = u32::try_from(next() % 12).unwrap();
            let due = cal.deadline(start, n);
            assert!(cal.deadline(start, n + 1) > due, "{start} n={n}");
            assert_eq!(cal.working_days_between(start, due), n, "{start} n={n}");
            let fraction = f64::from(u32::try_from(next() % 101).unwrap()) / 100.0;
            let clock = SlaClock::start(cal, start, n, fraction);
            assert_eq!(clock.status(clock.due), SlaStatus::Breached, "{start} n={n}");
            assert!(clock.start <= clock.at_risk && clock.at_risk <= clock.due, "{clock:?}");
            let total = cal.working_seconds(start, due);
            let seconds = i64::try_from(next()).unwrap() % (total + 1);
            assert_eq!(cal.working_seconds(start, cal.after_working_seconds(start, seconds)), seconds, "{start}");
            // The arithmetic week count must agree with walking the days one by one.
            let end =
                Timestamp::from_second(start.as_second() + i64::try_from(next() % (60 * 86_400)).unwrap()).unwrap();
            let mut walked = 0;
            let mut day = cal.date_of(start).tomorrow().unwrap();
            while cal.day_start(day) < end {
                walked += u32::from(cal.is_working_day(day));
                day = day.tomorrow().unwrap();
            }
            assert_eq!(cal.working_days_between(start, end), walked, "{start}..{end}");
        }
    }
}
