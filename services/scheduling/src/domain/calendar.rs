//! Meetings as iCalendar documents (RFC 5545) with iTIP methods (RFC 5546), and the reading of an iTIP REPLY.
//!
//! Calendar clients (Outlook, Google Calendar, Apple Calendar, Thunderbird) learn about a meeting from an iCalendar
//! document: an invitation or update (`METHOD:REQUEST`), a cancellation (`METHOD:CANCEL`) or a plain export
//! (`METHOD:PUBLISH`), and they answer an invitation with a `METHOD:REPLY`. This module writes the former with
//! [`render`] and reads the latter with [`parse_reply`]. It is pure (no I/O, no clock): the caller decides the UID,
//! the SEQUENCE and the DTSTAMP, sends the text and applies the reply.
//!
//! # Rendering
//!
//! Content lines are built with the `icalendar` crate's [`icalendar::Property`] and [`icalendar::Event`], which
//! escape TEXT values (`\\`, `;`, `,`, newline as `\n`) and quote parameter values holding `:`, `;` or `,`; lines
//! are then folded here at 75 octets without splitting a UTF-8 character, and end with CRLF (the crate's own
//! folding can leave a line of 76 octets). Before that, values are cleaned of what
//! iCalendar cannot carry: CR and CRLF become a newline, other control characters are dropped, and a `"` in a
//! parameter value (a display name) becomes `'` (RFC 5545 has no escape for it there).
//!
//! Times are written as local times with `;TZID=<IANA name>` when the meeting's zone has one and is not UTC, and
//! as UTC (`…Z`) otherwise (a bare offset without a name is written in UTC too; meetings always have an IANA zone).
//! Every TZID used gets exactly one VTIMEZONE, written here from jiff's copy of the tz database: one STANDARD or
//! DAYLIGHT observance per transition, from the one in effect a year ([`ZONE_LEAD`]) before the earliest start to
//! the latest end of that zone's events. Each observance's DTSTART is the local time of the transition in the
//! offset before it (RFC 5545 §3.6.5). A zone without transitions gets one STANDARD observance. An open-ended series
//! is covered until [`OPEN_ENDED_COVERAGE`] after the later of its start and the DTSTAMP: clients that know the
//! IANA name (all the major ones do) use their own rules, the others use the last offset listed beyond that.
//!
//! A recurring meeting is one VEVENT with the series' start as DTSTART, its rule as RRULE
//! ([`Series::rrule_for_export`]) and its cancelled occurrences as EXDATE (same TZID as DTSTART), plus one VEVENT
//! per moved occurrence with the same UID and a RECURRENCE-ID (its original local start). Then DTSTART, DTEND and the
//! zone come from the [`Series`]; the event's own `start`, `end` and `time_zone` are used for a single meeting.
//!
//! iTIP (RFC 5546 §3.2) decides what each method carries: `CANCEL` marks every VEVENT `STATUS:CANCELLED`;
//! `PUBLISH` lists no ATTENDEE (§3.2.1 allows none); `REQUEST` and `CANCEL` need an ORGANIZER, which the caller
//! supplies. An attendee or organiser is `mailto:<email>` when an email is known and `urn:liaison:contacts:<id>`
//! otherwise, and always carries its contact as `X-LIAISON-CONTACT=contacts/<id>`, which a reply may echo.
//!
//! # Reading a REPLY
//!
//! [`parse_reply`] accepts CRLF or LF line ends, folded lines and a leading byte order mark, and at most
//! [`MAX_REPLY_BYTES`] of text. It wants one VCALENDAR with `METHOD:REPLY` holding exactly one VEVENT with a UID
//! and exactly one ATTENDEE with a PARTSTAT of ACCEPTED, DECLINED, TENTATIVE or NEEDS-ACTION; it also reads
//! RECURRENCE-ID, SEQUENCE and COMMENT. Every problem is named at once (at most [`MAX_REPLY_VIOLATIONS`]), in
//! fields such as `ics`, `ics.METHOD` or `ics.ATTENDEE`. Nothing here panics on any input.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use icalendar::{Component, EventLike, Property};
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone, TimeZoneTransition};
use jiff::{SignedDuration, Timestamp};
use liaison_runtime::FieldViolation;

