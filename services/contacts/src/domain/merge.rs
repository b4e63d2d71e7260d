//! What a merge survivor keeps of two contacts, and where each of its values came from (provenance).
//!
//! The rules: emails and phones are the union (the survivor's primary stays primary), so are labels and languages;
//! working hours are the survivor's if it has any, else the merged contact's — and they bring their time zone,
//! without which they mean nothing; other single values (names, preferred channel, time zone) are the survivor's
//! unless empty, then the merged contact's; notes are both, one after the other; consent is the stricter record
//! (do-not-contact on either side is kept). A union that would exceed a field's limit is refused rather than cut.
use super::channels::{CHANNELS_MAX, Channels, ConsentRecord};
use super::contacts::{ContactFields, LANGUAGES_MAX};
use super::labels::LABELS_MAX;
use liaison_runtime::{Error, PreconditionViolation};

/// `(field, contacts its value came from)`, in a fixed field order; stored in `contacts.provenance`.
pub type Provenance = Vec<(String, Vec<String>)>;

/// One side of a merge: the contact's name, its fields, and its own provenance from earlier merges.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub name: &'a str,
    pub fields: &'a ContactFields,
    pub provenance: &'a [(String, Vec<String>)],
}

impl Side<'_> {
    /// Where this side's value of `field` came from: its earlier provenance if it has one, else itself.
    fn sources(&self, field: &str) -> Vec<String> {
        self.provenance
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, sources)| sources.clone())
            .filter(|sources| !sources.is_empty())
            .unwrap_or_else(|| vec![self.name.to_owned()])
    }
}

/// Which side(s) a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Survivor,
    Merged,
    Both,
}

impl Origin {
    /// A single value: the survivor's unless it is empty.
    fn scalar(survivor_empty: bool, merged_empty: bool) -> Self {
        if survivor_empty && !merged_empty { Self::Merged } else { Self::Survivor }
    }

    /// A list or a concatenation: every side that has something.
    fn each(survivor_empty: bool, merged_empty: bool) -> Self {
        match (survivor_empty, merged_empty) {
            (false, false) => Self::Both,
            (true, false) => Self::Merged,
            _ => Self::Survivor,
        }
    }
}

/// The survivor's fields after the merge, and the provenance of each field.
pub fn combine(survivor: Side<'_>, merged: Side<'_>) -> Result<(ContactFields, Provenance), Error> {
    let (s, m) = (survivor.fields, merged.fields);
    let mut origins: Vec<(&str, Origin)> = Vec::new();
    let mut too_large: Vec<PreconditionViolation> = Vec::new();
    let mut check = |field: &str, count: usize, max: usize| {
        if count > max {
            too_large.push(PreconditionViolation {
                kind: "MERGE_EXCEEDS_LIMITS".into(),
                subject: merged.name.to_owned(),
                description: format!(
                    "the merge would give {count} {field}, more than the {max} allowed; remove some first"
                ),
            });
        }
    };

    let mut text = |field: &'static str, a: &String, b: &String| {
        let from = Origin::scalar(a.is_empty(), b.is_empty());
        origins.push((field, from));
        if from == Origin::Merged { b.clone() } else { a.clone() }
    };
    let display_name = text("display_name", &s.display_name, &m.display_name);
    let given_name = text("given_name", &s.given_name, &m.given_name);
    let family_name = text("family_name", &s.family_name, &m.family_name);

    let emails = s.emails.union(&m.emails);
    check("emails", union_len(&s.emails, &m.emails), CHANNELS_MAX);
    origins.push(("emails", Origin::each(s.emails.as_slice().is_empty(), m.emails.as_slice().is_empty())));
    let phones = s.phones.union(&m.phones);
    check("phones", union_len(&s.phones, &m.phones), CHANNELS_MAX);
    origins.push(("phones", Origin::each(s.phones.as_slice().is_empty(), m.phones.as_slice().is_empty())));

    let from = Origin::scalar(s.preferred_channel.is_none(), m.preferred_channel.is_none());
    origins.push(("preferred_channel", from));
    let preferred_channel = if from == Origin::Merged { m.preferred_channel } else { s.preferred_channel };

    let mut languages = s.languages.clone();
    for tag in &m.languages {
        if !languages.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            languages.push(tag.clone());
        }
    }
    check("languages", languages.len(), LANGUAGES_MAX);
    origins.push(("languages", Origin::each(s.languages.is_empty(), m.languages.is_empty())));

    // Working hours are read in their time zone, so the two travel together.
    let hours_from = Origin::scalar(s.working_hours.is_empty(), m.working_hours.is_empty());
    let (working_hours, time_zone, zone_from) = if hours_from == Origin::Merged {
        (m.working_hours.clone(), m.time_zone, Origin::Merged)
    } else {
        let zone_from = Origin::scalar(s.time_zone.is_none(), m.time_zone.is_none());
        let zone = if zone_from == Origin::Merged { m.time_zone } else { s.time_zone };
        (s.working_hours.clone(), zone, zone_from)
    };
    origins.push(("time_zone", zone_from));
    origins.push(("working_hours", hours_from));

    let mut labels: Vec<String> = s.labels.iter().chain(&m.labels).cloned().collect();
    labels.sort();
    labels.dedup();
    check("labels", labels.len(), LABELS_MAX);
    origins.push(("labels", Origin::each(s.labels.is_empty(), m.labels.is_empty())));

    let consent_from = if strictness(&m.consent) < strictness(&s.consent) { Origin::Merged } else { Origin::Survivor };
    origins.push(("consent", consent_from));
    let consent = if consent_from == Origin::Merged { m.consent.clone() } else { s.consent.clone() };

    let notes_from = Origin::each(s.notes.trim().is_empty(), m.notes.trim().is_empty());
    let notes = match notes_from {
        Origin::Both if s.notes.trim() == m.notes.trim() => s.notes.clone(),
        Origin::Both => format!("{}\n\n{}", s.notes.trim_end(), m.notes.trim_start()),
        Origin::Merged => m.notes.clone(),
        Origin::Survivor => s.notes.clone(),
    };
    check("characters of notes", notes.chars().count(), super::NOTES_MAX);
    origins.push(("notes", notes_from));

    if !too_large.is_empty() {
        return Err(Error::FailedPrecondition { reason: "MERGE_EXCEEDS_LIMITS", violations: too_large });
    }
    let provenance = origins
        .into_iter()
        .map(|(field, from)| {
            let mut sources = match from {
                Origin::Survivor => survivor.sources(field),
                Origin::Merged => merged.sources(field),
                Origin::Both => survivor.sources(field).into_iter().chain(merged.sources(field)).collect(),
            };
            let mut seen = std::collections::HashSet::new();
            sources.retain(|s| seen.insert(s.clone()));
            (field.to_owned(), sources)
        })
        .collect();
    let fields = ContactFields {
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
    };
    Ok((fields, provenance))
}

