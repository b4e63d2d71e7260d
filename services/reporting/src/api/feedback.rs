//! Feedback: submit (the subject must be known to the read model; once per request id), list newest first by
//! subject or subject type, summarise.
use super::ReportingApi;
use crate::domain::facts::{Kind, timestamp};
use crate::domain::feedback::{FeedbackRecord, NewFeedback, summarize};
use crate::store::feedback::Subjects;
use crate::store::schedules::to_timestamp;
use liaison_proto::reporting::v1::*;
use liaison_runtime::Error;
use liaison_runtime::api::error::FieldViolation;
use liaison_runtime::api::paging;
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::idempotency;

fn to_wire(record: &FeedbackRecord) -> Feedback {
    Feedback {
        name: record.name.clone(),
        subject: record.subject.clone(),
        author: record.author.clone(),
        rating: record.rating,
        comment: record.comment.clone(),
        tags: record.tags.clone(),
        create_time: Some(to_timestamp(record.create_time)),
    }
}

/// Parses the subject filters of a list or a summary: at most one of the two.
fn subjects(subject: &str, subject_type: &str, required: bool) -> Result<Subjects, FieldViolation> {
    match (subject.is_empty(), subject_type.is_empty()) {
        (false, false) => Err(FieldViolation::new("subject_type", "give subject or subject_type, not both")),
        (false, true) if Kind::of(subject).is_some() => Ok(Subjects::One(subject.to_owned())),
        (false, true) => {
            Err(FieldViolation::new("subject", format!("'{subject}' is not a resource name reporting knows")))
        }
        (true, false) if Kind::from_collection(subject_type).is_some() => Ok(Subjects::OfType(subject_type.to_owned())),
        (true, false) => Err(FieldViolation::new(
            "subject_type",
            format!(
                "'{subject_type}' is not a collection reporting knows (meetings, cases, organizations, commitments, …)"
            ),
        )),
        (true, true) if required => Err(FieldViolation::new("subject", "give subject or subject_type")),
        (true, true) => Ok(Subjects::All),
    }
}

impl ReportingApi {
    pub(super) async fn submit_feedback(
        &self,
        request: SubmitFeedbackRequest,
    ) -> Result<SubmitFeedbackResponse, Error> {
        let fingerprint = idempotency::fingerprint(&request);
        let caller = liaison_runtime::net::context::caller();
        let mut violations = Vec::new();
        let new = NewFeedback::parse(request.feedback.as_ref(), caller.identity.contact.as_deref())
            .map_err(|v| violations.extend(v))
            .ok();
        let request_id =
            RequestId::parse_optional("request_id", &request.request_id).map_err(|v| violations.push(v)).ok();
        // Whether the subject exists is asked even when other fields are bad, so that every problem is named.
        let subject = request.feedback.as_ref().map(|f| f.subject.trim()).unwrap_or_default();
        if Kind::of(subject).is_some() && !self.store.knows(subject).await? {
            violations.push(FieldViolation::new(
                "feedback.subject",
                format!("{subject} is not known to reporting (unknown, deleted, or not yet ingested)"),
            ));
        }
        let (Some(new), Some(request_id)) = (new, request_id) else { return Err(Error::InvalidArgument(violations)) };
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations));
        }
        let stored =
            self.store.submit_feedback(new, request_id.as_ref(), &fingerprint, self.now().timestamp_micros()).await?;
        Ok(SubmitFeedbackResponse { feedback: Some(to_wire(&stored)) })
    }

    pub(super) async fn list_feedback(&self, request: ListFeedbackRequest) -> Result<ListFeedbackResponse, Error> {
        let mut violations = Vec::new();
        let which = subjects(&request.subject, &request.subject_type, false).map_err(|v| violations.push(v)).ok();
        let scope = format!("feedback:{}:{}", request.subject, request.subject_type);
        let page = paging::parse(request.page_size, &request.page_token, &scope).map_err(|v| violations.extend(v)).ok();
        let (Some(which), Some(page)) = (which, page) else { return Err(Error::InvalidArgument(violations)) };
        let rows = self.store.list_feedback(&which, page.after.as_deref(), page.size + 1).await?;
        let (feedback, next_page_token) =
            paging::page(rows, page.size, &scope, |r| r.name.trim_start_matches("feedback/").to_owned(), to_wire);
        Ok(ListFeedbackResponse { feedback, next_page_token })
    }

    pub(super) async fn summarize_feedback(
        &self,
        request: SummarizeFeedbackRequest,
    ) -> Result<SummarizeFeedbackResponse, Error> {
        let mut violations = Vec::new();
        let which = subjects(&request.subject, &request.subject_type, true).map_err(|v| violations.push(v)).ok();
        let now = self.now().timestamp_micros();
        let mut bound = |field: &str, value: Option<&prost_types::Timestamp>, default: i64| match value {
            None => Some(default),
            some => liaison_runtime::api::time::from_timestamp(field, some)
                .map(|t| t.timestamp_micros())
                .map_err(|v| violations.push(v))
                .ok(),
        };
        let from = bound("start_time", request.start_time.as_ref(), i64::MIN);
        let until = bound("end_time", request.end_time.as_ref(), now.saturating_add(1));
        let zone = if request.time_zone.is_empty() {
            Some(jiff::tz::TimeZone::UTC)
        } else {
            liaison_runtime::api::validate::TimeZone::parse("time_zone", &request.time_zone)
                .ok()
                .and_then(|tz| jiff::tz::TimeZone::get(tz.name()).ok())
                .or_else(|| {
                    violations.push(FieldViolation::new(
                        "time_zone",
                        format!("'{}' is not an IANA time zone", request.time_zone),
                    ));
                    None
                })
        };
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            violations.push(FieldViolation::new("end_time", "must be after start_time"));
        }
        let (Some(which), Some(from), Some(until), Some(zone)) = (which, from, until, zone) else {
            return Err(Error::InvalidArgument(violations));
        };
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations));
        }
        let records = self.store.feedback_on(&which, from, until).await?;
        let week_of = |micros: i64| {
            let date = zone.to_datetime(timestamp(micros)).date();
            let week = date.iso_week_date();
            format!("{:04}-W{:02}", week.year(), week.week())
        };
        Ok(SummarizeFeedbackResponse { summary: Some(summarize(&records, week_of)) })
    }
}
