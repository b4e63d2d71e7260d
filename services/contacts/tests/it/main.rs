//! Service tests of contacts: a real tonic client against a real server on 127.0.0.1:0, on SQLite and on
//! PostgreSQL, each test in a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod audit;
mod changes;
mod contacts;
mod details;
mod engagement;
mod graph;
mod helpers;
mod lifecycle;
mod limits;
mod lists;
mod merge;
mod organizations;
mod retention;
mod search;
mod server;
mod transfer;
