use super::*;
use crate::domain::recurrence::{Override, Rule};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn dt(s: &str) -> DateTime {
    s.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn address(id: &str, email: Option<&str>, name: &str) -> CalendarAddress {
    CalendarAddress { contact: format!("contacts/{id}"), email: email.map(str::to_owned), display_name: name.into() }
}

/// A single meeting starting at `local` in `zone_name`, lasting `minutes`.
fn event(local: &str, zone_name: &str, minutes: i64) -> CalendarEvent {
    let tz = zone(zone_name);
    let start = tz.to_ambiguous_timestamp(dt(local)).compatible().unwrap();
    CalendarEvent {
        uid: "meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison".into(),
        sequence: 2,
        summary: "Quarterly review".into(),
        description: String::new(),
        location: String::new(),
        url: String::new(),
        start,
        end: start.checked_add(SignedDuration::from_mins(minutes)).unwrap(),
        time_zone: tz,
        status: EventStatus::Confirmed,
        organizer: Some(address("org1", Some("Olga@Example.org"), "Olga Organiser")),
        attendees: vec![CalendarAttendee {
            address: address("att1", Some("ann@example.org"), "Ann Attendee"),
            optional: false,
            partstat: PartStat::NeedsAction,
        }],
        recurrence: None,
        stamp: ts("2027-01-01T12:00:00Z"),
        last_modified: ts("2026-12-31T08:30:00Z"),
    }
}

fn series(start: &str, zone_name: &str, minutes: i64, rrule: &str) -> Series {
    let rule = (!rrule.is_empty()).then(|| Rule::parse("rrule", rrule).unwrap());
    Series::new(dt(start), zone(zone_name), SignedDuration::from_mins(minutes), rule).unwrap()
}

fn recurring(series: Series) -> CalendarEvent {
    let mut event = event("2027-03-01T09:00", series.zone().iana_name().unwrap_or("UTC"), 60);
    event.recurrence = Some(series);
    event
}

/// The logical lines of a rendered document (unfolded; CRLF checked).
fn unfolded(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n"), "the document ends with CRLF");
    let mut lines: Vec<String> = Vec::new();
    for physical in text.strip_suffix("\r\n").unwrap().split("\r\n") {
        assert!(!physical.contains(['\r', '\n']), "a bare CR or LF in {physical:?}");
        match physical.strip_prefix(' ') {
            Some(rest) => lines.last_mut().unwrap().push_str(rest),
            None => lines.push(physical.to_owned()),
        }
    }
    lines
}

/// The lines of each component named `kind` (BEGIN and END excluded, sub-components included).
fn blocks(text: &str, kind: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in unfolded(text) {
        if line == format!("BEGIN:{kind}") {
            current = Some(Vec::new());
        } else if line == format!("END:{kind}") {
            blocks.push(current.take().unwrap());
        } else if let Some(block) = current.as_mut() {
            block.push(line);
        }
    }
    blocks
}

fn named<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name};")))
        .map(String::as_str)
        .collect()
}

/// Each observance of the VTIMEZONE of `tzid` as `KIND DTSTART FROM TO NAME`.
fn observances(text: &str, tzid: &str) -> Vec<String> {
    let zones: Vec<Vec<String>> =
        blocks(text, "VTIMEZONE").into_iter().filter(|b| b.first() == Some(&format!("TZID:{tzid}"))).collect();
    assert_eq!(zones.len(), 1, "exactly one VTIMEZONE for {tzid}");
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in &zones[0] {
        if let Some(kind) = line.strip_prefix("BEGIN:") {
            current = vec![kind.to_owned()];
        } else if line.starts_with("END:") {
            out.push(current.join(" "));
        } else if let Some((_, value)) = line.split_once(':') {
            current.push(value.to_owned());
        }
    }
    out
}

// Rendering: the envelope, escaping and folding.

#[test]
fn the_calendar_carries_version_prodid_calscale_and_method_with_crlf_lines() {
    let text = render(Method::Request, &[event("2027-06-01T10:00", "Europe/Berlin", 60)]);
    let lines = unfolded(&text);
    assert_eq!(
        lines[..5],
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Liaison//Scheduling//EN", "CALSCALE:GREGORIAN", "METHOD:REQUEST"]
    );
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "every line ends with CRLF");
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    for (name, value) in [
        ("UID", "meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison"),
        ("SEQUENCE", "2"),
        ("DTSTAMP", "20270101T120000Z"),
        ("LAST-MODIFIED", "20261231T083000Z"),
        ("SUMMARY", "Quarterly review"),
        ("STATUS", "CONFIRMED"),
    ] {
        assert_eq!(named(&vevent, name), [format!("{name}:{value}")], "{name}");
    }
    for absent in ["DESCRIPTION", "LOCATION", "URL", "RRULE", "EXDATE", "RECURRENCE-ID"] {
        assert!(named(&vevent, absent).is_empty(), "{absent} is left out when empty");
    }
}

