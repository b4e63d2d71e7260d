//! Logging and tracing set-up, once per process.
//!
//! - Logs: `RUST_LOG` filters (default `info`, migrations quiet); `LIAISON_LOG_FORMAT=json` gives one JSON object
//!   per line carrying the current RPC span's fields, `trace_id` and `span_id` among them.
//! - Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are exported with OTLP/gRPC (service name from
//!   `OTEL_SERVICE_NAME`, else `liaison-<service>`), and W3C trace context is propagated in and out. When it is
//!   not set, no OpenTelemetry layer is installed at all: nothing is exported and nothing is paid.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

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

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes what is buffered.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Why trace export could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("OTEL_EXPORTER_OTLP_ENDPOINT '{endpoint}': {source}")]
pub struct TelemetryError {
    endpoint: String,
    #[source]
    source: opentelemetry_otlp::ExporterBuildError,
}

/// Installs the global subscriber (a second call, e.g. from tests, changes nothing). Must run inside a Tokio
/// runtime when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter's gRPC channel lives on it).
pub fn init(format: LogFormat, default_service_name: &str) -> Result<Telemetry, TelemetryError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn,sqlx=warn"));
    let fmt: BoxedLayer = match format {
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_writer(std::io::stderr),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_span_list(true)
                .with_writer(std::io::stderr),
        ),
    };
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty());
    let (provider, otel) = match endpoint {
        None => (None, None),
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .map_err(|source| TelemetryError { endpoint: endpoint.clone(), source })?;
            let service_name = std::env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| default_service_name.to_owned());
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(service_name).build())
                .build();
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            let layer: BoxedLayer = Box::new(
                tracing_opentelemetry::layer().with_tracer(provider.tracer("liaison")).with_tracked_inactivity(false),
            );
            (Some(provider), Some(layer))
        }
    };
    let mut layers: Vec<BoxedLayer> = vec![fmt];
    layers.extend(otel);
    let _ = tracing_subscriber::registry().with(layers).with(filter).try_init();
    Ok(Telemetry { provider })
}
