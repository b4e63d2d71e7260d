//! Moving a party's engagement to another party and back, for merging and unmerging contacts: what moved is
//! recorded row by row ([`EngagementMove`], stored as JSON in the merge record) so that it can be undone exactly.
use super::{StoredInteraction, execute, participants_of, participation_rows};
use crate::domain::engagement::Quadrant;
use crate::resource::engagement::{assessment_name, interaction_name};
use crate::store::entity::{assessment, contact, interaction, interaction_party, organization};
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_runtime::api::names::PartyName;
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error};
use liaison_runtime::{Error, api::time, db::crud};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What [`repoint_party`] did to one row, with what [`restore_party`] needs to undo it. Stored as JSON in the
/// merge record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementMove {
    /// The resource changed: `assessments/{id}` or `interactions/{id}`.
    pub resource: String,
    /// What happened, for people (e.g. in a merge preview).
    pub description: String,
    /// The row change itself.
    pub change: MovedRow,
}

/// One row change of [`repoint_party`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MovedRow {
    /// The assessment now belongs to `to` instead of `from`.
    AssessmentMoved { from: String, to: String },
    /// The assessment was deleted because `to` already had one on its day; `row` is the assessment as it was.
    AssessmentRemoved { to: String, row: RemovedAssessment },
    /// `from`'s participation in the interaction became `to`'s, at the same position.
    ParticipationMoved { from: String, to: String, position: i32 },
    /// `from`'s participation in the interaction was deleted because `to` already took part.
    ParticipationRemoved { from: String, to: String, position: i32 },
}

/// An assessment as it was before [`repoint_party`] removed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedAssessment {
    pub id: String,
    pub party: String,
    pub assessment_date: String,
    pub influence: i32,
    pub interest: i32,
    pub impact: i32,
    pub quadrant: i32,
    pub comment: String,
    /// Microseconds since the Unix epoch.
    pub create_time_micros: i64,
}

impl RemovedAssessment {
    pub(super) fn of(model: &assessment::Model) -> Self {
        Self {
            id: model.id.clone(),
            party: model.party.clone(),
            assessment_date: model.assessment_date.clone(),
            influence: model.influence,
            interest: model.interest,
            impact: model.impact,
            quadrant: model.quadrant,
            comment: model.comment.clone(),
            create_time_micros: model.create_time.timestamp_micros(),
        }
    }

    fn to_model(&self) -> assessment::Model {
        assessment::Model {
            id: self.id.clone(),
            party: self.party.clone(),
            assessment_date: self.assessment_date.clone(),
            influence: self.influence,
            interest: self.interest,
            impact: self.impact,
            quadrant: self.quadrant,
            comment: self.comment.clone(),
            create_time: DateTime::from_timestamp_micros(self.create_time_micros).unwrap_or_default(),
        }
    }
}

/// A party name handed over by other code of this service; a malformed one is a bug, not bad input.
fn internal_party(value: &str) -> Result<PartyName, Error> {
    PartyName::parse("party", value).map_err(|v| Error::Internal(format!("engagement: {}", v.description)))
}

/// Takes the rows of `parties` exclusively, in name order (so two merges cannot deadlock on them): writes that
/// refer to them wait until the transaction ends.
async fn hold_parties_exclusively(txn: &WriteTxn, parties: impl IntoIterator<Item = PartyName>) -> Result<(), Error> {
    let ordered: BTreeSet<String> = parties.into_iter().map(|p| p.to_string()).collect();
    for name in ordered {
        match internal_party(&name)? {
            PartyName::Contact(c) => {
                crud::lock_row::<contact::Entity>(&**txn, c.key()).await?;
            }
            PartyName::Organization(o) => {
                crud::lock_row::<organization::Entity>(&**txn, o.key()).await?;
            }
        }
    }
    Ok(())
}

/// Interactions by id, taken exclusively on PostgreSQL (an update racing a merge then fails on its revision
/// instead of writing over the move), in id order.
async fn hold_interactions(txn: &WriteTxn, ids: Vec<String>) -> Result<Vec<interaction::Model>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let conn = &**txn;
    let mut query =
        interaction::Entity::find().filter(interaction::Column::Id.is_in(ids)).order_by_asc(interaction::Column::Id);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.all(conn).await.map_err(db_error)
}

/// A new revision of an interaction whose participants changed, with its change-feed row.
async fn touch_interaction(txn: &WriteTxn, current: &interaction::Model, now: DateTime<Utc>) -> Result<(), Error> {
    let conn = &**txn;
    let updated = interaction::Model { revision: current.revision + 1, update_time: now, ..current.clone() };
    let resource = interaction_name(&current.id);
    stored::replace_if_unchanged::<interaction::Entity>(conn, &resource, current.revision, updated.clone()).await?;
    let participants = participants_of(conn, &updated.id).await?;
    stored::append(&**txn, &StoredInteraction { interaction: updated, participants }, ChangeKind::Updated).await
}

async fn has_assessment_on(conn: &impl ConnectionTrait, party: &str, day: &str) -> Result<bool, Error> {
    Ok(assessment::Entity::find()
        .filter(assessment::Column::Party.eq(party))
        .filter(assessment::Column::AssessmentDate.eq(day))
        .one(conn)
        .await
        .map_err(db_error)?
        .is_some())
}

