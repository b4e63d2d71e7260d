//! Reporting at scale (issue 20's scale figures): for each size in `--report-sizes`, a reporting read model of that
//! many changes is built directly with reporting's own store (`Store::apply`, batches of [`BATCH`] changes per
//! source, as ingestion applies them) from a synthetic two-year history ([`synthetic`]), on a database of its own
//! (a SQLite file in the work directory; a PostgreSQL database created and dropped by the bench). Then reporting
//! itself is started in-process on that database (`runtime::service::start`, the path `liaison serve` takes; its
//! followers point at unreachable peers and just retry) and driven over gRPC: `GenerateReport` EXECUTIVE_SUMMARY of
//! the most recent full quarter (scope all), `ExplainFigure` of a large and of a small figure of that report (a
//! first page of 100), and `RenderReport` of it as HTML, each a few times (median and max).
//!
//! The build's rate is the direct apply's (time spent inside `Store::apply`), informative only: ingestion's goal is
//! measured from a real backlog (`ingest.rs`). After the calls, the report's reading is taken apart with the
//! library (`Store::records` and `domain::report::compute`, timed apart), which says where GenerateReport's time
//! goes and how much of the read model one quarter's report reads.
mod synthetic;

use crate::cli::{Engine, RunSettings};
use crate::cluster::Postgres;
use anyhow::Context;
use liaison_proto::common::v1::Change;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::reporting::v1::{
    ExplainFigureRequest, GenerateReportRequest, GetIngestionStatusRequest, RenderFormat, RenderReportRequest, Report,
    ReportKind, Scope, scope,
};
use liaison_reporting::store::Store;
use liaison_runtime::config::{Peers, ServiceKind, ServiceSettings};
use liaison_runtime::db::{DatabaseUrl, Db};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The phase's name for `--only`.
pub(crate) const NAME: &str = "ReportScale";
/// The size the goals are judged at: the "a read model built from 1,000,000 changes".
pub(crate) const GOAL_SIZE: u64 = 1_000_000;
/// Changes per `Store::apply`, per source: as ingestion merges waiting feed messages.
const BATCH: usize = 5_000;
/// The synthetic history's seed: every run of a day builds the same read model (see `measure`).
const SEED: u64 = 20;
/// Where the followers of the in-process reporting look for their sources: nothing listens there, so they retry
/// (with backoff) and never touch the read model built here.
const UNREACHABLE: &str = "http://127.0.0.1:1";
/// The server's limit on one unary call, raised from the default so that a slow GenerateReport is measured rather
/// than cut off.
const UNARY_TIMEOUT: Duration = Duration::from_secs(600);
/// The largest answer the bench accepts (the server keeps its own 4 MiB limit).
const MAX_ANSWER: usize = 256 * 1024 * 1024;
/// Once a measurement has spent this long, it stops repeating (after at least one call): a GenerateReport of
/// minutes is measured once.
const BUDGET: Duration = Duration::from_secs(30);

/// The figures of one call repeated: every sample, the median and the largest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Timing {
    pub(crate) samples_ms: Vec<f64>,
    pub(crate) median_ms: f64,
    pub(crate) max_ms: f64,
}

impl Timing {
    /// `None` for no sample.
    pub(crate) fn of(samples_ms: Vec<f64>) -> Option<Self> {
        let median_ms = crate::goals::median(&samples_ms)?;
        let max_ms = samples_ms.iter().copied().fold(f64::MIN, f64::max);
        Some(Self { samples_ms, median_ms, max_ms })
    }
}

/// How the read model was built.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Build {
    /// Generating and applying, from the first change to the last batch committed.
    pub(crate) seconds: f64,
    /// Time inside `Store::apply` only.
    pub(crate) apply_seconds: f64,
    /// Changes per second of `Store::apply` (informative: not the ingestion goal).
    pub(crate) apply_per_s: f64,
    /// Of the changes, updates of earlier resources.
    pub(crate) updates: u64,
    /// Changes whose time falls in the quarter reported on.
    pub(crate) in_quarter: u64,
    /// Rows of the read model (`facts`) after the build.
    pub(crate) facts: u64,
    /// The changes of each kind: (created, updated).
    pub(crate) mix: BTreeMap<&'static str, (u64, u64)>,
}

/// ExplainFigure of one figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Explained {
    pub(crate) figure: String,
    /// The records the figure counts (the answer holds the first 100).
    pub(crate) evidence_count: i64,
    pub(crate) timing: Timing,
}

/// RenderReport of the report as HTML.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Rendered {
    pub(crate) bytes: u64,
    pub(crate) timing: Timing,
}

