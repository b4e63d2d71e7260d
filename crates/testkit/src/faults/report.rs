//! What every fault test reports and asserts, written once: the table of the issue (per fault: writes
//! acknowledged, writes found, duplicates, the longest window of unavailability, the slowest answer — and columns
//! of a test's own), the goals of the load (nothing lost, nothing duplicated, no etag backwards, nothing given up,
//! no answer later than its deadline + [`SLACK`], only expected codes), the services' logs searched, reporting's
//! dashboard compared with the truth, and the four-process cluster on a PostgreSQL of the test's own.
use crate::cluster::Cluster;
use crate::e2e::{self, DASHBOARD_TIMEOUT, SERVICES, strip_ansi};
use crate::faults::load::{ClientLog, Counts, LoadSettings, Verification, wait_for_dashboard};
use crate::faults::postgres::PostgresServer;
use crate::procs::Logs;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;

/// How late past its deadline an answer may come (the goal).
pub const SLACK: Duration = Duration::from_secs(1);

/// The codes a careful client may be told while a service or what it depends on fails: nothing that says "a fault
/// of ours" (INTERNAL, UNKNOWN) or "your request is wrong".
pub const ALLOWED: [Code; 5] = [Code::Ok, Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled, Code::Aborted];

/// The start of a fault's period: its name, when it began, and the figures of a test's own columns.
#[derive(Debug, Clone)]
pub struct Mark {
    pub fault: String,
    pub at: Instant,
    pub extra: Vec<String>,
}

impl Mark {
    pub fn new(fault: impl Into<String>, at: Instant) -> Self {
        Self { fault: fault.into(), at, extra: Vec::new() }
    }

    /// With one more column's figure.
    #[must_use]
    pub fn with(mut self, figure: impl Into<String>) -> Self {
        self.extra.push(figure.into());
        self
    }
}

/// `d` to two decimals, or `-`.
pub fn optional(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), duration)
}

/// `d` to two decimals in its own unit (`1.20s`, `31.76ms`), and none for nothing (`0`).
fn duration(d: Duration) -> String {
    if d.is_zero() { "0".to_owned() } else { format!("{d:.2?}") }
}

/// One line of the table: what happened from the start of a fault to the start of the next one.
#[derive(Debug, Clone)]
pub struct Row {
    pub fault: String,
    pub acknowledged: usize,
    pub found: usize,
    pub duplicates: usize,
    pub longest_window: Duration,
    pub slowest: Duration,
    pub extra: Vec<String>,
}

/// A row per period `[marks[i].at, marks[i + 1].at)` (the last one up to `end`), then the total with `total`'s
/// figures in the test's own columns.
pub fn rows(
    log: &ClientLog,
    verification: &Verification,
    marks: &[Mark],
    end: Instant,
    total: Vec<String>,
) -> Vec<Row> {
    let windows = log.windows();
    let first = marks.first().map_or(end, |mark| mark.at);
    let mut periods: Vec<(String, Instant, Instant, Vec<String>)> = marks
        .iter()
        .enumerate()
        .map(|(i, mark)| {
            (mark.fault.clone(), mark.at, marks.get(i + 1).map_or(end, |next| next.at), mark.extra.clone())
        })
        .collect();
    periods.push(("total".into(), first, end + Duration::from_secs(3600), total));
    periods
        .into_iter()
        .map(|(fault, from, until, extra)| {
            let during = |at: Instant| at >= from && at < until;
            let acks: Vec<usize> = (0..log.acks.len()).filter(|i| during(log.acks[*i].at)).collect();
            Row {
                fault,
                acknowledged: acks.len(),
                found: acks.iter().filter(|i| verification.found[**i]).count(),
                duplicates: acks
                    .iter()
                    .filter_map(|i| verification.duplicates.get(&log.acks[*i].request_id))
                    .map(|n| n - 1)
                    .sum(),
                // A window belongs to the fault it ended after (its first failure may be a call begun before).
                longest_window: windows.iter().filter(|w| during(w.end)).map(|w| w.length()).max().unwrap_or_default(),
                slowest: log.calls.iter().filter(|c| during(c.start)).map(|c| c.latency).max().unwrap_or_default(),
                extra,
            }
        })
        .collect()
}

/// The table as Markdown on stderr: the columns, then `extra` (the headers of the rows' own figures).
pub fn print_table(title: &str, extra: &[&str], rows: &[Row]) {
    let width = rows.iter().map(|row| row.fault.chars().count()).max().unwrap_or(0).max(5);
    let mut headers = vec!["acked", "found", "duplicates", "longest unavailable", "slowest"];
    headers.extend_from_slice(extra);
    let line = |fault: &str, cells: &[String]| {
        let cells: Vec<String> =
            cells.iter().zip(&headers).map(|(cell, header)| format!(" {cell:>w$} ", w = header.len())).collect();
        format!("| {fault:<width$} |{}|", cells.join("|"))
    };
    eprintln!("\n{title}");
    eprintln!("{}", line("fault", &headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()));
    let rule: Vec<String> = headers.iter().map(|h| format!("{}:", "-".repeat(h.len() + 1))).collect();
    eprintln!("|{}|{}|", "-".repeat(width + 2), rule.join("|"));
    for row in rows {
        let mut cells = vec![
            row.acknowledged.to_string(),
            row.found.to_string(),
            row.duplicates.to_string(),
            duration(row.longest_window),
            duration(row.slowest),
        ];
        cells.extend(row.extra.iter().cloned());
        cells.resize(headers.len(), String::new());
        eprintln!("{}", line(&row.fault, &cells));
    }
    eprintln!();
}

