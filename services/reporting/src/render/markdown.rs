//! The Markdown rendering: one file, readable as plain text and as rendered CommonMark/GitHub Markdown.
//!
//! Text from the report is escaped with backslashes rather than entities so that it still reads well as plain
//! text, and so that no label can open a link, an HTML tag or a new table cell in a renderer.

use super::{evidence_label, format_value, metadata, priority_label};
use liaison_proto::reporting::v1::{Figure, Report, Section, Series, Table};
use std::fmt::Write as _;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    line(&mut out, &format!("# {}", inline(&report.title)));
    out.push('\n');
    for (label, value) in metadata(report) {
        line(&mut out, &format!("- **{label}:** {}", inline(&value)));
    }
    if !report.headlines.is_empty() {
        out.push('\n');
        line(&mut out, "## Headline figures");
        out.push('\n');
        figures(&mut out, &report.headlines);
    }
    if report.sections.is_empty() {
        out.push('\n');
        line(&mut out, "_This report has no sections._");
    }
    for section in &report.sections {
        render_section(&mut out, section);
    }
    if !report.recommendations.is_empty() {
        out.push('\n');
        line(&mut out, "## Recommendations");
        for (i, recommendation) in report.recommendations.iter().enumerate() {
            out.push('\n');
            line(&mut out, &format!("### {}. {}", i + 1, inline(&recommendation.title)));
            out.push('\n');
            line(&mut out, &format!("**{}**", priority_label(recommendation.priority)));
            if !recommendation.detail.is_empty() {
                out.push('\n');
                line(&mut out, &inline(&recommendation.detail));
            }
            if !recommendation.evidence.is_empty() {
                out.push('\n');
                line(&mut out, "Evidence:");
                out.push('\n');
                for record in &recommendation.evidence {
                    let label = inline(&evidence_label(record));
                    if record.redacted || record.note.is_empty() {
                        line(&mut out, &format!("- {label}"));
                    } else {
                        line(&mut out, &format!("- {label} — {}", inline(&record.note)));
                    }
                }
            }
        }
    }
    out
}

fn render_section(out: &mut String, section: &Section) {
    out.push('\n');
    line(out, &format!("## {}", inline(&section.title)));
    if !section.figures.is_empty() {
        out.push('\n');
        figures(out, &section.figures);
    }
    for table in &section.tables {
        out.push('\n');
        line(out, &format!("### {}", inline(&table.title)));
        out.push('\n');
        render_table(out, table);
    }
    for series in &section.series {
        out.push('\n');
        line(out, &format!("### {}", inline(&series.title)));
        out.push('\n');
        render_series(out, series);
    }
}

fn figures(out: &mut String, figures: &[Figure]) {
    line(out, "| Figure | Value |");
    line(out, "| --- | ---: |");
    for figure in figures {
        line(out, &format!("| {} | {} |", cell(&figure.label), cell(&format_value(figure.value, &figure.unit))));
    }
}

fn render_table(out: &mut String, table: &Table) {
    // A Markdown table needs a heading for every column: pad the headings (and short rows) to the widest row.
    let width = table.rows.iter().map(|row| row.cells.len()).chain([table.columns.len()]).max().unwrap_or(0);
    if width == 0 {
        line(out, "_No rows._");
        return;
    }
    let headings: Vec<String> = (0..width).map(|i| cell(table.columns.get(i).map_or("", String::as_str))).collect();
    line(out, &format!("| {} |", headings.join(" | ")));
    // Columns of figures (numbers) are right-aligned, as in the HTML.
    let numeric = |i: usize| {
        !table.rows.is_empty() && table.rows.iter().all(|row| row.cells.get(i).is_some_and(|c| !c.figure.is_empty()))
    };
    let rule: String = (0..width).map(|i| if numeric(i) { " ---: |" } else { " --- |" }).collect();
    line(out, &format!("|{rule}"));
    for row in &table.rows {
        let cells: Vec<String> =
            (0..width).map(|i| cell(row.cells.get(i).map_or("", |cell| cell.text.as_str()))).collect();
        line(out, &format!("| {} |", cells.join(" | ")));
    }
}

fn render_series(out: &mut String, series: &Series) {
    if series.points.is_empty() {
        line(out, "_No data._");
        return;
    }
    line(out, "| Label | Value |");
    line(out, "| --- | ---: |");
    for point in &series.points {
        line(out, &format!("| {} | {} |", cell(&point.label), cell(&format_value(point.value, &series.unit))));
    }
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}

/// Escapes text for a Markdown paragraph, heading or table cell: one line, every character that could start
/// markup preceded by a backslash (CommonMark treats `\<` as a literal `<`, so no raw HTML gets through).
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_was_space = false;
    for c in text.chars() {
        match c {
            '\r' | '\n' => {
                if !last_was_space {
                    out.push(' ');
                }
                last_was_space = true;
                continue;
            }
            '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        last_was_space = c == ' ';
    }
    out
}

/// `inline`, and empty cells stay empty (a table reads better without placeholders).
fn cell(text: &str) -> String {
    inline(text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::reporting::v1::{TableCell, TableRow};

    fn table(columns: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            id: "t".into(),
            title: "T".into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|row| TableRow {
                    cells: row
                        .iter()
                        .map(|text| TableCell { text: (*text).to_owned(), figure: String::new() })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_pipe_in_a_table_cell_is_escaped_and_does_not_open_a_new_column() {
        let mut out = String::new();
        render_table(&mut out, &table(&["Name", "Note"], &[&["a|b", "line\nbreak"]]));
        assert_eq!(out, "| Name | Note |\n| --- | --- |\n| a\\|b | line break |\n");
    }

    #[test]
    fn short_rows_and_missing_headings_are_padded_to_the_widest_row() {
        let mut out = String::new();
        render_table(&mut out, &table(&["A"], &[&["1", "2"], &["3"]]));
        assert_eq!(out, "| A |  |\n| --- | --- |\n| 1 | 2 |\n| 3 |  |\n");
    }

    #[test]
    fn markup_in_text_is_escaped_so_no_html_or_link_gets_through() {
        assert_eq!(inline("<script>alert(1)</script>"), "\\<script\\>alert(1)\\</script\\>");
        assert_eq!(inline("[click](http://x)"), "\\[click\\](http://x)");
        assert_eq!(inline("*bold* and `code`"), "\\*bold\\* and \\`code\\`");
    }

    #[test]
    fn an_empty_table_and_an_empty_series_say_so() {
        let mut out = String::new();
        render_table(&mut out, &table(&[], &[]));
        render_series(&mut out, &Series::default());
        assert_eq!(out, "_No rows._\n_No data._\n");
    }
}