#[test]
fn text_values_are_escaped_and_line_breaks_normalised() {
    let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
    e.summary = "Budget; Q3, draft \\ final".into();
    e.description = "Line one\r\nLine two\rLine three\nTab\there\u{7}bell".into();
    e.location = "Room 4, Floor 2".into();
    e.url = "https://meet.example.org/abc?x=1;y=2".into();
    let text = render(Method::Request, &[e]);
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&vevent, "SUMMARY"), [r"SUMMARY:Budget\; Q3\, draft \\ final"]);
    assert_eq!(named(&vevent, "DESCRIPTION"), ["DESCRIPTION:Line one\\nLine two\\nLine three\\nTab\therebell"]);
    assert_eq!(named(&vevent, "LOCATION"), [r"LOCATION:Room 4\, Floor 2"]);
    assert_eq!(named(&vevent, "URL"), ["URL:https://meet.example.org/abc?x=1;y=2"], "a URI is not TEXT-escaped");
}

#[test]
fn long_lines_fold_at_75_octets_without_splitting_a_character() {
    let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
    // "SUMMARY:" is 8 octets; 66 ASCII letters bring the line to 74, so the 3-octet "€" straddles octet 75.
    let summary =
        format!("{}€ and then a long tail: ünïcödé, 日本語の会議, emoji 🎉🎉🎉 {}", "a".repeat(66), "z".repeat(90));
    e.summary = summary.clone();
    let text = render(Method::Request, &[e]);
    for physical in text.split("\r\n") {
        assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
    }
    let summary_start = text.find("SUMMARY:").unwrap();
    let first = text[summary_start..].split("\r\n").next().unwrap();
    assert_eq!(first, format!("SUMMARY:{}", "a".repeat(66)), "the line breaks before the 3-octet character");
    assert!(text[summary_start..].starts_with(&format!("{first}\r\n €")), "which starts the continuation line");
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&vevent, "SUMMARY"), [format!("SUMMARY:{summary}").replace(',', "\\,")]);
}

#[test]
fn a_line_is_folded_into_75_octets_then_a_space_and_74() {
    let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
    e.summary = "x".repeat(150 - "SUMMARY:".len());
    let text = render(Method::Request, &[e]);
    let start = text.find("SUMMARY:").unwrap();
    let physical: Vec<usize> = text[start..].split("\r\n").take(3).map(str::len).collect();
    assert_eq!(physical, [75, 75, 2], "75 octets, then a space and 74, then a space and the last one");
}

#[test]
fn arbitrary_text_always_renders_well_formed_lines() {
    let mut random = Random(0x5eed);
    let alphabet: Vec<char> = "aZ09 ;:,\"\\\r\n\t\u{0}\u{7f}\u{85}éü€日🎉^'=".chars().collect();
    for _ in 0..300 {
        let mut text = || (0..random.below(200)).map(|_| alphabet[random.below(alphabet.len())]).collect::<String>();
        let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
        e.summary = text();
        e.description = text();
        e.location = text();
        e.uid = text();
        e.url = text();
        e.organizer = Some(address(&text(), Some(&text()), &text()));
        e.attendees[0].address.display_name = text();
        let rendered = render(Method::Request, std::slice::from_ref(&e));
        for physical in rendered.strip_suffix("\r\n").unwrap().split("\r\n") {
            assert!(physical.len() <= 75 && !physical.contains(['\r', '\n']), "{physical:?}");
            assert!(!physical.chars().any(|c| c.is_control() && c != '\t'), "{physical:?}");
        }
        for line in unfolded(&rendered) {
            let parsed = content_line(0, &line);
            assert!(parsed.is_some(), "not a content line: {line:?}");
            let parsed = parsed.unwrap();
            if parsed.name == "SUMMARY" {
                assert_eq!(unescape(&parsed.value), clean_text(&e.summary), "SUMMARY round-trips");
            }
            if parsed.name == "ATTENDEE" {
                assert_eq!(parsed.param("CN").unwrap_or(""), clean_param(&e.attendees[0].address.display_name));
            }
        }
    }
}

// Rendering: zones.

#[test]
fn europe_berlin_gets_a_vtimezone_with_its_transitions_from_a_year_before() {
    let text = render(Method::Request, &[event("2027-06-01T10:00", "Europe/Berlin", 60)]);
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&vevent, "DTSTART"), ["DTSTART;TZID=Europe/Berlin:20270601T100000"]);
    assert_eq!(named(&vevent, "DTEND"), ["DTEND;TZID=Europe/Berlin:20270601T110000"]);
    assert_eq!(
        observances(&text, "Europe/Berlin"),
        [
            "DAYLIGHT 20260329T020000 +0100 +0200 CEST",
            "STANDARD 20261025T030000 +0200 +0100 CET",
            "DAYLIGHT 20270328T020000 +0100 +0200 CEST",
        ]
    );
}

