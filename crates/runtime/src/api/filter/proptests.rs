//! Property tests of the `filter` and `order_by` parsers: no text panics them and every refusal is one violation
//! on the request field that names a position; a generated expression, written out the way a user may write it
//! (spacing, quoting, `NOT` or `-`, operators with or without spaces, enum names in any case), parses back to the
//! very tree it was written from; and a generated `order_by` parses to its keys.
use super::*;
use chrono::TimeZone as _;
use proptest::prelude::*;

use super::example::{FIELDS, SCHEMA};
const SORTABLE: &[&str] = &["display_name", "create_time", "age", "address.city"];

/// Text with the characters that matter to the grammar, letters of other scripts and control characters.
fn awkward_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => proptest::sample::select(&[
                ' ', '"', '\\', '(', ')', ',', ':', '=', '<', '>', '!', '-', '.', '/', '@', '+', '%', '_', '\t', '\n',
                'é', 'ß', '日', '🎉', '\u{0}', '\u{1f}', 'A', 'N', 'D', 'O', 'R', 'T',
            ][..]),
        ],
        0..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// One comparison, with a value of its field's kind and an operator that applies to it.
fn comparisons() -> impl Strategy<Value = Comparison> {
    (0..FIELDS.len()).prop_flat_map(|index| {
        let field: &'static FilterField = &FIELDS[index];
        let op = proptest::sample::select(field.kind.operators());
        let value: BoxedStrategy<Value> = match field.kind {
            FieldKind::String => awkward_text(12).prop_map(Value::String).boxed(),
            FieldKind::Integer => any::<i64>().prop_map(Value::Integer).boxed(),
            FieldKind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            FieldKind::Enum(names) => proptest::sample::select(names).prop_map(Value::Enum).boxed(),
            FieldKind::List => awkward_text(10)
                .prop_filter("a list element has no comma", |t| !t.contains(','))
                .prop_map(Value::String)
                .boxed(),
            FieldKind::Timestamp => (-2_208_988_800i64..253_402_300_800, 0u32..1000)
                .prop_filter_map("a representable instant", |(seconds, millis)| {
                    Utc.timestamp_opt(seconds, millis * 1_000_000).single().map(Value::Timestamp)
                })
                .boxed(),
        };
        (op, value).prop_map(move |(op, value)| Comparison { field, op, value })
    })
}

/// A filter tree as the parser builds it: `And`/`Or` of two or more nodes, no double negation (it cancels).
fn nodes() -> impl Strategy<Value = Node> {
    let leaf = comparisons().prop_map(Node::Compare);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::Or),
            inner.prop_map(|node| match node {
                Node::Not(inner) => *inner,
                other => Node::Not(Box::new(other)),
            }),
        ]
    })
}

/// How a user might space, quote and spell things: decided per token from a stream of choices.
struct Style {
    choices: Vec<u8>,
    next: usize,
}

impl Style {
    fn pick(&mut self, n: u8) -> u8 {
        let choice = self.choices.get(self.next % self.choices.len().max(1)).copied().unwrap_or(0);
        self.next += 1;
        choice % n
    }

    fn space(&mut self) -> &'static str {
        [" ", "  ", "\t", "\n "][usize::from(self.pick(4))]
    }

    fn optional_space(&mut self) -> &'static str {
        ["", " ", "\u{3000}"][usize::from(self.pick(3))]
    }
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether `text` may be written unquoted as a value.
fn is_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(is_word_char) && !matches!(text, "AND" | "OR" | "NOT")
}

fn write_value(value: &Value, style: &mut Style) -> String {
    match value {
        Value::String(text) if is_word(text) && style.pick(2) == 0 => text.clone(),
        Value::String(text) => quoted(text),
        Value::Integer(n) if style.pick(3) == 0 => quoted(&n.to_string()),
        Value::Integer(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Enum(name) => match style.pick(3) {
            0 => name.to_ascii_uppercase(),
            1 => quoted(name),
            _ => (*name).to_owned(),
        },
        Value::Timestamp(time) => {
            let india = chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
            let pacific = chrono::FixedOffset::west_opt(8 * 3600).unwrap();
            // Late in 9999 UTC is already year 10000 east of Greenwich, which RFC 3339 cannot write.
            match style.pick(3) {
                0 => quoted(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                1 if time.timestamp() < 253_402_200_000 => quoted(&time.with_timezone(&india).to_rfc3339()),
                _ => quoted(&time.with_timezone(&pacific).to_rfc3339_opts(SecondsFormat::Millis, false)),
            }
        }
    }
}

/// `node` as filter text that means it.
fn write(node: &Node, style: &mut Style) -> String {
    let grouped = |node: &Node, style: &mut Style| match node {
        Node::And(_) | Node::Or(_) => {
            let (open, close) = (style.optional_space(), style.optional_space());
            format!("({open}{}{close})", write(node, style))
        }
        _ => write(node, style),
    };
    match node {
        Node::Compare(Comparison { field, op, value }) => {
            let (before, after) = (style.optional_space(), style.optional_space());
            format!("{}{before}{}{after}{}", field.name, op.symbol(), write_value(value, style))
        }
        Node::Not(inner) => {
            let prefix = match style.pick(3) {
                0 => "-".to_owned(),
                1 => format!("NOT{}", style.space()),
                _ => "NOT".to_owned(),
            };
            match inner.as_ref() {
                // `NOT(` is a keyword then a group; `NOTage` would be a field name.
                Node::Compare(_) if prefix == "NOT" => format!("NOT({})", write(inner, style)),
                _ => format!("{prefix}{}", grouped(inner, style)),
            }
        }
        Node::And(nodes) | Node::Or(nodes) => {
            let keyword = if matches!(node, Node::And(_)) { "AND" } else { "OR" };
            let parts: Vec<String> = nodes.iter().map(|n| grouped(n, style)).collect();
            let mut out = String::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.space());
                    out.push_str(keyword);
                    out.push_str(style.space());
                }
                out.push_str(part);
            }
            out
        }
    }
}

