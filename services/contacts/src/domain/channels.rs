//! The ways a contact is reached and may be reached: typed email addresses and phone numbers with one primary
//! each, preferred channel, languages, working hours, consent, labels, and organisations' postal addresses.
use super::{email, phone};
use chrono::NaiveDate;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;
use serde::{Deserialize, Serialize};

pub const CHANNELS_MAX: usize = 20;
pub const LANGUAGES_MAX: usize = 10;
pub const WORKING_HOURS_MAX: usize = 14;
pub const LABELS_MAX: usize = 50;
pub const LABEL_MAX: usize = 63;
pub const CONSENT_NOTE_MAX: usize = 1000;
pub const ADDRESS_LINES_MAX: usize = 5;
pub const ADDRESS_LINE_MAX: usize = 200;

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
        if entries.len() > CHANNELS_MAX {
            return Err(vec![FieldViolation::new(field, format!("must have at most {CHANNELS_MAX} entries"))]);
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

/// A well-formed BCP-47 language tag (RFC 5646 syntax), in canonical case (`en-GB`, `zh-Hant-TW`).
pub fn language_tag(field: &str, value: &str) -> Result<String, FieldViolation> {
    let invalid =
        || FieldViolation::new(field, format!("'{value}' is not a BCP-47 language tag (e.g. en, fr-CA, zh-Hant-TW)"));
    let value = value.trim();
    if value.is_empty() || value.len() > 35 {
        return Err(invalid());
    }
    let subtags: Vec<&str> = value.split('-').collect();
    if subtags.iter().any(|s| s.is_empty() || s.len() > 8 || !s.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(invalid());
    }
    let alpha = |s: &str| s.chars().all(|c| c.is_ascii_alphabetic());
    let digit = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mut out: Vec<String> = Vec::new();
    let mut rest = subtags.iter().peekable();
    let language = rest.next().copied().unwrap_or_default();
    // RFC 5646 also allows 5-8 letter language subtags, but the registry holds none: "english" is not a tag.
    if !(alpha(language) && (2..=3).contains(&language.len())) {
        return Err(invalid());
    }
    out.push(language.to_ascii_lowercase());
    // Up to three extended language subtags.
    let mut extlangs = 0;
    while let Some(s) = rest.peek().copied() {
        if extlangs < 3 && language.len() <= 3 && s.len() == 3 && alpha(s) {
            out.push(s.to_ascii_lowercase());
            extlangs += 1;
            rest.next();
        } else {
            break;
        }
    }
    if let Some(s) = rest.peek().copied().filter(|s| s.len() == 4 && alpha(s)) {
        let mut script = s.to_ascii_lowercase();
        script[..1].make_ascii_uppercase();
        out.push(script);
        rest.next();
    }
    if let Some(s) = rest.peek().copied().filter(|s| (s.len() == 2 && alpha(s)) || (s.len() == 3 && digit(s))) {
        out.push(s.to_ascii_uppercase());
        rest.next();
    }
    let mut variants_and_extensions = Vec::new();
    for s in rest {
        variants_and_extensions.push(s.to_ascii_lowercase());
    }
    // What follows must be variants (5-8 alphanumerics, or a digit and 3), extensions (a singleton and 2-8
    // alphanumerics) or private use (`x` and 1-8).
    let mut i = 0;
    while i < variants_and_extensions.len() {
        let s = &variants_and_extensions[i];
        if s.len() == 1 {
            let private = s == "x";
            let start = i + 1;
            let mut j = start;
            while j < variants_and_extensions.len() && (private || variants_and_extensions[j].len() >= 2) {
                j += 1;
            }
            if j == start {
                return Err(invalid());
            }
            i = j;
        } else if (5..=8).contains(&s.len()) || (s.len() == 4 && s.starts_with(|c: char| c.is_ascii_digit())) {
            i += 1;
        } else {
            return Err(invalid());
        }
    }
    out.extend(variants_and_extensions);
    Ok(out.join("-"))
}

/// Preferred languages: well-formed tags, canonical case, no duplicates, at most ten.
pub fn languages(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > LANGUAGES_MAX {
        return Err(vec![FieldViolation::new(field, format!("must have at most {LANGUAGES_MAX} entries"))]);
    }
    let mut violations = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match language_tag(&format!("{field}[{index}]"), value) {
            Ok(tag) if tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) => {}
            Ok(tag) => tags.push(tag),
            Err(v) => violations.push(v),
        }
    }
    if violations.is_empty() { Ok(tags) } else { Err(violations) }
}

