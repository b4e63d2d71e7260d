//! How stored rows look on the wire and in the change feed: the `Resource` declarations of the entities and the
//! entity → wire mapping, shared by `store` (every change-feed row carries the wire form) and `api`.
pub mod engagement;

use crate::domain::channels::{Channels, ConsentRecord};
use crate::domain::contacts::WorkingInterval;
use crate::domain::labels::labels_from_column;
use crate::domain::organizations::PostalAddress;
use crate::store::entity::{affiliation, contact, organization, relationship};
use liaison_proto::contacts::v1::{Affiliation, Contact, Date, FieldProvenance, Organization, Relationship};
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;

/// Declares a stored model as a resource: its name and its wire form (see `liaison_runtime::db::resource`).
macro_rules! resource {
    ($($model:ty => $wire:ty, $name:expr, $to_wire:expr;)+) => {$(
        impl liaison_runtime::db::resource::Resource for $model {
            type Wire = $wire;
            fn resource_name(&self) -> String {
                $name(&self.id)
            }
            fn to_wire(&self) -> $wire {
                $to_wire(self)
            }
        }
    )+};
}
pub(crate) use resource;

resource! {
    organization::Model => Organization, organization_name, organization;
    contact::Model => Contact, contact_name, contact;
    affiliation::Model => Affiliation, |id| format!("affiliations/{id}"), affiliation;
    relationship::Model => Relationship, |id| format!("relationships/{id}"), relationship;
}

/// How long a deleted contact can be restored, and a merge undone.
pub const UNDELETE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// A JSON column; a row written before the column existed (or damaged) reads as the default.
pub(crate) fn from_json<T: serde::de::DeserializeOwned + Default>(column: &str) -> T {
    serde_json::from_str(column).unwrap_or_default()
}

pub fn organization_name(id: &str) -> String {
    format!("organizations/{id}")
}

pub fn contact_name(id: &str) -> String {
    format!("contacts/{id}")
}

pub fn organization(model: &organization::Model) -> Organization {
    Organization {
        name: organization_name(&model.id),
        display_name: model.display_name.clone(),
        kind: model.kind,
        website: model.website.clone(),
        notes: model.notes.clone(),
        etag: etag::render(model.revision),
        create_time: Some(to_timestamp(model.create_time)),
        update_time: Some(to_timestamp(model.update_time)),
        parent: model.parent_id.as_deref().map(organization_name).unwrap_or_default(),
        postal_address: serde_json::from_str::<PostalAddress>(&model.postal_address).ok().map(|a| a.to_wire()),
        labels: labels_from_column(&model.labels),
    }
}

pub fn contact(model: &contact::Model) -> Contact {
    Contact {
        name: contact_name(&model.id),
        display_name: model.display_name.clone(),
        given_name: model.given_name.clone(),
        family_name: model.family_name.clone(),
        email: model.email.clone(),
        phone: model.phone.clone(),
        time_zone: model.time_zone.clone(),
        notes: model.notes.clone(),
        etag: etag::render(model.revision),
        create_time: Some(to_timestamp(model.create_time)),
        update_time: Some(to_timestamp(model.update_time)),
        emails: from_json::<Channels>(&model.emails).to_emails(),
        phones: from_json::<Channels>(&model.phones).to_phones(),
        preferred_channel: model.preferred_channel,
        languages: from_json(&model.languages),
        working_hours: from_json::<Vec<WorkingInterval>>(&model.working_hours)
            .into_iter()
            .map(|w| w.to_wire())
            .collect(),
        labels: labels_from_column(&model.labels),
        consent: from_json::<ConsentRecord>(&model.consent).to_wire(),
        do_not_contact: model.do_not_contact,
        uid: model.uid.clone(),
        delete_time: model.delete_time.map(to_timestamp),
        purge_time: model.delete_time.map(|t| to_timestamp(t + UNDELETE_WINDOW)),
        merged_names: from_json(&model.merged_names),
        provenance: from_json::<Vec<(String, Vec<String>)>>(&model.provenance)
            .into_iter()
            .map(|(field, sources)| FieldProvenance { field, sources })
            .collect(),
    }
}

/// A stored `YYYY-MM-DD` date on the wire.
fn date(stored: Option<&str>) -> Option<Date> {
    let parsed = stored.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    crate::domain::graph::date_to_wire(parsed)
}

pub fn affiliation(model: &affiliation::Model) -> Affiliation {
    Affiliation {
        name: format!("affiliations/{}", model.id),
        contact: contact_name(&model.contact_id),
        organization: organization_name(&model.organization_id),
        role: model.role.clone(),
        start_date: date(model.start_date.as_deref()),
        end_date: date(model.end_date.as_deref()),
        point_of_contact: model.point_of_contact,
        etag: etag::render(model.revision),
        create_time: Some(to_timestamp(model.create_time)),
        update_time: Some(to_timestamp(model.update_time)),
    }
}

pub fn relationship(model: &relationship::Model) -> Relationship {
    Relationship {
        name: format!("relationships/{}", model.id),
        party: model.party.clone(),
        related_party: model.related_party.clone(),
        r#type: model.kind,
        since: date(model.since.as_deref()),
        strength: model.strength,
        notes: model.notes.clone(),
        etag: etag::render(model.revision),
        create_time: Some(to_timestamp(model.create_time)),
        update_time: Some(to_timestamp(model.update_time)),
    }
}

#[cfg(test)]
mod proptests;
