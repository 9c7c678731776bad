//! What is sent to a model and what comes back.

use hooks_core::{Message, MessageToolCall, Tool};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The conversation sent to a model, and the tools it may call.
///
/// Roles are `"system"`, `"user"`, `"assistant"` and `"tool"`
/// (`"developer"` is passed through as is); the system message, if any,
/// comes first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
    /// The tools offered, sorted by name (as Agno sends them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
}

/// A tool as the model is told of it (Agno's `Function.to_dict()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of its parameters.
    pub parameters: Value,
    /// OpenAI's strict mode (sent only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
}

impl ToolDefinition {
    /// The definition of `tool`.
    pub fn of(tool: &dyn Tool) -> Self {
        let meta = tool.meta();
        Self {
            name: meta.name.to_owned(),
            description: meta.description.map(str::to_owned),
            parameters: tool.parameters(),
            strict: meta.strict,
        }
    }
}

impl ModelRequest {
    /// A request with these messages, and no tools.
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            tools: Vec::new(),
        }
    }

    /// The text of the last `user` message, if there is one.
    pub fn last_user_text(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .and_then(|m| m.content.as_deref())
    }
}

/// Token counts reported by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u64,
    /// Tokens of the answer.
    pub output_tokens: u64,
}

impl Usage {
    /// `input_tokens + output_tokens`.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// A whole answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// The answer's text.
    pub content: String,
    /// The tools the model calls, in its order (empty: it answered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<MessageToolCall>,
    /// Token counts.
    pub usage: Usage,
}

/// One item of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStreamEvent {
    /// A piece of the answer's text.
    Delta(String),
    /// The end of the answer, always last: its content is all the deltas
    /// joined, with the usage.
    Completed(ModelResponse),
}
