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

/// `--soak` without a value.
pub(crate) const DEFAULT_DURATION: &str = "10m";
/// Calls per second of all kinds together, unless `--soak-rate` says otherwise.
pub(crate) const DEFAULT_RATE: f64 = 200.0;
/// How often memory and latency are sampled, unless `--soak-interval` says otherwise.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// The goals divide the run in thirds (the first is warm-up), so it needs at least three intervals.
pub(crate) const MIN_INTERVALS: u64 = 3;

/// Memory is flat when its slope after warm-up, over the whole run, adds less than this share of its mean RSS.
const MEMORY_GROWTH_MAX: f64 = 0.10;
/// Latency is flat when the last third's p99 is at most this many times the middle third's.
const P99_GROWTH_MAX: f64 = 1.5;
/// How long calls due in the run may go on past its end before the drive stops waiting for them.
const OVERRUN: Duration = Duration::from_secs(1);
/// Cases opened by the soak waiting for their next transition; beyond this the oldest are forgotten.
const CASE_QUEUE_MAX: usize = 10_000;

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

/// What the mix schedules: one RPC, or the next transition of a case the soak opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Rpc(Rpc),
    /// AcknowledgeCase of a case opened by the soak, or AssessCase of one it acknowledged (with the etag of its
    /// last answer); OpenCase when none waits.
    CaseTransition,
}

/// An RPC of the mix, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rpc {
    GetContact,
    ListContacts,
    SearchContacts,
    CreateContact,
    UpdateContact,
    CreateMeeting,
    OpenCase,
    AcknowledgeCase,
    AssessCase,
}

impl Rpc {
    const ALL: [Rpc; 9] = [
        Self::GetContact,
        Self::ListContacts,
        Self::SearchContacts,
        Self::CreateContact,
        Self::UpdateContact,
        Self::CreateMeeting,
        Self::OpenCase,
        Self::AcknowledgeCase,
        Self::AssessCase,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::GetContact => "GetContact",
            Self::ListContacts => "ListContacts",
            Self::SearchContacts => "SearchContacts",
            Self::CreateContact => "CreateContact",
            Self::UpdateContact => "UpdateContact",
            Self::CreateMeeting => "CreateMeeting",
            Self::OpenCase => "OpenCase",
            Self::AcknowledgeCase => "AcknowledgeCase",
            Self::AssessCase => "AssessCase",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|rpc| *rpc == self).unwrap_or(0)
    }
}

/// The mix, per 100 calls: mostly reads, as an office's day is, and every kind of write the services take.
/// Creates carry a request id; updates the etag of the contact's last answer; case transitions the etag of the
/// case's last answer. Reads run on the seeded contacts (no imported register: the soak is about drift, not size).
const MIX: [(Slot, u64); 8] = [
    (Slot::Rpc(Rpc::GetContact), 34),
    (Slot::Rpc(Rpc::ListContacts), 10),
    (Slot::Rpc(Rpc::SearchContacts), 10),
    (Slot::Rpc(Rpc::CreateContact), 10),
    (Slot::Rpc(Rpc::UpdateContact), 10),
    (Slot::Rpc(Rpc::CreateMeeting), 8),
    (Slot::Rpc(Rpc::OpenCase), 6),
    (Slot::CaseTransition, 12),
];

/// Step through the 100 slots of a cycle: coprime with 100, so that every cycle of 100 calls has exactly the
/// [`MIX`]'s shares, the kinds interleaved.
const MIX_STEP: u64 = 37;

/// What call `seq` of the drive is.
fn slot_of(seq: u64) -> Slot {
    let total: u64 = MIX.iter().map(|(_, share)| share).sum();
    let mut at = seq.wrapping_mul(MIX_STEP) % total.max(1);
    for (slot, share) in MIX {
        if at < share {
            return slot;
        }
        at -= share;
    }
    MIX[0].0
}

/// The mix as the report prints it: `GetContact 34, …, AcknowledgeCase/AssessCase 12`.
fn mix_text() -> String {
    let parts: Vec<String> = MIX
        .iter()
        .map(|(slot, share)| match slot {
            Slot::Rpc(rpc) => format!("{} {share}", rpc.name()),
            Slot::CaseTransition => format!("AcknowledgeCase/AssessCase {share}"),
        })
        .collect();
    parts.join(", ")
}

// ---------------------------------------------------------------------------------------------------------------
// The judging: pure functions, unit-tested.

/// The least-squares slope of `y` over `x`; `None` with fewer than two points or all `x` equal.
pub(crate) fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The three thirds of `n` intervals: warm-up, middle, last (the last takes any remainder).
pub(crate) fn thirds(n: usize) -> [Range<usize>; 3] {
    let (a, b) = (n / 3, 2 * n / 3);
    [0..a, a..b, b..n]
}

/// A goal's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Pass,
    Miss,
    /// Too few intervals, or no call in a third.
    NotMeasured,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Miss => "**MISS**",
            Self::NotMeasured => "not measured",
        }
    }
}

/// The memory goal of one process: the growth its slope after warm-up gives over the whole run, against a share of
/// its mean RSS after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct MemoryJudgement {
    pub(crate) growth_mib: f64,
    pub(crate) limit_mib: f64,
    pub(crate) verdict: Verdict,
}

/// Memory is flat when `slope` (MiB/min) over the run's `minutes` adds less than [`MEMORY_GROWTH_MAX`] of `mean`
/// (MiB). A shrinking process passes.
pub(crate) fn judge_memory(slope_mib_per_min: Option<f64>, minutes: f64, mean_mib: f64) -> MemoryJudgement {
    let limit_mib = MEMORY_GROWTH_MAX * mean_mib;
    match slope_mib_per_min {
        Some(slope) if mean_mib > 0.0 && minutes > 0.0 => {
            let growth_mib = slope * minutes;
            let verdict = if growth_mib < limit_mib { Verdict::Pass } else { Verdict::Miss };
            MemoryJudgement { growth_mib, limit_mib, verdict }
        }
        _ => MemoryJudgement { growth_mib: 0.0, limit_mib, verdict: Verdict::NotMeasured },
    }
}