#[test]
fn america_new_york_gets_its_transitions_with_their_offsets() {
    let text = render(Method::Request, &[event("2027-01-15T10:00", "America/New_York", 30)]);
    assert_eq!(
        observances(&text, "America/New_York"),
        [
            "STANDARD 20251102T020000 -0400 -0500 EST",
            "DAYLIGHT 20260308T020000 -0500 -0400 EDT",
            "STANDARD 20261101T020000 -0400 -0500 EST",
        ]
    );
}

#[test]
fn australia_sydney_has_daylight_time_in_the_southern_summer() {
    // 2027-04-04 is the day Sydney leaves daylight time (03:00 AEDT becomes 02:00 AEST); 10:00 is after it.
    let text = render(Method::Request, &[event("2027-04-04T10:00", "Australia/Sydney", 90)]);
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&vevent, "DTSTART"), ["DTSTART;TZID=Australia/Sydney:20270404T100000"]);
    assert_eq!(
        observances(&text, "Australia/Sydney"),
        [
            "DAYLIGHT 20251005T020000 +1000 +1100 AEDT",
            "STANDARD 20260405T030000 +1100 +1000 AEST",
            "DAYLIGHT 20261004T020000 +1000 +1100 AEDT",
            "STANDARD 20270404T030000 +1100 +1000 AEST",
        ]
    );
}

#[test]
fn a_utc_meeting_is_written_in_utc_without_a_vtimezone() {
    for name in ["UTC", "Etc/UTC"] {
        let text = render(Method::Request, &[event("2027-06-01T10:00", name, 60)]);
        assert!(blocks(&text, "VTIMEZONE").is_empty(), "{name}");
        assert!(!text.contains("TZID"), "{name}");
        let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
        assert_eq!(named(&vevent, "DTSTART"), ["DTSTART:20270601T100000Z"]);
        assert_eq!(named(&vevent, "DTEND"), ["DTEND:20270601T110000Z"]);
    }
    let mut fixed = event("2027-06-01T10:00", "UTC", 60);
    fixed.time_zone = TimeZone::fixed(jiff::tz::offset(5));
    let text = render(Method::Request, &[fixed]);
    assert!(blocks(&text, "VTIMEZONE").is_empty(), "a bare offset has no name: written in UTC");
    assert_eq!(named(&blocks(&text, "VEVENT")[0], "DTSTART"), ["DTSTART:20270601T100000Z"]);
}

#[test]
fn a_zone_without_transitions_gets_one_standard_observance() {
    // Etc/GMT-10 is UTC+10 all year round.
    let text = render(Method::Request, &[event("2027-06-01T10:00", "Etc/GMT-10", 60)]);
    assert_eq!(observances(&text, "Etc/GMT-10"), ["STANDARD 20260531T100000 +1000 +1000 +10"]);
    assert_eq!(named(&blocks(&text, "VEVENT")[0], "DTSTART"), ["DTSTART;TZID=Etc/GMT-10:20270601T100000"]);
}

#[test]
fn each_zone_gets_one_vtimezone_covering_all_its_events() {
    let events = [
        event("2027-06-01T10:00", "Europe/Berlin", 60),
        event("2027-01-15T10:00", "America/New_York", 30),
        event("2028-12-01T10:00", "Europe/Berlin", 60),
    ];
    let text = render(Method::Publish, &events);
    let tzids: Vec<String> = blocks(&text, "VTIMEZONE").into_iter().map(|b| b[0].clone()).collect();
    assert_eq!(tzids, ["TZID:America/New_York", "TZID:Europe/Berlin"]);
    let berlin = observances(&text, "Europe/Berlin");
    assert_eq!(berlin.first().map(String::as_str), Some("DAYLIGHT 20260329T020000 +0100 +0200 CEST"));
    assert_eq!(berlin.last().map(String::as_str), Some("STANDARD 20281029T030000 +0200 +0100 CET"));
    assert_eq!(berlin.len(), 6, "2026 to 2028, two a year: {berlin:?}");
    assert_eq!(blocks(&text, "VEVENT").len(), 3);
}

