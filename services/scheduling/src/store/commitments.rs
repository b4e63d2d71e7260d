//! Commitments: created in one round trip with their links and their change; read with their progress computed
//! from the action items and milestones linked to them (one query for the links and two for what they name, for any
//! number of commitments); listed by owner, stakeholder, state and due time through their indexes; changed under
//! their row lock with a revision check, in one transaction with their change; counted when overdue, per owner
//! and per stakeholder, by the database.
use super::entity::{action_item, commitment, milestone};
use crate::domain::action_item::State as ItemState;
use crate::domain::commitment::{
    self as rules, Commitments, Evidence, Fields, Kind, OverdueCount, Priority, Risk, State, Transition,
};
use crate::domain::lifecycle::parse_rfc3339;
use crate::domain::project::{MilestoneName, MilestoneStatus, milestone_share};
use chrono::{DateTime, Utc};
use commitment::link;
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::scheduling::v1 as wire;
use liaison_runtime::Error;
use liaison_runtime::api::names::{ActionItems, Name};
use liaison_runtime::api::time::to_timestamp;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::api::{etag, time};
use liaison_runtime::db::resource::{Resource, Revisioned, change, replace_if_unchanged};
use liaison_runtime::db::single_trip::{self, Insert};
use liaison_runtime::db::{crud, db_error, idempotency, sql::statement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter};
use std::collections::HashMap;

pub const CREATE_METHOD: &str = "CreateCommitment";

liaison_runtime::revisioned!(commitment);

/// A commitment with its links (action items first, each kind in the order given) and its progress, computed from
/// what they name when it was read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommitment {
    pub row: commitment::Model,
    /// `actionItems/{id}` and `projects/{p}/milestones/{m}`.
    pub links: Vec<String>,
    pub progress: i32,
}

impl StoredCommitment {
    /// A new open commitment `name` with nothing set, written at `now`: [`StoredCommitment::apply`] sets it.
    pub fn new(name: Name<Commitments>, now: DateTime<Utc>) -> Self {
        let row = commitment::Model {
            id: name.key(),
            title: String::new(),
            description: String::new(),
            stakeholder: String::new(),
            made_in: String::new(),
            kind: Kind::Informal.as_str().to_owned(),
            owner: String::new(),
            due_time: None,
            priority: Priority::Medium.as_str().to_owned(),
            risk: Risk::Medium.as_str().to_owned(),
            state: State::Open.as_str().to_owned(),
            referred_to: String::new(),
            satisfaction: 0,
            satisfaction_note: String::new(),
            evidence: "[]".to_owned(),
            history: "[]".to_owned(),
            close_time: None,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        Self { row, links: Vec::new(), progress: 0 }
    }

    /// Sets the fields that were read (see [`Fields`]).
    pub fn apply(&mut self, fields: Fields) {
        if let Some(links) = fields.links() {
            self.links = links;
        }
        let row = &mut self.row;
        let Fields { title, description, stakeholder, made_in, kind, owner, due, priority, risk, .. } = fields;
        if let Some(title) = title {
            row.title = title;
        }
        if let Some(description) = description {
            row.description = description;
        }
        if let Some(stakeholder) = stakeholder {
            row.stakeholder = stakeholder.to_string();
        }
        if let Some(made_in) = made_in {
            row.made_in = made_in;
        }
        if let Some(kind) = kind {
            row.kind = kind.as_str().to_owned();
        }
        if let Some(owner) = owner {
            row.owner = owner.to_string();
        }
        if let Some(due) = due {
            row.due_time = due;
        }
        if let Some(priority) = priority {
            row.priority = priority.as_str().to_owned();
        }
        if let Some(risk) = risk {
            row.risk = risk.as_str().to_owned();
        }
    }

    pub fn name(&self) -> Result<Name<Commitments>, Error> {
        Name::parse("stored id", &format!("commitments/{}", self.row.id)).map_err(|v| Error::Internal(v.description))
    }

    pub fn state(&self) -> Result<State, Error> {
        State::from_stored(&self.row.state).ok_or_else(|| {
            Error::Internal(format!("commitment {} has an unknown state '{}'", self.row.id, self.row.state))
        })
    }

    fn link_rows(&self) -> Vec<link::Model> {
        let id = &self.row.id;
        self.links
            .iter()
            .enumerate()
            .map(|(position, l)| link::Model { commitment_id: id.clone(), position: position as i32, link: l.clone() })
            .collect()
    }
}

/// ListCommitments' filters; each one set narrows the list (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitmentFilter {
    pub owner: Option<String>,
    pub stakeholder: Option<String>,
    pub state: Option<State>,
    /// Open and due before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
}

