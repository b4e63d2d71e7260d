//! The soak run (`--soak [DURATION]`, not part of CI): a steady mixed load at a fixed, modest rate for minutes
//! against the real system, to see whether it stays flat — memory that keeps growing (a leak, a cache without a
//! bound) or latency that creeps up (a table or a queue that grows, work that piles up).
//!
//! Per engine the system is started as for the benchmark ([`crate::run::start_cluster`]), `--seed-contacts`
//! contacts are created (their etags kept), and the [`MIX`] is driven in open loop at `--soak-rate` calls/s
//! (latency counted from when each call was due, as in [`crate::load`]), at most `--concurrency` in flight over
//! `--connections` connections per service. Every `--soak-interval` the sampler reads each server process's VmRSS
//! and CPU time, the p50/p99 of the calls completed in the interval, and the machine's own stalls
//! ([`crate::hiccup`]). At the end: the intervals, the least-squares slopes of memory (MiB/min) and p99 (ms/min),
//! errors by code, and two goals judged as ratios, not absolutes ([`judge_memory`], [`judge_p99`]); the first
//! third of the run is warm-up for both.
use crate::cli::{Engine, RunSettings};
use crate::cluster::{Cluster, Postgres};
use crate::hiccup::{HiccupMeter, MachineStalls};
use crate::load::{self, Connections, TIMER_GRANULARITY};
use crate::procs;
use crate::report::{ProcessMemory, fmt_mib, fmt_ms, fmt_rate};
use crate::scenarios::{self, Fixture, Scenario};
use anyhow::Context;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{Contact, CreateContactRequest, GetContactRequest, UpdateContactRequest};
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{AcknowledgeCaseRequest, AssessCaseRequest, OpenCaseRequest};
use liaison_runtime::config::ServiceKind;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

mod judge;
mod mix;
mod report;
#[cfg(test)]
mod tests;

use judge::*;
use mix::*;
pub(crate) use report::*;

/// `--soak` without a value.
pub(crate) const DEFAULT_DURATION: &str = "10m";
/// Calls per second of all kinds together, unless `--soak-rate` says otherwise.
pub(crate) const DEFAULT_RATE: f64 = 200.0;
/// How often memory and latency are sampled, unless `--soak-interval` says otherwise.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// The goals divide the run in thirds (the first is warm-up), so it needs at least three intervals.
pub(crate) const MIN_INTERVALS: u64 = 3;

/// The soak's settings, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Soak {
    #[serde(rename = "duration_s", serialize_with = "serialize_secs")]
    pub(crate) duration: Duration,
    /// Calls per second, all kinds together.
    pub(crate) rate: f64,
    #[serde(rename = "interval_s", serialize_with = "serialize_secs")]
    pub(crate) interval: Duration,
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Soak {
    /// Whole intervals in the run (a remainder shorter than an interval is not driven).
    pub(crate) fn intervals(&self) -> u64 {
        (self.duration.as_secs_f64() / self.interval.as_secs_f64()).floor() as u64
    }
}

