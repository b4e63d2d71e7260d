//! The rules of the contacts register, free of I/O: what a valid organisation, contact, affiliation and
//! relationship are, and how conflicts of interest are found.

pub mod channels;
pub mod conflicts;
pub mod duplicates;
pub mod engagement;
pub mod graph;
pub mod history;
pub mod merge;
pub mod search;
pub mod transfer;
use channels::{Channels, ConsentRecord, ContactChannel, PostalAddress, WorkingInterval};
use liaison_runtime::FieldViolation;
use liaison_runtime::api::validate::{TimeZone, long_text, optional_text, required_text};

pub const DISPLAY_NAME_MAX: usize = 200;
pub const PERSON_NAME_MAX: usize = 100;
pub const NOTES_MAX: usize = 10_000;
pub const WEBSITE_MAX: usize = 2048;
pub const EMAIL_MAX: usize = 254;
/// Names per BatchGet call.
pub const BATCH_MAX: usize = 1000;

/// The kind of an organisation (never "unspecified").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrganizationKind(i32);

impl OrganizationKind {
    pub fn parse(field: &str, value: i32) -> Result<Self, FieldViolation> {
        use liaison_proto::contacts::v1::OrganizationKind as Wire;
        match Wire::try_from(value) {
            Ok(Wire::Unspecified) => Err(FieldViolation::new(field, "is required (e.g. ORGANIZATION_KIND_AGENCY)")),
            Ok(kind) => Ok(Self(kind as i32)),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not an OrganizationKind"))),
        }
    }

    pub fn value(self) -> i32 {
        self.0
    }
}

/// A web address: absolute http(s) URL with a host, or empty.
pub fn website(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let host = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        _ if value.chars().count() > WEBSITE_MAX => {
            Err(FieldViolation::new(field, format!("must be at most {WEBSITE_MAX} characters")))
        }
        Some(host) if !host.is_empty() && !value.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Ok(value.to_owned())
        }
        _ => Err(FieldViolation::new(field, format!("'{value}' is not an absolute http or https URL"))),
    }
}

/// An email address `local@domain`, domain lower-cased; empty allowed.
pub fn email(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let invalid = || FieldViolation::new(field, format!("'{value}' is not an email address (local@domain.tld)"));
    if value.len() > EMAIL_MAX {
        return Err(FieldViolation::new(field, format!("must be at most {EMAIL_MAX} characters")));
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(format!("{local}@{}", domain.to_lowercase())) } else { Err(invalid()) }
}

/// A phone number normalised to E.164 (`+` then 8 to 15 digits); `00` is read as `+`; empty allowed.
pub fn phone(field: &str, value: &str) -> Result<String, FieldViolation> {
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
    if compact.is_empty() {
        return Ok(String::new());
    }
    let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00"));
    match digits {
        Some(d) if (8..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()) && !d.starts_with('0') => {
            Ok(format!("+{d}"))
        }
        _ => Err(FieldViolation::new(
            field,
            format!("'{value}' is not an international phone number (E.164, e.g. +33 1 23 45 67 89)"),
        )),
    }
}

/// The fields of an organisation as a client may set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationFields {
    pub display_name: String,
    pub kind: OrganizationKind,
    pub website: String,
    pub notes: String,
    pub parent: Option<liaison_runtime::api::names::Name<liaison_runtime::api::names::Organizations>>,
    pub postal_address: Option<PostalAddress>,
    pub labels: Vec<String>,
}

/// Organisation fields an update may name.
pub const ORGANIZATION_UPDATABLE: &[&str] =
    &["display_name", "kind", "website", "notes", "parent", "postal_address", "labels"];

impl OrganizationFields {
    /// Parses every field, prefixing violations with `prefix` (e.g. `organization`).
    pub fn parse(prefix: &str, o: &liaison_proto::contacts::v1::Organization) -> Result<Self, Vec<FieldViolation>> {
        use liaison_runtime::Validate;
        let f = |name: &str| format!("{prefix}.{name}");
        let parent = |field: &str, value: &str| {
            if value.is_empty() { Ok(None) } else { liaison_runtime::api::names::Name::parse(field, value).map(Some) }
        };
        let (display_name, kind, website, notes, parent, postal_address, labels) = (
            required_text(&f("display_name"), &o.display_name, DISPLAY_NAME_MAX),
            OrganizationKind::parse(&f("kind"), o.kind),
            website(&f("website"), &o.website),
            long_text(&f("notes"), &o.notes, NOTES_MAX),
            parent(&f("parent"), &o.parent),
            PostalAddress::parse(&f("postal_address"), o.postal_address.as_ref()),
            channels::labels(&f("labels"), &o.labels),
        )
            .collect()?;
        Ok(Self { display_name, kind, website, notes, parent, postal_address, labels })
    }
}

