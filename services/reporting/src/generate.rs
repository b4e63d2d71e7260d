//! Generating a report — on request or on schedule — and running the schedules: read the records of the period
//! (`store::records`), compute the contents (`domain::report`), dress them as a dated, immutable snapshot with the
//! cursors it describes, and store it with its evidence.
use crate::SOURCES;
use crate::domain::report::{Computed, Window, compute};
use crate::domain::schedule::Cadence;
use crate::domain::{Period, ReportKind, Scope};
use crate::store::Store;
use crate::store::reports::Claim;
use crate::store::schedules::to_timestamp;
use chrono::{DateTime, Utc};
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::Error;
use liaison_runtime::api::names::{Name, Reports};
use liaison_runtime::service::ClockSource;
use std::time::Duration;

/// What a report is of.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: ReportKind,
    pub scope: Scope,
    pub period: Period,
}

/// For a scheduled report: its schedule, the slot and whether it ran late.
#[derive(Debug, Clone)]
pub struct Slot {
    pub schedule: String,
    pub due_time: i64,
    pub late: bool,
}

/// Computes a report (not stored yet).
pub async fn compose(
    store: &Store,
    subject: &Subject,
    creator: &str,
    now: DateTime<Utc>,
    slot: Option<&Slot>,
) -> Result<(wire::Report, Computed), Error> {
    let window = Window::new(subject.period.clone(), now.timestamp_micros());
    let cursors = store.cursors(SOURCES).await?;
    let records = store.records(&window, &subject.scope, crate::store::records::Register::Period).await?;
    let computed = compute(subject.kind, &subject.scope, &window, &records);
    let zone = &subject.period.zone;
    let date = |t: jiff::Timestamp| zone.to_datetime(t).date().to_string();
    let report = wire::Report {
        name: Name::<Reports>::generate().to_string(),
        kind: subject.kind.to_wire() as i32,
        scope: Some(subject.scope.to_wire()),
        start_time: Some(to_timestamp(subject.period.start.as_microsecond())),
        end_time: Some(to_timestamp(subject.period.end.as_microsecond())),
        time_zone: subject.period.zone_name.clone(),
        title: format!(
            "{} — {} — {} to {}",
            subject.kind.title(),
            subject.scope.describe(),
            date(subject.period.start),
            date(subject.period.end)
        ),
        create_time: Some(to_timestamp(now.timestamp_micros())),
        creator: creator.to_owned(),
        schedule: slot.map(|s| s.schedule.clone()).unwrap_or_default(),
        due_time: slot.map(|s| to_timestamp(s.due_time)),
        late: slot.is_some_and(|s| s.late),
        sections: computed.sections.clone(),
        recommendations: computed.suggestions.iter().map(|s| s.recommendation.clone()).collect(),
        as_of: cursors
            .into_iter()
            .map(|(source, cursor)| wire::SourceCursor { source: source.name().to_owned(), cursor })
            .collect(),
        headlines: computed.headlines.clone(),
    };
    Ok((report, computed))
}

/// How often the schedules are looked at.
pub const SCHEDULE_PERIOD: Duration = Duration::from_secs(2);
/// A slot run this long after its due time says it ran late (every replica was down when it was due).
pub const LATE_AFTER: i64 = 5 * 60 * 1_000_000;
/// Missed slots one schedule catches up at most per look (the rest follow on the next).
const CATCH_UP: usize = 60;

/// Runs every schedule's due slots, each once whatever the number of replicas; returns how many reports it stored.
pub async fn run_due<C: ClockSource>(store: &Store) -> Result<u64, Error> {
    let mut stored = 0;
    let now = C::now();
    for (id, schedule) in store.due_schedules(now.timestamp_micros()).await? {
        let cadence = match Cadence::parse(schedule.cadence, schedule.day, &schedule.time_of_day, &schedule.time_zone) {
            Ok(cadence) => cadence,
            Err(problems) => {
                tracing::error!(schedule = %schedule.name, ?problems, "a stored schedule no longer parses; skipped");
                continue;
            }
        };
        let kind = ReportKind::parse("kind", schedule.kind).map_err(|v| Error::Internal(v.description))?;
        let scope = Scope::parse("scope", schedule.scope.as_ref()).map_err(|v| Error::Internal(v.description))?;
        let mut due = crate::domain::facts::micros(schedule.next_run_time.as_ref()).unwrap_or(i64::MAX);
        for _ in 0..CATCH_UP {
            let now = C::now();
            if due > now.timestamp_micros() {
                break;
            }
            let at = crate::domain::facts::timestamp(due);
            let next = cadence
                .next_due(at)
                .map_err(|e| Error::Internal(format!("next run of {}: {e}", schedule.name)))?
                .as_microsecond();
            if store.slot_taken(&id, due).await? {
                store.advance_schedule(&id, due, next).await?;
                due = next;
                continue;
            }
            let (start, end) =
                cadence.period(at).map_err(|e| Error::Internal(format!("period of {}: {e}", schedule.name)))?;
            let period = Period { start, end, zone: cadence.zone.clone(), zone_name: cadence.zone_name.clone() };
            let slot = Slot {
                schedule: schedule.name.clone(),
                due_time: due,
                late: now.timestamp_micros() - due > LATE_AFTER,
            };
            let subject = Subject { kind, scope: scope.clone(), period };
            let (report, computed) = compose(store, &subject, &schedule.name, now, Some(&slot)).await?;
            let claim = Claim { schedule_id: id.clone(), due_time: due, late: slot.late, next_run: next };
            if let Some(report) = store.save_scheduled_report(report, &computed, &claim).await? {
                tracing::info!(schedule = %schedule.name, report = %report.name, late = slot.late, "scheduled report generated");
                stored += 1;
            }
            due = next;
        }
    }
    Ok(stored)
}
