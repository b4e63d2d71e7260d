//! vCard: reading 4.0 (RFC 6350) and 3.0 (RFC 2426) cards into contacts, from a file that arrives in arbitrary
//! chunks, and writing contacts as vCard 4.0. What vCard has no property for (preferred channel, working hours,
//! consent) travels in `X-LIAISON-*` properties, so that an export imports back unchanged:
//!
//! - `X-LIAISON-PREFERRED-CHANNEL:email` (`email`, `phone`, `sms`, `video`, `in_person`)
//! - `X-LIAISON-WORKING-HOURS:MO 09:00-12:00,MO 13:00-17:00` (weekdays `MO`..`SU`, times in `TZ`)
//! - `X-LIAISON-CONSENT;DO-NOT-CONTACT=TRUE;ALLOWED=email,sms;BASIS=consent;SINCE=2024-05-01:the note`
//!
//! Properties mapped: `FN` (or `N` when there is no `FN`), `N` (family; given), `EMAIL`, `TEL` (text or a
//! `tel:` URI), `LANG`, `TZ` (an IANA name; a UTC offset is left out with a warning), `CATEGORIES` (labels),
//! `NOTE`, `UID`, `KIND` (only `individual`). Preference is `PREF=1..100` (4.0) or `TYPE=pref` (3.0); the most
//! preferred email and phone become primary. Other properties are left out, with a warning naming them.
use super::{
    BASIS_NAMES, CHANNEL_NAMES, LineSplitter, RecordReader, format_date, format_working_hours, name_of, parse_bool,
    parse_date, parse_name, parse_working_hours,
};
use crate::domain::transfer::SourceRecord;
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

/// The longest line of a written card, in octets, without its CRLF (RFC 6350 §3.2).
pub const FOLD_AT: usize = 75;

/// One content line, `[group.]NAME;PARAM=a,b:value`: name and parameter names in upper case, parameter values
/// unquoted (and RFC 6868 `^` escapes decoded), the value still escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLine {
    pub group: String,
    pub name: String,
    pub params: Vec<(String, Vec<String>)>,
    pub value: String,
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl ContentLine {
    pub fn parse(line: &str) -> Result<Self, String> {
        let name_end = line.find([';', ':']).ok_or_else(|| "is not a content line NAME:value (no ':')".to_owned())?;
        let (group, name) = match line[..name_end].rsplit_once('.') {
            Some((group, name)) => (group, name),
            None => ("", &line[..name_end]),
        };
        if !is_name(name) || !(group.is_empty() || is_name(group)) {
            return Err(format!("'{}' is not a property name", &line[..name_end]));
        }
        let bytes = line.as_bytes();
        let mut at = name_end;
        let mut params: Vec<(String, Vec<String>)> = Vec::new();
        while bytes.get(at) == Some(&b';') {
            at += 1;
            let name_len = line[at..].find(['=', ';', ':']).ok_or_else(|| "has no ':' before its value".to_owned())?;
            let param_name = line[at..at + name_len].trim().to_ascii_uppercase();
            at += name_len;
            if bytes.get(at) != Some(&b'=') {
                // vCard 2.1 style `TEL;WORK;VOICE:`: a bare value is a TYPE.
                params.push(("TYPE".into(), vec![param_name.to_ascii_lowercase()]));
                continue;
            }
            at += 1;
            let mut values = Vec::new();
            loop {
                if bytes.get(at) == Some(&b'"') {
                    let close = line[at + 1..]
                        .find('"')
                        .ok_or_else(|| format!("parameter {param_name} has no closing quote"))?;
                    values.push(caret_decode(&line[at + 1..at + 1 + close]));
                    at += close + 2;
                } else {
                    let len =
                        line[at..].find([',', ';', ':']).ok_or_else(|| "has no ':' before its value".to_owned())?;
                    values.push(caret_decode(&line[at..at + len]));
                    at += len;
                }
                if bytes.get(at) == Some(&b',') {
                    at += 1;
                } else {
                    break;
                }
            }
            if !is_name(&param_name) {
                return Err(format!("'{param_name}' is not a parameter name"));
            }
            params.push((param_name, values));
        }
        if bytes.get(at) != Some(&b':') {
            return Err("has no ':' before its value".to_owned());
        }
        Ok(Self {
            group: group.to_ascii_uppercase(),
            name: name.to_ascii_uppercase(),
            params,
            value: line[at + 1..].to_owned(),
        })
    }

    /// Every value of the parameters named `name`, split at commas, trimmed.
    pub fn param(&self, name: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, values)| values.iter().flat_map(|v| v.split(',')))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The TYPE values, lower case.
    pub fn types(&self) -> Vec<String> {
        self.param("TYPE").into_iter().map(|t| t.to_ascii_lowercase()).collect()
    }

    /// The preference: `PREF=n` (1 most preferred), `TYPE=pref` as 1, or none.
    fn preference(&self) -> Result<Option<u32>, String> {
        if let Some(pref) = self.param("PREF").first() {
            return match pref.parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => Ok(Some(n)),
                _ => Err(format!("PREF={pref} is not a number from 1 to 100")),
            };
        }
        Ok(self.types().iter().any(|t| t == "pref").then_some(1))
    }

    /// Why the value cannot be read as text, if it cannot (quoted-printable and base64 are not read).
    fn unreadable(&self) -> Option<String> {
        let encoding = self.param("ENCODING").first().map(|e| e.to_ascii_lowercase());
        match encoding.as_deref() {
            Some("quoted-printable") => {
                return Some(
                    "quoted-printable encoding (vCard 2.1) is not supported: export the file as vCard 3.0 or 4.0 \
                     in UTF-8"
                        .into(),
                );
            }
            Some("b" | "base64") => return Some("base64-encoded values are not supported here".into()),
            Some(other) if other != "8bit" => return Some(format!("ENCODING={other} is not supported")),
            _ => {}
        }
        match self.param("CHARSET").first() {
            Some(charset) if !charset.eq_ignore_ascii_case("utf-8") => {
                Some(format!("CHARSET={charset} is not supported: the file must be UTF-8"))
            }
            _ => None,
        }
    }
}

