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
use liaison_testkit::e2e::{self, Cluster};
use liaison_testkit::faults::load::{self, HealthSample, HealthWatch, Load, LoadSettings};
use liaison_testkit::faults::postgres;
use liaison_testkit::faults::report::{
    ALLOWED, Mark, assert_dashboard, assert_load_goals, logged, optional, own_cluster, print_table, rows,
};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// How long the load runs before the first fault, and after each fault has been repaired.
const STEADY: Duration = Duration::from_secs(3);

/// How long a killed service stays down before it is started again (as an orchestrator's restart delay), so
/// that callers meet it gone, not only restarted.
const SERVICE_DOWN: Duration = Duration::from_secs(1);

/// How long the database stays down.
const OUTAGE: Duration = Duration::from_secs(4);

/// The goals every fault test asserts (`faults::report`), and reporting's dashboard equal to the truth of the
/// clients' log.
async fn assert_goals(
    logs: &std::path::Path,
    log: &load::ClientLog,
    verification: &load::Verification,
    settings: &LoadSettings,
    reporting: &tonic::transport::Channel,
) {
    let broke = logged(logs, "the connection broke during the call").len();
    eprintln!("calls between services whose connection broke under them (UNAVAILABLE): {broke}");
    let worst =
        log.windows().into_iter().take(4).map(|w| format!("{}: {:.2?}", w.service, w.length())).collect::<Vec<_>>();
    eprintln!("longest unavailability windows: {worst:?}");
    assert_load_goals(logs, log, verification, settings, &ALLOWED);
    assert_dashboard("reporting", reporting, log.truth()).await;
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
    let mut marks = vec![Mark::new("none (warm-up)", load.started).with("-")];
    tokio::time::sleep(STEADY).await;
    for kind in ServiceKind::ALL {
        let at = Instant::now();
        let recovered = kill_and_restart(&mut cluster, &load, kind).await;
        eprintln!("{kind}: killed with SIGKILL, SERVING again after {recovered:.2?}");
        marks.push(Mark::new(format!("kill -9 {kind} ({SERVICE_DOWN:?})"), at).with(optional(Some(recovered))));
        tokio::time::sleep(STEADY).await;
    }
    let log = load.finish().await;
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table("killing each service under load", &["serving again"], &rows(&log, &verification, &marks, end, vec![]));
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
        Mark::new("none (warm-up)", load_started).with("-"),
        Mark::new(format!("kill -9 postgres ({OUTAGE:?})"), killed).with(optional(Some(serving_again))),
    ];
    print_table("PostgreSQL killed under load", &["serving again"], &rows(&log, &verification, &marks, end, vec![]));

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
