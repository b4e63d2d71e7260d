//! The contacts database: organisations and contacts, each mutation with its change-feed row in one transaction.
pub mod engagement;
pub mod entity;
mod graph;
pub mod keys;
pub mod merge;
pub mod migration;
pub mod search;
pub mod transfer;

use crate::domain::channels::{PostalAddress, labels_column};
use crate::domain::{ContactFields, OrganizationFields};
use crate::resource::{self, UNDELETE_WINDOW};
use entity::{affiliation, contact, organization, relationship};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::{Contact, Organization};
use liaison_runtime::api::names::{Contacts, Name, Organizations};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::idempotency::Begun;
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::db::{Db, WriteTxn, db_error};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud, db::idempotency};
use sea_orm::{EntityTrait, IntoActiveModel};

/// The idempotency key of a create and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct CreateKey {
    pub request_id: Option<RequestId>,
    pub fingerprint: String,
}

/// The contacts service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn create_organization(
        &self,
        fields: OrganizationFields,
        key: &CreateKey,
    ) -> Result<organization::Model, Error> {
        let name = Name::<Organizations>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateOrganization",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_organization(existing).await,
        };
        check_parent(&txn, &name, fields.parent).await?;
        let now = time::now();
        let search_text = crate::domain::channels::fold(&fields.display_name);
        let model = organization::Model {
            id: name.key(),
            display_name: fields.display_name,
            kind: fields.kind.value(),
            website: fields.website,
            notes: fields.notes,
            parent_id: fields.parent.map(|p| p.key()),
            postal_address: postal_address_column(fields.postal_address.as_ref()),
            labels: labels_column(&fields.labels),
            search_text,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        organization::Entity::insert(model.clone().into_active_model()).exec(&*txn).await.map_err(db_error)?;
        stored::append(&*txn, &model, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(model)
    }

    pub async fn get_organization(&self, name: Name<Organizations>) -> Result<organization::Model, Error> {
        crud::find::<organization::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    pub async fn list_organizations(
        &self,
        filter: &OrganizationFilter,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<organization::Model>, Error> {
        use sea_orm::{ColumnTrait, Condition};
        let mut condition = Condition::all();
        if let Some(kind) = filter.kind {
            condition = condition.add(organization::Column::Kind.eq(kind.value()));
        }
        if let Some(label) = &filter.label {
            condition = condition.add(organization::Column::Labels.like(format!("%,{label},%")));
        }
        if let Some(parent) = &filter.parent {
            condition = condition.add(organization::Column::ParentId.eq(parent.key()));
        }
        crud::page_where::<organization::Entity>(self.db.conn(), organization::Column::Id, condition, after, limit)
            .await
    }

    pub async fn organizations_by_id(&self, ids: Vec<String>) -> Result<Vec<organization::Model>, Error> {
        crud::find_many::<organization::Entity>(self.db.conn(), organization::Column::Id, ids).await
    }

    /// Changes an organisation: `apply` turns the current state into the new fields (merge + validation).
    pub async fn update_organization(
        &self,
        name: Name<Organizations>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Organization) -> Result<OrganizationFields, Error>,
    ) -> Result<organization::Model, Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |current: &organization::Model| {
            let fields = apply(&resource::organization(current))?;
            if fields.parent.map(|p| p.key()) != current.parent_id {
                check_parent(&txn, &name, fields.parent).await?;
            }
            Ok(organization::Model {
                search_text: crate::domain::channels::fold(&fields.display_name),
                display_name: fields.display_name,
                kind: fields.kind.value(),
                website: fields.website,
                notes: fields.notes,
                parent_id: fields.parent.map(|p| p.key()),
                postal_address: postal_address_column(fields.postal_address.as_ref()),
                labels: labels_column(&fields.labels),
                ..current.clone()
            })
        };
        let updated =
            stored::update::<organization::Entity>(&*txn, &name.to_string(), name.key(), expected_revision, rules)
                .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes an organisation; one with affiliations only with `force` (which deletes them too), one with
    /// member organisations or relationships never.
    pub async fn delete_organization(
        &self,
        name: Name<Organizations>,
        expected_revision: Option<i64>,
        force: bool,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        crud::lock_row::<organization::Entity>(&*txn, name.key()).await?;
        let rules = async |_: &organization::Model| graph::release_organization(&txn, &name, force).await;
        stored::delete::<organization::Entity>(&*txn, &name.to_string(), name.key(), expected_revision, rules).await?;
        txn.commit().await
    }

    /// Creates a contact. Its row, its keys, its change and its idempotency key are written in one round trip
    /// (see `liaison_runtime::db::single_trip`): creates are the hot write path.
    pub async fn create_contact(&self, fields: ContactFields, key: &CreateKey) -> Result<contact::Model, Error> {
        let name = Name::<Contacts>::generate();
        let now = time::now();
        let mut model = contact::Model {
            id: name.key(),
            uid: format!("urn:uuid:{}", name.key()),
            revision: 1,
            create_time: now,
            update_time: now,
            ..contact::Model::default()
        };
        apply_contact_fields(&mut model, fields);
        let mut inserts = vec![Insert::model(model.clone().into_active_model())];
        inserts.extend(keys::insert(&model));
        inserts.push(stored::change(&model, ChangeKind::Created));
        let request_id = key.request_id.as_ref();
        match single_trip::create_named(&self.db, "CreateContact", request_id, &key.fingerprint, &name, inserts).await?
        {
            None => Ok(model),
            Some(existing) => self.get_contact(existing).await,
        }
    }

    /// A contact by name; a merged contact's name gives its survivor, a deleted contact is returned as such.
    pub async fn get_contact(&self, name: Name<Contacts>) -> Result<contact::Model, Error> {
        let mut model = self.get_contact_row(name).await?;
        // Merges chain (a survivor can itself be merged later); follow to the end, bounded against damage.
        for _ in 0..MERGE_CHAIN_MAX {
            let Some(survivor) = model.merged_into.clone() else { break };
            model = crud::find::<contact::Entity>(self.db.conn(), survivor)
                .await?
                .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        }
        Ok(model)
    }

    /// The stored row of a contact, merged or not.
    pub async fn get_contact_row(&self, name: Name<Contacts>) -> Result<contact::Model, Error> {
        crud::find::<contact::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    pub async fn list_contacts(
        &self,
        filter: &ContactFilter,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<contact::Model>, Error> {
        use sea_orm::sea_query::Query;
        use sea_orm::{ColumnTrait, Condition};
        let mut condition = Condition::all().add(contact::Column::MergedInto.is_null());
        if !filter.show_deleted {
            condition = condition.add(contact::Column::DeleteTime.is_null());
        }
        if let Some(label) = &filter.label {
            condition = condition.add(contact::Column::Labels.like(format!("%,{label},%")));
        }
        if let Some(organization) = &filter.organization {
            condition = condition.add(
                contact::Column::Id.in_subquery(
                    Query::select()
                        .column(affiliation::Column::ContactId)
                        .from(affiliation::Entity)
                        .and_where(affiliation::Column::OrganizationId.eq(organization.key()))
                        .to_owned(),
                ),
            );
        }
        crud::page_where::<contact::Entity>(self.db.conn(), contact::Column::Id, condition, after, limit).await
    }

    /// Contacts by id, each merged one replaced by its survivor: `(requested id, contact)`.
    pub async fn contacts_by_id(&self, ids: Vec<String>) -> Result<Vec<contact::Model>, Error> {
        Ok(self.resolve_contacts(ids).await?.into_iter().map(|(_, model)| model).collect())
    }

    /// Like `contacts_by_id`, keeping which id was asked for (a merged id maps to its survivor).
    pub async fn resolve_contacts(&self, ids: Vec<String>) -> Result<Vec<(String, contact::Model)>, Error> {
        let mut resolved: Vec<(String, contact::Model)> =
            crud::find_many::<contact::Entity>(self.db.conn(), contact::Column::Id, ids)
                .await?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect();
        for _ in 0..MERGE_CHAIN_MAX {
            let pending: Vec<String> = resolved.iter().filter_map(|(_, m)| m.merged_into.clone()).collect();
            if pending.is_empty() {
                break;
            }
            let survivors: std::collections::HashMap<String, contact::Model> =
                crud::find_many::<contact::Entity>(self.db.conn(), contact::Column::Id, pending)
                    .await?
                    .into_iter()
                    .map(|m| (m.id.clone(), m))
                    .collect();
            for (_, model) in &mut resolved {
                if let Some(survivor) = model.merged_into.as_ref().and_then(|id| survivors.get(id)) {
                    *model = survivor.clone();
                }
            }
        }
        Ok(resolved)
    }

    /// Changes a contact: `apply` turns the current state into the new fields (merge + validation).
    pub async fn update_contact(
        &self,
        name: Name<Contacts>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Contact) -> Result<ContactFields, Error>,
    ) -> Result<contact::Model, Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |current: &contact::Model| {
            ensure_live(current)?;
            let mut updated = current.clone();
            apply_contact_fields(&mut updated, apply(&resource::contact(current))?);
            Ok(updated)
        };
        let updated =
            stored::update::<contact::Entity>(&*txn, &name.to_string(), name.key(), expected_revision, rules).await?;
        keys::replace(&*txn, &updated).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Soft-deletes a contact that has no affiliation or relationship left: it stays readable by name, leaves
    /// lists, search and `contact_keys`, and can be restored for [`UNDELETE_WINDOW`].
    pub async fn delete_contact(
        &self,
        name: Name<Contacts>,
        expected_revision: Option<i64>,
    ) -> Result<contact::Model, Error> {
        let txn = self.db.begin_write().await?;
        crud::lock_row::<contact::Entity>(&*txn, name.key()).await?;
        let rules = async |current: &contact::Model| {
            // Deleting twice, or deleting a merged contact, is a request that cannot apply, not a missing contact.
            ensure_live(current)?;
            graph::ensure_unlinked_contact(&txn, &name).await?;
            Ok(contact::Model { delete_time: Some(time::now()), ..current.clone() })
        };
        // A soft delete is an update of the row whose change says the resource is gone.
        let (_, deleted) =
            stored::update_row::<contact::Entity>(&*txn, &name.to_string(), name.key(), expected_revision, rules)
                .await?;
        keys::replace(&*txn, &deleted).await?;
        stored::append(&*txn, &deleted, ChangeKind::Deleted).await?;
        txn.commit().await?;
        Ok(deleted)
    }

    /// Restores a contact deleted less than [`UNDELETE_WINDOW`] ago.
    pub async fn undelete_contact(
        &self,
        name: Name<Contacts>,
        expected_revision: Option<i64>,
    ) -> Result<contact::Model, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        crud::lock_row::<contact::Entity>(&*txn, name.key()).await?;
        let precondition = |reason: &'static str, description: String| Error::FailedPrecondition {
            reason,
            violations: vec![PreconditionViolation { kind: reason.into(), subject: resource.clone(), description }],
        };
        let rules = async |current: &contact::Model| match current.delete_time {
            None => Err(precondition("NOT_DELETED", format!("{resource} is not deleted"))),
            Some(deleted) if time::now() - deleted > UNDELETE_WINDOW => Err(precondition(
                "UNDELETE_EXPIRED",
                format!("{resource} was deleted on {}, more than 30 days ago", deleted.format("%Y-%m-%d")),
            )),
            Some(_) => Ok(contact::Model { delete_time: None, ..current.clone() }),
        };
        let restored =
            stored::update::<contact::Entity>(&*txn, &resource, name.key(), expected_revision, rules).await?;
        keys::replace(&*txn, &restored).await?;
        txn.commit().await?;
        Ok(restored)
    }
}

