//! The load driver: many concurrent calls over a few HTTP/2 connections (one tonic `Channel` is one
//! connection), a warm-up, then a measured window of fixed length. Closed loop (each worker sends its next call
//! when the previous one answered: the peak rate) or open loop at a target rate, where latency is counted from
//! when each call was due, so a slow server cannot hide its queue (no coordinated omission). While it measures,
//! it watches the server processes' CPU time and resident memory, and in open loop the machine's own stalls
//! ([`crate::hiccup`]).
use crate::hiccup::{HiccupMeter, MachineStalls};
use crate::procs;
use anyhow::Context;
use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

/// One call of a workload: how many items it moved (contacts returned, rows written), or its status.
pub(crate) type Call = BoxFuture<'static, Result<u64, tonic::Status>>;

/// Makes the `seq`-th call of a scenario (`seq` is unique within one drive) for worker number `worker` (which
/// picks the worker's connection: a worker keeps to one).
pub(crate) type Workload = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// Deadline of each call: a server that hangs shows up as DEADLINE_EXCEEDED, not as a bench that hangs.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an open-loop run may go on past its window to finish calls that were due in it.
const OVERRUN: Duration = Duration::from_secs(1);

/// The finest sleep the timer offers; an open-loop worker that wakes later than due by at most this much was
/// late because of the timer, not because the server kept it busy. The calls due within one tick go out together:
/// a pacer thread releasing them every 100 µs or 300 µs instead (tried on this 2-core machine, where the driver
/// shares the cores with the server) halved the p50 but doubled the p99, the extra wake-ups costing client and
/// server ~50% more CPU per call; the tick is kept.
pub(crate) const TIMER_GRANULARITY: Duration = Duration::from_millis(1);

/// A few HTTP/2 connections to one server; worker `w` uses connection `w mod n`.
#[derive(Debug, Clone)]
pub(crate) struct Connections(Arc<Vec<Channel>>);

impl Connections {
    /// `n` connections to `url`, each connected now.
    pub(crate) async fn open(url: &str, n: usize) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_owned()).with_context(|| format!("invalid URL {url}"))?;
        Self::open_endpoint(endpoint, url, n).await
    }

    /// `n` connections to `https://127.0.0.1:<port>`, verifying the server as `tls` says, each connected (and its
    /// TLS handshake done) now.
    pub(crate) async fn open_tls(port: u16, tls: &liaison_testkit::procs::HealthTls, n: usize) -> anyhow::Result<Self> {
        let url = format!("https://127.0.0.1:{port}");
        let endpoint = tls.endpoint(port).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
        Self::open_endpoint(endpoint, &url, n).await
    }

    async fn open_endpoint(endpoint: Endpoint, url: &str, n: usize) -> anyhow::Result<Self> {
        let endpoint = endpoint.tcp_nodelay(true).connect_timeout(Duration::from_secs(3)).timeout(CALL_TIMEOUT);
        let mut channels = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            channels.push(endpoint.connect().await.with_context(|| format!("cannot connect to {url}"))?);
        }
        Ok(Self(Arc::new(channels)))
    }

    /// One connection to `url` that connects on first use (for tests that never call).
    #[cfg(test)]
    pub(crate) fn lazy(url: &str) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_owned()).with_context(|| format!("invalid URL {url}"))?;
        Ok(Self(Arc::new(vec![endpoint.connect_lazy()])))
    }

    /// The connection of worker `worker`.
    pub(crate) fn get(&self, worker: usize) -> Channel {
        self.0[worker % self.0.len()].clone()
    }
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pace {
    /// Each worker sends its next call as soon as its previous one is answered.
    Closed,
    /// Calls are due at this many per second, whatever the answers; at most `concurrency` are in flight.
    Open { per_second: f64 },
}

/// How a workload is driven.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drive {
    pub(crate) load: crate::cli::Load,
    pub(crate) pace: Pace,
}

/// What a drive measured (calls that started within the measured window).
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) ok: u64,
    pub(crate) items: u64,
    /// Failed calls by gRPC code name (`UNIMPLEMENTED`, …).
    pub(crate) errors: BTreeMap<&'static str, u64>,
    pub(crate) window: Duration,
    /// Latency of the successful calls, in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// CPU time the watched processes used during the window, together.
    pub(crate) server_cpu: Duration,
    /// CPU time this process (the load driver) used during the window: on a small machine it competes with the
    /// servers for the same cores.
    pub(crate) client_cpu: Duration,
    /// The most each watched process was resident during the window, in KiB (same order as the pids given).
    pub(crate) peak_rss_kib: Vec<u64>,
    /// In open loop, the stretches of the window in which the whole machine stood still.
    pub(crate) machine_stalls: Option<MachineStalls>,
}

