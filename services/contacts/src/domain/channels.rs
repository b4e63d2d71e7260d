//! How a contact is reached and may be reached: typed email addresses and phone numbers with one primary each
//! (and the syntax of each), the preferred channel, and consent.
use chrono::NaiveDate;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;
use serde::{Deserialize, Serialize};

pub const CHANNELS_MAX: usize = 20;
pub const EMAIL_MAX: usize = 254;
pub const CONSENT_NOTE_MAX: usize = 1000;
/// Each channel once, with room for channels added to the enum later.
pub const ALLOWED_CHANNELS_MAX: usize = 16;

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

/// Work, home, mobile or other; "unspecified" is read as work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    Work,
    Home,
    Mobile,
    Other,
}

impl ChannelType {
    fn parse(field: &str, value: i32, allow_mobile: bool) -> Result<Self, FieldViolation> {
        use wire::ChannelType as W;
        match W::try_from(value) {
            Ok(W::Unspecified | W::Work) => Ok(Self::Work),
            Ok(W::Home) => Ok(Self::Home),
            Ok(W::Mobile) if allow_mobile => Ok(Self::Mobile),
            Ok(W::Mobile) => Err(FieldViolation::new(field, "CHANNEL_TYPE_MOBILE applies to phones only")),
            Ok(W::Other) => Ok(Self::Other),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a ChannelType"))),
        }
    }

    pub fn to_wire(self) -> i32 {
        use wire::ChannelType as W;
        (match self {
            Self::Work => W::Work,
            Self::Home => W::Home,
            Self::Mobile => W::Mobile,
            Self::Other => W::Other,
        }) as i32
    }
}

/// One email address or phone number, already validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub primary: bool,
}

/// A contact's email addresses or phone numbers: no value twice, exactly one primary when there are any.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Channels(Vec<Channel>);

impl Channels {
    pub fn new_unchecked(channels: Vec<Channel>) -> Self {
        Self(channels)
    }

    pub fn as_slice(&self) -> &[Channel] {
        &self.0
    }

