//! Building an [`Agent`].

use std::sync::Arc;

use hooks_core::{
    AgentInfo, Dispatcher, Extensions, HookRef, IntoHookList, IntoToolList, Phase, Post,
    PostToolHooks, Pre, ToolHooks, ToolRef, first_misplaced,
};

use super::prompt::system_message;
use super::tool_calls::AgentTools;
use super::{Agent, AgentError, AgentInner};
use crate::db::Db;
use crate::jobs::{JobOptions, JobWorker};
use crate::model::Model;

/// Builds an [`Agent`]: `Agent::builder().id(..).model(..).build()`.
///
/// Hooks are attached by passing the structs `#[hook]` made:
/// `.pre_hooks(log_request)`, `.post_hooks((log_analytics, send_notification))`
/// (a tuple for hooks of different types), or a `Vec<HookRef>`. A hook whose
/// arguments do not exist in the phase fails to compile; for a `Vec<HookRef>`
/// `build()` fails with an error naming the hook.
#[derive(Default)]
pub struct AgentBuilder {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    instructions: Vec<String>,
    model: Option<Arc<dyn Model>>,
    db: Option<Arc<dyn Db>>,
    pre_hooks: Vec<HookRef>,
    post_hooks: Vec<HookRef>,
    markdown: bool,
    run_hooks_in_background: bool,
    dispatcher: Option<Dispatcher>,
    num_history_runs: usize,
    extensions: Extensions,
    durable_hooks: Option<bool>,
    job_options: JobOptions,
    max_session_state_bytes: usize,
    tools: Vec<ToolRef>,
    tool_call_limit: Option<usize>,
    tool_hooks: Vec<HookRef>,
    post_tool_hooks: Vec<HookRef>,
    tool_timeout: Option<std::time::Duration>,
}

impl AgentBuilder {
    pub(super) fn new() -> Self {
        Self {
            num_history_runs: 3,
            max_session_state_bytes: DEFAULT_MAX_SESSION_STATE_BYTES,
            ..Self::default()
        }
    }

