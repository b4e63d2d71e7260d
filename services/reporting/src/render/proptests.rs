//! Property tests of the renderer with any text in every field of a report (titles, labels, cells, units, notes,
//! names, the time zone): rendering never panics and is deterministic; the HTML page stays well-formed with the same
//! elements whatever the text, no `<` of the text opens markup, and the text reads back exactly where it is shown;
//! Markdown escapes every character that could open markup and keeps its line structure; CSV reads back as the
//! fields written, formulas guarded.
use super::*;
use liaison_proto::reporting::v1::{
    EvidenceRecord, Figure, Recommendation, Section, Series, SeriesPoint, SourceCursor, Table, TableCell, TableRow,
};
use proptest::prelude::*;

/// Every element the template and the charts write.
const ELEMENTS: &[&str] = &[
    "a",
    "article",
    "body",
    "caption",
    "circle",
    "code",
    "dd",
    "desc",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "head",
    "html",
    "li",
    "line",
    "meta",
    "nav",
    "ol",
    "p",
    "polyline",
    "rect",
    "section",
    "span",
    "style",
    "svg",
    "table",
    "tbody",
    "td",
    "text",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
];

/// Text that tries to be markup: tags that open, close and comment, entities, quotes that would end an attribute,
/// CDATA ends, Markdown and CSV syntax, other scripts; `controls` adds control characters (not allowed in XML at
/// all, so kept out of the well-formedness properties).
fn text(max: usize, controls: bool) -> BoxedStrategy<String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 ]{1,4}",
        2 => proptest::sample::select(&[
            "<", ">", "&", "\"", "'", "</section>", "<script>alert(1)</script>", "<x-evil>", "<b", "<!--", "-->",
            "]]>", "<![CDATA[", "&amp;", "&#60;", "&lt;", "=\"", " onload=\"x\"", "|", "*", "_", "`", "[a](b)", "#",
            "\\", "~", "=SUM(A1)", "+1", "-", "@", ",", "\n", "\t", "é", "日本", "🎉", "\u{a0}", "\u{2028}",
        ][..])
        .prop_map(str::to_owned),
        1 => proptest::sample::select(if controls { &["\r", "\u{0}", "\u{1b}", "\u{7f}", "\u{fffe}"][..] } else { &["x"][..] })
            .prop_map(str::to_owned),
    ];
    proptest::collection::vec(piece, 0..max).prop_map(|pieces| pieces.concat()).boxed()
}

fn values() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e6..1e6f64,
        1 => proptest::sample::select(vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, 1e-300, -0.04]),
        1 => any::<f64>(),
    ]
}

fn units(controls: bool) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(&["", "count", "percent", "days", "rating", "currency:EUR"][..])
            .prop_map(str::to_owned),
        text(3, controls).prop_map(|t| format!("currency:{t}")),
        text(3, controls),
    ]
}

fn figures(controls: bool) -> impl Strategy<Value = Vec<Figure>> {
    proptest::collection::vec(
        (text(4, controls), text(6, controls), values(), units(controls), any::<i64>())
            .prop_map(|(id, label, value, unit, evidence_count)| Figure { id, label, value, unit, evidence_count }),
        0..4,
    )
}

fn tables(controls: bool) -> impl Strategy<Value = Vec<Table>> {
    let cell = (text(4, controls), prop_oneof![Just(String::new()), text(3, controls)])
        .prop_map(|(text, figure)| TableCell { text, figure });
    let row = proptest::collection::vec(cell, 0..4).prop_map(|cells| TableRow { cells });
    proptest::collection::vec(
        (
            text(3, controls),
            text(5, controls),
            proptest::collection::vec(text(3, controls), 0..4),
            proptest::collection::vec(row, 0..4),
        )
            .prop_map(|(id, title, columns, rows)| Table { id, title, columns, rows }),
        0..3,
    )
}

fn series(controls: bool) -> impl Strategy<Value = Vec<Series>> {
    let point = (text(5, controls), values()).prop_map(|(label, value)| SeriesPoint { label, value });
    proptest::collection::vec(
        (text(3, controls), text(5, controls), -1..4i32, proptest::collection::vec(point, 0..8), units(controls))
            .prop_map(|(id, title, chart, points, unit)| Series { id, title, chart, points, unit }),
        0..3,
    )
}

