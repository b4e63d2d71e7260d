//! Reading an iTIP REPLY (RFC 5546): bounded, never panicking, naming every problem of the document at once.
use super::*;

/// Which occurrence of a series a REPLY answers (RECURRENCE-ID), as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrenceId {
    /// A local time with a TZID (what this module writes, so what clients echo).
    Zoned { local: DateTime, tzid: String },
    /// A UTC time (`…Z`).
    Utc(Timestamp),
    /// A local time without a zone: taken in the series' zone.
    Floating(DateTime),
    /// `VALUE=DATE`: a day, which names no occurrence of a timed series.
    Date(Date),
}

impl RecurrenceId {
    /// The occurrence's local start in the series' `zone`, the key of [`Series`] edits; `None` for a date or a TZID
    /// that is neither `zone`'s name nor an IANA zone. A UTC or foreign-zone id is converted through its instant, so
    /// an occurrence whose generated local time fell in a DST gap is found by its instant, not its id.
    pub fn local_in(&self, zone: &TimeZone) -> Option<DateTime> {
        match self {
            Self::Floating(local) => Some(*local),
            Self::Utc(t) => Some(zone.to_datetime(*t)),
            Self::Zoned { local, tzid } => {
                if zone.iana_name().is_some_and(|name| name.eq_ignore_ascii_case(tzid)) {
                    return Some(*local);
                }
                let theirs = TimeZone::get(tzid).ok()?;
                instant(&theirs, *local).map(|t| zone.to_datetime(t))
            }
            Self::Date(_) => None,
        }
    }
}

/// An attendee's answer to an invitation (an iTIP REPLY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub uid: String,
    /// Set when the answer is for one occurrence of a series.
    pub recurrence_id: Option<RecurrenceId>,
    /// 0 when absent.
    pub sequence: i32,
    /// From `mailto:`, lower-cased.
    pub attendee_email: Option<String>,
    /// `contacts/{id}`, from `urn:liaison:contacts:{id}` or the `X-LIAISON-CONTACT` parameter.
    pub attendee_contact: Option<String>,
    pub partstat: PartStat,
    /// The COMMENTs, joined by newlines; empty when there is none. At most [`COMMENT_MAX`] characters.
    pub comment: String,
}

/// One unfolded content line: `NAME;PARAM=value:value`.
pub(super) struct ContentLine {
    number: usize,
    pub(super) name: String,
    params: Vec<(String, String)>,
    pub(super) value: String,
}

impl ContentLine {
    /// The parameter's value (case-insensitive name; several values joined by commas, quotes removed).
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Parses `raw` (one unfolded line), or `None` when it is no content line.
pub(super) fn content_line(number: usize, raw: &str) -> Option<ContentLine> {
    let name_end = raw.find([';', ':'])?;
    let name = raw.get(..name_end)?;
    if !is_name(name) {
        return None;
    }
    let mut rest = raw.get(name_end..)?;
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after.find('=')?;
        let key = after.get(..eq)?;
        if !is_name(key) {
            return None;
        }
        let mut remaining = after.get(eq + 1..)?;
        let mut values = Vec::new();
        loop {
            if let Some(quoted) = remaining.strip_prefix('"') {
                let close = quoted.find('"')?;
                values.push(quoted.get(..close)?);
                remaining = quoted.get(close + 1..)?;
            } else {
                let end = remaining.find([',', ';', ':']).unwrap_or(remaining.len());
                values.push(remaining.get(..end)?);
                remaining = remaining.get(end..)?;
            }
            match remaining.strip_prefix(',') {
                Some(next) => remaining = next,
                None => break,
            }
        }
        params.push((key.to_ascii_uppercase(), values.join(",")));
        rest = remaining;
    }
    let value = rest.strip_prefix(':')?;
    Some(ContentLine { number, name: name.to_ascii_uppercase(), params, value: value.to_owned() })
}

/// The logical lines of `text` with the number of the physical line each starts on: CRLF or LF line ends, a line
/// starting with a space or tab continues the one before (RFC 5545 §3.1), blank lines are skipped.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(continued) = raw.strip_prefix([' ', '\t'])
            && let Some((_, last)) = lines.last_mut()
        {
            last.push_str(continued);
            continue;
        }
        if !raw.is_empty() {
            lines.push((index + 1, raw.to_owned()));
        }
    }
    lines
}