fn comparisons_in(node: &Node) -> usize {
    match node {
        Node::And(nodes) | Node::Or(nodes) => nodes.iter().map(comparisons_in).sum(),
        Node::Not(inner) => comparisons_in(inner),
        Node::Compare(_) => 1,
    }
}

/// A violation of the filter field whose description begins with a position within the text (or just past it).
fn is_positioned_violation(violation: &FieldViolation, field: &str, text: &str) -> bool {
    let position = violation
        .description
        .strip_prefix("at position ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    let whole = violation.description.starts_with("must be at most");
    violation.field == field && (whole || position.is_some_and(|p| (1..=text.chars().count() + 1).contains(&p)))
}

/// Filter-ish text: tokens of the grammar in any order, so that the parser goes deep before it refuses.
fn filter_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(
            &[
                "age",
                "display_name",
                "status",
                "labels",
                "active",
                "create_time",
                "address.city",
                "address.",
                "x.y",
                "AND",
                "OR",
                "NOT",
                "and",
                "not",
                "-",
                "(",
                ")",
                "=",
                "!=",
                "<",
                "<=",
                ">",
                ">=",
                ":",
                "~",
                "!",
                "\"",
                "\\",
                "\"2024-05-01T09:00:00Z\"",
                "true",
                "scheduled",
                "1",
                "-5",
                "99999999999999999999",
                " ",
                "  ",
            ][..]
        )
        .prop_map(str::to_owned),
        awkward_text(6),
    ];
    proptest::collection::vec(token, 0..30).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_parsed_or_refused_with_a_positioned_violation(text in prop_oneof![any::<String>(), filter_like(), awkward_text(40)]) {
        match parse_filter("filter", &text, &SCHEMA) {
            Ok(filter) => {
                prop_assert_eq!(filter.is_empty(), text.trim().is_empty());
                // What parses also translates (no panic on any tree the parser builds).
                let _ = filter.to_condition();
            }
            Err(violation) => prop_assert!(is_positioned_violation(&violation, "filter", &text), "{violation:?} for {text:?}"),
        }
    }

    #[test]
    fn a_written_expression_parses_back_to_its_tree(node in nodes(), choices in proptest::collection::vec(any::<u8>(), 1..64)) {
        let text = write(&node, &mut Style { choices, next: 0 });
        let parsed = parse_filter("filter", &text, &SCHEMA);
        if text.chars().count() > MAX_FILTER_CHARS || comparisons_in(&node) > MAX_COMPARISONS {
            prop_assert!(parsed.is_err(), "{text}");
        } else {
            let parsed = parsed.map_err(|v| TestCaseError::fail(format!("{text:?}: {}", v.description)))?;
            prop_assert_eq!(parsed.root(), Some(&node), "{}", text);
        }
    }

    #[test]
    fn a_single_comparison_of_any_value_parses_back(comparison in comparisons(), choices in proptest::collection::vec(any::<u8>(), 1..8)) {
        let node = Node::Compare(comparison);
        let text = write(&node, &mut Style { choices, next: 0 });
        let parsed = parse_filter("filter", &text, &SCHEMA).map_err(|v| TestCaseError::fail(format!("{text:?}: {}", v.description)))?;
        prop_assert_eq!(parsed.root(), Some(&node));
    }

    #[test]
    fn any_order_by_text_is_parsed_or_refused_with_a_positioned_violation(text in prop_oneof![any::<String>(), "[a-z_., \\-]{0,40}", awkward_text(30)]) {
        match parse_order_by("order_by", &text, SORTABLE) {
            Ok(order) => {
                prop_assert!(order.keys.iter().all(|k| SORTABLE.contains(&k.field)));
                let mut fields: Vec<&str> = order.keys.iter().map(|k| k.field).collect();
                fields.sort_unstable();
                fields.dedup();
                prop_assert_eq!(fields.len(), order.keys.len(), "no field twice");
            }
            Err(violation) => prop_assert!(is_positioned_violation(&violation, "order_by", &text), "{violation:?} for {text:?}"),
        }
    }

    #[test]
    fn a_written_order_by_parses_to_its_keys(
        keys in proptest::sample::subsequence(SORTABLE, 0..=SORTABLE.len()).prop_shuffle(),
        directions in proptest::collection::vec(0u8..5, SORTABLE.len()),
        choices in proptest::collection::vec(any::<u8>(), 1..16),
    ) {
        let mut style = Style { choices, next: 0 };
        let written: Vec<String> = keys
            .iter()
            .zip(&directions)
            .map(|(key, direction)| {
                let suffix = ["", " asc", " desc", " DESC", "  Asc"][usize::from(*direction)];
                format!("{}{key}{suffix}{}", style.optional_space(), style.optional_space())
            })
            .collect();
        let text = written.join(",");
        let order = parse_order_by("order_by", &text, SORTABLE).map_err(|v| TestCaseError::fail(format!("{text:?}: {}", v.description)))?;
        let expected: Vec<(&str, bool)> = keys.iter().zip(&directions).map(|(k, d)| (*k, matches!(d, 2 | 3))).collect();
        let got: Vec<(&str, bool)> = order.keys.iter().map(|k| (k.field, k.descending)).collect();
        prop_assert_eq!(got, expected);
    }
}
