//! The reads every service's store does the same way: one row by id, a page of rows in id (= creation) order,
//! many rows by id. Entities have a text primary key `id` holding a UUIDv7.
use crate::api::error::Error;
use crate::db::db_error;
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
    page_where::<E>(conn, id_column, sea_orm::Condition::all(), after, limit).await
}

/// Like [`page`], among the rows that satisfy `condition` (a list's filters).
pub async fn page_where<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id_column: E::Column,
    condition: sea_orm::Condition,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<E::Model>, Error> {
    let mut query = E::find().filter(condition).order_by_asc(id_column).limit(limit);
    if let Some(after) = after {
        query = query.filter(id_column.gt(after));
    }
    query.all(conn).await.map_err(db_error)
}

/// How a list is ordered: by id (creation order), or by a column then id, either way up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder<C> {
    Id { descending: bool },
    Column { column: C, kind: OrderValue, descending: bool },
}

/// What an order column holds, so that a page token's text becomes a comparable value again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderValue {
    Text,
    Time,
}

/// Where the next page starts: the last row's order value (as text; absent when ordered by id) and id. Encoded in
/// a page token by [`crate::api::paging`]; a token that does not decode is INVALID_ARGUMENT there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    pub value: Option<String>,
    pub id: String,
}

impl Resume {
    /// The token key of this place.
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A place from a token key (`None`: not one of ours, or a key of a list in id order, kept for old tokens).
    pub fn parse(key: &str) -> Option<Self> {
        match serde_json::from_str(key) {
            Ok(resume) => Some(resume),
            // Tokens issued before ordered lists held the bare id.
            Err(_) if !key.starts_with('{') => Some(Self { value: None, id: key.to_owned() }),
            Err(_) => None,
        }
    }
}

/// Like [`page_where`], in `order` (each page resumes after the last row's order value and id, so that rows
/// sharing a value are neither repeated nor skipped). The order column needs an index ending in `id` for a page
/// to be an index range rather than a sort.
pub async fn page_ordered<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id_column: E::Column,
    order: ListOrder<E::Column>,
    condition: sea_orm::Condition,
    after: Option<Resume>,
    limit: u64,
) -> Result<Vec<E::Model>, Error> {
    use sea_orm::Order;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let direction = |descending: bool| if descending { Order::Desc } else { Order::Asc };
    let mut query = E::find().filter(condition).limit(limit);
    match order {
        ListOrder::Id { descending } => {
            query = query.order_by(id_column, direction(descending));
            if let Some(after) = after {
                query = query.filter(if descending { id_column.lt(after.id) } else { id_column.gt(after.id) });
            }
        }
        ListOrder::Column { column, kind, descending } => {
            query = query.order_by(column, direction(descending)).order_by(id_column, direction(descending));
            if let Some(after) = after {
                let text = after.value.unwrap_or_default();
                let value: sea_orm::Value = match kind {
                    OrderValue::Text => text.into(),
                    OrderValue::Time => chrono::DateTime::parse_from_rfc3339(&text)
                        .map_err(|_| Error::invalid("page_token", "is not a token of this list"))?
                        .with_timezone(&chrono::Utc)
                        .into(),
                };
                // A row value, which both engines compare lexicographically and match against the index's
                // leading columns as one range.
                let row = Expr::tuple([Expr::col(column), Expr::col(id_column)]);
                let resume = Expr::tuple([Expr::val(value), Expr::val(after.id)]);
                query = query.filter(if descending { row.lt(resume) } else { row.gt(resume) });
            }
        }
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

/// The children of many parents in one query (e.g. the participants of a page of meetings), grouped by parent
/// in `order_column` order: `parent_of` and `value_of` read a child row.
pub async fn children_of<E: EntityTrait, V>(
    conn: &impl ConnectionTrait,
    parent_column: E::Column,
    order_column: E::Column,
    parent_ids: Vec<String>,
    parent_of: impl Fn(&E::Model) -> String,
    value_of: impl Fn(E::Model) -> V,
) -> Result<std::collections::HashMap<String, Vec<V>>, Error> {
    let mut grouped: std::collections::HashMap<String, Vec<V>> = std::collections::HashMap::new();
    if parent_ids.is_empty() {
        return Ok(grouped);
    }
    let rows = E::find()
        .filter(parent_column.is_in(parent_ids))
        .order_by_asc(parent_column)
        .order_by_asc(order_column)
        .all(conn)
        .await
        .map_err(db_error)?;
    for row in rows {
        grouped.entry(parent_of(&row)).or_default().push(value_of(row));
    }
    Ok(grouped)
}

/// The row `id`, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite transactions of a process
/// are serialised already), so that a concurrent delete or insert that depends on it waits.
pub async fn lock_row<E>(conn: &impl ConnectionTrait, id: String) -> Result<Option<E::Model>, Error>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let query = E::find_by_id(id);
    let query = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => query.lock_exclusive(),
        _ => query,
    };
    query.one(conn).await.map_err(db_error)
}
