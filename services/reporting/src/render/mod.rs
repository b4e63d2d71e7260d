//! Renders a generated report as files people open: Markdown, CSV (one file per section) or one self-contained
//! HTML page with SVG charts. Rendering reads only the report, never the read model or the clock, so the same
//! report always gives the same bytes (`RenderReport` may be called any number of times on a snapshot).
//!
//! The helpers here format values the same way in every format, so a figure reads identically in the Markdown
//! and the HTML.

mod csv;
#[doc(hidden)]
pub mod fixture;
mod html;
mod markdown;
pub mod svg;

use liaison_proto::reporting::v1::{EvidenceRecord, Report, ReportKind, Scope, scope::Selector};

/// A format a report is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One Markdown file.
    Markdown,
    /// One CSV file per section.
    Csv,
    /// One self-contained HTML page.
    Html,
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// E.g. `report-{id}.md`.
    pub file_name: String,
    /// Its media type, with the charset.
    pub content_type: &'static str,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The HTML template failed (a formatter error while writing).
    #[error("rendering the template failed: {0}")]
    Template(String),
}

/// Renders `report`; deterministic: the same report gives the same bytes.
///
/// Markdown and HTML give one file; CSV one per section, so none for a report without sections.
pub fn render(report: &Report, format: Format) -> Result<Vec<RenderedFile>, RenderError> {
    let id = report_id(report);
    Ok(match format {
        Format::Markdown => vec![RenderedFile {
            file_name: format!("report-{id}.md"),
            content_type: "text/markdown; charset=utf-8",
            content: markdown::render(report).into_bytes(),
        }],
        Format::Html => vec![RenderedFile {
            file_name: format!("report-{id}.html"),
            content_type: "text/html; charset=utf-8",
            content: html::render(report)?.into_bytes(),
        }],
        Format::Csv => report
            .sections
            .iter()
            .map(|section| RenderedFile {
                file_name: format!("report-{id}-{}.csv", file_safe(&section.id)),
                content_type: "text/csv; charset=utf-8",
                content: csv::render_section(section).into_bytes(),
            })
            .collect(),
    })
}

/// The part of `reports/{id}` after the collection, made safe for a file name (it ends up in a
/// `Content-Disposition` header and on someone's disk).
fn report_id(report: &Report) -> String {
    let id = report.name.strip_prefix("reports/").unwrap_or(&report.name);
    if id.is_empty() { "unnamed".to_owned() } else { file_safe(id) }
}

/// Keeps letters, digits, `-`, `_` and `.` (not leading, so no hidden files or `..`); anything else becomes `_`.
fn file_safe(s: &str) -> String {
    let safe: String = s
        .chars()
        .enumerate()
        .map(|(i, c)| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || (c == '.' && i > 0) { c } else { '_' })
        .collect();
    if safe.is_empty() { "_".to_owned() } else { safe }
}

/// `value` rounded to `decimals`, without the `-0` that formatting a small negative number gives.
fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => text,
    }
}

/// `fixed` with a `,` between groups of three digits of the integer part.
fn grouped(value: f64, decimals: usize) -> String {
    let text = fixed(value, decimals);
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A value with its unit, for people: `87.5%`, `23.4 days`, `4.2`, `1,234`, `EUR 1,234.50`.
fn format_value(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    match unit {
        "count" => grouped(value, 0),
        "percent" => format!("{}%", fixed(value, 1)),
        "days" => format!("{} days", fixed(value, 1)),
        "rating" => fixed(value, 1),
        _ => {
            if let Some(currency) = unit.strip_prefix("currency:") {
                return format!("{currency} {}", grouped(value, 2));
            }
            let number = if value.fract() == 0.0 { grouped(value, 0) } else { grouped(value, 2) };
            if unit.is_empty() { number } else { format!("{number} {unit}") }
        }
    }
}

fn kind_label(kind: i32) -> &'static str {
    match ReportKind::try_from(kind) {
        Ok(ReportKind::Progress) => "Progress",
        Ok(ReportKind::Engagement) => "Engagement",
        Ok(ReportKind::Mediation) => "Mediation",
        Ok(ReportKind::ExecutiveSummary) => "Executive summary",
        Ok(ReportKind::Unspecified) | Err(_) => "Unspecified",
    }
}

fn scope_label(scope: Option<&Scope>) -> String {
    match scope.and_then(|scope| scope.selector.as_ref()) {
        None | Some(Selector::All(_)) => "all".to_owned(),
        Some(Selector::Organization(name)) => format!("organization {name}"),
        Some(Selector::Project(name)) => format!("project {name}"),
        Some(Selector::Label(label)) => format!("label {label}"),
    }
}

/// How a piece of evidence is named: never the resource of a redacted record (it would name a confidential case).
fn evidence_label(record: &EvidenceRecord) -> String {
    if record.redacted {
        "(confidential case)".to_owned()
    } else if record.resource.is_empty() {
        "(unnamed record)".to_owned()
    } else {
        record.resource.clone()
    }
}

fn priority_label(priority: i32) -> String {
    match priority {
        3 => "Priority 3 — act now".to_owned(),
        2 => "Priority 2 — plan it".to_owned(),
        1 => "Priority 1 — worth a look".to_owned(),
        other => format!("Priority {other}"),
    }
}

/// The report's time zone, UTC when it has none or one the bundled database does not know (the label says so).
fn time_zone(report: &Report) -> (jiff::tz::TimeZone, String) {
    let name = if report.time_zone.is_empty() { "UTC" } else { report.time_zone.as_str() };
    match jiff::tz::TimeZone::get(name) {
        Ok(tz) => (tz, name.to_owned()),
        Err(_) => (jiff::tz::TimeZone::UTC, format!("{name} (unknown; times shown in UTC)")),
    }
}

/// RFC 3339 in the report's time zone, to the second, e.g. `2026-01-01T00:00:00+01:00`.
fn format_time(time: Option<&prost_types::Timestamp>, tz: &jiff::tz::TimeZone) -> String {
    let Some(time) = time else { return "—".to_owned() };
    match jiff::Timestamp::from_second(time.seconds) {
        Ok(ts) => ts.display_with_offset(tz.to_offset(ts)).to_string(),
        Err(_) => "(invalid time)".to_owned(),
    }
}

/// The metadata every format that has one shows, in order, as (label, value).
fn metadata(report: &Report) -> Vec<(&'static str, String)> {
    let (tz, tz_label) = time_zone(report);
    let mut rows = vec![
        ("Kind", kind_label(report.kind).to_owned()),
        ("Scope", scope_label(report.scope.as_ref())),
        ("Period start", format_time(report.start_time.as_ref(), &tz)),
        ("Period end (exclusive)", format_time(report.end_time.as_ref(), &tz)),
        ("Time zone", tz_label),
        ("Generated", format_time(report.create_time.as_ref(), &tz)),
    ];
    if !report.creator.is_empty() {
        rows.push(("Generated by", report.creator.clone()));
    }
    if !report.schedule.is_empty() {
        rows.push(("Schedule", report.schedule.clone()));
        let due = format_time(report.due_time.as_ref(), &tz);
        rows.push(("Due", if report.late { format!("{due} (ran late)") } else { due }));
    }
    let as_of = if report.as_of.is_empty() {
        "—".to_owned()
    } else {
        report.as_of.iter().map(|c| format!("{} at change {}", c.source, c.cursor)).collect::<Vec<_>>().join(", ")
    };
    rows.push(("As of", as_of));
    rows
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
