//! The cluster the service tests run: contacts, scheduling and mediation on their own databases, reporting
//! following their change feeds, and helpers that create what reports count.
use liaison_contacts::Contacts;
use liaison_mediation::Mediation;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::*;
use liaison_proto::mediation::v1::mediation_service_client::MediationServiceClient;
use liaison_proto::mediation::v1::{Case, Category, OpenCaseRequest, Severity};
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_proto::reporting::v1::{Dashboard, GetDashboardRequest, GetIngestionStatusRequest, SourceStatus};
use liaison_proto::scheduling::v1::scheduling_service_client::SchedulingServiceClient;
use liaison_proto::scheduling::v1::{CreateMeetingRequest, Meeting};
use liaison_reporting::Reporting;
use liaison_runtime::config::Peers;
use liaison_runtime::service::Running;
use liaison_scheduling::Scheduling;
use liaison_testkit::{Call, Engine, TestDatabase, channel, spawn};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub(crate) struct Cluster {
    pub(crate) dbs: [TestDatabase; 4],
    pub(crate) contacts: Option<Running>,
    pub(crate) scheduling: Running,
    pub(crate) mediation: Running,
    pub(crate) reporting: Option<Running>,
    pub(crate) contacts_client: ContactsServiceClient<Channel>,
}

impl Cluster {
    pub(crate) async fn start(engine: Engine) -> Self {
        let mut dbs = Vec::new();
        for _ in 0..4 {
            dbs.push(TestDatabase::new(engine).await.unwrap());
        }
        let dbs: [TestDatabase; 4] = dbs.try_into().ok().unwrap();
        let contacts = spawn::<Contacts>(&dbs[0], Peers::default()).await;
        let to_contacts = Peers { contacts: Some(contacts.url()), ..Default::default() };
        let scheduling = spawn::<Scheduling>(&dbs[1], to_contacts.clone()).await;
        let to_both = Peers { scheduling: Some(scheduling.url()), ..to_contacts };
        let mediation = spawn::<Mediation>(&dbs[2], to_both).await;
        let mut cluster = Self {
            contacts_client: ContactsServiceClient::new(channel(&contacts)),
            contacts: Some(contacts),
            scheduling,
            mediation,
            reporting: None,
            dbs,
        };
        cluster.start_reporting().await;
        cluster
    }

    pub(crate) fn peers(&self) -> Peers {
        Peers {
            contacts: self.contacts.as_ref().map(Running::url),
            scheduling: Some(self.scheduling.url()),
            mediation: Some(self.mediation.url()),
        }
    }

    pub(crate) async fn start_reporting(&mut self) {
        let peers = self.peers();
        self.reporting = Some(spawn::<Reporting>(&self.dbs[3], peers).await);
    }

    pub(crate) fn reporting(&self) -> ReportingServiceClient<Channel> {
        ReportingServiceClient::new(channel(self.reporting.as_ref().unwrap()))
    }

    pub(crate) async fn dashboard(&self) -> Dashboard {
        self.reporting().get_dashboard(GetDashboardRequest::default()).ok().await.dashboard.unwrap()
    }

    pub(crate) async fn sources(&self) -> Vec<SourceStatus> {
        self.reporting().get_ingestion_status(GetIngestionStatusRequest {}).ok().await.sources
    }

    /// Waits until the dashboard shows exactly these counts; returns how long it took.
    pub(crate) async fn expect_counts(
        &self,
        organizations: i64,
        contacts: i64,
        meetings: i64,
        open_cases: i64,
    ) -> Duration {
        let started = Instant::now();
        let want = (organizations, contacts, meetings, open_cases);
        let mut last = None;
        let found = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                let d = self.dashboard().await;
                let got = (d.organization_count, d.contact_count, d.meeting_count, d.open_case_count);
                if got == want {
                    return;
                }
                last = Some(got);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "dashboard never showed {want:?}; last {last:?}");
        started.elapsed()
    }

    pub(crate) async fn contact(&mut self, name: &str) -> String {
        self.contacts_client
            .create_contact(CreateContactRequest {
                contact: Some(Contact { display_name: name.into(), ..Default::default() }),
                request_id: String::new(),
            })
            .ok()
            .await
            .contact
            .unwrap()
            .name
    }

    pub(crate) async fn organization(&mut self, name: &str) -> String {
        self.contacts_client
            .create_organization(CreateOrganizationRequest {
                organization: Some(Organization {
                    display_name: name.into(),
                    kind: OrganizationKind::Ngo as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .ok()
            .await
            .organization
            .unwrap()
            .name
    }

    pub(crate) async fn meeting(&self, participants: Vec<String>) {
        // Each meeting in an hour of its own, so that the same people may meet again.
        static NEXT_HOUR: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let start = 1_800_000_000 + 3600 * NEXT_HOUR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SchedulingServiceClient::new(channel(&self.scheduling))
            .create_meeting(CreateMeetingRequest {
                meeting: Some(Meeting {
                    title: "Sync".into(),
                    start_time: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
                    end_time: Some(prost_types::Timestamp { seconds: start + 1800, nanos: 0 }),
                    time_zone: "America/Toronto".into(),
                    participants,
                    ..Default::default()
                }),
                request_id: String::new(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    pub(crate) async fn case(&self, parties: Vec<String>) {
        MediationServiceClient::new(channel(&self.mediation))
            .open_case(OpenCaseRequest {
                case: Some(Case {
                    title: "Boundary".into(),
                    parties,
                    category: Category::Other as i32,
                    severity: Severity::Low as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
}
