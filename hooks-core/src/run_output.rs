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

/// One message of the conversation sent to or received from the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
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
            created_at: None,
            from_history: false,
        }
    }
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
    /// The messages of the exchange (system, history, user, assistant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// Tokens and durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// How the run ended.
    pub status: RunStatus,
    /// Epoch seconds when the run started.
    pub created_at: i64,
}
