//! Report schedules: when a scheduled report is due, and which period of time it covers.
//!
//! A schedule is a rule in local wall-clock time ("Mondays at 06:00 in Europe/London"), so due instants are found
//! per local date in the schedule's zone and never by adding fixed 24-hour days to an instant: a week across a DST
//! change lasts 167 or 169 hours, and the report must still run at 06:00 local. Periods are whole local days for
//! the same reason. Everything here is pure; the caller supplies "now".
//!
//! DST: a due time that a spring-forward gap skips runs at the first instant after the gap (02:30 becomes 03:30),
//! and one that a fall-back fold repeats runs once, at its first occurrence. That is jiff's "compatible"
//! disambiguation (RFC 5545's rule too). A local midnight that does not exist starts the day at the gap's end.
//!
//! `next_due` and `period` return `Result` because jiff's civil arithmetic fails at the ends of its range (years
//! ±9999), where there is no honest instant to return instead.

use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Timestamp, ToSpan, civil};

/// How often a report is due, and on which day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Every week on this weekday.
    Week(civil::Weekday),
    /// Every month on this day of the month, 1..=28.
    Month(i8),
}

/// A validated schedule rule: when in local time a report is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    pub every: Every,
    pub time_of_day: civil::Time,
    pub zone: TimeZone,
    /// The zone's canonical IANA name, for echoing back ("europe/london" is echoed as "Europe/London").
    pub zone_name: String,
}

/// What was wrong with a schedule's fields; every problem at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub description: String,
}

const DEFAULT_TIME_OF_DAY: civil::Time = civil::Time::constant(6, 0, 0, 0);
const DEFAULT_ZONE: &str = "UTC";
const WEEKLY: i32 = 1;
const MONTHLY: i32 = 2;

impl Cadence {
    /// Parses the wire fields, reporting every problem together rather than just the first, so that a client can
    /// fix a form in one round trip. `cadence`: 1 = weekly, 2 = monthly; `day`: weekly 1 (Monday) ..= 7 (Sunday),
    /// monthly 1..=28; `time_of_day`: "HH:MM" (24h), empty means 06:00; `time_zone`: an IANA name, empty means UTC.
    pub fn parse(cadence: i32, day: i32, time_of_day: &str, time_zone: &str) -> Result<Cadence, Vec<Problem>> {
        match (parse_every(cadence, day), parse_time_of_day(time_of_day), parse_zone(time_zone)) {
            (Ok(every), Ok(time_of_day), Ok((zone, zone_name))) => Ok(Cadence { every, time_of_day, zone, zone_name }),
            (every, time_of_day, zone) => {
                let mut problems = every.err().unwrap_or_default();
                problems.extend(time_of_day.err());
                problems.extend(zone.err());
                Err(problems)
            }
        }
    }

    /// The first due instant strictly after `after`.
    pub fn next_due(&self, after: Timestamp) -> Result<Timestamp, jiff::Error> {
        // Start from the day before: a due time skipped by a gap that ends after midnight runs early on the next
        // local day, so yesterday's due instant can still lie after `after`.
        let yesterday = self.zone.to_datetime(after).date().yesterday()?;
        let mut date = self.first_due_date_from(yesterday)?;
        loop {
            let due = self.resolve(date.to_datetime(self.time_of_day))?;
            if due > after {
                return Ok(due);
            }
            date = self.due_date_after(date)?;
        }
    }

    /// The period a report due at `due` covers, `[start, end)`, between local midnights: weekly, the 7 local days
    /// before the due date; monthly, the calendar month before the due date's month.
    pub fn period(&self, due: Timestamp) -> Result<(Timestamp, Timestamp), jiff::Error> {
        let due_date = self.zone.to_datetime(due).date();
        let (first, end) = match self.every {
            Every::Week(_) => (due_date.checked_sub(7.days())?, due_date),
            Every::Month(_) => {
                let end = due_date.first_of_month();
                (end.checked_sub(1.month())?, end)
            }
        };
        Ok((self.start_of(first)?, self.start_of(end)?))
    }