use super::recurrence::{End, Series, Until};
use super::{COMMENT_MAX, Rsvp};

/// The PRODID of every document.
pub const PRODID: &str = "-//Liaison//Scheduling//EN";
/// A VTIMEZONE starts this long before the earliest start of its zone's events.
pub const ZONE_LEAD: SignedDuration = SignedDuration::from_hours(366 * 24);
/// A series without COUNT or UNTIL has its VTIMEZONE cover this long after the later of its start and DTSTAMP.
pub const OPEN_ENDED_COVERAGE: SignedDuration = SignedDuration::from_hours(5 * 366 * 24);
/// At most this many observances per VTIMEZONE (two a year for 250 years), so that no input makes it huge.
pub const MAX_OBSERVANCES: usize = 500;
/// The longest REPLY text read, in bytes (256 KiB; a real reply is a few KiB).
pub const MAX_REPLY_BYTES: usize = 256 * 1024;
/// At most this many problems are named for one REPLY, the last one saying how many more there were.
pub const MAX_REPLY_VIOLATIONS: usize = 20;
/// The longest UID accepted in a REPLY, in bytes.
pub const MAX_UID_LEN: usize = 1000;
/// The longest email address accepted (RFC 3696's practical limit) and TZID, in bytes.
const MAX_EMAIL_LEN: usize = 320;
const MAX_TZID_LEN: usize = 200;
const MAX_CONTACT_ID_LEN: usize = 100;
/// `urn:liaison:<collection>:<id>`: a contact without a known email.
const URN_PREFIX: &str = "urn:liaison:";
const CONTACT_PARAM: &str = "X-LIAISON-CONTACT";

/// The iTIP method of a document (RFC 5546 §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A plain export: no attendees, nothing to answer.
    Publish,
    /// An invitation, or an update of one (a higher SEQUENCE).
    Request,
    /// The meeting (or the occurrences listed) no longer takes place.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "PUBLISH",
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

/// A calendar user: a contact, with the email their client knows them by when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarAddress {
    /// `contacts/{id}`.
    pub contact: String,
    pub email: Option<String>,
    /// Shown by clients (`CN`); may be empty.
    pub display_name: String,
}

/// An attendee's answer (RFC 5545 PARTSTAT, the values a VEVENT uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsAction => "NEEDS-ACTION",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Tentative => "TENTATIVE",
        }
    }

    /// The PARTSTAT named by `text` (case-insensitive); DELEGATED and the VTODO values are not answers here.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::NeedsAction, Self::Accepted, Self::Declined, Self::Tentative]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    fn to_icalendar(self) -> icalendar::PartStat {
        match self {
            Self::NeedsAction => icalendar::PartStat::NeedsAction,
            Self::Accepted => icalendar::PartStat::Accepted,
            Self::Declined => icalendar::PartStat::Declined,
            Self::Tentative => icalendar::PartStat::Tentative,
        }
    }
}

impl From<Rsvp> for PartStat {
    fn from(rsvp: Rsvp) -> Self {
        match rsvp {
            Rsvp::NeedsAction => Self::NeedsAction,
            Rsvp::Accepted => Self::Accepted,
            Rsvp::Declined => Self::Declined,
            Rsvp::Tentative => Self::Tentative,
        }
    }
}

impl From<PartStat> for Rsvp {
    fn from(partstat: PartStat) -> Self {
        match partstat {
            PartStat::NeedsAction => Self::NeedsAction,
            PartStat::Accepted => Self::Accepted,
            PartStat::Declined => Self::Declined,
            PartStat::Tentative => Self::Tentative,
        }
    }
}