/// Reverses TEXT escaping: `\\`, `\;`, `\,`, `\n` or `\N`; any other backslash is kept as it is.
pub(super) fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(escaped @ ('\\' | ';' | ',')) => out.push(escaped),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The problems found so far; at most [`MAX_REPLY_VIOLATIONS`] are kept.
#[derive(Default)]
struct Problems {
    found: Vec<FieldViolation>,
    more: usize,
}

impl Problems {
    fn add(&mut self, field: &str, description: impl Into<String>) {
        if self.found.len() < MAX_REPLY_VIOLATIONS - 1 {
            self.found.push(FieldViolation::new(field, description));
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<FieldViolation> {
        match self.more {
            0 => {}
            1 => self.found.push(FieldViolation::new("ics", "and 1 more problem")),
            n => self.found.push(FieldViolation::new("ics", format!("and {n} more problems"))),
        }
        self.found
    }
}

/// The parts of a REPLY this module reads: the VCALENDAR's properties and each VEVENT's (not its sub-components').
#[derive(Default)]
struct Document {
    calendars: usize,
    calendar: Vec<ContentLine>,
    events: Vec<Vec<ContentLine>>,
}

/// Components may nest this deep (VCALENDAR / VEVENT / VALARM is 3).
const MAX_DEPTH: usize = 8;

fn read_document(text: &str, problems: &mut Problems) -> Document {
    let mut document = Document::default();
    let mut stack: Vec<String> = Vec::new();
    for (number, raw) in unfold(text) {
        let Some(line) = content_line(number, &raw) else {
            problems.add("ics", format!("line {number} is not a content line (NAME;PARAM=…:value)"));
            continue;
        };
        match line.name.as_str() {
            "BEGIN" => {
                let kind = line.value.trim().to_ascii_uppercase();
                if !is_name(&kind) {
                    problems.add("ics", format!("line {number}: BEGIN names no component"));
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    problems.add("ics", format!("line {number}: components nest more than {MAX_DEPTH} deep"));
                    continue;
                }
                stack.push(kind);
                match stack.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    ["VCALENDAR"] => document.calendars += 1,
                    ["VCALENDAR", "VEVENT"] => document.events.push(Vec::new()),
                    [other] => problems.add("ics", format!("line {number}: {other} is outside a VCALENDAR")),
                    _ => {}
                }
            }
            "END" => {
                let kind = line.value.trim().to_ascii_uppercase();
                match stack.iter().rposition(|open| *open == kind) {
                    Some(at) if at + 1 == stack.len() => {
                        stack.pop();
                    }
                    Some(at) => {
                        problems.add(
                            "ics",
                            format!(
                                "line {number}: END:{kind} comes before END:{}",
                                stack.last().map_or("", String::as_str)
                            ),
                        );
                        stack.truncate(at);
                    }
                    None => problems.add("ics", format!("line {number}: END:{kind} closes nothing")),
                }
            }
            _ => match stack.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                [] => problems.add("ics", format!("line {number}: {} is outside a VCALENDAR", line.name)),
                ["VCALENDAR"] => document.calendar.push(line),
                ["VCALENDAR", "VEVENT"] => {
                    if let Some(event) = document.events.last_mut() {
                        event.push(line);
                    }
                }
                _ => {}
            },
        }
    }
    if let Some(open) = stack.last() {
        problems.add("ics", format!("BEGIN:{open} is never closed"));
    }
    document
}

/// The one line named `name`, `None` when there is none; a repeated one is a problem.
fn single<'a>(lines: &'a [ContentLine], name: &str, field: &str, problems: &mut Problems) -> Option<&'a ContentLine> {
    let mut found = lines.iter().filter(|line| line.name == name);
    let first = found.next();
    if let Some(again) = found.next() {
        problems.add(field, format!("is given more than once (line {})", again.number));
    }
    first
}

