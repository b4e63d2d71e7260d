//! The HTML rendering: one self-contained page (`templates/report.html`, checked at compile time by askama),
//! with the CSS inline, the charts as inline SVG, and no script, font, image or link to anything outside it, so
//! that it can be mailed, archived and printed as is. A Content-Security-Policy in the page forbids anything
//! else, should some text ever get through unescaped.
//!
//! The template only lays out what this module has already formatted: values read the same as in Markdown.

use super::{RenderError, evidence_label, file_safe, format_value, metadata, priority_label, svg};
use askama::Template;
use liaison_proto::reporting::v1::{Figure, Recommendation, Report, Section, Table};

pub(super) fn render(report: &Report) -> Result<String, RenderError> {
    let page = Page {
        title: &report.title,
        metadata: metadata(report),
        headlines: report.headlines.iter().map(FigureView::new).collect(),
        sections: report.sections.iter().map(SectionView::new).collect(),
        recommendations: report.recommendations.iter().map(RecommendationView::new).collect(),
    };
    page.render().map_err(|e| RenderError::Template(e.to_string()))
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    title: &'a str,
    metadata: Vec<(&'static str, String)>,
    headlines: Vec<FigureView<'a>>,
    sections: Vec<SectionView<'a>>,
    recommendations: Vec<RecommendationView<'a>>,
}

struct FigureView<'a> {
    id: &'a str,
    label: &'a str,
    value: String,
    evidence: String,
}

impl<'a> FigureView<'a> {
    fn new(figure: &'a Figure) -> Self {
        let evidence = match figure.evidence_count {
            1 => "from 1 record".to_owned(),
            n => format!("from {n} records"),
        };
        FigureView { id: &figure.id, label: &figure.label, value: format_value(figure.value, &figure.unit), evidence }
    }
}

struct SectionView<'a> {
    anchor: String,
    title: &'a str,
    figures: Vec<FigureView<'a>>,
    tables: Vec<TableView<'a>>,
    charts: Vec<ChartView<'a>>,
}

impl<'a> SectionView<'a> {
    fn new(section: &'a Section) -> Self {
        SectionView {
            anchor: format!("section-{}", file_safe(&section.id)),
            title: &section.title,
            figures: section.figures.iter().map(FigureView::new).collect(),
            tables: section.tables.iter().map(TableView::new).collect(),
            charts: section
                .series
                .iter()
                .map(|series| ChartView { title: &series.title, svg: svg::chart(series) })
                .collect(),
        }
    }
}

struct TableView<'a> {
    title: &'a str,
    columns: Vec<ColumnView<'a>>,
    rows: Vec<Vec<CellView<'a>>>,
}

struct ColumnView<'a> {
    title: &'a str,
    numeric: bool,
}

impl<'a> TableView<'a> {
    fn new(table: &'a Table) -> Self {
        // Short rows are padded so that every row has a cell under every heading (and zebra rows stay whole).
        let width = table.rows.iter().map(|row| row.cells.len()).chain([table.columns.len()]).max().unwrap_or(0);
        let rows = table
            .rows
            .iter()
            .map(|row| {
                (0..width)
                    .map(|i| {
                        row.cells.get(i).map_or(CellView { text: "", figure: "" }, |cell| CellView {
                            text: &cell.text,
                            figure: &cell.figure,
                        })
                    })
                    .collect()
            })
            .collect();
        // A column of figures is a column of numbers: right-aligned, heading included.
        let numeric = |i: usize| {
            !table.rows.is_empty()
                && table.rows.iter().all(|row| row.cells.get(i).is_some_and(|c| !c.figure.is_empty()))
        };
        let columns = (0..width)
            .map(|i| ColumnView { title: table.columns.get(i).map_or("", String::as_str), numeric: numeric(i) })
            .collect();
        TableView { title: &table.title, columns, rows }
    }
}

struct CellView<'a> {
    text: &'a str,
    /// The figure the cell shows (numbers are right-aligned and name their figure in a tooltip).
    figure: &'a str,
}

struct ChartView<'a> {
    title: &'a str,
    /// Markup from `svg`, which escapes every text it draws.
    svg: String,
}

struct RecommendationView<'a> {
    title: &'a str,
    detail: &'a str,
    priority: i32,
    priority_label: String,
    evidence: Vec<EvidenceView<'a>>,
}

