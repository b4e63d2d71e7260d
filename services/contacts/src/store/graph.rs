//! Affiliations and relationships: the links between parties, each mutation with its change-feed row in one
//! transaction. Invariants held by the database: at most one point of contact per organisation (a partial
//! unique index), one relationship of a type per pair (a unique index), affiliations only of existing contacts
//! and organisations (foreign keys, and row locks so that a delete and a new link cannot cross).
use super::{CreateKey, Store};
use crate::domain::graph::conflicts::{AffiliationLink, Graph, RelationshipLink};
use crate::domain::graph::{AffiliationFields, NewAffiliation, NewRelationship, RelationshipFields, RelationshipKind};
use crate::resource;
use crate::store::entity::{affiliation, contact, organization, relationship};
use chrono::NaiveDate;
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::{Affiliation, Relationship};
use liaison_runtime::api::names::{Affiliations, Contacts, Name, Organizations, PartyName, Relationships};
use liaison_runtime::db::idempotency::Begun;
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error, is_unique_violation};
use liaison_runtime::net::peers::missing_references;
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud, db::idempotency};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

fn stored_date(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.format("%Y-%m-%d").to_string())
}

fn parse_date(stored: Option<&str>) -> Option<NaiveDate> {
    stored.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Locks a party's row for the rest of the transaction; FAILED_PRECONDITION naming it if it does not exist.
async fn lock_party(txn: &WriteTxn, party: PartyName, what: &str) -> Result<(), Error> {
    // A deleted or merged contact takes no new links (restore it, or link its survivor).
    let found = match party {
        PartyName::Contact(name) => match crud::lock_row::<contact::Entity>(&**txn, name.key()).await? {
            Some(contact) => super::contacts::ensure_live(&contact).map(|()| true)?,
            None => false,
        },
        PartyName::Organization(name) => crud::lock_row::<organization::Entity>(&**txn, name.key()).await?.is_some(),
    };
    if found { Ok(()) } else { Err(missing_references("PARTY_NOT_FOUND", what, &[party.to_string()])) }
}

fn point_of_contact_taken(organization: &str, holder: &str) -> Error {
    Error::FailedPrecondition {
        reason: "POINT_OF_CONTACT_EXISTS",
        violations: vec![PreconditionViolation {
            kind: "POINT_OF_CONTACT_EXISTS".into(),
            subject: organization.to_owned(),
            description: format!(
                "{organization} already has a point of contact ({holder}); use SetPointOfContact to change it"
            ),
        }],
    }
}

/// Refuses to delete an organisation that others hang on; with `force`, its affiliations go with it.
pub(super) async fn release_organization(txn: &WriteTxn, name: &Name<Organizations>, force: bool) -> Result<(), Error> {
    let resource = name.to_string();
    let children = organization::Entity::find()
        .filter(organization::Column::ParentId.eq(name.key()))
        .limit(1)
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let relationships = relationship::Entity::find()
        .filter(
            Condition::any()
                .add(relationship::Column::Party.eq(resource.clone()))
                .add(relationship::Column::RelatedParty.eq(resource.clone())),
        )
        .limit(1)
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let affiliations = affiliation::Entity::find()
        .filter(affiliation::Column::OrganizationId.eq(name.key()))
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let refuse = |reason: &'static str, description: String| Error::FailedPrecondition {
        reason,
        violations: vec![PreconditionViolation { kind: reason.into(), subject: resource.clone(), description }],
    };
    if let Some(child) = children.first() {
        return Err(refuse(
            "ORGANIZATION_HAS_MEMBERS",
            format!("{} is part of it; move or delete it first", resource::organization_name(&child.id)),
        ));
    }
    if let Some(link) = relationships.first() {
        return Err(refuse(
            "ORGANIZATION_HAS_RELATIONSHIPS",
            format!("relationships/{} links it; delete the relationship first", link.id),
        ));
    }
    if !affiliations.is_empty() && !force {
        return Err(refuse(
            "ORGANIZATION_HAS_AFFILIATIONS",
            format!("{} people are affiliated with it; pass force to delete them with it", affiliations.len()),
        ));
    }
    for row in &affiliations {
        affiliation::Entity::delete_by_id(row.id.clone()).exec(&**txn).await.map_err(db_error)?;
        stored::append(&**txn, row, ChangeKind::Deleted).await?;
    }
    Ok(())
}

