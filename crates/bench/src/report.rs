//! The results of a run: what was measured (serialised as JSON, to compare across commits), each scenario's
//! ratio to its ceiling, and the Markdown table printed at the end.
use crate::cli::{Engine, RunSettings};
use crate::goals::{GoalResult, Status};
use crate::hiccup::MachineStalls;
use crate::load::Outcome;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) tool: String,
    pub(crate) started_at: String,
    pub(crate) git_commit: Option<String>,
    pub(crate) cpus: usize,
    /// `/proc/loadavg` when the run started: a busy machine makes every figure noisy.
    pub(crate) load_average: Option<String>,
    pub(crate) settings: RunSettings,
    /// The stack check at the start of the run: the echo server on the same stack with GetContact-sized
    /// responses (each round measures it again as its own read ceiling)…
    pub(crate) echo: Option<Measured>,
    /// … and with tiny messages: the stack alone.
    pub(crate) echo_small: Option<Measured>,
    pub(crate) engines: Vec<EngineReport>,
    pub(crate) goals: Vec<GoalResult>,
    /// What the run could not do (an engine skipped, …).
    pub(crate) notes: Vec<String>,
}

/// One engine's topology and what it did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EngineReport {
    pub(crate) engine: Engine,
    pub(crate) topology: String,
    /// From starting the process(es) to every service answering SERVING on the health service.
    pub(crate) cold_start_ms: f64,
    /// Resident memory of each server process a moment after it became SERVING.
    pub(crate) idle_rss: Vec<ProcessMemory>,
    /// The register the contact reads ran on, when one of them ran: its import and the import's ceiling.
    pub(crate) register: Option<crate::register::Seeded>,
    /// The team and year of meetings the scheduling scenarios ask about, when one of them ran.
    pub(crate) calendar: Option<crate::calendar::CalendarSeed>,
    /// The scenarios, driven round after round with their ceilings: the goals take the median of the rounds.
    pub(crate) rounds: Vec<Round>,
    /// Each time reporting was restarted empty and caught up with the backlog.
    pub(crate) ingestion: Vec<Ingestion>,
    /// The most each server process was resident over the whole run (VmHWM).
    pub(crate) peak_rss: Vec<ProcessMemory>,
    /// The memory-under-abuse phase, when it ran.
    pub(crate) abuse: Option<crate::abuse::AbuseReport>,
    /// Reporting's read models at scale and its reports timed on them, one per `--report-sizes` size.
    pub(crate) reports: Vec<crate::reports::ReportScale>,
    /// The contact reads on registers of each `--scale` size, and how they grew.
    pub(crate) contacts_at_scale: Option<crate::scale::ContactsAtScale>,
}

/// One round of an engine: each ceiling measured right before the scenarios compared with it.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Round {
    /// The echo server with GetContact-sized responses: the ceiling of this round's read scenarios.
    pub(crate) echo: Option<Measured>,
    /// The same echo server driven in open loop at GetContactHalfPeak's rate, right before it: the latency floor
    /// of this machine and this stack at that rate, which the p99 goal is read against.
    pub(crate) echo_open: Option<Measured>,
    /// The database's own rate for the single-row insert (sqlx straight to the database).
    pub(crate) db_insert: Option<Measured>,
    /// The database's own rate for the primary-key read.
    pub(crate) db_read: Option<Measured>,
    pub(crate) scenarios: Vec<Measured>,
}

impl Round {
    pub(crate) fn scenario(&self, name: &str) -> Option<&Measured> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

/// A process's resident memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ProcessMemory {
    pub(crate) process: String,
    pub(crate) rss_kib: u64,
}

/// What a scenario's rate is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ceiling {
    /// The echo server's requests/s.
    Echo,
    /// The database's single-row inserts/s.
    DbInsert,
}

impl Ceiling {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::DbInsert => "db insert",
        }
    }
}

