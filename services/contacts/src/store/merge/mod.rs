//! Merging a contact into another and undoing it, each in one transaction with its change-feed rows.
//!
//! A merge locks both contact rows in id order (so two merges touching the same contact queue instead of
//! deadlocking, and the second one sees what the first did), combines their fields (`domain::merge`), marks the
//! merged contact `merged_into` the survivor, and moves its links with one `links::Mover` per kind of link. Each mover
//! returns [`LinkMove`]s that say exactly what it changed, with enough data to undo it; they are stored with
//! snapshots of both contacts in a `merges` row, which is what UnmergeContacts replays backwards. A dry run
//! (`validate_only`) runs the very same code and rolls the transaction back, so the preview cannot differ from
//! the merge.
//!
//! Here: the two transactions. The moves of links are in `links`, the rows kept for undoing in `snapshot`.
mod links;
mod snapshot;

pub use links::LinkMove;
pub use snapshot::{AffiliationRow, ContactSnapshot, RelationshipRow};

use super::contacts::{apply_contact_fields, ensure_live};
use super::{Store, json, keys};
use crate::domain::contacts::ContactFields;
use crate::domain::merge::{self as rules, Provenance, Side};
use crate::resource::{self, UNDELETE_WINDOW, from_json};
use crate::store::entity::{contact, merge_record};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud};
use links::{MOVERS, restore_links};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

/// What MergeContacts asks for, validated.
#[derive(Debug, Clone, Copy)]
pub struct MergeRequest {
    pub survivor: Name<Contacts>,
    pub merged: Name<Contacts>,
    pub survivor_revision: Option<i64>,
    pub merged_revision: Option<i64>,
    pub validate_only: bool,
}

/// What a merge did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    pub survivor: contact::Model,
    pub moves: Vec<LinkMove>,
    pub provenance: Provenance,
}

/// Locks both contact rows in id order (the same order for every caller, so two transactions wanting the same
/// pair queue instead of deadlocking) and returns them, as they are once locked, in the order asked.
async fn lock_pair(
    txn: &WriteTxn,
    a: Name<Contacts>,
    b: Name<Contacts>,
) -> Result<(Option<contact::Model>, Option<contact::Model>), Error> {
    let a_first = a.key() <= b.key();
    let (first, second) = if a_first { (a, b) } else { (b, a) };
    let first = crud::lock_row::<contact::Entity>(&**txn, first.key()).await?;
    let second = crud::lock_row::<contact::Entity>(&**txn, second.key()).await?;
    Ok(if a_first { (first, second) } else { (second, first) })
}

/// A stored contact as validated fields (what it was created or last updated with).
fn stored_fields(model: &contact::Model) -> Result<ContactFields, Error> {
    ContactFields::parse("contact", &resource::contact(model)).map_err(|violations| {
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        Error::Internal(format!("stored contacts/{} does not validate: {}", model.id, fields.join(", ")))
    })
}

fn precondition(reason: &'static str, subject: String, description: String) -> Error {
    Error::FailedPrecondition {
        reason,
        violations: vec![PreconditionViolation { kind: reason.into(), subject, description }],
    }
}

/// The merge of `merged` that is not undone, if any.
async fn active_merge(txn: &WriteTxn, merged: Name<Contacts>) -> Result<Option<merge_record::Model>, Error> {
    merge_record::Entity::find()
        .filter(merge_record::Column::MergedId.eq(merged.key()))
        .filter(merge_record::Column::UnmergeTime.is_null())
        .one(&**txn)
        .await
        .map_err(db_error)
}

/// Why `merged` cannot be unmerged when it has no merge to undo: NOT_FOUND if no such contact exists, otherwise a
/// precondition failure saying it is not merged (never merged, or already unmerged).
async fn not_merged(txn: &WriteTxn, merged: Name<Contacts>) -> Error {
    let resource = merged.to_string();
    match contact::Entity::find_by_id(merged.key()).one(&**txn).await {
        Ok(Some(_)) => precondition(
            "NOT_MERGED",
            resource.clone(),
            format!("{resource} is not merged into another contact (never merged, or already unmerged)"),
        ),
        Ok(None) => Error::NotFound { resource },
        Err(e) => db_error(e),
    }
}

