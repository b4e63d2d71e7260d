//! CSV (RFC 4180) with a header row: reading rows into contacts from a file that arrives in arbitrary chunks,
//! and writing contacts. The columns are [`COLUMNS`], in any order; only `display_name` is required, an unknown
//! or repeated column rejects the whole file. Lists are separated by `;` inside their cell; the first email and
//! the first phone are primary; an email or phone may carry its type as a prefix (`home:ana@example.org`,
//! `mobile:+34 600 000 000`; no prefix means work). Cells may span lines when quoted (notes).
use super::{
    BASIS_NAMES, BOM, CHANNEL_NAMES, RecordReader, format_date, format_working_hours, name_of, parse_bool, parse_date,
    parse_name, parse_working_hours,
};
use crate::domain::transfer::SourceRecord;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

/// The columns, in the order an export writes them.
pub const COLUMNS: &[&str] = &[
    "display_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "preferred_channel",
    "languages",
    "time_zone",
    "working_hours",
    "labels",
    "do_not_contact",
    "consent_channels",
    "consent_basis",
    "consent_since",
    "consent_note",
    "notes",
    "uid",
];

/// The columns a file must have.
pub const REQUIRED_COLUMNS: &[&str] = &["display_name"];

/// Separates the entries of a list cell.
pub const LIST_SEPARATOR: char = ';';

const TYPE_NAMES: &[(&str, wire::ChannelType)] = &[
    ("work", wire::ChannelType::Work),
    ("home", wire::ChannelType::Home),
    ("mobile", wire::ChannelType::Mobile),
    ("other", wire::ChannelType::Other),
];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first of an escaped pair.
    QuoteInQuoted,
}

/// Cuts a byte stream into CSV records (a quoted field may hold line breaks), with the line each starts on,
/// whatever the chunking.
#[derive(Debug, Default)]
struct RecordSplitter {
    head: Vec<u8>,
    started: bool,
    record: Vec<u8>,
    record_line: Option<u32>,
    /// Line breaks seen so far.
    breaks: u32,
    quoting: Quoting,
}

/// One cut record: its first line, its bytes, and whether the file ended inside a quoted field.
type RawRecord = (u32, Vec<u8>, bool);

impl RecordSplitter {
    fn push(&mut self, chunk: &[u8]) -> Vec<RawRecord> {
        let mut out = Vec::new();
        if self.started {
            self.scan(chunk, &mut out);
            return out;
        }
        self.head.extend_from_slice(chunk);
        if self.head.len() < BOM.len() && !chunk.contains(&b'\n') {
            return out;
        }
        self.started = true;
        let mut head = std::mem::take(&mut self.head);
        if head.starts_with(BOM) {
            head.drain(..BOM.len());
        }
        self.scan(&head, &mut out);
        out
    }

    fn scan(&mut self, bytes: &[u8], out: &mut Vec<RawRecord>) {
        for &byte in bytes {
            let line = self.breaks + 1;
            self.record_line.get_or_insert(line);
            if byte == b'\n' {
                self.breaks += 1;
                if self.quoting != Quoting::Quoted {
                    self.emit(out, false);
                    continue;
                }
            }
            self.quoting = match (self.quoting, byte) {
                (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
                (Quoting::Quoted, _) => Quoting::Quoted,
                (Quoting::FieldStart, b'"') | (Quoting::QuoteInQuoted, b'"') => Quoting::Quoted,
                (_, b',') => Quoting::FieldStart,
                _ => Quoting::Unquoted,
            };
            self.record.push(byte);
        }
    }

    fn emit(&mut self, out: &mut Vec<RawRecord>, unterminated: bool) {
        let mut record = std::mem::take(&mut self.record);
        if record.last() == Some(&b'\r') && !unterminated {
            record.pop();
        }
        out.push((self.record_line.take().unwrap_or(self.breaks + 1), record, unterminated));
        self.quoting = Quoting::FieldStart;
    }

    fn finish(&mut self) -> Vec<RawRecord> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            let mut head = std::mem::take(&mut self.head);
            if head.starts_with(BOM) {
                head.drain(..BOM.len());
            }
            self.scan(&head, &mut out);
        }
        if self.record_line.is_some() {
            let unterminated = self.quoting == Quoting::Quoted;
            self.emit(&mut out, unterminated);
        }
        out
    }
}

/// The cells of one record.
fn cells(record: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(record);
    let mut cells = csv::StringRecord::new();
    match reader.read_record(&mut cells) {
        Ok(_) => Ok(cells.iter().map(str::to_owned).collect()),
        Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => Err("is not valid UTF-8".to_owned()),
        Err(e) => Err(format!("cannot be read as CSV: {e}")),
    }
}

fn is_blank(record: &[u8]) -> bool {
    record.iter().all(u8::is_ascii_whitespace)
}

