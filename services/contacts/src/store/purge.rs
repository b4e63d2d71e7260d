//! Retention: erasing contacts for good — those deleted longer ago than [`UNDELETE_WINDOW`] (a background job),
//! or one now on an administrator's request (right to erasure) — and expiring what merges keep of the contacts
//! they merged once they can no longer be undone.
//!
//! A purge deletes, in one transaction: the contact, every contact merged into it (their rows still held their
//! data, for unmerging), their merge records, `contact_keys` and assessments, and empties the payload of every
//! earlier change of them in the feed, appending a `PURGED` change for each (`liaison_runtime::feed::erase`).
//! Interactions keep their other parties; the erased contact's name in them resolves to nothing.
use super::{Store, graph};
use crate::resource::{self, UNDELETE_WINDOW};
use crate::store::contacts::ensure_not_merged;
use crate::store::entity::{assessment, contact, merge_record};
use chrono::{DateTime, Utc};
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::db::sql::statement;
use liaison_runtime::db::{WriteTxn, crud, db_error, jobs, resource::type_name};
use liaison_runtime::{Error, feed};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// Contacts purged per transaction of the background job (each run repeats until none is left).
pub const PURGE_BATCH: u64 = 100;
/// How often each server looks for contacts past their retention (one replica at a time does the work).
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// How far merges into merges are followed when collecting what a purge erases.
const MERGE_DEPTH_MAX: usize = 16;

/// What a purge erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// The contacts erased: each one asked for, then those merged into it.
    pub contacts: Vec<String>,
    pub assessments: u64,
}

impl Store {
    /// Erases `name` now (see the module doc). NOT_FOUND if it does not exist, ABORTED if `expected_revision` is
    /// stale, FAILED_PRECONDITION if it was merged (`CONTACT_MERGED`) or is still linked (`CONTACT_HAS_LINKS`).
    pub async fn purge_contact(&self, name: Name<Contacts>, expected_revision: Option<i64>) -> Result<Purged, Error> {
        let txn = self.db().begin_write().await?;
        let current = crud::lock_row::<contact::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        if let Some(expected) = expected_revision
            && expected != current.revision
        {
            return Err(Error::Aborted { resource: name.to_string() });
        }
        ensure_not_merged(&current)?;
        graph::ensure_unlinked_contact(&txn, &name).await?;
        let purged = erase(&txn, vec![current.id]).await?;
        txn.commit().await?;
        Ok(purged)
    }

    /// Erases up to [`PURGE_BATCH`] contacts deleted before `now - UNDELETE_WINDOW`, in one transaction; what it
    /// erased (nothing when another replica is purging now).
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<Purged, Error> {
        let txn = self.db().begin_write().await?;
        if !jobs::claim(&*txn, "contact purge").await? {
            return Ok(Purged::default());
        }
        let expired: Vec<String> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .filter(contact::Column::DeleteTime.lt(now - UNDELETE_WINDOW))
            .filter(contact::Column::MergedInto.is_null())
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(&*txn)
            .await
            .map_err(db_error)?;
        if expired.is_empty() {
            return Ok(Purged::default());
        }
        let purged = erase(&txn, expired).await?;
        txn.commit().await?;
        Ok(purged)
    }

    /// Purges every contact past its retention, batch after batch; how many.
    pub async fn purge_all_expired(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let purged = self.purge_expired(now).await?.contacts.len() as u64;
            total += purged;
            if purged == 0 {
                return Ok(total);
            }
        }
    }

    /// Forgets what merges made before `now - UNDELETE_WINDOW` keep (they can no longer be undone): the
    /// snapshots of their merge records, and the data still on the rows of the contacts they merged away, which
    /// now only redirect to their survivors. How many merges expired.
    pub async fn expire_merges(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let cutoff = now - UNDELETE_WINDOW;
        let txn = self.db().begin_write().await?;
        let backend = txn.get_database_backend();
        let blank_merged_rows = statement(
            backend,
            "UPDATE contacts SET display_name = '', given_name = '', family_name = '', email = '', phone = '', \
             notes = '', emails = '[]', phones = '[]', languages = '[]', working_hours = '[]', labels = '', \
             search_text = '', provenance = '[]', uid = '' \
             WHERE merged_into IS NOT NULL AND id IN (SELECT merged_id FROM merges WHERE merge_time < ? \
             AND unmerge_time IS NULL AND survivor_before <> '')",
            [cutoff.into()],
        );
        txn.execute_raw(blank_merged_rows).await.map_err(db_error)?;
        let forget_snapshots = statement(
            backend,
            "UPDATE merges SET survivor_before = '', merged_before = '', survivor_after = NULL, link_moves = '[]' \
             WHERE merge_time < ? AND survivor_before <> ''",
            [cutoff.into()],
        );
        let expired = txn.execute_raw(forget_snapshots).await.map_err(db_error)?.rows_affected();
        txn.commit().await?;
        Ok(expired)
    }
}

/// Deletes `ids` and every contact merged into them (transitively), with everything kept of them; see the
/// module doc.
async fn erase(txn: &WriteTxn, ids: Vec<String>) -> Result<Purged, Error> {
    let mut all = ids.clone();
    let mut frontier = ids;
    for _ in 0..MERGE_DEPTH_MAX {
        let merged: Vec<String> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .filter(contact::Column::MergedInto.is_in(frontier))
            .into_tuple()
            .all(&**txn)
            .await
            .map_err(db_error)?;
        if merged.is_empty() {
            break;
        }
        all.extend(merged.iter().cloned());
        frontier = merged;
    }
    let names: Vec<String> = all.iter().map(|id| resource::contact_name(id)).collect();
    let assessments: Vec<String> = assessment::Entity::find()
        .select_only()
        .column(assessment::Column::Id)
        .filter(assessment::Column::Party.is_in(names.clone()))
        .into_tuple()
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let assessment_names: Vec<String> =
        assessments.iter().map(|id| resource::engagement::assessment_name(id)).collect();
    assessment::Entity::delete_many()
        .filter(assessment::Column::Id.is_in(assessments))
        .exec(&**txn)
        .await
        .map_err(db_error)?;
    merge_record::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(merge_record::Column::SurvivorId.is_in(all.clone()))
                .add(merge_record::Column::MergedId.is_in(all.clone())),
        )
        .exec(&**txn)
        .await
        .map_err(db_error)?;
    let backend = txn.get_database_backend();
    for chunk in all.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let ids = || chunk.iter().map(|id| id.as_str().into()).collect::<Vec<sea_orm::Value>>();
        let delete_keys = format!("DELETE FROM contact_keys WHERE contact_id IN ({placeholders})");
        txn.execute_raw(statement(backend, &delete_keys, ids())).await.map_err(db_error)?;
    }
    super::terms::remove(&**txn, &all).await?;
    // Merged rows point at their survivor: delete them first.
    for id in all.iter().rev() {
        contact::Entity::delete_by_id(id.clone()).exec(&**txn).await.map_err(db_error)?;
    }
    feed::erase(&**txn, &type_name::<contact::Model>(), &names).await?;
    feed::erase(&**txn, &type_name::<assessment::Model>(), &assessment_names).await?;
    Ok(Purged { contacts: names, assessments: assessment_names.len() as u64 })
}
