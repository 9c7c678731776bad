//! The errors a hook returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a check (a guardrail) rejected a run (Agno's `CheckTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckTrigger {
    /// The input is off topic.
    OffTopic,
    /// The input is not allowed.
    InputNotAllowed,
    /// The output is not allowed.
    OutputNotAllowed,
    /// A validation failed.
    ValidationFailed,
    /// A prompt injection was detected.
    PromptInjection,
    /// Personal data was detected.
    PiiDetected,
}

impl CheckTrigger {
    /// The snake_case name Agno sends as `error_id`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckTrigger::OffTopic => "off_topic",
            CheckTrigger::InputNotAllowed => "input_not_allowed",
            CheckTrigger::OutputNotAllowed => "output_not_allowed",
            CheckTrigger::ValidationFailed => "validation_failed",
            CheckTrigger::PromptInjection => "prompt_injection",
            CheckTrigger::PiiDetected => "pii_detected",
        }
    }
}

/// Which side of the run a check error stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Raised by a pre-hook: the model and post-hooks are skipped.
    Input,
    /// Raised by a post-hook: the remaining post-hooks are skipped.
    Output,
}

impl CheckKind {
    /// Agno's `error_type`: `input_check_error` or `output_check_error`.
    pub fn error_type(self) -> &'static str {
        match self {
            CheckKind::Input => "input_check_error",
            CheckKind::Output => "output_check_error",
        }
    }
}

/// A check rejected the run: the phase stops and the run ends with status
/// `ERROR` and `message` as content.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} ({}): {message}", kind.error_type(), trigger.as_str())]
pub struct CheckError {
    /// Input or output check.
    pub kind: CheckKind,
    /// Shown to the caller as the run's content.
    pub message: String,
    /// Why.
    pub trigger: CheckTrigger,
    /// Anything the check wants to pass on.
    pub additional_data: Option<Map<String, Value>>,
}

impl CheckError {
    /// An input check error (Agno's `InputCheckError`).
    pub fn input(message: impl Into<String>, trigger: CheckTrigger) -> Self {
        Self {
            kind: CheckKind::Input,
            message: message.into(),
            trigger,
            additional_data: None,
        }
    }

    /// An output check error (Agno's `OutputCheckError`).
    pub fn output(message: impl Into<String>, trigger: CheckTrigger) -> Self {
        Self {
            kind: CheckKind::Output,
            message: message.into(),
            trigger,
            additional_data: None,
        }
    }

    /// The same error carrying `data`.
    pub fn with_data(mut self, data: Map<String, Value>) -> Self {
        self.additional_data = Some(data);
        self
    }
}

/// The error type of hooks. A hook returning `Result<(), E>` needs
/// `E: Into<HookError>`.
///
/// A [`HookError::Check`] from an inline hook stops the phase; any other
/// error is logged, counted, and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// A check rejected the run.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A hook argument was not available in this phase.
    #[error("hook argument `{argument}` is not available in {phase}-hooks")]
    MissingArgument {
        /// The argument's type.
        argument: &'static str,
        /// The phase ([`Phase::as_str`](crate::Phase::as_str)).
        phase: &'static str,
    },
    /// The hook panicked.
    #[error("hook panicked: {0}")]
    Panicked(String),
    /// The hook ran past its time limit.
    #[error("hook timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// Any other failure.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl HookError {
    /// Wraps any error as [`HookError::Other`].
    pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        HookError::Other(Box::new(error))
    }

    /// A general error with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        HookError::Other(message.into().into())
    }

    /// The check error inside, if this is one.
    pub fn as_check(&self) -> Option<&CheckError> {
        match self {
            HookError::Check(c) => Some(c),
            _ => None,
        }
    }
}

impl From<String> for HookError {
    fn from(value: String) -> Self {
        HookError::msg(value)
    }
}

impl From<&str> for HookError {
    fn from(value: &str) -> Self {
        HookError::msg(value)
    }
}

impl From<Box<dyn std::error::Error + Send + Sync + 'static>> for HookError {
    fn from(value: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        HookError::Other(value)
    }
}

impl From<std::io::Error> for HookError {
    fn from(value: std::io::Error) -> Self {
        HookError::other(value)
    }
}

impl From<serde_json::Error> for HookError {
    fn from(value: serde_json::Error) -> Self {
        HookError::other(value)
    }
}

/// A tool hook may pass a tool's error on with `?`
/// (`next.run(call).await?`): the model gets its text.
impl From<crate::ToolError> for HookError {
    fn from(value: crate::ToolError) -> Self {
        HookError::other(value)
    }
}

impl From<std::fmt::Error> for HookError {
    fn from(value: std::fmt::Error) -> Self {
        HookError::other(value)
    }
}

/// With the `anyhow` feature (on by default): a hook may return
/// `anyhow::Result<()>`. The error becomes [`HookError::Other`] (logged and
/// counted; it never blocks the run: return a [`CheckError`] for that).
#[cfg(feature = "anyhow")]
impl From<anyhow::Error> for HookError {
    fn from(value: anyhow::Error) -> Self {
        HookError::Other(value.into())
    }
}
