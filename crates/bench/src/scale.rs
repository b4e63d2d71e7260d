//! Contacts at scale (issue 22, `--scale`): for each size, smallest first, a fresh system under test (the
//! all-in-one on new SQLite files; four `liaison serve` processes on new PostgreSQL databases), its register of that
//! many people seeded through the API ([`crate::register::prepare`]: ImportContacts, reporting caught up, ANALYZE,
//! the import's ceiling), then each contact read that `--only` lets run ([`Scenario::CONTACT_READS`]) driven once,
//! as a round drives it (closed loop, `--duration` after `--warmup`, `--concurrency` calls in flight).
//!
//! Per size: each read's calls/s and p99, the import's rate and its ceiling, and the contacts service's peak
//! resident memory (VmHWM over the seeding and the reads; on SQLite the all-in-one's, the one process that holds all
//! four services). Across sizes ([`growth`]): how much each read's cost (1 ÷ calls/s) and its p99 grew from the
//! smallest register to the largest; a read whose cost grows with the data factor scans the register.
use crate::cli::{Engine, RunSettings};
use crate::cluster::{Cluster, Postgres};
use crate::load::{self, Connections, Drive, Pace};
use crate::register::{self, Seeded};
use crate::report::{Measured, ProcessMemory, fmt_mib, fmt_ms, fmt_rate, fmt_ratio};
use crate::scenarios::{self, Fixture, Scenario};
use anyhow::Context;
use liaison_runtime::config::ServiceKind;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// One size: its register and the reads measured on it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ContactScale {
    /// People in the register.
    pub(crate) contacts: u64,
    pub(crate) seeded: Seeded,
    /// Each read, driven once.
    pub(crate) scenarios: Vec<Measured>,
    /// The contacts service's process and its VmHWM over the seeding and the reads.
    pub(crate) contacts_peak_rss: ProcessMemory,
    /// Whether that process is the all-in-one (all four services in it).
    pub(crate) all_in_one: bool,
}

/// How one read grew from the smallest register to the largest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Growth {
    pub(crate) scenario: String,
    pub(crate) from: u64,
    pub(crate) to: u64,
    /// `to / from`.
    pub(crate) data_factor: f64,
    pub(crate) per_s_from: f64,
    pub(crate) per_s_to: f64,
    /// The cost of a call (1 ÷ calls/s) at `to` over at `from`: `per_s_from / per_s_to`.
    pub(crate) cost_factor: Option<f64>,
    pub(crate) p99_from_ms: f64,
    pub(crate) p99_to_ms: f64,
    /// `p99_to_ms / p99_from_ms`.
    pub(crate) p99_factor: Option<f64>,
}

/// The contacts-at-scale figures of an engine.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ContactsAtScale {
    pub(crate) sizes: Vec<ContactScale>,
    pub(crate) growth: Vec<Growth>,
}

/// Every size of `--scale` on `engine`, each on a fresh system in `dir/scale-<size>` (PostgreSQL databases
/// `liaison_bench_<tag>_s<size>_*`); `None` when no size or no contact read is asked for.
pub(crate) async fn run(
    settings: &RunSettings,
    engine: Engine,
    postgres: &Postgres,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<Option<ContactsAtScale>> {
    let reads: Vec<Scenario> = Scenario::CONTACT_READS.into_iter().filter(|s| settings.runs_scenario(*s)).collect();
    if settings.scale.is_empty() {
        return Ok(None);
    }
    if reads.is_empty() {
        eprintln!("liaison-bench: {} — --scale: no contact read is among --only; skipped", engine.name());
        return Ok(None);
    }
    let mut sizes = Vec::with_capacity(settings.scale.len());
    for &size in &settings.scale {
        let dir = dir.join(format!("scale-{size}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        eprintln!(
            "liaison-bench: {} — contacts at scale: {} people, on a fresh system",
            engine.name(),
            fmt_rate(size as f64)
        );
        let prefix = format!("liaison_bench_{tag}_s{size}");
        let mut cluster = match engine {
            Engine::Sqlite => Cluster::start_sqlite(&settings.liaison_bin, &dir).await?,
            Engine::Postgres => Cluster::start_postgres(&settings.liaison_bin, &dir, postgres, &prefix).await?,
        };
        let measured = measure(settings, &mut cluster, postgres, &dir, &prefix, size, &reads, tag).await;
        let stopped = cluster.stop().await;
        let scale = measured?;
        stopped.with_context(|| format!("stopping the {} system of {size} people", engine.name()))?;
        // The next size's files need the room more than this one's (a million people are a GiB or two).
        let data = dir.join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data).with_context(|| format!("cannot remove {}", data.display()))?;
        }
        sizes.push(scale);
    }
    let growth = growth(&sizes);
    Ok(Some(ContactsAtScale { sizes, growth }))
}

