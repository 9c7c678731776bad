//! `GET /config`: the OS, its agents and databases, in Agno's shape.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::os::state::AppState;

/// `GET /config`.
pub async fn config(State(state): State<AppState>) -> Json<Value> {
    let agents: Vec<Value> = state
        .agents
        .iter()
        .map(|agent| {
            json!({
                "id": agent.id(),
                "name": agent.name(),
                "description": agent.description(),
                "db_id": state.agent_db.get(agent.id()),
            })
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
    let models: Vec<Value> = pairs
        .into_iter()
        .map(|(id, provider)| json!({ "id": id, "provider": provider }))
        .collect();
    Json(json!({
        "os_id": state.os_id,
        "name": state.name,
        "description": state.description,
        "available_models": models,
        "databases": state.dbs.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        "agents": agents,
        "teams": [],
        "workflows": [],
        "interfaces": [],
        "run_hooks_in_background": state.run_hooks_in_background(),
    }))
}
