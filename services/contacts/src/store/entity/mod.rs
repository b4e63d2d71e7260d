//! sea-orm entities of the contacts database.
pub mod affiliation;
pub mod contact;
pub mod merge_record;
pub mod organization;
pub mod relationship;