/// RFC 6868: `^n` is a newline, `^'` a double quote, `^^` a caret.
fn caret_decode(value: &str) -> String {
    if !value.contains('^') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('^', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('^', Some('\'')) => {
                out.push('"');
                chars.next();
            }
            ('^', Some('^')) => {
                out.push('^');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// A text value unescaped: `\n` (or `\N`) newline, `\,` `\;` `\\`; any other backslash is kept.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c @ (',' | ';' | '\\')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Splits an escaped value at each `separator` that is not escaped (the parts stay escaped).
pub fn split_unescaped(value: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (at, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == separator => {
                parts.push(&value[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Escapes a text value: backslash, comma and newline always; semicolon too when `in_component` (N).
pub fn escape(value: &str, in_component: bool) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' if in_component => out.push_str("\\;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The properties read into a contact.
const MAPPED: &[&str] = &[
    "FN",
    "N",
    "EMAIL",
    "TEL",
    "LANG",
    "TZ",
    "CATEGORIES",
    "NOTE",
    "UID",
    "KIND",
    "X-LIAISON-PREFERRED-CHANNEL",
    "X-LIAISON-WORKING-HOURS",
    "X-LIAISON-CONSENT",
];

/// Properties that carry nothing a contact could hold: left out without a warning (as are other `X-` ones).
const QUIETLY_IGNORED: &[&str] =
    &["VERSION", "PRODID", "REV", "CLIENTPIDMAP", "SOURCE", "NAME", "PROFILE", "MAILER", "SORT-STRING", "XML"];

/// A card between BEGIN:VCARD and END:VCARD.
#[derive(Debug)]
struct OpenCard {
    line: u32,
    properties: Vec<ContentLine>,
    violations: Vec<FieldViolation>,
}

/// Reads vCard 4.0 and 3.0 files, chunk by chunk: one record per card. A card with a structural fault (no
/// END:VCARD, a BEGIN:VCARD inside it), text outside any card and an END:VCARD without BEGIN each become a
/// rejected record; the cards around them are read as usual.
#[derive(Debug, Default)]
pub struct VcardReader {
    lines: LineSplitter,
    /// The logical line being unfolded: its first line number and bytes (unfolded before UTF-8 decoding, so a
    /// fold inside a character is restored).
    pending: Option<(u32, Vec<u8>)>,
    card: Option<OpenCard>,
    /// The first line of a run of lines outside any card.
    stray: Option<u32>,
    out: Vec<SourceRecord>,
}

impl RecordReader for VcardReader {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        for (number, line) in self.lines.push(chunk) {
            self.physical_line(number, line);
        }
        Ok(std::mem::take(&mut self.out))
    }

    fn finish(&mut self) -> Result<Vec<SourceRecord>, Vec<FieldViolation>> {
        if let Some((number, line)) = self.lines.finish() {
            self.physical_line(number, line);
        }
        if let Some((number, line)) = self.pending.take() {
            self.logical_line(number, line);
        }
        self.close_stray();
        if let Some(card) = self.card.take() {
            let violation = FieldViolation::new("END", "the file ends before this card's END:VCARD");
            self.reject_open(card, violation);
        }
        Ok(std::mem::take(&mut self.out))
    }
}

impl VcardReader {
    fn physical_line(&mut self, number: u32, line: Vec<u8>) {
        if let (Some(b' ' | b'\t'), Some((_, pending))) = (line.first(), self.pending.as_mut()) {
            pending.extend_from_slice(&line[1..]);
            return;
        }
        if let Some((first, pending)) = self.pending.replace((number, line)) {
            self.logical_line(first, pending);
        }
    }

    fn logical_line(&mut self, number: u32, line: Vec<u8>) {
        let Ok(text) = String::from_utf8(line) else {
            self.problem(number, "is not valid UTF-8".into());
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        let parsed = match ContentLine::parse(text.trim_start()) {
            Ok(parsed) => parsed,
            Err(why) => {
                self.problem(number, why);
                return;
            }
        };
        let is_vcard = parsed.value.trim().eq_ignore_ascii_case("VCARD");
        match parsed.name.as_str() {
            "BEGIN" if is_vcard => {
                self.close_stray();
                if let Some(open) = self.card.take() {
                    let violation = FieldViolation::new(
                        "END",
                        format!("no END:VCARD before the next BEGIN:VCARD on line {number}"),
                    );
                    self.reject_open(open, violation);
                }
                self.card = Some(OpenCard { line: number, properties: Vec::new(), violations: Vec::new() });
            }
            "END" if is_vcard => match self.card.take() {
                Some(open) => self.out.push(card_record(open.line, &open.properties, open.violations)),
                None => {
                    self.close_stray();
                    self.out.push(SourceRecord::broken(
                        number,
                        FieldViolation::new("BEGIN", "END:VCARD without a BEGIN:VCARD before it"),
                    ));
                }
            },
            "BEGIN" | "END" if self.card.is_some() => {
                self.problem(number, format!("{}:{} inside a card is not supported", parsed.name, parsed.value))
            }
            _ => match self.card.as_mut() {
                Some(open) => open.properties.push(parsed),
                None => {
                    self.stray.get_or_insert(number);
                }
            },
        }
    }

    /// A line that cannot be read: a fault of the open card, or text outside any card.
    fn problem(&mut self, number: u32, why: String) {
        match self.card.as_mut() {
            Some(open) => open.violations.push(FieldViolation::new(format!("line {number}"), why)),
            None => {
                self.stray.get_or_insert(number);
            }
        }
    }

    fn close_stray(&mut self) {
        if let Some(first) = self.stray.take() {
            self.out.push(SourceRecord::broken(
                first,
                FieldViolation::new("BEGIN", "text outside any card: a card starts with BEGIN:VCARD"),
            ));
        }
    }

    fn reject_open(&mut self, open: OpenCard, violation: FieldViolation) {
        let mut record = card_record(open.line, &open.properties, open.violations);
        record.violations.insert(0, violation);
        self.out.push(record);
    }
}

/// The channel type a TYPE parameter names: `cell` mobile, then `home`, `work`, `other`/`x-other`.
fn channel_type(types: &[String]) -> i32 {
    let has = |t: &str| types.iter().any(|x| x == t);
    let kind = if has("cell") {
        wire::ChannelType::Mobile
    } else if has("home") {
        wire::ChannelType::Home
    } else if has("work") {
        wire::ChannelType::Work
    } else if has("other") || has("x-other") {
        wire::ChannelType::Other
    } else {
        wire::ChannelType::Unspecified
    };
    kind as i32
}

/// The TYPE written for a channel type.
fn type_name(kind: i32, phone: bool) -> &'static str {
    match wire::ChannelType::try_from(kind) {
        Ok(wire::ChannelType::Home) => "home",
        Ok(wire::ChannelType::Mobile) if phone => "cell",
        Ok(wire::ChannelType::Other) => "x-other",
        _ => "work",
    }
}

/// `+HH`, `-HHMM`, `+HH:MM`: a UTC offset rather than a time zone.
fn is_utc_offset(value: &str) -> bool {
    let Some(rest) = value.strip_prefix(['+', '-']) else { return false };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    (digits.len() == 2 || digits.len() == 4) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Entries in preference order, then file order (languages: most preferred first).
fn by_preference<T>(mut entries: Vec<(Option<u32>, T)>) -> Vec<T> {
    entries.sort_by_key(|(p, _)| p.unwrap_or(u32::MAX));
    entries.into_iter().map(|(_, v)| v).collect()
}

/// Entries in file order, the first most preferred one marked primary (none when no entry states a
/// preference: the API's rule then makes the first primary).
fn mark_primary<T>(entries: Vec<(Option<u32>, T)>) -> Vec<(bool, T)> {
    let best = entries.iter().enumerate().filter_map(|(i, (p, _))| p.map(|p| (p, i))).min().map(|(_, i)| i);
    entries.into_iter().enumerate().map(|(i, (_, v))| (Some(i) == best, v)).collect()
}

/// The components of a structured value (N): split at `;`, each a `,` list joined with spaces, unescaped.
fn name_components(value: &str) -> Vec<String> {
    split_unescaped(value, ';')
        .into_iter()
        .map(|part| {
            let words: Vec<String> = split_unescaped(part, ',')
                .into_iter()
                .map(|w| unescape(w).trim().to_owned())
                .filter(|w| !w.is_empty())
                .collect();
            words.join(" ")
        })
        .collect()
}

/// The contact a card describes.
fn card_record(line: u32, properties: &[ContentLine], mut violations: Vec<FieldViolation>) -> SourceRecord {
    let mut contact = wire::Contact::default();
    let mut warnings = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    let version = properties.iter().find(|p| p.name == "VERSION").map(|p| p.value.trim().to_owned());
    match version.as_deref() {
        Some("4.0" | "3.0") => {}
        Some("2.1") => violations
            .push(FieldViolation::new("VERSION", "vCard 2.1 is not supported: export the file as vCard 3.0 or 4.0")),
        Some(other) => {
            violations.push(FieldViolation::new("VERSION", format!("'{other}' is not 4.0 or 3.0")));
        }
        None => violations.push(FieldViolation::new("VERSION", "is required (VERSION:4.0 or VERSION:3.0)")),
    }
    let mut full_names: Vec<(Option<u32>, String)> = Vec::new();
    let mut name_parts: Option<Vec<String>> = None;
    let mut emails: Vec<(Option<u32>, (i32, String))> = Vec::new();
    let mut phones: Vec<(Option<u32>, (i32, String))> = Vec::new();
    let mut languages: Vec<(Option<u32>, String)> = Vec::new();
    let mut zones: Vec<(Option<u32>, (String, ContentLine))> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for property in properties {
        let name = property.name.as_str();
        if !MAPPED.contains(&name) {
            if !QUIETLY_IGNORED.contains(&name) && !name.starts_with("X-") && !ignored.iter().any(|i| i == name) {
                ignored.push(name.to_owned());
            }
            continue;
        }
        if let Some(why) = property.unreadable() {
            violations.push(FieldViolation::new(name, why));
            continue;
        }
        let preference = match property.preference() {
            Ok(p) => p,
            Err(why) => {
                violations.push(FieldViolation::new(name, why));
                None
            }
        };
        let text = || unescape(property.value.trim());
        match name {
            "FN" => full_names.push((preference, text())),
            "N" if name_parts.is_none() => name_parts = Some(name_components(&property.value)),
            "EMAIL" => emails.push((preference, (channel_type(&property.types()), text()))),
            "TEL" => {
                let value = text();
                let number = match value.get(..4) {
                    Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => value[4..].to_owned(),
                    _ => value,
                };
                phones.push((preference, (channel_type(&property.types()), number)));
            }
            "LANG" => languages.push((preference, text())),
            "TZ" => zones.push((preference, (text(), property.clone()))),
            "CATEGORIES" => contact.labels.extend(
                split_unescaped(&property.value, ',')
                    .into_iter()
                    .map(|l| unescape(l).trim().to_owned())
                    .filter(|l| !l.is_empty()),
            ),
            "NOTE" => notes.push(unescape(&property.value)),
            "UID" if contact.uid.is_empty() => contact.uid = text(),
            "KIND" => {
                let kind = text().to_ascii_lowercase();
                if kind != "individual" {
                    violations.push(FieldViolation::new(
                        "KIND",
                        format!("'{kind}' is not a person: only KIND:individual cards are contacts"),
                    ));
                }
            }
            "X-LIAISON-PREFERRED-CHANNEL" => match parse_name(name, CHANNEL_NAMES, "channel", &text()) {
                Ok(channel) => contact.preferred_channel = channel,
                Err(v) => violations.push(v),
            },
            "X-LIAISON-WORKING-HOURS" => {
                for item in split_unescaped(&property.value, ',') {
                    let item = unescape(item);
                    if item.trim().is_empty() {
                        continue;
                    }
                    let field = format!("{name}[{}]", contact.working_hours.len());
                    match parse_working_hours(&field, &item) {
                        Ok(hours) => contact.working_hours.push(hours),
                        Err(v) => violations.push(v),
                    }
                }
            }
            "X-LIAISON-CONSENT" => match consent(property) {
                Ok(consent) => contact.consent = Some(consent),
                Err(found) => violations.extend(found),
            },
            _ => {}
        }
    }
    let (family, given) = match &name_parts {
        Some(parts) => (parts.first().cloned().unwrap_or_default(), parts.get(1).cloned().unwrap_or_default()),
        None => Default::default(),
    };
    contact.display_name = by_preference(full_names)
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("{given} {family}").trim().to_owned());
    contact.given_name = given;
    contact.family_name = family;
    contact.emails = mark_primary(emails)
        .into_iter()
        .map(|(primary, (kind, address))| wire::EmailAddress { address, r#type: kind, primary })
        .collect();
    contact.phones = mark_primary(phones)
        .into_iter()
        .map(|(primary, (kind, number))| wire::PhoneNumber { number, r#type: kind, primary })
        .collect();
    contact.languages = by_preference(languages);
    if let Some((zone, property)) = by_preference(zones).into_iter().next() {
        let value_type = property.param("VALUE").first().map(|v| v.to_ascii_lowercase()).unwrap_or_default();
        if value_type == "utc-offset" || is_utc_offset(&zone) {
            warnings.push(format!("TZ {zone} is a UTC offset, not an IANA time zone (e.g. Europe/Paris): left out"));
        } else if value_type == "uri" {
            warnings.push(format!("TZ {zone} is a URI, not an IANA time zone name: left out"));
        } else {
            contact.time_zone = zone;
        }
    }
    contact.notes = notes.join("\n");
    if !ignored.is_empty() {
        warnings.push(format!("left out {}: not held by this register", ignored.join(", ")));
    }
    SourceRecord { line, contact, violations, warnings }
}

fn consent(property: &ContentLine) -> Result<wire::Consent, Vec<FieldViolation>> {
    let field = |param: &str| format!("X-LIAISON-CONSENT;{param}");
    let mut violations = Vec::new();
    let mut consent = wire::Consent { note: unescape(&property.value), ..Default::default() };
    match parse_bool(&field("DO-NOT-CONTACT"), property.param("DO-NOT-CONTACT").first().map_or("", |v| v)) {
        Ok(flag) => consent.do_not_contact = flag,
        Err(v) => violations.push(v),
    }
    for name in property.param("ALLOWED") {
        match parse_name(&field("ALLOWED"), CHANNEL_NAMES, "channel", &name) {
            Ok(channel) => consent.allowed_channels.push(channel),
            Err(v) => violations.push(v),
        }
    }
    if let Some(basis) = property.param("BASIS").first() {
        match parse_name(&field("BASIS"), BASIS_NAMES, "consent basis", basis) {
            Ok(basis) => consent.basis = basis,
            Err(v) => violations.push(v),
        }
    }
    if let Some(since) = property.param("SINCE").first() {
        match parse_date(&field("SINCE"), since) {
            Ok(date) => consent.since = Some(date),
            Err(v) => violations.push(v),
        }
    }
    if violations.is_empty() { Ok(consent) } else { Err(violations) }
}

/// Appends one content line, folded at [`FOLD_AT`] octets (never inside a UTF-8 character), ending in CRLF.
pub fn write_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = FOLD_AT;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // The space that starts a continuation line counts.
        limit = FOLD_AT - 1;
    }
}

/// Whether a UID can be written as a URI (the vCard 4.0 default): `scheme:rest`, nothing to escape.
fn is_plain_uri(uid: &str) -> bool {
    let Some((scheme, rest)) = uid.split_once(':') else { return false };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !uid.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\')
}

/// The timestamp as a vCard `REV`: `20261123T164750Z`.
fn rev(time: &prost_types::Timestamp) -> Option<String> {
    let nanos = u32::try_from(time.nanos).ok()?;
    chrono::DateTime::from_timestamp(time.seconds, nanos).map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
}

/// Appends `contact` as one vCard 4.0: CRLF line endings, folded lines, VERSION right after BEGIN, FN always.
pub fn write_card(out: &mut String, contact: &wire::Contact) {
    let mut line = |text: &str| write_line(out, text);
    line("BEGIN:VCARD");
    line("VERSION:4.0");
    line("PRODID:-//Liaison//Contacts//EN");
    // Every stored contact has a UID; one that somehow has none is named by its id.
    let uid = match contact.name.strip_prefix("contacts/") {
        Some(id) if contact.uid.is_empty() => format!("urn:uuid:{id}"),
        _ => contact.uid.clone(),
    };
    if is_plain_uri(&uid) {
        line(&format!("UID:{uid}"));
    } else if !uid.is_empty() {
        line(&format!("UID;VALUE=text:{}", escape(&uid, false)));
    }
    line(&format!("FN:{}", escape(&contact.display_name, false)));
    line(&format!("N:{};{};;;", escape(&contact.family_name, true), escape(&contact.given_name, true)));
    for email in &contact.emails {
        let pref = if email.primary { ";PREF=1" } else { "" };
        line(&format!("EMAIL;TYPE={}{pref}:{}", type_name(email.r#type, false), escape(&email.address, false)));
    }
    for phone in &contact.phones {
        let pref = if phone.primary { ";PREF=1" } else { "" };
        line(&format!("TEL;VALUE=uri;TYPE={}{pref}:tel:{}", type_name(phone.r#type, true), phone.number));
    }
    for (index, language) in contact.languages.iter().enumerate() {
        line(&format!("LANG;PREF={}:{language}", index + 1));
    }
    if !contact.time_zone.is_empty() {
        line(&format!("TZ:{}", escape(&contact.time_zone, false)));
    }
    if !contact.labels.is_empty() {
        let labels: Vec<String> = contact.labels.iter().map(|l| escape(l, false)).collect();
        line(&format!("CATEGORIES:{}", labels.join(",")));
    }
    if !contact.notes.is_empty() {
        line(&format!("NOTE:{}", escape(&contact.notes, false)));
    }
    let preferred = name_of(CHANNEL_NAMES, contact.preferred_channel);
    if !preferred.is_empty() {
        line(&format!("X-LIAISON-PREFERRED-CHANNEL:{preferred}"));
    }
    if !contact.working_hours.is_empty() {
        let hours: Vec<String> = contact.working_hours.iter().map(format_working_hours).collect();
        line(&format!("X-LIAISON-WORKING-HOURS:{}", hours.join(",")));
    }
    if let Some(consent) = &contact.consent {
        let mut params = String::new();
        if consent.do_not_contact {
            params.push_str(";DO-NOT-CONTACT=TRUE");
        }
        let allowed: Vec<&str> = consent.allowed_channels.iter().map(|c| name_of(CHANNEL_NAMES, *c)).collect();
        if !allowed.is_empty() {
            params.push_str(&format!(";ALLOWED={}", allowed.join(",")));
        }
        let basis = name_of(BASIS_NAMES, consent.basis);
        if !basis.is_empty() {
            params.push_str(&format!(";BASIS={basis}"));
        }
        if let Some(since) = &consent.since {
            params.push_str(&format!(";SINCE={}", format_date(since)));
        }
        line(&format!("X-LIAISON-CONSENT{params}:{}", escape(&consent.note, false)));
    }
    if let Some(rev) = contact.update_time.as_ref().and_then(rev) {
        line(&format!("REV:{rev}"));
    }
    line("END:VCARD");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transfer::check;

    fn read(chunks: &[&[u8]]) -> Vec<SourceRecord> {
        let mut reader = VcardReader::default();
        let mut records = Vec::new();
        for chunk in chunks {
            records.extend(reader.push(chunk).expect("push"));
        }
        records.extend(reader.finish().expect("finish"));
        records
    }

    fn read_str(text: &str) -> Vec<SourceRecord> {
        read(&[text.as_bytes()])
    }

    fn fields(record: &SourceRecord) -> Vec<&str> {
        record.violations.iter().map(|v| v.field.as_str()).collect()
    }

    const V4: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n\
        FN:Zoë Müller\\, PhD\r\nN:Müller;Zoë;;Dr.;PhD\r\n\
        EMAIL;TYPE=home:zoe@home.example\r\nEMAIL;TYPE=work;PREF=1:zoe@work.example\r\n\
        TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+33-6-12-34-56-78\r\nTEL;TYPE=work:+41 44 123 45 67\r\n\
        LANG;PREF=2:en\r\nLANG;PREF=1:fr\r\nTZ:Europe/Zurich\r\nCATEGORIES:water,board\r\n\
        NOTE:Line one\\nLine two\\; with \\\\ backslash\r\nEND:VCARD\r\n";

    #[test]
    fn a_vcard_4_is_mapped_to_a_contact() {
        let records = read_str(V4);
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.line, 1);
        assert!(record.violations.is_empty(), "{:?}", record.violations);
        let c = &record.contact;
        assert_eq!(c.display_name, "Zoë Müller, PhD");
        assert_eq!((c.family_name.as_str(), c.given_name.as_str()), ("Müller", "Zoë"));
        assert_eq!(c.uid, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1");
        assert_eq!(c.emails[1].address, "zoe@work.example");
        assert!(c.emails[1].primary && !c.emails[0].primary);
        assert_eq!(c.emails[0].r#type, wire::ChannelType::Home as i32);
        assert_eq!(c.phones[0].number, "+33-6-12-34-56-78");
        assert_eq!(c.phones[0].r#type, wire::ChannelType::Mobile as i32);
        assert_eq!(c.phones[1].number, "+41 44 123 45 67");
        assert_eq!(c.languages, ["fr", "en"]);
        assert_eq!(c.time_zone, "Europe/Zurich");
        assert_eq!(c.labels, ["water", "board"]);
        assert_eq!(c.notes, "Line one\nLine two; with \\ backslash");
        let valid = check(record.clone()).expect("valid");
        assert_eq!(valid.fields.phones.primary(), Some("+33612345678"));
    }

    #[test]
    fn a_vcard_3_with_groups_repeated_types_and_type_pref_is_read() {
        let text = "BEGIN:VCARD\nVERSION:3.0\nN:Okafor;Chidi;;;\nFN:Chidi Okafor\n\
            item1.EMAIL;TYPE=INTERNET;TYPE=WORK:chidi@work.example\nitem1.X-ABLabel:_$!<Work>!$_\n\
            EMAIL;TYPE=INTERNET,HOME,pref:chidi@home.example\nTEL;TYPE=WORK;TYPE=VOICE:+234 1 234 5678\n\
            TEL;TYPE=CELL:+234 80 1234 5678\nTZ:-05:00\nORG:Ministry\nEND:VCARD\n";
        let records = read_str(text);
        let record = &records[0];
        assert!(record.violations.is_empty(), "{:?}", record.violations);
        let c = &record.contact;
        assert_eq!(c.emails[1].address, "chidi@home.example");
        assert!(c.emails[1].primary && !c.emails[0].primary);
        assert_eq!(c.emails[0].r#type, wire::ChannelType::Work as i32);
        assert_eq!(c.phones[0].r#type, wire::ChannelType::Work as i32);
        assert_eq!(c.phones[1].r#type, wire::ChannelType::Mobile as i32);
        assert_eq!(c.time_zone, "");
        assert!(record.warnings.iter().any(|w| w.contains("UTC offset")), "{:?}", record.warnings);
        assert!(record.warnings.iter().any(|w| w.contains("ORG")), "{:?}", record.warnings);
    }

    #[test]
    fn folded_lines_are_unfolded_even_inside_a_utf8_character() {
        // "é" is C3 A9; fold between its two bytes.
        let bytes = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ren\xC3\r\n \xA9e Dup\r\n\tont\r\nEND:VCARD\r\n";
        let records = read(&[bytes]);
        assert_eq!(records[0].contact.display_name, "Renée Dupont");
    }

    #[test]
    fn records_spanning_chunks_read_the_same_at_every_split() {
        let text = format!("{V4}{V4}");
        let whole = read_str(&text);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1].line, 16);
        let bytes = text.as_bytes();
        for at in 0..bytes.len() {
            assert_eq!(read(&[&bytes[..at], &bytes[at..]]), whole, "split at {at}");
        }
        let single_bytes: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read(&single_bytes), whole);
    }

    #[test]
    fn nesting_errors_become_rejected_records_and_the_next_card_is_read() {
        let text = "stray text\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:No End\r\nBEGIN:VCARD\r\nVERSION:4.0\r\n\
            FN:Fine\r\nEND:VCARD\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:Unfinished\r\n";
        let records = read_str(text);
        let summary: Vec<(u32, Vec<&str>, &str)> =
            records.iter().map(|r| (r.line, fields(r), r.contact.display_name.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (1, vec!["BEGIN"], ""),
                (2, vec!["END"], "No End"),
                (5, vec![], "Fine"),
                (9, vec!["BEGIN"], ""),
                (10, vec!["END"], "Unfinished"),
            ]
        );
    }

    #[test]
    fn quoted_printable_is_rejected_clearly() {
        let text = "BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nNOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9\nEND:VCARD\n";
        let record = &read_str(text)[0];
        assert_eq!(fields(record), ["NOTE"]);
        assert!(record.violations[0].description.contains("quoted-printable"));
        let v21 = "BEGIN:VCARD\nVERSION:2.1\nFN:Ana\nEND:VCARD\n";
        assert_eq!(fields(&read_str(v21)[0]), ["VERSION"]);
    }

    #[test]
    fn liaison_extensions_carry_what_vcard_cannot() {
        let text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nTZ:Europe/Lisbon\r\n\
            X-LIAISON-PREFERRED-CHANNEL:sms\r\nX-LIAISON-WORKING-HOURS:MO 09:00-12:00,FR 14:00-18:00\r\n\
            X-LIAISON-CONSENT;ALLOWED=email,sms;BASIS=consent;SINCE=2024-05-01:Signed\\, on paper\r\nEND:VCARD\r\n";
        let record = &read_str(text)[0];
        assert!(record.violations.is_empty(), "{:?}", record.violations);
        let c = &record.contact;
        assert_eq!(c.preferred_channel, wire::ContactChannel::Sms as i32);
        assert_eq!(c.working_hours.len(), 2);
        let consent = c.consent.as_ref().expect("consent");
        assert_eq!(consent.allowed_channels, [1, 3]);
        assert_eq!(consent.basis, wire::ConsentBasis::Consent as i32);
        assert_eq!(consent.note, "Signed, on paper");
        let bad = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nX-LIAISON-PREFERRED-CHANNEL:fax\r\n\
            X-LIAISON-CONSENT;BASIS=whim:\r\nEND:VCARD\r\n";
        assert_eq!(fields(&read_str(bad)[0]), ["X-LIAISON-PREFERRED-CHANNEL", "X-LIAISON-CONSENT;BASIS"]);
    }

    #[test]
    fn content_lines_parse_groups_quoted_and_bare_parameters() {
        let line = ContentLine::parse("item1.TEL;TYPE=\"work,voice\";PREF=1;X-A=\"a:b;c\":tel:+1").expect("line");
        assert_eq!(line.group, "ITEM1");
        assert_eq!(line.name, "TEL");
        assert_eq!(line.types(), ["work", "voice"]);
        assert_eq!(line.param("X-A"), ["a:b;c"]);
        assert_eq!(line.value, "tel:+1");
        assert_eq!(ContentLine::parse("TEL;WORK;VOICE:+1").expect("2.1 style").types(), ["work", "voice"]);
        assert!(ContentLine::parse("no colon here").is_err());
        assert!(ContentLine::parse("BAD NAME:x").is_err());
    }

    #[test]
    fn lines_are_folded_at_75_octets_between_characters() {
        let mut out = String::new();
        let note = "é".repeat(100);
        write_line(&mut out, &format!("NOTE:{note}"));
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= FOLD_AT, "{} octets", line.len());
        }
        assert!(out.ends_with("\r\n"));
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, format!("NOTE:{note}"));
    }

    #[test]
    fn a_written_card_reads_back_to_the_same_contact() {
        let contact = wire::Contact {
            display_name: "Ana, the \"chair\"; of boards".into(),
            given_name: "Ana;María".into(),
            family_name: "García, Pérez".into(),
            emails: vec![
                wire::EmailAddress { address: "ana@example.org".into(), r#type: 2, primary: false },
                wire::EmailAddress { address: "ana@work.example".into(), r#type: 1, primary: true },
            ],
            phones: vec![wire::PhoneNumber { number: "+34911234567".into(), r#type: 4, primary: true }],
            languages: vec!["es".into(), "en-GB".into()],
            time_zone: "Europe/Madrid".into(),
            labels: vec!["board".into(), "water".into()],
            notes: format!("First line\nSecond, with ; and \\ and {}", "x".repeat(200)),
            uid: "not a uri, but text".into(),
            preferred_channel: 2,
            working_hours: vec![wire::WorkingHours { day: 1, start_time: "09:00".into(), end_time: "17:00".into() }],
            consent: Some(wire::Consent {
                do_not_contact: true,
                note: "Asked, twice".into(),
                since: Some(wire::Date { year: 2025, month: 1, day: 31 }),
                ..Default::default()
            }),
            update_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            ..Default::default()
        };
        let mut out = String::new();
        write_card(&mut out, &contact);
        assert!(out.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
        assert!(out.contains("REV:20270115T080000Z\r\n"), "{out}");
        let records = read_str(&out);
        let read = &records[0].contact;
        assert!(records[0].violations.is_empty(), "{:?}", records[0].violations);
        assert_eq!(read.display_name, contact.display_name);
        assert_eq!(read.given_name, contact.given_name);
        assert_eq!(read.family_name, contact.family_name);
        assert_eq!(read.emails, contact.emails);
        assert_eq!(read.phones, contact.phones);
        assert_eq!(read.languages, contact.languages);
        assert_eq!(read.labels, contact.labels);
        assert_eq!(read.notes, contact.notes);
        assert_eq!(read.uid, contact.uid);
        assert_eq!(read.preferred_channel, contact.preferred_channel);
        assert_eq!(read.working_hours, contact.working_hours);
        assert_eq!(read.consent, contact.consent);
    }
}