/// Refuses to delete a contact that affiliations or relationships still refer to.
pub(super) async fn ensure_unlinked_contact(txn: &WriteTxn, name: &Name<Contacts>) -> Result<(), Error> {
    let resource = name.to_string();
    let affiliations = affiliation::Entity::find()
        .filter(affiliation::Column::ContactId.eq(name.key()))
        .limit(1)
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let relationships = relationship::Entity::find()
        .filter(
            Condition::any()
                .add(relationship::Column::Party.eq(resource.clone()))
                .add(relationship::Column::RelatedParty.eq(resource.clone())),
        )
        .limit(1)
        .all(&**txn)
        .await
        .map_err(db_error)?;
    let link = affiliations
        .first()
        .map(|a| format!("affiliations/{}", a.id))
        .or_else(|| relationships.first().map(|r| format!("relationships/{}", r.id)));
    match link {
        None => Ok(()),
        Some(link) => Err(Error::FailedPrecondition {
            reason: "CONTACT_HAS_LINKS",
            violations: vec![PreconditionViolation {
                kind: "CONTACT_HAS_LINKS".into(),
                subject: resource,
                description: format!("{link} refers to it; delete it first"),
            }],
        }),
    }
}

impl Store {
    pub async fn create_affiliation(&self, new: NewAffiliation, key: &CreateKey) -> Result<affiliation::Model, Error> {
        let name = Name::<Affiliations>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateAffiliation",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_affiliation(existing).await,
        };
        lock_party(&txn, PartyName::Contact(new.contact), "contact").await?;
        lock_party(&txn, PartyName::Organization(new.organization), "organization").await?;
        let now = time::now();
        let model = affiliation::Model {
            id: name.key(),
            contact_id: new.contact.key(),
            organization_id: new.organization.key(),
            role: new.fields.role,
            start_date: stored_date(new.fields.start),
            end_date: stored_date(new.fields.end),
            point_of_contact: new.point_of_contact,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        if let Err(e) = affiliation::Entity::insert(model.clone().into_active_model()).exec(&*txn).await {
            if is_unique_violation(&e) {
                drop(txn);
                let holder = self.point_of_contact_of(&new.organization).await.unwrap_or_default();
                return Err(point_of_contact_taken(&new.organization.to_string(), &holder));
            }
            return Err(db_error(e));
        }
        stored::append(&*txn, &model, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(model)
    }

    /// The current point of contact of an organisation (read outside the failed transaction).
    async fn point_of_contact_of(&self, organization: &Name<Organizations>) -> Option<String> {
        affiliation::Entity::find()
            .filter(affiliation::Column::OrganizationId.eq(organization.key()))
            .filter(affiliation::Column::PointOfContact.eq(true))
            .one(self.db.conn())
            .await
            .ok()
            .flatten()
            .map(|a| format!("affiliations/{}", a.id))
    }

    pub async fn get_affiliation(&self, name: Name<Affiliations>) -> Result<affiliation::Model, Error> {
        crud::find::<affiliation::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    /// A page of an organisation's or a contact's affiliations, in creation order.
    pub async fn list_affiliations(
        &self,
        of: PartyName,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<affiliation::Model>, Error> {
        let mut query = affiliation::Entity::find().order_by_asc(affiliation::Column::Id).limit(limit);
        query = match of {
            PartyName::Contact(c) => query.filter(affiliation::Column::ContactId.eq(c.key())),
            PartyName::Organization(o) => query.filter(affiliation::Column::OrganizationId.eq(o.key())),
        };
        if let Some(after) = after {
            query = query.filter(affiliation::Column::Id.gt(after));
        }
        query.all(self.db.conn()).await.map_err(db_error)
    }

    pub async fn update_affiliation(
        &self,
        name: Name<Affiliations>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Affiliation) -> Result<AffiliationFields, Error>,
    ) -> Result<affiliation::Model, Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |current: &affiliation::Model| {
            let fields = apply(&resource::affiliation(current))?;
            let ended = fields.ended(time::now().date_naive());
            Ok(affiliation::Model {
                role: fields.role,
                start_date: stored_date(fields.start),
                end_date: stored_date(fields.end),
                // An affiliation that has ended is no one's point of contact any more.
                point_of_contact: current.point_of_contact && !ended,
                ..current.clone()
            })
        };
        let updated = stored::update::<affiliation::Entity, _>(&*txn, name, expected_revision, rules).await?;
        txn.commit().await?;
        Ok(updated)
    }

    pub async fn delete_affiliation(
        &self,
        name: Name<Affiliations>,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |_: &affiliation::Model| Ok(());
        stored::delete::<affiliation::Entity, _>(&*txn, name, expected_revision, rules).await?;
        txn.commit().await
    }

    /// Makes `name` its organisation's point of contact and demotes the previous one, in one transaction that
    /// holds the organisation's row, so two of them racing end with exactly one point of contact.
    pub async fn set_point_of_contact(
        &self,
        name: Name<Affiliations>,
    ) -> Result<(affiliation::Model, Option<String>), Error> {
        let resource = name.to_string();
        let txn = self.db.begin_write().await?;
        let target = crud::find::<affiliation::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        crud::lock_row::<organization::Entity>(&*txn, target.organization_id.clone()).await?;
        // Read again under the lock: the row may have changed while we waited.
        let target = crud::find::<affiliation::Entity>(&*txn, name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: resource.clone() })?;
        let today = time::now().date_naive();
        if parse_date(target.end_date.as_deref()).is_some_and(|end| end < today) {
            return Err(Error::FailedPrecondition {
                reason: "AFFILIATION_ENDED",
                violations: vec![PreconditionViolation {
                    kind: "AFFILIATION_ENDED".into(),
                    subject: resource,
                    description: "an affiliation that has ended cannot be the point of contact".into(),
                }],
            });
        }
        if target.point_of_contact {
            txn.commit().await?;
            return Ok((target, None));
        }
        let previous = affiliation::Entity::find()
            .filter(affiliation::Column::OrganizationId.eq(target.organization_id.clone()))
            .filter(affiliation::Column::PointOfContact.eq(true))
            .one(&*txn)
            .await
            .map_err(db_error)?;
        let now = time::now();
        let mut demoted = None;
        if let Some(previous) = previous {
            let updated = affiliation::Model {
                point_of_contact: false,
                revision: previous.revision + 1,
                update_time: now,
                ..previous.clone()
            };
            let previous_name = format!("affiliations/{}", previous.id);
            stored::replace_if_unchanged::<affiliation::Entity>(
                &*txn,
                &previous_name,
                previous.revision,
                updated.clone(),
            )
            .await?;
            stored::append(&*txn, &updated, ChangeKind::Updated).await?;
            demoted = Some(previous_name);
        }
        let promoted = affiliation::Model {
            point_of_contact: true,
            revision: target.revision + 1,
            update_time: now,
            ..target.clone()
        };
        stored::replace_if_unchanged::<affiliation::Entity>(&*txn, &resource, target.revision, promoted.clone())
            .await?;
        stored::append(&*txn, &promoted, ChangeKind::Updated).await?;
        txn.commit().await?;
        Ok((promoted, demoted))
    }

