//! The rules of meetings, free of I/O: what a valid meeting is (here), recurrence (`recurrence`: RFC 5545 rules
//! expanded in local time and resolved in the meeting's zone) and finding times that suit everyone
//! (`availability`).
pub mod availability;
pub mod recurrence;
use chrono::{DateTime, Utc};
use liaison_runtime::api::names::{Contacts, Name, parse_list};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{TimeZone, required_text};
use liaison_runtime::{FieldViolation, PreconditionViolation, Validate};

pub const TITLE_MAX: usize = 200;
pub const PARTICIPANTS_MAX: usize = 200;
pub const LONGEST_MEETING: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// A meeting as a client asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeeting {
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub time_zone: TimeZone,
    pub participants: Vec<Name<Contacts>>,
}

impl NewMeeting {
    /// Every bad field named at once: the span (end after start, at most a week) is judged whenever both times
    /// parse, whatever else is wrong.
    pub fn parse(meeting: &liaison_proto::scheduling::v1::Meeting) -> Result<Self, Vec<FieldViolation>> {
        let start = from_timestamp("meeting.start_time", meeting.start_time.as_ref());
        let end = from_timestamp("meeting.end_time", meeting.end_time.as_ref());
        let span = match (&start, &end) {
            (Ok(start), Ok(end)) => check_span(*start, *end),
            _ => Ok(()),
        };
        let (title, start, end, time_zone, participants, ()) = (
            required_text("meeting.title", &meeting.title, TITLE_MAX),
            start,
            end,
            TimeZone::parse("meeting.time_zone", &meeting.time_zone),
            parse_list("meeting.participants", &meeting.participants, 1, PARTICIPANTS_MAX, Name::<Contacts>::parse),
            span,
        )
            .collect()?;
        Ok(Self { title, start, end, time_zone, participants })
    }
}

/// What contacts says of one participant, as far as a meeting cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantFacts {
    /// The name contacts answers with (a merged contact answers with its survivor's).
    pub name: String,
    /// Names merged into this contact.
    pub merged_names: Vec<String>,
    pub deleted: bool,
    pub do_not_contact: bool,
}

/// The participants who may be invited, and which of them asked not to be contacted (flagged in the answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invitable {
    pub do_not_contact: Vec<String>,
}

/// Why a participant cannot be invited; every one is named in one FAILED_PRECONDITION.
pub fn check_participants(
    asked: &[Name<Contacts>],
    found: &[ParticipantFacts],
    missing: &[String],
    allow_do_not_contact: bool,
) -> Result<Invitable, Vec<PreconditionViolation>> {
    let violation = |kind: &str, subject: &str, description: String| PreconditionViolation {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        description,
    };
    let mut violations = Vec::new();
    let mut invitable = Invitable::default();
    for name in asked.iter().map(ToString::to_string) {
        if missing.contains(&name) {
            violations.push(violation(PARTICIPANT_NOT_FOUND, &name, format!("participant {name} does not exist")));
            continue;
        }
        let Some(facts) = found.iter().find(|f| f.name == name || f.merged_names.contains(&name)) else {
            violations.push(violation(PARTICIPANT_NOT_FOUND, &name, format!("participant {name} does not exist")));
            continue;
        };
        if facts.name != name {
            violations.push(violation(
                PARTICIPANT_MERGED,
                &name,
                format!("participant {name} was merged into {}: invite {} instead", facts.name, facts.name),
            ));
        } else if facts.deleted {
            violations.push(violation(
                PARTICIPANT_DELETED,
                &name,
                format!("participant {name} is deleted: undelete the contact first, or leave them out"),
            ));
        } else if facts.do_not_contact {
            if allow_do_not_contact {
                invitable.do_not_contact.push(name);
            } else {
                violations.push(violation(
                    PARTICIPANT_DO_NOT_CONTACT,
                    &name,
                    format!(
                        "participant {name} asked not to be contacted: set allow_do_not_contact to invite them \
                         anyway"
                    ),
                ));
            }
        }
    }
    if violations.is_empty() { Ok(invitable) } else { Err(violations) }
}

/// The reason of the precondition failure when participants cannot be invited: the first violation's kind when
/// they all share it, else `PARTICIPANTS_NOT_INVITABLE`.
pub fn participants_reason(violations: &[PreconditionViolation]) -> &'static str {
    let kinds = [PARTICIPANT_NOT_FOUND, PARTICIPANT_DELETED, PARTICIPANT_MERGED, PARTICIPANT_DO_NOT_CONTACT];
    match violations.first() {
        Some(first) if violations.iter().all(|v| v.kind == first.kind) => {
            kinds.into_iter().find(|kind| *kind == first.kind).unwrap_or("PARTICIPANTS_NOT_INVITABLE")
        }
        _ => "PARTICIPANTS_NOT_INVITABLE",
    }
}

/// Another meeting a participant is already in at the time asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub participant: String,
    pub meeting: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub const MEETING_CONFLICT: &str = "MEETING_CONFLICT";

