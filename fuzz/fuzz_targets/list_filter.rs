//! The list `filter` and `order_by` parsers (`liaison_runtime::api::filter`) on arbitrary text, against a schema
//! with a field of every kind.
//!
//! Asserts: no panic (parsing, and translating to SQL for SQLite and PostgreSQL); every error but the length one
//! names a 1-based position within the text (or one past its end); a parsed filter printed back in the grammar
//! parses to the same tree, and so does a parsed `order_by`.
#![no_main]

use liaison_runtime::api::filter::example::SCHEMA;
use liaison_runtime::api::filter::{MAX_FILTER_CHARS, Node, parse_filter, parse_order_by};
use liaison_runtime::sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};
use libfuzzer_sys::fuzz_target;

const SORTABLE: &[&str] = &["display_name", "create_time", "address.city"];

/// `text` as a quoted filter string.
fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// `node` in the grammar, with parentheses only where the tree needs them (never more than the text it came from).
fn print(node: &Node, out: &mut String) {
    let operand = |node: &Node, out: &mut String| match node {
        Node::And(_) | Node::Or(_) => {
            out.push('(');
            print(node, out);
            out.push(')');
        }
        _ => print(node, out),
    };
    match node {
        Node::Compare(comparison) => {
            out.push_str(comparison.field.name);
            out.push(' ');
            out.push_str(comparison.op.symbol());
            out.push(' ');
            quote(&comparison.value.to_string(), out);
        }
        // `NOT NOT a` is `a`: a double negation only comes from parentheses.
        Node::Not(inner) => {
            out.push_str("NOT ");
            if matches!(**inner, Node::Not(_)) {
                out.push('(');
                print(inner, out);
                out.push(')');
            } else {
                operand(inner, out);
            }
        }
        Node::And(nodes) | Node::Or(nodes) => {
            let join = if matches!(node, Node::And(_)) { " AND " } else { " OR " };
            for (i, child) in nodes.iter().enumerate() {
                if i > 0 {
                    out.push_str(join);
                }
                operand(child, out);
            }
        }
    }
}

/// Checks the `at position N:` prefix of an error description.
fn check_position(text: &str, description: &str) {
    if description.starts_with("must be at most") {
        assert!(text.chars().count() > MAX_FILTER_CHARS);
        return;
    }
    let position: usize = description
        .strip_prefix("at position ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no position in {description:?}"));
    assert!((1..=text.chars().count() + 1).contains(&position), "position {position} in {description:?}");
}

fuzz_target!(|data: &[u8]| {
    // The request fields are protobuf strings: always UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };

    match parse_filter("filter", text, &SCHEMA) {
        Ok(filter) => {
            let query = Query::select().column("id").from("t").cond_where(filter.to_condition()).to_owned();
            let _ = query.to_string(SqliteQueryBuilder);
            let _ = query.to_string(PostgresQueryBuilder);
            if let Some(root) = filter.root() {
                let mut printed = String::new();
                print(root, &mut printed);
                if printed.chars().count() <= MAX_FILTER_CHARS {
                    let again = parse_filter("filter", &printed, &SCHEMA)
                        .unwrap_or_else(|v| panic!("{printed:?} (from {text:?}) does not parse: {}", v.description));
                    assert_eq!(again.root(), Some(root), "{printed:?} from {text:?}");
                }
            } else {
                assert!(text.trim().is_empty());
            }
        }
        Err(violation) => {
            assert_eq!(violation.field, "filter");
            check_position(text, &violation.description);
        }
    }

    match parse_order_by("order_by", text, SORTABLE) {
        Ok(order) => {
            let printed = order
                .keys
                .iter()
                .map(|key| format!("{} {}", key.field, if key.descending { "desc" } else { "asc" }))
                .collect::<Vec<_>>()
                .join(", ");
            if printed.chars().count() <= MAX_FILTER_CHARS {
                assert_eq!(parse_order_by("order_by", &printed, SORTABLE).map(|o| o.keys), Ok(order.keys));
            }
        }
        Err(violation) => check_position(text, &violation.description),
    }
});
