//! Property tests of the iCalendar writer and the iTIP REPLY reader. Written documents, whatever their text holds
//! (commas, semicolons, backslashes, line breaks, long lines, other scripts, control characters), have lines of
//! at most 75 octets ending in CRLF, TEXT values escaped so that unfolding and unescaping give the text back, and
//! one VTIMEZONE per zone. A REPLY written with any of that text reads back as the answer it carries, and no input
//! makes the reader panic.
use super::*;
use crate::domain::recurrence::{Override, Rule};
use proptest::prelude::*;

const ZONES: &[&str] = &["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC", "Etc/UTC", "Asia/Kolkata"];

/// Text with everything iCalendar treats specially, and enough of it to need folding several times.
fn awkward(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            6 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('A', 'Z'),
            4 => proptest::sample::select(&[
                ',', ';', ':', '\\', '"', '\'', ' ', '\t', '\n', 'é', 'ü', '€', '日', '本', '🎉', '\u{a0}', '^', '=', 'n', 'N',
            ][..]),
            1 => proptest::sample::select(&['\r', '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}'][..]),
        ],
        0..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Text without the characters iCalendar cannot carry (CR and control characters other than TAB and LF).
fn carried(max: usize) -> impl Strategy<Value = String> {
    awkward(max).prop_map(|text| text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect())
}

fn addresses() -> impl Strategy<Value = CalendarAddress> {
    (
        prop_oneof!["contacts/[a-z0-9]{1,12}", awkward(20)],
        proptest::option::of(prop_oneof!["[a-z.]{1,10}@[a-z]{1,8}\\.example", awkward(20)]),
        awkward(40),
    )
        .prop_map(|(contact, email, display_name)| CalendarAddress { contact, email, display_name })
}

fn attendees() -> impl Strategy<Value = CalendarAttendee> {
    (
        addresses(),
        any::<bool>(),
        proptest::sample::select(vec![
            PartStat::NeedsAction,
            PartStat::Accepted,
            PartStat::Declined,
            PartStat::Tentative,
        ]),
    )
        .prop_map(|(address, optional, partstat)| CalendarAttendee { address, optional, partstat })
}

/// A recurring series in `zone` from `start`, with some occurrences cancelled and one moved.
fn series(zone: &TimeZone, start: Timestamp, minutes: i64, rule: &str, cancel: usize, moved: usize) -> Option<Series> {
    let rule = Rule::parse("rrule", rule).ok()?;
    let local = zone.to_datetime(start);
    let mut series = Series::new(local, zone.clone(), SignedDuration::from_mins(minutes), Some(rule)).ok()?;
    let upcoming = series.occurrences(start, plus(start, SignedDuration::from_hours(24 * 100)));
    if let Some(o) = upcoming.get(cancel) {
        series = series.cancel_occurrence(o.recurrence_id).ok()?;
    }
    if let Some(o) = upcoming.get(moved) {
        let moved = Override {
            recurrence_id: o.recurrence_id,
            start: plus(o.start, SignedDuration::from_hours(3)),
            end: plus(o.end, SignedDuration::from_hours(3)),
        };
        series = series.with_override(moved).unwrap_or(series);
    }
    Some(series)
}

fn events() -> impl Strategy<Value = CalendarEvent> {
    let text = (awkward(60), awkward(200), awkward(300), awkward(80), awkward(60));
    let when = (
        // 2024-01-01 to 2032, at any minute: DST transitions included.
        (0i64..9 * 365 * 24 * 60).prop_map(|m| Timestamp::from_second(1_704_067_200 + m * 60).unwrap()),
        1i64..=600,
        proptest::sample::select(ZONES),
        proptest::option::of((
            proptest::sample::select(
                &[
                    "FREQ=DAILY;COUNT=5",
                    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
                    "FREQ=MONTHLY",
                    "FREQ=YEARLY;UNTIL=20300101",
                    "FREQ=WEEKLY;INTERVAL=2;UNTIL=20281231T235959Z",
                ][..],
            ),
            0..6usize,
            0..6usize,
        )),
    );
    let people = (proptest::option::of(addresses()), proptest::collection::vec(attendees(), 0..3));
    let status = proptest::sample::select(vec![EventStatus::Tentative, EventStatus::Confirmed, EventStatus::Cancelled]);
    (text, when, people, status, -5i32..100).prop_map(
        |(
            (uid, summary, description, location, url),
            (start, minutes, zone_name, recurring),
            (organizer, attendees),
            status,
            sequence,
        )| {
            let time_zone = TimeZone::get(zone_name).unwrap();
            let recurrence =
                recurring.and_then(|(rule, cancel, moved)| series(&time_zone, start, minutes, rule, cancel, moved));
            CalendarEvent {
                uid,
                sequence,
                summary,
                description,
                location,
                url,
                start,
                end: plus(start, SignedDuration::from_mins(minutes)),
                time_zone,
                status,
                organizer,
                attendees,
                recurrence,
                stamp: Timestamp::from_second(1_800_000_000).unwrap(),
                last_modified: Timestamp::from_second(1_790_000_000).unwrap(),
            }
        },
    )
}

