//! Creates whose writes travel to the database in one round trip.
//!
//! A create writes several rows that do not depend on one another — the resource, its index rows, its change
//! and its idempotency key. As a transaction that is `BEGIN`, one round trip per row and `COMMIT`; on
//! PostgreSQL each round trip costs as much as the write itself. Here the inserts become one statement of
//! data-modifying CTEs, which PostgreSQL runs atomically in its own implicit transaction: the claim of the
//! idempotency key, then each insert keeping its rows only if the claim succeeded (the statement is built, and
//! concurrent creates are written together, by [`crate::db::group_commit`]).
//!
//! When the idempotency key is already taken nothing else is inserted, and the first create's resource name is
//! looked up and returned instead. A change row written this way gets its `txid` from the statement's own
//! transaction, so the feed's ordering guarantee holds unchanged. SQLite has no network round trip: there the
//! same inserts run in an ordinary write transaction.
use crate::api::error::Error;
use crate::api::validate::RequestId;
use crate::db::group_commit::OwnedClaim;
use crate::db::sql::statement;
use crate::db::{Backend, Db, db_error};
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Value};

/// The statement text of a whole-row insert, by active-model type (see [`Insert::model`]).
static WHOLE_ROWS: std::sync::LazyLock<
    std::sync::RwLock<std::collections::HashMap<std::any::TypeId, std::sync::Arc<str>>>,
> = std::sync::LazyLock::new(Default::default);

/// The most parameters [`Insert::execute_all`] puts in one statement (PostgreSQL allows 65535).
const PARAMETERS_PER_STATEMENT: usize = 30_000;

/// One `INSERT INTO t (…) VALUES (…), …` with `?` placeholders.
#[derive(Debug, Clone)]
pub struct Insert {
    sql: String,
    values: Vec<Value>,
    /// Rows that already exist are left alone (`ON CONFLICT DO NOTHING`): for shared index rows, such as a
    /// search vocabulary, that many resources write.
    ignore_conflicts: bool,
}

/// What follows the rows of an insert that ignores conflicts.
const IGNORE_CONFLICTS: &str = " ON CONFLICT DO NOTHING";

impl Insert {
    /// An insert written by hand: `INSERT INTO t (columns) VALUES (?, …)[, (?, …)]`, nothing after the values.
    pub fn new(sql: impl Into<String>, values: Vec<Value>) -> Self {
        Self { sql: sql.into(), values, ignore_conflicts: false }
    }

    /// This insert, leaving rows that would collide with existing ones alone.
    pub fn ignoring_conflicts(self) -> Self {
        Self { ignore_conflicts: true, ..self }
    }