/// Latency percentiles of the successful calls, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub(crate) fn of(histogram: &hdrhistogram::Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// One scenario (or ceiling) as driven.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    pub(crate) name: String,
    /// `closed` (as fast as answers come) or `open` (at `target_per_s`).
    pub(crate) pace: &'static str,
    pub(crate) target_per_s: Option<f64>,
    /// Calls in flight when the scenario keeps a number of its own (its goal is a latency at that load); `None`:
    /// the run's `--concurrency`.
    pub(crate) in_flight: Option<usize>,
    pub(crate) ok: u64,
    pub(crate) seconds: f64,
    /// Successful calls per second.
    pub(crate) per_s: f64,
    /// Items (contacts read or written) per second.
    pub(crate) items_per_s: f64,
    pub(crate) latency: Latency,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Server CPU time (all watched processes) per successful call, in microseconds.
    pub(crate) server_cpu_us_per_call: Option<f64>,
    /// The bench's own CPU time per successful call, in microseconds.
    pub(crate) bench_cpu_us_per_call: Option<f64>,
    pub(crate) peak_rss: Vec<ProcessMemory>,
    /// In open loop: the stretches of the window in which every core stood still at once (the machine's, not
    /// the code's; see [`crate::hiccup`]).
    pub(crate) machine_stalls: Option<MachineStalls>,
    pub(crate) ceiling: Option<Ceiling>,
    /// `per_s` divided by the ceiling's `per_s`.
    pub(crate) ratio: Option<f64>,
}

impl Measured {
    /// `outcome` of the scenario `name`; `processes` names the watched processes in the order they were given.
    pub(crate) fn new(name: &str, outcome: &Outcome, pace: crate::load::Pace, processes: &[String]) -> Self {
        let seconds = outcome.window.as_secs_f64();
        let per = |n: u64| if seconds > 0.0 { n as f64 / seconds } else { 0.0 };
        let (pace, target_per_s) = match pace {
            crate::load::Pace::Closed => ("closed", None),
            crate::load::Pace::Open { per_second } => ("open", Some(per_second)),
        };
        Self {
            name: name.to_owned(),
            pace,
            target_per_s,
            in_flight: None,
            ok: outcome.ok,
            seconds,
            per_s: per(outcome.ok),
            items_per_s: per(outcome.items),
            latency: Latency::of(&outcome.latency),
            errors: outcome.errors.iter().map(|(code, n)| ((*code).to_owned(), *n)).collect(),
            server_cpu_us_per_call: (outcome.ok > 0 && !processes.is_empty())
                .then(|| outcome.server_cpu.as_secs_f64() * 1e6 / outcome.ok as f64),
            bench_cpu_us_per_call: (outcome.ok > 0).then(|| outcome.client_cpu.as_secs_f64() * 1e6 / outcome.ok as f64),
            peak_rss: processes
                .iter()
                .zip(&outcome.peak_rss_kib)
                .map(|(process, rss_kib)| ProcessMemory { process: process.clone(), rss_kib: *rss_kib })
                .collect(),
            machine_stalls: outcome.machine_stalls,
            ceiling: None,
            ratio: None,
        }
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Reporting's ingestion from a backlog.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ingestion {
    /// Changes applied while the clock ran.
    pub(crate) changes: u64,
    pub(crate) seconds: f64,
    pub(crate) changes_per_s: f64,
    /// The whole backlog the read model caught up with.
    pub(crate) backlog: u64,
}

/// `value / ceiling`, when both are positive.
pub(crate) fn ratio(value: f64, ceiling: f64) -> Option<f64> {
    (value > 0.0 && ceiling > 0.0 && value.is_finite() && ceiling.is_finite()).then(|| value / ceiling)
}

/// Fills in each scenario's ratio to its ceiling measured in the same round (the echo server; the database).
pub(crate) fn assign_ratios(round: &mut Round) {
    let rate = |m: Option<&Measured>| m.map_or(0.0, |m| m.per_s);
    let echo = rate(round.echo.as_ref());
    let insert = rate(round.db_insert.as_ref());
    for scenario in &mut round.scenarios {
        scenario.ratio = scenario.ceiling.and_then(|ceiling| {
            let ceiling = match ceiling {
                Ceiling::Echo => echo,
                Ceiling::DbInsert => insert,
            };
            ratio(scenario.per_s, ceiling)
        });
    }
}

/// How much slower GetContact-sized echoes may be than tiny ones before the stack itself is suspect.
const STACK_STALL_FACTOR: f64 = 5.0;

/// A warning when the echo stack answers GetContact-sized messages far slower than tiny ones: then the ceiling
/// itself is broken, and ratios to it hide the problem instead of showing it.
pub(crate) fn stack_stall_note(echo: Option<&Measured>, echo_small: Option<&Measured>) -> Option<String> {
    let (echo, small) = (echo?, echo_small?);
    let slower = ratio(small.per_s, echo.per_s)?;
    (slower >= STACK_STALL_FACTOR).then(|| {
        format!(
            "**The server stack stalls on larger messages**: the echo answers {} calls/s with tiny messages but {} \
             with GetContact-sized ones ({slower:.0}× fewer; median {} ms). A median near 40 ms is Nagle's algorithm \
             meeting delayed ACKs: the servers' accepted sockets probably lack TCP_NODELAY. Every rate below is \
             capped by it, and ratios to the echo ceiling hide it.",
            fmt_rate(small.per_s),
            fmt_rate(echo.per_s),
            fmt_ms(echo.latency.p50_ms),
        )
    })
}

pub(crate) fn serialize_duration_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// `12345.6` → `12 346`.
pub(crate) fn fmt_rate(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let rounded = value.round() as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with two decimals.
pub(crate) fn fmt_ms(ms: f64) -> String {
    format!("{ms:.2}")
}

/// KiB as MiB with one decimal.
pub(crate) fn fmt_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `0.4213` → `0.42×`.
pub(crate) fn fmt_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".into(), |r| if r >= 10.0 { format!("{r:.0}×") } else { format!("{r:.2}×") })
}

fn fmt_errors(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "0".into();
    }
    errors.iter().map(|(code, n)| format!("{code} {n}")).collect::<Vec<_>>().join(", ")
}

