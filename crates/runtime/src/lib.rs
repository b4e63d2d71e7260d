//! What every Liaison service shares, written once: configuration, logging, the server builder (health,
//! reflection, request context, graceful shutdown), clients of other services (deadlines, retries, trace
//! propagation), the database (PostgreSQL and SQLite, migrations, write transactions), the error vocabulary and
//! its one mapping to `tonic::Status`, pagination, etags, idempotency keys and the change feed.
//!
//! A service crate implements [`service::LiaisonService`] and uses these pieces; it never builds a `Status`,
//! opens a socket or talks SQL to another service's tables.

pub mod cache;
pub mod client;
pub mod config;
pub mod context;
pub mod crud;
pub mod db;
pub mod error;
pub mod etag;
pub mod feed;
pub mod feed_service;
pub mod fieldmask;
mod group_commit;
pub mod idempotency;
pub mod metrics;
pub mod migration;
pub mod names;
pub mod oneshot;
pub mod paging;
pub mod peers;
pub mod resource;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod sql;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod wire;

pub use error::{Error, FieldViolation, PreconditionViolation, Result};
pub use validate::Validate;

/// Re-exported so that services use the same versions.
pub use {async_trait_reexport::async_trait, sea_orm, sea_orm_migration};

mod async_trait_reexport {
    pub use sea_orm_migration::async_trait;
}
