//! Organisations: each mutation with its change-feed row in one transaction, and the hierarchy of parents kept
//! free of cycles.
use super::{CreateKey, Store, graph, json};
use crate::domain::labels::labels_column;
use crate::domain::organizations::{OrganizationFields, OrganizationKind, PostalAddress};
use crate::resource;
use crate::store::entity::organization;
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::Organization;
use liaison_runtime::api::names::{Name, Organizations};
use liaison_runtime::db::idempotency::Begun;
use liaison_runtime::db::resource as stored;
use liaison_runtime::db::{WriteTxn, db_error};
use liaison_runtime::{Error, PreconditionViolation, api::time, db::crud, db::idempotency};
use sea_orm::{EntityTrait, IntoActiveModel};

/// The filters of ListOrganizations, validated.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    pub kind: Option<OrganizationKind>,
    pub label: Option<String>,
    pub parent: Option<Name<Organizations>>,
    /// The request's `filter`.
    pub matching: liaison_runtime::api::filter::Filter,
}

impl Store {
    pub async fn create_organization(
        &self,
        fields: OrganizationFields,
        key: &CreateKey,
    ) -> Result<organization::Model, Error> {
        let name = Name::<Organizations>::generate();
        let txn = match idempotency::begin_create(
            &self.db,
            "CreateOrganization",
            key.request_id.as_ref(),
            &key.fingerprint,
            &name,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(existing) => return self.get_organization(existing).await,
        };
        check_parent(&txn, &name, fields.parent).await?;
        let now = time::now();
        let model = with_fields(
            organization::Model {
                id: name.key(),
                revision: 1,
                create_time: now,
                update_time: now,
                ..organization::Model::default()
            },
            fields,
        );
        organization::Entity::insert(model.clone().into_active_model()).exec(&*txn).await.map_err(db_error)?;
        super::terms::replace_organization(&*txn, &model.id, Some(&model)).await?;
        stored::append(&*txn, &model, ChangeKind::Created).await?;
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
        filter: &OrganizationFilter,
        order: crud::ListOrder<organization::Column>,
        after: Option<crud::Resume>,
        limit: u64,
    ) -> Result<Vec<organization::Model>, Error> {
        use sea_orm::{ColumnTrait, Condition};
        let mut condition = Condition::all().add(filter.matching.to_condition());
        if let Some(kind) = filter.kind {
            condition = condition.add(organization::Column::Kind.eq(kind.value()));
        }
        if let Some(label) = &filter.label {
            condition = condition
                .add(organization::Column::Labels.like(liaison_runtime::db::sql::like_literal("%,", label, ",%")));
        }
        if let Some(parent) = &filter.parent {
            condition = condition.add(organization::Column::ParentId.eq(parent.key()));
        }
        crud::page_ordered::<organization::Entity>(
            self.db.conn(),
            organization::Column::Id,
            order,
            condition,
            after,
            limit,
        )
        .await
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
        let rules = async |current: &organization::Model| {
            let fields = apply(&resource::organization(current))?;
            if fields.parent.map(|p| p.key()) != current.parent_id {
                check_parent(&txn, &name, fields.parent).await?;
            }
            Ok(with_fields(current.clone(), fields))
        };
        let updated = stored::update::<organization::Entity, _>(&*txn, name, expected_revision, rules).await?;
        super::terms::replace_organization(&*txn, &updated.id, Some(&updated)).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes an organisation; one with affiliations only with `force` (which deletes them too), one with
    /// member organisations or relationships never.
    pub async fn delete_organization(
        &self,
        name: Name<Organizations>,
        expected_revision: Option<i64>,
        force: bool,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().await?;
        crud::lock_row::<organization::Entity>(&*txn, name.key()).await?;
        let rules = async |_: &organization::Model| graph::release_organization(&txn, &name, force).await;
        stored::delete::<organization::Entity, _>(&*txn, name, expected_revision, rules).await?;
        super::terms::replace_organization(&*txn, &name.key(), None).await?;
        txn.commit().await
    }
}

fn postal_address_column(address: Option<&PostalAddress>) -> String {
    address.map(json).unwrap_or_default()
}

/// The parent of an organisation must exist and must not have the organisation among its ancestors. Changes to
/// the hierarchy are serialised so that two of them cannot make a cycle together.
async fn check_parent(
    txn: &WriteTxn,
    organization: &Name<Organizations>,
    parent: Option<Name<Organizations>>,
) -> Result<(), Error> {
    let Some(parent) = parent else { return Ok(()) };
    liaison_runtime::db::xact_lock(&**txn, "contacts.organization-hierarchy").await?;
    let cycle = || Error::FailedPrecondition {
        reason: "PARENT_CYCLE",
        violations: vec![PreconditionViolation {
            kind: "PARENT_CYCLE".into(),
            subject: parent.to_string(),
            description: format!("{organization} would become its own ancestor through {parent}"),
        }],
    };
    let mut ancestor = Some(parent.key());
    let mut steps = 0;
    while let Some(id) = ancestor {
        if id == organization.key() {
            return Err(cycle());
        }
        let Some(row) = crud::lock_row::<organization::Entity>(&**txn, id.clone()).await? else {
            return Err(liaison_runtime::net::peers::missing_references(
                "PARENT_NOT_FOUND",
                "parent organization",
                &[resource::organization_name(&id)],
            ));
        };
        steps += 1;
        if steps > 10_000 {
            return Err(cycle());
        }
        ancestor = row.parent_id;
    }
    Ok(())
}

/// `model` with the client-settable columns (and those derived from them) set from validated fields.
fn with_fields(model: organization::Model, fields: OrganizationFields) -> organization::Model {
    organization::Model {
        search_text: crate::domain::search::fold(&fields.display_name),
        display_name: fields.display_name,
        kind: fields.kind.value(),
        website: fields.website,
        notes: fields.notes,
        parent_id: fields.parent.map(|p| p.key()),
        postal_address: postal_address_column(fields.postal_address.as_ref()),
        labels: labels_column(&fields.labels),
        ..model
    }
}