/// One size: the register seeded on `cluster`, then each of `reads` driven once.
#[allow(clippy::too_many_arguments)]
async fn measure(
    settings: &RunSettings,
    cluster: &mut Cluster,
    postgres: &Postgres,
    dir: &Path,
    prefix: &str,
    size: u64,
    reads: &[Scenario],
    tag: &str,
) -> anyhow::Result<ContactScale> {
    let engine = cluster.engine;
    let label = format!("{} at {} people", engine.name(), fmt_rate(size as f64));
    let contacts = Connections::open(&cluster.url(ServiceKind::Contacts), settings.load.connections).await?;
    let databases = (format!("{prefix}_{}", ServiceKind::Contacts.name()), format!("{prefix}_import"));
    let register =
        register::prepare(cluster, &contacts, postgres, dir, (&databases.0, &databases.1), size as usize, &label)
            .await?;
    let page_tokens = if reads.contains(&Scenario::ListContacts) {
        scenarios::page_tokens(&contacts.get(0)).await?
    } else {
        vec![String::new()]
    };
    let names = Arc::new(register.names);
    let fixture = Fixture {
        names: names.clone(),
        read_names: names,
        queries: Arc::new(register.queries),
        page_tokens: Arc::new(page_tokens),
        tag: format!("{tag}-s{size}").into(),
        workers: settings.load.concurrency,
        round: 0,
        bearer: None,
        calendar: None,
        cases: None,
    };
    let processes: Vec<String> = cluster.processes().into_iter().map(|(name, _)| name).collect();
    let mut measured = Vec::with_capacity(reads.len());
    for &scenario in reads {
        let workload = scenarios::workload(scenario, &fixture, &contacts)
            .with_context(|| format!("{} has no workload", scenario.name()))?;
        let outcome = load::run(workload, Drive { load: settings.load, pace: Pace::Closed }, &cluster.pids()).await?;
        cluster.check_alive()?;
        let result = Measured::new(scenario.name(), &outcome, Pace::Closed, &processes);
        eprintln!(
            "liaison-bench: {label} — {}: {} calls/s, {} items/s, p50 {} ms, p99 {} ms, errors {}",
            result.name,
            fmt_rate(result.per_s),
            fmt_rate(result.items_per_s),
            fmt_ms(result.latency.p50_ms),
            fmt_ms(result.latency.p99_ms),
            result.error_count()
        );
        measured.push(result);
    }
    let (process, pid) = cluster
        .processes()
        .into_iter()
        .find(|(name, _)| name == ServiceKind::Contacts.name())
        .or_else(|| cluster.processes().into_iter().next())
        .context("the system under test has no process")?;
    let contacts_peak_rss = ProcessMemory { process, rss_kib: crate::procs::memory(pid)?.hwm_kib };
    eprintln!(
        "liaison-bench: {label} — peak RSS of {} over the seeding and the reads: {}{}",
        contacts_peak_rss.process,
        fmt_mib(contacts_peak_rss.rss_kib),
        if engine == Engine::Sqlite { " (the all-in-one: all four services in one process)" } else { "" }
    );
    Ok(ContactScale {
        contacts: size,
        seeded: register.seeded,
        scenarios: measured,
        contacts_peak_rss,
        all_in_one: engine == Engine::Sqlite,
    })
}