/// Reads CSV files, chunk by chunk: the header row first, then one record per row.
#[derive(Debug, Default)]
pub struct CsvReader {
    splitter: RecordSplitter,
    /// The column of each cell, once the header is read.
    header: Option<Vec<&'static str>>,
}

impl RecordReader for CsvReader {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        let raw = self.splitter.push(chunk);
        self.read(raw)
    }

    fn finish(&mut self) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        let raw = self.splitter.finish();
        let records = self.read(raw)?;
        if self.header.is_none() {
            return Err(vec![FieldViolation::new(
                "data",
                format!("the file is empty: its first line must name the columns ({})", COLUMNS.join(",")),
            )]);
        }
        Ok(records)
    }
}

impl CsvReader {
    fn read(&mut self, raw: Vec<RawRecord>) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        let mut records = Vec::new();
        for (line, bytes, unterminated) in raw {
            if is_blank(&bytes) {
                continue;
            }
            let Some(header) = &self.header else {
                self.header = Some(header(line, &bytes, unterminated)?);
                continue;
            };
            if unterminated {
                records.push(SourceRecord::broken(
                    line,
                    FieldViolation::new("row", "a quoted cell is not closed before the end of the file"),
                ));
                continue;
            }
            records.push(match cells(&bytes) {
                Ok(cells) if cells.len() != header.len() => SourceRecord::broken(
                    line,
                    FieldViolation::new(
                        "row",
                        format!("has {} cells, the header has {} (a comma not in quotes?)", cells.len(), header.len()),
                    ),
                ),
                Ok(cells) => row_record(line, header, &cells),
                Err(why) => SourceRecord::broken(line, FieldViolation::new("row", why)),
            });
        }
        Ok(records)
    }
}

/// The columns the header row names; every unknown, repeated and missing required column is a violation.
fn header(line: u32, bytes: &[u8], unterminated: bool) -> Result<Vec<&'static str>, Vec<FieldViolation>> {
    let names = match cells(bytes) {
        Ok(names) if !unterminated => names,
        Ok(_) => return Err(vec![FieldViolation::new("header", "a quoted column name is not closed")]),
        Err(why) => return Err(vec![FieldViolation::new("header", format!("line {line} {why}"))]),
    };
    let mut violations = Vec::new();
    let mut columns: Vec<&'static str> = Vec::new();
    for name in &names {
        let wanted = name.trim().to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == wanted) {
            Some(column) if columns.contains(column) => {
                violations.push(FieldViolation::new(format!("header.{column}"), "is named twice"));
            }
            Some(column) => columns.push(column),
            None => violations.push(FieldViolation::new(
                format!("header.{}", name.trim()),
                format!("is not a column (the columns are {})", COLUMNS.join(", ")),
            )),
        }
    }
    for required in REQUIRED_COLUMNS {
        if !columns.contains(required) && !violations.iter().any(|v| v.field == format!("header.{required}")) {
            violations.push(FieldViolation::new(format!("header.{required}"), "is a required column"));
        }
    }
    if violations.is_empty() { Ok(columns) } else { Err(violations) }
}

fn list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(LIST_SEPARATOR).map(str::trim).filter(|item| !item.is_empty())
}

/// `home:value` → (home, value); no prefix is work.
fn typed(field: &str, item: &str) -> Result<(i32, String), FieldViolation> {
    match item.split_once(':') {
        None => Ok((wire::ChannelType::Work as i32, item.to_owned())),
        Some((kind, value)) => Ok((parse_name(field, TYPE_NAMES, "type prefix", kind)?, value.trim().to_owned())),
    }
}

