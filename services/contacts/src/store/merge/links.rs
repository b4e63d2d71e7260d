//! The links a merge moves from the merged contact to the survivor, one [`Mover`] per kind of link, and how each
//! move is undone: every [`LinkMove`] says exactly what it changed, with what undoing it needs.
use super::snapshot::{AffiliationRow, RelationshipRow};
use crate::domain::graph::RelationshipKind;
use crate::resource;
use crate::store::engagement;
use crate::store::entity::{affiliation, organization, relationship};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::MovedLink;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error};
use liaison_runtime::{Error, api::time, db::crud};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

/// The kinds of link that point at a contact, each moved by its own code. The order is the order of the moves,
/// and undoing runs it backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mover {
    Affiliations,
    Relationships,
    /// Assessments and interaction participations (see `store::engagement::repoint_party`).
    Engagement,
}

pub(super) const MOVERS: [Mover; 3] = [Mover::Affiliations, Mover::Relationships, Mover::Engagement];

impl Mover {
    /// Moves this kind of link from `from` to `to`, appending the change-feed row of every link it changes.
    pub(super) async fn repoint(
        self,
        txn: &WriteTxn,
        from: Name<Contacts>,
        to: Name<Contacts>,
    ) -> Result<Vec<LinkMove>, Error> {
        match self {
            Self::Affiliations => repoint_affiliations(txn, from, to).await,
            Self::Relationships => repoint_relationships(txn, from, to).await,
            Self::Engagement => Ok(engagement::repoint_party(txn, &from.to_string(), &to.to_string())
                .await?
                .into_iter()
                .map(|moved| LinkMove::Engagement { moved })
                .collect()),
        }
    }

    /// Undoes `moves` (all made by this mover, in the order made).
    async fn restore(self, txn: &WriteTxn, moves: &[LinkMove]) -> Result<(), Error> {
        match self {
            Self::Affiliations => restore_affiliations(txn, moves).await,
            Self::Relationships => restore_relationships(txn, moves).await,
            Self::Engagement => {
                let moved: Vec<engagement::EngagementMove> = moves
                    .iter()
                    .filter_map(|m| match m {
                        LinkMove::Engagement { moved } => Some(moved.clone()),
                        _ => None,
                    })
                    .collect();
                engagement::restore_party(txn, &moved).await
            }
        }
    }
}

/// One change a merge made to a link, with what undoing it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "link", rename_all = "snake_case")]
pub enum LinkMove {
    /// The affiliation now belongs to the survivor.
    AffiliationMoved { id: String, organization_id: String, from_contact: String, to_contact: String },
    /// Deleted: the survivor was already affiliated with the organisation (`kept`).
    AffiliationRemoved { row: AffiliationRow, kept: String },
    /// The survivor's affiliation `id` became the organisation's point of contact in place of the removed one.
    AffiliationPromoted { id: String, organization_id: String, replaces: String },
    /// The relationship's parties changed from `before` to `after` (symmetric types kept in canonical order).
    RelationshipMoved { id: String, kind: i32, before: (String, String), after: (String, String) },
    /// Deleted: it would have related the survivor to itself (`duplicate_of` empty) or duplicated another.
    RelationshipRemoved { row: RelationshipRow, duplicate_of: Option<String> },
    /// An assessment or interaction participation moved to the survivor (or removed as a duplicate).
    Engagement { moved: engagement::EngagementMove },
}

impl LinkMove {
    /// Ids of the organisations this move involves.
    fn organizations(&self) -> Vec<String> {
        match self {
            Self::AffiliationMoved { organization_id, .. } | Self::AffiliationPromoted { organization_id, .. } => {
                vec![organization_id.clone()]
            }
            Self::AffiliationRemoved { row, .. } => vec![row.organization_id.clone()],
            Self::RelationshipMoved { before, after, .. } => [&before.0, &before.1, &after.0, &after.1]
                .into_iter()
                .filter_map(|party| party.strip_prefix("organizations/").map(str::to_owned))
                .collect(),
            Self::RelationshipRemoved { row, .. } => [&row.party, &row.related_party]
                .into_iter()
                .filter_map(|party| party.strip_prefix("organizations/").map(str::to_owned))
                .collect(),
            Self::Engagement { .. } => Vec::new(),
        }
    }

