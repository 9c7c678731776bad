//! `GET /` and `GET /health`: public, never need the key.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::os::state::AppState;

/// `GET /health`: Agno's `{"status":"ok","instantiated_at":...}`.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "instantiated_at": state.instantiated_at }))
}

/// `GET /`: what this server is.
pub async fn root(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "name": state.name.as_deref().unwrap_or("AgentOS"),
        "id": state.os_id,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
