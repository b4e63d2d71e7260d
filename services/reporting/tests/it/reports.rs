//! Reports through the real cluster: the test builds an office's quarter through the other services' APIs,
//! computes what every figure must say from what it created, and checks the generated report, its evidence, its
//! recommendations, its immutability, a rebuild of the read model, scopes, rendering and bad input.
use crate::cluster::Cluster;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::*;
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::*;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::reporting::v1::*;
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::*;
use liaison_testkit::{Call, Engine, channel, on_both_databases};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const DAY: i64 = 86_400;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The office the test builds, and the names it needs afterwards.
struct Office {
    cluster: Cluster,
    contacts: ContactsServiceClient<Channel>,
    scheduling: SchedulingServiceClient<Channel>,
    mediation: MediationServiceClient<Channel>,
    reporting: ReportingServiceClient<Channel>,
    names: BTreeMap<&'static str, String>,
    steering: Vec<String>,
    cases: Vec<String>,
}

impl Office {
    async fn open(engine: Engine) -> Self {
        let cluster = Cluster::start(engine).await;
        Self {
            contacts: ContactsServiceClient::new(channel(cluster.contacts.as_ref().unwrap())),
            scheduling: SchedulingServiceClient::new(channel(&cluster.scheduling)),
            mediation: MediationServiceClient::new(channel(&cluster.mediation)),
            reporting: cluster.reporting(),
            cluster,
            names: BTreeMap::new(),
            steering: Vec::new(),
            cases: Vec::new(),
        }
    }

    fn name(&self, key: &str) -> String {
        self.names[key].clone()
    }

    async fn organization(&mut self, key: &'static str, labels: &[&str]) {
        let organization = Organization {
            display_name: key.into(),
            kind: OrganizationKind::GovernmentBody as i32,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            ..Default::default()
        };
        let request = CreateOrganizationRequest { organization: Some(organization), request_id: String::new() };
        let name = self.contacts.create_organization(request).ok().await.organization.unwrap().name;
        self.names.insert(key, name);
    }

    async fn person(&mut self, key: &'static str, organization: Option<&str>) {
        let contact = Contact { display_name: key.into(), ..Default::default() };
        let request = CreateContactRequest { contact: Some(contact), request_id: String::new() };
        let name = self.contacts.create_contact(request).ok().await.contact.unwrap().name;
        if let Some(org) = organization {
            let affiliation = Affiliation { contact: name.clone(), organization: self.name(org), ..Default::default() };
            let request = CreateAffiliationRequest { affiliation: Some(affiliation), request_id: String::new() };
            self.contacts.create_affiliation(request).ok().await;
        }
        self.names.insert(key, name);
    }