/// Where GenerateReport's time goes, from the library: reading the quarter's records and computing the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Breakdown {
    /// Records read, all collections.
    pub(crate) rows_read: u64,
    /// Records read per collection.
    pub(crate) rows: BTreeMap<&'static str, u64>,
    pub(crate) read_ms: f64,
    pub(crate) compute_ms: f64,
}

/// One size: the build, the calls and the breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReportScale {
    pub(crate) changes: u64,
    /// The quarter reported on, `[start, end)`, dates in UTC.
    pub(crate) quarter_start: String,
    pub(crate) quarter_end: String,
    pub(crate) build: Build,
    /// The generated report's encoded size as GenerateReport answered it (its recommendations' evidence included),
    /// or as it was stored when GenerateReport could not answer.
    pub(crate) report_bytes: Option<u64>,
    /// Its bytes by part: each section (by id), `recommendations`, `headlines`.
    pub(crate) report_parts: BTreeMap<String, u64>,
    pub(crate) figures: Option<u64>,
    pub(crate) recommendations: Option<u64>,
    pub(crate) generate: Option<Timing>,
    /// When GenerateReport failed: how long its calls took to fail (after doing their work, when the answer was
    /// too large to send).
    pub(crate) generate_failed: Option<Timing>,
    pub(crate) explain_large: Option<Explained>,
    pub(crate) explain_small: Option<Explained>,
    pub(crate) render_html: Option<Rendered>,
    pub(crate) breakdown: Option<Breakdown>,
    /// Calls that failed, as `RPC: CODE: message (after … ms)`. When GenerateReport failed, ExplainFigure and
    /// RenderReport are timed on the report it stored nonetheless.
    pub(crate) errors: Vec<String>,
}

/// How GenerateReport's time grew from the smallest size measured to the largest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Growth {
    pub(crate) from: u64,
    pub(crate) to: u64,
    /// `to / from`: the period's data grows as much (a quarter is an eighth of every history).
    pub(crate) data_factor: f64,
    /// GenerateReport's median at `to` over its median at `from`.
    pub(crate) time_factor: f64,
}

impl ReportScale {
    /// GenerateReport's median: of its answers, or of its calls' time to fail when it could not answer.
    pub(crate) fn generate_ms(&self) -> Option<f64> {
        self.generate.as_ref().or(self.generate_failed.as_ref()).map(|t| t.median_ms)
    }
}

/// The growth of GenerateReport over the sizes that measured it (its time to fail where it could not answer: the
/// work was done); `None` with fewer than two.
pub(crate) fn growth(scales: &[ReportScale]) -> Option<Growth> {
    let measured: Vec<(u64, f64)> = scales.iter().filter_map(|s| Some((s.changes, s.generate_ms()?))).collect();
    let smallest = measured.iter().min_by_key(|(changes, _)| *changes)?;
    let largest = measured.iter().max_by_key(|(changes, _)| *changes)?;
    (largest.0 > smallest.0 && smallest.1 > 0.0).then(|| Growth {
        from: smallest.0,
        to: largest.0,
        data_factor: largest.0 as f64 / smallest.0 as f64,
        time_factor: largest.1 / smallest.1,
    })
}

/// The size the goals are judged on, when it ran.
pub(crate) fn at_goal_size(scales: &[ReportScale]) -> Option<&ReportScale> {
    scales.iter().find(|s| s.changes == GOAL_SIZE)
}

/// The figures ExplainFigure is timed on: a large one (`meetings.held` when it counts anything, else the one
/// with the most evidence) and a small one (the fewest records, at least one), each with its evidence count.
pub(crate) fn figures_to_explain(report: &Report) -> Option<((String, i64), (String, i64))> {
    let figures: Vec<(&str, i64)> = report
        .sections
        .iter()
        .flat_map(|s| &s.figures)
        .filter(|f| f.evidence_count > 0)
        .map(|f| (f.id.as_str(), f.evidence_count))
        .collect();
    let large = figures
        .iter()
        .find(|(id, _)| *id == "meetings.held")
        .or_else(|| figures.iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0))))?;
    let small = figures.iter().min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))?;
    Some(((large.0.to_owned(), large.1), (small.0.to_owned(), small.1)))
}

/// A report's encoded bytes by part: each section, the recommendations, the headlines.
pub(crate) fn parts(report: &Report) -> BTreeMap<String, u64> {
    use prost::Message;
    let mut parts: BTreeMap<String, u64> =
        report.sections.iter().map(|s| (s.id.clone(), s.encoded_len() as u64)).collect();
    parts.insert("recommendations".into(), report.recommendations.iter().map(|r| r.encoded_len() as u64).sum());
    parts.insert("headlines".into(), report.headlines.iter().map(|h| h.encoded_len() as u64).sum());
    parts
}

