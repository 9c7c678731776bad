//! `GET /config`: the OS, its agents and databases, in Agno's shape.

use axum::Json;
use axum::extract::State;

use crate::os::caller::Caller;
use crate::os::state::AppState;
use crate::os::wire::{AgentSummary, AvailableModel, OsConfig};

/// `GET /config`: its agents, as `GET /agents` lists them for the caller.
#[utoipa::path(get, path = "/config", tag = "Core", summary = "The OS, its agents and databases",
    responses((status = 200, description = "Agno's ConfigResponse", body = OsConfig)))]
pub async fn config(State(state): State<AppState>, caller: Caller) -> Json<OsConfig> {
    let readable = caller.readable_agents();
    let agents = state
        .agents
        .iter()
        .filter(|a| readable.as_ref().is_none_or(|ids| ids.contains(a.id())))
        .map(|agent| AgentSummary {
            id: agent.id().to_owned(),
            name: agent.name().map(str::to_owned),
            description: agent.description().map(str::to_owned),
            db_id: state.agent_db.get(agent.id()).cloned(),
        })
        .collect();
    // Agno's `available_models`: unique (id, provider) pairs.
    let mut pairs: Vec<(&str, &str)> = state
        .agents
        .iter()
        .map(|a| (a.model().id(), a.model().provider()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let available_models = pairs
        .into_iter()
        .map(|(id, provider)| AvailableModel {
            id: id.to_owned(),
            provider: provider.to_owned(),
        })
        .collect();
    Json(OsConfig {
        os_id: state.os_id.clone(),
        name: state.name.clone(),
        description: state.description.clone(),
        available_models,
        databases: state.dbs.iter().map(|(id, _)| id.clone()).collect(),
        agents,
        teams: Vec::new(),
        workflows: Vec::new(),
        interfaces: Vec::new(),
        run_hooks_in_background: state.run_hooks_in_background(),
    })
}
