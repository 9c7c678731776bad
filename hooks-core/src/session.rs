//! The session a run belongs to, as hooks see it.

use std::sync::Arc;

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
    /// The session state as stored before this run, with the run's
    /// changes. Shared (an `Arc`) with
    /// [`RunContext::session_state`](crate::RunContext::session_state) and
    /// every hook's snapshot: one
    /// copy per run, however many hooks read it. Reads go through it as
    /// through the map (`session.session_state.get("k")`).
    #[serde(default)]
    pub session_state: Arc<Map<String, Value>>,
    /// Epoch seconds when the session was created.
    pub created_at: i64,
}
