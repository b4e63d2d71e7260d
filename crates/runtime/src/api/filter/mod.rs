//! The `filter` and `order_by` strings of `List*` methods: one grammar (a subset of AIP-160), parsed here once for
//! every service, into a typed tree that becomes a sea-query [`Condition`]. The user's reference, with examples and
//! every error message, is `docs/filtering.md`.
//!
//! ```text
//! filter      = [ expression ] ;
//! expression  = conjunction { "OR" conjunction } ;
//! conjunction = term { "AND" term } ;
//! term        = { "NOT" | "-" } ( comparison | "(" expression ")" ) ;
//! comparison  = field operator value ;
//! field       = name { "." name } ;
//! name        = ( ASCII letter | "_" ) { ASCII letter | digit | "_" } ;
//! operator    = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":" ;
//! value       = string | word ;
//! string      = '"' { any character but '"' and "\" | '\"' | "\\" } '"' ;
//! word        = word char { word char } ;          (* but not AND, OR or NOT *)
//! word char   = letter | digit | "_" | "-" | "." | "/" | "@" | "+" ;
//!
//! order_by    = [ key { "," key } ] ;
//! key         = field [ "asc" | "desc" ] ;
//! ```
//!
//! - `AND` and `OR` mixed at one level need parentheses: AIP-160 reads `a AND b OR c` as `a AND (b OR c)`, SQL
//!   and most people as `(a AND b) OR c`; refusing the mix means no filter is read differently than it was meant.
//! - Two terms side by side are an error, not an implicit `AND`: `a = 1 b = 2` would too easily be a typo for a
//!   quoted value with a space (`name = Ada Lovelace`).
//! - The field's [`FieldKind`] decides how its value is read, whether quoted or not; quotes are only needed for
//!   characters a word cannot hold (spaces, `:`, parentheses…), so an RFC 3339 timestamp is always quoted.
//! - `:` ("has") applies to [`FieldKind::List`] fields only: the list holds the value.
//! - Limits: [`MAX_FILTER_CHARS`] characters, [`MAX_COMPARISONS`] comparisons, parentheses [`MAX_DEPTH`] deep. They
//!   bound the work and the SQL one request can cause, and keep the parser's recursion shallow.
//!
//! Every error is one [`FieldViolation`] on the request field, whose description starts with the 1-based character
//! position of the problem (one past the end when the text stops too early) and says what was expected there.
//!
//! Rows without a value (SQL NULL) never match a comparison, and always match its negation: `NOT`, `-` and `!=`
//! are two-valued, not SQL's three-valued NOT. The translation pushes negations down to the comparisons (inverting
//! them, e.g. `NOT a < 1` is `a >= 1`) and adds `column IS NULL OR` to a negated comparison of a field declared
//! [`FilterField::nullable`].
use crate::api::error::FieldViolation;
use crate::db::sql::like_literal;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Order};
use std::borrow::Cow;
use std::fmt;

/// The longest `filter` (and `order_by`) accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 500;
/// The most comparisons one filter may hold.
pub const MAX_COMPARISONS: usize = 20;
/// How deep parentheses may nest.
pub const MAX_DEPTH: usize = 8;

/// What a filterable field holds, which decides how its values are read and which operators apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text, compared exactly (`<` and `>` in the database's text order).
    String,
    /// A 64-bit integer.
    Integer,
    /// `true` or `false`; only `=` and `!=`.
    Bool,
    /// An instant, written as a quoted RFC 3339 timestamp between the years 1900 and 9999.
    Timestamp,
    /// One of these names (matched ignoring ASCII case, stored as listed); only `=` and `!=`.
    Enum(&'static [&'static str]),
    /// A list of texts stored as `,a,b,` (see `labels_column` in contacts); only `:`, "holds this element".
    List,
}

const ORDERED: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
const EQUALITY: &[Op] = &[Op::Eq, Op::Ne];
const HAS: &[Op] = &[Op::Has];

