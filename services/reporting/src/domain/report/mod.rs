//! A report's contents computed from the records of its period: each figure with the records it counts, tables
//! whose cells point at figures, weekly and categorical series for charts, and the recommendations of `rules`.
//! Pure: the store loads the records active in the period, this decides what they mean.
mod engagement;
mod mediation;
mod progress;
mod scope;

pub(crate) use scope::InScope;

pub(crate) use engagement::{last_engaged as engagement_last, stakeholders as engagement_stakeholders};
pub(crate) use mediation::category_name as case_category;
pub(crate) use progress::{
    attendance as meeting_attendance, commitment_open_at, overdue_items as overdue_action_items,
    status as meeting_status,
};

use super::evidence::Evidence;
use super::feedback::{FeedbackRecord, weekly_means};
use super::{Period, ReportKind, Scope, SectionId};
use crate::domain::facts::timestamp;
use crate::domain::rules;
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::mediation::v1 as mediation_wire;
use liaison_proto::reporting::v1 as wire;
use liaison_proto::scheduling::v1 as scheduling;
use std::collections::{BTreeMap, HashMap};

/// Where a record came from and which change of it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub name: String,
    pub source: &'static str,
    pub sequence: i64,
    pub change_time: i64,
    pub confidential: bool,
    /// When it was first seen done (milestones).
    pub done_at: Option<i64>,
}

/// A decoded record of the read model.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec<T> {
    pub meta: Meta,
    pub item: T,
}

/// A project's health changing, as ingestion saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub project: String,
    pub sequence: i64,
    pub change_time: i64,
    pub from: i32,
    pub to: i32,
}

/// An affiliation as a report uses it: which organisation a contact belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affiliated {
    pub contact: String,
    pub organization: String,
}

/// Everything a report may read: the records active in its period (and, for engagement, the 90 days before its
/// end), the whole register of organisations and affiliations (for the scope), and the feedback of the period.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub organizations: Vec<Rec<contacts::Organization>>,
    pub contacts: Vec<Rec<contacts::Contact>>,
    pub affiliations: Vec<Affiliated>,
    pub interactions: Vec<Rec<contacts::Interaction>>,
    pub meetings: Vec<Rec<scheduling::Meeting>>,
    pub action_items: Vec<Rec<scheduling::ActionItem>>,
    pub commitments: Vec<Rec<scheduling::Commitment>>,
    pub projects: Vec<Rec<scheduling::Project>>,
    pub milestones: Vec<Rec<scheduling::Milestone>>,
    pub cases: Vec<Rec<mediation_wire::Case>>,
    pub prevention_actions: Vec<Rec<mediation_wire::PreventionAction>>,
    pub status_changes: Vec<StatusChange>,
    pub feedback: Vec<FeedbackRecord>,
}

/// The period, and the instant the report describes the world at: the period's end, or now for a period that has
/// not ended (an action item is overdue only once its due time has passed).
#[derive(Debug, Clone)]
pub struct Window {
    pub period: Period,
    pub as_of: i64,
}

impl Window {
    pub fn new(period: Period, now: i64) -> Self {
        let as_of = period.end.as_microsecond().min(now);
        Self { period, as_of }
    }

    pub fn in_period(&self, micros: Option<i64>) -> bool {
        micros.is_some_and(|m| self.period.contains(m))
    }