    /// The statement text as it runs on its own.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        if self.ignore_conflicts { format!("{}{IGNORE_CONFLICTS}", self.sql).into() } else { self.sql.as_str().into() }
    }

    /// The insert of a sea-orm model.
    ///
    /// A model with every column set (a whole row, as `into_active_model` gives) has the same statement text
    /// every time: it is built once per entity and kept, since building it cost more than the rest of a
    /// create's inserts together.
    pub fn model<A>(model: A) -> Self
    where
        A: sea_orm::ActiveModelTrait + 'static,
    {
        let Some(values) = whole_row(&model) else { return Self::built(model) };
        if let Some(sql) = whole_row_text::<A>() {
            return Self::new(sql.to_string(), values);
        }
        let built = Self::built(model);
        // Kept only if the built statement binds exactly the column values in column order (a column whose
        // `save_as` wrote something else would not): then the text fits every whole row of the entity.
        if built.values == values
            && let Ok(mut texts) = WHOLE_ROWS.write()
        {
            texts.insert(std::any::TypeId::of::<A>(), built.sql.as_str().into());
        }
        built
    }

    fn built<A: sea_orm::ActiveModelTrait>(model: A) -> Self {
        // Built for SQLite to get `?` placeholders; the SQL is otherwise the same for both engines.
        let built = <A::Entity as sea_orm::EntityTrait>::insert(model).build(DbBackend::Sqlite);
        Self::new(built.sql, built.values.map(|v| v.0).unwrap_or_default())
    }

    /// The insert of several models of one entity in one statement; `None` when there are none.
    ///
    /// Whole rows repeat the entity's one-row text (see [`Insert::model`]) once per model: building the
    /// statement with sea-query took 5.6% of the scheduling service's CPU under CreateMeeting (ten participant
    /// rows a meeting).
    pub fn models<A, I>(models: I) -> Option<Self>
    where
        A: sea_orm::ActiveModelTrait + 'static,
        I: IntoIterator<Item = A>,
    {
        let models: Vec<A> = models.into_iter().collect();
        let first = models.first()?;
        if let Some(rows) = models.iter().map(whole_row).collect::<Option<Vec<Vec<Value>>>>() {
            // No whole row of `A` built yet: a single insert builds the one-row text and keeps it.
            let one_row = whole_row_text::<A>().or_else(|| {
                Self::model(first.clone());
                whole_row_text::<A>()
            });
            if let Some((head, row)) = one_row.as_deref().and_then(|text| text.split_once(" VALUES ")) {
                let sql = format!("{head} VALUES {}", vec![row; rows.len()].join(", "));
                return Some(Self::new(sql, rows.into_iter().flatten().collect()));
            }
        }
        let built = <A::Entity as sea_orm::EntityTrait>::insert_many(models).build(DbBackend::Sqlite);
        Some(Self::new(built.sql, built.values.map(|v| v.0).unwrap_or_default()))
    }

    /// Runs this insert on `conn` (inside the caller's transaction).
    pub async fn execute(self, conn: &impl ConnectionTrait) -> Result<(), Error> {
        let text = self.text().into_owned();
        conn.execute_raw(statement(conn.get_database_backend(), &text, self.values)).await.map_err(db_error)?;
        Ok(())
    }

    pub(crate) fn values(&self) -> &[Value] {
        &self.values
    }

    /// Runs `inserts` on `conn` (inside the caller's transaction) in as few round trips as it can: on PostgreSQL
    /// statements of data-modifying CTEs, each under [`crate::db::sql::MAX_STATEMENT_BYTES`] (a longer one stalls
    /// on a delayed ACK over TLS) and PostgreSQL's parameter limit, a long insert split by rows; on SQLite (no
    /// network) one after another.
    pub async fn execute_all(conn: &impl ConnectionTrait, inserts: Vec<Insert>) -> Result<(), Error> {
        use crate::db::sql::{MAX_STATEMENT_BYTES, bound_len};
        let backend = conn.get_database_backend();
        if backend != DbBackend::Postgres {
            for insert in inserts {
                insert.execute(conn).await?;
            }
            return Ok(());
        }
        let inserts: Vec<Insert> = inserts.into_iter().flat_map(Insert::split_to_fit).collect();
        let mut batches: Vec<Vec<Insert>> = vec![Vec::new()];
        let (mut params, mut bytes) = (0, 0);
        for insert in inserts {
            let len = bound_len(&insert.values);
            let full = params + insert.values.len() > PARAMETERS_PER_STATEMENT || bytes + len > MAX_STATEMENT_BYTES;
            if full && !batches.last().is_none_or(Vec::is_empty) {
                batches.push(Vec::new());
                (params, bytes) = (0, 0);
            }
            (params, bytes) = (params + insert.values.len(), bytes + len);
            if let Some(batch) = batches.last_mut() {
                batch.push(insert);
            }
        }
        for batch in batches {
            Self::execute_in_one_statement(conn, batch).await?;
        }
        Ok(())
    }

    /// This insert as inserts of consecutive rows, each under [`crate::db::sql::MAX_STATEMENT_BYTES`] (a single row
    /// larger than that stays whole).
    fn split_to_fit(self) -> Vec<Insert> {
        use crate::db::sql::{MAX_STATEMENT_BYTES, bound_len};
        if bound_len(&self.values) <= MAX_STATEMENT_BYTES {
            return vec![self];
        }
        let ignore_conflicts = self.ignore_conflicts;
        let (head, rows): (String, Vec<(String, usize)>) = match self.parts() {
            Ok(parts) => (parts.head.to_owned(), parts.rows.iter().map(|r| (r.text.to_owned(), r.params)).collect()),
            Err(_) => return vec![self],
        };
        let mut values = self.values.into_iter();
        let mut out = Vec::new();
        let (mut texts, mut taken, mut bytes): (Vec<String>, Vec<Value>, usize) = (Vec::new(), Vec::new(), 0);
        for (text, params) in rows {
            let row: Vec<Value> = values.by_ref().take(params).collect();
            let len = bound_len(&row);
            if !texts.is_empty() && bytes + len > MAX_STATEMENT_BYTES {
                out.push(Insert {
                    ignore_conflicts,
                    ..Insert::new(format!("{head} VALUES {}", texts.join(", ")), std::mem::take(&mut taken))
                });
                (texts, bytes) = (Vec::new(), 0);
            }
            texts.push(format!("({text})"));
            taken.extend(row);
            bytes += len;
        }
        if !texts.is_empty() {
            out.push(Insert { ignore_conflicts, ..Insert::new(format!("{head} VALUES {}", texts.join(", ")), taken) });
        }
        out
    }

    async fn execute_in_one_statement(conn: &impl ConnectionTrait, inserts: Vec<Insert>) -> Result<(), Error> {
        let backend = conn.get_database_backend();
        if inserts.len() < 2 {
            for insert in inserts {
                insert.execute(conn).await?;
            }
            return Ok(());
        }
        let mut sql = String::from("WITH ");
        let mut values = Vec::with_capacity(inserts.iter().map(|i| i.values.len()).sum());
        let last = inserts.len() - 1;
        for (index, insert) in inserts.into_iter().enumerate() {
            if index == last {
                sql.push(' ');
                sql.push_str(&insert.text());
            } else {
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("w{index} AS ({})", insert.text()));
            }
            values.extend(insert.values);
        }
        conn.execute_raw(statement(backend, &sql, values)).await.map_err(db_error)?;
        Ok(())
    }

    /// The target (`INSERT INTO t (columns)`), its columns and its rows, for merging with other inserts.
    pub(crate) fn parts(&self) -> Result<Parts<'_>, Error> {
        let malformed = || Error::Internal(format!("not an INSERT INTO t (…) VALUES (…), …: {}", self.sql));
        let (head, rows) = self.sql.split_once(" VALUES ").ok_or_else(malformed)?;
        let (open, close) = (head.find('(').ok_or_else(malformed)?, head.rfind(')').ok_or_else(malformed)?);
        if close < open {
            return Err(malformed());
        }
        let rows = split_rows(rows).ok_or_else(malformed)?;
        if rows.iter().map(|row| row.params).sum::<usize>() != self.values.len() {
            return Err(malformed());
        }
        Ok(Parts { head, columns: head[open + 1..close].trim(), rows, ignore_conflicts: self.ignore_conflicts })
    }
}