impl FieldKind {
    /// The operators that apply to a field of this kind.
    pub fn operators(&self) -> &'static [Op] {
        match self {
            Self::String | Self::Integer | Self::Timestamp => ORDERED,
            Self::Bool | Self::Enum(_) => EQUALITY,
            Self::List => HAS,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::String => "a string field",
            Self::Integer => "an integer field",
            Self::Bool => "a true/false field",
            Self::Timestamp => "a timestamp field",
            Self::Enum(_) => "an enum field",
            Self::List => "a list field",
        }
    }

    /// `text` read as a value of this kind, or why it is not one.
    fn value(&self, text: &str) -> Result<Value, String> {
        match self {
            Self::String => Ok(Value::String(text.to_owned())),
            Self::Integer => text.parse().map(Value::Integer).map_err(|_| format!("{text:?} is not an integer")),
            Self::Bool => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{text:?} is not true or false")),
            },
            Self::Timestamp => {
                let time = DateTime::parse_from_rfc3339(text)
                    .map_err(|_| format!("{text:?} is not an RFC 3339 timestamp such as \"2024-05-01T09:00:00Z\""))?;
                // The range every timestamp of the API has (`api::time::from_timestamp`).
                if !(-2_208_988_800..253_402_300_800).contains(&time.timestamp()) {
                    return Err(format!("{text:?} is not between the years 1900 and 9999"));
                }
                Ok(Value::Timestamp(time.with_timezone(&Utc)))
            }
            Self::Enum(names) => names
                .iter()
                .find(|name| name.eq_ignore_ascii_case(text))
                .map(|name| Value::Enum(name))
                .ok_or_else(|| format!("{text:?} is not one of {}", names.join(", "))),
            // A comma would match across two stored elements: `,a,b,` holds "a,b" by LIKE but not as a list.
            Self::List if text.contains(',') => Err(format!("{text:?} cannot be a list element: it holds \",\"")),
            Self::List => Ok(Value::String(text.to_owned())),
        }
    }
}

/// A field that a filter may name, and the column it is compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterField {
    /// The name users write, e.g. `create_time`.
    pub name: &'static str,
    pub kind: FieldKind,
    /// The column [`Filter::to_condition`] compares, unqualified.
    pub column: &'static str,
    /// Whether the column may be NULL: a negated comparison then also selects the rows without a value.
    pub nullable: bool,
}

impl FilterField {
    /// A field on the NOT NULL column of the same name.
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        Self { name, kind, column: name, nullable: false }
    }

    /// The same field on another column.
    pub const fn column(mut self, column: &'static str) -> Self {
        self.column = column;
        self
    }

    /// The same field on a column that may be NULL.
    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
}

/// The fields a list method may filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    pub fields: &'static [FilterField],
}

impl Schema {
    pub const fn new(fields: &'static [FilterField]) -> Self {
        Self { fields }
    }

    pub fn field(&self, name: &str) -> Option<&'static FilterField> {
        let fields: &'static [FilterField] = self.fields;
        fields.iter().find(|field| field.name == name)
    }

    fn names(&self) -> String {
        self.fields.iter().map(|field| field.name).collect::<Vec<_>>().join(", ")
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `:`, the list holds the value.
    Has,
}

impl Op {
    const ALL: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Has];

    pub fn symbol(&self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Has => ":",
        }
    }

    fn from_symbol(symbol: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.symbol() == symbol)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A value read as its field's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// For [`FieldKind::String`], and the element of a [`FieldKind::List`].
    String(String),
    Integer(i64),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    /// The name as the field's kind lists it.
    Enum(&'static str),
}

impl Value {
    fn to_sql(&self) -> sea_orm::sea_query::Value {
        match self {
            Self::String(text) => text.clone().into(),
            Self::Integer(n) => (*n).into(),
            Self::Bool(b) => (*b).into(),
            Self::Timestamp(time) => (*time).into(),
            Self::Enum(name) => (*name).into(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(text) => f.write_str(text),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Timestamp(time) => f.write_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Self::Enum(name) => f.write_str(name),
        }
    }
}

/// `field op value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub field: &'static FilterField,
    pub op: Op,
    pub value: Value,
}

/// A parsed filter expression. `And` and `Or` hold two or more nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare(Comparison),
}

/// A parsed `filter`; an empty one selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    root: Option<Node>,
}

impl Filter {
    pub fn root(&self) -> Option<&Node> {
        self.root.as_ref()
    }

    /// Whether the filter was blank (it selects everything).
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// The filter as a condition on each field's unqualified [`FilterField::column`]; an empty filter gives an
    /// empty `Condition::all()` (true).
    pub fn to_condition(&self) -> Condition {
        self.to_condition_with(|field| Expr::col(field.column))
    }