/// The logical lines of a document: RFC 5545 unfolding (a CRLF followed by a space or a tab is removed).
fn unfold_lines(text: &str) -> Vec<String> {
    text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// A TEXT value unescaped, or `None` when it is not correctly escaped: a `,` or `;` not escaped, or a backslash
/// before anything but `\`, `,`, `;`, `n` or `N` (RFC 5545 §3.3.11).
fn strict_unescape(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' | 'N' => out.push('\n'),
                c @ ('\\' | ',' | ';') => out.push(c),
                _ => return None,
            },
            ',' | ';' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn value_of<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':'))).collect()
}

/// A REPLY as a client writes one, from its parts, with its own choice of line ends and folding.
#[derive(Debug)]
struct ReplyText {
    uid: String,
    partstat: PartStat,
    partstat_case: bool,
    email: Option<String>,
    contact: Option<String>,
    contact_as_urn: bool,
    sequence: Option<i32>,
    comments: Vec<String>,
    recurrence_id: Option<RecurrenceId>,
    crlf: bool,
    bom: bool,
}

fn id_text(at: DateTime) -> String {
    local_text(at)
}

impl ReplyText {
    fn write(&self) -> String {
        let mut out = String::new();
        out.push_str("BEGIN:VCALENDAR\r\n");
        push_line(&mut out, Property::new("VERSION", "2.0"));
        push_line(&mut out, Property::new("PRODID", "-//Client//EN"));
        push_line(&mut out, Property::new("METHOD", "REPLY"));
        out.push_str("BEGIN:VEVENT\r\n");
        push_line(&mut out, Property::new("UID", &self.uid));
        let value = match (&self.email, &self.contact) {
            (Some(email), _) => format!("MAILTO:{email}"),
            (None, Some(contact)) if self.contact_as_urn => format!("urn:liaison:{}", contact.replacen('/', ":", 1)),
            _ => "https://example.org/someone".to_owned(),
        };
        let mut attendee = Property::new("ATTENDEE", &value);
        let partstat =
            if self.partstat_case { self.partstat.as_str().to_lowercase() } else { self.partstat.as_str().to_owned() };
        attendee.add_parameter("PARTSTAT", &partstat);
        attendee.add_parameter("CN", "Some, One");
        if let Some(contact) = &self.contact {
            attendee.add_parameter(CONTACT_PARAM, contact);
        }
        push_line(&mut out, attendee);
        if let Some(n) = self.sequence {
            push_line(&mut out, Property::new("SEQUENCE", n.to_string()));
        }
        for comment in &self.comments {
            push_line(&mut out, Property::new("COMMENT", comment));
        }
        match &self.recurrence_id {
            None => {}
            Some(RecurrenceId::Zoned { local, tzid }) => {
                let mut id = Property::new("RECURRENCE-ID", id_text(*local));
                id.add_parameter("TZID", tzid);
                push_line(&mut out, id);
            }
            Some(RecurrenceId::Utc(t)) => push_line(&mut out, Property::new("RECURRENCE-ID", utc_text(*t))),
            Some(RecurrenceId::Floating(local)) => push_line(&mut out, Property::new("RECURRENCE-ID", id_text(*local))),
            Some(RecurrenceId::Date(d)) => {
                let mut id = Property::new("RECURRENCE-ID", format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()));
                id.add_parameter("VALUE", "DATE");
                push_line(&mut out, id);
            }
        }
        out.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
        let out = if self.crlf { out } else { out.replace("\r\n", "\n") };
        if self.bom { format!("\u{feff}{out}") } else { out }
    }

    fn expected(&self) -> Reply {
        Reply {
            uid: self.uid.trim().to_owned(),
            recurrence_id: self.recurrence_id.clone(),
            sequence: self.sequence.unwrap_or(0),
            attendee_email: self.email.clone(),
            attendee_contact: self.contact.clone(),
            partstat: self.partstat,
            comment: self.comments.join("\n"),
        }
    }
}

