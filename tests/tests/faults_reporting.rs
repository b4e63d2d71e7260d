//! Reporting's read model under faults, end to end: the four services as separate `liaison serve` processes on a
//! PostgreSQL server of the test's own, a steady mixed write load of careful clients (`faults::load`), bursts of
//! several hundred contacts to give the feeds a backlog (`faults::feeds::Burst`), and:
//!
//! 1. reporting killed with SIGKILL while it applies a batch — seen from PostgreSQL itself: a session of reporting's
//!    database inside a transaction that has written facts and not yet committed (`faults::feeds::BatchProbe`) —
//!    once during a live burst, once while it catches up on a backlog written while it was down;
//! 2. a source (contacts, then mediation) killed with SIGKILL and, separately, stopped with SIGTERM while
//!    reporting streams its changes, then started again;
//! 3. two reporting replicas as separate processes on one database: the one that holds the feeds (its
//!    `GetIngestionStatus` says a stream is open) killed with SIGKILL under load; the other must open the feeds
//!    within [`TAKEOVER_BOUND`] (the measured time is printed) and the killed one, started again, stand by.
//!
//! Afterwards: every acknowledged write is there once (`load::verify`); reporting's dashboard equals the clients'
//! log exactly; and, per source, `applied_count` (moved in the transaction that applies a batch) equals the number
//! of changes the source's feed holds up to the cursor in *every* `GetIngestionStatus` answer sampled during the
//! test — a gap would make it smaller, a batch applied twice larger — the cursor never goes back in the feed's
//! order, and at the end it is the feed's last change. Where reporting ran with `LIAISON_METRICS_ADDR`, its
//! `liaison_feed_applied_total` must agree with what it applied.
//!
//! Each test prints the fault suite's table (per fault: writes acknowledged, found, duplicates, longest window of
//! unavailability, slowest answer) and a table of each feed against the read model. The tests take turns (a lock
//! of this binary): each runs its own PostgreSQL and four services, and two at once on two cores would time the
//! machine, not the product.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_runtime::config::ServiceKind;
use liaison_testkit::cluster::index;
use liaison_testkit::e2e::{self, Cluster};
use liaison_testkit::faults::feeds::{
    self, BatchProbe, Burst, FeedOrder, IngestionSample, IngestionWatch, SOURCES, status_of,
};
use liaison_testkit::faults::load::{self, ClientLog, Load, LoadSettings, Verification};
use liaison_testkit::faults::postgres::{self, PostgresServer};
use liaison_testkit::faults::report::{self, ALLOWED, Mark, assert_dashboard, logged, own_cluster, print_table, rows};
use liaison_testkit::procs::{Logs, Proc};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// How long the load runs before the first fault, and after each fault has been repaired.
const STEADY: Duration = Duration::from_secs(3);

/// How long a killed or stopped process stays down before it is started again (an orchestrator's restart delay).
const SERVICE_DOWN: Duration = Duration::from_secs(1);

/// The "within seconds" for a standby replica to take a feed over, generous for a loaded 2-core machine
/// (a standby tries the feed's lock every second; PostgreSQL frees it as soon as the dead holder's socket closes).
const TAKEOVER_BOUND: Duration = Duration::from_secs(15);

/// How often `GetIngestionStatus` is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// One test at a time in this binary (see the module's documentation).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Another `liaison serve reporting` on `port`, on the cluster's reporting database and peers, serving
/// `/metrics` on `metrics_port`, its log in `logs/<name>.log`; SERVING when returned.
async fn extra_reporting(cluster: &Cluster, name: &str, port: u16, metrics_port: u16, logs: &Path) -> Proc {
    let kind = ServiceKind::Reporting;
    let mut command =
        cluster.launcher().serve(kind, port, &cluster.database_urls[index(kind)], |peer| cluster.url(peer));
    command.env("LIAISON_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"));
    let mut proc = Proc::start(name, command, &Logs::Dir(logs.to_owned())).unwrap_or_else(|e| panic!("{e}"));
    let readiness = cluster.launcher().readiness;
    proc.serving(&readiness, port, kind.grpc_service()).await.unwrap_or_else(|e| panic!("{e}"));
    proc
}

/// A lazy plaintext channel to 127.0.0.1:`port`.
fn channel(port: u16) -> Channel {
    tonic::transport::Endpoint::from_shared(liaison_testkit::procs::url(port))
        .expect("a valid URL")
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy()
}