fn quadrant_label(value: i32) -> &'static str {
    match Quadrant::from_value(value) {
        Some(Quadrant::ManageClosely) => "manage closely",
        Some(Quadrant::KeepSatisfied) => "keep satisfied",
        Some(Quadrant::KeepInformed) => "keep informed",
        Some(Quadrant::Monitor) => "monitor",
        None => "unknown quadrant",
    }
}

/// Moves every assessment and interaction participation of party `from` to party `to` (full resource names),
/// inside the caller's transaction, and returns one [`EngagementMove`] per row changed:
///
/// - an assessment of `from` becomes `to`'s ([`MovedRow::AssessmentMoved`]), unless `to` already has one on that
///   day: then it is deleted and kept in the record ([`MovedRow::AssessmentRemoved`]) — at most one per day;
/// - a participation of `from` in an interaction becomes `to`'s at the same position
///   ([`MovedRow::ParticipationMoved`]), unless `to` already takes part: then it is deleted
///   ([`MovedRow::ParticipationRemoved`]).
///
/// Every assessment changed is in the change feed (updated or deleted), and every interaction changed gets a new
/// revision (a new etag) and an updated change. Both party rows are held exclusively until the transaction ends,
/// so no assessment or interaction can be added for either meanwhile. `from == to` changes nothing.
pub(crate) async fn repoint_party(txn: &WriteTxn, from: &str, to: &str) -> Result<Vec<EngagementMove>, Error> {
    let (from_party, to_party) = (internal_party(from)?, internal_party(to)?);
    if from_party == to_party {
        return Ok(Vec::new());
    }
    hold_parties_exclusively(txn, [from_party, to_party]).await?;
    let mut moves = repoint_assessments(txn, from, to).await?;
    moves.extend(repoint_participations(txn, from, to).await?);
    Ok(moves)
}

async fn repoint_assessments(txn: &WriteTxn, from: &str, to: &str) -> Result<Vec<EngagementMove>, Error> {
    let conn = &**txn;
    let moving = assessment::Entity::find()
        .filter(assessment::Column::Party.eq(from))
        .order_by_asc(assessment::Column::AssessmentDate)
        .all(conn)
        .await
        .map_err(db_error)?;
    if moving.is_empty() {
        return Ok(Vec::new());
    }
    let taken: HashSet<String> = assessment::Entity::find()
        .filter(assessment::Column::Party.eq(to))
        .filter(assessment::Column::AssessmentDate.is_in(moving.iter().map(|a| a.assessment_date.clone())))
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|a| a.assessment_date)
        .collect();
    let mut moves = Vec::with_capacity(moving.len());
    for row in moving {
        let resource = assessment_name(&row.id);
        let quadrant = quadrant_label(row.quadrant);
        if taken.contains(&row.assessment_date) {
            execute(conn, "DELETE FROM assessments WHERE id = ?", vec![row.id.clone().into()]).await?;
            stored::append(&**txn, &row, ChangeKind::Deleted).await?;
            moves.push(EngagementMove {
                description: format!(
                    "assessment of {from} on {} ({quadrant}) removed: {to} has its own assessment that day",
                    row.assessment_date
                ),
                resource,
                change: MovedRow::AssessmentRemoved { to: to.to_owned(), row: RemovedAssessment::of(&row) },
            });
        } else {
            execute(conn, "UPDATE assessments SET party = ? WHERE id = ?", vec![to.into(), row.id.clone().into()])
                .await?;
            let moved = assessment::Model { party: to.to_owned(), ..row };
            stored::append(&**txn, &moved, ChangeKind::Updated).await?;
            moves.push(EngagementMove {
                description: format!("assessment of {from} on {} ({quadrant}) moved to {to}", moved.assessment_date),
                resource,
                change: MovedRow::AssessmentMoved { from: from.to_owned(), to: to.to_owned() },
            });
        }
    }
    Ok(moves)
}

async fn repoint_participations(txn: &WriteTxn, from: &str, to: &str) -> Result<Vec<EngagementMove>, Error> {
    let conn = &**txn;
    let ids: Vec<String> = interaction_party::Entity::find()
        .filter(interaction_party::Column::Party.eq(from))
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| row.interaction_id)
        .collect();
    let interactions = hold_interactions(txn, ids.clone()).await?;
    // Read under the hold: an update that committed meanwhile may have changed who takes part.
    let mut rows = participation_rows(conn, ids).await?;
    let now = time::now();
    let mut moves = Vec::new();
    for current in interactions {
        let parties = rows.remove(&current.id).unwrap_or_default();
        let Some(position) = parties.iter().find(|p| p.party == from).map(|p| p.position) else { continue };
        let when = current.occur_time.format("%Y-%m-%d");
        let (description, change) = if parties.iter().any(|p| p.party == to) {
            execute(
                conn,
                "DELETE FROM interaction_parties WHERE interaction_id = ? AND party = ?",
                vec![current.id.clone().into(), from.into()],
            )
            .await?;
            (
                format!(
                    "{from} took part in \"{}\" ({when}) with {to}: one participation kept, {to}'s",
                    current.subject
                ),
                MovedRow::ParticipationRemoved { from: from.to_owned(), to: to.to_owned(), position },
            )
        } else {
            execute(
                conn,
                "UPDATE interaction_parties SET party = ? WHERE interaction_id = ? AND party = ?",
                vec![to.into(), current.id.clone().into(), from.into()],
            )
            .await?;
            (
                format!("{from} took part in \"{}\" ({when}): {to} does now", current.subject),
                MovedRow::ParticipationMoved { from: from.to_owned(), to: to.to_owned(), position },
            )
        };
        touch_interaction(txn, &current, now).await?;
        moves.push(EngagementMove { resource: interaction_name(&current.id), description, change });
    }
    Ok(moves)
}