fn sections(controls: bool) -> impl Strategy<Value = Vec<Section>> {
    proptest::collection::vec(
        (text(3, controls), text(6, controls), figures(controls), tables(controls), series(controls))
            .prop_map(|(id, title, figures, tables, series)| Section { id, title, figures, tables, series }),
        0..3,
    )
}

fn recommendations(controls: bool) -> impl Strategy<Value = Vec<Recommendation>> {
    let evidence = (text(4, controls), text(6, controls), any::<bool>())
        .prop_map(|(resource, note, redacted)| EvidenceRecord { resource, note, redacted, ..Default::default() });
    proptest::collection::vec(
        (
            text(3, controls),
            text(6, controls),
            text(10, controls),
            any::<i32>(),
            proptest::collection::vec(evidence, 0..3),
        )
            .prop_map(|(id, title, detail, priority, evidence)| Recommendation {
                id,
                title,
                detail,
                priority,
                evidence,
                ..Default::default()
            }),
        0..3,
    )
}

fn times() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    proptest::option::of(prop_oneof![
        (1_700_000_000i64..1_900_000_000).prop_map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
        any::<i64>().prop_map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
    ])
}

fn reports(controls: bool) -> impl Strategy<Value = Report> {
    let scope = prop_oneof![
        Just(None),
        Just(Some(Scope { selector: Some(Selector::All(true)) })),
        text(5, controls).prop_map(|n| Some(Scope { selector: Some(Selector::Organization(n)) })),
        text(5, controls).prop_map(|n| Some(Scope { selector: Some(Selector::Project(n)) })),
        text(5, controls).prop_map(|n| Some(Scope { selector: Some(Selector::Label(n)) })),
    ];
    let zone = prop_oneof![
        proptest::sample::select(&["", "UTC", "Europe/London", "Australia/Lord_Howe"][..]).prop_map(str::to_owned),
        text(4, controls),
    ];
    let head = (text(4, controls), -1..6i32, scope, times(), times(), zone, text(8, controls), times());
    let more = (text(4, controls), text(4, controls), times(), any::<bool>());
    let body = (
        sections(controls),
        recommendations(controls),
        proptest::collection::vec(
            (text(3, controls), any::<i64>()).prop_map(|(source, cursor)| SourceCursor { source, cursor }),
            0..3,
        ),
        figures(controls),
    );
    (head, more, body).prop_map(
        |(
            (name, kind, scope, start_time, end_time, time_zone, title, create_time),
            (creator, schedule, due_time, late),
            (sections, recommendations, as_of, headlines),
        )| Report {
            name: format!("reports/{name}"),
            kind,
            scope,
            start_time,
            end_time,
            time_zone,
            title,
            create_time,
            creator,
            schedule,
            due_time,
            late,
            sections,
            recommendations,
            as_of,
            headlines,
        },
    )
}

fn html_of(report: &Report) -> Result<String, TestCaseError> {
    let files = render(report, Format::Html).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(files.len(), 1);
    String::from_utf8(files[0].content.clone()).map_err(|e| TestCaseError::fail(e.to_string()))
}

fn markdown_of(report: &Report) -> Result<String, TestCaseError> {
    let files = render(report, Format::Markdown).map_err(|e| TestCaseError::fail(e.to_string()))?;
    String::from_utf8(files[0].content.clone()).map_err(|e| TestCaseError::fail(e.to_string()))
}

/// XML's attribute-value normalisation (what a parser gives back for an attribute written with these characters).
fn as_attribute(text: &str) -> String {
    text.replace(['\n', '\t'], " ")
}

/// The report with every non-empty text replaced by `x`: the same shape, nothing to escape.
fn plain(report: &Report) -> Report {
    let x = |t: &String| if t.is_empty() { String::new() } else { "x".to_owned() };
    let mut plain = report.clone();
    plain.title = x(&report.title);
    plain.creator = x(&report.creator);
    plain.schedule = x(&report.schedule);
    plain.time_zone = x(&report.time_zone);
    plain.scope = None;
    for cursor in &mut plain.as_of {
        cursor.source = x(&cursor.source);
    }
    for figure in plain.headlines.iter_mut().chain(plain.sections.iter_mut().flat_map(|s| s.figures.iter_mut())) {
        (figure.id, figure.label, figure.unit) = (x(&figure.id), x(&figure.label), String::new());
    }
    for section in &mut plain.sections {
        (section.id, section.title) = (x(&section.id), x(&section.title));
        for table in &mut section.tables {
            (table.id, table.title) = (x(&table.id), x(&table.title));
            table.columns = table.columns.iter().map(x).collect();
            for cell in table.rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
                (cell.text, cell.figure) = (x(&cell.text), x(&cell.figure));
            }
        }
        for one in &mut section.series {
            (one.id, one.title, one.unit) = (x(&one.id), x(&one.title), String::new());
            for point in &mut one.points {
                point.label = x(&point.label);
            }
        }
    }
    for recommendation in &mut plain.recommendations {
        (recommendation.title, recommendation.detail) = (x(&recommendation.title), x(&recommendation.detail));
        for record in &mut recommendation.evidence {
            (record.resource, record.note) = (x(&record.resource), x(&record.note));
        }
    }
    plain
}

