//! sea-orm entities of the contacts database.
pub mod affiliation;
pub mod assessment;
pub mod contact;
pub mod interaction;
pub mod interaction_party;
pub mod merge_record;
pub mod organization;
pub mod relationship;
