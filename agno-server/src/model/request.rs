//! What is sent to a model and what comes back.

use hooks_core::Message;
use serde::{Deserialize, Serialize};

/// The conversation sent to a model.
///
/// Roles are `"system"`, `"user"` and `"assistant"` (`"developer"` is passed
/// through as is); the system message, if any, comes first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
}

impl ModelRequest {
    /// A request with these messages.
    pub fn new(messages: Vec<Message>) -> Self {
        Self { messages }
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
