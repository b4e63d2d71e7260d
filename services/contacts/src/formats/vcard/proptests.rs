//! Property tests of vCard: a written card reads back as the contact it was written from, whatever its text holds
//! and however the file is chunked; every written line is at most 75 octets and ends in CRLF; text values escape
//! and unescape to themselves; and no input makes the reader panic or depend on its chunking.
use super::*;
use crate::domain::transfer::Format;
use crate::domain::transfer::check;
use crate::formats::proptests::{chunks, contacts, is_valid, long_text, read_chunks, transferable};
use crate::formats::{RecordReader, reader};
use liaison_proto::contacts::v1 as wire;
use proptest::prelude::*;

fn written(contacts: &[wire::Contact]) -> String {
    let mut out = String::new();
    for contact in contacts {
        write_card(&mut out, contact);
    }
    out
}

/// What reading `contact`'s card gives back: the fields vCard carries, and the name's `urn:uuid:` as the UID of a
/// contact that has none.
fn expected(contact: &wire::Contact) -> wire::Contact {
    let mut expected = transferable(contact);
    if expected.uid.is_empty() {
        expected.uid = contact.name.strip_prefix("contacts/").map(|id| format!("urn:uuid:{id}")).unwrap_or_default();
    }
    expected
}

/// Card-ish text: content lines of every property the reader maps (and some it does not), with awkward parameters
/// and values, folded or not, between BEGIN and END lines that may be missing or repeated.
fn card_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        proptest::sample::select(
            &[
                "BEGIN:VCARD",
                "END:VCARD",
                "VERSION:4.0",
                "VERSION:3.0",
                "VERSION:2.1",
                "BEGIN:VCALENDAR",
                "END:X",
                "FN:",
                "N:",
                "EMAIL;TYPE=home;PREF=1:",
                "EMAIL;PREF=0:",
                "TEL;VALUE=uri:tel:",
                "TEL;TYPE=\"cell,voice\":",
                "LANG;PREF=101:",
                "TZ;VALUE=utc-offset:",
                "TZ:",
                "CATEGORIES:",
                "NOTE;ENCODING=QUOTED-PRINTABLE:",
                "NOTE;CHARSET=latin1:",
                "UID:",
                "KIND:",
                "X-LIAISON-PREFERRED-CHANNEL:",
                "X-LIAISON-WORKING-HOURS:",
                "X-LIAISON-CONSENT;DO-NOT-CONTACT=maybe;ALLOWED=fax;SINCE=2024-13-99;BASIS=whim:",
                "item1.EMAIL;TYPE=INTERNET:",
                "ORG:",
                "PHOTO;ENCODING=b:",
                "TEL;WORK;VOICE:",
                "X-A;P=\"unclosed:",
                "NAME;=x:",
                ";:",
                ":",
                " ",
                "\t",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        long_text(30),
        any::<String>(),
    ];
    let ending = proptest::sample::select(&["\r\n", "\n", "\r\n ", "\r\n\t", ""][..]);
    proptest::collection::vec((line, ending), 0..40)
        .prop_map(|lines| lines.into_iter().flat_map(|(l, e)| format!("{l}{e}").into_bytes()).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_contact_reads_back_from_its_vcard(contact in contacts(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let fields = is_valid(&contact)?;
        let card = written(std::slice::from_ref(&contact));
        let records = read_chunks(reader(Format::Vcard), &chunks(card.as_bytes(), &cuts))
            .map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        prop_assert_eq!(records.len(), 1, "{}", card);
        let record = records[0].clone();
        prop_assert!(record.violations.is_empty() && record.warnings.is_empty(), "{:?}\n{}", record, card);
        prop_assert_eq!(&record.contact, &expected(&contact), "{}", card);
        // And the API reads it as the same contact.
        let valid = check(record).map_err(|r| TestCaseError::fail(r.reason()))?;
        prop_assert_eq!(valid.fields, fields);
    }

    #[test]
    fn many_contacts_read_back_in_order_from_one_file(all in proptest::collection::vec(contacts(), 0..5)) {
        let file = written(&all);
        let records = read_chunks(reader(Format::Vcard), &[file.into_bytes()]).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let read: Vec<wire::Contact> = records.into_iter().map(|r| r.contact).collect();
        let wanted: Vec<wire::Contact> = all.iter().map(expected).collect();
        prop_assert_eq!(read, wanted);
    }

    #[test]
    fn every_written_line_is_at_most_75_octets_and_ends_in_crlf(contact in contacts()) {
        let card = written(std::slice::from_ref(&contact));
        prop_assert!(card.ends_with("\r\n"));
        prop_assert_eq!(card.matches('\n').count(), card.matches("\r\n").count(), "no bare LF");
        prop_assert_eq!(card.matches('\r').count(), card.matches("\r\n").count(), "no bare CR");
        for line in card.split("\r\n") {
            prop_assert!(line.len() <= FOLD_AT, "{} octets: {:?}", line.len(), line);
        }
    }

    #[test]
    fn a_line_folds_and_unfolds_to_itself(line in "[A-Z]{1,8}:".prop_flat_map(|name| long_text(300).prop_map(move |v| format!("{name}{}", escape(&v, false))))) {
        let mut out = String::new();
        write_line(&mut out, &line);
        prop_assert!(out.split("\r\n").all(|l| l.len() <= FOLD_AT));
        let unfolded = out.replace("\r\n ", "");
        prop_assert_eq!(unfolded.strip_suffix("\r\n"), Some(line.as_str()));
    }

    #[test]
    fn any_text_escapes_and_unescapes_to_itself(text in any::<String>(), in_component in any::<bool>()) {
        let escaped = escape(&text, in_component);
        prop_assert!(!escaped.contains(['\n', '\r']), "one line: {escaped:?}");
        // Every separator is escaped: splitting at unescaped ones keeps the value whole.
        prop_assert_eq!(split_unescaped(&escaped, ',').len(), 1);
        if in_component {
            prop_assert_eq!(split_unescaped(&escaped, ';').len(), 1);
        }
        // CR and CRLF become a newline: vCard has no escape for CR.
        prop_assert_eq!(unescape(&escaped), text.replace("\r\n", "\n").replace('\r', "\n"));
    }

    #[test]
    fn notes_with_carriage_returns_read_back_with_newlines(contact in contacts(), notes in proptest::collection::vec(prop_oneof![long_text(10), Just("\r\n".to_owned()), Just("\r".to_owned())], 0..6)) {
        let mut contact = contact;
        contact.notes = notes.concat();
        let records = read_chunks(reader(Format::Vcard), &[written(std::slice::from_ref(&contact)).into_bytes()])
            .map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let read = records.first().map(|r| r.contact.notes.clone());
        prop_assert_eq!(read, Some(contact.notes.replace("\r\n", "\n").replace('\r', "\n")));
    }

    #[test]
    fn any_bytes_are_read_the_same_whatever_the_chunking(
        bytes in prop_oneof![card_like(), proptest::collection::vec(any::<u8>(), 0..200)],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let whole = read_chunks(reader(Format::Vcard), std::slice::from_ref(&bytes));
        prop_assert_eq!(read_chunks(reader(Format::Vcard), &chunks(&bytes, &cuts)), whole.clone());
        // A vCard file is never refused whole: each card is a record, accepted or not.
        let records = whole.map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        for record in records {
            prop_assert!(record.line >= 1);
            let _ = check(record);
        }
    }

    #[test]
    fn any_content_line_parses_or_is_refused_without_panicking(line in prop_oneof![any::<String>(), "[A-Za-z.;=:,\"^'n-]{0,30}"]) {
        if let Ok(parsed) = ContentLine::parse(&line) {
            prop_assert!(is_name(&parsed.name));
            prop_assert!(parsed.params.iter().all(|(name, _)| is_name(name)));
            let _ = (parsed.types(), parsed.preference(), parsed.unreadable());
        }
    }

    #[test]
    fn a_reader_given_nothing_but_a_byte_order_mark_reads_nothing(extra in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' ')], 0..4)) {
        let mut bytes = crate::formats::BOM.to_vec();
        bytes.extend(extra);
        let mut reader = VcardReader::default();
        let mut records = reader.push(&bytes).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        records.extend(reader.finish().map_err(|v| TestCaseError::fail(format!("{v:?}")))?);
        prop_assert!(records.is_empty(), "{records:?}");
    }
}