    /// The `time_of_day` as `HH:MM`, for echoing back.
    pub fn time_of_day_text(&self) -> String {
        format!("{:02}:{:02}", self.time_of_day.hour(), self.time_of_day.minute())
    }

    /// The first date on or after `date` that the rule falls on.
    fn first_due_date_from(&self, date: civil::Date) -> Result<civil::Date, jiff::Error> {
        match self.every {
            Every::Week(weekday) => date.checked_add(date.weekday().until(weekday).days()),
            Every::Month(day) => {
                let this_month = day_of_month(date.first_of_month(), day)?;
                if this_month >= date { Ok(this_month) } else { self.due_date_after(this_month) }
            }
        }
    }

    /// The due date following `date`, which the rule falls on.
    fn due_date_after(&self, date: civil::Date) -> Result<civil::Date, jiff::Error> {
        match self.every {
            Every::Week(_) => date.checked_add(7.days()),
            Every::Month(day) => day_of_month(date.first_of_month().checked_add(1.month())?, day),
        }
    }

    /// The instant of a local date's start. This is what jiff's `ZonedDateTime::start_of_day` does (midnight,
    /// disambiguated compatibly), without building a zoned value around it.
    fn start_of(&self, date: civil::Date) -> Result<Timestamp, jiff::Error> {
        self.resolve(date.to_datetime(civil::Time::midnight()))
    }

    /// The instant of a local wall-clock time: after the gap if the clock skips it, the first if it repeats it.
    fn resolve(&self, local: civil::DateTime) -> Result<Timestamp, jiff::Error> {
        self.zone.to_ambiguous_timestamp(local).compatible()
    }
}

/// `day` of the month that starts on `first`. `Every` can be built without `parse`, so a day outside 1..=28 is
/// clamped into the month rather than failing every month that lacks it.
fn day_of_month(first: civil::Date, day: i8) -> Result<civil::Date, jiff::Error> {
    first.with().day(day.clamp(1, first.days_in_month())).build()
}

fn problem(field: &'static str, description: String) -> Problem {
    Problem { field, description }
}

fn parse_every(cadence: i32, day: i32) -> Result<Every, Vec<Problem>> {
    let day_problem = |description| problem("day", description);
    match cadence {
        WEEKLY => match i8::try_from(day).map(civil::Weekday::from_monday_one_offset) {
            Ok(Ok(weekday)) => Ok(Every::Week(weekday)),
            _ => Err(vec![day_problem(format!("a weekly day is 1 (Monday) to 7 (Sunday), not {day}"))]),
        },
        MONTHLY => match i8::try_from(day) {
            Ok(day @ 1..=28) => Ok(Every::Month(day)),
            _ => Err(vec![day_problem(format!(
                "a monthly day is 1 to 28, not {day}: not every month has a 29th, 30th or 31st"
            ))]),
        },
        _ => {
            let mut problems = vec![problem("cadence", format!("must be 1 (weekly) or 2 (monthly), not {cadence}"))];
            // Without a cadence the day can only be checked against the widest range: it fits no cadence outside it.
            if !(1..=28).contains(&day) {
                problems.push(day_problem(format!("{day} is no day of any cadence: 1 to 7 weekly, 1 to 28 monthly")));
            }
            Err(problems)
        }
    }
}

fn parse_time_of_day(text: &str) -> Result<civil::Time, Problem> {
    if text.is_empty() {
        return Ok(DEFAULT_TIME_OF_DAY);
    }
    let malformed =
        || problem("time_of_day", format!("{text:?} is not a 24-hour HH:MM from 00:00 to 23:59, like 06:00"));
    // Exactly two ASCII digits each: `parse::<i8>` alone would also take "+6" or "6".
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<i8>().ok()).flatten()
    };
    let (hour, minute) = text.split_once(':').ok_or_else(malformed)?;
    let (Some(hour), Some(minute)) = (two_digits(hour), two_digits(minute)) else {
        return Err(malformed());
    };
    civil::Time::new(hour, minute, 0, 0).map_err(|_| malformed())
}

