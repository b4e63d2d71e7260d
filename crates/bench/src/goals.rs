//! The performance goals of issue 6, evaluated on a run's figures. Most are ratios measured in the same round
//! (a scenario against its ceiling or against another scenario), so they hold on any machine; the memory, start
//! and ingestion goals are absolute. A goal measured once per round (or per ingestion run) is judged on the
//! median of its samples, and every sample is reported with it.
use crate::cli::Engine;
use crate::report::{EngineReport, Measured, Round};
use crate::scenarios::Scenario;
use serde::Serialize;

/// Whether a goal was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Met,
    Missed,
    /// The run did not measure it (scenario skipped, or it had no successful call).
    NotMeasured,
    /// A figure reported beside the goals, with no target.
    Reported,
}

/// One goal on one engine.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GoalResult {
    pub(crate) goal: &'static str,
    pub(crate) engine: Option<Engine>,
    pub(crate) target: String,
    pub(crate) measured: Option<String>,
    /// The median of `samples`.
    pub(crate) value: Option<f64>,
    /// One figure per round (or per ingestion run); one for a goal of the whole engine.
    pub(crate) samples: Vec<f64>,
    /// For an absolute goal that the machine itself bounds: the same figure of the echo ceiling driven the same
    /// way in the same rounds (context for the result, not part of the judgement).
    pub(crate) floor_samples: Vec<f64>,
    /// For a latency goal: the longest stall of the whole machine (every core at once) in each round's window, in
    /// ms; a p99 near it is the machine's (context, not part of the judgement).
    pub(crate) stall_samples: Vec<f64>,
    pub(crate) status: Status,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    AtLeast(f64),
    Below(f64),
    /// No target: the figure is reported.
    None,
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Ratio,
    Ms,
    MiB,
    PerSecond,
}

impl Unit {
    fn show(self, value: f64) -> String {
        match self {
            Self::Ratio => format!("{value:.2}×"),
            Self::Ms => format!("{value:.2} ms"),
            Self::MiB => format!("{value:.1} MiB"),
            Self::PerSecond => format!("{}/s", crate::report::fmt_rate(value)),
        }
    }
}

struct Goal {
    goal: &'static str,
    engines: &'static [Engine],
    target: Target,
    unit: Unit,
    /// The goal's figure in each round (or run) that measured it.
    measure: fn(&EngineReport) -> Vec<f64>,
    /// The echo ceiling's figure in each round, where the goal is absolute but the machine bounds it.
    floor: Option<fn(&EngineReport) -> Vec<f64>>,
    /// For a latency goal: the longest stretch of each round's window in which the whole machine stood still.
    stalls: Option<fn(&EngineReport) -> Vec<f64>>,
    /// Why the measured call did not answer, when it ran and failed: the goal is missed, not unmeasured.
    failure: Option<fn(&EngineReport) -> Option<String>>,
}

const BOTH: &[Engine] = &[Engine::Sqlite, Engine::Postgres];

/// The scenario `scenario` of `round` if it had successful calls.
fn ran(round: &Round, scenario: Scenario) -> Option<&Measured> {
    round.scenario(scenario.name()).filter(|m| m.ok > 0)
}

/// `figure` of each round that has it.
fn per_round(engine: &EngineReport, figure: impl Fn(&Round) -> Option<f64>) -> Vec<f64> {
    engine.rounds.iter().filter_map(figure).filter(|v| v.is_finite()).collect()
}

/// One figure of the whole engine.
fn once(value: Option<f64>) -> Vec<f64> {
    value.into_iter().filter(|v| v.is_finite()).collect()
}

/// The middle sample (the mean of the two middle ones for an even count).
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// `scenario`'s calls/s divided by `base`'s in each round that ran both.
fn rate_ratio(engine: &EngineReport, scenario: Scenario, base: Scenario) -> Vec<f64> {
    per_round(engine, |r| crate::report::ratio(ran(r, scenario)?.per_s, ran(r, base)?.per_s))
}

/// `figure` of the read model the scale goals are judged on ([`crate::reports::GOAL_SIZE`] changes), when it ran.
fn scale_figure(engine: &EngineReport, figure: impl Fn(&crate::reports::ReportScale) -> Option<f64>) -> Vec<f64> {
    once(crate::reports::at_goal_size(&engine.reports).and_then(figure))
}

