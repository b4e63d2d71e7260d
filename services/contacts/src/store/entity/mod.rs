//! sea-orm entities of the contacts database.
pub mod contact;
pub mod organization;