    async fn interaction(&mut self, who: &str, channel: InteractionChannel, at: i64, follow_up: bool) {
        let interaction = Interaction {
            channel: channel as i32,
            direction: InteractionDirection::Outbound as i32,
            occur_time: ts(at),
            participants: vec![self.name(who)],
            subject: "Catch-up".into(),
            follow_up: follow_up.then(|| FollowUp {
                action: "Send the minutes".into(),
                owner: self.name("otto"),
                due_date: Some(Date { year: 2030, month: 1, day: 15 }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = CreateInteractionRequest { interaction: Some(interaction), request_id: String::new() };
        self.contacts.create_interaction(request).ok().await;
    }

    async fn meeting(&mut self, title: &str, start: i64, attendees: &[&str]) -> String {
        let meeting = Meeting {
            title: title.into(),
            start_time: ts(start),
            end_time: ts(start + 3600),
            time_zone: "Europe/London".into(),
            organizer: self.name("otto"),
            attendees: attendees.iter().map(|a| Attendee { contact: self.name(a), ..Default::default() }).collect(),
            ..Default::default()
        };
        let request = CreateMeetingRequest { meeting: Some(meeting), ..Default::default() };
        self.scheduling.create_meeting(request).ok().await.meeting.unwrap().name
    }

    async fn complete(&mut self, meeting: &str, present: &[&str]) {
        let request = CompleteMeetingRequest {
            name: meeting.into(),
            minutes: "Minutes".into(),
            attendance: present.iter().map(|p| self.name(p)).collect(),
            ..Default::default()
        };
        self.scheduling.complete_meeting(request).ok().await;
    }

    async fn action_item(&mut self, owner: &str, due: i64) -> String {
        let item = ActionItem {
            description: "Follow up".into(),
            owner: self.name(owner),
            due_time: ts(due),
            ..Default::default()
        };
        let request = CreateActionItemRequest { action_item: Some(item), request_id: String::new() };
        self.scheduling.create_action_item(request).ok().await.action_item.unwrap().name
    }

    async fn commitment(&mut self, title: &str, due: i64, close_with: Option<i32>) {
        let commitment = Commitment {
            title: title.into(),
            stakeholder: self.name("Ministry"),
            owner: self.name("otto"),
            due_time: ts(due),
            kind: CommitmentKind::Informal as i32,
            ..Default::default()
        };
        let request = CreateCommitmentRequest { commitment: Some(commitment), request_id: String::new() };
        let name = self.scheduling.create_commitment(request).ok().await.commitment.unwrap().name;
        if let Some(satisfaction) = close_with {
            for state in [CommitmentState::Assessed, CommitmentState::InProgress, CommitmentState::Closed] {
                let satisfaction = if state == CommitmentState::Closed { satisfaction } else { 0 };
                let request = TransitionCommitmentRequest {
                    name: name.clone(),
                    state: state as i32,
                    satisfaction,
                    ..Default::default()
                };
                self.scheduling.transition_commitment(request).ok().await;
            }
        }
    }

    async fn case(&mut self, title: &str, confidential: bool, to_root_cause: bool) {
        let case = Case {
            title: title.into(),
            parties: vec![self.name("alice"), self.name("bob")],
            category: Category::CommunicationBreakdown as i32,
            severity: Severity::Medium as i32,
            confidential,
            ..Default::default()
        };
        let name = self
            .mediation
            .open_case(OpenCaseRequest { case: Some(case), request_id: String::new() })
            .ok()
            .await
            .case
            .unwrap()
            .name;
        if to_root_cause {
            let c = &mut self.mediation;
            c.acknowledge_case(AcknowledgeCaseRequest { name: name.clone(), ..Default::default() }).ok().await;
            c.assess_case(AssessCaseRequest { name: name.clone(), eligible: true, ..Default::default() }).ok().await;
            let assign =
                AssignMediatorRequest { name: name.clone(), mediator: self.names["mia"].clone(), ..Default::default() };
            c.assign_mediator(assign).ok().await;
            c.start_mediation(StartMediationRequest { name: name.clone(), ..Default::default() }).ok().await;
            let cause = RootCause {
                category: Category::CommunicationBreakdown as i32,
                analysis: "No notice".into(),
                ..Default::default()
            };
            c.record_root_cause(RecordRootCauseRequest {
                name: name.clone(),
                root_cause: Some(cause),
                ..Default::default()
            })
            .ok()
            .await;
        }
        self.cases.push(name);
    }

    async fn feedback(&mut self, subject: &str, rating: i32) {
        let feedback = Feedback { subject: subject.into(), author: self.name("alice"), rating, ..Default::default() };
        self.reporting
            .submit_feedback(SubmitFeedbackRequest { feedback: Some(feedback), request_id: String::new() })
            .ok()
            .await;
    }

    /// Waits until reporting has applied every change each source has made so far, counted in the sources'
    /// databases: on PostgreSQL a feed serves a change only once every older transaction of the server has ended
    /// (other tests' included), so what a feed serves now may still miss the last writes.
    async fn caught_up(&self) {
        use sea_orm::{ConnectionTrait, Statement};
        let mut made = Vec::new();
        for database in &self.cluster.dbs[..3] {
            let db = liaison_runtime::db::Db::connect(database.url()).await.unwrap();
            let sql = Statement::from_string(db.conn().get_database_backend(), "SELECT COUNT(*) AS n FROM changes");
            let row = db.conn().query_one_raw(sql).await.unwrap().unwrap();
            made.push(row.try_get::<i64>("", "n").unwrap());
        }
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let status = self.cluster.sources().await;
                if status.iter().zip(&made).all(|(s, made)| s.applied_count >= *made) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "reporting never applied the {made:?} changes the sources made");
    }

    async fn generate(&mut self, kind: ReportKind, scope: Option<scope::Selector>, start: i64, end: i64) -> Report {
        let request = GenerateReportRequest {
            kind: kind as i32,
            scope: scope.map(|selector| Scope { selector: Some(selector) }),
            start_time: ts(start),
            end_time: ts(end),
            time_zone: "Europe/London".into(),
            request_id: String::new(),
        };
        self.reporting.generate_report(request).ok().await.report.unwrap()
    }

    async fn explain(&mut self, report: &Report, figure: &str) -> BTreeSet<String> {
        let request = ExplainFigureRequest { report: report.name.clone(), figure: figure.into(), ..Default::default() };
        self.reporting.explain_figure(request).ok().await.evidence.into_iter().map(|e| e.resource).collect()
    }
}

/// Builds the quarter; returns the period's start.
async fn build_the_quarter(office: &mut Office) -> i64 {
    let t = now();
    office.organization("Ministry", &["ministry"]).await;
    office.organization("Agency", &[]).await;
    office.organization("Dormant", &[]).await;
    office.person("alice", Some("Ministry")).await;
    office.person("bob", Some("Agency")).await;
    office.person("carol", None).await;
    office.person("mia", None).await;
    office.person("otto", None).await;
    // Engagement: the Ministry twice by email, the Agency 45 days ago (before the period), carol with a follow-up.
    office.interaction("alice", InteractionChannel::Email, t - 2 * DAY, false).await;
    office.interaction("alice", InteractionChannel::Email, t - 3 * DAY, false).await;
    office.interaction("bob", InteractionChannel::PhoneCall, t - 45 * DAY, false).await;
    office.interaction("carol", InteractionChannel::Video, t - DAY, true).await;
    // Meetings: a steering group losing people (its organiser otto is an attendee too: 4/4, 3/4, 2/4), one
    // cancelled, one not yet held.
    for (week, present) in
        [(20, &["otto", "alice", "bob", "carol"][..]), (13, &["otto", "alice", "bob"][..]), (6, &["otto", "alice"][..])]
    {
        let meeting = office.meeting("Steering group", t - week * DAY, &["alice", "bob", "carol"]).await;
        office.complete(&meeting, present).await;
        office.steering.push(meeting);
    }
    let cancelled = office.meeting("Sync", t - 4 * DAY, &["alice", "bob"]).await;
    let request = CancelMeetingRequest { name: cancelled, reason: "Strike".into(), ..Default::default() };
    office.scheduling.cancel_meeting(request).ok().await;
    let upcoming = office.meeting("Sync", t + 2 * 3600, &["alice", "bob"]).await;
    office.names.insert("upcoming", upcoming);
    // Action items: otto has three overdue; alice finished hers on time.
    for _ in 0..3 {
        office.action_item("otto", t - DAY).await;
    }
    let done = office.action_item("alice", t + 5 * DAY).await;
    let request = SetActionItemStateRequest { name: done, state: ActionItemState::Done as i32, ..Default::default() };
    office.scheduling.set_action_item_state(request).ok().await;
    // Commitments: one overdue, one open, two closed with low satisfaction.
    office.commitment("Publish the plan", t - 2 * DAY, None).await;
    office.commitment("Fund the hall", t + 10 * DAY, None).await;
    office.commitment("Fix the road", t + 10 * DAY, Some(1)).await;
    office.commitment("Open the library", t + 10 * DAY, Some(2)).await;
    // A project of the Ministry: one milestone late, one met, one still running.
    let project = Project {
        display_name: "Community hall".into(),
        owning_organization: office.name("Ministry"),
        start_time: ts(t - 60 * DAY),
        target_end_time: ts(t + 90 * DAY),
        planned_budget: Some(Money { currency_code: "EUR".into(), units: 1000, nanos: 0 }),
        actual_budget: Some(Money { currency_code: "EUR".into(), units: 400, nanos: 0 }),
        ..Default::default()
    };
    let request = CreateProjectRequest { project: Some(project), request_id: String::new() };
    let project = office.scheduling.create_project(request).ok().await.project.unwrap().name;
    for (title, due, done) in
        [("Design", t - 3 * DAY, true), ("Permit", t + 3 * DAY, true), ("Build", t + 20 * DAY, false)]
    {
        let milestone = Milestone { title: title.into(), due_time: ts(due), ..Default::default() };
        let request =
            CreateMilestoneRequest { parent: project.clone(), milestone: Some(milestone), ..Default::default() };
        let created = office.scheduling.create_milestone(request).ok().await.milestone.unwrap();
        let (status, percent) = if done { (MilestoneStatus::Done, 100) } else { (MilestoneStatus::InProgress, 50) };
        let update =
            Milestone { name: created.name, status: status as i32, percent_complete: percent, ..Default::default() };
        let mask = prost_types::FieldMask { paths: vec!["status".into(), "percent_complete".into()] };
        office
            .scheduling
            .update_milestone(UpdateMilestoneRequest {
                milestone: Some(update),
                update_mask: Some(mask),
                ..Default::default()
            })
            .ok()
            .await;
    }
    office.names.insert("project", project);
    // Mediation: three cases with the same root cause (one confidential), one just opened and escalated.
    office.case("Noise", false, true).await;
    office.case("Parking", true, true).await;
    office.case("Fence", false, true).await;
    office.case("Hedge", false, false).await;
    let escalate = EscalateCaseRequest {
        name: office.cases[3].clone(),
        reason: "Urgent".into(),
        escalate_to: "Director".into(),
        ..Default::default()
    };
    office.mediation.escalate_case(escalate).ok().await;
    office.caught_up().await;
    // Feedback on two steering meetings and the Ministry.
    let (first, second) = (office.steering[0].clone(), office.steering[1].clone());
    office.feedback(&first, 5).await;
    office.feedback(&second, 4).await;
    let ministry = office.name("Ministry");
    office.feedback(&ministry, 2).await;
    t - 30 * DAY
}

fn figures(report: &Report) -> BTreeMap<String, f64> {
    report.sections.iter().flat_map(|s| &s.figures).map(|f| (f.id.clone(), f.value)).collect()
}

on_both_databases!(
    a_report_states_what_the_office_did_and_explains_every_figure,
    bad_report_requests_name_every_field_and_store_nothing
);

async fn a_report_states_what_the_office_did_and_explains_every_figure(engine: Engine) {
    let mut office = Office::open(engine).await;
    let start = build_the_quarter(&mut office).await;
    let end = now() + 7 * DAY;
    let report = office.generate(ReportKind::ExecutiveSummary, None, start, end).await;
    let got = figures(&report);
    let (ministry, agency, dormant, otto) =
        (office.name("Ministry"), office.name("Agency"), office.name("Dormant"), office.name("otto"));
    // The truth, from what the test did above.
    let truth: Vec<(String, f64)> = vec![
        ("engagement.interactions".into(), 3.0),
        (format!("engagement.interactions{{organization={ministry},channel=EMAIL}}"), 2.0),
        ("engagement.interactions{organization=(none),channel=VIDEO}".into(), 1.0),
        ("engagement.unengaged{days=30}".into(), 2.0),
        ("engagement.unengaged{days=60}".into(), 1.0),
        ("engagement.unengaged{days=90}".into(), 1.0),
        ("engagement.health{band=active}".into(), 1.0),
        ("engagement.health{band=cooling}".into(), 1.0),
        ("engagement.health{band=at_risk}".into(), 0.0),
        ("engagement.health{band=dormant}".into(), 1.0),
        ("engagement.open_follow_ups".into(), 1.0),
        ("engagement.new_contacts".into(), 5.0),
        ("meetings.held".into(), 3.0),
        ("meetings.cancelled".into(), 1.0),
        ("meetings.not_recorded".into(), 1.0),
        ("meetings.attendance_rate".into(), 75.0),
        ("action_items.created".into(), 4.0),
        ("action_items.done".into(), 1.0),
        ("action_items.on_time_rate".into(), 100.0),
        ("action_items.overdue".into(), 3.0),
        (format!("action_items.overdue{{owner={otto}}}"), 3.0),
        ("commitments.open".into(), 2.0),
        ("commitments.overdue".into(), 1.0),
        ("commitments.closed".into(), 2.0),
        ("commitments.satisfaction".into(), 1.5),
        ("projects.milestones_due".into(), 2.0),
        ("projects.milestones_met".into(), 1.0),
        ("projects.milestones_late".into(), 1.0),
        (format!("projects.percent_complete{{project={}}}", office.name("project")), 83.333),
        ("projects.budget_planned{currency=EUR}".into(), 1000.0),
        ("projects.budget_actual{currency=EUR}".into(), 400.0),
        ("mediation.opened".into(), 4.0),
        ("mediation.resolved".into(), 0.0),
        ("mediation.escalated".into(), 1.0),
        ("mediation.open{age=0-7}".into(), 4.0),
        ("mediation.open{stage=ROOT_CAUSE_RECORDED}".into(), 3.0),
        ("mediation.root_cause{category=COMMUNICATION_BREAKDOWN}".into(), 3.0),
        ("mediation.prevention_actions_outstanding".into(), 0.0),
        ("feedback.count".into(), 3.0),
        ("feedback.mean_rating".into(), 3.667),
        ("feedback.mean_rating{subject_type=meetings}".into(), 4.5),
        ("feedback.mean_rating{subject_type=organizations}".into(), 2.0),
    ];
    let wrong: Vec<String> = truth
        .iter()
        .filter(|(id, value)| got.get(id) != Some(value))
        .map(|(id, value)| format!("{id}: expected {value}, report says {:?}", got.get(id)))
        .collect();
    assert!(wrong.is_empty(), "figures that differ from the truth:\n{}", wrong.join("\n"));

    // Each rule fired on the data made to trigger it, and no other did.
    let rules: BTreeSet<String> = report.recommendations.iter().map(|r| r.id.clone()).collect();
    let expected: BTreeSet<String> = [
        format!("unengaged-organization:{dormant}"),
        format!("overloaded-owner:{otto}"),
        format!("falling-attendance:{otto}/steering group"),
        "low-satisfaction-commitments:period".to_owned(),
        "recurring-root-cause:COMMUNICATION_BREAKDOWN".to_owned(),
    ]
    .into();
    assert_eq!(rules, expected);
    let recurring = report.recommendations.iter().find(|r| r.rule == "recurring-root-cause").unwrap();
    let cited: BTreeSet<String> = recurring.evidence.iter().map(|e| e.resource.clone()).collect();
    assert_eq!(cited, office.cases[..3].iter().cloned().collect(), "an administrator sees every case it cites");
    assert!(!recurring.detail.contains("LIA-"), "a rule about cases never names one: {}", recurring.detail);

    // Evidence: the records each figure counts.
    assert_eq!(office.explain(&report, "meetings.held").await, office.steering.iter().cloned().collect());
    assert_eq!(
        office.explain(&report, "engagement.unengaged{days=30}").await,
        [agency.clone(), dormant.clone()].into()
    );
    let explained = office
        .reporting
        .explain_figure(ExplainFigureRequest {
            report: report.name.clone(),
            figure: "action_items.overdue".into(),
            page_size: Some(2),
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!(explained.evidence.len(), 2);
    assert!(
        !explained.method.is_empty()
            && explained.evidence.iter().all(|e| e.source == "scheduling" && e.change_sequence > 0)
    );
    let rest = office
        .reporting
        .explain_figure(ExplainFigureRequest {
            report: report.name.clone(),
            figure: "action_items.overdue".into(),
            page_token: explained.next_page_token,
            ..Default::default()
        })
        .ok()
        .await;
    assert_eq!((rest.evidence.len(), rest.next_page_token.as_str()), (1, ""));
    let unknown =
        ExplainFigureRequest { report: report.name.clone(), figure: "meetings.imaginary".into(), ..Default::default() };
    assert_eq!(office.reporting.explain_figure(unknown).err().await.code(), Code::InvalidArgument);

    // A scope: the Ministry's people and what they take part in.
    let scoped = office
        .generate(ReportKind::Engagement, Some(scope::Selector::Organization(ministry.clone())), start, end)
        .await;
    let scoped_figures = figures(&scoped);
    assert_eq!(scoped_figures["engagement.interactions"], 2.0);
    assert_eq!(scoped_figures["engagement.unengaged{days=30}"], 0.0);
    let labelled =
        office.generate(ReportKind::Engagement, Some(scope::Selector::Label("ministry".into())), start, end).await;
    assert_eq!(figures(&labelled)["engagement.interactions"], 2.0);

    // The snapshot never changes; a new report sees the change, and the comparison says what changed.
    let upcoming = office.name("upcoming");
    office
        .scheduling
        .cancel_meeting(CancelMeetingRequest { name: upcoming, reason: "Rain".into(), ..Default::default() })
        .ok()
        .await;
    office.caught_up().await;
    let again = office.reporting.get_report(GetReportRequest { name: report.name.clone() }).ok().await.report.unwrap();
    assert_eq!(again, report, "a published report never changes");
    let later = office.generate(ReportKind::ExecutiveSummary, None, start, end).await;
    assert_eq!(figures(&later)["meetings.cancelled"], 2.0);
    let diff = office
        .reporting
        .compare_reports(CompareReportsRequest { base: report.name.clone(), other: later.name.clone() })
        .ok()
        .await;
    let changed: BTreeMap<String, f64> = diff.changes.iter().map(|c| (c.figure.clone(), c.delta)).collect();
    assert_eq!(changed.get("meetings.cancelled"), Some(&1.0), "{changed:?}");
    assert_eq!(changed.get("meetings.not_recorded"), Some(&-1.0), "{changed:?}");

    // Rebuilding the read model from zero gives the same report.
    office.reporting.rebuild_read_model(RebuildReadModelRequest {}).ok().await;
    office.caught_up().await;
    let rebuilt = office.generate(ReportKind::ExecutiveSummary, None, start, end).await;
    let diff = office
        .reporting
        .compare_reports(CompareReportsRequest { base: later.name.clone(), other: rebuilt.name.clone() })
        .ok()
        .await;
    assert!(
        diff.changes.is_empty() && diff.new_recommendations.is_empty() && diff.resolved_recommendations.is_empty(),
        "{diff:?}"
    );

    // Rendering: Markdown and HTML carry the title; CSV is one file per section.
    for format in [RenderFormat::Markdown, RenderFormat::Html] {
        let files = office
            .reporting
            .render_report(RenderReportRequest { report: report.name.clone(), format: format as i32 })
            .ok()
            .await
            .files;
        assert_eq!(files.len(), 1);
        assert!(String::from_utf8_lossy(&files[0].content).contains(&report.title), "{format:?}");
    }
    let csv = office
        .reporting
        .render_report(RenderReportRequest { report: report.name.clone(), format: RenderFormat::Csv as i32 })
        .ok()
        .await
        .files;
    assert_eq!(csv.len(), report.sections.len());

    // Feedback summaries and lists.
    let steering = office.steering[0].clone();
    let summary = office
        .reporting
        .summarize_feedback(SummarizeFeedbackRequest { subject_type: "meetings".into(), ..Default::default() })
        .ok()
        .await
        .summary
        .unwrap();
    assert_eq!((summary.count, summary.mean_rating, summary.distribution), (2, 4.5, vec![0, 0, 0, 1, 1]));
    let listed =
        office.reporting.list_feedback(ListFeedbackRequest { subject: steering, ..Default::default() }).ok().await;
    assert_eq!(listed.feedback.iter().map(|f| f.rating).collect::<Vec<_>>(), [5]);
    let dashboard = office
        .reporting
        .get_dashboard(GetDashboardRequest {
            scope: Some(Scope { selector: Some(scope::Selector::Organization(ministry)) }),
        })
        .ok()
        .await
        .dashboard
        .unwrap();
    assert_eq!((dashboard.organization_count, dashboard.contact_count, dashboard.open_case_count), (1, 1, 4));
}

async fn bad_report_requests_name_every_field_and_store_nothing(engine: Engine) {
    let mut office = Office::open(engine).await;
    let t = now();
    let bad = GenerateReportRequest {
        kind: 0,
        scope: Some(Scope {
            selector: Some(scope::Selector::Organization("organizations/0193a5b2-7c1d-7000-8000-000000000001".into())),
        }),
        start_time: ts(t),
        end_time: ts(t - DAY),
        time_zone: "Mars/Olympus".into(),
        request_id: String::new(),
    };
    let status = office.reporting.generate_report(bad.clone()).err().await;
    let fields = bad_fields(&status);
    assert_eq!(fields, ["kind", "time_zone", "end_time"]);
    // Well-formed but about an organisation reporting has never seen.
    let unknown = GenerateReportRequest {
        kind: ReportKind::Progress as i32,
        time_zone: String::new(),
        start_time: ts(t - DAY),
        end_time: ts(t),
        ..bad
    };
    assert_eq!(bad_fields(&office.reporting.generate_report(unknown).err().await), ["scope.organization"]);
    let feedback =
        Feedback { subject: "meetings/0193a5b2-7c1d-7000-8000-000000000009".into(), rating: 9, ..Default::default() };
    let status = office
        .reporting
        .submit_feedback(SubmitFeedbackRequest { feedback: Some(feedback), request_id: String::new() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["feedback.author", "feedback.rating", "feedback.subject"]);
    let render = RenderReportRequest { report: "reports/nope".into(), format: 0 };
    assert_eq!(bad_fields(&office.reporting.render_report(render).err().await), ["report", "format"]);
    let schedule = ReportSchedule {
        kind: 0,
        cadence: 0,
        day: 40,
        time_of_day: "25:00".into(),
        time_zone: "Nowhere".into(),
        ..Default::default()
    };
    let status = office
        .reporting
        .create_report_schedule(CreateReportScheduleRequest { schedule: Some(schedule), request_id: String::new() })
        .err()
        .await;
    assert_eq!(
        bad_fields(&status),
        ["schedule.kind", "schedule.cadence", "schedule.day", "schedule.time_of_day", "schedule.time_zone"]
    );
    let reports = office.reporting.list_reports(ListReportsRequest::default()).ok().await.reports;
    let feedback = office.reporting.list_feedback(ListFeedbackRequest::default()).ok().await.feedback;
    let schedules = office.reporting.list_report_schedules(ListReportSchedulesRequest::default()).ok().await.schedules;
    assert!(reports.is_empty() && feedback.is_empty() && schedules.is_empty(), "a rejected request writes nothing");
}

fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    details.bad_request().expect("a BadRequest").field_violations.iter().map(|v| v.field.clone()).collect()
}