/// Latency is flat when the last third's p99 is at most [`P99_GROWTH_MAX`] times the middle third's (both in ms;
/// `None`: no call completed in that third).
pub(crate) fn judge_p99(middle_ms: Option<f64>, last_ms: Option<f64>) -> Verdict {
    match (middle_ms, last_ms) {
        (Some(middle), Some(last)) if middle > 0.0 => {
            if last <= P99_GROWTH_MAX * middle {
                Verdict::Pass
            } else {
                Verdict::Miss
            }
        }
        _ => Verdict::NotMeasured,
    }
}

/// The p99 of the calls of some intervals together (their histograms merged), in ms; `None` without a call.
fn merged_p99_ms(histograms: &[Histogram<u64>]) -> anyhow::Result<Option<f64>> {
    let mut merged = load::new_histogram()?;
    for histogram in histograms {
        merged.add(histogram).context("cannot merge latency histograms")?;
    }
    Ok((!merged.is_empty()).then(|| merged.value_at_quantile(0.99) as f64 / 1e3))
}

// ---------------------------------------------------------------------------------------------------------------
// The report.

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SoakReport {
    pub(crate) tool: String,
    pub(crate) started_at: String,
    pub(crate) git_commit: Option<String>,
    pub(crate) cpus: usize,
    pub(crate) load_average_start: Option<String>,
    pub(crate) load_average_end: Option<String>,
    pub(crate) soak: Soak,
    pub(crate) connections: usize,
    pub(crate) concurrency: usize,
    pub(crate) seed_contacts: usize,
    pub(crate) mix: String,
    pub(crate) engines: Vec<SoakEngine>,
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SoakEngine {
    pub(crate) engine: Engine,
    pub(crate) topology: String,
    pub(crate) seeded_in_s: f64,
    pub(crate) idle_rss: Vec<ProcessMemory>,
    pub(crate) processes: Vec<String>,
    pub(crate) intervals: Vec<Interval>,
    pub(crate) rpcs: Vec<RpcFigures>,
    /// Failed calls of the whole run by gRPC code.
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) memory: Vec<MemoryTrend>,
    pub(crate) p99: LatencyTrend,
}

/// One sampling interval.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Interval {
    /// Seconds from the start of the drive to the sample.
    pub(crate) end_s: f64,
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// VmRSS of each server process at the sample, in KiB (as `processes`).
    pub(crate) rss_kib: Vec<u64>,
    /// CPU time of the server processes in the interval, as a share of one core.
    pub(crate) server_cpu: f64,
    pub(crate) machine_stalls: MachineStalls,
    /// The calls' latencies (µs), for the thirds' p99.
    #[serde(skip)]
    pub(crate) latency: Histogram<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RpcFigures {
    pub(crate) name: &'static str,
    pub(crate) ok: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// p50 and p99 of its calls completed in each third of the run (warm-up, middle, last); `None` without any.
    pub(crate) p50_ms_thirds: [Option<f64>; 3],
    pub(crate) p99_ms_thirds: [Option<f64>; 3],
    pub(crate) errors: BTreeMap<String, u64>,
    /// The first message of each code.
    pub(crate) first_errors: BTreeMap<String, String>,
}

