//! What a figure counts and a recommendation cites: records of the read model as they were when the report was
//! generated, kept with the report (so a report explains itself the same way forever), and shown to each caller
//! with the confidential cases outside their team redacted — counted, never named.
use liaison_proto::reporting::v1 as wire;
use liaison_runtime::auth::case_access::Access;

/// One record a figure counts, as stored with the report.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Evidence {
    #[prost(string, tag = "1")]
    pub resource: String,
    #[prost(string, tag = "2")]
    pub source: String,
    #[prost(int64, tag = "3")]
    pub sequence: i64,
    /// Microseconds since the epoch.
    #[prost(int64, tag = "4")]
    pub change_time: i64,
    #[prost(string, tag = "5")]
    pub note: String,
    /// Part of a confidential case: only `team` (its mediator and case team) and those who see every
    /// confidential record may see it named.
    #[prost(bool, tag = "6")]
    pub confidential: bool,
    #[prost(string, repeated, tag = "7")]
    pub team: Vec<String>,
}

/// The evidence of one figure, as stored (one row per figure).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EvidenceList {
    #[prost(message, repeated, tag = "1")]
    pub records: Vec<Evidence>,
}

impl Evidence {
    /// The record as `viewer` may see it.
    pub fn to_wire(&self, viewer: &Access) -> wire::EvidenceRecord {
        let visible = !self.confidential
            || viewer.all
            || viewer.contact.as_deref().is_some_and(|me| self.team.iter().any(|m| m == me));
        let change_time = Some(prost_types::Timestamp {
            seconds: self.change_time.div_euclid(1_000_000),
            nanos: (self.change_time.rem_euclid(1_000_000) * 1_000) as i32,
        });
        if visible {
            wire::EvidenceRecord {
                resource: self.resource.clone(),
                source: self.source.clone(),
                change_sequence: self.sequence,
                change_time,
                note: self.note.clone(),
                redacted: false,
            }
        } else {
            // The source and sequence would let a caller fetch the change from the feed; they go too.
            wire::EvidenceRecord { redacted: true, ..Default::default() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(confidential: bool) -> Evidence {
        Evidence {
            resource: "cases/1".into(),
            source: "mediation".into(),
            sequence: 4,
            change_time: 1_500_000,
            note: "opened".into(),
            confidential,
            team: vec!["contacts/mediator".into()],
        }
    }

    #[test]
    fn a_confidential_case_is_named_only_to_its_team_and_to_those_who_see_all() {
        let outsider = Access { all: false, contact: Some("contacts/other".into()) };
        let member = Access { all: false, contact: Some("contacts/mediator".into()) };
        let admin = Access { all: true, contact: None };
        let hidden = record(true).to_wire(&outsider);
        assert!(hidden.redacted && hidden.resource.is_empty() && hidden.note.is_empty() && hidden.change_sequence == 0);
        assert_eq!(record(true).to_wire(&member).resource, "cases/1");
        assert_eq!(record(true).to_wire(&admin).resource, "cases/1");
        let open = record(false).to_wire(&outsider);
        assert_eq!((open.resource.as_str(), open.redacted), ("cases/1", false));
        assert_eq!(open.change_time, Some(prost_types::Timestamp { seconds: 1, nanos: 500_000_000 }));
    }
}
