//! What every stored resource does the same way, written once: its type name (from `prost::Name`), its wire
//! form (also what its changes carry), the change-feed append, and conditional update and delete by etag.
//!
//! A service declares an entity in a few lines —
//!
//! ```text
//! liaison_runtime::revisioned!(affiliation);            // id, revision, update_time columns
//! impl Resource for affiliation::Model {
//!     type Wire = Affiliation;
//!     fn resource_name(&self) -> String { format!("affiliations/{}", self.id) }
//!     fn to_wire(&self) -> Affiliation { crate::db::resource::affiliation(self) }
//! }
//! ```
//!
//! — and writes only its own rules: `update::<affiliation::Entity, _>(txn, name, etag, async |current| …)`
//! reads the row, lets the rules build the new one, stamps its revision, writes it only if nobody else did
//! meanwhile, and appends its change, all in the caller's transaction.
use crate::api::error::Error;
use crate::api::names::{Collection, Name};
use crate::db::crud::find;
use crate::db::db_error;
use crate::db::single_trip::Insert;
use chrono::{DateTime, Utc};
use liaison_proto::common::v1::ChangeKind;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};

/// Something the API serves as a resource: its name and its wire form, which is also what its changes carry.
pub trait Resource {
    /// The wire message; its `prost::Name` is the type of the change's `Any`.
    type Wire: prost::Message + prost::Name;
    /// The resource name, e.g. `contacts/0193…`.
    fn resource_name(&self) -> String;
    fn to_wire(&self) -> Self::Wire;
    /// Whether the resource is confidential: its changes reach followers without the right as name and kind only
    /// (`feed::redacted`).
    fn confidential(&self) -> bool {
        false
    }
}

/// `resource`, confidential or not as its parent record is, whatever its own type says (a confidential case's
/// proposals, notes and actions).
pub struct Marked<'a, R> {
    pub resource: &'a R,
    pub confidential: bool,
}

impl<R: Resource> Resource for Marked<'_, R> {
    type Wire = R::Wire;
    fn resource_name(&self) -> String {
        self.resource.resource_name()
    }
    fn to_wire(&self) -> R::Wire {
        self.resource.to_wire()
    }
    fn confidential(&self) -> bool {
        self.confidential
    }
}

/// The type name of a resource's wire message, e.g. `liaison.contacts.v1.Contact`.
pub fn type_name<R: Resource>() -> String {
    <R::Wire as prost::Name>::full_name()
}

/// An entity whose rows carry a revision (their etag): updates and deletes happen only if the row is still at
/// the revision that was read, so a concurrent writer is detected by the database. [`revisioned!`] implements it
/// for entities with `id`, `revision` and `update_time` columns.
pub trait Revisioned: EntityTrait {
    fn id_column() -> Self::Column;
    fn revision_column() -> Self::Column;
    fn id_of(model: &Self::Model) -> String;
    fn revision_of(model: &Self::Model) -> i64;
    /// Marks `model` as written at `revision` at `now`.
    fn stamp(model: &mut Self::Model, revision: i64, now: DateTime<Utc>);
}

/// Implements [`Revisioned`] for entity modules with `id: String`, `revision: i64` and `update_time` columns.
#[macro_export]
macro_rules! revisioned {
    ($($entity:ident),+ $(,)?) => {$(
        impl $crate::db::resource::Revisioned for $entity::Entity {
            fn id_column() -> Self::Column {
                $entity::Column::Id
            }
            fn revision_column() -> Self::Column {
                $entity::Column::Revision
            }
            fn id_of(model: &Self::Model) -> String {
                model.id.clone()
            }
            fn revision_of(model: &Self::Model) -> i64 {
                model.revision
            }
            fn stamp(model: &mut Self::Model, revision: i64, now: $crate::db::resource::Time) {
                model.revision = revision;
                model.update_time = now;
            }
        }
    )+};
}

/// The time type of `update_time` columns (for [`revisioned!`]).
pub type Time = DateTime<Utc>;

/// Appends the change of one mutation of `resource`; call it inside the mutation's transaction.
pub async fn append<R: Resource>(conn: &impl ConnectionTrait, resource: &R, kind: ChangeKind) -> Result<(), Error> {
    change(resource, kind).execute(conn).await
}

/// Appends the changes of a batch mutation in the order given, with multi-row inserts.
pub async fn append_many<R: Resource>(conn: &impl ConnectionTrait, changes: &[(R, ChangeKind)]) -> Result<(), Error> {
    // Confidential resources are rare and written one by one; a batch is marked as its first resource is.
    if changes.iter().any(|(resource, _)| resource.confidential()) {
        for (resource, kind) in changes {
            append(conn, resource, *kind).await?;
        }
        return Ok(());
    }
    let wires: Vec<(String, ChangeKind, R::Wire)> =
        changes.iter().map(|(resource, kind)| (resource.resource_name(), *kind, resource.to_wire())).collect();
    crate::feed::append_many(conn, &type_name::<R>(), &wires).await
}

/// The change-feed insert of one mutation, for creates written in one round trip ([`crate::db::single_trip`]).
pub fn change<R: Resource>(resource: &R, kind: ChangeKind) -> Insert {
    crate::feed::insert_marked(
        &type_name::<R>(),
        &[(&resource.resource_name(), kind, &resource.to_wire())],
        resource.confidential(),
    )
}