    /// The agent's id (the URL path segment under AgentOS).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The agent's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A description, put first in the system message.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds an instruction for the system message.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions.push(instructions.into());
        self
    }

    /// The model (`OpenAIResponses`, `OpenAIChat`, `Echo` or your own).
    pub fn model(mut self, model: impl Model) -> Self {
        self.model = Some(Arc::new(model));
        self
    }

    /// A model already shared.
    pub fn model_arc(mut self, model: Arc<dyn Model>) -> Self {
        self.model = Some(model);
        self
    }

    /// Where sessions and runs are stored.
    pub fn db(mut self, db: impl Db) -> Self {
        self.db = Some(Arc::new(db));
        self
    }

    /// A store already shared.
    pub fn db_arc(mut self, db: Arc<dyn Db>) -> Self {
        self.db = Some(db);
        self
    }

    /// Appends pre-hooks (run after the session is loaded, before the model).
    pub fn pre_hooks(mut self, hooks: impl IntoHookList<Pre>) -> Self {
        self.pre_hooks.extend(hooks.into_hook_list());
        self
    }

    /// Appends one pre-hook.
    pub fn pre_hook(self, hook: impl IntoHookList<Pre>) -> Self {
        self.pre_hooks(hook)
    }

    /// Appends post-hooks (run after the model, before the run is stored).
    pub fn post_hooks(mut self, hooks: impl IntoHookList<Post>) -> Self {
        self.post_hooks.extend(hooks.into_hook_list());
        self
    }

    /// Appends one post-hook.
    pub fn post_hook(self, hook: impl IntoHookList<Post>) -> Self {
        self.post_hooks(hook)
    }

    /// Adds Agno's markdown formatting instruction to the system message.
    pub fn markdown(mut self, markdown: bool) -> Self {
        self.markdown = markdown;
        self
    }

    /// Runs every hook that neither changes nor can block the run in the
    /// background, for this agent.
    pub fn run_hooks_in_background(mut self, on: bool) -> Self {
        self.run_hooks_in_background = on;
        self
    }

    /// The dispatcher to run hooks on (share one between agents to drain
    /// them together). Default: a dispatcher of the agent's own.
    pub fn dispatcher(mut self, dispatcher: Dispatcher) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// How many earlier runs of the session are sent to the model (default 3;
    /// 0 sends none).
    pub fn num_history_runs(mut self, runs: usize) -> Self {
        self.num_history_runs = runs;
        self
    }

    /// A value your own hook argument types can read
    /// (`HookArgs::extension`).
    pub fn extension<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// Whether a background hook that does not say (`#[hook]` without
    /// `durable = ...`) runs as a durable job: written to the store with
    /// its run, run again after a crash (see [`crate::jobs`]). Default: on
    /// when the agent has a store. A hook's own `durable = true/false`
    /// always wins.
    pub fn durable_hooks(mut self, on: bool) -> Self {
        self.durable_hooks = Some(on);
        self
    }

    /// How durable jobs are retried and how many run at once.
    pub fn job_options(mut self, options: JobOptions) -> Self {
        self.job_options = options;
        self
    }

    /// The largest a session's `session_state` may grow, as JSON bytes
    /// (default 1 MiB): a run whose changes would take it past is refused
    /// before it starts (over HTTP: 413), so no session grows without end
    /// and no run copies an unbounded state into every hook's snapshot.
    pub fn max_session_state_bytes(mut self, bytes: usize) -> Self {
        self.max_session_state_bytes = bytes;
        self
    }

    /// Adds tools the model may call: the structs `#[tool]` made, a tuple
    /// of them, or a `Vec<ToolRef>`. A run calls the model again with the
    /// tools' results until it answers (or a tool ends the run).
    pub fn tools(mut self, tools: impl IntoToolList) -> Self {
        self.tools.extend(tools.into_tool_list());
        self
    }

    /// Appends tool hooks: a chain around every tool call, in order, then
    /// each tool's own (`#[tool(hooks = ...)]`), then the tool. A tool hook
    /// takes the call (`&ToolCall`, `&mut ToolCall` to change it, or
    /// `ToolCall` and [`Next`](hooks_core::Next) to wrap it); see
    /// [`hooks_core::Next`] for what each shape may do.
    ///
    /// Unlike Agno, where an agent's `tool_hooks` replace each tool's own,
    /// both run: a tool's own guard is never dropped by adding one here.
    pub fn tool_hooks(mut self, hooks: impl IntoHookList<ToolHooks>) -> Self {
        self.tool_hooks.extend(hooks.into_hook_list());
        self
    }

    /// Appends post-tool hooks: run after every tool call, in call order
    /// once the turn's calls are done, with the call (`&ToolCall`) and its
    /// result (`&ToolResult`). They may run in the background and be
    /// durable (an audit of every call, kept with the run); an inline one
    /// that returns a check error fails the run.
    pub fn post_tool_hooks(mut self, hooks: impl IntoHookList<PostToolHooks>) -> Self {
        self.post_tool_hooks.extend(hooks.into_hook_list());
        self
    }

    /// How long one tool call may run (default: no limit; a cancel of the
    /// run still stops it). Past it the tool's future is dropped and the
    /// model is told `Tool NAME timed out after ... and was stopped.`, as
    /// for any tool error. The tool hooks around it have the dispatcher's
    /// `hook_timeout`.
    pub fn tool_timeout(mut self, limit: std::time::Duration) -> Self {
        self.tool_timeout = Some(limit);
        self
    }

    /// How many tool calls a run may make (Agno's `tool_call_limit`;
    /// default none). A call past it is not run: the model is told so,
    /// in Agno's words, and may answer.
    pub fn tool_call_limit(mut self, limit: usize) -> Self {
        self.tool_call_limit = Some(limit);
        self
    }

    /// Builds the agent: refuses a hook attached to a phase its arguments
    /// do not exist in, a durable hook without a store, two tools of the
    /// same name.
    pub fn build(self) -> Result<Agent, AgentError> {
        let id = match (self.id, &self.name) {
            (Some(id), _) => id,
            (None, Some(name)) => slug(name),
            (None, None) => return Err(AgentError::MissingId),
        };
        let model = self
            .model
            .ok_or_else(|| AgentError::MissingModel { agent: id.clone() })?;
        let tools = AgentTools::new(
            &id,
            self.tools,
            self.tool_call_limit,
            self.tool_timeout,
            self.tool_hooks,
            self.post_tool_hooks,
        )?;
        let lists = [
            (Phase::Pre, &self.pre_hooks[..]),
            (Phase::Post, &self.post_hooks[..]),
        ];
        for (phase, hooks) in lists.into_iter().chain(tools.hook_lists()) {
            if let Some(hook) = first_misplaced(hooks, phase) {
                return Err(AgentError::HookPhase {
                    hook: hook.meta().name,
                    phase,
                    why: phase.unavailable_arguments(),
                });
            }
        }
        let durable_hooks = self.durable_hooks.unwrap_or(self.db.is_some()) && self.db.is_some();
        let every = self.pre_hooks.iter().chain(&self.post_hooks);
        for hook in every.chain(tools.hook_lists().flat_map(|(_, h)| h)) {
            let meta = hook.meta();
            if meta.durable == Some(true) && self.db.is_none() {
                return Err(AgentError::DurableWithoutStore {
                    hook: meta.name,
                    agent: id,
                });
            }
        }
        let info = AgentInfo {
            id,
            name: self.name,
            description: self.description.clone(),
            model: Some(model.id().to_owned()),
            model_provider: Some(model.provider().to_owned()),
        };
        let dispatcher = self.dispatcher.unwrap_or_default();
        let system_message = system_message(
            self.description.as_deref(),
            &self.instructions,
            self.markdown,
        );
        let agent = Agent {
            inner: Arc::new(AgentInner {
                info: Arc::new(info),
                description: self.description,
                instructions: self.instructions,
                model,
                jobs: JobWorker::new(self.job_options, self.db.clone()),
                db: self.db,
                pre_hooks: self.pre_hooks,
                post_hooks: self.post_hooks,
                markdown: self.markdown,
                system_message,
                run_hooks_in_background: self.run_hooks_in_background,
                dispatcher,
                num_history_runs: self.num_history_runs,
                extensions: Arc::new(self.extensions),
                durable_hooks,
                running: Default::default(),
                max_session_state_bytes: self.max_session_state_bytes,
                metrics: None,
                traces: None,
                tools,
            }),
        };
        agent.check_job_arguments()?;
        agent.log_pinned_hooks();
        Ok(agent)
    }
}

/// [`AgentBuilder::max_session_state_bytes`]'s default: 1 MiB.
pub const DEFAULT_MAX_SESSION_STATE_BYTES: usize = 1024 * 1024;

/// `BackgroundTaskAgent` → `backgroundtaskagent`, `My Agent` → `my-agent`.
fn slug(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
