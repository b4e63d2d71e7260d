//! Reading vCard 4.0 and 3.0 files into records, a card at a time, whatever the chunking: the properties a
//! contact holds are mapped, the others left out with a warning.
use super::{ContentLine, split_unescaped, unescape};
use crate::domain::transfer::SourceRecord;
use crate::formats::{
    BASIS_NAMES, CHANNEL_NAMES, LineSplitter, RecordReader, parse_bool, parse_date, parse_name, parse_working_hours,
};
use liaison_proto::contacts::v1 as wire;
use liaison_runtime::FieldViolation;

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
