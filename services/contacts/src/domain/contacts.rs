//! Contacts (people) as a client may set them: all their fields validated together, and the rules of those that
//! are a contact's own, languages (BCP-47 tags) and working hours. How a contact is reached is in `channels`.
use super::channels::{Channels, ConsentRecord, ContactChannel};
use super::labels;
use super::search::fold;
use super::{DISPLAY_NAME_MAX, NOTES_MAX};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;
use liaison_runtime::api::validate::{TimeZone, long_text, optional_text, required_text};
use serde::{Deserialize, Serialize};

pub const PERSON_NAME_MAX: usize = 100;
pub const LANGUAGES_MAX: usize = 10;
pub const WORKING_HOURS_MAX: usize = 14;

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
                languages(&f("languages"), &c.languages),
                TimeZone::parse_optional(&f("time_zone"), &c.time_zone),
                working_hours(&f("working_hours"), &c.working_hours),
                labels::labels(&f("labels"), &c.labels),
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
        fold(&parts.join(" "))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