/// The first error of `rpc` at the size the scale goals are judged on.
fn scale_failure(engine: &EngineReport, rpc: &str) -> Option<String> {
    crate::reports::at_goal_size(&engine.reports)?.errors.iter().find(|e| e.starts_with(rpc)).cloned()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

const GOALS: &[Goal] = &[
    Goal {
        goal: "GetContact requests/s ≥ 0.5× the echo ceiling",
        engines: BOTH,
        target: Target::AtLeast(0.5),
        unit: Unit::Ratio,
        measure: |e| per_round(e, |r| ran(r, Scenario::GetContact)?.ratio),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "GetContact p99 < 5 ms at half its peak rate (open loop)",
        engines: BOTH,
        target: Target::Below(5.0),
        unit: Unit::Ms,
        measure: |e| per_round(e, |r| Some(ran(r, Scenario::GetContactHalfPeak)?.latency.p99_ms)),
        floor: Some(|e| per_round(e, |r| r.echo_open.as_ref().filter(|m| m.ok > 0).map(|m| m.latency.p99_ms))),
        stalls: Some(|e| {
            per_round(e, |r| {
                Some(ran(r, Scenario::GetContactHalfPeak)?.machine_stalls.filter(|s| s.cores > 1)?.longest_ms)
            })
        }),
        failure: None,
    },
    Goal {
        goal: "CreateContact ≥ 0.7× the database's own single-row insert rate",
        engines: &[Engine::Postgres],
        target: Target::AtLeast(0.7),
        unit: Unit::Ratio,
        measure: |e| per_round(e, |r| ran(r, Scenario::CreateContact)?.ratio),
        floor: None,
        stalls: None,
        failure: None,
    },
    // Issue 17: what a bearer token (verified once, then found in the server's cache) and TLS cost GetContact,
    // measured in the same round. Only the all-in-one verifies tokens in development mode (see run.rs).
    Goal {
        goal: "GetContactAuth (a cached bearer token) ≥ 0.9× GetContact's rate",
        engines: &[Engine::Sqlite],
        target: Target::AtLeast(0.9),
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::GetContactAuth, Scenario::GetContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "GetContactTls (TLS and a bearer token) ≥ 0.8× GetContact's rate",
        engines: &[Engine::Sqlite],
        target: Target::AtLeast(0.8),
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::GetContactTls, Scenario::GetContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "the rate of CreateContactAuth ÷ CreateContact's (reported)",
        engines: &[Engine::Sqlite],
        target: Target::None,
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::CreateContactAuth, Scenario::CreateContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "the rate of CreateContactTls ÷ CreateContact's (reported)",
        engines: &[Engine::Sqlite],
        target: Target::None,
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::CreateContactTls, Scenario::CreateContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "BatchGetContacts(100) contacts/s ≥ 20× GetContact's",
        engines: BOTH,
        target: Target::AtLeast(20.0),
        unit: Unit::Ratio,
        measure: |e| {
            per_round(e, |r| {
                crate::report::ratio(
                    ran(r, Scenario::BatchGetContacts)?.items_per_s,
                    ran(r, Scenario::GetContact)?.items_per_s,
                )
            })
        },
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "CreateMeeting (10 participants) ≥ 0.5× CreateContact's rate",
        engines: BOTH,
        target: Target::AtLeast(0.5),
        unit: Unit::Ratio,
        measure: |e| {
            per_round(e, |r| {
                crate::report::ratio(ran(r, Scenario::CreateMeeting)?.per_s, ran(r, Scenario::CreateContact)?.per_s)
            })
        },
        floor: None,
        stalls: None,
        failure: None,
    },
    // The scheduling scenarios: a team of 20 with a year of meetings each (`calendar.rs`). Conflict checks and
    // free/busy are meant to be index range scans of the people asked about, so these hold as the data grows.
    Goal {
        goal: "FindMeetingTimes (20 participants, 4 weeks, 60 min on a 15-min grid, 10 candidates) p99 < 50 ms at 4 \
               calls in flight",
        engines: BOTH,
        target: Target::Below(50.0),
        unit: Unit::Ms,
        measure: |e| per_round(e, |r| Some(ran(r, Scenario::FindMeetingTimes)?.latency.p99_ms)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "CreateMeeting50 (50 participants, conflicts checked) ≥ 0.3× CreateContact's rate",
        engines: BOTH,
        target: Target::AtLeast(0.3),
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::CreateMeeting50, Scenario::CreateContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "ListMeetingsMonth (one participant's month) ≥ 0.3× the echo ceiling",
        engines: BOTH,
        target: Target::AtLeast(0.3),
        unit: Unit::Ratio,
        measure: |e| per_round(e, |r| ran(r, Scenario::ListMeetingsMonth)?.ratio),
        floor: None,
        stalls: None,
        failure: None,
    },
    // The mediation scenarios: a case opened between three seeded contacts (one call to contacts), a stage
    // transition (EscalateCase: a conditional write and a change-feed row under the case's row lock, each worker on
    // cases of its own), and the cases listed by SLA status through an index.
    Goal {
        goal: "OpenCase (3 parties, one contacts call) ≥ 0.5× CreateContact's rate",
        engines: BOTH,
        target: Target::AtLeast(0.5),
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::OpenCase, Scenario::CreateContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "EscalateCase (a stage transition) ≥ 0.5× UpdateContact's rate",
        engines: BOTH,
        target: Target::AtLeast(0.5),
        unit: Unit::Ratio,
        measure: |e| rate_ratio(e, Scenario::EscalateCase, Scenario::UpdateContact),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "ListCasesBySla (SLA status ON_TRACK, pages of 20) ≥ 0.3× the echo ceiling",
        engines: BOTH,
        target: Target::AtLeast(0.3),
        unit: Unit::Ratio,
        measure: |e| per_round(e, |r| ran(r, Scenario::ListCasesBySla)?.ratio),
        floor: None,
        stalls: None,
        failure: None,
    },
    // Issue 22: a register loaded through the API as fast as the database can take the same rows, measured once per
    // engine on the `--contacts` register (`register.rs`).
    Goal {
        goal: "ImportContacts records/s ≥ 0.5× the database's own multi-row insert of the same rows (500 per INSERT \
               and transaction)",
        engines: BOTH,
        target: Target::AtLeast(0.5),
        unit: Unit::Ratio,
        measure: |e| once(e.register.as_ref().and_then(|r| r.ratio)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "reporting ingests ≥ 100 000 changes/s from a backlog",
        engines: BOTH,
        target: Target::AtLeast(100_000.0),
        unit: Unit::PerSecond,
        measure: |e| e.ingestion.iter().map(|i| i.changes_per_s).filter(|r| *r > 0.0).collect(),
        floor: None,
        stalls: None,
        failure: None,
    },
    // Issue 20's scale figures (`reports.rs`), judged on the read model of 1 000 000 changes (not measured when that
    // size did not run): one quarter's report, explaining one of its figures, rendering it.
    Goal {
        goal: "GenerateReport (EXECUTIVE_SUMMARY, a quarter, scope all) over a read model of 1 000 000 changes < 1 s",
        engines: BOTH,
        target: Target::Below(1000.0),
        unit: Unit::Ms,
        measure: |e| scale_figure(e, |s| Some(s.generate.as_ref()?.median_ms)),
        floor: None,
        stalls: None,
        failure: Some(|e| scale_failure(e, "GenerateReport")),
    },
    Goal {
        goal: "ExplainFigure of that report (a large figure's first page of 100) < 50 ms",
        engines: BOTH,
        target: Target::Below(50.0),
        unit: Unit::Ms,
        measure: |e| scale_figure(e, |s| Some(s.explain_large.as_ref()?.timing.median_ms)),
        floor: None,
        stalls: None,
        failure: Some(|e| scale_failure(e, "ExplainFigure")),
    },
    Goal {
        goal: "RenderReport of that report as HTML < 200 ms",
        engines: BOTH,
        target: Target::Below(200.0),
        unit: Unit::Ms,
        measure: |e| scale_figure(e, |s| Some(s.render_html.as_ref()?.timing.median_ms)),
        floor: None,
        stalls: None,
        failure: Some(|e| scale_failure(e, "RenderReport")),
    },
    Goal {
        goal: "GenerateReport's time at the largest read model ÷ at the smallest (reported; the quarter's data grows \
               as much as the read model)",
        engines: BOTH,
        target: Target::None,
        unit: Unit::Ratio,
        measure: |e| once(crate::reports::growth(&e.reports).map(|g| g.time_factor)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "each service idle < 30 MiB RSS (largest of the four)",
        engines: &[Engine::Postgres],
        target: Target::Below(30.0),
        unit: Unit::MiB,
        measure: |e| once(e.idle_rss.iter().map(|m| m.rss_kib).max().map(mib)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "each service < 150 MiB RSS under load (largest VmHWM of the four)",
        engines: &[Engine::Postgres],
        target: Target::Below(150.0),
        unit: Unit::MiB,
        measure: |e| once(e.peak_rss.iter().map(|m| m.rss_kib).max().map(mib)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "each service < 150 MiB RSS under abuse: the largest allowed requests (largest peak of the four)",
        engines: &[Engine::Postgres],
        target: Target::Below(150.0),
        unit: Unit::MiB,
        measure: |e| once(e.abuse.as_ref().and_then(|a| a.peak_rss.iter().map(|m| m.rss_kib).max()).map(mib)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "the all-in-one < 600 MiB RSS under abuse (150 MiB for each of its four services)",
        engines: &[Engine::Sqlite],
        target: Target::Below(600.0),
        unit: Unit::MiB,
        measure: |e| once(e.abuse.as_ref().and_then(|a| a.peak_rss.iter().map(|m| m.rss_kib).max()).map(mib)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "the all-in-one idle < 80 MiB RSS",
        engines: &[Engine::Sqlite],
        target: Target::Below(80.0),
        unit: Unit::MiB,
        measure: |e| once(e.idle_rss.iter().map(|m| m.rss_kib).max().map(mib)),
        floor: None,
        stalls: None,
        failure: None,
    },
    Goal {
        goal: "the all-in-one cold start to SERVING < 1 s",
        engines: &[Engine::Sqlite],
        target: Target::Below(1000.0),
        unit: Unit::Ms,
        measure: |e| once((e.cold_start_ms > 0.0).then_some(e.cold_start_ms)),
        floor: None,
        stalls: None,
        failure: None,
    },
];

/// `median (each, sample, …)`, or the one sample.
fn show_samples(unit: Unit, median: f64, samples: &[f64]) -> String {
    match samples.len() {
        1 => unit.show(median),
        _ => {
            let each: Vec<String> = samples.iter().map(|s| unit.show(*s)).collect();
            format!("{} ({})", unit.show(median), each.join(", "))
        }
    }
}

fn judge(target: Target, value: f64) -> Status {
    let met = match target {
        Target::AtLeast(bound) => value >= bound,
        Target::Below(bound) => value < bound,
        Target::None => return Status::Reported,
    };
    if met { Status::Met } else { Status::Missed }
}

/// Every goal on every engine of the run it applies to.
pub(crate) fn evaluate(engines: &[EngineReport]) -> Vec<GoalResult> {
    let mut results = Vec::new();
    for goal in GOALS {
        for engine in engines.iter().filter(|e| goal.engines.contains(&e.engine)) {
            let samples = (goal.measure)(engine);
            let value = median(&samples);
            let target = match goal.target {
                Target::AtLeast(bound) => format!("≥ {}", goal.unit.show(bound)),
                Target::Below(bound) => format!("< {}", goal.unit.show(bound)),
                Target::None => "–".to_owned(),
            };
            let floor_samples = goal.floor.map(|floor| floor(engine)).unwrap_or_default();
            let stall_samples = goal.stalls.map(|stalls| stalls(engine)).unwrap_or_default();
            let measured = value.map(|v| {
                let mut shown = show_samples(goal.unit, v, &samples);
                if let Some(floor) = median(&floor_samples) {
                    shown +=
                        &format!("; the echo at the same rate: {}", show_samples(goal.unit, floor, &floor_samples));
                }
                if !stall_samples.is_empty() {
                    let each: Vec<String> = stall_samples.iter().map(|ms| format!("{ms:.1}")).collect();
                    shown += &format!("; the whole machine's longest stall in each window: {} ms", each.join(", "));
                }
                shown
            });
            let failed = if value.is_none() { goal.failure.and_then(|failure| failure(engine)) } else { None };
            let status = match (value, &failed) {
                (Some(v), _) => judge(goal.target, v),
                (None, Some(_)) => Status::Missed,
                (None, None) => Status::NotMeasured,
            };
            results.push(GoalResult {
                goal: goal.goal,
                engine: Some(engine.engine),
                target,
                measured: measured.or(failed.map(|why| format!("failed: {why}"))),
                value,
                samples,
                floor_samples,
                stall_samples,
                status,
            });
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hiccup::MachineStalls;
    use crate::report::tests::{engine, measured, round};
    use crate::report::{Ceiling, Ingestion, ProcessMemory};

    fn status_of<'a>(results: &'a [GoalResult], goal: &str, engine: Engine) -> &'a GoalResult {
        results
            .iter()
            .find(|r| r.goal.starts_with(goal) && r.engine == Some(engine))
            .unwrap_or_else(|| panic!("no goal '{goal}' on {engine:?} in {results:?}"))
    }

    #[test]
    fn ratios_against_ceilings_and_other_scenarios_are_judged() {
        let mut get = measured("GetContact", 5000.0, 5000.0, Some(Ceiling::Echo));
        get.ratio = Some(0.6);
        let mut half = measured("GetContactHalfPeak", 2500.0, 2500.0, Some(Ceiling::Echo));
        half.latency.p99_ms = 7.5;
        let batch = measured("BatchGetContacts", 400.0, 40_000.0, Some(Ceiling::Echo));
        let mut create = measured("CreateContact", 1000.0, 1000.0, Some(Ceiling::DbInsert));
        create.ratio = Some(0.25);
        let meeting = measured("CreateMeeting", 600.0, 600.0, Some(Ceiling::DbInsert));
        let mut pg = engine(Engine::Postgres, vec![get, half, batch, create, meeting]);
        pg.ingestion = vec![Ingestion { changes: 30_000, seconds: 0.25, changes_per_s: 120_000.0, backlog: 30_000 }];
        pg.idle_rss = vec![
            ProcessMemory { process: "contacts".into(), rss_kib: 20 * 1024 },
            ProcessMemory { process: "reporting".into(), rss_kib: 31 * 1024 },
        ];
        let results = evaluate(&[pg]);
        assert_eq!(status_of(&results, "GetContact requests/s", Engine::Postgres).status, Status::Met);
        let p99 = status_of(&results, "GetContact p99", Engine::Postgres);
        assert_eq!((p99.status, p99.measured.as_deref()), (Status::Missed, Some("7.50 ms")));
        let create = status_of(&results, "CreateContact", Engine::Postgres);
        assert_eq!((create.status, create.target.as_str()), (Status::Missed, "≥ 0.70×"));
        let batch = status_of(&results, "BatchGetContacts", Engine::Postgres);
        assert_eq!((batch.status, batch.value), (Status::Missed, Some(8.0)));
        assert_eq!(status_of(&results, "CreateMeeting", Engine::Postgres).status, Status::Met);
        assert_eq!(status_of(&results, "reporting", Engine::Postgres).status, Status::Met);
        let idle = status_of(&results, "each service idle", Engine::Postgres);
        assert_eq!((idle.status, idle.measured.as_deref()), (Status::Missed, Some("31.0 MiB")));
        assert_eq!(status_of(&results, "each service < 150", Engine::Postgres).status, Status::NotMeasured);
    }

    #[test]
    fn the_latency_goal_shows_the_echo_at_the_same_rate_but_is_judged_on_getcontact_alone() {
        let half = |p99: f64| {
            let mut m = measured("GetContactHalfPeak", 2500.0, 2500.0, Some(Ceiling::Echo));
            m.latency.p99_ms = p99;
            m
        };
        let echo_open = |p99: f64| {
            let mut m = measured("EchoOpenLoop", 2500.0, 2500.0, None);
            m.latency.p99_ms = p99;
            Some(m)
        };
        let mut sqlite = engine(Engine::Sqlite, vec![half(4.0)]);
        sqlite.rounds[0].echo_open = echo_open(6.0);
        sqlite.rounds.push(round(vec![half(6.0)]));
        sqlite.rounds[1].echo_open = echo_open(8.0);
        let results = evaluate(&[sqlite]);
        let p99 = status_of(&results, "GetContact p99", Engine::Sqlite);
        assert_eq!(p99.status, Status::Missed, "a slow machine explains a miss but does not excuse it");
        assert_eq!(p99.floor_samples, vec![6.0, 8.0]);
        assert_eq!(
            p99.measured.as_deref(),
            Some("5.00 ms (4.00 ms, 6.00 ms); the echo at the same rate: 7.00 ms (6.00 ms, 8.00 ms)")
        );
        let ratio = status_of(&results, "GetContact requests/s", Engine::Sqlite);
        assert!(ratio.floor_samples.is_empty(), "only the latency goal has a floor");
    }

    #[test]
    fn the_latency_goal_shows_the_machines_longest_stall_in_each_round_but_is_not_judged_on_it() {
        let half = |p99: f64, longest_ms: f64, cores: usize| {
            let mut m = measured("GetContactHalfPeak", 2500.0, 2500.0, Some(Ceiling::Echo));
            m.latency.p99_ms = p99;
            m.machine_stalls = Some(MachineStalls {
                count: 1,
                longest_ms,
                total_ms: longest_ms,
                longest_one_core_ms: longest_ms,
                cores,
            });
            m
        };
        let mut pg = engine(Engine::Postgres, vec![half(3.0, 0.0, 2)]);
        pg.rounds.push(round(vec![half(60.0, 106.2, 2)]));
        pg.rounds.push(round(vec![half(7.0, 0.0, 2)]));
        pg.rounds.push(round(vec![half(4.0, 400.0, 1)]));
        let results = evaluate(&[pg]);
        let p99 = status_of(&results, "GetContact p99", Engine::Postgres);
        assert_eq!(p99.status, Status::Missed, "a stalled round still counts");
        assert_eq!(p99.stall_samples, vec![0.0, 106.2, 0.0], "one core cannot tell a stall from contention");
        assert_eq!(
            p99.measured.as_deref(),
            Some(
                "5.50 ms (3.00 ms, 60.00 ms, 7.00 ms, 4.00 ms); the whole machine's longest stall in each window: \
                 0.0, 106.2, 0.0 ms"
            )
        );
        let ratio = status_of(&results, "GetContact requests/s", Engine::Postgres);
        assert!(ratio.stall_samples.is_empty(), "throughput goals show no stalls");
    }

    #[test]
    fn goals_apply_only_to_their_engines_and_need_successful_calls() {
        let mut search = measured("GetContact", 0.0, 0.0, Some(Ceiling::Echo));
        search.ok = 0;
        search.ratio = None;
        let sqlite = engine(Engine::Sqlite, vec![search]);
        let results = evaluate(&[sqlite]);
        assert!(results.iter().all(|r| r.engine == Some(Engine::Sqlite)));
        assert!(!results.iter().any(|r| r.goal.starts_with("CreateContact")), "the insert goal is PostgreSQL's");
        assert_eq!(status_of(&results, "GetContact requests/s", Engine::Sqlite).status, Status::NotMeasured);
        assert_eq!(status_of(&results, "the all-in-one cold start", Engine::Sqlite).status, Status::Met);
        assert_eq!(status_of(&results, "the all-in-one idle", Engine::Sqlite).status, Status::Met);
    }

    #[test]
    fn a_goal_measured_in_every_round_is_judged_on_the_median_round() {
        let create = |per_s: f64, ratio: f64| {
            let mut m = measured("CreateContact", per_s, per_s, Some(Ceiling::DbInsert));
            m.ratio = Some(ratio);
            m
        };
        let meeting = |per_s: f64| measured("CreateMeeting", per_s, per_s, Some(Ceiling::DbInsert));
        let mut pg = engine(Engine::Postgres, vec![create(1000.0, 0.9), meeting(400.0)]);
        pg.rounds.push(round(vec![create(800.0, 0.6), meeting(600.0)]));
        pg.rounds.push(round(vec![create(900.0, 0.75), meeting(500.0)]));
        let ingestion = |rate: f64| Ingestion { changes: 30_000, seconds: 1.0, changes_per_s: rate, backlog: 30_000 };
        pg.ingestion = vec![ingestion(95_000.0), ingestion(140_000.0), ingestion(104_000.0)];
        let results = evaluate(std::slice::from_ref(&pg));
        let create = status_of(&results, "CreateContact", Engine::Postgres);
        assert_eq!((create.status, create.value), (Status::Met, Some(0.75)));
        assert_eq!(create.samples, vec![0.9, 0.6, 0.75], "every round is reported, in order");
        assert_eq!(create.measured.as_deref(), Some("0.75× (0.90×, 0.60×, 0.75×)"));
        // Meetings against contacts of the same round: 0.4, 0.75, 0.56 — not the best meeting over the worst contact.
        let meeting = status_of(&results, "CreateMeeting", Engine::Postgres);
        assert!(meeting.value.is_some_and(|v| (v - 500.0 / 900.0).abs() < 1e-9), "{meeting:?}");
        let ingested = status_of(&results, "reporting", Engine::Postgres);
        assert_eq!((ingested.status, ingested.value), (Status::Met, Some(104_000.0)));
        pg.ingestion = vec![ingestion(78_000.0), ingestion(89_000.0), ingestion(104_000.0)];
        let slow = status_of(&evaluate(&[pg]), "reporting", Engine::Postgres).clone();
        assert_eq!((slow.status, slow.target.as_str()), (Status::Missed, "≥ 100 000/s"), "today's 78–89k miss it");
    }

    #[test]
    fn token_and_tls_variants_are_judged_against_the_plaintext_scenario_of_their_round() {
        let rate = |name: &str, per_s: f64| measured(name, per_s, per_s, Some(Ceiling::Echo));
        let mut sqlite = engine(
            Engine::Sqlite,
            vec![
                rate("GetContact", 10_000.0),
                rate("GetContactAuth", 9_500.0),
                rate("GetContactTls", 7_000.0),
                rate("CreateContact", 1_000.0),
                rate("CreateContactAuth", 980.0),
            ],
        );
        sqlite.rounds.push(round(vec![
            rate("GetContact", 8_000.0),
            rate("GetContactAuth", 7_000.0),
            rate("GetContactTls", 7_600.0),
        ]));
        let results = evaluate(&[sqlite]);
        let auth = status_of(&results, "GetContactAuth", Engine::Sqlite);
        assert_eq!(auth.samples, vec![0.95, 0.875]);
        assert_eq!((auth.status, auth.target.as_str()), (Status::Met, "≥ 0.90×"), "the median is 0.91");
        let tls = status_of(&results, "GetContactTls", Engine::Sqlite);
        assert_eq!((tls.status, tls.samples.clone()), (Status::Met, vec![0.7, 0.95]), "the median is 0.825");
        let create = status_of(&results, "the rate of CreateContactAuth", Engine::Sqlite);
        assert_eq!((create.status, create.value, create.target.as_str()), (Status::Reported, Some(0.98), "–"));
        let create_tls = status_of(&results, "the rate of CreateContactTls", Engine::Sqlite);
        assert_eq!(create_tls.status, Status::NotMeasured);
        let postgres = evaluate(&[engine(Engine::Postgres, vec![rate("GetContact", 10_000.0)])]);
        assert!(!postgres.iter().any(|r| r.goal.contains("Auth") || r.goal.contains("Tls")), "the all-in-one's only");
    }

    #[test]
    fn the_scheduling_goals_are_a_latency_a_ratio_to_createcontact_and_one_to_the_echo() {
        let mut find = measured("FindMeetingTimes", 150.0, 1500.0, None);
        find.latency.p99_ms = 42.0;
        let create = measured("CreateContact", 1000.0, 1000.0, Some(Ceiling::DbInsert));
        let large = measured("CreateMeeting50", 280.0, 280.0, Some(Ceiling::DbInsert));
        let mut list = measured("ListMeetingsMonth", 3500.0, 70_000.0, Some(Ceiling::Echo));
        list.ratio = Some(0.35);
        let mut sqlite = engine(Engine::Sqlite, vec![find.clone(), create.clone(), large, list]);
        let mut slow = find;
        slow.latency.p99_ms = 61.0;
        sqlite.rounds.push(round(vec![slow, create, measured("CreateMeeting50", 350.0, 350.0, None)]));
        let results = evaluate(&[sqlite]);
        let find = status_of(&results, "FindMeetingTimes", Engine::Sqlite);
        assert_eq!((find.status, find.samples.clone()), (Status::Missed, vec![42.0, 61.0]), "the median is 51.5 ms");
        assert!(find.goal.contains("4 calls in flight"), "the concurrency is part of the goal");
        let large = status_of(&results, "CreateMeeting50", Engine::Sqlite);
        assert_eq!((large.status, large.samples.clone()), (Status::Met, vec![0.28, 0.35]), "the median is 0.315");
        let list = status_of(&results, "ListMeetingsMonth", Engine::Sqlite);
        assert_eq!((list.status, list.value), (Status::Met, Some(0.35)));
    }

    #[test]
    fn the_scale_goals_are_judged_at_a_million_changes_and_not_measured_without_it() {
        use crate::reports::tests::scale;
        let mut pg = engine(Engine::Postgres, vec![]);
        let mut million = scale(1_000_000, Some(1_400.0));
        million.render_html = None;
        million.errors.push("RenderReport HTML: OutOfRange: too large (after 900 ms)".into());
        pg.reports = vec![scale(100_000, Some(90.0)), million, scale(5_000_000, Some(9_000.0))];
        let mut sqlite = engine(Engine::Sqlite, vec![]);
        sqlite.reports = vec![scale(10_000, Some(20.0)), scale(100_000, Some(90.0))];
        let results = evaluate(&[pg, sqlite]);
        let generate = status_of(&results, "GenerateReport (EXECUTIVE_SUMMARY", Engine::Postgres);
        assert_eq!((generate.status, generate.measured.as_deref()), (Status::Missed, Some("1400.00 ms")));
        let explain = status_of(&results, "ExplainFigure", Engine::Postgres);
        assert_eq!((explain.status, explain.value), (Status::Met, Some(4.0)));
        let render = status_of(&results, "RenderReport", Engine::Postgres);
        assert_eq!(render.status, Status::Missed, "a call that fails misses its goal");
        assert_eq!(render.measured.as_deref(), Some("failed: RenderReport HTML: OutOfRange: too large (after 900 ms)"));
        let growth = status_of(&results, "GenerateReport's time", Engine::Postgres);
        assert_eq!((growth.status, growth.value), (Status::Reported, Some(100.0)));
        for goal in ["GenerateReport (EXECUTIVE_SUMMARY", "ExplainFigure", "RenderReport"] {
            assert_eq!(status_of(&results, goal, Engine::Sqlite).status, Status::NotMeasured, "{goal}: no 1M run");
        }
        let quick = status_of(&results, "GenerateReport's time", Engine::Sqlite);
        assert!(quick.value.is_some_and(|v| (v - 4.5).abs() < 1e-9), "{quick:?}");
    }

    #[test]
    fn the_import_is_judged_against_the_databases_own_insert_of_the_same_rows() {
        let mut sqlite = engine(Engine::Sqlite, vec![]);
        sqlite.register = Some(crate::register::tests::seeded(100_000, 9_000.0, Some(60_000.0)));
        let mut pg = engine(Engine::Postgres, vec![]);
        pg.register = Some(crate::register::tests::seeded(100_000, 30_000.0, Some(50_000.0)));
        let results = evaluate(&[sqlite, pg, engine(Engine::Sqlite, vec![])]);
        let import = status_of(&results, "ImportContacts", Engine::Sqlite);
        assert_eq!((import.status, import.measured.as_deref()), (Status::Missed, Some("0.15×")));
        assert_eq!(import.target, "≥ 0.50×");
        assert_eq!(status_of(&results, "ImportContacts", Engine::Postgres).status, Status::Met);
        let unseeded = results.iter().filter(|r| r.goal.starts_with("ImportContacts")).nth(2).expect("third engine");
        assert_eq!(unseeded.status, Status::NotMeasured, "no register, no figure");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[5.0, 1.0, 9.0, 2.0]), Some(3.5));
    }
}