/// `server / bench` CPU microseconds per call.
fn fmt_cpu(server: Option<f64>, bench: Option<f64>) -> String {
    let us = |v: Option<f64>| v.map_or_else(|| "–".into(), |us| format!("{us:.0}"));
    format!("{} / {}", us(server), us(bench))
}

fn fmt_memory(memory: &[ProcessMemory]) -> String {
    if memory.is_empty() {
        return "–".into();
    }
    memory.iter().map(|m| format!("{} {}", m.process, fmt_mib(m.rss_kib))).collect::<Vec<_>>().join(", ")
}

/// `1.4 MiB`, `512 KiB`, `900 B`.
pub(crate) fn fmt_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.0} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// `median / max` of a timing, in ms.
fn fmt_timing(timing: &crate::reports::Timing) -> String {
    format!("{:.1} / {:.1}", timing.median_ms, timing.max_ms)
}

/// Reporting at scale: one row per read model (its build, GenerateReport, ExplainFigure and RenderReport), how
/// GenerateReport grew, and where its time goes.
pub(crate) fn fmt_report_scales(scales: &[crate::reports::ReportScale]) -> String {
    let mut out = String::new();
    let Some(first) = scales.first() else { return out };
    let _ = writeln!(
        out,
        "Read models built directly with reporting's store from a synthetic two-year history (a quarter holds about \
         an eighth of it), served by reporting in-process. GenerateReport: EXECUTIVE_SUMMARY of the quarter {} to {} \
         (UTC), scope all; ExplainFigure: a first page of 100. Times in ms, median / max of the calls.\n",
        first.quarter_start, first.quarter_end
    );
    out.push_str(
        "| changes | built in | Store::apply changes/s | facts | GenerateReport ms | the report | ExplainFigure, large, \
         ms | ExplainFigure, small, ms | RenderReport HTML ms |\n|--:|--:|--:|--:|--:|---|---|---|---|\n",
    );
    let explained = |e: &Option<crate::reports::Explained>| {
        e.as_ref().map_or_else(
            || "–".to_owned(),
            |e| format!("{} ({}, {} records)", fmt_timing(&e.timing), e.figure, e.evidence_count),
        )
    };
    for scale in scales {
        let report = match (scale.report_bytes, scale.figures, scale.recommendations) {
            (Some(bytes), Some(figures), Some(recommendations)) => {
                format!("{}, {figures} figures, {recommendations} recommendations", fmt_bytes(bytes))
            }
            _ => "–".to_owned(),
        };
        let generate = match (&scale.generate, &scale.generate_failed) {
            (Some(timing), _) => fmt_timing(timing),
            (None, Some(failed)) => format!("failed, after {}", fmt_timing(failed)),
            (None, None) => "failed".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {} | {} | {} | {report} | {} | {} | {} |",
            fmt_rate(scale.changes as f64),
            scale.build.seconds,
            fmt_rate(scale.build.apply_per_s),
            fmt_rate(scale.build.facts as f64),
            generate,
            explained(&scale.explain_large),
            explained(&scale.explain_small),
            scale
                .render_html
                .as_ref()
                .map_or_else(|| "–".to_owned(), |r| format!("{} ({})", fmt_timing(&r.timing), fmt_bytes(r.bytes))),
        );
    }
    if let Some(growth) = crate::reports::growth(scales) {
        let _ = writeln!(
            out,
            "\nGenerateReport grew ×{:.1} from {} to {} changes (the data ×{:.0}; the quarter's data grows as much, \
             an eighth of each history; a call that failed counts its time to fail).",
            growth.time_factor,
            fmt_rate(growth.from as f64),
            fmt_rate(growth.to as f64),
            growth.data_factor,
        );
    }
    if scales.iter().any(|s| s.breakdown.is_some()) {
        out.push_str(
            "\nWhere GenerateReport's time goes (the library, once per size): the records of the quarter read \
             (`Store::records`) and the report computed (`domain::report::compute`); the rest of GenerateReport's \
             median is storing the report with its evidence, reading it back and answering.\n\n\
             | changes | records read (share of the facts) | by collection | read ms | compute ms | the rest ms |\n\
             |--:|--:|---|--:|--:|--:|\n",
        );
        for scale in scales {
            let Some(b) = &scale.breakdown else { continue };
            let mut rows: Vec<(&&str, &u64)> = b.rows.iter().filter(|(_, n)| **n > 0).collect();
            rows.sort_by(|a, c| c.1.cmp(a.1).then_with(|| a.0.cmp(c.0)));
            let by: Vec<String> = rows.iter().map(|(name, n)| format!("{name} {}", fmt_rate(**n as f64))).collect();
            let rest = scale
                .generate_ms()
                .map_or_else(|| "–".to_owned(), |ms| format!("{:.0}", (ms - b.read_ms - b.compute_ms).max(0.0)));
            let _ = writeln!(
                out,
                "| {} | {} ({:.0}%) | {} | {:.0} | {:.0} | {rest} |",
                fmt_rate(scale.changes as f64),
                fmt_rate(b.rows_read as f64),
                100.0 * b.rows_read as f64 / scale.build.facts.max(1) as f64,
                by.join(", "),
                b.read_ms,
                b.compute_ms,
            );
        }
    }
    let sized: Vec<String> = scales
        .iter()
        .filter(|s| !s.report_parts.is_empty())
        .map(|s| {
            let mut parts: Vec<(&String, &u64)> = s.report_parts.iter().filter(|(_, b)| **b > 0).collect();
            parts.sort_by(|a, c| c.1.cmp(a.1).then_with(|| a.0.cmp(c.0)));
            let each: Vec<String> = parts.iter().map(|(part, b)| format!("{part} {}", fmt_bytes(**b))).collect();
            format!("{}: {}", fmt_rate(s.changes as f64), each.join(", "))
        })
        .collect();
    if !sized.is_empty() {
        let _ = writeln!(out, "\nThe report's bytes by part, per size: {}.", sized.join("; "));
    }
    for scale in scales.iter().filter(|s| !s.errors.is_empty()) {
        let _ = writeln!(out, "\n> at {} changes: {}", fmt_rate(scale.changes as f64), scale.errors.join("; "));
    }
    out
}