/// The values of `model` in column order if every column is set (a whole row), else `None`.
fn whole_row<A: sea_orm::ActiveModelTrait>(model: &A) -> Option<Vec<Value>> {
    use sea_orm::{ActiveValue, Iterable};
    <A::Entity as sea_orm::EntityTrait>::Column::iter()
        .map(|column| match model.get(column) {
            ActiveValue::Set(value) | ActiveValue::Unchanged(value) => Some(value),
            ActiveValue::NotSet => None,
        })
        .collect()
}

/// The one-row text kept for whole rows of `A`, once a whole row of it was built.
fn whole_row_text<A: 'static>() -> Option<std::sync::Arc<str>> {
    WHOLE_ROWS.read().ok().and_then(|texts| texts.get(&std::any::TypeId::of::<A>()).cloned())
}

/// An insert taken apart; see [`Insert::parts`].
pub(crate) struct Parts<'a> {
    pub(crate) head: &'a str,
    pub(crate) columns: &'a str,
    pub(crate) rows: Vec<Row<'a>>,
    pub(crate) ignore_conflicts: bool,
}

/// One row of `VALUES`: the text between its parentheses and how many placeholders it holds.
pub(crate) struct Row<'a> {
    pub(crate) text: &'a str,
    pub(crate) params: usize,
}

/// `(…), (…)` → its rows; `None` if anything but rows follows `VALUES`.
fn split_rows(text: &str) -> Option<Vec<Row<'_>>> {
    let mut rows = Vec::new();
    let (mut depth, mut start, mut params, mut quoted) = (0usize, 0usize, 0usize, false);
    for (i, c) in text.char_indices() {
        if quoted {
            // A doubled quote inside a literal closes and reopens it, which comes to the same.
            quoted = c != '\'';
            continue;
        }
        match c {
            '\'' => quoted = true,
            '(' => {
                if depth == 0 {
                    (start, params) = (i + 1, 0);
                }
                depth += 1;
            }
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    rows.push(Row { text: &text[start..i], params });
                }
            }
            '?' if depth > 0 => params += 1,
            ',' | ' ' | '\n' if depth == 0 => {}
            _ if depth == 0 => return None,
            _ => {}
        }
    }
    (depth == 0 && !quoted && !rows.is_empty()).then_some(rows)
}

