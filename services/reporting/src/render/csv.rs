//! The CSV rendering: one RFC 4180 file per section (CRLF line endings, fields quoted when they hold a comma, a
//! quote or a line break), for spreadsheets.
//!
//! Blocks are separated by an empty line: the figures (`figure,label,value,unit`), then each table (its title
//! on a line of its own, its headings, its rows), then the series (`series,label,value`). Values are raw numbers
//! (no unit formatting), so a spreadsheet can compute with them.
//!
//! Labels and cells come from what people typed (organisation names, notes), and a spreadsheet runs a cell that
//! starts with `=`, `+`, `-` or `@` as a formula: such a cell is prefixed with `'` unless it is a plain number.

use liaison_proto::reporting::v1::Section;

pub(super) fn render_section(section: &Section) -> String {
    let mut out = String::new();
    record(&mut out, &["figure", "label", "value", "unit"]);
    for figure in &section.figures {
        record(&mut out, &[&figure.id, &figure.label, &number(figure.value), &figure.unit]);
    }
    for table in &section.tables {
        out.push_str("\r\n");
        let title = if table.title.is_empty() { &table.id } else { &table.title };
        record(&mut out, &[title]);
        if !table.columns.is_empty() {
            let columns: Vec<&str> = table.columns.iter().map(String::as_str).collect();
            record(&mut out, &columns);
        }
        for row in &table.rows {
            let cells: Vec<&str> = row.cells.iter().map(|cell| cell.text.as_str()).collect();
            record(&mut out, &cells);
        }
    }
    if section.series.iter().any(|series| !series.points.is_empty()) {
        out.push_str("\r\n");
        record(&mut out, &["series", "label", "value"]);
        for series in &section.series {
            for point in &series.points {
                record(&mut out, &[&series.id, &point.label, &number(point.value)]);
            }
        }
    }
    out
}

/// A value as a spreadsheet reads it; empty when it is not a number at all.
fn number(value: f64) -> String {
    // `-0` (a rounding leftover) reads as a minus sign with nothing to it.
    let value = if value == 0.0 { 0.0 } else { value };
    if value.is_finite() { format!("{value}") } else { String::new() }
}

fn record(out: &mut String, fields: &[&str]) {
    // A record of one empty field, or of none (a table row without cells), would be an empty line, which reads as
    // a block separator.
    if let [] | [""] = fields {
        out.push_str("\"\"\r\n");
        return;
    }
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field_text(field));
    }
    out.push_str("\r\n");
}

/// One field: guarded against formula injection, then quoted if RFC 4180 requires it.
fn field_text(field: &str) -> String {
    let guarded =
        if starts_like_a_formula(field) && !is_plain_number(field) { format!("'{field}") } else { field.to_owned() };
    if guarded.contains([',', '"', '\r', '\n']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

fn starts_like_a_formula(field: &str) -> bool {
    field.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `-12`, `+3.5`, `1e-3`: a number a spreadsheet reads as a number, not as a formula.
fn is_plain_number(field: &str) -> bool {
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (digits, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = !(int.is_empty() && frac.is_empty()) && all_digits(int) && all_digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::reporting::v1::{ChartKind, Figure, Series, SeriesPoint, Table, TableCell, TableRow};

    #[test]
    fn fields_with_a_comma_a_quote_or_a_line_break_are_quoted_and_quotes_doubled() {
        assert_eq!(field_text("plain"), "plain");
        assert_eq!(field_text("a,b"), "\"a,b\"");
        assert_eq!(field_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field_text("two\nlines"), "\"two\nlines\"");
        assert_eq!(field_text("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn a_cell_that_starts_like_a_formula_is_prefixed_with_a_quote() {
        assert_eq!(field_text("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(field_text("+1+2"), "'+1+2");
        assert_eq!(field_text("-2+3"), "'-2+3");
        assert_eq!(field_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field_text("\tx"), "'\tx");
        assert_eq!(field_text("a=b"), "a=b");
    }

    #[test]
    fn a_plain_negative_or_signed_number_is_not_guarded() {
        for number in ["-5", "-0.25", "+3", "-1e-3", "2.5E+4", "-.5"] {
            assert_eq!(field_text(number), number);
        }
        for not_number in ["-", "-e5", "-1e", "-1.2.3", "--1", "-inf"] {
            assert_eq!(field_text(not_number), format!("'{not_number}"), "{not_number}");
        }
    }

    #[test]
    fn a_section_has_figures_then_tables_then_series_with_crlf_line_endings() {
        let section = Section {
            id: "meetings".into(),
            title: "Meetings".into(),
            figures: vec![Figure {
                id: "meetings.held".into(),
                label: "Meetings held, total".into(),
                value: 42.0,
                unit: "count".into(),
                evidence_count: 42,
            }],
            tables: vec![Table {
                id: "meetings.by_organization".into(),
                title: "By organisation".into(),
                columns: vec!["Organisation".into(), "Held".into()],
                rows: vec![TableRow {
                    cells: vec![
                        TableCell { text: "=cmd|' /C calc'!A0".into(), figure: String::new() },
                        TableCell { text: "-3".into(), figure: "meetings.held{organization=x}".into() },
                    ],
                }],
            }],
            series: vec![Series {
                id: "meetings.weekly".into(),
                title: "Weekly".into(),
                chart: ChartKind::Line.into(),
                points: vec![SeriesPoint { label: "2026-W01".into(), value: 1.5 }],
                unit: "count".into(),
            }],
        };
        assert_eq!(
            render_section(&section),
            "figure,label,value,unit\r\n\
             meetings.held,\"Meetings held, total\",42,count\r\n\
             \r\n\
             By organisation\r\n\
             Organisation,Held\r\n\
             '=cmd|' /C calc'!A0,-3\r\n\
             \r\n\
             series,label,value\r\n\
             meetings.weekly,2026-W01,1.5\r\n"
        );
    }

    #[test]
    fn an_empty_section_still_has_the_figure_heading_and_an_untitled_table_keeps_its_line() {
        let section = Section {
            tables: vec![Table { id: String::new(), title: String::new(), columns: vec![], rows: vec![] }],
            ..Section::default()
        };
        assert_eq!(render_section(&section), "figure,label,value,unit\r\n\r\n\"\"\r\n");
    }

    #[test]
    fn a_value_that_is_not_a_number_is_left_empty() {
        assert_eq!(number(f64::NAN), "");
        assert_eq!(number(f64::INFINITY), "");
        assert_eq!(number(87.5), "87.5");
        assert_eq!(number(-0.0), "0");
    }
}
