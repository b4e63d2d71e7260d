//! What happens to a meeting after it is booked, free of I/O: which changes its status allows, the requests that move,
//! confirm, cancel, answer and complete it, and the record of a meeting that took place — kept as one JSON document
//! with the meeting, corrected only with a reason that is kept beside it.
use super::{COMMENT_MAX, Collector, Rsvp, Status, check_span};
use chrono::{DateTime, Utc};
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{TimeZone, long_text, optional_text, required_text};
use liaison_runtime::{Error, FieldViolation, PreconditionViolation};
use serde::{Deserialize, Serialize};

pub const MINUTES_MAX: usize = 20_000;
pub const DECISIONS_MAX: usize = 100;
pub const DECISION_MAX: usize = 1000;
pub const ATTENDANCE_MAX: usize = 400;
pub const ACTION_ITEMS_MAX: usize = 100;
pub const REASON_MAX: usize = 500;

/// A meeting that is neither cancelled nor completed may still change; `what` says what was asked ("move",
/// "answer", …) for the message.
pub fn ensure_changeable(resource: &str, status: Status, what: &str) -> Result<(), Error> {
    match status {
        Status::Cancelled => {
            Err(precondition("MEETING_CANCELLED", resource, format!("{resource} is cancelled: cannot {what} it")))
        }
        Status::Completed => Err(precondition(
            "MEETING_COMPLETED",
            resource,
            format!("{resource} is completed: cannot {what} it (its record is changed with CorrectMeetingRecord)"),
        )),
        Status::Tentative | Status::Scheduled => Ok(()),
    }
}

pub fn precondition(reason: &'static str, subject: &str, description: String) -> Error {
    Error::FailedPrecondition {
        reason,
        violations: vec![PreconditionViolation { kind: reason.into(), subject: subject.to_owned(), description }],
    }
}

/// A move of a meeting to new times (and perhaps a new zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub time_zone: Option<TimeZone>,
}

impl Move {
    /// Every bad field at once; the span is judged whenever both times parse.
    pub fn parse(
        start: Option<&prost_types::Timestamp>,
        end: Option<&prost_types::Timestamp>,
        time_zone: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let start = bad.take(from_timestamp("start_time", start));
        let end = bad.take(from_timestamp("end_time", end));
        let time_zone = bad.take((!time_zone.is_empty()).then(|| TimeZone::parse("time_zone", time_zone)).transpose());
        if let (Some(start), Some(end)) = (start, end) {
            bad.take(check_span(start, end).map_err(|v| {
                FieldViolation::new("end_time", v.description.replace("meeting.start_time", "start_time"))
            }));
        }
        match (start, end, time_zone) {
            (Some(start), Some(end), Some(time_zone)) if bad.0.is_empty() => Ok(Self { start, end, time_zone }),
            _ => Err(bad.0),
        }
    }

    /// The agenda (minutes in order) still fits the new length.
    pub fn check_agenda(&self, agenda_minutes: impl IntoIterator<Item = i32>) -> Result<(), FieldViolation> {
        let total: i64 = agenda_minutes.into_iter().map(i64::from).sum();
        let length = (self.end - self.start).num_seconds();
        if total * 60 > length {
            return Err(FieldViolation::new(
                "end_time",
                format!(
                    "the meeting's agenda takes {total} minutes, longer than the new times allow ({} minutes)",
                    length / 60
                ),
            ));
        }
        Ok(())
    }
}

/// A reason (for a cancellation or a correction): required, at most [`REASON_MAX`] characters.
pub fn reason(field: &str, value: &str) -> Result<String, FieldViolation> {
    required_text(field, value, REASON_MAX)
}

/// An answer to an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub attendee: Name<Contacts>,
    pub rsvp: Rsvp,
    pub comment: String,
}

impl Answer {
    pub fn parse(attendee: &str, response: i32, comment: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let attendee = bad.take(Name::<Contacts>::parse("attendee", attendee));
        let rsvp = bad.take(rsvp("response", response));
        let comment = bad.take(optional_text("comment", comment, COMMENT_MAX));
        match (attendee, rsvp, comment) {
            (Some(attendee), Some(rsvp), Some(comment)) if bad.0.is_empty() => Ok(Self { attendee, rsvp, comment }),
            _ => Err(bad.0),
        }
    }
}

pub fn rsvp(field: &str, value: i32) -> Result<Rsvp, FieldViolation> {
    use liaison_proto::scheduling::v1::ResponseStatus;
    match ResponseStatus::try_from(value) {
        Ok(ResponseStatus::NeedsAction) => Ok(Rsvp::NeedsAction),
        Ok(ResponseStatus::Accepted) => Ok(Rsvp::Accepted),
        Ok(ResponseStatus::Declined) => Ok(Rsvp::Declined),
        Ok(ResponseStatus::Tentative) => Ok(Rsvp::Tentative),
        _ => Err(FieldViolation::new(field, "must be ACCEPTED, DECLINED, TENTATIVE or NEEDS_ACTION")),
    }
}

