//! Property tests of CSV: written rows read back as the contacts they were written from, whatever their text holds
//! (commas, quotes, line breaks, semicolons) and however the file is chunked; and no input makes the reader panic
//! or depend on its chunking.
use super::*;
use crate::domain::transfer::{Format, check};
use crate::formats::proptests::{chunks, contacts, is_valid, long_text, read_chunks, transferable};
use crate::formats::reader;
use proptest::prelude::*;

/// What reading `contact`'s row gives back: the fields CSV carries, its primary email and phone first (a list
/// cell has no other way to say which is primary).
fn expected(contact: &wire::Contact) -> wire::Contact {
    let mut expected = transferable(contact);
    expected.emails.sort_by_key(|e| !e.primary);
    expected.phones.sort_by_key(|p| !p.primary);
    expected
}

fn read_all(bytes: Vec<u8>) -> Result<Vec<SourceRecord>, TestCaseError> {
    read_chunks(reader(Format::Csv), &[bytes]).map_err(|v| TestCaseError::fail(format!("{v:?}")))
}

/// CSV-ish text: a header that may be right or wrong, then rows of cells quoted or not, with stray quotes, line
/// breaks inside and outside quotes, and cells of every column's syntax.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just(COLUMNS.join(",")),
        Just("display_name,emails,notes".to_owned()),
        Just("Display_Name , UID".to_owned()),
        Just("display_name,display_name".to_owned()),
        Just("\"display_name\",\"notes".to_owned()),
        "[a-z_,\" ]{0,30}",
    ];
    let cell = prop_oneof![
        proptest::sample::select(
            &[
                "",
                "\"",
                "\"\"",
                "\"a,b\"",
                "a\"b",
                "fax:x@y.z",
                "home:a@b.example;mobile:+441234567890",
                "MO 09:00-17:00",
                "maybe",
                "pigeon",
                "whim",
                "2024-13-45",
                "true",
                "\r",
                "\n",
                "\r\n",
                "\u{feff}",
            ][..]
        )
        .prop_map(str::to_owned),
        long_text(12),
        any::<String>(),
    ];
    let row = proptest::collection::vec(cell, 0..6).prop_map(|cells| cells.join(","));
    let ending = proptest::sample::select(&["\r\n", "\n", ""][..]);
    (header, proptest::collection::vec((row, ending), 0..8)).prop_map(|(header, rows)| {
        let mut text = format!("{header}\r\n");
        for (row, ending) in rows {
            text.push_str(&row);
            text.push_str(ending);
        }
        text.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_contact_reads_back_from_its_csv_row(contact in contacts(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        is_valid(&contact)?;
        // The same contact with its primary email and phone listed first, as CSV lists them.
        let fields = is_valid(&expected(&contact))?;
        let file = write(std::slice::from_ref(&contact), true).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let records = read_chunks(reader(Format::Csv), &chunks(&file, &cuts)).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let text = String::from_utf8_lossy(&file);
        prop_assert_eq!(records.len(), 1, "{}", text);
        let record = records[0].clone();
        prop_assert!(record.violations.is_empty() && record.warnings.is_empty(), "{:?}\n{}", record, text);
        prop_assert_eq!(record.line, 2);
        prop_assert_eq!(&record.contact, &expected(&contact), "{}", text);
        let valid = check(record).map_err(|r| TestCaseError::fail(r.reason()))?;
        prop_assert_eq!(valid.fields, fields);
    }

    #[test]
    fn many_contacts_read_back_in_order_each_on_the_line_it_starts(all in proptest::collection::vec(contacts(), 0..5)) {
        let file = write(&all, true).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let records = read_all(file.clone())?;
        let read: Vec<wire::Contact> = records.iter().map(|r| r.contact.clone()).collect();
        let wanted: Vec<wire::Contact> = all.iter().map(expected).collect();
        prop_assert_eq!(read, wanted);
        // Each row starts on the line after the previous row's last line (notes may span lines).
        let text = String::from_utf8_lossy(&file);
        let mut line = 2;
        for (record, contact) in records.iter().zip(&all) {
            prop_assert_eq!(record.line, line);
            let row = write(std::slice::from_ref(contact), false).map_err(|e| TestCaseError::fail(e.to_string()))?;
            line += u32::try_from(row.iter().filter(|b| **b == b'\n').count()).unwrap_or(u32::MAX);
        }
        prop_assert!(text.ends_with("\r\n") || all.is_empty());
    }

    #[test]
    fn any_bytes_are_read_the_same_whatever_the_chunking(
        bytes in prop_oneof![csv_like(), proptest::collection::vec(any::<u8>(), 0..200)],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let whole = read_chunks(reader(Format::Csv), std::slice::from_ref(&bytes));
        prop_assert_eq!(read_chunks(reader(Format::Csv), &chunks(&bytes, &cuts)), whole.clone());
        match whole {
            Ok(records) => {
                for record in records {
                    prop_assert!(record.line >= 2, "the header is line 1 or later");
                    let _ = check(record);
                }
            }
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                prop_assert!(violations.iter().all(|v| v.field == "data" || v.field.starts_with("header")), "{violations:?}");
            }
        }
    }
}
