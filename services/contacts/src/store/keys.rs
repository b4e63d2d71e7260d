//! `contact_keys`: every email address, phone number, vCard UID and name key (see `domain::duplicates::name_key`)
//! of every contact that is neither deleted nor merged, so that import matching and duplicate detection find
//! contacts sharing one with an index lookup. Rewritten in the same transaction as every change to a contact.
use super::entity::contact;
use crate::domain::channels::Channels;
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::sql::statement;
use sea_orm::{ConnectionTrait, FromQueryResult};

/// The keys of a contact: `email:{address}`, `phone:{e164}`, `uid:{uid}`, `name:{name key}`.
pub fn of(model: &contact::Model) -> Vec<String> {
    if model.delete_time.is_some() || model.merged_into.is_some() {
        return Vec::new();
    }
    let emails: Channels = serde_json::from_str(&model.emails).unwrap_or_default();
    let phones: Channels = serde_json::from_str(&model.phones).unwrap_or_default();
    let mut keys: Vec<String> = emails
        .values()
        .map(|e| format!("email:{}", e.to_lowercase()))
        .chain(phones.values().map(|p| format!("phone:{p}")))
        .collect();
    if !model.uid.is_empty() {
        keys.push(format!("uid:{}", model.uid));
    }
    let name = crate::domain::duplicates::name_key(&model.display_name);
    if !name.is_empty() {
        keys.push(format!("name:{name}"));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The insert of the keys of a new contact (none if it has none).
pub fn insert(model: &contact::Model) -> Option<liaison_runtime::db::single_trip::Insert> {
    let keys = of(model);
    if keys.is_empty() {
        return None;
    }
    let placeholders = vec!["(?, ?)"; keys.len()].join(", ");
    let values = keys.into_iter().flat_map(|k| [model.id.clone().into(), k.into()]).collect();
    Some(liaison_runtime::db::single_trip::Insert::new(
        format!("INSERT INTO contact_keys (contact_id, key) VALUES {placeholders}"),
        values,
    ))
}

/// Replaces the stored keys of `model` with its current ones, and its search postings (`super::terms`): every
/// change to a contact comes through here.
pub async fn replace(conn: &impl ConnectionTrait, model: &contact::Model) -> Result<(), Error> {
    super::terms::replace(conn, model).await?;
    let backend = conn.get_database_backend();
    conn.execute_raw(statement(backend, "DELETE FROM contact_keys WHERE contact_id = ?", [model.id.clone().into()]))
        .await
        .map_err(db_error)?;
    let keys = of(model);
    if keys.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["(?, ?)"; keys.len()].join(", ");
    let values = keys.into_iter().flat_map(|k| [model.id.clone().into(), k.into()]);
    conn.execute_raw(statement(
        backend,
        &format!("INSERT INTO contact_keys (contact_id, key) VALUES {placeholders}"),
        values,
    ))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// `(key, contact id)` for up to `per_key` live contacts holding each of `keys` — enough to tell a shared
/// address from a switchboard number without reading every holder of a common one.
pub async fn some_holders(
    conn: &impl ConnectionTrait,
    keys: &[String],
    per_key: usize,
) -> Result<Vec<(String, String)>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let one = format!("SELECT * FROM (SELECT contact_id, key FROM contact_keys WHERE key = ? LIMIT {per_key}) AS k");
    let sql =
        (0..keys.len()).map(|i| one.replace(" AS k", &format!(" AS k{i}"))).collect::<Vec<_>>().join(" UNION ALL ");
    let rows =
        KeyRow::find_by_statement(statement(conn.get_database_backend(), &sql, keys.iter().map(|k| k.clone().into())))
            .all(conn)
            .await
            .map_err(db_error)?;
    Ok(rows.into_iter().map(|r| (r.key, r.contact_id)).collect())
}

/// Adds the name keys of the live contacts stored before name keys existed (the search-index migration).
pub async fn add_name_keys(conn: &impl ConnectionTrait) -> Result<(), Error> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut after = String::new();
    loop {
        let page: Vec<(String, String)> = contact::Entity::find()
            .select_only()
            .columns([contact::Column::Id, contact::Column::DisplayName])
            .filter(contact::Column::Id.gt(after.clone()))
            .filter(contact::Column::DeleteTime.is_null())
            .filter(contact::Column::MergedInto.is_null())
            .order_by_asc(contact::Column::Id)
            .limit(500)
            .into_tuple()
            .all(conn)
            .await
            .map_err(db_error)?;
        let Some((last, _)) = page.last() else { return Ok(()) };
        after = last.clone();
        let rows: Vec<(String, String)> = page
            .into_iter()
            .map(|(id, name)| (id, crate::domain::duplicates::name_key(&name)))
            .filter(|(_, key)| !key.is_empty())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let placeholders = vec!["(?, ?)"; rows.len()].join(", ");
        conn.execute_raw(statement(
            conn.get_database_backend(),
            &format!("INSERT INTO contact_keys (contact_id, key) VALUES {placeholders}"),
            rows.into_iter().flat_map(|(id, key)| [id.into(), format!("name:{key}").into()]),
        ))
        .await
        .map_err(db_error)?;
    }
}

#[derive(Debug, FromQueryResult)]
struct KeyRow {
    contact_id: String,
    key: String,
}

/// `(key, contact id)` for every live contact holding one of `keys`, in key then id order.
pub async fn holders(conn: &impl ConnectionTrait, keys: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut found = Vec::new();
    for chunk in keys.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let rows = KeyRow::find_by_statement(statement(
            conn.get_database_backend(),
            &format!("SELECT contact_id, key FROM contact_keys WHERE key IN ({placeholders}) ORDER BY key, contact_id"),
            chunk.iter().map(|k| k.clone().into()),
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        found.extend(rows.into_iter().map(|r| (r.key, r.contact_id)));
    }
    Ok(found)
}

/// Keys held by more than one live contact, with their holders: the candidates of duplicate detection.
pub async fn shared(conn: &impl ConnectionTrait) -> Result<Vec<(String, String)>, Error> {
    let rows = KeyRow::find_by_statement(statement(
        conn.get_database_backend(),
        "SELECT contact_id, key FROM contact_keys WHERE key IN \
         (SELECT key FROM contact_keys WHERE key NOT LIKE 'uid:%' AND key NOT LIKE 'name:%' GROUP BY key \
         HAVING COUNT(*) > 1) \
         ORDER BY key, contact_id",
        std::iter::empty::<sea_orm::Value>(),
    ))
    .all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(|r| (r.key, r.contact_id)).collect())
}
