//! The reads every service's store does the same way: one row by id, a page of rows in id (= creation) order,
//! many rows by id. Entities have a text primary key `id` holding a UUIDv7.
use crate::db::db_error;
use crate::error::Error;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The row with primary key `id`.
pub async fn find<E>(conn: &impl ConnectionTrait, id: String) -> Result<Option<E::Model>, Error>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    E::find_by_id(id).one(conn).await.map_err(db_error)
}

/// Up to `limit` rows with `id_column` greater than `after`, in ascending order (the list order of every service).
pub async fn page<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id_column: E::Column,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<E::Model>, Error> {
    let mut query = E::find().order_by_asc(id_column).limit(limit);
    if let Some(after) = after {
        query = query.filter(id_column.gt(after));
    }
    query.all(conn).await.map_err(db_error)
}

/// The rows whose `id_column` is one of `ids` (one query, any order).
pub async fn find_many<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id_column: E::Column,
    ids: Vec<String>,
) -> Result<Vec<E::Model>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    E::find().filter(id_column.is_in(ids)).all(conn).await.map_err(db_error)
}