/// Refuses to change a contact that is deleted (restore it first) or merged (change its survivor).
pub(crate) fn ensure_live(contact: &contact::Model) -> Result<(), Error> {
    let name = resource::contact_name(&contact.id);
    let (reason, description) = match (&contact.delete_time, &contact.merged_into) {
        (_, Some(survivor)) => {
            ("CONTACT_MERGED", format!("{name} was merged into {}", resource::contact_name(survivor)))
        }
        (Some(_), None) => ("CONTACT_DELETED", format!("{name} is deleted; UndeleteContact restores it")),
        (None, None) => return Ok(()),
    };
    Err(Error::FailedPrecondition {
        reason,
        violations: vec![PreconditionViolation { kind: reason.into(), subject: name, description }],
    })
}

/// How far `merged_into` links are followed.
const MERGE_CHAIN_MAX: usize = 16;

/// The filters of ListOrganizations, validated.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    pub kind: Option<crate::domain::OrganizationKind>,
    pub label: Option<String>,
    pub parent: Option<Name<Organizations>>,
}

/// The filters of ListContacts, validated.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub label: Option<String>,
    pub organization: Option<Name<Organizations>>,
    pub show_deleted: bool,
}

liaison_runtime::revisioned!(organization, contact, affiliation, relationship);

