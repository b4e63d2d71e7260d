//! sea-orm entities of the scheduling database.
pub mod meeting;
pub mod participant;