/// Every size on `engine`, in order; each database is removed after its size.
pub(crate) async fn run(
    settings: &RunSettings,
    engine: Engine,
    postgres: &Postgres,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<Vec<ReportScale>> {
    let mut scales = Vec::new();
    for &size in &settings.report_sizes {
        let (url, pg_database) = match engine {
            Engine::Sqlite => (format!("sqlite://{}", dir.join(format!("reporting-{size}.db")).display()), None),
            Engine::Postgres => {
                let name = format!("liaison_bench_{tag}_reports_{size}");
                (postgres.create(&name).await?, Some(name))
            }
        };
        let measured = measure(settings, engine, &url, size).await;
        match pg_database {
            Some(name) => postgres.drop_database(&name).await?,
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = dir.join(format!("reporting-{size}.db{suffix}"));
                    if file.exists() {
                        std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
                    }
                }
            }
        }
        scales.push(measured?);
    }
    eprintln!("liaison-bench: {} — reporting at scale:\n{}", engine.name(), crate::report::fmt_report_scales(&scales));
    Ok(scales)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn date(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

/// One size: build, serve, measure, take apart.
async fn measure(settings: &RunSettings, engine: Engine, url: &str, size: u64) -> anyhow::Result<ReportScale> {
    let label = format!("{} — reporting at scale, {} changes", engine.name(), crate::report::fmt_rate(size as f64));
    let database_url: DatabaseUrl =
        url.parse().with_context(|| format!("not a database URL: {}", liaison_runtime::db::redact(url)))?;
    let db = Db::connect(&database_url).await.context("cannot open the reporting database")?;
    db.migrate::<liaison_reporting::store::migration::Migrator>().await.context("reporting's migrations")?;
    let store = Store::new(db.clone());
    // The history ends at today's midnight (UTC), not now: runs of one day build the same read model on both
    // engines, and runs of different days the same one shifted by whole days.
    let end = now_micros().div_euclid(synthetic::DAY) * synthetic::DAY;
    let quarter = synthetic::last_full_quarter(end);
    eprintln!("liaison-bench: {label}: building the read model");
    let mut build = build(&store, size, end, quarter, &label).await?;
    if engine == Engine::Postgres {
        // The planner's statistics, as autovacuum would gather them after a load this size (the bench's server
        // may run without it, and a plan made without statistics is a guess).
        db.conn().execute_unprepared("ANALYZE").await.context("ANALYZE of the reporting database")?;
    }
    build.facts = count_facts(&store).await?;
    eprintln!(
        "liaison-bench: {label}: built in {:.1} s; Store::apply {} changes/s; {:.0}% updates; {} facts; {} changes \
         in the quarter {} to {}",
        build.seconds,
        crate::report::fmt_rate(build.apply_per_s),
        100.0 * build.updates as f64 / size.max(1) as f64,
        crate::report::fmt_rate(build.facts as f64),
        crate::report::fmt_rate(build.in_quarter as f64),
        date(quarter.0),
        date(quarter.1),
    );
    let mut scale = ReportScale {
        changes: size,
        quarter_start: date(quarter.0),
        quarter_end: date(quarter.1),
        build,
        report_bytes: None,
        report_parts: BTreeMap::new(),
        figures: None,
        recommendations: None,
        generate: None,
        generate_failed: None,
        explain_large: None,
        explain_small: None,
        render_html: None,
        breakdown: None,
        errors: Vec::new(),
    };
    let served = serve(settings, &store, &database_url, quarter, &mut scale, &label).await;
    let taken_apart = breakdown(&store, quarter).await;
    db.close().await;
    served?;
    let breakdown = taken_apart?;
    eprintln!(
        "liaison-bench: {label}: the library reads {} records of the quarter in {:.0} ms and computes the report in \
         {:.0} ms",
        crate::report::fmt_rate(breakdown.rows_read as f64),
        breakdown.read_ms,
        breakdown.compute_ms
    );
    scale.breakdown = Some(breakdown);
    Ok(scale)
}

/// The feed index of a source: contacts, scheduling, mediation.
fn feed(source: ServiceKind) -> usize {
    liaison_reporting::SOURCES.iter().position(|s| *s == source).unwrap_or(0)
}

/// Applies `size` synthetic changes ending at `end`, a batch of up to [`BATCH`] per source at a time.
async fn build(store: &Store, size: u64, end: i64, quarter: (i64, i64), label: &str) -> anyhow::Result<Build> {
    for &source in liaison_reporting::SOURCES {
        store.register_source(source).await.context("registering a source")?;
    }
    let started = Instant::now();
    let mut generator = synthetic::Synthetic::new(SEED, size, end);
    let mut batches: [Vec<Change>; 3] = Default::default();
    let mut cursors = [0_i64; 3];
    let mut applying = Duration::ZERO;
    let mut in_quarter = 0;
    let mut generated = 0_u64;
    // A line every tenth of a large build, so that a long one shows its pace.
    let report_every = if size >= 1_000_000 { size / 10 } else { u64::MAX };
    for change in &mut generator {
        let at = change.change.change_time.as_ref().map_or(0, |t| t.seconds * 1_000_000);
        in_quarter += u64::from((quarter.0..quarter.1).contains(&at));
        let index = feed(change.source);
        batches[index].push(change.change);
        if batches[index].len() >= BATCH {
            let batch = std::mem::take(&mut batches[index]);
            applying += apply(store, change.source, &mut cursors[index], &batch).await?;
        }
        generated += 1;
        if generated.is_multiple_of(report_every) {
            eprintln!(
                "liaison-bench: {label}: {} changes in {:.0} s (Store::apply {} changes/s so far)",
                crate::report::fmt_rate(generated as f64),
                started.elapsed().as_secs_f64(),
                crate::report::fmt_rate(generated as f64 / applying.as_secs_f64().max(1e-9)),
            );
        }
    }
    for (index, batch) in batches.iter().enumerate() {
        let source = liaison_reporting::SOURCES[index];
        applying += apply(store, source, &mut cursors[index], batch).await?;
    }
    let apply_seconds = applying.as_secs_f64();
    Ok(Build {
        seconds: started.elapsed().as_secs_f64(),
        apply_seconds,
        apply_per_s: if apply_seconds > 0.0 { size as f64 / apply_seconds } else { 0.0 },
        updates: generator.tally().updates(),
        in_quarter,
        facts: 0,
        mix: generator.tally().by_kind(),
    })
}

/// One batch applied after `cursor` (which moves to its last sequence); returns the time it took.
async fn apply(store: &Store, source: ServiceKind, cursor: &mut i64, batch: &[Change]) -> anyhow::Result<Duration> {
    if batch.is_empty() {
        return Ok(Duration::ZERO);
    }
    let started = Instant::now();
    let progress =
        store.apply(source, *cursor, batch).await.with_context(|| format!("applying a batch of {source}"))?;
    let took = started.elapsed();
    *cursor = progress.cursor;
    Ok(took)
}

async fn count_facts(store: &Store) -> anyhow::Result<u64> {
    #[derive(sea_orm::FromQueryResult)]
    struct Count {
        n: i64,
    }
    let conn = store.db().conn();
    let stmt = liaison_runtime::db::sql::statement(conn.get_database_backend(), "SELECT COUNT(*) AS n FROM facts", []);
    let count = <Count as sea_orm::FromQueryResult>::find_by_statement(stmt)
        .one(conn)
        .await
        .context("counting the facts")?
        .map_or(0, |c| c.n);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Starts reporting in-process on the database and times the three calls, filling `scale`. Calls that fail are
/// recorded in `scale.errors` (with how long they took); only a server that does not start fails the run.
async fn serve(
    settings: &RunSettings,
    store: &Store,
    url: &DatabaseUrl,
    quarter: (i64, i64),
    scale: &mut ReportScale,
    label: &str,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let unreachable = Some(UNREACHABLE.to_owned());
    let service = ServiceSettings {
        listen: "127.0.0.1:0".parse().context("listen address")?,
        database_url: url.clone(),
        peers: Peers { contacts: unreachable.clone(), scheduling: unreachable.clone(), mediation: unreachable },
        calls: Default::default(),
        security: liaison_runtime::security::Security::development(),
        limits: liaison_runtime::net::limits::Limits { unary_timeout: UNARY_TIMEOUT, ..Default::default() },
    };
    let running = liaison_runtime::service::start::<liaison_reporting::Reporting>(service, shutdown)
        .await
        .context("cannot start reporting in-process")?;
    let measured = drive(settings, store, &running.url(), quarter, scale, label).await;
    running.stop().await.context("stopping the in-process reporting")?;
    measured
}

/// A call repeated: how long each took (answered or not), the last answer, the first error.
struct Repeated<T> {
    samples_ms: Vec<f64>,
    answer: Option<T>,
    error: Option<tonic::Status>,
}

impl<T> Repeated<T> {
    /// The timing when every call answered; otherwise the failure as `RPC: CODE: message (after … ms)`.
    fn outcome(self, rpc: &str) -> Result<(Timing, T), String> {
        match (self.error, self.answer, Timing::of(self.samples_ms)) {
            (None, Some(answer), Some(timing)) => Ok((timing, answer)),
            (Some(status), _, timing) => Err(format!(
                "{rpc}: {:?}: {} (after {} ms)",
                status.code(),
                status.message(),
                timing.map_or_else(|| "–".to_owned(), |t| format!("{:.0}", t.median_ms))
            )),
            _ => Err(format!("{rpc}: no call was made")),
        }
    }
}

/// Repeats `call` up to `times` times (fewer once [`BUDGET`] is spent, at least once), timing each, answered or
/// not: a call that fails after doing its work (an answer over the server's message limit) took that long too.
async fn repeat<T, F, Fut>(times: usize, mut call: F) -> Repeated<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let started = Instant::now();
    let mut repeated = Repeated { samples_ms: Vec::with_capacity(times), answer: None, error: None };
    while repeated.samples_ms.len() < times.max(1) && (repeated.samples_ms.is_empty() || started.elapsed() < BUDGET) {
        let call_started = Instant::now();
        let answer = call().await;
        repeated.samples_ms.push(call_started.elapsed().as_secs_f64() * 1e3);
        match answer {
            Ok(answer) => repeated.answer = Some(answer),
            Err(status) => {
                repeated.error.get_or_insert(status);
            }
        }
    }
    repeated
}

async fn drive(
    settings: &RunSettings,
    store: &Store,
    url: &str,
    quarter: (i64, i64),
    scale: &mut ReportScale,
    label: &str,
) -> anyhow::Result<()> {
    let (generate_times, explain_times, render_times) = if settings.quick { (3, 5, 3) } else { (5, 10, 5) };
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .context("reporting's URL")?
        .connect()
        .await
        .context("cannot connect to the in-process reporting")?;
    let mut client = ReportingServiceClient::new(channel).max_decoding_message_size(MAX_ANSWER);
    // The connection and the server's first call are not part of any figure.
    client.get_ingestion_status(GetIngestionStatusRequest {}).await.context("reporting does not answer")?;

    let request = GenerateReportRequest {
        kind: ReportKind::ExecutiveSummary as i32,
        scope: Some(Scope { selector: Some(scope::Selector::All(true)) }),
        start_time: Some(timestamp(quarter.0)),
        end_time: Some(timestamp(quarter.1)),
        time_zone: "UTC".into(),
        request_id: String::new(),
    };
    let generated = repeat(generate_times, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move { client.generate_report(request).await.map(|r| r.into_inner().report.unwrap_or_default()) }
    })
    .await;
    let time_to_fail = Timing::of(generated.samples_ms.clone());
    let report = match generated.outcome("GenerateReport") {
        Ok((timing, report)) => {
            eprintln!(
                "liaison-bench: {label}: GenerateReport median {:.1} ms, max {:.1} ms ({} calls)",
                timing.median_ms,
                timing.max_ms,
                timing.samples_ms.len()
            );
            scale.generate = Some(timing);
            report
        }
        Err(failure) => {
            // A report too large to answer was still stored: ExplainFigure and RenderReport are timed on it.
            eprintln!("liaison-bench: {label}: {failure}");
            scale.errors.push(failure);
            scale.generate_failed = time_to_fail;
            let stored = store.list_reports(None, None, 1).await.context("reading the reports stored")?;
            let Some((_, report)) = stored.into_iter().next() else { return Ok(()) };
            report
        }
    };
    scale.report_bytes = Some(prost::Message::encoded_len(&report) as u64);
    scale.report_parts = parts(&report);
    scale.figures = Some(report.sections.iter().map(|s| s.figures.len() as u64).sum());
    scale.recommendations = Some(report.recommendations.len() as u64);

    if let Some(((large, large_count), (small, small_count))) = figures_to_explain(&report) {
        for (figure, evidence_count, large_one) in [(large, large_count, true), (small, small_count, false)] {
            let request = ExplainFigureRequest {
                report: report.name.clone(),
                figure: figure.clone(),
                page_size: Some(100),
                page_token: String::new(),
            };
            let explained = repeat(explain_times, || {
                let (mut client, request) = (client.clone(), request.clone());
                async move { client.explain_figure(request).await.map(|r| r.into_inner().evidence.len()) }
            })
            .await;
            match explained.outcome(&format!("ExplainFigure {figure}")) {
                Ok((timing, records)) => {
                    eprintln!(
                        "liaison-bench: {label}: ExplainFigure {figure} ({evidence_count} records, {records} on the \
                         page) median {:.1} ms, max {:.1} ms",
                        timing.median_ms, timing.max_ms
                    );
                    let explained = Some(Explained { figure, evidence_count, timing });
                    if large_one {
                        scale.explain_large = explained;
                    } else {
                        scale.explain_small = explained;
                    }
                }
                Err(failure) => {
                    eprintln!("liaison-bench: {label}: {failure}");
                    scale.errors.push(failure);
                }
            }
        }
    } else {
        scale.errors.push("ExplainFigure: the report has no figure with evidence".to_owned());
    }

    let request = RenderReportRequest { report: report.name.clone(), format: RenderFormat::Html as i32 };
    let rendered = repeat(render_times, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .render_report(request)
                .await
                .map(|r| r.into_inner().files.iter().map(|f| f.content.len() as u64).sum::<u64>())
        }
    })
    .await;
    match rendered.outcome("RenderReport HTML") {
        Ok((timing, bytes)) => {
            eprintln!(
                "liaison-bench: {label}: RenderReport HTML ({}) median {:.1} ms, max {:.1} ms",
                crate::report::fmt_bytes(bytes),
                timing.median_ms,
                timing.max_ms
            );
            scale.render_html = Some(Rendered { bytes, timing });
        }
        Err(failure) => {
            eprintln!("liaison-bench: {label}: {failure}");
            scale.errors.push(failure);
        }
    }
    Ok(())
}

