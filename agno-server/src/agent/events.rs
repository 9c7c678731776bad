//! The events a streaming run yields, with Agno's names and fields.

use hooks_core::{CheckError, Metrics, RunInput, RunOutput, ToolExecution};
use tokio::sync::mpsc;

use crate::clock::now_secs;
use serde::Serialize;
use serde_json::{Map, Value};

/// The content type of text (`"str"`, as Agno names it).
pub(crate) const TEXT: &str = "str";

/// One event of a streaming run. Serialises as Agno's event JSON: the
/// common fields plus `event` and the kind's own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEvent {
    /// Epoch seconds.
    pub created_at: i64,
    /// The agent's id.
    pub agent_id: String,
    /// The agent's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The run's id.
    pub run_id: String,
    /// The session's id.
    pub session_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: RunEventKind,
}

impl RunEvent {
    /// Agno's event name (`RunStarted`, `RunContent`, ...).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

/// What happened, with Agno's event names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum RunEventKind {
    /// The run began.
    RunStarted {
        /// The model's id.
        model: String,
        /// The model's provider.
        model_provider: String,
    },
    /// An inline pre-hook is about to run.
    PreHookStarted {
        /// The hook's name.
        pre_hook_name: String,
        /// The input as the hook sees it.
        run_input: RunInput,
    },
    /// An inline pre-hook finished.
    PreHookCompleted {
        /// The hook's name.
        pre_hook_name: String,
        /// The input after the hook.
        run_input: RunInput,
    },
    /// The model is being called.
    ModelRequestStarted {
        /// The model's id.
        model: String,
        /// The model's provider.
        model_provider: String,
    },
    /// A piece of the answer.
    RunContent {
        /// The text delta.
        content: String,
        /// `"str"`.
        content_type: String,
    },
    /// The model answered.
    ModelRequestCompleted {
        /// The model's id.
        model: String,
        /// The model's provider.
        model_provider: String,
        /// Tokens sent.
        input_tokens: u64,
        /// Tokens received.
        output_tokens: u64,
        /// Seconds the request took.
        duration: f64,
    },
    /// A tool call is about to run (its `tool` without a result yet).
    ToolCallStarted {
        /// The call.
        tool: ToolExecution,
    },
    /// A tool call ended, with a result or an error.
    ToolCallCompleted {
        /// The call, with its result.
        tool: ToolExecution,
        /// `"name(k=v, ...) completed in 0.0068s. "`, as Agno writes it.
        content: String,
    },
    /// A tool call failed: sent right after its `ToolCallCompleted`.
    ToolCallError {
        /// The call.
        tool: ToolExecution,
        /// The error's text (the tool's result).
        error: String,
    },
    /// The whole answer is known.
    RunContentCompleted {},
    /// An inline post-hook is about to run.
    PostHookStarted {
        /// The hook's name.
        post_hook_name: String,
    },
    /// An inline post-hook finished.
    PostHookCompleted {
        /// The hook's name.
        post_hook_name: String,
    },
    /// The run finished; `content` is the final answer (after post-hooks).
    RunCompleted {
        /// The final answer.
        content: Option<String>,
        /// `"str"`.
        content_type: String,
        /// Tokens and durations.
        metrics: Option<Metrics>,
    },
    /// The run ended with an error (a check error or a model failure).
    RunError {
        /// The message.
        content: String,
        /// `input_check_error`, `output_check_error` or `model_error`.
        error_type: String,
        /// The check trigger, if a check raised it.
        #[serde(skip_serializing_if = "Option::is_none")]
        error_id: Option<String>,
        /// What the check attached.
        #[serde(skip_serializing_if = "Option::is_none")]
        additional_data: Option<Map<String, Value>>,
    },
    /// The run was cancelled (`POST /agents/{id}/runs/{run_id}/cancel`).
    RunCancelled {
        /// Why.
        reason: String,
    },
}

impl RunEventKind {
    /// Agno's event name.
    pub fn name(&self) -> &'static str {
        match self {
            RunEventKind::RunStarted { .. } => "RunStarted",
            RunEventKind::PreHookStarted { .. } => "PreHookStarted",
            RunEventKind::PreHookCompleted { .. } => "PreHookCompleted",
            RunEventKind::ModelRequestStarted { .. } => "ModelRequestStarted",
            RunEventKind::RunContent { .. } => "RunContent",
            RunEventKind::ModelRequestCompleted { .. } => "ModelRequestCompleted",
            RunEventKind::ToolCallStarted { .. } => "ToolCallStarted",
            RunEventKind::ToolCallCompleted { .. } => "ToolCallCompleted",
            RunEventKind::ToolCallError { .. } => "ToolCallError",
            RunEventKind::RunContentCompleted {} => "RunContentCompleted",
            RunEventKind::PostHookStarted { .. } => "PostHookStarted",
            RunEventKind::PostHookCompleted { .. } => "PostHookCompleted",
            RunEventKind::RunCompleted { .. } => "RunCompleted",
            RunEventKind::RunError { .. } => "RunError",
            RunEventKind::RunCancelled { .. } => "RunCancelled",
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RunEventKind::RunCompleted { .. }
                | RunEventKind::RunError { .. }
                | RunEventKind::RunCancelled { .. }
        )
    }
}

/// The `RunCompleted` kind for a finished run.
pub(crate) fn completed(output: &RunOutput) -> RunEventKind {
    RunEventKind::RunCompleted {
        content: output.content.clone(),
        content_type: output.content_type.clone().unwrap_or_else(|| TEXT.into()),
        metrics: output.metrics.clone(),
    }
}

/// Where a run's events go: nowhere (non-streaming) or a channel.
pub(super) struct Events<'a> {
    pub(super) tx: Option<&'a mpsc::UnboundedSender<RunEvent>>,
    pub(super) agent_id: &'a str,
    pub(super) agent_name: Option<&'a str>,
    pub(super) run_id: String,
    pub(super) session_id: String,
}

impl Events<'_> {
    pub(super) fn emit(&self, kind: RunEventKind) {
        if let Some(tx) = self.tx {
            // A closed stream (the client left) does not stop the run.
            let _ = tx.send(RunEvent {
                created_at: now_secs(),
                agent_id: self.agent_id.to_owned(),
                agent_name: self.agent_name.map(str::to_owned),
                run_id: self.run_id.clone(),
                session_id: self.session_id.clone(),
                kind,
            });
        }
    }

    pub(super) fn error(&self, content: &str, error_type: &str, check: Option<&CheckError>) {
        self.emit(RunEventKind::RunError {
            content: content.to_owned(),
            error_type: error_type.to_owned(),
            error_id: check.map(|c| c.trigger.as_str().to_owned()),
            additional_data: check.and_then(|c| c.additional_data.clone()),
        });
    }
}
