//! What changed between two reports: figures paired by id (a figure has the same id in every report), and the
//! recommendations that appeared or went (paired by their id: the rule and what it is about).
use liaison_proto::reporting::v1 as wire;
use std::collections::{HashMap, HashSet};

/// Every figure of either report.
fn figures(report: &wire::Report) -> Vec<&wire::Figure> {
    report.sections.iter().flat_map(|s| &s.figures).collect()
}

/// Compares `base` (earlier) with `other` (later).
pub fn compare(base: &wire::Report, other: &wire::Report) -> wire::CompareReportsResponse {
    let base_figures: HashMap<&str, &wire::Figure> = figures(base).into_iter().map(|f| (f.id.as_str(), f)).collect();
    let other_figures = figures(other);
    let other_ids: HashSet<&str> = other_figures.iter().map(|f| f.id.as_str()).collect();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for figure in &other_figures {
        let before = base_figures.get(figure.id.as_str());
        let base_value = before.map_or(0.0, |f| f.value);
        if before.is_some() && base_value == figure.value {
            unchanged += 1;
            continue;
        }
        changes.push(change(figure, base_value, figure.value, before.is_some(), true));
    }
    for figure in figures(base) {
        if !other_ids.contains(figure.id.as_str()) {
            changes.push(change(figure, figure.value, 0.0, true, false));
        }
    }
    let base_recommendations: HashSet<&str> = base.recommendations.iter().map(|r| r.id.as_str()).collect();
    let other_recommendations: HashSet<&str> = other.recommendations.iter().map(|r| r.id.as_str()).collect();
    wire::CompareReportsResponse {
        changes,
        unchanged_count: unchanged,
        new_recommendations: other
            .recommendations
            .iter()
            .filter(|r| !base_recommendations.contains(r.id.as_str()))
            .cloned()
            .collect(),
        resolved_recommendations: base
            .recommendations
            .iter()
            .filter(|r| !other_recommendations.contains(r.id.as_str()))
            .cloned()
            .collect(),
    }
}

fn change(
    figure: &wire::Figure,
    base_value: f64,
    other_value: f64,
    in_base: bool,
    in_other: bool,
) -> wire::FigureChange {
    wire::FigureChange {
        figure: figure.id.clone(),
        label: figure.label.clone(),
        base_value,
        other_value,
        delta: super::report::round(other_value - base_value),
        in_base,
        in_other,
        unit: figure.unit.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(figures: &[(&str, f64)], recommendations: &[&str]) -> wire::Report {
        wire::Report {
            sections: vec![wire::Section {
                id: "meetings".into(),
                figures: figures
                    .iter()
                    .map(|(id, value)| wire::Figure { id: (*id).into(), value: *value, ..Default::default() })
                    .collect(),
                ..Default::default()
            }],
            recommendations: recommendations
                .iter()
                .map(|id| wire::Recommendation { id: (*id).into(), ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn figures_pair_by_id_and_only_differences_are_listed() {
        let base = report(&[("meetings.held", 4.0), ("meetings.cancelled", 1.0), ("gone", 2.0)], &["a", "b"]);
        let other = report(&[("meetings.held", 6.0), ("meetings.cancelled", 1.0), ("new", 3.0)], &["b", "c"]);
        let diff = compare(&base, &other);
        let got: Vec<(&str, f64, bool, bool)> =
            diff.changes.iter().map(|c| (c.figure.as_str(), c.delta, c.in_base, c.in_other)).collect();
        assert_eq!(got, [("meetings.held", 2.0, true, true), ("new", 3.0, false, true), ("gone", -2.0, true, false)]);
        assert_eq!(diff.unchanged_count, 1);
        assert_eq!(diff.new_recommendations.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(diff.resolved_recommendations.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_report_compared_with_itself_has_no_changes() {
        let one = report(&[("x", 1.0), ("y", 2.5)], &["r"]);
        let diff = compare(&one, &one);
        assert!(
            diff.changes.is_empty() && diff.new_recommendations.is_empty() && diff.resolved_recommendations.is_empty()
        );
        assert_eq!(diff.unchanged_count, 2);
    }
}
