//! Parsing request fields into domain types at the edge, collecting every bad field at once.
//!
//! Each parser returns `Result<T, FieldViolation>` (or `Vec<FieldViolation>` for lists); [`Validate::validate`]
//! on a tuple of such results gives either all the values or one `INVALID_ARGUMENT` naming every bad field.
use crate::api::error::{Error, FieldViolation};
use chrono_tz::Tz;
use std::fmt;

/// A tuple of field parse results that turns into all values or one error listing every violation.
pub trait Validate: Sized {
    type Output;
    /// All values, or every violation.
    fn collect(self) -> Result<Self::Output, Vec<FieldViolation>>;
    /// All values, or one `INVALID_ARGUMENT` naming every bad field.
    fn validate(self) -> Result<Self::Output, Error> {
        self.collect().map_err(Error::InvalidArgument)
    }
}

macro_rules! impl_validate {
    ($(($t:ident, $e:ident)),+) => {
        impl<$($t, $e: Into<Vec<FieldViolation>>),+> Validate for ($(Result<$t, $e>,)+) {
            type Output = ($($t,)+);
            #[allow(non_snake_case)]
            fn collect(self) -> Result<Self::Output, Vec<FieldViolation>> {
                match self {
                    ($(Ok($t),)+) => Ok(($($t,)+)),
                    ($($t,)+) => {
                        let mut violations = Vec::new();
                        $(if let Err(e) = $t { violations.extend(e.into()); })+
                        Err(violations)
                    }
                }
            }
        }
    };
}
impl_validate!((A, EA));
impl_validate!((A, EA), (B, EB));
impl_validate!((A, EA), (B, EB), (C, EC));
impl_validate!((A, EA), (B, EB), (C, EC), (D, ED));
impl_validate!((A, EA), (B, EB), (C, EC), (D, ED), (E, EE));
impl_validate!((A, EA), (B, EB), (C, EC), (D, ED), (E, EE), (F, EF));
impl_validate!((A, EA), (B, EB), (C, EC), (D, ED), (E, EE), (F, EF), (G, EG));
impl_validate!((A, EA), (B, EB), (C, EC), (D, ED), (E, EE), (F, EF), (G, EG), (H, EH));

/// `items`, when there are at most `max` of them. Called before a repeated field's items are looked at, so that a
/// request of a million items costs one comparison, not a million parses and violations.
pub fn at_most<'a, T>(field: &str, items: &'a [T], max: usize) -> Result<&'a [T], FieldViolation> {
    if items.len() > max {
        return Err(FieldViolation::new(field, format!("must have at most {max} items (got {})", items.len())));
    }
    Ok(items)
}

/// Every item's parse result as all the values, or every violation (for repeated fields parsed item by item).
pub fn each<T>(results: impl IntoIterator<Item = Result<T, FieldViolation>>) -> Result<Vec<T>, Vec<FieldViolation>> {
    let (mut values, mut violations) = (Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(violation) => violations.push(violation),
        }
    }
    if violations.is_empty() { Ok(values) } else { Err(violations) }
}

/// A required single-line text: trimmed, 1..=max characters, no control characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldViolation::new(field, "is required and must not be blank"));
    }
    single_line(field, trimmed, max)
}

/// An optional single-line text: trimmed, at most `max` characters, may be empty.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    single_line(field, value.trim(), max)
}

fn single_line(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let length = value.chars().count();
    if length > max {
        return Err(FieldViolation::new(field, format!("must be at most {max} characters (got {length})")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "must be a single line without control characters"));
    }
    unmangled(field, value)?;
    Ok(value.to_owned())
}

/// Refuses the characters that make text display other than it reads, and the mark of text broken before it was
/// sent: bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what
/// follows them on screen (a name that shows as one thing and sorts, matches and prints as another), and U+FFFD,
/// which a client's decoder puts where bytes were not text (an unpaired surrogate in JSON becomes one). The
/// directional marks U+200E and U+200F are kept: they order mixed-direction names without hiding anything.
pub fn unmangled(field: &str, value: &str) -> Result<(), FieldViolation> {
    if let Some(c) = value.chars().find(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFD}'))
    {
        let why = if c == '\u{FFFD}' {
            "contains U+FFFD, the replacement of characters that were broken before they were sent".to_owned()
        } else {
            format!("must not contain the bidirectional override U+{:04X}, which hides what the text says", c as u32)
        };
        return Err(FieldViolation::new(field, why));
    }
    Ok(())
}

