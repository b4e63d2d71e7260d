//! sea-orm entities of the mediation database.
pub mod case;
pub mod party;