#[test]
fn a_series_vtimezone_reaches_its_last_occurrence_or_years_ahead_when_open_ended() {
    let counted = recurring(series("2027-03-01T09:00", "Europe/Berlin", 60, "FREQ=MONTHLY;COUNT=12"));
    let last = observances(&render(Method::Request, &[counted]), "Europe/Berlin");
    // The 12th occurrence is on 2028-02-01: the 2027-10-31 transition is needed, the 2028-03-26 one is not.
    assert_eq!(last.last().map(String::as_str), Some("STANDARD 20271031T030000 +0200 +0100 CET"));
    let open = recurring(series("2027-03-01T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY"));
    let text = render(Method::Request, &[open]);
    let all = observances(&text, "Europe/Berlin");
    assert!(all.iter().any(|o| o.contains("20311026T030000")), "five years ahead: {all:?}");
    assert!(!all.iter().any(|o| o.contains(" 2033")), "but not without end: {all:?}");
}

// Rendering: people, methods and series.

#[test]
fn organizer_and_attendees_carry_name_role_partstat_rsvp_and_contact() {
    let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
    e.attendees = vec![
        CalendarAttendee {
            address: address("a1", Some("jane@example.org"), "Doe, \"Jane\""),
            optional: false,
            partstat: PartStat::NeedsAction,
        },
        CalendarAttendee { address: address("a2", None, "Bo"), optional: true, partstat: PartStat::Accepted },
        CalendarAttendee { address: address("a3", Some(" "), ""), optional: false, partstat: PartStat::Declined },
    ];
    let text = render(Method::Request, &[e]);
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(
        named(&vevent, "ORGANIZER"),
        ["ORGANIZER;CN=Olga Organiser;X-LIAISON-CONTACT=contacts/org1:mailto:Olga@Example.org"]
    );
    assert_eq!(
        named(&vevent, "ATTENDEE"),
        [
            "ATTENDEE;CN=\"Doe, 'Jane'\";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE;\
             X-LIAISON-CONTACT=contacts/a1:mailto:jane@example.org",
            "ATTENDEE;CN=Bo;PARTSTAT=ACCEPTED;ROLE=OPT-PARTICIPANT;X-LIAISON-CONTACT=contacts/a2:\
             urn:liaison:contacts:a2",
            "ATTENDEE;PARTSTAT=DECLINED;ROLE=REQ-PARTICIPANT;X-LIAISON-CONTACT=contacts/a3:urn:liaison:contacts:a3",
        ]
    );
}

#[test]
fn publish_lists_no_attendees() {
    let text = render(Method::Publish, &[event("2027-06-01T10:00", "Europe/Berlin", 60)]);
    let [vevent] = blocks(&text, "VEVENT").try_into().unwrap();
    assert!(text.contains("\r\nMETHOD:PUBLISH\r\n"));
    assert!(named(&vevent, "ATTENDEE").is_empty(), "RFC 5546 §3.2.1");
    assert_eq!(named(&vevent, "ORGANIZER").len(), 1);
}

fn weekly_berlin() -> Series {
    series("2027-03-01T09:00", "Europe/Berlin", 60, "FREQ=WEEKLY;BYDAY=MO")
        .cancel_occurrence(dt("2027-11-01T09:00"))
        .unwrap()
        .with_override(Override {
            recurrence_id: dt("2027-04-05T09:00"),
            start: ts("2027-04-06T12:00:00Z"),
            end: ts("2027-04-06T13:00:00Z"),
        })
        .unwrap()
}

#[test]
fn a_weekly_series_has_rrule_and_exdate_and_each_moved_occurrence_its_own_vevent() {
    let text = render(Method::Request, &[recurring(weekly_berlin())]);
    let [master, moved] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&master, "DTSTART"), ["DTSTART;TZID=Europe/Berlin:20270301T090000"]);
    assert_eq!(named(&master, "DTEND"), ["DTEND;TZID=Europe/Berlin:20270301T100000"]);
    assert_eq!(named(&master, "RRULE"), ["RRULE:FREQ=WEEKLY;BYDAY=MO"]);
    assert_eq!(named(&master, "EXDATE"), ["EXDATE;TZID=Europe/Berlin:20271101T090000"]);
    assert!(named(&master, "RECURRENCE-ID").is_empty());
    assert_eq!(named(&moved, "RECURRENCE-ID"), ["RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000"]);
    assert_eq!(named(&moved, "DTSTART"), ["DTSTART;TZID=Europe/Berlin:20270406T140000"]);
    assert_eq!(named(&moved, "DTEND"), ["DTEND;TZID=Europe/Berlin:20270406T150000"]);
    assert!(named(&moved, "RRULE").is_empty() && named(&moved, "EXDATE").is_empty());
    assert_eq!(named(&master, "UID"), named(&moved, "UID"));
    assert_eq!(named(&moved, "ATTENDEE").len(), 1);
}

