//! Errors of building and running an agent.

use hooks_core::Phase;

use crate::db::DbError;

/// Why an agent could not be built or a run could not be carried out.
///
/// A model failure or a check error does not end up here: the run ends
/// with status `ERROR` and is stored, as Agno does.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `build()` without a model.
    #[error("agent `{agent}` has no model: call .model(...) (OpenAIResponses, OpenAIChat or Echo)")]
    MissingModel {
        /// The agent's id.
        agent: String,
    },
    /// Two tools of an agent have the same name.
    #[error(
        "agent `{agent}` has two tools named `{tool}`: the model calls a tool by its name; rename one (`#[tool(name = \"...\")]`)"
    )]
    DuplicateTool {
        /// The name.
        tool: String,
        /// The agent's id.
        agent: String,
    },
    /// `build()` without an id or a name.
    #[error("an agent needs an id or a name: call .id(...) or .name(...)")]
    MissingId,
    /// A hook was attached to a phase its arguments do not exist in.
    #[error("hook `{hook}` cannot be a {phase}-hook: it takes {why}")]
    HookPhase {
        /// The hook's name.
        hook: &'static str,
        /// The phase it was attached to.
        phase: Phase,
        /// Which argument is missing in that phase.
        why: &'static str,
    },
    /// A hook says `durable = true`, and the agent has no store to keep
    /// its jobs in.
    #[error(
        "hook `{hook}` is durable (`durable = true`), but agent `{agent}` has no store to keep its jobs in: give the agent a store (.db(SqliteDb::new(..)?)) or drop `durable = true`"
    )]
    DurableWithoutStore {
        /// The hook's name.
        hook: &'static str,
        /// The agent's id.
        agent: String,
    },
    /// A hook takes a `Job` argument, which only a durable job has, and
    /// does not run as one on this agent.
    #[error(
        "hook `{hook}` takes a `Job` argument, which only a durable background hook has, but on agent `{agent}` it {why}"
    )]
    JobWithoutDurable {
        /// The hook's name.
        hook: &'static str,
        /// The agent's id.
        agent: String,
        /// Why it is not a durable job.
        why: &'static str,
    },
    /// `background=true` on an agent without a store (Agno's 400).
    #[error("Background execution requires a database to be configured on the agent")]
    BackgroundWithoutStore {
        /// The agent's id.
        agent: String,
    },
    /// `max_queue_depth` background runs wait already (Agno's 429).
    #[error("Job queue is full")]
    QueueFull {
        /// The limit.
        depth: usize,
    },
    /// The agent's durable jobs wait in the store past their bound
    /// (`JobOptions::max_backlog`, `max_backlog_age`): new runs are refused
    /// until they drain (`when_backlogged`; over HTTP 503 with
    /// `Retry-After`).
    #[error(
        "agent `{agent}` is backlogged: {queued} durable jobs wait in the store (the oldest for {oldest_secs:?} s); try again shortly"
    )]
    Backlogged {
        /// The agent's id.
        agent: String,
        /// Jobs queued (counted up to the bound).
        queued: u64,
        /// Seconds the oldest due job has waited.
        oldest_secs: Option<i64>,
    },
    /// An `Idempotency-Key` reused for another agent or kind of work
    /// (Agno's 409).
    #[error("Idempotency-Key {key:?} was already used for another submission")]
    IdempotencyConflict {
        /// The key.
        key: String,
    },
    /// Something that cannot fail did (a bug): reported, never a panic.
    #[error("internal error: {0}")]
    Internal(String),
    /// The session store failed.
    #[error("session store: {0}")]
    Db(#[from] DbError),
}