/// A free multi-line text (notes, descriptions): at most `max` characters, newlines and tabs allowed.
pub fn long_text(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let length = value.chars().count();
    if length > max {
        return Err(FieldViolation::new(field, format!("must be at most {max} characters (got {length})")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldViolation::new(field, "must not contain control characters other than newlines and tabs"));
    }
    unmangled(field, value)?;
    Ok(value.to_owned())
}

/// A valid IANA time zone name, e.g. `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if value.is_empty() {
            return Err(FieldViolation::new(field, "is required: an IANA time zone such as Europe/Paris"));
        }
        value
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| FieldViolation::new(field, format!("'{value}' is not an IANA time zone (e.g. Europe/Paris)")))
    }

    /// An empty value means "unknown".
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        if value.is_empty() { Ok(None) } else { Self::parse(field, value).map(Some) }
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An optional idempotency key: at most 128 printable ASCII characters; empty means none. It is scoped to the
/// caller that sent it (the verified subject of its token, or its `liaison-actor` in development mode): the same
/// id from two callers is two keys, so nobody can replay — or block — another caller's create by guessing its id.
/// What is stored and compared is `subject` U+001F `id`; the id has no control characters, so the split is
/// unambiguous whatever the subject holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub const MAX_LEN: usize = 128;

    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > Self::MAX_LEN || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {} printable ASCII characters without spaces", Self::MAX_LEN),
            ));
        }
        Ok(Some(Self::scoped(crate::net::context::caller().subject(), value)))
    }

    fn scoped(subject: &str, id: &str) -> Self {
        Self(format!("{subject}\u{1f}{id}"))
    }

    /// The key as stored: the caller's subject and the id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_id_is_scoped_to_its_caller() {
        use crate::auth::identity::{Caller, Identity};
        let as_caller = |subject: &'static str| {
            let caller = Caller { identity: Identity::development(subject), ..Caller::background() };
            crate::net::context::with_caller(caller, async { RequestId::parse_optional("request_id", "r-1") })
        };
        let ada = as_caller("ada").await.expect("valid").expect("set");
        let bob = as_caller("bob").await.expect("valid").expect("set");
        assert_ne!(ada, bob, "one id from two callers is two keys");
        assert_eq!(ada, as_caller("ada").await.expect("valid").expect("set"), "a retry by the same caller matches");
        assert_eq!(ada.as_str(), "ada\u{1f}r-1");
        assert!(RequestId::parse_optional("request_id", "b\u{1f}c").is_err(), "no separator inside an id");
    }

    #[test]
    fn a_name_of_only_whitespace_is_rejected() {
        assert!(required_text("title", "   ", 10).is_err());
    }

    #[test]
    fn text_is_trimmed_and_limited_in_characters_not_bytes() {
        assert_eq!(required_text("t", "  héllo ", 5).as_deref(), Ok("héllo"));
        assert!(required_text("t", "héllo!", 5).is_err());
    }

    #[test]
    fn bidirectional_overrides_and_replacement_characters_are_refused_and_marks_kept() {
        for bad in ["\u{202E}gnp.exe", "Ada \u{2067}x\u{2069}", "Ad\u{FFFD}"] {
            assert!(required_text("name", bad, 100).is_err(), "{bad:?} passed");
            assert!(long_text("notes", bad, 100).is_err(), "{bad:?} passed as long text");
        }
        assert_eq!(
            required_text("name", "\u{5D3}\u{5E0}\u{200F} Levi", 100).as_deref(),
            Ok("\u{5D3}\u{5E0}\u{200F} Levi")
        );
    }

    #[test]
    fn a_line_break_in_a_single_line_field_is_rejected() {
        assert!(optional_text("t", "a\nb", 10).is_err());
        assert!(long_text("t", "a\nb", 10).is_ok());
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(TimeZone::parse("tz", "Europe/Paris").map(|t| t.name()), Ok("Europe/Paris"));
        assert!(TimeZone::parse("tz", "Mars/Olympus").is_err());
        assert!(TimeZone::parse("tz", "").is_err());
        assert_eq!(TimeZone::parse_optional("tz", ""), Ok(None));
    }

    #[test]
    fn validation_collects_every_bad_field() {
        let err = (required_text("a", "", 5), required_text("b", "ok", 5), TimeZone::parse("c", "nowhere"))
            .validate()
            .expect_err("two bad fields");
        match err {
            Error::InvalidArgument(v) => {
                assert_eq!(v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(), ["a", "c"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_repeated_field_over_its_maximum_is_one_violation() {
        assert_eq!(at_most("labels", &[1, 2], 2), Ok(&[1, 2][..]));
        let err = at_most("labels", &[0; 3], 2).expect_err("too many");
        assert_eq!((err.field.as_str(), err.description.as_str()), ("labels", "must have at most 2 items (got 3)"));
    }

    #[test]
    fn request_ids_with_spaces_are_rejected() {
        assert!(RequestId::parse_optional("request_id", "a b").is_err());
        assert_eq!(RequestId::parse_optional("request_id", ""), Ok(None));
    }
}
