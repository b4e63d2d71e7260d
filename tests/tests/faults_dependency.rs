//! A dependency slow, black-holed or resetting, end to end: the four services as separate `liaison serve`
//! processes on a PostgreSQL of the test's own, with a [`FaultProxy`] between scheduling and mediation and the
//! contacts service they call (their `LIAISON_CONTACTS_ADDR` is the proxy), and another between contacts and its
//! database (its `DATABASE_URL` goes through the proxy). Under the steady load of `faults::load`, each proxy in
//! turn is made to delay every chunk longer than the deadline of a call between services, to black-hole, to reset
//! every connection, and to cut each connection after a few KiB, each held a few seconds and then lifted.
//!
//! It proves, as issue 23's goals say: every caller is answered within its deadline + 1 s, with UNAVAILABLE,
//! DEADLINE_EXCEEDED, CANCELLED or ABORTED at worst (never INTERNAL or UNKNOWN); nothing acknowledged is lost or
//! duplicated; the retries the fault provokes are bounded (the connections the proxy saw during each fault, against
//! the bound the retry policies give per call made); and once the fault is lifted and the load stopped, each
//! process's file descriptors, threads, resident memory and live Tokio tasks (`liaison_runtime_alive_tasks` on its
//! `/metrics`) come back to what they were after the warm-up.
//!
//! Each test prints a row per fault (writes acknowledged in its period — from its start to the next fault's —
//! found, duplicated, the longest time a service's clients got only failures, the slowest answer, the connections
//! the proxy accepted and their bound) and a table of each process's resources before and after.
#![allow(clippy::expect_used, reason = "end-to-end test: a step that fails panics with its cause")]
use liaison_runtime::config::ServiceKind;
use liaison_testkit::cluster::{Launcher, index};
use liaison_testkit::e2e::{self, SERVICES};
use liaison_testkit::faults::load::{self, Load, LoadSettings};
use liaison_testkit::faults::postgres::{self, PostgresServer};
use liaison_testkit::faults::proxy::{FaultProxy, Mode};
use liaison_testkit::faults::report::{ALLOWED, Mark, assert_dashboard, assert_load_goals, print_table, rows};
use liaison_testkit::faults::resources::{self, Usage};
use liaison_testkit::procs::{self, Logs, Proc};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long the load runs before the first fault (the warm-up), and after each fault is lifted.
const STEADY: Duration = Duration::from_secs(3);

/// How long each fault is held.
const HOLD: Duration = Duration::from_secs(3);

/// What a closing proxy lets through on each connection before it cuts it: an HTTP/2 or PostgreSQL handshake and
/// a few calls or queries, so that connections are cut mid-call rather than refused outright.
const CLOSE_AFTER: u64 = 4096;

/// How long resources are given to come back after the load stops (connections closing, idle threads ending).
const SETTLE: Duration = Duration::from_secs(10);

/// At most this many Tokio tasks more than at the baseline: the baseline is taken under load, so the tasks of
/// calls in flight are in it; a handful more may belong to connections still closing (a hyper connection and its
/// h2 driver are a task or two each) — a leak is one task per failed call or connection, hundreds here.
const TASK_SLACK: u64 = 8;

/// At most this many descriptors more than at the baseline, besides the database pool's own growth (which the
/// test reads from `liaison_db_pool_connections` and allows: the pool keeps up to 16 connections, idle for
/// minutes): a connection or two still closing, the metrics scrape's own socket.
const FD_SLACK: usize = 6;

/// At most this many threads more: the blocking pool's threads that end after 10 s idle (Tokio's default
/// keep-alive) may still be there when the test looks.
const THREAD_SLACK: usize = 4;

/// Resident memory may grow by this much: the allocator keeps some of what the fault's failed calls used, and the
/// pool's extra connections have buffers; a leak of a call's state per failure would be far more over thousands.
const RSS_SLACK_KIB: u64 = 16 * 1024;

/// Which dependency the faults are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Contacts, as scheduling and mediation call it.
    Contacts,
    /// PostgreSQL, as contacts uses it.
    Database,
}

