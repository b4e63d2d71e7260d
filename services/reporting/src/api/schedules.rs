//! Report schedules: create (every bad field named; the first run computed from the cadence), list, delete.
use super::ReportingApi;
use crate::domain::schedule::Cadence;
use crate::domain::{ReportKind, Scope};
use crate::store::schedules::to_timestamp;
use liaison_proto::reporting::v1::*;
use liaison_runtime::Error;
use liaison_runtime::api::error::FieldViolation;
use liaison_runtime::api::names::{Name, ReportSchedules};
use liaison_runtime::api::paging;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::idempotency;

impl ReportingApi {
    pub(super) async fn create_schedule(
        &self,
        request: CreateReportScheduleRequest,
    ) -> Result<CreateReportScheduleResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let mut violations: Vec<FieldViolation> = Vec::new();
        let request_id =
            RequestId::parse_optional("request_id", &request.request_id).map_err(|v| violations.push(v)).ok();
        let Some(schedule) = request.schedule.as_ref() else {
            violations.insert(0, FieldViolation::new("schedule", "is required"));
            return Err(Error::InvalidArgument(violations));
        };
        let kind = ReportKind::parse("schedule.kind", schedule.kind).map_err(|v| violations.push(v)).ok();
        let scope = Scope::parse("schedule.scope", schedule.scope.as_ref()).map_err(|v| violations.push(v)).ok();
        let cadence = Cadence::parse(schedule.cadence, schedule.day, &schedule.time_of_day, &schedule.time_zone)
            .map_err(|problems| {
                violations.extend(
                    problems.into_iter().map(|p| FieldViolation::new(format!("schedule.{}", p.field), p.description)),
                )
            })
            .ok();
        let (Some(kind), Some(scope), Some(cadence), Some(request_id)) = (kind, scope, cadence, request_id) else {
            return Err(Error::InvalidArgument(violations));
        };
        self.check_scope("schedule.scope", &scope).await?;
        let now = self.now();
        let after = crate::domain::facts::timestamp(now.timestamp_micros());
        let next = cadence
            .next_due(after)
            .map_err(|e| Error::invalid("schedule", format!("no next run can be computed: {e}")))?;
        let name = Name::<ReportSchedules>::generate();
        let stored = ReportSchedule {
            name: name.to_string(),
            kind: kind.to_wire() as i32,
            scope: Some(scope.to_wire()),
            cadence: schedule.cadence,
            day: schedule.day,
            time_of_day: cadence.time_of_day_text(),
            time_zone: cadence.zone_name.clone(),
            next_run_time: Some(to_timestamp(next.as_microsecond())),
            last_report: String::new(),
            create_time: Some(to_timestamp(now.timestamp_micros())),
        };
        let stored = self.store.create_schedule(name, stored, request_id.as_ref(), &fingerprint).await?;
        Ok(CreateReportScheduleResponse { schedule: Some(stored) })
    }

    pub(super) async fn list_schedules(
        &self,
        request: ListReportSchedulesRequest,
    ) -> Result<ListReportSchedulesResponse, Error> {
        let scope = "reportSchedules";
        let page = paging::parse(request.page_size, &request.page_token, scope).map_err(Error::InvalidArgument)?;
        let rows = self.store.list_schedules(page.after.as_deref(), page.size + 1).await?;
        let (schedules, next_page_token) =
            paging::page(rows, page.size, scope, |(id, _)| id.clone(), |(_, s)| s.clone());
        Ok(ListReportSchedulesResponse { schedules, next_page_token })
    }

    pub(super) async fn delete_schedule(
        &self,
        request: DeleteReportScheduleRequest,
    ) -> Result<DeleteReportScheduleResponse, Error> {
        let name = Name::<ReportSchedules>::parse("name", &request.name).map_err(Error::from_violation)?;
        self.store.delete_schedule(&name).await?;
        Ok(DeleteReportScheduleResponse {})
    }
}