/// The memory-under-abuse phase in one line: what was sent, how it was answered, and each process's peak.
pub(crate) fn fmt_abuse(abuse: &crate::abuse::AbuseReport) -> String {
    let answers: Vec<String> = abuse.answers.iter().map(|(code, n)| format!("{code} {n}")).collect();
    format!(
        "memory under abuse (the largest allowed requests and some over the limits, {} calls in {:.1} s: {}): \
         peak RSS {}",
        abuse.calls,
        abuse.duration_ms / 1e3,
        answers.join(", "),
        fmt_memory(&abuse.peak_rss)
    )
}

/// What seeding the calendars made, how long it took and what the scenarios will find in them.
pub(crate) fn fmt_calendar_seed(seed: &crate::calendar::CalendarSeed) -> String {
    format!(
        "calendars: {} team members in {} with working hours, {} weekly series of {} and {} single meetings \
         ({} busy intervals) seeded in {:.1} s; one member's month holds {}–{} meetings; FindMeetingTimes finds \
         {}–{} candidates in a window ({} of {} windows with no slot)",
        seed.participants,
        seed.zones.join(", "),
        seed.series,
        crate::calendar::SERIES_COUNT,
        seed.single_meetings,
        seed.busy_intervals,
        seed.seconds,
        seed.month_meetings_min,
        seed.month_meetings_max,
        seed.candidates_min,
        seed.candidates_max,
        seed.windows_without_slot,
        seed.windows,
    )
}