/// The number of backslashes right before byte `at`.
fn backslashes_before(text: &str, at: usize) -> usize {
    text[..at].bytes().rev().take_while(|b| *b == b'\\').count()
}

/// RFC 4180 records (CRLF-terminated), each a list of fields; an empty line is `None` (a block separator).
fn csv_records(text: &str) -> Result<Vec<Option<Vec<String>>>, String> {
    let mut records = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\r\n") {
            records.push(None);
            rest = after;
            continue;
        }
        let mut fields = Vec::new();
        loop {
            let (field, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let mut field = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) if quoted[i + 1..].starts_with('"') => {
                            field.push('"');
                            chars.next();
                        }
                        Some((i, '"')) => break i + 1,
                        Some((_, c)) => field.push(c),
                        None => return Err("a quoted field is not closed".into()),
                    }
                };
                (field, &quoted[end..])
            } else {
                let end = rest.find([',', '\r', '\n', '"']).unwrap_or(rest.len());
                if rest[end..].starts_with(['"', '\n']) {
                    return Err(format!("a bare quote or LF in {rest:?}"));
                }
                (rest[..end].to_owned(), &rest[end..])
            };
            fields.push(field);
            if let Some(next) = after.strip_prefix(',') {
                rest = next;
            } else if let Some(next) = after.strip_prefix("\r\n") {
                rest = next;
                break;
            } else {
                return Err(format!("a field runs on into {after:?}"));
            }
        }
        records.push(Some(fields));
    }
    Ok(records)
}

