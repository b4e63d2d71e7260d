//! Stakeholder assessments and the interaction log, each mutation with its change-feed row in one transaction.
//!
//! Held by the database: at most one assessment per party per day (a unique index on `(party, assessment_date)`),
//! one participation per party and interaction (the primary key of `interaction_parties`). A write that refers
//! to a party holds that party's row until it commits (a shared lock on PostgreSQL), so that a delete or merge of
//! the party, which takes the row exclusively, and a new reference to it cannot cross.
//!
//! Parties are stored by full resource name (`contacts/{id}`, `organizations/{id}`). Merging contacts moves a
//! contact's engagement to its survivor with [`repoint_party`] and undoes that with [`restore_party`], both in
//! the merge's own transaction (see `moves`). The figures of the engagement summary are read in `summary`.
use super::{CreateKey, Store, json};
use crate::domain::engagement::{Assessments, InteractionFields, Interactions, NewAssessment, Quadrant};
use crate::resource;
use crate::store::entity::{assessment, contact, interaction, interaction_party, organization};
use chrono::{DateTime, NaiveDate, Utc};
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::Interaction;
use liaison_runtime::api::names::{Name, PartyName};
use liaison_runtime::db::idempotency::Begun;
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::sql::statement;
use liaison_runtime::db::{WriteTxn, db_error, is_unique_violation};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud, db::idempotency};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Value,
};
use std::collections::{HashMap, HashSet};

mod moves;
mod summary;
#[cfg(test)]
mod tests;

pub use moves::{EngagementMove, MovedRow, RemovedAssessment};
pub use summary::{ChannelFigures, EngagementFigures};

pub(crate) use moves::{repoint_party, restore_party};

/// An interaction with its participants, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInteraction {
    pub interaction: interaction::Model,
    pub participants: Vec<String>,
}

impl liaison_runtime::db::resource::Resource for StoredInteraction {
    type Wire = Interaction;
    fn resource_name(&self) -> String {
        resource::engagement::interaction_name(&self.interaction.id)
    }
    fn to_wire(&self) -> Interaction {
        resource::engagement::interaction(&self.interaction, &self.participants)
    }
}

/// Where a page of ListStakeholders starts: the order is influence (desc), interest (desc), party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakeholderKey {
    pub influence: i32,
    pub interest: i32,
    pub party: String,
}

impl StakeholderKey {
    pub fn of(model: &assessment::Model) -> Self {
        Self { influence: model.influence, interest: model.interest, party: model.party.clone() }
    }

    pub fn render(&self) -> String {
        format!("{}|{}|{}", self.influence, self.interest, self.party)
    }

    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.splitn(3, '|');
        let influence = parts.next()?.parse().ok()?;
        let interest = parts.next()?.parse().ok()?;
        let party = parts.next()?.to_owned();
        Some(Self { influence, interest, party })
    }
}

/// Where a page of ListInteractions starts: the order is `occur_time` (desc), then id (desc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionKey {
    pub occur_time: DateTime<Utc>,
    pub id: String,
}

impl InteractionKey {
    pub fn of(stored: &StoredInteraction) -> Self {
        Self { occur_time: stored.interaction.occur_time, id: stored.interaction.id.clone() }
    }

    pub fn render(&self) -> String {
        format!("{}|{}", self.occur_time.timestamp_micros(), self.id)
    }

    pub fn parse(key: &str) -> Option<Self> {
        let (micros, id) = key.split_once('|')?;
        let occur_time = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(Self { occur_time, id: id.to_owned() })
    }
}

/// The filters of ListInteractions, validated (`party` already resolved through merges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionFilter {
    pub party: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

liaison_runtime::revisioned!(interaction);

