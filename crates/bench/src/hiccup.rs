//! The machine's own stalls, measured beside the open-loop (latency) drives, after Gil Tene's jHiccup: one thread
//! pinned to each core sleeps [`TICK`] at a time and notes every wake-up that came later than [`NOTICEABLE`]. A
//! stretch in which *every* core overslept at once is one in which nothing on the machine ran — on this VM, the
//! hypervisor stopped it (its steal counter does not always show it). Calls due during such a stretch wait for it
//! whatever the code does, so the bench prints these stalls beside each open-loop figure: a far-out p99 can then
//! be told apart from a slow server. A stall of one core alone is contention (the driver, the servers and the
//! database share the cores), which is part of what the bench measures, and is not reported.
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long each meter thread sleeps at a time: ~1 000 wake-ups a second per core, a few µs each.
const TICK: Duration = Duration::from_millis(1);

/// An oversleep shorter than this is the scheduler's ordinary jitter, not a stall.
pub(crate) const NOTICEABLE: Duration = Duration::from_millis(5);

/// A stretch of time in which a core (or every core) did not run its meter thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stretch {
    pub(crate) from: Instant,
    pub(crate) to: Instant,
}

impl Stretch {
    fn length(self) -> Duration {
        self.to.saturating_duration_since(self.from)
    }
}

/// The stalls of the whole machine in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct MachineStalls {
    /// Stretches of at least [`NOTICEABLE`] in which every core was stalled at once.
    pub(crate) count: u64,
    pub(crate) longest_ms: f64,
    pub(crate) total_ms: f64,
    /// The longest stall of any one core on its own. Under the kernel's scheduler a meter thread that wakes gets
    /// its core within a few ms, so a stall far longer than that is the hypervisor stopping that one vCPU — whose
    /// running thread (a server's, the driver's) then waits as long — or the kernel not letting go of it.
    pub(crate) longest_one_core_ms: f64,
    /// Cores watched; with one, a stall cannot be told from contention, so nothing is counted.
    pub(crate) cores: usize,
}

/// The meter threads, running until [`HiccupMeter::finish`].
pub(crate) struct HiccupMeter {
    stop: Arc<AtomicBool>,
    cores: Vec<JoinHandle<Vec<Stretch>>>,
}

impl HiccupMeter {
    /// One meter thread on each core this process may run on.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut cores = Vec::new();
        for core in cores_allowed() {
            let stop = stop.clone();
            let thread = std::thread::Builder::new()
                .name(format!("hiccup-{core}"))
                .spawn(move || {
                    pin_to(core);
                    watch(&stop)
                })
                .map_err(|e| anyhow::anyhow!("cannot start the hiccup meter: {e}"))?;
            cores.push(thread);
        }
        Ok(Self { stop, cores })
    }

    /// Stops the threads and returns the stretches in which every core was stalled at once.
    pub(crate) fn finish(self) -> MachineStalls {
        self.stop.store(true, Ordering::Relaxed);
        let stalls: Vec<Vec<Stretch>> = self.cores.into_iter().map(|t| t.join().unwrap_or_default()).collect();
        summarise(&stalls)
    }
}

/// Sleeps [`TICK`] at a time until `stop`, keeping every oversleep of at least [`NOTICEABLE`].
fn watch(stop: &AtomicBool) -> Vec<Stretch> {
    let mut stalls = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let asleep = Instant::now();
        std::thread::sleep(TICK);
        let awake = Instant::now();
        let due = asleep + TICK;
        if awake.saturating_duration_since(due) >= NOTICEABLE {
            stalls.push(Stretch { from: due, to: awake });
        }
    }
    stalls
}

/// What [`common_stalls`] finds among the cores' stalls, as figures.
pub(crate) fn summarise(per_core: &[Vec<Stretch>]) -> MachineStalls {
    let common = if per_core.len() < 2 { Vec::new() } else { common_stalls(per_core) };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    MachineStalls {
        count: common.len() as u64,
        longest_ms: common.iter().map(|s| ms(s.length())).fold(0.0, f64::max),
        total_ms: common.iter().map(|s| ms(s.length())).sum(),
        longest_one_core_ms: per_core.iter().flatten().map(|s| ms(s.length())).fold(0.0, f64::max),
        cores: per_core.len(),
    }
}

