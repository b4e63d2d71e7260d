//! Property tests of the names this service writes: an action item's name, and the meeting it names, parse back
//! with the runtime's parsers to the ids they were written from.
use super::*;
use liaison_runtime::api::names::{ActionItems, Meetings, Name};
use liaison_runtime::db::resource::Resource;
use proptest::prelude::*;

fn ids() -> impl Strategy<Value = uuid::Uuid> {
    any::<u128>().prop_map(uuid::Uuid::from_u128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_action_items_names_parse_back_to_their_ids(id in ids(), meeting in proptest::option::of(ids())) {
        let now = chrono::DateTime::UNIX_EPOCH;
        let row = action_item::Model {
            id: id.to_string(),
            description: String::new(),
            owner: String::new(),
            due_time: None,
            meeting_id: meeting.map(|m| m.to_string()),
            position: 0,
            state: "open".into(),
            completion_note: String::new(),
            close_time: None,
            revision: 1,
            create_time: now,
            update_time: now,
        };
        let wire = action_item(&row);
        prop_assert_eq!(&wire.name, &row.resource_name());
        prop_assert_eq!(Name::<ActionItems>::parse("name", &wire.name).map(|n| n.id()), Ok(id));
        match meeting {
            Some(meeting) => prop_assert_eq!(Name::<Meetings>::parse("meeting", &wire.meeting).map(|n| n.id()), Ok(meeting)),
            None => prop_assert_eq!(wire.meeting, ""),
        }
    }
}
