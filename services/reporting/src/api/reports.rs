//! Reports: generate (parse, check the scope is known, compute, store once per request id), read (with each
//! recommendation's evidence as the caller may see it), list, explain a figure (one stored chunk per page),
//! compare two, render.
use super::{ReportingApi, access, caller_subject};
use crate::domain::evidence::Evidence;
use crate::domain::{Period, ReportKind, Scope, compare};
use crate::generate::{Subject, compose};
use crate::render::{self, Format};
use crate::store::reports::{CHUNK, recommendation_key};
use liaison_proto::reporting::v1::*;
use liaison_runtime::Error;
use liaison_runtime::api::error::FieldViolation;
use liaison_runtime::api::names::{Name, Reports};
use liaison_runtime::api::paging;
use liaison_runtime::api::validate::{RequestId, required_text};
use liaison_runtime::auth::case_access::Access;
use liaison_runtime::db::idempotency;

/// Evidence records per ExplainFigure page unless asked otherwise.
const EXPLAIN_PAGE: u64 = 100;
/// Longer than any figure's id (`meetings.held`, `cases.by_category.access`).
const FIGURE_ID_MAX: usize = 200;

fn report_name(field: &str, value: &str) -> Result<Name<Reports>, Error> {
    Name::parse(field, value).map_err(Error::from_violation)
}

/// Evidence records a recommendation carries in a report at most; all of them are listed by
/// `ExplainFigure(report, "recommendation:<id>")`.
const CITED: usize = 100;

/// Fills each recommendation's evidence (its first [`CITED`] records), as `viewer` may see it.
fn with_evidence(mut report: Report, evidence: Vec<(String, Vec<Evidence>)>, viewer: &Access) -> Report {
    for recommendation in &mut report.recommendations {
        if let Some((_, records)) = evidence.iter().find(|(id, _)| *id == recommendation.id) {
            recommendation.evidence = records.iter().take(CITED).map(|e| e.to_wire(viewer)).collect();
        }
    }
    report
}

