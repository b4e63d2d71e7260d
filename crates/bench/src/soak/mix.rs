//! The mix the soak drives — which call comes next, at what share — and the drive itself: open loop at a fixed
//! rate, the calls' latencies and errors tallied per interval and per third, each server's memory and CPU sampled.
use super::*;

/// How long calls due in the run may go on past its end before the drive stops waiting for them.
pub(super) const OVERRUN: Duration = Duration::from_secs(1);
/// Cases opened by the soak waiting for their next transition; beyond this the oldest are forgotten.
pub(super) const CASE_QUEUE_MAX: usize = 10_000;

/// What the mix schedules: one RPC, or the next transition of a case the soak opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Rpc(Rpc),
    /// AcknowledgeCase of a case opened by the soak, or AssessCase of one it acknowledged (with the etag of its
    /// last answer); OpenCase when none waits.
    CaseTransition,
}

/// An RPC of the mix, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rpc {
    GetContact,
    ListContacts,
    SearchContacts,
    CreateContact,
    UpdateContact,
    CreateMeeting,
    OpenCase,
    AcknowledgeCase,
    AssessCase,
}

impl Rpc {
    pub(super) const ALL: [Rpc; 9] = [
        Self::GetContact,
        Self::ListContacts,
        Self::SearchContacts,
        Self::CreateContact,
        Self::UpdateContact,
        Self::CreateMeeting,
        Self::OpenCase,
        Self::AcknowledgeCase,
        Self::AssessCase,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::GetContact => "GetContact",
            Self::ListContacts => "ListContacts",
            Self::SearchContacts => "SearchContacts",
            Self::CreateContact => "CreateContact",
            Self::UpdateContact => "UpdateContact",
            Self::CreateMeeting => "CreateMeeting",
            Self::OpenCase => "OpenCase",
            Self::AcknowledgeCase => "AcknowledgeCase",
            Self::AssessCase => "AssessCase",
        }
    }

    pub(super) fn index(self) -> usize {
        Self::ALL.iter().position(|rpc| *rpc == self).unwrap_or(0)
    }
}

/// The mix, per 100 calls: mostly reads, as an office's day is, and every kind of write the services take.
/// Creates carry a request id; updates the etag of the contact's last answer; case transitions the etag of the
/// case's last answer. Reads run on the seeded contacts (no imported register: the soak is about drift, not size).
pub(super) const MIX: [(Slot, u64); 8] = [
    (Slot::Rpc(Rpc::GetContact), 34),
    (Slot::Rpc(Rpc::ListContacts), 10),
    (Slot::Rpc(Rpc::SearchContacts), 10),
    (Slot::Rpc(Rpc::CreateContact), 10),
    (Slot::Rpc(Rpc::UpdateContact), 10),
    (Slot::Rpc(Rpc::CreateMeeting), 8),
    (Slot::Rpc(Rpc::OpenCase), 6),
    (Slot::CaseTransition, 12),
];

/// Step through the 100 slots of a cycle: coprime with 100, so that every cycle of 100 calls has exactly the
/// [`MIX`]'s shares, the kinds interleaved.
pub(super) const MIX_STEP: u64 = 37;

/// What call `seq` of the drive is.
pub(super) fn slot_of(seq: u64) -> Slot {
    let total: u64 = MIX.iter().map(|(_, share)| share).sum();
    let mut at = seq.wrapping_mul(MIX_STEP) % total.max(1);
    for (slot, share) in MIX {
        if at < share {
            return slot;
        }
        at -= share;
    }
    MIX[0].0
}

/// The mix as the report prints it: `GetContact 34, …, AcknowledgeCase/AssessCase 12`.
pub(super) fn mix_text() -> String {
    let parts: Vec<String> = MIX
        .iter()
        .map(|(slot, share)| match slot {
            Slot::Rpc(rpc) => format!("{} {share}", rpc.name()),
            Slot::CaseTransition => format!("AcknowledgeCase/AssessCase {share}"),
        })
        .collect();
    parts.join(", ")
}

/// A case the soak opened, waiting for its next transition.
#[derive(Debug)]
pub(super) struct OpenedCase {
    name: String,
    etag: String,
    acknowledged: bool,
}

pub(super) type Answer = BoxFuture<'static, (Rpc, Result<(), tonic::Status>)>;