/// The idempotency key a create claims.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub method: &'a str,
    pub request_id: &'a RequestId,
    pub fingerprint: &'a str,
    pub resource_name: &'a str,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The rows were written.
    Fresh,
    /// The request id was used before; nothing was written. The name of the resource created then.
    Replay(String),
}

/// Writes `inserts` atomically, claiming `claim` first if given.
pub async fn create(db: &Db, claim: Option<Claim<'_>>, inserts: Vec<Insert>) -> Result<Created, Error> {
    match db.backend() {
        Backend::Postgres => create_in_one_statement(db, claim, inserts).await,
        Backend::Sqlite => {
            let txn = db.begin_write().await?;
            if let Some(c) = claim
                && let Some(existing) =
                    crate::db::idempotency::claim(&*txn, c.method, Some(c.request_id), c.fingerprint, c.resource_name)
                        .await?
            {
                return Ok(Created::Replay(existing));
            }
            for insert in inserts {
                insert.execute(&*txn).await?;
            }
            txn.commit().await?;
            Ok(Created::Fresh)
        }
    }
}

/// [`create`] for a resource `name` created by `method`, keyed by an optional `request_id`: `None` when the rows
/// were written, the name of the first resource when the request id was used before.
pub async fn create_named<C: crate::api::names::Collection>(
    db: &Db,
    method: &str,
    request_id: Option<&RequestId>,
    fingerprint: &str,
    name: &crate::api::names::Name<C>,
    inserts: Vec<Insert>,
) -> Result<Option<crate::api::names::Name<C>>, Error> {
    let resource_name = name.to_string();
    let claim = request_id.map(|request_id| Claim { method, request_id, fingerprint, resource_name: &resource_name });
    match create(db, claim, inserts).await? {
        Created::Fresh => Ok(None),
        Created::Replay(existing) => crate::api::names::Name::parse("stored name", &existing)
            .map(Some)
            .map_err(|v| Error::Internal(format!("stored idempotency key names '{existing}': {}", v.description))),
    }
}

