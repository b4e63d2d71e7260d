//! Writing contacts as vCard 4.0: CRLF line endings, lines folded at 75 octets, what vCard has no property for
//! in `X-LIAISON-*` properties.
use super::escape;
use crate::formats::{BASIS_NAMES, CHANNEL_NAMES, format_date, format_working_hours, name_of};
use liaison_proto::contacts::v1 as wire;

/// The longest line of a written card, in octets, without its CRLF (RFC 6350 §3.2).
pub const FOLD_AT: usize = 75;

/// The TYPE written for a channel type.
fn type_name(kind: i32, phone: bool) -> &'static str {
    match wire::ChannelType::try_from(kind) {
        Ok(wire::ChannelType::Home) => "home",
        Ok(wire::ChannelType::Mobile) if phone => "cell",
        Ok(wire::ChannelType::Other) => "x-other",
        _ => "work",
    }
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