/// What a spreadsheet should read for `field`: the text, with a `'` before one that would run as a formula.
fn guarded(field: &str) -> String {
    let number = field.parse::<f64>().is_ok() && !field.chars().any(|c| c.is_alphabetic() && !matches!(c, 'e' | 'E'));
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number { format!("'{field}") } else { field.to_owned() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_report_renders_in_every_format_the_same_twice(report in reports(true)) {
        for format in [Format::Markdown, Format::Csv, Format::Html] {
            let once = render(&report, format).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(render(&report, format).ok(), Some(once.clone()));
            for file in &once {
                prop_assert!(file.file_name.starts_with("report-"));
                prop_assert!(file.file_name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')), "{}", file.file_name);
            }
        }
    }

    #[test]
    fn no_markup_in_the_text_reaches_the_html_as_markup(report in reports(true)) {
        let html = html_of(&report)?;
        for injected in ["<script", "<x-evil", "</section><", "<b", "<!--", "<![CDATA[", " onload=\""] {
            let written = html.matches(injected).count();
            let template = html_of(&plain(&report))?.matches(injected).count();
            prop_assert_eq!(written, template, "{:?} from the text reached the page", injected);
        }
    }

    #[test]
    fn the_html_page_is_well_formed_with_the_same_elements_and_shows_the_text_exactly(report in reports(false)) {
        let html = html_of(&report)?;
        let options = || roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() };
        let doc = roxmltree::Document::parse_with_options(&html, options())
            .map_err(|e| TestCaseError::fail(format!("not well-formed: {e}")))?;
        let elements: Vec<String> = doc.descendants().filter(|n| n.is_element()).map(|n| n.tag_name().name().to_owned()).collect();
        prop_assert!(elements.iter().all(|e| ELEMENTS.contains(&e.as_str())), "{elements:?}");
        // The text decides no element: the page of the same report with plain text has the same tags in order,
        // except the charts' labels (drawn or not by their length) and their tooltips.
        let plain_html = html_of(&plain(&report))?;
        let plain_doc = roxmltree::Document::parse_with_options(&plain_html, options()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let outside_charts = |doc: &roxmltree::Document<'_>| -> Vec<String> {
            doc.descendants()
                .filter(|n| n.is_element() && !n.ancestors().skip(1).any(|a| a.has_tag_name("svg")))
                .map(|n| n.tag_name().name().to_owned())
                .collect()
        };
        prop_assert_eq!(outside_charts(&doc), outside_charts(&plain_doc));
        // The text reads back as it was given: the title, each section's heading, each figure's label and id.
        let text_of = |node: roxmltree::Node<'_, '_>| -> String { node.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect() };
        let h1: Vec<String> = doc.descendants().filter(|n| n.has_tag_name("h1")).map(text_of).collect();
        prop_assert_eq!(h1, vec![report.title.clone()]);
        let h2: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("h2") && n.parent().and_then(|p| p.attribute("id")).is_some_and(|id| id.starts_with("section-")))
            .map(text_of)
            .collect();
        prop_assert_eq!(h2, report.sections.iter().map(|s| s.title.clone()).collect::<Vec<_>>());
        let figures = report.headlines.iter().chain(report.sections.iter().flat_map(|s| &s.figures));
        let shown: Vec<(String, String)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("li") && n.attribute("class") == Some("figure"))
            .map(|n| {
                let label = n.children().find(|c| c.attribute("class") == Some("label")).map(text_of).unwrap_or_default();
                (n.attribute("title").unwrap_or_default().to_owned(), label)
            })
            .collect();
        prop_assert_eq!(shown, figures.map(|f| (as_attribute(&f.id), f.label.clone())).collect::<Vec<_>>());
        let articles = doc.descendants().filter(|n| n.has_tag_name("article")).count();
        prop_assert_eq!(articles, report.recommendations.len());
        let charts = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
        prop_assert_eq!(charts, report.sections.iter().map(|s| s.series.len()).sum::<usize>());
    }

    #[test]
    fn markdown_escapes_every_character_of_the_text_that_could_open_markup(report in reports(true)) {
        let markdown = markdown_of(&report)?;
        for (at, c) in markdown.char_indices() {
            if matches!(c, '<' | '>' | '[' | ']' | '`' | '&' | '~') {
                prop_assert!(backslashes_before(&markdown, at) % 2 == 1, "unescaped {:?} at {} in {:?}", c, at, &markdown[at.saturating_sub(20)..(at + 20).min(markdown.len())]);
            }
        }
        // Text never starts a line or ends one: the document has the lines of the same report in plain text.
        prop_assert_eq!(markdown.lines().count(), markdown_of(&plain(&report))?.lines().count());
        prop_assert!(!markdown.contains('\r'));
    }

    #[test]
    fn each_csv_file_reads_back_as_the_fields_written_with_formulas_guarded(report in reports(true)) {
        let files = render(&report, Format::Csv).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(files.len(), report.sections.len());
        for (file, section) in files.iter().zip(&report.sections) {
            let text = String::from_utf8(file.content.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let records = csv_records(&text).map_err(TestCaseError::fail)?;
            // The blocks: figures, then each table, then the series, separated by an empty line.
            let mut expected: Vec<Option<Vec<String>>> = vec![Some(vec!["figure".into(), "label".into(), "value".into(), "unit".into()])];
            let number = |v: f64| if v.is_finite() { format!("{}", if v == 0.0 { 0.0 } else { v }) } else { String::new() };
            for f in &section.figures {
                expected.push(Some(vec![guarded(&f.id), guarded(&f.label), guarded(&number(f.value)), guarded(&f.unit)]));
            }
            for table in &section.tables {
                expected.push(None);
                expected.push(Some(vec![guarded(if table.title.is_empty() { &table.id } else { &table.title })]));
                if !table.columns.is_empty() {
                    expected.push(Some(table.columns.iter().map(|c| guarded(c)).collect()));
                }
                for row in &table.rows {
                    let cells: Vec<String> = row.cells.iter().map(|c| guarded(&c.text)).collect();
                    expected.push(Some(if cells.is_empty() { vec![String::new()] } else { cells }));
                }
            }
            if section.series.iter().any(|s| !s.points.is_empty()) {
                expected.push(None);
                expected.push(Some(vec!["series".into(), "label".into(), "value".into()]));
                for one in &section.series {
                    for point in &one.points {
                        expected.push(Some(vec![guarded(&one.id), guarded(&point.label), guarded(&number(point.value))]));
                    }
                }
            }
            prop_assert_eq!(records, expected, "{}", text);
        }
    }
}
