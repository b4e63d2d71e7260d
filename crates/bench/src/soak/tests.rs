//! The soak's judging, mix and report, unit-tested.
use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_slope_is_the_least_squares_line() {
    let line: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), 2.0 * f64::from(x) + 1.0)).collect();
    assert!(close(slope(&line).expect("a line"), 2.0));
    let flat: Vec<(f64, f64)> = (0..10).map(|x| (f64::from(x), 50.0)).collect();
    assert!(close(slope(&flat).expect("flat"), 0.0));
    // Noise around a flat line, symmetric in time, leaves no slope.
    let noisy = [(0.0, 10.0), (1.0, 12.0), (2.0, 8.0), (3.0, 8.0), (4.0, 12.0), (5.0, 10.0)];
    assert!(close(slope(&noisy).expect("noisy"), 0.0));
    // (0,0), (1,1), (2,1): x̄ = 1, ȳ = 2/3, Sxy = 1, Sxx = 2.
    assert!(close(slope(&[(0.0, 0.0), (1.0, 1.0), (2.0, 1.0)]).expect("three points"), 0.5));
    assert_eq!(slope(&[(1.0, 5.0)]), None, "one point has no slope");
    assert_eq!(slope(&[]), None);
    assert_eq!(slope(&[(1.0, 5.0), (1.0, 7.0)]), None, "no spread in time");
}

#[test]
fn the_run_is_cut_in_thirds_the_last_taking_the_remainder() {
    assert_eq!(thirds(60), [0..20, 20..40, 40..60]);
    assert_eq!(thirds(18), [0..6, 6..12, 12..18]);
    assert_eq!(thirds(7), [0..2, 2..4, 4..7]);
    assert_eq!(thirds(3), [0..1, 1..2, 2..3]);
    assert_eq!(thirds(2), [0..0, 0..1, 1..2]);
}

#[test]
fn memory_is_flat_when_its_growth_over_the_run_stays_under_a_tenth_of_its_mean() {
    // 100 MiB on average, 10 minutes: under 10 MiB of growth passes.
    let judged = judge_memory(Some(0.5), 10.0, 100.0);
    assert_eq!(judged.verdict, Verdict::Pass);
    assert!(close(judged.growth_mib, 5.0) && close(judged.limit_mib, 10.0));
    assert_eq!(judge_memory(Some(1.0), 10.0, 100.0).verdict, Verdict::Miss, "10 MiB is not under 10");
    assert_eq!(judge_memory(Some(0.99), 10.0, 100.0).verdict, Verdict::Pass);
    // The same slope over a longer run is a miss: it is judged as a ratio of the run.
    assert_eq!(judge_memory(Some(0.5), 60.0, 100.0).verdict, Verdict::Miss);
    assert_eq!(judge_memory(Some(-3.0), 10.0, 100.0).verdict, Verdict::Pass, "shrinking is flat enough");
    assert_eq!(judge_memory(None, 10.0, 100.0).verdict, Verdict::NotMeasured);
    assert_eq!(judge_memory(Some(0.1), 10.0, 0.0).verdict, Verdict::NotMeasured, "no memory read");
}

#[test]
fn p99_is_flat_when_the_last_third_stays_within_half_again_the_middle_one() {
    assert_eq!(judge_p99(Some(10.0), Some(15.0)), Verdict::Pass);
    assert_eq!(judge_p99(Some(10.0), Some(15.1)), Verdict::Miss);
    assert_eq!(judge_p99(Some(10.0), Some(2.0)), Verdict::Pass, "faster is flat enough");
    assert_eq!(judge_p99(None, Some(2.0)), Verdict::NotMeasured);
    assert_eq!(judge_p99(Some(3.0), None), Verdict::NotMeasured);
    assert_eq!(judge_p99(Some(0.0), Some(1.0)), Verdict::NotMeasured);
}