/// Each read's growth from the smallest size that measured it to the largest; none with fewer than two sizes.
pub(crate) fn growth(sizes: &[ContactScale]) -> Vec<Growth> {
    let mut out = Vec::new();
    let Some(first) = sizes.first() else { return out };
    for scenario in &first.scenarios {
        let at = |scale: &ContactScale| scale.scenarios.iter().find(|m| m.name == scenario.name && m.ok > 0).cloned();
        let measured: Vec<(u64, Measured)> = sizes.iter().filter_map(|s| Some((s.contacts, at(s)?))).collect();
        let (Some((from, small)), Some((to, large))) = (measured.first(), measured.last()) else { continue };
        if to <= from {
            continue;
        }
        out.push(Growth {
            scenario: scenario.name.clone(),
            from: *from,
            to: *to,
            data_factor: *to as f64 / *from as f64,
            per_s_from: small.per_s,
            per_s_to: large.per_s,
            cost_factor: crate::report::ratio(small.per_s, large.per_s),
            p99_from_ms: small.latency.p99_ms,
            p99_to_ms: large.latency.p99_ms,
            p99_factor: crate::report::ratio(large.latency.p99_ms, small.latency.p99_ms),
        });
    }
    out
}

/// The contacts-at-scale tables: the seeding per size, then each read's calls/s and p99 per size and its growth.
pub(crate) fn markdown(at_scale: &ContactsAtScale) -> String {
    let mut out = String::new();
    let sizes = &at_scale.sizes;
    let Some(first) = sizes.first() else { return out };
    let memory = if first.all_in_one {
        "the all-in-one's peak RSS (VmHWM) over the seeding and the reads: on SQLite one process holds all four \
         services, so this is theirs together"
    } else {
        "the contacts service's peak RSS (VmHWM) over the seeding and the reads"
    };
    let _ = writeln!(
        out,
        "Each size on a fresh system: the register imported with ImportContacts, reporting left to catch up, the \
         database's own insert of the same rows, then each contact read driven once. Memory: {memory}.\n"
    );
    out.push_str(
        "| people | ImportContacts records/s | seeded in | db multi-row insert rows/s | import ÷ it | peak RSS |\n\
         |--:|--:|--:|--:|--:|---|\n",
    );
    for scale in sizes {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} s | {} | {} | {} {} |",
            fmt_rate(scale.contacts as f64),
            fmt_rate(scale.seeded.import_per_s),
            scale.seeded.seconds,
            scale.seeded.ceiling.as_ref().map_or_else(|| "–".to_owned(), |c| fmt_rate(c.rows_per_s)),
            fmt_ratio(scale.seeded.ratio),
            scale.contacts_peak_rss.process,
            fmt_mib(scale.contacts_peak_rss.rss_kib),
        );
    }
    let (Some(smallest), Some(largest)) = (sizes.first(), sizes.last()) else { return out };
    out.push_str("\n| scenario |");
    for scale in sizes {
        let _ = write!(out, " {}: calls/s | p99 ms |", fmt_rate(scale.contacts as f64));
    }
    let _ = writeln!(
        out,
        " cost (1 ÷ calls/s) × from {} to {} | p99 × |",
        fmt_rate(smallest.contacts as f64),
        fmt_rate(largest.contacts as f64)
    );
    out.push_str(&format!("|---|{}--:|--:|\n", "--:|--:|".repeat(sizes.len())));
    for scenario in &first.scenarios {
        let _ = write!(out, "| {} |", scenario.name);
        for scale in sizes {
            match scale.scenarios.iter().find(|m| m.name == scenario.name) {
                Some(m) if m.ok > 0 => {
                    let _ = write!(out, " {} | {} |", fmt_rate(m.per_s), fmt_ms(m.latency.p99_ms));
                }
                _ => out.push_str(" – | – |"),
            }
        }
        match at_scale.growth.iter().find(|g| g.scenario == scenario.name) {
            Some(g) => {
                let _ = writeln!(out, " {} | {} |", fmt_ratio(g.cost_factor), fmt_ratio(g.p99_factor));
            }
            None => out.push_str(" – | – |\n"),
        }
    }
    if smallest.contacts < largest.contacts {
        let _ = writeln!(
            out,
            "\nThe register grew ×{:.0}: a read whose cost grows as much reads the whole register.",
            largest.contacts as f64 / smallest.contacts as f64
        );
    }
    let mut errors = Vec::new();
    for scale in sizes {
        for m in scale.scenarios.iter().filter(|m| !m.errors.is_empty()) {
            let codes: Vec<String> = m.errors.iter().map(|(code, n)| format!("{code} {n}")).collect();
            errors.push(format!("at {} people, {}: {}", fmt_rate(scale.contacts as f64), m.name, codes.join(", ")));
        }
    }
    if !errors.is_empty() {
        let _ = writeln!(out, "\n> Errors: {}.", errors.join("; "));
    }
    if sizes.iter().flat_map(|s| &s.scenarios).any(|m| m.errors.contains_key("RESOURCE_EXHAUSTED")) {
        out.push_str(
            "\n> RESOURCE_EXHAUSTED is a server refusing load (docs/limits.md): its per-caller rate limit of 20 000 \
             calls/s (the bench is one caller), or search's turns among the expensive reads. A row with refusals \
             measured the refusals as much as its cost, and so did its growth.\n",
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::tests::measured;

    /// A size with GetContact and SearchContacts at the given rates.
    pub(crate) fn size(contacts: u64, get_per_s: f64, search_per_s: f64) -> ContactScale {
        let mut search = measured("SearchContacts", search_per_s, search_per_s * 10.0, None);
        search.latency.p99_ms = 100_000.0 / search_per_s;
        ContactScale {
            contacts,
            seeded: crate::register::tests::seeded(contacts, 8_000.0, Some(40_000.0)),
            scenarios: vec![measured("GetContact", get_per_s, get_per_s, None), search],
            contacts_peak_rss: ProcessMemory { process: "all-in-one".into(), rss_kib: 100 * 1024 },
            all_in_one: true,
        }
    }

    #[test]
    fn growth_divides_the_cost_at_the_largest_size_by_the_cost_at_the_smallest() {
        let sizes = vec![size(10_000, 40_000.0, 500.0), size(100_000, 38_000.0, 60.0), size(1_000_000, 36_000.0, 5.0)];
        let growth = growth(&sizes);
        assert_eq!(growth.len(), 2);
        let search = growth.iter().find(|g| g.scenario == "SearchContacts").expect("search");
        assert_eq!((search.from, search.to, search.data_factor), (10_000, 1_000_000, 100.0));
        assert_eq!(search.cost_factor, Some(100.0));
        assert!(search.p99_factor.is_some_and(|f| (f - 100.0).abs() < 1e-9));
        let get = growth.iter().find(|g| g.scenario == "GetContact").expect("get");
        assert!(get.cost_factor.is_some_and(|f| (f - 40_000.0 / 36_000.0).abs() < 1e-9));
        assert!(super::growth(&sizes[..1]).is_empty(), "one size, no growth");
    }

    #[test]
    fn the_tables_show_each_size_and_the_growth() {
        let mut large = size(20_000, 36_000.0, 50.0);
        large.scenarios[1].errors.insert("DEADLINE_EXCEEDED".into(), 12);
        let sizes = vec![size(2_000, 40_000.0, 500.0), large];
        let text = markdown(&ContactsAtScale { growth: growth(&sizes), sizes });
        assert!(text.contains("on SQLite one process holds all four services"), "{text}");
        assert!(text.contains("| 2 000 | 8 000 | 1.2 s | 40 000 | 0.20× | all-in-one 100.0 MiB |"), "{text}");
        assert!(text.contains("| scenario | 2 000: calls/s | p99 ms | 20 000: calls/s | p99 ms |"), "{text}");
        assert!(text.contains("| SearchContacts | 500 | 200.00 | 50 | 2000.00 | 10× | 10× |"), "{text}");
        assert!(text.contains("> Errors: at 20 000 people, SearchContacts: DEADLINE_EXCEEDED 12."), "{text}");
        assert!(!text.contains("RESOURCE_EXHAUSTED is"), "explained only when it happened: {text}");
    }
}