/// The quarter's records read and the report computed with the library, each timed once.
async fn breakdown(store: &Store, quarter: (i64, i64)) -> anyhow::Result<Breakdown> {
    use liaison_reporting::domain::report::{Window, compute};
    use liaison_reporting::domain::{Period, ReportKind, Scope};
    let period = Period::parse(Some(&timestamp(quarter.0)), Some(&timestamp(quarter.1)), "UTC")
        .map_err(|problems| anyhow::anyhow!("the quarter does not parse: {problems:?}"))?;
    let window = Window::new(period, now_micros());
    let started = Instant::now();
    let records = store
        .records(&window, &Scope::All, liaison_reporting::store::records::Register::Period)
        .await
        .context("reading the quarter's records")?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let computed = compute(ReportKind::ExecutiveSummary, &Scope::All, &window, &records);
    let compute_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(computed);
    let rows: BTreeMap<&'static str, u64> = [
        ("organizations", records.organizations.len()),
        ("contacts", records.contacts.len()),
        ("affiliations", records.affiliations.len()),
        ("interactions", records.interactions.len()),
        ("meetings", records.meetings.len()),
        ("action items", records.action_items.len()),
        ("commitments", records.commitments.len()),
        ("projects", records.projects.len()),
        ("milestones", records.milestones.len()),
        ("cases", records.cases.len()),
        ("prevention actions", records.prevention_actions.len()),
    ]
    .into_iter()
    .map(|(name, n)| (name, n as u64))
    .collect();
    Ok(Breakdown { rows_read: rows.values().sum(), rows, read_ms, compute_ms })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::synthetic::{DAY, Kind, Plan, SPAN, Synthetic, last_full_quarter};
    use super::*;
    use liaison_proto::reporting::v1::{Figure, Section};

    /// 2026-05-17T12:00:00Z.
    const END: i64 = 1_779_019_200_000_000;

    pub(crate) fn scale(changes: u64, generate_ms: Option<f64>) -> ReportScale {
        let timing = |ms: f64| Timing { samples_ms: vec![ms], median_ms: ms, max_ms: ms };
        ReportScale {
            changes,
            quarter_start: "2026-01-01".into(),
            quarter_end: "2026-04-01".into(),
            build: Build {
                seconds: 2.0,
                apply_seconds: 1.5,
                apply_per_s: changes as f64 / 1.5,
                updates: changes / 3,
                in_quarter: changes / 8,
                facts: changes * 2 / 3,
                mix: BTreeMap::new(),
            },
            report_bytes: Some(1_500_000),
            report_parts: BTreeMap::from([("engagement".into(), 1_000_000), ("recommendations".into(), 500_000)]),
            figures: Some(120),
            recommendations: Some(40),
            generate: generate_ms.map(timing),
            generate_failed: None,
            explain_large: Some(Explained { figure: "meetings.held".into(), evidence_count: 900, timing: timing(4.0) }),
            explain_small: Some(Explained { figure: "feedback.count".into(), evidence_count: 1, timing: timing(2.5) }),
            render_html: Some(Rendered { bytes: 2 * 1024 * 1024, timing: timing(80.0) }),
            breakdown: Some(Breakdown {
                rows_read: changes / 4,
                rows: BTreeMap::from([("contacts", changes / 8), ("meetings", changes / 8)]),
                read_ms: 100.0,
                compute_ms: 50.0,
            }),
            errors: Vec::new(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_history_and_another_seed_another() {
        let encode = |seed: u64| -> Vec<Vec<u8>> {
            Synthetic::new(seed, 3_000, END).map(|g| prost::Message::encode_to_vec(&g.change)).collect()
        };
        let first = encode(7);
        assert_eq!(first.len(), 3_000);
        assert_eq!(first, encode(7), "deterministic");
        assert_ne!(first, encode(8));
    }

    #[test]
    fn the_mix_of_kinds_and_updates_follows_the_brief() {
        let mut generator = Synthetic::new(SEED, 100_000, END);
        let mut sequences: BTreeMap<&str, i64> = BTreeMap::new();
        let mut last_time = i64::MIN;
        let mut created = std::collections::HashSet::new();
        for generated in &mut generator {
            let change = &generated.change;
            let previous = sequences.insert(generated.source.name(), change.sequence).unwrap_or(0);
            assert_eq!(change.sequence, previous + 1, "each feed's sequence counts up by one");
            let at = change.change_time.as_ref().map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos / 1000));
            assert!(at >= last_time && (END - SPAN..=END).contains(&at), "in order, within the two years");
            last_time = at;
            if change.kind != liaison_proto::common::v1::ChangeKind::Created as i32 {
                assert!(created.contains(&change.resource_name), "an update is of a resource created before");
            } else {
                assert!(created.insert(change.resource_name.clone()), "a creation is of a new name");
            }
        }
        let tally = generator.tally();
        assert_eq!(tally.total(), 100_000);
        for kind in Kind::ALL {
            let (share, target) = (tally.share(kind), kind.share());
            assert!((share - target).abs() <= 0.25 * target + 0.004, "{kind:?}: {share:.4} against {target}");
        }
        let updates = tally.updates() as f64 / tally.total() as f64;
        assert!((0.27..=0.40).contains(&updates), "updates are about a third of the changes: {updates:.3}");
    }

    #[test]
    fn every_change_is_one_reporting_keeps() {
        use liaison_reporting::domain::facts::{Effect, effect};
        let mut kept = BTreeMap::new();
        for generated in Synthetic::new(3, 20_000, END) {
            match effect(&generated.change) {
                Effect::Upsert(fact) => *kept.entry(fact.kind.collection()).or_insert(0) += 1,
                Effect::Remove { resource_name } => assert!(resource_name.starts_with("contacts/"), "only contacts go"),
                Effect::Ignore => panic!("reporting ignores {:?}", generated.change.resource_name),
            }
        }
        assert_eq!(kept.len(), 11, "every collection is present: {kept:?}");
    }

    #[test]
    fn a_quarter_holds_about_an_eighth_of_the_history() {
        let (start, end) = last_full_quarter(END);
        assert_eq!((date(start), date(end)), ("2026-01-01".to_owned(), "2026-04-01".to_owned()));
        let (start_of_year, _) = last_full_quarter(1_767_225_600_000_000 + DAY);
        assert_eq!(date(start_of_year), "2025-10-01", "in January, the last quarter is the year before's");
        let in_quarter = Synthetic::new(1, 16_000, END)
            .filter(|g| g.change.change_time.as_ref().is_some_and(|t| (start..end).contains(&(t.seconds * 1_000_000))))
            .count();
        assert!((1_800..=2_200).contains(&in_quarter), "{in_quarter} of 16 000");
    }

    #[tokio::test]
    async fn a_read_model_built_from_the_history_gives_a_report_with_every_section_filled() {
        use liaison_reporting::domain::report::{Window, compute};
        use liaison_reporting::domain::{Period, ReportKind, Scope};
        let dir = tempfile::tempdir().expect("temporary directory");
        let url: DatabaseUrl =
            format!("sqlite://{}", dir.path().join("reporting.db").display()).parse().expect("database url");
        let db = Db::connect(&url).await.expect("database");
        db.migrate::<liaison_reporting::store::migration::Migrator>().await.expect("migrations");
        let store = Store::new(db.clone());
        let quarter = last_full_quarter(END);
        let build = build(&store, 20_000, END, quarter, "test").await.expect("build");
        assert!(build.updates > 5_000 && build.in_quarter > 2_000, "{build:?}");
        assert!(count_facts(&store).await.expect("count") > 10_000);
        let period = Period::parse(Some(&timestamp(quarter.0)), Some(&timestamp(quarter.1)), "UTC").expect("period");
        let window = Window::new(period, END);
        let records = store
            .records(&window, &Scope::All, liaison_reporting::store::records::Register::Period)
            .await
            .expect("records");
        let computed = compute(ReportKind::ExecutiveSummary, &Scope::All, &window, &records);
        let value =
            |id: &str| computed.sections.iter().flat_map(|s| &s.figures).find(|f| f.id == id).map_or(0.0, |f| f.value);
        for figure in [
            "engagement.interactions",
            "engagement.new_contacts",
            "meetings.held",
            "meetings.cancelled",
            "meetings.attendance_rate",
            "action_items.done",
            "action_items.overdue",
            "commitments.closed",
            "commitments.satisfaction",
            "projects.milestones_due",
            "projects.milestones_met",
            "projects.milestones_late",
            "projects.status_changes",
            "mediation.opened",
            "mediation.resolved",
            "mediation.time_to_resolution{p=50}",
            "mediation.prevention_actions_outstanding",
        ] {
            assert!(value(figure) > 0.0, "{figure} is {}", value(figure));
        }
        assert!(!computed.suggestions.is_empty(), "some rule fires");
        db.close().await;
    }

    #[test]
    fn explain_times_meetings_held_and_the_smallest_figure_with_evidence() {
        let figure = |id: &str, evidence_count: i64| Figure { id: id.into(), evidence_count, ..Default::default() };
        let mut report = Report {
            sections: vec![Section {
                figures: vec![
                    figure("engagement.interactions", 900),
                    figure("meetings.held", 400),
                    figure("feedback.count", 0),
                    figure("mediation.resolved", 3),
                    figure("mediation.escalated", 3),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let picked = figures_to_explain(&report).expect("figures");
        assert_eq!(picked, (("meetings.held".into(), 400), ("mediation.escalated".into(), 3)));
        report.sections[0].figures.remove(1);
        let picked = figures_to_explain(&report).expect("figures");
        assert_eq!(picked.0, ("engagement.interactions".into(), 900), "the largest when no meeting was held");
        report.sections[0].figures.clear();
        assert_eq!(figures_to_explain(&report), None);
    }

    #[test]
    fn growth_divides_the_largest_size_by_the_smallest_that_measured() {
        let scales = [scale(100_000, Some(50.0)), scale(1_000_000, Some(400.0)), scale(5_000_000, Some(3_000.0))];
        let grown = growth(&scales).expect("growth");
        assert_eq!((grown.from, grown.to, grown.data_factor, grown.time_factor), (100_000, 5_000_000, 50.0, 60.0));
        let failed = [scale(100_000, Some(50.0)), scale(5_000_000, None)];
        assert_eq!(growth(&failed), None, "one size measured is no growth");
        let mut too_large = scale(5_000_000, None);
        too_large.generate_failed = Timing::of(vec![4_000.0]);
        let grown = growth(&[scale(100_000, Some(50.0)), too_large]).expect("a call that failed after its work");
        assert_eq!(grown.time_factor, 80.0);
        assert_eq!(at_goal_size(&scales).map(|s| s.changes), Some(GOAL_SIZE));
        assert!(at_goal_size(&failed).is_none());
    }

    #[test]
    fn a_reports_bytes_are_told_by_part() {
        let section = |id: &str, title: &str| Section { id: id.into(), title: title.into(), ..Default::default() };
        let report = Report {
            sections: vec![section("engagement", "Engagement"), section("meetings", "Meetings and action items")],
            ..Default::default()
        };
        let parts = parts(&report);
        assert_eq!(parts["engagement"], 24, "id and title, each with its tag and length");
        assert_eq!(parts["meetings"], 37);
        assert_eq!((parts["recommendations"], parts["headlines"]), (0, 0));
    }

    #[test]
    fn timings_keep_every_sample_with_their_median_and_max() {
        let timing = Timing::of(vec![30.0, 10.0, 20.0, 50.0]).expect("timing");
        assert_eq!((timing.median_ms, timing.max_ms), (25.0, 50.0));
        assert_eq!(timing.samples_ms, vec![30.0, 10.0, 20.0, 50.0]);
        assert_eq!(Timing::of(Vec::new()), None);
    }
}