fn id_in(resource: &str, collection: &str) -> Result<String, Error> {
    resource
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::Internal(format!("engagement move names '{resource}', not {collection}/{{id}}")))
}

/// Undoes the `moves` that [`repoint_party`] returned, latest first, inside the caller's transaction:
///
/// - a moved assessment goes back to `from`; a removed one is inserted again as it was (same name, same
///   creation time);
/// - a moved participation goes back to `from` at its old position; a removed one is inserted again.
///
/// Every assessment restored is in the change feed (updated, or created for a re-inserted one), and every
/// interaction restored gets a new revision and an updated change. What later changes made impossible to undo
/// is left as it is rather than forced: an interaction deleted since, a participation of `to` removed since, or
/// a row that `from` has again in the meantime (a merged contact takes no new engagement, so in practice this
/// only happens when the data was changed by hand).
pub(crate) async fn restore_party(txn: &WriteTxn, moves: &[EngagementMove]) -> Result<(), Error> {
    let conn = &**txn;
    let mut parties = Vec::new();
    let mut interaction_ids = BTreeSet::new();
    for m in moves {
        match &m.change {
            MovedRow::AssessmentMoved { from, to }
            | MovedRow::AssessmentRemoved { to, row: RemovedAssessment { party: from, .. } } => {
                parties.extend([internal_party(from)?, internal_party(to)?]);
            }
            MovedRow::ParticipationMoved { from, to, .. } | MovedRow::ParticipationRemoved { from, to, .. } => {
                parties.extend([internal_party(from)?, internal_party(to)?]);
                interaction_ids.insert(id_in(&m.resource, "interactions")?);
            }
        }
    }
    hold_parties_exclusively(txn, parties).await?;
    let interactions: HashMap<String, interaction::Model> =
        hold_interactions(txn, interaction_ids.into_iter().collect())
            .await?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
    let mut touched = BTreeSet::new();
    for m in moves.iter().rev() {
        match &m.change {
            MovedRow::AssessmentMoved { from, to } => {
                let id = id_in(&m.resource, "assessments")?;
                let Some(row) = crud::find::<assessment::Entity>(conn, id.clone()).await? else { continue };
                if row.party != *to || has_assessment_on(conn, from, &row.assessment_date).await? {
                    continue;
                }
                execute(conn, "UPDATE assessments SET party = ? WHERE id = ?", vec![from.clone().into(), id.into()])
                    .await?;
                stored::append(&**txn, &assessment::Model { party: from.clone(), ..row }, ChangeKind::Updated).await?;
            }
            MovedRow::AssessmentRemoved { row, .. } => {
                let model = row.to_model();
                if crud::find::<assessment::Entity>(conn, model.id.clone()).await?.is_some()
                    || has_assessment_on(conn, &model.party, &model.assessment_date).await?
                {
                    continue;
                }
                assessment::Entity::insert(model.clone().into_active_model()).exec(conn).await.map_err(db_error)?;
                stored::append(&**txn, &model, ChangeKind::Created).await?;
            }
            MovedRow::ParticipationMoved { from, to, position } => {
                let id = id_in(&m.resource, "interactions")?;
                if !interactions.contains_key(&id) {
                    continue;
                }
                let parties = participants_of(conn, &id).await?;
                if !parties.contains(to) || parties.contains(from) {
                    continue;
                }
                execute(
                    conn,
                    "UPDATE interaction_parties SET party = ?, position = ? WHERE interaction_id = ? AND party = ?",
                    vec![from.clone().into(), (*position).into(), id.clone().into(), to.clone().into()],
                )
                .await?;
                touched.insert(id);
            }
            MovedRow::ParticipationRemoved { from, position, .. } => {
                let id = id_in(&m.resource, "interactions")?;
                if !interactions.contains_key(&id) || participants_of(conn, &id).await?.contains(from) {
                    continue;
                }
                execute(
                    conn,
                    "INSERT INTO interaction_parties (interaction_id, party, position) VALUES (?, ?, ?)",
                    vec![id.clone().into(), from.clone().into(), (*position).into()],
                )
                .await?;
                touched.insert(id);
            }
        }
    }
    let now = time::now();
    for id in touched {
        if let Some(current) = interactions.get(&id) {
            touch_interaction(txn, current, now).await?;
        }
    }
    Ok(())
}
