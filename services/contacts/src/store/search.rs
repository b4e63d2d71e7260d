//! Reads for contact search: each query word expanded through the vocabulary into the terms it meets, their
//! postings read by index, and the result ranked by `domain::search`.
use super::Store;
use crate::domain::search::{Field, Hit, Match, PREFIX_EXPANSION_MAX, Query};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::sql::statement;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

/// Expanded terms per postings statement.
const TERMS_PER_STATEMENT: usize = 500;

#[derive(Debug, FromQueryResult)]
struct Term {
    term: String,
}

#[derive(Debug, FromQueryResult)]
struct Posting {
    term: String,
    contact_id: String,
    fields: i32,
}

impl Store {
    /// Live contacts matching every word of `query`, with their hits, best first (ties: oldest first).
    pub async fn search_contacts(&self, query: &Query) -> Result<Vec<(String, Hit)>, Error> {
        let conn = self.db().conn();
        let mut per_word = Vec::with_capacity(query.words().len());
        for word in query.words() {
            let terms = expand(conn, word).await?;
            per_word.push(postings(conn, word, &terms).await?);
        }
        Ok(query.rank(&per_word))
    }

    /// Organisations whose name matches every word of `query` (exactly, as a prefix or with one typo), best first
    /// (ties: oldest first).
    pub async fn search_organizations(&self, query: &Query) -> Result<Vec<(String, Hit)>, Error> {
        let conn = self.db().conn();
        let mut per_word = Vec::with_capacity(query.words().len());
        for word in query.words() {
            let terms = expand(conn, word).await?;
            let mut matches = Vec::new();
            for chunk in terms.chunks(TERMS_PER_STATEMENT) {
                let placeholders = vec!["?"; chunk.len()].join(", ");
                let rows = Posting::find_by_statement(statement(
                    conn.get_database_backend(),
                    &format!(
                        "SELECT term, organization_id AS contact_id, 0 AS fields FROM organization_terms \
                         WHERE term IN ({placeholders})"
                    ),
                    chunk.iter().map(|t| Value::from(t.clone())),
                ))
                .all(conn)
                .await
                .map_err(db_error)?;
                for row in rows {
                    let Some(kind) = Query::classify(word, &row.term) else { continue };
                    matches.push(Match { id: row.contact_id, field: Field::DisplayName, kind, term: row.term });
                }
            }
            per_word.push(matches);
        }
        Ok(query.rank(&per_word))
    }
}

/// The vocabulary terms `word` meets: its prefix ranges (at most [`PREFIX_EXPANSION_MAX`] terms each) and its
/// one-typo neighbours, in one statement.
async fn expand(conn: &impl ConnectionTrait, word: &str) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (from, to) in Query::prefix_ranges(word) {
        parts.push(format!(
            "SELECT term FROM (SELECT term FROM search_vocabulary WHERE term >= ? AND term < ? ORDER BY term \
             LIMIT {PREFIX_EXPANSION_MAX}) AS p{}",
            parts.len()
        ));
        values.extend([from.into(), to.into()]);
    }
    let typo_keys = Query::typo_keys(word);
    if !typo_keys.is_empty() {
        let placeholders = vec!["?"; typo_keys.len()].join(", ");
        parts.push(format!("SELECT term FROM search_typos WHERE key IN ({placeholders})"));
        parts.push(format!("SELECT term FROM search_vocabulary WHERE term IN ({placeholders})"));
        values.extend(typo_keys.iter().chain(&typo_keys).map(|k| k.clone().into()));
    }
    let sql = parts.join(" UNION ");
    let rows = Term::find_by_statement(statement(conn.get_database_backend(), &sql, values))
        .all(conn)
        .await
        .map_err(db_error)?;
    let mut terms: Vec<String> =
        rows.into_iter().map(|r| r.term).filter(|t| Query::classify(word, t).is_some()).collect();
    terms.sort();
    terms.dedup();
    Ok(terms)
}

/// Every match of `word` through `terms`: in the contacts' own fields, and in the names of the organisations
/// live contacts are affiliated with.
async fn postings(conn: &impl ConnectionTrait, word: &str, terms: &[String]) -> Result<Vec<Match>, Error> {
    let backend = conn.get_database_backend();
    let mut matches = Vec::new();
    for chunk in terms.chunks(TERMS_PER_STATEMENT) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let values = || chunk.iter().map(|t| Value::from(t.clone())).collect::<Vec<_>>();
        let own = Posting::find_by_statement(statement(
            backend,
            &format!("SELECT term, contact_id, fields FROM contact_terms WHERE term IN ({placeholders})"),
            values(),
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        let through_organizations = Posting::find_by_statement(statement(
            backend,
            &format!(
                "SELECT DISTINCT t.term AS term, a.contact_id AS contact_id, 0 AS fields FROM organization_terms t \
                 JOIN affiliations a ON a.organization_id = t.organization_id \
                 JOIN contacts c ON c.id = a.contact_id AND c.delete_time IS NULL AND c.merged_into IS NULL \
                 WHERE t.term IN ({placeholders})"
            ),
            values(),
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        for posting in own {
            let Some(kind) = Query::classify(word, &posting.term) else { continue };
            for field in Field::of_bits(posting.fields) {
                if kind.points(field).is_some() {
                    let (id, term) = (posting.contact_id.clone(), posting.term.clone());
                    matches.push(Match { id, field, kind, term });
                }
            }
        }
        for posting in through_organizations {
            let Some(kind) = Query::classify(word, &posting.term) else { continue };
            let (id, term) = (posting.contact_id, posting.term);
            matches.push(Match { id, field: Field::Organizations, kind, term });
        }
    }
    Ok(matches)
}
