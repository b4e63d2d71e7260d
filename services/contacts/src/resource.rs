//! How stored organisations and contacts look on the wire and in the change feed.
use crate::store::entity::{affiliation, contact, organization, relationship};
use liaison_proto::contacts::v1::{Affiliation, Contact, Date, Organization, Relationship};
use liaison_runtime::etag;
use liaison_runtime::time::to_timestamp;

pub const ORGANIZATION_TYPE: &str = "liaison.contacts.v1.Organization";
pub const CONTACT_TYPE: &str = "liaison.contacts.v1.Contact";
pub const AFFILIATION_TYPE: &str = "liaison.contacts.v1.Affiliation";
pub const RELATIONSHIP_TYPE: &str = "liaison.contacts.v1.Relationship";

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
