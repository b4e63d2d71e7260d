//! How stored cases look on the wire and in the change feed.
use crate::domain::CaseState;
use crate::store::StoredCase;
use liaison_proto::mediation::v1::Case;
use liaison_runtime::etag;
use liaison_runtime::time::to_timestamp;

pub const CASE_TYPE: &str = "liaison.mediation.v1.Case";

pub fn case(stored: &StoredCase) -> Case {
    let c = &stored.case;
    Case {
        name: format!("cases/{}", c.id),
        title: c.title.clone(),
        description: c.description.clone(),
        parties: stored.parties.clone(),
        state: CaseState::from_stored(c.state).map(|s| s.wire() as i32).unwrap_or_default(),
        etag: etag::render(c.revision),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}
