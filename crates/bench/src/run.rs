//! One run of the bench: the echo ceiling, then per engine the system started cold, its idle memory, the
//! database's own rates, the seeded data (the register of `--contacts` people imported: [`crate::register`]), each
//! scenario in turn, and reporting's ingestion; with the system stopped, reporting's read models at scale and the
//! contacts at scale (fresh systems of their own: [`crate::scale`]); then the goals.
use crate::ceilings::{CeilingDb, EchoServer};
use crate::cli::{Engine, RunSettings};
use crate::cluster::{Cluster, Postgres, TlsAllInOne};
use crate::load::{self, Connections, Drive, Pace};
use crate::procs;
use crate::report::{self, Ceiling, EngineReport, Measured, ProcessMemory, Report, Round};
use crate::scenarios::{self, Fixture, Scenario, Transport};
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
    let engines = engines(settings, &postgres, &mut notes).await?;

    eprintln!("liaison-bench: work directory {} (logs of the servers are there while it runs)", work.path().display());
    let echo = if needs_echo(settings) {
        eprintln!("liaison-bench: echo ceiling");
        Some(EchoServer::start(work.path()).await?)
    } else {
        None
    };
    let measured = async {
        let (echo_start, echo_small) = match &echo {
            Some(server) => stack_check(settings, server).await?,
            None => (None, None),
        };
        let mut reports = Vec::new();
        for engine in engines {
            let dir = work.path().join(engine.name());
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            eprintln!("liaison-bench: {} — starting the system under test", engine.name());
            let mut cluster = start_cluster(settings, engine, &dir, &postgres, &tag).await?;
            let measured = bench_engine(settings, &mut cluster, &postgres, echo.as_ref(), &dir, &tag).await;
            let stopped = cluster.stop().await;
            let mut report = measured?;
            stopped.with_context(|| format!("stopping the {} system under test", engine.name()))?;
            // With the system under test stopped: reporting runs in this process, alone on the machine.
            if settings.runs(crate::reports::NAME) {
                report.reports = crate::reports::run(settings, engine, &postgres, &dir, &tag).await?;
            }
            report.contacts_at_scale = crate::scale::run(settings, engine, &postgres, &dir, &tag).await?;
            reports.push(report);
        }
        anyhow::Ok((echo_start, echo_small, reports))
    }
    .await;
    if let Some(mut server) = echo {
        server.proc.stop(Duration::from_secs(5)).await?;
    }
    let (echo, echo_small, reports) = measured?;
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