/// Sets the client-settable columns of a contact (and those derived from them) from validated fields.
pub(crate) fn apply_contact_fields(model: &mut contact::Model, fields: ContactFields) {
    model.search_text = fields.search_text();
    model.email = fields.emails.primary().unwrap_or_default().to_owned();
    model.phone = fields.phones.primary().unwrap_or_default().to_owned();
    model.emails = json(&fields.emails);
    model.phones = json(&fields.phones);
    model.display_name = fields.display_name;
    model.given_name = fields.given_name;
    model.family_name = fields.family_name;
    model.preferred_channel = fields.preferred_channel.map(|c| c.value()).unwrap_or_default();
    model.languages = json(&fields.languages);
    model.time_zone = fields.time_zone.map(|tz| tz.name().to_owned()).unwrap_or_default();
    model.working_hours = json(&fields.working_hours);
    model.labels = labels_column(&fields.labels);
    model.do_not_contact = fields.consent.do_not_contact;
    model.consent = json(&fields.consent);
    model.notes = fields.notes;
}

/// A value as stored in a JSON column. Serialising these plain structs cannot fail; an empty string would be
/// read back as the default.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn postal_address_column(address: Option<&PostalAddress>) -> String {
    address.map(json).unwrap_or_default()
}

/// The parent of an organisation must exist and must not have the organisation among its ancestors. Changes to
/// the hierarchy are serialised so that two of them cannot make a cycle together.
async fn check_parent(
    txn: &WriteTxn,
    organization: &Name<Organizations>,
    parent: Option<Name<Organizations>>,
) -> Result<(), Error> {
    let Some(parent) = parent else { return Ok(()) };
    liaison_runtime::db::xact_lock(&**txn, "contacts.organization-hierarchy").await?;
    let cycle = || Error::FailedPrecondition {
        reason: "PARENT_CYCLE",
        violations: vec![PreconditionViolation {
            kind: "PARENT_CYCLE".into(),
            subject: parent.to_string(),
            description: format!("{organization} would become its own ancestor through {parent}"),
        }],
    };
    let mut ancestor = Some(parent.key());
    let mut steps = 0;
    while let Some(id) = ancestor {
        if id == organization.key() {
            return Err(cycle());
        }
        let Some(row) = crud::lock_row::<organization::Entity>(&**txn, id.clone()).await? else {
            return Err(liaison_runtime::net::peers::missing_references(
                "PARENT_NOT_FOUND",
                "parent organization",
                &[resource::organization_name(&id)],
            ));
        };
        steps += 1;
        if steps > 10_000 {
            return Err(cycle());
        }
        ancestor = row.parent_id;
    }
    Ok(())
}
