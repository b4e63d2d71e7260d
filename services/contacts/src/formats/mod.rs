//! The file formats of import and export, vCard and CSV: readers that cut a file arriving in arbitrary byte
//! chunks into records, writers, and the names both use for enum values. Codecs, not rules: every record a
//! reader gives is checked by `domain::transfer::check` with the API's own rules.
pub mod csv;
pub mod vcard;

use crate::domain::transfer::{Format, SourceRecord};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

/// A reader of `format`.
pub fn reader(format: Format) -> Box<dyn RecordReader> {
    match format {
        Format::Vcard => Box::new(vcard::VcardReader::default()),
        Format::Csv => Box::new(self::csv::CsvReader::default()),
    }
}

/// Reads records from a file that arrives in chunks; a record may span chunks, and a chunk may end inside a
/// UTF-8 character.
pub trait RecordReader: Send {
    /// The records completed by `chunk`. An error rejects the whole file (e.g. an unknown CSV column) and comes
    /// before any record.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<SourceRecord>, Vec<FieldViolation>>;
    /// The records left at the end of the file.
    fn finish(&mut self) -> Result<Vec<SourceRecord>, Vec<FieldViolation>>;
}

/// The UTF-8 byte order mark some programs put at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Cuts a byte stream into lines (without their `\n` or `\r\n`), numbered from 1, whatever the chunking.
/// A UTF-8 byte order mark at the very start is dropped.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    next_line: u32,
    started: bool,
}

impl LineSplitter {
    /// The lines completed by `chunk`, with their numbers.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut lines = Vec::new();
        if self.started {
            self.cut(chunk, &mut lines);
            return lines;
        }
        self.partial.extend_from_slice(chunk);
        // Wait for three bytes (or a line) before deciding on the byte order mark.
        if self.partial.len() < 3 && !chunk.contains(&b'\n') {
            return lines;
        }
        self.started = true;
        if self.partial.starts_with(BOM) {
            self.partial.drain(..BOM.len());
        }
        let buffered = std::mem::take(&mut self.partial);
        self.cut(&buffered, &mut lines);
        lines
    }

    fn cut(&mut self, bytes: &[u8], lines: &mut Vec<(u32, Vec<u8>)>) {
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..at]);
            lines.push(self.take_line());
            rest = &rest[at + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    fn take_line(&mut self) -> (u32, Vec<u8>) {
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        self.next_line += 1;
        (self.next_line, line)
    }

    /// The last line, if the file does not end with a line break.
    pub fn finish(&mut self) -> Option<(u32, Vec<u8>)> {
        if !self.started && self.partial.starts_with(BOM) {
            self.partial.drain(..BOM.len());
        }
        self.started = true;
        (!self.partial.is_empty()).then(|| self.take_line())
    }
}

/// Channel names in files: `email`, `phone`, `sms`, `video`, `in_person`.
pub const CHANNEL_NAMES: &[(&str, wire::ContactChannel)] = &[
    ("email", wire::ContactChannel::Email),
    ("phone", wire::ContactChannel::Phone),
    ("sms", wire::ContactChannel::Sms),
    ("video", wire::ContactChannel::Video),
    ("in_person", wire::ContactChannel::InPerson),
];

/// Consent basis names in files.
pub const BASIS_NAMES: &[(&str, wire::ConsentBasis)] = &[
    ("consent", wire::ConsentBasis::Consent),
    ("contract", wire::ConsentBasis::Contract),
    ("legal_obligation", wire::ConsentBasis::LegalObligation),
    ("public_task", wire::ConsentBasis::PublicTask),
    ("legitimate_interest", wire::ConsentBasis::LegitimateInterest),
];

/// Weekday names in files (as in iCalendar's BYDAY).
pub const WEEKDAY_NAMES: &[(&str, wire::Weekday)] = &[
    ("MO", wire::Weekday::Monday),
    ("TU", wire::Weekday::Tuesday),
    ("WE", wire::Weekday::Wednesday),
    ("TH", wire::Weekday::Thursday),
    ("FR", wire::Weekday::Friday),
    ("SA", wire::Weekday::Saturday),
    ("SU", wire::Weekday::Sunday),
];