fn open_states() -> Vec<&'static str> {
    State::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str()).collect()
}

impl CommitmentFilter {
    fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(owner) = &self.owner {
            condition = condition.add(commitment::Column::Owner.eq(owner.as_str()));
        }
        if let Some(stakeholder) = &self.stakeholder {
            condition = condition.add(commitment::Column::Stakeholder.eq(stakeholder.as_str()));
        }
        if let Some(state) = self.state {
            condition = condition.add(commitment::Column::State.eq(state.as_str()));
        }
        if let Some(now) = self.overdue_at {
            condition =
                condition.add(commitment::Column::State.is_in(open_states())).add(commitment::Column::DueTime.lt(now));
        }
        condition
    }
}

impl super::Store {
    /// Creates a commitment (its parties and links checked by the caller) with its links and its change; a
    /// replayed `request_id` writes nothing and returns the first commitment.
    pub async fn create_commitment(
        &self,
        stored: StoredCommitment,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredCommitment, Error> {
        let name = stored.name()?;
        let mut inserts = vec![Insert::model(stored.row.clone().into_active_model())];
        inserts.extend(Insert::models(stored.link_rows().into_iter().map(IntoActiveModel::into_active_model)));
        inserts.push(change(&stored, ChangeKind::Created));
        match single_trip::create_named(&self.db, CREATE_METHOD, request_id, fingerprint, &name, inserts).await? {
            Some(existing) => self.get_commitment(existing).await,
            None => Ok(stored),
        }
    }

    /// The commitment an earlier CreateCommitment with this request id created, if any.
    pub async fn commitment_created_by(
        &self,
        request_id: &RequestId,
        fingerprint: &str,
    ) -> Result<Option<StoredCommitment>, Error> {
        match idempotency::lookup(self.db.conn(), CREATE_METHOD, request_id, fingerprint).await? {
            Some(name) => {
                let name = Name::parse("stored name", &name).map_err(|v| Error::Internal(v.description))?;
                Ok(Some(self.get_commitment(name).await?))
            }
            None => Ok(None),
        }
    }

    pub async fn get_commitment(&self, name: Name<Commitments>) -> Result<StoredCommitment, Error> {
        let row = crud::find::<commitment::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        one(with_links(self.db.conn(), vec![row]).await?)
    }

    pub async fn list_commitments(
        &self,
        filter: &CommitmentFilter,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<StoredCommitment>, Error> {
        let rows = crud::page_where::<commitment::Entity>(
            self.db.conn(),
            commitment::Column::Id,
            filter.condition(),
            after,
            limit,
        )
        .await?;
        with_links(self.db.conn(), rows).await
    }

    /// Each of `links`' share of a commitment's progress; a link that names nothing is absent (so the caller can
    /// refuse it).
    pub async fn shares_of(&self, links: &[String]) -> Result<HashMap<String, Option<i32>>, Error> {
        shares(self.db.conn(), links).await
    }

    /// Changes commitment `name` by `rules` (which see the current commitment and return the next) under its row
    /// lock, in one transaction: NOT_FOUND, ABORTED if `expected_revision` is set and stale, the rules' own
    /// refusals. Its links are rewritten if they changed, and its progress is computed again from what they name.
    pub async fn change_commitment(
        &self,
        name: Name<Commitments>,
        expected_revision: Option<i64>,
        rules: impl FnOnce(&StoredCommitment) -> Result<StoredCommitment, Error>,
    ) -> Result<StoredCommitment, Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        // Locked first, so that concurrent changes of one commitment take turns and its links are read as they are.
        let row = crud::lock_row::<commitment::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        if expected_revision.is_some_and(|expected| expected != row.revision) {
            return Err(Error::Aborted { resource });
        }
        let current = one(with_links(&*txn, vec![row]).await?)?;
        let mut next = rules(&current)?;
        commitment::Entity::stamp(&mut next.row, current.row.revision + 1, time::now());
        replace_if_unchanged::<commitment::Entity>(&*txn, &resource, current.row.revision, next.row.clone()).await?;
        let mut inserts = Vec::new();
        if next.links != current.links {
            link::Entity::delete_many()
                .filter(link::Column::CommitmentId.eq(next.row.id.as_str()))
                .exec(&*txn)
                .await
                .map_err(db_error)?;
            inserts.extend(Insert::models(next.link_rows().into_iter().map(IntoActiveModel::into_active_model)));
        }
        let shares = shares(&*txn, &next.links).await?;
        next.progress = rules::progress(next.state()?, next.links.iter().map(|l| shares.get(l).copied().flatten()));
        inserts.push(change(&next, ChangeKind::Updated));
        Insert::execute_all(&*txn, inserts).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// How many commitments are overdue at `now`, per owner and per stakeholder (unranked), counted by the
    /// database.
    pub async fn overdue_counts(&self, now: DateTime<Utc>) -> Result<(Vec<OverdueCount>, Vec<OverdueCount>), Error> {
        #[derive(Debug, FromQueryResult)]
        struct Group {
            party: String,
            overdue: i64,
            oldest_due: Option<DateTime<Utc>>,
        }
        let conn = self.db.conn();
        let states = open_states();
        let count_by = |column: &str| {
            let placeholders = vec!["?"; states.len()].join(", ");
            let sql = format!(
                "SELECT {column} AS party, COUNT(*) AS overdue, MIN(due_time) AS oldest_due FROM commitments \
                 WHERE state IN ({placeholders}) AND due_time < ? GROUP BY {column}"
            );
            let mut values: Vec<sea_orm::Value> = states.iter().map(|s| (*s).into()).collect();
            values.push(now.into());
            async move {
                let groups = Group::find_by_statement(statement(conn.get_database_backend(), &sql, values))
                    .all(conn)
                    .await
                    .map_err(db_error)?;
                Ok::<_, Error>(
                    groups
                        .into_iter()
                        .map(|g| OverdueCount { party: g.party, overdue: g.overdue, oldest_due: g.oldest_due })
                        .collect::<Vec<_>>(),
                )
            }
        };
        tokio::try_join!(count_by("owner"), count_by("stakeholder"))
    }
}

fn one(mut stored: Vec<StoredCommitment>) -> Result<StoredCommitment, Error> {
    stored.pop().ok_or_else(|| Error::Internal("a commitment read vanished".into()))
}

/// Attaches their links and progress to commitments: one query for the links, then two (concurrent) for what
/// they name.
async fn with_links(conn: &impl ConnectionTrait, rows: Vec<commitment::Model>) -> Result<Vec<StoredCommitment>, Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut links = crud::children_of::<link::Entity, _>(
        conn,
        link::Column::CommitmentId,
        link::Column::Position,
        ids,
        |row| row.commitment_id.clone(),
        |row| row.link,
    )
    .await?;
    let mut named: Vec<String> = links.values().flatten().cloned().collect();
    named.sort();
    named.dedup();
    let shares = shares(conn, &named).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let links = links.remove(&row.id).unwrap_or_default();
            let state = State::from_stored(&row.state).unwrap_or(State::Open);
            let progress = rules::progress(state, links.iter().map(|l| shares.get(l).copied().flatten()));
            StoredCommitment { row, links, progress }
        })
        .collect())
}

