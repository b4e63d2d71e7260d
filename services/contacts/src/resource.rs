//! How stored organisations and contacts look on the wire and in the change feed.
use crate::store::entity::{contact, organization};
use liaison_proto::contacts::v1::{Contact, Organization};
use liaison_runtime::etag;
use liaison_runtime::time::to_timestamp;

pub const ORGANIZATION_TYPE: &str = "liaison.contacts.v1.Organization";
pub const CONTACT_TYPE: &str = "liaison.contacts.v1.Contact";

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