/// Runs the soak on every engine `settings` asks for.
pub(crate) async fn run(settings: &RunSettings, soak: Soak) -> anyhow::Result<SoakReport> {
    if !settings.liaison_bin.is_file() {
        anyhow::bail!(
            "{} does not exist: build it with `cargo build --release -p liaison -p liaison-bench`, or pass \
             --liaison-bin",
            settings.liaison_bin.display()
        );
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let load_average_start = load_average();
    // Read now: a commit made while the soak runs is not the one measured.
    let git_commit = crate::run::git_commit();
    let work = tempfile::Builder::new().prefix("liaison-soak-").tempdir().context("cannot create a work directory")?;
    let tag = format!("{}x{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[8..16]);
    let postgres = Postgres::new(&settings.postgres_url);
    let mut notes = Vec::new();
    let engines = crate::run::engines(settings, &postgres, &mut notes).await?;
    eprintln!(
        "liaison-bench: soak; work directory {} (the servers' logs are there while it runs)",
        work.path().display()
    );
    if engines.contains(&Engine::Postgres) {
        notes.extend(autovacuum_note(&settings.postgres_url).await);
    }
    let mut reports = Vec::new();
    for engine in engines {
        let dir = work.path().join(engine.name());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        eprintln!("liaison-bench: {} — starting the system under test", engine.name());
        let mut cluster = crate::run::start_cluster(settings, engine, &dir, &postgres, &tag).await?;
        let measured = soak_engine(settings, soak, &mut cluster, &tag).await;
        let stopped = cluster.stop().await;
        let report = measured?;
        stopped.with_context(|| format!("stopping the {} system under test", engine.name()))?;
        reports.push(report);
    }
    Ok(SoakReport {
        tool: format!("liaison-bench {}", env!("CARGO_PKG_VERSION")),
        started_at,
        git_commit,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_average_start,
        load_average_end: load_average(),
        soak,
        connections: settings.load.connections,
        concurrency: settings.load.concurrency,
        seed_contacts: settings.seed_contacts,
        mix: mix_text(),
        engines: reports,
        notes,
    })
}

/// A note when the PostgreSQL server runs without autovacuum: the tables the soak writes are then analysed once,
/// right after seeding, while they are nearly empty, and keep the plans of empty tables (sequential scans) as they
/// grow, so that latency grows with them — which a server with autovacuum would not show.
async fn autovacuum_note(url: &str) -> Option<String> {
    use sea_orm::sqlx::{self, Connection, Row};
    let mut conn = sqlx::postgres::PgConnection::connect(url).await.ok()?;
    let autovacuum: Option<String> =
        sqlx::query("SHOW autovacuum").fetch_one(&mut conn).await.ok().and_then(|row| row.try_get(0).ok());
    let _ = conn.close().await;
    (autovacuum.as_deref() == Some("off")).then(|| {
        "PostgreSQL runs with autovacuum off: the bench analyses each database once, right after seeding, so the \
         tables the soak writes (meetings, cases, contacts' search terms) keep the planner statistics of nearly \
         empty tables as they grow, their queries become sequential scans, and latency grows with the tables. A \
         server with autovacuum re-analyses them as they grow."
            .to_owned()
    })
}

fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Engines whose run had no successful call at all: the tool did not work there.
pub(crate) fn broken(report: &SoakReport) -> Vec<String> {
    report
        .engines
        .iter()
        .filter(|engine| engine.intervals.iter().all(|i| i.ok == 0))
        .map(|engine| {
            format!("{}: the soak had no successful call (errors: {:?})", engine.engine.name(), engine.errors)
        })
        .collect()
}

async fn soak_engine(
    settings: &RunSettings,
    soak: Soak,
    cluster: &mut Cluster,
    tag: &str,
) -> anyhow::Result<SoakEngine> {
    let engine = cluster.engine;
    let name = engine.name();
    eprintln!("liaison-bench: {name} — SERVING after {:.0} ms", cluster.cold_start.as_secs_f64() * 1e3);
    let connections = settings.load.connections;
    let contacts = Connections::open(&cluster.url(ServiceKind::Contacts), connections).await?;
    let scheduling = Connections::open(&cluster.url(ServiceKind::Scheduling), connections).await?;
    let mediation = Connections::open(&cluster.url(ServiceKind::Mediation), connections).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let processes = cluster.processes();
    let idle_rss = processes
        .iter()
        .map(|(process, pid)| Ok(ProcessMemory { process: process.clone(), rss_kib: procs::memory(*pid)?.rss_kib }))
        .collect::<anyhow::Result<Vec<_>>>()?;

    eprintln!("liaison-bench: {name} — seeding {} contacts (their etags kept)", settings.seed_contacts);
    let seeding = std::time::Instant::now();
    let (names, etags) = seed_contacts(&contacts, tag, settings.seed_contacts).await?;
    let fixture = Fixture {
        names: Arc::new(names),
        read_names: Arc::default(),
        queries: Arc::default(),
        page_tokens: Arc::new(scenarios::page_tokens(&contacts.get(0)).await?),
        tag: format!("{tag}-soak").into(),
        workers: settings.load.concurrency,
        round: 0,
        bearer: None,
        calendar: None,
        cases: None,
    };
    let fixture = Fixture { read_names: fixture.names.clone(), ..fixture };
    cluster.analyze().await?;
    let seeded_in_s = seeding.elapsed().as_secs_f64();
    eprintln!("liaison-bench: {name} — seeded in {seeded_in_s:.1} s");

    let mix = Arc::new(Mix::new(&fixture, etags, &contacts, &scheduling, &mediation)?);
    eprintln!(
        "liaison-bench: {name} — soak: {} at {} calls/s, sampled every {} s",
        fmt_duration(soak.duration),
        fmt_rate(soak.rate),
        fmt_secs(soak.interval.as_secs_f64())
    );
    let pids: Vec<u32> = processes.iter().map(|(_, pid)| *pid).collect();
    let driven = drive(mix, soak, settings.load.concurrency, cluster, &pids, name).await?;

    let process_names: Vec<String> = processes.into_iter().map(|(process, _)| process).collect();
    let (memory, p99) = trends(&process_names, &driven.intervals, soak.duration.as_secs_f64() / 60.0)?;
    let mut errors = BTreeMap::new();
    let mut rpcs = Vec::new();
    for (index, rpc) in Rpc::ALL.iter().enumerate() {
        let whole = &driven.rpcs[index];
        for (code, n) in &whole.errors {
            *errors.entry((*code).to_owned()).or_default() += n;
        }
        if whole.ok > 0 || !whole.errors.is_empty() {
            rpcs.push(RpcFigures::new(rpc.name(), whole, [0, 1, 2].map(|third| &driven.thirds[third][index])));
        }
    }
    Ok(SoakEngine {
        engine,
        topology: cluster.topology().to_owned(),
        seeded_in_s,
        idle_rss,
        processes: process_names,
        intervals: driven.intervals,
        rpcs,
        errors,
        memory,
        p99,
    })
}

/// Creates `count` contacts, 32 at a time, and returns their names and etags (index for index).
async fn seed_contacts(contacts: &Connections, tag: &str, count: usize) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let created: Vec<(String, String)> = futures::stream::iter(0..count)
        .map(|i| {
            let channel = contacts.get(i);
            let contact = scenarios::new_contact(&format!("{tag}-seed"), i as u64);
            async move {
                let created = ContactsServiceClient::new(channel)
                    .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
                    .await
                    .with_context(|| format!("seeding contact {i}: CreateContact failed"))?
                    .into_inner()
                    .contact
                    .context("CreateContact returned no contact")?;
                anyhow::Ok((created.name, created.etag))
            }
        })
        .buffered(32)
        .try_collect()
        .await?;
    Ok(created.into_iter().unzip())
}
