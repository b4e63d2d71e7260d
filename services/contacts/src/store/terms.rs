//! The search index (see `domain::search` for what goes in it), as four tables:
//!
//! - `contact_terms (term, contact_id, fields)`: the postings of every contact that is neither deleted nor
//!   merged, with the fields each term comes from; rewritten in the transaction of every change to a contact,
//!   like `contact_keys`.
//! - `organization_terms (term, organization_id)`: the words of every organisation's name.
//! - `search_vocabulary (term)`: every term ever indexed, for prefix expansion (a range scan over distinct
//!   words rather than over postings).
//! - `search_typos (key, term)`: each vocabulary word of at least four letters under each of its one-letter
//!   deletions, for typo matching.
//!
//! The vocabulary only grows: a word nobody carries any more costs a lookup that finds no postings, while
//! removing it would take a count kept under concurrent writes. Terms compare byte-wise on both engines
//! (BINARY in SQLite, `COLLATE "C"` in PostgreSQL) so that a prefix is one index range.
use super::entity::{contact, organization};
use crate::domain::channels::Channels;
use crate::domain::search;
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::single_trip::Insert;
use liaison_runtime::db::sql::statement;
use sea_orm::{ConnectionTrait, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The postings of a contact: `term → fields`; none for a deleted or merged contact.
pub fn of(model: &contact::Model) -> BTreeMap<String, i32> {
    if model.delete_time.is_some() || model.merged_into.is_some() {
        return BTreeMap::new();
    }
    let emails: Channels = serde_json::from_str(&model.emails).unwrap_or_default();
    let phones: Channels = serde_json::from_str(&model.phones).unwrap_or_default();
    search::contact_terms(
        [&model.display_name, &model.given_name, &model.family_name],
        emails.values(),
        phones.values(),
    )
}

/// The inserts that index new contacts (their postings, and their words in the vocabulary).
pub fn inserts<'a>(models: impl IntoIterator<Item = &'a contact::Model>) -> Vec<Insert> {
    inserts_knowing(models, &KnownWords::default()).0
}

/// [`inserts`] without the vocabulary rows of words `known` holds; with the words to [`KnownWords::learn`] once
/// the inserts are committed.
pub fn inserts_knowing<'a>(
    models: impl IntoIterator<Item = &'a contact::Model>,
    known: &KnownWords,
) -> (Vec<Insert>, Vec<String>) {
    let mut postings: Vec<Value> = Vec::new();
    let mut words = BTreeSet::new();
    for model in models {
        for (term, fields) in of(model) {
            postings.extend([term.clone().into(), model.id.clone().into(), fields.into()]);
            words.insert(term);
        }
    }
    let new_words = known.unknown(words);
    let mut inserts = Vec::new();
    inserts.extend(rows("INSERT INTO contact_terms (term, contact_id, fields)", 3, postings));
    inserts.extend(vocabulary(new_words.iter().cloned()));
    (inserts, new_words)
}

/// Words known to be in the vocabulary of one database, with their typo keys, so that a write need not send
/// their rows again: the vocabulary only grows, so a word once committed stays. A word is learnt only after the
/// write that carried it committed. Bounded: when full it is emptied, and fills again as words are written.
#[derive(Debug, Default)]
pub struct KnownWords {
    words: std::sync::RwLock<std::collections::HashSet<String, foldhash::fast::RandomState>>,
}

/// Words kept at most (about 64 bytes each with the set's overhead: ~13 MiB).
const KNOWN_WORDS_MAX: usize = 200_000;

impl KnownWords {
    /// Those of `words` not known to be in the vocabulary.
    fn unknown(&self, words: impl IntoIterator<Item = String>) -> Vec<String> {
        let Ok(known) = self.words.read() else { return words.into_iter().collect() };
        words.into_iter().filter(|word| !known.contains(word)).collect()
    }

    /// Remembers `words` as committed to the vocabulary.
    pub fn learn(&self, words: Vec<String>) {
        if words.is_empty() {
            return;
        }
        let Ok(mut known) = self.words.write() else { return };
        if known.len() + words.len() > KNOWN_WORDS_MAX {
            known.clear();
        }
        known.extend(words);
    }
}

/// Replaces the postings of `model` with its current ones.
pub async fn replace(conn: &impl ConnectionTrait, model: &contact::Model) -> Result<(), Error> {
    remove(conn, std::slice::from_ref(&model.id)).await?;
    Insert::execute_all(conn, inserts([model])).await
}