/// What the mix needs to make its calls.
pub(super) struct Mix {
    /// The calls reused from the benchmark's scenarios (GetContact, ListContacts, SearchContacts, CreateContact,
    /// CreateMeeting).
    reused: BTreeMap<Rpc, load::Workload>,
    names: Arc<Vec<String>>,
    /// The last etag of each seeded contact (as `names`); worker `w` updates only its own ([`scenarios::own_index`]).
    etags: Arc<Vec<Mutex<String>>>,
    workers: usize,
    tag: Arc<str>,
    contacts: Connections,
    mediation: Connections,
    cases: Arc<Mutex<VecDeque<OpenedCase>>>,
}

impl Mix {
    pub(super) fn new(
        fixture: &Fixture,
        etags: Vec<String>,
        contacts: &Connections,
        scheduling: &Connections,
        mediation: &Connections,
    ) -> anyhow::Result<Self> {
        let mut reused = BTreeMap::new();
        for (rpc, scenario, connections) in [
            (Rpc::GetContact, Scenario::GetContact, contacts),
            (Rpc::ListContacts, Scenario::ListContacts, contacts),
            (Rpc::SearchContacts, Scenario::SearchContacts, contacts),
            (Rpc::CreateContact, Scenario::CreateContact, contacts),
            (Rpc::CreateMeeting, Scenario::CreateMeeting, scheduling),
        ] {
            let workload = scenarios::workload(scenario, fixture, connections)
                .with_context(|| format!("{} has no workload", scenario.name()))?;
            reused.insert(rpc, workload);
        }
        Ok(Self {
            reused,
            names: fixture.names.clone(),
            etags: Arc::new(etags.into_iter().map(Mutex::new).collect()),
            workers: fixture.workers,
            tag: fixture.tag.clone(),
            contacts: contacts.clone(),
            mediation: mediation.clone(),
            cases: Arc::default(),
        })
    }

    /// The `seq`-th call of the drive, made by worker `worker`.
    fn call(&self, worker: usize, seq: u64) -> Answer {
        match slot_of(seq) {
            Slot::Rpc(Rpc::UpdateContact) => self.update_contact(worker, seq),
            Slot::Rpc(Rpc::OpenCase) => self.open_case(worker, seq),
            Slot::Rpc(rpc) => match self.reused.get(&rpc) {
                Some(workload) => {
                    let call = workload(worker, seq);
                    Box::pin(async move { (rpc, call.await.map(drop)) })
                }
                // AcknowledgeCase and AssessCase are never scheduled by name: they are the case transitions.
                None => self.case_transition(worker, seq),
            },
            Slot::CaseTransition => self.case_transition(worker, seq),
        }
    }

    /// UpdateContact of the worker's own seeded contact, with the etag of its last answer (refreshed with GetContact
    /// if it was stale).
    fn update_contact(&self, worker: usize, seq: u64) -> Answer {
        let index = scenarios::own_index(worker, self.workers, seq, self.names.len());
        let name = self.names[index].clone();
        let etags = self.etags.clone();
        let etag = lock(&etags[index]).clone();
        let mut client = ContactsServiceClient::new(self.contacts.get(worker));
        Box::pin(async move {
            let contact = Contact {
                name: name.clone(),
                etag,
                notes: format!("Updated by the liaison-bench soak, call {seq}."),
                ..Default::default()
            };
            let request = UpdateContactRequest {
                contact: Some(contact),
                update_mask: Some(prost_types::FieldMask { paths: vec!["notes".into()] }),
            };
            let result = match client.update_contact(request).await {
                Ok(response) => {
                    if let Some(contact) = response.into_inner().contact {
                        *lock(&etags[index]) = contact.etag;
                    }
                    Ok(())
                }
                Err(status) => {
                    if status.code() == tonic::Code::Aborted
                        && let Ok(current) = client.get_contact(GetContactRequest { name }).await
                        && let Some(contact) = current.into_inner().contact
                    {
                        *lock(&etags[index]) = contact.etag;
                    }
                    Err(status)
                }
            };
            (Rpc::UpdateContact, result)
        })
    }

