//! Feedback: what a submission must hold (parsed whole at the edge, every bad field reported), and how ratings
//! are summarised — count, mean, distribution, weekly means and their trend.
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::api::error::FieldViolation;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::api::validate::{each, long_text};
use std::collections::BTreeMap;

pub const MAX_COMMENT: usize = 4_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 64;

/// A stored feedback entry, as reports read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    pub name: String,
    pub subject: String,
    pub author: String,
    pub rating: i32,
    pub comment: String,
    pub tags: Vec<String>,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

impl FeedbackRecord {
    /// The subject's collection, e.g. `meetings` (`preventionActions` for a nested name).
    pub fn subject_type(&self) -> &str {
        subject_type(&self.subject)
    }
}

/// The collection of a resource name: its second-to-last segment.
pub fn subject_type(subject: &str) -> &str {
    let mut segments = subject.rsplit('/');
    segments.next();
    segments.next().unwrap_or("")
}

/// A submission, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    pub subject: String,
    pub author: Name<Contacts>,
    pub rating: i32,
    pub comment: String,
    pub tags: Vec<String>,
}

impl NewFeedback {
    /// Parses a submission; `caller_contact` is the author when the request names none. Whether the subject exists
    /// is the store's question (it needs the read model); its shape is checked here.
    pub fn parse(feedback: Option<&wire::Feedback>, caller_contact: Option<&str>) -> Result<Self, Vec<FieldViolation>> {
        let Some(feedback) = feedback else {
            return Err(vec![FieldViolation::new("feedback", "is required")]);
        };
        let mut violations = Vec::new();
        let subject = feedback.subject.trim();
        if crate::domain::facts::Kind::of(subject).is_none() {
            violations.push(FieldViolation::new(
                "feedback.subject",
                format!("'{subject}' is not the name of something reporting knows (meetings/…, cases/…, organizations/…, commitments/…, …)"),
            ));
        }
        let author_text =
            if feedback.author.is_empty() { caller_contact.unwrap_or("") } else { feedback.author.as_str() };
        let author = if author_text.is_empty() {
            violations.push(FieldViolation::new(
                "feedback.author",
                "is required: a contacts/{id} (the caller's token names no contact)",
            ));
            None
        } else {
            Name::<Contacts>::parse("feedback.author", author_text).map_err(|v| violations.push(v)).ok()
        };
        if !(1..=5).contains(&feedback.rating) {
            violations
                .push(FieldViolation::new("feedback.rating", format!("must be 1 to 5 (got {})", feedback.rating)));
        }
        let comment =
            long_text("feedback.comment", &feedback.comment, MAX_COMMENT).map_err(|v| violations.push(v)).ok();
        let tags = if feedback.tags.len() > MAX_TAGS {
            violations.push(FieldViolation::new("feedback.tags", format!("at most {MAX_TAGS} tags")));
            None
        } else {
            each(feedback.tags.iter().enumerate().map(|(i, tag)| {
                let valid = !tag.is_empty()
                    && tag.len() <= MAX_TAG
                    && tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
                if valid {
                    Ok(tag.clone())
                } else {
                    Err(FieldViolation::new(
                        format!("feedback.tags[{i}]"),
                        format!("must be 1 to {MAX_TAG} letters, digits, '-' or '_'"),
                    ))
                }
            }))
            .map_err(|v| violations.extend(v))
            .ok()
        };
        match (author, comment, tags) {
            (Some(author), Some(comment), Some(tags)) if violations.is_empty() => {
                let mut tags = tags;
                tags.sort();
                tags.dedup();
                Ok(Self { subject: subject.to_owned(), author, rating: feedback.rating, comment, tags })
            }
            _ => Err(violations),
        }
    }
}

