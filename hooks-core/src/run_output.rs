//! The output of a run, as post-hooks see it and as it is stored and served.

use serde::{Deserialize, Serialize};

use crate::RunInput;

/// The state a run ends in (Agno's `RunStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    /// Not started yet.
    Pending,
    /// Under way.
    #[default]
    Running,
    /// Finished normally.
    Completed,
    /// Paused (waiting for a human, say).
    Paused,
    /// Cancelled by a caller.
    Cancelled,
    /// Ended by an error, including a check error raised by a hook.
    Error,
}

impl RunStatus {
    /// The name Agno uses (`"COMPLETED"`, `"ERROR"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "PENDING",
            RunStatus::Running => "RUNNING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Paused => "PAUSED",
            RunStatus::Cancelled => "CANCELLED",
            RunStatus::Error => "ERROR",
        }
    }
}

/// One message of the conversation sent to or received from the model
/// (Agno's `Message`, the fields we fill): `tool_calls` on an assistant
/// turn that calls tools, `tool_call_id` and the rest on a `tool` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The tools an assistant turn calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<MessageToolCall>,
    /// A tool result: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// A tool result: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// A tool result: the arguments it was called with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub tool_args: Option<serde_json::Map<String, serde_json::Value>>,
    /// A tool result: whether it is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_error: Option<bool>,
    /// Epoch seconds when the message was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Whether it comes from an earlier run of the session (history).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_history: bool,
}

impl Message {
    /// A message with `role` and `content`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: Some(content.into()),
            ..Self::default()
        }
    }
}

/// One tool call of an assistant turn, as Agno stores it (OpenAI's
/// shape: `{"id", "type": "function", "function": {"name", "arguments"}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageToolCall {
    /// The call's id (with Responses, the `fc_` item id).
    pub id: String,
    /// With Responses, the `call_` id the result answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".to_owned()
}

/// The function a tool call names, and its arguments as the model wrote
/// them (a JSON text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunctionCall {
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON text.
    #[serde(default)]
    pub arguments: String,
}

/// One tool call of a run and how it went (Agno's `ToolExecution`, the
/// fields we fill), in the run's `tools`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolExecution {
    /// The call's id.
    pub tool_call_id: String,
    /// The tool's name.
    pub tool_name: String,
    /// The arguments.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub tool_args: serde_json::Map<String, serde_json::Value>,
    /// Whether it failed (`null` while it runs).
    pub tool_call_error: Option<bool>,
    /// Its result, or the error's text (`null` while it runs).
    pub result: Option<String>,
    /// `{"start_time", "end_time", "duration"}` (epoch seconds, seconds);
    /// `null` while it runs.
    pub metrics: Option<ToolMetrics>,
    /// Always `null` here (a member agent's run).
    pub child_run_id: Option<String>,
    /// Whether the run stopped on its result.
    pub stop_after_tool_call: bool,
    /// Epoch seconds when it was called.
    pub created_at: i64,
    /// Always `null` here (human in the loop is not supported).
    pub requires_confirmation: Option<bool>,
    /// Always `null` here.
    pub confirmed: Option<bool>,
    /// Always `null` here.
    pub confirmation_note: Option<String>,
    /// Always `null` here.
    pub requires_user_input: Option<bool>,
    /// Always `null` here.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub user_input_schema: Option<serde_json::Value>,
    /// Always `null` here.
    pub answered: Option<bool>,
    /// Always `null` here.
    pub external_execution_required: Option<bool>,
}

/// How long one tool call took (Agno's `ToolExecution.metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolMetrics {
    /// Epoch seconds when it started.
    pub start_time: f64,
    /// Epoch seconds when it ended.
    pub end_time: f64,
    /// Seconds it took.
    pub duration: f64,
}

/// Token counts and durations of a run (Agno's `Metrics`, the fields we fill).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    /// Tokens sent to the model.
    pub input_tokens: u64,
    /// Tokens the model produced.
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    pub total_tokens: u64,
    /// Seconds the whole run took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Seconds until the model's first token (streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_token: Option<f64>,
}

/// What a run produced. Post-hooks receive it as `&RunOutput`, `RunOutput`
/// or `&mut RunOutput` (to change what is returned and stored).
///
/// Serialises as Agno's run output: `None` fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunOutput {
    /// The run's id (a UUID).
    pub run_id: String,
    /// The agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The session the run belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The user the run is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The input, as the model saw it (after pre-hooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<RunInput>,
    /// The answer (or, on a check error, its message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `"str"` for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The model's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model's provider (`"OpenAI"`, `"Echo"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// The messages of the exchange (system, history, user, assistant,
    /// tool calls and their results).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// The tool calls of the run, in the order they were made (absent when
    /// no tool ran, as Agno).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolExecution>,
    /// Tokens and durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// How the run ended.
    pub status: RunStatus,
    /// Epoch seconds when the run started.
    pub created_at: i64,
}
