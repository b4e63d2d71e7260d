//! Scheduled reports under a clock the test moves: each slot is generated once although two replicas look at the
//! schedules, and slots missed while no replica ran are generated on recovery, each once, saying they ran late.
use crate::cluster::Cluster;
use chrono::{DateTime, TimeZone, Utc};
use liaison_proto::reporting::v1::*;
use liaison_reporting::Reporting;
use liaison_runtime::service::ClockSource;
use liaison_testkit::{Call, Engine, channel, on_both_databases, spawn};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Seconds since the epoch, as the test sets them.
static NOW: AtomicI64 = AtomicI64::new(0);

struct TestClock;

impl ClockSource for TestClock {
    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(NOW.load(Ordering::SeqCst), 0).single().unwrap_or_default()
    }
}

fn set(y: i32, m: u32, d: u32, h: u32, min: u32) {
    NOW.store(Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp(), Ordering::SeqCst);
}

fn seconds(y: i32, m: u32, d: u32, h: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().timestamp()
}

type Client = reporting_service_client::ReportingServiceClient<tonic::transport::Channel>;

/// The schedule's reports now, oldest due first.
async fn listed(client: &mut Client, schedule: &str) -> Vec<Report> {
    let request = ListReportsRequest { schedule: schedule.into(), ..Default::default() };
    let mut reports = client.list_reports(request).ok().await.reports;
    reports.sort_by_key(|r| r.due_time.as_ref().map(|t| t.seconds));
    reports
}

/// Waits until the schedule has `count` reports, then two more looks at the schedules (each replica's), and
/// returns what is there: more than `count` would be a slot run twice.
async fn reports_of(client: &mut Client, schedule: &str, count: usize) -> Vec<Report> {
    for _ in 0..300 {
        if listed(client, schedule).await.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(2 * liaison_reporting::generate::SCHEDULE_PERIOD + Duration::from_millis(500)).await;
    listed(client, schedule).await
}

on_both_databases!(a_schedule_runs_each_slot_once_across_replicas_and_catches_up_late);

async fn a_schedule_runs_each_slot_once_across_replicas_and_catches_up_late(engine: Engine) {
    // One test at a time may move the clock: the two engines' runs share it.
    static CLOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _clock = CLOCK.lock().await;
    set(2027, 1, 4, 5, 0); // a Monday, an hour before the slot
    let cluster = Cluster::start(engine).await;
    let first = spawn::<Reporting<TestClock>>(&cluster.dbs[3], cluster.peers()).await;
    let second = spawn::<Reporting<TestClock>>(&cluster.dbs[3], cluster.peers()).await;
    let mut client = reporting_service_client::ReportingServiceClient::new(channel(&first));
    let schedule = ReportSchedule {
        kind: ReportKind::Progress as i32,
        cadence: Cadence::Weekly as i32,
        day: 1,
        time_of_day: "06:00".into(),
        time_zone: "Europe/London".into(),
        ..Default::default()
    };
    let request = CreateReportScheduleRequest { schedule: Some(schedule), request_id: "weekly".into() };
    let created = client.create_report_schedule(request.clone()).ok().await.schedule.unwrap();
    let again = client.create_report_schedule(request).ok().await.schedule.unwrap();
    assert_eq!(again.name, created.name, "a retried create makes one schedule");
    assert_eq!(created.next_run_time.as_ref().map(|t| t.seconds), Some(seconds(2027, 1, 4, 6)));

    // The slot comes: one report, on time, covering the week before.
    set(2027, 1, 4, 6, 1);
    let reports = reports_of(&mut client, &created.name, 1).await;
    assert_eq!(reports.len(), 1, "both replicas looked; one report: {reports:#?}");
    let report = &reports[0];
    assert!(!report.late);
    assert_eq!(report.start_time.as_ref().map(|t| t.seconds), Some(seconds(2026, 12, 28, 0)));
    assert_eq!(report.end_time.as_ref().map(|t| t.seconds), Some(seconds(2027, 1, 4, 0)));

    // Every replica is down for three weeks: on recovery the three missed slots run once each, late.
    first.stop().await.unwrap();
    second.stop().await.unwrap();
    set(2027, 1, 25, 7, 0);
    let first = spawn::<Reporting<TestClock>>(&cluster.dbs[3], cluster.peers()).await;
    let _second = spawn::<Reporting<TestClock>>(&cluster.dbs[3], cluster.peers()).await;
    let mut client = reporting_service_client::ReportingServiceClient::new(channel(&first));
    let reports = reports_of(&mut client, &created.name, 4).await;
    assert_eq!(reports.len(), 4, "each slot once: {:?}", reports.iter().map(|r| &r.due_time).collect::<Vec<_>>());
    let due: BTreeSet<i64> = reports.iter().filter_map(|r| r.due_time.as_ref().map(|t| t.seconds)).collect();
    let expected: BTreeSet<i64> = [4, 11, 18, 25].iter().map(|d| seconds(2027, 1, *d, 6)).collect();
    assert_eq!(due, expected);
    assert_eq!(reports.iter().map(|r| r.late).collect::<Vec<_>>(), [false, true, true, true]);
    let schedules = client.list_report_schedules(ListReportSchedulesRequest::default()).ok().await.schedules;
    assert_eq!(schedules[0].next_run_time.as_ref().map(|t| t.seconds), Some(seconds(2027, 2, 1, 6)));
    assert_eq!(schedules[0].last_report, reports[3].name);
    client.delete_report_schedule(DeleteReportScheduleRequest { name: created.name.clone() }).ok().await;
    assert!(client.list_report_schedules(ListReportSchedulesRequest::default()).ok().await.schedules.is_empty());
    let kept = listed(&mut client, &created.name).await;
    assert_eq!(kept.len(), 4, "a schedule's reports outlive it");
}