/// Labels: lower-case, sorted, without duplicates.
pub fn labels(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > LABELS_MAX {
        return Err(vec![FieldViolation::new(field, format!("must have at most {LABELS_MAX} labels"))]);
    }
    let mut violations = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match label(&format!("{field}[{index}]"), value) {
            Ok(l) => out.push(l),
            Err(v) => violations.push(v),
        }
    }
    out.sort();
    out.dedup();
    if violations.is_empty() { Ok(out) } else { Err(violations) }
}

/// One label: 1 to 63 of `a-z 0-9 - _ : .`, starting with a letter or digit (upper case folded).
pub fn label(field: &str, value: &str) -> Result<String, FieldViolation> {
    let folded = value.trim().to_lowercase();
    let ok = !folded.is_empty()
        && folded.len() <= LABEL_MAX
        && folded.starts_with(|c: char| c.is_ascii_alphanumeric())
        && folded.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:.".contains(c));
    if ok {
        Ok(folded)
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "'{value}' is not a label (1 to {LABEL_MAX} of a-z, 0-9, '-', '_', ':', '.', starting alphanumeric)"
            ),
        ))
    }
}

/// Labels as stored: `,a,b,` so that one label is found with `LIKE '%,a,%'`; empty when there are none.
pub fn labels_column(labels: &[String]) -> String {
    if labels.is_empty() { String::new() } else { format!(",{},", labels.join(",")) }
}