    /// The filter as a condition on the expression `column` gives for each field, e.g. a column qualified with its
    /// table in a join.
    pub fn to_condition_with(&self, column: impl Fn(&FilterField) -> Expr) -> Condition {
        match &self.root {
            None => Condition::all(),
            Some(node) => condition(node, false, &column),
        }
    }
}

/// `node`, or its negation, with every negation pushed down to the comparisons (see the module doc).
fn condition(node: &Node, negated: bool, column: &dyn Fn(&FilterField) -> Expr) -> Condition {
    let join = |nodes: &[Node], all: bool| {
        let start = if all { Condition::all() } else { Condition::any() };
        nodes.iter().fold(start, |joined, node| joined.add(condition(node, negated, column)))
    };
    match node {
        // De Morgan: NOT (a AND b) is NOT a OR NOT b.
        Node::And(nodes) => join(nodes, !negated),
        Node::Or(nodes) => join(nodes, negated),
        Node::Not(inner) => condition(inner, !negated, column),
        Node::Compare(comparison) => compare(comparison, negated, column).into(),
    }
}

fn compare(comparison: &Comparison, negated: bool, column: &dyn Fn(&FilterField) -> Expr) -> Expr {
    // `a != v` is `NOT a = v`, so that a row without a value matches it, as it matches every negated comparison.
    let (op, negated) = match comparison.op {
        Op::Ne => (Op::Eq, !negated),
        op => (op, negated),
    };
    let target = column(comparison.field);
    let value = comparison.value.to_sql();
    let test = match (op, negated) {
        (Op::Eq | Op::Ne, false) => target.clone().eq(value),
        (Op::Eq | Op::Ne, true) => target.clone().ne(value),
        (Op::Lt, false) | (Op::Ge, true) => target.clone().lt(value),
        (Op::Le, false) | (Op::Gt, true) => target.clone().lte(value),
        (Op::Gt, false) | (Op::Le, true) => target.clone().gt(value),
        (Op::Ge, false) | (Op::Lt, true) => target.clone().gte(value),
        (Op::Has, false) => target.clone().like(element_pattern(&comparison.value)),
        (Op::Has, true) => target.clone().not_like(element_pattern(&comparison.value)),
    };
    if negated && comparison.field.nullable { target.is_null().or(test) } else { test }
}

/// The LIKE pattern of a list column `,a,b,` holding `element`, its `%` and `_` matching only themselves.
fn element_pattern(element: &Value) -> sea_orm::sea_query::LikeExpr {
    like_literal("%,", &element.to_string(), ",%")
}

/// Parses a `filter` request field against the fields `schema` allows; blank text is an empty filter.
pub fn parse_filter(field: &str, text: &str, schema: &Schema) -> Result<Filter, FieldViolation> {
    too_long(field, text)?;
    let mut parser = Parser { field, text, at: 0, schema, comparisons: 0 };
    parser.skip_space();
    if parser.peek().is_none() {
        return Ok(Filter::default());
    }
    let root = parser.disjunction(0)?;
    parser.skip_space();
    if parser.peek().is_some() {
        return Err(parser.unexpected(false));
    }
    Ok(Filter { root: Some(root) })
}

fn too_long(field: &str, text: &str) -> Result<(), FieldViolation> {
    let length = text.chars().count();
    if length > MAX_FILTER_CHARS {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_FILTER_CHARS} characters (got {length})"),
        ));
    }
    Ok(())
}

/// A violation of `field` at byte `at` of `text`, told as a 1-based character position.
fn violation(field: &str, text: &str, at: usize, message: impl fmt::Display) -> FieldViolation {
    let position = text.get(..at).map_or(0, |before| before.chars().count()) + 1;
    FieldViolation::new(field, format!("at position {position}: {message}"))
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@' | '+')
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '=' | '!' | '<' | '>' | ':' | '~')
}