#[test]
fn every_hundred_calls_hold_the_mix_exactly() {
    assert_eq!(MIX.iter().map(|(_, share)| share).sum::<u64>(), 100);
    for offset in [0u64, 1, 37, 12_345] {
        let mut counts = BTreeMap::new();
        for seq in offset..offset + 100 {
            *counts.entry(format!("{:?}", slot_of(seq))).or_insert(0u64) += 1;
        }
        for (slot, share) in MIX {
            assert_eq!(counts.get(&format!("{slot:?}")), Some(&share), "{slot:?} at offset {offset}");
        }
    }
    // Interleaved: the 34 GetContacts of a cycle never come ten in a row.
    let longest_run = (0..100u64)
        .fold((0, 0), |(run, longest), seq| {
            let run = if slot_of(seq) == Slot::Rpc(Rpc::GetContact) { run + 1 } else { 0 };
            (run, longest.max(run))
        })
        .1;
    assert!(longest_run < 10, "{longest_run}");
    assert!(mix_text().starts_with("GetContact 34, ") && mix_text().ends_with("AcknowledgeCase/AssessCase 12"));
}

/// An interval at `minute` with one RSS figure (MiB) per process and calls of `latency_ms` each.
fn interval(minute: f64, rss_mib: &[f64], latency_ms: &[u64]) -> Interval {
    let mut latency = load::new_histogram().expect("histogram");
    for ms in latency_ms {
        latency.record(ms * 1000).expect("in range");
    }
    Interval {
        end_s: minute * 60.0,
        ok: latency_ms.len() as u64,
        errors: 0,
        per_s: 0.0,
        p50_ms: latency.value_at_quantile(0.5) as f64 / 1e3,
        p99_ms: latency.value_at_quantile(0.99) as f64 / 1e3,
        max_ms: latency.max() as f64 / 1e3,
        rss_kib: rss_mib.iter().map(|mib| (mib * 1024.0) as u64).collect(),
        server_cpu: 0.5,
        machine_stalls: MachineStalls::default(),
        latency,
    }
}

#[test]
fn trends_skip_the_warm_up_and_judge_each_process_alone() {
    // Nine intervals of a minute: "steady" grows in the warm-up third and then stays; "leaky" grows 5 MiB a
    // minute throughout; p99 is 4 ms then 20 ms in the warm-up, 4 ms in the middle and 5 ms in the last third.
    let processes = vec!["steady".to_owned(), "leaky".to_owned()];
    let intervals: Vec<Interval> = (1..=9)
        .map(|m| {
            let steady = if m <= 3 { 40.0 + 10.0 * f64::from(m) } else { 70.0 };
            let leaky = 50.0 + 5.0 * f64::from(m);
            let slow = match m {
                1..=3 => 20,
                4..=6 => 4,
                _ => 5,
            };
            interval(f64::from(m), &[steady, leaky], &[1, 2, 3, slow])
        })
        .collect();
    let (memory, p99) = trends(&processes, &intervals, 9.0).expect("trends");
    assert_eq!(memory[0].judgement.verdict, Verdict::Pass, "{:?}", memory[0]);
    assert!(memory[0].slope_mib_per_min_whole.expect("whole") > 1.0, "the warm-up shows in the whole run");
    assert!(close(memory[0].slope_mib_per_min_after_warmup.expect("after"), 0.0));
    assert!(close(memory[0].mean_mib_after_warmup, 70.0));
    assert_eq!(memory[1].judgement.verdict, Verdict::Miss, "{:?}", memory[1]);
    assert!(close(memory[1].slope_mib_per_min_after_warmup.expect("after"), 5.0));
    assert!(close(memory[1].judgement.growth_mib, 45.0));
    let [first, middle, last] = p99.p99_ms_thirds.map(|ms| ms.expect("calls in every third"));
    assert!((first - 20.0).abs() < 0.1 && (middle - 4.0).abs() < 0.1 && (last - 5.0).abs() < 0.1);
    assert_eq!(p99.verdict, Verdict::Pass, "5 ms ≤ 1.5 × 4 ms");
    assert!(p99.slope_ms_per_min_whole.expect("whole") < 0.0, "the slow warm-up makes the whole run's fall");

    let slower: Vec<Interval> =
        (1..=9).map(|m| interval(f64::from(m), &[70.0, 70.0], &[1, 2, if m > 6 { 9 } else { 4 }])).collect();
    let (_, p99) = trends(&processes, &slower, 9.0).expect("trends");
    assert_eq!(p99.verdict, Verdict::Miss, "9 ms > 1.5 × 4 ms");
    let (memory, p99) = trends(&processes, &slower[..2], 2.0).expect("trends");
    assert_eq!((memory[0].judgement.verdict, p99.verdict), (Verdict::NotMeasured, Verdict::NotMeasured));
}