    pub fn primary(&self) -> Option<&str> {
        self.0.iter().find(|c| c.primary).map(|c| c.value.as_str())
    }

    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|c| c.value.as_str())
    }

    /// Emails from `list`, or from the single `fallback` when the list is empty.
    /// `prefix` is the message path (e.g. `contact`): the list is `{prefix}.emails`, the fallback `{prefix}.email`.
    pub fn emails(prefix: &str, list: &[wire::EmailAddress], fallback: &str) -> Result<Self, Vec<FieldViolation>> {
        let entries: Vec<(String, i32, bool)> = if list.is_empty() {
            if fallback.trim().is_empty() { vec![] } else { vec![(fallback.to_owned(), 0, true)] }
        } else {
            let list = liaison_runtime::api::validate::at_most(&format!("{prefix}.emails"), list, CHANNELS_MAX)?;
            list.iter().map(|e| (e.address.clone(), e.r#type, e.primary)).collect()
        };
        let (field, value_field) =
            if list.is_empty() { (format!("{prefix}.email"), "") } else { (format!("{prefix}.emails"), "address") };
        Self::parse(&field, value_field, entries, false, |f, v| {
            email(f, v).and_then(|e| if e.is_empty() { Err(FieldViolation::new(f, "is required")) } else { Ok(e) })
        })
    }

    /// Phones from `list`, or from the single `fallback` when the list is empty.
    /// `prefix` is the message path (e.g. `contact`): the list is `{prefix}.phones`, the fallback `{prefix}.phone`.
    pub fn phones(prefix: &str, list: &[wire::PhoneNumber], fallback: &str) -> Result<Self, Vec<FieldViolation>> {
        let entries: Vec<(String, i32, bool)> = if list.is_empty() {
            if fallback.trim().is_empty() { vec![] } else { vec![(fallback.to_owned(), 0, true)] }
        } else {
            let list = liaison_runtime::api::validate::at_most(&format!("{prefix}.phones"), list, CHANNELS_MAX)?;
            list.iter().map(|e| (e.number.clone(), e.r#type, e.primary)).collect()
        };
        let (field, value_field) =
            if list.is_empty() { (format!("{prefix}.phone"), "") } else { (format!("{prefix}.phones"), "number") };
        Self::parse(&field, value_field, entries, true, |f, v| {
            phone(f, v).and_then(|p| if p.is_empty() { Err(FieldViolation::new(f, "is required")) } else { Ok(p) })
        })
    }

    fn parse(
        field: &str,
        value_field: &str,
        entries: Vec<(String, i32, bool)>,
        allow_mobile: bool,
        parse_value: impl Fn(&str, &str) -> Result<String, FieldViolation>,
    ) -> Result<Self, Vec<FieldViolation>> {
        if value_field.is_empty() {
            // The single top-level `email`/`phone` field.
            return match entries.into_iter().next() {
                None => Ok(Self::default()),
                Some((value, _, _)) => parse_value(field, &value)
                    .map(|value| Self(vec![Channel { value, kind: ChannelType::Work, primary: true }]))
                    .map_err(|v| vec![v]),
            };
        }
        let mut violations = Vec::new();
        let mut channels: Vec<Channel> = Vec::new();
        for (index, (value, kind, primary)) in entries.into_iter().enumerate() {
            let at = format!("{field}[{index}]");
            let value = parse_value(&format!("{at}.{value_field}"), &value);
            let kind = ChannelType::parse(&format!("{at}.type"), kind, allow_mobile);
            match (value, kind) {
                (Ok(value), Ok(kind)) => {
                    if channels.iter().any(|c| c.value.eq_ignore_ascii_case(&value)) {
                        violations.push(FieldViolation::new(
                            format!("{at}.{value_field}"),
                            format!("'{value}' is listed twice"),
                        ));
                    } else {
                        channels.push(Channel { value, kind, primary });
                    }
                }
                (value, kind) => violations.extend(value.err().into_iter().chain(kind.err())),
            }
        }
        if channels.iter().filter(|c| c.primary).count() > 1 {
            violations.push(FieldViolation::new(field, "at most one entry may be primary"));
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        if !channels_have_primary(&channels)
            && let Some(first) = channels.first_mut()
        {
            first.primary = true;
        }
        Ok(Self(channels))
    }

    /// The union of two lists: `self` first, then what `other` adds; `self`'s primary stays primary.
    pub fn union(&self, other: &Channels) -> Channels {
        let mut merged = self.0.clone();
        for channel in &other.0 {
            if !merged.iter().any(|c| c.value.eq_ignore_ascii_case(&channel.value)) {
                merged.push(Channel { primary: false, ..channel.clone() });
            }
        }
        if !channels_have_primary(&merged)
            && let Some(first) = merged.first_mut()
        {
            first.primary = true;
        }
        merged.truncate(CHANNELS_MAX);
        Channels(merged)
    }

    pub fn to_emails(&self) -> Vec<wire::EmailAddress> {
        self.0
            .iter()
            .map(|c| wire::EmailAddress { address: c.value.clone(), r#type: c.kind.to_wire(), primary: c.primary })
            .collect()
    }

    pub fn to_phones(&self) -> Vec<wire::PhoneNumber> {
        self.0
            .iter()
            .map(|c| wire::PhoneNumber { number: c.value.clone(), r#type: c.kind.to_wire(), primary: c.primary })
            .collect()
    }
}

fn channels_have_primary(channels: &[Channel]) -> bool {
    channels.iter().any(|c| c.primary)
}

/// How a person prefers to be (or may be) reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactChannel(i32);

impl ContactChannel {
    /// A channel; `allow_unspecified` for "no preference".
    pub fn parse(field: &str, value: i32, allow_unspecified: bool) -> Result<Option<Self>, FieldViolation> {
        use wire::ContactChannel as W;
        match W::try_from(value) {
            Ok(W::Unspecified) if allow_unspecified => Ok(None),
            Ok(W::Unspecified) => Err(FieldViolation::new(field, "must name a channel (e.g. CONTACT_CHANNEL_EMAIL)")),
            Ok(channel) => Ok(Some(Self(channel as i32))),
            Err(_) => Err(FieldViolation::new(field, format!("{value} is not a ContactChannel"))),
        }
    }

    pub fn value(self) -> i32 {
        self.0
    }
}

/// Whether, how and on what basis a person may be contacted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub do_not_contact: bool,
    pub allowed_channels: Vec<i32>,
    pub basis: i32,
    pub since: Option<NaiveDate>,
    pub note: String,
}

impl ConsentRecord {
    pub fn parse(field: &str, consent: Option<&wire::Consent>, today: NaiveDate) -> Result<Self, Vec<FieldViolation>> {
        let Some(consent) = consent else { return Ok(Self::default()) };
        let mut violations = Vec::new();
        let mut allowed = Vec::new();
        let channels = liaison_runtime::api::validate::at_most(
            &format!("{field}.allowed_channels"),
            &consent.allowed_channels,
            ALLOWED_CHANNELS_MAX,
        )
        .unwrap_or_else(|violation| {
            violations.push(violation);
            &[]
        });
        for (index, channel) in channels.iter().enumerate() {
            match ContactChannel::parse(&format!("{field}.allowed_channels[{index}]"), *channel, false) {
                Ok(Some(c)) if !allowed.contains(&c.value()) => allowed.push(c.value()),
                Ok(_) => {}
                Err(v) => violations.push(v),
            }
        }
        allowed.sort_unstable();
        if consent.do_not_contact && !allowed.is_empty() {
            violations.push(FieldViolation::new(
                format!("{field}.allowed_channels"),
                "must be empty when do_not_contact is set",
            ));
        }
        let basis = match wire::ConsentBasis::try_from(consent.basis) {
            Ok(wire::ConsentBasis::Unspecified) if !allowed.is_empty() => {
                violations.push(FieldViolation::new(
                    format!("{field}.basis"),
                    "is required when allowed_channels is set (e.g. CONSENT_BASIS_CONSENT)",
                ));
                0
            }
            Ok(basis) => basis as i32,
            Err(_) => {
                violations.push(FieldViolation::new(
                    format!("{field}.basis"),
                    format!("{} is not a ConsentBasis", consent.basis),
                ));
                0
            }
        };
        let since = match super::graph::date(&format!("{field}.since"), consent.since.as_ref()) {
            Ok(Some(d)) if d > today => {
                violations.push(FieldViolation::new(format!("{field}.since"), "must not be in the future"));
                None
            }
            Ok(d) => d,
            Err(v) => {
                violations.push(v);
                None
            }
        };
        let note = match liaison_runtime::api::validate::long_text(
            &format!("{field}.note"),
            &consent.note,
            CONSENT_NOTE_MAX,
        ) {
            Ok(n) => n,
            Err(v) => {
                violations.push(v);
                String::new()
            }
        };
        if violations.is_empty() {
            Ok(Self { do_not_contact: consent.do_not_contact, allowed_channels: allowed, basis, since, note })
        } else {
            Err(violations)
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn to_wire(&self) -> Option<wire::Consent> {
        (!self.is_empty()).then(|| wire::Consent {
            do_not_contact: self.do_not_contact,
            allowed_channels: self.allowed_channels.clone(),
            basis: self.basis,
            since: super::graph::date_to_wire(self.since),
            note: self.note.clone(),
        })
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

    fn email_entry(address: &str, primary: bool) -> wire::EmailAddress {
        wire::EmailAddress { address: address.into(), r#type: 0, primary }
    }

    #[test]
    fn the_first_email_becomes_primary_when_none_is() {
        let channels =
            Channels::emails("c", &[email_entry("a@x.org", false), email_entry("b@x.org", false)], "").expect("valid");
        assert_eq!(channels.primary(), Some("a@x.org"));
    }

    #[test]
    fn two_primaries_or_a_repeated_address_are_rejected() {
        let err = Channels::emails("c", &[email_entry("a@x.org", true), email_entry("b@x.org", true)], "")
            .expect_err("two primaries");
        assert_eq!(err[0].field, "c.emails");
        let err = Channels::emails("c", &[email_entry("a@x.org", false), email_entry("a@X.org", false)], "")
            .expect_err("twice");
        assert_eq!(err[0].field, "c.emails[1].address");
    }

    #[test]
    fn the_single_email_field_is_a_fallback() {
        let channels = Channels::emails("c", &[], "ada@example.org").expect("valid");
        assert_eq!(channels.primary(), Some("ada@example.org"));
        let err = Channels::emails("c", &[], "nope").expect_err("invalid");
        assert_eq!(err[0].field, "c.email");
    }

    #[test]
    fn mobile_is_for_phones_only() {
        let email =
            wire::EmailAddress { address: "a@x.org".into(), r#type: wire::ChannelType::Mobile as i32, primary: false };
        assert!(Channels::emails("e", &[email], "").is_err());
        let phone = wire::PhoneNumber {
            number: "+33 1 23 45 67 89".into(),
            r#type: wire::ChannelType::Mobile as i32,
            primary: false,
        };
        let phones = Channels::phones("p", &[phone], "").expect("valid");
        assert_eq!(phones.primary(), Some("+33123456789"));
    }

    #[test]
    fn do_not_contact_excludes_allowed_channels_and_a_basis_is_needed() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let consent = wire::Consent { do_not_contact: true, allowed_channels: vec![1], ..Default::default() };
        let err = ConsentRecord::parse("c", Some(&consent), today).expect_err("contradiction");
        let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["c.allowed_channels", "c.basis"]);
        let consent = wire::Consent { do_not_contact: true, ..Default::default() };
        assert!(ConsentRecord::parse("c", Some(&consent), today).expect("valid").do_not_contact);
    }

    #[test]
    fn a_million_allowed_channels_are_one_violation_not_a_million() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let consent = wire::Consent { allowed_channels: vec![99; 1_000_000], basis: 1, ..Default::default() };
        let err = ConsentRecord::parse("c", Some(&consent), today).expect_err("too many");
        assert_eq!(err.len(), 1, "checked before the items are parsed");
        assert_eq!(err[0].field, "c.allowed_channels");
        assert!(err[0].description.contains("at most 16 items (got 1000000)"));
    }
}
