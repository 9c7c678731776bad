//! The JSON bodies the HTTP API answers with, as types: Agno's shapes
//! (`AgentResponse`, `SessionSchema`, `RunSchema`, ...) kept apart from
//! the engine's types, so a change inside the agent or the store cannot
//! change the wire by accident. Each derives its OpenAPI schema
//! (`GET /openapi.json`).

use std::collections::BTreeMap;

use hooks_core::{DispatcherStats, Message, RunOutput};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::db::{JobRecord, JobStats, ModelInfo, SessionRecord, SessionType};

/// `GET /`: what this server is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerInfo {
    /// The OS's name (`AgentOS` when it has none).
    pub name: String,
    /// The OS's id.
    pub id: String,
    /// This crate's version.
    pub version: &'static str,
}

/// `GET /health`: Agno's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// Epoch seconds when the OS was made.
    pub instantiated_at: i64,
}

/// `GET /config`: Agno's `ConfigResponse` (teams, workflows and
/// interfaces are always empty here).
#[derive(Debug, Serialize, ToSchema)]
pub struct OsConfig {
    /// The OS's id.
    pub os_id: String,
    /// The OS's name.
    pub name: Option<String>,
    /// The OS's description.
    pub description: Option<String>,
    /// Each distinct (model, provider) the agents use.
    pub available_models: Vec<AvailableModel>,
    /// The stores' ids (`db_id`).
    pub databases: Vec<String>,
    /// The agents, briefly.
    pub agents: Vec<AgentSummary>,
    /// Always empty.
    pub teams: Vec<Value>,
    /// Always empty.
    pub workflows: Vec<Value>,
    /// Always empty.
    pub interfaces: Vec<Value>,
    /// Whether the global flag moves hooks to the background.
    pub run_hooks_in_background: bool,
}

/// An entry of `available_models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailableModel {
    /// The model's id.
    pub id: String,
    /// Its provider.
    pub provider: String,
}

/// An agent in `GET /config`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSummary {
    /// The agent's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// The store its sessions are in, if any.
    pub db_id: Option<String>,
}

/// `GET /agents/{id}`: Agno's `AgentResponse`, plus the agent's hooks.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentResponse {
    /// The agent's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// The store its sessions are in, if any.
    pub db_id: Option<String>,
    /// Its model.
    pub model: ModelResponse,
    /// Its instructions.
    pub instructions: Vec<String>,
    /// Whether it asks for Markdown.
    pub markdown: bool,
    /// Its pre-hooks, in order.
    pub pre_hooks: Vec<AgentHook>,
    /// Its post-hooks, in order.
    pub post_hooks: Vec<AgentHook>,
    /// Its tools, as Agno lists them (absent when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<AgentTools>,
}

/// An agent's `tools` in Agno's `AgentResponse`: each tool as the model is
/// told of it (`Function.to_dict()`), and the run's call limit when set.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTools {
    /// The tools, sorted by name.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<crate::model::ToolDefinition>,
    /// How many tool calls a run may make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_limit: Option<usize>,
}

/// An agent's model as Agno's `ModelResponse` (`model` is the id; the
/// session's `agent_data` says `id`, see [`ModelInfo`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelResponse {
    /// Agno's model class name; the provider here.
    pub name: String,
    /// The model's id.
    pub model: String,
    /// Its provider.
    pub provider: String,
}

impl From<ModelInfo> for ModelResponse {
    fn from(info: ModelInfo) -> Self {
        Self {
            name: info.name,
            model: info.id,
            provider: info.provider,
        }
    }
}

/// A hook of an agent, as it runs on this server.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentHook {
    /// The hook's name.
    pub name: &'static str,
    /// Where it runs here (its attribute, or moved by the global flag).
    pub run_in_background: bool,
    /// Whether it can change the run's input or output.
    pub changes_run: bool,
    /// Whether it can reject the run.
    pub can_block: bool,
    /// Whether it is an `async fn`.
    pub is_async: bool,
}

/// Agno's `PaginationInfo`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfo {
    /// This page, from 1.
    pub page: u64,
    /// Items per page.
    pub limit: u64,
    /// Pages in all.
    pub total_pages: u64,
    /// Items in all.
    pub total_count: u64,
    /// How long the store took to find them, in milliseconds.
    pub search_time_ms: f64,
}