fn stored_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Runs one statement written with `?` placeholders; the number of rows it changed.
async fn execute(conn: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, Error> {
    let result = conn.execute_raw(statement(conn.get_database_backend(), sql, values)).await.map_err(db_error)?;
    Ok(result.rows_affected())
}

/// Holds `parties` until the transaction ends — shared on PostgreSQL, so writes that refer to the same party do
/// not queue behind each other while a delete or merge (which takes the row exclusively) does — and refuses
/// parties that do not exist (PARTY_NOT_FOUND) and contacts that are deleted or merged. `what` names the role
/// (`party`, `participant`) in the descriptions.
async fn hold_parties(txn: &WriteTxn, parties: &[PartyName], what: &str) -> Result<(), Error> {
    let conn = &**txn;
    let shared = conn.get_database_backend() == DbBackend::Postgres;
    let (mut contact_ids, mut organization_ids) = (Vec::new(), Vec::new());
    for party in parties {
        match party {
            PartyName::Contact(name) => contact_ids.push(name.key()),
            PartyName::Organization(name) => organization_ids.push(name.key()),
        }
    }
    let mut contacts: HashMap<String, contact::Model> = HashMap::new();
    if !contact_ids.is_empty() {
        let mut query =
            contact::Entity::find().filter(contact::Column::Id.is_in(contact_ids)).order_by_asc(contact::Column::Id);
        if shared {
            query = query.lock_shared();
        }
        contacts.extend(query.all(conn).await.map_err(db_error)?.into_iter().map(|m| (m.id.clone(), m)));
    }
    let mut organizations: HashSet<String> = HashSet::new();
    if !organization_ids.is_empty() {
        let mut query = organization::Entity::find()
            .filter(organization::Column::Id.is_in(organization_ids))
            .order_by_asc(organization::Column::Id);
        if shared {
            query = query.lock_shared();
        }
        organizations.extend(query.all(conn).await.map_err(db_error)?.into_iter().map(|m| m.id));
    }
    let mut reason = None;
    let mut violations = Vec::new();
    for party in parties {
        let name = party.to_string();
        let problem: Option<(&'static str, String)> = match party {
            PartyName::Contact(c) => match contacts.get(&c.key()) {
                None => Some(("PARTY_NOT_FOUND", format!("{what} {name} does not exist"))),
                Some(model) => match (&model.merged_into, &model.delete_time) {
                    (Some(survivor), _) => Some((
                        "CONTACT_MERGED",
                        format!("{what} {name} was merged into {}; use that name", resource::contact_name(survivor)),
                    )),
                    (None, Some(_)) => {
                        Some(("CONTACT_DELETED", format!("{what} {name} is deleted; UndeleteContact restores it")))
                    }
                    (None, None) => None,
                },
            },
            PartyName::Organization(o) => (!organizations.contains(&o.key()))
                .then(|| ("PARTY_NOT_FOUND", format!("{what} {name} does not exist"))),
        };
        if let Some((kind, description)) = problem {
            reason.get_or_insert(kind);
            violations.push(PreconditionViolation { kind: kind.into(), subject: name, description });
        }
    }
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::FailedPrecondition { reason, violations }),
    }
}

fn interaction_row(
    id: String,
    fields: &InteractionFields,
    revision: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
) -> interaction::Model {
    let follow_up = fields.follow_up.as_ref();
    interaction::Model {
        id,
        channel: fields.channel as i32,
        direction: fields.direction as i32,
        occur_time: fields.occur_time,
        subject: fields.subject.clone(),
        summary: fields.summary.clone(),
        sentiment: fields.sentiment,
        follow_up_action: follow_up.map(|f| f.action.clone()).unwrap_or_default(),
        follow_up_owner: follow_up.map(|f| f.owner.clone()).unwrap_or_default(),
        follow_up_due_date: follow_up.map(|f| stored_date(f.due)),
        follow_up_done: follow_up.is_some_and(|f| f.done),
        links: json(&fields.links),
        revision,
        create_time,
        update_time,
    }
}