impl<'a> RecommendationView<'a> {
    fn new(recommendation: &'a Recommendation) -> Self {
        RecommendationView {
            title: &recommendation.title,
            detail: &recommendation.detail,
            priority: recommendation.priority.clamp(0, 4),
            priority_label: priority_label(recommendation.priority),
            evidence: recommendation
                .evidence
                .iter()
                .map(|record| EvidenceView {
                    label: evidence_label(record),
                    note: if record.redacted { "" } else { &record.note },
                    redacted: record.redacted,
                })
                .collect(),
        }
    }
}

struct EvidenceView<'a> {
    label: String,
    note: &'a str,
    redacted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture::sample_report;

    /// The page as XML: the template writes void elements as `<meta … />` so that a plain XML parser can check
    /// that every tag is closed and every entity valid.
    fn parse(html: &str) -> roxmltree::Document<'_> {
        let options = roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() };
        roxmltree::Document::parse_with_options(html, options).unwrap_or_else(|e| panic!("not well-formed: {e}"))
    }

    fn text_of<'a>(doc: &'a roxmltree::Document<'a>, tag: &str) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag))
            .map(|n| n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect())
            .collect()
    }

    #[test]
    fn the_page_is_well_formed_and_starts_with_the_title() {
        let report = sample_report();
        let html = render(&report).unwrap();
        let doc = parse(&html);
        // The page's title, then each chart's (the first child of its `svg`).
        let titles: Vec<String> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("title") && n.parent().is_some_and(|p| p.has_tag_name("head") || p.has_tag_name("svg"))
            })
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(titles, [report.title.as_str(), "Interactions per week", "Cases by stage", "Time to resolution"]);
        let body = doc.descendants().find(|n| n.has_tag_name("body")).unwrap();
        let first = body.first_element_child().unwrap();
        assert_eq!((first.tag_name().name(), text_of(&doc, "h1")), ("h1", vec![report.title]));
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("svg")).count(), 3);
    }

    #[test]
    fn the_page_loads_nothing_from_outside_and_runs_no_script() {
        let html = render(&sample_report()).unwrap();
        for forbidden in ["<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "http://", "https://"] {
            let allowed = forbidden == "http://"
                && html.matches(forbidden).count() == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
            assert!(allowed || !html.contains(forbidden), "the page contains {forbidden}");
        }
        assert!(html.contains(
            r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'" />"#
        ));
        assert!(html.contains("@media print") && html.contains("@page { margin: 15mm; }"));
    }

    #[test]
    fn a_label_with_markup_is_escaped_in_html_and_svg() {
        let mut report = sample_report();
        let evil = "<script>alert('x')</script> & \"friends\"";
        report.title = evil.into();
        report.sections[0].title = evil.into();
        report.sections[0].figures[0].label = evil.into();
        report.sections[0].tables[0].rows[0].cells[0].text = evil.into();
        report.sections[0].series[0].title = evil.into();
        report.sections[0].series[0].points[0].label = evil.into();
        report.recommendations[0].detail = evil.into();
        report.recommendations[0].evidence[0].note = evil.into();
        let html = render(&report).unwrap();
        assert!(!html.contains("<script"), "{html}");
        let doc = parse(&html);
        assert!(doc.descendants().all(|n| !n.has_tag_name("script")));
        assert_eq!(text_of(&doc, "h1"), [evil]);
        // Askama escapes with numeric references; the SVG module with named ones.
        assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#34;friends&#34;"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;"));
    }

    #[test]
    fn a_redacted_record_shows_as_a_confidential_case_without_its_note() {
        let mut report = sample_report();
        report.recommendations[1].evidence[1].note = "secret note".into();
        report.recommendations[1].evidence[1].resource = "cases/secret".into();
        let html = render(&report).unwrap();
        assert!(html.contains("(confidential case)"));
        assert!(!html.contains("secret"));
    }

    #[test]
    fn a_report_without_sections_renders_a_page_with_its_title() {
        let report = Report { title: "Empty".into(), ..Report::default() };
        let html = render(&report).unwrap();
        let doc = parse(&html);
        assert_eq!(text_of(&doc, "h1"), ["Empty"]);
        assert!(html.contains("This report has no sections."));
    }
}
