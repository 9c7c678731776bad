//! Agents: a model, instructions, a store, and hooks around every run.

mod background;
mod builder;
mod cancel;
mod error;
mod events;
mod ids;
mod model_step;
mod prompt;
mod request;
mod run;
mod steps;
mod tool_calls;
mod trace;

use std::sync::Arc;

use hooks_core::{AgentInfo, Dispatcher, Extensions, HookRef, Phase};

pub use background::Submitted;
pub use builder::{AgentBuilder, DEFAULT_MAX_SESSION_STATE_BYTES};
pub use error::AgentError;
pub use events::{RunEvent, RunEventKind};
pub use prompt::MARKDOWN_INSTRUCTION;
pub use request::RunRequest;
pub use run::RunEventStream;
pub(crate) use trace::TraceWriter;

use crate::db::Db;
use crate::jobs::{JobHost, JobWorker, RunFuture};
use crate::model::Model;
use crate::telemetry::{AgentMetrics, Metrics};

/// An agent: what Agno calls `Agent(...)`. Cheap to clone (shared inside).
///
/// ```
/// use agno_server::agent::Agent;
/// use agno_server::model::Echo;
/// use agno_server::{hook, AgentInfo, RunInput};
///
/// #[hook(run_in_background = true)]
/// fn log_request(run_input: &RunInput, agent: &AgentInfo) {
///     tracing::info!(agent = agent.display_name(), input = run_input.input_content(), "request");
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let agent = Agent::builder()
///     .id("demo")
///     .name("Demo")
///     .model(Echo::new())
///     .instructions("You are a helpful assistant")
///     .pre_hooks(log_request)
///     .build()
///     .unwrap();
/// let output = agent.run("Hello").await.unwrap();
/// assert_eq!(output.status, agno_server::RunStatus::Completed);
/// # });
/// ```
#[derive(Clone)]
pub struct Agent {
    inner: Arc<AgentInner>,
}

#[derive(Clone)]
struct AgentInner {
    info: Arc<AgentInfo>,
    description: Option<String>,
    instructions: Vec<String>,
    model: Arc<dyn Model>,
    db: Option<Arc<dyn Db>>,
    pre_hooks: Vec<HookRef>,
    post_hooks: Vec<HookRef>,
    markdown: bool,
    /// Made once from the description, instructions and `markdown`.
    system_message: Option<String>,
    run_hooks_in_background: bool,
    dispatcher: Dispatcher,
    num_history_runs: usize,
    extensions: Arc<Extensions>,
    /// Whether a background hook that says nothing (`#[hook]` without
    /// `durable`) runs as a durable job.
    durable_hooks: bool,
    /// Runs the durable jobs.
    jobs: JobWorker,
    /// The runs under way in this process, to cancel by id.
    running: Arc<cancel::RunRegistry>,
    /// The largest a session's state may grow (JSON bytes).
    max_session_state_bytes: usize,
    /// Where its runs and model calls are counted (an AgentOS's metrics).
    metrics: Option<AgentMetrics>,
    /// Where its runs' traces are written (an AgentOS with tracing on).
    traces: Option<Arc<TraceWriter>>,
    /// The tools its model may call.
    tools: tool_calls::AgentTools,
}

/// What [`Agent::shutdown`] did.
#[derive(Debug, Clone)]
pub struct AgentShutdown {
    /// The in-memory background hooks: waited for, finished, cut.
    pub hooks: hooks_core::ShutdownReport,
    /// The durable jobs: waited for, and left queued at the deadline.
    pub jobs: crate::jobs::JobsShutdown,
}

impl AgentShutdown {
    /// Whether nothing was cut or left for the next start.
    pub fn is_clean(&self) -> bool {
        self.hooks.is_clean() && self.jobs.released == 0
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("id", &self.inner.info.id)
            .field("name", &self.inner.info.name)
            .field("model", &self.inner.model.id())
            .field("pre_hooks", &self.hook_names(Phase::Pre))
            .field("post_hooks", &self.hook_names(Phase::Post))
            .finish()
    }
}

impl Agent {
    /// Starts building an agent.
    pub fn builder() -> AgentBuilder {
        AgentBuilder::new()
    }

    /// The agent's id.
    pub fn id(&self) -> &str {
        &self.inner.info.id
    }

    /// The agent's name.
    pub fn name(&self) -> Option<&str> {
        self.inner.info.name.as_deref()
    }

    /// What hooks see of the agent.
    pub fn info(&self) -> &Arc<AgentInfo> {
        &self.inner.info
    }

