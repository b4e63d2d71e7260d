//! The command line's and environment's settings of `net::limits` (documented in `docs/limits.md`).
use clap::Args;
use liaison_runtime::net::limits::Limits;
use std::time::Duration;

#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct LimitArgs {
    /// Calls per second one caller (token subject, or address without tokens) may make to one service.
    #[arg(long, env = "LIAISON_RATE_PER_SECOND", default_value_t = Limits::default().rate_per_second, value_parser = clap::value_parser!(u32).range(1..))]
    rate_per_second: u32,
    /// Calls one caller may make at once above its rate.
    #[arg(long, env = "LIAISON_RATE_BURST", default_value_t = Limits::default().burst, value_parser = clap::value_parser!(u32).range(1..))]
    rate_burst: u32,
    /// Calls one service handles at once (streams excluded); more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "LIAISON_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,
    /// Connections one service keeps open at once.
    #[arg(long, env = "LIAISON_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Streams one connection may have open at once.
    #[arg(long, env = "LIAISON_MAX_STREAMS_PER_CONNECTION", default_value_t = Limits::default().max_streams_per_connection, value_parser = clap::value_parser!(u32).range(1..))]
    max_streams_per_connection: u32,
    /// Change-feed streams (WatchChanges) one service keeps open at once.
    #[arg(long, env = "LIAISON_MAX_WATCH_STREAMS", default_value_t = Limits::default().max_watch_streams)]
    max_watch_streams: usize,
    /// The longest a unary call may run, in milliseconds.
    #[arg(long, env = "LIAISON_UNARY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    unary_timeout_ms: u64,
    /// The longest a new connection may take to send the HTTP/2 preface, in milliseconds.
    #[arg(long, env = "LIAISON_PREFACE_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    preface_timeout_ms: u64,
}

impl LimitArgs {
    pub(crate) fn limits(self) -> Limits {
        Limits {
            rate_per_second: self.rate_per_second,
            burst: self.rate_burst,
            max_in_flight: self.max_in_flight.max(1),
            max_connections: self.max_connections.max(1),
            max_streams_per_connection: self.max_streams_per_connection,
            max_watch_streams: self.max_watch_streams,
            unary_timeout: Duration::from_millis(self.unary_timeout_ms),
            preface_timeout: Duration::from_millis(self.preface_timeout_ms),
        }
    }
}
