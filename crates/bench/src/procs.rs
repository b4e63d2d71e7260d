//! Child processes (the servers under test): started with a clean environment and their stderr in a log file,
//! stopped with SIGTERM or killed when dropped; and what Linux tells about them in `/proc/<pid>/` — resident
//! memory (VmRSS now, VmHWM the peak) and CPU time.
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A server process under test.
pub(crate) struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `command` (stdin and stdout closed unless the caller set them, stderr appended to `log`).
    pub(crate) fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open the log file {}", log.display()))?;
        command.stdin(Stdio::null()).stderr(file);
        let child = command.spawn().with_context(|| format!("cannot start {name} ({command:?})"))?;
        Ok(Self { name: name.to_owned(), child, log: log.to_owned() })
    }

    /// Wraps a child started elsewhere (e.g. with a piped stdout).
    pub(crate) fn adopt(name: &str, child: Child, log: &Path) -> Self {
        Self { name: name.to_owned(), child, log: log.to_owned() }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The exit status if the process has ended.
    pub(crate) fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child.try_wait().with_context(|| format!("cannot query {}", self.name))
    }

    /// The end of its log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// An error saying that the process ended, with the end of its log.
    pub(crate) fn died(&self, status: ExitStatus) -> anyhow::Error {
        anyhow::anyhow!(
            "{} exited ({status}); the end of its log ({}):\n{}",
            self.name,
            self.log.display(),
            self.log_tail()
        )
    }

    /// SIGTERM, then waits up to `timeout` for it to end (SIGKILL after that).
    pub(crate) async fn stop(mut self, timeout: Duration) -> anyhow::Result<()> {
        if self.exited()?.is_some() {
            return Ok(());
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .with_context(|| format!("cannot run `kill -TERM {}`", self.pid()))?;
        if !sent.success() {
            bail!("`kill -TERM {}` ({}) failed: {sent}", self.pid(), self.name);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.exited()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("{} did not stop within {timeout:?} of SIGTERM (it is killed now)", self.name)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A command running `program` without the caller's Liaison, OpenTelemetry or log configuration.
pub(crate) fn clean_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if let Some(name) = key.to_str()
            && (name.starts_with("LIAISON_")
                || name.starts_with("OTEL_")
                || name == "DATABASE_URL"
                || name == "RUST_LOG")
        {
            command.env_remove(&key);
        }
    }
    command
}

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

/// A port that was free on 127.0.0.1 a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr().context("local address of a bound listener")?.port())
}

/// A port such that it and the next three were free on 127.0.0.1 a moment ago (the all-in-one's four).
pub(crate) fn free_base_port() -> anyhow::Result<u16> {
    for _ in 0..200 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
        let base = first.local_addr().context("local address of a bound listener")?.port();
        if base > 65532 {
            continue;
        }
        let rest: Result<Vec<_>, _> = (1..4).map(|i| std::net::TcpListener::bind(("127.0.0.1", base + i))).collect();
        if rest.is_ok() {
            return Ok(base);
        }
    }
    bail!("found no four consecutive free ports on 127.0.0.1")
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
