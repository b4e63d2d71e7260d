//! Merging a contact into another and undoing it, each in one transaction with its change-feed rows.
//!
//! A merge locks both contact rows in id order (so two merges touching the same contact queue instead of
//! deadlocking, and the second one sees what the first did), combines their fields (`domain::merge`), marks the
//! merged contact `merged_into` the survivor, and moves its links with one [`Mover`] per kind of link. Each mover
//! returns [`LinkMove`]s that say exactly what it changed, with enough data to undo it; they are stored with
//! snapshots of both contacts in a `merges` row, which is what UnmergeContacts replays backwards. A dry run
//! (`validate_only`) runs the very same code and rolls the transaction back, so the preview cannot differ from
//! the merge.
use super::{Store, apply_contact_fields, engagement, ensure_live, json, keys};
use crate::domain::ContactFields;
use crate::domain::duplicates::Person;
use crate::domain::graph::RelationshipKind;
use crate::domain::merge::{self as rules, Provenance, Side};
use crate::resource::{self, UNDELETE_WINDOW, from_json};
use crate::store::entity::{affiliation, contact, merge_record, organization, relationship};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::MovedLink;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

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

/// The kinds of link that point at a contact, each moved by its own code. The order is the order of the moves,
/// and undoing runs it backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mover {
    Affiliations,
    Relationships,
    /// Assessments and interaction participations (see `store::engagement::repoint_party`).
    Engagement,
}

const MOVERS: [Mover; 3] = [Mover::Affiliations, Mover::Relationships, Mover::Engagement];

impl Mover {
    /// Moves this kind of link from `from` to `to`, appending the change-feed row of every link it changes.
    async fn repoint(self, txn: &WriteTxn, from: Name<Contacts>, to: Name<Contacts>) -> Result<Vec<LinkMove>, Error> {
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
async fn restore_links(txn: &WriteTxn, moves: &[LinkMove]) -> Result<(), Error> {
    lock_organizations(txn, moves.iter().flat_map(LinkMove::organizations).collect()).await?;
    let runs: Vec<&[LinkMove]> = moves.chunk_by(|a, b| a.mover() == b.mover()).collect();
    for run in runs.into_iter().rev() {
        if let Some(first) = run.first() {
            first.mover().restore(txn, run).await?;
        }
    }
    Ok(())
}

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// A contact row as it was before a merge (times in microseconds since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactSnapshot {
    id: String,
    display_name: String,
    given_name: String,
    family_name: String,
    email: String,
    phone: String,
    time_zone: String,
    notes: String,
    emails: String,
    phones: String,
    preferred_channel: i32,
    languages: String,
    working_hours: String,
    labels: String,
    consent: String,
    do_not_contact: bool,
    uid: String,
    delete_time: Option<i64>,
    merged_into: Option<String>,
    search_text: String,
    provenance: String,
    merged_names: String,
    revision: i64,
    create_time: i64,
    update_time: i64,
}

impl From<&contact::Model> for ContactSnapshot {
    fn from(m: &contact::Model) -> Self {
        Self {
            id: m.id.clone(),
            display_name: m.display_name.clone(),
            given_name: m.given_name.clone(),
            family_name: m.family_name.clone(),
            email: m.email.clone(),
            phone: m.phone.clone(),
            time_zone: m.time_zone.clone(),
            notes: m.notes.clone(),
            emails: m.emails.clone(),
            phones: m.phones.clone(),
            preferred_channel: m.preferred_channel,
            languages: m.languages.clone(),
            working_hours: m.working_hours.clone(),
            labels: m.labels.clone(),
            consent: m.consent.clone(),
            do_not_contact: m.do_not_contact,
            uid: m.uid.clone(),
            delete_time: m.delete_time.map(micros),
            merged_into: m.merged_into.clone(),
            search_text: m.search_text.clone(),
            provenance: m.provenance.clone(),
            merged_names: m.merged_names.clone(),
            revision: m.revision,
            create_time: micros(m.create_time),
            update_time: micros(m.update_time),
        }
    }
}

impl ContactSnapshot {
    /// The row as it was, at a new revision.
    fn restore(self, revision: i64, update_time: DateTime<Utc>) -> contact::Model {
        contact::Model {
            id: self.id,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            email: self.email,
            phone: self.phone,
            time_zone: self.time_zone,
            notes: self.notes,
            emails: self.emails,
            phones: self.phones,
            preferred_channel: self.preferred_channel,
            languages: self.languages,
            working_hours: self.working_hours,
            labels: self.labels,
            consent: self.consent,
            do_not_contact: self.do_not_contact,
            uid: self.uid,
            delete_time: self.delete_time.map(from_micros),
            merged_into: self.merged_into,
            search_text: self.search_text,
            provenance: self.provenance,
            merged_names: self.merged_names,
            revision,
            create_time: from_micros(self.create_time),
            update_time,
        }
    }
}

/// An affiliation row a merge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliationRow {
    id: String,
    contact_id: String,
    organization_id: String,
    role: String,
    start_date: Option<String>,
    end_date: Option<String>,
    point_of_contact: bool,
    revision: i64,
    create_time: i64,
}

