//! Finding meeting times (`FindMeetingTimes`), free of I/O: given who is invited, how long the meeting lasts, where to
//! look and each participant's busy times and working hours, propose ranked candidate slots, or say why none fits.
//!
//! # Model
//!
//! * Each [`Participant`] brings busy intervals (already expanded from recurring series, buffers included, by the
//!   caller), an optional time zone and working hours in that zone. Working hours are converted to instants day by
//!   day in the participant's own zone, so daylight-saving changes move them exactly as the participant's clock does.
//! * Candidate starts lie on a grid of [`Request::step`] aligned to the Unix epoch (so a 15-minute step gives :00,
//!   :15, :30 and :45 in every zone whose offset is a multiple of 15 minutes), inside the search window and, if given,
//!   inside the organiser's earliest/latest local hours.
//! * At each start every participant gets an [`Availability`]; `Free`, `Tentative` and `Unknown` count as attending,
//!   `Busy` and `OutsideWorkingHours` are conflicts. A slot qualifies when no required participant has a conflict and
//!   the attending share of *all* participants reaches [`Request::min_attendance_percent`] (the quorum).
//! * Qualifying slots are ranked (see [`find_meeting_times`]) and spread out (see [`SPREAD`]); when none qualifies the
//!   result is [`Outcome::NoSlot`] with explicit [`Reason`]s and the closest misses.
//!
//! # Cost
//!
//! With `P` participants, `B` busy intervals in total, `D` days in the window and `S` grid starts: preparing is
//! `O(B log B + P·D)` (busy intervals are clipped to the window, sorted and merged; working hours are generated per
//! local day), the sweep is `O(S·P·log B)` because each participant keeps a cursor into their sorted intervals that
//! only moves forward and is advanced by binary search, and ranking is `O(S log S + S·K)` for `K` candidates. Nothing
//! scans the window minute by minute.

use std::cmp::Ordering;

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use liaison_runtime::FieldViolation;

/// At most this many participants per search.
pub const PARTICIPANTS_MAX: usize = 200;
/// At most this many working-hours entries per participant.
pub const WORKING_HOURS_MAX: usize = 50;
/// The longest search window: about two months.
pub const WINDOW_MAX: SignedDuration = SignedDuration::from_hours(62 * 24);
/// The shortest meeting worth searching for.
pub const DURATION_MIN: SignedDuration = SignedDuration::from_mins(1);
/// Bounds of the grid step; the lower bound caps the work of one search (62 days at 5 minutes is 17,856 starts).
pub const STEP_MIN: SignedDuration = SignedDuration::from_mins(5);
pub const STEP_MAX: SignedDuration = SignedDuration::from_hours(24);
/// The step used when the caller has no preference.
pub const DEFAULT_STEP: SignedDuration = SignedDuration::from_mins(15);
/// Bounds of [`Request::max_candidates`].
pub const CANDIDATES_MAX: usize = 100;
pub const DEFAULT_CANDIDATES: usize = 10;
/// Candidates start at least this far apart: a list of slots 15 minutes apart offers no real choice. Slots are taken
/// in rank order, skipping any that starts within this of one already taken (so a spread-out slot may be preferred
/// to a better-ranked near-duplicate); only when fewer than `max_candidates` were taken do the skipped ones fill in,
/// best first. The result is then in rank order again.
pub const SPREAD: SignedDuration = SignedDuration::from_hours(1);

/// Per-participant certainty factors behind [`Candidate::confidence`].
const CERTAIN: f32 = 1.0;
/// The participant has a zone but no working hours: free on the calendar, but maybe not at work.
const HOURS_UNKNOWN: f32 = 0.8;
/// The participant has no zone: working hours cannot be placed in time at all.
const ZONE_UNKNOWN: f32 = 0.6;
/// A tentative meeting overlaps: the participant may well not come.
const TENTATIVE: f32 = 0.5;
/// A required participant's uncertainty matters more than an optional one's.
const REQUIRED_WEIGHT: f32 = 2.0;

/// One stretch of working time on a weekday, in the participant's own zone. `end` at or before `start` ends on the
/// next day: `09:00–00:00` is 09:00 to midnight (24:00), `00:00–00:00` is the whole day, `22:00–06:00` a night shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub day: Weekday,
    pub start: Time,
    pub end: Time,
}

/// A time a participant is taken, `[start, end)`. Intervals that end at or before they start are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub start: Timestamp,
    pub end: Timestamp,
    pub tentative: bool,
}

