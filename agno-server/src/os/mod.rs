//! AgentOS: serve agents over HTTP with Agno's routes and formats.
//!
//! ```no_run
//! use agno_server::{Agent, AgentOS, Echo};
//!
//! # async fn serve() -> std::io::Result<()> {
//! let agent = Agent::builder().id("echo").model(Echo::new()).build().unwrap();
//! let os = AgentOS::builder().agent(agent).build().unwrap();
//! os.serve("127.0.0.1:7777").await?;
//! # Ok(()) }
//! ```
//!
//! `get_app()` gives the axum `Router` to mount in another service;
//! `serve` runs it until SIGINT/SIGTERM, then stops accepting connections,
//! finishes in-flight requests and runs, and drains background hooks
//! within a deadline, logging any it had to cut.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hooks_core::{Dispatcher, ShutdownReport};
use tokio::net::{TcpListener, ToSocketAddrs};
use tower_http::cors::CorsLayer;

use crate::agent::Agent;
use state::AppState;

mod auth;
mod auth_mode;
mod builder;
mod caller;
mod error;
mod extract;
mod form;
mod jwt;
mod limits;
mod listener;
mod metrics_refresh;
pub mod metrics_wire;
mod openapi;
pub mod prometheus;
mod request_metrics;
mod routes;
mod runs_body;
mod scopes;
mod security_key;
mod shutdown;
mod sse;
mod state;
mod trace_filter;
pub mod traces_wire;
pub mod wire;

pub use auth::PUBLIC_PATHS;
pub use builder::{AgentOSBuilder, OsError};
pub use error::{ApiError, ApiResult};
pub use form::MAX_ID_BYTES;
pub use jwt::{Algorithm, JwtConfig, JwtConfigError, REMEMBERED_TOKENS, TokenSource};
pub use limits::Limits;
pub use security_key::SecurityKey;

/// The run form's parser, for the fuzz target (`fuzz/`): feature
/// `fuzzing`, not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use super::form::{RunForm, parse_urlencoded};
}

/// The OpenAPI 3.1 document of the routes (what `GET /openapi.json`
/// serves).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes::document()
}

/// A server for agents, as Agno's `AgentOS`.
pub struct AgentOS {
    state: AppState,
    cors: Option<CorsLayer>,
    shutdown_deadline: Duration,
}

impl std::fmt::Debug for AgentOS {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOS")
            .field("os_id", &self.state.os_id)
            .field("agents", &self.state.agents)
            .field(
                "run_hooks_in_background",
                &self.state.run_hooks_in_background(),
            )
            .field("auth", &self.state.auth.name())
            .finish()
    }
}

impl AgentOS {
    /// Starts building an AgentOS.
    pub fn builder() -> AgentOSBuilder {
        AgentOSBuilder::default()
    }

    /// The router (axum), to serve or mount elsewhere. If you serve it
    /// yourself, call [`AgentOS::drain`] after your server stopped.
    pub fn get_app(&self) -> Router {
        routes::router(self.state.clone(), self.cors.clone())
    }

