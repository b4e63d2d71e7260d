//! How stored meetings look on the wire and in the change feed.
use crate::store::StoredMeeting;
use liaison_proto::scheduling::v1::Meeting;
use liaison_runtime::etag;
use liaison_runtime::time::to_timestamp;

pub const MEETING_TYPE: &str = "liaison.scheduling.v1.Meeting";

pub fn meeting(stored: &StoredMeeting) -> Meeting {
    let m = &stored.meeting;
    Meeting {
        name: format!("meetings/{}", m.id),
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