/// Someone invited. `id` is the contact's name and must be unique in the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: String,
    pub required: bool,
    /// `None`: the zone is unknown, so working hours cannot be placed and a free slot is [`Availability::Unknown`].
    pub time_zone: Option<TimeZone>,
    /// Empty: no working hours known; every time counts as within hours, at lower confidence.
    pub working_hours: Vec<WorkingHours>,
    pub busy: Vec<Busy>,
}

/// A search for meeting times.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub participants: Vec<Participant>,
    /// Counted in whole seconds, rounded up.
    pub duration: SignedDuration,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    /// The organiser's earliest start and latest end, in `local_zone`; `None` leaves that side open (midnight). As
    /// with working hours, a `latest_local` at or before `earliest_local` falls on the next day.
    pub earliest_local: Option<Time>,
    pub latest_local: Option<Time>,
    pub local_zone: TimeZone,
    /// 0–100: the share of all participants (required and optional) that must attend.
    pub min_attendance_percent: u8,
    /// 1–[`CANDIDATES_MAX`].
    pub max_candidates: usize,
    /// The grid of candidate starts, [`STEP_MIN`]–[`STEP_MAX`], counted in whole seconds.
    pub step: SignedDuration,
}

impl Request {
    /// A request with the defaults: no local hours (UTC), no quorum beyond the required participants,
    /// [`DEFAULT_CANDIDATES`] candidates on a [`DEFAULT_STEP`] grid.
    pub fn new(
        participants: Vec<Participant>,
        duration: SignedDuration,
        window_start: Timestamp,
        window_end: Timestamp,
    ) -> Self {
        Self {
            participants,
            duration,
            window_start,
            window_end,
            earliest_local: None,
            latest_local: None,
            local_zone: TimeZone::UTC,
            min_attendance_percent: 0,
            max_candidates: DEFAULT_CANDIDATES,
            step: DEFAULT_STEP,
        }
    }

    /// Every problem with the request at once, each under its field path.
    pub fn validate(&self) -> Result<(), Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let count = self.participants.len();
        if count == 0 || count > PARTICIPANTS_MAX {
            violations.push(FieldViolation::new(
                "participants",
                format!("must list 1 to {PARTICIPANTS_MAX} participants (got {count})"),
            ));
        }
        for (index, participant) in self.participants.iter().enumerate() {
            let field = format!("participants[{index}]");
            if participant.id.trim().is_empty() {
                violations.push(FieldViolation::new(format!("{field}.id"), "is required and must not be blank"));
            } else if let Some(first) = self.participants[..index].iter().position(|p| p.id == participant.id) {
                violations.push(FieldViolation::new(
                    format!("{field}.id"),
                    format!("'{}' is already listed as participants[{first}]", participant.id),
                ));
            }
            if participant.working_hours.len() > WORKING_HOURS_MAX {
                violations.push(FieldViolation::new(
                    format!("{field}.working_hours"),
                    format!("must list at most {WORKING_HOURS_MAX} entries (got {})", participant.working_hours.len()),
                ));
            }
        }
        let window = self.window_end.duration_since(self.window_start);
        let window_ok = if window <= SignedDuration::ZERO {
            violations.push(FieldViolation::new("window.end_time", "must be after window.start_time"));
            false
        } else if window > WINDOW_MAX {
            violations.push(FieldViolation::new("window.end_time", "the search window spans at most 62 days"));
            false
        } else {
            true
        };
        if self.duration < DURATION_MIN {
            violations.push(FieldViolation::new("duration", "must be at least one minute"));
        } else if window_ok && self.duration > window {
            violations.push(FieldViolation::new("duration", "must fit in the search window"));
        }
        if self.min_attendance_percent > 100 {
            violations.push(FieldViolation::new("min_attendance_percent", "must be between 0 and 100"));
        }
        if self.max_candidates == 0 || self.max_candidates > CANDIDATES_MAX {
            violations.push(FieldViolation::new("max_candidates", format!("must be between 1 and {CANDIDATES_MAX}")));
        }
        if self.step < STEP_MIN || self.step > STEP_MAX {
            violations.push(FieldViolation::new("step", "must be between 5 minutes and 24 hours"));
        }
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }
}

