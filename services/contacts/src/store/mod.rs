//! The contacts database: the `Store`, whose methods are transactions (each mutation with its change-feed row),
//! a module per capability, the `contact_keys` index (`keys`), the search index (`terms`), entities and
//! migrations.
pub mod contacts;
mod duplicates;
pub mod engagement;
pub mod entity;
mod graph;
mod history;
pub mod keys;
pub mod merge;
pub mod migration;
pub mod organizations;
pub mod purge;
pub mod search;
pub mod terms;
pub mod transfer;

use entity::{affiliation, contact, organization, relationship};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::Db;

/// The idempotency key of a create and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct CreateKey {
    pub request_id: Option<RequestId>,
    pub fingerprint: String,
}

/// The contacts service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// Words this store has seen committed to the search vocabulary (`terms::KnownWords`).
    known_words: std::sync::Arc<terms::KnownWords>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db, known_words: std::sync::Arc::default() }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

liaison_runtime::revisioned!(organization, contact, affiliation, relationship);

/// A value as stored in a JSON column. Serialising these plain structs cannot fail; an empty string would be
/// read back as the default.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