impl ReportingApi {
    pub(super) async fn generate(&self, request: GenerateReportRequest) -> Result<GenerateReportResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let mut violations: Vec<FieldViolation> = Vec::new();
        let kind = ReportKind::parse("kind", request.kind).map_err(|v| violations.push(v)).ok();
        let scope = Scope::parse("scope", request.scope.as_ref()).map_err(|v| violations.push(v)).ok();
        let period = Period::parse(request.start_time.as_ref(), request.end_time.as_ref(), &request.time_zone)
            .map_err(|v| violations.extend(v))
            .ok();
        let request_id =
            RequestId::parse_optional("request_id", &request.request_id).map_err(|v| violations.push(v)).ok();
        let (Some(kind), Some(scope), Some(period), Some(request_id)) = (kind, scope, period, request_id) else {
            return Err(Error::InvalidArgument(violations));
        };
        self.check_scope("scope", &scope).await?;
        let subject = Subject { kind, scope, period };
        let (report, computed) = compose(&self.store, &subject, &caller_subject(), self.now(), None).await?;
        let stored = self.store.save_report(report, &computed, request_id.as_ref(), &fingerprint).await?;
        let name = report_name("name", &stored.name)?;
        let evidence = self.store.recommendation_evidence(&name).await?;
        Ok(GenerateReportResponse { report: Some(with_evidence(stored, evidence, &access())) })
    }

    pub(super) async fn get_report(&self, request: GetReportRequest) -> Result<GetReportResponse, Error> {
        let name = report_name("name", &request.name)?;
        let report = self.store.report(&name).await?;
        let evidence = self.store.recommendation_evidence(&name).await?;
        Ok(GetReportResponse { report: Some(with_evidence(report, evidence, &access())) })
    }

    pub(super) async fn list_reports(&self, request: ListReportsRequest) -> Result<ListReportsResponse, Error> {
        let mut violations = Vec::new();
        let schedule = if request.schedule.is_empty() {
            None
        } else {
            Name::<liaison_runtime::api::names::ReportSchedules>::parse("schedule", &request.schedule)
                .map_err(|v| violations.push(v))
                .ok()
        };
        let scope = format!("reports:{}", request.schedule);
        let page = paging::parse(request.page_size, &request.page_token, &scope).map_err(|v| violations.extend(v)).ok();
        let Some(page) = page.filter(|_| violations.is_empty()) else { return Err(Error::InvalidArgument(violations)) };
        let rows = self
            .store
            .list_reports(schedule.map(|s| s.to_string()).as_deref(), page.after.as_deref(), page.size + 1)
            .await?;
        let (reports, next_page_token) = paging::page(
            rows,
            page.size,
            &scope,
            |(id, _)| id.clone(),
            |(_, report)| Report {
                sections: Vec::new(),
                recommendations: report
                    .recommendations
                    .iter()
                    .map(|r| Recommendation { evidence: Vec::new(), ..r.clone() })
                    .collect(),
                ..report.clone()
            },
        );
        Ok(ListReportsResponse { reports, next_page_token })
    }

    pub(super) async fn explain(&self, request: ExplainFigureRequest) -> Result<ExplainFigureResponse, Error> {
        let mut violations = Vec::new();
        let name = Name::<Reports>::parse("report", &request.report).map_err(|v| violations.push(v)).ok();
        if request.figure.is_empty() {
            violations.push(FieldViolation::new(
                "figure",
                "is required: the id of a figure of the report, e.g. meetings.held",
            ));
        } else if let Err(bad) = required_text("figure", &request.figure, FIGURE_ID_MAX) {
            violations.push(bad);
        }
        let size = match request.page_size {
            None => Ok(EXPLAIN_PAGE),
            some => paging::page_size("page_size", some),
        }
        .map_err(|v| violations.push(v))
        .ok();
        let scope = format!("explain:{}:{}", request.report, request.figure);
        let offset = if request.page_token.is_empty() {
            Some(0)
        } else {
            paging::parse(None, &request.page_token, &scope)
                .map_err(|v| violations.extend(v))
                .ok()
                .and_then(|p| p.after)
                .and_then(|after| after.parse::<usize>().ok())
        };
        let (Some(name), Some(size), Some(offset)) = (name, size, offset) else {
            if violations.is_empty() {
                violations.push(FieldViolation::new("page_token", "is not a token of this figure"));
            }
            return Err(Error::InvalidArgument(violations));
        };
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations));
        }
        let report = self.store.report(&name).await?;
        let figure = report.sections.iter().flat_map(|s| &s.figures).find(|f| f.id == request.figure).cloned();
        let recommendation = report.recommendations.iter().find(|r| recommendation_key(&r.id) == request.figure);
        if figure.is_none() && recommendation.is_none() {
            return Err(Error::invalid(
                "figure",
                format!("{} has no figure '{}' (see its sections' figures)", name, request.figure),
            ));
        }
        let figure = figure.unwrap_or_else(|| Figure {
            id: request.figure.clone(),
            label: recommendation.map(|r| r.title.clone()).unwrap_or_default(),
            ..Default::default()
        });
        let viewer = access();
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let mut evidence = Vec::new();
        let mut method = None;
        let mut position = offset;
        // Read chunk after chunk from the one holding `offset` until the page is full or the records end.
        while evidence.len() < size {
            let Some((chunk_method, records)) =
                self.store.evidence_chunk(&name, &request.figure, (position / CHUNK) as i32).await?
            else {
                break;
            };
            method.get_or_insert(chunk_method);
            let before = evidence.len();
            evidence.extend(records.iter().skip(position % CHUNK).take(size - before).map(|r| r.to_wire(&viewer)));
            position += evidence.len() - before;
            if evidence.len() == before || records.len() < CHUNK {
                break;
            }
        }
        let has_more = evidence.len() == size
            && self
                .store
                .evidence_chunk(&name, &request.figure, (position / CHUNK) as i32)
                .await?
                .is_some_and(|(_, records)| records.len() > position % CHUNK);
        let method = match method {
            Some(method) => method,
            None => self.store.evidence_chunk(&name, &request.figure, 0).await?.map(|(m, _)| m).unwrap_or_default(),
        };
        let next_page_token = if has_more { paging::next_token(&scope, &position.to_string()) } else { String::new() };
        Ok(ExplainFigureResponse { figure: Some(figure), method, evidence, next_page_token })
    }

    pub(super) async fn compare(&self, request: CompareReportsRequest) -> Result<CompareReportsResponse, Error> {
        let mut violations = Vec::new();
        let base = Name::<Reports>::parse("base", &request.base).map_err(|v| violations.push(v)).ok();
        let other = Name::<Reports>::parse("other", &request.other).map_err(|v| violations.push(v)).ok();
        let (Some(base), Some(other)) = (base, other) else { return Err(Error::InvalidArgument(violations)) };
        let base = self.store.report(&base).await?;
        let other = self.store.report(&other).await?;
        Ok(compare::compare(&base, &other))
    }

    pub(super) async fn render(&self, request: RenderReportRequest) -> Result<RenderReportResponse, Error> {
        let mut violations = Vec::new();
        let name = Name::<Reports>::parse("report", &request.report).map_err(|v| violations.push(v)).ok();
        let format = match RenderFormat::try_from(request.format) {
            Ok(RenderFormat::Markdown) => Some(Format::Markdown),
            Ok(RenderFormat::Csv) => Some(Format::Csv),
            Ok(RenderFormat::Html) => Some(Format::Html),
            _ => {
                violations.push(FieldViolation::new("format", "must be MARKDOWN, CSV or HTML"));
                None
            }
        };
        let (Some(name), Some(format)) = (name, format) else { return Err(Error::InvalidArgument(violations)) };
        let report = self.store.report(&name).await?;
        let evidence = self.store.recommendation_evidence(&name).await?;
        let report = with_evidence(report, evidence, &access());
        let files = render::render(&report, format).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(RenderReportResponse {
            files: files
                .into_iter()
                .map(|f| RenderedFile {
                    file_name: f.file_name,
                    content_type: f.content_type.to_owned(),
                    content: f.content,
                })
                .collect(),
        })
    }
}
