//! Field-level history of a contact: the differences between consecutive states recorded in the change feed.
use liaison_proto::contacts::v1::{ChannelType, Consent, ConsentBasis, Contact, ContactChannel, FieldChange, Weekday};

/// Every field a person could have changed, rendered as text (lists and messages compactly).
fn fields(contact: &Contact) -> Vec<(&'static str, String)> {
    let channel_type = |t: i32| {
        ChannelType::try_from(t)
            .map(|t| t.as_str_name().trim_start_matches("CHANNEL_TYPE_").to_lowercase())
            .unwrap_or_default()
    };
    let emails = contact
        .emails
        .iter()
        .map(|e| format!("{} ({}{})", e.address, channel_type(e.r#type), if e.primary { ", primary" } else { "" }))
        .collect::<Vec<_>>()
        .join("; ");
    let phones = contact
        .phones
        .iter()
        .map(|p| format!("{} ({}{})", p.number, channel_type(p.r#type), if p.primary { ", primary" } else { "" }))
        .collect::<Vec<_>>()
        .join("; ");
    let preferred = match ContactChannel::try_from(contact.preferred_channel) {
        Ok(ContactChannel::Unspecified) | Err(_) => String::new(),
        Ok(channel) => channel.as_str_name().to_owned(),
    };
    let hours = contact
        .working_hours
        .iter()
        .map(|h| {
            let day = Weekday::try_from(h.day).map(|d| d.as_str_name().trim_start_matches("WEEKDAY_")).unwrap_or("?");
            format!("{day} {}-{}", h.start_time, h.end_time)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let consent = contact.consent.as_ref().map(consent_text).unwrap_or_default();
    let delete_time = contact.delete_time.map(|t| t.to_string()).unwrap_or_default();
    vec![
        ("display_name", contact.display_name.clone()),
        ("given_name", contact.given_name.clone()),
        ("family_name", contact.family_name.clone()),
        ("emails", emails),
        ("phones", phones),
        ("preferred_channel", preferred),
        ("languages", contact.languages.join(", ")),
        ("time_zone", contact.time_zone.clone()),
        ("working_hours", hours),
        ("labels", contact.labels.join(", ")),
        ("consent", consent),
        ("notes", contact.notes.clone()),
        ("delete_time", delete_time),
        ("merged_names", contact.merged_names.join(", ")),
    ]
}

fn consent_text(consent: &Consent) -> String {
    let mut parts = Vec::new();
    if consent.do_not_contact {
        parts.push("do not contact".to_owned());
    }
    if !consent.allowed_channels.is_empty() {
        let channels: Vec<&str> = consent
            .allowed_channels
            .iter()
            .filter_map(|c| ContactChannel::try_from(*c).ok())
            .map(|c| c.as_str_name().trim_start_matches("CONTACT_CHANNEL_"))
            .collect();
        parts.push(format!("allowed: {}", channels.join(", ")));
    }
    if let Ok(basis) = ConsentBasis::try_from(consent.basis)
        && basis != ConsentBasis::Unspecified
    {
        parts.push(format!("basis: {}", basis.as_str_name().trim_start_matches("CONSENT_BASIS_")));
    }
    if let Some(since) = &consent.since {
        parts.push(format!("since {:04}-{:02}-{:02}", since.year, since.month, since.day));
    }
    if !consent.note.is_empty() {
        parts.push(format!("note: {}", consent.note));
    }
    parts.join("; ")
}

/// The fields that differ from `before` (nothing before: every field that is set).
pub fn diff(before: Option<&Contact>, after: &Contact) -> Vec<FieldChange> {
    let old = before.map(fields).unwrap_or_default();
    fields(after)
        .into_iter()
        .filter_map(|(field, new_value)| {
            let old_value = old.iter().find(|(f, _)| *f == field).map(|(_, v)| v.clone()).unwrap_or_default();
            (old_value != new_value).then(|| FieldChange { field: field.to_owned(), old_value, new_value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::contacts::v1::EmailAddress;

    #[test]
    fn a_creation_lists_the_fields_that_are_set() {
        let contact = Contact { display_name: "Ada".into(), time_zone: "Europe/Paris".into(), ..Default::default() };
        let changes = diff(None, &contact);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["display_name", "time_zone"]);
        assert_eq!(changes[0].old_value, "");
        assert_eq!(changes[0].new_value, "Ada");
    }

    #[test]
    fn an_update_lists_only_what_changed() {
        let before = Contact {
            display_name: "Ada".into(),
            emails: vec![EmailAddress { address: "a@x.org".into(), r#type: 1, primary: true }],
            etag: "\"r1\"".into(),
            ..Default::default()
        };
        let after = Contact {
            display_name: "Ada".into(),
            emails: vec![
                EmailAddress { address: "a@x.org".into(), r#type: 1, primary: true },
                EmailAddress { address: "b@y.org".into(), r#type: 2, primary: false },
            ],
            etag: "\"r2\"".into(),
            ..Default::default()
        };
        let changes = diff(Some(&before), &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "emails");
        assert_eq!(changes[0].old_value, "a@x.org (work, primary)");
        assert_eq!(changes[0].new_value, "a@x.org (work, primary); b@y.org (home)");
    }
}