    fn mover(&self) -> Mover {
        match self {
            Self::AffiliationMoved { .. } | Self::AffiliationRemoved { .. } | Self::AffiliationPromoted { .. } => {
                Mover::Affiliations
            }
            Self::RelationshipMoved { .. } | Self::RelationshipRemoved { .. } => Mover::Relationships,
            Self::Engagement { .. } => Mover::Engagement,
        }
    }

    /// The moved resource and what happened to it, as MergeContacts reports it.
    pub fn describe(&self) -> MovedLink {
        let contact = |id: &str| resource::contact_name(id);
        let (resource, description) = match self {
            Self::AffiliationMoved { id, organization_id, from_contact, to_contact } => (
                format!("affiliations/{id}"),
                format!(
                    "contact changes from {} to {} (affiliation with {})",
                    contact(from_contact),
                    contact(to_contact),
                    resource::organization_name(organization_id)
                ),
            ),
            Self::AffiliationRemoved { row, kept } => (
                format!("affiliations/{}", row.id),
                format!(
                    "removed: duplicate of affiliations/{kept} (the survivor is already affiliated with {})",
                    resource::organization_name(&row.organization_id)
                ),
            ),
            Self::AffiliationPromoted { id, organization_id, replaces } => (
                format!("affiliations/{id}"),
                format!(
                    "becomes the point of contact of {} in place of affiliations/{replaces}",
                    resource::organization_name(organization_id)
                ),
            ),
            Self::RelationshipMoved { id, before, after, .. } => (
                format!("relationships/{id}"),
                format!("now between {} and {} (was {} and {})", after.0, after.1, before.0, before.1),
            ),
            Self::RelationshipRemoved { row, duplicate_of: Some(other) } => {
                (format!("relationships/{}", row.id), format!("removed: duplicate of relationships/{other}"))
            }
            Self::RelationshipRemoved { row, duplicate_of: None } => {
                (format!("relationships/{}", row.id), "removed: it would relate the survivor to itself".to_owned())
            }
            Self::Engagement { moved } => (moved.resource.clone(), moved.description.clone()),
        };
        MovedLink { resource, description }
    }
}

/// Undoes `moves` backwards, one mover's run at a time, after locking every organisation they touch (in id
/// order, before any affiliation or relationship row, as merges and SetPointOfContact do).
pub(super) async fn restore_links(txn: &WriteTxn, moves: &[LinkMove]) -> Result<(), Error> {
    lock_organizations(txn, moves.iter().flat_map(LinkMove::organizations).collect()).await?;
    let runs: Vec<&[LinkMove]> = moves.chunk_by(|a, b| a.mover() == b.mover()).collect();
    for run in runs.into_iter().rev() {
        if let Some(first) = run.first() {
            first.mover().restore(txn, run).await?;
        }
    }
    Ok(())
}

/// Locks organisation rows in id order. SetPointOfContact locks an organisation before its affiliations, so a
/// merge that changes affiliations does the same.
async fn lock_organizations(txn: &WriteTxn, mut ids: Vec<String>) -> Result<(), Error> {
    ids.sort();
    ids.dedup();
    for id in ids {
        crud::lock_row::<organization::Entity>(&**txn, id).await?;
    }
    Ok(())
}

fn affiliations_of(contact: Name<Contacts>) -> sea_orm::Select<affiliation::Entity> {
    affiliation::Entity::find()
        .filter(affiliation::Column::ContactId.eq(contact.key()))
        .order_by_asc(affiliation::Column::Id)
}