impl RpcFigures {
    fn new(name: &'static str, whole: &Tally, thirds: [&Tally; 3]) -> Self {
        let ms = |tally: &Tally, q: f64| (tally.ok > 0).then(|| tally.latency.value_at_quantile(q) as f64 / 1e3);
        Self {
            name,
            ok: whole.ok,
            p50_ms: ms(whole, 0.5).unwrap_or(0.0),
            p99_ms: ms(whole, 0.99).unwrap_or(0.0),
            max_ms: whole.latency.max() as f64 / 1e3,
            p50_ms_thirds: thirds.map(|tally| ms(tally, 0.5)),
            p99_ms_thirds: thirds.map(|tally| ms(tally, 0.99)),
            errors: whole.errors.iter().map(|(code, n)| ((*code).to_owned(), *n)).collect(),
            first_errors: whole.first_errors.iter().map(|(code, m)| ((*code).to_owned(), m.clone())).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MemoryTrend {
    pub(crate) process: String,
    pub(crate) slope_mib_per_min_whole: Option<f64>,
    pub(crate) slope_mib_per_min_after_warmup: Option<f64>,
    pub(crate) mean_mib_after_warmup: f64,
    pub(crate) first_mib: f64,
    pub(crate) last_mib: f64,
    pub(crate) judgement: MemoryJudgement,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LatencyTrend {
    pub(crate) slope_ms_per_min_whole: Option<f64>,
    pub(crate) slope_ms_per_min_after_warmup: Option<f64>,
    /// The servers' CPU (percent of one core) per minute: at a fixed rate, the cost of a call drifting (reported,
    /// not judged).
    pub(crate) cpu_slope_pct_per_min_whole: Option<f64>,
    pub(crate) cpu_slope_pct_per_min_after_warmup: Option<f64>,
    /// p99 of each third's calls together (merged histograms).
    pub(crate) p99_ms_thirds: [Option<f64>; 3],
    pub(crate) verdict: Verdict,
}

/// The trends and goals of `intervals` of a run of `minutes`, for the processes `processes`.
fn trends(
    processes: &[String],
    intervals: &[Interval],
    minutes: f64,
) -> anyhow::Result<(Vec<MemoryTrend>, LatencyTrend)> {
    let [_, middle, last] = thirds(intervals.len());
    let after_warmup_start = middle.start;
    let after_warmup = after_warmup_start..intervals.len();
    let minute = |i: &Interval| i.end_s / 60.0;
    let mut memory = Vec::new();
    for (p, process) in processes.iter().enumerate() {
        let mib = |i: &Interval| i.rss_kib.get(p).copied().unwrap_or(0) as f64 / 1024.0;
        let points: Vec<(f64, f64)> = intervals.iter().map(|i| (minute(i), mib(i))).collect();
        let settled = &points[after_warmup.clone()];
        let mean = settled.iter().map(|(_, y)| y).sum::<f64>() / settled.len().max(1) as f64;
        let slope_after = slope(settled);
        memory.push(MemoryTrend {
            process: process.clone(),
            slope_mib_per_min_whole: slope(&points),
            slope_mib_per_min_after_warmup: slope_after,
            mean_mib_after_warmup: mean,
            first_mib: points.first().map_or(0.0, |(_, y)| *y),
            last_mib: points.last().map_or(0.0, |(_, y)| *y),
            judgement: if intervals.len() < MIN_INTERVALS as usize {
                judge_memory(None, minutes, mean)
            } else {
                judge_memory(slope_after, minutes, mean)
            },
        });
    }
    let with_calls: Vec<(f64, f64)> = intervals.iter().filter(|i| i.ok > 0).map(|i| (minute(i), i.p99_ms)).collect();
    let settled: Vec<(f64, f64)> =
        intervals[after_warmup].iter().filter(|i| i.ok > 0).map(|i| (minute(i), i.p99_ms)).collect();
    let histograms =
        |range: Range<usize>| -> Vec<Histogram<u64>> { intervals[range].iter().map(|i| i.latency.clone()).collect() };
    let [warmup, _, _] = thirds(intervals.len());
    let p99_ms_thirds =
        [merged_p99_ms(&histograms(warmup))?, merged_p99_ms(&histograms(middle))?, merged_p99_ms(&histograms(last))?];
    let verdict = if intervals.len() < MIN_INTERVALS as usize {
        Verdict::NotMeasured
    } else {
        judge_p99(p99_ms_thirds[1], p99_ms_thirds[2])
    };
    let cpu: Vec<(f64, f64)> = intervals.iter().map(|i| (minute(i), i.server_cpu * 100.0)).collect();
    let p99 = LatencyTrend {
        slope_ms_per_min_whole: slope(&with_calls),
        slope_ms_per_min_after_warmup: slope(&settled),
        cpu_slope_pct_per_min_whole: slope(&cpu),
        cpu_slope_pct_per_min_after_warmup: slope(&cpu[after_warmup_start..]),
        p99_ms_thirds,
        verdict,
    };
    Ok((memory, p99))
}

/// The report as Markdown.
pub(crate) fn markdown(report: &SoakReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## liaison-bench soak of {}\n", report.started_at);
    let soak = &report.soak;
    let _ = writeln!(
        out,
        "{} · commit {} · {} CPUs, load average {} at the start, {} at the end · {} at {} calls/s in open loop (at \
         most {} calls in flight, {} connections per service), sampled every {} s · {} seeded contacts · the mix \
         per 100 calls: {}\n",
        report.tool,
        report.git_commit.as_deref().unwrap_or("unknown"),
        report.cpus,
        report.load_average_start.as_deref().unwrap_or("unknown"),
        report.load_average_end.as_deref().unwrap_or("unknown"),
        fmt_duration(soak.duration),
        fmt_rate(soak.rate),
        report.concurrency,
        report.connections,
        fmt_secs(soak.interval.as_secs_f64()),
        fmt_rate(report.seed_contacts as f64),
        report.mix,
    );
    for engine in &report.engines {
        engine_markdown(&mut out, engine, soak);
    }
    for note in &report.notes {
        let _ = writeln!(out, "> {note}\n");
    }
    out
}

fn engine_markdown(out: &mut String, engine: &SoakEngine, soak: &Soak) {
    let _ = writeln!(out, "### {} ({})\n", engine.engine.name(), engine.topology);
    let idle: Vec<String> = engine.idle_rss.iter().map(|m| format!("{} {}", m.process, fmt_mib(m.rss_kib))).collect();
    let _ = writeln!(
        out,
        "Seeded in {:.1} s; idle RSS before the load: {}. Each row is one interval: the calls completed in it \
         (latency from when each was due), each server process's VmRSS at its end, the servers' CPU (100% = one \
         core), and the longest stall of every core at once (the machine's, not the servers': `hiccup.rs`).\n",
        engine.seeded_in_s,
        idle.join(", ")
    );
    let rss_heads: String = engine.processes.iter().map(|p| format!(" {p} RSS MiB |")).collect();
    let rss_align: String = engine.processes.iter().map(|_| "--:|").collect();
    let _ = writeln!(
        out,
        "| t (s) | calls/s | errors | p50 ms | p99 ms | max ms |{rss_heads} server CPU | machine stalled |"
    );
    let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|{rss_align}--:|--:|");
    for interval in &engine.intervals {
        let rss: String = interval.rss_kib.iter().map(|kib| format!(" {:.1} |", *kib as f64 / 1024.0)).collect();
        let stall = if interval.machine_stalls.count == 0 {
            "–".to_owned()
        } else {
            format!("{} ms", fmt_ms(interval.machine_stalls.longest_ms))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |{rss} {:.0}% | {stall} |",
            fmt_secs(interval.end_s),
            fmt_rate(interval.per_s),
            interval.errors,
            fmt_ms(interval.p50_ms),
            fmt_ms(interval.p99_ms),
            fmt_ms(interval.max_ms),
            interval.server_cpu * 100.0,
        );
    }
    let _ = writeln!(
        out,
        "\n| RPC | calls | p50 ms | p99 ms | max ms | p50 ms by third | p99 ms by third | errors |\n\
         |---|--:|--:|--:|--:|--:|--:|---|"
    );
    let thirds =
        |ms: [Option<f64>; 3]| -> String { ms.map(|ms| ms.map_or_else(|| "–".to_owned(), fmt_ms)).join(" → ") };
    for rpc in &engine.rpcs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            rpc.name,
            fmt_rate(rpc.ok as f64),
            fmt_ms(rpc.p50_ms),
            fmt_ms(rpc.p99_ms),
            fmt_ms(rpc.max_ms),
            thirds(rpc.p50_ms_thirds),
            thirds(rpc.p99_ms_thirds),
            fmt_errors(&rpc.errors)
        );
    }
    let _ = writeln!(out, "\nErrors by code over the run: {}.\n", fmt_errors(&engine.errors));
    for rpc in &engine.rpcs {
        for (code, message) in &rpc.first_errors {
            let _ = writeln!(out, "> {} {code}, the first: {}\n", rpc.name, message.replace('\n', " "));
        }
    }

    let _ = writeln!(out, "| trend | whole run | after warm-up (the last two thirds) |\n|---|--:|--:|");
    for memory in &engine.memory {
        let _ = writeln!(
            out,
            "| {} RSS (MiB per minute; {:.1} → {:.1} MiB) | {} | {} |",
            memory.process,
            memory.first_mib,
            memory.last_mib,
            fmt_slope(memory.slope_mib_per_min_whole),
            fmt_slope(memory.slope_mib_per_min_after_warmup)
        );
    }
    let _ = writeln!(
        out,
        "| p99 (ms per minute) | {} | {} |",
        fmt_slope(engine.p99.slope_ms_per_min_whole),
        fmt_slope(engine.p99.slope_ms_per_min_after_warmup)
    );
    let _ = writeln!(
        out,
        "| server CPU (% of a core per minute, at a fixed rate: the cost of a call; not judged) | {} | {} |",
        fmt_slope(engine.p99.cpu_slope_pct_per_min_whole),
        fmt_slope(engine.p99.cpu_slope_pct_per_min_after_warmup)
    );
    let _ = writeln!(out, "\n| goal | figure | limit | verdict |\n|---|--:|--:|---|");
    for memory in &engine.memory {
        let judgement = memory.judgement;
        let _ = writeln!(
            out,
            "| {} memory flat: slope after warm-up × {} < 10% of its mean RSS after warm-up | {:+.1} MiB | < {:.1} \
             MiB (10% of {:.1} MiB) | {} |",
            memory.process,
            fmt_duration(soak.duration),
            judgement.growth_mib,
            judgement.limit_mib,
            memory.mean_mib_after_warmup,
            judgement.verdict.text()
        );
    }
    let [first, middle, last] = engine.p99.p99_ms_thirds;
    let shown = |ms: Option<f64>| ms.map_or_else(|| "–".to_owned(), |ms| format!("{} ms", fmt_ms(ms)));
    let _ = writeln!(
        out,
        "| p99 flat: the last third's ≤ 1.5× the middle third's (warm-up third: {}) | {} | ≤ {} (1.5 × {}) | {} |\n",
        shown(first),
        shown(last),
        shown(middle.map(|ms| ms * P99_GROWTH_MAX)),
        shown(middle),
        engine.p99.verdict.text()
    );
}

fn fmt_slope(slope: Option<f64>) -> String {
    slope.map_or_else(|| "–".to_owned(), |s| format!("{s:+.3}"))
}

fn fmt_errors(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".into();
    }
    errors.iter().map(|(code, n)| format!("{code} {n}")).collect::<Vec<_>>().join(", ")
}

fn fmt_secs(secs: f64) -> String {
    if (secs - secs.round()).abs() < 0.05 { format!("{secs:.0}") } else { format!("{secs:.1}") }
}

/// `10 min`, `90 s`.
fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 && (secs / 60.0 - (secs / 60.0).round()).abs() < 1e-9 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{} s", fmt_secs(secs))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

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

/// A case the soak opened, waiting for its next transition.
#[derive(Debug)]
struct OpenedCase {
    name: String,
    etag: String,
    acknowledged: bool,
}

type Answer = BoxFuture<'static, (Rpc, Result<(), tonic::Status>)>;

/// What the mix needs to make its calls.
struct Mix {
    /// The calls reused from the benchmark's scenarios (GetContact, ListContacts, SearchContacts, CreateContact,
    /// CreateMeeting).
    reused: BTreeMap<Rpc, load::Workload>,
    names: Arc<Vec<String>>,
    /// The last etag of each seeded contact (as `names`); worker `w` updates only its own ([`scenarios::own_index`]).
    etags: Arc<Vec<Mutex<String>>>,
    workers: usize,
    tag: Arc<str>,
    contacts: Connections,
    mediation: Connections,
    cases: Arc<Mutex<VecDeque<OpenedCase>>>,
}

impl Mix {
    fn new(
        fixture: &Fixture,
        etags: Vec<String>,
        contacts: &Connections,
        scheduling: &Connections,
        mediation: &Connections,
    ) -> anyhow::Result<Self> {
        let mut reused = BTreeMap::new();
        for (rpc, scenario, connections) in [
            (Rpc::GetContact, Scenario::GetContact, contacts),
            (Rpc::ListContacts, Scenario::ListContacts, contacts),
            (Rpc::SearchContacts, Scenario::SearchContacts, contacts),
            (Rpc::CreateContact, Scenario::CreateContact, contacts),
            (Rpc::CreateMeeting, Scenario::CreateMeeting, scheduling),
        ] {
            let workload = scenarios::workload(scenario, fixture, connections)
                .with_context(|| format!("{} has no workload", scenario.name()))?;
            reused.insert(rpc, workload);
        }
        Ok(Self {
            reused,
            names: fixture.names.clone(),
            etags: Arc::new(etags.into_iter().map(Mutex::new).collect()),
            workers: fixture.workers,
            tag: fixture.tag.clone(),
            contacts: contacts.clone(),
            mediation: mediation.clone(),
            cases: Arc::default(),
        })
    }

