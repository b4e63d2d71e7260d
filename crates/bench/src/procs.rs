//! What Linux tells about the processes under test (started by `liaison_testkit::procs`) in `/proc/<pid>/`:
//! resident memory (VmRSS now, VmHWM the peak) and CPU time.
use anyhow::Context;
use std::time::Duration;

/// Memory of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Resident now.
    pub(crate) rss_kib: u64,
    /// The most it has been resident since it started.
    pub(crate) hwm_kib: u64,
}

pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    parse_memory(&status).with_context(|| format!("/proc/{pid}/status has no VmRSS/VmHWM"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    Some(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
}

/// CPU time (user + system) a process has used so far.
pub(crate) fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    parse_cpu_time(&stat).with_context(|| format!("/proc/{pid}/stat is not in the expected format"))
}

/// `/proc/<pid>/stat` counts in USER_HZ ticks, which Linux fixes at 100 per second for user space.
const TICKS_PER_SECOND: u64 = 100;

fn parse_cpu_time(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may contain spaces; fields are counted after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_the_status_file() {
        let status = "Name:\tliaison\nVmPeak:\t  200000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t5\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 20480, hwm_kib: 40960 }));
        assert_eq!(parse_memory("Name:\tx\n"), None);
    }

    #[test]
    fn cpu_time_survives_spaces_in_the_command_name() {
        let stat = "1234 (tokio rt (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_cpu_time(stat), Some(Duration::from_secs(2)));
        assert_eq!(parse_cpu_time("garbage"), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let me = std::process::id();
        let memory = memory(me).expect("own memory");
        assert!(memory.rss_kib > 0 && memory.hwm_kib >= memory.rss_kib);
        cpu_time(me).expect("own cpu time");
    }
}