impl PageInfo {
    /// Page `page` of `limit` items, `total_count` in all, found in the
    /// time since `started`.
    pub fn new(page: u64, limit: u64, total_count: u64, started: std::time::Instant) -> Self {
        Self {
            page,
            limit,
            total_pages: total_count.div_ceil(limit.max(1)),
            total_count,
            search_time_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// `GET /sessions`: Agno's `PaginatedResponse[SessionSchema]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionPage {
    /// The sessions of this page.
    pub data: Vec<SessionSummary>,
    /// Where the page is.
    pub meta: PageInfo,
}

/// A session in a list: Agno's `SessionSchema`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSummary {
    /// The session's id.
    pub session_id: String,
    /// Its name (empty when it has none).
    pub session_name: String,
    /// Its state.
    pub session_state: Map<String, Value>,
    /// Epoch seconds when it was made.
    pub created_at: i64,
    /// Epoch seconds when it was last written.
    pub updated_at: i64,
}

impl From<&SessionRecord> for SessionSummary {
    fn from(session: &SessionRecord) -> Self {
        Self {
            session_id: session.session_id.clone(),
            session_name: session.session_name.clone().unwrap_or_default(),
            session_state: session.session_state.clone(),
            created_at: session.created_at,
            updated_at: session.updated_at,
        }
    }
}

/// `GET /sessions/{id}`: Agno's `AgentSessionDetailSchema`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetail<'a> {
    /// The session's user.
    pub user_id: Option<&'a str>,
    /// The session's id (Agno's older name).
    pub agent_session_id: &'a str,
    /// The session's id.
    pub session_id: &'a str,
    /// Agent, team or workflow.
    #[schema(value_type = String)]
    pub session_type: SessionType,
    /// Its name (empty when it has none).
    pub session_name: &'a str,
    /// Its summary.
    pub session_summary: Option<&'a Value>,
    /// Its state.
    pub session_state: &'a Map<String, Value>,
    /// The agent it belongs to.
    pub agent_id: Option<&'a str>,
    /// The tokens of all its runs (`session_metrics.total_tokens`).
    pub total_tokens: u64,
    /// What the session row says of the agent.
    pub agent_data: Option<&'a Value>,
    /// Its metadata.
    pub metadata: Option<&'a Map<String, Value>>,
    /// Epoch seconds when it was made.
    pub created_at: i64,
    /// Epoch seconds when it was last written.
    pub updated_at: i64,
    /// Its runs' user and assistant messages, in order, without those
    /// sent again as history (Agno's `get_chat_history`). Last, so that a
    /// route can stream it after the rest (see `os/runs_body.rs`).
    #[schema(value_type = Vec<Message>)]
    pub chat_history: Vec<&'a Message>,
}

impl<'a> SessionDetail<'a> {
    /// Whether `message` is in a session's chat history (Agno skips the
    /// system and tool messages, and those sent again as history).
    pub fn in_chat_history(message: &Message) -> bool {
        !message.from_history && message.role != "system" && message.role != "tool"
    }

    /// The detail of `session` with its `runs`.
    pub fn new(session: &'a SessionRecord, runs: &'a [RunOutput]) -> Self {
        Self {
            user_id: session.user_id.as_deref(),
            agent_session_id: &session.session_id,
            session_id: &session.session_id,
            session_type: session.session_type,
            session_name: session.session_name.as_deref().unwrap_or_default(),
            session_summary: session.summary.as_ref(),
            session_state: &session.session_state,
            agent_id: session.agent_id.as_deref(),
            total_tokens: session.total_tokens,
            agent_data: session.agent_data.as_ref(),
            metadata: session.metadata.as_ref(),
            created_at: session.created_at,
            updated_at: session.updated_at,
            chat_history: runs
                .iter()
                .flat_map(|r| r.messages.iter())
                .filter(|m| Self::in_chat_history(m))
                .collect(),
        }
    }
}

/// A stored run as Agno's `RunSchema`: the run output's fields, plus
/// `run_input` (the input's text).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunSchema<'a> {
    /// The run, as stored (Agno's `RunOutput`).
    #[serde(flatten)]
    #[schema(value_type = RunOutput)]
    pub run: &'a RunOutput,
    /// The input's text.
    pub run_input: Option<&'a str>,
}

impl<'a> From<&'a RunOutput> for RunSchema<'a> {
    fn from(run: &'a RunOutput) -> Self {
        Self {
            run,
            run_input: run.input.as_ref().map(|i| i.input_content.as_str()),
        }
    }
}

