//! Building an AgentOS: its agents, auth, limits and settings.

use std::sync::Arc;
use std::time::Duration;

use hooks_core::{Dispatcher, DispatcherConfig};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::AgentOS;
use super::auth_mode::Auth;
use super::jwt::{JwtConfig, JwtConfigError, JwtVerifier};
use super::limits::Limits;
use super::security_key::SecurityKey;
use super::state::{AppState, Observability};
use crate::agent::{Agent, TraceWriter};
use crate::telemetry::Metrics;

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
    /// The JWT settings cannot be used (no key, a key that is not one).
    #[error(transparent)]
    Jwt(#[from] JwtConfigError),
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
    jwt: Option<JwtConfig>,
    ignore_env_key: bool,
    limits: Limits,
    dispatcher: DispatcherConfig,
    cors_origins: Vec<String>,
    shutdown_deadline: Option<Duration>,
    durable_hooks: Option<bool>,
    no_metrics: bool,
    open_metrics: bool,
    tracing: bool,
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

    /// Verifies a JWT on every non-public route: the caller's user and
    /// scopes, as Agno's `JWTMiddleware` with `authorization=True` (see
    /// [`JwtConfig`]). Without it, `JWT_VERIFICATION_KEY` or
    /// `JWT_JWKS_FILE` in the environment turn JWT on with scopes
    /// unchecked, as in Agno. JWT replaces the security key.
    pub fn jwt(mut self, config: JwtConfig) -> Self {
        self.jwt = Some(config);
        self
    }

    /// Ignore the environment's auth settings (`OS_SECURITY_KEY`,
    /// `JWT_VERIFICATION_KEY`, `JWT_JWKS_FILE`): no auth unless
    /// [`security_key`](Self::security_key) or [`jwt`](Self::jwt) is set.
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

    /// Whether the server keeps Prometheus series (default `true`): HTTP
    /// requests, runs, model calls, hooks, the store (see the README's
    /// operations section). Off, `GET /metrics` answers Prometheus with
    /// only the levels read at scrape time (hooks in flight, jobs queued).
    pub fn metrics(mut self, on: bool) -> Self {
        self.no_metrics = !on;
        self
    }

    /// Lets Prometheus scrape `GET /metrics` without the key or a token
    /// (default `false`: the exposition needs what every route needs).
    /// Only the exposition is opened; Agno's JSON at the same path still
    /// needs the key.
    pub fn open_metrics(mut self, open: bool) -> Self {
        self.open_metrics = open;
        self
    }

    /// Agno's `AgentOS(tracing=True)` (default `false`): every run of an
    /// agent with a store is traced in the store as Agno's instrumentor
    /// traces it (`agno_traces`, `agno_spans`: the agent's span, its model
    /// call, and its inline hooks), written in batches off the request
    /// path, and served at `/traces`, `/traces/{trace_id}` and
    /// `/trace_session_stats`.
    pub fn tracing(mut self, on: bool) -> Self {
        self.tracing = on;
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
        let os_id = self.id.unwrap_or_else(|| "agno-server".into());
        let auth = auth(self.security_key, self.jwt, self.ignore_env_key, &os_id)?;
        let global = self.run_hooks_in_background;
        let dispatcher = Dispatcher::new(DispatcherConfig {
            run_hooks_in_background: global,
            ..self.dispatcher
        });
        let metrics = (!self.no_metrics).then(Metrics::new);
        if let Some(metrics) = &metrics {
            dispatcher.observe(Arc::new(metrics.clone()));
        }
        let mut writers: Vec<(Arc<dyn crate::db::Db>, Arc<TraceWriter>)> = Vec::new();
        let agents = self
            .agents
            .iter()
            .map(|agent| {
                let agent = agent.with_dispatcher(dispatcher.clone());
                let agent = match &metrics {
                    Some(metrics) => agent.with_metrics(metrics),
                    None => agent,
                };
                let agent = match agent.db().filter(|_| self.tracing) {
                    Some(db) => {
                        let same = |(known, _): &&(Arc<dyn crate::db::Db>, Arc<TraceWriter>)| {
                            Arc::ptr_eq(known, db)
                                || (db.identity().is_some() && known.identity() == db.identity())
                        };
                        let writer = match writers.iter().find(same) {
                            Some((_, writer)) => writer.clone(),
                            None => {
                                let writer = TraceWriter::new(db.clone());
                                writers.push((db.clone(), writer.clone()));
                                writer
                            }
                        };
                        agent.with_traces(writer)
                    }
                    None => agent,
                };
                let agent = match self.durable_hooks {
                    Some(on) => agent.with_durable_hooks(on),
                    None => agent,
                };
                agent.check_job_arguments().map(|()| agent)
            })
            .collect::<Result<_, _>>()?;
        let state = AppState::new(
            os_id,
            self.name,
            self.description,
            agents,
            auth,
            self.limits,
            dispatcher,
            Observability {
                metrics,
                open_metrics: self.open_metrics,
            },
        );
        Ok(AgentOS {
            state,
            cors,
            shutdown_deadline: self.shutdown_deadline.unwrap_or(Duration::from_secs(30)),
        })
    }
}

/// How the OS authenticates: JWT when configured (here or in the
/// environment), else the security key, else not at all.
fn auth(
    key: Option<String>,
    jwt: Option<JwtConfig>,
    ignore_env: bool,
    os_id: &str,
) -> Result<Auth, OsError> {
    let env = |name: &str| {
        (!ignore_env)
            .then(|| std::env::var(name).ok())
            .flatten()
            .filter(|k| !k.is_empty())
    };
    let key = key.or_else(|| env("OS_SECURITY_KEY"));
    let jwt = jwt.or_else(|| (!ignore_env).then(JwtConfig::from_env).flatten());
    Ok(match (jwt, key) {
        (Some(mut config), key) => {
            if key.is_some() {
                tracing::warn!(
                    "both JWT and a security key are configured: only JWT is used (the key is refused as a token)"
                );
            }
            // Keys from the environment when the program gave none.
            if config.verification_keys.is_empty() && config.jwks_file.is_none() {
                config.verification_keys.extend(env("JWT_VERIFICATION_KEY"));
                config.jwks_file = env("JWT_JWKS_FILE");
            }
            Auth::Jwt(Arc::new(JwtVerifier::new(config, os_id)?))
        }
        (None, Some(key)) => Auth::Key(SecurityKey::new(key)),
        (None, None) => Auth::Open,
    })
}
