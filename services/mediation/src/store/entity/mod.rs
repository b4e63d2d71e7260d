//! sea-orm entities of the mediation database.
pub mod case;
pub mod member;
pub mod note;
pub mod party;
pub mod prevention_action;
pub mod proposal;
