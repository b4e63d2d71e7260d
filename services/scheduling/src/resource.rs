//! How stored meetings look on the wire and in the change feed.
use crate::store::StoredMeeting;
use liaison_proto::scheduling::v1::Meeting;
use liaison_runtime::api::etag;
use liaison_runtime::api::time::to_timestamp;

impl liaison_runtime::db::resource::Resource for StoredMeeting {
    type Wire = Meeting;
    fn resource_name(&self) -> String {
        format!("meetings/{}", self.meeting.id)
    }
    fn to_wire(&self) -> Meeting {
        meeting(self)
    }
}

pub fn meeting(stored: &StoredMeeting) -> Meeting {
    let m = &stored.meeting;
    Meeting {
        name: liaison_runtime::db::resource::Resource::resource_name(stored),
        title: m.title.clone(),
        start_time: Some(to_timestamp(m.start_time)),
        end_time: Some(to_timestamp(m.end_time)),
        time_zone: m.time_zone.clone(),
        participants: stored.participants.clone(),
        etag: etag::render(m.revision),
        create_time: Some(to_timestamp(m.create_time)),
        update_time: Some(to_timestamp(m.update_time)),
    }
}
