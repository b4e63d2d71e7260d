//! The judging: least-squares slopes, the run's thirds, and the goals as ratios — pure functions, unit-tested.
use super::*;

/// Memory is flat when its slope after warm-up, over the whole run, adds less than this share of its mean RSS.
pub(super) const MEMORY_GROWTH_MAX: f64 = 0.10;
/// Latency is flat when the last third's p99 is at most this many times the middle third's.
pub(super) const P99_GROWTH_MAX: f64 = 1.5;

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
    pub(super) fn text(self) -> &'static str {
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
pub(super) fn merged_p99_ms(histograms: &[Histogram<u64>]) -> anyhow::Result<Option<f64>> {
    let mut merged = load::new_histogram()?;
    for histogram in histograms {
        merged.add(histogram).context("cannot merge latency histograms")?;
    }
    Ok((!merged.is_empty()).then(|| merged.value_at_quantile(0.99) as f64 / 1e3))
}

/// The trends and goals of `intervals` of a run of `minutes`, for the processes `processes`.
pub(super) fn trends(
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