/// Removes the postings of contacts.
pub async fn remove(conn: &impl ConnectionTrait, contact_ids: &[String]) -> Result<(), Error> {
    for chunk in contact_ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        conn.execute_raw(statement(
            conn.get_database_backend(),
            &format!("DELETE FROM contact_terms WHERE contact_id IN ({placeholders})"),
            chunk.iter().map(|id| id.clone().into()),
        ))
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Replaces the words of an organisation's name (`None`: it was deleted).
pub async fn replace_organization(
    conn: &impl ConnectionTrait,
    id: &str,
    model: Option<&organization::Model>,
) -> Result<(), Error> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "DELETE FROM organization_terms WHERE organization_id = ?",
        [id.into()],
    ))
    .await
    .map_err(db_error)?;
    let Some(model) = model else { return Ok(()) };
    let terms = search::organization_terms(&model.display_name);
    let postings = terms.iter().flat_map(|t| [t.clone().into(), model.id.clone().into()]).collect();
    let mut inserts = rows("INSERT INTO organization_terms (term, organization_id)", 2, postings);
    inserts.extend(vocabulary(terms));
    Insert::execute_all(conn, inserts).await
}

/// The vocabulary rows of `words`: each word, and each typo key of it.
fn vocabulary(words: impl IntoIterator<Item = String>) -> Vec<Insert> {
    let (mut terms, mut typos): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    for word in words {
        for key in search::typo_keys_of_term(&word) {
            typos.extend([key.into(), word.clone().into()]);
        }
        terms.push(word.into());
    }
    let terms = rows("INSERT INTO search_vocabulary (term)", 1, terms);
    let typos = rows("INSERT INTO search_typos (key, term)", 2, typos);
    terms.into_iter().chain(typos).map(Insert::ignoring_conflicts).collect()
}

/// Parameters per insert: well under SQLite's limit of 32,766 (PostgreSQL's inserts are regrouped anyway).
const VALUES_PER_INSERT: usize = 6000;

/// `head VALUES (?, …), …` over `values` taken `width` at a time, in inserts of at most [`VALUES_PER_INSERT`].
fn rows(head: &str, width: usize, values: Vec<Value>) -> Vec<Insert> {
    let row = format!("({})", vec!["?"; width].join(", "));
    values
        .chunks(VALUES_PER_INSERT / width * width)
        .map(|chunk| {
            let placeholders = vec![row.as_str(); chunk.len() / width].join(", ");
            Insert::new(format!("{head} VALUES {placeholders}"), chunk.to_vec())
        })
        .collect()
}

/// Rebuilds the whole index from the rows (the migration that introduced it, and the consistency tests'
/// oracle): postings of every live contact and every organisation, and their vocabulary.
pub async fn rebuild(conn: &impl ConnectionTrait) -> Result<(), Error> {
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    for table in ["contact_terms", "organization_terms"] {
        conn.execute_unprepared(&format!("DELETE FROM {table}")).await.map_err(db_error)?;
    }
    let mut after = String::new();
    loop {
        use sea_orm::ColumnTrait;
        let page = contact::Entity::find()
            .filter(contact::Column::Id.gt(after.clone()))
            .filter(contact::Column::DeleteTime.is_null())
            .filter(contact::Column::MergedInto.is_null())
            .order_by_asc(contact::Column::Id)
            .limit(500)
            .all(conn)
            .await
            .map_err(db_error)?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        Insert::execute_all(conn, inserts(&page)).await?;
    }
    for model in organization::Entity::find().all(conn).await.map_err(db_error)? {
        replace_organization(conn, &model.id, Some(&model)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn only_words_learnt_after_their_write_are_left_out_of_the_next_writes() {
        let known = KnownWords::default();
        assert_eq!(known.unknown(words(&["okafor", "ada"])), words(&["okafor", "ada"]), "nothing known yet");
        known.learn(words(&["okafor"]));
        assert_eq!(known.unknown(words(&["okafor", "ada"])), words(&["ada"]));
    }

    #[test]
    fn a_full_set_of_known_words_starts_again_rather_than_growing() {
        let known = KnownWords::default();
        known.learn((0..KNOWN_WORDS_MAX).map(|i| format!("w{i}")).collect());
        assert!(known.unknown(words(&["w1"])).is_empty());
        known.learn(words(&["new"]));
        assert_eq!(known.unknown(words(&["w1", "new"])), words(&["w1"]), "emptied, then the new word learnt");
    }
}