#[test]
fn an_until_date_is_exported_in_utc_and_a_utc_series_stays_in_utc() {
    let until = recurring(series("2027-03-01T09:00", "Europe/Berlin", 60, "FREQ=DAILY;UNTIL=20270310"));
    let [master] = blocks(&render(Method::Request, &[until]), "VEVENT").try_into().unwrap();
    assert_eq!(named(&master, "RRULE"), ["RRULE:FREQ=DAILY;UNTIL=20270310T225959Z"]);
    let utc = series("2027-03-01T09:00", "UTC", 30, "FREQ=WEEKLY").cancel_occurrence(dt("2027-03-08T09:00")).unwrap();
    let text = render(Method::Request, &[recurring(utc)]);
    assert!(!text.contains("TZID"));
    let [master] = blocks(&text, "VEVENT").try_into().unwrap();
    assert_eq!(named(&master, "DTSTART"), ["DTSTART:20270301T090000Z"]);
    assert_eq!(named(&master, "EXDATE"), ["EXDATE:20270308T090000Z"]);
}

#[test]
fn cancel_marks_every_vevent_cancelled() {
    let text = render(Method::Cancel, &[recurring(weekly_berlin())]);
    assert!(text.contains("\r\nMETHOD:CANCEL\r\n"));
    let vevents = blocks(&text, "VEVENT");
    assert_eq!(vevents.len(), 2);
    for vevent in &vevents {
        assert_eq!(named(vevent, "STATUS"), ["STATUS:CANCELLED"]);
        assert_eq!(named(vevent, "SEQUENCE"), ["SEQUENCE:2"]);
        assert_eq!(named(vevent, "ATTENDEE").len(), 1, "a cancellation tells its attendees");
    }
    let mut e = event("2027-06-01T10:00", "Europe/Berlin", 60);
    e.status = EventStatus::Tentative;
    let text = render(Method::Request, &[e]);
    assert_eq!(named(&blocks(&text, "VEVENT")[0], "STATUS"), ["STATUS:TENTATIVE"]);
}

// The independent oracle: Python's icalendar and recurring-ical-events.

/// Runs `tests/ics_oracle.py` on `ics` for `[from, to)`; `None` (after a note) when Python or its modules are
/// missing outside CI.
fn oracle(ics: &str, from: Timestamp, to: Timestamp) -> Option<Vec<String>> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ics_oracle.py");
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = |why: String| {
        assert!(
            !in_ci,
            "the iCalendar oracle cannot run with CI=true: {why}. Install it with \
             `python3 -m pip install icalendar recurring-ical-events`"
        );
        eprintln!("note: skipping the iCalendar oracle: {why}");
        None
    };
    let child = Command::new("python3")
        .arg(script)
        .arg(from.to_string())
        .arg(to.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return missing(format!("python3 cannot be started ({e})")),
    };
    let mut stdin = child.stdin.take().unwrap();
    let text = ics.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().unwrap();
    // A script that exits early (modules missing) closes its input: its exit status tells, not the write.
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Some(String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect()),
        Some(77) => missing(stderr.trim().to_owned()),
        _ => panic!("the iCalendar oracle failed ({}):\n{stderr}\n{ics}", output.status),
    }
}

fn expected(series: &Series, from: Timestamp, to: Timestamp) -> Vec<String> {
    let mut lines: Vec<String> =
        series.occurrences(from, to).iter().map(|o| format!("{}/{}", o.start, o.end)).collect();
    lines.sort();
    lines
}

#[test]
fn python_icalendar_expands_the_rendered_documents_like_series_occurrences() {
    let (from, to) = (ts("2027-01-01T00:00:00Z"), ts("2028-01-01T00:00:00Z"));
    // (a) weekly at 09:00 Berlin through both 2027 transitions, one cancelled and one moved occurrence;
    let berlin = weekly_berlin();
    // (b) daily at 08:30 New York through both 2027 transitions, until a date;
    let new_york = series("2027-03-01T08:30", "America/New_York", 45, "FREQ=DAILY;UNTIL=20271120");
    // (c) once in Sydney, the morning its daylight time ends.
    let sydney = series("2027-04-04T10:00", "Australia/Sydney", 90, "");
    let single = event("2027-04-04T10:00", "Australia/Sydney", 90);
    assert_eq!(
        sydney.occurrences(from, to).iter().map(|o| (o.start, o.end)).collect::<Vec<_>>(),
        [(single.start, single.end)]
    );
    let mut all_expected = Vec::new();
    let mut all_events = Vec::new();
    for (series, mut event, uid) in [
        (&berlin, recurring(berlin.clone()), "berlin"),
        (&new_york, recurring(new_york.clone()), "new-york"),
        (&sydney, single, "sydney"),
    ] {
        // One UID each: VEVENTs sharing a UID are one series (and its moved occurrences).
        event.uid = format!("meetings/{uid}@liaison");
        let want = expected(series, from, to);
        assert!(want.len() > 1 || series.rule().is_none());
        let ics = render(Method::Request, std::slice::from_ref(&event));
        let Some(got) = oracle(&ics, from, to) else { return };
        assert_eq!(got, want, "{ics}");
        all_expected.extend(want);
        all_events.push(event);
    }
    assert!(all_expected.contains(&"2027-04-06T12:00:00Z/2027-04-06T13:00:00Z".to_owned()), "the moved one");
    assert!(!all_expected.iter().any(|o| o.starts_with("2027-11-01T08:00")), "the cancelled one");
    assert!(all_expected.contains(&"2027-03-29T07:00:00Z/2027-03-29T08:00:00Z".to_owned()), "09:00 CEST");
    assert!(all_expected.contains(&"2027-11-08T08:00:00Z/2027-11-08T09:00:00Z".to_owned()), "09:00 CET");
    all_expected.sort();
    let ics = render(Method::Publish, &all_events);
    assert_eq!(oracle(&ics, from, to), Some(all_expected), "all three in one document");
}

