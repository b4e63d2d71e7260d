//! The contacts database: organisations and contacts, each mutation with its change-feed row in one transaction.
pub mod entity;
pub mod migration;

use crate::domain::{ContactFields, OrganizationFields};
use crate::resource;
use entity::{contact, organization};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::{Contact, Organization};
use liaison_runtime::db::{Db, WriteTxn, db_error};
use liaison_runtime::names::{Contacts, Name, Organizations};
use liaison_runtime::validate::RequestId;
use liaison_runtime::{Error, crud, feed, idempotency, time};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

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
        let txn = self.db.begin_write().await?;
        let claim = idempotency::claim(
            &*txn,
            "CreateOrganization",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name.to_string(),
        )
        .await?;
        if let Some(existing) = claim {
            drop(txn);
            return self.get_organization(parse_stored(&existing)?).await;
        }
        let now = time::now();
        let model = organization::Model {
            id: name.key(),
            display_name: fields.display_name,
            kind: fields.kind.value(),
            website: fields.website,
            notes: fields.notes,
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
        let txn = self.db.begin_write().await?;
        let current = current::<organization::Entity>(&txn, name.key(), &name.to_string(), expected_revision).await?;
        let fields = apply(&resource::organization(&current))?;
        let updated = organization::Model {
            display_name: fields.display_name,
            kind: fields.kind.value(),
            website: fields.website,
            notes: fields.notes,
            revision: current.revision + 1,
            update_time: time::now(),
            ..current.clone()
        };
        let changed = organization::Entity::update_many()
            .set(updated.clone().into_active_model().reset_all())
            .filter(organization::Column::Id.eq(current.id.clone()))
            .filter(organization::Column::Revision.eq(current.revision))
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        if changed.rows_affected != 1 {
            return Err(Error::Aborted { resource: name.to_string() });
        }
        append_organization(&txn, &updated, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(updated)
    }

    pub async fn delete_organization(
        &self,
        name: Name<Organizations>,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let current = current::<organization::Entity>(&txn, name.key(), &name.to_string(), expected_revision).await?;
        let deleted = organization::Entity::delete_many()
            .filter(organization::Column::Id.eq(current.id.clone()))
            .filter(organization::Column::Revision.eq(current.revision))
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        if deleted.rows_affected != 1 {
            return Err(Error::Aborted { resource: name.to_string() });
        }
        append_organization(&txn, &current, ChangeKind::Deleted).await?;
        txn.commit().await
    }

    pub async fn create_contact(&self, fields: ContactFields, key: &CreateKey) -> Result<contact::Model, Error> {
        let name = Name::<Contacts>::generate();
        let txn = self.db.begin_write().await?;
        let claim =
            idempotency::claim(&*txn, "CreateContact", key.request_id.as_ref(), &key.fingerprint, &name.to_string())
                .await?;
        if let Some(existing) = claim {
            drop(txn);
            return self.get_contact(parse_stored(&existing)?).await;
        }
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
        let txn = self.db.begin_write().await?;
        let current = current::<contact::Entity>(&txn, name.key(), &name.to_string(), expected_revision).await?;
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
        let changed = contact::Entity::update_many()
            .set(updated.clone().into_active_model().reset_all())
            .filter(contact::Column::Id.eq(current.id.clone()))
            .filter(contact::Column::Revision.eq(current.revision))
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        if changed.rows_affected != 1 {
            return Err(Error::Aborted { resource: name.to_string() });
        }
        append_contact(&txn, &updated, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(updated)
    }

    pub async fn delete_contact(&self, name: Name<Contacts>, expected_revision: Option<i64>) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let current = current::<contact::Entity>(&txn, name.key(), &name.to_string(), expected_revision).await?;
        let deleted = contact::Entity::delete_many()
            .filter(contact::Column::Id.eq(current.id.clone()))
            .filter(contact::Column::Revision.eq(current.revision))
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        if deleted.rows_affected != 1 {
            return Err(Error::Aborted { resource: name.to_string() });
        }
        append_contact(&txn, &current, ChangeKind::Deleted).await?;
        txn.commit().await
    }
}

/// Rows that carry a revision (for etag checks).
trait Revisioned {
    fn revision(&self) -> i64;
}
impl Revisioned for organization::Model {
    fn revision(&self) -> i64 {
        self.revision
    }
}
impl Revisioned for contact::Model {
    fn revision(&self) -> i64 {
        self.revision
    }
}

/// The row to change, checked against the expected revision (stale → ABORTED, absent → NOT_FOUND).
async fn current<E>(
    txn: &WriteTxn,
    id: String,
    resource: &str,
    expected_revision: Option<i64>,
) -> Result<E::Model, Error>
where
    E: EntityTrait,
    E::Model: Revisioned,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let row = crud::find::<E>(&**txn, id).await?.ok_or_else(|| Error::NotFound { resource: resource.to_owned() })?;
    match expected_revision {
        Some(expected) if expected != row.revision() => Err(Error::Aborted { resource: resource.to_owned() }),
        _ => Ok(row),
    }
}

async fn append_organization(txn: &WriteTxn, model: &organization::Model, kind: ChangeKind) -> Result<(), Error> {
    let wire = resource::organization(model);
    feed::append(&**txn, &wire.name, kind, resource::ORGANIZATION_TYPE, &wire).await
}

async fn append_contact(txn: &WriteTxn, model: &contact::Model, kind: ChangeKind) -> Result<(), Error> {
    let wire = resource::contact(model);
    feed::append(&**txn, &wire.name, kind, resource::CONTACT_TYPE, &wire).await
}

fn parse_stored<C: liaison_runtime::names::Collection>(name: &str) -> Result<Name<C>, Error> {
    Name::parse("stored name", name).map_err(|v| Error::Internal(v.description))
}
