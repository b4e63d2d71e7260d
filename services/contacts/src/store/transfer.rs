//! Import writes, a batch of records at a time: one lookup of every UID and email the batch carries, one
//! transaction, and multi-row statements for the contacts, their `contact_keys` and their change-feed rows, so
//! that ten thousand records take seconds. An [`Importer`] remembers the contacts it created or changed that are
//! not committed yet (in a dry run: all of them), so that a record matching an earlier record of the same file
//! (same UID or email) is handled the same way whether or not that record was written: the second matches the
//! first.
use super::contacts::apply_contact_fields;
use super::entity::contact;
use super::{Store, keys};
use crate::domain::transfer::{DuplicatePolicy, ValidRecord};
use crate::resource;
use liaison_proto::common::v1::ChangeKind;
use liaison_proto::contacts::v1::Contact;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::db::db_error;
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::db::sql::statement;
use liaison_runtime::{Error, api::time, feed};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{HashMap, HashSet};

/// Contact rows per multi-row statement (27 columns each: under SQLite's 32766 parameters).
const ROWS_PER_STATEMENT: usize = 500;
/// `contact_keys` rows per statement.
const KEYS_PER_STATEMENT: usize = 5000;
/// Serialises the match-then-write of concurrent imports, so two imports of the same UID cannot both create it.
const IMPORT_LOCK: &str = "contacts.import";

/// What happened to a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Skipped,
}

/// The decision on one valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// `contacts/{id}`; empty for a contact that a dry run would create (and one matching it).
    pub contact: String,
    pub reason: String,
    pub warnings: Vec<String>,
}

/// One import: its policy, whether it writes, and the contacts it touched that the database does not show yet.
#[derive(Debug)]
pub struct Importer {
    store: Store,
    policy: DuplicatePolicy,
    dry_run: bool,
    /// Contacts created or changed by this import and not committed (in a dry run: all), by id.
    uncommitted: HashMap<String, contact::Model>,
    /// The keys of `uncommitted` contacts: key → id.
    uncommitted_keys: HashMap<String, String>,
    /// The record that created each contact of this import, by id.
    created_by: HashMap<String, u32>,
}

/// The writes of one batch, in the order the records asked for them.
#[derive(Debug, Default)]
struct Writes {
    /// The final state of every contact the batch creates or changes, in first-touched order.
    models: Vec<contact::Model>,
    position: HashMap<String, usize>,
    /// Ids of contacts that exist in the database (the rest are inserted).
    existing: HashSet<String>,
    changes: Vec<(String, ChangeKind, Contact)>,
}

impl Writes {
    fn record(&mut self, model: &contact::Model, kind: ChangeKind, existed: bool) {
        let wire = resource::contact(model);
        self.changes.push((wire.name.clone(), kind, wire));
        if existed {
            self.existing.insert(model.id.clone());
        }
        match self.position.get(&model.id) {
            Some(&at) => self.models[at] = model.clone(),
            None => {
                self.position.insert(model.id.clone(), self.models.len());
                self.models.push(model.clone());
            }
        }
    }
}

/// Whether two states of a contact differ in a field a client sets. The stored columns decide when they are
/// equal or a plain one differs; JSON columns that differ only in their text (a row written by an older version)
/// are compared as the API shows them.
fn fields_differ(a: &contact::Model, b: &contact::Model) -> bool {
    type Plain<'a> = ((&'a str, &'a str, &'a str, &'a str, &'a str, &'a str), (&'a str, i32, &'a str, bool));
    fn plain(m: &contact::Model) -> Plain<'_> {
        (
            (&m.display_name, &m.given_name, &m.family_name, &m.email, &m.phone, &m.time_zone),
            (&m.notes, m.preferred_channel, &m.labels, m.do_not_contact),
        )
    }
    fn json(m: &contact::Model) -> [&str; 5] {
        [&m.emails, &m.phones, &m.languages, &m.working_hours, &m.consent]
    }
    if plain(a) != plain(b) {
        return true;
    }
    json(a) != json(b) && settable(a) != settable(b)
}