/// The stretches of at least [`NOTICEABLE`] covered by a stall of every core at once: the intersection of the
/// cores' lists (each in time order, as [`watch`] records them).
pub(crate) fn common_stalls(per_core: &[Vec<Stretch>]) -> Vec<Stretch> {
    let Some((first, rest)) = per_core.split_first() else { return Vec::new() };
    let mut common = first.clone();
    for other in rest {
        let mut next = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < common.len() && j < other.len() {
            let (a, b) = (common[i], other[j]);
            let from = a.from.max(b.from);
            let to = a.to.min(b.to);
            if from < to {
                next.push(Stretch { from, to });
            }
            // The one that ends first cannot overlap anything later in the other list.
            if a.to <= b.to { i += 1 } else { j += 1 }
        }
        common = next;
    }
    common.retain(|s| s.length() >= NOTICEABLE);
    common
}

/// The cores this process may run on (all of them when that cannot be read).
fn cores_allowed() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    if let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        let allowed: Vec<usize> =
            (0..nix::sched::CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false)).collect();
        if !allowed.is_empty() {
            return allowed;
        }
    }
    (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
}

/// Keeps the calling thread on `core`, so that its stalls are that core's. Where that fails the meter still runs,
/// unpinned.
fn pin_to(core: usize) {
    #[cfg(target_os = "linux")]
    {
        let mut set = nix::sched::CpuSet::new();
        if set.set(core).is_ok() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, from_ms: u64, to_ms: u64) -> Stretch {
        Stretch { from: base + Duration::from_millis(from_ms), to: base + Duration::from_millis(to_ms) }
    }

    #[test]
    fn a_stall_counts_only_where_every_core_was_stalled_at_once() {
        let t = Instant::now();
        let core0 = vec![at(t, 0, 40), at(t, 100, 106), at(t, 200, 300)];
        let core1 = vec![at(t, 10, 60), at(t, 150, 160), at(t, 250, 400)];
        assert_eq!(common_stalls(&[core0, core1]), vec![at(t, 10, 40), at(t, 250, 300)]);
    }

    #[test]
    fn overlaps_shorter_than_noticeable_are_jitter() {
        let t = Instant::now();
        let core0 = vec![at(t, 0, 20)];
        let core1 = vec![at(t, 17, 30)];
        assert!(common_stalls(&[core0, core1]).is_empty());
    }

    #[test]
    fn one_stall_may_overlap_several_of_another_core() {
        let t = Instant::now();
        let core0 = vec![at(t, 0, 100)];
        let core1 = vec![at(t, 10, 20), at(t, 50, 70), at(t, 90, 130)];
        let core2 = vec![at(t, 0, 200)];
        assert_eq!(common_stalls(&[core0, core1, core2]), vec![at(t, 10, 20), at(t, 50, 70), at(t, 90, 100)]);
    }

    #[test]
    fn the_summary_gives_count_longest_and_total() {
        let t = Instant::now();
        let stalls = summarise(&[vec![at(t, 0, 40), at(t, 200, 300)], vec![at(t, 10, 60), at(t, 250, 400)]]);
        assert_eq!(stalls.count, 2);
        assert!((stalls.longest_ms - 50.0).abs() < 1e-6, "{stalls:?}");
        assert!((stalls.total_ms - 80.0).abs() < 1e-6, "{stalls:?}");
        assert!((stalls.longest_one_core_ms - 150.0).abs() < 1e-6, "{stalls:?}");
        assert_eq!(stalls.cores, 2);
    }

    #[test]
    fn with_one_core_nothing_is_counted() {
        let t = Instant::now();
        let stalls = summarise(&[vec![at(t, 0, 400)]]);
        assert_eq!((stalls.count, stalls.cores), (0, 1));
        assert!((stalls.longest_one_core_ms - 400.0).abs() < 1e-6, "one core's own stall is still its own");
    }

    #[test]
    fn the_meter_runs_a_thread_per_core_and_stops() {
        let meter = HiccupMeter::start().expect("start");
        let cores = meter.cores.len();
        std::thread::sleep(Duration::from_millis(30));
        let stalls = meter.finish();
        assert_eq!(stalls.cores, cores);
        assert!(cores >= 1);
    }
}