/// A histogram of microseconds up to an hour, three significant digits.
pub(crate) fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("cannot create a latency histogram")
}

/// What one worker saw.
struct Tally {
    ok: u64,
    items: u64,
    errors: BTreeMap<&'static str, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self { ok: 0, items: 0, errors: BTreeMap::new(), latency: new_histogram()? })
    }

    fn record(&mut self, result: Result<u64, tonic::Status>, latency: Duration) {
        match result {
            Ok(items) => {
                self.ok += 1;
                self.items += items;
                self.latency.saturating_record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1));
            }
            Err(status) => *self.errors.entry(code_name(status.code())).or_default() += 1,
        }
    }
}

/// Drives `workload` as `drive` says, watching the processes `watch`.
pub(crate) async fn run(workload: Workload, drive: Drive, watch: &[u32]) -> anyhow::Result<Outcome> {
    let load = drive.load;
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let end = measure_from + load.duration;
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(load.concurrency);
    for worker in 0..load.concurrency {
        let workload = workload.clone();
        let next = next.clone();
        let mut tally = Tally::new()?;
        workers.push(tokio::spawn(async move {
            match drive.pace {
                Pace::Closed => loop {
                    let started = Instant::now();
                    if started >= end {
                        break;
                    }
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    let result = workload(worker, seq).await;
                    if started >= measure_from {
                        tally.record(result, started.elapsed());
                    }
                },
                Pace::Open { per_second } => loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    let due = start + Duration::from_secs_f64(seq as f64 / per_second);
                    if due >= end || Instant::now() >= end + OVERRUN {
                        break;
                    }
                    tokio::time::sleep_until(due).await;
                    let started = Instant::now();
                    let result = workload(worker, seq).await;
                    let timer_lateness = started.saturating_duration_since(due).min(TIMER_GRANULARITY);
                    if due >= measure_from {
                        tally.record(result, due.elapsed().saturating_sub(timer_lateness));
                    }
                },
            }
            tally
        }));
    }

    tokio::time::sleep_until(measure_from).await;
    let watcher = Watcher::start(watch)?;
    // Only beside latency drives: at the peak a stall shows as a lower rate, which the rounds already average.
    let meter = matches!(drive.pace, Pace::Open { .. }).then(HiccupMeter::start).transpose()?;
    tokio::time::sleep_until(end).await;
    let machine_stalls = meter.map(HiccupMeter::finish);
    let (server_cpu, client_cpu, peak_rss_kib) = watcher.finish().await?;

    let mut total = Tally::new()?;
    for worker in workers {
        let tally = worker.await.context("a load worker failed")?;
        total.ok += tally.ok;
        total.items += tally.items;
        for (code, count) in tally.errors {
            *total.errors.entry(code).or_default() += count;
        }
        total.latency.add(&tally.latency).context("cannot merge latency histograms")?;
    }
    Ok(Outcome {
        ok: total.ok,
        items: total.items,
        errors: total.errors,
        window: load.duration,
        latency: total.latency,
        server_cpu,
        client_cpu,
        peak_rss_kib,
        machine_stalls,
    })
}

/// Samples the watched processes' memory while the window lasts, and their CPU time at both ends.
struct Watcher {
    pids: Vec<u32>,
    cpu_before: Duration,
    own_cpu_before: Duration,
    stop: Arc<AtomicBool>,
    sampler: tokio::task::JoinHandle<Vec<u64>>,
}

/// How often resident memory is sampled.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(50);