// Reading a REPLY.

const REPLY: &str = "BEGIN:VCALENDAR\n\
VERSION:2.0\n\
PRODID:-//Example Corp.//CalDAV Client//EN\n\
METHOD:REPLY\n\
BEGIN:VTIMEZONE\n\
TZID:Europe/Berlin\n\
BEGIN:STANDARD\n\
DTSTART:19701025T030000\n\
TZOFFSETFROM:+0200\n\
TZOFFSETTO:+0100\n\
END:STANDARD\n\
END:VTIMEZONE\n\
BEGIN:VEVENT\n\
UID:meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison\n\
RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000\n\
SEQUENCE:3\n\
DTSTAMP:20270402T101500Z\n\
ATTENDEE;PARTSTAT=accepted;CN=\"Doe, Jane\";X-LIAISON-CONTACT=contacts/a1:MAILTO:\n \
Jane.Doe@Example.ORG\n\
COMMENT:Happy to\\, see you\\; bring\\nthe slides\n\
BEGIN:VALARM\n\
ACTION:DISPLAY\n\
COMMENT:not the reply's\n\
END:VALARM\n\
END:VEVENT\n\
END:VCALENDAR\n";

#[test]
fn a_reply_is_read_with_lf_or_crlf_line_ends_and_folded_lines() {
    let want = Reply {
        uid: "meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison".into(),
        recurrence_id: Some(RecurrenceId::Zoned { local: dt("2027-04-05T09:00"), tzid: "Europe/Berlin".into() }),
        sequence: 3,
        attendee_email: Some("jane.doe@example.org".into()),
        attendee_contact: Some("contacts/a1".into()),
        partstat: PartStat::Accepted,
        comment: "Happy to, see you; bring\nthe slides".into(),
    };
    assert_eq!(parse_reply(REPLY), Ok(want.clone()));
    assert_eq!(parse_reply(&REPLY.replace('\n', "\r\n")), Ok(want.clone()));
    assert_eq!(parse_reply(&format!("\u{feff}{REPLY}")), Ok(want), "with a byte order mark");
}

#[test]
fn a_reply_names_its_attendee_by_urn_or_by_the_contact_parameter() {
    let urn = REPLY.replace(
        "ATTENDEE;PARTSTAT=accepted;CN=\"Doe, Jane\";X-LIAISON-CONTACT=contacts/a1:MAILTO:\n Jane.Doe@Example.ORG",
        "ATTENDEE;PARTSTAT=DECLINED:urn:liaison:contacts:a2",
    );
    let reply = parse_reply(&urn).unwrap();
    assert_eq!(
        (reply.attendee_email, reply.attendee_contact, reply.partstat),
        (None, Some("contacts/a2".into()), PartStat::Declined)
    );
    let param = REPLY.replace(":MAILTO:\n Jane.Doe@Example.ORG", ":https://example.org/people/jane");
    let reply = parse_reply(&param).unwrap();
    assert_eq!((reply.attendee_email, reply.attendee_contact), (None, Some("contacts/a1".into())));
}

#[test]
fn a_reply_without_optional_parts_has_defaults() {
    let bare = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u1\r\n\
                ATTENDEE;PARTSTAT=TENTATIVE:mailto:a@b.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_eq!(
        parse_reply(bare),
        Ok(Reply {
            uid: "u1".into(),
            recurrence_id: None,
            sequence: 0,
            attendee_email: Some("a@b.example".into()),
            attendee_contact: None,
            partstat: PartStat::Tentative,
            comment: String::new(),
        })
    );
}

