//! Property tests of update masks: no path panics the parser; an accepted mask holds only updatable fields, each
//! once; a mask is refused exactly when it names something that is not updatable, each such path named.
use super::*;
use liaison_proto::contacts::v1::Contact;
use proptest::prelude::*;

const UPDATABLE: &[&str] = &["display_name", "notes", "labels", "time_zone", "given_name"];

/// The lowerCamelCase a JSON client sends for a snake_case field.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// Paths as clients write them (updatable or not, either case, padded) and any text.
fn paths() -> impl Strategy<Value = String> {
    let known = proptest::sample::select(UPDATABLE).prop_flat_map(|field| {
        prop_oneof![Just(field.to_owned()), Just(camel(field)), Just(format!(" {field} ")), Just(field.to_uppercase())]
    });
    prop_oneof![
        3 => known,
        1 => proptest::sample::select(&["name", "etag", "createTime", "*", " * ", "display_name.x", ""][..]).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => "[a-zA-Z_.*]{0,20}",
    ]
}

fn contacts() -> impl Strategy<Value = Contact> {
    (any::<String>(), any::<String>(), proptest::collection::vec(any::<String>(), 0..3), any::<String>()).prop_map(
        |(display_name, notes, labels, email)| Contact { display_name, notes, labels, email, ..Default::default() },
    )
}

fn mask(paths: Vec<String>) -> prost_types::FieldMask {
    prost_types::FieldMask { paths }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_accepted_mask_holds_only_updatable_fields_each_once(paths in proptest::collection::vec(paths(), 0..8), contact in contacts()) {
        let given = mask(paths.clone());
        match UpdateMask::parse("update_mask", Some(&given), &contact, UPDATABLE) {
            Ok(UpdateMask(fields)) => {
                prop_assert!(fields.iter().all(|f| UPDATABLE.contains(f)), "{fields:?}");
                let mut unique = fields.clone();
                unique.sort_unstable();
                unique.dedup();
                prop_assert_eq!(unique.len(), fields.len(), "no field twice: {:?}", fields);
                if paths.iter().any(|p| p.trim() == "*") {
                    prop_assert_eq!(fields, UPDATABLE.to_vec());
                } else if !paths.is_empty() {
                    // Exactly the fields named, in the order first named.
                    let mut named: Vec<&str> = Vec::new();
                    for path in &paths {
                        let snake = snake_case(path.trim());
                        if let Some(field) = UPDATABLE.iter().find(|u| **u == snake)
                            && !named.contains(field)
                        {
                            named.push(field);
                        }
                    }
                    prop_assert_eq!(fields, named);
                }
            }
            Err(violations) => {
                prop_assert!(!paths.iter().any(|p| p.trim() == "*"), "a star is always accepted");
                let unknown: Vec<String> = paths
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !UPDATABLE.contains(&snake_case(p.trim()).as_str()))
                    .map(|(i, _)| format!("update_mask.paths[{i}]"))
                    .collect();
                let fields: Vec<String> = violations.iter().map(|v| v.field.clone()).collect();
                prop_assert_eq!(fields, unknown);
                prop_assert!(violations.iter().all(|v| v.description.chars().count() < 200 + UPDATABLE.join(", ").len()));
            }
        }
    }

    #[test]
    fn every_updatable_field_is_accepted_in_snake_or_camel_case(field in proptest::sample::select(UPDATABLE), camel_case in any::<bool>()) {
        let path = if camel_case { camel(field) } else { field.to_owned() };
        let parsed = UpdateMask::parse("update_mask", Some(&mask(vec![path])), &Contact::default(), UPDATABLE);
        prop_assert_eq!(parsed, Ok(UpdateMask(vec![field])));
    }

    #[test]
    fn an_absent_mask_is_the_updatable_fields_the_request_sets(contact in contacts()) {
        let UpdateMask(fields) = UpdateMask::parse("update_mask", None, &contact, UPDATABLE)
            .map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let set = |field: &str| match field {
            "display_name" => !contact.display_name.is_empty(),
            "notes" => !contact.notes.is_empty(),
            "labels" => !contact.labels.is_empty(),
            _ => false,
        };
        let expected: Vec<&str> = UPDATABLE.iter().copied().filter(|f| set(f)).collect();
        prop_assert_eq!(fields, expected);
    }

    #[test]
    fn a_mask_of_too_many_paths_is_one_violation(extra in 1..50usize, path in paths()) {
        let paths = vec![path; MAX_PATHS + extra];
        let violations = UpdateMask::parse("update_mask", Some(&mask(paths)), &Contact::default(), UPDATABLE).err().unwrap_or_default();
        prop_assert_eq!(violations.len(), 1);
        prop_assert_eq!(violations[0].field.as_str(), "update_mask.paths");
    }
}
