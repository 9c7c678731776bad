//! Per-run values a caller hands to hooks: state, dependencies, metadata,
//! user id, run id and extra request fields.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Agno's `run_context`: session state, dependencies and metadata of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    /// The session state for this run (the same `Arc` as
    /// [`Session::session_state`](crate::Session::session_state)).
    #[serde(default)]
    pub session_state: Arc<Map<String, Value>>,
    /// Dependencies passed with the request.
    #[serde(default)]
    pub dependencies: Map<String, Value>,
    /// Metadata passed with the request.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// The id of the run a hook runs for. Hooks take it as `&RunId` or `RunId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId(pub String);

impl std::ops::Deref for RunId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user a run is for, if the caller named one. Hooks take it as
/// `&UserId` or `UserId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserId(pub Option<String>);

impl UserId {
    /// The id, if any.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Request fields the runtime does not know (any extra form field of an
/// HTTP request), passed through to hooks. Hooks take it as `&ExtraFields`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraFields(pub Map<String, Value>);

impl ExtraFields {
    /// The field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}