impl From<&affiliation::Model> for AffiliationRow {
    fn from(m: &affiliation::Model) -> Self {
        Self {
            id: m.id.clone(),
            contact_id: m.contact_id.clone(),
            organization_id: m.organization_id.clone(),
            role: m.role.clone(),
            start_date: m.start_date.clone(),
            end_date: m.end_date.clone(),
            point_of_contact: m.point_of_contact,
            revision: m.revision,
            create_time: micros(m.create_time),
        }
    }
}

impl AffiliationRow {
    fn restore(&self, point_of_contact: bool, now: DateTime<Utc>) -> affiliation::Model {
        affiliation::Model {
            id: self.id.clone(),
            contact_id: self.contact_id.clone(),
            organization_id: self.organization_id.clone(),
            role: self.role.clone(),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            point_of_contact,
            revision: self.revision + 1,
            create_time: from_micros(self.create_time),
            update_time: now,
        }
    }
}

/// A relationship row a merge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationshipRow {
    id: String,
    party: String,
    related_party: String,
    kind: i32,
    since: Option<String>,
    strength: i32,
    notes: String,
    revision: i64,
    create_time: i64,
}

impl From<&relationship::Model> for RelationshipRow {
    fn from(m: &relationship::Model) -> Self {
        Self {
            id: m.id.clone(),
            party: m.party.clone(),
            related_party: m.related_party.clone(),
            kind: m.kind,
            since: m.since.clone(),
            strength: m.strength,
            notes: m.notes.clone(),
            revision: m.revision,
            create_time: micros(m.create_time),
        }
    }
}

impl RelationshipRow {
    fn restore(&self, now: DateTime<Utc>) -> relationship::Model {
        relationship::Model {
            id: self.id.clone(),
            party: self.party.clone(),
            related_party: self.related_party.clone(),
            kind: self.kind,
            since: self.since.clone(),
            strength: self.strength,
            notes: self.notes.clone(),
            revision: self.revision + 1,
            create_time: from_micros(self.create_time),
            update_time: now,
        }
    }
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

/// A stored contact as validated fields (what it was created or last updated with).
fn stored_fields(model: &contact::Model) -> Result<ContactFields, Error> {
    ContactFields::parse("contact", &resource::contact(model)).map_err(|violations| {
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        Error::Internal(format!("stored contacts/{} does not validate: {}", model.id, fields.join(", ")))
    })
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
    /// Live contacts and the emails/phones they share: what duplicate detection looks at.
    pub async fn duplicate_candidates(&self) -> Result<(Vec<Person>, Vec<(String, String)>), Error> {
        let conn = self.db.conn();
        let people: Vec<(String, String)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::DisplayName)
            .filter(contact::Column::DeleteTime.is_null())
            .filter(contact::Column::MergedInto.is_null())
            .into_tuple()
            .all(conn)
            .await
            .map_err(db_error)?;
        let shared = keys::shared(conn).await?;
        Ok((people.into_iter().map(|(id, display_name)| Person { id, display_name }).collect(), shared))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_contact_snapshot_restores_every_column() {
        let now = time::now();
        let model = contact::Model {
            id: "c".into(),
            display_name: "Ada".into(),
            emails: "[]".into(),
            delete_time: None,
            merged_names: "[\"contacts/x\"]".into(),
            revision: 4,
            create_time: now,
            update_time: now,
            ..Default::default()
        };
        let restored = ContactSnapshot::from(&model).restore(9, now);
        assert_eq!(restored, contact::Model { revision: 9, ..model });
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