/// How many entries the union of two channel lists has, before any cut.
fn union_len(a: &Channels, b: &Channels) -> usize {
    a.as_slice().len() + b.values().filter(|v| !a.values().any(|x| x.eq_ignore_ascii_case(v))).count()
}

/// Lower is stricter: do-not-contact first, then records allowing fewer channels; no record at all last.
fn strictness(consent: &ConsentRecord) -> usize {
    if consent.do_not_contact {
        0
    } else if consent.allowed_channels.is_empty() {
        usize::MAX
    } else {
        consent.allowed_channels.len()
    }
}

/// The names merged into a survivor after a merge: its own list, then the merged contact and everything that had
/// been merged into that one.
pub fn merged_names(survivor: &[String], merged: &str, merged_own: &[String]) -> Vec<String> {
    let mut names = survivor.to_vec();
    for name in std::iter::once(merged.to_owned()).chain(merged_own.iter().cloned()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::channels::{Channel, ChannelType};
    use crate::domain::contacts::WorkingInterval;
    use liaison_runtime::api::validate::TimeZone;

    fn channels(values: &[&str]) -> Channels {
        Channels::new_unchecked(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Channel { value: (*v).into(), kind: ChannelType::Work, primary: i == 0 })
                .collect(),
        )
    }

    fn fields(name: &str) -> ContactFields {
        ContactFields {
            display_name: name.into(),
            given_name: String::new(),
            family_name: String::new(),
            emails: Channels::default(),
            phones: Channels::default(),
            preferred_channel: None,
            languages: vec![],
            time_zone: None,
            working_hours: vec![],
            labels: vec![],
            consent: ConsentRecord::default(),
            notes: String::new(),
        }
    }

    fn side<'a>(name: &'a str, fields: &'a ContactFields) -> Side<'a> {
        Side { name, fields, provenance: &[] }
    }

    fn sources<'a>(provenance: &'a Provenance, field: &str) -> &'a [String] {
        provenance.iter().find(|(f, _)| f == field).map(|(_, s)| s.as_slice()).unwrap_or_default()
    }

    #[test]
    fn the_survivor_keeps_the_union_of_channels_labels_and_languages_with_its_primary() {
        let mut s = fields("Ada Lovelace");
        s.emails = channels(&["ada@work.org", "shared@x.org"]);
        s.labels = vec!["board".into()];
        s.languages = vec!["en".into()];
        let mut m = fields("Ada King");
        m.emails = channels(&["ada@home.org", "SHARED@x.org"]);
        m.phones = channels(&["+33123456789"]);
        m.labels = vec!["water".into(), "board".into()];
        m.languages = vec!["fr".into(), "en".into()];
        let (out, provenance) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert_eq!(out.emails.values().collect::<Vec<_>>(), ["ada@work.org", "shared@x.org", "ada@home.org"]);
        assert_eq!(out.emails.primary(), Some("ada@work.org"));
        assert_eq!(out.phones.primary(), Some("+33123456789"));
        assert_eq!(out.labels, ["board", "water"]);
        assert_eq!(out.languages, ["en", "fr"]);
        assert_eq!(out.display_name, "Ada Lovelace");
        assert_eq!(sources(&provenance, "display_name"), ["contacts/s"]);
        assert_eq!(sources(&provenance, "emails"), ["contacts/s", "contacts/m"]);
        assert_eq!(sources(&provenance, "phones"), ["contacts/m"]);
        assert_eq!(provenance.len(), 12, "every field has its provenance");
    }

    #[test]
    fn empty_single_values_are_filled_from_the_merged_contact_and_notes_are_concatenated() {
        let mut s = fields("Ada");
        s.family_name = "Lovelace".into();
        s.notes = "Met in London.".into();
        let mut m = fields("Ada L.");
        m.given_name = "Ada".into();
        m.family_name = "King".into();
        m.notes = "Prefers mornings.".into();
        m.preferred_channel = crate::domain::channels::ContactChannel::parse("c", 1, false).expect("channel");
        let (out, provenance) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert_eq!((out.given_name.as_str(), out.family_name.as_str()), ("Ada", "Lovelace"));
        assert_eq!(out.notes, "Met in London.\n\nPrefers mornings.");
        assert_eq!(out.preferred_channel, m.preferred_channel);
        assert_eq!(sources(&provenance, "given_name"), ["contacts/m"]);
        assert_eq!(sources(&provenance, "family_name"), ["contacts/s"]);
        assert_eq!(sources(&provenance, "notes"), ["contacts/s", "contacts/m"]);
    }

    #[test]
    fn working_hours_come_with_their_time_zone() {
        let mut s = fields("S");
        s.time_zone = Some(TimeZone::parse("tz", "Europe/Paris").expect("tz"));
        let mut m = fields("M");
        m.time_zone = Some(TimeZone::parse("tz", "America/New_York").expect("tz"));
        m.working_hours = vec![WorkingInterval { day: 1, start_minute: 540, end_minute: 1020 }];
        let (out, provenance) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert_eq!(out.time_zone.map(|t| t.name()), Some("America/New_York"));
        assert_eq!(out.working_hours, m.working_hours);
        assert_eq!(sources(&provenance, "time_zone"), ["contacts/m"]);
        let (out, _) = combine(side("contacts/m", &m), side("contacts/s", &s)).expect("merge");
        assert_eq!(out.time_zone.map(|t| t.name()), Some("America/New_York"));
    }

    #[test]
    fn the_stricter_consent_wins_and_do_not_contact_is_never_lost() {
        let mut s = fields("S");
        s.consent = ConsentRecord { allowed_channels: vec![1, 2], basis: 1, ..Default::default() };
        let mut m = fields("M");
        m.consent = ConsentRecord { do_not_contact: true, ..Default::default() };
        let (out, provenance) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert!(out.consent.do_not_contact);
        assert_eq!(sources(&provenance, "consent"), ["contacts/m"]);
        let (out, _) = combine(side("contacts/m", &m), side("contacts/s", &s)).expect("merge");
        assert!(out.consent.do_not_contact);
        let narrower = ConsentRecord { allowed_channels: vec![1], basis: 1, ..Default::default() };
        m.consent = narrower.clone();
        let (out, _) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert_eq!(out.consent, narrower);
        m.consent = ConsentRecord::default();
        let (out, _) = combine(side("contacts/s", &s), side("contacts/m", &m)).expect("merge");
        assert_eq!(out.consent, s.consent, "no record is not stricter than a record");
    }

    #[test]
    fn a_union_over_a_limit_is_refused_naming_the_field() {
        let mut s = fields("S");
        s.labels = (0..30).map(|i| format!("s{i}")).collect();
        let mut m = fields("M");
        m.labels = (0..30).map(|i| format!("m{i}")).collect();
        let Err(Error::FailedPrecondition { reason, violations }) =
            combine(side("contacts/s", &s), side("contacts/m", &m))
        else {
            panic!("refused")
        };
        assert_eq!(reason, "MERGE_EXCEEDS_LIMITS");
        assert!(violations[0].description.contains("labels"), "{violations:?}");
    }

    #[test]
    fn provenance_of_an_earlier_merge_is_carried_through() {
        let mut s = fields("S");
        s.emails = channels(&["a@x.org"]);
        let earlier: Provenance = vec![("emails".into(), vec!["contacts/s".into(), "contacts/old".into()])];
        let mut m = fields("M");
        m.emails = channels(&["b@x.org"]);
        let survivor = Side { name: "contacts/s", fields: &s, provenance: &earlier };
        let (_, provenance) = combine(survivor, side("contacts/m", &m)).expect("merge");
        assert_eq!(sources(&provenance, "emails"), ["contacts/s", "contacts/old", "contacts/m"]);
    }

    #[test]
    fn merged_names_accumulate_without_repeats() {
        assert_eq!(
            merged_names(&["contacts/a".into()], "contacts/b", &["contacts/c".into(), "contacts/a".into()]),
            ["contacts/a", "contacts/b", "contacts/c"]
        );
    }
}