/// Reads an iTIP REPLY (RFC 5546 §3.2.3): see the module documentation. Every problem is named, in fields `ics`
/// (the text as a whole), `ics.METHOD`, `ics.VEVENT`, `ics.UID`, `ics.ATTENDEE`, `ics.ATTENDEE.PARTSTAT`,
/// `ics.RECURRENCE-ID`, `ics.SEQUENCE` and `ics.COMMENT`.
pub fn parse_reply(text: &str) -> Result<Reply, Vec<FieldViolation>> {
    if text.len() > MAX_REPLY_BYTES {
        return Err(vec![FieldViolation::new(
            "ics",
            format!("must be at most {MAX_REPLY_BYTES} bytes (got {})", text.len()),
        )]);
    }
    // Some clients start the text with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Problems::default();
    let document = read_document(text, &mut problems);
    match document.calendars {
        0 => {
            problems.add("ics", "is not an iCalendar object: it has no BEGIN:VCALENDAR");
            return Err(problems.finish());
        }
        1 => {}
        n => problems.add("ics", format!("must hold one VCALENDAR, not {n}")),
    }
    match single(&document.calendar, "METHOD", "ics.METHOD", &mut problems) {
        None => problems.add("ics.METHOD", "is missing: a reply has METHOD:REPLY"),
        Some(method) if !method.value.trim().eq_ignore_ascii_case("REPLY") => {
            problems.add("ics.METHOD", format!("must be REPLY, not '{}'", short(&method.value)));
        }
        Some(_) => {}
    }
    let [event] = document.events.as_slice() else {
        problems.add("ics.VEVENT", format!("a reply holds exactly one VEVENT, not {}", document.events.len()));
        return Err(problems.finish());
    };
    let reply = read_event(event, &mut problems);
    match reply {
        Some(reply) if problems.found.is_empty() => Ok(reply),
        _ => {
            if problems.found.is_empty() {
                problems.add("ics", "is not a reply");
            }
            Err(problems.finish())
        }
    }
}

/// At most 60 characters of `text`, for messages.
fn short(text: &str) -> String {
    let mut out: String = text.chars().take(60).filter(|c| !c.is_control()).collect();
    if text.chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

fn read_event(event: &[ContentLine], problems: &mut Problems) -> Option<Reply> {
    let uid = match single(event, "UID", "ics.UID", problems).map(|line| unescape(line.value.trim())) {
        None => {
            problems.add("ics.UID", "is missing");
            None
        }
        Some(uid) if uid.is_empty() => {
            problems.add("ics.UID", "must not be empty");
            None
        }
        Some(uid) if uid.len() > MAX_UID_LEN => {
            problems.add("ics.UID", format!("must be at most {MAX_UID_LEN} bytes"));
            None
        }
        Some(uid) => Some(uid),
    };
    let attendees: Vec<&ContentLine> = event.iter().filter(|line| line.name == "ATTENDEE").collect();
    let answer = match attendees.as_slice() {
        [one] => read_attendee(one, problems),
        more => {
            problems.add("ics.ATTENDEE", format!("a reply names exactly one ATTENDEE, not {}", more.len()));
            None
        }
    };
    let recurrence_id = single(event, "RECURRENCE-ID", "ics.RECURRENCE-ID", problems)
        .and_then(|line| recurrence_id(line).map_err(|why| problems.add("ics.RECURRENCE-ID", why)).ok());
    let sequence = match single(event, "SEQUENCE", "ics.SEQUENCE", problems) {
        None => Some(0),
        Some(line) => match line.value.trim().parse::<i32>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                problems.add("ics.SEQUENCE", format!("must be a whole number from 0, not '{}'", short(&line.value)));
                None
            }
        },
    };
    let comments: Vec<String> =
        event.iter().filter(|line| line.name == "COMMENT").map(|line| unescape(&line.value)).collect();
    let comment = comments.join("\n");
    if comment.chars().count() > COMMENT_MAX {
        problems.add("ics.COMMENT", format!("must be at most {COMMENT_MAX} characters"));
    }
    let (uid, (attendee_email, attendee_contact, partstat), sequence) = (uid?, answer?, sequence?);
    Some(Reply { uid, recurrence_id, sequence, attendee_email, attendee_contact, partstat, comment })
}

type Answer = (Option<String>, Option<String>, PartStat);