/// How many sessions PostgreSQL has seen end in the middle of a transaction (their client gone).
fn sessions_died_in_transaction(server: &PostgresServer) -> usize {
    server.log().lines().filter(|l| l.contains("unexpected EOF on client connection with an open transaction")).count()
}

/// SIGKILL to `proc`, which must end by that signal.
async fn sigkill(proc: &mut Proc) {
    proc.child_mut().kill().expect("SIGKILL");
    let status = proc.wait_exit(Duration::from_secs(10)).await.expect("wait").expect("it ends at SIGKILL");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{} killed by SIGKILL", proc.name());
}

/// The load's log with the bursts' merged in (their acks are contacts of the same run, read back with the rest).
fn merged(mut log: ClientLog, bursts: Vec<ClientLog>) -> ClientLog {
    for burst in bursts {
        log.acks.extend(burst.acks);
        log.calls.extend(burst.calls);
        log.gave_up.extend(burst.gave_up);
        log.anomalies.extend(burst.anomalies);
    }
    log.acks.sort_by_key(|ack| ack.at);
    log.calls.sort_by_key(load::CallRecord::end);
    log
}

/// The load's goals (`faults::report`), and one of this suite's own: nobody rebuilds the read model in these
/// tests, so a follower that says it saw a rebuild mistook something else for one.
fn assert_load_goals(logs: &Path, log: &ClientLog, verification: &Verification, settings: &LoadSettings) {
    let rebuilt = logged(logs, "read model rebuilt");
    let reconnects = logged(logs, "change feed lost; reconnecting").len();
    eprintln!("reporting: {reconnects} feeds lost and followed again; {} rebuilds seen", rebuilt.len());
    assert!(rebuilt.is_empty(), "a follower saw a rebuild that never happened:\n{}", rebuilt.join("\n"));
    report::assert_load_goals(logs, log, verification, settings, &ALLOWED);
}

/// Per source: the feed read back from the source, reporting caught up to its end, and every sample of
/// `GetIngestionStatus` exact against it (see the module's documentation). Prints a table; the final
/// `applied_count` per source.
async fn assert_ingestion_exact(
    channels: &[Channel; 4],
    reporting: &Channel,
    samples: &[IngestionSample],
) -> BTreeMap<&'static str, i64> {
    let mut lines = Vec::new();
    let mut finals = BTreeMap::new();
    let mut failures = Vec::new();
    for source in SOURCES {
        let order = feed_order_settled(&channels[index(source)]).await;
        let feed = FeedOrder::new(&order);
        // Reporting catches up with the feed's end (the load has stopped; nothing else writes).
        let began = Instant::now();
        let last = loop {
            let status = feeds::ingestion(reporting).await.ok();
            let status = status.as_deref().and_then(|s| status_of(s, source).cloned());
            match status {
                Some(s) if s.applied_count >= feed.len as i64 || began.elapsed() > Duration::from_secs(30) => break s,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let mut all = samples.to_vec();
        all.push(IngestionSample { replica: usize::MAX, at: Instant::now(), sources: vec![last.clone()] });
        let exact = feeds::exactness(&all, source, &feed);
        lines.push(format!(
            "| {:<10} | {:>12} | {:>13} | {:>16} | {:>7} | {:>8} | {:>14} | {:>10} | {:>11} |",
            source.name(),
            feed.len,
            last.applied_count,
            feed.prefix(last.cursor).map_or_else(|| "not in feed".to_owned(), |p| format!("#{p}")),
            exact.samples,
            exact.advances,
            exact.lower_sequence,
            exact.mismatches.len(),
            exact.regressions.len(),
        ));
        if last.applied_count != feed.len as i64 || last.cursor != order.last().copied().unwrap_or(0) {
            failures.push(format!(
                "{source}: reporting applied {} changes up to cursor {}, the feed holds {} ending at {:?}",
                last.applied_count,
                last.cursor,
                feed.len,
                order.last()
            ));
        }
        failures.extend(exact.mismatches.iter().take(5).map(|m| format!("{source}: {m}")));
        failures.extend(exact.regressions.iter().take(5).map(|m| format!("{source}: {m}")));
        finals.insert(source.name(), last.applied_count);
    }
    eprintln!("\nthe read model against each feed (every GetIngestionStatus answer sampled during the test)");
    eprintln!(
        "| {:<10} | {:>12} | {:>13} | {:>16} | {:>7} | {:>8} | {:>14} | {:>10} | {:>11} |",
        "source",
        "feed changes",
        "applied_count",
        "cursor in feed",
        "samples",
        "advances",
        "to a lower seq",
        "gap/double",
        "cursor back"
    );
    eprintln!(
        "|{:-<12}|{:->14}|{:->15}|{:->18}|{:->9}|{:->10}|{:->16}|{:->12}|{:->13}|",
        "", "", "", "", "", "", "", "", ""
    );
    for line in &lines {
        eprintln!("{line}");
    }
    eprintln!();
    assert!(failures.is_empty(), "the read model is not exactly its feeds:\n{}", failures.join("\n"));
    finals
}

/// The feed of the service behind `channel`, read twice until two reads agree (a write of the load's last retries
/// may still be committing when the first read starts).
async fn feed_order_settled(channel: &Channel) -> Vec<i64> {
    let mut order = feeds::feed_order(channel).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = feeds::feed_order(channel).await;
        if again == order {
            break;
        }
        order = again;
    }
    order
}

