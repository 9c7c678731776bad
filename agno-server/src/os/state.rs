//! What every route shares: the agents, their stores, limits and keys.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hooks_core::Dispatcher;
use tokio_util::task::TaskTracker;

use super::auth_mode::Auth;
use super::error::ApiError;
use super::limits::{BodyBudget, Limits};
use super::metrics_refresh::Refreshes;
use crate::agent::Agent;
use crate::db::Db;
use crate::telemetry::Metrics;

/// The shared state of an AgentOS app (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

impl Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct StateInner {
    /// The OS's id.
    pub os_id: String,
    /// The OS's name.
    pub name: Option<String>,
    /// The OS's description.
    pub description: Option<String>,
    /// The agents, in the order they were given.
    pub agents: Vec<Agent>,
    /// The stores, each with the id routes use (`db_id`).
    pub dbs: Vec<(String, Arc<dyn Db>)>,
    /// The `db_id` of each agent with a store.
    pub agent_db: HashMap<String, String>,
    /// How requests are authenticated.
    pub(crate) auth: Auth,
    /// Body and field limits.
    pub limits: Limits,
    /// What request bodies being received hold at once
    /// ([`Limits::max_body_bytes_in_flight`]).
    pub body_budget: BodyBudget,
    /// The dispatcher every agent's hooks run on.
    pub dispatcher: Dispatcher,
    /// Epoch seconds when the OS was made.
    pub instantiated_at: i64,
    /// Runs being carried out, so shutdown can wait for them.
    pub runs: TaskTracker,
    shutting_down: AtomicBool,
    /// The Prometheus series (`None`: turned off).
    pub metrics: Option<Metrics>,
    /// Whether Prometheus may scrape without the key.
    pub open_metrics: bool,
    /// Agno's daily metrics refreshes, per store.
    pub(crate) metrics_refreshes: Refreshes,
}

/// What the builder says of metrics.
pub(crate) struct Observability {
    /// The series, when kept.
    pub metrics: Option<Metrics>,
    /// Whether the exposition needs no key.
    pub open_metrics: bool,
}

impl AppState {
    /// Makes the state; `agents` must have distinct ids (checked by the
    /// builder).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        os_id: String,
        name: Option<String>,
        description: Option<String>,
        agents: Vec<Agent>,
        auth: Auth,
        limits: Limits,
        dispatcher: Dispatcher,
        observability: Observability,
    ) -> Self {
        let mut dbs: Vec<(String, Arc<dyn Db>)> = Vec::new();
        let mut agent_db = HashMap::new();
        for agent in &agents {
            let Some(db) = agent.db() else { continue };
            let same = |known: &Arc<dyn Db>| {
                Arc::ptr_eq(known, db)
                    || (db.identity().is_some() && known.identity() == db.identity())
            };
            let id = match dbs.iter().find(|(_, known)| same(known)) {
                Some((id, _)) => id.clone(),
                None => {
                    let id = format!("db-{}", dbs.len());
                    dbs.push((id.clone(), db.clone()));
                    id
                }
            };
            agent_db.insert(agent.id().to_owned(), id);
        }
        Self(Arc::new(StateInner {
            os_id,
            name,
            description,
            agents,
            dbs,
            agent_db,
            auth,
            body_budget: BodyBudget::new(limits.max_body_bytes_in_flight),
            limits,
            dispatcher,
            instantiated_at: crate::clock::now_secs(),
            runs: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
            metrics: observability.metrics,
            open_metrics: observability.open_metrics,
            metrics_refreshes: Refreshes::default(),
        }))
    }

    /// The agent with `id`, or Agno's 404.
    pub fn agent(&self, id: &str) -> Result<&Agent, ApiError> {
        self.agents
            .iter()
            .find(|a| a.id() == id)
            .ok_or_else(|| ApiError::not_found("Agent not found"))
    }

    /// The store named `db_id`, or the first one when `None`.
    pub fn db(&self, db_id: Option<&str>) -> Result<&Arc<dyn Db>, ApiError> {
        match db_id {
            None => self
                .dbs
                .first()
                .map(|(_, db)| db)
                .ok_or_else(|| ApiError::not_found("No database is configured")),
            Some(id) => self
                .dbs
                .iter()
                .find(|(known, _)| known == id)
                .map(|(_, db)| db)
                .ok_or_else(|| ApiError::not_found(format!("Database with id '{id}' not found"))),
        }
    }

    /// Whether every agent runs its movable hooks in the background (the
    /// OS's `run_hooks_in_background`, kept by its dispatcher).
    pub fn run_hooks_in_background(&self) -> bool {
        self.dispatcher.run_hooks_in_background()
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Marks shutdown as begun: new runs are refused with 503.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }
}