async fn repoint_affiliations(
    txn: &WriteTxn,
    from: Name<Contacts>,
    to: Name<Contacts>,
) -> Result<Vec<LinkMove>, Error> {
    let moving = affiliations_of(from).all(&**txn).await.map_err(db_error)?;
    lock_organizations(txn, moving.iter().map(|a| a.organization_id.clone()).collect()).await?;
    // Read again under the organisations' locks; new affiliations of `from` cannot appear (its row is locked).
    let moving = affiliations_of(from).all(&**txn).await.map_err(db_error)?;
    let kept = affiliations_of(to).all(&**txn).await.map_err(db_error)?;
    let now = time::now();
    let today = now.date_naive();
    let mut moves = Vec::new();
    for row in moving {
        let resource = format!("affiliations/{}", row.id);
        match kept.iter().find(|k| k.organization_id == row.organization_id) {
            Some(existing) => {
                stored::delete_if_unchanged::<affiliation::Entity>(&**txn, &resource, &row).await?;
                stored::append(&**txn, &row, ChangeKind::Deleted).await?;
                moves.push(LinkMove::AffiliationRemoved { row: (&row).into(), kept: existing.id.clone() });
                let ended = existing
                    .end_date
                    .as_deref()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .is_some_and(|end| end < today);
                // The organisation keeps its point of contact: the same person, through the survivor.
                if row.point_of_contact && !existing.point_of_contact && !ended {
                    let promoted = affiliation::Model {
                        point_of_contact: true,
                        revision: existing.revision + 1,
                        update_time: now,
                        ..existing.clone()
                    };
                    let name = format!("affiliations/{}", existing.id);
                    stored::replace_if_unchanged::<affiliation::Entity>(
                        &**txn,
                        &name,
                        existing.revision,
                        promoted.clone(),
                    )
                    .await?;
                    stored::append(&**txn, &promoted, ChangeKind::Updated).await?;
                    moves.push(LinkMove::AffiliationPromoted {
                        id: existing.id.clone(),
                        organization_id: existing.organization_id.clone(),
                        replaces: row.id.clone(),
                    });
                }
            }
            None => {
                let moved = affiliation::Model {
                    contact_id: to.key(),
                    revision: row.revision + 1,
                    update_time: now,
                    ..row.clone()
                };
                stored::replace_if_unchanged::<affiliation::Entity>(&**txn, &resource, row.revision, moved.clone())
                    .await?;
                stored::append(&**txn, &moved, ChangeKind::Updated).await?;
                moves.push(LinkMove::AffiliationMoved {
                    id: row.id.clone(),
                    organization_id: row.organization_id.clone(),
                    from_contact: from.key(),
                    to_contact: to.key(),
                });
            }
        }
    }
    Ok(moves)
}

