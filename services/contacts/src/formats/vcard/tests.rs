//! Reading, writing and the round trip between them.
use super::*;
use crate::domain::transfer::{SourceRecord, check};
use crate::formats::RecordReader;
use liaison_proto::contacts::v1 as wire;

fn read(chunks: &[&[u8]]) -> Vec<SourceRecord> {
    let mut reader = VcardReader::default();
    let mut records = Vec::new();
    for chunk in chunks {
        records.extend(reader.push(chunk).expect("push"));
    }
    records.extend(reader.finish().expect("finish"));
    records
}

fn read_str(text: &str) -> Vec<SourceRecord> {
    read(&[text.as_bytes()])
}

fn fields(record: &SourceRecord) -> Vec<&str> {
    record.violations.iter().map(|v| v.field.as_str()).collect()
}

const V4: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n\
    FN:Zoë Müller\\, PhD\r\nN:Müller;Zoë;;Dr.;PhD\r\n\
    EMAIL;TYPE=home:zoe@home.example\r\nEMAIL;TYPE=work;PREF=1:zoe@work.example\r\n\
    TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+33-6-12-34-56-78\r\nTEL;TYPE=work:+41 44 123 45 67\r\n\
    LANG;PREF=2:en\r\nLANG;PREF=1:fr\r\nTZ:Europe/Zurich\r\nCATEGORIES:water,board\r\n\
    NOTE:Line one\\nLine two\\; with \\\\ backslash\r\nEND:VCARD\r\n";