/// Mean rating per week label, in label order (labels sort chronologically: `2026-W09` < `2026-W10`).
pub fn weekly_means(ratings: impl Iterator<Item = (String, i32)>) -> Vec<(String, f64)> {
    let mut weeks: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (week, rating) in ratings {
        let entry = weeks.entry(week).or_default();
        entry.0 += i64::from(rating);
        entry.1 += 1;
    }
    weeks.into_iter().map(|(week, (sum, n))| (week, sum as f64 / n as f64)).collect()
}

/// Least-squares slope of the points against their position: rating points per step (0 for fewer than two).
pub fn slope(points: &[(String, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, (_, y)) in points.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (y - mean_y);
        den += dx * dx;
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// Summarises ratings; `week_of` names the week of an instant.
pub fn summarize(records: &[FeedbackRecord], week_of: impl Fn(i64) -> String) -> wire::FeedbackSummary {
    let mut distribution = vec![0i64; 5];
    for r in records {
        if let Some(slot) = usize::try_from(r.rating - 1).ok().and_then(|i| distribution.get_mut(i)) {
            *slot += 1;
        }
    }
    let mean = super::report::mean(records.iter().map(|r| f64::from(r.rating)));
    let trend = weekly_means(records.iter().map(|r| (week_of(r.create_time), r.rating)));
    wire::FeedbackSummary {
        count: records.len() as i64,
        mean_rating: super::report::round(mean),
        distribution,
        trend_slope: super::report::round(slope(&trend)),
        trend: trend
            .into_iter()
            .map(|(label, value)| wire::SeriesPoint { label, value: super::report::round(value) })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(subject: &str, rating: i32) -> wire::Feedback {
        wire::Feedback { subject: subject.into(), rating, ..Default::default() }
    }

    #[test]
    fn every_bad_field_of_a_submission_is_named_at_once() {
        let mut bad = submission("weather/today", 6);
        bad.tags = vec!["ok".into(), "no spaces please".into()];
        bad.comment = "x".repeat(MAX_COMMENT + 1);
        let fields: Vec<String> =
            NewFeedback::parse(Some(&bad), None).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            ["feedback.subject", "feedback.author", "feedback.rating", "feedback.comment", "feedback.tags[1]"]
        );
    }

    #[test]
    fn the_callers_contact_is_the_author_when_none_is_named() {
        let me = Name::<Contacts>::generate().to_string();
        let parsed =
            NewFeedback::parse(Some(&submission("meetings/0193a5b2-7c1d-7000-8000-000000000001", 5)), Some(&me))
                .unwrap();
        assert_eq!(parsed.author.to_string(), me);
        for rating in [0, 6, -1] {
            assert!(NewFeedback::parse(Some(&submission("cases/x", rating)), Some(&me)).is_err());
        }
    }

    #[test]
    fn a_summary_counts_each_rating_and_follows_the_weekly_trend() {
        let record = |rating, week: i64| FeedbackRecord {
            name: format!("feedback/{rating}{week}"),
            subject: "meetings/m".into(),
            author: "contacts/a".into(),
            rating,
            comment: String::new(),
            tags: Vec::new(),
            create_time: week,
        };
        let records = [record(2, 1), record(3, 2), record(4, 3), record(5, 3)];
        let summary = summarize(&records, |w| format!("2026-W{w:02}"));
        assert_eq!(summary.count, 4);
        assert_eq!(summary.distribution, [0, 1, 1, 1, 1]);
        assert_eq!(summary.mean_rating, 3.5);
        assert_eq!(summary.trend.iter().map(|p| p.value).collect::<Vec<_>>(), [2.0, 3.0, 4.5]);
        assert_eq!(summary.trend_slope, 1.25);
        assert_eq!(summarize(&[], |_| String::new()).mean_rating, 0.0);
    }

    #[test]
    fn the_subject_type_is_the_collection_of_the_last_segment() {
        assert_eq!(subject_type("meetings/1"), "meetings");
        assert_eq!(subject_type("cases/1/preventionActions/2"), "preventionActions");
        assert_eq!(subject_type("nothing"), "");
    }
}