async fn create_in_one_statement(db: &Db, claim: Option<Claim<'_>>, inserts: Vec<Insert>) -> Result<Created, Error> {
    let owned = claim.map(|c| OwnedClaim {
        method: c.method.to_owned(),
        request_id: c.request_id.as_str().to_owned(),
        fingerprint: c.fingerprint.to_owned(),
        resource_name: c.resource_name.to_owned(),
    });
    let wrote = db.group_commit().write(owned, inserts).await?;
    match claim {
        Some(c) if !wrote => {
            match crate::db::idempotency::lookup(db.conn(), c.method, c.request_id, c.fingerprint).await? {
                Some(existing) => Ok(Created::Replay(existing)),
                None => Err(Error::Internal("idempotency key vanished after a conflict".into())),
            }
        }
        _ => Ok(Created::Fresh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_insert_is_split_by_rows_under_the_statement_limit() {
        let row = "x".repeat(1000);
        let rows = 40;
        let values: Vec<Value> = (0..rows).flat_map(|i| [Value::from(i), Value::from(row.clone())]).collect();
        let sql = format!("INSERT INTO t (a, b) VALUES {}", vec!["(?, ?)"; rows as usize].join(", "));
        let parts = Insert::new(sql, values.clone()).split_to_fit();
        assert!(parts.len() >= 3, "{} parts", parts.len());
        let mut again: Vec<Value> = Vec::new();
        for part in &parts {
            assert!(crate::db::sql::bound_len(&part.values) <= crate::db::sql::MAX_STATEMENT_BYTES);
            assert!(part.sql.starts_with("INSERT INTO t (a, b) VALUES (?, ?)"), "{}", part.sql);
            assert_eq!(part.sql.matches("(?, ?)").count() * 2, part.values.len());
            again.extend(part.values.iter().cloned());
        }
        assert_eq!(again, values, "every row once, in order");
        let small = Insert::new("INSERT INTO t (a) VALUES (?)", vec![1.into()]);
        assert_eq!(small.clone().split_to_fit().len(), 1);
    }

    #[test]
    fn an_insert_comes_apart_into_target_columns_and_rows() {
        let insert = Insert::new(
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, 'x(?'')'), (lower(?), ?)",
            vec![1.into(), 2.into(), 3.into()],
        );
        let parts = insert.parts().expect("parts");
        assert_eq!(parts.head, "INSERT INTO \"t\" (\"a\", \"b\")");
        assert_eq!(parts.columns, "\"a\", \"b\"");
        let rows: Vec<(&str, usize)> = parts.rows.iter().map(|r| (r.text, r.params)).collect();
        assert_eq!(rows, vec![("?, 'x(?'')'", 1), ("lower(?), ?", 2)]);
    }

    #[test]
    fn an_insert_with_a_tail_or_miscounted_values_does_not_come_apart() {
        let tail = Insert::new("INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING", vec![1.into()]);
        assert!(tail.parts().is_err());
        let miscounted = Insert::new("INSERT INTO t (a) VALUES (?)", vec![1.into(), 2.into()]);
        assert!(miscounted.parts().is_err());
        assert!(Insert::new("INSERT INTO t (a) VALUES (?", vec![1.into()]).parts().is_err());
    }

    // sea-orm's derives expect a public entity; it is reachable only from these tests.
    #[allow(unreachable_pub)]
    mod row {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "rows")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub size: i64,
            pub note: Option<String>,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    #[test]
    fn a_whole_row_insert_reuses_its_text_and_binds_what_sea_query_would() {
        use sea_orm::{ActiveValue, IntoActiveModel};
        let model = |id: &str, size: i64| row::Model { id: id.into(), size, note: None }.into_active_model();
        let first = Insert::model(model("a", 1));
        let second = Insert::model(model("b", 2));
        assert_eq!(first.sql, "INSERT INTO \"rows\" (\"id\", \"size\", \"note\") VALUES (?, ?, ?)");
        assert_eq!(second.sql, first.sql);
        assert_eq!(second.values, Insert::built(model("b", 2)).values);
        assert_eq!(second.values, vec!["b".into(), 2i64.into(), Value::String(None)]);

        // A model with a column left unset is built as it is, without that column.
        let partial =
            row::ActiveModel { id: ActiveValue::Set("c".into()), size: ActiveValue::Set(3), ..Default::default() };
        let partial = Insert::model(partial);
        assert_eq!(partial.sql, "INSERT INTO \"rows\" (\"id\", \"size\") VALUES (?, ?)");
        assert_eq!(partial.values, vec!["c".into(), 3i64.into()]);
        assert_eq!(Insert::model(model("d", 4)).sql, first.sql, "the partial text was not kept for whole rows");
    }

    #[test]
    fn whole_rows_together_repeat_the_one_row_text_and_bind_what_sea_query_would() {
        use sea_orm::{ActiveValue, EntityTrait, IntoActiveModel};
        let model = |id: &str, size: i64, note: Option<&str>| {
            row::Model { id: id.into(), size, note: note.map(Into::into) }.into_active_model()
        };
        let rows = || vec![model("a", 1, None), model("b", 2, Some("x")), model("c", 3, None)];
        let together = Insert::models(rows()).expect("three rows");
        assert_eq!(
            together.sql,
            "INSERT INTO \"rows\" (\"id\", \"size\", \"note\") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"
        );
        let by_sea_query = row::Entity::insert_many(rows()).build(DbBackend::Sqlite);
        assert_eq!(together.sql, by_sea_query.sql);
        assert_eq!(together.values, by_sea_query.values.map(|v| v.0).unwrap_or_default());
        assert_eq!(together.parts().expect("parts").rows.len(), 3);

        // Rows with a column left unset are built by sea-query as they are.
        let partial = |id: &str| row::ActiveModel { id: ActiveValue::Set(id.into()), ..Default::default() };
        let built = Insert::models([partial("d"), partial("e")]).expect("two rows");
        assert_eq!(built.sql, "INSERT INTO \"rows\" (\"id\") VALUES (?), (?)");
        assert!(Insert::models(Vec::<row::ActiveModel>::new()).is_none());
    }
}