    /// The `seq`-th call of the drive, made by worker `worker`.
    fn call(&self, worker: usize, seq: u64) -> Answer {
        match slot_of(seq) {
            Slot::Rpc(Rpc::UpdateContact) => self.update_contact(worker, seq),
            Slot::Rpc(Rpc::OpenCase) => self.open_case(worker, seq),
            Slot::Rpc(rpc) => match self.reused.get(&rpc) {
                Some(workload) => {
                    let call = workload(worker, seq);
                    Box::pin(async move { (rpc, call.await.map(drop)) })
                }
                // AcknowledgeCase and AssessCase are never scheduled by name: they are the case transitions.
                None => self.case_transition(worker, seq),
            },
            Slot::CaseTransition => self.case_transition(worker, seq),
        }
    }

    /// UpdateContact of the worker's own seeded contact, with the etag of its last answer (refreshed with GetContact
    /// if it was stale).
    fn update_contact(&self, worker: usize, seq: u64) -> Answer {
        let index = scenarios::own_index(worker, self.workers, seq, self.names.len());
        let name = self.names[index].clone();
        let etags = self.etags.clone();
        let etag = lock(&etags[index]).clone();
        let mut client = ContactsServiceClient::new(self.contacts.get(worker));
        Box::pin(async move {
            let contact = Contact {
                name: name.clone(),
                etag,
                notes: format!("Updated by the liaison-bench soak, call {seq}."),
                ..Default::default()
            };
            let request = UpdateContactRequest {
                contact: Some(contact),
                update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
            };
            let result = match client.update_contact(request).await {
                Ok(response) => {
                    if let Some(contact) = response.into_inner().contact {
                        *lock(&etags[index]) = contact.etag;
                    }
                    Ok(())
                }
                Err(status) => {
                    if status.code() == tonic::Code::Aborted
                        && let Ok(current) = client.get_contact(GetContactRequest { name }).await
                        && let Some(contact) = current.into_inner().contact
                    {
                        *lock(&etags[index]) = contact.etag;
                    }
                    Err(status)
                }
            };
            (Rpc::UpdateContact, result)
        })
    }

