//! Property tests of the names this service writes: a prevention action's and a note's names parse back, with the
//! runtime's parser of children of cases, to the case and the id they were written from (and as nothing else).
use super::*;
use liaison_runtime::api::names::{Cases, Child, Name, Notes, PreventionActions, Proposals};
use proptest::prelude::*;

fn ids() -> impl Strategy<Value = uuid::Uuid> {
    any::<u128>().prop_map(uuid::Uuid::from_u128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn child_names_parse_back_to_their_case_and_id(case in ids(), id in ids()) {
        let now = chrono::DateTime::UNIX_EPOCH;
        let action = prevention_action::Model {
            id: id.to_string(),
            case_id: case.to_string(),
            description: String::new(),
            owner: String::new(),
            due_time: now,
            state: 0,
            defer_reason: String::new(),
            revision: 1,
            create_time: now,
            update_time: now,
        };
        let name = prevention_action(&action).name;
        let parsed = Child::<Cases, PreventionActions>::parse("name", &name);
        prop_assert_eq!(parsed.map(|c| (c.parent().id(), c.key())), Ok((case, id.to_string())));
        prop_assert!(Child::<Cases, Notes>::parse("name", &name).is_err());
        prop_assert!(Name::<Cases>::parse("name", &name).is_err());

        let row = note::Model {
            id: id.to_string(),
            case_id: case.to_string(),
            text: String::new(),
            visibility: 0,
            author: String::new(),
            create_time: now,
        };
        let name = note(&row).name;
        let parsed = Child::<Cases, Notes>::parse("name", &name);
        prop_assert_eq!(parsed.map(|c| (c.parent().id(), c.key())), Ok((case, id.to_string())));
        prop_assert!(Child::<Cases, Proposals>::parse("name", &name).is_err());
    }
}