impl Store {
    /// Merges `request.merged` into `request.survivor` (see the module documentation); with `validate_only`
    /// everything is done and then rolled back.
    pub async fn merge_contacts(&self, request: MergeRequest) -> Result<MergeOutcome, Error> {
        let (survivor_name, merged_name) = (request.survivor, request.merged);
        if survivor_name == merged_name {
            return Err(Error::invalid("merged", "must differ from survivor: a contact cannot be merged into itself"));
        }
        let txn = self.db.begin_write().await?;
        let (survivor, merged) = lock_pair(&txn, survivor_name, merged_name).await?;
        let survivor = survivor.ok_or_else(|| Error::NotFound { resource: survivor_name.to_string() })?;
        let merged = merged.ok_or_else(|| Error::NotFound { resource: merged_name.to_string() })?;
        ensure_live(&survivor)?;
        ensure_live(&merged)?;
        for (model, expected) in [(&survivor, request.survivor_revision), (&merged, request.merged_revision)] {
            if expected.is_some_and(|revision| revision != model.revision) {
                return Err(Error::Aborted { resource: resource::contact_name(&model.id) });
            }
        }

        let (survivor_fields, merged_fields) = (stored_fields(&survivor)?, stored_fields(&merged)?);
        let (survivor_provenance, merged_provenance): (Provenance, Provenance) =
            (from_json(&survivor.provenance), from_json(&merged.provenance));
        let (survivor_wire, merged_wire) = (survivor_name.to_string(), merged_name.to_string());
        let (fields, provenance) = rules::combine(
            Side { name: &survivor_wire, fields: &survivor_fields, provenance: &survivor_provenance },
            Side { name: &merged_wire, fields: &merged_fields, provenance: &merged_provenance },
        )?;
        let now = time::now();
        let mut combined = contact::Model { revision: survivor.revision + 1, update_time: now, ..survivor.clone() };
        apply_contact_fields(&mut combined, fields);
        combined.provenance = json(&provenance);
        combined.merged_names = json(&rules::merged_names(
            &from_json::<Vec<String>>(&survivor.merged_names),
            &merged_wire,
            &from_json::<Vec<String>>(&merged.merged_names),
        ));
        let gone = contact::Model {
            merged_into: Some(survivor.id.clone()),
            revision: merged.revision + 1,
            update_time: now,
            ..merged.clone()
        };
        stored::replace_if_unchanged::<contact::Entity>(&*txn, &survivor_wire, survivor.revision, combined.clone())
            .await?;
        stored::replace_if_unchanged::<contact::Entity>(&*txn, &merged_wire, merged.revision, gone.clone()).await?;
        keys::replace(&*txn, &combined).await?;
        keys::replace(&*txn, &gone).await?;
        stored::append(&*txn, &combined, ChangeKind::Updated).await?;
        // The merged contact leaves the register as a contact of its own; the survivor lists it in merged_names.
        stored::append(&*txn, &gone, ChangeKind::Deleted).await?;

        let mut moves = Vec::new();
        for mover in MOVERS {
            moves.extend(mover.repoint(&txn, merged_name, survivor_name).await?);
        }
        let record = merge_record::Model {
            id: uuid::Uuid::now_v7().to_string(),
            survivor_id: survivor.id.clone(),
            merged_id: merged.id.clone(),
            merge_time: now,
            unmerge_time: None,
            survivor_before: json(&ContactSnapshot::from(&survivor)),
            merged_before: json(&ContactSnapshot::from(&merged)),
            link_moves: json(&moves),
            survivor_after: Some(json(&ContactSnapshot::from(&combined))),
        };
        merge_record::Entity::insert(record.into_active_model()).exec(&*txn).await.map_err(db_error)?;
        if request.validate_only {
            drop(txn); // rolled back: a dry run writes nothing
        } else {
            txn.commit().await?;
        }
        Ok(MergeOutcome { survivor: combined, moves, provenance })
    }