    /// The dispatcher every agent's hooks run on (counters, in-flight
    /// hooks).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.state.dispatcher
    }

    /// The agents served, with the OS's dispatcher.
    pub fn agents(&self) -> &[Agent] {
        &self.state.agents
    }

    /// Binds `addr` and serves until SIGINT or SIGTERM, then shuts down
    /// gracefully (see [`AgentOS::serve_with_shutdown`]).
    ///
    /// A server must not be silent (its logs are where caught hook
    /// failures and the shutdown report go): when the program installed no
    /// `tracing` subscriber, this installs one (`RUST_LOG` sets the level,
    /// default `info`, to standard output). Install your own first to
    /// choose the format.
    ///
    /// With the `otlp` feature, that subscriber also exports the spans
    /// over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and flushes them at
    /// shutdown (`telemetry::otlp`).
    pub async fn serve(&self, addr: impl ToSocketAddrs) -> std::io::Result<ShutdownReport> {
        #[cfg(feature = "otlp")]
        let mut otlp = None;
        #[cfg(feature = "otlp")]
        let mut otlp_error = None;
        if !tracing::dispatcher::has_been_set() {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::util::SubscriberInitExt;
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let fmt = tracing_subscriber::fmt::layer()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
            let registry = tracing_subscriber::registry().with(filter).with(fmt);
            #[cfg(feature = "otlp")]
            let registry = {
                let (layer, error) = match crate::telemetry::otlp::Otlp::from_env() {
                    Some(Ok(exporter)) => {
                        let layer = exporter.layer();
                        otlp = Some(exporter);
                        (Some(layer), None)
                    }
                    Some(Err(error)) => (None, Some(error)),
                    None => (None, None),
                };
                otlp_error = error;
                registry.with(layer)
            };
            let installed = registry.try_init().is_ok();
            if installed {
                tracing::info!(
                    "no tracing subscriber was installed: logging to standard output (RUST_LOG sets the level)"
                );
            }
        }
        #[cfg(feature = "otlp")]
        match (&otlp, otlp_error) {
            (Some(_), _) => {
                tracing::info!("exporting spans over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)")
            }
            (None, Some(error)) => tracing::error!(%error, "spans are not exported"),
            (None, None) => {}
        }
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(
            agents = self.state.agents.len(),
            auth = self.state.auth.name(),
            run_hooks_in_background = self.state.run_hooks_in_background(),
            "AgentOS listening on http://{}",
            listener.local_addr()?
        );
        let report = self.serve_with_shutdown(listener, shutdown::signal()).await;
        #[cfg(feature = "otlp")]
        if let Some(otlp) = otlp
            && let Err(error) = otlp.shutdown()
        {
            tracing::warn!(%error, "spans left unexported at shutdown");
        }
        report
    }

    /// Serves on `listener` until `signal` resolves; then stops accepting
    /// connections, refuses new runs with 503, finishes in-flight requests
    /// and runs, and drains background hooks, all within ONE shutdown
    /// deadline (a stalled client cannot hold the process). Connections
    /// are served with the time limits and the cap of [`Limits`].
    pub async fn serve_with_shutdown(
        &self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<ShutdownReport> {
        self.start_jobs();
        let state = self.state.clone();
        let left = listener::serve(
            listener,
            self.get_app(),
            &self.state.limits,
            signal,
            move || state.begin_shutdown(),
            self.shutdown_deadline,
        )
        .await;
        Ok(shutdown::drain(&self.state, left).await)
    }

    /// Starts every agent's durable-job worker (see
    /// [`Agent::start_jobs`](crate::Agent::start_jobs)): jobs a
    /// stopped process left are run again. Serving starts them; call it
    /// if you serve [`AgentOS::get_app`] yourself. Needs a tokio runtime.
    pub fn start_jobs(&self) {
        for agent in &self.state.agents {
            agent.start_jobs();
        }
        // A job naming an agent this server does not have could never run:
        // it fails, visibly, instead of waiting unseen (one server per
        // SQLite file).
        for (db_id, db) in self.state.dbs.clone() {
            // On a shared store (one with leases), another instance may
            // have those agents.
            if db.lease().is_some() {
                continue;
            }
            let agents: Vec<String> = self
                .state
                .agents
                .iter()
                .filter(|a| self.state.agent_db.get(a.id()) == Some(&db_id))
                .map(|a| a.id().to_owned())
                .collect();
            let task = async move {
                match db.fail_orphan_jobs(agents).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        db_id,
                        failed = n,
                        "durable jobs of agents this server does not have: failed (requeue them from /queue/jobs once the agent is back)"
                    ),
                    Err(error) => {
                        tracing::error!(db_id, %error, "checking for jobs of unknown agents failed")
                    }
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(task);
                }
                Err(_) => tracing::warn!("start_jobs needs a tokio runtime"),
            }
        }
    }

    /// Waits for runs in progress, then drains background hooks within
    /// the shutdown deadline. New runs are refused from now on.
    pub async fn drain(&self) -> ShutdownReport {
        self.state.begin_shutdown();
        shutdown::drain(&self.state, self.shutdown_deadline).await
    }
}