/// Where a participant stands for one slot. Precedence when several apply: `Busy`, `OutsideWorkingHours`,
/// `Tentative`, `Unknown`, `Free`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Availability {
    Free,
    /// A confirmed meeting overlaps.
    Busy,
    /// Only tentative meetings overlap.
    Tentative,
    /// No confirmed meeting, but the slot is not entirely within the participant's working hours.
    OutsideWorkingHours,
    /// No meeting overlaps but the participant's zone is unknown, so their working hours cannot be checked.
    Unknown,
}

impl Availability {
    /// Whether the participant is expected to attend: everything but a conflict.
    pub fn attends(self) -> bool {
        matches!(self, Self::Free | Self::Tentative | Self::Unknown)
    }
}

/// A proposed slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Every participant, in request order.
    pub availability: Vec<(String, Availability)>,
    /// No required participant is busy or outside working hours (tentative and unknown do not exclude).
    pub required_free: bool,
    /// Optional participants busy or outside working hours.
    pub optional_conflicts: usize,
    /// The attending share of all participants, rounded down.
    pub attendance_percent: u8,
    /// 0–1: how sure the stated availability is. The weighted mean over participants (required count twice) of a
    /// certainty that is 1 for a known fact (free within known working hours, or a conflict) and is multiplied by
    /// 0.8 when no working hours are known, 0.6 when the zone is unknown and 0.5 when a tentative meeting overlaps.
    pub confidence: f32,
}

/// Why no slot qualifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No start on the step grid fits the window (as narrowed by the earliest/latest local hours) with the duration.
    WindowTooShort,
    /// The required participants' working hours never all cover a slot. Lists every required participant outside
    /// their working hours at one or more starts, most often first (ties in request order).
    OutsideWorkingHours { ids: Vec<String> },
    /// Some slots are within every required participant's working hours; these required participants are busy at
    /// one or more of those slots, most often first (ties in request order).
    RequiredUnavailable { ids: Vec<String> },
    /// At some slots every required participant could come, but too few participants in all; the best share seen
    /// there.
    QuorumNotMet { best_attendance_percent: u8 },
}

/// The answer when nothing qualifies.
#[derive(Debug, Clone, PartialEq)]
pub struct NoSlot {
    /// Never empty. Checked in turn, the first that applies decides: `[WindowTooShort]`; else
    /// `[OutsideWorkingHours]` when no slot is within all required participants' working hours; else
    /// `RequiredUnavailable` and/or `QuorumNotMet`, in that order, judged only at slots within everyone's hours (so
    /// a night-time meeting does not make someone "unavailable").
    pub reasons: Vec<Reason>,
    /// The best of the slots that did not qualify, ranked and spread as candidates are; empty if the window is too
    /// short.
    pub closest: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 1 to `max_candidates` qualifying slots, best first.
    Found(Vec<Candidate>),
    NoSlot(NoSlot),
}

