//! `GET /agents`, `GET /agents/{id}`, `GET /agents/{id}/runs/{run_id}`.

use axum::Json;
use axum::extract::{Path, State};
use hooks_core::{Phase, RunStatus};
use serde_json::{Value, json};

use crate::agent::Agent;
use crate::db::JobStatus;
use crate::os::error::{ApiError, ApiResult};
use crate::os::state::AppState;

/// An agent as Agno's `AgentResponse` describes it, plus its hooks.
fn describe(state: &AppState, agent: &Agent) -> Value {
    let hooks = |phase| -> Vec<Value> {
        agent
            .hooks(phase)
            .iter()
            .map(|hook| {
                let meta = hook.meta();
                json!({
                    "name": meta.name,
                    "run_in_background": meta.runs_in_background(agent.runs_hooks_in_background()),
                    "changes_run": meta.mutates,
                    "can_block": meta.can_block,
                    "is_async": meta.is_async,
                })
            })
            .collect()
    };
    json!({
        "id": agent.id(),
        "name": agent.name(),
        "description": agent.description(),
        "db_id": state.agent_db.get(agent.id()),
        "model": {
            "name": agent.model().provider(),
            "model": agent.model().id(),
            "provider": agent.model().provider(),
        },
        "instructions": agent.instructions(),
        "markdown": agent.markdown(),
        "pre_hooks": hooks(Phase::Pre),
        "post_hooks": hooks(Phase::Post),
    })
}

/// `GET /agents`.
pub async fn list(State(state): State<AppState>) -> Json<Vec<Value>> {
    Json(state.agents.iter().map(|a| describe(&state, a)).collect())
}

/// `GET /agents/{id}`.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let agent = state.agent(&id)?;
    Ok(Json(describe(&state, agent)))
}

/// `GET /agents/{id}/runs/{run_id}`: one run of this agent.
pub async fn get_run(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let agent = state.agent(&id)?;
    let db = agent
        .db()
        .ok_or_else(|| ApiError::not_found("Run not found"))?;
    match db.get_run(&run_id).await? {
        Some(mut run) if run.agent_id.as_deref() == Some(agent.id()) => {
            // A background run says PENDING until it ends; while its job
            // runs, it is RUNNING.
            if run.status == RunStatus::Pending
                && db
                    .get_job(&run_id)
                    .await?
                    .is_some_and(|job| job.status == JobStatus::Running)
            {
                run.status = RunStatus::Running;
            }
            Ok(Json(
                serde_json::to_value(run).map_err(|e| ApiError::internal(&e))?,
            ))
        }
        _ => Err(ApiError::not_found("Run not found")),
    }
}
