//! OpenTelemetry export (feature `otlp`): the server's spans (`run`, its
//! `model_call`, and each background and durable `hook`, with the run's
//! ids as attributes) sent over OTLP/HTTP (protobuf) to a collector, in
//! batches on a thread of their own, never on a request's path.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! let otlp = agno_server::telemetry::otlp::Otlp::http("http://127.0.0.1:4318/v1/traces", "my-agents")?;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info"))
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(otlp.layer())
//!     .init();
//! // ... serve; at the end, send what is left:
//! otlp.shutdown();
//! # Ok::<(), agno_server::telemetry::otlp::OtlpError>(())
//! ```
//!
//! [`AgentOS::serve`](crate::AgentOS::serve), when it installs its own
//! subscriber, adds this layer itself if `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set (`OTEL_SERVICE_NAME`,
//! default `agno-server`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::registry::LookupSpan;

/// Why the exporter could not be made or flushed.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The exporter could not be built (a bad endpoint, no HTTP client).
    #[error("the OTLP exporter could not be built: {0}")]
    Build(String),
    /// Spans could not be sent at shutdown.
    #[error("the OTLP exporter could not flush its spans: {0}")]
    Flush(String),
}

/// An OTLP/HTTP span exporter and the provider batching into it.
#[derive(Debug, Clone)]
pub struct Otlp {
    provider: SdkTracerProvider,
}

impl Otlp {
    /// Exports to `endpoint` (the traces URL, `http://host:4318/v1/traces`)
    /// as service `service_name`.
    pub fn http(endpoint: &str, service_name: &str) -> Result<Otlp, OtlpError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| OtlpError::Build(e.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(service_name.to_owned())
                    .build(),
            )
            .build();
        Ok(Otlp { provider })
    }

    /// From the environment: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the
    /// traces URL as is), else `OTEL_EXPORTER_OTLP_ENDPOINT` with
    /// `/v1/traces` appended, as the OpenTelemetry specification says;
    /// `OTEL_SERVICE_NAME` (default `agno-server`). `None` when neither
    /// endpoint is set.
    pub fn from_env() -> Option<Result<Otlp, OtlpError>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        let service = var("OTEL_SERVICE_NAME").unwrap_or_else(|| "agno-server".into());
        Some(Otlp::http(&endpoint, &service))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans
    /// (their fields become attributes).
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let tracer = self.provider.tracer("agno-server");
        tracing_opentelemetry::layer().with_tracer(tracer)
    }

    /// Sends every span ended so far.
    pub fn flush(&self) -> Result<(), OtlpError> {
        self.provider
            .force_flush()
            .map_err(|e| OtlpError::Flush(e.to_string()))
    }

    /// Sends what is left and stops the exporter.
    pub fn shutdown(&self) -> Result<(), OtlpError> {
        self.provider
            .shutdown()
            .map_err(|e| OtlpError::Flush(e.to_string()))
    }
}