/// One ATTENDEE of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarAttendee {
    pub address: CalendarAddress,
    /// `ROLE=OPT-PARTICIPANT` rather than `REQ-PARTICIPANT`.
    pub optional: bool,
    pub partstat: PartStat,
}

/// The STATUS of a VEVENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Tentative,
    Confirmed,
    Cancelled,
}

impl EventStatus {
    fn to_icalendar(self) -> icalendar::EventStatus {
        match self {
            Self::Tentative => icalendar::EventStatus::Tentative,
            Self::Confirmed => icalendar::EventStatus::Confirmed,
            Self::Cancelled => icalendar::EventStatus::Cancelled,
        }
    }
}

/// A meeting as a calendar event.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Stable across updates, e.g. `meetings/0193…@liaison`; the caller decides it.
    pub uid: String,
    /// Raised by the caller with each significant change (negative values are written as 0).
    pub sequence: i32,
    pub summary: String,
    /// Left out when empty.
    pub description: String,
    /// Left out when empty.
    pub location: String,
    /// The video link; left out when empty.
    pub url: String,
    /// A single meeting's times and zone; a recurring one takes them from `recurrence`.
    pub start: Timestamp,
    pub end: Timestamp,
    pub time_zone: TimeZone,
    pub status: EventStatus,
    pub organizer: Option<CalendarAddress>,
    pub attendees: Vec<CalendarAttendee>,
    /// When set: DTSTART is the series' start, RRULE and EXDATE come from it, and each override becomes its own
    /// VEVENT with RECURRENCE-ID (same UID).
    pub recurrence: Option<Series>,
    /// DTSTAMP: when this document was made.
    pub stamp: Timestamp,
    pub last_modified: Timestamp,
}