fn row_record(line: u32, header: &[&'static str], cells: &[String]) -> SourceRecord {
    let mut contact = wire::Contact::default();
    let mut consent = wire::Consent::default();
    let mut has_consent = false;
    let mut violations = Vec::new();
    let mut keep = |result: Result<(), FieldViolation>| {
        if let Err(v) = result {
            violations.push(v);
        }
    };
    for (column, cell) in header.iter().zip(cells) {
        let text = cell.trim();
        match *column {
            "display_name" => contact.display_name = cell.clone(),
            "given_name" => contact.given_name = cell.clone(),
            "family_name" => contact.family_name = cell.clone(),
            "time_zone" => contact.time_zone = text.to_owned(),
            "notes" => contact.notes = cell.clone(),
            "uid" => contact.uid = text.to_owned(),
            "emails" => {
                for (index, item) in list(cell).enumerate() {
                    keep(typed(&format!("emails[{index}]"), item).map(|(kind, address)| {
                        contact.emails.push(wire::EmailAddress { address, r#type: kind, primary: index == 0 })
                    }));
                }
            }
            "phones" => {
                for (index, item) in list(cell).enumerate() {
                    keep(typed(&format!("phones[{index}]"), item).map(|(kind, number)| {
                        contact.phones.push(wire::PhoneNumber { number, r#type: kind, primary: index == 0 })
                    }));
                }
            }
            "preferred_channel" if !text.is_empty() => {
                keep(parse_name(column, CHANNEL_NAMES, "channel", text).map(|c| contact.preferred_channel = c))
            }
            "languages" => contact.languages = list(cell).map(str::to_owned).collect(),
            "working_hours" => {
                for (index, item) in list(cell).enumerate() {
                    keep(
                        parse_working_hours(&format!("working_hours[{index}]"), item)
                            .map(|hours| contact.working_hours.push(hours)),
                    );
                }
            }
            "labels" => contact.labels = list(cell).map(str::to_owned).collect(),
            "do_not_contact" => keep(parse_bool(column, text).map(|flag| {
                has_consent |= flag;
                consent.do_not_contact = flag;
            })),
            "consent_channels" => {
                for item in list(cell) {
                    has_consent = true;
                    keep(parse_name(column, CHANNEL_NAMES, "channel", item).map(|c| consent.allowed_channels.push(c)));
                }
            }
            "consent_basis" if !text.is_empty() => {
                has_consent = true;
                keep(parse_name(column, BASIS_NAMES, "consent basis", text).map(|b| consent.basis = b));
            }
            "consent_since" if !text.is_empty() => {
                has_consent = true;
                keep(parse_date(column, text).map(|d| consent.since = Some(d)));
            }
            "consent_note" if !cell.is_empty() => {
                has_consent = true;
                consent.note = cell.clone();
            }
            _ => {}
        }
    }
    if has_consent {
        contact.consent = Some(consent);
    }
    SourceRecord { line, contact, violations, warnings: Vec::new() }
}

fn type_prefix(kind: i32) -> &'static str {
    match wire::ChannelType::try_from(kind) {
        Ok(wire::ChannelType::Home) => "home:",
        Ok(wire::ChannelType::Mobile) => "mobile:",
        Ok(wire::ChannelType::Other) => "other:",
        _ => "",
    }
}

/// The entries of a list cell, the primary one first.
fn channel_cell<'a>(entries: impl Iterator<Item = (&'a str, i32, bool)>) -> String {
    let mut entries: Vec<(&str, i32, bool)> = entries.collect();
    entries.sort_by_key(|(_, _, primary)| !primary);
    let items: Vec<String> = entries.iter().map(|(value, kind, _)| format!("{}{value}", type_prefix(*kind))).collect();
    items.join(";")
}

fn row(contact: &wire::Contact) -> Vec<String> {
    let consent = contact.consent.clone().unwrap_or_default();
    vec![
        contact.display_name.clone(),
        contact.given_name.clone(),
        contact.family_name.clone(),
        channel_cell(contact.emails.iter().map(|e| (e.address.as_str(), e.r#type, e.primary))),
        channel_cell(contact.phones.iter().map(|p| (p.number.as_str(), p.r#type, p.primary))),
        name_of(CHANNEL_NAMES, contact.preferred_channel).to_owned(),
        contact.languages.join(";"),
        contact.time_zone.clone(),
        contact.working_hours.iter().map(format_working_hours).collect::<Vec<_>>().join(";"),
        contact.labels.join(";"),
        if consent.do_not_contact { "true".into() } else { String::new() },
        consent.allowed_channels.iter().map(|c| name_of(CHANNEL_NAMES, *c)).collect::<Vec<_>>().join(";"),
        name_of(BASIS_NAMES, consent.basis).to_owned(),
        consent.since.as_ref().map(format_date).unwrap_or_default(),
        consent.note,
        contact.notes.clone(),
        contact.uid.clone(),
    ]
}

/// Writes the header row (when `header`) and one row per contact, CRLF-terminated.
pub fn write(contacts: &[wire::Contact], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    if header {
        writer.write_record(COLUMNS)?;
    }
    for contact in contacts {
        writer.write_record(row(contact))?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transfer::check;

    fn read(chunks: &[&[u8]]) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        let mut reader = CsvReader::default();
        let mut records = Vec::new();
        for chunk in chunks {
            records.extend(reader.push(chunk)?);
        }
        records.extend(reader.finish()?);
        Ok(records)
    }

    fn read_str(text: &str) -> Vec<SourceRecord> {
        read(&[text.as_bytes()]).expect("valid file")
    }

    fn header_fields(text: &str) -> Vec<String> {
        read(&[text.as_bytes()]).expect_err("bad header").into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn rows_become_contacts_with_the_first_email_primary() {
        let text = "display_name,emails,phones,labels,languages,preferred_channel,do_not_contact\r\n\
            Ana García,ana@work.example; home:ana@home.example,mobile:+34 600 000 001,board;water,es;en,email,\r\n";
        let records = read_str(text);
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.line, 2);
        assert!(record.violations.is_empty(), "{:?}", record.violations);
        let c = &record.contact;
        assert_eq!(c.display_name, "Ana García");
        assert_eq!(c.emails.len(), 2);
        assert!(c.emails[0].primary && !c.emails[1].primary);
        assert_eq!(c.emails[1].r#type, wire::ChannelType::Home as i32);
        assert_eq!(c.phones[0].r#type, wire::ChannelType::Mobile as i32);
        assert_eq!(c.labels, ["board", "water"]);
        assert_eq!(c.preferred_channel, wire::ContactChannel::Email as i32);
        assert!(c.consent.is_none());
        assert!(check(record.clone()).is_ok());
    }

    #[test]
    fn a_quoted_cell_may_span_lines_and_line_numbers_follow() {
        let text = "display_name,notes\n\"Smith, Jo\",\"first\nsecond \"\"quoted\"\"\"\nBo,\n\n\"Unclosed,x\n";
        let records = read_str(text);
        let summary: Vec<(u32, &str)> = records.iter().map(|r| (r.line, r.contact.display_name.as_str())).collect();
        assert_eq!(summary, [(2, "Smith, Jo"), (4, "Bo"), (6, "")]);
        assert_eq!(records[0].contact.notes, "first\nsecond \"quoted\"");
        assert_eq!(records[2].violations[0].field, "row");
    }

    #[test]
    fn rows_spanning_chunks_read_the_same_at_every_split() {
        let text =
            "\u{feff}display_name,notes,emails\r\n\"Zoë, Müller\",\"é\r\nà\",zoe@example.org\r\nBo,,bo@example.org";
        let bytes = text.as_bytes();
        let whole = read(&[bytes]).expect("valid");
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1].line, 4);
        for at in 0..bytes.len() {
            assert_eq!(read(&[&bytes[..at], &bytes[at..]]).expect("valid"), whole, "split at {at}");
        }
    }

    #[test]
    fn unknown_repeated_or_missing_columns_reject_the_file() {
        assert_eq!(header_fields("display_name,email_address\n"), ["header.email_address"]);
        assert_eq!(header_fields("given_name,family_name\n"), ["header.display_name"]);
        assert_eq!(header_fields("display_name,notes,Notes\nx,y,z\n"), ["header.notes"]);
        assert_eq!(header_fields(""), ["data"]);
        assert!(read(&[b" Display_Name ,UID\n"]).is_ok());
    }

    #[test]
    fn bad_cells_are_named_and_a_short_row_is_rejected() {
        let text = "display_name,emails,preferred_channel,consent_basis,consent_since,working_hours\n\
            Ana,fax:ana@example.org,pigeon,whim,01/02/2024,Monday 9-5\nBo,bo@example.org\n";
        let records = read_str(text);
        let fields: Vec<&str> = records[0].violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["emails[0]", "preferred_channel", "consent_basis", "consent_since", "working_hours[0]"]);
        assert_eq!(records[1].violations[0].field, "row");
    }

    #[test]
    fn written_rows_read_back() {
        let contact = wire::Contact {
            display_name: "Ana, \"the chair\"".into(),
            given_name: "Ana".into(),
            emails: vec![
                wire::EmailAddress { address: "a@home.example".into(), r#type: 2, primary: false },
                wire::EmailAddress { address: "a@work.example".into(), r#type: 1, primary: true },
            ],
            phones: vec![wire::PhoneNumber { number: "+34911234567".into(), r#type: 3, primary: true }],
            languages: vec!["es".into(), "en".into()],
            time_zone: "Europe/Madrid".into(),
            working_hours: vec![wire::WorkingHours { day: 5, start_time: "09:00".into(), end_time: "13:00".into() }],
            labels: vec!["board".into()],
            consent: Some(wire::Consent {
                allowed_channels: vec![1, 3],
                basis: 2,
                since: Some(wire::Date { year: 2024, month: 2, day: 29 }),
                note: "line\nbreak".into(),
                ..Default::default()
            }),
            notes: "multi\r\nline, with \"quotes\"".into(),
            uid: "urn:uuid:1".into(),
            ..Default::default()
        };
        let bytes = write(std::slice::from_ref(&contact), true).expect("written");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.starts_with("display_name,given_name,"));
        assert!(text.ends_with("\r\n"));
        let read_back = &read(&[&bytes]).expect("valid")[0];
        assert!(read_back.violations.is_empty(), "{:?}", read_back.violations);
        let mut expected = contact.clone();
        expected.emails.reverse();
        expected.emails[1].primary = false;
        expected.emails[0].primary = true;
        assert_eq!(read_back.contact, expected);
    }
}

#[cfg(test)]
mod proptests;