async fn insert_participants(conn: &impl ConnectionTrait, id: &str, participants: &[String]) -> Result<(), Error> {
    if participants.is_empty() {
        return Ok(());
    }
    let rows = participants.iter().enumerate().map(|(position, party)| {
        interaction_party::Model {
            interaction_id: id.to_owned(),
            party: party.clone(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
        }
        .into_active_model()
    });
    interaction_party::Entity::insert_many(rows).exec_without_returning(conn).await.map_err(db_error)?;
    Ok(())
}

/// The participation rows of interactions, by interaction, in participant order.
async fn participation_rows(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<interaction_party::Model>>, Error> {
    crud::children_of::<interaction_party::Entity, _>(
        conn,
        interaction_party::Column::InteractionId,
        interaction_party::Column::Position,
        ids,
        |row| row.interaction_id.clone(),
        |row| row,
    )
    .await
}

/// Attaches participants to interactions with one query.
async fn with_participants(
    conn: &impl ConnectionTrait,
    interactions: Vec<interaction::Model>,
) -> Result<Vec<StoredInteraction>, Error> {
    let mut rows = participation_rows(conn, interactions.iter().map(|i| i.id.clone()).collect()).await?;
    Ok(interactions
        .into_iter()
        .map(|interaction| {
            let participants =
                rows.remove(&interaction.id).unwrap_or_default().into_iter().map(|row| row.party).collect();
            StoredInteraction { interaction, participants }
        })
        .collect())
}

async fn participants_of(conn: &impl ConnectionTrait, id: &str) -> Result<Vec<String>, Error> {
    let mut rows = participation_rows(conn, vec![id.to_owned()]).await?;
    Ok(rows.remove(id).unwrap_or_default().into_iter().map(|row| row.party).collect())
}

impl Store {
    /// Records an assessment; ALREADY_EXISTS if the party has one on that day (the unique index decides, so of
    /// racing creates exactly one succeeds).
    pub async fn create_assessment(&self, new: NewAssessment, key: &CreateKey) -> Result<assessment::Model, Error> {
        let name = Name::<Assessments>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateAssessment",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_assessment(existing).await,
        };
        hold_parties(&txn, &[new.party], "party").await?;
        let model = assessment::Model {
            id: name.key(),
            party: new.party.to_string(),
            assessment_date: stored_date(new.date),
            influence: new.influence.value(),
            interest: new.interest.value(),
            impact: new.impact.value(),
            quadrant: new.quadrant().value(),
            comment: new.comment,
            create_time: time::now(),
        };
        if let Err(e) = assessment::Entity::insert(model.clone().into_active_model()).exec(&*txn).await {
            return Err(if is_unique_violation(&e) {
                Error::AlreadyExists {
                    resource: format!("an assessment of {} on {}", model.party, model.assessment_date),
                }
            } else {
                db_error(e)
            });
        }
        stored::append(&*txn, &model, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(model)
    }

    pub async fn get_assessment(&self, name: Name<Assessments>) -> Result<assessment::Model, Error> {
        crud::find::<assessment::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    /// A page of a party's assessments, newest first (dates are unique per party, so a date is a page key).
    pub async fn list_assessments(
        &self,
        party: &str,
        before_date: Option<String>,
        limit: u64,
    ) -> Result<Vec<assessment::Model>, Error> {
        let mut query = assessment::Entity::find()
            .filter(assessment::Column::Party.eq(party))
            .order_by_desc(assessment::Column::AssessmentDate)
            .limit(limit);
        if let Some(before) = before_date {
            query = query.filter(assessment::Column::AssessmentDate.lt(before));
        }
        query.all(self.db.conn()).await.map_err(db_error)
    }

    /// A page of the latest assessment of each party (optionally only those in `quadrant`), highest influence
    /// first, then highest interest, then party name. Parties that no longer exist, and deleted or merged
    /// contacts, are left out.
    pub async fn list_stakeholders(
        &self,
        quadrant: Option<Quadrant>,
        after: Option<StakeholderKey>,
        limit: u64,
    ) -> Result<Vec<assessment::Model>, Error> {
        let conn = self.db.conn();
        let mut sql = String::from(
            "SELECT a.id, a.party, a.assessment_date, a.influence, a.interest, a.impact, a.quadrant, a.comment, \
             a.create_time FROM assessments a \
             WHERE a.assessment_date = (SELECT MAX(b.assessment_date) FROM assessments b WHERE b.party = a.party) \
             AND ((a.party LIKE 'contacts/%' AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = substr(a.party, 10) \
             AND c.delete_time IS NULL AND c.merged_into IS NULL)) \
             OR (a.party LIKE 'organizations/%' AND EXISTS \
             (SELECT 1 FROM organizations o WHERE o.id = substr(a.party, 15))))",
        );
        let mut values: Vec<Value> = Vec::new();
        if let Some(quadrant) = quadrant {
            sql.push_str(" AND a.quadrant = ?");
            values.push(quadrant.value().into());
        }
        if let Some(after) = after {
            sql.push_str(
                " AND (a.influence < ? OR (a.influence = ? AND (a.interest < ? OR (a.interest = ? AND a.party > ?))))",
            );
            values.extend([
                after.influence.into(),
                after.influence.into(),
                after.interest.into(),
                after.interest.into(),
                after.party.into(),
            ]);
        }
        sql.push_str(" ORDER BY a.influence DESC, a.interest DESC, a.party LIMIT ?");
        values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        assessment::Entity::find()
            .from_raw_sql(statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await
            .map_err(db_error)
    }

    pub async fn create_interaction(
        &self,
        fields: InteractionFields,
        key: &CreateKey,
    ) -> Result<StoredInteraction, Error> {
        let name = Name::<Interactions>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateInteraction",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_interaction(existing).await,
        };
        hold_parties(&txn, &fields.participants, "participant").await?;
        let now = time::now();
        let model = interaction_row(name.key(), &fields, 1, now, now);
        interaction::Entity::insert(model.clone().into_active_model()).exec(&*txn).await.map_err(db_error)?;
        let participants: Vec<String> = fields.participants.iter().map(ToString::to_string).collect();
        insert_participants(&*txn, &model.id, &participants).await?;
        let stored = StoredInteraction { interaction: model, participants };
        stored::append(&*txn, &stored, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(stored)
    }

    pub async fn get_interaction(&self, name: Name<Interactions>) -> Result<StoredInteraction, Error> {
        let conn = self.db.conn();
        let model = crud::find::<interaction::Entity>(conn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        let participants = participants_of(conn, &model.id).await?;
        Ok(StoredInteraction { interaction: model, participants })
    }

    /// A page of interactions, newest `occur_time` first; with a party, an index lookup of its participations.
    pub async fn list_interactions(
        &self,
        filter: &InteractionFilter,
        after: Option<InteractionKey>,
        limit: u64,
    ) -> Result<Vec<StoredInteraction>, Error> {
        use interaction::Column as C;
        let conn = self.db.conn();
        let mut condition = Condition::all();
        if let Some(party) = &filter.party {
            condition = condition.add(
                C::Id.in_subquery(
                    Query::select()
                        .column(interaction_party::Column::InteractionId)
                        .from(interaction_party::Entity)
                        .and_where(interaction_party::Column::Party.eq(party.clone()))
                        .to_owned(),
                ),
            );
        }
        if let Some(start) = filter.start {
            condition = condition.add(C::OccurTime.gte(start));
        }
        if let Some(end) = filter.end {
            condition = condition.add(C::OccurTime.lt(end));
        }
        if let Some(after) = after {
            condition = condition.add(
                Condition::any()
                    .add(C::OccurTime.lt(after.occur_time))
                    .add(Condition::all().add(C::OccurTime.eq(after.occur_time)).add(C::Id.lt(after.id))),
            );
        }
        let models = interaction::Entity::find()
            .filter(condition)
            .order_by_desc(C::OccurTime)
            .order_by_desc(C::Id)
            .limit(limit)
            .all(conn)
            .await
            .map_err(db_error)?;
        with_participants(conn, models).await
    }

    /// Changes an interaction: `apply` turns the current state into the new fields (mask + validation). Parties
    /// that the change adds must exist and be live; those already taking part are kept as they are.
    pub async fn update_interaction(
        &self,
        name: Name<Interactions>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Interaction) -> Result<InteractionFields, Error>,
    ) -> Result<StoredInteraction, Error> {
        let txn = self.db.begin_write().await?;
        let mut before = Vec::new();
        let mut participants = Vec::new();
        let rules = async |current: &interaction::Model| {
            before = participants_of(&*txn, &current.id).await?;
            let fields = apply(&resource::engagement::interaction(current, &before))?;
            let added: Vec<PartyName> =
                fields.participants.iter().filter(|p| !before.contains(&p.to_string())).copied().collect();
            hold_parties(&txn, &added, "participant").await?;
            participants = fields.participants.iter().map(ToString::to_string).collect();
            Ok(interaction_row(current.id.clone(), &fields, current.revision, current.create_time, current.update_time))
        };
        // The conditional update takes the row first: participants are rewritten only by the writer that holds it.
        let (_, updated) = stored::update_row::<interaction::Entity, _>(&*txn, name, expected_revision, rules).await?;
        if participants != before {
            interaction_party::Entity::delete_many()
                .filter(interaction_party::Column::InteractionId.eq(updated.id.clone()))
                .exec(&*txn)
                .await
                .map_err(db_error)?;
            insert_participants(&*txn, &updated.id, &participants).await?;
        }
        let changed = StoredInteraction { interaction: updated, participants };
        stored::append(&*txn, &changed, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok(changed)
    }

    pub async fn delete_interaction(
        &self,
        name: Name<Interactions>,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let mut participants = Vec::new();
        let rules = async |current: &interaction::Model| {
            participants = participants_of(&*txn, &current.id).await?;
            Ok(())
        };
        let current = stored::delete_row::<interaction::Entity, _>(&*txn, name, expected_revision, rules).await?;
        // The foreign key cascades; said again so that nothing depends on SQLite's foreign_keys pragma.
        interaction_party::Entity::delete_many()
            .filter(interaction_party::Column::InteractionId.eq(current.id.clone()))
            .exec(&*txn)
            .await
            .map_err(db_error)?;
        stored::append(&*txn, &StoredInteraction { interaction: current, participants }, ChangeKind::Deleted).await?;
        txn.commit().await
    }
}