/// The row `id` (named `resource` in errors) to change: NOT_FOUND if absent, ABORTED if `expected_revision` is
/// set and stale.
pub async fn current_for_update<E>(
    conn: &impl ConnectionTrait,
    resource: &str,
    id: String,
    expected_revision: Option<i64>,
) -> Result<E::Model, Error>
where
    E: Revisioned,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let row = find::<E>(conn, id).await?.ok_or_else(|| Error::NotFound { resource: resource.to_owned() })?;
    match expected_revision {
        Some(expected) if expected != E::revision_of(&row) => Err(Error::Aborted { resource: resource.to_owned() }),
        _ => Ok(row),
    }
}

/// Writes `updated` over the row if it is still at `read_revision`; ABORTED otherwise.
pub async fn replace_if_unchanged<E>(
    conn: &impl ConnectionTrait,
    resource: &str,
    read_revision: i64,
    updated: E::Model,
) -> Result<(), Error>
where
    E: Revisioned,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    use sea_orm::ActiveModelTrait;
    let id = E::id_of(&updated);
    let changed = E::update_many()
        .set(updated.into_active_model().reset_all())
        .filter(E::id_column().eq(id))
        .filter(E::revision_column().eq(read_revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if changed.rows_affected == 1 { Ok(()) } else { Err(Error::Aborted { resource: resource.to_owned() }) }
}

/// Deletes the row if it is still at the revision of `current`; ABORTED otherwise.
pub async fn delete_if_unchanged<E: Revisioned>(
    conn: &impl ConnectionTrait,
    resource: &str,
    current: &E::Model,
) -> Result<(), Error> {
    let deleted = E::delete_many()
        .filter(E::id_column().eq(E::id_of(current)))
        .filter(E::revision_column().eq(E::revision_of(current)))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if deleted.rows_affected == 1 { Ok(()) } else { Err(Error::Aborted { resource: resource.to_owned() }) }
}

/// A conditional update in the caller's transaction, without its change (for resources whose wire form needs
/// more than the row, which append their own): reads the row of `name` (NOT_FOUND; ABORTED if `expected_revision` is
/// stale), lets `rules` build the new row from the current one (refusing with their own error), stamps it with
/// the next revision, and writes it only if the row is still at the revision read (ABORTED otherwise).
/// Returns `(before, after)`.
pub async fn update_row<E, C: Collection>(
    conn: &impl ConnectionTrait,
    name: Name<C>,
    expected_revision: Option<i64>,
    rules: impl AsyncFnOnce(&E::Model) -> Result<E::Model, Error>,
) -> Result<(E::Model, E::Model), Error>
where
    E: Revisioned,
    E::Model: IntoActiveModel<E::ActiveModel>,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let resource = &name.to_string();
    let current = current_for_update::<E>(conn, resource, name.key(), expected_revision).await?;
    let mut updated = rules(&current).await?;
    let read_revision = E::revision_of(&current);
    E::stamp(&mut updated, read_revision + 1, crate::api::time::now());
    replace_if_unchanged::<E>(conn, resource, read_revision, updated.clone()).await?;
    Ok((current, updated))
}

/// [`update_row`] and the `UPDATED` change of the row: the whole of an update but the rules.
pub async fn update<E, C: Collection>(
    conn: &impl ConnectionTrait,
    name: Name<C>,
    expected_revision: Option<i64>,
    rules: impl AsyncFnOnce(&E::Model) -> Result<E::Model, Error>,
) -> Result<E::Model, Error>
where
    E: Revisioned,
    E::Model: IntoActiveModel<E::ActiveModel> + Resource,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let (_, updated) = update_row::<E, C>(conn, name, expected_revision, rules).await?;
    append(conn, &updated, ChangeKind::Updated).await?;
    Ok(updated)
}

/// A conditional delete in the caller's transaction, without its change: reads the row of `name` (NOT_FOUND; ABORTED if
/// `expected_revision` is stale), lets `rules` refuse it, and deletes it only if it is still at the revision
/// read. Returns its last state.
pub async fn delete_row<E, C: Collection>(
    conn: &impl ConnectionTrait,
    name: Name<C>,
    expected_revision: Option<i64>,
    rules: impl AsyncFnOnce(&E::Model) -> Result<(), Error>,
) -> Result<E::Model, Error>
where
    E: Revisioned,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let resource = &name.to_string();
    let current = current_for_update::<E>(conn, resource, name.key(), expected_revision).await?;
    rules(&current).await?;
    delete_if_unchanged::<E>(conn, resource, &current).await?;
    Ok(current)
}

/// [`delete_row`] and the `DELETED` change carrying the resource's last state.
pub async fn delete<E, C: Collection>(
    conn: &impl ConnectionTrait,
    name: Name<C>,
    expected_revision: Option<i64>,
    rules: impl AsyncFnOnce(&E::Model) -> Result<(), Error>,
) -> Result<E::Model, Error>
where
    E: Revisioned,
    E::Model: Resource,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let deleted = delete_row::<E, C>(conn, name, expected_revision, rules).await?;
    append(conn, &deleted, ChangeKind::Deleted).await?;
    Ok(deleted)
}
