//! The scheduling scenarios' data: a team of [`PARTICIPANTS`] contacts in four time zones, each with working hours
//! and a year of meetings — weekly series (`FREQ=WEEKLY;COUNT=52`) and single meetings — seeded through the real
//! services once per engine; and the requests FindMeetingTimes and ListMeetingsMonth send about them.
//!
//! The meetings are placed where such a team's meetings fall: on working days, inside the working hours that their
//! attendees share (in UTC, with an hour of slack so that they stay inside when daylight-saving time moves the
//! clocks), or the organiser's own when they share too few. A team spread from New York to Helsinki shares three
//! hours a day, and many of its meetings fall into them, so a search for a slot that suits all twenty has busy
//! times to weigh in every window. They are created with `allow_conflicts` (seeding never fails on an overlap) in
//! 2029, before the slots the CreateMeeting scenarios book (from 2030), so that no write of theirs lands in the
//! team's year.
use crate::load::Connections;
use crate::scenarios::spread;
use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{Contact, CreateContactRequest, Weekday, WorkingHours};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{
    AttendeeRequest, CreateMeetingRequest, FindMeetingTimesRequest, ListMeetingsRequest, Meeting, Recurrence,
};
use std::time::Instant;

/// The team: every participant has a year of meetings, and FindMeetingTimes asks for all of them.
pub(crate) const PARTICIPANTS: usize = 20;
/// Weekly series each participant attends.
pub(crate) const SERIES_PER_PARTICIPANT: usize = 3;
/// Attendees of each series.
pub(crate) const SERIES_SIZE: usize = 5;
/// Occurrences of each series: a year of weeks.
pub(crate) const SERIES_COUNT: u32 = 52;
/// Single meetings each participant attends over the year, each with one other member of the team.
pub(crate) const SINGLES_PER_PARTICIPANT: usize = 200;
/// The first day of the seeded year, 2029-01-01T00:00:00Z, a Monday. The year's 52 weeks end on 2029-12-30,
/// before the first slot of the CreateMeeting scenarios (1 900 000 000 s, 2030-03-17).
pub(crate) const YEAR_START: i64 = 1_861_920_000;
/// Working days in the seeded year.
const WORKING_DAYS: i64 = 52 * 5;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// FindMeetingTimes: the length of the meeting looked for…
pub(crate) const FIND_DURATION_MINUTES: i64 = 60;
/// … the weeks of its window (a window starts on a Monday of the seeded year, the call's sequence picks which)…
pub(crate) const FIND_WINDOW_WEEKS: i64 = 4;
/// … its grid of starts…
pub(crate) const FIND_STEP_MINUTES: i64 = 15;
/// … and how many candidates it asks for.
pub(crate) const FIND_CANDIDATES: i32 = 10;
/// Calls of FindMeetingTimes in flight at once: its goal is a latency at a moderate, fixed load (a few people
/// searching at the same moment), not at the driver's full concurrency.
pub(crate) const FIND_IN_FLIGHT: usize = 4;
/// ListMeetingsMonth's page: larger than any participant's month (checked after seeding), so one call is the month.
pub(crate) const LIST_PAGE_SIZE: i32 = 200;

/// Meetings created at once while seeding.
const SEED_IN_FLIGHT: usize = 32;

/// A time zone of the team, its standard offset and the working hours of the participants who live there.
struct Zone {
    name: &'static str,
    /// Minutes ahead of UTC in standard (winter) time.
    offset: i64,
    /// Working hours, local minutes after midnight, Monday to Friday.
    start: i64,
    end: i64,
}

/// Participant `i` lives in `ZONES[i % 4]`. In UTC (winter) they share 13:00–16:00.
const ZONES: [Zone; 4] = [
    Zone { name: "Europe/London", offset: 0, start: 9 * 60, end: 17 * 60 + 30 },
    Zone { name: "Europe/Berlin", offset: 60, start: 9 * 60, end: 18 * 60 },
    Zone { name: "America/New_York", offset: -300, start: 8 * 60, end: 17 * 60 },
    Zone { name: "Europe/Helsinki", offset: 120, start: 10 * 60, end: 18 * 60 },
];