/// The iCalendar document of `events` for `method`: a VCALENDAR with CRLF line ends, one VTIMEZONE per zone used
/// and the events' VEVENTs. See the module documentation for what is written and why.
pub fn render(method: Method, events: &[CalendarEvent]) -> String {
    let mut out = String::new();
    out.push_str("BEGIN:VCALENDAR\r\n");
    push_line(&mut out, Property::new("VERSION", "2.0"));
    push_line(&mut out, Property::new("PRODID", PRODID));
    push_line(&mut out, Property::new("CALSCALE", "GREGORIAN"));
    push_line(&mut out, Property::new("METHOD", method.as_str()));
    for (tzid, coverage) in zone_coverage(events) {
        push_vtimezone(&mut out, &tzid, &coverage);
    }
    for event in events {
        push_events(&mut out, method, event);
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn push_line(out: &mut String, property: Property) {
    // Writing into a String cannot fail.
    let line: Result<String, std::fmt::Error> = property.try_into();
    if let Ok(line) = line {
        push_refolded(out, &line);
    }
}

/// Appends what the `icalendar` crate wrote (a property or a component), refolded. Its `fold_line` (0.17) can leave
/// a last continuation line of 76 octets, so its folds are undone (values hold no CR or LF: [`clean_text`] turns
/// them into `\n`, the other cleaners drop them) and each line is folded by [`fold_into`].
fn push_refolded(out: &mut String, serialized: &str) {
    for line in serialized.replace("\r\n ", "").split("\r\n").filter(|line| !line.is_empty()) {
        fold_into(out, line);
    }
}

/// Appends `line` folded at 75 octets (RFC 5545 §3.1) between characters, never inside one: the first line holds
/// at most 75 octets, each continuation a space and at most 74; each ends with CRLF.
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let Some((head, tail)) = rest.split_at_checked(cut) else { break };
        out.push_str(head);
        out.push_str("\r\n ");
        rest = tail;
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A TEXT value as iCalendar can carry it: CR and CRLF become a newline (which the crate escapes as `\n`), other
/// control characters but TAB are dropped.
fn clean_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI or CAL-ADDRESS value (not escaped by iCalendar): control characters dropped.
fn clean_uri(value: &str) -> String {
    value.trim().chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value: control characters dropped, `"` (which no parameter value may hold) as `'`.
fn clean_param(value: &str) -> String {
    value.trim().chars().filter(|c| !c.is_control()).map(|c| if c == '"' { '\'' } else { c }).collect()
}

/// The TZID a zone is written with, or `None` for UTC (`…Z`): a zone with an IANA name unless it is UTC under
/// another name (offset zero and no transitions, e.g. `Etc/UTC`).
fn tzid(zone: &TimeZone) -> Option<&str> {
    let name = zone.iana_name()?;
    let utc = zone.following(Timestamp::MIN).next().is_none() && zone.to_offset(Timestamp::UNIX_EPOCH) == Offset::UTC;
    (!utc).then_some(name)
}

fn local_text(dt: DateTime) -> String {
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}", dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute(), dt.second())
}

fn utc_text(t: Timestamp) -> String {
    format!("{}Z", local_text(Offset::UTC.to_datetime(t)))
}

fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if s == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{s:02}") }
}

fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

fn minus(t: Timestamp, d: SignedDuration) -> Timestamp {
    plus(t, -d)
}

/// RFC 5545 §3.3.5 (as the series resolves its occurrences): a skipped time moves forward by the gap, a repeated
/// one takes its earlier instant.
fn instant(zone: &TimeZone, local: DateTime) -> Option<Timestamp> {
    zone.to_ambiguous_timestamp(local).compatible().ok()
}

/// A date-time property for an instant: local time with TZID, or UTC.
fn at(key: &str, zone: &TimeZone, t: Timestamp) -> Property {
    match tzid(zone) {
        Some(name) => {
            let mut property = Property::new(key, local_text(zone.to_datetime(t)));
            property.add_parameter("TZID", &clean_param(name));
            property
        }
        None => Property::new(key, utc_text(t)),
    }
}

/// A date-time property for a local time of the series' zone (its start, an EXDATE, a RECURRENCE-ID): written as
/// it is with TZID, so that it names the same generated occurrence, or as its instant in UTC.
fn at_local(key: &str, zone: &TimeZone, local: DateTime) -> Property {
    match (tzid(zone), instant(zone, local)) {
        (Some(name), _) => {
            let mut property = Property::new(key, local_text(local));
            property.add_parameter("TZID", &clean_param(name));
            property
        }
        (None, Some(t)) => Property::new(key, utc_text(t)),
        (None, None) => Property::new(key, format!("{}Z", local_text(local))),
    }
}

fn address_value(address: &CalendarAddress) -> String {
    match address.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(email) => format!("mailto:{}", clean_uri(email)),
        None => format!("{URN_PREFIX}{}", clean_uri(&address.contact).replace('/', ":")),
    }
}

fn organizer(address: &CalendarAddress) -> Property {
    let mut property = Property::new("ORGANIZER", address_value(address));
    let name = clean_param(&address.display_name);
    if !name.is_empty() {
        property.add_parameter("CN", &name);
    }
    property.add_parameter(CONTACT_PARAM, &clean_param(&address.contact));
    property
}

fn attendee(attendee: &CalendarAttendee) -> Property {
    let role = if attendee.optional { icalendar::Role::OptParticipant } else { icalendar::Role::ReqParticipant };
    let mut built = icalendar::Attendee::new(address_value(&attendee.address))
        .role(role)
        .partstat(attendee.partstat.to_icalendar());
    if attendee.partstat == PartStat::NeedsAction {
        built = built.rsvp(true);
    }
    let name = clean_param(&attendee.address.display_name);
    if !name.is_empty() {
        built = built.cn(name);
    }
    let mut property = Property::from(built);
    property.add_parameter(CONTACT_PARAM, &clean_param(&attendee.address.contact));
    property
}