    /// OpenCase between three seeded contacts, with a request id; the case waits for its transitions.
    fn open_case(&self, worker: usize, seq: u64) -> Answer {
        let request = OpenCaseRequest {
            case: Some(scenarios::new_case(&self.names, format!("Soak case {} {seq}", self.tag), seq)),
            request_id: format!("soak-{}-case-{seq}", self.tag),
        };
        let mut client = MediationServiceClient::new(self.mediation.get(worker));
        let cases = self.cases.clone();
        Box::pin(async move {
            let result = client.open_case(request).await.map(|response| {
                if let Some(case) = response.into_inner().case {
                    queue(&cases, OpenedCase { name: case.name, etag: case.etag, acknowledged: false });
                }
            });
            (Rpc::OpenCase, result)
        })
    }

    /// The next transition of the oldest case waiting for one, with the etag of its last answer: AcknowledgeCase,
    /// then AssessCase (eligible), after which the case leaves the soak. With none waiting, OpenCase.
    fn case_transition(&self, worker: usize, seq: u64) -> Answer {
        let Some(case) = lock(&self.cases).pop_front() else { return self.open_case(worker, seq) };
        let mut client = MediationServiceClient::new(self.mediation.get(worker));
        let cases = self.cases.clone();
        Box::pin(async move {
            if case.acknowledged {
                let request = AssessCaseRequest {
                    name: case.name,
                    etag: case.etag,
                    eligible: true,
                    reason: "Within the scheme's remit (liaison-bench soak).".into(),
                };
                (Rpc::AssessCase, client.assess_case(request).await.map(drop))
            } else {
                let request = AcknowledgeCaseRequest {
                    name: case.name,
                    etag: case.etag,
                    reason: "Acknowledged by email (liaison-bench soak).".into(),
                };
                let result = client.acknowledge_case(request).await.map(|response| {
                    if let Some(case) = response.into_inner().case {
                        queue(&cases, OpenedCase { name: case.name, etag: case.etag, acknowledged: true });
                    }
                });
                (Rpc::AcknowledgeCase, result)
            }
        })
    }
}

fn queue(cases: &Mutex<VecDeque<OpenedCase>>, case: OpenedCase) {
    let mut cases = lock(cases);
    if cases.len() >= CASE_QUEUE_MAX {
        cases.pop_front();
    }
    cases.push_back(case);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls of one RPC, or of one interval.
struct Tally {
    ok: u64,
    errors: BTreeMap<&'static str, u64>,
    /// The first message of each code.
    first_errors: BTreeMap<&'static str, String>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self { ok: 0, errors: BTreeMap::new(), first_errors: BTreeMap::new(), latency: load::new_histogram()? })
    }

    fn record(&mut self, result: &Result<(), tonic::Status>, latency: Duration) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latency.saturating_record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1));
            }
            Err(status) => {
                let code = load::code_name(status.code());
                *self.errors.entry(code).or_default() += 1;
                self.first_errors.entry(code).or_insert_with(|| status.message().chars().take(300).collect());
            }
        }
    }
}

/// What the workers record as calls complete: the current interval's calls, and each RPC's over the run.
struct Shared {
    interval: Tally,
    rpcs: Vec<Tally>,
    /// Each RPC's calls in each third of the run (as [`thirds`] of the intervals).
    thirds: [Vec<Tally>; 3],
    /// The third the calls completing now fall in.
    third: usize,
}

