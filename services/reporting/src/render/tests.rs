//! Tests of the renderer as a whole: file names, determinism, and snapshots of the sample report in every format
//! (`src/render/snapshots/`; `UPDATE_SNAPSHOTS=1 cargo test -p liaison-reporting render` rewrites them, then
//! read the diff).

use super::*;
use fixture::sample_report;
use liaison_proto::reporting::v1::Section;
use std::path::PathBuf;

const ALL: [Format; 3] = [Format::Markdown, Format::Csv, Format::Html];

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/render/snapshots")
}

#[test]
fn rendering_twice_gives_the_same_bytes() {
    let report = sample_report();
    for format in ALL {
        assert_eq!(render(&report, format).unwrap(), render(&report, format).unwrap(), "{format:?}");
    }
}

#[test]
fn the_sample_report_matches_its_snapshots() {
    let report = sample_report();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let mut mismatched = Vec::new();
    for format in ALL {
        for file in render(&report, format).unwrap() {
            let path = snapshot_dir().join(&file.file_name);
            if update {
                std::fs::write(&path, &file.content).unwrap();
                continue;
            }
            match std::fs::read(&path) {
                Ok(expected) if expected == file.content => {}
                Ok(_) => mismatched.push(format!("{} differs", path.display())),
                Err(e) => mismatched.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(mismatched.is_empty(), "{mismatched:#?}\nrerun with UPDATE_SNAPSHOTS=1 and review the diff");
}

#[test]
fn file_names_and_content_types_follow_the_report_and_its_sections() {
    let report = sample_report();
    let id = "0193aaaa-0000-7000-8000-000000000001";
    let markdown = render(&report, Format::Markdown).unwrap();
    assert_eq!(
        (markdown[0].file_name.clone(), markdown[0].content_type),
        (format!("report-{id}.md"), "text/markdown; charset=utf-8")
    );
    let html = render(&report, Format::Html).unwrap();
    assert_eq!(
        (html[0].file_name.clone(), html[0].content_type),
        (format!("report-{id}.html"), "text/html; charset=utf-8")
    );
    let csv: Vec<(String, &str)> =
        render(&report, Format::Csv).unwrap().into_iter().map(|f| (f.file_name, f.content_type)).collect();
    let expected: Vec<(String, &str)> = ["engagement", "meetings", "commitments", "projects", "mediation", "feedback"]
        .iter()
        .map(|section| (format!("report-{id}-{section}.csv"), "text/csv; charset=utf-8"))
        .collect();
    assert_eq!(csv, expected);
}

#[test]
fn a_name_or_section_id_cannot_escape_the_file_name() {
    let report = Report {
        name: "reports/../../etc/passwd".into(),
        sections: vec![Section { id: "a/b c".into(), ..Section::default() }],
        ..Report::default()
    };
    let files = render(&report, Format::Csv).unwrap();
    assert_eq!(files[0].file_name, "report-_._.._etc_passwd-a_b_c.csv");
    let unnamed = render(&Report::default(), Format::Markdown).unwrap();
    assert_eq!(unnamed[0].file_name, "report-unnamed.md");
}

#[test]
fn an_empty_report_renders_in_every_format() {
    let report = Report { name: "reports/empty".into(), title: "Nothing yet".into(), ..Report::default() };
    let markdown = String::from_utf8(render(&report, Format::Markdown).unwrap().remove(0).content).unwrap();
    assert!(markdown.starts_with("# Nothing yet\n"), "{markdown}");
    assert!(markdown.contains("- **Period start:** —\n"));
    assert!(markdown.contains("_This report has no sections._"));
    assert!(render(&report, Format::Csv).unwrap().is_empty());
    let html = String::from_utf8(render(&report, Format::Html).unwrap().remove(0).content).unwrap();
    assert!(html.contains("<h1>Nothing yet</h1>"));
}

#[test]
fn values_are_formatted_by_unit() {
    assert_eq!(format_value(87.5, "percent"), "87.5%");
    assert_eq!(format_value(23.44, "days"), "23.4 days");
    assert_eq!(format_value(4.25, "rating"), "4.2");
    assert_eq!(format_value(1234.0, "count"), "1,234");
    assert_eq!(format_value(1_234_567.5, "currency:EUR"), "EUR 1,234,567.50");
    assert_eq!(format_value(1234.5, "currency:EUR"), "EUR 1,234.50");
    assert_eq!(format_value(-1234.5, "currency:EUR"), "EUR -1,234.50");
    assert_eq!(format_value(-0.01, "percent"), "0.0%");
    assert_eq!(format_value(12.0, ""), "12");
    assert_eq!(format_value(2.5, "hours"), "2.50 hours");
    assert_eq!(format_value(f64::NAN, "count"), "n/a");
    assert_eq!(grouped(999.0, 0), "999");
    assert_eq!(grouped(100_000.0, 0), "100,000");
}

#[test]
fn times_are_rfc_3339_in_the_report_time_zone() {
    let mut report = sample_report();
    let meta = metadata(&report);
    assert!(meta.contains(&("Period start", "2026-01-01T00:00:00+00:00".to_owned())), "{meta:?}");
    report.time_zone = "Europe/Brussels".into();
    report.start_time = Some(prost_types::Timestamp { seconds: 1_767_222_000, nanos: 0 });
    let meta = metadata(&report);
    assert!(meta.contains(&("Period start", "2026-01-01T00:00:00+01:00".to_owned())), "{meta:?}");
    assert!(meta.contains(&("Period end (exclusive)", "2026-04-01T02:00:00+02:00".to_owned())), "{meta:?}");
    report.time_zone = "Mars/Olympus".into();
    let meta = metadata(&report);
    assert!(meta.contains(&("Time zone", "Mars/Olympus (unknown; times shown in UTC)".to_owned())), "{meta:?}");
}

#[test]
fn the_markdown_shows_figures_tables_series_and_redacted_evidence() {
    let markdown = String::from_utf8(render(&sample_report(), Format::Markdown).unwrap().remove(0).content).unwrap();
    assert!(markdown.starts_with("# Progress report — all — 2026-01-01 to 2026-04-01\n"));
    for expected in [
        "## Meetings\n",
        "| Attendance | 87.5% |\n",
        "| Mean time to resolution | 23.4 days |\n",
        "| Mean rating (1–5) | 4.2 |\n",
        "| Funding committed | EUR 1,234,567.50 |\n",
        "| City of Eastport \\| Planning | 31 | 7 | 2026-03-27 |\n",
        "| 2026-W13 | 14 |\n",
        "- (confidential case)\n",
        "- **As of:** contacts at change 1482, scheduling at change 3907, mediation at change 264\n",
    ] {
        assert!(markdown.contains(expected), "missing {expected:?} in\n{markdown}");
    }
}
