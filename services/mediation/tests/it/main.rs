//! Service tests of mediation: real tonic clients against a real mediation server and a real contacts server
//! on 127.0.0.1:0, on SQLite and on PostgreSQL, each service with a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod cases;

mod lifecycle;
mod listing;
mod sessions;
