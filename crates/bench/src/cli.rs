//! Command line: the full run (default), the `--quick` smoke run, and the helpers that the h2load cross-check
//! and the ceilings use (`echo-server`, `seed`, `encode-get-contact`, `drive`). Flags resolve into
//! [`RunSettings`], where `--quick` only changes the defaults that were not given.
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "liaison-bench",
    version,
    about = "Drives the real Liaison services over gRPC and measures them against their ceilings",
    long_about = "Starts the real `liaison` binary (the all-in-one on SQLite; four `liaison serve` processes on \
                  PostgreSQL), drives each scenario with many concurrent calls over a few HTTP/2 connections, and \
                  prints requests/s, latency percentiles, errors by code, memory, and each scenario's ratio to its \
                  ceiling (an echo server on the same stack; the database's own rate)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Serve the echo ceiling (used by the bench itself, as a child process).
    #[command(hide = true)]
    EchoServer(EchoServerArgs),
    /// Create contacts on a running contacts service and print their names, one a line.
    Seed(SeedArgs),
    /// Write a gRPC-framed GetContactRequest (5-byte prefix + protobuf) to stdout, for h2load's `-d`.
    EncodeGetContact(EncodeArgs),
    /// Drive GetContact of one contact on a running contacts service and print the figures.
    Drive(DriveArgs),
}

#[derive(Args, Debug)]
pub(crate) struct EchoServerArgs {
    /// Address to listen on; the bound address is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) listen: SocketAddr,
}

#[derive(Args, Debug)]
pub(crate) struct SeedArgs {
    /// URL of the contacts service, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    pub(crate) contacts_addr: String,
    /// How many contacts to create.
    #[arg(long, default_value_t = 1)]
    pub(crate) count: usize,
}

#[derive(Args, Debug)]
pub(crate) struct EncodeArgs {
    /// `contacts/{id}`.
    #[arg(long)]
    pub(crate) name: String,
}

#[derive(Args, Debug)]
pub(crate) struct DriveArgs {
    /// URL of the contacts service, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    pub(crate) contacts_addr: String,
    /// `contacts/{id}` to read.
    #[arg(long)]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

/// How hard and how long each scenario is driven.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct LoadArgs {
    /// Measured time per scenario, e.g. `10s`, `500ms` [default: 10s; --quick: 500ms].
    #[arg(long, value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,
    /// Unmeasured time before each scenario's measurement [default: 2s; --quick: 200ms].
    #[arg(long, value_parser = parse_duration)]
    pub(crate) warmup: Option<Duration>,
    /// HTTP/2 connections (tonic channels) per scenario [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) connections: Option<u32>,
    /// Requests in flight at once, spread over the connections [default: 64; --quick: 16].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) concurrency: Option<u32>,
}

#[derive(Args, Debug, Default)]
pub(crate) struct RunArgs {
    /// A seconds-long smoke run (tiny durations and data) that proves the tool works; its figures mean little.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Engines to run, comma-separated [default: sqlite, and postgres when --postgres-url answers].
    #[arg(long, value_delimiter = ',')]
    pub(crate) engines: Vec<Engine>,
    /// PostgreSQL server (any database; the bench creates and drops databases of its own there).
    #[arg(long, env = "LIAISON_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub(crate) postgres_url: String,
    /// The `liaison` binary [default: `liaison` next to this executable, i.e. target/release/liaison].
    #[arg(long)]
    pub(crate) liaison_bin: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    /// Contacts created with CreateContact before the scenarios: those the write scenarios update, meet and open
    /// cases between (and as many cases) [default: 2000; --quick: 200].
    #[arg(long)]
    pub(crate) seed_contacts: Option<usize>,
    /// People of the register the contact reads run on (GetContact, BatchGetContacts, ListContacts, the
    /// SearchContacts variants), generated and loaded with ImportContacts [default: 100000; --quick: 2000].
    #[arg(long)]
    pub(crate) contacts: Option<usize>,
    /// Sizes of the register for the contacts-at-scale figures, comma-separated (e.g. 10000,100000,1000000): each
    /// on a fresh system, seeded with ImportContacts, then the contact reads driven once [default: none].
    #[arg(long, value_delimiter = ',')]
    pub(crate) scale: Vec<u64>,
    /// Rounds of every scenario, each with its ceilings measured next to it; the goals take the median of the
    /// rounds, so that one noisy stretch of a shared machine does not decide them [default: 3; --quick: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) rounds: Option<u32>,
    /// Changes in the feeds when reporting's ingestion is timed [default: 30000; --quick: 1000].
    #[arg(long)]
    pub(crate) backlog: Option<usize>,
    /// Sizes of reporting's read model for its scale figures (`ReportScale`), in changes, comma-separated; each is
    /// built on a database of its own [default: 100000,1000000,5000000; --quick: 10000,100000].
    #[arg(long, value_delimiter = ',')]
    pub(crate) report_sizes: Vec<u64>,
    /// Run only these scenarios (comma-separated names as printed, e.g. GetContact,CreateContact).
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<String>,
    /// A soak run instead of the benchmark: a steady mixed load (reads, creates, etag updates, meetings, cases and
    /// their transitions) at --soak-rate for this long, sampling memory and latency every --soak-interval, then
    /// the slopes and whether both stayed flat [default when given without a value: 10m].
    #[arg(long, value_parser = parse_duration, num_args = 0..=1, default_missing_value = crate::soak::DEFAULT_DURATION)]
    pub(crate) soak: Option<Duration>,
    /// Calls per second of the soak run, all kinds together, in open loop (at most --concurrency in flight)
    /// [default: 200].
    #[arg(long)]
    pub(crate) soak_rate: Option<f64>,
    /// How often the soak run samples each server's RSS and the latency of the calls completed [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    pub(crate) soak_interval: Option<Duration>,
    /// Where to write the JSON results (a soak run writes `soak.json` in the same directory).
    #[arg(long, default_value = "target/liaison-bench/results.json")]
    pub(crate) json: PathBuf,
    /// Where to write the Markdown table (it is printed on stdout too; a soak run writes `soak.md` in the same
    /// directory).
    #[arg(long, default_value = "target/liaison-bench/results.md")]
    pub(crate) markdown: PathBuf,
}

