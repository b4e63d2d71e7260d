//! What every Liaison service shares, written once: configuration, logging, the server builder (health,
//! reflection, request context, graceful shutdown), clients of other services (deadlines, retries, trace
//! propagation), the database (PostgreSQL and SQLite, migrations, write transactions), the error vocabulary and
//! its one mapping to `tonic::Status`, pagination, etags, idempotency keys and the change feed.
//!
//! A service crate implements [`service::LiaisonService`] and uses these pieces; it never builds a `Status`,
//! opens a socket or talks SQL to another service's tables.

/// The API's conventions: the error vocabulary and its one mapping to `tonic::Status`, resource names, field
/// validation, update masks, etags, page tokens, list filters and orders, timestamps, and the descriptors read by
/// reflection.
pub mod api {
    pub mod descriptors;
    pub mod error;
    pub mod etag;
    pub mod fieldmask;
    pub mod filter;
    pub mod names;
    pub mod paging;
    pub mod time;
    pub mod validate;
}
pub mod auth;
pub mod config;
pub mod db;
pub mod feed;
/// Talking gRPC: the server builder and its request context, clients of other services, trace context,
/// telemetry, metrics, graceful shutdown.
pub mod net {
    pub mod client;
    pub mod context;
    pub mod limits;
    pub mod methods;
    pub mod metrics;
    pub mod peers;
    pub mod server;
    pub mod shutdown;
    pub mod telemetry;
    pub mod tls;
    pub mod wire;
}
pub mod security;
pub mod service;

pub use api::error::{Error, FieldViolation, PreconditionViolation, Result};
pub use api::validate::Validate;

/// Re-exported so that services use the same versions.
pub use {async_trait_reexport::async_trait, sea_orm, sea_orm_migration};

mod async_trait_reexport {
    pub use sea_orm_migration::async_trait;
}