    /// The ISO weeks (`2026-W14`) the period touches, in order, in its zone.
    pub fn weeks(&self) -> Vec<String> {
        let mut weeks = Vec::new();
        let mut day = self.period.zone.to_datetime(self.period.start).date();
        let last = self.period.zone.to_datetime(timestamp(self.period.end.as_microsecond() - 1)).date();
        while day <= last {
            let label = week_label(day);
            if weeks.last() != Some(&label) {
                weeks.push(label);
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        weeks
    }

    /// How many of `instants` fall in each week of the period, every week listed (zero when none).
    pub fn per_week(&self, instants: impl Iterator<Item = i64>) -> Vec<(String, f64)> {
        let mut counts: HashMap<String, f64> = HashMap::new();
        for at in instants {
            *counts.entry(self.week_of(at)).or_default() += 1.0;
        }
        self.weeks()
            .into_iter()
            .map(|w| {
                let value = counts.get(&w).copied().unwrap_or(0.0);
                (w, value)
            })
            .collect()
    }

    /// The ISO week of an instant in the period's zone.
    pub fn week_of(&self, micros: i64) -> String {
        week_label(self.period.zone.to_datetime(timestamp(micros)).date())
    }
}

fn week_label(date: jiff::civil::Date) -> String {
    let week = date.iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// A recommendation and the records that triggered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub recommendation: wire::Recommendation,
    pub evidence: Vec<Evidence>,
}

/// A report's contents.
#[derive(Debug, Clone, Default)]
pub struct Computed {
    pub sections: Vec<wire::Section>,
    pub headlines: Vec<wire::Figure>,
    /// Per figure id, the records it counts.
    pub evidence: BTreeMap<String, Vec<Evidence>>,
    /// Per figure id, how it is computed.
    pub methods: BTreeMap<String, String>,
    pub suggestions: Vec<Suggestion>,
}

/// Builds sections figure by figure, keeping each figure's evidence beside it.
pub(crate) struct Sheet {
    computed: Computed,
    current: Option<wire::Section>,
}

impl Sheet {
    fn new() -> Self {
        Self { computed: Computed::default(), current: None }
    }

    fn section(&mut self, id: SectionId) {
        self.finish_section();
        self.current =
            Some(wire::Section { id: id.id().to_owned(), title: id.title().to_owned(), ..Default::default() });
    }

    fn finish_section(&mut self) {
        if let Some(section) = self.current.take() {
            self.computed.sections.push(section);
        }
    }

    /// States a figure; its value is computed by the caller, its evidence is what it counts.
    pub(crate) fn figure(
        &mut self,
        id: &str,
        label: &str,
        unit: &str,
        value: f64,
        method: &str,
        evidence: Vec<Evidence>,
    ) -> String {
        let figure = wire::Figure {
            id: id.to_owned(),
            label: label.to_owned(),
            value: round(value),
            unit: unit.to_owned(),
            evidence_count: evidence.len() as i64,
        };
        if let Some(section) = self.current.as_mut() {
            section.figures.push(figure);
        }
        self.computed.evidence.insert(id.to_owned(), evidence);
        self.computed.methods.insert(id.to_owned(), method.to_owned());
        id.to_owned()
    }

    /// A count: the value is the number of records.
    pub(crate) fn count(&mut self, id: &str, label: &str, method: &str, evidence: Vec<Evidence>) -> String {
        let value = evidence.len() as f64;
        self.figure(id, label, "count", value, method, evidence)
    }

    pub(crate) fn table(&mut self, id: &str, title: &str, columns: &[&str], rows: Vec<wire::TableRow>) {
        if let Some(section) = self.current.as_mut() {
            section.tables.push(wire::Table {
                id: id.to_owned(),
                title: title.to_owned(),
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                rows,
            });
        }
    }

    pub(crate) fn series(
        &mut self,
        id: &str,
        title: &str,
        chart: wire::ChartKind,
        unit: &str,
        points: Vec<(String, f64)>,
    ) {
        if let Some(section) = self.current.as_mut() {
            section.series.push(wire::Series {
                id: id.to_owned(),
                title: title.to_owned(),
                chart: chart as i32,
                unit: unit.to_owned(),
                points: points
                    .into_iter()
                    .map(|(label, value)| wire::SeriesPoint { label, value: round(value) })
                    .collect(),
            });
        }
    }

    fn headline(&mut self, id: &str) {
        let found = self
            .computed
            .sections
            .iter()
            .chain(self.current.iter())
            .flat_map(|s| &s.figures)
            .find(|f| f.id == id)
            .cloned();
        if let Some(figure) = found {
            self.computed.headlines.push(figure);
        }
    }
}

/// Rows a keyed table shows at most; the rest are one row ("all others"), so a report's size does not grow with
/// the number of organisations, owners or projects.
pub(crate) const TABLE_ROWS: usize = 25;

/// The `limit` largest groups (most records first, then by key) and everything else merged.
pub(crate) fn largest<K: Ord + Clone, V>(groups: BTreeMap<K, Vec<V>>, limit: usize) -> (Vec<(K, Vec<V>)>, Vec<V>) {
    let mut groups: Vec<(K, Vec<V>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let rest = if groups.len() > limit { groups.split_off(limit) } else { Vec::new() };
    (groups, rest.into_iter().flat_map(|(_, v)| v).collect())
}

/// Values are kept to three decimals so that a report reads (and compares) the same on every machine.
pub fn round(value: f64) -> f64 {
    if value.is_finite() { (value * 1000.0).round() / 1000.0 } else { 0.0 }
}

pub(crate) fn cell(text: impl Into<String>) -> wire::TableCell {
    wire::TableCell { text: text.into(), figure: String::new() }
}

pub(crate) fn figure_cell(value: f64, figure: String) -> wire::TableCell {
    wire::TableCell { text: format_value(value), figure }
}

pub(crate) fn format_value(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

pub(crate) fn row(cells: Vec<wire::TableCell>) -> wire::TableRow {
    wire::TableRow { cells }
}

/// The evidence of a record.
pub(crate) fn evidence(meta: &Meta, note: impl Into<String>, team: &[String]) -> Evidence {
    Evidence {
        resource: meta.name.clone(),
        source: meta.source.to_owned(),
        sequence: meta.sequence,
        change_time: meta.change_time,
        note: note.into(),
        confidential: meta.confidential,
        team: if meta.confidential { team.to_vec() } else { Vec::new() },
    }
}

pub(crate) fn micros(time: Option<&prost_types::Timestamp>) -> Option<i64> {
    crate::domain::facts::micros(time)
}

pub(crate) fn date_of(micros: i64) -> String {
    timestamp(micros).strftime("%Y-%m-%d").to_string()
}

/// Computes a report of `kind` for `scope` over `window` from `records`.
pub fn compute(kind: ReportKind, scope: &Scope, window: &Window, records: &Records) -> Computed {
    let data = InScope::new(scope, records);
    let mut sheet = Sheet::new();
    for &section in kind.sections() {
        sheet.section(section);
        match section {
            SectionId::Engagement => engagement::section(&mut sheet, window, &data),
            SectionId::Meetings => progress::meetings(&mut sheet, window, &data),
            SectionId::Commitments => progress::commitments(&mut sheet, window, &data),
            SectionId::Projects => progress::projects(&mut sheet, window, &data),
            SectionId::Mediation => mediation::section(&mut sheet, window, &data),
            SectionId::Feedback => feedback_section(&mut sheet, window, &data),
        }
    }
    sheet.finish_section();
    for id in HEADLINES {
        sheet.headline(id);
    }
    let mut suggestions = rules::recommend(kind, window, &data);
    suggestions.sort_by(|a, b| {
        b.recommendation
            .priority
            .cmp(&a.recommendation.priority)
            .then_with(|| a.recommendation.id.cmp(&b.recommendation.id))
    });
    sheet.computed.suggestions = suggestions;
    sheet.computed
}

/// The dashboard's counts of a scope at the window's instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headcount {
    pub organizations: i64,
    pub contacts: i64,
    pub meetings: i64,
    pub open_cases: i64,
    pub breached_cases: i64,
    pub upcoming_meetings: i64,
}

/// Counts what the records hold of `scope` (the register as far as it was read), as of `window.as_of`.
pub fn headcount(scope: &Scope, window: &Window, records: &Records) -> Headcount {
    const WEEK: i64 = 7 * 86_400 * 1_000_000;
    let data = InScope::new(scope, records);
    let now = window.as_of;
    let open: Vec<_> = data.cases.iter().filter(|c| mediation::open_at(&c.item, now)).collect();
    Headcount {
        organizations: data.organizations.len() as i64,
        contacts: data.contacts.iter().filter(|c| c.item.delete_time.is_none()).count() as i64,
        meetings: data.meetings.len() as i64,
        open_cases: open.len() as i64,
        breached_cases: open.iter().filter(|c| mediation::breached_at(&c.item, now)).count() as i64,
        upcoming_meetings: data
            .meetings
            .iter()
            .filter(|m| micros(m.item.start_time.as_ref()).is_some_and(|t| t >= now && t < now + WEEK))
            .filter(|m| progress::status(&m.item) != Some(scheduling::MeetingStatus::Cancelled))
            .count() as i64,
    }
}

/// The figures repeated at the top of every report that has them.
const HEADLINES: &[&str] = &[
    "engagement.interactions",
    "engagement.unengaged{days=60}",
    "meetings.held",
    "action_items.overdue",
    "commitments.overdue",
    "projects.milestones_late",
    "mediation.opened",
    "mediation.resolved",
    "feedback.mean_rating",
];

fn feedback_section(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    let in_period: Vec<&FeedbackRecord> =
        data.feedback.iter().copied().filter(|f| window.period.contains(f.create_time)).collect();
    let ev = |f: &FeedbackRecord| Evidence {
        resource: f.name.clone(),
        source: "reporting".to_owned(),
        sequence: 0,
        change_time: f.create_time,
        note: format!("rated {} on {}", f.rating, f.subject),
        confidential: false,
        team: Vec::new(),
    };
    sheet.count(
        "feedback.count",
        "Feedback received",
        "Feedback given in the period, on subjects in scope.",
        in_period.iter().map(|f| ev(f)).collect(),
    );
    let overall = mean(in_period.iter().map(|f| f64::from(f.rating)));
    sheet.figure(
        "feedback.mean_rating",
        "Mean rating",
        "rating",
        overall,
        "Mean of the ratings (1–5) given in the period.",
        in_period.iter().map(|f| ev(f)).collect(),
    );
    let mut by_type: BTreeMap<&str, Vec<&FeedbackRecord>> = BTreeMap::new();
    for f in &in_period {
        by_type.entry(f.subject_type()).or_default().push(f);
    }
    let mut rows = Vec::new();
    for (subject_type, entries) in &by_type {
        let id = format!("feedback.mean_rating{{subject_type={subject_type}}}");
        let value = mean(entries.iter().map(|f| f64::from(f.rating)));
        let points = weekly_means(entries.iter().map(|f| (window.week_of(f.create_time), f.rating)));
        let trend = super::feedback::slope(&points);
        let figure = sheet.figure(
            &id,
            &format!("Mean rating of {subject_type}"),
            "rating",
            value,
            "Mean of the ratings given in the period on subjects of this type.",
            entries.iter().map(|f| ev(f)).collect(),
        );
        rows.push(row(vec![
            cell(*subject_type),
            cell(entries.len().to_string()),
            figure_cell(round(value), figure),
            cell(trend_word(trend)),
        ]));
    }
    sheet.table(
        "feedback.by_subject_type",
        "Ratings by subject type",
        &["Subject type", "Feedback", "Mean rating", "Trend"],
        rows,
    );
    let weekly: HashMap<String, f64> =
        weekly_means(in_period.iter().map(|f| (window.week_of(f.create_time), f.rating))).into_iter().collect();
    let points = window.weeks().into_iter().map(|w| {
        let value = weekly.get(&w).copied().unwrap_or(0.0);
        (w, value)
    });
    sheet.series(
        "feedback.mean_rating_per_week",
        "Mean rating per week",
        wire::ChartKind::Line,
        "rating",
        points.collect(),
    );
}

fn trend_word(slope: f64) -> &'static str {
    if slope > 0.05 {
        "improving"
    } else if slope < -0.05 {
        "falling"
    } else {
        "steady"
    }
}

pub(crate) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The nearest-rank percentile `p` (0–100) of sorted values; 0 for none.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests;