#[test]
fn the_markdown_has_the_intervals_the_slopes_and_the_verdicts() {
    let processes = vec!["liaison".to_owned()];
    let intervals: Vec<Interval> = (1..=6).map(|m| interval(f64::from(m), &[60.0], &[1, 2, 3])).collect();
    let (memory, p99) = trends(&processes, &intervals, 6.0).expect("trends");
    let soak = Soak { duration: Duration::from_secs(360), rate: 200.0, interval: Duration::from_secs(60) };
    let mut whole = Tally::new().expect("tally");
    let (mut middle, mut last, empty) = (Tally::new().expect("t"), Tally::new().expect("t"), Tally::new().expect("t"));
    for ms in [2, 3] {
        whole.record(&Ok(()), Duration::from_millis(ms));
        middle.record(&Ok(()), Duration::from_millis(2));
        last.record(&Ok(()), Duration::from_millis(3));
    }
    whole.record(&Err(tonic::Status::unavailable("down\nfor a bit")), Duration::ZERO);
    whole.record(&Err(tonic::Status::unavailable("down again")), Duration::ZERO);
    let rpc = RpcFigures::new("GetContact", &whole, [&empty, &middle, &last]);
    assert_eq!((rpc.ok, rpc.errors.get("UNAVAILABLE")), (2, Some(&2)));
    assert_eq!(rpc.first_errors.get("UNAVAILABLE").map(String::as_str), Some("down\nfor a bit"));
    let report = SoakReport {
        tool: "liaison-bench 0".into(),
        started_at: "2026-12-07T00:00:00Z".into(),
        git_commit: None,
        cpus: 2,
        load_average_start: Some("1.00 1.00 1.00".into()),
        load_average_end: None,
        soak,
        connections: 4,
        concurrency: 64,
        seed_contacts: 2000,
        mix: mix_text(),
        engines: vec![SoakEngine {
            engine: Engine::Sqlite,
            topology: "the all-in-one".into(),
            seeded_in_s: 1.0,
            idle_rss: vec![ProcessMemory { process: "liaison".into(), rss_kib: 30 * 1024 }],
            processes,
            intervals,
            rpcs: vec![rpc],
            errors: BTreeMap::from([("UNAVAILABLE".to_owned(), 2)]),
            memory,
            p99,
        }],
        notes: Vec::new(),
    };
    let text = markdown(&report);
    assert!(text.contains("6 min at 200 calls/s"), "{text}");
    assert!(text.contains("| t (s) | calls/s | errors | p50 ms | p99 ms | max ms | liaison RSS MiB |"), "{text}");
    assert!(text.contains("| 360 |"), "{text}");
    assert!(text.contains("liaison memory flat") && text.contains("p99 flat"), "{text}");
    assert!(text.contains("| 3.00 ms | ≤ 4.50 ms (1.5 × 3.00 ms) | PASS |"), "{text}");
    assert_eq!(text.matches("PASS").count(), 2, "{text}");
    assert!(text.contains("UNAVAILABLE 2"), "{text}");
    assert!(text.contains("| – → 2.00 → 3.00 |"), "the RPC's p50 by third: {text}");
    assert!(text.contains("> GetContact UNAVAILABLE, the first: down for a bit"), "{text}");
    assert!(text.contains("| server CPU (% of a core per minute"), "{text}");
    assert!(broken(&report).is_empty());
    let serialised = serde_json::to_string(&report).expect("JSON");
    assert!(serialised.contains("\"duration_s\":360.0") && serialised.contains("\"verdict\":\"pass\""));
}

#[test]
fn a_soak_has_whole_intervals() {
    let soak = Soak { duration: Duration::from_secs(65), rate: 1.0, interval: Duration::from_secs(10) };
    assert_eq!(soak.intervals(), 6);
    assert_eq!(fmt_duration(Duration::from_secs(600)), "10 min");
    assert_eq!(fmt_duration(Duration::from_secs(90)), "90 s");
}