    /// The description.
    pub fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }

    /// The instructions.
    pub fn instructions(&self) -> &[String] {
        &self.inner.instructions
    }

    /// Whether markdown formatting is asked for.
    pub fn markdown(&self) -> bool {
        self.inner.markdown
    }

    /// The model.
    pub fn model(&self) -> &Arc<dyn Model> {
        &self.inner.model
    }

    /// The store, if any.
    pub fn db(&self) -> Option<&Arc<dyn Db>> {
        self.inner.db.as_ref()
    }

    /// The dispatcher its hooks run on.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    /// The hooks of `phase`, in order.
    pub fn hooks(&self, phase: Phase) -> &[HookRef] {
        match phase {
            Phase::Pre => &self.inner.pre_hooks,
            Phase::Post => &self.inner.post_hooks,
            Phase::Tool | Phase::ToolPost => self.inner.tools.agent_hooks(phase),
        }
    }

    /// The values its hooks' own argument types read
    /// ([`AgentBuilder::extension`]).
    pub fn extensions(&self) -> &Arc<Extensions> {
        &self.inner.extensions
    }

    /// Whether a background hook that does not say (`#[hook]` without
    /// `durable`) runs as a durable job on this agent
    /// ([`AgentBuilder::durable_hooks`]).
    pub fn durable_hooks(&self) -> bool {
        self.inner.durable_hooks
    }

    /// The worker of its durable jobs (counters, shutdown).
    pub fn jobs(&self) -> &JobWorker {
        &self.inner.jobs
    }

    /// The tools its model may call, in the order they were given.
    pub fn tools(&self) -> &[hooks_core::ToolRef] {
        self.inner.tools.list()
    }

    /// What the model is told of its tools, sorted by name.
    pub fn tool_definitions(&self) -> &[crate::model::ToolDefinition] {
        self.inner.tools.definitions()
    }

    /// How many tool calls a run may make.
    pub fn tool_call_limit(&self) -> Option<usize> {
        self.inner.tools.limit()
    }

    /// Starts the worker of its durable jobs (see [`crate::jobs`]):
    /// jobs a crashed process left are run again. A server calls it at
    /// start-up; a run starts it too.
    pub fn start_jobs(&self) {
        self.inner.jobs.start(&self.host());
        self.listen_for_cancels();
    }

    /// Applies here the cancels other instances on its store publish
    /// (once; see [`Agent::cancel`]).
    pub(crate) fn listen_for_cancels(&self) {
        if let Some(db) = &self.inner.db {
            self.inner.running.listen(db.clone());
        }
    }

    /// This agent as its job worker knows it.
    pub(crate) fn host(&self) -> Arc<dyn JobHost> {
        self.inner.clone()
    }

    /// The hook named `name`: one of its own, else one of the program's
    /// registry (a durable job names its hook).
    pub fn find_hook(&self, name: &str) -> Option<HookRef> {
        self.inner.find_hook(name)
    }

    /// Asks the run `run_id`, if this agent is carrying it out in this
    /// process, to stop at its next step (before the model call, between
    /// streamed chunks, before the post-hooks): it ends `CANCELLED`, is
    /// stored so, and a stream ends with `RunCancelled`. Returns whether
    /// such a run was found; if not, the cancel is kept for an hour and a
    /// run that starts here with that id is cancelled at once (a
    /// background run whose task had not started yet, as Agno keeps the
    /// intent). A queued background run is cancelled in the store instead
    /// ([`Agent::cancel`]).
    pub fn cancel_running(&self, run_id: &str) -> bool {
        self.inner.running.cancel(run_id)
    }

    /// Waits, up to `deadline`, for this agent's background work: the
    /// in-memory background hooks (then cut, and reported) and the durable
    /// jobs (then left queued in the store for the next start). Call it
    /// before a program that ran the agent without a server exits: a
    /// runtime that stops cuts whatever still runs.
    ///
    /// ```
    /// # use agno_server::{Agent, Echo};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let agent = Agent::builder().id("a").model(Echo::new()).build().unwrap();
    /// agent.run("hi").await.unwrap();
    /// let report = agent.shutdown(std::time::Duration::from_secs(5)).await;
    /// assert!(report.is_clean());
    /// # });
    /// ```
    pub async fn shutdown(&self, deadline: std::time::Duration) -> AgentShutdown {
        let (hooks, jobs) = tokio::join!(
            self.inner.dispatcher.shutdown(deadline),
            self.inner.jobs.shutdown(deadline)
        );
        AgentShutdown { hooks, jobs }
    }

    /// Cancels the run `run_id`: under way in this process, it stops at
    /// its next step ([`Agent::cancel_running`]); a queued background run
    /// is cancelled in the store at once (its job `cancelled`, its row
    /// `CANCELLED`); otherwise, on a store other instances share
    /// (Postgres), every instance is told (`NOTIFY`) and the one running
    /// it stops it. Returns whether it was found here; a finished or
    /// unknown run is left as it is.
    pub async fn cancel(&self, run_id: &str) -> Result<bool, AgentError> {
        if self.cancel_running(run_id) {
            return Ok(true);
        }
        let Some(db) = &self.inner.db else {
            return Ok(false);
        };
        if db.cancel_queued_run(run_id).await? {
            self.inner.running.forget(run_id);
            return Ok(true);
        }
        db.publish(crate::db::StoreEvent::CancelRun(run_id.to_owned()))
            .await?;
        Ok(false)
    }

    /// Cancels the run `run_id` as [`Agent::cancel`] does, if it is
    /// `user_id`'s: under way here as that user's, or stored as that
    /// user's run of this agent. `None` when it is not known to be (another
    /// user's, unknown, or under way on another instance and not stored
    /// yet): nothing is done.
    pub async fn cancel_for(
        &self,
        run_id: &str,
        user_id: &str,
    ) -> Result<Option<bool>, AgentError> {
        match self.inner.running.cancel_owned(run_id, user_id) {
            Some(true) => return Ok(Some(true)),
            Some(false) => return Ok(None),
            None => {}
        }
        let Some(db) = &self.inner.db else {
            return Ok(None);
        };
        let mine = db.get_run(run_id).await?.is_some_and(|run| {
            run.user_id.as_deref() == Some(user_id) && run.agent_id.as_deref() == Some(self.id())
        });
        if !mine {
            return Ok(None);
        }
        self.cancel(run_id).await.map(Some)
    }

    /// Refuses (as [`DbError::NotOwner`](crate::db::DbError::NotOwner))
    /// a run `request` into a session another user owns, or naming no
    /// user into an owned one: what the run's first step checks, for a
    /// caller that must answer before the run starts (a stream). The
    /// store checks again when the run is written.
    pub async fn check_session_writable(&self, request: &RunRequest) -> Result<(), AgentError> {
        let (Some(db), Some(session_id)) = (&self.inner.db, &request.session_id) else {
            return Ok(());
        };
        match db.get_session(session_id).await? {
            Some(stored) if stored.user_id.is_some() && stored.user_id != request.user_id => {
                Err(crate::db::DbError::NotOwner {
                    session_id: session_id.clone(),
                }
                .into())
            }
            _ => Ok(()),
        }
    }

    /// Whether a new run may start, as the backlog of its durable jobs
    /// allows ([`JobOptions::when_backlogged`](crate::JobOptions::when_backlogged)):
    /// refused, waited for, or let through (the log says so).
    pub(crate) async fn admit(&self) -> Result<(), AgentError> {
        let jobs = &self.inner.jobs;
        let state = jobs.backlog();
        if !state.over {
            return Ok(());
        }
        let refused = |state: crate::jobs::BacklogState| AgentError::Backlogged {
            agent: self.id().to_owned(),
            queued: state.queued,
            oldest_secs: state.oldest_secs,
        };
        match jobs.options().when_backlogged {
            crate::jobs::WhenBacklogged::Warn => Ok(()),
            crate::jobs::WhenBacklogged::Refuse => Err(refused(state)),
            crate::jobs::WhenBacklogged::Wait(limit) => {
                if jobs.backlog_drained(limit).await {
                    Ok(())
                } else {
                    Err(refused(jobs.backlog()))
                }
            }
        }
    }

    /// Forgets a cancel kept for `run_id` (see [`Agent::cancel_running`]).
    pub(crate) fn forget_cancel(&self, run_id: &str) {
        self.inner.running.forget(run_id);
    }

    /// The names of the hooks of `phase`, in order.
    pub fn hook_names(&self, phase: Phase) -> Vec<&'static str> {
        self.hooks(phase).iter().map(|h| h.meta().name).collect()
    }

    /// Whether this agent runs its movable hooks in the background (its
    /// own setting or its dispatcher's).
    pub fn runs_hooks_in_background(&self) -> bool {
        self.inner.run_hooks_in_background || self.inner.dispatcher.run_hooks_in_background()
    }

    /// The same agent on another dispatcher (AgentOS shares one between
    /// its agents, to drain them together). The global
    /// `run_hooks_in_background` is the dispatcher's
    /// ([`Dispatcher::run_hooks_in_background`]); the agent's own setting
    /// stays as it was built.
    pub fn with_dispatcher(&self, dispatcher: Dispatcher) -> Agent {
        let was_on = self.runs_hooks_in_background();
        let mut inner = (*self.inner).clone();
        inner.dispatcher = dispatcher;
        let agent = Agent {
            inner: Arc::new(inner),
        };
        // Logged once per agent: here only when this turned the flag on
        // (`build()` logged it when the agent had it already).
        if !was_on && agent.runs_hooks_in_background() {
            agent.log_pinned_hooks();
        }
        agent
    }

    /// The same agent, counting its runs and model calls in `metrics`.
    pub(crate) fn with_metrics(&self, metrics: &Metrics) -> Agent {
        let mut inner = (*self.inner).clone();
        inner.metrics = Some(metrics.agent(&inner.info.id, inner.model.id()));
        Agent {
            inner: Arc::new(inner),
        }
    }

    /// The same agent, storing its runs' traces through `writer`.
    pub(crate) fn with_traces(&self, writer: Arc<TraceWriter>) -> Agent {
        let mut inner = (*self.inner).clone();
        inner.traces = Some(writer);
        Agent {
            inner: Arc::new(inner),
        }
    }

    /// Waits until every trace of its runs so far is written.
    pub async fn flush_traces(&self) {
        if let Some(writer) = &self.inner.traces {
            writer.flush().await;
        }
    }

    /// Traces dropped because the store was behind.
    pub fn traces_dropped(&self) -> u64 {
        self.inner.traces.as_ref().map_or(0, |w| w.dropped())
    }

    /// The same agent with `durable_hooks` as its default for background
    /// hooks that do not say (AgentOS's default; ignored without a store).
    pub(crate) fn with_durable_hooks(self, on: bool) -> Agent {
        if self.inner.db.is_none() || self.inner.durable_hooks == on {
            return self;
        }
        let mut inner = (*self.inner).clone();
        inner.durable_hooks = on;
        Agent {
            inner: Arc::new(inner),
        }
    }

    /// Refuses a hook that takes a [`Job`](hooks_core::Job) argument but
    /// does not run as a durable job on this agent (inline, or not
    /// durable): its `Job` could never be given. Checked by `build()`, and
    /// again by `AgentOS` once its own flags apply.
    pub(crate) fn check_job_arguments(&self) -> Result<(), AgentError> {
        let background = self.runs_hooks_in_background();
        let durable = self.inner.durable_hooks && self.inner.db.is_some();
        for meta in self
            .inner
            .every_hook()
            .map(|h| h.meta())
            .filter(|m| m.takes_job)
        {
            let why = if !meta.runs_in_background(background) {
                "runs inline (add `run_in_background = true`)"
            } else if !meta.is_durable(durable) || self.inner.db.is_none() {
                "is not durable (add `durable = true`, and give the agent a store)"
            } else {
                continue;
            };
            return Err(AgentError::JobWithoutDurable {
                hook: meta.name,
                agent: self.id().to_owned(),
                why,
            });
        }
        Ok(())
    }

    fn log_pinned_hooks(&self) {
        let global = self.runs_hooks_in_background();
        for phase in [Phase::Pre, Phase::Post] {
            self.inner
                .dispatcher
                .log_pinned_inline(self.id(), phase, self.hooks(phase), global);
        }
        for (phase, hooks) in self.inner.tools.hook_lists() {
            self.inner
                .dispatcher
                .log_pinned_inline(self.id(), phase, hooks, global);
        }
    }
}