/// The lines of every log in `dir` that contain `needle`, each prefixed with its file's stem (the process).
pub fn logged(dir: &Path, needle: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return lines };
    let mut paths: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        lines.extend(strip_ansi(&text).lines().filter(|l| l.contains(needle)).map(|l| format!("{name}: {l}")));
    }
    lines
}

/// The INTERNAL answers the services gave (their `request failed` lines) — not the raw statuses of their own
/// calls that they log as those fail (a broken connection's INTERNAL "h2 protocol error", answered UNAVAILABLE).
pub fn answered_internal(dir: &Path) -> Vec<String> {
    logged(dir, "code=Internal").into_iter().filter(|line| line.contains("request failed")).collect()
}

/// The load's goals: no INTERNAL answered (by the logs in `logs`), nothing acknowledged lost or duplicated, no
/// resource that no acknowledged write made, no etag backwards, no write given up, no answer later than the
/// deadline + [`SLACK`], and every answer in `allowed` — but for calls whose connection broke under them, which
/// no server answered (the client library names those as it can) and which the clients retry.
pub fn assert_load_goals(
    logs: &Path,
    log: &ClientLog,
    verification: &Verification,
    settings: &LoadSettings,
    allowed: &[Code],
) {
    let internal = answered_internal(logs);
    assert!(internal.is_empty(), "the services answered INTERNAL:\n{}", internal.join("\n"));
    eprintln!("codes of every attempt: {:?}", log.codes());
    assert!(log.anomalies.is_empty(), "answers that broke the protocol: {:#?}", log.anomalies);
    assert!(log.gave_up.is_empty(), "writes never acknowledged within the retry budget: {:#?}", log.gave_up);
    assert!(!log.acks.is_empty(), "the load acknowledged nothing");
    assert!(verification.missing.is_empty(), "acknowledged writes lost: {:#?}", verification.missing);
    assert!(
        verification.duplicates.is_empty(),
        "request ids that made several resources: {:#?}",
        verification.duplicates
    );
    assert!(
        verification.unacknowledged.is_empty(),
        "resources that no acknowledged write made: {:#?}",
        verification.unacknowledged
    );
    assert!(
        verification.etag_regressions.is_empty(),
        "etags that went backwards: {:#?}",
        verification.etag_regressions
    );
    let late = log.late(settings.deadline, SLACK);
    assert!(late.is_empty(), "answers later than the deadline ({:?}) + {SLACK:?}: {late:#?}", settings.deadline);
    let lost = log.calls.iter().filter(|call| call.connection_lost).count();
    eprintln!("calls whose connection broke under them (retried): {lost}");
    let wrong: Vec<_> =
        log.calls.iter().filter(|call| !call.connection_lost && !allowed.contains(&call.code)).collect();
    assert!(wrong.is_empty(), "answers other than {allowed:?}: {wrong:#?}");
}

/// Reporting's dashboard (on `reporting`, called `name` in messages) must come to equal `truth` exactly — lower
/// would be a gap, higher a double count.
pub async fn assert_dashboard(name: &str, reporting: &Channel, truth: Counts) {
    match wait_for_dashboard(reporting, truth, DASHBOARD_TIMEOUT * 2).await {
        Ok(took) => eprintln!("{name}: the dashboard equals the clients' log {truth:?} (after {took:.2?})"),
        Err(last) => panic!(
            "{name}: the dashboard did not come to equal the clients' log within {:?}: it shows {last:?}, the log \
             says {truth:?} (a gap if lower, a double count if higher)",
            DASHBOARD_TIMEOUT * 2
        ),
    }
}

/// The test's own PostgreSQL with the four services' databases, the four services on it, and the directory of
/// their logs (a file per service, kept across its restarts). Dropped in reverse: the processes, the database,
/// then the logs (which a failing test's processes quote).
pub async fn own_cluster() -> (tempfile::TempDir, PostgresServer, Cluster) {
    let server = PostgresServer::new().await;
    let mut urls = Vec::new();
    for service in SERVICES {
        urls.push(server.create_database(service).await);
    }
    let urls: [String; 4] = match urls.try_into() {
        Ok(urls) => urls,
        Err(urls) => panic!("four databases, not {urls:?}"),
    };
    let logs = tempfile::tempdir().unwrap_or_else(|e| panic!("a directory for the logs: {e}"));
    let mut launcher = e2e::launcher();
    launcher.logs = Logs::Dir(logs.path().to_owned());
    let started = Instant::now();
    let cluster = Cluster::launch(&launcher, &urls).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("four-process cluster on {:?} ready in {:.2?}", cluster.ports, started.elapsed());
    (logs, server, cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_carry_their_own_columns_in_order() {
        let mark = Mark::new("kill -9 contacts", Instant::now()).with("1.20s").with("-");
        assert_eq!(mark.extra, ["1.20s", "-"]);
        assert_eq!(optional(None), "-");
        assert_eq!(optional(Some(Duration::from_millis(1500))), "1.50s");
        assert_eq!(optional(Some(Duration::ZERO)), "0");
    }
}