/// What a meeting that took place produced, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub minutes: String,
    pub decisions: Vec<String>,
    pub attendance: Vec<String>,
    pub action_items: Vec<String>,
    /// RFC 3339.
    pub complete_time: String,
    pub corrections: Vec<Correction>,
}

/// One correction of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// RFC 3339.
    pub correct_time: String,
    pub actor: String,
    pub reason: String,
    pub fields: Vec<String>,
}

impl Record {
    pub fn to_json(&self) -> String {
        // A struct of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored meeting record is unreadable: {e}")))
    }
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// An action item as a completed meeting (or CreateActionItem) asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActionItem {
    pub description: String,
    pub owner: Name<Contacts>,
    pub due: Option<DateTime<Utc>>,
}

pub const DESCRIPTION_MAX: usize = 1000;

impl NewActionItem {
    /// `prefix` is the path of the item in the request (`action_items[2]`, `action_item`).
    pub fn parse(
        prefix: &str,
        description: &str,
        owner: &str,
        due: Option<&prost_types::Timestamp>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let description = bad.take(required_text(&format!("{prefix}.description"), description, DESCRIPTION_MAX));
        let owner = bad.take(Name::<Contacts>::parse(&format!("{prefix}.owner"), owner));
        let due = bad.take(due.map(|due| from_timestamp(&format!("{prefix}.due_time"), Some(due))).transpose());
        match (description, owner, due) {
            (Some(description), Some(owner), Some(due)) if bad.0.is_empty() => Ok(Self { description, owner, due }),
            _ => Err(bad.0),
        }
    }
}

/// What CompleteMeeting records, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub minutes: String,
    pub decisions: Vec<String>,
    pub attendance: Vec<Name<Contacts>>,
    pub action_items: Vec<NewActionItem>,
}

impl Completion {
    pub fn parse(request: &liaison_proto::scheduling::v1::CompleteMeetingRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Collector(Vec::new());
        let minutes = bad.take(long_text("minutes", &request.minutes, MINUTES_MAX));
        let decisions = bad.take(decisions("decisions", &request.decisions));
        let attendance = bad.take(attendance("attendance", &request.attendance));
        let action_items = if request.action_items.len() > ACTION_ITEMS_MAX {
            bad.0.push(FieldViolation::new(
                "action_items",
                format!("must list at most {ACTION_ITEMS_MAX} action items (got {})", request.action_items.len()),
            ));
            None
        } else {
            let items: Vec<Option<NewActionItem>> = request
                .action_items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    bad.take(NewActionItem::parse(
                        &format!("action_items[{index}]"),
                        &item.description,
                        &item.owner,
                        item.due_time.as_ref(),
                    ))
                })
                .collect();
            items.into_iter().collect::<Option<Vec<_>>>()
        };
        match (minutes, decisions, attendance, action_items) {
            (Some(minutes), Some(decisions), Some(attendance), Some(action_items)) if bad.0.is_empty() => {
                Ok(Self { minutes, decisions, attendance, action_items })
            }
            _ => Err(bad.0),
        }
    }

    /// Every contact it names — attendance, then action item owners — once each, for one check with contacts.
    pub fn contacts(&self) -> Vec<Name<Contacts>> {
        let mut names = self.attendance.clone();
        for owner in self.action_items.iter().map(|item| item.owner) {
            if !names.contains(&owner) {
                names.push(owner);
            }
        }
        names
    }
}

pub fn decisions(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > DECISIONS_MAX {
        return Err(vec![FieldViolation::new(
            field,
            format!("must list at most {DECISIONS_MAX} decisions (got {})", values.len()),
        )]);
    }
    let mut bad = Collector(Vec::new());
    let parsed: Vec<Option<String>> = values
        .iter()
        .enumerate()
        .map(|(index, value)| bad.take(required_text(&format!("{field}[{index}]"), value, DECISION_MAX)))
        .collect();
    if bad.0.is_empty() { Ok(parsed.into_iter().flatten().collect()) } else { Err(bad.0) }
}

