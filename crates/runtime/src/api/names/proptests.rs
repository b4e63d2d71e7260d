//! Property tests of resource names: every id's name parses back to it, in its own collection only; no text panics
//! a parser; and whatever a parser accepts is exactly the name it writes (one spelling per name).
use super::*;
use proptest::prelude::*;

fn ids() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Text near names: collection segments, slashes, hex digits, hyphens, upper case, and any text at all.
fn name_like() -> impl Strategy<Value = String> {
    let near = prop_oneof![
        Just("contacts/".to_owned()),
        Just("organizations/".to_owned()),
        Just("cases/".to_owned()),
        Just("/proposals/".to_owned()),
        Just("/notes/".to_owned()),
        Just("/".to_owned()),
        Just("-".to_owned()),
        "[0-9a-fA-F]{1,12}",
        ids().prop_map(|id| id.to_string()),
        ids().prop_map(|id| id.simple().to_string()),
        ids().prop_map(|id| id.urn().to_string()),
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![proptest::collection::vec(near, 0..6).prop_map(|parts| parts.concat()), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_id_round_trips_through_its_name(id in ids()) {
        let name = Name::<Contacts>::from_id(id);
        prop_assert_eq!(name.to_string(), format!("contacts/{id}"));
        prop_assert_eq!(Name::<Contacts>::parse("name", &name.to_string()), Ok(name));
        prop_assert_eq!(Name::<Contacts>::parse("name", &name.to_string()).map(|n| n.id()), Ok(id));
        let case = Name::<Cases>::from_id(id);
        prop_assert_eq!(Name::<Cases>::parse("name", &case.to_string()), Ok(case));
        prop_assert_eq!(name.key(), id.to_string());
    }

    #[test]
    fn a_name_is_refused_in_every_other_collection(id in ids()) {
        let contact = Name::<Contacts>::from_id(id).to_string();
        prop_assert!(Name::<Organizations>::parse("name", &contact).is_err());
        prop_assert!(Name::<Meetings>::parse("name", &contact).is_err());
        prop_assert!(Name::<Cases>::parse("name", &contact).is_err());
        prop_assert!(Name::<Contacts>::parse("name", &contact.to_uppercase()).is_err(), "one spelling: lower case");
    }

    #[test]
    fn any_child_id_round_trips_through_its_name(parent in ids(), id in ids()) {
        let child = Child::<Cases, Proposals>::from_ids(Name::from_id(parent), id);
        prop_assert_eq!(child.to_string(), format!("cases/{parent}/proposals/{id}"));
        let parsed = Child::<Cases, Proposals>::parse("name", &child.to_string());
        prop_assert_eq!(&parsed, &Ok(child));
        prop_assert_eq!(parsed.map(|c| (c.parent().id(), c.key())), Ok((parent, id.to_string())));
        prop_assert!(Child::<Cases, Notes>::parse("name", &child.to_string()).is_err());
    }

    #[test]
    fn any_party_round_trips_as_a_contact_or_an_organization(id in ids(), organization in any::<bool>()) {
        let party = if organization {
            PartyName::Organization(Name::from_id(id))
        } else {
            PartyName::Contact(Name::from_id(id))
        };
        prop_assert_eq!(PartyName::parse("party", &party.to_string()), Ok(party));
    }

    #[test]
    fn any_text_parses_as_a_name_only_if_it_is_the_name_written(text in name_like()) {
        // No panic, a violation on the field named, and an accepted text is its own canonical spelling.
        match Name::<Contacts>::parse("n", &text) {
            Ok(name) => prop_assert_eq!(name.to_string(), text.as_str()),
            Err(violation) => prop_assert_eq!(violation.field, "n"),
        }
        match Name::<Cases>::parse("n", &text) {
            Ok(name) => prop_assert_eq!(name.to_string(), text.as_str()),
            Err(violation) => prop_assert_eq!(violation.field, "n"),
        }
        match Child::<Cases, Proposals>::parse("n", &text) {
            Ok(name) => prop_assert_eq!(name.to_string(), text.as_str()),
            Err(violation) => prop_assert_eq!(violation.field, "n"),
        }
        match PartyName::parse("n", &text) {
            Ok(name) => prop_assert_eq!(name.to_string(), text.as_str()),
            Err(violation) => prop_assert_eq!(violation.field, "n"),
        }
    }

    #[test]
    fn a_list_of_names_keeps_its_order_and_names_each_bad_or_repeated_entry(
        entries in proptest::collection::vec(prop_oneof![ids().prop_map(Some), Just(None)], 0..8),
        repeat in any::<prop::sample::Index>(),
    ) {
        let mut values: Vec<String> =
            entries.iter().map(|id| id.map_or("contacts/x".to_owned(), |id| format!("contacts/{id}"))).collect();
        if !values.is_empty() && values.len() < 8 {
            let again = values[repeat.index(values.len())].clone();
            values.push(again);
        }
        let parsed = parse_list("participants", &values, 0, 8, Name::<Contacts>::parse);
        let mut seen = std::collections::HashSet::new();
        let bad: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, value)| Name::<Contacts>::parse("n", value).map_or(true, |name| !seen.insert(name)))
            .map(|(index, _)| format!("participants[{index}]"))
            .collect();
        match parsed {
            Ok(names) => {
                prop_assert!(bad.is_empty());
                let written: Vec<String> = names.iter().map(ToString::to_string).collect();
                prop_assert_eq!(written, values);
            }
            Err(violations) => {
                let fields: Vec<String> = violations.into_iter().map(|v| v.field).collect();
                prop_assert_eq!(fields, bad);
            }
        }
    }
}