/// Undoes affiliation moves; the organisations are locked already (see [`restore_links`]).
async fn restore_affiliations(txn: &WriteTxn, moves: &[LinkMove]) -> Result<(), Error> {
    let now = time::now();
    for undo in moves.iter().rev() {
        match undo {
            LinkMove::AffiliationMoved { id, from_contact, to_contact, .. } => {
                // Changed or deleted since the merge: the later change wins.
                let Some(row) = crud::find::<affiliation::Entity>(&**txn, id.clone()).await? else { continue };
                if row.contact_id != *to_contact {
                    continue;
                }
                let back = affiliation::Model {
                    contact_id: from_contact.clone(),
                    revision: row.revision + 1,
                    update_time: now,
                    ..row.clone()
                };
                stored::replace_if_unchanged::<affiliation::Entity>(
                    &**txn,
                    &format!("affiliations/{id}"),
                    row.revision,
                    back.clone(),
                )
                .await?;
                stored::append(&**txn, &back, ChangeKind::Updated).await?;
            }
            LinkMove::AffiliationPromoted { id, .. } => {
                let Some(row) = crud::find::<affiliation::Entity>(&**txn, id.clone()).await? else { continue };
                if !row.point_of_contact {
                    continue;
                }
                let demoted = affiliation::Model {
                    point_of_contact: false,
                    revision: row.revision + 1,
                    update_time: now,
                    ..row.clone()
                };
                stored::replace_if_unchanged::<affiliation::Entity>(
                    &**txn,
                    &format!("affiliations/{id}"),
                    row.revision,
                    demoted.clone(),
                )
                .await?;
                stored::append(&**txn, &demoted, ChangeKind::Updated).await?;
            }
            LinkMove::AffiliationRemoved { row, .. } => {
                if crud::find::<organization::Entity>(&**txn, row.organization_id.clone()).await?.is_none() {
                    continue; // the organisation has been deleted since
                }
                // If the organisation has named another point of contact since, that choice stands.
                let taken = row.point_of_contact
                    && affiliation::Entity::find()
                        .filter(affiliation::Column::OrganizationId.eq(row.organization_id.clone()))
                        .filter(affiliation::Column::PointOfContact.eq(true))
                        .one(&**txn)
                        .await
                        .map_err(db_error)?
                        .is_some();
                let restored = row.restore(row.point_of_contact && !taken, now);
                affiliation::Entity::insert(restored.clone().into_active_model())
                    .exec(&**txn)
                    .await
                    .map_err(db_error)?;
                stored::append(&**txn, &restored, ChangeKind::Created).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The relationship of `kind` between exactly `party` and `related_party`, other than `except`.
async fn relationship_between(
    txn: &WriteTxn,
    kind: i32,
    party: &str,
    related_party: &str,
    except: &str,
) -> Result<Option<relationship::Model>, Error> {
    relationship::Entity::find()
        .filter(relationship::Column::Kind.eq(kind))
        .filter(relationship::Column::Party.eq(party))
        .filter(relationship::Column::RelatedParty.eq(related_party))
        .filter(relationship::Column::Id.ne(except))
        .one(&**txn)
        .await
        .map_err(db_error)
}

async fn repoint_relationships(
    txn: &WriteTxn,
    from: Name<Contacts>,
    to: Name<Contacts>,
) -> Result<Vec<LinkMove>, Error> {
    let (from_name, to_name) = (from.to_string(), to.to_string());
    let rows = relationship::Entity::find()
        .filter(
            Condition::any()
                .add(relationship::Column::Party.eq(from_name.clone()))
                .add(relationship::Column::RelatedParty.eq(from_name.clone())),
        )
        .order_by_asc(relationship::Column::Id)
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let now = time::now();
    let mut moves = Vec::new();
    for row in rows {
        let resource = format!("relationships/{}", row.id);
        let swap = |party: &str| if party == from_name { to_name.clone() } else { party.to_owned() };
        let (mut party, mut related_party) = (swap(&row.party), swap(&row.related_party));
        // Symmetric types are stored in one order (as CreateRelationship does), so duplicates meet the index.
        let symmetric = RelationshipKind::parse("type", row.kind).is_ok_and(|k| k.symmetric());
        if symmetric && related_party < party {
            std::mem::swap(&mut party, &mut related_party);
        }
        let removal = if party == related_party {
            Some(None)
        } else {
            relationship_between(txn, row.kind, &party, &related_party, &row.id).await?.map(|other| Some(other.id))
        };
        match removal {
            Some(duplicate_of) => {
                stored::delete_if_unchanged::<relationship::Entity>(&**txn, &resource, &row).await?;
                stored::append(&**txn, &row, ChangeKind::Deleted).await?;
                moves.push(LinkMove::RelationshipRemoved { row: (&row).into(), duplicate_of });
            }
            None => {
                let moved = relationship::Model {
                    party: party.clone(),
                    related_party: related_party.clone(),
                    revision: row.revision + 1,
                    update_time: now,
                    ..row.clone()
                };
                stored::replace_if_unchanged::<relationship::Entity>(&**txn, &resource, row.revision, moved.clone())
                    .await?;
                stored::append(&**txn, &moved, ChangeKind::Updated).await?;
                moves.push(LinkMove::RelationshipMoved {
                    id: row.id.clone(),
                    kind: row.kind,
                    before: (row.party.clone(), row.related_party.clone()),
                    after: (party, related_party),
                });
            }
        }
    }
    Ok(moves)
}

/// Whether the organisation a party name refers to still exists (it is locked, see [`restore_links`]); contacts
/// are never removed, only marked.
async fn party_exists(txn: &WriteTxn, party: &str) -> Result<bool, Error> {
    match party.strip_prefix("organizations/") {
        Some(id) => Ok(crud::find::<organization::Entity>(&**txn, id.to_owned()).await?.is_some()),
        None => Ok(true),
    }
}

/// Undoes relationship moves; the organisations are locked already (see [`restore_links`]).
async fn restore_relationships(txn: &WriteTxn, moves: &[LinkMove]) -> Result<(), Error> {
    let now = time::now();
    for undo in moves.iter().rev() {
        match undo {
            LinkMove::RelationshipMoved { id, kind, before, after } => {
                // Changed or deleted since the merge, or the original would now be a duplicate: the later state wins.
                let Some(row) = crud::find::<relationship::Entity>(&**txn, id.clone()).await? else { continue };
                if (&row.party, &row.related_party) != (&after.0, &after.1)
                    || relationship_between(txn, *kind, &before.0, &before.1, id).await?.is_some()
                {
                    continue;
                }
                let back = relationship::Model {
                    party: before.0.clone(),
                    related_party: before.1.clone(),
                    revision: row.revision + 1,
                    update_time: now,
                    ..row.clone()
                };
                stored::replace_if_unchanged::<relationship::Entity>(
                    &**txn,
                    &format!("relationships/{id}"),
                    row.revision,
                    back.clone(),
                )
                .await?;
                stored::append(&**txn, &back, ChangeKind::Updated).await?;
            }
            LinkMove::RelationshipRemoved { row, .. } => {
                if !party_exists(txn, &row.party).await?
                    || !party_exists(txn, &row.related_party).await?
                    || relationship_between(txn, row.kind, &row.party, &row.related_party, &row.id).await?.is_some()
                {
                    continue;
                }
                let restored = row.restore(now);
                relationship::Entity::insert(restored.clone().into_active_model())
                    .exec(&**txn)
                    .await
                    .map_err(db_error)?;
                stored::append(&**txn, &restored, ChangeKind::Created).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::json;

    #[test]
    fn link_moves_round_trip_through_json() {
        let moves = vec![
            LinkMove::AffiliationMoved {
                id: "a".into(),
                organization_id: "o".into(),
                from_contact: "m".into(),
                to_contact: "s".into(),
            },
            LinkMove::RelationshipMoved {
                id: "r".into(),
                kind: 1,
                before: ("contacts/m".into(), "contacts/x".into()),
                after: ("contacts/s".into(), "contacts/x".into()),
            },
        ];
        let stored = json(&moves);
        assert!(stored.contains("\"link\":\"affiliation_moved\""), "{stored}");
        assert_eq!(serde_json::from_str::<Vec<LinkMove>>(&stored).expect("parses"), moves);
    }

    #[test]
    fn moves_are_undone_one_mover_run_at_a_time_in_reverse() {
        let moves = [
            LinkMove::AffiliationMoved {
                id: "a".into(),
                organization_id: "o".into(),
                from_contact: "m".into(),
                to_contact: "s".into(),
            },
            LinkMove::RelationshipRemoved {
                row: RelationshipRow {
                    id: "r".into(),
                    party: "p".into(),
                    related_party: "q".into(),
                    kind: 1,
                    since: None,
                    strength: 0,
                    notes: String::new(),
                    revision: 1,
                    create_time: 0,
                },
                duplicate_of: None,
            },
        ];
        let runs: Vec<Mover> = moves.chunk_by(|a, b| a.mover() == b.mover()).map(|r| r[0].mover()).rev().collect();
        assert_eq!(runs, [Mover::Relationships, Mover::Affiliations]);
    }
}
