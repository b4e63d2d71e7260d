//! What the import formats (vCard, CSV) share: the record a format reads from a file that arrives in arbitrary
//! byte chunks, the names both formats use for enum values, and the check of each record with the very rules of
//! the API ([`ContactFields::parse`]), so that an import never accepts what CreateContact would refuse.
use super::ContactFields;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

/// The largest import file.
pub const IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// The longest vCard UID (its `uid:` key must fit the `contact_keys` index).
pub const UID_MAX: usize = 200;

/// A file format of import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Vcard,
    Csv,
}

impl Format {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match wire::ContactFormat::try_from(value) {
            Ok(wire::ContactFormat::Vcard) => Ok(Self::Vcard),
            Ok(wire::ContactFormat::Csv) => Ok(Self::Csv),
            Ok(wire::ContactFormat::Unspecified) => {
                Err(FieldViolation::new(field, "is required (CONTACT_FORMAT_VCARD or CONTACT_FORMAT_CSV)"))
            }
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a ContactFormat"))),
        }
    }

    /// A reader of this format.
    pub fn reader(self) -> Box<dyn RecordReader> {
        match self {
            Self::Vcard => Box::new(super::vcard::VcardReader::default()),
            Self::Csv => Box::new(super::csv_format::CsvReader::default()),
        }
    }
}

/// What an import does with a record that matches a contact (by UID, then by email).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// Leave the contact as it is (the default).
    Skip,
    /// Write the record's fields over the contact's, when they differ.
    Update,
    /// Create a new contact anyway.
    Create,
}

impl DuplicatePolicy {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        use wire::DuplicatePolicy as W;
        match W::try_from(value) {
            Ok(W::Unspecified | W::Skip) => Ok(Self::Skip),
            Ok(W::Update) => Ok(Self::Update),
            Ok(W::Create) => Ok(Self::Create),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a DuplicatePolicy"))),
        }
    }
}

/// One record of an import file, as a format read it, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceRecord {
    /// The line the record starts on, from 1.
    pub line: u32,
    /// The contact the record describes; `uid` is the record's own UID, empty when it has none.
    pub contact: wire::Contact,
    /// What the format itself could not read, named after the vCard property or CSV column.
    pub violations: Vec<FieldViolation>,
    /// What the record holds that a contact cannot, and that is therefore left out.
    pub warnings: Vec<String>,
}

impl SourceRecord {
    /// A record that is wrong as a whole (e.g. text outside a vCard, a row with too many cells).
    pub fn broken(line: u32, violation: FieldViolation) -> Self {
        Self { line, violations: vec![violation], ..Self::default() }
    }
}

/// A record that passed every rule: what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRecord {
    pub line: u32,
    pub fields: ContactFields,
    /// The record's UID, if it has one.
    pub uid: Option<String>,
    pub warnings: Vec<String>,
}

/// A record that broke a rule: where, and every bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub line: u32,
    pub violations: Vec<FieldViolation>,
    pub warnings: Vec<String>,
}

impl RejectedRecord {
    /// `field: why; field: why`.
    pub fn reason(&self) -> String {
        describe(&self.violations)
    }
}

/// `field: why; field: why`.
pub fn describe(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

/// Checks a record: the format's own violations and those of the API's rules, all of them. Field paths of the
/// API's rules are given without the `contact.` prefix (`emails[1].address`), as the file has no `contact`.
pub fn check(record: SourceRecord) -> Result<ValidRecord, RejectedRecord> {
    let SourceRecord { line, contact, mut violations, warnings } = record;
    let uid = match liaison_runtime::validate::optional_text("uid", &contact.uid, UID_MAX) {
        Ok(uid) => Some(uid).filter(|u| !u.is_empty()),
        Err(v) => {
            violations.push(v);
            None
        }
    };
    let fields = ContactFields::parse("contact", &contact).map_err(|found| {
        violations.extend(found.into_iter().map(|v| FieldViolation {
            field: v.field.strip_prefix("contact.").map(str::to_owned).unwrap_or(v.field),
            description: v.description,
        }))
    });
    match fields {
        Ok(fields) if violations.is_empty() => Ok(ValidRecord { line, fields, uid, warnings }),
        _ => Err(RejectedRecord { line, violations, warnings }),
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
    fn every_bad_field_is_named_without_the_contact_prefix() {
        let record = SourceRecord {
            line: 7,
            contact: wire::Contact { display_name: String::new(), email: "nope".into(), ..Default::default() },
            violations: vec![FieldViolation::new("TZ", "bad")],
            warnings: vec![],
        };
        let rejected = check(record).expect_err("invalid");
        assert_eq!(rejected.line, 7);
        let fields: Vec<_> = rejected.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["TZ", "display_name", "email"]);
        assert!(rejected.reason().starts_with("TZ: bad; display_name: "), "{}", rejected.reason());
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
