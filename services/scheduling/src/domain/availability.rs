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
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn mins(minutes: i64) -> SignedDuration {
        SignedDuration::from_mins(minutes)
    }

    fn weekdays(start: Time, end: Time) -> Vec<WorkingHours> {
        [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
            .into_iter()
            .map(|day| WorkingHours { day, start, end })
            .collect()
    }

    /// Someone in UTC working 09:00–17:00 on weekdays.
    fn person(id: &str, required: bool) -> Participant {
        Participant {
            id: id.into(),
            required,
            time_zone: Some(TimeZone::UTC),
            working_hours: weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0)),
            busy: Vec::new(),
        }
    }

    fn busy(mut participant: Participant, start: &str, end: &str) -> Participant {
        participant.busy.push(Busy { start: utc(start), end: utc(end), tentative: false });
        participant
    }

    fn tentative(mut participant: Participant, start: &str, end: &str) -> Participant {
        participant.busy.push(Busy { start: utc(start), end: utc(end), tentative: true });
        participant
    }

    /// Wednesday 2027-01-13, the whole UTC day.
    fn request(participants: Vec<Participant>, minutes: i64) -> Request {
        Request::new(participants, mins(minutes), utc("2027-01-13T00:00:00Z"), utc("2027-01-14T00:00:00Z"))
    }

    fn found(request: &Request) -> Vec<Candidate> {
        match find_meeting_times(request).unwrap() {
            Outcome::Found(candidates) => candidates,
            other => panic!("expected candidates, got {other:?}"),
        }
    }

    fn no_slot(request: &Request) -> NoSlot {
        match find_meeting_times(request).unwrap() {
            Outcome::NoSlot(no_slot) => no_slot,
            other => panic!("expected no slot, got {other:?}"),
        }
    }

    fn of(candidate: &Candidate, id: &str) -> Availability {
        candidate.availability.iter().find(|(who, _)| who == id).unwrap().1
    }

    fn starts(candidates: &[Candidate]) -> Vec<String> {
        candidates.iter().map(|c| c.start.to_string()).collect()
    }

    #[test]
    fn a_slot_where_all_required_are_free_is_found_and_ranked_first() {
        let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T12:00:00Z");
        let b = busy(person("b", true), "2027-01-13T13:00:00Z", "2027-01-13T17:00:00Z");
        let candidates = found(&request(vec![a, b], 60));
        assert_eq!(starts(&candidates), ["2027-01-13T12:00:00Z"]);
        let best = &candidates[0];
        assert_eq!(best.end, utc("2027-01-13T13:00:00Z"));
        assert!(best.required_free);
        assert_eq!(best.attendance_percent, 100);
        assert_eq!(best.confidence, 1.0);
        assert_eq!(of(best, "a"), Availability::Free);
        assert_eq!(of(best, "b"), Availability::Free);
    }

    #[test]
    fn busy_intervals_that_only_touch_a_slot_do_not_conflict() {
        let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z");
        let a = busy(a, "2027-01-13T11:00:00Z", "2027-01-13T17:00:00Z");
        assert_eq!(starts(&found(&request(vec![a], 60))), ["2027-01-13T10:00:00Z"]);
    }

    #[test]
    fn an_optional_conflict_lowers_rank_but_does_not_exclude() {
        let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T15:00:00Z");
        let o = busy(person("o", false), "2027-01-13T15:00:00Z", "2027-01-13T16:00:00Z");
        let candidates = found(&request(vec![a, o], 60));
        // 16:00 has nobody busy; 15:00 still qualifies with the optional conflict, ranked after.
        assert_eq!(
            starts(&candidates),
            [
                "2027-01-13T16:00:00Z",
                "2027-01-13T15:00:00Z",
                "2027-01-13T15:15:00Z",
                "2027-01-13T15:30:00Z",
                "2027-01-13T15:45:00Z"
            ]
        );
        assert_eq!(candidates[0].optional_conflicts, 0);
        assert_eq!(candidates[1].optional_conflicts, 1);
        assert!(candidates[1].required_free);
        assert_eq!(candidates[1].attendance_percent, 50);
        assert_eq!(of(&candidates[1], "o"), Availability::Busy);
    }

    #[test]
    fn a_tentative_meeting_lowers_confidence_but_does_not_exclude() {
        let a = tentative(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T16:00:00Z");
        let b = person("b", true);
        let candidates = found(&request(vec![a, b], 60));
        // 16:00 is certain; the tentative slots follow, less confident.
        assert_eq!(candidates[0].start, utc("2027-01-13T16:00:00Z"));
        assert_eq!(candidates[0].confidence, 1.0);
        let unsure = &candidates[1];
        assert!(unsure.required_free);
        assert_eq!(of(unsure, "a"), Availability::Tentative);
        assert_eq!(unsure.attendance_percent, 100);
        assert!((unsure.confidence - 0.75).abs() < 1e-6, "{}", unsure.confidence);
    }

    #[test]
    fn unknown_zones_and_hours_lower_confidence() {
        let mut nowhere = busy(person("nowhere", true), "2027-01-13T00:00:00Z", "2027-01-13T10:00:00Z");
        nowhere.time_zone = None;
        let mut anytime = person("anytime", false);
        anytime.working_hours.clear();
        let candidates = found(&request(vec![nowhere, anytime], 60));
        let first = &candidates[0];
        assert_eq!(first.start, utc("2027-01-13T10:00:00Z"));
        assert_eq!(of(first, "nowhere"), Availability::Unknown);
        assert_eq!(of(first, "anytime"), Availability::Free);
        // (2·0.6 + 1·0.8) / 3
        assert!((first.confidence - 2.0 / 3.0).abs() < 1e-6, "{}", first.confidence);
    }

    #[test]
    fn working_hours_in_three_zones_leave_the_one_overlap() {
        let in_zone = |id: &str, name: &str, start: Time, end: Time| Participant {
            time_zone: Some(zone(name)),
            working_hours: weekdays(start, end),
            ..person(id, true)
        };
        let participants = vec![
            // 08:00–17:00 UTC in January.
            in_zone("berlin", "Europe/Berlin", time(9, 0, 0, 0), time(18, 0, 0, 0)),
            // 13:00–22:00 UTC.
            in_zone("new-york", "America/New_York", time(8, 0, 0, 0), time(17, 0, 0, 0)),
            // 14:00 to midnight local is 05:00–15:00 UTC.
            in_zone("tokyo", "Asia/Tokyo", time(14, 0, 0, 0), Time::midnight()),
        ];
        let mut request = Request::new(
            participants,
            mins(120),
            utc("2027-01-11T00:00:00Z"), // Monday
            utc("2027-01-16T00:00:00Z"),
        );
        request.step = mins(15);
        let candidates = found(&request);
        assert_eq!(
            starts(&candidates),
            [
                "2027-01-11T13:00:00Z",
                "2027-01-12T13:00:00Z",
                "2027-01-13T13:00:00Z",
                "2027-01-14T13:00:00Z",
                "2027-01-15T13:00:00Z"
            ]
        );
        assert!(candidates.iter().all(|c| c.end.duration_since(c.start) == mins(120)));
    }

    #[test]
    fn the_berlin_new_york_overlap_shifts_while_only_new_york_has_switched_to_summer_time() {
        let office = |id: &str, name: &str| Participant {
            time_zone: Some(zone(name)),
            working_hours: weekdays(time(9, 0, 0, 0), time(17, 0, 0, 0)),
            ..person(id, true)
        };
        let only = |day: &str, minutes: i64| {
            let start = utc(&format!("{day}T00:00:00Z"));
            let request = Request::new(
                vec![office("berlin", "Europe/Berlin"), office("new-york", "America/New_York")],
                mins(minutes),
                start,
                start + SignedDuration::from_hours(24),
            );
            found(&request).into_iter().map(|c| (c.start.to_string(), c.end.to_string())).collect::<Vec<_>>()
        };
        let slot = |start: &str, end: &str| vec![(start.to_string(), end.to_string())];
        // Both on winter time: Berlin 08–16 UTC, New York 14–22 UTC.
        assert_eq!(only("2027-03-10", 120), slot("2027-03-10T14:00:00Z", "2027-03-10T16:00:00Z"));
        // New York switched on 14 March (13–21 UTC), Berlin not yet: three hours.
        assert_eq!(only("2027-03-17", 180), slot("2027-03-17T13:00:00Z", "2027-03-17T16:00:00Z"));
        assert_eq!(only("2027-03-24", 180), slot("2027-03-24T13:00:00Z", "2027-03-24T16:00:00Z"));
        // Berlin switched on 28 March (07–15 UTC): two hours again, an hour earlier.
        assert_eq!(only("2027-03-31", 120), slot("2027-03-31T13:00:00Z", "2027-03-31T15:00:00Z"));
        let mut too_long = Request::new(
            vec![office("berlin", "Europe/Berlin"), office("new-york", "America/New_York")],
            mins(180),
            utc("2027-03-31T00:00:00Z"),
            utc("2027-04-01T00:00:00Z"),
        );
        too_long.max_candidates = 1;
        assert!(matches!(find_meeting_times(&too_long), Ok(Outcome::NoSlot(_))));
    }

    fn hours_on(zone_name: &str, day: jiff::civil::Date, start: Time, end: Time) -> Vec<(String, String)> {
        let window = Interval {
            start: utc(&format!("{day}T00:00:00Z")).as_second() - 86_400,
            end: utc(&format!("{day}T00:00:00Z")).as_second() + 2 * 86_400,
        };
        let entry = WorkingHours { day: day.weekday(), start, end };
        local_intervals(&zone(zone_name), &[entry], window)
            .into_iter()
            .map(|i| {
                let show = |s| Timestamp::from_second(s).unwrap().to_string();
                (show(i.start), show(i.end))
            })
            .collect()
    }

    #[test]
    fn a_working_day_changes_length_only_when_the_clock_change_falls_inside_it() {
        let nine_to_five = (time(9, 0, 0, 0), time(17, 0, 0, 0));
        // 09:00–17:00 on the change days is still eight hours, an hour shifted.
        assert_eq!(
            hours_on("Europe/Berlin", date(2027, 3, 28), nine_to_five.0, nine_to_five.1),
            [("2027-03-28T07:00:00Z".into(), "2027-03-28T15:00:00Z".into())]
        );
        assert_eq!(
            hours_on("Europe/Berlin", date(2027, 10, 31), nine_to_five.0, nine_to_five.1),
            [("2027-10-31T08:00:00Z".into(), "2027-10-31T16:00:00Z".into())]
        );
        // The whole day: 23 hours in spring, 25 in autumn.
        let whole = hours_on("Europe/Berlin", date(2027, 3, 28), Time::midnight(), Time::midnight());
        assert_eq!(whole, [("2027-03-27T23:00:00Z".into(), "2027-03-28T22:00:00Z".into())]);
        let whole = hours_on("Europe/Berlin", date(2027, 10, 31), Time::midnight(), Time::midnight());
        assert_eq!(whole, [("2027-10-30T22:00:00Z".into(), "2027-10-31T23:00:00Z".into())]);
        // 01:00–05:00 holds the change: three hours in spring.
        assert_eq!(
            hours_on("Europe/Berlin", date(2027, 3, 28), time(1, 0, 0, 0), time(5, 0, 0, 0)),
            [("2027-03-28T00:00:00Z".into(), "2027-03-28T03:00:00Z".into())]
        );
    }

    #[test]
    fn hours_starting_in_a_skipped_hour_start_at_the_change_and_a_repeated_hour_counts_twice() {
        // 02:30 does not exist on 28 March 2027 in Berlin: clocks jump from 02:00 to 03:00 (01:00 UTC).
        assert_eq!(
            hours_on("Europe/Berlin", date(2027, 3, 28), time(2, 30, 0, 0), time(4, 0, 0, 0)),
            [("2027-03-28T01:00:00Z".into(), "2027-03-28T02:00:00Z".into())]
        );
        // 02:00–03:00 is lived twice on 31 October 2027: 02:30–03:30 runs from the first 02:30 to 03:30 winter time.
        assert_eq!(
            hours_on("Europe/Berlin", date(2027, 10, 31), time(2, 30, 0, 0), time(3, 30, 0, 0)),
            [("2027-10-31T00:30:00Z".into(), "2027-10-31T02:30:00Z".into())]
        );
    }

    #[test]
    fn a_night_shift_runs_into_the_next_day() {
        let mut guard = person("guard", true);
        guard.working_hours =
            vec![WorkingHours { day: Weekday::Tuesday, start: time(22, 0, 0, 0), end: time(6, 0, 0, 0) }];
        // Tuesday 12 to Wednesday 13 January, only the night shift's tail is in the window.
        let candidates = found(&request(vec![guard], 360));
        assert_eq!(starts(&candidates), ["2027-01-13T00:00:00Z"]);
    }

    #[test]
    fn required_participants_must_all_be_free_whatever_the_quorum() {
        let a = person("a", true);
        let b = busy(person("b", true), "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
        let mut request = request(vec![a, b], 60);
        request.min_attendance_percent = 50;
        let no_slot = no_slot(&request);
        assert_eq!(no_slot.reasons, [Reason::RequiredUnavailable { ids: vec!["b".into()] }]);
        assert!(!no_slot.closest.is_empty() && no_slot.closest.len() <= request.max_candidates);
        assert!(no_slot.closest.iter().all(|c| !c.required_free));
        // The closest miss is a daytime slot where a can come.
        assert_eq!(no_slot.closest[0].start, utc("2027-01-13T09:00:00Z"));
        assert_eq!(no_slot.closest[0].attendance_percent, 50);
    }

    #[test]
    fn the_quorum_counts_every_participant() {
        let all_day = |p| busy(p, "2027-01-13T00:00:00Z", "2027-01-14T00:00:00Z");
        let participants =
            vec![person("a", true), person("o1", false), all_day(person("o2", false)), all_day(person("o3", false))];
        let mut request = request(participants, 60);
        request.min_attendance_percent = 50;
        let candidates = found(&request);
        assert!(candidates.iter().all(|c| c.attendance_percent == 50 && c.optional_conflicts == 2));
        request.min_attendance_percent = 51;
        assert_eq!(no_slot(&request).reasons, [Reason::QuorumNotMet { best_attendance_percent: 50 }]);
    }

    #[test]
    fn when_working_hours_never_overlap_the_reason_names_who_is_outside_them() {
        let mut a = person("a", true);
        a.working_hours = weekdays(time(9, 0, 0, 0), time(12, 0, 0, 0));
        let mut b = person("b", true);
        b.working_hours = weekdays(time(13, 0, 0, 0), time(17, 0, 0, 0));
        // An optional participant's hours never make the reason.
        let mut o = person("o", false);
        o.working_hours = weekdays(time(10, 0, 0, 0), time(11, 0, 0, 0));
        let no_slot = no_slot(&request(vec![o, b, a], 60));
        // a is outside at 84 of the 93 starts, b at 80.
        assert_eq!(no_slot.reasons, [Reason::OutsideWorkingHours { ids: vec!["a".into(), "b".into()] }]);
    }

    #[test]
    fn when_required_participants_are_busy_in_the_shared_hours_the_reason_names_them() {
        // a is busy in the morning, b works only in the morning; c is busy at night, which is no reason.
        let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T13:00:00Z");
        let mut b = person("b", true);
        b.working_hours = weekdays(time(9, 0, 0, 0), time(13, 0, 0, 0));
        let c = busy(person("c", true), "2027-01-13T00:00:00Z", "2027-01-13T06:00:00Z");
        let no_slot = no_slot(&request(vec![c, a, b], 60));
        assert_eq!(no_slot.reasons, [Reason::RequiredUnavailable { ids: vec!["a".into()] }]);
        assert!(no_slot.closest.iter().all(|c| !c.required_free));
    }

    #[test]
    fn reasons_list_the_most_often_blocking_first() {
        let a = busy(person("a", true), "2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z");
        let b = busy(person("b", true), "2027-01-13T10:00:00Z", "2027-01-13T17:00:00Z");
        let no_slot = no_slot(&request(vec![a, b], 120));
        assert_eq!(no_slot.reasons[0], Reason::RequiredUnavailable { ids: vec!["b".into(), "a".into()] });
    }

    #[test]
    fn a_window_with_no_room_on_the_grid_is_too_short() {
        // 09:07–10:07 holds one hour, but no 15-minute grid start does.
        let request =
            Request::new(vec![person("a", true)], mins(60), utc("2027-01-13T09:07:00Z"), utc("2027-01-13T10:07:00Z"));
        assert_eq!(no_slot(&request), NoSlot { reasons: vec![Reason::WindowTooShort], closest: Vec::new() });
    }

    #[test]
    fn earliest_and_latest_local_hours_bound_the_candidates() {
        let mut anytime = person("a", true);
        anytime.working_hours.clear();
        let mut request = request(vec![anytime], 60);
        request.local_zone = zone("Asia/Tokyo");
        // 19:00–21:00 Tokyo is 10:00–12:00 UTC.
        request.earliest_local = Some(time(19, 0, 0, 0));
        request.latest_local = Some(time(21, 0, 0, 0));
        request.max_candidates = 100;
        let candidates = found(&request);
        assert_eq!(candidates.len(), 5);
        assert!(
            candidates.iter().all(|c| c.start >= utc("2027-01-13T10:00:00Z") && c.end <= utc("2027-01-13T12:00:00Z"))
        );
        // Ninety minutes do not fit in 19:00–20:00.
        request.latest_local = Some(time(20, 0, 0, 0));
        request.duration = mins(90);
        assert_eq!(no_slot(&request).reasons, [Reason::WindowTooShort]);
    }

    #[test]
    fn candidates_are_an_hour_apart_unless_fewer_would_be_returned() {
        let mut request = request(vec![person("a", true)], 30);
        request.max_candidates = 4;
        assert_eq!(
            starts(&found(&request)),
            ["2027-01-13T09:00:00Z", "2027-01-13T10:00:00Z", "2027-01-13T11:00:00Z", "2027-01-13T12:00:00Z"]
        );
        // 09:00–10:30 holds four starts for 30 minutes but only two an hour apart.
        request.participants[0].working_hours = weekdays(time(9, 0, 0, 0), time(10, 30, 0, 0));
        assert_eq!(
            starts(&found(&request)),
            ["2027-01-13T09:00:00Z", "2027-01-13T09:15:00Z", "2027-01-13T09:30:00Z", "2027-01-13T10:00:00Z"]
        );
    }

    #[test]
    fn validation_names_every_bad_field_at_once() {
        let mut request = request(vec![person("a", true), person("a", false), person(" ", true)], 0);
        request.window_end = request.window_start;
        request.min_attendance_percent = 101;
        request.max_candidates = 0;
        request.step = mins(1);
        let fields: Vec<String> = request.validate().unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "participants[1].id",
                "participants[2].id",
                "window.end_time",
                "duration",
                "min_attendance_percent",
                "max_candidates",
                "step"
            ]
        );
        let empty = Request::new(Vec::new(), mins(600), utc("2027-01-01T00:00:00Z"), utc("2027-01-01T01:00:00Z"));
        let fields: Vec<String> = find_meeting_times(&empty).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["participants", "duration"]);
        let long =
            Request::new(vec![person("a", true)], mins(60), utc("2027-01-01T00:00:00Z"), utc("2027-03-05T00:00:00Z"));
        let fields: Vec<String> = long.validate().unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["window.end_time"]);
    }

    /// A tiny deterministic generator, so the property-style tests need no extra dependency.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % bound.max(1)
        }
    }

    #[test]
    fn twenty_participants_with_two_thousand_meetings_each_over_four_weeks_complete() {
        let mut random = Lcg(18);
        let year_start = utc("2027-01-01T00:00:00Z").as_second();
        let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
        let participants: Vec<Participant> = (0..20)
            .map(|index| {
                let mut busy: Vec<Busy> = (0..2_000)
                    .map(|_| {
                        let start = year_start + (random.below(365 * 96) as i64) * 900;
                        let length = 900 * (1 + random.below(8) as i64);
                        Busy {
                            start: Timestamp::from_second(start).unwrap(),
                            end: Timestamp::from_second(start + length).unwrap(),
                            tentative: random.below(5) == 0,
                        }
                    })
                    .collect();
                // A weekly series, already expanded, as the caller passes it.
                busy.extend((0..52).map(|week| Busy {
                    start: Timestamp::from_second(year_start + week * 7 * 86_400 + 36_000).unwrap(),
                    end: Timestamp::from_second(year_start + week * 7 * 86_400 + 39_600).unwrap(),
                    tentative: false,
                }));
                Participant {
                    id: format!("p{index}"),
                    required: index < 4,
                    time_zone: Some(zone(zones[index % zones.len()])),
                    working_hours: weekdays(time(8, 0, 0, 0), time(20, 0, 0, 0)),
                    busy,
                }
            })
            .collect();
        let mut request =
            Request::new(participants, mins(30), utc("2027-03-01T00:00:00Z"), utc("2027-03-29T00:00:00Z"));
        request.min_attendance_percent = 30;
        request.max_candidates = 8;
        let returned = match find_meeting_times(&request).unwrap() {
            Outcome::Found(candidates) => candidates.len(),
            Outcome::NoSlot(no_slot) => no_slot.closest.len(),
        };
        assert!((1..=8).contains(&returned), "{returned}");
    }

    #[test]
    fn random_requests_never_panic_and_candidates_keep_the_rules() {
        let mut random = Lcg(2027);
        let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kathmandu"];
        let base = utc("2027-03-20T00:00:00Z").as_second();
        for _ in 0..200 {
            let participants: Vec<Participant> = (0..1 + random.below(5))
                .map(|index| {
                    let busy = (0..random.below(30))
                        .map(|_| {
                            let start = base + random.below(14 * 86_400) as i64 - 86_400;
                            let end = start + random.below(6 * 3_600) as i64 - 600;
                            Busy {
                                start: Timestamp::from_second(start).unwrap(),
                                end: Timestamp::from_second(end).unwrap(),
                                tentative: random.below(3) == 0,
                            }
                        })
                        .collect();
                    let hour = |random: &mut Lcg| time(random.below(24) as i8, 15 * random.below(4) as i8, 0, 0);
                    let working_hours = (0..random.below(4))
                        .map(|_| WorkingHours {
                            day: Weekday::from_monday_zero_offset(random.below(7) as i8).unwrap(),
                            start: hour(&mut random),
                            end: hour(&mut random),
                        })
                        .collect();
                    let time_zone = match random.below(6) as usize {
                        5 => None,
                        pick => Some(zone(zones[pick % zones.len()])),
                    };
                    Participant {
                        id: format!("p{index}"),
                        required: random.below(2) == 0,
                        time_zone,
                        working_hours,
                        busy,
                    }
                })
                .collect();
            let window_start = base + random.below(86_400) as i64;
            let window_end = window_start + 3_600 + random.below(10 * 86_400) as i64;
            let mut request = Request::new(
                participants,
                mins(5 + random.below(240) as i64),
                Timestamp::from_second(window_start).unwrap(),
                Timestamp::from_second(window_end).unwrap(),
            );
            request.min_attendance_percent = random.below(101) as u8;
            request.max_candidates = 1 + random.below(10) as usize;
            request.step = mins(5 * (1 + random.below(6) as i64));
            if random.below(2) == 0 {
                request.local_zone = zone(zones[random.below(zones.len() as u64) as usize]);
                request.earliest_local = Some(time(random.below(24) as i8, 0, 0, 0));
                request.latest_local = Some(time(random.below(24) as i8, 0, 0, 0));
            }
            let Ok(outcome) = find_meeting_times(&request) else { continue };
            let total = request.participants.len();
            let (list, qualifying) = match outcome {
                Outcome::Found(list) => (list, true),
                Outcome::NoSlot(no_slot) => {
                    assert!(!no_slot.reasons.is_empty());
                    (no_slot.closest, false)
                }
            };
            assert!(list.len() <= request.max_candidates);
            assert!(!qualifying || !list.is_empty());
            for candidate in &list {
                assert!(candidate.start >= request.window_start && candidate.end <= request.window_end);
                assert_eq!(candidate.end.duration_since(candidate.start), request.duration);
                assert_eq!(candidate.availability.len(), total);
                assert!((0.0..=1.0).contains(&candidate.confidence));
                let attending = candidate.availability.iter().filter(|(_, a)| a.attends()).count();
                assert_eq!(usize::from(candidate.attendance_percent), attending * 100 / total);
                let quorum = attending * 100 >= usize::from(request.min_attendance_percent) * total;
                assert_eq!(qualifying, candidate.required_free && quorum);
            }
            // Ranked: required free first, then fewest optional conflicts.
            for pair in list.windows(2) {
                let key = |c: &Candidate| (!c.required_free, c.optional_conflicts);
                assert!(key(&pair[0]) <= key(&pair[1]) || !qualifying);
            }
        }
    }
}
