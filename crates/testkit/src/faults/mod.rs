//! Fault injection for tests: the network and the database failing under a test's control, with nothing shared
//! with other tests and nothing left behind.
//!
//! - [`proxy`]: a TCP proxy of the test's own between a client and a server, whose [`proxy::Mode`] the test
//!   switches at any time: pass, delay, black hole, close after N bytes, reset. It applies to the connections
//!   it already carries as well as to new ones, so a test can cut a pool's live connections, not only new ones.
//! - [`postgres`]: a PostgreSQL server of the test's own (Debian's binaries, a data directory in a temporary
//!   directory, a free port) that the test can kill with SIGKILL, stop and start again on the same port and data,
//!   to see what survives a crash. [`postgres::require`] tells whether it can run, and under `CI=true` its
//!   absence fails the test rather than skipping it (as [`crate::postgres_admin_url`] does).
//! - [`balancer`]: a round-robin L4 TCP balancer of the test's own in front of replicas (as a Kubernetes Service
//!   is), whose upstreams the test changes at any time — for rolling restarts.
//! - [`load`]: a steady mixed write load on the four services, as careful clients make it (deadlines, retries
//!   with the same `request_id`, conditional writes on etags), with a client-side log of every acknowledged
//!   write and every attempt; reading it all back afterwards; the services' health followed meanwhile.
//! - [`feeds`]: the change feeds read back, reporting's ingestion sampled, a batch caught while it is applied,
//!   bursts of writes that give the feeds a backlog.
//! - [`resources`]: a process's file descriptors, threads and memory from `/proc`, its Tokio tasks and pool from
//!   its Prometheus `/metrics`.
//! - [`report`]: what every fault test prints and asserts — the table per fault, the load's goals, the logs
//!   searched, the dashboard against the truth — and the four-process cluster on a PostgreSQL of its own.
//!
//! They compose: a [`proxy::FaultProxy`] in front of a [`postgres::PostgresServer`] cuts the database's
//! connections without touching the server.

pub mod balancer;
pub mod feeds;
pub mod load;
pub mod postgres;
pub mod proxy;
pub mod report;
pub mod resources;