/// The precondition failure of a booking that overlaps participants' other meetings: one violation per
/// participant and meeting, saying when.
pub fn conflicts_error(conflicts: &[Conflict]) -> liaison_runtime::Error {
    let violations = conflicts
        .iter()
        .map(|c| PreconditionViolation {
            kind: MEETING_CONFLICT.to_owned(),
            subject: c.participant.clone(),
            description: format!(
                "{} is in {} from {} to {}; set allow_conflicts to book anyway",
                c.participant,
                c.meeting,
                c.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                c.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        })
        .collect();
    liaison_runtime::Error::FailedPrecondition { reason: MEETING_CONFLICT, violations }
}

pub const PARTICIPANT_NOT_FOUND: &str = "PARTICIPANT_NOT_FOUND";
pub const PARTICIPANT_DELETED: &str = "PARTICIPANT_DELETED";
pub const PARTICIPANT_MERGED: &str = "PARTICIPANT_MERGED";
pub const PARTICIPANT_DO_NOT_CONTACT: &str = "PARTICIPANT_DO_NOT_CONTACT";

/// A meeting ends after it starts and lasts at most a week.
pub fn check_span(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), FieldViolation> {
    if end <= start {
        return Err(FieldViolation::new("meeting.end_time", "must be after meeting.start_time"));
    }
    if end - start > LONGEST_MEETING {
        return Err(FieldViolation::new("meeting.end_time", "a meeting lasts at most 7 days"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::scheduling::v1::Meeting;

    fn meeting() -> Meeting {
        Meeting {
            title: "Quarterly review".into(),
            start_time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            end_time: Some(prost_types::Timestamp { seconds: 1_800_003_600, nanos: 0 }),
            time_zone: "Europe/Paris".into(),
            participants: vec![Name::<Contacts>::generate().to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn a_well_formed_meeting_parses() {
        assert!(NewMeeting::parse(&meeting()).is_ok());
    }

    #[test]
    fn a_meeting_that_ends_before_it_starts_is_rejected() {
        let mut m = meeting();
        m.end_time = m.start_time;
        assert!(NewMeeting::parse(&m).is_err());
    }

    #[test]
    fn a_meeting_longer_than_a_week_is_rejected() {
        let mut m = meeting();
        m.end_time = Some(prost_types::Timestamp { seconds: 1_800_000_000 + 8 * 86_400, nanos: 0 });
        assert!(NewMeeting::parse(&m).is_err());
    }

    #[test]
    fn a_meeting_without_participants_or_time_zone_names_both_fields() {
        let mut m = meeting();
        m.participants.clear();
        m.time_zone = "Atlantis/Capital".into();
        match NewMeeting::parse(&m) {
            Err(v) => {
                let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(fields, ["meeting.time_zone", "meeting.participants"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_end_before_the_start_is_named_together_with_every_other_bad_field() {
        let mut m = meeting();
        m.end_time = Some(prost_types::Timestamp { seconds: 1_799_990_000, nanos: 0 });
        m.title = " ".into();
        m.time_zone = "Atlantis/Capital".into();
        let fields: Vec<String> = NewMeeting::parse(&m).expect_err("refused").into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["meeting.title", "meeting.time_zone", "meeting.end_time"]);
    }

    fn facts(name: &Name<Contacts>) -> ParticipantFacts {
        ParticipantFacts { name: name.to_string(), merged_names: vec![], deleted: false, do_not_contact: false }
    }

    #[test]
    fn missing_deleted_merged_and_do_not_contact_participants_are_all_named_at_once() {
        let [present, missing, deleted, merged, survivor, unwilling] = std::array::from_fn(|_| Name::generate());
        let found = vec![
            facts(&present),
            ParticipantFacts { deleted: true, ..facts(&deleted) },
            ParticipantFacts { merged_names: vec![merged.to_string()], ..facts(&survivor) },
            ParticipantFacts { do_not_contact: true, ..facts(&unwilling) },
        ];
        let asked = [present, missing, deleted, merged, unwilling];
        let violations = check_participants(&asked, &found, &[missing.to_string()], false).expect_err("refused");
        let named: Vec<(&str, String)> = violations.iter().map(|v| (v.kind.as_str(), v.subject.clone())).collect();
        assert_eq!(
            named,
            [
                (PARTICIPANT_NOT_FOUND, missing.to_string()),
                (PARTICIPANT_DELETED, deleted.to_string()),
                (PARTICIPANT_MERGED, merged.to_string()),
                (PARTICIPANT_DO_NOT_CONTACT, unwilling.to_string()),
            ]
        );
        assert!(violations[2].description.contains(&survivor.to_string()), "the survivor is named");
        assert_eq!(participants_reason(&violations), "PARTICIPANTS_NOT_INVITABLE");
        assert_eq!(participants_reason(&violations[..1]), PARTICIPANT_NOT_FOUND);
    }

    #[test]
    fn a_do_not_contact_participant_is_invited_only_with_the_override_and_then_flagged() {
        let [willing, unwilling] = std::array::from_fn(|_| Name::generate());
        let found = vec![facts(&willing), ParticipantFacts { do_not_contact: true, ..facts(&unwilling) }];
        let asked = [willing, unwilling];
        assert!(check_participants(&asked, &found, &[], false).is_err());
        let invitable = check_participants(&asked, &found, &[], true).expect("overridden");
        assert_eq!(invitable.do_not_contact, [unwilling.to_string()]);
    }
}