/// Finds meeting times. Candidates are ranked by: no required conflicts first (always so for [`Outcome::Found`]),
/// then fewest optional conflicts, then higher confidence, then earlier start; then spread by [`SPREAD`].
pub fn find_meeting_times(request: &Request) -> Result<Outcome, Vec<FieldViolation>> {
    request.validate()?;
    let window = Interval { start: ceil_secs(request.window_start), end: floor_secs(request.window_end) };
    let duration = request.duration.as_secs() + i64::from(request.duration.subsec_nanos() > 0);
    let step = request.step.as_secs();
    let spread = SPREAD.as_secs();
    let mut people: Vec<Prepared> = request.participants.iter().map(|p| Prepared::new(p, window)).collect();
    let total = people.len();
    let search_hours = local_search_hours(request, window);
    let mut search_cursor = 0;

    let mut slots = Vec::new();
    // For the reasons: how often each required participant was outside working hours, how often busy at starts
    // where all required participants were within working hours, and the best attendance among starts missing only
    // the quorum.
    let mut hours_blocks = vec![0usize; total];
    let mut busy_blocks = vec![0usize; total];
    let mut within_everyones_hours = false;
    let mut best_quorum_miss: Option<u8> = None;
    let mut blocked = Blocked::default();
    // The first grid point at or after the window start; `rem_euclid` keeps this right before 1970 too.
    let offset = window.start.rem_euclid(step);
    let mut start = if offset == 0 { window.start } else { window.start - offset + step };
    while start + duration <= window.end {
        let end = start + duration;
        let allowed = search_hours.as_ref().is_none_or(|hours| contains(hours, &mut search_cursor, start, end));
        if allowed {
            let slot = evaluate(&mut people, start, end, &mut blocked);
            if blocked.outside.is_empty() {
                within_everyones_hours = true;
                blocked.busy.iter().for_each(|&index| busy_blocks[index] += 1);
                if blocked.busy.is_empty() && !slot.quorum(request.min_attendance_percent, total) {
                    let percent = slot.attendance_percent(total);
                    best_quorum_miss = Some(best_quorum_miss.map_or(percent, |best| best.max(percent)));
                }
            } else {
                blocked.outside.iter().for_each(|&index| hours_blocks[index] += 1);
            }
            slots.push(slot);
        }
        start += step;
    }

    if slots.is_empty() {
        return Ok(Outcome::NoSlot(NoSlot { reasons: vec![Reason::WindowTooShort], closest: Vec::new() }));
    }
    let (mut qualifying, mut missing): (Vec<Slot>, Vec<Slot>) = slots
        .into_iter()
        .partition(|slot| slot.required_conflicts == 0 && slot.quorum(request.min_attendance_percent, total));
    if !qualifying.is_empty() {
        let picked = pick(&mut qualifying, request.max_candidates, spread);
        return Ok(Outcome::Found(candidates(request, &mut people, &picked)));
    }
    let ids = |blocks: &[usize]| {
        let mut blocked: Vec<usize> = (0..total).filter(|&index| blocks[index] > 0).collect();
        // Stable: ties keep request order.
        blocked.sort_by_key(|&index| std::cmp::Reverse(blocks[index]));
        blocked.into_iter().map(|index| request.participants[index].id.clone()).collect::<Vec<_>>()
    };
    let mut reasons = Vec::new();
    if !within_everyones_hours {
        reasons.push(Reason::OutsideWorkingHours { ids: ids(&hours_blocks) });
    } else {
        let busy = ids(&busy_blocks);
        if !busy.is_empty() {
            reasons.push(Reason::RequiredUnavailable { ids: busy });
        }
        if let Some(best_attendance_percent) = best_quorum_miss {
            reasons.push(Reason::QuorumNotMet { best_attendance_percent });
        }
    }
    let picked = pick(&mut missing, request.max_candidates, spread);
    Ok(Outcome::NoSlot(NoSlot { reasons, closest: candidates(request, &mut people, &picked) }))
}

/// A half-open interval of Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval {
    start: i64,
    end: i64,
}

impl Interval {
    fn clip(self, to: Interval) -> Option<Interval> {
        let clipped = Interval { start: self.start.max(to.start), end: self.end.min(to.end) };
        (clipped.start < clipped.end).then_some(clipped)
    }
}

