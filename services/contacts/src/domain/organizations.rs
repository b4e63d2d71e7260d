//! Organisations as a client may set them: their kind, website and postal address, and all their fields
//! validated together.
use super::labels;
use super::{DISPLAY_NAME_MAX, NOTES_MAX};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;
use liaison_runtime::api::validate::{long_text, required_text};
use serde::{Deserialize, Serialize};

pub const WEBSITE_MAX: usize = 2048;
pub const ADDRESS_LINES_MAX: usize = 5;
pub const ADDRESS_LINE_MAX: usize = 200;

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

/// An organisation's postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalAddress {
    pub address_lines: Vec<String>,
    pub locality: String,
    pub administrative_area: String,
    pub postal_code: String,
    pub region_code: String,
}

impl PostalAddress {
    pub fn parse(field: &str, address: Option<&wire::PostalAddress>) -> Result<Option<Self>, Vec<FieldViolation>> {
        use liaison_runtime::api::validate::{at_most, optional_text};
        let Some(a) = address else { return Ok(None) };
        let mut violations = Vec::new();
        let address_lines = match at_most(&format!("{field}.address_lines"), &a.address_lines, ADDRESS_LINES_MAX) {
            Ok(address_lines) => address_lines,
            Err(violation) => {
                violations.push(violation);
                &[]
            }
        };
        let mut take = |r: Result<String, FieldViolation>| {
            r.unwrap_or_else(|v| {
                violations.push(v);
                String::new()
            })
        };
        let mut lines = Vec::new();
        for (index, line) in address_lines.iter().enumerate() {
            let line = take(optional_text(&format!("{field}.address_lines[{index}]"), line, ADDRESS_LINE_MAX));
            if !line.is_empty() {
                lines.push(line);
            }
        }
        let locality = take(optional_text(&format!("{field}.locality"), &a.locality, 100));
        let administrative_area =
            take(optional_text(&format!("{field}.administrative_area"), &a.administrative_area, 100));
        let postal_code = take(optional_text(&format!("{field}.postal_code"), &a.postal_code, 20));
        let region_code = a.region_code.trim().to_ascii_uppercase();
        let parsed = Self { address_lines: lines, locality, administrative_area, postal_code, region_code };
        let anything_else = !parsed.address_lines.is_empty()
            || !parsed.locality.is_empty()
            || !parsed.administrative_area.is_empty()
            || !parsed.postal_code.is_empty();
        if parsed.region_code.is_empty() {
            if anything_else {
                violations.push(FieldViolation::new(
                    format!("{field}.region_code"),
                    "is required with an address (ISO 3166-1 alpha-2, e.g. FR)",
                ));
            }
        } else if parsed.region_code.len() != 2 || !parsed.region_code.chars().all(|c| c.is_ascii_uppercase()) {
            violations.push(FieldViolation::new(
                format!("{field}.region_code"),
                format!("'{}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)", a.region_code),
            ));
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok((anything_else || !parsed.region_code.is_empty()).then_some(parsed))
    }

    pub fn to_wire(&self) -> wire::PostalAddress {
        wire::PostalAddress {
            address_lines: self.address_lines.clone(),
            locality: self.locality.clone(),
            administrative_area: self.administrative_area.clone(),
            postal_code: self.postal_code.clone(),
            region_code: self.region_code.clone(),
        }
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
            labels::labels(&f("labels"), &o.labels),
        )
            .collect()?;
        Ok(Self { display_name, kind, website, notes, parent, postal_address, labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_address_needs_a_country() {
        let address = wire::PostalAddress { locality: "Lyon".into(), ..Default::default() };
        assert_eq!(PostalAddress::parse("a", Some(&address)).expect_err("no country")[0].field, "a.region_code");
        let address = wire::PostalAddress { locality: "Lyon".into(), region_code: "fr".into(), ..Default::default() };
        assert_eq!(
            PostalAddress::parse("a", Some(&address)).expect("valid").map(|a| a.region_code).as_deref(),
            Some("FR")
        );
    }

    #[test]
    fn a_million_address_lines_are_one_violation_not_a_million() {
        let address = wire::PostalAddress {
            address_lines: vec!["x".repeat(300); 1_000_000],
            region_code: "FR".into(),
            ..Default::default()
        };
        let err = PostalAddress::parse("a", Some(&address)).expect_err("too many");
        assert_eq!(err.len(), 1, "checked before the lines are parsed");
        assert_eq!(err[0].field, "a.address_lines");
    }
}