/// `the machine stood still 2× (longest 106.2 ms)`.
pub(crate) fn fmt_machine_stalls(stalls: &MachineStalls) -> String {
    let every = match (stalls.cores, stalls.count) {
        (0 | 1, _) => return format!("one core, stalled up to {:.1} ms", stalls.longest_one_core_ms),
        (_, 0) => format!("no stall of every core ≥ {} ms", crate::hiccup::NOTICEABLE.as_millis()),
        (_, n) => format!(
            "every core stood still {n}× (longest {:.1} ms, {:.0} ms in all)",
            stalls.longest_ms, stalls.total_ms
        ),
    };
    format!("{every}; one core alone up to {:.1} ms", stalls.longest_one_core_ms)
}

const TABLE_HEAD: &str = "| scenario | calls/s | items/s | p50 ms | p90 ms | p99 ms | max ms | errors | CPU µs/call: server / bench \
                          | peak RSS | ceiling | ratio |\n|---|--:|--:|--:|--:|--:|--:|---|--:|---|---|--:|\n";

fn row(out: &mut String, m: &Measured) {
    let name = match (m.target_per_s, m.machine_stalls) {
        (Some(target), Some(stalls)) => {
            format!("{} (open loop at {}/s; {})", m.name, fmt_rate(target), fmt_machine_stalls(&stalls))
        }
        (Some(target), None) => format!("{} (open loop at {}/s)", m.name, fmt_rate(target)),
        (None, _) => match m.in_flight {
            Some(n) => format!("{} ({n} calls in flight)", m.name),
            None => m.name.clone(),
        },
    };
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        fmt_rate(m.per_s),
        fmt_rate(m.items_per_s),
        fmt_ms(m.latency.p50_ms),
        fmt_ms(m.latency.p90_ms),
        fmt_ms(m.latency.p99_ms),
        fmt_ms(m.latency.max_ms),
        fmt_errors(&m.errors),
        fmt_cpu(m.server_cpu_us_per_call, m.bench_cpu_us_per_call),
        fmt_memory(&m.peak_rss),
        m.ceiling.map_or("–", Ceiling::label),
        fmt_ratio(m.ratio),
    );
}

