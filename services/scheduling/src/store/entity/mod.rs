//! sea-orm entities of the scheduling database.
pub mod action_item;
pub mod agenda;
pub mod baseline;
pub mod commitment;
pub mod link;
pub mod meeting;
pub mod milestone;
pub mod participant;
pub mod project;
