//! Prometheus metrics: what the server measures as it goes (requests,
//! runs, model calls, hooks, the store), in series whose labels are
//! bounded sets. Each part of the server records into the handles it was
//! given, with no lock and no allocation on the hot path (an agent's
//! handles are resolved once, when the OS is built); what is a level
//! rather than an event (hooks in flight, jobs queued, the WAL's size) is
//! read from the counters each part keeps anyway, when scraped
//! (`os/routes/prometheus.rs`).
//!
//! The exposition is served at `GET /metrics` to a client that asks for
//! it by `Accept` (Prometheus does); Agno's JSON stays at the same path
//! for Agno's client.

pub(crate) mod context;
mod hooks;
mod labels;
#[cfg(feature = "otlp")]
pub mod otlp;
mod store;

use std::sync::Arc;
use std::time::Duration;

use hooks_core::RunStatus;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use hooks::HookTable;
use labels::{AgentLabels, HttpLabels, ModelLabels, TokenLabels};
pub(crate) use labels::{AgentOnly, StoreLabels};
pub use store::{PoolLevels, StoreLevels, StoreMetrics};

/// Buckets of a request, a run or a model call, in seconds (0.5 ms to 60 s).
const LATENCY: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    Histogram::new(LATENCY)
}

/// The server's series. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    http: Histograms<HttpLabels>,
    runs: Histograms<AgentLabels>,
    model_calls: Histograms<ModelLabels>,
    tokens: Family<TokenLabels, Counter>,
    hooks: HookTable,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// No series yet.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                http: Family::new_with_constructor(latency),
                runs: Family::new_with_constructor(latency),
                model_calls: Family::new_with_constructor(latency),
                tokens: Family::default(),
                hooks: HookTable::default(),
            }),
        }
    }

    /// One HTTP request answered: `route` is the matched template.
    pub fn http(&self, method: &http::Method, route: &str, status: u16, elapsed: Duration) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        self.inner
            .http
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The handles an agent records its runs and model calls into, made
    /// once per agent.
    pub fn agent(&self, agent: &str, model: &str) -> AgentMetrics {
        let inner = &self.inner;
        let run = |status: RunStatus| {
            inner
                .runs
                .get_or_create(&AgentLabels {
                    agent: agent.to_owned(),
                    status: status.as_str(),
                })
                .clone()
        };
        let call = |outcome: &'static str| {
            inner
                .model_calls
                .get_or_create(&ModelLabels {
                    agent: agent.to_owned(),
                    model: model.to_owned(),
                    outcome,
                })
                .clone()
        };
        let tokens = |kind: &'static str| {
            inner
                .tokens
                .get_or_create(&TokenLabels {
                    agent: agent.to_owned(),
                    model: model.to_owned(),
                    kind,
                })
                .clone()
        };
        AgentMetrics {
            completed: run(RunStatus::Completed),
            error: run(RunStatus::Error),
            cancelled: run(RunStatus::Cancelled),
            other: run(RunStatus::Paused),
            model_ok: call("ok"),
            model_error: call("error"),
            model_cancelled: call("cancelled"),
            input_tokens: tokens("input"),
            output_tokens: tokens("output"),
        }
    }

    /// Registers every series kept here in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let inner = &self.inner;
        registry.register(
            "agno_http_request_duration_seconds",
            "HTTP requests by method, route template and status: the time to the response's head (a stream's first byte), in seconds",
            inner.http.clone(),
        );
        registry.register(
            "agno_run_duration_seconds",
            "Agent runs by agent and final status (COMPLETED, ERROR, CANCELLED), from admission to stored, in seconds",
            inner.runs.clone(),
        );
        registry.register(
            "agno_model_call_duration_seconds",
            "Model calls by agent, model and outcome (ok, error, cancelled), retries included, in seconds",
            inner.model_calls.clone(),
        );
        registry.register(
            "agno_model_tokens",
            "Tokens the model reported, by agent, model and kind (input, output)",
            inner.tokens.clone(),
        );
        registry.register_collector(Box::new(Hooks(self.clone())));
    }
}

/// The hooks' series, encoded from their table when scraped.
#[derive(Debug)]
struct Hooks(Metrics);

impl prometheus_client::collector::Collector for Hooks {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> std::fmt::Result {
        self.0.inner.hooks.encode(&mut encoder)
    }
}

/// An HTTP method as a label: the standard ones, else `other` (a client
/// cannot grow the set).
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// An agent's handles, resolved once: recording is an atomic add.
#[derive(Clone, Debug)]
pub struct AgentMetrics {
    completed: Histogram,
    error: Histogram,
    cancelled: Histogram,
    other: Histogram,
    model_ok: Histogram,
    model_error: Histogram,
    model_cancelled: Histogram,
    input_tokens: Counter,
    output_tokens: Counter,
}

/// How a model call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelOutcome {
    /// It answered.
    Ok,
    /// It failed (after its retries).
    Error,
    /// The run was cancelled while it ran.
    Cancelled,
}

impl AgentMetrics {
    /// A run ended with `status` after `elapsed`.
    pub fn run(&self, status: RunStatus, elapsed: Duration) {
        let histogram = match status {
            RunStatus::Completed => &self.completed,
            RunStatus::Error => &self.error,
            RunStatus::Cancelled => &self.cancelled,
            _ => &self.other,
        };
        histogram.observe(elapsed.as_secs_f64());
    }

    /// A model call ended.
    pub fn model_call(&self, outcome: ModelOutcome, elapsed: Duration) {
        let histogram = match outcome {
            ModelOutcome::Ok => &self.model_ok,
            ModelOutcome::Error => &self.model_error,
            ModelOutcome::Cancelled => &self.model_cancelled,
        };
        histogram.observe(elapsed.as_secs_f64());
    }

    /// The tokens a model call reported.
    pub fn tokens(&self, input: u64, output: u64) {
        self.input_tokens.inc_by(input);
        self.output_tokens.inc_by(output);
    }
}
