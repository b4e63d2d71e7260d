//! One run of the bench: the echo ceiling, then per engine the system started cold, its idle memory, the
//! database's own rates, the seeded data, each scenario in turn, and reporting's ingestion; then the goals.
use crate::ceilings::{CeilingDb, EchoServer};
use crate::cli::{Engine, RunSettings};
use crate::cluster::{Cluster, Postgres};
use crate::load::{self, Connections, Drive, Pace};
use crate::procs;
use crate::report::{self, EngineReport, Measured, ProcessMemory, Report};
use crate::scenarios::{self, Fixture, Scenario};
use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use liaison_runtime::config::ServiceKind;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long the system is left alone after it became SERVING before its idle memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

/// Runs everything `settings` asks for.
pub(crate) async fn run(settings: &RunSettings) -> anyhow::Result<Report> {
    if !settings.liaison_bin.is_file() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p liaison`, or pass --liaison-bin",
            settings.liaison_bin.display()
        );
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let work = tempfile::Builder::new().prefix("liaison-bench-").tempdir().context("cannot create a work directory")?;
    // Names this run's data (PostgreSQL databases, request ids, emails) apart from any other run's.
    let tag = format!("{}x{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[8..16]);
    let mut notes = Vec::new();

    let postgres = Postgres::new(&settings.postgres_url);
    let mut engines = Vec::new();
    for engine in &settings.engines {
        if *engine == Engine::Postgres && !postgres.reachable().await {
            let url = liaison_runtime::db::redact(&settings.postgres_url);
            if settings.engines_explicit {
                bail!("PostgreSQL at {url} does not answer (pass --engines sqlite to run without it)");
            }
            notes.push(format!("PostgreSQL at {url} did not answer: the postgres engine was skipped."));
            continue;
        }
        engines.push(*engine);
    }

    eprintln!("liaison-bench: work directory {} (logs of the servers are there while it runs)", work.path().display());
    let (echo, echo_small) = measure_echo(settings, work.path()).await?;
    let mut reports = Vec::new();
    for engine in engines {
        let dir = work.path().join(engine.name());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        eprintln!("liaison-bench: {} — starting the system under test", engine.name());
        let mut cluster = match engine {
            Engine::Sqlite => Cluster::start_sqlite(&settings.liaison_bin, &dir).await?,
            Engine::Postgres => {
                Cluster::start_postgres(&settings.liaison_bin, &dir, &postgres, &format!("liaison_bench_{tag}")).await?
            }
        };
        let measured = bench_engine(settings, &mut cluster, &postgres, &dir, &tag).await;
        let stopped = cluster.stop().await;
        let mut report = measured?;
        stopped.with_context(|| format!("stopping the {} system under test", engine.name()))?;
        report::assign_ratios(&mut report, echo.as_ref());
        reports.push(report);
    }
    let goals = crate::goals::evaluate(&reports);
    notes.extend(report::stack_stall_note(echo.as_ref(), echo_small.as_ref()));
    Ok(Report {
        tool: format!("liaison-bench {}", env!("CARGO_PKG_VERSION")),
        started_at,
        git_commit: git_commit(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_average,
        settings: settings.clone(),
        echo,
        echo_small,
        engines: reports,
        goals,
        notes,
    })
}

/// The echo server's closed-loop rates, in a process of its own: with responses the size of a GetContact
/// response (the ceiling: the same bytes on the wire as the scenario it is compared with), and with tiny ones
/// (the stack alone; a gap between the two points at how the stack writes larger responses).
async fn measure_echo(settings: &RunSettings, dir: &Path) -> anyhow::Result<(Option<Measured>, Option<Measured>)> {
    let needs_echo =
        [Scenario::GetContact, Scenario::BatchGetContacts, Scenario::ListContacts, Scenario::SearchContacts]
            .iter()
            .any(|s| settings.runs(s.name()));
    if !needs_echo {
        return Ok((None, None));
    }
    eprintln!("liaison-bench: echo ceiling");
    let server = EchoServer::start(&dir.join("echo.log")).await?;
    let measured = async {
        let connections = Connections::open(&server.url, settings.load.connections).await?;
        let drive = Drive { load: settings.load, pace: Pace::Closed };
        let mut results = Vec::new();
        let contact_sized = scenarios::typical_get_contact_response_len();
        // A contact's name is what a GetContact request carries.
        let name_sized = format!("contacts/{}", uuid::Uuid::now_v7()).len();
        for (name, size) in [("Echo", contact_sized), ("EchoSmall", name_sized)] {
            let workload = crate::echo::workload(vec![b'x'; size], connections.clone());
            let outcome = load::run(workload, drive, &[server.proc.pid()]).await?;
            let measured =
                Measured::new(&format!("{name} ({size}-byte payload)"), &outcome, Pace::Closed, &["echo".to_owned()]);
            progress("echo", &measured);
            results.push(measured);
        }
        let small = results.pop();
        anyhow::Ok((results.pop(), small))
    }
    .await;
    server.proc.stop(Duration::from_secs(5)).await?;
    measured
}

async fn bench_engine(
    settings: &RunSettings,
    cluster: &mut Cluster,
    postgres: &Postgres,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<EngineReport> {
    let engine = cluster.engine;
    eprintln!("liaison-bench: {} — SERVING after {:.0} ms", engine.name(), cluster.cold_start.as_secs_f64() * 1e3);
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle_rss = memory_now(cluster, |m| m.rss_kib)?;

    let (db_insert, db_read) = measure_database(settings, engine, postgres, dir, tag).await?;

    let contacts = Connections::open(&cluster.url(ServiceKind::Contacts), settings.load.connections).await?;
    let scheduling = Connections::open(&cluster.url(ServiceKind::Scheduling), settings.load.connections).await?;
    eprintln!("liaison-bench: {} — seeding {} contacts", engine.name(), settings.seed_contacts);
    let names = scenarios::seed_contacts(&contacts, tag, settings.seed_contacts).await?;
    let fixture = Fixture {
        names: Arc::new(names),
        page_tokens: Arc::new(scenarios::page_tokens(&contacts.get(0)).await?),
        tag: tag.into(),
        workers: settings.load.concurrency,
    };

    let processes: Vec<String> = cluster.processes().into_iter().map(|(name, _)| name).collect();
    let mut measured: Vec<Measured> = Vec::new();
    for scenario in Scenario::ALL {
        if !settings.runs(scenario.name()) {
            continue;
        }
        let pace = match scenario {
            Scenario::Ingestion => continue,
            Scenario::GetContactHalfPeak => {
                let peak = measured.iter().find(|m| m.name == Scenario::GetContact.name()).map_or(0.0, |m| m.per_s);
                if peak <= 0.0 {
                    eprintln!("liaison-bench: {} — GetContactHalfPeak needs GetContact's peak; skipped", engine.name());
                    continue;
                }
                Pace::Open { per_second: peak / 2.0 }
            }
            _ => Pace::Closed,
        };
        let connections = if scenario == Scenario::CreateMeeting { &scheduling } else { &contacts };
        let Some(workload) = scenarios::workload(scenario, &fixture, connections) else { continue };
        let outcome = load::run(workload, Drive { load: settings.load, pace }, &cluster.pids()).await?;
        cluster.check_alive()?;
        let mut result = Measured::new(scenario.name(), &outcome, pace, &processes);
        result.ceiling = scenario.ceiling();
        progress(engine.name(), &result);
        measured.push(result);
    }

    // VmHWM now: the SQLite all-in-one restarts (and so forgets its peak) for the ingestion measurement.
    let mut peak = memory_now(cluster, |m| m.hwm_kib)?;
    let ingestion = if settings.runs(Scenario::Ingestion.name()) {
        let present = crate::ingest::backlog(cluster).await?;
        let missing = (settings.backlog as u64).saturating_sub(present);
        if missing > 0 {
            eprintln!("liaison-bench: {} — writing {missing} more contacts for the ingestion backlog", engine.name());
            scenarios::seed_contacts(&contacts, &format!("{tag}-backlog"), missing as usize).await?;
        }
        let backlog = crate::ingest::backlog(cluster).await?;
        let timeout = Duration::from_secs(60.max(backlog / 1000));
        eprintln!("liaison-bench: {} — reporting restarts empty and ingests {backlog} changes", engine.name());
        let ingestion = crate::ingest::measure(cluster, backlog, timeout).await?;
        eprintln!(
            "liaison-bench: {} — ingestion: {} changes/s",
            engine.name(),
            report::fmt_rate(ingestion.changes_per_s)
        );
        let after = memory_now(cluster, |m| m.hwm_kib)?;
        peak = merge_peaks(peak, after);
        Some(ingestion)
    } else {
        None
    };

    Ok(EngineReport {
        engine,
        topology: cluster.topology().to_owned(),
        cold_start_ms: cluster.cold_start.as_secs_f64() * 1e3,
        idle_rss,
        db_insert,
        db_read,
        scenarios: measured,
        ingestion,
        peak_rss: peak,
    })
}

/// The database's own single-row insert and primary-key read rates, on a database next to the services'.
async fn measure_database(
    settings: &RunSettings,
    engine: Engine,
    postgres: &Postgres,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<(Option<Measured>, Option<Measured>)> {
    let wanted = [Scenario::CreateContact, Scenario::UpdateContact, Scenario::CreateMeeting]
        .iter()
        .any(|s| settings.runs(s.name()));
    if !wanted {
        return Ok((None, None));
    }
    eprintln!("liaison-bench: {} — the database's own rates", engine.name());
    let pg_database = format!("liaison_bench_{tag}_ceiling");
    let db = match engine {
        Engine::Sqlite => CeilingDb::sqlite(&dir.join("ceiling.db")).await?,
        Engine::Postgres => CeilingDb::postgres(&postgres.create(&pg_database).await?).await?,
    };
    let measured = async {
        let seed_tag = format!("{tag}-seed");
        let ids: Vec<String> = futures::stream::iter(0..settings.seed_contacts as u64)
            .map(|i| db.insert(&seed_tag, i))
            .buffer_unordered(16)
            .try_collect()
            .await
            .context("cannot fill the ceiling table")?;
        let drive = Drive { load: settings.load, pace: Pace::Closed };
        let insert = load::run(db.insert_workload(tag), drive, &[]).await?;
        let read = load::run(db.read_workload(Arc::new(ids)), drive, &[]).await?;
        let insert = Measured::new("db insert", &insert, Pace::Closed, &[]);
        let read = Measured::new("db read", &read, Pace::Closed, &[]);
        progress(engine.name(), &insert);
        progress(engine.name(), &read);
        anyhow::Ok((Some(insert), Some(read)))
    }
    .await;
    db.close().await;
    if engine == Engine::Postgres {
        postgres.drop_database(&pg_database).await?;
    }
    measured
}

/// One figure of each server process's memory.
fn memory_now(cluster: &Cluster, figure: fn(&procs::Memory) -> u64) -> anyhow::Result<Vec<ProcessMemory>> {
    cluster
        .processes()
        .into_iter()
        .map(|(process, pid)| Ok(ProcessMemory { process, rss_kib: figure(&procs::memory(pid)?) }))
        .collect()
}

/// The larger figure of each process in either list.
fn merge_peaks(before: Vec<ProcessMemory>, after: Vec<ProcessMemory>) -> Vec<ProcessMemory> {
    let mut order = Vec::new();
    let mut peaks = BTreeMap::new();
    for memory in before.into_iter().chain(after) {
        let peak = peaks.entry(memory.process.clone()).or_insert_with(|| {
            order.push(memory.process.clone());
            0
        });
        *peak = (*peak).max(memory.rss_kib);
    }
    order.into_iter().map(|process| ProcessMemory { rss_kib: peaks[&process], process }).collect()
}

fn progress(engine: &str, m: &Measured) {
    eprintln!(
        "liaison-bench: {engine} — {}: {} calls/s, {} items/s, p50 {} ms, p99 {} ms, errors {}",
        m.name,
        report::fmt_rate(m.per_s),
        report::fmt_rate(m.items_per_s),
        report::fmt_ms(m.latency.p50_ms),
        report::fmt_ms(m.latency.p99_ms),
        m.error_count()
    );
}

/// The commit being measured, when run inside a git work tree.
fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

/// Scenarios that did not work at all: no successful call, and not (only) because the RPC is not implemented
/// yet. A run with any of them did not prove the tool works.
pub(crate) fn broken_scenarios(report: &Report) -> Vec<String> {
    let mut broken = Vec::new();
    for engine in &report.engines {
        for m in engine.scenarios.iter().chain(engine.db_insert.as_ref()).chain(engine.db_read.as_ref()) {
            let only_unimplemented = m.errors.keys().all(|code| code == "UNIMPLEMENTED") && !m.errors.is_empty();
            if m.ok == 0 && !only_unimplemented {
                broken.push(format!(
                    "{} {}: no successful call (errors: {:?})",
                    engine.engine.name(),
                    m.name,
                    m.errors
                ));
            }
        }
    }
    for echo in [&report.echo, &report.echo_small].into_iter().flatten().filter(|echo| echo.ok == 0) {
        broken.push(format!("{}: no successful call (errors: {:?})", echo.name, echo.errors));
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(process: &str, mib: u64) -> ProcessMemory {
        ProcessMemory { process: process.into(), rss_kib: mib * 1024 }
    }

    #[test]
    fn peaks_keep_the_larger_figure_of_each_process() {
        let merged = merge_peaks(
            vec![memory("contacts", 40), memory("reporting", 30)],
            vec![memory("contacts", 20), memory("reporting", 50)],
        );
        assert_eq!(merged, vec![memory("contacts", 40), memory("reporting", 50)]);
    }

    #[test]
    fn a_scenario_without_success_is_broken_unless_it_is_not_implemented_yet() {
        use crate::report::tests::{engine, measured};
        let mut search = measured("SearchContacts", 0.0, 0.0, None);
        search.ok = 0;
        search.errors.insert("UNIMPLEMENTED".into(), 40);
        let mut get = measured("GetContact", 0.0, 0.0, None);
        get.ok = 0;
        get.errors.insert("NOT_FOUND".into(), 40);
        let fine = measured("ListContacts", 100.0, 5000.0, None);
        let settings = crate::cli::RunArgs::default().resolve(Some("x".into())).expect("settings");
        let report = Report {
            tool: String::new(),
            started_at: String::new(),
            git_commit: None,
            cpus: 2,
            load_average: None,
            settings,
            echo: None,
            echo_small: None,
            engines: vec![engine(Engine::Sqlite, vec![search, get, fine])],
            goals: Vec::new(),
            notes: Vec::new(),
        };
        let broken = broken_scenarios(&report);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("GetContact") && broken[0].contains("NOT_FOUND"));
    }
}
