//! What a caller asks an agent to run.

use hooks_core::Identity;
use serde_json::{Map, Value};

/// One run's input and the values that travel with it.
///
/// ```
/// use agno_server::agent::RunRequest;
/// let request = RunRequest::new("Hello, how are you?")
///     .session_id("s-1")
///     .user_id("ada");
/// assert_eq!(request.message, "Hello, how are you?");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The user's message.
    pub message: String,
    /// Continue this session (a new one is made when `None`).
    pub session_id: Option<String>,
    /// The user the run is for.
    pub user_id: Option<String>,
    /// Session state to merge over the stored one.
    pub session_state: Map<String, Value>,
    /// Dependencies handed to hooks through `RunContext`.
    pub dependencies: Map<String, Value>,
    /// Metadata handed to hooks through `RunContext`.
    pub metadata: Map<String, Value>,
    /// Other request fields, handed to hooks as `ExtraFields`.
    pub extra: Map<String, Value>,
    /// Who asked, as the server verified it (a JWT); `None`: only
    /// `user_id` says. Hooks see it as `&Identity`.
    pub identity: Option<Identity>,
}

impl RunRequest {
    /// A request for `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets the session id.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets the user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the session state to merge.
    pub fn session_state(mut self, state: Map<String, Value>) -> Self {
        self.session_state = state;
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the dependencies.
    pub fn dependencies(mut self, dependencies: Map<String, Value>) -> Self {
        self.dependencies = dependencies;
        self
    }

    /// Sets the verified identity (its user becomes the run's user).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.user_id = identity.user_id.clone();
        self.identity = Some(identity);
        self
    }

    /// Adds an extra field for hooks.
    pub fn extra(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

impl From<&str> for RunRequest {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for RunRequest {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}