/// Sorted by start, overlapping and touching intervals merged: containment then needs a single interval.
fn normalise(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable_by_key(|interval| interval.start);
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// The first interval ending after `at`. `cursor` only moves forward, so calls must come with non-decreasing `at`;
/// the binary search over the rest makes each call `O(log n)` however far the cursor jumps.
fn seek(intervals: &[Interval], cursor: &mut usize, at: i64) -> Option<Interval> {
    let rest = intervals.get(*cursor..).unwrap_or_default();
    *cursor += rest.partition_point(|interval| interval.end <= at);
    intervals.get(*cursor).copied()
}

fn overlaps(intervals: &[Interval], cursor: &mut usize, start: i64, end: i64) -> bool {
    seek(intervals, cursor, start).is_some_and(|interval| interval.start < end)
}

fn contains(intervals: &[Interval], cursor: &mut usize, start: i64, end: i64) -> bool {
    seek(intervals, cursor, start).is_some_and(|interval| interval.start <= start && interval.end >= end)
}

fn floor_secs(at: Timestamp) -> i64 {
    at.as_second() - i64::from(at.subsec_nanosecond() < 0)
}

fn ceil_secs(at: Timestamp) -> i64 {
    at.as_second() + i64::from(at.subsec_nanosecond() > 0)
}

/// What is known of a participant's working hours.
#[derive(Debug)]
enum Hours {
    /// No zone: working hours cannot be placed.
    Unknown,
    /// A zone but no working hours: any time counts.
    Always,
    /// Working time within the window, normalised.
    Within(Vec<Interval>),
}

/// A participant ready for the sweep, with a cursor per interval list.
#[derive(Debug)]
struct Prepared {
    required: bool,
    firm: Vec<Interval>,
    firm_cursor: usize,
    tentative: Vec<Interval>,
    tentative_cursor: usize,
    hours: Hours,
    hours_cursor: usize,
}

impl Prepared {
    fn new(participant: &Participant, window: Interval) -> Self {
        let (mut firm, mut tentative) = (Vec::new(), Vec::new());
        for busy in &participant.busy {
            let interval = Interval { start: floor_secs(busy.start), end: ceil_secs(busy.end) };
            if let Some(clipped) = interval.clip(window) {
                if busy.tentative { tentative.push(clipped) } else { firm.push(clipped) }
            }
        }
        let hours = match &participant.time_zone {
            None => Hours::Unknown,
            Some(_) if participant.working_hours.is_empty() => Hours::Always,
            Some(zone) => Hours::Within(local_intervals(zone, &participant.working_hours, window)),
        };
        Self {
            required: participant.required,
            firm: normalise(firm),
            firm_cursor: 0,
            tentative: normalise(tentative),
            tentative_cursor: 0,
            hours,
            hours_cursor: 0,
        }
    }

    /// Calls must come with non-decreasing `start` until [`Self::rewind`].
    fn status(&mut self, start: i64, end: i64) -> Status {
        // Both checks always run: the reasons need to know who is outside working hours even when also busy.
        let busy = overlaps(&self.firm, &mut self.firm_cursor, start, end);
        let (outside, hours_factor) = match &self.hours {
            Hours::Unknown => (false, ZONE_UNKNOWN),
            Hours::Always => (false, HOURS_UNKNOWN),
            Hours::Within(hours) => (!contains(hours, &mut self.hours_cursor, start, end), CERTAIN),
        };
        let (availability, certainty) = if busy {
            (Availability::Busy, CERTAIN)
        } else if outside {
            (Availability::OutsideWorkingHours, CERTAIN)
        } else if overlaps(&self.tentative, &mut self.tentative_cursor, start, end) {
            (Availability::Tentative, TENTATIVE * hours_factor)
        } else if matches!(self.hours, Hours::Unknown) {
            (Availability::Unknown, hours_factor)
        } else {
            (Availability::Free, hours_factor)
        };
        Status { availability, certainty, busy, outside }
    }

    fn rewind(&mut self) {
        (self.firm_cursor, self.tentative_cursor, self.hours_cursor) = (0, 0, 0);
    }
}

/// A participant at one slot.
#[derive(Debug, Clone, Copy)]
struct Status {
    availability: Availability,
    certainty: f32,
    busy: bool,
    outside: bool,
}

/// The required participants in conflict at one start, by index; reused from start to start.
#[derive(Debug, Default)]
struct Blocked {
    busy: Vec<usize>,
    outside: Vec<usize>,
}

/// One evaluated start, kept small: participants' details are rebuilt only for the slots returned.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: i64,
    end: i64,
    required_conflicts: usize,
    optional_conflicts: usize,
    attending: usize,
    confidence: f32,
}

impl Slot {
    fn quorum(&self, min_percent: u8, total: usize) -> bool {
        // Integer comparison: 2 of 3 attending meets 66% but not 67%.
        self.attending * 100 >= usize::from(min_percent) * total
    }

    fn attendance_percent(&self, total: usize) -> u8 {
        u8::try_from(self.attending * 100 / total.max(1)).unwrap_or(100)
    }
}

fn evaluate(people: &mut [Prepared], start: i64, end: i64, blocked: &mut Blocked) -> Slot {
    let mut slot = Slot { start, end, required_conflicts: 0, optional_conflicts: 0, attending: 0, confidence: 0.0 };
    let (mut weighted, mut weights) = (0.0f32, 0.0f32);
    blocked.busy.clear();
    blocked.outside.clear();
    for (index, person) in people.iter_mut().enumerate() {
        let status = person.status(start, end);
        let weight = if person.required { REQUIRED_WEIGHT } else { 1.0 };
        weighted += weight * status.certainty;
        weights += weight;
        if status.availability.attends() {
            slot.attending += 1;
        } else if person.required {
            slot.required_conflicts += 1;
            if status.busy {
                blocked.busy.push(index);
            }
            if status.outside {
                blocked.outside.push(index);
            }
        } else {
            slot.optional_conflicts += 1;
        }
    }
    slot.confidence = if weights > 0.0 { (weighted / weights).clamp(0.0, 1.0) } else { 0.0 };
    slot
}

fn rank(a: &Slot, b: &Slot) -> Ordering {
    a.required_conflicts
        .cmp(&b.required_conflicts)
        .then(a.optional_conflicts.cmp(&b.optional_conflicts))
        .then(b.confidence.total_cmp(&a.confidence))
        .then(a.start.cmp(&b.start))
}

