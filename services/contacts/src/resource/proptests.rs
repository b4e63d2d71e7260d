//! Property tests of the names this service writes: each one parses back, with the runtime's parser of its
//! collection, to the id it was written from (and in no other collection).
use super::engagement::{assessment_name, interaction_name};
use super::*;
use crate::domain::engagement::{Assessments, Interactions};
use liaison_runtime::api::names::{Contacts, Name, Organizations, PartyName};
use proptest::prelude::*;

fn ids() -> impl Strategy<Value = uuid::Uuid> {
    any::<u128>().prop_map(uuid::Uuid::from_u128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_written_name_parses_back_to_its_id(id in ids()) {
        let key = id.to_string();
        prop_assert_eq!(Name::<Contacts>::parse("n", &contact_name(&key)).map(|n| n.id()), Ok(id));
        prop_assert_eq!(Name::<Organizations>::parse("n", &organization_name(&key)).map(|n| n.id()), Ok(id));
        prop_assert_eq!(Name::<Assessments>::parse("n", &assessment_name(&key)).map(|n| n.id()), Ok(id));
        prop_assert_eq!(Name::<Interactions>::parse("n", &interaction_name(&key)).map(|n| n.id()), Ok(id));
        prop_assert_eq!(PartyName::parse("n", &contact_name(&key)), Ok(PartyName::Contact(Name::from_id(id))));
        prop_assert_eq!(
            PartyName::parse("n", &organization_name(&key)),
            Ok(PartyName::Organization(Name::from_id(id)))
        );
        // The stored key is the name's own id text, so a name written from it is the one the parser writes.
        prop_assert_eq!(contact_name(&key), Name::<Contacts>::from_id(id).to_string());
    }

    #[test]
    fn a_written_name_is_refused_in_every_other_collection(id in ids()) {
        let key = id.to_string();
        prop_assert!(Name::<Organizations>::parse("n", &contact_name(&key)).is_err());
        prop_assert!(Name::<Contacts>::parse("n", &organization_name(&key)).is_err());
        prop_assert!(Name::<Contacts>::parse("n", &assessment_name(&key)).is_err());
        prop_assert!(PartyName::parse("n", &interaction_name(&key)).is_err());
    }
}
