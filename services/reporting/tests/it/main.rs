//! Service tests of reporting: the four real servers on 127.0.0.1:0 (SQLite and PostgreSQL), reporting
//! following the other three's change feeds.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod chromium;
mod cluster;
mod ingestion;
mod reports;
mod schedules;
