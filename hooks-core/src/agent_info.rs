//! What a hook can know of the agent it runs for.

use serde::{Deserialize, Serialize};

/// The agent a hook runs for: its identity and model. Hooks take it as
/// `&AgentInfo` (Agno's `agent` argument).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The agent's id (`background-task-agent`).
    pub id: String,
    /// The agent's name (`BackgroundTaskAgent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The agent's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model's provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
}

impl AgentInfo {
    /// The agent's name, or its id when it has none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}
