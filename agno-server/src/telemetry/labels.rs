//! The label sets of the series: bounded sets only (agent ids, hook
//! names, route templates, statuses), never a run, session or user id.

use prometheus_client::encoding::EncodeLabelSet;

/// An HTTP request: its method, the route's template (`/agents/{agent_id}/runs`,
/// or `unmatched`), its status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

/// A run or a model call of an agent, and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AgentLabels {
    pub agent: String,
    pub status: &'static str,
}

/// Tokens of an agent's model, by kind (`input`, `output`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TokenLabels {
    pub agent: String,
    pub model: String,
    pub kind: &'static str,
}

/// A model call of an agent.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModelLabels {
    pub agent: String,
    pub model: String,
    pub outcome: &'static str,
}

/// A hook's run: the hook, its phase, where it ran, how it ended.
#[derive(Clone, Debug, EncodeLabelSet)]
pub(crate) struct HookLabels {
    pub hook: &'static str,
    pub phase: &'static str,
    pub mode: &'static str,
    pub outcome: &'static str,
}

/// A hook's duration: the hook, its phase, where it ran.
#[derive(Clone, Debug, EncodeLabelSet)]
pub(crate) struct HookTimeLabels {
    pub hook: &'static str,
    pub phase: &'static str,
    pub mode: &'static str,
}

/// One agent's series (its durable jobs).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AgentOnly {
    pub agent: String,
}

/// One store's series: its `db_id` (`db-0`, ...), as the routes name it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StoreLabels {
    pub store: String,
}
