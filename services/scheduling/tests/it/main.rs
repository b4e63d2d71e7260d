//! Service tests of scheduling: real tonic clients against a real scheduling server and a real contacts server
//! on 127.0.0.1:0, on SQLite and on PostgreSQL, each service with a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod calendar;
mod commitments;
mod find_times;
mod lifecycle;
mod listing;
mod meeting_resource;
mod meetings;
mod projects;
mod recurrence;
