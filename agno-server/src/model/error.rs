//! The errors a model call ends with.

use std::time::Duration;

/// Why a model call failed. No variant ever carries the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No API key was given and the environment variable is unset; reported
    /// before any request is sent.
    #[error("no {provider} API key: pass one with .api_key(..) or set {env_var}")]
    MissingApiKey {
        /// The provider, e.g. `"OpenAI"`.
        provider: &'static str,
        /// The environment variable read, e.g. `"OPENAI_API_KEY"`.
        env_var: &'static str,
    },

    /// The API answered with an error status.
    #[error("the model API answered with status {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The provider's `error.message` (or the body, or the status reason).
        message: String,
    },

    /// No answer (or, when streaming, no next chunk) within the timeout.
    #[error("the model request timed out after {} ms", .0.as_millis())]
    Timeout(Duration),

    /// The API could not be reached or the connection broke.
    #[error("could not reach the model API: {0}")]
    Connection(String),

    /// The API answered something that could not be understood.
    #[error("the model API sent an invalid response: {0}")]
    InvalidResponse(String),

    /// The model reported a failure inside a successful answer (a stream's
    /// `error` or `response.failed` event, a failed response).
    #[error("the model failed: {0}")]
    Provider(String),

    /// The HTTP client could not be created.
    #[error("could not create the HTTP client: {0}")]
    Client(String),
}

impl ModelError {
    /// Whether retrying the same request may succeed (429, 5xx, connection
    /// errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Api { status, .. } => super::retry::is_retryable_status(*status),
            ModelError::Connection(_) => true,
            _ => false,
        }
    }

    /// The HTTP status, for [`ModelError::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ModelError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
