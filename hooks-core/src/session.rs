//! The session a run belongs to, as hooks see it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A conversation: the runs sharing one `session_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The session's id.
    pub session_id: String,
    /// The user it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The session state as stored before this run.
    #[serde(default)]
    pub session_state: Map<String, Value>,
    /// Epoch seconds when the session was created.
    pub created_at: i64,
}