/// A recursive-descent parser over the text; `at` is a byte offset, always at a character boundary.
struct Parser<'a> {
    field: &'a str,
    text: &'a str,
    at: usize,
    schema: &'a Schema,
    comparisons: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn error(&self, at: usize, message: impl fmt::Display) -> FieldViolation {
        violation(self.field, self.text, at, message)
    }

    /// What is at `at`, for a message: the word there, one character, or the end.
    fn found(&self, at: usize) -> String {
        let rest = self.text.get(at..).unwrap_or_default();
        match rest.chars().next() {
            None => "the end of the filter".to_owned(),
            Some(c) if is_word_char(c) => {
                format!("{:?}", &rest[..rest.find(|c| !is_word_char(c)).unwrap_or(rest.len())])
            }
            Some(c) => format!("{:?}", c.to_string()),
        }
    }

    /// Consumes the keyword `word` (in capitals, as a whole word) after any spaces.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        let found = rest.starts_with(word) && !rest[word.len()..].starts_with(is_name_char);
        if found {
            self.at += word.len();
        }
        found
    }

    fn disjunction(&mut self, depth: usize) -> Result<Node, FieldViolation> {
        let start = self.at;
        let (first, mut joined) = self.conjunction(depth)?;
        let mut nodes = Vec::new();
        loop {
            self.skip_space();
            let or_at = self.at;
            if !self.keyword("OR") {
                break;
            }
            let (node, and_here) = self.conjunction(depth)?;
            joined |= and_here;
            if joined {
                // AIP-160 binds OR tighter than AND and SQL the other way: a mix without parentheses would mean
                // different things to different readers, so it is refused rather than guessed.
                return Err(self.error(
                    or_at,
                    format!(
                        "AND and OR are mixed without parentheses (from position {}); group them: `(a AND b) OR c` or `a AND (b OR c)`",
                        start + 1
                    ),
                ));
            }
            nodes.push(node);
        }
        Ok(if nodes.is_empty() {
            first
        } else {
            nodes.insert(0, first);
            Node::Or(nodes)
        })
    }

    /// Terms joined by AND, and whether any AND joined them at this level (not inside parentheses).
    fn conjunction(&mut self, depth: usize) -> Result<(Node, bool), FieldViolation> {
        let first = self.term(depth)?;
        let mut nodes = Vec::new();
        while self.keyword("AND") {
            nodes.push(self.term(depth)?);
        }
        Ok(if nodes.is_empty() {
            (first, false)
        } else {
            nodes.insert(0, first);
            (Node::And(nodes), true)
        })
    }

    fn term(&mut self, depth: usize) -> Result<Node, FieldViolation> {
        // Negations are counted in a loop, not by recursion, so that `------…` costs no stack.
        let mut negated = false;
        loop {
            self.skip_space();
            if self.peek() == Some('-') {
                self.at += 1;
            } else if !self.keyword("NOT") {
                break;
            }
            negated = !negated;
        }
        let node = if self.peek() == Some('(') { self.group(depth)? } else { self.comparison()? };
        Ok(if negated { Node::Not(Box::new(node)) } else { node })
    }

    fn group(&mut self, depth: usize) -> Result<Node, FieldViolation> {
        let open = self.at;
        if depth >= MAX_DEPTH {
            return Err(self.error(open, format!("parentheses are nested more than {MAX_DEPTH} deep")));
        }
        self.at += 1;
        self.skip_space();
        if self.peek() == Some(')') {
            return Err(self.error(open, "empty parentheses: put a comparison between them"));
        }
        let node = self.disjunction(depth + 1)?;
        self.skip_space();
        match self.peek() {
            Some(')') => {
                self.at += 1;
                Ok(node)
            }
            None => Err(self.error(open, "this \"(\" is never closed")),
            Some(_) => Err(self.unexpected(true)),
        }
    }

    /// The error for what follows a complete term when it is neither AND, OR, the closing parenthesis of a group
    /// (`in_group`) nor the end.
    fn unexpected(&self, in_group: bool) -> FieldViolation {
        let rest = self.rest();
        let word = &rest[..rest.find(|c| !is_name_char(c)).unwrap_or(rest.len())];
        if let Some(keyword) = ["AND", "OR", "NOT"].iter().find(|k| k.eq_ignore_ascii_case(word) && **k != word) {
            return self.error(self.at, format!("write {word:?} in capitals: {keyword}"));
        }
        if rest.starts_with(')') && !in_group {
            return self.error(self.at, "this \")\" has no matching \"(\"");
        }
        if rest.starts_with(|c| is_name_start(c) || matches!(c, '(' | '-' | '"')) {
            return self.error(
                self.at,
                format!(
                    "expected AND or OR before {}: terms are not joined implicitly (write AND between them, or \
                     quote a value that has spaces)",
                    self.found(self.at)
                ),
            );
        }
        let end = if in_group { "\")\"" } else { "the end of the filter" };
        self.error(self.at, format!("expected AND, OR or {end}, found {}", self.found(self.at)))
    }

    /// A field name (`a.b_c`) at `at`, possibly empty.
    fn name(&mut self) -> &'a str {
        let rest = self.rest();
        let mut end = 0;
        while rest[end..].starts_with(is_name_start) {
            end += rest[end..].find(|c| !is_name_char(c)).unwrap_or(rest.len() - end);
            if !(rest[end..].starts_with('.') && rest[end + 1..].starts_with(is_name_start)) {
                break;
            }
            end += 1;
        }
        self.at += end;
        &rest[..end]
    }

    fn comparison(&mut self) -> Result<Node, FieldViolation> {
        self.skip_space();
        let start = self.at;
        let name = self.name();
        if name.is_empty() || name == "AND" || name == "OR" {
            return Err(self.error(
                start,
                format!("expected a comparison (a field name), \"(\" or NOT, found {}", self.found(start)),
            ));
        }
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(self.error(start, format!("more than {MAX_COMPARISONS} comparisons")));
        }
        let Some(field) = self.schema.field(name) else {
            if let Some(keyword) = ["NOT", "AND", "OR"].iter().find(|k| k.eq_ignore_ascii_case(name)) {
                return Err(self.error(start, format!("write {name:?} in capitals: {keyword}")));
            }
            return Err(
                self.error(start, format!("unknown field {name:?}; filterable fields are: {}", self.schema.names()))
            );
        };

        self.skip_space();
        let op_at = self.at;
        let rest = self.rest();
        let symbol = &rest[..rest.find(|c| !is_operator_char(c)).unwrap_or(rest.len())];
        let operators = Op::ALL.iter().map(Op::symbol).collect::<Vec<_>>().join(", ");
        if symbol.is_empty() {
            return Err(self.error(
                op_at,
                format!("expected an operator ({operators}) after {name:?}, found {}", self.found(op_at)),
            ));
        }
        let Some(op) = Op::from_symbol(symbol) else {
            return Err(self.error(op_at, format!("unknown operator {symbol:?}; operators are {operators}")));
        };
        self.at += symbol.len();
        let allowed = field.kind.operators();
        if !allowed.contains(&op) {
            let allowed = allowed.iter().map(Op::symbol).collect::<Vec<_>>().join(", ");
            return Err(self.error(
                op_at,
                format!(
                    "operator {:?} does not apply to {name} ({}); use {allowed}",
                    op.symbol(),
                    field.kind.describe()
                ),
            ));
        }

        self.skip_space();
        let value_at = self.at;
        let text = self.value(op)?;
        let value = field
            .kind
            .value(&text)
            .map_err(|why| self.error(value_at, format!("{why} ({name} is {})", field.kind.describe())))?;
        Ok(Node::Compare(Comparison { field, op, value }))
    }

    /// The text of the value after `op`: a quoted string, unescaped, or a word.
    fn value(&mut self, op: Op) -> Result<Cow<'a, str>, FieldViolation> {
        let at = self.at;
        let rest = self.rest();
        match rest.chars().next() {
            Some('"') => self.quoted().map(Cow::Owned),
            Some(c) if is_word_char(c) => {
                let word = &rest[..rest.find(|c| !is_word_char(c)).unwrap_or(rest.len())];
                if matches!(word, "AND" | "OR" | "NOT") {
                    return Err(self.error(
                        at,
                        format!("expected a value after {:?}, found {word} (quote it to mean the text)", op.symbol()),
                    ));
                }
                self.at += word.len();
                match self.peek() {
                    Some(c) if !c.is_whitespace() && c != ')' => Err(self.error(
                        self.at,
                        format!(
                            "{:?} cannot appear in an unquoted value; put the value in double quotes",
                            c.to_string()
                        ),
                    )),
                    _ => Ok(Cow::Borrowed(word)),
                }
            }
            None => Err(self.error(at, format!("expected a value after {:?}", op.symbol()))),
            Some(_) => {
                Err(self.error(at, format!("expected a value after {:?}, found {}", op.symbol(), self.found(at))))
            }
        }
    }

    /// The double-quoted string at `at`, with `\"` and `\\` unescaped.
    fn quoted(&mut self) -> Result<String, FieldViolation> {
        let open = self.at;
        let body = open + 1;
        let mut text = String::new();
        let mut chars = self.text[body..].char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' => {
                    self.at = body + offset + 1;
                    return Ok(text);
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('"' | '\\'))) => text.push(escaped),
                    Some((_, other)) => {
                        return Err(self.error(
                            body + offset,
                            format!("unknown escape \"\\{other}\"; a string may only escape \\\" and \\\\"),
                        ));
                    }
                    None => break,
                },
                c => text.push(c),
            }
        }
        Err(self.error(open, "this string is never closed (a \" is missing)"))
    }
}

