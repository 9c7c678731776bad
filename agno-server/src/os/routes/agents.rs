//! `GET /agents`, `GET /agents/{id}`, `GET /agents/{id}/runs/{run_id}`.

use axum::Json;
use axum::extract::{Path, State};
use hooks_core::{Phase, RunOutput, RunStatus};

use crate::agent::Agent;
use crate::db::{JobStatus, ModelInfo};
use crate::os::caller::Caller;
use crate::os::error::{ApiError, ApiResult};
use crate::os::extract::ApiQuery;
use crate::os::state::AppState;
use crate::os::wire::{AgentHook, AgentResponse, AgentTools};

/// An agent as Agno's `AgentResponse` describes it, plus its hooks.
fn describe(state: &AppState, agent: &Agent) -> AgentResponse {
    let hooks = |phase| -> Vec<AgentHook> {
        agent
            .hooks(phase)
            .iter()
            .map(|hook| {
                let meta = hook.meta();
                AgentHook {
                    name: meta.name,
                    run_in_background: meta.runs_in_background(agent.runs_hooks_in_background()),
                    changes_run: meta.mutates,
                    can_block: meta.can_block,
                    is_async: meta.is_async,
                }
            })
            .collect()
    };
    AgentResponse {
        id: agent.id().to_owned(),
        name: agent.name().map(str::to_owned),
        description: agent.description().map(str::to_owned),
        db_id: state.agent_db.get(agent.id()).cloned(),
        model: ModelInfo::of(&**agent.model()).into(),
        instructions: agent.instructions().to_vec(),
        markdown: agent.markdown(),
        pre_hooks: hooks(Phase::Pre),
        post_hooks: hooks(Phase::Post),
        tools: (!agent.tool_definitions().is_empty()).then(|| AgentTools {
            tools: agent.tool_definitions().to_vec(),
            tool_call_limit: agent.tool_call_limit(),
        }),
    }
}

/// `GET /agents`: with JWT scopes checked, the agents the token may read.
#[utoipa::path(get, path = "/agents", tag = "Agents", summary = "List agents",
    responses((status = 200, description = "Every agent the caller may read", body = Vec<AgentResponse>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<AgentResponse>> {
    let readable = caller.readable_agents();
    Json(
        state
            .agents
            .iter()
            .filter(|a| readable.as_ref().is_none_or(|ids| ids.contains(a.id())))
            .map(|a| describe(&state, a))
            .collect(),
    )
}

/// `GET /agents/{id}`.
#[utoipa::path(get, path = "/agents/{agent_id}", tag = "Agents", summary = "One agent",
    params(("agent_id" = String, Path, description = "The agent's id")),
    responses((status = 200, description = "The agent", body = AgentResponse)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentResponse>> {
    let agent = state.agent(&id)?;
    Ok(Json(describe(&state, agent)))
}

/// `?user_id=` of `GET /agents/{id}/runs/{run_id}`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunScope {
    /// Only when the run is this user's (else 404, as Agno).
    pub user_id: Option<String>,
}

/// `GET /agents/{id}/runs/{run_id}`: one run of this agent.
#[utoipa::path(get, path = "/agents/{agent_id}/runs/{run_id}", tag = "Agents",
    summary = "One run of an agent (poll a background run here)",
    params(("agent_id" = String, Path, description = "The agent's id"),
        ("run_id" = String, Path, description = "The run's id"), RunScope),
    responses((status = 200, description = "The run (Agno's RunOutput): PENDING, RUNNING, then how it ended", body = RunOutput)))]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, run_id)): Path<(String, String)>,
    ApiQuery(mut scope): ApiQuery<RunScope>,
) -> ApiResult<Json<RunOutput>> {
    scope.user_id = caller.scope(scope.user_id)?;
    let agent = state.agent(&id)?;
    let db = agent
        .db()
        .ok_or_else(|| ApiError::not_found("Run not found"))?;
    let mine = |run: &RunOutput| {
        scope
            .user_id
            .as_deref()
            .is_none_or(|user| run.user_id.as_deref() == Some(user))
    };
    match db.get_run(&run_id).await? {
        Some(mut run) if run.agent_id.as_deref() == Some(agent.id()) && mine(&run) => {
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
            Ok(Json(run))
        }
        _ => Err(ApiError::not_found("Run not found")),
    }
}
