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

/// Who a run is for, as the server knows it: the user and whether a
/// verified token (a JWT) said so, or only the request's `user_id` field.
/// Hooks take it as `&Identity`: a guardrail can refuse per user or per
/// scope (`identity.has_scope("agents:run")`), trusting `user_id` only
/// when `verified`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The user: the token's subject when verified, else the request's
    /// `user_id` (anyone may have written it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Whether a verified token said who the user is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    /// The token's scopes (none without a token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Whether the token holds the server's admin scope.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

impl Identity {
    /// An identity only the request's `user_id` names (no token).
    pub fn unverified(user_id: Option<String>) -> Self {
        Self {
            user_id,
            ..Self::default()
        }
    }

    /// Whether the token holds `scope` exactly, or is an admin's.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.admin || self.scopes.iter().any(|s| s == scope)
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