/// Ids asked for in one query at most: a page of commitments may name far more linked resources than a statement
/// can bind.
const IDS_PER_QUERY: usize = 1000;

/// The rows of `E` whose `column` is one of `ids`, [`IDS_PER_QUERY`] ids a query.
async fn find_all<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    column: E::Column,
    ids: Vec<String>,
) -> Result<Vec<E::Model>, Error> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        rows.extend(crud::find_many::<E>(conn, column, chunk.to_vec()).await?);
    }
    Ok(rows)
}

/// Each link's share of progress (see `domain::commitment::progress`), by link; action items and milestones are
/// read concurrently. Links to nothing (or to a milestone under another project) are absent.
async fn shares(conn: &impl ConnectionTrait, links: &[String]) -> Result<HashMap<String, Option<i32>>, Error> {
    let item_ids: Vec<String> =
        links.iter().filter_map(|l| Name::<ActionItems>::parse("link", l).ok()).map(|n| n.key()).collect();
    let milestone_ids: Vec<String> =
        links.iter().filter_map(|l| MilestoneName::parse("link", l).ok()).map(|name| name.key()).collect();
    let (items, found) = tokio::try_join!(
        find_all::<action_item::Entity>(conn, action_item::Column::Id, item_ids),
        find_all::<milestone::Entity>(conn, milestone::Column::Id, milestone_ids),
    )?;
    let mut shares = HashMap::new();
    for item in items {
        let share = ItemState::from_stored(&item.state).and_then(rules::action_item_share);
        shares.insert(item.resource_name(), share);
    }
    // Keyed by the milestone's whole name: a link naming its id under another project names nothing.
    for m in found {
        let share = MilestoneStatus::from_stored(&m.status).and_then(|s| milestone_share(s, m.percent_complete));
        shares.insert(m.resource_name(), share);
    }
    Ok(shares)
}