fn zone(participant: usize) -> &'static Zone {
    &ZONES[participant % ZONES.len()]
}

/// `HH:MM`.
fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A meeting of the seeded year, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) title: String,
    /// Seconds since the epoch (UTC).
    pub(crate) start: i64,
    pub(crate) minutes: i64,
    /// Indexes into the team; the first organises (its zone is the meeting's).
    pub(crate) members: Vec<usize>,
    /// Weekly for a year, or a single meeting.
    pub(crate) weekly: bool,
}

/// The start, in UTC minutes after midnight, of a `minutes`-long meeting of `members`: inside the working hours they
/// all share (with an hour's slack for summer time) when those fit it, else inside the organiser's; `pick` chooses
/// among the quarter hours that fit.
fn start_minute(members: &[usize], minutes: i64, pick: u64) -> i64 {
    let in_utc = |z: &Zone| (z.start - z.offset, z.end - z.offset);
    let shared =
        members.iter().map(|m| in_utc(zone(*m))).fold((i64::MIN, i64::MAX), |(lo, hi), (s, e)| (lo.max(s), hi.min(e)));
    let organiser = in_utc(zone(members[0]));
    let (lo, hi) = if shared.1 - 60 - shared.0 >= minutes { shared } else { organiser };
    let quarters = ((hi - 60 - minutes - lo) / 15).max(0) + 1;
    lo + 15 * spread(pick, quarters as usize) as i64
}

/// Series `k`'s members: three rounds of four series, each round a permutation of the team cut into fives, so that
/// every participant attends [`SERIES_PER_PARTICIPANT`] series with different colleagues.
fn series_members(k: usize) -> Vec<usize> {
    let per_round = PARTICIPANTS / SERIES_SIZE;
    let (round, group) = (k / per_round, k % per_round);
    // Bijections of 0..20 (3 and 7 are prime to 20).
    let permute = |x: usize| match round {
        0 => x,
        1 => (3 * x) % PARTICIPANTS,
        _ => (7 * x + 1) % PARTICIPANTS,
    };
    (0..SERIES_SIZE).map(|j| permute(group * SERIES_SIZE + j)).collect()
}

/// Every meeting of the team's year: the series first, then the single meetings spread evenly over the working
/// days, each between two members (every participant in exactly [`SINGLES_PER_PARTICIPANT`]).
pub(crate) fn plan() -> Vec<Planned> {
    let series = PARTICIPANTS * SERIES_PER_PARTICIPANT / SERIES_SIZE;
    let mut planned = Vec::new();
    for k in 0..series {
        let members = series_members(k);
        let minutes = [60, 30, 45, 30][k % 4];
        // Its first occurrence in the first week, on a weekday of its own.
        let day = YEAR_START + (k as i64 % 5) * DAY;
        let start = day + 60 * start_minute(&members, minutes, k as u64 + 1);
        planned.push(Planned { title: format!("Team series {k}"), start, minutes, members, weekly: true });
    }
    let singles = PARTICIPANTS * SINGLES_PER_PARTICIPANT / 2;
    for m in 0..singles {
        let a = m % PARTICIPANTS;
        // As `a` runs over the team, so does `b`: each is the second member of as many meetings as the first.
        let b = (a + 1 + (m / PARTICIPANTS) % (PARTICIPANTS - 1)) % PARTICIPANTS;
        let working_day = m as i64 * WORKING_DAYS / singles as i64;
        let day = YEAR_START + (working_day / 5) * WEEK + (working_day % 5) * DAY;
        let minutes = [30, 30, 45, 60][spread(m as u64 ^ 0x5bd1, 4)];
        let members = vec![a, b];
        let start = day + 60 * start_minute(&members, minutes, m as u64);
        planned.push(Planned { title: format!("One-to-one {m}"), start, minutes, members, weekly: false });
    }
    planned
}

/// The seeded team, which the scheduling scenarios ask about.
#[derive(Debug)]
pub(crate) struct Calendar {
    /// The team's names, `contacts/{id}`.
    pub(crate) participants: Vec<String>,
    /// `[start, end)` of each calendar month of the seeded year, UTC seconds.
    pub(crate) months: Vec<(i64, i64)>,
}

