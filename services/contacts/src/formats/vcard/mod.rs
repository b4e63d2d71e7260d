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
//!
//! This module holds the content-line syntax both directions share; `read` and `write` hold the two directions.
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::VcardReader;
pub use write::{FOLD_AT, write_card, write_line};

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

#[cfg(test)]
mod proptests;