    pub async fn create_relationship(
        &self,
        new: NewRelationship,
        key: &CreateKey,
    ) -> Result<relationship::Model, Error> {
        let name = Name::<Relationships>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateRelationship",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_relationship(existing).await,
        };
        lock_party(&txn, new.party, "party").await?;
        lock_party(&txn, new.related_party, "related party").await?;
        let now = time::now();
        let model = relationship::Model {
            id: name.key(),
            party: new.party.to_string(),
            related_party: new.related_party.to_string(),
            kind: new.kind.value(),
            since: stored_date(new.fields.since),
            strength: new.fields.strength,
            notes: new.fields.notes,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        if let Err(e) = relationship::Entity::insert(model.clone().into_active_model()).exec(&*txn).await {
            return Err(if is_unique_violation(&e) {
                Error::AlreadyExists {
                    resource: format!(
                        "a {} relationship between {} and {}",
                        new.kind.describe(),
                        new.party,
                        new.related_party
                    ),
                }
            } else {
                db_error(e)
            });
        }
        stored::append(&*txn, &model, ChangeKind::Created).await?;
        txn.commit().await?;
        Ok(model)
    }

    pub async fn get_relationship(&self, name: Name<Relationships>) -> Result<relationship::Model, Error> {
        crud::find::<relationship::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })
    }

    /// A page of a party's relationships (either side), in creation order.
    pub async fn list_relationships(
        &self,
        party: PartyName,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<relationship::Model>, Error> {
        let party = party.to_string();
        let mut query = relationship::Entity::find()
            .filter(
                Condition::any()
                    .add(relationship::Column::Party.eq(party.clone()))
                    .add(relationship::Column::RelatedParty.eq(party)),
            )
            .order_by_asc(relationship::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(relationship::Column::Id.gt(after));
        }
        query.all(self.db.conn()).await.map_err(db_error)
    }

    pub async fn update_relationship(
        &self,
        name: Name<Relationships>,
        expected_revision: Option<i64>,
        apply: impl FnOnce(&Relationship) -> Result<RelationshipFields, Error>,
    ) -> Result<relationship::Model, Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |current: &relationship::Model| {
            let fields = apply(&resource::relationship(current))?;
            Ok(relationship::Model {
                since: stored_date(fields.since),
                strength: fields.strength,
                notes: fields.notes,
                ..current.clone()
            })
        };
        let updated = stored::update::<relationship::Entity, _>(&*txn, name, expected_revision, rules).await?;
        txn.commit().await?;
        Ok(updated)
    }

    pub async fn delete_relationship(
        &self,
        name: Name<Relationships>,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        let rules = async |_: &relationship::Model| Ok(());
        stored::delete::<relationship::Entity, _>(&*txn, name, expected_revision, rules).await?;
        txn.commit().await
    }

    /// The part of the register around `candidate` and `parties` that conflict checks walk: the affiliations of
    /// the contacts among them, every ancestor of the organisations reached, and the candidate's relationships.
    pub async fn conflict_graph(&self, candidate: PartyName, parties: &[PartyName]) -> Result<Graph, Error> {
        let conn = self.db.conn();
        let contacts: Vec<String> = std::iter::once(&candidate)
            .chain(parties)
            .filter_map(|p| match p {
                PartyName::Contact(c) => Some(c.key()),
                PartyName::Organization(_) => None,
            })
            .collect();
        let affiliations = if contacts.is_empty() {
            Vec::new()
        } else {
            affiliation::Entity::find()
                .filter(affiliation::Column::ContactId.is_in(contacts))
                .all(conn)
                .await
                .map_err(db_error)?
        };
        let today = time::now().date_naive();
        let mut graph = Graph {
            affiliations: affiliations
                .iter()
                .map(|a| AffiliationLink {
                    name: format!("affiliations/{}", a.id),
                    contact: resource::contact_name(&a.contact_id),
                    organization: resource::organization_name(&a.organization_id),
                    ended: parse_date(a.end_date.as_deref()).is_some_and(|end| end < today),
                })
                .collect(),
            ..Graph::default()
        };
        // Climb the hierarchy one level per query.
        let mut frontier: Vec<String> = affiliations.iter().map(|a| a.organization_id.clone()).collect();
        frontier.extend(std::iter::once(&candidate).chain(parties).filter_map(|p| match p {
            PartyName::Organization(o) => Some(o.key()),
            PartyName::Contact(_) => None,
        }));
        let mut seen: HashMap<String, ()> = HashMap::new();
        while !frontier.is_empty() {
            frontier.retain(|id| seen.insert(id.clone(), ()).is_none());
            if frontier.is_empty() {
                break;
            }
            let rows = crud::find_many::<organization::Entity>(conn, organization::Column::Id, frontier).await?;
            frontier = Vec::new();
            for row in rows {
                if let Some(parent) = row.parent_id {
                    graph.parents.insert(resource::organization_name(&row.id), resource::organization_name(&parent));
                    frontier.push(parent);
                }
            }
        }
        let candidate_name = candidate.to_string();
        let relationships = relationship::Entity::find()
            .filter(
                Condition::any()
                    .add(relationship::Column::Party.eq(candidate_name.clone()))
                    .add(relationship::Column::RelatedParty.eq(candidate_name)),
            )
            .all(conn)
            .await
            .map_err(db_error)?;
        graph.relationships = relationships
            .into_iter()
            .map(|r| RelationshipLink {
                name: format!("relationships/{}", r.id),
                party: r.party,
                related_party: r.related_party,
                description: RelationshipKind::parse("kind", r.kind).map(|k| k.describe()).unwrap_or("related"),
            })
            .collect();
        Ok(graph)
    }
}