impl Resource for StoredCommitment {
    type Wire = wire::Commitment;
    fn resource_name(&self) -> String {
        format!("commitments/{}", self.row.id)
    }
    fn to_wire(&self) -> wire::Commitment {
        commitment(self, time::now())
    }
}

/// The wire form of a stored commitment at `now` (which decides whether it is overdue).
pub fn commitment(stored: &StoredCommitment, now: DateTime<Utc>) -> wire::Commitment {
    let row = &stored.row;
    let time = |text: &str| parse_rfc3339(text).map(to_timestamp);
    let history = rules::list_from_json::<Transition>(&row.history).unwrap_or_default();
    let evidence = rules::list_from_json::<Evidence>(&row.evidence).unwrap_or_default();
    let state = State::from_stored(&row.state);
    wire::Commitment {
        name: stored.resource_name(),
        title: row.title.clone(),
        description: row.description.clone(),
        stakeholder: row.stakeholder.clone(),
        made_in: row.made_in.clone(),
        kind: Kind::wire_of(&row.kind),
        owner: row.owner.clone(),
        due_time: row.due_time.map(to_timestamp),
        priority: Priority::wire_of(&row.priority),
        risk: Risk::wire_of(&row.risk),
        state: State::wire_of(&row.state),
        referred_to: row.referred_to.clone(),
        evidence: evidence
            .iter()
            .map(|e| wire::Evidence {
                description: e.description.clone(),
                link: e.link.clone(),
                add_time: time(&e.add_time),
                actor: e.actor.clone(),
            })
            .collect(),
        satisfaction: row.satisfaction,
        satisfaction_note: row.satisfaction_note.clone(),
        action_items: stored.links.iter().filter(|l| l.starts_with("actionItems/")).cloned().collect(),
        milestones: stored.links.iter().filter(|l| l.starts_with("projects/")).cloned().collect(),
        progress_percent: stored.progress,
        history: history
            .iter()
            .map(|t| wire::CommitmentTransition {
                from_state: State::wire_of(&t.from),
                to_state: State::wire_of(&t.to),
                note: t.note.clone(),
                transition_time: time(&t.time),
                actor: t.actor.clone(),
            })
            .collect(),
        overdue: state.is_some_and(|s| rules::is_overdue(s, row.due_time, now)),
        etag: etag::render(row.revision),
        create_time: Some(to_timestamp(row.create_time)),
        update_time: Some(to_timestamp(row.update_time)),
        close_time: row.close_time.map(to_timestamp),
    }
}