fn replies() -> impl Strategy<Value = ReplyText> {
    let local = (1900..=2100i16, 1..=12i8, 1..=28i8, 0..24i8, 0..60i8, 0..60i8)
        .prop_map(|(y, mo, d, h, mi, s)| jiff::civil::date(y, mo, d).at(h, mi, s, 0));
    let recurrence_id = proptest::option::of(prop_oneof![
        (local.clone(), proptest::sample::select(ZONES))
            .prop_map(|(local, tzid)| RecurrenceId::Zoned { local, tzid: tzid.to_owned() }),
        local.clone().prop_map(|l| RecurrenceId::Utc(Offset::UTC.to_timestamp(l).unwrap())),
        local.clone().prop_map(RecurrenceId::Floating),
        local.prop_map(|l| RecurrenceId::Date(l.date())),
    ]);
    (
        // Trimmed and not empty, as the reader keeps a UID.
        carried(120)
            .prop_map(|u| u.replace(['\n', '\t'], " ").trim().to_owned())
            .prop_filter("a UID", |u| !u.is_empty()),
        proptest::sample::select(vec![
            PartStat::NeedsAction,
            PartStat::Accepted,
            PartStat::Declined,
            PartStat::Tentative,
        ]),
        any::<bool>(),
        proptest::option::of("[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,4}"),
        proptest::option::of("contacts/[A-Za-z0-9._~-]{1,20}"),
        any::<bool>(),
        proptest::option::of(0..=i32::MAX),
        proptest::collection::vec(carried(150), 0..3),
        recurrence_id,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter("an attendee named by email or contact", |(_, _, _, email, contact, ..)| {
            email.is_some() || contact.is_some()
        })
        .prop_map(
            |(
                uid,
                partstat,
                partstat_case,
                email,
                contact,
                contact_as_urn,
                sequence,
                comments,
                recurrence_id,
                crlf,
                bom,
            )| {
                ReplyText {
                    uid,
                    partstat,
                    partstat_case,
                    email,
                    contact,
                    contact_as_urn,
                    sequence,
                    comments,
                    recurrence_id,
                    crlf,
                    bom,
                }
            },
        )
}

/// iCalendar-ish text: lines of the properties a reply has, with broken parameters, nesting and folding.
fn reply_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        proptest::sample::select(
            &[
                "BEGIN:VCALENDAR",
                "END:VCALENDAR",
                "BEGIN:VEVENT",
                "END:VEVENT",
                "BEGIN:VALARM",
                "END:VALARM",
                "BEGIN:",
                "END:X",
                "METHOD:REPLY",
                "METHOD:REQUEST",
                "UID:",
                "UID:u1",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.example",
                "ATTENDEE;PARTSTAT=\"DECLINED:mailto:",
                "ATTENDEE;X-LIAISON-CONTACT=contacts/x:urn:liaison:contacts:y",
                "ATTENDEE:urn:liaison:",
                "SEQUENCE:-1",
                "SEQUENCE:99999999999",
                "COMMENT:\\",
                "RECURRENCE-ID;VALUE=DATE:2027",
                "RECURRENCE-ID;TZID=:20270405T090000",
                "RECURRENCE-ID:20270405T090000Z",
                "RECURRENCE-ID;TZID=/x:20271301T250000",
                "X;=:",
                ";",
                ":",
                " continued",
                "\tcontinued",
            ][..]
        )
        .prop_map(str::to_owned),
        awkward(30),
        any::<String>(),
    ];
    let end = proptest::sample::select(&["\r\n", "\n", "\r", ""][..]);
    proptest::collection::vec((line, end), 0..40)
        .prop_map(|lines| lines.into_iter().map(|(l, e)| format!("{l}{e}")).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn written_lines_are_at_most_75_octets_end_in_crlf_and_escape_their_text(
        all in proptest::collection::vec(events(), 1..3),
        method in proptest::sample::select(vec![Method::Publish, Method::Request, Method::Cancel]),
    ) {
        let text = render(method, &all);
        prop_assert!(text.ends_with("\r\n"));
        prop_assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "no bare LF");
        prop_assert_eq!(text.matches('\r').count(), text.matches("\r\n").count(), "no bare CR");
        for physical in text.split("\r\n") {
            prop_assert!(physical.len() <= 75, "{} octets: {:?}", physical.len(), physical);
            prop_assert!(!physical.chars().any(|c| c.is_control() && c != '\t'), "{:?}", physical);
        }
        let lines = unfold_lines(&text);
        for line in &lines {
            prop_assert!(content_line(0, line).is_some(), "not a content line: {:?}", line);
        }
        // Each TEXT value is escaped, and unescapes to the text (as iCalendar can carry it).
        for (name, originals) in [
            ("SUMMARY", all.iter().map(|e| e.summary.as_str()).collect::<Vec<_>>()),
            ("DESCRIPTION", all.iter().map(|e| e.description.as_str()).filter(|d| !clean_text(d).is_empty()).collect()),
            ("LOCATION", all.iter().map(|e| e.location.as_str()).filter(|l| !clean_text(l).is_empty()).collect()),
        ] {
            let mut found: Vec<String> = Vec::new();
            for value in value_of(&lines, name) {
                found.push(strict_unescape(value).ok_or_else(|| TestCaseError::fail(format!("{name} badly escaped: {value:?}")))?);
            }
            let mut wanted: Vec<String> = originals.iter().map(|t| clean_text(t)).collect();
            // Each event's value comes once per VEVENT it has (moved occurrences repeat it).
            for values in [&mut found, &mut wanted] {
                values.sort();
                values.dedup();
            }
            prop_assert_eq!(found, wanted, "{}", name);
        }
        let vevents = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
        let moved: usize = all
            .iter()
            .filter_map(|e| e.recurrence.as_ref())
            .map(|s| s.overrides().iter().filter(|o| !s.exdates().contains(&o.recurrence_id)).count())
            .sum();
        prop_assert_eq!(vevents, all.len() + moved);
        let mut tzids: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("TZID:")).collect();
        let count = tzids.len();
        tzids.sort_unstable();
        tzids.dedup();
        prop_assert_eq!(count, tzids.len(), "one VTIMEZONE per zone");
        prop_assert!(tzids.iter().all(|z| *z != "UTC" && *z != "Etc/UTC"), "UTC is written as …Z");
    }

    #[test]
    fn text_without_control_characters_unfolds_and_unescapes_to_itself(summary in carried(400), location in carried(200)) {
        let mut event = events_fixture();
        event.summary = summary.clone();
        event.location = location.clone();
        let lines = unfold_lines(&render(Method::Publish, &[event]));
        prop_assert_eq!(value_of(&lines, "SUMMARY").into_iter().map(strict_unescape).collect::<Vec<_>>(), vec![Some(summary)]);
        let wanted: Vec<Option<String>> = if location.is_empty() { vec![] } else { vec![Some(location)] };
        prop_assert_eq!(value_of(&lines, "LOCATION").into_iter().map(strict_unescape).collect::<Vec<_>>(), wanted);
    }

    #[test]
    fn attendee_names_and_contacts_read_back_from_their_parameters(attendee in attendees()) {
        let mut event = events_fixture();
        event.attendees = vec![attendee.clone()];
        let lines = unfold_lines(&render(Method::Request, &[event]));
        let parsed: Vec<_> = lines.iter().filter(|l| l.starts_with("ATTENDEE")).filter_map(|l| content_line(0, l)).collect();
        prop_assert_eq!(parsed.len(), 1);
        let name = clean_param(&attendee.address.display_name);
        prop_assert_eq!(parsed[0].param("CN"), (!name.is_empty()).then_some(name.as_str()));
        let contact = clean_param(&attendee.address.contact);
        prop_assert_eq!(parsed[0].param(CONTACT_PARAM), Some(contact.as_str()));
        prop_assert_eq!(parsed[0].param("PARTSTAT"), Some(attendee.partstat.as_str()));
    }

    #[test]
    fn a_written_reply_reads_back_as_its_answer(reply in replies()) {
        let text = reply.write();
        prop_assert_eq!(parse_reply(&text), Ok(reply.expected()), "{}", text);
    }

    #[test]
    fn any_text_is_a_reply_or_refused_without_panicking(text in prop_oneof![any::<String>(), reply_like(), awkward(200)]) {
        if let Err(violations) = parse_reply(&text) {
            prop_assert!(!violations.is_empty() && violations.len() <= MAX_REPLY_VIOLATIONS);
            prop_assert!(violations.iter().all(|v| v.field.starts_with("ics")), "{violations:?}");
        }
    }

    #[test]
    fn a_reply_with_a_line_broken_anywhere_is_read_or_refused_without_panicking(
        reply in replies(),
        at in any::<prop::sample::Index>(),
        insert in prop_oneof![awkward(10), Just("\n".to_owned()), Just("\r\n ".to_owned()), Just(":".to_owned()), Just(";".to_owned()), Just("\"".to_owned())],
        cut in any::<prop::sample::Index>(),
    ) {
        let text = reply.write();
        let mut chars: Vec<char> = text.chars().collect();
        let tail = chars.split_off(at.index(chars.len() + 1));
        chars.extend(insert.chars());
        chars.extend(tail);
        let cut = cut.index(chars.len() + 1);
        let broken: String = chars[..cut].iter().collect();
        let _ = parse_reply(&broken);
        let whole: String = chars.into_iter().collect();
        let _ = parse_reply(&whole);
    }
}

/// A plain single meeting to vary one field of.
fn events_fixture() -> CalendarEvent {
    let start = Timestamp::from_second(1_800_000_000).unwrap();
    CalendarEvent {
        uid: "meetings/x@liaison".into(),
        sequence: 0,
        summary: "S".into(),
        description: String::new(),
        location: String::new(),
        url: String::new(),
        start,
        end: plus(start, SignedDuration::from_hours(1)),
        time_zone: TimeZone::get("Europe/London").unwrap(),
        status: EventStatus::Confirmed,
        organizer: None,
        attendees: Vec::new(),
        recurrence: None,
        stamp: start,
        last_modified: start,
    }
}
