//! sea-orm entities of the reporting database.
pub mod read_model;
pub mod source;
