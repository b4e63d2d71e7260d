//! The rules of the contacts register, free of I/O: a module per capability (organisations, contacts, graph,
//! engagement, duplicates and merge, transfer, search, history) and the values several of them share
//! (`channels`, `labels`).

pub mod channels;
pub mod contacts;
pub mod duplicates;
pub mod engagement;
pub mod graph;
pub mod history;
pub mod labels;
pub mod merge;
pub mod organizations;
pub mod search;
pub mod transfer;

/// The longest display name of an organisation or a contact.
pub const DISPLAY_NAME_MAX: usize = 200;
/// The longest notes of an organisation or a contact.
pub const NOTES_MAX: usize = 10_000;
/// Names per BatchGet call.
pub const BATCH_MAX: usize = 1000;