    /// OpenCase between three seeded contacts, with a request id; the case waits for its transitions.
    fn open_case(&self, worker: usize, seq: u64) -> Answer {
        let request = OpenCaseRequest {
            case: Some(scenarios::new_case(&self.names, format!("Soak case {} {seq}", self.tag), seq)),
            request_id: format!("soak-{}-case-{seq}", self.tag),
        };
        let mut client = MediationServiceClient::new(self.mediation.get(worker));
        let cases = self.cases.clone();
        Box::pin(async move {
            let result = client.open_case(request).await.map(|response| {
                if let Some(case) = response.into_inner().case {
                    queue(&cases, OpenedCase { name: case.name, etag: case.etag, acknowledged: false });
                }
            });
            (Rpc::OpenCase, result)
        })
    }

    /// The next transition of the oldest case waiting for one, with the etag of its last answer: AcknowledgeCase,
    /// then AssessCase (eligible), after which the case leaves the soak. With none waiting, OpenCase.
    fn case_transition(&self, worker: usize, seq: u64) -> Answer {
        let Some(case) = lock(&self.cases).pop_front() else { return self.open_case(worker, seq) };
        let mut client = MediationServiceClient::new(self.mediation.get(worker));
        let cases = self.cases.clone();
        Box::pin(async move {
            if case.acknowledged {
                let request = AssessCaseRequest {
                    name: case.name,
                    etag: case.etag,
                    eligible: true,
                    reason: "Within the scheme's remit (liaison-bench soak).".into(),
                };
                (Rpc::AssessCase, client.assess_case(request).await.map(drop))
            } else {
                let request = AcknowledgeCaseRequest {
                    name: case.name,
                    etag: case.etag,
                    reason: "Acknowledged by email (liaison-bench soak).".into(),
                };
                let result = client.acknowledge_case(request).await.map(|response| {
                    if let Some(case) = response.into_inner().case {
                        queue(&cases, OpenedCase { name: case.name, etag: case.etag, acknowledged: true });
                    }
                });
                (Rpc::AcknowledgeCase, result)
            }
        })
    }
}

pub(super) fn queue(cases: &Mutex<VecDeque<OpenedCase>>, case: OpenedCase) {
    let mut cases = lock(cases);
    if cases.len() >= CASE_QUEUE_MAX {
        cases.pop_front();
    }
    cases.push_back(case);
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls of one RPC, or of one interval.
pub(super) struct Tally {
    pub(super) ok: u64,
    pub(super) errors: BTreeMap<&'static str, u64>,
    /// The first message of each code.
    pub(super) first_errors: BTreeMap<&'static str, String>,
    pub(super) latency: Histogram<u64>,
}

impl Tally {
    pub(super) fn new() -> anyhow::Result<Self> {
        Ok(Self { ok: 0, errors: BTreeMap::new(), first_errors: BTreeMap::new(), latency: load::new_histogram()? })
    }

    pub(super) fn record(&mut self, result: &Result<(), tonic::Status>, latency: Duration) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latency.saturating_record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1));
            }
            Err(status) => {
                let code = load::code_name(status.code());
                *self.errors.entry(code).or_default() += 1;
                self.first_errors.entry(code).or_insert_with(|| status.message().chars().take(300).collect());
            }
        }
    }
}

/// What the workers record as calls complete: the current interval's calls, and each RPC's over the run.
pub(super) struct Shared {
    interval: Tally,
    rpcs: Vec<Tally>,
    /// Each RPC's calls in each third of the run (as [`thirds`] of the intervals).
    thirds: [Vec<Tally>; 3],
    /// The third the calls completing now fall in.
    third: usize,
}

pub(super) struct Driven {
    pub(super) intervals: Vec<Interval>,
    pub(super) rpcs: Vec<Tally>,
    pub(super) thirds: [Vec<Tally>; 3],
}

pub(super) fn tallies() -> anyhow::Result<Vec<Tally>> {
    Rpc::ALL.iter().map(|_| Tally::new()).collect()
}

