//! The input of a run, as pre-hooks see it.

use serde::{Deserialize, Serialize};

/// What the user asked: the run's input.
///
/// Pre-hooks receive it as `&RunInput` (read), `RunInput` (an owned copy) or
/// `&mut RunInput` (to change what the next hook and the model see).
/// Post-hooks may read it too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunInput {
    /// The message text, as Agno's `input_content`.
    pub input_content: String,
}

impl RunInput {
    /// A run input holding `content`.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            input_content: content.into(),
        }
    }

    /// The message text.
    pub fn input_content(&self) -> &str {
        &self.input_content
    }
}

impl From<&str> for RunInput {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for RunInput {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}