fn read_attendee(line: &ContentLine, problems: &mut Problems) -> Option<Answer> {
    let partstat = match line.param("PARTSTAT") {
        None => {
            problems.add("ics.ATTENDEE.PARTSTAT", "is missing: the answer is ACCEPTED, DECLINED or TENTATIVE");
            None
        }
        Some(value) => PartStat::parse(value).or_else(|| {
            problems.add(
                "ics.ATTENDEE.PARTSTAT",
                format!("must be ACCEPTED, DECLINED, TENTATIVE or NEEDS-ACTION, not '{}'", short(value)),
            );
            None
        }),
    };
    let value = line.value.trim();
    let mut email = None;
    let mut contact = None;
    let mut bad = false;
    if let Some(address) = strip_prefix_ignore_case(value, "mailto:") {
        let address = address.trim().to_lowercase();
        if is_email(&address) {
            email = Some(address);
        } else {
            problems.add("ics.ATTENDEE", format!("'{}' is not an email address", short(&address)));
            bad = true;
        }
    } else if let Some(rest) = strip_prefix_ignore_case(value, URN_PREFIX) {
        match contact_of(&rest.replacen(':', "/", 1)) {
            Some(name) => contact = Some(name),
            None => {
                problems
                    .add("ics.ATTENDEE", format!("'{}' names no contact (urn:liaison:contacts:<id>)", short(value)));
                bad = true;
            }
        }
    }
    if let Some(param) = line.param(CONTACT_PARAM) {
        match (contact_of(param.trim()), &contact) {
            (None, _) => {
                problems.add("ics.ATTENDEE", format!("{CONTACT_PARAM} '{}' is not contacts/<id>", short(param)));
                bad = true;
            }
            (Some(named), Some(known)) if named != *known => {
                problems.add("ics.ATTENDEE", format!("names two contacts, {known} and {named}"));
                bad = true;
            }
            (Some(named), _) => contact = Some(named),
        }
    }
    if email.is_none() && contact.is_none() && !bad {
        problems.add(
            "ics.ATTENDEE",
            format!("'{}' names no one: expected mailto:…, urn:liaison:contacts:… or {CONTACT_PARAM}", short(value)),
        );
        bad = true;
    }
    if bad {
        return None;
    }
    Some((email, contact, partstat?))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| text.get(prefix.len()..)).flatten()
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    text.len() <= MAX_EMAIL_LEN
        && !local.is_empty()
        && !domain.is_empty()
        && text.chars().all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"'))
}

/// `contacts/<id>` with a URL-safe id, or `None`.
fn contact_of(text: &str) -> Option<String> {
    let id = text.strip_prefix("contacts/")?;
    let ok = !id.is_empty()
        && id.len() <= MAX_CONTACT_ID_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'));
    ok.then(|| text.to_owned())
}

fn parse_date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i16>().ok();
    Date::new(number(0..4)?, i8::try_from(number(4..6)?).ok()?, i8::try_from(number(6..8)?).ok()?).ok()
}

fn parse_local(text: &str) -> Option<DateTime> {
    let (date, time) = text.split_once('T')?;
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| time.get(range)?.parse::<i8>().ok();
    let time = jiff::civil::Time::new(number(0..2)?, number(2..4)?, number(4..6)?, 0).ok()?;
    Some(parse_date(date)?.to_datetime(time))
}

fn recurrence_id(line: &ContentLine) -> Result<RecurrenceId, String> {
    let value = line.value.trim();
    if line.param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE")) {
        return parse_date(value).map(RecurrenceId::Date).ok_or_else(|| format!("'{}' is not a DATE", short(value)));
    }
    let bad = || format!("'{}' is not a DATE-TIME (YYYYMMDDTHHMMSS, or …Z in UTC)", short(value));
    let (local, utc) = match value.strip_suffix('Z') {
        Some(local) => (local, true),
        None => (value, false),
    };
    let local = parse_local(local).ok_or_else(bad)?;
    match (utc, line.param("TZID")) {
        (true, Some(_)) => Err("a UTC time (…Z) takes no TZID".to_owned()),
        (true, None) => Offset::UTC.to_timestamp(local).map(RecurrenceId::Utc).map_err(|_| bad()),
        (false, None) => Ok(RecurrenceId::Floating(local)),
        (false, Some(tzid)) => {
            // RFC 5545 allows a leading `/` for a globally unique TZID.
            let tzid = tzid.trim().trim_start_matches('/');
            if tzid.is_empty() || tzid.len() > MAX_TZID_LEN || tzid.chars().any(char::is_control) {
                return Err(format!("TZID '{}' is not a time zone name", short(tzid)));
            }
            Ok(RecurrenceId::Zoned { local, tzid: tzid.to_owned() })
        }
    }
}