pub fn labels_from_column(column: &str) -> Vec<String> {
    column.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Working hours on one weekday, in minutes from midnight (end exclusive, at most 24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingInterval {
    /// ISO weekday, 1 (Monday) to 7.
    pub day: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

fn clock(field: &str, value: &str, allow_midnight_end: bool) -> Result<u16, FieldViolation> {
    let invalid = || FieldViolation::new(field, format!("'{value}' is not a time of day HH:MM"));
    let (h, m) = value.trim().split_once(':').ok_or_else(invalid)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(invalid());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
    match (h, m) {
        (24, 0) if allow_midnight_end => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(invalid()),
    }
}

fn clock_text(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl WorkingInterval {
    pub fn to_wire(self) -> wire::WorkingHours {
        wire::WorkingHours {
            day: i32::from(self.day),
            start_time: clock_text(self.start_minute),
            end_time: clock_text(self.end_minute),
        }
    }
}

/// Working hours: each interval valid, no two overlapping on one day; sorted by day and start.
pub fn working_hours(field: &str, values: &[wire::WorkingHours]) -> Result<Vec<WorkingInterval>, Vec<FieldViolation>> {
    if values.len() > WORKING_HOURS_MAX {
        return Err(vec![FieldViolation::new(field, format!("must have at most {WORKING_HOURS_MAX} intervals"))]);
    }
    let mut violations = Vec::new();
    let mut intervals = Vec::new();
    for (index, hours) in values.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let day = match wire::Weekday::try_from(hours.day) {
            Ok(wire::Weekday::Unspecified) => {
                Err(FieldViolation::new(format!("{at}.day"), "is required (e.g. WEEKDAY_MONDAY)"))
            }
            Ok(day) => Ok(day as u8),
            Err(_) => Err(FieldViolation::new(format!("{at}.day"), format!("{} is not a Weekday", hours.day))),
        };
        let start = clock(&format!("{at}.start_time"), &hours.start_time, false);
        let end = clock(&format!("{at}.end_time"), &hours.end_time, true);
        match (day, start, end) {
            (Ok(_), Ok(start), Ok(end)) if end <= start => violations.push(FieldViolation::new(
                format!("{at}.end_time"),
                format!("must be after start_time {}", clock_text(start)),
            )),
            (Ok(day), Ok(start_minute), Ok(end_minute)) => {
                intervals.push((index, WorkingInterval { day, start_minute, end_minute }))
            }
            (day, start, end) => violations.extend(day.err().into_iter().chain(start.err()).chain(end.err())),
        }
    }
    intervals.sort_by_key(|(_, i)| (i.day, i.start_minute));
    for pair in intervals.windows(2) {
        let ((_, a), (index, b)) = (pair[0], pair[1]);
        if a.day == b.day && b.start_minute < a.end_minute {
            violations.push(FieldViolation::new(
                format!("{field}[{index}]"),
                format!("overlaps {}-{} on the same day", clock_text(a.start_minute), clock_text(a.end_minute)),
            ));
        }
    }
    if violations.is_empty() { Ok(intervals.into_iter().map(|(_, i)| i).collect()) } else { Err(violations) }
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
        for (index, channel) in consent.allowed_channels.iter().enumerate() {
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
        use liaison_runtime::api::validate::optional_text;
        let Some(a) = address else { return Ok(None) };
        let mut violations = Vec::new();
        let mut take = |r: Result<String, FieldViolation>| {
            r.unwrap_or_else(|v| {
                violations.push(v);
                String::new()
            })
        };
        let mut lines = Vec::new();
        for (index, line) in a.address_lines.iter().enumerate() {
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
        if a.address_lines.len() > ADDRESS_LINES_MAX {
            violations.push(FieldViolation::new(
                format!("{field}.address_lines"),
                format!("must have at most {ADDRESS_LINES_MAX} lines"),
            ));
        }
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

/// Text folded for matching: lower case, accents removed, runs of non-alphanumerics collapsed to one space.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '@' || c == '.' || c == '+' {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn language_tags_are_checked_and_put_in_canonical_case() {
        assert_eq!(language_tag("l", "EN-gb").as_deref(), Ok("en-GB"));
        assert_eq!(language_tag("l", "zh-hant-tw").as_deref(), Ok("zh-Hant-TW"));
        assert_eq!(language_tag("l", "es-419").as_deref(), Ok("es-419"));
        assert_eq!(language_tag("l", "de-CH-1996").as_deref(), Ok("de-CH-1996"));
        assert_eq!(language_tag("l", "en-US-x-twain").as_deref(), Ok("en-US-x-twain"));
        for bad in ["", "e", "english", "english language", "en_GB", "en-", "fr-toolongsubtag", "12", "en-a"] {
            assert!(language_tag("l", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn labels_are_folded_sorted_and_deduplicated() {
        assert_eq!(
            labels("l", &["Water".into(), "board".into(), "water".into()]),
            Ok(vec!["board".into(), "water".into()])
        );
        assert!(labels("l", &["with space".into()]).is_err());
        assert!(labels("l", &["-lead".into()]).is_err());
        assert_eq!(labels_from_column(&labels_column(&["a".into(), "b".into()])), vec!["a", "b"]);
    }

    #[test]
    fn working_hours_must_not_overlap_on_a_day() {
        let hours =
            |day, start: &str, end: &str| wire::WorkingHours { day, start_time: start.into(), end_time: end.into() };
        let ok =
            working_hours("w", &[hours(1, "13:00", "17:00"), hours(1, "09:00", "12:00"), hours(2, "09:00", "24:00")])
                .expect("valid");
        assert_eq!(ok[0], WorkingInterval { day: 1, start_minute: 540, end_minute: 720 });
        let err = working_hours("w", &[hours(1, "09:00", "12:00"), hours(1, "11:00", "13:00")]).expect_err("overlap");
        assert_eq!(err[0].field, "w[1]");
        let err = working_hours("w", &[hours(0, "9:00", "08:00")]).expect_err("bad");
        assert_eq!(err.len(), 2);
        assert!(working_hours("w", &[hours(3, "10:00", "09:00")]).is_err());
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
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("  Zoë  MÜLLER-Lüdenscheidt "), "zoe muller ludenscheidt");
    }
}
