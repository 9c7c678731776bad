//! `GET /` and `GET /health`: public, never need the key.

use axum::Json;
use axum::extract::State;

use crate::os::state::AppState;
use crate::os::wire::{Health, ServerInfo};

/// `GET /health`: Agno's `{"status":"ok","instantiated_at":...}`.
#[utoipa::path(get, path = "/health", tag = "Core", summary = "Health check",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        instantiated_at: state.instantiated_at,
    })
}

/// `GET /`: what this server is.
#[utoipa::path(get, path = "/", tag = "Core", summary = "What this server is",
    responses((status = 200, description = "Name, id and version", body = ServerInfo)))]
pub async fn root(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        name: state.name.clone().unwrap_or_else(|| "AgentOS".into()),
        id: state.os_id.clone(),
        version: env!("CARGO_PKG_VERSION"),
    })
}
