//! The rules of meetings, free of I/O.
use chrono::{DateTime, Utc};
use liaison_runtime::api::names::{Contacts, Name, parse_list};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::api::validate::{TimeZone, required_text};
use liaison_runtime::{FieldViolation, Validate};

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
    pub fn parse(meeting: &liaison_proto::scheduling::v1::Meeting) -> Result<Self, Vec<FieldViolation>> {
        let (title, start, end, time_zone, participants) = (
            required_text("meeting.title", &meeting.title, TITLE_MAX),
            from_timestamp("meeting.start_time", meeting.start_time.as_ref()),
            from_timestamp("meeting.end_time", meeting.end_time.as_ref()),
            TimeZone::parse("meeting.time_zone", &meeting.time_zone),
            parse_list("meeting.participants", &meeting.participants, 1, PARTICIPANTS_MAX, Name::<Contacts>::parse),
        )
            .collect()?;
        check_span(start, end)?;
        Ok(Self { title, start, end, time_zone, participants })
    }
}

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
}