pub fn attendance(field: &str, values: &[String]) -> Result<Vec<Name<Contacts>>, Vec<FieldViolation>> {
    if values.len() > ATTENDANCE_MAX {
        return Err(vec![FieldViolation::new(
            field,
            format!("must list at most {ATTENDANCE_MAX} people (got {})", values.len()),
        )]);
    }
    let mut bad = Collector(Vec::new());
    let mut names: Vec<Name<Contacts>> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let entry = format!("{field}[{index}]");
        if let Some(name) = bad.take(Name::<Contacts>::parse(&entry, value)) {
            if names.contains(&name) {
                bad.0.push(FieldViolation::new(entry, format!("'{value}' is listed twice")));
            } else {
                names.push(name);
            }
        }
    }
    if bad.0.is_empty() { Ok(names) } else { Err(bad.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::scheduling::v1::{CompleteMeetingRequest, NewActionItem as WireItem};

    fn fields(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn a_move_names_every_bad_field_at_once() {
        let start = prost_types::Timestamp { seconds: 2_000_000_000, nanos: 0 };
        let before = prost_types::Timestamp { seconds: 1_999_999_000, nanos: 0 };
        let bad = Move::parse(Some(&start), Some(&before), "Mars/Olympus").unwrap_err();
        assert_eq!(fields(&bad), ["time_zone", "end_time"]);
        let missing = Move::parse(None, None, "").unwrap_err();
        assert_eq!(fields(&missing), ["start_time", "end_time"]);
    }

    #[test]
    fn a_move_keeps_the_zone_unless_one_is_given_and_checks_the_agenda() {
        let start = prost_types::Timestamp { seconds: 2_000_000_000, nanos: 0 };
        let end = prost_types::Timestamp { seconds: 2_000_001_800, nanos: 0 };
        let moved = Move::parse(Some(&start), Some(&end), "").unwrap();
        assert_eq!(moved.time_zone, None);
        assert!(moved.check_agenda([20, 10]).is_ok());
        let too_long = moved.check_agenda([20, 11]).unwrap_err();
        assert_eq!(too_long.field, "end_time");
        assert!(too_long.description.contains("31 minutes"), "{}", too_long.description);
    }

    #[test]
    fn an_answer_from_an_unparsable_attendee_with_no_response_names_both() {
        let bad = Answer::parse("people/1", 0, &"x".repeat(COMMENT_MAX + 1)).unwrap_err();
        assert_eq!(fields(&bad), ["attendee", "response", "comment"]);
    }

    #[test]
    fn a_completion_names_every_bad_field_and_duplicate_attendance() {
        let contact = Name::<Contacts>::generate().to_string();
        let request = CompleteMeetingRequest {
            decisions: vec!["ok".into(), "  ".into()],
            attendance: vec![contact.clone(), contact.clone(), "nobody".into()],
            action_items: vec![WireItem { description: String::new(), owner: "x".into(), due_time: None }],
            ..Default::default()
        };
        let bad = Completion::parse(&request).unwrap_err();
        assert_eq!(
            fields(&bad),
            ["decisions[1]", "attendance[1]", "attendance[2]", "action_items[0].description", "action_items[0].owner"]
        );
    }

    #[test]
    fn a_completion_lists_each_contact_once_for_the_check() {
        let (a, b) = (Name::<Contacts>::generate(), Name::<Contacts>::generate());
        let request = CompleteMeetingRequest {
            attendance: vec![a.to_string()],
            action_items: vec![
                WireItem { description: "draft".into(), owner: a.to_string(), due_time: None },
                WireItem { description: "send".into(), owner: b.to_string(), due_time: None },
            ],
            ..Default::default()
        };
        assert_eq!(Completion::parse(&request).unwrap().contacts(), [a, b]);
    }

    #[test]
    fn a_record_survives_its_json() {
        let record = Record {
            minutes: "Met; agreed.".into(),
            decisions: vec!["Go ahead".into()],
            attendance: vec!["contacts/1".into()],
            action_items: vec!["actionItems/2".into()],
            complete_time: rfc3339(Utc::now()),
            corrections: vec![Correction {
                correct_time: rfc3339(Utc::now()),
                actor: "officer-1".into(),
                reason: "typo".into(),
                fields: vec!["minutes".into()],
            }],
        };
        assert_eq!(Record::from_json(&record.to_json()).unwrap(), record);
        assert!(Record::from_json("{").is_err());
    }

    #[test]
    fn changeable_only_while_tentative_or_scheduled() {
        assert!(ensure_changeable("meetings/1", Status::Tentative, "move").is_ok());
        assert!(ensure_changeable("meetings/1", Status::Scheduled, "move").is_ok());
        for (status, reason) in [(Status::Cancelled, "MEETING_CANCELLED"), (Status::Completed, "MEETING_COMPLETED")] {
            match ensure_changeable("meetings/1", status, "move") {
                Err(Error::FailedPrecondition { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("{other:?}"),
            }
        }
    }
}