impl Watcher {
    fn start(pids: &[u32]) -> anyhow::Result<Self> {
        let cpu_before = total_cpu(pids)?;
        let own_cpu_before = procs::cpu_time(std::process::id())?;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let pids = pids.to_vec();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut peaks = vec![0u64; pids.len()];
                loop {
                    for (peak, pid) in peaks.iter_mut().zip(&pids) {
                        if let Ok(memory) = procs::memory(*pid) {
                            *peak = (*peak).max(memory.rss_kib);
                        }
                    }
                    if stop.load(Ordering::Relaxed) {
                        return peaks;
                    }
                    tokio::time::sleep(RSS_SAMPLE_EVERY).await;
                }
            })
        };
        Ok(Self { pids: pids.to_vec(), cpu_before, own_cpu_before, stop, sampler })
    }

    /// CPU time of the watched processes and of this one since the start, and the memory peaks.
    async fn finish(self) -> anyhow::Result<(Duration, Duration, Vec<u64>)> {
        let cpu = total_cpu(&self.pids)?.saturating_sub(self.cpu_before);
        let own_cpu = procs::cpu_time(std::process::id())?.saturating_sub(self.own_cpu_before);
        self.stop.store(true, Ordering::Relaxed);
        let peaks = self.sampler.await.context("the memory sampler failed")?;
        Ok((cpu, own_cpu, peaks))
    }
}

fn total_cpu(pids: &[u32]) -> anyhow::Result<Duration> {
    pids.iter().map(|pid| procs::cpu_time(*pid)).sum()
}

/// The canonical name of a gRPC status code, as in the gRPC specification.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_have_their_canonical_names() {
        assert_eq!(code_name(tonic::Code::Unimplemented), "UNIMPLEMENTED");
        assert_eq!(code_name(tonic::Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
        assert_eq!(code_name(tonic::Code::from_i32(14)), "UNAVAILABLE");
    }

    fn counting_workload(calls: Arc<AtomicU64>) -> Workload {
        Arc::new(move |_worker, seq| {
            calls.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_micros(200)).await;
                if seq % 10 == 9 { Err(tonic::Status::unavailable("every tenth")) } else { Ok(2) }
            })
        })
    }

    fn load(concurrency: usize) -> crate::cli::Load {
        crate::cli::Load {
            duration: Duration::from_millis(200),
            warmup: Duration::from_millis(50),
            connections: 1,
            concurrency,
        }
    }

    #[tokio::test]
    async fn a_closed_loop_counts_only_the_measured_window() {
        let calls = Arc::new(AtomicU64::new(0));
        let drive = Drive { load: load(4), pace: Pace::Closed };
        let outcome = run(counting_workload(calls.clone()), drive, &[std::process::id()]).await.expect("drive");
        let counted = outcome.ok + outcome.errors.values().sum::<u64>();
        assert!(outcome.ok > 0);
        assert!(counted <= calls.load(Ordering::Relaxed), "warm-up calls are made but not counted");
        assert_eq!(outcome.items, outcome.ok * 2);
        assert_eq!(outcome.latency.len(), outcome.ok);
        assert_eq!(outcome.window, Duration::from_millis(200));
        assert_eq!(outcome.peak_rss_kib.len(), 1);
        assert_eq!(outcome.machine_stalls, None, "the machine's stalls are watched beside latency drives only");
    }

    #[tokio::test]
    async fn an_open_loop_never_sends_more_than_its_schedule() {
        let calls = Arc::new(AtomicU64::new(0));
        let drive = Drive { load: load(8), pace: Pace::Open { per_second: 100.0 } };
        let outcome = run(counting_workload(calls.clone()), drive, &[]).await.expect("drive");
        // 250 ms of schedule at 100/s: calls 0..=24 are due, 20 of them in the measured window.
        assert!(calls.load(Ordering::Relaxed) <= 25, "{}", calls.load(Ordering::Relaxed));
        assert!(outcome.ok + outcome.errors.values().sum::<u64>() <= 20);
        let stalls = outcome.machine_stalls.expect("an open loop watches the machine's stalls");
        assert!(stalls.cores >= 1);
    }

    #[test]
    fn a_tally_counts_successes_items_and_errors_by_code() {
        let mut tally = Tally::new().expect("tally");
        tally.record(Ok(100), Duration::from_micros(800));
        tally.record(Ok(100), Duration::from_micros(1200));
        tally.record(Err(tonic::Status::unimplemented("later")), Duration::from_micros(10));
        tally.record(Err(tonic::Status::unimplemented("later")), Duration::from_micros(10));
        assert_eq!((tally.ok, tally.items), (2, 200));
        assert_eq!(tally.errors.get("UNIMPLEMENTED"), Some(&2));
        assert_eq!(tally.latency.len(), 2, "only successful calls count for latency");
    }
}