struct Driven {
    intervals: Vec<Interval>,
    rpcs: Vec<Tally>,
    thirds: [Vec<Tally>; 3],
}

fn tallies() -> anyhow::Result<Vec<Tally>> {
    Rpc::ALL.iter().map(|_| Tally::new()).collect()
}

/// Drives `mix` in open loop for the soak's whole intervals, sampling at the end of each: the calls completed in
/// it, each server process's VmRSS, their CPU time, and the machine's stalls.
async fn drive(
    mix: Arc<Mix>,
    soak: Soak,
    concurrency: usize,
    cluster: &mut Cluster,
    pids: &[u32],
    engine: &str,
) -> anyhow::Result<Driven> {
    let shared = Arc::new(Mutex::new(Shared {
        interval: Tally::new()?,
        rpcs: tallies()?,
        thirds: [tallies()?, tallies()?, tallies()?],
        third: 0,
    }));
    let count = u32::try_from(soak.intervals()).context("too many intervals")?;
    let start = Instant::now();
    let end = start + soak.interval * count;
    let next = Arc::new(AtomicU64::new(0));
    // A JoinSet: should a sample fail, dropping it stops the workers.
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let (mix, shared, next) = (mix.clone(), shared.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(seq as f64 / soak.rate);
                if due >= end || Instant::now() >= end + OVERRUN {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let started = Instant::now();
                let (rpc, result) = mix.call(worker, seq).await;
                // As in `load`: a wake-up late by at most the timer's tick is the timer's, not the server's.
                let timer_lateness = started.saturating_duration_since(due).min(TIMER_GRANULARITY);
                let latency = due.elapsed().saturating_sub(timer_lateness);
                let mut shared = lock(&shared);
                let third = shared.third;
                shared.interval.record(&result, latency);
                shared.rpcs[rpc.index()].record(&result, latency);
                shared.thirds[third][rpc.index()].record(&result, latency);
            }
        });
    }

    let bounds = thirds(count as usize);
    let mut intervals = Vec::with_capacity(count as usize);
    let mut cpu_before = total_cpu(pids)?;
    let mut sampled_at = start;
    for i in 1..=count {
        let meter = HiccupMeter::start()?;
        let at = start + soak.interval * i;
        tokio::time::sleep_until(at).await;
        let machine_stalls = meter.finish();
        if i == count {
            // The last interval takes the calls that were due before the end and answered after it.
            while let Some(joined) = workers.join_next().await {
                joined.context("a soak worker failed")?;
            }
        }
        let tally = {
            let mut shared = lock(&shared);
            // The calls completing from now on belong to the next interval, and so to its third.
            shared.third = bounds.iter().position(|third| third.contains(&(i as usize))).unwrap_or(2);
            std::mem::replace(&mut shared.interval, Tally::new()?)
        };
        let now = Instant::now();
        let cpu_now = total_cpu(pids)?;
        let rss_kib =
            pids.iter().map(|pid| procs::memory(*pid).map(|m| m.rss_kib)).collect::<anyhow::Result<Vec<_>>>()?;
        cluster.check_alive()?;
        let seconds = now.duration_since(sampled_at).as_secs_f64().max(1e-3);
        let interval = Interval {
            end_s: at.duration_since(start).as_secs_f64(),
            ok: tally.ok,
            errors: tally.errors.values().sum(),
            per_s: tally.ok as f64 / soak.interval.as_secs_f64(),
            p50_ms: tally.latency.value_at_quantile(0.5) as f64 / 1e3,
            p99_ms: tally.latency.value_at_quantile(0.99) as f64 / 1e3,
            max_ms: tally.latency.max() as f64 / 1e3,
            rss_kib,
            server_cpu: cpu_now.saturating_sub(cpu_before).as_secs_f64() / seconds,
            machine_stalls,
            latency: tally.latency,
        };
        let rss: Vec<String> = cluster
            .processes()
            .iter()
            .zip(&interval.rss_kib)
            .map(|((process, _), kib)| format!("{process} {}", fmt_mib(*kib)))
            .collect();
        eprintln!(
            "liaison-bench: {engine} — soak {} of {} s: {} calls/s, p50 {} ms, p99 {} ms, errors {}, RSS {}",
            fmt_secs(interval.end_s),
            fmt_secs(soak.interval.as_secs_f64() * f64::from(count)),
            fmt_rate(interval.per_s),
            fmt_ms(interval.p50_ms),
            fmt_ms(interval.p99_ms),
            interval.errors,
            rss.join(", ")
        );
        intervals.push(interval);
        cpu_before = cpu_now;
        sampled_at = now;
    }
    let mut shared = lock(&shared);
    Ok(Driven { intervals, rpcs: std::mem::take(&mut shared.rpcs), thirds: std::mem::take(&mut shared.thirds) })
}