/// The Markdown summary of a run.
pub(crate) fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## liaison-bench {}{}\n\n{} · commit {} · {} CPUs, load average {} at the start · {} s per scenario after {} s of warm-up, {} connections, \
         {} calls in flight\n",
        report.started_at,
        if report.settings.quick { " (quick smoke run: the figures mean little)" } else { "" },
        report.tool,
        report.git_commit.as_deref().unwrap_or("unknown"),
        report.cpus,
        report.load_average.as_deref().unwrap_or("unknown"),
        report.settings.load.duration.as_secs_f64(),
        report.settings.load.warmup.as_secs_f64(),
        report.settings.load.connections,
        report.settings.load.concurrency,
    );
    for note in &report.notes {
        let _ = writeln!(out, "> {note}\n");
    }
    if report.echo.is_some() || report.echo_small.is_some() {
        out.push_str(
            "### Echo server (same server stack, own process): the stack check at the start\n\nThe first row: the echo \
             returns as many bytes as a GetContact response (each round measures it again, as the ceiling of its \
             reads). The second is the stack alone, with tiny messages.\n\n",
        );
        out.push_str(TABLE_HEAD);
        for echo in [&report.echo, &report.echo_small].into_iter().flatten() {
            row(&mut out, echo);
        }
        out.push('\n');
    }
    for engine in &report.engines {
        let _ = writeln!(
            out,
            "### {} ({})\n\ncold start to SERVING: {:.0} ms · idle RSS: {} · peak RSS over the run (VmHWM): {}\n",
            engine.engine.name(),
            engine.topology,
            engine.cold_start_ms,
            fmt_memory(&engine.idle_rss),
            fmt_memory(&engine.peak_rss),
        );
        if let Some(seeded) = &engine.register {
            let _ = writeln!(out, "{}\n", crate::register::fmt_seeded(seeded));
        }
        if let Some(seed) = &engine.calendar {
            let _ = writeln!(out, "{}\n", fmt_calendar_seed(seed));
        }
        if let Some(abuse) = &engine.abuse {
            let _ = writeln!(out, "{}\n", fmt_abuse(abuse));
        }
        for (index, round) in engine.rounds.iter().enumerate() {
            if engine.rounds.len() > 1 {
                let _ = writeln!(out, "#### {} round {} of {}\n", engine.engine.name(), index + 1, engine.rounds.len());
            }
            out.push_str(TABLE_HEAD);
            for ceiling in [&round.echo, &round.echo_open, &round.db_insert, &round.db_read].into_iter().flatten() {
                row(&mut out, ceiling);
            }
            for scenario in &round.scenarios {
                row(&mut out, scenario);
            }
            out.push('\n');
        }
        for ingestion in &engine.ingestion {
            let _ = writeln!(
                out,
                "reporting ingestion from a backlog of {} changes: {} changes in {:.2} s = **{} changes/s**\n",
                ingestion.backlog,
                ingestion.changes,
                ingestion.seconds,
                fmt_rate(ingestion.changes_per_s)
            );
        }
        if !engine.reports.is_empty() {
            let _ = writeln!(
                out,
                "#### {} — reporting at scale\n\n{}",
                engine.engine.name(),
                fmt_report_scales(&engine.reports)
            );
        }
        if let Some(at_scale) = &engine.contacts_at_scale {
            let _ = writeln!(
                out,
                "#### {} — contacts at scale\n\n{}",
                engine.engine.name(),
                crate::scale::markdown(at_scale)
            );
        }
    }
    if !report.goals.is_empty() {
        out.push_str(
            "### Goals\n\nThe median of the rounds (of the ingestion runs), each round's figure in brackets.\n\n\
             | goal | engine | target | measured | result |\n|---|---|---|---|---|\n",
        );
        for goal in &report.goals {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                goal.goal,
                goal.engine.map_or("–", Engine::name),
                goal.target,
                goal.measured.as_deref().unwrap_or("–"),
                match goal.status {
                    Status::Met => "met",
                    Status::Missed => "**missed**",
                    Status::NotMeasured => "not measured",
                    Status::Reported => "reported",
                }
            );
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A measured scenario with the given rate, for tests.
    pub(crate) fn measured(name: &str, per_s: f64, items_per_s: f64, ceiling: Option<Ceiling>) -> Measured {
        Measured {
            name: name.to_owned(),
            pace: "closed",
            target_per_s: None,
            in_flight: None,
            ok: (per_s * 3.0) as u64,
            seconds: 3.0,
            per_s,
            items_per_s,
            latency: Latency { p50_ms: 1.0, p90_ms: 2.0, p99_ms: 4.0, max_ms: 9.5 },
            errors: BTreeMap::new(),
            server_cpu_us_per_call: Some(120.0),
            bench_cpu_us_per_call: Some(40.0),
            peak_rss: vec![ProcessMemory { process: "all-in-one".into(), rss_kib: 40 * 1024 }],
            machine_stalls: None,
            ceiling,
            ratio: None,
        }
    }

    /// A round with an echo ceiling of 10 000/s, a database insert rate of 4 000/s and `scenarios`.
    pub(crate) fn round(scenarios: Vec<Measured>) -> Round {
        Round {
            echo: Some(measured("Echo", 10_000.0, 10_000.0, None)),
            echo_open: None,
            db_insert: Some(measured("db insert", 4000.0, 4000.0, None)),
            db_read: Some(measured("db read", 20_000.0, 20_000.0, None)),
            scenarios,
        }
    }

    /// An engine of one round of `scenarios`.
    pub(crate) fn engine(engine: Engine, scenarios: Vec<Measured>) -> EngineReport {
        EngineReport {
            abuse: None,
            engine,
            topology: "test".into(),
            cold_start_ms: 420.0,
            idle_rss: vec![ProcessMemory { process: "all-in-one".into(), rss_kib: 20 * 1024 }],
            register: None,
            calendar: None,
            rounds: vec![round(scenarios)],
            ingestion: Vec::new(),
            peak_rss: vec![],
            reports: Vec::new(),
            contacts_at_scale: None,
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut histogram = crate::load::new_histogram().expect("histogram");
        for micros in 1..=1000u64 {
            histogram.record(micros * 10).expect("record");
        }
        let latency = Latency::of(&histogram);
        assert!((latency.p50_ms - 5.0).abs() < 0.01, "{latency:?}");
        assert!((latency.p90_ms - 9.0).abs() < 0.01, "{latency:?}");
        assert!((latency.p99_ms - 9.9).abs() < 0.01, "{latency:?}");
        assert!((latency.max_ms - 10.0).abs() < 0.01, "{latency:?}");
        assert_eq!(Latency::of(&crate::load::new_histogram().expect("empty")), Latency::default());
    }

    #[test]
    fn ratios_need_two_positive_rates() {
        assert_eq!(ratio(500.0, 1000.0), Some(0.5));
        assert_eq!(ratio(0.0, 1000.0), None);
        assert_eq!(ratio(500.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn each_scenario_is_divided_by_its_own_ceiling_of_its_own_round() {
        let mut report = round(vec![
            measured("GetContact", 5000.0, 5000.0, Some(Ceiling::Echo)),
            measured("CreateContact", 1000.0, 1000.0, Some(Ceiling::DbInsert)),
            measured("Unrelated", 1000.0, 1000.0, None),
        ]);
        assign_ratios(&mut report);
        let ratios: Vec<_> = report.scenarios.iter().map(|s| s.ratio).collect();
        assert_eq!(ratios, vec![Some(0.5), Some(0.25), None]);
        report.echo = None;
        assign_ratios(&mut report);
        assert_eq!(report.scenarios[0].ratio, None, "no echo, no ratio");
    }

    #[test]
    fn a_stack_that_stalls_on_larger_messages_is_called_out() {
        let mut echo = measured("Echo", 380.0, 380.0, None);
        echo.latency.p50_ms = 44.0;
        let small = measured("EchoSmall", 19_000.0, 19_000.0, None);
        let note = stack_stall_note(Some(&echo), Some(&small)).expect("a stall");
        assert!(note.contains("50×") && note.contains("44.00 ms") && note.contains("TCP_NODELAY"), "{note}");
        let healthy = measured("Echo", 15_000.0, 15_000.0, None);
        assert_eq!(stack_stall_note(Some(&healthy), Some(&small)), None);
        assert_eq!(stack_stall_note(None, Some(&small)), None);
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(fmt_rate(1_234_567.4), "1 234 567");
        assert_eq!(fmt_rate(999.5), "1 000");
        assert_eq!(fmt_rate(12.0), "12");
        assert_eq!(fmt_ms(0.4567), "0.46");
        assert_eq!(fmt_mib(30 * 1024 + 512), "30.5 MiB");
        assert_eq!(fmt_ratio(Some(0.4213)), "0.42×");
        assert_eq!(fmt_ratio(Some(31.7)), "32×");
        assert_eq!(fmt_ratio(None), "–");
        let mut errors = BTreeMap::new();
        assert_eq!(fmt_errors(&errors), "0");
        errors.insert("UNIMPLEMENTED".to_owned(), 3);
        errors.insert("ABORTED".to_owned(), 1);
        assert_eq!(fmt_errors(&errors), "ABORTED 1, UNIMPLEMENTED 3");
    }

    #[test]
    fn reporting_at_scale_is_a_table_with_its_growth_and_where_the_time_goes() {
        use crate::reports::tests::scale;
        assert_eq!(fmt_report_scales(&[]), "");
        let mut failed = scale(5_000_000, None);
        failed.errors.push("GenerateReport: ResourceExhausted: too large".into());
        let text = fmt_report_scales(&[scale(100_000, Some(50.0)), scale(1_000_000, Some(400.0)), failed]);
        assert!(text.contains("the quarter 2026-01-01 to 2026-04-01 (UTC)"), "{text}");
        assert!(
            text.contains(
                "| 100 000 | 2.0 s | 66 667 | 66 666 | 50.0 / 50.0 | 1.4 MiB, 120 figures, 40 recommendations | \
                 4.0 / 4.0 (meetings.held, 900 records) | 2.5 / 2.5 (feedback.count, 1 records) | 80.0 / 80.0 (2.0 MiB) |"
            ),
            "{text}"
        );
        assert!(text.contains("| 5 000 000 | 2.0 s | 3 333 333 | 3 333 333 | failed |"), "{text}");
        assert!(
            text.contains(
                "The report's bytes by part, per size: 100 000: engagement 977 KiB, recommendations 488 KiB;"
            ),
            "{text}"
        );
        assert!(text.contains("GenerateReport grew ×8.0 from 100 000 to 1 000 000 changes (the data ×10;"), "{text}");
        assert!(
            text.contains("| 1 000 000 | 250 000 (38%) | contacts 125 000, meetings 125 000 | 100 | 50 | 250 |"),
            "{text}"
        );
        assert!(text.contains("> at 5 000 000 changes: GenerateReport: ResourceExhausted: too large"), "{text}");
        assert_eq!(
            (fmt_bytes(900), fmt_bytes(2048), fmt_bytes(3 * 1_048_576 / 2)),
            ("900 B".into(), "2 KiB".into(), "1.5 MiB".into())
        );
    }

    #[test]
    fn machine_stalls_read_as_what_was_seen() {
        let stalls = |count, cores| MachineStalls {
            count,
            longest_ms: 12.34,
            total_ms: 20.0,
            longest_one_core_ms: 140.0,
            cores,
        };
        assert_eq!(fmt_machine_stalls(&stalls(0, 2)), "no stall of every core ≥ 5 ms; one core alone up to 140.0 ms");
        assert_eq!(
            fmt_machine_stalls(&stalls(3, 2)),
            "every core stood still 3× (longest 12.3 ms, 20 ms in all); one core alone up to 140.0 ms"
        );
        assert_eq!(fmt_machine_stalls(&stalls(3, 1)), "one core, stalled up to 140.0 ms");
    }

    #[test]
    fn the_markdown_table_has_a_row_per_scenario_and_ceiling() {
        let mut scenario = measured("GetContact", 5000.0, 5000.0, Some(Ceiling::Echo));
        scenario.ratio = Some(0.5);
        let mut open = measured("GetContact", 2500.0, 2500.0, Some(Ceiling::Echo));
        open.target_per_s = Some(2500.0);
        let settings = crate::cli::RunArgs::default().resolve(Some("x".into())).expect("settings");
        let mut sqlite = engine(Engine::Sqlite, vec![scenario, open]);
        let mut floor = measured("EchoOpenLoop", 2500.0, 2500.0, None);
        floor.target_per_s = Some(2500.0);
        floor.machine_stalls = Some(MachineStalls {
            count: 2,
            longest_ms: 106.24,
            total_ms: 120.0,
            longest_one_core_ms: 106.24,
            cores: 2,
        });
        sqlite.rounds[0].echo_open = Some(floor);
        let mut report = Report {
            tool: "liaison-bench 0.1.0".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            git_commit: Some("abc1234".into()),
            cpus: 2,
            load_average: Some("0.12 0.20 0.31".into()),
            settings,
            echo: Some(measured("Echo", 10_000.0, 10_000.0, None)),
            echo_small: Some(measured("EchoSmall", 20_000.0, 20_000.0, None)),
            engines: vec![sqlite],
            goals: Vec::new(),
            notes: vec!["postgres skipped".into()],
        };
        let mut fixed = measured("FindMeetingTimes", 200.0, 2000.0, None);
        fixed.in_flight = Some(4);
        report.engines[0].rounds[0].scenarios.push(fixed);
        report.engines[0].calendar = Some(crate::calendar::CalendarSeed {
            participants: 20,
            zones: vec!["Europe/London", "America/New_York"],
            series: 12,
            single_meetings: 2000,
            busy_intervals: 7120,
            seconds: 2.04,
            month_meetings_min: 17,
            month_meetings_max: 25,
            candidates_min: 0,
            candidates_max: 10,
            windows_without_slot: 3,
            windows: 49,
        });
        let text = markdown(&report);
        assert!(text.contains("| FindMeetingTimes (4 calls in flight) | 200 |"), "{text}");
        assert!(
            text.contains(
                "calendars: 20 team members in Europe/London, America/New_York with working hours, 12 weekly series \
                 of 52 and 2000 single meetings (7120 busy intervals) seeded in 2.0 s; one member's month holds \
                 17–25 meetings; FindMeetingTimes finds 0–10 candidates in a window (3 of 49 windows with no slot)"
            ),
            "{text}"
        );
        assert!(text.contains("| GetContact | 5 000 | 5 000 | 1.00 | 2.00 | 4.00 | 9.50 | 0 | 120 / 40 | all-in-one 40.0 MiB | echo | 0.50× |"), "{text}");
        assert!(text.contains("| GetContact (open loop at 2 500/s) |"), "{text}");
        assert!(text.contains("| db insert | 4 000 |"), "{text}");
        assert!(
            text.contains(
                "| EchoOpenLoop (open loop at 2 500/s; every core stood still 2× (longest 106.2 ms, 120 ms in all); one core \
                 alone up to 106.2 ms) | 2 500 |"
            ),
            "the latency floor is a row, with the machine's stalls in its window: {text}"
        );
        assert!(text.contains("> postgres skipped"), "{text}");
        assert!(text.contains("| EchoSmall | 20 000 |"), "{text}");
        assert!(text.contains("cold start to SERVING: 420 ms"), "{text}");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["engines"][0]["rounds"][0]["scenarios"][0]["ratio"], 0.5);
        assert_eq!(json["engines"][0]["rounds"][0]["echo_open"]["machine_stalls"]["longest_ms"], 106.24);
        assert_eq!(json["settings"]["load"]["duration_ms"], 10_000.0);
        assert!(text.contains("load average 0.12 0.20 0.31"), "{text}");
    }
}