/// The fields of a contact as a client may set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFields {
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub emails: Channels,
    pub phones: Channels,
    pub preferred_channel: Option<ContactChannel>,
    pub languages: Vec<String>,
    pub time_zone: Option<TimeZone>,
    pub working_hours: Vec<WorkingInterval>,
    pub labels: Vec<String>,
    pub consent: ConsentRecord,
    pub notes: String,
}

/// Contact fields an update may name (`email` and `phone` replace the lists by one entry).
pub const CONTACT_UPDATABLE: &[&str] = &[
    "display_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "email",
    "phone",
    "preferred_channel",
    "languages",
    "time_zone",
    "working_hours",
    "labels",
    "consent",
    "notes",
];

impl ContactFields {
    pub fn parse(prefix: &str, c: &liaison_proto::contacts::v1::Contact) -> Result<Self, Vec<FieldViolation>> {
        use liaison_runtime::Validate;
        let f = |name: &str| format!("{prefix}.{name}");
        let today = liaison_runtime::api::time::now().date_naive();
        let (
            (display_name, given_name, family_name, emails, phones, preferred_channel),
            (languages, time_zone, working_hours, labels, consent, notes),
        ) = (
            (
                required_text(&f("display_name"), &c.display_name, DISPLAY_NAME_MAX),
                optional_text(&f("given_name"), &c.given_name, PERSON_NAME_MAX),
                optional_text(&f("family_name"), &c.family_name, PERSON_NAME_MAX),
                Channels::emails(prefix, &c.emails, &c.email),
                Channels::phones(prefix, &c.phones, &c.phone),
                ContactChannel::parse(&f("preferred_channel"), c.preferred_channel, true),
            )
                .collect(),
            (
                channels::languages(&f("languages"), &c.languages),
                TimeZone::parse_optional(&f("time_zone"), &c.time_zone),
                channels::working_hours(&f("working_hours"), &c.working_hours),
                channels::labels(&f("labels"), &c.labels),
                ConsentRecord::parse(&f("consent"), c.consent.as_ref(), today),
                long_text(&f("notes"), &c.notes, NOTES_MAX),
            )
                .collect(),
        )
            .collect()?;
        if !working_hours.is_empty() && time_zone.is_none() {
            return Err(vec![FieldViolation::new(f("time_zone"), "is required when working_hours are given")]);
        }
        Ok(Self {
            display_name,
            given_name,
            family_name,
            emails,
            phones,
            preferred_channel,
            languages,
            time_zone,
            working_hours,
            labels,
            consent,
            notes,
        })
    }

    /// Text that search and duplicate detection match against: names and email addresses, folded.
    pub fn search_text(&self) -> String {
        let mut parts = vec![self.display_name.as_str(), self.given_name.as_str(), self.family_name.as_str()];
        parts.extend(self.emails.values());
        channels::fold(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(email("e", "Ada@Example.ORG").as_deref(), Ok("Ada@example.org"));
        assert_eq!(email("e", "").as_deref(), Ok(""));
        for bad in ["ada", "ada@", "@example.org", "ada@example", "a b@example.org", "ada@exa_mple.org", "a..b@x.org"] {
            assert!(email("e", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(phone("p", "+33 (1) 23-45.67.89").as_deref(), Ok("+33123456789"));
        assert_eq!(phone("p", "0044 20 7946 0958").as_deref(), Ok("+442079460958"));
        for bad in ["12345", "+1 23", "+33 1 23 45 67 89 00 11 22", "+33abc45678", "01 23 45 67 89"] {
            assert!(phone("p", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn websites_must_be_absolute_http_urls() {
        assert!(website("w", "https://example.org/about").is_ok());
        assert!(website("w", "ftp://example.org").is_err());
        assert!(website("w", "https://").is_err());
        assert!(website("w", "example.org").is_err());
    }

    #[test]
    fn an_unspecified_or_unknown_kind_is_rejected() {
        assert!(OrganizationKind::parse("k", 0).is_err());
        assert!(OrganizationKind::parse("k", 99).is_err());
        assert!(OrganizationKind::parse("k", 2).is_ok());
    }

    #[test]
    fn every_bad_contact_field_is_named() {
        let contact = liaison_proto::contacts::v1::Contact {
            display_name: " ".into(),
            email: "nope".into(),
            time_zone: "Nowhere/Land".into(),
            ..Default::default()
        };
        let violations = ContactFields::parse("contact", &contact).expect_err("invalid");
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["contact.display_name", "contact.email", "contact.time_zone"]);
    }
}