/// What seeding the calendars did and found, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct CalendarSeed {
    pub(crate) participants: usize,
    pub(crate) zones: Vec<&'static str>,
    /// Weekly series of [`SERIES_COUNT`] occurrences.
    pub(crate) series: usize,
    pub(crate) single_meetings: usize,
    /// Busy intervals the meetings give their participants (one per occurrence and required attendee).
    pub(crate) busy_intervals: usize,
    /// From the first contact created to the last meeting created.
    pub(crate) seconds: f64,
    /// ListMeetings of every participant's every month: the fewest and most meetings in one.
    pub(crate) month_meetings_min: usize,
    pub(crate) month_meetings_max: usize,
    /// FindMeetingTimes over every window the scenario asks for: the candidates found, fewest and most, and how
    /// many windows had no slot at all.
    pub(crate) candidates_min: usize,
    pub(crate) candidates_max: usize,
    pub(crate) windows_without_slot: usize,
    pub(crate) windows: usize,
}

/// Team member `i` (their time zone, its working hours Monday to Friday), distinct for each (`tag`, `i`).
fn member(tag: &str, i: usize) -> Contact {
    let zone = zone(i);
    let working_hours = [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
        .into_iter()
        .map(|day| WorkingHours { day: day as i32, start_time: hhmm(zone.start), end_time: hhmm(zone.end) })
        .collect();
    Contact {
        display_name: format!("Team Member {tag} {i}"),
        given_name: "Team".into(),
        family_name: format!("Member {i}"),
        email: format!("team.{tag}.{i}@example.org"),
        time_zone: zone.name.into(),
        working_hours,
        notes: "Created by liaison-bench for the scheduling scenarios.".into(),
        ..Default::default()
    }
}

/// The request that creates `planned` for the team `names`.
fn create_request(planned: &Planned, names: &[String]) -> CreateMeetingRequest {
    let meeting = Meeting {
        title: planned.title.clone(),
        start_time: Some(prost_types::Timestamp { seconds: planned.start, nanos: 0 }),
        end_time: Some(prost_types::Timestamp { seconds: planned.start + 60 * planned.minutes, nanos: 0 }),
        time_zone: zone(planned.members[0]).name.into(),
        participants: planned.members.iter().map(|m| names[*m].clone()).collect(),
        recurrence: planned
            .weekly
            .then(|| Recurrence { rule: format!("FREQ=WEEKLY;COUNT={SERIES_COUNT}"), ..Default::default() }),
        ..Default::default()
    };
    CreateMeetingRequest { meeting: Some(meeting), allow_conflicts: true, ..Default::default() }
}

/// The calendar months of the seeded year.
fn months() -> anyhow::Result<Vec<(i64, i64)>> {
    let first = |year: i32, month: u32| {
        chrono::NaiveDate::from_ymd_opt(year, month, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|at| at.and_utc().timestamp())
            .context("a month of the seeded year")
    };
    (1..=12u32).map(|m| Ok((first(2029, m)?, if m == 12 { first(2030, 1)? } else { first(2029, m + 1)? }))).collect()
}

/// Creates the team and its year of meetings, then reads every month of every participant and searches every
/// window once: the page must hold the month, and the figures go to the report.
pub(crate) async fn seed(
    contacts: &Connections,
    scheduling: &Connections,
    tag: &str,
) -> anyhow::Result<(Calendar, CalendarSeed)> {
    let started = Instant::now();
    let participants: Vec<String> = futures::stream::iter(0..PARTICIPANTS)
        .map(|i| {
            let channel = contacts.get(i);
            let contact = member(tag, i);
            async move {
                let created = ContactsServiceClient::new(channel)
                    .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
                    .await
                    .with_context(|| format!("seeding team member {i}: CreateContact failed"))?
                    .into_inner()
                    .contact
                    .context("CreateContact returned no contact")?;
                anyhow::Ok(created.name)
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let planned = plan();
    let names = &participants;
    futures::stream::iter(planned.iter().enumerate())
        .map(|(i, meeting)| {
            let channel = scheduling.get(i);
            let request = create_request(meeting, names);
            async move {
                SchedulingServiceClient::new(channel)
                    .create_meeting(request)
                    .await
                    .with_context(|| format!("seeding meeting {i} of the team's year: CreateMeeting failed"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SEED_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let calendar = Calendar { participants, months: months()? };

    let mut client = SchedulingServiceClient::new(scheduling.get(0));
    let mut month_meetings = Vec::new();
    for participant in 0..PARTICIPANTS {
        for month in 0..calendar.months.len() {
            let page = client
                .list_meetings(list_request(&calendar, participant, month))
                .await
                .context("ListMeetings of a seeded month failed")?
                .into_inner();
            if !page.next_page_token.is_empty() {
                bail!("a month of participant {participant} does not fit a page of {LIST_PAGE_SIZE} meetings");
            }
            month_meetings.push(page.meetings.len());
        }
    }
    let mut candidates = Vec::new();
    for week in 0..windows() {
        let found = client
            .find_meeting_times(find_request(&calendar, week))
            .await
            .context("FindMeetingTimes over the seeded year failed")?
            .into_inner();
        candidates.push(found.candidates.len());
    }
    let series = planned.iter().filter(|p| p.weekly).count();
    let busy_intervals =
        planned.iter().map(|p| p.members.len() * if p.weekly { SERIES_COUNT as usize } else { 1 }).sum();
    let seed = CalendarSeed {
        participants: PARTICIPANTS,
        zones: ZONES.iter().map(|z| z.name).collect(),
        series,
        single_meetings: planned.len() - series,
        busy_intervals,
        seconds,
        month_meetings_min: month_meetings.iter().copied().min().unwrap_or(0),
        month_meetings_max: month_meetings.iter().copied().max().unwrap_or(0),
        candidates_min: candidates.iter().copied().min().unwrap_or(0),
        candidates_max: candidates.iter().copied().max().unwrap_or(0),
        windows_without_slot: candidates.iter().filter(|c| **c == 0).count(),
        windows: candidates.len(),
    };
    Ok((calendar, seed))
}

/// The windows FindMeetingTimes asks about: one starting each Monday whose four weeks fit in the seeded year.
pub(crate) fn windows() -> usize {
    (52 - FIND_WINDOW_WEEKS + 1) as usize
}

/// FindMeetingTimes for the whole team (all required), [`FIND_DURATION_MINUTES`] long, in the
/// [`FIND_WINDOW_WEEKS`] weeks from Monday `week` of the seeded year, on a [`FIND_STEP_MINUTES`] grid, at most
/// [`FIND_CANDIDATES`] candidates; the participants' working hours bound the day.
pub(crate) fn find_request(calendar: &Calendar, week: usize) -> FindMeetingTimesRequest {
    let start = YEAR_START + week as i64 * WEEK;
    FindMeetingTimesRequest {
        participants: calendar
            .participants
            .iter()
            .map(|name| AttendeeRequest { contact: name.clone(), optional: false })
            .collect(),
        duration: Some(prost_types::Duration { seconds: FIND_DURATION_MINUTES * 60, nanos: 0 }),
        window_start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
        window_end_time: Some(prost_types::Timestamp { seconds: start + FIND_WINDOW_WEEKS * WEEK, nanos: 0 }),
        time_zone: ZONES[0].name.into(),
        max_candidates: Some(FIND_CANDIDATES),
        step: Some(prost_types::Duration { seconds: FIND_STEP_MINUTES * 60, nanos: 0 }),
        ..Default::default()
    }
}

/// ListMeetings of participant `participant`'s calendar month `month` (`start_after` its first instant,
/// `end_before` the next month's), in one page.
pub(crate) fn list_request(calendar: &Calendar, participant: usize, month: usize) -> ListMeetingsRequest {
    let (start, end) = calendar.months[month % calendar.months.len()];
    ListMeetingsRequest {
        page_size: Some(LIST_PAGE_SIZE),
        participant: calendar.participants[participant % calendar.participants.len()].clone(),
        start_after: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
        end_before: Some(prost_types::Timestamp { seconds: end, nanos: 0 }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_starts_on_a_monday_in_2029_and_ends_before_the_booked_slots() {
        let start = chrono::DateTime::from_timestamp(YEAR_START, 0).expect("a time");
        assert_eq!(start.to_rfc3339(), "2029-01-01T00:00:00+00:00");
        assert_eq!(chrono::Datelike::weekday(&start), chrono::Weekday::Mon);
        let last = plan().iter().map(|p| p.start + if p.weekly { 51 * WEEK } else { 0 } + 60 * p.minutes).max();
        assert!(last.expect("meetings") < 1_900_000_000, "the CreateMeeting scenarios book from 1 900 000 000 on");
        let months = months().expect("months");
        assert_eq!((months[0].0, months[11].1 - months[0].0), (YEAR_START, 365 * DAY));
    }

    #[test]
    fn every_participant_has_three_series_and_two_hundred_single_meetings() {
        let planned = plan();
        for participant in 0..PARTICIPANTS {
            let of = |weekly: bool| {
                planned.iter().filter(|p| p.weekly == weekly && p.members.contains(&participant)).count()
            };
            assert_eq!((of(true), of(false)), (SERIES_PER_PARTICIPANT, SINGLES_PER_PARTICIPANT), "{participant}");
        }
        for p in &planned {
            let distinct: std::collections::HashSet<_> = p.members.iter().collect();
            assert_eq!(distinct.len(), p.members.len(), "{p:?}");
        }
        let colleagues: std::collections::HashSet<_> =
            planned.iter().filter(|p| p.weekly && p.members.contains(&0)).flat_map(|p| p.members.clone()).collect();
        assert!(colleagues.len() > SERIES_SIZE + 4, "the series mix the team: {colleagues:?}");
    }

    #[test]
    fn meetings_fall_on_working_days_in_working_hours() {
        let planned = plan();
        for p in &planned {
            let day = (p.start - YEAR_START).rem_euclid(WEEK) / DAY;
            assert!(day < 5, "a weekday: {p:?}");
            let minute = (p.start - YEAR_START).rem_euclid(DAY) / 60;
            let organiser = zone(p.members[0]);
            let (lo, hi) = (organiser.start - organiser.offset, organiser.end - organiser.offset);
            assert!(
                minute >= lo && minute + p.minutes <= hi - 60,
                "inside the organiser's hours, winter or summer: {p:?}"
            );
            assert_eq!(minute % 15, 0);
        }
        // Meetings with New York fall into the hours the team shares (13:00–16:00 UTC): the busy times a search
        // for all twenty has to weigh.
        let shared = planned.iter().filter(|p| {
            let minute = (p.start - YEAR_START).rem_euclid(DAY) / 60;
            minute < 16 * 60 && minute + p.minutes > 13 * 60
        });
        assert!(shared.count() > planned.len() / 4);
    }

    #[test]
    fn requests_ask_as_the_scenarios_say() {
        let calendar = Calendar {
            participants: (0..PARTICIPANTS).map(|i| format!("contacts/{i}")).collect(),
            months: months().expect("months"),
        };
        let find = find_request(&calendar, windows() - 1);
        assert_eq!(find.participants.len(), PARTICIPANTS);
        let (start, end) = (find.window_start_time.expect("start").seconds, find.window_end_time.expect("end").seconds);
        assert_eq!(end - start, 28 * DAY);
        assert!(start >= YEAR_START && end <= YEAR_START + 52 * WEEK, "inside the seeded year");
        assert_eq!(find.step.expect("step").seconds, 900);
        let list = list_request(&calendar, 21, 13);
        assert_eq!(list.participant, "contacts/1");
        assert_eq!(list.start_after.expect("after").seconds, calendar.months[1].0);
        let request = create_request(&plan()[0], &calendar.participants);
        assert!(request.allow_conflicts);
        assert_eq!(request.meeting.expect("meeting").recurrence.expect("series").rule, "FREQ=WEEKLY;COUNT=52");
        assert_eq!(member("t", 2).time_zone, "America/New_York");
        assert_eq!(member("t", 2).working_hours.len(), 5);
    }
}