    /// Undoes the merge of `merged` within [`UNDELETE_WINDOW`]: both contacts as they were before it (at new
    /// revisions) and every link moved back. Returns `(survivor, restored)`.
    pub async fn unmerge_contacts(&self, merged: Name<Contacts>) -> Result<(contact::Model, contact::Model), Error> {
        let resource = merged.to_string();
        let txn = self.db.begin_write().await?;
        let Some(record) = active_merge(&txn, merged).await? else {
            return Err(not_merged(&txn, merged).await);
        };
        let survivor_id = uuid::Uuid::try_parse(&record.survivor_id)
            .map_err(|_| Error::Internal(format!("merge {} has a bad survivor id", record.id)))?;
        let survivor_name = Name::<Contacts>::from_id(survivor_id);
        let (survivor, gone) = lock_pair(&txn, survivor_name, merged).await?;
        // Read again under the locks: an unmerge that raced this one may have finished while we waited.
        let Some(record) = active_merge(&txn, merged).await?.filter(|r| r.id == record.id) else {
            return Err(not_merged(&txn, merged).await);
        };
        let (Some(survivor), Some(gone)) = (survivor, gone) else {
            return Err(Error::Internal(format!("merge {} refers to a contact that does not exist", record.id)));
        };
        let now = time::now();
        if now - record.merge_time > UNDELETE_WINDOW {
            return Err(precondition(
                "UNMERGE_EXPIRED",
                resource.clone(),
                format!("{resource} was merged on {}, more than 30 days ago", record.merge_time.format("%Y-%m-%d")),
            ));
        }
        ensure_live(&survivor)?;
        if gone.merged_into.as_deref() != Some(record.survivor_id.as_str()) {
            return Err(Error::Internal(format!("{resource} is not merged into {survivor_name} as recorded")));
        }
        let later = merge_record::Entity::find()
            .filter(merge_record::Column::SurvivorId.eq(record.survivor_id.clone()))
            .filter(merge_record::Column::UnmergeTime.is_null())
            .filter(merge_record::Column::Id.gt(record.id.clone()))
            .order_by_desc(merge_record::Column::Id)
            .one(&*txn)
            .await
            .map_err(db_error)?;
        if let Some(later) = later {
            let other = resource::contact_name(&later.merged_id);
            return Err(precondition(
                "LATER_MERGE",
                other.clone(),
                format!("{other} was merged into {survivor_name} afterwards; unmerge it first"),
            ));
        }

        let snapshot = |column: &str| {
            serde_json::from_str::<ContactSnapshot>(column)
                .map_err(|e| Error::Internal(format!("merge {} has a damaged snapshot: {e}", record.id)))
        };
        // The survivor edited since the merge (a do-not-contact set, a new email): writing its pre-merge state back
        // would silently undo the edit, so the unmerge is refused, naming what changed.
        if let Some(after) = &record.survivor_after {
            let changed = snapshot(after)?.changed_fields(&ContactSnapshot::from(&survivor));
            if !changed.is_empty() {
                let survivor_wire = survivor_name.to_string();
                return Err(precondition(
                    "SURVIVOR_CHANGED",
                    survivor_wire.clone(),
                    format!(
                        "{survivor_wire} was edited since the merge ({}); unmerging would undo those edits — \
                         undo them first, or keep the merge",
                        changed.join(", ")
                    ),
                ));
            }
        }
        let restored_survivor = snapshot(&record.survivor_before)?.restore(survivor.revision + 1, now);
        let restored = snapshot(&record.merged_before)?.restore(gone.revision + 1, now);
        let moves: Vec<LinkMove> = serde_json::from_str(&record.link_moves)
            .map_err(|e| Error::Internal(format!("merge {} has damaged link moves: {e}", record.id)))?;
        stored::replace_if_unchanged::<contact::Entity>(
            &*txn,
            &survivor_name.to_string(),
            survivor.revision,
            restored_survivor.clone(),
        )
        .await?;
        stored::replace_if_unchanged::<contact::Entity>(&*txn, &resource, gone.revision, restored.clone()).await?;
        keys::replace(&*txn, &restored_survivor).await?;
        keys::replace(&*txn, &restored).await?;
        stored::append(&*txn, &restored_survivor, ChangeKind::Updated).await?;
        stored::append(&*txn, &restored, ChangeKind::Updated).await?;
        restore_links(&txn, &moves).await?;
        let closed = merge_record::Entity::update_many()
            .col_expr(merge_record::Column::UnmergeTime, sea_orm::sea_query::Expr::value(now))
            .filter(merge_record::Column::Id.eq(record.id.clone()))
            .filter(merge_record::Column::UnmergeTime.is_null())
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        if closed.rows_affected != 1 {
            return Err(not_merged(&txn, merged).await);
        }
        txn.commit().await?;
        Ok((restored_survivor, restored))
    }
}
