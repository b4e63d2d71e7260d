//! Logging set-up, once per process: `RUST_LOG` filters (default `info`, migrations quiet), `LIAISON_LOG_FORMAT=json` gives one
//! JSON object per line with the current spans (and so the trace id).
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" | "" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("LIAISON_LOG_FORMAT '{other}' is not 'text' or 'json'")),
        }
    }
}

/// Installs the global subscriber; a second call (e.g. from tests) is a no-op.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}