/// The fields a client sets, as the API shows them.
fn settable(model: &contact::Model) -> Contact {
    let c = resource::contact(model);
    Contact {
        display_name: c.display_name,
        given_name: c.given_name,
        family_name: c.family_name,
        email: c.email,
        phone: c.phone,
        time_zone: c.time_zone,
        notes: c.notes,
        emails: c.emails,
        phones: c.phones,
        preferred_channel: c.preferred_channel,
        languages: c.languages,
        working_hours: c.working_hours,
        labels: c.labels,
        consent: c.consent,
        ..Contact::default()
    }
}

/// The keys a record is matched by, in priority order: its UID, then its emails.
fn match_keys(record: &ValidRecord) -> Vec<String> {
    record
        .uid
        .iter()
        .map(|uid| format!("uid:{uid}"))
        .chain(record.fields.emails.values().map(|e| format!("email:{}", e.to_lowercase())))
        .collect()
}

impl Store {
    /// Starts an import.
    pub fn importer(&self, policy: DuplicatePolicy, dry_run: bool) -> Importer {
        Importer {
            store: self.clone(),
            policy,
            dry_run,
            uncommitted: HashMap::new(),
            uncommitted_keys: HashMap::new(),
            created_by: HashMap::new(),
        }
    }
}

impl Importer {
    /// Whether this import only reports what it would do.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Matches and writes a batch of valid records (`(record number, record)`, in file order) in one
    /// transaction; in a dry run decides the same and writes nothing.
    pub async fn write_batch(&mut self, batch: Vec<(u32, ValidRecord)>) -> Result<Vec<(u32, Decision)>, Error> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if self.dry_run {
            let conn = self.store.db.conn().clone();
            let (decisions, _) = self.decide(&conn, batch).await?;
            return Ok(decisions);
        }
        let txn = self.store.db.begin_write().await?;
        liaison_runtime::db::xact_lock(&*txn, IMPORT_LOCK).await?;
        let (decisions, writes) = self.decide(&*txn, batch).await?;
        write(&*txn, &writes).await?;
        txn.commit().await?;
        // Committed: from now on the database shows these contacts as they are.
        self.uncommitted.clear();
        self.uncommitted_keys.clear();
        Ok(decisions)
    }

    async fn decide(
        &mut self,
        conn: &impl ConnectionTrait,
        batch: Vec<(u32, ValidRecord)>,
    ) -> Result<(Vec<(u32, Decision)>, Writes), Error> {
        let mut wanted: Vec<String> = batch.iter().flat_map(|(_, r)| match_keys(r)).collect();
        wanted.sort();
        wanted.dedup();
        // key → the oldest live holder the database shows, unless this import holds the contact (its keys are
        // then those in `uncommitted_keys`).
        let mut stored: HashMap<String, String> = HashMap::new();
        for (key, id) in keys::holders(conn, &wanted).await? {
            if !self.uncommitted.contains_key(&id) {
                stored.entry(key).or_insert(id);
            }
        }
        let current = if self.policy == DuplicatePolicy::Update {
            let ids: Vec<String> = stored.values().cloned().collect::<HashSet<_>>().into_iter().collect();
            load_live(conn, ids, !self.dry_run).await?
        } else {
            HashMap::new()
        };
        let now = time::now();
        let mut writes = Writes::default();
        let mut decisions = Vec::with_capacity(batch.len());
        for (number, record) in batch {
            let keys = match_keys(&record);
            // What an earlier record of this batch changed is matched by its new keys only.
            let found = keys.iter().find_map(|key| {
                let stored = stored.get(key).filter(|id| !self.uncommitted.contains_key(*id));
                let id = self.uncommitted_keys.get(key).or(stored)?;
                Some((id.clone(), key.clone()))
            });
            let decision = match (self.policy, found) {
                (DuplicatePolicy::Skip, Some((id, key))) => Decision {
                    action: Action::Skipped,
                    contact: self.visible_name(&id),
                    reason: self.matches(&id, &key),
                    warnings: record.warnings,
                },
                (DuplicatePolicy::Update, Some((id, key)))
                    if self.uncommitted.contains_key(&id) || current.contains_key(&id) =>
                {
                    let before = self.uncommitted.get(&id).or_else(|| current.get(&id)).cloned().unwrap_or_default();
                    let warnings = record.warnings;
                    let mut after = before.clone();
                    apply_contact_fields(&mut after, record.fields);
                    if !fields_differ(&before, &after) {
                        Decision {
                            action: Action::Skipped,
                            contact: self.visible_name(&id),
                            reason: format!("unchanged: {}", self.matches(&id, &key)),
                            warnings,
                        }
                    } else {
                        after.revision = before.revision + 1;
                        after.update_time = now;
                        let existed = current.contains_key(&id) || writes.existing.contains(&id);
                        self.remember(Some(&before), &after);
                        writes.record(&after, ChangeKind::Updated, existed);
                        Decision {
                            action: Action::Updated,
                            contact: self.visible_name(&id),
                            reason: self.matches(&id, &key),
                            warnings,
                        }
                    }
                }
                // CREATE, no match, or (UPDATE) a match deleted or merged since it was looked up.
                (_, found) => {
                    let (model, warnings) = self.new_contact(number, record, found.as_ref(), now);
                    writes.record(&model, ChangeKind::Created, false);
                    Decision {
                        action: Action::Created,
                        contact: self.visible_name(&model.id),
                        reason: String::new(),
                        warnings,
                    }
                }
            };
            decisions.push((number, decision));
        }
        Ok((decisions, writes))
    }

    /// A contact for a record that creates one. A UID already held (by a contact or an earlier record) is not
    /// given twice: the new contact gets `urn:uuid:{id}`.
    fn new_contact(
        &mut self,
        number: u32,
        record: ValidRecord,
        found: Option<&(String, String)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (contact::Model, Vec<String>) {
        let id = Name::<Contacts>::generate().key();
        let mut warnings = record.warnings;
        if record.uid.is_none() && record.fields.emails.as_slice().is_empty() {
            warnings.push("no UID and no email to match it by: importing the file again creates it again".into());
        }
        let uid = match (record.uid, found) {
            (Some(uid), Some((holder, key))) if key.starts_with("uid:") => {
                warnings.push(format!("UID {uid} is {}: the new contact has a UID of its own", self.held_by(holder)));
                format!("urn:uuid:{id}")
            }
            (Some(uid), _) => uid,
            (None, _) => format!("urn:uuid:{id}"),
        };
        let mut model = contact::Model {
            id: id.clone(),
            uid,
            revision: 1,
            create_time: now,
            update_time: now,
            ..contact::Model::default()
        };
        apply_contact_fields(&mut model, record.fields);
        self.remember(None, &model);
        self.created_by.insert(id, number);
        (model, warnings)
    }

    /// Records that this import now holds `after` (replacing `before`'s keys).
    fn remember(&mut self, before: Option<&contact::Model>, after: &contact::Model) {
        if let Some(before) = before {
            for key in keys::of(before) {
                if self.uncommitted_keys.get(&key) == Some(&before.id) {
                    self.uncommitted_keys.remove(&key);
                }
            }
        }
        for key in keys::of(after) {
            self.uncommitted_keys.insert(key, after.id.clone());
        }
        self.uncommitted.insert(after.id.clone(), after.clone());
    }

    /// The name to report for a contact: empty for one that only a dry run created.
    fn visible_name(&self, id: &str) -> String {
        if self.dry_run && self.created_by.contains_key(id) { String::new() } else { resource::contact_name(id) }
    }

    fn held_by(&self, id: &str) -> String {
        match self.created_by.get(id) {
            Some(record) => format!("already given to record {record} of this file"),
            None => format!("held by {}", resource::contact_name(id)),
        }
    }

    /// Why a record matched: `matches contacts/… by email a@b.org` or `matches record 3 of this file by …`.
    fn matches(&self, id: &str, key: &str) -> String {
        let (kind, value) = key.split_once(':').unwrap_or(("key", key));
        match self.created_by.get(id) {
            Some(record) => format!("matches record {record} of this file by {kind} {value}"),
            None => format!("matches {} by {kind} {value}", resource::contact_name(id)),
        }
    }
}

