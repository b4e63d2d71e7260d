//! What a soak run reports: its figures per engine, interval and RPC, and their Markdown.
use super::*;

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
    pub(super) fn new(name: &'static str, whole: &Tally, thirds: [&Tally; 3]) -> Self {
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

pub(super) fn engine_markdown(out: &mut String, engine: &SoakEngine, soak: &Soak) {
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

pub(super) fn fmt_slope(slope: Option<f64>) -> String {
    slope.map_or_else(|| "–".to_owned(), |s| format!("{s:+.3}"))
}

pub(super) fn fmt_errors(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".into();
    }
    errors.iter().map(|(code, n)| format!("{code} {n}")).collect::<Vec<_>>().join(", ")
}

pub(super) fn fmt_secs(secs: f64) -> String {
    if (secs - secs.round()).abs() < 0.05 { format!("{secs:.0}") } else { format!("{secs:.1}") }
}

/// `10 min`, `90 s`.
pub(super) fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 && (secs / 60.0 - (secs / 60.0).round()).abs() < 1e-9 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{} s", fmt_secs(secs))
    }
}