/// The best `max` slots by [`rank`], no two starting within `spread` of each other unless there are not enough such
/// slots; then the best of the rest fill in. Returned best first.
fn pick(slots: &mut [Slot], max: usize, spread: i64) -> Vec<Slot> {
    slots.sort_unstable_by(rank);
    let mut picked: Vec<Slot> = Vec::with_capacity(max);
    let mut crowded = Vec::new();
    for slot in slots.iter() {
        if picked.len() == max {
            break;
        }
        if picked.iter().all(|chosen| (chosen.start - slot.start).abs() >= spread) {
            picked.push(*slot);
        } else {
            crowded.push(*slot);
        }
    }
    let room = max.saturating_sub(picked.len());
    picked.extend(crowded.into_iter().take(room));
    picked.sort_unstable_by(rank);
    picked
}

fn candidates(request: &Request, people: &mut [Prepared], slots: &[Slot]) -> Vec<Candidate> {
    let total = people.len();
    slots
        .iter()
        .filter_map(|slot| {
            people.iter_mut().for_each(Prepared::rewind);
            let availability = request
                .participants
                .iter()
                .zip(people.iter_mut())
                .map(|(participant, person)| (participant.id.clone(), person.status(slot.start, slot.end).availability))
                .collect();
            Some(Candidate {
                start: Timestamp::from_second(slot.start).ok()?,
                end: Timestamp::from_second(slot.end).ok()?,
                availability,
                required_free: slot.required_conflicts == 0,
                optional_conflicts: slot.optional_conflicts,
                attendance_percent: slot.attendance_percent(total),
                confidence: slot.confidence,
            })
        })
        .collect()
}

/// The organiser's earliest/latest local hours as instants within the window, or `None` when neither is set.
fn local_search_hours(request: &Request, window: Interval) -> Option<Vec<Interval>> {
    if request.earliest_local.is_none() && request.latest_local.is_none() {
        return None;
    }
    let start = request.earliest_local.unwrap_or(Time::midnight());
    let end = request.latest_local.unwrap_or(Time::midnight());
    let every_day = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ]
    .map(|day| WorkingHours { day, start, end });
    Some(local_intervals(&request.local_zone, &every_day, window))
}

/// Weekly local hours as instants within `window`, normalised. Each local day is converted on its own with the zone's
/// rules for that day, so a daylight-saving change shortens or lengthens an interval only when it falls inside it.
fn local_intervals(zone: &TimeZone, hours: &[WorkingHours], window: Interval) -> Vec<Interval> {
    let (Ok(first), Ok(last)) = (Timestamp::from_second(window.start), Timestamp::from_second(window.end)) else {
        return Vec::new();
    };
    // From the day before: an overnight interval that began then may reach into the window.
    let mut date = zone.to_datetime(first).date();
    date = date.yesterday().unwrap_or(date);
    let last = zone.to_datetime(last).date();
    let mut intervals = Vec::new();
    while date <= last {
        let weekday = date.weekday();
        for entry in hours.iter().filter(|entry| entry.day == weekday) {
            let end_date = if entry.end <= entry.start { date.tomorrow().ok() } else { Some(date) };
            let Some(end_date) = end_date else { continue };
            let start = instant(zone, date.to_datetime(entry.start), Bound::Start);
            let end = instant(zone, end_date.to_datetime(entry.end), Bound::End);
            if let (Some(start), Some(end)) = (start, end)
                && let Some(clipped) = (Interval { start, end }).clip(window)
            {
                intervals.push(clipped);
            }
        }
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    normalise(intervals)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Start,
    End,
}

/// The instant a wall-clock bound falls on, in whole seconds (sub-second local times are truncated).
fn instant(zone: &TimeZone, local: DateTime, bound: Bound) -> Option<i64> {
    let offset = match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        // A repeated hour: the local interval covers both passes, so it starts at the first and ends at the second.
        AmbiguousOffset::Fold { before, after } => match bound {
            Bound::Start => before,
            Bound::End => after,
        },
        // A skipped hour: no instant shows this time; clocks jump over it at the transition, which is therefore where
        // the interval starts (or ends). The transition is the first one after this time read with the later offset.
        AmbiguousOffset::Gap { after, .. } => {
            let before_gap = after.to_timestamp(local).ok()?;
            return zone.following(before_gap).next().map(|transition| transition.timestamp().as_second());
        }
    };
    offset.to_timestamp(local).ok().map(Timestamp::as_second)
}

#[cfg(test)]
mod tests;
