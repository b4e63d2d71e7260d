//! sea-orm entities of the reporting database.

pub mod source;
