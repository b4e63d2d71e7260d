//! Contacts: each mutation with its change-feed row (and its `contact_keys`) in one transaction; soft deletion
//! and restoring; reads that follow merges to the survivor.
use super::{CreateKey, Store, graph, json, keys, terms};
use crate::domain::contacts::ContactFields;
use crate::domain::labels::labels_column;
use crate::resource::{self, UNDELETE_WINDOW};
use crate::store::entity::{affiliation, contact};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::Contact;
use liaison_runtime::api::names::{Contacts, Name, Organizations};
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud};
use sea_orm::IntoActiveModel;

/// How far `merged_into` links are followed.
const MERGE_CHAIN_MAX: usize = 16;

/// The filters of ListContacts, validated.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub label: Option<String>,
    pub organization: Option<Name<Organizations>>,
    pub show_deleted: bool,
    /// The request's `filter`.
    pub matching: liaison_runtime::api::filter::Filter,
}

impl Store {
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
        let (term_inserts, new_words) = terms::inserts_knowing([&model], &self.known_words);
        inserts.extend(term_inserts);
        inserts.push(stored::change(&model, ChangeKind::Created));
        let request_id = key.request_id.as_ref();
        let created =
            single_trip::create_named(&self.db, "CreateContact", request_id, &key.fingerprint, &name, inserts);
        match created.await? {
            None => {
                self.known_words.learn(new_words);
                Ok(model)
            }
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
        order: crud::ListOrder<contact::Column>,
        after: Option<crud::Resume>,
        limit: u64,
    ) -> Result<Vec<contact::Model>, Error> {
        use sea_orm::sea_query::Query;
        use sea_orm::{ColumnTrait, Condition};
        // The generated columns that the partial indexes of the list orders are over (see their migration).
        let shown = if filter.show_deleted { "unmerged" } else { "listed" };
        let mut condition =
            Condition::all().add(sea_orm::sea_query::Expr::cust(shown)).add(filter.matching.to_condition());
        if let Some(label) = &filter.label {
            condition =
                condition.add(contact::Column::Labels.like(liaison_runtime::db::sql::like_literal("%,", label, ",%")));
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
        crud::page_ordered::<contact::Entity>(self.db.conn(), contact::Column::Id, order, condition, after, limit).await
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
        let updated = stored::update::<contact::Entity, _>(&*txn, name, expected_revision, rules).await?;
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
        let (_, deleted) = stored::update_row::<contact::Entity, _>(&*txn, name, expected_revision, rules).await?;
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
        let restored = stored::update::<contact::Entity, _>(&*txn, name, expected_revision, rules).await?;
        keys::replace(&*txn, &restored).await?;
        txn.commit().await?;
        Ok(restored)
    }
}

/// Refuses a contact that was merged into another (act on its survivor); deleted ones pass.
pub(crate) fn ensure_not_merged(contact: &contact::Model) -> Result<(), Error> {
    match contact.merged_into {
        Some(_) => ensure_live(contact),
        None => Ok(()),
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
