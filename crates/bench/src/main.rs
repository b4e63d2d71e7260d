//! `liaison-bench`: drives the real Liaison services over gRPC and measures them against ceilings measured in the
//! same run (an echo server on the same stack, the database's own rates), then prints and saves the results and
//! judges the performance goals. See `--help`, and `crates/bench/h2load.sh` for the cross-check from outside.
//!
//! - `cli`: flags and their defaults; `run`: one whole run; `cluster` and `procs`: the servers under test;
//! - `load`: the load driver; `scenarios`: what each scenario sends; `abuse`: the memory-under-abuse phase; `calendar`: the seeded team and year of
//!   meetings that the scheduling scenarios ask about; `register`: the generated people the contact reads run on,
//!   imported with ImportContacts, and the database's own rate for them; `ceilings` and `echo`: what they are
//!   divided by; `hiccup`: the machine's own stalls beside the latency drives; `ingest`: reporting's catching up;
//!   `reports`: reporting's read model built at scale and its reports timed; `scale`: the contact reads on
//!   registers of growing size; `report` and `goals`: the results; `tools`: h2load helpers; `soak`: the soak run
//!   (`--soak`), a steady mixed load for minutes, judged on whether memory and latency stay flat.
mod abuse;
mod calendar;
mod ceilings;
mod cli;
mod cluster;
mod echo;
mod goals;
mod hiccup;
mod ingest;
mod load;
mod procs;
mod register;
mod report;
mod reports;
mod run;
mod scale;
mod scenarios;
mod soak;
mod tools;

/// mimalloc instead of the system allocator: request handling allocates many small, short-lived objects, and
/// glibc's malloc/free were ~15% of a service's CPU under load (perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("liaison-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match &cli.command {
            Some(Command::EchoServer(args)) => echo::run_server(args.listen).await.map(|()| ExitCode::SUCCESS),
            Some(Command::Seed(args)) => tools::seed(args).await.map(|()| ExitCode::SUCCESS),
            Some(Command::EncodeGetContact(args)) => tools::encode_get_contact(args).map(|()| ExitCode::SUCCESS),
            Some(Command::Drive(args)) => tools::drive(args).await.map(|()| ExitCode::SUCCESS),
            None => bench(&cli.run).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("liaison-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The run: results saved as JSON and Markdown, the Markdown printed; fails if a scenario did not work at all.
async fn bench(args: &cli::RunArgs) -> anyhow::Result<ExitCode> {
    let settings = args.resolve(std::env::current_exe().ok())?;
    if let Some(soak) = settings.soak {
        return soak_run(&settings, soak).await;
    }
    // On Ctrl-C or SIGTERM the run is dropped, which kills the servers it started.
    let report = tokio::select! {
        report = run::run(&settings) => report?,
        () = liaison_runtime::net::shutdown::signal() => anyhow::bail!("interrupted; the servers under test were stopped"),
    };
    let markdown = report::markdown(&report);
    save(&settings.json, &serde_json::to_string_pretty(&report).context("cannot serialise the results")?)?;
    save(&settings.markdown, &markdown)?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{markdown}").context("cannot write to stdout")?;
    }
    eprintln!("liaison-bench: results in {} and {}", settings.json.display(), settings.markdown.display());
    let broken = run::broken_scenarios(&report);
    if broken.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for line in &broken {
            eprintln!("liaison-bench: {line}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// The soak run: its Markdown printed and saved as `soak.md`, its JSON as `soak.json`, next to `--markdown` and
/// `--json`; fails only if an engine had no successful call (missed goals are reported, not failed).
async fn soak_run(settings: &cli::RunSettings, soak: soak::Soak) -> anyhow::Result<ExitCode> {
    let report = tokio::select! {
        report = soak::run(settings, soak) => report?,
        () = liaison_runtime::net::shutdown::signal() => anyhow::bail!("interrupted; the servers under test were stopped"),
    };
    let markdown = soak::markdown(&report);
    let (json_path, markdown_path) =
        (settings.json.with_file_name("soak.json"), settings.markdown.with_file_name("soak.md"));
    save(&json_path, &serde_json::to_string_pretty(&report).context("cannot serialise the results")?)?;
    save(&markdown_path, &markdown)?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{markdown}").context("cannot write to stdout")?;
    }
    eprintln!("liaison-bench: soak results in {} and {}", json_path.display(), markdown_path.display());
    let broken = soak::broken(&report);
    for line in &broken {
        eprintln!("liaison-bench: {line}");
    }
    Ok(if broken.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn save(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