/// Live contacts by id (locked until the transaction ends on PostgreSQL when `lock`), in one query per 500.
async fn load_live(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
    lock: bool,
) -> Result<HashMap<String, contact::Model>, Error> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        // In id order, so that two transactions locking overlapping sets cannot deadlock.
        let mut query = contact::Entity::find()
            .order_by_asc(contact::Column::Id)
            .filter(contact::Column::Id.is_in(chunk.to_vec()))
            .filter(contact::Column::DeleteTime.is_null())
            .filter(contact::Column::MergedInto.is_null());
        if lock && conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        found.extend(query.all(conn).await.map_err(db_error)?.into_iter().map(|m| (m.id.clone(), m)));
    }
    Ok(found)
}

/// The columns an import rewrites on an existing contact.
const UPDATED_COLUMNS: [contact::Column; 18] = [
    contact::Column::DisplayName,
    contact::Column::GivenName,
    contact::Column::FamilyName,
    contact::Column::Email,
    contact::Column::Phone,
    contact::Column::TimeZone,
    contact::Column::Notes,
    contact::Column::Emails,
    contact::Column::Phones,
    contact::Column::PreferredChannel,
    contact::Column::Languages,
    contact::Column::WorkingHours,
    contact::Column::Labels,
    contact::Column::Consent,
    contact::Column::DoNotContact,
    contact::Column::SearchText,
    contact::Column::Revision,
    contact::Column::UpdateTime,
];