/// Drives `mix` in open loop for the soak's whole intervals, sampling at the end of each: the calls completed in
/// it, each server process's VmRSS, their CPU time, and the machine's stalls.
pub(super) async fn drive(
    mix: Arc<Mix>,
    soak: Soak,
    concurrency: usize,
    cluster: &mut Cluster,
    pids: &[u32],
    engine: &str,
) -> anyhow::Result<Driven> {
    let shared = Arc::new(Mutex::new(Shared {
        interval: Tally::new()?,
        rpcs: tallies()?,
        thirds: [tallies()?, tallies()?, tallies()?],
        third: 0,
    }));
    let count = u32::try_from(soak.intervals()).context("too many intervals")?;
    let start = Instant::now();
    let end = start + soak.interval * count;
    let next = Arc::new(AtomicU64::new(0));
    // A JoinSet: should a sample fail, dropping it stops the workers.
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let (mix, shared, next) = (mix.clone(), shared.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(seq as f64 / soak.rate);
                if due >= end || Instant::now() >= end + OVERRUN {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let started = Instant::now();
                let (rpc, result) = mix.call(worker, seq).await;
                // As in `load`: a wake-up late by at most the timer's tick is the timer's, not the server's.
                let timer_lateness = started.saturating_duration_since(due).min(TIMER_GRANULARITY);
                let latency = due.elapsed().saturating_sub(timer_lateness);
                let mut shared = lock(&shared);
                let third = shared.third;
                shared.interval.record(&result, latency);
                shared.rpcs[rpc.index()].record(&result, latency);
                shared.thirds[third][rpc.index()].record(&result, latency);
            }
        });
    }

    let bounds = thirds(count as usize);
    let mut intervals = Vec::with_capacity(count as usize);
    let mut cpu_before = total_cpu(pids)?;
    let mut sampled_at = start;
    for i in 1..=count {
        let meter = HiccupMeter::start()?;
        let at = start + soak.interval * i;
        tokio::time::sleep_until(at).await;
        let machine_stalls = meter.finish();
        if i == count {
            // The last interval takes the calls that were due before the end and answered after it.
            while let Some(joined) = workers.join_next().await {
                joined.context("a soak worker failed")?;
            }
        }
        let tally = {
            let mut shared = lock(&shared);
            // The calls completing from now on belong to the next interval, and so to its third.
            shared.third = bounds.iter().position(|third| third.contains(&(i as usize))).unwrap_or(2);
            std::mem::replace(&mut shared.interval, Tally::new()?)
        };
        let now = Instant::now();
        let cpu_now = total_cpu(pids)?;
        let rss_kib =
            pids.iter().map(|pid| procs::memory(*pid).map(|m| m.rss_kib)).collect::<anyhow::Result<Vec<_>>>()?;
        cluster.check_alive()?;
        let seconds = now.duration_since(sampled_at).as_secs_f64().max(1e-3);
        let interval = Interval {
            end_s: at.duration_since(start).as_secs_f64(),
            ok: tally.ok,
            errors: tally.errors.values().sum(),
            per_s: tally.ok as f64 / soak.interval.as_secs_f64(),
            p50_ms: tally.latency.value_at_quantile(0.5) as f64 / 1e3,
            p99_ms: tally.latency.value_at_quantile(0.99) as f64 / 1e3,
            max_ms: tally.latency.max() as f64 / 1e3,
            rss_kib,
            server_cpu: cpu_now.saturating_sub(cpu_before).as_secs_f64() / seconds,
            machine_stalls,
            latency: tally.latency,
        };
        let rss: Vec<String> = cluster
            .processes()
            .iter()
            .zip(&interval.rss_kib)
            .map(|((process, _), kib)| format!("{process} {}", fmt_mib(*kib)))
            .collect();
        eprintln!(
            "liaison-bench: {engine} — soak {} of {} s: {} calls/s, p50 {} ms, p99 {} ms, errors {}, RSS {}",
            fmt_secs(interval.end_s),
            fmt_secs(soak.interval.as_secs_f64() * f64::from(count)),
            fmt_rate(interval.per_s),
            fmt_ms(interval.p50_ms),
            fmt_ms(interval.p99_ms),
            interval.errors,
            rss.join(", ")
        );
        intervals.push(interval);
        cpu_before = cpu_now;
        sampled_at = now;
    }
    let mut shared = lock(&shared);
    Ok(Driven { intervals, rpcs: std::mem::take(&mut shared.rpcs), thirds: std::mem::take(&mut shared.thirds) })
}

pub(super) fn total_cpu(pids: &[u32]) -> anyhow::Result<Duration> {
    pids.iter().map(|pid| procs::cpu_time(*pid)).sum()
}