fn parse_zone(name: &str) -> Result<(TimeZone, String), Problem> {
    let name = if name.is_empty() { DEFAULT_ZONE } else { name };
    // The bundled database rather than the host's, so that every replica, container or not, agrees on each rule.
    match TimeZoneDatabase::bundled().get(name) {
        // jiff maps "Etc/Unknown" to its placeholder zone, which says nothing about where a report's reader is.
        Ok(zone) if !zone.is_unknown() => {
            let canonical = zone.iana_name().unwrap_or(name).to_owned();
            Ok((zone, canonical))
        }
        _ => Err(problem("time_zone", format!("{name:?} is not an IANA time zone name, such as Europe/London"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date};
    use jiff::tz::AmbiguousOffset;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn cadence(cadence: i32, day: i32, time_of_day: &str, zone: &str) -> Cadence {
        Cadence::parse(cadence, day, time_of_day, zone).unwrap()
    }

    fn hours(period: (Timestamp, Timestamp)) -> i64 {
        (period.1.as_second() - period.0.as_second()) / 3600
    }

    #[test]
    fn weekly_runs_on_the_next_weekday_at_the_local_time_in_gmt_and_bst() {
        let monday = cadence(1, 1, "06:00", "Europe/London");
        // Wednesdays in winter (GMT, +00:00) and in summer (BST, +01:00).
        assert_eq!(monday.next_due(ts("2026-01-07T12:00:00Z")).unwrap(), ts("2026-01-12T06:00:00Z"));
        assert_eq!(monday.next_due(ts("2026-07-01T12:00:00Z")).unwrap(), ts("2026-07-06T05:00:00Z"));
    }

    #[test]
    fn next_due_is_strictly_after_even_exactly_at_a_due_instant() {
        let monday = cadence(1, 1, "06:00", "Europe/London");
        assert_eq!(monday.next_due(ts("2026-01-12T06:00:00Z")).unwrap(), ts("2026-01-19T06:00:00Z"));
        assert_eq!(monday.next_due(ts("2026-01-12T05:59:59Z")).unwrap(), ts("2026-01-12T06:00:00Z"));
        let first = cadence(2, 1, "09:00", "UTC");
        assert_eq!(first.next_due(ts("2026-03-01T09:00:00Z")).unwrap(), ts("2026-04-01T09:00:00Z"));
    }

    #[test]
    fn monthly_keeps_the_local_time_across_a_dst_change() {
        let first = cadence(2, 1, "09:00", "America/New_York");
        let march = first.next_due(ts("2026-02-15T00:00:00Z")).unwrap();
        assert_eq!(march, ts("2026-03-01T14:00:00Z"));
        assert_eq!(first.next_due(march).unwrap(), ts("2026-04-01T13:00:00Z"));
    }

    #[test]
    fn a_due_time_skipped_by_spring_forward_runs_right_after_the_gap() {
        let sunday = cadence(1, 7, "02:30", "Europe/Berlin");
        let due = sunday.next_due(ts("2027-03-27T00:00:00Z")).unwrap();
        assert_eq!(due, ts("2027-03-28T01:30:00Z"));
        assert_eq!(due.to_zoned_datetime(sunday.zone.clone()).time(), civil::time(3, 30, 0, 0));
    }

    #[test]
    fn a_due_time_repeated_by_fall_back_runs_once_at_the_first_occurrence() {
        let sunday = cadence(1, 7, "02:30", "Europe/Berlin");
        let due = sunday.next_due(ts("2026-10-24T00:00:00Z")).unwrap();
        assert_eq!(due, ts("2026-10-25T00:30:00Z"));
        // The second 02:30 (01:30Z) is not another run.
        assert_eq!(sunday.next_due(due).unwrap(), ts("2026-11-01T01:30:00Z"));
    }

    #[test]
    fn a_due_time_pushed_past_midnight_by_a_gap_is_not_skipped() {
        // A zone whose clocks jump from Sunday 23:30 to Monday 00:30: Sunday's 23:45 runs at Monday 00:45.
        let mut rule = cadence(1, 7, "23:45", "UTC");
        rule.zone = TimeZone::posix("XST0XDT,M3.5.0/23:30,M10.5.0/3").unwrap();
        let after = rule.resolve(date(2026, 3, 30).at(0, 35, 0, 0)).unwrap();
        assert_eq!(rule.next_due(after).unwrap(), rule.resolve(date(2026, 3, 30).at(0, 45, 0, 0)).unwrap());
    }

    #[test]
    fn weekly_period_is_seven_local_days_of_167_or_169_hours_across_dst() {
        let monday = cadence(1, 1, "06:00", "Europe/London");
        let spring = monday.period(ts("2026-03-30T05:00:00Z")).unwrap();
        assert_eq!((spring, hours(spring)), ((ts("2026-03-23T00:00:00Z"), ts("2026-03-29T23:00:00Z")), 167));
        let autumn = monday.period(ts("2026-10-26T06:00:00Z")).unwrap();
        assert_eq!((autumn, hours(autumn)), ((ts("2026-10-18T23:00:00Z"), ts("2026-10-26T00:00:00Z")), 169));
        assert_eq!(hours(monday.period(ts("2026-01-12T06:00:00Z")).unwrap()), 168);
    }

    #[test]
    fn monthly_period_for_a_march_due_covers_february_including_a_leap_day() {
        let first = cadence(2, 1, "09:00", "Europe/Berlin");
        let february = first.period(ts("2027-03-01T08:00:00Z")).unwrap();
        assert_eq!((february, hours(february)), ((ts("2027-01-31T23:00:00Z"), ts("2027-02-28T23:00:00Z")), 28 * 24));
        let leap = first.period(first.next_due(ts("2028-02-15T00:00:00Z")).unwrap()).unwrap();
        assert_eq!((leap, hours(leap)), ((ts("2028-01-31T23:00:00Z"), ts("2028-02-29T23:00:00Z")), 29 * 24));
        // January's period reaches back into the previous year.
        let december = first.period(ts("2027-01-01T08:00:00Z")).unwrap();
        assert_eq!(december, (ts("2026-11-30T23:00:00Z"), ts("2026-12-31T23:00:00Z")));
    }

    #[test]
    fn a_missing_local_midnight_starts_the_period_at_the_end_of_the_gap() {
        // Chile moves from -04 to -03 at midnight: 2026-09-06 starts at 01:00 local.
        let sunday = cadence(1, 7, "00:30", "America/Santiago");
        let due = sunday.next_due(ts("2026-09-05T12:00:00Z")).unwrap();
        assert_eq!(due, ts("2026-09-06T04:30:00Z"));
        assert_eq!(sunday.period(due).unwrap(), (ts("2026-08-30T04:00:00Z"), ts("2026-09-06T04:00:00Z")));
        // Cuba moves from -05 to -04 at midnight: 2026-03-08 starts at 01:00 local.
        let havana = cadence(1, 7, "12:00", "America/Havana").period(ts("2026-03-08T16:00:00Z")).unwrap();
        assert_eq!(havana, (ts("2026-03-01T05:00:00Z"), ts("2026-03-08T05:00:00Z")));
    }

    #[test]
    fn parse_reports_all_four_problems_at_once() {
        let problems = Cadence::parse(0, 0, "25:61", "Mars/Olympus").unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["cadence", "day", "time_of_day", "time_zone"]);
    }

    #[test]
    fn parse_defaults_empty_fields_to_six_o_clock_utc_and_echoes_canonical_text() {
        let sunday = cadence(1, 7, "", "");
        assert_eq!((sunday.every, sunday.time_of_day), (Every::Week(Weekday::Sunday), civil::time(6, 0, 0, 0)));
        assert_eq!((&sunday.zone, sunday.zone_name.as_str()), (&TimeZone::UTC, "UTC"));
        assert_eq!(cadence(2, 28, "", "").every, Every::Month(28));
        for text in ["00:00", "06:05", "23:59"] {
            assert_eq!(cadence(2, 1, text, "Asia/Kolkata").time_of_day_text(), text);
        }
        assert_eq!(cadence(1, 1, "", "europe/london").zone_name, "Europe/London");
    }

    #[test]
    fn parse_rejects_each_malformed_field_alone() {
        let times = ["6:00", "06:00:00", "0600", " 06:00", "06:00 ", "24:00", "06:60", "+6:00", "06:+0", "０６:００"];
        let days = [(2, 29), (2, 31), (2, 0), (1, 8), (1, 0), (1, -1), (1, 263)];
        let zones = ["Mars/Olympus", "Etc/Unknown", " UTC", "+05:00"];
        let cases = (times.iter().map(|&t| (1, 1, t, "UTC", "time_of_day")))
            .chain(days.iter().map(|&(kind, day)| (kind, day, "", "", "day")))
            .chain(zones.iter().map(|&zone| (1, 1, "", zone, "time_zone")));
        for (kind, day, time, zone, field) in cases {
            let problems = Cadence::parse(kind, day, time, zone).unwrap_err();
            assert_eq!(problems.iter().map(|p| p.field).collect::<Vec<_>>(), [field], "{kind} {day} {time:?} {zone:?}");
        }
        assert!(Cadence::parse(2, 29, "", "").unwrap_err()[0].description.contains("not every month"));
    }

    #[test]
    fn repeated_weekly_dues_increase_on_the_right_weekday_and_local_time() {
        let zones = ["Europe/London", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe"];
        let rules = [(1, "06:00"), (7, "02:30"), (7, "00:00"), (3, "23:59"), (6, "01:30")];
        for (zone, (day, time)) in zones.iter().flat_map(|zone| rules.map(|rule| (zone, rule))) {
            let rule = cadence(1, day, time, zone);
            let Every::Week(weekday) = rule.every else { unreachable!() };
            // Starts spread over years, times of day and weekdays.
            for k in 0..12 {
                let start = ts("2024-01-01T00:00:00Z") + (k * 7919 * 3600 + k * 61).seconds();
                let (mut previous, mut previous_date) = (start, None::<civil::Date>);
                for _ in 0..60 {
                    let due = rule.next_due(previous).unwrap();
                    let local = rule.zone.to_datetime(due);
                    let wanted = local.date().to_datetime(rule.time_of_day);
                    assert!(due > previous, "{zone} {time}: {due} after {previous}");
                    assert_eq!(local.date().weekday(), weekday, "{zone} {time}: {due}");
                    // Off the wanted time only if a gap skips it.
                    let skipped =
                        matches!(rule.zone.to_ambiguous_timestamp(wanted).offset(), AmbiguousOffset::Gap { .. });
                    assert!(local == wanted || skipped, "{zone} {time}: {due} is {local}");
                    match previous_date {
                        // No week is skipped: each due is exactly 7 local days after the last.
                        Some(last) => assert_eq!(last + 7.days(), local.date(), "{zone} {time}: {due}"),
                        // Nor is the first: the one a week earlier was not after the start.
                        None => assert!(rule.resolve(wanted - 7.days()).unwrap() <= start, "{zone} {time}"),
                    }
                    (previous, previous_date) = (due, Some(local.date()));
                }
            }
        }
    }

    #[test]
    fn repeated_monthly_dues_fall_on_the_day_every_month_and_clamp_an_unparsed_31st() {
        let mut rule = cadence(2, 28, "02:30", "Europe/Berlin");
        let mut due = ts("2027-12-31T00:00:00Z");
        for month in 0..30 {
            due = rule.next_due(due).unwrap();
            let local = rule.zone.to_datetime(due);
            assert_eq!((local.year(), local.month(), local.day()), (2028 + month / 12, 1 + (month % 12) as i8, 28));
        }
        rule.every = Every::Month(31);
        assert_eq!(rule.next_due(ts("2028-02-01T00:00:00Z")).unwrap(), ts("2028-02-29T01:30:00Z"));
        assert_eq!(rule.next_due(ts("2028-02-29T01:30:00Z")).unwrap(), ts("2028-03-31T00:30:00Z"));
    }
}