/// A database engine and the topology the bench runs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Engine {
    /// The all-in-one `liaison` on SQLite files in a temporary directory.
    Sqlite,
    /// Four `liaison serve <service>` processes, each on a PostgreSQL database of its own.
    Postgres,
}

impl Engine {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Load settings with every default applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Load {
    #[serde(rename = "duration_ms", serialize_with = "crate::report::serialize_duration_ms")]
    pub(crate) duration: Duration,
    #[serde(rename = "warmup_ms", serialize_with = "crate::report::serialize_duration_ms")]
    pub(crate) warmup: Duration,
    pub(crate) connections: usize,
    pub(crate) concurrency: usize,
}

impl LoadArgs {
    pub(crate) fn resolve(&self, quick: bool) -> Load {
        Load {
            duration: self.duration.unwrap_or(if quick { Duration::from_millis(500) } else { Duration::from_secs(10) }),
            warmup: self.warmup.unwrap_or(if quick { Duration::from_millis(200) } else { Duration::from_secs(2) }),
            connections: self.connections.unwrap_or(4) as usize,
            concurrency: self.concurrency.unwrap_or(if quick { 16 } else { 64 }) as usize,
        }
    }
}

/// Everything a run needs, defaults applied.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct RunSettings {
    pub(crate) quick: bool,
    /// Engines asked for explicitly must work; otherwise PostgreSQL is tried and skipped if it does not answer.
    pub(crate) engines: Vec<Engine>,
    pub(crate) engines_explicit: bool,
    #[serde(skip)]
    pub(crate) postgres_url: String,
    pub(crate) liaison_bin: PathBuf,
    pub(crate) load: Load,
    pub(crate) seed_contacts: usize,
    /// People of the register the contact reads run on.
    pub(crate) contacts: usize,
    /// The registers of the contacts-at-scale figures, in people, smallest first; empty: none.
    pub(crate) scale: Vec<u64>,
    pub(crate) rounds: u32,
    pub(crate) backlog: usize,
    /// The read models reporting's scale figures are measured on, in changes, smallest first.
    pub(crate) report_sizes: Vec<u64>,
    pub(crate) only: Vec<String>,
    /// `--soak`: a soak run instead of the benchmark.
    pub(crate) soak: Option<crate::soak::Soak>,
    #[serde(skip)]
    pub(crate) json: PathBuf,
    #[serde(skip)]
    pub(crate) markdown: PathBuf,
}