fn total_cpu(pids: &[u32]) -> anyhow::Result<Duration> {
    pids.iter().map(|pid| procs::cpu_time(*pid)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_slope_is_the_least_squares_line() {
        let line: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), 2.0 * f64::from(x) + 1.0)).collect();
        assert!(close(slope(&line).expect("a line"), 2.0));
        let flat: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), 50.0)).collect();
        assert!(close(slope(&flat).expect("flat"), 0.0));
        // Noise around a flat line, symmetric in time, leaves no slope.
        let noisy = [(0.0, 10.0), (1.0, 12.0), (2.0, 8.0), (3.0, 8.0), (4.0, 12.0), (5.0, 10.0)];
        assert!(close(slope(&noisy).expect("noisy"), 0.0));
        // (0,0), (1,1), (2,1): x̄ = 1, ȳ = 2/3, Sxy = 1, Sxx = 2.
        assert!(close(slope(&[(0.0, 0.0), (1.0, 1.0), (2.0, 1.0)]).expect("three points"), 0.5));
        assert_eq!(slope(&[(1.0, 5.0)]), None, "one point has no slope");
        assert_eq!(slope(&[]), None);
        assert_eq!(slope(&[(1.0, 5.0), (1.0, 7.0)]), None, "no spread in time");
    }

    #[test]
    fn the_run_is_cut_in_thirds_the_last_taking_the_remainder() {
        assert_eq!(thirds(60), [0..20, 20..40, 40..60]);
        assert_eq!(thirds(18), [0..6, 6..12, 12..18]);
        assert_eq!(thirds(7), [0..2, 2..4, 4..7]);
        assert_eq!(thirds(3), [0..1, 1..2, 2..3]);
        assert_eq!(thirds(2), [0..0, 0..1, 1..2]);
    }

    #[test]
    fn memory_is_flat_when_its_growth_over_the_run_stays_under_a_tenth_of_its_mean() {
        // 100 MiB on average, 10 minutes: under 10 MiB of growth passes.
        let judged = judge_memory(Some(0.5), 10.0, 100.0);
        assert_eq!(judged.verdict, Verdict::Pass);
        assert!(close(judged.growth_mib, 5.0) && close(judged.limit_mib, 10.0));
        assert_eq!(judge_memory(Some(1.0), 10.0, 100.0).verdict, Verdict::Miss, "10 MiB is not under 10");
        assert_eq!(judge_memory(Some(0.99), 10.0, 100.0).verdict, Verdict::Pass);
        // The same slope over a longer run is a miss: it is judged as a ratio of the run.
        assert_eq!(judge_memory(Some(0.5), 60.0, 100.0).verdict, Verdict::Miss);
        assert_eq!(judge_memory(Some(-3.0), 10.0, 100.0).verdict, Verdict::Pass, "shrinking is flat enough");
        assert_eq!(judge_memory(None, 10.0, 100.0).verdict, Verdict::NotMeasured);
        assert_eq!(judge_memory(Some(0.1), 10.0, 0.0).verdict, Verdict::NotMeasured, "no memory read");
    }

    #[test]
    fn p99_is_flat_when_the_last_third_stays_within_half_again_the_middle_one() {
        assert_eq!(judge_p99(Some(10.0), Some(15.0)), Verdict::Pass);
        assert_eq!(judge_p99(Some(10.0), Some(15.1)), Verdict::Miss);
        assert_eq!(judge_p99(Some(10.0), Some(2.0)), Verdict::Pass, "faster is flat enough");
        assert_eq!(judge_p99(None, Some(2.0)), Verdict::NotMeasured);
        assert_eq!(judge_p99(Some(3.0), None), Verdict::NotMeasured);
        assert_eq!(judge_p99(Some(0.0), Some(1.0)), Verdict::NotMeasured);
    }

    #[test]
    fn every_hundred_calls_hold_the_mix_exactly() {
        assert_eq!(MIX.iter().map(|(_, share)| share).sum::<u64>(), 100);
        for offset in [0u64, 1, 37, 12_345] {
            let mut counts = BTreeMap::new();
            for seq in offset..offset + 100 {
                *counts.entry(format!("{:?}", slot_of(seq))).or_insert(0u64) += 1;
            }
            for (slot, share) in MIX {
                assert_eq!(counts.get(&format!("{slot:?}")), Some(&share), "{slot:?} at offset {offset}");
            }
        }
        // Interleaved: the 34 GetContacts of a cycle never come ten in a row.
        let longest_run = (0..100u64)
            .fold((0, 0), |(run, longest), seq| {
                let run = if slot_of(seq) == Slot::Rpc(Rpc::GetContact) { run + 1 } else { 0 };
                (run, longest.max(run))
            })
            .1;
        assert!(longest_run < 10, "{longest_run}");
        assert!(mix_text().starts_with("GetContact 34, ") && mix_text().ends_with("AcknowledgeCase/AssessCase 12"));
    }

    /// An interval at `minute` with one RSS figure (MiB) per process and calls of `latency_ms` each.
    fn interval(minute: f64, rss_mib: &[f64], latency_ms: &[u64]) -> Interval {
        let mut latency = load::new_histogram().expect("histogram");
        for ms in latency_ms {
            latency.record(ms * 1000).expect("in range");
        }
        Interval {
            end_s: minute * 60.0,
            ok: latency_ms.len() as u64,
            errors: 0,
            per_s: 0.0,
            p50_ms: latency.value_at_quantile(0.5) as f64 / 1e3,
            p99_ms: latency.value_at_quantile(0.99) as f64 / 1e3,
            max_ms: latency.max() as f64 / 1e3,
            rss_kib: rss_mib.iter().map(|mib| (mib * 1024.0) as u64).collect(),
            server_cpu: 0.5,
            machine_stalls: MachineStalls::default(),
            latency,
        }
    }

    #[test]
    fn trends_skip_the_warm_up_and_judge_each_process_alone() {
        // Nine intervals of a minute: "steady" grows in the warm-up third and then stays; "leaky" grows 5 MiB a
        // minute throughout; p99 is 4 ms then 20 ms in the warm-up, 4 ms in the middle and 5 ms in the last third.
        let processes = vec!["steady".to_owned(), "leaky".to_owned()];
        let intervals: Vec<Interval> = (1..=9)
            .map(|m| {
                let steady = if m <= 3 { 40.0 + 10.0 * f64::from(m) } else { 70.0 };
                let leaky = 50.0 + 5.0 * f64::from(m);
                let slow = match m {
                    1..=3 => 20,
                    4..=6 => 4,
                    _ => 5,
                };
                interval(f64::from(m), &[steady, leaky], &[1, 2, 3, slow])
            })
            .collect();
        let (memory, p99) = trends(&processes, &intervals, 9.0).expect("trends");
        assert_eq!(memory[0].judgement.verdict, Verdict::Pass, "{:?}", memory[0]);
        assert!(memory[0].slope_mib_per_min_whole.expect("whole") > 1.0, "the warm-up shows in the whole run");
        assert!(close(memory[0].slope_mib_per_min_after_warmup.expect("after"), 0.0));
        assert!(close(memory[0].mean_mib_after_warmup, 70.0));
        assert_eq!(memory[1].judgement.verdict, Verdict::Miss, "{:?}", memory[1]);
        assert!(close(memory[1].slope_mib_per_min_after_warmup.expect("after"), 5.0));
        assert!(close(memory[1].judgement.growth_mib, 45.0));
        let [first, middle, last] = p99.p99_ms_thirds.map(|ms| ms.expect("calls in every third"));
        assert!((first - 20.0).abs() < 0.1 && (middle - 4.0).abs() < 0.1 && (last - 5.0).abs() < 0.1);
        assert_eq!(p99.verdict, Verdict::Pass, "5 ms ≤ 1.5 × 4 ms");
        assert!(p99.slope_ms_per_min_whole.expect("whole") < 0.0, "the slow warm-up makes the whole run's fall");

        let slower: Vec<Interval> =
            (1..=9).map(|m| interval(f64::from(m), &[70.0, 70.0], &[1, 2, if m > 6 { 9 } else { 4 }])).collect();
        let (_, p99) = trends(&processes, &slower, 9.0).expect("trends");
        assert_eq!(p99.verdict, Verdict::Miss, "9 ms > 1.5 × 4 ms");
        let (memory, p99) = trends(&processes, &slower[..2], 2.0).expect("trends");
        assert_eq!((memory[0].judgement.verdict, p99.verdict), (Verdict::NotMeasured, Verdict::NotMeasured));
    }

    #[test]
    fn the_markdown_has_the_intervals_the_slopes_and_the_verdicts() {
        let processes = vec!["liaison".to_owned()];
        let intervals: Vec<Interval> = (1..=6).map(|m| interval(f64::from(m), &[60.0], &[1, 2, 3])).collect();
        let (memory, p99) = trends(&processes, &intervals, 6.0).expect("trends");
        let soak = Soak { duration: Duration::from_secs(360), rate: 200.0, interval: Duration::from_secs(60) };
        let mut whole = Tally::new().expect("tally");
        let (mut middle, mut last, empty) =
            (Tally::new().expect("t"), Tally::new().expect("t"), Tally::new().expect("t"));
        for ms in [2, 3] {
            whole.record(&Ok(()), Duration::from_millis(ms));
            middle.record(&Ok(()), Duration::from_millis(2));
            last.record(&Ok(()), Duration::from_millis(3));
        }
        whole.record(&Err(tonic::Status::unavailable("down\nfor a bit")), Duration::ZERO);
        whole.record(&Err(tonic::Status::unavailable("down again")), Duration::ZERO);
        let rpc = RpcFigures::new("GetContact", &whole, [&empty, &middle, &last]);
        assert_eq!((rpc.ok, rpc.errors.get("UNAVAILABLE")), (2, Some(&2)));
        assert_eq!(rpc.first_errors.get("UNAVAILABLE").map(String::as_str), Some("down\nfor a bit"));
        let report = SoakReport {
            tool: "liaison-bench 0".into(),
            started_at: "2026-12-07T00:00:00Z".into(),
            git_commit: None,
            cpus: 2,
            load_average_start: Some("1.00 1.00 1.00".into()),
            load_average_end: None,
            soak,
            connections: 4,
            concurrency: 64,
            seed_contacts: 2000,
            mix: mix_text(),
            engines: vec![SoakEngine {
                engine: Engine::Sqlite,
                topology: "the all-in-one".into(),
                seeded_in_s: 1.0,
                idle_rss: vec![ProcessMemory { process: "liaison".into(), rss_kib: 30 * 1024 }],
                processes,
                intervals,
                rpcs: vec![rpc],
                errors: BTreeMap::from([("UNAVAILABLE".to_owned(), 2)]),
                memory,
                p99,
            }],
            notes: Vec::new(),
        };
        let text = markdown(&report);
        assert!(text.contains("6 min at 200 calls/s"), "{text}");
        assert!(text.contains("| t (s) | calls/s | errors | p50 ms | p99 ms | max ms | liaison RSS MiB |"), "{text}");
        assert!(text.contains("| 360 |"), "{text}");
        assert!(text.contains("liaison memory flat") && text.contains("p99 flat"), "{text}");
        assert!(text.contains("| 3.00 ms | ≤ 4.50 ms (1.5 × 3.00 ms) | PASS |"), "{text}");
        assert_eq!(text.matches("PASS").count(), 2, "{text}");
        assert!(text.contains("UNAVAILABLE 2"), "{text}");
        assert!(text.contains("| – → 2.00 → 3.00 |"), "the RPC's p50 by third: {text}");
        assert!(text.contains("> GetContact UNAVAILABLE, the first: down for a bit"), "{text}");
        assert!(text.contains("| server CPU (% of a core per minute"), "{text}");
        assert!(broken(&report).is_empty());
        let serialised = serde_json::to_string(&report).expect("JSON");
        assert!(serialised.contains("\"duration_s\":360.0") && serialised.contains("\"verdict\":\"pass\""));
    }

    #[test]
    fn a_soak_has_whole_intervals() {
        let soak = Soak { duration: Duration::from_secs(65), rate: 1.0, interval: Duration::from_secs(10) };
        assert_eq!(soak.intervals(), 6);
        assert_eq!(fmt_duration(Duration::from_secs(600)), "10 min");
        assert_eq!(fmt_duration(Duration::from_secs(90)), "90 s");
    }
}