#[test]
fn a_recurrence_id_maps_to_the_series_local_start() {
    let berlin = zone("Europe/Berlin");
    let id = |line: &str| {
        let text = REPLY.replace("RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000", line);
        parse_reply(&text).unwrap().recurrence_id.unwrap()
    };
    let cases = [
        ("RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000", Some("2027-04-05T09:00")),
        ("RECURRENCE-ID:20270405T070000Z", Some("2027-04-05T09:00")),
        ("RECURRENCE-ID;TZID=America/New_York:20270405T030000", Some("2027-04-05T09:00")),
        ("RECURRENCE-ID;TZID=/Europe/Berlin:20270405T090000", Some("2027-04-05T09:00")),
        ("RECURRENCE-ID:20270405T090000", Some("2027-04-05T09:00")),
        ("RECURRENCE-ID;TZID=W. Europe Standard Time:20270405T090000", None),
        ("RECURRENCE-ID;VALUE=DATE:20270405", None),
    ];
    for (line, want) in cases {
        assert_eq!(id(line).local_in(&berlin), want.map(dt), "{line}");
    }
    assert_eq!(id("RECURRENCE-ID;VALUE=DATE:20270405"), RecurrenceId::Date(jiff::civil::date(2027, 4, 5)));
}

/// The fields named when `REPLY` has `from` replaced by `to`.
fn fields_when(from: &str, to: &str) -> Vec<String> {
    assert!(REPLY.contains(from), "{from}");
    let text = REPLY.replace(from, to);
    parse_reply(&text).expect_err(&text).into_iter().map(|v| v.field).collect()
}

#[test]
fn each_bad_reply_names_its_field() {
    let attendee =
        "ATTENDEE;PARTSTAT=accepted;CN=\"Doe, Jane\";X-LIAISON-CONTACT=contacts/a1:MAILTO:\n Jane.Doe@Example.ORG";
    let cases: &[(&str, &str, &str)] = &[
        ("METHOD:REPLY", "METHOD:REQUEST", "ics.METHOD"),
        ("METHOD:REPLY\n", "", "ics.METHOD"),
        ("METHOD:REPLY", "METHOD:REPLY\nMETHOD:REPLY", "ics.METHOD"),
        ("UID:meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison\n", "", "ics.UID"),
        ("UID:meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison", "UID: ", "ics.UID"),
        ("SEQUENCE:3", "SEQUENCE:-1", "ics.SEQUENCE"),
        ("SEQUENCE:3", "SEQUENCE:three", "ics.SEQUENCE"),
        ("20270405T090000", "2027-04-05T09:00", "ics.RECURRENCE-ID"),
        (
            "RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000",
            "RECURRENCE-ID;TZID=Europe/Berlin:20270405T090000Z",
            "ics.RECURRENCE-ID",
        ),
        ("20270405T090000", "20270231T090000", "ics.RECURRENCE-ID"),
        ("PARTSTAT=accepted", "PARTSTAT=DELEGATED", "ics.ATTENDEE.PARTSTAT"),
        ("PARTSTAT=accepted;", "", "ics.ATTENDEE.PARTSTAT"),
        ("MAILTO:\n Jane.Doe@Example.ORG", "mailto:not-an-address", "ics.ATTENDEE"),
        ("X-LIAISON-CONTACT=contacts/a1", "X-LIAISON-CONTACT=organizations/a1", "ics.ATTENDEE"),
        (attendee, "ATTENDEE;PARTSTAT=ACCEPTED:https://example.org/jane", "ics.ATTENDEE"),
        (attendee, "ATTENDEE;PARTSTAT=ACCEPTED;X-LIAISON-CONTACT=contacts/a1:urn:liaison:contacts:a2", "ics.ATTENDEE"),
        (attendee, "ATTENDEE;PARTSTAT=ACCEPTED:urn:liaison:contacts:", "ics.ATTENDEE"),
        (attendee, "", "ics.ATTENDEE"),
        (attendee, &format!("{attendee}\nATTENDEE;PARTSTAT=DECLINED:mailto:x@y.example"), "ics.ATTENDEE"),
        ("COMMENT:Happy", &format!("COMMENT:{}", "x".repeat(COMMENT_MAX + 1)), "ics.COMMENT"),
        ("END:VEVENT\n", "END:VEVENT\nBEGIN:VEVENT\nUID:2\nEND:VEVENT\n", "ics.VEVENT"),
        ("BEGIN:VEVENT", "BEGIN:VTODO", "ics"),
        ("END:VEVENT\n", "", "ics"),
        ("SEQUENCE:3", "SEQUENCE 3", "ics"),
    ];
    for (from, to, field) in cases {
        let fields = fields_when(from, to);
        assert!(fields.iter().any(|f| f == field), "{to:?} should name {field}, named {fields:?}");
    }
    // A reply that is not iCalendar at all, or has no VEVENT, is one problem, not a list of consequences.
    for (text, field) in [("", "ics"), ("hello", "ics"), ("BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR", "ics.VEVENT")]
    {
        let fields: Vec<String> = parse_reply(text).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields.last().map(String::as_str), Some(field), "{text:?}: {fields:?}");
    }
}

