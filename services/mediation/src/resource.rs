//! How stored cases look on the wire and in the change feed.
use crate::domain::CaseState;
use crate::store::StoredCase;
use liaison_proto::mediation::v1::Case;
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;

impl liaison_runtime::db::resource::Resource for StoredCase {
    type Wire = Case;
    fn resource_name(&self) -> String {
        format!("cases/{}", self.case.id)
    }
    fn to_wire(&self) -> Case {
        case(self)
    }
}

pub fn case(stored: &StoredCase) -> Case {
    let c = &stored.case;
    Case {
        name: liaison_runtime::db::resource::Resource::resource_name(stored),
        title: c.title.clone(),
        description: c.description.clone(),
        parties: stored.parties.clone(),
        state: CaseState::from_stored(c.state).map(|s| s.wire() as i32).unwrap_or_default(),
        etag: etag::render(c.revision),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}