/// An empty object, `{}` (the answer to a cancel, as Agno's).
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Every error's body: `{"detail": ...}`, a text, or FastAPI's
/// validation list for a missing field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub detail: Value,
}

/// `GET /queue/jobs`: Agno's `PaginatedResponse[QueueJobSchema]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// The jobs.
    pub data: Vec<JobRecord>,
    /// Where the page is.
    pub meta: PageInfo,
}

/// `GET /hooks`: every registered hook, the dispatcher's counters, the
/// hooks in flight and the durable jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct HooksReport {
    /// Every hook the program registered.
    pub registered: Vec<RegisteredHook>,
    /// The durable jobs: each agent's worker and each store's counts.
    pub jobs: JobsReport,
    /// The background dispatcher's counters.
    pub stats: DispatcherStats,
    /// Background hooks accepted and not started.
    pub queued: u64,
    /// Up to 100 background hooks in flight.
    pub in_flight: Vec<HookInFlight>,
    /// Whether the global flag moves hooks to the background.
    pub run_hooks_in_background: bool,
}

/// A hook the program registered (`#[hook]`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredHook {
    /// Its name (the registry's key).
    pub name: &'static str,
    /// Its Rust path.
    pub path: String,
    /// The file it is defined in.
    pub file: &'static str,
    /// The line.
    pub line: u32,
    /// Whether it is an `async fn`.
    pub is_async: bool,
    /// Its attribute's `run_in_background`.
    pub run_in_background: bool,
    /// Where it runs on this server (its attribute, or moved by the
    /// global flag; hooks that can change or block stay).
    pub runs_in_background: bool,
    /// Whether it runs on the blocking pool.
    pub blocking: bool,
    /// Whether it can change the run.
    pub changes_run: bool,
    /// Whether it can reject the run.
    pub can_block: bool,
    /// Its attribute's `durable`; `null`: the agent's default decides.
    pub durable: Option<bool>,
    /// Whether it takes the `Job` argument.
    pub takes_job: bool,
}

/// A background hook in flight.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookInFlight {
    /// The hook's name.
    pub name: &'static str,
    /// The run it belongs to.
    pub run_id: String,
}

/// The durable jobs of `GET /hooks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobsReport {
    /// Each agent with a store, by id.
    pub agents: BTreeMap<String, AgentJobs>,
    /// Each store's counts, by `db_id`.
    pub stores: BTreeMap<String, StoreJobs>,
}

/// An agent's durable-job worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentJobs {
    /// Whether its background hooks are durable by default.
    pub durable_hooks: bool,
    /// Its worker's counters.
    pub counters: crate::jobs::JobCounters,
}

/// A store's job counts, or why they could not be read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StoreJobs {
    /// Counts by status and the oldest queued job's age.
    Stats(JobStats),
    /// The store's error.
    Error {
        /// The error's text.
        error: String,
    },
}

/// The form of `POST /agents/{agent_id}/runs` (multipart or urlencoded),
/// as Agno's: described here for the OpenAPI document; the route reads it
/// with its own limits (`os::form`). Any other field is passed to hooks
/// as `ExtraFields`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RunFormFields {
    /// The user's message.
    pub message: String,
    /// Answer with server-sent events (default true).
    pub stream: Option<bool>,
    /// Answer 202 at once and run from the durable queue (needs a store;
    /// poll `GET /agents/{agent_id}/runs/{run_id}`).
    pub background: Option<bool>,
    /// Continue this session (a new one when absent).
    pub session_id: Option<String>,
    /// The user.
    pub user_id: Option<String>,
    /// A JSON object merged into the session's state.
    pub session_state: Option<String>,
    /// A JSON object of dependencies for the run.
    pub dependencies: Option<String>,
    /// A JSON object of metadata for the run.
    pub metadata: Option<String>,
}

/// A background run accepted (202): Agno's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The run's id.
    pub run_id: String,
    /// Its session's id.
    pub session_id: String,
    /// `PENDING`.
    pub status: String,
}

impl From<crate::agent::Submitted> for Accepted {
    fn from(submitted: crate::agent::Submitted) -> Self {
        Self {
            run_id: submitted.run_id,
            session_id: submitted.session_id,
            status: submitted.status.as_str().to_owned(),
        }
    }
}