/// The name of `value` in `table`, or empty.
pub fn name_of<T: Copy + Into<i32>>(table: &[(&'static str, T)], value: i32) -> &'static str {
    table.iter().find(|(_, v)| (*v).into() == value).map(|(n, _)| *n).unwrap_or_default()
}

/// The value named `name` (case-insensitive) in `table`.
pub fn parse_name<T: Copy + Into<i32>>(
    field: &str,
    table: &[(&'static str, T)],
    what: &str,
    name: &str,
) -> Result<i32, FieldViolation> {
    let name = name.trim();
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| (*v).into()).ok_or_else(|| {
        let known: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        FieldViolation::new(field, format!("'{name}' is not a {what} ({})", known.join(", ")))
    })
}

/// One working interval as written in files: `MO 09:00-17:00`.
pub fn format_working_hours(hours: &wire::WorkingHours) -> String {
    format!("{} {}-{}", name_of(WEEKDAY_NAMES, hours.day), hours.start_time, hours.end_time)
}

/// Reads `MO 09:00-17:00`; the times themselves are checked by the API's rules.
pub fn parse_working_hours(field: &str, text: &str) -> Result<wire::WorkingHours, FieldViolation> {
    let invalid = || FieldViolation::new(field, format!("'{text}' is not working hours like 'MO 09:00-17:00'"));
    let (day, times) = text.trim().split_once(' ').ok_or_else(invalid)?;
    let (start, end) = times.trim().split_once('-').ok_or_else(invalid)?;
    let day = parse_name(field, WEEKDAY_NAMES, "weekday", day)?;
    Ok(wire::WorkingHours { day, start_time: start.trim().to_owned(), end_time: end.trim().to_owned() })
}

/// `YYYY-MM-DD` as a wire date (checked as a calendar date by the API's rules).
pub fn parse_date(field: &str, text: &str) -> Result<wire::Date, FieldViolation> {
    let invalid = || FieldViolation::new(field, format!("'{text}' is not a date YYYY-MM-DD"));
    let mut parts = text.trim().splitn(3, '-');
    let mut number = || parts.next().and_then(|p| p.parse::<i32>().ok()).ok_or_else(invalid);
    Ok(wire::Date { year: number()?, month: number()?, day: number()? })
}

pub fn format_date(date: &wire::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// A yes/no cell or parameter: `true`/`false`, `yes`/`no`, `1`/`0`; empty is no.
pub fn parse_bool(field: &str, text: &str) -> Result<bool, FieldViolation> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        other => Err(FieldViolation::new(field, format!("'{other}' is not true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<(u32, Vec<u8>)> {
        let mut splitter = LineSplitter::default();
        let mut lines: Vec<(u32, Vec<u8>)> = chunks.iter().flat_map(|c| splitter.push(c)).collect();
        lines.extend(splitter.finish());
        lines
    }

    #[test]
    fn lines_are_the_same_whatever_the_chunks() {
        let text = "\u{feff}première\r\nsecond\n\nlast".as_bytes();
        let whole = split_all(&[text]);
        assert_eq!(
            whole,
            vec![(1, "première".as_bytes().to_vec()), (2, b"second".to_vec()), (3, vec![]), (4, b"last".to_vec())]
        );
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(split_all(&chunks), whole, "chunks of {size}");
        }
    }

    #[test]
    fn names_of_enum_values_read_back() {
        for (name, channel) in CHANNEL_NAMES {
            assert_eq!(parse_name("c", CHANNEL_NAMES, "channel", &name.to_uppercase()), Ok(*channel as i32));
        }
        assert!(parse_name("c", CHANNEL_NAMES, "channel", "fax").is_err());
        let hours = parse_working_hours("w", "tu 09:00-12:30").expect("valid");
        assert_eq!(format_working_hours(&hours), "TU 09:00-12:30");
        assert!(parse_working_hours("w", "09:00-12:30").is_err());
        assert_eq!(format_date(&parse_date("d", "2024-02-29").expect("date")), "2024-02-29");
        assert!(parse_date("d", "29/02/2024").is_err());
    }
}

#[cfg(test)]
mod proptests;