/// The faults applied in turn to a dependency, each held for [`HOLD`] and then lifted for [`STEADY`].
fn faults(peer_deadline: Duration) -> [(String, Mode); 4] {
    // Longer than the deadline of a call between services, so that the delayed call must time out.
    let delay = peer_deadline + Duration::from_secs(1);
    [
        (format!("delay {delay:?}"), Mode::Delay(delay)),
        ("black hole".to_owned(), Mode::BlackHole),
        ("reset (RST)".to_owned(), Mode::Reset),
        (format!("close after {CLOSE_AFTER} B"), Mode::CloseAfter(CLOSE_AFTER)),
    ]
}

/// The four services started by hand, so that each can be pointed at a proxy: contacts' database through
/// `database`, scheduling's and mediation's contacts through `contacts`. Dropped in reverse of declaration: the
/// processes first, then the proxies and the database, then the logs.
struct Rig {
    procs: Vec<Proc>,
    ports: [u16; 4],
    metrics_ports: [u16; 4],
    contacts: FaultProxy,
    database: FaultProxy,
    launcher: Launcher,
    server: PostgresServer,
    logs: tempfile::TempDir,
}

impl Rig {
    async fn start() -> Self {
        let server = PostgresServer::new().await;
        for service in SERVICES {
            server.create_database(service).await;
        }
        let logs = tempfile::tempdir().expect("a directory for the logs");
        let mut launcher = e2e::launcher();
        launcher.logs = Logs::Dir(logs.path().to_owned());
        let started = Instant::now();
        let (procs, ports, metrics_ports, contacts, database) = e2e::with_free_ports(async || {
            let free = procs::free_ports::<8>()?;
            let ports: [u16; 4] = free[..4].try_into().expect("four ports");
            let metrics_ports: [u16; 4] = free[4..].try_into().expect("four ports");
            let contacts = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], ports[index(ServiceKind::Contacts)])));
            let database = FaultProxy::start(server.addr());
            let mut procs = Vec::new();
            for kind in ServiceKind::ALL {
                let url = match kind {
                    ServiceKind::Contacts => PostgresServer::url_via(database.addr(), kind.name()),
                    _ => server.url_of(kind.name()),
                };
                let peer = |peer: ServiceKind| match (kind, peer) {
                    // Reporting follows contacts' feed directly: the faults are those of the calls of requests.
                    (ServiceKind::Scheduling | ServiceKind::Mediation, ServiceKind::Contacts) => {
                        format!("http://{}", contacts.addr())
                    }
                    _ => launcher.url(ports[index(peer)]),
                };
                let mut command = launcher.serve(kind, ports[index(kind)], &url, peer);
                command.env("LIAISON_METRICS_ADDR", format!("127.0.0.1:{}", metrics_ports[index(kind)]));
                let mut proc = Proc::start(kind.name(), command, &launcher.logs)?;
                proc.serving(&launcher.readiness, ports[index(kind)], kind.grpc_service()).await?;
                procs.push(proc);
            }
            Ok((procs, ports, metrics_ports, contacts, database))
        })
        .await;
        eprintln!("four processes (contacts and its database behind proxies) ready in {:.2?}", started.elapsed());
        Self { procs, ports, metrics_ports, contacts, database, launcher, server, logs }
    }

    fn proxy(&self, target: Target) -> &FaultProxy {
        match target {
            Target::Contacts => &self.contacts,
            Target::Database => &self.database,
        }
    }

    /// The deadline of a call between services, as the launcher sets it.
    fn peer_deadline(&self) -> Duration {
        let millis = self
            .launcher
            .env
            .iter()
            .find(|(key, _)| key == "LIAISON_CALL_TIMEOUT_MS")
            .map_or(2000, |v| v.1.parse().expect("LIAISON_CALL_TIMEOUT_MS is a number"));
        Duration::from_millis(millis)
    }

    /// Each process's resources now.
    async fn usage(&mut self) -> [Usage; 4] {
        let mut usage = [Usage::default(); 4];
        for kind in ServiceKind::ALL {
            let proc = &mut self.procs[index(kind)];
            proc.check_alive().unwrap_or_else(|e| panic!("{e}"));
            usage[index(kind)] = Usage::read(proc.pid(), self.metrics_ports[index(kind)])
                .await
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
        usage
    }

    /// The RPCs `kind` has finished (every method and code), from its `/metrics`.
    async fn handled(&self, kind: ServiceKind) -> u64 {
        let text = resources::scrape(self.metrics_ports[index(kind)]).await.unwrap_or_else(|e| panic!("{kind}: {e}"));
        resources::metric(&text, "liaison_rpc_requests_total").unwrap_or_default() as u64
    }

    /// The calls made to the target dependency are those of the requests of these services.
    async fn callers_handled(&self, target: Target) -> u64 {
        match target {
            Target::Contacts => {
                self.handled(ServiceKind::Scheduling).await + self.handled(ServiceKind::Mediation).await
            }
            Target::Database => self.handled(ServiceKind::Contacts).await,
        }
    }

    async fn stop(mut self) {
        for proc in self.procs.iter_mut().rev() {
            proc.stop(self.launcher.stop_timeout).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// The most attempts a call between services makes when every attempt fails at once: `net::client`'s
/// `call_idempotent` retries within the call's deadline, pausing a jittered [b/2, b] with b = 20 ms doubling up to
/// 500 ms, and stops when the next pause would pass the deadline. The shortest pauses give the most attempts.
fn peer_attempts(deadline: Duration) -> u64 {
    let (mut backoff, mut slept, mut attempts) = (Duration::from_millis(20), Duration::ZERO, 1);
    loop {
        let pause = backoff / 2;
        if slept + pause >= deadline {
            return attempts;
        }
        slept += pause;
        attempts += 1;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

/// The most connections PostgreSQL's pool opens for one acquire when every connection fails at once: sqlx retries
/// within the acquire timeout (1 s, `db::POSTGRES_ACQUIRE_TIMEOUT`), sleeping 10 ms doubling up to a fifth of it.
fn database_attempts() -> u64 {
    let timeout = Duration::from_secs(1);
    let (mut backoff, mut slept, mut attempts) = (Duration::from_millis(10), Duration::ZERO, 1);
    while slept + backoff < timeout {
        slept += backoff;
        attempts += 1;
        backoff = (backoff * 2).min(timeout / 5);
    }
    attempts
}

/// How many connections the target's proxy may accept in a period in which the callers finished `handled`
/// requests, and why.
fn connection_bound(target: Target, handled: u64, peer_deadline: Duration) -> u64 {
    match target {
        // Each request of scheduling or mediation the load makes calls contacts at most twice (CreateMeeting:
        // BatchGetContacts; OpenCase: BatchGetParties, with a conflict check), each call at most
        // `peer_attempts` times, each attempt on at most one new connection; plus a first connection of each
        // caller's channel and a few the channels open as they come back.
        Target::Contacts => handled * 2 * peer_attempts(peer_deadline) + 10,
        // Each request of contacts opens connections for at most two checkouts (a pool acquire, which tries
        // `database_attempts` times, or a group-commit writer's connect, which tries once); the health check pings
        // through the pool every 500 ms (`server::HEALTH_INTERVAL`): twice as many pings as a period of HOLD +
        // STEADY holds, for a period stretched by a slow scrape; plus a few connections closing and reopening.
        Target::Database => {
            let pings = 2 * (HOLD + STEADY).as_millis() as u64 / 500;
            (handled * 2 + pings) * database_attempts() + 16
        }
    }
}

/// What the proxy and the callers had counted when a fault's period began.
struct Snapshot {
    fault: String,
    at: Instant,
    accepted: u64,
    handled: u64,
}

/// The table's marks: per period `[snapshots[i], snapshots[i + 1])` (the last one up to `end`), the connections
/// the proxy accepted, the requests its callers handled and the bound on the first; and the totals.
fn marks(snapshots: &[Snapshot], end: &Snapshot, bound: impl Fn(u64) -> u64) -> (Vec<Mark>, Vec<String>) {
    let marks = snapshots
        .iter()
        .zip(snapshots.iter().skip(1).chain([end]))
        .map(|(from, until)| {
            let handled = until.handled - from.handled;
            Mark::new(from.fault.clone(), from.at)
                .with((until.accepted - from.accepted).to_string())
                .with(handled.to_string())
                .with(bound(handled).to_string())
        })
        .collect();
    let (first, handled) = (snapshots.first().map_or(0, |s| s.accepted), end.handled);
    let handled = handled - snapshots.first().map_or(0, |s| s.handled);
    (marks, vec![(end.accepted - first).to_string(), handled.to_string(), bound(handled).to_string()])
}

fn print_resources(title: &str, baseline: &[Usage; 4], after: &[Usage; 4], settled_in: Duration) {
    eprintln!(
        "\n{title} (baseline after the warm-up, under load; after: the faults lifted, the load stopped, {settled_in:.2?} later)"
    );
    eprintln!(
        "| {:<10} | {:>11} | {:>11} | {:>11} | {:>17} | {:>12} |",
        "service", "fds", "threads", "tokio tasks", "RSS MiB", "pool conns"
    );
    eprintln!("|{:-<12}|{:->13}|{:->13}|{:->13}|{:->19}|{:->14}|", "", "", "", "", "", "");
    for kind in ServiceKind::ALL {
        let (b, a) = (baseline[index(kind)], after[index(kind)]);
        eprintln!(
            "| {:<10} | {:>11} | {:>11} | {:>11} | {:>17} | {:>12} |",
            kind.name(),
            format!("{} → {}", b.fds, a.fds),
            format!("{} → {}", b.threads, a.threads),
            format!("{} → {}", b.tasks, a.tasks),
            format!("{:.1} → {:.1}", b.rss_kib as f64 / 1024.0, a.rss_kib as f64 / 1024.0),
            format!("{} → {}", b.pool, a.pool),
        );
    }
    eprintln!();
}

/// What of `after` is over its bound from `baseline`, one line each (empty: all back).
fn over_baseline(baseline: &[Usage; 4], after: &[Usage; 4]) -> Vec<String> {
    let mut over = Vec::new();
    for kind in ServiceKind::ALL {
        let (b, a) = (baseline[index(kind)], after[index(kind)]);
        // Every connection the pool keeps beyond the baseline's is a descriptor it may hold.
        let pool_growth = usize::try_from(a.pool.saturating_sub(b.pool)).unwrap_or(usize::MAX);
        if a.fds > b.fds + pool_growth + FD_SLACK {
            over.push(format!("{kind}: {} fds, baseline {} + pool growth {pool_growth} + {FD_SLACK}", a.fds, b.fds));
        }
        if a.threads > b.threads + THREAD_SLACK {
            over.push(format!("{kind}: {} threads, baseline {} + {THREAD_SLACK}", a.threads, b.threads));
        }
        if a.tasks > b.tasks + TASK_SLACK {
            over.push(format!("{kind}: {} Tokio tasks, baseline {} + {TASK_SLACK}", a.tasks, b.tasks));
        }
        if a.rss_kib > b.rss_kib + RSS_SLACK_KIB {
            over.push(format!("{kind}: RSS {} KiB, baseline {} KiB + {RSS_SLACK_KIB} KiB", a.rss_kib, b.rss_kib));
        }
    }
    over
}

/// Runs the four faults on `target` under load and asserts the goals.
async fn faults_on(target: Target) {
    if !postgres::require() {
        eprintln!("skipped: PostgreSQL's binaries are not installed");
        return;
    }
    // Built (once per test binary) before the clock starts: the test's own time is its faults'.
    e2e::binary();
    // The two tests run one at a time: each is a cluster of four processes and a PostgreSQL, on a small machine.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let began = Instant::now();
    let mut rig = Rig::start().await;
    let peer_deadline = rig.peer_deadline();
    let channels = load::channels(rig.ports);
    let settings = LoadSettings::default();
    assert!(
        peer_deadline + Duration::from_secs(1) < settings.deadline,
        "the delay must pass the deadline between services but not the clients' own"
    );
    let snapshot = async |rig: &Rig, fault: String| Snapshot {
        fault,
        at: Instant::now(),
        accepted: rig.proxy(target).counters().accepted,
        handled: rig.callers_handled(target).await,
    };
    let mut snapshots = vec![snapshot(&rig, "none (warm-up)".into()).await];
    let load = Load::start(&channels, &settings);
    let run = load.run.clone();
    tokio::time::sleep(STEADY).await;
    let baseline = rig.usage().await;
    for (fault, mode) in faults(peer_deadline) {
        snapshots.push(snapshot(&rig, fault.clone()).await);
        rig.proxy(target).set_mode(mode);
        tokio::time::sleep(HOLD).await;
        rig.proxy(target).set_mode(Mode::Pass);
        eprintln!("{target:?}: {fault} held {HOLD:?}, lifted");
        tokio::time::sleep(STEADY).await;
    }
    let log = load.finish().await;
    let end = snapshot(&rig, String::new()).await;

    // Resources, polled until they are back or SETTLE has passed.
    let stopped = Instant::now();
    let (after, over) = loop {
        let after = rig.usage().await;
        let mut over = over_baseline(&baseline, &after);
        // The connections still open through the proxy: each caller's channel keeps one to contacts; contacts keeps
        // those its pool reports and the group-commit writers' two of their own (`db::group_commit::IN_FLIGHT`);
        // two more may be closing. A caller that leaked connections would hold more, open but unused.
        let open = rig.proxy(target).counters().open;
        let allowed = match target {
            Target::Contacts => 2 + 2,
            Target::Database => after[index(ServiceKind::Contacts)].pool + 2 + 2,
        };
        if open > allowed {
            over.push(format!("{open} connections still open through the {target:?} proxy, more than {allowed}"));
        }
        if over.is_empty() || stopped.elapsed() > SETTLE {
            eprintln!("connections open through the {target:?} proxy: {open} (at most {allowed})");
            break (after, over);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let settled_in = stopped.elapsed();

    let verification = load::verify(&log, &channels, &run).await;
    let bound = |handled| connection_bound(target, handled, peer_deadline);
    let what = match target {
        Target::Contacts => "contacts (as scheduling and mediation call it)",
        Target::Database => "contacts' PostgreSQL",
    };
    let (marks, total) = marks(&snapshots, &end, bound);
    print_table(
        &format!("faults on {what} under load"),
        &["connections", "callers' calls", "bound"],
        &rows(&log, &verification, &marks, end.at, total),
    );
    print_resources("each process's resources", &baseline, &after, settled_in);

    // Retries bounded: per fault period, the connections the proxy accepted against the bound.
    for (from, until) in snapshots.iter().zip(snapshots.iter().skip(1).chain([&end])) {
        let (connections, handled) = (until.accepted - from.accepted, until.handled - from.handled);
        assert!(
            connections <= bound(handled),
            "{}: the proxy accepted {connections} connections, more than the bound {} for {handled} requests of \
             its callers",
            from.fault,
            bound(handled)
        );
    }
    assert!(over.is_empty(), "resources not back to their baseline within {SETTLE:?}:\n{}", over.join("\n"));

    // No process is killed here and no proxy stands between the clients and the services, so no client's
    // connection breaks: every answer is a server's, and must be one of ALLOWED.
    let lost: Vec<_> = log.calls.iter().filter(|call| call.connection_lost).collect();
    assert!(lost.is_empty(), "connections between the clients and the services broke: {lost:#?}");
    assert_load_goals(rig.logs.path(), &log, &verification, &settings, &ALLOWED);
    assert_dashboard("reporting", &channels[index(ServiceKind::Reporting)], log.truth()).await;
    eprintln!("PostgreSQL log size: {} bytes", rig.server.log().len());
    rig.stop().await;
    eprintln!("faults on {what} took {:.1?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_slow_black_holed_or_resetting_under_load_answers_in_time_and_leaks_nothing() {
    faults_on(Target::Contacts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_slow_black_holed_or_resetting_under_load_answers_in_time_and_leaks_nothing() {
    faults_on(Target::Database).await;
}