/// The engines to run: those asked for, PostgreSQL skipped (with a note) when it does not answer and was not asked
/// for by name.
pub(crate) async fn engines(
    settings: &RunSettings,
    postgres: &Postgres,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Engine>> {
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
    Ok(engines)
}

/// The system under test of `engine`, started cold: the all-in-one on SQLite files under `dir`, or four processes on
/// PostgreSQL databases `liaison_bench_<tag>_<service>`.
pub(crate) async fn start_cluster(
    settings: &RunSettings,
    engine: Engine,
    dir: &Path,
    postgres: &Postgres,
    tag: &str,
) -> anyhow::Result<Cluster> {
    match engine {
        Engine::Sqlite => Cluster::start_sqlite(&settings.liaison_bin, dir).await,
        Engine::Postgres => {
            Cluster::start_postgres(&settings.liaison_bin, dir, postgres, &format!("liaison_bench_{tag}")).await
        }
    }
}

/// Whether any scenario compared with the echo ceiling runs.
fn needs_echo(settings: &RunSettings) -> bool {
    Scenario::ALL.iter().any(|s| s.ceiling() == Some(Ceiling::Echo) && settings.runs_scenario(*s))
}

/// The sizes of the echo's payloads: as many bytes as a GetContact response (the ceiling: the same bytes on the
/// wire as the scenario it is compared with), and as many as a contact's name (the stack alone).
fn echo_sizes() -> (usize, usize) {
    (scenarios::typical_get_contact_response_len(), format!("contacts/{}", uuid::Uuid::now_v7()).len())
}

/// The stack check at the start of the run: the echo with GetContact-sized and with tiny messages (a gap between
/// the two points at how the stack writes larger responses).
async fn stack_check(
    settings: &RunSettings,
    server: &EchoServer,
) -> anyhow::Result<(Option<Measured>, Option<Measured>)> {
    let (contact_sized, name_sized) = echo_sizes();
    let echo = measure_echo(settings, server, "Echo", contact_sized, Pace::Closed).await?;
    progress("echo", &echo);
    let small = measure_echo(settings, server, "EchoSmall", name_sized, Pace::Closed).await?;
    progress("echo", &small);
    Ok((Some(echo), Some(small)))
}

/// The echo server with `size`-byte payloads, driven at `pace`.
async fn measure_echo(
    settings: &RunSettings,
    server: &EchoServer,
    name: &str,
    size: usize,
    pace: Pace,
) -> anyhow::Result<Measured> {
    let connections = Connections::open(&server.url, settings.load.connections).await?;
    let drive = Drive { load: settings.load, pace };
    let workload = crate::echo::workload(vec![b'x'; size], connections);
    let outcome = load::run(workload, drive, &[server.proc.pid()]).await?;
    Ok(Measured::new(&format!("{name} ({size}-byte payload)"), &outcome, pace, &["echo".to_owned()]))
}

async fn bench_engine(
    settings: &RunSettings,
    cluster: &mut Cluster,
    postgres: &Postgres,
    echo: Option<&EchoServer>,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<EngineReport> {
    let engine = cluster.engine;
    eprintln!("liaison-bench: {} — SERVING after {:.0} ms", engine.name(), cluster.cold_start.as_secs_f64() * 1e3);
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle_rss = memory_now(cluster, |m| m.rss_kib)?;

    let ceiling_db = open_ceiling_db(settings, engine, postgres, dir, tag).await?;
    let rounds = async {
        let contacts = Connections::open(&cluster.url(ServiceKind::Contacts), settings.load.connections).await?;
        let scheduling = Connections::open(&cluster.url(ServiceKind::Scheduling), settings.load.connections).await?;
        let mediation = Connections::open(&cluster.url(ServiceKind::Mediation), settings.load.connections).await?;
        eprintln!("liaison-bench: {} — seeding {} contacts", engine.name(), settings.seed_contacts);
        let names = scenarios::seed_contacts(&contacts, tag, settings.seed_contacts).await?;
        let register = if Scenario::ALL.iter().any(|s| s.reads_register() && settings.runs_scenario(*s)) {
            eprintln!("liaison-bench: {} — seeding the register: {} people", engine.name(), settings.contacts);
            let prefix = format!("liaison_bench_{tag}");
            let databases = (format!("{prefix}_{}", ServiceKind::Contacts.name()), format!("{prefix}_import"));
            let databases = (databases.0.as_str(), databases.1.as_str());
            let register =
                crate::register::prepare(cluster, &contacts, postgres, dir, databases, settings.contacts, engine.name())
                    .await?;
            Some(register)
        } else {
            None
        };
        let bearer = cluster.token()?.as_deref().map(scenarios::bearer).transpose()?;
        let calendar = if Scenario::ALL.iter().any(|s| s.needs_calendar() && settings.runs_scenario(*s)) {
            eprintln!(
                "liaison-bench: {} — seeding the calendars: {} team members with a year of meetings each",
                engine.name(),
                crate::calendar::PARTICIPANTS
            );
            let (calendar, seeded) = crate::calendar::seed(&contacts, &scheduling, tag).await?;
            eprintln!("liaison-bench: {} — {}", engine.name(), report::fmt_calendar_seed(&seeded));
            Some((Arc::new(calendar), seeded))
        } else {
            None
        };
        let cases = if Scenario::ALL.iter().any(|s| s.on_mediation() && settings.runs_scenario(*s)) {
            let count = settings.seed_contacts;
            eprintln!("liaison-bench: {} — seeding {count} cases of {} parties", engine.name(), scenarios::CASE_PARTIES);
            let started = std::time::Instant::now();
            let cases = scenarios::seed_cases(&mediation, &names, tag, count).await?;
            eprintln!(
                "liaison-bench: {} — {count} cases seeded in {:.1} s; {} of them for EscalateCase (not on ListCasesBySla's \
                 page)",
                engine.name(),
                started.elapsed().as_secs_f64(),
                cases.len()
            );
            Some(Arc::new(cases))
        } else {
            None
        };
        cluster.analyze().await?;
        let names = Arc::new(names);
        let (read_names, queries, seeded) = match register {
            Some(register) => (Arc::new(register.names), Arc::new(register.queries), Some(register.seeded)),
            None => (names.clone(), Arc::default(), None),
        };
        let fixture = Fixture {
            names,
            read_names,
            queries,
            page_tokens: Arc::new(scenarios::page_tokens(&contacts.get(0)).await?),
            tag: tag.into(),
            workers: settings.load.concurrency,
            round: 0,
            bearer,
            calendar: calendar.as_ref().map(|(calendar, _)| calendar.clone()),
            cases,
        };
        let mut tls = start_tls_target(settings, cluster, dir, tag).await?;
        let mut rounds = Vec::with_capacity(settings.rounds as usize);
        for round in 0..settings.rounds {
            if settings.rounds > 1 {
                eprintln!("liaison-bench: {} — round {} of {}", engine.name(), round + 1, settings.rounds);
            }
            let fixture = fixture.for_round(round);
            let mut target =
                Targets { contacts: &contacts, scheduling: &scheduling, mediation: &mediation, tls: tls.as_mut() };
            let measured = bench_round(settings, cluster, echo, ceiling_db.as_ref(), &fixture, &mut target).await?;
            rounds.push(measured);
        }
        // Stopped before ingestion is timed, which it would only disturb.
        if let Some(tls) = tls {
            tls.server.stop().await.context("stopping the all-in-one with TLS")?;
        }
        anyhow::Ok((rounds, contacts, calendar.map(|(_, seeded)| seeded), seeded))
    }
    .await;
    if let Some(table) = ceiling_db {
        table.db.close().await;
        if let Some(pg_database) = table.pg_database {
            postgres.drop_database(&pg_database).await?;
        }
    }
    let (rounds, contacts, calendar, register) = rounds?;

    // VmHWM now: the SQLite all-in-one restarts (and so forgets its peak) for the ingestion measurement.
    let mut peak = memory_now(cluster, |m| m.hwm_kib)?;
    // After the peak of the rounds is read: the phase resets each process's peak to measure its own.
    let abuse = if settings.runs(crate::abuse::NAME) {
        eprintln!("liaison-bench: {} — memory under abuse", engine.name());
        let workers = settings.load.concurrency.min(32);
        let names = scenarios::seed_contacts(&contacts, &format!("{tag}-abuse"), 1000).await?;
        let abuse =
            crate::abuse::run(cluster, &names, settings.load.duration, workers, settings.load.connections).await?;
        eprintln!("liaison-bench: {} — {}", engine.name(), report::fmt_abuse(&abuse));
        peak = merge_peaks(peak, abuse.peak_rss.clone());
        Some(abuse)
    } else {
        None
    };
    let mut ingestion = Vec::new();
    if settings.runs(Scenario::Ingestion.name()) {
        let present = crate::ingest::backlog(cluster).await?.len();
        let missing = (settings.backlog as u64).saturating_sub(present);
        if missing > 0 {
            eprintln!("liaison-bench: {} — writing {missing} more contacts for the ingestion backlog", engine.name());
            scenarios::seed_contacts(&contacts, &format!("{tag}-backlog"), missing as usize).await?;
        }
        let backlog = crate::ingest::backlog(cluster).await?;
        let timeout = Duration::from_secs(60.max(backlog.len() / 1000));
        for run in 0..settings.rounds {
            eprintln!(
                "liaison-bench: {} — reporting restarts empty and ingests {} changes ({} of {})",
                engine.name(),
                backlog.len(),
                run + 1,
                settings.rounds
            );
            let measured = crate::ingest::measure(cluster, &backlog, timeout).await?;
            eprintln!(
                "liaison-bench: {} — ingestion: {} changes/s",
                engine.name(),
                report::fmt_rate(measured.changes_per_s)
            );
            peak = merge_peaks(peak, memory_now(cluster, |m| m.hwm_kib)?);
            ingestion.push(measured);
        }
    }

    Ok(EngineReport {
        engine,
        topology: cluster.topology().to_owned(),
        cold_start_ms: cluster.cold_start.as_secs_f64() * 1e3,
        idle_rss,
        register,
        calendar,
        rounds,
        ingestion,
        peak_rss: peak,
        abuse,
        reports: Vec::new(),
        contacts_at_scale: None,
    })
}

/// The second all-in-one, with TLS on, and what the TLS scenarios drive it with.
struct TlsTarget {
    server: TlsAllInOne,
    contacts: Connections,
    /// Its own seeded contacts (as many as the system under test's) and its own token.
    fixture: Fixture,
}

/// Where a round's scenarios are driven.
struct Targets<'a> {
    contacts: &'a Connections,
    scheduling: &'a Connections,
    mediation: &'a Connections,
    tls: Option<&'a mut TlsTarget>,
}

/// The TLS scenarios' server, when any of them runs: on SQLite a second all-in-one with TLS on (see
/// [`TlsAllInOne`] for why a second process), seeded as the first; `None` on PostgreSQL, whose four `serve`
/// processes in development mode do not verify tokens (a deployment's TLS and required tokens would need a PKI and
/// four more databases; not measured).
async fn start_tls_target(
    settings: &RunSettings,
    cluster: &Cluster,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<Option<TlsTarget>> {
    let engine = cluster.engine;
    let wanted = Scenario::ALL.iter().any(|s| s.transport() == Transport::TlsWithToken && settings.runs_scenario(*s));
    if !wanted {
        return Ok(None);
    }
    if engine != Engine::Sqlite {
        eprintln!("liaison-bench: {} — the token and TLS scenarios run on the all-in-one only; skipped", engine.name());
        return Ok(None);
    }
    eprintln!("liaison-bench: {} — starting a second all-in-one, with TLS, for the TLS scenarios", engine.name());
    let server = TlsAllInOne::start(&settings.liaison_bin, dir).await?;
    let contacts =
        Connections::open_tls(server.port(ServiceKind::Contacts), server.tls(), settings.load.connections).await?;
    eprintln!("liaison-bench: {} — seeding {} contacts over TLS", engine.name(), settings.seed_contacts);
    let names = Arc::new(scenarios::seed_contacts(&contacts, tag, settings.seed_contacts).await?);
    // The same register as the system under test's: GetContactTls is divided by GetContact.
    let (read_names, queries) = if settings.runs_scenario(Scenario::GetContactTls) {
        let label = format!("{} (TLS)", engine.name());
        let register = crate::register::seed(&contacts, settings.contacts, &label).await?;
        let caught_up = crate::register::catch_up_tls(&server).await?;
        eprintln!("liaison-bench: {label} — reporting caught up with the feeds {:.1} s later", caught_up.as_secs_f64());
        (Arc::new(register.names), Arc::new(register.queries))
    } else {
        (names.clone(), Arc::default())
    };
    let fixture = Fixture {
        names,
        read_names,
        queries,
        page_tokens: Arc::new(vec![String::new()]),
        tag: tag.into(),
        workers: settings.load.concurrency,
        round: 0,
        bearer: Some(scenarios::bearer(&server.token)?),
        calendar: None,
        cases: None,
    };
    Ok(Some(TlsTarget { server, contacts, fixture }))
}

/// One round: every scenario in turn, each ceiling measured right before the first scenario compared with it
/// (the echo before the reads, the database's own rates before the writes), so that a ratio divides two figures
/// taken seconds apart, not minutes.
async fn bench_round(
    settings: &RunSettings,
    cluster: &mut Cluster,
    echo: Option<&EchoServer>,
    ceiling_db: Option<&CeilingTable>,
    fixture: &Fixture,
    targets: &mut Targets<'_>,
) -> anyhow::Result<Round> {
    let engine = cluster.engine;
    let processes: Vec<String> = cluster.processes().into_iter().map(|(name, _)| name).collect();
    let mut round = Round::default();
    for scenario in Scenario::ALL {
        if !settings.runs_scenario(scenario) || scenario == Scenario::Ingestion {
            continue;
        }
        match scenario.ceiling() {
            Some(Ceiling::Echo) if round.echo.is_none() => {
                if let Some(echo) = echo {
                    let measured = measure_echo(settings, echo, "Echo", echo_sizes().0, Pace::Closed).await?;
                    progress(engine.name(), &measured);
                    round.echo = Some(measured);
                }
            }
            Some(Ceiling::DbInsert) if round.db_insert.is_none() => {
                if let Some(table) = ceiling_db {
                    let (insert, read) = measure_database(settings, table, &fixture.round_tag()).await?;
                    progress(engine.name(), &insert);
                    progress(engine.name(), &read);
                    round.db_insert = Some(insert);
                    round.db_read = Some(read);
                }
            }
            _ => {}
        }
        let pace = match scenario {
            Scenario::GetContactHalfPeak => {
                let peak = round.scenario(Scenario::GetContact.name()).map_or(0.0, |m| m.per_s);
                if peak <= 0.0 {
                    eprintln!("liaison-bench: {} — GetContactHalfPeak needs GetContact's peak; skipped", engine.name());
                    continue;
                }
                Pace::Open { per_second: peak / 2.0 }
            }
            _ => Pace::Closed,
        };
        if let (Scenario::GetContactHalfPeak, Pace::Open { .. }, Some(echo)) = (scenario, pace, echo) {
            let floor = measure_echo(settings, echo, "EchoOpenLoop", echo_sizes().0, pace).await?;
            progress(engine.name(), &floor);
            round.echo_open = Some(floor);
        }
        // A scenario whose goal is a latency at a load of its own keeps that many calls in flight.
        let scenario_load = match scenario.fixed_concurrency() {
            Some(concurrency) => crate::cli::Load { concurrency, ..settings.load },
            None => settings.load,
        };
        let drive = Drive { load: scenario_load, pace };
        let (outcome, watched) = if scenario.transport() == Transport::TlsWithToken {
            let Some(tls) = targets.tls.as_deref_mut() else { continue };
            let Some(workload) = scenarios::workload(scenario, &tls.fixture.for_round(fixture.round), &tls.contacts)
            else {
                continue;
            };
            let outcome = load::run(workload, drive, &[tls.server.proc.pid()]).await?;
            tls.server.proc.check_alive()?;
            (outcome, vec![tls.server.proc.name().to_owned()])
        } else {
            let connections = if scenario.on_scheduling() {
                targets.scheduling
            } else if scenario.on_mediation() {
                targets.mediation
            } else {
                targets.contacts
            };
            let Some(workload) = scenarios::workload(scenario, fixture, connections) else {
                let needs = if scenario.needs_calendar() {
                    "the seeded calendars"
                } else if scenario.needs_cases() {
                    "the seeded cases"
                } else {
                    "a token it can verify"
                };
                eprintln!("liaison-bench: {} — {} needs {needs}; skipped", engine.name(), scenario.name());
                continue;
            };
            let outcome = load::run(workload, drive, &cluster.pids()).await?;
            cluster.check_alive()?;
            (outcome, processes.clone())
        };
        let mut result = Measured::new(scenario.name(), &outcome, pace, &watched);
        result.ceiling = scenario.ceiling();
        result.in_flight = scenario.fixed_concurrency();
        progress(engine.name(), &result);
        round.scenarios.push(result);
    }
    report::assign_ratios(&mut round);
    Ok(round)
}

/// The database of the ceilings, next to the services' (same server, same settings).
struct CeilingTable {
    db: CeilingDb,
    /// The rows it was filled with, which the primary-key reads pick from.
    ids: Arc<Vec<String>>,
    /// On PostgreSQL, the database to drop after the engine's run.
    pg_database: Option<String>,
}

/// The database of the ceilings, its table filled with as many rows as the services were seeded with; `None`
/// when no write scenario runs.
async fn open_ceiling_db(
    settings: &RunSettings,
    engine: Engine,
    postgres: &Postgres,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<Option<CeilingTable>> {
    let wanted = Scenario::ALL.iter().any(|s| s.ceiling() == Some(Ceiling::DbInsert) && settings.runs_scenario(*s));
    if !wanted {
        return Ok(None);
    }
    eprintln!("liaison-bench: {} — the database for its own rates", engine.name());
    let (db, pg_database) = match engine {
        Engine::Sqlite => (CeilingDb::sqlite(&dir.join("ceiling.db")).await?, None),
        Engine::Postgres => {
            let name = format!("liaison_bench_{tag}_ceiling");
            (CeilingDb::postgres(&postgres.create(&name).await?).await?, Some(name))
        }
    };
    let seed_tag = format!("{tag}-seed");
    let filled: anyhow::Result<Vec<String>> = futures::stream::iter(0..settings.seed_contacts as u64)
        .map(|i| db.insert(&seed_tag, i))
        .buffer_unordered(16)
        .try_collect()
        .await
        .context("cannot fill the ceiling table");
    match filled {
        Ok(ids) => Ok(Some(CeilingTable { db, ids: Arc::new(ids), pg_database })),
        Err(e) => {
            db.close().await;
            if let Some(name) = pg_database {
                postgres.drop_database(&name).await?;
            }
            Err(e)
        }
    }
}

/// The database's own single-row insert and primary-key read rates, driven as the scenarios are.
async fn measure_database(
    settings: &RunSettings,
    table: &CeilingTable,
    tag: &str,
) -> anyhow::Result<(Measured, Measured)> {
    let drive = Drive { load: settings.load, pace: Pace::Closed };
    let insert = load::run(table.db.insert_workload(tag), drive, &[]).await?;
    let read = load::run(table.db.read_workload(table.ids.clone()), drive, &[]).await?;
    Ok((Measured::new("db insert", &insert, Pace::Closed, &[]), Measured::new("db read", &read, Pace::Closed, &[])))
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
pub(crate) fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

/// Scenarios that did not work at all: no successful call, and not (only) because the RPC is not implemented
/// yet. A run with any of them did not prove the tool works.
pub(crate) fn broken_scenarios(report: &Report) -> Vec<String> {
    let mut broken = Vec::new();
    for engine in &report.engines {
        for (index, round) in engine.rounds.iter().enumerate() {
            let measured =
                round.scenarios.iter().chain([&round.echo, &round.db_insert, &round.db_read].into_iter().flatten());
            for m in measured {
                let only_unimplemented = m.errors.keys().all(|code| code == "UNIMPLEMENTED") && !m.errors.is_empty();
                if m.ok == 0 && !only_unimplemented {
                    broken.push(format!(
                        "{} round {} {}: no successful call (errors: {:?})",
                        engine.engine.name(),
                        index + 1,
                        m.name,
                        m.errors
                    ));
                }
            }
        }
    }
    for engine in &report.engines {
        for scale in engine.reports.iter().filter(|scale| scale.generate.is_none()) {
            broken.push(format!(
                "{} reporting at scale, {} changes: GenerateReport never answered (errors: {:?})",
                engine.engine.name(),
                scale.changes,
                scale.errors
            ));
        }
    }
    for engine in &report.engines {
        for scale in engine.contacts_at_scale.iter().flat_map(|at| &at.sizes) {
            for m in scale.scenarios.iter().filter(|m| m.ok == 0) {
                broken.push(format!(
                    "{} contacts at scale, {} people, {}: no successful call (errors: {:?})",
                    engine.engine.name(),
                    scale.contacts,
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
        let mut report = report;
        report.engines[0].rounds.clear();
        let mut failed = crate::reports::tests::scale(100_000, None);
        failed.errors.push("GenerateReport: ResourceExhausted: too large".into());
        report.engines[0].reports = vec![crate::reports::tests::scale(10_000, Some(30.0)), failed];
        let broken = broken_scenarios(&report);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("100000 changes") && broken[0].contains("too large"), "{broken:?}");
    }
}