/// What every VEVENT of `event` shares: everything but its times.
fn base_event(method: Method, event: &CalendarEvent) -> icalendar::Event {
    let status = if method == Method::Cancel { EventStatus::Cancelled } else { event.status };
    let mut base = icalendar::Event::new();
    base.uid(&clean_text(&event.uid))
        .add_property("DTSTAMP", utc_text(event.stamp))
        .add_property("LAST-MODIFIED", utc_text(event.last_modified))
        .sequence(u32::try_from(event.sequence).unwrap_or(0))
        .summary(&clean_text(&event.summary))
        .status(status.to_icalendar());
    let description = clean_text(&event.description);
    if !description.is_empty() {
        base.description(&description);
    }
    let location = clean_text(&event.location);
    if !location.is_empty() {
        base.location(&location);
    }
    let url = clean_uri(&event.url);
    if !url.is_empty() {
        base.url(&url);
    }
    if let Some(address) = &event.organizer {
        base.append_property(organizer(address));
    }
    if method != Method::Publish {
        for one in &event.attendees {
            base.append_multi_property(attendee(one));
        }
    }
    base
}

fn push_component(out: &mut String, event: &icalendar::Event) {
    if let Ok(text) = event.try_into_string() {
        push_refolded(out, &text);
    }
}

fn push_events(out: &mut String, method: Method, event: &CalendarEvent) {
    let base = base_event(method, event);
    let Some(series) = &event.recurrence else {
        let mut single = base;
        single.append_property(at("DTSTART", &event.time_zone, event.start));
        single.append_property(at("DTEND", &event.time_zone, event.end));
        push_component(out, &single);
        return;
    };
    let zone = series.zone();
    let mut master = base.clone();
    master.append_property(at_local("DTSTART", zone, series.start()));
    if let Some(first) = instant(zone, series.start()) {
        // RFC 5545 §3.8.5.3: each occurrence lasts the exact duration between DTSTART and DTEND.
        master.append_property(at("DTEND", zone, plus(first, series.duration())));
    }
    if let Some(rule) = series.rrule_for_export() {
        master.add_property("RRULE", rule);
    }
    for id in series.exdates() {
        master.append_multi_property(at_local("EXDATE", zone, *id));
    }
    push_component(out, &master);
    for moved in series.overrides() {
        if series.exdates().contains(&moved.recurrence_id) {
            continue;
        }
        let mut one = base.clone();
        one.append_property(at_local("RECURRENCE-ID", zone, moved.recurrence_id));
        one.append_property(at("DTSTART", zone, moved.start));
        one.append_property(at("DTEND", zone, moved.end));
        push_component(out, &one);
    }
}

/// The span a zone's VTIMEZONE must cover.
struct Coverage {
    zone: TimeZone,
    from: Timestamp,
    until: Timestamp,
}

/// Each TZID used, with the span of its events (sorted by TZID, so the output is deterministic).
fn zone_coverage(events: &[CalendarEvent]) -> BTreeMap<String, Coverage> {
    let mut zones: BTreeMap<String, Coverage> = BTreeMap::new();
    for event in events {
        let (zone, from, until) = match &event.recurrence {
            Some(series) => {
                let (from, until) = series_span(series, event.stamp);
                (series.zone(), from, until)
            }
            None => (&event.time_zone, event.start.min(event.end), event.start.max(event.end)),
        };
        let Some(name) = tzid(zone) else { continue };
        match zones.entry(name.to_owned()) {
            Entry::Vacant(slot) => {
                slot.insert(Coverage { zone: zone.clone(), from, until });
            }
            Entry::Occupied(mut slot) => {
                let coverage = slot.get_mut();
                coverage.from = coverage.from.min(from);
                coverage.until = coverage.until.max(until);
            }
        }
    }
    zones
}

