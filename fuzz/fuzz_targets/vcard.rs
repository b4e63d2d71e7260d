//! Contacts' vCard reader (`liaison_contacts::formats::vcard::VcardReader`) on arbitrary bytes, as an import
//! receives them (any bytes, in any chunks).
//!
//! Asserts: no panic; the records are the same however the bytes are chunked (whole, cut at one point chosen by
//! the input, one byte at a time); every record the import would accept (`domain::transfer::check`), written back
//! with `write_card` (as an export does) and read again, is one record that is accepted with the same fields and
//! UID — except that a CR in a note comes back as LF (`vcard::escape` writes CR and CRLF as `\n`: an export's
//! deliberate normalisation, not a fault).
#![no_main]

use liaison_contacts::domain::contacts::ContactFields;
use liaison_contacts::domain::transfer::{SourceRecord, check};
use liaison_contacts::formats::RecordReader;
use liaison_contacts::formats::vcard::{VcardReader, write_card};
use libfuzzer_sys::fuzz_target;

fn read(chunks: &[&[u8]]) -> Vec<SourceRecord> {
    let mut reader = VcardReader::default();
    let mut records = Vec::new();
    for chunk in chunks {
        records.extend(reader.push(chunk).expect("the vCard reader rejects no file as a whole"));
    }
    records.extend(reader.finish().expect("the vCard reader rejects no file as a whole"));
    records
}

/// `fields` as a written card carries them: CRLF and CR in the multi-line texts become LF.
fn as_written(mut fields: ContactFields) -> ContactFields {
    let lf = |text: &str| text.replace("\r\n", "\n").replace('\r', "\n");
    fields.notes = lf(&fields.notes);
    fields.consent.note = lf(&fields.consent.note);
    fields
}

fuzz_target!(|data: &[u8]| {
    let whole = read(&[data]);

    let at = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    assert_eq!(read(&[&data[..at], &data[at..]]), whole, "cut at {at}");
    if data.len() <= 512 {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(read(&bytes), whole, "byte by byte");
    }

    for record in whole {
        let contact = record.contact.clone();
        let Ok(valid) = check(record) else { continue };
        let mut card = String::new();
        write_card(&mut card, &contact);
        let again = read(&[card.as_bytes()]);
        let [again] = again.as_slice() else { panic!("{} records from one written card:\n{card}", again.len()) };
        match check(again.clone()) {
            Ok(back) => {
                assert_eq!(back.fields, as_written(valid.fields), "fields changed through\n{card}");
                assert_eq!(back.uid, valid.uid, "UID changed through\n{card}");
            }
            Err(rejected) => panic!("a written card is refused ({}):\n{card}", rejected.reason()),
        }
    }
});
