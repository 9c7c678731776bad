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
use hooks_core::{Dispatcher, DispatcherConfig, ShutdownReport};
use tokio::net::{TcpListener, ToSocketAddrs};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::agent::Agent;
use state::AppState;

mod auth;
mod error;
mod extract;
mod form;
mod limits;
mod listener;
mod openapi;
mod routes;
mod runs_body;
mod security_key;
mod shutdown;
mod sse;
mod state;
pub mod wire;

pub use auth::PUBLIC_PATHS;
pub use error::{ApiError, ApiResult};
pub use form::MAX_ID_BYTES;
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

/// Why an AgentOS could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OsError {
    /// Two agents share an id.
    #[error("two agents have the id `{0}`; agent ids must be unique")]
    DuplicateAgent(String),
    /// A CORS origin is not a valid header value.
    #[error("invalid CORS origin {0:?}")]
    InvalidCorsOrigin(String),
    /// An agent cannot run as this server configures it (a hook taking a
    /// `Job` whose durable jobs the server's `durable_hooks(false)` turned
    /// off, say).
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
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
            .field("secured", &self.state.security_key.is_some())
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
    pub async fn serve(&self, addr: impl ToSocketAddrs) -> std::io::Result<ShutdownReport> {
        if !tracing::dispatcher::has_been_set() {
            let installed = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .try_init()
                .is_ok();
            if installed {
                tracing::info!(
                    "no tracing subscriber was installed: logging to standard output (RUST_LOG sets the level)"
                );
            }
        }
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(
            agents = self.state.agents.len(),
            security_key = if self.state.security_key.is_some() {
                "on"
            } else {
                "off"
            },
            run_hooks_in_background = self.state.run_hooks_in_background(),
            "AgentOS listening on http://{}",
            listener.local_addr()?
        );
        self.serve_with_shutdown(listener, shutdown::signal()).await
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

/// Builds an [`AgentOS`].
#[derive(Default)]
pub struct AgentOSBuilder {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    agents: Vec<Agent>,
    run_hooks_in_background: bool,
    security_key: Option<String>,
    ignore_env_key: bool,
    limits: Limits,
    dispatcher: DispatcherConfig,
    cors_origins: Vec<String>,
    shutdown_deadline: Option<Duration>,
    durable_hooks: Option<bool>,
}

impl AgentOSBuilder {
    /// The OS id (default `agno-server`).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The OS name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The OS description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Serves `agent`.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agents.push(agent);
        self
    }

    /// Serves each of `agents`.
    pub fn agents(mut self, agents: impl IntoIterator<Item = Agent>) -> Self {
        self.agents.extend(agents);
        self
    }

    /// Agno's `run_hooks_in_background` (default `false`): when `true`,
    /// every hook of every agent that neither changes nor can block the run
    /// runs in the background, for every request. Hooks that must stay
    /// inline are logged once at start-up.
    pub fn run_hooks_in_background(mut self, on: bool) -> Self {
        self.run_hooks_in_background = on;
        self
    }

    /// Whether background hooks that do not say (`#[hook]` without
    /// `durable = ...`) run as durable jobs, for every agent with a store
    /// (overrides each agent's [`durable_hooks`](crate::AgentBuilder::durable_hooks);
    /// default: each agent's own, on with a store).
    pub fn durable_hooks(mut self, on: bool) -> Self {
        self.durable_hooks = Some(on);
        self
    }

    /// The bearer key every non-public route needs. Without it, the
    /// `OS_SECURITY_KEY` environment variable is used when set.
    pub fn security_key(mut self, key: impl Into<String>) -> Self {
        self.security_key = Some(key.into());
        self
    }

    /// Ignore `OS_SECURITY_KEY` (no auth unless [`security_key`](Self::security_key) is set).
    pub fn ignore_env_security_key(mut self) -> Self {
        self.ignore_env_key = true;
        self
    }

    /// Body and field size limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The background-hook settings (bound, queue, timeout) of the
    /// dispatcher shared by every agent.
    pub fn dispatcher_config(mut self, config: DispatcherConfig) -> Self {
        self.dispatcher = config;
        self
    }

    /// Browser origins allowed by CORS (none by default: closed).
    pub fn cors_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.cors_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// How long the whole shutdown may take, from the signal: requests in
    /// flight, runs in progress and background hooks (default 30 s).
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = Some(deadline);
        self
    }

    /// Builds the OS: every agent is moved onto one shared dispatcher.
    pub fn build(self) -> Result<AgentOS, OsError> {
        let mut seen = std::collections::HashSet::new();
        for agent in &self.agents {
            if !seen.insert(agent.id()) {
                return Err(OsError::DuplicateAgent(agent.id().to_owned()));
            }
        }
        let cors = if self.cors_origins.is_empty() {
            None
        } else {
            let origins = self
                .cors_origins
                .iter()
                .map(|o| o.parse().map_err(|_| OsError::InvalidCorsOrigin(o.clone())))
                .collect::<Result<Vec<http::HeaderValue>, _>>()?;
            Some(
                CorsLayer::new()
                    .allow_origin(AllowOrigin::list(origins))
                    .allow_methods(tower_http::cors::Any)
                    .allow_headers(tower_http::cors::Any),
            )
        };
        let key = self.security_key.or_else(|| {
            (!self.ignore_env_key)
                .then(|| std::env::var("OS_SECURITY_KEY").ok())
                .flatten()
                .filter(|k| !k.is_empty())
        });
        let global = self.run_hooks_in_background;
        let dispatcher = Dispatcher::new(DispatcherConfig {
            run_hooks_in_background: global,
            ..self.dispatcher
        });
        let agents = self
            .agents
            .iter()
            .map(|agent| {
                let agent = agent.with_dispatcher(dispatcher.clone());
                let agent = match self.durable_hooks {
                    Some(on) => agent.with_durable_hooks(on),
                    None => agent,
                };
                agent.check_job_arguments().map(|()| agent)
            })
            .collect::<Result<_, _>>()?;
        let state = AppState::new(
            self.id.unwrap_or_else(|| "agno-server".into()),
            self.name,
            self.description,
            agents,
            key.map(SecurityKey::new),
            self.limits,
            dispatcher,
        );
        Ok(AgentOS {
            state,
            cors,
            shutdown_deadline: self.shutdown_deadline.unwrap_or(Duration::from_secs(30)),
        })
    }
}