/// A parsed `order_by`: the keys in order; empty means the method's default order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderBy {
    pub keys: Vec<OrderKey>,
}

/// One sort key: a field from the allowed list and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    pub field: &'static str,
    pub descending: bool,
}

impl OrderKey {
    pub fn order(&self) -> Order {
        if self.descending { Order::Desc } else { Order::Asc }
    }
}

/// Parses an `order_by` request field: `field [asc|desc]` separated by commas, each of `allowed` at most once;
/// blank text is no order.
pub fn parse_order_by(field: &str, text: &str, allowed: &[&'static str]) -> Result<OrderBy, FieldViolation> {
    too_long(field, text)?;
    let mut keys: Vec<OrderKey> = Vec::new();
    if text.trim().is_empty() {
        return Ok(OrderBy { keys });
    }
    let error = |at: usize, message: String| violation(field, text, at, message);
    let found = |at: usize| match text.get(at..).and_then(|rest| rest.chars().next()) {
        Some(c) => format!("{:?}", c.to_string()),
        None => "the end".to_owned(),
    };
    let mut start = 0;
    for segment in text.split(',') {
        let segment_at = start;
        start += segment.len() + 1;
        // Each word with its byte offset in `text`.
        let mut words = segment.split_whitespace().map(|word| (segment_at + offset_in(segment, word), word));
        let Some((name_at, name)) = words.next() else {
            let at = segment_at + segment.len() - segment.trim_start().len();
            return Err(error(at, format!("expected a field name, found {}", found(at))));
        };
        if let Some(bad) = name.find(|c: char| !is_name_char(c) && c != '.') {
            let hint = if bad == 0 && name.starts_with('-') {
                format!("to sort in descending order, write \"{} desc\"", &name[1..])
            } else {
                "separate fields with \",\"".to_owned()
            };
            let c = name[bad..].chars().next().map(String::from).unwrap_or_default();
            return Err(error(name_at + bad, format!("unexpected {c:?}; {hint}")));
        }
        let Some(&name) = allowed.iter().find(|allowed| **allowed == name) else {
            return Err(error(name_at, format!("unknown field {name:?}; sortable fields are: {}", allowed.join(", "))));
        };
        if keys.iter().any(|key| key.field == name) {
            return Err(error(name_at, format!("{name} appears more than once")));
        }
        let descending = match words.next() {
            None => false,
            Some((_, word)) if word.eq_ignore_ascii_case("asc") => false,
            Some((_, word)) if word.eq_ignore_ascii_case("desc") => true,
            Some((at, word)) => {
                return Err(error(
                    at,
                    format!("expected \"asc\" or \"desc\" after {name}, found {word:?} (separate fields with \",\")"),
                ));
            }
        };
        if let Some((at, word)) = words.next() {
            return Err(error(at, format!("expected \",\" before {word:?}")));
        }
        keys.push(OrderKey { field: name, descending });
    }
    Ok(OrderBy { keys })
}

/// The byte offset of `inner`, a slice of `outer`, within it.
fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// A schema with a field of every kind (and a nullable one, and one on a column of another name), shared by the
/// parser's unit tests, its property tests and its fuzz target, so that all three exercise the same grammar.
#[doc(hidden)]
pub mod example {
    use super::{FieldKind, FilterField, Schema};

    pub const STATUSES: &[&str] = &["tentative", "scheduled", "cancelled"];
    pub static FIELDS: [FilterField; 8] = [
        FilterField::new("display_name", FieldKind::String),
        FilterField::new("age", FieldKind::Integer),
        FilterField::new("active", FieldKind::Bool),
        FilterField::new("status", FieldKind::Enum(STATUSES)),
        FilterField::new("labels", FieldKind::List),
        FilterField::new("create_time", FieldKind::Timestamp),
        FilterField::new("organization", FieldKind::String).nullable(),
        FilterField::new("address.city", FieldKind::String).column("city"),
    ];
    pub static SCHEMA: Schema = Schema::new(&FIELDS);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
