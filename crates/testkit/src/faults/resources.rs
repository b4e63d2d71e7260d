//! What a service process holds, as a test sees it from outside, so that it can check the process gives back what
//! a fault made it take: open file descriptors (`/proc/<pid>/fd`), threads (`/proc/<pid>/task`), resident memory
//! (`VmRSS` of `/proc/<pid>/status`), and from the process's Prometheus `/metrics` (`LIAISON_METRICS_ADDR`) its live
//! Tokio tasks (`liaison_runtime_alive_tasks`) and database pool connections (`liaison_db_pool_connections`).
//!
//! `/metrics` is read with a bare HTTP/1.0 GET over a [`tokio::net::TcpStream`]: the exporter closes the
//! connection after its answer, so the scrape leaves nothing open behind it.
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub fds: usize,
    pub threads: usize,
    pub rss_kib: u64,
    /// `liaison_runtime_alive_tasks`.
    pub tasks: u64,
    /// `liaison_db_pool_connections`, idle and in use.
    pub pool: u64,
}

impl Usage {
    /// Reads process `pid` and scrapes its `/metrics` on 127.0.0.1:`metrics_port`.
    pub async fn read(pid: u32, metrics_port: u16) -> Result<Self, String> {
        let metrics = scrape(metrics_port).await?;
        let tasks = metric(&metrics, "liaison_runtime_alive_tasks")
            .ok_or_else(|| format!("no liaison_runtime_alive_tasks on port {metrics_port}"))?;
        Ok(Self {
            fds: entries(&format!("/proc/{pid}/fd"))?,
            threads: entries(&format!("/proc/{pid}/task"))?,
            rss_kib: rss_kib(pid)?,
            tasks: tasks as u64,
            pool: metric(&metrics, "liaison_db_pool_connections").unwrap_or_default() as u64,
        })
    }
}

/// How many entries directory `path` has.
fn entries(path: &str) -> Result<usize, String> {
    std::fs::read_dir(path).map(Iterator::count).map_err(|e| format!("cannot list {path}: {e}"))
}

/// `VmRSS` of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// The body of `GET /metrics` on 127.0.0.1:`port`.
pub async fn scrape(port: u16) -> Result<String, String> {
    let get = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(SCRAPE_TIMEOUT, get)
        .await
        .map_err(|_| format!("/metrics on port {port}: no answer within {SCRAPE_TIMEOUT:?}"))?
        .map_err(|e| format!("/metrics on port {port}: {e}"))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    if !head.starts_with("HTTP/1.") || head.split_whitespace().nth(1) != Some("200") {
        return Err(format!("/metrics on port {port} answered {:?}", head.lines().next().unwrap_or_default()));
    }
    Ok(body.to_owned())
}

/// The sum of every series of metric `name` in a Prometheus text exposition (`None`: no series of it).
pub fn metric(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            // `name{labels} value` or `name value`, not another metric whose name starts with this one.
            let value = match rest.chars().next()? {
                '{' => rest.rsplit_once('}')?.1,
                ' ' => rest,
                _ => return None,
            };
            value.split_whitespace().next()?.parse().ok()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::metric;

    #[test]
    fn a_metric_is_summed_over_its_series_and_not_confused_with_a_longer_name() {
        let text = "# TYPE a gauge\na 3\na_total{x=\"1\"} 5\nb{s=\"q}\"} 1\nb{s=\"r\"} 2.5\n";
        assert_eq!(metric(text, "a"), Some(3.0));
        assert_eq!(metric(text, "a_total"), Some(5.0));
        assert_eq!(metric(text, "b"), Some(3.5));
        assert_eq!(metric(text, "c"), None);
    }
}