/// From the series' earliest start to its latest end (see [`OPEN_ENDED_COVERAGE`] for a series without end).
fn series_span(series: &Series, stamp: Timestamp) -> (Timestamp, Timestamp) {
    let zone = series.zone();
    let duration = series.duration();
    let first = instant(zone, series.start()).unwrap_or(stamp);
    let first_end = plus(first, duration);
    let (mut from, mut until) = (first, first_end);
    for moved in series.overrides() {
        from = from.min(moved.start);
        until = until.max(moved.end);
    }
    if let Some(rule) = series.rule() {
        let last_end = match rule.end() {
            End::Never => plus(first.max(stamp), OPEN_ENDED_COVERAGE),
            // At most MAX_COUNT occurrences, all returned by one window.
            End::Count(_) => series.occurrences(first, Timestamp::MAX).iter().map(|o| o.end).max().unwrap_or(first_end),
            End::Until(Until::Instant(last)) => plus(last, duration),
            End::Until(Until::Date(last)) => last
                .tomorrow()
                .ok()
                .and_then(|next| instant(zone, next.to_datetime(jiff::civil::Time::midnight())))
                .map_or(first_end, |t| plus(t, duration)),
        };
        until = until.max(last_end);
    }
    (from, until)
}

/// One STANDARD or DAYLIGHT sub-component: from its local onset (in the offset before it) on, `to` applies.
struct Observance {
    onset: DateTime,
    from: Offset,
    to: Offset,
    name: String,
    daylight: bool,
}

impl Observance {
    fn of(zone: &TimeZone, transition: &TimeZoneTransition<'_>) -> Observance {
        let at = transition.timestamp();
        let from = zone.to_offset(minus(at, SignedDuration::from_nanos(1)));
        Observance {
            onset: from.to_datetime(at),
            from,
            to: transition.offset(),
            name: transition.abbreviation().to_owned(),
            daylight: transition.dst().is_dst(),
        }
    }
}

/// 0001-01-03T00:00:00Z and 9999-12-30T00:00:00Z: every local time of a VTIMEZONE stays within years 1–9999.
fn earliest() -> Timestamp {
    Timestamp::from_second(-62_135_596_800 + 2 * 86_400).unwrap_or(Timestamp::MIN)
}

fn latest() -> Timestamp {
    Timestamp::from_second(253_402_300_800 - 2 * 86_400).unwrap_or(Timestamp::MAX)
}

fn push_vtimezone(out: &mut String, tzid: &str, coverage: &Coverage) {
    let zone = &coverage.zone;
    let from = minus(coverage.from, ZONE_LEAD).max(earliest());
    let until = coverage.until.min(latest());
    let mut observances = Vec::new();
    // The observance in effect at `from`: its transition, or (there is none before) its offset from `from` on.
    let preceding = zone.preceding(from).next();
    match &preceding {
        Some(transition) => observances.push(Observance::of(zone, transition)),
        None => {
            let info = zone.to_offset_info(from);
            observances.push(Observance {
                onset: info.offset().to_datetime(from),
                from: info.offset(),
                to: info.offset(),
                name: info.abbreviation().to_owned(),
                daylight: info.dst().is_dst(),
            });
        }
    }
    let after = preceding.as_ref().map_or(from, TimeZoneTransition::timestamp);
    for transition in zone.following(after) {
        if transition.timestamp() > until || observances.len() >= MAX_OBSERVANCES {
            break;
        }
        observances.push(Observance::of(zone, &transition));
    }
    out.push_str("BEGIN:VTIMEZONE\r\n");
    push_line(out, Property::new("TZID", clean_text(tzid)));
    for observance in observances {
        let kind = if observance.daylight { "DAYLIGHT" } else { "STANDARD" };
        out.push_str(&format!("BEGIN:{kind}\r\n"));
        push_line(out, Property::new("DTSTART", local_text(observance.onset)));
        push_line(out, Property::new("TZOFFSETFROM", offset_text(observance.from)));
        push_line(out, Property::new("TZOFFSETTO", offset_text(observance.to)));
        if !observance.name.is_empty() {
            push_line(out, Property::new("TZNAME", clean_text(&observance.name)));
        }
        out.push_str(&format!("END:{kind}\r\n"));
    }
    out.push_str("END:VTIMEZONE\r\n");
}

mod reply;
pub use reply::{RecurrenceId, Reply, parse_reply};
#[cfg(test)]
use reply::{content_line, unescape};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