impl RunArgs {
    /// Applies the defaults (`--quick` ones where it is set); `own_exe` locates the default `liaison` binary.
    pub(crate) fn resolve(&self, own_exe: Option<PathBuf>) -> anyhow::Result<RunSettings> {
        let liaison_bin = match (&self.liaison_bin, own_exe) {
            (Some(path), _) => path.clone(),
            (None, Some(exe)) => exe.with_file_name(format!("liaison{}", std::env::consts::EXE_SUFFIX)),
            (None, None) => bail!("cannot tell where this executable is; pass --liaison-bin"),
        };
        let mut engines = self.engines.clone();
        engines.sort();
        engines.dedup();
        let engines_explicit = !engines.is_empty();
        if !engines_explicit {
            engines = vec![Engine::Sqlite, Engine::Postgres];
        }
        let seed_contacts = self.seed_contacts.unwrap_or(if self.quick { 200 } else { 2000 });
        if seed_contacts < crate::scenarios::BATCH_SIZE {
            bail!(
                "--seed-contacts must be at least {} (BatchGetContacts asks for that many)",
                crate::scenarios::BATCH_SIZE
            );
        }
        let contacts = self.contacts.unwrap_or(if self.quick { 2_000 } else { 100_000 });
        if !(CONTACTS_MIN..=CONTACTS_MAX).contains(&contacts) {
            bail!("--contacts must be between {CONTACTS_MIN} (BatchGetContacts asks for 100) and {CONTACTS_MAX}");
        }
        let mut scale = self.scale.clone();
        if let Some(size) = scale.iter().find(|size| !(CONTACTS_MIN as u64..=CONTACTS_MAX as u64).contains(*size)) {
            bail!("--scale: {size} is not between {CONTACTS_MIN} and {CONTACTS_MAX} people");
        }
        scale.sort_unstable();
        scale.dedup();
        let scenarios = crate::scenarios::Scenario::ALL.map(crate::scenarios::Scenario::name);
        let known: Vec<&str> = scenarios.iter().copied().chain([crate::abuse::NAME, crate::reports::NAME]).collect();
        if let Some(unknown) = self.only.iter().find(|name| !known.contains(&name.as_str())) {
            bail!("--only: unknown scenario '{unknown}'; known: {}", known.join(", "));
        }
        let mut report_sizes = match self.report_sizes.as_slice() {
            [] if self.quick => vec![10_000, 100_000],
            [] => vec![100_000, 1_000_000, 5_000_000],
            sizes => sizes.to_vec(),
        };
        if let Some(size) = report_sizes.iter().find(|size| !(REPORT_SIZE_MIN..=REPORT_SIZE_MAX).contains(*size)) {
            bail!("--report-sizes: {size} is not between {REPORT_SIZE_MIN} and {REPORT_SIZE_MAX} changes");
        }
        report_sizes.sort_unstable();
        report_sizes.dedup();
        let soak = self.resolve_soak()?;
        Ok(RunSettings {
            quick: self.quick,
            engines,
            engines_explicit,
            postgres_url: self.postgres_url.clone(),
            liaison_bin,
            load: self.load.resolve(self.quick),
            seed_contacts,
            contacts,
            scale,
            rounds: self.rounds.unwrap_or(if self.quick { 1 } else { 3 }),
            backlog: self.backlog.unwrap_or(if self.quick { 1000 } else { 30_000 }),
            report_sizes,
            only: self.only.clone(),
            soak,
            json: self.json.clone(),
            markdown: self.markdown.clone(),
        })
    }
}

impl RunArgs {
    /// `--soak` with its rate and interval; its duration is cut to whole intervals.
    fn resolve_soak(&self) -> anyhow::Result<Option<crate::soak::Soak>> {
        use crate::soak::{DEFAULT_INTERVAL, DEFAULT_RATE, MIN_INTERVALS, Soak};
        let Some(duration) = self.soak else {
            if self.soak_rate.is_some() || self.soak_interval.is_some() {
                bail!("--soak-rate and --soak-interval go with --soak");
            }
            return Ok(None);
        };
        let rate = self.soak_rate.unwrap_or(DEFAULT_RATE);
        if !(rate.is_finite() && (0.1..=100_000.0).contains(&rate)) {
            bail!("--soak-rate must be between 0.1 and 100000 calls/s");
        }
        let interval = self.soak_interval.unwrap_or(DEFAULT_INTERVAL);
        if interval < Duration::from_millis(100) {
            bail!("--soak-interval must be at least 100ms");
        }
        let mut soak = Soak { duration, rate, interval };
        let intervals = soak.intervals();
        if intervals < MIN_INTERVALS {
            bail!(
                "--soak {:?} holds {intervals} intervals of {:?}; the goals need at least {MIN_INTERVALS} (warm-up, \
                 middle and last third)",
                duration,
                interval
            );
        }
        soak.duration = interval * u32::try_from(intervals).context("--soak: too many intervals")?;
        Ok(Some(soak))
    }
}

