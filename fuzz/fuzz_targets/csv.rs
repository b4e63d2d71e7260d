//! Contacts' CSV reader (`liaison_contacts::formats::csv::CsvReader`) on arbitrary bytes, as an import receives
//! them (any bytes, in any chunks).
//!
//! Asserts: no panic; the outcome (the records, or the file's rejection) is the same however the bytes are
//! chunked (whole, cut at one point chosen by the input, one byte at a time); every record the import would
//! accept (`domain::transfer::check`), written back with `csv::write` (as an export does) and read again, is one
//! record that is accepted with the same fields and UID.
#![no_main]

use liaison_contacts::domain::transfer::{SourceRecord, check};
use liaison_contacts::formats::RecordReader;
use liaison_contacts::formats::csv::{CsvReader, write};
use liaison_runtime::FieldViolation;
use libfuzzer_sys::fuzz_target;

fn read(chunks: &[&[u8]]) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
    let mut reader = CsvReader::default();
    let mut records = Vec::new();
    for chunk in chunks {
        records.extend(reader.push(chunk)?);
    }
    records.extend(reader.finish()?);
    Ok(records)
}

fuzz_target!(|data: &[u8]| {
    let whole = read(&[data]);

    let at = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    assert_eq!(read(&[&data[..at], &data[at..]]), whole, "cut at {at}");
    if data.len() <= 512 {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(read(&bytes), whole, "byte by byte");
    }

    let Ok(records) = whole else { return };
    for record in records {
        let contact = record.contact.clone();
        let Ok(valid) = check(record) else { continue };
        let file = write(std::slice::from_ref(&contact), true).expect("writing to memory does not fail");
        let text = String::from_utf8_lossy(&file);
        let again = read(&[&file]).unwrap_or_else(|v| panic!("a written file is refused ({v:?}):\n{text}"));
        let [again] = again.as_slice() else { panic!("{} records from one written row:\n{text}", again.len()) };
        match check(again.clone()) {
            Ok(back) => {
                assert_eq!(back.fields, valid.fields, "fields changed through\n{text}");
                assert_eq!(back.uid, valid.uid, "UID changed through\n{text}");
            }
            Err(rejected) => panic!("a written row is refused ({}):\n{text}", rejected.reason()),
        }
    }
});
