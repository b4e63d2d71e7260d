use super::*;
use sea_orm::sea_query::{Query, SqliteQueryBuilder};

use super::example::SCHEMA;

fn parse(text: &str) -> Node {
    match parse_filter("filter", text, &SCHEMA) {
        Ok(filter) => filter.root().cloned().expect("not empty"),
        Err(violation) => panic!("{text}: {}", violation.description),
    }
}

fn error(text: &str) -> String {
    let violation = parse_filter("filter", text, &SCHEMA).expect_err(text);
    assert_eq!(violation.field, "filter");
    violation.description
}

fn cmp(name: &str, op: Op, value: Value) -> Node {
    Node::Compare(Comparison { field: SCHEMA.field(name).expect("known"), op, value })
}

fn age(op: Op, n: i64) -> Node {
    cmp("age", op, Value::Integer(n))
}

fn not(node: Node) -> Node {
    Node::Not(Box::new(node))
}

fn sql(text: &str) -> String {
    let filter = parse_filter("filter", text, &SCHEMA).expect(text);
    let query = Query::select().column("id").from("people").cond_where(filter.to_condition()).to_owned();
    let sql = query.to_string(SqliteQueryBuilder);
    sql.strip_prefix(r#"SELECT "id" FROM "people" WHERE "#).unwrap_or(&sql).to_owned()
}

#[test]
fn and_and_or_mixed_without_parentheses_are_refused_since_aip_160_and_sql_read_them_differently() {
    let (a, b, c) = (age(Op::Eq, 1), age(Op::Eq, 2), age(Op::Eq, 3));
    for mixed in ["age = 1 AND age = 2 OR age = 3", "age = 1 OR age = 2 AND age = 3"] {
        let message = error(mixed);
        assert!(message.contains("AND and OR are mixed without parentheses"), "{mixed}: {message}");
    }
    assert!(error("age = 1 AND age = 2 OR age = 3").starts_with("at position 21:"));
    assert_eq!(
        parse("(age = 1 AND age = 2) OR age = 3"),
        Node::Or(vec![Node::And(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(parse("age = 1 OR age = 2 OR age = 3"), Node::Or(vec![a.clone(), b.clone(), c.clone()]));
    assert_eq!(parse("age = 1 AND age = 2 AND age = 3"), Node::And(vec![a, b, c]), "a chain is one node");
}

#[test]
fn not_and_minus_negate_only_the_next_term() {
    assert_eq!(parse("NOT age = 1 AND age = 2"), Node::And(vec![not(age(Op::Eq, 1)), age(Op::Eq, 2)]));
    assert_eq!(parse("-labels:vip"), not(cmp("labels", Op::Has, Value::String("vip".into()))));
    assert_eq!(parse("NOT(age = 1)"), not(age(Op::Eq, 1)));
    assert_eq!(parse("NOT -age = 1"), age(Op::Eq, 1), "a double negation cancels");
    assert_eq!(parse("age > -5"), age(Op::Gt, -5), "a minus in a value is a sign, not NOT");
    assert!(error("NOTE = 1").contains("unknown field \"NOTE\""), "NOT is a keyword only as a whole word");
}

#[test]
fn parentheses_group_against_precedence() {
    assert_eq!(
        parse("age = 1 AND (age = 2 OR age = 3)"),
        Node::And(vec![age(Op::Eq, 1), Node::Or(vec![age(Op::Eq, 2), age(Op::Eq, 3)])])
    );
    assert_eq!(parse("  ( ( age=1 ) )  "), age(Op::Eq, 1));
    assert_eq!(parse("-(age = 1 OR age = 2)"), not(Node::Or(vec![age(Op::Eq, 1), age(Op::Eq, 2)])));
}

#[test]
fn every_operator_parses_with_or_without_spaces() {
    for (symbol, op) in [("=", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), ("<=", Op::Le), (">", Op::Gt), (">=", Op::Ge)] {
        assert_eq!(parse(&format!("age {symbol} 7")), age(op, 7));
        assert_eq!(parse(&format!("age{symbol}7")), age(op, 7));
    }
    assert_eq!(parse("labels : vip"), cmp("labels", Op::Has, Value::String("vip".into())));
}

#[test]
fn quoted_strings_unescape_quotes_and_backslashes_and_hold_anything() {
    assert_eq!(
        parse(r#"display_name = "say \"hi\" \\ o/""#),
        cmp("display_name", Op::Eq, Value::String(r#"say "hi" \ o/"#.into()))
    );
    assert_eq!(
        parse(r#"display_name = "a: (b) AND -c""#),
        cmp("display_name", Op::Eq, Value::String("a: (b) AND -c".into()))
    );
    assert_eq!(parse(r#"display_name = """#), cmp("display_name", Op::Eq, Value::String(String::new())));
}

#[test]
fn words_hold_emails_paths_signs_and_letters_of_any_script() {
    for word in ["ada@example.org", "a/b.c+d-e_f", "Zoë", "42"] {
        assert_eq!(parse(&format!("display_name = {word}")), cmp("display_name", Op::Eq, Value::String(word.into())));
    }
}

#[test]
fn values_are_read_as_their_fields_kind() {
    assert_eq!(parse("active = true"), cmp("active", Op::Eq, Value::Bool(true)));
    assert_eq!(parse(r#"age = "12""#), age(Op::Eq, 12), "quotes do not change the kind");
    assert_eq!(parse("status = SCHEDULED"), cmp("status", Op::Eq, Value::Enum("scheduled")));
    let time = DateTime::parse_from_rfc3339("2024-05-01T07:00:00Z").expect("valid").with_timezone(&Utc);
    assert_eq!(
        parse(r#"create_time >= "2024-05-01T09:00:00+02:00""#),
        cmp("create_time", Op::Ge, Value::Timestamp(time))
    );
    assert_eq!(parse("address.city = Paris"), cmp("address.city", Op::Eq, Value::String("Paris".into())));
}

#[test]
fn a_blank_filter_selects_everything() {
    for text in ["", "   \t"] {
        let filter = parse_filter("filter", text, &SCHEMA).expect("blank is fine");
        assert!(filter.is_empty());
        assert!(filter.to_condition().is_empty());
    }
}

#[test]
fn each_error_names_its_position_and_what_was_expected() {
    let cases: &[(&str, &str)] = &[
        (
            "labels:vip AND colour = red",
            "at position 16: unknown field \"colour\"; filterable fields are: display_name, age, active, status, \
             labels, create_time, organization, address.city",
        ),
        ("age =", "at position 6: expected a value after \"=\""),
        ("age = )", "at position 7: expected a value after \"=\", found \")\""),
        ("age = AND age = 1", "at position 7: expected a value after \"=\", found AND (quote it to mean the text)"),
        ("age == 1", "at position 5: unknown operator \"==\"; operators are =, !=, <, <=, >, >=, :"),
        ("age 1", "at position 5: expected an operator (=, !=, <, <=, >, >=, :) after \"age\", found \"1\""),
        (
            "display_name:ada",
            "at position 13: operator \":\" does not apply to display_name (a string field); use =, !=, <, <=, >, >=",
        ),
        ("active < true", "at position 8: operator \"<\" does not apply to active (a true/false field); use =, !="),
        ("labels = vip", "at position 8: operator \"=\" does not apply to labels (a list field); use :"),
        ("status > tentative", "at position 8: operator \">\" does not apply to status (an enum field); use =, !="),
        ("display_name = \"Ada", "at position 16: this string is never closed (a \" is missing)"),
        (r#"display_name = "a\nb""#, "at position 18: unknown escape \"\\n\"; a string may only escape \\\" and \\\\"),
        (
            "age = 1 age = 2",
            "at position 9: expected AND or OR before \"age\": terms are not joined implicitly (write AND between them, or quote a value that has spaces)",
        ),
        (
            "display_name = Ada Lovelace",
            "at position 20: expected AND or OR before \"Lovelace\": terms are not joined implicitly (write AND between them, or quote a value that has spaces)",
        ),
        ("age = 1 and age = 2", "at position 9: write \"and\" in capitals: AND"),
        ("not age = 1", "at position 1: write \"not\" in capitals: NOT"),
        ("age = 1)", "at position 8: this \")\" has no matching \"(\""),
        ("(age = 1", "at position 1: this \"(\" is never closed"),
        ("(age = 1 ; age = 2)", "at position 10: expected AND, OR or \")\", found \";\""),
        ("age = 1 AND ()", "at position 13: empty parentheses: put a comparison between them"),
        (
            "age = 1 AND",
            "at position 12: expected a comparison (a field name), \"(\" or NOT, found the end of the filter",
        ),
        ("= 1", "at position 1: expected a comparison (a field name), \"(\" or NOT, found \"=\""),
        ("OR age = 1", "at position 1: expected a comparison (a field name), \"(\" or NOT, found \"OR\""),
        (
            "display_name = a*",
            "at position 17: \"*\" cannot appear in an unquoted value; put the value in double quotes",
        ),
        ("age = 1.5", "at position 7: \"1.5\" is not an integer (age is an integer field)"),
        (
            "age = 99999999999999999999",
            "at position 7: \"99999999999999999999\" is not an integer (age is an integer field)",
        ),
        ("active = yes", "at position 10: \"yes\" is not true or false (active is a true/false field)"),
        (
            "status = done",
            "at position 10: \"done\" is not one of tentative, scheduled, cancelled (status is an enum field)",
        ),
        (
            "create_time > \"2024-05-01\"",
            "at position 15: \"2024-05-01\" is not an RFC 3339 timestamp such as \"2024-05-01T09:00:00Z\" (create_time is a timestamp field)",
        ),
        (
            "create_time > \"1850-01-01T00:00:00Z\"",
            "at position 15: \"1850-01-01T00:00:00Z\" is not between the years 1900 and 9999 (create_time is a timestamp field)",
        ),
        ("labels:\"a,b\"", "at position 8: \"a,b\" cannot be a list element: it holds \",\" (labels is a list field)"),
        (
            "create_time > 2024-05-01T09:00:00Z",
            "at position 28: \":\" cannot appear in an unquoted value; put the value in double quotes",
        ),
        ("display_name = \"é\" é = 1", "at position 20: expected AND, OR or the end of the filter, found \"é\""),
    ];
    for (text, expected) in cases {
        assert_eq!(error(text), *expected, "{text}");
    }
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(error("display_name = \"ééé\" AND colour = 1").split(':').next(), Some("at position 26"));
}

#[test]
fn a_filter_over_500_characters_is_refused_whole() {
    let at_limit = format!("display_name = \"{}\"", "x".repeat(MAX_FILTER_CHARS - 17));
    assert_eq!(at_limit.chars().count(), MAX_FILTER_CHARS);
    assert!(parse_filter("filter", &at_limit, &SCHEMA).is_ok());
    let over = format!("display_name = \"{}\"", "é".repeat(MAX_FILTER_CHARS - 16));
    assert_eq!(error(&over), "must be at most 500 characters (got 501)");
}

#[test]
fn more_than_20_comparisons_are_refused_at_the_21st() {
    let twenty = vec!["age=1"; MAX_COMPARISONS].join(" OR ");
    assert!(parse_filter("filter", &twenty, &SCHEMA).is_ok());
    let text = format!("{twenty} OR age=1");
    assert_eq!(error(&text), format!("at position {}: more than 20 comparisons", twenty.len() + 5));
}

#[test]
fn parentheses_nest_at_most_8_deep() {
    let nested = |depth: usize| format!("{}age = 1{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(parse(&nested(MAX_DEPTH)), age(Op::Eq, 1));
    assert_eq!(error(&nested(MAX_DEPTH + 1)), "at position 9: parentheses are nested more than 8 deep");
    let negations = format!("{}age = 1", "-".repeat(MAX_FILTER_CHARS - 7));
    assert_eq!(parse(&negations), not(age(Op::Eq, 1)), "a chain of negations takes no nesting");
}

const ORDERABLE: &[&str] = &["display_name", "create_time", "address.city"];

fn order(text: &str) -> Result<Vec<(&'static str, bool)>, String> {
    parse_order_by("order_by", text, ORDERABLE)
        .map(|order| order.keys.iter().map(|key| (key.field, key.descending)).collect())
        .map_err(|violation| {
            assert_eq!(violation.field, "order_by");
            violation.description
        })
}

#[test]
fn order_by_takes_fields_with_optional_directions() {
    assert_eq!(order(""), Ok(vec![]));
    assert_eq!(order("  "), Ok(vec![]));
    assert_eq!(order("create_time"), Ok(vec![("create_time", false)]));
    assert_eq!(
        order(" create_time desc ,display_name asc, address.city"),
        Ok(vec![("create_time", true), ("display_name", false), ("address.city", false)])
    );
    assert_eq!(order("create_time DESC"), Ok(vec![("create_time", true)]));
    let keys = parse_order_by("order_by", "create_time desc", ORDERABLE).expect("valid").keys;
    assert_eq!(keys[0].order(), Order::Desc);
}

#[test]
fn order_by_refuses_duplicates_unknown_fields_and_bad_separators() {
    let cases: &[(&str, &str)] = &[
        ("create_time, create_time desc", "at position 14: create_time appears more than once"),
        (
            "colour",
            "at position 1: unknown field \"colour\"; sortable fields are: display_name, create_time, address.city",
        ),
        ("create_time; display_name", "at position 12: unexpected \";\"; separate fields with \",\""),
        (
            "create_time display_name",
            "at position 13: expected \"asc\" or \"desc\" after create_time, found \"display_name\" (separate fields with \",\")",
        ),
        ("create_time desc asc", "at position 18: expected \",\" before \"asc\""),
        ("create_time,,display_name", "at position 13: expected a field name, found \",\""),
        ("create_time,", "at position 13: expected a field name, found the end"),
        (", create_time", "at position 1: expected a field name, found \",\""),
        ("-create_time", "at position 1: unexpected \"-\"; to sort in descending order, write \"create_time desc\""),
    ];
    for (text, expected) in cases {
        assert_eq!(order(text), Err((*expected).to_owned()), "{text}");
    }
    let long = format!("create_time{}", " ".repeat(MAX_FILTER_CHARS));
    assert_eq!(order(&long), Err(format!("must be at most 500 characters (got {})", MAX_FILTER_CHARS + 11)));
}

#[test]
fn translation_keeps_precedence_and_compares_exactly() {
    assert_eq!(
        sql(r#"(display_name = "Ada" AND age >= 30) OR labels:vip"#),
        r#"("display_name" = 'Ada' AND "age" >= 30) OR "labels" LIKE '%,vip,%' ESCAPE '\'"#
    );
    assert_eq!(sql("age = 1 AND (age = 2 OR active = true)"), r#""age" = 1 AND ("age" = 2 OR "active" = TRUE)"#);
    assert_eq!(sql("status = SCHEDULED"), r#""status" = 'scheduled'"#);
    assert_eq!(sql("address.city = Paris"), r#""city" = 'Paris'"#);
    assert_eq!(
        sql(r#"create_time < "2024-05-01T09:00:00+02:00""#),
        r#""create_time" < '2024-05-01 07:00:00.000000 +00:00'"#
    );
}

#[test]
fn translation_pushes_negations_down_to_inverted_comparisons() {
    assert_eq!(sql("NOT (age < 1 OR labels:vip)"), r#""age" >= 1 AND "labels" NOT LIKE '%,vip,%' ESCAPE '\'"#);
    assert_eq!(sql("-(age <= 1 AND age != 5)"), r#""age" > 1 OR "age" = 5"#);
    assert_eq!(sql("NOT age > 1"), r#""age" <= 1"#);
}

#[test]
fn negating_a_nullable_field_keeps_its_rows_without_a_value() {
    assert_eq!(sql(r#"organization != "x""#), r#""organization" IS NULL OR "organization" <> 'x'"#);
    assert_eq!(sql(r#"organization = "x""#), r#""organization" = 'x'"#);
}

#[test]
fn a_list_element_matches_only_itself_in_like() {
    assert_eq!(sql(r#"labels:"a_b%\\""#), r#""labels" LIKE '%,a\_b\%\\,%' ESCAPE '\'"#);
}

#[test]
fn translation_can_qualify_columns() {
    let filter = parse_filter("filter", "age = 1", &SCHEMA).expect("valid");
    let condition = filter.to_condition_with(|field| Expr::col(("p", field.column)));
    let query = Query::select().column("id").from("people").cond_where(condition).to_string(SqliteQueryBuilder);
    assert!(query.ends_with(r#"WHERE "p"."age" = 1"#), "{query}");
}

#[test]
fn a_schema_is_declared_in_one_static() {
    static DECLARED: Schema = Schema::new(&[
        FilterField::new("display_name", FieldKind::String),
        FilterField::new("state", FieldKind::Enum(&["active", "archived"])).column("lifecycle").nullable(),
    ]);
    let state = DECLARED.field("state").expect("declared");
    assert_eq!((state.column, state.nullable), ("lifecycle", true));
    let filter = parse_filter("filter", "state = ARCHIVED", &DECLARED).expect("valid");
    let query = Query::select().column("id").from("t").cond_where(filter.to_condition()).to_string(SqliteQueryBuilder);
    assert!(query.ends_with(r#"WHERE "lifecycle" = 'archived'"#), "{query}");
}

#[tokio::test]
async fn filters_select_exactly_the_matching_rows_in_sqlite() {
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect("sqlite::memory:").await.expect("in-memory SQLite");
    db.execute_unprepared(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, display_name TEXT NOT NULL, age INTEGER NOT NULL, \
         active BOOLEAN NOT NULL, status TEXT NOT NULL, labels TEXT NOT NULL, create_time TEXT NOT NULL, \
         organization TEXT, city TEXT NOT NULL)",
    )
    .await
    .expect("table");
    let time = |text: &str| DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc);
    let rows = [
        (1, "Ada", 36, true, "scheduled", ",board,vip,", time("2024-01-01T00:00:00Z"), Some("org-a"), "London"),
        (2, "Bob", 20, false, "tentative", ",axb,", time("2024-03-01T12:00:00.5Z"), None, "Paris"),
        (3, "Cy \"Q\"", 51, true, "cancelled", ",a_b,", time("2024-06-01T00:00:00Z"), Some("org-b"), "Paris"),
        (4, "Dee", 30, false, "scheduled", "", time("2023-12-31T23:59:59Z"), None, "Oslo"),
    ];
    for (id, name, age, active, status, labels, created, organization, city) in rows {
        let insert = Query::insert()
            .into_table("people")
            .columns(["id", "display_name", "age", "active", "status", "labels", "create_time", "organization", "city"])
            .values_panic([
                id.into(),
                name.into(),
                age.into(),
                active.into(),
                status.into(),
                labels.into(),
                created.into(),
                organization.into(),
                city.into(),
            ])
            .to_owned();
        db.execute(&insert).await.expect("insert");
    }
    let cases: &[(&str, &[i64])] = &[
        ("", &[1, 2, 3, 4]),
        ("labels:vip", &[1]),
        ("labels:a_b", &[3]),
        ("-labels:vip", &[2, 3, 4]),
        (r#"display_name = "Cy \"Q\"""#, &[3]),
        ("display_name = ada", &[]),
        ("(age >= 30 AND active = false) OR status = CANCELLED", &[3, 4]),
        ("age >= 30 AND (active = false OR status = cancelled)", &[3, 4]),
        ("age > 30 AND (active = false OR status = scheduled)", &[1]),
        ("organization != org-a", &[2, 3, 4]),
        ("NOT organization = org-a", &[2, 3, 4]),
        ("organization = org-a OR organization = org-b", &[1, 3]),
        (r#"create_time >= "2024-01-01T00:00:00Z""#, &[1, 2, 3]),
        (r#"create_time > "2024-03-01T13:00:00+01:00""#, &[2, 3]),
        (r#"create_time < "2024-03-01T12:00:00.5Z""#, &[1, 4]),
        ("NOT (address.city = Paris OR age < 31)", &[1]),
    ];
    for (text, expected) in cases {
        let filter = parse_filter("filter", text, &SCHEMA).expect(text);
        let query = Query::select()
            .column("id")
            .from("people")
            .cond_where(filter.to_condition())
            .order_by("id", Order::Asc)
            .to_owned();
        let ids: Vec<i64> = db
            .query_all(&query)
            .await
            .expect("query")
            .iter()
            .map(|row| row.try_get::<i64>("", "id").expect("id"))
            .collect();
        assert_eq!(ids, *expected, "{text}");
    }
}