impl AgentInner {
    /// Every hook of the agent: the run's, then the tool calls' (the
    /// agent's and each tool's own).
    fn every_hook(&self) -> impl Iterator<Item = &HookRef> {
        let tools = self.tools.hook_lists().flat_map(|(_, hooks)| hooks);
        self.pre_hooks.iter().chain(&self.post_hooks).chain(tools)
    }
}

/// What the job worker needs of its agent.
impl JobHost for AgentInner {
    fn component_id(&self) -> &str {
        &self.info.id
    }

    fn find_hook(&self, name: &str) -> Option<HookRef> {
        self.every_hook()
            .find(|h| h.meta().name == name)
            .cloned()
            .or_else(|| hooks_core::registry::get(name).ok().map(|r| r.hook_ref()))
    }

    fn hook_names(&self) -> Vec<String> {
        let own = self.every_hook().map(|h| h.meta().name);
        let registered = hooks_core::registry::all().iter().map(|r| r.meta().name);
        let mut names: Vec<String> = own.chain(registered).map(str::to_owned).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn restore_parts(&self) -> (Arc<AgentInfo>, Arc<Extensions>) {
        (self.info.clone(), self.extensions.clone())
    }

    fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    fn durable_by_default(&self) -> bool {
        self.durable_hooks
    }

    fn run_background(self: Arc<Self>, payload: String, fence: crate::db::JobFence) -> RunFuture {
        let agent = Agent { inner: self };
        Box::pin(async move { agent.run_queued(&payload, fence).await })
    }
}
