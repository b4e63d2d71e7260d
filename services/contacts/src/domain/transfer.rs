//! The rules of import and export: the formats and duplicate policies a request may name, the record a format
//! reads from a file (see `crate::formats`), and the check of each record with the very rules of the API
//! ([`ContactFields::parse`]), so that an import never accepts what CreateContact would refuse.
use super::contacts::ContactFields;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

/// The largest import file. The file streams through in batches (memory stays bounded whatever its size), so
/// this bounds only how long one call runs: about a minute and a half at the import rates measured.
pub const IMPORT_MAX_BYTES: usize = 1024 * 1024 * 1024;
/// The most records one import reads.
pub const IMPORT_MAX_RECORDS: usize = 2_000_000;
/// The most bytes of a file an import buffers without a record ending: no contact is that large, and the
/// readers hold an unfinished record in memory.
pub const IMPORT_MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Whether an import that has received `bytes` of its file and read `records` records may go on; the violation
/// on `data` says which bound it passed.
pub fn within_import_bounds(bytes: usize, records: usize) -> Result<(), FieldViolation> {
    if bytes > IMPORT_MAX_BYTES {
        return Err(FieldViolation::new(
            "data",
            format!("the file is larger than {} MiB; split it", IMPORT_MAX_BYTES / (1024 * 1024)),
        ));
    }
    if records > IMPORT_MAX_RECORDS {
        return Err(FieldViolation::new(
            "data",
            format!("the file has more than {IMPORT_MAX_RECORDS} records; split it"),
        ));
    }
    Ok(())
}

/// Imports one server runs at once.
pub const IMPORTS_AT_ONCE: usize = 2;
/// The largest message of an import stream (a chunk of the file): more than the 1 MiB of every other request.
pub const IMPORT_CHUNK_MAX_BYTES: usize = 4 * 1024 * 1024;
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
    let uid = match liaison_runtime::api::validate::optional_text("uid", &contact.uid, UID_MAX) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_goes_on_up_to_one_gib_and_two_million_records_and_not_a_byte_or_record_more() {
        assert!(within_import_bounds(IMPORT_MAX_BYTES, IMPORT_MAX_RECORDS).is_ok());
        let bytes = within_import_bounds(IMPORT_MAX_BYTES + 1, 0).unwrap_err();
        assert_eq!(
            (bytes.field.as_str(), bytes.description.as_str()),
            ("data", "the file is larger than 1024 MiB; split it")
        );
        let records = within_import_bounds(0, IMPORT_MAX_RECORDS + 1).unwrap_err();
        assert_eq!(records.description, "the file has more than 2000000 records; split it");
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
}
