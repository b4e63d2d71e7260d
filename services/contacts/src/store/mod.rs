//! The contacts database: organisations and contacts, each mutation with its change-feed row in one transaction.
pub mod entity;
mod graph;
pub mod migration;

use crate::domain::{ContactFields, OrganizationFields};
use crate::resource;
use entity::{affiliation, contact, organization, relationship};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::{Contact, Organization};
use liaison_runtime::db::{Db, WriteTxn, db_error};
use liaison_runtime::idempotency::Begun;
use liaison_runtime::names::{Contacts, Name, Organizations};
use liaison_runtime::validate::RequestId;
use liaison_runtime::{Error, PreconditionViolation, crud, feed, idempotency, time};
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
        let model = organization::Model {
            id: name.key(),
            display_name: fields.display_name,
            kind: fields.kind.value(),
            website: fields.website,
            notes: fields.notes,
            parent_id: fields.parent.map(|p| p.key()),
            revision: 1,
            create_time: now,
            update_time: now,
        };
        organization::Entity::insert(model.clone().into_active_model()).exec(&*txn).await.map_err(db_error)?;
        append_organization(&txn, &model, ChangeKind::Created).await?;
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
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<organization::Model>, Error> {
        crud::page::<organization::Entity>(self.db.conn(), organization::Column::Id, after, limit).await
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
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let current =
            crud::current_for_update::<organization::Entity>(&*txn, &resource, name.key(), expected_revision).await?;
        let fields = apply(&resource::organization(&current))?;
        if fields.parent.map(|p| p.key()) != current.parent_id {
            check_parent(&txn, &name, fields.parent).await?;
        }
        let updated = organization::Model {
            display_name: fields.display_name,
            kind: fields.kind.value(),
            website: fields.website,
            notes: fields.notes,
            parent_id: fields.parent.map(|p| p.key()),
            revision: current.revision + 1,
            update_time: time::now(),
            ..current.clone()
        };
        crud::replace_if_unchanged::<organization::Entity>(&*txn, &resource, current.revision, updated.clone()).await?;
        append_organization(&txn, &updated, ChangeKind::Updated).await?;
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
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        crud::lock_row::<organization::Entity>(&*txn, name.key()).await?;
        let current =
            crud::current_for_update::<organization::Entity>(&*txn, &resource, name.key(), expected_revision).await?;
        graph::release_organization(&txn, &name, force).await?;
        crud::delete_if_unchanged::<organization::Entity>(&*txn, &resource, &current).await?;
        append_organization(&txn, &current, ChangeKind::Deleted).await?;
        txn.commit().await
    }

    pub async fn create_contact(&self, fields: ContactFields, key: &CreateKey) -> Result<contact::Model, Error> {
        let name = Name::<Contacts>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateContact",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_contact(existing).await,
        };
        let now = time::now();
        let model = contact::Model {
            id: name.key(),
            display_name: fields.display_name,
            given_name: fields.given_name,
            family_name: fields.family_name,
            email: fields.email,
            phone: fields.phone,
            time_zone: fields.time_zone.map(|tz| tz.name().to_owned()).unwrap_or_default(),
            notes: fields.notes,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        contact::Entity::insert(model.clone().into_active_model()).exec(&*txn).await.map_err(db_error)?;
        append_contact(&txn, &model, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(model)
    }

    pub async fn get_contact(&self, name: Name<Contacts>) -> Result<contact::Model, Error> {
        crud::find::<contact::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    pub async fn list_contacts(&self, after: Option<String>, limit: u64) -> Result<Vec<contact::Model>, Error> {
        crud::page::<contact::Entity>(self.db.conn(), contact::Column::Id, after, limit).await
    }

    pub async fn contacts_by_id(&self, ids: Vec<String>) -> Result<Vec<contact::Model>, Error> {
        crud::find_many::<contact::Entity>(self.db.conn(), contact::Column::Id, ids).await
    }

    /// Changes a contact: `apply` turns the current state into the new fields (merge + validation).
    pub async fn update_contact(
        &self,
        name: Name<Contacts>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Contact) -> Result<ContactFields, Error>,
    ) -> Result<contact::Model, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let current =
            crud::current_for_update::<contact::Entity>(&*txn, &resource, name.key(), expected_revision).await?;
        let fields = apply(&resource::contact(&current))?;
        let updated = contact::Model {
            display_name: fields.display_name,
            given_name: fields.given_name,
            family_name: fields.family_name,
            email: fields.email,
            phone: fields.phone,
            time_zone: fields.time_zone.map(|tz| tz.name().to_owned()).unwrap_or_default(),
            notes: fields.notes,
            revision: current.revision + 1,
            update_time: time::now(),
            ..current.clone()
        };
        crud::replace_if_unchanged::<contact::Entity>(&*txn, &resource, current.revision, updated.clone()).await?;
        append_contact(&txn, &updated, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes a contact that has no affiliation or relationship left.
    pub async fn delete_contact(&self, name: Name<Contacts>, expected_revision: Option<i64>) -> Result<(), Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        crud::lock_row::<contact::Entity>(&*txn, name.key()).await?;
        graph::ensure_unlinked_contact(&txn, &name).await?;
        let current =
            crud::current_for_update::<contact::Entity>(&*txn, &resource, name.key(), expected_revision).await?;
        crud::delete_if_unchanged::<contact::Entity>(&*txn, &resource, &current).await?;
        append_contact(&txn, &current, ChangeKind::Deleted).await?;
        txn.commit().await
    }
}

macro_rules! revisioned {
    ($($entity:ident),+) => {$(
        impl crud::Revisioned for $entity::Entity {
            fn id_column() -> Self::Column {
                $entity::Column::Id
            }
            fn revision_column() -> Self::Column {
                $entity::Column::Revision
            }
            fn id_of(model: &Self::Model) -> String {
                model.id.clone()
            }
            fn revision_of(model: &Self::Model) -> i64 {
                model.revision
            }
        }
    )+};
}
revisioned!(organization, contact, affiliation, relationship);

async fn append_organization(txn: &WriteTxn, model: &organization::Model, kind: ChangeKind) -> Result<(), Error> {
    let wire = resource::organization(model);
    feed::append(&**txn, &wire.name, kind, resource::ORGANIZATION_TYPE, &wire).await
}

async fn append_contact(txn: &WriteTxn, model: &contact::Model, kind: ChangeKind) -> Result<(), Error> {
    let wire = resource::contact(model);
    feed::append(&**txn, &wire.name, kind, resource::CONTACT_TYPE, &wire).await
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
            return Err(liaison_runtime::peers::missing_references(
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