#[test]
fn a_vcard_4_is_mapped_to_a_contact() {
    let records = read_str(V4);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.line, 1);
    assert!(record.violations.is_empty(), "{:?}", record.violations);
    let c = &record.contact;
    assert_eq!(c.display_name, "Zoë Müller, PhD");
    assert_eq!((c.family_name.as_str(), c.given_name.as_str()), ("Müller", "Zoë"));
    assert_eq!(c.uid, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1");
    assert_eq!(c.emails[1].address, "zoe@work.example");
    assert!(c.emails[1].primary && !c.emails[0].primary);
    assert_eq!(c.emails[0].r#type, wire::ChannelType::Home as i32);
    assert_eq!(c.phones[0].number, "+33-6-12-34-56-78");
    assert_eq!(c.phones[0].r#type, wire::ChannelType::Mobile as i32);
    assert_eq!(c.phones[1].number, "+41 44 123 45 67");
    assert_eq!(c.languages, ["fr", "en"]);
    assert_eq!(c.time_zone, "Europe/Zurich");
    assert_eq!(c.labels, ["water", "board"]);
    assert_eq!(c.notes, "Line one\nLine two; with \\ backslash");
    let valid = check(record.clone()).expect("valid");
    assert_eq!(valid.fields.phones.primary(), Some("+33612345678"));
}

#[test]
fn a_vcard_3_with_groups_repeated_types_and_type_pref_is_read() {
    let text = "BEGIN:VCARD\nVERSION:3.0\nN:Okafor;Chidi;;;\nFN:Chidi Okafor\n\
        item1.EMAIL;TYPE=INTERNET;TYPE=WORK:chidi@work.example\nitem1.X-ABLabel:_$!<Work>!$_\n\
        EMAIL;TYPE=INTERNET,HOME,pref:chidi@home.example\nTEL;TYPE=WORK;TYPE=VOICE:+234 1 234 5678\n\
        TEL;TYPE=CELL:+234 80 1234 5678\nTZ:-05:00\nORG:Ministry\nEND:VCARD\n";
    let records = read_str(text);
    let record = &records[0];
    assert!(record.violations.is_empty(), "{:?}", record.violations);
    let c = &record.contact;
    assert_eq!(c.emails[1].address, "chidi@home.example");
    assert!(c.emails[1].primary && !c.emails[0].primary);
    assert_eq!(c.emails[0].r#type, wire::ChannelType::Work as i32);
    assert_eq!(c.phones[0].r#type, wire::ChannelType::Work as i32);
    assert_eq!(c.phones[1].r#type, wire::ChannelType::Mobile as i32);
    assert_eq!(c.time_zone, "");
    assert!(record.warnings.iter().any(|w| w.contains("UTC offset")), "{:?}", record.warnings);
    assert!(record.warnings.iter().any(|w| w.contains("ORG")), "{:?}", record.warnings);
}

#[test]
fn folded_lines_are_unfolded_even_inside_a_utf8_character() {
    // "é" is C3 A9; fold between its two bytes.
    let bytes = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ren\xC3\r\n \xA9e Dup\r\n\tont\r\nEND:VCARD\r\n";
    let records = read(&[bytes]);
    assert_eq!(records[0].contact.display_name, "Renée Dupont");
}

#[test]
fn records_spanning_chunks_read_the_same_at_every_split() {
    let text = format!("{V4}{V4}");
    let whole = read_str(&text);
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[1].line, 16);
    let bytes = text.as_bytes();
    for at in 0..bytes.len() {
        assert_eq!(read(&[&bytes[..at], &bytes[at..]]), whole, "split at {at}");
    }
    let single_bytes: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(read(&single_bytes), whole);
}

#[test]
fn nesting_errors_become_rejected_records_and_the_next_card_is_read() {
    let text = "stray text\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:No End\r\nBEGIN:VCARD\r\nVERSION:4.0\r\n\
        FN:Fine\r\nEND:VCARD\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:Unfinished\r\n";
    let records = read_str(text);
    let summary: Vec<(u32, Vec<&str>, &str)> =
        records.iter().map(|r| (r.line, fields(r), r.contact.display_name.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            (1, vec!["BEGIN"], ""),
            (2, vec!["END"], "No End"),
            (5, vec![], "Fine"),
            (9, vec!["BEGIN"], ""),
            (10, vec!["END"], "Unfinished"),
        ]
    );
}

#[test]
fn quoted_printable_is_rejected_clearly() {
    let text = "BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nNOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9\nEND:VCARD\n";
    let record = &read_str(text)[0];
    assert_eq!(fields(record), ["NOTE"]);
    assert!(record.violations[0].description.contains("quoted-printable"));
    let v21 = "BEGIN:VCARD\nVERSION:2.1\nFN:Ana\nEND:VCARD\n";
    assert_eq!(fields(&read_str(v21)[0]), ["VERSION"]);
}

#[test]
fn liaison_extensions_carry_what_vcard_cannot() {
    let text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nTZ:Europe/Lisbon\r\n\
        X-LIAISON-PREFERRED-CHANNEL:sms\r\nX-LIAISON-WORKING-HOURS:MO 09:00-12:00,FR 14:00-18:00\r\n\
        X-LIAISON-CONSENT;ALLOWED=email,sms;BASIS=consent;SINCE=2024-05-01:Signed\\, on paper\r\nEND:VCARD\r\n";
    let record = &read_str(text)[0];
    assert!(record.violations.is_empty(), "{:?}", record.violations);
    let c = &record.contact;
    assert_eq!(c.preferred_channel, wire::ContactChannel::Sms as i32);
    assert_eq!(c.working_hours.len(), 2);
    let consent = c.consent.as_ref().expect("consent");
    assert_eq!(consent.allowed_channels, [1, 3]);
    assert_eq!(consent.basis, wire::ConsentBasis::Consent as i32);
    assert_eq!(consent.note, "Signed, on paper");
    let bad = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nX-LIAISON-PREFERRED-CHANNEL:fax\r\n\
        X-LIAISON-CONSENT;BASIS=whim:\r\nEND:VCARD\r\n";
    assert_eq!(fields(&read_str(bad)[0]), ["X-LIAISON-PREFERRED-CHANNEL", "X-LIAISON-CONSENT;BASIS"]);
}

#[test]
fn content_lines_parse_groups_quoted_and_bare_parameters() {
    let line = ContentLine::parse("item1.TEL;TYPE=\"work,voice\";PREF=1;X-A=\"a:b;c\":tel:+1").expect("line");
    assert_eq!(line.group, "ITEM1");
    assert_eq!(line.name, "TEL");
    assert_eq!(line.types(), ["work", "voice"]);
    assert_eq!(line.param("X-A"), ["a:b;c"]);
    assert_eq!(line.value, "tel:+1");
    assert_eq!(ContentLine::parse("TEL;WORK;VOICE:+1").expect("2.1 style").types(), ["work", "voice"]);
    assert!(ContentLine::parse("no colon here").is_err());
    assert!(ContentLine::parse("BAD NAME:x").is_err());
}

#[test]
fn lines_are_folded_at_75_octets_between_characters() {
    let mut out = String::new();
    let note = "é".repeat(100);
    write_line(&mut out, &format!("NOTE:{note}"));
    for line in out.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(line.len() <= FOLD_AT, "{} octets", line.len());
    }
    assert!(out.ends_with("\r\n"));
    let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
    assert_eq!(unfolded, format!("NOTE:{note}"));
}

#[test]
fn a_written_card_reads_back_to_the_same_contact() {
    let contact = wire::Contact {
        display_name: "Ana, the \"chair\"; of boards".into(),
        given_name: "Ana;María".into(),
        family_name: "García, Pérez".into(),
        emails: vec![
            wire::EmailAddress { address: "ana@example.org".into(), r#type: 2, primary: false },
            wire::EmailAddress { address: "ana@work.example".into(), r#type: 1, primary: true },
        ],
        phones: vec![wire::PhoneNumber { number: "+34911234567".into(), r#type: 4, primary: true }],
        languages: vec!["es".into(), "en-GB".into()],
        time_zone: "Europe/Madrid".into(),
        labels: vec!["board".into(), "water".into()],
        notes: format!("First line\nSecond, with ; and \\ and {}", "x".repeat(200)),
        uid: "not a uri, but text".into(),
        preferred_channel: 2,
        working_hours: vec![wire::WorkingHours { day: 1, start_time: "09:00".into(), end_time: "17:00".into() }],
        consent: Some(wire::Consent {
            do_not_contact: true,
            note: "Asked, twice".into(),
            since: Some(wire::Date { year: 2025, month: 1, day: 31 }),
            ..Default::default()
        }),
        update_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
        ..Default::default()
    };
    let mut out = String::new();
    write_card(&mut out, &contact);
    assert!(out.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
    assert!(out.contains("REV:20270115T080000Z\r\n"), "{out}");
    let records = read_str(&out);
    let read = &records[0].contact;
    assert!(records[0].violations.is_empty(), "{:?}", records[0].violations);
    assert_eq!(read.display_name, contact.display_name);
    assert_eq!(read.given_name, contact.given_name);
    assert_eq!(read.family_name, contact.family_name);
    assert_eq!(read.emails, contact.emails);
    assert_eq!(read.phones, contact.phones);
    assert_eq!(read.languages, contact.languages);
    assert_eq!(read.labels, contact.labels);
    assert_eq!(read.notes, contact.notes);
    assert_eq!(read.uid, contact.uid);
    assert_eq!(read.preferred_channel, contact.preferred_channel);
    assert_eq!(read.working_hours, contact.working_hours);
    assert_eq!(read.consent, contact.consent);
}
