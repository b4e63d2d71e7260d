//! The reliability fault suite, end to end: the four services as separate `liaison serve` processes on a
//! PostgreSQL server of the test's own (`faults::postgres`), a steady mixed write load of careful clients
//! (`faults::load`: deadlines, retries with the same `request_id`, conditional writes on etags, a log of every
//! acknowledged write), and faults injected while it runs — each service killed with SIGKILL and restarted, the
//! database killed with SIGKILL and restarted. Afterwards every acknowledged write must be there, once, with no
//! etag gone backwards; reporting's dashboard must equal what the clients' log says; no answer may come later
//! than its deadline + 1 s.
//!
//! Each test prints a row per fault: writes acknowledged (in the fault's period, from its start to the next
//! fault's), writes found, duplicates, the longest time a service's clients got only failures, the slowest answer.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_runtime::config::ServiceKind;
use liaison_testkit::cluster::index;
use liaison_testkit::e2e::{self, Cluster, DASHBOARD_TIMEOUT, SERVICES, strip_ansi};
use liaison_testkit::faults::load::{
    self, ClientLog, HealthSample, HealthWatch, Load, LoadSettings, Verification, wait_for_dashboard,
};
use liaison_testkit::faults::postgres::{self, PostgresServer};
use liaison_testkit::procs::Logs;
use std::time::{Duration, Instant};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// How late past its deadline an answer may come.
const SLACK: Duration = Duration::from_secs(1);

/// How long the load runs before the first fault, and after each fault has been repaired.
const STEADY: Duration = Duration::from_secs(3);

/// How long a killed service stays down before it is started again (as an orchestrator's restart delay), so
/// that callers meet it gone, not only restarted.
const SERVICE_DOWN: Duration = Duration::from_secs(1);

/// How long the database stays down.
const OUTAGE: Duration = Duration::from_secs(4);

/// The codes a careful client may be told while a service or its database is down: nothing that says "a fault
/// of ours" (INTERNAL, UNKNOWN) or "your request is wrong".
const ALLOWED: [Code; 5] = [Code::Ok, Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled, Code::Aborted];

/// The test's own PostgreSQL with the four services' databases, the four services on it, and the directory of
/// their logs (a file per service, kept across its restarts).
async fn own_cluster() -> (tempfile::TempDir, PostgresServer, Cluster) {
    let server = PostgresServer::new().await;
    let mut urls = Vec::new();
    for service in SERVICES {
        urls.push(server.create_database(service).await);
    }
    let urls: [String; 4] = urls.try_into().expect("four databases");
    let logs = tempfile::tempdir().expect("a directory for the logs");
    let mut launcher = e2e::launcher();
    launcher.logs = Logs::Dir(logs.path().to_owned());
    let started = Instant::now();
    let cluster = Cluster::launch(&launcher, &urls).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("four-process cluster on {:?} ready in {:.2?}", cluster.ports, started.elapsed());
    (logs, server, cluster)
}

/// The lines of the services' logs that tell of an INTERNAL answer (a server fault), whichever process wrote them.
fn internal_errors_logged(logs: &std::path::Path) -> Vec<String> {
    logged(logs, "code=Internal")
}