#[test]
fn every_problem_of_a_reply_is_named_at_once() {
    let text = REPLY
        .replace("METHOD:REPLY", "METHOD:PUBLISH")
        .replace("UID:meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison\n", "")
        .replace("SEQUENCE:3", "SEQUENCE:x")
        .replace("PARTSTAT=accepted", "PARTSTAT=MAYBE");
    let fields: Vec<String> = parse_reply(&text).unwrap_err().into_iter().map(|v| v.field).collect();
    assert_eq!(fields, ["ics.METHOD", "ics.UID", "ics.ATTENDEE.PARTSTAT", "ics.SEQUENCE"]);
}

#[test]
fn an_oversized_reply_is_refused_before_it_is_read() {
    let text = format!("{REPLY}{}", " ".repeat(MAX_REPLY_BYTES));
    let violations = parse_reply(&text).unwrap_err();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "ics");
    assert!(violations[0].description.contains("262144"), "{}", violations[0].description);
    assert!(parse_reply(&format!("{REPLY}{}", "\n".repeat(MAX_REPLY_BYTES - REPLY.len()))).is_ok(), "at the limit");
}

#[test]
fn many_problems_are_capped_with_a_count_of_the_rest() {
    let text = format!("{}{REPLY}", "garbage\n".repeat(50));
    let violations = parse_reply(&text).unwrap_err();
    assert_eq!(violations.len(), MAX_REPLY_VIOLATIONS);
    assert_eq!(violations.last().unwrap().description, "and 31 more problems");
}

#[test]
fn a_rendered_request_answered_by_a_client_reads_back() {
    let text = render(Method::Request, &[recurring(weekly_berlin())]);
    // What a client does: the same event, METHOD:REPLY, only its own attendee line with its answer.
    let mut lines: Vec<String> = unfolded(&text)
        .into_iter()
        .map(|l| l.replace("METHOD:REQUEST", "METHOD:REPLY").replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=TENTATIVE"))
        .collect();
    // Only the moved occurrence is answered: the master (the first VEVENT) goes.
    let start = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    let end = lines.iter().position(|l| l == "END:VEVENT").unwrap();
    lines.drain(start..=end);
    assert_eq!(lines[lines.len() - 2..], ["END:VEVENT", "END:VCALENDAR"]);
    lines.insert(lines.len() - 2, "COMMENT:Maybe".into());
    let reply = parse_reply(&lines.join("\r\n")).unwrap();
    assert_eq!(reply.uid, "meetings/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@liaison");
    assert_eq!(reply.partstat, PartStat::Tentative);
    assert_eq!(reply.sequence, 2);
    assert_eq!(reply.comment, "Maybe");
    assert_eq!(reply.attendee_email.as_deref(), Some("ann@example.org"));
    assert_eq!(reply.attendee_contact.as_deref(), Some("contacts/att1"));
    let series = weekly_berlin();
    let id = reply.recurrence_id.unwrap().local_in(series.zone()).unwrap();
    assert_eq!(id, dt("2027-04-05T09:00"));
    assert!(series.is_occurrence(id));
}

/// xorshift64*: deterministic noise for the garbage tests.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn garbage_never_panics_and_a_cut_reply_is_refused() {
    let mut random = Random(0x1ca1_e0da);
    // Every prefix: each one short of END:VCALENDAR leaves a component open.
    let closed = REPLY.rfind("END:VCALENDAR").unwrap();
    for cut in (0..REPLY.len()).filter(|&i| REPLY.is_char_boundary(i)) {
        let result = parse_reply(&REPLY[..cut]);
        if cut <= closed {
            let violations = result.expect_err(&REPLY[..cut]);
            assert!(!violations.is_empty() && violations.len() <= MAX_REPLY_VIOLATIONS);
        }
    }
    // Random bytes, and the reply with random edits from an alphabet of the syntax's delimiters.
    let alphabet: Vec<char> = ";:,=\"\\\r\n \tAZaz09-éBEGINEND€🎉".chars().collect();
    for _ in 0..3000 {
        let bytes: Vec<u8> = (0..random.below(400)).map(|_| random.next() as u8).collect();
        let _ = parse_reply(&String::from_utf8_lossy(&bytes));
        let mut text: Vec<char> = REPLY.chars().collect();
        for _ in 0..=random.below(8) {
            let at = random.below(text.len() + 1);
            match random.below(3) {
                0 => text.insert(at, alphabet[random.below(alphabet.len())]),
                1 if at < text.len() => {
                    text.remove(at);
                }
                _ if at < text.len() => text[at] = alphabet[random.below(alphabet.len())],
                _ => {}
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(violations) = parse_reply(&text) {
            assert!(!violations.is_empty() && violations.len() <= MAX_REPLY_VIOLATIONS, "{text}");
        }
    }
}
