//! sea-orm entities of the scheduling database.
pub mod action_item;
pub mod agenda;
pub mod link;
pub mod meeting;
pub mod participant;
