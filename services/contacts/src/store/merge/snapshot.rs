//! Rows as they were before a merge, kept in its `merges` row (times in microseconds since the epoch) so that
//! UnmergeContacts can put them back: both contacts, and the affiliations and relationships it deleted.
use crate::store::entity::{affiliation, contact, relationship};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// A contact row as it was before a merge (times in microseconds since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactSnapshot {
    id: String,
    display_name: String,
    given_name: String,
    family_name: String,
    email: String,
    phone: String,
    time_zone: String,
    notes: String,
    emails: String,
    phones: String,
    preferred_channel: i32,
    languages: String,
    working_hours: String,
    labels: String,
    consent: String,
    do_not_contact: bool,
    uid: String,
    delete_time: Option<i64>,
    merged_into: Option<String>,
    search_text: String,
    provenance: String,
    merged_names: String,
    revision: i64,
    create_time: i64,
    update_time: i64,
}

impl From<&contact::Model> for ContactSnapshot {
    fn from(m: &contact::Model) -> Self {
        Self {
            id: m.id.clone(),
            display_name: m.display_name.clone(),
            given_name: m.given_name.clone(),
            family_name: m.family_name.clone(),
            email: m.email.clone(),
            phone: m.phone.clone(),
            time_zone: m.time_zone.clone(),
            notes: m.notes.clone(),
            emails: m.emails.clone(),
            phones: m.phones.clone(),
            preferred_channel: m.preferred_channel,
            languages: m.languages.clone(),
            working_hours: m.working_hours.clone(),
            labels: m.labels.clone(),
            consent: m.consent.clone(),
            do_not_contact: m.do_not_contact,
            uid: m.uid.clone(),
            delete_time: m.delete_time.map(micros),
            merged_into: m.merged_into.clone(),
            search_text: m.search_text.clone(),
            provenance: m.provenance.clone(),
            merged_names: m.merged_names.clone(),
            revision: m.revision,
            create_time: micros(m.create_time),
            update_time: micros(m.update_time),
        }
    }
}

impl ContactSnapshot {
    /// The fields whose values differ between `self` and `other`, ignoring what every write changes (revision,
    /// update time) and what is derived from the rest (the search text).
    pub(super) fn changed_fields(&self, other: &Self) -> Vec<String> {
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(theirs))) =
            (serde_json::to_value(self), serde_json::to_value(other))
        else {
            return Vec::new();
        };
        mine.iter()
            .filter(|(field, _)| !matches!(field.as_str(), "revision" | "update_time" | "search_text"))
            .filter(|(field, value)| theirs.get(field.as_str()) != Some(value))
            .map(|(field, _)| field.clone())
            .collect()
    }

    /// The row as it was, at a new revision.
    pub(super) fn restore(self, revision: i64, update_time: DateTime<Utc>) -> contact::Model {
        contact::Model {
            id: self.id,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            email: self.email,
            phone: self.phone,
            time_zone: self.time_zone,
            notes: self.notes,
            emails: self.emails,
            phones: self.phones,
            preferred_channel: self.preferred_channel,
            languages: self.languages,
            working_hours: self.working_hours,
            labels: self.labels,
            consent: self.consent,
            do_not_contact: self.do_not_contact,
            uid: self.uid,
            delete_time: self.delete_time.map(from_micros),
            merged_into: self.merged_into,
            search_text: self.search_text,
            provenance: self.provenance,
            merged_names: self.merged_names,
            revision,
            create_time: from_micros(self.create_time),
            update_time,
        }
    }
}

/// An affiliation row a merge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliationRow {
    pub(super) id: String,
    pub(super) contact_id: String,
    pub(super) organization_id: String,
    pub(super) role: String,
    pub(super) start_date: Option<String>,
    pub(super) end_date: Option<String>,
    pub(super) point_of_contact: bool,
    pub(super) revision: i64,
    pub(super) create_time: i64,
}

impl From<&affiliation::Model> for AffiliationRow {
    fn from(m: &affiliation::Model) -> Self {
        Self {
            id: m.id.clone(),
            contact_id: m.contact_id.clone(),
            organization_id: m.organization_id.clone(),
            role: m.role.clone(),
            start_date: m.start_date.clone(),
            end_date: m.end_date.clone(),
            point_of_contact: m.point_of_contact,
            revision: m.revision,
            create_time: micros(m.create_time),
        }
    }
}

impl AffiliationRow {
    pub(super) fn restore(&self, point_of_contact: bool, now: DateTime<Utc>) -> affiliation::Model {
        affiliation::Model {
            id: self.id.clone(),
            contact_id: self.contact_id.clone(),
            organization_id: self.organization_id.clone(),
            role: self.role.clone(),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            point_of_contact,
            revision: self.revision + 1,
            create_time: from_micros(self.create_time),
            update_time: now,
        }
    }
}

/// A relationship row a merge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationshipRow {
    pub(super) id: String,
    pub(super) party: String,
    pub(super) related_party: String,
    pub(super) kind: i32,
    pub(super) since: Option<String>,
    pub(super) strength: i32,
    pub(super) notes: String,
    pub(super) revision: i64,
    pub(super) create_time: i64,
}

impl From<&relationship::Model> for RelationshipRow {
    fn from(m: &relationship::Model) -> Self {
        Self {
            id: m.id.clone(),
            party: m.party.clone(),
            related_party: m.related_party.clone(),
            kind: m.kind,
            since: m.since.clone(),
            strength: m.strength,
            notes: m.notes.clone(),
            revision: m.revision,
            create_time: micros(m.create_time),
        }
    }
}

impl RelationshipRow {
    pub(super) fn restore(&self, now: DateTime<Utc>) -> relationship::Model {
        relationship::Model {
            id: self.id.clone(),
            party: self.party.clone(),
            related_party: self.related_party.clone(),
            kind: self.kind,
            since: self.since.clone(),
            strength: self.strength,
            notes: self.notes.clone(),
            revision: self.revision + 1,
            create_time: from_micros(self.create_time),
            update_time: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_runtime::api::time;

    #[test]
    fn a_contact_snapshot_restores_every_column() {
        let now = time::now();
        let model = contact::Model {
            id: "c".into(),
            display_name: "Ada".into(),
            emails: "[]".into(),
            delete_time: None,
            merged_names: "[\"contacts/x\"]".into(),
            revision: 4,
            create_time: now,
            update_time: now,
            ..Default::default()
        };
        let restored = ContactSnapshot::from(&model).restore(9, now);
        assert_eq!(restored, contact::Model { revision: 9, ..model });
    }
}