/// The lines of the services' logs that contain `needle`, each prefixed with its service.
fn logged(logs: &std::path::Path, needle: &str) -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|service| {
            let text = std::fs::read_to_string(logs.join(format!("{service}.log"))).unwrap_or_default();
            strip_ansi(&text)
                .lines()
                .filter(|line| line.contains(needle))
                .map(|line| format!("{service}: {line}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One line of the table: what happened from the start of a fault to the start of the next one.
struct Row {
    fault: String,
    acknowledged: usize,
    found: usize,
    duplicates: usize,
    longest_window: Duration,
    slowest: Duration,
    /// From the fault to the service (all of them, for the database) SERVING again.
    recovered_in: Option<Duration>,
}

/// A row per period `[marks[i], marks[i + 1])` (the last one up to `end`), and the total.
fn rows(
    log: &ClientLog,
    verification: &Verification,
    marks: &[(String, Instant, Option<Duration>)],
    end: Instant,
) -> Vec<Row> {
    let windows = log.windows();
    let mut rows = Vec::new();
    let mut periods: Vec<(String, Instant, Instant, Option<Duration>)> = marks
        .iter()
        .enumerate()
        .map(|(i, (fault, from, recovered))| {
            let until = marks.get(i + 1).map_or(end, |next| next.1);
            (fault.clone(), *from, until, *recovered)
        })
        .collect();
    let first = marks.first().map_or(end, |mark| mark.1);
    periods.push(("total".into(), first, end + Duration::from_secs(3600), None));
    for (fault, from, until, recovered_in) in periods {
        let during = |at: Instant| at >= from && at < until;
        let acks: Vec<usize> = (0..log.acks.len()).filter(|i| during(log.acks[*i].at)).collect();
        rows.push(Row {
            fault,
            acknowledged: acks.len(),
            found: acks.iter().filter(|i| verification.found[**i]).count(),
            duplicates: acks
                .iter()
                .filter_map(|i| verification.duplicates.get(&log.acks[*i].request_id))
                .map(|n| n - 1)
                .sum(),
            // A window belongs to the fault it ended after (its first failure may be a call begun before).
            longest_window: windows.iter().filter(|w| during(w.end)).map(|w| w.length()).max().unwrap_or_default(),
            slowest: log.calls.iter().filter(|c| during(c.start)).map(|c| c.latency).max().unwrap_or_default(),
            recovered_in,
        });
    }
    rows
}

fn print_table(title: &str, rows: &[Row]) {
    eprintln!("\n{title}");
    eprintln!(
        "| {:<27} | {:>6} | {:>6} | {:>10} | {:>19} | {:>8} | {:>13} |",
        "fault", "acked", "found", "duplicates", "longest unavailable", "slowest", "serving again"
    );
    eprintln!("|{:-<29}|{:->8}|{:->8}|{:->12}|{:->21}|{:->10}|{:->15}|", "", "", "", "", "", "", "");
    for row in rows {
        eprintln!(
            "| {:<27} | {:>6} | {:>6} | {:>10} | {:>19.2?} | {:>8.2?} | {:>13} |",
            row.fault,
            row.acknowledged,
            row.found,
            row.duplicates,
            row.longest_window,
            row.slowest,
            row.recovered_in.map_or_else(|| "-".to_owned(), |d| format!("{d:.2?}")),
        );
    }
    eprintln!();
}

/// The goals every fault test asserts: nothing acknowledged lost, nothing duplicated, no etag backwards, every
/// write eventually acknowledged, no answer later than its deadline + [`SLACK`], only the codes of [`ALLOWED`],
/// and reporting's dashboard equal to the truth of the clients' log.
async fn assert_goals(
    logs: &std::path::Path,
    log: &ClientLog,
    verification: &Verification,
    settings: &LoadSettings,
    reporting: &tonic::transport::Channel,
) {
    let broke = logged(logs, "the connection broke during the call").len();
    eprintln!("calls between services whose connection broke under them (UNAVAILABLE): {broke}");
    let internal = internal_errors_logged(logs);
    assert!(internal.is_empty(), "the services logged INTERNAL answers:\n{}", internal.join("\n"));
    eprintln!("codes of every attempt: {:?}", log.codes());
    let worst =
        log.windows().into_iter().take(4).map(|w| format!("{}: {:.2?}", w.service, w.length())).collect::<Vec<_>>();
    eprintln!("longest unavailability windows: {worst:?}");
    assert!(log.anomalies.is_empty(), "answers that broke the protocol: {:#?}", log.anomalies);
    assert!(log.gave_up.is_empty(), "writes never acknowledged within the retry budget: {:#?}", log.gave_up);
    assert!(!log.acks.is_empty(), "the load acknowledged nothing");
    assert!(verification.missing.is_empty(), "acknowledged writes lost: {:#?}", verification.missing);
    assert!(
        verification.duplicates.is_empty(),
        "request ids that made several resources: {:#?}",
        verification.duplicates
    );
    assert!(
        verification.unacknowledged.is_empty(),
        "resources that no acknowledged write made: {:#?}",
        verification.unacknowledged
    );
    assert!(
        verification.etag_regressions.is_empty(),
        "etags that went backwards: {:#?}",
        verification.etag_regressions
    );
    let late = log.late(settings.deadline, SLACK);
    assert!(late.is_empty(), "answers later than the deadline ({:?}) + {SLACK:?}: {late:#?}", settings.deadline);
    // A connection that broke under a call (its server killed) is no answer of a server: the client library
    // reports it as it can (UNKNOWN "transport error"), and the client retries it as it retries UNAVAILABLE.
    let lost = log.calls.iter().filter(|call| call.connection_lost).count();
    eprintln!("calls whose connection broke under them: {lost}");
    let wrong: Vec<_> =
        log.calls.iter().filter(|call| !call.connection_lost && !ALLOWED.contains(&call.code)).collect();
    assert!(wrong.is_empty(), "answers other than {ALLOWED:?}: {wrong:#?}");

    let truth = log.truth();
    match wait_for_dashboard(reporting, truth, DASHBOARD_TIMEOUT * 2).await {
        Ok(took) => eprintln!("reporting's dashboard equals the clients' log ({truth:?}) after {took:.2?}"),
        Err(last) => panic!(
            "reporting's dashboard did not catch up with the clients' log within {:?}: it shows {last:?}, the log \
             says {truth:?}",
            DASHBOARD_TIMEOUT * 2
        ),
    }
}

/// SIGKILL to `kind`'s process (as soon as a call to it is under way), then, after [`SERVICE_DOWN`], the same
/// service started again on its port and database; how long from the kill to its health SERVING.
async fn kill_and_restart(cluster: &mut Cluster, load: &Load, kind: ServiceKind) -> Duration {
    // Contacts is killed while a call of a service that calls it is under way (CreateMeeting, OpenCase: most of
    // their time is their call to contacts), so that a call between services breaks under it too.
    let callers = match kind {
        ServiceKind::Contacts => vec![ServiceKind::Scheduling, ServiceKind::Mediation],
        other => vec![other],
    };
    if !load.wait_in_flight(&callers, Duration::from_secs(2)).await {
        eprintln!("{kind}: no call under way when it is killed");
    }
    let killed = Instant::now();
    let proc = cluster.proc(kind).expect("the service runs");
    proc.child_mut().kill().expect("SIGKILL");
    let status = proc.wait_exit(Duration::from_secs(10)).await.expect("wait").expect("it ends at SIGKILL");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{kind} killed by SIGKILL");
    tokio::time::sleep(SERVICE_DOWN).await;
    cluster.respawn(kind).expect("start it again");
    cluster.wait_serving(kind).await.unwrap_or_else(|e| panic!("{e}"));
    killed.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_each_service_under_load_loses_and_duplicates_nothing() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    // Built (once per test binary) before the clock starts: the test's own time is its faults'.
    e2e::binary();
    let began = Instant::now();
    // Dropped in reverse: the processes, then the database, then the logs (which a failing test's processes quote).
    let (logs, _server, mut cluster) = own_cluster().await;
    let channels = load::channels(cluster.ports);
    let settings = LoadSettings::default();
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![("none (warm-up)".to_owned(), load.started, None)];
    tokio::time::sleep(STEADY).await;
    for kind in ServiceKind::ALL {
        let at = Instant::now();
        let recovered = kill_and_restart(&mut cluster, &load, kind).await;
        eprintln!("{kind}: killed with SIGKILL, SERVING again after {recovered:.2?}");
        marks.push((format!("kill -9 {kind} ({SERVICE_DOWN:?})"), at, Some(recovered)));
        tokio::time::sleep(STEADY).await;
    }
    let log = load.finish().await;
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table("killing each service under load", &rows(&log, &verification, &marks, end));
    assert_goals(logs.path(), &log, &verification, &settings, &channels[index(ServiceKind::Reporting)]).await;
    cluster.stop_gracefully().await;
    eprintln!("killing each service under load took {:.1?}", began.elapsed());
}

/// The first sample at or after `from` in which `kind` reports `status`.
fn first_status(samples: &[HealthSample], kind: ServiceKind, status: ServingStatus, from: Instant) -> Option<Instant> {
    samples.iter().find(|s| s.service == kind && s.at >= from && s.status == Some(status)).map(|s| s.at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_under_load_gives_unavailable_and_loses_nothing() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    // Built (once per test binary) before the clock starts: the test's own time is its faults'.
    e2e::binary();
    let began = Instant::now();
    let (logs, mut server, mut cluster) = own_cluster().await;
    let channels = load::channels(cluster.ports);
    let settings = LoadSettings::default();
    let health = HealthWatch::start(&channels, Duration::from_millis(100));
    let load = Load::start(&channels, &settings);
    let (run, load_started) = (load.run.clone(), load.started);
    tokio::time::sleep(STEADY).await;

    let killed = Instant::now();
    server.kill().await;
    tokio::time::sleep(OUTAGE).await;
    let restarted = Instant::now();
    server.start().await;
    let up = Instant::now();
    eprintln!(
        "PostgreSQL killed with SIGKILL, down for {:.2?}, accepting again {:.2?} after its start",
        restarted - killed,
        up - restarted
    );
    // Each service must report SERVING again by itself, without a restart.
    for kind in ServiceKind::ALL {
        cluster.proc(kind).expect("runs").check_alive().unwrap_or_else(|e| panic!("{e}"));
        cluster.wait_serving(kind).await.unwrap_or_else(|e| panic!("{kind} did not serve again by itself: {e}"));
    }
    let serving_again = killed.elapsed();
    tokio::time::sleep(STEADY).await;
    let log = load.finish().await;
    let end = Instant::now();
    let samples = health.finish().await;

    let verification = load::verify(&log, &channels, &run).await;
    let marks = vec![
        ("none (warm-up)".to_owned(), load_started, None),
        (format!("kill -9 postgres ({OUTAGE:?})"), killed, Some(serving_again)),
    ];
    print_table("PostgreSQL killed under load", &rows(&log, &verification, &marks, end));

    // Health followed the database: NOT_SERVING during the outage, SERVING again afterwards by itself.
    for kind in ServiceKind::ALL {
        let down = first_status(&samples, kind, ServingStatus::NotServing, killed);
        let down = down
            .filter(|at| *at < up)
            .unwrap_or_else(|| panic!("{kind} never reported NOT_SERVING while its database was down ({OUTAGE:?})"));
        let again = first_status(&samples, kind, ServingStatus::Serving, up)
            .unwrap_or_else(|| panic!("{kind} did not report SERVING again after the database came back"));
        eprintln!(
            "{kind}: NOT_SERVING {:.2?} after the kill, SERVING {:.2?} after the database was back",
            down - killed,
            again - up
        );
    }
    // Callers were told UNAVAILABLE while the database was down or recovering, within their deadline: not
    // INTERNAL, not a deadline run out for want of an answer.
    let during = |at: Instant| at >= killed && at < killed + serving_again;
    let unavailable = log.calls.iter().filter(|c| during(c.start) && c.code == Code::Unavailable).count();
    assert!(unavailable > 0, "no caller was told UNAVAILABLE while the database was down");
    let other: Vec<_> =
        log.calls.iter().filter(|c| during(c.start) && !matches!(c.code, Code::Ok | Code::Unavailable)).collect();
    eprintln!("while the database was down or recovering: {unavailable} UNAVAILABLE, {} other failures", other.len());
    assert!(other.is_empty(), "callers told something else than UNAVAILABLE while the database was down: {other:#?}");
    let lost: Vec<_> = log.calls.iter().filter(|c| c.connection_lost).collect();
    assert!(lost.is_empty(), "no service went away, yet connections broke under calls: {lost:#?}");

    assert_goals(logs.path(), &log, &verification, &settings, &channels[index(ServiceKind::Reporting)]).await;
    cluster.stop_gracefully().await;
    eprintln!("PostgreSQL killed under load took {:.1?}", began.elapsed());
}