impl RunSettings {
    /// Whether `--only` lets this scenario run.
    pub(crate) fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }

    /// Whether `--only` lets `scenario` run: by its name, or by its family's (`SearchContacts` selects its variants).
    pub(crate) fn runs_scenario(&self, scenario: crate::scenarios::Scenario) -> bool {
        self.runs(scenario.name()) || self.runs(scenario.family().name())
    }
}

/// The smallest register: BatchGetContacts asks for 100 of its people.
const CONTACTS_MIN: usize = crate::scenarios::BATCH_SIZE;
/// The largest: 10 million people take the import an hour or more, and tens of GiB.
const CONTACTS_MAX: usize = 10_000_000;

/// The smallest read model of `--report-sizes`: fewer changes leave a quarter nearly empty.
const REPORT_SIZE_MIN: u64 = 1_000;
/// The largest: a read model of this many changes takes a database of tens of GiB.
const REPORT_SIZE_MAX: u64 = 50_000_000;

/// `1.5s`, `500ms`, `2m`, `250us`; a bare number is seconds.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().with_context(|| format!("'{text}' is not a duration such as 3s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" | "min" => value * 60.0,
        other => bail!("'{text}': unknown unit '{other}' (use us, ms, s or m)"),
    };
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        bail!("'{text}' is not a duration between 0 and a day");
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("liaison-bench").chain(args.iter().copied())).expect("valid arguments")
    }

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("3s").expect("3s"), Duration::from_secs(3));
        assert_eq!(parse_duration("500ms").expect("ms"), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5").expect("bare"), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").expect("m"), Duration::from_secs(120));
        assert_eq!(parse_duration("250us").expect("us"), Duration::from_micros(250));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn quick_changes_only_the_defaults_that_were_not_given() {
        let cli = parse(&["--quick", "--duration", "1s"]);
        let settings = cli.run.resolve(Some(PathBuf::from("/x/target/release/liaison-bench"))).expect("settings");
        assert!(settings.quick);
        assert_eq!(settings.load.duration, Duration::from_secs(1));
        assert_eq!(settings.load.warmup, Duration::from_millis(200));
        assert_eq!(settings.load.concurrency, 16);
        assert_eq!(settings.seed_contacts, 200);
        assert_eq!(settings.contacts, 2_000);
        assert!(settings.scale.is_empty(), "no scale run unless asked");
        assert_eq!(settings.backlog, 1000);
        assert_eq!(settings.rounds, 1);
        assert_eq!(settings.report_sizes, vec![10_000, 100_000]);
        assert_eq!(settings.liaison_bin, PathBuf::from("/x/target/release/liaison"));
    }

    #[test]
    fn the_full_run_has_its_own_defaults() {
        let settings = parse(&[]).run.resolve(Some(PathBuf::from("bench"))).expect("settings");
        assert!(!settings.quick);
        assert_eq!(settings.load.duration, Duration::from_secs(10));
        assert_eq!(settings.load.connections, 4);
        assert_eq!(settings.load.concurrency, 64);
        assert_eq!(settings.rounds, 3);
        assert_eq!(settings.report_sizes, vec![100_000, 1_000_000, 5_000_000]);
        assert_eq!(settings.contacts, 100_000);
        assert!(settings.scale.is_empty());
        assert_eq!(settings.engines, vec![Engine::Sqlite, Engine::Postgres]);
        assert!(!settings.engines_explicit);
    }

    #[test]
    fn engines_given_are_required_and_deduplicated() {
        let cli = parse(&["--engines", "postgres,sqlite,postgres", "--liaison-bin", "/bin/liaison"]);
        let settings = cli.run.resolve(None).expect("settings");
        assert_eq!(settings.engines, vec![Engine::Sqlite, Engine::Postgres]);
        assert!(settings.engines_explicit);
        assert_eq!(settings.liaison_bin, PathBuf::from("/bin/liaison"));
    }

    #[test]
    fn unknown_scenarios_and_tiny_seeds_are_refused() {
        let unknown = parse(&["--only", "GetContact,Nope"]).run.resolve(Some("b".into()));
        assert!(unknown.expect_err("unknown").to_string().contains("Nope"));
        let tiny = parse(&["--seed-contacts", "10"]).run.resolve(Some("b".into()));
        assert!(tiny.expect_err("too few").to_string().contains("--seed-contacts"));
        let settings = parse(&["--only", "GetContact"]).run.resolve(Some("b".into())).expect("settings");
        assert!(settings.runs("GetContact") && !settings.runs("CreateContact"));
    }

    #[test]
    fn report_sizes_are_sorted_deduplicated_and_bounded() {
        let settings = parse(&["--quick", "--report-sizes", "50000,2000,50000"]).run.resolve(Some("b".into()));
        assert_eq!(settings.expect("settings").report_sizes, vec![2_000, 50_000], "given sizes win over --quick's");
        let tiny = parse(&["--report-sizes", "10"]).run.resolve(Some("b".into()));
        assert!(tiny.expect_err("too small").to_string().contains("--report-sizes"));
        assert!(Cli::try_parse_from(["liaison-bench", "--report-sizes", "1e6"]).is_err(), "whole numbers only");
        let only = parse(&["--only", "ReportScale"]).run.resolve(Some("b".into())).expect("a known phase");
        assert!(only.runs(crate::reports::NAME) && !only.runs("GetContact"));
    }

    #[test]
    fn the_register_and_its_scale_sizes_are_bounded_and_sorted() {
        let settings =
            parse(&["--quick", "--contacts", "20000", "--scale", "20000,2000,20000"]).run.resolve(Some("b".into()));
        let settings = settings.expect("settings");
        assert_eq!((settings.contacts, settings.scale), (20_000, vec![2_000, 20_000]));
        let tiny = parse(&["--contacts", "10"]).run.resolve(Some("b".into()));
        assert!(tiny.expect_err("too few").to_string().contains("--contacts"));
        let tiny = parse(&["--scale", "1000,50"]).run.resolve(Some("b".into()));
        assert!(tiny.expect_err("too few").to_string().contains("--scale: 50"));
        let search = parse(&["--only", "SearchContacts"]).run.resolve(Some("b".into())).expect("settings");
        use crate::scenarios::Scenario;
        assert!(
            search.runs_scenario(Scenario::SearchContactsTypo) && search.runs_scenario(Scenario::SearchContacts2Words)
        );
        assert!(!search.runs_scenario(Scenario::GetContact));
        let typo = parse(&["--only", "SearchContactsTypo"]).run.resolve(Some("b".into())).expect("settings");
        assert!(typo.runs_scenario(Scenario::SearchContactsTypo) && !typo.runs_scenario(Scenario::SearchContacts));
    }

    #[test]
    fn a_soak_takes_an_optional_duration_cut_to_whole_intervals() {
        let settings = parse(&["--soak", "--engines", "sqlite"]).run.resolve(Some("b".into())).expect("settings");
        let soak = settings.soak.expect("a soak");
        assert_eq!(soak.duration, Duration::from_secs(600), "10 minutes without a value");
        assert_eq!((soak.rate, soak.interval), (200.0, Duration::from_secs(10)));
        assert_eq!(settings.engines, vec![Engine::Sqlite]);
        let soak =
            parse(&["--soak", "65s", "--soak-rate", "50", "--soak-interval", "5s"]).run.resolve(Some("b".into()));
        let soak = soak.expect("settings").soak.expect("a soak");
        assert_eq!((soak.duration, soak.rate, soak.interval), (Duration::from_secs(65), 50.0, Duration::from_secs(5)));
        let cut = parse(&["--soak", "65s"]).run.resolve(Some("b".into())).expect("settings").soak.expect("soak");
        assert_eq!(cut.duration, Duration::from_secs(60), "whole intervals only");
        assert!(parse(&[]).run.resolve(Some("b".into())).expect("settings").soak.is_none());
        let short = parse(&["--soak", "20s"]).run.resolve(Some("b".into()));
        assert!(short.expect_err("two intervals").to_string().contains("at least 3"));
        let alone = parse(&["--soak-rate", "10"]).run.resolve(Some("b".into()));
        assert!(alone.expect_err("no soak").to_string().contains("go with --soak"));
        let zero = parse(&["--soak", "--soak-rate", "0"]).run.resolve(Some("b".into()));
        assert!(zero.expect_err("no rate").to_string().contains("--soak-rate"));
    }

    #[test]
    fn subcommands_parse() {
        let cli = parse(&["encode-get-contact", "--name", "contacts/x"]);
        assert!(
            matches!(cli.command, Some(Command::EncodeGetContact(EncodeArgs { ref name })) if name == "contacts/x")
        );
        let cli =
            parse(&["drive", "--contacts-addr", "http://127.0.0.1:1", "--name", "contacts/x", "--duration", "2s"]);
        let Some(Command::Drive(drive)) = cli.command else { panic!("drive") };
        assert_eq!(drive.load.resolve(false).duration, Duration::from_secs(2));
        assert!(Cli::try_parse_from(["liaison-bench", "--connections", "0"]).is_err());
        assert!(Cli::try_parse_from(["liaison-bench", "--rounds", "0"]).is_err());
    }
}