/// Waits until the reporting replica behind `channel` says of every source: a stream open (`true`) or standing
/// by (`false`); panics after `timeout`.
async fn wait_connected(channel: &Channel, connected: bool, timeout: Duration, what: &str) {
    let began = Instant::now();
    loop {
        let status = feeds::ingestion(channel).await.unwrap_or_default();
        if status.len() == SOURCES.len() && status.iter().all(|s| s.connected == connected) {
            return;
        }
        assert!(began.elapsed() < timeout, "{what}: not every feed {connected} within {timeout:?}: {status:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_killed_mid_batch_counts_exactly() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    let _turn = SERIAL.lock().await;
    e2e::binary();
    let began = Instant::now();
    let (logs, server, mut cluster) = own_cluster().await;
    let channels = load::channels(cluster.ports);
    let reporting = channels[index(ServiceKind::Reporting)].clone();
    let probe = BatchProbe::connect(&server.url(), "reporting").await;
    let settings = LoadSettings::default();
    let watch = IngestionWatch::start(vec![reporting.clone()], SAMPLE_EVERY);
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![Mark::new("none (warm-up)", load.started)];
    let mut bursts = Vec::new();
    tokio::time::sleep(STEADY).await;

    // While a burst of contacts streams in: killed as soon as PostgreSQL shows a batch of reporting's open.
    let at = Instant::now();
    let burst = Burst::start(&channels[index(ServiceKind::Contacts)], &run, "live", 600, 8);
    let seen = probe.wait_open(Duration::from_secs(15)).await;
    let died = sessions_died_in_transaction(&server);
    sigkill(cluster.proc(ServiceKind::Reporting).expect("runs")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    eprintln!(
        "reporting killed during a live burst; a batch was open {seen:?} after the burst began; PostgreSQL saw {} \
         of its sessions end with a transaction open",
        sessions_died_in_transaction(&server) - died
    );
    marks.push(Mark::new(format!("kill -9 reporting, live burst (batch open: {})", seen.is_some()), at));
    tokio::time::sleep(SERVICE_DOWN).await;
    cluster.respawn(ServiceKind::Reporting).expect("start it again");
    cluster.wait_serving(ServiceKind::Reporting).await.unwrap_or_else(|e| panic!("{e}"));
    bursts.push(burst.finish().await);
    tokio::time::sleep(STEADY).await;

    // A backlog written while it is down, then killed while it applies it. A catch-up of several hundred changes
    // keeps a batch open for a while; up to three tries, each with a backlog of its own.
    let mut caught = None;
    for attempt in 1..=3 {
        let at = Instant::now();
        sigkill(cluster.proc(ServiceKind::Reporting).expect("runs")).await;
        let burst = Burst::start(&channels[index(ServiceKind::Contacts)], &run, &format!("backlog{attempt}-"), 800, 8);
        bursts.push(burst.finish().await);
        let backlog_written = at.elapsed();
        cluster.respawn(ServiceKind::Reporting).expect("start it again");
        let seen = probe.wait_open(Duration::from_secs(20)).await;
        let died = sessions_died_in_transaction(&server);
        sigkill(cluster.proc(ServiceKind::Reporting).expect("runs")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let died = sessions_died_in_transaction(&server) - died;
        eprintln!(
            "backlog {attempt}: written in {backlog_written:.2?} while reporting was down; reporting killed again \
             as it caught up (a batch open {seen:?} after its start; PostgreSQL saw {died} of its sessions end \
             with a transaction open)"
        );
        marks.push(Mark::new(format!("kill -9 reporting, catching up (try {attempt})"), at));
        tokio::time::sleep(SERVICE_DOWN).await;
        cluster.respawn(ServiceKind::Reporting).expect("start it again");
        cluster.wait_serving(ServiceKind::Reporting).await.unwrap_or_else(|e| panic!("{e}"));
        // Mid-batch for sure: a batch was seen open just before the kill, and PostgreSQL then saw a session of
        // the killed process end with its transaction open (rolled back), not committed.
        if seen.is_some() && died > 0 {
            caught = seen;
            break;
        }
    }
    tokio::time::sleep(STEADY).await;
    let log = merged(load.finish().await, bursts);
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table("reporting killed mid-batch", &[], &rows(&log, &verification, &marks, end, vec![]));
    assert!(caught.is_some(), "reporting was never killed with a batch open (three backlogs of 800 changes each)");
    assert_load_goals(logs.path(), &log, &verification, &settings);
    assert_dashboard("reporting", &reporting, log.truth()).await;
    let samples = watch.finish().await;
    assert_ingestion_exact(&channels, &reporting, &samples).await;
    probe.close().await;
    cluster.stop_gracefully().await;
    eprintln!("reporting killed mid-batch took {:.1?}", began.elapsed());
}

/// How a source is taken down.
#[derive(Debug, Clone, Copy)]
enum Down {
    Kill,
    Term,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_restarted_mid_stream_counts_exactly() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    let _turn = SERIAL.lock().await;
    e2e::binary();
    let began = Instant::now();
    let (logs, server, mut cluster) = own_cluster().await;
    // Reporting again, on its port, with `/metrics`: its applied counter must agree with the read model.
    cluster.stop_service(ServiceKind::Reporting).await.unwrap_or_else(|e| panic!("{e}"));
    let metrics_port = e2e::free_port();
    let reporting_port = cluster.ports[index(ServiceKind::Reporting)];
    let replacement = extra_reporting(&cluster, "reporting", reporting_port, metrics_port, logs.path()).await;
    cluster.procs[index(ServiceKind::Reporting)] = replacement;
    let channels = load::channels(cluster.ports);
    let reporting = channels[index(ServiceKind::Reporting)].clone();
    wait_connected(&reporting, true, Duration::from_secs(15), "reporting").await;
    let probe = BatchProbe::connect(&server.url(), "reporting").await;
    let settings = LoadSettings::default();
    let watch = IngestionWatch::start(vec![reporting.clone()], SAMPLE_EVERY);
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![Mark::new("none (warm-up)", load.started)];
    let mut bursts = Vec::new();
    tokio::time::sleep(STEADY).await;

    let faults = [
        (ServiceKind::Contacts, Down::Kill),
        (ServiceKind::Contacts, Down::Term),
        (ServiceKind::Mediation, Down::Kill),
        (ServiceKind::Mediation, Down::Term),
    ];
    for (n, (kind, down)) in faults.into_iter().enumerate() {
        let at = Instant::now();
        // Contacts streams a burst; mediation the load's cases and notes. Either way reporting is reading the
        // source's stream, and is seen applying a batch of it, when the source goes.
        let burst = (kind == ServiceKind::Contacts)
            .then(|| Burst::start(&channels[index(ServiceKind::Contacts)], &run, &format!("stream{n}-"), 500, 8));
        if let Some(burst) = &burst {
            while burst.acknowledged.load(std::sync::atomic::Ordering::Acquire) < 100
                && burst.started.elapsed() < Duration::from_secs(10)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } else {
            load.wait_in_flight(&[kind], Duration::from_secs(2)).await;
        }
        let seen = probe.wait_open(Duration::from_secs(3)).await;
        let status = feeds::ingestion(&reporting).await.expect("GetIngestionStatus");
        let streaming = status_of(&status, kind).is_some_and(|s| s.connected);
        match down {
            Down::Kill => sigkill(cluster.proc(kind).expect("runs")).await,
            Down::Term => {
                let status = cluster.stop_service(kind).await.unwrap_or_else(|e| panic!("{e}"));
                eprintln!("{kind}: exited with {status} after SIGTERM");
            }
        }
        eprintln!(
            "{kind}: {down:?} while reporting streamed it (stream open: {streaming}; a batch open {seen:?} before)"
        );
        marks.push(Mark::new(format!("{down:?} {kind} mid-stream"), at));
        tokio::time::sleep(SERVICE_DOWN).await;
        cluster.respawn(kind).expect("start it again");
        cluster.wait_serving(kind).await.unwrap_or_else(|e| panic!("{e}"));
        if let Some(burst) = burst {
            bursts.push(burst.finish().await);
        }
        tokio::time::sleep(STEADY).await;
    }
    let log = merged(load.finish().await, bursts);
    let end = Instant::now();
    let verification = load::verify(&log, &channels, &run).await;
    print_table("a source restarted mid-stream", &[], &rows(&log, &verification, &marks, end, vec![]));
    assert_load_goals(logs.path(), &log, &verification, &settings);
    assert_dashboard("reporting", &reporting, log.truth()).await;
    let samples = watch.finish().await;
    let finals = assert_ingestion_exact(&channels, &reporting, &samples).await;
    wait_connected(&reporting, true, Duration::from_secs(15), "reporting after the sources' restarts").await;
    // The process ran from the first change to the last: its counter is the whole of what it applied.
    let metric = feeds::applied_metric(metrics_port).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("liaison_feed_applied_total: {metric:?}; applied_count: {finals:?}");
    for (source, applied) in &finals {
        assert_eq!(
            metric.get(*source).copied().unwrap_or(0) as i64,
            *applied,
            "{source}: liaison_feed_applied_total against applied_count"
        );
    }
    probe.close().await;
    cluster.stop_gracefully().await;
    eprintln!("a source restarted mid-stream took {:.1?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_reporting_takes_a_feed_over_and_applies_nothing_twice() {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    let _turn = SERIAL.lock().await;
    e2e::binary();
    let began = Instant::now();
    let (logs, server, mut cluster) = own_cluster().await;
    let channels = load::channels(cluster.ports);
    let first = channels[index(ServiceKind::Reporting)].clone();
    // The cluster's reporting holds the three feeds before the second replica starts, so that which one holds them
    // is known; `GetIngestionStatus` of each says it (a stream open, or standing by).
    wait_connected(&first, true, Duration::from_secs(15), "the first reporting replica").await;
    let (second_port, metrics_port) = (e2e::free_port(), e2e::free_port());
    let mut second = extra_reporting(&cluster, "reporting-2", second_port, metrics_port, logs.path()).await;
    let second_channel = channel(second_port);
    let waited = Instant::now();
    loop {
        let standing = feeds::ingestion(&second_channel).await.unwrap_or_default();
        if standing.len() == SOURCES.len()
            && standing.iter().all(|s| !s.connected && s.last_error.contains("standing by"))
        {
            break;
        }
        assert!(waited.elapsed() < Duration::from_secs(15), "the second replica does not stand by: {standing:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "replica 1 (port {}) follows the three feeds; replica 2 (port {second_port}) stands by",
        cluster.ports[3]
    );

    let probe = BatchProbe::connect(&server.url(), "reporting").await;
    // The clients read their dashboard from the second replica, which stays up.
    let mut ports = cluster.ports;
    ports[index(ServiceKind::Reporting)] = second_port;
    let load_channels = load::channels(ports);
    let settings = LoadSettings::default();
    let watch = IngestionWatch::start(vec![first.clone(), second_channel.clone()], SAMPLE_EVERY);
    let load = Load::start(&load_channels, &settings);
    let run = load.run.clone();
    let mut marks = vec![Mark::new("none (warm-up)", load.started)];
    tokio::time::sleep(STEADY).await;

    let at = Instant::now();
    let burst = Burst::start(&channels[index(ServiceKind::Contacts)], &run, "takeover", 500, 8);
    while burst.acknowledged.load(std::sync::atomic::Ordering::Acquire) < 100
        && burst.started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = probe.wait_open(Duration::from_secs(3)).await;
    let killed = Instant::now();
    sigkill(cluster.proc(ServiceKind::Reporting).expect("runs")).await;
    marks.push(Mark::new("kill -9 the replica holding the feeds", at));
    // What the dead replica left applied, read before the survivor opens a stream (it applies nothing before).
    let left = feeds::ingestion(&second_channel).await.expect("GetIngestionStatus of the survivor");
    let mut baseline: BTreeMap<&str, Option<i64>> = BTreeMap::new();
    for source in SOURCES {
        let status = status_of(&left, source).expect("each source");
        baseline.insert(source.name(), (!status.connected).then_some(status.applied_count));
    }
    // The survivor opens each stream, then applies a first batch from where the dead one stopped.
    let mut opened: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut applied: BTreeMap<&str, Duration> = BTreeMap::new();
    while opened.len() < SOURCES.len() || applied.len() < SOURCES.len() {
        assert!(
            killed.elapsed() < TAKEOVER_BOUND,
            "the survivor did not take every feed over within {TAKEOVER_BOUND:?}: streams open after {opened:?}, \
             first batches applied after {applied:?}; its status: {:#?}",
            feeds::ingestion(&second_channel).await
        );
        if let Ok(status) = feeds::ingestion(&second_channel).await {
            for source in SOURCES {
                let Some(s) = status_of(&status, source) else { continue };
                if s.connected {
                    opened.entry(source.name()).or_insert_with(|| killed.elapsed());
                    // Without a baseline (the stream was open already at the first look), opening it is all.
                    if baseline[source.name()].is_none_or(|before| s.applied_count > before) {
                        applied.entry(source.name()).or_insert_with(|| killed.elapsed());
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let takeover = opened.values().max().copied().unwrap_or_default();
    eprintln!(
        "takeover: replica 1 killed with SIGKILL (a batch open {seen:?} before); replica 2 opened the streams after \
         {opened:?} and applied its first batches after {applied:?} — all within {takeover:.2?} (bound \
         {TAKEOVER_BOUND:?})"
    );

    // The killed replica, started again, stands by: the feeds stay with the survivor.
    tokio::time::sleep(SERVICE_DOWN).await;
    let at = Instant::now();
    cluster.respawn(ServiceKind::Reporting).expect("start it again");
    cluster.wait_serving(ServiceKind::Reporting).await.unwrap_or_else(|e| panic!("{e}"));
    marks.push(Mark::new("replica 1 started again", at));
    let took_over = burst.finish().await;
    tokio::time::sleep(STEADY).await;
    let back = feeds::ingestion(&first).await.expect("GetIngestionStatus of replica 1");
    assert!(back.iter().all(|s| !s.connected), "replica 1, started again, took a feed back: {back:#?}");
    let survivor = feeds::ingestion(&second_channel).await.expect("GetIngestionStatus of replica 2");
    assert!(survivor.iter().all(|s| s.connected), "replica 2 lost a feed: {survivor:#?}");

    let log = merged(load.finish().await, vec![took_over]);
    let end = Instant::now();
    let verification = load::verify(&log, &load_channels, &run).await;
    print_table(
        "two reporting replicas, the one holding the feeds killed",
        &[],
        &rows(&log, &verification, &marks, end, vec![]),
    );
    eprintln!("takeover time (SIGKILL to every stream open on the standby): {takeover:.2?}");
    assert_load_goals(logs.path(), &log, &verification, &settings);
    assert_dashboard("replica 2", &second_channel, log.truth()).await;
    assert_dashboard("replica 1", &first, log.truth()).await;
    let samples = watch.finish().await;
    let finals = assert_ingestion_exact(&channels, &second_channel, &samples).await;
    // The survivor's counter is what it applied since the takeover: the rest was applied by the dead one.
    let metric = feeds::applied_metric(metrics_port).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("replica 2's liaison_feed_applied_total: {metric:?}; left applied by replica 1: {baseline:?}");
    for (source, total) in &finals {
        if let Some(before) = baseline[source] {
            assert_eq!(
                metric.get(*source).copied().unwrap_or(0) as i64,
                total - before,
                "{source}: replica 2 applied the changes after replica 1's last batch, once"
            );
        }
    }
    probe.close().await;
    second.stop(Duration::from_secs(10)).await.unwrap_or_else(|e| panic!("{e}"));
    cluster.stop_gracefully().await;
    eprintln!("the reporting takeover took {:.1?}", began.elapsed());
}