/// Writes a batch: new contacts with multi-row inserts, changed ones with multi-row upserts (their rows are
/// locked), then their keys, then one change row per creation and update, in record order.
async fn write(conn: &impl ConnectionTrait, writes: &Writes) -> Result<(), Error> {
    let (existing, new): (Vec<&contact::Model>, Vec<&contact::Model>) =
        writes.models.iter().partition(|m| writes.existing.contains(&m.id));
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        contact::Entity::insert_many(chunk.iter().map(|m| (*m).clone().into_active_model()))
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    for chunk in existing.chunks(ROWS_PER_STATEMENT) {
        contact::Entity::insert_many(chunk.iter().map(|m| (*m).clone().into_active_model()))
            .on_conflict(OnConflict::column(contact::Column::Id).update_columns(UPDATED_COLUMNS).to_owned())
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    let backend = conn.get_database_backend();
    for chunk in existing.chunks(ROWS_PER_STATEMENT) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        conn.execute_raw(statement(
            backend,
            &format!("DELETE FROM contact_keys WHERE contact_id IN ({placeholders})"),
            chunk.iter().map(|m| m.id.clone().into()),
        ))
        .await
        .map_err(db_error)?;
    }
    let existing_ids: Vec<String> = existing.iter().map(|m| m.id.clone()).collect();
    super::terms::remove(conn, &existing_ids).await?;
    Insert::execute_all(conn, super::terms::inserts(&writes.models)).await?;
    let rows: Vec<(String, String)> =
        writes.models.iter().flat_map(|m| keys::of(m).into_iter().map(|k| (m.id.clone(), k))).collect();
    for chunk in rows.chunks(KEYS_PER_STATEMENT) {
        let placeholders = vec!["(?, ?)"; chunk.len()].join(", ");
        conn.execute_raw(statement(
            backend,
            &format!("INSERT INTO contact_keys (contact_id, key) VALUES {placeholders}"),
            chunk.iter().flat_map(|(id, key)| [id.clone().into(), key.clone().into()]),
        ))
        .await
        .map_err(db_error)?;
    }
    feed::append_many(conn, &liaison_runtime::db::resource::type_name::<contact::Model>(), &writes.changes).await
}
