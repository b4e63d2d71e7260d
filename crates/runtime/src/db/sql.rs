//! Raw statements written once with `?` placeholders and rendered for the engine at hand.
use sea_orm::{DbBackend, Statement, Value};

/// A LIKE pattern `before` + `literal` + `after`, where `literal` matches only itself: its `%`, `_` and `\\` are
/// escaped (with `\\`, declared by the pattern's ESCAPE clause), while `before` and `after` are pattern text such as
/// `%,`. A label `a_b` must not find `axb`, and a search for `100%` must not find everything.
pub fn like_literal(before: &str, literal: &str, after: &str) -> sea_orm::sea_query::LikeExpr {
    let mut pattern = String::with_capacity(before.len() + literal.len() + after.len() + 4);
    pattern.push_str(before);
    for c in literal.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(after);
    sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')
}

/// A statement for `backend`; `?` placeholders become `$1, $2, …` on PostgreSQL.
pub fn statement(backend: DbBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Roughly the bytes `values` take in a PostgreSQL Bind message (each value's bytes, its length and format code).
///
/// Statements are kept under [`MAX_STATEMENT_BYTES`] with it: sqlx leaves Nagle's algorithm on, and over TLS it
/// writes each 16 KiB record with its own `send`, so a longer message leaves a tail that waits for a delayed
/// ACK — 40 ms for every such statement.
pub fn bound_len(values: &[Value]) -> usize {
    values
        .iter()
        .map(|value| {
            6 + match value {
                Value::String(Some(s)) => s.len(),
                Value::Bytes(Some(b)) => b.len(),
                Value::Json(Some(j)) => j.to_string().len(),
                _ => 8,
            }
        })
        .sum()
}

/// What one statement may carry (see [`bound_len`]): a TLS record is 16 KiB; the rest is room for the framing.
pub const MAX_STATEMENT_BYTES: usize = 14 * 1024;

/// `items` in consecutive slices of at most `max_items`, each under [`MAX_STATEMENT_BYTES`] by `bound_len` (a
/// single item larger than that still gets a slice of its own).
pub fn chunks<T>(items: &[T], max_items: usize, bound_len: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut slices = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, item) in items.iter().enumerate() {
        let len = bound_len(item);
        if index > start && (index - start >= max_items || bytes + len > MAX_STATEMENT_BYTES) {
            slices.push(&items[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += len;
    }
    if start < items.len() {
        slices.push(&items[start..]);
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_the_item_count_and_the_byte_budget() {
        let items = vec![1usize; 10];
        let sizes: Vec<usize> = chunks(&items, 4, |_| 1).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let big = vec![MAX_STATEMENT_BYTES / 3 + 1; 7];
        let sizes: Vec<usize> = chunks(&big, 100, |n| *n).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![2, 2, 2, 1]);
        let huge = vec![MAX_STATEMENT_BYTES * 2; 2];
        assert_eq!(chunks(&huge, 100, |n| *n).len(), 2, "an oversized item still goes, alone");
        assert!(chunks(&Vec::<usize>::new(), 4, |_| 1).is_empty());
    }

    #[test]
    fn the_bound_length_counts_each_value_and_its_framing() {
        let values: Vec<Value> = vec!["abc".into(), 7i64.into(), vec![0u8; 10].into()];
        assert_eq!(bound_len(&values), (6 + 3) + (6 + 8) + (6 + 10));
    }
}
